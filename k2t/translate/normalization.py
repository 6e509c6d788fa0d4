"""Normalization layers: BatchNormalization, LayerNormalization, GroupNormalization, UnitNormalization
(see conv.py for the conventions).

Keras normalizes over the LAST axis (the channels) by default; torch's
BatchNorm and GroupNorm normalize over dim 1 and LayerNorm over the trailing
dims, so BatchNormalization and GroupNormalization run channels-first and
LayerNormalization channels-last.
"""

from __future__ import annotations

from ..diagnostics import Unsupported
from .dims import product, static_int
from .helpers import Helper
from .initializers import initializer_lines
from .model import LayerContext
from .plan import LayerPlan
from .registry import layer
from .regularizers import regularizer_terms

AFFINE_KWARGS = {"beta_initializer", "gamma_initializer", "beta_regularizer", "gamma_regularizer"}


def _affine_init_and_regularizers(ctx: LayerContext, center: bool, scale: bool) -> tuple[list[str], list[str]]:
    """Keras gamma/beta initializers and regularizers; nothing for the defaults (ones and zeros, as torch's)."""
    module = ctx.self_attr
    init: list[str] = []
    regularizers: list[str] = []
    for present, key, tensor in ((scale, "gamma", "weight"), (center, "beta", "bias")):
        if not present:
            continue
        given = ctx.layer.kwarg(f"{key}_initializer")
        if given is not None:
            init += initializer_lines(given, "ones" if key == "gamma" else "zeros", f"{module}.{tensor}", "1", "1")
        regularizers += regularizer_terms(ctx.layer.kwarg(f"{key}_regularizer"), f"{module}.{tensor}")
    return init, regularizers


@layer("BatchNormalization")
def convert_batch_normalization(ctx: LayerContext) -> LayerPlan:
    ctx.check_arguments(
        ("axis", "momentum", "epsilon", "center", "scale"),
        AFFINE_KWARGS | {"moving_mean_initializer", "moving_variance_initializer", "synchronized"},
    )
    rank = len(ctx.shape) + 1  # with the batch axis
    axis = ctx.literal("axis", 0, -1)
    if isinstance(axis, (list, tuple)) and len(axis) == 1:
        axis = axis[0]
    if not isinstance(axis, int) or isinstance(axis, bool) or axis not in (-1, rank - 1):
        raise Unsupported(
            "K2T102", f"BatchNormalization(axis={axis!r}) over a non-channel axis is not translated", ctx.layer.pos
        )
    if ctx.literal("synchronized", None, False):
        raise Unsupported("K2T102", "BatchNormalization(synchronized=True) is not translated", ctx.layer.pos)
    ctx.channels_first()  # the generated BatchNorm normalises over dim 1, as torch's do
    ctx.helpers.append(Helper("BatchNorm", "layers/batch_norm.py.j2"))
    momentum = ctx.literal("momentum", 1, 0.99)
    epsilon = ctx.literal("epsilon", 2, 1e-3)
    center = ctx.literal("center", 3, True)
    scale = ctx.literal("scale", 4, True)
    features = ctx.features()
    args = [features]
    if momentum != 0.99:
        args.append(f"momentum={momentum!r}")
    if epsilon != 1e-3:
        args.append(f"eps={epsilon!r}")
    if not center:
        args.append("center=False")
    if not scale:
        args.append("scale=False")
    init, regularizers = _affine_init_and_regularizers(ctx, center, scale)
    for key, buffer, default in (("moving_mean", "running_mean", "zeros"), ("moving_variance", "running_var", "ones")):
        given = ctx.layer.kwarg(f"{key}_initializer")
        if given is not None:
            init += initializer_lines(given, default, f"{ctx.self_attr}.{buffer}", "1", "1")
    count = static_int(features)
    return LayerPlan(
        keras_class="BatchNormalization",
        attr=ctx.attr,
        constructor=f"BatchNorm({', '.join(str(a) for a in args)})",
        forward=[f"x = {ctx.self_attr}(x)"],
        init=init,
        weights="batchnorm",
        regularizers=regularizers,
        params=None if count is None else count * (2 + int(center) + int(scale)),
    )


def layer_norm_axes(ctx: LayerContext, value, rank: int) -> list[int]:
    """Keras's axis argument as sorted non-negative axes (batch axis 0), or a K2T102 diagnostic."""
    axes = list(value) if isinstance(value, (list, tuple)) else [value]
    if not axes or not all(isinstance(a, int) and not isinstance(a, bool) and -rank <= a < rank for a in axes):
        raise Unsupported("K2T102", f"{ctx.layer.short_name}(axis={value!r}) is not translated", ctx.layer.pos)
    return sorted({a % rank for a in axes})


