"""Saving and loading models: Keras model files become torch state_dicts at the script's own paths.

``model.save(path)`` and ``model.save_weights(path)`` write
``torch.save(model.state_dict(), path)`` under exactly the name the script
gave (``.keras``, ``.h5``, ``.weights.h5``), so the script's own checks of
that path still hold; ``model.load_weights(path)`` reads it back in place.
``restored = keras.models.load_model(path)`` rebuilds the generated module
with the constructor call of the model the script saved at that path, then
loads the state_dict.
"""

from __future__ import annotations

import ast

import libcst as cst

from ..diagnostics import Unsupported
from ..ir import LoadSpec, MethodCall, ModelSpec, Value
from ..parse import KerasScript, Todo, saved_path
from .helpers import Helper
from .plan import ModulePlan

SAVING_METHODS = frozenset({"save", "save_weights", "load_weights"})

# Keras 3 signatures, and the arguments whose value the torch code can honour.
_SIGNATURES: dict[str, tuple[str, ...]] = {
    "save": ("filepath", "overwrite", "zipped"),
    "save_weights": ("filepath", "overwrite", "max_shard_size"),
    "load_weights": ("filepath", "skip_mismatch"),
}
_ACCEPTED: dict[str, tuple[object, ...]] = {
    "overwrite": (True,),  # torch.save always overwrites; Keras's overwrite=False asks on the terminal
    "zipped": (None, True),  # one file either way (zipped=False makes Keras write a folder)
    "max_shard_size": (None,),
    "skip_mismatch": (False,),  # load_state_dict is strict, as Keras is by default
}

_COMMENTS = {
    "save": "a torch state_dict (weights only), under the script's file name",
    "save_weights": "a torch state_dict, under the script's file name",
}


def _path_argument(call: MethodCall) -> Value:
    names = _SIGNATURES[call.method]
    if len(call.args) > len(names):
        raise Unsupported("K2T181", f"{call.method}(): too many positional arguments", call.pos)
    given = dict(zip(names, call.args)) | dict(call.kwargs)
    for key, value in given.items():
        if key not in names:
            raise Unsupported("K2T181", f"{call.method}({key}=...) is not translated", value.pos)
        if key in _ACCEPTED and not (
            value.is_literal and any(value.literal is v or value.literal == v for v in _ACCEPTED[key])
        ):
            allowed = " or ".join(repr(v) for v in _ACCEPTED[key])
            raise Unsupported(
                "K2T181",
                f"{call.method}({key}={value.code}) is not translated (k2t follows {key}={allowed})",
                value.pos,
            )
    path = saved_path(call)
    if path is None:
        raise Unsupported("K2T181", f"{call.method}() without a file path", call.pos)
    return path


def _whole_statement(node: cst.CSTNode, statement: cst.CSTNode | None) -> bool:
    """Is the call the whole statement (`model.save(path)` on a line of its own)?"""
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Expr)
        and statement.body[0].value is node
    )


def translate_saving_call(call: MethodCall, plan) -> None:
    """``model.save(path)`` / ``save_weights`` / ``load_weights`` -> torch.save / load_state_dict, in ``plan``."""
    path = _path_argument(call)
    var = call.model
    if call.method == "load_weights":
        plan.calls[id(call.node)] = (
            f"{var}.load_state_dict({_loader(plan)}({path.code}, map_location={plan.name('device')}))"
        )
        return
    code = f"torch.save({var}.state_dict(), {path.code})"
    plan.calls[id(call.node)] = code
    if _whole_statement(call.node, call.statement):
        plan.statements[id(call.statement)] = [f"{code}  # {_COMMENTS[call.method]}"]


def translate_loads(script: KerasScript, modules: dict[int, ModulePlan], plan, device: str) -> dict[int, LoadSpec]:
    """Rewrite every ``var = load_model(path)``; returns the loads by id() of the restored instance.

    ``device``: the name of the script's torch.device, where the rebuilt model and its tensors go.
    """
    loads: dict[int, LoadSpec] = {}
    for load in script.loads:
        loads[id(load.instance)] = load
        try:
            module = modules.get(id(load.model)) if load.model else None
            plan.statements[id(load.statement)] = _load_lines(load, module, script.function_locals, device, plan)
        except Unsupported as exc:
            plan.todos.append(Todo(load.statement, exc.code, exc.message, exc.pos or load.pos))
    return loads


def _loader(plan) -> str:
    """The generated load_state(path, map_location): torch.load that names a Keras file for what it is."""
    return plan.name(plan.add_helper(Helper("load_state", "functions/load_state.py.j2")).name)


def _load_lines(
    load: LoadSpec, module: ModulePlan | None, function_locals: dict[str, set[str]], device: str, plan
) -> list[str]:
    if load.model is None:
        raise Unsupported("K2T180", load.reason or "k2t cannot tell which model the file holds", load.pos)
    if module is None:
        raise Unsupported(
            "K2T180",
            f"the model saved at `{load.path.code}` was not translated, so it cannot be rebuilt here",
            load.pos,
        )
    if not (isinstance(load.statement, cst.SimpleStatementLine) and len(load.statement.body) == 1):
        raise Unsupported(
            "K2T183",
            "k2t translates load_model() only as `variable = load_model(path)`, a statement of its own",
            load.pos,
        )
    _check_rebuildable(load, load.model, module, function_locals)
    args = ", ".join(f"{p.name}={p.argument}" for p in module.params)
    return [
        f"{load.var} = {module.class_name}({args}).to({device})",
        f"{load.var}.load_state_dict({_loader(plan)}({load.path.code}, map_location={device}))  # the state_dict that {load.saver} wrote",
    ]


def _check_rebuildable(
    load: LoadSpec, model: ModelSpec, module: ModulePlan, function_locals: dict[str, set[str]]
) -> None:
    """The constructor call must make sense where the load is: not with values local to the factory that built the model."""
    if model.factory is None or model.factory == load.function:
        return
    local = function_locals.get(model.factory, set())
    computed = [p for p in module.params if _names_in(p.argument) & local]
    if computed:
        names = ", ".join(f"{p.name}={p.argument}" for p in computed)
        raise Unsupported(
            "K2T180",
            f"{module.class_name} is built inside {model.factory}() with {names}, local to it; k2t cannot rebuild it at this "
            "load_model(): build it there and load the state_dict",
            load.pos,
        )


def _names_in(code: str) -> set[str]:
    try:
        tree = ast.parse(code.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return {"<unparsable>"}
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
