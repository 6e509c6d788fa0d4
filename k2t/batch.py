"""Converting or checking many files: one worker function, run serially or on every core.

A worker reads its file and returns an :class:`Outcome` value; the parent
process does all the writing and printing, in the order the files were given,
so output is the same whichever worker finishes first.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import Enum

from .api import ConversionResult, convert_bytes, decode_source
from .diagnostics import Diagnostic
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


@dataclass(frozen=True)
class Outcome:
    report: FileReport
    source: str | None = None  # CONVERT and changed: the input text (for --diff)
    output: bytes | None = None  # CONVERT and changed: the output, encoded as the input was
    encoding: str = "utf-8"


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def process(task: Task, data: bytes | None = None) -> Outcome:
    """Convert or check one file; an unexpected exception becomes an INTERNAL_ERROR outcome."""
    try:
        if data is None:
            try:
                with open(task.path, "rb") as handle:
                    data = handle.read()
            except OSError as exc:
                message = f"cannot read file: {exc.strerror or exc}"
                diag = Diagnostic(task.display, 1, 1, "K2T001", message)
                return Outcome(FileReport(task.display, Status.FAILED, (diag,)))
        if task.mode is Mode.NO_KERAS:
            return _no_keras(task, data)
        return _convert(task, data)
    except Exception as exc:  # noqa: BLE001 -- a bug in k2t: reported for this file, and the run goes on
        error = f"{type(exc).__name__}: {exc}".strip().splitlines()[0]
        report = FileReport(task.display, Status.INTERNAL_ERROR, error=error, traceback=traceback.format_exc())
        return Outcome(report)


def _convert(task: Task, data: bytes) -> Outcome:
    result: ConversionResult = convert_bytes(data, task.display)
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
    """Outcomes in the order of ``tasks``; on ``jobs`` processes when there are enough files."""
    if jobs <= 1 or len(tasks) < PARALLEL_THRESHOLD:
        for task in tasks:
            yield process(task)
        return
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    try:
        pool = ProcessPoolExecutor(max_workers=min(jobs, len(tasks)))
    except (OSError, NotImplementedError):  # no working semaphores (some sandboxes): one process
        yield from run_all(tasks, 1)
        return
    done = 0
    with pool:
        try:
            # Small chunks keep workers busy to the end; map() keeps the order of tasks.
            for outcome in pool.map(process, tasks, chunksize=max(1, len(tasks) // (jobs * 16))):
                done += 1
                yield outcome
        except BrokenProcessPool as exc:  # a worker was killed (out of memory, a signal)
            for task in tasks[done:]:
                error = f"worker process died: {exc}"
                yield Outcome(FileReport(task.display, Status.INTERNAL_ERROR, error=error))
