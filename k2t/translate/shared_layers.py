"""Layer objects shared by several models: one torch submodule, as Keras shares one layer's weights.

``hidden = layers.Dense(3)`` applied in ``model = keras.Model(inputs, outputs)`` and
again in ``feature_model = keras.Model(inputs, h)`` (or keras.io's seq2seq, whose
``encoder_model`` and ``decoder_model`` reuse the trained ``encoder`` and
``decoder_lstm``): Keras builds the layer's weights once, so training ``model``
trains ``feature_model`` too. The later module takes the earlier one's submodule
as a constructor argument (``FeatureModel(dense=model.dense)``, stored as
``self.dense``) and does not initialise it again, as nested models are handed
over (k2t.translate.nested).
"""

from __future__ import annotations

from collections.abc import Iterator

from ..diagnostics import Unsupported
from ..ir import ModelSpec
from .plan import LayerPlan, ModulePlan, Param


def _held_layers(spec: ModelSpec, module: ModulePlan) -> Iterator[tuple[int, LayerPlan]]:
    """(identity of the Keras layer object, its plan) for each layer with weights that the module builds itself."""
    if module.forward_lines is not None:
        pairs = [(id(node.layer), plan) for node, plan in module.node_plans if plan is not None]
    else:
        pairs = [(id(layer), plan) for layer, plan in zip(spec.layers, module.layers)]
    seen: set[int] = set()
    for key, plan in pairs:
        if (
            key in seen
            or plan.attr is None
            or plan.weights is None
            or plan.nested is not None
            or plan.in_block
            or plan.todo
        ):
            continue  # no weights, a nested model (handed over already), or built by a block class
        seen.add(key)
        yield key, plan


def share_layers(built: list[tuple[ModelSpec, ModulePlan]]) -> list[tuple[ModelSpec, Unsupported]]:
    """Hand each layer object a later model reuses the submodule of the first model (in script order) that holds
    it. Returns the models whose sharing cannot be written (their first holder has no variable to read it from)."""
    owners: dict[int, tuple[ModelSpec, str]] = {}  # layer object -> (first model holding it, attribute there)
    failures: list[tuple[ModelSpec, Unsupported]] = []
    for spec, module in sorted(built, key=lambda item: item[0].pos):
        shared: list[tuple[LayerPlan, ModelSpec, str]] = []
        for key, plan in _held_layers(spec, module):
            owner = owners.setdefault(key, (spec, plan.attr))
            if owner[0] is not spec:
                shared.append((plan, *owner))
        if any(owner.var is None for _, owner, _ in shared):
            message = f"`{spec.var}` reuses layers of a model k2t cannot name where `{spec.var}` is built (built in a function): not translated"
            failures.append((spec, Unsupported("K2T103", message, spec.pos)))
            continue
        taken = {param.name for param in module.params}
        for plan, owner, attr in shared:
            name = plan.attr if plan.attr not in taken else f"{plan.attr}_layer"
            taken.add(name)
            module.params.append(Param(name, f"{owner.var}.{attr}"))
            plan.constructor = f"{name}  # the layer of `{owner.var}`, with its weights (Keras shares them)"
            plan.init = []  # trained where it was built: not initialised again
    return failures
