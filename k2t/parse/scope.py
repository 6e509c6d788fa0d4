"""What the parser knows at a point of the script: the scope's models, tensors, layers and values, and the frames of loops and branches around it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import libcst as cst

from ..cst_walk import Visitor
from ..ir import CompileSpec, Instance, KerasCall, ModelSpec, TensorNode
from ..values import Env
from . import model_access

if TYPE_CHECKING:
    from .parser import _Parser


class _Scope:
    def __init__(self, parent: _Scope | None = None, function: str | None = None):
        self.parent = parent
        self.function = function  # name of the function whose body this is
        self.models: dict[str, Instance] = {}
        # A subclass's __init__ parameter holding a model of the script -> the caller's name for that model
        # (`Twice(backbone)`: `block` is `backbone` where the module is built).
        self.caller_names: dict[str, str] = {}
        self.bindings: dict[str, tuple[KerasCall | str, cst.CSTNode]] = {}
        self.factories: dict[str, Instance] = {}  # functions defined here that return a model
        self.tensors: dict[str, TensorNode] = {}  # Functional API: symbolic tensors by variable
        self.tensor_lists: dict[str, tuple[TensorNode, ...]] = {}  # `encoder_states = [state_h, state_c]`
        # `inputs = {name: keras.Input(shape=(n,), name=name) for name, n in FEATURES.items()}`: key -> tensor
        self.tensor_dicts: dict[str, dict[object, TensorNode] | None] = {}
        self.layer_objects: dict[str, tuple[KerasCall, int, cst.CSTNode]] = {}  # `dense = layers.Dense(8)`
        # Functions that take Keras tensors or models (`def conv_bn(x, filters): ...`): walked where called.
        self.helpers: dict[str, _Helper] = {}
        # Functions that put a parameter into a model as a layer (`def build(norm): Sequential([norm, ...])`).
        self.layer_factories: dict[str, _Helper] = {}
        # Functions that make a layer or a function of tensors, applied where called (k2t.parse.makers):
        # `def conv(filters): return Conv2D(filters, 3)`, `def unit(filters): def f(x): ...; return f`.
        self.makers: dict[str, _Helper] = {}
        # The body of such a function being walked for one call: where its `return` goes.
        self.inline: _Inline | None = None
        # The body of a function that builds a model, walked for one call with the call's arguments (its name).
        self.per_call: str | None = parent.per_call if parent is not None and parent.function is not None else None
        self.in_class = False  # a class body: its functions are methods, not helpers
        self.layer_lists: dict[str, model_access.LayerList | None] = {}  # `hidden = [layers.Dense(64), ...]`
        # `first = model.layers[0]`, `out = model.get_layer("out")`: a layer of a model, reached through it.
        self.layer_aliases: dict[str, model_access.LayerAlias | None] = {}
        # `lookup_class = layers.StringLookup if is_string else layers.IntegerLookup`, decided in a helper walked for
        # one call: the Keras class the name holds (canonical).
        self.layer_classes: dict[str, str] = {}
        # Names that hold one of several models or tensors, made in the branches of an `if` k2t cannot decide: why.
        self.undecided: dict[str, str] = {}
        # Names bound by a statement k2t reported as untranslated (a Keras tensor or model it cannot follow),
        # and what they now depend on: the statement of the root cause. Later statements that use them follow
        # from it and say so, rather than each being reported again. None: rebound since.
        self.untranslated: dict[str, cst.CSTNode | None] = {}
        # Inside a subclass of keras.callbacks.Callback: `self.model.<attr>` is Keras's model there.
        self.in_callback: bool = parent.in_callback if parent is not None else False
        # The values of the names bound so far (k2t.values); a function's body sees its module's.
        self.env = Env(parent.env if parent is not None else None)

    def _nearest(self, table: str, name: str):
        """What the innermost scope that has ``name`` in its ``table`` holds for it (a body sees its enclosing scopes')."""
        scope: _Scope | None = self
        while scope is not None:
            held = getattr(scope, table)
            if name in held:
                return held[name]
            scope = scope.parent
        return None

    def tensor(self, name: str) -> TensorNode | None:
        return self._nearest("tensors", name)

    def tensor_list(self, name: str) -> tuple[TensorNode, ...] | None:
        return self._nearest("tensor_lists", name)

    def tensor_dict(self, name: str) -> dict[object, TensorNode] | None:
        return self._nearest("tensor_dicts", name)

    def layer_object(self, name: str):
        return self._nearest("layer_objects", name)

    def layer_alias(self, name: str) -> model_access.LayerAlias | None:
        return self._nearest("layer_aliases", name)

    def layer_class(self, name: str) -> str | None:
        return self._nearest("layer_classes", name)

    def factory(self, name: str) -> Instance | None:
        return self._nearest("factories", name)

    def model(self, name: str) -> Instance | None:
        return self._nearest("models", name)

    def untranslated_root(self, name: str) -> cst.CSTNode | None:
        """The statement of the untranslated construct ``name`` depends on, if it does."""
        return self._nearest("untranslated", name)

    def helper(self, name: str) -> _Helper | None:
        return self._nearest("helpers", name)

    def maker(self, name: str) -> _Helper | None:
        return self._nearest("makers", name)

    def layer_factory(self, name: str) -> _Helper | None:
        return self._nearest("layer_factories", name)

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
        return self._nearest("bindings", name)


class _NoBindScope(_Scope):
    def __init__(self, parent):
        super().__init__(parent)


class _Unfollowable(Exception):
    def __init__(self, node: cst.CSTNode, message: str):
        super().__init__(message)
        self.node = node
        self.message = message


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
    trains: bool = False  # a training helper: it compiles the models it receives (its graph parameters)
    # A function building a model: the parameters that decide its layers (k2t.parse.layer_factories).
    structure_parameters: frozenset[str] = frozenset()
    # The name its calls go by where it is not its own (a closure `f` returned by `residual_unit(filters)`).
    label: str | None = None

    @property
    def name(self) -> str:
        return self.label or self.node.name.value


@dataclass(eq=False)
class _Inline:
    name: str
    target: str  # the variable the caller assigns the result to: the forward variable's name
    returned: object = _NOT_RETURNED  # a TensorNode, a tuple of them, or None


class _Frame:
    """A loop k2t does not unroll, or a branch it cannot decide, and what existed before it."""

    def __init__(self, node: cst.CSTNode, kind: str, scope: _Scope, why: str | None = None):
        self.node = node
        self.kind = kind
        self.why = why  # why k2t cannot tell what the test or the iteration holds, where it can say
        self.models: set[int] = set()
        self.tensors: set[str] = set()
        current: _Scope | None = scope
        hidden: set[str] = set()  # names an inner scope binds to no tensor (a function's locals, its parameters)
        while current is not None:
            self.models.update(id(instance.model) for instance in current.models.values() if instance is not None)
            self.tensors.update(
                name for name, node in current.tensors.items() if node is not None and name not in hidden
            )
            hidden.update(name for name, node in current.tensors.items() if node is None)
            current = current.parent


# The models (each with the compile() it has at that point) and the Keras tensors a scope's names hold.
_Made = tuple[dict[str, tuple[Instance | None, CompileSpec | None]], dict[str, TensorNode | None]]


_REBOUND = object()  # a name a branch rebinds to something else than a model or Keras tensor


def _made_so_far(scope: _Scope) -> _Made:
    models = {
        name: (instance, instance.compile if instance is not None else None) for name, instance in scope.models.items()
    }
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


def _added_to(small: cst.BaseSmallStatement, scope: _Scope) -> ModelSpec | None:
    """The model a ``model.add(...)`` statement extends, if it is one."""
    if isinstance(small, cst.Expr) and isinstance(small.value, cst.Call):
        func = small.value.func
        if isinstance(func, cst.Attribute) and func.attr.value == "add" and isinstance(func.value, cst.Name):
            instance = scope.model(func.value.value)
            return instance.model if instance is not None else None
    return None


def _extends_outer_models(body: list, scope: _Scope, parser: _Parser) -> bool:
    """Whether a loop body (or branch) calls `.add` on a model made before it, rebinds a Keras tensor made before
    it, or applies a Keras layer to one."""
    found = False

    class Finder(Visitor):
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
            if (  # `conv_block(model, f)`: a helper that extends the model it is given
                isinstance(func, cst.Name)
                and scope.helper(func.value) is not None
                and any(isinstance(a.value, cst.Name) and scope.model(a.value.value) is not None for a in node.args)
            ):
                found = True

            if (  # `x = layers.GRU(64)(inputs)`: a layer applied to a Keras tensor made before
                isinstance(func, cst.Call)
                and parser.keras_name(func.func) is not None
                and any(isinstance(a.value, cst.Name) and scope.tensor(a.value.value) is not None for a in node.args)
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


def _reads_image_data_format(test: cst.BaseExpression, parser: _Parser) -> bool:
    """Whether an `if` test calls keras.backend.image_data_format() (the branches k2t decides)."""
    found = False

    class Finder(Visitor):
        def visit_Call(self, node: cst.Call) -> None:
            nonlocal found
            if parser.keras_name(node.func) in (
                "keras.backend.image_data_format",
                "keras.config.image_data_format",
                "keras.backend.image_dim_ordering",
            ):
                found = True

    test.visit(Finder())
    return found
