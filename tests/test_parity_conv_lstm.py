"""Exact parity against real Keras for ConvLSTM1D / ConvLSTM2D / ConvLSTM3D (k2t/translate/conv_recurrent.py).

Keras's kernels are copied into the generated class's two torch convs; every layer's output and
every epoch's loss must agree.
"""

import pytest
from conftest import requires_keras, requires_torch
from parity_cases import assert_parity, script
from unwrapped import unwrapped

import k2t

pytestmark = [requires_torch, requires_keras, pytest.mark.parity]

OUT = 'keras.layers.Dense(1, activation="sigmoid")'

CASES = {
    # keras.io's next-frame prediction stacks ConvLSTM2D(padding="same", return_sequences=True) and BatchNormalization.
    "conv_lstm2d_same_sequences": (
        (4, 6, 6, 2),
        ['keras.layers.ConvLSTM2D(3, (3, 3), padding="same", return_sequences=True, activation="relu")', "keras.layers.BatchNormalization()",
         "keras.layers.ConvLSTM2D(2, 2)", "keras.layers.Flatten()"],
    ),
    "conv_lstm2d_valid_strides_dilation_backwards": (
        (3, 9, 8, 2),
        ['keras.layers.ConvLSTM2D(3, (3, 2), strides=(2, 1), dilation_rate=1, go_backwards=True, bias_initializer="ones", kernel_regularizer="l2")',
         "keras.layers.GlobalAveragePooling2D()"],
    ),
    "conv_lstm2d_dilated_no_bias_hard_sigmoid": (
        (3, 7, 7, 1),
        ['keras.layers.ConvLSTM2D(2, 3, padding="same", dilation_rate=2, use_bias=False, recurrent_activation="hard_sigmoid")', "keras.layers.Flatten()"],
    ),
    # dropout / recurrent_dropout: turned off on both sides for training by the parity harness, identity at inference.
    "conv_lstm2d_dropout_sequences": (
        (3, 5, 5, 2),
        ['keras.layers.ConvLSTM2D(3, 3, padding="same", dropout=0.2, recurrent_dropout=0.3, return_sequences=True)', "keras.layers.Flatten()"],
    ),
    # ConvLSTM1D: a sequence of 1D signals (steps, length, channels), strided and dilated, then its last output.
    "conv_lstm1d_strides_dilation_sequences": (
        (3, 9, 2),
        ['keras.layers.ConvLSTM1D(3, 3, strides=2, return_sequences=True, recurrent_activation="hard_sigmoid")',
         'keras.layers.ConvLSTM1D(2, 2, padding="same", dilation_rate=2, go_backwards=True)', "keras.layers.Flatten()"],
    ),
    "conv_lstm3d_sequences": (
        (3, 4, 4, 4, 1),
        ['keras.layers.ConvLSTM3D(2, 2, padding="same", return_sequences=True)', "keras.layers.Flatten()"],
    ),
}


@pytest.mark.parametrize("name", CASES)
def test_conv_lstm(name, tmp_path):
    shape, layers = CASES[name]
    report = assert_parity(script([*layers, OUT], shape=shape), tmp_path)
    assert all(diff <= 1e-5 for _, diff in report.layer_diffs), report.layer_diffs


NEXT_FRAME = """\
import numpy as np
import keras
from keras import layers

x = np.random.RandomState(0).uniform(size=(8, 5, 8, 8, 1)).astype("float32")
y = np.roll(x, -1, axis=1)
keras.utils.set_random_seed(0)
inp = layers.Input(shape=(None, 8, 8, 1))
h = layers.ConvLSTM2D(filters=4, kernel_size=(5, 5), padding="same", return_sequences=True, activation="relu")(inp)
h = layers.BatchNormalization()(h)
h = layers.ConvLSTM2D(filters=4, kernel_size=(1, 1), padding="same", return_sequences=True, activation="relu")(h)
out = layers.Conv3D(filters=1, kernel_size=(3, 3, 3), activation="sigmoid", padding="same")(h)
model = keras.models.Model(inp, out)
model.compile(loss=keras.losses.binary_crossentropy, optimizer=keras.optimizers.Adam())
history = model.fit(x, y, batch_size=4, epochs=3, validation_split=0.25, verbose=0)
"""


