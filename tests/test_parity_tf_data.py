"""Exact parity of fit / evaluate / predict on a tf.data pipeline over arrays (issue 13): Keras trains on
the script's tf.data.Dataset, the conversion on its ArrayDataset, from the same initial weights; without
shuffle the batches are the same, so the histories are. Batches of different sizes (45 rows in batches of
10 or 8) show an average over batches rather than rows."""

import textwrap

import numpy as np
import pytest
from conftest import requires_keras, requires_torch

pytestmark = [requires_torch, requires_keras, pytest.mark.parity]

RTOL = 1e-4

PRELUDE = """
import numpy as np
import tensorflow as tf
import keras
from keras import layers

keras.utils.set_random_seed(0)
x = (np.random.RandomState(1).rand(45, 4) * 255).astype("uint8")
y = (x.sum(axis=1) > 510).astype("int64")


def scale(image, label):
    return tf.cast(image, tf.float32) / 255.0, label


model = keras.Sequential([keras.Input((4,)), layers.Dense(6, activation="tanh"), layers.Dense(2, activation="softmax")])
model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.3, momentum=0.5), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
"""


def _run_both(body: str, kind: str, tmp_path):
    """Run the script on both sides up to its first `kind` call, then that call from the same weights."""
    from k2t.parity.capture import capture_first, run_keras, run_torch
    from k2t.parity.instrument import convert
    from k2t.weights import transfer_weights

    source = PRELUDE + textwrap.dedent(body)
    conversion = convert(source, "case.py")
    assert conversion.output is not None and not conversion.diagnostics, conversion.diagnostics
    path = tmp_path / "case.py"
    kcap = capture_first(run_keras, source, path, kind=kind)
    tcap = capture_first(run_torch, conversion, path, kind=kind)
    assert kcap is not None and tcap is not None
    transfer_weights(kcap.args[0], tcap.args[0], conversion.module_plan(type(tcap.args[0]).__name__))
    return kcap.function(*kcap.args, **kcap.kwargs), tcap.function(*tcap.args, **tcap.kwargs)


def _assert_histories(keras_history, torch_history):
    assert list(torch_history) == list(keras_history)
    for key, values in keras_history.items():
        np.testing.assert_allclose(torch_history[key], values, rtol=RTOL, atol=1e-6, err_msg=key)


def test_fit_on_a_pipeline_with_map_and_a_validation_dataset(tmp_path):
    keras_history, torch_history = _run_both(
        """
        train_ds = tf.data.Dataset.from_tensor_slices((x, y)).map(scale, num_parallel_calls=tf.data.AUTOTUNE).batch(10).prefetch(tf.data.AUTOTUNE)
        val_ds = tf.data.Dataset.from_tensor_slices((x[::-1].copy(), y[::-1].copy())).batch(16).map(lambda a, b: (tf.cast(a, tf.float32) / 255.0, b))
        model.fit(train_ds, epochs=3, validation_data=val_ds, verbose=0)
        """,
        "fit",
        tmp_path,
    )
    assert len(keras_history.history["val_loss"]) == 3
    _assert_histories(keras_history.history, torch_history.history)


def test_fit_on_a_repeated_pipeline_with_steps_per_epoch(tmp_path):
    # 6 batches a pass, 4 steps an epoch: Keras's iterator goes on across epochs through the repetitions.
    keras_history, torch_history = _run_both(
        """
        train_ds = tf.data.Dataset.from_tensor_slices((x, y)).map(scale).batch(8).cache().repeat()
        model.fit(train_ds, epochs=3, steps_per_epoch=4, verbose=0)
        """,
        "fit",
        tmp_path,
    )
    _assert_histories(keras_history.history, torch_history.history)


def test_fit_with_steps_per_epoch_on_a_finite_pipeline_starts_a_new_pass_when_one_ends(tmp_path):
    keras_history, torch_history = _run_both(
        """
        model.fit(tf.data.Dataset.from_tensor_slices((x, y)).map(scale).batch(8), epochs=4, steps_per_epoch=3, verbose=0)
        """,
        "fit",
        tmp_path,
    )
    _assert_histories(keras_history.history, torch_history.history)


def test_evaluate_and_predict_on_pipelines(tmp_path):
    keras_result, torch_result = _run_both(
        "print(model.evaluate(tf.data.Dataset.from_tensor_slices((x, y)).map(scale).batch(10), verbose=0))", "evaluate", tmp_path
    )
    np.testing.assert_allclose(torch_result, keras_result, rtol=RTOL)
    keras_result, torch_result = _run_both(
        "p = model.predict(tf.data.Dataset.from_tensor_slices((x, y)).batch(7).map(scale), verbose=0)",
        "predict",
        tmp_path,
    )
    assert torch_result.shape == keras_result.shape == (45, 2)
    np.testing.assert_allclose(torch_result, keras_result, rtol=RTOL, atol=1e-6)


def test_fit_evaluate_and_predict_on_from_generator_datasets(tmp_path):
    # The generator is called anew every epoch; its element count is unknown to both sides until it ends.
    generators = textwrap.dedent("""
        def rows():
            for i in range(len(x)):
                yield x[i], int(y[i])  # uint8 pixels and a Python int: converted to the signature's dtypes

        signature = (tf.TensorSpec(shape=(4,), dtype=tf.float32), tf.TensorSpec(shape=(), dtype=tf.int64))
        train_ds = tf.data.Dataset.from_generator(rows, output_signature=signature).batch(10).map(scale)
        val_ds = tf.data.Dataset.from_generator(rows, output_types=(tf.float32, tf.int64), output_shapes=((4,), ())).map(scale).batch(16)
        """)
    keras_history, torch_history = _run_both(generators + "model.fit(train_ds, epochs=3, validation_data=val_ds, verbose=0)", "fit", tmp_path)
    assert len(keras_history.history["loss"]) == 3
    _assert_histories(keras_history.history, torch_history.history)
    keras_result, torch_result = _run_both(generators + "print(model.evaluate(val_ds, verbose=0))", "evaluate", tmp_path)
    np.testing.assert_allclose(torch_result, keras_result, rtol=RTOL)
    keras_result, torch_result = _run_both(generators + "p = model.predict(train_ds, verbose=0)", "predict", tmp_path)
    assert torch_result.shape == keras_result.shape == (45, 2)
    np.testing.assert_allclose(torch_result, keras_result, rtol=RTOL, atol=1e-6)


def test_fit_on_an_endless_generator_with_steps_per_epoch_goes_on_across_epochs(tmp_path):
    keras_history, torch_history = _run_both(
        """
        def endless():
            start = 0
            while True:  # 8-row batches made by the generator itself, wrapping around the 45 rows
                rows = [(start + i) % len(x) for i in range(8)]
                yield x[rows], y[rows]
                start += 8

        batches = tf.data.Dataset.from_generator(endless, output_signature=(tf.TensorSpec((None, 4), tf.float32), tf.TensorSpec((None,), tf.int64)))
        model.fit(batches.map(scale), epochs=3, steps_per_epoch=4, verbose=0)
        """,
        "fit",
        tmp_path,
    )
    _assert_histories(keras_history.history, torch_history.history)
