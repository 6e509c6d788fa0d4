"""Noise layers that act only in training: SpatialDropout, GaussianNoise, GaussianDropout (plain Dropout is in layers.py)."""

from __future__ import annotations

from ..diagnostics import Unsupported
from .conv import check_channels_last
from .helpers import Helper
from .model import LayerContext
from .plan import LayerPlan
from .registry import layer


def _rate(ctx: LayerContext, key: str) -> float:
    value = ctx.literal(key, 0, None)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise Unsupported("K2T102", f"{ctx.layer.short_name} needs a literal {key}", ctx.layer.pos)
    return value


def _spatial_dropout(ctx: LayerContext, rank: int) -> LayerPlan:
    ctx.check_arguments(("rate",), {"data_format", "seed"} if rank > 1 else {"seed"})
    check_channels_last(ctx)
    if len(ctx.shape) != rank + 1:
        raise Unsupported("K2T102", f"{ctx.layer.short_name} expects {rank + 1}-D inputs per sample", ctx.layer.pos)
    rate = _rate(ctx, "rate")
    # Keras drops whole channels (noise shape (batch, 1..., channels)); torch's DropoutNd
    # does the same on (N, C, spatial...), with the same 1 / (1 - rate) scaling.
    ctx.channels_first()
    return LayerPlan(
        keras_class=f"SpatialDropout{rank}D",
        attr=ctx.attr,
        constructor=f"nn.Dropout{rank}d({rate!r})  # zeroes whole channels, as Keras",
        forward=[f"x = {ctx.self_attr}(x)"],
        params=0,
    )


@layer("SpatialDropout1D")
def convert_spatial_dropout1d(ctx: LayerContext) -> LayerPlan:
    return _spatial_dropout(ctx, 1)


@layer("SpatialDropout2D")
def convert_spatial_dropout2d(ctx: LayerContext) -> LayerPlan:
    return _spatial_dropout(ctx, 2)


@layer("SpatialDropout3D")
def convert_spatial_dropout3d(ctx: LayerContext) -> LayerPlan:
    return _spatial_dropout(ctx, 3)


def _elementwise_noise(ctx: LayerContext, keras_class: str, key: str, template: str) -> LayerPlan:
    """Elementwise: runs in whatever layout the tensor has."""
    ctx.check_arguments((key,), {"seed"})
    amount = _rate(ctx, key)
    ctx.helpers.append(Helper(keras_class, template))
    return LayerPlan(
        keras_class=keras_class,
        attr=ctx.attr,
        constructor=f"{keras_class}({amount!r})",
        forward=[f"x = {ctx.self_attr}(x)"],
        params=0,
    )


@layer("GaussianNoise")
def convert_gaussian_noise(ctx: LayerContext) -> LayerPlan:
    return _elementwise_noise(ctx, "GaussianNoise", "stddev", "layers/gaussian_noise.py.j2")


@layer("GaussianDropout")
def convert_gaussian_dropout(ctx: LayerContext) -> LayerPlan:
    return _elementwise_noise(ctx, "GaussianDropout", "rate", "layers/gaussian_dropout.py.j2")
