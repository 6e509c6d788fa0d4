"""``k2t parity SCRIPT``: run the Keras original and the converted script, each in a subprocess, side by side."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_TIMEOUT = 900.0
OUTPUT_TAIL = 15  # lines of each script's own output shown


def timeout_seconds() -> float:
    try:
        return float(os.environ.get("K2T_PARITY_TIMEOUT", DEFAULT_TIMEOUT))
    except ValueError:
        return DEFAULT_TIMEOUT


def subprocess_env() -> dict[str, str]:
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])  # the folder holding the k2t package
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    env.setdefault("KERAS_BACKEND", "tensorflow")
    env.setdefault("PYTHONIOENCODING", "utf-8")
    return env


@dataclass
class Side:
    name: str
    returncode: int | None = None
    seconds: float = 0.0
    timed_out: bool = False
    status: str = "missing"
    error: str | None = None
    records: list[dict] = field(default_factory=list)
    stdout: str = ""
    stderr: str = ""
    outdir: Path | None = None

    @property
    def ok(self) -> bool:
        return not self.timed_out and self.returncode == 0 and self.status == "ok"

    def array(self, record: dict):
        import numpy as np

        return np.load(self.outdir / record["file"])


def _start(side: str, script: Path, outdir: Path):
    outdir.mkdir(parents=True, exist_ok=True)
    stdout = open(outdir / "stdout.txt", "w+b")  # noqa: SIM115 - closed in _finish
    stderr = open(outdir / "stderr.txt", "w+b")  # noqa: SIM115
    command = [sys.executable, "-m", "k2t.parity.runner", side, str(script), str(outdir)]
    process = subprocess.Popen(
        command, cwd=script.parent, env=subprocess_env(), stdout=stdout, stderr=stderr, stdin=subprocess.DEVNULL
    )
    return process, stdout, stderr


def _finish(
    side: str, process, stdout, stderr, outdir: Path, returncode: int | None, seconds: float, timed_out: bool
) -> Side:
    result = Side(side, returncode=returncode, seconds=seconds, timed_out=timed_out, outdir=outdir)
    for handle, attr in ((stdout, "stdout"), (stderr, "stderr")):
        handle.seek(0)
        setattr(result, attr, handle.read().decode("utf-8", "replace"))
        handle.close()
    try:
        data = json.loads((outdir / "records.json").read_text(encoding="utf-8"))
        result.status, result.error, result.records = data["status"], data.get("error"), data.get("records", [])
    except (OSError, ValueError, KeyError):
        result.status = "missing"
    return result


def run_sides(script: Path, workdir: Path, timeout: float) -> tuple[Side, Side]:
    """Run the Keras script and its conversion in parallel subprocesses, each limited to ``timeout`` seconds."""
    started = time.monotonic()
    names = ("keras", "torch")
    running = {side: _start(side, script, workdir / side) for side in names}
    ended: dict[str, tuple[int | None, float, bool]] = {}
    while len(ended) < len(names):
        now = time.monotonic()
        for side in names:
            if side in ended:
                continue
            process = running[side][0]
            code = process.poll()
            if code is not None:
                ended[side] = (code, now - started, False)
            elif now - started > timeout:
                process.kill()
                process.wait()
                ended[side] = (None, now - started, True)
        time.sleep(0.05)
    return tuple(_finish(side, *running[side], workdir / side, *ended[side]) for side in names)  # type: ignore[return-value]


# ----------------------------------------------------------------------------- comparison


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4f}" if value == 0 or 1e-3 <= abs(value) < 1e5 else f"{value:.3e}"
    if isinstance(value, list):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_fmt(v)}" for k, v in value.items()) + "}"
    return str(value)


def _summary(side: Side) -> str:
    counts = {}
    for record in side.records:
        counts[record["kind"]] = counts.get(record["kind"], 0) + 1
    calls = ", ".join(f"{n} {kind}" for kind, n in counts.items()) or "no fit/evaluate/predict calls"
    if side.timed_out:
        state = "TIMED OUT"
    elif side.ok:
        state = "finished"
    else:
        state = "FAILED"
    return f"{side.name}: {state} in {side.seconds:.1f}s ({calls})"


def _history_table(keras_history: dict, torch_history: dict) -> list[str]:
    keys = list(keras_history) + [k for k in torch_history if k not in keras_history]
    width = max([13, *(len(k) for k in keys)])
    lines = ["    " + f"{'epoch':>5}  " + "  ".join(f"{k:>{width}}" for k in keys)]
    lines.append("    " + f"{'':>5}  " + "  ".join(f"{'keras / torch':>{width}}" for _ in keys))
    epochs = max([0, *(len(v) for v in keras_history.values()), *(len(v) for v in torch_history.values())])
    for epoch in range(epochs):
        cells = []
        for key in keys:
            k = keras_history.get(key, [])
            t = torch_history.get(key, [])
            a = f"{k[epoch]:.4f}" if epoch < len(k) else "-"
            b = f"{t[epoch]:.4f}" if epoch < len(t) else "-"
            cells.append(f"{a + '/' + b:>{width}}")
        lines.append("    " + f"{epoch + 1:>5}  " + "  ".join(cells))
    return lines


def _predictions(keras_side: Side, torch_side: Side, k: dict, t: dict) -> list[str]:
    import numpy as np

    try:
        a, b = keras_side.array(k).astype(np.float64), torch_side.array(t).astype(np.float64)
    except (OSError, ValueError, KeyError) as exc:
        return [f"    could not load the predictions: {exc}"]
    lines = [
        f"    shape: keras {tuple(a.shape)}, torch {tuple(b.shape)}" + ("" if a.shape == b.shape else "  DIFFERENT")
    ]
    if a.shape != b.shape or a.size == 0:
        return lines
    diff = np.abs(a - b)
    lines.append(f"    max abs diff {diff.max():.4g}, mean abs diff {diff.mean():.4g}")
    if a.ndim >= 2 and a.shape[-1] > 1:
        agree = float(np.mean(a.argmax(-1) == b.argmax(-1)))
        lines.append(f"    agreement after argmax: {agree:.2%}")
    elif a.min() >= 0 and a.max() <= 1 and b.min() >= 0 and b.max() <= 1:
        agree = float(np.mean((a > 0.5) == (b > 0.5)))
        lines.append(f"    agreement after thresholding at 0.5: {agree:.2%}")
    else:
        scale = float(np.std(a)) or 1.0
        lines.append(f"    regression outputs: mean abs diff / std(keras) = {diff.mean() / scale:.4g}")
    return lines


def compare(keras_side: Side, torch_side: Side) -> list[str]:
    lines: list[str] = []
    by_kind: dict[str, tuple[list[dict], list[dict]]] = {}
    for side_index, side in enumerate((keras_side, torch_side)):
        for record in side.records:
            by_kind.setdefault(record["kind"], ([], []))[side_index].append(record)
    for kind in ("fit", "evaluate", "predict"):
        keras_records, torch_records = by_kind.get(kind, ([], []))
        if len(keras_records) != len(torch_records):
            lines.append(f"WARNING: {kind} called {len(keras_records)} time(s) by Keras, {len(torch_records)} by torch")
        for n, (k, t) in enumerate(zip(keras_records, torch_records), 1):
            lines.append(
                f'{kind} #{n}: keras "{k["model"]}" ({k["seconds"]:.2f}s) | torch {t["model"]} ({t["seconds"]:.2f}s)'
            )
            if kind == "fit":
                kh, th = k["history"], t["history"]
                if set(kh) == set(th):
                    lines.append(f"    history keys: same ({', '.join(sorted(kh))})")
                else:
                    lines.append(f"    history keys DIFFER: keras {sorted(kh)}, torch {sorted(th)}")
                lines.extend(_history_table(kh, th))
            elif kind == "evaluate":
                lines.append(f"    keras {_fmt(k['result'])}")
                lines.append(f"    torch {_fmt(t['result'])}")
            else:
                lines.extend(_predictions(keras_side, torch_side, k, t))
    return lines


def _tail(text: str, n: int) -> list[str]:
    return [line.rstrip("\r") for line in text.rstrip().splitlines()[-n:]]


def run_normal(script: Path, timeout: float | None = None, document_path: Path | None = None) -> int:
    """Run both scripts and print the comparison; ``document_path``: also write the parity document (JSON) there."""
    from .instrument import convert

    script = Path(script).resolve()
    timeout = timeout_seconds() if timeout is None else timeout
    print(f"k2t parity: {script}")
    conversion = convert(script.read_text(encoding="utf-8"), str(script))
    for diag in conversion.diagnostics:
        print(f"conversion: {diag}")
    if conversion.output is None:
        print("FAIL: the script could not be converted")
        return 1
    with tempfile.TemporaryDirectory(prefix="k2t-parity-") as tmp:
        keras_side, torch_side = run_sides(script, Path(tmp), timeout)
        print(_summary(keras_side))
        print(_summary(torch_side))
        for side in (keras_side, torch_side):
            tail = _tail(side.stdout, OUTPUT_TAIL)
            if tail:
                print(f"--- {side.name} script output (last {len(tail)} lines) ---")
                for line in tail:
                    print(f"[{side.name}] {line}")
        print("--- comparison ---")
        for line in compare(keras_side, torch_side):
            print(line)
        failed = [side for side in (keras_side, torch_side) if not side.ok]
        failures = []
        for side in failed:
            if side.timed_out:
                failures.append(f"the {side.name} run took more than {timeout:g}s (K2T_PARITY_TIMEOUT)")
                print(f"FAIL: {failures[-1]}")
            else:
                error = side.error or "\n".join(_tail(side.stderr, 20)) or f"exit code {side.returncode}"
                failures.append(
                    f"the {side.name} run failed: {error.rstrip().splitlines()[-1] if error.strip() else ''}"
                )
                print(f"FAIL: the {side.name} run failed:")
                for line in error.rstrip().splitlines()[-20:]:
                    print(f"  {line}")
        if document_path is not None:  # while the predictions' arrays are still on disk
            from .document import from_run, write_json

            diagnostics = [str(diag) for diag in conversion.diagnostics]
            write_json(from_run(script, diagnostics, keras_side, torch_side, failures), document_path)
        if failed:
            return 1
    print("OK: both scripts ran")
    return 0


def run_exact_subprocess(
    script: Path, epochs: int, timeout: float | None = None, document_path: Path | None = None
) -> int:
    """The --exact comparison in a child process (so a hung script can be stopped); ``document_path``: where the
    child writes the parity document (JSON)."""
    script = Path(script).resolve()
    timeout = timeout_seconds() if timeout is None else timeout
    command = [sys.executable, "-m", "k2t.parity.runner", "exact", str(script), str(epochs)]
    if document_path is not None:
        command.append(str(document_path))
    try:
        done = subprocess.run(
            command,
            check=False,
            cwd=script.parent,
            env=subprocess_env(),
            capture_output=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as exc:
        print(f"k2t parity --exact: {script}")
        print(f"FAIL: took more than {timeout:g}s (K2T_PARITY_TIMEOUT)")
        if exc.stdout:
            print(exc.stdout.decode("utf-8", "replace"))
        return 1
    sys.stdout.write(done.stdout.decode("utf-8", "replace"))
    if done.returncode not in (0, 1):
        print(f"FAIL: the parity process exited with code {done.returncode}")
        for line in _tail(done.stderr.decode("utf-8", "replace"), 30):
            print(f"  {line}")
        return 1
    return done.returncode
