"""Configuration locals, and imports, whose every read k2t translated away.

keras.io's image classifier builds its model in a function that chooses the last layer's activation::

    def make_model(input_shape, num_classes):
        if num_classes == 2:
            activation = "sigmoid"
            units = 1
        else:
            activation = "softmax"
            units = num_classes
        ...
        outputs = layers.Dense(units, activation=activation)(x)

The converted function returns the generated module, which takes ``units`` and applies the activation the
script's call decides: nothing reads ``activation`` any more, and ruff reports each assignment (F841). A
local of a function that the script read and the output no longer reads, assigned a value without side
effects (literals, names, arithmetic, containers of them), loses its assignments; an ``if`` left with
nothing but such assignments, on a test without side effects, goes with them. Anything else stays as the
script wrote it: a local the script itself never read, a value that calls something, a function that
reads its locals by name (``locals()``, ``eval``).

Likewise an import at the module's top level whose names the script read and the output reads nowhere
(``from functools import partial`` once ``DefaultConv2D = partial(keras.layers.Conv2D, ...)`` became the
module's layers) loses those names, and the statement goes when none is left (ruff's F401 otherwise). An
import the script never read stays, as does ``__future__``.
"""

from __future__ import annotations

import ast

import libcst as cst

from .cst_walk import children, module_syntax, walk
from .names import dotted_name

# Calls that read a function's locals by name: such a function keeps every assignment.
_READS_LOCALS = frozenset({"locals", "vars", "eval", "exec"})


def without_dead_configuration(original: cst.Module, converted: cst.Module) -> cst.Module:
    """``converted`` (the script rewritten) without the assignments of locals whose reads were all in code k2t
    translated away, matching its functions to ``original``'s by where they are defined."""
    before = _functions(original)
    after = _functions(converted)
    replacements: dict[int, cst.FunctionDef] = {}
    for path, function in after.items():
        source = before.get(path)
        if source is None:
            continue
        cleaned = _cleaned(source, function)
        if cleaned is not function:
            replacements[id(function)] = cleaned
    if not replacements:
        return converted
    return converted.visit(_Replace(replacements))


def without_dead_imports(original: cst.Module, converted: cst.Module) -> cst.Module:
    """``converted`` without the top-level imports' names that ``original`` read and ``converted`` does not."""
    read_before = _module_reads(module_syntax(original))  # the script's tree, parsed once per conversion
    try:
        read_now = _module_reads(ast.parse(converted.code))
    except SyntaxError:
        return converted
    dead = {name for name in read_before if name not in read_now}
    if not dead or not any(_import_names(statement) & dead for statement in converted.body):
        return converted
    body = []
    for statement in converted.body:
        names = _import_names(statement)
        if names & dead:
            small = statement.body[0]
            kept = [alias for alias in small.names if _bound_name(alias) not in dead]
            if not kept:
                continue
            kept[-1] = kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
            statement = statement.with_changes(body=[small.with_changes(names=kept)])
        body.append(statement)
    return converted.with_changes(body=body)


def _import_names(statement: cst.CSTNode) -> set[str]:
    """The names a top-level ``import`` / ``from ... import`` line of its own binds (not ``*``, not __future__,
    not Keras's or TensorFlow's, whose imports k2t.remaining keeps or removes)."""
    if not (isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1):
        return set()
    small = statement.body[0]
    if isinstance(small, cst.ImportFrom):
        module = dotted_name(small.module) if small.module is not None else ""
        if isinstance(small.names, cst.ImportStar) or module == "__future__" or _keras_module(module):
            return set()
        return {_bound_name(alias) for alias in small.names}
    if not isinstance(small, cst.Import):
        return set()
    return {_bound_name(alias) for alias in small.names if not _keras_module(dotted_name(alias.name))}


def _keras_module(module: str) -> bool:
    return module.split(".")[0] in ("keras", "tensorflow", "tf_keras")


def _bound_name(alias: cst.ImportAlias) -> str:
    if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
        return alias.asname.name.value
    name = alias.name
    while isinstance(name, cst.Attribute):  # `import os.path` binds `os`
        name = name.value
    return name.value


