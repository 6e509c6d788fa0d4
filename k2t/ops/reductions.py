"""Reductions: mean, sum, max, std, argmax, cumsum, logsumexp ... over an axis (or all of them)."""

from __future__ import annotations

from collections.abc import Callable

from .spec import Bound, Op, p

NAME = p("name", "None", ignored=True)


def _reduce(function: str, x: str = "x", extra: str = "", dim_none_ok: bool = True) -> Callable[[Bound], str]:
    """``function(x, dim=axis, keepdim=keepdims)``, leaving out what is at its default.

    torch.mean and torch.sum read ``keepdim`` only beside ``dim``, so an explicit ``dim=None`` stays
    when only keepdims is given (``dim_none_ok``); amax, std, any ... take ``keepdim`` alone.
    """

    def template(bound: Bound) -> str:
        if dim_none_ok and bound.is_default("axis") and not bound.is_default("keepdims"):
            return f"{function}({{{x}}}, dim=None, keepdim={{keepdims}}{extra})"
        return f"{function}({{{x}}}{{, dim=axis}}{{, keepdim=keepdims}}{extra})"

    return template


def _prod(x: str) -> Callable[[Bound], str]:
    """torch.prod reduces one dimension or all of them, never a list."""

    def template(bound: Bound) -> str:
        if bound.is_none("axis"):
            if not bound.is_default("keepdims"):
                raise bound.fail("`keepdims` without an axis is not translated")
            return f"torch.prod({{{x}}})"
        if isinstance(bound.literal("axis"), (list, tuple)):
            raise bound.fail(f"a list of axes `{bound['axis']}` is not translated (torch.prod takes one dim)")
        return f"torch.prod({{{x}}}, dim={{axis}}{{, keepdim=keepdims}})"

    return template


def _logsumexp(x: str) -> Callable[[Bound], str]:
    """torch.logsumexp needs a dim: all dims when the axis is None."""

    def template(bound: Bound) -> str:
        if bound.is_none("axis"):
            if bound.is_default("keepdims"):
                return f"torch.logsumexp({{({x})}}.flatten(), dim=0)"
            return f"torch.logsumexp({{{x}}}, dim=tuple(range({{({x})}}.dim())), keepdim={{keepdims}})"
        return f"torch.logsumexp({{{x}}}, dim={{axis}}{{, keepdim=keepdims}})"

    return template


def _cumulative(function: str, x: str) -> Callable[[Bound], str]:
    """keras.ops.cumsum(x) with axis=None runs over the flattened tensor, as numpy does."""

    def template(bound: Bound) -> str:
        if bound.is_none("axis"):
            return f"{function}({{({x})}}.flatten(), dim=0{{, dtype=dtype}})"
        return f"{function}({{{x}}}, dim={{axis}}{{, dtype=dtype}})"

    return template


INT_MEAN = "tf.reduce_mean of an integer tensor is an integer (truncated) mean; torch.mean refuses integers"
POPULATION = "population statistic (divides by N): torch's default is Bessel's N - 1, hence correction=0"

X, AXIS, KEEP = p("x"), p("axis", "None"), p("keepdims", "False")
T = p("input_tensor")
TF_KEEP = p("keepdims", "False")

