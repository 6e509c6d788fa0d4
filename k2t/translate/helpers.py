"""Top-level definitions the generated script needs, rendered from templates."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import libcst as cst

from ..names import canonical_name


@dataclass(frozen=True)
class Helper:
    """One generated top-level def/class: a template and what it is rendered with."""

    name: str  # the name it defines in the output
    template: str  # path under templates/
    args: tuple[tuple[str, object], ...] = ()
    requires: tuple[Helper, ...] = field(default=())

    def __str__(self) -> str:
        # A template writes a helper it uses (an argument, or one inside an argument's tuples) by its name.
        return self.name

    def context(self) -> dict[str, object]:
        return {"name": self.name, **dict(self.args)}

    def uses(self) -> list[Helper]:
        """The definitions this one needs: ``requires``, and the helpers among its arguments (a block class
        passed to the class that builds it), which must be defined too and may be renamed."""
        return [*self.requires, *(found for _, value in self.args for found in _helpers_in(value))]

    def with_renamed(self, renamed: list[tuple[Helper, Helper]]) -> Helper:
        """This helper with the helpers it uses replaced by their renamed definitions (ScriptPlan.add_helper);
        pairs, not a dict: a helper's arguments may hold lists, which do not hash."""
        return replace(
            self,
            args=tuple((key, _replaced(value, renamed)) for key, value in self.args),
            requires=tuple(_replaced(required, renamed) for required in self.requires),
        )


def _helpers_in(value: object) -> list[Helper]:
    if isinstance(value, Helper):
        return [value]
    if isinstance(value, (tuple, list)):
        return [found for item in value for found in _helpers_in(item)]
    return []


def _replaced(value: object, renamed: list[tuple[Helper, Helper]]) -> object:
    if isinstance(value, Helper):
        return next((new for old, new in renamed if old == value), value)
    if isinstance(value, (tuple, list)):
        return type(value)(_replaced(item, renamed) for item in value)
    return value


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
