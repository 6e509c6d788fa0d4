"""An Embedding built and filled before a model uses it (keras.io's "Using pre-trained word embeddings"):
``layer.build((1,))`` and ``layer.set_weights([matrix])`` fold into the layer, which its model takes as it
takes ``Embedding(..., weights=[matrix])`` (k2t.parse.pretrained_layers)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from conftest import requires_keras, requires_torch, run_standalone

import k2t

SCRIPT = """\
import numpy as np
import keras
from keras import layers
from keras.layers import Embedding

rng = np.random.RandomState(0)
num_tokens, embedding_dim = 30, 4
embedding_matrix = np.zeros((num_tokens, embedding_dim))
for i in range(1, num_tokens):
    embedding_matrix[i] = rng.normal(size=embedding_dim)

embedding_layer = Embedding(
    num_tokens,
    embedding_dim,
    trainable=False,
)
SETUP
int_sequences_input = keras.Input(shape=(None,), dtype="int32")
embedded_sequences = embedding_layer(int_sequences_input)
x = layers.GlobalMaxPooling1D()(embedded_sequences)
preds = layers.Dense(3, activation="softmax")(x)
model = keras.Model(int_sequences_input, preds)
x_train = rng.randint(0, num_tokens, size=(64, 7))
y_train = rng.randint(0, 3, size=(64,))
model.compile(loss="sparse_categorical_crossentropy", optimizer="rmsprop", metrics=["acc"])
model.fit(x_train, y_train, batch_size=16, epochs=1, verbose=0)
"""
SETUP = "embedding_layer.build((1,))\nembedding_layer.set_weights([embedding_matrix])"


def convert(setup: str = SETUP, script: str = SCRIPT):
    return k2t.convert_source(script.replace("SETUP", setup), "embeddings.py")


def test_build_and_set_weights_fold_into_the_layer_of_the_model() -> None:
    result = convert()
    assert result.diagnostics == (), [d.format() for d in result.diagnostics]
    compact = "".join(result.output.split())
    assert "nn.Embedding.from_pretrained(torch.as_tensor(embedding_matrix,dtype=torch.float32),freeze=True)" in compact
    assert "embedding_matrix=embedding_matrix" in compact  # the model is given the matrix the script filled
    for gone in ("set_weights", ".build(", "embedding_layer =", "from keras"):
        assert gone not in result.output


@requires_torch
def test_the_converted_model_starts_from_the_matrix_and_keeps_it(tmp_path) -> None:
    script = SCRIPT.replace("SETUP", SETUP) + (
        "\nlayer = [module for module in model.modules() if isinstance(module, torch.nn.Embedding)][0]\n"
        "np.save(OUT, layer.weight.detach().numpy())\n"
    )
    result = k2t.convert_source(script.replace("import keras\n", "import keras\nimport torch\n"), "embeddings.py")
    out = tmp_path / "weights.npy"
    path = tmp_path / "converted.py"
    path.write_text(result.output.replace("OUT", repr(str(out))))
    run = run_standalone(path)
    assert run.returncode == 0, run.stderr[-2000:]
    rng = np.random.RandomState(0)
    expected = np.zeros((30, 4))
    for i in range(1, 30):
        expected[i] = rng.normal(size=4)
    np.testing.assert_allclose(np.load(out), expected.astype(np.float32))  # trainable=False: unchanged by fit


@requires_keras
def test_keras_model_holds_the_weights_set_before_it_was_built(tmp_path) -> None:
    """The premise of the fold: Keras's model takes the layer with the matrix set_weights copied into it."""
    script = SCRIPT.replace("SETUP", SETUP) + (
        "\nnp.testing.assert_array_equal(model.layers[1].get_weights()[0], embedding_matrix.astype('float32'))\n"
    )
    path = tmp_path / "keras_side.py"
    path.write_text(script)
    run = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stderr[-2000:]


