"""Subclassed models: ``class MyModel(keras.Model)`` with its layers made in ``__init__`` and applied in ``call``.

Keras builds such a model at its first call; its architecture is the layers ``__init__`` assigns to
``self`` and the order ``call`` applies them in. k2t follows the ``call`` body as a Functional graph
(the same IR as ``keras.Model(inputs, outputs)``): each ``self.attr`` is one layer object, so an
attribute applied twice is one shared layer, as in Keras. The input's sizes come from the first
array the model sees (``fit`` / ``predict`` / ``evaluate`` / ``model(x)``) as constructor parameters
(``x_train.shape[1:]``), or from ``model.build((None, n))``.

The class is found where it is defined (``model_class``); its body is not walked there, as its
methods run only when Keras builds the model. Where the script makes an instance (``model = MyModel()``)
the graph is built and the class statement is dropped: the generated ``nn.Module`` takes its name.
Anything outside straight-line layer calls (control flow, ``train_step``, layers made in ``build``,
attributes other than layers) is an _Unfollowable at that construct: a K2T103, never a different model.
"""

from __future__ import annotations

import ast
import builtins
import dataclasses
import operator
import re
from dataclasses import dataclass, field

import libcst as cst

from ..cst_walk import Visitor, bare_names
from ..ir import OP_EXPRESSION, Graph, Instance, KerasCall, ModelSpec, OpExpression, ShapeOf, TensorNode, Todo, Value
from ..values import ArgumentSize, Unknown, assigned_names, declared_global, is_constant, made_shape
from .graph import _graph_nodes
from .scope import _Scope, _Unfollowable
from .syntax import (
    _TENSOR_OPERATORS,
    MADE_ARRAYS,
    MERGE_FUNCTIONS,
    _body_of,
    _mark_subtree,
    is_docstring,
    lone_call,
    read_names,
)
from .train_step import STEP_METHODS, overrides_steps

_MODEL_BASES = frozenset({"keras.Model", "keras.models.Model", "keras.engine.training.Model"})
# Methods Keras calls on its own that change what the model computes or how it trains.
_OVERRIDES_NOT_FOLLOWED = (
    "train_step",
    "test_step",
    "predict_step",
    "build",
    "compute_loss",
    "compute_metrics",
    "reset_metrics",
    "get_metrics_result",
    "compile",
)
# The model's first use on data: its first positional argument fixes the input's sizes.
_DATA_METHODS = frozenset({"fit", "predict", "evaluate", "train_on_batch", "predict_on_batch", "test_on_batch"})


