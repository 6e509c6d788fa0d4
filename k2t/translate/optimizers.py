"""Keras optimizers -> torch optimizers (or generated ones) with Keras's update rules.

Besides its update, every Keras optimizer does the same things in ``apply``
(keras/src/optimizers/base_optimizer.py): evaluate a LearningRateSchedule at
the 0-based count of updates done, clip the gradients (clipnorm per tensor,
global_clipnorm over all of them, clipvalue per value) and apply decoupled
weight decay (w -= lr * weight_decay * w) before the update. The generated
optimizer classes do them in ``step`` too, each only when the script uses it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..diagnostics import Unsupported
from ..ir import LearningRateAccess, Value
from ..parse import Todo
from .helpers import Helper
from .initializers import is_parameter
from .legacy import DECAYING_OPTIMIZERS, OPTIMIZER_ALIASES, decay_note, decay_schedule_arguments
from .plan import ModulePlan

if TYPE_CHECKING:
    from . import ScriptPlan


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
_IGNORED = {
    "name": None,
    "use_ema": False,
    "jit_compile": None,
    "loss_scale_factor": None,
    "gradient_accumulation_steps": None,
}
# Arguments of every Keras optimizer that the generated optimizer classes reproduce (base_optimizer.py).
_CLIPS = ("clipnorm", "global_clipnorm", "clipvalue")


@dataclass(frozen=True)
class ScheduleRow:
    template: str
    parameters: tuple[str, ...]  # Keras's argument order, `name` included
    required: int  # how many leading parameters have no default


# keras/src/optimizers/schedules/learning_rate_schedule.py
_SCHEDULES = {
    "ExponentialDecay": ScheduleRow(
        "exponential_decay", ("initial_learning_rate", "decay_steps", "decay_rate", "staircase", "name"), 3
    ),
    "PiecewiseConstantDecay": ScheduleRow("piecewise_constant_decay", ("boundaries", "values", "name"), 2),
    "PolynomialDecay": ScheduleRow(
        "polynomial_decay",
        ("initial_learning_rate", "decay_steps", "end_learning_rate", "power", "cycle", "name"),
        2,
    ),
    "InverseTimeDecay": ScheduleRow(
        "inverse_time_decay", ("initial_learning_rate", "decay_steps", "decay_rate", "staircase", "name"), 3
    ),
    "CosineDecay": ScheduleRow(
        "cosine_decay",
        ("initial_learning_rate", "decay_steps", "alpha", "name", "warmup_target", "warmup_steps"),
        2,
    ),
    "CosineDecayRestarts": ScheduleRow(
        "cosine_decay_restarts",
        ("initial_learning_rate", "first_decay_steps", "t_mul", "m_mul", "alpha", "name"),
        2,
    ),
}
SCHEDULE_MODULE = "keras.optimizers.schedules."


@dataclass(frozen=True)
class SchedulePlan:
    helper: Helper  # the generated class, named as Keras names the schedule
    arguments: str  # the script's arguments as written (`name=` dropped)


@dataclass(frozen=True)
class OptimizerPlan:
    constructor: str  # a torch class, used when there is no helper
    helper: Helper | None  # the generated optimizer class
    arguments: tuple[str, ...]  # after the parameters and the learning rate
    lr: str | SchedulePlan  # the learning rate: a number's source, or a schedule
    comment: str = ""  # a trailing comment for the line that builds it: a Keras 2 argument's meaning

    def expression(self, params: str, plan: ScriptPlan) -> str:
        """The constructor call; registers the generated classes it uses with ``plan``."""
        constructor = self.constructor
        if self.helper is not None:
            constructor = plan.name(plan.add_helper(self.helper).name)
        lr = self.lr
        if isinstance(lr, SchedulePlan):
            lr = f"{plan.name(plan.add_helper(lr.helper).name)}({lr.arguments})"
        return f"{constructor}({', '.join([params, f'lr={lr}', *self.arguments])})"


@dataclass
class _Options:
    row: OptimizerRow
    values: dict[str, object]
    schedule: SchedulePlan | None = None
    clip: tuple[str, str] | None = None  # (argument, source of its value)
    weight_decay: str | None = None  # source of Keras's weight_decay= for optimizers other than AdamW
    decay: Value | None = None  # Keras 2's decay= (not 0): a learning rate falling as 1 / (1 + decay * iterations)


def _options(value: Value) -> _Options:
    if value.is_literal and isinstance(value.literal, str):
        key = value.literal.lower()
        if key not in _STRINGS:
            raise Unsupported("K2T121", f"optimizer {value.literal!r} is not translated", value.pos)
        row = _ROWS[_STRINGS[key]]
        return _Options(row, dict(row.defaults))
    call = value.keras_call
    short_name = OPTIMIZER_ALIASES.get(call.short_name, call.short_name) if call is not None else None
    if call is None or not call.name.startswith("keras.optimizers.") or short_name not in _ROWS:
        raise Unsupported("K2T121", f"optimizer `{value.code}` is not translated", value.pos)
    row = _ROWS[short_name]
    options = _Options(row, dict(row.defaults))
    names = [k for k, _ in row.defaults]
    given = []
    for index, item in enumerate(call.args):
        if index >= len(names):
            raise Unsupported("K2T121", f"optimizer `{value.code}`: too many positional arguments", item.pos)
        given.append((names[index], item))
    given += [("learning_rate" if key == "lr" else key, item) for key, item in call.kwargs]  # lr: Keras 2's spelling
    for key, item in given:
        if key == "learning_rate" and item.keras_call is not None and item.keras_call.name.startswith(SCHEDULE_MODULE):
            options.schedule = _schedule(item)
        elif key == "learning_rate" and not item.is_literal:
            if (
                item.keras_call is not None
                or item.keras_ref is not None
                or item.rebound
                or item.code.lstrip().startswith("lambda")
            ):
                message = f"learning_rate={item.code} is not a number or a Keras schedule k2t can follow"
                raise Unsupported("K2T123", message, item.pos)
            # `Adam(learning_rate=lr)` in a loop over rates: the script's expression, where the optimizer is made.
            options.values[key] = _Code(item.code.strip())
        elif key == "momentum" and key in options.values and not item.is_literal and is_parameter(item):
            # `SGD(lr=learn_rate, momentum=momentum)` in a build function a grid search calls: the value it receives
            # (torch's SGD and the generated RMSprop skip a momentum of 0, as Keras does).
            options.values[key] = _Code(item.code.strip())
        elif key in options.values and not (key == "weight_decay" and row.keras != "AdamW"):
            options.values[key] = _literal(item, key)
        elif key in _CLIPS or key == "weight_decay":
            _feature(options, key, item)
        elif key == "decay":
            options.decay = _decay(row, item)
        elif key in _IGNORED:
            given_value = _literal(item, key) if key != "name" else None
            if given_value != _IGNORED[key]:
                raise Unsupported("K2T121", f"optimizer argument {key}= is not translated yet", item.pos)
        else:
            raise Unsupported("K2T121", f"optimizer argument {key}= is not translated", item.pos)
    return options


def _decay(row: OptimizerRow, item: Value) -> Value | None:
    """Keras 2's decay= of the optimizers that had it; None where it changes nothing (0)."""
    if row.keras not in DECAYING_OPTIMIZERS:
        raise Unsupported(
            "K2T121", f"optimizer argument decay= is not translated: Keras 2's {row.keras} had none", item.pos
        )
    if item.is_literal and item.literal in (0, 0.0):
        return None
    if item.is_literal and (isinstance(item.literal, bool) or not isinstance(item.literal, (int, float))):
        raise Unsupported("K2T121", f"optimizer argument decay={item.code} is not a number", item.pos)
    return item


