"""Image augmentation layers: RandomFlip, RandomCrop, RandomRotation, RandomZoom, RandomTranslation,
RandomContrast, RandomBrightness, and Keras 2's RandomHeight and RandomWidth (which Keras 3 removed).

Each becomes a generated module (templates/layers/random_*.py.j2) on Keras's channels-last images:
the identity at inference, as Keras 3.15 is (RandomCrop too: it returns the input uncropped), and
Keras's transform while training, its random draws made by torch (TensorFlow's random stream cannot
be reproduced). The factors are read here with Keras's own rules (a number f is the range (-f, f),
a pair is sorted) and written into the constructor as the ranges the draws use.
"""

from __future__ import annotations

from ..diagnostics import Unsupported
from .conv import check_channels_last
from .dims import Size
from .helpers import Helper
from .model import LayerContext
from .plan import LayerPlan
from .registry import layer

# The Keras classes converted here: `parity --exact` turns them off in training, as it does dropout.

KERAS_UNIFORM = Helper("keras_uniform", "layers/keras_uniform.py.j2")
AFFINE_TRANSFORM = Helper("keras_affine_transform", "layers/keras_affine_transform.py.j2")

_FILL_MODES = ("reflect", "wrap", "constant", "nearest")
_INTERPOLATIONS = ("nearest", "bilinear")


def _helper(
    keras_class: str, template: str, affine: bool = False, extra: tuple[tuple[str, object], ...] = ()
) -> Helper:
    """The layer's generated class, with the names of the generated functions it calls."""
    args: tuple[tuple[str, object], ...] = (("uniform", KERAS_UNIFORM.name), *extra)
    requires: tuple[Helper, ...] = (KERAS_UNIFORM,)
    if affine:
        args += (("affine", AFFINE_TRANSFORM.name),)
        requires += (AFFINE_TRANSFORM,)
    return Helper(keras_class, f"layers/{template}.py.j2", args, requires)


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _range(
    ctx: LayerContext, key: str, index: int, factor: object, bounds: tuple[float, float], open_low: bool = False
) -> tuple[float, float]:
    """Keras's (lower, upper) of a factor: a number f gives (max(-|f|, low), |f|), a pair is sorted.

    ``bounds`` are the layer's (Keras refuses factors outside them: a K2T102 here, at the layer);
    ``open_low``: the low bound itself is refused too (RandomZoom, RandomTranslation: (-1, 1]).
    """
    low, high = bounds
    refused = Unsupported(
        "K2T102",
        f"{ctx.layer.short_name}({key}={factor!r}): Keras refuses it (a number or a pair in [{low}, {high}])",
        ctx.layer.pos,
    )
    if isinstance(factor, (tuple, list)):
        if len(factor) != 2 or not all(_number(f) for f in factor):
            raise refused
        lower, upper = sorted(float(f) for f in factor)
        if open_low and (lower <= low or upper > high):
            raise refused
        if not open_low and (lower > high or upper < low):
            raise refused
        return lower, upper
    if not _number(factor):
        raise refused
    if (open_low and not low < factor <= high) or (not open_low and not low <= factor <= high):
        raise refused
    magnitude = abs(float(factor))
    return (-magnitude if open_low else max(-magnitude, low)), magnitude


def _required(ctx: LayerContext, key: str, index: int) -> object:
    value = ctx.literal(key, index, None)
    if value is None:
        raise Unsupported("K2T102", f"{ctx.layer.short_name} needs {key}= (Keras requires it)", ctx.layer.pos)
    return value


def _images(ctx: LayerContext) -> None:
    """Keras's augmentation layers take batches of (height, width, channels) images, channels last."""
    check_channels_last(ctx)
    if len(ctx.shape) != 3:
        raise Unsupported("K2T102", f"{ctx.layer.short_name} expects (height, width, channels) images", ctx.layer.pos)
    ctx.keras_layout()


