"""Pooling layers. Keras pools channels-last; the generated module pools channels-first with torch's pooling modules.

Keras/TF "same" pooling uses the convolution rule of trap 5 (out = ceil(n/s),
the odd pad after) and never lets a padded cell count: max pooling ignores it
(-inf padding), average pooling divides each window by its real cells only.
"""

from __future__ import annotations

from ..diagnostics import Unsupported
from .conv import check_channels_last, conv_output_size, same_padding, tuple_arg
from .helpers import Helper
from .model import LayerContext, static_int
from .plan import LayerPlan
from .registry import layer

POOL_ARGUMENTS = ("pool_size", "strides", "padding", "data_format")

# Keras MaxPooling has pool_size 2 by default; Keras 3 AveragePooling has no default.
DEFAULT_POOL_SIZE = {"max": 2, "average": None}
TORCH_POOL = {"max": "MaxPool", "average": "AvgPool"}
KERAS_CLASS = {"max": "MaxPooling", "average": "AveragePooling"}


def _spatial_rank_check(ctx: LayerContext, rank: int) -> None:
    if len(ctx.shape) != rank + 1:
        raise Unsupported("K2T102", f"{ctx.layer.short_name} expects {rank + 1}-D inputs per sample", ctx.layer.pos)


def _short(values: tuple[int, ...]) -> str:
    return str(values[0]) if len(set(values)) == 1 else repr(tuple(values))


