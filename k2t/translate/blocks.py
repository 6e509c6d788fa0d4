"""A helper function applied several times -> its own nn.Module class, used by the outer module.

``def residual_block(x, filters, strides=1): ...`` called once per stage builds the same layers each
time, with other sizes. A PyTorch author writes that as ``class ResidualBlock(nn.Module)`` and
``self.residual_block = ResidualBlock(in_channels=16, filters=32)``; k2t does the same. The parser
walks each call with its own arguments (k2t.parse.helpers) and tags every tensor it makes with the
call (``TensorNode.invocations``). Here, after the whole model is translated layer by layer, the calls
whose translations are the same code up to numbers (the sizes, strides, rates) become uses of one
class; the numbers that differ become its constructor's parameters, named after the helper's
parameter that holds them where one does (``filters``), else after torch's argument (``in_channels``).

Calls that build different layers (``if strides != 1:`` adds a projection) are grouped apart; a call
that no other matches stays inline, where the helpers it calls may in turn become classes. Nothing
changes in what is computed: the class's forward is the calls' own lines.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import keyword
import re
from dataclasses import dataclass

from ..ir import Invocation, TensorNode
from .merge import MergeInput, convert_merge
from .model import camel_case, snake_case
from .plan import LayerPlan, ModulePlan, Param

# Positional parameters of the torch constructors the converters write, to name a size that differs.
TORCH_POSITIONAL: dict[str, tuple[str, ...]] = {
    "nn.Linear": ("in_features", "out_features"),
    "nn.Conv1d": ("in_channels", "out_channels", "kernel_size"),
    "nn.Conv2d": ("in_channels", "out_channels", "kernel_size"),
    "nn.Conv3d": ("in_channels", "out_channels", "kernel_size"),
    "nn.ConvTranspose1d": ("in_channels", "out_channels", "kernel_size"),
    "nn.ConvTranspose2d": ("in_channels", "out_channels", "kernel_size"),
    "nn.ConvTranspose3d": ("in_channels", "out_channels", "kernel_size"),
    "BatchNorm": ("num_features",),
    "nn.LayerNorm": ("normalized_shape",),
    "nn.Embedding": ("num_embeddings", "embedding_dim"),
    "nn.Dropout": ("p",),
    "nn.Dropout1d": ("p",),
    "nn.Dropout2d": ("p",),
    "nn.Dropout3d": ("p",),
    "nn.LeakyReLU": ("negative_slope",),
}


@dataclass
class NodeCode:
    """How one graph node's forward lines were made, so that they can be made again over other names."""

    raw: list[str] | None  # a layer's lines over `x` (k2t.translate.functional._rename applies names)
    inputs: list[tuple[str, list, str]]  # (variable, shape, layout) of each input tensor
    merge: object | None = None  # the merge layer's KerasCall, for merges (raw is None then)
    template: list[str] | None = None  # a layer called on several tensors: lines over {0}, {1}, ... and {out}


@dataclass
class _Use:
    invocation: Invocation
    nodes: list[TensorNode]  # the nodes the call made, in forward order
    params: list[tuple[str, TensorNode]]  # the tensor parameters its layers read