class SubclassedMixin:
    """``class M(keras.Model)`` and ``m = M()``. Mixed into k2t.parse.parser._Parser."""

    def model_class(self, stmt: cst.ClassDef, scope: _Scope) -> bool:
        """Record a top-level class whose one base is keras.Model; True when it is one."""
        if scope.parent is not None or len(stmt.bases) != 1 or stmt.keywords:
            return False
        base = stmt.bases[0]
        if base.keyword is not None or base.star or self.keras_name(base.value) not in _MODEL_BASES:
            return False
        self.script.model_classes[stmt.name.value] = stmt
        return True

    def subclassed_instance(self, line, small, scope: _Scope) -> bool:
        """``model = MyModel(...)``: the model's graph, followed through its ``call``."""
        if not (
            isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name)
        ):
            return False
        value = small.value
        if not (
            isinstance(value, cst.Call)
            and isinstance(value.func, cst.Name)
            and value.func.value in self.script.model_classes
        ):
            return False
        node = self.script.model_classes[value.func.value]
        try:
            self._subclassed_instance(line, small, value, node, scope)
        except _Unfollowable as exc:
            self._class_stays(node, line, exc)
            raise
        return True

    def built_on_keras_input(self, statement, node: cst.BaseExpression, scope: _Scope) -> bool:
        """``outputs = model(inputs)`` of ``inputs = keras.Input(shape=(2,))`` and a keras.Model subclass (keras.io's
        collaborative filtering): Keras builds the model on the Input (k2t.parse.subclassed reads its input shape
        there) and computes nothing. The torch module is built at construction, so this line and the Input's go,
        unless the script reads either tensor elsewhere (then the Input is a K2T103 there). True when handled."""
        if scope.parent is not None or not (
            isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and len(node.args) == 1
        ):
            return False
        instance = scope.model(node.func.value)
        data = node.args[0].value
        tensor = _keras_input(data, scope) if node.args[0].keyword is None else None
        if (
            instance is None
            or tensor is None
            or tensor.statement is None
            or instance.model.factory not in self.script.model_classes
            or scope.tensor(node.func.value) is not None
        ):
            return False
        small = (
            statement.body[0] if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1 else None
        )
        names = {data.value}
        if isinstance(small, cst.Assign) and small.value is node and len(small.targets) == 1:
            if not isinstance(small.targets[0].target, cst.Name):
                return False
            names.add(small.targets[0].target.value)
        elif not (isinstance(small, cst.Expr) and small.value is node):
            return False
        made = tensor.statement
        if not (
            isinstance(made, cst.SimpleStatementLine)
            and len(made.body) == 1
            and isinstance(made.body[0], cst.Assign)
            and len(made.body[0].targets) == 1
            and isinstance(made.body[0].targets[0].target, cst.Name)
            and made.body[0].targets[0].target.value == data.value
        ):
            return False  # the Input's line binds more than the Input: it stays, with the diagnostics it gets
        model_class = self.script.model_classes[instance.model.factory]
        if _mentioned_outside(self.module, names, (statement, tensor.statement, model_class)):
            return False
        _mark_subtree(node, self.consumed)
        self.script.removed.add(id(statement))
        self.script.removed.add(id(tensor.statement))
        return True

    def _class_stays(self, node: cst.ClassDef, line, exc: _Unfollowable) -> None:
        """The class of a model k2t did not translate stays as written: its Keras names follow from the
        construct k2t reports, which is the one to act on (not a "keras.layers.Dense is not translated" per layer)."""
        at = self.pos(line)[0]  # `model = MyModel(...)`, as the lines that use the model say
        self.script.classes_left.add(id(node))
        message = (
            f"follows from line {at}, which k2t did not translate: {node.name.value} stays a Keras model as written"
        )
        if not any(todo.statement is node and todo.follows == at for todo in self.script.todos):
            self.script.todos.append(Todo(node, "K2T103", message, self.pos(node), follows=at))

    def _subclassed_instance(self, line, small: cst.Assign, value: cst.Call, node: cst.ClassDef, scope: _Scope) -> None:
        if scope.parent is not None:
            raise _Unfollowable(
                value,
                f"{value.func.value}() made inside a function is not translated (k2t follows a subclassed model made at the top level)",
            )
        target = small.targets[0].target.value
        if overrides_steps(node) and not _defines(node, "call") and not _takes_named_parameters(node):
            self.stepped_model(
                line, target, value, node, scope
            )  # the keras.io guide's Functional subclass (k2t.parse.train_step)
            return
        model = self.subclassed_model(line, target, value, node, scope)
        if overrides_steps(node):
            model.steps = self.step_spec(
                node,
                self._step_objects_of_call_model,
                scope,
                tuple(self._step_submodels_of_call_model),
                self._step_constants_of_call_model,
            )
        scope.models[target] = Instance(model)
        self.script.removed.add(id(node))  # the generated module of the same name takes its place

    def subclassed_model(self, line, target: str, call: cst.Call, node: cst.ClassDef, scope: _Scope) -> ModelSpec:
        self.script.uses_keras = True
        methods = {s.name.value: s for s in _body_of(node.body) if isinstance(s, cst.FunctionDef)}
        stepped = overrides_steps(node)  # its train_step/test_step are read after the graph (k2t.parse.train_step)
        for name in _OVERRIDES_NOT_FOLLOWED:
            if name in methods and not (stepped and name in (*STEP_METHODS, "compile")):
                raise _Unfollowable(
                    methods[name],
                    f"{node.name.value}.{name}() overrides Keras's; a subclassed model with {name}() is not translated",
                )
        composite = "call" not in methods and stepped  # keras.io's Distiller and GAN: models composed by the steps
        if "call" not in methods and not stepped:
            raise _Unfollowable(node, f"{node.name.value} has no call() method to translate")
        inner = _Scope(scope, None)
        self._bind_init_arguments(call, methods.get("__init__"), node, inner, scope)
        attributes = self._init_layers(methods.get("__init__"), node, inner)
        if composite:
            graph = self._composite_graph(node, attributes, line)
        else:
            inputs, training = self._call_parameters(methods["call"], node)
            source = TensorNode(
                inputs,
                self.pos(methods["call"].params),
                None,
                id(node),
                input_shape=self._input_shape(line, target, node, scope),
                statement=line,
            )
            walker = _CallWalker(self, node.name.value, attributes, source, training, line, inner)
            output = walker.walk(methods["call"])
            source.input_shape = _declared_by_nested_model(source, output) or _last_axis_if_dense(source, output)
            graph = Graph([source], [output], _graph_nodes([source], [output]), False)
        self.consumed.add(id(call))
        self.consumed.add(id(call.func))
        model = ModelSpec(
            var=target,
            pos=self.pos(call),
            call=KerasCall("keras.Model", (), (("name", _keras_model_name(node, self.pos(call))),), self.pos(call)),
            statement=line,
            graph=graph,
        )
        model.without_call = composite
        model.factory = node.name.value  # names the generated class after the script's
        model.creation_order = tuple(identity for _, identity in attributes.layers.values())
        self.script.models.append(model)
        return model

    def _composite_graph(self, node: cst.ClassDef, attributes: _Attributes, line) -> Graph:
        """A subclass without call() whose steps compose the models given to __init__ (keras.io's
        ``Distiller(student, teacher)``, ``GAN(discriminator, generator, latent_dim)``): Keras cannot call it, and
        the module has no forward(); each model it holds is a submodule, shown here as applied to an input of
        its own (the module's constructor takes them as the VAE's does)."""
        held = list(self._step_submodels_of_call_model)
        layers_made = [attr for attr in attributes.layers if attr not in held]
        if not held or layers_made or attributes.containers:
            where = layers_made[0] if layers_made else node.name.value
            raise _Unfollowable(
                node,
                f"{node.name.value} has no call(); k2t translates such a subclass when its __init__ keeps models of the "
                f"script its steps call (`self.student = student`), not layers of its own (`{where}`)",
            )
        sources, outputs = [], []
        for attr in held:
            made, identity = attributes.layers[attr]
            nested = made.model
            graph = nested.graph
            shape = (
                graph.inputs[0].input_shape
                if graph is not None and len(graph.inputs) == 1
                else nested.input_shape
                if graph is None
                else None
            )
            if shape is None or shape.elements is None:
                raise _Unfollowable(
                    node,
                    f"`self.{attr}` of {node.name.value}: k2t translates a model held without call() when it is built on a keras.Input of known shape",
                )
            source = TensorNode(
                f"{attr}_inputs", self.pos(node), None, hash((id(node), attr)), input_shape=shape, statement=line
            )
            sources.append(source)
            first = self.made(TensorNode(attr, made.pos, made, identity, (source,), statement=line))
            count = len(graph.outputs) if graph is not None else 1
            if count > 1:  # `z_mean, z_log_var = self.encoder(x)`: one tensor per output, as call() unpacks them
                first.unpacked = tuple(f"{attr}_{index}" for index in range(count))
                first.var, first.output_index = first.unpacked[0], 0
            outputs.append(first)
            outputs.extend(
                self.made(dataclasses.replace(first, var=name, output_index=index))
                for index, name in enumerate(first.unpacked[1:], 1)
            )
        return Graph(sources, outputs, _graph_nodes(sources, outputs), False)

    def _bind_init_arguments(
        self, call: cst.Call, init: cst.FunctionDef | None, node: cst.ClassDef, inner: _Scope, scope: _Scope
    ) -> None:
        """``MyModel(num_classes=10)``: the values __init__'s parameters hold, which its layers' arguments read."""
        if init is None:
            if call.args:
                raise _Unfollowable(call, f"{node.name.value}() takes no arguments without an __init__")
            return
        params = init.params
        forwarded = params.star_kwarg is not None and _only_forwarded_to_base(init, params.star_kwarg.name.value)
        if isinstance(params.star_arg, cst.Param) or (params.star_kwarg is not None and not forwarded):
            raise _Unfollowable(
                init, f"{node.name.value}.__init__ takes *args or **kwargs; k2t follows named parameters"
            )
        positional = [p for p in (*params.posonly_params, *params.params)][1:]  # after self
        by_name = {p.name.value: p for p in (*positional, *params.kwonly_params)}
        given: dict[str, tuple[cst.BaseExpression, _Scope]] = {}
        for index, arg in enumerate(call.args):
            if (
                forwarded
                and arg.keyword is not None
                and arg.keyword.value in _MODEL_KEYWORDS
                and arg.keyword.value not in by_name
            ):
                continue  # `**kwargs` handed to keras.Model's __init__: its name, which changes no computation
            if (
                arg.star
                or (arg.keyword is None and index >= len(positional))
                or (arg.keyword is not None and arg.keyword.value not in by_name)
            ):
                raise _Unfollowable(
                    arg, f"`{self.code(arg).strip()}` does not bind a parameter of {node.name.value}.__init__"
                )
            name = positional[index].name.value if arg.keyword is None else arg.keyword.value
            given[name] = (arg.value, scope)
        for name, param in by_name.items():
            if name not in given:
                if param.default is None:
                    raise _Unfollowable(
                        call, f"{node.name.value}() is missing its argument `{name}` (Python refuses it too)"
                    )
                given[name] = (param.default, scope)
        for name, (expr, where) in given.items():
            if isinstance(expr, cst.Name) and where.model(expr.value) is not None:
                # `Classifier(backbone)`: a model of the script, which __init__ keeps as a nested model (shared, as
                # in Keras: training the outer model trains it).
                inner.models[name] = where.model(expr.value)
                inner.caller_names[name] = expr.value
                continue
            known, transient = self.evaluate(expr, where)
            if isinstance(known, Unknown) and not transient and self._known_at_run_time(expr, known, where):
                # `RecommenderNet(num_users)` of `num_users = len(user2user_encoded)`: a size the script computes
                # when it runs. A layer's size argument reads it as the script's code at this line (a constructor
                # parameter of the generated module, passed here); anything that needs its value (an `if`, a
                # `range()`, arithmetic) leaves that construct unknown, a located K2T103.
                inner.env.bind(name, ArgumentSize(self.code(expr).strip(), self.last_bindings, name), transient=True)
                continue
            if isinstance(known, Unknown) or not is_constant(known):
                raise _Unfollowable(
                    expr, f"`{self.code(expr).strip()}`, passed to {node.name.value}(), is not a value k2t knows"
                )
            inner.env.bind(name, known, transient=True)  # the layers' arguments are written with the value

    def _known_at_run_time(self, expr: cst.BaseExpression, known: Unknown, where: _Scope) -> bool:
        """A plain value the script computes when it runs (not an array, nor a Keras object, tensor or layer, whose
        code would not mean the same in the torch script)."""
        if known.rank is not None or known.shape is not None or isinstance(expr, cst.Lambda):
            return False
        keras_objects = []

        class Reads(Visitor):
            def visit_Name(self, name: cst.Name) -> None:
                keras_objects.append(name)

            def visit_Attribute(self, attribute: cst.Attribute) -> None:
                keras_objects.append(attribute)

        expr.visit(Reads())
        return not any(
            self.keras_name(read) is not None
            or (
                isinstance(read, cst.Name)
                and (
                    where.tensor(read.value) is not None
                    or where.tensor_list(read.value) is not None
                    or where.binding(read.value) is not None
                    or where.layer_object(read.value) is not None
                    or where.model(read.value) is not None
                    or read.value in self.script.model_classes
                    or read.value in self.script.layer_classes
                )
            )
            for read in keras_objects
        )

    def _init_layers(self, init: cst.FunctionDef | None, node: cst.ClassDef, inner: _Scope) -> _Attributes:
        """``self.dense1 = layers.Dense(32)`` in __init__, also in lists (``[layers.Dense(8) for _ in range(3)]``)
        and dicts of layers, and attributes holding values k2t knows (``self.use_dropout = use_dropout``),
        which call() may decide an ``if`` on."""
        attributes = _Attributes()
        self._step_objects_of_call_model = []  # keras.metrics / keras.losses objects beside the layers (train_step)
        self._step_submodels_of_call_model = []  # the models passed in, which a train_step may call (VAE's encoder)
        for statement in _body_of(init.body) if init is not None else ():
            if is_docstring(statement) or _is_super_init(statement):
                continue
            small = (
                statement.body[0]
                if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1
                else None
            )
            assigned = _self_attribute_assignment(small)
            if assigned is None:
                raise _Unfollowable(
                    statement,
                    f"`{self.code(statement).strip()}` in {node.name.value}.__init__ is not translated (k2t follows `self.name = layers.X(...)`)",
                )
            attr, value = assigned
            name = self.keras_name(value.func) if isinstance(value, cst.Call) else None
            if name is not None and name.startswith(("keras.metrics.", "keras.losses.")) and overrides_steps(node):
                self._step_objects_of_call_model.append((attr, self.value(value, inner)))
                continue
            if isinstance(value, (cst.List, cst.Tuple, cst.ListComp)):
                keys = []
                for index, (layer, identity) in enumerate(self._layer_list(attr, value, node, inner)):
                    keys.append(f"{attr}[{index}]")
                    attributes.layers[keys[-1]] = (layer, identity)
                attributes.containers[attr] = keys
                continue
            if isinstance(value, cst.Dict):
                attributes.containers[attr] = self._layer_dict(attr, value, node, inner, attributes)
                continue
            if self._is_layer(value):
                made = self.call(value, self.keras_name(value.func), inner)
                attributes.layers[attr] = (dataclasses.replace(made, attribute=attr), id(value))
                continue
            if isinstance(value, cst.Name) and value.value in inner.models:
                # `self.backbone = backbone`: the model the caller passed, one submodule however often it is kept.
                made = self.nested_model(value, inner)
                attributes.layers[attr] = (dataclasses.replace(made, attribute=attr), id(made.model))
                self._step_submodels_of_call_model.append(attr)
                continue
            known, _ = self.evaluate(value, inner)
            if isinstance(known, ArgumentSize) or any(isinstance(b.value, ArgumentSize) for b in self.last_bindings):
                # `self.min_rating = min_rating`: a value known when the script runs, kept as Keras keeps it; call()
                # reading it is a located K2T103 there (k2t decides nothing on it).
                attributes.run_time.add(attr)
                continue
            if isinstance(known, Unknown) or not is_constant(known):
                raise _Unfollowable(
                    value,
                    f"`self.{attr} = {self.code(value).strip()}` in {node.name.value}.__init__ is not translated (k2t follows Keras layers made there, and values it knows)",
                )
            attributes.constants[attr] = known
        # the numbers __init__ keeps (`self.latent_dim = latent_dim`), which a train_step may read
        self._step_constants_of_call_model = {
            attr: value
            for attr, value in attributes.constants.items()
            if isinstance(value, (int, float)) and not isinstance(value, bool)
        }
        return attributes

    def _is_layer(self, value: cst.BaseExpression) -> bool:
        name = self.keras_name(value.func) if isinstance(value, cst.Call) else None
        return name is not None and name.startswith("keras.layers.") and name.rsplit(".", 1)[-1][:1].isupper()

    def _layer_list(
        self, attr: str, value: cst.BaseExpression, node: cst.ClassDef, inner: _Scope
    ) -> list[tuple[KerasCall, int]]:
        """The layers of ``[layers.Dense(8), layers.Dense(4)]`` or ``[layers.Dense(n) for n in sizes]`` (an
        iterable k2t knows), each a layer object of its own."""
        refused = _Unfollowable(
            value,
            f"`self.{attr} = {self.code(value).strip()}` in {node.name.value}.__init__: k2t follows a list of layer calls, or a comprehension of one over values it knows",
        )
        if isinstance(value, (cst.List, cst.Tuple)):
            elements = [e.value for e in value.elements]
            if not all(isinstance(e, cst.Element) for e in value.elements) or not all(
                self._is_layer(e) for e in elements
            ):
                raise refused
            return [(self.call(e, self.keras_name(e.func), inner), id(e)) for e in elements]
        if value.for_in.inner_for_in is not None or value.for_in.ifs or value.for_in.asynchronous:
            raise refused
        target = value.for_in.target
        known, _ = self.evaluate(value.for_in.iter, inner)
        if isinstance(known, Unknown) and any(isinstance(b.value, ArgumentSize) for b in self.last_bindings):
            raise _Unfollowable(value, f"{refused.message}: {known.reason}")  # `range(num_users)`
        if not isinstance(target, cst.Name) or not self._is_layer(value.elt) or isinstance(known, Unknown):
            raise refused
        try:
            items = list(known)
        except TypeError:
            raise refused from None
        layers = []
        for index, item in enumerate(items):
            if not is_constant(item):
                raise refused
            inner.env.bind(target.value, item, transient=True)
            # One cst node makes a new layer object per iteration: its identity is the node's with the index.
            layers.append((self.call(value.elt, self.keras_name(value.elt.func), inner), hash((id(value.elt), index))))
        return layers

    def _layer_dict(
        self, attr: str, value: cst.Dict, node: cst.ClassDef, inner: _Scope, attributes: _Attributes
    ) -> list[str]:
        keys = []
        for element in value.elements:
            key = self.evaluate(element.key, inner)[0] if isinstance(element, cst.DictElement) else None
            if not isinstance(key, str) or not self._is_layer(element.value):
                raise _Unfollowable(
                    value,
                    f"`self.{attr}` in {node.name.value}.__init__: k2t follows a dict of layer calls under string keys",
                )
            keys.append(f"{attr}[{key!r}]")
            attributes.layers[keys[-1]] = (
                self.call(element.value, self.keras_name(element.value.func), inner),
                id(element.value),
            )
        return keys

    def _call_parameters(self, method: cst.FunctionDef, node: cst.ClassDef) -> tuple[str, str | None]:
        """``call(self, inputs, training=None)``: the input's name and the training flag's, if any."""
        params = method.params
        named = [*params.posonly_params, *params.params]
        if (
            len(named) == 4
            and named[3].name.value == "mask"
            and isinstance(named[3].default, cst.Name)
            and named[3].default.value == "None"
            and "mask" not in bare_names(method.body)
        ):
            # `call(self, inputs, training=None, mask=None)`, Keras's full signature, the mask never read: a model
            # called without one (fit, predict, model(x)) gets None there.
            named = named[:3]
        if (
            isinstance(params.star_arg, cst.Param)
            or params.star_kwarg is not None
            or params.kwonly_params
            or not 2 <= len(named) <= 3
        ):
            raise _Unfollowable(
                method.params,
                f"{node.name.value}.call takes (self, inputs) or (self, inputs, training=None); other signatures are not translated",
            )
        training = named[2].name.value if len(named) == 3 else None
        if training is not None and training != "training":
            raise _Unfollowable(named[2], f"{node.name.value}.call's third parameter `{training}` is not `training`")
        return named[1].name.value, training

    def _input_shape(self, line, target: str, node: cst.ClassDef, scope: _Scope) -> Value:
        """The input's sizes: from ``target.build((None, n))`` or the first array given to the model."""
        use = _first_use(self.module, target)
        if use is None:
            raise _Unfollowable(
                node,
                f"no call of `{target}` on data (fit, predict, evaluate, `{target}(x)`) or `{target}.build(...)` tells the input shape of {node.name.value}",
            )
        method, array = use
        if method == "build":
            if not (isinstance(array, (cst.Tuple, cst.List)) and len(array.elements) >= 2):
                raise _Unfollowable(array, f"`{target}.build({self.code(array)})` is not a literal shape (None, ...)")
            sizes = [self.value(el.value, scope) for el in array.elements[1:]]
            if not all(isinstance(size.literal, int) for size in sizes):
                raise _Unfollowable(
                    array, f"`{target}.build({self.code(array)})`: k2t follows literal sizes after the batch axis"
                )
            code = "(" + ", ".join(size.code for size in sizes) + ",)"
            return Value(code, self.pos(array), tuple(size.literal for size in sizes), elements=tuple(sizes))
        made = self._made_shape(array, scope)
        if made is not None:
            return made
        declared = _keras_input(array, scope) if method == "call" else None
        if declared is not None and declared.input_shape is not None:
            # `outputs = model(inputs)` of `inputs = keras.Input(shape=(2,))`: Keras builds the model on the Input.
            return declared.input_shape
        if not isinstance(array, cst.Name):
            raise _Unfollowable(
                array,
                f"the input shape of {node.name.value} is read from `{self.code(array)}`; k2t follows an array held in a name",
            )
        made = self._made_after(line, array, scope)
        if made is not None:
            return made
        for statement in self.module.body:
            between = self.pos(line)[0] < self.pos(statement)[0] < self.pos(array)[0]
            if between and array.value in assigned_names(statement):
                # The module is built at `model = MyModel()`, with the array as it is there.
                raise _Unfollowable(
                    array,
                    f"`{array.value}` is rebound between `{target} = {node.name.value}(...)` and this use, which gives its input shape",
                )
        known, _ = self.evaluate(array, scope)
        if not isinstance(known, Unknown) or scope.env.names.get(array.value) is None:
            raise _Unfollowable(
                array,
                f"`{array.value}` is not an array bound before `{target} = {node.name.value}(...)`, whose input shape it gives",
            )
        return Value(f"{array.value}.shape[1:]", self.pos(array), shape_of=ShapeOf(array.value, 1, known.rank))

    def _made_after(self, line, array: cst.Name, scope: _Scope) -> Value | None:
        """``model = MyModel()`` then ``x = np.random.random((50000, 128))`` and ``model.fit(x, ...)``: the array's
        shape is written in the script, so it holds before the array exists; the model is built with its sizes.
        None unless the last top-level statement that binds the name before this use is such an assignment (at
        the module's level, outside any function) of sizes that read no name rebound since the model's line."""
        at = self.pos(array)[0]
        before = [statement for statement in self.module.body if self.pos(statement)[0] <= at]
        if not before or isinstance(before[-1], (cst.FunctionDef, cst.ClassDef)):
            return None  # the use is in a function: its `x` may be a parameter or a local
        binding = next((s for s in reversed(before) if array.value in assigned_names(s)), None)
        if binding is None or self.pos(binding)[0] <= self.pos(line)[0] or binding is before[-1]:
            return None
        small = binding.body[0] if isinstance(binding, cst.SimpleStatementLine) and len(binding.body) == 1 else None
        if not (
            isinstance(small, cst.Assign)
            and len(small.targets) == 1
            and isinstance(small.targets[0].target, cst.Name)
            and isinstance(small.value, cst.Call)
        ):
            return None
        between = [s for s in self.module.body if self.pos(line)[0] < self.pos(s)[0] < self.pos(binding)[0]]
        if any(read_names(small.value) & assigned_names(s) for s in between):
            return None  # a size the script changes after the model's line: its value there is not the array's
        shape = made_shape(small.value, scope.env)
        if shape is None or len(shape) < 2:
            return None
        sizes = shape[1:]
        code = "(" + ", ".join(str(size) for size in sizes) + ",)"
        elements = tuple(Value(str(size), self.pos(small.value), size) for size in sizes)
        return Value(code, self.pos(small.value), sizes, elements=elements)

    def _made_shape(self, array: cst.BaseExpression, scope: _Scope) -> Value | None:
        """The sizes after the batch of ``tf.zeros((1, 28, 28, 1))`` and the like, when they are literals."""
        if not isinstance(array, cst.Call) or self.keras_name(array.func) not in MADE_ARRAYS or not array.args:
            return None
        shape = array.args[0]
        if shape.keyword not in (None,) and shape.keyword.value != "shape":
            return None
        if not isinstance(shape.value, (cst.Tuple, cst.List)) or len(shape.value.elements) < 2:
            return None
        sizes = [self.value(el.value, scope) for el in shape.value.elements[1:]]
        if not all(isinstance(size.literal, int) for size in sizes):
            return None
        code = "(" + ", ".join(size.code for size in sizes) + ",)"
        return Value(code, self.pos(shape.value), tuple(size.literal for size in sizes), elements=tuple(sizes))


