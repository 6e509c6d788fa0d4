"""Finding the files to convert, reading them safely and writing results: never a half-written file.

Reading: only regular files, at most :data:`MAX_FILE_BYTES`, opened without
blocking (a FIFO named ``x.py`` must not hang a run). A directory walk never
follows a link out of the directory it walks. Writing: a regular file (or a
new path) is replaced atomically; a symlink, a FIFO or a device is written
through, so that ``-o /dev/stdout`` prints and never replaces the link.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import BinaryIO

# Folders a directory walk never enters: version control, caches, virtual environments.
SKIPPED_DIRS = frozenset(
    {".git", ".hg", ".svn", "__pycache__", ".venv", "venv", ".tox", ".nox", ".eggs",
     ".mypy_cache", ".pytest_cache", ".ruff_cache", "node_modules"}
)  # fmt: skip

# Larger Python files are skipped with a K2T001 diagnostic. Python's own parser
# takes about 1 s and 140 MB per MB of source, and libcst far more: a 50 MB file
# took 9 GB and aborted libcst's native parser. Real Keras scripts are < 100 kB.
MAX_FILE_BYTES = 10 * 1024 * 1024


class InputError(Exception):
    """A file k2t does not read: its message is the text of a K2T001 diagnostic."""


class FileChangedError(OSError):
    """The file on disk is no longer the one k2t read: replacing it would lose an edit."""

    def __init__(self, path: Path):
        super().__init__(errno.ESTALE, "changed on disk since k2t read it; not replaced", str(path))


@dataclass(frozen=True)
class FileState:
    """What a file was when k2t read it, to tell before replacing it whether it changed since."""

    device: int
    inode: int
    size: int
    mtime_ns: int
    sha256: str


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

    A file argument is taken whatever its suffix (reading it says whether it is a
    regular file). A directory argument yields its ``.py`` files (and with
    ``other_files`` everything else), sorted, without entering SKIPPED_DIRS,
    symlinked directories (no loops, no escaping the tree) or ``exclude`` (the
    output directory, when it lies inside the input); of its files it yields
    only regular files, and links only to a file inside the directory.
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
        tree = path.resolve()
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
                skipped = _why_a_walk_skips(file, tree)
                if skipped:
                    notes.append(f"{file}: {skipped}")
                    continue
                found.append(SourceFile(file, path, python, prefix))
    return found, notes


def _why_a_walk_skips(file: Path, tree: Path) -> str | None:
    """Why a file met in a walk of ``tree`` is not processed, or None: links out of the tree, FIFOs, devices."""
    if file.is_symlink():
        try:
            target = Path(os.path.realpath(file, strict=True))
        except (OSError, RuntimeError):  # dangling, or a loop of links
            return "broken symlink skipped"
        if not target.is_relative_to(tree):
            return f"symlink to {target}, outside {tree}, not followed"
    try:
        mode = os.stat(file).st_mode
    except OSError:
        return None  # gone or unreadable: reading it reports why, as K2T001
    if not stat.S_ISREG(mode):
        return f"{_kind(mode)}, not a regular file: skipped"
    return None


def _kind(mode: int) -> str:
    kinds = {stat.S_ISDIR: "a directory", stat.S_ISFIFO: "a FIFO", stat.S_ISCHR: "a character device",
             stat.S_ISBLK: "a block device", stat.S_ISSOCK: "a socket"}  # fmt: skip
    return next((kind for test, kind in kinds.items() if test(mode)), "a special file")


def once_per_file(files: list[SourceFile]) -> tuple[list[SourceFile], list[str]]:
    """For --in-place: one entry per file on disk, the entry that is not a link when there is one.

    A link inside a tree and its target are the same file; converting both would
    convert it twice (the second time from text the first write replaced).
    """
    by_target: dict[str, SourceFile] = {}
    for file in files:
        key = os.path.realpath(file.path)
        current = by_target.get(key)
        if current is None or (current.path.is_symlink() and not file.path.is_symlink()):
            by_target[key] = file
    kept = {id(f) for f in by_target.values()}
    notes = [f"{f.path}: same file as {by_target[os.path.realpath(f.path)].path}, converted there"
             for f in files if id(f) not in kept]  # fmt: skip
    return [f for f in files if id(f) in kept], notes


# ------------------------------------------------------------------- reading
def read_source(path: str | Path, max_bytes: int = MAX_FILE_BYTES) -> tuple[bytes, FileState]:
    """The bytes of a regular file of at most ``max_bytes``, and its state; InputError otherwise.

    Opened without blocking and checked with fstat on the open file, so that a
    FIFO neither hangs the open nor is read, a device is never read without
    bound, and the file checked is the file read.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise InputError(f"cannot read file: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise InputError(f"cannot read file: {_kind(info.st_mode)}, not a regular file (use - to read a pipe)")
        if info.st_size > max_bytes:
            raise InputError(_too_large(info.st_size, max_bytes))
        with os.fdopen(os.dup(fd), "rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise InputError(f"cannot read file: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if len(data) > max_bytes:  # it grew while k2t read it
        raise InputError(_too_large(len(data), max_bytes))
    import hashlib

    return data, FileState(info.st_dev, info.st_ino, len(data), info.st_mtime_ns, hashlib.sha256(data).hexdigest())


def read_stream(stream: BinaryIO | None, max_bytes: int = MAX_FILE_BYTES) -> bytes:
    """Stdin's bytes, at most ``max_bytes``; InputError when stdin is closed, unreadable or longer."""
    if stream is None:  # the process was started with fd 0 closed
        raise InputError("cannot read stdin: it is closed")
    try:
        data = stream.read(max_bytes + 1)
    except OSError as exc:
        raise InputError(f"cannot read stdin: {exc.strerror or exc}") from None
    if len(data) > max_bytes:
        raise InputError(_too_large(None, max_bytes))
    return data


def _too_large(size: int | None, max_bytes: int) -> str:
    limit = f"{max_bytes / 2**20:g} MiB" if max_bytes >= 2**20 else f"{max_bytes} bytes"
    what = f"{size:,} bytes" if size is not None else f"more than {max_bytes:,} bytes"
    return f"file too large: {what}, the limit is {limit} (--max-size): skipped"


def read_unchanged(path: Path, state: FileState) -> bytes:
    """The file's bytes, when it is still the file ``state`` describes; FileChangedError otherwise."""
    try:
        data, now = read_source(path, max(state.size, 1))
    except InputError:
        raise FileChangedError(path) from None  # gone, replaced by something else, or grown
    if now != state:
        raise FileChangedError(path)
    return data


# ------------------------------------------------------------------- writing
_UMASK: int | None = None


def _new_file_mode() -> int:
    global _UMASK
    if _UMASK is None:
        _UMASK = os.umask(0)
        os.umask(_UMASK)
    return 0o666 & ~_UMASK


def write_output(path: Path, data: bytes | BinaryIO, mode_from: Path | None = None) -> None:
    """Write ``data`` (bytes, or a binary file to copy) to ``path`` as the user would expect.

    A new path or a regular file: atomically (:func:`write_atomic`), refusing a
    read-only file. A symlink, a FIFO, a device (``/dev/stdout``, ``/dev/null``):
    written through, never replaced. A directory: IsADirectoryError. Every
    failure is an OSError with the reason in ``strerror``.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        here = os.lstat(path)
    except FileNotFoundError:
        write_atomic(path, data, mode_from)
        return
    if stat.S_ISDIR(here.st_mode):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
    if stat.S_ISREG(here.st_mode):
        _refuse_read_only(path, here)
        write_atomic(path, data, mode_from)
        return
    _write_through(path, data)


def _refuse_read_only(path: Path, info: os.stat_result) -> None:
    # Checked by hand: a rename replaces a 0444 file whenever its directory is writable.
    if not info.st_mode & 0o222 or not os.access(path, os.W_OK):
        raise PermissionError(errno.EACCES, "read-only file; not replaced", str(path))


def _write_through(path: Path, data: bytes | BinaryIO) -> None:
    """Write into what ``path`` leads to (a link's target, a FIFO, a device) without replacing ``path``."""
    try:
        target = os.stat(path)
    except FileNotFoundError:
        target = None  # a dangling link: open() creates its target, as cp does
    if target is not None and stat.S_ISDIR(target.st_mode):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
    if target is not None and stat.S_ISREG(target.st_mode):
        _refuse_read_only(path, target)
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0)
    with os.fdopen(os.open(path, flags, _new_file_mode()), "wb") as handle:
        _write_data(handle, data)


def _write_data(handle: BinaryIO, data: bytes | BinaryIO) -> None:
    if isinstance(data, bytes):
        handle.write(data)
    else:
        import shutil

        shutil.copyfileobj(data, handle)


def write_atomic(path: Path, data: bytes | BinaryIO, mode_from: Path | None = None) -> None:
    """Write ``data`` to a temporary file beside ``path``, then rename it over ``path``.

    Readers see the old file or the new one, never a part. The new file gets
    ``mode_from``'s permissions (an executable script stays executable), else
    the usual permissions of a new file.
    """
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".k2t-tmp", dir=str(path.parent))
    try:
        with os.fdopen(fd, "wb") as handle:
            _write_data(handle, data)
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


def copy_file(source: Path, target: Path) -> None:
    """``--copy-other``: copy a regular file of any size (no limit: data files are often large)."""
    try:
        fd = os.open(source, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise OSError(exc.errno, f"cannot read {source}: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(errno.EINVAL, f"{_kind(info.st_mode)}, not a regular file")
        write_output(target, handle, mode_from=source)


def in_place_target(path: Path) -> Path:
    """Where ``--in-place`` writes: through a symlink to its target, so the link stays a link."""
    return Path(os.path.realpath(path))
