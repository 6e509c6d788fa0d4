"""Exact parity against real Keras for the convolution family.

Conv1D/2D/3D, Conv1D/2D/3DTranspose, DepthwiseConv1D/2D and
SeparableConv1D/2D: each case is a tiny Keras script (a conv stack, then
Flatten and a sigmoid Dense); k2t converts it, the harness copies Keras's
initial weights into the torch module and requires every layer's output within
1e-4 and every epoch's loss within 1e-3 relative. The cases walk the
arguments whose Keras meaning differs from torch's defaults: "same" padding
with strides (trap 5), even kernels, causal padding, dilation, groups, depth
multipliers, the transposed conv's output size and cropping (trap 6).
Initializers are checked as distributions against Keras's, like
tests/test_initializers.py does for Dense.
"""

import textwrap

import pytest
from conftest import requires_keras, requires_torch

pytestmark = [requires_torch, requires_keras, pytest.mark.parity]

from parity_cases import assert_parity, script

HEAD = ["keras.layers.Flatten()", 'keras.layers.Dense(1, activation="sigmoid")']
IMAGE = (12, 12, 3)
SEQUENCE = (16, 4)
VOLUME = (6, 6, 6, 2)


def L(name, *args):
    """``keras.layers.name(args)``, keyword values as written."""
    return f"keras.layers.{name}({', '.join(args)})"


CONV1D = {
    "k3_valid": [L("Conv1D", "5", "3")],
    "k4_same_even": [L("Conv1D", "5", "4", 'padding="same"')],
    "k3_same_stride2": [L("Conv1D", "5", "3", "strides=2", 'padding="same"')],
    "k4_same_stride3": [L("Conv1D", "5", "4", "strides=3", 'padding="same"')],
    "k2_same_stride2": [L("Conv1D", "5", "2", "strides=2", 'padding="same"')],
    "k3_valid_stride3": [L("Conv1D", "5", "3", "strides=3")],
    "k3_dilation2": [L("Conv1D", "5", "3", "dilation_rate=2")],
    "k3_same_dilation3": [L("Conv1D", "5", "3", "dilation_rate=3", 'padding="same"')],
    "causal_k3": [L("Conv1D", "5", "3", 'padding="causal"')],
    "causal_k4_dilation2": [L("Conv1D", "5", "4", 'padding="causal"', "dilation_rate=2")],
    "causal_k3_stride2": [L("Conv1D", "5", "3", 'padding="causal"', "strides=2")],
    "groups2": [L("Conv1D", "6", "3", "groups=2", 'activation="relu"')],
    "groups4_no_bias": [L("Conv1D", "8", "3", "groups=4", "use_bias=False")],
    "stacked": [L("Conv1D", "6", "3", 'activation="relu"', 'padding="same"'), L("Conv1D", "4", "5", "strides=2")],
}


@pytest.mark.parametrize("name", CONV1D)
def test_conv1d(name, tmp_path):
    assert_parity(script([*CONV1D[name], *HEAD], shape=SEQUENCE), tmp_path)


