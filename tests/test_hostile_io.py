"""Hostile file systems and a hostile environment: k2t never destroys, never hangs, never tracebacks.

Every tree here is built in tmp_path. Devices are stood in for by a FIFO or a
symlink in tmp_path (``-o /dev/stdout`` is a symlink to a FIFO or a file), never
by the real /dev.
"""

import errno
import io
import multiprocessing
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_cli import KERAS_SCRIPT, k2t

from k2t import batch
from k2t.batch import Mode, Task, run_all
from k2t.cli import entry, main
from k2t.report import Status

PLAIN = "import os\n\nprint(os.sep)\n"


def converted(text: str) -> bool:
    return "class Net(nn.Module):" in text


def fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def no_traceback(proc) -> None:
    assert "Traceback" not in proc.stderr and "K2T999" not in proc.stderr, proc.stderr


@pytest.fixture
def script(tmp_path) -> Path:
    src = tmp_path / "train.py"
    src.write_text(KERAS_SCRIPT)
    return src


# ------------------------------------------- 1. -o and --report write through links, FIFOs and devices
def test_output_through_a_symlink_keeps_the_link(script, tmp_path):
    real = tmp_path / "real.py"
    real.write_text("old\n")
    link = tmp_path / "link.py"
    link.symlink_to(real)
    proc = k2t("convert", str(script), "-o", str(link))
    assert proc.returncode == 0, proc.stderr
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert converted(real.read_text())


def test_output_to_a_fifo_behind_a_link_writes_into_the_fifo(script, tmp_path):
    """`-o /dev/stdout` on a pipe: the link and the FIFO stay, the reader gets the output."""
    pipe = fifo(tmp_path / "pipe")
    stdout = tmp_path / "stdout"
    stdout.symlink_to(pipe)
    reader = os.open(pipe, os.O_RDONLY | os.O_NONBLOCK)  # a reader is there before k2t opens it
    try:
        proc = k2t("convert", str(script), "-o", str(stdout))
        received = os.read(reader, 1 << 20)
    finally:
        os.close(reader)
    assert proc.returncode == 0, proc.stderr
    assert stdout.is_symlink() and stat.S_ISFIFO(os.stat(pipe).st_mode)
    assert converted(received.decode())


def test_report_through_a_symlink_keeps_the_link(script, tmp_path):
    real = tmp_path / "real.json"
    real.write_text("{}\n")
    link = tmp_path / "report.json"
    link.symlink_to(real)
    proc = k2t("check", str(script), "--report", str(link))
    assert proc.returncode == 0, proc.stderr
    assert link.is_symlink()
    assert '"files": 1' in real.read_text()


# ---------------------------------------------- 2. --in-place stays inside the tree, respects read-only
def test_in_place_never_follows_a_link_out_of_the_tree(tmp_path):
    (tmp_path / "outside").mkdir()
    victim = tmp_path / "outside" / "victim.py"
    victim.write_text(KERAS_SCRIPT)
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "link.py").symlink_to(Path("..") / "outside" / "victim.py")
    proc = k2t("convert", "--in-place", "-v", str(tree))
    assert victim.read_text() == KERAS_SCRIPT
    assert (tree / "link.py").is_symlink()
    assert f"{tree / 'link.py'}: symlink to {victim}, outside {tree}, not followed" in proc.stderr
    assert proc.returncode == 0, proc.stderr


def test_in_place_converts_a_link_inside_the_tree_once(tmp_path):
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "real.py").write_text(KERAS_SCRIPT)
    (tree / "link.py").symlink_to("real.py")
    proc = k2t("convert", "--in-place", str(tree))
    assert proc.returncode == 0, proc.stderr
    assert (tree / "link.py").is_symlink() and converted((tree / "real.py").read_text())
    assert proc.stderr.strip().endswith("k2t: 1 file: 1 converted, 0 unchanged; 0 diagnostics.")


def test_in_place_does_not_replace_a_read_only_file(tmp_path):
    tree = tmp_path / "tree"
    tree.mkdir()
    locked = tree / "locked.py"
    locked.write_text(KERAS_SCRIPT)
    locked.chmod(0o444)
    (tree / "open.py").write_text(KERAS_SCRIPT)
    proc = k2t("convert", "--in-place", str(tree))
    assert proc.returncode == 1
    assert f"{locked}:1:1: K2T001 cannot write {locked}: read-only file; not replaced" in proc.stderr
    assert locked.read_text() == KERAS_SCRIPT and stat.S_IMODE(os.stat(locked).st_mode) == 0o444
    assert converted((tree / "open.py").read_text())
    no_traceback(proc)


