"""Write docs/ops.md from the op table: ``python -m k2t.ops.doc [path]`` (tests check it is up to date)."""

from __future__ import annotations

import sys
from pathlib import Path

from .dtypes import CONSTANTS
from .spec import Op, OpError
from .table import FAMILIES, ROWS, translate_op

INTRO = """\
# The op vocabulary

Generated from `k2t/ops/` by `python -m k2t.ops.doc`; do not edit by hand.

k2t translates the tensor ops that custom layers, Lambda layers, custom losses and training loops are
written with (`keras.ops.*`, Keras 2's `keras.backend.*` (`K.*`), `keras.activations.*`, `keras.random.*`
and TensorFlow's `tf.*`, `tf.math.*`, `tf.nn.*`, `tf.linalg.*`, `tf.random.*`) into torch expressions,
one row per op. Every name below is checked by `tests/test_parity_ops.py` against TensorFlow on random
inputs (float32 results within 1e-6; random ops by the moments and quantiles of 100,000 seeded draws).
Keras 2's backend functions are checked against Keras 3's port of them (`keras.src.legacy.backend`).

An op outside this table, or an argument a row does not translate, is a diagnostic naming it
(K2T100 for Keras, K2T150 for TensorFlow).

In the script's own lines (outside any model, layer or function: `tf.argmax(preds, axis=1)`,
`tf.cast(x, tf.float32)`), where TensorFlow takes the NumPy arrays the script holds, each argument a row
takes as a tensor is `torch.as_tensor`-ed and the result is `.numpy()`-ed back, unless the script reads
it as a tensor (`.numpy()` on it). `keras.losses.*` functions called there become a generated function
per loss that casts `y_true` and meets ranks as Keras does (`k2t/translate/script_ops.py`).

## Semantic differences the translations account for

- `tf.math.reduce_std` / `reduce_variance`, `K.std` / `K.var`, `keras.ops.std` / `var`, `tf.nn.moments`
  are population statistics (divide by N): torch's default divides by N - 1, hence `correction=0`.
- `tf.argmax(x)` with no axis reduces axis 0; torch's `argmax(x)` flattens: the dim is always written.
  `K.argmax`'s axis defaults to -1, `keras.ops.argmax`'s to None (flattened, as torch).
- `K.sqrt` clips negatives to 0 before the root (0, not NaN): `torch.sqrt(torch.clamp(x, min=0.0))`.
- `K.epsilon()` is `1e-07`; `K.floatx()` is `"float32"`.
- `K.binary_crossentropy` clips to [1e-7, 1 - 1e-7] *and* adds 1e-7 inside both logs; `keras.ops`'s only
  clips. `K.categorical_crossentropy` renormalises the probabilities to sum 1 before clipping.
  `K.sparse_categorical_crossentropy` takes the log of the clipped probabilities and renormalises it
  (log-softmax), which `F.cross_entropy` on those logs reproduces.
- `tf.math.l2_normalize`'s epsilon (1e-12) bounds the *squared* norm; `F.normalize`'s eps bounds the norm:
  `eps=1e-6`. `keras.ops.normalize` bounds the norm by `K.epsilon()` = 1e-7.
- Softmax axes: `keras.activations.softmax` / `keras.ops.softmax` default to -1, `tf.nn.softmax`'s
  axis=None is -1; torch has no default, so `dim` is always written.
- `keras.ops.gelu` defaults to the tanh approximation, `keras.activations.gelu` and `tf.nn.gelu` to the
  exact form. Leaky ReLU's slope is 0.2 in Keras, 0.01 in torch: always written.
- Keras 2's `K.hard_sigmoid` is `clip(0.2 x + 0.5, 0, 1)`; Keras 3's is `relu6(x + 3) / 6` (torch's).
- `K.maximum(x, K.epsilon())`: `torch.maximum` takes two tensors, so a number on one side becomes
  `torch.clamp(x, min=...)`. `K.clip` with max < min (numbers) clips everything to min.
- Integer division `tf.math.floordiv` / `keras.ops.floor_divide` floors (as Python's `//`);
  `tf.math.floormod` takes the divisor's sign (`torch.remainder`), `tf.truncatemod` the dividend's
  (`torch.fmod`). `tf.divide` of int32 gives float64 in TensorFlow, float32 in torch.
- `K.concatenate`'s axis defaults to -1, `keras.ops.concatenate`'s and torch's to 0; `tf.concat` has none.
- `tf.shape(x)` is a run-time int32 tensor; its translation is `x.shape` (Python ints at run time), which
  indexes, slices and feeds `reshape` alike. `K.int_shape` / `keras.ops.shape` give `tuple(x.shape)`
  (Keras writes None for dims unknown when the model is built).
- `tf.where(c)` alone gives the (N, rank) indices of the true elements (`torch.nonzero(c)`);
  `keras.ops.where(c)` alone gives numpy's tuple of index arrays (`as_tuple=True`).
- `tf.one_hot` / `K.one_hot` give float32 (`F.one_hot` gives int64: `.to(torch.float32)`); an index out
  of range is a row of zeros in TensorFlow, an error in torch.
- `tf.split(x, n)` splits into n parts (`torch.chunk`), `tf.split(x, [sizes])` by sizes (`torch.split`);
  `keras.ops.split` follows numpy (sections or split indices: `torch.tensor_split`).
- `tf.transpose(x)` / `K.transpose(x)` without a permutation reverse every dimension (not only two).
- `tf.pad` paddings list (before, after) from the first dimension; `F.pad` from the last.
- `K.dot` contracts x's last axis with y's second-to-last (numpy.dot), which differs from
  `torch.matmul` for a y of rank 3 or more: `torch.tensordot(x, y, dims=([-1], [-2]))`.
- `keras.ops.median` averages the two middle values (numpy); `torch.median` returns the lower one,
  `torch.quantile(x, 0.5)` matches.
- Python ints make int32 tensors in TensorFlow (`tf.constant`, `tf.range`, `tf.fill`), int64 in torch;
  the parity tests compare such results by value and kind (integer), not by width.
- Random ops draw from the same distributions, not the same numbers; `seed=` arguments are dropped
  (torch's generator, seeded by `torch.manual_seed`, replaces them).
"""


