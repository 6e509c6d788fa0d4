"""Converters for core layers: Dense, activations, Dropout, Flatten (BatchNormalization is in normalization.py)."""

from __future__ import annotations

from ..diagnostics import Unsupported
from .activations import ACTIVATIONS, activation_name, apply_activation, named_activation_function
from .dims import product, static_int
from .initializers import initializer_lines, named_kernel_initializer
from .model import LayerContext, stable
from .plan import LayerPlan
from .registry import layer
from .regularizers import regularizer_terms


@layer("Dense")
def convert_dense(ctx: LayerContext) -> LayerPlan:
    ctx.check_arguments(
        ("units", "activation"),
        {"use_bias", "kernel_initializer", "bias_initializer", "kernel_regularizer", "bias_regularizer"},
    )
    units_value = ctx.layer.arg(0, "units")
    if units_value is None:
        raise Unsupported("K2T102", "Dense needs units", ctx.layer.pos)
    ctx.keras_layout()  # Dense acts on the last axis
    units = ctx.size(units_value, f"{ctx.attr}_units")
    in_features = ctx.features()
    use_bias = ctx.literal("use_bias", None, True)
    linear = ctx.self_attr
    setup: list[str] = []
    given_activation = ctx.layer.arg(1, "activation")
    # `activation=activation`, a parameter of the build function, on a hidden layer (the output's activation decides
    # how the loss reads it): the module keeps the name and applies Keras's activation of that name.
    named_activation = None if ctx.is_last else named_activation_function(given_activation)
    activation = "linear" if named_activation is not None else activation_name(given_activation)
    forward = [f"x = {apply_activation(activation, f'{linear}(x)')}"]
    if named_activation is not None:
        ctx.helpers.append(named_activation)
        stored = _kept_name(ctx, given_activation, "activation", setup)
        forward = [f"x = {named_activation.name}({stored}, {linear}(x))"]
    named = named_kernel_initializer(ctx.layer.kwarg("kernel_initializer"))
    if named is not None:
        # `kernel_initializer=init`, a parameter of the function building the model: the module keeps the name
        # it is given and initialises with it (a grid search over Keras's initializers).
        stored = _kept_name(ctx, ctx.layer.kwarg("kernel_initializer"), "kernel_initializer", setup)
        ctx.helpers.append(named)
        init = [f"{named.name}({stored}, {linear}.weight)"]
    else:
        init = initializer_lines(
            ctx.layer.kwarg("kernel_initializer"),
            "glorot_uniform",
            f"{linear}.weight",
            f"{linear}.in_features",
            f"{linear}.out_features",
        )
    if use_bias:
        init += initializer_lines(
            ctx.layer.kwarg("bias_initializer"),
            "zeros",
            f"{linear}.bias",
            f"{linear}.in_features",
            f"{linear}.out_features",
        )
    regularizers = regularizer_terms(ctx.layer.kwarg("kernel_regularizer"), f"{linear}.weight")
    if use_bias:
        regularizers += regularizer_terms(ctx.layer.kwarg("bias_regularizer"), f"{linear}.bias")
    ctx.shape = ctx.shape[:-1] + [units]
    params = None
    if static_int(in_features) is not None and static_int(units) is not None:
        params = static_int(in_features) * static_int(units) + (static_int(units) if use_bias else 0)
    return LayerPlan(
        keras_class="Dense",
        attr=ctx.attr,
        constructor=f"nn.Linear({in_features}, {units}{'' if use_bias else ', bias=False'})",
        forward=forward,
        setup=setup,
        init=init,
        weights="dense",
        activation=activation,
        regularizers=regularizers,
        params=params,
    )


def _kept_name(ctx: LayerContext, value, role: str, setup: list[str]) -> str:
    """``self.<parameter>_name``: a Keras name the module receives as a constructor parameter (a parameter of the
    build function a grid search sets) and keeps for reset_parameters / forward; set once per module."""
    parameter = ctx.builder.param(value.code.strip(), role)
    if parameter not in ctx.builder.stored:
        ctx.builder.stored.add(parameter)
        setup.append(f"self.{parameter}_name = {parameter}")
    return f"self.{parameter}_name"


@layer("Activation")
def convert_activation(ctx: LayerContext) -> LayerPlan:
    ctx.check_arguments(("activation",), set())
    activation = activation_name(ctx.layer.arg(0, "activation"))
    return _activation_module(ctx, "Activation", activation)


def _activation_module(
    ctx: LayerContext, keras_class: str, activation: str, constructor: str | None = None
) -> LayerPlan:
    module = constructor or ACTIVATIONS[activation].module
    if activation in ("softmax", "log_softmax"):
        ctx.keras_layout()  # over the last (channel) axis
    if module is None:  # no torch module computes it: the expression, written inline
        return LayerPlan(keras_class=keras_class, attr=None, forward=[f"x = {apply_activation(activation)}"], params=0)
    return LayerPlan(
        keras_class=keras_class,
        attr=ctx.attr,
        constructor=module,
        forward=[f"x = {ctx.self_attr}(x)"],
        activation=activation if constructor is None else "linear",
        params=0,
    )


