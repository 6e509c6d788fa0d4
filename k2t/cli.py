"""The command line: a thin shell over the library. All printing and writing happens here.

Every command collects a :class:`~k2t.report.Report` and exits with its
``return_code``: 0 clean, 1 diagnostics (or would change, with ``--check``),
2 usage error (click), 123 internal error. Heavy modules (libcst, the
pipeline, concurrent.futures) are imported only when a file needs them.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import click

from .api import DEVICES
from .diagnostics import Diagnostic
from .files import MAX_FILE_BYTES
from .report import EXIT_INTERNAL, FORMATS, FileReport, Report, Status

EXIT_OK, EXIT_DIAGNOSTICS, EXIT_USAGE = 0, 1, 2  # re-exported for callers of the old names
STDIN = "-"


# ----------------------------------------------------------------- printing
class _Console:
    """stderr for people: diagnostics, a progress line on a terminal, a summary."""

    def __init__(self, *, quiet: bool, verbose: bool, fmt: str = "text"):
        self.quiet = quiet
        self.verbose = verbose
        self.fmt = fmt
        self.tty = sys.stderr.isatty()
        self._progress_shown = False

    def progress(self, done: int, total: int, path: str) -> None:
        if self.tty and not self.quiet and total > 1:
            width = 60
            name = path if len(path) <= width else "..." + path[-(width - 3) :]
            click.echo(f"\r\033[Kk2t: [{done}/{total}] {name}", err=True, nl=False)
            self._progress_shown = True

    def clear(self) -> None:
        if self._progress_shown:
            click.echo("\r\033[K", err=True, nl=False)
            self._progress_shown = False

    def file(self, file: FileReport) -> None:
        """What one file produced, as it arrives (text on stderr, GitHub annotations on stdout)."""
        from .report import format_github, format_github_internal_error

        if not file.diagnostics and file.status is not Status.INTERNAL_ERROR:
            return
        self.clear()
        if self.fmt == "github":
            for d in file.diagnostics:
                click.echo(format_github(d))
            if file.status is Status.INTERNAL_ERROR:
                click.echo(format_github_internal_error(file))
        elif self.fmt == "text":
            for d in file.diagnostics:
                click.echo(d.format(), err=True)
        if file.status is Status.INTERNAL_ERROR:
            if self.fmt != "github":
                click.echo(f"{file.path}: K2T999 internal error: {file.error}", err=True)
            if self.verbose and file.traceback:
                click.echo(file.traceback.rstrip(), err=True)

    def note(self, message: str) -> None:
        if self.verbose:
            self.clear()
            click.echo(f"k2t: {message}", err=True)

    def summary(self, report: Report) -> None:
        self.clear()
        if not self.quiet:
            click.echo(report.summary(), err=True)


def _write_report_file(report: Report, path: Path | None, title: str) -> bool:
    """Write the --report file; False (and a one-line error) when it cannot be written."""
    if path is None:
        return True
    from .files import write_output
    from .report import format_json

    if path.suffix.lower() in (".html", ".htm"):
        from .html_report import format_html

        text = format_html(report, title)
    else:
        text = format_json(report) + "\n" if path.suffix == ".json" else report.to_text(title)
    try:
        write_output(path, text.encode("utf-8"))
    except OSError as exc:
        click.echo(f"k2t: cannot write the report {path}: {_reason(exc)}", err=True)
        return False
    return True


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def _exit(report: Report, report_written: bool = True) -> None:
    # A report that could not be written fails the run, without hiding an internal error.
    sys.exit(report.return_code if report_written else max(report.return_code, EXIT_DIAGNOSTICS))


# ------------------------------------------------------------------ options
def _common_options(command: Callable) -> Callable:
    options = [
        click.option(
            "--report",
            "report_path",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Write a report of every file processed, its changes and diagnostics "
            "(JSON if FILE ends in .json, an HTML page with the lines if .html).",
        ),
        click.option(
            "-j",
            "--jobs",
            type=click.IntRange(min=1),
            default=None,
            help="Processes to use on many files [default: every core].",
        ),
        click.option("--stdin-filename", default=None, help="The name to report for - (stdin)."),
        click.option(
            "--max-size",
            "max_mb",
            metavar="MB",
            type=click.IntRange(min=1),
            default=MAX_FILE_BYTES // 2**20,
            show_default=True,
            help="Skip larger files (MiB) with a K2T001 diagnostic.",
        ),
        click.option("-q", "--quiet", is_flag=True, help="No summary line and no progress."),
        click.option("-v", "--verbose", is_flag=True, help="Tracebacks of internal errors, and what a walk skipped."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _existing(paths: Sequence[str]) -> list[str]:
    """Paths as given, after checking that each exists (a missing path is a usage error, exit 2)."""
    if STDIN in paths and len(paths) > 1:
        raise click.UsageError("- (stdin) cannot be combined with other paths")
    for raw in paths:
        if raw != STDIN and not os.path.lexists(raw):
            raise click.BadParameter(f"{raw}: no such file or directory", param_hint="PATH")
    return list(paths)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="k2t", prog_name="k2t")
def main() -> None:
    """Translate Keras training scripts into standalone PyTorch scripts."""


# ------------------------------------------------------------------ convert
# Each command has a short_help: click cuts a docstring's first sentence to fit `k2t --help`'s
# command list ("Report every Keras construct in PATH... that k2t cannot..."); a short_help wraps.
@main.command(short_help="Convert Keras scripts into PyTorch scripts.")
@click.argument("paths", metavar="PATH...", nargs=-1, required=True, type=click.Path(allow_dash=True, path_type=str))
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=str),
    help="Output file (one input file) or directory (several inputs, a directory, or a path ending in /). Default: stdout.",
)
@click.option("-i", "--in-place", is_flag=True, help="Replace each file with its conversion (atomically).")
@click.option("--diff", is_flag=True, help="Print a unified diff of what would change; write nothing.")
@click.option("--check", "check_only", is_flag=True, help="Write nothing; exit 1 if any file would change.")
@click.option(
    "--copy-other", is_flag=True, help="With -o DIR: also copy the files that are not .py into the mirrored tree."
)
@click.option(
    "--device",
    type=click.Choice(DEVICES),
    default="auto",
    show_default=True,
    help="Where the converted scripts train: auto picks cuda, mps or cpu when the script runs "
    "(the TORCH_DEVICE environment variable overrides it); cuda, mps or cpu fixes it.",
)
@click.option(
    "--compile",
    "torch_compile",
    is_flag=True,
    help="The generated fit() and evaluate() run each model's forward pass through torch.compile: fused kernels, "
    "compiled on the first batches (seconds to a minute), then faster steps on long runs.",
)
@click.option(
    "--helpers-module",
    metavar="NAME",
    default=None,
    help="With -o DIR or --in-place: write the generated helpers (fit, optimizers, losses, metrics, ...) once per "
    "folder into NAME.py, which the converted scripts of that folder import, instead of into every script.",
)
@_common_options
def convert(
    paths, output, in_place, diff, check_only, copy_other, device, torch_compile, helpers_module, report_path, jobs,
    stdin_filename, max_mb, quiet, verbose,
) -> None:  # fmt: skip
    """Convert Keras scripts into PyTorch scripts.

    PATH is a file, a directory (every .py file under it) or - for stdin.
    One file goes to stdout, or to -o FILE; a directory needs -o DIR (the tree
    is mirrored: every .py file is written, byte for byte the same when it has
    no Keras code), --in-place, --diff or --check. Each construct that cannot
    be translated is reported as path:line:col: K2Tnnn message, and marked
    with a TODO(k2t) comment in the output.
    """
    from .batch import Mode, Task, default_jobs, run_all

    paths = _existing(paths)
    # pathlib drops a trailing slash, which is how a user says "a directory" for one that does not exist yet.
    output_names_dir = output is not None and output.endswith(("/", os.sep))
    output = Path(output) if output is not None else None
    if in_place and output is not None:
        raise click.UsageError("--in-place and -o/--output cannot be combined")
    if (diff or check_only) and (in_place or output is not None):
        raise click.UsageError("--diff and --check write nothing: drop -o/--in-place")
    if copy_other and output is None:
        raise click.UsageError("--copy-other needs -o DIR")
    if helpers_module is not None and not helpers_module.isidentifier():
        raise click.BadParameter(f"{helpers_module!r} is not a Python module name", param_hint="--helpers-module")
    if helpers_module is not None and (diff or check_only or (output is None and not in_place)):
        raise click.UsageError(
            "--helpers-module writes a module beside the converted scripts: use -o DIR or --in-place"
        )
    console = _Console(quiet=quiet, verbose=verbose)
    report = Report(check=check_only, dry_run=diff or check_only)
    max_bytes = max_mb * 2**20

    if paths == [STDIN]:
        if in_place:
            raise click.UsageError("--in-place needs files, not - (stdin)")
        if output is not None and (output_names_dir or output.is_dir()):
            raise click.UsageError("- (stdin) needs -o FILE, not a directory")
        task = Task(STDIN, stdin_filename or "<stdin>", Mode.CONVERT, max_bytes, device, torch_compile)
        _convert_stdin(task, output, diff, check_only, console, report)
        written = _write_report_file(report, report_path, "k2t convert report")
        if report_path is not None:
            console.summary(report)
        _exit(report, written)

    from .files import collect, once_per_file

    sources = [Path(p) for p in paths]
    single_file = len(sources) == 1 and not sources[0].is_dir()
    writes_files = in_place or output is not None
    if not writes_files and not (diff or check_only) and not single_file:
        raise click.UsageError("several files or a directory need -o DIR, --in-place, --diff or --check")
    to_dir = output is not None and (output_names_dir or output.is_dir() or not single_file)
    if to_dir and output.exists() and not output.is_dir():
        raise click.BadParameter(f"{output}: not a directory", param_hint="-o/--output")
    files, notes = collect(sources, other_files=copy_other, exclude=output if to_dir else None)
    if in_place:
        files, same = once_per_file(files)
        notes += same
    for note in notes:
        console.note(note)

    destinations = _destinations(files, output, in_place, to_dir)
    python = [f for f in files if f.python]
    mode = Mode.CHECK if check_only and not diff else Mode.CONVERT
    tasks = [Task(str(f.path), str(f.path), mode, max_bytes, device, torch_compile) for f in python]
    to_stdout = not (writes_files or diff or check_only)
    outcomes = run_all(tasks, jobs or default_jobs())
    modules: dict[Path, str] = {}
    if helpers_module is not None:
        if not to_dir and not in_place:
            raise click.UsageError("--helpers-module needs -o DIR (or --in-place): the module goes beside the scripts")
        outcomes, modules = _shared_helpers(list(outcomes), python, destinations, helpers_module)
    for index, outcome in enumerate(outcomes, start=1):
        source = python[index - 1]
        console.progress(index, len(tasks), str(source.path))
        file = _deliver(outcome, source.path, destinations.get(source.path), diff, in_place, to_stdout)
        console.file(file)
        report.add(file)
    for path, text in modules.items():
        failed = _write_helpers_module(path, text)
        if failed is not None:
            console.file(failed)
            report.add(failed)
    for other in (f for f in files if not f.python):
        failed = _copy(other.path, destinations[other.path])
        if failed is not None:
            console.file(failed)
            report.add(failed)

    written = _write_report_file(report, report_path, "k2t convert report")
    if not single_file or report_path is not None:
        console.summary(report)
    _exit(report, written)


def _shared_helpers(
    outcomes: list, python: list, destinations: dict[Path, Path], name: str
) -> tuple[list, dict[Path, str]]:
    """--helpers-module: per output folder, the helpers the converted scripts share move into one module
    (k2t.shared_helpers); the outcomes carry the scripts' new texts."""
    import dataclasses

    from .shared_helpers import share_helpers

    folders: dict[Path, dict[int, tuple[str, str]]] = {}
    for index, (outcome, source) in enumerate(zip(outcomes, python)):
        if outcome.report.status is Status.CONVERTED and outcome.output is not None and outcome.source is not None:
            folder = destinations[source.path].parent
            folders.setdefault(folder, {})[index] = (outcome.source, outcome.output.decode(outcome.encoding))
    modules: dict[Path, str] = {}
    outcomes = list(outcomes)
    for folder, scripts in folders.items():
        shared = share_helpers(scripts, name)
        if shared.module is None:
            continue
        modules[folder / f"{name}.py"] = shared.module
        for index, text in shared.outputs.items():
            outcomes[index] = dataclasses.replace(outcomes[index], output=text.encode(outcomes[index].encoding))
    return outcomes, modules


