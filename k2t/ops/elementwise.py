"""Elementwise math: unary functions, arithmetic, comparisons, logic, clipping."""

from __future__ import annotations

import math
from collections.abc import Callable

from .spec import Bound, Op, is_atomic, p

NAME = p("name", "None", ignored=True)
X = p("x")


def _unary(torch: str, *names: str, note: str = "", x: str = "x") -> Op:
    """One function of one tensor under all its names: ``(x, name=None)`` for TensorFlow's."""
    params = (p(x), NAME) if any(name.startswith("tensorflow.") for name in names) else (p(x),)
    return Op(names[0], params, f"{torch}({{{x}}})", note, aliases=names[1:])


def _binary(torch: str, *names: str, x: str = "x", y: str = "y", note: str = "") -> Op:
    params = (p(x), p(y), NAME) if any(name.startswith("tensorflow.") for name in names) else (p(x), p(y))
    return Op(names[0], params, f"{torch}({{{x}}}, {{{y}}})", note, aliases=names[1:])


def _is_number(code: str) -> bool:
    """A numeric literal (``1e-07``, ``-0.5``); not ``nan``, ``inf`` or a name float() would also read."""
    try:
        value = float(code)
    except ValueError:
        return False
    return math.isfinite(value) and not code.strip().lower().lstrip("+-").startswith(("nan", "inf"))


def _extremum(torch_binary: str, bound_name: str, x: str, y: str) -> Callable[[Bound], str]:
    """torch.maximum takes two tensors; ``K.maximum(x, K.epsilon())`` has a number: torch.clamp then."""

    def template(bound: Bound) -> str:
        if _is_number(bound[y]):
            return f"torch.clamp({{{x}}}, {bound_name}={{{y}}})"
        if _is_number(bound[x]):
            return f"torch.clamp({{{y}}}, {bound_name}={{{x}}})"
        return f"{torch_binary}({{{x}}}, {{{y}}})"

    return template


def _extremum_op(name: str, torch_binary: str, bound_name: str, *aliases: str, x: str = "x", y: str = "y") -> Op:
    params = (p(x), p(y), NAME) if any(n.startswith("tensorflow.") for n in (name, *aliases)) else (p(x), p(y))
    note = "torch.maximum/minimum take two tensors: with a number on one side the translation is torch.clamp"
    return Op(name, params, _extremum(torch_binary, bound_name, x, y), note, aliases=aliases)


def _keras_clip(bound: Bound) -> str:
    """K.clip(x, lo, hi): with literal numbers and hi < lo, Keras clips to lo (torch.clamp would give hi)."""
    low, high = bound["min_value"], bound["max_value"]
    if _is_number(low) and _is_number(high) and float(high) < float(low):
        return "torch.clamp({x}, {min_value}, {min_value})"
    if bound.is_none("min_value"):
        return "torch.clamp({x}, max={max_value})"
    if bound.is_none("max_value"):
        return "torch.clamp({x}, min={min_value})"
    return "torch.clamp({x}, {min_value}, {max_value})"


def _divide_no_nan(x: str, y: str) -> Callable[[Bound], str]:
    def template(bound: Bound) -> str:
        # The inner where keeps the gradient finite where y == 0, as TensorFlow's is (0, not NaN).
        if not is_atomic(bound[y]):
            raise bound.fail(
                f"argument `{y}` is used twice in the translation; k2t needs it to be a name, not `{bound[y]}`"
            )
        return f"torch.where({{({y})}} == 0, 0.0, {{({x})}} / torch.where({{({y})}} == 0, 1.0, {{{y}}}))"

    return template


TRUE_DIV = "true division: TensorFlow divides int32 to float64, torch to float32"
FLOOR = "floor division, rounding toward -inf as Python's //, for ints and floats (torch.floor_divide floors)"

