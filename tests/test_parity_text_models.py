"""Models whose first layer is a TextVectorization or a lookup on the script's raw data (issue 13): keras.io's
end-to-end model (`indices = vectorize_layer(inputs)` on `keras.Input(shape=(1,), dtype="string")`) and a
Sequential that starts with the adapted layer. The torch module takes the ids; its preprocess() runs the
generated NumPy class first. Exactness: from the same weights (transferred), the same predictions on strings
(known and unknown words, empty text), the same evaluation of a tf.data pipeline of strings, and the same
training histories on arrays of strings."""

import textwrap

import numpy as np
import pytest
from conftest import requires_keras, requires_torch

import k2t

RTOL = 1e-4

DATA = """
import numpy as np
import tensorflow as tf
import keras
from keras import layers

rng = np.random.RandomState(5)
words = ["good", "bad", "fine", "poor", "the", "a", "film", "plot", "was", "very"]
texts = np.array([" ".join(rng.choice(words, size=rng.randint(2, 9))).capitalize() + "." for _ in range(40)], dtype=object)
labels = np.array([float(("good" in t) or ("fine" in t)) for t in texts], dtype="float32")
unseen = np.array(["good film", "an unknown word, VERY good!", "", "bad bad bad plot"], dtype=object)

vectorize_layer = layers.TextVectorization(max_tokens=12, output_sequence_length=6)
vectorize_layer.adapt(texts)
keras.utils.set_random_seed(0)
"""

END_TO_END = """
inputs = keras.Input(shape=(1,), dtype="string")
indices = vectorize_layer(inputs)
x = layers.Embedding(12 + 1, 4)(indices)
x = layers.GlobalAveragePooling1D()(x)
outputs = layers.Dense(1, activation="sigmoid")(x)
model = keras.Model(inputs, outputs)
model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.5), loss="binary_crossentropy", metrics=["accuracy"])
"""


def _run_both(body: str, kind: str, tmp_path, head: str = DATA):
    """Run the script (``head``, then ``body``) on both sides up to its first `kind` call, then that call from
    the same weights."""
    from k2t.parity.capture import capture_first, run_keras, run_torch
    from k2t.parity.functional import keras_layers_for
    from k2t.parity.instrument import convert
    from k2t.weights import transfer_weights

    source = head + textwrap.dedent(body)
    conversion = convert(source, "case.py")
    assert conversion.output is not None and not conversion.diagnostics, conversion.diagnostics
    path = tmp_path / "case.py"
    kcap = capture_first(run_keras, source, path, kind=kind)
    tcap = capture_first(run_torch, conversion, path, kind=kind)
    assert kcap is not None and tcap is not None
    plan = conversion.module_plan(type(tcap.args[0]).__name__)
    keras_layers = keras_layers_for(kcap.args[0], plan) if plan.graph is not None else None
    transfer_weights(kcap.args[0], tcap.args[0], plan, keras_layers)
    return kcap.function(*kcap.args, **kcap.kwargs), tcap.function(*tcap.args, **tcap.kwargs)


def _same_predictions(keras_values, torch_values) -> None:
    keras_values = np.asarray(keras_values)
    assert np.asarray(torch_values).shape == keras_values.shape
    np.testing.assert_allclose(torch_values, keras_values, rtol=RTOL, atol=1e-6)


@requires_torch
@requires_keras
@pytest.mark.parity
def test_end_to_end_model_predicts_strings_as_keras(tmp_path):
    keras_values, torch_values = _run_both(END_TO_END + "model.predict(unseen, verbose=0)\n", "predict", tmp_path)
    _same_predictions(keras_values, torch_values)


@requires_torch
@requires_keras
@pytest.mark.parity
def test_end_to_end_model_trains_on_strings_as_keras(tmp_path):
    keras_history, torch_history = _run_both(
        END_TO_END + "model.fit(texts, labels, batch_size=8, epochs=3, shuffle=False, validation_split=0.25, verbose=0)\n",
        "fit",
        tmp_path,
    )
    assert list(torch_history.history) == list(keras_history.history)
    for key, values in keras_history.history.items():
        np.testing.assert_allclose(torch_history.history[key], values, rtol=RTOL, atol=1e-6, err_msg=key)


