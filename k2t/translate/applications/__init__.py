"""``keras.applications`` models -> a torch module written as a PyTorch author writes the architecture.

The script's ``base = keras.applications.MobileNetV2(input_shape=(96, 96, 3), include_top=False,
weights=None)`` is a model like any other (nested in a Sequential or called on Keras tensors, frozen,
fitted); its class is generated for the call's arguments, with blocks as classes and Keras's layers as
submodules, so that Keras's weights transfer layer by layer, by Keras's layer names.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...diagnostics import Unsupported
from ...ir import KerasCall
from ...parse.syntax import APPLICATIONS
from ..helpers import Helper
from ..plan import LayerPlan, ModulePlan

BATCH_NORM = Helper("BatchNorm", "layers/batch_norm.py.j2")
SAME_PADDING = Helper("same_padding", "layers/same_padding.py.j2")

# Keras's parameters, in order, per application.
PARAMETERS = {
    "MobileNetV2": (
        "input_shape",
        "alpha",
        "include_top",
        "weights",
        "input_tensor",
        "pooling",
        "classes",
        "classifier_activation",
        "name",
    ),
    "VGG16": (
        "include_top",
        "weights",
        "input_tensor",
        "input_shape",
        "pooling",
        "classes",
        "classifier_activation",
        "name",
    ),
    "ResNet50": (
        "include_top",
        "weights",
        "input_tensor",
        "input_shape",
        "pooling",
        "classes",
        "classifier_activation",
        "name",
    ),
}


@dataclass(frozen=True)
class ApplicationArgs:
    """The call's arguments as Keras reads them, defaults filled in."""

    include_top: bool
    input_shape: tuple[int, int, int]
    pooling: str | None
    classes: int
    classifier_activation: str | None  # "softmax", or None (logits)
    alpha: float
    code: str  # the call as the script wrote it, for the class's docstring


@dataclass
class Layers:
    """The Keras layers of an application, by name, with the torch submodule and weight kind of each."""

    names: list[str]
    plans: list[LayerPlan]

    def add(self, keras_name: str, keras_class: str, attr: str | None = None, weights: str | None = None) -> None:
        self.names.append(keras_name)
        self.plans.append(LayerPlan(keras_class=keras_class, attr=attr, weights=weights, in_block=True))


def _literal(call: KerasCall, given: dict, key: str, default):
    value = given.get(key)
    if value is None:
        return default
    if not value.is_literal:
        raise Unsupported(
            "K2T102", f"{call.short_name}({key}={value.code}) must be written as a literal for k2t to follow", value.pos
        )
    return value.literal


