"""Stage 1: read a script with libcst and describe its Keras usage faithfully.

The result keeps references to the CST nodes it describes so that the emit
stage can rewrite exactly those spots and leave every other byte alone.
"""

from __future__ import annotations

import ast
import dataclasses
import re
from dataclasses import dataclass, field

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider, QualifiedNameProvider, QualifiedNameSource

from . import model_access
from .diagnostics import Diagnostic, Severity
from .ir import (
    NO_LITERAL,
    CompileSpec,
    FreezeSpec,
    Graph,
    Instance,
    KerasCall,
    LayerObject,
    LoadSpec,
    LearningRateAccess,
    MethodCall,
    ModelSpec,
    Pos,
    ShapeOf,
    TensorNode,
    Value,
)
from .names import canonical_name, is_keras, is_tensorflow
from .values import Env, Evaluator, Unknown, assigned_names, bind_target, is_constant
from .values import FOLDED_BUILTINS
from .values import target_names as _target_names

MODEL_METHODS = (
    "fit", "evaluate", "predict", "summary", "save", "save_weights", "load_weights", "predict_classes", "predict_proba",
    "count_params",
)
# Every spelling of Keras's model loader (tf.keras.models.load_model, from-imports) folds into these.
LOAD_MODEL = ("keras.models.load_model", "keras.saving.load_model")
# Keras symbols whose objects a script may bind to a name and pass later.
BINDABLE_PREFIXES = (
    "keras.optimizers.",
    "keras.losses.",
    "keras.metrics.",
    "keras.regularizers.",
    "keras.initializers.",
    "keras.activations.",
)
# Keras/TensorFlow functions the translator replaces wherever they are called.
FUNCTIONS = (
    "keras.utils.set_random_seed",
    "keras.utils.to_categorical",
    "keras.utils.pad_sequences",
    "keras.utils.clear_session",
    "tensorflow.random.set_seed",
    "keras.backend.image_data_format",
    "keras.config.image_data_format",
    *(f"keras.datasets.{name}.load_data" for name in ("mnist", "fashion_mnist", "cifar10", "cifar100", "imdb", "reuters")),
    *(f"keras.datasets.{name}.load_data" for name in ("boston_housing", "california_housing")),
    *("keras.datasets.imdb.get_word_index", "keras.datasets.reuters.get_word_index", "keras.datasets.reuters.get_label_names"),
)
# Keras 3's image data format unless the script sets another (keras.config.set_image_data_format).
DEFAULT_IMAGE_DATA_FORMAT = "channels_last"


@dataclass
class FunctionCallSpec:
    call: KerasCall
    node: cst.Call = field(repr=False, compare=False)


@dataclass
class CallbackClass:
    """A script class subclassing keras.callbacks.Callback: kept as written, its base replaced."""

    node: cst.ClassDef = field(repr=False, compare=False)
    base: cst.Arg = field(repr=False, compare=False)  # the keras.callbacks.Callback base, in any spelling
    name: str
    hooks: tuple[str, ...]  # the on_* methods it defines
    pos: Pos


@dataclass
class Todo:
    """An unsupported construct: where it is and what to say about it."""

    statement: cst.CSTNode = field(repr=False, compare=False)
    code: str
    message: str
    pos: Pos
    # A warning converts (no TODO comment, exit code 0) but says where the result may differ from Keras.
    severity: Severity = Severity.ERROR

    def __post_init__(self) -> None:
        # The message becomes a `# TODO(k2t): ...` comment and a `path:line:col:` record: both are one line.
        self.message = one_line_message(self.message)


# A quoted piece of the script longer than this is cut in a message (a whole multi-line call says nothing more).
_QUOTE_LIMIT = 80
_QUOTED = re.compile(r"`([^`]*)`")


def one_line_message(message: str) -> str:
    """``message`` on one line: quoted multi-line code joined as it reads, long quotes cut with `...`."""
    message = re.sub(r"([(\[{])\s*(?:\r\n|\r|\n)\s*", r"\1", message)  # `Dense(\n    3` -> `Dense(3`
    message = re.sub(r"\s*(?:\r\n|\r|\n)\s*([)\]}])", r"\1", message)  # `3,\n)` -> `3,)`
    message = re.sub(r"\s*(?:\r\n|\r|\n)\s*", " ", message)

    def shorten(match: re.Match[str]) -> str:
        quoted = match.group(1)
        return match.group(0) if len(quoted) <= _QUOTE_LIMIT else f"`{quoted[: _QUOTE_LIMIT - 4].rstrip()} ...`"

    return _QUOTED.sub(shorten, message)


@dataclass
class KerasScript:
    path: str
    module: cst.Module = field(repr=False)
    models: list[ModelSpec] = field(default_factory=list)
    compiles: list[CompileSpec] = field(default_factory=list)
    calls: list[MethodCall] = field(default_factory=list)
    functions: list[FunctionCallSpec] = field(default_factory=list)
    callbacks: list[FunctionCallSpec] = field(default_factory=list)  # keras.callbacks.X(...) outside fit(...)
    callback_classes: list[CallbackClass] = field(default_factory=list)
    callback_imports: set[str] = field(default_factory=set)  # names bound by `from keras.callbacks import ...`
    # `self.model.optimizer.learning_rate` inside callback classes (read or assigned).
    callback_learning_rates: list[cst.Attribute] = field(default_factory=list, repr=False)
    callback_model_calls: list[FunctionCallSpec] = field(default_factory=list)  # self.model.predict/evaluate(...)
    removed: set[int] = field(default_factory=set)  # id() of statements to drop
    # id() of `if` statements decided statically (on keras.backend.image_data_format()) -> the branch
    # that runs: "body", "orelse", or None when neither does; emit keeps only that branch.
    decided_ifs: dict[int, str | None] = field(default_factory=dict)
    unrolled: set[int] = field(default_factory=set)  # id() of `for` loops unrolled into a model
    tensor_nodes: list[TensorNode] = field(default_factory=list, repr=False)  # every layer call on Keras tensors
    helper_functions: set[int] = field(default_factory=set)  # id() of functions walked at each call into models
    model_statements: set[int] = field(default_factory=set)  # id() of statements that build, extend or compile models
    # `h = inputs`: statements naming a Keras tensor again; they go when a translated model holds the tensor.
    tensor_aliases: list[tuple[cst.CSTNode, TensorNode]] = field(default_factory=list, repr=False)
    import_rewrites: dict[int, cst.BaseSmallStatement | None] = field(default_factory=dict)
    todos: list[Todo] = field(default_factory=list)
    layer_objects: list[LayerObject] = field(default_factory=list)  # layers the script keeps in variables
    loads: list[LoadSpec] = field(default_factory=list)  # `var = keras.models.load_model(path)`
    learning_rates: list[LearningRateAccess] = field(default_factory=list)  # model.optimizer.learning_rate
    freezes: list[FreezeSpec] = field(default_factory=list)  # `layer.trainable = False` (k2t.model_access)
    uses_keras: bool = False
    module_names: set[str] = field(default_factory=set)
    function_locals: dict[str, set[str]] = field(default_factory=dict)  # function name -> its parameters and local names
    # The metadata of ``module`` (scopes, positions) as the parser resolved it: emit reads it again.
    metadata: MetadataWrapper | None = field(default=None, repr=False)

    def diagnostics(self) -> list[Diagnostic]:
        return [Diagnostic(self.path, t.pos[0], t.pos[1], t.code, t.message) for t in self.todos]


class _Scope:
    def __init__(self, parent: _Scope | None = None, function: str | None = None):
        self.parent = parent
        self.function = function  # name of the function whose body this is
        self.models: dict[str, Instance] = {}
        self.bindings: dict[str, tuple[KerasCall | str, cst.CSTNode]] = {}
        self.factories: dict[str, Instance] = {}  # functions defined here that return a model
        self.tensors: dict[str, TensorNode] = {}  # Functional API: symbolic tensors by variable
        self.layer_objects: dict[str, tuple[KerasCall, int, cst.CSTNode]] = {}  # `dense = layers.Dense(8)`
        # Functions that take Keras tensors or models (`def conv_bn(x, filters): ...`): walked where called.
        self.helpers: dict[str, _Helper] = {}
        # The body of such a function being walked for one call: where its `return` goes.
        self.inline: _Inline | None = None
        self.in_class = False  # a class body: its functions are methods, not helpers
        self.layer_lists: dict[str, model_access.LayerList | None] = {}  # `hidden = [layers.Dense(64), ...]`
        # Names that hold one of several models or tensors, made in the branches of an `if` k2t cannot decide: why.
        self.undecided: dict[str, str] = {}
        # Inside a subclass of keras.callbacks.Callback: `self.model.<attr>` is Keras's model there.
        self.in_callback: bool = parent.in_callback if parent is not None else False
        # The values of the names bound so far (k2t.values); a function's body sees its module's.
        self.env = Env(parent.env if parent is not None else None)

    def tensor(self, name: str) -> TensorNode | None:
        scope: _Scope | None = self
        while scope is not None:
            if name in scope.tensors:
                return scope.tensors[name]
            scope = scope.parent
        return None

    def layer_object(self, name: str):
        scope: _Scope | None = self
        while scope is not None:
            if name in scope.layer_objects:
                return scope.layer_objects[name]
            scope = scope.parent
        return None

    def factory(self, name: str) -> Instance | None:
        scope: _Scope | None = self
        while scope is not None:
            if name in scope.factories:
                return scope.factories[name]
            scope = scope.parent
        return None

    def model(self, name: str) -> Instance | None:
        scope: _Scope | None = self
        while scope is not None:
            if name in scope.models:
                return scope.models[name]
            scope = scope.parent
        return None

    def helper(self, name: str) -> _Helper | None:
        scope: _Scope | None = self
        while scope is not None:
            if name in scope.helpers:
                return scope.helpers[name]
            scope = scope.parent
        return None

    def undecided_reason(self, name: str) -> str | None:
        """Why ``name`` holds no model k2t knows, when an undecided `if` left it one of several."""
        scope: _Scope | None = self
        while scope is not None:
            if name in scope.undecided:
                return scope.undecided[name]
            if name in scope.models or name in scope.tensors:
                return None
            scope = scope.parent
        return None

    def binding(self, name: str) -> tuple[KerasCall | str, cst.CSTNode] | None:
        scope: _Scope | None = self
        while scope is not None:
            if name in scope.bindings:
                return scope.bindings[name]
            scope = scope.parent
        return None


