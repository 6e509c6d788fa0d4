"""``functools.partial`` of a Keras layer class (Géron's Hands-On Machine Learning builds its CNNs so):
``DefaultConv2D = partial(keras.layers.Conv2D, kernel_size=3, activation="relu", padding="SAME")``, then
``DefaultConv2D(filters=64)``. Each call is the class called with the partial's arguments first and the
call's own keywords over them, so the conversion must be the one of the same script with the calls written
out."""

from __future__ import annotations

import pytest

import k2t

PARTIAL = """\
import numpy as np
from functools import partial
from tensorflow import keras

DefaultConv2D = partial(keras.layers.Conv2D, kernel_size=3, activation="relu", padding="SAME")
model = keras.models.Sequential([
    DefaultConv2D(filters=32, kernel_size=7, input_shape=[28, 28, 1]),
    keras.layers.MaxPooling2D(pool_size=2),
    DefaultConv2D(filters=64),
    keras.layers.Flatten(),
    keras.layers.Dense(units=10, activation="softmax"),
])
model.compile(loss="sparse_categorical_crossentropy", optimizer="nadam", metrics=["accuracy"])
model.fit(np.zeros((8, 28, 28, 1)), np.zeros(8), epochs=1)
"""
WRITTEN_OUT = """\
import numpy as np
from tensorflow import keras

model = keras.models.Sequential([
    keras.layers.Conv2D(filters=32, kernel_size=7, input_shape=[28, 28, 1], activation="relu", padding="SAME"),
    keras.layers.MaxPooling2D(pool_size=2),
    keras.layers.Conv2D(filters=64, kernel_size=3, activation="relu", padding="SAME"),
    keras.layers.Flatten(),
    keras.layers.Dense(units=10, activation="softmax"),
])
model.compile(loss="sparse_categorical_crossentropy", optimizer="nadam", metrics=["accuracy"])
model.fit(np.zeros((8, 28, 28, 1)), np.zeros(8), epochs=1)
"""


def _body(output: str) -> str:
    """The output from its first class on: the generated code, without the script's import lines."""
    return output[output.index("class ") :]


def test_calls_of_a_partial_convert_as_the_calls_written_out() -> None:
    partial, written = k2t.convert_source(PARTIAL, "cnn.py"), k2t.convert_source(WRITTEN_OUT, "cnn.py")
    assert partial.diagnostics == written.diagnostics == ()
    assert _body(partial.output) == _body(written.output)
    assert 'nn.Conv2d(1, 32, 7, padding="same")' in partial.output
    assert 'nn.Conv2d(32, 64, 3, padding="same")' in partial.output


def test_the_partial_and_its_import_go_with_the_keras_code() -> None:
    output = k2t.convert_source(PARTIAL, "cnn.py").output
    assert "partial" not in output.replace("last partial batch", "")  # the docstring of fit says "partial batch"


@pytest.mark.parametrize(
    ("line", "why"),
    [
        pytest.param("DefaultConv2D = partial(keras.layers.Conv2D, *extra)", "*args k2t cannot follow", id="star"),
        pytest.param(
            "DefaultConv2D = partial(keras.layers.Conv2D, kernel_size=3)\nDefaultConv2D = None",
            "bound twice",
            id="bound-twice",
        ),
    ],
)
def test_a_partial_k2t_does_not_follow_stays_reported(line: str, why: str) -> None:
    source = PARTIAL.replace(
        'DefaultConv2D = partial(keras.layers.Conv2D, kernel_size=3, activation="relu", padding="SAME")',
        "extra = ()\n" + line,
    )
    result = k2t.convert_source(source, "cnn.py")
    assert not result.ok, why