# ------------------------------------------------- 3. only regular files, inside the tree, of a sane size
def test_a_fifo_in_a_tree_hangs_nothing(tmp_path):
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "train.py").write_text(KERAS_SCRIPT)
    fifo(tree / "pipe.py")
    for args in (["check", str(tree)], ["convert", str(tree), "-o", str(tmp_path / "out")]):
        proc = subprocess.run(
            [sys.executable, "-m", "k2t", *args, "-v"], capture_output=True, text=True, timeout=60, check=False
        )
        assert proc.returncode == 0, proc.stderr
        assert f"{tree / 'pipe.py'}: a FIFO, not a regular file: skipped" in proc.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["train.py"]


def test_a_fifo_named_on_the_command_line_is_not_read(tmp_path):
    pipe = fifo(tmp_path / "pipe.py")
    proc = subprocess.run(
        [sys.executable, "-m", "k2t", "check", str(pipe)], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 1
    assert proc.stderr.startswith(f"{pipe}:1:1: K2T001 cannot read file: a FIFO, not a regular file")


def test_a_link_out_of_the_tree_is_not_mirrored(tmp_path):
    secret = tmp_path / "hostname"
    secret.write_text("host = 'secret'\n")
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "train.py").write_text(KERAS_SCRIPT)
    (tree / "host.py").symlink_to(secret)
    (tree / "zero.py").symlink_to(os.devnull)  # reading a device through a link: refused before any read
    out = tmp_path / "out"
    proc = k2t("convert", str(tree), "-o", str(out), "--copy-other", "-v")
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in out.iterdir()) == ["train.py"]
    assert "host.py: symlink to" in proc.stderr and "zero.py: symlink to" in proc.stderr


def test_a_file_over_the_size_limit_is_skipped_with_a_diagnostic(tmp_path):
    big = tmp_path / "big.py"
    with open(big, "wb") as handle:
        handle.truncate(11 * 2**20)  # sparse: 11 MiB on paper, nothing on disk
    proc = k2t("check", str(big))
    assert proc.returncode == 1
    assert proc.stderr.startswith(f"{big}:1:1: K2T001 file too large: 11,534,336 bytes, the limit is 10 MiB")


def test_max_size_option_and_stdin(tmp_path):
    source = "x = 1\n" * 200_000  # 1.2 MB of valid Python
    src = tmp_path / "long.py"
    src.write_text(source)
    assert k2t("check", str(src)).returncode == 0
    proc = k2t("check", "--max-size", "1", str(src))
    assert proc.returncode == 1 and "K2T001 file too large: 1,200,000 bytes, the limit is 1 MiB" in proc.stderr
    proc = k2t("convert", "--max-size", "1", "-", stdin=source)
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.startswith("<stdin>:1:1: K2T001 file too large: more than 1,048,576 bytes")


# ----------------------------------------------------- 4. an edit made during an --in-place run survives
def _touching(action):
    """run_all that changes each file on disk after k2t has read it (a user saving in an editor)."""
    real_run_all = batch.run_all

    def run_all_then_edit(tasks, jobs):
        for task, outcome in zip(tasks, real_run_all(tasks, jobs)):
            action(Path(task.path))
            yield outcome

    return run_all_then_edit


def test_in_place_keeps_an_edit_made_after_reading(script, monkeypatch):
    edited = KERAS_SCRIPT + "# saved by the user meanwhile\n"
    monkeypatch.setattr(batch, "run_all", _touching(lambda path: path.write_text(edited)))
    result = CliRunner().invoke(main, ["convert", "--in-place", str(script)])
    assert result.exit_code == 1
    assert f"K2T001 cannot write {script}: {script} changed on disk since k2t read it" in result.stderr
    assert script.read_text() == edited


def test_in_place_does_not_recreate_a_file_deleted_after_reading(script, monkeypatch):
    monkeypatch.setattr(batch, "run_all", _touching(Path.unlink))
    result = CliRunner().invoke(main, ["convert", "--in-place", str(script)])
    assert result.exit_code == 1
    assert "changed on disk since k2t read it" in result.stderr
    assert not script.exists()