@layer("LayerNormalization")
def convert_layer_normalization(ctx: LayerContext) -> LayerPlan:
    ctx.check_arguments(("axis", "epsilon", "center", "scale"), AFFINE_KWARGS)
    rank = len(ctx.shape) + 1
    axes = layer_norm_axes(ctx, ctx.literal("axis", 0, -1), rank)
    if 0 in axes or axes != list(range(rank - len(axes), rank)):
        raise Unsupported(
            "K2T102",
            f"LayerNormalization over axes {axes} is not translated: torch's LayerNorm normalises the trailing axes only",
            ctx.layer.pos,
        )
    epsilon = ctx.literal("epsilon", 1, 1e-3)
    center = ctx.literal("center", 2, True)
    scale = ctx.literal("scale", 3, True)
    if center and not scale:
        raise Unsupported(
            "K2T102",
            "LayerNormalization(scale=False) with center=True is not translated: torch's LayerNorm has no bias-only form",
            ctx.layer.pos,
        )
    ctx.keras_layout()  # normalises Keras's trailing (channels-last) axes
    normalized = ctx.shape[rank - 1 - len(axes) :]
    if None in normalized:
        message = (
            f"LayerNormalization needs the size of the axes it normalises, {axes}, and the input shape leaves one None"
        )
        raise Unsupported("K2T103", message, ctx.layer.pos)
    shape_code = normalized[0].code if len(normalized) == 1 else f"({', '.join(dim.code for dim in normalized)})"
    args = [shape_code, f"eps={epsilon!r}"]
    if not scale:
        args.append("elementwise_affine=False")
    elif not center:
        args.append("bias=False")
    init, regularizers = _affine_init_and_regularizers(ctx, center, scale)
    count = static_int(product(normalized))
    return LayerPlan(
        keras_class="LayerNormalization",
        attr=ctx.attr,
        constructor=f"nn.LayerNorm({', '.join(args)})",
        forward=[
            f"x = {ctx.self_attr}(x)" + ("  # eps: Keras's default 1e-3 (torch's is 1e-5)" if epsilon == 1e-3 else "")
        ],
        init=init,
        weights="layernorm",
        regularizers=regularizers,
        params=None if count is None else count * (int(center) + int(scale)),
    )


@layer("UnitNormalization")
def convert_unit_normalization(ctx: LayerContext) -> LayerPlan:
    ctx.check_arguments(("axis",), set())
    rank = len(ctx.shape) + 1
    axes = layer_norm_axes(ctx, ctx.literal("axis", 0, -1), rank)
    if 0 in axes:
        raise Unsupported("K2T102", "UnitNormalization over the batch axis is not translated", ctx.layer.pos)
    ctx.keras_layout()  # Keras's axes name channels-last dims
    dims = axes[0] if len(axes) == 1 else tuple(axes)
    return LayerPlan(
        keras_class="UnitNormalization",
        attr=None,
        # Keras: x * min(rsqrt(sum(x ** 2)), 1 / 1e-12), which is x / max(norm, 1e-12).
        forward=[f"x = F.normalize(x, dim={dims}, eps=1e-12)"],
        params=0,
    )


@layer("GroupNormalization")
def convert_group_normalization(ctx: LayerContext) -> LayerPlan:
    ctx.check_arguments(("groups", "axis", "epsilon", "center", "scale"), AFFINE_KWARGS)
    rank = len(ctx.shape) + 1
    axis = ctx.literal("axis", 1, -1)
    if isinstance(axis, bool) or axis not in (-1, rank - 1):
        message = (
            f"GroupNormalization(axis={axis!r}) is not translated: k2t normalises groups of the channel (last) axis"
        )
        raise Unsupported("K2T102", message, ctx.layer.arg(1, "axis").pos)
    groups = ctx.literal("groups", 0, 32)
    channels = static_int(ctx.features())
    if channels is None:
        raise Unsupported("K2T103", "GroupNormalization needs the number of channels as a literal size", ctx.layer.pos)
    if groups == -1:
        groups = channels  # Keras's groups=-1: one group per channel (instance normalization)
    if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1 or channels % groups:
        raise Unsupported(
            "K2T102",
            f"GroupNormalization(groups={groups!r}) must divide the {channels} channels (Keras refuses it too)",
            ctx.layer.pos,
        )
    epsilon = ctx.literal("epsilon", 2, 1e-3)
    center = ctx.literal("center", 3, True)
    scale = ctx.literal("scale", 4, True)
    ctx.channels_first()  # torch's group norm takes the channels at dim 1
    eps = f"eps={epsilon!r}"
    if center == scale:
        affine = "" if center else ", affine=False"
        constructor = f"nn.GroupNorm({groups}, {channels}, {eps}{affine})"
    else:
        helper = Helper("GroupNorm", "layers/group_norm.py.j2")
        ctx.helpers.append(helper)
        constructor = f"{helper.name}({groups}, {channels}, {eps}, center={center!r}, scale={scale!r})"
    init, regularizers = _affine_init_and_regularizers(ctx, center, scale)
    return LayerPlan(
        keras_class="GroupNormalization",
        attr=ctx.attr,
        constructor=constructor,
        forward=[
            f"x = {ctx.self_attr}(x)" + ("  # eps: Keras's default 1e-3 (torch's is 1e-5)" if epsilon == 1e-3 else "")
        ],
        init=init,
        weights="layernorm",  # gamma and beta, per channel, as LayerNormalization's
        regularizers=regularizers,
        params=channels * (int(center) + int(scale)),
    )
