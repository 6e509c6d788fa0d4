"""tf.GradientTape training loops -> plain torch autograd, in the script's own structure.

``grads = tape.gradient(loss, model.trainable_weights)`` followed by
``optimizer.apply_gradients(zip(grads, model.trainable_weights))`` is one
optimizer update: ``optimizer.zero_grad(); loss.backward()`` where the gradients
were taken (Keras computes them afresh at every step, so the previous step's
must not accumulate) and ``optimizer.step()`` where they were applied. The
optimizer is the one compile() would get (k2t.translate.optimizers, Keras's
update rules), built over the model's parameters where the script built it.
Loss and metric objects used by hand get the generated functions compile()
uses (same values as Keras), called in torch's (output, target) order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import libcst as cst
from libcst.metadata import PositionProvider

from ..cst_walk import Visitor
from ..cst_walk import parents as node_parents
from ..diagnostics import Unsupported
from ..ir import AppliedGradients, DirectModelCall, GradientClip, KerasScript, ObjectCall, TapeGradient, Todo, Value
from ..parse.tape import MEAN
from .dtypes import INTEGER, input_dtypes
from .helpers import Helper
from .losses import plan_loss
from .metrics import plan_metric
from .optimizers import plan_optimizer
from .plan import ModulePlan

if TYPE_CHECKING:
    from . import ScriptPlan

_TORCH_DTYPES = {INTEGER: "torch.int64"}  # otherwise float32, as Keras hands a model its inputs


def translate_custom_training(script: KerasScript, modules: dict[int, ModulePlan], plan: ScriptPlan) -> None:
    training = script.custom_training
    for decorator in training.decorators:
        plan.expressions[id(decorator)] = ""  # @tf.function: torch runs the step eagerly, as written
    translated_tapes: set[int] = set()
    untranslated_tapes: set[int] = set()
    used: set[int] = set()  # id() of the clips and apply_gradients statements of a translated update
    functions = _enclosing_functions(script.module) if training.gradients else lambda statement: None
    for gradient in training.gradients:
        try:
            clips = _clips_of(gradient, training.clips)
            applied = _applied_for(gradient, clips, training.applied, functions)
            used.update(id(item) for item in (*clips, applied))
            _update(script, gradient, clips, applied, modules, plan)
            translated_tapes.add(id(gradient.tape))
        except Unsupported as exc:
            untranslated_tapes.add(id(gradient.tape))
            plan.todos.append(Todo(gradient.statement, exc.code, exc.message, exc.pos or gradient.pos))
    for applied in training.applied:
        if id(applied) not in used:
            message = (
                f"`{applied.optimizer}.apply_gradients(...)` of gradients no `tape.gradient(...)` k2t translates made"
            )
            plan.todos.append(Todo(applied.statement, "K2T100", message, applied.pos))
    for clip in training.clips:
        if id(clip) not in used:
            message = f"tf.clip_by_global_norm of `{clip.source}`, which no translated `tape.gradient(...)` made, is not translated"
            plan.todos.append(Todo(clip.statement, "K2T150", message, clip.pos))
    for tape in training.tapes:
        if id(tape) in translated_tapes and id(tape) not in untranslated_tapes:
            plan.unwrapped.add(id(tape))  # autograd records without being asked: the body runs as it is
    losses = _translate_objects(script, training.objects, plan)
    by_statement: dict[int, list[DirectModelCall]] = {}
    for call in training.model_calls:
        by_statement.setdefault(id(call.statement), []).append(call)
    # fit / evaluate / predict written on the same line replace it whole from the script's text.
    data_calls = {
        id(call.statement) for call in script.calls if call.statement is not None and call.method in _DATA_METHODS
    }
    for calls in by_statement.values():
        try:
            if id(calls[0].statement) in data_calls:
                message = (
                    f"`{calls[0].model}(...)` in the data of a fit / evaluate / predict call on the same line is not "
                    f"translated: bind the data to a variable first (e.g. `train_ds = ds.map(...)`)"
                )
                raise Unsupported("K2T103", message, calls[0].pos)
            if _op_notes(calls[0].statement, plan) and not _calls_losses(calls[0].statement, losses):
                # `loss = tf.reduce_mean(tf.square(model(x) - y))`: the op rewrite (k2t.translate.script_ops,
                # which runs last) composes with the model call replaced alone, the mode switch before the line.
                _model_calls_in_ops(calls, modules, plan)
            else:
                plan.statements[id(calls[0].statement)] = _model_calls(calls, losses, modules, plan)
        except Unsupported as exc:
            plan.todos.append(Todo(calls[0].statement, exc.code, exc.message, exc.pos or calls[0].pos))


_DATA_METHODS = frozenset(
    {
        "fit",
        "evaluate",
        "predict",
        "fit_generator",
        "evaluate_generator",
        "predict_generator",
        "train_on_batch",
        "test_on_batch",
        "predict_on_batch",
    }
)


def _clips_of(gradient: TapeGradient, clips: list[GradientClip]) -> list[GradientClip]:
    """The clips the gradients go through, in order (``grads, _ = tf.clip_by_global_norm(grads, 1.0)``)."""
    chain: list[GradientClip] = []
    name = gradient.grads
    while True:
        following = [clip for clip in clips if clip.source == name and clip not in chain]
        if len(following) > 1:
            raise Unsupported(
                "K2T150",
                f"the gradients `{name}` are clipped by several tf.clip_by_global_norm calls; k2t does not translate that",
            )
        if not following:
            return chain
        chain.append(following[0])
        name = following[0].result


def _enclosing_functions(module: cst.Module) -> Callable[[cst.CSTNode], int | None]:
    """``statement -> id() of the function it is in`` (None: the top level)."""
    parent_of = node_parents(module)

    def function_of(statement: cst.CSTNode) -> int | None:
        node = parent_of.get(id(statement))
        while node is not None and not isinstance(node, cst.FunctionDef):
            node = parent_of.get(id(node))
        return id(node) if node is not None else None

    return function_of


def _applied_for(
    gradient: TapeGradient,
    clips: list[GradientClip],
    applied: list[AppliedGradients],
    functions: Callable[[cst.CSTNode], int | None],
) -> AppliedGradients:
    grads = clips[-1].result if clips else gradient.grads
    # The same name in another function (a tf.function step's `grads` and the loop's) is another variable.
    scope = functions(gradient.statement)
    matching = [
        item
        for item in applied
        if item.grads == grads and item.model == gradient.model and functions(item.statement) == scope
    ]
    if len(matching) != 1:
        how = "no" if not matching else "several"
        raise Unsupported(
            "K2T100",
            f"`{grads}` is applied by {how} `optimizer.apply_gradients(zip({grads}, {gradient.model}.trainable_weights))`",
        )
    return matching[0]


def _update(
    script: KerasScript,
    gradient: TapeGradient,
    clips: list[GradientClip],
    applied: AppliedGradients,
    modules: dict[int, ModulePlan],
    plan: ScriptPlan,
) -> None:
    """zero_grad + backward where the gradients are taken, the clips where they are, step where the gradients are
    applied, the optimizer built over the model."""
    if id(applied.instance.model) not in modules:
        raise Unsupported("K2T103", f"the model `{applied.model}` is not translated, so neither is its training step")
    allowed = {id(gradient.statement), id(applied.statement), *(id(clip.statement) for clip in clips)}
    for name in dict.fromkeys([gradient.grads, *(clip.result for clip in clips)]):
        others = _other_reads(script, gradient.statement, name, allowed)
        if others:
            # Printed, or changed in a way k2t does not translate: torch keeps the gradients in `.grad`, not in a list.
            message = f"the gradients `{name}` are used other than by apply_gradients (line {others[0]}); k2t does not translate that"
            raise Unsupported("K2T150", message)
    models = {item.model for item in script.custom_training.applied if item.built_statement is applied.built_statement}
    if len(models) > 1:
        raise Unsupported(
            "K2T121",
            f"the optimizer `{applied.optimizer}` updates several models ({', '.join(sorted(models))}); k2t does not translate that",
            applied.pos,
        )
    tape = gradient.tape.items[0].asname.name  # type: ignore[union-attr]
    others = _other_reads(script, gradient.statement, tape.value, {id(gradient.statement)}, bound=tape)
    if others:
        # `tape.watch(x)`, a second `tape.gradient(...)`: torch has no tape object to stand for it.
        raise Unsupported(
            "K2T150",
            f"the tape `{tape.value}` is used other than by `tape.gradient(...)` (line {others[0]}); k2t does not translate that",
        )
    if applied.built_statement.body[0].targets[0].target.value != applied.optimizer:  # type: ignore[attr-defined]
        raise Unsupported(
            "K2T121",
            f"the optimizer `{applied.optimizer}` is not built as `{applied.optimizer} = keras.optimizers...(...)`",
            applied.pos,
        )
    model_line = applied.instance.model.pos[0]
    built_line = applied.built.pos[0]
    if built_line < model_line:
        message = f"the optimizer `{applied.optimizer}` is built before the model `{applied.model}` (line {model_line}); torch builds it over the model's parameters: build it after the model"
        raise Unsupported("K2T121", message, applied.built.pos)
    optimizer = plan_optimizer(Value(code="", pos=applied.built.pos, keras_call=applied.built))
    construction = optimizer.expression(f"{applied.model}.parameters()", plan)
    comment = f"  # {optimizer.comment}" if optimizer.comment else ""
    plan.statements[id(applied.built_statement)] = [f"{applied.optimizer} = {construction}{comment}"]
    script.removed.discard(id(applied.built_statement))
    plan.statements[id(gradient.statement)] = [
        f"{applied.optimizer}.zero_grad()",
        f"{gradient.loss}.backward()",
        # Keras's loss is a value once its gradients are taken: float() and .numpy() read it without a warning.
        f"{gradient.loss} = {gradient.loss}.detach()",
    ]
    plan.statements[id(applied.statement)] = [f"{applied.optimizer}.step()"]
    for clip in clips:
        # tf.clip_by_global_norm scales by clip_norm / max(norm, clip_norm), torch by clip_norm / (norm + 1e-6) when
        # that is below 1: a relative difference of 1e-6 / norm. Both give the norm before clipping.
        norm = f"{clip.norm} = " if clip.norm else ""
        plan.statements[id(clip.statement)] = [
            f"{norm}torch.nn.utils.clip_grad_norm_({applied.model}.parameters(), {clip.clip_norm})"
        ]


def _other_reads(
    script: KerasScript, statement: cst.CSTNode, name: str, allowed: set[int], bound: cst.Name | None = None
) -> list[int]:
    """Lines of the reads of ``name`` outside the statements in ``allowed`` (and other than ``bound``, where a
    `with` binds it), in the function that holds ``statement`` (or at the module's top level: then outside
    every function and class)."""
    positions = script.metadata.resolve(PositionProvider)
    scope = _enclosing_function(script.module, statement)
    lines: list[int] = []

    class Finder(Visitor):
        def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> bool:
            return id(node) not in allowed

        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return node is scope  # another function's `grads` is another variable

        def visit_ClassDef(self, node: cst.ClassDef) -> bool:
            return False

        def visit_Name(self, node: cst.Name) -> None:
            if node.value == name and node is not bound:
                lines.append(positions[node].start.line)

    (scope or script.module).visit(Finder())
    return lines


def _enclosing_function(module: cst.Module, statement: cst.CSTNode) -> cst.FunctionDef | None:
    found: list[cst.FunctionDef | None] = []

    class Finder(Visitor):
        def __init__(self):
            self.functions: list[cst.FunctionDef] = []

        def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
            self.functions.append(node)

        def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
            self.functions.pop()

        def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> bool:
            if node is statement:
                found.append(self.functions[-1] if self.functions else None)
            return False

    module.visit(Finder())
    return found[0] if found else None


def _translate_objects(script: KerasScript, calls: list[ObjectCall], plan: ScriptPlan) -> dict[int, str]:
    """Rewrites the objects' constructions and calls; returns id() of each loss call -> the generated loss it calls."""
    built: dict[int, str] = {}  # id(construction statement) -> the generated function or class it became
    losses: dict[int, str] = {}
    # Metric classes some object of which the script calls (`train_loss(loss)`): their class gets __call__.
    called = {call.built.name for call in calls if call.method is None and call.built.name.startswith("keras.metrics.")}
    for call in calls:
        try:
            if id(call.built_statement) not in built:
                built[id(call.built_statement)] = _object(script, call, call.built.name in called, plan)
            generated = built[id(call.built_statement)]
        except Unsupported as exc:
            built[id(call.built_statement)] = ""
            plan.todos.append(Todo(call.built_statement, exc.code, exc.message, exc.pos or call.built.pos))
            continue
        if not generated:
            plan.todos.append(
                Todo(call.node, "K2T100", f"the Keras object `{call.variable}` is not translated", call.pos)
            )
        elif call.method is None and call.built.name.startswith("keras.losses."):
            losses[id(call.node)] = generated
            plan.calls[id(call.node)] = _loss_call(generated, *call.args, plan)
        elif call.method == "reset_states":  # Keras 2's spelling
            plan.calls[id(call.node)] = f"{call.variable}.reset_state()"
    return losses


