"""Exact parity against real Keras for reshaping layers (k2t/translate/reshaping.py).

Padding, cropping and upsampling run channels-first between convolutions;
Reshape, Permute and RepeatVector work in Keras's channels-last element order
(trap 7), so a layer with weights after them sees Keras's order too.
"""

import re

import pytest
from conftest import requires_keras, requires_torch
from parity_cases import assert_parity, script

import k2t

pytestmark = [requires_torch, requires_keras, pytest.mark.parity]

OUT = ["keras.layers.Flatten()", 'keras.layers.Dense(1, activation="sigmoid")']

CONV = {
    1: 'keras.layers.Conv1D(4, 3, padding="same")',
    2: 'keras.layers.Conv2D(4, 3, padding="same")',
    3: 'keras.layers.Conv3D(3, 3, padding="same")',
}
SHAPE = {1: (12, 3), 2: (12, 12, 3), 3: (6, 6, 6, 2)}
AFTER = {  # a layer with weights after the reshaping one: its gradient flows back through it
    1: 'keras.layers.Conv1D(2, 3, activation="tanh")',
    2: 'keras.layers.Conv2D(2, 3, activation="tanh")',
    3: 'keras.layers.Conv3D(2, 3, activation="tanh")',
}

SPATIAL = {
    "zero_padding1d_default": (1, "keras.layers.ZeroPadding1D()"),
    "zero_padding1d_int": (1, "keras.layers.ZeroPadding1D(2)"),
    "zero_padding1d_pair": (1, "keras.layers.ZeroPadding1D(padding=(1, 3))"),
    "zero_padding2d_default": (2, "keras.layers.ZeroPadding2D()"),
    "zero_padding2d_int": (2, "keras.layers.ZeroPadding2D(2)"),
    "zero_padding2d_symmetric_pairs": (2, "keras.layers.ZeroPadding2D((1, 2))"),
    "zero_padding2d_pairs": (2, "keras.layers.ZeroPadding2D(padding=((1, 2), (3, 0)))"),
    "zero_padding3d_default": (3, "keras.layers.ZeroPadding3D()"),
    "zero_padding3d_pairs": (3, "keras.layers.ZeroPadding3D(((0, 1), (1, 0), (2, 1)))"),
    "cropping1d_default": (1, "keras.layers.Cropping1D()"),
    "cropping1d_pair": (1, "keras.layers.Cropping1D((0, 2))"),
    "cropping1d_int": (1, "keras.layers.Cropping1D(cropping=2)"),
    "cropping2d_int": (2, "keras.layers.Cropping2D(1)"),
    "cropping2d_symmetric_pairs": (2, "keras.layers.Cropping2D((2, 1))"),
    "cropping2d_pairs": (2, "keras.layers.Cropping2D(cropping=((1, 2), (0, 3)))"),
    "cropping3d_default": (3, "keras.layers.Cropping3D()"),
    "cropping3d_pairs": (3, "keras.layers.Cropping3D(((0, 1), (1, 0), (0, 2)))"),
    "up_sampling1d_default": (1, "keras.layers.UpSampling1D()"),
    "up_sampling1d_3": (1, "keras.layers.UpSampling1D(size=3)"),
    "up_sampling2d_default": (2, "keras.layers.UpSampling2D()"),
    "up_sampling2d_rect": (2, "keras.layers.UpSampling2D((2, 3))"),
    "up_sampling2d_bilinear": (2, 'keras.layers.UpSampling2D(2, interpolation="bilinear")'),
    "up_sampling2d_bilinear_rect": (2, 'keras.layers.UpSampling2D(size=(3, 2), interpolation="bilinear")'),
    "up_sampling3d_default": (3, "keras.layers.UpSampling3D()"),
    "up_sampling3d_rect": (3, "keras.layers.UpSampling3D((1, 2, 3))"),
}


@pytest.mark.parametrize("name", SPATIAL)
def test_spatial_reshaping(name, tmp_path):
    rank, layer = SPATIAL[name]
    report = assert_parity(script([CONV[rank], layer, AFTER[rank], *OUT], shape=SHAPE[rank]), tmp_path)
    assert report.layer_diffs[1][1] <= 1e-5, report.layer_diffs


def test_spatial_reshaping_of_the_input(tmp_path):
    layers = ["keras.layers.ZeroPadding2D(1)", "keras.layers.Cropping2D(((0, 1), (2, 0)))", "keras.layers.UpSampling2D()", AFTER[2], *OUT]
    assert_parity(script(layers, shape=(6, 6, 3)), tmp_path)


def test_up_sampling_with_a_large_factor(tmp_path):
    """torch's mode="nearest" picks the wrong source cell at factor 41; the conversion must not."""
    layers = ["keras.layers.UpSampling1D(41)", "keras.layers.Conv1D(2, 5, strides=5)", *OUT]
    assert_parity(script(layers, shape=(4, 3)), tmp_path)


