"""Exact parity against real Keras for Attention, AdditiveAttention and EinsumDense.

Attention layers: each case is a tiny Functional script calling the layer on `[query, value]` or
`[query, value, key]`; k2t converts it, the harness copies Keras's weights (the scalars scale and
concat_score_weight, AdditiveAttention's scale vector) and requires every layer's output within 1e-4
and every epoch's loss within 1e-3 relative.
"""

import pytest
from conftest import requires_keras, requires_torch
from parity_cases import assert_parity, script

import k2t
from k2t.diagnostics import Severity

parity = pytest.mark.parity


def needs_keras_and_torch(test):
    return requires_torch(requires_keras(parity(test)))

DATA = """\
import numpy as np
import keras
from keras import layers

rng = np.random.RandomState(0)
xq = rng.normal(size=(48, 5, 8)).astype("float32")
xv = rng.normal(size=(48, 7, 6)).astype("float32")
xk = rng.normal(size=(48, 7, 8)).astype("float32")
y = (xq.sum(axis=(1, 2)) > 0).astype("float32")
keras.utils.set_random_seed(0)
q = keras.Input(shape=(5, 8))
v = keras.Input(shape=(7, 6))
k = keras.Input(shape=(7, 8))
"""

HEAD = """\
x = layers.GlobalAveragePooling1D()(a)
out = layers.Dense(1, activation="sigmoid")(x)
model = keras.Model({inputs}, out)
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
model.fit({arrays}, y, batch_size=16, epochs=3, verbose=0)
"""

ARRAYS = {"q": "xq", "v": "xv", "k": "xk"}


def case(line: str, inputs: str, head: str = HEAD) -> str:
    names = list(inputs)
    if len(names) == 1:
        body = head.format(inputs=names[0], arrays=ARRAYS[names[0]])
    else:
        body = head.format(inputs=f"[{', '.join(names)}]", arrays=f"[{', '.join(ARRAYS[n] for n in names)}]")
    return DATA + line + "\n" + body


ATTENTION = {
    # case: (the line making `a`, the inputs the model takes); the query and key share their features.
    "self": ("a = layers.Attention()([q, q])", "q"),
    "key": ("a = layers.Attention()([q, v, k])", "qvk"),
    "use_scale": ("a = layers.Attention(use_scale=True)([q, v, k])", "qvk"),
    "concat": ('a = layers.Attention(score_mode="concat")([q, k])', "qk"),
    "concat_scale": ('a = layers.Attention(True, "concat")([q, v, k])', "qvk"),
    "dropout": ("a = layers.Attention(dropout=0.3)([q, q])", "q"),
    "causal": ("a = layers.Attention()([q, q], use_causal_mask=True)", "q"),
    "scores": ("a, scores = layers.Attention(use_scale=True)([q, v, k], return_attention_scores=True)", "qvk"),
    # A convolution's output is channels-first in torch: the layer reads it in Keras's order.
    "after_conv1d": ('c = layers.Conv1D(8, 3, padding="same")(q)\na = layers.Attention()([c, layers.Conv1D(8, 2)(k)])', "qk"),
    "additive_self": ("a = layers.AdditiveAttention()([q, q])", "q"),
    "additive_key": ("a = layers.AdditiveAttention()([q, v, k])", "qvk"),
    "additive_no_scale": ("a = layers.AdditiveAttention(use_scale=False)([q, k])", "qk"),
    "additive_dropout_causal": ("a = layers.AdditiveAttention(dropout=0.2)([q, q], use_causal_mask=True)", "q"),
    "additive_scores": ("a, scores = layers.AdditiveAttention()([q, v, k], return_attention_scores=True)", "qvk"),
}


@needs_keras_and_torch
@pytest.mark.parametrize("name", ATTENTION)
def test_attention(name, tmp_path):
    line, inputs = ATTENTION[name]
    assert_parity(case(line, inputs), tmp_path)


@needs_keras_and_torch
def test_attention_scores_as_an_output(tmp_path):
    """The scores of `out, scores = attention(...)` feed the model: Keras's (batch, Tq, Tv) attention weights."""
    head = """\
x = layers.Concatenate()([layers.Flatten()(a), layers.Flatten()(scores)])
out = layers.Dense(1, activation="sigmoid")(x)
model = keras.Model({inputs}, out)
model.compile(optimizer="adam", loss="binary_crossentropy")
model.fit({arrays}, y, batch_size=16, epochs=3, verbose=0)
"""
    line = "a, scores = layers.Attention(use_scale=True)([q, v, k], return_attention_scores=True)"
    assert_parity(case(line, "qvk", head), tmp_path)


@needs_keras_and_torch
@pytest.mark.parametrize("kind", ["Attention", "AdditiveAttention"])
def test_tensorflow_2_causal_argument(kind, tmp_path):
    """TF 2.4-2.10's Attention(causal=True), which Keras 3 spells as the call's use_causal_mask=True."""
    from parity_cases import assert_converted_parity

    old = case(f"a = layers.{kind}(causal=True)([q, v, k])", "qvk")
    assert_converted_parity(old, case(f"a = layers.{kind}()([q, v, k], use_causal_mask=True)", "qvk"), tmp_path)