@requires_torch
@requires_keras
@pytest.mark.parity
@pytest.mark.parametrize("model", ["functional", "sequential"])
def test_text_vectorization_without_a_sequence_length_pads_each_batch_as_keras(tmp_path, model):
    """No output_sequence_length: Keras pads each batch to its longest text, which the average over the
    steps reads; batches of 8 of texts of 2 to 8 words have different longest texts (the validation rows'
    is shorter than the training rows')."""
    body = END_TO_END.replace("indices = vectorize_layer(inputs)", "indices = batch_padded(inputs)")
    if model == "sequential":
        body = (
            'model = keras.Sequential([keras.Input(shape=(1,), dtype="string"), batch_padded, layers.Embedding(13, 4),\n'
            '    layers.GlobalAveragePooling1D(), layers.Dense(1, activation="sigmoid")])\n'
            + body[body.index("model.compile(") :]
        )
    body = "batch_padded = layers.TextVectorization(max_tokens=12)\nbatch_padded.adapt(texts)\n" + body
    keras_history, torch_history = _run_both(
        body + "model.fit(texts, labels, batch_size=8, epochs=2, shuffle=False, validation_split=0.25, verbose=0)\n",
        "fit",
        tmp_path,
    )
    for key, values in keras_history.history.items():
        np.testing.assert_allclose(torch_history.history[key], values, rtol=RTOL, atol=1e-6, err_msg=key)


@requires_torch
@requires_keras
@pytest.mark.parity
def test_keras_io_end_to_end_model_evaluates_a_dataset_of_strings_as_keras(tmp_path):
    """keras.io's text_classification_from_scratch: a model trained on ids, wrapped with the vectorization."""
    keras_values, torch_values = _run_both(
        """
        ids_model = keras.Sequential(
            [keras.Input((6,), dtype="int64"), layers.Embedding(12, 4), layers.GlobalAveragePooling1D(), layers.Dense(1, activation="sigmoid")]
        )
        inputs = keras.Input(shape=(1,), dtype="string")
        indices = vectorize_layer(inputs)
        outputs = ids_model(indices)
        end_to_end_model = keras.Model(inputs, outputs)
        end_to_end_model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
        raw_test_ds = tf.data.Dataset.from_tensor_slices((texts, labels)).batch(16)
        end_to_end_model.evaluate(raw_test_ds, verbose=0)
        """,
        "evaluate",
        tmp_path,
    )
    np.testing.assert_allclose(torch_values, keras_values, rtol=RTOL, atol=1e-6)


@requires_torch
@requires_keras
@pytest.mark.parity
def test_sequential_starting_with_the_adapted_layer_predicts_as_keras(tmp_path):
    keras_values, torch_values = _run_both(
        """
        model = keras.Sequential([vectorize_layer, layers.Embedding(12, 4), layers.Flatten(), layers.Dense(3)])
        print(model(texts[:2]))  # builds the model (no Input)
        model.predict(unseen, verbose=0)
        """,
        "predict",
        tmp_path,
    )
    _same_predictions(keras_values, torch_values)


@requires_torch
@requires_keras
@pytest.mark.parity
@pytest.mark.parametrize(
    "lookup",
    [
        'layers.StringLookup(vocabulary=["good", "bad", "film"], num_oov_indices=2)',
        'layers.StringLookup(vocabulary=["good", "bad", "film"], mask_token="")',
        "layers.Hashing(num_bins=5)",
    ],
)
def test_sequential_starting_with_a_lookup_on_strings_predicts_as_keras(tmp_path, lookup):
    """Input(shape=(1,)) given one string per row: Keras adds the axis before the lookup, as preprocess() does."""
    keras_values, torch_values = _run_both(
        f"""
        lookup = {lookup}
        print(lookup(["good"]))
        model = keras.Sequential([keras.Input(shape=(1,), dtype="string"), lookup, layers.Embedding(6, 3), layers.Flatten(), layers.Dense(2)])
        model.predict(np.array(["good", "film", "unknown", "", "bad"], dtype=object), verbose=0)
        """,
        "predict",
        tmp_path,
    )
    _same_predictions(keras_values, torch_values)


