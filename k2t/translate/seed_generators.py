"""``self.seed_generator = keras.random.SeedGenerator(1337)`` in a custom layer (the keras.io VAE's Sampling).

A SeedGenerator only feeds the ``seed=`` of Keras's random draws, and the op vocabulary draws from torch's
generator instead (k2t/ops/creation.py: same distribution, not the same numbers, seeded by
``torch.manual_seed``). Where the layer reads the attribute only as such a ``seed=``, its statement has
nothing left to do in the port and goes; any other use keeps it, reported.
"""

from __future__ import annotations

import libcst as cst

from ..cst_walk import Visitor
from .op_code import KerasName

SEED_GENERATOR = "keras.random.SeedGenerator"


def unused_seed_generators(methods: dict[str, cst.FunctionDef], keras_name: KerasName) -> list[cst.SimpleStatementLine]:
    """The ``self.<attr> = keras.random.SeedGenerator(...)`` statements of __init__ whose attribute is read
    only as ``seed=self.<attr>``."""
    init = methods.get("__init__")
    if init is None or not isinstance(init.body, cst.IndentedBlock):
        return []
    made: dict[str, cst.SimpleStatementLine] = {}
    for statement in init.body.body:
        target = _seed_generator_target(statement, keras_name)
        if target is not None:
            made[target] = statement
    if not made:
        return []
    other_reads: set[str] = set()
    for method in methods.values():
        method.visit(_Reads(set(made), other_reads))
    return [statement for attr, statement in made.items() if attr not in other_reads]


def _seed_generator_target(statement: cst.CSTNode, keras_name: KerasName) -> str | None:
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return None
    small = statement.body[0]
    if not isinstance(small, cst.Assign) or len(small.targets) != 1 or not isinstance(small.value, cst.Call):
        return None
    target = small.targets[0].target
    if _self_attr(target) is None or keras_name(small.value.func) != SEED_GENERATOR:
        return None
    return _self_attr(target)


def _self_attr(node: cst.CSTNode) -> str | None:
    if isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name) and node.value.value == "self":
        return node.attr.value
    return None


class _Reads(Visitor):
    """Reads of the attributes other than as a ``seed=`` keyword or as the assignment's target."""

    def __init__(self, attrs: set[str], other_reads: set[str]) -> None:
        self.attrs = attrs
        self.other_reads = other_reads

    def visit_Arg(self, node: cst.Arg) -> bool:
        return not (node.keyword is not None and node.keyword.value == "seed" and _self_attr(node.value) in self.attrs)

    def visit_AssignTarget(self, node: cst.AssignTarget) -> bool:
        return _self_attr(node.target) not in self.attrs

    def visit_Attribute(self, node: cst.Attribute) -> None:
        attr = _self_attr(node)
        if attr in self.attrs:
            self.other_reads.add(attr)