@pytest.mark.parametrize(
    "line, message",
    [
        ("a = layers.Attention()([q, v], return_attention_scores=True)", "unpacked"),
        ('a = layers.Attention(score_mode="general")([q, q])', "score_mode='general'"),
        ("a = layers.Attention()([q, v], use_causal_mask=k)", "called with use_causal_mask="),
        ("a = layers.AdditiveAttention()([q, v], query_mask=k)", "query_mask"),
    ],
)
def test_unsupported_attention_calls_are_diagnostics(line, message):
    result = k2t.convert_source(case(line, "qvk"), "case.py")
    assert [d.code for d in result.diagnostics] == ["K2T102"], [d.format() for d in result.diagnostics]
    assert message in result.diagnostics[0].message
    assert result.diagnostics[0].line == case(line, "qvk").splitlines().index(line) + 1


def L(name, *args):
    return f"keras.layers.{name}({', '.join(args)})"


HEAD_LAYERS = ["keras.layers.Flatten()", 'keras.layers.Dense(1, activation="sigmoid")']
EINSUM_DENSE = {
    # (input shape, layers before the head): Keras works out the kernel and bias shapes from the equation.
    "dense_like": ((6,), [L("EinsumDense", '"ab,bc->ac"', "output_shape=4", 'bias_axes="c"')]),
    "no_bias_activation": ((6,), [L("EinsumDense", '"ab,bc->ac"', "4", 'activation="relu"')]),
    "sequence": ((5, 4), [L("EinsumDense", '"abc,cd->abd"', "output_shape=(None, 3)", 'bias_axes="d"'), L("GlobalAveragePooling1D")]),
    "sequence_bias_on_steps": ((5, 4), [L("EinsumDense", '"abc,cd->abd"', "(5, 3)", 'bias_axes="bd"', 'activation="tanh"')]),
    "heads": ((5, 4), [L("EinsumDense", '"abc,cde->abde"', "output_shape=(5, 2, 3)", 'bias_axes="de"')]),
    "contract_steps": ((5, 4), [L("EinsumDense", '"abc,bd->adc"', "output_shape=(3, 4)", 'bias_axes="d"')]),
    "left_ellipsis": ((5, 4), [L("EinsumDense", '"...b,bc->...c"', "3", 'bias_axes="c"')]),
    "right_ellipsis": ((5, 4), [L("EinsumDense", '"ab...,bc->ac..."', "(3,)", 'bias_axes="c"')]),
    "after_conv": ((6, 6, 3), [L("Conv2D", "4", "3"), L("EinsumDense", '"abcd,de->abce"', "(4, 4, 2)", 'bias_axes="e"')]),
    "initializers_regularizers": (
        (5, 4),
        [L("EinsumDense", '"abc,cd->abd"', "(5, 3)", 'bias_axes="d"', 'kernel_initializer="he_normal"', 'bias_initializer="ones"', 'kernel_regularizer="l2"')],
    ),
}


VARIABLE_STEPS = """\
import numpy as np
import keras
from keras import layers

rng = np.random.RandomState(0)
x = rng.normal(size=(48, 5, 4)).astype("float32")
y = (x.sum(axis=(1, 2)) > 0).astype("float32")
keras.utils.set_random_seed(0)
inputs = keras.Input(shape=(None, 4))
h = {layer}(inputs)
out = layers.Dense(1, activation="sigmoid")(layers.GlobalAveragePooling1D()(h))
model = keras.Model(inputs, out)
model.compile(optimizer="adam", loss="binary_crossentropy")
model.fit(x, y, batch_size=16, epochs=3, verbose=0)
"""


@needs_keras_and_torch
@pytest.mark.parametrize(
    "layer",
    ['layers.EinsumDense("abc,cd->abd", (None, 3), bias_axes="d")', 'layers.EinsumDense("...b,bc->...c", 3, activation="relu")', "layers.GroupNormalization(2)"],
)
def test_sequences_of_any_length(layer, tmp_path):
    """Input(shape=(None, 4)): the weights span the features only, so the steps may stay None."""
    assert_parity(VARIABLE_STEPS.format(layer=layer), tmp_path)


@needs_keras_and_torch
@pytest.mark.parametrize("name", EINSUM_DENSE)
def test_einsum_dense(name, tmp_path):
    shape, layers = EINSUM_DENSE[name]
    assert_parity(script([*layers, *HEAD_LAYERS], shape=shape), tmp_path)


@pytest.mark.parametrize(
    "layer, message",
    [
        ('EinsumDense("abc,cd->abd", (None, 3), bias_axes="x")', "bias_axes 'x' must be output axes"),
        ('EinsumDense("ab,bc->ac", 4)', "the input has 3 axes"),
        ('EinsumDense("abc,cd->abd", (None, 3), lora_rank=2)', "lora_rank"),
    ],
)
def test_unsupported_einsum_dense_is_located(layer, message):
    source = script([L(*layer.split("(", 1)[:1], layer.split("(", 1)[1][:-1]), *HEAD_LAYERS], shape=(5, 4))
    result = k2t.convert_source(source, "case.py")
    assert [d.code for d in result.diagnostics] == ["K2T102"], [d.format() for d in result.diagnostics]
    assert message in result.diagnostics[0].message
    assert "EinsumDense" in source.splitlines()[result.diagnostics[0].line - 1]