def _write_helpers_module(path: Path, text: str) -> FileReport | None:
    """Write the shared helpers module; never over a file of the user's (one k2t did not write)."""
    from .files import write_output
    from .shared_helpers import HEADER

    try:
        if path.exists() and HEADER not in path.read_text(encoding="utf-8", errors="replace")[:200]:
            message = f"{path} exists and k2t did not write it: choose another --helpers-module name"
            return FileReport(str(path), Status.FAILED, (Diagnostic(str(path), 1, 1, "K2T001", message),))
        write_output(path, text.encode("utf-8"))
    except OSError as exc:
        message = f"cannot write the helpers module: {_reason(exc)}"
        return FileReport(str(path), Status.FAILED, (Diagnostic(str(path), 1, 1, "K2T001", message),))
    return None


def _destinations(files, output: Path | None, in_place: bool, to_dir: bool) -> dict[Path, Path]:
    """Where each file's output goes; two files with one destination is a usage error."""
    from .files import in_place_target

    if in_place:
        destinations = {f.path: in_place_target(f.path) for f in files}
    elif output is None:
        return {}
    elif not to_dir:
        if files and _same_file(files[0].path, output):
            # As black and ruff do: replacing the input takes an explicit --in-place.
            raise click.UsageError(f"-o {output} is the input file itself: use --in-place to replace it")
        return {files[0].path: output} if files else {}
    else:
        destinations = {f.path: output / f.relative for f in files}
    seen: dict[Path, Path] = {}
    for source, target in destinations.items():
        key = Path(os.path.abspath(target))
        if key in seen and not in_place:
            raise click.UsageError(f"{seen[key]} and {source} would both be written to {target}")
        seen.setdefault(key, source)
    return destinations


