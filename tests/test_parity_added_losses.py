"""Exact parity of Keras's add_loss terms and of a custom layer called on a list of tensors.

Keras 3 adds every tensor a layer's call() adds with ``self.add_loss`` (summed over its elements) to the
compiled loss, in fit and in evaluate, and logs the total as ``loss``; the conversion must give Keras's
loss and val_loss per epoch, held to 1e-5 relative (a term added once per epoch rather than per batch,
left out of the validation loss, or averaged rather than summed, is caught).

The VAE fixture draws its noise with ``keras.random.normal``; both sides here draw the same
deterministic "noise" instead (a sine of the element index), so that training is comparable step by step.
"""

import math
from pathlib import Path

import pytest
from conftest import requires_keras, requires_torch
from parity_cases import assert_parity

pytestmark = [requires_torch, requires_keras, pytest.mark.parity]

EXACT = 1e-5
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

ACTIVITY_PENALTY = """\
import numpy as np
import keras
from keras import ops


class ActivityPenalty(keras.layers.Layer):
    \"\"\"An activity regulariser written by hand: the layer passes its inputs through and adds their L2.\"\"\"

    def __init__(self, rate=0.01, **kwargs):
        super().__init__(**kwargs)
        self.rate = rate

    def call(self, inputs):
        self.add_loss(self.rate * ops.sum(ops.square(inputs)))
        self.add_loss(self.rate * ops.abs(inputs))  # not a scalar: Keras sums it
        return inputs


rng = np.random.RandomState(0)
x = rng.normal(size=(96, 6)).astype("float32")
y = (x[:, :3].sum(axis=1) > 0).astype("float32")
keras.utils.set_random_seed(0)
model = keras.Sequential([
    keras.Input(shape=(6,)),
    keras.layers.Dense(8, activation="relu"),
    ActivityPenalty(0.05),
    keras.layers.Dense(1, activation="sigmoid"),
])
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
history = model.fit(x, y, batch_size=16, epochs=3, verbose=0, validation_split=0.25)
"""


def _assert_exact(report) -> None:
    for key, diffs in report.rel_diffs.items():
        assert max(diffs) <= EXACT, f"{key}: {diffs}\nkeras {report.keras_history}\ntorch {report.torch_history}"


def test_add_loss_regulariser(tmp_path):
    report = assert_parity(ACTIVITY_PENALTY, tmp_path)
    assert "val_loss" in report.torch_history
    _assert_exact(report)


def _sine_noise(count: int) -> list[float]:
    return [math.sin(0.7 * i + 0.3) for i in range(count)]


@pytest.fixture
def same_noise(monkeypatch):
    """keras.random.normal and torch.randn draw the same values: sin(0.7 i + 0.3) for element i."""
    import keras
    import tensorflow as tf
    import torch

    def keras_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
        dims = tf.stack([tf.cast(d, tf.int32) for d in shape])
        index = tf.cast(tf.range(tf.reduce_prod(dims)), tf.float32)
        return tf.reshape(tf.sin(0.7 * index + 0.3), dims) * stddev + mean

    def torch_randn(*size, device=None, dtype=None, **kwargs):
        shape = tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list, torch.Size)) else size
        index = torch.arange(math.prod(shape), dtype=torch.float32)
        return torch.sin(0.7 * index + 0.3).reshape(shape).to(device or "cpu")

    monkeypatch.setattr(keras.random, "normal", keras_normal)
    monkeypatch.setattr(tf.keras.backend, "random_normal", keras_normal)  # Keras 2's K.random_normal
    monkeypatch.setattr(torch, "randn", torch_randn)


def test_vae_fixture_losses(tmp_path, same_noise):
    source = (FIXTURES / "vae_sampling_add_loss" / "input.py").read_text(encoding="utf-8")
    report = assert_parity(source, tmp_path)
    assert list(report.torch_history) == ["loss", "val_loss"]
    _assert_exact(report)


NESTED_ENCODER = """\
import numpy as np
import keras
from keras import layers, ops


class Sampling(layers.Layer):
    def call(self, inputs):
        z_mean, z_log_var = inputs
        self.add_loss(-0.5 * ops.mean(ops.sum(1 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var), axis=1)))
        epsilon = keras.random.normal(shape=ops.shape(z_mean))
        return z_mean + ops.exp(0.5 * z_log_var) * epsilon


x = np.random.RandomState(0).uniform(size=(96, 16)).astype("float32")
keras.utils.set_random_seed(0)
encoder_inputs = keras.Input(shape=(16,))
h = layers.Dense(8, activation="relu")(encoder_inputs)
z_mean = layers.Dense(2)(h)
z_log_var = layers.Dense(2)(h)
encoder = keras.Model(encoder_inputs, Sampling()([z_mean, z_log_var]), name="encoder")
vae = keras.Sequential([encoder, layers.Dense(16, activation="sigmoid")])
vae.compile(optimizer="adam", loss="binary_crossentropy")
history = vae.fit(x, x, epochs=3, batch_size=16, validation_split=0.25)
"""


def test_added_losses_of_a_nested_model(tmp_path, same_noise):
    """The encoder's KL term reaches the outer model's loss (Keras's model.losses gathers every sublayer's)."""
    report = assert_parity(NESTED_ENCODER, tmp_path)
    _assert_exact(report)


