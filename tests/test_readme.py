"""The README's set-up, as a new user follows it: every step there, every file it names in the repository."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def marked_command(name: str) -> str:
    """The shell command between <!-- NAME --> markers, as .ci/run extracts it."""
    match = re.search(rf"<!-- {name} -->\n```sh\n(.*?)```\n<!-- /{name} -->", README, flags=re.DOTALL)
    assert match, f"README has no {name} block"
    return match.group(1)


def set_up_section() -> str:
    return README.split("## Set up", 1)[1].split("\n## ", 1)[0]


def test_set_up_starts_from_a_clone_and_a_virtual_environment():
    section = set_up_section()
    assert "git clone " in section
    assert "python3 -m venv " in section
    assert section.index("git clone ") < section.index("<!-- try-command -->")


def test_test_command_installs_the_cpu_torch_build():
    # PyPI's torch on Linux is the CUDA build (several GB); the CPU index gives the CPU one.
    command = marked_command("test-command")
    assert re.search(rf"--(extra-)?index-url {re.escape(CPU_INDEX)}\b", command), command
    assert "torch==" in command


def test_files_the_readme_names_are_in_the_repository():
    links = re.findall(r"\]\((?!https?:|#)([^)\s]+)\)", README)
    backticked = re.findall(r"`([\w./-]+\.(?:md|txt|yaml|toml))`", README)
    named = [ref for ref in links + backticked if "/" in ref or ref.startswith(".")]
    # Inside the repository: a file beside the checkout (../notes.md) is not in a user's clone.
    missing = [ref for ref in named if not (ROOT / ref).resolve().is_relative_to(ROOT) or not (ROOT / ref).exists()]
    assert not missing, missing


def test_pre_commit_snippet_pins_this_release_and_its_hooks():
    snippet = README.split("# .pre-commit-config.yaml", 1)[1].split("```", 1)[0]
    [rev] = re.findall(r"^\s*rev: (\S+)", snippet, flags=re.MULTILINE)
    hook_ids = re.findall(r"id: ([\w-]+)", snippet)
    version = re.search(r'^version = "([^"]+)"', (ROOT / "pyproject.toml").read_text(), flags=re.MULTILINE)
    assert version is not None
    assert rev == f"v{version.group(1)}", "the snippet pins a release other than pyproject's version"
    hooks = (ROOT / ".pre-commit-hooks.yaml").read_text()
    assert set(hook_ids) <= set(re.findall(r"^- id: ([\w-]+)", hooks, flags=re.MULTILINE))


@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(), reason="not a git checkout")
def test_pinned_tag_if_fetched_has_the_hooks():
    snippet = README.split("# .pre-commit-config.yaml", 1)[1].split("```", 1)[0]
    [rev] = re.findall(r"^\s*rev: (\S+)", snippet, flags=re.MULTILINE)
    hook_ids = re.findall(r"id: ([\w-]+)", snippet)
    known = subprocess.run(["git", "tag", "--list", rev], cwd=ROOT, capture_output=True, text=True, check=False)
    if not known.stdout.strip():
        # CI clones a branch without its tags; the release check above still holds there.
        pytest.skip(f"tag {rev} is not in this clone")
    tagged = subprocess.run(
        ["git", "show", f"refs/tags/{rev}:.pre-commit-hooks.yaml"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert tagged.returncode == 0, tagged.stderr
    assert set(hook_ids) <= set(re.findall(r"^- id: ([\w-]+)", tagged.stdout, flags=re.MULTILINE))
