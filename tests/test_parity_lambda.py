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


def test_siamese_fixture_distance_lambda_on_two_towers_and_contrastive_loss(tmp_path):
    # fixtures/siamese_contrastive: one embedding network applied to two inputs (shared weights), a Lambda
    # of the euclidean distance on the list of both towers, and the keras.io contrastive loss closure
    # `loss(margin=margin)`: the same losses per epoch as Keras, validation included.
    from pathlib import Path

    source = (Path(__file__).resolve().parent.parent / "fixtures" / "siamese_contrastive" / "input.py").read_text(encoding="utf-8")
    report = assert_parity(source, tmp_path)
    assert "val_loss" in report.torch_history


def test_mnist_siamese_distance_with_its_output_shape_function(tmp_path):
    # classic keras's mnist_siamese: Lambda(euclidean_distance, output_shape=eucl_dist_output_shape) on two towers.
    source = case(
        """\
        def euclidean_distance(vects):
            a, b = vects
            sum_square = K.sum(K.square(a - b), axis=1, keepdims=True)
            return K.sqrt(K.maximum(sum_square, K.epsilon()))


        def eucl_dist_output_shape(shapes):
            shape1, shape2 = shapes
            return (shape1[0], 1)


        left = keras.Input(shape=(6, 4))
        right = keras.Input(shape=(6, 4))
        base = keras.Sequential([layers.Flatten(), layers.Dense(8, activation="relu")])
        distance = layers.Lambda(euclidean_distance, output_shape=eucl_dist_output_shape)([base(left), base(right)])
        model = keras.Model([left, right], layers.Dense(1, activation="sigmoid")(distance))
        model.compile(optimizer="adam", loss="binary_crossentropy")
        model.fit([x, x * 0.5], y, batch_size=16, epochs=3, verbose=0)
        """
    )
    assert_parity(source, tmp_path)


def test_lambda_on_a_list_of_tensors_gets_its_output_shape_derived_or_given():
    import k2t

    source = case(
        """\
        a = keras.Input(shape=(6, 4))
        b = keras.Input(shape=(6, 4))
        d = layers.Lambda(lambda ts: ops.repeat(ts[0] - ts[1], 2, axis=1))([a, b])
        out = layers.Dense(1)(layers.Flatten()(d))
        model = keras.Model([a, b], out)
        model.compile(optimizer="sgd", loss="mse")
        """
    )
    result = k2t.convert_source(source, filename="case.py")
    [diagnostic] = [d for d in result.diagnostics if d.code == "K2T103"]
    line = "d = layers.Lambda(lambda ts: ops.repeat(ts[0] - ts[1], 2, axis=1))([a, b])"
    assert "output_shape" in diagnostic.message and diagnostic.line == source.splitlines().index(line) + 1
    declared = k2t.convert_source(source.replace("axis=1))(", "axis=1), output_shape=(12, 4))("), filename="case.py")
    assert declared.ok and not declared.diagnostics, [d.format() for d in declared.diagnostics]
    assert "d = torch.repeat_interleave(a - b, 2, dim=1)" in declared.output
    derived = k2t.convert_source(source.replace("ops.repeat(ts[0] - ts[1], 2, axis=1)", "ts[0] - ts[1]"), filename="case.py")
    assert derived.ok and not derived.diagnostics, [d.format() for d in derived.diagnostics]
    assert "d = a - b\n" in derived.output and "nn.Linear(24, 1)" in derived.output
