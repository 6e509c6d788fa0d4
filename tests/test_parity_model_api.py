"""Exact parity for models built from layers held in variables, and for frozen layers (transfer learning)."""

import textwrap
from pathlib import Path

import pytest
from conftest import requires_keras, requires_torch
from parity_cases import assert_parity

pytestmark = [requires_torch, requires_keras, pytest.mark.parity]

DATA = """\
import numpy as np
import keras
from keras import layers

rng = np.random.RandomState(0)
x = rng.normal(size=(96, 8)).astype("float32")
y = (x.sum(1) > 0).astype("float32")
keras.utils.set_random_seed(0)
"""


def case(body: str) -> str:
    return DATA + textwrap.dedent(body)


CASES = {
    # A layer list in a variable, concatenated with layers written in the call.
    "list_concatenated": """\
        hidden = [layers.Dense(16, activation="relu"), layers.Dense(8, activation="relu")]
        model = keras.Sequential([keras.Input(shape=(8,))] + hidden + [layers.Dense(1, activation="sigmoid")])
        model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
        model.fit(x, y, batch_size=16, epochs=3, verbose=0)
        """,
    "list_comprehension": """\
        sizes = (16, 12, 8)
        hidden = [layers.Dense(units, activation="tanh") for units in sizes]
        model = keras.Sequential([keras.Input(shape=(8,))] + hidden + [layers.Dense(1, activation="sigmoid")])
        model.compile(optimizer="sgd", loss="binary_crossentropy")
        model.fit(x, y, batch_size=16, epochs=3, verbose=0)
        """,
    # A list built by appending in a loop over known sizes, the Input included, then Sequential(list).
    "list_appended_in_loop": """\
        stack = [keras.Input(shape=(8,))]
        for units in (16, 8):
            stack.append(layers.Dense(units, activation="relu"))
            stack.append(layers.BatchNormalization())
        stack.append(layers.Dense(1, activation="sigmoid"))
        model = keras.Sequential(stack)
        model.compile(optimizer="adam", loss="binary_crossentropy")
        model.fit(x, y, batch_size=16, epochs=3, verbose=0)
        """,
    # model.add() of a layer made earlier.
    "add_layer_variable": """\
        encoder = layers.Dense(12, activation="relu")
        model = keras.Sequential([keras.Input(shape=(8,))])
        model.add(encoder)
        model.add(layers.Dense(1, activation="sigmoid"))
        model.compile(optimizer="adam", loss="binary_crossentropy")
        model.fit(x, y, batch_size=16, epochs=3, verbose=0)
        """,
    # Freezing through every spelling: model.layers[i], get_layer by Keras's name and by name=, a layer variable.
    "freeze_layers": """\
        first = layers.Dense(16, activation="relu")
        model = keras.Sequential([
            keras.Input(shape=(8,)),
            first,
            layers.Dense(12, activation="relu"),
            layers.Dense(8, activation="relu", name="features"),
            layers.Dense(1, activation="sigmoid"),
        ])
        first.trainable = False
        model.layers[1].trainable = False
        model.get_layer("features").trainable = False
        model.get_layer("dense_1").trainable = True
        model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
        model.fit(x, y, batch_size=16, epochs=3, verbose=0)
        """,
    # Transfer learning: a base with its own Input (and a BatchNormalization, which frozen runs in inference
    # mode) frozen whole, under a head that takes its input shape from the base.
    "frozen_base_with_batch_norm": """\
        base = keras.Sequential([
            keras.Input(shape=(8,)),
            layers.Dense(16, activation="relu"),
            layers.BatchNormalization(),
            layers.Dense(8, activation="relu"),
        ])
        base.trainable = False
        model = keras.Sequential([base, layers.Dense(1, activation="sigmoid")])
        model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
        model.fit(x, y, batch_size=16, epochs=3, verbose=0)
        """,
    # Some layers of a Functional base frozen by a loop over a slice; the BatchNormalization among them.
    "frozen_slice_of_functional_base": """\
        inputs = keras.Input(shape=(8,))
        h = layers.Dense(16, activation="relu")(inputs)
        h = layers.BatchNormalization()(h)
        h = layers.Dense(8, activation="relu")(h)
        base = keras.Model(inputs, h)
        for layer in base.layers[:3]:
            layer.trainable = False
        model = keras.Sequential([base, layers.Dense(1, activation="sigmoid")])
        model.compile(optimizer="rmsprop", loss="binary_crossentropy")
        model.fit(x, y, batch_size=16, epochs=3, verbose=0)
        """,
    # TensorFlow's Keras skips `base.trainable = True` while base's own flag is True: its layers frozen one by
    # one stay frozen.
    "unfreezing_a_model_never_frozen_changes_nothing": """\
        base = keras.Sequential([keras.Input(shape=(8,)), layers.Dense(16, activation="relu"), layers.Dense(8, activation="relu")])
        for layer in base.layers:
            layer.trainable = False
        base.trainable = True
        model = keras.Sequential([base, layers.Dense(8, activation="relu"), layers.Dense(1, activation="sigmoid")])
        model.compile(optimizer="adam", loss="binary_crossentropy")
        model.fit(x, y, batch_size=16, epochs=3, verbose=0)
        """,
    # The layers read where the script reads them (names, flags, a Dense's units, a weight read back) around
    # freezing through get_layer and model.layers.
    "introspection_and_freezing_by_get_layer": """\
        model = keras.Sequential([
            layers.Input(shape=(8,)),
            layers.Dense(32, activation="relu", name="hidden1"),
            layers.Dense(16, activation="relu", name="hidden2"),
            layers.Dense(1, activation="sigmoid", name="out"),
        ])
        first = model.layers[0]
        print(first.name, first.units)
        model.get_layer("hidden2").trainable = False
        model.layers[0].trainable = False
        for layer in model.layers:
            print(layer.name, layer.trainable)
        model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
        model.fit(x, y, batch_size=16, epochs=3, verbose=0)
        w = model.get_layer("out").get_weights()
        print(w[0].shape)
        """,
    # Built frozen (trainable=False): pretrained embeddings as Keras 2 scripts pass them (weights=[matrix]), and a
    # frozen Dense whose regularizer Keras then leaves out of the loss.
    "pretrained_embedding_frozen": """\
        ids = rng.randint(1, 40, size=(96, 6))
        matrix = rng.normal(size=(40, 5))
        model = keras.Sequential([
            keras.Input(shape=(6,)),
            layers.Embedding(40, 5, weights=[matrix], trainable=False),
            layers.Flatten(),
            layers.Dense(8, activation="relu"),
            layers.Dense(1, activation="sigmoid"),
        ])
        model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
        model.fit(ids, y, batch_size=16, epochs=3, verbose=0)
        """,
    "pretrained_embedding_trained": """\
        ids = rng.randint(1, 40, size=(96, 6))
        matrix = rng.normal(size=(40, 5)).astype("float32")
        inputs = keras.Input(shape=(6,))
        h = layers.Embedding(40, 5, embeddings_initializer=keras.initializers.Constant(matrix))(inputs)
        h = layers.GlobalAveragePooling1D()(h)
        model = keras.Model(inputs, layers.Dense(1, activation="sigmoid")(h))
        model.compile(optimizer="adam", loss="binary_crossentropy")
        model.fit(ids, y, batch_size=16, epochs=3, verbose=0)
        """,
    "dense_built_frozen_with_a_regularizer": """\
        inputs = keras.Input(shape=(8,))
        h = layers.Dense(12, activation="relu", kernel_regularizer="l2", trainable=False)(inputs)
        h = layers.Dense(6, activation="relu", kernel_regularizer="l2")(h)
        model = keras.Model(inputs, layers.Dense(1, activation="sigmoid")(h))
        model.compile(optimizer="rmsprop", loss="binary_crossentropy")
        model.fit(x, y, batch_size=16, epochs=3, verbose=0)
        """,
}


