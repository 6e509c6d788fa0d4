"""Converters register here by Keras name; a duplicate registration is a bug."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

F = TypeVar("F", bound=Callable)

LAYERS: dict[str, Callable] = {}


def layer(*names: str) -> Callable[[F], F]:
    def register(func: F) -> F:
        for name in names:
            if name in LAYERS:
                raise RuntimeError(f"layer converter for {name} registered twice")
            LAYERS[name] = func
        return func

    return register


# Layers the script keeps in a variable and uses outside a model (``norm.adapt(x)``):
# Keras name -> function(KerasCall) -> LayerObjectPlan, the torch module built where the script builds the layer.
LAYER_OBJECTS: dict[str, Callable] = {}


def layer_object(*names: str) -> Callable[[F], F]:
    def register(func: F) -> F:
        for name in names:
            if name in LAYER_OBJECTS:
                raise RuntimeError(f"layer-object converter for {name} registered twice")
            LAYER_OBJECTS[name] = func
        return func

    return register


def load_converters() -> None:
    """Import every converter family once; each module registers its converters on import."""
    from . import conv, layers, normalization, pooling, preprocessing, recurrent, regularization, reshaping  # noqa: F401


# Keras aliases of layer classes: the plan records the class Keras instantiates
# (weight transfer and parity compare against type(layer).__name__).
KERAS_CLASS = {
    "Convolution1D": "Conv1D",
    "Convolution2D": "Conv2D",
    "Convolution3D": "Conv3D",
    "Convolution2DTranspose": "Conv2DTranspose",
    "Convolution1DTranspose": "Conv1DTranspose",
    "Convolution3DTranspose": "Conv3DTranspose",
    "SeparableConvolution1D": "SeparableConv1D",
    "SeparableConvolution2D": "SeparableConv2D",
}