def _loss_call(generated: str, y_true: str, y_pred: str, plan: ScriptPlan) -> str:
    """loss_fn(y_true, y_pred) -> the generated loss, which takes (output, target) as compile()'s loop calls it.
    Keras's Loss converts y_true to its float32 dtype first (class indices too)."""
    return f"{generated}({y_pred}, torch.as_tensor({y_true}, dtype=torch.float32, device={plan.name('device')}))"


def _object(script: KerasScript, call: ObjectCall, called: bool, plan: ScriptPlan) -> str:
    """The generated function (a loss) or class (a metric) the object's construction becomes.
    ``called``: the script calls objects of this metric class, which then get ``__call__``."""
    value = Value(
        code=script.module.code_for_node(call.built_statement.body[0].value), pos=call.built.pos, keras_call=call.built
    )  # type: ignore[attr-defined]
    if call.built.name.startswith("keras.losses."):
        # No final activation is folded in: the loss reads whatever the script hands it, as Keras's does.
        loss = plan_loss(value, "")
        return plan.name(plan.add_helper(loss.helper).name)
    class_name = call.built.short_name
    context: dict[str, object] = {
        "keras": class_name,
        "callable": called,
        "mean": False,
        "state": "",
        "function": "",
        "arguments": "",
    }
    if call.built.name == MEAN:
        context["mean"] = True
        _mean_arguments(call, value)
    else:
        metric = plan_metric(value, None, None)
        generated = plan.name(plan.add_helper(metric.helper).name)
        context["state" if metric.stateful else "function"] = generated
        context["arguments"] = metric.arguments
    # A stateful metric's own class (compile()'s, `AUC`) holds the state: the object used by hand is `AUCMetric`.
    name = f"{class_name}Metric" if context["state"] else class_name
    helper = Helper(name, "metrics/metric_object.py.j2", tuple(sorted(context.items())))
    generated = plan.name(plan.add_helper(helper).name)
    plan.statements[id(call.built_statement)] = [f"{_target(call)} = {generated}()"]
    script.removed.discard(id(call.built_statement))
    return generated


