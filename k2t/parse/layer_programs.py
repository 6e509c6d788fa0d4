"""A loop over a keras.applications model's layers whose body decides each layer's ``trainable`` flag::

    conv_base.trainable = True
    set_trainable = False
    for layer in conv_base.layers:
        if layer.name == "block5_conv1":
            set_trainable = True
        if set_trainable:
            layer.trainable = True
        else:
            layer.trainable = False

(Chollet's fine-tuning recipe), ``for i, layer in enumerate(base.layers): layer.trainable = i >= 15``, or a test
of ``layer.name`` / ``isinstance(layer, ...)``. Keras builds those layers itself, so the parser records the body
as a program (k2t.ir.LayerProgram) that the translation runs for each layer it builds
(k2t.translate.layer_programs). Bodies made of anything else than ``if``s, names assigned and the flag stay with
the other loops over ``model.layers``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import libcst as cst

from ..ir import FreezeSpec, LayerProgram, LayerSelection
from ..values import Unknown
from .syntax import _body_of

if TYPE_CHECKING:
    from .parser import _Parser
    from .scope import _Scope

_STRING_TESTS = frozenset({"startswith", "endswith"})
_CONSTANTS = {"True": True, "False": False, "None": None}


def freeze_program_loop(parser: _Parser, stmt: cst.For, scope: _Scope) -> bool:
    """Record the loop as a freeze of the layers it reaches, each with the flag its body gives. True when handled."""
    from .model_access import _mark, _model_frozen, _model_of, layer_targets

    header = _header(stmt)
    if header is None:
        return False
    layer_var, index_var, iterable, start = header
    over_all = isinstance(iterable, cst.Attribute)
    model = _model_of(parser, iterable.value if over_all else iterable.value.value, scope)
    if model is None or model[1].application is None:
        return False
    body = _body_of(stmt.body)
    read: set[str] = set()
    assigned: set[str] = set()
    classes: dict[str, str] = {}
    if not _program(parser, body, layer_var, index_var, read, assigned, classes) or not any(
        _sets_flag(statement, layer_var) for statement in _statements(body)
    ):
        return False
    known: dict[str, object] = {}
    for name in sorted(read - {layer_var, index_var} - set(_CONSTANTS)):
        value = parser.evaluate(cst.Name(name), scope)[0]
        if isinstance(value, Unknown) or not isinstance(value, (bool, int, float, str, type(None))):
            if name in assigned:
                continue  # bound in the body before it is read, or a K2T140 where the model is translated
            parser.todo(
                stmt, stmt, "K2T103", f"the loop over the layers of `{model[0]}` reads `{name}`, which k2t cannot know"
            )
            _mark(parser, stmt)
            return True
        known[name] = value
    var, spec = model
    selection = (
        LayerSelection(slice(None), parser.code(iterable))
        if over_all
        else next(iter(layer_targets(parser, iterable, scope) or [(None, None, None)]))[2]
    )
    if not isinstance(selection, LayerSelection):
        return False
    program = LayerProgram(tuple(body), layer_var, index_var, start, tuple(known.items()), tuple(classes.items()))
    selection = LayerSelection(selection.key, selection.code, program=program)
    from .scope import _Unfollowable

    try:
        frozen = _model_frozen(parser, spec, selection, stmt)
    except _Unfollowable as exc:
        parser.todo(stmt, exc.node, "K2T103", exc.message)
    else:
        loop_var = layer_var
        parser.script.freezes.append(
            FreezeSpec(spec, var, selection, False, parser.pos(stmt), stmt, loop_var=loop_var, model_frozen=frozen)
        )
    _mark(parser, stmt)
    forgotten = [name for name in (layer_var, index_var, *sorted(assigned)) if name is not None]
    scope.env.forget(forgotten, "set in a loop over a model's layers")
    return True


def _header(stmt: cst.For) -> tuple[str, str | None, cst.BaseExpression, int] | None:
    """(layer variable, index variable, ``base.layers[...]``, enumerate's start) of the loop; None for others."""
    if stmt.orelse is not None or stmt.asynchronous is not None:
        return None
    target, iterable, index_var, start = stmt.target, stmt.iter, None, 0
    if isinstance(iterable, cst.Call) and isinstance(iterable.func, cst.Name) and iterable.func.value == "enumerate":
        if not (
            isinstance(target, cst.Tuple)
            and len(target.elements) == 2
            and all(isinstance(element.value, cst.Name) for element in target.elements)
            and 1 <= len(iterable.args) <= 2
        ):
            return None
        if len(iterable.args) == 2:
            given = iterable.args[1]
            if (
                not isinstance(given.value, cst.Integer)
                or given.keyword not in (None,)
                and given.keyword.value != "start"
            ):
                return None
            start = int(given.value.value)
        index_var, target, iterable = target.elements[0].value.value, target.elements[1].value, iterable.args[0].value
    if not isinstance(target, cst.Name):
        return None
    layers = iterable.value if isinstance(iterable, cst.Subscript) else iterable
    if not (isinstance(layers, cst.Attribute) and layers.attr.value == "layers"):
        return None
    return target.value, index_var, iterable, start


def _statements(body):
    for statement in body:
        if isinstance(statement, cst.If):
            yield from _statements(_body_of(statement.body))
            orelse = statement.orelse
            if orelse is not None:
                yield from _statements([orelse] if isinstance(orelse, cst.If) else _body_of(orelse.body))
        elif isinstance(statement, cst.SimpleStatementLine):
            yield from statement.body


def _sets_flag(small: cst.CSTNode, layer_var: str) -> bool:
    return (
        isinstance(small, cst.Assign)
        and len(small.targets) == 1
        and isinstance(small.targets[0].target, cst.Attribute)
        and small.targets[0].target.attr.value == "trainable"
        and isinstance(small.targets[0].target.value, cst.Name)
        and small.targets[0].target.value.value == layer_var
    )


def _program(parser, body, layer_var, index_var, read, assigned, classes) -> bool:
    """Whether ``body`` is made of ``if``s, names assigned and the flag, over expressions k2t runs per layer."""
    for statement in body:
        if isinstance(statement, cst.If):
            if not _expression(parser, statement.test, layer_var, read, classes):
                return False
            branches = [_body_of(statement.body)]
            orelse = statement.orelse
            if orelse is not None:
                branches.append([orelse] if isinstance(orelse, cst.If) else _body_of(orelse.body))
            if not all(_program(parser, branch, layer_var, index_var, read, assigned, classes) for branch in branches):
                return False
            continue
        if not isinstance(statement, cst.SimpleStatementLine):
            return False
        for small in statement.body:
            if isinstance(small, cst.Pass):
                continue
            if not (isinstance(small, cst.Assign) and len(small.targets) == 1):
                return False
            target = small.targets[0].target
            if _sets_flag(small, layer_var):
                pass
            elif isinstance(target, cst.Name) and target.value not in (layer_var, index_var):
                assigned.add(target.value)
            else:
                return False
            if not _expression(parser, small.value, layer_var, read, classes):
                return False
    return True


def _expression(parser, node, layer_var, read, classes) -> bool:
    """Whether k2t.translate.layer_programs can compute ``node`` for each layer (names it reads go to ``read``)."""
    if isinstance(node, cst.Name):
        read.add(node.value)
        return True
    if isinstance(node, (cst.Integer, cst.Float)):
        return True
    if isinstance(node, cst.SimpleString):
        return isinstance(node.evaluated_value, str)
    if isinstance(node, cst.Attribute):
        return isinstance(node.value, cst.Name) and node.value.value == layer_var and node.attr.value == "name"
    if isinstance(node, cst.UnaryOperation):
        return isinstance(node.operator, (cst.Not, cst.Minus)) and _expression(
            parser, node.expression, layer_var, read, classes
        )
    if isinstance(node, cst.BooleanOperation):
        return all(_expression(parser, side, layer_var, read, classes) for side in (node.left, node.right))
    if isinstance(node, cst.Comparison):
        supported = (
            cst.Equal,
            cst.NotEqual,
            cst.LessThan,
            cst.LessThanEqual,
            cst.GreaterThan,
            cst.GreaterThanEqual,
            cst.In,
            cst.NotIn,
        )
        return _expression(parser, node.left, layer_var, read, classes) and all(
            isinstance(target.operator, supported) and _expression(parser, target.comparator, layer_var, read, classes)
            for target in node.comparisons
        )
    if isinstance(node, cst.Call):
        func = node.func
        if isinstance(func, cst.Name) and func.value == "isinstance" and len(node.args) == 2:
            subject, kind = node.args[0].value, node.args[1].value
            name = parser.keras_name(kind)
            if not (
                isinstance(subject, cst.Name)
                and subject.value == layer_var
                and name
                and name.startswith("keras.layers.")
            ):
                return False
            classes[cst.Module([]).code_for_node(kind)] = name.rsplit(".", 1)[-1]
            return True
        return (
            isinstance(func, cst.Attribute)
            and func.attr.value in _STRING_TESTS
            and _expression(parser, func.value, layer_var, read, classes)
            and len(node.args) == 1
            and node.args[0].keyword is None
            and _expression(parser, node.args[0].value, layer_var, read, classes)
        )
    return False