def factor_blocks(module: ModulePlan, graph, codes: dict[int, NodeCode], rename, names: dict[int, str]) -> ModulePlan:
    """Replace each group of matching helper calls in ``module`` by uses of one generated class."""
    plans = {id(node): plan for node, plan in module.node_plans}
    module_params = {p.name for p in module.params}
    leftover = [node for node in graph.nodes]
    blocks: list[ModulePlan] = []
    depth = 0

    def lines_of(use: _Use, param_names: list[str], attrs: dict[str, str]) -> tuple[list[str], str]:
        return _inner_lines(use, param_names, codes, rename, attrs)

    while any(len(node.invocations) > depth for node in leftover):
        # A call whose layer runs on the host, in the module's preprocess() (a lookup of strings), has no forward code.
        uses = [use for use in _uses(leftover, graph, plans, depth) if all(id(node) in codes for node in use.nodes)]
        groups: dict[tuple, list[_Use]] = {}
        shapes: dict[int, tuple] = {}
        for use in uses:
            signature = _signature(use, plans, lines_of, module_params)
            if signature is not None:
                groups.setdefault(signature[0], []).append(use)
                shapes[id(use)] = signature[1]
        factored: set[int] = set()
        for group in groups.values():
            if len(group) < 2:
                continue
            name = _class_name(group[0].invocation.helper, blocks, module)
            block, attrs = _block_class(
                name, group, [shapes[id(use)] for use in group], plans, lines_of, module, module_params
            )
            blocks.append(block)
            for use, attr in zip(group, attrs):
                module.block_calls[id(use.invocation.returned[0])] = (
                    attr,
                    [tensor for _, tensor in use.params],
                    {id(node) for node in use.nodes},
                )
            factored.update(id(node) for use in group for node in use.nodes)
        leftover = [node for node in leftover if id(node) not in factored]
        depth += 1
    if blocks:
        module.blocks = blocks
        _outer_forward(module, graph, names)
    return module


@dataclass(eq=False)
class _Item:
    """A layer of a Sequential model, standing where a Functional graph has a node."""

    layer: object  # its KerasCall
    invocations: tuple
    index: int  # its place in the model's layers


def factor_sequential_blocks(module: ModulePlan, spec) -> ModulePlan:
    """The Sequential form: a helper that adds the same layers to a model at several calls (``add_conv_block(model, 64)``)."""
    if not spec.invocations or len(spec.layers) != len(module.layers):
        return module
    items = [_Item(layer, spec.invocations.get(id(layer), ()), index) for index, layer in enumerate(spec.layers)]
    plans = {id(item): module.layers[item.index] for item in items}
    module_params = {p.name for p in module.params}

    def lines_of(use: _Use, param_names: list[str], attrs: dict[str, str]) -> tuple[list[str], str]:
        lines = [line for item in use.nodes for line in plans[id(item)].forward]
        return [_with_attrs(line, attrs) for line in lines[len(_to_channels_first(lines)) :]], "x"

    leftover = items
    blocks: list[ModulePlan] = []
    depth = 0
    while any(len(item.invocations) > depth for item in leftover):
        by_call: dict[int, _Use] = {}
        for item in leftover:
            if len(item.invocations) > depth:
                by_call.setdefault(
                    id(item.invocations[depth]), _Use(item.invocations[depth], [], [("x", None)])
                ).nodes.append(item)
        groups: dict[tuple, list[_Use]] = {}
        numbers: dict[int, tuple] = {}
        for use in by_call.values():
            if not _sequential_contained(use, plans, len(items)):
                continue
            signature = _signature(use, plans, lines_of, module_params)
            if signature is not None:
                groups.setdefault(signature[0], []).append(use)
                numbers[id(use)] = signature[1]
        factored: set[int] = set()
        for group in groups.values():
            if len(group) < 2:
                continue
            name = _class_name(group[0].invocation.helper, blocks, module)
            block, attrs = _block_class(
                name, group, [numbers[id(use)] for use in group], plans, lines_of, module, module_params
            )
            blocks.append(block)
            for use, attr in zip(group, attrs):
                # The first call of a convolution block turns Keras's channels-last input around; the class
                # starts after that, where every call starts alike.
                moved = _to_channels_first([line for item in use.nodes for line in plans[id(item)].forward])
                module.block_forward[use.nodes[0].index] = [*moved, f"x = self.{attr}(x)"]
                for item in use.nodes[1:]:
                    module.block_forward[item.index] = []
            factored.update(id(item) for use in group for item in use.nodes)
        leftover = [item for item in leftover if id(item) not in factored]
        depth += 1
    module.blocks = blocks
    return module


def _to_channels_first(lines: list[str]) -> list[str]:
    """The leading ``x = x.permute(0, 3, 1, 2)`` of a block's lines (LayerContext.channels_first writes it), if any."""
    if lines and lines[0].startswith("x = x.permute(") and "torch convolutions are channels-first" in lines[0]:
        return lines[:1]
    return []


