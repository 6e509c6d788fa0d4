"""Exact parity against real Keras for MultiHeadAttention and the transformer block built with it.

Each case is a tiny Functional script; k2t converts it, the harness copies
Keras's initial weights into the torch module (the generated class keeps
Keras's EinsumDense kernels, so this is a copy) and requires every layer's
output within 1e-4 and every epoch's loss within 1e-3 relative.
"""

import textwrap

import pytest
from conftest import requires_keras, requires_torch
from parity_cases import assert_parity

import k2t

pytestmark = [requires_torch, requires_keras, pytest.mark.parity]

DATA = """\
import numpy as np
import keras
from keras import layers

rng = np.random.RandomState(0)
xq = rng.normal(size=(48, 5, 8)).astype("float32")
xv = rng.normal(size=(48, 7, 6)).astype("float32")
xk = rng.normal(size=(48, 7, 3)).astype("float32")
mask = (rng.uniform(size=(48, 5, 7)) > 0.3).astype("float32")
mask[:, :, 0] = 1.0  # every query sees at least one value
step_masks = (rng.uniform(size=(48, 7)) > 0.3).astype("float32")  # a mask per value step, given to the call
step_masks[:, 0] = 1.0
y = (xq.sum(axis=(1, 2)) > 0).astype("float32")
keras.utils.set_random_seed(0)
q = keras.Input(shape=(5, 8))
v = keras.Input(shape=(7, 6))
k = keras.Input(shape=(7, 3))
m = keras.Input(shape=(5, 7))
n = keras.Input(shape=(7,))
"""

HEAD = """\
x = layers.GlobalAveragePooling1D()(a)
out = layers.Dense(1, activation="sigmoid")(x)
model = keras.Model({inputs}, out)
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
model.fit({arrays}, y, batch_size=16, epochs=3, verbose=0)
"""

ARRAYS = {"q": "xq", "v": "xv", "k": "xk", "m": "mask", "n": "step_masks"}

MHA = {
    # case: (the line making `a`, the inputs the model takes)
    "cross": ("a = layers.MultiHeadAttention(num_heads=2, key_dim=4)(q, v)", "qv"),
    "self": ("a = layers.MultiHeadAttention(2, 4)(q, q)", "q"),
    "key": ("a = layers.MultiHeadAttention(2, 4)(q, v, key=k)", "qvk"),
    "key_positional": ("a = layers.MultiHeadAttention(2, 4)(q, v, k)", "qvk"),
    "attention_mask": ("a = layers.MultiHeadAttention(2, 4)(q, v, attention_mask=m)", "qvm"),
    "causal": ("a = layers.MultiHeadAttention(3, 2)(q, q, use_causal_mask=True)", "q"),
    "causal_and_mask": ("a = layers.MultiHeadAttention(2, 4)(q, v, attention_mask=m, use_causal_mask=True)", "qvm"),
    "value_dim_output_shape": ("a = layers.MultiHeadAttention(2, 4, value_dim=3, output_shape=5)(q, v)", "qv"),
    "no_bias": ("a = layers.MultiHeadAttention(2, 4, use_bias=False)(q, v, key=k)", "qvk"),
    "dropout": ("a = layers.MultiHeadAttention(2, 4, dropout=0.3)(q, v)", "qv"),
    "initializers": (
        'a = layers.MultiHeadAttention(2, 4, kernel_initializer="he_normal", bias_initializer="ones")(q, v)',
        "qv",
    ),
    "scores": ("a, scores = layers.MultiHeadAttention(2, 4)(q, v, return_attention_scores=True)", "qv"),
    "value_mask": ("a = layers.MultiHeadAttention(2, 4)(q, v, value_mask=n, attention_mask=m)", "qvmn"),
}


