"""Convolution layers. Keras is channels-last; the generated module runs them channels-first."""

from __future__ import annotations

from ..diagnostics import Unsupported
from .activations import activation_name, apply_activation
from .initializers import initializer_lines
from .model import LayerContext, static_int
from .plan import LayerPlan
from .registry import layer
from .regularizers import regularizer_terms

CONV_KWARGS = {
    "strides",
    "padding",
    "data_format",
    "dilation_rate",
    "groups",
    "activation",
    "use_bias",
    "kernel_initializer",
    "bias_initializer",
    "kernel_regularizer",
    "bias_regularizer",
}


def tuple_arg(ctx: LayerContext, key: str, index: int | None, default, rank: int) -> tuple[int, ...]:
    """An int-or-tuple Keras argument (kernel_size, strides, ...) as a tuple of ``rank`` ints."""
    value = ctx.literal(key, index, default)
    if isinstance(value, int) and not isinstance(value, bool):
        return (value,) * rank
    if isinstance(value, (tuple, list)) and len(value) == rank and all(isinstance(v, int) for v in value):
        return tuple(value)
    raise Unsupported("K2T102", f"{ctx.layer.short_name}({key}={value!r}) is not translated", ctx.layer.pos)


def check_channels_last(ctx: LayerContext) -> None:
    data_format = ctx.literal("data_format", None, None)
    if data_format not in (None, "channels_last"):
        raise Unsupported("K2T102", f"{ctx.layer.short_name}(data_format={data_format!r}) is not translated", ctx.layer.pos)


