"""The parser: walks the script statement by statement, with one mixin per concern."""

from __future__ import annotations

import ast
import dataclasses
import math

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider, QualifiedNameSource

from ..cst_walk import Visitor, module_syntax, qualified_names
from ..diagnostics import Severity
from ..ir import (
    NO_LITERAL,
    CompileSpec,
    Instance,
    Invocation,
    KerasCall,
    KerasScript,
    LoadSpec,
    Pos,
    ScriptCode,
    ShapeOf,
    TensorNode,
    Todo,
    Value,
)
from ..names import canonical_name, is_keras, is_tensorflow
from ..values import (
    FOLDED_BUILTINS,
    Env,
    Evaluator,
    KerasClass,
    Namespace,
    RunTimeSize,
    TensorShape,
    Unknown,
    assigned_names,
    bind_target,
    changed_names,
    held_argument_size,
    is_constant,
    item_rank,
    module_constants,
    sizes_of,
)
from ..values import (
    target_names as _target_names,
)
from . import model_access
from .classes import LAYER_BASE, layer_class
from .distribute import DistributeMixin
from .flow import FlowMixin
from .functional import FunctionalMixin
from .helpers import HelperMixin
from .layer_factories import LayerFactoryMixin
from .loads import _resolve_loads
from .loss_closures import closure_tensors, compiled_loss_names
from .makers import MakersMixin
from .models import ModelMixin
from .scan import ScanMixin
from .scope import _NOT_RETURNED, _added_to, _Frame, _Helper, _Scope, _Unfollowable
from .session_config import SessionConfigMixin
from .subclassed import SubclassedMixin
from .syntax import (
    _AUGMENTED,
    _BUILTIN_MODULES,
    _DATASET_RANKS,
    DEFAULT_IMAGE_DATA_FORMAT,
    _assigned_by,
    _body_of,
    _bound_names,
    _child_blocks,
    _local_names,
    _mark_subtree,
    _parallel,
    _parameter_names,
    body_locals,
)
from .tape import TapeMixin
from .tensor_shapes import keras_shape
from .train_step import TrainStepMixin

# The sizes of one row of each keras.datasets array (x, y), which the files fix (the number of rows aside).
_DATASET_ROW_SIZES = {
    "mnist": ((28, 28), ()),
    "fashion_mnist": ((28, 28), ()),
    "cifar10": ((32, 32, 3), (1,)),
    "cifar100": ((32, 32, 3), (1,)),
    "boston_housing": ((13,), ()),
    "california_housing": ((8,), ()),
}

# NumPy's and the standard library's product of a tuple of sizes, folded where the sizes are known.
_PRODUCTS = frozenset({"numpy.prod", "numpy.product", "math.prod"})


def parse_module(source: str) -> cst.Module:
    return cst.parse_module(source)


def parse(source: str, path: str = "<string>") -> KerasScript:
    """Describe the Keras usage of ``source``. Raises libcst.ParserSyntaxError on bad input."""
    module = cst.parse_module(source)
    return _Parser(module, path).run()