def same_pool_padding(ctx: LayerContext, spatial: list[str], pool, strides) -> list[tuple[int, int]]:
    """(before, after) per spatial dim for Keras "same" pooling; stride 1 needs no static size."""
    pads = []
    for size, k, s in zip(spatial, pool, strides):
        if s == 1:
            pads.append(((k - 1) // 2, k - 1 - (k - 1) // 2))  # same as same_padding: total = k - 1 for any n
            continue
        n = static_int(size)
        if n is None:
            raise Unsupported("K2T102", "strided 'same' pooling needs static input sizes", ctx.layer.pos)
        pads.append(same_padding(n, k, s, 1))
    return pads


def torch_pad_order(pads: list[tuple[int, int]]) -> tuple[int, ...]:
    """F.pad's order: the last dim first, (before, after) each."""
    return tuple(p for before, after in reversed(pads) for p in (before, after))


def _pool(ctx: LayerContext, rank: int, mode: str) -> LayerPlan:
    ctx.check_arguments(POOL_ARGUMENTS, set())
    check_channels_last(ctx)
    _spatial_rank_check(ctx, rank)
    keras_class = f"{KERAS_CLASS[mode]}{rank}D"
    pool = tuple_arg(ctx, "pool_size", 0, DEFAULT_POOL_SIZE[mode], rank)
    strides = pool if ctx.literal("strides", 1, None) is None else tuple_arg(ctx, "strides", 1, None, rank)
    padding = str(ctx.literal("padding", 2, "valid")).lower()
    if padding not in ("valid", "same"):
        raise Unsupported("K2T102", f"{ctx.layer.short_name}(padding={padding!r}) is not translated", ctx.layer.pos)
    spatial = ctx.shape[:-1]

    ctx.channels_first()
    pool_class = f"nn.{TORCH_POOL[mode]}{rank}d"
    args = [_short(pool)]
    if strides != pool:
        args.append(f"stride={_short(strides)}")
    forward = []
    constructor = f"{pool_class}({', '.join(args)})"
    if padding == "same":
        pads = same_pool_padding(ctx, spatial, pool, strides)
        symmetric = all(before == after for before, after in pads)
        if symmetric and any(before for before, _ in pads):
            args.append(f"padding={_short(tuple(before for before, _ in pads))}")
            if mode == "max":
                constructor = f"{pool_class}({', '.join(args)})  # torch pads with -inf: padding never wins, as in Keras"
            else:
                args.append("count_include_pad=False")
                constructor = f"{pool_class}({', '.join(args)})  # Keras's 'same' average divides by the real cells only"
        elif not symmetric and mode == "max":
            forward.append(
                f"x = F.pad(x, {torch_pad_order(pads)}, value=float(\"-inf\"))"
                "  # Keras 'same' puts the odd pad after; -inf never wins the max"
            )
        elif not symmetric:
            ctx.helpers.append(Helper("AvgPoolSame", "layers/avg_pool_same.py.j2"))
            constructor = f"AvgPoolSame({pool_class}({', '.join(args)}), padding={torch_pad_order(pads)})"
    ctx.shape = [conv_output_size(n, k, s, 1, padding) for n, k, s in zip(spatial, pool, strides)] + [ctx.shape[-1]]
    return LayerPlan(
        keras_class=keras_class,
        attr=ctx.attr,
        constructor=constructor,
        forward=forward + [f"x = {ctx.self_attr}(x)"],
        params=0,
    )


@layer("MaxPooling1D", "MaxPool1D")
def convert_max_pooling1d(ctx: LayerContext) -> LayerPlan:
    return _pool(ctx, 1, "max")


@layer("MaxPooling2D", "MaxPool2D")
def convert_max_pooling2d(ctx: LayerContext) -> LayerPlan:
    return _pool(ctx, 2, "max")


@layer("MaxPooling3D", "MaxPool3D")
def convert_max_pooling3d(ctx: LayerContext) -> LayerPlan:
    return _pool(ctx, 3, "max")


@layer("AveragePooling1D", "AvgPool1D")
def convert_average_pooling1d(ctx: LayerContext) -> LayerPlan:
    return _pool(ctx, 1, "average")


@layer("AveragePooling2D", "AvgPool2D")
def convert_average_pooling2d(ctx: LayerContext) -> LayerPlan:
    return _pool(ctx, 2, "average")


@layer("AveragePooling3D", "AvgPool3D")
def convert_average_pooling3d(ctx: LayerContext) -> LayerPlan:
    return _pool(ctx, 3, "average")


GLOBAL_HELPERS = {"average": "GlobalAveragePooling", "max": "GlobalMaxPooling"}


def _global_pool(ctx: LayerContext, rank: int, mode: str) -> LayerPlan:
    ctx.check_arguments(("data_format", "keepdims"), set())
    check_channels_last(ctx)
    _spatial_rank_check(ctx, rank)
    keepdims = ctx.literal("keepdims", 1, False)
    if not isinstance(keepdims, bool):
        raise Unsupported("K2T102", f"{ctx.layer.short_name}(keepdims={keepdims!r}) is not translated", ctx.layer.pos)
    ctx.channels_first()
    name = GLOBAL_HELPERS[mode]
    ctx.helpers.append(Helper(name, "layers/global_pooling.py.j2", (("mode", mode),)))
    ctx.shape = ["1"] * rank + [ctx.shape[-1]] if keepdims else [ctx.shape[-1]]
    return LayerPlan(
        keras_class=f"Global{KERAS_CLASS[mode]}{rank}D",
        attr=ctx.attr,
        constructor=f"{name}(keepdim=True)" if keepdims else f"{name}()",
        forward=[f"x = {ctx.self_attr}(x)"],
        params=0,
    )


@layer("GlobalAveragePooling1D", "GlobalAvgPool1D")
def convert_global_average_pooling1d(ctx: LayerContext) -> LayerPlan:
    return _global_pool(ctx, 1, "average")


@layer("GlobalAveragePooling2D", "GlobalAvgPool2D")
def convert_global_average_pooling2d(ctx: LayerContext) -> LayerPlan:
    return _global_pool(ctx, 2, "average")


@layer("GlobalAveragePooling3D", "GlobalAvgPool3D")
def convert_global_average_pooling3d(ctx: LayerContext) -> LayerPlan:
    return _global_pool(ctx, 3, "average")


@layer("GlobalMaxPooling1D", "GlobalMaxPool1D")
def convert_global_max_pooling1d(ctx: LayerContext) -> LayerPlan:
    return _global_pool(ctx, 1, "max")


@layer("GlobalMaxPooling2D", "GlobalMaxPool2D")
def convert_global_max_pooling2d(ctx: LayerContext) -> LayerPlan:
    return _global_pool(ctx, 2, "max")


@layer("GlobalMaxPooling3D", "GlobalMaxPool3D")
def convert_global_max_pooling3d(ctx: LayerContext) -> LayerPlan:
    return _global_pool(ctx, 3, "max")
