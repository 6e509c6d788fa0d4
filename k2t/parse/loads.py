"""`load_model(path)`: which architecture the file holds, resolved once every save of the script is known."""

from __future__ import annotations

import libcst as cst

from ..ir import CompileSpec, Instance, KerasScript, LoadSpec, MethodCall, ModelSpec, Value
from ..values import assigned_names
from .syntax import read_names


def saved_path(call: MethodCall) -> Value | None:
    """The file a ``save``/``save_weights``/``load_weights`` call names (its first argument or ``filepath=``)."""
    if call.args:
        return call.args[0]
    return dict(call.kwargs).get("filepath")


def _same_path(a: Value, b: Value) -> bool:
    """Two path arguments that name the same file: the same literal, or the same expression."""
    if a.is_literal and b.is_literal:
        return a.literal == b.literal
    return a.code.strip() == b.code.strip()


def _model_writers(script: KerasScript) -> list[tuple[Value, Instance, CompileSpec | None, str]]:
    """Where the script writes whole models: (path, model instance, compile in force, what wrote it).

    ``model.save(path)`` and a ``keras.callbacks.ModelCheckpoint(path)`` given to
    ``model.fit`` (unless it saves weights only, which load_model cannot read).
    """

    def callbacks_of(fit: MethodCall) -> Value | None:
        callbacks = dict(fit.kwargs).get("callbacks")
        if callbacks is None and len(fit.args) > 5:
            callbacks = fit.args[5]  # fit(x, y, batch_size, epochs, verbose, callbacks, ...)
        return callbacks

    writers = []
    for call in script.calls:
        if call.method == "save":
            path = saved_path(call)
            if path is not None:
                writers.append((path, call.instance, call.compiled, f"{call.model}.save()"))
        elif call.method == "fit":
            callbacks = callbacks_of(call)
            for element in (callbacks.elements or ()) if callbacks is not None else ():
                checkpoint = element.keras_call
                if checkpoint is None or checkpoint.name != "keras.callbacks.ModelCheckpoint":
                    continue
                path = checkpoint.arg(0, "filepath")
                weights_only = checkpoint.kwarg("save_weights_only")
                if path is not None and not (weights_only is not None and weights_only.literal is True):
                    writers.append((path, call.instance, call.compiled, "ModelCheckpoint"))

    # A ModelCheckpoint built outside fit(...) (`callbacks = [ModelCheckpoint(path), ...]`, or
    # `ckpt = ModelCheckpoint(path)` then `callbacks=[ckpt]`) writes the model of every fit given callbacks
    # through a name or expression; when those fits train several architectures, the load stays unresolved.
    def through_names(callbacks: Value) -> bool:
        if callbacks.elements is None:
            return not callbacks.is_literal
        return any(e.keras_call is None and not e.is_literal for e in callbacks.elements)

    passed = []
    for call in script.calls:
        callbacks = callbacks_of(call) if call.method == "fit" else None
        if callbacks is not None and through_names(callbacks):
            passed.append(call)
    for built in script.callbacks:
        checkpoint = built.call
        if checkpoint.name != "keras.callbacks.ModelCheckpoint":
            continue
        path = checkpoint.arg(0, "filepath")
        weights_only = checkpoint.kwarg("save_weights_only")
        if path is None or (weights_only is not None and weights_only.literal is True):
            continue
        for call in passed:
            writers.append((path, call.instance, call.compiled, "ModelCheckpoint"))
    return writers


def saved_before(script: KerasScript, model: ModelSpec) -> ModelSpec | None:
    """While parsing: the architecture a ``load_model`` stand-in ``model`` restores, where every model the
    script wrote at that path so far has this one architecture (``model.save(path)`` then ``model =
    load_model(path)``). None for any other model, or where k2t cannot tell yet (_resolve_loads decides at
    the end, and reports a load it cannot place)."""
    load = next((load for load in script.loads if load.instance.model is model), None)
    if load is None:
        return None
    stand_ins = {id(other.instance.model) for other in script.loads}
    models = {
        id(instance.model): instance.model
        for path, instance, _, _ in _model_writers(script)
        if _same_path(path, load.path)
    }
    if len(models) != 1 or next(iter(models)) in stand_ins:
        return None
    return next(iter(models.values()))


