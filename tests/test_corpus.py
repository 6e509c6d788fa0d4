"""Every script of the third-party corpus converts without crashing k2t.

The corpus (tests/corpus/scripts, listed in tests/corpus/MANIFEST.tsv) is
Keras code written by other people. Here only robustness is asserted: no
exception escapes ``convert_source``, no K2T999, and whatever is written back
is valid Python. How many scripts convert *clean* is measured, not asserted:
``python tests/corpus_report.py``.
"""

from __future__ import annotations

import ast
import csv
from pathlib import Path

import pytest

from k2t import convert_source

CORPUS = Path(__file__).parent / "corpus"
SCRIPTS = sorted((CORPUS / "scripts").glob("*.py"))


def _manifest() -> dict[str, dict[str, str]]:
    with open(CORPUS / "MANIFEST.tsv", newline="", encoding="utf-8") as fh:
        return {row["file"]: row for row in csv.DictReader(fh, delimiter="\t")}


def test_every_corpus_script_is_in_the_manifest():
    if not SCRIPTS:
        pytest.skip("tests/corpus/scripts is empty here (see tests/corpus/README.md)")
    listed = _manifest()
    assert [p.name for p in SCRIPTS if p.name not in listed] == []


@pytest.mark.parametrize("path", SCRIPTS, ids=[p.name for p in SCRIPTS])
def test_corpus_script_converts_without_internal_error(path: Path):
    source = path.read_text(encoding="utf-8")
    result = convert_source(source, path.name)  # an exception here is the failure
    assert [d.format() for d in result.diagnostics if d.code == "K2T999"] == []
    assert result.output is not None, [d.format() for d in result.diagnostics]
    ast.parse(result.output, path.name)
