"""The command line: outputs, exit codes and bad input, run as a user would run it."""

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

KERAS_SCRIPT = textwrap.dedent(
    """\
    import numpy as np
    from tensorflow import keras

    x = np.random.rand(64, 3).astype("float32")
    y = (x.sum(axis=1) > 1.5).astype("float32")
    model = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    model.fit(x, y, epochs=1, verbose=0)
    """
)
UNSUPPORTED_SCRIPT = textwrap.dedent(
    """\
    from tensorflow import keras

    model = keras.Sequential([keras.Input(shape=(8, 3)), keras.layers.SpectralNormalization(keras.layers.Dense(4)), keras.layers.Dense(1)])
    """
)


def k2t(*args, stdin=None, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "k2t", *args],
        input=stdin,
        check=False,
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


def test_convert_to_stdout(tmp_path):
    src = tmp_path / "train.py"
    src.write_text(KERAS_SCRIPT)
    proc = k2t("convert", str(src))
    assert proc.returncode == 0, proc.stderr
    assert "class Net(nn.Module):" in proc.stdout
    assert "import keras" not in proc.stdout and "tensorflow" not in proc.stdout
    assert proc.stderr == ""


def test_convert_to_file(tmp_path):
    src = tmp_path / "train.py"
    src.write_text(KERAS_SCRIPT)
    out = tmp_path / "out" / "train_torch.py"
    proc = k2t("convert", str(src), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    written = out.read_text()
    assert written.startswith("import ") and "\nimport numpy as np\n" in written  # one sorted import block first
    assert proc.stdout == ""


def test_stdin_to_stdout():
    proc = k2t("convert", "-", stdin=KERAS_SCRIPT)
    assert proc.returncode == 0, proc.stderr
    assert "def fit(" in proc.stdout


def test_unsupported_layer_is_located_marked_and_fails(tmp_path):
    src = tmp_path / "rnn.py"
    src.write_text(UNSUPPORTED_SCRIPT)
    out = tmp_path / "rnn_torch.py"
    proc = k2t("convert", str(src), "-o", str(out))
    assert proc.returncode == 1
    assert f"{src}:3:54: K2T101 layer keras.layers.SpectralNormalization is not translated" in proc.stderr
    assert "# TODO(k2t): K2T101 layer keras.layers.SpectralNormalization is not translated" in out.read_text()
    assert "Traceback" not in proc.stderr


def test_file_without_keras_converts_to_itself(tmp_path):
    text = "import os\n\n\ndef f(x):  # a comment\n    return os.path.join(x, 'y')\n"
    src = tmp_path / "plain.py"
    src.write_text(text)
    proc = k2t("convert", str(src))
    assert proc.returncode == 0
    assert proc.stdout == text


@pytest.mark.parametrize(
    "content, message",
    [
        (b"def broken(:\n    pass\n", "K2T002 syntax error"),
        (b"\x00\x01\x02binary", "K2T001 binary file"),
        (b"x = '\xff\xfe'\n", "K2T001 not UTF-8"),
    ],
    ids=["syntax-error", "binary", "not-utf8"],
)
def test_bad_input_gives_a_message_and_no_output_file(tmp_path, content, message):
    src = tmp_path / "bad.py"
    src.write_bytes(content)
    out = tmp_path / "bad_torch.py"
    proc = k2t("convert", str(src), "-o", str(out))
    assert proc.returncode == 1
    assert message in proc.stderr
    assert proc.stderr.startswith(f"{src}:")
    assert "Traceback" not in proc.stderr
    assert not out.exists()


def test_missing_path_is_a_usage_error(tmp_path):
    proc = k2t("convert", str(tmp_path / "nope.py"))
    assert proc.returncode == 2
    assert "no such file" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_check_reports_and_writes_nothing(tmp_path):
    good = tmp_path / "good.py"
    good.write_text(KERAS_SCRIPT)
    bad = tmp_path / "bad.py"
    bad.write_text(UNSUPPORTED_SCRIPT)
    before = sorted(p.name for p in tmp_path.iterdir())
    assert k2t("check", str(good)).returncode == 0
    proc = k2t("check", str(tmp_path))
    assert proc.returncode == 1
    assert "bad.py:3:54: K2T101" in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_empty_file_converts_to_itself(tmp_path):
    src = tmp_path / "empty.py"
    src.write_text("")
    proc = k2t("convert", str(src))
    assert proc.returncode == 0
    assert proc.stdout == ""


def test_import_k2t_and_converting_stay_light():
    code = (
        "import sys, k2t\n"
        f"k2t.convert_source({KERAS_SCRIPT!r})\n"
        "heavy = sorted({'torch', 'tensorflow', 'keras', 'numpy'} & set(sys.modules))\n"
        "print(','.join(heavy))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ""


def test_library_call_returns_a_result_value():
    import k2t as lib

    result = lib.convert_source(UNSUPPORTED_SCRIPT, "rnn.py")
    assert not result.ok
    assert result.changed
    [diag] = result.diagnostics
    assert (diag.path, diag.line, diag.column, diag.code) == ("rnn.py", 3, 54, "K2T101")
    assert lib.check_source(UNSUPPORTED_SCRIPT, "rnn.py") == result.diagnostics


def test_readme_lists_every_diagnostic_code():
    from k2t.diagnostics import CODES

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    listed = set(re.findall(r"^\| (K2T\d{3})", readme, flags=re.MULTILINE))
    ranges = re.findall(r"^\| K2T(\d{3})–K2T(\d{3})", readme, flags=re.MULTILINE)
    listed |= {f"K2T{n:03}" for a, b in ranges for n in range(int(a), int(b) + 1)}
    assert set(CODES) <= listed


def test_every_diagnostic_code_k2t_gives_is_described():
    """The report's summary and SARIF rules describe each code from CODES: a code given but missing there would
    be listed without a description."""
    from k2t.diagnostics import CODES

    package = Path(__file__).resolve().parent.parent / "k2t"
    given = {code for path in package.rglob("*.py") for code in re.findall(r'"(K2T\d{3})"', path.read_text())}
    assert given <= set(CODES), sorted(given - set(CODES))


def test_output_naming_the_input_is_refused_without_in_place(tmp_path):
    # black and ruff refuse to replace their input unless told to: -o x.py on x.py is a usage error.
    script = tmp_path / "train.py"
    script.write_text(KERAS_SCRIPT)
    link = tmp_path / "link.py"
    link.symlink_to(script)
    for target in (script, link):
        proc = k2t("convert", str(script), "-o", str(target))
        assert proc.returncode == 2
        assert "use --in-place" in proc.stderr
        assert script.read_text() == KERAS_SCRIPT
    assert k2t("convert", "--in-place", str(script)).returncode == 0
    assert script.read_text() != KERAS_SCRIPT


def test_top_level_help_shows_each_command_description_whole():
    import os

    proc = subprocess.run(
        [sys.executable, "-m", "k2t", "--help"], check=False, capture_output=True, text=True,
        env={**os.environ, "COLUMNS": "60"},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    commands = proc.stdout.split("Commands:", 1)[1]
    assert "..." not in commands  # click's mark of a description cut short
    described = re.findall(r"^  (\w+) +(.*?\.)$", " ".join(commands.split("\n  " + " " * 9)), flags=re.MULTILINE)
    assert {name for name, _ in described} == {"check", "convert", "parity", "weights"}


def test_parity_run_of_a_raising_script_shows_the_scripts_frames_first(tmp_path):
    pytest.importorskip("tensorflow")
    script = tmp_path / "train.py"
    script.write_text("def load():\n    raise ValueError('no data here')\n\n\nload()\n")
    proc = subprocess.run(
        [sys.executable, "-m", "k2t.parity.runner", "keras", str(script), str(tmp_path / "out")],
        check=False, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 1
    frames = re.findall(r'^  File "([^"]+)", line \d+', proc.stderr, flags=re.MULTILINE)
    assert frames == [str(script), str(script)], proc.stderr  # <module>, then load()
    assert proc.stderr.rstrip().endswith("ValueError: no data here")
