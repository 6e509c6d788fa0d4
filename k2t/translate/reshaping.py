"""Reshaping layers: padding, cropping and upsampling run channels-first; Reshape, Permute and RepeatVector in Keras's layout.

Generated helper classes avoid Keras's own class names (ReshapeTo, not Reshape):
scripts often import those names, and the helper would have to be renamed.
"""

from __future__ import annotations

from ..diagnostics import Unsupported
from .conv import check_channels_last
from .dims import Size, product
from .helpers import Helper
from .model import LayerContext
from .plan import LayerPlan
from .registry import layer


def _spatial_rank_check(ctx: LayerContext, rank: int) -> None:
    if len(ctx.shape) != rank + 1:
        raise Unsupported("K2T102", f"{ctx.layer.short_name} expects {rank + 1}-D inputs per sample", ctx.layer.pos)


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def edge_pairs(ctx: LayerContext, key: str, default, rank: int) -> list[tuple[int, int]]:
    """A Keras padding/cropping argument as (before, after) per spatial dim.

    1D: an int or (before, after). 2D/3D: an int, one int per dim (both ends),
    or one (before, after) pair per dim.
    """
    value = ctx.literal(key, 0, default)
    if _is_int(value):
        return [(value, value)] * rank
    if isinstance(value, (tuple, list)):
        if rank == 1 and len(value) == 2 and all(_is_int(v) for v in value):
            return [tuple(value)]
        if rank > 1 and len(value) == rank and all(_is_int(v) for v in value):
            return [(v, v) for v in value]
        if len(value) == rank and all(
            isinstance(v, (tuple, list)) and len(v) == 2 and all(_is_int(p) for p in v) for v in value
        ):
            return [tuple(v) for v in value]
    raise Unsupported("K2T102", f"{ctx.layer.short_name}({key}={value!r}) is not translated", ctx.layer.pos)


def _torch_pad_order(pairs: list[tuple[int, int]]) -> str:
    """torch's padding argument: the last dim first, (before, after) each; one int when all are equal."""
    flat = tuple(p for before, after in reversed(pairs) for p in (before, after))
    return str(flat[0]) if len(set(flat)) == 1 else repr(flat)


def _zero_padding(ctx: LayerContext, rank: int, default) -> LayerPlan:
    ctx.check_arguments(("padding", "data_format"), set())
    check_channels_last(ctx)
    _spatial_rank_check(ctx, rank)
    pairs = edge_pairs(ctx, "padding", default, rank)
    ctx.channels_first()  # torch pads the trailing dims: the spatial ones in channels-first
    ctx.shape = [n if n is None else n + (before + after) for n, (before, after) in zip(ctx.shape[:-1], pairs)] + [
        ctx.shape[-1]
    ]
    return LayerPlan(
        keras_class=f"ZeroPadding{rank}D",
        attr=ctx.attr,
        constructor=f"nn.ZeroPad{rank}d({_torch_pad_order(pairs)})",
        forward=[f"x = {ctx.self_attr}(x)"],
        params=0,
    )


@layer("ZeroPadding1D")
def convert_zero_padding1d(ctx: LayerContext) -> LayerPlan:
    return _zero_padding(ctx, 1, 1)


@layer("ZeroPadding2D")
def convert_zero_padding2d(ctx: LayerContext) -> LayerPlan:
    return _zero_padding(ctx, 2, (1, 1))


@layer("ZeroPadding3D")
def convert_zero_padding3d(ctx: LayerContext) -> LayerPlan:
    return _zero_padding(ctx, 3, ((1, 1), (1, 1), (1, 1)))


