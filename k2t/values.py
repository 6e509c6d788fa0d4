"""What a script's expressions evaluate to, as far as k2t can know without running the script.

k2t reads scripts statically. Sizes, shapes and loop ranges are often held in
variables (``img_rows, img_cols = 28, 28``; ``input_shape = (img_rows,
img_cols, 1)``; ``for units in (64, 32):``). :func:`evaluate` folds an
expression over an :class:`Env` of the names the script has bound so far and
answers with the Python value it has when the script runs, or
:class:`Unknown` saying why it cannot tell (data read at run time, a branch
k2t cannot decide, a name rebound in a loop).

Only pure, deterministic operations are folded: literals, displays, names,
arithmetic, comparisons, boolean logic, subscripts, f-strings, and a few
builtins (``len``, ``range``, ``zip``, ``enumerate``, ``min``, ``max``,
``int``, ``float``, ``abs``, ``round``, ``tuple``, ``list``, ``str``,
``sum``). Nothing the script calls is ever run.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import libcst as cst

from .cst_walk import Visitor
from .ir import ShapeOf


@dataclass(frozen=True)
class Unknown:
    """A value k2t cannot know statically, and why.

    Two facts may still be known about it: that it is an array with ``rank``
    axes (``x.reshape(-1, 28, 28, 1)``), or that it is the tail of an array's
    shape (``x.shape[1:]``, ``shape``).
    """

    reason: str
    rank: int | None = None
    shape: ShapeOf | None = None
    sizes: tuple[int, ...] | None = None  # the sizes of one row (axis 0 left out), where k2t knows them


@dataclass
class Binding:
    value: Any  # the Python value, or an Unknown
    # A loop variable of a loop k2t unrolls, or of a comprehension: it does not exist where the
    # generated module is built, so code must use the value, never the name.
    transient: bool = False
    # The name was bound again after this binding (`filters *= 2` in a loop; `hidden = 64` after a layer
    # read `hidden = 128`): where the generated module is built, the name may hold another value.
    superseded: bool = False


@dataclass
class Env:
    """The names bound so far in one scope; a function's scope sees its module's."""

    parent: Env | None = None
    names: dict[str, Binding] = field(default_factory=dict)
    # `all_features = []`, then `all_features.append([float(v) for v in fields])` in a loop over a file's lines:
    # the list's length is known only when the script runs, but each item's number of axes is, so
    # `np.array(all_features)` has one more. Name -> that number (EMPTY before the first append; None where the
    # items differ or the list changes otherwise). A name bound again is no longer such a list.
    item_ranks: dict[str, int | None] = field(default_factory=dict)

    def lookup(self, name: str) -> Binding | None:
        env: Env | None = self
        while env is not None:
            if name in env.names:
                return env.names[name]
            env = env.parent
        return None

    def bind(self, name: str, value: Any, transient: bool = False, supersede: bool = True) -> None:
        if supersede:
            self._supersede(name)
        self.names[name] = Binding(value, transient)
        self.item_ranks.pop(name, None)
        if isinstance(value, list) and not value:
            self.item_ranks[name] = EMPTY  # `rows = []`: its items are what the script appends

    def appended(self, name: str, rank: int | None) -> None:
        """``name.append(item)`` of an item with ``rank`` axes (None: not known); any other change: None."""
        env: Env | None = self
        while env is not None and name not in env.names:
            env = env.parent
        if env is None or name not in env.item_ranks:
            return
        known = env.item_ranks[name]
        env.item_ranks[name] = rank if known == EMPTY else (known if known == rank else None)

    def list_rank(self, name: str) -> int | None:
        """The number of axes ``np.array(name)`` has, of a list built by appends of items of one rank."""
        env: Env | None = self
        while env is not None and name not in env.names:
            env = env.parent
        rank = env.item_ranks.get(name) if env is not None else None
        return rank + 1 if rank is not None and rank != EMPTY else None

    def forget(self, names, reason: str, supersede: bool = True) -> None:
        """``supersede=False`` after a block k2t walked once for all its runs (a loop it does not unroll, an `if`
        it cannot decide): what the block's own code read there is what it reads when it runs."""
        for name in names:
            if supersede:
                self._supersede(name)
            self.names[name] = Binding(Unknown(reason))

    def forget_changed(self, name: str, reason: str) -> None:
        """``sizes.append(16)``, ``cfg["units"] = 8``: the object ``name`` holds changes in place. The name, and
        every name that holds the same object (``a = sizes``) or a value containing it, no longer hold what k2t
        knew, wherever they were bound (a function's body may change a module's list)."""
        binding = self.lookup(name)
        if binding is None:
            return
        changed = binding.value
        env: Env | None = self
        while env is not None:
            for other, held in list(env.names.items()):
                if other == name or (_is_mutable(changed) and _holds(held.value, changed)):
                    env.names[other] = Binding(Unknown(reason))
                    held.superseded = True
            env = env.parent

    def _supersede(self, name: str) -> None:
        old = self.names.get(name)
        if old is not None:
            old.superseded = True


def _is_mutable(value: Any) -> bool:
    return isinstance(value, (list, dict, set, Namespace))


def _holds(value: Any, target: Any, depth: int = 0) -> bool:
    """Whether ``value`` is ``target`` or holds it in its items (``(sizes, 3)``, ``{"units": sizes}``)."""
    if value is target:
        return True
    if depth > 8:
        return True  # too deep to tell: as if it held it
    if isinstance(value, (tuple, list, set)):
        return any(_holds(item, target, depth + 1) for item in value)
    if isinstance(value, dict):
        return any(_holds(item, target, depth + 1) for item in value.values())
    if isinstance(value, Namespace):
        return any(_holds(item, target, depth + 1) for _, item in value.attributes)
    return False


# Methods that change a list, dict or set in place (`sizes.append(16)`): the name no longer holds what k2t knew.
CHANGING_METHODS = frozenset(
    {
        "append",
        "extend",
        "insert",
        "pop",
        "remove",
        "clear",
        "sort",
        "reverse",
        "update",
        "setdefault",
        "popitem",
        "add",
        "discard",
        "difference_update",
        "intersection_update",
        "symmetric_difference_update",
    }
)


EMPTY = -1  # Env.item_ranks: a list no item was appended to yet


# Values small enough to inline in generated code; anything else stays an expression of the script.
_CONSTANT_TYPES = (int, float, str, bool, type(None))

