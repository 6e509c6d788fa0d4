import os
import subprocess
import sys
from pathlib import Path

import forkserver
import pytest

# One OpenMP thread for torch here and in every script a test runs: the suite runs on every core
# (pytest -n auto), and torch's OpenMP threads spin and stall when the cores are already busy
# (a 5 s fixture script took 200 s beside another test worker). Set before torch is imported.
os.environ.setdefault("OMP_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"

# Run converted scripts with Keras and TensorFlow unimportable: proof that they are standalone.
# Nor may they download anything (a dataset loader finds its files in KERAS_HOME or fails).
BLOCK_KERAS = """
import sys
for name in ("keras", "tensorflow", "k2t", "tf_keras"):
    sys.modules[name] = None  # import raises ImportError, as if not installed
import urllib.request
def no_download(url, *args, **kwargs):
    raise RuntimeError(f"a test script may not download {url}")
urllib.request.urlretrieve = no_download
sys.argv = [sys.argv[1]]
import runpy
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def fixture_dirs():
    return sorted(p for p in FIXTURES.iterdir() if (p / "input.py").is_file())


def run_standalone(script: Path, timeout: int = 300, keras_home: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONHASHSEED="0", TF_CPP_MIN_LOG_LEVEL="3")
    if keras_home is not None:
        env["KERAS_HOME"] = str(keras_home)  # the Keras cache a dataset loader reads
    if forkserver.usable():
        return forkserver.run(script, env, timeout)
    return subprocess.run(
        [sys.executable, "-c", BLOCK_KERAS, str(script)], check=False,
        cwd=script.parent,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def has_module(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


requires_torch = pytest.mark.skipif(not has_module("torch"), reason="needs torch")
requires_keras = pytest.mark.skipif(not has_module("tensorflow"), reason="needs tensorflow-cpu")
