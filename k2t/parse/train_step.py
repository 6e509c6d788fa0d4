"""``class M(keras.Model)`` overriding ``train_step`` / ``test_step`` (keras.io, "Customizing what happens in fit()").

The class is built as Keras builds it in the guide, ``model = M(inputs, outputs)``: a Functional graph,
with the class's steps run by ``fit`` / ``evaluate`` in place of Keras's. Each statement of a step is
read into a StepLine (k2t.ir) of a small vocabulary, in Keras 3 and Keras 2 spellings:

    x, y = data
    with tf.GradientTape() as tape:
        y_pred = self(x, training=True)
        loss = self.compute_loss(y=y, y_pred=y_pred)      # or self.compiled_loss(y, y_pred), self.loss_fn(y, y_pred)
    trainable_vars = self.trainable_variables
    gradients = tape.gradient(loss, trainable_vars)
    self.optimizer.apply(gradients, trainable_vars)       # or apply_gradients(zip(gradients, trainable_vars))
    self.loss_tracker.update_state(loss)                  # or the guide's `for metric in self.metrics:` loop
    return {m.name: m.result() for m in self.metrics}     # or {"loss": self.loss_tracker.result(), ...}

with the trackers (``keras.metrics.*``) and loss objects (``keras.losses.*``) made in ``__init__`` and a
``metrics`` property listing the trackers. Anything else is an _Unfollowable at that statement (K2T103).
"""

from __future__ import annotations

import dataclasses

import libcst as cst

from ..cst_walk import Visitor
from ..ir import CompileOverride, Instance, StepLine, StepSpec
from .scope import _Scope, _Unfollowable
from .syntax import _body_of, is_docstring


def _keras_model_name(node, pos):
    from .subclassed import _keras_model_name as name_of  # subclassed imports this module

    return name_of(node, pos)


STEP_METHODS = ("train_step", "test_step")
# Overrides that change what the step computes beyond the statements read here.
_NOT_FOLLOWED = (
    "call",
    "predict_step",
    "build",
    "compute_loss",
    "compute_metrics",
    "reset_metrics",
    "get_metrics_result",
)
# What a compile() override may pass to keras.Model.compile (the rest stays a K2T103 at the call).
_BASE_COMPILE = frozenset({"optimizer", "loss", "metrics"})
# keras.Model's own attributes, which the generated loops and compile() set: a compile() override storing one of them
# (`self.optimizer = optimizer`) would be overwritten there.
_MODEL_ATTRIBUTES = frozenset(
    {"optimizer", "loss", "metrics", "compiled_loss", "compiled_metrics", "compute_loss", "stop_training", "name"}
)
_TAPES = frozenset({"tensorflow.GradientTape"})
_TRAINABLES = frozenset({"trainable_variables", "trainable_weights"})


def overrides_steps(node: cst.ClassDef) -> bool:
    return any(isinstance(s, cst.FunctionDef) and s.name.value in STEP_METHODS for s in _body_of(node.body))