@pytest.mark.parametrize(
    "line",
    [
        "a = layers.Attention()([q, v], mask=[None, None])",
        "a = layers.LSTM(4, return_sequences=True)(q, mask=None)",
    ],
)
def test_explicit_masks_are_located_diagnostics(line):
    """A mask given to the call is reported, not dropped: the layer would compute without it."""
    source = case(line, "qv")
    result = k2t.convert_source(source, "case.py")
    # (`k`, an Input nothing uses, goes with a K2T104 warning)
    errors = [d for d in result.diagnostics if d.severity is Severity.ERROR]
    assert [d.code for d in errors] == ["K2T102"], [d.format() for d in result.diagnostics]
    assert "mask=" in errors[0].message
    assert errors[0].line == source.splitlines().index(line) + 1


MASKED = """\
import numpy as np
import keras
from keras import layers

rng = np.random.RandomState(0)
ids = rng.randint(1, 20, size=(48, 6))
ids[:, 4:] = 0  # padding, masked by the Embedding
ids[::3, 2:] = 0
y = (ids[:, 0] > 10).astype("float32")
keras.utils.set_random_seed(0)
tokens = keras.Input(shape=(6,))
h = layers.Embedding(20, 8, mask_zero=True)(tokens)
{body}
out = layers.Dense(1, activation="sigmoid")(x)
model = keras.Model(tokens, out)
model.compile(optimizer="adam", loss="binary_crossentropy")
model.fit(ids, y, batch_size=16, epochs=3, verbose=0)
"""

MASKED_ATTENTION = {
    # Keras's implicit masks: the value's hides its padding, the query's zeroes the output and flows on.
    "self_pooled": "a = layers.Attention()([h, h])\nx = layers.GlobalAveragePooling1D()(a)",
    "causal_scale": "a = layers.Attention(use_scale=True)([h, h], use_causal_mask=True)\nx = layers.GlobalAveragePooling1D()(a)",
    "additive_unmasked_query": "q = layers.Dense(8)(layers.Flatten()(h))\nq = layers.Reshape((1, 8))(q)\na = layers.AdditiveAttention()([q, h])\nx = layers.Flatten()(a)",
    # MultiHeadAttention reads the query's and value's masks (a padding step's query attends to every step alike
    # in Keras's fused kernel, to none under its softmax layer, which dropout selects); the residual Add keeps the mask.
    "multi_head_self": "a = layers.MultiHeadAttention(2, 4)(h, h)\nx = layers.GlobalAveragePooling1D()(a)",
    "multi_head_residual_dropout": (
        "a = layers.MultiHeadAttention(2, 4, dropout=0.1)(h, h)\n"
        "h = layers.LayerNormalization()(layers.Add()([h, a]))\n"
        "x = layers.GlobalAveragePooling1D()(h)"
    ),
    "multi_head_causal_scores": (
        "a, scores = layers.MultiHeadAttention(2, 4)(h, h, use_causal_mask=True, return_attention_scores=True)\n"
        "x = layers.GlobalAveragePooling1D()(a)"
    ),
}


@needs_keras_and_torch
@pytest.mark.parametrize("name", MASKED_ATTENTION)
def test_attention_over_masked_sequences(name, tmp_path):
    assert_parity(MASKED.format(body=MASKED_ATTENTION[name]), tmp_path)


def test_multi_head_attention_hands_on_the_masks_it_reads():
    source = MASKED.format(body="a = layers.MultiHeadAttention(2, 4)(h, h)\nx = layers.GlobalAveragePooling1D()(a)")
    result = k2t.convert_source(source, "case.py")
    assert not result.diagnostics, [d.format() for d in result.diagnostics]
    assert "a = self.multi_head_attention(h, h, query_mask=h_mask, value_mask=h_mask)" in result.output
    assert "x = self.global_average_pooling1d(a, a_mask)" in result.output or "a_mask" not in result.output


def test_multi_head_attention_over_masked_steps_of_other_ranks_is_located():
    source = MASKED.format(
        body="a = layers.Reshape((6, 8, 1))(h)\na = layers.MultiHeadAttention(2, 4, attention_axes=(1,))(h, h)\nx = layers.GlobalAveragePooling1D()(a)"
    )
    # The Reshape's `a`, bound again before any read, is dropped with a K2T104 warning.
    [diagnostic] = [d for d in k2t.convert_source(source, "case.py").diagnostics if d.code != "K2T104"]
    assert diagnostic.code == "K2T102" and "MultiHeadAttention with masks on other than (steps, features)" in diagnostic.message
    assert "MultiHeadAttention" in source.splitlines()[diagnostic.line - 1]