_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    cst.Add: operator.add,
    cst.Subtract: operator.sub,
    cst.Multiply: operator.mul,
    cst.Divide: operator.truediv,
    cst.FloorDivide: operator.floordiv,
    cst.Modulo: operator.mod,
    cst.Power: operator.pow,
}
_COMPARE: dict[type, Callable[[Any, Any], Any]] = {
    cst.Equal: operator.eq,
    cst.NotEqual: operator.ne,
    cst.LessThan: operator.lt,
    cst.LessThanEqual: operator.le,
    cst.GreaterThan: operator.gt,
    cst.GreaterThanEqual: operator.ge,
    cst.In: lambda a, b: a in b,
    cst.NotIn: lambda a, b: a not in b,
    cst.Is: operator.is_,
    cst.IsNot: operator.is_not,
}
FOLDED_BUILTINS: dict[str, Callable[..., Any]] = {
    "len": len,
    "range": lambda *a: tuple(range(*a)),
    "zip": lambda *a: tuple(zip(*a)),
    "enumerate": lambda seq, start=0: tuple(enumerate(seq, start)),
    "min": min,
    "max": max,
    "int": int,
    "float": float,
    "abs": abs,
    "round": round,
    "tuple": tuple,
    "list": list,
    "str": str,
    "sum": sum,
    "reversed": lambda seq: tuple(reversed(seq)),
    "dict": dict,
}
# Methods of known values the evaluator calls: reading a settings dict (`for name, n in BLOCKS.items():`).
_FOLDED_METHODS: dict[type, dict[str, Callable[..., Any]]] = {
    dict: {
        "items": lambda d: tuple(d.items()),
        "keys": lambda d: tuple(d),
        "values": lambda d: tuple(d.values()),
        "get": lambda d, key, default=None: d.get(key, default),
    },
}


@dataclass(frozen=True)
class Namespace:
    """A class the script uses as a record of settings (Kaggle's ``class CFG: units = [32, 16]``, then
    ``CFG.units`` or ``cfg = CFG()``, ``cfg.units``): the values of its class attributes."""

    name: str
    attributes: tuple[tuple[str, Any], ...]

    def attribute(self, attr: str) -> Any:
        for name, value in self.attributes:
            if name == attr:
                return value
        raise _NotKnown(f"`{self.name}` has no attribute `{attr}` k2t knows")


class _NotKnownSize:
    def __repr__(self) -> str:
        return "NOT_KNOWN"


# A size of a Keras tensor k2t does not know statically (Keras's own unknown size is None).
NOT_KNOWN: Any = _NotKnownSize()


@dataclass(frozen=True)
class RunTimeSize:
    """A size of a Keras tensor known as the script's code, read where the model is built: ``input_shape[1]`` of
    ``Input(shape=input_shape)`` in a function given a shape, ``x_train.shape[2]`` of ``Input(x_train.shape[1:])``.
    ``inputs.shape[-1]`` of such a tensor is that code (a constructor parameter of the generated module). Nothing
    else is known of it: comparing it, computing with it or testing it raises TypeError, which leaves an
    expression unknown (never decided on a guess)."""

    code: str
    bindings: tuple = field(default=(), compare=False, repr=False)  # the script's bindings the code reads
    parameter = None  # an __init__ parameter's name to give the constructor parameter (ArgumentSize's)

    def reason(self) -> str:
        """Why an expression that needs the value is not known."""
        return f"`{self.code}` is known only when the script runs"

    def _refuse(self, *_):
        raise RunTimeRead(self.reason())

    __lt__ = __le__ = __gt__ = __ge__ = _refuse
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _refuse
    __truediv__ = __rtruediv__ = __floordiv__ = __rfloordiv__ = __mod__ = __rmod__ = __pow__ = __rpow__ = _refuse
    __neg__ = __pos__ = __abs__ = __bool__ = __index__ = __int__ = __float__ = _refuse

    def __eq__(self, other) -> bool:
        # The same code read off the same Input is the same size (a merge of a tensor with itself); anything else
        # may or may not be equal when the script runs.
        if isinstance(other, RunTimeSize) and other.code == self.code:
            return True
        raise RunTimeRead(self.reason())

    def __ne__(self, other) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        return hash(self.code)


class RunTimeRead(TypeError):
    """What a RunTimeSize raises when code needs its value (a TypeError, as the script's own arithmetic on a wrong
    type would be): its message names the code, which the evaluator gives as the reason it does not know."""


@dataclass(frozen=True, eq=False)
class ArgumentSize(RunTimeSize):
    """A value the script passes to its keras.Model subclass (``RecommenderNet(num_users)`` of ``num_users =
    len(user2user_encoded)``) that k2t does not know: the parameter of __init__ holds the script's code at the
    construction (k2t.parse.subclassed). As a layer's size it is that code, a constructor parameter of the module;
    in a tuple or list (``Reshape((num_users, 1))``) it is not followed, as the display's code reads __init__'s name."""

    parameter: str = field(default="", compare=False)  # the __init__ parameter that holds it

    def reason(self) -> str:
        return f"`{self.parameter}` is given `{self.code}`, known only when the script runs"


def held_argument_size(value: Any) -> ArgumentSize | None:
    """The first ArgumentSize a tuple, list or dict holds (or ``value`` itself is), or None."""
    if isinstance(value, ArgumentSize):
        return value
    items = value if isinstance(value, (tuple, list)) else ()
    if isinstance(value, dict):
        items = (*value.keys(), *value.values())
    return next((held for held in map(held_argument_size, items) if held is not None), None)


class TensorShape:
    """``x.shape`` of a Keras tensor while the script builds its model (k2t.parse.tensor_shapes): the batch axis
    first, each size a number, None (Keras's unknown size) or NOT_KNOWN. ``dims`` is None where only the last
    size is known (an Input whose number of sizes k2t cannot tell). Reading a size k2t does not know, or
    comparing with one, leaves the expression unknown."""

    def __init__(self, dims: tuple | None, last: Any = NOT_KNOWN):
        self.dims = dims
        self.last = dims[-1] if dims else last

    def __getitem__(self, index):
        if isinstance(index, slice):
            if self.dims is None:
                raise _NotKnown("the Keras tensor's number of axes is not known")
            return tuple(self._known(size) for size in self.dims[index])
        if index == -1:
            return self._known(self.last)
        if self.dims is None:
            raise _NotKnown("the Keras tensor's number of axes is not known")
        return self._known(self.dims[index])

    def __len__(self) -> int:
        if self.dims is None:
            raise _NotKnown("the Keras tensor's number of axes is not known")
        return len(self.dims)

    def __iter__(self):
        return iter(self[:])

    def __eq__(self, other) -> bool:
        if isinstance(other, TensorShape):
            return self.dims is not None and other.dims is not None and self.dims == other.dims
        return tuple(self[:]) == other

    __hash__ = None  # type: ignore[assignment]

    def with_last(self, size: Any) -> TensorShape:
        return TensorShape((*self.dims[:-1], size) if self.dims is not None else None, last=size)

    def with_spatial(self, sizes: tuple | None, last: Any = None) -> TensorShape:
        """The batch, ``sizes`` between (NOT_KNOWN each where None), then ``last`` (this shape's by default)."""
        last = self.last if last is None else last
        if self.dims is None:
            return TensorShape(None, last=last)
        spatial = sizes if sizes is not None else (NOT_KNOWN,) * (len(self.dims) - 2)
        return TensorShape((self.dims[0], *spatial, last))

    @staticmethod
    def _known(size: Any) -> Any:
        if isinstance(size, RunTimeSize):
            return size  # its code, which the generated module receives
        if size is NOT_KNOWN:
            raise _NotKnown("a size of the Keras tensor k2t does not know")
        return size

    def __repr__(self) -> str:
        return f"TensorShape({self.dims!r}, last={self.last!r})"


