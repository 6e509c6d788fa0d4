"""Ops applied to Keras tensors in the Functional API (k2t.parse.functional's op expressions): Keras 3's
``keras.ops.mean(h, axis=1)``, tf.keras 2's ``tf.reduce_mean(e, axis=1)`` (TFOpLambda layers), arithmetic with
numbers (``h * 2.0``, ``h /= 4``), ``-h`` and ``h[:, 0]``. Each statement is one line of forward, rewritten
through the op vocabulary, its output shape followed for the layers after it. Parity against Keras is in
tests/test_parity_ops_on_keras_tensors.py."""

import textwrap

import pytest

import k2t

HEAD = """\
import numpy as np
import tensorflow as tf
import keras
from keras import layers, ops

SCALE = 3.0
x = np.zeros((8, 10, 4), dtype="float32")
y = np.zeros((8, 1), dtype="float32")
"""
TAIL = """\
model = keras.Model(inputs, outputs)
model.compile(optimizer="adam", loss="mse")
model.fit(x, y, epochs=1, verbose=0)
"""


def convert(body: str, tail: str = TAIL):
    return k2t.convert_source(HEAD + textwrap.dedent(body) + tail, filename="case.py")


def forward(result) -> str:
    return result.output.split("    def forward", 1)[1].split("\n\n", 1)[0]


def test_keras_ops_are_lines_of_forward_and_their_shapes_size_the_dense():
    result = convert(
        """\
        inputs = keras.Input(shape=(10, 4))
        h = layers.Dense(8, activation="relu")(inputs)
        pooled = ops.mean(h, axis=1)
        mx = ops.max(h, axis=1)
        z = ops.concatenate([pooled, mx], axis=-1)
        z = ops.relu(z) * 2.0
        outputs = layers.Dense(1)(z)
        """
    )
    assert result.ok, [d.format() for d in result.diagnostics]
    lines = forward(result)
    for line in (
        "pooled = torch.mean(h, dim=1)",
        "mx = torch.amax(h, dim=1)",
        "z = torch.cat([pooled, mx], dim=-1)",
        "z = F.relu(z) * 2.0",
        "outputs = self.dense_1(z)",
    ):
        assert f"        {line}\n" in lines, lines
    assert "nn.Linear(16, 1)" in result.output


def test_tensorflow_ops_on_keras_tensors():
    result = convert(
        """\
        inputs = keras.Input(shape=(10,))
        e = layers.Embedding(50, 8)(inputs)
        avg = tf.reduce_mean(e, axis=1)
        mx = tf.math.reduce_max(e, axis=1)
        z = tf.concat([avg, mx], axis=1)
        outputs = layers.Dense(1)(z)
        """
    )
    assert result.ok, [d.format() for d in result.diagnostics]
    lines = forward(result)
    assert "avg = torch.mean(e, dim=1)" in lines and "z = torch.cat([avg, mx], dim=1)" in lines
    assert "nn.Linear(16, 1)" in result.output


def test_arithmetic_negation_slicing_and_augmented_assignment():
    result = convert(
        """\
        inputs = keras.Input(shape=(10, 4))
        h = layers.Flatten()(inputs)
        h *= 0.5
        h = -h / SCALE
        first = h[:, :8]
        h = first ** 2 + h[:, 8:16]
        outputs = layers.Dense(1)(h)
        """
    )
    assert result.ok, [d.format() for d in result.diagnostics]
    lines = forward(result)
    for line in ("h = h * 0.5", "h = -h / SCALE", "first = h[:, :8]", "h = first ** 2 + h[:, 8:16]"):
        assert f"        {line}\n" in lines, lines
    assert "nn.Linear(8, 1)" in result.output


def test_ops_inside_a_layer_call_and_in_the_model_call():
    result = convert(
        """\
        inputs = keras.Input(shape=(10, 4))
        h = layers.Dense(6)(ops.tanh(inputs))
        outputs = layers.Dense(1)(ops.mean(h, axis=1))
        """,
        tail=TAIL.replace("keras.Model(inputs, outputs)", "keras.Model(inputs, ops.sigmoid(outputs))"),
    )
    assert result.ok, [d.format() for d in result.diagnostics]
    lines = forward(result)
    assert "torch.tanh(inputs)" in lines and "torch.mean(h, dim=1)" in lines
    assert "torch.sigmoid(" in result.output


