"""Keras inside ordinary code: model method calls, Keras references, the learning rate, callback classes."""

from __future__ import annotations

import libcst as cst

from ..cst_walk import Visitor
from ..diagnostics import Severity
from ..ir import (
    CallbackClass,
    FunctionCallSpec,
    Instance,
    LayerCountRead,
    LearningRateAccess,
    LossesSum,
    MethodCall,
    MetricsNamesRead,
    SequenceClass,
    ShapeRead,
    StaticShapeRead,
    Todo,
    VariableCount,
)
from ..names import is_keras, is_tensorflow
from ..values import NOT_KNOWN
from . import model_access
from .scikit_learn import scikeras_wrapper, scikit_learn_wrapper, wrapped_model_read
from .scope import _Scope, _Unfollowable
from .syntax import (
    DEFAULT_IMAGE_DATA_FORMAT,
    FUNCTIONS,
    LAYERS_CALLED_ON_DATA,
    LOAD_MODEL,
    MADE_ARRAYS,
    MODEL_METHODS,
    SEQUENCE_BASES,
    _body_of,
    _enclosing_quotes,
    _Finder,
    _is_learning_rate,
    _mark_subtree,
    _self_model_attribute,
)

# Model methods k2t does not translate, with the reason where there is more to say than that.
_UNTRANSLATED_METHODS = {
    "add_loss": (
        "model.add_loss(tensor) is not translated: Keras 3 raises NotImplementedError for it on a Functional model, "
        "and on a Sequential raises ValueError for a number or a callable and discards a tensor at the model's next "
        "call (it never reaches the training loss); compute the term in a custom layer's call() and "
        "`self.add_loss(...)` it there, which k2t translates"
    ),
}


