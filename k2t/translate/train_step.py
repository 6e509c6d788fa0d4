"""A keras.Model subclass's ``train_step`` / ``test_step`` (k2t.parse.train_step) -> methods of its torch module.

Each StepLine becomes its torch twin inside the generated class: ``tape.gradient`` and the optimizer's
update become ``zero_grad`` / ``backward`` / ``step`` on the optimizer compile() made (the generated
``fit_steps`` hands it to the module as ``self.optimizer``, where Keras keeps it), ``self(x, training=...)``
a forward pass in the mode the loop set, the trackers and loss objects made in ``__init__`` generated
twins with Keras's arguments (y_true, y_pred), and the ``metrics`` property the list fit() resets every
epoch. The generated loops (templates/fit_steps.py.j2) log what the step returns, as Keras does.
"""

from __future__ import annotations

import dataclasses
import json

import libcst as cst

from ..diagnostics import Unsupported
from ..ir import ModelSpec, StepLine, StepSpec, Value
from .helpers import Helper
from .losses import plan_loss
from .metrics import plan_metric
from .op_code import KerasName, apply_rewrite, rewrite_ops
from .plan import ModulePlan

MEAN_TRACKER = Helper("MeanTracker", "metrics/mean_tracker.py.j2")
METRIC_TRACKER = Helper("MetricTracker", "metrics/metric_tracker.py.j2", requires=(MEAN_TRACKER,))
FIT_STEPS_TEMPLATE = "fit_steps.py.j2"
_INDENT = "    "


def translate_steps(spec: ModelSpec, module: ModulePlan, keras_name: KerasName | None = None) -> None:
    """The module's trackers, loss objects and step methods; Unsupported at the first thing not translated.
    ``keras_name`` resolves the script's names in a step's expressions of ops (k2t.translate.op_code)."""
    steps = spec.steps
    kinds = {attr: _object_kind(value) for attr, value in steps.objects}
    if steps.compile_override is not None:
        # what the class's compile() stores on self: checked where the script calls it (translate_step_compile)
        kinds.update({attr: "compiled" for attr, _ in steps.compile_override.stored})
    for attr, value in steps.objects:
        module.step_init.append(_object_line(attr, value, module))
    for attr, value in steps.numbers:
        module.step_init.append(f"self.{attr} = {value!r}  # as __init__ keeps it: the steps read it")
    looped = any(line.kind == "update_all" for line in (*steps.train, *(steps.test or ())))
    means = [
        attr
        for attr, value in steps.objects
        if value.keras_call is not None and value.keras_call.name == "keras.metrics.Mean"
    ]
    if looped and means and not steps.metrics:
        # Keras's own model.metrics then holds the Mean, which the loop updates as update_state(y, sample_weight=y_pred).
        raise Unsupported(
            "K2T103",
            f"the loop over self.metrics reaches the Mean `self.{means[0]}` with (y, y_pred): not translated (list the trackers in a `metrics` property)",
            steps.pos,
        )
    bare = [line for lines in (steps.train, steps.test or ()) for line in lines or () if line.without_penalties]
    if bare and (module.has_regularization or module.has_added_losses):
        raise Unsupported(
            "K2T103",
            "compiled_loss() without regularization_losses=self.losses leaves the layers' penalties out: not translated",
            bare[0].pos,
        )
    compute_loss = False
    methods = [_metrics_property(steps, kinds)]
    for name, lines in (("train_step", steps.train), ("test_step", steps.test)):
        if lines is None:
            continue
        data = steps.data[0] if name == "train_step" else steps.data[1] or "data"
        body = _StepWriter(steps, kinds, train=name == "train_step", spec=spec, keras_name=keras_name, data=data).write(
            lines
        )
        compute_loss |= any(line.kind == "loss" and line.attr == "compute_loss" for line in lines)
        doc = _TRAIN_DOC if name == "train_step" else _TEST_DOC
        methods.append(_method(f"def {name}(self, {data}):", doc, body))
    if compute_loss:
        regularization = " + self.regularization_loss()" if module.has_regularization else ""
        doc = "Keras's Model.compute_loss: the loss compile() set" + (
            ", plus the layers' regularization." if regularization else "."
        )
        methods.append(
            _method("def compute_loss(self, y, y_pred):", doc, [f"return self.loss(y_pred, y){regularization}"])
        )
    module.step_methods = methods


