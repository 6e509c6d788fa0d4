"""Sequential models, .add, .compile, layer objects, load_model."""

from __future__ import annotations

import ast
import dataclasses

import libcst as cst

from ..ir import CloneSpec, CompileSpec, Instance, KerasCall, LayerObject, LoadSpec, ModelSpec, Value
from ..ops import is_op
from ..values import Unknown, bind_target, is_constant
from . import model_access, pretrained_layers
from .batch_shapes import batch_shape_input
from .graph import _nests
from .scope import _NoBindScope, _Scope, _Unfollowable
from .syntax import (
    _INPUT_SHAPE_NEEDED,
    ALIASED_MODULES,
    APPLICATIONS,
    BINDABLE_PREFIXES,
    CLONE_MODEL,
    LOAD_MODEL,
    MERGE_FUNCTIONS,
    _concatenated,
    _mark_subtree,
    read_names,
)


class ModelMixin:
    """Sequential models, .add, .compile, layer objects, load_model. Mixed into k2t.parse.parser._Parser."""

    def record_parameter_lengths(self, spec: ModelSpec, call: cst.Call, scope: _Scope) -> None:
        """How many sizes this call of the model's factory passes in each parameter (a shape, ``X.shape[1:]``)."""
        function = next(
            (s for s in self.module.body if isinstance(s, cst.FunctionDef) and s.name.value == spec.factory), None
        )
        if function is None:
            return
        names = [param.name.value for param in function.params.params]
        for index, arg in enumerate(call.args):
            if arg.star:
                return
            name = arg.keyword.value if arg.keyword is not None else names[index] if index < len(names) else None
            if name is None:
                continue
            value, _ = self.evaluate(arg.value, scope)
            if isinstance(value, (tuple, list)):
                length = len(value)
            elif isinstance(value, Unknown) and value.shape is not None:
                length = value.shape.length
            else:
                length = None
            if name in spec.parameter_lengths and spec.parameter_lengths[name] != length:
                length = None  # calls that pass different numbers of sizes
            spec.parameter_lengths[name] = length

    def known_arguments(self, spec: ModelSpec, call: cst.Call, scope: _Scope) -> tuple[tuple[str, object], ...]:
        """The parameters of the model's factory whose values ``call`` gives k2t knows (a default where the call
        passes none), as constants; none where the call unpacks (``*args``)."""
        function = next(
            (s for s in self.module.body if isinstance(s, cst.FunctionDef) and s.name.value == spec.factory), None
        )
        if function is None or any(arg.star for arg in call.args):
            return ()
        params = [*function.params.posonly_params, *function.params.params]
        given: dict[str, cst.BaseExpression] = {}
        for index, arg in enumerate(call.args):
            if arg.keyword is not None:
                given[arg.keyword.value] = arg.value
            elif index < len(params):
                given[params[index].name.value] = arg.value
        known = []
        for name, node in given.items():
            value, transient = self.evaluate(node, scope)
            if is_constant(value) and not transient:
                known.append((name, value))
        for param in [*params, *function.params.kwonly_params]:
            if param.name.value not in given and param.default is not None:
                try:  # Python evaluated it where the function was defined: only a literal is known here
                    known.append((param.name.value, ast.literal_eval(self.code(param.default).strip())))
                except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
                    pass
        return tuple(known)

    def layer_partial(self, line, target: str, value: cst.Call, scope: _Scope) -> bool:
        """``DefaultConv2D = partial(keras.layers.Conv2D, kernel_size=3, activation="relu", padding="SAME")`` at the
        module's level (Géron's Hands-On Machine Learning writes its CNNs so): the name is that layer class, and
        each call of it the class called with the partial's arguments first and its own keywords over them."""
        if not (
            scope.parent is None
            and any(q.name == "functools.partial" for q in self.qualified_names(value.func))
            and value.args
            and value.args[0].keyword is None
            and not value.args[0].star
            and self.bound_once(target)
        ):
            return False
        name = self.keras_name(value.args[0].value)
        if name is None or not name.startswith("keras.layers.") or not name.rsplit(".", 1)[-1][:1].isupper():
            return False
        if any(arg.star for arg in value.args[1:]):
            return False
        args = tuple(self.value(arg.value, scope) for arg in value.args[1:] if arg.keyword is None)
        kwargs = tuple((arg.keyword.value, self.value(arg.value, scope)) for arg in value.args[1:] if arg.keyword)
        _mark_subtree(value, self.consumed)
        self.layer_classes[target] = name
        self.layer_partials[target] = (args, kwargs)
        self.script.removed.add(id(line))
        return True

    def model_statement(self, line: cst.SimpleStatementLine, small: cst.BaseSmallStatement, scope: _Scope) -> bool:
        """Model construction, .add, .compile and Keras object bindings. True when handled."""
        if (
            isinstance(small, cst.Expr)
            and isinstance(small.value, cst.Call)
            and self.keras_name(small.value.func) == "keras.utils.clear_session"
        ):
            self.model_api.names.reset(certain=not self.frames and not model_access.in_function(scope))
        if model_access.layer_list_statement(self, line, small, scope) or model_access.freeze_statement(
            self, line, small, scope
        ):
            return True
        if model_access.reset_states_statement(self, line, small, scope):
            return True
        if pretrained_layers.embedding_setup(self, line, small, scope):
            return True  # `embedding_layer.set_weights([matrix])`: the layer starts from the matrix
        if model_access.layer_alias_statement(self, line, small, scope):
            return True  # `first = model.layers[0]`
        if self.subclassed_instance(line, small, scope):
            return True
        if isinstance(small, cst.Assign) and self.built_on_keras_input(line, small.value, scope):
            return True  # `outputs = model(inputs)` that only builds a subclassed model on a keras.Input
        if self.functional_statement(line, small, scope):
            return True
        if isinstance(small, cst.Return) and scope.inline is not None:
            self.helper_return(line, small, scope)
            return True
        if (
            isinstance(small, cst.Expr)
            and isinstance(small.value, cst.Call)
            and self.helper_call(small.value, scope) is not None
        ):
            self.helper_statement(line, small.value, scope)
            return True
        if isinstance(small, cst.Return) and scope.function is not None and small.value is not None:
            value = small.value
            if isinstance(value, cst.Call) and self.keras_name(value.func) == "keras.Sequential":
                model = self.sequential(line, None, value, scope)
                scope.factories[scope.function] = Instance(model)
                return True
            if isinstance(value, cst.Call) and self.keras_name(value.func) == "keras.Model":
                model = self.functional_model(line, None, value, scope)
                scope.factories[scope.function] = Instance(model)
                return True
            if isinstance(value, cst.Name):
                instance = scope.model(value.value)
                if instance is not None:
                    self.consumed.add(id(value))
                    if instance.compile is not None:
                        instance.compile.escapes = True
                    scope.factories[scope.function] = instance
                    return True
            return False
        if (
            isinstance(small, cst.Assign)
            and len(small.targets) == 1
            and isinstance(small.targets[0].target, cst.Name)
            and isinstance(small.value, cst.Call)
            and isinstance(small.value.func, cst.Name)
        ):
            if self.layer_factory_call(line, small.targets[0].target.value, small.value, scope):
                return True
            made = scope.factory(small.value.func.value)
            if made is not None:
                self.record_parameter_lengths(made.model, small.value, scope)
                arguments = self.known_arguments(made.model, small.value, scope)
                top = scope.parent is None  # a call at the module's level: its arguments hold there
                scope.models[small.targets[0].target.value] = Instance(
                    made.model,
                    made.compile,
                    arguments,
                    made_by=small.value if top else None,
                    made_at=line if top else None,
                )
                self.scan_expressions(line, small.value, scope)
                return True
        if isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name):
            target = small.targets[0].target.value
            value = small.value
            if isinstance(value, cst.Call):
                name = self.keras_name(value.func)
                if name == "keras.Sequential":
                    model = self.sequential(line, target, value, scope)
                    scope.models[target] = Instance(model)
                    return True
                if name in LOAD_MODEL:
                    self.load_model(line, target, value, scope)
                    return True
                if name in CLONE_MODEL:
                    return self.cloned_model(line, target, value, scope)
                if name in APPLICATIONS:
                    scope.models[target] = Instance(self.application(line, target, value, name, scope))
                    return True
                if self.layer_partial(line, target, value, scope):
                    return True  # `DefaultConv2D = partial(keras.layers.Conv2D, kernel_size=3, padding="same")`
                if name is not None and name.startswith(BINDABLE_PREFIXES) and not _op_on_data(name, value):
                    scope.bindings[target] = (self.call(value, name, scope), line)
                    self.script.removed.add(id(line))
                    return True
            elif isinstance(value, (cst.List, cst.Tuple)) and self.bindable_list(value, scope):
                # `METRICS = [keras.metrics.AUC(name="auc"), "accuracy"]`: the list compile() receives later.
                scope.bindings[target] = (self.value(value, scope), line)
                self.script.removed.add(id(line))
                return True
            elif isinstance(value, (cst.Name, cst.Attribute)):
                name = self.keras_name(value)
                if name in ALIASED_MODULES and scope.parent is None and self.bound_once(target):
                    # `mnist = tf.keras.datasets.mnist` (TensorFlow's quickstart), `keras = tf.keras`: the name is
                    # that module wherever the script reads it, as an import alias would be.
                    _mark_subtree(value, self.consumed)
                    self.module_aliases[target] = name
                    self.script.removed.add(id(line))
                    return True
                if (
                    name is not None
                    and name.startswith("keras.layers.")
                    and (name.rsplit(".", 1)[-1][:1].isupper() or name.rsplit(".", 1)[-1] in MERGE_FUNCTIONS)
                ):
                    # `RNN = layers.LSTM`: the name is that layer class wherever the script calls it.
                    _mark_subtree(value, self.consumed)
                    self.layer_classes[target] = name
                    self.script.removed.add(id(line))
                    return True
                if name is not None and name.startswith(BINDABLE_PREFIXES):
                    _mark_subtree(value, self.consumed)
                    scope.bindings[target] = (name, line)
                    self.script.removed.add(id(line))
                    return True
            # Rebinding a model or tensor name to something else ends our knowledge of it
            # (`x = np.random.random(...)` after `x` held a Keras tensor).
            scope.helpers.pop(target, None)
            scope.models.pop(target, None)
            self.layer_classes.pop(target, None)
            reads_tensor = any(scope.tensor(name) is not None for name in read_names(value))
            if scope.tensor(target) is not None:
                scope.tensors[target] = None
            if scope.tensor_dict(target) is not None:
                scope.tensor_dicts[target] = None
            # `h = tf.some_op(h)`: a Keras tensor through code k2t reports; later layers on `h` follow from it.
            scope.untranslated[target] = line if reads_tensor else None
            return False
        if isinstance(small, cst.Expr) and isinstance(small.value, cst.Call):
            call = small.value
            func = call.func
            if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
                instance = scope.model(func.value.value)
                if instance is not None and func.attr.value == "add":
                    if len(call.args) != 1 or call.args[0].keyword is not None:
                        raise _Unfollowable(call, "model.add() takes exactly one layer")
                    if self.outer(scope, model=func.value.value):
                        self.carried(f"`{func.value.value}.add(...)`", call)
                    self.add_layer(instance.model, call.args[0].value, scope)
                    instance.model.add_statements.append(line)
                    return True
                if instance is not None and func.attr.value == "compile":
                    instance.compile = self.compile(line, instance.model, func.value.value, call, scope)
                    return True
        return False

    # ------------------------------------------------------------ saved models
    def cloned_model(self, line, target: str, call: cst.Call, scope: _Scope) -> bool:
        """``student_scratch = keras.models.clone_model(student)`` at the top level: Keras makes the model anew from
        its config, with newly initialised weights; the module of the same class, constructed again, is that model.
        Other arguments (input_tensors, clone_function) stay a K2T100 where they are written."""
        given = call.args[0].value if len(call.args) == 1 and call.args[0].keyword in (None, "model") else None
        if len(call.args) == 1 and call.args[0].keyword is not None and call.args[0].keyword.value != "model":
            given = None
        instance = scope.model(given.value) if isinstance(given, cst.Name) else None
        if instance is None or scope.parent is not None or call.args[0].star:
            return False
        self.script.uses_keras = True
        _mark_subtree(call, self.consumed)
        scope.models[target] = Instance(instance.model)
        self.script.clones.append(CloneSpec(target, instance.model, self.pos(call), call, line))
        return True

    def load_model(self, line, target: str, call: cst.Call, scope: _Scope) -> None:
        """``target = keras.models.load_model(path)``: which architecture the file holds is resolved at the end."""
        self.script.uses_keras = True
        spec = self.call(call, "keras.models.load_model", scope)
        # A stand-in architecture until _resolve_loads knows the real one: calls on `target` are recorded on it.
        instance = Instance(ModelSpec(var=target, pos=spec.pos, call=spec, statement=line))
        scope.models[target] = instance
        names = ("filepath", "custom_objects", "compile", "safe_mode")
        if len(spec.args) > len(names):
            self.todo(line, call, "K2T181", "load_model(): too many positional arguments")
            return
        given = dict(zip(names, spec.args)) | dict(spec.kwargs)
        for key in given:
            if key not in names:
                self.todo(line, call, "K2T181", f"load_model({key}=...) is not translated")
                return
        compile_value = given.get("compile")
        if compile_value is not None and not isinstance(compile_value.literal, bool):
            self.todo(line, call, "K2T181", "load_model(compile=...) must be True or False for k2t to follow")
            return
        if "filepath" not in given:
            self.todo(line, call, "K2T181", "load_model() without a file path")
            return
        self.script.loads.append(
            LoadSpec(
                var=target,
                path=given["filepath"],
                pos=spec.pos,
                instance=instance,
                compile=compile_value is None or compile_value.literal,
                function=scope.function,
                statement=line,
            )
        )

    def application(self, line, target: str, call: cst.Call, name: str, scope: _Scope) -> ModelSpec:
        """``base = keras.applications.MobileNetV2(...)``: a model like any other (nested, frozen, fitted),
        whose architecture Keras builds from the call's arguments."""
        self.script.uses_keras = True
        spec = self.call(call, name, scope)
        model = ModelSpec(var=target, pos=spec.pos, call=spec, statement=line, application=spec)
        model.factory = scope.function
        self.script.models.append(model)
        return model

    # ----------------------------------------------------------- layer objects
    def bind_layer_object(self, var: str, call: KerasCall, statement: cst.CSTNode) -> KerasCall:
        """``norm = layers.Normalization()``: the call, marked as the layer held by ``var``."""
        bound = LayerObject(var, call, statement)
        self.script.layer_objects.append(bound)
        return dataclasses.replace(call, bound=bound)

    def layer_object_used(self, node: cst.Name, scope: _Scope) -> None:
        """``norm.adapt(x)``, ``print(norm.mean)``: the layer must exist where the script builds it."""
        self.consumed.add(id(node))
        bound = scope.layer_object(node.value)[0].bound
        if bound is not None:
            bound.uses.append(self.pos(node))
            self.script.removed.discard(id(bound.statement))  # the translator rewrites it instead

    def new_use(self, node: cst.Name, scope: _Scope) -> bool:
        """Whether ``norm.adapt(x)`` in a helper walked at each call is a use of this call's layer not yet seen
        (the node was consumed by the walk of an earlier call, which made another layer)."""
        bound = scope.layer_object(node.value)[0].bound
        return bound is not None and self.pos(node) not in bound.uses

    def sequential(self, line, target: str | None, call: cst.Call, scope: _Scope) -> ModelSpec:
        self.script.uses_keras = True
        spec = self.call(call, "keras.Sequential", _NoBindScope(scope))
        model = ModelSpec(
            var=target,
            pos=self.pos(call),
            call=KerasCall(spec.name, (), spec.kwargs, spec.pos, keras_name=spec.keras_name),
            statement=line,
        )
        layers_node = None
        for arg in call.args:
            if arg.keyword is None or arg.keyword.value == "layers":
                layers_node = arg.value
        for part in _concatenated(layers_node) if layers_node is not None else ():
            if isinstance(part, cst.Name) and model_access.take_list(self, model, part, scope):
                continue  # `[keras.Input(...)] + hidden + [...]`
            if isinstance(part, cst.ListComp):
                self.comprehension_layers(model, part, scope)
                continue
            if not isinstance(part, (cst.List, cst.Tuple)):
                raise _Unfollowable(
                    part, "Sequential(...) needs a list of layers written in the call for k2t to follow"
                )
            for el in part.elements:
                if isinstance(el, cst.StarredElement):
                    # `Sequential([keras.Input(...), *base_layers, layers.Dense(1)])`: the list's layers, in place.
                    if isinstance(el.value, cst.Name) and model_access.take_list(self, model, el.value, scope):
                        continue
                    if isinstance(el.value, (cst.List, cst.Tuple)) and all(
                        isinstance(item, cst.Element) for item in el.value.elements
                    ):
                        for item in el.value.elements:
                            self.add_layer(model, item.value, scope)
                        continue
                    raise _Unfollowable(el, f"`*{self.code(el.value)}` is no list of layers k2t follows")
                self.add_layer(model, el.value, scope)
        model.factory = scope.function
        self.script.models.append(model)
        return model

    def unrolled_items(self, node, kind: str, what: str, scope: _Scope):
        """The items of a comprehension k2t unrolls (one `for`, no `if`), or why it cannot."""
        for_in = node.for_in
        if for_in.inner_for_in is not None or for_in.ifs or for_in.asynchronous is not None:
            raise _Unfollowable(node, f"k2t unrolls {kind} with one `for` and no `if`")
        items, _ = self.evaluate(for_in.iter, scope)
        if isinstance(items, Unknown):
            raise _Unfollowable(
                for_in.iter, f"k2t cannot unroll {what} over `{self.code(for_in.iter)}`: {items.reason}"
            )
        return items

    def comprehension_layers(self, model: ModelSpec, node: cst.ListComp, scope: _Scope) -> None:
        """``Sequential([layers.Dense(n, activation="relu") for n in (64, 32)])``: one layer per item."""
        for_in = node.for_in
        items = self.unrolled_items(node, "a list comprehension of layers", "layers", scope)
        inner = _Scope(scope, scope.function)
        for index, item in enumerate(items):
            bind_target(inner.env, for_in.target, item, transient=True)
            self.iteration = (*self.iteration, (id(node), index))
            try:
                self.add_layer(model, node.elt, inner)
            finally:
                self.iteration = self.iteration[:-1]

    def nested_model(self, node: cst.Name, scope: _Scope) -> KerasCall:
        """A model of the script used as a layer of another: one submodule holding it."""
        instance = scope.model(node.value)
        assert instance is not None
        self.consumed.add(id(node))
        return KerasCall(
            "keras.Model",
            (),
            (),
            self.pos(node),
            model=instance.model,
            held_in=scope.caller_names.get(node.value, node.value),
            factory_arguments=instance.arguments,
        )

    def fresh_name(self, base: str) -> str:
        """A variable name the script does not use, for a value k2t names itself."""
        taken = set(self.script.module_names) | {m.var for m in self.script.models if m.var is not None}
        for names in self.script.function_locals.values():
            taken |= set(names)
        name, n = base, 1
        while name in taken:
            n += 1
            name = f"{base}_{n}"
        return name

    def bindable_list(self, node: cst.List | cst.Tuple, scope: _Scope) -> bool:
        """A list of Keras objects (metrics, losses) and strings, with at least one object: bound as a whole."""
        objects = 0
        for element in node.elements:
            if not isinstance(element, cst.Element):
                return False
            item = element.value
            if isinstance(item, cst.SimpleString):
                continue
            func = item.func if isinstance(item, cst.Call) else item
            name = self.keras_name(func) if isinstance(func, (cst.Name, cst.Attribute)) else None
            if name is None and isinstance(item, cst.Name) and scope.binding(item.value) is not None:
                name = "keras.metrics." if isinstance(scope.binding(item.value)[0], (KerasCall, str)) else None
            if name is None or not name.startswith(("keras.metrics.", "keras.losses.")):
                return False
            objects += 1
        return objects > 0

    def add_layer(self, model: ModelSpec, node: cst.BaseExpression, scope: _Scope) -> None:
        if isinstance(node, cst.IfExp):
            # `layers.MaxPooling2D(2) if i < len(FILTERS) - 1 else layers.GlobalAveragePooling2D()`: the layer the
            # test, known here (a loop variable of an unrolled loop, a knob), picks; the other is never made.
            test, _ = self.evaluate(node.test, scope)
            if isinstance(test, Unknown):
                raise _Unfollowable(
                    node.test,
                    f"which layer `{self.code(node).strip()}` adds depends on `{self.code(node.test)}`: {test.reason}",
                )
            _mark_subtree(node.test, self.consumed)
            _mark_subtree(node.orelse if test else node.body, self.consumed)
            self.add_layer(model, node.body if test else node.orelse, scope)
            return
        if isinstance(node, cst.Name) and scope.layer_object(node.value) is not None:
            model.layers.append(scope.layer_object(node.value)[0])  # `Sequential([norm, ...])`
            return
        if isinstance(node, cst.Name) and scope.model(node.value) is not None:
            if _nests(scope.model(node.value).model, model):  # a model cannot hold itself
                raise _Unfollowable(node, f"`{node.value}` is, or contains, the model it is added to")
            model.layers.append(self.nested_model(node, scope))  # `Sequential([encoder, layers.Dense(1)])`
            return
        if not isinstance(node, cst.Call):
            raise _Unfollowable(node, f"layer `{self.code(node)}` is not a call k2t can follow")
        name = self.layer_class_name(node.func, scope)  # `model.add(cell(units))` of a class parameter too
        if name is None:
            raise _Unfollowable(node, f"`{self.code(node.func)}` is not a Keras layer k2t can resolve")
        if name in APPLICATIONS:
            # `model.add(ResNet50(include_top=False, pooling="avg", weights=path))` (Kaggle's deep learning course):
            # as if the script had named it first; the model builds it right before itself.
            var = self.fresh_name(APPLICATIONS[name].lower())
            application = self.application(model.statement, var, node, name, scope)
            application.inline_in = model
            model.layers.append(KerasCall("keras.Model", (), (), self.pos(node), model=application, held_in=var))
            return
        layer = self.call(node, name, scope)
        if name in ("keras.Input", "keras.layers.InputLayer"):
            if model.layers or model.input_shape is not None:
                raise _Unfollowable(node, "an Input must come first in a Sequential model")
            shape = layer.arg(0, "shape")
            if shape is None:
                shape = layer.kwarg("input_shape")
            if shape is None:
                shape = batch_shape_input(node, layer)
            if shape is None or shape.elements is None and shape.shape_of is None:
                raise _Unfollowable(node, _INPUT_SHAPE_NEEDED)
            model.input_shape = shape
            model.input_pos = layer.pos
            return
        if self.invocations:
            model.invocations[id(layer)] = tuple(self.invocations)  # added by a helper's call
        model.layers.append(layer)

    def compile(self, line, model: ModelSpec, var: str, call: cst.Call, scope: _Scope) -> CompileSpec:
        override = model.steps.compile_override if model.steps is not None else None
        if override is not None:
            return self.overridden_compile(line, model, var, call, scope, override)
        spec = self.call(call, "keras.Model.compile", scope)
        optimizer = spec.arg(0, "optimizer")
        loss = spec.arg(1, "loss")
        metrics_value = spec.arg(2, "metrics")
        metrics: tuple[Value, ...] = ()
        if metrics_value is not None:
            if metrics_value.items is not None:
                metrics = (metrics_value,)  # {output: metrics}: resolved per output by the translator
            elif metrics_value.elements is None:
                raise _Unfollowable(call, "compile(metrics=...) must be a literal list for k2t to follow")
            else:
                metrics = metrics_value.elements
        extra = tuple((k, v) for k, v in spec.kwargs if k not in ("optimizer", "loss", "metrics"))
        if len(spec.args) > 3:
            raise _Unfollowable(call, "compile() with more than three positional arguments")
        compiled = CompileSpec(
            model,
            var,
            spec.pos,
            optimizer,
            loss,
            metrics,
            extra,
            statement=line,
            metrics_given=metrics_value is not None,
        )
        self.script.compiles.append(compiled)
        return compiled

    def overridden_compile(
        self, line, model: ModelSpec, var: str, call: cst.Call, scope: _Scope, override
    ) -> CompileSpec:
        """``distiller.compile(optimizer=..., student_loss_fn=..., alpha=0.1)`` of a class whose compile() passes some
        parameters to keras.Model.compile and stores the others on self (k2t.parse.train_step._compile_override)."""
        params = [name for name, _ in override.params]
        given: dict[str, Value] = {}
        for index, arg in enumerate(call.args):
            if (
                arg.star
                or (arg.keyword is None and index >= len(params))
                or (arg.keyword is not None and arg.keyword.value not in params)
            ):
                raise _Unfollowable(
                    arg, f"`{self.code(arg).strip()}` does not bind a parameter of {model.steps.class_name}.compile()"
                )
            name = params[index] if arg.keyword is None else arg.keyword.value
            given[name] = self.value(arg.value, scope)
        for name, default in override.params:
            if name not in given:
                if default is None:
                    raise _Unfollowable(
                        call,
                        f"{model.steps.class_name}.compile() is missing its argument `{name}` (Python refuses it too)",
                    )
                given[name] = self.value(default, scope)
        _mark_subtree(call, self.consumed)
        base = {keyword: given[param] for keyword, param in override.base}
        metrics_value = base.get("metrics")
        if metrics_value is not None and metrics_value.is_literal and metrics_value.literal is None:
            metrics_value = None  # `metrics=None`, the parameter's default: compile() without metrics
        metrics: tuple[Value, ...] = ()
        if metrics_value is not None:
            if metrics_value.elements is None:
                raise _Unfollowable(call, "compile(metrics=...) must be a literal list for k2t to follow")
            metrics = metrics_value.elements
        compiled = CompileSpec(
            model,
            var,
            self.pos(call),
            base.get("optimizer"),
            base.get("loss"),
            metrics,
            (),
            statement=line,
            metrics_given=metrics_value is not None,
            stored=tuple((attr, given[param]) for attr, param in override.stored),
        )
        self.script.compiles.append(compiled)
        return compiled


def _op_on_data(name: str, call: cst.Call) -> bool:
    """``loss = keras.losses.mean_squared_error(y_test, preds)``: a function of the op vocabulary computing a
    value from data, not an object for compile() (``keras.activations.get("relu")`` has literals only)."""
    for arg in call.args:
        try:
            ast.literal_eval(cst.Module(body=[]).code_for_node(arg.value))
        except (ValueError, SyntaxError):
            return is_op(name)
    return False
