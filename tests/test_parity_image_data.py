"""End-to-end parity of training on ImageDataGenerator batches (issue 13): a small CNN trained
with Keras 3 on ``datagen.flow(...)`` and the same script converted by k2t, from the same initial
weights (k2t.weights), give the same history, evaluation and predictions. Rescale only and no
shuffling: the batches are deterministic (tests/test_image_data.py checks the random parts)."""

import textwrap

import numpy as np
import pytest
from conftest import requires_keras, requires_torch

pytestmark = [requires_torch, requires_keras, pytest.mark.parity]

RTOL = 1e-4

PRELUDE = """
import numpy as np
import keras
from keras import layers
from keras.src.legacy.preprocessing.image import ImageDataGenerator  # Keras 3 keeps Keras 2's class here

keras.utils.set_random_seed(0)
x = (np.random.RandomState(1).rand(44, 8, 8, 3) * 255).astype("float32")
y = keras.utils.to_categorical((x[:, :4].mean(axis=(1, 2, 3)) > x[:, 4:].mean(axis=(1, 2, 3))).astype("int64"), 2)

model = keras.Sequential(
    [
        keras.Input((8, 8, 3)),
        layers.Conv2D(4, 3, activation="relu"),
        layers.MaxPooling2D(),
        layers.Flatten(),
        layers.Dense(2, activation="softmax"),
    ]
)
model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="categorical_crossentropy", metrics=["accuracy"])
datagen = ImageDataGenerator(rescale=1.0 / 255)
"""


def _run_both(keras_call: str, k2t_call: str, kind: str, tmp_path):
    """Run the call on both sides from the same weights; (Keras result, torch result)."""
    from k2t.parity.capture import capture_first, run_keras, run_torch
    from k2t.parity.instrument import convert
    from k2t.weights import transfer_weights

    conversion = convert(PRELUDE + textwrap.dedent(k2t_call), "case.py")
    assert conversion.output is not None and not conversion.diagnostics, conversion.diagnostics
    path = tmp_path / "case.py"
    kcap = capture_first(run_keras, PRELUDE + textwrap.dedent(keras_call), path, kind=kind)
    tcap = capture_first(run_torch, conversion, path, kind=kind)
    assert kcap is not None and tcap is not None
    transfer_weights(kcap.args[0], tcap.args[0], conversion.module_plan(type(tcap.args[0]).__name__))
    return kcap.function(*kcap.args, **kcap.kwargs), tcap.function(*tcap.args, **tcap.kwargs)


def test_fit_generator_on_flow_matches_keras_fit(tmp_path):
    # Batches of 8 from 44 images: a short last batch, which an average over batches would show.
    keras_history, torch_history = _run_both(
        "model.fit(datagen.flow(x, y, batch_size=8, shuffle=False), epochs=3, shuffle=False, verbose=0, validation_data=(x[:20], y[:20]))",
        "model.fit_generator(datagen.flow(x, y, batch_size=8, shuffle=False), epochs=3, shuffle=False, verbose=0, validation_data=(x[:20], y[:20]))",
        "fit",
        tmp_path,
    )
    assert list(torch_history.history) == list(keras_history.history)
    for key, values in keras_history.history.items():
        np.testing.assert_allclose(torch_history.history[key], values, rtol=RTOL, atol=1e-6, err_msg=key)


def test_evaluate_and_predict_on_flow_match_keras(tmp_path):
    call = "print(model.evaluate(datagen.flow(x, y, batch_size=16, shuffle=False), verbose=0))"
    keras_result, torch_result = _run_both(call, call, "evaluate", tmp_path)
    np.testing.assert_allclose(torch_result, keras_result, rtol=RTOL)
    call = "p = model.predict(datagen.flow(x, batch_size=16, shuffle=False), verbose=0)"
    keras_result, torch_result = _run_both(call, call, "predict", tmp_path)
    assert torch_result.shape == keras_result.shape == (44, 2)
    np.testing.assert_allclose(torch_result, keras_result, rtol=RTOL, atol=1e-6)
