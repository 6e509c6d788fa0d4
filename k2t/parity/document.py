"""The numbers of a ``k2t parity`` run as one JSON document (``--json``), which the HTML report draws.

The layout is ``parity.schema.json`` beside this module (JSON Schema, draft 2020-12): CI jobs
can gate on ``verdict.ok`` or on any per-epoch difference. Non-finite numbers (a NaN loss, an
infinite difference where the shapes differ) are written as null, since JSON has no NaN.
"""

from __future__ import annotations

import json
import math
import platform
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .exact import ParityReport
    from .normal import Side

SCHEMA = "k2t-parity/1"
SCHEMA_FILE = Path(__file__).with_name("parity.schema.json")


def versions() -> dict[str, str | None]:
    """What computed the numbers: both sides run in this interpreter's environment."""
    found: dict[str, str | None] = {"python": platform.python_version()}
    for package in ("k2t", "keras", "tensorflow", "tensorflow-cpu", "torch", "numpy"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = None
    if found.get("tensorflow") is None:
        found["tensorflow"] = found.get("tensorflow-cpu")
    found.pop("tensorflow-cpu", None)
    return found


def finite(value: Any) -> float | None:
    """A number JSON can hold: NaN and infinities become null."""
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def relative_difference(keras: float | None, torch: float | None) -> float | None:
    if keras is None or torch is None:
        return None
    if keras == torch:
        return 0.0
    if math.isnan(keras) or math.isnan(torch):
        return None
    return abs(keras - torch) / max(abs(keras), 1e-12)


def history_series(keras: dict[str, list[float]], torch: dict[str, list[float]]) -> dict[str, dict[str, list]]:
    """Per history key ("loss", "val_accuracy", "learning_rate"...): both sides' epochs and their relative difference."""
    series: dict[str, dict[str, list]] = {}
    for key in [*keras, *(k for k in torch if k not in keras)]:
        k = [float(v) for v in keras.get(key, [])]
        t = [float(v) for v in torch.get(key, [])]
        epochs = max(len(k), len(t))
        padded_k = [k[i] if i < len(k) else None for i in range(epochs)]
        padded_t = [t[i] if i < len(t) else None for i in range(epochs)]
        series[key] = {
            "keras": [finite(v) for v in padded_k],
            "torch": [finite(v) for v in padded_t],
            "rel_diff": [finite(relative_difference(a, b)) for a, b in zip(padded_k, padded_t)],
        }
    return series


def from_exact(report: ParityReport) -> dict[str, Any]:
    """``k2t parity --exact``: the layer table, the fit compared epoch by epoch, and the gates."""
    layers = [
        {
            "index": row.index,
            "name": row.name,
            "keras_class": row.keras_class,
            "torch_attr": row.attr,
            "keras_shape": None if row.keras_shape is None else list(row.keras_shape),
            "torch_shape": None if row.torch_shape is None else list(row.torch_shape),
            "max_abs_diff": finite(row.diff),
            "tolerance": row.tol,
            "ok": row.ok,
            "note": row.note,
        }
        for row in report.layers
    ]
    fit = {
        "index": report.fit_index,
        "model": report.model,
        "epochs": report.epochs,
        "arguments": {key: _plain(value) for key, value in report.fit_arguments.items()},
        "history": history_series(report.keras_history, report.torch_history),
        "trained_output_max_abs_diff": finite(report.trained_output_diff),
    }
    return {
        "schema": SCHEMA,
        "mode": "exact",
        "script": report.script,
        "verdict": {"ok": report.ok, "failures": list(report.failures), "error": report.error},
        "tolerances": {
            "layer_max_abs": report.layer_tol,
            "loss_rel": report.loss_rtol,
            "metric_rel": report.metric_rtol,
        },
        "versions": versions(),
        "conversion": {"diagnostics": list(report.diagnostics)},
        "rows": report.rows,
        "seconds": report.seconds,
        "layers": layers,
        "fits": [fit] if report.keras_history or report.torch_history else [],
        "evaluations": [],
        "predictions": [],
        "notes": list(report.notes),
    }


def from_run(
    script: Path, diagnostics: list[str], keras_side: Side, torch_side: Side, failures: list[str]
) -> dict[str, Any]:
    """``k2t parity`` (both scripts run as written): every fit, evaluate and predict side by side."""
    fits, evaluations, predictions = [], [], []
    for kind, pairs in _paired(keras_side, torch_side).items():
        for index, (k, t) in enumerate(pairs):
            common = {"index": index, "keras_model": str(k.get("model")), "torch_model": str(t.get("model"))}
            common |= {"keras_seconds": finite(k.get("seconds")), "torch_seconds": finite(t.get("seconds"))}
            if kind == "fit":
                history = history_series(k.get("history") or {}, t.get("history") or {})
                epochs = max([0, *(len(s["keras"]) for s in history.values())])
                fits.append({**common, "epochs": epochs, "history": history})
            elif kind == "evaluate":
                evaluations.append({**common, "keras": _plain(k.get("result")), "torch": _plain(t.get("result"))})
            else:
                predictions.append({**common, **_prediction_stats(keras_side, torch_side, k, t)})
    return {
        "schema": SCHEMA,
        "mode": "run",
        "script": str(script),
        "verdict": {"ok": not failures, "failures": failures, "error": None},
        "tolerances": None,
        "versions": versions(),
        "conversion": {"diagnostics": diagnostics},
        "rows": None,
        "seconds": finite(max(keras_side.seconds, torch_side.seconds)),
        "layers": [],
        "fits": fits,
        "evaluations": evaluations,
        "predictions": predictions,
        "notes": [],
    }


def _paired(keras_side: Side, torch_side: Side) -> dict[str, list[tuple[dict, dict]]]:
    by_kind: dict[str, tuple[list[dict], list[dict]]] = {kind: ([], []) for kind in ("fit", "evaluate", "predict")}
    for index, side in enumerate((keras_side, torch_side)):
        for record in side.records:
            if record.get("kind") in by_kind:
                by_kind[record["kind"]][index].append(record)
    return {kind: list(zip(k, t)) for kind, (k, t) in by_kind.items()}


def _prediction_stats(keras_side: Side, torch_side: Side, k: dict, t: dict) -> dict[str, Any]:
    import numpy as np

    stats: dict[str, Any] = {"keras_shape": None, "torch_shape": None, "max_abs_diff": None, "mean_abs_diff": None}
    try:
        a, b = keras_side.array(k).astype(np.float64), torch_side.array(t).astype(np.float64)
    except (OSError, ValueError, KeyError, TypeError):
        return stats
    stats |= {"keras_shape": list(a.shape), "torch_shape": list(b.shape)}
    if a.shape == b.shape and a.size:
        difference = np.abs(a - b)
        stats |= {"max_abs_diff": finite(difference.max()), "mean_abs_diff": finite(difference.mean())}
    return stats


def _plain(value: Any) -> Any:
    """Numbers and containers JSON can hold (a tuple becomes a list, NaN null, anything else its repr)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return value if isinstance(value, int) else finite(value)
    return repr(value)


def write_json(document: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(document, indent=2, allow_nan=False) + "\n", encoding="utf-8")