def step_model_uses_compiled_loss(spec: ModelSpec) -> bool:
    """Whether a step reads the loss compile() sets (``self.compute_loss`` / ``self.compiled_loss``)."""
    steps = spec.steps
    return steps is not None and any(
        line.kind == "loss" and line.attr == "compute_loss" for line in (*steps.train, *(steps.test or ()))
    )


_TRAIN_DOC = "Keras's train_step as the script overrides it; fit_steps() calls it on every batch, in training mode."
_TEST_DOC = "Keras's test_step as the script overrides it; evaluate_steps() calls it on every batch, in inference mode, without gradients."


def _method(signature: str, doc: str, body: list[str]) -> str:
    lines = [
        f"{_INDENT}{signature}",
        f'{_INDENT * 2}"""{doc}"""',
        *(f"{_INDENT * 2}{line}" if line else "" for line in body),
    ]
    return "\n".join(lines)


def _metrics_property(steps: StepSpec, kinds: dict[str, str]) -> str:
    if steps.metrics:
        listed = ", ".join(f"self.{attr}" for attr in steps.metrics)
        doc = "Keras's model.metrics as the script lists it: fit_steps() resets them every epoch."
        return f"{_INDENT}@property\n" + _method("def metrics(self):", doc, [f"return [{listed}]"])
    # Keras's own list: the loss tracker and the compiled metrics compile() makes, then the metric objects
    # assigned to the model (Keras tracks them as they are set).
    own = [attr for attr, _ in steps.objects if kinds[attr] == "metric"]
    doc = "Keras's model.metrics: the loss tracker and compiled metrics compile() set, then the trackers made in __init__."
    listed = ", ".join(["self.compiled_loss_tracker", "self.compile_metrics", *(f"self.{attr}" for attr in own)])
    return f"{_INDENT}@property\n" + _method(
        "def metrics(self):", doc, [f"return [metric for metric in ({listed}) if metric is not None]"]
    )


def _object_kind(value: Value) -> str:
    call = value.keras_call
    return "loss" if call is not None and call.name.startswith("keras.losses.") else "metric"


def _object_line(attr: str, value: Value, module: ModulePlan) -> str:
    """``self.loss_tracker = MeanTracker("loss")`` for ``self.loss_tracker = keras.metrics.Mean(name="loss")``."""
    call = value.keras_call
    if _object_kind(value) == "loss":
        loss = plan_loss(value, "linear")
        module.helpers.append(loss.helper)
        return f"self.{attr} = {loss.helper.name}  # {value.code}: called as (output, target)"
    if call.name == "keras.metrics.Mean":
        if call.args or any(key != "name" for key, _ in call.kwargs):
            raise Unsupported("K2T122", f"`{value.code}`: k2t translates keras.metrics.Mean(name=...)", value.pos)
        name = call.kwarg("name")
        if name is not None and not isinstance(name.literal, str):
            raise Unsupported("K2T122", f"`{value.code}`: the name must be a literal string", name.pos)
        module.helpers.append(MEAN_TRACKER)
        return f"self.{attr} = {MEAN_TRACKER.name}({json.dumps(name.literal if name is not None else 'mean')})"
    metric = plan_metric(value, None, None)
    if metric.stateful:
        raise Unsupported(
            "K2T122",
            f"`{value.code}` as a tracker of a train_step is not translated (k2t translates mean-type metrics there)",
            value.pos,
        )
    module.helpers.extend([METRIC_TRACKER, metric.helper])
    fn = metric.helper.name if not metric.arguments else f"lambda output, target: {metric.call('output', 'target')}"
    return f"self.{attr} = {METRIC_TRACKER.name}({json.dumps(metric.key)}, {fn})"


