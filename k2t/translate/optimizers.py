"""Keras optimizers -> torch optimizers (or generated ones) with Keras's update rules."""

from __future__ import annotations

from dataclasses import dataclass

from ..diagnostics import Unsupported
from ..ir import Value
from .helpers import Helper


@dataclass(frozen=True)
class OptimizerRow:
    keras: str
    defaults: tuple[tuple[str, object], ...]  # Keras argument order and defaults
    build: str  # "adam", "torch", "rmsprop", "adamax", "adagrad"


_ROWS = {
    "SGD": OptimizerRow("SGD", (("learning_rate", 0.01), ("momentum", 0.0), ("nesterov", False)), "torch"),
    "Adam": OptimizerRow(
        "Adam",
        (("learning_rate", 0.001), ("beta_1", 0.9), ("beta_2", 0.999), ("epsilon", 1e-07), ("amsgrad", False)),
        "adam",
    ),
    "AdamW": OptimizerRow(
        "AdamW",
        (
            ("learning_rate", 0.001),
            ("weight_decay", 0.004),
            ("beta_1", 0.9),
            ("beta_2", 0.999),
            ("epsilon", 1e-07),
            ("amsgrad", False),
        ),
        "adam",
    ),
    "RMSprop": OptimizerRow(
        "RMSprop",
        (("learning_rate", 0.001), ("rho", 0.9), ("momentum", 0.0), ("epsilon", 1e-07), ("centered", False)),
        "rmsprop",
    ),
    "Adagrad": OptimizerRow(
        "Adagrad", (("learning_rate", 0.001), ("initial_accumulator_value", 0.1), ("epsilon", 1e-07)), "adagrad"
    ),
    "Adadelta": OptimizerRow("Adadelta", (("learning_rate", 0.001), ("rho", 0.95), ("epsilon", 1e-07)), "torch"),
    "Adamax": OptimizerRow(
        "Adamax", (("learning_rate", 0.001), ("beta_1", 0.9), ("beta_2", 0.999), ("epsilon", 1e-07)), "adamax"
    ),
    "Nadam": OptimizerRow(
        "Nadam", (("learning_rate", 0.001), ("beta_1", 0.9), ("beta_2", 0.999), ("epsilon", 1e-07)), "torch"
    ),
}
_STRINGS = {name.lower(): name for name in _ROWS}
# Arguments every Keras optimizer accepts that change nothing here (when left at their defaults).
_IGNORED = {"name": None, "weight_decay": None, "clipnorm": None, "clipvalue": None, "global_clipnorm": None,
            "use_ema": False, "jit_compile": None, "loss_scale_factor": None, "gradient_accumulation_steps": None}


@dataclass(frozen=True)
class OptimizerPlan:
    expression: str  # with {params} for the parameters
    helper: Helper | None


def _options(value: Value) -> tuple[OptimizerRow, dict[str, object]]:
    if value.is_literal and isinstance(value.literal, str):
        key = value.literal.lower()
        if key not in _STRINGS:
            raise Unsupported("K2T121", f"optimizer {value.literal!r} is not translated", value.pos)
        row = _ROWS[_STRINGS[key]]
        return row, dict(row.defaults)
    call = value.keras_call
    if call is None or not call.name.startswith("keras.optimizers.") or call.short_name not in _ROWS:
        raise Unsupported("K2T121", f"optimizer `{value.code}` is not translated", value.pos)
    row = _ROWS[call.short_name]
    options = dict(row.defaults)
    names = [k for k, _ in row.defaults]
    for index, item in enumerate(call.args):
        if index >= len(names):
            raise Unsupported("K2T121", f"optimizer `{value.code}`: too many positional arguments", item.pos)
        options[names[index]] = _literal(item, names[index])
    for key, item in call.kwargs:
        if key == "lr":  # Keras 2 spelling of learning_rate
            key = "learning_rate"
        if key in options:
            options[key] = _literal(item, key)
        elif key in _IGNORED:
            given = _literal(item, key) if key != "name" else None
            if given != _IGNORED[key]:
                raise Unsupported("K2T121", f"optimizer argument {key}= is not translated yet", item.pos)
        else:
            raise Unsupported("K2T121", f"optimizer argument {key}= is not translated", item.pos)
    return row, options


