"""Exact parity of Keras 2's VAE: a loss function that reads the model's inner tensors (z_mean, z_log_var).

Keras 2 built ``vae_loss(x, x_decoded_mean)`` on the graph at compile(), so the tensors it closes over are
the batch's. Keras 3 refuses a KerasTensor in a loss function; the Keras side here gives Keras 3 Keras 2's
meaning (``keras2_graph_losses``): while the loss runs, the names it reads hold the tensors a model of the
same layers computes on the batch. The conversion (k2t.translate.loss_closures) must give Keras's loss and
val_loss per epoch within the project's tolerance (1e-3 relative), held here to 1e-5.

Both sides draw the same deterministic "noise" in the sampling Lambda (a sine of the element index), so that
training is comparable step by step.
"""

import math
from pathlib import Path

import pytest
from conftest import requires_keras, requires_torch
from parity_cases import assert_converted_parity

pytestmark = [requires_torch, requires_keras, pytest.mark.parity]

EXACT = 1e-5
FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "keras2_vae_closure_loss" / "input.py"


@pytest.fixture
def same_noise(monkeypatch):
    """K.random_normal, torch.randn and torch.normal draw the same values: sin(0.7 i + 0.3) for element i."""
    import keras
    import tensorflow as tf
    import torch

    def keras_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
        dims = tf.stack([tf.cast(d, tf.int32) for d in shape])
        index = tf.cast(tf.range(tf.reduce_prod(dims)), tf.float32)
        return tf.reshape(tf.sin(0.7 * index + 0.3), dims) * stddev + mean

    def sine(shape, device):
        index = torch.arange(math.prod(shape), dtype=torch.float32)
        return torch.sin(0.7 * index + 0.3).reshape(shape).to(device or "cpu")

    def torch_randn(*size, device=None, dtype=None, **kwargs):
        shape = tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list, torch.Size)) else size
        return sine(shape, device)

    def torch_normal(mean, std, size, device=None, dtype=None, **kwargs):
        return sine(tuple(size), device) * std + mean

    monkeypatch.setattr(keras.random, "normal", keras_normal)
    monkeypatch.setattr(tf.keras.backend, "random_normal", keras_normal)  # Keras 2's K.random_normal
    monkeypatch.setattr(torch, "randn", torch_randn)
    monkeypatch.setattr(torch, "normal", torch_normal)


@pytest.fixture
def keras2_graph_losses(monkeypatch):
    """Keras 2's loss on the graph, given to Keras 3: a loss function whose globals hold Keras tensors of the
    model reads, while it runs, the values a model of the same layers (the same weights) computes on the batch."""
    import keras

    compile_model = keras.Model.compile
    compute_loss = keras.Model.compute_loss
    closures = {}  # id(model) -> (the loss's globals, the names of its tensors, a model computing them)

    def compile_keras2(self, optimizer="rmsprop", loss=None, **options):
        code = getattr(loss, "__code__", None)
        if code is not None:
            closed = {
                name: value
                for name, value in loss.__globals__.items()
                if name in code.co_names and isinstance(value, keras.KerasTensor)
            }
            if closed:
                inner = keras.Model(self.inputs, list(closed.values()))
                closures[id(self)] = (loss.__globals__, list(closed), inner)  # not an attribute: Keras tracks those
        return compile_model(self, optimizer=optimizer, loss=loss, **options)

    def compute_loss_keras2(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        if id(self) not in closures:
            return compute_loss(self, x, y, y_pred, sample_weight, training)
        scope, names, inner = closures[id(self)]
        values = inner(x, training=training)
        saved = {name: scope[name] for name in names}
        scope.update(zip(names, values))
        try:
            return compute_loss(self, x, y, y_pred, sample_weight, training)
        finally:
            scope.update(saved)

    monkeypatch.setattr(keras.Model, "compile", compile_keras2)
    monkeypatch.setattr(keras.Model, "compute_loss", compute_loss_keras2)


def _keras3_spelling(source: str) -> str:
    # Keras 3 keeps Keras 2's backend functions (K.random_normal, K.sum, ...) under tf.keras.backend only.
    return source.replace("from keras import backend as K", "from tensorflow.keras import backend as K")


def test_keras2_vae_fixture_loss_reads_the_encoder_tensors(tmp_path, same_noise, keras2_graph_losses):
    source = FIXTURE.read_text(encoding="utf-8")
    report = assert_converted_parity(source, _keras3_spelling(source), tmp_path)
    assert list(report.torch_history) == ["loss", "val_loss"]
    for key, diffs in report.rel_diffs.items():
        assert max(diffs) <= EXACT, f"{key}: {diffs}\nkeras {report.keras_history}\ntorch {report.torch_history}"


# nesar/AstroVAE's form: K.binary_crossentropy, a loss of one value per row (Keras averages it), Adam. (Its noise of
# shape=(m, n_z), the batch size itself, fails in Keras too on any other number of rows, as the layer-by-layer
# comparison runs the model on all of them: the batch's size here.)
PER_ROW_LOSS = """\
import numpy as np
from keras import backend as K
from keras.layers import Dense, Input, Lambda
from keras.models import Model

m = 16
n_z = 2

inputs = Input(shape=(24,))
h_q = Dense(12, activation="relu")(inputs)
mu = Dense(n_z, activation="linear")(h_q)
log_sigma = Dense(n_z, activation="linear")(h_q)


def sample_z(args):
    mu, log_sigma = args
    eps = K.random_normal(shape=(K.shape(mu)[0], n_z), mean=0.0, stddev=1.0)
    return mu + K.exp(log_sigma / 2) * eps


z = Lambda(sample_z)([mu, log_sigma])
decoder_hidden = Dense(12, activation="relu")
decoder_out = Dense(24, activation="sigmoid")
outputs = decoder_out(decoder_hidden(z))
vae = Model(inputs, outputs)


def vae_loss(y_true, y_pred):
    recon = K.sum(K.binary_crossentropy(y_true, y_pred), axis=1)
    kl = 0.5 * K.sum(K.exp(log_sigma) + K.square(mu) - 1.0 - log_sigma, axis=1)
    return recon + kl


rng = np.random.RandomState(3)
x = (rng.uniform(size=(96, 24)) > 0.5).astype("float32")
vae.compile(optimizer="adam", loss=vae_loss)
history = vae.fit(x[:64], x[:64], batch_size=m, epochs=3, validation_data=(x[64:], x[64:]), verbose=0)
"""


def test_keras2_vae_loss_of_one_value_per_row(tmp_path, same_noise, keras2_graph_losses):
    report = assert_converted_parity(PER_ROW_LOSS, _keras3_spelling(PER_ROW_LOSS), tmp_path)
    for key, diffs in report.rel_diffs.items():
        assert max(diffs) <= EXACT, f"{key}: {diffs}\nkeras {report.keras_history}\ntorch {report.torch_history}"
