"""Preprocessing layers: Normalization, Rescaling, CenterCrop, Resizing (see conv.py for the conventions).

Stateless ones are written inline in ``forward``; Normalization is a generated
module whose statistics come from the constructor or from ``adapt(data)``.
"""

from __future__ import annotations

import ast
import dataclasses
import operator
import struct

from ..diagnostics import Unsupported
from ..ir import KerasCall, Value
from .dims import Size, static_int
from .helpers import Helper
from .layer_objects import LayerObjectPlan, ScriptLayerObjects
from .model import LayerContext, stable
from .plan import LayerPlan
from .registry import layer, layer_object


def normalization_helper(batches: bool) -> Helper:
    """The generated Normalization; ``batches``: its adapt() also takes a tf.data dataset (the script builds one)."""
    return Helper("Normalization", "layers/normalization.py.j2", (("batches", batches),))


def inverse_normalization_helper(batches: bool) -> Helper:
    """invert=True: its own small subclass, so a script without it gets no branch it never takes."""
    return Helper(
        "InverseNormalization", "layers/inverse_normalization.py.j2", requires=(normalization_helper(batches),)
    )


# --------------------------------------------------------------------------- Normalization
def _normalization_arguments(call: KerasCall) -> None:
    """Diagnostics for what the generated Normalization does not reproduce."""
    allowed = ("axis", "mean", "variance", "invert", "name")
    if len(call.args) > 3:
        raise Unsupported(
            "K2T102", f"Normalization: positional argument {call.args[3].code} is not translated", call.args[3].pos
        )
    for key, value in call.kwargs:
        if key not in allowed:
            raise Unsupported("K2T102", f"Normalization({key}=...) is not translated", value.pos)
    invert = call.arg(3, "invert")
    if invert is not None and not (invert.is_literal and isinstance(invert.literal, bool)):
        raise Unsupported(
            "K2T102", f"Normalization(invert={invert.code}): k2t needs a literal True or False here", invert.pos
        )
    axis = call.arg(0, "axis")
    if axis is not None and not axis.is_literal:
        raise Unsupported("K2T102", f"Normalization(axis={axis.code}): k2t needs a literal here", axis.pos)
    mean, variance = call.arg(1, "mean"), call.arg(2, "variance")
    if (mean is None) != (variance is None):
        raise Unsupported("K2T102", "Normalization needs both mean= and variance=, or neither", call.pos)
    if mean is not None and axis is not None and axis.literal not in (-1, None, (-1,), [-1]):
        # Given statistics are aligned with the trailing axes; other axes need the input's rank.
        raise Unsupported(
            "K2T102", f"Normalization(axis={axis.code}) with given mean and variance is not translated", axis.pos
        )


def _normalization_helper(call: KerasCall, batches: bool) -> Helper:
    """The generated class: InverseNormalization for ``invert=True``, which computes mean + x * std."""
    invert = call.arg(3, "invert")
    inverse = invert is not None and invert.literal is True
    return inverse_normalization_helper(batches) if inverse else normalization_helper(batches)


def _keyword_code(call: KerasCall, code_of) -> str:
    """The constructor arguments of the generated Normalization, by keyword."""
    parts = []
    for index, key in enumerate(("axis", "mean", "variance")):
        value = call.arg(index, key)
        if value is not None:
            parts.append(f"{key}={code_of(value, key)}")
    return ", ".join(parts)


@layer("Normalization")
def convert_normalization(ctx: LayerContext) -> LayerPlan:
    _normalization_arguments(ctx.layer)
    ctx.keras_layout()  # the statistics broadcast over Keras's channels-last axes
    helper = _normalization_helper(ctx.layer, batches=False)  # never adapted: built in the model
    given = ctx.layer.arg(1, "mean") is not None
    outside = ctx.outside_module(ctx.layer.bound.var if ctx.layer.bound is not None else "normalizer")
    if outside is not None:
        # Built and adapted where the script builds the layer, which writes its class (normalization_object).
        constructor = outside
    elif not given:
        raise Unsupported(
            "K2T102",
            "Normalization without mean= and variance= gets its statistics from adapt(): "
            "k2t follows `norm = layers.Normalization(); norm.adapt(data)` with `norm` then used in the model",
            ctx.layer.pos,
        )
    else:

        def code_of(value: Value, key: str) -> str:
            # Non-literal statistics are evaluated where the script builds the model.
            value = stable(value)
            return value.code if value.is_literal else ctx.builder.param(value.code, f"{ctx.attr}_{key}")

        constructor = f"{helper.name}({_keyword_code(ctx.layer, code_of)})"
        ctx.helpers.append(helper)
    return LayerPlan(
        keras_class="Normalization",
        attr=ctx.attr,
        constructor=constructor,
        forward=[f"x = {ctx.self_attr}(x)"],
        weights=None if given else "normalization",  # Keras keeps adapted statistics as (non-trainable) weights
        params=0,
    )