@dataclass
class _Attributes:
    """What __init__ assigns to self: layers (by key: ``dense1``, ``blocks[0]``, ``heads['a']``), the keys of
    each list or dict of layers, and the values k2t knows of other attributes."""

    layers: dict[str, tuple[KerasCall, int]] = field(default_factory=dict)
    containers: dict[str, list[str]] = field(default_factory=dict)
    constants: dict[str, object] = field(default_factory=dict)
    run_time: set[str] = field(default_factory=set)  # attributes holding a value passed in that k2t does not know


class _CallWalker:
    """The body of ``call`` as Functional tensors: layer calls, +, -, * of tensors, ``for block in self.blocks``
    unrolled over the layers __init__ made, and ``if`` decided on values k2t knows (``self.use_dropout``)."""

    def __init__(
        self,
        parser,
        class_name: str,
        attributes: _Attributes,
        source: TensorNode,
        training: str | None,
        line,
        scope: _Scope,
    ):
        self.parser = parser
        self.scope = scope  # __init__'s parameters, which a merge layer made in call() may read
        self.class_name = class_name
        self.attributes = attributes
        self.tensors: dict[str, TensorNode] = {source.var: source}
        self.aliases: dict[str, str] = {}  # loop variable -> the layer's key (`for block in self.blocks`)
        self.training = training
        self.line = line

    def walk(self, method: cst.FunctionDef) -> TensorNode:
        returned = self.block(_body_of(method.body))
        if returned is None:
            raise self.unfollowable(method, f"{self.class_name}.call returns no tensor k2t can follow")
        return returned

    def block(self, statements) -> TensorNode | None:
        """Walk ``statements``; the returned tensor when one returns (the statements after it never run)."""
        for statement in statements:
            if is_docstring(statement):
                continue
            if isinstance(statement, cst.For):
                returned = self.loop(statement)
            elif isinstance(statement, cst.If):
                returned = self.branch(statement)
            else:
                returned = self.simple(statement)
            if returned is not None:
                return returned
        return None

    def simple(self, statement) -> TensorNode | None:
        small = (
            statement.body[0] if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1 else None
        )
        if isinstance(small, cst.Return) and small.value is not None:
            return self.tensor(small.value, "outputs")
        if isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name):
            target = small.targets[0].target.value
            self.tensors[target] = self.tensor(small.value, target)
            return None
        if isinstance(small, cst.Assign) and len(small.targets) == 1 and self.unpacked(small):
            return None
        raise self.unfollowable(
            statement,
            f"`{self.parser.code(statement).strip().splitlines()[0]}` in {self.class_name}.call is not translated (k2t follows straight-line layer calls)",
        )

    def unpacked(self, small: cst.Assign) -> bool:
        """``z_mean, z_log_var, z = self.encoder(x)``: the outputs of a model with several, one tensor per name (as
        ``out, h, c = LSTM(8, return_state=True)(x)`` in the Functional API)."""
        target, value = small.targets[0].target, small.value
        if not (
            isinstance(target, (cst.Tuple, cst.List))
            and all(
                isinstance(element, cst.Element) and isinstance(element.value, cst.Name) for element in target.elements
            )
            and isinstance(value, cst.Call)
            and self.layer_key(value.func) in self.attributes.layers
        ):
            return False
        layer, _ = self.attributes.layers[self.layer_key(value.func)]
        if layer.model is None or layer.model.graph is None:
            return False  # a layer's several outputs (an LSTM's states) are not followed in call()
        if len(layer.model.graph.outputs) != len(target.elements):
            raise self.unfollowable(
                small,
                f"`{self.parser.code(small).strip()}` in {self.class_name}.call: k2t unpacks the outputs of a model with as many",
            )
        names = tuple(element.value.value for element in target.elements)
        first = self.layer_call(value, names[0])
        first.unpacked, first.output_index = names, 0
        self.tensors[names[0]] = first
        for index, name in enumerate(names[1:], 1):
            self.tensors[name] = self.parser.made(dataclasses.replace(first, var=name, output_index=index))
        return True

    def loop(self, statement: cst.For) -> TensorNode | None:
        """``for block in self.blocks:``: the body once per layer of the list, in its order; ``for dense, norm in
        zip(self.denses, self.norms):`` once per pair (zip stops at the shorter list)."""
        names, rows = self._loop_rows(statement)
        if names is None or rows is None or statement.orelse is not None or statement.asynchronous:
            raise self.unfollowable(
                statement,
                f"`{self.parser.code(statement).strip().splitlines()[0]}` in {self.class_name}.call is not translated (k2t follows straight-line layer calls, `for layer in self.<list of layers>` and `zip` of such lists)",
            )
        for row in rows:
            self.aliases.update(zip(names, row))
            if self.block(_body_of(statement.body)) is not None:
                raise self.unfollowable(statement, f"a return inside `for` in {self.class_name}.call is not translated")
        for name in names:
            self.aliases.pop(name, None)
        return None

    def _loop_rows(self, statement: cst.For) -> tuple[list[str] | None, list[tuple[str, ...]] | None]:
        """The loop's names, and the layer keys they take at each iteration."""
        target, iterated = statement.target, statement.iter
        if isinstance(target, cst.Name):
            keys = self.attributes.containers.get(_self_attribute(iterated) or "")
            return [target.value], None if keys is None else [(key,) for key in keys]
        if not (
            isinstance(target, (cst.Tuple, cst.List))
            and all(isinstance(e.value, cst.Name) for e in target.elements)
            and isinstance(iterated, cst.Call)
            and isinstance(iterated.func, cst.Name)
            and iterated.func.value == "zip"
            and "zip" not in self.tensors
            and len(iterated.args) == len(target.elements)
            and all(a.keyword is None and not a.star for a in iterated.args)
        ):
            return None, None
        lists = [self.attributes.containers.get(_self_attribute(a.value) or "") for a in iterated.args]
        if any(keys is None for keys in lists):
            return None, None
        return [e.value.value for e in target.elements], list(zip(*lists))

    def branch(self, statement: cst.If) -> TensorNode | None:
        """``if self.use_dropout:``: the branch the known value takes."""
        decided = self.decide(statement.test)
        if decided is None:
            raise self.unfollowable(
                statement.test,
                f"`if {self.parser.code(statement.test).strip()}` in {self.class_name}.call: k2t decides an if only on values known when the model is made",
            )
        if decided:
            return self.block(_body_of(statement.body))
        orelse = statement.orelse
        if orelse is None:
            return None
        if isinstance(orelse, cst.If):
            return self.branch(orelse)
        return self.block(_body_of(orelse.body))

    def decide(self, test: cst.BaseExpression) -> bool | None:
        value = self.known(test)
        return None if value is _UNDECIDED else bool(value)

    def known(self, node: cst.BaseExpression) -> object:
        attr = _self_attribute(node)
        if attr is not None:
            return self.attributes.constants.get(attr, _UNDECIDED)
        if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Not):
            value = self.known(node.expression)
            return _UNDECIDED if value is _UNDECIDED else not value
        if isinstance(node, cst.BooleanOperation):
            left, right = self.known(node.left), self.known(node.right)
            if left is _UNDECIDED or right is _UNDECIDED:
                return _UNDECIDED
            return (left and right) if isinstance(node.operator, cst.And) else (left or right)
        if isinstance(node, cst.Comparison) and len(node.comparisons) == 1:
            left, right = self.known(node.left), self.known(node.comparisons[0].comparator)
            compare = _COMPARISONS.get(type(node.comparisons[0].operator))
            if left is _UNDECIDED or right is _UNDECIDED or compare is None:
                return _UNDECIDED
            try:
                return compare(left, right)
            except TypeError:
                return _UNDECIDED
        try:
            return ast.literal_eval(self.parser.code(node).strip())
        except (ValueError, SyntaxError):
            return _UNDECIDED

    def tensor(self, node: cst.BaseExpression, target: str) -> TensorNode:
        if isinstance(node, cst.Name) and node.value in self.tensors:
            return self.tensors[node.value]
        if (
            isinstance(node, cst.BinaryOperation)
            and type(node.operator).__name__ in _TENSOR_OPERATORS
            and self.reads_tensor(node.left)
            and self.reads_tensor(node.right)
        ):
            merge = _TENSOR_OPERATORS[type(node.operator).__name__]
            inputs = (self.tensor(node.left, target), self.tensor(node.right, target))
            layer = KerasCall(f"keras.layers.{merge}", (), (), self.parser.pos(node))
            return self.parser.made(
                TensorNode(target, self.parser.pos(node), layer, id(node), inputs, True, statement=self.line)
            )
        if isinstance(node, cst.Call) and self.layer_key(node.func) in self.attributes.layers:
            return self.layer_call(node, target)
        if isinstance(node, cst.Call) and self.merge_layer(node.func) is not None:
            return self.merge_call(node, target)
        return self.expression(node, target)

    def merge_layer(self, func: cst.BaseExpression) -> str | None:
        """``layers.Dot(axes=1)`` made in call(): a merge layer, which has no weights, so a new one per call
        computes what one made in __init__ would (keras.io's collaborative filtering). Its Keras name, or None."""
        name = self.parser.keras_name(func.func) if isinstance(func, cst.Call) else None
        if name is None or not name.startswith("keras.layers.") or name.rsplit(".", 1)[-1] not in _MERGE_LAYERS:
            return None
        return name

    def merge_call(self, node: cst.Call, target: str) -> TensorNode:
        """``layers.Dot(axes=1)([user_vector, movie_vector])``: the layer over the tensors of the list."""
        listed = node.args[0].value if len(node.args) == 1 and node.args[0].keyword is None else None
        if (
            listed is None
            or node.args[0].star
            or not isinstance(listed, (cst.List, cst.Tuple))
            or not all(isinstance(element, cst.Element) for element in listed.elements)
        ):
            raise self.unfollowable(
                node,
                f"`{self.parser.code(node).strip()}` in {self.class_name}.call: k2t follows a merge layer called on a list of tensors",
            )
        layer = self.parser.call(node.func, self.merge_layer(node.func), self.scope)
        inputs = tuple(self.tensor(element.value, target) for element in listed.elements)
        return self.parser.made(
            TensorNode(target, self.parser.pos(node), layer, id(node.func), inputs, True, statement=self.line)
        )

    def reads_tensor(self, node: cst.BaseExpression) -> bool:
        """Whether ``node`` reads a tensor of call() (a name of one, a layer call): else a number or a value."""
        walker, found = self, []

        class Reads(Visitor):
            def visit_Name(self, name: cst.Name) -> None:
                if name.value in walker.tensors:
                    found.append(name)

            def visit_Call(self, call: cst.Call) -> None:
                if walker.layer_key(call.func) in walker.attributes.layers:
                    found.append(call)

        node.visit(Reads())
        return bool(found)

    def expression(self, node: cst.BaseExpression, target: str) -> TensorNode:
        """``ops.mean(h, axis=1)``, ``h[:, 0]``, ``ops.relu(self.dense(x))``: one node over the tensors it reads,
        translated through the op vocabulary (k2t.translate.op_nodes). Names it reads must be tensors of call()
        or Keras's; ``self.attr`` a value __init__ gives."""
        walker = self
        keras_name = self.parser.keras_name
        inputs: list[TensorNode] = []
        tensors: list[int] = []
        constants: dict[int, str] = {}
        unknown: list[cst.CSTNode] = []

        class Reads(Visitor):
            def visit_Call(self, call: cst.Call) -> bool:
                if walker.layer_key(call.func) in walker.attributes.layers:
                    inputs.append(walker.layer_call(call, target))
                    tensors.append(id(call))
                    return False
                return True

            def visit_Attribute(self, attribute: cst.Attribute) -> bool:
                attr = _self_attribute(attribute)
                if attr is not None:
                    if attr in walker.attributes.constants:
                        constants[id(attribute)] = repr(walker.attributes.constants[attr])
                    else:
                        unknown.append(attribute)
                elif keras_name(attribute) is None:
                    attribute.value.visit(self)  # `h.shape`: the tensor, not the attribute's name
                return False

            def visit_Arg(self, arg: cst.Arg) -> bool:
                arg.value.visit(self)  # a keyword is no read
                return False

            def visit_Name(self, name: cst.Name) -> bool:
                if name.value in walker.tensors:
                    inputs.append(walker.tensors[name.value])
                    tensors.append(id(name))
                elif keras_name(name) is None and not hasattr(builtins, name.value):
                    unknown.append(name)
                return False

            def visit_Lambda(self, _: cst.Lambda) -> bool:
                unknown.append(node)
                return False

        node.visit(Reads())
        if unknown or not inputs:
            what = self.parser.code(unknown[0]).strip() if unknown else None
            reason = (
                f"it reads `{what}`, which is neither a tensor of call() nor a value k2t knows"
                if what is not None
                else "it reads no tensor of call()"
            )
            if unknown and _self_attribute(unknown[0]) in self.attributes.run_time:
                reason = (
                    f"it reads `{what}`, a value given to {self.class_name}() that is known only when the script runs"
                )
            raise self.unfollowable(
                unknown[0] if unknown else node,
                f"`{self.parser.code(node).strip()}` in {self.class_name}.call is not a layer call k2t can follow, nor ops over its tensors ({reason})",
            )
        layer = KerasCall(OP_EXPRESSION, (), (), self.parser.pos(node))
        expression = OpExpression(node, tuple(tensors), constants, keras_name)
        return self.parser.made(
            TensorNode(
                target,
                self.parser.pos(node),
                layer,
                id(node),
                tuple(inputs),
                statement=self.line,
                expression=expression,
            )
        )

    def layer_key(self, func: cst.BaseExpression) -> str | None:
        """``self.dense1`` -> "dense1"; ``self.blocks[0]`` -> "blocks[0]"; a loop variable -> its layer's key."""
        if isinstance(func, cst.Name):
            return self.aliases.get(func.value)
        if isinstance(func, cst.Subscript) and len(func.slice) == 1 and isinstance(func.slice[0].slice, cst.Index):
            attr = _self_attribute(func.value)
            index = self.known(func.slice[0].slice.value)
            keys = self.attributes.containers.get(attr or "")
            if keys is None or index is _UNDECIDED:
                return None
            key = f"{attr}[{index!r}]"
            if isinstance(index, int) and not isinstance(index, bool) and -len(keys) <= index < len(keys):
                return keys[index]
            return key if key in keys else None
        return _self_attribute(func)

    def layer_call(self, node: cst.Call, target: str) -> TensorNode:
        layer, layer_id = self.attributes.layers[self.layer_key(node.func)]
        positional = [a for a in node.args if a.keyword is None and not a.star]
        if len(positional) != 1 or len(positional) + len([a for a in node.args if a.keyword is not None]) != len(
            node.args
        ):
            raise self.unfollowable(node, f"`{self.parser.code(node)}`: k2t follows a layer called on one tensor")
        for arg in node.args:
            if arg.keyword is None:
                continue
            # `training=training` passes Keras's phase on, as module.training does in torch; a fixed value would not.
            if arg.keyword.value != "training" or not (
                isinstance(arg.value, cst.Name) and arg.value.value == self.training
            ):
                raise self.unfollowable(
                    arg,
                    f"`{self.parser.code(arg).strip()}` in {self.class_name}.call is not translated (k2t follows `training=training`)",
                )
        source = self.tensor(positional[0].value, target)
        return self.parser.made(
            TensorNode(target, self.parser.pos(node), layer, layer_id, (source,), statement=self.line)
        )

    @staticmethod
    def unfollowable(node: cst.CSTNode, message: str) -> _Unfollowable:
        return _Unfollowable(node, message)


