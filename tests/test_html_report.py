"""`k2t convert/check --report FILE.html`: one page for the run, each diagnostic linking to its line."""

from __future__ import annotations

import os
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

UNSUPPORTED = """\
import keras
from keras import layers

model = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(2), layers.ActivityRegularization(l1=0.1)])
note = "<b>not markup</b>"
"""


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.links: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if "id" in attributes:
            self.ids.add(attributes["id"])
        if tag == "a" and attributes.get("href", "").startswith("#"):
            self.links.append(attributes["href"][1:])

    def handle_data(self, data):
        self.text.append(data)


def _k2t(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "k2t", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False)


def test_an_html_report_links_each_diagnostic_to_its_line(tmp_path):
    tree = tmp_path / "src"
    tree.mkdir()
    (tree / "bad.py").write_text(UNSUPPORTED)
    (tree / "plain.py").write_text("print('no keras here')\n")
    done = _k2t("convert", str(tree), "-o", str(tmp_path / "out"), "--report", str(tmp_path / "r.html"), cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    page = _Page()
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    page.feed(html)
    text = "".join(page.text)
    assert "2 files: 0 converted, 1 with TODOs, 1 unchanged" in text
    assert "K2T101" in text and "ActivityRegularization" in text
    line_links = [link for link in page.links if "-L" in link]
    assert line_links and all(link in page.ids for link in page.links)  # every link lands on something
    assert any(link.endswith("-L4") for link in line_links)  # the Sequential line holds the layer
    # The script's text is shown as text: its markup is escaped, not rendered.
    assert "&lt;b&gt;not markup&lt;/b&gt;" in html and "<b>not markup</b>" not in html


def test_check_reports_clean_files_as_clean(tmp_path):
    (tmp_path / "ok.py").write_text("import keras\nmodel = keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(1)])\n")
    done = _k2t("check", str(tmp_path / "ok.py"), "--report", str(tmp_path / "r.html"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    page = _Page()
    page.feed((tmp_path / "r.html").read_text(encoding="utf-8"))
    assert "clean" in page.text and "1 file checked: 1 clean" in "".join(page.text)
