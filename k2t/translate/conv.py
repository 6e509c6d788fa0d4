"""Convolution layers. Keras is channels-last; the generated module runs them channels-first.

One converter per Keras family: Conv1D/2D/3D, Conv1D/2D/3DTranspose,
DepthwiseConv1D/2D and SeparableConv1D/2D. They share the sliding-window
arguments (kernel_size, strides, padding, dilation_rate), Keras's "same"
padding (trap 5) and the initializer/regularizer machinery.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..diagnostics import Unsupported
from .activations import activation_name, apply_activation
from .dims import Dim, Size, static_int
from .helpers import Helper
from .initializers import initializer_lines
from .model import LayerContext
from .plan import LayerPlan
from .registry import KERAS_CLASS, layer
from .regularizers import regularizer_terms

_WINDOW_KWARGS = {
    "strides",
    "padding",
    "data_format",
    "dilation_rate",
    "activation",
    "use_bias",
    "bias_initializer",
    "bias_regularizer",
}
CONV_KWARGS = _WINDOW_KWARGS | {"groups", "kernel_initializer", "kernel_regularizer"}
CONV_TRANSPOSE_KWARGS = _WINDOW_KWARGS | {"output_padding", "kernel_initializer", "kernel_regularizer"}
DEPTHWISE_KWARGS = _WINDOW_KWARGS | {"depth_multiplier", "depthwise_initializer", "depthwise_regularizer"}
SEPARABLE_KWARGS = DEPTHWISE_KWARGS | {"pointwise_initializer", "pointwise_regularizer"}


def tuple_arg(
    ctx: LayerContext, key: str, index: int | None, default, rank: int, allow_zero: bool = False
) -> tuple[int, ...]:
    """An int-or-tuple Keras argument (kernel_size, strides, ...) as a tuple of ``rank`` ints.

    Keras's own check (``standardize_tuple``): every value > 0, or >= 0 where ``allow_zero`` (output_padding).
    """
    value = ctx.literal(key, index, default)
    if isinstance(value, int) and not isinstance(value, bool):
        values = (value,) * rank
    elif (
        isinstance(value, (tuple, list))
        and len(value) == rank
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    ):
        values = tuple(value)
    else:
        raise Unsupported("K2T102", f"{ctx.layer.short_name}({key}={value!r}) is not translated", ctx.layer.pos)
    smallest = 0 if allow_zero else 1
    if any(v < smallest for v in values):
        bound = ">= 0" if allow_zero else "> 0"
        raise Unsupported(
            "K2T102", f"{ctx.layer.short_name}({key}={value!r}): Keras needs every value {bound}", ctx.layer.pos
        )
    return values


def check_channels_last(ctx: LayerContext) -> None:
    data_format = ctx.literal("data_format", None, None)
    if data_format not in (None, "channels_last"):
        raise Unsupported(
            "K2T102", f"{ctx.layer.short_name}(data_format={data_format!r}) is not translated", ctx.layer.pos
        )


def same_padding(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """Keras/TF "same": out = ceil(n/s); the odd extra pad goes after (bottom/right)."""
    out = -(-size // stride)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def conv_output_size(size: Dim, kernel: int, stride: int, dilation: int, padding: str) -> Dim:
    """Keras's output length along one spatial axis (None when ``size`` is None)."""
    if size is None:
        return None
    if padding in ("same", "causal"):
        return size if stride == 1 else (size + (stride - 1)) // stride  # ceil(n / s)
    span = dilation * (kernel - 1) + 1
    if stride == 1:
        return size - (span - 1)
    return (size - span) // stride + 1


def pad_lines_and_torch_padding(ctx: LayerContext, spatial: list[Dim], kernel, strides, dilation, padding: str):
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
        return _runtime_same_padding(ctx, sizes, kernel, strides, dilation), None
    pads = [same_padding(n, k, s, d) for n, k, s, d in zip(sizes, kernel, strides, dilation)]
    if all(before == after for before, after in pads):
        return [], _short(tuple(before for before, _ in pads))
    flat = tuple(p for before, after in reversed(pads) for p in (before, after))  # F.pad: last dim first
    return [f"x = F.pad(x, {flat})  # Keras 'same' with stride > 1 puts the odd pad after"], None