ROWS: tuple[Op, ...] = (
    _unary(
        "torch.abs", "keras.backend.abs", "tensorflow.abs", "tensorflow.math.abs", "keras.ops.abs", "keras.ops.absolute"
    ),
    _unary("torch.square", "keras.backend.square", "tensorflow.square", "tensorflow.math.square", "keras.ops.square"),
    Op(
        "keras.backend.sqrt",
        (X,),
        "torch.sqrt(torch.clamp({x}, min=0.0))",
        "K.sqrt clips negatives to 0 before the root (0, not NaN)",
    ),
    _unary("torch.sqrt", "tensorflow.sqrt", "tensorflow.math.sqrt", "keras.ops.sqrt"),
    _unary("torch.rsqrt", "tensorflow.math.rsqrt", "keras.ops.rsqrt"),
    _unary("torch.exp", "keras.backend.exp", "tensorflow.exp", "tensorflow.math.exp", "keras.ops.exp"),
    _unary("torch.log", "keras.backend.log", "tensorflow.math.log", "keras.ops.log"),
    _unary("torch.log1p", "tensorflow.math.log1p", "keras.ops.log1p"),
    _unary("torch.expm1", "tensorflow.math.expm1", "keras.ops.expm1"),
    _unary("torch.sign", "keras.backend.sign", "tensorflow.sign", "tensorflow.math.sign", "keras.ops.sign"),
    _unary(
        "torch.round",
        "keras.backend.round",
        "tensorflow.round",
        "tensorflow.math.round",
        note="rounds half to even, as torch.round",
    ),
    Op(
        "keras.ops.round",
        (X, p("decimals", "0")),
        "torch.round({x}{, decimals=decimals})",
        "rounds half to even, as torch.round",
    ),
    _unary("torch.floor", "tensorflow.floor", "tensorflow.math.floor", "keras.ops.floor"),
    _unary("torch.ceil", "tensorflow.math.ceil", "keras.ops.ceil"),
    _unary("torch.trunc", "keras.ops.trunc"),
    _unary("torch.sin", "keras.backend.sin", "tensorflow.sin", "tensorflow.math.sin", "keras.ops.sin"),
    _unary("torch.cos", "keras.backend.cos", "tensorflow.cos", "tensorflow.math.cos", "keras.ops.cos"),
    _unary("torch.tan", "tensorflow.math.tan", "keras.ops.tan"),
    _unary("torch.sinh", "tensorflow.math.sinh", "keras.ops.sinh"),
    _unary("torch.cosh", "tensorflow.math.cosh", "keras.ops.cosh"),
    _unary("torch.asin", "tensorflow.math.asin", "keras.ops.arcsin"),
    _unary("torch.acos", "tensorflow.math.acos", "keras.ops.arccos"),
    _unary("torch.atan", "tensorflow.math.atan", "keras.ops.arctan"),
    _unary("torch.asinh", "tensorflow.math.asinh", "keras.ops.arcsinh"),
    _unary("torch.atanh", "tensorflow.math.atanh", "keras.ops.arctanh"),
    _unary(
        "torch.tanh",
        "keras.backend.tanh",
        "tensorflow.tanh",
        "tensorflow.math.tanh",
        "tensorflow.nn.tanh",
        "keras.ops.tanh",
        "keras.activations.tanh",
    ),
    _unary(
        "torch.sigmoid",
        "keras.backend.sigmoid",
        "tensorflow.sigmoid",
        "tensorflow.math.sigmoid",
        "tensorflow.nn.sigmoid",
        "keras.ops.sigmoid",
        "keras.activations.sigmoid",
    ),
    _unary("torch.neg", "tensorflow.negative", "tensorflow.math.negative", "keras.ops.negative"),
    _unary("torch.reciprocal", "tensorflow.math.reciprocal", "keras.ops.reciprocal"),
    _unary("torch.erf", "tensorflow.math.erf", "keras.ops.erf"),
    _unary("torch.erfc", "tensorflow.math.erfc"),
    _unary("torch.erfinv", "tensorflow.math.erfinv", "keras.ops.erfinv"),
    _unary("torch.lgamma", "tensorflow.math.lgamma"),
    _unary("torch.digamma", "tensorflow.math.digamma"),
    _unary("torch.isnan", "tensorflow.math.is_nan", "keras.ops.isnan"),
    _unary("torch.isinf", "tensorflow.math.is_inf", "keras.ops.isinf"),
    _unary("torch.isfinite", "tensorflow.math.is_finite", "keras.ops.isfinite"),
    _unary("torch.logical_not", "tensorflow.logical_not", "tensorflow.math.logical_not", "keras.ops.logical_not"),
    _unary(
        "F.softplus",
        "keras.backend.softplus",
        "tensorflow.math.softplus",
        "tensorflow.nn.softplus",
        "keras.ops.softplus",
        "keras.activations.softplus",
        note="F.softplus returns x itself above x = 20 (threshold); TensorFlow's differs there by < 1e-8",
    ),
    _unary(
        "F.softsign",
        "keras.backend.softsign",
        "tensorflow.math.softsign",
        "tensorflow.nn.softsign",
        "keras.ops.softsign",
        "keras.activations.softsign",
    ),
    _unary("F.logsigmoid", "tensorflow.math.log_sigmoid", "keras.ops.log_sigmoid", "keras.activations.log_sigmoid"),
    # arithmetic
    _binary("torch.add", "tensorflow.add", "tensorflow.math.add", "keras.ops.add", x="x", y="y"),
    _binary("torch.sub", "tensorflow.subtract", "tensorflow.math.subtract", "keras.ops.subtract"),
    _binary("torch.mul", "tensorflow.multiply", "tensorflow.math.multiply", "keras.ops.multiply"),
    _binary(
        "torch.div",
        "tensorflow.divide",
        "tensorflow.math.divide",
        "tensorflow.math.truediv",
        "tensorflow.truediv",
        "keras.ops.divide",
        "keras.ops.true_divide",
        note=TRUE_DIV,
    ),
    _binary("torch.floor_divide", "tensorflow.math.floordiv", "keras.ops.floor_divide", note=FLOOR),
    _binary(
        "torch.remainder",
        "tensorflow.math.floormod",
        "tensorflow.math.mod",
        "keras.ops.mod",
        note="floor modulo: the sign of the divisor, as Python's %; torch.remainder (torch.fmod truncates)",
    ),
    _binary("torch.fmod", "tensorflow.truncatemod", note="truncated modulo: the sign of the dividend"),
    Op("keras.backend.pow", (X, p("a")), "torch.pow({x}, {a})"),
    _binary("torch.pow", "tensorflow.pow", "tensorflow.math.pow"),
    _binary("torch.pow", "keras.ops.power", x="x1", y="x2"),
    _binary("torch.atan2", "tensorflow.math.atan2", x="y", y="x"),
    _binary("torch.atan2", "keras.ops.arctan2", x="x1", y="x2"),
    _binary("torch.hypot", "keras.ops.hypot", x="x1", y="x2"),
    _binary("torch.logaddexp", "keras.ops.logaddexp", x="x1", y="x2"),
    Op("tensorflow.math.squared_difference", (X, p("y"), NAME), "torch.square({(x)} - {(y)})"),
    Op(
        "tensorflow.math.divide_no_nan",
        (X, p("y"), NAME),
        _divide_no_nan("x", "y"),
        "0 where y == 0 (also in the gradient, kept finite by the inner torch.where)",
    ),
    Op(
        "keras.ops.divide_no_nan",
        (p("x1"), p("x2")),
        _divide_no_nan("x1", "x2"),
        "0 where x2 == 0 (also in the gradient, kept finite by the inner torch.where)",
    ),
    Op(
        "tensorflow.math.add_n",
        (p("inputs"), NAME),
        "torch.stack({inputs}).sum(dim=0)",
        "tf.add_n does not broadcast: every input has the same shape",
        aliases=("tensorflow.add_n",),
    ),
    _extremum_op("keras.backend.maximum", "torch.maximum", "min"),
    _extremum_op("tensorflow.maximum", "torch.maximum", "min", "tensorflow.math.maximum"),
    _extremum_op("keras.ops.maximum", "torch.maximum", "min", x="x1", y="x2"),
    _extremum_op("keras.backend.minimum", "torch.minimum", "max"),
    _extremum_op("tensorflow.minimum", "torch.minimum", "max", "tensorflow.math.minimum"),
    _extremum_op("keras.ops.minimum", "torch.minimum", "max", x="x1", y="x2"),
    # comparisons and logic: bool tensors
    _binary("torch.eq", "keras.backend.equal", "tensorflow.equal", "tensorflow.math.equal"),
    _binary("torch.ne", "keras.backend.not_equal", "tensorflow.not_equal", "tensorflow.math.not_equal"),
    _binary("torch.gt", "keras.backend.greater", "tensorflow.greater", "tensorflow.math.greater"),
    _binary("torch.ge", "keras.backend.greater_equal", "tensorflow.greater_equal", "tensorflow.math.greater_equal"),
    _binary("torch.lt", "keras.backend.less", "tensorflow.less", "tensorflow.math.less"),
    _binary("torch.le", "keras.backend.less_equal", "tensorflow.less_equal", "tensorflow.math.less_equal"),
    _binary("torch.eq", "keras.ops.equal", x="x1", y="x2"),
    _binary("torch.ne", "keras.ops.not_equal", x="x1", y="x2"),
    _binary("torch.gt", "keras.ops.greater", x="x1", y="x2"),
    _binary("torch.ge", "keras.ops.greater_equal", x="x1", y="x2"),
    _binary("torch.lt", "keras.ops.less", x="x1", y="x2"),
    _binary("torch.le", "keras.ops.less_equal", x="x1", y="x2"),
    _binary("torch.logical_and", "tensorflow.logical_and", "tensorflow.math.logical_and"),
    _binary("torch.logical_or", "tensorflow.logical_or", "tensorflow.math.logical_or"),
    _binary("torch.logical_xor", "tensorflow.math.logical_xor"),
    _binary("torch.logical_and", "keras.ops.logical_and", x="x1", y="x2"),
    _binary("torch.logical_or", "keras.ops.logical_or", x="x1", y="x2"),
    _binary("torch.logical_xor", "keras.ops.logical_xor", x="x1", y="x2"),
    # clipping
    Op(
        "keras.backend.clip",
        (X, p("min_value"), p("max_value")),
        _keras_clip,
        "with numbers max < min, Keras clips everything to min (torch.clamp would give max); None is no bound",
    ),
    Op(
        "tensorflow.clip_by_value",
        (p("t"), p("clip_value_min"), p("clip_value_max"), NAME),
        "torch.clamp({t}, {clip_value_min}, {clip_value_max})",
        "torch.clamp takes two numbers or two tensors as bounds, not one of each",
    ),
    Op("keras.ops.clip", (X, p("x_min"), p("x_max")), "torch.clamp({x}, {x_min}, {x_max})"),
)