@dataclass(frozen=True)
class KerasClass:
    """A Keras layer class as a value the script passes around (``for cell in (layers.LSTM, layers.GRU):``,
    ``def make_rnn(cell=layers.GRU)``): its canonical name."""

    name: str

    @property
    def short_name(self) -> str:
        return self.name.rsplit(".", 1)[-1]

    @classmethod
    def of(cls, name: str) -> KerasClass:
        """The one value for the class ``name``: `cell is layers.LSTM` holds as in Python."""
        return _KERAS_CLASSES.setdefault(name, cls(name))


_KERAS_CLASSES: dict[str, KerasClass] = {}


# Results beyond this many elements or digits are not folded: a script's sizes are small.
_MAX_ITEMS = 10_000


def is_constant(value: Any) -> bool:
    """A value generated code can spell as a literal: numbers, strings, None, and tuples/lists of them."""
    if isinstance(value, _CONSTANT_TYPES):
        return not (isinstance(value, float) and math.isnan(value))  # NaN has no literal
    if isinstance(value, (tuple, list)):
        return len(value) <= _MAX_ITEMS and all(is_constant(v) for v in value)
    return False


class Evaluator:
    """Folds libcst expressions. ``keras_value`` gives the value of a Keras call the
    evaluator may fold (``keras.backend.image_data_format()``), or None."""

    def __init__(
        self,
        env: Env,
        keras_value: Callable[[cst.Call], Any] | None = None,
        tensor_shape: Callable[[str], TensorShape | None] | None = None,
        keras_class: Callable[[cst.BaseExpression], KerasClass | None] | None = None,
        model_shape: Callable[[str], TensorShape | None] | None = None,
    ):
        self.env = env
        # ``model.output_shape`` of a Sequential model the script is still adding layers to, or None.
        self.model_shape = model_shape
        self.keras_value = keras_value
        # The Keras layer class a name or attribute names (``layers.LSTM``), or None.
        self.keras_class = keras_class
        self.classes: list[cst.BaseExpression] = []  # the references to Keras layer classes the last evaluation read
        # The static shape of the Keras tensor a name holds (``shortcut.shape[-1]``), or None.
        self.tensor_shape = tensor_shape
        self.transient = False  # whether the last evaluation read a transient name
        self.bindings: list[Binding] = []  # the bindings the last evaluation read
        self.tensors: list[cst.Name] = []  # the names of Keras tensors whose shape the last evaluation read

    def __call__(self, node: cst.BaseExpression) -> Any:
        self.transient = False
        self.bindings = []
        self.tensors = []
        self.classes = []
        try:
            return self._eval(node)
        except _NotKnown as exc:
            reason = str(exc)
        except RecursionError:
            return Unknown("expression too deep")
        except RunTimeRead as exc:
            reason = str(exc)
        except Exception as exc:  # noqa: BLE001 -- the script's own arithmetic may fail (1/0): not known
            reason = f"evaluating it raises {type(exc).__name__}"
        try:
            return Unknown(
                reason,
                rank=array_rank(node, self.env),
                shape=shape_slice(node, self.env),
                sizes=row_sizes(node, self.env),
            )
        except RecursionError:
            return Unknown(reason)

    def _eval(self, node: cst.BaseExpression) -> Any:
        method = getattr(self, "_" + type(node).__name__, None)
        if method is None:
            raise _NotKnown("not a constant expression")
        value = method(node)
        if isinstance(value, Unknown):
            raise _NotKnown(value.reason)
        return value

    # literals
    def _Integer(self, node: cst.Integer) -> Any:
        return node.evaluated_value

    def _Float(self, node: cst.Float) -> Any:
        return node.evaluated_value

    def _Imaginary(self, node: cst.Imaginary) -> Any:
        return node.evaluated_value

    def _SimpleString(self, node: cst.SimpleString) -> Any:
        return ast.literal_eval(node.value)

    def _ConcatenatedString(self, node: cst.ConcatenatedString) -> Any:
        return self._eval(node.left) + self._eval(node.right)

    def _FormattedString(self, node: cst.FormattedString) -> Any:
        parts = []
        for part in node.parts:
            if isinstance(part, cst.FormattedStringText):
                parts.append(part.value)
                continue
            value = self._eval(part.expression)
            if part.conversion == "r":
                value = repr(value)
            elif part.conversion == "s":
                value = str(value)
            spec = "".join(self._eval_spec(p) for p in part.format_spec or ())
            parts.append(format(value, spec))
        return "".join(parts)

    def _eval_spec(self, part) -> str:
        if isinstance(part, cst.FormattedStringText):
            return part.value
        return str(self._eval(part.expression))

    def _Name(self, node: cst.Name) -> Any:
        if node.value in ("True", "False", "None"):
            return {"True": True, "False": False, "None": None}[node.value]
        binding = self.env.lookup(node.value)
        if binding is None or isinstance(binding.value, Unknown):
            known = self._keras_class(node)
            if known is not None:
                return known
        if binding is None:
            if node.value in FOLDED_BUILTINS:
                raise _NotKnown(f"`{node.value}` is a function")
            raise _NotKnown(f"`{node.value}` is not a value k2t can follow")
        self.transient = self.transient or binding.transient
        self.bindings.append(binding)
        if isinstance(binding.value, Unknown):
            raise _NotKnown(binding.value.reason)
        return binding.value

    def _Attribute(self, node: cst.Attribute) -> Any:
        if node.attr.value == "output_shape" and isinstance(node.value, cst.Name) and self.model_shape is not None:
            shape = self.model_shape(node.value.value)
            if shape is not None:
                # `model.output_shape[1]` while the script adds layers: the module does not exist there yet.
                self.transient = True
                return shape
        if node.attr.value == "shape" and isinstance(node.value, cst.Name) and self.tensor_shape is not None:
            shape = self.tensor_shape(node.value.value)
            if shape is not None:
                # A Keras tensor exists only while the script builds its model: code uses the value, never the name.
                self.transient = True
                self.tensors.append(node.value)
                return shape
        if node.attr.value == "shape":
            sizes = row_sizes(node.value, self.env)
            if sizes is not None:
                # `x_train.shape[1:]` of mnist's arrays: (28, 28) before the script runs; the rows are not known.
                return TensorShape((NOT_KNOWN, *sizes))
        if isinstance(node.value, (cst.Name, cst.Attribute, cst.Call)):
            try:
                base = self._eval(node.value)
            except _NotKnown:
                base = None
            if isinstance(base, Namespace):
                return base.attribute(node.attr.value)
        known = self._keras_class(node)
        if known is not None:
            return known
        raise _NotKnown(f"`{_code(node)}` is read when the script runs")

    def _keras_class(self, node: cst.BaseExpression) -> KerasClass | None:
        known = self.keras_class(node) if self.keras_class is not None else None
        if known is not None:
            self.classes.append(node)
        return known

    # displays
    def _Tuple(self, node: cst.Tuple) -> Any:
        return tuple(self._elements(node.elements))

    def _List(self, node: cst.List) -> Any:
        return list(self._elements(node.elements))

    def _Set(self, node: cst.Set) -> Any:
        return set(self._elements(node.elements))

    def _elements(self, elements) -> list:
        values: list = []
        for element in elements:
            if isinstance(element, cst.StarredElement):
                values.extend(self._eval(element.value))
            else:
                values.append(self._eval(element.value))
        return values

    def _Dict(self, node: cst.Dict) -> Any:
        result = {}
        for element in node.elements:
            if isinstance(element, cst.StarredDictElement):
                result.update(self._eval(element.value))
            else:
                result[self._eval(element.key)] = self._eval(element.value)
        return result

    # operators
    def _UnaryOperation(self, node: cst.UnaryOperation) -> Any:
        value = self._eval(node.expression)
        if isinstance(node.operator, cst.Minus):
            return -value
        if isinstance(node.operator, cst.Plus):
            return +value
        if isinstance(node.operator, cst.Not):
            return not value
        return ~value

    def _BinaryOperation(self, node: cst.BinaryOperation) -> Any:
        op = _BINARY.get(type(node.operator))
        if op is None:
            raise _NotKnown("operator not folded")
        left, right = self._eval(node.left), self._eval(node.right)
        if isinstance(node.operator, cst.Power) and (abs(right) > 64 if isinstance(right, (int, float)) else True):
            raise _NotKnown("power too large to fold")
        if isinstance(node.operator, cst.Multiply) and (
            isinstance(left, (str, tuple, list)) or isinstance(right, (str, tuple, list))
        ):
            count = right if isinstance(left, (str, tuple, list)) else left
            if isinstance(count, int) and count > _MAX_ITEMS:
                raise _NotKnown("sequence too long to fold")
        return op(left, right)

    def _BooleanOperation(self, node: cst.BooleanOperation) -> Any:
        left = self._eval(node.left)
        if isinstance(node.operator, cst.And):
            return self._eval(node.right) if left else left
        return left if left else self._eval(node.right)

    def _Comparison(self, node: cst.Comparison) -> Any:
        left = self._eval(node.left)
        for target in node.comparisons:
            right = self._eval(target.comparator)
            if not _COMPARE[type(target.operator)](left, right):
                return False
            left = right
        return True

    def _IfExp(self, node: cst.IfExp) -> Any:
        return self._eval(node.body) if self._eval(node.test) else self._eval(node.orelse)

    def _Subscript(self, node: cst.Subscript) -> Any:
        value = self._eval(node.value)
        if len(node.slice) != 1:
            raise _NotKnown("multi-dimensional subscript")
        index = node.slice[0].slice
        if isinstance(index, cst.Slice):
            bounds = [None if part is None else self._eval(part) for part in (index.lower, index.upper, index.step)]
            return value[slice(*bounds)]
        return value[self._eval(index.value)]

    def _Call(self, node: cst.Call) -> Any:
        if self.keras_value is not None:
            folded = self.keras_value(node)
            if isinstance(folded, TensorShape):  # `K.int_shape(x)`: a Keras tensor's, as `x.shape`
                self.transient = True
                self.tensors.append(node.args[0].value)
            if folded is not None:
                return folded
        if isinstance(node.func, cst.Attribute) and not node.args:
            method = self._method(node.func)
            if method is not None:
                return method()
        if (
            isinstance(node.func, cst.Attribute)
            and node.args
            and all(arg.keyword is None and not arg.star for arg in node.args)
        ):
            method = self._method(node.func)
            if method is not None:
                return method(*(self._eval(arg.value) for arg in node.args))
        if isinstance(node.func, cst.Name) and not node.args:
            binding = self.env.lookup(node.func.value)
            if binding is not None and isinstance(binding.value, Namespace):
                self.bindings.append(binding)
                return binding.value  # `cfg = CFG()` of a class without __init__: its instance reads the same values
        if (
            not isinstance(node.func, cst.Name)
            or node.func.value not in FOLDED_BUILTINS
            or self.env.lookup(node.func.value)
        ):
            raise _NotKnown(f"`{_code(node.func)}(...)` is computed when the script runs")
        args, kwargs = [], {}
        for arg in node.args:
            if arg.star == "*":
                args.extend(self._eval(arg.value))
            elif arg.star == "**":
                kwargs.update(self._eval(arg.value))
            elif arg.keyword is not None:
                kwargs[arg.keyword.value] = self._eval(arg.value)
            else:
                args.append(self._eval(arg.value))
        return FOLDED_BUILTINS[node.func.value](*args, **kwargs)

    def _method(self, func: cst.Attribute) -> Callable[..., Any] | None:
        """``d.items`` of a dict the evaluator knows, bound to it; None for any other method."""
        try:
            owner = self._eval(func.value)
        except _NotKnown:
            return None
        method = _FOLDED_METHODS.get(type(owner), {}).get(func.attr.value)
        return None if method is None else (lambda *args: method(owner, *args))

    def _ListComp(self, node: cst.ListComp) -> Any:
        return list(self._comprehension(node.elt, node.for_in))

    def _GeneratorExp(self, node: cst.GeneratorExp) -> Any:
        return tuple(self._comprehension(node.elt, node.for_in))

    def _comprehension(self, elt: cst.BaseExpression, for_in: cst.CompFor) -> list:
        results: list = []
        outer = self.env
        self.env = Env(parent=outer)
        try:
            self._loop(elt, for_in, results)
        finally:
            self.env = outer
        self.transient = True
        return results

    def _loop(self, elt, for_in: cst.CompFor, results: list) -> None:
        if for_in.asynchronous is not None:
            raise _NotKnown("async comprehension")
        items = self._eval(for_in.iter)
        for item in items:
            bind_target(self.env, for_in.target, item, transient=True)
            if not all(self._eval(cond.search) for cond in for_in.ifs):
                continue
            if for_in.inner_for_in is not None:
                self._loop(elt, for_in.inner_for_in, results)
            else:
                results.append(self._eval(elt))
                if len(results) > _MAX_ITEMS:
                    raise _NotKnown("comprehension too long to fold")


