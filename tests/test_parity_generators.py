"""Exact parity of fit / evaluate / predict on batches a script makes itself (issue 13).

Keras 3 rejects ``fit_generator``: Keras runs each script's Keras 3 spelling
(``model.fit(gen, steps_per_epoch=...)``), k2t converts the Keras 2 spelling.
Each side runs its own script up to the call, in this process; the torch model
gets Keras's initial weights (k2t.weights); then both run the call as their
script wrote it, with fresh generators of their own, and give the same numbers.
The generators are deterministic and yield batches of different sizes, so that
an average over batches rather than rows would show.
"""

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

keras.utils.set_random_seed(0)
x = np.random.RandomState(1).rand(45, 4).astype("float32")
y = (x.sum(axis=1, keepdims=True) > 2).astype("float32")


def batches(x, y, size):
    # A last batch of 45 % size rows in every pass: batches of different sizes.
    while True:
        for start in range(0, len(x), size):
            yield x[start : start + size], y[start : start + size]


class Rows(keras.utils.Sequence):
    def __init__(self, x, y, size):
        super().__init__()
        self.x, self.y, self.size = x, y, size
        self.epochs_ended = 0

    def __len__(self):
        return int(np.ceil(len(self.x) / self.size))

    def __getitem__(self, index):
        # on_epoch_end reverses the rows: the batches of epoch 2 differ from epoch 1's.
        rows = slice(index * self.size, (index + 1) * self.size)
        return self.x[rows], self.y[rows]

    def on_epoch_end(self):
        self.epochs_ended += 1
        self.x, self.y = self.x[::-1].copy(), self.y[::-1].copy()


model = keras.Sequential([keras.Input((4,)), layers.Dense(6, activation="tanh"), layers.Dense(1, activation="sigmoid")])
model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.3, momentum=0.5), loss="binary_crossentropy", metrics=["accuracy", "mae"])
"""


def _run_both(keras_call: str, k2t_call: str, kind: str, tmp_path):
    """Run the call on both sides from the same weights; (Keras result, torch result, torch call arguments)."""
    from k2t.parity.capture import capture_first, run_keras, run_torch
    from k2t.parity.instrument import convert
    from k2t.weights import transfer_weights

    keras_source = PRELUDE + textwrap.dedent(keras_call)
    k2t_source = PRELUDE + textwrap.dedent(k2t_call)
    conversion = convert(k2t_source, "case.py")
    assert conversion.output is not None and not conversion.diagnostics, conversion.diagnostics
    path = tmp_path / "case.py"
    kcap = capture_first(run_keras, keras_source, path, kind=kind)
    tcap = capture_first(run_torch, conversion, path, kind=kind)
    assert kcap is not None and tcap is not None
    kmodel, tmodel = kcap.args[0], tcap.args[0]
    transfer_weights(kmodel, tmodel, conversion.module_plan(type(tmodel).__name__))
    keras_result = kcap.function(*kcap.args, **kcap.kwargs)
    torch_result = tcap.function(*tcap.args, **tcap.kwargs)
    return keras_result, torch_result, tcap


def _assert_histories(keras_history, torch_history):
    assert list(torch_history) == list(keras_history)
    for key, values in keras_history.items():
        np.testing.assert_allclose(torch_history[key], values, rtol=RTOL, atol=1e-6, err_msg=key)


def test_fit_generator_matches_keras_fit_on_a_generator_function(tmp_path):
    keras_history, torch_history, _ = _run_both(
        "model.fit(batches(x, y, 10), steps_per_epoch=7, epochs=3, verbose=0)",
        "model.fit_generator(batches(x, y, 10), steps_per_epoch=7, nb_epoch=3, verbose=0, workers=4, use_multiprocessing=True)",
        "fit",
        tmp_path,
    )
    assert len(keras_history.history["loss"]) == 3
    _assert_histories(keras_history.history, torch_history.history)


def test_keras3_fit_on_a_generator_with_a_validation_generator(tmp_path):
    # The validation generator yields all rows each time: Keras 3 (TensorFlow) yields its first two
    # batches again whenever it makes a new iterator and drops what its prefetch buffer held, so
    # the validation rows of a generator that moves on differ by timing; the conversion draws the
    # validation batches as Keras 2's fit_generator did, going on through the generator.
    call = "model.fit(batches(x, y, 10), steps_per_epoch=5, epochs=3, verbose=0, validation_data=batches(x[::-1], y[::-1], 45), validation_steps=2)"
    keras_history, torch_history, _ = _run_both(call, call, "fit", tmp_path)
    assert "val_loss" in keras_history.history
    _assert_histories(keras_history.history, torch_history.history)


def test_fit_generator_with_validation_generator_and_validation_arrays(tmp_path):
    keras_history, torch_history, _ = _run_both(
        "model.fit(batches(x, y, 8), steps_per_epoch=4, epochs=3, verbose=0, validation_data=batches(x, y, 45), validation_steps=2)",
        "model.fit_generator(batches(x, y, 8), 4, 3, 0, validation_data=batches(x, y, 45), validation_steps=2)",
        "fit",
        tmp_path,
    )
    _assert_histories(keras_history.history, torch_history.history)
    # Arrays as validation_data: Keras evaluates them in batches of 32.
    keras_history, torch_history, _ = _run_both(
        "model.fit(batches(x, y, 8), steps_per_epoch=4, epochs=3, verbose=0, validation_data=(x[:40], y[:40]))",
        "model.fit_generator(batches(x, y, 8), 4, 3, 0, validation_data=(x[:40], y[:40]))",
        "fit",
        tmp_path,
    )
    _assert_histories(keras_history.history, torch_history.history)


def test_sequence_subclass_with_on_epoch_end(tmp_path):
    # Without steps_per_epoch Keras reads len(seq) batches an epoch; shuffle=False keeps Keras's batch order fixed.
    keras_history, torch_history, tcap = _run_both(
        "model.fit(Rows(x, y, 10), epochs=3, verbose=0, shuffle=False)",
        "model.fit_generator(Rows(x, y, 10), epochs=3, verbose=0, shuffle=False)",
        "fit",
        tmp_path,
    )
    _assert_histories(keras_history.history, torch_history.history)
    sequence = tcap.args[2]
    assert type(sequence).__mro__[1:] == (object,)  # no Keras base left
    assert sequence.epochs_ended == 4  # as in Keras 3: once as fit starts (its iterator's reset), then after each epoch


def test_evaluate_generator_and_predict_generator(tmp_path):
    keras_result, torch_result, _ = _run_both(
        "print(model.evaluate(batches(x, y, 10), steps=5, verbose=0))",
        "print(model.evaluate_generator(batches(x, y, 10), steps=5))",
        "evaluate",
        tmp_path,
    )
    np.testing.assert_allclose(torch_result, keras_result, rtol=RTOL)
    keras_result, torch_result, _ = _run_both(
        "p = model.predict(Rows(x, y, 10), verbose=0)",
        "p = model.predict_generator(Rows(x, y, 10))",
        "predict",
        tmp_path,
    )
    assert torch_result.shape == keras_result.shape == (45, 1)
    np.testing.assert_allclose(torch_result, keras_result, rtol=RTOL, atol=1e-6)