def _keras_input(node: cst.BaseExpression, scope: _Scope) -> TensorNode | None:
    """The keras.Input a name holds (``inputs = layers.Input(shape=(2,))``), or None."""
    tensor = scope.tensor(node.value) if isinstance(node, cst.Name) else None
    if tensor is None or tensor.layer is not None or tensor.expression is not None or tensor.inputs:
        return None
    return tensor


def _mentioned_outside(module: cst.Module, names: set[str], skipped: tuple[cst.CSTNode, ...]) -> bool:
    """Whether the module mentions one of ``names`` (a module-level variable) outside the ``skipped`` statements:
    a read or a binding, except in a function whose own parameter or local the name is there."""
    skipped_ids = {id(node) for node in skipped}
    found: list[cst.Name] = []

    class Finder(Visitor):
        def enter(self, node: cst.CSTNode) -> bool:
            if id(node) in skipped_ids:
                return False
            if isinstance(node, (cst.FunctionDef, cst.Lambda)):
                params = node.params
                local = {p.name.value for p in (*params.posonly_params, *params.params, *params.kwonly_params)}
                local |= {p.name.value for p in (params.star_arg, params.star_kwarg) if isinstance(p, cst.Param)}
                if isinstance(node, cst.FunctionDef):
                    local |= assigned_names(node.body) - declared_global(node.body)
                if names <= local:
                    return False
            if isinstance(node, cst.Attribute):
                node.value.visit(self)  # `a.inputs` names no variable `inputs`
                return False
            if isinstance(node, cst.Arg):
                node.value.visit(self)  # nor does the keyword of `f(inputs=x)`
                return False
            if isinstance(node, cst.Name) and node.value in names:
                found.append(node)
            return True

    module.visit(Finder())
    return bool(found)