def _deliver(
    outcome, source: Path | None, target: Path | None, diff: bool, in_place: bool, to_stdout: bool,
    stdin_data: bytes | None = None,
) -> FileReport:  # fmt: skip
    """Write (or print, or diff) one file's outcome; the report entry says where it went.

    ``source`` is None for stdin, whose bytes are ``stdin_data``. A file that
    replaces its own input (--in-place, or -o naming the input) is written only
    if the input is still what k2t read: an edit made meanwhile is never lost.
    """
    import dataclasses

    from .files import read_unchanged, write_output

    file = outcome.report
    if file.status in (Status.FAILED, Status.INTERNAL_ERROR):
        return file  # nothing is written for a file k2t could not convert

    def original() -> bytes:  # no Keras: the very same bytes, as long as they are still the bytes k2t read
        return stdin_data if source is None else read_unchanged(source, outcome.state)

    where = "stdout" if diff or to_stdout else str(target)
    try:
        if diff:
            if file.status is Status.CONVERTED:
                _print_diff(outcome, file.path)
            return file
        if to_stdout:
            _stdout_bytes(outcome.output if file.status is Status.CONVERTED else original())
            return file
        if target is None:
            return file
        replaces_source = source is not None and (in_place or _same_file(source, target))
        if file.status is Status.CONVERTED:
            if replaces_source:
                read_unchanged(target, outcome.state)
            write_output(target, outcome.output, mode_from=source)
        elif replaces_source:
            return file  # unchanged in place: nothing to write
        else:
            write_output(target, original(), mode_from=source)
    except BrokenPipeError:
        raise  # `k2t convert x.py | head`: the reader left, which is no error of this file
    except OSError as exc:
        diag = _cannot_write(file.path, where, exc)
        return dataclasses.replace(file, status=Status.FAILED, diagnostics=(*file.diagnostics, diag))
    return dataclasses.replace(file, destination=str(target))


