"""Exact parity for models built from layers held in variables, and for frozen layers (transfer learning)."""

import textwrap
from pathlib import Path

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
y = (x.sum(1) > 0).astype("float32")
keras.utils.set_random_seed(0)
"""


def case(body: str) -> str:
    return DATA + textwrap.dedent(body)


CASES = {
    # A layer list in a variable, concatenated with layers written in the call.
    "list_concatenated": """\
        hidden = [layers.Dense(16, activation="relu"), layers.Dense(8, activation="relu")]
        model = keras.Sequential([keras.Input(shape=(8,))] + hidden + [layers.Dense(1, activation="sigmoid")])
        model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
        model.fit(x, y, batch_size=16, epochs=3, verbose=0)
        """,
    "list_comprehension": """\
        sizes = (16, 12, 8)
        hidden = [layers.Dense(units, activation="tanh") for units in sizes]
        model = keras.Sequential([keras.Input(shape=(8,))] + hidden + [layers.Dense(1, activation="sigmoid")])
        model.compile(optimizer="sgd", loss="binary_crossentropy")
        model.fit(x, y, batch_size=16, epochs=3, verbose=0)
        """,
    # A list built by appending in a loop over known sizes, the Input included, then Sequential(list).
    "list_appended_in_loop": """\
        stack = [keras.Input(shape=(8,))]
        for units in (16, 8):
            stack.append(layers.Dense(units, activation="relu"))
            stack.append(layers.BatchNormalization())
        stack.append(layers.Dense(1, activation="sigmoid"))
        model = keras.Sequential(stack)
        model.compile(optimizer="adam", loss="binary_crossentropy")
        model.fit(x, y, batch_size=16, epochs=3, verbose=0)
        """,
    # model.add() of a layer made earlier.
    "add_layer_variable": """\
        encoder = layers.Dense(12, activation="relu")
        model = keras.Sequential([keras.Input(shape=(8,))])
        model.add(encoder)
        model.add(layers.Dense(1, activation="sigmoid"))
        model.compile(optimizer="adam", loss="binary_crossentropy")
        model.fit(x, y, batch_size=16, epochs=3, verbose=0)
        """,
    # Freezing through every spelling: model.layers[i], get_layer by Keras's name and by name=, a layer variable.
    "freeze_layers": """\
        first = layers.Dense(16, activation="relu")
        model = keras.Sequential([
            keras.Input(shape=(8,)),
            first,
            layers.Dense(12, activation="relu"),
            layers.Dense(8, activation="relu", name="features"),
            layers.Dense(1, activation="sigmoid"),
        ])
        first.trainable = False
        model.layers[1].trainable = False
        model.get_layer("features").trainable = False
        model.get_layer("dense_1").trainable = True
        model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
        model.fit(x, y, batch_size=16, epochs=3, verbose=0)
        """,
    # Transfer learning: a base with its own Input (and a BatchNormalization, which frozen runs in inference
    # mode) frozen whole, under a head that takes its input shape from the base.
    "frozen_base_with_batch_norm": """\
        base = keras.Sequential([
            keras.Input(shape=(8,)),
            layers.Dense(16, activation="relu"),
            layers.BatchNormalization(),
            layers.Dense(8, activation="relu"),
        ])
        base.trainable = False
        model = keras.Sequential([base, layers.Dense(1, activation="sigmoid")])
        model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
        model.fit(x, y, batch_size=16, epochs=3, verbose=0)
        """,
    # Some layers of a Functional base frozen by a loop over a slice; the BatchNormalization among them.
    "frozen_slice_of_functional_base": """\
        inputs = keras.Input(shape=(8,))
        h = layers.Dense(16, activation="relu")(inputs)
        h = layers.BatchNormalization()(h)
        h = layers.Dense(8, activation="relu")(h)
        base = keras.Model(inputs, h)
        for layer in base.layers[:3]:
            layer.trainable = False
        model = keras.Sequential([base, layers.Dense(1, activation="sigmoid")])
        model.compile(optimizer="rmsprop", loss="binary_crossentropy")
        model.fit(x, y, batch_size=16, epochs=3, verbose=0)
        """,
    # TensorFlow's Keras skips `base.trainable = True` while base's own flag is True: its layers frozen one by
    # one stay frozen.
    "unfreezing_a_model_never_frozen_changes_nothing": """\
        base = keras.Sequential([keras.Input(shape=(8,)), layers.Dense(16, activation="relu"), layers.Dense(8, activation="relu")])
        for layer in base.layers:
            layer.trainable = False
        base.trainable = True
        model = keras.Sequential([base, layers.Dense(8, activation="relu"), layers.Dense(1, activation="sigmoid")])
        model.compile(optimizer="adam", loss="binary_crossentropy")
        model.fit(x, y, batch_size=16, epochs=3, verbose=0)
        """,
}


@pytest.mark.parametrize("name", list(CASES))
def test_model_api(name, tmp_path):
    assert_parity(case(CASES[name]), tmp_path)


TRANSFER_LEARNING = Path(__file__).resolve().parent.parent / "fixtures" / "transfer_learning_freeze" / "input.py"


@pytest.mark.parametrize(
    "fit_index",
    [
        pytest.param(1, id="head_on_partly_frozen_base"),  # frozen Dense and BatchNormalization (inference mode)
        pytest.param(2, id="fine_tuning_after_unfreezing"),  # the base trainable again, the head's hidden layer frozen
    ],
)
def test_transfer_learning_fixture(fit_index, tmp_path):
    """The fixture's fits after the pretraining, each from the same weights on both sides."""
    from k2t.parity import exact_parity

    source = TRANSFER_LEARNING.read_text(encoding="utf-8")
    script = tmp_path / "input.py"
    script.write_text(source, encoding="utf-8")
    report = exact_parity(source, epochs=3, path=script, fit_index=fit_index)
    assert report.error is None, report.error
    assert report.ok, "\n".join(report.failures) + f"\nkeras: {report.keras_history}\ntorch: {report.torch_history}"
    assert list(report.torch_history) == list(report.keras_history)
