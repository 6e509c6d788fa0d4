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


def restored_instances(script: KerasScript) -> dict[int, LoadSpec]:
    """The loads by id() of the instance each restores."""
    return {id(load.instance): load for load in script.loads}


def translate_loads(script: KerasScript, modules: dict[int, ModulePlan], plan, device: str) -> None:
    """Rewrite every ``var = load_model(path)``, once the modules' constructor parameters are final (pruned).

    ``device``: the name of the script's torch.device, where the rebuilt model and its tensors go.
    """
    for load in script.loads:
        try:
            module = modules.get(id(load.model)) if load.model else None
            plan.statements[id(load.statement)] = _load_lines(load, module, script.function_locals, device, plan)
        except Unsupported as exc:
            plan.todos.append(Todo(load.statement, exc.code, exc.message, exc.pos or load.pos))


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
    arguments = _rebuild_arguments(load, load.model, module, function_locals)
    args = ", ".join(f"{p.name}={arguments[p.name]}" for p in module.params)
    return [
        f"{load.var} = {module.class_name}({args}).to({device})",
        f"{load.var}.load_state_dict({_loader(plan)}({load.path.code}, map_location={device}))  # the state_dict that {load.saver} wrote",
    ]


def _rebuild_arguments(
    load: LoadSpec, model: ModelSpec, module: ModulePlan, function_locals: dict[str, set[str]]
) -> dict[str, str]:
    """The constructor's arguments where the load is: each as the model's construction passes it, or, where that
    reads a parameter of the factory that built the model (``input_shape[1]`` in ``make_model(input_shape)``), with
    the argument the script's call passed for it (``x_train.shape[2]``). Values local to the factory otherwise
    have no meaning at the load: a K2T180."""
    arguments = {p.name: p.argument for p in module.params}
    if model.factory is None or model.factory == load.function:
        return arguments
    local = function_locals.get(model.factory, set())
    passed = load.factory_arguments or {}
    computed = []
    for p in module.params:
        read = _names_in(p.argument) & local
        if read and read <= set(passed):
            arguments[p.name] = _with_arguments(p.argument, passed)  # `make_model(input_shape=x.shape[1:])`'s
        elif read:
            computed.append(p)
    if computed:
        names = ", ".join(f"{p.name}={p.argument}" for p in computed)
        raise Unsupported(
            "K2T180",
            f"{module.class_name} is built inside {model.factory}() with {names}, local to it; k2t cannot rebuild it at this "
            "load_model(): build it there and load the state_dict",
            load.pos,
        )
    return arguments


def _with_arguments(code: str, passed: dict[str, str]) -> str:
    """``input_shape[1]`` with ``input_shape`` -> ``x_train.shape[1:]``: ``x_train.shape[2]``."""
    expression = cst.parse_expression(code.strip()).visit(_Substitute(passed))
    return cst.Module(body=[]).code_for_node(expression)


class _Substitute(cst.CSTTransformer):
    """Names -> the expressions passed for them (parenthesized); ``a.shape[s:][i]`` folded to ``a.shape[s + i]``."""

    def __init__(self, passed: dict[str, str]):
        self.passed = passed

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        node.value.visit(self)  # the attribute's name is no variable
        return False

    def leave_Attribute(self, original_node: cst.Attribute, updated_node: cst.Attribute) -> cst.BaseExpression:
        return updated_node.with_changes(value=original_node.value.visit(self))

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.BaseExpression:
        code = self.passed.get(original_node.value)
        if code is None:
            return updated_node
        value = cst.parse_expression(code)
        if not isinstance(value, (cst.Name, cst.Attribute, cst.Call, cst.Subscript, cst.Integer, cst.SimpleString)):
            value = value.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
        return value

    def leave_Subscript(self, original_node: cst.Subscript, updated_node: cst.Subscript) -> cst.BaseExpression:
        inner = updated_node.value
        if (
            isinstance(inner, cst.Tuple)
            and len(updated_node.slice) == 1
            and isinstance(updated_node.slice[0].slice, cst.Index)
            and all(isinstance(element, cst.Element) for element in inner.elements)
        ):
            at = _integer(updated_node.slice[0].slice.value)  # `(7, 2)[1]`: 2
            if at is not None and at < len(inner.elements):
                return inner.elements[at].value.with_changes(lpar=[], rpar=[])
        if not (
            isinstance(inner, cst.Subscript)
            and isinstance(inner.value, cst.Attribute)
            and inner.value.attr.value == "shape"
            and len(inner.slice) == 1
            and len(updated_node.slice) == 1
            and isinstance(inner.slice[0].slice, cst.Slice)
            and isinstance(updated_node.slice[0].slice, cst.Index)
        ):
            return updated_node
        window, index = inner.slice[0].slice, updated_node.slice[0].slice.value
        start = 0 if window.lower is None else _integer(window.lower)
        at = _integer(index)
        if window.upper is not None or window.step is not None or start is None or at is None or start < 0 or at < 0:
            return updated_node
        return inner.with_changes(slice=[cst.SubscriptElement(cst.Index(cst.Integer(str(start + at))))])


def _integer(node: cst.BaseExpression) -> int | None:
    return int(node.value) if isinstance(node, cst.Integer) else None


def _names_in(code: str) -> set[str]:
    try:
        tree = ast.parse(code.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return {"<unparsable>"}
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