def _mean_arguments(call: ObjectCall, value: Value) -> None:
    """keras.metrics.Mean(name=...): the name only labels Keras's logs; any other argument is not translated."""
    for key, item in call.built.kwargs:
        if key != "name":
            raise Unsupported("K2T122", f"metric argument {key}= of `{value.code}` is not translated", item.pos)
    if call.built.args:
        raise Unsupported("K2T122", f"metric `{value.code}`: positional arguments are not translated", call.built.pos)


def _target(call: ObjectCall) -> str:
    return call.built_statement.body[0].targets[0].target.value  # type: ignore[attr-defined]


def _model_calls(
    calls: list[DirectModelCall], losses: dict[int, str], modules: dict[int, ModulePlan], plan: ScriptPlan
) -> list[str]:
    """``logits = model(x, training=True)`` -> ``model.train()`` then ``logits = model(<x as a tensor>)``; the
    statement's other translated calls (a loss object's) are rewritten with it."""
    modes = {(call.model, call.training) for call in calls}
    if len({model for model, _ in modes}) != len(modes):
        raise Unsupported(
            "K2T140",
            f"`{calls[0].model}` is called in training and in inference mode on one line; k2t does not translate that",
            calls[0].pos,
        )
    replacements = dict(plan.calls)
    for call in calls:
        replacements[id(call.node)] = _model_call(call, modules, plan)
    replacer = _Replacer(replacements, losses, {id(call.node) for call in calls}, plan)
    statement = calls[0].statement.visit(replacer).with_changes(leading_lines=[])
    switches = [
        f"{model}.{'train' if training else 'eval'}()"
        for model, training in dict.fromkeys((call.model, call.training) for call in calls)
    ]
    return [*switches, cst.Module(body=[]).code_for_node(statement).rstrip("\n")]


