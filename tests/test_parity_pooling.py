"""Exact parity against real Keras for pooling layers (k2t/translate/pooling.py).

A convolution sits before each pooling layer so that training sends gradients
through the pooling into weights; the conversion must reproduce Keras's
"same" rule (trap 5: out = ceil(n/s), the odd pad after), -inf padding for
max pooling and a divisor of real cells only for average pooling.
"""

import pytest
from conftest import requires_keras, requires_torch
from parity_cases import assert_parity, script
from unwrapped import unwrapped

import k2t

pytestmark = [requires_torch, requires_keras, pytest.mark.parity]

OUT = ["keras.layers.Flatten()", 'keras.layers.Dense(1, activation="sigmoid")']

CONV = {
    1: 'keras.layers.Conv1D(4, 3, padding="same")',
    2: 'keras.layers.Conv2D(4, 3, padding="same")',
    3: 'keras.layers.Conv3D(3, 3, padding="same")',
}
SHAPE = {1: (12, 3), 2: (12, 12, 3), 3: (6, 6, 6, 2)}

# name -> (spatial rank, layer). With 12 cells: pool 3 stride 2 "same" pads (0, 1)
# (asymmetric), pool 4 stride 2 pads (1, 1), pool 3 stride 1 pads (1, 1), pool 2 stride 1 pads (0, 1).
POOLING = {
    "max2d_default": (2, "keras.layers.MaxPooling2D()"),
    "max2d_alias_tuple": (2, "keras.layers.MaxPool2D((2, 2))"),
    "max2d_pool3_stride2": (2, "keras.layers.MaxPooling2D(3, strides=2)"),
    "max2d_rect_valid": (2, "keras.layers.MaxPooling2D(pool_size=(3, 2), strides=(1, 2))"),
    "max2d_same_no_pad": (2, 'keras.layers.MaxPooling2D(2, padding="same")'),
    "max2d_same_asymmetric": (2, 'keras.layers.MaxPooling2D(3, strides=2, padding="same")'),
    "max2d_same_symmetric": (2, 'keras.layers.MaxPooling2D(4, strides=2, padding="same")'),
    "max2d_same_stride1_odd": (2, 'keras.layers.MaxPooling2D(3, strides=1, padding="same")'),
    "max2d_same_stride1_even": (2, 'keras.layers.MaxPooling2D(2, strides=1, padding="same")'),
    "max2d_same_rect": (2, 'keras.layers.MaxPooling2D((2, 3), strides=(1, 2), padding="same")'),
    "avg2d_valid": (2, "keras.layers.AveragePooling2D(2)"),
    "avg2d_alias": (2, "keras.layers.AvgPool2D(pool_size=2, strides=None)"),
    "avg2d_pool3_stride2": (2, "keras.layers.AveragePooling2D(3, strides=2)"),
    "avg2d_same_no_pad": (2, 'keras.layers.AveragePooling2D(2, padding="same")'),
    "avg2d_same_asymmetric": (2, 'keras.layers.AveragePooling2D(3, strides=2, padding="same")'),
    "avg2d_same_symmetric": (2, 'keras.layers.AveragePooling2D(4, strides=2, padding="same")'),
    "avg2d_same_stride1_odd": (2, 'keras.layers.AveragePooling2D(3, strides=1, padding="same")'),
    "avg2d_same_stride1_even": (2, 'keras.layers.AveragePooling2D(2, strides=1, padding="same")'),
    "avg2d_same_rect": (2, 'keras.layers.AveragePooling2D((3, 2), strides=(2, 1), padding="same")'),
    "avg2d_same_mixed": (2, 'keras.layers.AveragePooling2D((4, 3), strides=2, padding="same")'),
    "max1d_default": (1, "keras.layers.MaxPooling1D()"),
    "max1d_alias_strides": (1, "keras.layers.MaxPool1D(pool_size=3, strides=1)"),
    "max1d_same_asymmetric": (1, 'keras.layers.MaxPooling1D(3, strides=2, padding="same")'),
    "avg1d_valid": (1, "keras.layers.AveragePooling1D(2)"),
    "avg1d_same_asymmetric": (1, 'keras.layers.AveragePooling1D(3, strides=2, padding="same")'),
    "avg1d_same_symmetric": (1, 'keras.layers.AveragePooling1D(3, strides=1, padding="same")'),
    "max3d_default": (3, "keras.layers.MaxPooling3D()"),
    "max3d_same_asymmetric": (3, 'keras.layers.MaxPooling3D(3, strides=2, padding="same")'),
    "avg3d_valid": (3, "keras.layers.AveragePooling3D((2, 2, 2))"),
    "avg3d_same_asymmetric": (3, 'keras.layers.AveragePooling3D(3, strides=2, padding="same")'),
    "avg3d_same_rect": (3, 'keras.layers.AveragePooling3D((2, 3, 2), strides=(1, 2, 2), padding="same")'),
    "max3d_alias": (3, "keras.layers.MaxPool3D(pool_size=2)"),
    "avg1d_alias_same": (1, 'keras.layers.AvgPool1D(2, padding="same")'),
    "avg3d_alias_stride1": (3, "keras.layers.AvgPool3D(2, strides=1)"),
}


