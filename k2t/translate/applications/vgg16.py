"""keras.applications.VGG16 (keras/src/applications/vgg16.py), block by block."""

from __future__ import annotations

from . import ApplicationArgs, Layers, head

# Keras's blocks: (name, filters, convolutions).
BLOCKS = (("block1", 64, 2), ("block2", 128, 2), ("block3", 256, 3), ("block4", 512, 3), ("block5", 512, 3))


def build(args: ApplicationArgs):
    layers = Layers([], [])
    stages = []
    in_channels = args.input_shape[2]
    for block, filters, convolutions in BLOCKS:
        for index in range(convolutions):
            layers.add(f"{block}_conv{index + 1}", "Conv2D", f"{block}.convs.{index}", "conv")
        layers.add(f"{block}_pool", "MaxPooling2D")
        stages.append((block, in_channels, filters, convolutions))
        in_channels = filters
    spatial = args.input_shape[0]
    for _ in BLOCKS:
        spatial //= 2  # 2x2 max pooling, stride 2, "valid"
    context = {
        "channels_first": [block for block, _, _ in BLOCKS],
        "block": "VGGBlock",
        "stages": stages,
        "flat_features": spatial * spatial * 512,
    }
    if args.include_top:
        layers.add("flatten", "Flatten")
        layers.add("fc1", "Dense", "fc1", "dense")
        layers.add("fc2", "Dense", "fc2", "dense")
        layers.add("predictions", "Dense", "predictions", "dense")
        output_shape = [str(args.classes)]
    else:
        output_shape = head(args, layers, 512, spatial, ("", ""))
    return "applications/vgg16.py.j2", context, layers, output_shape, []