ROWS: tuple[Op, ...] = (
    # keras.backend (Keras 2's K.*): axis=None, keepdims=False
    Op(
        "keras.backend.mean",
        (X, AXIS, KEEP),
        _reduce("torch.mean"),
        "K.mean casts a bool tensor to float32 first; torch.mean refuses bool and integer tensors",
    ),
    Op("keras.backend.sum", (X, AXIS, KEEP), _reduce("torch.sum")),
    Op(
        "keras.backend.max",
        (X, AXIS, KEEP),
        _reduce("torch.amax", dim_none_ok=False),
        "torch.amax, not torch.max: torch.max(x, dim) returns (values, indices)",
    ),
    Op("keras.backend.min", (X, AXIS, KEEP), _reduce("torch.amin", dim_none_ok=False)),
    Op("keras.backend.prod", (X, AXIS, KEEP), _prod("x")),
    Op(
        "keras.backend.std",
        (X, AXIS, KEEP),
        _reduce("torch.std", extra=", correction=0", dim_none_ok=False),
        POPULATION,
    ),
    Op(
        "keras.backend.var",
        (X, AXIS, KEEP),
        _reduce("torch.var", extra=", correction=0", dim_none_ok=False),
        POPULATION,
    ),
    Op("keras.backend.any", (X, AXIS, KEEP), _reduce("torch.any", dim_none_ok=False)),
    Op("keras.backend.all", (X, AXIS, KEEP), _reduce("torch.all", dim_none_ok=False)),
    Op(
        "keras.backend.argmax",
        (X, p("axis", "-1")),
        "torch.argmax({x}, dim={axis})",
        "K.argmax's axis defaults to -1 (the class axis); TF's int64 indices, as torch's",
    ),
    Op("keras.backend.argmin", (X, p("axis", "-1")), "torch.argmin({x}, dim={axis})"),
    Op("keras.backend.cumsum", (X, p("axis", "0")), "torch.cumsum({x}, dim={axis})"),
    Op("keras.backend.cumprod", (X, p("axis", "0")), "torch.cumprod({x}, dim={axis})"),
    # TensorFlow: tf.reduce_*(input_tensor, axis=None, keepdims=False, name=None)
    Op(
        "tensorflow.reduce_mean",
        (T, AXIS, TF_KEEP, NAME),
        _reduce("torch.mean", "input_tensor"),
        INT_MEAN,
        aliases=("tensorflow.math.reduce_mean",),
    ),
    Op(
        "tensorflow.reduce_sum",
        (T, AXIS, TF_KEEP, NAME),
        _reduce("torch.sum", "input_tensor"),
        aliases=("tensorflow.math.reduce_sum",),
    ),
    Op(
        "tensorflow.reduce_max",
        (T, AXIS, TF_KEEP, NAME),
        _reduce("torch.amax", "input_tensor", dim_none_ok=False),
        aliases=("tensorflow.math.reduce_max",),
    ),
    Op(
        "tensorflow.reduce_min",
        (T, AXIS, TF_KEEP, NAME),
        _reduce("torch.amin", "input_tensor", dim_none_ok=False),
        aliases=("tensorflow.math.reduce_min",),
    ),
    Op(
        "tensorflow.reduce_prod",
        (T, AXIS, TF_KEEP, NAME),
        _prod("input_tensor"),
        aliases=("tensorflow.math.reduce_prod",),
    ),
    Op(
        "tensorflow.reduce_all",
        (T, AXIS, TF_KEEP, NAME),
        _reduce("torch.all", "input_tensor", dim_none_ok=False),
        aliases=("tensorflow.math.reduce_all",),
    ),
    Op(
        "tensorflow.reduce_any",
        (T, AXIS, TF_KEEP, NAME),
        _reduce("torch.any", "input_tensor", dim_none_ok=False),
        aliases=("tensorflow.math.reduce_any",),
    ),
    Op(
        "tensorflow.reduce_logsumexp",
        (T, AXIS, TF_KEEP, NAME),
        _logsumexp("input_tensor"),
        aliases=("tensorflow.math.reduce_logsumexp",),
    ),
    Op(
        "tensorflow.math.reduce_std",
        (T, AXIS, TF_KEEP, NAME),
        _reduce("torch.std", "input_tensor", extra=", correction=0", dim_none_ok=False),
        POPULATION,
    ),
    Op(
        "tensorflow.math.reduce_variance",
        (T, AXIS, TF_KEEP, NAME),
        _reduce("torch.var", "input_tensor", extra=", correction=0", dim_none_ok=False),
        POPULATION,
    ),
    Op(
        "tensorflow.math.reduce_euclidean_norm",
        (T, AXIS, TF_KEEP, NAME),
        _reduce("torch.linalg.vector_norm", "input_tensor", dim_none_ok=False),
    ),
    Op(
        "tensorflow.argmax",
        (
            p("input"),
            p("axis", "None"),
            p(
                "output_type",
                "tensorflow.int64",
                only=("tf.int64", "tensorflow.int64", "tf.dtypes.int64", "'int64'", '"int64"'),
            ),
            NAME,
        ),
        lambda bound: "torch.argmax({input}, dim=0)" if bound.is_none("axis") else "torch.argmax({input}, dim={axis})",
        "tf.argmax's axis=None means axis 0 (torch.argmax's dim=None flattens), so the dim is always written",
        aliases=("tensorflow.math.argmax",),
    ),
    Op(
        "tensorflow.argmin",
        (
            p("input"),
            p("axis", "None"),
            p(
                "output_type",
                "tensorflow.int64",
                only=("tf.int64", "tensorflow.int64", "tf.dtypes.int64", "'int64'", '"int64"'),
            ),
            NAME,
        ),
        lambda bound: "torch.argmin({input}, dim=0)" if bound.is_none("axis") else "torch.argmin({input}, dim={axis})",
        "axis=None means axis 0, as for tf.argmax",
        aliases=("tensorflow.math.argmin",),
    ),
    Op(
        "tensorflow.cumsum",
        (X, p("axis", "0"), p("exclusive", "False", only=("False",)), p("reverse", "False", only=("False",)), NAME),
        "torch.cumsum({x}, dim={axis})",
        "exclusive=True and reverse=True have no torch argument: not translated",
        aliases=("tensorflow.math.cumsum",),
    ),
    Op(
        "tensorflow.math.cumprod",
        (X, p("axis", "0"), p("exclusive", "False", only=("False",)), p("reverse", "False", only=("False",)), NAME),
        "torch.cumprod({x}, dim={axis})",
    ),
    Op(
        "tensorflow.math.count_nonzero",
        (
            p("input"),
            AXIS,
            p("keepdims", "None", only=("None", "False")),
            p("dtype", "'int64'", dtype=True, only=("tf.int64", "tensorflow.int64", "'int64'")),
            NAME,
        ),
        "torch.count_nonzero({input}{, dim=axis})",
        "torch.count_nonzero has no keepdim",
    ),
    # keras.ops (Keras 3): numpy semantics
    Op(
        "keras.ops.mean",
        (X, AXIS, KEEP),
        _reduce("torch.mean"),
        "keras.ops.mean of an integer tensor is a float mean; torch.mean refuses integers",
    ),
    Op("keras.ops.sum", (X, AXIS, KEEP), _reduce("torch.sum")),
    Op(
        "keras.ops.max",
        (X, AXIS, KEEP, p("initial", "None", only=("None",))),
        _reduce("torch.amax", dim_none_ok=False),
        aliases=("keras.ops.amax",),
    ),
    Op(
        "keras.ops.min",
        (X, AXIS, KEEP, p("initial", "None", only=("None",))),
        _reduce("torch.amin", dim_none_ok=False),
        aliases=("keras.ops.amin",),
    ),
    Op("keras.ops.prod", (X, AXIS, KEEP, p("dtype", "None", dtype=True, only=("None",))), _prod("x")),
    Op("keras.ops.std", (X, AXIS, KEEP), _reduce("torch.std", extra=", correction=0", dim_none_ok=False), POPULATION),
    Op("keras.ops.var", (X, AXIS, KEEP), _reduce("torch.var", extra=", correction=0", dim_none_ok=False), POPULATION),
    Op("keras.ops.any", (X, AXIS, KEEP), _reduce("torch.any", dim_none_ok=False)),
    Op("keras.ops.all", (X, AXIS, KEEP), _reduce("torch.all", dim_none_ok=False)),
    Op(
        "keras.ops.argmax",
        (X, AXIS, KEEP),
        "torch.argmax({x}{, dim=axis}{, keepdim=keepdims})",
        "axis=None flattens, as torch's dim=None does",
    ),
    Op("keras.ops.argmin", (X, AXIS, KEEP), "torch.argmin({x}{, dim=axis}{, keepdim=keepdims})"),
    Op(
        "keras.ops.cumsum",
        (X, AXIS, p("dtype", "None", dtype=True)),
        _cumulative("torch.cumsum", "x"),
        "axis=None runs over the flattened tensor",
    ),
    Op("keras.ops.cumprod", (X, AXIS, p("dtype", "None", dtype=True)), _cumulative("torch.cumprod", "x")),
    Op("keras.ops.logsumexp", (X, AXIS, KEEP), _logsumexp("x")),
    Op(
        "keras.ops.count_nonzero",
        (X, AXIS),
        "torch.count_nonzero({x}{, dim=axis})",
        "keras.ops.count_nonzero returns int32, torch int64",
    ),
    Op(
        "keras.ops.median",
        (X, AXIS, KEEP),
        "torch.quantile({x}, 0.5{, dim=axis}{, keepdim=keepdims})",
        "numpy's median averages the two middle values; torch.median returns the lower one, torch.quantile"
        " interpolates as numpy does",
    ),
    Op(
        "keras.ops.average",
        (X, AXIS, p("weights", "None", only=("None",))),
        "torch.mean({x}{, dim=axis})",
        "weights are not translated",
    ),
)