def _runtime_same_padding(ctx: LayerContext, sizes: list[int | None], kernel, strides, dilation) -> list[str]:
    """Strided "same" padding of inputs whose size is a constructor parameter: computed from x.shape in forward."""
    helper = Helper("same_padding", "layers/same_padding.py.j2")
    ctx.helpers.append(helper)
    pads = []
    for axis in reversed(range(len(kernel))):  # F.pad: last dim first
        n, k, s, d = sizes[axis], kernel[axis], strides[axis], dilation[axis]
        if n is not None or s == 1:
            before, after = same_padding(n if n is not None else s, k, s, d)  # stride 1: the same for every size
            pads += [str(before), str(after)]
        else:
            pads.append(f"*{helper.name}(x.shape[{axis + 2}], {k}, {s}{f', {d}' if d != 1 else ''})")
    return [f"x = F.pad(x, {tuple_code(pads)})  # Keras 'same' with stride > 1: the odd pad goes after"]


def tuple_code(items: list[str]) -> str:
    """A tuple display of ``items`` (code): one item needs its comma, `(*pads,)` (`(*pads)` is no Python)."""
    return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"


@dataclass(frozen=True)
class Window:
    """The sliding-window arguments every Keras convolution takes, per spatial axis."""

    kernel: tuple[int, ...]
    strides: tuple[int, ...]
    dilation: tuple[int, ...]
    padding: str  # "valid", "same" or "causal"

    def torch_args(self, torch_padding: str | None) -> list[str]:
        """``stride=``, ``padding=`` and ``dilation=`` of the torch conv, where not torch's default."""
        args = []
        if any(s != 1 for s in self.strides):
            args.append(f"stride={_short(self.strides)}")
        if torch_padding is not None:
            args.append(f"padding={torch_padding}")
        if any(d != 1 for d in self.dilation):
            args.append(f"dilation={_short(self.dilation)}")
        return args

    def output_shape(self, spatial: list[Dim]) -> list[Dim]:
        return [
            conv_output_size(n, k, s, d, self.padding)
            for n, k, s, d in zip(spatial, self.kernel, self.strides, self.dilation)
        ]

    def kernel_volume(self) -> int:
        volume = 1
        for k in self.kernel:
            volume *= k
        return volume


def _window(ctx: LayerContext, rank: int, kernel_index: int, paddings: tuple[str, ...]) -> Window:
    """Read kernel_size/strides/dilation_rate/padding and check the input is a rank-``rank`` feature map."""
    check_channels_last(ctx)
    if len(ctx.shape) != rank + 1:
        raise Unsupported("K2T102", f"{ctx.layer.short_name} expects {rank + 1}-D inputs per sample", ctx.layer.pos)
    kernel = tuple_arg(ctx, "kernel_size", kernel_index, None, rank)
    strides = tuple_arg(ctx, "strides", None, 1, rank)
    dilation = tuple_arg(ctx, "dilation_rate", None, 1, rank)
    padding = str(ctx.literal("padding", None, "valid")).lower()
    if padding not in paddings:
        raise Unsupported("K2T102", f"{ctx.layer.short_name}(padding={padding!r}) is not translated", ctx.layer.pos)
    return Window(kernel, strides, dilation, padding)


def _filters(ctx: LayerContext) -> Size:
    value = ctx.layer.arg(0, "filters")
    if value is None:
        raise Unsupported("K2T102", f"{ctx.layer.short_name} needs filters", ctx.layer.pos)
    return ctx.size(value, f"{ctx.attr}_filters")