class ScanMixin:
    """Keras inside ordinary code: model method calls, Keras references, the learning rate, callback classes. Mixed into k2t.parse.parser._Parser."""

    def scan_expressions(self, statement: cst.CSTNode, node, scope: _Scope) -> None:
        """Find model method calls and Keras references inside ordinary code."""
        nodes = node if isinstance(node, (list, tuple)) else [node]
        finder = _Finder()
        for n in nodes:
            n.visit(finder)
        for item in finder.found:
            if id(item) in self.model_api.read_names:
                continue  # `hidden` of `hidden.get_weights()`: read through the model holding it
            if (
                id(item) in self.consumed
                and not (
                    isinstance(item, cst.Name)
                    and scope.layer_object(item.value) is not None
                    and self.new_use(item, scope)
                )
                and not self.training_helper_method(item, scope)
            ):
                continue  # (a layer a helper makes at each call: each call's layer is used)
            if model_access.layer_read(self, statement, item, scope):
                continue  # `model.layers[0].name`, `hidden.get_weights()`
            if isinstance(item, cst.Call):
                self.scan_call(statement, item, scope)
            elif isinstance(item, (cst.Name, cst.Attribute)):
                self.scan_reference(statement, item, scope)

    def training_helper_method(self, item, scope: _Scope) -> bool:
        """``model.fit(...)`` in a training helper walked again for the next model it receives: that model's call."""
        return (
            bool(self.inlining)
            and self.inlining[-1].trains
            and isinstance(item, cst.Call)
            and isinstance(item.func, cst.Attribute)
            and isinstance(item.func.value, cst.Name)
            and scope.model(item.func.value.value) is not None
        )

    def static_shape_read(self, statement, node, scope: _Scope) -> bool:
        """``K.int_shape(x)`` or ``x.shape`` of a Keras tensor in a top-level line k2t keeps, outside loops and
        helpers (one value where the line runs once): the tuple Keras gives, when k2t knows every size."""
        if isinstance(node, cst.Call):
            tensor = (
                node.args[0].value
                if self.keras_name(node.func) == "keras.backend.int_shape"
                and len(node.args) == 1
                and node.args[0].keyword is None
                else None
            )
        else:
            tensor = node.value if isinstance(node, cst.Attribute) and node.attr.value == "shape" else None
        if (
            not isinstance(tensor, cst.Name)
            or id(node) in self.consumed
            or scope.parent is not None
            or self.frames
            or self.inlining
        ):
            return False
        shape = self.tensor_shape(tensor.value, scope)
        if shape is None or shape.dims is None or any(size is NOT_KNOWN for size in shape.dims):
            return False
        _mark_subtree(node, self.consumed)
        code = repr(tuple(shape.dims))
        self.script.static_shapes.append(StaticShapeRead(code, tensor.value, self.pos(node), statement, node))
        return True

    def scan_call(self, statement, node: cst.Call, scope: _Scope) -> None:
        func = node.func
        if (
            isinstance(func, cst.Attribute)
            and isinstance(func.value, cst.Call)
            and self.keras_name(func.value.func) in LOAD_MODEL
        ):
            node = func.value  # load_model(path).predict(x): the load is what k2t cannot follow
            func = node.func
        if self.learning_rate_call(statement, node, scope):
            return
        if self.static_shape_read(statement, node, scope):
            return
        summed = _model_list_read(node, "sum", "losses", scope)
        if summed is not None:
            # sum(model.losses): the module's regularization and added terms (k2t.translate.model_api).
            _mark_subtree(node, self.consumed)
            var = node.args[0].value.value.value
            self.script.losses_sums.append(LossesSum(summed.model, var, self.pos(node), statement, node))
            return
        for attr in VARIABLE_LISTS:
            counted = _model_list_read(node, "len", attr, scope)
            if counted is not None:
                # len(model.trainable_variables): counted over the module's parameters (k2t.translate.model_api).
                _mark_subtree(node, self.consumed)
                var = node.args[0].value.value.value
                self.script.variable_counts.append(
                    VariableCount(counted.model, var, attr, self.pos(node), statement, node, len(counted.model.layers))
                )
                return
        counted = _model_list_read(node, "len", "layers", scope)
        if counted is not None:
            # len(model.layers): Keras's layer count, known from the architecture (k2t.translate.model_api).
            if counted.model.graph is not None:
                try:  # a model built on `base.output`, whose layers Keras lists one by one: reported
                    model_access.model_layers(self, counted.model, node)
                except _Unfollowable as exc:
                    self.todo(statement, exc.node, "K2T103", exc.message)
                    _mark_subtree(node, self.consumed)  # one diagnostic for the read
                    return
            _mark_subtree(node, self.consumed)
            self.script.layer_counts.append(
                LayerCountRead(counted.model, self.pos(node), statement, node, len(counted.model.layers))
            )
            return
        if (
            isinstance(func, cst.Name)
            and scope.factory(func.value) is not None
            and not _alone_in(statement, node)
            and not _assigned_to_a_name(statement, node)
        ):
            # `models = {w: make(w) for w in (4, 16)}`, `make(8).fit(...)`: k2t follows a model through a name only;
            # its fit/predict calls further on would stay Keras's, on a torch module.
            _mark_subtree(node, self.consumed)
            self.todo(
                statement,
                node,
                "K2T103",
                f"the model `{func.value}(...)` returns is kept where k2t cannot follow it; "
                f"assign it to a variable (`model = {func.value}(...)`) and use that",
            )
            return
        # `preds = model(x)` at the top level: Keras's inference call (a generated call_model); in a training
        # step or with training=True, k2t.parse.tape's model call.
        if (
            isinstance(func, cst.Name)
            and scope.model(func.value) is not None
            and self.called_on_data(statement, node, scope)
        ):
            instance = scope.model(func.value)
            self.consumed.add(id(func))
            if self.builds_only(statement, node) or self.built_on_keras_input(statement, node, scope):
                return
            spec_args = tuple(self.value(arg.value, scope) for arg in node.args if arg.keyword is None)
            # `training=False` (the only keyword called_on_data lets through): the mode every layer runs in.
            spec_kwargs = tuple(
                (arg.keyword.value, self.value(arg.value, scope)) for arg in node.args if arg.keyword is not None
            )
            self.script.calls.append(
                MethodCall(
                    func.value,
                    instance,
                    instance.compile,
                    "__call__",
                    self.pos(node),
                    spec_args,
                    spec_kwargs,
                    node,
                    statement,
                )
            )
            return
        if self.custom_training_call(statement, node, scope):
            return
        try:
            if self.training_helper_call(statement, node, scope):
                return
        except _Unfollowable as exc:  # `train(g_model, ...)` called where k2t cannot follow what it gets
            self.todo(statement, exc.node, "K2T103", exc.message)
            return
        helper = self.helper_call(node, scope)
        if helper is not None:
            helper.other_uses = True  # called on what is no Keras tensor: it stays a function, reported as written
        if isinstance(func, cst.Name) and scope.layer_object(func.value) is not None:
            if scope.layer_object(func.value)[0].short_name in LAYERS_CALLED_ON_DATA:
                # A generated NumPy class (k2t.translate.text_layers): `vectorize_layer(texts)` stays this call.
                self.layer_object_used(func, scope)
                return
            self.todo(
                statement, node, "K2T100", f"calling the layer `{func.value}` on data outside a model is not translated"
            )
            return
        if (
            scope.in_callback
            and isinstance(func, cst.Attribute)
            and _self_model_attribute(func) in ("predict", "evaluate")
            and _self_model_attribute(func.value) is None
        ):
            # self.model.predict(...) / self.model.evaluate(...) in a callback: the generated functions on self.model.
            _mark_subtree(func, self.consumed)
            try:
                spec = self.call(node, f"keras.Model.{func.attr.value}", scope)
            except _Unfollowable as exc:
                self.todo(statement, exc.node, "K2T171", exc.message)
                return
            self.script.callback_model_calls.append(FunctionCallSpec(spec, node))
            return
        if self.nested_model_predict(statement, node, scope):
            return
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
            instance = scope.model(func.value.value)
            if instance is not None:
                method = func.attr.value
                self.consumed.add(id(func))
                self.consumed.add(id(func.value))
                if method not in MODEL_METHODS:
                    self.todo(
                        statement,
                        node,
                        "K2T140",
                        _UNTRANSLATED_METHODS.get(method, f"model.{method}() is not translated"),
                    )
                    return
                try:
                    spec = self.call(node, f"keras.Model.{method}", scope)
                except _Unfollowable as exc:
                    self.todo(statement, exc.node, "K2T130", exc.message)
                    return
                self.script.calls.append(
                    MethodCall(
                        func.value.value,
                        instance,
                        instance.compile,
                        method,
                        spec.pos,
                        spec.args,
                        spec.kwargs,
                        node,
                        statement,
                    )
                )
                return
        if scikeras_wrapper(self, statement, node):
            return
        name = self.keras_name(func)
        if name is None:
            return
        if name in LOAD_MODEL:
            _mark_subtree(node, self.consumed)
            self.todo(
                statement,
                node,
                "K2T183",
                "k2t translates load_model() only as `variable = load_model(path)`, a statement of its own",
            )
            return
        if name == "keras.utils.plot_model" and _alone_in(statement, node):
            # A picture of the model (pydot + graphviz): nothing of the training depends on it.
            _mark_subtree(node, self.consumed)
            self.script.removed.add(id(statement))
            message = "keras.utils.plot_model() draws a diagram of the Keras model; torch has none, so the line is left out (print(model) shows the module)"
            self.script.todos.append(Todo(statement, "K2T105", message, self.pos(node), Severity.WARNING))
            return
        default = _string_argument(node) == DEFAULT_IMAGE_DATA_FORMAT or (
            name == SET_DIM_ORDERING and _string_argument(node) == "tf"
        )
        if name in _SET_IMAGE_DATA_FORMAT and _alone_in(statement, node) and default:
            # Keras 3's default already, and the layout of every module k2t writes (channels-first stays a K2T100).
            _mark_subtree(node, self.consumed)
            self.script.removed.add(id(statement))
            message = (
                f"{name}({_string_argument(node)!r}) sets Keras's default layout, the one the converted modules "
                f"take their data in, so the line is left out"
            )
            self.script.todos.append(Todo(statement, "K2T105", message, self.pos(node), Severity.WARNING))
            return
        if scikit_learn_wrapper(self, statement, node, name, scope):
            return  # KerasClassifier(build_fn=create_model, ...): a generated estimator (k2t.translate.scikit_learn)
        if name in FUNCTIONS:
            try:
                spec = self.call(node, name, scope)
            except _Unfollowable as exc:
                self.todo(statement, exc.node, "K2T100", exc.message)
                return
            self.script.functions.append(FunctionCallSpec(spec, node))
            return
        if name.startswith("keras.callbacks."):
            # A callback built outside fit(...): the translator replaces the call, the object stays where it is.
            try:
                spec = self.call(node, name, scope)
            except _Unfollowable as exc:
                self.todo(statement, exc.node, "K2T170", exc.message)
                return
            self.script.callbacks.append(FunctionCallSpec(spec, node))
            return

    def nested_model_predict(self, statement, node: cst.Call, scope: _Scope) -> bool:
        """``vae.decoder.predict(z)``: predict of a model a subclassed model holds (given to its __init__), which is
        the module's submodule of that name, shared with the script's model (k2t.parse.subclassed)."""
        func = node.func
        if not (
            isinstance(func, cst.Attribute)
            and func.attr.value == "predict"
            and isinstance(func.value, cst.Attribute)
            and isinstance(func.value.value, cst.Name)
        ):
            return False
        holder = scope.model(func.value.value.value)
        graph = holder.model.graph if holder is not None else None
        attr = func.value.attr.value
        held = next(
            (
                n.layer.model
                for n in (graph.nodes if graph is not None else ())
                if n.layer is not None and n.layer.model is not None and n.layer.attribute == attr
            ),
            None,
        )
        if held is None or holder.model.factory is None or holder.model.factory not in self.script.model_classes:
            return False
        _mark_subtree(func, self.consumed)
        try:
            spec = self.call(node, "keras.Model.predict", scope)
        except _Unfollowable as exc:
            self.todo(statement, exc.node, "K2T130", exc.message)
            return True
        var = f"{func.value.value.value}.{attr}"
        self.script.calls.append(
            MethodCall(var, Instance(held), None, "predict", spec.pos, spec.args, spec.kwargs, node, statement)
        )
        return True

    def called_on_data(self, statement, node: cst.Call, scope: _Scope) -> bool:
        """``preds = model(x)`` at the top level, on one array, ``training=False`` at most: Keras's inference
        call. Inside a function or a ``with`` block (a GradientTape's training step) it is another thing."""
        if scope.parent is not None or _inside_with(self.module, statement):
            return False
        positional = [arg for arg in node.args if arg.keyword is None and not arg.star]
        keywords = [arg for arg in node.args if arg.keyword is not None]
        if len(positional) != 1 or len(positional) + len(keywords) != len(node.args):
            return False
        if isinstance(positional[0].value, (cst.List, cst.Tuple, cst.Dict)):
            return False  # several inputs: not translated here
        return all(arg.keyword.value == "training" and self.code(arg.value).strip() == "False" for arg in keywords)

    def scan_reference(self, statement, node, scope: _Scope) -> None:
        if wrapped_model_read(self, statement, node):
            return
        read = _tensor_shape_read(node, scope)
        if read is not None and id(node) not in self.consumed:
            # `model.inputs[0].shape`, `model.output.shape`: Keras's static shapes, as model.input_shape gives them.
            var, attr, index = read
            _mark_subtree(node, self.consumed)
            self.script.shape_reads.append(
                ShapeRead(scope.model(var).model, attr, self.pos(node), statement, var, node, index)
            )
            return
        if self.static_shape_read(statement, node, scope):
            return
        if self.learning_rate(node, scope) is not None:
            self.learning_rate_reference(statement, node, scope)
            return
        name = self.keras_name(node)
        if isinstance(node, cst.Name) and node.value in self.script.layer_classes:
            name = None  # the script's own layer class as a value (`super(Attention, self)`): ordinary code
        if name is None:
            if isinstance(node, cst.Name):
                if scope.model(node.value) is not None and id(node) not in self.consumed:
                    self.consumed.add(id(node))
                    if _printed_alone(statement, node):
                        message = (
                            f"printing `{node.value}` shows the torch module's description (its submodules and "
                            "their sizes), not Keras's one line (`<Sequential name=sequential, built=True>`)"
                        )
                        self.script.todos.append(Todo(statement, "K2T143", message, self.pos(node), Severity.WARNING))
                        return
                    self.todo(
                        statement, node, "K2T140", f"use of the model object `{node.value}` here is not translated"
                    )
                elif scope.binding(node.value) is not None and id(node) not in self.consumed:
                    self.consumed.add(id(node))
                    self.todo(
                        statement, node, "K2T100", f"the Keras object `{node.value}` is used outside compile/layers"
                    )
                elif id(node) not in self.consumed and model_access.alias_used(self, statement, node, scope):
                    pass
                elif scope.layer_object(node.value) is not None and (
                    id(node) not in self.consumed or self.new_use(node, scope)
                ):
                    self.layer_object_used(node, scope)
                elif id(node) not in self.consumed and model_access.list_used(self, statement, node, scope):
                    pass
                elif (scope.tensor(node.value) is not None or scope.tensor_list(node.value) is not None) and id(
                    node
                ) not in self.consumed:
                    # A Keras tensor (or a list of them) in code k2t leaves as written: it would not exist in the output.
                    self.consumed.add(id(node))
                    what = "Keras tensor" if scope.tensor(node.value) is not None else "list of Keras tensors"
                    self.todo(
                        statement,
                        node,
                        "K2T103",
                        f"the {what} `{node.value}` is used here in a way k2t does not translate",
                    )
                elif scope.undecided_reason(node.value) is not None and id(node) not in self.consumed:
                    # `model.compile(...)` after `if flag: model = A else: model = B`: which model is not known.
                    self.consumed.add(id(node))
                    self.todo(statement, node, "K2T103", scope.undecided_reason(node.value))
            elif scope.in_callback and _self_model_attribute(node) is not None and id(node) not in self.consumed:
                _mark_subtree(node, self.consumed)
                if _is_learning_rate(node):
                    # self.model.optimizer.learning_rate, read or assigned: the torch optimizer's lr.
                    self.script.callback_learning_rates.append(node)
                elif _self_model_attribute(node) != "stop_training":
                    self.todo(
                        statement,
                        node,
                        "K2T171",
                        f"`{self.code(node)}` is Keras's model API inside a callback; k2t does not translate it",
                    )
            elif isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name):  # noqa: SIM102 - ends the chain
                if scope.model(node.value.value) is not None and id(node) not in self.consumed:
                    self.consumed.add(id(node))
                    self.consumed.add(id(node.value))
                    self.consumed.add(id(node.attr))  # `model.inputs` names no tensor `inputs`
                    if node.attr.value in ("input_shape", "output_shape"):
                        # Keras's static shapes: the generated module carries them (k2t.translate.model_api).
                        self.script.shape_reads.append(
                            ShapeRead(
                                scope.model(node.value.value).model,
                                node.attr.value,
                                self.pos(node),
                                statement,
                                node.value.value,
                            )
                        )
                        return
                    if node.attr.value == "metrics_names":
                        instance = scope.model(node.value.value)
                        self.script.metrics_names.append(
                            MetricsNamesRead(instance.model, instance.compile, self.pos(node), statement, node)
                        )
                        return
                    self.todo(statement, node, "K2T140", f"model attribute `.{node.attr.value}` is not translated")
            return
        _mark_subtree(node, self.consumed)
        if is_keras(name):
            model_access.lost_layer_names(self)  # Keras code k2t does not follow may create layers
        code = "K2T150" if is_tensorflow(name) else "K2T100"
        what = "TensorFlow API" if is_tensorflow(name) else "Keras API"
        self.todo(statement, node, code, _UNTRANSLATED_APIS.get(name, f"{what} `{name}` is not translated"))

    # ------------------------------------------------------- the learning rate
    def learning_rate(self, node: cst.CSTNode, scope: _Scope) -> tuple[str, Instance] | None:
        """``model.optimizer.learning_rate`` (or Keras 2's ``.lr``): the model variable and what it holds."""
        if (
            isinstance(node, cst.Attribute)
            and node.attr.value in ("learning_rate", "lr")
            and isinstance(node.value, cst.Attribute)
            and node.value.attr.value == "optimizer"
            and isinstance(node.value.value, cst.Name)
        ):
            instance = scope.model(node.value.value.value)
            if instance is not None:
                return node.value.value.value, instance
        return None

    def learning_rate_access(self, statement, node, target: cst.CSTNode, scope: _Scope, **write) -> None:
        model, instance = self.learning_rate(target, scope)
        _mark_subtree(target, self.consumed)
        quotes = _enclosing_quotes(statement, node) if not write else set()
        if {'"', "'"} <= quotes:
            self.todo(statement, node, "K2T140", "the learning rate inside nested f-strings is not translated")
            return
        self.script.learning_rates.append(
            LearningRateAccess(
                model,
                instance.compile,
                self.pos(node),
                node,
                statement,
                self.code(node),
                quote="'" if '"' in quotes else '"',
                **write,
            )
        )

    def learning_rate_reference(self, statement, node: cst.Attribute, scope: _Scope) -> None:
        """A read, or the target of ``model.optimizer.learning_rate = x`` (``*= x`` ...)."""
        small = (
            statement.body[0] if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1 else None
        )
        if isinstance(small, cst.Assign) and len(small.targets) == 1 and small.targets[0].target is node:
            self.learning_rate_access(statement, statement, node, scope, value=self.value(small.value, scope))
        elif isinstance(small, cst.AugAssign) and small.target is node:
            operator = self.code(small.operator).strip()
            self.learning_rate_access(
                statement, statement, node, scope, value=self.value(small.value, scope), operator=operator
            )
        else:
            self.learning_rate_access(statement, node, node, scope)

    def learning_rate_call(self, statement, node: cst.Call, scope: _Scope) -> bool:
        """``lr.assign(x)``, ``lr.numpy()``, ``keras.backend.set_value(lr, x)``, ``get_value(lr)``. True when handled."""
        func = node.func
        positional = [arg.value for arg in node.args if arg.keyword is None]
        if scope.in_callback and self.callback_learning_rate_call(statement, node, positional):
            return True
        if isinstance(func, cst.Attribute) and self.learning_rate(func.value, scope) is not None:
            target, method, value = func.value, func.attr.value, positional[0] if len(positional) == 1 else None
        elif self.keras_name(func) in ("keras.backend.set_value", "keras.backend.get_value") and positional:
            target, method = positional[0], self.keras_name(func).rsplit(".", 1)[-1]
            value = positional[1] if len(positional) == 2 else None
            if self.learning_rate(target, scope) is None:
                return False
        else:
            return False
        _mark_subtree(func, self.consumed)
        if method in ("numpy", "get_value") and len(node.args) == len(positional) == (method == "get_value"):
            self.learning_rate_access(statement, node, target, scope)
            return True
        if method in ("assign", "set_value") and value is not None and len(node.args) == len(positional):
            small = (
                statement.body[0]
                if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1
                else None
            )
            if isinstance(small, cst.Expr) and small.value is node:
                self.learning_rate_access(statement, statement, target, scope, value=self.value(value, scope))
                return True
        _mark_subtree(node, self.consumed)
        self.todo(
            statement,
            node,
            "K2T140",
            f"`{self.code(node)}` is not translated (k2t translates it as a statement of its own)",
        )
        return True

    def builds_only(self, statement, node: cst.Call) -> bool:
        """``_ = model(tf.zeros((1, 28, 28, 1)))``: a call that only builds the model (k2t.parse.subclassed reads
        its input shape there); the torch module is built at construction, so the statement goes. Its result
        read is a K2T140. True when handled."""
        data = node.args[0].value if node.args else None
        if not isinstance(data, cst.Call) or self.keras_name(data.func) not in MADE_ARRAYS:
            return False
        _mark_subtree(node, self.consumed)
        small = (
            statement.body[0] if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1 else None
        )
        unused = isinstance(small, cst.Expr) and small.value is node
        unused = unused or (
            isinstance(small, cst.Assign)
            and small.value is node
            and len(small.targets) == 1
            and isinstance(small.targets[0].target, cst.Name)
            and small.targets[0].target.value == "_"
        )
        if unused:
            self.script.removed.add(id(statement))
        else:
            message = (
                f"`{self.code(node)}` on an array TensorFlow makes is not translated (call the model on a NumPy array)"
            )
            self.todo(statement, node, "K2T140", message)
        return True

    def callback_learning_rate_call(self, statement, node: cst.Call, positional: list[cst.BaseExpression]) -> bool:
        """Keras 2's ``K.get_value(self.model.optimizer.lr)`` and ``K.set_value(self.model.optimizer.lr, v)``
        (a statement of its own) in a callback: the torch optimizer's lr read, or assigned. True when handled."""
        method = {"keras.backend.get_value": "get", "keras.backend.set_value": "set"}.get(
            self.keras_name(node.func) or ""
        )
        if (
            method is None
            or not positional
            or not _is_learning_rate(positional[0])
            or len(node.args) != len(positional)
        ):
            return False
        small = (
            statement.body[0] if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1 else None
        )
        alone = isinstance(small, cst.Expr) and small.value is node
        if (method, len(positional)) not in (("get", 1), ("set", 2)) or (method == "set" and not alone):
            return False  # reported as any Keras API is
        _mark_subtree(node.func, self.consumed)
        _mark_subtree(positional[0], self.consumed)
        self.script.callback_learning_rate_calls.append((node, statement if method == "set" else None))
        return True

    def callback_class(self, node: cst.ClassDef) -> bool:
        """``class LogLr(keras.callbacks.Callback)`` (any import spelling): recorded, True."""
        for arg in node.bases:
            if arg.keyword is None and self.keras_name(arg.value) == "keras.callbacks.Callback":
                _mark_subtree(arg.value, self.consumed)
                hooks = tuple(
                    item.name.value
                    for item in _body_of(node.body)
                    if isinstance(item, cst.FunctionDef) and item.name.value.startswith("on_")
                )
                self.script.callback_classes.append(CallbackClass(node, arg, node.name.value, hooks, self.pos(node)))
                return True
        return False

    def sequence_class(self, node: cst.ClassDef) -> None:
        """``class Batches(keras.utils.Sequence)`` / ``PyDataset``: recorded; the base goes, the body stays."""
        for arg in node.bases:
            if arg.keyword is None and self.keras_name(arg.value) in SEQUENCE_BASES:
                _mark_subtree(arg.value, self.consumed)
                self.script.sequence_classes.append(SequenceClass(node, arg, node.name.value, self.pos(node)))
                return