def _feature(options: _Options, key: str, item: Value) -> None:
    """clipnorm=, global_clipnorm=, clipvalue=, weight_decay=: Keras does nothing for None (or 0)."""
    if item.is_literal and item.literal in (None, 0):
        return
    source = repr(item.literal) if item.is_literal else item.code
    if key == "weight_decay":
        options.weight_decay = source
        return
    if options.clip is not None:
        # Keras raises: only one of clipnorm, clipvalue and global_clipnorm can be set.
        raise Unsupported("K2T121", f"optimizer sets both {options.clip[0]}= and {key}= (Keras allows one)", item.pos)
    options.clip = (key, source)


def _schedule(value: Value) -> SchedulePlan:
    call = value.keras_call
    assert call is not None
    row = _SCHEDULES.get(call.short_name)
    if row is None:
        raise Unsupported("K2T123", f"learning-rate schedule `{call.name}` is not translated", value.pos)
    arguments, given = [], set()
    name_index = row.parameters.index("name")
    for index, item in enumerate(call.args):
        if index >= len(row.parameters):
            raise Unsupported("K2T123", f"{call.short_name}: too many positional arguments", item.pos)
        parameter = row.parameters[index]
        given.add(parameter)
        if parameter == "name":
            continue
        # Arguments after `name` (CosineDecay's warmup_*) become keywords: the generated class has no `name`.
        arguments.append(item.code if index < name_index else f"{parameter}={item.code}")
    for key, item in call.kwargs:
        if key not in row.parameters:
            raise Unsupported("K2T123", f"{call.short_name}({key}=...) is not a Keras argument", item.pos)
        given.add(key)
        if key != "name":
            arguments.append(f"{key}={item.code}")
    missing = [p for p in row.parameters[: row.required] if p not in given]
    if missing:
        raise Unsupported("K2T123", f"{call.short_name} needs {', '.join(missing)}", value.pos)
    return SchedulePlan(Helper(call.short_name, f"schedules/{row.template}.py.j2"), ", ".join(arguments))


