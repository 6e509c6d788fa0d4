"""Layers the script keeps in a variable and uses outside a model.

``norm = layers.Normalization(); norm.adapt(x); model = Sequential([norm, ...])``:
the layer becomes a torch module built where the script builds the Keras
layer, ``norm.adapt(x)`` stays a method call on it, and the models that
contain it receive it as a constructor argument (``Net(normalizer=normalizer)``),
so the variable and the model share one module, as they share one Keras layer.

A layer object used only inside models is folded into them like any layer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..diagnostics import Unsupported
from ..parse import KerasScript, Todo
from . import registry
from .helpers import Helper

if TYPE_CHECKING:
    from . import ScriptPlan


@dataclass(frozen=True)
class LayerObjectPlan:
    """How to build the torch module of a layer object: ``{helper}({arguments})``."""

    helper: Helper  # the generated class
    arguments: str  # its constructor arguments, as code


def translate_layer_objects(script: KerasScript, plan: ScriptPlan) -> None:
    """Rewrite the statements that build layer objects the script uses outside its models."""
    from . import normalization, preprocessing, text_layers  # noqa: F401  (each family registers its converters)

    # Every layer object the script uses outside a model: a converter may write its generated class for all of them.
    kept = tuple(bound.call for bound in script.layer_objects if bound.uses)
    for bound in script.layer_objects:
        if not bound.uses:
            continue
        converter = registry.LAYER_OBJECTS.get(bound.call.short_name) if bound.call.name.startswith("keras.layers.") else None
        if converter is None:
            line = bound.uses[0][0]
            plan.todos.append(
                Todo(bound.statement, "K2T100", f"the layer `{bound.var}` is used outside a model (line {line}), which k2t does not translate for {bound.call.short_name}", bound.call.pos)
            )
            continue
        try:
            made: LayerObjectPlan = converter(bound.call, kept)
        except Unsupported as exc:
            plan.todos.append(Todo(bound.statement, exc.code, exc.message, exc.pos or bound.call.pos))
            continue
        helper = plan.add_helper(made.helper)
        plan.statements[id(bound.statement)] = [f"{bound.var} = {plan.name(helper.name)}({made.arguments})"]
