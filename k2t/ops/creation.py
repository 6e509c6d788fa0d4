"""Tensors made from nothing: constants, zeros/ones/full, ranges, eye, random draws; Keras's config values."""

from __future__ import annotations

import ast
from collections.abc import Callable

from .spec import Bound, Op, p

NAME = p("name", "None", ignored=True)
SEED = p("seed", "None", ignored=True)
SHAPE = p("shape")
INT32_RANGE = "Python ints make int32 in TensorFlow, int64 in torch"
RANDOM = "same distribution, not the same numbers: torch's generator (torch.manual_seed) replaces TensorFlow's seeds"


def _with_dtype(call: str, default_dtype: str | None = None) -> Callable[[Bound], str]:
    """``call`` + ``, dtype=...`` when the dtype is not torch's default (float32 unless said)."""

    def template(bound: Bound) -> str:
        if bound.is_none("dtype"):
            dtype = f", dtype={default_dtype}" if default_dtype else ""
        elif bound["dtype"] == "torch.float32" and default_dtype in (None, "torch.float32"):
            dtype = ""
        else:
            dtype = ", dtype={dtype}"
        return call.replace("{dtype}", dtype)

    return template


def _tf_range(bound: Bound) -> str:
    dtype = "" if bound.is_none("dtype") else ", dtype={dtype}"
    if bound.is_none("limit"):
        if bound.is_default("delta"):
            return f"torch.arange({{start}}{dtype})"
        return f"torch.arange(0, {{start}}, {{delta}}{dtype})"
    return f"torch.arange({{start}}, {{limit}}{{, delta}}{dtype})"


def _keras_arange(bound: Bound) -> str:
    """K.arange(start, stop, step, dtype="int32"); K.arange(-3) is empty, as torch.arange(-3) would fail."""
    if bound.is_none("stop"):
        return (
            "torch.arange({start}{, step}, dtype={dtype})"
            if bound.is_default("step")
            else ("torch.arange(0, {start}, {step}, dtype={dtype})")
        )
    return "torch.arange({start}, {stop}{, step}, dtype={dtype})"


def _ops_arange(bound: Bound) -> str:
    dtype = "" if bound.is_none("dtype") else ", dtype={dtype}"
    if bound.is_none("stop"):
        return (
            f"torch.arange({{start}}{dtype})"
            if bound.is_default("step")
            else (f"torch.arange(0, {{start}}, {{step}}{dtype})")
        )
    return f"torch.arange({{start}}, {{stop}}{{, step}}{dtype})"


def _normal(bound: Bound) -> str:
    dtype = "" if bound.is_none("dtype") or bound["dtype"] == "torch.float32" else ", dtype={dtype}"
    if bound.is_default("mean") and bound.is_default("stddev"):
        return f"torch.randn({{shape}}{dtype})"
    return f"torch.normal({{mean}}, {{stddev}}, size={{shape}}{dtype})"


def _uniform(low: str, high: str, high_default_none: bool) -> Callable[[Bound], str]:
    def template(bound: Bound) -> str:
        dtype_text = bound["dtype"]
        if dtype_text.startswith("torch.int") or dtype_text == "torch.uint8":
            if high_default_none and bound.is_none(high):
                raise bound.fail("an integer uniform draw needs `maxval`")
            return f"torch.randint({{{low}}}, {{{high}}}, {{shape}}, dtype={{dtype}})"
        dtype = "" if bound.is_none("dtype") or dtype_text == "torch.float32" else ", dtype={dtype}"
        at_default = bound.is_default(low) and (bound.is_none(high) if high_default_none else bound.is_default(high))
        if at_default:
            return f"torch.rand({{shape}}{dtype})"
        upper = "1.0" if high_default_none and bound.is_none(high) else f"{{{high}}}"
        return f"torch.empty({{shape}}{dtype}).uniform_({{{low}}}, {upper})"

    return template


def _truncated_normal(bound: Bound) -> str:
    # TensorFlow redraws values beyond 2 standard deviations; trunc_normal_ takes absolute bounds.
    dtype = "" if bound.is_none("dtype") or bound["dtype"] == "torch.float32" else ", dtype={dtype}"
    if bound.is_default("mean") and bound.is_default("stddev"):
        return f"torch.nn.init.trunc_normal_(torch.empty({{shape}}{dtype}), a=-2.0, b=2.0)"
    return (
        f"torch.nn.init.trunc_normal_(torch.empty({{shape}}{dtype}), mean={{mean}}, std={{stddev}}, "
        "a={mean} - 2 * {stddev}, b={mean} + 2 * {stddev})"
    )


