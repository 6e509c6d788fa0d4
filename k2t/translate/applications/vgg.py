"""keras.applications.VGG16 and VGG19 (keras/src/applications/vgg16.py, vgg19.py), block by block.

The two models differ only in the convolutions of their last three blocks (3 in VGG16, 4 in VGG19).
"""

from __future__ import annotations

from ..dims import known
from . import ApplicationArgs, Layers, block_definition, head

# Keras's blocks: (name, filters).
BLOCKS = (("block1", 64), ("block2", 128), ("block3", 256), ("block4", 512), ("block5", 512))
# Per model: the convolutions of each block.
VARIANTS = {
    "VGG16": (2, 2, 3, 3, 3),
    "VGG19": (2, 2, 4, 4, 4),
}


def build_for(variant: str):
    """The builder of one of the two models."""
    return lambda args: build(args, VARIANTS[variant])


def build(args: ApplicationArgs, convolutions_per_block: tuple[int, ...]):
    layers = Layers([], [])
    stages = []
    in_channels = args.input_shape[2]
    for (block, filters), convolutions in zip(BLOCKS, convolutions_per_block):
        for index in range(convolutions):
            layers.add(f"{block}_conv{index + 1}", "Conv2D", f"{block}.convs.{index}", "conv")
        layers.add(f"{block}_pool", "MaxPooling2D")
        stages.append((block, in_channels, filters, convolutions))
        in_channels = filters
    spatial = args.input_shape[0]  # None: images of any size (no classifier)
    for _ in BLOCKS:
        spatial = None if spatial is None else spatial // 2  # 2x2 max pooling, stride 2, "valid"
    context = {
        "channels_first": [block for block, _ in BLOCKS],
        "block": block_definition("VGGBlock", "vgg_block"),
        "stages": stages,
        "flat_features": spatial * spatial * 512 if spatial is not None else None,
    }
    if args.include_top:
        layers.add("flatten", "Flatten")
        layers.add("fc1", "Dense", "fc1", "dense")
        layers.add("fc2", "Dense", "fc2", "dense")
        layers.add("predictions", "Dense", "predictions", "dense")
        output_shape = known([args.classes])
    else:
        output_shape = head(args, layers, 512, spatial, ("", ""))
    return "applications/vgg.py.j2", context, layers, output_shape, []
