"""Keras 1 argument spellings convert as Keras 2 read them (keras/legacy/interfaces.py, Keras 2.0-2.3).

Each case writes one layer in Keras 1's spelling and in the Keras 2 spelling that
Keras 2's legacy interface turned it into; both scripts must convert, clean, to
the same PyTorch script. A Keras 1 argument whose Keras 2 meaning k2t cannot
express is a K2T102 at that argument, naming it.

Keras 2's optimizer ``decay=`` set the learning rate of each update to
``lr / (1 + decay * iterations)``, ``iterations`` counting the updates done
before it (keras/optimizers.py, get_updates). That is Keras 3's
``InverseTimeDecay(lr, decay_steps=1, decay_rate=decay)`` evaluated at every
update, so ``SGD(lr=0.01, decay=1e-6)`` converts to what
``SGD(learning_rate=InverseTimeDecay(0.01, decay_steps=1, decay_rate=1e-6))``
converts to, plus a comment saying so; tests/test_parity_legacy.py trains both
against Keras.
"""

import textwrap

import pytest
from conftest import requires_keras, requires_torch

import k2t
from k2t.translate.legacy import INTERFACES

SCRIPT = """\
import numpy as np
import keras
from keras import layers, regularizers, initializers

x = np.zeros((32, {features}), "float32"){reshape}
y = np.zeros((32, 1), "float32")
model = keras.Sequential()
{input_line}model.add({layer})
model.add(layers.Flatten())
model.add(layers.Dense(1))
model.compile(optimizer={optimizer}, loss="mse")
model.fit(x, y, epochs=1)
"""