@pytest.mark.parametrize("name", POOLING)
def test_pooling(name, tmp_path):
    rank, pooling = POOLING[name]
    report = assert_parity(script([CONV[rank], pooling, *OUT], shape=SHAPE[rank]), tmp_path)
    assert report.layer_diffs[1][1] <= 1e-5, report.layer_diffs


@pytest.mark.parametrize(
    "pooling",
    [
        'keras.layers.MaxPooling2D(2, padding="same")',
        'keras.layers.MaxPooling2D(3, strides=2, padding="same")',
        'keras.layers.AveragePooling2D(2, padding="same")',
        'keras.layers.AveragePooling2D(3, strides=2, padding="same")',
        'keras.layers.AveragePooling2D(2, strides=3, padding="same")',
    ],
    ids=["max_2", "max_3_stride_2", "avg_2", "avg_3_stride_2", "avg_2_stride_3"],
)
def test_same_pooling_of_odd_sizes(pooling, tmp_path):
    """11 cells: "same" pools 2/2 pad (0, 1), so even the default stride is asymmetric."""
    assert_parity(script([CONV[2], pooling, *OUT], shape=(11, 11, 3)), tmp_path)


def test_pooling_the_input_directly(tmp_path):
    """No convolution before: the pooling itself moves the channels first."""
    layers = ['keras.layers.MaxPooling2D(3, strides=2, padding="same")', "keras.layers.AveragePooling2D(2)", *OUT]
    assert_parity(script(layers, shape=(12, 12, 3)), tmp_path)


@pytest.mark.parametrize("rank", [1, 2])
def test_stacked_pooling_after_relu(rank, tmp_path):
    """Max pooling of a ReLU: ties at 0 get no gradient on either side. The module applies each ReLU after the
    pooling (k2t.translate.model._relu_after_max_pooling): every layer's output and the training match Keras's."""
    layers = [
        f'keras.layers.Conv{rank}D(6, 3, activation="relu")',
        f"keras.layers.MaxPooling{rank}D()",
        f'keras.layers.Conv{rank}D(4, 3, padding="same", activation="relu")',
        f'keras.layers.MaxPooling{rank}D(padding="same")',
        *OUT,
    ]
    source = script(layers, shape=(12, 3) if rank == 1 else (12, 12, 3))
    output = k2t.convert_source(source, "case.py").output
    assert f"x = self.conv{rank}d(x)\n        x = F.relu(self.max_pooling{rank}d(x))" in output
    report = assert_parity(source, tmp_path)
    assert all(diff <= 1e-5 for _, diff in report.layer_diffs), report.layer_diffs


GLOBAL = {
    "avg1d": (1, "keras.layers.GlobalAveragePooling1D()"),
    "avg2d": (2, "keras.layers.GlobalAveragePooling2D()"),
    "avg2d_alias": (2, "keras.layers.GlobalAvgPool2D()"),
    "avg3d": (3, "keras.layers.GlobalAveragePooling3D()"),
    "max1d": (1, "keras.layers.GlobalMaxPooling1D()"),
    "max2d": (2, "keras.layers.GlobalMaxPooling2D()"),
    "max2d_alias": (2, "keras.layers.GlobalMaxPool2D()"),
    "max3d": (3, "keras.layers.GlobalMaxPooling3D()"),
    "avg2d_keepdims": (2, "keras.layers.GlobalAveragePooling2D(keepdims=True)"),
    "max1d_keepdims": (1, "keras.layers.GlobalMaxPooling1D(keepdims=True)"),
    "max3d_keepdims": (3, "keras.layers.GlobalMaxPooling3D(keepdims=True)"),
    "avg1d_alias": (1, "keras.layers.GlobalAvgPool1D()"),
    "avg3d_alias": (3, "keras.layers.GlobalAvgPool3D()"),
    "max1d_alias": (1, "keras.layers.GlobalMaxPool1D()"),
    "max3d_alias_keepdims": (3, "keras.layers.GlobalMaxPool3D(keepdims=True)"),
}


@pytest.mark.parametrize("name", GLOBAL)
def test_global_pooling(name, tmp_path):
    rank, pooling = GLOBAL[name]
    assert_parity(script([CONV[rank], pooling, *OUT], shape=SHAPE[rank]), tmp_path)