class TrainStepMixin:
    """``model = M(inputs, outputs)`` of a class with its own steps. Mixed into k2t.parse.parser._Parser."""

    def stepped_model(self, line, target: str, call: cst.Call, node: cst.ClassDef, scope: _Scope):
        methods = {s.name.value: s for s in _body_of(node.body) if isinstance(s, cst.FunctionDef)}
        name = node.name.value
        for method in _NOT_FOLLOWED:
            if method in methods:
                raise _Unfollowable(
                    methods[method],
                    f"{name}.{method}() beside train_step()/test_step() is not translated (k2t follows the keras.io guide's `{name}(inputs, outputs)` with its steps)",
                )
        objects = self._step_objects(methods.get("__init__"), name, scope)
        steps = self.step_spec(node, objects, scope)
        model = self.functional_model(line, target, call, scope)
        model.factory = name  # the generated module takes the class's name
        if model.call.kwarg("name") is None:  # Keras names the instance after its class, in snake case
            model.call = dataclasses.replace(
                model.call, kwargs=(*model.call.kwargs, ("name", _keras_model_name(node, self.pos(call))))
            )
        model.steps = steps
        scope.models[target] = Instance(model)
        self.script.removed.add(id(node))
        return model

    def step_spec(
        self,
        node: cst.ClassDef,
        objects: list,
        scope: _Scope,
        submodels: tuple[str, ...] = (),
        constants: dict[str, object] | None = None,
    ) -> StepSpec:
        """The steps of ``node`` read statement by statement, with the trackers and loss objects its __init__ made
        (and the models passed to it, which a step may call: ``submodels``)."""
        methods = {s.name.value: s for s in _body_of(node.body) if isinstance(s, cst.FunctionDef)}
        name = node.name.value
        if "train_step" not in methods:
            raise _Unfollowable(
                methods["test_step"], f"{name} overrides test_step() without train_step(): not translated"
            )
        attrs = {attr for attr, _ in objects}
        metrics = self._metrics_property(methods.get("metrics"), name, attrs)
        override = _compile_override(self, methods["compile"], name) if "compile" in methods else None
        compiled = frozenset(attr for attr, _ in override.stored) if override is not None else frozenset()
        numbers = {attr: value for attr, value in (constants or {}).items() if attr not in attrs | compiled}
        reader = _StepReader(self, name, attrs | compiled, frozenset(submodels), scope, compiled | frozenset(numbers))
        train = reader.read(methods["train_step"], training=True)
        test = reader.read(methods["test_step"], training=False) if "test_step" in methods else None
        read = reader.attributes_read
        kept = tuple((attr, value) for attr, value in numbers.items() if attr in read)
        data = (
            methods["train_step"].params.params[1].name.value,
            methods["test_step"].params.params[1].name.value if test is not None else None,
        )
        return StepSpec(name, self.pos(node), tuple(objects), metrics, train, test, override, kept, data)

    def _step_objects(self, init: cst.FunctionDef | None, name: str, scope: _Scope) -> list:
        """``self.tracker = keras.metrics.Mean(name="loss")`` in __init__, after ``super().__init__(*args, **kwargs)``."""
        if init is None:
            return []
        params = init.params
        passes_all = (
            len(params.params) == 1
            and isinstance(params.star_arg, cst.Param)
            and params.star_kwarg is not None
            and not params.kwonly_params
        )
        if not passes_all:
            raise _Unfollowable(
                init.params,
                f"{name}.__init__ takes (self, *args, **kwargs) in the guide's form; other parameters are not "
                f"translated without a call(): k2t translates a subclass given models (`{name}(encoder, decoder)`) "
                "when its call() says how they compose",
            )
        objects = []
        for statement in _body_of(init.body):
            small = (
                statement.body[0]
                if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1
                else None
            )
            if isinstance(small, cst.Expr) and _is_super_init(small.value):
                continue
            attr = (
                _self_attr(small.targets[0].target)
                if isinstance(small, cst.Assign) and len(small.targets) == 1
                else None
            )
            keras = (
                self.keras_name(small.value.func) if attr is not None and isinstance(small.value, cst.Call) else None
            )
            if keras is None or not keras.startswith(("keras.metrics.", "keras.losses.")):
                raise _Unfollowable(
                    statement,
                    f"`{self.code(statement).strip()}` in {name}.__init__ is not translated (k2t follows keras.metrics / keras.losses objects made there)",
                )
            objects.append((attr, self.value(small.value, scope)))
        return objects

    def _metrics_property(self, method: cst.FunctionDef | None, name: str, attrs: set[str]) -> tuple[str, ...]:
        """``@property def metrics(self): return [self.a, self.b]``: Keras's model.metrics, which fit resets every epoch."""
        if method is None:
            return ()
        statements = [s for s in _body_of(method.body) if not is_docstring(s)]
        small = (
            statements[0].body[0]
            if len(statements) == 1 and isinstance(statements[0], cst.SimpleStatementLine)
            else None
        )
        listed = small.value if isinstance(small, cst.Return) else None
        if (
            not isinstance(listed, (cst.List, cst.Tuple))
            or not listed.elements  # an empty model.metrics: told apart from Keras's own list nowhere here
            or not all(_self_attr(el.value) in attrs for el in listed.elements)
        ):
            raise _Unfollowable(
                method, f"{name}.metrics: k2t follows `return [self.tracker, ...]` of the trackers made in __init__"
            )
        return tuple(_self_attr(el.value) for el in listed.elements)


