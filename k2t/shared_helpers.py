"""``k2t convert TREE -o OUT --helpers-module NAME``: the helpers k2t generates (fit / evaluate /
predict, Keras-exact optimizers, losses, metrics, callbacks, layer classes) written once, into
``NAME.py`` beside the converted scripts, instead of copied into every one of them.

A pure post-pass over the converted texts of the scripts of one output folder (a script imports
the module from its own folder, so ``python script.py`` runs as it did):

- a generated definition is one the output defines at its top level and the input did not;
- it is shared, definition by definition, when two scripts of the folder or more generate it with
  the very same text (of several texts under one name, the one most scripts write), and everything
  it reads is an import the module has, a builtin, or another shared definition;
- a script whose own text of a definition differs (a model class, a ``fit`` specialised for its
  metrics) keeps its definition, and so does every definition of it that reads one it keeps:
  ``fit`` calling the script's own ``evaluate`` stays beside it;
- each script then imports the shared names it uses (``from NAME import fit, KerasAdam``) and
  loses the imports k2t had added only for them.

The module depends on torch and numpy only, never on k2t.
"""

from __future__ import annotations

import builtins
import io
import keyword
import tokenize
from dataclasses import dataclass, field

import libcst as cst

from .cst_walk import Visitor
from .imports import merged_imports
from .names import GENERATED_IMPORTS
from .parse.syntax import is_docstring

HEADER = "k2t generated helpers"  # the first line of the module's docstring: what marks a file as ours
_IMPORT_NAMES = {name for name, _ in GENERATED_IMPORTS}
_IMPORT_STATEMENTS = {statement for _, statement in GENERATED_IMPORTS}


@dataclass
class Shared:
    """The folder's new texts: each script's output, and the module (None when nothing is shared)."""

    outputs: dict[str, str]
    module: str | None
    names: list[str] = field(default_factory=list)


def share_helpers(scripts: dict[str, tuple[str, str]], module_name: str) -> Shared:
    """``scripts``: key -> (input source, converted output) for the converted scripts of one folder."""
    parsed = {key: cst.parse_module(output) for key, (_, output) in scripts.items()}
    generated = {key: _generated(parsed[key], scripts[key][0]) for key in scripts}
    texts = {key: {name: _code(node) for name, node in generated[key].items()} for key in scripts}
    nodes = _most_written(generated, texts)
    shared = _closed(nodes)
    if not shared:
        return Shared({key: output for key, (_, output) in scripts.items()}, None)
    module_texts = {name: _code(nodes[name]) for name in shared}
    imported = {key: _imported(generated[key], texts[key], module_texts) for key in scripts}
    order = _ordered(shared, nodes, [generated[key] for key in sorted(scripts)])
    outputs = {key: _importing(parsed[key], scripts[key][0], imported[key], module_name) for key in scripts}
    return Shared(outputs, _module_text([nodes[name] for name in order]), order)


def _most_written(
    generated: dict[str, dict[str, cst.CSTNode]], texts: dict[str, dict[str, str]]
) -> dict[str, cst.CSTNode]:
    """Name -> the definition two scripts or more write alike under it: of several such texts, the one
    most scripts write (the first script's, in sorted order, on a tie)."""
    writers: dict[str, dict[str, list[str]]] = {}
    for key in sorted(texts):
        for name, text in texts[key].items():
            writers.setdefault(name, {}).setdefault(text, []).append(key)
    chosen: dict[str, cst.CSTNode] = {}
    for name, by_text in writers.items():
        keys = max(by_text.values(), key=len)  # max keeps the first of equal lengths: the earliest script's
        if len(keys) > 1:
            chosen[name] = generated[keys[0]][name]
    return chosen


