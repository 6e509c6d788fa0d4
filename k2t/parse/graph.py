"""Functional graphs: which tensors an output depends on, and whether one model holds another."""

from __future__ import annotations

from ..ir import ModelSpec, TensorNode


def _nests(inner: ModelSpec, outer: ModelSpec) -> bool:
    """Does ``inner`` hold ``outer`` (or is it ``outer``)? Adding it to ``outer`` would make a cycle."""
    seen: set[int] = set()
    pending = [inner]
    while pending:
        model = pending.pop()
        if model is outer:
            return True
        if id(model) in seen:
            continue
        seen.add(id(model))
        layers = [node.layer for node in model.graph.nodes] if model.graph is not None else model.layers
        pending.extend(layer.model for layer in layers if layer is not None and layer.model is not None)
    return False


def _sources(outputs: list[TensorNode]) -> list[TensorNode]:
    """The Inputs (nodes without a layer) that ``outputs`` are computed from, each once."""
    found: dict[int, TensorNode] = {}
    seen: set[int] = set()
    pending = list(outputs)
    while pending:
        node = pending.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if node.layer is None:
            found[id(node)] = node
        pending.extend(node.inputs)
    return list(found.values())


def _graph_nodes(inputs: list[TensorNode], outputs: list[TensorNode]) -> list[TensorNode]:
    """Layer nodes the outputs depend on, inputs first, each after the nodes it reads."""
    order: list[TensorNode] = []
    seen: set[int] = set()

    def visit(node: TensorNode) -> None:
        if id(node) in seen:
            return
        seen.add(id(node))
        for parent in node.inputs:
            visit(parent)
        if node.layer is not None:
            order.append(node)

    for out in outputs:
        visit(out)
    return order