def test_ops_in_a_helper_use_its_arguments_values():
    result = convert(
        """\
        def gated(t, scale):
            g = layers.Dense(4)(t)
            return ops.sigmoid(g) * scale

        inputs = keras.Input(shape=(10, 4))
        h = gated(inputs, 0.5)
        outputs = layers.Dense(1)(layers.Flatten()(h))
        """
    )
    assert result.ok, [d.format() for d in result.diagnostics]
    assert "torch.sigmoid(g) * 0.5" in forward(result)
    assert "nn.Linear(40, 1)" in result.output


def test_an_op_whose_shape_k2t_cannot_tell_before_a_dense_is_a_located_k2t103():
    result = convert(
        """\
        inputs = keras.Input(shape=(10, 4))
        h = ops.repeat(inputs, 2, axis=1)
        outputs = layers.Dense(1)(layers.Flatten()(h))
        """
    )
    assert [(d.line, d.code) for d in result.diagnostics] == [(10, "K2T103")], [d.format() for d in result.diagnostics]
    assert "k2t cannot tell the shape of `ops.repeat(inputs, 2, axis=1)`" in result.diagnostics[0].message


def test_an_op_outside_the_vocabulary_is_reported_at_it():
    result = convert(
        """\
        inputs = keras.Input(shape=(10, 4))
        h = ops.not_an_op(inputs)
        outputs = layers.Dense(1)(h)
        """
    )
    assert [(d.line, d.code) for d in result.diagnostics] == [(10, "K2T100")], [d.format() for d in result.diagnostics]
    assert "keras.ops.not_an_op" in result.diagnostics[0].message


def test_a_local_of_the_building_function_k2t_cannot_tell_is_a_k2t103():
    result = convert(
        """\
        def build(units):
            inputs = keras.Input(shape=(10, 4))
            h = layers.Dense(units)(inputs)
            factor = float(input())
            return keras.Model(inputs, layers.Dense(1)(h * factor))

        model = build(8)
        """,
        tail="",
    )
    assert any(
        d.code == "K2T103" and "`factor`, a local variable of `build`" in d.message for d in result.diagnostics
    ), [d.format() for d in result.diagnostics]


def test_a_known_local_of_the_building_function_is_written_as_its_value():
    result = convert(
        """\
        def build():
            factor = 0.25
            inputs = keras.Input(shape=(10, 4))
            h = layers.Dense(3)(inputs) * factor
            return keras.Model(inputs, layers.Dense(1)(layers.Flatten()(h)))

        model = build()
        """,
        tail="",
    )
    assert result.ok, [d.format() for d in result.diagnostics]
    assert "* 0.25" in forward(result)


@pytest.mark.parametrize(
    "statement",
    ["h = ops.concatenate(parts, axis=-1)", "h = h << 2"],
    ids=["a-named-list-of-tensors", "an-operator-k2t-does-not-translate"],
)
def test_what_k2t_does_not_follow_is_a_k2t103(statement):
    result = convert(
        f"""\
        inputs = keras.Input(shape=(10, 4))
        h = layers.Flatten()(inputs)
        parts = [h, h]
        {statement}
        outputs = layers.Dense(1)(h)
        """
    )
    assert not result.ok
    assert any(d.code == "K2T103" for d in result.diagnostics), [d.format() for d in result.diagnostics]
    assert "class Net" not in result.output


def test_an_op_no_model_uses_is_dropped_with_a_warning():
    result = convert(
        """\
        inputs = keras.Input(shape=(10, 4))
        h = layers.Dense(3)(inputs)
        unused = ops.mean(h, axis=1)
        outputs = layers.Dense(1)(layers.Flatten()(h))
        """
    )
    assert result.ok, [d.format() for d in result.diagnostics]
    [warning] = result.diagnostics
    assert warning.code == "K2T104" and "`unused` is an op on Keras tensors" in warning.message
    assert "unused" not in result.output


@pytest.mark.parametrize(
    "op",
    ["ops.transpose(h, (0, 2, 1))", "tf.transpose(h, perm=[0, 2, 1])", "K.permute_dimensions(h, (0, 2, 1))"],
)
def test_a_permutation_of_axes_gives_the_sizes_in_its_order(op):
    result = convert(
        f"""\
        from keras import backend as K
        inputs = keras.Input(shape=(10, 4))
        h = layers.Dense(3)(inputs)
        h = {op}
        outputs = layers.Dense(1)(h)
        """
    )
    assert result.ok, [d.format() for d in result.diagnostics]
    assert "h = torch.permute(h, " in forward(result)
    assert "nn.Linear(10, 1)" in result.output  # (3, 10): the Dense reads the 10 steps
