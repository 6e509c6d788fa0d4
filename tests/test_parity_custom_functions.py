"""Exact parity of the script's own loss and metric functions against Keras.

Each case defines its functions with Keras 2's backend (`K.*`), TensorFlow ops or `keras.ops`,
compiles with them and fits with validation_split; the conversion keeps the functions where they are,
rewritten to torch, and must give Keras's loss, metric, val_loss and val_ metric per epoch. Nothing here
is a matter of float rounding amplified by training, so every value is held to 1e-5 relative, well inside
the harness's tolerances (1e-3 for losses, 1e-2 for metrics): a metric averaged per row where Keras
averages per batch, or a loss averaged over other axes, is caught.
"""

import textwrap

import pytest
from conftest import requires_keras, requires_torch
from parity_cases import TARGETS, assert_parity

pytestmark = [requires_torch, requires_keras, pytest.mark.parity]

SCRIPT = """\
import numpy as np
import tensorflow as tf
import keras
from keras import ops
from tensorflow.keras import backend as K

{functions}

rng = np.random.RandomState(0)
x = rng.normal(size=(96, 6)).astype("float32")
{targets}
keras.utils.set_random_seed(0)
model = keras.Sequential([
    keras.Input(shape=(6,)),
    keras.layers.Dense(8, activation="relu"),
    {output},
])
model.compile(optimizer="adam", loss={loss}, metrics={metrics})
history = model.fit(x, y, batch_size=16, epochs=3, verbose=0, validation_split=0.25{fit_extra})
"""

RMSE = """\
def rmse(y_true, y_pred):
    return K.sqrt(K.mean(K.square(y_pred - y_true), axis=-1))
"""

WEIGHTED_BCE = """\
def weighted_bce(y_true, y_pred):
    y_pred = tf.clip_by_value(y_pred, K.epsilon(), 1 - K.epsilon())
    loss = -(2.0 * y_true * tf.math.log(y_pred) + (1.0 - y_true) * tf.math.log(1.0 - y_pred))
    return tf.reduce_mean(loss, axis=-1)
"""

OPS_HUBERISH = """\
def soft_l1(y_true, y_pred):
    diff = ops.abs(y_pred - y_true)
    return ops.mean(ops.sqrt(1.0 + ops.square(diff)) - 1.0, axis=-1)
"""

FACTORY = """\
def weighted_mse(weight):
    def loss(y_true, y_pred):
        return weight * K.mean(K.square(y_pred - y_true), axis=-1)
    return loss
"""

LOSS_FUNCTIONS_CALLED = """\
def mixed_loss(y_true, y_pred):
    return keras.losses.mean_squared_error(y_true, y_pred) + 0.5 * keras.losses.mean_absolute_error(y_true, y_pred)
"""

BCE_FUNCTION_CALLED = """\
def bce_plus(y_true, y_pred):
    return keras.losses.binary_crossentropy(y_true, y_pred) + 0.1 * K.mean(y_pred, axis=-1)
"""

METRIC_FACTORY = """\
def scaled(factor):
    def scaled_mae(y_true, y_pred):
        return factor * ops.mean(ops.abs(y_pred - y_true), axis=-1)
    return scaled_mae
"""

LOSS_CLASS = """\
class WeightedBCE(keras.losses.Loss):
    def __init__(self, pos_weight=2.0, name="weighted_bce", **kwargs):
        super().__init__(name=name, **kwargs)
        self.pos_weight = pos_weight

    def call(self, y_true, y_pred):
        y_pred = ops.clip(y_pred, keras.backend.epsilon(), 1 - keras.backend.epsilon())
        loss = -(self.pos_weight * y_true * ops.log(y_pred) + (1 - y_true) * ops.log(1 - y_pred))
        return ops.mean(loss, axis=-1)

    def get_config(self):
        return {**super().get_config(), "pos_weight": self.pos_weight}
"""

SCALAR_METRIC = """\
def batch_max_error(y_true, y_pred):
    return K.max(K.abs(y_pred - y_true))
"""

# tf.shape(y)[0] is a tensor in TensorFlow and y.shape[0] a Python int in torch: the cast must make a tensor.
BATCH_SSE = """\
def batch_sse(y_true, y_pred):
    batch = tf.cast(tf.shape(y_pred)[0], tf.float32)
    return tf.reduce_sum(tf.square(y_pred - y_true)) / batch
"""

# Registered for Keras's saving (and a tf.function loss): the decorators go, the functions stay.
REGISTERED = """\
@keras.saving.register_keras_serializable(package="custom")
class RegisteredBCE(keras.losses.Loss):
    def call(self, y_true, y_pred):
        y_pred = ops.clip(y_pred, keras.backend.epsilon(), 1 - keras.backend.epsilon())
        return ops.mean(-(y_true * ops.log(y_pred) + (1 - y_true) * ops.log(1 - y_pred)), axis=-1)


@keras.saving.register_keras_serializable()
@tf.function
def registered_mae(y_true, y_pred):
    return ops.mean(ops.abs(y_true - y_pred), axis=-1)
"""

EXACT = 1e-5
SIGMOID = 'keras.layers.Dense(1, activation="sigmoid")'
LINEAR = "keras.layers.Dense(1)"