# Keras APIs that stay a K2T100 where the parser meets them, with the reason.
_UNTRANSLATED_APIS = {
    "keras.backend.batch_set_value": (
        "`keras.backend.batch_set_value` is translated in a metric class or a loss (torch tensors there); here its "
        "variables are Keras weights, which k2t does not map to the module's parameters (torch's layouts differ): "
        "set those with copy_ under torch.no_grad()"
    ),
    **dict.fromkeys(
        ("tensorflow.config.set_visible_devices", "tensorflow.config.experimental.set_visible_devices"),
        (
            "`tf.config.set_visible_devices` is not translated: the converted script trains on the device "
            "`k2t convert --device` fixes (auto: cuda when there is one); to hide GPUs from torch, set CUDA_VISIBLE_DEVICES "
            "in the environment the script starts in"
        ),
    ),
}
# Keras 1's spelling, which Keras 2 kept: "tf" is channels_last, "th" channels_first.
SET_DIM_ORDERING = "keras.backend.set_image_dim_ordering"
_SET_IMAGE_DATA_FORMAT = frozenset(
    {"keras.backend.set_image_data_format", "keras.config.set_image_data_format", SET_DIM_ORDERING}
)


def _string_argument(call: cst.Call) -> str | None:
    """The one positional string argument of a call (``set_image_data_format("channels_last")``), else None."""
    if len(call.args) != 1 or call.args[0].keyword is not None or not isinstance(call.args[0].value, cst.SimpleString):
        return None
    value = call.args[0].value.evaluated_value
    return value if isinstance(value, str) else None


