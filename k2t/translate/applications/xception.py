"""keras.applications.Xception (keras/src/applications/xception.py), block by block: separable convolutions,
each entry and exit block added to a strided 1x1 shortcut convolution that Keras leaves unnamed."""

from __future__ import annotations

from . import BATCH_NORM, SAME_PADDING, ApplicationArgs, block_definition
from .graph import Graph

# The blocks with a shortcut convolution: (Keras's block, its two separable convolutions' filters, whether the
# block starts with a ReLU); block2's input is already activated.
ENTRY_BLOCKS = (("block2", 128, 128, False), ("block3", 256, 256, True), ("block4", 728, 728, True))
EXIT_BLOCK = ("block13", 728, 1024, True)
MIDDLE_BLOCKS = 8  # block5 to block12, 728 channels, three separable convolutions each

SEPARABLE = block_definition("SeparableConv", "xception_separable")


def build(args: ApplicationArgs):
    graph = Graph()
    x = 0
    for conv, stride in (("block1_conv1", 2), ("block1_conv2", 1)):
        x = graph.add(x, conv, "Conv2D", conv, "conv")
        x = graph.add(x, f"{conv}_bn", "BatchNormalization", f"{conv}_bn", "batchnorm")
        x = graph.add(x, f"{conv}_act", "Activation")
    spatial = (args.input_shape[0] - 3) // 2 + 1 - 2  # two "valid" 3x3 convolutions, the first with stride 2
    blocks = []
    in_channels = 64
    for block, middle, out, first_relu in ENTRY_BLOCKS:
        x = _shortcut_block(graph, x, block, first_relu)
        blocks.append((block, in_channels, middle, out, first_relu))
        in_channels, spatial = out, -(-spatial // 2)
    for index in range(MIDDLE_BLOCKS):
        shortcut = x
        for part in (1, 2, 3):
            x = _separable(
                graph, x, f"block{index + 5}_sepconv{part}", f"middle.{index}.sepconv{part}", relu_first=True
            )
        x = graph.add((x, shortcut), "", "Add")
    block, middle, out, first_relu = EXIT_BLOCK
    x = _shortcut_block(graph, x, block, first_relu)
    blocks.append((block, in_channels, middle, out, first_relu))
    spatial = -(-spatial // 2)
    for part in (1, 2):
        name = f"block14_sepconv{part}"
        x = graph.add(x, name, "SeparableConv2D", name, "separable_conv")
        x = graph.add(x, f"{name}_bn", "BatchNormalization", f"{name}_bn", "batchnorm")
        x = graph.add(x, f"{name}_act", "Activation")
    x, output_shape = graph.add_top(x, args, spatial, 2048)
    context = {
        "channels_first": [
            "block1_conv1",
            "block1_conv1_bn",
            "block1_conv2",
            "block1_conv2_bn",
            "block2",
            "block3",
            "block4",
            "middle",
            "block13",
            "block14_sepconv1",
            "block14_sepconv1_bn",
            "block14_sepconv2",
            "block14_sepconv2_bn",
        ],
        "separable": SEPARABLE,
        "block": block_definition(
            "ShortcutBlock", "xception_block", batch_norm=BATCH_NORM, separable=SEPARABLE, same_padding=SAME_PADDING
        ),
        "middle_block": block_definition(
            "MiddleBlock", "xception_middle_block", batch_norm=BATCH_NORM, separable=SEPARABLE
        ),
        "blocks": blocks,
        "middle_blocks": MIDDLE_BLOCKS,
        "same_padding": SAME_PADDING,
    }
    return "applications/xception.py.j2", context, graph.layers(x), output_shape, [SAME_PADDING]


def _separable(graph: Graph, x: int, name: str, path: str, relu_first: bool) -> int:
    """A separable convolution and its BatchNormalization, after a ReLU where Keras puts one before."""
    if relu_first:
        x = graph.add(x, f"{name}_act", "Activation")
    x = graph.add(x, name, "SeparableConv2D", path, "separable_conv")
    return graph.add(x, f"{name}_bn", "BatchNormalization", f"{path}_bn", "batchnorm")


def _shortcut_block(graph: Graph, x: int, block: str, first_relu: bool) -> int:
    """Two separable convolutions and a 3x3 max pooling with stride 2, added to the strided 1x1 convolution
    of the block's input (with its BatchNormalization, both unnamed in Keras)."""
    shortcut = graph.add(x, "", "Conv2D", f"{block}.shortcut", "conv")
    shortcut = graph.add(shortcut, "", "BatchNormalization", f"{block}.shortcut_bn", "batchnorm")
    x = _separable(graph, x, f"{block}_sepconv1", f"{block}.sepconv1", relu_first=first_relu)
    # Keras names the second ReLU block2_sepconv2_act however the block starts.
    x = _separable(graph, x, f"{block}_sepconv2", f"{block}.sepconv2", relu_first=True)
    x = graph.add(x, f"{block}_pool", "MaxPooling2D")
    return graph.add((x, shortcut), "", "Add")