CONV2D = {
    "k3_valid": [L("Conv2D", "4", "3")],
    "k3_tuple_kernel": [L("Conv2D", "4", "(3, 3)", 'padding="same"')],
    "k2_same_even": [L("Conv2D", "4", "2", 'padding="same"')],
    "k4_same_even": [L("Conv2D", "4", "4", 'padding="same"')],
    "k3_same_stride2_odd_pad": [L("Conv2D", "4", "3", "strides=2", 'padding="same"')],
    "k4_same_stride2_even_pad": [L("Conv2D", "4", "4", "strides=2", 'padding="same"')],
    "k5_same_stride3": [L("Conv2D", "4", "5", "strides=3", 'padding="same"')],
    "k4_same_stride3_odd_pad": [L("Conv2D", "4", "4", "strides=3", 'padding="same"')],
    "k2_same_stride3_no_pad": [L("Conv2D", "4", "2", "strides=3", 'padding="same"')],
    "rect_kernel_strides_same": [L("Conv2D", "4", "(3, 2)", "strides=(2, 3)", 'padding="same"')],
    "k3_valid_stride2": [L("Conv2D", "4", "3", "strides=2")],
    "k3_valid_stride3": [L("Conv2D", "4", "3", "strides=3")],
    "dilation2_valid": [L("Conv2D", "4", "3", "dilation_rate=2")],
    "dilation2_same": [L("Conv2D", "4", "3", "dilation_rate=2", 'padding="same"')],
    "dilation_tuple": [L("Conv2D", "4", "(3, 2)", "dilation_rate=(1, 3)", 'padding="same"')],
    "groups3_depthwise_like": [L("Conv2D", "6", "3", "groups=3")],
    "groups2": [L("Conv2D", "4", "1"), L("Conv2D", "6", "3", "groups=2", 'padding="same"')],
    "no_bias": [L("Conv2D", "4", "3", "use_bias=False")],
    "kernel_l2": [L("Conv2D", "4", "3", 'kernel_regularizer="l2"')],
    "kernel_l1_bias_l2": [L("Conv2D", "4", "3", "kernel_regularizer=keras.regularizers.l1(0.02)", "bias_regularizer=keras.regularizers.L2(0.1)")],
    "kernel_l1_l2": [L("Conv2D", "4", "3", "kernel_regularizer=keras.regularizers.l1_l2(l1=0.01, l2=0.02)")],
    "initializers": [L("Conv2D", "4", "3", 'kernel_initializer="he_normal"', 'bias_initializer="ones"')],
    "initializer_objects": [L("Conv2D", "4", "3", "kernel_initializer=keras.initializers.VarianceScaling(scale=2.0, mode='fan_out')", "bias_initializer=keras.initializers.Constant(0.1)")],
    "stacked_with_batchnorm": [
        L("Conv2D", "6", "3", 'padding="same"'),
        L("BatchNormalization"),
        L("ReLU"),
        L("Conv2D", "4", "3", "strides=2", 'padding="same"', 'activation="relu"'),
    ],
    "dense_on_channels": [L("Conv2D", "4", "3", 'activation="relu"'), L("Dense", "3")],
    "named": [L("Conv2D", "4", "3", 'name="features"')],
}


@pytest.mark.parametrize("name", CONV2D)
def test_conv2d(name, tmp_path):
    assert_parity(script([*CONV2D[name], *HEAD], shape=IMAGE), tmp_path)


ACTIVATIONS = [
    "relu", "sigmoid", "softmax", "log_softmax", "tanh", "elu", "selu", "gelu", "swish", "silu", "softplus",
    "softsign", "exponential", "hard_sigmoid", "hard_swish", "relu6", "leaky_relu", "mish", "linear", None,
]


@pytest.mark.parametrize("activation", ACTIVATIONS, ids=str)
def test_conv2d_activation(activation, tmp_path):
    assert_parity(script([L("Conv2D", "4", "3", "strides=2", f"activation={activation!r}"), *HEAD], shape=IMAGE), tmp_path)


CONV3D = {
    "k3_valid": [L("Conv3D", "3", "3")],
    "k3_same_stride2": [L("Conv3D", "3", "3", "strides=2", 'padding="same"')],
    "k2_same_even": [L("Conv3D", "3", "2", 'padding="same"')],
    "k2_dilation2_relu": [L("Conv3D", "3", "2", "dilation_rate=2", 'activation="relu"')],
    "rect_kernel_groups": [L("Conv3D", "4", "(1, 2, 3)", "groups=2", "use_bias=False")],
}


@pytest.mark.parametrize("name", CONV3D)
def test_conv3d(name, tmp_path):
    assert_parity(script([*CONV3D[name], *HEAD], shape=VOLUME), tmp_path)


