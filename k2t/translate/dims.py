"""Sizes of shapes as the translation knows them.

A Keras shape (batch excluded) is a list of :data:`Dim`: a :class:`Size`, or
None where the shape leaves the size open (``Input(shape=(None, 8))``: the
tensor has it only at run time). A :class:`Size` is a number k2t knows at
conversion (``28``) or code the generated module evaluates (``in_features``,
a constructor parameter; ``(in_features - 2) // 2 + 1``, derived from one).

Arithmetic on sizes folds numbers and writes the code of the others with only
the parentheses Python needs, so a converter computes an output size the way
Keras's ``compute_output_shape`` does (``(n - span) // stride + 1``) instead
of assembling strings.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

# Operator precedence of the code a Size holds: a name, number or call binds tighter than any operator.
_ATOM = 100
_PRECEDENCE = {"*": 20, "//": 20, "%": 20, "+": 10, "-": 10}
_AST_OPERATORS = {ast.Mult: "*", ast.FloorDiv: "//", ast.Mod: "%", ast.Add: "+", ast.Sub: "-"}


@dataclass(frozen=True)
class Size:
    """One size of a shape that is not open: its value when k2t knows it, and its code."""

    code: str  # a Python expression, without outer parentheses
    value: int | None = None  # the number, when known at conversion
    precedence: int = _ATOM  # of the code's outermost operator, for parenthesizing it inside another expression
    # A size the script names (`num_classes`), passed to the module's constructor, whose value k2t knows at
    # conversion: a hint for choices that only tell 1 from the rest (Keras's "accuracy"), never folded into code.
    hint: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.code, str) or not self.code:
            raise TypeError(f"a Size's code is a non-empty str, not {self.code!r}")
        if self.value is not None and (isinstance(self.value, bool) or not isinstance(self.value, int)):
            raise TypeError(f"a Size's value is an int, not {self.value!r}")

    @classmethod
    def of(cls, value: int) -> Size:
        """A size k2t knows: ``Size.of(28)``."""
        return cls(str(value), value)

    @classmethod
    def expression(cls, code: str) -> Size:
        """A size given as code: a number (``"28"``), a name (``"in_features"``) or an expression the
        module evaluates (``"n_readings * n_sensors"``)."""
        code = code.strip()
        try:
            return cls.of(int(code))
        except ValueError:
            pass
        try:
            tree = ast.parse(code, mode="eval").body
        except SyntaxError:
            return cls(code, None, 0)  # not an expression k2t can read: always parenthesized as an operand
        if isinstance(tree, ast.BinOp):
            operator = _AST_OPERATORS.get(type(tree.op))
            bare = ast.unparse(tree)  # the expression without outer parentheses
            return cls(bare, None, _PRECEDENCE[operator] if operator is not None else 0)
        if isinstance(tree, (ast.Name, ast.Attribute, ast.Subscript, ast.Call)):
            return cls(code)
        return cls(ast.unparse(tree), None, 0)

    def __str__(self) -> str:
        return self.code

    def __format__(self, spec: str) -> str:
        return format(self.code, spec)

    def operand(self, precedence: int, right: bool = False) -> str:
        """The code as an operand of an operator of ``precedence`` (on its right side when ``right``)."""
        weaker = self.precedence < precedence or (right and self.precedence == precedence)
        return f"({self.code})" if weaker else self.code

    def _combine(self, operator: str, other: Size | int, fold) -> Size:
        other = other if isinstance(other, Size) else Size.of(other)
        if self.value is not None and other.value is not None:
            return Size.of(fold(self.value, other.value))
        precedence = _PRECEDENCE[operator]
        return Size(f"{self.operand(precedence)} {operator} {other.operand(precedence, right=True)}", None, precedence)

    def __add__(self, other: Size | int) -> Size:
        if isinstance(other, int) and other < 0:
            return self - (-other)
        if other == 0:
            return self
        return self._combine("+", other, lambda a, b: a + b)

    def __sub__(self, other: Size | int) -> Size:
        if isinstance(other, int) and other < 0:
            return self + (-other)
        if other == 0:
            return self
        return self._combine("-", other, lambda a, b: a - b)

    def __mul__(self, other: Size | int) -> Size:
        if other == 1:
            return self
        if isinstance(other, Size) and other.value == 1:
            return self
        if self.value == 1:
            return other if isinstance(other, Size) else Size.of(other)
        return self._combine("*", other, lambda a, b: a * b)

    def __floordiv__(self, other: Size | int) -> Size:
        if other == 1:
            return self
        return self._combine("//", other, lambda a, b: a // b)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, int) and not isinstance(other, bool):
            return self.value == other
        if isinstance(other, Size):
            return self.code == other.code
        if isinstance(other, str):
            raise TypeError(f"comparing the size {self.code!r} with the str {other!r}: compare .value or another Size")
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.code)


# A size of a shape: a Size, or None where the shape leaves it open (the tensor has it at run time only).
Dim = Size | None


def static_int(dim: Dim) -> int | None:
    """The number a size is, when k2t knows it."""
    return dim.value if dim is not None else None


def known(dims: list[int | None]) -> list[Dim]:
    """Sizes from numbers (None: open)."""
    return [None if n is None else Size.of(n) for n in dims]


def product(dims: list[Dim]) -> Dim:
    """The product of sizes; None when one of them is open."""
    if any(d is None for d in dims):
        return None
    total: Size = Size.of(1)
    for dim in dims:
        total = total * dim  # type: ignore[operator]
    return total


def keras_shape(shape: list[Dim]) -> str:
    """A shape as Keras prints it, batch included: ``(None, None, 8)``."""
    return "(" + ", ".join(["None", *(dim.code if dim is not None else "None" for dim in shape)]) + ")"


def check_shape(shape: list) -> list[Dim]:
    """``shape`` as a list of Dim, or TypeError: a size held as bare code would lose its meaning."""
    for dim in shape:
        if dim is not None and not isinstance(dim, Size):
            raise TypeError(f"a shape holds Size or None, not {dim!r} ({type(dim).__name__})")
    return list(shape)
