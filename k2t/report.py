"""What a run did, file by file, and the one exit code that follows from it.

The CLI adds a :class:`FileReport` per file and exits with
:attr:`Report.return_code` (as black does), so every command agrees on what
0, 1 and 123 mean. The formatters here turn diagnostics and reports into text,
JSON, GitHub annotations, SARIF and a tf_upgrade_v2-style report file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import Enum

from .diagnostics import CODES, Diagnostic, Severity

EXIT_OK = 0
EXIT_DIAGNOSTICS = 1  # something not converted, unreadable or not Python; or would change under --check
EXIT_USAGE = 2  # click's own code for a bad option or a missing path
EXIT_INTERNAL = 123  # a bug in k2t (an unexpected exception) in at least one file


class Status(str, Enum):
    CONVERTED = "converted"  # output differs from the input
    UNCHANGED = "unchanged"  # no Keras code: output is the input, byte for byte
    FAILED = "failed"  # unreadable, undecodable, not Python or not written: no output
    INTERNAL_ERROR = "internal error"  # k2t raised: no output


@dataclass(frozen=True)
class FileReport:
    path: str
    status: Status
    diagnostics: tuple[Diagnostic, ...] = ()
    changed_lines: tuple[tuple[int, int], ...] = ()  # input line ranges that were rewritten
    destination: str | None = None  # where the output went, when it was written to a file
    error: str | None = None  # internal error: "TypeError: ..."
    traceback: str | None = None  # internal error: shown with --verbose only

    @property
    def errors(self) -> int:
        return sum(d.severity is Severity.ERROR for d in self.diagnostics)


@dataclass
class Report:
    """Results of one run. ``check``: a file that would change is a failure (exit 1)."""

    check: bool = False
    files: list[FileReport] = field(default_factory=list)
    command: str = "convert"  # "check": the summary counts clean files instead of conversions
    dry_run: bool = False  # --diff / --check: nothing written, so the summary says "would change"

    def add(self, file: FileReport) -> None:
        self.files.append(file)

    def count(self, status: Status) -> int:
        return sum(f.status is status for f in self.files)

    @property
    def diagnostics(self) -> list[Diagnostic]:
        return [d for f in self.files for d in f.diagnostics]

    @property
    def return_code(self) -> int:
        if self.count(Status.INTERNAL_ERROR):
            return EXIT_INTERNAL
        if any(f.errors or f.status is Status.FAILED for f in self.files):
            return EXIT_DIAGNOSTICS
        if self.check and self.count(Status.CONVERTED):
            return EXIT_DIAGNOSTICS
        return EXIT_OK

    def summary(self) -> str:
        n = len(self.files)
        diags = len(self.diagnostics)
        if self.command == "check":
            flagged = sum(bool(f.diagnostics) or f.status is Status.FAILED for f in self.files)
            parts = [f"{n - flagged - self.count(Status.INTERNAL_ERROR)} clean", f"{flagged} with diagnostics"]
            if self.count(Status.INTERNAL_ERROR):
                parts.append(f"{self.count(Status.INTERNAL_ERROR)} internal errors")
            return f"k2t: {n} file{'s' * (n != 1)} checked: {', '.join(parts)}; {diags} diagnostic{'s' * (diags != 1)}."
        # A file with TODOs is not done: it counts apart from the converted ones, not among them.
        partial = sum(f.status is Status.CONVERTED and f.errors > 0 for f in self.files)
        done = self.count(Status.CONVERTED) - partial
        parts = [f"{done} {'would change' if self.check or self.dry_run else 'converted'}"]
        if partial:
            parts.append(f"{partial} with TODOs")
        parts.append(f"{self.count(Status.UNCHANGED)} unchanged")
        if self.count(Status.FAILED):
            parts.append(f"{self.count(Status.FAILED)} failed")
        if self.count(Status.INTERNAL_ERROR):
            parts.append(f"{self.count(Status.INTERNAL_ERROR)} internal errors")
        return f"k2t: {n} file{'s' * (n != 1)}: {', '.join(parts)}; {diags} diagnostic{'s' * (diags != 1)}."

    def to_dict(self) -> dict[str, object]:
        return {
            "summary": {
                "files": len(self.files),
                **{status.name.lower(): self.count(status) for status in Status},
                "diagnostics": len(self.diagnostics),
                "return_code": self.return_code,
            },
            "files": [
                {
                    "path": f.path,
                    "status": f.status.value,
                    "destination": f.destination,
                    "changed_lines": [list(r) for r in f.changed_lines],
                    "diagnostics": [d.to_dict() for d in f.diagnostics],
                    **({"error": f.error} if f.error else {}),
                }
                for f in self.files
            ],
        }

    def to_text(self, title: str = "k2t report") -> str:
        """A report file in the manner of tf_upgrade_v2's report.txt."""
        rule = "=" * 80
        lines = [title, rule, self.summary()]
        by_code: dict[str, int] = {}
        for d in self.diagnostics:
            by_code[d.code] = by_code.get(d.code, 0) + 1
        for code, n in sorted(by_code.items()):
            lines.append(f"  {code} x{n}: {CODES.get(code, '')}")
        lines.append(rule)
        for f in self.files:
            lines.append("-" * 80)
            target = f" -> {f.destination}" if f.destination else ""
            lines.append(f"File: {f.path}{target}")
            lines.append(f"  {f.status.value}")
            if f.changed_lines:
                spans = ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in f.changed_lines)
                lines.append(f"  rewritten input lines: {spans}")
            if f.error:
                lines.append(f"  {f.path}: K2T999 internal error: {f.error}")
            for d in f.diagnostics:
                lines.append(f"  {d.path}:{d.line}:{d.column}: {d.severity.value.upper()}: {d.code} {d.message}")
        return "\n".join(lines) + "\n"


