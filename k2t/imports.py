"""The output's leading import block, merged and sorted as isort and ruff's ``I`` rules sort it.

The imports k2t adds (torch, numpy, the standard modules its helpers use) join the script's own
block instead of standing in groups of their own: sections future, standard library, third
party, then relative imports, one blank line between sections; in each, ``import x`` lines
before ``from x import y`` lines, each by module name without regard to case; the names of a
``from`` import ordered constants, classes, then the rest (isort's order-by-type). Comments on
an import move with it. A block k2t cannot sort faithfully (a statement holding several
imports, a star import) is left in the order the script wrote it, the added imports after it.
"""

from __future__ import annotations

import sys

import libcst as cst

from .parse.syntax import is_docstring

_FUTURE, _STDLIB, _THIRD_PARTY, _LOCAL = range(4)


def merged_imports(
    script_block: list[cst.BaseStatement], added: list[cst.SimpleStatementLine]
) -> list[cst.BaseStatement]:
    """``script_block``: the script's leading statements up to its last leading import (a docstring
    first, perhaps); ``added``: the import statements the output needs besides. The block to write."""
    # The docstring, and keras.io's section strings before the imports (a bare "## Setup"), stay as they are; the
    # imports after the last of them are merged.
    strings = [index for index, statement in enumerate(script_block) if is_docstring(statement)]
    docstring = script_block[: strings[-1] + 1] if strings else []
    imports = [*script_block[len(docstring) :], *added]
    if not all(_sortable(statement) for statement in imports):
        return [*script_block, *_first_blank(added, bool(script_block))]
    sections: dict[int, list[cst.SimpleStatementLine]] = {}
    for statement in imports:
        sections.setdefault(_section(statement.body[0]), []).append(_names_sorted(statement))
    block: list[cst.BaseStatement] = list(docstring)
    for number in sorted(sections):
        ordered = _deduplicated(sorted(sections[number], key=lambda s: _sort_key(s.body[0])))
        for index, statement in enumerate(ordered):
            blank = bool(block) and index == 0
            block.append(statement.with_changes(leading_lines=_comments(statement, blank)))
    return block


def _first_blank(statements: list[cst.SimpleStatementLine], after_something: bool) -> list[cst.SimpleStatementLine]:
    if not statements:
        return []
    first = statements[0].with_changes(leading_lines=[cst.EmptyLine()] if after_something else [])
    return [first, *statements[1:]]


def _sortable(statement: cst.BaseStatement) -> bool:
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return False
    small = statement.body[0]
    if isinstance(small, cst.Import):
        return len(small.names) == 1
    return isinstance(small, cst.ImportFrom) and not isinstance(small.names, cst.ImportStar)


def _module_name(small: cst.Import | cst.ImportFrom) -> str:
    if isinstance(small, cst.Import):
        return cst.Module([]).code_for_node(small.names[0].name)
    dots = "." * len(small.relative)
    return dots + (cst.Module([]).code_for_node(small.module) if small.module is not None else "")


def _section(small: cst.Import | cst.ImportFrom) -> int:
    name = _module_name(small)
    if name.startswith("."):
        return _LOCAL
    top = name.split(".", 1)[0]
    if top == "__future__":
        return _FUTURE
    return _STDLIB if top in sys.stdlib_module_names else _THIRD_PARTY


def _sort_key(small: cst.Import | cst.ImportFrom) -> tuple:
    module = _module_name(small)
    alias = small.names[0].asname if isinstance(small, cst.Import) else None
    asname = cst.Module([]).code_for_node(alias.name) if alias is not None else ""
    return (isinstance(small, cst.ImportFrom), module.lower(), module, asname.lower())


def _name_key(alias: cst.ImportAlias) -> tuple:
    """isort's order-by-type: CONSTANTS, then Classes, then everything else, each alphabetically."""
    name = cst.Module([]).code_for_node(alias.name)
    kind = 0 if name.isupper() and len(name) > 1 else 1 if name[:1].isupper() else 2
    return (kind, name.lower(), name)


