"""keras.utils.pad_sequences (Keras 2's keras.preprocessing.sequence.pad_sequences): each call
becomes a call of a generated numpy ``pad_sequences`` that repeats Keras 3's function step for
step (templates/functions/pad_sequences.py.j2); tests/test_sequences.py compares the two.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..ir import KerasCall
from .helpers import Helper

if TYPE_CHECKING:
    from . import ScriptPlan

PAD_SEQUENCES = "keras.utils.pad_sequences"
# Keras 3.15's signature, which the generated function repeats.
_PARAMETERS = ("sequences", "maxlen", "dtype", "padding", "truncating", "value")
_HELPER = Helper("pad_sequences", "functions/pad_sequences.py.j2")


def translate_pad_sequences(call: KerasCall, plan: ScriptPlan) -> str | None:
    """``pad_sequences(x, maxlen=80)`` with the script's arguments as written; None (the call stays,
    a K2T100) for an argument Keras's function does not have."""
    _, extra, unknown = call.bind(_PARAMETERS)
    if extra is not None or unknown is not None:
        return None
    helper = plan.add_helper(_HELPER)
    args = [value.code for value in call.args] + [f"{key}={value.code}" for key, value in call.kwargs]
    return f"{plan.name(helper.name)}({', '.join(args)})"