@layer("ReLU")
def convert_relu(ctx: LayerContext) -> LayerPlan:
    ctx.check_arguments(("max_value", "negative_slope", "threshold"), set())
    max_value = ctx.literal("max_value", 0, None)
    slope = ctx.literal("negative_slope", 1, 0.0)
    threshold = ctx.literal("threshold", 2, 0.0)
    for key, value in (("max_value", max_value), ("negative_slope", slope), ("threshold", threshold)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0):
            raise Unsupported("K2T102", f"ReLU({key}={value!r}) is not translated", ctx.layer.pos)
    if slope == 0 and threshold == 0:
        if max_value is None:
            return _activation_module(ctx, "ReLU", "relu")
        if max_value == 6:
            return _activation_module(ctx, "ReLU", "relu6")
        return _activation_module(ctx, "ReLU", "relu", f"nn.Hardtanh(0.0, {float(max_value)!r})")
    if threshold == 0 and max_value is None:
        return _activation_module(ctx, "ReLU", "relu", f"nn.LeakyReLU({float(slope)!r})")
    # Keras's full relu: x above the threshold (capped at max_value), else negative_slope * (x - threshold).
    above = "x" if max_value is None else f"x.clamp(max={float(max_value)!r})"
    shifted = "x" if threshold == 0 else f"(x - {float(threshold)!r})"
    below = "0.0" if slope == 0 else f"{float(slope)!r} * {shifted}"
    arguments = ", ".join(
        f"{key}={value!r}"
        for key, value in (("max_value", max_value), ("negative_slope", slope), ("threshold", threshold))
        if value
    )
    return LayerPlan(
        keras_class="ReLU",
        attr=None,
        forward=[f"x = torch.where(x > {float(threshold)!r}, {above}, {below})  # Keras ReLU({arguments})"],
        params=0,
    )


@layer("LeakyReLU")
def convert_leaky_relu(ctx: LayerContext) -> LayerPlan:
    ctx.check_arguments(("negative_slope",), {"alpha"})
    slope = ctx.literal("negative_slope", 0, None)
    if slope is None:
        slope = ctx.literal("alpha", None, 0.3)  # Keras LeakyReLU layer default slope 0.3 (torch 0.01)
    return _activation_module(ctx, "LeakyReLU", "leaky_relu", f"nn.LeakyReLU({float(slope)!r})")


@layer("ELU")
def convert_elu(ctx: LayerContext) -> LayerPlan:
    ctx.check_arguments(("alpha",), set())
    alpha = ctx.literal("alpha", 0, 1.0)
    return _activation_module(ctx, "ELU", "elu", "nn.ELU()" if alpha == 1.0 else f"nn.ELU({float(alpha)!r})")


@layer("Softmax")
def convert_softmax(ctx: LayerContext) -> LayerPlan:
    ctx.check_arguments(("axis",), set())
    axis = ctx.literal("axis", 0, -1)
    if axis != -1:
        raise Unsupported("K2T102", f"Softmax(axis={axis}) is not translated", ctx.layer.pos)
    return _activation_module(ctx, "Softmax", "softmax")


@layer("PReLU")
def convert_prelu(ctx: LayerContext) -> LayerPlan:
    ctx.check_arguments(("alpha_initializer",), set())
    if len(ctx.shape) != 1:
        raise Unsupported("K2T102", "PReLU on inputs with more than one feature axis is not translated", ctx.layer.pos)
    init = initializer_lines(ctx.layer.arg(0, "alpha_initializer"), "zeros", f"{ctx.self_attr}.weight", "1", "1")
    features = ctx.shape[-1]
    return LayerPlan(
        keras_class="PReLU",
        attr=ctx.attr,
        constructor=f"nn.PReLU({features})",
        forward=[f"x = {ctx.self_attr}(x)"],
        init=init,
        weights="prelu",
        params=static_int(features),
    )


@layer("Dropout")
def convert_dropout(ctx: LayerContext) -> LayerPlan:
    ctx.check_arguments(("rate",), {"seed"})
    given = ctx.layer.arg(0, "rate")
    if given is None:
        raise Unsupported("K2T102", "Dropout needs a rate (Keras requires it)", ctx.layer.pos)
    # A rate the script computes (`Dropout(self.config["dropout"])`, a trial's suggestion): a constructor parameter,
    # read where the script builds the model, as sizes are.
    given = stable(given)
    rate = repr(given.literal) if given.is_literal else ctx.builder.param(given.code, "dropout_rate")
    return LayerPlan(
        keras_class="Dropout",
        attr=ctx.attr,
        constructor=f"nn.Dropout({rate})",
        forward=[f"x = {ctx.self_attr}(x)"],
        params=0,
    )


@layer("Flatten")
def convert_flatten(ctx: LayerContext) -> LayerPlan:
    ctx.check_arguments(("data_format",), set())
    ctx.keras_layout()  # Keras flattens in (height, width, channels) order
    ctx.shape = [product(ctx.shape)]
    return LayerPlan(
        keras_class="Flatten",
        attr=ctx.attr,
        constructor="nn.Flatten()",
        forward=[f"x = {ctx.self_attr}(x)"],
        params=0,
    )


@layer("Identity")
def convert_identity(ctx: LayerContext) -> LayerPlan:
    ctx.check_arguments((), set())
    return LayerPlan(
        keras_class="Identity",
        attr=ctx.attr,
        constructor="nn.Identity()",
        forward=[f"x = {ctx.self_attr}(x)"],
        params=0,
    )