class _NotKnown(Exception):
    pass


def evaluate(node: cst.BaseExpression, env: Env, keras_value=None) -> Any:
    """The value of ``node`` when the script runs, or an :class:`Unknown`."""
    return Evaluator(env, keras_value)(node)


def declared_global(node: cst.CSTNode) -> set[str]:
    """The names a ``global`` statement anywhere in ``node`` declares."""
    found: set[str] = set()

    class Globals(Visitor):
        def visit_Global(self, statement: cst.Global) -> None:
            found.update(item.name.value for item in statement.names)

    node.visit(Globals())
    return found


def module_constants(module: cst.Module, env: Env) -> dict[str, Any]:
    """The script's module-level constants: names one top-level assignment binds, to a value :func:`evaluate`
    knew (a number, a string, a tuple of them), that nothing else at the top level rebinds and no function
    declares ``global``. Their value holds wherever the script reads them after that line, inside its classes
    and functions too."""
    bound_by: dict[str, int] = {}
    for statement in module.body:
        for name in assigned_names(statement):
            bound_by[name] = bound_by.get(name, 0) + 1
    declared = declared_global(module)
    constants: dict[str, Any] = {}
    for statement in module.body:
        if (
            not isinstance(statement, cst.SimpleStatementLine)
            or len(statement.body) != 1
            or not isinstance(statement.body[0], cst.Assign)
        ):
            continue
        for target in statement.body[0].targets:
            for name in target_names(target.target):
                binding = env.names.get(name)
                if (
                    bound_by.get(name) == 1
                    and name not in declared
                    and binding is not None
                    and is_constant(binding.value)
                ):
                    constants[name] = binding.value
    return constants


