"""keras.applications.ResNet50, ResNet101 and ResNet152 (keras/src/applications/resnet.py,
residual_block_v1), stage by stage.

The three models differ only in the number of blocks of each stage (STAGE_BLOCKS, which ResNet V2 shares).
"""

from __future__ import annotations

from . import BATCH_NORM, ApplicationArgs, Layers, block_definition, halved, head

# Keras's stack_residual_blocks_v1 calls: (name, filters, stride of the first block).
STAGES = (("conv2", 64, 1), ("conv3", 128, 2), ("conv4", 256, 2), ("conv5", 512, 2))
# Per model: the blocks of each stage (ResNet50V2, ResNet101V2 and ResNet152V2 count the same).
STAGE_BLOCKS = {
    "ResNet50": (3, 4, 6, 3),
    "ResNet101": (3, 4, 23, 3),
    "ResNet152": (3, 8, 36, 3),
}
VARIANTS = tuple(STAGE_BLOCKS)
BOTTLENECK = block_definition("Bottleneck", "resnet_block", batch_norm=BATCH_NORM)


def build_for(variant: str):
    """The builder of one of the three models."""
    return lambda args: build(args, STAGE_BLOCKS[variant])


def build(args: ApplicationArgs, stage_blocks: tuple[int, ...]):
    layers = Layers([], [])
    layers.add("conv1_pad", "ZeroPadding2D")
    layers.add("conv1_conv", "Conv2D", "conv1", "conv")
    layers.add("conv1_bn", "BatchNormalization", "conv1_bn", "batchnorm")
    layers.add("conv1_relu", "Activation")
    layers.add("pool1_pad", "ZeroPadding2D")
    layers.add("pool1_pool", "MaxPooling2D")
    stages = []
    in_channels = 64
    for (stage, filters, stride), blocks in zip(STAGES, stage_blocks):
        for index in range(blocks):
            prefix, path = f"{stage}_block{index + 1}", f"{stage}.{index}"
            for part in (1, 2):
                layers.add(f"{prefix}_{part}_conv", "Conv2D", f"{path}.conv{part}", "conv")
                layers.add(f"{prefix}_{part}_bn", "BatchNormalization", f"{path}.bn{part}", "batchnorm")
                layers.add(f"{prefix}_{part}_relu", "Activation")
            # Keras lists a graph's layers by depth: a first block's shortcut (one convolution and its
            # BatchNormalization from the block's input) beside the third convolution and its BatchNormalization.
            if index == 0:
                layers.add(f"{prefix}_0_conv", "Conv2D", f"{path}.shortcut", "conv")
            layers.add(f"{prefix}_3_conv", "Conv2D", f"{path}.conv3", "conv")
            if index == 0:
                layers.add(f"{prefix}_0_bn", "BatchNormalization", f"{path}.shortcut_bn", "batchnorm")
            layers.add(f"{prefix}_3_bn", "BatchNormalization", f"{path}.bn3", "batchnorm")
            layers.add(f"{prefix}_add", "Add")
            layers.add(f"{prefix}_out", "Activation")
        stages.append((stage, filters, blocks, stride, in_channels))
        in_channels = 4 * filters
    output_shape = head(args, layers, 2048, halved(args.input_shape[0], 5), ("avg_pool", "max_pool"))
    context = {
        "channels_first": ["conv1", "conv1_bn", *(stage[0] for stage in STAGES)],
        "block": BOTTLENECK,
        "stages": stages,
    }
    return "applications/resnet.py.j2", context, layers, output_shape, []