@layer_object("Normalization")
def normalization_object(call: KerasCall, script: ScriptLayerObjects) -> LayerObjectPlan:
    """``norm = layers.Normalization(axis=-1)`` used outside a model: ``norm = Normalization(axis=-1)``."""
    # input_shape= only tells the model its input shape; the module itself does not need it.
    call = dataclasses.replace(
        call, kwargs=tuple((k, v) for k, v in call.kwargs if k not in ("input_shape", "input_dim"))
    )
    _normalization_arguments(call)
    return LayerObjectPlan(
        _normalization_helper(call, script.datasets), _keyword_code(call, lambda value, key: value.code)
    )


# --------------------------------------------------------------------------- Rescaling
_OPERATORS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}


def constant_number(value: Value) -> float | None:
    """The number a literal or a constant arithmetic expression (``1./255``) stands for; None otherwise."""
    if value.is_literal:
        literal = value.literal
        return float(literal) if isinstance(literal, (int, float)) and not isinstance(literal, bool) else None

    def fold(node):
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            return node.value
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            inner = fold(node.operand)
            return None if inner is None else (-inner if isinstance(node.op, ast.USub) else inner)
        if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
            left, right = fold(node.left), fold(node.right)
            if left is None or right is None or (isinstance(node.op, ast.Div) and right == 0):
                return None
            return _OPERATORS[type(node.op)](left, right)
        return None

    try:
        tree = ast.parse(value.code.strip(), mode="eval")
    except SyntaxError:
        return None
    folded = fold(tree.body)
    return None if folded is None else float(folded)


def _number_code(value: Value) -> str:
    """The script's own spelling, parenthesised unless it is a plain number."""
    code = value.code.strip()
    return code if value.is_literal else f"({code})"


@layer("Rescaling")
def convert_rescaling(ctx: LayerContext) -> LayerPlan:
    ctx.check_arguments(("scale", "offset"), set())
    scale = ctx.layer.arg(0, "scale")
    offset = ctx.layer.arg(1, "offset")
    if scale is None:
        raise Unsupported("K2T102", "Rescaling needs a scale", ctx.layer.pos)
    for key, value in (("scale", scale), ("offset", offset)):
        if value is not None and constant_number(value) is None:
            raise Unsupported(
                "K2T102",
                f"Rescaling({key}={value.code}): k2t needs a number here (per-channel scales are not translated)",
                value.pos,
            )
    # A scalar scale and offset act the same in any dim order: no permute needed.
    expression = f"x * {_number_code(scale)}"
    shift = constant_number(offset) if offset is not None else 0.0
    if shift:
        expression += f" - {abs(offset.literal)!r}" if offset.is_literal and shift < 0 else f" + {_number_code(offset)}"
    return LayerPlan(
        keras_class="Rescaling",
        attr=None,
        forward=[f"x = {expression}"],
        params=0,
    )


# --------------------------------------------------------------------------- CenterCrop / Resizing
def _image_size(ctx: LayerContext) -> tuple[int, int]:
    if len(ctx.shape) != 3:
        raise Unsupported("K2T102", f"{ctx.layer.short_name} expects (height, width, channels) inputs", ctx.layer.pos)
    height, width = static_int(ctx.shape[0]), static_int(ctx.shape[1])
    if height is None or width is None:
        raise Unsupported("K2T102", f"{ctx.layer.short_name} needs static input sizes", ctx.layer.pos)
    return height, width


def _target_size(ctx: LayerContext) -> tuple[int, int]:
    sizes = []
    for index, key in enumerate(("height", "width")):
        value = ctx.literal(key, index, None)
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise Unsupported("K2T102", f"{ctx.layer.short_name} needs a literal positive {key}", ctx.layer.pos)
        sizes.append(value)
    return sizes[0], sizes[1]


def _check_channels_last(ctx: LayerContext) -> None:
    data_format = ctx.literal("data_format", None, None)
    if data_format not in (None, "channels_last"):
        raise Unsupported(
            "K2T102", f"{ctx.layer.short_name}(data_format={data_format!r}) is not translated", ctx.layer.pos
        )