def parse_module(source: str) -> cst.Module:
    return cst.parse_module(source)


def parse(source: str, path: str = "<string>") -> KerasScript:
    """Describe the Keras usage of ``source``. Raises libcst.ParserSyntaxError on bad input."""
    module = cst.parse_module(source)
    return _Parser(module, path).run()


class _Parser:
    def __init__(self, module: cst.Module, path: str):
        # parse() made the module for this parser alone: no copy is needed to keep node identities unique.
        self.wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
        self.module = self.wrapper.module
        self.qnames = self.wrapper.resolve(QualifiedNameProvider)
        self.positions = self.wrapper.resolve(PositionProvider)
        self.script = KerasScript(path=path, module=self.module, metadata=self.wrapper)
        self.consumed: set[int] = set()  # id() of expression nodes already described
        # Loops and undecided branches being walked: a model or tensor made before one of them must
        # not be extended inside it (the model would depend on how often the body runs).
        self.frames: list[_Frame] = []
        self.iteration: tuple = ()  # (loop id, index) of each unrolled loop being walked
        self.image_data_format = DEFAULT_IMAGE_DATA_FORMAT
        # Names the script gives a Keras layer class or merge function (`RNN = layers.LSTM`): the class.
        self.layer_classes: dict[str, str] = {}
        self.used_bindings: set[str] = set()
        self.helpers: list[_Helper] = []  # functions taking Keras tensors or models, in definition order
        self.inlining: list[_Helper] = []  # the helper calls being walked, innermost last
        self.model_api = model_access.State()  # Keras's layer names (`dense_1`) and trainable flags
        # Undecided `if`s whose branches load a model or build one: (if, name, the loads, the built model and compile).
        self.restored_joins: list[tuple[cst.If, str, list[LoadSpec], tuple[Instance, CompileSpec | None]]] = []

    # ------------------------------------------------------------------ helpers
    def pos(self, node: cst.CSTNode) -> Pos:
        start = self.positions[node].start
        return (start.line, start.column + 1)

    def code(self, node: cst.CSTNode) -> str:
        return self.module.code_for_node(node)

    def keras_name(self, node: cst.CSTNode) -> str | None:
        """Canonical name when ``node`` names a Keras or TensorFlow symbol."""
        if not isinstance(node, (cst.Name, cst.Attribute)):
            return None
        names = self.qnames.get(node, set())
        if callable(names):  # libcst computes qualified names lazily
            names = names()
        for qn in sorted(names, key=lambda q: q.name):
            if qn.source is not QualifiedNameSource.IMPORT:
                continue
            canonical = canonical_name(qn.name)
            if is_keras(canonical) or is_tensorflow(canonical):
                return canonical
        if isinstance(node, cst.Name):
            return self.layer_classes.get(node.value)  # `RNN = layers.LSTM`, then `RNN(128)`
        return None

    def evaluate(self, node: cst.BaseExpression, scope: _Scope) -> tuple[object, bool]:
        """The value of ``node`` when the script runs (or an Unknown), and whether it reads a loop variable."""
        evaluator = Evaluator(scope.env, self.folded_keras_call)
        value = evaluator(node)
        return value, evaluator.transient

    def folded_keras_call(self, node: cst.Call) -> object | None:
        if self.keras_name(node.func) in ("keras.backend.image_data_format", "keras.config.image_data_format") and not node.args:
            return self.image_data_format
        return None

    def value(self, node: cst.BaseExpression, scope: _Scope) -> Value:
        code = self.code(node)
        literal = NO_LITERAL
        shape_of = None
        try:
            literal = ast.literal_eval(code.strip())
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            if not isinstance(node, cst.Lambda) and not (isinstance(node, cst.Call) and self.keras_name(node.func) is not None):
                known, transient = self.evaluate(node, scope)
                if not isinstance(known, Unknown) and is_constant(known):
                    return self._known_value(node, code, known, transient, scope)
                if isinstance(known, Unknown) and transient:
                    # A loop variable or a helper's parameter: it does not exist where the model is built,
                    # so the code cannot stay as written, and k2t does not know the value to write instead.
                    raise _Unfollowable(node, f"`{code.strip()}` is not known where the model is built: {known.reason}")
                if isinstance(known, Unknown) and not transient:
                    shape_of = known.shape  # `input_shape=x_train.shape[1:]`: sizes the generated module receives
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
        )

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

    def call(self, node: cst.Call, name: str, scope: _Scope) -> KerasCall:
        self.consumed.add(id(node))
        _mark_subtree(node.func, self.consumed)
        args = []
        kwargs = []
        for arg in node.args:
            if arg.star:
                raise _Unfollowable(node, f"`{self.code(node)}` passes *args/**kwargs, which k2t cannot follow")
            val = self.value(arg.value, scope)
            if arg.keyword is None:
                args.append(val)
            else:
                kwargs.append((arg.keyword.value, val))
        keras_name = model_access.keras_layer_name(self, node, name, kwargs, scope)
        return KerasCall(name=name, args=tuple(args), kwargs=tuple(kwargs), pos=self.pos(node), keras_name=keras_name)

    def todo(self, statement: cst.CSTNode, node: cst.CSTNode, code: str, message: str) -> None:
        pos = self.pos(node)
        if any(t.statement is statement and t.code == code and t.message == message and t.pos == pos for t in self.script.todos):
            return  # the body of a helper walked once per call says it once
        self.script.todos.append(Todo(statement, code, message, self.pos(node)))

    # ------------------------------------------------------------------- walk
    def run(self) -> KerasScript:
        self.script.module_names = _bound_names(self.module)
        self.block(self.module.body, _Scope())
        for helper in self.helpers:
            if helper.inlined and not helper.other_uses:
                self.script.helper_functions.add(id(helper.node))
            else:  # never called on Keras tensors: its body is ordinary code, with what it holds reported
                self.walk_definition(helper.node, helper.scope)
        _resolve_loads(self.script)
        self.check_restored_joins()
        # Keras object bindings nobody used stay visible as TODOs rather than vanishing.
        return self.script

    def check_restored_joins(self) -> None:
        """An `if` that loads a model in one branch and builds one in the other: the same model only when
        the file holds the built model (and, loaded with its compile(), was saved with the same one)."""
        for stmt, name, restored, (instance, compile_spec) in self.restored_joins:
            for load in restored:
                if load.model is None:
                    continue  # the load has its own diagnostic (K2T180)
                if load.model is not instance.model or (load.compile and load.saved_compile is not compile_spec):
                    self.todo(
                        stmt,
                        stmt.test,
                        "K2T103",
                        f"`{name}` holds, after `if {self.code(stmt.test)}`, the model loaded from `{load.path.code}` "
                        "or one built in another branch, which k2t cannot tell are the same",
                    )

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
        if isinstance(stmt, cst.FunctionDef) and not scope.in_class and not stmt.decorators:
            graph = self.graph_parameters(stmt, scope)
            if graph:
                # `def conv_bn(x, filters): ...`: its layers exist once per call, made where it is called.
                self.script.function_locals[stmt.name.value] = _local_names(self.code(stmt))
                helper = _Helper(stmt, scope, graph)
                scope.helpers[stmt.name.value] = helper
                self.helpers.append(helper)
                scope.env.forget([stmt.name.value], f"`{stmt.name.value}` is a function")
                return
        if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
            self.walk_definition(stmt, scope)
            return
        if isinstance(stmt, cst.If):
            self.if_statement(stmt, scope)
            return
        if isinstance(stmt, cst.For):
            self.for_statement(stmt, scope)
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
            scope.env.forget(assigned_names(stmt), "rebound in a `while` loop")
            return
        for child in _child_blocks(stmt):
            self.block(child, scope)
        if isinstance(stmt, cst.Try):
            scope.env.forget(assigned_names(stmt), "bound in a `try` statement")

    def walk_definition(self, stmt: cst.FunctionDef | cst.ClassDef, scope: _Scope) -> None:
        """A function or class body, walked where it is defined (its parameters unknown)."""
        if isinstance(stmt, cst.FunctionDef):
            self.script.function_locals[stmt.name.value] = _local_names(self.code(stmt))
        self.scan_expressions(stmt, stmt.decorators, scope)
        inner = _Scope(scope, stmt.name.value if isinstance(stmt, cst.FunctionDef) else None)
        if isinstance(stmt, cst.FunctionDef):
            for name in _parameter_names(stmt.params):
                # `def make_model(input_shape): keras.Input(input_shape)`: its sizes, read in the function.
                inner.env.bind(name, Unknown(f"a parameter of {stmt.name.value}()", shape=ShapeOf(name, 0, None, sequence=True)))
        if isinstance(stmt, cst.ClassDef):
            inner.in_class = True
            inner.in_callback = self.callback_class(stmt) or inner.in_callback
        frames, self.frames = self.frames, []  # a body runs when called, not in the enclosing loop
        try:
            self.block(_body_of(stmt.body), inner)
        finally:
            self.frames = frames
        if inner.function is not None and inner.function in inner.factories:
            scope.factories[inner.function] = inner.factories.pop(inner.function)
        scope.env.forget([stmt.name.value], f"`{stmt.name.value}` is a {'function' if inner.function else 'class'}")

    # ------------------------------------------------------- branches and loops
    def in_frame(self, frame: _Frame, walk) -> None:
        self.frames.append(frame)
        try:
            walk()
        finally:
            self.frames.pop()

    def carried(self, what: str, node: cst.CSTNode) -> None:
        """Raise when ``node`` extends a model or tensor made before the innermost loop or undecided branch."""
        if self.frames:
            frame = self.frames[-1]
            raise _Unfollowable(node, f"{what} inside {frame.kind} k2t cannot unroll or decide: the model would depend on it")

    def outer(self, scope: _Scope, *, model: str | None = None, tensor: str | None = None) -> bool:
        """Whether ``model`` / ``tensor`` was made before the innermost loop or undecided branch."""
        if not self.frames:
            return False
        frame = self.frames[-1]
        if model is not None:
            instance = scope.model(model)
            return instance is not None and id(instance.model) in frame.models
        return tensor is not None and tensor in frame.tensors

    def if_statement(self, stmt: cst.If, scope: _Scope) -> None:
        self.scan_expressions(stmt, stmt.test, scope)
        test, _ = self.evaluate(stmt.test, scope)
        if not isinstance(test, Unknown) and self.decides(stmt, scope):
            # `if K.image_data_format() == "channels_first":` runs one branch in Keras 3: only that branch is kept.
            live = "body" if test else ("orelse" if stmt.orelse is not None else None)
            if not self.inlining:  # a helper's body is walked per call: its `if` stays as written
                self.script.decided_ifs[id(stmt)] = live
            if live == "body":
                self.block(_body_of(stmt.body), scope)
            elif live == "orelse":
                orelse = stmt.orelse
                self.block([orelse] if isinstance(orelse, cst.If) else _body_of(orelse.body), scope)
            return
        before = assigned_names(stmt)
        frame = _Frame(stmt, f"an `if` on `{self.code(stmt.test)}`", scope)
        made_before = _made_so_far(scope)
        self.in_frame(frame, lambda: self.block(_body_of(stmt.body), scope))
        made_in_body = _made_so_far(scope)
        if stmt.orelse is not None:
            orelse = stmt.orelse
            _restore(scope, made_before)  # the `else` branch starts from what existed before the `if`
            self.in_frame(frame, lambda: self.block([orelse] if isinstance(orelse, cst.If) else _body_of(orelse.body), scope))
        made_in_orelse = _made_so_far(scope) if stmt.orelse is not None else made_before
        if isinstance(test, Unknown):
            self.join_branches(stmt, scope, made_before, (made_in_body, made_in_orelse))
        else:  # Python runs one branch: its models and tensors are what the names hold after the `if`.
            _restore(scope, made_in_body if test else made_in_orelse)
        if not isinstance(test, Unknown) or not before:
            return
        scope.env.forget(before, f"bound under `if {self.code(stmt.test)}`, which k2t cannot decide")

    def decides(self, stmt: cst.If, scope: _Scope) -> bool:
        """Whether an `if` whose test k2t knows is decided (one branch walked, the other dropped): on the
        image data format, in a helper walked for one call (`if downsample:`), or where a branch builds on
        a model or tensor made before it (`if USE_BN: model.add(...)`); other `if`s stay as written."""
        if _reads_image_data_format(stmt.test, self) or scope.inline is not None:
            return True
        branches = [_body_of(stmt.body)]
        orelse = stmt.orelse
        if orelse is not None:
            branches.append([orelse] if isinstance(orelse, cst.If) else _body_of(orelse.body))
        return any(_extends_outer_models(branch, scope, self) for branch in branches)
    def join_branches(self, stmt: cst.If, scope: _Scope, made_before: _Made, branches: tuple[_Made, _Made]) -> None:
        """After an `if` k2t cannot decide: a name that holds a different model (or compile()) or Keras
        tensor in each branch holds one k2t cannot know, and every later use of it is reported."""
        joined: _Made = ({}, {})
        loads = {id(load.instance.model): load for load in self.script.loads}
        for kind in (0, 1):
            before = made_before[kind]
            states = [branch[kind] for branch in branches]
            for name in set().union(before, *states):
                # What the name may hold after the `if`: one value per branch (a name a branch leaves unbound
                # is no candidate; one it rebinds to something else than a model or tensor is `_REBOUND`).
                candidates = [state.get(name, _REBOUND) for state in states if name in state or name in before]
                restored = [v for v in candidates if kind == 0 and v[0] is not None and id(v[0].model) in loads]
                built = [v for v in candidates if v not in restored]
                if restored and built and len({_identity(v) for v in built}) == 1 and built[0] is not _REBOUND:
                    # `if exists(path): model = load_model(path) else: model = build(); model.save(path)`: the same
                    # model when the file holds the built one, which is known only once every save is (run()).
                    self.restored_joins.append((stmt, name, [loads[id(v[0].model)] for v in restored], built[0]))
                    candidates = built
                if len({_identity(value) for value in candidates}) > 1:
                    joined[kind][name] = (None, None) if kind == 0 else None
                    scope.undecided[name] = f"`{name}` holds a different model, compile() or Keras tensor in each branch of `if {self.code(stmt.test)}`, which k2t cannot decide"
                elif candidates and candidates[0] is not _REBOUND:
                    joined[kind][name] = candidates[0]
        _restore(scope, joined)

    def for_statement(self, stmt: cst.For, scope: _Scope) -> None:
        if model_access.freeze_loop(self, stmt, scope):  # `for layer in base.layers[:k]: layer.trainable = False`
            return
        self.scan_expressions(stmt, stmt.iter, scope)
        items, _ = self.evaluate(stmt.iter, scope)
        body = _body_of(stmt.body)
        unrollable = stmt.orelse is None and not _jumps(body)  # break/continue/return: iterations differ
        if _extends_outer_models(body, scope, self) and not isinstance(items, Unknown) and unrollable:
            # `for units in (64, 32): model.add(layers.Dense(units))`: one layer per iteration.
            try:
                items = list(items)
            except TypeError:
                items = None
            if items is not None and len(items) <= 1000:
                self.script.unrolled.add(id(stmt))
                for index, item in enumerate(items):
                    bind_target(scope.env, stmt.target, item, transient=True)
                    self.iteration = (*self.iteration, (id(stmt), index))
                    try:
                        self.block(body, scope)
                    finally:
                        self.iteration = self.iteration[:-1]
                return
        names = assigned_names(stmt)
        reason = f"`{self.code(stmt.iter)}` is not a sequence k2t knows" if isinstance(items, Unknown) else "a loop variable"
        scope.env.forget(names, reason)
        frame = _Frame(stmt, f"a loop over `{self.code(stmt.iter)}`", scope)
        self.in_frame(frame, lambda: self.block(body, scope))
        if stmt.orelse is not None:
            self.block(_body_of(stmt.orelse.body), scope)
        scope.env.forget(names, "rebound in a loop")

    def layer_key(self, node: cst.CSTNode) -> object:
        """The identity of the layer object a call creates: one per iteration of an unrolled loop."""
        return (id(node), self.iteration) if self.iteration else id(node)

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
        local = scope.inline is not None
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
            if isinstance(small, cst.ImportFrom) and small.module is not None and self.code(small.module) in _BUILTIN_MODULES:
                # `from six.moves import range` (Keras 2 era scripts): the builtin itself.
                same = {a.name.value for a in small.names if isinstance(a.name, cst.Name) and a.asname is None} if not isinstance(small.names, cst.ImportStar) else set()
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
        x, y = (Unknown(f"the arrays of keras.datasets.{dataset}", rank=rank) for rank in ranks)
        return (x, y), (x, y)

    def image_data_format_set(self, node: cst.BaseExpression) -> None:
        if isinstance(node, cst.Call) and self.keras_name(node.func) in (
            "keras.backend.set_image_data_format", "keras.config.set_image_data_format"
        ):  # fmt: skip
            value = node.args[0].value if node.args else None
            self.image_data_format = ast.literal_eval(self.code(value)) if isinstance(value, cst.SimpleString) else None

    def _simple(self, line: cst.SimpleStatementLine, small: cst.BaseSmallStatement, scope: _Scope) -> None:
        if isinstance(small, (cst.Import, cst.ImportFrom)):
            self.import_statement(line, small)
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
            extended = _added_to(small, scope)
            if extended is not None:  # the model lacks that layer: it must not be translated without it
                extended.unfollowed = f"line {self.pos(small)[0]}: {exc.message}"
            return
        self.scan_expressions(line, small, scope)

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
                        self.code(alias.asname.name if alias.asname is not None else alias.name) for alias in small.names
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

    def model_statement(self, line: cst.SimpleStatementLine, small: cst.BaseSmallStatement, scope: _Scope) -> bool:
        """Model construction, .add, .compile and Keras object bindings. True when handled."""
        if isinstance(small, cst.Expr) and isinstance(small.value, cst.Call) and self.keras_name(small.value.func) == "keras.utils.clear_session":
            self.model_api.names.reset(certain=not self.frames and not model_access.in_function(scope))
        if model_access.layer_list_statement(self, line, small, scope) or model_access.freeze_statement(self, line, small, scope):
            return True
        if self.functional_statement(line, small, scope):
            return True
        if isinstance(small, cst.Return) and scope.inline is not None:
            self.helper_return(line, small, scope)
            return True
        if isinstance(small, cst.Expr) and isinstance(small.value, cst.Call) and self.helper_call(small.value, scope) is not None:
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
            made = scope.factory(small.value.func.value)
            if made is not None:
                scope.models[small.targets[0].target.value] = Instance(made.model, made.compile)
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
                if name is not None and name.startswith(BINDABLE_PREFIXES):
                    scope.bindings[target] = (self.call(value, name, scope), line)
                    self.script.removed.add(id(line))
                    return True
            elif isinstance(value, (cst.Name, cst.Attribute)):
                name = self.keras_name(value)
                if name is not None and name.startswith("keras.layers.") and (
                    name.rsplit(".", 1)[-1][:1].isupper() or name.rsplit(".", 1)[-1] in MERGE_FUNCTIONS
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
            if scope.tensor(target) is not None:
                scope.tensors[target] = None
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

    # ------------------------------------------------------------ Functional API
    def functional_statement(self, line, small, scope: _Scope) -> bool:
        """``x = keras.Input(...)``, ``x = layer(...)(tensors)``, ``layer = layers.Dense(8)``, ``m = keras.Model(...)``."""
        if self.input_tuple(line, small, scope):
            return True
        if self.helper_tuple(line, small, scope):
            return True
        if self.tensor_arithmetic(line, small, scope):
            return True
        if not (isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name)):
            return False
        target = small.targets[0].target.value
        value = small.value
        if isinstance(value, cst.Name) and scope.tensor(value.value) is not None:
            # `x = inputs`: another name for the same Keras tensor; the statement goes with the model.
            if self.outer(scope, tensor=target):
                self.carried(f"`{target} = {value.value}`", value)
            self.consumed.add(id(value))
            scope.tensors[target] = scope.tensor(value.value)
            self.script.tensor_aliases.append((line, scope.tensors[target]))
            return True
        if not isinstance(value, cst.Call):
            return False
        name = self.keras_name(value.func)
        if name == "keras.Input":
            node = self.input_node(line, target, value, scope)
            scope.tensors[target] = node
            return True
        if name == "keras.Model":
            model = self.functional_model(line, target, value, scope)
            scope.models[target] = Instance(model)
            return True
        if name is not None and name.startswith("keras.layers.") and name[len("keras.layers.") :][:1].isupper():
            # A layer object kept for later calls (shared layers).
            layer = self.bind_layer_object(target, self.call(value, name, scope), line)
            scope.layer_objects[target] = (layer, self.layer_key(value), line)
            self.script.removed.add(id(line))
            return True
        if self.is_tensor_expression(value, scope):
            if self.outer(scope, tensor=target):
                self.carried(f"`{target} = ...` (a Keras tensor made before it)", value)
            node = self.tensor_expression(line, target, value, scope)
            scope.tensors[target] = node
            return True
        return False

    def tensor_arithmetic(self, line, small, scope: _Scope) -> bool:
        """``x += residual``, ``x = a + b``, ``x = a * gate``: Keras applies add / subtract / multiply to
        Keras tensors, as its Add / Subtract / Multiply layers do."""
        if isinstance(small, cst.AugAssign) and isinstance(small.target, cst.Name) and scope.tensor(small.target.value) is not None:
            merge = _TENSOR_OPERATORS.get(type(small.operator).__name__.removesuffix("Assign"))
            target, left, right, node = small.target.value, small.target, small.value, small
        elif (
            isinstance(small, cst.Assign)
            and len(small.targets) == 1
            and isinstance(small.targets[0].target, cst.Name)
            and isinstance(small.value, cst.BinaryOperation)
            and (self._symbolic(small.value.left, scope) or self._symbolic(small.value.right, scope))
        ):
            merge = _TENSOR_OPERATORS.get(type(small.value.operator).__name__)
            target, left, right, node = small.targets[0].target.value, small.value.left, small.value.right, small.value
        else:
            return False
        if merge is None or not (self._symbolic(left, scope) and self._symbolic(right, scope)):
            raise _Unfollowable(node, f"`{self.code(node).strip()}` on a Keras tensor is not translated (k2t follows +, - and * of two tensors)")
        if self.outer(scope, tensor=target):
            self.carried(f"`{target}` updated", node)
        scope.tensors[target] = self.tensor_operation(line, target, node, merge, left, right, scope)
        return True

    def input_tuple(self, line, small, scope: _Scope) -> bool:
        """``left, right = keras.Input(shape=(8,)), keras.Input(shape=(8,))``."""
        if not (isinstance(small, cst.Assign) and len(small.targets) == 1):
            return False
        target, value = small.targets[0].target, small.value
        if not (isinstance(target, (cst.Tuple, cst.List)) and isinstance(value, (cst.Tuple, cst.List))):
            return False
        names = [el.value for el in target.elements]
        values = [el.value for el in value.elements]
        if len(names) != len(values) or not all(isinstance(n, cst.Name) for n in names):
            return False
        if not all(isinstance(v, cst.Call) and self.keras_name(v.func) == "keras.Input" for v in values):
            return False
        for name, call in zip(names, values):
            scope.tensors[name.value] = self.input_node(line, name.value, call, scope)
        return True

    def is_tensor_expression(self, node: cst.BaseExpression, scope: _Scope) -> bool:
        """A call of a layer (``layers.Dense(8)(x)``, ``shared(x)``, ``layers.add([a, b])``) on symbolic tensors."""
        if not isinstance(node, cst.Call):
            return False
        func = node.func
        if isinstance(func, cst.Call):
            name = self.keras_name(func.func)
            return name is not None and name.startswith("keras.layers.")
        if isinstance(func, cst.Name) and scope.layer_object(func.value) is not None:
            return True
        if self.helper_call(node, scope) is not None:
            return any(self._symbolic(arg.value, scope) for arg in node.args)
        if isinstance(func, cst.Name) and scope.model(func.value) is not None:
            # `base(inputs)` on symbolic tensors nests the model; `model(x_test)` on arrays does not.
            return bool(node.args) and self._symbolic(node.args[0].value, scope)
        name = self.keras_name(func)
        return name is not None and name.startswith("keras.layers.") and name.rsplit(".", 1)[-1] in MERGE_FUNCTIONS

    def _symbolic(self, node: cst.BaseExpression, scope: _Scope) -> bool:
        if isinstance(node, cst.BinaryOperation) and type(node.operator).__name__ in _TENSOR_OPERATORS:
            return self._symbolic(node.left, scope) and self._symbolic(node.right, scope)
        if isinstance(node, (cst.List, cst.Tuple)):
            return bool(node.elements) and all(self._symbolic(el.value, scope) for el in node.elements)
        if isinstance(node, cst.Name):
            return scope.tensor(node.value) is not None
        return self.is_tensor_expression(node, scope)

    def tensor_argument(self, line, target: str, node: cst.BaseExpression, scope: _Scope) -> TensorNode:
        if isinstance(node, cst.Name):
            tensor = scope.tensor(node.value)
            if tensor is None:
                raise _Unfollowable(node, f"`{node.value}` is not a Keras tensor k2t can follow")
            self.consumed.add(id(node))
            return tensor
        if self.is_tensor_expression(node, scope):
            return self.tensor_expression(line, target, node, scope)
        if isinstance(node, cst.BinaryOperation) and self._symbolic(node, scope):
            return self.tensor_operation(line, target, node, _TENSOR_OPERATORS[type(node.operator).__name__], node.left, node.right, scope)
        raise _Unfollowable(node, f"`{self.code(node)}` is not a Keras tensor k2t can follow")

    def tensor_operation(self, line, target: str, node, merge: str, left, right, scope: _Scope) -> TensorNode:
        inputs = (self.tensor_argument(line, target, left, scope), self.tensor_argument(line, target, right, scope))
        layer = KerasCall(f"keras.layers.{merge}", (), (), self.pos(node))
        return self.made(TensorNode(target, self.pos(node), layer, self.layer_key(node), inputs, True, statement=line))

    def tensor_expression(self, line, target: str, node: cst.Call, scope: _Scope) -> TensorNode:
        func = node.func
        helper = self.helper_call(node, scope)
        if helper is not None:
            returned = self.inline_helper(line, node, helper, scope, target)
            if not isinstance(returned, TensorNode):
                raise _Unfollowable(node, f"{helper.name}() does not return one Keras tensor here")
            self.script.tensor_aliases.append((line, returned))  # the call's statement goes with the model
            return returned
        if isinstance(func, cst.Call):
            layer = self.call(func, self.keras_name(func.func), scope)
            layer_id = self.layer_key(func)
        elif isinstance(func, cst.Name) and scope.layer_object(func.value) is not None:
            layer, layer_id, _ = scope.layer_object(func.value)
            self.consumed.add(id(func))
        elif isinstance(func, cst.Name) and scope.model(func.value) is not None:
            layer = self.nested_model(func, scope)  # `features = base(inputs)`: a model called like a layer
            layer_id = id(layer.model)
        else:
            # layers.add([a, b]) and friends (`from keras.layers import add` too): the function form of a merge layer.
            short = self.keras_name(func).rsplit(".", 1)[-1]
            _mark_subtree(func, self.consumed)
            args = [a for a in node.args if a.keyword is None][:1]
            kwargs = tuple((a.keyword.value, self.value(a.value, scope)) for a in node.args if a.keyword is not None)
            layer = KerasCall("keras.layers." + MERGE_FUNCTIONS[short], (), kwargs, self.pos(node))
            layer_id = self.layer_key(node)
            node_args = args
            return self._apply(line, target, node, layer, layer_id, node_args, scope)
        positional = [a for a in node.args if a.keyword is None]
        for a in node.args:
            if a.keyword is not None and a.keyword.value not in ("training", "mask"):
                raise _Unfollowable(node, f"calling a layer with {a.keyword.value}= is not translated")
        return self._apply(line, target, node, layer, layer_id, positional, scope)

    def _apply(self, line, target, node, layer, layer_id, positional, scope) -> TensorNode:
        self.consumed.add(id(node))
        if len(positional) != 1:
            raise _Unfollowable(node, "a layer is called on one tensor or one list of tensors")
        arg = positional[0].value
        if isinstance(arg, (cst.List, cst.Tuple)):
            inputs = tuple(self.tensor_argument(line, target, el.value, scope) for el in arg.elements)
            as_list = True
        else:
            inputs = (self.tensor_argument(line, target, arg, scope),)
            as_list = False
        return self.made(TensorNode(target, self.pos(node), layer, layer_id, inputs, as_list, statement=line))

    def made(self, node: TensorNode) -> TensorNode:
        self.script.tensor_nodes.append(node)
        return node

    def input_node(self, line, target: str, call: cst.Call, scope: _Scope) -> TensorNode:
        spec = self.call(call, "keras.Input", scope)
        shape = spec.arg(0, "shape")
        if shape is None or shape.elements is None and shape.shape_of is None:
            raise _Unfollowable(call, _INPUT_SHAPE_NEEDED)
        name = spec.kwarg("name")
        for key, value in spec.kwargs:
            if key not in ("shape", "name", "dtype"):
                raise _Unfollowable(call, f"Input({key}=...) is not translated")
        return TensorNode(
            target,
            self.pos(call),
            None,
            id(call),
            input_shape=shape,
            input_name=name.literal if name is not None and isinstance(name.literal, str) else None,
            statement=line,
        )

    def functional_model(self, line, target: str | None, call: cst.Call, scope: _Scope) -> ModelSpec:
        self.script.uses_keras = True
        self.consumed.add(id(call))
        _mark_subtree(call.func, self.consumed)
        given: dict[str, cst.BaseExpression] = {}
        for index, arg in enumerate(call.args):
            key = arg.keyword.value if arg.keyword is not None else ("inputs", "outputs")[index] if index < 2 else None
            if key is None:
                raise _Unfollowable(call, "keras.Model() with more than two positional arguments")
            given[key] = arg.value
        if "inputs" not in given or "outputs" not in given:
            raise _Unfollowable(call, "k2t follows keras.Model(inputs=..., outputs=...) (subclassed models are not translated)")
        inputs, _ = self.tensor_list(given["inputs"], scope)
        outputs, outputs_as_list = self.tensor_list(given["outputs"], scope, line)
        kwargs = []
        for key, value in given.items():
            if key == "name":
                kwargs.append((key, self.value(value, scope)))
            elif key not in ("inputs", "outputs"):
                raise _Unfollowable(call, f"keras.Model({key}=...) is not translated")
        nodes = _graph_nodes(inputs, outputs)
        for source in _sources(outputs):
            if not any(source is given_input for given_input in inputs):
                # Keras refuses it too ("Output ... is not connected to `inputs`").
                raise _Unfollowable(call, f"the outputs depend on the Input `{source.var}`, which is not among the model's inputs")
        model = ModelSpec(
            var=target,
            pos=self.pos(call),
            call=KerasCall("keras.Model", (), tuple(kwargs), self.pos(call)),
            statement=line,
            graph=Graph(inputs, outputs, nodes, outputs_as_list),
        )
        model.factory = scope.function
        self.script.models.append(model)
        return model

    def tensor_list(self, node: cst.BaseExpression, scope: _Scope, line=None) -> tuple[list[TensorNode], bool]:
        """Tensors named by variables; with ``line``, also layer calls written in place (``outputs=layers.Dense(1)(x)``)."""
        if isinstance(node, (cst.List, cst.Tuple)):
            items = [el.value for el in node.elements]
            as_list = True
        else:
            items = [node]
            as_list = False
        tensors = []
        for item in items:
            if line is not None and self.is_tensor_expression(item, scope):
                tensors.append(self.tensor_expression(line, "outputs", item, scope))
                continue
            if not isinstance(item, cst.Name) or scope.tensor(item.value) is None:
                raise _Unfollowable(item, f"`{self.code(item)}` is not a Keras tensor k2t can follow")
            self.consumed.add(id(item))
            tensors.append(scope.tensor(item.value))
        return tensors, as_list

    # ------------------------------------------------------- helper functions
    def graph_parameters(self, node: cst.FunctionDef, scope: _Scope) -> frozenset[str]:
        """The parameters a function's body uses as Keras tensors or models: what a layer is called on
        (``layers.Conv2D(f, 3)(x)``, ``layers.add([x, shortcut])``), a model it extends (``m.add(...)``),
        or what it passes on to another such function."""
        params = set(_parameter_names(node.params))
        held: set[str] = set()  # names the body binds to layer objects (`conv = layers.Conv2D(8, 3)`)
        found: set[str] = set()
        parser = self

        def layer_name(func: cst.BaseExpression) -> bool:
            name = parser.keras_name(func) or ""
            return name.startswith("keras.layers.")

        class Finder(cst.CSTVisitor):
            def visit_Assign(self, assign: cst.Assign) -> None:
                if isinstance(assign.value, cst.Call) and layer_name(assign.value.func):
                    held.update(t.target.value for t in assign.targets if isinstance(t.target, cst.Name))

            def visit_Call(self, call: cst.Call) -> None:
                func = call.func
                calls_layer = (
                    (isinstance(func, cst.Call) and layer_name(func.func))
                    or (layer_name(func) and (parser.keras_name(func) or "").rsplit(".", 1)[-1] in MERGE_FUNCTIONS)
                    or (isinstance(func, cst.Name) and (func.value in held or func.value in params or scope.helper(func.value) is not None))
                )
                if calls_layer:
                    for arg in call.args:
                        found.update(_plain_names(arg.value) & params)
                if isinstance(func, cst.Attribute) and func.attr.value == "add" and isinstance(func.value, cst.Name) and func.value.value in params:
                    found.add(func.value.value)

            def visit_FunctionDef(self, inner) -> bool:
                return False

            def visit_ClassDef(self, inner) -> bool:
                return False

        node.body.visit(Finder())
        return frozenset(found)

    def helper_call(self, node: cst.Call, scope: _Scope) -> _Helper | None:
        """The helper function ``node`` calls, when it calls one by name."""
        if isinstance(node.func, cst.Name):
            return scope.helper(node.func.value)
        return None

    def inline_helper(self, line, call: cst.Call, helper: _Helper, scope: _Scope, target: str | None = None):
        """Walk ``helper``'s body for this call, its parameters bound to the call's arguments; what it returns."""
        if helper in self.inlining:
            raise _Unfollowable(call, f"{helper.name}() calls itself; k2t does not follow recursive model code")
        if len(self.inlining) > 50:
            raise _Unfollowable(call, f"helper functions nested more than 50 deep at {helper.name}()")
        inner = _Scope(helper.scope, helper.name)
        inner.inline = _Inline(helper.name, target or helper.name)
        for name, (expr, where) in self.helper_arguments(call, helper, scope).items():
            self.bind_parameter(inner, name, expr, where, helper, scope, line)
        self.consumed.add(id(call))
        self.consumed.add(id(call.func))
        frames, self.frames = self.frames, []  # the body's own loops and branches, not the caller's
        self.iteration = (*self.iteration, ("call", id(call)))  # new layer objects per call
        self.inlining.append(helper)
        try:
            self.block(_body_of(helper.node.body), inner)
        finally:
            self.inlining.pop()
            self.iteration = self.iteration[:-1]
            self.frames = frames
        helper.inlined += 1
        returned = inner.inline.returned
        return None if returned is _NOT_RETURNED else returned

    def helper_arguments(self, call: cst.Call, helper: _Helper, scope: _Scope) -> dict[str, tuple[cst.BaseExpression, _Scope]]:
        """Parameter -> (the expression it receives, the scope that expression is evaluated in)."""
        params = helper.node.params
        if isinstance(params.star_arg, cst.Param) or params.star_kwarg is not None:
            raise _Unfollowable(call, f"{helper.name}() takes *args or **kwargs; k2t follows helpers with named parameters")
        positional = [*params.posonly_params, *params.params]
        by_keyword = {p.name.value: p for p in [*params.params, *params.kwonly_params]}
        given: dict[str, tuple[cst.BaseExpression, _Scope]] = {}
        index = 0
        for arg in call.args:
            if arg.star:
                raise _Unfollowable(arg, f"{helper.name}() called with {arg.star}-arguments is not followed")
            if arg.keyword is None:
                if index >= len(positional):
                    raise _Unfollowable(call, f"{helper.name}() takes {len(positional)} positional arguments (Python refuses it too)")
                given[positional[index].name.value] = (arg.value, scope)
                index += 1
            elif arg.keyword.value in by_keyword and arg.keyword.value not in given:
                given[arg.keyword.value] = (arg.value, scope)
            else:
                raise _Unfollowable(arg, f"{helper.name}() has no parameter {arg.keyword.value}= (Python refuses it too)")
        for param in [*positional, *params.kwonly_params]:
            if param.name.value in given:
                continue
            if param.default is None:
                raise _Unfollowable(call, f"{helper.name}() is missing its argument `{param.name.value}` (Python refuses it too)")
            given[param.name.value] = (param.default, helper.scope)
        return given

    def bind_parameter(self, inner: _Scope, name: str, expr, where: _Scope, helper: _Helper, scope: _Scope, line) -> None:
        """What one parameter holds in the helper's body: a Keras tensor, model, layer, Keras object or value."""
        if where is scope and self._symbolic(expr, scope):
            if isinstance(expr, (cst.List, cst.Tuple)):
                raise _Unfollowable(expr, f"a list of Keras tensors passed to {helper.name}() is not followed")
            inner.tensors[name] = self.tensor_argument(line, name, expr, scope)
            inner.env.forget([name], "a Keras tensor")
            return
        if isinstance(expr, cst.Name) and scope.model(expr.value) is not None and where is scope:
            if self.outer(scope, model=expr.value):
                self.carried(f"`{helper.name}({expr.value}, ...)`", expr)
            self.consumed.add(id(expr))
            inner.models[name] = scope.model(expr.value)
            inner.env.forget([name], "a Keras model")
            return
        if isinstance(expr, cst.Name) and where.layer_object(expr.value) is not None:
            self.consumed.add(id(expr))
            inner.layer_objects[name] = where.layer_object(expr.value)
            inner.env.forget([name], "a Keras layer")
            return
        keras = self.keras_name(expr.func) if isinstance(expr, cst.Call) else self.keras_name(expr)
        if keras is not None and keras.startswith(BINDABLE_PREFIXES):
            # `conv_bn(x, 64, reg=regularizers.l2(1e-4))`: the object the helper's layers receive.
            bound = self.call(expr, keras, where) if isinstance(expr, cst.Call) else keras
            if not isinstance(expr, cst.Call):
                _mark_subtree(expr, self.consumed)
            inner.bindings[name] = (bound, line)
            inner.env.forget([name], "a Keras object")
            return
        if isinstance(expr, cst.Name) and where.binding(expr.value) is not None:
            self.consumed.add(id(expr))
            self.used_bindings.add(expr.value)
            inner.bindings[name] = where.binding(expr.value)
            inner.env.forget([name], "a Keras object")
            return
        self.scan_expressions(line, expr, where) if where is scope else None
        value, _ = self.evaluate(expr, where)
        if isinstance(value, Unknown):
            value = Unknown(f"`{self.code(expr)}`, passed to {helper.name}(), is not a value k2t knows ({value.reason})")
        # The parameter does not exist where the generated module is built: code uses its value.
        inner.env.bind(name, value, transient=True)

    def helper_return(self, line, small: cst.Return, scope: _Scope) -> None:
        """``return x`` / ``return layers.add([x, shortcut])`` / ``return x, skip`` in a helper being walked."""
        inline = scope.inline
        assert inline is not None
        if self.frames:
            self.carried("`return`", small)
        value = small.value
        if value is None:
            inline.returned = None
            return
        items = [el.value for el in value.elements] if isinstance(value, cst.Tuple) else [value]
        if not all(self._symbolic(item, scope) for item in items):
            raise _Unfollowable(value, f"{inline.name}() returns `{self.code(value)}`; k2t follows helpers that return Keras tensors")
        tensors = []
        for item in items:
            tensor = self.tensor_argument(line, inline.target, item, scope)
            if isinstance(item, cst.Name):
                self.script.tensor_aliases.append((line, tensor))
            tensors.append(tensor)
        inline.returned = tuple(tensors) if isinstance(value, cst.Tuple) else tensors[0]

    def helper_statement(self, line, call: cst.Call, scope: _Scope) -> None:
        """``add_block(model, 64)`` as a statement: the layers it adds, or the tensors it builds."""
        helper = self.helper_call(call, scope)
        assert helper is not None
        models = [scope.model(a.value.value) for a in call.args if isinstance(a.value, cst.Name) and scope.model(a.value.value) is not None]
        if not models and not any(self._symbolic(a.value, scope) for a in call.args):
            helper.other_uses = True  # called on data: ordinary code
            self.scan_expressions(line, call, scope)
            return
        self.inline_helper(line, call, helper, scope)
        for instance in models:
            instance.model.add_statements.append(line)

    def helper_tuple(self, line, small, scope: _Scope) -> bool:
        """``x, skip = encoder_block(x, 64)``: each name a tensor the helper returns."""
        if not (isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.value, cst.Call)):
            return False
        target = small.targets[0].target
        if not isinstance(target, (cst.Tuple, cst.List)) or not self.is_tensor_expression(small.value, scope):
            return False
        helper = self.helper_call(small.value, scope)
        if helper is None:
            return False
        names = [el.value for el in target.elements]
        if not all(isinstance(n, cst.Name) for n in names):
            raise _Unfollowable(target, "k2t follows a helper's tensors unpacked into plain names")
        for name in names:
            if self.outer(scope, tensor=name.value):
                self.carried(f"`{name.value}` updated", small.value)
        returned = self.inline_helper(line, small.value, helper, scope)
        if not isinstance(returned, tuple) or len(returned) != len(names):
            raise _Unfollowable(small.value, f"{helper.name}() does not return {len(names)} Keras tensors here")
        for name, tensor in zip(names, returned):
            scope.tensors[name.value] = tensor
            self.script.tensor_aliases.append((line, tensor))
        return True

    # ------------------------------------------------------------ saved models
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
        for key, value in given.items():
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

    def sequential(self, line, target: str | None, call: cst.Call, scope: _Scope) -> ModelSpec:
        self.script.uses_keras = True
        spec = self.call(call, "keras.Sequential", _NoBindScope(scope))
        model = ModelSpec(
            var=target, pos=self.pos(call), call=KerasCall(spec.name, (), spec.kwargs, spec.pos, keras_name=spec.keras_name), statement=line
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
                raise _Unfollowable(part, "Sequential(...) needs a list of layers written in the call for k2t to follow")
            for el in part.elements:
                if not isinstance(el, cst.Element):
                    raise _Unfollowable(part, "Sequential(...) with a starred list cannot be followed")
                self.add_layer(model, el.value, scope)
        model.factory = scope.function
        self.script.models.append(model)
        return model

    def comprehension_layers(self, model: ModelSpec, node: cst.ListComp, scope: _Scope) -> None:
        """``Sequential([layers.Dense(n, activation="relu") for n in (64, 32)])``: one layer per item."""
        for_in = node.for_in
        if for_in.inner_for_in is not None or for_in.ifs or for_in.asynchronous is not None:
            raise _Unfollowable(node, "k2t unrolls a list comprehension of layers with one `for` and no `if`")
        items, _ = self.evaluate(for_in.iter, scope)
        if isinstance(items, Unknown):
            raise _Unfollowable(for_in.iter, f"k2t cannot unroll layers over `{self.code(for_in.iter)}`: {items.reason}")
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
        return KerasCall("keras.Model", (), (), self.pos(node), model=instance.model)

    def add_layer(self, model: ModelSpec, node: cst.BaseExpression, scope: _Scope) -> None:
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
        name = self.keras_name(node.func)
        if name is None:
            raise _Unfollowable(node, f"`{self.code(node.func)}` is not a Keras layer k2t can resolve")
        layer = self.call(node, name, scope)
        if name in ("keras.Input", "keras.layers.InputLayer"):
            if model.layers or model.input_shape is not None:
                raise _Unfollowable(node, "an Input must come first in a Sequential model")
            shape = layer.arg(0, "shape")
            if shape is None:
                shape = layer.kwarg("input_shape")
            if shape is None or shape.elements is None and shape.shape_of is None:
                raise _Unfollowable(node, _INPUT_SHAPE_NEEDED)
            model.input_shape = shape
            model.input_pos = layer.pos
            return
        model.layers.append(layer)

    def compile(self, line, model: ModelSpec, var: str, call: cst.Call, scope: _Scope) -> CompileSpec:
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
        compiled = CompileSpec(model, var, spec.pos, optimizer, loss, metrics, extra, statement=line)
        self.script.compiles.append(compiled)
        return compiled

    def scan_expressions(self, statement: cst.CSTNode, node, scope: _Scope) -> None:
        """Find model method calls and Keras references inside ordinary code."""
        nodes = node if isinstance(node, (list, tuple)) else [node]
        finder = _Finder()
        for n in nodes:
            n.visit(finder)
        for item in finder.found:
            if id(item) in self.consumed:
                continue
            if isinstance(item, cst.Call):
                self.scan_call(statement, item, scope)
            elif isinstance(item, (cst.Name, cst.Attribute)):
                self.scan_reference(statement, item, scope)

    def scan_call(self, statement, node: cst.Call, scope: _Scope) -> None:
        func = node.func
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Call) and self.keras_name(func.value.func) in LOAD_MODEL:
            node = func.value  # load_model(path).predict(x): the load is what k2t cannot follow
            func = node.func
        if self.learning_rate_call(statement, node, scope):
            return
        helper = self.helper_call(node, scope)
        if helper is not None:
            helper.other_uses = True  # called on what is no Keras tensor: it stays a function, reported as written
        if isinstance(func, cst.Name) and scope.layer_object(func.value) is not None:
            self.todo(statement, node, "K2T100", f"calling the layer `{func.value}` on data outside a model is not translated")
            return
        if scope.in_callback and isinstance(func, cst.Attribute) and func.attr.value in ("predict", "evaluate"):
            if _self_model_attribute(func) in ("predict", "evaluate") and _self_model_attribute(func.value) is None:
                # self.model.predict(...) / self.model.evaluate(...) in a callback: the generated functions on self.model.
                _mark_subtree(func, self.consumed)
                try:
                    spec = self.call(node, f"keras.Model.{func.attr.value}", scope)
                except _Unfollowable as exc:
                    self.todo(statement, exc.node, "K2T171", exc.message)
                    return
                self.script.callback_model_calls.append(FunctionCallSpec(spec, node))
                return
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
            instance = scope.model(func.value.value)
            if instance is not None:
                method = func.attr.value
                self.consumed.add(id(func))
                self.consumed.add(id(func.value))
                if method not in MODEL_METHODS:
                    self.todo(statement, node, "K2T140", f"model.{method}() is not translated")
                    return
                try:
                    spec = self.call(node, f"keras.Model.{method}", scope)
                except _Unfollowable as exc:
                    self.todo(statement, exc.node, "K2T130", exc.message)
                    return
                self.script.calls.append(
                    MethodCall(func.value.value, instance, instance.compile, method, spec.pos, spec.args, spec.kwargs, node, statement)
                )
                return
        name = self.keras_name(func)
        if name is None:
            return
        if name in LOAD_MODEL:
            _mark_subtree(node, self.consumed)
            self.todo(
                statement, node, "K2T183", "k2t translates load_model() only as `variable = load_model(path)`, a statement of its own"
            )
            return
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

    def scan_reference(self, statement, node, scope: _Scope) -> None:
        if self.learning_rate(node, scope) is not None:
            self.learning_rate_reference(statement, node, scope)
            return
        name = self.keras_name(node)
        if name is None:
            if isinstance(node, cst.Name):
                if scope.model(node.value) is not None and id(node) not in self.consumed:
                    self.consumed.add(id(node))
                    self.todo(statement, node, "K2T140", f"use of the model object `{node.value}` here is not translated")
                elif scope.binding(node.value) is not None and id(node) not in self.consumed:
                    self.consumed.add(id(node))
                    self.todo(statement, node, "K2T100", f"the Keras object `{node.value}` is used outside compile/layers")
                elif scope.layer_object(node.value) is not None and id(node) not in self.consumed:
                    self.layer_object_used(node, scope)
                elif id(node) not in self.consumed and model_access.list_used(self, statement, node, scope):
                    pass
                elif scope.tensor(node.value) is not None and id(node) not in self.consumed:
                    # A Keras tensor in code k2t leaves as written: its value would not exist in the output.
                    self.consumed.add(id(node))
                    self.todo(statement, node, "K2T103", f"the Keras tensor `{node.value}` is used here in a way k2t does not translate")
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
            elif isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name):
                if scope.model(node.value.value) is not None and id(node) not in self.consumed:
                    self.consumed.add(id(node))
                    self.consumed.add(id(node.value))
                    self.todo(statement, node, "K2T140", f"model attribute `.{node.attr.value}` is not translated")
            return
        _mark_subtree(node, self.consumed)
        if is_keras(name):
            model_access.lost_layer_names(self)  # Keras code k2t does not follow may create layers
        code = "K2T150" if is_tensorflow(name) else "K2T100"
        what = "TensorFlow API" if is_tensorflow(name) else "Keras API"
        self.todo(statement, node, code, f"{what} `{name}` is not translated")

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
                model, instance.compile, self.pos(node), node, statement, self.code(node), quote="'" if '"' in quotes else '"', **write
            )
        )

    def learning_rate_reference(self, statement, node: cst.Attribute, scope: _Scope) -> None:
        """A read, or the target of ``model.optimizer.learning_rate = x`` (``*= x`` ...)."""
        small = statement.body[0] if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1 else None
        if isinstance(small, cst.Assign) and len(small.targets) == 1 and small.targets[0].target is node:
            self.learning_rate_access(statement, statement, node, scope, value=self.value(small.value, scope))
        elif isinstance(small, cst.AugAssign) and small.target is node:
            operator = self.code(small.operator).strip()
            self.learning_rate_access(statement, statement, node, scope, value=self.value(small.value, scope), operator=operator)
        else:
            self.learning_rate_access(statement, node, node, scope)

    def learning_rate_call(self, statement, node: cst.Call, scope: _Scope) -> bool:
        """``lr.assign(x)``, ``lr.numpy()``, ``keras.backend.set_value(lr, x)``, ``get_value(lr)``. True when handled."""
        func = node.func
        positional = [arg.value for arg in node.args if arg.keyword is None]
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
            small = statement.body[0] if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1 else None
            if isinstance(small, cst.Expr) and small.value is node:
                self.learning_rate_access(statement, statement, target, scope, value=self.value(value, scope))
                return True
        _mark_subtree(node, self.consumed)
        self.todo(statement, node, "K2T140", f"`{self.code(node)}` is not translated (k2t translates it as a statement of its own)")
        return True