def _module_reads(tree: ast.Module) -> set[str]:
    """Every name the module reads anywhere (loads, ``global`` declarations, names in ``__all__``)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            names.update(node.names)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and len(node.value) < 200:
            names |= _names_in_text(node.value)  # `__all__ = ["partial"]`, an annotation "np.ndarray"
    return names


def _names_in_text(text: str) -> set[str]:
    """The names a string reads as Python code (a string annotation, a name in ``__all__``), if it is code."""
    try:
        expression = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError):
        return set()
    return {node.id for node in ast.walk(expression) if isinstance(node, ast.Name)}


class _Replace(cst.CSTTransformer):
    def __init__(self, replacements: dict[int, cst.FunctionDef]):
        self.replacements = replacements

    def leave_FunctionDef(self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef) -> cst.FunctionDef:
        return self.replacements.get(id(original_node), updated_node)


def _functions(module: cst.Module) -> dict[tuple[str, ...], cst.FunctionDef]:
    """Every function by its place: the names of the classes and functions around it, and its own, with a count
    for a name defined again in the same place."""
    found: dict[tuple[str, ...], cst.FunctionDef] = {}

    def visit(node: cst.CSTNode, prefix: tuple[str, ...]) -> None:
        for child in _statements_of(node):
            if isinstance(child, (cst.FunctionDef, cst.ClassDef)):
                path = (*prefix, child.name.value)
                index = 0
                while (*path, str(index)) in found or (*path, str(index), "class") in found:
                    index += 1
                key = (*path, str(index))
                if isinstance(child, cst.FunctionDef):
                    found[key] = child
                    visit(child.body, key)
                else:
                    found[(*key, "class")] = child  # placeholder: classes count for the index only
                    visit(child.body, key)
            else:
                visit(child, prefix)

    visit(module, ())
    return {path: node for path, node in found.items() if isinstance(node, cst.FunctionDef)}


def _statements_of(node: cst.CSTNode) -> list[cst.CSTNode]:
    """The compound statements' own statements (bodies and branches), not expressions."""
    if isinstance(node, cst.Module):
        return list(node.body)
    if isinstance(node, cst.IndentedBlock):
        return list(node.body)
    if isinstance(node, (cst.If, cst.For, cst.While, cst.With, cst.Try, cst.TryStar, cst.Else, cst.Finally)):
        parts: list[cst.CSTNode] = [node.body]
        for field in ("orelse", "handlers", "finalbody"):
            value = getattr(node, field, None)
            if isinstance(value, (list, tuple)):
                parts += list(value)
            elif value is not None:
                parts.append(value)
        return parts
    if isinstance(node, cst.ExceptHandler):
        return [node.body]
    return []


def _cleaned(source: cst.FunctionDef, function: cst.FunctionDef) -> cst.FunctionDef:
    if _reads_locals_by_name(function) or _reads_locals_by_name(source):
        return function
    declared = _declared_outside(function)
    read_before = _reads(source)
    while True:
        read_now = _reads(function)
        dead = {
            name
            for name in _pure_assignments(function)
            if name not in read_now and read_before.get(name, 0) and name not in declared
        }
        if not dead:
            return function
        cleaned = function.visit(_DropAssignments(dead))
        if cleaned.deep_equals(function):
            return function
        function = cleaned


def _reads_locals_by_name(function: cst.FunctionDef) -> bool:
    return any(
        isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value in _READS_LOCALS
        for node in walk(function)
    )


def _declared_outside(function: cst.FunctionDef) -> set[str]:
    """Names the function declares global or nonlocal: no locals."""
    names: set[str] = set()
    for node in walk(function):
        if isinstance(node, (cst.Global, cst.Nonlocal)):
            names.update(item.name.value for item in node.names)
    return names


def _reads(function: cst.FunctionDef) -> dict[str, int]:
    """How often each name appears in the function other than as the target of a plain assignment, an
    attribute's name or a keyword (a read, as far as keeping an assignment goes)."""
    not_reads: set[int] = set()
    counts: dict[str, int] = {}
    for node in walk(function.body):
        if isinstance(node, cst.Assign):
            not_reads.update(id(target.target) for target in node.targets if isinstance(target.target, cst.Name))
        elif isinstance(node, cst.Attribute):
            not_reads.add(id(node.attr))
        elif isinstance(node, cst.Arg) and node.keyword is not None:
            not_reads.add(id(node.keyword))
        elif isinstance(node, cst.Name) and id(node) not in not_reads:
            counts[node.value] = counts.get(node.value, 0) + 1
    return counts


