"""Where the generated block (the ``device = torch.device(...)`` line first) goes in the converted script.

TensorFlow reads ``CUDA_VISIBLE_DEVICES`` (and the other CUDA variables) when it first lists the GPUs, which a
script does when it builds a model: a top-level ``os.environ["CUDA_VISIBLE_DEVICES"] = "1"`` anywhere before that
chooses the GPUs. torch reads them when CUDA initialises, and ``torch.cuda.is_available()`` in the device line
initialises it. So the block goes after the script's last top-level statement that sets an environment variable
(``os.environ[k] = v``, ``os.environ.setdefault / update``, ``os.putenv``, directly or through a function of the
script) and comes before the first statement that reads what the block defines (``device``, the modules, ``fit``).
A write after that point (or in a function first called there) is too late for CUDA: those are K2T106 warnings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import libcst as cst

from .cst_walk import Visitor, bare_names

# The variables CUDA reads once, when it initialises (CUDA_DEVICE_ORDER decides what the indices of the other mean).
CUDA_VARIABLES = frozenset({"CUDA_VISIBLE_DEVICES", "CUDA_DEVICE_ORDER"})
LATE_CUDA_WRITE = (
    "sets a CUDA variable after the converted script has picked its device and built on it (the generated "
    "torch.cuda.is_available() initialises CUDA, which reads the variable only then), so this line no longer "
    "chooses the GPUs: set it before the script's model code, at the top level, or in the environment the script "
    "starts in (CUDA_VISIBLE_DEVICES=0 python script.py)"
)
_SETTERS = frozenset({"setdefault", "update", "__setitem__"})


@dataclass(frozen=True)
class EnvWrite:
    """One statement's setting of an environment variable: the node, and the variables it names (None: unknown)."""

    node: cst.CSTNode
    names: frozenset[str] | None

    @property
    def sets_cuda(self) -> bool:
        return bool(self.names and self.names & CUDA_VARIABLES)


def env_writes(node: cst.CSTNode) -> list[EnvWrite]:
    """The environment writes inside ``node``, in source order."""
    finder = _EnvWriteFinder()
    node.visit(finder)
    return finder.found


@dataclass(frozen=True)
class Placement:
    """Where the generated block goes in the converted module's statements, and the CUDA writes after it."""

    index: int
    late_cuda_writes: list[cst.CSTNode]


def place_generated_block(body: list[cst.BaseStatement], start: int, defined: set[str]) -> Placement:
    """The index of ``body`` (the converted module's statements) where the generated block goes: ``start`` (after
    the leading imports), or after the last environment write before the first statement reading ``defined``
    (the generated block's names), and the imports right after that write (`os.environ[...] = "0"` then
    `import numpy as np`, where the block reads ``np``)."""
    statements = _Statements(body)
    first_use = statements.first_use(start, defined)
    writers = statements.reaching(lambda index: bool(statements.writes[index]))
    writes = [
        index for index in range(start, first_use)
        if not _is_definition(body[index]) and (statements.writes[index] or statements.reads[index] & writers)
    ]  # fmt: skip
    if not writes:
        return Placement(start, statements.late_cuda_writes(start))
    index = writes[-1] + 1
    while index < first_use and _is_import(body[index]):
        index += 1
    return Placement(index, statements.late_cuda_writes(index))


