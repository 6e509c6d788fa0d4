"""Exact parity of keras.layers.RNN over Keras's built-in cells: one cell is the layer that runs it
(RNN(LSTMCell(n)) is LSTM(n)); stacked cells (a list, StackedRNNCells) are one recurrent module per cell in an
nn.Sequential, each reading the sequence of the one before, go_backwards reversing the input once."""

import pytest
from conftest import requires_keras, requires_torch
from parity_cases import assert_parity, script

import k2t

OUT = 'keras.layers.Dense(1, activation="sigmoid")'


@pytest.mark.parity
@requires_torch
@requires_keras
@pytest.mark.parametrize(
    "layers",
    [
        pytest.param(
            [
                "keras.layers.RNN(keras.layers.LSTMCell(6, unit_forget_bias=False), return_sequences=True)",
                "keras.layers.RNN(keras.layers.GRUCell(4, reset_after=False), go_backwards=True)",
            ],
            id="LSTMCell-GRUCell-v1-backwards",
        ),
        pytest.param(
            ['keras.layers.RNN(keras.layers.SimpleRNNCell(5, activation="relu", name="inner"), name="outer")'],
            id="SimpleRNNCell-relu",
        ),
        pytest.param(
            ["keras.layers.RNN(keras.layers.LSTMCell(6, dropout=0.2, recurrent_dropout=0.1), return_sequences=True)",
             "keras.layers.GlobalAveragePooling1D()"],
            id="LSTMCell-dropout",
        ),
        pytest.param(
            [
                (
                    "keras.layers.RNN(keras.layers.StackedRNNCells([keras.layers.LSTMCell(6), keras.layers.GRUCell(5)]), "
                    "return_sequences=True, go_backwards=True)"
                ),
                "keras.layers.RNN([keras.layers.SimpleRNNCell(4), keras.layers.LSTMCell(3)])",
            ],
            id="stacked-backwards-and-list",
        ),
    ],
)
def test_rnn_over_built_in_cells_matches_keras(layers, tmp_path):
    assert_parity(script([*layers, OUT], shape=(7, 3)), tmp_path)


HEADER = "import keras\nmodel = keras.Sequential([keras.Input(shape=(7, 3)), {layer}, keras.layers.Dense(1)])\n"


@pytest.mark.parametrize(
    ("layer", "code", "at", "words"),
    [
        pytest.param("keras.layers.RNN(MinimalRNNCell(4))", "K2T102", "MinimalRNNCell(4)", "a cell whose call takes (inputs, states)", id="custom-cell-without-call"),
        pytest.param(
            "keras.layers.RNN([keras.layers.LSTMCell(4), keras.layers.LSTMCell(2)], return_state=True)",
            "K2T102", "True", "RNN(return_state=...) over stacked cells", id="stacked-return_state",
        ),
        pytest.param(
            "keras.layers.RNN([keras.layers.LSTMCell(4, dropout=0.1), keras.layers.LSTMCell(2)])",
            "K2T102", "0.1", "LSTMCell(dropout=...) in stacked cells", id="stacked-dropout",
        ),
    ],
)
def test_what_rnn_does_not_translate_is_located(layer, code, at, words):
    """Each at the cell or argument it is about (``at``: the code there)."""
    source = "import keras\nclass MinimalRNNCell(keras.layers.Layer):\n    pass\n" + HEADER.format(layer=layer)
    result = k2t.convert_source(source, "train.py")
    column = source.splitlines()[4].index(at) + 1
    [diagnostic] = [d for d in result.diagnostics if d.code in ("K2T101", "K2T102")]
    assert (diagnostic.code, diagnostic.line, diagnostic.column) == (code, 5, column), diagnostic.format()
    assert words in diagnostic.message
