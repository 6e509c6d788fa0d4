"""A Keras Functional model (``keras.Model(inputs, outputs)``) -> the plan of a named nn.Module.

Every layer object becomes one submodule (a shared layer once); ``forward``
computes the graph in order, with the script's own tensor names as variables.
"""

from __future__ import annotations

import re

from ..diagnostics import Unsupported
from ..ir import ModelSpec, TensorNode
from . import registry
from .blocks import NodeCode, factor_blocks
from .custom_layer_lists import convert_custom_layer_on_list
from .dims import Dim
from .dtypes import input_dtypes
from .frozen_layers import freeze_from_the_start, without_trainable
from .legacy import in_keras1_terms, keras2_call
from .masking import mask_after, merged_masks, unmasked_output
from .merge import MERGE_LAYERS, MergeInput, convert_merge
from .model import (
    LayerContext,
    _attr_names,
    _ModuleBuilder,
    _without_input_kwargs,
    axes_added,
    axes_needed,
    camel_case,
    declared_dim,
    input_dims,
    keras_layout_expression,
    prune_params,
)
from .nested import convert_nested
from .op_nodes import convert_expression, final_activation_fold, keras_softmax_elsewhere
from .plan import LayerPlan, ModulePlan
from .precision import float32_input, has_weights, without_dtype
from .recurrent import TAKES_INITIAL_STATE
from .text_layers import DATA_LAYERS, DATA_LAYERS_IN_A_MODEL, HostInput, host_input_layer, several_inputs_preprocess
from .training_flag import explicit_training_modes

_X = re.compile(r"(?<![\w.'\"])x(?![\w'\"])")


def _rename(lines: list[str], source: str, target: str) -> list[str]:
    """Converter lines read and write `x`: read `source` first, then work on `target`."""
    renamed = []
    for index, line in enumerate(lines):
        head, sep, rest = line.partition(" = ")
        if not sep:
            renamed.append(_X.sub(target, line))
            continue
        rest = _X.sub(source if index == 0 else target, rest)
        renamed.append(f"{_X.sub(target, head)} = {rest}")
    return renamed