RESHAPE = {
    # name -> (layers, input shape or None for 6 flat features)
    "flat_to_2d": (["keras.layers.Dense(12)", "keras.layers.Reshape((3, 4))", AFTER[1]], None),
    "flat_to_2d_inferred": (["keras.layers.Dense(12)", "keras.layers.Reshape((-1, 2))", AFTER[1]], None),
    "flat_to_image": (["keras.layers.Dense(48)", "keras.layers.Reshape((4, 4, 3))", AFTER[2]], None),
    "flat_to_image_inferred": (["keras.layers.Dense(48)", "keras.layers.Reshape(target_shape=(4, -1, 3))", AFTER[2]], None),
    "image_to_sequence": ([CONV[2], "keras.layers.Reshape((-1, 4))", AFTER[1]], (12, 12, 3)),
    "image_to_sequence_of_rows": ([CONV[2], "keras.layers.Reshape((12, 48))", AFTER[1]], (12, 12, 3)),
    "image_to_flat": ([CONV[2], "keras.layers.Reshape((-1,))", 'keras.layers.Dense(4, activation="relu")'], (12, 12, 3)),
    "sequence_to_image": (["keras.layers.Reshape((4, 3, 3))", AFTER[2]], (12, 3)),
    "permute_sequence": (["keras.layers.Permute((2, 1))", AFTER[1]], (12, 3)),
    "permute_image": ([CONV[2], "keras.layers.Permute((3, 1, 2))", AFTER[2]], (12, 12, 3)),
    "permute_image_rows": ([CONV[2], "keras.layers.Permute(dims=(2, 1, 3))", AFTER[2]], (12, 12, 3)),
    "repeat_vector": (['keras.layers.Dense(5, activation="relu")', "keras.layers.RepeatVector(4)", AFTER[1]], None),
    "repeat_vector_dense": (["keras.layers.Dense(5)", "keras.layers.RepeatVector(n=3)", 'keras.layers.Dense(2, activation="tanh")'], None),
}


@pytest.mark.parametrize("name", RESHAPE)
def test_reshape_permute_repeat(name, tmp_path):
    layers, shape = RESHAPE[name]
    assert_parity(script([*layers, *OUT], shape=shape), tmp_path)


def test_reshape_with_symbolic_sizes(tmp_path):
    source = script(
        ["keras.layers.Dense(SIZE * 4)", "keras.layers.Reshape((SIZE, -1))", AFTER[1], *OUT],
        x_shape="\nSIZE = 3",
    )
    assert_parity(source, tmp_path)


# --------------------------------------------------------------------------- generated code


def _converted(layers, shape=None) -> str:
    result = k2t.convert_source(script([*layers, *OUT], shape=shape), "case.py")
    assert not result.diagnostics, result.diagnostics
    return result.output


def test_reshape_uses_torch_modules_where_they_fit():
    output = _converted(["keras.layers.Dense(12)", "keras.layers.Reshape((3, -1))", "keras.layers.Reshape((-1,))"])
    assert "nn.Unflatten(1, (3, -1))" in output
    assert "self.reshape_1 = nn.Flatten()" in output
    assert "class ReshapeTo(" not in output


def test_reshape_after_convolution_goes_back_to_channels_last():
    output = _converted([CONV[2], "keras.layers.Reshape((-1, 4))"], shape=(12, 12, 3))
    forward = output[output.index("def logits"):]
    assert forward.index("x.permute(0, 2, 3, 1)") < forward.index("self.reshape(x)")


def test_nearest_up_sampling_repeats_cells():
    output = _converted(["keras.layers.UpSampling2D((2, 3))"], shape=(4, 4, 3))
    assert 'nn.Upsample(scale_factor=(2, 3), mode="nearest-exact")' in output


@pytest.mark.parametrize("interpolation", ["bicubic", "area", "lanczos3"])
def test_other_interpolations_are_todos(interpolation):
    source = script([f'keras.layers.UpSampling2D(interpolation="{interpolation}")', *OUT], shape=(4, 4, 3))
    result = k2t.convert_source(source, "case.py")
    assert any("interpolation" in d.message for d in result.diagnostics)


def test_helpers_are_emitted_once_and_only_when_used():
    output = _converted(
        [CONV[2], "keras.layers.Cropping2D(1)", "keras.layers.Cropping2D(((1, 0), (0, 1)))", "keras.layers.Permute((2, 1, 3))"],
        shape=(12, 12, 3),
    )
    assert output.count("class Cropping(nn.Module):") == 1
    assert output.count("class PermuteDims(nn.Module):") == 1
    assert "class RepeatAsSteps" not in output and "class ReshapeTo" not in output


def test_helpers_do_not_clash_with_imported_keras_names(tmp_path):
    """`from keras.layers import Reshape, ...` is common; the generated classes need no renaming."""
    source = '''\
import numpy as np
import keras
from keras.layers import Conv1D, Dense, Flatten, Permute, RepeatVector, Reshape

rng = np.random.RandomState(0)
x = rng.normal(size=(96, 6)).astype("float32")
y = (x.sum(axis=1) > 0).astype("float32")
keras.utils.set_random_seed(0)
model = keras.Sequential([
    keras.Input(shape=(6,)),
    Dense(12),
    Reshape((4, 3)),
    Permute((2, 1)),
    Conv1D(2, 2, activation="tanh"),
    Flatten(),
    RepeatVector(2),
    Flatten(),
    Dense(1, activation="sigmoid"),
])
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
history = model.fit(x, y, batch_size=16, epochs=3, verbose=0)
'''
    result = k2t.convert_source(source, "case.py")
    assert not result.diagnostics, result.diagnostics
    assert "PermuteDims((2, 1))" in result.output and "RepeatAsSteps(2)" in result.output
    assert not re.search(r"class \w+_\(", result.output)  # no helper renamed to Name_
    assert_parity(source, tmp_path)


def test_every_reshaping_converter_has_a_parity_case():
    from k2t.translate import registry, reshaping

    cases = " ".join([layer for _, layer in SPATIAL.values()] + [" ".join(layers) for layers, _ in RESHAPE.values()])
    names = [name for name, func in registry.LAYERS.items() if func.__module__ == reshaping.__name__]
    assert names
    assert [name for name in names if f"keras.layers.{name}(" not in cases] == []
