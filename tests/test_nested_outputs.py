"""One output of a nested model of several, by index (``encoder(inputs)[2]``, Keras 2's VAE): what the
conversion writes, and what stays located. Parity against Keras is in tests/test_parity_nested.py."""

import textwrap

import k2t

ENCODER = """\
import numpy as np
import keras
from keras import layers

inp = keras.Input(shape=(8,))
h = layers.Dense(8, activation="relu")(inp)
encoder = keras.Model(inp, [layers.Dense(3)(h), layers.Dense(2)(h), layers.Dense(4)(h)], name="encoder")
inputs = keras.Input(shape=(8,))
{line}
model = keras.Model(inputs, outputs)
model.compile(optimizer="sgd", loss="mse")
model.fit(np.zeros((4, 8)), np.zeros((4, 1)), epochs=1)
"""


def _convert(line: str):
    return k2t.convert_source(ENCODER.format(line=textwrap.dedent(line).strip()), "vae.py")


def test_an_indexed_output_unpacks_the_nested_call_as_a_person_would():
    result = _convert("outputs = layers.Dense(1)(encoder(inputs)[-1])")
    assert [d.format() for d in result.diagnostics] == []
    assert "        _, _, outputs = self.encoder(inputs)\n" in result.output
    assert "self.dense = nn.Linear(4, 1)" in result.output  # the third output's 4 features


def test_an_index_k2t_does_not_know_stays_located():
    result = _convert("k = int(np.random.randint(3))\noutputs = layers.Dense(1)(encoder(inputs)[k])")
    found = [(d.code, d.line, d.message.split(" (")[0]) for d in result.diagnostics]
    assert found == [("K2T103", 10, "`encoder(inputs)[k]`: k2t follows a model's outputs by a known index")]


def test_an_index_past_the_outputs_stays_located():
    result = _convert("outputs = layers.Dense(1)(encoder(inputs)[3])")
    assert [d.code for d in result.diagnostics] == ["K2T103"]
    assert not result.ok