def _shown_template(row: Op) -> str:
    """The torch side of a call that names each required argument after its parameter."""
    args = ["'float32'" if param.dtype else param.name for param in row.params if param.required and not param.variadic]
    variadic = [param.name for param in row.params if param.variadic]
    try:
        return translate_op(row.name, args + [f"*{name}" for name in variadic]).code
    except OpError:
        return ""  # the row needs literal arguments: its note says what it writes


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render() -> str:
    lines = [INTRO]
    count = sum(len(row.names) for row in ROWS)
    lines.append(f"## Rows\n\n{len(ROWS)} rows, {count} names (aliases share a row), {len(CONSTANTS)} constants.\n")
    for family, rows in FAMILIES.items():
        lines.append(f"### {family}\n")
        lines.append("| Keras / TensorFlow | torch (defaults) | note |")
        lines.append("|---|---|---|")
        for row in rows:
            names = "<br>".join(f"`{name}`" for name in row.names)
            shown = _shown_template(row)
            torch = f"`{_cell(shown)}`" if shown else "(by literal arguments)"
            lines.append(f"| {names} | {torch} | {_cell(row.note)} |")
        lines.append("")
    lines.append("### constants\n")
    lines.append("| TensorFlow | torch | note |")
    lines.append("|---|---|---|")
    for constant in CONSTANTS:
        lines.append(f"| `{constant.name}` | `{constant.torch}` | {_cell(constant.note)} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    path = Path(argv[0]) if argv else Path(__file__).resolve().parents[2] / "docs" / "ops.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