class _StepWriter:
    """The torch lines of one step, in the order the script wrote its statements."""

    def __init__(
        self,
        steps: StepSpec,
        kinds: dict[str, str],
        train: bool,
        spec: ModelSpec | None = None,
        keras_name: KerasName | None = None,
        data: str = "data",
    ):
        self.data = data  # the step's parameter, as the script names it
        self.steps = steps
        self.kinds = kinds
        self.train = train
        self.spec = spec
        self.keras_name = keras_name

    def write(self, lines: tuple[StepLine, ...]) -> list[str]:
        out: list[str] = []
        self.losses: set[str] = set()
        self.gradients: tuple[str, str, str] | None = None  # (gradients, the loss they are of, the variables)
        # the variables that hold trainable weights -> the held model they are of (None: the whole model's)
        self.trainables: dict[str, str | None] = {
            f"self.{attr}": None for attr in ("trainable_variables", "trainable_weights")
        }
        for line in lines:
            if line.kind == "submodel":
                for attr in ("trainable_variables", "trainable_weights"):
                    self.trainables[f"self.{line.attr}.{attr}"] = line.attr
        # each optimizer's update, in order: the gradients' line zeroes the optimizer that applies them
        self.updates = [line for line in lines if line.kind == "apply"]
        applied = False
        for line in lines:
            if not self.train and line.kind in ("trainables", "gradients", "apply"):
                raise Unsupported(
                    "K2T103", f"{self.steps.class_name}.test_step updates weights: not translated", line.pos
                )
            if line.kind == "apply":
                if self.gradients is None or line.names != (self.gradients[0], self.gradients[2]):
                    raise Unsupported(
                        "K2T103",
                        "k2t translates one optimizer update of the gradients of the loss over the trainable variables",
                        line.pos,
                    )
                if line.attr not in ("optimizer", None) and self.kinds.get(line.attr) != "compiled":
                    raise Unsupported("K2T103", f"`self.{line.attr}` is no optimizer compile() set", line.pos)
                self.gradients = None  # a further update takes gradients of its own
                applied = True
            out.extend(self.line(line))
        if self.train and not applied:
            raise Unsupported(
                "K2T103", f"{self.steps.class_name}.train_step makes no optimizer update k2t can follow", self.steps.pos
            )
        return out

    def line(self, line: StepLine) -> list[str]:
        kind, names = line.kind, line.names
        if kind == "unpack":
            return [f"{names[0]}, {names[1]} = {self.data}"]
        if kind == "forward":
            mode = "training" if line.training else "inference"
            return [
                f"{names[0]} = self({names[1]})  # training={line.training}: the loop put the module in {mode} mode"
            ]
        if kind == "loss":
            target, y_true, y_pred = names
            self.losses.add(target)
            if line.attr == "compute_loss":
                return [f"{target} = self.compute_loss({y_true}, {y_pred})"]
            if self.kinds.get(line.attr) not in ("loss", "compiled"):
                raise Unsupported("K2T103", f"`self.{line.attr}` is no loss object made in __init__", line.pos)
            if line.operands:
                y_true, y_pred = (self.expression_code(operand, line) for operand in line.operands)
                return [f"{target} = self.{line.attr}(", f"    {y_pred},", f"    {y_true},", ")"]
            return [f"{target} = self.{line.attr}({y_pred}, {y_true})"]
        if kind == "trainables":
            self.trainables[names[0]] = line.attr
            return []  # torch: the optimizer holds the trainable parameters (the frozen ones have no gradient)
        if kind == "gradients":
            if names[1] not in self.losses or names[2] not in self.trainables or self.gradients is not None:
                raise Unsupported(
                    "K2T103",
                    "k2t translates the gradient of the step's loss over the trainable variables, taken once",
                    line.pos,
                )
            self.gradients = names
            update = next((u for u in self.updates if u.names == (names[0], names[2])), None)
            optimizer = f"self.{update.attr or 'optimizer'}" if update is not None else "self.optimizer"
            held = self.trainables[names[2]]
            if held is None:
                return [
                    f"{optimizer}.zero_grad()",
                    f"{names[1]}.backward()  # tape.gradient: the gradients of every trainable weight",
                ]
            return [
                f"{optimizer}.zero_grad()",
                f"# tape.gradient over self.{held}'s trainable weights alone: the other models' get no gradient",
                f"{names[1]}.backward(inputs=[p for p in self.{held}.parameters() if p.requires_grad])",
            ]
        if kind == "apply":
            return [f"self.{line.attr or 'optimizer'}.step()"]
        if kind == "submodel":
            # Keras runs the model in the mode its call gives, inference without one (no call of the subclass
            # gives it another); the module runs it in the loop's mode (train() for train_step, eval() for test_step).
            if bool(line.training) != self.train:
                _check_runs_alike_in_both_modes(self.spec, line)
            for attr, mode in line.items:  # `self.discriminator(self.generator(z))`: the inner calls' modes too
                inner = dataclasses.replace(
                    line, attr=attr, training={"None": None, "True": True, "False": False}[mode]
                )
                if bool(inner.training) != self.train:
                    _check_runs_alike_in_both_modes(self.spec, inner)
            mode = "" if line.training is None else f"  # training={line.training}"
            return [f"{', '.join(names)} = self.{line.attr}({', '.join(line.arguments)}){mode}"]
        if kind == "op":
            self.losses.add(names[0])  # a tensor the step computes: tape.gradient may take it as the loss
            return [f"{names[0]} {line.attr or '='} {self.op_code(line)}"]
        if kind == "update":
            if self.kinds.get(line.attr) != "metric":
                raise Unsupported("K2T103", f"`self.{line.attr}` is no metric made in __init__", line.pos)
            return [f"self.{line.attr}.update_state({', '.join(names)})"]
        if kind == "update_all":
            loss, y_true, y_pred = names
            return [
                "for metric in self.metrics:",
                '    if metric.name == "loss":',
                f"        metric.update_state({loss})",
                "    else:",
                f"        metric.update_state({y_true}, {y_pred})",
            ]
        if kind == "return_all":
            return ["return {metric.name: metric.result() for metric in self.metrics}"]
        if kind == "update_compiled":
            return self.compiled_metrics_update(line)
        if kind == "results":
            return [f"{names[0]} = {{metric.name: metric.result() for metric in self.metrics}}"]
        if kind == "results_update":
            items = ", ".join(f"{json.dumps(key)}: {_logged(code)}" for key, code in line.items)
            return [f"{names[0]}.update({{{items}}})"]
        if kind == "return_results":
            return [f"return {names[0]}"]
        if kind == "return_values":
            items = ", ".join(f"{json.dumps(key)}: {_logged(code)}" for key, code in line.items)
            return [f"return {{{items}}}"]
        items = ", ".join(f'"{key}": self.{attr}.result()' for key, attr in line.items)
        return [f"return {{{items}}}"]

    def op_code(self, line: StepLine) -> str:
        """The expression of ops in torch (k2t.ops), tensors made from nothing put where the step's data is."""
        return self.expression_code(line.expression, line)

    def expression_code(self, expression: cst.BaseExpression, line: StepLine) -> str:
        if self.keras_name is None:
            raise Unsupported("K2T103", "an expression of ops in a step is not translated here", line.pos)
        rewrite = rewrite_ops(expression, self.keras_name, device=f"{line.arguments[0]}.device")
        if not rewrite.ok:
            problem = rewrite.problems[0]
            raise Unsupported(problem.error.code, problem.error.message, line.pos)
        return cst.Module([]).code_for_node(apply_rewrite(expression, rewrite))

    def compiled_metrics_update(self, line: StepLine) -> list[str]:
        """Keras 3's ``compiled_metrics.update_state(y, y_pred)`` shim: every metric of model.metrics updated, a
        Mean with y_pred alone (keras.src.backend.tensorflow.trainer). Written out where model.metrics is Keras's
        own list of what compile() made (its loss tracker, a Mean, and the compiled metrics' container)."""
        own = [attr for attr, _ in self.steps.objects if self.kinds.get(attr) == "metric"]
        if self.steps.metrics or own:
            listed = (self.steps.metrics or own)[0]
            raise Unsupported(
                "K2T103",
                f"Keras 3's compiled_metrics shim updates each metric of model.metrics, `self.{listed}` too (a Mean with "
                "y_pred alone): not translated; update the metrics by name",
                line.pos,
            )
        y_true, y_pred = line.names
        return [
            "# Keras 3's compiled_metrics.update_state(): every metric of model.metrics, the loss tracker (a Mean)",
            "# with the predictions alone",
            "for metric in self.metrics:",
            "    if metric is self.compiled_loss_tracker:",
            f"        metric.update_state({y_pred})",
            "    else:",
            f"        metric.update_state({y_true}, {y_pred})",
        ]


