"""keras.applications.EfficientNetB0 to B7 (keras/src/applications/efficientnet.py), block by block.

The eight models are one architecture scaled by a width and a depth coefficient; Keras's round_filters and
round_repeats give each its channels and block counts.
"""

from __future__ import annotations

import math

from ..dims import known
from . import BATCH_NORM, ApplicationArgs, Layers, block_definition, halved

# Keras's DEFAULT_BLOCKS_ARGS: (kernel_size, repeats, filters_in, filters_out, expand_ratio, strides), each with
# se_ratio 0.25 and id_skip True.
BLOCKS = (
    (3, 1, 32, 16, 1, 1),
    (3, 2, 16, 24, 6, 2),
    (5, 2, 24, 40, 6, 2),
    (3, 3, 40, 80, 6, 2),
    (5, 3, 80, 112, 6, 1),
    (5, 4, 112, 192, 6, 2),
    (3, 1, 192, 320, 6, 1),
)
SE_RATIO = 0.25
DROP_CONNECT_RATE = 0.2  # Keras's default: stochastic depth grows linearly to this rate over the blocks

# Per model: (width coefficient, depth coefficient, default size, dropout before the classifier).
VARIANTS = {
    "EfficientNetB0": (1.0, 1.0, 224, 0.2),
    "EfficientNetB1": (1.0, 1.1, 240, 0.2),
    "EfficientNetB2": (1.1, 1.2, 260, 0.3),
    "EfficientNetB3": (1.2, 1.4, 300, 0.3),
    "EfficientNetB4": (1.4, 1.8, 380, 0.4),
    "EfficientNetB5": (1.6, 2.2, 456, 0.4),
    "EfficientNetB6": (1.8, 2.6, 528, 0.5),
    "EfficientNetB7": (2.0, 3.1, 600, 0.5),
}


