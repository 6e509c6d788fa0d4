"""The op vocabulary: every family's rows in one index by canonical name, and the one translation call.

Families are imported here explicitly (not discovered), so that a missing import fails the tests that
check every row has a parity case rather than silently dropping ops.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from . import creation, elementwise, linalg, nn, reductions, shapes
from .dtypes import CONSTANTS, Constant
from .spec import Op, UnknownOp, bind, render, template_imports

FAMILIES: dict[str, tuple[Op, ...]] = {
    "reductions": reductions.ROWS,
    "elementwise": elementwise.ROWS,
    "shapes": shapes.ROWS,
    "nn": nn.ROWS,
    "creation": creation.ROWS,
    "linalg": linalg.ROWS,
}
ROWS: tuple[Op, ...] = tuple(row for rows in FAMILIES.values() for row in rows)


class DuplicateOp(ValueError):
    pass


def _index(rows: Sequence[Op], constants: Sequence[Constant]) -> tuple[dict[str, Op], dict[str, Constant]]:
    """Each name once, across ops and constants: a second row for a name is an error, not an override."""
    ops: dict[str, Op] = {}
    for row in rows:
        for name in row.names:
            if name in ops:
                raise DuplicateOp(f"{name} is in the op table twice")
            ops[name] = row
    by_name: dict[str, Constant] = {}
    for constant in constants:
        if constant.name in ops or constant.name in by_name:
            raise DuplicateOp(f"{constant.name} is in the op table twice")
        by_name[constant.name] = constant
    return ops, by_name


OPS, CONSTANT_NAMES = _index(ROWS, CONSTANTS)


@dataclass(frozen=True)
class OpTranslation:
    code: str  # a torch expression
    imports: frozenset[str]  # what it needs, as keys of k2t.names.GENERATED_IMPORTS: "torch", "F", "math", "np"
    note: str = ""  # the row's semantic note, for a comment or a report


def is_op(name: str) -> bool:
    return name in OPS


def translate_op(
    name: str, args: Sequence[str] = (), kwargs: Mapping[str, str] | None = None, device: str | None = None
) -> OpTranslation:
    """The torch expression for the call ``name(*args, **kwargs)``.

    ``name`` is canonical (``k2t.names.canonical_name``); ``args`` and ``kwargs`` are the arguments'
    source text, already in torch terms where they hold translated ops. Raises `UnknownOp` for a name
    outside the vocabulary and `OpArgumentError` for an argument that is not translated; both are
    ``Unsupported`` (K2T100 for Keras, K2T150 for TensorFlow) without a position, which the caller adds.
    ``device``: code naming the device a tensor made from nothing belongs on (``x.device`` in a forward):
    TensorFlow places such a tensor where the computation runs, torch on the CPU unless told.
    """
    row = OPS.get(name)
    if row is None:
        raise UnknownOp(name)
    bound = bind(row, name, args, kwargs or {})
    template = row.torch if isinstance(row.torch, str) else row.torch(bound)
    code = render(template, bound, row.params)
    if device is not None:
        code = on_device(code, device)
    # A dtype argument rewritten to torch.X needs torch even where the template does not name it.
    used_dtype = frozenset(name for name in bound.imports if f"{name}." in code)
    return OpTranslation(code, template_imports(template) | used_dtype, row.note)


def translate_constant(name: str) -> OpTranslation:
    """The torch value for a name used as a value: ``tensorflow.float32`` -> ``torch.float32``."""
    constant = CONSTANT_NAMES.get(name)
    if constant is None:
        raise UnknownOp(name)
    return OpTranslation(constant.torch, template_imports(constant.torch), constant.note)


# torch functions that make a tensor from nothing, on the CPU unless given a device.
_MADE_FROM_NOTHING = frozenset(
    {
        "arange",
        "zeros",
        "ones",
        "full",
        "empty",
        "eye",
        "tensor",
        "as_tensor",
        "linspace",
        "logspace",
        "rand",
        "randn",
        "randint",
        "normal",
        "randperm",
        "tril_indices",
        "triu_indices",
    }
)


def on_device(code: str, device: str) -> str:
    """``torch.arange(n)`` -> ``torch.arange(n, device=x.device)``; any other expression as it is."""
    try:
        tree = ast.parse(code, mode="eval").body
    except SyntaxError:
        return code
    if not (
        isinstance(tree, ast.Call)
        and isinstance(tree.func, ast.Attribute)
        and isinstance(tree.func.value, ast.Name)
        and tree.func.value.id == "torch"
        and tree.func.attr in _MADE_FROM_NOTHING
        and not any(k.arg == "device" for k in tree.keywords)
        and code.endswith(")")
    ):
        return code
    separator = "" if not (tree.args or tree.keywords) else ", "
    return f"{code[:-1]}{separator}device={device})"