def _takes_named_parameters(node: cst.ClassDef) -> bool:
    """``__init__(self, student, teacher)``: a subclass made from the script's values, not the guide's
    ``__init__(self, *args, **kwargs)`` that keras.Model's Functional constructor takes."""
    init = next((s for s in _body_of(node.body) if isinstance(s, cst.FunctionDef) and s.name.value == "__init__"), None)
    return init is not None and not isinstance(init.params.star_arg, cst.Param) and len(init.params.params) > 1


def _defines(node: cst.ClassDef, method: str) -> bool:
    return any(isinstance(s, cst.FunctionDef) and s.name.value == method for s in _body_of(node.body))


# Keras's merge layers (k2t.translate.merge): no weights, so call() may make one where it applies it.
_MERGE_LAYERS = frozenset(MERGE_FUNCTIONS.values())
_UNDECIDED = object()  # an expression of call() whose value k2t does not know when the model is made
_COMPARISONS = {
    cst.Equal: operator.eq, cst.NotEqual: operator.ne, cst.LessThan: operator.lt, cst.LessThanEqual: operator.le,
    cst.GreaterThan: operator.gt, cst.GreaterThanEqual: operator.ge, cst.Is: operator.is_, cst.IsNot: operator.is_not,
    cst.In: lambda a, b: a in b, cst.NotIn: lambda a, b: a not in b,
}  # fmt: skip


