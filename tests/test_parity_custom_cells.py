"""Exact parity against real Keras for ``keras.layers.RNN(cell)`` over a cell class of the script's own
(k2t/translate/custom_cells.py): the Keras docs' MinimalRNNCell, and a two-state cell under go_backwards,
return_sequences, return_state and initial_state; initial_state of RNN over a built-in cell."""


import re

import pytest
from conftest import requires_keras, requires_torch
from parity_cases import assert_parity

import k2t

pytestmark = [requires_torch, requires_keras, pytest.mark.parity]

# keras.io's example of a custom cell (keras.layers.RNN's docstring).
MINIMAL_CELL = '''
class MinimalRNNCell(keras.layers.Layer):
    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.state_size = units

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), initializer="uniform", name="kernel")
        self.recurrent_kernel = self.add_weight(shape=(self.units, self.units), initializer="uniform", name="recurrent_kernel")
        self.built = True

    def call(self, inputs, states):
        prev_output = states[0]
        h = ops.matmul(inputs, self.kernel)
        output = h + ops.matmul(prev_output, self.recurrent_kernel)
        return output, [output]
'''

# Two states of different sizes, the second fed back through tanh: the states' order and sizes matter.
TWO_STATE_CELL = '''
class TwoStateCell(keras.layers.Layer):
    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.state_size = [units, 2]
        self.output_size = units

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), name="kernel")
        self.memory_kernel = self.add_weight(shape=(2, self.units), name="memory_kernel")
        self.summary = self.add_weight(shape=(self.units, 2), name="summary")

    def call(self, inputs, states):
        h = ops.tanh(ops.matmul(inputs, self.kernel) + states[0] + ops.matmul(states[1], self.memory_kernel))
        memory = ops.tanh(ops.matmul(h, self.summary))
        return h, [h, memory]
'''

SCRIPT = """\
import numpy as np
import keras
from keras import ops
{cell}

rng = np.random.RandomState(0)
x = rng.normal(size=(48, 5, 3)).astype("float32")
y = (x.sum(axis=(1, 2)) > 0).astype("float32")
keras.utils.set_random_seed(0)
{model}
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
history = model.fit(x, y, batch_size=16, epochs=3, verbose=0)
"""

MINIMAL_MODEL = """\
model = keras.Sequential([
    keras.Input(shape=(5, 3)),
    keras.layers.RNN(MinimalRNNCell(4)),
    keras.layers.Dense(1, activation="sigmoid"),
])"""

# go_backwards returns the outputs in the order it runs them; return_state returns [output, *states].
TWO_STATE_MODEL = """\
inputs = keras.Input(shape=(5, 3))
flat = keras.layers.Flatten()(inputs)
h0 = keras.layers.Dense(4)(flat)
memory0 = keras.layers.Dense(2)(flat)
rnn = keras.layers.RNN(TwoStateCell(4), return_sequences=True, return_state=True, go_backwards=True)
sequence, h, memory = rnn(inputs, initial_state=[h0, memory0])
merged = keras.layers.Concatenate()([keras.layers.Flatten()(sequence), h, memory])
model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(merged))"""


def test_minimal_rnn_cell_of_the_keras_docs(tmp_path):
    source = SCRIPT.format(cell=MINIMAL_CELL, model=MINIMAL_MODEL)
    output = k2t.convert_source(source).output
    assert "self.rnn = KerasRNN(MinimalRNNCell(4), state_sizes=[4])" in output
    assert "self.rnn.cell.build((None, 3))" in output
    assert "class MinimalRNNCell(nn.Module):" in output
    assert_parity(source, tmp_path)


def test_two_state_cell_backwards_with_sequences_and_states(tmp_path):
    assert_parity(SCRIPT.format(cell=TWO_STATE_CELL, model=TWO_STATE_MODEL), tmp_path)


def test_initial_state_of_rnn_over_a_built_in_cell(tmp_path):
    model = """\
inputs = keras.Input(shape=(5, 3))
start = keras.layers.Dense(4)(keras.layers.Flatten()(inputs))
out = keras.layers.RNN(keras.layers.GRUCell(4))(inputs, initial_state=[start])
model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(out))"""
    assert_parity(SCRIPT.format(cell="", model=model), tmp_path)


def test_stateful_custom_cell_is_a_located_diagnostic():
    model = MINIMAL_MODEL.replace("RNN(MinimalRNNCell(4))", "RNN(MinimalRNNCell(4), stateful=True)")
    source = SCRIPT.format(cell=MINIMAL_CELL, model=model)
    result = k2t.convert_source(source, "case.py")
    line = source.splitlines().index("    keras.layers.RNN(MinimalRNNCell(4), stateful=True),") + 1
    refused = [d for d in result.diagnostics if d.code != "K2T100"]  # K2T100: the cell class stays Keras's
    assert [(d.code, d.line, d.message) for d in refused] == [("K2T102", line, "RNN(MinimalRNNCell(...), stateful=True) is not translated")]




HELD_MODEL = "cell = MinimalRNNCell(4)\n" + MINIMAL_MODEL.replace("RNN(MinimalRNNCell(4))", "RNN(cell)")


def test_a_cell_held_in_a_variable_is_followed_to_its_construction():
    """The same conversion as the inline RNN(MinimalRNNCell(4)), whose parity the first test proves."""
    held = k2t.convert_source(SCRIPT.format(cell=MINIMAL_CELL, model=HELD_MODEL))
    assert not [d for d in held.diagnostics if d.code != "K2T100"]
    assert held.output == k2t.convert_source(SCRIPT.format(cell=MINIMAL_CELL, model=MINIMAL_MODEL)).output


# Each case: the model, and the line whose last name `cell` the diagnostic points at.
@pytest.mark.parametrize(
    ("model", "at"),
    [
        (HELD_MODEL + "\nprint(cell.units)", "print(cell.units)"),  # Keras's one object: the RNN's copy would differ
        (HELD_MODEL.replace("\n", "\ncell = make_cell()\n", 1), "cell = make_cell()"),
        (HELD_MODEL.replace("RNN(cell)", "RNN(cell, return_sequences=True), keras.layers.RNN(cell)"), "RNN(cell, return_sequences=True), keras.layers.RNN(cell),"),
    ],
    ids=["used", "rebound", "shared"],
)
def test_a_held_cell_read_elsewhere_is_a_located_diagnostic(model, at):
    source = SCRIPT.format(cell=MINIMAL_CELL + "\n\ndef make_cell():\n    return MinimalRNNCell(4)\n", model=model)
    result = k2t.convert_source(source, "case.py")
    line, text = next((number, text) for number, text in enumerate(source.splitlines(), 1) if text.strip().endswith(at))
    refused = [(d.code, d.line, d.column) for d in result.diagnostics if d.code != "K2T100"]
    assert refused == [("K2T101", line, [m.start() for m in re.finditer(r"\bcell\b", text)][-1] + 1)]
