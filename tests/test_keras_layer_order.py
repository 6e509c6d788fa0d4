"""``model.layers`` of a Functional model in Keras's own order (graph.keras_layer_order), checked against Keras.

Keras orders a graph's layers by depth from the outputs, ties broken by a depth-first walk; scripts
pick layers by that index (``model.layers[2].output`` in keras.io's lstm_seq2seq), so k2t must know it
for any graph, not only a chain.
"""

import textwrap

import pytest

import k2t
from k2t.parse import parse
from k2t.parse.graph import keras_layer_order

GRAPHS = {
    "seq2seq": """
        encoder_inputs = keras.Input(shape=(None, 5), name="enc_in")
        _, h, c = keras.layers.LSTM(4, return_state=True, name="enc")(encoder_inputs)
        decoder_inputs = keras.Input(shape=(None, 6), name="dec_in")
        out, _, _ = keras.layers.LSTM(4, return_sequences=True, return_state=True, name="dec")(
            decoder_inputs, initial_state=[h, c]
        )
        out = keras.layers.Dense(6, activation="softmax", name="head")(out)
        model = keras.Model([encoder_inputs, decoder_inputs], out)
    """,
    "residual": """
        inputs = keras.Input(shape=(8,), name="x")
        a = keras.layers.Dense(8, name="a")(inputs)
        b = keras.layers.Dense(8, name="b")(a)
        b = keras.layers.Dense(8, name="c")(b)
        s = keras.layers.Add(name="merge")([a, b])
        t = s + a
        out = keras.layers.Dense(1, name="out")(t)
        model = keras.Model(inputs, out)
    """,
    "siamese": """
        left = keras.Input(shape=(4,), name="left")
        right = keras.Input(shape=(4,), name="right")
        shared = keras.layers.Dense(3, name="shared")
        deep = keras.layers.Dense(4, name="deep")(right)
        l = shared(left)
        r = shared(deep)
        merged = keras.layers.Concatenate(name="cat")([l, r])
        out = keras.layers.Dense(1, name="out")(merged)
        model = keras.Model([left, right], out)
    """,
    "two_heads_unused_input": """
        inputs = keras.Input(shape=(6,), name="x")
        extra = keras.Input(shape=(2,), name="unused")
        trunk = keras.layers.Dense(5, name="trunk")(inputs)
        long = keras.layers.Dense(5, name="long1")(trunk)
        long = keras.layers.Dense(2, name="long2")(long)
        short = keras.layers.Dense(3, name="short")(trunk)
        model = keras.Model([inputs, extra], [short, long])
    """,
    "attention": """
        query = keras.Input(shape=(3, 4), name="q")
        value = keras.Input(shape=(5, 4), name="v")
        key_in = keras.Input(shape=(5, 4), name="k")
        projected = keras.layers.Dense(4, name="proj")(key_in)
        attended = keras.layers.MultiHeadAttention(num_heads=2, key_dim=2, name="mha")(query, value, key=projected)
        out = keras.layers.GlobalAveragePooling1D(name="pool")(attended)
        model = keras.Model([query, value, key_in], out)
    """,
    "nested_models": """
        generator = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(4)], name="gen")
        critic = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(1)], name="critic")
        z = keras.Input(shape=(3,), name="z")
        side = keras.layers.Dense(4, name="side")(z)
        mixed = keras.layers.Add(name="mix")([generator(z), side])
        model = keras.Model(z, [critic(mixed), side])
    """,
    "outputs_read_twice": """
        inputs = keras.Input(shape=(5, 3), name="seq")
        out, h, c = keras.layers.LSTM(4, return_sequences=True, return_state=True, name="rnn")(inputs)
        pooled = keras.layers.GlobalAveragePooling1D(name="pool")(out)
        state = keras.layers.Concatenate(name="cat")([c, h, pooled])
        head = keras.layers.Dense(2, name="head")(state)
        model = keras.Model(inputs, [head, h])
    """,
}


def _source(body: str) -> str:
    return "import keras\n" + textwrap.dedent(body)


def _k2t_names(source: str) -> list[str]:
    script = parse(source, "graph.py")
    assert script.todos == [], script.todos
    [model] = [m for m in script.models if m.var == "model"]
    names = []
    for tensor in keras_layer_order(model.graph.inputs, model.graph.outputs):
        if tensor.layer is None:
            names.append(tensor.input_name)
        elif tensor.layer.model is not None:  # a model used as a layer: named where it is built
            names.append(tensor.layer.model.call.kwarg("name").literal)
        else:
            names.append(tensor.layer.kwarg("name").literal)
    return names


@pytest.mark.parity
@pytest.mark.parametrize("graph", GRAPHS)
def test_functional_layers_are_listed_in_keras_order(graph):
    import keras

    source = _source(GRAPHS[graph])
    namespace: dict = {}
    exec(compile(source, "graph.py", "exec"), namespace)  # noqa: S102 - the test's own script
    keras_names = [layer.name for layer in namespace["model"].layers]
    assert isinstance(namespace["keras"], type(keras))
    assert _k2t_names(source) == keras_names


RESTORED = """\
import keras
import numpy as np
a = keras.Input(shape=(4,))
b = keras.Input(shape=(3,))
h = keras.layers.Dense(5)(a)
out = keras.layers.Concatenate()([h, b])
out = keras.layers.Dense(1)(out)
model = keras.Model([a, b], out)
model.compile(loss="mse", optimizer="adam")
model.fit([np.zeros((8, 4)), np.zeros((8, 3))], np.zeros((8, 1)), epochs=1)
model.save("m.keras")
model = keras.models.load_model("m.keras")
"""


@pytest.mark.parametrize(
    "line, expected",
    [
        # Keras lists [a, dense, b, concatenate, dense_1]: index 2 is the second InputLayer.
        ("x = model.layers[2].output", "K2T103 `.output` of an InputLayer of a model with several inputs is not translated"),
        ("x = model.input[2]", "K2T103 `model.input[2]`: the list holds 2 Keras tensors (IndexError)"),
        ("x, y = model.layers[1].output", "K2T103 `model.layers[1].output` is one Keras tensor: k2t does not unpack it"),
        ("x, y, z = model.input", "K2T103 2 Keras tensors unpacked into 3 names (Python raises ValueError)"),
        (
            "other = keras.models.load_model('other.keras')\nx = other.input[0]",
            "K2T103 k2t cannot tell the tensors of this model (it is not built by the script)",
        ),
    ],
)
def test_tensors_of_a_restored_model_k2t_cannot_follow_are_reported(line, expected):
    result = k2t.convert_source(RESTORED + line + "\n", "restored.py")
    assert not result.ok
    assert expected in [f"{d.code} {d.message}" for d in result.diagnostics]


def test_a_restored_models_layer_by_keras_position_feeds_a_new_model():
    source = RESTORED + "features = keras.Model(model.input[0], model.layers[1].output)\n"
    result = k2t.convert_source(source, "restored.py")
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    assert "features = Features(dense=model.dense).to(device)" in result.output


def test_a_restored_models_layers_under_another_name_are_reported():
    """`features` would hold the layers of `model`'s module, not of `restored`'s: a diagnostic, not a guess."""
    source = RESTORED.replace("model = keras.models", "restored = keras.models") + (
        "features = keras.Model(restored.input[0], restored.layers[1].output)\n"
    )
    result = k2t.convert_source(source, "restored.py")
    assert not result.ok
    assert any("restored model bound to the name of the model saved there" in d.message for d in result.diagnostics)