def test_global_max_pooling_with_tied_maxima(tmp_path):
    """A ReLU feeding GlobalMaxPooling, and Dense after it: TF's reduce_max splits the gradient of tied maxima."""
    layers = [
        'keras.layers.Conv2D(4, 3, padding="same", activation="relu")',
        "keras.layers.GlobalMaxPooling2D()",
        'keras.layers.Dense(1, activation="sigmoid")',
    ]
    assert_parity(script(layers, shape=(12, 12, 3)), tmp_path)


def test_global_average_pooling_with_dense_head(tmp_path):
    layers = [CONV[2], "keras.layers.GlobalAveragePooling2D()", 'keras.layers.Dense(3, activation="softmax")']
    source = script(layers, shape=(12, 12, 3), loss='"sparse_categorical_crossentropy"', targets="sparse")
    assert_parity(source, tmp_path)


def test_symbolic_input_sizes(tmp_path):
    """Input sizes from a variable become constructor parameters; valid pooling sizes stay expressions."""
    source = script(
        [CONV[2], "keras.layers.MaxPooling2D()", 'keras.layers.AveragePooling2D(3, strides=1, padding="same")', *OUT],
        features=432,
        x_shape=".reshape(96, 12, 12, 3)\nSIZE = 12",
        input_shape="(SIZE, SIZE, 3)",
    )
    report = assert_parity(source, tmp_path)
    assert report.ok


# --------------------------------------------------------------------------- generated code


def _converted(layers, shape=(12, 12, 3)) -> str:
    result = k2t.convert_source(script([*layers, *OUT], shape=shape), "case.py")
    assert not result.diagnostics, result.diagnostics
    return result.output


def test_symmetric_same_pooling_uses_torch_padding():
    output = _converted(['keras.layers.MaxPooling2D(4, strides=2, padding="same")', 'keras.layers.AveragePooling2D(3, strides=1, padding="same")'])
    assert "nn.MaxPool2d(4, stride=2, padding=1)" in unwrapped(output)
    assert "nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)" in unwrapped(output)
    assert "AvgPoolSame" not in output and 'value=float("-inf")' not in output


def test_asymmetric_same_pooling_pads_after():
    output = _converted(['keras.layers.MaxPooling2D(3, strides=2, padding="same")', 'keras.layers.AveragePooling2D(3, strides=2, padding="same")'])
    assert 'x = F.pad(x, (0, 1, 0, 1), value=float("-inf"))' in output
    assert "AvgPoolSame(nn.AvgPool2d(3, stride=2))" in output
    assert "x = self.average_pooling2d(x, (0, 1, 0, 1))" in output
    assert output.count("class AvgPoolSame(nn.Module):") == 1


@pytest.mark.parametrize("size", [11, 12])
@pytest.mark.parametrize(
    "pooling",
    [
        'keras.layers.MaxPooling2D(3, strides=2, padding="same")',
        'keras.layers.AveragePooling2D(3, strides=2, padding="same")',
        'keras.layers.AveragePooling2D((2, 3), strides=(1, 2), padding="same")',
    ],
    ids=["max_3_stride_2", "avg_3_stride_2", "avg_rect_stride_1_2"],
)
def test_strided_same_pooling_with_sizes_from_a_variable(pooling, size, tmp_path):
    """Input sizes given by a variable: the strided "same" padding is computed from x.shape at run time."""
    source = script([CONV[2], pooling, *OUT], shape=(size, size, 3))
    source = source.replace(f"keras.Input(shape=({size}, {size}, 3))", "keras.Input(shape=(SIZE, SIZE, 3))")
    source = source.replace("keras.utils.set_random_seed(0)", f"SIZE = {size}\nkeras.utils.set_random_seed(0)")
    result = k2t.convert_source(source, "case.py")
    assert not result.diagnostics, result.diagnostics
    assert "*same_padding(x.shape[3], 3, 2)" in result.output
    assert_parity(source, tmp_path)


def test_average_pooling_without_pool_size_is_a_todo():
    result = k2t.convert_source(script(["keras.layers.AveragePooling2D()", *OUT], shape=(12, 12, 3)), "case.py")
    assert any("AveragePooling2D" in d.message for d in result.diagnostics)


def test_channels_first_data_format_is_a_todo():
    result = k2t.convert_source(script(['keras.layers.MaxPooling2D(data_format="channels_first")', *OUT], shape=(12, 12, 3)), "case.py")
    assert any("data_format" in d.message for d in result.diagnostics)


def test_every_pooling_converter_has_a_parity_case():
    from k2t.translate import pooling, registry

    cases = " ".join(layer for _, layer in [*POOLING.values(), *GLOBAL.values()])
    names = [name for name, func in registry.LAYERS.items() if func.__module__ == pooling.__name__]
    assert names
    assert [name for name in names if f"keras.layers.{name}(" not in cases] == []