def mha_case(line: str, inputs: str, head: str = HEAD) -> str:
    names = list(inputs)
    if len(names) == 1:
        body = head.format(inputs=names[0], arrays=ARRAYS[names[0]])
    else:
        body = head.format(inputs=f"[{', '.join(names)}]", arrays=f"[{', '.join(ARRAYS[n] for n in names)}]")
    return DATA + line + "\n" + body


@pytest.mark.parametrize("name", MHA)
def test_multi_head_attention(name, tmp_path):
    line, inputs = MHA[name]
    assert_parity(mha_case(line, inputs), tmp_path)


def test_attention_scores_as_an_output(tmp_path):
    """The scores of `out, scores = mha(...)` feed the model's output: Keras's (batch, heads, T, S).

    Self-attention: Keras's symbolic shape of the scores is (T, T) whatever the value's length, so a
    Dense after cross-attention scores is built for the wrong size (Keras fails at fit).
    """
    line = "a, scores = layers.MultiHeadAttention(2, 4)(q, q, return_attention_scores=True)"
    head = """\
x = layers.Concatenate()([layers.Flatten()(a), layers.Flatten()(scores)])
out = layers.Dense(1, activation="sigmoid")(x)
model = keras.Model({inputs}, out)
model.compile(optimizer="adam", loss="binary_crossentropy")
model.fit({arrays}, y, batch_size=16, epochs=3, verbose=0)
"""
    assert_parity(mha_case(line, "q", head), tmp_path)


def test_attention_over_two_axes(tmp_path):
    """attention_axes=(1, 2) on (batch, 3, 4, features): Keras's einsum equations, softmax over both axes."""
    source = textwrap.dedent(
        """\
        import numpy as np
        import keras
        from keras import layers

        rng = np.random.RandomState(0)
        x = rng.normal(size=(48, 3, 4, 5)).astype("float32")
        y = (x.sum(axis=(1, 2, 3)) > 0).astype("float32")
        keras.utils.set_random_seed(0)
        inp = keras.Input(shape=(3, 4, 5))
        a = layers.MultiHeadAttention(2, 3, attention_axes=(1, 2))(inp, inp)
        out = layers.Dense(1, activation="sigmoid")(layers.Flatten()(a))
        model = keras.Model(inp, out)
        model.compile(optimizer="adam", loss="binary_crossentropy")
        model.fit(x, y, batch_size=16, epochs=3, verbose=0)
        """
    )
    assert_parity(source, tmp_path)


TRANSFORMER = """\
import numpy as np
import keras
from keras import layers

maxlen, vocab, embed_dim = 10, 50, 8
rng = np.random.RandomState(0)
x = rng.randint(0, vocab, size=(64, maxlen))
positions = np.tile(np.arange(maxlen), (64, 1))
y = (x[:, 0] > vocab // 2).astype("int64")
keras.utils.set_random_seed(0)
tokens = keras.Input(shape=(maxlen,))
where = keras.Input(shape=(maxlen,))
h = {embeddings}
attention = layers.MultiHeadAttention(num_heads=2, key_dim=embed_dim)(h, h)
attention = layers.Dropout(0.1)(attention)
h1 = layers.LayerNormalization(epsilon=1e-6)(layers.Add()([h, attention]))
ffn = layers.Dense(16, activation="relu")(h1)
ffn = layers.Dense(embed_dim)(ffn)
ffn = layers.Dropout(0.1)(ffn)
h2 = layers.LayerNormalization(epsilon=1e-6)(h1 + ffn)
pooled = layers.GlobalAveragePooling1D()(h2)
out = layers.Dense(2, activation="softmax")(layers.Dropout(0.1)(pooled))
model = keras.Model([tokens, where], out)
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit([x, positions], y, batch_size=16, epochs=3, verbose=0)
"""


EMBEDDINGS = {
    "plus": "layers.Embedding(vocab, embed_dim)(tokens) + layers.Embedding(maxlen, embed_dim)(where)",
    "add_layer": "layers.Add()([layers.Embedding(vocab, embed_dim)(tokens), layers.Embedding(maxlen, embed_dim)(where)])",
}