def _pure_assignments(function: cst.FunctionDef) -> set[str]:
    """Names the function assigns, each assignment ``name = <value without side effects>`` alone on its line."""
    assigned: set[str] = set()
    impure: set[str] = set()
    for node in _own_nodes(function.body):
        if isinstance(node, cst.Assign):
            for target in node.targets:
                if isinstance(target.target, cst.Name):
                    name = target.target.value
                    pure = len(node.targets) == 1 and _pure(node.value)
                    (assigned if pure else impure).add(name)
        elif isinstance(node, (cst.AugAssign, cst.AnnAssign)) and isinstance(node.target, cst.Name):
            impure.add(node.target.value)
    return assigned - impure


def _own_nodes(node: cst.CSTNode):
    """The nodes of a function's body outside the functions and classes it defines."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        if not isinstance(current, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            stack.extend(children(current))


def _pure(node: cst.BaseExpression) -> bool:
    """An expression without side effects: literals, names, arithmetic, comparisons and containers of them."""
    if isinstance(node, (cst.Name, cst.Integer, cst.Float, cst.Imaginary, cst.SimpleString, cst.ConcatenatedString)):
        return True
    if isinstance(node, (cst.Tuple, cst.List, cst.Set)):
        return all(not isinstance(e, cst.StarredElement) and _pure(e.value) for e in node.elements)
    if isinstance(node, cst.Dict):
        return all(isinstance(e, cst.DictElement) and _pure(e.key) and _pure(e.value) for e in node.elements)
    if isinstance(node, cst.UnaryOperation):
        return _pure(node.expression)
    if isinstance(node, (cst.BinaryOperation, cst.BooleanOperation)):
        return _pure(node.left) and _pure(node.right)
    if isinstance(node, cst.Comparison):
        return _pure(node.left) and all(_pure(c.comparator) for c in node.comparisons)
    return False


class _DropAssignments(cst.CSTTransformer):
    """Remove ``name = value`` lines of the dead names; a block left empty gets ``pass``, an ``if`` left with
    nothing else on a test without side effects goes."""

    def __init__(self, dead: set[str]):
        self.dead = dead
        self.depth = 0

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        self.depth += 1
        return self.depth == 1  # a nested function's names are its own

    def leave_FunctionDef(self, original_node, updated_node):
        self.depth -= 1
        return updated_node

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False

    def leave_SimpleStatementLine(self, original_node, updated_node):
        if len(updated_node.body) == 1 and self._dead(updated_node.body[0]):
            return cst.RemoveFromParent()
        return updated_node

    def _dead(self, small: cst.BaseSmallStatement) -> bool:
        return (
            isinstance(small, cst.Assign)
            and len(small.targets) == 1
            and isinstance(small.targets[0].target, cst.Name)
            and small.targets[0].target.value in self.dead
        )

    def leave_IndentedBlock(self, original_node, updated_node):
        if not updated_node.body:
            return updated_node.with_changes(body=[cst.SimpleStatementLine([cst.Pass()])])
        return updated_node

    def leave_If(self, original_node, updated_node):
        if _only_pass(updated_node) and not _only_pass(original_node) and _pure(updated_node.test):
            return cst.RemoveFromParent()
        return updated_node


def _only_pass(node: cst.CSTNode | None) -> bool:
    """An ``if`` (with its ``elif`` / ``else``) whose every branch is a lone ``pass`` this pass left."""
    if node is None:
        return True
    if isinstance(node, cst.If):
        return _lone_pass(node.body) and _only_pass(node.orelse)
    if isinstance(node, cst.Else):
        return _lone_pass(node.body)
    return False


def _lone_pass(block: cst.BaseSuite) -> bool:
    return (
        isinstance(block, cst.IndentedBlock)
        and len(block.body) == 1
        and isinstance(block.body[0], cst.SimpleStatementLine)
        and len(block.body[0].body) == 1
        and isinstance(block.body[0].body[0], cst.Pass)
    )
