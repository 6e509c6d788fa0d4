"""Finding the files to convert and writing results: never a half-written file."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

# Folders a directory walk never enters: version control, caches, virtual environments.
SKIPPED_DIRS = frozenset(
    {".git", ".hg", ".svn", "__pycache__", ".venv", "venv", ".tox", ".nox", ".eggs",
     ".mypy_cache", ".pytest_cache", ".ruff_cache", "node_modules"}
)  # fmt: skip


@dataclass(frozen=True)
class SourceFile:
    path: Path  # as the user named it, or as found under a directory the user named
    root: Path | None = None  # the directory argument it was found under
    python: bool = True  # False: another file, copied as is with --copy-other
    prefix: Path = Path()  # several arguments: each directory is mirrored under its own name

    @property
    def relative(self) -> Path:
        """Where it goes under an output directory: its path under the directory argument, or its name."""
        if self.root is None:
            return Path(self.path.name)
        return self.prefix / self.path.relative_to(self.root)


def collect(
    paths: Iterable[Path], *, other_files: bool = False, exclude: Path | None = None
) -> tuple[list[SourceFile], list[str]]:
    """Files to process, in a deterministic order, and notes about what a walk skipped.

    A file argument is taken whatever its suffix. A directory argument yields its
    ``.py`` files (and with ``other_files`` everything else), sorted, without
    entering SKIPPED_DIRS, symlinked directories (no loops, no escaping the tree)
    or ``exclude`` (the output directory, when it lies inside the input).
    """
    found: list[SourceFile] = []
    notes: list[str] = []
    excluded = exclude.resolve() if exclude is not None else None
    paths = list(paths)
    for path in paths:
        prefix = Path(path.resolve().name) if len(paths) > 1 else Path()
        if not path.is_dir():
            found.append(SourceFile(path))
            continue
        for top, dirs, names in os.walk(path):
            top_path = Path(top)
            keep = []
            for name in sorted(dirs):
                sub = top_path / name
                if name in SKIPPED_DIRS:
                    continue
                if sub.is_symlink():
                    notes.append(f"{sub}: symlinked directory not followed")
                elif excluded is not None and sub.resolve() == excluded:
                    continue
                else:
                    keep.append(name)
            dirs[:] = keep
            for name in sorted(names):
                file = top_path / name
                python = name.endswith(".py")
                if not python and not other_files:
                    continue
                if file.is_symlink() and not file.exists():
                    notes.append(f"{file}: broken symlink skipped")
                    continue
                found.append(SourceFile(file, path, python, prefix))
    return found, notes


_UMASK: int | None = None


def _new_file_mode() -> int:
    global _UMASK
    if _UMASK is None:
        _UMASK = os.umask(0)
        os.umask(_UMASK)
    return 0o666 & ~_UMASK


def write_atomic(path: Path, data: bytes, mode_from: Path | None = None) -> None:
    """Write ``data`` to a temporary file beside ``path``, then rename it over ``path``.

    Readers see the old file or the new one, never a part. The new file gets
    ``mode_from``'s permissions (an executable script stays executable), else
    the usual permissions of a new file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".k2t-tmp", dir=str(path.parent))
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        try:
            mode = os.stat(mode_from).st_mode & 0o7777 if mode_from is not None else _new_file_mode()
        except OSError:
            mode = _new_file_mode()
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def in_place_target(path: Path) -> Path:
    """Where ``--in-place`` writes: through a symlink to its target, so the link stays a link."""
    return Path(os.path.realpath(path))
