"""keras.applications.ResNet50 (keras/src/applications/resnet.py, residual_block_v1), stage by stage."""

from __future__ import annotations

from . import ApplicationArgs, Layers, halved, head

# Keras's stack_residual_blocks_v1 calls: (name, filters, blocks, stride of the first block).
STAGES = (("conv2", 64, 3, 1), ("conv3", 128, 4, 2), ("conv4", 256, 6, 2), ("conv5", 512, 3, 2))


def build(args: ApplicationArgs):
    layers = Layers([], [])
    layers.add("conv1_pad", "ZeroPadding2D")
    layers.add("conv1_conv", "Conv2D", "conv1", "conv")
    layers.add("conv1_bn", "BatchNormalization", "conv1_bn", "batchnorm")
    layers.add("conv1_relu", "Activation")
    layers.add("pool1_pad", "ZeroPadding2D")
    layers.add("pool1_pool", "MaxPooling2D")
    stages = []
    in_channels = 64
    for stage, filters, blocks, stride in STAGES:
        for index in range(blocks):
            prefix, path = f"{stage}_block{index + 1}", f"{stage}.{index}"
            if index == 0:
                layers.add(f"{prefix}_0_conv", "Conv2D", f"{path}.shortcut", "conv")
                layers.add(f"{prefix}_0_bn", "BatchNormalization", f"{path}.shortcut_bn", "batchnorm")
            for part in (1, 2, 3):
                layers.add(f"{prefix}_{part}_conv", "Conv2D", f"{path}.conv{part}", "conv")
                layers.add(f"{prefix}_{part}_bn", "BatchNormalization", f"{path}.bn{part}", "batchnorm")
                if part < 3:
                    layers.add(f"{prefix}_{part}_relu", "Activation")
            layers.add(f"{prefix}_add", "Add")
            layers.add(f"{prefix}_out", "Activation")
        stages.append((stage, filters, blocks, stride, in_channels))
        in_channels = 4 * filters
    output_shape = head(args, layers, 2048, halved(args.input_shape[0], 5), ("avg_pool", "max_pool"))
    context = {
        "channels_first": ["conv1", "conv1_bn", *(stage[0] for stage in STAGES)],
        "block": "Bottleneck",
        "stages": stages,
    }
    return "applications/resnet50.py.j2", context, layers, output_shape, []
