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

from .deep import MAX_DEPTH, deepest_expression, largest_expression, run_deep
from .diagnostics import Diagnostic, Severity

# Every way a script can reach Keras goes through an import whose text holds one of these.
_KERAS_WORDS = ("keras", "tensorflow")

# Where a converted script trains (``k2t convert --device``): "auto" writes a line that picks
# cuda, mps or cpu when the script runs (TORCH_DEVICE overrides it); the others fix that device.
DEVICES = ("auto", "cuda", "mps", "cpu")


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
    """The interpreter's own syntax tree of ``source``, or a K2T002 diagnostic saying where it is not Python.

    Valid code nested deeper than the interpreter's parser can follow gives K2T003 instead.
    """
    try:
        return run_deep(ast.parse, source, filename)
    except SyntaxError as exc:
        line = exc.lineno or 1
        column = max(exc.offset or 1, 1)
        return Diagnostic(filename, line, column, "K2T002", f"syntax error: {exc.msg}")
    except ValueError as exc:  # null bytes
        return Diagnostic(filename, 1, 1, "K2T002", f"not parseable as Python: {exc}")
    except (MemoryError, RecursionError) as exc:  # the parser's own stack, or the syntax tree, is too deep
        return Diagnostic(filename, 1, 1, "K2T003", f"nested too deeply for Python's parser ({type(exc).__name__})")


def syntax_error(source: str, filename: str = "<string>") -> Diagnostic | None:
    """A K2T002 diagnostic when the running interpreter cannot parse ``source``."""
    parsed = parse_python(source, filename)
    return parsed if isinstance(parsed, Diagnostic) else None


def convert_source(
    source: str, filename: str = "<string>", *, device: str = "auto", torch_compile: bool = False
) -> ConversionResult:
    """Translate the Keras code of ``source`` into PyTorch. Never raises on bad input.

    ``device``: one of DEVICES, where the converted script puts its models (see DEVICES).
    ``torch_compile``: the generated fit/evaluate run the model's forward pass through ``torch.compile``
    (``k2t convert --compile``).
    """
    if device not in DEVICES:
        raise ValueError(f"device must be one of {DEVICES}, not {device!r}")
    tree = parse_python(source, filename)
    if isinstance(tree, Diagnostic):
        return ConversionResult(filename, source, None, (tree,))
    if not mentions_keras(source) or not keras_imports(tree):
        return ConversionResult(filename, source, source, ())
    too_deep = _too_deep(tree, filename)
    if too_deep is not None:
        return ConversionResult(filename, source, None, (too_deep,))
    return run_deep(_convert_with_libcst, source, filename, device, torch_compile)


def _too_deep(tree: ast.Module, filename: str, limit: int = MAX_DEPTH) -> Diagnostic | None:
    """K2T003 at the expression that nests deeper than ``limit`` levels (see k2t.deep), if any."""
    depth, where = deepest_expression(tree)
    if depth <= limit:
        return None
    message = f"code nested {depth} levels deep: k2t converts code nested up to {limit} levels (split this expression)"
    return Diagnostic(filename, *_position(where), "K2T003", message)


def _position(node: ast.AST) -> tuple[int, int]:
    """(line, 1-based column) of a syntax-tree node; the module itself is at 1:1."""
    return getattr(node, "lineno", 1), getattr(node, "col_offset", 0) + 1


def _convert_with_libcst(
    source: str, filename: str, device: str = "auto", torch_compile: bool = False
) -> ConversionResult:
    """The whole pipeline, parse -> translate -> emit, with no shortcut (tests call it directly)."""
    import libcst as cst

    from .emit import emit
    from .line_length import wrap_generated_lines
    from .parse import parse
    from .translate import translate

    try:
        script = parse(source, filename)
    except cst.ParserSyntaxError as exc:
        return ConversionResult(filename, source, None, (_libcst_syntax_error(exc, source, filename),))
    except RecursionError:  # deeper than k2t.deep.RECURSION_LIMIT allows (or no thread with the stack for it)
        return ConversionResult(filename, source, None, (_nested_too_deeply(source, filename),))
    if not script.uses_keras and not script.models and not script.todos:
        return ConversionResult(filename, source, source, ())
    plan = translate(script)  # recursion here is a bug in k2t (it walks the IR, not the source): K2T999
    plan.torch_compile = torch_compile
    try:
        output = wrap_generated_lines(emit(script, plan, device), source)
    except RecursionError:
        return ConversionResult(filename, source, None, (_nested_too_deeply(source, filename),))
    diagnostics = sorted(
        {
            Diagnostic(filename, t.pos[0], t.pos[1], t.code, t.message, t.severity)
            for t in plan.todos
            if t.follows is None
        },
        key=lambda d: (d.line, d.column, d.code),
    )
    return ConversionResult(filename, source, output, tuple(diagnostics))


def _libcst_syntax_error(exc, source: str, filename: str) -> Diagnostic:
    """K2T002 where Python agrees the source is not valid; K2T003 where only libcst cannot read it."""
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else "invalid syntax"
    if syntax_error(source, filename) is None:
        return Diagnostic(
            filename,
            exc.raw_line,
            exc.raw_column + 1,
            "K2T003",
            f"valid Python that k2t's parser (libcst) cannot read: {message}",
        )
    return Diagnostic(filename, exc.raw_line, exc.raw_column + 1, "K2T002", f"syntax error: {message}")


def _nested_too_deeply(source: str, filename: str) -> Diagnostic:
    """K2T003 at the largest expression: libcst ran out of recursion in it."""
    tree = parse_python(source, filename)
    where = (1, 1) if isinstance(tree, Diagnostic) else _position(largest_expression(tree))
    return Diagnostic(filename, *where, "K2T003", "code nested too deeply for k2t to convert (split this expression)")


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


def convert_bytes(
    data: bytes, filename: str = "<string>", *, device: str = "auto", torch_compile: bool = False
) -> ConversionResult:
    """Convert source given as bytes, decoded as Python decodes a file."""
    decoded = decode_source(data, filename)
    if isinstance(decoded, Diagnostic):
        return ConversionResult(filename, "", None, (decoded,))
    source, encoding = decoded
    result = convert_source(source, filename, device=device, torch_compile=torch_compile)
    unwritable = _unencodable(result.output, encoding, filename) if result.output is not None else None
    if unwritable is not None:  # check and convert agree: neither calls this file converted
        return ConversionResult(filename, source, None, (*result.diagnostics, unwritable), encoding)
    return ConversionResult(result.path, result.source, result.output, result.diagnostics, encoding)


def _unencodable(output: str, encoding: str, filename: str) -> Diagnostic | None:
    """A K2T001 diagnostic when the converted text holds a character the file's declared encoding cannot."""
    try:
        output.encode(encoding)
    except UnicodeEncodeError as exc:
        line = output.count("\n", 0, exc.start) + 1
        character = output[exc.start]
        message = f"the output needs {character!r} (line {line} of the output), which {encoding} cannot encode"
        return Diagnostic(filename, 1, 1, "K2T001", message)
    return None


def convert_file(path: str | Path, *, device: str = "auto", torch_compile: bool = False) -> ConversionResult:
    """Read ``path`` and convert it. Unreadable or undecodable files give a K2T001 diagnostic."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        return ConversionResult(
            str(path), "", None, (Diagnostic(str(path), 1, 1, "K2T001", f"cannot read file: {exc.strerror or exc}"),)
        )
    return convert_bytes(data, str(path), device=device, torch_compile=torch_compile)