def _alone_in(statement: cst.CSTNode, call: cst.Call) -> bool:
    """``plot_model(model)`` as a statement of its own (its value unused)."""
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Expr)
        and statement.body[0].value is call
    )


def _inside_with(module: cst.Module, statement: cst.CSTNode) -> bool:
    """Whether ``statement`` stands in the body of a ``with`` block of the module."""
    found = False

    class Finder(Visitor):
        def __init__(self) -> None:
            self.depth = 0

        def visit_With(self, node: cst.With) -> None:
            self.depth += 1

        def leave_With(self, node: cst.With) -> None:
            self.depth -= 1

        def enter(self, node: cst.CSTNode) -> bool:
            nonlocal found
            if node is statement and self.depth:
                found = True
            return not found and super().enter(node)

    module.visit(Finder())
    return found


# model.input / model.output (one tensor, or a list for several) and model.inputs / model.outputs (a list).
_MODEL_TENSORS = {"input": "input_shape", "output": "output_shape", "inputs": "input_shape", "outputs": "output_shape"}


def _tensor_shape_read(node, scope: _Scope) -> tuple[str, str, int | None] | None:
    """``model.input.shape`` -> (model, "input_shape", None); ``model.outputs[1].shape`` -> (model, "output_shape", 1)."""
    if not isinstance(node, cst.Attribute) or node.attr.value != "shape":
        return None
    inner, index = node.value, None
    if isinstance(inner, cst.Subscript):
        if len(inner.slice) != 1 or not isinstance(inner.slice[0].slice, cst.Index):
            return None
        value = inner.slice[0].slice.value
        negative = isinstance(value, cst.UnaryOperation) and isinstance(value.operator, cst.Minus)
        number = value.expression if negative else value
        if not isinstance(number, cst.Integer):
            return None
        index = -int(number.value) if negative else int(number.value)
        inner = inner.value
    if not (
        isinstance(inner, cst.Attribute) and isinstance(inner.value, cst.Name) and inner.attr.value in _MODEL_TENSORS
    ):
        return None
    if (index is None) != (inner.attr.value in ("input", "output")) or scope.model(inner.value.value) is None:
        return None
    return inner.value.value, _MODEL_TENSORS[inner.attr.value], index


