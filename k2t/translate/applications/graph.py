"""Keras's order of a Functional model's layers, for the applications whose graph branches (Xception's
shortcuts, InceptionV3's towers): ``model.layers`` lists them by depth from the output, ties in the order a
depth-first walk from the output first meets them (keras/src/ops/function.py, map_graph), not in the order the
builder calls them. ``base.layers[:n]`` and the weights of Keras's unnamed layers (matched by class, in
order: k2t.weights) read that order."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..dims import known
from . import Layers


@dataclass(frozen=True)
class Node:
    inputs: tuple[int, ...]
    keras_name: str
    keras_class: str
    attr: str | None
    weights: str | None


@dataclass
class Graph:
    """The builder's layers, each with the layers it is called on; node 0 is the model's input."""

    nodes: list[Node] = field(default_factory=lambda: [Node((), "", "InputLayer", None, None)])

    def add(
        self,
        inputs: int | tuple[int, ...],
        keras_name: str,
        keras_class: str,
        attr: str | None = None,
        weights: str | None = None,
    ) -> int:
        inputs = (inputs,) if isinstance(inputs, int) else inputs
        self.nodes.append(Node(inputs, keras_name, keras_class, attr, weights))
        return len(self.nodes) - 1

    def add_top(self, x: int, args, spatial: int, features: int) -> tuple[int, list]:
        """Keras's head of Xception and InceptionV3: the classifier (average pooling, then Dense "predictions"),
        or the pooling asked for, or none; the node and the output shape."""
        if args.include_top:
            x = self.add(x, "avg_pool", "GlobalAveragePooling2D")
            return self.add(x, "predictions", "Dense", "predictions", "dense"), known([args.classes])
        if args.pooling is not None:
            return self.add(x, "", "GlobalAveragePooling2D" if args.pooling == "avg" else "GlobalMaxPooling2D"), known(
                [features]
            )
        return x, known([spatial, spatial, features])

    def layers(self, output: int) -> Layers:
        """The layers in Keras's order, the input aside."""
        first_seen: dict[int, int] = {}
        finished: list[int] = []  # inputs before the layers called on them
        done: set[int] = set()

        def visit(node: int) -> None:
            if node in done:
                return
            first_seen.setdefault(node, len(first_seen))
            for parent in self.nodes[node].inputs:
                visit(parent)
            done.add(node)
            finished.append(node)

        visit(output)
        depth: dict[int, int] = {}
        for node in reversed(finished):  # from the output: a layer is deeper than every layer using it
            own = depth.setdefault(node, 0)
            for parent in self.nodes[node].inputs:
                depth[parent] = max(own + 1, depth.get(parent, 0))
        ordered = sorted(finished, key=lambda node: (-depth[node], first_seen[node]))
        layers = Layers([], [])
        for node in ordered[1:]:
            spec = self.nodes[node]
            layers.add(spec.keras_name, spec.keras_class, spec.attr, spec.weights)
        return layers