def translate_functional(spec: ModelSpec, class_name: str, resolve_nested=None) -> ModulePlan:
    registry.load_converters()

    graph = spec.graph
    assert graph is not None
    builder = _ModuleBuilder(spec, set(), resolve_nested)
    state: dict[int, tuple[str, list[Dim], str]] = {}  # id(node) -> (forward variable, shape, layout)
    forward_args: list[str] = []
    input_shapes: list[list[Dim]] = []
    for node in graph.inputs:
        shape = []
        values = (
            input_dims(
                node.input_shape,
                _axes_needed_by_users(node, graph),
                f"`{node.var}`'s first layer",
                spec.parameter_lengths,
            )
            if node.input_shape is not None
            else ()
        )
        for i, value in enumerate(values):
            role = f"{node.var}_features" if len(values) == 1 else f"{node.var}_dim_{i}"
            shape.append(declared_dim(value, builder, role))
        name = _identifier(node.var, forward_args)
        forward_args.append(name)
        input_shapes.append(shape)
        state[id(node)] = (name, shape, "keras")

    input_vars = list(forward_args)  # the Inputs' own names (a host layer's input takes its output's name)
    distinct: dict[int, object] = {}
    for node in graph.nodes:
        distinct.setdefault(node.layer_id, node.layer)
    attrs = dict(zip(distinct, _attr_names(list(distinct.values()))))
    variables = _variable_names(graph, forward_args)

    plans: list[LayerPlan] = []
    node_plans: list[tuple[TensorNode, LayerPlan | None]] = []
    built: set[int] = set()
    lines: list[str] = []
    helpers: list = []
    segments: list[tuple[TensorNode, list[str]]] = []  # each node's forward lines, in order
    folds: dict[int, tuple[list[str], str, str]] = {}  # id(output node) -> lines without its activation
    softmax_elsewhere: list = []  # positions of outputs that are keras.ops.softmax over another axis
    codes: dict[int, NodeCode] = {}  # how each node's lines were made (helper calls become classes from them)
    tuple_items: dict[int, object] = {}  # id(node) -> the TensorCallPlan of the call whose tuple holds it
    unpacked_shapes: dict[
        tuple[int, int], list
    ] = {}  # (statement, layer) of a call unpacked into names -> output shapes
    masks: dict[
        int, str | None
    ] = {}  # id(node) -> the variable holding its Keras mask (Embedding(mask_zero=True), Masking)
    unpacked_masks: dict[tuple[int, int], str | None] = {}  # the mask of an unpacked call's first output
    # A mask made from the model's one input (Embedding(mask_zero=True) on the input): the mask's variable -> the
    # same mask as an expression of the input `x`, for a model whose output carries it (ModulePlan.output_mask).
    masks_from_input: dict[str, str] = {}
    preprocess: list[str] = []  # the module's preprocess() body, when its first layer runs on the host
    hosts: dict[int, HostInput] = {}  # input index -> the first layer that runs on the host there
    keras_ranks = [len(shape) + 1 for shape in input_shapes]  # Keras's rank of each input, batch included
    for node in graph.nodes:
        layer = keras2_call(node.layer)  # Keras 1 argument names read as Keras 2 read them
        out = variables[id(node)]
        call_key = (id(node.statement), node.layer_id)
        if node.output_index is not None and call_key in unpacked_shapes:
            # A further output of a call whose line, `out, state_h, state_c = self.lstm(x)`, is already written.
            state[id(node)] = (out, unpacked_shapes[call_key][node.output_index], "keras")
            masks[id(node)] = (
                unpacked_masks[call_key] if node.output_index == 0 else None
            )  # Keras's states carry no mask
            continue
        inputs = [state[id(parent)] for parent in node.inputs]
        if node.expression is not None:
            # ops in a subclassed model's call() (k2t.translate.op_nodes): a line of its own, no module
            template, shape = convert_expression(node, inputs, graph)
            node_lines = [line.format(*(var for var, _, _ in inputs), out=out) for line in template]
            codes[id(node)] = NodeCode(None, inputs, template=template)
            lines.extend(node_lines)
            segments.append((node, node_lines))
            state[id(node)] = (out, shape, "keras")
            masks[id(node)] = None
            node_plans.append((node, None))
            if _is_final_output(node, graph):
                fold = final_activation_fold(node, inputs, graph, out)
                if fold is not None:
                    folds[id(node)] = fold
                elif keras_softmax_elsewhere(node, inputs):
                    softmax_elsewhere.append(node.pos)
            continue
        if layer.short_name in MERGE_LAYERS and layer.name.startswith("keras.layers."):
            merged_mask, mask_lines = merged_masks(
                layer, [masks.get(id(parent)) for parent in node.inputs], f"{out}_mask"
            )
            masks[id(node)] = merged_mask
            result = convert_merge(layer, [MergeInput(*item) for item in inputs], out)
            codes[id(node)] = NodeCode(None, inputs, layer)
            lines.extend(result.lines + mask_lines)
            segments.append((node, result.lines + mask_lines))
            state[id(node)] = (out, result.shape, result.layout)
            node_plans.append((node, None))
            continue
        several = (
            registry.TENSOR_CALLS.get(layer.short_name)
            if layer.model is None and layer.name.startswith("keras.layers.")
            else None
        )
        if several is not None and layer.short_name in registry.LAYERS and len(inputs) == 1 and not node.as_list:
            several = None  # a layer of one tensor as well (Lambda): its own converter
        if several is None and layer.layer_class is not None and (node.as_list or len(inputs) > 1):
            several = convert_custom_layer_on_list  # Sampling()([z_mean, z_log_var]): forward receives the list
        if several is not None:
            # A layer called on several tensors (attention): its converter writes the lines over the inputs' names.
            if id(node) in tuple_items:
                call, template = tuple_items[id(node)], []  # an item of a tuple whose first item's line made it
            else:
                ctx = LayerContext(
                    builder,
                    layer,
                    attrs[node.layer_id],
                    list(inputs[0][1]) if inputs else [],
                    "keras",
                    node is graph.nodes[-1],
                )
                try:
                    keywords = node.keywords or [None] * len(inputs)
                    tensors = [
                        registry.TensorInput(*item, keyword, masks.get(id(parent)))
                        for item, keyword, parent in zip(inputs, keywords, node.inputs)
                    ]
                    call = several(ctx, node, tensors)
                except Unsupported as exc:
                    raise in_keras1_terms(exc, node.layer) from exc
                template = call.lines
                if node.output_index is not None:  # `out, scores = ...`: one line assigns every item the graph uses
                    items = ["_"] * len(call.shapes)
                    for sibling in graph.nodes:
                        if (
                            sibling.statement is node.statement
                            and sibling.layer_id == node.layer_id
                            and sibling.output_index is not None
                        ):
                            items[sibling.output_index] = "{out}" if sibling is node else variables[id(sibling)]
                            tuple_items[id(sibling)] = call
                    template = [line.replace("{out}", ", ".join(items)) for line in call.lines]
            plan = call.plan
            node_lines = [line.format(*(var for var, _, _ in inputs), out=out) for line in template]
            codes[id(node)] = NodeCode(None, inputs, template=template)
            shape = call.shapes[node.output_index or 0]
            if node.layer_id not in built:
                built.add(node.layer_id)
                plan.output_shape, plan.layout = list(shape), "keras"
                plans.append(plan)
                helpers.extend(ctx.helpers)
            lines.extend(node_lines)
            segments.append((node, node_lines))
            state[id(node)] = (out, list(shape), "keras")
            masks[id(node)] = call.output_mask if node.output_index in (None, 0) else None
            node_plans.append((node, plan))
            continue
        given = [key for key in node.keywords if key is not None] + [key for key, _ in node.call_kwargs]
        if given:
            raise Unsupported("K2T102", f"{layer.short_name} called with {given[0]}= is not translated", node.pos)
        if node.initial_states and layer.short_name not in TAKES_INITIAL_STATE:
            raise Unsupported("K2T102", f"{layer.short_name}(..., initial_state=...) is not translated", node.pos)
        if len(inputs) != 1 + node.initial_states or node.as_list:
            raise Unsupported("K2T102", f"{layer.short_name} called on several tensors is not translated", node.pos)
        source, shape, layout = inputs[0]
        if layer.model is not None:
            converter = convert_nested
        else:
            converter = registry.LAYERS.get(layer.short_name) if layer.name.startswith("keras.layers.") else None
        if converter is None and layer.name.startswith("keras.layers.") and layer.short_name in DATA_LAYERS:
            # `indices = vectorize_layer(inputs)`: kept on the host, forward() takes the indices (named so).
            # Each on an input of the model that nothing else reads (keras.io's structured data: one lookup per column).
            index = next((i for i, tensor in enumerate(graph.inputs) if node.inputs[0] is tensor), None)
            on_input = index is not None and _readers(graph, node.inputs[0]) == [node]
            ctx = LayerContext(builder, layer, attrs[node.layer_id], list(shape), layout, False)
            host = host_input_layer(ctx, on_input, node.pos)
            hosts[index] = host
            preprocess = host.preprocess
            forward_args[index] = out
            input_shapes[index] = list(ctx.shape)
            state[id(graph.inputs[index])] = (out, list(ctx.shape), "keras")
            built.add(node.layer_id)
            plans.append(host.plan)
            state[id(node)] = (out, list(ctx.shape), "keras")
            node_plans.append((node, host.plan))
            if host.plan.forward:  # what forward() does first with the ids (each batch cut to its longest text)
                host_lines = _rename(host.plan.forward, out, out)
                lines.extend(host_lines)
                segments.append((node, host_lines))
            continue
        if converter is None:
            reason = DATA_LAYERS_IN_A_MODEL.get(layer.short_name) if layer.name.startswith("keras.layers.") else None
            raise Unsupported("K2T101", reason or f"layer {layer.name} is not translated", layer.pos)
        layer, float32 = without_dtype(layer)
        # input_shape= / input_dim= on a layer called on a tensor: Keras keeps them for a Sequential's first layer only.
        layer = _without_input_kwargs(layer)
        layer, frozen = without_trainable(layer)
        ctx = LayerContext(builder, layer, attrs[node.layer_id], list(shape), layout, node is graph.nodes[-1])
        ctx.state_inputs = [variable for variable, _, _ in inputs[1:]]
        ctx.unpacked = len(node.unpacked)
        ctx.mask.given, ctx.mask.name = masks.get(id(node.inputs[0])), f"{out}_mask"
        ctx.frozen = frozen
        ctx.open_sizes()
        try:
            plan = converter(ctx)
            freeze_from_the_start(plan, frozen, ctx.self_attr, layer)
        except Unsupported as exc:
            raise in_keras1_terms(exc, node.layer) from exc
        if float32:
            ctx.pre = float32_input(layer, has_weights(plan)) + ctx.pre
        node_lines = _rename(ctx.pre + plan.forward, source, out)
        node_shape = list(ctx.shape)
        mask = mask_after(layer, ctx.mask)
        masks[id(node)] = mask if node.output_index in (None, 0) else None
        on_input = len(graph.inputs) == 1 and node.inputs and node.inputs[0] is graph.inputs[0] and not ctx.pre
        if mask is not None and mask == ctx.mask.output != ctx.mask.given and ctx.mask.from_input and on_input:
            masks_from_input[mask] = ctx.mask.from_input
        unpacked_masks[call_key] = mask  # for the call's first output, when another output is read first
        if node.output_index is not None:
            if len(ctx.output_shapes) != len(node.unpacked):
                message = f"unpacking {layer.short_name}'s output into {len(node.unpacked)} names is not translated"
                raise Unsupported("K2T102", message, node.pos)
            names = _unpacked_names(node, graph, variables)
            lead = next(name for name in names if name != "_")  # lines before the call work on the first output's name
            node_lines = _unpacked(_rename(ctx.pre + plan.forward, source, lead), lead, names)
            unpacked_shapes[call_key] = ctx.output_shapes
            node_shape = list(ctx.output_shapes[node.output_index])
        codes[id(node)] = NodeCode(ctx.pre + plan.forward, inputs)
        layout = ctx.layout if len(ctx.shape) >= 2 else "keras"
        plan.output_shape = list(ctx.shape)
        plan.layout = layout
        if node.layer_id not in built:
            built.add(node.layer_id)
            plans.append(plan)
            helpers.extend(ctx.helpers)
        lines.extend(node_lines)
        segments.append((node, node_lines))
        state[id(node)] = (out, node_shape, layout if len(node_shape) >= 2 else "keras")
        node_plans.append((node, plan))
        if _is_final_output(node, graph):
            fold = _without_final_activation(plan, node_lines, source, out)
            if fold is not None and layout == "keras":
                folds[id(node)] = fold

    if spec.creation_order:
        # A subclassed model's layers in the order its __init__ makes them, as Keras lists them (model.layers).
        made = {layer_id: index for index, layer_id in enumerate(spec.creation_order)}
        order = {id(plan): made.get(node.layer_id, len(made)) for node, plan in node_plans if plan is not None}
        plans.sort(key=lambda plan: order.get(id(plan), len(made)))
    returns = []
    output_mask = None
    for node in graph.outputs:
        mask = masks.get(id(node))
        if len(graph.outputs) == 1 and mask in masks_from_input:
            output_mask = masks_from_input[mask]  # Keras masks the loss and metrics with it (k2t.translate.masking)
        else:
            unmasked_output(node.layer, mask)
        var, shape, layout = state[id(node)]
        if layout == "channels_first":
            lines.append(f"{var} = {keras_layout_expression(var, len(shape) + 1)}  # Keras's outputs are channels-last")
        returns.append(var)
    return_value = ", ".join(returns) if len(returns) > 1 else returns[0]
    if graph.outputs_as_list and len(returns) == 1:
        return_value = f"[{returns[0]}]"
    name_value = spec.call.kwarg("name")
    keras_name = name_value.literal if name_value is not None and isinstance(name_value.literal, str) else "functional"
    module = ModulePlan(
        var=spec.var,
        class_name=class_name,
        keras_name=keras_name,
        params=builder.params,
        kept=builder.stored,
        layers=plans,
        input_shape=input_shapes[0] if len(input_shapes) == 1 else [],
        helpers=helpers,
    )
    module.forward_args = forward_args
    module.preprocess = preprocess
    module.output_mask = output_mask
    module.forward_lines = lines
    module.return_value = return_value
    module.input_shapes = input_shapes
    module.node_plans = node_plans
    module.graph = graph
    module.output_names = [_output_name(node, attrs) for node in graph.outputs]
    module.input_names = [node.input_name or node.var for node in graph.inputs]
    module.output_shapes = [state[id(node)][1] for node in graph.outputs]
    module.node_shapes = {id(node): state[id(node)][1] for node in graph.nodes if id(node) in state}
    # forward's variable for each tensor it holds in Keras's layout (a loss reading the graph's tensors takes them)
    module.node_vars = {
        ident: var for ident, (var, shape, layout) in state.items() if layout == "keras" or len(shape) < 2
    }
    module.segments = segments
    if hosts and len(graph.inputs) > 1:  # input_dtypes reads the finished module
        module.preprocess = several_inputs_preprocess(input_vars, hosts, input_dtypes(module), keras_ranks)
    module.output_folds = [folds.get(id(node)) for node in graph.outputs]
    module.softmax_elsewhere = softmax_elsewhere
    module.output_vars = returns
    module.output_activations = [
        (plan.activation if plan is not None else folds[id(node)][2] if id(node) in folds else "linear")
        for node in graph.outputs
        for n, plan in node_plans
        if n is node
    ]
    if any(node.output_index is not None for node in graph.nodes):
        # One line computes the several nodes of a call unpacked into names, which block classes do not model:
        # helper functions applied several times stay inline.
        module.explicit_training = explicit_training_modes(node_plans)
        return prune_params(module)
    names = {id(node): state[id(node)][0] for node in [*graph.inputs, *graph.nodes]}
    module = factor_blocks(module, graph, codes, _rename, names)
    module.explicit_training = explicit_training_modes(node_plans)  # after the blocks: their layers' paths
    return prune_params(module)