def same_padding(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """Keras/TF "same": out = ceil(n/s); the odd extra pad goes after (bottom/right)."""
    out = -(-size // stride)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def conv_output_size(size: str, kernel: int, stride: int, dilation: int, padding: str) -> str:
    """Keras's output length along one spatial axis, as code (an int when ``size`` is static)."""
    n = static_int(size)
    if padding in ("same", "causal") and stride == 1:
        return size
    if padding == "same":
        return str(-(-n // stride)) if n is not None else f"(({size} + {stride - 1}) // {stride})"
    span = dilation * (kernel - 1) + 1
    if n is not None:
        return str((n - span) // stride + 1)
    return f"(({size} - {span}) // {stride} + 1)"


def pad_lines_and_torch_padding(ctx: LayerContext, spatial: list[str], kernel, strides, dilation, padding: str):
    """Forward lines to pad explicitly (if any) and the ``padding=`` of the torch conv."""
    rank = len(kernel)
    if padding == "valid":
        return [], None
    if padding == "causal":
        if rank != 1:
            raise Unsupported("K2T102", "causal padding exists only for Conv1D", ctx.layer.pos)
        left = dilation[0] * (kernel[0] - 1)
        return [f"x = F.pad(x, ({left}, 0))  # causal: pad only the past"], None
    if padding != "same":
        raise Unsupported("K2T102", f"{ctx.layer.short_name}(padding={padding!r}) is not translated", ctx.layer.pos)
    if all(s == 1 for s in strides):
        return [], '"same"'  # torch pads stride-1 "same" exactly as Keras, even kernels included
    sizes = [static_int(n) for n in spatial]
    if any(n is None for n in sizes):
        raise Unsupported("K2T102", "strided 'same' padding needs static input sizes", ctx.layer.pos)
    pads = [same_padding(n, k, s, d) for n, k, s, d in zip(sizes, kernel, strides, dilation)]
    if all(before == after for before, after in pads):
        return [], repr(tuple(before for before, _ in pads)) if rank > 1 else str(pads[0][0])
    flat = tuple(p for before, after in reversed(pads) for p in (before, after))  # F.pad: last dim first
    return [f"x = F.pad(x, {flat})  # Keras 'same' with stride > 1 puts the odd pad after"], None


def _conv(ctx: LayerContext, rank: int) -> LayerPlan:
    ctx.check_arguments(("filters", "kernel_size"), CONV_KWARGS)
    check_channels_last(ctx)
    if len(ctx.shape) != rank + 1:
        raise Unsupported("K2T102", f"{ctx.layer.short_name} expects {rank + 1}-D inputs per sample", ctx.layer.pos)
    filters_value = ctx.layer.arg(0, "filters")
    if filters_value is None:
        raise Unsupported("K2T102", f"{ctx.layer.short_name} needs filters", ctx.layer.pos)
    filters = ctx.size(filters_value, f"{ctx.attr}_filters")
    kernel = tuple_arg(ctx, "kernel_size", 1, None, rank)
    strides = tuple_arg(ctx, "strides", None, 1, rank)
    dilation = tuple_arg(ctx, "dilation_rate", None, 1, rank)
    groups = ctx.literal("groups", None, 1)
    padding = str(ctx.literal("padding", None, "valid")).lower()
    use_bias = ctx.literal("use_bias", None, True)
    activation = activation_name(ctx.layer.kwarg("activation"))
    in_channels = ctx.shape[-1]
    spatial = ctx.shape[:-1]

    ctx.channels_first()
    pad_lines, torch_padding = pad_lines_and_torch_padding(ctx, spatial, kernel, strides, dilation, padding)
    args = [in_channels, filters, _short(kernel)]
    if any(s != 1 for s in strides):
        args.append(f"stride={_short(strides)}")
    if torch_padding is not None:
        args.append(f"padding={torch_padding}")
    if any(d != 1 for d in dilation):
        args.append(f"dilation={_short(dilation)}")
    if groups != 1:
        args.append(f"groups={groups}")
    if not use_bias:
        args.append("bias=False")
    conv = ctx.self_attr
    # torch's xavier/kaiming fans of (out, in/groups, k...) equal Keras's fans of (k..., in/groups, out).
    fan_in = f"{conv}.weight[0].numel()"
    fan_out = f"({conv}.weight.shape[0] * {conv}.weight[0, 0].numel())"
    init = initializer_lines(ctx.layer.kwarg("kernel_initializer"), "glorot_uniform", f"{conv}.weight", fan_in, fan_out)
    if use_bias:
        init += initializer_lines(ctx.layer.kwarg("bias_initializer"), "zeros", f"{conv}.bias", fan_in, fan_out)
    regularizers = regularizer_terms(ctx.layer.kwarg("kernel_regularizer"), f"{conv}.weight")
    if use_bias:
        regularizers += regularizer_terms(ctx.layer.kwarg("bias_regularizer"), f"{conv}.bias")
    out_padding = "valid" if padding == "causal" else padding
    ctx.shape = [
        conv_output_size(n, k, s, d, out_padding if padding != "causal" else "same")
        for n, k, s, d in zip(spatial, kernel, strides, dilation)
    ] + [filters]
    params = None
    if static_int(in_channels) is not None and static_int(filters) is not None:
        k_count = 1
        for k in kernel:
            k_count *= k
        params = k_count * static_int(in_channels) // groups * static_int(filters) + (static_int(filters) if use_bias else 0)
    return LayerPlan(
        keras_class=ctx.layer.short_name,
        attr=ctx.attr,
        constructor=f"nn.Conv{rank}d({', '.join(str(a) for a in args)})",
        forward=pad_lines + [f"x = {apply_activation(activation, f'{conv}(x)')}"],
        init=init,
        weights="conv",
        activation=activation,
        regularizers=regularizers,
        params=params,
    )


def _short(values: tuple[int, ...]) -> str:
    return str(values[0]) if len(set(values)) == 1 else repr(tuple(values))


@layer("Conv1D", "Convolution1D")
def convert_conv1d(ctx: LayerContext) -> LayerPlan:
    return _conv(ctx, 1)


@layer("Conv2D", "Convolution2D")
def convert_conv2d(ctx: LayerContext) -> LayerPlan:
    return _conv(ctx, 2)


@layer("Conv3D", "Convolution3D")
def convert_conv3d(ctx: LayerContext) -> LayerPlan:
    return _conv(ctx, 3)
