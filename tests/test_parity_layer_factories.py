"""Exact parity against real Keras for TensorFlow's regression tutorial pattern: one function builds and
compiles a model around the normalization layer it receives, called with a one-feature layer
(``input_shape=[1]``) and with a layer sized by the data of its first fit. Both calls' models share one
generated class; each fit is compared with Keras's, weights transferred, every layer and epoch.
"""

import pytest
from conftest import requires_keras, requires_torch

import k2t

pytestmark = [requires_torch, requires_keras, pytest.mark.parity]

REGRESSION_TUTORIAL = """\
import numpy as np
import tensorflow as tf
from tensorflow import keras
from tensorflow.keras import layers

rng = np.random.default_rng(0)
train_features = rng.normal(loc=3.0, scale=2.0, size=(80, 5)).astype("float32")
train_labels = (train_features @ np.array([1.0, -2.0, 0.5, 0.0, 3.0]) + 1.0).astype("float32")
horsepower = train_features[:, :1]

normalizer = tf.keras.layers.Normalization(axis=-1)
normalizer.adapt(np.array(train_features))


def build_and_compile_model(norm):
    model = keras.Sequential([norm, layers.Dense(64, activation="relu"), layers.Dense(64, activation="relu"), layers.Dense(1)])
    model.compile(loss="mean_absolute_error", optimizer=tf.keras.optimizers.Adam(0.001))
    return model


horsepower_normalizer = layers.Normalization(input_shape=[1], axis=None)
horsepower_normalizer.adapt(horsepower)
dnn_horsepower_model = build_and_compile_model(horsepower_normalizer)
dnn_horsepower_model.fit(horsepower, train_labels, epochs=2, verbose=0)
dnn_model = build_and_compile_model(normalizer)
dnn_model.fit(train_features, train_labels, epochs=2, verbose=0)
"""


@pytest.mark.parametrize("fit_index", [0, 1], ids=["horsepower_model", "dnn_model"])
def test_each_call_of_a_model_factory_taking_a_layer_trains_as_keras(tmp_path, fit_index):
    from k2t.parity import exact_parity

    result = k2t.convert_source(REGRESSION_TUTORIAL, filename="case.py")
    assert result.diagnostics == ()
    assert "dnn_horsepower_model = build_and_compile_model(horsepower_normalizer, in_features=1)" in result.output
    report = exact_parity(REGRESSION_TUTORIAL, epochs=2, path=tmp_path / "case.py", fit_index=fit_index)
    assert report.error is None, report.error
    details = "\n".join(report.failures) + f"\nlayers: {report.layer_diffs}\nkeras: {report.keras_history}\ntorch: {report.torch_history}"
    assert report.ok, details
    assert list(report.torch_history) == list(report.keras_history) == ["loss"], details
    assert len(report.layer_diffs) >= 4, details  # the normalization and the three Dense layers, each compared


def test_a_one_dimensional_array_into_a_factory_model_sized_at_run_time_gets_its_feature_axis(tmp_path):
    """The tutorial's own `horsepower = np.array(train_features["Horsepower"])` is 1-D: Keras reads each value as a
    row of one feature (Functional._adjust_input_rank). The generated class's input size is a constructor
    parameter here (in_features=1 at this call), so fit gives a 1-D array its axis at run time."""
    from k2t.parity import exact_parity

    source = REGRESSION_TUTORIAL.replace("horsepower = train_features[:, :1]", "horsepower = train_features[:, 0]")
    result = k2t.convert_source(source, filename="case.py")
    assert result.diagnostics == ()
    report = exact_parity(source, epochs=2, path=tmp_path / "case.py", fit_index=0)
    assert report.error is None, report.error
    assert report.ok, "\n".join(report.failures) + f"\nkeras: {report.keras_history}\ntorch: {report.torch_history}"
