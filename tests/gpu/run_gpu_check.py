"""Run converted scripts on CUDA and on the CPU, and check that they train on the GPU and agree.

How to run: on a machine with an NVIDIA GPU, Python, torch and numpy (nothing else: no k2t, Keras,
TensorFlow or network), in a folder that ``tests/gpu/prepare.py`` wrote on any machine with k2t
(one sub-folder per converted fixture: ``script.py`` and the data it reads):

    python tests/gpu/run_gpu_check.py gpu_check/

(the folder also holds a copy of this file: ``python gpu_check/run_gpu_check.py gpu_check/``).
Each script runs twice, each time in a fresh interpreter and from a scratch copy of its folder (the
checkpoints of one run never reach the other): with TORCH_DEVICE=cuda and with TORCH_DEVICE=cpu,
through runpy, with nothing patched. TF32 is off in both runs (PyTorch lets cuDNN convolutions use
TF32 by default), so the two runs compute in float32 and differ only in the order of their sums. The
check asserts that the cuda run left every model's parameters on cuda and allocated CUDA memory
(torch.cuda.max_memory_allocated() > 0), and the cpu run none; then that every history value, and
every float number or array the script leaves in its globals (evaluate results, predictions),
agrees: |cuda - cpu| <= 1e-3 + 1e-2 * |cpu| (1e-3 + 2**-5 * |cpu| under a bfloat16 autocast). A script
with random layers (Dropout, noise) draws other random numbers on CUDA than on the CPU: there only the
final training loss is compared, within 25 % (only where the models were, for a script that keeps no
History). It prints one line per script with the largest difference, and exits 0 when all pass.
``--jobs N`` checks N scripts at once (their CPU threads shared out). ``--against cpu`` runs the whole
check on a machine without a GPU (cpu against cpu: the harness itself, not the GPU).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# |cuda - cpu| <= ATOL + RTOL * |cpu| for scripts without random layers.
ATOL, RTOL = 1e-3, 1e-2
# A script under a bfloat16 autocast (Keras's mixed_bfloat16): 8 significant bits, up to 4 roundings per
# value on each side (tests/test_precision.py); float16's bound (2 * 4 * 2**-11) is within RTOL.
BFLOAT16_RTOL = 2 * 4 * 2.0**-8
# Scripts with random layers: the final training loss within this fraction of the cpu run's.
RANDOM_RTOL = 0.25
RUN_TIMEOUT_S = 300
# CPU threads of each run when several scripts are checked at once (--jobs): the cores shared out.
THREADS = 0
# Layers that draw random numbers while training: CUDA's generator is not the CPU's.
RANDOM_LAYERS = re.compile(r"nn\.(Alpha)?Dropout\d?d?\(|dropout=(?:0*\.\d*[1-9]|0*[1-9])|randn_like|bernoulli")


# ---------------------------------------------------------------- one run (a child interpreter)


def _float32_without_tf32(torch) -> None:
    """Full float32 matmuls, convolutions and RNNs on CUDA (only the new API from torch 2.9: mixing raises)."""
    if hasattr(torch.backends, "fp32_precision"):
        torch.backends.fp32_precision = "ieee"
        torch.backends.cuda.matmul.fp32_precision = "ieee"
        torch.backends.cudnn.fp32_precision = "ieee"
        torch.backends.cudnn.conv.fp32_precision = "ieee"
        torch.backends.cudnn.rnn.fp32_precision = "ieee"
    else:
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.benchmark = False  # the same algorithms every run


def run_one(folder: Path, device: str, result_path: Path) -> None:
    """Run folder/script.py as __main__ on ``device`` and write what it left behind to ``result_path``."""
    os.environ["TORCH_DEVICE"] = device
    if (folder / "keras_home").is_dir():
        os.environ["KERAS_HOME"] = str(folder / "keras_home")  # the dataset stand-ins prepare.py staged
    import runpy

    import numpy as np
    import torch

    _float32_without_tf32(torch)
    # Both runs start from the same generators: a script that seeds them itself overrides this, one
    # that does not (the classic mnist_mlp.py) would otherwise start from other weights each run.
    import random

    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)
    os.chdir(folder)
    sys.argv = ["script.py"]
    started = time.perf_counter()
    namespace = runpy.run_path("script.py", run_name="__main__")
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    seconds = time.perf_counter() - started

    models, histories, values, arrays = {}, {}, {}, {}
    for name, value in namespace.items():
        if name.startswith("__"):
            continue
        if isinstance(value, torch.nn.Module):
            models[name] = sorted({tensor.device.type for tensor in [*value.parameters(), *value.buffers()]})
        elif isinstance(getattr(value, "history", None), dict):
            histories[name] = {key: [float(v) for v in seq] for key, seq in value.history.items()}
        elif isinstance(value, (float, np.floating)):
            values[name] = float(value)
        elif isinstance(value, (list, tuple)) and value and all(isinstance(v, (float, np.floating)) for v in value):
            values.update({f"{name}[{i}]": float(v) for i, v in enumerate(value)})  # evaluate()'s [loss, *metrics]
        elif isinstance(value, np.ndarray) and value.dtype.kind == "f" and value.size <= 1_000_000:
            arrays[name] = value
    np.savez(result_path.with_suffix(".npz"), **arrays)
    result = {
        "device": device,
        "seconds": seconds,
        "models": models,
        "histories": histories,
        "values": values,
        "cuda_bytes": torch.cuda.max_memory_allocated() if torch.cuda.is_available() else 0,
        "torch": torch.__version__,
    }
    result_path.write_text(json.dumps(result), encoding="utf-8")


# ---------------------------------------------------------------- the check (the parent)


def _start(folder: Path, device: str, scratch: Path, role: str) -> tuple[subprocess.Popen, Path, Path]:
    """Start one run of ``folder`` on ``device`` from a copy in ``scratch`` (``role`` names the copy:
    both runs are on the cpu when the harness is tested); its output goes to files, not pipes."""
    work = scratch / f"{folder.name}-{role}"
    shutil.copytree(folder, work)
    result_path = scratch / f"{folder.name}-{role}.json"
    command = [sys.executable, str(Path(__file__).resolve()), "--run", str(work), device, str(result_path)]
    log = scratch / f"{folder.name}-{role}.log"
    environment = dict(os.environ, **({"OMP_NUM_THREADS": str(THREADS)} if THREADS else {}))
    with open(log, "w", encoding="utf-8") as output:  # the child keeps its own handle
        return subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=environment), result_path, log


def _finish(proc: subprocess.Popen, result_path: Path, log: Path, deadline: float) -> tuple[dict | None, dict, str]:
    """(result, arrays, the end of its output on failure) of a run _start began."""
    import numpy as np

    try:
        proc.wait(timeout=max(deadline - time.monotonic(), 1))
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return None, {}, f"timed out after {RUN_TIMEOUT_S} s"
    if proc.returncode != 0 or not result_path.exists():
        return None, {}, log.read_text(encoding="utf-8", errors="replace")[-2000:]
    with np.load(result_path.with_suffix(".npz")) as stored:
        arrays = {name: stored[name] for name in stored.files}
    return json.loads(result_path.read_text(encoding="utf-8")), arrays, ""


def _worst(cpu, other, rtol: float = RTOL) -> float:
    """The largest |other - cpu| / (ATOL + rtol * |cpu|): at most 1 is agreement."""
    import numpy as np

    cpu, other = np.asarray(cpu, dtype=np.float64), np.asarray(other, dtype=np.float64)
    if cpu.shape != other.shape:
        return math.inf
    if not (np.isfinite(cpu).all() and np.isfinite(other).all()):
        return 0.0 if np.array_equal(np.isnan(cpu), np.isnan(other)) and np.allclose(cpu, other, equal_nan=True) else math.inf
    if cpu.size == 0:
        return 0.0
    return float((np.abs(other - cpu) / (ATOL + rtol * np.abs(cpu))).max())


def compare(name: str, random_layers: bool, rtol: float, cpu: dict, cpu_arrays: dict, other: dict, other_arrays: dict, against: str) -> tuple[list[str], str]:
    """(failures, a summary of the differences) of one script's two runs."""
    failures = []
    notes = []
    for label, result, device in (("cpu run", cpu, "cpu"), (f"{against} run", other, against)):
        if not result["models"] and label == "cpu run":  # models made and dropped inside functions (a wrapper's)
            notes.append("no torch module in the script's globals: for the models, only CUDA's memory use is checked")
        for model, devices in result["models"].items():
            if devices and devices != [device]:
                failures.append(f"{label}: {model} has tensors on {devices}, not {device}")
    if against == "cuda" and not other["cuda_bytes"] > 0:
        failures.append("cuda run: torch.cuda.max_memory_allocated() == 0")
    if cpu["cuda_bytes"] > 0:
        failures.append("cpu run allocated CUDA memory")

    if random_layers:
        losses = [(key, history["loss"][-1], other["histories"].get(key, {}).get("loss", [math.nan])[-1])
                  for key, history in cpu["histories"].items() if history.get("loss")]
        if not losses:  # a script that keeps no History (the classic examples): where its models are, only
            return failures, "random layers and no History kept: only where the models were is checked"
        worst = 0.0
        for key, cpu_loss, other_loss in losses:
            ratio = abs(other_loss - cpu_loss) / abs(cpu_loss) if cpu_loss else abs(other_loss)
            worst = max(worst, ratio) if math.isfinite(ratio) else math.inf
            if not ratio <= RANDOM_RTOL:
                failures.append(f"{key}: final loss {other_loss:.6g} on {against} vs {cpu_loss:.6g} on cpu (> {RANDOM_RTOL:.0%})")
        return failures, f"random layers: final loss differs by {worst:.2%} at most" + (f"; note: {'; '.join(notes)}" if notes else "")

    worst, where = 0.0, ""
    def check(label: str, cpu_value, other_value) -> None:
        nonlocal worst, where
        score = _worst(cpu_value, other_value, rtol)
        if score > worst:
            worst, where = score, label
        if not score <= 1:
            failures.append(f"{label}: {against} {_short(other_value)} vs cpu {_short(cpu_value)}")

    for key, history in cpu["histories"].items():
        theirs = other["histories"].get(key)
        if theirs is None:
            failures.append(f"history {key} missing from the {against} run")
            continue
        for metric, values in history.items():
            other_values = theirs.get(metric, [])
            common = min(len(values), len(other_values))
            if len(values) != len(other_values):
                notes.append(f"{key}.{metric}: {len(other_values)} epochs on {against}, {len(values)} on cpu")
            check(f"{key}.history[{metric!r}]", values[:common], other_values[:common])
    for key, value in cpu["values"].items():
        if key in other["values"]:
            check(key, value, other["values"][key])
    for key, array in cpu_arrays.items():
        if key in other_arrays:
            check(key, array, other_arrays[key])
    compared = f"{len(cpu['histories'])} histories, {len(cpu['values'])} numbers, {len(cpu_arrays)} arrays"
    summary = f"{compared}: " + (f"largest difference {worst:.3g} of the tolerance ({where})" if worst else "identical")
    summary += f"; note: {'; '.join(notes)}" if notes else ""
    return failures, summary