def _cropping(ctx: LayerContext, rank: int, default) -> LayerPlan:
    ctx.check_arguments(("cropping", "data_format"), set())
    check_channels_last(ctx)
    _spatial_rank_check(ctx, rank)
    pairs = edge_pairs(ctx, "cropping", default, rank)
    ctx.channels_first()
    ctx.helpers.append(Helper("Cropping", "layers/cropping.py.j2"))
    ctx.shape = [n if n is None else n - (before + after) for n, (before, after) in zip(ctx.shape[:-1], pairs)] + [
        ctx.shape[-1]
    ]
    return LayerPlan(
        keras_class=f"Cropping{rank}D",
        attr=ctx.attr,
        constructor=f"Cropping({tuple(tuple(p) for p in pairs)!r})",
        forward=[f"x = {ctx.self_attr}(x)"],
        params=0,
    )


@layer("Cropping1D")
def convert_cropping1d(ctx: LayerContext) -> LayerPlan:
    return _cropping(ctx, 1, (1, 1))


@layer("Cropping2D")
def convert_cropping2d(ctx: LayerContext) -> LayerPlan:
    return _cropping(ctx, 2, ((0, 0), (0, 0)))


@layer("Cropping3D")
def convert_cropping3d(ctx: LayerContext) -> LayerPlan:
    return _cropping(ctx, 3, ((1, 1), (1, 1), (1, 1)))


def _up_sampling(ctx: LayerContext, rank: int, interpolation: str = "nearest") -> LayerPlan:
    _spatial_rank_check(ctx, rank)
    size = ctx.literal("size", 0, 2 if rank == 1 else (2,) * rank)
    if _is_int(size) and rank > 1:
        size = (size,) * rank
    elif _is_int(size):
        size = (size,)
    if not (isinstance(size, (tuple, list)) and len(size) == rank and all(_is_int(s) and s > 0 for s in size)):
        raise Unsupported("K2T102", f"{ctx.layer.short_name}(size={size!r}) is not translated", ctx.layer.pos)
    factor = str(size[0]) if len(set(size)) == 1 else repr(tuple(size))
    ctx.channels_first()
    if interpolation == "nearest":
        # Keras repeats every cell (ops.repeat). For integer factors 'nearest-exact' is that
        # repetition for every factor; plain 'nearest' rounds wrongly at some (41, 47, ...).
        constructor = (
            f'nn.Upsample(scale_factor={factor}, mode="nearest-exact")'
            '  # repeats each cell as Keras does; exact for every integer factor, unlike mode="nearest"'
        )
    elif interpolation == "bilinear":
        constructor = (
            f'nn.Upsample(scale_factor={factor}, mode="bilinear", align_corners=False)'
            "  # half-pixel centres, as tf.image.resize"
        )
    else:
        raise Unsupported(
            "K2T102", f"{ctx.layer.short_name}(interpolation={interpolation!r}) is not translated", ctx.layer.pos
        )
    ctx.shape = [n if n is None else n * s for n, s in zip(ctx.shape[:-1], size)] + [ctx.shape[-1]]
    return LayerPlan(
        keras_class=f"UpSampling{rank}D",
        attr=ctx.attr,
        constructor=constructor,
        forward=[f"x = {ctx.self_attr}(x)"],
        params=0,
    )


@layer("UpSampling1D")
def convert_up_sampling1d(ctx: LayerContext) -> LayerPlan:
    ctx.check_arguments(("size",), set())
    return _up_sampling(ctx, 1)


@layer("UpSampling2D")
def convert_up_sampling2d(ctx: LayerContext) -> LayerPlan:
    ctx.check_arguments(("size", "data_format", "interpolation"), set())
    check_channels_last(ctx)
    return _up_sampling(ctx, 2, str(ctx.literal("interpolation", 2, "nearest")).lower())


@layer("UpSampling3D")
def convert_up_sampling3d(ctx: LayerContext) -> LayerPlan:
    ctx.check_arguments(("size", "data_format"), set())
    check_channels_last(ctx)
    return _up_sampling(ctx, 3)