def round_filters(filters: int, width: float, divisor: int = 8) -> int:
    """Keras's round_filters: the width-scaled count to the nearest multiple of 8, never 10% below it."""
    filters *= width
    rounded = max(divisor, int(filters + divisor / 2) // divisor * divisor)
    return int(rounded + divisor if rounded < 0.9 * filters else rounded)


def round_repeats(repeats: int, depth: float) -> int:
    return math.ceil(depth * repeats)


def build_for(variant: str):
    """The builder of one of the eight models."""
    return lambda args: build(args, *VARIANTS[variant])


def build(args: ApplicationArgs, width: float, depth: float, _size: int, dropout: float):
    layers = Layers([], [])
    # Keras names neither input layer (rescaling, normalization_3: numbered by the session), so the weights
    # of its Normalization are found by class (k2t.weights).
    layers.add("", "Rescaling")
    layers.add("", "Normalization", "normalization", "normalization")
    layers.add("stem_conv_pad", "ZeroPadding2D")
    layers.add("stem_conv", "Conv2D", "stem_conv", "conv")
    layers.add("stem_bn", "BatchNormalization", "stem_bn", "batchnorm")
    layers.add("stem_activation", "Activation")
    total = float(sum(round_repeats(repeats, depth) for _, repeats, *_ in BLOCKS))
    blocks = []
    for stage, (kernel, repeats, filters_in, filters_out, expansion, stride) in enumerate(BLOCKS):
        filters_in, filters_out = round_filters(filters_in, width), round_filters(filters_out, width)
        for repeat in range(round_repeats(repeats, depth)):
            if repeat:
                stride, filters_in = 1, filters_out
            drop_rate = DROP_CONNECT_RATE * len(blocks) / total  # Keras's drop_connect_rate * b / blocks
            prefix, path = f"block{stage + 1}{chr(repeat + 97)}_", f"blocks.{len(blocks)}"
            residual = stride == 1 and filters_in == filters_out
            _block_layers(layers, prefix, path, expansion, stride, residual and drop_rate > 0, residual)
            squeezed = max(1, int(filters_in * SE_RATIO))
            # Keras's arithmetic written out, the same float (0.2 * 3 / 16 is 0.037500000000000006).
            rate = f"{DROP_CONNECT_RATE} * {len(blocks)} / {int(total)}" if blocks else "0.0"
            blocks.append((filters_in, filters_out, kernel, stride, expansion, squeezed, rate, prefix.rstrip("_")))
    last_filters = round_filters(1280, width)
    output_shape = add_top(args, layers, last_filters)
    context = {
        "channels_first": ["stem_conv", "stem_bn", "blocks", "top_conv", "top_bn"],
        "block": block_definition("MBConv", "efficientnet_block", batch_norm=BATCH_NORM),
        "normalization_class": block_definition("ImageNormalization", "efficientnet_normalization"),
        "blocks": blocks,
        "first_filters": round_filters(32, width),
        "last_filters": last_filters,
        "dropout": dropout,
    }
    return "applications/efficientnet.py.j2", context, layers, output_shape, []


def _block_layers(
    layers: Layers, prefix: str, path: str, expansion: int, stride: int, drop: bool, residual: bool
) -> None:
    """Keras's block(): its layers in Keras's order, each with the torch submodule holding its weights."""
    if expansion != 1:
        layers.add(f"{prefix}expand_conv", "Conv2D", f"{path}.expand_conv", "conv")
        layers.add(f"{prefix}expand_bn", "BatchNormalization", f"{path}.expand_bn", "batchnorm")
        layers.add(f"{prefix}expand_activation", "Activation")
    if stride == 2:
        layers.add(f"{prefix}dwconv_pad", "ZeroPadding2D")
    layers.add(f"{prefix}dwconv", "DepthwiseConv2D", f"{path}.dwconv", "depthwise_conv")
    layers.add(f"{prefix}bn", "BatchNormalization", f"{path}.bn", "batchnorm")
    layers.add(f"{prefix}activation", "Activation")
    add_squeeze_excite(layers, prefix, path)
    layers.add(f"{prefix}project_conv", "Conv2D", f"{path}.project_conv", "conv")
    layers.add(f"{prefix}project_bn", "BatchNormalization", f"{path}.project_bn", "batchnorm")
    if drop:
        layers.add(f"{prefix}drop", "Dropout")
    if residual:
        layers.add(f"{prefix}add", "Add")


def add_top(args: ApplicationArgs, layers: Layers, last_filters: int):
    """Keras's top of EfficientNet and EfficientNetV2: the 1x1 convolution, then the classifier or the pooling;
    the output shape."""
    layers.add("top_conv", "Conv2D", "top_conv", "conv")
    layers.add("top_bn", "BatchNormalization", "top_bn", "batchnorm")
    layers.add("top_activation", "Activation")
    spatial = halved(args.input_shape[0], 5)
    if args.include_top:
        layers.add("avg_pool", "GlobalAveragePooling2D")
        layers.add("top_dropout", "Dropout")
        layers.add("predictions", "Dense", "predictions", "dense")
        output_shape = known([args.classes])
    elif args.pooling is not None:
        layers.add(f"{args.pooling}_pool", "GlobalAveragePooling2D" if args.pooling == "avg" else "GlobalMaxPooling2D")
        output_shape = known([last_filters])
    else:
        output_shape = known([spatial, spatial, last_filters])
    return output_shape


def add_squeeze_excite(layers: Layers, prefix: str, path: str) -> None:
    """Keras's squeeze-and-excitation layers of an EfficientNet (V1 and V2) block, by their Keras names."""
    layers.add(f"{prefix}se_squeeze", "GlobalAveragePooling2D")
    layers.add(f"{prefix}se_reshape", "Reshape")
    layers.add(f"{prefix}se_reduce", "Conv2D", f"{path}.se_reduce", "conv")
    layers.add(f"{prefix}se_expand", "Conv2D", f"{path}.se_expand", "conv")
    layers.add(f"{prefix}se_excite", "Multiply")