def changed_line_ranges(before: str, after: str) -> tuple[tuple[int, int], ...]:
    """1-based, inclusive ranges of ``before``'s lines that differ in ``after``."""
    import difflib

    matcher = difflib.SequenceMatcher(None, before.splitlines(), after.splitlines(), autojunk=False)
    ranges = []
    for tag, i1, i2, _, _ in matcher.get_opcodes():
        if tag == "equal":
            continue
        start, end = i1 + 1, max(i2, i1 + 1)  # an insertion is reported at the line it precedes
        if ranges and start <= ranges[-1][1] + 1:
            ranges[-1] = (ranges[-1][0], max(end, ranges[-1][1]))
        else:
            ranges.append((start, end))
    return tuple(ranges)


# ------------------------------------------------------------------ formats
FORMATS = ("text", "json", "github", "sarif")


def _github_escape(text: str, property_value: bool = False) -> str:
    """GitHub's escaping of workflow command data, so that a newline in a file name cannot start a command."""
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if property_value:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def format_github(d: Diagnostic) -> str:
    """A GitHub Actions workflow command: an annotation on the pull request's diff."""
    level = "error" if d.severity is Severity.ERROR else "warning"
    file = _github_escape(d.path, property_value=True)
    return f"::{level} file={file},line={d.line},col={d.column}::{_github_escape(f'{d.code} {d.message}')}"


def format_github_internal_error(file: FileReport) -> str:
    """The workflow command for a file k2t failed on (K2T999), escaped like every other."""
    message = _github_escape(f"K2T999 internal error: {file.error}")
    return f"::error file={_github_escape(file.path, property_value=True)}::{message}"


def format_sarif(report: Report, version: str) -> str:
    """SARIF 2.1.0, what GitHub code scanning and most IDE viewers read."""
    used = sorted({d.code for d in report.diagnostics} | ({"K2T999"} if report.count(Status.INTERNAL_ERROR) else set()))
    results = [
        {
            "ruleId": d.code,
            "level": "error" if d.severity is Severity.ERROR else "warning",
            "message": {"text": d.message},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": d.path.replace("\\", "/")},
                        "region": {"startLine": d.line, "startColumn": d.column},
                    }
                }
            ],
        }
        for d in report.diagnostics
    ]
    results += [
        {
            "ruleId": "K2T999",
            "level": "error",
            "message": {"text": f"internal error: {f.error}"},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": f.path.replace("\\", "/")}}}],
        }
        for f in report.files
        if f.status is Status.INTERNAL_ERROR
    ]
    document = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "k2t",
                        "version": version,
                        "rules": [{"id": code, "shortDescription": {"text": CODES.get(code, code)}} for code in used],
                    }
                },
                "results": results,
            }
        ],
    }
    return json.dumps(document, indent=2)


def format_json(report: Report) -> str:
    return json.dumps(report.to_dict(), indent=2)