def _compile_override(parser, method: cst.FunctionDef, name: str) -> CompileOverride:
    """``def compile(self, optimizer, metrics, student_loss_fn, alpha=0.1, ...)`` whose body passes some parameters to
    ``super().compile(...)`` and stores the others on self, as keras.io's Distiller and GAN write it."""
    params = method.params
    if isinstance(params.star_arg, cst.Param) or params.star_kwarg is not None or params.posonly_params:
        raise _Unfollowable(params, f"{name}.compile() takes *args or **kwargs; k2t follows named parameters")
    given = tuple((p.name.value, p.default) for p in (*params.params[1:], *params.kwonly_params))
    names = {param for param, _ in given}
    base: list[tuple[str, str]] = []
    stored: list[tuple[str, str]] = []
    supered = False
    for statement in _body_of(method.body):
        if is_docstring(statement):
            continue
        small = (
            statement.body[0] if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1 else None
        )
        call = small.value if isinstance(small, cst.Expr) else None
        if (
            not supered
            and isinstance(call, cst.Call)
            and isinstance(call.func, cst.Attribute)
            and call.func.attr.value == "compile"
            and isinstance(call.func.value, cst.Call)
            and isinstance(call.func.value.func, cst.Name)
            and call.func.value.func.value == "super"
        ):
            for arg in call.args:
                if (
                    arg.keyword is None
                    or arg.keyword.value not in _BASE_COMPILE
                    or not isinstance(arg.value, cst.Name)
                    or arg.value.value not in names
                ):
                    raise _Unfollowable(
                        statement,
                        f"`{parser.code(arg).strip()}` in {name}.compile(): k2t follows super().compile() given the "
                        "method's parameters by keyword (optimizer, loss, metrics)",
                    )
                base.append((arg.keyword.value, arg.value.value))
            supered = True
            continue
        attr = (
            _self_attr(small.targets[0].target) if isinstance(small, cst.Assign) and len(small.targets) == 1 else None
        )
        if (
            attr is not None
            and attr not in _MODEL_ATTRIBUTES
            and isinstance(small.value, cst.Name)
            and small.value.value in names
        ):
            stored.append((attr, small.value.value))
            continue
        raise _Unfollowable(
            statement,
            f"`{parser.code(statement).strip()}` in {name}.compile() is not translated (k2t follows super().compile(...) "
            "and `self.name = parameter`)",
        )
    if not supered:
        raise _Unfollowable(method, f"{name}.compile() does not call super().compile(): not translated")
    return CompileOverride(given, tuple(base), tuple(stored))


