"""Keras weight constraints -> a projection torch applies after each optimizer step.

Keras's optimizer, once it has applied the gradients, replaces each variable that holds a constraint by the
constraint of it (``variable.assign(variable.constraint(variable))``, keras/src/optimizers/base_optimizer.py).
The port holds the constraint on the parameter (``self.kernel.constraint = MaxNormConstraint(max_value=2.0)``),
and one step post-hook, registered for every torch optimizer (``apply_constraints``), applies it to each
parameter the step updated: fit, train_on_batch, a GradientTape loop and a train_step all step an optimizer.

The constraint classes are Keras's own four (keras.constraints), computed as Keras computes them.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..diagnostics import Unsupported
from ..ir import Value
from .helpers import Helper

APPLY_CONSTRAINTS = Helper("apply_constraints", "constraints/apply_constraints.py.j2")


@dataclass(frozen=True)
class _Row:
    helper: Helper
    parameters: tuple[tuple[str, object], ...]  # Keras's parameters, in order, with their defaults


_ROWS = {
    "MaxNorm": _Row(Helper("MaxNormConstraint", "constraints/max_norm.py.j2"), (("max_value", 2), ("axis", 0))),
    "NonNeg": _Row(Helper("NonNegConstraint", "constraints/non_neg.py.j2"), ()),
    "UnitNorm": _Row(Helper("UnitNormConstraint", "constraints/unit_norm.py.j2"), (("axis", 0),)),
    "MinMaxNorm": _Row(
        Helper("MinMaxNormConstraint", "constraints/min_max_norm.py.j2"),
        (("min_value", 0.0), ("max_value", 1.0), ("rate", 1.0), ("axis", 0)),
    ),
}
# keras.constraints' functions and Keras 2's lower-case spellings (constraints.get("max_norm"), maxnorm(2)).
_ALIASES = {
    "max_norm": "MaxNorm",
    "maxnorm": "MaxNorm",
    "non_neg": "NonNeg",
    "nonneg": "NonNeg",
    "unit_norm": "UnitNorm",
    "unitnorm": "UnitNorm",
    "min_max_norm": "MinMaxNorm",
}
_KERAS1_KEYWORDS = {"m": "max_value"}  # Keras 1's maxnorm(m=2)


@dataclass(frozen=True)
class ConstraintPlan:
    code: str  # the torch constraint object: "MaxNormConstraint(max_value=2.0, axis=0)"
    helpers: tuple[Helper, ...]  # its class and the optimizer hook that applies it


def plan_constraint(value: Value | None) -> ConstraintPlan | None:
    """The torch constraint for a Keras one (a class, its function, or its name); None for none."""
    if value is None or value.is_literal and value.literal is None:
        return None
    given: dict[str, Value] = {}
    if value.is_literal and isinstance(value.literal, str):
        kind = _ALIASES.get(value.literal, value.literal)
    elif value.keras_call is not None and value.keras_call.name.startswith("keras.constraints."):
        call = value.keras_call
        kind = _ALIASES.get(call.short_name, call.short_name)
        row = _ROWS.get(kind)
        names = [name for name, _ in row.parameters] if row is not None else []
        if len(call.args) > len(names):
            raise Unsupported("K2T102", f"constraint `{value.code}`: too many positional arguments", value.pos)
        given.update(zip(names, call.args))
        for key, item in call.kwargs:
            key = _KERAS1_KEYWORDS.get(key, key)
            if key not in names:
                raise Unsupported("K2T102", f"constraint `{value.code}`: {key}= is not translated", item.pos)
            given[key] = item
    else:
        kind = None
    row = _ROWS.get(kind) if kind is not None else None
    if row is None:
        message = f"constraint `{value.code}` is not translated (k2t translates keras.constraints' MaxNorm, NonNeg, UnitNorm and MinMaxNorm)"
        raise Unsupported("K2T102", message, value.pos)
    arguments = []
    for name, default in row.parameters:
        item = given.get(name)
        literal = default if item is None else item.literal if item.is_literal else ...
        if name == "axis" and isinstance(literal, list):
            literal = tuple(literal)
        valid = (
            all(isinstance(axis, int) and not isinstance(axis, bool) for axis in literal)
            if name == "axis" and isinstance(literal, tuple)
            else isinstance(literal, (int, float))
            and not isinstance(literal, bool)
            and (name != "axis" or isinstance(literal, int))
        )
        if not valid:
            what = item.code if item is not None else repr(literal)
            raise Unsupported(
                "K2T102",
                f"constraint {row.helper.name}: {name}={what} must be a number",
                item.pos if item else value.pos,
            )
        arguments.append(f"{name}={literal!r}")
    return ConstraintPlan(f"{row.helper.name}({', '.join(arguments)})", (row.helper, APPLY_CONSTRAINTS))
