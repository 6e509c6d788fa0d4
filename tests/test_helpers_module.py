"""`k2t convert TREE -o OUT --helpers-module NAME` (issue 15): the helpers two scripts or more generate
alike are written once, into NAME.py beside them, and imported; each script still runs."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import requires_torch, run_standalone

from k2t.shared_helpers import HEADER, share_helpers

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = textwrap.dedent(
    """\
    import numpy as np
    import keras
    from keras import layers

    keras.utils.set_random_seed(UNITS)
    x = np.random.rand(32, 4).astype("float32")
    y = (x.sum(axis=1) > 2).astype("float32")
    model = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(UNITS, activation="relu"), layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    print("OK", model.predict(x[:2], verbose=0).shape)
    """
)


def _k2t(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "k2t", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False)


def _tree(tmp_path: Path) -> Path:
    tree = tmp_path / "src"
    (tree / "nested").mkdir(parents=True)
    (tree / "small.py").write_text(SCRIPT.replace("UNITS", "3"))
    (tree / "wide.py").write_text(SCRIPT.replace("UNITS", "8"))
    (tree / "nested" / "alone.py").write_text(SCRIPT.replace("UNITS", "5"))
    return tree


@requires_torch
def test_shared_helpers_are_written_once_and_every_script_runs(tmp_path):
    out = tmp_path / "out"
    done = _k2t("convert", str(_tree(tmp_path)), "-o", str(out), "--helpers-module", "team_helpers", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    module = (out / "team_helpers.py").read_text()
    assert HEADER in module
    assert "import k2t" not in module and "import keras" not in module and "tensorflow" not in module
    for name in ("small", "wide"):
        text = (out / f"{name}.py").read_text()
        imported = next(line for line in text.splitlines() if line.startswith("from team_helpers import "))
        names = imported.removeprefix("from team_helpers import ").split(", ")
        assert "KerasAdam" in names
        for shared in names:  # defined in the module, and no longer in the script
            assert f"\ndef {shared}(" in module or f"\nclass {shared}(" in module
            assert f"\ndef {shared}(" not in text and f"\nclass {shared}(" not in text
        assert "class Net(nn.Module)" in text  # the script's own model stays with it
    # A folder with one script shares nothing: no module there, the script stands alone.
    assert not (out / "nested" / "team_helpers.py").exists()
    assert "team_helpers" not in (out / "nested" / "alone.py").read_text()
    for script in (out / "small.py", out / "wide.py"):
        ran = run_standalone(script)
        assert ran.returncode == 0, ran.stderr
        assert "OK (2, 1)" in ran.stdout
    ruff = Path(sys.executable).with_name("ruff")
    if ruff.exists():
        lint = subprocess.run([str(ruff), "check", "--isolated", "--select", "F,I", str(out)], capture_output=True, text=True, check=False)
        assert lint.returncode == 0, lint.stdout


def test_a_helper_two_scripts_write_differently_stays_in_each():
    one = "def fit(model):\n    return 1\n\n\ndef loss(a):\n    return a\n\n\nprint(loss(1))\n"
    two = "def fit(model):\n    return 2\n\n\ndef loss(a):\n    return a\n\n\nprint(loss(2))\n"
    shared = share_helpers({"a": ("", one), "b": ("", two)}, "helpers")
    assert shared.names == ["loss"]
    assert "def fit(model):\n    return 1" in shared.outputs["a"] and "def fit(model):\n    return 2" in shared.outputs["b"]
    assert "def loss" not in shared.outputs["a"] and "from helpers import loss" in shared.outputs["a"]


def test_each_definition_is_shared_where_two_scripts_write_it_alike(tmp_path):
    """Three scripts, two writing one ``fit`` and the third another: the two import the module's, the third
    keeps its own and with it ``train``, which calls it; ``loss``, alike in all three, is shared by all."""
    helpers = "def loss(a):\n    return a\n\n\ndef train(model):\n    return fit(model) + loss(1)\n\n\n"
    alike = helpers + "def fit(model):\n    return 1\n\n\nprint(train(None))\n"
    other = helpers + "def fit(model):\n    return 2\n\n\nprint(train(None))\n"
    shared = share_helpers({"a": ("", alike), "b": ("", alike), "c": ("", other)}, "helpers")
    assert set(shared.names) == {"loss", "train", "fit"}
    assert "def fit(model):\n    return 1" in shared.module
    for key in ("a", "b"):
        assert shared.outputs[key] == "from helpers import train\n\nprint(train(None))\n"
    assert shared.outputs["c"].startswith("from helpers import loss\n")
    assert "def fit(model):\n    return 2" in shared.outputs["c"] and "def train(model):" in shared.outputs["c"]
    (tmp_path / "helpers.py").write_text(shared.module)
    for key, printed in (("a", "2"), ("b", "2"), ("c", "3")):  # each script computes what it did alone
        (tmp_path / f"{key}.py").write_text(shared.outputs[key])
        ran = subprocess.run([sys.executable, f"{key}.py"], cwd=tmp_path, capture_output=True, text=True, check=False)
        assert ran.stdout == printed + "\n", ran.stderr


def test_a_helper_reading_a_script_global_stays_in_the_script():
    text = "import torch\n\ndevice = torch.device('cpu')\n\n\ndef move(x):\n    return x.to(device)\n"
    shared = share_helpers({"a": ("", text), "b": ("", text)}, "helpers")
    assert shared.module is None and shared.outputs["a"] == text


def test_the_scripts_own_definitions_are_never_moved():
    source = "def fit(model):\n    return 1\n"
    shared = share_helpers({"a": (source, source), "b": (source, source)}, "helpers")
    assert shared.module is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--helpers-module", "team_helpers"], "use -o DIR or --in-place"),
        (["--helpers-module", "not-a-name", "-o", "OUT"], "is not a Python module name"),
        (["--helpers-module", "team_helpers", "--diff"], "use -o DIR or --in-place"),
    ],
)
def test_usage_errors(tmp_path, args, message):
    tree = _tree(tmp_path)
    done = _k2t("convert", str(tree), *[str(tmp_path / "o") if a == "OUT" else a for a in args], cwd=tmp_path)
    assert done.returncode == 2 and message in done.stderr, done.stderr


def test_a_file_of_the_users_is_never_overwritten(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "team_helpers.py").write_text("MINE = 1\n")
    done = _k2t("convert", str(_tree(tmp_path)), "-o", str(out), "--helpers-module", "team_helpers", cwd=tmp_path)
    assert done.returncode == 1
    assert "exists and k2t did not write it" in done.stdout + done.stderr
    assert (out / "team_helpers.py").read_text() == "MINE = 1\n"


@requires_torch
@pytest.mark.slow
def test_a_tree_of_fixtures_shares_each_definition_two_scripts_write_alike(tmp_path):
    """Real scripts: three write the same ``predict``, linear_regression_1d its own (it reads a 1-D array as
    one feature per row, as Keras does); the module takes the three's, linear_regression_1d keeps its own,
    and every script runs importing the module."""
    tree, out = tmp_path / "src", tmp_path / "out"
    tree.mkdir()
    names = ("xor", "loan_approval", "iris_like_multiclass", "linear_regression_1d")
    for name in names:
        (tree / f"{name}.py").write_text((ROOT / "fixtures" / name / "input.py").read_text())
    done = _k2t("convert", str(tree), "-o", str(out), "--helpers-module", "team_helpers", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    module = (out / "team_helpers.py").read_text()
    assert "\ndef predict(" in module
    for name in names:
        text = (out / f"{name}.py").read_text()
        imported = next(line for line in text.splitlines() if line.startswith("from team_helpers import "))
        own = name == "linear_regression_1d"
        assert ("predict" in imported.removeprefix("from team_helpers import ").split(", ")) != own, name
        assert ("\ndef predict(" in text) == own, name
        ran = run_standalone(out / f"{name}.py")
        assert ran.returncode == 0, (name, ran.stderr[-3000:])