# (Keras 1 layer, Keras 2 layer, the input's shape per sample; a layer with input_dim= declares it itself)
RENAMES = [
    pytest.param("layers.Dense(output_dim=8)", "layers.Dense(units=8)", (6,), id="Dense-output_dim"),
    pytest.param(
        'layers.Dense(8, init="he_normal", W_regularizer=regularizers.l2(0.01), b_regularizer=regularizers.l1(0.02))',
        'layers.Dense(8, kernel_initializer="he_normal", kernel_regularizer=regularizers.l2(0.01), bias_regularizer=regularizers.l1(0.02))',
        (6,),
        id="Dense-init-regularizers",
    ),
    pytest.param("layers.Dense(8, bias=False)", "layers.Dense(8, use_bias=False)", (6,), id="Dense-bias"),
    pytest.param("layers.Dense(input_dim=6, output_dim=8)", "layers.Dense(input_dim=6, units=8)", (6,), id="Dense-input_dim"),
    pytest.param("layers.Dropout(p=0.3)", "layers.Dropout(rate=0.3)", (6,), id="Dropout-p"),
    pytest.param("layers.GaussianNoise(sigma=0.1)", "layers.GaussianNoise(stddev=0.1)", (6,), id="GaussianNoise-sigma"),
    pytest.param("layers.GaussianDropout(p=0.2)", "layers.GaussianDropout(rate=0.2)", (6,), id="GaussianDropout-p"),
    pytest.param(
        'layers.Convolution1D(nb_filter=4, filter_length=3, border_mode="same", subsample_length=2, init="he_uniform")',
        'layers.Convolution1D(filters=4, kernel_size=3, padding="same", strides=2, kernel_initializer="he_uniform")',
        (10, 3),
        id="Convolution1D",
    ),
    pytest.param(
        "layers.Convolution1D(4, 3, input_dim=3, input_length=10)",
        "layers.Convolution1D(4, 3, input_shape=(10, 3))",
        (10, 3),
        id="Convolution1D-input_dim",
    ),
    pytest.param(
        'layers.MaxPooling1D(pool_length=2, stride=1, border_mode="same")',
        'layers.MaxPooling1D(pool_size=2, strides=1, padding="same")',
        (10, 3),
        id="MaxPooling1D",
    ),
    pytest.param("layers.AveragePooling1D(pool_length=5)", "layers.AveragePooling1D(pool_size=5)", (10, 3), id="AveragePooling1D"),
    pytest.param(
        'layers.Convolution2D(4, 3, 3, border_mode="same", subsample=(2, 2))',
        'layers.Convolution2D(4, (3, 3), padding="same", strides=(2, 2))',
        (8, 8, 3),
        id="Convolution2D-positional",
    ),
    pytest.param("layers.Conv2D(4, 3, nb_col=2)", "layers.Conv2D(4, (3, 2))", (8, 8, 3), id="Conv2D-nb_col"),
    pytest.param(
        'layers.Convolution2D(nb_filter=4, nb_row=3, nb_col=2, init="glorot_normal", dim_ordering="tf")',
        'layers.Convolution2D(filters=4, kernel_size=(3, 2), kernel_initializer="glorot_normal", data_format="channels_last")',
        (8, 8, 3),
        id="Convolution2D-keywords",
    ),
    pytest.param("layers.Convolution2D(4, nb_row=3, nb_col=3)", "layers.Convolution2D(4, (3, 3))", (8, 8, 3), id="Convolution2D-filters-only"),
    pytest.param(
        'layers.Convolution3D(2, 3, 3, 3, border_mode="same")', 'layers.Convolution3D(2, (3, 3, 3), padding="same")', (6, 6, 6, 1), id="Convolution3D"
    ),
    pytest.param(
        'layers.SeparableConvolution2D(4, 3, 3, init="he_normal")',
        'layers.SeparableConvolution2D(4, (3, 3), depthwise_initializer="he_normal", pointwise_initializer="he_normal")',
        (8, 8, 3),
        id="SeparableConvolution2D-init",
    ),
    pytest.param(
        'layers.MaxPooling2D(pool_size=(2, 2), border_mode="same", dim_ordering="default")',
        'layers.MaxPooling2D(pool_size=(2, 2), padding="same", data_format=None)',
        (7, 7, 3),
        id="MaxPooling2D-border_mode",
    ),
    pytest.param(
        'layers.SimpleRNN(output_dim=5, init=initializers.RandomNormal(stddev=0.001), inner_init=initializers.Identity(gain=1.0), activation="relu")',
        'layers.SimpleRNN(units=5, kernel_initializer=initializers.RandomNormal(stddev=0.001), recurrent_initializer=initializers.Identity(gain=1.0), activation="relu")',
        (7, 3),
        id="SimpleRNN-irnn",
    ),
    pytest.param(
        "layers.LSTM(5, W_regularizer=regularizers.l2(0.01), U_regularizer=regularizers.l2(0.02), b_regularizer=regularizers.l1(0.01))",
        "layers.LSTM(5, kernel_regularizer=regularizers.l2(0.01), recurrent_regularizer=regularizers.l2(0.02), bias_regularizer=regularizers.l1(0.01))",
        (7, 3),
        id="LSTM-regularizers",
    ),
    pytest.param('layers.LSTM(5, forget_bias_init="one", consume_less="gpu")', "layers.LSTM(5, unit_forget_bias=True, implementation=2)", (7, 3), id="LSTM-forget_bias_init-consume_less"),
    pytest.param('layers.GRU(5, inner_activation="sigmoid", dropout_W=0.2, dropout_U=0.1)', 'layers.GRU(5, recurrent_activation="sigmoid", dropout=0.2, recurrent_dropout=0.1)', (7, 3), id="GRU-dropout_W-dropout_U"),
    pytest.param("layers.LSTM(5, input_dim=3, input_length=7)", "layers.LSTM(5, input_shape=(7, 3))", (7, 3), id="LSTM-input_dim-input_length"),
    pytest.param("layers.Bidirectional(layers.LSTM(output_dim=4))", "layers.Bidirectional(layers.LSTM(units=4))", (7, 3), id="Bidirectional-inner"),
    pytest.param(
        'layers.BatchNormalization(mode=0, beta_init="zeros", gamma_init="ones")',
        'layers.BatchNormalization(beta_initializer="zeros", gamma_initializer="ones")',
        (6,),
        id="BatchNormalization",
    ),
    pytest.param("layers.UpSampling1D(length=2)", "layers.UpSampling1D(size=2)", (7, 3), id="UpSampling1D-length"),
]


def _script(layer: str, shape: tuple[int, ...], optimizer: str = '"adam"') -> str:
    features = 1
    for size in shape:
        features *= size
    reshape = f".reshape(32, *{tuple(shape)!r})" if len(shape) > 1 else ""
    input_line = "" if "input_dim=" in layer or "input_shape=" in layer else f"model.add(keras.Input(shape={tuple(shape)!r}))\n"
    return SCRIPT.format(features=features, reshape=reshape, input_line=input_line, layer=layer, optimizer=optimizer)