def _enclosing_quotes(statement: cst.CSTNode, target: cst.CSTNode) -> set[str]:
    """The quote characters of the f-strings around ``target`` (a replacement inside must use another)."""
    quotes: list[str] = []
    found: set[str] = set()

    class _Visitor(cst.CSTVisitor):
        def on_visit(self, node: cst.CSTNode) -> bool:
            if node is target:
                found.update(quotes)
            if isinstance(node, cst.FormattedString):
                quotes.append(node.start.lstrip("rRfFbBuU")[0])
            return True

        def on_leave(self, original_node: cst.CSTNode) -> None:
            if isinstance(original_node, cst.FormattedString):
                quotes.pop()

    statement.visit(_Visitor())
    return found


def saved_path(call: MethodCall) -> Value | None:
    """The file a ``save``/``save_weights``/``load_weights`` call names (its first argument or ``filepath=``)."""
    if call.args:
        return call.args[0]
    return dict(call.kwargs).get("filepath")


def _same_path(a: Value, b: Value) -> bool:
    """Two path arguments that name the same file: the same literal, or the same expression."""
    if a.is_literal and b.is_literal:
        return a.literal == b.literal
    return a.code.strip() == b.code.strip()


def _model_writers(script: KerasScript) -> list[tuple[Value, Instance, CompileSpec | None, str]]:
    """Where the script writes whole models: (path, model instance, compile in force, what wrote it).

    ``model.save(path)`` and a ``keras.callbacks.ModelCheckpoint(path)`` given to
    ``model.fit`` (unless it saves weights only, which load_model cannot read).
    """
    def callbacks_of(fit: MethodCall) -> Value | None:
        callbacks = dict(fit.kwargs).get("callbacks")
        if callbacks is None and len(fit.args) > 5:
            callbacks = fit.args[5]  # fit(x, y, batch_size, epochs, verbose, callbacks, ...)
        return callbacks

    writers = []
    for call in script.calls:
        if call.method == "save":
            path = saved_path(call)
            if path is not None:
                writers.append((path, call.instance, call.compiled, f"{call.model}.save()"))
        elif call.method == "fit":
            callbacks = callbacks_of(call)
            for element in (callbacks.elements or ()) if callbacks is not None else ():
                checkpoint = element.keras_call
                if checkpoint is None or checkpoint.name != "keras.callbacks.ModelCheckpoint":
                    continue
                path = checkpoint.arg(0, "filepath")
                weights_only = checkpoint.kwarg("save_weights_only")
                if path is not None and not (weights_only is not None and weights_only.literal is True):
                    writers.append((path, call.instance, call.compiled, "ModelCheckpoint"))
    # A ModelCheckpoint built outside fit(...) (`callbacks = [ModelCheckpoint(path), ...]`) writes the model of
    # every fit given callbacks through a name or expression; when those fits train several architectures,
    # the load stays unresolved.
    passed = []
    for call in script.calls:
        callbacks = callbacks_of(call) if call.method == "fit" else None
        if callbacks is not None and callbacks.elements is None and not callbacks.is_literal:
            passed.append(call)
    for built in script.callbacks:
        checkpoint = built.call
        if checkpoint.name != "keras.callbacks.ModelCheckpoint":
            continue
        path = checkpoint.arg(0, "filepath")
        weights_only = checkpoint.kwarg("save_weights_only")
        if path is None or (weights_only is not None and weights_only.literal is True):
            continue
        for call in passed:
            writers.append((path, call.instance, call.compiled, "ModelCheckpoint"))
    return writers