# Keras output length per axis: valid (n - 1) * s + max(k, s); same n * s; with
# output_padding (n - 1) * s + k + op (valid) or (n - 1) * s + k % 2 + op (same).
CONV2D_TRANSPOSE = {
    "k3_valid": [L("Conv2DTranspose", "4", "3")],
    "k3_valid_stride2": [L("Conv2DTranspose", "4", "3", "strides=2")],
    "k2_valid_stride2": [L("Conv2DTranspose", "4", "2", "strides=2")],
    "k1_valid_stride2_max_k_s": [L("Conv2DTranspose", "4", "1", "strides=2")],
    "k2_valid_stride3_max_k_s": [L("Conv2DTranspose", "4", "2", "strides=3")],
    "k3_same": [L("Conv2DTranspose", "4", "3", 'padding="same"')],
    "k4_same_even": [L("Conv2DTranspose", "4", "4", 'padding="same"')],
    "k3_same_stride2_odd_crop": [L("Conv2DTranspose", "4", "3", "strides=2", 'padding="same"')],
    "k4_same_stride2_even_crop": [L("Conv2DTranspose", "4", "4", "strides=2", 'padding="same"')],
    "k5_same_stride2": [L("Conv2DTranspose", "4", "5", "strides=2", 'padding="same"')],
    "k3_same_stride3_no_crop": [L("Conv2DTranspose", "4", "3", "strides=3", 'padding="same"')],
    "k1_same_stride2_extends": [L("Conv2DTranspose", "4", "1", "strides=2", 'padding="same"')],
    "k2_same_stride3_extends": [L("Conv2DTranspose", "4", "2", "strides=3", 'padding="same"')],
    "rect_same": [L("Conv2DTranspose", "4", "(3, 4)", "strides=(2, 3)", 'padding="same"')],
    "output_padding_valid": [L("Conv2DTranspose", "4", "3", "strides=2", "output_padding=1")],
    "output_padding_same_odd": [L("Conv2DTranspose", "4", "3", "strides=2", 'padding="same"', "output_padding=1")],
    "output_padding_same_zero": [L("Conv2DTranspose", "4", "3", "strides=2", 'padding="same"', "output_padding=0")],
    "output_padding_same_stride3": [L("Conv2DTranspose", "4", "4", "strides=3", 'padding="same"', "output_padding=(2, 1)")],
    "dilation2_valid": [L("Conv2DTranspose", "4", "3", "dilation_rate=2")],
    "dilation2_same": [L("Conv2DTranspose", "4", "3", "dilation_rate=2", 'padding="same"')],
    "no_bias_relu": [L("Conv2DTranspose", "4", "3", "strides=2", 'padding="same"', "use_bias=False", 'activation="relu"')],
    "softmax": [L("Conv2DTranspose", "4", "3", "strides=2", 'activation="softmax"')],
    "regularized_initialized": [L("Conv2DTranspose", "4", "3", 'kernel_regularizer="l2"', 'bias_regularizer="l1"', 'kernel_initializer="he_uniform"', 'bias_initializer="ones"')],
    "encoder_decoder": [
        L("Conv2D", "6", "3", "strides=2", 'padding="same"', 'activation="relu"'),
        L("Conv2DTranspose", "3", "3", "strides=2", 'padding="same"', 'activation="sigmoid"'),
    ],
}


def _keras_runs_dilated_conv2d_transpose() -> bool:
    """TensorFlow's CPU kernel for a dilated Conv2DTranspose exists only with oneDNN, which TF enables on AVX-512 CPUs."""
    import keras
    import numpy as np

    try:
        keras.layers.Conv2DTranspose(1, 3, dilation_rate=2)(np.zeros((1, 6, 6, 1), "float32"))
    except Exception as error:
        if "dilation rates larger than 1" in str(error):
            return False
        raise
    return True


