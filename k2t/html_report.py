"""HTML pages: ``k2t convert/check --report FILE.html`` (this module) and ``k2t parity --report``
(k2t.parity.html). Both are one self-contained file rendered from templates/report with escaping on."""

from __future__ import annotations

import functools
from pathlib import Path

from .diagnostics import CODES
from .report import Report, Status

MAX_LISTED_LINES = 5000  # a longer file is listed up to here; its diagnostics still link to their lines
READ_LIMIT = 4 * 1024 * 1024


@functools.lru_cache(maxsize=1)
def environment():
    import jinja2

    from .emit import templates_dir

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        undefined=jinja2.StrictUndefined,
        autoescape=True,  # paths, messages and source lines are text, never markup
        trim_blocks=True,
        lstrip_blocks=True,
    )


def format_html(report: Report, title: str) -> str:
    """One page for the whole run: the summary, a row per file, and each file with diagnostics listed
    with its lines numbered, every diagnostic linking to its line."""
    files = []
    for index, file in enumerate(report.files):
        lines = _source_lines(file.path) if file.diagnostics else []
        marked = {d.line for d in file.diagnostics}
        files.append(
            {
                "anchor": f"f{index}",
                "file": file,
                "lines": lines[:MAX_LISTED_LINES],
                "cut": max(0, len(lines) - MAX_LISTED_LINES),
                "marked": marked,
                "errors": file.errors,
                "partial": file.status is Status.CONVERTED and file.errors > 0,
            }
        )
    codes: dict[str, int] = {}
    for diagnostic in report.diagnostics:
        codes[diagnostic.code] = codes.get(diagnostic.code, 0) + 1
    return (
        environment()
        .get_template("report/convert.html.j2")
        .render(title=title, report=report, files=files, codes=sorted(codes.items()), descriptions=CODES)
    )


def _source_lines(path: str) -> list[str]:
    """The input's lines as the diagnostics number them; none for stdin or a file gone since."""
    try:
        data = Path(path).read_bytes()[:READ_LIMIT]
    except OSError:
        return []
    return data.decode("utf-8", "replace").splitlines()