def _resolve_loads(script: KerasScript) -> None:
    """Give each ``load_model`` the architecture of the model the script saves at the same path.

    A file the script does not write itself (or writes from models of different
    architectures) stays unresolved: k2t cannot tell which module it holds.
    """
    stand_ins = {id(load.instance.model): load for load in script.loads}
    resolved: dict[int, ModelSpec] = {}

    def real(model: ModelSpec) -> ModelSpec | None:
        if id(model) not in stand_ins:
            return model
        return resolved.get(id(model))

    writers = _model_writers(script)
    for load in script.loads:
        stand_in = load.instance.model
        matches = [(real(instance.model), compiled, saver) for path, instance, compiled, saver in writers if _same_path(path, load.path)]
        models = {id(model): model for model, _, _ in matches if model is not None}
        if not matches:
            load.reason = (
                f"k2t cannot tell which model the file `{load.path.code}` holds: the script saves none at this path "
                "(build the model with its generated class and load the state_dict `k2t weights` wrote)"
            )
        elif not models:
            load.reason = (
                f"k2t cannot tell which model the file `{load.path.code}` holds: the model saved there is itself "
                "restored by a load_model() k2t cannot place"
            )
        elif len(models) > 1:
            load.reason = f"k2t cannot tell which model the file `{load.path.code}` holds: models of {len(models)} architectures are saved there"
        else:
            model, compiled, saver = next(match for match in matches if match[0] is not None)
            load.model, load.saver = model, saver
            load.saved_compile = compiled if load.compile else None
            resolved[id(stand_in)] = model
    # Point everything recorded on a stand-in at the resolved architecture.
    restored_calls = [(call, stand_ins.get(id(call.instance.model))) for call in script.calls]
    for call, load in restored_calls:
        if load is not None and load.model is not None:
            call.instance.model = load.model
            if call.compiled is None:
                call.compiled = load.saved_compile
    for compiled in script.compiles:
        load = stand_ins.get(id(compiled.model))
        if load is not None and load.model is not None:
            compiled.model = load.model


