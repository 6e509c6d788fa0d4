"""k2t.cst_walk: the read-only walk visits what libcst's own visit visits, in the same order."""

from __future__ import annotations

import dataclasses
import inspect
import re
from pathlib import Path

import libcst as cst
import pytest

from k2t.cst_walk import CHILD_FIELDS, TOKEN_CLASSES, Visitor, children, parents, walk, walk_with_statements

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted(ROOT.glob("fixtures/*/input.py"))[:20] + sorted(ROOT.glob("k2t/parse/*.py"))[:6]

SAMPLE = '''
@decorator(arg)
def f(a, /, b: int = 1, *args, c=lambda x: x if x else -x, **kw) -> "T":
    """Doc."""
    global g
    try:
        y = {k: v for k, v in kw.items() if k} | {1, 2}
    except (ValueError, TypeError) as error:
        raise RuntimeError(f"{error!r:>10}") from error
    finally:
        del y
    with open(a) as h, open(b):
        z = [*args, (yield b)][1:2:3]
    while a < b <= c:
        a += 1
    else:
        pass
    return not a, (a := 3), await g


class C(Base, metaclass=M):
    x: int = 1
    match x:
        case [1, *rest] | {"k": v, **others} if v:
            pass
        case Point(x=0) as p:
            pass
'''


def _token(node: cst.CSTNode) -> bool:
    return type(node).__name__ in TOKEN_CLASSES


class _LibcstRecorder(cst.CSTVisitor):
    def __init__(self) -> None:
        self.events: list[tuple[str, int]] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        if not _token(node):
            self.events.append(("enter", id(node)))
        return True

    def on_leave(self, original_node: cst.CSTNode) -> None:
        if not _token(original_node):
            self.events.append(("leave", id(original_node)))


class _FastRecorder(Visitor):
    def __init__(self) -> None:
        self.events: list[tuple[str, int]] = []

    def enter(self, node: cst.CSTNode) -> bool:
        self.events.append(("enter", id(node)))
        return True

    def leave(self, node: cst.CSTNode) -> None:
        self.events.append(("leave", id(node)))


def _modules() -> list[cst.Module]:
    return [cst.parse_module(SAMPLE)] + [cst.parse_module(path.read_text()) for path in SOURCES]


def test_the_walk_enters_and_leaves_the_nodes_libcst_visits_in_its_order():
    for module in _modules():
        slow, fast = _LibcstRecorder(), _FastRecorder()
        module.visit(slow)
        module.visit(fast)
        assert fast.events == slow.events
        preorder = [node_id for event, node_id in slow.events if event == "enter"]
        assert [id(node) for node in walk(module)] == preorder
        assert [id(node) for _, node in walk_with_statements(module)] == preorder


def test_the_table_is_the_order_of_the_installed_libcst():
    """CHILD_FIELDS restates libcst's _visit_and_replace_children: a libcst release that changes it fails here."""
    for name, fields in CHILD_FIELDS.items():
        node_class = getattr(cst, name)
        method = next(
            k.__dict__["_visit_and_replace_children"]
            for k in node_class.__mro__
            if "_visit_and_replace_children" in k.__dict__
        )
        try:
            source = inspect.getsource(method)
        except OSError:  # pragma: no cover - a libcst installed without its sources
            pytest.skip("libcst's source is not installed")
        order = list(dict.fromkeys(re.findall(r'visit_\w+\(\s*self,\s*"(\w+)"', source)))
        assert [field for field in order if field in fields] == list(fields), name
        assert {f.name for f in dataclasses.fields(node_class)} >= set(fields), name


def test_every_node_class_with_visited_children_is_in_the_table_or_a_token():
    for name, node_class in inspect.getmembers(cst, inspect.isclass):
        if not (issubclass(node_class, cst.CSTNode) and dataclasses.is_dataclass(node_class)) or inspect.isabstract(
            node_class
        ):
            continue
        if name in CHILD_FIELDS or name in TOKEN_CLASSES:
            continue
        # a leaf: libcst visits no child of it but whitespace
        method = next(
            k.__dict__["_visit_and_replace_children"]
            for k in node_class.__mro__
            if "_visit_and_replace_children" in k.__dict__
        )
        visited = re.findall(r'visit_\w+\(\s*self,\s*"(\w+)"', inspect.getsource(method))
        kinds = {str(f.type) for f in dataclasses.fields(node_class) if f.name in visited}
        assert all(
            re.search(
                "Whitespace|Paren|Comma|Colon|Dot|Semicolon|AssignEqual|Newline|Bracket|Brace|Asynchronous|Op\\b|Sentinel",
                kind,
            )
            for kind in kinds
        ), name


def test_false_skips_the_children_and_leave_still_runs():
    module = cst.parse_module("f(g(x))\n")
    seen: list[str] = []

    class Calls(Visitor):
        def visit_Call(self, node: cst.Call) -> bool:
            seen.append("visit " + module.code_for_node(node))
            return False

        def leave_Call(self, node: cst.Call) -> None:
            seen.append("leave " + module.code_for_node(node))

        def visit_Name(self, node: cst.Name) -> None:
            seen.append(node.value)

    module.visit(Calls())
    assert seen == ["visit f(g(x))", "leave f(g(x))"]


def test_a_visitor_of_tokens_is_walked_by_libcst():
    module = cst.parse_module("f(a, b)\n")
    commas: list[cst.Comma] = []

    class Commas(Visitor):
        def visit_Comma(self, node: cst.Comma) -> None:
            commas.append(node)

    module.visit(Commas())
    assert len(commas) == 1


def test_a_subclass_overriding_libcsts_hooks_is_refused():
    with pytest.raises(TypeError, match="enter/leave"):

        class Wrong(Visitor):
            def on_visit(self, node: cst.CSTNode) -> bool:
                return True


def test_parents_and_children():
    module = cst.parse_module("y = f(x, k=2)\n")
    call = module.body[0].body[0].value
    assert [type(child).__name__ for child in children(call)] == ["Name", "Arg", "Arg"]
    up = parents(module)
    assert up[id(call.args[0].value)] is call.args[0]
    assert up[id(call)] is module.body[0].body[0]


def test_visitors_made_per_call_keep_nothing_in_a_shared_table():
    import gc

    import k2t.cst_walk as walk_module

    class Warm(Visitor):
        def visit_Name(self, node: cst.Name) -> None:
            pass

    cst.parse_module("a = b\n").visit(Warm())  # the node classes' rows, made once
    before = {name: len(value) for name, value in vars(walk_module).items() if isinstance(value, dict)}
    for _ in range(50):

        class Local(Visitor):
            def visit_Name(self, node: cst.Name) -> None:
                pass

        cst.parse_module("a = b\n").visit(Local())
    gc.collect()
    after = {name: len(value) for name, value in vars(walk_module).items() if isinstance(value, dict)}
    assert after == before
