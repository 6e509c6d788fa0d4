"""ConvLSTM1D, ConvLSTM2D and ConvLSTM3D: Keras's LSTM whose two products are convolutions.

Keras's cell (keras.src.layers.rnn.conv_lstm.ConvLSTMCell) convolves each step's input with ``kernel``
(``strides``, ``padding``, ``dilation_rate``, plus ``bias``) and the previous output with
``recurrent_kernel`` (stride 1, "same" padding, no dilation), four gate blocks i, f, c, o each, and
updates c and h as an LSTM does. The generated class (``templates/layers/conv_lstm.py.j2``) holds the
two convolutions as torch convs of 4 * filters output channels (the same blocks in the same order),
convolves every step's input at once and loops over the steps for the recurrent part. Its input and
output are channels-last, as Keras's.

``dropout`` / ``recurrent_dropout``: Keras draws one mask per gate, of the shape of a step's input / of the
previous output, once per sequence; each gate block then convolves its own masked input.
"""

from __future__ import annotations

from ..diagnostics import Unsupported
from .activations import activation_name, apply_activation
from .conv import Window, check_channels_last, conv_output_size, tuple_arg
from .dims import static_int
from .helpers import Helper
from .initializers import initializer_lines
from .model import LayerContext
from .plan import LayerPlan
from .registry import layer
from .regularizers import regularizer_terms

_KWARGS = {
    "strides", "padding", "data_format", "dilation_rate", "activation", "recurrent_activation", "use_bias",
    "kernel_initializer", "recurrent_initializer", "bias_initializer", "unit_forget_bias", "kernel_regularizer",
    "recurrent_regularizer", "bias_regularizer", "return_sequences", "go_backwards", "unroll", "seed", "dropout", "recurrent_dropout",
}  # fmt: skip


def _short(values: tuple[int, ...]) -> str:
    return str(values[0]) if len(set(values)) == 1 else repr(tuple(values))


def _window(ctx: LayerContext, rank: int) -> Window:
    check_channels_last(ctx)
    if len(ctx.shape) != rank + 2:
        raise Unsupported(
            "K2T102",
            f"{ctx.layer.short_name} expects (steps, {rank} spatial {'axis' if rank == 1 else 'axes'}, channels) inputs per sample",
            ctx.layer.pos,
        )
    kernel = tuple_arg(ctx, "kernel_size", 1, None, rank)
    strides = tuple_arg(ctx, "strides", None, 1, rank)
    dilation = tuple_arg(ctx, "dilation_rate", None, 1, rank)
    padding = str(ctx.literal("padding", None, "valid")).lower()
    if padding not in ("valid", "same"):
        raise Unsupported("K2T102", f"{ctx.layer.short_name}(padding={padding!r}) is not translated", ctx.layer.pos)
    if padding == "same" and any(s != 1 for s in strides):
        # torch's padding="same" takes stride 1 only (TF pads a strided "same" input by hand).
        raise Unsupported(
            "K2T102", f"{ctx.layer.short_name}(padding='same', strides={strides}) is not translated", ctx.layer.pos
        )
    return Window(kernel, strides, dilation, padding)