def _logged(code: str) -> str:
    """A value a step returns for the logs: a tracker's result, or a tensor of the step without its graph."""
    return code if code.endswith(".result()") else f"{code}.detach()"


# Layers that compute otherwise in training: a model a step calls without training= runs them in inference mode
# in Keras (no call of the subclass gives them a mode), where the torch module follows the loop's train().
_MODE_DEPENDENT = frozenset(
    {
        "Dropout",
        "SpatialDropout1D",
        "SpatialDropout2D",
        "SpatialDropout3D",
        "GaussianNoise",
        "GaussianDropout",
        "AlphaDropout",
        "BatchNormalization",
    }
)


def _check_runs_alike_in_both_modes(spec: ModelSpec | None, line: StepLine) -> None:
    """``self.encoder(data)`` in a step: Keras runs the model in inference mode there; the translation, in the
    loop's mode, is the same only when no layer of it computes otherwise in training."""
    node = next(
        (
            n
            for n in (spec.graph.nodes if spec is not None and spec.graph is not None else ())
            if n.layer is not None and n.layer.model is not None and n.layer.attribute == line.attr
        ),
        None,
    )
    if node is None:
        raise Unsupported("K2T103", f"`self.{line.attr}` is no model the subclass was given", line.pos)
    pending, seen = [node.layer.model], set()
    while pending:
        model = pending.pop()
        if id(model) in seen:
            continue
        seen.add(id(model))
        layers = [n.layer for n in model.graph.nodes] if model.graph is not None else list(model.layers)
        for layer in layers:
            if layer is None:
                continue
            if layer.model is not None:
                pending.append(layer.model)
            elif (
                layer.short_name in _MODE_DEPENDENT
                or layer.short_name.startswith("Random")
                or (layer.layer_class is not None and _reads_training(layer.layer_class))
            ):
                keras_mode = "training" if line.training else "inference"
                raise Unsupported(
                    "K2T103",
                    f"`self.{line.attr}(...)` in a step runs its {layer.short_name} in Keras's {keras_mode} mode "
                    "(training= as given, else inference), where the module would follow the loop's: not translated",
                    line.pos,
                )