class _Parser(
    DistributeMixin, FlowMixin, FunctionalMixin, HelperMixin, LayerFactoryMixin, MakersMixin, ModelMixin, ScanMixin,
    SessionConfigMixin, SubclassedMixin, TapeMixin, TrainStepMixin,
):  # fmt: skip
    def __init__(self, module: cst.Module, path: str):
        self.last_bindings: tuple = ()  # the bindings the last evaluate() read
        self.last_tensor_reads: tuple = ()  # the names of Keras tensors whose shape the last evaluate() read
        self.last_classes: tuple = ()  # the references to Keras layer classes the last evaluate() read
        self.tensor_shapes: dict = {}  # id(TensorNode) -> its static shape (k2t.parse.tensor_shapes)
        # parse() made the module for this parser alone: no copy is needed to keep node identities unique.
        self.wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
        self.module = self.wrapper.module
        self.qualified_names = qualified_names(self.wrapper)
        self.positions = self.wrapper.resolve(PositionProvider)
        self.script = KerasScript(path=path, module=self.module, metadata=self.wrapper)
        self.compiled_losses = compiled_loss_names(self.module)  # functions a compile() takes as its loss
        self.consumed: set[int] = set()  # id() of expression nodes already described
        self.wrapper_names: set[str] = set()  # variables holding a scikit-learn wrapper (k2t.parse.scikit_learn)
        # Loops and undecided branches being walked: a model or tensor made before one of them must
        # not be extended inside it (the model would depend on how often the body runs).
        self.frames: list[_Frame] = []
        self.iteration: tuple = ()  # (loop id, index) of each unrolled loop being walked
        self.image_data_format = DEFAULT_IMAGE_DATA_FORMAT
        # Names the script gives a Keras layer class or merge function (`RNN = layers.LSTM`): the class.
        self.layer_classes: dict[str, str] = {}
        # `DefaultConv2D = partial(keras.layers.Conv2D, kernel_size=3)`: the arguments each call of the name gets first.
        self.layer_partials: dict[str, tuple[tuple[Value, ...], tuple[tuple[str, Value], ...]]] = {}
        # Module-level names bound once to a Keras module (`mnist = tf.keras.datasets.mnist`): the module.
        self.module_aliases: dict[str, str] = {}
        self._binding_counts: dict[str, int] | None = None
        self.used_bindings: set[str] = set()
        self.helpers: list[_Helper] = []  # functions taking Keras tensors or models, in definition order
        self.layer_factories: list[_Helper] = []  # functions putting a parameter into a model as a layer
        self.makers: list[_Helper] = []  # functions making a layer or a function of tensors (k2t.parse.makers)
        self.maker_calls: dict[int, set[int]] = {}  # id(maker) -> id() of its calls k2t followed
        self.maker_failures: dict[int, dict[int, int]] = {}  # id(maker) -> id() of a call k2t reported -> its line
        self.inlining: list[_Helper] = []  # the helper calls being walked, innermost last
        self.invocations: list[Invocation] = []  # the same calls, as the tensors they make record them
        self.model_api = model_access.State()  # Keras's layer names (`dense_1`) and trainable flags
        self.tape_blocks: dict[str, cst.With] = {}  # `with tf.GradientTape() as tape:` by tape name (k2t.parse.tape)
        # Undecided `if`s whose branches load a model or build one: (if, name, the loads, the built model and compile).
        self.restored_joins: list[tuple[cst.If, str, list[LoadSpec], tuple[Instance, CompileSpec | None]]] = []

    # ------------------------------------------------------------------ helpers
    def pos(self, node: cst.CSTNode) -> Pos:
        start = self.positions[node].start
        return (start.line, start.column + 1)

    def code(self, node: cst.CSTNode) -> str:
        return self.module.code_for_node(node)

    def bound_once(self, name: str) -> bool:
        """Whether the module binds ``name`` in one statement only (no other assignment, loop, import or def)."""
        if self._binding_counts is None:
            counts: dict[str, int] = {}
            for node in ast.walk(module_syntax(self.module)):
                bound = ()
                if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
                    bound = (node.id,)
                elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    bound = (node.name,)
                elif isinstance(node, ast.alias):
                    bound = ((node.asname or node.name).split(".")[0],)
                elif isinstance(node, ast.arg):
                    bound = (node.arg,)
                for item in bound:
                    counts[item] = counts.get(item, 0) + 1
            self._binding_counts = counts
        return self._binding_counts.get(name, 0) == 1

    def keras_name(self, node: cst.CSTNode) -> str | None:
        """Canonical name when ``node`` names a Keras or TensorFlow symbol."""
        if not isinstance(node, (cst.Name, cst.Attribute)):
            return None
        base = node
        while isinstance(base, cst.Attribute):
            base = base.value
        if not isinstance(base, cst.Name):
            # `tf.reduce_mean(p).numpy`: libcst names it `tensorflow.reduce_mean.numpy`, but it is a method of the
            # op's result; the op is the name (reporting the whole chain would hide the call's arguments).
            return None
        for qn in sorted(self.qualified_names(node), key=lambda q: q.name):
            if qn.source is not QualifiedNameSource.IMPORT:
                continue
            canonical = canonical_name(qn.name)
            if is_keras(canonical) or is_tensorflow(canonical):
                return canonical
        if base.value in self.module_aliases:
            # `mnist = tf.keras.datasets.mnist`, then `mnist.load_data()`: the module's name, as for an import alias.
            dotted = self.code(node).replace(" ", "")
            canonical = canonical_name(self.module_aliases[base.value] + dotted[len(base.value) :])
            if is_keras(canonical) or is_tensorflow(canonical):
                return canonical
        if isinstance(node, cst.Name):
            if node.value in self.script.layer_classes:
                return LAYER_BASE  # `class Attention(layers.Layer)`, then `Attention()(h)`
            return self.layer_classes.get(node.value)  # `RNN = layers.LSTM`, then `RNN(128)`
        return None

    def evaluate(self, node: cst.BaseExpression, scope: _Scope) -> tuple[object, bool]:
        """The value of ``node`` when the script runs (or an Unknown), and whether it reads a loop variable."""
        evaluator = Evaluator(
            scope.env,
            lambda call: self.folded_keras_call(call, scope),
            lambda name: self.tensor_shape(name, scope),
            self.keras_class_value,
            lambda name: self.sequential_shape(name, scope),
        )
        value = evaluator(node)
        self.last_bindings = tuple(evaluator.bindings)  # what it read, for Value.rebound
        self.last_tensor_reads = tuple(evaluator.tensors)  # the Keras tensors whose shape it read
        self.last_classes = tuple(evaluator.classes)  # the Keras layer classes it read as values
        return value, evaluator.transient

    def keras_class_value(self, node: cst.BaseExpression) -> KerasClass | None:
        """``layers.LSTM`` as a value: the Keras layer class it names."""
        name = self.keras_name(node)
        if name is None or not name.startswith("keras.layers.") or name == LAYER_BASE:
            return None
        short = name.rsplit(".", 1)[-1]
        return KerasClass.of(name) if short[:1].isupper() and "." not in name[len("keras.layers.") :] else None

    def class_values(self, nodes, statement) -> None:
        """References to Keras layer classes whose values k2t follows into a factory (``for cell in (layers.LSTM,
        layers.GRU): make_rnn(cell)``): torch's class of the same name stands in for each in the code that stays."""
        for node in nodes:
            if id(node) in self.consumed:
                continue
            _mark_subtree(node, self.consumed)
            known = self.keras_class_value(node)
            if known is not None:
                self.script.class_values.append((node, known, statement, self.pos(node)))

    def tensor_shape(self, name: str, scope: _Scope) -> TensorShape | None:
        """``x.shape`` of the Keras tensor ``name`` holds, as Keras gives it while the model is built (or None)."""
        tensor = scope.tensor(name)
        if tensor is None:
            return None
        return keras_shape(tensor, self.image_data_format, self.tensor_shapes)

    def sequential_shape(self, name: str, scope: _Scope) -> TensorShape | None:
        """``model.output_shape`` of the Sequential model ``name`` holds, with the layers added so far (Keras 2's
        imdb_fasttext: ``model.add(AveragePooling1D(pool_length=model.output_shape[1]))``), or None."""
        instance = scope.model(name)
        model = instance.model if instance is not None else None
        if model is None or model.graph is not None or model.unfollowed or not model.layers:
            return None
        if any(layer.model is not None or not layer.name.startswith("keras.layers.") for layer in model.layers):
            return None
        shape = model.input_shape or _first_layer_input(model.layers[0])
        if shape is None:
            return None
        node = TensorNode(model.var or "inputs", model.pos, None, id(model), input_shape=shape)
        for layer in model.layers:
            node = TensorNode(node.var, layer.pos, layer, id(layer), (node,))
        return keras_shape(node, self.image_data_format, {})

    def folded_keras_call(self, node: cst.Call, scope: _Scope | None = None) -> object | None:
        if (
            scope is not None
            and self.keras_name(node.func) == "keras.backend.int_shape"
            and len(node.args) == 1
            and isinstance(node.args[0].value, cst.Name)
        ):
            return self.tensor_shape(node.args[0].value.value, scope)  # `K.int_shape(x)[-1]`: as `x.shape[-1]`
        if (
            self.keras_name(node.func) in ("keras.backend.image_data_format", "keras.config.image_data_format")
            and not node.args
        ):
            return self.image_data_format
        if (
            self.keras_name(node.func) == "keras.backend.image_dim_ordering"
            and not node.args
            and self.image_data_format is not None
        ):
            return "tf" if self.image_data_format == "channels_last" else "th"  # Keras 1's names, which Keras 2 kept
        if scope is not None and len(node.args) == 1 and node.args[0].keyword is None and not node.args[0].star:
            # `Dense(np.prod((28, 28, 1)))`, `Reshape(...)` sizes from `np.prod(img_shape)`: the product of known sizes
            names = {qn.name for qn in self.qualified_names(node.func) if qn.source is QualifiedNameSource.IMPORT}
            if names & _PRODUCTS:
                sizes, _ = self.evaluate(node.args[0].value, scope)
                if isinstance(sizes, (tuple, list)) and all(type(size) is int for size in sizes):
                    return math.prod(sizes)
        return None

    def value(self, node: cst.BaseExpression, scope: _Scope) -> Value:
        given = model_access.input_shape_value(self, node, scope)
        if given is not None:
            return given  # `keras.Input(shape=model.input_shape[1:])`: the shape the model's Input was given
        code = self.code(node)
        literal = NO_LITERAL
        shape_of = None
        read: tuple = ()
        try:
            literal = ast.literal_eval(code.strip())
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            if not isinstance(node, cst.Lambda) and not (
                isinstance(node, cst.Call) and self.keras_name(node.func) is not None
            ):
                known, transient = self.evaluate(node, scope)
                bindings = self.last_bindings
                held = held_argument_size(known) if transient and not isinstance(known, RunTimeSize) else None
                if held is not None:
                    # `Reshape((num_users, 1))` in a keras.Model subclass given `num_users`: the display's code reads
                    # __init__'s parameter, which does not exist where the module is built.
                    raise _Unfollowable(
                        node, f"`{code.strip()}` is not known where the model is built: {held.reason()}"
                    )
                if isinstance(known, RunTimeSize):
                    # `Conv1D(filters=inputs.shape[-1])` of an Input sized by the data: the code that reads the size
                    # where the model is built (a constructor parameter), not the Keras tensor's.
                    return Value(
                        known.code,
                        self.pos(node),
                        bindings=known.bindings,
                        parameter=known.parameter or None,
                    )
                if not isinstance(known, Unknown) and is_constant(known):
                    return dataclasses.replace(
                        self._known_value(node, code, known, transient, scope), bindings=bindings
                    )
                if isinstance(known, Unknown) and transient:
                    # A loop variable or a helper's parameter: it does not exist where the model is built,
                    # so the code cannot stay as written, and k2t does not know the value to write instead.
                    raise _Unfollowable(node, f"`{code.strip()}` is not known where the model is built: {known.reason}")
                if isinstance(known, Unknown) and not transient:
                    tensor = next((name for name in _read_names(node) if scope.tensor(name) is not None), None)
                    if tensor is not None:
                        # `Conv1D(filters=inputs.shape[-1])`: the code would stay as written, reading a Keras
                        # tensor that does not exist where the module is built (a NameError when run).
                        raise _Unfollowable(
                            node,
                            f"`{code.strip()}` reads the Keras tensor `{tensor}`, which k2t does not translate here; write the size as a number or a variable",
                        )
                    shape_of = known.shape  # `input_shape=x_train.shape[1:]`: sizes the generated module receives
                    read = bindings
        keras_ref = None
        keras_call = None
        elements = None
        if isinstance(node, cst.Call):
            name = self.keras_name(node.func)
            if name is not None:
                keras_call = self.call(node, name, scope)
        elif isinstance(node, (cst.Name, cst.Attribute)):
            keras_ref = self.keras_name(node)
            if keras_ref is not None:
                _mark_subtree(node, self.consumed)
            elif isinstance(node, cst.Name):
                bound = scope.binding(node.value)
                if bound is not None:
                    self.used_bindings.add(node.value)
                    if isinstance(bound[0], Value):
                        # `METRICS = [keras.metrics.AUC(), "accuracy"]`, then `metrics=METRICS`: the list's items.
                        return dataclasses.replace(bound[0], code=code, pos=self.pos(node))
                    if isinstance(bound[0], KerasCall):
                        keras_call = bound[0]
                    else:
                        keras_ref = bound[0]
        elif isinstance(node, (cst.List, cst.Tuple)):
            elements = tuple(self.value(el.value, scope) for el in node.elements if isinstance(el, cst.Element))
        items = None
        if isinstance(node, cst.Dict) and all(isinstance(el, cst.DictElement) for el in node.elements):
            keys = []
            for el in node.elements:
                try:
                    keys.append(ast.literal_eval(self.code(el.key).strip()))
                except (ValueError, SyntaxError):
                    keys = None
                    break
            if keys is not None:
                items = tuple((key, self.value(el.value, scope)) for key, el in zip(keys, node.elements))
        return Value(
            code=code,
            pos=self.pos(node),
            literal=literal,
            keras_ref=keras_ref,
            keras_call=keras_call,
            elements=elements,
            items=items,
            shape_of=shape_of,
            source=self._script_code(node, scope) if keras_ref is None and keras_call is None else None,
            bindings=read,
        )

    def _script_code(self, node: cst.BaseExpression, scope: _Scope) -> ScriptCode | None:
        """The script's own code behind a lambda or a plain name (``Lambda(fn)``), for converters that translate it."""
        if isinstance(node, cst.Lambda):
            # The values known here, as they are here: the names may be rebound after this line.
            env = Env(scope.env.parent, dict(scope.env.names))
            return ScriptCode(node, self.script, scope.function, env)
        if isinstance(node, cst.Name):
            return ScriptCode(node, self.script, scope.function, scope.env)  # a top-level def reads the module's names
        return None

    def _known_value(self, node: cst.BaseExpression, code: str, known, transient: bool, scope: _Scope) -> Value:
        """A value held in variables (``input_shape``, ``filters * 2``) whose value k2t knows.

        The code stays as the script wrote it, so that a size in a variable the
        script defines before building the model stays a constructor parameter
        of that name; a loop variable (of an unrolled loop or a comprehension)
        does not exist where the model is built, so its code is the value itself.
        """
        if transient:
            code = repr(known)
        elements = None
        if isinstance(node, (cst.Tuple, cst.List)) and all(isinstance(el, cst.Element) for el in node.elements):
            elements = tuple(self.value(el.value, scope) for el in node.elements)  # `(SIZE, SIZE, 3)`: each as written
        elif isinstance(known, (tuple, list)):
            elements = tuple(Value(code=repr(v), pos=self.pos(node), literal=v) for v in known)
        return Value(code=code, pos=self.pos(node), literal=known, elements=elements)

    def held_cell(self, node: cst.BaseExpression, scope: _Scope) -> Value | None:
        """``cell = MinimalRNNCell(4)``, then ``RNN(cell)``: the cell of the script's own class, as if written in the
        RNN's call; where it is followed is kept (LayerObject.followed) for the RNN's checks that nothing else reads it."""
        held = scope.layer_object(node.value) if isinstance(node, cst.Name) else None
        if held is None or held[0].layer_class is None or held[0].bound is None:
            return None
        self.consumed.add(id(node))
        if self.pos(node) not in held[0].bound.followed:  # a model's layers may be read more than once
            held[0].bound.followed.append(self.pos(node))
        return Value(code=self.code(node), pos=self.pos(node), keras_call=held[0])

    def call(self, node: cst.Call, name: str, scope: _Scope) -> KerasCall:
        self.consumed.add(id(node))
        _mark_subtree(node.func, self.consumed)
        args = []
        kwargs = []
        for arg in node.args:
            if arg.star:
                raise _Unfollowable(node, f"`{self.code(node)}` passes *args/**kwargs, which k2t cannot follow")
            is_cell = name == "keras.layers.RNN" and (
                arg.keyword.value == "cell" if arg.keyword is not None else not args
            )
            val = (self.held_cell(arg.value, scope) if is_cell else None) or self.value(arg.value, scope)
            wrapped = name == "keras.layers.TimeDistributed" and (
                arg.keyword.value == "layer" if arg.keyword is not None else not args
            )
            if wrapped and isinstance(arg.value, cst.Name) and scope.model(arg.value.value) is not None:
                val = dataclasses.replace(
                    val, keras_call=self.nested_model(arg.value, scope)
                )  # TimeDistributed(frame_model)
            if arg.keyword is None:
                args.append(val)
            else:
                kwargs.append((arg.keyword.value, val))
        partial = self.layer_partials.get(node.func.value) if isinstance(node.func, cst.Name) else None
        if partial is not None:  # functools.partial's order: its arguments first, the call's keywords over its own
            given = {key for key, _ in kwargs}
            args = [*partial[0], *args]
            kwargs = [(key, value) for key, value in partial[1] if key not in given] + kwargs
        keras_name = model_access.keras_layer_name(self, node, name, kwargs, scope)
        custom = (
            self.script.layer_classes.get(node.func.value)
            if isinstance(node.func, cst.Name) and name == LAYER_BASE
            else None
        )
        return KerasCall(
            name=name,
            args=tuple(args),
            kwargs=tuple(kwargs),
            pos=self.pos(node),
            keras_name=keras_name,
            layer_class=custom,
        )

    def todo(self, statement: cst.CSTNode, node: cst.CSTNode, code: str, message: str) -> None:
        pos = self.pos(node)
        if any(
            t.statement is statement and t.code == code and t.message == message and t.pos == pos
            for t in self.script.todos
        ):
            return  # the body of a helper walked once per call says it once
        self.script.todos.append(Todo(statement, code, message, self.pos(node)))

    # ------------------------------------------------------------------- walk
    def run(self) -> KerasScript:
        self.script.module_names = _bound_names(self.module)
        self.find_strategies()  # before the walk: a strategy's constructor is no untranslated TensorFlow call
        self.find_session_configuration()  # TensorFlow 1's GPU-memory options: nothing PyTorch needs
        self.find_memory_growth()  # TensorFlow 2's GPU memory growth: PyTorch allocates as tensors need it
        module_scope = _Scope()
        self.block(self.module.body, module_scope)
        self.script.module_constants = module_constants(self.module, module_scope.env)
        for helper in self.helpers:
            if helper.trains and helper.inlined and not helper.other_uses:
                continue  # its definition stays, with the lines the walks translated
            if helper.inlined and not helper.other_uses:
                self.script.helper_functions.add(id(helper.node))
            else:  # never called on Keras tensors: its body is ordinary code, with what it holds reported
                self.walk_definition(helper.node, helper.scope)
        self.walk_uncalled_layer_factories()
        self.finish_makers()
        _resolve_loads(self.script)
        model_access.drop_inlined_pipelines(self)
        self.check_restored_joins()
        _name_followers(self.script.todos)
        # Keras object bindings nobody used stay visible as TODOs rather than vanishing.
        return self.script

    def block(self, body, scope: _Scope) -> None:
        for stmt in body:
            if scope.inline is not None and scope.inline.returned is not _NOT_RETURNED:
                return  # after a helper's `return`, nothing of its body runs
            self.statement(stmt, scope)

    def statement(self, stmt: cst.CSTNode, scope: _Scope) -> None:
        if isinstance(stmt, cst.SimpleStatementLine):
            if len(stmt.body) == 1:
                self.simple(stmt, stmt.body[0], scope)
            else:
                for small in stmt.body:
                    self.simple(stmt, small, scope)
            return
        if isinstance(stmt, cst.FunctionDef) and model_access.layer_pipeline_function(self, stmt, scope):
            return  # `def data_augmentation(images): for layer in layer_list: ...`: a Sequential of the list
        if isinstance(stmt, cst.FunctionDef) and not scope.in_class and not stmt.decorators:
            if self.define_maker(stmt, scope):
                return  # `def conv(filters): return Conv2D(filters, 3, ...)`: followed where `conv(16)(x)` applies it
            graph = self.graph_parameters(stmt, scope)
            trained = self.trained_parameters(stmt) if not graph else frozenset()
            if trained:
                # `def compile_and_fit(model, name): model.compile(...); return model.fit(...)`: walked at each call.
                helper = _Helper(stmt, scope, trained, trains=True)
                scope.helpers[stmt.name.value] = helper
                self.helpers.append(helper)
                scope.env.forget([stmt.name.value], f"`{stmt.name.value}` is a function")
                return
            if graph:
                # `def conv_bn(x, filters): ...`: its layers exist once per call, made where it is called.
                self.script.function_locals[stmt.name.value] = _local_names(self.code(stmt))
                helper = _Helper(stmt, scope, graph)
                scope.helpers[stmt.name.value] = helper
                self.helpers.append(helper)
                scope.env.forget([stmt.name.value], f"`{stmt.name.value}` is a function")
                return
            if self.define_layer_factory(stmt, scope):
                return  # `def build(norm): Sequential([norm, ...])`: walked where it is called
        if isinstance(stmt, cst.ClassDef) and self.model_class(stmt, scope):
            return  # its methods run when Keras builds the model: walked where the script makes one
        if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
            self.walk_definition(stmt, scope)
            return
        if isinstance(stmt, cst.If):
            self.if_statement(stmt, scope)
            return
        if isinstance(stmt, cst.For):
            self.for_statement(stmt, scope)
            return
        if isinstance(stmt, cst.With) and self.tape_block(stmt, scope):
            return
        # Other compound statements (while/with/try): check their headers, walk their bodies.
        for attr in ("test", "iter", "items"):
            header = getattr(stmt, attr, None)
            if header is not None:
                self.scan_expressions(stmt, header, scope)
        if isinstance(stmt, cst.While):
            self.in_frame(_Frame(stmt, "a `while` loop", scope), lambda: self.block(_body_of(stmt.body), scope))
            for child in _child_blocks(stmt.orelse) if stmt.orelse is not None else ():
                self.block(child, scope)
            scope.env.forget(assigned_names(stmt), "rebound in a `while` loop", supersede=False)
            return
        for child in _child_blocks(stmt):
            self.block(child, scope)
        if isinstance(stmt, cst.Try):
            scope.env.forget(assigned_names(stmt), "bound in a `try` statement", supersede=False)

    def walk_definition(self, stmt: cst.FunctionDef | cst.ClassDef, scope: _Scope) -> None:
        """A function or class body, walked where it is defined (its parameters unknown)."""
        if isinstance(stmt, cst.FunctionDef):
            self.script.function_locals[stmt.name.value] = _local_names(self.code(stmt))
        if isinstance(stmt, cst.FunctionDef):
            self.tf_function_decorators(stmt)
        self.scan_expressions(stmt, stmt.decorators, scope)
        inner = _Scope(scope, stmt.name.value if isinstance(stmt, cst.FunctionDef) else None)
        if isinstance(stmt, cst.FunctionDef) and scope.parent is None and stmt.name.value in self.compiled_losses:
            closed = closure_tensors(self, stmt, scope)
            if closed:
                # Keras 2's VAE loss: the tensors it reads come from the forward pass (k2t.translate.loss_closures);
                # its body is code of torch tensors, not more of the model's graph.
                self.script.loss_closures[stmt.name.value] = closed
                for tensor in closed:
                    inner.tensors[tensor.name] = None
        if isinstance(stmt, cst.FunctionDef):
            for name in body_locals(self.code(stmt)):
                # A name the body binds is a local throughout it: `z_mean, _, _ = encoder.predict(data)` in a
                # function reads no module-level Keras tensor `z_mean`.
                inner.tensors[name] = None
                inner.tensor_lists[name] = None
            for name in _parameter_names(stmt.params):
                # A parameter hides the module's Keras tensor of that name (`def train_step(x, y)` after `x = Dense(8)(inputs)`).
                inner.tensors[name] = None
                # `def make_model(input_shape): keras.Input(input_shape)`: its sizes, read in the function.
                inner.env.bind(
                    name, Unknown(f"a parameter of {stmt.name.value}()", shape=ShapeOf(name, 0, None, sequence=True))
                )
        if isinstance(stmt, cst.ClassDef):
            custom = layer_class(stmt, self.script, self.keras_name, self.pos(stmt)) if scope.parent is None else None
            if custom is not None:
                self.script.layer_classes[custom.name] = custom
            inner.in_class = True
            inner.in_callback = self.callback_class(stmt) or inner.in_callback
            self.sequence_class(stmt)
        frames, self.frames = self.frames, []  # a body runs when called, not in the enclosing loop
        try:
            self.block(_body_of(stmt.body), inner)
        finally:
            self.frames = frames
        if inner.function is not None and inner.function in inner.factories:
            scope.factories[inner.function] = inner.factories.pop(inner.function)
        scope.env.forget([stmt.name.value], f"`{stmt.name.value}` is a {'function' if inner.function else 'class'}")
        settings = _settings_class(stmt, inner, self.module)
        if settings is not None:
            scope.env.bind(stmt.name.value, settings)

    def simple(self, line: cst.SimpleStatementLine, small: cst.BaseSmallStatement, scope: _Scope) -> None:
        try:
            self._simple(line, small, scope)
        finally:
            self.bind_values(small, scope)
            for name in _assigned_by(small):
                scope.undecided.pop(name, None)

    def bind_values(self, small: cst.BaseSmallStatement, scope: _Scope) -> None:
        """What the statement leaves in its variables, for the expressions after it (k2t.values)."""
        # A helper's locals do not exist where the generated module is built: code uses their values.
        # A training helper's body stays a function: its locals are the code there.
        local = scope.inline is not None and not (self.inlining and self.inlining[-1].trains)
        if isinstance(small, cst.Assign):
            value, _ = self.evaluate(small.value, scope)
            value = self.dataset_arrays(small.value) or value
            for target in small.targets:
                if isinstance(value, Unknown) and _parallel(target.target, small.value):
                    # `x_train, x_test = x_train / 255.0, x_test / 255.0`: what each side knows (an array's rank).
                    parts = [self.evaluate(el.value, scope)[0] for el in small.value.elements]
                    for element, part in zip(target.target.elements, parts):
                        bind_target(scope.env, element.value, part, local)
                    continue
                value = sizes_of(target.target, small.value, value)  # `input_shape = (height, width, channels)`
                if isinstance(target.target, cst.Name) and scope.tensor(target.target.value) is not None:
                    # `inputs = keras.Input(shape=(inputs.shape[1],))`: a Keras tensor's line goes into the module,
                    # so where the module is built the name still holds what the shape read.
                    scope.env.bind(target.target.value, value, local, supersede=False)
                    continue
                bind_target(scope.env, target.target, value, local)
        elif isinstance(small, cst.AnnAssign) and small.value is not None:
            bind_target(scope.env, small.target, self.evaluate(small.value, scope)[0], local)
        elif isinstance(small, cst.AugAssign):
            operator = _AUGMENTED.get(type(small.operator))
            value = Unknown("updated in place")
            if operator is not None:
                value, _ = self.evaluate(cst.BinaryOperation(small.target, operator(), small.value), scope)
            bind_target(scope.env, small.target, value, local)
        elif isinstance(small, (cst.Import, cst.ImportFrom)):
            names = assigned_names(small)
            if (
                isinstance(small, cst.ImportFrom)
                and small.module is not None
                and self.code(small.module) in _BUILTIN_MODULES
            ):
                # `from six.moves import range` (Keras 2 era scripts): the builtin itself.
                same = (
                    {a.name.value for a in small.names if isinstance(a.name, cst.Name) and a.asname is None}
                    if not isinstance(small.names, cst.ImportStar)
                    else set()
                )
                for name in same & set(FOLDED_BUILTINS):
                    scope.env.names.pop(name, None)
                names -= same & set(FOLDED_BUILTINS)
            scope.env.forget(names, "imported")
        elif isinstance(small, (cst.Global, cst.Nonlocal)):
            scope.env.forget([item.name.value for item in small.names], "declared global")
        elif isinstance(small, cst.Del):
            scope.env.forget(_target_names(small.target), "deleted")
        elif isinstance(small, cst.Expr):
            self.image_data_format_set(small.value)
        appended = _appended(small)
        for name in sorted(changed_names(small)):
            # `sizes.append(16)`: the list k2t knew is not what the name holds now (nor what its aliases hold).
            scope.env.appended(name, item_rank(appended[1], scope.env) if appended and appended[0] == name else None)
            scope.env.forget_changed(name, f"`{name}` is changed in place on line {self.pos(small)[0]}")

    def dataset_arrays(self, node: cst.BaseExpression):
        """``keras.datasets.mnist.load_data()``: ((x_train, y_train), (x_test, y_test)), each an array
        whose number of axes Keras fixes (what an `input_shape=x_train.shape[1:]` later needs)."""
        if not isinstance(node, cst.Call):
            return None
        name = self.keras_name(node.func) or ""
        dataset = name.removeprefix("keras.datasets.").removesuffix(".load_data")
        ranks = _DATASET_RANKS.get(dataset) if name.endswith(".load_data") else None
        if ranks is None:
            return None
        sizes = _DATASET_ROW_SIZES.get(dataset, (None, None))
        x, y = (
            Unknown(f"the arrays of keras.datasets.{dataset}", rank=rank, sizes=row)
            for rank, row in zip(ranks, sizes)
        )
        return (x, y), (x, y)

    def image_data_format_set(self, node: cst.BaseExpression) -> None:
        if isinstance(node, cst.Call) and self.keras_name(node.func) in (
            "keras.backend.set_image_data_format", "keras.config.set_image_data_format"
        ):  # fmt: skip
            value = node.args[0].value if node.args else None
            self.image_data_format = ast.literal_eval(self.code(value)) if isinstance(value, cst.SimpleString) else None
        elif isinstance(node, cst.Call) and self.keras_name(node.func) == "keras.backend.set_image_dim_ordering":
            value = node.args[0].value if node.args else None
            ordering = ast.literal_eval(self.code(value)) if isinstance(value, cst.SimpleString) else None
            self.image_data_format = {"tf": "channels_last", "th": "channels_first"}.get(ordering)

    def _simple(self, line: cst.SimpleStatementLine, small: cst.BaseSmallStatement, scope: _Scope) -> None:
        if isinstance(small, (cst.Import, cst.ImportFrom)):
            self.import_statement(line, small)
            return
        if self.layer_class_choice(line, small, scope):
            return  # `lookup_class = layers.StringLookup if is_string else layers.IntegerLookup` in a helper
        root = self.follows_from(small, scope)
        if root is not None:
            self.dependent_statement(line, small, scope, root)
            return
        try:
            if self.model_statement(line, small, scope):
                self.script.model_statements.add(id(line))
                return
        except _Unfollowable as exc:
            self.todo(line, exc.node, "K2T103", exc.message)
            # What the statement assigns is no model or tensor k2t knows: a later use must not reach an
            # older value of the name (a layer k2t could not follow would silently go missing).
            for name in _assigned_by(small):
                scope.tensors[name] = None
                scope.models[name] = None
                scope.untranslated[name] = line  # what uses it later follows from here
            extended = _added_to(small, scope)
            if extended is not None:  # the model lacks that layer: it must not be translated without it
                extended.unfollowed = f"line {self.pos(small)[0]}: {exc.message}"
            return
        self.scan_expressions(line, small, scope)

    def follows_from(self, small: cst.BaseSmallStatement, scope: _Scope) -> cst.CSTNode | None:
        """The root-cause statement a Keras statement depends on: it reads a tensor or model that an
        untranslated statement bound (``h = tf.some_op(h)`` then ``layers.Dense(16)(h)``). None otherwise."""
        read = _statement_reads(small)
        if read is None:
            return None
        for name in sorted(_read_names(read)):
            root = scope.untranslated_root(name)
            if root is not None and self.reported(root) and (self.mentions_keras(read) or _calls_method_of(read, name)):
                return root
        return None

    def reported(self, statement: cst.CSTNode) -> bool:
        """Did k2t report an untranslated construct (an error) on this statement?"""
        return any(todo.statement is statement and todo.severity is Severity.ERROR for todo in self.script.todos)

    def mentions_keras(self, node: cst.CSTNode) -> bool:
        found = []

        class Finder(Visitor):
            def visit_Attribute(inner, attribute: cst.Attribute) -> bool:
                if self.keras_name(attribute) is not None:
                    found.append(attribute)
                    return False
                return True

            def visit_Name(inner, name: cst.Name) -> None:
                if self.keras_name(name) is not None or name.value in self.layer_classes:
                    found.append(name)

        node.visit(Finder())
        return bool(found)

    def dependent_statement(self, line, small: cst.BaseSmallStatement, scope: _Scope, root: cst.CSTNode) -> None:
        """A statement that uses what an untranslated statement bound: one TODO comment naming the root
        cause's line, no diagnostic of its own (the root's is the one to act on), and its names follow too."""
        at = self.pos(root)[0]
        message = f"follows from line {at}, which k2t did not translate: this line stays as written"
        self.script.todos.append(Todo(line, "K2T103", message, self.pos(small), follows=at))
        keras = self.mentions_keras(small)
        for name in _assigned_by(small):
            scope.tensors[name] = None
            scope.models[name] = None
            # A Keras tensor or model stays untranslated downstream; `history = model.fit(...)` is data.
            scope.untranslated[name] = root if keras else None
        extended = _added_to(small, scope)
        if extended is not None:
            extended.unfollowed = f"line {self.pos(small)[0]} follows from line {at}, which k2t did not translate"

    def import_statement(self, line: cst.SimpleStatementLine, small: cst.Import | cst.ImportFrom) -> None:
        if isinstance(small, cst.ImportFrom):
            if small.module is None:
                return
            mod = canonical_name(self.code(small.module))
            if is_keras(mod) or is_tensorflow(mod) or (mod == "tensorflow"):
                self.script.uses_keras = True
                self.script.import_rewrites[id(small)] = None
                if mod == "keras.callbacks" and not isinstance(small.names, cst.ImportStar):
                    # The import goes and the generated class of that name takes its place.
                    self.script.callback_imports.update(
                        self.code(alias.asname.name if alias.asname is not None else alias.name)
                        for alias in small.names
                    )
            return
        keep = []
        for alias in small.names:
            mod = canonical_name(self.code(alias.name))
            if is_keras(mod) or is_tensorflow(mod):
                self.script.uses_keras = True
            else:
                keep.append(alias)
        if len(keep) != len(small.names):
            if keep:
                keep[-1] = keep[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
                self.script.import_rewrites[id(small)] = small.with_changes(names=keep)
            else:
                self.script.import_rewrites[id(small)] = None


def _name_followers(todos: list[Todo]) -> None:
    """The root cause's diagnostic names the lines that follow from it (which have no diagnostic of their own)."""
    followers: dict[int, list[int]] = {}
    for todo in todos:
        if todo.follows is not None:
            followers.setdefault(todo.follows, []).append(todo.pos[0])
    for line, lines in followers.items():
        root = next((t for t in todos if t.follows is None and t.pos[0] == line and t.severity is Severity.ERROR), None)
        if root is not None:
            listed = ", ".join(str(n) for n in sorted(set(lines)))
            root.message += f" (line{'s' * (len(set(lines)) > 1)} {listed} depend{'s' * (len(set(lines)) == 1)} on it and stay as written)"


def _first_layer_input(layer: KerasCall) -> Value | None:
    """The sample shape a Sequential's first layer declares: ``input_shape=(8,)``, ``input_dim=8``, an Embedding's
    ``input_length=400``; None where it declares none or k2t cannot read it."""
    shape = layer.kwarg("input_shape")
    if shape is not None:
        return shape if shape.elements is not None else None
    size = layer.kwarg("input_length") if layer.short_name == "Embedding" else layer.kwarg("input_dim")
    if size is None or layer.short_name == "Embedding" and layer.kwarg("input_length") is None:
        return None
    return Value(f"({size.code},)", size.pos, (size.literal,) if size.is_literal else NO_LITERAL, elements=(size,))


def _appended(small: cst.BaseSmallStatement) -> tuple[str, cst.BaseExpression] | None:
    """``rows.append(item)`` as a statement of its own: (the list's name, the item)."""
    if not (isinstance(small, cst.Expr) and isinstance(small.value, cst.Call)):
        return None
    call = small.value
    if not (
        isinstance(call.func, cst.Attribute)
        and call.func.attr.value == "append"
        and isinstance(call.func.value, cst.Name)
        and len(call.args) == 1
        and call.args[0].keyword is None
        and not call.args[0].star
    ):
        return None
    return call.func.value.value, call.args[0].value


def _statement_reads(small: cst.BaseSmallStatement) -> cst.CSTNode | None:
    """The part of a statement that reads values (an assignment's value, an expression), or None."""
    if isinstance(small, (cst.Assign, cst.AnnAssign, cst.Return)):
        return small.value
    if isinstance(small, cst.AugAssign):
        return cst.BinaryOperation(small.target, cst.Add(), small.value)
    if isinstance(small, cst.Expr):
        return small.value
    return None


def _calls_method_of(node: cst.CSTNode, name: str) -> bool:
    """``model.fit(...)`` / ``model.compile(...)`` on ``name``."""
    found = []

    class Finder(Visitor):
        def visit_Call(self, call: cst.Call) -> None:
            func = call.func
            if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value == name:
                found.append(call)

    node.visit(Finder())
    return bool(found)


def _read_names(node: cst.BaseExpression) -> set[str]:
    """The names an expression reads (``inputs.shape[-1]`` -> {inputs}), not attribute names or lambda parameters."""
    found: set[str] = set()

    class Reader(Visitor):
        def visit_Name(self, name: cst.Name) -> None:
            found.add(name.value)

        def visit_Attribute(self, attribute: cst.Attribute) -> bool:
            attribute.value.visit(self)
            return False

        def visit_Lambda(self, lambda_: cst.Lambda) -> bool:
            return False

    node.visit(Reader())
    return found


def _settings_class(stmt, inner: _Scope, module: cst.Module) -> Namespace | None:
    """``class CFG: units = [32, 16]; lr = 1e-3``: a class with no base, whose body only binds names, and whose
    attributes the script never assigns (``CFG.lr = ...``): its values, as the script reads them (``CFG.units``)."""
    if (
        not isinstance(stmt, cst.ClassDef)
        or stmt.decorators
        or any(not (isinstance(base.value, cst.Name) and base.value.value == "object") for base in stmt.bases)
    ):
        return None
    names: list[str] = []
    for line in _body_of(stmt.body):
        if not isinstance(line, cst.SimpleStatementLine):
            return None
        for small in line.body:
            if isinstance(small, (cst.Pass, cst.Expr)) and (
                isinstance(small, cst.Pass) or isinstance(small.value, cst.SimpleString)
            ):
                continue
            if isinstance(small, (cst.Assign, cst.AnnAssign)):
                targets = [t.target for t in small.targets] if isinstance(small, cst.Assign) else [small.target]
                if not all(isinstance(t, cst.Name) for t in targets):
                    return None
                names.extend(t.value for t in targets)
                continue
            return None
    if _attribute_assigned(module, stmt.name.value):
        return None
    return Namespace(
        stmt.name.value,
        tuple((name, inner.env.names[name].value) for name in dict.fromkeys(names) if name in inner.env.names),
    )


def _attribute_assigned(module: cst.Module, name: str) -> bool:
    """Whether the script assigns an attribute of the class or of one of its instances (``CFG.epochs = 5``;
    ``cfg = CFG()``, then ``cfg.lr *= 2``)."""
    owners = {name}
    targets: list[cst.BaseExpression] = []

    class Finder(Visitor):
        def visit_Assign(self, node: cst.Assign) -> None:
            call = node.value
            if isinstance(call, cst.Call) and isinstance(call.func, cst.Name) and call.func.value == name:
                owners.update(t.target.value for t in node.targets if isinstance(t.target, cst.Name))

        def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
            targets.append(node.target)

        def visit_AugAssign(self, node: cst.AugAssign) -> None:
            targets.append(node.target)

        def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
            targets.append(node.target)

    module.visit(Finder())
    return any(
        isinstance(t, cst.Attribute) and isinstance(t.value, cst.Name) and t.value.value in owners for t in targets
    )
