"""keras.utils.pad_sequences (Keras 2's keras.preprocessing.sequence.pad_sequences), Keras 2's
keras.preprocessing.sequence.skipgrams / make_sampling_table and keras.utils.normalize: each call
becomes a call of a generated numpy function that repeats Keras 3's step for step
(templates/functions/*.py.j2); tests/test_sequences.py compares them. Keras 1's slice_X, which
later Keras versions removed, becomes one that repeats Keras 1.2's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..ir import KerasCall
from .helpers import Helper

if TYPE_CHECKING:
    from . import ScriptPlan

PAD_SEQUENCES = "keras.utils.pad_sequences"
NORMALIZE = "keras.utils.normalize"
SKIPGRAMS = "keras.preprocessing.sequence.skipgrams"
SAMPLING_TABLE = "keras.preprocessing.sequence.make_sampling_table"
SLICE_X = "keras.engine.training.slice_X"  # Keras 1's; Keras 2 made it an internal slice_arrays
# Keras 3.15's signatures, which the generated functions repeat.
_PARAMETERS = {
    PAD_SEQUENCES: ("sequences", "maxlen", "dtype", "padding", "truncating", "value"),
    NORMALIZE: ("x", "axis", "order"),
    SKIPGRAMS: (
        "sequence",
        "vocabulary_size",
        "window_size",
        "negative_samples",
        "shuffle",
        "categorical",
        "sampling_table",
        "seed",
    ),
    SAMPLING_TABLE: ("size", "sampling_factor"),
    SLICE_X: ("X", "start", "stop"),  # Keras 1.2's
}
_HELPERS = {
    PAD_SEQUENCES: Helper("pad_sequences", "functions/pad_sequences.py.j2"),
    NORMALIZE: Helper("normalize", "functions/normalize.py.j2"),
    SKIPGRAMS: Helper("skipgrams", "functions/skipgrams.py.j2"),
    SAMPLING_TABLE: Helper("make_sampling_table", "functions/make_sampling_table.py.j2"),
    SLICE_X: Helper("slice_rows", "functions/slice_rows.py.j2"),
}
GENERATED_NAMES = {name: helper.name for name, helper in _HELPERS.items()}


def translate_array_function(call: KerasCall, plan: ScriptPlan) -> str | None:
    """``pad_sequences(x, maxlen=80)`` with the script's arguments as written; None (the call stays,
    a K2T100) for an argument Keras's function does not have."""
    _, extra, unknown = call.bind(_PARAMETERS[call.name])
    if extra is not None or unknown is not None:
        return None
    helper = plan.add_helper(_HELPERS[call.name])
    args = [value.code for value in call.args] + [f"{key}={value.code}" for key, value in call.kwargs]
    return f"{plan.name(helper.name)}({', '.join(args)})"
