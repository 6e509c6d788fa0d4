"""Functions that build a model around a layer they receive, walked at each call.

``def build_and_compile_model(norm): model = keras.Sequential([norm, ...]); ...; return model``
builds, at each call, a model holding the layer the call passes; what the rest
of that model looks like can depend on it (the input size: Keras sizes the
first Dense from the layer's ``input_shape`` or from the data of the first
fit). So the body is walked once per call, its layer parameters bound to the
layers the call passes and its other parameters left as the parameters they
are; each call gets its own ModelSpec (``ModelSpec.built_by``), and the
translator decides whether one generated class serves every call
(k2t.translate.factory_calls).

A function whose parameter is a model's input shape (keras's mnist_siamese:
``def create_base_network(input_shape): input = Input(shape=input_shape)``)
is walked at each call too: the value the call passes (``x_train.shape[1:]``
of an array whose rank k2t knows, a tuple) says how many sizes the parameter
holds, which a Flatten after the Input does not; the sizes stay
``input_shape[0]``, ``input_shape[1]``, ... read where the function runs.

A function whose model's layers depend on a parameter (``if use_bn:``, ``for _ in range(depth)``,
``enumerate(cfg.units)`` of ``cfg=CFG``, ``rnn = cell(units)`` of ``cell=layers.GRU``: its structure
parameters) is walked at each call too, each parameter holding the value the call gives where k2t knows
it (the code keeps the name): each call's model is the one Keras builds with those arguments, and calls
that build different models are told apart by them (k2t.translate.factory_calls). A loop passing such a
function its variable (``for use_bn in (True, False): m = build(use_bn)``) is walked once per item
(k2t.parse.flow).
"""

from __future__ import annotations

import dataclasses

import libcst as cst

from ..cst_walk import Visitor
from ..ir import FactoryCall, Instance, ShapeOf
from ..values import KerasClass, Namespace, Unknown, is_constant
from .scope import _Helper, _Scope, _Unfollowable
from .syntax import _body_of, _concatenated, _local_names, _parameter_names, read_names


def _followed_argument(value) -> bool:
    """A value a factory's parameter holds at a call that its body may decide on: a number, a string, a tuple of
    them, a settings record (k2t.values.Namespace), a dict of them."""
    if isinstance(value, (Namespace, KerasClass)) or is_constant(value):
        return True
    return isinstance(value, dict) and all(is_constant(k) and _followed_argument(v) for k, v in value.items())


