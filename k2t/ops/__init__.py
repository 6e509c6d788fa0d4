"""The op vocabulary: Keras / TensorFlow tensor ops (keras.ops, keras.backend, keras.activations, tf.*)
translated to torch expressions, one typed row per op. See ``table.translate_op``."""

from .spec import (
    FROM_DATA,
    NOT_ONE_TENSOR,
    PYTHON_RESULT,
    ROW_TENSOR_PARAMETERS,
    TENSOR_LISTS,
    TENSOR_PARAMETERS,
    OpArgumentError,
    OpError,
    UnknownOp,
    parameter_of,
)
from .table import CONSTANT_NAMES, OPS, ROWS, OpTranslation, is_op, translate_constant, translate_op

__all__ = [
    "CONSTANT_NAMES",
    "FROM_DATA",
    "NOT_ONE_TENSOR",
    "OPS",
    "PYTHON_RESULT",
    "ROWS",
    "ROW_TENSOR_PARAMETERS",
    "TENSOR_LISTS",
    "TENSOR_PARAMETERS",
    "OpArgumentError",
    "OpError",
    "OpTranslation",
    "UnknownOp",
    "is_op",
    "parameter_of",
    "translate_constant",
    "translate_op",
]