def _op_notes(statement, plan: ScriptPlan) -> bool:
    """Whether the parser left notes of the op vocabulary (K2T100 / K2T150 on a Keras or TensorFlow op) on the
    statement, which the op rewrite may answer."""
    return any(
        todo.statement is statement and todo.code in ("K2T100", "K2T150") and todo.follows is None
        for todo in plan.todos
    )


def _calls_losses(statement, losses: dict[int, str]) -> bool:
    found = False

    class Finder(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            nonlocal found
            found = found or id(node) in losses

    statement.visit(Finder())
    return found


def _model_calls_in_ops(calls: list[DirectModelCall], modules: dict[int, ModulePlan], plan: ScriptPlan) -> None:
    """The model calls of a line of ops: each call replaced where it stands, the mode switches before the line."""
    modes = dict.fromkeys((call.model, call.training) for call in calls)
    if len({model for model, _ in modes}) != len(modes):
        raise Unsupported(
            "K2T140",
            f"`{calls[0].model}` is called in training and in inference mode on one line; k2t does not translate that",
            calls[0].pos,
        )
    for call in calls:
        plan.calls[id(call.node)] = _model_call(call, modules, plan)
    plan.before[id(calls[0].statement)] = [f"{model}.{'train' if training else 'eval'}()" for model, training in modes]


def _model_call(call: DirectModelCall, modules: dict[int, ModulePlan], plan: ScriptPlan) -> str:
    module = modules.get(id(call.instance.model))
    if module is None:
        raise Unsupported(
            "K2T103", f"the model `{call.model}` is not translated, so neither is this call of it", call.pos
        )
    dtypes = input_dtypes(module)
    if len(dtypes) != 1:
        raise Unsupported("K2T140", f"`{call.model}(...)` of a model with several inputs is not translated", call.pos)
    dtype = _TORCH_DTYPES.get(dtypes[0], "torch.float32")
    # Keras takes arrays or tensors and converts them to the model's dtype; so does torch.as_tensor (without a copy when it can).
    return f"{call.model}(torch.as_tensor({call.inputs}, dtype={dtype}, device={plan.name('device')}))"


class _Replacer(cst.CSTTransformer):
    """Calls of one statement replaced by their translations (id() of the script's node -> code)."""

    def __init__(self, replacements: dict[int, str], losses: dict[int, str], models: set[int], plan: ScriptPlan):
        self.replacements = replacements
        self.models = models  # the model calls among them
        self.losses = losses  # loss calls, rebuilt from their rewritten arguments (`loss_fn(y, model(x))`)
        self.plan = plan

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        func = original_node.func
        if (
            isinstance(func, cst.Attribute)
            and func.attr.value == "numpy"
            and not original_node.args
            and id(func.value) in self.models
        ):
            # `model(x).numpy()`: torch's output may require grad and sit on the GPU; Keras's is a plain value.
            value = cst.Module(body=[]).code_for_node(updated_node.func.value)  # type: ignore[attr-defined]
            return cst.parse_expression(f"{value}.detach().cpu().numpy()")
        if id(original_node) in self.losses:
            code = cst.Module(body=[]).code_for_node
            arguments = [code(arg.value) for arg in updated_node.args]
            return cst.parse_expression(_loss_call(self.losses[id(original_node)], *arguments, self.plan))
        replacement = self.replacements.get(id(original_node))
        return updated_node if not replacement else cst.parse_expression(replacement)

    def leave_Attribute(self, original_node: cst.Attribute, updated_node: cst.Attribute) -> cst.BaseExpression:
        # Translated names the statement reads (`num_parallel_calls=tf.data.AUTOTUNE` in a `ds.map(...)` that
        # calls a model): the statement is rebuilt here, so their translations must be applied here too.
        replacement = self.replacements.get(id(original_node))
        return updated_node if not replacement else cst.parse_expression(replacement)


def training_step_scopes(script: KerasScript, plan: ScriptPlan) -> list[cst.CSTNode]:
    """Where a translated tape loop computes with tensors: each function holding a translated
    ``with tf.GradientTape()`` (the step), else the top-level loop holding it; the top-level loops that call
    such a step; then the script's top-level functions these call by name (``compute_loss(y, logits)``), and
    those they call. Their ops run on the model's outputs (on its device, with their gradients), as
    TensorFlow's run on its tensors there."""
    translated = [tape for tape in script.custom_training.tapes if id(tape) in plan.unwrapped]
    functions = {
        statement.name.value: statement for statement in script.module.body if isinstance(statement, cst.FunctionDef)
    }
    scopes: list[cst.CSTNode] = []
    for tape in translated:
        path = _path_to(script.module, tape)
        if any(isinstance(node, cst.ClassDef) for node in path):
            continue  # a method's tape (a model's train_step) is its class's
        inner = [node for node in path if isinstance(node, cst.FunctionDef)]
        loops = [node for node in path[1:2] if isinstance(node, (cst.For, cst.While))]  # a top-level loop
        scope = inner[-1] if inner else (loops[0] if loops else None)
        if scope is not None and all(scope is not other for other in scopes):
            scopes.append(scope)
    steps = {scope.name.value for scope in scopes if isinstance(scope, cst.FunctionDef)}
    for statement in script.module.body:
        # The loop that calls a step reads what the step returns: its model's outputs, tensors with gradients.
        calls_a_step = isinstance(statement, (cst.For, cst.While)) and steps & set(_called_names(statement))
        if calls_a_step and all(statement is not other for other in scopes):
            scopes.append(statement)
    for scope in scopes:  # grows while it is walked: the functions the steps call, transitively
        for name in _called_names(scope):
            called = functions.get(name)
            if called is not None and all(called is not other for other in scopes):
                scopes.append(called)
    return scopes


def _path_to(module: cst.Module, target: cst.CSTNode) -> list[cst.CSTNode]:
    """The nodes from ``module`` down to ``target``'s parent (the module first)."""
    path: list[cst.CSTNode] = []
    found: list[cst.CSTNode] = []

    class Finder(Visitor):
        def enter(self, node: cst.CSTNode) -> bool:
            if found:
                return False
            if node is target:
                found.extend(path)
                return False
            path.append(node)
            return True

        def leave(self, original_node: cst.CSTNode) -> None:
            if path and path[-1] is original_node:
                path.pop()

    module.visit(Finder())
    return found


def _called_names(scope: cst.CSTNode) -> list[str]:
    names: list[str] = []

    class Finder(Visitor):
        def visit_Call(self, node: cst.Call) -> None:
            if isinstance(node.func, cst.Name) and node.func.value not in names:
                names.append(node.func.value)

    scope.visit(Finder())
    return names