def _names_sorted(statement: cst.SimpleStatementLine) -> cst.SimpleStatementLine:
    small = statement.body[0]
    if not isinstance(small, cst.ImportFrom) or len(small.names) < 2 or small.lpar is not None:
        return statement  # one name, or names in parentheses (perhaps with comments): as written
    names = [alias.with_changes(comma=cst.MaybeSentinel.DEFAULT) for alias in sorted(small.names, key=_name_key)]
    return statement.with_changes(body=[small.with_changes(names=names)])


def _deduplicated(statements: list[cst.SimpleStatementLine]) -> list[cst.SimpleStatementLine]:
    """The same import twice (the script's ``import numpy as np`` and k2t's): once."""
    seen: set[str] = set()
    kept = []
    for statement in statements:
        code = cst.Module([]).code_for_node(statement.body[0])
        if code in seen:
            continue
        seen.add(code)
        kept.append(statement)
    return kept


def _comments(statement: cst.SimpleStatementLine, blank: bool) -> list[cst.EmptyLine]:
    """The statement's own comment lines kept, its blank lines replaced by the section's one."""
    comments = [line for line in statement.leading_lines if line.comment is not None]
    return [cst.EmptyLine()] * blank + comments


# GNU OpenMP (torch's CPU thread pool on Linux) reads GOMP_SPINCOUNT once, when torch loads it: its threads
# spin about 300,000 times waiting for work before they sleep. Where other processes hold the cores, the
# spinning threads take their time slices from the ones with work, and CPU training ran 2-3.5x slower than
# alone (tests/benchmark_busy.py); 3,000 spins keep it near that, for 2-3% when the machine is idle.
OPENMP_SPIN = "3000"
_OPENMP_COMMENT = (
    "# torch's OpenMP threads wait for work by spinning; where other processes hold the",
    "# cores that stalls CPU training (2-3x slower on a busy 2-core machine). Set before",
    "# torch loads OpenMP; a GOMP_SPINCOUNT in the environment wins.",
)


def with_openmp_setting(head: list[cst.BaseStatement]) -> list[cst.BaseStatement]:
    """The output's leading block (docstring, imports) with ``os.environ.setdefault("GOMP_SPINCOUNT", ...)``
    before its imports, after the docstring and ``__future__`` imports: ``import os`` moves up to serve it
    (ruff's E402 allows imports after an ``os.environ`` setting; each side stays sorted)."""
    start = 0
    while start < len(head) and (is_docstring(head[start]) or _is_future(head[start])):
        start += 1
    rest = list(head[start:])
    plain_os = [
        index for index, statement in enumerate(rest)
        if _sortable(statement) and isinstance(statement.body[0], cst.Import)
        and statement.body[0].names[0].asname is None and _module_name(statement.body[0]) == "os"
    ]  # fmt: skip
    # The script's own `import os` moves up (its comments with it); after a block k2t could not sort, a second one.
    moved = rest.pop(plain_os[0]) if plain_os else None
    blank = [cst.EmptyLine()]
    import_os = cst.parse_statement("import os\n").with_changes(
        leading_lines=blank * bool(start) + (_comment_lines(moved.leading_lines) if moved is not None else [])
    )
    comment = [cst.EmptyLine(comment=cst.Comment(line)) for line in _OPENMP_COMMENT]
    setting = cst.parse_statement(f'os.environ.setdefault("GOMP_SPINCOUNT", "{OPENMP_SPIN}")\n')
    setting = setting.with_changes(leading_lines=[*blank, *comment])
    if rest:
        rest[0] = rest[0].with_changes(leading_lines=[*blank, *_comment_lines(rest[0].leading_lines)])
    return [*head[:start], import_os, setting, *rest]


def _is_future(statement: cst.BaseStatement) -> bool:
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and isinstance(statement.body[0], cst.ImportFrom)
        and _module_name(statement.body[0]) == "__future__"
    )


def _comment_lines(lines) -> list[cst.EmptyLine]:
    return [line for line in lines if line.comment is not None]
