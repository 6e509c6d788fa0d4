"""Exact parity of keras.Model subclasses whose __init__ takes a model of the script (issue 12: keras.io's
``VAE(encoder, decoder)``, ``Distiller(student, teacher)``, ``GAN(discriminator, generator, latent_dim)``): the
model passed in is one submodule of the subclass, shared with the script's variable as in Keras, so that training
the subclass trains it and ``backbone.predict`` afterwards sees the result."""

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
y = (x.sum(axis=1) > 0).astype("int32")
keras.utils.set_random_seed(0)

inputs = keras.Input(shape=(8,))
hidden = layers.Dense(16, activation="relu")(inputs)
backbone = keras.Model(inputs, hidden, name="backbone")
"""


def test_a_functional_backbone_passed_to_a_subclass_trains_with_it(tmp_path):
    source = DATA + textwrap.dedent(
        """\
        class Classifier(keras.Model):
            def __init__(self, backbone, num_classes, **kwargs):
                super().__init__(**kwargs)
                self.backbone = backbone
                self.dropout = layers.Dropout(0.2)
                self.head = layers.Dense(num_classes, activation="softmax")

            def call(self, inputs, training=False):
                features = self.backbone(inputs)
                features = self.dropout(features, training=training)
                return self.head(features)


        model = Classifier(backbone, 2)
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        history = model.fit(x, y, epochs=3, batch_size=32, verbose=0)
        features = backbone.predict(x[:4], verbose=0)
        """
    )
    assert_parity(source, tmp_path)


def test_a_model_kept_twice_is_one_shared_submodule(tmp_path):
    source = DATA + textwrap.dedent(
        """\
        class Twice(keras.Model):
            def __init__(self, block):
                super().__init__()
                self.first = block
                self.second = block
                self.out = layers.Dense(1)

            def call(self, inputs):
                return self.out(self.first(inputs) + self.second(inputs))


        model = Twice(backbone)
        model.compile(optimizer="sgd", loss="mse")
        history = model.fit(x, y.astype("float32"), epochs=3, batch_size=16, verbose=0)
        """
    )
    assert_parity(source, tmp_path)


def test_a_backbone_a_function_built_is_passed_under_the_callers_name(tmp_path):
    """`backbone = make_backbone()` (whose own name is the function's `model`), then `Twice(backbone)`, whose
    __init__ calls it `block`: the module is built with the caller's name, neither `model` nor `block` (both were
    undefined names in the converted script)."""
    source = DATA.replace(
        'inputs = keras.Input(shape=(8,))\nhidden = layers.Dense(16, activation="relu")(inputs)\nbackbone = keras.Model(inputs, hidden, name="backbone")\n',
        "",
    ) + textwrap.dedent(
        """\
        def make_backbone():
            model = keras.Sequential([keras.Input(shape=(8,)), layers.Dense(16, activation="relu")])
            return model


        class Twice(keras.Model):
            def __init__(self, block):
                super().__init__()
                self.first = block
                self.out = layers.Dense(1)

            def call(self, inputs):
                return self.out(self.first(inputs))


        backbone = make_backbone()
        model = Twice(backbone)
        model.compile(optimizer="sgd", loss="mse")
        history = model.fit(x, y.astype("float32"), epochs=3, batch_size=16, verbose=0)
        """
    )
    assert "backbone = keras.Model" not in source
    import k2t

    assert "model = Twice(backbone=backbone).to(device)" in k2t.convert_source(source, "case.py").output
    assert_parity(source, tmp_path)


def test_a_model_of_two_outputs_unpacked_in_call(tmp_path):
    # keras.io's VAE: `z_mean, z_log_var, z = self.encoder(x)` in call().
    source = DATA + textwrap.dedent(
        """\
        left = layers.Dense(4)(hidden)
        right = layers.Dense(4, activation="tanh")(hidden)
        encoder = keras.Model(inputs, [left, right], name="encoder")


        class Joined(keras.Model):
            def __init__(self, encoder, **kwargs):
                super().__init__(**kwargs)
                self.encoder = encoder
                self.head = layers.Dense(2, activation="softmax")

            def call(self, inputs):
                a, b = self.encoder(inputs)
                return self.head(a * b)


        model = Joined(encoder)
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        history = model.fit(x, y, epochs=3, batch_size=32, verbose=0)
        """
    )
    assert_parity(source, tmp_path)