def _conv_lstm(ctx: LayerContext, rank: int) -> LayerPlan:
    ctx.check_arguments(("filters", "kernel_size"), _KWARGS)
    window = _window(ctx, rank)
    filters_value = ctx.layer.arg(0, "filters")
    if filters_value is None:
        raise Unsupported("K2T102", f"{ctx.layer.short_name} needs filters", ctx.layer.pos)
    filters = ctx.size(filters_value, f"{ctx.attr}_filters")
    activation = activation_name(ctx.layer.kwarg("activation")) if ctx.layer.kwarg("activation") is not None else "tanh"
    given_gates = ctx.layer.kwarg("recurrent_activation")
    gates = activation_name(given_gates) if given_gates is not None else "sigmoid"
    use_bias = ctx.literal("use_bias", None, True)
    return_sequences = ctx.literal("return_sequences", None, False)
    go_backwards = ctx.literal("go_backwards", None, False)
    rates = {key: _rate(ctx, key) for key in ("dropout", "recurrent_dropout")}
    ctx.keras_layout()
    channels = ctx.features()
    steps, spatial = ctx.shape[0], ctx.shape[1:-1]

    helper = Helper(
        f"KerasConvLSTM{rank}D",
        "layers/conv_lstm.py.j2",
        (
            ("rank", rank),
            ("activation_of", apply_activation(activation, "{x}")),
            ("gate_of", apply_activation(gates, "{x}")),
            ("activation", activation),
            ("recurrent_activation", gates),
            ("dropout", any(rates.values())),
        ),
    )
    # A class per pair of activations and per use of dropout.
    named = f"{_camel(activation)}{_camel(gates)}Gates" if activation != "tanh" or gates != "sigmoid" else ""
    helper = Helper(
        f"KerasConvLSTM{rank}D{named}{'Dropout' if any(rates.values()) else ''}", helper.template, helper.args
    )
    ctx.helpers.append(helper)
    args = [channels, filters, _short(window.kernel)]
    if any(s != 1 for s in window.strides):
        args.append(f"stride={_short(window.strides)}")
    if window.padding == "same":
        args.append('padding="same"')
    if any(d != 1 for d in window.dilation):
        args.append(f"dilation={_short(window.dilation)}")
    if not use_bias:
        args.append("bias=False")
    if return_sequences:
        args.append("return_sequences=True")
    args += [f"{key}={rate!r}" for key, rate in rates.items() if rate]

    module = ctx.self_attr
    kernel, recurrent = f"{module}.input_conv.weight", f"{module}.recurrent_conv.weight"
    # Keras's fans of a (k..., in, 4 * filters) kernel: k * in and k * 4 * filters, torch's of its (4 * filters, in, k...) weight.
    init = initializer_lines(
        ctx.layer.kwarg("kernel_initializer"),
        "glorot_uniform",
        kernel,
        f"{kernel}[0].numel()",
        f"{kernel}.shape[0] * {kernel}[0, 0].numel()",
    )
    init += initializer_lines(
        ctx.layer.kwarg("recurrent_initializer"),
        "orthogonal",
        recurrent,
        f"{recurrent}[0].numel()",
        f"{recurrent}.shape[0] * {recurrent}[0, 0].numel()",
    )
    regularizers = regularizer_terms(ctx.layer.kwarg("kernel_regularizer"), kernel)
    regularizers += regularizer_terms(ctx.layer.kwarg("recurrent_regularizer"), recurrent)
    if use_bias:
        bias = f"{module}.input_conv.bias"
        init += initializer_lines(
            ctx.layer.kwarg("bias_initializer"), "zeros", bias, f"{bias}.numel()", f"{bias}.numel()"
        )
        if ctx.literal("unit_forget_bias", None, True):
            init.append(
                f"nn.init.ones_({bias}[{module}.filters : 2 * {module}.filters])  # Keras's unit_forget_bias: the forget gate starts open"
            )
        regularizers += regularizer_terms(ctx.layer.kwarg("bias_regularizer"), bias)

    forward = ["x = x.flip(1)  # Keras's go_backwards reads the sequence from its end"] if go_backwards else []
    forward.append(f"x = {module}(x)")
    out_spatial = [
        conv_output_size(n, k, s, d, window.padding)
        for n, k, s, d in zip(spatial, window.kernel, window.strides, window.dilation)
    ]
    ctx.shape = [steps, *out_spatial, filters] if return_sequences else [*out_spatial, filters]
    return LayerPlan(
        keras_class=f"ConvLSTM{rank}D",
        attr=ctx.attr,
        constructor=f"{helper.name}({', '.join(str(arg) for arg in args)})",
        forward=forward,
        init=init,
        weights="conv_lstm",
        regularizers=regularizers,
        params=_params(window, static_int(channels), static_int(filters), use_bias),
    )


def _params(window: Window, channels: int | None, filters: int | None, use_bias: bool) -> int | None:
    """Keras's count: kernel (k..., in, 4 * filters), recurrent kernel (k..., filters, 4 * filters), bias (4 * filters)."""
    if channels is None or filters is None:
        return None
    volume = 1
    for size in window.kernel:
        volume *= size
    return volume * (channels + filters) * 4 * filters + (4 * filters if use_bias else 0)


def _rate(ctx: LayerContext, key: str) -> float:
    rate = ctx.literal(key, None, 0.0)
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate < 1:
        raise Unsupported(
            "K2T102",
            f"{ctx.layer.short_name}({key}={rate!r}) is not translated: k2t takes a rate in [0, 1)",
            ctx.layer.pos,
        )
    return rate


def _camel(activation: str) -> str:
    return "".join(part.capitalize() for part in activation.split("_"))


@layer("ConvLSTM1D")
def convert_conv_lstm1d(ctx: LayerContext) -> LayerPlan:
    return _conv_lstm(ctx, 1)


@layer("ConvLSTM2D")
def convert_conv_lstm2d(ctx: LayerContext) -> LayerPlan:
    return _conv_lstm(ctx, 2)


@layer("ConvLSTM3D")
def convert_conv_lstm3d(ctx: LayerContext) -> LayerPlan:
    return _conv_lstm(ctx, 3)
