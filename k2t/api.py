"""The library entry points: pure functions from source text to a result value."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .diagnostics import Diagnostic, Severity


@dataclass(frozen=True)
class ConversionResult:
    """What converting one source text produced."""

    path: str
    source: str
    output: str | None  # None when the input could not be parsed at all
    diagnostics: tuple[Diagnostic, ...] = field(default_factory=tuple)

    @property
    def changed(self) -> bool:
        return self.output is not None and self.output != self.source

    @property
    def ok(self) -> bool:
        """True when everything Keras in the input was translated."""
        return self.output is not None and not any(d.severity is Severity.ERROR for d in self.diagnostics)


def convert_source(source: str, filename: str = "<string>") -> ConversionResult:
    """Translate the Keras code of ``source`` into PyTorch. Never raises on bad input."""
    import libcst as cst

    from .emit import emit
    from .parse import parse
    from .translate import translate

    try:
        script = parse(source, filename)
    except cst.ParserSyntaxError as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else "invalid syntax"
        diag = Diagnostic(filename, exc.raw_line, exc.raw_column + 1, "K2T002", f"syntax error: {message}")
        return ConversionResult(filename, source, None, (diag,))
    if not script.uses_keras and not script.models and not script.todos:
        return ConversionResult(filename, source, source, ())
    plan = translate(script)
    output = emit(script, plan)
    diagnostics = sorted(
        {Diagnostic(filename, t.pos[0], t.pos[1], t.code, t.message) for t in plan.todos},
        key=lambda d: (d.line, d.column, d.code),
    )
    return ConversionResult(filename, source, output, tuple(diagnostics))


def check_source(source: str, filename: str = "<string>") -> tuple[Diagnostic, ...]:
    """Diagnostics for everything in ``source`` that k2t cannot translate."""
    return convert_source(source, filename).diagnostics


def convert_file(path: str | Path) -> ConversionResult:
    """Read ``path`` (UTF-8) and convert it. Unreadable files give a K2T001 diagnostic."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        return ConversionResult(str(path), "", None, (Diagnostic(str(path), 1, 1, "K2T001", f"cannot read file: {exc.strerror or exc}"),))
    if b"\x00" in data:
        return ConversionResult(str(path), "", None, (Diagnostic(str(path), 1, 1, "K2T001", "binary file, not Python source"),))
    try:
        source = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return ConversionResult(str(path), "", None, (Diagnostic(str(path), 1, 1, "K2T001", f"not UTF-8: {exc.reason} at byte {exc.start}"),))
    return convert_source(source, str(path))
