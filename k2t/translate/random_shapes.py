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


def read_shape(
    node: cst.BaseExpression, keras_name: Callable, shape_of: Callable, number_of: Callable | None = None
) -> tuple | None:
    """``ops.shape(x)`` (tf.shape, K.shape, K.int_shape) as the shape of ``x``; None for anything else. With
    ``number_of`` (a size written as code -> its int, or None), also a tuple of sizes, Keras 2's VAE's
    ``(K.shape(z_mean)[0], latent_dim)``: each an item of a shape read or a number."""
    if isinstance(node, cst.Call) and keras_name(node.func) in SHAPE_READS and len(node.args) == 1:
        return shape_of(node.args[0].value)
    if number_of is None or not isinstance(node, (cst.Tuple, cst.List)):
        return None
    sizes = []
    for element in node.elements:
        value = element.value
        if isinstance(element, cst.StarredElement):
            return None
        if isinstance(value, cst.Subscript) and len(value.slice) == 1 and isinstance(value.slice[0].slice, cst.Index):
            shape = read_shape(value.value, keras_name, shape_of)
            index = value.slice[0].slice.value
            if shape is None or not isinstance(index, cst.Integer) or int(index.value) >= len(shape):
                return None
            sizes.append(shape[int(index.value)])
            continue
        size = number_of(value)
        if size is None:
            return None
        sizes.append(size)
    return tuple(sizes)