def is_string_literal(code: str) -> bool:
    """A literal string, or a (nested) list or tuple of them: data no torch tensor holds."""
    try:
        value = ast.literal_eval(code.strip())
    except (ValueError, SyntaxError):
        return False
    return _all_strings(value)


def _all_strings(value: object) -> bool:
    if isinstance(value, (str, bytes)):
        return True
    return isinstance(value, (list, tuple)) and bool(value) and all(_all_strings(item) for item in value)


def _no_strings(bound: Bound, name: str) -> None:
    """torch has no string tensor: ``tf.constant(["a", "b"])`` stays NumPy where it feeds a text model
    (k2t.translate.string_data); anywhere else it is refused here."""
    if is_string_literal(bound[name]):
        raise bound.fail(
            f"`{name}={bound[name]}`: strings make no torch tensor (k2t keeps them as a NumPy array where the script "
            "only passes them to fit, evaluate, predict or a text layer's adapt)"
        )


def _literal_or_name(bound: Bound, name: str) -> object:
    """The value of a literal argument; ``NAME_GIVEN`` for a plain name, which a template may read twice."""
    code = bound[name].strip()
    if code.isidentifier():
        return NAME_GIVEN
    try:
        return ast.literal_eval(code)
    except (ValueError, SyntaxError):
        raise bound.fail(
            f"`{name}={code}`: k2t translates it for a string or bytes written in the call, or a name"
        ) from None


NAME_GIVEN = object()


def _text_conversion(kept: type, method: str) -> Callable[[Bound], str]:
    """tf.compat.as_bytes (``kept`` bytes, a str ``.encode``d) and as_text / as_str (``kept`` str, bytes
    ``.decode``d). A name's value is checked where the script runs: anything but str or bytes raises, as
    TensorFlow's TypeError does."""

    def template(bound: Bound) -> str:
        value = _literal_or_name(bound, "bytes_or_text")
        if isinstance(value, kept):
            return "{bytes_or_text}"
        if isinstance(value, (str, bytes)):
            return f"{{bytes_or_text}}.{method}({{encoding}})"
        if value is NAME_GIVEN:
            return (
                f"({{bytes_or_text}} if isinstance({{bytes_or_text}}, {kept.__name__}) "
                f"else {{bytes_or_text}}.{method}({{encoding}}))"
            )
        raise bound.fail(f"`{bound['bytes_or_text']}` is neither a str nor bytes (TensorFlow raises TypeError)")

    return template


def _tf_constant(bound: Bound) -> str:
    _no_strings(bound, "value")
    dtype = "" if bound.is_none("dtype") else ", dtype={dtype}"
    if bound.is_none("shape"):
        return f"torch.tensor({{value}}{dtype})"
    return f"torch.full({{shape}}, {{value}}{dtype})"


def _as_tensor(name: str) -> Callable[[Bound], str]:
    def template(bound: Bound) -> str:
        _no_strings(bound, name)
        return f"torch.as_tensor({{{name}}}{{, dtype=dtype}})"

    return template


def _keras_constant(bound: Bound) -> str:
    dtype = "torch.float32" if bound.is_none("dtype") else "{dtype}"
    if bound.is_none("shape"):
        return f"torch.tensor({{value}}, dtype={dtype})"
    return f"torch.full({{shape}}, {{value}}, dtype={dtype})"


def _gamma(bound: Bound) -> str:
    """Gamma(alpha, beta) draws of shape ``shape + alpha.shape``, beta the rate (inverse scale) as in TensorFlow;
    rsample, as TensorFlow's draws are differentiable in alpha and beta."""
    rate = "1.0" if "beta" not in bound.values or bound.is_none("beta") else "{beta}"
    draws = f"torch.distributions.Gamma({{alpha}}, {rate}).rsample({{shape}})"
    if bound.is_none("dtype") or bound["dtype"] == "torch.float32":
        return draws
    return f"{draws}.to({{dtype}})"


DTYPE = p("dtype", "None", dtype=True)
TF_FLOAT = p("dtype", "'float32'", dtype=True)

