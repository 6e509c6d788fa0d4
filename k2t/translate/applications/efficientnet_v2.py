"""keras.applications.EfficientNetV2B0 to B3, S, M and L (keras/src/applications/efficientnet_v2.py), block by block.

EfficientNet V1's blocks (k2t.translate.applications.efficientnet) with three changes: the first stages are
fused blocks (one full convolution in place of the 1x1 expansion and the depthwise convolution), every
convolution pads "same" (no correct_pad), and the input layers depend on the model: B0 to B3 rescale to
[0, 1] and normalise with ImageNet's statistics (constants, no weights), S, M and L rescale to [-1, 1].
"""

from __future__ import annotations

import math

from . import BATCH_NORM, SAME_PADDING, ApplicationArgs, Layers, block_definition
from .efficientnet import add_squeeze_excite, add_top

# Keras's DEFAULT_BLOCKS_ARGS: (repeats, filters_in, filters_out, expand_ratio, se_ratio, strides, fused), each
# with kernel_size 3. B0 to B3 share one table, scaled by their width and depth coefficients.
B_BLOCKS = (
    (1, 32, 16, 1, 0, 1, True),
    (2, 16, 32, 4, 0, 2, True),
    (2, 32, 48, 4, 0, 2, True),
    (3, 48, 96, 4, 0.25, 2, False),
    (5, 96, 112, 6, 0.25, 1, False),
    (8, 112, 192, 6, 0.25, 2, False),
)
S_BLOCKS = (
    (2, 24, 24, 1, 0, 1, True),
    (4, 24, 48, 4, 0, 2, True),
    (4, 48, 64, 4, 0, 2, True),
    (6, 64, 128, 4, 0.25, 2, False),
    (9, 128, 160, 6, 0.25, 1, False),
    (15, 160, 256, 6, 0.25, 2, False),
)
M_BLOCKS = (
    (3, 24, 24, 1, 0, 1, True),
    (5, 24, 48, 4, 0, 2, True),
    (5, 48, 80, 4, 0, 2, True),
    (7, 80, 160, 4, 0.25, 2, False),
    (14, 160, 176, 6, 0.25, 1, False),
    (18, 176, 304, 6, 0.25, 2, False),
    (5, 304, 512, 6, 0.25, 1, False),
)
L_BLOCKS = (
    (4, 32, 32, 1, 0, 1, True),
    (7, 32, 64, 4, 0, 2, True),
    (7, 64, 96, 4, 0, 2, True),
    (10, 96, 192, 4, 0.25, 2, False),
    (19, 192, 224, 6, 0.25, 1, False),
    (25, 224, 384, 6, 0.25, 2, False),
    (7, 384, 640, 6, 0.25, 1, False),
)
KERNEL_SIZE = 3
DROP_CONNECT_RATE = 0.2  # Keras's default: stochastic depth grows linearly to this rate over the blocks
DROPOUT = 0.2  # before the classifier, every model
BN_MOMENTUM = 0.9  # Keras's EfficientNetV2 bn_momentum (BatchNormalization's epsilon stays 1e-3)
_BLOCK_USES = {"batch_norm": BATCH_NORM, "momentum": BN_MOMENTUM, "same_padding": SAME_PADDING}
FUSED_MBCONV = block_definition("FusedMBConv", "efficientnet_v2_fused_mbconv", **_BLOCK_USES)
MBCONV = block_definition("MBConvV2", "efficientnet_v2_mbconv", **_BLOCK_USES)

# Per model: (blocks, width coefficient, depth coefficient, the B models' [0, 1] input normalisation).
VARIANTS = {
    "EfficientNetV2B0": (B_BLOCKS, 1.0, 1.0, True),
    "EfficientNetV2B1": (B_BLOCKS, 1.0, 1.1, True),
    "EfficientNetV2B2": (B_BLOCKS, 1.1, 1.2, True),
    "EfficientNetV2B3": (B_BLOCKS, 1.2, 1.4, True),
    "EfficientNetV2S": (S_BLOCKS, 1.0, 1.0, False),
    "EfficientNetV2M": (M_BLOCKS, 1.0, 1.0, False),
    "EfficientNetV2L": (L_BLOCKS, 1.0, 1.0, False),
}