# Louis Tiao's Keras 2 VAE: an identity layer on the list adds the KL term and returns the list, unpacked.
PASS_THROUGH = """\
import numpy as np
import keras
from keras import layers, ops


class KLDivergenceLayer(layers.Layer):
    # Identity transform layer that adds KL divergence to the final model loss.

    def call(self, inputs):
        mu, log_var = inputs
        kl_batch = -0.5 * ops.sum(1 + log_var - ops.square(mu) - ops.exp(log_var), axis=-1)
        self.add_loss(ops.mean(kl_batch))
        return inputs


class Sampling(layers.Layer):
    def call(self, inputs):
        z_mean, z_log_var = inputs
        epsilon = keras.random.normal(shape=ops.shape(z_mean))
        return z_mean + ops.exp(0.5 * z_log_var) * epsilon


x = np.random.RandomState(0).uniform(size=(96, 16)).astype("float32")
keras.utils.set_random_seed(0)
inputs = keras.Input(shape=(16,))
h = layers.Dense(8, activation="relu")(inputs)
z_mu = layers.Dense(2)(h)
z_log_var = layers.Dense(2)(h)
z_mu, z_log_var = KLDivergenceLayer()([z_mu, z_log_var])
z = Sampling()([z_mu, z_log_var])
outputs = layers.Dense(16, activation="sigmoid")(layers.Dense(8, activation="relu")(z))
vae = keras.Model(inputs, outputs)
vae.compile(optimizer="adam", loss="binary_crossentropy")
history = vae.fit(x, x, epochs=3, batch_size=16, validation_split=0.25)
"""


def test_a_layer_returning_its_list_unpacked(tmp_path, same_noise):
    report = assert_parity(PASS_THROUGH, tmp_path)
    _assert_exact(report)


# Two outputs: the added term joins the sum of the outputs' losses; a metric class of the script on one output.
TWO_OUTPUTS = """\
import numpy as np
import keras
from keras import layers, ops


class Gap(keras.metrics.Metric):
    def __init__(self, name="gap", **kwargs):
        super().__init__(name=name, **kwargs)
        self.total = self.add_weight(name="total", initializer="zeros")
        self.count = self.add_weight(name="count", initializer="zeros")

    def update_state(self, y_true, y_pred, sample_weight=None):
        self.total.assign_add(ops.sum(ops.abs(y_true - y_pred)))
        self.count.assign_add(ops.sum(ops.ones_like(y_true)))

    def result(self):
        return self.total / self.count


class Penalty(layers.Layer):
    def call(self, inputs):
        self.add_loss(0.1 * ops.mean(ops.square(inputs)))
        return inputs


rng = np.random.RandomState(0)
x = rng.normal(size=(96, 4)).astype("float32")
ya, yb = x[:, :1] * 2.0, np.abs(x[:, 1:3])
keras.utils.set_random_seed(0)
inputs = keras.Input(shape=(4,))
h = Penalty()(layers.Dense(8, activation="relu")(inputs))
a = layers.Dense(1, name="a")(h)
b = layers.Dense(2, name="b")(h)
model = keras.Model(inputs, [a, b])
model.compile(optimizer="adam", loss={"a": "mse", "b": "mse"}, metrics={"a": [Gap()], "b": ["mae"]})
history = model.fit(x, [ya, yb], batch_size=16, epochs=3, verbose=0, validation_split=0.25)
"""


def test_added_loss_and_metric_class_with_two_outputs(tmp_path):
    report = assert_parity(TWO_OUTPUTS, tmp_path)
    assert "val_a_gap" in report.torch_history
    _assert_exact(report)


# Keras 2 spellings: the backend's K.* ops, a size from the script's top level in the noise's shape.
KERAS2_SAMPLING = """\
import numpy as np
import keras
from keras import layers
from tensorflow.keras import backend as K

latent_dim = 2


class Sampling(layers.Layer):
    def call(self, inputs):
        z_mean, z_log_var = inputs
        kl_loss = -0.5 * K.sum(1 + z_log_var - K.square(z_mean) - K.exp(z_log_var), axis=-1)
        self.add_loss(K.mean(kl_loss))
        epsilon = K.random_normal(shape=(K.shape(z_mean)[0], latent_dim))
        return z_mean + K.exp(0.5 * z_log_var) * epsilon


x = np.random.RandomState(0).uniform(size=(96, 16)).astype("float32")
keras.utils.set_random_seed(0)
inputs = keras.Input(shape=(16,))
h = layers.Dense(8, activation="relu")(inputs)
z = Sampling()([layers.Dense(latent_dim)(h), layers.Dense(latent_dim)(h)])
outputs = layers.Dense(16, activation="sigmoid")(z)
vae = keras.Model(inputs, outputs)
vae.compile(optimizer="adam", loss="binary_crossentropy")
history = vae.fit(x, x, epochs=3, batch_size=16, validation_split=0.25)
"""


def test_keras2_sampling_layer(tmp_path, same_noise):
    report = assert_parity(KERAS2_SAMPLING, tmp_path)
    _assert_exact(report)