def _cannot_write(path: str, where: str, exc: OSError):
    from .diagnostics import Diagnostic
    from .files import FileChangedError

    reason = f"{exc.filename} {exc.strerror}" if isinstance(exc, FileChangedError) else _reason(exc)
    return Diagnostic(path, 1, 1, "K2T001", f"cannot write {where}: {reason}")


def _same_file(a: Path, b: Path) -> bool:
    try:
        return b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def _copy(source: Path, target: Path) -> FileReport | None:
    """--copy-other: copy one file; a report entry with a K2T001 diagnostic when that fails."""
    from .files import copy_file

    if _same_file(source, target):
        return None
    try:
        copy_file(source, target)
    except OSError as exc:
        return FileReport(str(source), Status.FAILED, (_cannot_write(str(source), str(target), exc),))
    return None


def _convert_stdin(task, output: Path | None, diff: bool, check_only: bool, console: _Console, report: Report) -> None:
    data, outcome = _process_stdin(task)
    file = outcome.report
    if not check_only:
        file = _deliver(outcome, None, output, diff, False, output is None and not diff, stdin_data=data)
    console.file(file)
    report.add(file)


def _process_stdin(task):
    """Stdin's bytes and what processing them gave; a closed, unreadable or too long stdin is K2T001."""
    from .batch import process, unreadable
    from .files import InputError, read_stream

    try:
        data = read_stream(sys.stdin.buffer if sys.stdin is not None else None, task.max_bytes)
    except InputError as exc:
        return b"", unreadable(task, str(exc))
    return data, process(task, data)