def _readers(graph, tensor: TensorNode) -> list[TensorNode]:
    """The nodes that read ``tensor``."""
    return [node for node in graph.nodes if any(parent is tensor for parent in node.inputs)]


def _unpacked_names(node: TensorNode, graph, variables: dict[int, str]) -> list[str]:
    """The variables a call unpacked into names assigns, in output order; `_` for an output no node reads."""
    names = ["_"] * len(node.unpacked)
    for other in graph.nodes:
        if other.statement is node.statement and other.layer_id == node.layer_id and other.output_index is not None:
            names[other.output_index] = variables[id(other)]
    return names


def _unpacked(lines: list[str], out: str, names: list[str]) -> list[str]:
    """The converter's last line computes the layer's outputs (`out = self.lstm(x)`): it assigns them to ``names``."""
    head, _, value = lines[-1].partition(" = ")
    assert head == out, lines
    return [*lines[:-1], f"{', '.join(names)} = {value}"]


def _axes_needed_by_users(tensor: TensorNode, graph) -> int | None:
    """The number of axes per sample the layers reading ``tensor`` fix for it (a Conv2D: 3), through
    layers that keep or add axes (Dropout, Embedding, merges); None when none of them fixes it."""
    for user in graph.nodes:
        if not any(parent is tensor for parent in user.inputs):
            continue
        needed = axes_needed(user.layer)
        if needed is not None:
            return needed
        added = 0 if user.layer.short_name in MERGE_LAYERS else axes_added(user.layer)
        if added is None:
            continue
        later = _axes_needed_by_users(user, graph)
        if later is not None and later > added:
            return later - added
    return None