def round_filters(filters: int, width: float, divisor: int = 8) -> int:
    """Keras V2's round_filters: the width-scaled count to the nearest multiple of 8 (V1's 10% rule is gone)."""
    return int(max(divisor, int(filters * width + divisor / 2) // divisor * divisor))


def build_for(variant: str):
    """The builder of one of the seven models."""
    return lambda args: build(args, *VARIANTS[variant])


def build(args: ApplicationArgs, table: tuple, width: float, depth: float, imagenet_normalization: bool):
    layers = Layers([], [])
    # Keras names neither input layer (rescaling, normalization: numbered by the session); both are constants.
    scaling = None
    if args.include_preprocessing:
        scaling = "imagenet" if imagenet_normalization and args.input_shape[2] == 3 else "symmetric"
        layers.add("", "Rescaling")
        if scaling == "imagenet":
            layers.add("", "Normalization")
    layers.add("stem_conv", "Conv2D", "stem_conv", "conv")
    layers.add("stem_bn", "BatchNormalization", "stem_bn", "batchnorm")
    layers.add("stem_activation", "Activation")
    # Keras counts the blocks before rounding the repeats: the last rates of B1 to B3 go past 0.2.
    total = sum(repeats for repeats, *_ in table)
    blocks = []
    for stage, (repeats, filters_in, filters_out, expansion, se_ratio, stride, fused) in enumerate(table):
        filters_in, filters_out = round_filters(filters_in, width), round_filters(filters_out, width)
        for repeat in range(math.ceil(depth * repeats)):
            if repeat:
                stride, filters_in = 1, filters_out
            prefix, path = f"block{stage + 1}{chr(repeat + 97)}_", f"blocks.{len(blocks)}"
            residual = stride == 1 and filters_in == filters_out
            squeezed = max(1, int(filters_in * se_ratio)) if se_ratio else 0
            _block_layers(layers, prefix, path, fused, expansion, squeezed > 0, residual and len(blocks) > 0, residual)
            # Keras's arithmetic written out, the same float.
            rate = f"{DROP_CONNECT_RATE} * {len(blocks)} / {total}" if blocks else "0.0"
            block_class = FUSED_MBCONV if fused else MBCONV
            blocks.append((block_class, filters_in, filters_out, stride, expansion, squeezed, rate, prefix.rstrip("_")))
    last_filters = round_filters(1280, width)
    output_shape = add_top(args, layers, last_filters)
    context = {
        "channels_first": ["stem_conv", "stem_bn", "blocks", "top_conv", "top_bn"],
        "scaling": scaling,
        "blocks": blocks,
        "kernel_size": KERNEL_SIZE,
        "momentum": BN_MOMENTUM,
        "first_filters": round_filters(table[0][1], width),
        "last_filters": last_filters,
        "dropout": DROPOUT,
        "same_padding": SAME_PADDING,
    }
    return "applications/efficientnet_v2.py.j2", context, layers, output_shape, [SAME_PADDING]


def _block_layers(
    layers: Layers, prefix: str, path: str, fused: bool, expansion: int, squeeze: bool, drop: bool, residual: bool
) -> None:
    """Keras's MBConvBlock or FusedMBConvBlock: its layers in Keras's order, each with the torch submodule
    holding its weights."""
    if expansion != 1:
        layers.add(f"{prefix}expand_conv", "Conv2D", f"{path}.expand_conv", "conv")
        layers.add(f"{prefix}expand_bn", "BatchNormalization", f"{path}.expand_bn", "batchnorm")
        layers.add(f"{prefix}expand_activation", "Activation")
    if not fused:
        layers.add(f"{prefix}dwconv2", "DepthwiseConv2D", f"{path}.dwconv2", "depthwise_conv")
        layers.add(f"{prefix}bn", "BatchNormalization", f"{path}.bn", "batchnorm")
        layers.add(f"{prefix}activation", "Activation")
    if squeeze:
        add_squeeze_excite(layers, prefix, path)
    layers.add(f"{prefix}project_conv", "Conv2D", f"{path}.project_conv", "conv")
    layers.add(f"{prefix}project_bn", "BatchNormalization", f"{path}.project_bn", "batchnorm")
    if fused and expansion == 1:
        layers.add(f"{prefix}project_activation", "Activation")
    if drop:
        layers.add(f"{prefix}drop", "Dropout")
    if residual:
        layers.add(f"{prefix}add", "Add")