def _literal(item: Value, key: str) -> object:
    if not item.is_literal:
        raise Unsupported("K2T121", f"optimizer argument {key}={item.code} must be a literal", item.pos)
    return item.literal


class _Code(str):
    """A value the converted script computes (a learning rate in a variable): written as its code."""

    def __repr__(self) -> str:
        return str(self)


def _num(v: object) -> str:
    return repr(v)


def plan_optimizer(value: Value | None, lr_changes: bool = False) -> OptimizerPlan:
    """The torch optimizer for compile()'s ``value``.

    ``lr_changes``: the script changes the learning rate between steps (callbacks,
    ``model.optimizer.learning_rate = ...``), which torch's SGD with momentum
    does not follow as Keras does.
    """
    if value is None:
        value = Value(code='"rmsprop"', pos=(0, 0), literal="rmsprop")  # Keras compile()'s default
    options = _options(value)
    comment = _keras2_decay(options, lr_changes)
    return dataclasses.replace(_torch_optimizer(value, options, lr_changes), comment=comment)


def _keras2_decay(options: _Options, lr_changes: bool) -> str:
    """Keras 2's decay= as the InverseTimeDecay schedule it equals; the comment that says so."""
    if options.decay is None:
        return ""
    if options.schedule is not None:
        raise Unsupported(
            "K2T121", "optimizer argument decay= on a learning-rate schedule is not translated", options.decay.pos
        )
    if lr_changes:
        # The generated schedule sets the rate at every update, over what a callback or the script sets.
        message = "optimizer argument decay= is not translated where the script or a callback changes the learning rate: Keras 2 decays the rate they set"
        raise Unsupported("K2T121", message, options.decay.pos)
    decay = repr(options.decay.literal) if options.decay.is_literal else options.decay.code
    arguments = decay_schedule_arguments(_num(options.values["learning_rate"]), decay)
    options.schedule = SchedulePlan(
        Helper("InverseTimeDecay", f"schedules/{_SCHEDULES['InverseTimeDecay'].template}.py.j2"), arguments
    )
    return decay_note(decay)


