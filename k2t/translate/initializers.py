"""Keras initializers -> torch.nn.init calls that draw from the same distribution."""

from __future__ import annotations

import re
from dataclasses import dataclass

import libcst as cst

from ..cst_walk import Visitor
from ..diagnostics import Unsupported
from ..ir import Value
from ..values import Unknown
from .dims import Size
from .helpers import Helper

# Keras divides the standard deviation of its truncated normals by the std of a
# unit normal truncated at two standard deviations, so the variance is as asked.
TRUNCATED_STD_CORRECTION = "0.87962566103423978"


@dataclass(frozen=True)
class VarianceScaling:
    scale: float
    mode: str  # fan_in, fan_out, fan_avg
    distribution: str  # truncated_normal, uniform, untruncated_normal


_VARIANCE_SCALING = {
    "glorot_uniform": VarianceScaling(1.0, "fan_avg", "uniform"),
    "glorot_normal": VarianceScaling(1.0, "fan_avg", "truncated_normal"),
    "he_uniform": VarianceScaling(2.0, "fan_in", "uniform"),
    "he_normal": VarianceScaling(2.0, "fan_in", "truncated_normal"),
    "lecun_uniform": VarianceScaling(1.0, "fan_in", "uniform"),
    "lecun_normal": VarianceScaling(1.0, "fan_in", "truncated_normal"),
}

_OBJECT_ARGS = {
    "random_normal": ("mean", "stddev", "seed"),
    "random_uniform": ("minval", "maxval", "seed"),
    "truncated_normal": ("mean", "stddev", "seed"),
    "constant": ("value",),
    "orthogonal": ("gain", "seed"),
    "identity": ("gain",),
    "variance_scaling": ("scale", "mode", "distribution", "seed"),
}


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def initializer_spec(value: Value | None, default: str) -> tuple[str, dict[str, object]]:
    """(keras snake-case name, literal arguments) of an initializer argument."""
    if value is None:
        return default, {}
    if value.is_literal and isinstance(value.literal, str):
        return value.literal, {}
    call = value.keras_call
    if call is not None and call.name.startswith("keras.initializers."):
        name = _snake(call.short_name)
        allowed = _OBJECT_ARGS.get(name, ("seed",))
        args, extra, unknown = call.bind(allowed)
        if extra is not None:
            raise Unsupported("K2T111", f"initializer `{value.code}` has too many arguments", value.pos)
        if unknown is not None:
            raise Unsupported(
                "K2T111", f"initializer argument {unknown[0]}= of `{value.code}` is not translated", value.pos
            )
        for key, item in list(args.items()):
            if key == "seed":
                del args[key]  # torch draws from its own generator; seeds cannot match Keras's
                continue
            if not item.is_literal:
                raise Unsupported("K2T111", f"initializer argument {key}={item.code} must be a literal", item.pos)
            args[key] = item.literal
        return name, args
    if value.keras_ref is not None and value.keras_ref.startswith("keras.initializers."):
        return _snake(value.keras_ref.rsplit(".", 1)[-1]), {}
    raise Unsupported("K2T111", f"initializer `{value.code}` is not translated", value.pos)


def initializer_lines(
    value: Value | None,
    default: str,
    tensor: str,
    fan_in: str | Size,
    fan_out: str | Size,
    keras_fans: bool = False,
    torch_fans: bool = True,
) -> list[str]:
    """Lines that initialise ``tensor`` as the Keras initializer would.

    ``keras_fans``: the tensor is no torch (out, in, ...) weight (an einsum kernel of Keras's layout), so
    variance scaling draws from ``fan_in`` / ``fan_out`` as given rather than through torch's xavier / kaiming.
    ``torch_fans``: torch's xavier/kaiming may compute the fans from ``tensor`` itself (a torch layer's
    (out, in, k...) weight); False for a weight in Keras's layout (k..., in, out), a custom layer's
    add_weight, whose fans ``fan_in`` / ``fan_out`` then always give (biases included)."""
    # A size is divided by in the lines below: a compound one keeps its parentheses.
    fan_in, fan_out = (fan.operand(20, right=True) if isinstance(fan, Size) else fan for fan in (fan_in, fan_out))
    name, args = initializer_spec(value, default)
    name = {"zero": "zeros", "one": "ones", "normal": "random_normal", "uniform": "random_uniform"}.get(name, name)
    if name == "variance_scaling":
        spec = VarianceScaling(
            float(args.get("scale", 1.0)),
            str(args.get("mode", "fan_in")),
            str(args.get("distribution", "truncated_normal")),
        )
        name = f"variance_scaling(scale={spec.scale}, mode={spec.mode!r}, distribution={spec.distribution!r})"
    else:
        spec = _VARIANCE_SCALING.get(name)
    if spec is not None:
        if not torch_fans:
            return _variance_scaling("variance_scaling", spec, tensor, fan_in, fan_out, value, keras_name=name)
        if tensor.endswith(".bias"):
            # Keras's fans of a 1-D weight are its length on both sides; torch's xavier/kaiming refuse 1-D tensors.
            spec = VarianceScaling(spec.scale, spec.mode, spec.distribution)
            return _variance_scaling("variance_scaling", spec, tensor, f"{tensor}.numel()", f"{tensor}.numel()", value)
        if keras_fans:  # the formula, under the initializer's own name in the comment
            return _variance_scaling("variance_scaling", spec, tensor, fan_in, fan_out, value, keras_name=name)
        return _variance_scaling(name, spec, tensor, fan_in, fan_out, value)
    if name == "zeros":
        return [f"nn.init.zeros_({tensor})"]
    if name == "ones":
        return [f"nn.init.ones_({tensor})"]
    if name == "constant":
        return [f"nn.init.constant_({tensor}, {args.get('value', 0.0)!r})"]
    if name == "random_normal":
        return [f"nn.init.normal_({tensor}, mean={args.get('mean', 0.0)!r}, std={args.get('stddev', 0.05)!r})"]
    if name == "random_uniform":
        return [f"nn.init.uniform_({tensor}, {args.get('minval', -0.05)!r}, {args.get('maxval', 0.05)!r})"]
    if name == "truncated_normal":
        mean, std = args.get("mean", 0.0), args.get("stddev", 0.05)
        return [
            "# Keras truncated_normal redraws values beyond two standard deviations",
            f"nn.init.trunc_normal_({tensor}, mean={mean!r}, std={std!r}, a={mean - 2 * std!r}, b={mean + 2 * std!r})",
        ]
    if name == "orthogonal":
        return [f"nn.init.orthogonal_({tensor}, gain={args.get('gain', 1.0)!r})"]
    if name == "identity":
        return [f"nn.init.eye_({tensor})"] + ([f"{tensor}.data.mul_({args['gain']!r})"] if "gain" in args else [])
    raise Unsupported("K2T111", f"initializer {name!r} is not translated", value.pos if value else None)