@pytest.mark.parametrize("name", CONV2D_TRANSPOSE)
def test_conv2d_transpose(name, tmp_path):
    import torch

    if "dilation" in name and not _keras_runs_dilated_conv2d_transpose():
        pytest.skip("Keras itself cannot run a dilated Conv2DTranspose on this CPU (TensorFlow without oneDNN)")
    # torch's oneDNN kernel for a 1x1 transposed convolution's weight gradient hung, and once aborted,
    # late in a long pytest process with TensorFlow loaded (never alone): those cases use torch's own kernel.
    with torch.backends.mkldnn.flags(enabled=not name.startswith("k1_")):
        assert_parity(script([*CONV2D_TRANSPOSE[name], *HEAD], shape=IMAGE), tmp_path)


CONV_TRANSPOSE_OTHER = {
    "1d_k3_same_stride2": ([L("Conv1DTranspose", "5", "3", "strides=2", 'padding="same"')], SEQUENCE),
    "1d_k4_valid_stride2": ([L("Conv1DTranspose", "5", "4", "strides=2", 'activation="tanh"')], SEQUENCE),
    "1d_output_padding": ([L("Conv1DTranspose", "5", "3", "strides=3", "output_padding=2")], SEQUENCE),
    "3d_k3_same_stride2": ([L("Conv3DTranspose", "3", "3", "strides=2", 'padding="same"')], VOLUME),
    "3d_k2_valid_stride2": ([L("Conv3DTranspose", "3", "2", "strides=2", "use_bias=False")], VOLUME),
}


@pytest.mark.parametrize("name", CONV_TRANSPOSE_OTHER)
def test_conv_transpose_1d_3d(name, tmp_path):
    layers, shape = CONV_TRANSPOSE_OTHER[name]
    assert_parity(script([*layers, *HEAD], shape=shape), tmp_path)


DEPTHWISE = {
    "k3_valid": ([L("DepthwiseConv2D", "3")], IMAGE),
    "k3_same": ([L("DepthwiseConv2D", "3", 'padding="same"')], IMAGE),
    "k4_same_even": ([L("DepthwiseConv2D", "4", 'padding="same"')], IMAGE),
    "multiplier2_same_stride2": ([L("DepthwiseConv2D", "3", "depth_multiplier=2", "strides=2", 'padding="same"')], IMAGE),
    "multiplier3_valid_stride3": ([L("DepthwiseConv2D", "(3, 2)", "depth_multiplier=3", "strides=3")], IMAGE),
    "k4_same_stride2": ([L("DepthwiseConv2D", "4", "strides=2", 'padding="same"')], IMAGE),
    "dilation2": ([L("DepthwiseConv2D", "3", "dilation_rate=2", 'padding="same"')], IMAGE),
    "no_bias_relu6": ([L("DepthwiseConv2D", "3", "use_bias=False", 'activation="relu6"')], IMAGE),
    "softmax": ([L("DepthwiseConv2D", "3", "depth_multiplier=2", 'activation="softmax"')], IMAGE),
    "regularized_initialized": (
        [L("DepthwiseConv2D", "3", "depth_multiplier=2", 'depthwise_regularizer="l2"', 'bias_regularizer="l1"', 'depthwise_initializer="he_normal"', 'bias_initializer="ones"')],
        IMAGE,
    ),
    "after_conv": ([L("Conv2D", "4", "1"), L("DepthwiseConv2D", "3", "depth_multiplier=2", 'activation="relu"')], IMAGE),
    "1d_k3_same": ([L("DepthwiseConv1D", "3", 'padding="same"')], SEQUENCE),
    "1d_multiplier3_stride2": ([L("DepthwiseConv1D", "4", "depth_multiplier=3", "strides=2", 'padding="same"', 'activation="relu"')], SEQUENCE),
    "1d_dilation2_valid": ([L("DepthwiseConv1D", "3", "dilation_rate=2", "use_bias=False")], SEQUENCE),
}


