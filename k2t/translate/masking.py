"""Keras masks: made by Embedding(mask_zero=True) and Masking, read by the recurrent layers and
GlobalAveragePooling1D, passed on by the layers that act on each step's features alone, dropped by the
others (Keras 3 drops a mask at a layer that does not support masking, with a warning).

The translation carries a mask as a boolean (batch, steps) variable of forward. A converter takes the
mask of its input with ``ctx.mask.take()`` and makes one with ``ctx.mask.make()``; the model's layer
loop asks ``mask_after`` which mask the layer's output carries.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..diagnostics import Unsupported
from ..ir import KerasCall

# Keras layers that pass their input's mask on unchanged and compute without it (supports_masking=True,
# Keras's default compute_mask). BatchNormalization is not one: Keras computes its batch moments over the unmasked steps.
PASSES_MASK = frozenset(
    {
        "Dense",
        "Dropout",
        "Activation",
        "SpatialDropout1D",
        "GaussianNoise",
        "GaussianDropout",
        "LayerNormalization",
        "TimeDistributed",
    }
)
# Keras layers without masking support: the mask ends there, in Keras and in the translation.
DROPS_MASK = frozenset(
    {"Flatten", "Conv1D", "MaxPooling1D", "AveragePooling1D", "GlobalMaxPooling1D", "Reshape", "RepeatVector"}
)
ORIGIN = "Embedding(mask_zero=True) or Masking"


@dataclass
class MaskFlow:
    """The Keras mask around one layer call."""

    given: str | None = None  # the variable holding the input's mask; None: the input carries none
    name: str = "mask"  # the variable for a mask this layer makes
    output: str | None = None  # the output's mask, when the converter says which (made, or kept by a reader)
    read: bool = False  # the converter computed with the given mask
    # For a mask this layer makes: the same mask computed from the layer's input `x` alone (Embedding's `x != 0`),
    # which a model whose output carries it computes again for the loss (ModulePlan.output_mask).
    from_input: str | None = None

    def take(self) -> str | None:
        """The input's mask, for a converter that computes with it."""
        self.read = True
        return self.given

    def make(self, from_input: str | None = None) -> str:
        """The variable for the mask this layer's output carries from now on (``from_input``: the same mask as
        an expression of the layer's input `x`)."""
        self.output = self.name
        self.from_input = from_input
        return self.name


def mask_after(layer: KerasCall, flow: MaskFlow) -> str | None:
    """The variable holding the mask of ``layer``'s output (None: no mask)."""
    if flow.output is not None:
        return flow.output
    if flow.given is None or flow.read:
        return None
    if layer.short_name in PASSES_MASK:
        return flow.given
    if layer.short_name in DROPS_MASK:
        return None
    raise Unsupported(
        "K2T102", f"{layer.short_name} on a masked sequence ({ORIGIN} before it) is not translated", layer.pos
    )


def unmasked_output(layer: KerasCall, mask: str | None) -> None:
    """A model's output must carry no mask: Keras would weight the loss and metrics with it."""
    if mask is not None:
        message = f"the model's output carries Keras's mask ({ORIGIN} before it), with which Keras masks the loss: not translated"
        raise Unsupported("K2T102", message, layer.pos)


# Merge layers whose output mask is Keras's default (keras.layers.Merge.compute_mask): the OR of the inputs'
# masks where every input carries one, else none. They compute without the masks.
_OR_MASKS = frozenset({"Add", "Subtract", "Average", "Maximum", "Minimum", "Multiply"})


def merged_masks(layer: KerasCall, masks: list[str | None], name: str) -> tuple[str | None, list[str]]:
    """The mask of a merge layer's output (a variable, ``name`` if made here) and the line making it."""
    if all(mask is None for mask in masks):
        return None, []
    if layer.short_name not in _OR_MASKS:
        raise Unsupported(
            "K2T102", f"{layer.short_name} of masked sequences ({ORIGIN} before it) is not translated", layer.pos
        )
    if any(mask is None for mask in masks):
        return None, []  # Keras: an unmasked input ends the mask
    distinct = list(dict.fromkeys(masks))
    if len(distinct) == 1:  # the residual x + f(x): the same mask, passed on
        return distinct[0], []
    return name, [f"{name} = {' | '.join(distinct)}  # Keras's mask of a merge: a step counts where any input's does"]
