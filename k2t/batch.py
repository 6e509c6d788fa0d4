"""Converting or checking many files: one worker function, run serially or on every core.

A worker reads its file and returns an :class:`Outcome` value; the parent
process does all the writing and printing, in the order the files were given,
so output is the same whichever worker finishes first.
"""

from __future__ import annotations

import dataclasses
import os
import traceback
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import Enum

from .api import ConversionResult, convert_bytes, decode_source
from .diagnostics import Diagnostic
from .files import MAX_FILE_BYTES, FileState, InputError, read_source
from .report import FileReport, Status, changed_line_ranges

# Below this many files a process pool costs more (start-up, imports) than it saves.
PARALLEL_THRESHOLD = 8


class Mode(str, Enum):
    CONVERT = "convert"  # convert; ship the output back when it differs from the input
    CHECK = "check"  # convert; diagnostics only
    NO_KERAS = "no-keras"  # any remaining Keras/TensorFlow import is a diagnostic


@dataclass(frozen=True)
class Task:
    path: str  # the file to read
    display: str  # the name diagnostics and reports use
    mode: Mode
    max_bytes: int = MAX_FILE_BYTES  # larger files are skipped with a K2T001 diagnostic
    device: str = "auto"  # where converted scripts put their models (k2t.api.DEVICES)
    torch_compile: bool = False  # fit/evaluate through torch.compile (k2t convert --compile)


@dataclass(frozen=True)
class Outcome:
    report: FileReport
    source: str | None = None  # CONVERT and changed: the input text (for --diff)
    output: bytes | None = None  # CONVERT and changed: the output, encoded as the input was
    encoding: str = "utf-8"
    state: FileState | None = None  # the file as read: the CLI replaces it only if it is still so


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def process(task: Task, data: bytes | None = None) -> Outcome:
    """Convert or check one file; an unexpected exception becomes an INTERNAL_ERROR outcome."""
    try:
        state = None
        if data is None:
            try:
                data, state = read_source(task.path, task.max_bytes)
            except InputError as exc:
                return unreadable(task, str(exc))
        if task.mode is Mode.NO_KERAS:
            return _no_keras(task, data)
        return dataclasses.replace(_convert(task, data), state=state)
    except Exception as exc:  # noqa: BLE001 -- a bug in k2t: reported for this file, and the run goes on
        error = f"{type(exc).__name__}: {exc}".strip().splitlines()[0]
        report = FileReport(task.display, Status.INTERNAL_ERROR, error=error, traceback=traceback.format_exc())
        return Outcome(report)


def unreadable(task: Task, message: str) -> Outcome:
    """The outcome for a file (or stdin) k2t did not read: a K2T001 diagnostic, no output."""
    diag = Diagnostic(task.display, 1, 1, "K2T001", message)
    return Outcome(FileReport(task.display, Status.FAILED, (diag,)))


def _convert(task: Task, data: bytes) -> Outcome:
    result: ConversionResult = convert_bytes(data, task.display, device=task.device, torch_compile=task.torch_compile)
    if result.output is None:
        return Outcome(FileReport(task.display, Status.FAILED, result.diagnostics))
    if not result.changed:
        return Outcome(FileReport(task.display, Status.UNCHANGED, result.diagnostics))
    ranges = changed_line_ranges(result.source, result.output)
    report = FileReport(task.display, Status.CONVERTED, result.diagnostics, ranges)
    if task.mode is Mode.CHECK:
        return Outcome(report)
    # Encoded here so that an output the input's encoding cannot hold fails this file only.
    return Outcome(report, result.source, result.output.encode(result.encoding), result.encoding)


def _no_keras(task: Task, data: bytes) -> Outcome:
    from .usage import keras_usage

    decoded = decode_source(data, task.display)
    if isinstance(decoded, Diagnostic):
        return Outcome(FileReport(task.display, Status.FAILED, (decoded,)))
    diagnostics = keras_usage(decoded[0], task.display)
    status = Status.FAILED if any(d.code == "K2T002" for d in diagnostics) else Status.UNCHANGED
    return Outcome(FileReport(task.display, status, diagnostics))


def run_all(tasks: Sequence[Task], jobs: int) -> Iterator[Outcome]:
    """Outcomes in the order of ``tasks``; on ``jobs`` processes when there are enough files.

    A worker that dies (killed for memory, a crash in a native parser) breaks
    its pool. The first unfinished file is then run alone in a new process, so
    that the file that kills a worker is the one reported as K2T999, and a new
    pool takes the files after it.
    """
    if jobs <= 1 or len(tasks) < PARALLEL_THRESHOLD:
        for task in tasks:
            yield process(task)
        return
    from concurrent.futures.process import BrokenProcessPool

    remaining = list(tasks)
    while remaining:
        done = 0
        try:
            for outcome in _pool_map(remaining, jobs):
                done += 1
                yield outcome
            return
        except BrokenProcessPool:
            yield _run_alone(remaining[done])
            remaining = remaining[done + 1 :]


def _pool_map(tasks: Sequence[Task], jobs: int) -> Iterator[Outcome]:
    from concurrent.futures import ProcessPoolExecutor

    try:
        pool = ProcessPoolExecutor(max_workers=min(jobs, len(tasks)))
    except (OSError, NotImplementedError):  # no working semaphores (some sandboxes): one process
        yield from map(process, tasks)
        return
    with pool:
        # Small chunks keep workers busy to the end; map() keeps the order of tasks.
        yield from pool.map(process, tasks, chunksize=max(1, len(tasks) // (jobs * 16)))


def _run_alone(task: Task, tries: int = 2) -> Outcome:
    """One file in a process of its own: its outcome, or K2T999 when that process dies too, ``tries`` times (a
    process can die of something else than its file: killed for memory another one held, seen once in CI)."""
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    for _ in range(tries):
        try:
            with ProcessPoolExecutor(max_workers=1) as pool:
                return pool.submit(process, task).result()
        except BrokenProcessPool as exc:
            error = f"worker process died on this file: {exc}"
    return Outcome(FileReport(task.display, Status.INTERNAL_ERROR, error=error))
