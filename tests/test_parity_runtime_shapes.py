"""Exact parity against real Keras for input shapes read off the data and for None sizes.

``input_shape=x.shape[1:]`` becomes constructor parameters read where the
script builds the model; ``Input(shape=(None, ...))`` reaches convolutions,
pooling and recurrent layers, which never need the size. Every layer's output
and every epoch's loss must agree with Keras's.
"""

import textwrap

import pytest
from conftest import requires_keras, requires_torch, run_standalone
from parity_cases import assert_parity, script
from unwrapped import unwrapped

import k2t

pytestmark = [requires_torch, requires_keras, pytest.mark.parity]

OUT = 'keras.layers.Dense(1, activation="sigmoid")'

CONV2D_INPUT_SHAPE_FROM_DATA = """\
import numpy as np
import keras
from keras import layers

rng = np.random.RandomState(0)
x_train = rng.normal(size=(96, 8, 8)).astype("float32")
x_train = np.expand_dims(x_train, -1)
y_train = (x_train.mean(axis=(1, 2, 3)) > 0).astype("float32")
keras.utils.set_random_seed(0)
model = keras.Sequential([
    layers.Conv2D(4, 3, activation="relu", input_shape=x_train.shape[1:]),
    layers.MaxPooling2D(),
    layers.Flatten(),
    layers.Dense(1, activation="sigmoid"),
])
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
history = model.fit(x_train, y_train, batch_size=16, epochs=3, verbose=0)
"""


def test_conv2d_with_input_shape_read_off_the_data(tmp_path):
    result = k2t.convert_source(CONV2D_INPUT_SHAPE_FROM_DATA)
    assert "model = Net(input_dim_0=x_train.shape[1], input_dim_1=x_train.shape[2], input_dim_2=x_train.shape[3])" in unwrapped(result.output)
    assert_parity(CONV2D_INPUT_SHAPE_FROM_DATA, tmp_path)


def test_dense_on_an_input_shape_whose_rank_a_reshape_fixes(tmp_path):
    source = script(["keras.layers.Dense(5, activation=\"relu\")", OUT], features=12, x_shape=".reshape(96, 12)", input_shape="x.shape[1:]")
    assert "model = Net(in_features=x.shape[1])" in k2t.convert_source(source).output
    assert_parity(source, tmp_path)


LSTM_INPUT_FROM_DATA = """\
import numpy as np
import keras

rng = np.random.RandomState(0)
x = rng.normal(size=(96, 10, 4)).astype("float32")
y = (x[:, :, 0].sum(axis=1) > 0).astype("float32")
keras.utils.set_random_seed(0)
inputs = keras.Input(shape=x.shape[1:])
h = keras.layers.LSTM(6)(inputs)
outputs = keras.layers.Dense(1, activation="sigmoid")(h)
model = keras.Model(inputs, outputs)
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
history = model.fit(x, y, batch_size=16, epochs=3, verbose=0)
"""


def test_lstm_with_an_input_read_off_the_data(tmp_path):
    assert "model = Net(inputs_dim_1=x.shape[2])" in k2t.convert_source(LSTM_INPUT_FROM_DATA).output
    assert_parity(LSTM_INPUT_FROM_DATA, tmp_path)


VARIABLE_LENGTH_TEXT = """\
import numpy as np
import keras

VOCAB = 40
rng = np.random.RandomState(0)
x = rng.randint(0, VOCAB, size=(96, 9))
y = (x[:, 0] > VOCAB // 2).astype("float32")
keras.utils.set_random_seed(0)
inputs = keras.Input(shape=(None,))
h = keras.layers.Embedding(VOCAB, 8)(inputs)
h = keras.layers.LSTM(6, return_sequences=True)(h)
h = keras.layers.GRU(4)(h)
outputs = keras.layers.Dense(1, activation="sigmoid")(h)
model = keras.Model(inputs, outputs)
model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=["accuracy"])
history = model.fit(x, y, batch_size=16, epochs=3, verbose=0)
"""


def test_embedding_lstm_on_sequences_of_any_length(tmp_path):
    assert_parity(VARIABLE_LENGTH_TEXT, tmp_path)


def test_conv1d_and_global_max_pooling_on_sequences_of_any_length(tmp_path):
    layers = [
        'keras.layers.Conv1D(6, 3, strides=2, padding="same", activation="relu")',  # the padding reads the length in forward
        "keras.layers.Conv1D(5, 2)",
        "keras.layers.GlobalMaxPooling1D()",
        OUT,
    ]
    source = script(layers, features=44, x_shape=".reshape(96, 11, 4)", input_shape="(None, 4)")
    assert "same_padding(x.shape[2], 3, 2)" in k2t.convert_source(source).output
    assert_parity(source, tmp_path)


