"""`k2t parity --report FILE.html --json FILE`: the numbers as a documented JSON document, and a
self-contained HTML page whose charts a real browser draws.

The two CLI runs (--exact on the xor fixture, side by side on linear_regression_1d) happen once
per module; the text each prints is checked here too."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"
SCHEMA = ROOT / "k2t" / "parity" / "parity.schema.json"


def _k2t(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run(
        [sys.executable, "-m", "k2t", *args], check=False, cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


def _run(tmp: Path, *args: str) -> tuple[subprocess.CompletedProcess, Path, Path]:
    report, document = tmp / "parity.html", tmp / "parity.json"
    done = _k2t("parity", *args, "--report", str(report), "--json", str(document))
    return done, report, document


@pytest.fixture(scope="module")
def exact_run(tmp_path_factory):
    pytest.importorskip("tensorflow")
    pytest.importorskip("torch")
    pytest.importorskip("matplotlib")
    return _run(tmp_path_factory.mktemp("exact"), "--exact", "--epochs", "2", str(FIXTURES / "xor" / "input.py"))


@pytest.fixture(scope="module")
def side_by_side_run(tmp_path_factory):
    pytest.importorskip("tensorflow")
    pytest.importorskip("torch")
    pytest.importorskip("matplotlib")
    return _run(tmp_path_factory.mktemp("run"), str(FIXTURES / "linear_regression_1d" / "input.py"))


def _validate(document: dict) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(document, json.loads(SCHEMA.read_text(encoding="utf-8")))


@pytest.mark.parity
def test_cli_exact_passes_on_a_fixture_and_writes_both_files(exact_run):
    done, report, document = exact_run
    assert done.returncode == 0, done.stdout + done.stderr
    assert "PASS" in done.stdout
    assert "max abs diff" in done.stdout and "rel diff" in done.stdout
    assert f"wrote {report}" in done.stdout and f"wrote {document}" in done.stdout


@pytest.mark.parity
def test_exact_document_follows_its_schema_and_holds_the_printed_numbers(exact_run):
    done, _, document_path = exact_run
    document = json.loads(document_path.read_text(encoding="utf-8"))
    _validate(document)
    assert document["mode"] == "exact" and document["verdict"]["ok"] is True
    assert [row["name"] for row in document["layers"]] == ["hidden", "output", "output"]
    loss = document["fits"][0]["history"]["loss"]
    assert len(loss["keras"]) == len(loss["torch"]) == 2
    # The same per-epoch numbers the text report prints (8 significant digits there).
    for keras, torch in zip(loss["keras"], loss["torch"]):
        assert f"{keras:>14.8g}  {torch:>14.8g}" in done.stdout
    assert document["versions"]["torch"] and document["versions"]["keras"]


@pytest.mark.parity
def test_cli_side_by_side_writes_a_document_with_every_call(side_by_side_run):
    done, _, document_path = side_by_side_run
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "keras: finished" in out and "torch: finished" in out
    assert "history keys: same" in out
    assert "evaluate #1" in out and "predict #1" in out
    assert "[keras]" in out and "[torch]" in out  # the scripts' own prints, prefixed
    document = json.loads(document_path.read_text(encoding="utf-8"))
    _validate(document)
    assert document["mode"] == "run" and document["tolerances"] is None
    assert len(document["fits"]) == 1 and len(document["evaluations"]) == 1
    assert len(document["predictions"]) == out.count("predict #") >= 1
    prediction = document["predictions"][0]
    assert prediction["keras_shape"] == prediction["torch_shape"]


def test_a_non_finite_number_is_null_and_the_document_still_validates():
    from k2t.parity.document import from_exact
    from k2t.parity.exact import LayerRow, ParityReport

    report = ParityReport(script="s.py", keras_history={"loss": [float("nan"), 0.5]}, torch_history={"loss": [0.4]})
    report.layers = [LayerRow(0, "dense", "Dense", "dense", (4, 2), (4, 3), float("inf"), 1e-4, "shapes differ")]
    document = from_exact(report)
    json.dumps(document, allow_nan=False)  # raises on NaN or inf
    _validate(document)
    assert document["fits"][0]["history"]["loss"] == {"keras": [None, 0.5], "torch": [0.4, None], "rel_diff": [None, None]}
    assert document["layers"][0]["max_abs_diff"] is None and document["layers"][0]["ok"] is False


def test_the_html_escapes_what_the_script_wrote():
    pytest.importorskip("matplotlib")
    from k2t.parity.document import from_exact
    from k2t.parity.exact import ParityReport
    from k2t.parity.html import render_html

    report = ParityReport(script="<script>alert(1)</script>.py", keras_history={"loss": [1.0]}, torch_history={"loss": [1.0]})
    report.error = "Traceback: <b>boom</b>"
    page = render_html(from_exact(report))
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;boom&lt;/b&gt;" in page
    assert page.count("<svg") == 1  # the loss chart, inline


def test_a_learning_rate_is_charted_only_when_it_changes():
    from k2t.parity.html import metric_groups

    flat = {"keras": [0.1, 0.1], "torch": [0.1, 0.1], "rel_diff": [0, 0]}
    falling = {"keras": [0.1, 0.05], "torch": [0.1, 0.05], "rel_diff": [0, 0]}
    series = {"loss": flat, "val_loss": flat, "accuracy": flat}
    assert metric_groups({**series, "learning_rate": flat}) == [("loss", ["loss", "val_loss"]), ("accuracy", ["accuracy"])]
    assert ("learning_rate", ["learning_rate"]) in metric_groups({**series, "learning_rate": falling})


def _browser() -> str | None:
    return next((path for name in ("chromium", "chromium-browser", "google-chrome") if (path := shutil.which(name))), None)


@pytest.mark.parity
def test_a_headless_browser_draws_the_charts(exact_run, tmp_path):
    # CI installs Chromium (.ci/run) and sets K2T_REQUIRE_BROWSER, so there a missing browser fails the test.
    browser = _browser()
    if browser is None:
        if os.environ.get("K2T_REQUIRE_BROWSER"):
            pytest.fail("K2T_REQUIRE_BROWSER is set but no chromium is installed")
        pytest.skip("no headless Chromium here (apt-get install chromium)")
    image = pytest.importorskip("PIL.Image")
    _, report, _ = exact_run
    shot = tmp_path / "shot.png"
    done = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--virtual-time-budget=5000", f"--screenshot={shot}",
         "--window-size=1200,2400", report.as_uri()],
        check=False, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert shot.exists(), done.stderr
    pixels = image.open(shot).convert("RGB").getdata()

    def near(color: str) -> int:
        r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
        return sum(abs(p[0] - r) + abs(p[1] - g) + abs(p[2] - b) < 60 for p in pixels)

    from k2t.parity.html import KERAS_COLOR, TORCH_COLOR

    # Drawn lines and bars, not a legend glyph: the page's text alone has a few dozen such pixels.
    assert near(TORCH_COLOR) > 2000, near(TORCH_COLOR)
    assert near(KERAS_COLOR) > 1000, near(KERAS_COLOR)