# Modules whose ``reshape`` / ``expand_dims`` take the array first: ``np.reshape(x, (-1, 28, 28, 1))``.
_ARRAY_MODULES = frozenset({"np", "numpy", "tf", "jnp", "ops", "torch"})
# Functions and methods that keep their array's number of axes.
# NumPy's array makers whose sizes are their arguments, their first argument, or their size= (a Generator's too).
_SIZES_GIVEN = frozenset({"rand", "randn"})
_SHAPE_FIRST = frozenset({"zeros", "ones", "empty", "full"})
_DRAWS = frozenset({"normal", "uniform", "random", "randint", "integers", "standard_normal", "binomial", "choice"})
# np.random.random((64, 8)) and its aliases: the shape is the first argument (size=).
_SIZE_FIRST = frozenset({"random", "random_sample", "sample", "ranf"})
# Where NumPy's draws take their size= positionally (numpy.random and numpy.random.Generator agree).
_SIZE_POSITION = {
    "random": 0,
    "normal": 2,
    "uniform": 2,
    "randint": 2,
    "integers": 2,
    "binomial": 2,
    "standard_normal": 0,
    "choice": 1,
}
_SAME_RANK = frozenset(
    {
        "astype",
        "copy",
        "asarray",
        "array",
        "cast",
        "convert_to_tensor",
        "clip",
        "round",
        "abs",
        "float32",
        "tanh",
        "log1p",
    }
)
_MAX_RANK = 16  # more axes than any array a script trains on: not a rank
# Reductions over axes (functions of the array module, or methods of the array).
_REDUCTIONS = frozenset({"mean", "std", "var", "sum", "max", "min", "amax", "amin", "median", "prod"})


def array_rank(node: cst.BaseExpression, env: Env) -> int | None:
    """The number of axes of the array ``node`` evaluates to, where the script fixes it.

    ``x.reshape(-1, 28, 28, 1)`` has 4; ``np.expand_dims(x, -1)`` one more than
    ``x``; ``x.astype("float32") / 255``, ``x[..., None]`` follow ``x``; a name
    holds what its assignment fixed. None when the script does not say.
    """
    rank = _rank(node, env)
    return rank if rank is not None and 0 <= rank <= _MAX_RANK else None


def _rank(node: cst.BaseExpression, env: Env) -> int | None:
    if isinstance(node, cst.Name):
        binding = env.lookup(node.value)
        if binding is None or not isinstance(binding.value, Unknown):
            return None
        return binding.value.rank if binding.value.rank is not None else env.list_rank(node.value)
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, (cst.Minus, cst.Plus)):
        return _rank(node.expression, env)
    if isinstance(node, cst.BinaryOperation):
        return _broadcast_rank(node, env)
    if isinstance(node, cst.Subscript):
        return _subscript_rank(node, env)
    if isinstance(node, cst.Attribute) and node.attr.value == "T":
        return _rank(node.value, env)
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
        return _call_rank(node, env)
    return None


def _method_call(node: cst.Call) -> tuple[cst.Attribute, str, bool, list[cst.BaseExpression]] | None:
    """``x.reshape(...)`` / ``np.expand_dims(...)``: (the attribute called, its name, whether it is a function of an
    array module, the positional arguments); None where an argument is starred."""
    func = node.func
    assert isinstance(func, cst.Attribute)
    if any(arg.star for arg in node.args):
        return None
    positional = [arg.value for arg in node.args if arg.keyword is None]
    return func, func.attr.value, _is_array_module(func.value), positional


def _call_rank(node: cst.Call, env: Env) -> int | None:
    parts = _method_call(node)
    if parts is None:
        return None
    func, method, on_module, positional = parts
    made = made_shape(node, env)
    if made is not None:
        return len(made)  # np.random.random((2500, 100, 32, 32, 3))
    if method in _REDUCTIONS:
        return _reduced_rank(node, positional, on_module, env)
    if method == "reshape":
        if on_module:  # np.reshape(x, (-1, 28, 28, 1))
            shape = positional[1] if len(positional) > 1 else _keyword(node, "newshape", "shape")
            return _shape_length(shape, env) if shape is not None else None
        if len(positional) == 1:  # x.reshape((-1, 28, 28, 1)) or x.reshape(shape)
            return _shape_length(positional[0], env)
        return len(positional) if positional else None  # x.reshape(-1, 28, 28, 1)
    if method == "expand_dims" and on_module and positional:
        rank = _rank(positional[0], env)
        return rank + 1 if rank is not None else None
    if method in _SIZES_GIVEN and on_module and all(arg.keyword is None for arg in node.args):
        return len(positional)  # np.random.rand(64, 5, 7)
    if method == "permutation" and on_module and len(positional) == 1 and not node.args[0].keyword:
        # np.random.permutation(len(x)) of a number: its indices, one axis; of an array: that array shuffled
        count = positional[0]
        if isinstance(count, cst.Call) and isinstance(count.func, cst.Name) and count.func.value == "len":
            return 1
        number = _plain(count, env)
        return 1 if isinstance(number, int) and not isinstance(number, bool) else _rank(count, env)
    if method == "arange" and on_module:
        return 1
    if method in _SHAPE_FIRST and on_module and positional:
        return _shape_length(positional[0], env)  # np.zeros((64, 5))
    size = _keyword(node, "size")
    if method in _DRAWS and size is not None:
        return _shape_length(size, env)  # rng.normal(size=(96, 8)), np.random.randint(0, 3, size=(64,))
    if method in _SAME_RANK:
        if on_module:
            return _rank(positional[0], env) if positional else None
        return _rank(func.value, env)
    return None