def _sequential_contained(use: _Use, plans, count: int) -> bool:
    """Consecutive layers of the model, not its last (training may read its logits), each translated as a layer of its own."""
    indices = [item.index for item in use.nodes]
    if indices != list(range(indices[0], indices[0] + len(indices))) or indices[-1] == count - 1:
        return False
    for item in use.nodes:
        plan = plans[id(item)]
        if plan.todo or plan.nested is not None or item.layer.model is not None or item.layer.bound is not None:
            return False
    return any(plans[id(item)].attr for item in use.nodes)


def _class_name(helper: str, blocks: list[ModulePlan], module: ModulePlan) -> str:
    taken = {b.class_name for b in blocks} | {module.class_name}
    base = camel_case(helper)
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}{n}"
    return name


def _uses(nodes: list[TensorNode], graph, plans, depth: int) -> list[_Use]:
    """The calls at ``depth`` among ``nodes`` that can stand as a module of their own."""
    by_call: dict[int, _Use] = {}
    for node in nodes:
        if len(node.invocations) > depth:
            invocation = node.invocations[depth]
            by_call.setdefault(id(invocation), _Use(invocation, [], [])).nodes.append(node)
    return [use for use in by_call.values() if _self_contained(use, graph, plans)]


def _self_contained(use: _Use, graph, plans) -> bool:
    """One tensor out, only its tensor parameters in, its layers its own, no graph output among its nodes."""
    invocation = use.invocation
    if invocation.returns_tuple or len(invocation.returned) != 1 or invocation.returned[0] not in use.nodes:
        return False
    members = {id(node) for node in use.nodes}
    if any(any(node is out for out in graph.outputs) for node in use.nodes if node is not invocation.returned[0]):
        return False
    if any(node is out for out in graph.outputs for node in [invocation.returned[0]]):
        return False  # the model's output: training may need its logits, which a block would hide
    layer_ids = {node.layer_id for node in use.nodes}
    for node in graph.nodes:
        if id(node) in members:
            continue
        if node.layer_id in layer_ids:
            return False  # a layer shared with code outside the call
        if any(id(parent) in members and parent is not invocation.returned[0] for parent in node.inputs):
            return False
    parameters = {id(tensor): name for name, tensor in invocation.tensor_params}
    read: dict[int, str] = {}
    for node in use.nodes:
        plan = plans.get(id(node))
        if plan is not None and (plan.todo or plan.nested is not None or plan.weights == "nested"):
            return False
        for parent in node.inputs:
            if id(parent) in members:
                continue
            if id(parent) not in parameters:
                return False  # a tensor the helper reads from outside (a global, a closure)
            read[id(parent)] = parameters[id(parent)]
    use.params = [(name, tensor) for name, tensor in invocation.tensor_params if id(tensor) in read]
    has_module = any(plans.get(id(node)) is not None and plans[id(node)].attr for node in use.nodes)
    return bool(use.params) and has_module


# ----------------------------------------------------------------------------------- signatures
def _inner_attrs(use: _Use, plans) -> dict[str, str]:
    """The outer module's attribute of each layer the call made -> its attribute in the class."""
    counts: dict[str, int] = {}
    attrs: dict[str, str] = {}
    for node in use.nodes:
        plan = plans.get(id(node))
        if plan is None or not plan.attr or plan.attr in attrs:
            continue
        base = snake_case(node.layer.short_name)
        n = counts.get(base, 0)
        counts[base] = n + 1
        attrs[plan.attr] = base if n == 0 else f"{base}_{n}"
    return attrs


