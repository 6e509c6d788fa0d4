"""``model.train_on_batch`` / ``test_on_batch`` / ``predict_on_batch`` / ``reset_metrics`` (GAN-style loops).

Keras 3 resets the model's metrics at the start of every ``train_on_batch`` and ``test_on_batch``
(keras/src/backend/tensorflow/trainer.py), so each call returns the loss and metrics of its own batch,
computed on the outputs before the update; Keras 2 did the same by default (``reset_metrics=True``).
The generated functions therefore keep no state between calls, and ``model.reset_metrics()`` has
nothing left to reset: the statement goes. The return value is Keras's: the loss alone without
metrics, else ``[loss, *metrics]`` in ``evaluate()``'s order, or a dict with ``return_dict=True``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..diagnostics import Unsupported
from ..ir import MethodCall, Value
from .plan import ModulePlan

if TYPE_CHECKING:
    from . import ScriptPlan, TrainingPlan

ON_BATCH_METHODS = frozenset({"train_on_batch", "test_on_batch", "predict_on_batch", "reset_metrics"})
SUPPORTED_ARGUMENTS: dict[str, frozenset[str]] = {
    "train_on_batch": frozenset({"x", "y", "return_dict", "reset_metrics"}),
    "test_on_batch": frozenset({"x", "y", "return_dict", "reset_metrics"}),
    "predict_on_batch": frozenset({"x"}),
    "reset_metrics": frozenset(),
}
# The template each generated function comes from (templates/on_batch.py.j2 holds all three).
TEMPLATE = "on_batch.py.j2"


def feature(kind: str, suffix: str = "") -> str:
    """The plan feature asking for the generated ``kind`` of the training with ``suffix``."""
    return kind + suffix


def translate_on_batch_call(
    call: MethodCall, given: dict[str, Value], module: ModulePlan, training: TrainingPlan | None, plan: ScriptPlan
) -> str:
    """The code replacing one ``model.<kind>_on_batch(...)`` / ``model.reset_metrics()`` call."""
    var = call.model
    if call.method == "reset_metrics":
        return ""  # the generated functions hold no metric state between calls: nothing to reset
    _check_shapes(call, module)
    if call.method == "predict_on_batch":
        plan.features.add(feature("predict_on_batch"))
        return f"{plan.name('predict_on_batch')}({var}, {given['x'].code})"
    if training is None:
        raise Unsupported("K2T130", f"{var}.{call.method}() on a model k2t did not see compiled", call.pos)
    if training.outputs:
        raise Unsupported("K2T130", f"{call.method}() of a model with several outputs is not translated", call.pos)
    if "y" not in given:
        raise Unsupported("K2T130", f"{call.method}() without targets `y` is not translated", call.pos)
    reset = given.get("reset_metrics")
    if reset is not None and reset.literal is not True:
        # Keras 2's reset_metrics=False keeps the metrics running across calls; the generated functions keep none.
        raise Unsupported(
            "K2T130",
            f"{call.method}(reset_metrics={reset.code}) is not translated (only Keras's default, True)",
            reset.pos,
        )
    plan.features.add(feature(call.method, training.suffix))
    leading = [var, training.optimizer_for(var)] if call.method == "train_on_batch" else [var]
    if training.loss_parameter:
        leading.append(plan.name(training.loss.name))
    parts = [*leading, given["x"].code, given["y"].code]
    return_dict = given.get("return_dict")
    if return_dict is not None:
        parts.append(f"return_dict={return_dict.code}")
    if id(call) in plan.compile_time_calls:  # Keras 2: the weights of the compile train (compile_time_trainable)
        plan.features.add(feature("compiled_weights", training.suffix))
        parts.append("compiled_weights=True")
    return f"{plan.name(call.method + training.suffix)}({', '.join(parts)})"


def _check_shapes(call: MethodCall, module: ModulePlan) -> None:
    if len(module.forward_args) > 1 and (call.method == "predict_on_batch" or module.preprocess):
        raise Unsupported("K2T130", f"{call.method}() of a model with several inputs is not translated", call.pos)
    if call.method == "predict_on_batch" and len(module.output_names) > 1:
        raise Unsupported("K2T130", f"{call.method}() of a model with several outputs is not translated", call.pos)
