"""Keras weight regularizers -> loss terms added to the training loss."""

from __future__ import annotations

from ..diagnostics import Unsupported
from ..ir import Value

# Keras defaults: L1() and L2() use 0.01; L1L2() uses 0.0 for both.
_STRINGS = {"l1": (0.01, 0.0), "l2": (0.0, 0.01)}


def regularizer_terms(value: Value | None, tensor: str) -> list[str]:
    if value is None or (value.is_literal and value.literal is None):
        return []
    if value.is_literal and isinstance(value.literal, str):
        if value.literal not in _STRINGS:
            raise Unsupported("K2T112", f"regularizer {value.literal!r} is not translated", value.pos)
        l1, l2 = _STRINGS[value.literal]
    elif value.keras_call is not None and value.keras_call.name.startswith("keras.regularizers."):
        call = value.keras_call
        kind = call.short_name.lower()
        if kind in ("l1", "l2"):
            given = call.arg(0, kind)
            amount = _literal(given, 0.01)
            l1, l2 = (amount, 0.0) if kind == "l1" else (0.0, amount)
        elif kind == "l1l2" or kind == "l1_l2":
            l1 = _literal(call.arg(0, "l1"), 0.0)
            l2 = _literal(call.arg(1, "l2"), 0.0)
        else:
            raise Unsupported("K2T112", f"regularizer `{value.code}` is not translated", value.pos)
    else:
        raise Unsupported("K2T112", f"regularizer `{value.code}` is not translated", value.pos)
    terms = []
    if l1:
        terms.append(f"{l1!r} * {tensor}.abs().sum()")
    if l2:
        terms.append(f"{l2!r} * {tensor}.square().sum()")
    return terms


def _literal(value: Value | None, default: float) -> float:
    if value is None:
        return default
    if not value.is_literal or not isinstance(value.literal, (int, float)):
        raise Unsupported("K2T112", f"regularizer strength {value.code} must be a number", value.pos)
    return float(value.literal)