def _imported(definitions: dict[str, cst.CSTNode], texts: dict[str, str], module_texts: dict[str, str]) -> set[str]:
    """The shared definitions one script imports: those it writes as the module does, less (until none is
    left to drop) any that reads a definition the script keeps, or a shared name the script does not
    generate (its own, the module's would differ)."""
    imported = {name for name, text in texts.items() if module_texts.get(name) == text}
    while True:
        kept = set(definitions) - imported
        reads = {name: _free_names(definitions[name]) for name in imported}
        dropped = {
            name for name in imported if reads[name] & kept or reads[name] & (set(module_texts) - set(definitions))
        }
        if not dropped:
            return imported
        imported -= dropped


def _generated(module: cst.Module, source: str) -> dict[str, cst.CSTNode]:
    """The output's top-level functions and classes the input did not define (k2t wrote them)."""
    own = _top_level_names(cst.parse_module(source)) if source.strip() else set()
    return {
        statement.name.value: statement
        for statement in module.body
        if isinstance(statement, (cst.FunctionDef, cst.ClassDef)) and statement.name.value not in own
    }


def _top_level_names(module: cst.Module) -> set[str]:
    names = set()
    for statement in module.body:
        if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
            names.add(statement.name.value)
    return names


def _code(node: cst.CSTNode) -> str:
    return cst.Module([]).code_for_node(node.with_changes(leading_lines=[]))


def _reads(code: str) -> set[str]:
    """Names the code reads: not keywords, attributes (``x.name``), keyword arguments or assignment
    targets (``name=``), strings or comments."""
    tokens = [
        token
        for token in tokenize.generate_tokens(io.StringIO(code).readline)
        if token.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT)
    ]
    names: set[str] = set()
    for index, token in enumerate(tokens):
        if token.type != tokenize.NAME or keyword.iskeyword(token.string) or keyword.issoftkeyword(token.string):
            continue
        before = tokens[index - 1].string if index else ""
        after = tokens[index + 1].string if index + 1 < len(tokens) else ""
        if before != "." and after != "=":
            names.add(token.string)
    return names


def _closed(nodes: dict[str, cst.CSTNode]) -> set[str]:
    """The candidates whose every free name the module can provide: drop the others until none is left to drop."""
    known = _IMPORT_NAMES | set(dir(builtins))
    shared = set(nodes)
    while True:
        outside = {name for name in shared if not _free_names(nodes[name]) <= known | shared}
        if not outside:
            return shared
        shared -= outside


def _free_names(node: cst.CSTNode) -> set[str]:
    """Names a definition reads that are not its own locals: a superset (every name read, less those it binds)."""
    code = _code(node)
    bound = _bound_inside(node)
    return _reads(code) - bound


def _bound_inside(node: cst.CSTNode) -> set[str]:
    bound: set[str] = {node.name.value} if isinstance(node, (cst.FunctionDef, cst.ClassDef)) else set()

    class Binder(Visitor):
        def visit_Param(self, param: cst.Param) -> None:
            bound.add(param.name.value)

        def visit_AssignTarget(self, target: cst.AssignTarget) -> None:
            bound.update(_target_names(target.target))

        def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
            bound.update(_target_names(node.target))

        def visit_AugAssign(self, node: cst.AugAssign) -> None:
            bound.update(_target_names(node.target))

        def visit_For(self, node: cst.For) -> None:
            bound.update(_target_names(node.target))

        def visit_CompFor(self, node: cst.CompFor) -> None:
            bound.update(_target_names(node.target))

        def visit_WithItem(self, node: cst.WithItem) -> None:
            if node.asname is not None:
                bound.update(_target_names(node.asname.name))

        def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
            if node.name is not None:
                bound.update(_target_names(node.name.name))

        def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
            bound.add(node.name.value)

        def visit_ClassDef(self, node: cst.ClassDef) -> None:
            bound.add(node.name.value)

        def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
            bound.update(_target_names(node.target))

        def visit_ImportAlias(self, node: cst.ImportAlias) -> None:
            name = node.asname.name if node.asname is not None else node.name
            bound.add(cst.Module([]).code_for_node(name).split(".")[0])

    node.visit(Binder())
    return bound