def _inner_lines(use: _Use, param_names: list[str], codes, rename, attrs: dict[str, str]) -> tuple[list[str], str]:
    """The call's forward lines over the class's names: its parameters, the script's names inside."""
    names: dict[int, str] = {id(tensor): name for (_, tensor), name in zip(use.params, param_names)}
    holder: dict[str, TensorNode] = {name: tensor for (_, tensor), name in zip(use.params, param_names)}
    returned = use.invocation.returned[0]
    for index, node in enumerate(use.nodes):
        # The result is named after the tensor parameter, as a block's author writes `x = ...; return x`
        # (the script's name for it is the caller's variable).
        wanted = param_names[0] if node is returned and param_names else node.var
        wanted = wanted if wanted.isidentifier() and wanted != "self" else "x"
        candidate, n = wanted, 1
        while candidate in holder and _needed(holder[candidate], use.nodes[index + 1 :], node, returned):
            n += 1
            candidate = f"{wanted}_{n}"
        names[id(node)] = candidate
        holder[candidate] = node
    lines: list[str] = []
    for node in use.nodes:
        code = codes[id(node)]
        out = names[id(node)]
        if code.template is not None:
            lines.extend(line.format(*(names[id(parent)] for parent in node.inputs), out=out) for line in code.template)
        elif code.raw is None:
            inputs = [
                MergeInput(names[id(parent)], shape, layout)
                for parent, (_, shape, layout) in zip(node.inputs, code.inputs)
            ]
            lines.extend(convert_merge(code.merge, inputs, out).lines)
        else:
            lines.extend(rename(code.raw, names[id(node.inputs[0])], out))
    return [_with_attrs(line, attrs) for line in lines], names[id(returned)]


def _needed(value: TensorNode, later: list[TensorNode], current: TensorNode, returned: TensorNode) -> bool:
    if value is returned and value is not current:
        return True
    return any(value in node.inputs for node in later)


def _with_attrs(line: str, attrs: dict[str, str]) -> str:
    if not attrs:
        return line
    return _attribute_pattern(tuple(sorted(attrs, key=len, reverse=True))).sub(
        lambda match: f"self.{attrs[match.group(1)]}", line
    )


@functools.lru_cache(maxsize=64)
def _attribute_pattern(names: tuple[str, ...]) -> re.Pattern[str]:
    """``self.NAME`` for any of ``names`` (longest first), compiled once per set of names (a block's lines share one)."""
    return re.compile(r"\bself\.(" + "|".join(re.escape(a) for a in names) + r")(?![\w])")


def _numbers(code: str) -> list[tuple[ast.Constant, str | None]]:
    """The int/float literals of a constructor expression, in source order, each with the name torch gives it."""
    tree = ast.parse(code, mode="eval")
    found: list[tuple[ast.Constant, str | None]] = []
    for call in ast.walk(tree):
        if not isinstance(call, ast.Call):
            continue
        func = ast.unparse(call.func)
        positional = TORCH_POSITIONAL.get(func, ())
        for index, arg in enumerate(call.args):
            for constant in _constants(arg):
                found.append((constant, positional[index] if index < len(positional) and constant is arg else None))
        for kw in call.keywords:
            for constant in _constants(kw.value):
                found.append((constant, kw.arg if constant is kw.value else None))
    found.sort(key=lambda item: (item[0].lineno, item[0].col_offset))
    return found


def _constants(node: ast.AST) -> list[ast.Constant]:
    return [n for n in ast.walk(node) if isinstance(n, ast.Constant) and type(n.value) in (int, float)]


def _skeleton(code: str) -> str:
    """The constructor with its numbers left out: what must match for two calls to share a class."""
    pieces, last = [], 0
    lines = code.split("\n")
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line.encode()) + 1)
    raw = code.encode()
    for constant, _ in _numbers(code):
        start = offsets[constant.lineno - 1] + constant.col_offset
        end = offsets[constant.end_lineno - 1] + constant.end_col_offset
        pieces.append(raw[last:start].decode())
        pieces.append("#")
        last = end
    pieces.append(raw[last:].decode())
    return "".join(pieces)