def made_shape(node: cst.BaseExpression, env: Env) -> tuple[int, ...] | None:
    """The whole shape of an array made with sizes the script writes, which holds before the script runs:
    ``np.random.random((50000, 128))``, ``np.zeros((n, 8))``, ``np.random.rand(64, 8)``,
    ``np.random.normal(0, 1, (64, 8))``, ``rng.integers(0, 3, size=(64,))``, ``tf.random.normal((1, 28))``.
    None for any other expression, or where a size is not an integer k2t knows."""
    if not isinstance(node, cst.Call) or not isinstance(node.func, cst.Attribute):
        return None
    if any(arg.star for arg in node.args):
        return None
    method = node.func.attr.value
    if method in ("astype", "copy"):  # x.astype("float32"): the array's shape
        return made_shape(node.func.value, env)
    positional = [arg.value for arg in node.args if arg.keyword is None]
    on_module = _is_array_module(node.func.value)
    tensorflow = _root_name(node.func.value) in ("tf", "tensorflow")
    if method in _SIZES_GIVEN and on_module and not tensorflow:
        if any(arg.keyword is not None for arg in node.args):
            return None
        return _sizes(positional, env)  # np.random.rand(64, 8)
    if method in _SHAPE_FIRST and on_module or tensorflow and method in ("normal", "uniform", "truncated_normal"):
        shape = positional[0] if positional else _keyword(node, "shape")  # np.zeros((64, 8)), tf.random.normal(...)
    elif method in _SIZE_FIRST and on_module and not tensorflow:
        shape = positional[0] if positional else _keyword(node, "size")  # np.random.random((64, 8))
    elif method in _DRAWS and not tensorflow:
        # np.random.normal(loc, scale, size), rng.integers(low, high, size), np.random.choice(a, size): or size=
        at = _SIZE_POSITION.get(method)
        shape = _keyword(node, "size") or (positional[at] if at is not None and len(positional) > at else None)
    else:
        return None
    if shape is None:
        return None
    value = _plain(shape, env)
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value,)
    return _sizes_of_values(value)


def _sizes(nodes: list[cst.BaseExpression], env: Env) -> tuple[int, ...] | None:
    return _sizes_of_values(tuple(_plain(node, env) for node in nodes)) if nodes else None


def _sizes_of_values(value: Any) -> tuple[int, ...] | None:
    if not isinstance(value, (tuple, list)) or not value:
        return None
    if not all(isinstance(size, int) and not isinstance(size, bool) and size >= 0 for size in value):
        return None
    return tuple(value)


def _root_name(node: cst.BaseExpression) -> str | None:
    while isinstance(node, cst.Attribute):
        node = node.value
    return node.value if isinstance(node, cst.Name) else None


def _reduced_rank(node: cst.Call, positional: list, on_module: bool, env: Env) -> int | None:
    """``np.mean(x, axis=0)``, ``x.std(axis=(1, 2))``, ``np.sum(x)``: the array's rank less the axes reduced (none
    with keepdims=True; all without an axis)."""
    array = (positional[0] if positional else None) if on_module else node.func.value
    rank = _rank(array, env) if array is not None else None
    if rank is None:
        return None
    keepdims = _keyword(node, "keepdims")
    if keepdims is not None:
        kept = _plain(keepdims, env)
        if kept is True:
            return rank
        if kept is not False:
            return None
    axis = _keyword(node, "axis")
    if axis is None and len(positional) > (1 if on_module else 0):
        axis = positional[1 if on_module else 0]
    if axis is None:
        return 0
    axes = _plain(axis, env)
    if axes is None:
        return 0
    if isinstance(axes, int) and not isinstance(axes, bool):
        return rank - 1 if rank >= 1 else None
    if isinstance(axes, tuple) and all(isinstance(a, int) and not isinstance(a, bool) for a in axes):
        return rank - len(set(axes)) if len(set(axes)) <= rank else None
    return None


def item_rank(node: cst.BaseExpression, env: Env) -> int | None:
    """How many axes ``np.array`` gives one item of a list: 0 for a number (``float(v)``, ``3``), 1 for a list of
    numbers (``[float(v) for v in fields]``, ``[int(label)]``), an array's rank; None where k2t cannot tell."""
    if isinstance(node, (cst.List, cst.Tuple)):
        if not node.elements or any(isinstance(element, cst.StarredElement) for element in node.elements):
            return None
        ranks = {item_rank(element.value, env) for element in node.elements}
        return None if len(ranks) != 1 or None in ranks else ranks.pop() + 1
    if isinstance(node, cst.ListComp):
        if node.for_in.inner_for_in is not None:
            return None
        inner = item_rank(node.elt, Env(env, {}))
        return inner + 1 if inner is not None else None
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value in ("float", "int"):
        binding = env.lookup(node.func.value)
        return 0 if binding is None else None  # the builtin: a number
    value = _plain(node, env)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return 0
    return array_rank(node, env)


def _plain(node: cst.BaseExpression, env: Env) -> Any:
    """The value of ``node``, or an Unknown without the array facts (which would be looked for again below)."""
    try:
        return Evaluator(env)._eval(node)
    except Exception:  # noqa: BLE001 -- _NotKnown, and whatever the script's own arithmetic raises
        return Unknown("not known")


def _keyword(node: cst.Call, *names: str) -> cst.BaseExpression | None:
    for arg in node.args:
        if arg.keyword is not None and arg.keyword.value in names:
            return arg.value
    return None