@pytest.mark.parametrize("name", DEPTHWISE)
def test_depthwise_conv(name, tmp_path):
    layers, shape = DEPTHWISE[name]
    assert_parity(script([*layers, *HEAD], shape=shape), tmp_path)


SEPARABLE = {
    "k3_valid": ([L("SeparableConv2D", "5", "3")], IMAGE),
    "k3_same_relu": ([L("SeparableConv2D", "5", "3", 'padding="same"', 'activation="relu"')], IMAGE),
    "multiplier2_same_stride2": ([L("SeparableConv2D", "5", "3", "depth_multiplier=2", "strides=2", 'padding="same"')], IMAGE),
    "k4_same_even": ([L("SeparableConv2D", "5", "4", 'padding="same"')], IMAGE),
    "dilation2": ([L("SeparableConv2D", "5", "3", "dilation_rate=2")], IMAGE),
    "no_bias": ([L("SeparableConv2D", "5", "3", "use_bias=False")], IMAGE),
    "regularized_initialized": (
        [
            L(
                "SeparableConv2D", "5", "3", "depth_multiplier=2",
                'depthwise_regularizer="l2"', "pointwise_regularizer=keras.regularizers.l1(0.02)", 'bias_regularizer="l2"',
                'depthwise_initializer="lecun_normal"', "pointwise_initializer=keras.initializers.RandomNormal(stddev=0.1)",
                'bias_initializer="ones"',
            )
        ],
        IMAGE,
    ),
    "stacked": ([L("SeparableConv2D", "6", "3", 'padding="same"', 'activation="relu"'), L("SeparableConv2D", "4", "3", "strides=2", 'padding="same"')], IMAGE),
    "1d_k3_same": ([L("SeparableConv1D", "6", "3", 'padding="same"')], SEQUENCE),
    "1d_multiplier2_stride2": ([L("SeparableConv1D", "6", "4", "depth_multiplier=2", "strides=2", 'padding="same"', 'activation="tanh"')], SEQUENCE),
}


@pytest.mark.parametrize("name", SEPARABLE)
def test_separable_conv(name, tmp_path):
    layers, shape = SEPARABLE[name]
    assert_parity(script([*layers, *HEAD], shape=shape), tmp_path)


def test_filters_from_a_variable(tmp_path):
    """A non-literal filters count becomes a constructor parameter of the generated module."""
    layers = [L("Conv2D", "FILTERS", "3", 'padding="same"'), L("SeparableConv2D", "FILTERS", "3"), L("Conv2DTranspose", "FILTERS", "3", "strides=2")]
    source = script([*layers, *HEAD], shape=IMAGE).replace("keras.utils.set_random_seed(0)", "FILTERS = 4\nkeras.utils.set_random_seed(0)")
    report = assert_parity(source, tmp_path)
    assert report.ok


@pytest.mark.parametrize("size", [11, 12])
def test_strided_same_with_sizes_from_a_variable(size, tmp_path):
    """Input sizes given by a variable: the strided "same" padding is computed from x.shape at run time."""
    layers = [
        L("Conv2D", "4", "3", "strides=2", 'padding="same"'),
        L("DepthwiseConv2D", "3", "strides=2", 'padding="same"', "depth_multiplier=2"),
        L("SeparableConv2D", "5", "3", "strides=2", 'padding="same"'),
        L("Conv2DTranspose", "3", "3", "strides=2", 'padding="same"'),
        L("Conv2D", "2", "2", "strides=3"),
    ]
    source = script([*layers, *HEAD], shape=(size, size, 3))
    source = source.replace(f"keras.Input(shape=({size}, {size}, 3))", "keras.Input(shape=(SIZE, SIZE, 3))")
    source = source.replace("keras.utils.set_random_seed(0)", f"SIZE = {size}\nkeras.utils.set_random_seed(0)")
    assert "same_padding(x.shape[3], 3, 2)" in convert_source(source)
    assert_parity(source, tmp_path)


