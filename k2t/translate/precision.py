"""Keras mixed precision -> torch.autocast, as a PyTorch user writes it.

``keras.mixed_precision.set_global_policy("mixed_float16" | "mixed_bfloat16")``
(Keras 2.1-2.3's ``mixed_precision.experimental.set_policy``, Keras 3's
``keras.config.set_dtype_policy``, a ``Policy(...)`` passed to any of them)
makes Keras keep float32 weights and compute the layers in the lower
precision. torch's equivalent: float32 parameters, and the forward under
``torch.autocast(dtype=...)`` in the generated fit/evaluate/predict. The loss
is computed in float32, outside autocast, on the output cast to float32, as
Keras's losses take their inputs in their own (float32) dtype. For float16 the
generated fit scales the loss with ``torch.amp.GradScaler``, Keras's
LossScaleOptimizer (which compile() wraps around the optimizer under
mixed_float16).

A layer given ``dtype="float32"`` (Keras's rule for a model's final outputs)
casts its input to float32; where autocast would lower it again (a layer with
weights) the conversion stops at a K2T102 rather than compute it in the lower
precision (see ``float32_input``).
"""

from __future__ import annotations

import dataclasses

from ..diagnostics import Unsupported
from ..ir import KerasCall, Value
from .plan import LayerPlan

# The functions setting the global policy (canonical names), the policy as their first argument.
POLICY_FUNCTIONS = frozenset(
    {
        "keras.mixed_precision.set_global_policy",
        "keras.mixed_precision.experimental.set_policy",
        "keras.config.set_dtype_policy",
    }
)
# Policy objects a script may pass instead of the name.
_POLICY_CLASSES = frozenset(
    {
        "keras.mixed_precision.Policy",
        "keras.mixed_precision.experimental.Policy",
        "keras.mixed_precision.DTypePolicy",
        "keras.DTypePolicy",
    }
)
# Keras policy name -> the torch dtype autocast computes in ("" : plain float32, nothing changes).
AUTOCAST_DTYPES = {"mixed_float16": "torch.float16", "mixed_bfloat16": "torch.bfloat16", "float32": ""}


@dataclasses.dataclass(frozen=True)
class Precision:
    """What the generated loops do for the script's policy (the default: nothing)."""

    autocast_dtype: str = ""  # "torch.float16" / "torch.bfloat16", "" when the script trains in float32

    @property
    def loss_scaling(self) -> bool:
        """Keras wraps the optimizer in a LossScaleOptimizer under mixed_float16 only: bfloat16 has float32's range."""
        return self.autocast_dtype == "torch.float16"

    def template_context(self) -> dict[str, object]:
        return {"autocast_dtype": self.autocast_dtype, "loss_scaling": self.loss_scaling}


def policy_name(call: KerasCall) -> str:
    """The policy name a set_global_policy(...) call sets, or Unsupported."""
    value = call.arg(0, "policy") or call.arg(0, "value")
    if value is None:
        raise Unsupported("K2T100", f"{call.name}() without a policy is not translated", call.pos)
    name = _literal_policy(value)
    if name not in AUTOCAST_DTYPES:
        raise Unsupported(
            "K2T100",
            f"{call.name}({value.code}) is not translated: k2t translates {', '.join(AUTOCAST_DTYPES)}",
            value.pos,
        )
    return name


def _literal_policy(value: Value) -> str | None:
    if value.is_literal:
        return value.literal if isinstance(value.literal, str) else None
    nested = value.keras_call
    if nested is not None and nested.name in _POLICY_CLASSES and len(nested.args) + len(nested.kwargs) == 1:
        return _literal_policy(nested.arg(0, "name"))
    return None


def translate_policy(call: KerasCall, precision: Precision) -> tuple[Precision, str]:
    """The script's precision after the call, and what replaces the call (nothing: the loops read the policy)."""
    name = policy_name(call)
    if precision.autocast_dtype and AUTOCAST_DTYPES[name] != precision.autocast_dtype:
        # One policy for the whole script: the generated loops are shared by every model.
        raise Unsupported(
            "K2T100", f"{call.name}(): a second, different policy in one script is not translated", call.pos
        )
    return Precision(AUTOCAST_DTYPES[name] or precision.autocast_dtype), ""


def without_dtype(layer: KerasCall) -> tuple[KerasCall, bool]:
    """The layer without its ``dtype=`` argument, and whether it asked for float32.

    ``dtype="float32"`` is what Keras's mixed-precision guide puts on a model's last layer so that its outputs
    are float32; any other dtype (float64, a per-layer mixed policy) is not translated.
    """
    value = layer.kwarg("dtype")
    if value is None:
        return layer, False
    name = _literal_policy(value) if value.keras_call is not None else value.literal if value.is_literal else None
    if name != "float32":
        raise Unsupported(
            "K2T102",
            f'{layer.short_name}(dtype={value.code}) is not translated: k2t translates dtype="float32"',
            value.pos,
        )
    return dataclasses.replace(layer, kwargs=tuple((k, v) for k, v in layer.kwargs if k != "dtype")), True


def float32_input(layer: KerasCall, has_weights: bool) -> list[str]:
    """Forward lines before a ``dtype="float32"`` layer: its input cast to float32, as Keras casts it.

    Elementwise activations and softmax keep a float32 input float32 under autocast (torch's autocast lists
    lower only matmuls and convolutions, and compute softmax in float32), so the cast alone reproduces Keras.
    A layer with weights would be lowered again by autocast: that needs its call outside autocast, which
    k2t does not write yet.
    """
    if has_weights:
        message = (
            f'{layer.short_name}(dtype="float32") is not translated (autocast would compute it in the lower precision): '
            'put dtype="float32" on an Activation after it, as Keras\'s mixed-precision guide does'
        )
        raise Unsupported("K2T102", message, layer.pos)
    return ['x = x.float()  # Keras dtype="float32": this layer computes in float32 under the mixed policy']


def has_weights(layer: LayerPlan) -> bool:
    """Whether the converted layer holds weights (which autocast computes with in the lower precision)."""
    return layer.weights is not None or bool(layer.init) or bool(layer.params)


def unsupported_loops(plan, pos) -> None:
    """Raise where the script trains through a generated loop that does not run under autocast yet:
    the *_on_batch functions (fit, evaluate and predict run under it on arrays and on batches alike)."""
    if plan.precision.autocast_dtype and any("_on_batch" in feature for feature in plan.features):
        raise Unsupported(
            "K2T100",
            "a mixed-precision policy with train_on_batch/test_on_batch/predict_on_batch is not translated",
            pos,
        )