def _literal(item: Value, key: str) -> object:
    if not item.is_literal:
        raise Unsupported("K2T121", f"optimizer argument {key}={item.code} must be a literal", item.pos)
    return item.literal


def _num(v: object) -> str:
    return repr(v)


def plan_optimizer(value: Value | None) -> OptimizerPlan:
    if value is None:
        value = Value(code='"rmsprop"', pos=(0, 0), literal="rmsprop")  # Keras compile()'s default
    row, o = _options(value)
    lr = _num(o["learning_rate"])
    if row.keras == "SGD":
        args = [f"lr={lr}"]
        if o["momentum"]:
            args.append(f"momentum={_num(o['momentum'])}")
        if o["nesterov"]:
            args.append("nesterov=True")
        return OptimizerPlan(f"torch.optim.SGD({{params}}, {', '.join(args)})", None)
    if row.build == "adam":
        base = row.keras
        args = [f"lr={lr}", f"betas=({_num(o['beta_1'])}, {_num(o['beta_2'])})", f"eps={_num(o['epsilon'])}"]
        if base == "AdamW":
            args.append(f"weight_decay={_num(o['weight_decay'])}")
        if o["amsgrad"]:
            args.append("amsgrad=True")
        helper = Helper(f"Keras{base}", "optimizers/keras_adam.py.j2", (("base", base),))
        return OptimizerPlan(f"Keras{base}({{params}}, {', '.join(args)})", helper)
    if row.build == "rmsprop":
        args = [f"lr={lr}"]
        if o["rho"] != 0.9:
            args.append(f"rho={_num(o['rho'])}")
        if o["momentum"]:
            args.append(f"momentum={_num(o['momentum'])}")
        if o["epsilon"] != 1e-07:
            args.append(f"eps={_num(o['epsilon'])}")
        if o["centered"]:
            args.append("centered=True")
        return OptimizerPlan(f"KerasRMSprop({{params}}, {', '.join(args)})", Helper("KerasRMSprop", "optimizers/keras_rmsprop.py.j2"))
    if row.build == "adamax":
        args = [f"lr={lr}", f"betas=({_num(o['beta_1'])}, {_num(o['beta_2'])})", f"eps={_num(o['epsilon'])}"]
        return OptimizerPlan(f"KerasAdamax({{params}}, {', '.join(args)})", Helper("KerasAdamax", "optimizers/keras_adamax.py.j2"))
    if row.build == "adagrad":
        # Keras: acc starts at 0.1 and the update divides by sqrt(acc + eps); torch divides by
        # sqrt(acc) + eps, so start torch's accumulator at 0.1 + eps and set its eps to 0.
        initial = float(o["initial_accumulator_value"]) + float(o["epsilon"])  # type: ignore[arg-type]
        return OptimizerPlan(f"torch.optim.Adagrad({{params}}, lr={lr}, initial_accumulator_value={initial!r}, eps=0.0)", None)
    if row.keras == "Adadelta":
        return OptimizerPlan(
            f"torch.optim.Adadelta({{params}}, lr={lr}, rho={_num(o['rho'])}, eps={_num(o['epsilon'])})", None
        )
    if row.keras == "Nadam":
        # momentum_decay=1.0 gives Keras's schedule mu_t = beta_1 * (1 - 0.5 * 0.96**t).
        return OptimizerPlan(
            f"torch.optim.NAdam({{params}}, lr={lr}, betas=({_num(o['beta_1'])}, {_num(o['beta_2'])}), "
            f"eps={_num(o['epsilon'])}, momentum_decay=1.0)",
            None,
        )
    raise Unsupported("K2T121", f"optimizer `{value.code}` is not translated", value.pos)