@pytest.mark.parametrize("name", list(CASES))
def test_model_api(name, tmp_path):
    assert_parity(case(CASES[name]), tmp_path)


TRANSFER_LEARNING = Path(__file__).resolve().parent.parent / "fixtures" / "transfer_learning_freeze" / "input.py"


@pytest.mark.parametrize(
    "fit_index",
    [
        pytest.param(1, id="head_on_partly_frozen_base"),  # frozen Dense and BatchNormalization (inference mode)
        pytest.param(2, id="fine_tuning_after_unfreezing"),  # the base trainable again, the head's hidden layer frozen
    ],
)
def test_transfer_learning_fixture(fit_index, tmp_path):
    """The fixture's fits after the pretraining, each from the same weights on both sides."""
    from k2t.parity import exact_parity

    source = TRANSFER_LEARNING.read_text(encoding="utf-8")
    script = tmp_path / "input.py"
    script.write_text(source, encoding="utf-8")
    report = exact_parity(source, epochs=3, path=script, fit_index=fit_index)
    assert report.error is None, report.error
    assert report.ok, "\n".join(report.failures) + f"\nkeras: {report.keras_history}\ntorch: {report.torch_history}"
    assert list(report.torch_history) == list(report.keras_history)


# ------------------------------------------------------------------ what the script reads of the layers, run side by side
# The layers' weights read back after training (Keras's layouts: a Dense kernel (in, out), a Conv2D kernel
# (kh, kw, in, out), BatchNormalization's moving statistics), one layer frozen through get_layer.
READ_BACK = """\
import numpy as np
import keras
from keras import layers

rng = np.random.RandomState(0)
{data}
keras.backend.clear_session()  # Keras's automatic names count from here (the tests share one process)
keras.utils.set_random_seed(0)
model = keras.Sequential([
{layers}
])
model.get_layer("hidden").trainable = False
model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
frozen = model.get_layer("hidden").get_weights()
history = model.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
weights = []
for layer in model.layers:
    weights.append((layer.name, layer.trainable, layer.get_weights()))
hidden = model.get_layer("hidden")
kernel, bias = hidden.get_weights()
"""
READ_BACK_MODELS = {
    "conv_batch_norm_dense": (
        'x = rng.normal(size=(32, 6, 6, 2)).astype("float32")\ny = rng.normal(size=(32, 1)).astype("float32")',
        """\
    keras.Input(shape=(6, 6, 2)),
    layers.Conv2D(4, 3, activation="relu"),
    layers.BatchNormalization(),
    layers.Flatten(),
    layers.Dense(5, activation="tanh", name="hidden"),
    layers.Dense(1),""",
    ),
    "embedding_dense": (
        'x = rng.randint(0, 10, size=(32, 5))\ny = rng.normal(size=(32, 1)).astype("float32")',
        """\
    keras.Input(shape=(5,)),
    layers.Embedding(10, 3),
    layers.Flatten(),
    layers.Dense(4, name="hidden"),
    layers.LayerNormalization(),
    layers.Dense(1, use_bias=False),""",
    ),
}