class _StepReader:
    """The statements of one step as StepLines; raises _Unfollowable at the first it does not know."""

    def __init__(
        self,
        parser,
        class_name: str,
        attrs: set[str],
        submodels: frozenset[str] = frozenset(),
        scope=None,
        compiled: frozenset[str] = frozenset(),
    ):
        self.parser = parser
        self.scope = scope  # where the script makes the model: the module's numbers a step may read
        self.class_name = class_name
        self.attrs = attrs
        self.submodels = submodels
        self.compiled = compiled  # what the class's compile() stores on self, and the numbers __init__ keeps
        self.attributes_read: set[str] = set()  # those of them the steps' expressions read

    def read(self, method: cst.FunctionDef, training: bool) -> tuple[StepLine, ...]:
        self.where = f"{self.class_name}.{method.name.value}"
        params = method.params
        if (
            len(params.params) != 2
            or isinstance(params.star_arg, cst.Param)
            or params.star_kwarg is not None
            or params.kwonly_params
        ):
            raise _Unfollowable(method.params, f"{self.where} takes (self, data); other signatures are not translated")
        self.data = params.params[1].name.value
        self.training = training
        self.tape: str | None = None
        self.tape_done = False  # the tape's gradient taken: a further `with tf.GradientTape()` may follow (GAN)
        self.bound = {self.data}  # the step's variables so far, which an expression of ops may read
        self.results: set[str] = set()  # `results = {m.name: m.result() for m in self.metrics}`, updated, returned
        lines: list[StepLine] = []
        for statement in _body_of(method.body):
            if not is_docstring(statement):
                lines.extend(self.statement(statement))
        if not lines or lines[-1].kind not in ("return", "return_all", "return_values", "return_results"):
            raise _Unfollowable(
                method, f"{self.where} must end by returning its metrics' results (a dict) to be translated"
            )
        return tuple(lines)

    def unfollowable(self, node: cst.CSTNode, why: str = "") -> _Unfollowable:
        text = self.parser.code(node).strip().splitlines()[0]
        return _Unfollowable(node, f"`{text}` in {self.where} is not translated{' (' + why + ')' if why else ''}")

    def statement(self, statement: cst.CSTNode) -> list[StepLine]:
        if isinstance(statement, cst.With):
            return self.tape_block(statement)
        if isinstance(statement, cst.For):
            return [self.update_loop(statement)]
        small = (
            statement.body[0] if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1 else None
        )
        pos = self.parser.pos(statement)
        if isinstance(small, cst.Return) and small.value is not None:
            return [self.returned(small.value, pos)]
        if isinstance(small, cst.Expr) and isinstance(small.value, cst.Call):
            return [self.call_statement(small.value, pos, statement)]
        if isinstance(small, cst.Assign) and len(small.targets) == 1:
            return self.assignment(small.targets[0].target, small.value, pos, statement)
        if isinstance(small, cst.AugAssign) and isinstance(small.target, cst.Name) and small.target.value in self.bound:
            # `labels += 0.05 * tf.random.uniform(tf.shape(labels))`: ops over the step's variables, in place
            line = self.op(small.target.value, small.value, pos, statement)
            return [dataclasses.replace(line, attr=self.parser.code(small.operator).strip())]
        raise self.unfollowable(statement)

    def tape_block(self, statement: cst.With) -> list[StepLine]:
        item = statement.items[0] if len(statement.items) == 1 else None
        call = item.item if item is not None else None
        if not (
            self.training
            and (self.tape is None or self.tape_done)
            and isinstance(call, cst.Call)
            and not call.args
            and self.parser.keras_name(call.func) in _TAPES
            and item.asname is not None
            and isinstance(item.asname.name, cst.Name)
        ):
            raise self.unfollowable(statement, "k2t follows one `with tf.GradientTape() as tape:` in train_step")
        self.tape = item.asname.name.value
        self.tape_done = False
        lines = []
        for inner in _body_of(statement.body):
            lines.extend(self.statement(inner))
        return lines

    def assignment(
        self, target: cst.BaseAssignTargetExpression, value: cst.BaseExpression, pos, statement
    ) -> list[StepLine]:
        lines = self._assignment(target, value, pos, statement)
        for line in lines:
            if line.kind in ("unpack", "forward", "loss", "submodel", "op"):
                self.bound.update(line.names if line.kind in ("unpack", "submodel") else line.names[:1])
        return lines

    def _assignment(
        self, target: cst.BaseAssignTargetExpression, value: cst.BaseExpression, pos, statement
    ) -> list[StepLine]:
        if isinstance(target, cst.Tuple) and isinstance(value, cst.Name) and value.value == self.data:
            names = [el.value.value for el in target.elements if isinstance(el.value, cst.Name)]
            if len(names) == 2 == len(target.elements):
                return [StepLine("unpack", pos, tuple(names))]
            raise self.unfollowable(
                statement, "k2t follows `x, y = data`; sample weights in the data are not translated"
            )
        submodel = self.submodel(target, value, pos, statement)
        if submodel is not None:
            return [submodel]
        if not isinstance(target, cst.Name):
            raise self.unfollowable(statement)
        name = target.value
        if _self_attr(value) in _TRAINABLES:
            return [StepLine("trainables", pos, (name,))]
        if (
            isinstance(value, cst.Attribute)
            and value.attr.value in _TRAINABLES
            and _self_attr(value.value) in self.submodels
        ):
            # `trainable_vars = self.student.trainable_variables`: the weights of one model the subclass holds
            return [StepLine("trainables", pos, (name,), attr=_self_attr(value.value))]
        if isinstance(value, cst.DictComp) and self.all_results(value):
            self.results.add(name)
            return [StepLine("results", pos, (name,))]
        if not (isinstance(value, cst.Call) and self.steps_own_call(value.func)):
            return [self.op(name, value, pos, statement)]
        func = value.func
        if isinstance(func, cst.Name) and func.value == "self":
            return [self.forward(name, value, pos, statement)]
        if (
            self.tape is not None
            and isinstance(func, cst.Attribute)
            and isinstance(func.value, cst.Name)
            and func.value.value == self.tape
        ):
            if func.attr.value == "gradient" and len(value.args) == 2 and all(a.keyword is None for a in value.args):
                loss, variables = value.args[0].value, self.variables(value.args[1].value)
                if (
                    isinstance(loss, cst.Name)
                    and variables is not None
                    and loss.value in self.bound
                    and not self.tape_done
                ):
                    self.tape_done = True
                    return [StepLine("gradients", pos, (name, loss.value, variables))]
            raise self.unfollowable(statement, "k2t follows `tape.gradient(loss, trainable_variables)`")
        return [self.loss(name, value, pos, statement)]

    def steps_own_call(self, func: cst.BaseExpression) -> bool:
        """``self(x)``, ``self.loss_fn(...)``, ``tape.gradient(...)``: a call of the step's own vocabulary; any
        other call is an op (``tf.reduce_mean(...)``)."""
        if (isinstance(func, cst.Name) and func.value == "self") or _self_attr(func) is not None:
            return True
        return (
            self.tape is not None
            and isinstance(func, cst.Attribute)
            and isinstance(func.value, cst.Name)
            and func.value.value == self.tape
        )

    def submodel(self, target, value: cst.BaseExpression, pos, statement) -> StepLine | None:
        """``z_mean, z_log_var, z = self.encoder(data)``, ``reconstruction = self.decoder(z)``: a model the
        subclass was given, called on step variables (Keras runs it in inference mode there unless told)."""
        attr = _self_attr(value.func) if isinstance(value, cst.Call) else None
        if attr is None or attr not in self.submodels:
            return None
        if isinstance(target, cst.Name) and target.value in self.results:
            raise self.unfollowable(statement, f"`{target.value}` holds the step's results")
        elements = target.elements if isinstance(target, (cst.Tuple, cst.List)) else None
        names = [target] if isinstance(target, cst.Name) else [el.value for el in elements or ()]
        starred = any(not isinstance(el, cst.Element) for el in elements or ())  # `a, *rest = ...`
        if not names or starred or not all(isinstance(name, cst.Name) for name in names):
            raise self.unfollowable(statement, "k2t follows a model's outputs assigned to plain names")
        inner: list[tuple[str, str]] = []
        code, training = self.submodel_call(value, statement, inner)
        return StepLine(
            "submodel",
            pos,
            tuple(name.value for name in names),
            attr=attr,
            training=training,
            arguments=(code,),
            items=tuple(inner),
        )

    def submodel_call(self, value: cst.Call, statement, inner: list[tuple[str, str]]) -> tuple[str, bool | None]:
        """``self.discriminator(self.generator(z))``: the arguments' code (names of the step's variables, or calls of
        held models on them, whose (attribute, training) go to ``inner``) and the call's training flag."""
        attr = _self_attr(value.func)
        arguments = [arg.value for arg in value.args if arg.keyword is None]
        keywords = {arg.keyword.value: arg.value for arg in value.args if arg.keyword is not None}
        training = keywords.pop("training", None)
        if (
            keywords
            or any(arg.star for arg in value.args)
            or not all(
                (isinstance(arg, cst.Name) and arg.value in self.bound)
                or (isinstance(arg, cst.Call) and _self_attr(arg.func) in self.submodels)
                for arg in arguments
            )
            or not (training is None or (isinstance(training, cst.Name) and training.value in ("True", "False")))
        ):
            raise self.unfollowable(
                statement,
                f"k2t follows `self.{attr}(...)` called on the step's variables, with `training=True` or `False` at most",
            )
        codes = []
        for arg in arguments:
            if isinstance(arg, cst.Name):
                codes.append(arg.value)
                continue
            code, mode = self.submodel_call(arg, statement, inner)
            inner.append((_self_attr(arg.func), repr(mode)))
            codes.append(f"self.{_self_attr(arg.func)}({code})")
        return ", ".join(codes), None if training is None else training.value == "True"

    def op(self, name: str, value: cst.BaseExpression, pos, statement) -> StepLine:
        """``kl_loss = -0.5 * (1 + z_log_var - tf.square(z_mean) - tf.exp(z_log_var))``: ops of the vocabulary
        (translated where the step is written) over the step's variables and numbers."""
        reader, unknown = self, []

        class Reads(Visitor):
            def visit_Attribute(self, attribute: cst.Attribute) -> bool:
                if _self_attr(attribute) in reader.compiled:
                    # `self.temperature`: a value the class's compile() stored; `self.latent_dim`: a number __init__ kept
                    reader.attributes_read.add(_self_attr(attribute))
                    return False
                if reader.parser.keras_name(attribute) is None:
                    attribute.value.visit(self)  # `x.shape`: the variable; `tf.square`: a name of the vocabulary
                return False

            def visit_Arg(self, arg: cst.Arg) -> bool:
                arg.value.visit(self)  # `axis=1`: the keyword is no read
                return False

            def visit_Name(self, node: cst.Name) -> bool:
                if (
                    node.value not in reader.bound
                    and reader.parser.keras_name(node) is None
                    and not reader.module_number(node)
                ):
                    unknown.append(node)
                return False

            def visit_Lambda(self, node: cst.Lambda) -> bool:
                unknown.append(node)
                return False

        value.visit(Reads())
        if unknown:
            raise self.unfollowable(
                statement,
                f"it reads `{self.parser.code(unknown[0]).strip()}`, which is no variable of the step nor an op k2t translates",
            )
        if any(isinstance(node, cst.Name) and node.value in self.results for node in _names_in(value)):
            raise self.unfollowable(statement, "it reads the step's results")
        return StepLine("op", pos, (name,), arguments=(self.data,), expression=value)

    def all_results(self, value: cst.DictComp) -> bool:
        """``{m.name: m.result() for m in self.metrics}``."""
        if not (_self_attr(value.for_in.iter) == "metrics" and isinstance(value.for_in.target, cst.Name)):
            return False
        metric = value.for_in.target.value
        return (
            self.parser.code(value.key).strip() == f"{metric}.name"
            and self.parser.code(value.value).strip() == f"{metric}.result()"
            and not value.for_in.ifs
            and value.for_in.inner_for_in is None
        )

    def module_number(self, node: cst.Name) -> bool:
        """``beta`` of ``beta = 0.5`` at the top level: a number the step reads where it runs, in Keras as in torch."""
        if self.scope is None or self.scope.tensor(node.value) is not None or self.scope.model(node.value) is not None:
            return False
        known, _ = self.parser.evaluate(node, self.scope)
        return isinstance(known, (int, float)) and not isinstance(known, bool)

    def forward(self, name: str, call: cst.Call, pos, statement) -> StepLine:
        positional = [a for a in call.args if a.keyword is None and not a.star]
        keywords = {a.keyword.value: a.value for a in call.args if a.keyword is not None}
        training = keywords.get("training")
        if len(positional) != 1 or not isinstance(positional[0].value, cst.Name) or set(keywords) - {"training"}:
            raise self.unfollowable(statement, "k2t follows `self(x, training=...)` on one input")
        if (
            not (isinstance(training, cst.Name) and training.value in ("True", "False"))
            or (training.value == "True") != self.training
        ):
            phase = "True" if self.training else "False"
            raise self.unfollowable(
                statement, f"k2t follows `training={phase}` written out, the phase the step runs in"
            )
        return StepLine("forward", pos, (name, positional[0].value.value), training=self.training)

    def loss(self, name: str, call: cst.Call, pos, statement) -> StepLine:
        """``self.compute_loss(y=y, y_pred=y_pred)`` (Keras 3), ``self.compiled_loss(y, y_pred, ...)`` (Keras 2),
        ``self.loss_fn(y, y_pred)``: (y_true, y_pred) by name, and which loss."""
        attr = _self_attr(call.func)
        keywords = {a.keyword.value: a.value for a in call.args if a.keyword is not None}
        positional = [a.value for a in call.args if a.keyword is None and not a.star]
        bare = False
        if attr == "compute_loss":
            # Keras 3's compute_loss(x=None, y=None, y_pred=None, sample_weight=None, ...): by keyword, or (x, y, y_pred).
            given = dict(zip(("x", "y", "y_pred"), positional)) | keywords
            if set(given) - {"x", "y", "y_pred"}:
                raise self.unfollowable(
                    statement, "sample weights and other compute_loss() arguments are not translated"
                )
            pair = (given.get("y"), given.get("y_pred"))
            source = "compute_loss"
        elif attr == "compiled_loss":
            # Keras 2: compiled_loss(y_true, y_pred, sample_weight=None, regularization_losses=self.losses).
            losses = keywords.pop("regularization_losses", None)
            if keywords or len(positional) != 2 or (losses is not None and _self_attr(losses) != "losses"):
                raise self.unfollowable(
                    statement, "k2t follows compiled_loss(y, y_pred, regularization_losses=self.losses)"
                )
            # Without regularization_losses the layers' penalties stay out: the same loss where the model has
            # none (k2t.translate.train_step reports it where it has some).
            bare = losses is None
            pair = (positional[0], positional[1])
            source = "compute_loss"
        elif attr in self.attrs and not keywords and len(positional) == 2 == len(call.args):
            pair = (positional[0], positional[1])
            source = attr
        else:
            raise self.unfollowable(
                statement,
                "k2t follows self.compute_loss(), self.compiled_loss() and the loss objects made in __init__ or stored by compile()",
            )
        if all(isinstance(item, cst.Name) and item.value in self.bound for item in pair):
            return StepLine("loss", pos, (name, pair[0].value, pair[1].value), attr=source, without_penalties=bare)
        if source in self.compiled:
            # `self.distillation_loss_fn(tf.nn.softmax(t / self.temperature, axis=1), ...)`: each operand an
            # expression of ops over the step's variables, rewritten where the step is written
            for item in pair:
                self.op(name, item, pos, statement)
            return StepLine(
                "loss", pos, (name, "", ""), attr=source, arguments=(self.data,), operands=pair, without_penalties=bare
            )
        raise self.unfollowable(statement, "k2t follows the loss of two variables of the step (y, y_pred)")

    def call_statement(self, call: cst.Call, pos, statement) -> StepLine:
        func = call.func
        args = [a.value for a in call.args if a.keyword is None and not a.star]
        optimizer = _self_attr(func.value) if isinstance(func, cst.Attribute) else None
        if optimizer == "optimizer" or (optimizer in self.compiled and func.attr.value in ("apply", "apply_gradients")):
            pair = (
                [a.value for a in call.args] if func.attr.value == "apply" else []
            )  # Keras 3: apply(gradients, variables)
            inner = call.args[0].value if func.attr.value == "apply_gradients" and len(call.args) == 1 else None
            if isinstance(inner, cst.Call) and isinstance(inner.func, cst.Name) and inner.func.value == "zip":
                pair = [a.value for a in inner.args]  # Keras 2: apply_gradients(zip(gradients, variables))
            if len(pair) == 2 and isinstance(pair[0], cst.Name) and self.variables(pair[1]) is not None:
                return StepLine("apply", pos, (pair[0].value, self.variables(pair[1])), attr=optimizer)
            raise self.unfollowable(
                statement,
                "k2t follows optimizer.apply(gradients, variables) and apply_gradients(zip(gradients, variables))",
            )
        if (
            isinstance(func, cst.Attribute)
            and func.attr.value == "update"
            and isinstance(func.value, cst.Name)
            and func.value.value in self.results
        ):
            return self.results_update(func.value.value, call, pos, statement)
        if len(args) != len(call.args) or not all(isinstance(a, cst.Name) for a in args):
            raise self.unfollowable(statement)
        names = tuple(a.value for a in args)
        if (
            isinstance(func, cst.Attribute)
            and func.attr.value == "update_state"
            and _self_attr(func.value) in self.attrs
        ):
            return StepLine("update", pos, names, attr=_self_attr(func.value))
        if (
            isinstance(func, cst.Attribute)
            and func.attr.value == "update_state"
            and _self_attr(func.value) == "compiled_metrics"
        ):
            # Keras 3 keeps it as a shim that updates every Mean of model.metrics with y_pred alone (its loss tracker
            # too) and the others with (y, y_pred): k2t.translate.train_step writes it so where it knows the list.
            if len(names) != 2:
                raise self.unfollowable(statement, "k2t follows compiled_metrics.update_state(y, y_pred)")
            return StepLine("update_compiled", pos, names)
        raise self.unfollowable(statement)

    def results_update(self, results: str, call: cst.Call, pos, statement) -> StepLine:
        """``results.update({"student_loss": student_loss})``: keys whose values are the step's variables."""
        given = call.args[0].value if len(call.args) == 1 and call.args[0].keyword is None else None
        items = self.dict_items(given) if isinstance(given, cst.Dict) else None
        if items is None:
            raise self.unfollowable(statement, 'k2t follows `results.update({"name": variable, ...})`')
        return StepLine("results_update", pos, (results,), items=items)

    def dict_items(self, value: cst.Dict) -> tuple[tuple[str, str], ...] | None:
        """``{"loss": self.tracker.result(), "d_loss": d_loss}``: (key, code) pairs of trackers' results and the
        step's variables; None for anything else."""
        items = []
        for element in value.elements:
            result = element.value if isinstance(element, cst.DictElement) else None
            key = element.key if result is not None else None
            if not isinstance(key, cst.SimpleString):
                return None
            attr = (
                _self_attr(result.func.value)
                if isinstance(result, cst.Call) and isinstance(result.func, cst.Attribute)
                else None
            )
            if (
                attr in self.attrs
                and attr not in self.compiled
                and result.func.attr.value == "result"
                and not result.args
            ):
                items.append((key.evaluated_value, f"self.{attr}.result()"))
            elif isinstance(result, cst.Name) and result.value in self.bound:
                items.append((key.evaluated_value, result.value))
            else:
                return None
        return tuple(items)

    def variables(self, node: cst.BaseExpression) -> str | None:
        """The trainable variables as a step names them: a variable, ``self.trainable_variables`` written out, or
        a held model's (``self.discriminator.trainable_weights``)."""
        if (
            isinstance(node, cst.Attribute)
            and node.attr.value in _TRAINABLES
            and _self_attr(node.value) in self.submodels
        ):
            return f"self.{_self_attr(node.value)}.{node.attr.value}"
        return _variables(node)

    def update_loop(self, statement: cst.For) -> StepLine:
        """The guide's ``for metric in self.metrics: if metric.name == "loss": metric.update_state(loss) else: metric.update_state(y, y_pred)``."""
        why = 'k2t follows the guide\'s loop: `if metric.name == "loss": metric.update_state(loss)` else `metric.update_state(y, y_pred)`'
        if not (
            isinstance(statement.target, cst.Name)
            and _self_attr(statement.iter) == "metrics"
            and statement.orelse is None
        ):
            raise self.unfollowable(statement, why)
        metric = statement.target.value
        body = _body_of(statement.body)
        branch = body[0] if len(body) == 1 else None
        if not isinstance(branch, cst.If) or not isinstance(branch.orelse, cst.Else):
            raise self.unfollowable(statement, why)
        test = branch.test
        is_loss_test = (
            isinstance(test, cst.Comparison)
            and len(test.comparisons) == 1
            and isinstance(test.comparisons[0].operator, cst.Equal)
            and self.parser.code(test.left).strip() == f"{metric}.name"
            and isinstance(test.comparisons[0].comparator, cst.SimpleString)
            and test.comparisons[0].comparator.evaluated_value == "loss"
        )
        loss_args = _update_of(branch.body, metric)
        other_args = _update_of(branch.orelse.body, metric)
        if not is_loss_test or loss_args is None or other_args is None or len(loss_args) != 1 or len(other_args) != 2:
            raise self.unfollowable(statement, why)
        return StepLine("update_all", self.parser.pos(statement), (*loss_args, *other_args))

    def returned(self, value: cst.BaseExpression, pos) -> StepLine:
        if isinstance(value, cst.Name) and value.value in self.results:
            return StepLine("return_results", pos, (value.value,))
        items = self.dict_items(value) if isinstance(value, cst.Dict) else None
        if items is not None and any(not code.endswith(".result()") for _, code in items):
            return StepLine("return_values", pos, items=items)  # `{"d_loss": d_loss, "g_loss": g_loss}`
        if (
            isinstance(value, cst.DictComp)
            and _self_attr(value.for_in.iter) == "metrics"
            and isinstance(value.for_in.target, cst.Name)
        ):
            metric = value.for_in.target.value
            key, result = self.parser.code(value.key).strip(), self.parser.code(value.value).strip()
            if (
                key == f"{metric}.name"
                and result == f"{metric}.result()"
                and not value.for_in.ifs
                and value.for_in.inner_for_in is None
            ):
                return StepLine("return_all", pos)
        if isinstance(value, cst.Dict):
            items = []
            for element in value.elements:
                result = element.value if isinstance(element, cst.DictElement) else None
                key = element.key if result is not None else None
                attr = (
                    _self_attr(result.func.value)
                    if isinstance(result, cst.Call) and isinstance(result.func, cst.Attribute)
                    else None
                )
                if (
                    not isinstance(key, cst.SimpleString)
                    or attr not in self.attrs
                    or result.func.attr.value != "result"
                    or result.args
                ):
                    raise self.unfollowable(value, 'k2t follows a dict of `"name": self.tracker.result()`')
                items.append((key.evaluated_value, attr))
            return StepLine("return", pos, items=tuple(items))
        raise self.unfollowable(
            value, "k2t follows `{m.name: m.result() for m in self.metrics}` or a dict of trackers' results"
        )


