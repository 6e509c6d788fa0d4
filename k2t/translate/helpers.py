"""Top-level definitions the generated script needs, rendered from templates."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Helper:
    """One generated top-level def/class: a template and what it is rendered with."""

    name: str  # the name it defines in the output
    template: str  # path under templates/
    args: tuple[tuple[str, object], ...] = ()
    requires: tuple["Helper", ...] = field(default=())

    def context(self) -> dict[str, object]:
        return {"name": self.name, **dict(self.args)}