@pytest.mark.parametrize("name", list(READ_BACK_MODELS))
def test_weights_read_back_after_training_are_kerass(name):
    import numpy as np
    from split_runs import run_both

    import k2t

    data, stack = READ_BACK_MODELS[name]
    source = READ_BACK.format(data=data, layers=stack)
    result = k2t.convert_source(source, "read_back.py")
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    keras_namespace, torch_namespace = run_both(source, result.output, "\nhistory = ")
    np.testing.assert_allclose(
        torch_namespace["history"].history["loss"], keras_namespace["history"].history["loss"], rtol=1e-5
    )
    assert len(torch_namespace["weights"]) == len(keras_namespace["weights"])
    for (keras_name, keras_flag, keras_arrays), (torch_name, torch_flag, torch_arrays) in zip(
        keras_namespace["weights"], torch_namespace["weights"]
    ):
        assert (torch_name, torch_flag) == (keras_name, keras_flag)
        assert [a.shape for a in torch_arrays] == [a.shape for a in keras_arrays], keras_name
        for torch_array, keras_array in zip(torch_arrays, keras_arrays):
            np.testing.assert_allclose(torch_array, keras_array, atol=1e-5, err_msg=keras_name)
    for torch_array, keras_array in zip(torch_namespace["frozen"], keras_namespace["frozen"]):
        np.testing.assert_allclose(torch_array, keras_array, atol=1e-6)
    np.testing.assert_allclose(torch_namespace["kernel"], keras_namespace["kernel"], atol=1e-6)
    np.testing.assert_array_equal(keras_namespace["kernel"], keras_namespace["frozen"][0])  # frozen: unchanged


# A model of the trained layers up to one of them, from a Sequential (its inputs and a layer's output) and from
# a Functional model (its input and a layer's output): the same features as Keras's after training.
EXTRACTORS = {
    "sequential": """\
model = keras.Sequential([
    keras.Input(shape=(10,)),
    layers.Dense(16, activation="relu", name="d1"),
    layers.Dense(8, activation="relu", name="d2"),
    layers.Dense(1, name="out"),
])
""",
    "functional": """\
inputs = keras.Input(shape=(10,))
h = layers.Dense(16, activation="relu", name="d1")(inputs)
h = layers.Dense(8, activation="relu", name="d2")(h)
model = keras.Model(inputs, layers.Dense(1, name="out")(h))
""",
}
EXTRACTOR = """\
import numpy as np
import keras
from keras import layers

rng = np.random.RandomState(0)
X = rng.normal(size=(40, 10)).astype("float32")
y = rng.normal(size=(40,)).astype("float32")
keras.utils.set_random_seed(0)
{model}model.compile(optimizer="adam", loss="mse")
history = model.fit(X, y, epochs=3, batch_size=8, shuffle=False, verbose=0)
extractor = keras.Model(inputs=model.inputs, outputs=model.get_layer("d2").output)
features = extractor.predict(X, verbose=0)
head_input = keras.Input(shape=model.input_shape[1:])
"""


