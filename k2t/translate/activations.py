"""Keras activations -> torch expressions, one row each."""

from __future__ import annotations

from dataclasses import dataclass

from ..diagnostics import Unsupported
from ..ir import Value
from .helpers import Helper
from .initializers import is_parameter, string_literals


@dataclass(frozen=True)
class Activation:
    keras: str
    template: str  # torch expression with {x}
    module: str | None  # the same as an nn.Module, for Activation layers
    note: str = ""


_ROWS = (
    Activation("relu", "F.relu({x})", "nn.ReLU()"),
    Activation("sigmoid", "torch.sigmoid({x})", "nn.Sigmoid()"),
    Activation("softmax", "F.softmax({x}, dim=-1)", "nn.Softmax(dim=-1)"),
    Activation("log_softmax", "F.log_softmax({x}, dim=-1)", "nn.LogSoftmax(dim=-1)"),
    Activation("tanh", "torch.tanh({x})", "nn.Tanh()"),
    Activation("elu", "F.elu({x})", "nn.ELU()"),
    Activation("selu", "F.selu({x})", "nn.SELU()"),
    Activation("gelu", "F.gelu({x})", "nn.GELU()", "Keras's gelu activation is the exact (erf) form"),
    Activation("swish", "F.silu({x})", "nn.SiLU()"),
    Activation("silu", "F.silu({x})", "nn.SiLU()"),
    Activation("softplus", "F.softplus({x})", "nn.Softplus()"),
    Activation("softsign", "F.softsign({x})", "nn.Softsign()"),
    Activation("exponential", "torch.exp({x})", None),
    Activation("hard_sigmoid", "F.hardsigmoid({x})", "nn.Hardsigmoid()", "Keras 3 hard_sigmoid is relu6(x + 3) / 6"),
    Activation("hard_swish", "F.hardswish({x})", "nn.Hardswish()"),
    Activation("hard_silu", "F.hardswish({x})", "nn.Hardswish()"),
    Activation("relu6", "F.relu6({x})", "nn.ReLU6()"),
    Activation(
        "leaky_relu", "F.leaky_relu({x}, 0.2)", "nn.LeakyReLU(0.2)", "the leaky_relu activation string has slope 0.2"
    ),
    Activation("mish", "F.mish({x})", "nn.Mish()"),
    Activation("linear", "{x}", "nn.Identity()"),
    Activation("celu", "F.celu({x})", "nn.CELU()"),
    Activation("hard_tanh", "F.hardtanh({x})", "nn.Hardtanh()"),
    Activation("hard_shrink", "F.hardshrink({x}, 0.5)", "nn.Hardshrink(0.5)", "Keras's threshold 0.5, as torch's"),
    Activation("soft_shrink", "F.softshrink({x}, 0.5)", "nn.Softshrink(0.5)", "Keras's threshold 0.5, as torch's"),
    Activation("tanh_shrink", "F.tanhshrink({x})", "nn.Tanhshrink()"),
    Activation("log_sigmoid", "F.logsigmoid({x})", "nn.LogSigmoid()"),
    # Keras: 0 below -1, 1 above 1, (x + 1) / 2 between.
    Activation("sparse_sigmoid", "(({x} + 1) / 2).clamp(0.0, 1.0)", None),
)
# Keras activations k2t reports (K2T110), and why: each needs its input twice (sparse_plus, squareplus), changes
# the feature count (glu), takes arguments no string can give (threshold), or sorts (sparsemax).
UNTRANSLATED = {
    "sparse_plus": "its piecewise form reads the input twice",
    "squareplus": "its form reads the input twice",
    "glu": "it halves the last axis",
    "sparsemax": "it sorts the last axis",
    "threshold": "it needs threshold and default_value",
}
ACTIVATIONS: dict[str, Activation] = {row.keras: row for row in _ROWS}

# TensorFlow functions scripts pass as activations (`activation=tf.nn.relu`) whose defaults compute what the
# Keras activation of the same name computes (tf.nn.gelu: exact; tf.nn.leaky_relu: slope 0.2; softmax: last axis).
TENSORFLOW_ACTIVATIONS: dict[str, str] = {
    **{
        f"tensorflow.nn.{name}": name
        for name in (
            "relu",
            "relu6",
            "elu",
            "selu",
            "gelu",
            "sigmoid",
            "tanh",
            "softmax",
            "log_softmax",
            "softplus",
            "softsign",
            "silu",
            "swish",
            "leaky_relu",
        )
    },
    **{f"tensorflow.math.{name}": name for name in ("sigmoid", "tanh", "softplus", "softsign")},
    "tensorflow.sigmoid": "sigmoid",
    "tensorflow.tanh": "tanh",
    "tensorflow.exp": "exponential",
    "tensorflow.math.exp": "exponential",
}


