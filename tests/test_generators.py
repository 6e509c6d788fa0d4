"""Conversion of fit / evaluate / predict on a script's own generators and Sequence classes (issue 13),
and the diagnostics for what stays unsupported. Their numbers: test_parity_generators.py."""

import textwrap

import pytest
from unwrapped import unwrapped

import k2t

PRELUDE = """
import numpy as np
import keras
from keras import layers


def batches(x, y, size):
    while True:
        for start in range(0, len(x), size):
            yield x[start : start + size], y[start : start + size]


class Rows(keras.utils.Sequence):
    def __init__(self, x, y, size):
        self.x, self.y, self.size = x, y, size

    def __len__(self):
        return len(self.x) // self.size

    def __getitem__(self, index):
        return self.x[index * self.size : (index + 1) * self.size], self.y[index * self.size : (index + 1) * self.size]


x = np.zeros((40, 4), dtype="float32")
y = np.zeros((40, 1), dtype="float32")
model = keras.Sequential([keras.Input((4,)), layers.Dense(1)])
model.compile(optimizer="sgd", loss="mse")
"""


def convert(body: str):
    return k2t.convert_source(PRELUDE + textwrap.dedent(body), filename="case.py")


def test_fit_generator_becomes_fit_batches_keeping_the_generator():
    result = convert(
        """
        train_gen = batches(x, y, 8)
        history = model.fit_generator(train_gen, steps_per_epoch=5, nb_epoch=2, validation_data=batches(x, y, 16),
                                      validation_steps=2, workers=4, use_multiprocessing=True, max_queue_size=3)
        """
    )
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    # The generator function stays as the user wrote it; fetching options are dropped (same batches).
    assert "def batches(x, y, size):\n    while True:" in result.output
    assert unwrapped(
        "history = fit_batches(model, optimizer, train_gen, steps_per_epoch=5, epochs=2, "
        "validation_data=batches(x, y, 16), validation_steps=2)"
    ) in unwrapped(result.output)
    assert "workers" not in result.output.split("def fit_batches")[0].split("class EpochBatches")[-1]
    assert "def evaluate_batches(" in result.output  # the validation
    assert "import keras" not in result.output and "from keras" not in result.output


def test_keras3_fit_on_a_generator_call_and_on_a_sequence():
    result = convert(
        """
        model.fit(batches(x, y, 8), steps_per_epoch=5, epochs=2)
        model.fit(Rows(x, y, 8), epochs=2, shuffle=False)
        model.fit(x, y, epochs=1)
        """
    )
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    assert "fit_batches(model, optimizer, batches(x, y, 8), steps_per_epoch=5, epochs=2)" in result.output
    assert "fit_batches(model, optimizer, Rows(x, y, 8), epochs=2, shuffle=False)" in result.output
    assert "\nfit(model, optimizer, x, y, epochs=1)" in result.output  # arrays keep the array fit


def test_sequence_subclass_loses_its_keras_base_and_keeps_its_body():
    result = convert("model.fit(Rows(x, y, 8), epochs=1)\n")
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    assert "class Rows:\n    def __init__(self, x, y, size):" in result.output
    assert "import keras" not in result.output and "from keras" not in result.output
    namespace: dict = {}
    exec(compile(result.output.split("x = np.zeros")[0], "converted", "exec"), namespace)  # noqa: S102 - no NameError
    assert namespace["Rows"].__mro__[1:] == (object,)


def test_pydataset_subclass_spelled_through_its_import():
    source = PRELUDE.replace("class Rows(keras.utils.Sequence)", "class Rows(PyDataset)").replace(
        "from keras import layers", "from keras import layers\nfrom keras.utils import PyDataset"
    )
    result = k2t.convert_source(source + "model.fit(Rows(x, y, 8), epochs=1)\n", filename="case.py")
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    assert "class Rows:" in result.output and "import PyDataset" not in result.output


def test_evaluate_generator_and_predict_generator_are_silent_by_default_as_in_keras_2():
    result = convert(
        """
        score = model.evaluate_generator(batches(x, y, 8), steps=3)
        p = model.predict_generator(batches(x, y, 8), 2)
        """
    )
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    assert "score = evaluate_batches(model, batches(x, y, 8), steps=3, verbose=0)" in result.output
    assert "p = predict_batches(model, batches(x, y, 8), steps=2, verbose=0)" in result.output


@pytest.mark.parametrize(
    ("call", "message"),
    [
        pytest.param(
            "model.fit_generator(batches(x, y, 8), samples_per_epoch=40, nb_epoch=2)",
            "fit_generator(samples_per_epoch=...) counts samples (Keras 1)",
            id="samples_per_epoch",
        ),
        pytest.param(
            "model.fit_generator(batches(x, y, 8), 5, validation_data=batches(x, y, 8), nb_val_samples=16)",
            "fit_generator(nb_val_samples=...) counts samples (Keras 1)",
            id="nb_val_samples",
        ),
        pytest.param(
            "model.fit_generator(batches(x, y, 8), 5, class_weight={0: 1.0})",
            "fit_generator(class_weight=...) on batches from a generator or Sequence is not translated",
            id="class_weight",
        ),
    ],
)
def test_what_stays_unsupported_is_reported_where_it_is(call, message):
    result = convert(call + "\n")
    assert not result.ok
    assert any(d.message.startswith(message) and d.code == "K2T130" for d in result.diagnostics), [
        d.format() for d in result.diagnostics
    ]
