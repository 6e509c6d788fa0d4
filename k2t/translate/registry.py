"""Converters register here by Keras name; a duplicate registration is a bug."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from .dims import Dim, check_shape

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


@dataclass
class TensorInput:
    """One tensor a layer is called on in a Functional model (``mha(query, value, key=k)``)."""

    var: str  # the forward variable holding it
    shape: list[Dim]  # Keras's shape, batch excluded
    layout: str  # "keras" or "channels_first"
    keyword: str | None  # the keyword it was given by; None: by position
    mask: str | None = None  # the variable holding its Keras mask (Embedding(mask_zero=True), Masking); None: none


@dataclass
class TensorCallPlan:
    """A layer called on several tensors: its submodule, and its forward lines over ``{0}``, ``{1}``, ... (the
    inputs, in the order of ``TensorNode.inputs``) and ``{out}`` (the target: several names for a tuple)."""

    plan: object  # LayerPlan
    lines: list[str]
    shapes: list[list[Dim]] = field(default_factory=list)  # Keras's shape of each output (several: a tuple)
    output_mask: str | None = None  # the variable holding the Keras mask of the (first) output

    def __post_init__(self) -> None:
        self.shapes = [check_shape(shape) for shape in self.shapes]


# Layers called on several tensors, or with call arguments: Keras name -> function(LayerContext,
# TensorNode, list[TensorInput]) -> TensorCallPlan (Functional models only; see translate.functional).
TENSOR_CALLS: dict[str, Callable] = {}


def tensor_call(*names: str) -> Callable[[F], F]:
    def register(func: F) -> F:
        for name in names:
            if name in TENSOR_CALLS:
                raise RuntimeError(f"tensor-call converter for {name} registered twice")
            TENSOR_CALLS[name] = func
        return func

    return register


# Layers the script keeps in a variable and uses outside a model (``norm.adapt(x)``):
# Keras name -> function(KerasCall, the KerasCalls of every such layer of the script) -> LayerObjectPlan, the torch
# module (or generated class) built where the script builds the layer.
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
    from . import (  # noqa: F401
        attention,
        attention_layers,
        augmentation,
        conv,
        conv_recurrent,
        custom_layers,
        einsum_dense,
        lambda_layer,
        layers,
        normalization,
        pooling,
        preprocessing,
        recurrent,
        regularization,
        reshaping,
    )


def _sized(*families: str) -> set[str]:
    """Every ``{family}{1,2,3}D`` name: the 1-D, 2-D and 3-D variants of a family."""
    return {family.format(rank) for family in families for rank in (1, 2, 3)}


# Keras's image augmentation layers k2t translates (k2t/translate/augmentation.py): identity at inference,
# random in training, and they read their images' sizes at run time.
AUGMENTATION_LAYERS = (
    "RandomFlip", "RandomCrop", "RandomRotation", "RandomZoom", "RandomTranslation", "RandomContrast", "RandomBrightness",
    "RandomHeight", "RandomWidth",  # Keras 2's (Keras 3 removed them)
)  # fmt: skip


# Layers whose converters work when the input shape leaves sizes open (``Input(shape=(None, 8))``):
# they never need a size the torch module cannot take from the tensor itself (convolutions,
# pooling, recurrent layers), and ask through LayerContext.features() for the one they need.
# Every other layer gets a K2T103 when a None size reaches it.
VARIABLE_SIZES = frozenset({
    *_sized("Conv{}D", "Convolution{}D", "Conv{}DTranspose", "Convolution{}DTranspose", "MaxPooling{}D", "MaxPool{}D",
            "AveragePooling{}D", "AvgPool{}D", "GlobalMaxPooling{}D", "GlobalMaxPool{}D", "GlobalAveragePooling{}D",
            "GlobalAvgPool{}D", "SpatialDropout{}D", "UpSampling{}D"),
    "DepthwiseConv1D", "DepthwiseConv2D", "SeparableConv1D", "SeparableConv2D", "SeparableConvolution1D", "SeparableConvolution2D",
    "Embedding", "SimpleRNN", "LSTM", "GRU", "Bidirectional", "TimeDistributed", "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D",
    "Dense", "Activation", "ReLU", "LeakyReLU", "ELU", "Softmax", "Dropout", "Flatten", "BatchNormalization", "LayerNormalization",
    "GaussianNoise", "GaussianDropout", "Rescaling", "Lambda", "Masking",
    "EinsumDense", "GroupNormalization",  # they need the sizes their weights span only, and say so when one is None
    # The augmentation layers read their images' sizes at run time (k2t/translate/augmentation.py).
    *AUGMENTATION_LAYERS,
})  # fmt: skip


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
