"""Keras metrics -> generated per-sample metric functions and their history keys."""

from __future__ import annotations

from ..diagnostics import Unsupported
from ..ir import Value
from .helpers import Helper

_FUNCTIONS = {
    "binary_accuracy": Helper("binary_accuracy", "metrics/binary_accuracy.py.j2"),
    "categorical_accuracy": Helper("categorical_accuracy", "metrics/categorical_accuracy.py.j2"),
    "sparse_categorical_accuracy": Helper("sparse_categorical_accuracy", "metrics/sparse_categorical_accuracy.py.j2"),
    "mean_absolute_error": Helper("mean_absolute_error", "metrics/mean_absolute_error.py.j2"),
    "mean_squared_error": Helper("mean_squared_error", "metrics/mean_squared_error.py.j2"),
}
_ACCURACY = Helper(
    "accuracy",
    "metrics/accuracy.py.j2",
    requires=(_FUNCTIONS["binary_accuracy"], _FUNCTIONS["sparse_categorical_accuracy"], _FUNCTIONS["categorical_accuracy"]),
)
_STRINGS = {
    "mae": "mean_absolute_error",
    "mean_absolute_error": "mean_absolute_error",
    "mse": "mean_squared_error",
    "mean_squared_error": "mean_squared_error",
    "binary_accuracy": "binary_accuracy",
    "categorical_accuracy": "categorical_accuracy",
    "sparse_categorical_accuracy": "sparse_categorical_accuracy",
}
_OBJECTS = {
    "BinaryAccuracy": "binary_accuracy",
    "CategoricalAccuracy": "categorical_accuracy",
    "SparseCategoricalAccuracy": "sparse_categorical_accuracy",
    "MeanAbsoluteError": "mean_absolute_error",
    "MeanSquaredError": "mean_squared_error",
}


def plan_metric(value: Value, loss: str | None, units: str | None) -> tuple[str, Helper]:
    """(history key, helper computing per-sample values) of one compile(metrics=[...]) entry."""
    if value.is_literal and isinstance(value.literal, str):
        key = value.literal
        if key in ("accuracy", "acc"):
            return key, _accuracy(loss, units)
        if key in _STRINGS:
            return key, _FUNCTIONS[_STRINGS[key]]
        raise Unsupported("K2T122", f"metric {key!r} is not translated", value.pos)
    call = value.keras_call
    if call is not None and call.name.startswith("keras.metrics.") and call.short_name in _OBJECTS:
        canonical = _OBJECTS[call.short_name]
        name = canonical
        for key, item in call.kwargs:
            if key == "name" and item.is_literal and isinstance(item.literal, str):
                name = item.literal
            elif key == "threshold" and item.is_literal and item.literal == 0.5:
                continue
            else:
                raise Unsupported("K2T122", f"metric argument {key}= of `{value.code}` is not translated", item.pos)
        if call.args:
            raise Unsupported("K2T122", f"metric `{value.code}`: positional arguments are not translated", call.pos)
        return name, _FUNCTIONS[canonical]
    if value.keras_ref is not None and value.keras_ref.startswith("keras.metrics."):
        short = value.keras_ref.rsplit(".", 1)[-1]
        if short in _STRINGS:
            return short, _FUNCTIONS[_STRINGS[short]]
    raise Unsupported("K2T122", f"metric `{value.code}` is not translated", value.pos)


def _accuracy(loss: str | None, units: str | None) -> Helper:
    """Keras picks the accuracy from shapes; decide statically when the script makes it certain."""
    if units == "1":
        return _FUNCTIONS["binary_accuracy"]
    if loss == "sparse_categorical_crossentropy":
        return _FUNCTIONS["sparse_categorical_accuracy"]
    if loss == "categorical_crossentropy" and units is not None and units.isdigit():
        return _FUNCTIONS["categorical_accuracy"]
    return _ACCURACY