def _signature(use: _Use, plans, lines_of, module_params: set[str]):
    """(what must match for calls to share a class, the numbers of its constructors), or None."""
    attrs = _inner_attrs(use, plans)
    canonical = [f"_{i}" for i in range(len(use.params))]
    lines, returned = lines_of(use, canonical, attrs)
    constructors, numbers, inits = [], [], []
    for node in use.nodes:
        plan = plans.get(id(node))
        if plan is None or not plan.attr:
            continue
        code = plan.constructor or ""
        try:
            found = _numbers(code)
        except SyntaxError:
            return None
        names = {n.id for n in ast.walk(ast.parse(code, mode="eval")) if isinstance(n, ast.Name)}
        constructors.append((node.layer.short_name, _skeleton(code)))
        numbers.extend(constant.value for constant, _ in found)
        init = [_with_attrs(line, attrs) for line in plan.init]
        if any(re.search(rf"\b{re.escape(p)}\b", line) for p in module_params for line in init):
            return None  # reset_parameters would need the outer module's sizes
        inits.append(tuple(init))
        if names & {"x", "self"}:
            return None
    key = (
        use.invocation.helper,
        tuple(lines),
        returned,
        tuple(constructors),
        tuple(inits),
        tuple(name for name, _ in use.params),
    )
    return key, tuple(numbers)


# ---------------------------------------------------------------------------------- the class
def _block_class(
    name, group: list[_Use], numbers: list[tuple], plans, lines_of, module: ModulePlan, module_params: set[str]
):
    """The class of ``group``'s calls, and the outer module's attribute of each call's instance (its layers moved in)."""
    first = group[0]
    attrs = _inner_attrs(first, plans)
    forward_args = [_argument_name(param) for param, _ in first.params]
    lines, returned = lines_of(first, forward_args, attrs)

    # The numbers that differ between the calls, by position: each vector of values one parameter.
    columns = list(zip(*numbers)) if numbers and numbers[0] else []
    roles = [role for node in first.nodes for role in _roles(plans.get(id(node)))]
    parameter_of: dict[int, str] = {}
    by_values: dict[tuple, str] = {}
    params: list[str] = []
    known = [dict(use.invocation.arguments) for use in group]
    for index, column in enumerate(columns):
        if len(set(column)) == 1:
            continue
        if column in by_values:
            parameter_of[index] = by_values[column]
            continue
        chosen = next(
            (
                param
                for param, _ in first.invocation.arguments
                if all(
                    args.get(param) == value and type(args.get(param)) is type(value)
                    for args, value in zip(known, column)
                )
            ),
            None,
        )
        if chosen is None or chosen in params:
            chosen = roles[index] or "size"
        chosen = _fresh(chosen, params, forward_args)
        params.append(chosen)
        by_values[column] = chosen
        parameter_of[index] = chosen

    # The class's layers: the first call's plans, its numbers that differ replaced by the parameters.
    layers: list[LayerPlan] = []
    position = 0
    passed: list[str] = []  # the outer module's own parameters a layer reads (`num_classes`)
    for node in first.nodes:
        plan = plans.get(id(node))
        if plan is None or not plan.attr:
            continue
        code = plan.constructor or ""
        found = _numbers(code)
        replacements = {}
        for offset, (constant, _) in enumerate(found):
            param = parameter_of.get(position + offset)
            if param is not None:
                replacements[(constant.lineno, constant.col_offset)] = param
        position += len(found)
        for outer in sorted(module_params):
            if re.search(rf"\b{re.escape(outer)}\b", code) and outer not in passed:
                passed.append(outer)
        layers.append(
            dataclasses.replace(
                plan,
                attr=attrs[plan.attr],
                constructor=_replaced(code, replacements),
                init=[_with_attrs(line, attrs) for line in plan.init],
                regularizers=[],
                forward=[],
            )
        )
    block = ModulePlan(
        var=None,
        class_name=name,
        keras_name=first.invocation.helper,
        params=[Param(p, p) for p in [*params, *passed]],
        layers=layers,
        input_shape=[],
    )
    block.forward_args = forward_args
    block.forward_lines = lines
    block.return_value = returned
    block.doc = _doc(first.invocation.helper, len(group))

    # The outer module: each call's layers now live in its block.
    use_attrs_out = []
    for count, use in enumerate(group):
        attr = _fresh_attr(snake_case(first.invocation.helper), module)
        values = dict(zip(range(len(numbers[count])), numbers[count]))
        arguments = [f"{p}={_literal(values[next(i for i, q in parameter_of.items() if q == p)])}" for p in params]
        arguments += [f"{p}={p}" for p in passed]
        use_attrs = _inner_attrs(use, plans)
        start = None
        for node in use.nodes:
            plan = plans.get(id(node))
            if plan is None or not plan.attr:
                continue
            inner = use_attrs[plan.attr]
            outer_attr = f"{attr}.{inner}"
            plan.regularizers = [line.replace(f"self.{plan.attr}", f"self.{outer_attr}") for line in plan.regularizers]
            plan.init = []
            plan.in_block = True
            plan.attr = outer_attr
            if start is None:
                start = plan
        assert start is not None
        last = next(plans[id(node)] for node in reversed(use.nodes) if plans.get(id(node)) is not None)
        start.block_start = (attr, f"{name}({', '.join(arguments)})", last.layout)
        use_attrs_out.append(attr)
    return block, use_attrs_out


