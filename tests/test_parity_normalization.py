"""Exact parity against real Keras for BatchNormalization and LayerNormalization.

Each case is a tiny Keras script; k2t converts it, the harness copies Keras's
initial weights (and BatchNormalization's moving statistics) into the torch
module and requires every layer's output within 1e-4 and every epoch's loss
within 1e-3 relative. BatchNormalization runs channels-first in torch (its
channel axis is dim 1), LayerNormalization channels-last (torch normalises
the trailing dims), so the cases put both on feature maps and sequences, next
to convolutions whose output is channels-first, as well as on flat features.
"""

import pytest
from conftest import requires_keras, requires_torch

pytestmark = [requires_torch, requires_keras, pytest.mark.parity]

from parity_cases import assert_parity, script

import k2t

HEAD = ["keras.layers.Flatten()", 'keras.layers.Dense(1, activation="sigmoid")']
IMAGE = (6, 6, 3)
SEQUENCE = (5, 4)


def L(name, *args):
    return f"keras.layers.{name}({', '.join(args)})"


BATCHNORM = {
    # (input shape, layers before the head)
    "image": (IMAGE, [L("BatchNormalization")]),
    "image_axis_3": (IMAGE, [L("BatchNormalization", "axis=3")]),
    "image_after_conv": (IMAGE, [L("Conv2D", "4", "3"), L("BatchNormalization", "momentum=0.9"), L("ReLU")]),
    "image_epsilon": (IMAGE, [L("Conv2D", "4", "3", 'padding="same"'), L("BatchNormalization", "epsilon=1e-5")]),
    "image_no_center_scale": (IMAGE, [L("BatchNormalization", "center=False", "scale=False")]),
    "image_no_scale": (IMAGE, [L("Conv2D", "4", "3"), L("BatchNormalization", "scale=False")]),
    "sequence": (SEQUENCE, [L("BatchNormalization")]),
    "sequence_axis_2": (SEQUENCE, [L("BatchNormalization", "axis=2", "momentum=0.5")]),
    "sequence_after_conv1d": (SEQUENCE, [L("Conv1D", "6", "3"), L("BatchNormalization", "center=False")]),
    "initializers": (SEQUENCE, [L("BatchNormalization", 'gamma_initializer="zeros"', "beta_initializer=keras.initializers.Constant(0.5)")]),
    "moving_initializers": (
        SEQUENCE,
        [L("BatchNormalization", "moving_mean_initializer=keras.initializers.Constant(0.2)", 'moving_variance_initializer="zeros"')],
    ),
    "regularizers": (SEQUENCE, [L("BatchNormalization", 'gamma_regularizer="l2"', "beta_regularizer=keras.regularizers.L1(0.05)")]),
}


@pytest.mark.parametrize("name", BATCHNORM)
def test_batch_normalization(name, tmp_path):
    shape, layers = BATCHNORM[name]
    assert_parity(script([*layers, *HEAD], shape=shape), tmp_path)


LAYERNORM = {
    "flat": (None, [L("Dense", "5"), L("LayerNormalization")]),
    "flat_epsilon_first": (None, [L("LayerNormalization", "epsilon=1e-6"), L("Dense", "4", 'activation="relu"')]),
    "flat_no_center": (None, [L("Dense", "5"), L("LayerNormalization", "center=False")]),
    "flat_no_center_scale": (None, [L("Dense", "5"), L("LayerNormalization", "center=False", "scale=False")]),
    "sequence": (SEQUENCE, [L("LayerNormalization")]),
    "sequence_two_axes": (SEQUENCE, [L("LayerNormalization", "axis=[1, 2]")]),
    "image_after_conv": (IMAGE, [L("Conv2D", "4", "3"), L("LayerNormalization", "axis=-1")]),
    "image_three_axes": (IMAGE, [L("LayerNormalization", "axis=(-3, -2, -1)")]),
    "initializers_regularizers": (
        None,
        [L("Dense", "5"), L("LayerNormalization", 'gamma_initializer="random_normal"', 'beta_initializer="ones"', 'gamma_regularizer="l2"')],
    ),
}


@pytest.mark.parametrize("name", LAYERNORM)
def test_layer_normalization(name, tmp_path):
    shape, layers = LAYERNORM[name]
    head = HEAD if shape is not None else HEAD[1:]
    assert_parity(script([*layers, *head], shape=shape), tmp_path)


GROUPNORM = {
    # Keras normalises groups of its last (channel) axis; torch's group norm runs channels-first.
    "image": (IMAGE, [L("Conv2D", "4", "3"), L("GroupNormalization", "groups=2")]),
    "image_one_group": (IMAGE, [L("Conv2D", "6", "3", 'padding="same"'), L("GroupNormalization", "1", "axis=-1")]),
    "instance_norm": (IMAGE, [L("Conv2D", "4", "3"), L("GroupNormalization", "groups=-1", "epsilon=1e-5")]),
    "sequence": (SEQUENCE, [L("GroupNormalization", "groups=2", "axis=2")]),
    "flat": (None, [L("Dense", "6"), L("GroupNormalization", "groups=3")]),
    "no_center": (SEQUENCE, [L("GroupNormalization", "groups=4", "center=False")]),
    "no_scale": (IMAGE, [L("Conv2D", "4", "3"), L("GroupNormalization", "groups=2", "scale=False")]),
    "no_center_scale": (SEQUENCE, [L("GroupNormalization", "groups=2", "center=False", "scale=False")]),
    "initializers_regularizers": (
        SEQUENCE,
        [L("GroupNormalization", "groups=2", 'gamma_initializer="random_normal"', 'beta_initializer="ones"', 'gamma_regularizer="l2"')],
    ),
}


@pytest.mark.parametrize("name", GROUPNORM)
def test_group_normalization(name, tmp_path):
    shape, layers = GROUPNORM[name]
    head = HEAD if shape is not None else HEAD[1:]
    assert_parity(script([*layers, *head], shape=shape), tmp_path)


@pytest.mark.parametrize(
    "layer, message",
    [
        ("BatchNormalization(axis=1)", "BatchNormalization(axis=1) over a non-channel axis"),
        ("LayerNormalization(axis=1)", "LayerNormalization over axes [1]"),
        ("LayerNormalization(scale=False)", "no bias-only form"),
        ("BatchNormalization(synchronized=True)", "synchronized=True"),
        ("GroupNormalization(groups=2, axis=1)", "GroupNormalization(axis=1)"),
        ("GroupNormalization(groups=3)", "must divide the 4 channels"),
    ],
)
def test_unsupported_arguments_are_diagnostics(layer, message):
    result = k2t.convert_source(script([f"keras.layers.{layer}", *HEAD], shape=SEQUENCE), "case.py")
    assert [d.code for d in result.diagnostics] == ["K2T102"], result.diagnostics
    assert message in result.diagnostics[0].message
