"""Run converted scripts in forks of a process that has imported torch already.

A converted script run as a fresh `python script.py` spends 1.5-2.5 s importing torch before its own
work: about half of what the suite's ~60 runs of converted scripts cost. Each test worker starts one
server (lazily) that imports torch and NumPy, blocks Keras and TensorFlow (conftest.BLOCK_KERAS), then
forks a child per script: the child changes to the script's folder, takes its environment, sends its
output to files, and runs the script as `__main__`, as `python script.py` would.

The server starts no thread before it forks (torch creates its thread pools at the first operation), and
runs with the same environment a fresh process would get for what is read at start (PYTHONHASHSEED,
OMP_NUM_THREADS). K2T_TEST_FRESH_PROCESSES=1, or a platform without fork, runs each script in a fresh
process instead.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

SERVER = r"""
import json, os, runpy, signal, sys, time, traceback
for name in ("keras", "tensorflow", "k2t", "tf_keras"):
    sys.modules[name] = None  # import raises ImportError, as if not installed
import urllib.request
def no_download(url, *args, **kwargs):
    raise RuntimeError(f"a test script may not download {url}")
urllib.request.urlretrieve = no_download
import numpy
import torch
protocol = os.fdopen(os.dup(1), "w")
base_path = list(sys.path)
for line in sys.stdin:
    request = json.loads(line)
    child = os.fork()
    if child == 0:
        code = 0
        try:
            out = os.open(request["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            err = os.open(request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            os.dup2(os.open(os.devnull, os.O_RDONLY), 0)  # the server's stdin carries the requests
            sys.stdin = open(os.devnull)
            os.dup2(out, 1)
            os.dup2(err, 2)
            os.chdir(request["cwd"])
            os.environ.clear()
            os.environ.update(request["env"])
            sys.argv = [request["script"]]
            sys.path[:] = [os.path.dirname(os.path.abspath(request["script"]))] + base_path[1:]
            runpy.run_path(request["script"], run_name="__main__")
        except SystemExit as exit:
            code = exit.code if isinstance(exit.code, int) else (0 if exit.code is None else 1)
            if not isinstance(exit.code, (int, type(None))):
                print(exit.code, file=sys.stderr)
        except BaseException:
            traceback.print_exc()
            code = 1
        finally:
            try:  # what the interpreter does at exit: wait for the script's threads, then its atexit functions
                import atexit, threading
                threading._shutdown()
                atexit._run_exitfuncs()
                sys.stdout.flush()
                sys.stderr.flush()
            finally:
                os._exit(code)
    deadline = time.monotonic() + request["timeout"]
    while True:
        done, status = os.waitpid(child, os.WNOHANG)
        if done:
            reply = {"returncode": os.waitstatus_to_exitcode(status)}
            break
        if time.monotonic() > deadline:
            os.kill(child, signal.SIGKILL)
            os.waitpid(child, 0)
            reply = {"timeout": True}
            break
        time.sleep(0.005)
    protocol.write(json.dumps(reply) + "\n")
    protocol.flush()
"""

_lock = threading.Lock()
_server: subprocess.Popen | None = None


def _start(env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", SERVER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tempfile.gettempdir(),
    )


def usable() -> bool:
    return hasattr(os, "fork") and os.environ.get("K2T_TEST_FRESH_PROCESSES") != "1"


def run(script: Path, env: dict[str, str], timeout: int) -> subprocess.CompletedProcess:
    """`python script` (with Keras blocked) in a fork of the server: the script's folder as its working
    directory and first import path, ``env`` as its environment."""
    with _lock:
        try:
            return _run(script, env, timeout)
        except _ServerDied:  # killed from outside (the machine short of memory): once more on a new server
            return _run(script, env, timeout)


class _ServerDied(RuntimeError):
    pass


def _run(script: Path, env: dict[str, str], timeout: int) -> subprocess.CompletedProcess:
    global _server
    with tempfile.TemporaryDirectory() as folder:
        if _server is None or _server.poll() is not None:
            _server = _start(env)
        request = {
            "script": str(script),
            "cwd": str(script.parent),
            "env": env,
            "timeout": timeout,
            "stdout": os.path.join(folder, "stdout"),
            "stderr": os.path.join(folder, "stderr"),
        }
        assert _server.stdin is not None and _server.stdout is not None
        try:
            _server.stdin.write(json.dumps(request) + "\n")
            _server.stdin.flush()
            line = _server.stdout.readline()
        except (BrokenPipeError, OSError):
            line = ""
        if not line:
            _server = None
            raise _ServerDied("the test fork server died")
        reply = json.loads(line)
        stdout = Path(request["stdout"]).read_text(errors="replace") if Path(request["stdout"]).exists() else ""
        stderr = Path(request["stderr"]).read_text(errors="replace") if Path(request["stderr"]).exists() else ""
        if reply.get("timeout"):
            raise subprocess.TimeoutExpired([sys.executable, str(script)], timeout, stdout, stderr)
        return subprocess.CompletedProcess([sys.executable, str(script)], reply["returncode"], stdout, stderr)