def _converted(source: str) -> str:
    result = k2t.convert_source(source, filename="train.py")
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    return result.output


@pytest.mark.parametrize(("keras1", "keras2", "shape"), RENAMES)
def test_keras1_spelling_converts_as_keras2(keras1, keras2, shape):
    assert _converted(_script(keras1, shape)) == _converted(_script(keras2, shape))


# Keras 2's own convolution names read positions as Keras 3 and tf.keras do: (filters, kernel_size, strides, padding).
# Only Keras 1's names (Convolution2D(32, 3, 3)) take kernel rows and columns by position.
POSITIONS = [
    pytest.param("layers.Conv2D(4, 3, 2)", "layers.Conv2D(4, 3, strides=2)", (8, 8, 3), id="Conv2D-strides"),
    pytest.param('layers.Conv2D(4, 3, 1, "same")', 'layers.Conv2D(4, 3, strides=1, padding="same")', (8, 8, 3), id="Conv2D-padding"),
    pytest.param("layers.Conv1D(4, 3, 2)", "layers.Conv1D(4, 3, strides=2)", (10, 3), id="Conv1D-strides"),
    pytest.param(
        'layers.Conv2DTranspose(4, 3, 2, "same")',
        'layers.Conv2DTranspose(4, 3, strides=2, padding="same")',
        (8, 8, 3),
        id="Conv2DTranspose-strides-padding",
    ),
    pytest.param("layers.SeparableConv2D(4, 3, 2)", "layers.SeparableConv2D(4, 3, strides=2)", (8, 8, 3), id="SeparableConv2D-strides"),
    pytest.param("layers.DepthwiseConv2D(3, 2)", "layers.DepthwiseConv2D(3, strides=2)", (8, 8, 3), id="DepthwiseConv2D-strides"),
]


@pytest.mark.parametrize(("positional", "keywords", "shape"), POSITIONS)
def test_keras2_convolutions_take_strides_and_padding_by_position(positional, keywords, shape):
    assert _converted(_script(positional, shape)) == _converted(_script(keywords, shape))


def test_functional_layer_call_with_keras1_arguments():
    keras2 = """\
import numpy as np
import keras
from keras import layers

x = np.zeros((32, 6), "float32")
y = np.zeros((32, 1), "float32")
inputs = keras.Input(shape=(6,))
h = layers.Dense(units=8, kernel_initializer="he_normal")(inputs)
outputs = layers.Dense(units=1)(h)
model = keras.Model(inputs, outputs)
model.compile(optimizer="adam", loss="mse")
model.fit(x, y, epochs=1)
"""
    keras1 = keras2.replace("units=8, kernel_initializer=", "output_dim=8, init=").replace("units=1", "output_dim=1")
    assert _converted(keras1) == _converted(keras2)


def test_every_interface_row_names_a_translated_or_known_layer():
    """No decorator row is misspelled: each Keras 1 name maps to a different Keras 2 name, each layer has one row."""
    seen: set[str] = set()
    for interface in INTERFACES:
        assert interface.decorator.startswith("legacy_") and interface.decorator.endswith("_support")
        assert not seen & interface.layers
        seen |= interface.layers
        for rename in interface.renames:
            assert rename.keras1 != rename.keras2


