"""Exact parity against real Keras for the value-flow patterns of issue 11 that k2t converts in place.

Each script carries a value the way real scripts do: a whole model built in each branch of an `if` on
an environment variable (both branches run, one per case), a layer class held in a variable and called
in a loop, `Input(shape=(None, features))` into LSTM and GRU, an Embedding sized by
`len(word_index) + 1`, a first layer sized by `X.shape[-1]`, a nested model a helper returns, nested
helper calls with reordered keywords and defaults, a tensor helper called once, `width // 2 ** i` in a
range loop. Each converts with no diagnostic, and with Keras's initial weights copied into the torch
module every layer's output and every epoch's loss and metrics agree with Keras's (tests/parity_cases.py).
"""

import textwrap

import pytest
from conftest import requires_keras, requires_torch
from parity_cases import assert_parity

import k2t

pytestmark = [requires_torch, requires_keras, pytest.mark.parity]

HEAD = """\
import os
import numpy as np
import keras
from keras import layers

rng = np.random.RandomState(0)
x = rng.normal(size=(96, 8)).astype("float32")
y = (x.sum(axis=1) > 0).astype("float32")
keras.utils.set_random_seed(0)
"""
TAIL = """\
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
history = model.fit(x, y, batch_size=16, epochs=3, verbose=0)
"""


def script(body: str) -> str:
    return HEAD + textwrap.dedent(body) + TAIL


def assert_clean(source: str) -> str:
    """k2t converts ``source`` with no diagnostic at all; its output."""
    result = k2t.convert_source(source, "train.py")
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    return result.output


# A whole model in each branch, each compiled and fitted there: which one runs is known only at run time.
BRANCHES = HEAD + textwrap.dedent(
    """\
    WIDE = os.environ.get("K2T_TEST_WIDE") == "1"
    if WIDE:
        model = keras.Sequential([
            keras.Input(shape=(8,)),
            layers.Dense(16, activation="relu"),
            layers.Dense(16, activation="tanh"),
            layers.Dense(1, activation="sigmoid"),
        ])
        model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
        history = model.fit(x, y, batch_size=16, epochs=3, verbose=0)
    else:
        inputs = keras.Input(shape=(8,))
        h = layers.Dense(4, activation="relu")(inputs)
        model = keras.Model(inputs, layers.Dense(1, activation="sigmoid")(h))
        model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=["accuracy"])
        history = model.fit(x, y, batch_size=16, epochs=3, verbose=0)
    """
)


@pytest.mark.parametrize(
    ("wide", "keras_model", "torch_class"), [("1", "sequential", "Net"), ("0", "functional", "Net2")]
)
def test_a_whole_model_in_each_branch_of_an_undecided_if(wide, keras_model, torch_class, monkeypatch, tmp_path):
    output = assert_clean(BRANCHES)
    assert "if WIDE:\n    model = Net().to(device)" in output and "else:\n    model = Net2().to(device)" in output
    monkeypatch.setenv("K2T_TEST_WIDE", wide)
    report = assert_parity(BRANCHES, tmp_path)
    assert report.model == f'keras "{keras_model}" -> torch {torch_class}'