def _output_name(node: TensorNode, attrs: dict[int, str]) -> str:
    given = node.layer.kwarg("name") if node.layer is not None else None
    if given is not None and isinstance(given.literal, str):
        return given.literal
    return attrs.get(node.layer_id, node.var)


def _is_final_output(node: TensorNode, graph) -> bool:
    """An output of the model that no layer reads: training may read its values before their activation."""
    return any(node is output for output in graph.outputs) and not any(node in later.inputs for later in graph.nodes)


def _without_final_activation(plan: LayerPlan, node_lines: list[str], source: str, out: str):
    """(lines of the final layer without its activation, variable holding the logits, activation)."""
    if plan.activation not in ("sigmoid", "softmax"):
        return None
    if plan.keras_class == "Dense":
        return (
            node_lines[:-1] + [f"{out} = self.{plan.attr}({source if len(node_lines) == 1 else out})"],
            out,
            plan.activation,
        )
    return node_lines[:-1], source if len(node_lines) == 1 else out, plan.activation


def _identifier(name: str, taken: list[str]) -> str:
    if name in ("self",) or name in taken:
        name = f"{name}_input"
    return name


def _variable_names(graph, forward_args: list[str]) -> dict[int, str]:
    """Forward variable per node: the script's name, unless that would overwrite a value still needed."""
    names: dict[int, str] = {}
    holder: dict[str, TensorNode] = {}
    for node, name in zip(graph.inputs, forward_args):
        names[id(node)] = name
        holder[name] = node
    order = graph.nodes
    for index, node in enumerate(order):
        wanted = node.var
        candidate, n = wanted, 1
        while candidate in holder and _still_needed(holder[candidate], order[index + 1 :], node, graph.outputs):
            n += 1
            candidate = f"{wanted}_{n}"
        names[id(node)] = candidate
        holder[candidate] = node
    return names


def _still_needed(value: TensorNode, later: list[TensorNode], current: TensorNode, outputs) -> bool:
    if any(value is out for out in outputs) and value is not current:
        return True
    return any(value in node.inputs for node in later)


def functional_class_name(spec: ModelSpec) -> str:
    name_value = spec.call.kwarg("name")
    if name_value is not None and isinstance(name_value.literal, str):
        return camel_case(name_value.literal)
    return "Net" if spec.var in (None, "model") else camel_case(spec.var)
