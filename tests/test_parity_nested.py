"""Exact parity for models used as layers of other models (Sequential in Sequential, models called on tensors)."""

import textwrap

import pytest
from conftest import requires_keras, requires_torch
from parity_cases import assert_parity

pytestmark = [requires_torch, requires_keras, pytest.mark.parity]

DATA = """\
import numpy as np
import keras
from keras import layers

rng = np.random.RandomState(0)
x = rng.normal(size=(96, 8)).astype("float32")
xb = rng.normal(size=(96, 8)).astype("float32")
images = rng.normal(size=(96, 10, 10, 3)).astype("float32")
y = (x.sum(1) > 0).astype("float32")
y_cls = np.argmax(x[:, :3], axis=1)
FEATURES = x.shape[1]
keras.utils.set_random_seed(0)
"""


def case(body: str) -> str:
    return DATA + textwrap.dedent(body)


CASES = {
    # The inner model declares no input: it takes the outer model's.
    "sequential_in_sequential": """\
        encoder = keras.Sequential([layers.Dense(16, activation="relu"), layers.Dense(8, activation="tanh")], name="encoder")
        model = keras.Sequential([keras.Input(shape=(8,)), encoder, layers.Dense(1, activation="sigmoid")])
        model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
        model.fit(x, y, batch_size=16, epochs=3, verbose=0)
        """,
    # The final layer of the outer model is the inner model's softmax: Keras still trains on its logits.
    "classifier_head_last": """\
        head = keras.Sequential([layers.Dense(12, activation="relu"), layers.Dense(3, activation="softmax")])
        model = keras.Sequential([keras.Input(shape=(FEATURES,)), layers.Dense(16, activation="relu"), head])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        model.fit(x, y_cls, batch_size=16, epochs=3, verbose=0)
        """,
    "sigmoid_head_last": """\
        head = keras.Sequential([layers.Dense(4, activation="relu"), layers.Dense(1, activation="sigmoid")])
        model = keras.Sequential([keras.Input(shape=(8,)), layers.Dense(16, activation="relu"), head])
        model.compile(optimizer="sgd", loss="binary_crossentropy")
        model.fit(x, y, batch_size=16, epochs=3, verbose=0)
        """,
    # A Functional base called on a new Input, as in transfer learning, then a Sequential head.
    "functional_base": """\
        inp = keras.Input(shape=(8,))
        h = layers.Dense(16, activation="relu")(inp)
        h = layers.BatchNormalization()(h)
        base = keras.Model(inp, h, name="base")
        inputs = keras.Input(shape=(8,))
        features = base(inputs, training=False)
        features = layers.Dropout(0.2)(features)
        outputs = layers.Dense(1, activation="sigmoid")(features)
        model = keras.Model(inputs, outputs)
        model.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["accuracy"])
        model.fit(x, y, batch_size=16, epochs=3, verbose=0, validation_split=0.25)
        """,
    # One encoder applied to two inputs shares its weights (a siamese network).
    "siamese": """\
        encoder = keras.Sequential([keras.Input(shape=(8,)), layers.Dense(6, activation="relu")], name="encoder")
        left, right = keras.Input(shape=(8,)), keras.Input(shape=(8,))
        a = encoder(left)
        b = encoder(right)
        distance = layers.Subtract()([a, b])
        outputs = layers.Dense(1, activation="sigmoid")(distance)
        model = keras.Model([left, right], outputs)
        model.compile(optimizer="adam", loss="binary_crossentropy")
        model.fit([x, xb], y, batch_size=16, epochs=3, verbose=0)
        """,
    # A convolutional feature extractor nested in a Sequential classifier (layouts meet at the boundary).
    "conv_base": """\
        conv_base = keras.Sequential([
            layers.Conv2D(4, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(),
            layers.Conv2D(6, 3, activation="relu"),
        ])
        model = keras.Sequential([keras.Input(shape=(10, 10, 3)), conv_base, layers.Flatten(), layers.Dense(3, activation="softmax")])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        model.fit(images, y_cls, batch_size=16, epochs=3, verbose=0)
        """,
    # Nested twice, with a regularizer inside the innermost model.
    "two_levels": """\
        block = keras.Sequential([layers.Dense(8, activation="relu", kernel_regularizer="l2")])
        body = keras.Sequential([layers.Dense(8, activation="relu"), block])
        model = keras.Sequential([keras.Input(shape=(FEATURES,)), body, layers.Dense(1)])
        model.compile(optimizer="adam", loss="mse", metrics=["mae"])
        model.fit(x, y, batch_size=16, epochs=3, verbose=0)
        """,
    # One output of a model of several, by index: Keras 2's VAE decodes `encoder(inputs)[2]`.
    "indexed_output_inline": """\
        inp = keras.Input(shape=(8,))
        h = layers.Dense(8, activation="relu")(inp)
        encoder = keras.Model(inp, [layers.Dense(3)(h), layers.Dense(2)(h), layers.Dense(4, activation="tanh")(h)])
        inputs = keras.Input(shape=(8,))
        outputs = layers.Dense(1, activation="sigmoid")(encoder(inputs)[2])
        model = keras.Model(inputs, outputs)
        model.compile(optimizer="adam", loss="binary_crossentropy")
        model.fit(x, y, batch_size=16, epochs=3, verbose=0)
        """,
    # By a negative index kept in a variable, on a line of its own, and inside an op expression.
    "indexed_output_ops": """\
        inp = keras.Input(shape=(8,))
        h = layers.Dense(8, activation="relu")(inp)
        encoder = keras.Model(inp, [layers.Dense(3)(h), layers.Dense(3)(h)], name="encoder")
        LAST = -1
        inputs = keras.Input(shape=(8,))
        first = encoder(inputs)[0]
        mixed = first + keras.ops.tanh(encoder(inputs)[LAST]) * 0.5
        outputs = layers.Dense(1)(mixed)
        model = keras.Model(inputs, outputs)
        model.compile(optimizer="sgd", loss="mse")
        model.fit(x, y, batch_size=16, epochs=3, verbose=0)
        """,
}


@pytest.mark.parametrize("name", list(CASES))
def test_nested_model(name, tmp_path):
    report = assert_parity(case(CASES[name]), tmp_path)
    assert any("." in copied for note in report.notes for copied in note.split(", ") if note.startswith("weights copied")), report.notes
