"""Lists of Keras tensors held in names or joined with + (k2t.parse.functional): keras.io's seq2seq spellings."""

import textwrap

import k2t

HEAD = """\
import keras

inputs = keras.Input(shape=(4,))
a = keras.layers.Dense(2)(inputs)
b = keras.layers.Dense(3)(inputs)
"""


def _converted(body: str):
    return k2t.convert_source(HEAD + textwrap.dedent(body), "case.py")


def test_a_named_list_and_lists_joined_are_a_model_s_outputs():
    result = _converted(
        """\
        extra = keras.Input(shape=(3,))
        outs = [a, b]
        model = keras.Model([inputs] + [extra], outs + [extra])
        """
    )
    assert not result.diagnostics, result.diagnostics
    assert "def forward(self, inputs, extra):" in result.output
    assert "return a, b, extra" in result.output
    assert "outs = " not in result.output  # the list's statement goes with the model


def test_a_named_list_is_an_initial_state():
    result = _converted(
        """\
        states = [a, a]
        sequence = keras.layers.RepeatVector(5)(b)
        h = keras.layers.LSTM(2)(sequence, initial_state=states)
        model = keras.Model(inputs, h)
        """
    )
    assert not result.diagnostics, result.diagnostics
    assert "h = self.lstm(sequence, initial_state=[a, a])" in result.output


def test_a_list_of_tensors_used_outside_the_model_is_a_located_diagnostic():
    result = _converted(
        """\
        outs = [a, b]
        model = keras.Model(inputs, outs)
        print(len(outs))
        """
    )
    [todo] = result.diagnostics
    assert (todo.code, todo.line, todo.column) == ("K2T103", 8, 11)
    assert "the list of Keras tensors `outs` is used here" in todo.message
