"""Run a Keras script and its conversion side by side, from the same weights, in this process.

For behaviour the one-fit parity harness (k2t.parity.exact) does not follow: several fit calls with
state resets between them, or models built after training from the trained layers. Each script is
run up to ``marker`` (the model built, nothing trained yet), Keras's weights of the model in
``model_var`` are copied into the torch module, then the rest of both scripts runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def run_both(
    keras_source: str, torch_source: str, marker: str, model_var: str = "model", prepare: Callable[[Any, Any], object] | None = None
) -> tuple[dict, dict]:
    """The two namespaces after both scripts ran, the torch side from the Keras model's initial weights;
    ``prepare(keras_model, torch_model)`` runs between the weight transfer and the rest (to turn dropout off)."""
    from k2t.parity.functional import keras_layers_for
    from k2t.parity.instrument import convert
    from k2t.weights import transfer_weights

    keras_namespace: dict = {}
    torch_namespace: dict = {}
    keras_head, keras_tail = keras_source.split(marker, 1)
    torch_head, torch_tail = torch_source.split(marker, 1)
    exec(compile(keras_head, "<keras>", "exec"), keras_namespace)  # noqa: S102 - the test's own scripts
    exec(compile(torch_head, "<torch>", "exec"), torch_namespace)  # noqa: S102
    module_plan = next(plan for plan in convert(keras_source).plan.modules if plan.var == model_var)
    keras_model = keras_namespace[model_var]
    keras_layers = keras_layers_for(keras_model, module_plan) if module_plan.forward_lines is not None else None
    transfer_weights(keras_model, torch_namespace[model_var], module_plan, keras_layers)
    if prepare is not None:
        prepare(keras_model, torch_namespace[model_var])
    exec(compile(marker + keras_tail, "<keras>", "exec"), keras_namespace)  # noqa: S102
    exec(compile(marker + torch_tail, "<torch>", "exec"), torch_namespace)  # noqa: S102
    return keras_namespace, torch_namespace