def test_fully_convolutional_model_on_images_of_any_size(tmp_path):
    layers = [
        'keras.layers.Conv2D(6, 3, activation="relu")',
        'keras.layers.MaxPooling2D(padding="same")',
        'keras.layers.Conv2D(4, 3, strides=2, padding="same")',
        "keras.layers.GlobalAveragePooling2D()",
        OUT,
    ]
    source = script(layers, features=13 * 11 * 3, x_shape=".reshape(96, 13, 11, 3)", input_shape="(None, None, 3)")
    output = k2t.convert_source(source).output
    assert "model = Net()" in output and "self.conv2d = nn.Conv2d(3, 6, 3)" in output
    assert_parity(source, tmp_path)


def test_upsampling_in_a_fully_convolutional_model_on_images_of_any_size(tmp_path):
    # UpSampling repeats cells by its factor whatever the image's size (an encoder-decoder on any image).
    layers = [
        'keras.layers.Conv2D(6, 3, padding="same", activation="relu")',
        "keras.layers.MaxPooling2D()",
        "keras.layers.UpSampling2D()",
        'keras.layers.UpSampling2D(size=(1, 2), interpolation="bilinear")',
        "keras.layers.Conv2D(4, 3, strides=2)",
        "keras.layers.GlobalMaxPooling2D()",
        OUT,
    ]
    source = script(layers, features=12 * 10 * 3, x_shape=".reshape(96, 12, 10, 3)", input_shape="(None, None, 3)")
    assert "model = Net()" in k2t.convert_source(source).output
    assert_parity(source, tmp_path)


def test_summary_of_a_model_with_none_sizes_matches_keras_shapes(tmp_path):
    """Keras shows None where a size follows the input's open one; so does the generated summary()."""
    source = textwrap.dedent("""\
        import numpy as np
        import keras

        inputs = keras.Input(shape=(None, 4))
        h = keras.layers.Conv1D(6, 3)(inputs)
        outputs = keras.layers.Dense(1)(keras.layers.GlobalAveragePooling1D()(h))
        model = keras.Model(inputs, outputs)
        model.summary()
        """)
    import keras

    inputs = keras.Input(shape=(None, 4))
    h = keras.layers.Conv1D(6, 3)(inputs)
    keras_model = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.GlobalAveragePooling1D()(h)))
    keras_shapes = [tuple(layer.output.shape) for layer in keras_model.layers[1:]]
    assert keras_shapes == [(None, None, 6), (None, 6), (None, 1)]
    script_path = tmp_path / "train.py"
    script_path.write_text(k2t.convert_source(source).output)
    ran = run_standalone(script_path)
    assert ran.returncode == 0, ran.stderr
    for shape in keras_shapes:
        assert str(shape) in ran.stdout


@pytest.mark.parity
def test_a_one_dimensional_array_into_an_input_of_one_feature_is_read_as_keras_reads_it():
    # Keras's Functional._adjust_input_rank gives a 1-D array the feature axis an Input(shape=(1,)) declares.
    pytest.importorskip("tensorflow")
    pytest.importorskip("torch")
    from k2t.parity import exact_parity

    source = """\
import numpy as np
import keras
from keras import layers

rng = np.random.default_rng(0)
x = rng.normal(size=(64,)).astype("float32")
y = (2 * x + 1).astype("float32")
model = keras.Sequential([layers.Dense(8, activation="relu", input_shape=[1]), layers.Dense(1)])
model.compile(optimizer="adam", loss="mse")
model.fit(x, y, epochs=2, batch_size=16, verbose=0)
print(model.predict(x[:4], verbose=0).shape)
"""
    report = exact_parity(source, epochs=2)
    assert report.ok, report.format()


@pytest.mark.parity
@pytest.mark.parametrize("output", ["softmax", "logits"])
def test_categorical_crossentropy_with_all_zero_target_rows_trains_as_keras(tmp_path, output):
    # Zero-padded one-hot targets (a seq2seq decoder's padding): TensorFlow's gradient is softmax - target
    # even where a row sums to 0, where the exact gradient is 0; the converted loss gives TensorFlow's.
    pytest.importorskip("tensorflow")
    pytest.importorskip("torch")
    activation, loss = ('"softmax"', '"categorical_crossentropy"') if output == "softmax" else (
        "None", "keras.losses.CategoricalCrossentropy(from_logits=True)")
    source = f"""\
import numpy as np
import keras
from keras import layers

rng = np.random.default_rng(0)
x = rng.normal(size=(64, 5, 3)).astype("float32")
y = np.eye(4, dtype="float32")[rng.integers(0, 4, size=(64, 5))]
y[:, 3:] = 0.0  # padded steps: no class at all
model = keras.Sequential([keras.Input(shape=(5, 3)), layers.Dense(8, activation="relu"), layers.Dense(4, activation={activation})])
model.compile(optimizer="adam", loss={loss})
model.fit(x, y, epochs=3, batch_size=16, shuffle=False, verbose=0)
"""
    assert_parity(source, tmp_path)
