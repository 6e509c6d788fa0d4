"""``keras.Input(batch_shape=(batch, *sizes))``: the batch size a stateful recurrent layer needs in Keras.

torch's layers take any batch, so k2t keeps the sizes of one sample (what ``shape=`` gives) and drops the
batch size, as it drops ``batch_size=``.
"""

from __future__ import annotations

import libcst as cst

from ..ir import KerasCall, Value, per_sample_shape
from .scope import _Unfollowable


def batch_shape_input(node: cst.CSTNode, call: KerasCall) -> Value | None:
    """The per-sample shape of ``Input(batch_shape=...)``; None when it has no batch_shape."""
    batch_shape = call.kwarg("batch_shape")
    if batch_shape is None:
        return None
    shape = per_sample_shape(batch_shape)
    if shape is None:
        raise _Unfollowable(node, f"Input(batch_shape={batch_shape.code}): k2t needs a tuple (batch, *sizes)")
    return shape