def convert_source(source):
    import k2t

    result = k2t.convert_source(source)
    assert result.ok, result.diagnostics
    return result.output


def test_conv_training_on_sparse_classes(tmp_path):
    """A small CNN classifier: conv stack, softmax head, sparse crossentropy and SGD with momentum."""
    source = script(
        [
            L("Conv2D", "6", "3", 'activation="relu"'),
            L("DepthwiseConv2D", "3", "strides=2", 'padding="same"'),
            L("SeparableConv2D", "8", "3", 'activation="relu"'),
            "keras.layers.Flatten()",
            L("Dense", "3", 'activation="softmax"'),
        ],
        shape=IMAGE,
        loss='"sparse_categorical_crossentropy"',
        targets="sparse",
        optimizer="keras.optimizers.SGD(learning_rate=0.05, momentum=0.9)",
    )
    assert_parity(source, tmp_path)


# ----------------------------------------------------------------------------- generated code


def convert(layers, shape=IMAGE):
    import k2t

    result = k2t.convert_source(script([*layers, *HEAD], shape=shape))
    return result


def test_same_padding_with_stride_pads_after_explicitly():
    output = convert([L("Conv2D", "4", "3", "strides=2", 'padding="same"')]).output
    assert "x = F.pad(x, (0, 1, 0, 1))" in output
    assert "nn.Conv2d(3, 4, 3, stride=2)" in output


def test_symmetric_same_padding_stays_in_the_conv():
    output = convert([L("Conv2D", "4", "4", "strides=2", 'padding="same"')]).output
    assert "nn.Conv2d(3, 4, 4, stride=2, padding=1)" in output
    assert "F.pad" not in output


def test_transpose_same_with_odd_crop_uses_the_cropping_subclass():
    output = convert([L("Conv2DTranspose", "4", "3", "strides=2", 'padding="same"')]).output
    assert "class SameConvTranspose2d(nn.ConvTranspose2d):" in output
    assert "SameConvTranspose2d(3, 4, 3, stride=2, crop_end=(1, 1))" in output
    assert "output_padding=1" not in output  # the usual padding=1, output_padding=1 shifts by one (trap 6)


def test_transpose_even_crop_is_plain_torch():
    output = convert([L("Conv2DTranspose", "4", "4", "strides=2", 'padding="same"')]).output
    assert "nn.ConvTranspose2d(3, 4, 4, stride=2, padding=1)" in output
    assert "SameConvTranspose" not in output


def test_depthwise_is_a_grouped_conv():
    output = convert([L("DepthwiseConv2D", "3", "depth_multiplier=2")]).output
    assert "nn.Conv2d(3, 6, 3, groups=3)" in output
    assert "weight.unflatten(0, (-1, 2)).transpose(0, 1)" in output


def test_separable_is_depthwise_then_pointwise():
    output = convert([L("SeparableConv2D", "5", "3", "depth_multiplier=2")]).output
    assert "class SeparableConv2d(nn.Module):" in output
    assert "SeparableConv2d(3, 5, 3, depth_multiplier=2)" in output


def test_conv_softmax_is_over_the_channels():
    output = convert([L("Conv2D", "4", "3", 'activation="softmax"')]).output
    assert "F.softmax(self.conv2d(x), dim=1)" in output


