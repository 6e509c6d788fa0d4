"""The command line on trees and several files: mirroring, --in-place, --diff, --check, formats, reports."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_cli import KERAS_SCRIPT, UNSUPPORTED_SCRIPT, k2t

from k2t.cli import main

PLAIN = b"import os\r\n\r\n\r\ndef f(x):  # CRLF, a comment \xc3\xa9\r\n    return os.path.join(x, 'y')\r\n"


@pytest.fixture
def tree(tmp_path):
    """src/ with a Keras script, an unsupported one, a plain module, a data file and an ignored .git."""
    src = tmp_path / "src"
    (src / "pkg").mkdir(parents=True)
    (src / ".git").mkdir()
    (src / ".git" / "hook.py").write_text(KERAS_SCRIPT)
    (src / "train.py").write_text(KERAS_SCRIPT)
    (src / "pkg" / "rnn.py").write_text(UNSUPPORTED_SCRIPT)
    (src / "pkg" / "plain.py").write_bytes(PLAIN)
    (src / "pkg" / "data.csv").write_text("a,b\n1,2\n")
    (src / "run.py").write_text("print('hi')\n")
    (src / "run.py").chmod(0o755)
    return src


def files_under(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_directory_is_mirrored(tree, tmp_path):
    out = tmp_path / "out"
    proc = k2t("convert", str(tree), "-o", str(out))
    assert proc.returncode == 1  # rnn.py has an untranslated layer
    assert files_under(out) == ["pkg/plain.py", "pkg/rnn.py", "run.py", "train.py"]
    assert (out / "pkg" / "plain.py").read_bytes() == PLAIN
    assert "class Net(nn.Module):" in (out / "train.py").read_text()
    assert os.stat(out / "run.py").st_mode & 0o777 == 0o755
    assert f"{tree / 'pkg' / 'rnn.py'}:3:54: K2T101" in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("k2t: 4 files: 1 converted, 1 with TODOs, 2 unchanged")
    assert "Traceback" not in proc.stderr


def test_copy_other_copies_the_rest(tree, tmp_path):
    out = tmp_path / "out"
    k2t("convert", str(tree), "-o", str(out), "--copy-other")
    assert files_under(out) == ["pkg/data.csv", "pkg/plain.py", "pkg/rnn.py", "run.py", "train.py"]


def test_output_inside_the_input_is_not_walked(tree):
    out = tree / "converted"
    k2t("convert", str(tree), "-o", str(out))
    assert not (out / "converted").exists()
    proc = k2t("convert", str(tree), "-o", str(out))  # a second run does not convert its own output
    assert "converted/" not in proc.stderr


def test_in_place_rewrites_only_what_changes(tree):
    plain_before = os.stat(tree / "pkg" / "plain.py")
    proc = k2t("convert", "--in-place", str(tree))
    assert proc.returncode == 1
    assert "class Net(nn.Module):" in (tree / "train.py").read_text()
    assert (tree / "pkg" / "plain.py").read_bytes() == PLAIN
    assert os.stat(tree / "pkg" / "plain.py").st_mtime_ns == plain_before.st_mtime_ns
    assert (tree / ".git" / "hook.py").read_text() == KERAS_SCRIPT
    assert not [p for p in tree.rglob("*k2t-tmp*")]


def test_diff_writes_nothing(tree):
    before = {p: p.read_bytes() for p in tree.rglob("*") if p.is_file()}
    proc = k2t("convert", "--diff", str(tree / "train.py"), str(tree / "pkg" / "plain.py"))
    assert proc.returncode == 0
    assert proc.stdout.startswith(f"--- a/{tree / 'train.py'}\n+++ b/{tree / 'train.py'}\n")
    assert "-from tensorflow import keras\n" in proc.stdout
    assert "plain.py" not in proc.stdout
    assert {p: p.read_bytes() for p in tree.rglob("*") if p.is_file()} == before


def test_diff_summary_counts_files_with_todos_apart_and_converts_nothing(tree):
    # --diff writes nothing, and a file left with TODOs is not converted: neither counts as "converted".
    proc = k2t("convert", "--diff", str(tree))
    assert proc.returncode == 1  # pkg/rnn.py has an untranslated layer
    assert proc.stderr.strip().splitlines()[-1] == "k2t: 4 files: 1 would change, 1 with TODOs, 2 unchanged; 1 diagnostic."


def test_check_flag_exits_1_when_something_would_change(tree):
    assert k2t("convert", "--check", str(tree / "pkg" / "plain.py")).returncode == 0
    assert k2t("convert", "--check", str(tree / "train.py")).returncode == 1


@pytest.mark.parametrize(
    "args, message",
    [
        (["convert", "{src}"], "need -o DIR, --in-place, --diff or --check"),
        (["convert", "{src}/train.py", "{src}/run.py"], "need -o DIR"),
        (["convert", "--in-place", "-o", "x", "{src}"], "cannot be combined"),
        (["convert", "--diff", "--in-place", "{src}"], "write nothing"),
        (["convert", "-", "{src}/run.py"], "cannot be combined"),
        (["convert", "{src}", "-o", "{src}/run.py"], "not a directory"),
        (["check", "--format", "xml", "{src}"], "Invalid value for '--format'"),
        (["check", "{src}/missing.py"], "no such file or directory"),
    ],
)
def test_usage_errors_exit_2(tree, args, message):
    proc = k2t(*(a.format(src=tree) for a in args))
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr


def test_several_directories_are_mirrored_under_their_names(tmp_path):
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / "m.py").write_text("x = 1\n")
    (tmp_path / "m.py").write_text("y = 2\n")
    proc = k2t("convert", str(tmp_path / "a"), str(tmp_path / "b"), str(tmp_path / "m.py"), "-o", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr
    assert files_under(tmp_path / "out") == ["a/m.py", "b/m.py", "m.py"]


def test_two_inputs_for_one_output_is_a_usage_error(tmp_path):
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / "m.py").write_text("x = 1\n")
    proc = k2t("convert", str(tmp_path / "a" / "m.py"), str(tmp_path / "b" / "m.py"), "-o", str(tmp_path / "out"))
    assert proc.returncode == 2
    assert "would both be written to" in proc.stderr
    assert not (tmp_path / "out").exists()


def test_check_formats(tree):
    text = k2t("check", str(tree))
    assert text.returncode == 1
    assert f"{tree / 'pkg' / 'rnn.py'}:3:54: K2T101 layer keras.layers.SpectralNormalization is not translated" in text.stderr
    assert text.stderr.strip().endswith("k2t: 4 files checked: 3 clean, 1 with diagnostics; 1 diagnostic.")

    github = k2t("check", "--format", "github", str(tree))
    assert f"::error file={tree / 'pkg' / 'rnn.py'},line=3,col=54::K2T101 layer keras.layers.SpectralNormalization" in github.stdout

    as_json = json.loads(k2t("check", "--format", "json", str(tree)).stdout)
    assert as_json["summary"]["return_code"] == 1
    [flagged] = [f for f in as_json["files"] if f["diagnostics"]]
    assert flagged["diagnostics"][0]["code"] == "K2T101"

    sarif = json.loads(k2t("check", "--format", "sarif", str(tree)).stdout)
    [result] = sarif["runs"][0]["results"]
    assert result["ruleId"] == "K2T101"
    assert result["locations"][0]["physicalLocation"]["region"] == {"startLine": 3, "startColumn": 54}


def test_check_no_keras_fails_on_any_keras_import(tree, tmp_path):
    proc = k2t("check", "--no-keras", str(tree / "train.py"))
    assert proc.returncode == 1
    assert f"{tree / 'train.py'}:2:1: K2T200" in proc.stderr
    migrated = tmp_path / "migrated.py"
    migrated.write_text("import torch  # keras is gone\nmodel = torch.nn.Linear(3, 1)\n")
    assert k2t("check", "--no-keras", str(migrated)).returncode == 0


def test_check_reads_stdin_under_a_given_name():
    proc = k2t("check", "--stdin-filename", "rnn.py", "-", stdin=UNSUPPORTED_SCRIPT)
    assert proc.returncode == 1
    assert proc.stderr.startswith("rnn.py:3:54: K2T101")


@pytest.mark.parametrize("suffix", [".txt", ".json"])
def test_report_file(tree, tmp_path, suffix):
    report = tmp_path / f"report{suffix}"
    proc = k2t("convert", str(tree), "-o", str(tmp_path / "out"), "--report", str(report))
    assert proc.returncode == 1
    text = report.read_text()
    if suffix == ".json":
        data = json.loads(text)
        assert data["summary"] == {
            "files": 4, "converted": 2, "unchanged": 2, "failed": 0, "internal_error": 0,
            "diagnostics": 1, "return_code": 1,
        }  # fmt: skip
        train = next(f for f in data["files"] if f["path"].endswith("train.py"))
        assert train["status"] == "converted" and train["changed_lines"]
    else:
        assert text.startswith("k2t convert report\n")
        assert "k2t: 4 files: 1 converted, 1 with TODOs, 2 unchanged; 1 diagnostic.\n  K2T101 x1: " in text
        assert f"File: {tree / 'train.py'} -> {tmp_path / 'out' / 'train.py'}" in text
        assert "  rewritten input lines: " in text
        assert f"{tree / 'pkg' / 'rnn.py'}:3:54: ERROR: K2T101" in text


def test_parallel_output_is_deterministic(tmp_path):
    src = tmp_path / "many"
    src.mkdir()
    for i in range(24):
        body = UNSUPPORTED_SCRIPT if i % 5 == 0 else KERAS_SCRIPT if i % 2 else f"x = {i}\n"
        (src / f"m{i:02}.py").write_text(body)
    runs = [k2t("check", "-j", str(jobs), str(src)) for jobs in (1, 2, 2)]
    assert runs[0].stderr == runs[1].stderr == runs[2].stderr
    assert runs[0].returncode == 1
    assert runs[0].stderr.count("K2T101") == 5


# ---------------------------------------------------------- internal errors
def _boom(source, filename="<string>", device="auto", torch_compile=False):
    raise RuntimeError("simulated bug")


def test_internal_error_is_caught_per_file(tree, monkeypatch):
    """A bug in one file gives `path: K2T999 internal error ...`, exit 123, and the other files still go."""
    import k2t.api

    real = k2t.api._convert_with_libcst

    def flaky(source, filename, device="auto", torch_compile=False):
        return _boom(source) if filename.endswith("train.py") else real(source, filename, device, torch_compile)

    monkeypatch.setattr(k2t.api, "_convert_with_libcst", flaky)
    runner = CliRunner()
    result = runner.invoke(main, ["check", "-j", "1", str(tree)])
    assert result.exit_code == 123
    assert f"{tree / 'train.py'}: K2T999 internal error: RuntimeError: simulated bug" in result.stderr
    assert "K2T101" in result.stderr  # rnn.py was still checked
    assert "Traceback" not in result.stderr
    verbose = runner.invoke(main, ["check", "-j", "1", "--verbose", str(tree / "train.py")])
    assert verbose.exit_code == 123
    assert "Traceback" in verbose.stderr


def test_internal_error_writes_no_output(tree, tmp_path, monkeypatch):
    import k2t.api

    monkeypatch.setattr(k2t.api, "_convert_with_libcst", _boom)
    out = tmp_path / "out.py"
    result = CliRunner().invoke(main, ["convert", str(tree / "train.py"), "-o", str(out)])
    assert result.exit_code == 123
    assert not out.exists()


def test_exit_codes_come_from_one_report_value():
    from k2t.diagnostics import Diagnostic
    from k2t.report import FileReport, Report, Status

    diag = Diagnostic("a.py", 1, 1, "K2T101", "x")
    assert Report().return_code == 0
    assert Report(files=[FileReport("a.py", Status.CONVERTED)]).return_code == 0
    assert Report(check=True, files=[FileReport("a.py", Status.CONVERTED)]).return_code == 1
    assert Report(files=[FileReport("a.py", Status.CONVERTED, (diag,))]).return_code == 1
    assert Report(files=[FileReport("a.py", Status.FAILED)]).return_code == 1
    both = [FileReport("a.py", Status.FAILED), FileReport("b.py", Status.INTERNAL_ERROR, error="x")]
    assert Report(files=both).return_code == 123


def test_progress_is_quiet_when_not_a_terminal(tree, tmp_path):
    proc = k2t("convert", str(tree), "-o", str(tmp_path / "out"))
    assert "\r" not in proc.stderr


def test_summary_line_for_trees_only(tree):
    single = k2t("check", str(tree / "train.py"))
    assert single.stderr == ""
    assert k2t("check", "-q", str(tree)).stderr.count("k2t: ") == 0


def test_python_dash_m_and_entry_point_agree(tree):
    script = textwrap.dedent("import sys; from k2t.cli import entry; sys.argv = ['k2t', 'check', sys.argv[1]]; entry()")
    proc = subprocess.run(
        [sys.executable, "-c", script, str(tree / "pkg" / "rnn.py")], check=False, capture_output=True, text=True
    )
    assert proc.returncode == 1
    assert "K2T101" in proc.stderr
