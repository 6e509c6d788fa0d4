"""Follow-on diagnostics (issue 16): after one construct k2t cannot translate, the lines that only use
what it made are marked in the output but reported once, at the root cause; other untranslated
constructs after it are still reported."""

import textwrap

import k2t

ROOT_CAUSE = """\
import numpy as np
import tensorflow as tf
from tensorflow import keras
from tensorflow.keras import layers

x = np.random.rand(32, 8).astype("float32")
y = np.random.rand(32, 1).astype("float32")

inputs = keras.Input(shape=(8,))
h = layers.Dense(16, activation="relu")(inputs)
h = tf.some_unknown_op(h)
h = layers.Dense(16, activation="relu")(h)
outputs = layers.Dense(1)(h)
model = keras.Model(inputs, outputs)
model.compile(optimizer=keras.optimizers.RMSprop(1e-3), loss="mse")
history = model.fit(x, y, epochs=1)
print(history.history["loss"])
"""


def _messages(source: str) -> list[str]:
    result = k2t.convert_source(source, "train.py")
    return [f"{d.line}: {d.code} {d.message}" for d in result.diagnostics]


def test_the_root_cause_is_reported_once_and_names_what_follows():
    result = k2t.convert_source(ROOT_CAUSE, "train.py")
    [diagnostic] = result.diagnostics
    assert (diagnostic.line, diagnostic.code) == (11, "K2T150")
    # An op on a Keras tensor outside the vocabulary: the model it is in stays as written, reported once.
    assert "`tensorflow.some_unknown_op` is not in k2t's op vocabulary" in diagnostic.message
    lines = result.output.splitlines()
    for statement in ('h = layers.Dense(16, activation="relu")(h)', "outputs = layers.Dense(1)(h)", "model = keras.Model(", "model.compile(", "history = model.fit("):
        assert any(line.startswith(statement) for line in lines), statement
    assert sum("TODO(k2t)" in line for line in lines) == 1
    # What fit returned is data, not a Keras object: the print after it is ordinary code.
    index = lines.index('print(history.history["loss"])')
    assert "TODO" not in lines[index - 1]


def test_an_untranslated_construct_of_its_own_after_the_root_is_still_reported():
    source = ROOT_CAUSE + textwrap.dedent(
        """\
        other = keras.Sequential([keras.Input(shape=(8,)), layers.ActivityRegularization(l1=0.1)])
        """
    )
    messages = _messages(source)
    assert len(messages) == 2
    assert messages[0].startswith("11: K2T150") and messages[1].startswith("18: K2T101")


def test_a_name_the_root_cause_did_not_bind_does_not_follow():
    # The op's result goes to `g`, never used again: the model is built from `h`, which it did not touch.
    source = ROOT_CAUSE.replace("h = tf.some_unknown_op(h)\n", "g = tf.some_unknown_op(h)\n")
    result = k2t.convert_source(source, "train.py")
    assert {d.line for d in result.diagnostics} == {11}
    assert "follows from line" not in result.output
    assert "class Net(nn.Module)" in result.output  # the model itself converts