@pytest.mark.parametrize(
    "layer, shape, message",
    [
        (L("Conv2D", "4", "3", 'data_format="channels_first"'), IMAGE, "data_format"),
        (L("Conv2D", "4", "3", 'padding="causal"'), IMAGE, "padding='causal'"),
        (L("DepthwiseConv2D", "3", 'padding="causal"'), IMAGE, "padding='causal'"),
        (L("Conv2D", "4", "3"), SEQUENCE, "expects 3-D inputs"),
        (L("Conv2DTranspose", "4", "3", "output_padding=PAD"), IMAGE, "literal"),
        (L("SeparableConv2D", "4", "3", "depthwise_constraint=keras.constraints.NonNeg()"), IMAGE, "depthwise_constraint"),
    ],
    ids=["channels_first", "causal_2d", "causal_depthwise", "wrong_rank", "non_literal", "constraint"],
)
def test_untranslated_arguments_are_diagnosed(layer, shape, message):
    import k2t

    # PAD is read from data: k2t cannot know it (a constant in a variable converts, see below).
    result = k2t.convert_source(script([layer, *HEAD], shape=shape).replace("keras.utils", "PAD = int(np.random.randint(1, 2))\nkeras.utils"))
    codes = [d.code for d in result.diagnostics]
    assert "K2T102" in codes, result.diagnostics
    assert any(message in d.message for d in result.diagnostics), result.diagnostics


def test_a_constant_held_in_a_variable_converts():
    import k2t

    layer = L("Conv2DTranspose", "4", "3", "strides=2", "output_padding=PAD")
    result = k2t.convert_source(script([layer, *HEAD], shape=IMAGE).replace("keras.utils", "PAD = 1\nkeras.utils"))
    assert result.ok, result.diagnostics
    assert "output_padding=1" in result.output


# ----------------------------------------------------------------------------- initializers


def _torch_weight(layer: str, attr: str, weight: str = "weight"):
    """The converted module's freshly initialised weight of ``attr``."""
    import torch

    import k2t

    source = textwrap.dedent(
        f"""\
        import keras
        model = keras.Sequential([keras.Input(shape=(10, 10, {CHANNELS})), {layer}])
        """
    )
    result = k2t.convert_source(source)
    assert result.ok, result.diagnostics
    torch.manual_seed(0)
    namespace: dict = {}
    exec(compile(result.output, "<converted>", "exec"), namespace)  # noqa: S102 - the test runs generated code
    module = getattr(namespace["model"], attr)
    for part in weight.split("."):
        module = getattr(module, part)
    return module.detach().numpy()


def _keras_weight(layer: str, weight: str):
    import keras

    keras.utils.set_random_seed(0)
    built = eval(layer, {"keras": keras})
    built.build((None, 10, 10, CHANNELS))
    return keras.ops.convert_to_numpy(getattr(built, weight))


CHANNELS = 120  # depthwise kernels have k * 120 * depth_multiplier values: enough for 5% on the std

INIT_CASES = {
    # (Keras layer, torch attr, torch weight, Keras weight)
    "conv2d_glorot_uniform": ("keras.layers.Conv2D(60, 3)", "conv2d", "weight", "kernel"),
    "conv2d_he_normal": ("keras.layers.Conv2D(60, 3, kernel_initializer='he_normal')", "conv2d", "weight", "kernel"),
    "conv2d_lecun_uniform": ("keras.layers.Conv2D(60, 3, kernel_initializer='lecun_uniform')", "conv2d", "weight", "kernel"),
    "conv2d_fan_out": ("keras.layers.Conv2D(60, (3, 2), kernel_initializer=keras.initializers.VarianceScaling(2.0, 'fan_out', 'uniform'))", "conv2d", "weight", "kernel"),
    "conv2d_groups_glorot_normal": ("keras.layers.Conv2D(60, 3, groups=4, kernel_initializer='glorot_normal')", "conv2d", "weight", "kernel"),
    "conv2d_transpose_glorot_uniform": ("keras.layers.Conv2DTranspose(60, 3)", "conv2d_transpose", "weight", "kernel"),
    "conv2d_transpose_he_normal": ("keras.layers.Conv2DTranspose(7, 3, kernel_initializer='he_normal')", "conv2d_transpose", "weight", "kernel"),
    "depthwise_glorot_uniform": ("keras.layers.DepthwiseConv2D(5)", "depthwise_conv2d", "weight", "kernel"),
    "depthwise_multiplier_glorot_uniform": ("keras.layers.DepthwiseConv2D(3, depth_multiplier=6)", "depthwise_conv2d", "weight", "kernel"),
    "depthwise_he_uniform": ("keras.layers.DepthwiseConv2D(5, depthwise_initializer='he_uniform')", "depthwise_conv2d", "weight", "kernel"),
    "depthwise_he_normal": ("keras.layers.DepthwiseConv2D(3, depth_multiplier=4, depthwise_initializer='he_normal')", "depthwise_conv2d", "weight", "kernel"),
    "depthwise_fan_avg_normal": (
        ("keras.layers.DepthwiseConv2D(3, depth_multiplier=3, "
        "depthwise_initializer=keras.initializers.VarianceScaling(1.0, 'fan_avg', 'untruncated_normal'))"),
        "depthwise_conv2d", "weight", "kernel",
    ),
    "separable_depthwise": ("keras.layers.SeparableConv2D(50, 5, depth_multiplier=2)", "separable_conv2d", "depthwise.weight", "depthwise_kernel"),
    "separable_pointwise_he": ("keras.layers.SeparableConv2D(50, 3, pointwise_initializer='he_uniform')", "separable_conv2d", "pointwise.weight", "pointwise_kernel"),
}