def _print_diff(outcome, name: str) -> None:
    import difflib

    after = outcome.output.decode(outcome.encoding)
    lines = difflib.unified_diff(
        outcome.source.splitlines(keepends=True), after.splitlines(keepends=True), f"a/{name}", f"b/{name}"
    )
    for line in lines:
        click.echo(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n", nl=False)


def _stdout_bytes(data: bytes) -> None:
    if sys.stdout is None:  # the process was started with fd 1 closed
        raise OSError(errno.EBADF, "stdout is closed")
    sys.stdout.flush()
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


# -------------------------------------------------------------------- check
@main.command(short_help="Report what cannot be converted; write nothing.")
@click.argument("paths", metavar="PATH...", nargs=-1, required=True, type=click.Path(allow_dash=True, path_type=str))
@click.option(
    "--no-keras",
    is_flag=True,
    help="For code that finished migrating: any remaining Keras or TensorFlow import is an error.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="text (stderr), json, github (workflow annotations) or sarif (stdout).",
)
@_common_options
def check(paths, no_keras, fmt, report_path, jobs, stdin_filename, max_mb, quiet, verbose) -> None:
    """Report every Keras construct in PATH... that k2t cannot translate. Writes nothing.

    Exits 0 when all the Keras code converts, 1 when something does not (or,
    with --no-keras, when Keras is still used at all).
    """
    from .batch import Mode, Task, default_jobs, run_all

    paths = _existing(paths)
    mode = Mode.NO_KERAS if no_keras else Mode.CHECK
    max_bytes = max_mb * 2**20
    console = _Console(quiet=quiet or fmt in ("json", "sarif"), verbose=verbose, fmt=fmt)
    report = Report(command="check")
    if paths == [STDIN]:
        outcomes = [_process_stdin(Task(STDIN, stdin_filename or "<stdin>", mode, max_bytes))[1]]
        total = 1
    else:
        from .files import collect

        files, notes = collect([Path(p) for p in paths])
        for note in notes:
            console.note(note)
        tasks = [Task(str(f.path), str(f.path), mode, max_bytes) for f in files]
        outcomes = run_all(tasks, jobs or default_jobs())
        total = len(tasks)
    for index, outcome in enumerate(outcomes, start=1):
        console.progress(index, total, outcome.report.path)
        console.file(outcome.report)
        report.add(outcome.report)
    if fmt == "json":
        from .report import format_json

        click.echo(format_json(report))
    elif fmt == "sarif":
        from . import __version__
        from .report import format_sarif

        click.echo(format_sarif(report, __version__))
    written = _write_report_file(report, report_path, "k2t check report")
    if total > 1 or any(Path(p).is_dir() for p in paths if p != STDIN) or report_path is not None:
        console.summary(report)
    _exit(report, written)


# ------------------------------------------------------------------- parity
@main.command(short_help="Run a script and its conversion; compare them.")
@click.argument("script", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--exact",
    is_flag=True,
    help="Same initial weights, no shuffle, no dropout: compare layer by layer and epoch by epoch.",
)
@click.option("--epochs", type=int, default=3, show_default=True, help="Epochs to train in --exact mode.")
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write a self-contained HTML report with the training curves of both sides (needs matplotlib).",
)
@click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the numbers as a JSON document (schema: k2t/parity/parity.schema.json).",
)
def parity(script: Path, exact: bool, epochs: int, report_path: Path | None, json_path: Path | None) -> None:
    """Run SCRIPT with Keras and its conversion with PyTorch, and compare them."""
    from .parity import run_parity

    sys.exit(run_parity(script, exact=exact, epochs=epochs, report=report_path, json_path=json_path))


def _parse_param(ctx, param, values: tuple[str, ...]) -> dict[str, object]:
    import ast

    parsed: dict[str, object] = {}
    for value in values:
        name, sep, text = value.partition("=")
        if not sep or not name.strip().isidentifier():
            raise click.BadParameter(f"{value!r}: expected NAME=VALUE", ctx=ctx, param=param)
        try:
            parsed[name.strip()] = ast.literal_eval(text.strip())
        except (ValueError, SyntaxError):
            raise click.BadParameter(
                f"{value!r}: VALUE must be a Python literal (e.g. 64)", ctx=ctx, param=param
            ) from None
    return parsed


