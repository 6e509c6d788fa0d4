"""A loop body deciding each layer's ``trainable`` flag (k2t.parse.layer_programs), run as Python would run it
for each layer of a keras.applications model, with the names and classes Keras gives those layers."""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from ..diagnostics import Unsupported
from ..ir import LayerProgram
from ..parse.syntax import _body_of
from ..values import _COMPARE  # Python's comparisons, as k2t.values computes them

_CONSTANTS = {"True": True, "False": False, "None": None}
# Keras 3 names a model's Input layer so.
INPUT_LAYER_NAME = "input_layer"


@dataclass(frozen=True)
class KerasLayer:
    """What the program may read of one layer: its name and class."""

    name: str
    keras_class: str


class _Unknown(Exception):
    pass


def layer_flags(program: LayerProgram, layers: list[KerasLayer], pos) -> list[bool | None]:
    """The flag the program leaves on each of ``layers`` (None where it sets none), running the body once per
    layer in order, the names it assigns carried from one layer to the next as Python carries them."""
    env = dict(program.known)
    classes = dict(program.classes)
    flags: list[bool | None] = []
    for offset, layer in enumerate(layers):
        env[program.layer_var] = layer
        if program.index_var is not None:
            env[program.index_var] = program.start + offset
        flag: list[bool | None] = [None]
        try:
            _run(program.body, program.layer_var, env, classes, flag)
        except _Unknown as exc:
            raise Unsupported("K2T140", f"the loop over the model's layers: {exc}", pos) from None
        flags.append(flag[0])
    return flags


def _run(body, layer_var: str, env: dict, classes: dict, flag: list) -> None:
    for statement in body:
        if isinstance(statement, cst.If):
            branch = statement
            while True:
                if _value(branch.test, layer_var, env, classes):
                    _run(_body_of(branch.body), layer_var, env, classes, flag)
                    break
                orelse = branch.orelse
                if isinstance(orelse, cst.If):
                    branch = orelse
                    continue
                if orelse is not None:
                    _run(_body_of(orelse.body), layer_var, env, classes, flag)
                break
            continue
        for small in statement.body:
            if isinstance(small, cst.Pass):
                continue
            target = small.targets[0].target
            value = _value(small.value, layer_var, env, classes)
            if isinstance(target, cst.Name):
                env[target.value] = value
            else:
                flag[0] = bool(value)  # Keras's setter takes any value as bool(value)


def _value(node, layer_var: str, env: dict, classes: dict):
    if isinstance(node, cst.Name):
        if node.value in _CONSTANTS:
            return _CONSTANTS[node.value]
        if node.value not in env:
            raise _Unknown(f"`{node.value}` is read before the loop gives it a value")
        return env[node.value]
    if isinstance(node, cst.Integer):
        return int(node.value, 0)
    if isinstance(node, cst.Float):
        return float(node.value)
    if isinstance(node, cst.SimpleString):
        return node.evaluated_value
    if isinstance(node, cst.Attribute):
        return env[layer_var].name
    if isinstance(node, cst.UnaryOperation):
        inner = _value(node.expression, layer_var, env, classes)
        return not inner if isinstance(node.operator, cst.Not) else -inner
    if isinstance(node, cst.BooleanOperation):
        left = _value(node.left, layer_var, env, classes)
        if isinstance(node.operator, cst.And):
            return left and _value(node.right, layer_var, env, classes)
        return left or _value(node.right, layer_var, env, classes)
    if isinstance(node, cst.Comparison):
        left = _value(node.left, layer_var, env, classes)
        for target in node.comparisons:
            right = _value(target.comparator, layer_var, env, classes)
            try:
                if not _COMPARE[type(target.operator)](left, right):
                    return False
            except TypeError as exc:
                raise _Unknown(f"Python raises TypeError here ({exc})") from None
            left = right
        return True
    func = node.func
    if isinstance(func, cst.Name):  # isinstance(layer, layers.X)
        return env[layer_var].keras_class == classes[cst.Module([]).code_for_node(node.args[1].value)]
    text = _value(func.value, layer_var, env, classes)
    argument = _value(node.args[0].value, layer_var, env, classes)
    if not isinstance(text, str) or not isinstance(argument, (str, tuple)):
        raise _Unknown(f"`.{func.attr.value}()` of {text!r}")
    return getattr(text, func.attr.value)(argument)