# Lowercase function forms of the merge layers: layers.add([a, b]) is Add()([a, b]).
MERGE_FUNCTIONS = {
    "add": "Add",
    "subtract": "Subtract",
    "multiply": "Multiply",
    "average": "Average",
    "maximum": "Maximum",
    "minimum": "Minimum",
    "concatenate": "Concatenate",
    "dot": "Dot",
}


def _nests(inner: ModelSpec, outer: ModelSpec) -> bool:
    """Does ``inner`` hold ``outer`` (or is it ``outer``)? Adding it to ``outer`` would make a cycle."""
    seen: set[int] = set()
    pending = [inner]
    while pending:
        model = pending.pop()
        if model is outer:
            return True
        if id(model) in seen:
            continue
        seen.add(id(model))
        layers = [node.layer for node in model.graph.nodes] if model.graph is not None else model.layers
        pending.extend(layer.model for layer in layers if layer is not None and layer.model is not None)
    return False


def _sources(outputs: list[TensorNode]) -> list[TensorNode]:
    """The Inputs (nodes without a layer) that ``outputs`` are computed from, each once."""
    found: dict[int, TensorNode] = {}
    seen: set[int] = set()
    pending = list(outputs)
    while pending:
        node = pending.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if node.layer is None:
            found[id(node)] = node
        pending.extend(node.inputs)
    return list(found.values())


