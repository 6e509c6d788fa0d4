"""keras.applications.ConvNeXtTiny to XLarge (keras/src/applications/convnext.py), block by block.

The five models are one architecture with per-model depths and widths (Keras's MODEL_CONFIGS). Keras's
applications build them with drop_path_rate 0.0 (its StochasticDepth is then an Activation("linear") named
``_identity``: nothing to translate) and layer_scale_init_value 1e-6; the stem and the three downsamplings
are Keras Sequentials, whose two layers each transfer as sublayers of one torch submodule.
"""

from __future__ import annotations

from ..dims import known
from . import ApplicationArgs, Layers, block_definition

# Per model: (depths, projection dims), Keras's MODEL_CONFIGS.
VARIANTS = {
    "ConvNeXtTiny": ((3, 3, 9, 3), (96, 192, 384, 768)),
    "ConvNeXtSmall": ((3, 3, 27, 3), (96, 192, 384, 768)),
    "ConvNeXtBase": ((3, 3, 27, 3), (128, 256, 512, 1024)),
    "ConvNeXtLarge": ((3, 3, 27, 3), (192, 384, 768, 1536)),
    "ConvNeXtXLarge": ((3, 3, 27, 3), (256, 512, 1024, 2048)),
}
# Keras's default model names, the prefix of every layer's name.
DEFAULT_NAMES = {variant: "convnext_" + variant.removeprefix("ConvNeXt").lower() for variant in VARIANTS}
STEM_SUBLAYERS = [("layers.0", "conv", "conv"), ("layers.1", "layernorm", "layernorm")]
DOWNSAMPLING_SUBLAYERS = [("layers.0", "layernorm", "layernorm"), ("layers.1", "conv", "conv")]
DOWNSAMPLING = block_definition(
    "Downsampling",
    "convnext_downsampling",
    layer_norm=block_definition("channels_last_layer_norm", "convnext_channels_last_layer_norm"),
)
CONVNEXT_BLOCK = block_definition(
    "ConvNeXtBlock", "convnext_block", layer_scale=block_definition("LayerScale", "convnext_layer_scale")
)


def build_for(variant: str):
    """The builder of one of the five models."""
    return lambda args: build(args, variant)


def build(args: ApplicationArgs, variant: str):
    depths, dims = VARIANTS[variant]
    name = args.name if args.name is not None else DEFAULT_NAMES[variant]
    layers = Layers([], [])
    # PreStem: ImageNet's mean and variance as constants (no weights), only on 3-channel images.
    normalize = args.include_preprocessing and args.input_shape[2] == 3
    if normalize:
        layers.add(f"{name}_prestem_normalization", "Normalization")
    layers.add(f"{name}_stem", "Sequential", "stem", "sequential")
    layers.plans[-1].sublayers = list(STEM_SUBLAYERS)
    for stage, (depth, dim) in enumerate(zip(depths, dims)):
        if stage:
            layers.add(
                f"{name}_downsampling_block_{stage - 1}", "Sequential", f"downsampling.{stage - 1}", "sequential"
            )
            layers.plans[-1].sublayers = list(DOWNSAMPLING_SUBLAYERS)
        for block in range(depth):
            prefix, path = f"{name}_stage_{stage}_block_{block}_", f"stages.{stage}.{block}"
            layers.add(f"{prefix}depthwise_conv", "Conv2D", f"{path}.depthwise_conv", "conv")
            layers.add(f"{prefix}layernorm", "LayerNormalization", f"{path}.layernorm", "layernorm")
            layers.add(f"{prefix}pointwise_conv_1", "Dense", f"{path}.pointwise_conv_1", "dense")
            layers.add(f"{prefix}gelu", "Activation")
            layers.add(f"{prefix}pointwise_conv_2", "Dense", f"{path}.pointwise_conv_2", "dense")
            layers.add(f"{prefix}layer_scale", "LayerScale", f"{path}.layer_scale", "custom")
            layers.add(f"{prefix}identity", "Activation")
    spatial = args.input_shape[0] // 4 // 8  # the stem's 4x4 and three 2x2 "valid" convolutions, stride = kernel
    if args.include_top:
        layers.add(f"{name}_head_gap", "GlobalAveragePooling2D")
        layers.add(f"{name}_head_layernorm", "LayerNormalization", "head_layernorm", "layernorm")
        layers.add(f"{name}_head_dense", "Dense", "head_dense", "dense")
        output_shape = known([args.classes])
    else:
        # Keras's layers without names of their own (global_average_pooling2d, layer_normalization, ...).
        if args.pooling is not None:
            layers.add("", "GlobalAveragePooling2D" if args.pooling == "avg" else "GlobalMaxPooling2D")
        layers.add("", "LayerNormalization", "layernorm", "layernorm")
        output_shape = known([dims[-1]] if args.pooling is not None else [spatial, spatial, dims[-1]])
    context = {
        "channels_first": ["stem", "downsampling", "stages"],
        "normalize": normalize,
        "downsampling": DOWNSAMPLING,
        "block": CONVNEXT_BLOCK,
        "stages": list(zip(depths, dims)),
        "first_dim": dims[0],
    }
    return "applications/convnext.py.j2", context, layers, output_shape, []