@pytest.mark.parametrize("name", INIT_CASES)
def test_initializer_distribution_matches_keras(name):
    import numpy as np

    layer, attr, weight, keras_weight = INIT_CASES[name]
    torch_w = _torch_weight(layer, attr, weight)
    keras_w = _keras_weight(layer, keras_weight)
    assert torch_w.size == keras_w.size
    assert np.std(torch_w) == pytest.approx(np.std(keras_w), rel=0.05)
    assert abs(np.mean(torch_w) - np.mean(keras_w)) < 0.05 * np.std(keras_w) + 1e-3
    if "normal" not in name or "he_normal" in name or "glorot_normal" in name:
        # Same support: uniform bounds and the two-sigma truncation.
        assert np.abs(torch_w).max() == pytest.approx(np.abs(keras_w).max(), rel=0.05)


AUTOENCODER_HEADS = {
    "sigmoid_bce": ('layers.Conv2D(1, 3, padding="same", activation="sigmoid", bias_initializer="glorot_uniform")', '"binary_crossentropy"', "x"),
    "softmax_sparse": ('layers.Conv2D(3, 1, activation="softmax")', '"sparse_categorical_crossentropy"', "(x[..., 0] * 3).astype('int32').clip(0, 2)"),
    "softmax_categorical": ('layers.Conv2D(3, 1, activation="softmax")', '"categorical_crossentropy"', "np.eye(3, dtype='float32')[(x[..., 0] * 3).astype('int32').clip(0, 2)]"),
    "transpose_sigmoid": ('layers.Conv2DTranspose(1, 3, padding="same", activation="sigmoid")', '"binary_crossentropy"', "x"),
}


@pytest.mark.parametrize("head", AUTOENCODER_HEADS)
def test_convolutional_output_heads_use_keras_logits(head, tmp_path):
    """A conv head ending in sigmoid/softmax: crossentropy from the logits, classes last, output channels-last."""
    layer, loss, target = AUTOENCODER_HEADS[head]
    source = f"""\
import numpy as np
import keras
from keras import layers
rng = np.random.RandomState(0)
x = rng.uniform(size=(64, 8, 8, 1)).astype("float32")
y = {target}
keras.utils.set_random_seed(0)
model = keras.Sequential([
    keras.Input(shape=(8, 8, 1)),
    layers.Conv2D(4, 3, strides=2, padding="same", activation="relu"),
    layers.Conv2DTranspose(4, 3, strides=2, padding="same", activation="relu"),
    {layer},
])
model.compile(optimizer="adam", loss={loss})
model.fit(x, y, batch_size=16, epochs=3, verbose=0)
"""
    assert_parity(source, tmp_path)