def _graph_nodes(inputs: list[TensorNode], outputs: list[TensorNode]) -> list[TensorNode]:
    """Layer nodes the outputs depend on, inputs first, each after the nodes it reads."""
    order: list[TensorNode] = []
    seen: set[int] = set()

    def visit(node: TensorNode) -> None:
        if id(node) in seen:
            return
        seen.add(id(node))
        for parent in node.inputs:
            visit(parent)
        if node.layer is not None:
            order.append(node)

    for out in outputs:
        visit(out)
    return order


class _NoBindScope(_Scope):
    def __init__(self, parent):
        super().__init__(parent)


class _Unfollowable(Exception):
    def __init__(self, node: cst.CSTNode, message: str):
        super().__init__(message)
        self.node = node
        self.message = message


class _Finder(cst.CSTVisitor):
    """Collect Calls and the outermost Name/Attribute chains, in source order."""

    def __init__(self):
        self.found: list[cst.CSTNode] = []

    def visit_Call(self, node: cst.Call) -> bool:
        self.found.append(node)
        return True

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        self.found.append(node)
        return True

    def visit_Name(self, node: cst.Name) -> bool:
        self.found.append(node)
        return False

    # Nested scopes are walked by the parser itself.
    def visit_FunctionDef(self, node) -> bool:
        return False

    def visit_ClassDef(self, node) -> bool:
        return False

    def visit_IndentedBlock(self, node) -> bool:
        return False