# Keras's lists of a model's weights whose length k2t counts (non_trainable_variables and variables also hold
# the Dropout layers' seed states, which torch has no parameter for).
VARIABLE_LISTS = ("weights", "trainable_weights", "trainable_variables", "non_trainable_weights")


def _model_list_read(node: cst.Call, function: str, attr: str, scope: _Scope) -> Instance | None:
    """``len(model.layers)`` (function "len", attr "layers") -> what ``model`` holds; None for any other call."""
    if not (isinstance(node.func, cst.Name) and node.func.value == function and len(node.args) == 1):
        return None
    arg = node.args[0]
    value = arg.value
    if arg.keyword is not None or arg.star or not isinstance(value, cst.Attribute) or value.attr.value != attr:
        return None
    return scope.model(value.value.value) if isinstance(value.value, cst.Name) else None


def _assigned_to_a_name(statement: cst.CSTNode, call: cst.Call) -> bool:
    """``model = make(...)`` (or ``return make(...)``): the statement binds the call's value to one name."""
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return False
    small = statement.body[0]
    if isinstance(small, cst.Return):
        return small.value is call
    return (
        isinstance(small, cst.Assign)
        and small.value is call
        and len(small.targets) == 1
        and isinstance(small.targets[0].target, cst.Name)
    )


def _printed_alone(statement: cst.CSTNode, node: cst.Name) -> bool:
    """``print(model)``, ``print("model:", model)``: a print statement of its own with the model one of its
    positional arguments."""
    if not (isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1):
        return False
    expression = statement.body[0]
    call = expression.value if isinstance(expression, cst.Expr) else None
    return (
        isinstance(call, cst.Call)
        and isinstance(call.func, cst.Name)
        and call.func.value == "print"
        and any(arg.keyword is None and not arg.star and arg.value is node for arg in call.args)
    )
