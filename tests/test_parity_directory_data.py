"""Exact parity of fit / evaluate / predict on image_dataset_from_directory (issue 13): Keras trains on its
tf.data pipeline over a folder of PNG files, the conversion on the generated ArrayDataset over the same
files, from the same initial weights. Without shuffle the batches hold the same images (resized to within
float32 rounding) in the same order, so the histories are the same."""

import textwrap

import numpy as np
import pytest
from conftest import requires_keras, requires_torch

pytestmark = [requires_torch, requires_keras, pytest.mark.parity]

RTOL = 1e-4

MODEL = """
import numpy as np
import tensorflow as tf
import keras
from keras import layers

keras.utils.set_random_seed(0)
model = keras.Sequential(
    [
        keras.Input((8, 8, 3)),
        layers.Rescaling(1.0 / 255),
        layers.Conv2D(4, 3, activation="relu"),
        layers.GlobalAveragePooling2D(),
        layers.Dense(3, activation="softmax"),
    ]
)
model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.5, momentum=0.5), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
"""


def _image_tree(root):
    """Three classes of PNG files of several sizes, each class of its own brightness."""
    from PIL import Image

    rng = np.random.RandomState(4)
    for label, class_name in enumerate(("a", "b", "c")):
        (root / class_name).mkdir(parents=True)
        for i in range(9):
            height, width = rng.randint(6, 20, 2)
            pixels = np.clip(rng.normal(60 + 70 * label, 50, (height, width, 3)), 0, 255).astype("uint8")
            Image.fromarray(pixels).save(root / class_name / f"{i}.png")
    return root


def _run_both(body: str, kind: str, tmp_path):
    """Run the script on both sides up to its first `kind` call, then that call from the same weights."""
    from k2t.parity.capture import capture_first, run_keras, run_torch
    from k2t.parity.instrument import convert
    from k2t.weights import transfer_weights

    root = _image_tree(tmp_path / "tree")
    source = MODEL + f"root = {str(root)!r}\n" + textwrap.dedent(body)
    conversion = convert(source, "case.py")
    assert conversion.output is not None and not conversion.diagnostics, conversion.diagnostics
    path = tmp_path / "case.py"
    kcap = capture_first(run_keras, source, path, kind=kind)
    tcap = capture_first(run_torch, conversion, path, kind=kind)
    assert kcap is not None and tcap is not None
    transfer_weights(kcap.args[0], tcap.args[0], conversion.module_plan(type(tcap.args[0]).__name__))
    return kcap.function(*kcap.args, **kcap.kwargs), tcap.function(*tcap.args, **tcap.kwargs)


def test_fit_on_a_directory_dataset_with_its_validation_subset(tmp_path):
    # 27 files: 21 for training in batches of 5 (the last one short), 6 for validation.
    keras_history, torch_history = _run_both(
        """
        train_ds, val_ds = keras.utils.image_dataset_from_directory(
            root, shuffle=False, validation_split=0.25, subset="both", image_size=(8, 8), batch_size=5
        )
        train_ds = train_ds.cache().prefetch(buffer_size=tf.data.AUTOTUNE)
        model.fit(train_ds, epochs=3, validation_data=val_ds, verbose=0)
        """,
        "fit",
        tmp_path,
    )
    assert len(keras_history.history["val_loss"]) == 3
    assert list(torch_history.history) == list(keras_history.history)
    for key, values in keras_history.history.items():
        np.testing.assert_allclose(torch_history.history[key], values, rtol=RTOL, atol=1e-6, err_msg=key)


def test_evaluate_and_predict_on_a_directory_dataset(tmp_path):
    body = """
    ds = keras.utils.image_dataset_from_directory(root, shuffle=False, image_size=(8, 8), batch_size=4)
    result = model.{call}(ds, verbose=0)
    """
    keras_result, torch_result = _run_both(body.format(call="evaluate"), "evaluate", tmp_path / "evaluate")
    np.testing.assert_allclose(torch_result, keras_result, rtol=RTOL)
    keras_result, torch_result = _run_both(body.format(call="predict"), "predict", tmp_path / "predict")
    assert torch_result.shape == keras_result.shape == (27, 3)
    np.testing.assert_allclose(torch_result, keras_result, rtol=RTOL, atol=1e-6)
