"""Exact parity of keras-team/keras's Antirectifier example layer as Keras 1 and 2 wrote it (issue 12): a custom
layer with no weights whose call() updates its input in place (``x -= K.mean(x, axis=1, keepdims=True)``) before
K.l2_normalize, K.relu and K.concatenate, in a Sequential: the Dense after it is sized from the shape derived
through those statements (compute_output_shape, several statements long, is not evaluated)."""

import pytest
from conftest import requires_keras, requires_torch
from parity_cases import assert_parity

pytestmark = [requires_torch, requires_keras, pytest.mark.parity]

ANTIRECTIFIER = """\
import numpy as np
import keras
from tensorflow.keras import backend as K
from keras.layers import Activation, Dense, Dropout, Layer
from keras.models import Sequential

rng = np.random.RandomState(0)
x = rng.normal(size=(96, 12)).astype("float32")
y = keras.utils.to_categorical(rng.randint(0, 3, size=96), 3)
keras.utils.set_random_seed(0)


class Antirectifier(Layer):
    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        assert len(shape) == 2  # only valid for 2D tensors
        shape[-1] *= 2
        return tuple(shape)

    def call(self, inputs):
        inputs -= K.mean(inputs, axis=1, keepdims=True)
        inputs = K.l2_normalize(inputs, axis=1)
        pos = K.relu(inputs)
        neg = K.relu(-inputs)
        return K.concatenate([pos, neg], axis=1)


model = Sequential()
model.add(Dense(16, input_shape=(12,)))
model.add(Antirectifier())
model.add(Dropout(0.1))
model.add(Dense(8))
model.add(Antirectifier())
model.add(Dense(3))
model.add(Activation("softmax"))
model.compile(loss="categorical_crossentropy", optimizer="rmsprop", metrics=["accuracy"])
history = model.fit(x, y, batch_size=32, epochs=3, verbose=0)
"""


def test_antirectifier_in_a_sequential(tmp_path):
    assert_parity(ANTIRECTIFIER, tmp_path)