def application_args(call: KerasCall) -> ApplicationArgs:
    """The call's arguments, or a located diagnostic for one k2t does not translate."""
    given, extra, unknown = call.bind(PARAMETERS[call.short_name])
    if extra is not None:
        raise Unsupported("K2T102", f"{call.short_name}(): too many positional arguments", extra.pos)
    if unknown is not None:
        raise Unsupported(
            "K2T102", f"{call.short_name}({unknown[0]}=...) is not an argument Keras takes", unknown[1].pos
        )
    weights = given.get("weights")
    if weights is None or weights.literal is not None:
        # Keras's default is "imagenet": a download k2t never makes, nor writes into the script. A model whose
        # script says weights=None has the same architecture, which `k2t weights` fills from a saved Keras model.
        where = weights.pos if weights is not None else call.pos
        written = f"weights={weights.code}" if weights is not None else 'weights="imagenet" (Keras\'s default)'
        raise Unsupported(
            "K2T102",
            f"{call.short_name}({written}) is not translated: with weights=None here, save the Keras model holding "
            'the weights (model.save("m.keras")) and port them with `k2t weights m.keras --script <this script>`',
            where,
        )
    if "input_tensor" in given and given["input_tensor"].literal is not None:
        raise Unsupported(
            "K2T102",
            f"{call.short_name}(input_tensor=...) is not translated: call the model on the tensor",
            given["input_tensor"].pos,
        )
    include_top = _literal(call, given, "include_top", True)
    input_shape = _literal(call, given, "input_shape", None)
    if input_shape is None and include_top:
        input_shape = (224, 224, 3)  # Keras's default size with the classifier
    if not (
        isinstance(input_shape, (tuple, list))
        and len(input_shape) == 3
        and all(isinstance(d, int) and d > 0 for d in input_shape)
    ):
        where = given["input_shape"].pos if "input_shape" in given else call.pos
        raise Unsupported(
            "K2T102", f"{call.short_name}() needs input_shape=(height, width, channels) of sizes k2t can read", where
        )
    pooling = _literal(call, given, "pooling", None)
    if pooling not in (None, "avg", "max"):
        raise Unsupported(
            "K2T102", f'{call.short_name}(pooling={pooling!r}): Keras takes None, "avg" or "max"', given["pooling"].pos
        )
    activation = _literal(call, given, "classifier_activation", "softmax")
    if activation == "linear":
        activation = None
    if activation not in (None, "softmax"):
        raise Unsupported(
            "K2T102",
            f"{call.short_name}(classifier_activation={activation!r}) is not translated",
            given["classifier_activation"].pos,
        )
    classes = _literal(call, given, "classes", 1000)
    alpha = _literal(call, given, "alpha", 1.0)
    if not isinstance(classes, int) or isinstance(classes, bool) or classes < 1:
        raise Unsupported(
            "K2T102", f"{call.short_name}(classes={classes!r}) must be a positive integer", given["classes"].pos
        )
    if not isinstance(alpha, (int, float)) or alpha <= 0:
        raise Unsupported("K2T102", f"{call.short_name}(alpha={alpha!r}) must be a positive number", given["alpha"].pos)
    arguments = ", ".join(
        [*(value.code for value in call.args), *(f"{key}={value.code}" for key, value in call.kwargs)]
    )
    return ApplicationArgs(
        include_top=bool(include_top),
        input_shape=tuple(input_shape),
        pooling=pooling if not include_top else "avg",  # with the classifier, Keras averages (VGG16 flattens instead)
        classes=classes,
        classifier_activation=activation,
        alpha=float(alpha),
        code=f"keras.applications.{call.short_name}({arguments})",
    )


def halved(size: int, times: int) -> int:
    """A size after ``times`` stride-2 stages that each keep ceil(size / 2), as every downsampling of these
    architectures does (padding "same", Keras's correct_pad, or a pad then "valid")."""
    for _ in range(times):
        size = -(-size // 2)
    return size


def head(args: ApplicationArgs, layers: Layers, channels: int, spatial: int, pool_names: tuple[str, str]) -> list[str]:
    """The layers after the features (pooling, the classifier) and the output shape, batch excluded."""
    if args.include_top:
        layers.add(pool_names[0], "GlobalAveragePooling2D")
        layers.add("predictions", "Dense", "predictions", "dense")
        return [str(args.classes)]
    if args.pooling == "avg":
        layers.add(pool_names[0], "GlobalAveragePooling2D")
        return [str(channels)]
    if args.pooling == "max":
        layers.add(pool_names[1], "GlobalMaxPooling2D")
        return [str(channels)]
    return [str(spatial), str(spatial), str(channels)]


def translate_application(call: KerasCall, class_name: str) -> ModulePlan:
    """The module plan of a keras.applications call; its class is written whole (``ModulePlan.source``)."""
    from . import mobilenet_v2, resnet50, vgg16

    builders = {"MobileNetV2": mobilenet_v2.build, "ResNet50": resnet50.build, "VGG16": vgg16.build}
    args = application_args(call)
    if args.input_shape[0] != args.input_shape[1]:
        raise Unsupported("K2T102", f"{call.short_name}() with a non-square input_shape is not translated", call.pos)
    template, context, layers, output_shape, helpers = builders[APPLICATIONS[call.name]](args)
    layers.plans[-1].output_shape = output_shape
    context = {
        "keras_call": args.code,
        "batch_norm": BATCH_NORM.name,
        "in_channels": args.input_shape[2],
        "top": args.include_top,
        "pooling": args.pooling,
        "classes": args.classes,
        "activation": args.classifier_activation,
        **context,
    }
    return ModulePlan(
        var="",
        class_name=class_name,
        keras_name=call.short_name.lower(),
        params=[],
        layers=layers.plans,
        input_shape=[str(size) for size in args.input_shape],
        helpers=[BATCH_NORM, *helpers],
        source=Helper(class_name, template, tuple(context.items())),
        keras_layer_names=layers.names,
    )
