"""Parity of train_on_batch / test_on_batch / predict_on_batch, call by call from the same weights (k2t.parity.on_batch)."""

import textwrap

import pytest
from conftest import requires_keras, requires_torch

pytestmark = [requires_torch, requires_keras, pytest.mark.parity]

DATA = """\
import numpy as np
import keras
from keras import layers

rng = np.random.RandomState(0)
x = rng.normal(size=(64, 6)).astype("float32")
y = (x[:, :1] - x[:, 1:2] > 0).astype("float32")
keras.utils.set_random_seed(0)
"""

CASES = {
    # A loss alone: each call returns one float, this batch's loss before the update.
    "loss_only": """\
        model = keras.Sequential([keras.Input(shape=(6,)), layers.Dense(8, activation="relu"), layers.Dense(1)])
        model.compile(optimizer="sgd", loss="mse")
        for start in range(0, 64, 16):
            model.train_on_batch(x[start : start + 16], y[start : start + 16])
        model.test_on_batch(x[:32], y[:32])
        model.predict_on_batch(x[:8])
        """,
    # Metrics compiled: [loss, *metrics]; Keras resets them at every call, reset_metrics() changes nothing.
    "metrics_and_return_dict": """\
        model = keras.Sequential([keras.Input(shape=(6,)), layers.Dense(8, activation="tanh"), layers.Dense(1, activation="sigmoid")])
        model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy", keras.metrics.AUC()])
        for epoch in range(3):
            for start in range(0, 64, 16):
                model.train_on_batch(x[start : start + 16], y[start : start + 16])
            model.reset_metrics()
            model.test_on_batch(x, y, return_dict=True)
        model.train_on_batch(x[:16], y[:16], return_dict=True)
        """,
    # A GAN-style loop: two models trained in turns, each with its own optimizer (and its own generated function).
    "two_models_alternating": """\
        critic = keras.Sequential([keras.Input(shape=(6,)), layers.Dense(4, activation="relu"), layers.Dense(1, activation="sigmoid")])
        critic.compile(optimizer=keras.optimizers.Adam(0.01), loss="binary_crossentropy")
        encoder = keras.Sequential([keras.Input(shape=(6,)), layers.Dense(3, activation="softmax")])
        encoder.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["categorical_accuracy"])
        labels = keras.utils.to_categorical((x[:, 0] > 0).astype("int64") + (x[:, 1] > 0), 3)
        for start in range(0, 64, 16):
            critic.train_on_batch(x[start : start + 16], y[start : start + 16])
            encoder.train_on_batch(x[start : start + 16], labels[start : start + 16])
        """,
}


@pytest.mark.parametrize("name", list(CASES))
def test_on_batch_parity(name, tmp_path):
    from k2t.parity.on_batch import on_batch_parity

    report = on_batch_parity(DATA + textwrap.dedent(CASES[name]), tmp_path / "case.py")
    assert not report.diagnostics, report.diagnostics
    details = f"{report.failures}\nkeras: {report.keras_results}\ntorch: {report.torch_results}"
    assert report.ok, details


# The classic Keras GAN loop: the discriminator frozen after its compile, inside the combined model. Keras 3
# reads `trainable` when train_on_batch first runs, so the discriminator's own train_on_batch updates nothing
# (its optimizer has no variables: a no-op), as the translation's frozen parameters give no gradient.
GAN = """\
import numpy as np
import keras
from keras import layers

rng = np.random.RandomState(0)
real = rng.normal(loc=2.0, size=(64, 2)).astype("float32")
keras.utils.set_random_seed(0)

generator = keras.Sequential([keras.Input(shape=(3,)), layers.Dense(8, activation="relu"), layers.Dense(2)])
discriminator = keras.Sequential([keras.Input(shape=(2,)), layers.Dense(8, activation="relu"), layers.Dense(1, activation="sigmoid")])
discriminator.compile(optimizer=keras.optimizers.Adam(0.001), loss="binary_crossentropy", metrics=["accuracy"])
discriminator.trainable = False
gan = keras.Sequential([generator, discriminator])
gan.compile(optimizer=keras.optimizers.Adam(0.001), loss="binary_crossentropy")

for step in range(4):
    noise = rng.normal(size=(16, 3)).astype("float32")
    fake = generator.predict_on_batch(noise)
    batch = np.concatenate([real[step * 16 : (step + 1) * 16], fake])
    labels = np.concatenate([np.ones((16, 1)), np.zeros((16, 1))]).astype("float32")
    d_loss, d_acc = discriminator.train_on_batch(batch, labels)
    g_loss = gan.train_on_batch(noise, np.ones((16, 1), dtype="float32"))
"""


def test_gan_loop_with_frozen_discriminator(tmp_path):
    from k2t.parity.on_batch import on_batch_parity

    report = on_batch_parity(GAN, tmp_path / "gan.py")
    assert not report.diagnostics, report.diagnostics
    assert [kind for kind, _ in report.torch_results] == ["predict_on_batch", "train_on_batch", "train_on_batch"] * 4
    assert report.ok, f"{report.failures}\nkeras: {report.keras_results}\ntorch: {report.torch_results}"
