"""Exact parity of a keras.Model subclass in keras.io's VAE form (issue 12): models passed to __init__ and called by
its train_step (``z_mean, z_log_var = self.encoder(data)``), the loss written with TensorFlow / Keras ops
(``tf.reduce_mean``, ``keras.losses.binary_crossentropy``, ``tf.exp``), Mean trackers, and ``fit(x)`` without
targets, where Keras hands the step the batch of x alone. The sampling of the real VAE is left out: random draws
cannot match number for number."""

import pytest
from conftest import requires_keras, requires_torch

pytestmark = [requires_torch, requires_keras, pytest.mark.parity]

VAE_LIKE = """\
import numpy as np
import tensorflow as tf
import keras
from keras import layers

keras.utils.set_random_seed(0)
rng = np.random.RandomState(0)
images = rng.uniform(size=(64, 6, 6, 1)).astype("float32")

encoder_inputs = keras.Input(shape=(6, 6, 1))
x = layers.Flatten()(encoder_inputs)
x = layers.Dense(8, activation="relu")(x)
z_mean = layers.Dense(2, name="z_mean")(x)
z_log_var = layers.Dense(2, name="z_log_var")(x)
encoder = keras.Model(encoder_inputs, [z_mean, z_log_var], name="encoder")

latent_inputs = keras.Input(shape=(2,))
x = layers.Dense(36, activation="sigmoid")(latent_inputs)
decoder_outputs = layers.Reshape((6, 6, 1))(x)
decoder = keras.Model(latent_inputs, decoder_outputs, name="decoder")


class VAE(keras.Model):
    def __init__(self, encoder, decoder, **kwargs):
        super().__init__(**kwargs)
        self.encoder = encoder
        self.decoder = decoder
        self.total_loss_tracker = keras.metrics.Mean(name="total_loss")
        self.reconstruction_loss_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.kl_loss_tracker = keras.metrics.Mean(name="kl_loss")

    @property
    def metrics(self):
        return [self.total_loss_tracker, self.reconstruction_loss_tracker, self.kl_loss_tracker]

    def train_step(self, data):
        with tf.GradientTape() as tape:
            z_mean, z_log_var = self.encoder(data)
            reconstruction = self.decoder(z_mean)
            reconstruction_loss = tf.reduce_mean(
                tf.reduce_sum(keras.losses.binary_crossentropy(data, reconstruction), axis=(1, 2))
            )
            kl_loss = -0.5 * (1 + z_log_var - tf.square(z_mean) - tf.exp(z_log_var))
            kl_loss = tf.reduce_mean(tf.reduce_sum(kl_loss, axis=1))
            total_loss = reconstruction_loss + kl_loss
        grads = tape.gradient(total_loss, self.trainable_weights)
        self.optimizer.apply_gradients(zip(grads, self.trainable_weights))
        self.total_loss_tracker.update_state(total_loss)
        self.reconstruction_loss_tracker.update_state(reconstruction_loss)
        self.kl_loss_tracker.update_state(kl_loss)
        return {
            "loss": self.total_loss_tracker.result(),
            "reconstruction_loss": self.reconstruction_loss_tracker.result(),
            "kl_loss": self.kl_loss_tracker.result(),
        }

    def call(self, x):
        z_mean, z_log_var = self.encoder(x)
        return self.decoder(z_mean)


vae = VAE(encoder, decoder)
vae.compile(optimizer=keras.optimizers.Adam())
history = vae.fit(images, epochs=3, batch_size=16, verbose=0)
"""


def test_the_keras_io_vae_step_without_sampling(tmp_path):
    from k2t.parity import exact_parity

    script = tmp_path / "input.py"
    script.write_text(VAE_LIKE, encoding="utf-8")
    report = exact_parity(VAE_LIKE, epochs=3, path=script)
    assert report.error is None, report.error
    details = "\n".join(report.failures) + f"\nkeras: {report.keras_history}\ntorch: {report.torch_history}"
    assert report.ok, details
    assert list(report.torch_history) == list(report.keras_history) == ["kl_loss", "loss", "reconstruction_loss"]
    assert all(len(values) == 3 for values in report.torch_history.values()), details
