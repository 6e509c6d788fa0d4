"""``k2t parity --report FILE.html``: one self-contained page drawn from the parity document.

The charts are matplotlib figures written inline as SVG, so the page needs no network and no
other file to open. matplotlib is imported only here, when a report is asked for.
"""

from __future__ import annotations

import io
import math
import re
from typing import Any

KERAS_COLOR = "#d62728"  # red: the reference
TORCH_COLOR = "#1f77b4"  # blue: the conversion


def render_html(document: dict[str, Any]) -> str:
    from ..html_report import environment

    fits = [{"fit": fit, "charts": [_markup(svg) for svg in _fit_charts(fit)]} for fit in document["fits"]]
    layer_chart = _layer_chart(document["layers"]) if document["layers"] else None
    return (
        environment()
        .get_template("report/parity.html.j2")
        .render(
            doc=document,
            fits=fits,
            layer_chart=None if layer_chart is None else _markup(layer_chart),
            number=_number,
            keras_color=KERAS_COLOR,
            torch_color=TORCH_COLOR,
        )
    )


def _markup(svg: str):
    from markupsafe import Markup

    return Markup(svg)


def _number(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int):
        return str(value)
    return f"{value:.4g}" if value == 0 or 1e-3 <= abs(value) < 1e5 else f"{value:.3e}"


def metric_groups(history: dict[str, dict]) -> list[tuple[str, list[str]]]:
    """Chart per metric: "loss" draws loss and val_loss; a learning rate only when it changes."""
    groups: dict[str, list[str]] = {}
    for key, series in history.items():
        base = key.removeprefix("val_")
        if base in ("lr", "learning_rate") and not _changes(series):
            continue
        groups.setdefault(base, []).append(key)
    return sorted(groups.items(), key=lambda group: group[0] != "loss")  # the loss first, then as Keras logs them


def _changes(series: dict) -> bool:
    values = {v for side in ("keras", "torch") for v in series[side] if v is not None}
    return len(values) > 1


def _fit_charts(fit: dict) -> list[str]:
    history = fit["history"]
    return [_metric_chart(base, {key: history[key] for key in keys}) for base, keys in metric_groups(history)]


def _metric_chart(title: str, series: dict[str, dict]) -> str:
    figure, axes = _figure()
    for key, values in series.items():
        style = "--" if key.startswith("val_") else "-"
        # Keras wide under a thin PyTorch line: where the two agree, both stay visible.
        for side, color, marker, width in (("keras", KERAS_COLOR, "o", 4.5), ("torch", TORCH_COLOR, "x", 1.4)):
            points = [(epoch + 1, v) for epoch, v in enumerate(values[side]) if v is not None]
            if points:
                epochs, ys = zip(*points)
                axes.plot(epochs, ys, style, color=color, marker=marker, label=f"{side} {key}", linewidth=width)
    axes.set_title(title)
    axes.set_xlabel("epoch")
    axes.xaxis.get_major_locator().set_params(integer=True)
    axes.grid(alpha=0.3)
    axes.legend(fontsize="small")
    return _svg(figure)


def _layer_chart(layers: list[dict]) -> str:
    """Each layer's max abs difference, log scale, with its tolerance: a bar past the line fails."""
    figure, axes = _figure(height=max(2.5, 0.32 * len(layers) + 1.2))
    names = [f"{row['name']} (model output)" if row["keras_class"] == "(model)" else row["name"] for row in layers]
    floor = 1e-12  # a bar for an exact zero: log scales have no 0
    diffs = [floor if row["max_abs_diff"] == 0 else (row["max_abs_diff"] or math.inf) for row in layers]
    finite_top = max([d for d in diffs if math.isfinite(d)] + [row["tolerance"] for row in layers])
    heights = [d if math.isfinite(d) else finite_top * 10 for d in diffs]
    colors = [TORCH_COLOR if row["ok"] else KERAS_COLOR for row in layers]
    positions = range(len(layers))
    axes.barh(positions, heights, color=colors, left=0)
    axes.set_xscale("log")
    axes.set_yticks(list(positions), names, fontsize="small")
    axes.invert_yaxis()
    tolerance = layers[0]["tolerance"]
    axes.axvline(tolerance, color="black", linestyle=":", label=f"tolerance {tolerance:g}")
    axes.set_xlabel("max abs difference, keras vs torch")
    axes.legend(fontsize="small")
    return _svg(figure)


def _figure(height: float = 3.2):
    import matplotlib

    matplotlib.use("Agg", force=True)  # no display: the figure only becomes SVG text
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6.4, height), layout="constrained")
    return figure, axes


def _svg(figure) -> str:
    import matplotlib.pyplot as plt

    buffer = io.StringIO()
    figure.savefig(buffer, format="svg")
    plt.close(figure)
    text = buffer.getvalue()
    # The XML prolog and DOCTYPE are for .svg files; inline in HTML the <svg> element stands alone.
    return re.sub(r"^.*?(?=<svg)", "", text, flags=re.DOTALL)