def _keywords(ctx: LayerContext, defaults: dict[str, tuple[int, object]]) -> list[str]:
    """``key=value`` for each argument given other than its Keras default, checked where Keras checks it."""
    parts = []
    for key, (index, default) in defaults.items():
        value = ctx.literal(key, index, default)
        if key == "fill_mode" and value not in _FILL_MODES:
            raise Unsupported(
                "K2T102",
                f"{ctx.layer.short_name}(fill_mode={value!r}): Keras takes one of {_FILL_MODES}",
                ctx.layer.pos,
            )
        if key == "interpolation" and value not in _INTERPOLATIONS:
            raise Unsupported(
                "K2T102",
                f"{ctx.layer.short_name}(interpolation={value!r}): Keras takes one of {_INTERPOLATIONS}",
                ctx.layer.pos,
            )
        if key == "fill_value" and not _number(value):
            raise Unsupported("K2T102", f"{ctx.layer.short_name} needs a number as fill_value", ctx.layer.pos)
        if key == "seed" and value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            raise Unsupported("K2T102", f"{ctx.layer.short_name} needs an integer seed", ctx.layer.pos)
        if key == "value_range":
            if not isinstance(value, (tuple, list)) or len(value) != 2 or not all(_number(v) for v in value):
                raise Unsupported(
                    "K2T102",
                    f"{ctx.layer.short_name}(value_range={value!r}): Keras takes a pair of numbers",
                    ctx.layer.pos,
                )
            value = tuple(value)
        if value != default:
            parts.append(f"{key}={_code(value)}")
    return parts


def _code(value: object) -> str:
    """A literal as the generated code spells it (strings in double quotes)."""
    if isinstance(value, str):
        return f'"{value}"'  # one of Keras's fixed mode names
    return repr(value)


def _plan(ctx: LayerContext, helper: Helper, arguments: list[str], comment: str | None = None) -> LayerPlan:
    ctx.helpers.append(helper)
    return LayerPlan(
        keras_class=helper.name,  # the generated class is named after Keras's
        attr=ctx.attr,
        constructor=f"{helper.name}({', '.join(arguments)})" + (f"  # {comment}" if comment else ""),
        forward=[f"x = {ctx.self_attr}(x)"],
        params=0,
    )


_AFFINE = {"fill_mode": "reflect", "interpolation": "bilinear", "seed": None, "fill_value": 0.0}


@layer("RandomFlip")
def convert_random_flip(ctx: LayerContext) -> LayerPlan:
    ctx.check_arguments(("mode", "seed"), {"data_format"})
    _images(ctx)
    mode = ctx.literal("mode", 0, "horizontal_and_vertical")
    if mode not in ("horizontal", "vertical", "horizontal_and_vertical"):
        raise Unsupported(
            "K2T102",
            f"RandomFlip(mode={mode!r}): Keras takes horizontal, vertical or horizontal_and_vertical",
            ctx.layer.pos,
        )
    arguments = [_code(mode)] if mode != "horizontal_and_vertical" else []
    arguments += _keywords(ctx, {"seed": (1, None)})
    return _plan(ctx, _helper("RandomFlip", "random_flip"), arguments)


@layer("RandomCrop")
def convert_random_crop(ctx: LayerContext) -> LayerPlan:
    ctx.check_arguments(("height", "width", "seed"), {"data_format"})
    _images(ctx)
    sizes = []
    for index, key in enumerate(("height", "width")):
        size = _required(ctx, key, index)
        if not isinstance(size, int) or isinstance(size, bool) or size <= 0:
            raise Unsupported("K2T102", f"RandomCrop needs a positive integer {key}", ctx.layer.pos)
        sizes.append(size)
    arguments = [str(size) for size in sizes] + _keywords(ctx, {"seed": (2, None)})
    ctx.shape = [
        Size.of(sizes[0]),
        Size.of(sizes[1]),
        ctx.shape[2],
    ]  # Keras's output shape (its inference output is uncropped)
    return _plan(ctx, _helper("RandomCrop", "random_crop"), arguments)


@layer("RandomRotation")
def convert_random_rotation(ctx: LayerContext) -> LayerPlan:
    ctx.check_arguments(("factor", "fill_mode", "interpolation", "seed", "fill_value"), {"data_format"})
    _images(ctx)
    factor = _required(ctx, "factor", 0)
    lower, upper = _range(ctx, "factor", 0, factor, (-1.0, 1.0))
    degrees = (lower * 360.0, upper * 360.0)
    positions = {
        key: (index, _AFFINE[key])
        for index, key in enumerate(("fill_mode", "interpolation", "seed", "fill_value"), start=1)
    }
    arguments = [repr(degrees), *_keywords(ctx, positions)]
    comment = f"Keras factor={factor!r}: a fraction of a full turn, here in degrees"
    return _plan(ctx, _helper("RandomRotation", "random_rotation", affine=True), arguments, comment)