# (functions, output layer, targets, loss, metrics, fit extra)
CASES = {
    "backend_rmse_loss_and_metric": (RMSE, LINEAR, "regression", "rmse", "[rmse]", ""),
    "tensorflow_weighted_bce": (WEIGHTED_BCE, SIGMOID, "binary", "weighted_bce", '["accuracy"]', ""),
    "keras_ops_loss": (OPS_HUBERISH, LINEAR, "regression", "soft_l1", '["mae"]', ""),
    "metric_beside_builtin_loss": (RMSE, LINEAR, "regression", '"mse"', '[rmse, "mae"]', ""),
    "loss_factory": (FACTORY, LINEAR, "regression", "weighted_mse(2.0)", '["mse"]', ""),
    # Keras names the metric after the function the factory returns: "scaled_mae".
    "factory_as_metric": (METRIC_FACTORY + "\n\n" + RMSE, LINEAR, "regression", "rmse", "[scaled(0.5)]", ""),
    # 72 training rows in batches of 16: the last has 8, and Keras's Mean counts a scalar once per batch.
    "scalar_metric_counts_batches": (SCALAR_METRIC, LINEAR, "regression", '"mse"', "[batch_max_error]", ""),
    # y of shape (N,): Keras expands y_true to y_pred's (N, 1) for the loss, not for the metric (broadcast).
    "rank_one_targets": (RMSE, LINEAR, "flat", "rmse", "[rmse]", ""),
    "sample_weight": (RMSE, LINEAR, "regression", "rmse", "[rmse]", ", sample_weight=np.linspace(0.5, 2.0, 96)"),
    "loss_subclass": (LOSS_CLASS, SIGMOID, "binary", "WeightedBCE(3.0)", '["accuracy"]', ""),
    # Keras reduces by the object's own reduction, after the row weights.
    "loss_subclass_sum_weighted": (LOSS_CLASS, SIGMOID, "binary", 'WeightedBCE(reduction="sum")', '["accuracy"]', ", sample_weight=np.linspace(0.5, 2.0, 96)"),
    # 72 training rows in batches of 16: the last batch divides by 8.
    "cast_of_a_dynamic_batch_size": (BATCH_SSE, LINEAR, "regression", "batch_sse", '["mae"]', ""),
    "class_weight": (WEIGHTED_BCE, SIGMOID, "binary", "weighted_bce", '["accuracy"]', ", class_weight={0: 1.0, 1: 3.0}"),
    # keras.losses' functions called inside the script's own loss: one value per sample, as Keras returns them.
    "keras_loss_functions_called": (LOSS_FUNCTIONS_CALLED, LINEAR, "regression", "mixed_loss", '["mae"]', ""),
    "keras_bce_function_called": (BCE_FUNCTION_CALLED, SIGMOID, "binary", "bce_plus", '["accuracy"]', ""),
    "registered_for_saving": (REGISTERED, SIGMOID, "binary", "RegisteredBCE()", "[registered_mae]", ""),
}

TARGETS_HERE = {**TARGETS, "flat": 'y = x[:, :2].sum(axis=1).astype("float32")'}


def source(functions, output, targets, loss, metrics, fit_extra):
    return SCRIPT.format(
        functions=textwrap.dedent(functions).strip(),
        targets=TARGETS_HERE[targets],
        output=output,
        loss=loss,
        metrics=metrics,
        fit_extra=fit_extra,
    )


def test_the_conversion_is_clean_and_has_no_keras_left():
    import k2t

    for name, case in CASES.items():
        result = k2t.convert_source(source(*case), filename=f"{name}.py")
        assert result.ok and not result.diagnostics, (name, [d.format() for d in result.diagnostics])
        assert "K." not in result.output and "tf." not in result.output and "ops." not in result.output, name


@pytest.mark.parametrize("name", CASES)
def test_custom_function(name, tmp_path):
    report = assert_parity(source(*CASES[name]), tmp_path)
    assert "val_loss" in report.torch_history
    for key, diffs in report.rel_diffs.items():
        assert max(diffs) <= EXACT, f"{key}: {diffs}\nkeras {report.keras_history}\ntorch {report.torch_history}"


TWO_OUTPUTS = """\
import numpy as np
import keras
from keras import ops


def rmse(y_true, y_pred):
    return ops.sqrt(ops.mean(ops.square(y_pred - y_true), axis=-1))


rng = np.random.RandomState(0)
x = rng.normal(size=(96, 4)).astype("float32")
ya = x[:, :1] * 2.0
yb = np.abs(x[:, 1:3])
keras.utils.set_random_seed(0)
inputs = keras.Input(shape=(4,))
hidden = keras.layers.Dense(8, activation="relu")(inputs)
a = keras.layers.Dense(1, name="a")(hidden)
b = keras.layers.Dense(2, name="b")(hidden)
model = keras.Model(inputs, [a, b])
model.compile(optimizer="adam", loss={"a": rmse, "b": "mse"}, metrics={"a": [rmse], "b": ["mae"]})
history = model.fit(x, [ya, yb], batch_size=16, epochs=3, verbose=0, validation_split=0.25)
"""


def test_custom_loss_and_metric_of_one_output_of_two(tmp_path):
    report = assert_parity(TWO_OUTPUTS, tmp_path)
    assert "val_a_rmse" in report.torch_history
    for key, diffs in report.rel_diffs.items():
        assert max(diffs) <= EXACT, f"{key}: {diffs}"