def activation_name(value: Value | None) -> str:
    """The Keras activation named by a layer argument ("relu", None, keras.activations.relu)."""
    if value is None:
        return "linear"
    if value.is_literal:
        if value.literal is None:
            return "linear"
        if isinstance(value.literal, str):
            name = value.literal
        else:
            raise Unsupported("K2T110", f"activation {value.code} is not translated", value.pos)
    elif value.keras_ref is not None and value.keras_ref.startswith("keras.activations."):
        name = value.keras_ref.rsplit(".", 1)[-1]
    elif value.keras_ref in TENSORFLOW_ACTIVATIONS:
        name = TENSORFLOW_ACTIVATIONS[value.keras_ref]
    elif value.keras_call is not None and value.keras_call.name in _LAYER_ACTIVATIONS:
        name = _layer_activation(value)
    else:
        raise Unsupported("K2T110", f"activation `{value.code}` is not translated", value.pos)
    if name in UNTRANSLATED:
        raise Unsupported("K2T110", f"activation {name!r} is not translated: {UNTRANSLATED[name]}", value.pos)
    if name not in ACTIVATIONS:
        raise Unsupported("K2T110", f"activation {name!r} is not translated", value.pos)
    return name


# Activation layers a script passes as a layer's activation (`Dense(256, activation=LeakyReLU(0.2))`): Keras calls
# the layer on the output. Their parameters as (name, position, Keras 3's default); `alpha` is Keras 2's name of
# LeakyReLU's and ELU's.
_LAYER_ACTIVATIONS = {
    "keras.layers.LeakyReLU": (("negative_slope", 0, 0.3), ("alpha", None, None)),
    "keras.layers.ReLU": (("max_value", 0, None), ("negative_slope", 1, 0.0), ("threshold", 2, 0.0)),
    "keras.layers.ELU": (("alpha", 0, 1.0),),
    "keras.layers.Softmax": (("axis", 0, -1),),
}


def _layer_activation(value: Value) -> str:
    """The activation an activation layer object computes, as a name of ACTIVATIONS (a LeakyReLU slope other
    than the "leaky_relu" string's 0.2 gets a row of its own)."""
    call = value.keras_call
    assert call is not None
    given: dict[str, object] = {}
    for key, position, default in _LAYER_ACTIVATIONS[call.name]:
        item = call.arg(position, key) if position is not None else call.kwarg(key)
        if item is None:
            given[key] = default
        elif item.is_literal and isinstance(item.literal, (int, float)) or item.is_literal and item.literal is None:
            given[key] = item.literal
        else:
            raise Unsupported("K2T110", f"activation `{value.code}`: k2t needs {key}= as a number", item.pos)
    params = _LAYER_ACTIVATIONS[call.name]
    unknown = [key for key, _ in call.kwargs if key not in {name for name, _, _ in params}]
    if unknown or len(call.args) > sum(1 for _, position, _ in params if position is not None):
        raise Unsupported("K2T110", f"activation `{value.code}`: an argument k2t does not translate", value.pos)
    short = call.name.rsplit(".", 1)[-1]
    if short == "LeakyReLU":
        slope = given["alpha"] if given["alpha"] is not None else given["negative_slope"]
        if slope == 0.2:
            return "leaky_relu"
        name = f"leaky_relu_{slope!r}"
        ACTIVATIONS.setdefault(name, Activation(name, f"F.leaky_relu({{x}}, {slope!r})", f"nn.LeakyReLU({slope!r})"))
        return name
    if short == "ReLU" and given["negative_slope"] == 0.0 and given["threshold"] == 0.0:
        if given["max_value"] is None:
            return "relu"
        if given["max_value"] == 6:
            return "relu6"
    if short == "ELU" and given["alpha"] == 1.0:
        return "elu"
    if short == "Softmax" and given["axis"] == -1:
        return "softmax"
    raise Unsupported("K2T110", f"activation `{value.code}` is not translated", value.pos)


def apply_activation(name: str, x: str = "x") -> str:
    return ACTIVATIONS[name].template.format(x=x)


def named_activation_function(value: Value | None):
    """``Dense(12, activation=activation)`` with ``activation`` a parameter of the function that builds the model:
    a generated function applying the Keras activation the parameter names when the script runs, for each
    activation whose name the script writes in a string; None where ``value`` is no such parameter."""
    if value is None or value.is_literal or value.keras_call is not None or value.keras_ref is not None:
        return None
    if not is_parameter(value):
        return None
    names = sorted(string_literals(value.source.script.module) & set(ACTIVATIONS))
    if not names:
        return None
    choices = tuple((name, apply_activation(name)) for name in names)
    return Helper("keras_activation", "functions/keras_activation.py.j2", (("choices", choices),))
