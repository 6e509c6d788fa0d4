"""Golden fixtures: each folder holds a Keras script and the PyTorch script k2t must produce.

Set K2T_UPDATE_GOLDEN=1 to rewrite the expected files after an intended change
(and read the diff before committing it).
"""

import functools
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import fixture_dirs, requires_torch, run_standalone
from fake_keras_datasets import stage_for_script
from undefined import assert_no_undefined_names, ruff_findings

import k2t
from k2t.line_length import LINE_LENGTH

FIXTURES = fixture_dirs()
IDS = [p.name for p in FIXTURES]
UPDATE = os.environ.get("K2T_UPDATE_GOLDEN") == "1"


@functools.cache
def converted_input(folder: Path) -> k2t.ConversionResult:
    """The fixture's input converted now: once per test process, several tests read it."""
    return k2t.convert_file(folder / "input.py")


@functools.cache
def reconverted_expected(folder: Path) -> k2t.ConversionResult:
    """The expected output converted again, once per test process."""
    return k2t.convert_source((folder / "expected.py").read_text(encoding="utf-8"), "expected.py")


def _diagnostics_text(result) -> str:
    return "".join(d.format().replace(str(d.path), "input.py", 1) + "\n" for d in result.diagnostics)


@pytest.mark.parametrize("folder", FIXTURES, ids=IDS)
def test_fixture_converts_to_expected_output(folder):
    result = converted_input(folder)
    expected_py = folder / "expected.py"
    expected_diag = folder / "expected_diagnostics.txt"
    if UPDATE:
        expected_py.write_text(result.output, encoding="utf-8")
        if result.diagnostics:
            expected_diag.write_text(_diagnostics_text(result), encoding="utf-8")
        elif expected_diag.exists():
            expected_diag.unlink()
    assert result.output == expected_py.read_text(encoding="utf-8")
    want = expected_diag.read_text(encoding="utf-8") if expected_diag.exists() else ""
    assert _diagnostics_text(result) == want


@pytest.mark.parametrize("folder", FIXTURES, ids=IDS)
def test_fixture_output_imports_no_keras_tensorflow_or_k2t(folder):
    """A clean conversion imports neither; one with TODOs keeps only the Keras imports its TODO lines use."""
    import ast

    output = (folder / "expected.py").read_text(encoding="utf-8")
    with_todos = (folder / "expected_diagnostics.txt").exists()
    for node in ast.walk(ast.parse(output)):
        if isinstance(node, ast.Import):
            roots = {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            roots = {(node.module or "").split(".")[0]}
        else:
            continue
        assert "k2t" not in roots, ast.unparse(node)
        if not with_todos:
            assert not roots & {"keras", "tensorflow"}, ast.unparse(node)
    if with_todos:
        unused = [line for line in ruff_findings(output, "F401") if "keras" in line or "tensorflow" in line]
        assert not unused, unused


@pytest.mark.parametrize("folder", FIXTURES, ids=IDS)
def test_fixture_outputs_have_no_undefined_names(folder):
    """The output converted now, the expected output and that output converted again: no NameError in any."""
    expected = (folder / "expected.py").read_text(encoding="utf-8")
    assert_no_undefined_names(converted_input(folder).output, "converted.py")
    assert_no_undefined_names(expected, "expected.py")
    assert_no_undefined_names(reconverted_expected(folder).output, "reconverted.py")


@pytest.mark.parametrize("folder", FIXTURES, ids=IDS)
def test_fixture_output_is_lint_clean(folder):
    if (folder / "expected_diagnostics.txt").exists():
        pytest.skip("output with TODOs keeps the untranslated code")
    ruff = shutil.which("ruff") or shutil.which("ruff", path=str(Path(sys.executable).parent))  # venv not activated
    if ruff is None:
        pytest.skip("ruff not installed")
    proc = subprocess.run(
        [ruff, "check", "--no-cache", "--isolated", "--select", "F", "--output-format", "concise", str(folder / "expected.py")], check=False,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("folder", FIXTURES, ids=IDS)
def test_converting_the_output_again_changes_nothing(folder):
    output = (folder / "expected.py").read_text(encoding="utf-8")
    assert reconverted_expected(folder).output == output


@pytest.mark.slow
@requires_torch
@pytest.mark.parametrize("folder", FIXTURES, ids=IDS)
def test_fixture_output_runs_without_keras(folder, tmp_path):
    if (folder / "expected_diagnostics.txt").exists():
        pytest.skip("output with TODOs is not expected to run")
    script = tmp_path / "converted.py"
    shutil.copy(folder / "expected.py", script)
    # A script that loads keras.datasets reads small stand-ins from a Keras cache made here.
    proc = run_standalone(script, keras_home=stage_for_script(script, tmp_path / "keras_home"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    assert sys.executable  # the interpreter that ran it has torch; keras was blocked


@pytest.mark.parametrize("folder", FIXTURES, ids=IDS)
def test_fixture_generated_lines_fit_the_line_length(folder):
    """k2t's own lines are within black's 88 columns; the script's lines kept as written are the user's.

    As ruff's E501, a line of one word (a URL) is not counted; a TODO(k2t) line repeats its diagnostic.
    """
    users = set((folder / "input.py").read_text(encoding="utf-8").splitlines())
    long = [
        line
        for line in (folder / "expected.py").read_text(encoding="utf-8").splitlines()
        if len(line) > LINE_LENGTH and line not in users and "TODO(k2t)" not in line and len(line.split()) > 1
    ]
    assert not long, "\n".join(long)
