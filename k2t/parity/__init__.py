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


def run_parity(script: Path, exact: bool = False, epochs: int = 3) -> int:
    """``k2t parity [--exact] SCRIPT``: print the comparison; 0 when it passes, 1 when not, 2 without TensorFlow."""
    from .normal import run_exact_subprocess, run_normal

    try:
        require_frameworks()
    except ParityUnavailable as exc:
        print(exc)
        return 2
    if epochs < 1:
        print("k2t parity: --epochs must be at least 1")
        return 2
    if exact:
        return run_exact_subprocess(Path(script), epochs)
    return run_normal(Path(script))
