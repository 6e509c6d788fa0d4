"""Exact parity of Keras 2's CuDNNLSTM / CuDNNGRU, converted, against Keras 3 running the layer they compute.

Keras 3 has no CuDNN classes (it picks cuDNN itself inside LSTM / GRU), so it cannot run these scripts as
written: Keras runs each in the spelling that is the same computation, CuDNNLSTM as LSTM(activation="tanh",
recurrent_activation="sigmoid") and CuDNNGRU as GRU(..., reset_after=True), with the CuDNN call's arguments
(its positional ones by Keras 2's signature, here kernel_initializer and recurrent_initializer) and the
name Keras 2 gave the layer (``cu_dnnlstm``), which the converted module's attribute keeps.
"""

import pytest
from conftest import requires_keras, requires_torch

pytestmark = [requires_torch, requires_keras, pytest.mark.parity]

from parity_cases import assert_converted_parity

SCRIPT = """\
import numpy as np
import keras
import tensorflow as tf
from keras.models import Sequential
from keras.layers import Dense, Bidirectional, {imports}

rng = np.random.RandomState(0)
x = rng.rand(96, 7, 3).astype("float32")
y = (x[:, :, 0].mean(axis=1) > 0.5).astype("float32")
keras.utils.set_random_seed(0)
model = Sequential()
model.add(keras.Input(shape=(7, 3)))
model.add({first})
model.add({second})
model.add(Dense(1, activation="sigmoid"))
model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
model.fit(x, y, batch_size=16, epochs=3, verbose=0)
"""

CASES = [
    pytest.param(
        "CuDNNLSTM",
        'CuDNNLSTM(6, "glorot_uniform", "orthogonal", return_sequences=True)',
        "CuDNNLSTM(4, go_backwards=True)",
        'LSTM(6, kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", return_sequences=True, activation="tanh", recurrent_activation="sigmoid", name="cu_dnnlstm")',
        'LSTM(4, go_backwards=True, activation="tanh", recurrent_activation="sigmoid", name="cu_dnnlstm_1")',
        id="CuDNNLSTM",
    ),
    pytest.param(
        "CuDNNGRU",
        "Bidirectional(CuDNNGRU(5, return_sequences=True))",
        "tf.compat.v1.keras.layers.CuDNNGRU(4)",
        'Bidirectional(GRU(5, return_sequences=True, activation="tanh", recurrent_activation="sigmoid", reset_after=True))',
        'GRU(4, activation="tanh", recurrent_activation="sigmoid", reset_after=True, name="cu_dnngru")',
        id="CuDNNGRU-bidirectional-compat-v1",
    ),
]


@pytest.mark.parametrize(("cudnn", "first", "second", "first3", "second3"), CASES)
def test_cudnn_layer_matches_keras3_equivalent(cudnn, first, second, first3, second3, tmp_path):
    keras2 = SCRIPT.format(imports=cudnn, first=first, second=second)
    keras3 = SCRIPT.format(imports=cudnn.replace("CuDNN", ""), first=first3, second=second3)
    assert_converted_parity(keras2, keras3, tmp_path)
