"""Keras 2's ``K.batch_set_value([(variable, value), ...])`` in code k2t rewrites to torch (a metric class's
``reset_state``, a loss, a function the training calls): the variables there are the class's own state
tensors or parameters, which torch sets in place::

    K.batch_set_value([(v, 0) for v in self.variables])
    ->
    with torch.no_grad():
        # keras.backend.batch_set_value: values copied in place
        for variable, value in [(v, 0) for v in self.variables]:
            variable.copy_(torch.as_tensor(value))

``torch.no_grad()`` because a parameter that requires grad refuses an in-place copy under autograd;
``copy_`` casts and broadcasts the value as Keras's assign does (``0`` into a float vector). Only a call
that is a statement of its own (batch_set_value returns None) and whose list holds no Keras/TensorFlow
name (an op there would need the op rewrite inside the loop header) is translated; the others stay
as the op rewrite reports them. At the script's top level the variables are Keras weights
(``model.layers[0].kernel``), which k2t does not map to torch parameters (k2t.parse.scan reports them).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import libcst as cst

from ..cst_walk import Visitor

BATCH_SET_VALUE = "keras.backend.batch_set_value"
_EMPTY = cst.Module(body=[])


@dataclass
class BatchSetValues:
    """The translated calls of one definition: replacement lines by id() of the statement, and the callee
    nodes (``K.batch_set_value``) whose op-vocabulary reports they answer."""

    statements: dict[int, list[str]] = field(default_factory=dict)
    handled: list[cst.CSTNode] = field(default_factory=list)


def batch_set_value_statements(
    definition: cst.CSTNode, keras_name: Callable[[cst.CSTNode], str | None]
) -> BatchSetValues:
    """Each ``K.batch_set_value(pairs)`` statement of ``definition`` that k2t translates, as torch lines."""
    found = BatchSetValues()
    taken = _names_in(definition)
    variable, value = _free("variable", taken), _free("value", taken)

    class Finder(Visitor):
        def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
            if len(node.body) != 1 or not isinstance(node.body[0], cst.Expr):
                return
            call = node.body[0].value
            if not isinstance(call, cst.Call) or keras_name(call.func) != BATCH_SET_VALUE:
                return
            if (
                len(call.args) != 1
                or call.args[0].keyword is not None
                or call.args[0].star
                or _names_keras(call.args[0].value, keras_name)
            ):
                return
            pairs = _EMPTY.code_for_node(call.args[0].value).strip()
            found.statements[id(node)] = [
                (
                    "with torch.no_grad():\n"
                    "    # keras.backend.batch_set_value: values copied in place\n"
                    f"    for {variable}, {value} in {pairs}:\n"
                    f"        {variable}.copy_(torch.as_tensor({value}))\n"
                )
            ]
            found.handled.append(call.func)

    definition.visit(Finder())
    return found


def _names_keras(node: cst.CSTNode, keras_name: Callable[[cst.CSTNode], str | None]) -> bool:
    hits: list[cst.CSTNode] = []

    class Finder(Visitor):
        def visit_Name(self, name: cst.Name) -> None:
            if keras_name(name):
                hits.append(name)

        def visit_Attribute(self, attribute: cst.Attribute) -> None:
            if keras_name(attribute):
                hits.append(attribute)

    node.visit(Finder())
    return bool(hits)


def _names_in(node: cst.CSTNode) -> set[str]:
    names: set[str] = set()

    class Finder(Visitor):
        def visit_Name(self, name: cst.Name) -> None:
            names.add(name.value)

    node.visit(Finder())
    return names


def _free(name: str, taken: set[str]) -> str:
    """``name``, or ``name_1`` ... where the definition already uses it (the loop must not overwrite a local)."""
    candidate, number = name, 0
    while candidate in taken:
        number += 1
        candidate = f"{name}_{number}"
    return candidate
