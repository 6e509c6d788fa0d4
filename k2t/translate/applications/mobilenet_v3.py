"""keras.applications.MobileNetV3Small and MobileNetV3Large (keras/src/applications/mobilenet_v3.py), block by
block: the input's Rescaling (include_preprocessing), hard_swish, and squeeze-and-excitation gated by Keras's
hard_sigmoid, ReLU6(x + 3) / 6. minimalistic=True is ReLU everywhere, 3x3 kernels, no squeeze-and-excitation."""

from __future__ import annotations

from ..dims import known
from . import BATCH_NORM, SAME_PADDING, ApplicationArgs, Layers, block_definition, halved
from .mobilenet_v2 import make_divisible  # Keras's _depth is MobileNetV2's _make_divisible

# Keras's stack_fn calls of _inverted_res_block: (expansion, filters, kernel_size, stride, squeeze-excite,
# activation), block_id 0 up. A kernel of None is the model's (5, or 3 when minimalistic); an activation of
# None the model's (hard_swish, or ReLU when minimalistic); squeeze-excite True is the model's se_ratio (0.25,
# none when minimalistic).
STACKS = {
    "small": (
        (1, 16, 3, 2, True, "relu"),
        (72.0 / 16, 24, 3, 2, False, "relu"),
        (88.0 / 24, 24, 3, 1, False, "relu"),
        (4, 40, None, 2, True, None),
        (6, 40, None, 1, True, None),
        (6, 40, None, 1, True, None),
        (3, 48, None, 1, True, None),
        (3, 48, None, 1, True, None),
        (6, 96, None, 2, True, None),
        (6, 96, None, 1, True, None),
        (6, 96, None, 1, True, None),
    ),
    "large": (
        (1, 16, 3, 1, False, "relu"),
        (4, 24, 3, 2, False, "relu"),
        (3, 24, 3, 1, False, "relu"),
        (3, 40, None, 2, True, "relu"),
        (3, 40, None, 1, True, "relu"),
        (3, 40, None, 1, True, "relu"),
        (6, 80, 3, 2, False, None),
        (2.5, 80, 3, 1, False, None),
        (2.3, 80, 3, 1, False, None),
        (2.3, 80, 3, 1, False, None),
        (6, 112, 3, 1, True, None),
        (6, 112, 3, 1, True, None),
        (6, 160, None, 2, True, None),
        (6, 160, None, 1, True, None),
        (6, 160, None, 1, True, None),
    ),
}
LAST_POINT_CHANNELS = {"small": 1024, "large": 1280}
SE_RATIO = 0.25
# Keras's layer class of each activation: ReLU() layers, Activation("hard_swish") layers.
ACTIVATION_LAYERS = {"relu": "ReLU", "hard_swish": "Activation"}

SQUEEZE_EXCITE = block_definition(
    "SqueezeExcite",
    "mobilenet_v3_squeeze_excite",
    hard_sigmoid=block_definition("hard_sigmoid", "mobilenet_v3_hard_sigmoid"),
)


def build_for(model_type: str):
    """The builder of MobileNetV3Small ("small") or MobileNetV3Large ("large")."""
    return lambda args: build(args, model_type)


