"""keras.applications.ResNet50V2, ResNet101V2 and ResNet152V2 (keras/src/applications/resnet_v2.py, with
resnet.py's residual_block_v2 and stack_residual_blocks_v2), stage by stage.

Pre-activation blocks: BatchNormalization and ReLU come before each block's convolutions, and once more
after the last stage (post_bn). Unlike V1, a stage downsamples in its LAST block (the shortcut a strided
1x1 max pooling), and its first block's shortcut convolution reads the pre-activated input.
"""

from __future__ import annotations

from . import BATCH_NORM, ApplicationArgs, Layers, block_definition, halved, head
from .resnet import STAGE_BLOCKS

# Keras's stack_residual_blocks_v2 calls: (name, filters, stride of the last block).
STAGES = (("conv2", 64, 2), ("conv3", 128, 2), ("conv4", 256, 2), ("conv5", 512, 1))
VARIANTS = tuple(f"{variant}V2" for variant in STAGE_BLOCKS)


def build_for(variant: str):
    """The builder of one of the three models (the blocks per stage of ResNet50, ResNet101, ResNet152)."""
    return lambda args: build(args, STAGE_BLOCKS[variant.removesuffix("V2")])


def build(args: ApplicationArgs, stage_blocks: tuple[int, ...]):
    layers = Layers([], [])
    layers.add("conv1_pad", "ZeroPadding2D")
    layers.add("conv1_conv", "Conv2D", "conv1", "conv")
    layers.add("pool1_pad", "ZeroPadding2D")
    layers.add("pool1_pool", "MaxPooling2D")
    stages = []
    in_channels = 64
    for (stage, filters, stride), blocks in zip(STAGES, stage_blocks):
        for index in range(blocks):
            prefix, path = f"{stage}_block{index + 1}", f"{stage}.{index}"
            layers.add(f"{prefix}_preact_bn", "BatchNormalization", f"{path}.preact_bn", "batchnorm")
            layers.add(f"{prefix}_preact_relu", "Activation")
            for part in (1, 2):
                if part == 2:
                    layers.add(f"{prefix}_2_pad", "ZeroPadding2D")
                layers.add(f"{prefix}_{part}_conv", "Conv2D", f"{path}.conv{part}", "conv")
                layers.add(f"{prefix}_{part}_bn", "BatchNormalization", f"{path}.bn{part}", "batchnorm")
                layers.add(f"{prefix}_{part}_relu", "Activation")
            # Keras lists a graph's layers by depth: the shortcut's layer (a first block's convolution, a
            # strided last block's MaxPooling2D, which Keras leaves unnamed) beside the third convolution.
            if index == 0:
                layers.add(f"{prefix}_0_conv", "Conv2D", f"{path}.shortcut", "conv")
            elif index == blocks - 1 and stride > 1:
                layers.add("", "MaxPooling2D")
            layers.add(f"{prefix}_3_conv", "Conv2D", f"{path}.conv3", "conv")
            layers.add(f"{prefix}_out", "Add")
        stages.append((stage, filters, blocks, stride, in_channels))
        in_channels = 4 * filters
    layers.add("post_bn", "BatchNormalization", "post_bn", "batchnorm")
    layers.add("post_relu", "Activation")
    output_shape = head(args, layers, 2048, halved(args.input_shape[0], 5), ("avg_pool", "max_pool"))
    context = {
        "channels_first": ["conv1", *(stage[0] for stage in STAGES), "post_bn"],
        "block": block_definition("PreActBottleneck", "resnet_v2_block", batch_norm=BATCH_NORM),
        "stages": stages,
    }
    return "applications/resnet_v2.py.j2", context, layers, output_shape, []