def _is_learning_rate(node) -> bool:
    """``self.model.optimizer.learning_rate`` (or Keras 2's ``.lr``), exactly."""
    return (
        isinstance(node, cst.Attribute)
        and node.attr.value in ("learning_rate", "lr")
        and _self_model_attribute(node.value) == "optimizer"
        and isinstance(node.value, cst.Attribute)
        and node.value.attr.value == "optimizer"
    )


def _self_model_attribute(node) -> str | None:
    """``attr`` when ``node`` is ``self.model.attr`` or a longer chain on it (``self.model.optimizer.learning_rate``)."""
    while isinstance(node, cst.Attribute):
        inner = node.value
        if (
            isinstance(inner, cst.Attribute)
            and isinstance(inner.value, cst.Name)
            and inner.value.value == "self"
            and inner.attr.value == "model"
        ):
            return node.attr.value
        node = inner
    return None


def _mark_subtree(node: cst.CSTNode, consumed: set[int]) -> None:
    class _Mark(cst.CSTVisitor):
        def on_visit(self, n: cst.CSTNode) -> bool:
            consumed.add(id(n))
            return True

    node.visit(_Mark())


def _body_of(block) -> list:
    if isinstance(block, cst.IndentedBlock):
        return list(block.body)
    return [cst.SimpleStatementLine(body=list(block.body))] if isinstance(block, cst.SimpleStatementSuite) else []


