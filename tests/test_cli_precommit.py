"""The pre-commit hooks, run by pre-commit itself in a fresh git repository.

pre-commit builds the hook's own virtual environment from a snapshot of this
working tree (k2t with libcst, click and jinja2 only) and runs the hook on
the files named, as it would on a commit.
"""

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from test_cli import KERAS_SCRIPT, UNSUPPORTED_SCRIPT

ROOT = Path(__file__).resolve().parent.parent

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("git") is None, reason="needs git"),
]


def pre_commit_command() -> list[str]:
    exe = Path(sys.executable).with_name("pre-commit")
    if exe.exists():
        return [str(exe)]
    if shutil.which("pre-commit"):
        return ["pre-commit"]
    pytest.skip("needs pre-commit (pip install pre-commit)")


def git(*args, cwd):
    env_args = ["-c", "user.name=k2t", "-c", "user.email=k2t@example.invalid", "-c", "commit.gpgsign=false"]
    return subprocess.run(["git", *env_args, *args], cwd=cwd, check=True, capture_output=True, text=True)


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory):
    """This working tree as it is now (tracked and new files, not ignored ones), committed in a scratch repo."""
    snapshot = tmp_path_factory.mktemp("k2t-snapshot")
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, check=True,
    ).stdout.decode().split("\0")  # fmt: skip
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (snapshot / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, snapshot / name)
    git("init", "-q", cwd=snapshot)
    git("add", "-A", cwd=snapshot)
    git("commit", "-q", "-m", "snapshot", cwd=snapshot)
    return snapshot


@pytest.fixture
def project(tmp_path):
    work = tmp_path / "project"
    work.mkdir()
    (work / "good.py").write_text(KERAS_SCRIPT)
    (work / "rnn.py").write_text(UNSUPPORTED_SCRIPT)
    git("init", "-q", cwd=work)
    git("add", "-A", cwd=work)
    return work


@pytest.fixture(scope="module")
def hook_home(tmp_path_factory):
    """One PRE_COMMIT_HOME for the try-repo tests: pre-commit builds the hook environment (pip installs k2t)
    once for this repository and revision, and the next hook of the same repository reuses it."""
    return tmp_path_factory.mktemp("pre-commit-home")


def try_repo(hook_repo, project, hook, *files, home):
    return subprocess.run(
        [*pre_commit_command(), "try-repo", str(hook_repo), hook, "--verbose", "--files", *files],
        cwd=project, check=False, capture_output=True, text=True, timeout=600,
        env={**__import__("os").environ, "PRE_COMMIT_HOME": str(home), "NO_COLOR": "1"},
    )  # fmt: skip


def test_k2t_check_hook(hook_repo, project, hook_home):
    home = hook_home
    passed = try_repo(hook_repo, project, "k2t-check", "good.py", home=home)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    failed = try_repo(hook_repo, project, "k2t-check", "good.py", "rnn.py", home=home)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "rnn.py:3:54: K2T101 layer keras.layers.SpectralNormalization is not translated" in failed.stdout
    assert "Traceback" not in failed.stdout


def test_config_snippet_and_light_hook_environment(hook_repo, project, tmp_path_factory):
    """The README's .pre-commit-config.yaml, run by `pre-commit run`; the hook env has no torch/tensorflow."""
    home = tmp_path_factory.mktemp("pre-commit-home")
    rev = git("rev-parse", "HEAD", cwd=hook_repo).stdout.strip()
    (project / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {hook_repo}\n    rev: {rev}\n    hooks:\n      - id: k2t-check\n"
    )
    git("add", ".pre-commit-config.yaml", cwd=project)
    proc = subprocess.run(
        [*pre_commit_command(), "run", "k2t-check", "--files", "good.py", "rnn.py"],
        cwd=project, check=False, capture_output=True, text=True, timeout=600,
        env={**__import__("os").environ, "PRE_COMMIT_HOME": str(home), "NO_COLOR": "1"},
    )  # fmt: skip
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "rnn.py:3:54: K2T101" in proc.stdout
    [env] = [p for p in home.rglob("pyvenv.cfg") if p.parent.name.startswith("py_env")]  # pre-commit's hook env
    site = next(env.parent.glob("lib/python*/site-packages"))
    installed = {p.name.split("-")[0].lower() for p in site.glob("*.dist-info")}
    assert {"k2t", "libcst", "click", "jinja2"} <= installed
    assert not installed & {"torch", "tensorflow", "tensorflow_cpu", "keras", "numpy"}


def test_k2t_no_keras_hook(hook_repo, project, hook_home):
    home = hook_home
    (project / "migrated.py").write_text(textwrap.dedent("import torch\n\nmodel = torch.nn.Linear(3, 1)\n"))
    git("add", "migrated.py", cwd=project)
    assert try_repo(hook_repo, project, "k2t-no-keras", "migrated.py", home=home).returncode == 0
    failed = try_repo(hook_repo, project, "k2t-no-keras", "good.py", home=home)
    assert failed.returncode == 1
    assert "good.py:2:1: K2T200" in failed.stdout
