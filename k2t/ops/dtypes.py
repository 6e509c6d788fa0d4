"""Names that are values, not calls: TensorFlow's dtypes and tf.newaxis."""

from __future__ import annotations

from dataclasses import dataclass

from .spec import DTYPE_NAMES


@dataclass(frozen=True)
class Constant:
    name: str  # canonical name: tensorflow.float32
    torch: str  # the torch expression: torch.float32
    note: str = ""


def _dtype_rows() -> tuple[Constant, ...]:
    rows = []
    for module in ("tensorflow.", "tensorflow.dtypes."):
        for dtype, torch in DTYPE_NAMES.items():
            note = "TensorFlow's default integer; torch's is int64" if dtype == "int32" else ""
            rows.append(Constant(module + dtype, torch, note))
    return tuple(rows)


CONSTANTS: tuple[Constant, ...] = (
    *_dtype_rows(),
    Constant("tensorflow.newaxis", "None", "a new axis in an index, as None in torch"),
)