def build(args: ApplicationArgs, model_type: str):
    minimalistic = args.options["minimalistic"]
    model_kernel, model_activation = (3, "relu") if minimalistic else (5, "hard_swish")
    layers = Layers([], [])
    if args.options["include_preprocessing"]:
        layers.add("", "Rescaling")  # Rescaling(1 / 127.5, offset=-1), which Keras does not name
    layers.add("conv", "Conv2D", "conv", "conv")
    layers.add("conv_bn", "BatchNormalization", "conv_bn", "batchnorm")
    layers.add("", ACTIVATION_LAYERS[model_activation])
    in_channels = 16  # the first convolution's 16 filters, whatever alpha
    blocks = []
    for block_id, (expansion, filters, kernel, stride, squeeze, activation) in enumerate(STACKS[model_type]):
        kernel, activation = kernel or model_kernel, activation or model_activation
        out_channels = make_divisible(filters * args.alpha)
        hidden = make_divisible(in_channels * expansion) if block_id else in_channels
        squeezed = make_divisible(hidden * SE_RATIO) if squeeze and not minimalistic else None
        prefix, path = f"expanded_conv_{block_id}_" if block_id else "expanded_conv_", f"blocks.{block_id}"
        _block_layers(layers, prefix, path, block_id, stride, squeezed, ACTIVATION_LAYERS[activation])
        residual = stride == 1 and in_channels == out_channels
        if residual:
            layers.add(f"{prefix}add", "Add")
        blocks.append((in_channels, hidden, out_channels, kernel, stride, squeezed, activation, prefix.rstrip("_")))
        in_channels = out_channels
    last_conv = make_divisible(in_channels * 6)
    last_point = LAST_POINT_CHANNELS[model_type]
    if args.alpha > 1.0:
        last_point = make_divisible(last_point * args.alpha)
    layers.add("conv_1", "Conv2D", "conv_1", "conv")
    layers.add("conv_1_bn", "BatchNormalization", "conv_1_bn", "batchnorm")
    layers.add("", ACTIVATION_LAYERS[model_activation])
    dropout = args.options["dropout_rate"]
    if args.include_top:
        layers.add("", "GlobalAveragePooling2D")
        layers.add("conv_2", "Conv2D", "conv_2", "conv")
        layers.add("", ACTIVATION_LAYERS[model_activation])
        if dropout > 0:
            layers.add("", "Dropout")
        layers.add("logits", "Conv2D", "logits", "conv")
        layers.add("", "Flatten")
        layers.add("predictions", "Activation")
        output_shape = known([args.classes])
    elif args.pooling is not None:
        layers.add(f"{args.pooling}_pool", "GlobalAveragePooling2D" if args.pooling == "avg" else "GlobalMaxPooling2D")
        output_shape = known([last_conv])
    else:
        spatial = halved(args.input_shape[0], 5)
        output_shape = known([spatial, spatial, last_conv])
    context = {
        "channels_first": ["conv", "conv_bn", "blocks", "conv_1", "conv_1_bn"],
        "block": block_definition(
            "InvertedResidualV3", "mobilenet_v3_block", batch_norm=BATCH_NORM, squeeze_excite=SQUEEZE_EXCITE
        ),
        "rescaling": args.options["include_preprocessing"],
        "model_activation": model_activation,
        "blocks": blocks,
        "last_conv": last_conv,
        "last_point": last_point,
        "dropout": dropout,
        "same_padding": SAME_PADDING,
    }
    return "applications/mobilenet_v3.py.j2", context, layers, output_shape, [SAME_PADDING]


def _block_layers(
    layers: Layers, prefix: str, path: str, block_id: int, stride: int, squeezed: int | None, activation: str
) -> None:
    """Keras's _inverted_res_block: its layers in Keras's order, each with the torch submodule of its weights."""
    if block_id:
        layers.add(f"{prefix}expand", "Conv2D", f"{path}.expand", "conv")
        layers.add(f"{prefix}expand_bn", "BatchNormalization", f"{path}.expand_bn", "batchnorm")
        layers.add("", activation)
    if stride == 2:
        layers.add(f"{prefix}depthwise_pad", "ZeroPadding2D")
    layers.add(f"{prefix}depthwise", "DepthwiseConv2D", f"{path}.depthwise", "depthwise_conv")
    layers.add(f"{prefix}depthwise_bn", "BatchNormalization", f"{path}.depthwise_bn", "batchnorm")
    layers.add("", activation)
    if squeezed is not None:
        se = f"{prefix}squeeze_excite"
        layers.add(f"{se}_avg_pool", "GlobalAveragePooling2D")
        layers.add(f"{se}_conv", "Conv2D", f"{path}.squeeze_excite.conv", "conv")
        layers.add(f"{se}_relu", "ReLU")
        layers.add(f"{se}_conv_1", "Conv2D", f"{path}.squeeze_excite.conv_1", "conv")
        layers.add("", "ReLU")  # hard_sigmoid's ReLU(6.0); its + 3 and * (1 / 6) are operations, not layers
        layers.add(f"{se}_mul", "Multiply")
    layers.add(f"{prefix}project", "Conv2D", f"{path}.project", "conv")
    layers.add(f"{prefix}project_bn", "BatchNormalization", f"{path}.project_bn", "batchnorm")
