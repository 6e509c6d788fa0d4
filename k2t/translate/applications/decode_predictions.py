"""``keras.applications.<family>.decode_predictions(preds, top=5)`` -> a generated function with Keras's
arithmetic (imagenet_utils.decode_predictions: each sample's ``top`` classes, best first).

Keras downloads ImageNet's class index on its first call and caches it (``imagenet_class_index.json`` under
``$KERAS_HOME/models``, ``~/.keras/models`` by default); the generated function reads that cached file and
downloads nothing, saying in one line where the file is expected when it is missing.
"""

from __future__ import annotations

from ...ir import KerasCall
from ...parse.syntax import FUNCTIONS
from ..helpers import Helper

# Every family's export of imagenet_utils' function, as parse.syntax lists them.
DECODE_FUNCTIONS = tuple(name for name in FUNCTIONS if name.endswith(".decode_predictions"))
GENERATED_NAMES = dict.fromkeys(DECODE_FUNCTIONS, "decode_predictions")
DECODE_PREDICTIONS = Helper("decode_predictions", "functions/decode_predictions.py.j2")


def translate_decode_predictions(call: KerasCall) -> tuple[Helper, str] | None:
    """The generated function and the call's arguments as written; None (the call stays, a K2T100) for
    arguments Keras does not take."""
    given, extra, unknown = call.bind(("preds", "top"))
    if extra is not None or unknown is not None or "preds" not in given:
        return None
    arguments = [*(value.code for value in call.args), *(f"{key}={value.code}" for key, value in call.kwargs)]
    return DECODE_PREDICTIONS, ", ".join(arguments)