def _self_attribute(node: cst.BaseExpression) -> str | None:
    """``self.dense1`` -> "dense1"."""
    if isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name) and node.value.value == "self":
        return node.attr.value
    return None


def _self_attribute_assignment(small) -> tuple[str, cst.BaseExpression] | None:
    if isinstance(small, cst.Assign) and len(small.targets) == 1:
        attr = _self_attribute(small.targets[0].target)
        if attr is not None:
            return attr, small.value
    return None


_MODEL_KEYWORDS = frozenset({"name", "trainable", "dtype"})  # keras.Model's own keywords a subclass may pass on


def _only_forwarded_to_base(init: cst.FunctionDef, kwargs: str) -> bool:
    """``def __init__(self, units=32, **kwargs): super().__init__(**kwargs)``: the keyword arguments go to
    keras.Model and nowhere else (keras.io's subclassing guide writes every model so)."""
    for statement in _body_of(init.body):
        if not _mentions(statement, kwargs):
            continue
        if not _is_super_init(statement):
            return False
        call = statement.body[0].value
        if not any(
            arg.star == "**" and isinstance(arg.value, cst.Name) and arg.value.value == kwargs for arg in call.args
        ):
            return False
    return True


def _mentions(node: cst.CSTNode, name: str) -> bool:
    found: list[cst.Name] = []

    class Finder(Visitor):
        def visit_Name(self, seen: cst.Name) -> None:
            if seen.value == name:
                found.append(seen)

    node.visit(Finder())
    return bool(found)


