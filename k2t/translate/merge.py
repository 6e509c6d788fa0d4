"""Merge layers of the Functional API: Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, Dot."""

from __future__ import annotations

from dataclasses import dataclass

from ..diagnostics import Unsupported
from ..ir import KerasCall
from .dims import Dim, Size


@dataclass
class MergeInput:
    var: str  # the forward variable holding the tensor
    shape: list[Dim]  # Keras's shape, batch excluded
    layout: str


@dataclass
class MergeResult:
    lines: list[str]  # assign the result to `{out}`
    shape: list[Dim]
    layout: str


def _to_keras(inputs: list[MergeInput]) -> tuple[list[str], list[str]]:
    """Expressions of the inputs in Keras's dim order."""
    exprs = []
    for item in inputs:
        if item.layout == "channels_first" and len(item.shape) >= 2:
            rank = len(item.shape) + 1
            exprs.append(f"{item.var}.permute{(0, *range(2, rank), 1)}")
        else:
            exprs.append(item.var)
    return exprs, list(inputs[0].shape)


def _elementwise(inputs: list[MergeInput]) -> tuple[list[str], str]:
    layouts = {item.layout for item in inputs}
    if len(layouts) == 1:
        return [item.var for item in inputs], inputs[0].layout
    exprs, _ = _to_keras(inputs)
    return exprs, "keras"


def convert_merge(layer: KerasCall, inputs: list[MergeInput], out: str) -> MergeResult:
    kind = layer.short_name
    allowed = (
        {"name"} | ({"axis"} if kind == "Concatenate" else set()) | ({"axes", "normalize"} if kind == "Dot" else set())
    )
    for key, value in layer.kwargs:
        if key not in allowed:
            raise Unsupported("K2T102", f"{kind}({key}=...) is not translated", value.pos)
    if layer.args and kind not in ("Concatenate", "Dot"):
        raise Unsupported("K2T102", f"{kind}: positional arguments are not translated", layer.pos)
    if len(inputs) < 2:
        raise Unsupported("K2T102", f"{kind} needs at least two tensors", layer.pos)
    shape = list(inputs[0].shape)
    if kind in ("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"):
        if kind == "Subtract" and len(inputs) != 2:
            raise Unsupported("K2T102", "Subtract takes exactly two tensors", layer.pos)
        exprs, layout = _elementwise(inputs)
        if kind == "Add":
            expr = " + ".join(exprs)
        elif kind == "Subtract":
            expr = f"{exprs[0]} - {exprs[1]}"
        elif kind == "Multiply":
            expr = " * ".join(exprs)
        elif kind == "Average":
            expr = f"({' + '.join(exprs)}) / {len(exprs)}"
        else:
            function = "torch.maximum" if kind == "Maximum" else "torch.minimum"
            expr = exprs[0]
            for other in exprs[1:]:
                expr = f"{function}({expr}, {other})"
        return MergeResult([f"{out} = {expr}"], shape, layout)
    if kind == "Concatenate":
        axis_value = layer.arg(0, "axis")
        axis = -1 if axis_value is None else axis_value.literal
        if not isinstance(axis, int):
            raise Unsupported("K2T102", "Concatenate(axis=...) must be a literal integer", layer.pos)
        exprs, _ = _to_keras(inputs)
        rank = len(shape)
        position = axis - 1 if axis > 0 else rank + axis  # index into the batch-less shape
        if not 0 <= position < rank:
            raise Unsupported("K2T102", f"Concatenate(axis={axis}) is out of range", layer.pos)
        total = _sum([item.shape[position] for item in inputs])
        shape[position] = total
        return MergeResult([f"{out} = torch.cat([{', '.join(exprs)}], dim={axis})"], shape, "keras")
    if kind == "Dot":
        if len(inputs) != 2 or any(len(item.shape) != 1 for item in inputs):
            raise Unsupported("K2T102", "Dot is translated for two (batch, features) tensors", layer.pos)
        axes_value = layer.arg(0, "axes")
        axes = axes_value.literal if axes_value is not None else None
        if axes not in (1, -1, (1, 1), [1, 1], (-1, -1), [-1, -1]):
            raise Unsupported("K2T102", f"Dot(axes={axes!r}) is not translated", layer.pos)
        normalize = layer.kwarg("normalize")
        a, b = inputs[0].var, inputs[1].var
        lines = []
        if normalize is not None and normalize.literal is True:
            # Keras l2-normalises both sides first (a cosine proximity); its epsilon floor is 1e-12 on the squared norm.
            a, b = f"F.normalize({a}, dim=-1, eps=1e-6)", f"F.normalize({b}, dim=-1, eps=1e-6)"
        lines.append(f"{out} = ({a} * {b}).sum(dim=-1, keepdim=True)")
        return MergeResult(lines, [Size.of(1)], "keras")
    raise Unsupported("K2T101", f"layer keras.layers.{kind} is not translated", layer.pos)


def _sum(sizes: list[Dim]) -> Dim:
    if any(size is None for size in sizes):
        return None  # Concatenate along an axis the input shape leaves open
    total = sizes[0]
    for size in sizes[1:]:
        total = total + size
    return total


MERGE_LAYERS = frozenset({"Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot"})
