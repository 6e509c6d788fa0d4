"""Exact parity of the script's keras.metrics.Metric subclasses against Keras.

Keras averages nothing for a Metric object: before every epoch (and every evaluation) it calls
reset_state(), after every batch update_state(y_true, y_pred), and logs result(). The conversion keeps
the class, rewritten to torch on a generated Metric base; every value of the history (the metric, its
val_ twin, the losses) is held to 1e-5 relative, so a metric averaged per batch, or not reset between
epochs, is caught.
"""

import textwrap

import pytest
from conftest import requires_keras, requires_torch
from parity_cases import assert_parity

pytestmark = [requires_torch, requires_keras, pytest.mark.parity]

EXACT = 1e-5

SCRIPT = """\
import numpy as np
import keras
from keras import ops
from tensorflow.keras import backend as K

{classes}

rng = np.random.RandomState(0)
x = rng.normal(size=(96, 6)).astype("float32")
y = x[:, :2].sum(axis=1, keepdims=True).astype("float32")
keras.utils.set_random_seed(0)
model = keras.Sequential([keras.Input(shape=(6,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)])
model.compile(optimizer="adam", loss="mse", metrics={metrics})
history = model.fit(x, y, batch_size=16, epochs=3, verbose=0, validation_split=0.25)
"""

# A ratio of sums over the epoch (not a mean of per-batch values), a scale from __init__, Keras 3's
# reset_state written by hand, and both add_weight and add_variable.
GAP = """\
class MeanAbsoluteGap(keras.metrics.Metric):
    def __init__(self, scale=1.0, name="mean_abs_gap", **kwargs):
        super().__init__(name=name, **kwargs)
        self.scale = scale
        self.total = self.add_weight(name="total", initializer="zeros")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = ops.cast(y_true, "float32")
        self.total.assign_add(self.scale * ops.sum(ops.abs(y_true - y_pred)))
        self.count.assign_add(ops.sum(ops.ones_like(y_true)))

    def result(self):
        return self.total / ops.maximum(self.count, 1.0)

    def reset_state(self):
        self.total.assign(0.0)
        self.count.assign(0.0)
"""

# The largest error seen in the epoch: state kept with assign (not a sum), Keras's default reset_state
# (zeros), and no name: Keras names it after the class, "max_error". result() returns a new tensor: Keras
# logs the tensor result() returns, and the state variable itself would read its value after validation.
MAX_ERROR = """\
class MaxError(keras.metrics.Metric):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.largest = self.add_weight(shape=(), initializer="zeros", name="largest")

    def update_state(self, y_true, y_pred, sample_weight=None):
        self.largest.assign(ops.maximum(self.largest, ops.max(ops.abs(y_true - y_pred))))

    def result(self):
        return self.largest * 1.0
"""

# Keras 2 spellings: the backend's K.* ops, tf.keras's reset_states (which Keras 3 never calls: its own
# reset_state zeros the state, as this one does), a count kept as a sum of ones.
KERAS2_STYLE = """\
class TruePositiveRate(keras.metrics.Metric):
    def __init__(self, name="tpr", **kwargs):
        super(TruePositiveRate, self).__init__(name=name, **kwargs)
        self.hits = self.add_weight(name="hits", initializer="zeros")
        self.positives = self.add_weight(name="positives", initializer="zeros")

    def update_state(self, y_true, y_pred, sample_weight=None):
        predicted = K.cast(K.greater(y_pred, 0.0), "float32")
        actual = K.cast(K.greater(y_true, 0.0), "float32")
        self.hits.assign_add(K.sum(predicted * actual))
        self.positives.assign_add(K.sum(actual))

    def result(self):
        return self.hits / (self.positives + K.epsilon())

    def reset_states(self):
        for v in self.variables:
            v.assign(0.0)
"""

CASES = {
    "ratio_of_sums": (GAP, "[MeanAbsoluteGap(2.0), \"mae\"]"),
    "named_by_the_compile": (GAP, '[MeanAbsoluteGap(name="gap")]'),
    "assign_and_default_name": (MAX_ERROR, "[MaxError()]"),
    "two_classes_side_by_side": (GAP + "\n\n" + MAX_ERROR, "[MaxError(), MeanAbsoluteGap()]"),
    "keras2_backend_and_reset_states": (KERAS2_STYLE, "[TruePositiveRate()]"),
}


def source(classes: str, metrics: str) -> str:
    return SCRIPT.format(classes=textwrap.dedent(classes).strip(), metrics=metrics)


def test_the_conversion_is_clean_and_has_no_keras_left():
    import k2t

    for name, case in CASES.items():
        result = k2t.convert_source(source(*case), filename=f"{name}.py")
        assert result.ok and not result.diagnostics, (name, [d.format() for d in result.diagnostics])
        assert "import keras" not in result.output and "ops." not in result.output, name


@pytest.mark.parametrize("name", CASES)
def test_metric_class(name, tmp_path):
    report = assert_parity(source(*CASES[name]), tmp_path)
    assert "val_loss" in report.torch_history
    for key, diffs in report.rel_diffs.items():
        assert max(diffs) <= EXACT, f"{key}: {diffs}\nkeras {report.keras_history}\ntorch {report.torch_history}"