def _crop_line(ctx: LayerContext, top: int, left: int, height: int, width: int, why: str) -> str:
    """Slice rows and columns in whatever dim order the tensor is in."""
    rows, cols = f"{top}:{top + height}", f"{left}:{left + width}"
    index = f"[:, :, {rows}, {cols}]" if ctx.layout == "channels_first" else f"[:, {rows}, {cols}]"
    return f"x = x{index}  # {why}"


@layer("CenterCrop")
def convert_center_crop(ctx: LayerContext) -> LayerPlan:
    ctx.check_arguments(("height", "width"), {"data_format"})
    _check_channels_last(ctx)
    in_height, in_width = _image_size(ctx)
    height, width = _target_size(ctx)
    if height > in_height or width > in_width:
        raise Unsupported(
            "K2T102",
            f"CenterCrop({height}, {width}) of a {in_height}x{in_width} input (Keras then resizes) is not translated",
            ctx.layer.pos,
        )
    top, left = (in_height - height) // 2, (in_width - width) // 2
    line = _crop_line(
        ctx, top, left, height, width, "Keras CenterCrop: the odd extra row/column is cut at the bottom/right"
    )
    ctx.shape = [Size.of(height), Size.of(width), ctx.shape[2]]
    return LayerPlan(keras_class="CenterCrop", attr=None, forward=[line], params=0)


def _float32(value: float) -> float:
    return struct.unpack("f", struct.pack("f", value))[0]


def aspect_crop(in_height: int, in_width: int, height: int, width: int) -> tuple[int, int, int, int]:
    """TF Resizing(crop_to_aspect_ratio=True)'s crop box (top, left, rows, cols), computed in float32 as TF does."""
    rows = max(min(in_height, int(_float32(_float32(in_width * height) / width))), 1)
    cols = max(min(in_width, int(_float32(_float32(in_height * width) / height))), 1)
    return int(_float32(in_height - rows) / 2), int(_float32(in_width - cols) / 2), rows, cols


# Keras interpolation -> torch F.interpolate arguments that give the same pixels.
_INTERPOLATIONS = {
    "bilinear": 'mode="bilinear", align_corners=False',
    # TF's nearest samples at half-pixel centres, as torch's "nearest-exact" (torch's "nearest" does not).
    "nearest": 'mode="nearest-exact"',
}


@layer("Resizing")
def convert_resizing(ctx: LayerContext) -> LayerPlan:
    ctx.check_arguments(
        (
            "height",
            "width",
            "interpolation",
            "crop_to_aspect_ratio",
            "pad_to_aspect_ratio",
            "fill_mode",
            "fill_value",
            "antialias",
        ),
        {"data_format"},
    )
    _check_channels_last(ctx)
    in_height, in_width = _image_size(ctx)
    height, width = _target_size(ctx)
    interpolation = ctx.literal("interpolation", 2, "bilinear")
    antialias = bool(ctx.literal("antialias", 7, False))
    if interpolation not in _INTERPOLATIONS or (antialias and interpolation != "bilinear"):
        raise Unsupported(
            "K2T102",
            f"Resizing(interpolation={interpolation!r}{', antialias=True' if antialias else ''}) is not translated: "
            "only bilinear (with or without antialias) and nearest match TensorFlow's resize "
            "(torch's bicubic uses a=-0.75 where TensorFlow uses a=-0.5; its area mode differs for non-integer factors)",
            ctx.layer.pos,
        )
    if ctx.literal("pad_to_aspect_ratio", 4, False):
        raise Unsupported("K2T102", "Resizing(pad_to_aspect_ratio=True) is not translated", ctx.layer.pos)
    ctx.channels_first()  # F.interpolate resizes the trailing (spatial) dims
    lines = []
    if ctx.literal("crop_to_aspect_ratio", 3, False):
        top, left, rows, cols = aspect_crop(in_height, in_width, height, width)
        if (rows, cols) != (in_height, in_width):
            lines.append(
                _crop_line(
                    ctx,
                    top,
                    left,
                    rows,
                    cols,
                    "Keras crop_to_aspect_ratio: the centred box of the target's aspect ratio",
                )
            )
    options = _INTERPOLATIONS[interpolation] + (", antialias=True" if antialias else "")
    lines.append(f"x = F.interpolate(x, size=({height}, {width}), {options})")
    ctx.shape = [Size.of(height), Size.of(width), ctx.shape[2]]
    return LayerPlan(keras_class="Resizing", attr=None, forward=lines, params=0)
