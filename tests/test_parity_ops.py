"""Parity of every row of the op vocabulary (k2t/ops) against TensorFlow / Keras, on random inputs.

For each name of each row, each case builds the Keras/TF call and k2t's torch expression on the same
numpy inputs, evaluates both (TF eagerly; torch by ``eval`` of the translated code) and compares
values, shapes and dtype kinds. Keras 2's ``keras.backend`` functions are taken from Keras 3's own
port of them (``keras.src.legacy.backend``, what ``tf.keras.backend`` was), as tf_keras is not installed.
Random ops cannot match numbers: their cases compare shape, dtype and the moments of 100,000 draws.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np
import pytest
from conftest import requires_keras, requires_torch

from k2t.ops import OPS, ROWS, translate_op

pytestmark = [requires_torch, requires_keras, pytest.mark.parity]


@dataclass(frozen=True)
class Case:
    args: tuple[str, ...]
    kwargs: dict[str, str] = field(default_factory=dict)
    kind: str = "exact"  # exact | random (moments of the draws) | shuffle (same multiset) | applied (to x)
    tol: float = 1e-6  # rtol and atol for float32 results


def C(*args: str, kind: str = "exact", tol: float = 1e-6, **kwargs: str) -> Case:
    return Case(tuple(args), kwargs, kind, tol)


U = (C("x"),)  # one float tensor
POS = (C("pos"),)  # positive: log, sqrt, lgamma ...
UNIT = (C("unit"),)  # in (-0.9, 0.9): asin, atanh, erfinv
XY = (C("x", "y"),)
RANDOM = "random"
DRAWS = "(400, 250)"

# Cases per row, keyed by the row's first name; every alias of the row runs the same cases.
CASES: dict[str, tuple[Case, ...]] = {
    # reductions
    "keras.backend.mean": (C("x"), C("x", axis="1"), C("x", axis="[0, 2]", keepdims="True"), C("x", keepdims="True")),
    "keras.backend.sum": (C("x"), C("x", "-1"), C("x", axis="(1, 2)", keepdims="True"), C("x", keepdims="True")),
    "keras.backend.max": (C("x"), C("x", axis="1", keepdims="True"), C("x", keepdims="True")),
    "keras.backend.min": (C("x"), C("x", axis="2")),
    "keras.backend.prod": (C("x"), C("x", axis="1", keepdims="True")),
    "keras.backend.std": (C("x"), C("x", axis="1"), C("x", axis="-1", keepdims="True")),
    "keras.backend.var": (C("x"), C("x", axis="0")),
    "keras.backend.any": (C("b"), C("b", axis="1", keepdims="True")),
    "keras.backend.all": (C("b"), C("b", axis="2")),
    "keras.backend.argmax": (C("x"), C("x", axis="1")),
    "keras.backend.argmin": (C("x"), C("x", axis="0")),
    "keras.backend.cumsum": (C("x"), C("x", axis="2")),
    "keras.backend.cumprod": (C("x", axis="1"),),
    "tensorflow.reduce_mean": (C("x"), C("x", axis="1"), C("x", "[0, 1]", "True")),
    "tensorflow.reduce_sum": (C("x"), C("x", axis="-1", keepdims="True"), C("x", keepdims="True")),
    "tensorflow.reduce_max": (C("x"), C("x", axis="[1, 2]")),
    "tensorflow.reduce_min": (C("x"), C("x", axis="0", keepdims="True")),
    "tensorflow.reduce_prod": (C("x"), C("x", axis="2")),
    "tensorflow.reduce_all": (C("b"), C("b", axis="0")),
    "tensorflow.reduce_any": (C("b"), C("b", axis="-1", keepdims="True")),
    "tensorflow.reduce_logsumexp": (C("x"), C("x", axis="1"), C("x", keepdims="True")),
    "tensorflow.math.reduce_std": (C("x"), C("x", axis="1", keepdims="True")),
    "tensorflow.math.reduce_variance": (C("x"), C("x", axis="[0, 2]")),
    "tensorflow.math.reduce_euclidean_norm": (C("x"), C("x", axis="1")),
    "tensorflow.argmax": (C("x"), C("x", axis="2")),
    "tensorflow.argmin": (C("x"), C("x", "1")),
    "tensorflow.cumsum": (C("x"), C("x", axis="1")),
    "tensorflow.math.cumprod": (C("x", axis="2"),),
    "tensorflow.math.count_nonzero": (C("b"), C("b", axis="1")),
    "keras.ops.mean": (C("x"), C("x", axis="1"), C("x", keepdims="True")),
    "keras.ops.sum": (C("x"), C("x", axis="(0, 1)")),
    "keras.ops.max": (C("x"), C("x", axis="1", keepdims="True")),
    "keras.ops.min": (C("x"), C("x", axis="-1")),
    "keras.ops.prod": (C("x"), C("x", axis="0")),
    "keras.ops.std": (C("x"), C("x", axis="2")),
    "keras.ops.var": (C("x"), C("x", axis="1", keepdims="True")),
    "keras.ops.any": (C("b"), C("b", axis="0")),
    "keras.ops.all": (C("b"), C("b", axis="1")),
    "keras.ops.argmax": (C("x"), C("x", axis="1"), C("x", axis="-1", keepdims="True")),
    "keras.ops.argmin": (C("x"), C("x", axis="2")),
    # A running sum of 60 float32 values: TensorFlow's scan adds in another order (1 ulp of the total).
    "keras.ops.cumsum": (C("x", tol=1e-5), C("x", axis="1")),
    "keras.ops.cumprod": (C("x", axis="0"),),
    "keras.ops.logsumexp": (C("x"), C("x", axis="-1")),
    "keras.ops.count_nonzero": (C("b"), C("b", axis="2")),
    "keras.ops.median": (C("x"), C("x", axis="1"), C("x", axis="2", keepdims="True")),
    "keras.ops.average": (C("x"), C("x", axis="1")),
    # elementwise
    "keras.backend.abs": U,
    "keras.backend.square": U,
    "keras.backend.sqrt": (C("x"), C("pos")),
    "tensorflow.sqrt": POS,
    "tensorflow.math.rsqrt": POS,
    "keras.backend.exp": U,
    "keras.backend.log": POS,
    "tensorflow.math.log1p": POS,
    "tensorflow.math.expm1": U,
    "keras.backend.sign": (C("x"), C("halves")),
    "keras.backend.round": (C("halves"), C("x")),
    "keras.ops.round": (C("halves"), C("x", decimals="2")),
    "tensorflow.floor": U,
    "tensorflow.math.ceil": U,
    "keras.ops.trunc": U,
    "keras.backend.sin": U,
    "keras.backend.cos": U,
    "tensorflow.math.tan": UNIT,
    "tensorflow.math.sinh": U,
    "tensorflow.math.cosh": U,
    "tensorflow.math.asin": UNIT,
    "tensorflow.math.acos": UNIT,
    "tensorflow.math.atan": U,
    "tensorflow.math.asinh": U,
    "tensorflow.math.atanh": UNIT,
    "keras.backend.tanh": U,
    "keras.backend.sigmoid": U,
    "tensorflow.negative": U,
    "tensorflow.math.reciprocal": POS,
    "tensorflow.math.erf": U,
    "tensorflow.math.erfc": U,
    "tensorflow.math.erfinv": UNIT,
    "tensorflow.math.lgamma": POS,
    "tensorflow.math.digamma": POS,
    "tensorflow.math.is_nan": (C("specials"),),
    "tensorflow.math.is_inf": (C("specials"),),
    "tensorflow.math.is_finite": (C("specials"),),
    "tensorflow.logical_not": (C("b"),),
    "keras.backend.softplus": U,
    "keras.backend.softsign": U,
    "tensorflow.math.log_sigmoid": U,
    "tensorflow.add": XY,
    "tensorflow.subtract": XY,
    "tensorflow.multiply": XY,
    "tensorflow.divide": (C("x", "pos"),),
    "tensorflow.math.floordiv": (C("x", "pos"), C("xi", "yi")),
    "tensorflow.math.floormod": (C("x", "pos"), C("xi", "yi")),
    "tensorflow.truncatemod": (C("x", "pos"), C("xi", "yi")),
    "keras.backend.pow": (C("pos", "3.0"), C("x", "2")),
    "tensorflow.pow": (C("pos", "y"),),
    "keras.ops.power": (C("pos", "y"),),
    "tensorflow.math.atan2": XY,
    "keras.ops.arctan2": XY,
    "keras.ops.hypot": XY,
    "keras.ops.logaddexp": XY,
    "tensorflow.math.squared_difference": XY,
    "tensorflow.math.divide_no_nan": (C("x", "zeros_some"),),
    "keras.ops.divide_no_nan": (C("x", "zeros_some"),),
    "tensorflow.math.add_n": (C("[x, y, pos]"),),
    "keras.backend.maximum": (C("x", "y"), C("x", "1e-07"), C("0.5", "x")),
    "tensorflow.maximum": (C("x", "y"), C("x", "0.0")),
    "keras.ops.maximum": (C("x", "y"), C("x", "0.25")),
    "keras.backend.minimum": (C("x", "y"), C("x", "0.5")),
    "tensorflow.minimum": (C("x", "y"), C("-0.5", "x")),
    "keras.ops.minimum": (C("x", "y"),),
    "keras.backend.equal": (C("xi", "yi"), C("xi", "1")),
    "keras.backend.not_equal": (C("xi", "yi"),),
    "keras.backend.greater": (C("x", "y"), C("x", "0.5")),
    "keras.backend.greater_equal": (C("x", "y"),),
    "keras.backend.less": (C("x", "y"),),
    "keras.backend.less_equal": (C("x", "y"),),
    "keras.ops.equal": (C("xi", "yi"),),
    "keras.ops.not_equal": (C("xi", "yi"),),
    "keras.ops.greater": (C("x", "y"),),
    "keras.ops.greater_equal": (C("x", "y"),),
    "keras.ops.less": (C("x", "y"),),
    "keras.ops.less_equal": (C("x", "y"),),
    "tensorflow.logical_and": (C("b", "b2"),),
    "tensorflow.logical_or": (C("b", "b2"),),
    "tensorflow.math.logical_xor": (C("b", "b2"),),
    "keras.ops.logical_and": (C("b", "b2"),),
    "keras.ops.logical_or": (C("b", "b2"),),
    "keras.ops.logical_xor": (C("b", "b2"),),
    "keras.backend.clip": (C("x", "-0.5", "0.5"), C("x", "None", "0.2"), C("x", "0.1", "None"), C("x", "0.5", "-0.5")),
    "tensorflow.clip_by_value": (C("x", "-0.5", "0.5"), C("x", "lo", "hi")),
    "keras.ops.clip": (C("x", "-1.0", "0.3"),),
    # shapes and indexing
    "keras.backend.reshape": (C("x", "(3, 20)"), C("x", "(-1, 5)")),
    "tensorflow.reshape": (C("x", "[12, 5]"),),
    "keras.ops.reshape": (C("x", "(-1,)"),),
    "keras.backend.flatten": U,
    "keras.ops.ravel": U,
    "keras.backend.batch_flatten": U,
    "keras.backend.transpose": (C("x"), C("w")),
    "tensorflow.transpose": (C("x"), C("x", perm="[0, 2, 1]")),
    "keras.ops.transpose": (C("x"), C("x", axes="(2, 0, 1)")),
    "tensorflow.linalg.matrix_transpose": U,
    "keras.backend.permute_dimensions": (C("x", "(0, 2, 1)"),),
    "keras.ops.moveaxis": (C("x", "0", "-1"),),
    "keras.ops.swapaxes": (C("x", "0", "2"),),
    "keras.backend.expand_dims": (C("x"), C("x", "1")),
    "tensorflow.expand_dims": (C("x", "0"), C("x", axis="-1")),
    "keras.ops.expand_dims": (C("x", "2"),),
    "keras.backend.squeeze": (C("x1", "1"),),
    "tensorflow.squeeze": (C("x1"), C("x1", axis="[1]")),
    "keras.ops.squeeze": (C("x1"), C("x1", axis="1")),
    "keras.backend.concatenate": (C("[x, y]"), C("[x, y]", axis="0")),
    "tensorflow.concat": (C("[x, y]", "1"), C("[x, y, pos]", axis="-1")),
    "keras.ops.concatenate": (C("[x, y]"), C("[x, y]", axis="2")),
    "keras.backend.stack": (C("[x, y]"), C("[x, y]", axis="-1")),
    "tensorflow.stack": (C("[x, y]"), C("[x, y]", axis="1")),
    "keras.ops.stack": (C("[x, y]", axis="3"),),
    "tensorflow.unstack": (C("x"), C("x", axis="2")),
    "keras.ops.unstack": (C("x", axis="1"),),
    "tensorflow.split": (C("x", "2", axis="1"), C("x", "[1, 4]", axis="2"), C("x", "3")),
    "keras.ops.split": (C("x", "2", axis="1"), C("x", "[1, 3]", axis="2")),
    "keras.backend.tile": (C("x", "(1, 2, 3)"), C("v", "2")),
    "tensorflow.tile": (C("x", "[2, 1, 2]"),),
    "keras.ops.tile": (C("x", "(1, 3, 1)"),),
    "keras.backend.repeat_elements": (C("x", "2", "1"),),
    "keras.backend.repeat": (C("w", "3"),),
    "tensorflow.repeat": (C("x", "2", axis="0"), C("x", "3")),
    "keras.ops.repeat": (C("x", "2", axis="-1"), C("x", "2")),
    "keras.backend.gather": (C("x", "i"),),
    "tensorflow.gather": (C("x", "i"), C("x", "i", axis="2"), C("x", "i", axis="-2"), C("x", "i2"),
                          C("x", "bi", batch_dims="1"), C("x", "bi", axis="2", batch_dims="1"),
                          C("x", "bi", axis="-1", batch_dims="1"), C("x", "bvec", batch_dims="1"),
                          C("x", "lab", batch_dims="2")),
    "tensorflow.image.resize": (C("patchable", "(12, 10)"), C("patchable", "[3, 5]"), C("patchable", "(4, 16)"),
                                C("patchable", "(12, 10)", method="'nearest'"),
                                C("patchable", "(3, 5)", "'nearest'")),
    "tensorflow.sequence_mask": (C("lens"), C("lens", "6"), C("lens2", maxlen="5", dtype="tf.float32")),
    "keras.ops.take": (C("x", "i"), C("x", "i", axis="1"), C("x", "i2", axis="0")),
    "keras.ops.take_along_axis": (C("x", "along", axis="2"),),
    "tensorflow.gather_nd": (C("x", "nd"),),
    "tensorflow.boolean_mask": (C("x", "b"), C("x", "brow")),
    "keras.backend.reverse": (C("x", "1"), C("x", "[0, 2]")),
    "tensorflow.reverse": (C("x", "[1]"),),
    "keras.ops.flip": (C("x"), C("x", axis="2"), C("x", axis="(0, 1)")),
    "tensorflow.roll": (C("x", "2", "1"), C("x", "[1, -1]", "[0, 2]")),
    "keras.ops.roll": (C("x", "3"), C("x", "1", axis="2")),
    "tensorflow.pad": (C("x", "[[0, 0], [1, 2], [0, 0]]"), C("x", "[[1, 0], [0, 0], [2, 1]]", constant_values="1.5"),
                       C("x", "((0, 0), (0, 0), (3, 0))", mode="'constant'")),
    "keras.ops.pad": (C("x", "[[0, 0], [2, 1], [0, 0]]"), C("x", "((1, 1), (0, 0), (0, 2))", constant_values="2.0")),
    "keras.backend.temporal_padding": (C("x"), C("x", "(0, 3)")),
    "keras.backend.spatial_2d_padding": (C("img"), C("img", "((1, 0), (2, 3))"),
                                         C("img", "((1, 0), (2, 3))", "'channels_first'")),
    "keras.ops.image.extract_patches": (C("patchable", "2"), C("patchable", "(3, 2)"), C("patchable", "2", strides="(1, 3)"),
                                        C("img", "2"), C("patchable1", size="2", padding="'valid'")),
    "tensorflow.image.extract_patches": (
        C("patchable", "[1, 2, 2, 1]", "[1, 2, 2, 1]", "[1, 1, 1, 1]", "'VALID'"),
        C("patchable", sizes="[1, 3, 2, 1]", strides="[1, 1, 3, 1]", rates="[1, 1, 1, 1]", padding="'VALID'"),
        C("patchable", "[1, 3, 3, 1]", "[1, 1, 1, 1]", "[1, 1, 1, 1]", "'SAME'"),
        C("patchable", "[1, 4, 3, 1]", "[1, 3, 2, 1]", "[1, 1, 1, 1]", "'SAME'"),  # uneven: 1 and 2 padded
    ),
    "tensorflow.one_hot": (C("lab", "5"), C("lab", "6", dtype="tf.int32")),
    "keras.backend.one_hot": (C("lab", "5"),),
    "keras.ops.one_hot": (C("lab", "5"),),
    "tensorflow.shape": U,
    "keras.backend.shape": U,
    "keras.backend.int_shape": U,
    "keras.ops.shape": U,
    "keras.backend.ndim": U,
    "keras.ops.ndim": U,
    "tensorflow.rank": U,
    "tensorflow.size": U,
    "keras.ops.size": U,
    "tensorflow.broadcast_to": (C("v", "(3, 4, 5)"),),
    "keras.ops.broadcast_to": (C("v", "[2, 5]"),),
    "tensorflow.where": (C("b"), C("b", "x", "y"), C("brow5", "x", "0.0")),
    "keras.ops.where": (C("b"), C("b", "x", "y")),
    "keras.backend.switch": (C("b", "x", "y"), C("brow5", "x", "y")),
    "tensorflow.sort": (C("x"), C("x", axis="1", direction="'DESCENDING'")),
    "tensorflow.argsort": (C("x"), C("x", axis="0", direction="'DESCENDING'")),
    "keras.ops.sort": (C("x"), C("x", axis="0")),
    "keras.ops.argsort": (C("x", axis="1"),),
    "tensorflow.math.top_k": (C("x", "3"), C("x")),
    "keras.ops.top_k": (C("x", "2"),),
    "keras.ops.tril": (C("x"), C("x", k="1")),
    "keras.ops.triu": (C("x"), C("x", k="-1")),
    # x.shape[0]: what tf.shape(x)[0] translates to, a Python int in torch where TensorFlow has a tensor.
    "tensorflow.cast": (C("x", "tf.int32"), C("b", "tf.float32"), C("xi", "'float64'"), C("x", "bool"),
                        C("x.shape[0]", "tf.float32"), C("x.shape", "tf.float32")),
    "keras.backend.cast": (C("b", "'float32'"), C("x", "'int64'"), C("x", "keras.backend.floatx()"),
                           C("x.shape[1]", "'float32'")),
    "keras.ops.cast": (C("x", "'int32'"), C("b", "'float16'"), C("x.shape[-1]", "'float32'")),
    "tensorflow.identity": U,
    "tensorflow.stop_gradient": U,
    "keras.backend.stop_gradient": U,
    "keras.ops.stop_gradient": U,
    # nn
    "keras.activations.relu": (C("x"), C("x", negative_slope="0.1"), C("x", max_value="0.5")),
    "keras.backend.relu": (C("x"), C("x", alpha="0.3"), C("x", max_value="6.0"), C("big", max_value="6")),
    "tensorflow.nn.relu": U,
    "keras.ops.relu": U,
    "keras.activations.relu6": (C("big"),),
    # keras.activations.get returns a function: each side's result is applied to x.
    "keras.activations.get": tuple(C(repr(name), kind="applied") for name in ("relu", "softmax", "gelu", "leaky_relu", "linear"))
    + (C("None", kind="applied"),),
    "tensorflow.nn.relu6": (C("big"),),
    "keras.activations.elu": (C("x"), C("x", alpha="0.5")),
    "tensorflow.nn.elu": U,
    "keras.activations.selu": U,
    "tensorflow.nn.selu": U,
    "keras.activations.gelu": (C("x"), C("x", approximate="True")),
    "keras.ops.gelu": (C("x"), C("x", approximate="False")),
    "tensorflow.nn.gelu": (C("x"), C("x", approximate="True")),
    "keras.activations.silu": U,
    "tensorflow.nn.silu": U,
    "keras.activations.softmax": (C("x"), C("x", axis="1")),
    "tensorflow.nn.softmax": (C("x"), C("x", axis="0")),
    "keras.activations.log_softmax": (C("x"), C("x", axis="1")),
    "tensorflow.nn.log_softmax": (C("x"), C("x", axis="-2")),
    "keras.activations.leaky_relu": (C("x"), C("x", negative_slope="0.05")),
    "tensorflow.nn.leaky_relu": (C("x"), C("x", alpha="0.01")),
    "keras.activations.hard_sigmoid": (C("big"),),
    "keras.backend.hard_sigmoid": (C("big"),),
    "keras.activations.hard_silu": (C("big"),),
    "keras.activations.mish": U,
    "keras.activations.exponential": U,
    "keras.activations.linear": U,
    "keras.activations.celu": (C("x"), C("x", alpha="2.0")),
    "keras.activations.glu": (C("x6"), C("x6", axis="1")),
    "keras.activations.hard_tanh": (C("big"),),
    "keras.activations.hard_shrink": (C("x"), C("x", threshold="1.0")),
    "keras.activations.soft_shrink": (C("x"), C("x", threshold="0.2")),
    "keras.activations.tanh_shrink": U,
    "keras.activations.threshold": (C("x", "0.3", "-1.0"),),
    "keras.activations.squareplus": (C("x"), C("x", b="1")),
    "keras.backend.l2_normalize": (C("x", axis="-1"), C("x"), C("tiny", axis="1")),
    "tensorflow.math.l2_normalize": (C("x", axis="1"), C("x"), C("tiny", axis="-1"), C("tiny", "2", epsilon="1e-4")),
    "keras.ops.normalize": (C("x"), C("x", axis="1"), C("tiny", epsilon="1e-3")),
    "tensorflow.nn.moments": (C("x", "[0]"), C("x", axes="[0, 1]", keepdims="True")),
    "keras.ops.moments": (C("x", "[0, 2]"),),
    "tensorflow.nn.batch_normalization": (C("x", "v", "vpos", "None", "None", "1e-3"),
                                          C("x", "v", "vpos", "v2", "vpos2", "0.001")),
    "tensorflow.nn.bias_add": (C("x", "v"),),
    "tensorflow.nn.dropout": (C("ones_big", "0.3", kind=RANDOM),),
    "keras.backend.dropout": (C("ones_big", "0.5", kind=RANDOM),),
    "tensorflow.nn.embedding_lookup": (C("w6", "lab"),),
    "tensorflow.nn.l2_loss": U,
    "tensorflow.nn.sigmoid_cross_entropy_with_logits": (C(labels="t01", logits="x"),),
    "tensorflow.nn.softmax_cross_entropy_with_logits": (C(labels="oh", logits="x"), C("oh", "x", axis="-1")),
    "tensorflow.nn.sparse_softmax_cross_entropy_with_logits": (C(labels="lab", logits="x"),),
    "keras.backend.binary_crossentropy": (C("t01", "prob01"), C("t01", "extreme01"), C("t01", "x", from_logits="True")),
    "keras.ops.binary_crossentropy": (C("t01", "prob01"), C("t01", "extreme01"), C("t01", "x", from_logits="True")),
    "keras.backend.categorical_crossentropy": (C("oh", "prob"), C("oh", "unnormalised"),
                                               C("oh", "x", from_logits="True"), C("oh1", "prob1", axis="1")),
    "keras.backend.sparse_categorical_crossentropy": (C("lab", "prob"), C("lab", "x", from_logits="True"),
                                                      C("lab2", "prob1", axis="1")),
    "keras.ops.sparse_categorical_crossentropy": (C("lab", "prob"), C("lab", "x", from_logits="True")),
    "keras.losses.mean_squared_error": (C("x", "y"),),
    "keras.losses.mean_absolute_error": (C("x", "y"),),
    "keras.losses.binary_crossentropy": (C("t01", "prob01"), C("t01", "x", from_logits="True")),
    "keras.losses.categorical_crossentropy": (C("oh", "prob"), C("oh", "x", from_logits="True")),
    "keras.losses.sparse_categorical_crossentropy": (C("lab", "prob"), C("lab", "x", from_logits="True")),
    # creation
    "keras.backend.epsilon": (C(),),
    "keras.backend.floatx": (C(),),
    "keras.backend.image_data_format": (C(),),
    "tensorflow.compat.as_bytes": (C("'JFIF'"), C("b'JFIF'"), C("'\\u00e9t\\u00e9'", "'latin-1'")),
    "tensorflow.compat.as_text": (C("b'JFIF'"), C("'JFIF'"), C("b'\\xe9t\\xe9'", encoding="'latin-1'")),
    "tensorflow.constant": (C("[1.5, 2.0]"), C("[1, 2, 3]"), C("2.0", shape="(2, 3)"), C("[1, 2]", dtype="tf.float32"),
                            C("xnp")),
    "keras.backend.constant": (C("[1, 2]"), C("0.5", shape="(2, 2)"), C("[1, 2]", dtype="'int32'")),
    "tensorflow.convert_to_tensor": (C("xnp"), C("[1.0, 2.0]"), C("[1, 2]", dtype="tf.float32")),
    "keras.ops.convert_to_tensor": (C("xnp"), C("[1, 2]", dtype="'float32'")),
    "tensorflow.zeros": (C("(2, 3)"), C("[4]", dtype="tf.int32")),
    "tensorflow.ones": (C("(2, 3)"), C("(2,)", "tf.float64")),
    "keras.backend.zeros": (C("(2, 3)"),),
    "keras.backend.ones": (C("(3,)"), C("(3,)", dtype="'float16'")),
    "keras.ops.zeros": (C("(2, 2)"), C("(3,)", dtype="'int32'")),
    "keras.ops.ones": (C("(2, 2)"),),
    "tensorflow.zeros_like": (C("x"), C("xi", dtype="tf.float32")),
    "tensorflow.ones_like": (C("x"),),
    "keras.backend.zeros_like": (C("x"),),
    "keras.backend.ones_like": (C("xi"),),
    "tensorflow.fill": (C("[2, 3]", "7.0"), C("(2,)", "3")),
    "keras.ops.full": (C("(2, 3)", "1.5"),),
    "keras.ops.full_like": (C("x", "2.5"),),
    "tensorflow.eye": (C("3"), C("2", "4")),
    "keras.backend.eye": (C("3"),),
    "keras.ops.eye": (C("3"), C("2", "3")),
    "tensorflow.range": (C("5"), C("2", "9", "3"), C("0.0", "1.0", "0.25"), C("4", dtype="tf.float32"),
                         C("7", delta="2")),
    "keras.backend.arange": (C("5"), C("1", "8", "2"), C("3", dtype="'float32'")),
    "keras.ops.arange": (C("5"), C("2", "7"), C("0.0", "1.0", "0.125")),
    "tensorflow.linspace": (C("0.0", "1.0", "5"),),
    "keras.ops.linspace": (C("0.0", "2.0", "9"),),
    "tensorflow.random.normal": (C(DRAWS, kind=RANDOM), C(DRAWS, mean="2.0", stddev="0.5", kind=RANDOM)),
    "keras.backend.random_normal": (C(DRAWS, kind=RANDOM), C(DRAWS, "1.0", "3.0", kind=RANDOM)),
    "keras.random.normal": (C(DRAWS, kind=RANDOM), C(DRAWS, stddev="0.1", kind=RANDOM)),
    "tensorflow.random.uniform": (C(DRAWS, kind=RANDOM), C(DRAWS, minval="-2.0", maxval="3.0", kind=RANDOM),
                                  C(DRAWS, minval="0", maxval="10", dtype="tf.int32", kind=RANDOM)),
    "keras.backend.random_uniform": (C(DRAWS, kind=RANDOM), C(DRAWS, "-1.0", "1.0", kind=RANDOM)),
    "keras.random.uniform": (C(DRAWS, kind=RANDOM), C(DRAWS, maxval="4.0", kind=RANDOM)),
    "tensorflow.random.truncated_normal": (C(DRAWS, kind=RANDOM), C(DRAWS, mean="1.0", stddev="0.5", kind=RANDOM)),
    "keras.backend.truncated_normal": (C(DRAWS, kind=RANDOM),),
    "keras.random.truncated_normal": (C(DRAWS, stddev="2.0", kind=RANDOM),),
    "tensorflow.random.gamma": (C(DRAWS, "2.0", kind=RANDOM), C(shape=DRAWS, alpha="3.0", beta="2.0", kind=RANDOM)),
    "keras.random.gamma": (C(DRAWS, "2.0", kind=RANDOM),),
    "keras.backend.random_bernoulli": (C(DRAWS, p="0.3", kind=RANDOM),),
    "tensorflow.random.shuffle": (C("x", kind="shuffle"),),
    # linalg
    "tensorflow.linalg.matmul": (C("x", "m"), C("x", "x", transpose_b="True"), C("x", "x", transpose_a="True"),
                                 C("w", "w", transpose_a="True")),
    "keras.ops.matmul": (C("x", "m"), C("x", "v")),
    "keras.backend.dot": (C("x", "w52"), C("w", "w52"), C("x", "m3d")),
    "keras.backend.batch_dot": (C("x", "y", "(2, 2)"), C("x", "y", axes="1"), C("x[:, 0]", "y[:, 0]", "1"),
                                C("x[:, 0]", "y", "(1, 2)"), C("x", "y[:, 0]", "(-1, -1)"), C("x", "m", "(2, 1)"),
                                C("x", "m"), C("x", "y[:, 0]"), C("x[:, 0]", "y[:, 0]")),  # axes=None: Keras's default
    "tensorflow.linalg.matvec": (C("xt", "v"),),
    "tensorflow.einsum": (C("'bij,bjk->bik'", "x", "m"), C("'ijk->kji'", "x")),
    "keras.ops.einsum": (C("'bij,jk->bik'", "x", "w52"),),
    "tensorflow.tensordot": (C("x", "w52", "1"), C("x", "m3d", "[[2], [1]]")),
    "keras.ops.tensordot": (C("x", "w52", "1"), C("x", "y", axes="[[1, 2], [1, 2]]")),
    "keras.ops.outer": (C("v", "v2"),),
    "tensorflow.norm": (C("x"), C("x", axis="1"), C("x", axis="-1", keepdims="True"), C("x", ord="1", axis="2"),
                        C("x", axis="[1, 2]")),
    "keras.ops.norm": (C("w"), C("x", axis="1"), C("x", ord="1", axis="-1"), C("w", ord="'fro'")),
    "tensorflow.linalg.inv": (C("spd"),),
    "tensorflow.linalg.det": (C("spd"),),
    "tensorflow.linalg.diag_part": (C("x"),),
    "tensorflow.linalg.diag": (C("v"),),
    "tensorflow.linalg.trace": (C("spd"),),
    "tensorflow.linalg.cholesky": (C("spd"),),
    "tensorflow.linalg.solve": (C("spd", "rhs"),),
}


def make_inputs() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)

    def normal(*shape: int) -> np.ndarray:
        return rng.standard_normal(shape).astype(np.float32)

    x = normal(3, 4, 5)
    softmaxed = np.exp(x) / np.exp(x).sum(-1, keepdims=True)
    labels = rng.integers(0, 5, (3, 4)).astype(np.int32)
    a = normal(2, 4, 4)
    specials = normal(3, 4)
    specials[0, 0], specials[1, 1], specials[2, 2] = np.nan, np.inf, -np.inf
    zeros_some = normal(3, 4, 5)
    zeros_some[:, 0] = 0.0
    extreme = rng.uniform(0, 1, (3, 4, 5)).astype(np.float32)
    extreme[0] = 0.0
    extreme[1] = 1.0
    lab2 = rng.integers(0, 4, (3, 5)).astype(np.int32)
    prob1 = np.exp(x[:, :4]) / np.exp(x[:, :4]).sum(1, keepdims=True)
    return {
        "x": x,
        "y": normal(3, 4, 5),
        "xnp": normal(2, 3).astype(np.float64),
        "pos": np.abs(normal(3, 4, 5)) + 0.1,
        "unit": rng.uniform(-0.9, 0.9, (3, 4, 5)).astype(np.float32),
        "big": (normal(3, 4, 5) * 5).astype(np.float32),
        "halves": np.array([-2.5, -1.5, -0.5, 0.0, 0.5, 1.5, 2.5, 3.49], dtype=np.float32),
        "specials": specials,
        "tiny": (normal(3, 4, 5) * 1e-5).astype(np.float32),
        "zeros_some": zeros_some,
        "lo": np.full((5,), -0.3, dtype=np.float32),
        "hi": np.full((5,), 0.4, dtype=np.float32),
        "b": rng.random((3, 4, 5)) > 0.5,
        "b2": rng.random((3, 4, 5)) > 0.3,
        "brow": rng.random((3, 4)) > 0.5,
        "brow5": rng.random((5,)) > 0.5,
        "xi": rng.integers(-9, 9, (3, 4, 5)).astype(np.int32),
        "yi": rng.choice([-3, -2, -1, 1, 2, 4], (3, 4, 5)).astype(np.int32),
        "i": np.array([2, 0, 1, 1], dtype=np.int32),
        "i2": np.array([[0, 2], [1, 1]], dtype=np.int32),
        "bi": rng.integers(0, 4, (3, 2)).astype(np.int32),  # per sample of x (3, 4, 5): gather with batch_dims=1
        "bvec": np.array([3, 0, 2], dtype=np.int32),
        "lens": np.array([0, 3, 6, 1], dtype=np.int32),  # sequence lengths
        "lens2": np.array([[1, 5], [2, 0]], dtype=np.int64),
        "along": rng.integers(0, 5, (3, 4, 2)).astype(np.int64),
        "nd": np.array([[0, 1], [2, 3], [1, 0]], dtype=np.int32),
        "lab": labels,
        "lab2": lab2,
        "oh": np.eye(5, dtype=np.float32)[labels],
        "oh1": np.moveaxis(np.eye(4, dtype=np.float32)[lab2], -1, 1),
        "prob": softmaxed,
        "prob1": prob1,
        "unnormalised": np.abs(x) + 0.05,
        "prob01": rng.uniform(0.01, 0.99, (3, 4, 5)).astype(np.float32),
        "extreme01": extreme,
        "t01": (rng.random((3, 4, 5)) > 0.5).astype(np.float32),
        "x1": normal(3, 1, 5),
        "x6": normal(3, 6, 4),
        "img": normal(2, 3, 4, 2),
        "patchable": normal(2, 6, 8, 3),
        "patchable1": normal(6, 8, 3),  # one image, unbatched
        "w": normal(4, 5),
        "w52": normal(5, 2),
        "w6": normal(6, 3),
        "m": normal(3, 5, 4),
        "m3d": normal(2, 5, 3),
        "xt": normal(3, 4, 5),
        "v": normal(5),
        "v2": normal(5),
        "vpos": np.abs(normal(5)) + 0.5,
        "vpos2": np.abs(normal(5)) + 0.5,
        "spd": (a @ np.swapaxes(a, 1, 2) + 4 * np.eye(4, dtype=np.float32)).astype(np.float32),
        "rhs": normal(2, 4, 3),
        "ones_big": np.ones((400, 250), dtype=np.float32),
    }


def all_cases() -> list[pytest.param]:
    params = []
    for row in ROWS:
        for name in row.names:
            for index, case in enumerate(CASES.get(row.name, ())):
                params.append(pytest.param(name, case, id=f"{name}-{index}"))
    return params


@pytest.fixture(scope="module")
def worlds():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    import tensorflow as tf
    import torch
    import torch.nn.functional as F

    inputs = make_inputs()
    tf_names = {"tf": tf, "tensorflow": tf, "keras": keras, "np": np}
    tf_names.update({name: (value if name == "xnp" else tf.constant(value)) for name, value in inputs.items()})
    torch_names = {"torch": torch, "F": F, "math": __import__("math"), "np": np}
    torch_names.update(
        {name: (value if name == "xnp" else torch.from_numpy(np.array(value))) for name, value in inputs.items()}
    )
    return tf_names, torch_names


def reference(name: str):
    import keras
    import keras.src.legacy.backend as legacy_backend
    import tensorflow as tf

    parts = name.split(".")
    if parts[:2] == ["keras", "backend"] and parts[2] not in ("epsilon", "floatx", "image_data_format"):
        return getattr(legacy_backend, parts[2])
    target = tf if parts[0] == "tensorflow" else keras
    for part in parts[1:]:
        target = getattr(target, part)
    return target


def as_numpy(value):
    """TF / torch / Python results as numpy arrays, tuples of them for sequences."""
    import tensorflow as tf
    import torch

    if isinstance(value, (torch.Size, tf.TensorShape)):
        return np.asarray(list(value), dtype=np.int64)
    if isinstance(value, (list, tuple)) and not (value and isinstance(value[0], (int, float, type(None)))):
        return tuple(as_numpy(item) for item in value)
    if isinstance(value, torch.Tensor):
        return value.detach().numpy()
    if hasattr(value, "numpy"):
        return value.numpy()
    return np.asarray(value)


def seed_everything(tf, torch) -> None:
    # Keras 2's random functions draw their seed from numpy's generator.
    np.random.seed(0)
    tf.random.set_seed(0)
    torch.manual_seed(0)


def assert_same(expected, actual, tol: float, where: str = "") -> None:
    if isinstance(expected, tuple) or isinstance(actual, tuple):
        assert isinstance(expected, tuple) and isinstance(actual, tuple), f"{where}: {expected!r} vs {actual!r}"
        assert len(expected) == len(actual), f"{where}: {len(expected)} results vs {len(actual)}"
        for index, (e, a) in enumerate(zip(expected, actual)):
            assert_same(e, a, tol, f"{where}[{index}]")
        return
    assert expected.shape == actual.shape, f"{where}: shape {expected.shape} vs {actual.shape}"
    kind = {"u": "i"}.get(expected.dtype.kind, expected.dtype.kind)
    assert kind == {"u": "i"}.get(actual.dtype.kind, actual.dtype.kind), f"{where}: {expected.dtype} vs {actual.dtype}"
    if expected.dtype.kind in "fc":
        assert expected.dtype == actual.dtype, f"{where}: {expected.dtype} vs {actual.dtype}"
        np.testing.assert_allclose(actual, expected, rtol=tol, atol=tol, equal_nan=True, err_msg=where)
    elif expected.dtype.kind in "US":
        assert expected.tolist() == actual.tolist(), where
    else:
        np.testing.assert_array_equal(actual, expected, err_msg=where)


QUANTILES = (0.01, 0.1, 0.5, 0.9, 0.99)


def assert_same_distribution(expected: np.ndarray, actual: np.ndarray) -> None:
    """100,000 seeded draws: mean, standard deviation and quantiles agree within 0.02 / 0.06 standard
    deviations, over 3 standard errors of such samples (a truncation at 2 sigma moves the 1% quantile 0.4)."""
    assert expected.shape == actual.shape and expected.dtype == actual.dtype, (expected.dtype, actual.dtype)
    expected, actual = expected.astype(np.float64), actual.astype(np.float64)
    scale = max(expected.std(), 1e-3)
    assert abs(expected.mean() - actual.mean()) < 0.02 * scale, (expected.mean(), actual.mean())
    assert abs(expected.std() - actual.std()) < 0.02 * scale, (expected.std(), actual.std())
    np.testing.assert_allclose(np.quantile(actual, QUANTILES), np.quantile(expected, QUANTILES), rtol=0, atol=0.06 * scale)


@pytest.mark.parametrize(("name", "case"), all_cases())
def test_op_matches_tensorflow(worlds, name: str, case: Case) -> None:
    tf_names, torch_names = worlds
    if case.kind != "exact":
        seed_everything(tf_names["tf"], torch_names["torch"])
    function = reference(name)
    args = [eval(code, tf_names) for code in case.args]
    kwargs = {key: eval(code, tf_names) for key, code in case.kwargs.items()}
    expected = function(*args, **kwargs)
    translation = translate_op(name, list(case.args), dict(case.kwargs))
    actual = eval(translation.code, torch_names)
    if case.kind == "applied":
        expected, actual = expected(tf_names["x"]), actual(torch_names["x"])
    expected, actual = as_numpy(expected), as_numpy(actual)
    where = f"{name}: {translation.code}"
    if case.kind == "random":
        assert_same_distribution(expected, actual)
    elif case.kind == "shuffle":
        assert expected.shape == actual.shape
        np.testing.assert_array_equal(np.sort(actual, axis=None), np.sort(expected, axis=None))
    else:
        assert_same(expected, actual, case.tol, where)


def test_every_row_has_a_parity_case() -> None:
    missing = [row.name for row in ROWS if not CASES.get(row.name)]
    assert not missing, f"rows without a parity case: {missing}"
    unknown = sorted(set(CASES) - {row.name for row in ROWS})
    assert not unknown, f"cases for names that are not a row's first name: {unknown}"
    assert set(OPS) >= {row.name for row in ROWS}
