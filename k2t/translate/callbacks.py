"""keras.callbacks -> small generated classes with Keras's names, arguments and semantics.

A callback the script builds (``keras.callbacks.EarlyStopping(patience=3)``,
inline in ``fit(callbacks=[...])`` or kept in a variable) becomes a call of a
generated class of the same name (templates/callbacks/); the generated fit
calls their hooks at Keras's points. A script class subclassing
``keras.callbacks.Callback`` is kept as written on a generated ``Callback``
base; inside it ``self.model.stop_training`` works as in Keras,
``self.model.optimizer.learning_rate`` becomes the torch optimizer's lr and
``self.model.predict/evaluate(...)`` the generated functions; any other
``self.model.<attr>`` is a located K2T171. Each generated class takes only the
constructor arguments the script passes; the others are Keras's defaults
written as constants.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from ..diagnostics import Unsupported
from ..ir import KerasCall, MethodCall, Value
from ..parse import KerasScript, Todo
from .helpers import Helper

_UNSET = object()


@dataclass(frozen=True)
class CallbackKind:
    """One keras.callbacks class: its constructor signature and what its translation needs."""

    template: str
    parameters: tuple[tuple[str, object], ...]  # Keras's signature: (name, default) with _UNSET for required
    unsupported: frozenset[str] = frozenset()  # Keras arguments k2t does not translate
    monitor: bool = False  # built on MonitorCallback (monitor / mode / min_delta / best)
    learning_rate: bool = False  # reads or changes the optimizer's learning rate: fit hands the optimizer over
    batch: bool = False  # needs the per-batch hooks

    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.parameters)


KINDS: dict[str, CallbackKind] = {
    "EarlyStopping": CallbackKind(
        "callbacks/early_stopping.py.j2",
        (
            ("monitor", "val_loss"),
            ("min_delta", 0),
            ("patience", 0),
            ("verbose", 0),
            ("mode", "auto"),
            ("baseline", None),
            ("restore_best_weights", False),
            ("start_from_epoch", 0),
        ),
        monitor=True,
    ),
    "ReduceLROnPlateau": CallbackKind(
        "callbacks/reduce_lr_on_plateau.py.j2",
        (
            ("monitor", "val_loss"),
            ("factor", 0.1),
            ("patience", 10),
            ("verbose", 0),
            ("mode", "auto"),
            ("min_delta", 1e-4),
            ("cooldown", 0),
            ("min_lr", 0.0),
        ),
        monitor=True,
        learning_rate=True,
    ),
    "ModelCheckpoint": CallbackKind(
        "callbacks/model_checkpoint.py.j2",
        (
            ("filepath", _UNSET),
            ("monitor", "val_loss"),
            ("verbose", 0),
            ("save_best_only", False),
            ("save_weights_only", False),
            ("mode", "auto"),
            ("save_freq", "epoch"),
            ("initial_value_threshold", None),
        ),
        monitor=True,
    ),
    "LearningRateScheduler": CallbackKind(
        "callbacks/learning_rate_scheduler.py.j2", (("schedule", _UNSET), ("verbose", 0)), learning_rate=True
    ),
    "CSVLogger": CallbackKind(
        "callbacks/csv_logger.py.j2", (("filename", _UNSET), ("separator", ","), ("append", False))
    ),
    "TensorBoard": CallbackKind(
        "callbacks/tensorboard.py.j2",
        (
            ("log_dir", "logs"),
            ("histogram_freq", 0),
            ("write_graph", True),
            ("write_images", False),
            ("write_steps_per_second", False),
            ("update_freq", "epoch"),
            ("profile_batch", 0),
            ("embeddings_freq", 0),
            ("embeddings_metadata", None),
        ),
        unsupported=frozenset(
            {
                "histogram_freq",
                "write_images",
                "write_steps_per_second",
                "update_freq",
                "profile_batch",
                "embeddings_freq",
                "embeddings_metadata",
            }
        ),
        learning_rate=True,  # it logs the optimizer's learning rate
    ),
    "TerminateOnNaN": CallbackKind("callbacks/terminate_on_nan.py.j2", (("raise_error", False),), batch=True),
    "ProgbarLogger": CallbackKind("callbacks/progbar_logger.py.j2", ()),
    "LambdaCallback": CallbackKind(
        "callbacks/lambda_callback.py.j2",
        tuple(
            (hook, None)
            for hook in (
                "on_epoch_begin",
                "on_epoch_end",
                "on_train_begin",
                "on_train_end",
                "on_train_batch_begin",
                "on_train_batch_end",
            )
        ),
    ),
}

# Arguments accepted only with their Keras default value (what they select is the only behaviour translated).
_DEFAULT_ONLY = {
    ("ModelCheckpoint", "save_freq"): "epoch",
    ("TensorBoard", "histogram_freq"): 0,
    ("TensorBoard", "update_freq"): "epoch",
    ("TensorBoard", "profile_batch"): 0,
    ("TensorBoard", "embeddings_freq"): 0,
    ("TensorBoard", "write_images"): False,
    ("TensorBoard", "write_steps_per_second"): False,
}

# Hooks a Keras callback may define that the generated fit calls.
_EPOCH_HOOKS = frozenset({"on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end"})
_BATCH_HOOKS = frozenset({"on_train_batch_begin", "on_train_batch_end", "on_batch_begin", "on_batch_end"})

# Keras's metric directions (MonitorCallback mode "auto"): these are maximised, losses and errors minimised.
_UP_METRICS = ("accuracy", "auc", "precision", "recall", "f1_score", "fbeta_score", "iou", "r2_score")


@dataclass(frozen=True)
class CallbackLoop:
    """What the generated fit does for the script's callbacks."""

    optimizer: bool  # hand the optimizer to the model (learning-rate callbacks change it)
    batch: bool  # call the per-batch hooks