class _Statements:
    """The converted module's top-level statements, with the names each reads and the environment it writes."""

    def __init__(self, body: list[cst.BaseStatement]) -> None:
        self.body = body
        self.reads = [bare_names(statement) for statement in body]
        self.writes = [env_writes(statement) for statement in body]
        self.functions = {
            statement.name.value: index for index, statement in enumerate(body) if _is_definition(statement)
        }

    def first_use(self, start: int, defined: set[str]) -> int:
        readers = defined | self.reaching(lambda index: bool(self.reads[index] & defined))
        for index in range(start, len(self.body)):
            if not _is_definition(self.body[index]) and self.reads[index] & readers:
                return index
        return len(self.body)

    def reaching(self, does: Callable[[int], bool]) -> set[str]:
        """The script's top-level functions and classes that do something (``does`` of their statement's index),
        or call one that does."""
        reaching = {name for name, index in self.functions.items() if does(index)}
        while True:
            more = {
                name for name, index in self.functions.items() if name not in reaching and self.reads[index] & reaching
            }
            if not more:
                return reaching
            reaching |= more

    def late_cuda_writes(self, block_index: int) -> list[cst.CSTNode]:
        """The writes of a CUDA variable that run after the generated block (so after CUDA may have read them):
        in top-level statements after it, or in functions that no statement before it calls."""
        early_calls = set().union(
            *(self.reads[index] for index in range(block_index) if not _is_definition(self.body[index]))
        )
        early = self.closure(early_calls)
        late = []
        for index, statement in enumerate(self.body):
            is_late = statement.name.value not in early if _is_definition(statement) else index >= block_index
            late += [write.node for write in self.writes[index] if write.sets_cuda and is_late]
        return late

    def closure(self, names: set[str]) -> set[str]:
        """The functions ``names`` reach, calling one another."""
        reached = {name for name in names if name in self.functions}
        pending = list(reached)
        while pending:
            for name in self.reads[self.functions[pending.pop()]] & self.functions.keys() - reached:
                reached.add(name)
                pending.append(name)
        return reached


def _is_definition(statement: cst.CSTNode) -> bool:
    # Its body runs when called: what it reads counts at the call.
    return isinstance(statement, (cst.FunctionDef, cst.ClassDef))


def _is_import(statement: cst.CSTNode) -> bool:
    return isinstance(statement, cst.SimpleStatementLine) and all(
        isinstance(small, (cst.Import, cst.ImportFrom)) for small in statement.body
    )


class _EnvWriteFinder(Visitor):
    def __init__(self) -> None:
        self.found: list[EnvWrite] = []

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            if _is_environ_item(target.target):
                self.found.append(EnvWrite(node, _key_names(target.target.slice[0].slice.value)))

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        if _is_environ_item(node.target):
            self.found.append(EnvWrite(node, _key_names(node.target.slice[0].slice.value)))

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if not isinstance(func, cst.Attribute):
            return
        if _is_environ(func.value) and func.attr.value in _SETTERS:
            first = node.args[0].value if node.args and node.args[0].keyword is None and not node.args[0].star else None
            names = _dict_keys(first) if func.attr.value == "update" else _key_names(first)
            if func.attr.value == "update" and names is not None:
                names |= frozenset(arg.keyword.value for arg in node.args if arg.keyword is not None)
            self.found.append(EnvWrite(node, names))
        elif func.attr.value == "putenv" and _is_name(func.value, "os"):
            self.found.append(EnvWrite(node, _key_names(node.args[0].value) if node.args else None))


def _is_environ_item(node: cst.BaseExpression) -> bool:
    return (
        isinstance(node, cst.Subscript)
        and _is_environ(node.value)
        and len(node.slice) == 1
        and isinstance(node.slice[0].slice, cst.Index)
    )


def _is_environ(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Attribute) and node.attr.value == "environ" and _is_name(node.value, "os")


def _is_name(node: cst.BaseExpression, name: str) -> bool:
    return isinstance(node, cst.Name) and node.value == name


def _key_names(node: cst.BaseExpression | None) -> frozenset[str] | None:
    if isinstance(node, cst.SimpleString):
        return frozenset({str(node.evaluated_value)})
    return None


def _dict_keys(node: cst.BaseExpression | None) -> frozenset[str] | None:
    """``os.environ.update({"CUDA_VISIBLE_DEVICES": "0"})``: its literal keys (None where one is not a string)."""
    if node is None:
        return frozenset()  # update(KEY="0") only: the keywords
    if not isinstance(node, cst.Dict):
        return None
    keys = [_key_names(element.key) if isinstance(element, cst.DictElement) else None for element in node.elements]
    return None if any(key is None for key in keys) else frozenset().union(*keys)