def _roles(plan: LayerPlan | None) -> list[str | None]:
    if plan is None or not plan.attr:
        return []
    return [role for _, role in _numbers(plan.constructor or "")]


def _argument_name(param: str) -> str:
    return param if param.isidentifier() and param != "self" else "x"


def _fresh(name: str, taken: list[str], also: list[str]) -> str:
    if keyword.iskeyword(name) or name in ("self", "x"):
        name += "_"
    candidate, n = name, 1
    while candidate in taken or candidate in also:
        n += 1
        candidate = f"{name}_{n}"
    return candidate


def _fresh_attr(base: str, module: ModulePlan) -> str:
    used = {layer.attr.split(".")[0] for layer in module.layers if layer.attr} | {
        layer.block_start[0] for layer in module.layers if layer.block_start
    }
    used |= {attr for attr, _, _ in module.block_calls.values()}
    n = 0
    while True:
        candidate = base if n == 0 else f"{base}_{n}"
        if candidate not in used:
            return candidate
        n += 1


def _replaced(code: str, replacements: dict[tuple[int, int], str]) -> str:
    lines = code.split("\n")
    for (lineno, col), param in sorted(replacements.items(), reverse=True):
        line = lines[lineno - 1].encode()
        tail = line[col:].decode()
        match = re.match(r"(\d[\d_]*\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)", tail)
        assert match is not None
        lines[lineno - 1] = line[:col].decode() + param + tail[match.end() :]
    return "\n".join(lines)


def _literal(value) -> str:
    return repr(value)


def _doc(helper: str, uses: int) -> str:
    return f"The layers that {uses} calls of `{helper}()` in the Keras script build, as a torch module."


def _outer_forward(module: ModulePlan, graph, names: dict[int, str]) -> None:
    """The outer forward: each block's call where its first layer ran, the other nodes' lines as they were."""
    inside: set[int] = set()
    starts: dict[int, tuple] = {}
    for returned_id, (attr, params, members) in module.block_calls.items():
        inside |= members
        first = next(node for node in graph.nodes if id(node) in members)
        starts[id(first)] = (attr, params, returned_id)
    lines: list[str] = []
    segments = []
    for node, node_lines in module.segments:
        if id(node) in starts:
            attr, params, returned_id = starts[id(node)]
            out = names[returned_id]
            call = [f"{out} = self.{attr}({', '.join(names[id(p)] for p in params)})"]
            lines.extend(call)
            segments.append((node, call))
            continue
        if id(node) in inside:
            segments.append((node, []))
            continue
        lines.extend(node_lines)
        segments.append((node, node_lines))
    lines.extend(module.forward_lines[len([line for _, seg in module.segments for line in seg]) :])
    module.forward_lines = lines
    module.segments = segments