def _is_super_init(statement: cst.CSTNode) -> bool:
    """``super().__init__()`` (or with ``name=`` and other Keras keywords, which change no computation)."""
    call = lone_call(statement)
    return (
        call is not None
        and isinstance(call.func, cst.Attribute)
        and call.func.attr.value == "__init__"
        and isinstance(call.func.value, cst.Call)
        and isinstance(call.func.value.func, cst.Name)
        and call.func.value.func.value == "super"
    )


def _last_axis_if_dense(source: TensorNode, output: TensorNode) -> Value:
    """An array of unknown rank into a Dense first: Dense reads only the last axis, so its size is
    the input's (as the Sequential translation takes ``x.shape[-1]``); other first layers say how many
    axes they need in the translation (Conv2D: three), or refuse."""
    shape = source.input_shape
    first = [n for n in _graph_nodes([source], [output]) if source in n.inputs]
    if shape is None or shape.shape_of is None or shape.shape_of.rank is not None or len(first) != 1:
        return shape
    if first[0].layer is None or first[0].layer.short_name != "Dense":
        return shape
    array = shape.shape_of.array
    return Value(f"{array}.shape[-1:]", shape.pos, shape_of=ShapeOf(array, -1, None))


def _declared_by_nested_model(source: TensorNode, output: TensorNode) -> Value | None:
    """The input shape of a Functional model the call() gives its input to first (``self.encoder(x)`` in keras.io's
    VAE), written as a tuple there: Keras runs that model on the data, which must have its shape."""
    first = [n for n in _graph_nodes([source], [output]) if source in n.inputs]
    if len(first) != 1 or first[0].layer is None or first[0].layer.model is None:
        return None
    graph = first[0].layer.model.graph
    if graph is None or len(graph.inputs) != 1:
        return None
    declared = graph.inputs[0].input_shape
    return declared if declared is not None and declared.elements is not None else None


