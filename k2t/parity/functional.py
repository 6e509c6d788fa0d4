"""Exact parity for Functional models: match the k2t graph to Keras's, layer by layer.

The generated module keeps one submodule per Keras layer object; here each of
k2t's tensor nodes is paired with the Keras operation that produced the same
tensor by walking both graphs back from the outputs, so weights are copied
into the right submodule even when Keras orders ``model.layers`` differently.
"""

from __future__ import annotations

import math
from typing import Any


def _keras_mapping(kmodel, graph, tensors: dict[int, Any] | None = None) -> dict[int, Any]:
    """k2t layer_id -> Keras layer; ``tensors`` receives layer_id -> its output tensor in ``kmodel``'s graph.

    (``layer.output`` is the output of the layer's first call, which for a
    model used as a layer is in its own graph, not in ``kmodel``'s.)
    """
    mapping: dict[int, Any] = {}

    def match(node, ktensor) -> None:
        if node.layer is None:
            return
        if node.expression is not None:
            # Ops on tensors (``ops.relu(z) * 2.0``): one k2t node, one Keras op (or TFOpLambda layer) per call.
            for parent, kparent in _expression_inputs(node, ktensor):
                match(parent, kparent)
            return
        operation, node_index, _ = ktensor._keras_history
        mapping.setdefault(node.layer_id, operation)
        inbound = operation._inbound_nodes[node_index]
        if tensors is not None:
            # The call's first output: a recurrent layer with return_state=True also returns its states.
            tensors.setdefault(node.layer_id, inbound.output_tensors[0])
        for parent, kparent in zip(node.inputs, inbound.input_tensors):
            match(parent, kparent)

    for node, ktensor in zip(graph.outputs, kmodel.outputs):
        match(node, ktensor)
    return mapping


def _expression_inputs(node, ktensor) -> list[tuple[Any, Any]]:
    """(k2t input, Keras tensor) of an op expression's node (k2t.ir.OpExpression): its expression walked beside
    the Keras ops that compute ``ktensor``, each op's tensors in the order Keras flattens a call's arguments
    (positional ones, then keyword ones by name). Where the two do not line up (an op Keras computes as several,
    or as none), the tensors the ops read from layers and inputs, in order, stand for the node's inputs."""
    import libcst as cst

    from ..cst_walk import Visitor

    expression = node.expression
    leaves = {key: parent for key, parent in zip(expression.tensors, node.inputs)}
    pairs: list[tuple[Any, Any]] = []

    def tensor_parts(part) -> list:
        """The sub-expressions of ``part`` that compute one tensor each, as Keras's op receives them."""
        if isinstance(part, cst.Call):
            positional = [arg.value for arg in part.args if arg.keyword is None]
            keywords = sorted((arg for arg in part.args if arg.keyword is not None), key=lambda arg: arg.keyword.value)
            found = []
            for value in [*positional, *(arg.value for arg in keywords)]:
                items = [el.value for el in value.elements] if isinstance(value, (cst.List, cst.Tuple)) else [value]
                found.extend(item for item in items if reads(item))
            return found
        if isinstance(part, cst.BinaryOperation):
            return [side for side in (part.left, part.right) if reads(side)]
        if isinstance(part, cst.UnaryOperation):
            return [part.expression] if reads(part.expression) else []
        if isinstance(part, cst.Subscript):
            return [part.value] if reads(part.value) else []
        return []

    def reads(part) -> bool:
        if id(part) in leaves:
            return True
        found: list = []

        class Reads(Visitor):
            def enter(self, child) -> bool:
                if id(child) in leaves:
                    found.append(child)
                return not found

        part.visit(Reads())
        return bool(found)

    def walk(part, tensor) -> bool:
        if id(part) in leaves:
            pairs.append((leaves[id(part)], tensor))
            return True
        parts = tensor_parts(part)
        operation, node_index, _ = tensor._keras_history
        inbound = operation._inbound_nodes[node_index]
        if not parts or len(parts) != len(inbound.input_tensors):
            return False
        return all(walk(child, kchild) for child, kchild in zip(parts, inbound.input_tensors))

    if walk(expression.node, ktensor) and len(pairs) == len(node.inputs):
        return pairs
    return list(zip(node.inputs, _layer_tensors(ktensor)))


def _layer_tensors(ktensor) -> list:
    """The tensors the ops computing ``ktensor`` read from layers and inputs, depth first, in argument order."""
    import keras

    operation, node_index, _ = ktensor._keras_history
    if isinstance(operation, keras.layers.Layer):
        return [ktensor]
    found: list = []
    for tensor in operation._inbound_nodes[node_index].input_tensors:
        found.extend(_layer_tensors(tensor))
    return found


def keras_layers_for(kmodel, module_plan) -> list:
    """The Keras layers in the order of ``module_plan.layers`` (one per distinct layer object)."""
    mapping = _keras_mapping(kmodel, module_plan.graph)
    order: list[int] = []
    for node, plan in module_plan.node_plans:
        if plan is not None and node.layer_id not in order:
            order.append(node.layer_id)
    return [mapping[layer_id] for layer_id in order]


