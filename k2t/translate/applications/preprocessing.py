"""``keras.applications.<family>.preprocess_input(x)`` on arrays -> a generated numpy function with the
family's arithmetic, as Keras's imagenet_utils writes it for a numpy batch: "tf" mode (x / 127.5 - 1) for
MobileNetV2 and ResNet V2, "caffe" mode (RGB -> BGR, ImageNet's channel means subtracted) for ResNet and VGG,
"torch" mode (x / 255, then ImageNet's channel means and deviations) for DenseNet, and none for EfficientNet,
EfficientNetV2 and ConvNeXt (Keras 3 returns x as given: the model rescales its inputs itself).

On a Keras tensor of a model (``x = preprocess_input(inputs)``) the call stays a diagnostic.
"""

from __future__ import annotations

from ...ir import KerasCall
from ..helpers import Helper

_MODES = {
    "keras.applications.mobilenet_v2.preprocess_input": "tf",
    "keras.applications.resnet50.preprocess_input": "caffe",
    "keras.applications.resnet.preprocess_input": "caffe",
    "keras.applications.vgg16.preprocess_input": "caffe",
    "keras.applications.vgg19.preprocess_input": "caffe",
    "keras.applications.efficientnet.preprocess_input": "none",
    "keras.applications.resnet_v2.preprocess_input": "tf",
    "keras.applications.densenet.preprocess_input": "torch",
    # Pass-throughs in Keras 3: the models normalise their inputs themselves (include_preprocessing).
    "keras.applications.convnext.preprocess_input": "none",
    "keras.applications.efficientnet_v2.preprocess_input": "none",
}
_MODES.update(
    {
        "keras.applications.mobilenet.preprocess_input": "tf",
        "keras.applications.mobilenet_v3.preprocess_input": "none",  # the model's own Rescaling scales the pixels
        "keras.applications.xception.preprocess_input": "tf",
        "keras.applications.inception_v3.preprocess_input": "tf",
    }
)
PREPROCESS_FUNCTIONS = tuple(_MODES)
GENERATED_NAMES = dict.fromkeys(_MODES, "preprocess_input")


def preprocess_helper(name: str) -> Helper:
    """The generated function of ``name`` (one of PREPROCESS_FUNCTIONS)."""
    return Helper("preprocess_input", "functions/preprocess_input.py.j2", (("mode", _MODES[name]),))


def translate_preprocess_input(call: KerasCall) -> tuple[Helper, str] | None:
    """The generated function and the call's arguments as written; None (the call stays, a K2T100) for an
    argument other than the images (``data_format=`` other than Keras's default channels-last)."""
    given, extra, unknown = call.bind(("x", "data_format"))
    data_format = given.get("data_format")
    if extra is not None or unknown is not None or "x" not in given:
        return None
    if data_format is not None and data_format.literal not in (None, "channels_last"):
        return None
    return preprocess_helper(call.name), given["x"].code