def _positive_int(ctx: LayerContext, key: str, default: int) -> int:
    value = ctx.literal(key, None, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise Unsupported("K2T102", f"{ctx.layer.short_name}({key}={value!r}) is not translated", ctx.layer.pos)
    return value


def _conv_fans(weight: str) -> tuple[str, str]:
    """Keras's fans of a conv kernel, read off the torch weight (out, in / groups, k...).

    Keras: fan_in = k * in / groups, fan_out = k * out from its (k..., in / groups, out) kernel:
    the same numbers torch's xavier/kaiming compute from the weight.
    """
    return f"{weight}[0].numel()", f"({weight}.shape[0] * {weight}[0, 0].numel())"


def _bias_lines(ctx: LayerContext, module: str) -> tuple[list[str], list[str]]:
    """Initialisation and regularizer terms of ``module.bias`` (Keras's fans of a 1-D bias are its length)."""
    fan = f"{module}.bias.numel()"
    init = initializer_lines(ctx.layer.kwarg("bias_initializer"), "zeros", f"{module}.bias", fan, fan)
    return init, regularizer_terms(ctx.layer.kwarg("bias_regularizer"), f"{module}.bias")


def _depthwise_init(ctx: LayerContext, weight: str, depth_multiplier: int) -> list[str]:
    """Initialise a depthwise weight (in * dm, 1, k...) with the fans Keras computes from (k..., in, dm).

    Keras: fan_in = k * in, fan_out = k * dm. Seen as (dm, in, 1, k...), the
    torch weight has exactly those fans for torch's xavier/kaiming.
    """
    split = (
        f"{weight}.transpose(0, 1)"
        if depth_multiplier == 1
        else f"{weight}.unflatten(0, (-1, {depth_multiplier})).transpose(0, 1)"
    )
    lines = [f"kernel = {split}  # the fans of Keras's depthwise kernel (k..., in, multiplier): k * in, k * multiplier"]
    fan_in, fan_out = _conv_fans("kernel")
    return lines + initializer_lines(
        ctx.layer.kwarg("depthwise_initializer"), "glorot_uniform", "kernel", fan_in, fan_out
    )


def _activation_forward(ctx: LayerContext, call: str) -> tuple[str, str]:
    """The layer's Keras activation and the forward line applying it to the channels-first ``call``."""
    activation = activation_name(ctx.layer.kwarg("activation"))
    line = f"x = {apply_activation(activation, call)}"
    if activation in ("softmax", "log_softmax"):
        line = line.replace("dim=-1", "dim=1") + "  # Keras's softmax is over the channels: dim 1 here"
    return activation, line


# ----------------------------------------------------------------------------- Conv1D/2D/3D


def _conv(ctx: LayerContext, rank: int) -> LayerPlan:
    ctx.check_arguments(("filters", "kernel_size"), CONV_KWARGS)
    window = _window(ctx, rank, 1, ("valid", "same", "causal") if rank == 1 else ("valid", "same"))
    filters = _filters(ctx)
    groups = _positive_int(ctx, "groups", 1)
    use_bias = ctx.literal("use_bias", None, True)
    in_channels = ctx.features()  # torch needs the channels; the spatial sizes may be None
    spatial = ctx.shape[:-1]

    ctx.channels_first()
    pad_lines, torch_padding = pad_lines_and_torch_padding(
        ctx, spatial, window.kernel, window.strides, window.dilation, window.padding
    )
    args = [in_channels, filters, _short(window.kernel), *window.torch_args(torch_padding)]
    if groups != 1:
        args.append(f"groups={groups}")
    if not use_bias:
        args.append("bias=False")
    conv = ctx.self_attr
    fan_in, fan_out = _conv_fans(f"{conv}.weight")
    init = initializer_lines(ctx.layer.kwarg("kernel_initializer"), "glorot_uniform", f"{conv}.weight", fan_in, fan_out)
    regularizers = regularizer_terms(ctx.layer.kwarg("kernel_regularizer"), f"{conv}.weight")
    if use_bias:
        bias_init, bias_regularizers = _bias_lines(ctx, conv)
        init += bias_init
        regularizers += bias_regularizers
    ctx.shape = window.output_shape(spatial) + [filters]
    params = None
    if static_int(in_channels) is not None and static_int(filters) is not None:
        params = window.kernel_volume() * static_int(in_channels) // groups * static_int(filters) + (
            static_int(filters) if use_bias else 0
        )
    activation, forward = _activation_forward(ctx, f"{conv}(x)")
    return LayerPlan(
        keras_class=KERAS_CLASS.get(ctx.layer.short_name, ctx.layer.short_name),
        attr=ctx.attr,
        constructor=f"nn.Conv{rank}d({', '.join(str(a) for a in args)})",
        forward=pad_lines + [forward],
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


# ----------------------------------------------------------------------------- Conv1D/2D/3DTranspose


def transpose_cropping(
    kernel: int, stride: int, dilation: int, padding: str, output_padding: int | None
) -> tuple[int, int, int]:
    """(torch padding, torch output_padding, extra crop at the end) of one axis of a Keras ConvTranspose.

    torch's full output is F = (n - 1) * s + (k - 1) * d + 1; Keras's length L
    differs from F by an amount that does not depend on n. TF crops F - L
    like its "same" convolution pads: the odd extra element at the end
    (trap 6). torch's ``padding`` crops both ends equally and its
    ``output_padding`` extends the end, so an odd crop leaves one element to
    cut off the end.
    """
    span = (kernel - 1) * dilation + 1
    if padding == "valid":
        # Keras: L = (n - 1) * s + span + output_padding, output_padding defaulting to max(span, s) - span.
        delta = output_padding if output_padding is not None else max(span, stride) - span
    elif output_padding is None:
        delta = stride - span  # Keras: L = n * s
    else:
        delta = span % 2 + output_padding - span  # Keras: L = (n - 1) * s + span % 2 + output_padding
    if delta >= 0:
        return 0, delta, 0
    before = -delta // 2
    return before, 0, -delta - 2 * before


def _conv_transpose(ctx: LayerContext, rank: int) -> LayerPlan:
    ctx.check_arguments(("filters", "kernel_size"), CONV_TRANSPOSE_KWARGS)
    window = _window(ctx, rank, 1, ("valid", "same"))
    filters = _filters(ctx)
    output_padding = ctx.literal("output_padding", None, None)
    if output_padding is not None:
        output_padding = tuple_arg(ctx, "output_padding", None, None, rank, allow_zero=True)
    use_bias = ctx.literal("use_bias", None, True)
    in_channels = ctx.features()  # torch needs the channels; the spatial sizes may be None
    spatial = ctx.shape[:-1]

    ctx.channels_first()
    axes = [
        transpose_cropping(k, s, d, window.padding, None if output_padding is None else output_padding[i])
        for i, (k, s, d) in enumerate(zip(window.kernel, window.strides, window.dilation))
    ]
    pads, extras, crops = (tuple(axis[i] for axis in axes) for i in range(3))
    args = [in_channels, filters, _short(window.kernel), *window.torch_args(_short(pads) if any(pads) else None)]
    if any(extras):
        args.append(f"output_padding={_short(extras)}")
    if not use_bias:
        args.append("bias=False")
    if any(crops):
        # Keras crops the odd extra element at the end of the axis; torch's padding crops both ends equally.
        helper = Helper(f"SameConvTranspose{rank}d", "layers/same_conv_transpose.py.j2", (("rank", rank),))
        ctx.helpers.append(helper)
        args.append(f"crop_end={crops!r}")
        constructor = f"{helper.name}({', '.join(str(a) for a in args)})"
    else:
        constructor = f"nn.ConvTranspose{rank}d({', '.join(str(a) for a in args)})"

    conv = ctx.self_attr
    # torch's (in, out, k...) weight has the fans Keras computes from its (k..., out, in) kernel: k * out and k * in.
    fan_in, fan_out = _conv_fans(f"{conv}.weight")
    init = initializer_lines(ctx.layer.kwarg("kernel_initializer"), "glorot_uniform", f"{conv}.weight", fan_in, fan_out)
    regularizers = regularizer_terms(ctx.layer.kwarg("kernel_regularizer"), f"{conv}.weight")
    if use_bias:
        bias_init, bias_regularizers = _bias_lines(ctx, conv)
        init += bias_init
        regularizers += bias_regularizers
    ctx.shape = [
        _transpose_output_size(n, k, s, d, pad, extra, crop)
        for n, k, s, d, pad, extra, crop in zip(
            spatial, window.kernel, window.strides, window.dilation, pads, extras, crops
        )
    ] + [filters]
    params = None
    if static_int(in_channels) is not None and static_int(filters) is not None:
        params = window.kernel_volume() * static_int(in_channels) * static_int(filters) + (
            static_int(filters) if use_bias else 0
        )
    activation, forward = _activation_forward(ctx, f"{conv}(x)")
    return LayerPlan(
        keras_class=KERAS_CLASS.get(ctx.layer.short_name, ctx.layer.short_name),
        attr=ctx.attr,
        constructor=constructor,
        forward=[forward],
        init=init,
        weights="conv_transpose",
        activation=activation,
        regularizers=regularizers,
        params=params,
    )


def _transpose_output_size(size: Dim, kernel: int, stride: int, dilation: int, pad: int, extra: int, crop: int) -> Dim:
    """(n - 1) * s + (k - 1) * d + 1 - 2 * padding + output_padding - crop (None when ``size`` is None)."""
    if size is None:
        return None
    offset = (kernel - 1) * dilation + 1 - 2 * pad + extra - crop - stride  # the length is n * s + offset
    return size * stride + offset


@layer("Conv1DTranspose", "Convolution1DTranspose")
def convert_conv1d_transpose(ctx: LayerContext) -> LayerPlan:
    return _conv_transpose(ctx, 1)


@layer("Conv2DTranspose", "Convolution2DTranspose")
def convert_conv2d_transpose(ctx: LayerContext) -> LayerPlan:
    return _conv_transpose(ctx, 2)


@layer("Conv3DTranspose", "Convolution3DTranspose")
def convert_conv3d_transpose(ctx: LayerContext) -> LayerPlan:
    return _conv_transpose(ctx, 3)


# ----------------------------------------------------------------------------- DepthwiseConv1D/2D


def _depthwise(ctx: LayerContext, rank: int) -> LayerPlan:
    ctx.check_arguments(("kernel_size",), DEPTHWISE_KWARGS)
    window = _window(ctx, rank, 0, ("valid", "same"))
    depth_multiplier = _positive_int(ctx, "depth_multiplier", 1)
    use_bias = ctx.literal("use_bias", None, True)
    in_channels = ctx.features()  # torch needs the channels; the spatial sizes may be None
    spatial = ctx.shape[:-1]
    out_channels = in_channels * depth_multiplier

    ctx.channels_first()
    pad_lines, torch_padding = pad_lines_and_torch_padding(
        ctx, spatial, window.kernel, window.strides, window.dilation, window.padding
    )
    args = [
        in_channels,
        out_channels,
        _short(window.kernel),
        *window.torch_args(torch_padding),
        f"groups={in_channels}",
    ]
    if not use_bias:
        args.append("bias=False")
    conv = ctx.self_attr
    init = _depthwise_init(ctx, f"{conv}.weight", depth_multiplier)
    regularizers = regularizer_terms(ctx.layer.kwarg("depthwise_regularizer"), f"{conv}.weight")
    if use_bias:
        bias_init, bias_regularizers = _bias_lines(ctx, conv)
        init += bias_init
        regularizers += bias_regularizers
    ctx.shape = window.output_shape(spatial) + [out_channels]
    params = None
    if static_int(out_channels) is not None:
        params = window.kernel_volume() * static_int(out_channels) + (static_int(out_channels) if use_bias else 0)
    activation, forward = _activation_forward(ctx, f"{conv}(x)")
    multiplier = f"its {depth_multiplier} filters" if depth_multiplier > 1 else "its own filter"
    return LayerPlan(
        keras_class=KERAS_CLASS.get(ctx.layer.short_name, ctx.layer.short_name),
        attr=ctx.attr,
        constructor=f"nn.Conv{rank}d({', '.join(str(a) for a in args)})  # depthwise: each input channel with {multiplier}",
        forward=pad_lines + [forward],
        init=init,
        weights="depthwise_conv",
        activation=activation,
        regularizers=regularizers,
        params=params,
    )


@layer("DepthwiseConv1D")
def convert_depthwise_conv1d(ctx: LayerContext) -> LayerPlan:
    return _depthwise(ctx, 1)


@layer("DepthwiseConv2D")
def convert_depthwise_conv2d(ctx: LayerContext) -> LayerPlan:
    return _depthwise(ctx, 2)


# ----------------------------------------------------------------------------- SeparableConv1D/2D


def _separable(ctx: LayerContext, rank: int) -> LayerPlan:
    ctx.check_arguments(("filters", "kernel_size"), SEPARABLE_KWARGS)
    window = _window(ctx, rank, 1, ("valid", "same"))
    filters = _filters(ctx)
    depth_multiplier = _positive_int(ctx, "depth_multiplier", 1)
    use_bias = ctx.literal("use_bias", None, True)
    in_channels = ctx.features()  # torch needs the channels; the spatial sizes may be None
    spatial = ctx.shape[:-1]

    ctx.channels_first()
    pad_lines, torch_padding = pad_lines_and_torch_padding(
        ctx, spatial, window.kernel, window.strides, window.dilation, window.padding
    )
    helper = Helper(f"SeparableConv{rank}d", "layers/separable_conv.py.j2", (("rank", rank),))
    ctx.helpers.append(helper)
    args = [in_channels, filters, _short(window.kernel)]
    if depth_multiplier != 1:
        args.append(f"depth_multiplier={depth_multiplier}")
    args += window.torch_args(torch_padding)
    if not use_bias:
        args.append("bias=False")
    conv = ctx.self_attr
    depthwise, pointwise = f"{conv}.depthwise", f"{conv}.pointwise"
    init = _depthwise_init(ctx, f"{depthwise}.weight", depth_multiplier)
    fan_in, fan_out = _conv_fans(f"{pointwise}.weight")
    init += initializer_lines(
        ctx.layer.kwarg("pointwise_initializer"), "glorot_uniform", f"{pointwise}.weight", fan_in, fan_out
    )
    regularizers = regularizer_terms(ctx.layer.kwarg("depthwise_regularizer"), f"{depthwise}.weight")
    regularizers += regularizer_terms(ctx.layer.kwarg("pointwise_regularizer"), f"{pointwise}.weight")
    if use_bias:
        bias_init, bias_regularizers = _bias_lines(ctx, pointwise)
        init += bias_init
        regularizers += bias_regularizers
    ctx.shape = window.output_shape(spatial) + [filters]
    params = None
    if static_int(in_channels) is not None and static_int(filters) is not None:
        middle = static_int(in_channels) * depth_multiplier
        params = (
            window.kernel_volume() * middle + middle * static_int(filters) + (static_int(filters) if use_bias else 0)
        )
    activation, forward = _activation_forward(ctx, f"{conv}(x)")
    return LayerPlan(
        keras_class=KERAS_CLASS.get(ctx.layer.short_name, ctx.layer.short_name),
        attr=ctx.attr,
        constructor=f"{helper.name}({', '.join(str(a) for a in args)})",
        forward=pad_lines + [forward],
        init=init,
        weights="separable_conv",
        activation=activation,
        regularizers=regularizers,
        params=params,
    )


@layer("SeparableConv1D", "SeparableConvolution1D")
def convert_separable_conv1d(ctx: LayerContext) -> LayerPlan:
    return _separable(ctx, 1)


@layer("SeparableConv2D", "SeparableConvolution2D")
def convert_separable_conv2d(ctx: LayerContext) -> LayerPlan:
    return _separable(ctx, 2)
