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
    # A conditional GAN's discriminator: an image and its label, two Inputs, fed as a list (Brownlee's cGAN).
    "two_inputs": """\
        features = keras.Input(shape=(6,))
        label = keras.Input(shape=(1,))
        embedded = layers.Flatten()(layers.Embedding(3, 2)(label))
        merged = layers.Concatenate()([layers.Dense(4, activation="relu")(features), embedded])
        critic = keras.Model([features, label], layers.Dense(1, activation="sigmoid")(merged))
        critic.compile(optimizer=keras.optimizers.Adam(0.01), loss="binary_crossentropy", metrics=["accuracy"])
        labels = (x[:, :1] > 0).astype("int64") + (x[:, 1:2] > 0)
        for start in range(0, 64, 16):
            critic.train_on_batch([x[start : start + 16], labels[start : start + 16]], y[start : start + 16])
        critic.test_on_batch([x, labels], y)
        """,
}


@pytest.mark.parametrize("name", list(CASES))
def test_on_batch_parity(name, tmp_path):
    from k2t.parity.on_batch import on_batch_parity

    report = on_batch_parity(DATA + textwrap.dedent(CASES[name]), tmp_path / "case.py")
    assert not report.diagnostics, report.diagnostics
    details = f"{report.failures}\nkeras: {report.keras_results}\ntorch: {report.torch_results}"
    assert report.ok, details


# The classic Keras GAN loop: the discriminator frozen after its compile, inside the combined model. Keras 2
# fixed the trained weights at compile(), so the discriminator's own train_on_batch trains it; Keras 3 reads
# `trainable` when train_on_batch first runs and trains nothing there (it warns "The model does not have any
# trainable weights"). The conversion follows Keras 2 (k2t.translate.compile_time_trainable, K2T144), proven
# against Keras 3 running the same loop with the flag set around each step, as Keras 2 read it.
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
# Keras 3 spelling of what Keras 2 ran: the discriminator trainable for its own step, frozen for the combined one.
GAN_KERAS3 = GAN.replace(
    "    d_loss, d_acc = discriminator.train_on_batch(batch, labels)\n    g_loss = ",
    "    discriminator.trainable = True\n"
    "    d_loss, d_acc = discriminator.train_on_batch(batch, labels)\n"
    "    discriminator.trainable = False\n"
    "    g_loss = ",
)


def test_gan_loop_with_discriminator_frozen_after_its_compile_trains_it_as_keras_2(tmp_path):
    from k2t.parity.on_batch import on_batch_parity

    assert GAN_KERAS3 != GAN
    report = on_batch_parity(GAN, tmp_path / "gan.py", keras_source=GAN_KERAS3)
    [warning] = report.diagnostics
    assert "gan.py:12:1: K2T144 `discriminator.trainable = False`" in warning and "at line 21" in warning
    assert [kind for kind, _ in report.torch_results] == ["predict_on_batch", "train_on_batch", "train_on_batch"] * 4
    assert report.ok, f"{report.failures}\nkeras: {report.keras_results}\ntorch: {report.torch_results}"


def test_the_keras_3_run_of_the_keras_2_gan_trains_no_discriminator_weight(tmp_path):
    """The premise: Keras 3 running the Keras 2 loop as written leaves the discriminator where it started."""
    pytest.importorskip("tensorflow")
    import keras
    import numpy as np

    namespace: dict = {}
    source = GAN.replace("for step in range(4):", "before = [w.copy() for w in discriminator.get_weights()]\nfor step in range(4):")
    exec(compile(source, "gan.py", "exec"), namespace)  # noqa: S102 - the test's own script
    assert isinstance(namespace["discriminator"], keras.Model)
    for start, end in zip(namespace["before"], namespace["discriminator"].get_weights()):
        np.testing.assert_array_equal(start, end)


# Jason Brownlee's GAN tutorials (machinelearningmastery.com): each model made by a function, the combined one by
# `define_gan(g_model, d_model)`, which freezes the discriminator it receives and nests both models.
BROWNLEE_GAN = """\
import numpy as np
from keras.models import Sequential
from keras.layers import Dense

np.random.seed(1)


def define_discriminator(n_inputs=2):
    model = Sequential()
    model.add(Dense(25, activation="relu", input_dim=n_inputs))
    model.add(Dense(1, activation="sigmoid"))
    model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
    return model


def define_generator(latent_dim, n_outputs=2):
    model = Sequential()
    model.add(Dense(15, activation="relu", input_dim=latent_dim))
    model.add(Dense(n_outputs, activation="linear"))
    return model


def define_gan(generator, discriminator):
    discriminator.trainable = False
    model = Sequential()
    model.add(generator)
    model.add(discriminator)
    model.compile(loss="binary_crossentropy", optimizer="adam")
    return model


def generate_real_samples(n):
    X1 = np.random.rand(n) - 0.5
    X2 = X1 * X1
    return np.hstack((X1.reshape(n, 1), X2.reshape(n, 1))).astype("float32"), np.ones((n, 1))


def train(g_model, d_model, gan_model, latent_dim, n_epochs=3, n_batch=32):
    half_batch = int(n_batch / 2)
    for i in range(n_epochs):
        x_real, y_real = generate_real_samples(half_batch)
        x_input = np.random.randn(latent_dim * half_batch).reshape(half_batch, latent_dim).astype("float32")
        x_fake = g_model.predict_on_batch(x_input)
        d_model.train_on_batch(x_real, y_real)
        d_model.train_on_batch(x_fake, np.zeros((half_batch, 1)))
        x_gan = np.random.randn(latent_dim * n_batch).reshape(n_batch, latent_dim).astype("float32")
        gan_model.train_on_batch(x_gan, np.ones((n_batch, 1)))


latent_dim = 5
discriminator = define_discriminator()
generator = define_generator(latent_dim)
gan_model = define_gan(generator, discriminator)
train(generator, discriminator, gan_model, latent_dim)
"""
BROWNLEE_GAN_KERAS3 = BROWNLEE_GAN.replace(
    "        d_model.train_on_batch(x_real, y_real)\n",
    "        d_model.trainable = True\n        d_model.train_on_batch(x_real, y_real)\n",
).replace(
    "        gan_model.train_on_batch(",
    "        d_model.trainable = False\n        gan_model.train_on_batch(",
)


def test_gan_built_by_functions_trains_its_discriminator_as_keras_2(tmp_path):
    """The combined model nests the models under the names define_gan() receives them by (both factories name
    theirs `model`), and the discriminator trains in its own steps."""
    from k2t.parity.on_batch import on_batch_parity

    assert BROWNLEE_GAN_KERAS3.count("trainable") == 3
    report = on_batch_parity(BROWNLEE_GAN, tmp_path / "gan.py", keras_source=BROWNLEE_GAN_KERAS3)
    assert [d.split(": ", 1)[1][:6] for d in report.diagnostics] == ["K2T144"]
    assert "`d_model.train_on_batch()` at line 44" in report.diagnostics[0]
    kinds = ["predict_on_batch", "train_on_batch", "train_on_batch", "train_on_batch"]
    assert [kind for kind, _ in report.torch_results] == kinds * 3
    assert report.ok, f"{report.failures}\nkeras: {report.keras_results}\ntorch: {report.torch_results}"
