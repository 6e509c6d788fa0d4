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


def call_key(tensor: TensorNode) -> tuple:
    """The Keras node (one call of a layer) that made ``tensor``: the outputs of one call (``out, h, c = lstm(x)``)
    share it; each Input is its own."""
    if tensor.layer is None:
        return (id(tensor),)
    return (tensor.layer_id, tuple(id(parent) for parent in tensor.inputs), tensor.pos)


def keras_layer_order(inputs: list[TensorNode], outputs: list[TensorNode]) -> list[TensorNode]:
    """One tensor per layer of a Functional model, in the order of Keras's ``model.layers`` (its InputLayers
    are the Input tensors).

    Keras 3's ``map_graph`` (keras/src/ops/function.py): a depth-first walk from the outputs numbers each
    operation where it is first met; a call's depth is one more than the deepest call reading its outputs
    (a shared layer takes the deepest of its calls); layers are listed deepest first, ties in walk order.
    A call reads its tensors as ``tree.flatten((args, kwargs))`` does: the positional ones, then the keyword
    ones by keyword. Keras ops on tensors (``a + b`` too) are operations but no layers: walked, not listed.
    """
    given = {id(tensor) for tensor in inputs}

    def operation(tensor: TensorNode) -> object:
        if tensor.layer is None or tensor.expression is not None:
            return call_key(tensor)  # each Input is an InputLayer; each op expression an operation of its own
        return tensor.layer_id

    def read(tensor: TensorNode) -> list[TensorNode]:
        keywords = tensor.keywords or (None,) * len(tensor.inputs)
        order = sorted(
            range(len(tensor.inputs)),
            key=lambda i: (0, "", i) if keywords[i] is None else (1, keywords[i], i),
        )
        return [tensor.inputs[i] for i in order]

    finished: set[tuple] = set()
    walked: list[TensorNode] = []  # one tensor per call, inputs to outputs
    first_met: dict[object, int] = {}

    def walk(tensor: TensorNode) -> None:
        key = call_key(tensor)
        if key in finished:
            return
        if tensor.layer is not None and id(tensor) in given:
            finished.add(key)  # a model from intermediate tensors: the walk stops at its inputs
            return
        first_met.setdefault(operation(tensor), len(first_met))
        if tensor.layer is not None:
            for parent in read(tensor):
                walk(parent)
        finished.add(key)
        walked.append(tensor)

    for out in outputs:
        walk(out)
    in_graph = {call_key(tensor) for tensor in walked}
    call_depth: dict[tuple, int] = {}
    operation_depth: dict[object, int] = {}
    for tensor in reversed(walked):
        key, op = call_key(tensor), operation(tensor)
        depth = max(call_depth.setdefault(key, 0), operation_depth.get(op, 0))
        operation_depth[op] = call_depth[key] = depth
        if tensor.layer is not None:
            for parent in tensor.inputs:
                parent_key = call_key(parent)
                if parent_key in in_graph:
                    call_depth[parent_key] = max(depth + 1, call_depth.get(parent_key, 0))
    listed = {operation(tensor): tensor for tensor in walked}
    for tensor in inputs:  # an Input no output depends on is still a layer of the model
        if tensor.layer is None and operation(tensor) not in operation_depth:
            operation_depth[operation(tensor)] = 0
            first_met[operation(tensor)] = -1
            listed[operation(tensor)] = tensor
    ordered = sorted(operation_depth, key=lambda op: (-operation_depth[op], first_met[op]))
    return [listed[op] for op in ordered if listed[op].expression is None and not _is_operation(listed[op])]


def _is_operation(tensor: TensorNode) -> bool:
    """``a + b`` of Keras tensors: Keras 3 applies ``keras.ops.add``, an operation that is no layer."""
    return tensor.layer is not None and tensor.layer.operator