# (layer, the argument's code as written, words the message must hold)
NOT_EXPRESSED = [
    pytest.param("layers.Embedding(50, 4, dropout=0.2)", "0.2", "Embedding(dropout=0.2) is Keras 1's", id="Embedding-dropout"),
    pytest.param("layers.BatchNormalization(mode=2)", "2", "BatchNormalization(mode=2) is Keras 1's", id="BatchNormalization-mode"),
    pytest.param('layers.LSTM(5, forget_bias_init="zero")', '"zero"', "forget_bias_init", id="LSTM-forget_bias_init-zero"),
    pytest.param("layers.Dense(output_dim=8, units=8)", "8", "both Keras 1's output_dim= and Keras 2's units=", id="Dense-both"),
    pytest.param('layers.Convolution2D(4, 3, 3, padding="same")', '"same"', "Keras 2 raises ValueError", id="Convolution2D-positional-padding"),
    pytest.param('layers.Convolution2D(4, 3, 3, border_mode="full")', None, "Keras 1's border_mode=", id="Convolution2D-border_mode-full"),
    pytest.param('layers.Convolution2D(4, 3, 3, dim_ordering="th")', None, "Keras 1's dim_ordering=", id="Convolution2D-dim_ordering-th"),
    pytest.param("layers.LSTM(5, dropout_W=1.0)", "1.0", "Keras 1's dropout_W=", id="LSTM-dropout_W"),
    # Keras 2's cuDNN layers fixed what Keras 3's LSTM / GRU take as arguments (k2t.translate.legacy.KERAS2_LAYERS).
    pytest.param("layers.CuDNNLSTM(5, dropout=0.2)", "0.2", "CuDNNLSTM has no dropout=", id="CuDNNLSTM-dropout"),
    pytest.param("layers.CuDNNGRU(5, reset_after=False)", "False", "CuDNNGRU has no reset_after=", id="CuDNNGRU-reset_after"),
]


@pytest.mark.parametrize(("layer", "argument", "words"), NOT_EXPRESSED)
def test_keras1_argument_without_a_translation_is_reported(layer, argument, words):
    shape = (7, 3) if "LSTM" in layer or "Embedding" in layer else (8, 8, 3) if "Convolution" in layer else (6,)
    source = _script(layer, shape)
    result = k2t.convert_source(source, filename="train.py")
    errors = [d for d in result.diagnostics if d.code == "K2T102"]
    assert len(errors) == 1, [d.format() for d in result.diagnostics]
    assert words in errors[0].message
    line_number = next(index for index, line in enumerate(source.splitlines(), 1) if layer in line)
    assert errors[0].line == line_number
    if argument is not None:  # located at the argument's value
        assert source.splitlines()[line_number - 1][errors[0].column - 1 :].startswith(argument)


def _optimizer_output(optimizer: str) -> str:
    source = _script("layers.Dense(4)", (6,), optimizer)
    return _converted(source)


def test_optimizer_decay_is_inverse_time_decay_every_step():
    keras1 = _optimizer_output("keras.optimizers.SGD(lr=0.01, decay=1e-6, momentum=0.9, nesterov=True)")
    keras3 = _optimizer_output(
        "keras.optimizers.SGD(learning_rate=keras.optimizers.schedules.InverseTimeDecay(0.01, decay_steps=1, decay_rate=1e-6), momentum=0.9, nesterov=True)"
    )
    comment = "# Keras 2's decay=1e-06: lr / (1 + decay * updates done)\n"
    assert comment in keras1
    assert keras1.replace(comment, "") == keras3.replace("decay_rate=1e-6", "decay_rate=1e-06")


@pytest.mark.parametrize("optimizer", ["SGD", "RMSprop", "Adagrad", "Adadelta", "Adam", "Adamax"])
def test_every_keras2_optimizer_with_decay_converts(optimizer):
    output = _optimizer_output(f"keras.optimizers.{optimizer}(lr=0.02, decay=0.5)")
    assert "InverseTimeDecay(0.02, decay_steps=1, decay_rate=0.5)" in output


def test_decay_zero_changes_nothing():
    assert _optimizer_output("keras.optimizers.SGD(lr=0.01, decay=0.0, momentum=0.9)") == _optimizer_output(
        "keras.optimizers.SGD(learning_rate=0.01, momentum=0.9)"
    )


def test_keras2_lowercase_optimizer_alias():
    assert _optimizer_output("keras.optimizers.rmsprop(lr=0.0001)") == _optimizer_output("keras.optimizers.RMSprop(learning_rate=0.0001)")


@pytest.mark.parametrize(
    ("optimizer", "words"),
    [
        pytest.param("keras.optimizers.Nadam(lr=0.01, decay=0.1)", "Keras 2's Nadam had none", id="Nadam"),
        pytest.param(
            "keras.optimizers.SGD(learning_rate=keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.9), decay=0.1)",
            "decay= on a learning-rate schedule",
            id="schedule",
        ),
    ],
)
def test_decay_without_a_translation_is_reported(optimizer, words):
    result = k2t.convert_source(_script("layers.Dense(4)", (6,), optimizer), filename="train.py")
    assert [d.code for d in result.diagnostics] == ["K2T121"]
    assert words in result.diagnostics[0].message