def _shape_length(node: cst.BaseExpression, env: Env) -> int | None:
    """How many sizes a shape argument holds: ``(-1, 28, 28, 1)``, ``shape``, ``784``."""
    if isinstance(node, (cst.Tuple, cst.List)):
        if any(isinstance(el, cst.StarredElement) for el in node.elements):
            return None
        return len(node.elements)
    value = _plain(node, env)
    if isinstance(value, (tuple, list)):
        return len(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return 1
    return None


def _is_array_module(node: cst.BaseExpression) -> bool:
    """``np``, ``tf``, ``keras.ops``: a module whose functions take the array first (not an array's method)."""
    while isinstance(node, cst.Attribute):
        if node.attr.value in _ARRAY_MODULES:
            return True
        node = node.value
    return isinstance(node, cst.Name) and node.value in _ARRAY_MODULES


def _broadcast_rank(node: cst.BinaryOperation, env: Env) -> int | None:
    """``x / 255.0``: the array's rank; two arrays broadcast to the larger one's."""
    ranks = []
    for side in (node.left, node.right):
        rank = _rank(side, env)
        if rank is None:
            value = _plain(side, env)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                return None  # an array of unknown rank may have more axes
            rank = 0  # a number broadcasts to anything
        ranks.append(rank)
    return max(ranks)


def _subscript_rank(node: cst.Subscript, env: Env) -> int | None:
    """``x[..., None]``, ``x[:, 0:8]``, ``x[0]``: an integer drops an axis, None adds one, a slice keeps one."""
    rank = _rank(node.value, env)
    if rank is None:
        return None
    dropped = added = kept = 0
    for element in node.slice:
        index = element.slice
        if isinstance(index, cst.Slice):
            kept += 1
            continue
        value = index.value
        if isinstance(value, cst.Ellipsis):
            continue
        if (
            isinstance(value, cst.Name)
            and value.value == "None"
            or isinstance(value, cst.Attribute)
            and value.attr.value == "newaxis"
        ):
            added += 1
            continue
        known = _plain(value, env)
        if isinstance(known, int) and not isinstance(known, bool):
            dropped += 1
            continue
        if len(node.slice) == 1 and _rank(value, env) == 1:
            kept += 1  # `x[idx]` of one axis of indices (np.random.permutation(len(x))) or a mask: an axis as long
            continue
        return None  # an array of indices: the result's rank depends on it
    if dropped + kept > rank:
        return None
    return rank - dropped + added


def shape_slice(node: cst.BaseExpression, env: Env) -> ShapeOf | None:
    """``x.shape[1:]`` (or a name bound to one): the array and where the slice starts."""
    if isinstance(node, cst.Name):
        binding = env.lookup(node.value)
        return binding.value.shape if binding is not None and isinstance(binding.value, Unknown) else None
    row = _row_shape(node, env)
    if row is not None:
        return row
    if not (
        isinstance(node, cst.Subscript) and isinstance(node.value, cst.Attribute) and node.value.attr.value == "shape"
    ):
        return None
    if len(node.slice) != 1 or not isinstance(node.slice[0].slice, cst.Slice):
        return None
    index = node.slice[0].slice
    if index.upper is not None or index.step is not None:
        return None
    start = 0 if index.lower is None else _plain(index.lower, env)
    if isinstance(start, bool) or not isinstance(start, int):
        return None
    array = node.value.value
    code = _code(array)
    if not isinstance(array, (cst.Name, cst.Attribute, cst.Call, cst.Subscript)) and not array.lpar:
        code = f"({code})"
    return ShapeOf(code, start, array_rank(array, env))


def _row_shape(node: cst.BaseExpression, env: Env) -> ShapeOf | None:
    """``x[0].shape``: one row's shape, which is ``x.shape[1:]``."""
    if not (isinstance(node, cst.Attribute) and node.attr.value == "shape" and isinstance(node.value, cst.Subscript)):
        return None
    row = node.value
    if len(row.slice) != 1 or not isinstance(row.slice[0].slice, cst.Index) or row.slice[0].slice.star is not None:
        return None
    index = _plain(row.slice[0].slice.value, env)
    if isinstance(index, bool) or not isinstance(index, int):
        return None
    array = row.value
    if not isinstance(array, (cst.Name, cst.Attribute)):
        return None
    return ShapeOf(_code(array), 1, array_rank(array, env))


def sizes_of(target: cst.BaseExpression, node: cst.BaseExpression, value: Any) -> Any:
    """``input_shape = (height, width, channels)`` of sizes k2t does not know (a function's parameters, data's
    sizes): the name holds a shape of that many sizes, ``input_shape[0]``, ... where the script reads them."""
    if not (isinstance(value, Unknown) and value.shape is None and isinstance(target, cst.Name)):
        return value
    if not isinstance(node, (cst.Tuple, cst.List)) or not node.elements:
        return value
    if not all(isinstance(element, cst.Element) for element in node.elements):
        return value
    return Unknown(value.reason, shape=ShapeOf(target.value, 0, len(node.elements), sequence=True))


def bind_target(env: Env, target: cst.BaseExpression, value: Any, transient: bool = False) -> None:
    """Bind an assignment or loop target to ``value`` (unpacking tuples), or to Unknown where it cannot."""
    if isinstance(target, cst.Name):
        env.bind(target.value, value, transient)
        return
    if isinstance(target, (cst.Tuple, cst.List)):
        elements = target.elements
        starred = [i for i, el in enumerate(elements) if isinstance(el, cst.StarredElement)]
        try:
            items = list(value) if not isinstance(value, Unknown) else None
        except TypeError:
            items = None
        if items is None or starred or len(items) != len(elements):
            env.forget(target_names(target), value.reason if isinstance(value, Unknown) else "unpacked at run time")
            return
        for element, item in zip(elements, items):
            bind_target(env, element.value, item, transient)
        return
    # Attributes and subscripts (self.x = ..., d[k] = ...) bind no name.


def target_names(target: cst.CSTNode) -> list[str]:
    """The names an assignment / loop / with target binds."""
    if isinstance(target, cst.Name):
        return [target.value]
    if isinstance(target, (cst.Tuple, cst.List)):
        return [name for el in target.elements for name in target_names(el.value)]
    if isinstance(target, cst.StarredElement):
        return target_names(target.value)
    return []


def changed_names(node: cst.CSTNode) -> set[str]:
    """The names whose object a statement changes in place, anywhere inside it (not inside nested functions and
    classes): ``sizes.append(16)``, ``cfg["units"] = 8``, ``CFG.units = 8``, ``del d[key]``, ``x[0] += 1``."""
    names: set[str] = set()

    def root(target: cst.BaseExpression) -> None:
        while isinstance(target, (cst.Subscript, cst.Attribute)):
            target = target.value
        if isinstance(target, cst.Name):
            names.add(target.value)

    def roots(target: cst.BaseExpression) -> None:
        if isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                roots(element.value)
        elif isinstance(target, cst.StarredElement):
            roots(target.value)
        elif isinstance(target, (cst.Subscript, cst.Attribute)):
            root(target)

    class Collector(Visitor):
        def visit_Call(self, n: cst.Call) -> None:
            if isinstance(n.func, cst.Attribute) and n.func.attr.value in CHANGING_METHODS:
                root(n.func.value)

        def visit_AssignTarget(self, n: cst.AssignTarget) -> None:
            roots(n.target)

        def visit_AugAssign(self, n: cst.AugAssign) -> None:
            roots(n.target)

        def visit_AnnAssign(self, n: cst.AnnAssign) -> None:
            roots(n.target)

        def visit_Del(self, n: cst.Del) -> None:
            roots(n.target)

        def visit_FunctionDef(self, n: cst.FunctionDef) -> bool:
            return False

        def visit_ClassDef(self, n: cst.ClassDef) -> bool:
            return False

        def visit_Lambda(self, n: cst.Lambda) -> bool:
            return False

    node.visit(Collector())
    return names


def assigned_names(node: cst.CSTNode) -> set[str]:
    """Every name a statement binds anywhere inside it (not inside nested functions and classes), and every name
    whose object it changes in place (:func:`changed_names`): what the names hold after it is not what they held."""
    names: set[str] = changed_names(node)

    class Collector(Visitor):
        def visit_AssignTarget(self, n: cst.AssignTarget) -> None:
            names.update(target_names(n.target))

        def visit_AnnAssign(self, n: cst.AnnAssign) -> None:
            names.update(target_names(n.target))

        def visit_AugAssign(self, n: cst.AugAssign) -> None:
            names.update(target_names(n.target))

        def visit_For(self, n: cst.For) -> None:
            names.update(target_names(n.target))

        def visit_WithItem(self, n: cst.WithItem) -> None:
            if n.asname is not None:
                names.update(target_names(n.asname.name))

        def visit_NamedExpr(self, n: cst.NamedExpr) -> None:
            names.update(target_names(n.target))

        def visit_ExceptHandler(self, n: cst.ExceptHandler) -> None:
            if n.name is not None:
                names.update(target_names(n.name.name))

        def visit_ImportAlias(self, n: cst.ImportAlias) -> None:
            if n.asname is not None:
                names.update(target_names(n.asname.name))
            else:
                names.add(_code(n.name).split(".")[0])

        def visit_FunctionDef(self, n: cst.FunctionDef) -> bool:
            names.add(n.name.value)
            return False

        def visit_ClassDef(self, n: cst.ClassDef) -> bool:
            names.add(n.name.value)
            return False

        def visit_Lambda(self, n: cst.Lambda) -> bool:
            return False

    node.visit(Collector())
    return names


def _code(node: cst.CSTNode) -> str:
    return cst.Module(body=[]).code_for_node(node)


# ---------------------------------------------------------------- the sizes of one row of an array


def row_sizes(node: cst.BaseExpression, env: Env) -> tuple[int, ...] | None:
    """The sizes of one row of the array ``node`` evaluates to (its shape after axis 0), where they hold before
    the script runs: keras.datasets' arrays (mnist's rows are 28 x 28, whatever the number of rows), then what
    the script does to them: ``x / 255.0``, ``x.astype("float32")``, ``x[:1000]``, ``x[..., None]``,
    ``np.expand_dims(x, -1)``, ``x.reshape(-1, 28, 28, 1)`` / ``x.reshape(len(x), -1)``. None where k2t
    cannot tell. ``x.shape[1:]`` is then those sizes, not code read when the script runs."""
    try:
        sizes = _row_sizes(node, env)
    except RecursionError:
        return None
    if sizes is None or not all(isinstance(size, int) and not isinstance(size, bool) and size >= 0 for size in sizes):
        return None
    return tuple(sizes)


def _row_sizes(node: cst.BaseExpression, env: Env) -> tuple[int, ...] | None:
    if isinstance(node, cst.Name):
        binding = env.lookup(node.value)
        return binding.value.sizes if binding is not None and isinstance(binding.value, Unknown) else None
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, (cst.Minus, cst.Plus)):
        return _row_sizes(node.expression, env)
    if isinstance(node, cst.BinaryOperation) and type(node.operator).__name__ in _ELEMENTWISE:
        left, right = _row_sizes(node.left, env), _row_sizes(node.right, env)
        if left is not None and right is not None:
            return left if left == right else None
        for array, other in ((left, node.right), (right, node.left)):
            number = _plain(other, env) if array is not None else None
            if array is not None and isinstance(number, (int, float)) and not isinstance(number, bool):
                return array  # `x / 255.0`: a number broadcasts to every element
        return None
    if isinstance(node, cst.Subscript):
        return _subscript_row_sizes(node, env)
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
        return _call_row_sizes(node, env)
    return None


