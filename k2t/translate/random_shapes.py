"""The shape of a random draw in a custom layer's call(): ``keras.random.normal(shape=ops.shape(x))``.

Shared by the shape derivations of k2t.translate.custom_layers (one input) and custom_layer_lists (a list).
"""

from __future__ import annotations

from collections.abc import Callable

import libcst as cst

SHAPE_READS = frozenset({"keras.ops.shape", "tensorflow.shape", "keras.backend.shape", "keras.backend.int_shape"})
RANDOM_DRAWS = frozenset({
    "keras.random.normal", "keras.random.uniform", "keras.random.truncated_normal",
    "tensorflow.random.normal", "tensorflow.random.uniform", "tensorflow.random.truncated_normal",
    "keras.backend.random_normal", "keras.backend.random_uniform",
})  # fmt: skip


def shape_argument(call: cst.Call) -> cst.BaseExpression | None:
    """The ``shape`` a random draw is given (its first positional argument, or ``shape=``)."""
    given = [
        arg.value
        for arg in call.args
        if arg.keyword is None and not arg.star or arg.keyword is not None and arg.keyword.value == "shape"
    ]
    return given[0] if given else None


def read_shape(node: cst.BaseExpression, keras_name: Callable, shape_of: Callable) -> tuple | None:
    """``ops.shape(x)`` (tf.shape, K.shape, K.int_shape) as the shape of ``x``; None for anything else."""
    if isinstance(node, cst.Call) and keras_name(node.func) in SHAPE_READS and len(node.args) == 1:
        return shape_of(node.args[0].value)
    return None
