"""The op vocabulary: Keras / TensorFlow tensor ops (keras.ops, keras.backend, keras.activations, tf.*)
translated to torch expressions, one typed row per op. See ``table.translate_op``."""

from .spec import OpArgumentError, OpError, UnknownOp
from .table import CONSTANT_NAMES, OPS, ROWS, OpTranslation, is_op, translate_constant, translate_op

__all__ = [
    "CONSTANT_NAMES",
    "OPS",
    "ROWS",
    "OpArgumentError",
    "OpError",
    "OpTranslation",
    "UnknownOp",
    "is_op",
    "translate_constant",
    "translate_op",
]