@dataclass
class _Instance:
    kind: str
    call: KerasCall
    given: dict[str, Value]


CALLBACK_LEARNING_RATE = 'self.model.optimizer.param_groups[0]["lr"]'


def _callback_learning_rate_calls(script, plan) -> None:
    """``K.get_value(self.model.optimizer.lr)`` -> the lr itself; ``K.set_value(self.model.optimizer.lr, v)`` ->
    ``... = v``, where v's own reads of the learning rate (``K.get_value(...) * 0.5``) read it too."""
    code = script.module.code_for_node
    reads = {
        code(call): CALLBACK_LEARNING_RATE
        for call, statement in script.callback_learning_rate_calls
        if statement is None
    }
    reads.update(
        (code(node), CALLBACK_LEARNING_RATE) for node in script.callback_learning_rates
    )  # after the longer get_value(...)
    for call, statement in script.callback_learning_rate_calls:
        if statement is None:
            plan.calls[id(call)] = CALLBACK_LEARNING_RATE
            continue
        value = code(call.args[1].value)
        for read, replacement in reads.items():
            value = value.replace(read, replacement)
        plan.statements[id(statement)] = [f"{CALLBACK_LEARNING_RATE} = {value}"]


def translate_callbacks(script: KerasScript, plan) -> None:
    """Plan the generated callback classes and the code of every callback construction."""
    inline = [call for fit in script.calls if fit.method in ("fit", "fit_generator") for call in _inline_callbacks(fit)]
    outside = [(spec.call, spec.node) for spec in script.callbacks]
    if not inline and not outside and not script.callback_classes:
        return
    plan.taken.difference_update(script.callback_imports)  # those imports go; the generated classes take the names
    instances: list[tuple[_Instance, object]] = []
    for call, node in [*((call, None) for call in inline), *outside]:
        try:
            instances.append((_instance(call), node))
        except Unsupported as exc:
            if node is not None:
                plan.todos.append(Todo(node, exc.code, exc.message, exc.pos or call.pos))
            else:
                plan.callback_codes[id(call)] = exc  # raised again when the fit call is translated
    used: dict[str, set[str]] = {}
    for instance, _ in instances:
        used.setdefault(instance.kind, set()).update(instance.given)

    batch = any(KINDS[kind].batch for kind in used) or bool(used.get("LambdaCallback", set()) & _BATCH_HOOKS)
    for cls in script.callback_classes:
        hooks = set(cls.hooks)
        batch = batch or bool(hooks & _BATCH_HOOKS)
        for hook in sorted(hooks - _EPOCH_HOOKS - _BATCH_HOOKS):
            if hook.startswith(("on_test_", "on_predict_")):
                plan.todos.append(
                    Todo(
                        cls.node,
                        "K2T172",
                        f"{cls.name}.{hook}: the generated fit/evaluate/predict do not call {hook}",
                        cls.pos,
                    )
                )
    base = plan.add_helper(Helper("Callback", "callbacks/callback.py.j2", (("batch", batch),)))
    base_name = plan.name(base.name)
    for cls in script.callback_classes:
        if script.module.code_for_node(cls.base.value) != base_name:
            plan.expressions[id(cls.base)] = base_name

    for node in script.callback_learning_rates:
        # k2t's optimizers have one parameter group; Keras's learning-rate variable is its "lr".
        plan.expressions[id(node)] = CALLBACK_LEARNING_RATE
    _callback_learning_rate_calls(script, plan)

    names: dict[str, str] = {}
    monitor = None
    for kind, given in used.items():
        spec = KINDS[kind]
        requires: tuple[Helper, ...] = (base,)
        if spec.monitor:
            if monitor is None:
                monitor = Helper(
                    "MonitorCallback", "callbacks/monitor_callback.py.j2", (("up", _up_metrics(plan)),), (base,)
                )
            requires = (monitor,)
        parameters = [(name, default) for name, default in spec.parameters if name in given or default is _UNSET]
        helper = Helper(
            kind,
            spec.template,
            (("used", tuple(sorted(given))), ("signature", _signature(parameters)), ("defaults", _defaults(spec))),
            requires,
        )
        names[kind] = plan.name(plan.add_helper(helper).name)
    for instance, node in instances:
        code = _construction(names[instance.kind], instance.call)
        if node is not None:
            plan.calls[id(node)] = code
            # Also inside a fit(callbacks=...) expression that is not a plain list (`callbacks + [Keras(...)]`).
            plan.callback_texts[script.module.code_for_node(node)] = code
        else:
            plan.callback_codes[id(instance.call)] = code
    optimizer = any(KINDS[kind].learning_rate for kind in used) or bool(
        script.callback_learning_rates or script.callback_learning_rate_calls
    )
    plan.callback_loop = CallbackLoop(optimizer=optimizer, batch=batch)