CASES = {
    # The classic addition_rnn.py: `RNN = recurrent.LSTM`, then RNN(...) before and in a loop.
    "layer_class_in_a_variable": script(
        """\
        x = x.reshape(96, 4, 2)
        RNN = layers.LSTM
        HIDDEN_SIZE = 6
        LAYERS = 2
        model = keras.Sequential()
        model.add(RNN(HIDDEN_SIZE, input_shape=(4, 2), return_sequences=True))
        for _ in range(LAYERS):
            model.add(RNN(HIDDEN_SIZE, return_sequences=True))
        model.add(layers.GlobalAveragePooling1D())
        model.add(layers.Dense(1, activation="sigmoid"))
        """
    ),
    # Variable-length sequences (the data has one length): the recurrent weights span the features only.
    "none_time_steps_into_lstm_and_gru": script(
        """\
        features = 2
        x = x.reshape(96, 4, features)
        inputs = keras.Input(shape=(None, features))
        h = layers.LSTM(6, return_sequences=True)(inputs)
        h = layers.GRU(5)(h)
        model = keras.Model(inputs, layers.Dense(1, activation="sigmoid")(h))
        """
    ),
    # The vocabulary a script counts itself: a constructor parameter evaluated where the model is built.
    "vocab_size_from_a_word_index_dict": """\
import numpy as np
import keras
from keras import layers

texts = ["the cat sat on the mat", "a dog ate my homework", "the quick brown fox", "my cat likes the dog"] * 24
y = np.array([("cat" in t) for t in texts], dtype="float32")
word_index = {}
for text in texts:
    for word in text.split():
        word_index.setdefault(word, len(word_index) + 1)
maxlen = 6
x = np.zeros((len(texts), maxlen), dtype="int32")
for i, text in enumerate(texts):
    ids = [word_index[w] for w in text.split()][:maxlen]
    x[i, : len(ids)] = ids
vocab_size = len(word_index) + 1
keras.utils.set_random_seed(0)
model = keras.Sequential([
    keras.Input(shape=(maxlen,)),
    layers.Embedding(vocab_size, 4),
    layers.GlobalAveragePooling1D(),
    layers.Dense(1, activation="sigmoid"),
])
"""
    + TAIL,
    # The first layer's size read off the data.
    "n_features_from_the_data": """\
import numpy as np
import keras
from keras import layers

rng = np.random.RandomState(0)
X = rng.normal(size=(96, 7)).astype("float32")
y = (X.sum(axis=1) > 0).astype("float32")
n_features = X.shape[-1]
keras.utils.set_random_seed(0)
model = keras.Sequential()
model.add(layers.Dense(12, activation="relu", input_shape=(n_features,)))
model.add(layers.Dense(1, activation="sigmoid"))
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
history = model.fit(X, y, batch_size=16, epochs=3, verbose=0)
""",
    # A Sequential a helper builds from its parameter and returns, called as a layer of the outer Functional model.
    "nested_model_a_helper_returns": script(
        """\
        def make_base(units):
            return keras.Sequential([layers.Dense(units, activation="relu"), layers.Dense(units // 2)], name="base")

        base = make_base(12)
        inputs = keras.Input(shape=(8,))
        model = keras.Model(inputs, layers.Dense(1, activation="sigmoid")(base(inputs)))
        """
    ),
    "nested_helper_calls_with_keywords_and_defaults": script(
        """\
        def dense(x, units=64, activation="relu"):
            return layers.Dense(units, activation=activation)(x)

        def two_dense(x, first, second, activation="tanh"):
            return dense(dense(x, units=first), second, activation=activation)

        inputs = keras.Input(shape=(8,))
        outputs = layers.Dense(1, activation="sigmoid")(two_dense(inputs, second=32, first=64))
        model = keras.Model(inputs, outputs)
        """
    ),
    "tensor_helper_called_once": script(
        """\
        def conv_bn(x, filters, kernel_size=3):
            x = layers.Conv1D(filters, kernel_size, padding="same")(x)
            x = layers.BatchNormalization()(x)
            return layers.Activation("relu")(x)

        x = x.reshape(96, 8, 1)
        inputs = keras.Input(shape=(8, 1))
        h = conv_bn(inputs, 4)
        h = layers.GlobalMaxPooling1D()(h)
        model = keras.Model(inputs, layers.Dense(1, activation="sigmoid")(h))
        """
    ),
    "halving_widths_in_a_range_loop": script(
        """\
        width = 32
        model = keras.Sequential([keras.Input(shape=(8,))])
        for i in range(3):
            model.add(layers.Dense(width // 2 ** i, activation="relu", name=f"hidden_{i}"))
        model.add(layers.Dense(1, activation="sigmoid"))
        """
    ),
}


# Sizes only the data knows stay run-time values: constructor arguments evaluated where the model is built.
BUILT_AS = {
    "vocab_size_from_a_word_index_dict": "model = Net(vocab_size=vocab_size)",
    "n_features_from_the_data": "model = Net(n_features=n_features)",
}


@pytest.mark.parametrize("name", CASES)
def test_value_flow_matches_keras(name, tmp_path):
    output = assert_clean(CASES[name])
    assert BUILT_AS.get(name, "") in output
    assert_parity(CASES[name], tmp_path)


def test_vocab_size_from_keras_2s_tokenizer_matches_keras(tmp_path):
    """`len(tokenizer.word_index) + 1` from Keras 2's Tokenizer (tf.keras keeps it; k2t emits its own)."""
    source = CASES["vocab_size_from_a_word_index_dict"].replace(
        "from keras import layers\n",
        "from keras import layers\nfrom tensorflow.keras.preprocessing.text import Tokenizer\n",
    )
    source = source.replace(
        source[source.index("word_index = {}") : source.index("vocab_size = ")],
        textwrap.dedent(
            """\
            tokenizer = Tokenizer()
            tokenizer.fit_on_texts(texts)
            maxlen = 6
            x = np.zeros((len(texts), maxlen), dtype="int32")
            for i, ids in enumerate(tokenizer.texts_to_sequences(texts)):
                x[i, : len(ids)] = ids[:maxlen]
            """
        ),
    ).replace("vocab_size = len(word_index) + 1", "vocab_size = len(tokenizer.word_index) + 1")
    output = assert_clean(source)
    assert "model = Net(vocab_size=vocab_size)" in output
    assert_parity(source, tmp_path)
