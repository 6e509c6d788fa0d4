"""``trainable=False`` given to a layer's constructor (``Embedding(..., weights=[matrix], trainable=False)``, the
pretrained-embeddings pattern): the layer's weights are frozen from the start.

Keras trains none of a non-trainable layer's weights and, as for ``layer.trainable = False`` later
(k2t.translate.model_api), collects no regularization penalty from them; a BatchNormalization built
non-trainable normalises with its moving statistics even in fit(), which the translation does not reproduce
from the constructor yet.
"""

from __future__ import annotations

import dataclasses

from ..diagnostics import Unsupported
from ..ir import KerasCall
from .plan import LayerPlan


def without_trainable(layer: KerasCall) -> tuple[KerasCall, bool]:
    """The layer without its ``trainable=`` argument, and whether that argument freezes it."""
    value = layer.kwarg("trainable")
    if value is None or layer.layer_class is not None:
        return layer, False  # a layer class of the script's own: its converter says what it takes
    if not value.is_literal or not isinstance(value.literal, bool):
        raise Unsupported(
            "K2T102", f"{layer.short_name}(trainable={value.code}): k2t needs True or False here", value.pos
        )
    return dataclasses.replace(layer, kwargs=tuple((k, v) for k, v in layer.kwargs if k != "trainable")), (
        not value.literal
    )


def freeze_from_the_start(plan: LayerPlan, frozen: bool, self_attr: str, layer: KerasCall) -> None:
    """``requires_grad_(False)`` right after the constructor of a layer built with ``trainable=False`` (unless its
    converter already built it frozen, as ``nn.Embedding.from_pretrained(..., freeze=True)``); its regularizers go."""
    if not frozen or plan.constructor is None:
        return  # no module (Dropout, Flatten... written as functions): nothing to freeze
    if plan.keras_class == "BatchNormalization":
        raise Unsupported(
            "K2T102",
            "BatchNormalization(trainable=False) is not translated: Keras then normalises with the moving statistics "
            "even in fit()",
            layer.pos,
        )
    plan.regularizers = []  # Keras collects penalties from trainable weights only
    if "freeze=True" not in plan.constructor:
        plan.setup.append(f"{self_attr}.requires_grad_(False)  # Keras's trainable=False")