def _reads_training(layer_class) -> bool:
    from .custom_layers import class_parts  # custom_layers imports what this module does

    return class_parts(layer_class).call_reads_training()


# fit()/evaluate() arguments the generated fit_steps/evaluate_steps take.
STEP_ARGUMENTS = {
    "fit": ("x", "y", "batch_size", "epochs", "verbose", "shuffle", "validation_data"),
    "evaluate": ("x", "y", "batch_size", "verbose", "return_dict"),
}


def translate_step_call(
    call, given: dict[str, Value], compiled: bool, steps: StepSpec, optimizer: str | None, plan
) -> str:
    """``model.fit(...)`` / ``model.evaluate(...)`` of a model with its own steps -> fit_steps / evaluate_steps."""
    if call.method not in STEP_ARGUMENTS:
        raise Unsupported(
            "K2T140", f"{call.model}.{call.method}() of a model with its own train_step is not translated", call.pos
        )
    if not compiled or optimizer is None:
        raise Unsupported("K2T130", f"{call.model}.{call.method}() on a model k2t did not see compiled", call.pos)
    for key, value in given.items():
        if key not in STEP_ARGUMENTS[call.method]:
            raise Unsupported(
                "K2T130", f"{call.method}({key}=...) of a model with its own train_step is not translated", value.pos
            )
    x_only = "y" not in given
    if x_only and (call.method != "fit" or any(line.kind == "unpack" for line in steps.train)):
        # Keras hands the step the batch of x alone (keras.io's VAE reads `data` as the images).
        raise Unsupported("K2T130", f"{call.method}() without targets `y` is not translated", call.pos)
    if x_only and "validation_data" in given:
        raise Unsupported("K2T130", "fit() without targets `y` but with validation_data is not translated", call.pos)
    needs_test = call.method == "evaluate" or "validation_data" in given
    if needs_test and steps.test is None:
        # Keras's own test_step updates its loss tracker and compiled metrics, not the script's trackers.
        raise Unsupported(
            "K2T130",
            f"{call.method}() of {steps.class_name}, which overrides train_step() but not test_step(), is not translated",
            call.pos,
        )
    plan.features.add("fit_steps" if call.method == "fit" else "evaluate_steps")
    if x_only:
        plan.features.add("fit_steps_x_only")
    elif call.method == "fit":
        plan.features.add("fit_steps_with_y")
    if needs_test:
        plan.features.add("evaluate_steps")
    if call.method == "fit":
        plan.fit_options.update(given)  # only shuffle / validation_data change the generated signature
        leading = [call.model, optimizer]
    else:
        leading = [call.model]
    positional = [key for key, _ in zip(STEP_ARGUMENTS[call.method], call.args)]
    parts = (
        leading
        + [given[key].code for key in positional]
        + [f"{key}={value.code}" for key, value in given.items() if key not in positional]
    )
    return f"{plan.name(call.method + '_steps')}({', '.join(parts)})"


