"""Code k2t walked more than once and writes once: a line must translate alike at every walk.

The parser walks the body of a factory at each of its calls (k2t.parse.layer_factories) and a loop that
calls one with its variable once per item (``for use_bn in (True, False): m = build(use_bn); m.fit(...)``).
The output keeps one copy of those lines, so a line whose translation differs between two walks (the
fit of a model compiled otherwise at the other call, the layer count of another model) cannot stand for
both: it is reported (K2T103) rather than written for one of them.
"""

from __future__ import annotations

import libcst as cst
from libcst.metadata import PositionProvider

from ..cst_walk import walk_with_statements
from ..ir import KerasScript, Todo


class Written(dict):
    """A plan's replacements by id() of the node (``ScriptPlan.calls``, ``ScriptPlan.statements``), with the first
    other replacement each node got: id(node) -> (the earlier one, the later one)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.rewritten: dict[int, tuple[object, object]] = {}

    def __setitem__(self, key, value) -> None:
        earlier = self.get(key)
        if earlier and value and earlier != value and key not in self.rewritten:
            self.rewritten[key] = (earlier, value)
        super().__setitem__(key, value)


def report_walked_twice(script: KerasScript, calls: Written, statements: Written, todos: list[Todo]) -> None:
    """A K2T103 on each node of code walked several times whose replacement differed between walks."""
    regions: list[cst.CSTNode] = list(script.walked_per_item)
    regions += list(
        {id(spec.built_by.function): spec.built_by.function for spec in script.models if spec.built_by}.values()
    )
    if not regions or not (calls.rewritten or statements.rewritten):
        return
    positions = script.metadata.resolve(PositionProvider) if script.metadata is not None else {}
    for region in regions:
        for node, statement in _nodes(region):
            for written in (calls, statements):
                if id(node) not in written.rewritten:
                    continue
                earlier, later = (_text(v) for v in written.rewritten[id(node)])
                start = positions[node].start if node in positions else None
                pos = (start.line, start.column + 1) if start is not None else (0, 0)
                message = (
                    "this line is walked for several models (each call of its function, or each item of its loop) and "
                    f"translates differently for them: `{earlier}` against `{later}`; one line of code cannot be both"
                )
                todos.append(Todo(statement, "K2T103", message, pos))


def _text(value: object) -> str:
    if isinstance(value, list):
        value = "; ".join(str(line) for line in value)
    text = " ".join(str(value).split())
    return text if len(text) <= 80 else text[:77] + "..."


def _nodes(region: cst.CSTNode) -> list[tuple[cst.CSTNode, cst.CSTNode]]:
    """Each node under ``region`` with the statement line (or compound statement) holding it."""
    return [(node, statement) for statement, node in walk_with_statements(region)]