def _torch_optimizer(value: Value, options: _Options, lr_changes: bool) -> OptimizerPlan:
    row, o = options.row, options.values
    lr: str | SchedulePlan = options.schedule or _num(o["learning_rate"])
    features: list[str] = [f"{options.clip[0]}={options.clip[1]}"] if options.clip else []
    if options.weight_decay is not None and row.build != "adam":
        features.append(f"weight_decay={options.weight_decay}")
    used = (options.schedule is not None, options.clip[0] if options.clip else None, options.weight_decay is not None)

    def helper(name: str, template: str, base: str | None = None) -> Helper:
        schedule, clip, weight_decay = used
        weight_decay = weight_decay and row.build != "adam"  # torch AdamW decays as Keras does
        args = (("schedule", schedule), ("clip", clip), ("weight_decay", weight_decay))
        return Helper(name, template, ((("base", base),) if base else ()) + args)

    def plain(constructor: str, arguments: list[str], name: str, base: str) -> OptimizerPlan:
        """A torch optimizer with Keras's update; a generated subclass adds the features the script uses."""
        if any(used):
            return OptimizerPlan("", helper(name, "optimizers/keras_torch.py.j2", base), (*arguments, *features), lr)
        return OptimizerPlan(constructor, None, tuple(arguments), lr)

    if row.keras == "SGD":
        args = []
        if o["momentum"]:
            args.append(f"momentum={_num(o['momentum'])}")
        if o["nesterov"]:
            args.append("nesterov=True")
        if any(used) or (lr_changes and o["momentum"]):
            return OptimizerPlan("", helper("KerasSGD", "optimizers/keras_sgd.py.j2"), (*args, *features), lr)
        return OptimizerPlan("torch.optim.SGD", None, tuple(args), lr)
    if row.build == "adam":
        # Keras's weight_decay= on Adam is the decoupled decay of AdamW.
        base = "AdamW" if options.weight_decay is not None else row.keras
        args = [f"betas=({_num(o['beta_1'])}, {_num(o['beta_2'])})", f"eps={_num(o['epsilon'])}"]
        if base == "AdamW":
            args.append(f"weight_decay={options.weight_decay or _num(o['weight_decay'])}")
        if o["amsgrad"]:
            args.append("amsgrad=True")
        return OptimizerPlan("", helper(f"Keras{base}", "optimizers/keras_adam.py.j2", base), (*args, *features), lr)
    if row.build == "rmsprop":
        args = []
        if o["rho"] != 0.9:
            args.append(f"rho={_num(o['rho'])}")
        if o["momentum"]:
            args.append(f"momentum={_num(o['momentum'])}")
        if o["epsilon"] != 1e-07:
            args.append(f"eps={_num(o['epsilon'])}")
        if o["centered"]:
            args.append("centered=True")
        return OptimizerPlan("", helper("KerasRMSprop", "optimizers/keras_rmsprop.py.j2"), (*args, *features), lr)
    if row.build == "adamax":
        args = [f"betas=({_num(o['beta_1'])}, {_num(o['beta_2'])})", f"eps={_num(o['epsilon'])}"]
        return OptimizerPlan("", helper("KerasAdamax", "optimizers/keras_adamax.py.j2"), (*args, *features), lr)
    if row.build == "adagrad":
        # Keras: acc starts at 0.1 and the update divides by sqrt(acc + eps); torch divides by
        # sqrt(acc) + eps, so start torch's accumulator at 0.1 + eps and set its eps to 0.
        initial = float(o["initial_accumulator_value"]) + float(o["epsilon"])  # type: ignore[arg-type]
        return plain(
            "torch.optim.Adagrad", [f"initial_accumulator_value={initial!r}", "eps=0.0"], "KerasAdagrad", "Adagrad"
        )
    if row.keras == "Adadelta":
        return plain(
            "torch.optim.Adadelta", [f"rho={_num(o['rho'])}", f"eps={_num(o['epsilon'])}"], "KerasAdadelta", "Adadelta"
        )
    if row.keras == "Nadam":
        # momentum_decay=1.0 gives Keras's schedule mu_t = beta_1 * (1 - 0.5 * 0.96**t).
        args = [f"betas=({_num(o['beta_1'])}, {_num(o['beta_2'])})", f"eps={_num(o['epsilon'])}", "momentum_decay=1.0"]
        return plain("torch.optim.NAdam", args, "KerasNadam", "NAdam")
    raise Unsupported("K2T121", f"optimizer `{value.code}` is not translated", value.pos)


def uses_schedule(value: Value | None) -> bool:
    """Was the optimizer of compile() built with a LearningRateSchedule?"""
    call = value.keras_call if value is not None else None
    if call is None:
        return False
    lr = call.arg(0, "learning_rate") or call.kwarg("lr")
    return lr is not None and lr.keras_call is not None and lr.keras_call.name.startswith(SCHEDULE_MODULE)


def translate_learning_rates(accesses: list[LearningRateAccess], trainings: dict, plan: ScriptPlan) -> None:
    """``model.optimizer.learning_rate`` -> the learning rate of the torch optimizer's (only) parameter group.

    The generated optimizers keep it there as Keras reports it: with a schedule,
    the rate of the next update.
    """
    replacements: dict[int, list[tuple[str, str]]] = {}  # id(statement) -> (read's source, its translation)
    writes = []
    for access in accesses:
        training = trainings.get(id(access.compiled)) if access.compiled is not None else None
        if training is None:
            message = f"`{access.model}.optimizer` of a model k2t did not see compiled is not translated"
            plan.todos.append(Todo(access.statement, "K2T140", message, access.pos))
            continue
        quote = access.quote
        lr = f"{training.optimizer_for(access.model)}.param_groups[0][{quote}lr{quote}]"
        if access.value is None:
            plan.calls[id(access.node)] = lr
            replacements.setdefault(id(access.statement), []).append((access.code, lr))
        elif uses_schedule(access.compiled.optimizer):
            # Keras raises TypeError: the learning rate of a schedule is not settable.
            message = "setting the learning rate of an optimizer built with a schedule (Keras raises TypeError)"
            plan.todos.append(Todo(access.statement, "K2T140", message, access.pos))
        else:
            writes.append((access, lr))
    for access, lr in writes:
        value = access.value.code
        for code, replacement in replacements.get(id(access.statement), []):
            value = value.replace(code, replacement)
        plan.statements[id(access.node)] = [f"{lr} {access.operator} {value}"]