def callbacks_argument(value: Value, plan) -> str:
    """The fit(callbacks=...) argument with the Keras callbacks built inline replaced by the generated classes."""
    if value.keras_call is not None:
        return _inline_code(value.keras_call, plan)
    if value.elements is not None and any(_is_callback(el.keras_call) for el in value.elements):
        parts = [_inline_code(el.keras_call, plan) if _is_callback(el.keras_call) else el.code for el in value.elements]
        if value.code.lstrip().startswith("("):
            return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"
        return "[" + ", ".join(parts) + "]"
    code = value.code
    for text, replacement in plan.callback_texts.items():
        code = code.replace(text, replacement)
    return code


def _inline_code(call: KerasCall, plan) -> str:
    code = plan.callback_codes.get(id(call))
    if isinstance(code, Unsupported):
        raise code
    if code is None:
        raise Unsupported("K2T170", f"`{call.name}` is not a Keras callback k2t translates", call.pos)
    return code


def _is_callback(call: KerasCall | None) -> bool:
    return call is not None and call.name.startswith("keras.callbacks.")


def _inline_callbacks(fit) -> list[KerasCall]:
    for key, value in _fit_callbacks(fit):
        if key == "callbacks":
            if value.keras_call is not None:
                return [value.keras_call] if _is_callback(value.keras_call) else []
            return [el.keras_call for el in value.elements or () if _is_callback(el.keras_call)]
    return []


def _fit_callbacks(fit):
    # fit(x, y, batch_size, epochs, verbose, callbacks, ...): callbacks is the sixth positional argument;
    # Keras 2's fit_generator(generator, steps_per_epoch, epochs, verbose, callbacks, ...): the fifth.
    position = 4 if fit.method == "fit_generator" else 5
    if len(fit.args) > position:
        yield "callbacks", fit.args[position]
    yield from fit.kwargs


