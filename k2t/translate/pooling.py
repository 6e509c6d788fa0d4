"""Pooling layers. Keras pools channels-last; the generated module pools channels-first with torch's pooling modules.

Keras/TF "same" pooling uses the convolution rule of trap 5 (out = ceil(n/s),
the odd pad after) and never lets a padded cell count: max pooling ignores it
(-inf padding), average pooling divides each window by its real cells only.
"""

from __future__ import annotations

from ..diagnostics import Unsupported
from .conv import check_channels_last, conv_output_size, same_padding, tuple_arg, tuple_code
from .dims import Size, static_int
from .helpers import Helper
from .model import LayerContext
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


def same_pool_padding(ctx: LayerContext, spatial: list[str], pool, strides) -> list[tuple[str, str]]:
    """(before, after) per spatial dim for Keras "same" pooling, as code.

    An axis of static size (or stride 1, where the padding is k - 1 for every
    size) pads by constants; a strided axis whose size is a constructor
    parameter pads by ``*same_padding(x.shape[d], k, s)``, computed in forward
    (the pair is then the starred call and "").
    """
    pads: list[tuple[str, str]] = []
    for axis, (size, k, s) in enumerate(zip(spatial, pool, strides)):
        n = static_int(size)
        if n is None and s != 1:
            helper = Helper("same_padding", "layers/same_padding.py.j2")
            ctx.helpers.append(helper)
            pads.append((f"*{helper.name}(x.shape[{axis + 2}], {k}, {s})", ""))
        else:
            before, after = same_padding(n if n is not None else s, k, s, 1)  # stride 1: the same for every size
            pads.append((str(before), str(after)))
    return pads


def torch_pad_order(pads: list[tuple[str, str]]) -> str:
    """F.pad's order, as code: the last dim first, (before, after) each."""
    return tuple_code([p for before, after in reversed(pads) for p in (before, after) if p])


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
    constructor = f"{pool_class}({', '.join(args)})"
    forward = [f"x = {ctx.self_attr}(x)"]
    if padding == "same":
        pads = same_pool_padding(ctx, spatial, pool, strides)
        if all(before == after for before, after in pads):  # even padding (or none): torch's own
            if any(before != "0" for before, _ in pads):
                args.append(f"padding={_short(tuple(int(before) for before, _ in pads))}")
                if mode == "max":
                    constructor = (
                        f"{pool_class}({', '.join(args)})  # torch pads with -inf: padding never wins, as in Keras"
                    )
                else:
                    args.append("count_include_pad=False")
                    constructor = (
                        f"{pool_class}({', '.join(args)})  # Keras's 'same' average divides by the real cells only"
                    )
        elif mode == "max":
            forward.insert(
                0,
                f'x = F.pad(x, {torch_pad_order(pads)}, value=float("-inf"))'
                "  # Keras 'same' puts the odd pad after; -inf never wins the max",
            )
        else:
            ctx.helpers.append(Helper("AvgPoolSame", "layers/avg_pool_same.py.j2"))
            constructor = f"AvgPoolSame({constructor})"
            forward = [f"x = {ctx.self_attr}(x, {torch_pad_order(pads)})  # Keras 'same' puts the odd pad after"]
    ctx.shape = [conv_output_size(n, k, s, 1, padding) for n, k, s in zip(spatial, pool, strides)] + [ctx.shape[-1]]
    return LayerPlan(keras_class=keras_class, attr=ctx.attr, constructor=constructor, forward=forward, params=0)


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
    ctx.shape = [Size.of(1)] * rank + [ctx.shape[-1]] if keepdims else [ctx.shape[-1]]
    return LayerPlan(
        keras_class=f"Global{KERAS_CLASS[mode]}{rank}D",
        attr=ctx.attr,
        constructor=f"{name}(keepdim=True)" if keepdims else f"{name}()",
        forward=[f"x = {ctx.self_attr}(x)"],
        params=0,
    )


@layer("GlobalAveragePooling1D", "GlobalAvgPool1D")
def convert_global_average_pooling1d(ctx: LayerContext) -> LayerPlan:
    mask = ctx.mask.take()
    if mask is not None:  # after Embedding(mask_zero=True) or Masking: the mean of the unmasked steps
        from .recurrent import masked_global_average

        return masked_global_average(ctx, mask)
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