def _target_shape(ctx: LayerContext) -> list[Size | None]:
    """Reshape's target sizes; None for the one -1 Keras infers."""
    value = ctx.layer.arg(0, "target_shape")
    if value is None:
        raise Unsupported("K2T102", "Reshape needs target_shape", ctx.layer.pos)
    if value.elements is None:
        raise Unsupported("K2T102", f"Reshape(target_shape={value.code}) must be written as a tuple", value.pos)
    dims = []
    for i, element in enumerate(value.elements):
        if element.is_literal and element.literal == -1:
            dims.append(None)
        else:
            dims.append(ctx.size(element, f"{ctx.attr}_dim_{i}"))
    if dims.count(None) > 1:
        raise Unsupported("K2T102", "Reshape with more than one -1 is not valid Keras", value.pos)
    return dims


def _tuple_code(dims: list[Size | None]) -> str:
    """Reshape's target as a tuple display, -1 where Keras infers the size."""
    codes = ["-1" if dim is None else dim.code for dim in dims]
    return f"({codes[0]},)" if len(codes) == 1 else f"({', '.join(codes)})"


@layer("Reshape")
def convert_reshape(ctx: LayerContext) -> LayerPlan:
    ctx.check_arguments(("target_shape",), set())
    target = _target_shape(ctx)
    ctx.keras_layout()  # Keras reshapes in channels-last element order
    input_shape = ctx.shape
    if None in target:
        total, known_total = product(input_shape), product([d for d in target if d is not None])
        inferred = None if total is None or known_total is None else total // known_total
        ctx.shape = [inferred if d is None else d for d in target]
    else:
        ctx.shape = list(target)
    if len(target) == 1:
        constructor = "nn.Flatten()"
    elif len(input_shape) == 1:
        constructor = f"nn.Unflatten(1, {_tuple_code(target)})"
    else:
        ctx.helpers.append(Helper("ReshapeTo", "layers/reshape.py.j2"))
        constructor = f"ReshapeTo({_tuple_code(target)})"
    return LayerPlan(
        keras_class="Reshape",
        attr=ctx.attr,
        constructor=constructor,
        forward=[f"x = {ctx.self_attr}(x)"],
        params=0,
    )


@layer("Permute")
def convert_permute(ctx: LayerContext) -> LayerPlan:
    ctx.check_arguments(("dims",), set())
    dims = ctx.literal("dims", 0, None)
    if not (isinstance(dims, (tuple, list)) and sorted(dims) == list(range(1, len(ctx.shape) + 1))):
        raise Unsupported("K2T102", f"Permute(dims={dims!r}) is not translated", ctx.layer.pos)
    ctx.keras_layout()  # Keras's dims number the channels-last layout
    ctx.helpers.append(Helper("PermuteDims", "layers/permute.py.j2"))
    ctx.shape = [ctx.shape[d - 1] for d in dims]
    return LayerPlan(
        keras_class="Permute",
        attr=ctx.attr,
        constructor=f"PermuteDims({tuple(dims)!r})",
        forward=[f"x = {ctx.self_attr}(x)"],
        params=0,
    )


@layer("RepeatVector")
def convert_repeat_vector(ctx: LayerContext) -> LayerPlan:
    ctx.check_arguments(("n",), set())
    value = ctx.layer.arg(0, "n")
    if value is None:
        raise Unsupported("K2T102", "RepeatVector needs n", ctx.layer.pos)
    if len(ctx.shape) != 1:
        raise Unsupported("K2T102", "RepeatVector expects 1-D inputs per sample", ctx.layer.pos)
    n = ctx.size(value, f"{ctx.attr}_n")
    ctx.helpers.append(Helper("RepeatAsSteps", "layers/repeat_vector.py.j2"))
    ctx.shape = [n, ctx.shape[0]]
    return LayerPlan(
        keras_class="RepeatVector",
        attr=ctx.attr,
        constructor=f"RepeatAsSteps({n})",
        forward=[f"x = {ctx.self_attr}(x)"],
        params=0,
    )
