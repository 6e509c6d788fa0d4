"""Parity harness: run a Keras script and its k2t conversion, and compare what they compute.

``run_parity`` backs the ``k2t parity`` command. ``exact_parity`` is the
in-process API for tests: it takes Keras source text and returns a
``ParityReport`` (``layer_diffs``, ``keras_history``, ``torch_history``, ``ok``).

TensorFlow and torch are imported only when these functions run.
"""

from __future__ import annotations

from pathlib import Path

from .exact import (
    LAYER_TOL,
    LOSS_RTOL,
    METRIC_RTOL,
    LayerRow,
    ParityReport,
    ParityUnavailable,
    exact_parity,
    format_report,
    require_frameworks,
)

__all__ = [
    "LAYER_TOL",
    "LOSS_RTOL",
    "METRIC_RTOL",
    "LayerRow",
    "ParityReport",
    "ParityUnavailable",
    "exact_parity",
    "format_report",
    "require_frameworks",
    "run_parity",
]


def run_parity(
    script: Path, exact: bool = False, epochs: int = 3, report: Path | None = None, json_path: Path | None = None
) -> int:
    """``k2t parity [--exact] SCRIPT``: print the comparison; 0 when it passes, 1 when not, 2 without TensorFlow.
    ``report``: also write the HTML report there; ``json_path``: the parity document (k2t.parity.document)."""
    import tempfile

    from .normal import run_exact_subprocess, run_normal

    try:
        require_frameworks()
    except ParityUnavailable as exc:
        print(exc)
        return 2
    if epochs < 1:
        print("k2t parity: --epochs must be at least 1")
        return 2
    if report is not None:
        problem = _report_unavailable()
        if problem:
            print(problem)
            return 2
    with tempfile.TemporaryDirectory(prefix="k2t-parity-doc-") as tmp:
        document_path = Path(tmp) / "parity.json" if report is not None or json_path is not None else None
        if exact:
            code = run_exact_subprocess(Path(script), epochs, document_path=document_path)
        else:
            code = run_normal(Path(script), document_path=document_path)
        if document_path is None:
            return code
        if not document_path.exists():
            print("k2t parity: no report written: the comparison did not finish")
            return max(code, 1)
        return _write_outputs(document_path, report, json_path, code)


def _report_unavailable() -> str | None:
    import importlib.util

    if importlib.util.find_spec("matplotlib") is None:
        return "k2t parity --report draws its charts with matplotlib: pip install 'k2t[parity]'"
    return None


def _write_outputs(document_path: Path, report: Path | None, json_path: Path | None, code: int) -> int:
    """Copy the document to --json and draw --report from it; a file that cannot be written fails the run."""
    import json

    text = document_path.read_text(encoding="utf-8")
    outputs: list[tuple[Path, str]] = []
    if json_path is not None:
        outputs.append((json_path, text))
    if report is not None:
        from .html import render_html

        outputs.append((report, render_html(json.loads(text))))
    for path, content in outputs:
        try:
            Path(path).write_text(content, encoding="utf-8")
        except OSError as exc:
            print(f"k2t parity: cannot write {path}: {exc.strerror or exc}")
            return max(code, 1)
        print(f"k2t parity: wrote {path}")
    return code