def test_a_sequential_model_takes_the_filled_layer_too() -> None:
    script = (
        "import numpy as np\nimport keras\nfrom keras import layers\n"
        "matrix = np.ones((10, 3))\n"
        "emb = layers.Embedding(10, 3)\n"
        "emb.build((1,))\n"
        "emb.set_weights([matrix])\n"
        "model = keras.Sequential([keras.Input(shape=(5,)), emb, layers.Flatten(), layers.Dense(1)])\n"
        "model.compile(optimizer='adam', loss='mse')\n"
        "model.fit(np.zeros((8, 5)), np.zeros((8, 1)), epochs=1, verbose=0)\n"
    )
    result = k2t.convert_source(script, "seq.py")
    assert result.diagnostics == (), [d.format() for d in result.diagnostics]
    assert "torch.as_tensor(matrix, dtype=torch.float32)" in result.output
    assert "freeze=True" not in result.output  # trainable, as Keras's layer is


@pytest.mark.parametrize(
    "setup",
    [
        pytest.param("embedding_layer.set_weights(weights)", id="weights-list-in-a-name"),
        pytest.param("embedding_layer.set_weights([embedding_matrix, embedding_matrix])", id="two-matrices"),
        pytest.param("print(embedding_layer)\nembedding_layer.set_weights([embedding_matrix])", id="read-before"),
        pytest.param("if True:\n    embedding_layer.set_weights([embedding_matrix])", id="inside-a-block"),
    ],
)
def test_what_the_fold_does_not_take_stays_a_located_diagnostic(setup: str) -> None:
    result = convert("weights = [embedding_matrix]\n" + setup)
    assert not result.ok
    assert any(d.code == "K2T100" and "embedding_layer" in d.message for d in result.diagnostics), [
        d.format() for d in result.diagnostics
    ]
    assert "set_weights(" in result.output  # the line stays, under its TODO


def test_set_weights_after_a_model_took_the_layer_is_not_folded() -> None:
    """Keras would change the weights of the model already built; the fold would not: reported."""
    script = SCRIPT.replace("SETUP\n", "").replace(
        "model = keras.Model(int_sequences_input, preds)\n",
        "model = keras.Model(int_sequences_input, preds)\nembedding_layer.set_weights([embedding_matrix])\n",
    )
    result = k2t.convert_source(script, "late.py")
    assert not result.ok
    assert any("embedding_layer" in d.message for d in result.diagnostics), [d.format() for d in result.diagnostics]


TEXT_MODEL = """\
import numpy as np
import keras
from keras import layers

texts = np.array([["the cat sat"], ["a dog ran"], ["the dog sat"], ["a cat ran"]])
vectorizer = layers.TextVectorization(max_tokens=20, output_sequence_length=4)
vectorizer.adapt(texts)
int_input = keras.Input(shape=(None,), dtype="int64")
x = layers.Embedding(20, 2)(int_input)
x = layers.GlobalAveragePooling1D()(x)
preds = layers.Dense(2, activation="softmax")(x)
model = keras.Model(int_input, preds)
string_input = keras.Input(shape=(1,), dtype="string")
end_to_end_model = keras.Model(string_input, model(vectorizer(string_input)))
probabilities = end_to_end_model(keras.ops.convert_to_tensor([["the cat ran"]]))
class_names = ["cats", "dogs"]
print(class_names[np.argmax(probabilities[0])])
"""


@requires_torch
def test_strings_given_to_a_model_call_stay_numpy_arrays(tmp_path) -> None:
    """keras.io's end-to-end model called on ``keras.ops.convert_to_tensor([["..."]])``: torch has no string
    tensor; the model's preprocess takes NumPy's strings."""
    result = k2t.convert_source(TEXT_MODEL, "end_to_end.py")
    assert result.diagnostics == (), [d.format() for d in result.diagnostics]
    assert 'np.array([["the cat ran"]])' in result.output
    path = tmp_path / "end_to_end.py"
    path.write_text(result.output)
    run = run_standalone(path)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip() in ("cats", "dogs")