_ELEMENTWISE = frozenset({"Add", "Subtract", "Multiply", "Divide", "FloorDivide", "Power", "Modulo"})


def _subscript_row_sizes(node: cst.Subscript, env: Env) -> tuple[int, ...] | None:
    """``x[:1000]`` and ``x[indices]`` keep a row's sizes; ``x[..., None]`` / ``x[:, :, :, np.newaxis]`` add a 1
    (after the axes written before it); anything else is not followed."""
    sizes = _row_sizes(node.value, env)
    if sizes is None or not node.slice:
        return None
    first, *rest = node.slice
    index = first.slice
    if isinstance(index, cst.Slice) or (len(node.slice) == 1 and array_rank(index.value, env) == 1):
        pass  # rows chosen: a slice, or one axis of indices / a mask
    elif isinstance(index.value, cst.Ellipsis) and len(rest) == 1 and _is_new_axis(rest[0]):
        return (*sizes, 1)  # x[..., None]
    else:
        return None
    if all(isinstance(element.slice, cst.Slice) and _whole(element.slice) for element in rest[: len(sizes)]):
        added = rest[len(sizes) :]
        if len(rest) <= len(sizes):
            return sizes
        if len(added) == 1 and _is_new_axis(added[0]):
            return (*sizes, 1)  # x[:, :, :, None]
    return None


def _is_new_axis(element: cst.SubscriptElement) -> bool:
    index = element.slice
    if isinstance(index, cst.Slice):
        return False
    value = index.value
    return (isinstance(value, cst.Name) and value.value == "None") or (
        isinstance(value, cst.Attribute) and value.attr.value == "newaxis"
    )


def _whole(index: cst.Slice) -> bool:
    return index.lower is None and index.upper is None and index.step is None


def _call_row_sizes(node: cst.Call, env: Env) -> tuple[int, ...] | None:
    parts = _method_call(node)
    if parts is None:
        return None
    func, method, on_module, positional = parts
    if method in ("astype", "copy") and not on_module:
        return _row_sizes(func.value, env)
    if method in ("asarray", "array", "float32", "ascontiguousarray") and on_module and len(positional) == 1:
        return _row_sizes(positional[0], env)
    if method == "expand_dims" and on_module and positional:
        sizes = _row_sizes(positional[0], env)
        axis_node = positional[1] if len(positional) > 1 else _keyword(node, "axis")
        axis = _plain(axis_node, env) if axis_node is not None else None
        if sizes is None or isinstance(axis, bool) or not isinstance(axis, int):
            return None
        rank = len(sizes) + 1
        at = axis + rank + 1 if axis < 0 else axis
        if not 1 <= at <= rank:
            return None  # a new axis 0 makes the rows something else
        return (*sizes[: at - 1], 1, *sizes[at - 1 :])
    if method == "reshape":
        array = positional[0] if on_module and positional else func.value
        if on_module:
            shape = positional[1] if len(positional) > 1 else _keyword(node, "newshape", "shape")
            shape_nodes = [shape] if shape is not None else []
        else:
            shape_nodes = positional
        return _reshaped_row(array, shape_nodes, env)
    return None


def _reshaped_row(array: cst.BaseExpression, shape_nodes: list, env: Env) -> tuple[int, ...] | None:
    """``x.reshape(-1, 28, 28, 1)``, ``x.reshape((len(x), 784))``, ``np.reshape(x, [-1, 28, 28, 1])``,
    ``x.reshape(x.shape[0], -1)``: the sizes after the first, the first being the rows (-1, ``len(x)``,
    ``x.shape[0]``), a -1 among them filled from the row's size."""
    if len(shape_nodes) == 1 and isinstance(shape_nodes[0], (cst.Tuple, cst.List)):
        elements = shape_nodes[0].elements
        if any(isinstance(element, cst.StarredElement) for element in elements):
            return None
        shape_nodes = [element.value for element in elements]
    if len(shape_nodes) < 2 or not _is_rows(shape_nodes[0], array, env):
        return None
    sizes = [_plain(size, env) for size in shape_nodes[1:]]
    if not all(isinstance(size, int) and not isinstance(size, bool) for size in sizes):
        return None
    if sizes.count(-1) > 1 or any(size < -1 for size in sizes):
        return None
    if -1 in sizes:
        before = _row_sizes(array, env)
        known = math.prod(size for size in sizes if size != -1)
        if before is None or known == 0 or math.prod(before) % known:
            return None
        sizes[sizes.index(-1)] = math.prod(before) // known
    return tuple(sizes)


def _is_rows(node: cst.BaseExpression, array: cst.BaseExpression, env: Env) -> bool:
    """-1, ``len(x)`` or ``x.shape[0]`` of the array reshaped: its number of rows."""
    if _plain(node, env) == -1:
        return True
    code = _code(array)
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value == "len" and len(node.args) == 1:
        return _code(node.args[0].value) == code
    if isinstance(node, cst.Subscript) and isinstance(node.value, cst.Attribute) and node.value.attr.value == "shape":
        index = node.slice[0].slice if len(node.slice) == 1 else None
        return (
            isinstance(index, cst.Index) and _plain(index.value, env) == 0 and _code(node.value.value) == code
        )
    return False
