"""Exact parity of training on text vectorized by the generated TextVectorization (issue 13): Keras
adapts its layer and maps it over a tf.data pipeline of in-memory strings, the conversion does the same
with the generated class over the generated ArrayDataset; from the same initial weights, the same
integer batches give the same histories."""

import textwrap

import numpy as np
import pytest
from conftest import requires_keras, requires_torch

pytestmark = [requires_torch, requires_keras, pytest.mark.parity]

RTOL = 1e-4

SCRIPT = """
import numpy as np
import tensorflow as tf
import keras
from keras import layers

rng = np.random.RandomState(5)
words = ["good", "bad", "fine", "poor", "the", "a", "film", "plot", "was", "very"]
texts = [" ".join(rng.choice(words, size=rng.randint(2, 9))).capitalize() + "." for _ in range(60)]
labels = np.array([float(("good" in t) or ("fine" in t)) for t in texts], dtype="float32")

vectorize_layer = layers.TextVectorization(max_tokens=9, output_sequence_length=6)
vectorize_layer.adapt(texts)

keras.utils.set_random_seed(0)
model = keras.Sequential(
    [
        keras.Input((6,), dtype="int64"),
        layers.Embedding(9, 4),
        layers.GlobalAveragePooling1D(),
        layers.Dense(1, activation="sigmoid"),
    ]
)
model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.5), loss="binary_crossentropy", metrics=["accuracy"])
"""


def _run_both(body: str, kind: str, tmp_path):
    """Run the script on both sides up to its first `kind` call, then that call from the same weights."""
    from k2t.parity.capture import capture_first, run_keras, run_torch
    from k2t.parity.instrument import convert
    from k2t.weights import transfer_weights

    source = SCRIPT + textwrap.dedent(body)
    conversion = convert(source, "case.py")
    assert conversion.output is not None and not conversion.diagnostics, conversion.diagnostics
    path = tmp_path / "case.py"
    kcap = capture_first(run_keras, source, path, kind=kind)
    tcap = capture_first(run_torch, conversion, path, kind=kind)
    assert kcap is not None and tcap is not None
    transfer_weights(kcap.args[0], tcap.args[0], conversion.module_plan(type(tcap.args[0]).__name__))
    return kcap.function(*kcap.args, **kcap.kwargs), tcap.function(*tcap.args, **tcap.kwargs)


def test_fit_on_a_dataset_vectorized_in_map(tmp_path):
    keras_history, torch_history = _run_both(
        """
        def vectorize_text(text, label):
            text = tf.expand_dims(text, -1)
            return vectorize_layer(text), label

        train_ds = tf.data.Dataset.from_tensor_slices((texts[:45], labels[:45])).batch(8).map(vectorize_text)
        val_ds = tf.data.Dataset.from_tensor_slices((texts[45:], labels[45:])).batch(8)
        val_ds = val_ds.map(lambda x, y: (vectorize_layer(x), y))
        model.fit(train_ds, epochs=3, validation_data=val_ds, verbose=0)
        """,
        "fit",
        tmp_path,
    )
    assert len(keras_history.history["val_loss"]) == 3
    assert list(torch_history.history) == list(keras_history.history)
    for key, values in keras_history.history.items():
        np.testing.assert_allclose(torch_history.history[key], values, rtol=RTOL, atol=1e-6, err_msg=key)


def test_fit_on_arrays_vectorized_at_once(tmp_path):
    keras_history, torch_history = _run_both(
        """
        sequences = vectorize_layer(texts)
        model.fit(sequences, labels, batch_size=10, epochs=2, shuffle=False, verbose=0)
        """,
        "fit",
        tmp_path,
    )
    for key, values in keras_history.history.items():
        np.testing.assert_allclose(torch_history.history[key], values, rtol=RTOL, atol=1e-6, err_msg=key)
