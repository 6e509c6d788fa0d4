"""The command line: a thin shell over the library. All printing happens here."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import click

from .api import ConversionResult, convert_file, convert_source
from .diagnostics import Diagnostic

# Exit codes, shared by every command (see README).
EXIT_OK = 0
EXIT_DIAGNOSTICS = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 123


def _report(diagnostics: list[Diagnostic] | tuple[Diagnostic, ...]) -> None:
    for diag in diagnostics:
        click.echo(diag.format(), err=True)


def _write_atomic(path: Path, text: str) -> None:
    """Write to a temporary file beside ``path`` and rename it: never a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".k2t-tmp", dir=str(path.parent))
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="k2t", prog_name="k2t")
def main() -> None:
    """Translate Keras training scripts into standalone PyTorch scripts."""


@main.command()
@click.argument("source", type=click.Path(dir_okay=False, allow_dash=True, path_type=str))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write the PyTorch script here (default: stdout).")
def convert(source: str, output: Path | None) -> None:
    """Convert SOURCE (a Keras script, or - for stdin) into a PyTorch script.

    Exits 0 only when every Keras construct was translated; otherwise each
    untranslated construct is reported as path:line:col: K2Tnnn message and
    marked with a TODO(k2t) comment in the output.
    """
    result = _convert_one(source)
    _report(result.diagnostics)
    if result.output is None:
        sys.exit(EXIT_DIAGNOSTICS)
    if output is None:
        sys.stdout.write(result.output)
    else:
        _write_atomic(output, result.output)
    sys.exit(EXIT_OK if result.ok else EXIT_DIAGNOSTICS)


def _convert_one(source: str) -> ConversionResult:
    if source == "-":
        return convert_source(sys.stdin.read(), "<stdin>")
    if not Path(source).exists():
        raise click.BadParameter(f"{source}: no such file", param_hint="SOURCE")
    return convert_file(source)


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=str))
def check(paths: tuple[str, ...]) -> None:
    """Report every Keras construct in PATHS that k2t cannot translate. Writes nothing."""
    failed = False
    for path in _python_files(paths):
        result = convert_file(path)
        _report(result.diagnostics)
        failed |= not result.ok
    sys.exit(EXIT_DIAGNOSTICS if failed else EXIT_OK)


def _python_files(paths: tuple[str, ...]):
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*.py") if p.is_file())
        else:
            yield path


@main.command()
@click.argument("script", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--exact", is_flag=True, help="Same initial weights, no shuffle, no dropout: compare layer by layer and epoch by epoch.")
@click.option("--epochs", type=int, default=3, show_default=True, help="Epochs to train in --exact mode.")
def parity(script: Path, exact: bool, epochs: int) -> None:
    """Run SCRIPT with Keras and its conversion with PyTorch, and compare them."""
    from .parity import run_parity

    sys.exit(run_parity(script, exact=exact, epochs=epochs))


def entry() -> None:
    try:
        main(standalone_mode=True)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    entry()