def test_decay_with_a_learning_rate_callback_is_reported():
    """The generated schedule would overwrite the rate ReduceLROnPlateau sets; Keras 2 decays the rate it sets."""
    source = _script("layers.Dense(4)", (6,), "keras.optimizers.SGD(lr=0.1, decay=0.01)").replace(
        "epochs=1)", "epochs=1, callbacks=[keras.callbacks.ReduceLROnPlateau(monitor='loss')])"
    )
    result = k2t.convert_source(source, filename="train.py")
    reported = [d for d in result.diagnostics if d.code == "K2T121"]
    assert len(reported) == 1 and "changes the learning rate" in reported[0].message, [d.format() for d in result.diagnostics]


def test_keras1_model_constructor_keywords_convert_as_keras2s():
    """Keras 2 still took Keras 1's `Model(input=x, output=y)` (keras/legacy/interfaces.py)."""
    head = (
        "import numpy as np\nimport keras\nfrom keras import layers\n"
        "x_train = np.zeros((8, 4), dtype='float32')\ny_train = np.zeros((8, 1), dtype='float32')\n"
        "a = keras.Input(shape=(4,))\nb = layers.Dense(1)(a)\n"
    )
    tail = "model.compile(optimizer='sgd', loss='mse')\nmodel.fit(x_train, y_train, epochs=1)\n"
    keras1 = k2t.convert_source(head + "model = keras.Model(input=a, output=b)\n" + tail)
    keras2 = k2t.convert_source(head + "model = keras.Model(inputs=a, outputs=b)\n" + tail)
    assert keras1.ok and keras1.output == keras2.output
    twice = k2t.convert_source(head + "model = keras.Model(a, output=b, outputs=b)\n" + tail)
    assert any("given `outputs` twice" in d.message for d in twice.diagnostics)


def test_the_scikit_learn_wrapper_is_a_generated_estimator():
    """Keras 2's keras.wrappers.scikit_learn (issue 13): a generated class of the same name over the converted
    build function (tests/test_parity_scikit_learn.py holds its parity)."""
    source = (
        "from keras.wrappers.scikit_learn import KerasRegressor\n"
        "from keras.models import Sequential\nfrom keras.layers import Dense\n\n\n"
        "def build():\n    model = Sequential([Dense(1, input_dim=3)])\n    model.compile(loss='mse', optimizer='sgd')\n    return model\n\n\n"
        "estimator = KerasRegressor(build_fn=build, epochs=2)\n"
    )
    result = k2t.convert_source(source, "case.py")
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    assert "class KerasRegressor:" in result.output and "estimator = KerasRegressor(build_fn=build, epochs=2)" in result.output


@requires_torch
@requires_keras
@pytest.mark.parity
def test_input_shape_on_a_layer_called_on_a_tensor_is_ignored_as_keras_ignores_it(tmp_path):
    """keras/examples/cifar10_cnn_functional.py: `Conv2D(..., input_shape=x_train.shape[1:])(input_imgs)`; Keras
    keeps input_shape= for a Sequential's first layer only (and warns here)."""
    from parity_cases import assert_parity

    source = textwrap.dedent(
        """\
        import numpy as np
        import keras
        from keras import layers

        x = np.random.default_rng(0).normal(size=(32, 8, 8, 3)).astype("float32")
        y = (x.mean(axis=(1, 2, 3)) > 0).astype("float32")
        keras.utils.set_random_seed(0)
        inputs = keras.Input(shape=(8, 8, 3))
        h = layers.Conv2D(4, 3, padding="same", input_shape=x.shape[1:])(inputs)
        h = layers.Dense(1, activation="sigmoid", input_dim=4)(layers.Flatten()(h))
        model = keras.Model(inputs, h)
        model.compile(optimizer="sgd", loss="binary_crossentropy")
        model.fit(x, y, epochs=3, batch_size=8, verbose=0)
        """
    )
    result = k2t.convert_source(source, "case.py")
    assert not result.diagnostics, [d.format() for d in result.diagnostics]
    assert_parity(source, tmp_path)