@main.command(short_help="Turn a trained Keras model into a state_dict.")
@click.argument(
    "model_file", metavar="MODEL", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--script",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The Keras script that builds the model (converted statically, never run).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the state_dict (with MODEL).",
)
@click.option(
    "--imagenet",
    is_flag=True,
    help='Instead of MODEL: port Keras\'s ImageNet weights of each keras.applications model the script builds with weights="imagenet" '
    "into Keras's cache ($KERAS_HOME/models), where the converted script loads them.",
)
@click.option(
    "--class", "class_name", metavar="NAME", help="The generated module to fill, when the script builds several."
)
@click.option(
    "--param", "params", metavar="NAME=VALUE", multiple=True, callback=_parse_param,
    help="A constructor argument k2t cannot read off the Keras model (repeatable).",
)  # fmt: skip
@click.option(
    "--tolerance",
    type=float,
    default=1e-4,
    show_default=True,
    help="Largest accepted max abs difference of the predictions.",
)
@click.option("--rows", type=click.IntRange(min=1), default=64, show_default=True, help="Random input rows to compare.")
def weights(
    model_file: Path | None,
    script: Path,
    output: Path | None,
    imagenet: bool,
    class_name,
    params,
    tolerance: float,
    rows: int,
) -> None:
    """Turn a trained Keras MODEL file (.keras, .h5) into a state_dict for the module `k2t convert SCRIPT` emits
    (-o FILE), or with --imagenet Keras's ImageNet weights of the script's keras.applications models.

    The weights are verified by comparing both models' predictions on random
    inputs; the file is written only when they agree within --tolerance.
    """
    from .trained import TrainedWeightsError, convert_trained, port_imagenet

    if imagenet:
        if model_file is not None or output is not None:
            raise click.UsageError("--imagenet takes no MODEL and no --output: it writes into Keras's cache")
        try:
            reports = port_imagenet(script, rows=rows, tolerance=tolerance)
        except TrainedWeightsError as exc:
            click.echo(f"k2t weights: {exc}", err=True)
            sys.exit(EXIT_DIAGNOSTICS)
        for report in reports:
            click.echo(report.format())
        if not all(report.ok for report in reports):
            click.echo(f"k2t weights: the predictions differ by more than {tolerance:g}; not written", err=True)
            sys.exit(EXIT_DIAGNOSTICS)
        return
    if model_file is None or output is None:
        raise click.UsageError("give MODEL and -o FILE (or --imagenet)")

    try:
        report = convert_trained(
            model_file, script, output, class_name=class_name, arguments=params, rows=rows, tolerance=tolerance
        )
    except TrainedWeightsError as exc:
        click.echo(f"k2t weights: {exc}", err=True)
        sys.exit(EXIT_DIAGNOSTICS)
    click.echo(report.format())
    if not report.ok:
        click.echo(f"k2t weights: the predictions differ by more than {tolerance:g}; nothing written", err=True)
        sys.exit(EXIT_DIAGNOSTICS)


EXIT_INTERRUPTED = 130  # 128 + SIGINT, what a shell reports for Ctrl-C


def entry() -> None:
    try:
        code = _run_main()
        if sys.stdout is not None:  # None: started with fd 1 closed
            sys.stdout.flush()  # now, while a full disk can still be reported
    except (KeyboardInterrupt, click.exceptions.Abort):
        click.echo("Aborted!", err=True)
        code = EXIT_INTERRUPTED
    except BrokenPipeError:  # `k2t convert x.py | head`: the reader left; say nothing more
        _silence_stdout()
        code = EXIT_DIAGNOSTICS
    except OSError as exc:  # stdout on a full disk, and the like: one line, no traceback
        _silence_stdout()
        where = f" {exc.filename}" if exc.filename else ""
        click.echo(f"k2t: cannot write{where}: {_reason(exc)}", err=True)
        code = EXIT_DIAGNOSTICS
    except Exception as exc:  # noqa: BLE001 -- a bug outside any one file (files are caught one by one)
        click.echo(f"k2t: K2T999 internal error: {type(exc).__name__}: {exc}", err=True)
        if "-v" in sys.argv or "--verbose" in sys.argv:
            import traceback

            traceback.print_exc()
        code = EXIT_INTERNAL
    sys.exit(code)


def _run_main() -> int:
    """The command's exit code. Not click's standalone mode, which turns Ctrl-C into exit 1."""
    try:
        result = main.main(standalone_mode=False)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    return result if isinstance(result, int) else 0  # --help and --version return 0


def _silence_stdout() -> None:
    """Point fd 1 at the null device, so that the interpreter's last flush does not fail again."""
    if sys.stdout is None:
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    finally:
        os.close(devnull)


if __name__ == "__main__":
    entry()