def _keras_model_name(node: cst.ClassDef, pos) -> Value:
    """The name Keras gives an instance (summary, history): the class's in snake case (keras.src.utils.naming.to_snake_case)."""
    name = re.sub(r"\W+", "", node.name.value)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    name = re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()
    return Value(repr(name), pos, name)


def _is_method_of(func: cst.BaseExpression, target: str) -> bool:
    return isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value == target


def _first_use(module: cst.Module, target: str) -> tuple[str, cst.BaseExpression] | None:
    """The first ``target.fit(x, ...)`` / ``target(x)`` / ``target.build(shape)`` in the module's text: (method, argument)."""
    found: list[tuple[str, cst.BaseExpression]] = []

    class Finder(Visitor):
        def visit_Call(self, call: cst.Call) -> None:
            if found or not call.args:
                return
            func = call.func
            first = call.args[0]
            if first.keyword is not None:
                # `model.build(input_shape=(None, 784))`: the shape by its keyword
                if _is_method_of(func, target) and func.attr.value == "build" and first.keyword.value == "input_shape":
                    found.append(("build", first.value))
                return
            if isinstance(func, cst.Name) and func.value == target:
                found.append(("call", call.args[0].value))
            elif _is_method_of(func, target) and (func.attr.value in _DATA_METHODS or func.attr.value == "build"):
                found.append((func.attr.value, call.args[0].value))

    module.visit(Finder())
    return found[0] if found else None
