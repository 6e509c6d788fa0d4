"""keras.applications.InceptionV3 (keras/src/applications/inception_v3.py), block by block.

Keras names none of its convolutions (conv2d_bn without a name: Conv2D, BatchNormalization(scale=False), ReLU),
so the weights go by Keras's order of its layers (k2t.translate.applications.graph), class by class.
"""

from __future__ import annotations

from . import BATCH_NORM, ApplicationArgs, block_definition
from .graph import Graph

# The torch blocks in Keras's order: (Keras's concatenation, block class, input channels, its width argument).
BLOCKS = (
    ("mixed0", "InceptionA", 192, 32),
    ("mixed1", "InceptionA", 256, 64),
    ("mixed2", "InceptionA", 288, 64),
    ("mixed3", "InceptionB", 288, None),
    ("mixed4", "InceptionC", 768, 128),
    ("mixed5", "InceptionC", 768, 160),
    ("mixed6", "InceptionC", 768, 160),
    ("mixed7", "InceptionC", 768, 192),
    ("mixed8", "InceptionD", 768, None),
    ("mixed9", "InceptionE", 1280, None),
    ("mixed10", "InceptionE", 2048, None),
)
STEM = ("conv1", "conv2", "conv3", "conv4", "conv5")
CONV_BN = block_definition("ConvBN", "inception_v3_conv_bn", batch_norm=BATCH_NORM)
_AVERAGE_POOL = block_definition("average_pool_same", "inception_v3_average_pool_same")
# The block classes by name, each a definition of its own (k2t.translate.applications.block_definition).
TOWER_CLASSES = {
    kind: block_definition(
        kind, f"inception_v3_inception_{kind[-1].lower()}", conv_bn=CONV_BN, average_pool=_AVERAGE_POOL
    )
    for kind in ("InceptionA", "InceptionC", "InceptionE")
}
TOWER_CLASSES.update(
    {
        kind: block_definition(kind, f"inception_v3_inception_{kind[-1].lower()}", conv_bn=CONV_BN)
        for kind in ("InceptionB", "InceptionD")
    }
)


def build(args: ApplicationArgs):
    graph = Graph()
    x = 0
    for index, path in enumerate(STEM):
        x = _conv_bn(graph, x, path)
        if index in (2, 4):
            x = graph.add(x, "", "MaxPooling2D")
    for name, kind, _, _ in BLOCKS:
        x = TOWERS[kind](graph, x, name)
    spatial = args.input_shape[0]
    # "valid" 3x3 convolutions and poolings: conv1 (stride 2), conv2, pool, conv5, pool, mixed3 and mixed8 (stride 2).
    for stride in (2, 1, 2, 1, 2, 2, 2):
        spatial = (spatial - 3) // stride + 1
    x, output_shape = graph.add_top(x, args, spatial, 2048)
    context = {
        "channels_first": [*STEM, *(name for name, *_ in BLOCKS)],
        "conv_bn": CONV_BN,
        "stem": STEM,
        "blocks": [(name, TOWER_CLASSES[kind], block_in, width) for name, kind, block_in, width in BLOCKS],
    }
    return "applications/inception_v3.py.j2", context, graph.layers(x), output_shape, []


def _conv_bn(graph: Graph, x: int, path: str) -> int:
    """Keras's conv2d_bn: a Conv2D without bias, BatchNormalization(scale=False), ReLU, none of them named."""
    x = graph.add(x, "", "Conv2D", f"{path}.conv", "conv")
    x = graph.add(x, "", "BatchNormalization", f"{path}.bn", "batchnorm")
    return graph.add(x, "", "Activation")


def _chain(graph: Graph, x: int, block: str, *branches: str) -> int:
    for branch in branches:
        x = _conv_bn(graph, x, f"{block}.{branch}")
    return x


def _pool_branch(graph: Graph, x: int, block: str) -> int:
    return _conv_bn(graph, graph.add(x, "", "AveragePooling2D"), f"{block}.branch_pool")


def _tower_a(graph: Graph, x: int, block: str) -> int:
    branches = (
        _chain(graph, x, block, "branch1x1"),
        _chain(graph, x, block, "branch5x5_1", "branch5x5_2"),
        _chain(graph, x, block, "branch3x3dbl_1", "branch3x3dbl_2", "branch3x3dbl_3"),
        _pool_branch(graph, x, block),
    )
    return graph.add(branches, block, "Concatenate")


def _tower_b(graph: Graph, x: int, block: str) -> int:
    branches = (
        _chain(graph, x, block, "branch3x3"),
        _chain(graph, x, block, "branch3x3dbl_1", "branch3x3dbl_2", "branch3x3dbl_3"),
        graph.add(x, "", "MaxPooling2D"),
    )
    return graph.add(branches, block, "Concatenate")


def _tower_c(graph: Graph, x: int, block: str) -> int:
    branches = (
        _chain(graph, x, block, "branch1x1"),
        _chain(graph, x, block, "branch7x7_1", "branch7x7_2", "branch7x7_3"),
        _chain(graph, x, block, *(f"branch7x7dbl_{index}" for index in range(1, 6))),
        _pool_branch(graph, x, block),
    )
    return graph.add(branches, block, "Concatenate")


def _tower_d(graph: Graph, x: int, block: str) -> int:
    branches = (
        _chain(graph, x, block, "branch3x3_1", "branch3x3_2"),
        _chain(graph, x, block, *(f"branch7x7x3_{index}" for index in range(1, 5))),
        graph.add(x, "", "MaxPooling2D"),
    )
    return graph.add(branches, block, "Concatenate")


def _tower_e(graph: Graph, x: int, block: str) -> int:
    # Keras names the inner concatenation of the 3x3 branch mixed9_0 (mixed9) or mixed9_1 (mixed10).
    inner = "mixed9_0" if block == "mixed9" else "mixed9_1"
    branch3x3 = _chain(graph, x, block, "branch3x3_1")
    branch3x3 = graph.add(
        (_chain(graph, branch3x3, block, "branch3x3_2a"), _chain(graph, branch3x3, block, "branch3x3_2b")),
        inner,
        "Concatenate",
    )
    double = _chain(graph, x, block, "branch3x3dbl_1", "branch3x3dbl_2")
    double = graph.add(
        (_chain(graph, double, block, "branch3x3dbl_3a"), _chain(graph, double, block, "branch3x3dbl_3b")),
        "",
        "Concatenate",
    )
    branches = (_chain(graph, x, block, "branch1x1"), branch3x3, double, _pool_branch(graph, x, block))
    return graph.add(branches, block, "Concatenate")


TOWERS = {
    "InceptionA": _tower_a,
    "InceptionB": _tower_b,
    "InceptionC": _tower_c,
    "InceptionD": _tower_d,
    "InceptionE": _tower_e,
}
