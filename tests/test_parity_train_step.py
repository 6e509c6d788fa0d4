"""Exact parity of models that override train_step / test_step (k2t.parse.train_step, k2t.translate.train_step)."""

from pathlib import Path

import pytest
from conftest import requires_keras, requires_torch

pytestmark = [requires_torch, requires_keras, pytest.mark.parity]

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "train_step_override" / "input.py"


@pytest.mark.parametrize(
    "fit_index",
    [
        # The guide's first step: compute_loss and Keras's own model.metrics (its loss tracker, the compiled "mae").
        pytest.param(0, id="guide_compiled_loss_and_metrics"),
        # Keras 3 spelling: own loss object, tracker and metric, a metrics property, test_step for validation_data.
        pytest.param(1, id="keras3_trackers_and_test_step"),
        # Keras 2 spelling: compiled_loss with the layers' penalties, apply_gradients, the loop over self.metrics.
        pytest.param(2, id="keras2_compiled_loss"),
    ],
)
def test_train_step_fixture(fit_index, tmp_path):
    """Each fit of the fixture from the same weights: the per-epoch logs of the step's own trackers."""
    from k2t.parity import exact_parity

    source = FIXTURE.read_text(encoding="utf-8")
    script = tmp_path / "input.py"
    script.write_text(source, encoding="utf-8")
    report = exact_parity(source, epochs=3, path=script, fit_index=fit_index)
    assert report.error is None, report.error
    details = "\n".join(report.failures) + f"\nkeras: {report.keras_history}\ntorch: {report.torch_history}"
    assert report.ok, details
    assert list(report.torch_history) == list(report.keras_history), details
    assert all(len(values) == 3 for values in report.torch_history.values()), details


SUBCLASS_WITH_CALL = """\
import numpy as np
import tensorflow as tf
import keras
from keras import layers

keras.utils.set_random_seed(1)
rng = np.random.RandomState(0)
x = rng.normal(size=(256, 10)).astype("float32")
y = (x[:, :1] * 0.5 + x[:, 1:2] ** 2).astype("float32")


class Regressor(keras.Model):
    def __init__(self, hidden=16):
        super().__init__()
        self.hidden = layers.Dense(hidden, activation="tanh")
        self.norm = layers.BatchNormalization()
        self.out = layers.Dense(1)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.loss_fn = keras.losses.Huber()

    def call(self, inputs, training=None):
        h = self.hidden(inputs)
        h = self.norm(h, training=training)
        return self.out(h)

    def train_step(self, data):
        x, y = data
        with tf.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.loss_fn(y, y_pred)
        gradients = tape.gradient(loss, self.trainable_weights)
        self.optimizer.apply_gradients(zip(gradients, self.trainable_weights))
        self.loss_tracker.update_state(loss)
        return {"loss": self.loss_tracker.result()}

    @property
    def metrics(self):
        return [self.loss_tracker]


model = Regressor(hidden=12)
model.compile(optimizer=keras.optimizers.RMSprop(0.01))
model.fit(x, y, batch_size=32, epochs=3, verbose=0)
"""


def test_subclass_with_call_and_batch_norm(tmp_path):
    """A subclass followed through its call() (BatchNormalization in training mode inside the step), with a Huber loss object."""
    from parity_cases import assert_parity

    assert_parity(SUBCLASS_WITH_CALL, tmp_path)


def test_keras2_compiled_loss_without_regularization_losses_on_a_model_without_penalties(tmp_path):
    """compiled_loss(y, y_pred) alone leaves the layers' penalties out: on a model that has none it is the
    compiled loss (a tutorial's CustomFit); with penalties it stays a located K2T103."""
    import k2t
    from k2t.parity import exact_parity

    source = FIXTURE.read_text(encoding="utf-8")
    bare = source.replace("self.compiled_loss(y, y_pred, regularization_losses=self.losses)", "self.compiled_loss(y, y_pred)")
    with_penalty = k2t.convert_source(bare, "input.py")
    found = [(d.code, d.line) for d in with_penalty.diagnostics]
    line = next(number for number, text in enumerate(bare.splitlines(), 1) if "self.compiled_loss(y, y_pred)" in text)
    assert ("K2T103", line) in found and not with_penalty.ok, found  # the class stays as written: its lines too
    plain = bare.replace("layers.Dense(1, kernel_regularizer=keras.regularizers.L2(0.01))", "layers.Dense(1)")
    assert k2t.convert_source(plain, "input.py").diagnostics == ()
    script = tmp_path / "input.py"
    script.write_text(plain, encoding="utf-8")
    report = exact_parity(plain, epochs=3, path=script, fit_index=2)
    assert report.error is None, report.error
    assert report.ok, "\n".join(report.failures) + f"\nkeras: {report.keras_history}\ntorch: {report.torch_history}"
