"""EinsumDense (see conv.py for the conventions): Keras's kernel and bias shapes, worked out as Keras does.

``keras.layers.EinsumDense`` reads the kernel's shape off the equation: each kernel axis is an output
axis (its size from ``output_shape``) or an input axis (its size from the input); the bias spans the
output axes from the first one ``bias_axes`` names, 1 where it names none. The generated class keeps
both shapes, so weight transfer is a copy; the kernel's fans are the sizes of its input and output axes,
as Keras gives them to its variance-scaling initializers.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from ..diagnostics import Unsupported
from ..ir import Pos
from .activations import activation_name, apply_activation
from .dims import known, static_int
from .helpers import Helper
from .initializers import initializer_lines
from .model import LayerContext
from .plan import LayerPlan
from .registry import layer
from .regularizers import regularizer_terms

# Keras's three equation forms: explicit axes, "..." on the left, "..." on the right of the input.
_FORMS = (
    (re.compile(r"([a-zA-Z]+),([a-zA-Z]+)->([a-zA-Z]+)$"), False),
    (re.compile(r"\.\.\.([a-zA-Z]+),([a-zA-Z]+)->\.\.\.([a-zA-Z]+)$"), True),
    (re.compile(r"([a-zA-Z]{2,})\.\.\.,([a-zA-Z]+)->([a-zA-Z]+)\.\.\.$"), False),
)


@dataclass(frozen=True)
class EinsumShapes:
    kernel: tuple[int, ...]
    bias: tuple[int, ...] | None
    output: tuple[int | None, ...]  # batch excluded
    fan_in: int
    fan_out: int


def einsum_shapes(
    equation: str, bias_axes: str | None, input_shape: list[int | None], output_shape: list[int | None], pos: Pos
) -> EinsumShapes:
    """keras.layers.einsum_dense._analyze_einsum_string for an input of ``input_shape`` (batch excluded)."""

    def refuse(why: str) -> Unsupported:
        return Unsupported("K2T102", f"EinsumDense({equation!r}): {why}", pos)

    for pattern, left_elided in _FORMS:
        match = pattern.match(equation.replace(" ", ""))
        if match:
            break
    else:
        raise refuse("Keras takes equations of the forms ab,bc->ac, ...b,bc->...c and ab...,bc->ac...")
    input_spec, weight_spec, output_spec = match.groups()
    full_input = [None, *input_shape]
    elided = len(full_input) - len(input_spec)
    if elided < 0 or (elided and "..." not in equation):
        raise refuse(f"the input has {len(full_input)} axes, the batch included")
    output = [None, *output_shape]
    if elided and left_elided:
        output[1:1] = full_input[1:elided]
    elif elided:
        output += full_input[len(full_input) - elided :]
    offset = elided if left_elided else 0
    input_axis = {dim: i + offset for i, dim in enumerate(input_spec)}
    output_axis = {dim: i + offset for i, dim in enumerate(output_spec)}
    if len(output) != len(output_spec) + elided:
        raise refuse(f"output_shape {tuple(output_shape)} does not fit the equation's output")
    for dim in output_spec:
        if dim in input_axis:  # an axis the output shares with the input keeps the input's size
            output[output_axis[dim]] = full_input[input_axis[dim]]
        elif dim not in weight_spec:
            raise refuse(f"the output axis {dim!r} is in neither the input nor the kernel")
    kernel, fan_in, fan_out = [], 1, 1
    for dim in weight_spec:
        size = (
            output[output_axis[dim]]
            if dim in output_axis
            else full_input[input_axis[dim]]
            if dim in input_axis
            else None
        )
        if not isinstance(size, int):
            raise refuse(f"k2t needs the size of the kernel axis {dim!r} as a literal")
        kernel.append(size)
        if dim in output_axis:
            fan_out *= size
        else:
            fan_in *= size
    bias = None
    if bias_axes:
        if any(dim not in output_spec for dim in bias_axes):
            raise refuse(f"bias_axes {bias_axes!r} must be output axes")
        first = min(output_spec.find(dim) for dim in bias_axes)
        bias = [output[output_axis[dim]] if dim in bias_axes else 1 for dim in output_spec[first:]]
        if not left_elided:
            bias += [1] * elided
        if not all(isinstance(size, int) for size in bias):
            raise refuse("k2t needs the sizes of the bias axes as literals")
    return EinsumShapes(tuple(kernel), None if bias is None else tuple(bias), tuple(output[1:]), fan_in, fan_out)


def _keras_fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """Keras's fans of a weight with no axes given (initializers.compute_fans): for the bias."""
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


@layer("EinsumDense")
def convert_einsum_dense(ctx: LayerContext) -> LayerPlan:
    ctx.check_arguments(
        ("equation", "output_shape", "activation", "bias_axes"),
        {"kernel_initializer", "bias_initializer", "kernel_regularizer", "bias_regularizer"},
    )
    equation = ctx.literal("equation", 0, None)
    given = ctx.literal("output_shape", 1, None)
    if not isinstance(equation, str) or given is None:
        raise Unsupported("K2T102", "EinsumDense needs a literal equation and output_shape", ctx.layer.pos)
    output_shape = [given] if isinstance(given, int) else list(given) if isinstance(given, (list, tuple)) else None
    if output_shape is None or not all(
        size is None or (isinstance(size, int) and not isinstance(size, bool)) for size in output_shape
    ):
        raise Unsupported(
            "K2T102", f"EinsumDense(output_shape={given!r}) is not translated: k2t takes ints and None", ctx.layer.pos
        )
    bias_axes = ctx.literal("bias_axes", 3, None)
    if bias_axes is not None and not isinstance(bias_axes, str):
        raise Unsupported("K2T102", f"EinsumDense(bias_axes={bias_axes!r}) is not translated", ctx.layer.pos)
    activation = activation_name(ctx.layer.arg(2, "activation"))
    ctx.keras_layout()  # the equation names Keras's (channels-last) axes
    shapes = einsum_shapes(equation, bias_axes, [static_int(size) for size in ctx.shape], output_shape, ctx.layer.pos)
    ctx.helpers.append(Helper("EinsumDense", "layers/einsum_dense.py.j2"))
    args = [f'"{equation}"', repr(shapes.kernel)]
    if shapes.bias is not None:
        args.append(repr(shapes.bias))
    kernel, bias = f"{ctx.self_attr}.kernel", f"{ctx.self_attr}.bias"
    init = initializer_lines(
        ctx.layer.kwarg("kernel_initializer"),
        "glorot_uniform",
        kernel,
        str(shapes.fan_in),
        str(shapes.fan_out),
        torch_fans=False,
    )
    regularizers = regularizer_terms(ctx.layer.kwarg("kernel_regularizer"), kernel)
    params = math.prod(shapes.kernel)
    if shapes.bias is not None:
        fan_in, fan_out = _keras_fans(shapes.bias)
        init += initializer_lines(
            ctx.layer.kwarg("bias_initializer"), "zeros", bias, str(fan_in), str(fan_out), torch_fans=False
        )
        regularizers += regularizer_terms(ctx.layer.kwarg("bias_regularizer"), bias)
        params += math.prod(shapes.bias)
    ctx.shape = known(shapes.output)
    return LayerPlan(
        keras_class="EinsumDense",
        attr=ctx.attr,
        constructor=f"EinsumDense({', '.join(args)})",
        forward=[f"x = {apply_activation(activation, f'{ctx.self_attr}(x)')}"],
        init=init,
        weights="einsum_dense",
        activation=activation,
        regularizers=regularizers,
        params=params,
    )