def _target_names(node: cst.CSTNode) -> set[str]:
    if isinstance(node, cst.Name):
        return {node.value}
    if isinstance(node, (cst.Tuple, cst.List)):
        return {name for element in node.elements for name in _target_names(element.value)}
    if isinstance(node, cst.StarredElement):
        return _target_names(node.value)
    return set()


def _ordered(shared: set[str], nodes: dict[str, cst.CSTNode], definitions: list[dict[str, cst.CSTNode]]) -> list[str]:
    """In the order the scripts define them, each class after the classes it derives from."""
    seen: list[str] = []
    for script in definitions:
        for name in script:
            if name in shared and name not in seen:
                seen.append(name)
    placed: list[str] = []

    def place(name: str) -> None:
        if name in placed:
            return
        node = nodes[name]
        if isinstance(node, cst.ClassDef):
            for base in node.bases:
                for read in _reads(cst.Module([]).code_for_node(base.value)):
                    if read in shared and read != name:
                        place(read)
        placed.append(name)

    for name in seen:
        place(name)
    return placed


def _importing(module: cst.Module, source: str, shared: set[str], module_name: str) -> str:
    """The script without the shared definitions, importing them instead, and without the imports k2t
    had added that nothing reads any more."""
    if not shared:
        return module.code
    body = [s for s in module.body if not (isinstance(s, (cst.FunctionDef, cst.ClassDef)) and s.name.value in shared)]
    rest_reads = _reads(cst.Module(body=[s for s in body if not _is_import_line(s)]).code)
    used = sorted(
        (name for name in shared if name in rest_reads), key=lambda n: (not n.isupper(), not n[:1].isupper(), n.lower())
    )
    own_imports = {line.strip() for line in source.splitlines()}
    kept = []
    for statement in body:
        text = cst.Module([]).code_for_node(statement.with_changes(leading_lines=[])).strip()
        if text in _IMPORT_STATEMENTS and text not in own_imports:
            bound = {name for name, line in GENERATED_IMPORTS if line == text}
            if not bound & rest_reads:
                continue  # k2t added it for the helpers that moved
        kept.append(statement)
    head_end = 0
    for index, statement in enumerate(kept):
        if _is_import_line(statement) or (index == 0 and is_docstring(statement)):
            head_end = index + 1
            continue
        break
    added = [cst.parse_statement(f"from {module_name} import {', '.join(used)}")] if used else []
    head = merged_imports(kept[:head_end], added) if added else kept[:head_end]
    rest = kept[head_end:]
    if rest and head:
        gap = 2 if isinstance(rest[0], (cst.FunctionDef, cst.ClassDef)) else 1
        comments = [line for line in rest[0].leading_lines if line.comment is not None]
        rest[0] = rest[0].with_changes(leading_lines=[cst.EmptyLine()] * gap + comments)
    return module.with_changes(body=[*head, *rest]).code


def _is_import_line(statement: cst.CSTNode) -> bool:
    return isinstance(statement, cst.SimpleStatementLine) and all(
        isinstance(s, (cst.Import, cst.ImportFrom)) for s in statement.body
    )


def _module_text(definitions: list[cst.CSTNode]) -> str:
    code = "\n\n\n".join(_code(node).strip("\n") for node in definitions)
    reads = _reads(code)
    imports = [cst.parse_statement(line) for name, line in GENERATED_IMPORTS if name in reads]
    docstring = cst.parse_statement(
        f'"""{HEADER}: written once by `k2t convert --helpers-module`, imported by the converted scripts\n'
        'of this folder. Plain PyTorch and NumPy: edit it as your own code."""'
    )
    head = cst.Module(body=merged_imports([docstring], imports)).code
    return head.rstrip("\n") + "\n\n\n" + code + "\n"