def _variables(node: cst.BaseExpression) -> str | None:
    """The trainable variables as a step names them: a variable, or ``self.trainable_variables`` written out."""
    if isinstance(node, cst.Name):
        return node.value
    attr = _self_attr(node)
    return f"self.{attr}" if attr in _TRAINABLES else None


def _names_in(node: cst.CSTNode) -> list[cst.Name]:
    found: list[cst.Name] = []

    class Names(Visitor):
        def visit_Name(self, name: cst.Name) -> None:
            found.append(name)

    node.visit(Names())
    return found


def _update_of(block: cst.BaseSuite, metric: str) -> tuple[str, ...] | None:
    """``metric.update_state(a, b)`` alone in ``block``: the names it passes."""
    body = _body_of(block)
    small = (
        body[0].body[0]
        if len(body) == 1 and isinstance(body[0], cst.SimpleStatementLine) and len(body[0].body) == 1
        else None
    )
    call = small.value if isinstance(small, cst.Expr) else None
    if not (
        isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute) and call.func.attr.value == "update_state"
    ):
        return None
    if not (isinstance(call.func.value, cst.Name) and call.func.value.value == metric):
        return None
    if not all(a.keyword is None and not a.star and isinstance(a.value, cst.Name) for a in call.args):
        return None
    return tuple(a.value.value for a in call.args)


def _self_attr(node: cst.BaseExpression | None) -> str | None:
    if isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name) and node.value.value == "self":
        return node.attr.value
    return None


def _is_super_init(call: cst.BaseExpression) -> bool:
    """``super().__init__(*args, **kwargs)``: the Functional constructor's arguments, passed on."""
    return (
        isinstance(call, cst.Call)
        and isinstance(call.func, cst.Attribute)
        and call.func.attr.value == "__init__"
        and isinstance(call.func.value, cst.Call)
        and isinstance(call.func.value.func, cst.Name)
        and call.func.value.func.value == "super"
    )