def _short(value) -> str:
    text = repr(value if not hasattr(value, "tolist") else value.tolist())
    return text if len(text) <= 80 else text[:77] + "..."


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, nargs="?", help="the folder tests/gpu/prepare.py wrote")
    parser.add_argument("--against", default="cuda", help="the device compared with cpu (default cuda; cpu tests the harness)")
    parser.add_argument("--only", default="", help="comma-separated script folders to run (default: all)")
    parser.add_argument("--jobs", type=int, default=1, help="scripts checked at once (default 1; each uses two processes)")
    parser.add_argument("--run", nargs=3, metavar=("FOLDER", "DEVICE", "RESULT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        run_one(Path(args.run[0]), args.run[1], Path(args.run[2]))
        return 0
    if args.folder is None:
        parser.error("the folder tests/gpu/prepare.py wrote is required")

    import torch

    if args.against == "cuda" and not torch.cuda.is_available():
        print("no CUDA device: nothing to check (use --against cpu to test the harness)", file=sys.stderr)
        return 2
    if args.against == "cuda":
        print(f"torch {torch.__version__}, {torch.cuda.get_device_name()}, TF32 off in both runs")
    only = {name for name in args.only.split(",") if name}
    folders = sorted(p for p in args.folder.resolve().iterdir() if (p / "script.py").is_file() and (not only or p.name in only))
    if not folders:
        print(f"no */script.py under {args.folder}", file=sys.stderr)
        return 2
    if args.jobs > 1:
        global THREADS
        THREADS = max(1, (os.cpu_count() or 2) // (2 * args.jobs))
    failed = 0
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="k2t-gpu-check-") as scratch:
        def check_one(folder: Path) -> tuple[list[str], str]:
            random_layers = bool(RANDOM_LAYERS.search((folder / "script.py").read_text(encoding="utf-8")))
            # The two runs at once: the cpu one keeps the cores busy while the other waits on the GPU.
            runs = [_start(folder, "cpu", Path(scratch), "reference"), _start(folder, args.against, Path(scratch), "checked")]
            deadline = time.monotonic() + RUN_TIMEOUT_S
            (cpu, cpu_arrays, cpu_error), (other, other_arrays, other_error) = (_finish(*run, deadline) for run in runs)
            if cpu is None or other is None:
                failures = [f"cpu run failed:\n{cpu_error}"] if cpu is None else []
                failures += [f"{args.against} run failed:\n{other_error}"] if other is None else []
                return failures, "did not run"
            text = (folder / "script.py").read_text(encoding="utf-8")
            rtol = BFLOAT16_RTOL if "dtype=torch.bfloat16)" in text else RTOL
            failures, summary = compare(folder.name, random_layers, rtol, cpu, cpu_arrays, other, other_arrays, args.against)
            return failures, summary + f" [{other['seconds']:.1f} s on {args.against}, {cpu['seconds']:.1f} s on cpu]"

        # --jobs N checks N scripts at once (each run is a process of its own; threads only wait on them).
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=max(args.jobs, 1)) as pool:
            for folder, (failures, summary) in zip(folders, pool.map(check_one, folders)):
                failed += bool(failures)
                print(f"{'FAIL' if failures else 'ok  '} {folder.name}: {summary}", flush=True)
                for failure in failures:
                    print("     " + failure.replace("\n", "\n     "), flush=True)
    print(f"{len(folders) - failed}/{len(folders)} scripts pass ({time.perf_counter() - started:.0f} s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
