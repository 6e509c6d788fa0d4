"""Keras/TensorFlow names a conversion leaves in its output, and the imports that keep them defined.

k2t removes the script's Keras and TensorFlow imports. A name one of them bound
that is still used in the output (a class base, an annotation, an ``except``
clause, a statement kept as written under a TODO) would raise NameError when
the converted script runs. So, as tf_upgrade_v2 leaves the code it cannot
convert working, such an import is kept (only the names still used), and every
remaining use on a statement without a ``# TODO(k2t)`` gets one (K2T100, or
K2T150 for TensorFlow): an output is never silently broken.

Uses are followed by identity: emit's rewriter records the output node of every
input ``Name`` spelling a removed binding (and of every string that may be an
annotation naming one), and :func:`find_leftovers` looks for those nodes in the
rewritten module (a node inside a translated call or statement is gone from
it). Scope analysis of the input then confirms that a leftover refers to the
removed import, not to a local of the same spelling. A removed star import
binds names nobody can list: it is kept, with a TODO.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import libcst as cst
from libcst.metadata import (
    Access,
    ImportAssignment,
    MetadataWrapper,
    ParentNodeProvider,
    PositionProvider,
    ScopeProvider,
)

from .cst_walk import Visitor
from .names import canonical_name, is_tensorflow

# Statements a TODO comment can be written above (an ``except`` clause takes its own).
_OWNERS = (cst.SimpleStatementLine, cst.BaseCompoundStatement, cst.ExceptHandler, cst.ExceptStarHandler)


@dataclass
class RemovedImports:
    """What the conversion's import rewrites unbind: name -> the module or symbol it was bound to."""

    targets: dict[str, str] = field(default_factory=dict)  # "K" -> "keras.backend"
    stars: set[int] = field(default_factory=set)  # id() of removed ``from keras... import *``


@dataclass(frozen=True)
class Leftover:
    """A use of a removed binding that is still in the output."""

    original: cst.CSTNode  # the input's Name, string annotation or removed star import
    owner: cst.CSTNode  # the output statement (or except clause) it is in
    covered: bool  # that statement already carries a ``# TODO(k2t)`` comment


def bound_names(node: cst.Import | cst.ImportFrom, module: cst.Module) -> dict[str, str]:
    """Names an import statement binds -> what each is bound to (``import a.b`` binds ``a``)."""
    bound: dict[str, str] = {}
    if isinstance(node, cst.Import):
        for alias in node.names:
            dotted = module.code_for_node(alias.name)
            if alias.asname is not None:
                bound[module.code_for_node(alias.asname.name)] = dotted
            else:
                root = dotted.split(".")[0]
                bound[root] = root
        return bound
    if isinstance(node.names, cst.ImportStar) or node.module is None or node.relative:
        return bound
    source = module.code_for_node(node.module)
    for alias in node.names:
        name = module.code_for_node(alias.name)
        target = alias.asname.name if alias.asname is not None else alias.name
        bound[module.code_for_node(target)] = f"{source}.{name}"
    return bound


class _ImportCollector(Visitor):
    """The removed bindings; visits statements only (imports are statements)."""

    def __init__(self, module: cst.Module, rewrites: dict[int, cst.BaseSmallStatement | None]):
        self.module = module
        self.rewrites = rewrites
        self.removed = RemovedImports()

    def enter(self, node: cst.CSTNode) -> bool:
        if isinstance(node, (cst.Import, cst.ImportFrom)):
            self._collect(node)
            return False
        return not isinstance(node, cst.BaseExpression)

    def _collect(self, node: cst.Import | cst.ImportFrom) -> None:
        if id(node) not in self.rewrites:
            return
        replacement = self.rewrites[id(node)]
        if isinstance(node, cst.ImportFrom) and isinstance(node.names, cst.ImportStar):
            self.removed.stars.add(id(node))
            return
        kept = bound_names(replacement, self.module) if isinstance(replacement, (cst.Import, cst.ImportFrom)) else {}
        for name, target in bound_names(node, self.module).items():
            if name not in kept:
                self.removed.targets[name] = target


def removed_imports(module: cst.Module, rewrites: dict[int, cst.BaseSmallStatement | None]) -> RemovedImports:
    collector = _ImportCollector(module, rewrites)
    module.visit(collector)
    return collector.removed