@pytest.mark.parametrize("embeddings", EMBEDDINGS)
def test_transformer_block(embeddings, tmp_path):
    """keras.io's text-classification transformer block over token plus position embeddings, added by `+` or Add."""
    assert_parity(TRANSFORMER.format(embeddings=EMBEDDINGS[embeddings]), tmp_path)


@pytest.mark.parametrize(
    "line, message",
    [
        ("a = layers.MultiHeadAttention(2, 4)(q, v, return_attention_scores=True)", "unpacked"),
        ("a = layers.MultiHeadAttention(2, 4, attention_axes=(1,))(q, v, value_mask=m)", "with masks on other than"),
        ("a = layers.Dense(4)(q, v)", "Dense called on several tensors"),
        ("a = layers.Dense(4)(q, scale=2)", "Dense called with scale="),
    ],
)
def test_unsupported_calls_are_diagnostics(line, message):
    result = k2t.convert_source(mha_case(line, "qvm"), "case.py")
    errors = [d for d in result.diagnostics if d.severity.value == "error"]  # (an unused Input is a K2T104 warning)
    assert [d.code for d in errors] == ["K2T102"], result.diagnostics
    assert message in errors[0].message


def test_transformer_encoder_helper_becomes_a_class(tmp_path):
    """A helper building the encoder block, called twice: one generated class, its attention line over the class's names."""
    source = textwrap.dedent(
        """\
        import numpy as np
        import keras
        from keras import layers

        rng = np.random.RandomState(0)
        x = rng.normal(size=(48, 6, 8)).astype("float32")
        y = (x.sum(axis=(1, 2)) > 0).astype("float32")
        keras.utils.set_random_seed(0)


        def transformer_encoder(inputs, head_size, num_heads, ff_dim):
            h = layers.MultiHeadAttention(key_dim=head_size, num_heads=num_heads)(inputs, inputs)
            h = layers.LayerNormalization(epsilon=1e-6)(h + inputs)
            f = layers.Dense(ff_dim, activation="relu")(h)
            f = layers.Dense(8)(f)
            return layers.LayerNormalization(epsilon=1e-6)(f + h)


        inp = keras.Input(shape=(6, 8))
        z = transformer_encoder(inp, 4, 2, 16)
        z = transformer_encoder(z, 4, 2, 16)
        out = layers.Dense(1, activation="sigmoid")(layers.GlobalAveragePooling1D()(z))
        model = keras.Model(inp, out)
        model.compile(optimizer="adam", loss="binary_crossentropy")
        model.fit(x, y, batch_size=16, epochs=3, verbose=0)
        """
    )
    output = k2t.convert_source(source, "case.py").output
    assert "class TransformerEncoder(nn.Module)" in output
    assert "h = self.multi_head_attention(inputs, inputs)" in output
    assert_parity(source, tmp_path)


SMALL_LAYERS = {
    # (input shape, layers before the head)
    "identity": ((5, 4), ["keras.layers.Identity()", "keras.layers.Flatten()"]),
    "unit_normalization": ((5, 4), ["keras.layers.Dense(3)", "keras.layers.UnitNormalization()", "keras.layers.Flatten()"]),
    "unit_normalization_two_axes": ((5, 4), ["keras.layers.UnitNormalization(axis=[1, 2])", "keras.layers.Flatten()"]),
    "unit_normalization_after_conv": ((6, 6, 3), ["keras.layers.Conv2D(4, 3)", "keras.layers.UnitNormalization(axis=-1)", "keras.layers.Flatten()"]),
}


@pytest.mark.parametrize("name", SMALL_LAYERS)
def test_small_layers(name, tmp_path):
    from parity_cases import script

    shape, layers = SMALL_LAYERS[name]
    assert_parity(script([*layers, 'keras.layers.Dense(1, activation="sigmoid")'], shape=shape), tmp_path)