@requires_torch
@requires_keras
@pytest.mark.parity
@pytest.mark.parametrize(
    ("layer", "adapt"),
    [
        ('layers.TextVectorization(output_mode="multi_hot")', "encode.adapt(texts)"),
        ('layers.TextVectorization(max_tokens=12, output_mode="count", pad_to_max_tokens=True)', "encode.adapt(texts)"),
        ('layers.TextVectorization(output_mode="tf_idf", ngrams=2)', "encode.adapt(texts)"),
        ('layers.StringLookup(output_mode="one_hot")', "encode.adapt(FIRST_WORDS)"),
        ('layers.StringLookup(output_mode="multi_hot", num_oov_indices=2)', "encode.adapt(FIRST_WORDS)"),
        ('layers.Hashing(num_bins=4, output_mode="one_hot")', ""),
    ],
)
def test_model_starting_with_an_encoding_predicts_as_keras(tmp_path, layer, adapt):
    """The encoding's size is the adapted vocabulary's (vocabulary_size(), read where the model is built),
    max_tokens with pad_to_max_tokens, or Hashing's num_bins."""
    keras_values, torch_values = _run_both(
        f"""
        FIRST_WORDS = [t.split()[0].lower() for t in texts]
        encode = {layer}
        {adapt}
        inputs = keras.Input(shape=(1,), dtype="string")
        x = encode(inputs)
        model = keras.Model(inputs, layers.Dense(3, activation="softmax")(layers.Dense(5, activation="relu")(x)))
        model.predict(np.array(["good", "film", "unknown", "", "bad", "very good film"], dtype=object), verbose=0)
        """,
        "predict",
        tmp_path,
    )
    _same_predictions(keras_values, torch_values)


STRUCTURED = """
import numpy as np
import pandas as pd
import tensorflow as tf
import keras
from keras import layers

rng = np.random.RandomState(0)
dataframe = pd.DataFrame({
    "cp": rng.randint(0, 4, size=40), "thal": rng.choice(["fixed", "normal", "reversible"], size=40),
    "chol": rng.normal(240.0, 40.0, size=40), "target": rng.randint(0, 2, size=40),
})
val_dataframe = dataframe.sample(frac=0.25, random_state=1337)
train_dataframe = dataframe.drop(val_dataframe.index)


def dataframe_to_dataset(dataframe):
    dataframe = dataframe.copy()
    labels = dataframe.pop("target")
    return tf.data.Dataset.from_tensor_slices((dict(dataframe), labels))


train_ds = dataframe_to_dataset(train_dataframe).batch(8)
val_ds = dataframe_to_dataset(val_dataframe).batch(8)
cp = keras.Input(shape=(1,), name="cp", dtype="int64")
thal = keras.Input(shape=(1,), name="thal", dtype="string")
chol = keras.Input(shape=(1,), name="chol")
cp_lookup = layers.IntegerLookup(output_mode="one_hot")
cp_lookup.adapt(train_ds.map(lambda x, y: x["cp"]).map(lambda x: tf.expand_dims(x, -1)))
thal_lookup = layers.StringLookup(output_mode="one_hot")
thal_lookup.adapt(train_ds.map(lambda x, y: x["thal"]).map(lambda x: tf.expand_dims(x, -1)))
chol_normalizer = layers.Normalization()
chol_normalizer.adapt(train_ds.map(lambda x, y: x["chol"]).map(lambda x: tf.expand_dims(x, -1)))
all_features = layers.concatenate([cp_lookup(cp), thal_lookup(thal), chol_normalizer(chol)])
output = layers.Dense(1, activation="sigmoid")(layers.Dense(4, activation="relu")(all_features))
model = keras.Model([cp, thal, chol], output)
model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
model.fit(train_ds, epochs=2, validation_data=val_ds, verbose=0)
"""


@requires_torch
@requires_keras
@pytest.mark.parity
@pytest.mark.parametrize("data", ["dataset", "arrays"])
def test_structured_data_lookups_one_per_input_train_as_keras(tmp_path, data):
    """keras.io's structured data classification: an IntegerLookup / StringLookup(output_mode="one_hot") on its
    own Input per column, adapted on a tf.data dataset of that column, beside a Normalization; the module's
    preprocess() runs each lookup on its column of a batch of dicts keyed by the Input names (dataset), or of
    the whole dict of arrays before fit's validation split (arrays)."""
    source = STRUCTURED
    if data == "arrays":
        source = source.replace(
            "model.fit(train_ds, epochs=2, validation_data=val_ds, verbose=0)",
            'columns = {name: train_dataframe[name].to_numpy(dtype=object if name == "thal" else None) for name in ("cp", "thal", "chol")}\n'
            'model.fit(columns, train_dataframe["target"].to_numpy(), batch_size=8, epochs=2, validation_split=0.25, shuffle=False, verbose=0)',
        )
    keras_history, torch_history = _run_both(source, "fit", tmp_path, head="")
    assert list(torch_history.history) == list(keras_history.history) and len(keras_history.history["val_loss"]) == 2
    for key, values in keras_history.history.items():
        np.testing.assert_allclose(torch_history.history[key], values, rtol=RTOL, atol=1e-6, err_msg=key)