def as_input_list(kmodel, x) -> list:
    """Keras accepts a dict keyed by Input names, a list, or one array: always a list here."""
    import numpy as np

    if isinstance(x, dict):
        names = [tensor.name for tensor in kmodel.inputs]
        x = [x[name] for name in names]
    if isinstance(x, (list, tuple)):
        return [np.asarray(a) for a in x]
    return [np.asarray(x)]


def as_target_list(kmodel, y) -> list:
    """Targets of a multi-output model as a list in output order (Keras also takes a dict by output name)."""
    import numpy as np

    if isinstance(y, dict):
        y = [y[name] for name in kmodel.output_names]
    return [np.asarray(a) for a in y]


def forward(
    report,
    kmodel,
    tmodel,
    module_plan,
    sample: list,
    layer_tol: float,
    row_type,
    align,
    max_diff,
    activation_after,
    apply_activation,
) -> None:
    """Per-layer outputs (layers called once) and the final outputs, Keras vs torch, inference mode."""
    import keras
    import numpy as np
    import torch

    from ..weights import submodule

    tensors: dict[int, Any] = {}
    mapping = _keras_mapping(kmodel, module_plan.graph, tensors)
    counts: dict[int, int] = {}
    for node, _ in module_plan.node_plans:
        counts[node.layer_id] = counts.get(node.layer_id, 0) + 1
    # A layer without a submodule (a Lambda: lines of forward) has no output to hook; the final output still checks it.
    # A first layer run on the host (module_plan.preprocess: TextVectorization) is no submodule: it is checked through the outputs.
    compared = [
        (node, plan)
        for node, plan in module_plan.node_plans
        if plan is not None
        and plan.attr is not None
        and counts[node.layer_id] == 1
        and isinstance(submodule(tmodel, plan.attr), torch.nn.Module)
    ]
    klayers = [mapping[node.layer_id] for node, _ in compared]
    probe = keras.Model(kmodel.inputs, [tensors[node.layer_id] for node, _ in compared]) if klayers else None
    keras_values = probe(sample, training=False) if probe is not None else []
    if probe is not None and len(klayers) == 1:
        keras_values = [keras_values]
    keras_final = kmodel(sample, training=False)
    keras_final = [np.asarray(v) for v in (keras_final if isinstance(keras_final, (list, tuple)) else [keras_final])]

    seen: dict[str, Any] = {}
    hooks = []
    for node, plan in compared:

        def hook(module, args, output, attr=plan.attr):
            seen.setdefault(attr, output[0] if isinstance(output, tuple) else output)  # (output, *states): return_state

        hooks.append(submodule(tmodel, plan.attr).register_forward_hook(hook))
    was_training = tmodel.training
    tmodel.eval()
    if module_plan.preprocess:
        inputs = [tmodel.preprocess(sample[0])]
    else:
        inputs = [torch.as_tensor(a.astype(np.float32)) for a in sample]
    try:
        with torch.no_grad():
            torch_final = tmodel(*inputs)
    finally:
        for handle in hooks:
            handle.remove()
        tmodel.train(was_training)
    torch_final = [
        t.detach().numpy() for t in (torch_final if isinstance(torch_final, (list, tuple)) else [torch_final])
    ]

    for index, ((node, plan), klayer, kvalue) in enumerate(zip(compared, klayers, keras_values)):
        kvalue = np.asarray(kvalue)
        value = seen.get(plan.attr)
        note = ""
        if value is None:
            diff, tol, tshape = math.inf, layer_tol, None
            note = "torch never called this submodule"
        else:
            if isinstance(value, tuple):  # a layer returning several tensors: the item Keras's tensor is
                value = value[tensors[node.layer_id]._keras_history.tensor_index]
            activation = activation_after(plan)
            if activation is not None:
                value = apply_activation(activation, value, plan.layout)
                note = f"+{activation}"
            tv = align(kvalue, value.detach().numpy(), plan.layout)
            tshape = tuple(tv.shape)
            diff, tol = max_diff(kvalue, tv, layer_tol)
        row = row_type(
            index, klayer.name, type(klayer).__name__, plan.attr, tuple(kvalue.shape), tshape, diff, tol, note
        )
        report.layers.append(row)
        report.layer_diffs.append((klayer.name, diff))
        if not row.ok:
            report.failures.append(f"layer {klayer.name} ({row.keras_class}): max abs diff {diff:.3g} > {tol:.3g}")
    shared = sorted(
        {
            mapping[node.layer_id].name
            for node, plan in module_plan.node_plans
            if plan is not None and counts[node.layer_id] > 1
        }
    )
    if shared:
        report.notes.append("shared layers compared through the outputs only: " + ", ".join(shared))
    for position, (kv, tv) in enumerate(zip(keras_final, torch_final)):
        diff, tol = max_diff(kv, tv, layer_tol)
        name = "output" if len(keras_final) == 1 else f"output {position}"
        row = row_type(
            len(report.layers), name, "(model)", None, tuple(kv.shape), tuple(tv.shape), diff, tol, "post-activation"
        )
        report.layers.append(row)
        report.layer_diffs.append((name, diff))
        if not row.ok:
            report.failures.append(f"{name}: max abs diff {diff:.3g} > {tol:.3g}")
