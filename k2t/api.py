"""The library entry points: pure functions from source text to a result value.

Nothing here prints, exits or imports torch/tensorflow. libcst (the slow part
to import and to run) is only loaded for sources that import Keras or
TensorFlow: every other file converts to itself after a syntax check by the
interpreter's own parser.
"""

from __future__ import annotations

import ast
import codecs
import io
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

from .diagnostics import Diagnostic, Severity

# Every way a script can reach Keras goes through an import whose text holds one of these.
_KERAS_WORDS = ("keras", "tensorflow")


@dataclass(frozen=True)
class ConversionResult:
    """What converting one source text produced."""

    path: str
    source: str
    output: str | None  # None when the input could not be parsed at all
    diagnostics: tuple[Diagnostic, ...] = field(default_factory=tuple)
    encoding: str = "utf-8"  # how the file was (and its output should be) encoded

    @property
    def changed(self) -> bool:
        return self.output is not None and self.output != self.source

    @property
    def ok(self) -> bool:
        """True when everything Keras in the input was translated."""
        return self.output is not None and not any(d.severity is Severity.ERROR for d in self.diagnostics)


def mentions_keras(source: str) -> bool:
    """False proves that ``source`` uses no Keras; True means k2t has to look closer."""
    return any(word in source for word in _KERAS_WORDS)


def keras_imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """Import statements that may bring in Keras or TensorFlow (generously: any name containing them).

    The pipeline only ever recognises Keras through names bound by imports, so a
    module without such an import converts to itself.
    """
    found: list[ast.Import | ast.ImportFrom] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or "", *(alias.name for alias in node.names)]
        else:
            continue
        if any(word in name for name in names for word in _KERAS_WORDS):
            found.append(node)
    return found


def parse_python(source: str, filename: str = "<string>") -> ast.Module | Diagnostic:
    """The interpreter's own syntax tree of ``source``, or a K2T002 diagnostic saying where it is not Python."""
    try:
        return ast.parse(source, filename)
    except SyntaxError as exc:
        line = exc.lineno or 1
        column = max(exc.offset or 1, 1)
        return Diagnostic(filename, line, column, "K2T002", f"syntax error: {exc.msg}")
    except (ValueError, MemoryError, RecursionError) as exc:  # null bytes, absurd nesting
        return Diagnostic(filename, 1, 1, "K2T002", f"not parseable as Python: {type(exc).__name__}")


def syntax_error(source: str, filename: str = "<string>") -> Diagnostic | None:
    """A K2T002 diagnostic when the running interpreter cannot parse ``source``."""
    parsed = parse_python(source, filename)
    return parsed if isinstance(parsed, Diagnostic) else None


def convert_source(source: str, filename: str = "<string>") -> ConversionResult:
    """Translate the Keras code of ``source`` into PyTorch. Never raises on bad input."""
    tree = parse_python(source, filename)
    if isinstance(tree, Diagnostic):
        return ConversionResult(filename, source, None, (tree,))
    if not mentions_keras(source) or not keras_imports(tree):
        return ConversionResult(filename, source, source, ())
    return _convert_with_libcst(source, filename)


def _convert_with_libcst(source: str, filename: str) -> ConversionResult:
    """The whole pipeline, parse -> translate -> emit, with no shortcut (tests call it directly)."""
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
        {Diagnostic(filename, t.pos[0], t.pos[1], t.code, t.message, t.severity) for t in plan.todos},
        key=lambda d: (d.line, d.column, d.code),
    )
    return ConversionResult(filename, source, output, tuple(diagnostics))


def check_source(source: str, filename: str = "<string>") -> tuple[Diagnostic, ...]:
    """Diagnostics for everything in ``source`` that k2t cannot translate."""
    return convert_source(source, filename).diagnostics


def decode_source(data: bytes, filename: str = "<string>") -> tuple[str, str] | Diagnostic:
    """``(text, encoding)`` of Python source bytes (PEP 263 cookie or UTF-8), or a K2T001 diagnostic."""
    if b"\x00" in data:
        return Diagnostic(filename, 1, 1, "K2T001", "binary file, not Python source")
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        if "invalid or missing" not in exc.msg:  # unknown codec, or a BOM contradicting the cookie
            return Diagnostic(filename, 1, 1, "K2T001", f"bad encoding declaration: {exc.msg}")
        encoding = "utf-8"  # no cookie and a first line that is not UTF-8: say where below
    try:
        return codecs.decode(data, encoding), encoding
    except UnicodeDecodeError as exc:
        name = "UTF-8" if encoding in ("utf-8", "utf-8-sig") else encoding
        line = data.count(b"\n", 0, exc.start) + 1
        return Diagnostic(filename, line, 1, "K2T001", f"not {name}: {exc.reason} at byte {exc.start}")


def convert_bytes(data: bytes, filename: str = "<string>") -> ConversionResult:
    """Convert source given as bytes, decoded as Python decodes a file."""
    decoded = decode_source(data, filename)
    if isinstance(decoded, Diagnostic):
        return ConversionResult(filename, "", None, (decoded,))
    source, encoding = decoded
    result = convert_source(source, filename)
    return ConversionResult(result.path, result.source, result.output, result.diagnostics, encoding)


def convert_file(path: str | Path) -> ConversionResult:
    """Read ``path`` and convert it. Unreadable or undecodable files give a K2T001 diagnostic."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        return ConversionResult(
            str(path), "", None, (Diagnostic(str(path), 1, 1, "K2T001", f"cannot read file: {exc.strerror or exc}"),)
        )
    return convert_bytes(data, str(path))