@pytest.mark.parametrize("name", list(EXTRACTORS))
def test_a_feature_extractor_of_the_trained_layers_predicts_as_keras(name):
    import numpy as np
    from split_runs import run_both

    import k2t

    source = EXTRACTOR.format(model=EXTRACTORS[name])
    result = k2t.convert_source(source, "extractor.py")
    assert result.ok, [d.format() for d in result.diagnostics]
    assert "extractor = Extractor(d1=model.d1, d2=model.d2).to(device)" in result.output
    keras_namespace, torch_namespace = run_both(source, result.output, "\nhistory = ")
    np.testing.assert_allclose(
        torch_namespace["history"].history["loss"], keras_namespace["history"].history["loss"], rtol=1e-5
    )
    assert torch_namespace["features"].shape == keras_namespace["features"].shape == (40, 8)
    np.testing.assert_allclose(torch_namespace["features"], keras_namespace["features"], atol=1e-5)


# keras.io's structured-data models: a dict of named Inputs concatenated, trained on a dict of arrays (Keras
# feeds them by key).
DICT_INPUTS = """\
import numpy as np
import keras
from keras import layers

rng = np.random.RandomState(0)
FEATURES = {"age": 1, "income": 1, "hist": 4}
data = {name: rng.normal(size=(50, dim)).astype("float32") for name, dim in FEATURES.items()}
y = (data["hist"].sum(axis=1) > data["age"][:, 0]).astype("float32")
keras.utils.set_random_seed(0)
inputs = {name: keras.Input(shape=(dim,), name=name) for name, dim in FEATURES.items()}
x = layers.concatenate(list(inputs.values()))
x = layers.Dense(8, activation="relu")(x)
out = layers.Dense(1, activation="sigmoid")(x)
model = keras.Model(inputs=inputs, outputs=out)
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
history = model.fit(data, y, epochs=3, batch_size=10, shuffle=False, verbose=0)
predictions = model.predict({name: data[name][:7] for name in reversed(list(FEATURES))}, verbose=0)
"""


def test_a_dict_of_inputs_trains_and_predicts_as_keras():
    import numpy as np
    from split_runs import run_both

    import k2t

    result = k2t.convert_source(DICT_INPUTS, "dict_inputs.py")
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    keras_namespace, torch_namespace = run_both(DICT_INPUTS, result.output, "\nhistory = ")
    for key in ("loss", "accuracy"):
        np.testing.assert_allclose(
            torch_namespace["history"].history[key], keras_namespace["history"].history[key], rtol=1e-5
        )
    np.testing.assert_allclose(torch_namespace["predictions"], keras_namespace["predictions"], atol=1e-5)


FASTTEXT = """\
import numpy as np
import keras
from keras import layers

rng = np.random.RandomState(0)
max_features, maxlen, embedding_dims = 50, 12, 6
x = rng.randint(1, max_features, size=(96, maxlen))
y = (x[:, 0] > 25).astype("float32")
keras.utils.set_random_seed(0)
model = keras.Sequential()
{first}
model.add(layers.AveragePooling1D({pool}=model.output_shape[1]))
model.add(layers.Flatten())
model.add(layers.Dense(1, activation="sigmoid"))
model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
model.fit(x, y, batch_size=16, epochs=3, verbose=0)
"""


def test_a_pool_sized_by_the_output_shape_of_the_layers_added_so_far_trains_as_keras(tmp_path):
    """Keras 2's imdb_fasttext: `AveragePooling1D(pool_length=model.output_shape[1])` after an Embedding with
    input_length= (Keras 3 needs an Input to give the shape; Keras 2's Embedding built the model)."""
    from parity_cases import assert_converted_parity

    keras2 = FASTTEXT.format(
        first="model.add(layers.Embedding(max_features, embedding_dims, input_length=maxlen))", pool="pool_length"
    )
    keras3 = FASTTEXT.format(
        first="model.add(keras.Input(shape=(maxlen,)))\nmodel.add(layers.Embedding(max_features, embedding_dims))",
        pool="pool_size",
    )
    assert_converted_parity(keras2, keras3, tmp_path)