def _zoom_or_translation(ctx: LayerContext, keras_class: str, width_optional: bool) -> LayerPlan:
    ctx.check_arguments(
        ("height_factor", "width_factor", "fill_mode", "interpolation", "seed", "fill_value"), {"data_format"}
    )
    _images(ctx)
    height = _range(ctx, "height_factor", 0, _required(ctx, "height_factor", 0), (-1.0, 1.0), open_low=True)
    width_factor = ctx.literal("width_factor", 1, None) if width_optional else _required(ctx, "width_factor", 1)
    width = None if width_factor is None else _range(ctx, "width_factor", 1, width_factor, (-1.0, 1.0), open_low=True)
    positions = {
        key: (index, _AFFINE[key])
        for index, key in enumerate(("fill_mode", "interpolation", "seed", "fill_value"), start=2)
    }
    arguments = [repr(height), *([repr(width)] if width is not None else []), *_keywords(ctx, positions)]
    template = "random_zoom" if keras_class == "RandomZoom" else "random_translation"
    return _plan(ctx, _helper(keras_class, template, affine=True), arguments)


@layer("RandomZoom")
def convert_random_zoom(ctx: LayerContext) -> LayerPlan:
    return _zoom_or_translation(ctx, "RandomZoom", width_optional=True)


@layer("RandomTranslation")
def convert_random_translation(ctx: LayerContext) -> LayerPlan:
    return _zoom_or_translation(ctx, "RandomTranslation", width_optional=False)


def _color(
    ctx: LayerContext, keras_class: str, template: str, bounds: tuple[float, float], draw, what: str
) -> LayerPlan:
    ctx.check_arguments(("factor", "value_range", "seed"), {"data_format"})
    _images(ctx)
    factor = _required(ctx, "factor", 0)
    factors = draw(_range(ctx, "factor", 0, factor, bounds))
    arguments = [repr(factors), *_keywords(ctx, {"value_range": (1, (0, 255)), "seed": (2, None)})]
    return _plan(ctx, _helper(keras_class, template), arguments, f"Keras factor={factor!r}{what}")


@layer("RandomContrast")
def convert_random_contrast(ctx: LayerContext) -> LayerPlan:
    # Keras draws the contrast factor from [1 - lower, 1 + upper], the factor's range clipped to [0, 1]:
    # RandomContrast(0.2) only raises contrast, by up to 1.2 (Keras 3.15's rule, kept as it is).
    return _color(
        ctx,
        "RandomContrast",
        "random_contrast",
        (0.0, 1.0),
        lambda r: (1.0 - r[0], 1.0 + r[1]),
        ": the contrast factor's range",
    )


@layer("RandomBrightness")
def convert_random_brightness(ctx: LayerContext) -> LayerPlan:
    return _color(
        ctx, "RandomBrightness", "random_brightness", (-1.0, 1.0), lambda r: r, ": a fraction of value_range's width"
    )


def _height_or_width(ctx: LayerContext, keras_class: str, axis: int) -> LayerPlan:
    """Keras 2's RandomHeight / RandomWidth: factor a number f (the range (-f, f)) or a pair (lower, upper)
    with upper >= lower >= -1, as Keras 2 checks it; bilinear or nearest resizing."""
    ctx.check_arguments(("factor", "interpolation", "seed"), set())
    _images(ctx)
    factor = _required(ctx, "factor", 0)
    pair = tuple(factor) if isinstance(factor, (tuple, list)) else (-factor, factor) if _number(factor) else None
    if pair is None or len(pair) != 2 or not all(_number(f) for f in pair) or pair[1] < pair[0] or min(pair) < -1.0:
        raise Unsupported(
            "K2T102",
            f"{keras_class}(factor={factor!r}): Keras 2 takes a number or a pair (lower, upper), upper >= lower >= -1",
            ctx.layer.pos,
        )
    arguments = [
        repr(float(pair[0])),
        repr(float(pair[1])),
        *_keywords(ctx, {"interpolation": (1, "bilinear"), "seed": (2, None)}),
    ]
    what = "height" if axis == 0 else "width"
    ctx.shape = (
        [None, ctx.shape[1], ctx.shape[2]] if axis == 0 else [ctx.shape[0], None, ctx.shape[2]]
    )  # Keras 2's: unknown
    helper = _helper(keras_class, "random_resize", extra=(("axis", axis), ("what", what), ("keras_class", keras_class)))
    return _plan(ctx, helper, arguments, "Keras 2's layer: Keras 3 has none")


@layer("RandomHeight")
def convert_random_height(ctx: LayerContext) -> LayerPlan:
    return _height_or_width(ctx, "RandomHeight", 0)


@layer("RandomWidth")
def convert_random_width(ctx: LayerContext) -> LayerPlan:
    return _height_or_width(ctx, "RandomWidth", 1)