def test_mirror_does_not_copy_a_file_changed_after_reading(tmp_path, monkeypatch):
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "plain.py").write_text(PLAIN)
    monkeypatch.setattr(batch, "run_all", _touching(lambda path: path.write_text("import keras\n")))
    result = CliRunner().invoke(main, ["convert", str(tree), "-o", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert "changed on disk since k2t read it" in result.stderr
    assert not (tmp_path / "out" / "plain.py").exists()


# ------------------------------------------------------- 5. OSErrors: located K2T001, never K2T999
def test_report_into_an_unwritable_place_is_one_line_and_exit_1(script, tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("a file, not a directory\n")
    out = tmp_path / "out.py"
    proc = k2t("convert", str(script), "-o", str(out), "--report", str(blocker / "sub" / "r.json"))
    assert proc.returncode == 1
    assert f"k2t: cannot write the report {blocker / 'sub' / 'r.json'}: Not a directory" in proc.stderr
    assert converted(out.read_text())
    assert "k2t: 1 file: 1 converted" in proc.stderr  # the summary is still printed
    no_traceback(proc)


def test_stdin_to_an_unwritable_place_is_a_located_diagnostic(tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("a file, not a directory\n")
    target = blocker / "sub" / "out.py"
    proc = k2t("convert", "-", "-o", str(target), stdin=KERAS_SCRIPT)
    assert proc.returncode == 1
    assert proc.stderr.startswith(f"<stdin>:1:1: K2T001 cannot write {target}: Not a directory")
    no_traceback(proc)


def test_copy_other_failure_is_reported_and_the_other_copies_go_on(tmp_path):
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    for name in ("a.txt", "z.txt", "sub/c.txt"):
        (tree / name).write_text(name)
    (tree / "train.py").write_text(KERAS_SCRIPT)
    out = tmp_path / "out"
    (out / "a.txt").mkdir(parents=True)  # in the way of the first copy
    proc = k2t("convert", str(tree), "-o", str(out), "--copy-other")
    assert proc.returncode == 1
    assert f"{tree / 'a.txt'}:1:1: K2T001 cannot write {out / 'a.txt'}: Is a directory" in proc.stderr
    assert (out / "z.txt").read_text() == "z.txt" and (out / "sub" / "c.txt").read_text() == "sub/c.txt"
    assert converted((out / "train.py").read_text())
    assert proc.stderr.strip().splitlines()[-1] == "k2t: 2 files: 1 converted, 0 unchanged, 1 failed; 1 diagnostic."
    no_traceback(proc)


class _FullDisk:
    """A stdout on a full disk, as /dev/full is: every write fails with ENOSPC."""

    def __init__(self):
        self.buffer = self

    def write(self, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def flush(self):
        pass

    def isatty(self):
        return False

    def fileno(self):
        raise io.UnsupportedOperation("fileno")


def _entry(monkeypatch, *args) -> int:
    monkeypatch.setattr(sys, "argv", ["k2t", *args])
    monkeypatch.setattr(sys, "stdout", _FullDisk())
    with pytest.raises(SystemExit) as exit_:
        entry()
    return exit_.value.code


def test_stdout_on_a_full_disk_is_a_located_diagnostic(script, monkeypatch, capsys):
    assert _entry(monkeypatch, "convert", str(script)) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"{script}:1:1: K2T001 cannot write stdout: No space left on device")
    assert "K2T999" not in err


def test_check_output_on_a_full_disk_is_one_line(script, monkeypatch, capsys):
    assert _entry(monkeypatch, "check", "--format", "json", str(script)) == 1
    assert capsys.readouterr().err == "k2t: cannot write: No space left on device\n"


def _shell(command: str, *args: str):
    """Run k2t from sh, for redirections Python's subprocess cannot express (a closed fd)."""
    return subprocess.run(
        ["sh", "-c", f'exec "$0" -m k2t {command}', sys.executable, *args],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_closed_stdin_and_stdout(script):
    proc = _shell("convert - <&-")
    assert proc.returncode == 1
    assert proc.stderr.startswith("<stdin>:1:1: K2T001 cannot read stdin: it is closed")
    proc = _shell('convert "$1" >&-', str(script))
    assert proc.returncode == 1
    assert proc.stderr.startswith(f"{script}:1:1: K2T001 cannot write stdout: stdout is closed")
    no_traceback(proc)


# ---------------------------------------------------------------- 6. a trailing slash means a directory
def test_output_with_a_trailing_slash_is_a_directory(script, tmp_path):
    proc = k2t("convert", str(script), "-o", f"{tmp_path / 'newdir'}/")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "newdir").is_dir() and converted((tmp_path / "newdir" / "train.py").read_text())


# --------------------------------------------------------------------------------- 7. Ctrl-C exits 130
def _blocked_reading_stdin(pid: int) -> bool:
    """True once the process sits in read(0, ...) (x86-64 syscall 0, arm64 63); False while unknown."""
    try:
        fields = Path(f"/proc/{pid}/syscall").read_text().split()
    except OSError:
        return False
    return len(fields) > 1 and fields[0] in ("0", "63") and int(fields[1], 16) == 0


def test_ctrl_c_exits_130():
    # A shell starts a command with Ctrl-C's default action. A test process may have it ignored (an earlier
    # test in the same worker, a library), which a child inherits and Python then leaves alone.
    proc = subprocess.Popen(
        [sys.executable, "-m", "k2t", "convert", "-"],
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # noqa: PLW1509 (no threads in the child yet)
    )
    try:
        deadline = time.monotonic() + 30
        while not _blocked_reading_stdin(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if not Path(f"/proc/{proc.pid}/syscall").exists():
            time.sleep(5)  # no /proc: give the imports time to finish
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130
    assert err.strip() == "Aborted!"


# --------------------------------------------------- 8. a worker that dies takes only its own file down
def _killed_on_boom(task):
    """batch.process, except that the worker dies on boom.py (as libcst's parser aborted on a 50 MB file)."""
    if Path(task.path).name == "boom.py":
        os.kill(os.getpid(), signal.SIGKILL)
    return _real_process(task)


_real_process = batch.process


@pytest.mark.skipif(
    multiprocessing.get_start_method() != "fork", reason="the patched process reaches the workers only by fork"
)
def test_a_dead_worker_is_replaced_for_the_remaining_files(tmp_path, monkeypatch):
    names = [f"f{i:02}.py" for i in range(12)]
    names[3] = "boom.py"
    for name in names:
        (tmp_path / name).write_text(KERAS_SCRIPT if name == "f07.py" else PLAIN)
    monkeypatch.setattr(batch, "process", _killed_on_boom)
    tasks = [Task(str(tmp_path / name), name, Mode.CHECK) for name in names]
    outcomes = list(run_all(tasks, jobs=2))
    assert [o.report.path for o in outcomes] == names
    statuses = {o.report.path: o.report.status for o in outcomes}
    assert statuses.pop("boom.py") is Status.INTERNAL_ERROR
    assert statuses.pop("f07.py") is Status.CONVERTED
    assert set(statuses.values()) == {Status.UNCHANGED}
    [dead] = [o for o in outcomes if o.report.path == "boom.py"]
    assert "worker process died" in dead.report.error


def test_a_big_file_without_keras_never_builds_a_cst():
    code = (
        "import sys, k2t\n"
        "source = 'def f(x):\\n    return x + 1  # keras-free\\n\\n' * 20_000\n"
        "assert k2t.convert_source(source).output == source\n"
        "print('libcst' in sys.modules)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert proc.stdout.strip() == "False", proc.stderr


# ------------------------------------------------------ 9. GitHub workflow commands cannot be injected
def test_github_annotations_escape_a_newline_in_a_file_name(tmp_path, monkeypatch):
    src = tmp_path / "a\n::error file=x.py::injected.py"
    src.write_text(KERAS_SCRIPT)

    def crash(task, data):
        raise RuntimeError("a bug")

    monkeypatch.setattr(batch, "_convert", crash)
    result = CliRunner().invoke(main, ["check", "--format", "github", str(src)])
    assert result.exit_code == 123
    lines = result.stdout.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("::error file=") and "%0A%3A%3Aerror file=x.py%3A%3Ainjected.py::" in lines[0]
    assert lines[0].endswith("::K2T999 internal error: RuntimeError: a bug")
