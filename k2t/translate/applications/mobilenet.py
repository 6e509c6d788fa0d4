"""keras.applications.MobileNet, the first one (keras/src/applications/mobilenet.py), block by block."""

from __future__ import annotations

from ..dims import known
from . import BATCH_NORM, SAME_PADDING, ApplicationArgs, Layers, block_definition

# Keras's _depthwise_conv_block calls: (pointwise filters, stride), block_id 1 to 13.
BLOCKS = (
    (64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
    (512, 1), (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1),
)  # fmt: skip


def build(args: ApplicationArgs):
    layers = Layers([], [])
    depth_multiplier = args.options["depth_multiplier"]
    layers.add("conv1", "Conv2D", "conv1", "conv")
    layers.add("conv1_bn", "BatchNormalization", "conv1_bn", "batchnorm")
    layers.add("conv1_relu", "ReLU")
    in_channels = first = int(32 * args.alpha)
    spatial = -(-args.input_shape[0] // 2)  # conv1: padding "same", stride 2
    blocks = []
    for block_id, (filters, stride) in enumerate(BLOCKS, start=1):
        out_channels = int(filters * args.alpha)
        path = f"blocks.{block_id - 1}"
        if stride == 2:
            layers.add(f"conv_pad_{block_id}", "ZeroPadding2D")
            spatial = (spatial + 1 - 3) // 2 + 1  # one row and column after, then a "valid" 3x3 with stride 2
        layers.add(f"conv_dw_{block_id}", "DepthwiseConv2D", f"{path}.depthwise", "depthwise_conv")
        layers.add(f"conv_dw_{block_id}_bn", "BatchNormalization", f"{path}.depthwise_bn", "batchnorm")
        layers.add(f"conv_dw_{block_id}_relu", "ReLU")
        layers.add(f"conv_pw_{block_id}", "Conv2D", f"{path}.pointwise", "conv")
        layers.add(f"conv_pw_{block_id}_bn", "BatchNormalization", f"{path}.pointwise_bn", "batchnorm")
        layers.add(f"conv_pw_{block_id}_relu", "ReLU")
        blocks.append((in_channels, out_channels, stride, f"conv_dw_{block_id} to conv_pw_{block_id}_relu"))
        in_channels = out_channels
    if args.include_top:
        # Keras's classifier is a 1x1 convolution on the pooled features, reshaped to (classes,).
        layers.add("", "GlobalAveragePooling2D")
        layers.add("dropout", "Dropout")
        layers.add("conv_preds", "Conv2D", "conv_preds", "conv")
        layers.add("reshape_2", "Reshape")
        layers.add("predictions", "Activation")
        output_shape = known([args.classes])
    elif args.pooling is not None:
        layers.add("", "GlobalAveragePooling2D" if args.pooling == "avg" else "GlobalMaxPooling2D")
        output_shape = known([in_channels])
    else:
        output_shape = known([spatial, spatial, in_channels])
    context = {
        "channels_first": ["conv1", "conv1_bn", "blocks"],
        "block": block_definition("DepthwiseSeparable", "mobilenet_block", batch_norm=BATCH_NORM),
        "blocks": blocks,
        "first_filters": first,
        "depth_multiplier": depth_multiplier,
        "dropout": args.options["dropout"],
        "same_padding": SAME_PADDING,
    }
    return "applications/mobilenet.py.j2", context, layers, output_shape, [SAME_PADDING]