def translate_step_compile(compile_spec, module: ModulePlan, optimizer_var: str, plan, lr_changes: bool) -> None:
    """``model.compile(optimizer=..., loss=...)`` of a model with its own steps: the optimizer, and the loss
    its steps read through compute_loss() (Keras keeps it on the model, as the module does here)."""
    from .optimizers import plan_optimizer

    var = compile_spec.var
    for key, value in compile_spec.extra:
        if key not in ("run_eagerly", "jit_compile", "steps_per_execution"):
            raise Unsupported(
                "K2T130", f"compile({key}=...) of a model with its own train_step is not translated", value.pos
            )
    if compile_spec.escapes:
        raise Unsupported(
            "K2T130", "a model with its own train_step compiled inside a function is not translated", compile_spec.pos
        )
    if lr_changes:
        raise Unsupported(
            "K2T130",
            "a learning rate changed while a model with its own train_step trains is not translated",
            compile_spec.pos,
        )
    steps = compile_spec.model.steps
    optimizer = plan_optimizer(compile_spec.optimizer, lr_changes)
    lines = [f"{optimizer_var} = {optimizer.expression(_parameters(var, steps, 'optimizer'), plan)}{optimizer.comment}"]
    lines += _stored_values(compile_spec, steps, plan, lr_changes)
    if compile_spec.loss is not None:
        loss = plan_loss(compile_spec.loss, "linear", False, False, plan.functions)
        helper = plan.add_helper(loss.helper)
        plan.functions.use(list(loss.functions))
        lines.append(
            f"{var}.loss = {plan.name(helper.name)}  # compile(loss=...): what the steps' compute_loss() reads"
        )
    elif step_model_uses_compiled_loss(compile_spec.model):
        raise Unsupported("K2T120", "compile() without a loss, which the steps' compute_loss() reads", compile_spec.pos)
    if not compile_spec.model.steps.metrics:
        lines += _compiled_trackers(compile_spec, module, plan)
    elif compile_spec.metrics:
        pass  # the script's `metrics` property leaves compile()'s metrics out of model.metrics: Keras never reports them
    plan.statements[id(compile_spec.statement)] = lines


def _parameters(var: str, steps: StepSpec, optimizer: str) -> str:
    """The weights ``self.<optimizer>`` updates, as Keras's optimizer builds its variables from the first update:
    ``distiller.student.parameters()`` for ``self.optimizer.apply_gradients(zip(grads, self.student.trainable_variables))``."""
    held = set()
    for lines in (steps.train, steps.test or ()):
        trainables = {line.names[0]: line.attr for line in lines if line.kind == "trainables"}
        for line in lines:
            if line.kind == "apply" and (line.attr or "optimizer") == optimizer:
                variables = line.names[1]
                if variables in trainables:
                    held.add(trainables[variables])
                elif variables.count(".") == 2:  # self.discriminator.trainable_weights
                    held.add(variables.split(".")[1])
                else:
                    held.add(None)
    if len(held) == 1 and None not in held:
        return f"{var}.{held.pop()}.parameters()"
    return f"{var}.parameters()"


def _stored_uses(steps: StepSpec) -> dict[str, set[str]]:
    """How the steps use each value the class's compile() stores: "loss" (called on (y_true, y_pred)), "optimizer"
    (its update), "number" (read in an expression of ops)."""
    stored = {attr for attr, _ in steps.compile_override.stored}
    uses: dict[str, set[str]] = {attr: set() for attr in stored}
    for line in (*steps.train, *(steps.test or ())):
        if line.kind == "loss" and line.attr in stored:
            uses[line.attr].add("loss")
        elif line.kind == "apply" and line.attr in stored:
            uses[line.attr].add("optimizer")
        for expression in (line.expression, *line.operands):
            for attr in _self_attributes(expression):
                if attr in stored:
                    uses[attr].add("number")
    return uses


