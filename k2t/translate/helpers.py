"""Top-level definitions the generated script needs, rendered from templates."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import libcst as cst

from ..names import canonical_name


@dataclass(frozen=True)
class Helper:
    """One generated top-level def/class: a template and what it is rendered with."""

    name: str  # the name it defines in the output
    template: str  # path under templates/
    args: tuple[tuple[str, object], ...] = ()
    requires: tuple[Helper, ...] = field(default=())

    def context(self) -> dict[str, object]:
        return {"name": self.name, **dict(self.args)}


def imported_by_own_name(module: cst.Module, replaced: Mapping[str, str]) -> set[str]:
    """Names bound by ``from <keras module> import <name>`` whose Keras symbol (canonical name, a key of
    ``replaced``) gets a generated definition of that same name: ``from keras.utils import get_file``.

    Those imports go, so the generated definition takes the name the script's calls already use.
    """
    names: set[str] = set()
    for statement in module.body:
        for small in statement.body if isinstance(statement, cst.SimpleStatementLine) else ():
            if not isinstance(small, cst.ImportFrom) or small.module is None or small.relative:
                continue
            if isinstance(small.names, cst.ImportStar):
                continue
            prefix = module.code_for_node(small.module)
            for alias in small.names:
                if alias.asname is not None or not isinstance(alias.name, cst.Name):
                    continue
                if replaced.get(canonical_name(f"{prefix}.{alias.name.value}")) == alias.name.value:
                    names.add(alias.name.value)
    return names
