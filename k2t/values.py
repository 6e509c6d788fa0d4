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
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import libcst as cst


@dataclass(frozen=True)
class Unknown:
    """A value k2t cannot know statically, and why."""

    reason: str


@dataclass
class Binding:
    value: Any  # the Python value, or an Unknown
    # A loop variable of a loop k2t unrolls, or of a comprehension: it does not exist where the
    # generated module is built, so code must use the value, never the name.
    transient: bool = False


@dataclass
class Env:
    """The names bound so far in one scope; a function's scope sees its module's."""

    parent: Env | None = None
    names: dict[str, Binding] = field(default_factory=dict)

    def lookup(self, name: str) -> Binding | None:
        env: Env | None = self
        while env is not None:
            if name in env.names:
                return env.names[name]
            env = env.parent
        return None

    def bind(self, name: str, value: Any, transient: bool = False) -> None:
        self.names[name] = Binding(value, transient)

    def forget(self, names, reason: str) -> None:
        for name in names:
            self.names[name] = Binding(Unknown(reason))


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
_BUILTINS: dict[str, Callable[..., Any]] = {
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
}
# Results beyond this many elements or digits are not folded: a script's sizes are small.
_MAX_ITEMS = 10_000


def is_constant(value: Any) -> bool:
    """A value generated code can spell as a literal: numbers, strings, None, and tuples/lists of them."""
    if isinstance(value, _CONSTANT_TYPES):
        return not (isinstance(value, float) and value != value)  # NaN has no literal
    if isinstance(value, (tuple, list)):
        return len(value) <= _MAX_ITEMS and all(is_constant(v) for v in value)
    return False


class Evaluator:
    """Folds libcst expressions. ``keras_value`` gives the value of a Keras call the
    evaluator may fold (``keras.backend.image_data_format()``), or None."""

    def __init__(self, env: Env, keras_value: Callable[[cst.Call], Any] | None = None):
        self.env = env
        self.keras_value = keras_value
        self.transient = False  # whether the last evaluation read a transient name

    def __call__(self, node: cst.BaseExpression) -> Any:
        self.transient = False
        try:
            return self._eval(node)
        except _NotKnown as exc:
            return Unknown(str(exc))
        except RecursionError:
            return Unknown("expression too deep")
        except Exception as exc:  # noqa: BLE001 -- the script's own arithmetic may fail (1/0): not known
            return Unknown(f"evaluating it raises {type(exc).__name__}")

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
        if binding is None:
            if node.value in _BUILTINS:
                raise _NotKnown(f"`{node.value}` is a function")
            raise _NotKnown(f"`{node.value}` is not a value k2t can follow")
        if isinstance(binding.value, Unknown):
            raise _NotKnown(binding.value.reason)
        self.transient = self.transient or binding.transient
        return binding.value

    def _Attribute(self, node: cst.Attribute) -> Any:
        raise _NotKnown(f"`{_code(node)}` is read when the script runs")

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
        if isinstance(node.operator, cst.Multiply) and (isinstance(left, (str, tuple, list)) or isinstance(right, (str, tuple, list))):
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
            if folded is not None:
                return folded
        if not isinstance(node.func, cst.Name) or node.func.value not in _BUILTINS or self.env.lookup(node.func.value):
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
        return _BUILTINS[node.func.value](*args, **kwargs)

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


def assigned_names(node: cst.CSTNode) -> set[str]:
    """Every name a statement binds anywhere inside it (not inside nested functions and classes)."""
    names: set[str] = set()

    class Collector(cst.CSTVisitor):
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