def _instance(call: KerasCall) -> _Instance:
    kind = call.short_name
    spec = KINDS.get(kind)
    if spec is None or call.name != f"keras.callbacks.{kind}":
        raise Unsupported("K2T170", f"`{call.name}` is not translated", call.pos)
    given, extra, unknown = call.bind(spec.names())
    if extra is not None:
        raise Unsupported("K2T170", f"{kind}(): too many positional arguments", extra.pos)
    if unknown is not None:
        raise Unsupported("K2T170", f"{kind}({unknown[0]}=...) is not translated", unknown[1].pos)
    for key, value in given.items():
        default = _DEFAULT_ONLY.get((kind, key), _UNSET)
        if default is not _UNSET:
            if not (value.is_literal and value.literal == default):
                raise Unsupported(
                    "K2T170", f"{kind}({key}={value.code}) is not translated (only {default!r})", value.pos
                )
        elif key in spec.unsupported:
            raise Unsupported("K2T170", f"{kind}({key}=...) is not translated", value.pos)
        if key == "mode" and value.is_literal and value.literal not in ("auto", "min", "max"):
            raise Unsupported(
                "K2T170",
                f"{kind}(mode={value.code}): Keras falls back to 'auto' with a warning; write mode='auto'",
                value.pos,
            )
    for key in [key for key in given if (kind, key) in _DEFAULT_ONLY]:
        del given[key]  # the default behaviour is the translation: no parameter needed
    for name, default in spec.parameters:
        if default is _UNSET and name not in given:
            raise Unsupported("K2T170", f"{kind}() needs its {name} argument", call.pos)
    return _Instance(kind, call, given)


def _construction(class_name: str, call: KerasCall) -> str:
    """The generated class's call with the script's arguments as written.

    Arguments accepted only at their Keras default (``save_freq="epoch"``) are
    left out; when one of them was positional, the others go by keyword.
    """
    names = KINDS[call.short_name].names()
    dropped = {name for name in names if (call.short_name, name) in _DEFAULT_ONLY}
    positional = [(names[index], value) for index, value in enumerate(call.args)]
    if any(name in dropped for name, _ in positional):
        args = [f"{name}={value.code}" for name, value in positional if name not in dropped]
    else:
        args = [value.code for _, value in positional]
    args += [f"{key}={value.code}" for key, value in call.kwargs if key not in dropped]
    return f"{class_name}({', '.join(args)})"


def _signature(parameters) -> str:
    parts = ["self"]
    for name, default in parameters:
        parts.append(name if default is _UNSET else f"{name}={_source(default)}")
    return ", ".join(parts)


def _defaults(spec: CallbackKind) -> tuple[tuple[str, str], ...]:
    """Each parameter's Keras default as source text, for the ones the script does not pass."""
    return tuple((name, _source(default)) for name, default in spec.parameters if default is not _UNSET)


def _source(value) -> str:
    """A default as Python source, strings in double quotes."""
    return json.dumps(value) if isinstance(value, str) else repr(value)


def _up_metrics(plan) -> tuple[str, ...]:
    """History keys of the script's metrics that Keras maximises (mode "auto")."""
    keys: set[str] = set()
    for training in plan.trainings:
        pairs = list(training.metrics)
        for output in training.outputs or ():
            pairs += list(output.metrics)
        for metric in pairs:
            key, name = metric.key, metric.helper.name.lower()
            if any(word in name or word in key for word in _UP_METRICS) or key in ("acc",):
                keys.add(key)
    return tuple(sorted(keys))


def translate_callback_model_calls(script: KerasScript, plan, translate_call) -> None:
    """``self.model.predict(x)`` / ``self.model.evaluate(x, y)`` in a callback class -> the generated functions.

    ``translate_call`` is the translator of model method calls (translate._translate_call).
    evaluate needs the training it evaluates: the script's only one.
    """
    for spec in script.callback_model_calls:
        method = spec.call.name.rsplit(".", 1)[-1]
        training = plan.training_groups[0] if len(plan.training_groups) == 1 else None
        try:
            if method == "evaluate" and training is None:
                raise Unsupported(
                    "K2T171", "self.model.evaluate() in a callback needs the script to compile one model", spec.call.pos
                )
            call = MethodCall(
                "self.model", None, None, method, spec.call.pos, spec.call.args, spec.call.kwargs, spec.node
            )
            plan.calls[id(spec.node)] = translate_call(call, training.model if training else None, training, plan)
        except Unsupported as exc:
            plan.todos.append(Todo(spec.node, exc.code, exc.message, exc.pos or spec.call.pos))