class _LeftoverFinder(Visitor):
    def __init__(self, tracked: dict[int, tuple[cst.CSTNode, cst.CSTNode]], covered: frozenset[int] = frozenset()):
        self.tracked = tracked
        self.covered = covered
        self.owners: list[cst.CSTNode] = []
        self.not_references: set[int] = set()  # `x.keras`, `f(keras=1)`, `def keras()`: names, not uses
        self.annotations = 0  # depth of annotations around the node: only there is a string a use
        self.found: list[Leftover] = []

    def enter(self, node: cst.CSTNode) -> bool:
        if isinstance(node, _OWNERS):
            self.owners.append(node)
        elif isinstance(node, cst.Annotation):
            self.annotations += 1
        entry = self.tracked.get(id(node))
        if (
            entry is not None
            and entry[0] is node
            and self.owners
            and id(node) not in self.not_references
            and (self.annotations or not isinstance(node, cst.SimpleString))
        ):
            owner = self.owners[-1]
            covered = has_todo(owner) or any(id(outer) in self.covered for outer in self.owners)
            self.found.append(Leftover(entry[1], owner, covered))
        if isinstance(node, (cst.Import, cst.ImportFrom)):
            return False
        if isinstance(node, cst.Attribute):
            self.not_references.add(id(node.attr))
        elif isinstance(node, cst.Arg) and node.keyword is not None:
            self.not_references.add(id(node.keyword))
        elif isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Param)):
            self.not_references.add(id(node.name))
        return True

    def leave(self, original_node: cst.CSTNode) -> None:
        if self.owners and self.owners[-1] is original_node:
            self.owners.pop()
        elif isinstance(original_node, cst.Annotation):
            self.annotations -= 1


def has_todo(owner: cst.CSTNode) -> bool:
    lines = getattr(owner, "leading_lines", ())
    return any(line.comment is not None and line.comment.value.startswith("# TODO(k2t)") for line in lines)


def find_leftovers(
    rewritten: cst.Module, tracked: dict[int, tuple[cst.CSTNode, cst.CSTNode]], covered: frozenset[int] = frozenset()
) -> list[Leftover]:
    """Tracked input names whose output node is still in ``rewritten``, each with its output statement.

    ``covered``: id() of output statements whose Keras uses another diagnostic already explains (the
    statements of a model k2t could not translate, reported where it stopped), with all they hold."""
    if not tracked:
        return []
    finder = _LeftoverFinder(tracked, covered)
    rewritten.visit(finder)
    return finder.found


@dataclass(frozen=True)
class Remaining:
    """What emit does about the leftovers: the bindings to keep, and TODOs for uncovered uses."""

    keep: frozenset[str]  # removed binding names whose import (that alias only) stays
    todos: tuple[tuple[cst.CSTNode, str, str, tuple[int, int]], ...]  # (output owner, code, message, input position)


def confirm(
    module: cst.Module,
    removed: RemovedImports,
    rewrites: dict[int, object],
    leftovers: list[Leftover],
    defined: set[str],
    wrapper: MetadataWrapper | None = None,
) -> Remaining:
    """Keep the leftovers that really refer to a removed import (scope analysis of the input ``module``);
    ``defined``: names the generated code defines at the top level, which take a removed import's place.
    ``wrapper``: the parser's metadata of ``module``, whose scopes and positions are already resolved."""
    if not leftovers:
        return Remaining(frozenset(), ())
    if wrapper is None or wrapper.module is not module:
        wrapper = MetadataWrapper(module, unsafe_skip_copy=True)  # the parser's own nodes: identities hold
    scopes = wrapper.resolve(ScopeProvider)
    accesses: dict[int, list[Access]] = {}  # a string annotation holds one access per name in it
    for scope in {scope for scope in scopes.values() if scope is not None}:
        for access in scope.accesses:
            accesses.setdefault(id(access.node), []).append(access)
    positions = wrapper.resolve(PositionProvider)
    parents = wrapper.resolve(ParentNodeProvider)
    keep: set[str] = set()
    todos: dict[tuple[int, str], tuple[cst.CSTNode, str, str, tuple[int, int]]] = {}
    for item in leftovers:
        start = positions[item.original].start
        pos = (start.line, start.column + 1)
        if isinstance(item.original, cst.ImportFrom):  # `from keras.layers import *`: kept as it is
            message = (
                f"`{module.code_for_node(item.original)}`: k2t cannot tell which names it binds; the import is kept"
            )
            todos[(id(item.owner), "*")] = (item.owner, "K2T100", message, pos)
            continue
        for name in _removed_bindings(accesses.get(id(item.original), []), removed, rewrites) - defined:
            keep.add(name)
            if item.covered:
                continue
            qualified = canonical_name(_qualified(item.original, name, removed.targets[name], parents))
            code, what = ("K2T150", "TensorFlow API") if is_tensorflow(qualified) else ("K2T100", "Keras API")
            message = f"{what} `{qualified}` is not translated; its import is kept"
            todos.setdefault((id(item.owner), qualified), (item.owner, code, message, pos))
    return Remaining(frozenset(keep), tuple(todos.values()))