def _resolve_loads(script: KerasScript) -> None:
    """Give each ``load_model`` the architecture of the model the script saves at the same path.

    A file the script does not write itself (or writes from models of different
    architectures) stays unresolved: k2t cannot tell which module it holds.
    """
    stand_ins = {id(load.instance.model): load for load in script.loads}
    resolved: dict[int, ModelSpec] = {}

    def real(model: ModelSpec) -> ModelSpec | None:
        if id(model) not in stand_ins:
            return model
        return resolved.get(id(model))

    writers = _model_writers(script)

    def writers_at(load: LoadSpec):
        return [writer for writer in writers if _same_path(writer[0], load.path)]

    for load in script.loads:
        stand_in = load.instance.model
        matches = [
            (real(instance.model), compiled, saver)
            for path, instance, compiled, saver in writers
            if _same_path(path, load.path)
        ]
        models = {id(model): model for model, _, _ in matches if model is not None}
        if not matches:
            load.reason = (
                f"k2t cannot tell which model the file `{load.path.code}` holds: the script saves none at this path "
                "(build the model with its generated class and load the state_dict `k2t weights` wrote)"
            )
        elif not models:
            load.reason = (
                f"k2t cannot tell which model the file `{load.path.code}` holds: the model saved there is itself "
                "restored by a load_model() k2t cannot place"
            )
        elif len(models) > 1:
            load.reason = f"k2t cannot tell which model the file `{load.path.code}` holds: models of {len(models)} architectures are saved there"
        else:
            model, compiled, saver = next(match for match in matches if match[0] is not None)
            load.model, load.saver = model, saver
            made = {(id(instance.made_by), id(instance.made_at)) for _, instance, _, _ in writers_at(load)}
            if len(made) == 1:
                instance = next(instance for _, instance, _, _ in writers_at(load))
                load.factory_arguments = _factory_arguments(script, load, model, instance)
            load.saved_compile = compiled if load.compile else None
            resolved[id(stand_in)] = model
    # Point everything recorded on a stand-in at the resolved architecture.
    restored_calls = [(call, stand_ins.get(id(call.instance.model))) for call in script.calls]
    for call, load in restored_calls:
        if load is not None and load.model is not None:
            call.instance.model = load.model
            if call.compiled is None:
                call.compiled = load.saved_compile
    for compiled in script.compiles:
        load = stand_ins.get(id(compiled.model))
        if load is not None and load.model is not None:
            compiled.model = load.model


def _factory_arguments(script: KerasScript, load: LoadSpec, model: ModelSpec, made: Instance) -> dict[str, str] | None:
    """``model = make_model(input_shape=x_train.shape[1:])``, then ``load_model(path)`` of what that model saved, both
    at the module's level: each parameter of ``make_model`` -> the code of the argument the call passes (or of its
    literal default), when no name that code reads is bound again between the call and the load. None otherwise."""
    if made.made_by is None or load.function is not None or model.factory is None:
        return None
    body = list(script.module.body)
    function = next((s for s in body if isinstance(s, cst.FunctionDef) and s.name.value == model.factory), None)
    start = next((i for i, s in enumerate(body) if s is made.made_at), None)
    end = next((i for i, s in enumerate(body) if s is load.statement), None)
    if function is None or start is None or end is None or start >= end:
        return None
    params = function.params
    if params.star_arg is not None and isinstance(params.star_arg, cst.Param) or params.star_kwarg is not None:
        return None
    positional = [*params.posonly_params, *params.params]
    by_name = {p.name.value: p for p in (*positional, *params.kwonly_params)}
    given: dict[str, cst.BaseExpression] = {}
    for index, arg in enumerate(made.made_by.args):
        if arg.star or (arg.keyword is None and index >= len(positional)):
            return None
        name = positional[index].name.value if arg.keyword is None else arg.keyword.value
        if name not in by_name:
            return None
        given[name] = arg.value
    for name, param in by_name.items():
        if name not in given and param.default is not None and not read_names(param.default):
            given[name] = param.default  # a literal default: the same value at the load
    rebound = set().union(*(assigned_names(statement) for statement in function.body.body))
    for name in rebound & set(given):
        del given[name]  # `width = width * 2` in the body: the module reads the factory's value, not the call's
    between = body[start + 1 : end]
    if any(read_names(value) & assigned_names(statement) for value in given.values() for statement in between):
        return None  # `x_train` bound again before the load: the call's argument means another value there
    return {name: script.module.code_for_node(value).strip() for name, value in given.items()}
