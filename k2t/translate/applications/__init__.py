"""``keras.applications`` models -> a torch module written as a PyTorch author writes the architecture.

The script's ``base = keras.applications.MobileNetV2(input_shape=(96, 96, 3), include_top=False,
weights=None)`` is a model like any other (nested in a Sequential or called on Keras tensors, frozen,
fitted); its class is generated for the call's arguments, with blocks as classes and Keras's layers as
submodules, so that Keras's weights transfer layer by layer, by Keras's layer names.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from ...diagnostics import Unsupported
from ...ir import KerasCall
from ...parse.syntax import APPLICATIONS
from ..dims import Dim, check_shape, known
from ..helpers import Helper
from ..plan import LayerPlan, ModulePlan

BATCH_NORM = Helper("BatchNorm", "layers/batch_norm.py.j2")
SAME_PADDING = Helper("same_padding", "layers/same_padding.py.j2")


def block_definition(name: str, template: str, **uses: object) -> Helper:
    """A class (or function) an architecture's model class builds on, as a definition of its own: a script with
    two models of one family (ResNet50 and ResNet101) defines it once, and another definition of the same name is
    renamed, the classes using it following (ScriptPlan.add_helper). ``uses``: the template's arguments, the
    definitions it calls among them (BATCH_NORM, another block)."""
    return Helper(name, f"applications/blocks/{template}.py.j2", tuple(uses.items()))


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
    **dict.fromkeys(
        (f"EfficientNetB{size}" for size in range(8)),
        (
            "include_top",
            "weights",
            "input_tensor",
            "input_shape",
            "pooling",
            "classes",
            "classifier_activation",
            "name",
        ),
    ),
}
# VGG19, ResNet101 and ResNet152, the ResNet V2 and DenseNet models: Keras's common signature.
PARAMETERS.update(
    dict.fromkeys(
        (
            "VGG19",
            "ResNet101",
            "ResNet152",
            "ResNet50V2",
            "ResNet101V2",
            "ResNet152V2",
            "DenseNet121",
            "DenseNet169",
            "DenseNet201",
        ),
        (
            "include_top",
            "weights",
            "input_tensor",
            "input_shape",
            "pooling",
            "classes",
            "classifier_activation",
            "name",
        ),
    )
)
# MobileNet (V1), MobileNetV3, Xception, InceptionV3 (k2t.translate.applications.mobilenet, mobilenet_v3, xception,
# inception_v3): their parameters, their sizes, and the arguments only they take.
PARAMETERS.update(
    {
        "MobileNet": (
            "input_shape", "alpha", "depth_multiplier", "dropout", "include_top", "weights", "input_tensor",
            "pooling", "classes", "classifier_activation", "name",
        ),
        **dict.fromkeys(
            ("MobileNetV3Small", "MobileNetV3Large"),
            (
                "input_shape", "alpha", "minimalistic", "include_top", "weights", "input_tensor", "classes",
                "pooling", "dropout_rate", "classifier_activation", "include_preprocessing", "name",
            ),
        ),
        **dict.fromkeys(("Xception", "InceptionV3"), PARAMETERS["VGG16"]),
    }
)  # fmt: skip
# Keras's smallest input (its ValueError below it): MobileNetV2's 32 is not checked, the others' are.
MIN_SIZES = {"MobileNet": 32, "MobileNetV3Small": 32, "MobileNetV3Large": 32, "Xception": 71, "InceptionV3": 75}
# Arguments of one family, each with Keras's default and the test of a value k2t translates.
OPTIONS = {
    "depth_multiplier": (1, lambda value: type(value) is int and value >= 1, "a positive integer"),
    "dropout": (1e-3, lambda value: type(value) in (int, float) and 0 <= value < 1, "a rate in [0, 1)"),
    "dropout_rate": (0.2, lambda value: type(value) in (int, float) and 0 <= value < 1, "a rate in [0, 1)"),
    "minimalistic": (False, lambda value: type(value) is bool, "True or False"),
    "include_preprocessing": (True, lambda value: type(value) is bool, "True or False"),
}
# Keras's input size when the classifier is included and no input_shape is given (224 otherwise).
DEFAULT_SIZES = {f"EfficientNetB{size}": value for size, value in enumerate((224, 240, 260, 300, 380, 456, 528, 600))}
DEFAULT_SIZES.update({"Xception": 299, "InceptionV3": 299})
# Families whose modules k2t writes for images of any size (input_shape None without the classifier, as Keras).
ANY_SIZE = ("ResNet", "VGG", "DenseNet")
# ConvNeXt: include_preprocessing (Keras's PreStem Normalization), and a name that prefixes every layer's name.
PARAMETERS.update(
    dict.fromkeys(
        ("ConvNeXtTiny", "ConvNeXtSmall", "ConvNeXtBase", "ConvNeXtLarge", "ConvNeXtXLarge"),
        (
            "include_top",
            "include_preprocessing",
            "weights",
            "input_tensor",
            "input_shape",
            "pooling",
            "classes",
            "classifier_activation",
            "name",
        ),
    )
)
# EfficientNetV2: include_preprocessing (its input Rescaling, and Normalization for B0 to B3) comes last.
PARAMETERS.update(
    dict.fromkeys(
        (*(f"EfficientNetV2B{size}" for size in range(4)), "EfficientNetV2S", "EfficientNetV2M", "EfficientNetV2L"),
        (
            "include_top",
            "weights",
            "input_tensor",
            "input_shape",
            "pooling",
            "classes",
            "classifier_activation",
            "include_preprocessing",
            "name",
        ),
    )
)
DEFAULT_SIZES.update(
    {
        f"EfficientNetV2{size}": value
        for size, value in zip(("B0", "B1", "B2", "B3", "S", "M", "L"), (224, 240, 260, 300, 384, 480, 480))
    }
)


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
    options: dict = field(default_factory=dict)  # a family's own arguments (OPTIONS), Keras's defaults filled in
    include_preprocessing: bool = True  # ConvNeXt, EfficientNetV2: the input's normalisation inside the model
    name: str | None = None  # ConvNeXt's model name, which prefixes its layers' names (None: Keras's default)
    pretrained: Pretrained | None = None  # weights="imagenet" (Keras's default)


@dataclass(frozen=True)
class Pretrained:
    """A keras.applications model with Keras's ImageNet weights: the Keras call that loads them (`k2t weights
    --imagenet` builds it once and ports its weights) and the file the converted script loads them from."""

    keras_class: str
    keyword_arguments: tuple[
        tuple[str, object], ...
    ]  # every argument, as Keras reads it, weights="imagenet" (or a path)
    file: str  # the ported state_dict's name in Keras's cache ($KERAS_HOME/models)
    path_code: str | None = None  # weights=<path>: the script's expression of it (the port lies beside it, as .pt)

    @property
    def output(self) -> str:
        """Where `k2t weights --imagenet` writes the port, relative paths to the current directory as Keras reads them."""
        if self.path_code is None:
            return ""
        # The converted script's rule (templates/functions/imagenet_weights.py.j2): os.path.splitext, then ".pt".
        return os.path.splitext(dict(self.keyword_arguments)["weights"])[0] + ".pt"


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
    imagenet = weights is None or weights.literal == "imagenet"  # Keras's default
    # A path to a copy of Keras's weight file (a Kaggle dataset's resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5).
    weight_path = weights if weights is not None and isinstance(weights.literal, str) and not imagenet else None
    if not imagenet and weight_path is None and weights is not None and weights.literal is not None:
        raise Unsupported(
            "K2T102",
            f'{call.short_name}(weights={weights.code}) is not translated: k2t takes None, "imagenet" or the path of Keras\'s weight file',
            weights.pos,
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
        size = DEFAULT_SIZES.get(call.short_name, 224)  # Keras's default size with the classifier
        input_shape = (size, size, 3)
    if input_shape is None and call.short_name.startswith(ANY_SIZE):
        # Keras's default without the classifier: images of any size, (None, None, 3). These families' modules
        # pad and pool the same way at every size (no padding of theirs depends on the input's size).
        input_shape = (None, None, 3)
    open_sizes = (
        input_shape is not None and tuple(input_shape)[:2] == (None, None) and call.short_name.startswith(ANY_SIZE)
    )
    if not (
        isinstance(input_shape, (tuple, list))
        and len(input_shape) == 3
        and all((isinstance(d, int) and d > 0) or (open_sizes and i < 2) for i, d in enumerate(input_shape))
    ):
        where = given["input_shape"].pos if "input_shape" in given else call.pos
        if input_shape is None:
            raise Unsupported(
                "K2T102",
                f"{call.short_name}() without input_shape (Keras's images of any size) is translated for ResNet, VGG and "
                "DenseNet only: give input_shape=(height, width, channels)",
                where,
            )
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
    if not open_sizes:
        _check_min_size(call, given, input_shape)
    include_preprocessing = _literal(call, given, "include_preprocessing", True)
    # Only where Keras's layer names depend on it: elsewhere the name stays as the script wrote it.
    name = _literal(call, given, "name", None) if call.short_name.startswith("ConvNeXt") else None
    if name is not None and not isinstance(name, str):
        raise Unsupported("K2T102", f"{call.short_name}(name={name!r}) must be a string", given["name"].pos)
    arguments = ", ".join(
        [*(value.code for value in call.args), *(f"{key}={value.code}" for key, value in call.kwargs)]
    )
    pretrained = None
    if imagenet or weight_path is not None:
        if include_top and classes != 1000:
            raise Unsupported(
                "K2T102",
                f'{call.short_name}(weights="imagenet", classes={classes}): Keras refuses it (its classifier has 1000 classes)',
                given["classes"].pos,
            )
        if input_shape[2] != 3:
            where = given["input_shape"].pos if "input_shape" in given else call.pos
            raise Unsupported(
                "K2T102", f'{call.short_name}(weights="imagenet") on {input_shape[2]} channels: Keras refuses it', where
            )
        pretrained = _pretrained(call, given, tuple(input_shape), bool(include_top), weight_path)
    return ApplicationArgs(
        include_top=bool(include_top),
        input_shape=tuple(input_shape),
        pooling=pooling if not include_top else "avg",  # with the classifier, Keras averages (VGG16 flattens instead)
        classes=classes,
        classifier_activation=activation,
        alpha=float(alpha),
        code=f"keras.applications.{call.short_name}({arguments})",
        options=_options(call, given),
        include_preprocessing=bool(include_preprocessing),
        name=name,
        pretrained=pretrained,
    )


def _pretrained(call: KerasCall, given: dict, input_shape: tuple, include_top: bool, weight_path=None) -> Pretrained:
    """The Keras call `k2t weights --imagenet` makes, and the name of the file it writes: the model, its input
    size, and each other argument that changes the weights (Keras's MobileNets have one set per input size)."""
    keywords = {
        key: value.literal for key, value in given.items() if value.is_literal and key not in ("weights", "name")
    }
    keywords.update(input_shape=input_shape, weights="imagenet" if weight_path is None else weight_path.literal)
    if weight_path is not None:
        return Pretrained(call.short_name, tuple(sorted(keywords.items())), "", weight_path.code)
    parts = [call.short_name, "imagenet", f"{input_shape[0]}x{input_shape[1]}"]
    if not include_top:
        parts.append("notop")
    for key in sorted(keywords):
        if key not in ("include_top", "input_shape", "weights", "pooling", "classifier_activation", "classes"):
            parts.append(f"{key}-{keywords[key]}")
    file = re.sub(r"[^A-Za-z0-9_.-]+", "", "_".join(parts)) + ".pt"
    return Pretrained(call.short_name, tuple(sorted(keywords.items())), file)


def _check_min_size(call: KerasCall, given: dict, input_shape) -> None:
    smallest = MIN_SIZES.get(call.short_name)
    if smallest is not None and min(input_shape[:2]) < smallest:
        where = given["input_shape"].pos if "input_shape" in given else call.pos
        raise Unsupported(
            "K2T102", f"{call.short_name}(): Keras refuses inputs smaller than {smallest}x{smallest}", where
        )


def _options(call: KerasCall, given: dict) -> dict:
    """The family's own arguments (depth_multiplier, minimalistic, ...) as literals, defaults filled in."""
    options = {}
    for key in PARAMETERS[call.short_name]:
        if key not in OPTIONS:
            continue
        default, valid, expected = OPTIONS[key]
        value = _literal(call, given, key, default)
        if not valid(value):
            raise Unsupported("K2T102", f"{call.short_name}({key}={value!r}) must be {expected}", given[key].pos)
        options[key] = value
    return options


def halved(size: int | None, times: int) -> int | None:
    """A size after ``times`` stride-2 stages that each keep ceil(size / 2), as every downsampling of these
    architectures does (padding "same", Keras's correct_pad, or a pad then "valid"); None stays open."""
    if size is None:
        return None
    for _ in range(times):
        size = -(-size // 2)
    return size


def head(args: ApplicationArgs, layers: Layers, channels: int, spatial: int, pool_names: tuple[str, str]) -> list[Dim]:
    """The layers after the features (pooling, the classifier) and the output shape, batch excluded."""
    if args.include_top:
        layers.add(pool_names[0], "GlobalAveragePooling2D")
        layers.add("predictions", "Dense", "predictions", "dense")
        return known([args.classes])
    if args.pooling == "avg":
        layers.add(pool_names[0], "GlobalAveragePooling2D")
        return known([channels])
    if args.pooling == "max":
        layers.add(pool_names[1], "GlobalMaxPooling2D")
        return known([channels])
    return known([spatial, spatial, channels])


def translate_application(call: KerasCall, class_name: str) -> ModulePlan:
    """The module plan of a keras.applications call; its class is written whole (``ModulePlan.source``)."""
    from . import convnext, densenet, efficientnet, efficientnet_v2, mobilenet_v2, resnet, resnet_v2, vgg

    builders = {
        "MobileNetV2": mobilenet_v2.build,
        **{variant: efficientnet.build_for(variant) for variant in efficientnet.VARIANTS},
        # One module per family, one builder per model of it.
        **{
            variant: family.build_for(variant)
            for family in (vgg, resnet, resnet_v2, densenet)
            for variant in family.VARIANTS
        },
        **{variant: convnext.build_for(variant) for variant in convnext.VARIANTS},
        **{variant: efficientnet_v2.build_for(variant) for variant in efficientnet_v2.VARIANTS},
    }
    from . import inception_v3, mobilenet, mobilenet_v3, xception

    builders.update(
        {
            "MobileNet": mobilenet.build,
            "MobileNetV3Small": mobilenet_v3.build_for("small"),
            "MobileNetV3Large": mobilenet_v3.build_for("large"),
            "Xception": xception.build,
            "InceptionV3": inception_v3.build,
        }
    )
    args = application_args(call)
    if args.input_shape[0] != args.input_shape[1]:
        raise Unsupported("K2T102", f"{call.short_name}() with a non-square input_shape is not translated", call.pos)
    template, context, layers, output_shape, helpers = builders[APPLICATIONS[call.name]](args)
    layers.plans[-1].output_shape = check_shape(output_shape)
    context = {
        "keras_call": args.code,
        "batch_norm": BATCH_NORM,
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
        input_shape=known(list(args.input_shape)),
        helpers=[BATCH_NORM, *helpers],
        source=Helper(class_name, template, tuple(context.items())),
        keras_layer_names=layers.names,
        pretrained=args.pretrained,
    )


# len(model.layers) of a keras.applications model without its top (Keras 3, InputLayer included), and the
# layers include_top adds; pooling= without the top adds one. Counted on Keras's models (tests/test_model_api.py).
# Keras 3.15's len(model.layers): (without the classifier, the layers the classifier adds); a pooling= adds one.
# Measured on Keras's own models (tests/test_model_api.py compares them).
_LAYER_COUNTS = {"MobileNetV2": (154, 2), "VGG16": (19, 4), "ResNet50": (175, 2)}


def keras_layer_count(call: KerasCall) -> int:
    """``len(base_model.layers)`` of ``base_model = keras.applications.X(...)``: Keras's count."""
    counts = _LAYER_COUNTS.get(APPLICATIONS[call.name])
    if counts is None:
        raise Unsupported("K2T140", f"len(model.layers) of {call.short_name}() is not translated", call.pos)
    args = application_args(call)
    if args.include_top:
        return counts[0] + counts[1]
    return counts[0] + (args.pooling is not None)