def _variance_scaling(
    name, spec: VarianceScaling, tensor, fan_in, fan_out, value, keras_name: str | None = None
) -> list[str]:
    fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": f"(({fan_in} + {fan_out}) / 2)"}.get(spec.mode)
    if fan is None:
        raise Unsupported("K2T111", f"initializer mode {spec.mode!r} is not translated", value.pos if value else None)
    scale = f"{spec.scale:g}"
    if spec.distribution == "uniform":
        if name == "glorot_uniform":
            return [f"nn.init.xavier_uniform_({tensor})"]
        if name == "he_uniform":
            return [f'nn.init.kaiming_uniform_({tensor}, nonlinearity="relu")']
        if name == "lecun_uniform":
            return [f'nn.init.kaiming_uniform_({tensor}, nonlinearity="linear")']
        return [
            f"limit = math.sqrt(3 * {scale} / {fan})",
            f"nn.init.uniform_({tensor}, -limit, limit)",
        ]
    if spec.distribution == "truncated_normal":
        return [
            f"# Keras {keras_name or name}: normal cut at two standard deviations, std = sqrt({scale} / fan) / {TRUNCATED_STD_CORRECTION}",
            f"std = math.sqrt({scale} / {fan}) / {TRUNCATED_STD_CORRECTION}",
            f"nn.init.trunc_normal_({tensor}, std=std, a=-2 * std, b=2 * std)",
        ]
    if spec.distribution in ("untruncated_normal", "normal"):
        return [f"nn.init.normal_({tensor}, std=math.sqrt({scale} / {fan}))"]
    raise Unsupported(
        "K2T111", f"initializer distribution {spec.distribution!r} is not translated", value.pos if value else None
    )


def is_parameter(value: Value) -> bool:
    """``value`` is a parameter of the function it is written in, as the function received it (a name a grid
    search sets when the script runs: ``def create_model(optimizer="rmsprop", init="glorot_uniform")``)."""
    source, name = value.source, value.code.strip()
    if source is None or source.function is None or source.env is None or not name.isidentifier():
        return False
    binding = source.env.lookup(name)
    return (
        binding is not None
        and not binding.superseded
        and isinstance(binding.value, Unknown)
        and binding.value.reason == f"a parameter of {source.function}()"
    )


def named_kernel_initializer(value: Value | None) -> Helper | None:
    """``Dense(8, kernel_initializer=init)`` with ``init`` a parameter of the function that builds the model: a
    generated function applying the Keras initializer the parameter names when the script runs, for each name of
    an initializer the script writes in a string (`init = ["glorot_uniform", "normal", "uniform"]` of a grid
    search); None where ``value`` is no such parameter or the script writes no initializer's name."""
    if value is None or value.is_literal or value.keras_call is not None or value.keras_ref is not None:
        return None
    if not is_parameter(value):
        return None
    strings = sorted(string_literals(value.source.script.module))
    choices = []
    for string in strings:
        try:
            # Dense's kernel: torch's (out, in) weight, whose fans xavier / kaiming read from its shape
            lines = initializer_lines(
                Value(repr(string), value.pos, literal=string), "", "weight", "weight.shape[1]", "weight.shape[0]"
            )
        except Unsupported:
            continue  # not an initializer's name
        choices.append((string, tuple(lines)))
    if not choices:
        return None
    return Helper("keras_initializer", "functions/keras_initializer.py.j2", (("choices", tuple(choices)),))


def string_literals(module: cst.Module) -> frozenset[str]:
    """The strings a script writes as literals: the Keras names a parameter of its own may hold when it runs."""
    found: set[str] = set()

    class Finder(Visitor):
        def visit_SimpleString(self, node: cst.SimpleString) -> None:
            if isinstance(node.evaluated_value, str):
                found.add(node.evaluated_value)

    module.visit(Finder())
    return frozenset(found)