# keras.io's structured data classification as written there: each column's layer made and adapted inside a
# function called once per column (the class of the lookup chosen by an argument, output_mode="binary").
STRUCTURED_FUNCTIONS = STRUCTURED[: STRUCTURED.index("cp = keras.Input")] + """

def encode_numerical_feature(feature, name, dataset):
    normalizer = layers.Normalization()
    feature_ds = dataset.map(lambda x, y: x[name])
    feature_ds = feature_ds.map(lambda x: tf.expand_dims(x, -1))
    normalizer.adapt(feature_ds)
    encoded_feature = normalizer(feature)
    return encoded_feature


def encode_categorical_feature(feature, name, dataset, is_string):
    lookup_class = layers.StringLookup if is_string else layers.IntegerLookup
    lookup = lookup_class(output_mode="binary")
    feature_ds = dataset.map(lambda x, y: x[name])
    feature_ds = feature_ds.map(lambda x: tf.expand_dims(x, -1))
    lookup.adapt(feature_ds)
    encoded_feature = lookup(feature)
    return encoded_feature


cp = keras.Input(shape=(1,), name="cp", dtype="int64")
thal = keras.Input(shape=(1,), name="thal", dtype="string")
chol = keras.Input(shape=(1,), name="chol")
cp_encoded = encode_categorical_feature(cp, "cp", train_ds, False)
thal_encoded = encode_categorical_feature(thal, "thal", train_ds, True)
chol_encoded = encode_numerical_feature(chol, "chol", train_ds)
all_features = layers.concatenate([cp_encoded, thal_encoded, chol_encoded])
output = layers.Dense(1, activation="sigmoid")(layers.Dense(4, activation="relu")(all_features))
model = keras.Model([cp, thal, chol], output)
model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
model.fit(train_ds, epochs=2, validation_data=val_ds, verbose=0)
"""


@requires_torch
@requires_keras
@pytest.mark.parity
def test_structured_data_layers_made_in_a_function_per_column_train_as_keras(tmp_path):
    """The function stays, returns the layer it made and adapted, and the model receives each call's."""
    keras_history, torch_history = _run_both(STRUCTURED_FUNCTIONS, "fit", tmp_path, head="")
    assert list(torch_history.history) == list(keras_history.history) and len(keras_history.history["val_loss"]) == 2
    for key, values in keras_history.history.items():
        np.testing.assert_allclose(torch_history.history[key], values, rtol=RTOL, atol=1e-6, err_msg=key)


def _diagnostics(body: str) -> list:
    result = k2t.convert_source(textwrap.dedent(DATA + body), "script.py")
    return [(d.code, d.line, d.message) for d in result.diagnostics]


@pytest.mark.parametrize(
    ("body", "code", "line", "message"),
    [
        (
            """
            inputs = keras.Input(shape=(1,), dtype="string")
            x = layers.Identity()(inputs)
            indices = vectorize_layer(x)
            """,
            "K2T101",
            19,
            "TextVectorization inside a model is translated only as a first layer on one of the model's inputs",
        ),
        (
            """
            whole = layers.TextVectorization(max_tokens=12, split=None)
            whole.adapt(texts)
            inputs = keras.Input(shape=(1,), dtype="string")
            indices = whole(inputs)
            """,
            "K2T102",
            17,
            "TextVectorization(split=None) inside a model without output_sequence_length= is not translated",
        ),
        (
            """
            words = layers.StringLookup(invert=True, vocabulary=["a"])
            words(np.array([1]))
            inputs = keras.Input(shape=(1,), dtype="int64")
            indices = words(inputs)
            """,
            "K2T102",
            17,
            "StringLookup(invert=True) inside a model is not translated: it gives strings",
        ),
        (
            """
            inputs = keras.Input(shape=(1,), dtype="string")
            indices = layers.StringLookup(vocabulary=["a"])(inputs)
            """,
            "K2T101",
            18,
            "StringLookup built inside the model is not translated",
        ),
    ],
)
def test_what_a_model_cannot_start_with_is_located(body, code, line, message):
    body = textwrap.dedent(body) + "\nx = layers.Embedding(13, 4)(indices)\nmodel = keras.Model(inputs, layers.Dense(1)(layers.Flatten()(x)))\n"
    [(got_code, got_line, got_message)] = _diagnostics(body)
    assert (got_code, got_line) == (code, line) and message in got_message, (got_code, got_line, got_message)