def _kind_of_unread(value: Value) -> set[str]:
    """What a value compile() stores and no step reads is, to set it all the same: a loss object, or a number."""
    call = value.keras_call
    if call is not None and call.name.startswith("keras.losses."):
        return {"loss"}
    return {"number"} if isinstance(value.literal, (int, float)) else set()


def _self_attributes(expression) -> list[str]:
    found: list[str] = []
    if expression is None:
        return found

    class Reads(cst.CSTVisitor):
        def visit_Attribute(self, node: cst.Attribute) -> None:
            if isinstance(node.value, cst.Name) and node.value.value == "self":
                found.append(node.attr.value)

    expression.visit(Reads())
    return found


def _stored_values(compile_spec, steps: StepSpec, plan, lr_changes: bool) -> list[str]:
    """``self.alpha = alpha`` of the class's compile(): the same attribute of the module, set where the script
    compiles it, with the torch twin of what it is given (a loss, an optimizer over the weights it updates, a
    number)."""
    from .optimizers import plan_optimizer

    if steps.compile_override is None:
        return []
    var = compile_spec.var
    uses = _stored_uses(steps)
    lines = []
    for attr, value in compile_spec.stored:
        call = value.keras_call
        kinds = uses.get(attr, set()) or _kind_of_unread(value)
        if kinds == {"loss"} and call is not None and call.name.startswith("keras.losses."):
            loss = plan_loss(value, "linear", False, False, plan.functions)
            helper = plan.add_helper(loss.helper)
            plan.functions.use(list(loss.functions))
            lines.append(f"{var}.{attr} = {plan.name(helper.name)}  # {value.code}: called as (output, target)")
        elif kinds == {"optimizer"} and call is not None and call.name.startswith("keras.optimizers."):
            optimizer = plan_optimizer(value, lr_changes)
            lines.append(
                f"{var}.{attr} = {optimizer.expression(_parameters(var, steps, attr), plan)}{optimizer.comment}"
            )
        elif kinds <= {"number"} and isinstance(value.literal, (int, float)) and not isinstance(value.literal, bool):
            lines.append(f"{var}.{attr} = {value.code}")
        else:
            use = " and ".join(sorted(kinds)) or "nothing the steps do"
            raise Unsupported(
                "K2T130",
                f"`{value.code}`, which {steps.class_name}.compile() stores as self.{attr} (used as {use}), is not translated",
                value.pos,
            )
    return lines


COMPILE_METRICS = Helper("CompileMetrics", "metrics/compile_metrics.py.j2")


def _compiled_trackers(compile_spec, module: ModulePlan, plan) -> list[str]:
    """Without a ``metrics`` property, Keras's model.metrics starts with what compile() makes: a Mean named
    "loss" (which only the step updates) and the compiled metrics' container (None without metrics)."""
    from .metrics import keras_metric_keys, number_metric_objects

    var = compile_spec.var
    loss = None if compile_spec.loss is None else plan_loss(compile_spec.loss, "linear").canonical
    units = module.output_shapes[0][-1] if module.output_shapes and module.output_shapes[0] else None
    numbered = number_metric_objects(list(compile_spec.metrics), plan.metric_counters)
    metrics = keras_metric_keys(
        [plan_metric(value, loss, units, numbered, plan.functions) for value in compile_spec.metrics], compile_spec.pos
    )
    trackers = []
    for metric in metrics:
        if metric.stateful:
            raise Unsupported(
                "K2T122",
                f"compiled metric {metric.key!r} of a model with its own train_step is not translated (k2t translates mean-type metrics there)",
                compile_spec.pos,
            )
        plan.add_helper(metric.helper)
        fn = metric.helper.name if not metric.arguments else f"lambda output, target: {metric.call('output', 'target')}"
        trackers.append(f"{plan.name(METRIC_TRACKER.name)}({json.dumps(metric.key)}, {fn})")
    plan.add_helper(METRIC_TRACKER)
    lines = [
        f'{var}.compiled_loss_tracker = {plan.name(MEAN_TRACKER.name)}("loss")  # compile() makes Keras\'s loss tracker'
    ]
    if trackers:
        plan.add_helper(COMPILE_METRICS)
        lines.append(f"{var}.compile_metrics = {plan.name(COMPILE_METRICS.name)}([{', '.join(trackers)}])")
    else:
        lines.append(f"{var}.compile_metrics = None  # compile() without metrics")
    return lines
