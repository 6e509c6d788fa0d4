"""keras.applications.DenseNet121, DenseNet169 and DenseNet201 (keras/src/applications/densenet.py), block by
block.

Four dense stages of conv_blocks (each concatenates 32 new channels to its input), with a transition
(BatchNormalization, ReLU, a 1x1 convolution halving the channels, 2x2 average pooling) between stages; the
three models differ only in the conv_blocks of each stage.
"""

from __future__ import annotations

from . import BATCH_NORM, ApplicationArgs, Layers, block_definition, halved, head

GROWTH_RATE = 32  # Keras's conv_block(x, 32, ...)
REDUCTION = 0.5  # Keras's transition_block(x, 0.5, ...)
# Per model: the conv_blocks of each dense stage (Keras's `blocks`).
VARIANTS = {
    "DenseNet121": (6, 12, 24, 16),
    "DenseNet169": (6, 12, 32, 32),
    "DenseNet201": (6, 12, 48, 32),
}


def build_for(variant: str):
    """The builder of one of the three models."""
    return lambda args: build(args, VARIANTS[variant])


def build(args: ApplicationArgs, stage_blocks: tuple[int, ...]):
    layers = Layers([], [])
    # Keras leaves the two ZeroPadding2D unnamed (zero_padding2d, numbered by the session).
    layers.add("", "ZeroPadding2D")
    layers.add("conv1_conv", "Conv2D", "conv1", "conv")
    layers.add("conv1_bn", "BatchNormalization", "conv1_bn", "batchnorm")
    layers.add("conv1_relu", "Activation")
    layers.add("", "ZeroPadding2D")
    layers.add("pool1", "MaxPooling2D")
    stages = []  # (dense stage, its input channels, conv_blocks, transition or None, its output channels)
    channels = 64
    for number, blocks in enumerate(stage_blocks, start=2):
        stage, in_channels = f"conv{number}", channels
        for index in range(blocks):
            prefix, path = f"{stage}_block{index + 1}", f"{stage}.{index}"
            layers.add(f"{prefix}_0_bn", "BatchNormalization", f"{path}.bn0", "batchnorm")
            layers.add(f"{prefix}_0_relu", "Activation")
            layers.add(f"{prefix}_1_conv", "Conv2D", f"{path}.conv1", "conv")
            layers.add(f"{prefix}_1_bn", "BatchNormalization", f"{path}.bn1", "batchnorm")
            layers.add(f"{prefix}_1_relu", "Activation")
            layers.add(f"{prefix}_2_conv", "Conv2D", f"{path}.conv2", "conv")
            layers.add(f"{prefix}_concat", "Concatenate")
        channels += blocks * GROWTH_RATE
        transition = None
        if number < 1 + len(stage_blocks):
            transition = f"pool{number}"
            layers.add(f"{transition}_bn", "BatchNormalization", f"{transition}.bn", "batchnorm")
            layers.add(f"{transition}_relu", "Activation")
            layers.add(f"{transition}_conv", "Conv2D", f"{transition}.conv", "conv")
            layers.add(f"{transition}_pool", "AveragePooling2D")
            channels = int(channels * REDUCTION)
        stages.append((stage, in_channels, blocks, transition, channels))
    layers.add("bn", "BatchNormalization", "bn", "batchnorm")
    layers.add("relu", "Activation")
    spatial = halved(args.input_shape[0], 2)
    for _ in stage_blocks[1:]:
        spatial = None if spatial is None else spatial // 2  # the transitions' 2x2 average pooling, stride 2, "valid"
    output_shape = head(args, layers, channels, spatial, ("avg_pool", "max_pool"))
    context = {
        "channels_first": [
            "conv1",
            "conv1_bn",
            *(name for stage in stages for name in (stage[0], stage[3]) if name),
            "bn",
        ],
        "block": block_definition("DenseLayer", "densenet_block", batch_norm=BATCH_NORM, growth_rate=GROWTH_RATE),
        "transition_block": block_definition("Transition", "densenet_transition_block", batch_norm=BATCH_NORM),
        "growth_rate": GROWTH_RATE,
        "stages": stages,
        "out_channels": channels,
    }
    return "applications/densenet.py.j2", context, layers, output_shape, []