def _child_blocks(stmt: cst.CSTNode):
    for attr in ("body", "orelse", "finalbody"):
        child = getattr(stmt, attr, None)
        if child is None:
            continue
        if isinstance(child, (cst.IndentedBlock, cst.SimpleStatementSuite)):
            yield _body_of(child)
        elif isinstance(child, (cst.Else, cst.If, cst.Finally)):
            if isinstance(child, cst.If):
                yield [child]
            else:
                yield _body_of(child.body)
    for handler in getattr(stmt, "handlers", ()) or ():
        yield _body_of(handler.body)


def _local_names(function_source: str) -> set[str]:
    """The names a function binds itself (parameters, assignments, loops...), not the globals it reads."""
    import textwrap

    try:
        tree = ast.parse(textwrap.dedent(function_source))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return set()
    function = tree.body[0]
    names = {a.arg for a in ast.walk(function.args) if isinstance(a, ast.arg)}
    for node in ast.walk(function):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
    return names


def _bound_names(module: cst.Module) -> set[str]:
    """Every name the script uses or binds anywhere (generated names must not clash)."""
    names: set[str] = set()
    try:
        tree = ast.parse(module.code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return names
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.alias):
            names.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            names.update(node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
    return names


_AUGMENTED = {
    cst.AddAssign: cst.Add,
    cst.SubtractAssign: cst.Subtract,
    cst.MultiplyAssign: cst.Multiply,
    cst.DivideAssign: cst.Divide,
    cst.FloorDivideAssign: cst.FloorDivide,
    cst.ModuloAssign: cst.Modulo,
    cst.PowerAssign: cst.Power,
}


_NOT_RETURNED = object()  # a helper's body being walked has not reached a `return` yet


@dataclass(eq=False)
class _Helper:
    """A function whose parameters are Keras tensors or models (``def conv_bn(x, filters): ...``).

    Its body runs once per call in Python: k2t walks it at each call, with the
    call's arguments, so that each call makes its own layers, as in Keras.
    """

    node: cst.FunctionDef
    scope: _Scope  # where it is defined: what its body sees
    graph_parameters: frozenset[str]
    inlined: int = 0  # calls walked
    other_uses: bool = False  # also called on data, as ordinary code

    @property
    def name(self) -> str:
        return self.node.name.value


@dataclass(eq=False)
class _Inline:
    name: str
    target: str  # the variable the caller assigns the result to: the forward variable's name
    returned: object = _NOT_RETURNED  # a TensorNode, a tuple of them, or None


class _Frame:
    """A loop k2t does not unroll, or a branch it cannot decide, and what existed before it."""

    def __init__(self, node: cst.CSTNode, kind: str, scope: _Scope):
        self.node = node
        self.kind = kind
        self.models: set[int] = set()
        self.tensors: set[str] = set()
        current: _Scope | None = scope
        while current is not None:
            self.models.update(id(instance.model) for instance in current.models.values() if instance is not None)
            self.tensors.update(current.tensors)
            current = current.parent


def _plain_names(node: cst.BaseExpression) -> set[str]:
    """``x`` -> {x}; ``[x, shortcut]`` -> {x, shortcut}."""
    if isinstance(node, cst.Name):
        return {node.value}
    if isinstance(node, (cst.List, cst.Tuple)):
        return {name for el in node.elements for name in _plain_names(el.value)}
    return set()


def _parameter_names(params: cst.Parameters) -> list[str]:
    every = [*params.posonly_params, *params.params, *params.kwonly_params]
    for star in (params.star_arg, params.star_kwarg):
        if isinstance(star, cst.Param):
            every.append(star)
    return [p.name.value for p in every]




def _reads_image_data_format(test: cst.BaseExpression, parser: _Parser) -> bool:
    """Whether an `if` test calls keras.backend.image_data_format() (the branches k2t decides)."""
    found = False

    class Finder(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            nonlocal found
            if parser.keras_name(node.func) in ("keras.backend.image_data_format", "keras.config.image_data_format"):
                found = True

    test.visit(Finder())
    return found


def _extends_outer_models(body: list, scope: _Scope, parser: _Parser) -> bool:
    """Whether a loop body calls `.add` on a model made before the loop, or rebinds a Keras tensor made before it."""
    found = False

    class Finder(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            nonlocal found
            func = node.func
            if (
                isinstance(func, cst.Attribute)
                and func.attr.value == "add"
                and isinstance(func.value, cst.Name)
                and scope.model(func.value.value) is not None
            ):
                found = True
            if (  # `hidden.append(layers.Dense(n))`: a layer per iteration into a list of layers
                isinstance(func, cst.Attribute)
                and func.attr.value == "append"
                and isinstance(func.value, cst.Name)
                and model_access.layer_list(scope, func.value.value) is not None
                and len(node.args) == 1
                and model_access.is_layer_expression(parser, node.args[0].value, scope)
            ):
                found = True

        def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
            nonlocal found
            if isinstance(node.target, cst.Name) and scope.tensor(node.target.value) is not None:
                found = True

        def visit_FunctionDef(self, node) -> bool:
            return False

    for statement in body:
        statement.visit(Finder())
    return found


_INPUT_SHAPE_NEEDED = "k2t needs Input(shape=...) written as a tuple, or as an array's shape (`x_train.shape[1:]`)"


def _parallel(target: cst.BaseExpression, value: cst.BaseExpression) -> bool:
    """``a, b = c, d``: as many plain targets as values, none starred."""
    if not (isinstance(target, (cst.Tuple, cst.List)) and isinstance(value, (cst.Tuple, cst.List))):
        return False
    elements = [*target.elements, *value.elements]
    return len(target.elements) == len(value.elements) and not any(isinstance(el, cst.StarredElement) for el in elements)


def _concatenated(node: cst.BaseExpression) -> list[cst.BaseExpression]:
    """``[a] + [b for ...] + [c]`` -> its parts, in order."""
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
        return [*_concatenated(node.left), *_concatenated(node.right)]
    return [node]


# The models (each with the compile() it has at that point) and the Keras tensors a scope's names hold.
_Made = tuple[dict[str, tuple[Instance | None, CompileSpec | None]], dict[str, TensorNode | None]]
_REBOUND = object()  # a name a branch rebinds to something else than a model or Keras tensor


def _made_so_far(scope: _Scope) -> _Made:
    models = {name: (instance, instance.compile if instance is not None else None) for name, instance in scope.models.items()}
    return models, dict(scope.tensors)


def _restore(scope: _Scope, made: _Made) -> None:
    """Make the scope's names hold ``made`` again, each model with its compile() of then."""
    scope.models.clear()
    for name, (instance, compile_spec) in made[0].items():
        scope.models[name] = instance
        if instance is not None:
            instance.compile = compile_spec
    scope.tensors.clear()
    scope.tensors.update(made[1])


def _identity(value) -> tuple[int, ...]:
    """What a name's value stands for: a model and its compile() (not the variable's record of them), or a tensor."""
    if isinstance(value, tuple):
        instance, compile_spec = value
        return (id(instance.model) if instance is not None else id(None), id(compile_spec))
    return (id(value),)


def _assigned_by(small: cst.BaseSmallStatement) -> list[str]:
    if isinstance(small, cst.Assign):
        return [name for target in small.targets for name in _target_names(target.target)]
    if isinstance(small, (cst.AnnAssign, cst.AugAssign)):
        return _target_names(small.target)
    return []


# Python operators Keras applies to Keras tensors, as the merge layer that computes the same.
_TENSOR_OPERATORS = {"Add": "Add", "Subtract": "Subtract", "Multiply": "Multiply"}


# Axes of the (x, y) arrays keras.datasets loaders return (Keras 3.15: keras/src/datasets/*.py).
_DATASET_RANKS = {
    "mnist": (3, 1),
    "fashion_mnist": (3, 1),
    "cifar10": (4, 2),
    "cifar100": (4, 2),
    "imdb": (1, 1),
    "reuters": (1, 1),
    "boston_housing": (2, 1),
    "california_housing": (2, 1),
}


# Modules whose names are Python's builtins under Python 3 (`from six.moves import range, zip`).
_BUILTIN_MODULES = frozenset({"six.moves", "builtins", "future.builtins", "past.builtins", "__builtin__"})


def _jumps(body: list) -> bool:
    """Whether a loop body may leave an iteration early (break, continue, return, raise): k2t then cannot
    unroll it as the same statements once per item."""
    found = False

    class Finder(cst.CSTVisitor):
        def visit_Break(self, node) -> None:
            nonlocal found
            found = True

        visit_Continue = visit_Return = visit_Raise = visit_Break

        def visit_FunctionDef(self, node) -> bool:
            return False

    for statement in body:
        statement.visit(Finder())
    return found


def _added_to(small: cst.BaseSmallStatement, scope: _Scope) -> ModelSpec | None:
    """The model a ``model.add(...)`` statement extends, if it is one."""
    if isinstance(small, cst.Expr) and isinstance(small.value, cst.Call):
        func = small.value.func
        if isinstance(func, cst.Attribute) and func.attr.value == "add" and isinstance(func.value, cst.Name):
            instance = scope.model(func.value.value)
            return instance.model if instance is not None else None
    return None