class LayerFactoryMixin:
    """Model factories taking a layer object. Mixed into k2t.parse.parser._Parser."""

    def layer_parameters(self, node: cst.FunctionDef) -> frozenset[str]:
        """The parameters the body puts into a model as layers: ``Sequential([norm, ...])``, ``model.add(norm)``."""
        params = set(_parameter_names(node.params))
        found: set[str] = set()
        parser = self

        class Finder(Visitor):
            def visit_Call(self, call: cst.Call) -> None:
                if parser.keras_name(call.func) == "keras.Sequential":
                    for arg in call.args:
                        if arg.keyword is None or arg.keyword.value == "layers":
                            for part in _concatenated(arg.value):
                                if isinstance(part, (cst.List, cst.Tuple)):
                                    found.update(
                                        el.value.value for el in part.elements if isinstance(el.value, cst.Name)
                                    )
                func = call.func
                if (
                    isinstance(func, cst.Attribute)
                    and func.attr.value == "add"
                    and len(call.args) == 1
                    and isinstance(call.args[0].value, cst.Name)
                ):
                    found.add(call.args[0].value.value)

            def visit_FunctionDef(self, inner) -> bool:
                return False

            def visit_ClassDef(self, inner) -> bool:
                return False

        node.body.visit(Finder())
        return frozenset(found & params)

    def shape_parameters(self, node: cst.FunctionDef) -> frozenset[str]:
        """The parameters the body gives a model as its input shape: ``Input(shape=input_shape)``, ``Input(input_shape)``,
        ``Dense(8, input_shape=input_shape)``. How many sizes they hold is the call's to tell (mnist_siamese's
        ``create_base_network(x_train.shape[1:])``), and a Flatten after the input takes any number."""
        params = set(_parameter_names(node.params))
        found: set[str] = set()
        parser = self

        class Finder(Visitor):
            def visit_Call(self, call: cst.Call) -> None:
                is_input = parser.keras_name(call.func) in ("keras.Input", "keras.layers.Input")
                for index, arg in enumerate(call.args):
                    keyword = arg.keyword.value if arg.keyword is not None else None
                    shaped = keyword in ("input_shape", "batch_input_shape") or (
                        is_input and (keyword == "shape" or (keyword is None and index == 0))
                    )
                    if shaped and isinstance(arg.value, cst.Name):
                        found.add(arg.value.value)

            def visit_FunctionDef(self, inner) -> bool:
                return False

            def visit_ClassDef(self, inner) -> bool:
                return False

        node.body.visit(Finder())
        return frozenset(found & params)

    def structure_parameters(self, node: cst.FunctionDef) -> frozenset[str]:
        """The parameters of a function that builds a model which decide what the model holds: read by an `if`
        (``if use_bn:``) or a conditional expression's test, iterated over (``for _ in range(depth)``,
        ``enumerate(cfg.units)``), or called (``cell(units)``, a layer class), here or in a function it defines
        (a closure walked where it is called)."""
        if isinstance(node.params.star_arg, cst.Param) or node.params.star_kwarg is not None:
            return frozenset()  # k2t follows calls by named parameters only
        params = set(_parameter_names(node.params))
        found: set[str] = set()
        builds = False
        parser = self

        def read(expression: cst.CSTNode | None) -> None:
            if expression is not None:
                found.update(read_names(expression) & params)

        class Finder(Visitor):
            def visit_Call(self, call: cst.Call) -> None:
                nonlocal builds
                if parser.keras_name(call.func) in ("keras.Sequential", "keras.Model"):
                    builds = True
                if isinstance(call.func, cst.Name) and call.func.value in params:
                    found.add(call.func.value)

            def visit_If(self, branch: cst.If) -> None:
                read(branch.test)

            def visit_IfExp(self, expression: cst.IfExp) -> None:
                read(expression.test)

            def visit_For(self, loop: cst.For) -> None:
                read(loop.iter)

            def visit_CompFor(self, loop: cst.CompFor) -> None:
                read(loop.iter)

            def visit_ClassDef(self, inner) -> bool:
                return False

        node.body.visit(Finder())
        return frozenset(found) if builds else frozenset()

    def define_layer_factory(self, stmt: cst.FunctionDef, scope: _Scope) -> bool:
        """Register ``stmt`` to be walked at each call when it puts a parameter into a model as a layer, gives
        one as a model's input shape (whose number of sizes the call tells), or decides the model's layers on
        one (k2t.parse.layer_factories.structure_parameters): each call builds the model its arguments make."""
        layer_params = self.layer_parameters(stmt)
        structure = self.structure_parameters(stmt) - layer_params
        if not layer_params and not self.shape_parameters(stmt) and not structure:
            return False
        self.script.function_locals[stmt.name.value] = _local_names(self.code(stmt))
        factory = _Helper(stmt, scope, layer_params)  # its graph parameters are the layers it receives
        factory.structure_parameters = structure
        for param in [*stmt.params.params, *stmt.params.kwonly_params, *stmt.params.posonly_params]:
            # `def make_rnn(cell=layers.GRU)`: the class stays the default, as torch's class of its name.
            default = param.default if param.name.value in structure else None
            if default is not None and isinstance(self.evaluate(default, scope)[0], KerasClass):
                self.class_values(self.last_classes, stmt)
        scope.layer_factories[stmt.name.value] = factory
        self.layer_factories.append(factory)
        scope.env.forget([stmt.name.value], f"`{stmt.name.value}` is a function")
        return True

    def layer_factory_call(self, line, target: str, call: cst.Call, scope: _Scope) -> bool:
        """``dnn_model = build_and_compile_model(normalizer)``: the model this call builds. True when handled."""
        if not isinstance(call.func, cst.Name):
            return False
        factory = scope.layer_factory(call.func.value)
        if factory is None:
            return False
        inner = _Scope(factory.scope, factory.name)
        inner.per_call = factory.name
        shape_parameters = self.shape_parameters(factory.node)
        arguments: list[tuple[str, object]] = []
        for name, (expr, where) in self.helper_arguments(call, factory, scope).items():
            if name in factory.graph_parameters:
                self.bind_layer_parameter(inner, name, expr, where, factory)
                continue
            # As where the function is defined: the parameter stays a name in the code the body
            # makes (`Net(units=units)` inside the function), read when the function runs.
            value = self.evaluate(expr, where)[0] if name not in shape_parameters else Unknown("a shape")
            if where is scope:
                if isinstance(value, KerasClass):
                    self.class_values(self.last_classes, line)  # `make_rnn(layers.LSTM)`
                self.scan_expressions(line, expr, scope)
            inner.tensors[name] = None
            if _followed_argument(value):
                # `build(True)`, `build_model(units=16, depth=3)`, `build_model()` with `cfg=CFG`: what the body
                # decides its layers on, as this call gives it.
                inner.env.bind(name, value)
                arguments.append((name, value))
                if isinstance(value, KerasClass):
                    inner.layer_classes[name] = value.name  # `rnn = cell(units)`
                continue
            # Its sizes are `name[0]`, `name[1]`, ...; how many, the value the call passes says (`(28, 28)`,
            # `x_train.shape[1:]` of an array whose rank k2t knows).
            sizes = self.sequence_length(expr, where)
            reason = f"a parameter of {factory.name}()"
            if isinstance(value, Unknown) and name not in shape_parameters:
                reason = f"`{self.code(expr).strip()}`, passed to {factory.name}(), is not a value k2t knows ({value.reason})"
            inner.env.bind(name, Unknown(reason, shape=ShapeOf(name, 0, sizes, sequence=True)))
        self.consumed.update((id(call), id(call.func)))
        frames, self.frames = self.frames, []  # the body's own loops and branches, not the caller's
        self.iteration = (*self.iteration, ("call", id(call)))  # its layers are new at each call, as in Keras
        try:
            self.block(_body_of(factory.node.body), inner)
        finally:
            self.iteration = self.iteration[:-1]
            self.frames = frames
        factory.inlined += 1
        made = inner.factories.pop(factory.name, None)
        if made is None:
            raise _Unfollowable(call, f"{factory.name}() does not return a model k2t can follow here")
        made.model.built_by = FactoryCall(
            call, factory.node, self.pos(call), tuple(arguments), factory.structure_parameters
        )
        top = scope.parent is None  # a call at the module's level: its arguments hold there
        scope.models[target] = Instance(
            made.model, made.compile, made_by=call if top else None, made_at=line if top else None
        )
        return True

    def sequence_length(self, expr: cst.BaseExpression, where: _Scope) -> int | None:
        """How many items the argument holds when the script runs, where k2t knows: a tuple's, or an array
        shape's slice (``x_train.shape[1:]``) of known rank; None otherwise."""
        value, _ = self.evaluate(expr, where)
        if isinstance(value, (tuple, list)):
            return len(value)
        shape = value.shape if isinstance(value, Unknown) else None
        return shape.length if shape is not None else None

    def bind_layer_parameter(
        self, inner: _Scope, name: str, expr: cst.BaseExpression, where: _Scope, factory: _Helper
    ) -> None:
        """The layer object the call passes for ``name``, known in the body by the parameter's name.

        Passing it to a function is a use outside the model: the torch module
        is built where the script builds the layer and handed to the model's
        constructor under the parameter's name (``Net(norm=norm)``), which is
        what the function's one construction line can say at every call.
        """
        held = where.layer_object(expr.value) if isinstance(expr, cst.Name) else None
        model = where.model(expr.value) if isinstance(expr, cst.Name) and held is None else None
        if model is not None:
            # `define_gan(generator, discriminator)`: a model the body nests in the one it builds (and may freeze),
            # known in the body by the parameter's name.
            inner.models[name] = model
            inner.env.forget([name], "a Keras model")
            return
        if held is None:
            raise _Unfollowable(
                expr,
                f"{factory.name}() puts its parameter `{name}` into a model as a layer, and `{self.code(expr)}` is no layer "
                "k2t follows here; k2t follows a layer built in a variable (`norm = layers.Normalization(...)`) and passed by its name",
            )
        layer, layer_id, statement = held
        self.layer_object_used(expr, where)
        bound = dataclasses.replace(layer.bound, var=name) if layer.bound is not None else None
        inner.layer_objects[name] = (dataclasses.replace(layer, bound=bound), layer_id, statement)
        inner.env.forget([name], "a Keras layer")

    def walk_uncalled_layer_factories(self) -> None:
        """A layer factory never called where k2t could follow it: its body is walked as ordinary code (and reported)."""
        for factory in self.layer_factories:
            if not factory.inlined:
                self.walk_definition(factory.node, factory.scope)
