"""keras.applications.MobileNetV2 (keras/src/applications/mobilenet_v2.py), block by block."""

from __future__ import annotations

from . import BATCH_NORM, SAME_PADDING, ApplicationArgs, Layers, block_definition, halved, head

# Keras's _inverted_res_block calls: (filters, stride, expansion), block_id 0 to 16.
BLOCKS = (
    (16, 1, 1),
    (24, 2, 6), (24, 1, 6),
    (32, 2, 6), (32, 1, 6), (32, 1, 6),
    (64, 2, 6), (64, 1, 6), (64, 1, 6), (64, 1, 6),
    (96, 1, 6), (96, 1, 6), (96, 1, 6),
    (160, 2, 6), (160, 1, 6), (160, 1, 6),
    (320, 1, 6),
)  # fmt: skip


def make_divisible(value: float, divisor: int = 8) -> int:
    """Keras's _make_divisible: the nearest multiple of ``divisor``, never 10% below ``value``."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def build(args: ApplicationArgs):
    layers = Layers([], [])
    layers.add("Conv1", "Conv2D", "conv1", "conv")
    layers.add("bn_Conv1", "BatchNormalization", "bn_conv1", "batchnorm")
    layers.add("Conv1_relu", "ReLU")
    in_channels = make_divisible(32 * args.alpha)
    first = in_channels
    blocks = []
    for block_id, (filters, stride, expansion) in enumerate(BLOCKS):
        out_channels = make_divisible(int(filters * args.alpha))
        prefix = f"block_{block_id}_" if block_id else "expanded_conv_"
        path = f"blocks.{block_id}"
        if block_id:
            layers.add(f"{prefix}expand", "Conv2D", f"{path}.expand", "conv")
            layers.add(f"{prefix}expand_BN", "BatchNormalization", f"{path}.expand_bn", "batchnorm")
            layers.add(f"{prefix}expand_relu", "ReLU")
        if stride == 2:
            layers.add(f"{prefix}pad", "ZeroPadding2D")
        layers.add(f"{prefix}depthwise", "DepthwiseConv2D", f"{path}.depthwise", "depthwise_conv")
        layers.add(f"{prefix}depthwise_BN", "BatchNormalization", f"{path}.depthwise_bn", "batchnorm")
        layers.add(f"{prefix}depthwise_relu", "ReLU")
        layers.add(f"{prefix}project", "Conv2D", f"{path}.project", "conv")
        layers.add(f"{prefix}project_BN", "BatchNormalization", f"{path}.project_bn", "batchnorm")
        if stride == 1 and in_channels == out_channels:
            layers.add(f"{prefix}add", "Add")
        blocks.append((in_channels, out_channels, stride, expansion, prefix.rstrip("_")))
        in_channels = out_channels
    # No alpha on the last convolution below 1 (Keras: "as stated in the paper").
    last_filters = make_divisible(1280 * args.alpha) if args.alpha > 1.0 else 1280
    layers.add("Conv_1", "Conv2D", "conv_1", "conv")
    layers.add("Conv_1_bn", "BatchNormalization", "conv_1_bn", "batchnorm")
    layers.add("out_relu", "ReLU")
    # Keras names its pooling layers by default (global_average_pooling2d, ...): only the classifier has a name.
    output_shape = head(args, layers, last_filters, halved(args.input_shape[0], 5), ("", ""))
    context = {
        "channels_first": ["conv1", "bn_conv1", "blocks", "conv_1", "conv_1_bn"],
        "block": block_definition("InvertedResidual", "mobilenet_v2_block", batch_norm=BATCH_NORM),
        "blocks": blocks,
        "first_filters": first,
        "last_filters": last_filters,
        "same_padding": SAME_PADDING,
    }
    return "applications/mobilenet_v2.py.j2", context, layers, output_shape, [SAME_PADDING]