def test_next_frame_prediction(tmp_path):
    """keras.io's next-frame video prediction, small: ConvLSTM2D over any number of frames, then Conv3D."""
    report = assert_parity(NEXT_FRAME, tmp_path)
    assert all(diff <= 1e-5 for _, diff in report.layer_diffs), report.layer_diffs


def test_conv_lstm_reads_like_torch():
    source = script(['keras.layers.ConvLSTM2D(4, (3, 3), padding="same", return_sequences=True)', "keras.layers.Flatten()", OUT], shape=(3, 5, 5, 2))
    result = k2t.convert_source(source, "case.py")
    assert not result.diagnostics, result.diagnostics
    assert 'self.conv_lstm2d = KerasConvLSTM2D(2, 4, 3, padding="same", return_sequences=True)' in unwrapped(result.output)
    assert "class KerasConvLSTM2D(nn.Module):" in result.output


def test_training_with_the_same_dropout_masks_matches_keras():
    """Training mode with rates > 0: given the same masks (one per gate, of a step's input / of the previous
    output, Keras's channels-last ones moved to torch's channels-first), the class computes what Keras computes."""
    import keras
    import numpy as np
    import torch

    from k2t.weights import TRANSFERS

    source = script(['keras.layers.ConvLSTM2D(3, (3, 2), padding="same", dropout=0.3, recurrent_dropout=0.4, return_sequences=True)',
                     "keras.layers.Flatten()", OUT], shape=(4, 5, 6, 2))
    keras_namespace, torch_namespace = _run_until(source, "\nmodel.compile("), _run_until(k2t.convert_source(source).output, "\noptimizer = ")
    keras_layer, torch_layer = keras_namespace["model"].layers[0], next(torch_namespace["model"].children())
    TRANSFERS["conv_lstm"](keras_layer, torch_layer, "case")
    x = keras_namespace["x"][:8]
    rng = np.random.RandomState(1)
    masks = {}  # rate -> 4 channels-last masks (batch, rows, cols, channels)
    for rate, shape in ((0.3, x.shape[2:]), (0.4, (5, 6, 3))):
        masks[rate] = ((rng.uniform(size=(4, len(x), *shape)) >= rate) / (1 - rate)).astype("float32")
    keras_layer.cell._create_dropout_mask = lambda step_input, rate: [keras.ops.convert_to_tensor(mask) for mask in masks[rate]]
    torch_layer.dropout_mask = lambda like, rate: torch.from_numpy(np.moveaxis(masks[rate], -1, 2)) if rate else None
    expected = np.asarray(keras_layer(x, training=True))
    torch_layer.train()
    actual = torch_layer(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(actual, expected, atol=1e-5)
    assert np.abs(actual - np.asarray(keras_layer(x, training=False))).max() > 1e-2  # the masks did change the outputs


def _run_until(source: str, marker: str) -> dict:
    """The names a script defines before ``marker``: its model built, not yet trained."""
    namespace: dict = {}
    exec(compile(source.split(marker)[0], "<case>", "exec"), namespace)  # noqa: S102 - the test's own script
    return namespace


UNSUPPORTED = {
    "keras.layers.ConvLSTM2D(2, 3, dropout=1.0)": "dropout=1.0",
    "keras.layers.ConvLSTM2D(2, 3, return_state=True)": "return_state",
    'keras.layers.ConvLSTM2D(2, 3, padding="same", strides=2)': "padding='same', strides=(2, 2)",
}


@pytest.mark.parametrize("layer", UNSUPPORTED)
def test_untranslated_conv_lstm_arguments_are_located_diagnostics(layer):
    result = k2t.convert_source(script([layer, "keras.layers.Flatten()", OUT], shape=(3, 5, 5, 2)), "case.py")
    assert [d.code for d in result.diagnostics] == ["K2T102"], result.diagnostics
    assert UNSUPPORTED[layer] in result.diagnostics[0].message
