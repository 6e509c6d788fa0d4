"""Layer objects shared by several models (k2t/translate/shared_layers.py) against real Keras.

A model built after training from the trained layers (a feature extractor, keras.io's
seq2seq encoder_model / decoder_model) holds the same weights in Keras: its predictions
after training must be those of Keras, not of freshly initialised layers.
"""

import textwrap

import pytest
from conftest import requires_keras, requires_torch
from split_runs import run_both

import k2t

pytestmark = [requires_torch, requires_keras, pytest.mark.parity]

FEATURES = textwrap.dedent(
    """\
    import numpy as np
    import keras

    rng = np.random.RandomState(0)
    x = rng.normal(size=(64, 4)).astype("float32")
    y = (x.sum(axis=1, keepdims=True) > 0).astype("float32")
    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape=(4,))
    hidden = keras.layers.Dense(6, activation="relu")
    h = hidden(inputs)
    outputs = keras.layers.Dense(1, activation="sigmoid")(h)
    model = keras.Model(inputs, outputs)
    model.compile(loss="binary_crossentropy", optimizer=keras.optimizers.SGD(0.5))
    feature_model = keras.Model(inputs, h)
    before = feature_model.predict(x, verbose=0)
    history = model.fit(x, y, epochs=3, batch_size=16, shuffle=False, verbose=0)
    features = feature_model.predict(x, verbose=0)
    """
)


def test_a_model_of_trained_layers_shares_their_weights():
    import numpy as np

    output = k2t.convert_source(FEATURES).output
    assert "feature_model = FeatureModel(dense=model.dense).to(device)" in output
    assert "self.dense = dense  # the layer of `model`, with its weights (Keras shares them)" in output
    keras_namespace, torch_namespace = run_both(FEATURES, output, "\nhistory = ")
    np.testing.assert_allclose(torch_namespace["history"].history["loss"], keras_namespace["history"].history["loss"], rtol=1e-5)
    np.testing.assert_allclose(torch_namespace["features"], keras_namespace["features"], atol=1e-5)
    assert np.abs(keras_namespace["features"] - keras_namespace["before"]).max() > 1e-2  # training did move them