def imported_schedule_names(script) -> set[str]:
    """Schedule classes the script imports from Keras by their own names.

    Those imports go, so the generated classes of the same names take their place.
    """
    import libcst as cst

    from ..names import canonical_name

    names: set[str] = set()
    for statement in script.module.body:
        for small in statement.body if isinstance(statement, cst.SimpleStatementLine) else ():
            if not isinstance(small, cst.ImportFrom) or small.module is None or isinstance(small.names, cst.ImportStar):
                continue
            if canonical_name(script.module.code_for_node(small.module)) + "." != SCHEDULE_MODULE:
                continue
            names.update(
                alias.name.value
                for alias in small.names
                if alias.asname is None and isinstance(alias.name, cst.Name) and alias.name.value in _SCHEDULES
            )
    return names


def sparse_embedding_rows(optimizer: OptimizerPlan, module: ModulePlan) -> tuple[OptimizerPlan, str | None]:
    """Keras's Adam/AdamW update of Embedding rows, when ``module`` has an Embedding; and a warning for the others.

    Keras (TensorFlow) hands the optimizer an Embedding's gradient as sparse
    rows, one per lookup, and Adam squares each row before repeated ids are
    summed. The Embedding then gets ``sparse=True`` (torch's gradient is one
    row per lookup too) and the generated Adam applies Keras's formula to it.
    SGD is linear in the gradient: it needs nothing. The other adaptive
    optimizers keep torch's dense update, and the returned message says so.
    """
    embeddings = [
        layer
        for layer in _layers(module)
        if layer.keras_class == "Embedding"
        and layer.constructor
        # built with trainable=False (k2t.translate.frozen_layers): no gradient, no update
        and "freeze=True" not in layer.constructor
        and not any("requires_grad_(False)" in line for line in layer.setup)
    ]
    helper = optimizer.helper
    if (
        not embeddings
        or optimizer.constructor == "torch.optim.SGD"
        or (helper is not None and helper.template == "optimizers/keras_sgd.py.j2")
    ):
        return optimizer, None
    if helper is None or helper.template != "optimizers/keras_adam.py.j2":
        name = helper.name if helper is not None else optimizer.constructor.rsplit(".", 1)[-1]
        return optimizer, (
            f"{name.removeprefix('Keras')} on an Embedding: Keras updates its rows from one gradient row per lookup, "
            "k2t (exact for SGD, Adam and AdamW) from the rows summed per id; training drifts where an id repeats in a batch"
        )
    for layer in embeddings:
        if "sparse=True" not in layer.constructor:
            layer.constructor = layer.constructor[:-1] + ", sparse=True)  # Keras's gradient: one row per lookup"
    return dataclasses.replace(
        optimizer, helper=dataclasses.replace(helper, args=(*helper.args, ("sparse_rows", True)))
    ), None


def _layers(module: ModulePlan):
    for layer in module.layers:
        yield layer
        yield from layer.inner  # a custom layer's sublayers (k2t.translate.sublayers)
        if layer.nested is not None:
            yield from _layers(layer.nested)


@dataclass(frozen=True)
class NamedOptimizers:
    """``compile(optimizer=optimizer)`` where ``optimizer`` is a name known when the script runs (a parameter of the
    function that builds the model, which a grid search sets): a table of the Keras optimizers the script names in
    strings, each built as its literal would be, looked up by the name's value as Keras looks it up."""

    name: str  # the expression as written
    choices: tuple[tuple[str, OptimizerPlan], ...]  # (Keras's lower-case name, its translation)
    comment: str = ""

    def expression(self, params: str, plan: ScriptPlan) -> str:
        entries = ", ".join(
            f'"{key}": lambda parameters: {choice.expression("parameters", plan)}' for key, choice in self.choices
        )
        return f"{{{entries}}}[{self.name}.lower()]({params})"


def plan_named_optimizer(value: Value, strings: frozenset[str]) -> NamedOptimizers | None:
    """The run-time table for ``value``, a bare name that holds an optimizer's string when the script runs; None
    for anything else, or where the script writes no optimizer's name."""
    if value.is_literal or value.keras_call is not None or value.keras_ref is not None or not is_parameter(value):
        return None
    names = sorted({string.lower() for string in strings} & set(_STRINGS))
    if not names:
        return None
    choices = tuple((name, plan_optimizer(Value(code=repr(name), pos=value.pos, literal=name))) for name in names)
    comment = f"  # Keras's optimizer named by `{value.code}`, of the names the script writes"
    return NamedOptimizers(value.code, choices, comment)