def _removed_bindings(accesses: list[Access], removed: RemovedImports, rewrites: dict[int, object]) -> set[str]:
    """The removed import bindings these accesses may read (none: a local of the same spelling)."""
    return {
        ref.name
        for access in accesses
        for ref in access.referents
        if isinstance(ref, ImportAssignment) and id(ref.node) in rewrites and ref.name in removed.targets
    }


def _qualified(node: cst.CSTNode, name: str, target: str, parents) -> str:
    """``K.epsilon`` (``from keras import backend as K``) -> ``keras.backend.epsilon``;
    in a string annotation, the dotted name that starts with ``name``."""
    if isinstance(node, cst.SimpleString):
        found = re.search(rf"(?<![\w.]){re.escape(name)}((?:\.\w+)*)", str(node.evaluated_value))
        return target + (found.group(1) if found else "")
    dotted = target
    while True:
        parent = parents.get(node)
        if not isinstance(parent, cst.Attribute) or parent.value is not node:
            return dotted
        dotted += "." + parent.attr.value
        node = parent


def mentions(text: str, names: set[str]) -> bool:
    """Whether a string (an annotation) spells one of ``names`` as an identifier."""
    return any(re.search(rf"(?<![\w.]){re.escape(name)}\b", text) for name in names)


class Finisher(cst.CSTTransformer):
    """Applies the import rewrites except for the bindings still used, and writes the new TODO comments.

    Visits statements only: imports and comments live there.
    """

    def __init__(
        self,
        module: cst.Module,
        rewrites: dict[int, cst.BaseSmallStatement | None],
        pending: dict[int, tuple[cst.CSTNode, cst.CSTNode]],
        remaining: Remaining,
        stars: set[int],
    ):
        self.module = module  # the input: code_for_node of its imports
        self.rewrites = rewrites
        self.pending = pending  # id(output import) -> (output import, input import)
        self.keep = remaining.keep
        self.stars = stars
        self.comments: dict[int, list[str]] = {}
        for owner, code, message, _ in remaining.todos:
            self.comments.setdefault(id(owner), []).append(f"# TODO(k2t): {code} {message}")

    def on_visit(self, node: cst.CSTNode) -> bool:
        return not isinstance(node, cst.BaseExpression)

    def leave_Import(self, original_node, updated_node):
        return self._import(original_node, updated_node)

    def leave_ImportFrom(self, original_node, updated_node):
        return self._import(original_node, updated_node)

    def _import(self, output_node, updated_node):
        entry = self.pending.get(id(output_node))
        if entry is None or entry[0] is not output_node:
            return updated_node
        original = entry[1]
        if id(original) in self.stars:
            return updated_node  # which names it binds is not known: kept, with a TODO from emit
        replacement = self.rewrites[id(original)]
        kept = [alias for alias in original.names if _alias_binding(alias, self.module) in self.keep]
        if not kept:
            return cst.RemoveFromParent() if replacement is None else replacement
        if isinstance(original, cst.Import) and isinstance(replacement, cst.Import):
            # `import numpy as np, tensorflow as tf`: numpy was kept anyway; tf is still used.
            kept_ids = {id(alias) for alias in kept}
            preserved = {_alias_binding(alias, self.module) for alias in replacement.names}
            kept = [a for a in original.names if id(a) in kept_ids or _alias_binding(a, self.module) in preserved]
        kept[-1] = kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        if isinstance(original, cst.ImportFrom):
            return original.with_changes(
                names=kept,
                lpar=None if len(kept) == 1 else original.lpar,
                rpar=None if len(kept) == 1 else original.rpar,
            )
        return original.with_changes(names=kept)

    def leave_SimpleStatementLine(self, original_node, updated_node):
        if not updated_node.body:
            return cst.RemoveFromParent()
        return self._comment(original_node, updated_node)

    def on_leave(self, original_node, updated_node):
        result = super().on_leave(original_node, updated_node)
        if isinstance(original_node, _OWNERS) and not isinstance(original_node, cst.SimpleStatementLine):
            return self._comment(original_node, result)
        return result

    def _comment(self, original_node, updated_node):
        comments = self.comments.get(id(original_node))
        if not comments or not isinstance(updated_node, cst.CSTNode):
            return updated_node
        existing = {line.comment.value for line in updated_node.leading_lines if line.comment is not None}
        lines = [cst.EmptyLine(comment=cst.Comment(text)) for text in comments if text not in existing]
        return updated_node.with_changes(leading_lines=[*updated_node.leading_lines, *lines])


def _alias_binding(alias: cst.ImportAlias, module: cst.Module) -> str:
    if alias.asname is not None:
        return module.code_for_node(alias.asname.name)
    return module.code_for_node(alias.name).split(".")[0]
