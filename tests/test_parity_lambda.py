"""Exact parity of Lambda layers against Keras: a scalar multiply in a Sequential, a mean over an axis
before a Dense in a Functional model (shape derived, and given), a Lambda over a conv feature map (its
axis numbers are Keras's channels-last ones), and a named top-level function."""

import textwrap

import pytest
from conftest import requires_keras, requires_torch
from parity_cases import assert_parity

pytestmark = [requires_torch, requires_keras, pytest.mark.parity]

DATA = """\
import numpy as np
import keras
from keras import layers
from keras import ops
from tensorflow.keras import backend as K

SCALE = 4.0
rng = np.random.RandomState(0)
x = rng.normal(size=(96, 6, 4)).astype("float32")
y = (x.sum(axis=(1, 2)) > 0).astype("float32")
images = rng.normal(size=(96, 8, 8, 2)).astype("float32")
keras.utils.set_random_seed(0)
"""


def case(body: str) -> str:
    return DATA + textwrap.dedent(body)


def test_scalar_multiply_in_a_sequential(tmp_path):
    source = case(
        """\
        model = keras.Sequential([
            keras.Input(shape=(6, 4)),
            layers.Flatten(),
            layers.Dense(8, activation="tanh"),
            layers.Lambda(lambda t: t * 2.0),
            layers.Dense(1, activation="sigmoid"),
        ])
        model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
        model.fit(x, y, batch_size=16, epochs=3, verbose=0)
        """
    )
    assert_parity(source, tmp_path)


@pytest.mark.parametrize("output_shape", ["", ", output_shape=(4,)"], ids=["derived", "given"])
def test_mean_over_an_axis_then_dense_in_a_functional_model(output_shape, tmp_path):
    source = case(
        f"""\
        inputs = keras.Input(shape=(6, 4))
        h = layers.Dense(5, activation="relu")(inputs)
        h = layers.Lambda(lambda t: K.mean(t, axis=1) / SCALE{output_shape.replace("(4,)", "(5,)")})(h)
        outputs = layers.Dense(1, activation="sigmoid")(h)
        model = keras.Model(inputs, outputs)
        model.compile(optimizer="adam", loss="binary_crossentropy")
        model.fit(x, y, batch_size=16, epochs=3, verbose=0)
        """
    )
    assert_parity(source, tmp_path)


def test_lambda_over_a_conv_feature_map_reads_keras_axes(tmp_path):
    source = case(
        """\
        model = keras.Sequential([
            keras.Input(shape=(8, 8, 2)),
            layers.Conv2D(3, 3, activation="relu"),
            layers.Lambda(lambda t: ops.max(t, axis=-1, keepdims=True) - ops.mean(t, axis=-1, keepdims=True)),
            layers.Flatten(),
            layers.Dense(1, activation="sigmoid"),
        ])
        model.compile(optimizer="adam", loss="binary_crossentropy")
        model.fit(images, y, batch_size=16, epochs=3, verbose=0)
        """
    )
    assert_parity(source, tmp_path)


def test_named_top_level_function(tmp_path):
    source = case(
        """\
        def soft_clip(t):
            return K.tanh(t / SCALE) * SCALE


        model = keras.Sequential([
            keras.Input(shape=(6, 4)),
            layers.Flatten(),
            layers.Dense(8),
            layers.Lambda(soft_clip),
            layers.Dense(1, activation="sigmoid"),
        ])
        model.compile(optimizer="sgd", loss="binary_crossentropy")
        model.fit(x, y, batch_size=16, epochs=3, verbose=0)
        """
    )
    assert_parity(source, tmp_path)
