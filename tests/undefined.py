"""ruff's undefined-name check (F821) on a source string: a converted script must never gain a NameError.

`ruff check --select F821 --stdin-filename x.py -` reads the source on stdin.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def _ruff() -> str:
    ruff = shutil.which("ruff") or shutil.which("ruff", path=str(Path(sys.executable).parent))  # venv not activated
    if ruff is None:
        pytest.skip("ruff not installed")
    return ruff


def ruff_findings(source: str, select: str = "F821", filename: str = "output.py") -> list[str]:
    """ruff's concise lines (`output.py:3:9: F821 Undefined name ...`) for ``source``."""
    proc = subprocess.run(
        [_ruff(), "check", "--no-cache", "--isolated", "--select", select, "--output-format", "concise", "--stdin-filename", filename, "-"],
        check=False,
        input=source,
        capture_output=True,
        text=True,
    )
    if proc.returncode not in (0, 1):
        raise AssertionError(f"ruff failed ({proc.returncode}): {proc.stderr}")
    return [line for line in proc.stdout.splitlines() if f"{filename}:" in line]


def undefined_names(source: str, filename: str = "output.py") -> list[str]:
    return ruff_findings(source, "F821", filename)


def assert_no_undefined_names(output: str, filename: str = "output.py", source: str | None = None) -> None:
    """No F821 in ``output``; with ``source`` (the input), only names already undefined there are allowed."""
    found = undefined_names(output, filename)
    if source is not None:
        allowed = {_undefined(line) for line in undefined_names(source, "input.py")}
        found = [line for line in found if _undefined(line) not in allowed]
    assert not found, "undefined names in the output:\n" + "\n".join(found)


def _undefined(line: str) -> str:
    return line.rsplit("`", 2)[-2] if line.count("`") >= 2 else line