ROWS: tuple[Op, ...] = (
    # Keras's configuration values (Keras 2 under keras.backend, Keras 3 also under keras.config)
    Op(
        "keras.backend.epsilon",
        (),
        "1e-07",
        "Keras's fuzz factor, unless the script calls set_epsilon",
        aliases=("keras.config.epsilon",),
    ),
    Op(
        "keras.backend.floatx",
        (),
        '"float32"',
        "a dtype name, as Keras returns it (valid for numpy and k2t's casts)",
        aliases=("keras.config.floatx",),
    ),
    Op("keras.backend.image_data_format", (), '"channels_last"', aliases=("keras.config.image_data_format",)),
    # constants
    Op("tensorflow.constant", (p("value"), DTYPE, p("shape", "None"), NAME), _tf_constant, INT32_RANGE),
    Op(
        "keras.backend.constant",
        (p("value"), DTYPE, p("shape", "None"), NAME),
        _keras_constant,
        "float32 unless a dtype is given",
    ),
    Op(
        "tensorflow.convert_to_tensor",
        (p("value"), DTYPE, p("dtype_hint", "None", ignored=True), NAME),
        _as_tensor("value"),
        INT32_RANGE,
    ),
    Op(
        "keras.ops.convert_to_tensor",
        (p("x"), DTYPE, p("sparse", "None", only=("None", "False")), p("ragged", "None", only=("None", "False"))),
        _as_tensor("x"),
        INT32_RANGE,
    ),
    # zeros, ones, full
    Op("tensorflow.zeros", (SHAPE, TF_FLOAT, NAME), _with_dtype("torch.zeros({shape}{dtype})")),
    Op("tensorflow.ones", (SHAPE, TF_FLOAT, NAME), _with_dtype("torch.ones({shape}{dtype})")),
    Op(
        "keras.backend.zeros",
        (SHAPE, DTYPE, NAME),
        _with_dtype("torch.zeros({shape}{dtype})"),
        "Keras 2 returns a variable; here a tensor",
    ),
    Op(
        "keras.backend.ones",
        (SHAPE, DTYPE, NAME),
        _with_dtype("torch.ones({shape}{dtype})"),
        "Keras 2 returns a variable; here a tensor",
    ),
    Op("keras.ops.zeros", (SHAPE, DTYPE), _with_dtype("torch.zeros({shape}{dtype})")),
    Op("keras.ops.ones", (SHAPE, DTYPE), _with_dtype("torch.ones({shape}{dtype})")),
    Op("tensorflow.zeros_like", (p("input"), DTYPE, NAME), "torch.zeros_like({input}{, dtype=dtype})"),
    Op("tensorflow.ones_like", (p("input"), DTYPE, NAME), "torch.ones_like({input}{, dtype=dtype})"),
    Op(
        "keras.backend.zeros_like",
        (p("x"), DTYPE, NAME),
        "torch.zeros_like({x}{, dtype=dtype})",
        aliases=("keras.ops.zeros_like",),
    ),
    Op(
        "keras.backend.ones_like",
        (p("x"), DTYPE, NAME),
        "torch.ones_like({x}{, dtype=dtype})",
        aliases=("keras.ops.ones_like",),
    ),
    Op("tensorflow.fill", (p("dims"), p("value"), NAME), "torch.full({dims}, {value})", INT32_RANGE),
    Op(
        "keras.ops.full",
        (SHAPE, p("fill_value"), DTYPE),
        "torch.full({shape}, {fill_value}{, dtype=dtype})",
        INT32_RANGE,
    ),
    Op("keras.ops.full_like", (p("x"), p("fill_value"), DTYPE), "torch.full_like({x}, {fill_value}{, dtype=dtype})"),
    Op(
        "tensorflow.eye",
        (p("num_rows"), p("num_columns", "None"), p("batch_shape", "None", only=("None",)), TF_FLOAT, NAME),
        _with_dtype("torch.eye({num_rows}{, num_columns}{dtype})"),
        aliases=("tensorflow.linalg.eye",),
    ),
    Op(
        "keras.backend.eye",
        (p("size"), DTYPE, NAME),
        _with_dtype("torch.eye({size}{dtype})"),
        "Keras 2 returns a variable; here a tensor",
    ),
    Op(
        "keras.ops.eye",
        (p("N"), p("M", "None"), p("k", "0", only=("0",)), DTYPE),
        _with_dtype("torch.eye({N}{, M}{dtype})"),
    ),
    # ranges
    Op("tensorflow.range", (p("start"), p("limit", "None"), p("delta", "1"), DTYPE, NAME), _tf_range, INT32_RANGE),
    Op(
        "keras.backend.arange",
        (p("start"), p("stop", "None"), p("step", "1"), p("dtype", "'int32'", dtype=True)),
        _keras_arange,
        "int32 by default, as Keras 2",
    ),
    Op("keras.ops.arange", (p("start"), p("stop", "None"), p("step", "1"), DTYPE), _ops_arange, INT32_RANGE),
    Op(
        "tensorflow.linspace",
        (p("start"), p("stop"), p("num"), NAME, p("axis", "0", only=("0",))),
        "torch.linspace({start}, {stop}, {num})",
    ),
    Op(
        "keras.ops.linspace",
        (
            p("start"),
            p("stop"),
            p("num", "50"),
            p("endpoint", "True", only=("True",)),
            p("retstep", "False", only=("False",)),
            DTYPE,
            p("axis", "0", only=("0",)),
        ),
        "torch.linspace({start}, {stop}, {num}{, dtype=dtype})",
    ),
    # random draws
    Op(
        "tensorflow.random.normal", (SHAPE, p("mean", "0.0"), p("stddev", "1.0"), TF_FLOAT, SEED, NAME), _normal, RANDOM
    ),
    Op("keras.backend.random_normal", (SHAPE, p("mean", "0.0"), p("stddev", "1.0"), DTYPE, SEED), _normal, RANDOM),
    Op("keras.random.normal", (SHAPE, p("mean", "0.0"), p("stddev", "1.0"), DTYPE, SEED), _normal, RANDOM),
    Op(
        "tensorflow.random.uniform",
        (SHAPE, p("minval", "0"), p("maxval", "None"), TF_FLOAT, SEED, NAME),
        _uniform("minval", "maxval", high_default_none=True),
        RANDOM,
    ),
    Op(
        "keras.backend.random_uniform",
        (SHAPE, p("minval", "0.0"), p("maxval", "1.0"), DTYPE, SEED),
        _uniform("minval", "maxval", high_default_none=False),
        RANDOM,
    ),
    Op(
        "keras.random.uniform",
        (SHAPE, p("minval", "0.0"), p("maxval", "1.0"), DTYPE, SEED),
        _uniform("minval", "maxval", high_default_none=False),
        RANDOM,
    ),
    Op(
        "tensorflow.random.truncated_normal",
        (SHAPE, p("mean", "0.0"), p("stddev", "1.0"), TF_FLOAT, SEED, NAME),
        _truncated_normal,
        RANDOM + "; values beyond 2 standard deviations are redrawn in both",
    ),
    Op(
        "keras.backend.truncated_normal",
        (SHAPE, p("mean", "0.0"), p("stddev", "1.0"), DTYPE, SEED),
        _truncated_normal,
        RANDOM,
    ),
    Op(
        "keras.random.truncated_normal",
        (SHAPE, p("mean", "0.0"), p("stddev", "1.0"), DTYPE, SEED),
        _truncated_normal,
        RANDOM,
    ),
    Op(
        "tensorflow.random.gamma",
        (SHAPE, p("alpha"), p("beta", "None"), TF_FLOAT, SEED, NAME),
        _gamma,
        RANDOM + "; the shape is shape + alpha.shape",
    ),
    Op("keras.random.gamma", (SHAPE, p("alpha"), DTYPE, SEED), _gamma, RANDOM),
    Op(
        "keras.backend.random_bernoulli",
        (SHAPE, p("p", "0.0"), DTYPE, SEED),
        "torch.bernoulli(torch.full({shape}, {p}))",
        RANDOM,
    ),
    Op(
        "tensorflow.random.shuffle",
        (p("value"), SEED, NAME),
        "{(value)}[torch.randperm({(value)}.shape[0])]",
        RANDOM + "; rows (axis 0) permuted",
    ),
    # TensorFlow's text helpers on Python strings (keras.io's image classifier checks file headers with them)
    Op(
        "tensorflow.compat.as_bytes",
        (p("bytes_or_text"), p("encoding", '"utf-8"')),
        _text_conversion(bytes, "encode"),
        "plain Python: a str encoded, bytes unchanged",
    ),
    Op(
        "tensorflow.compat.as_text",
        (p("bytes_or_text"), p("encoding", '"utf-8"')),
        _text_conversion(str, "decode"),
        "plain Python: bytes decoded, a str unchanged",
        aliases=("tensorflow.compat.as_str",),
    ),
)
