"""Benchmark: converted scripts on a busy CPU, with and without the output's OpenMP spin setting.

    python tests/benchmark_busy.py [--runs 3] [fixture ...]

Every converted script sets ``os.environ.setdefault("GOMP_SPINCOUNT", "3000")`` before it imports
torch (k2t/imports.py): GNU OpenMP's threads otherwise spin about 300,000 times waiting for work, and
where other processes hold the cores they take the time slices of the threads that have work. Each
fixture is converted (tests/gpu/prepare.py: with its keras.datasets stand-ins) and run as a whole
script, wall time from start to exit, in four ways: alone, and as two copies at once (the machine
busy with a second training), each with the output's setting and with OpenMP's default (the
environment's GOMP_SPINCOUNT=300000, which the output's setdefault keeps). The median of --runs is
printed per way (a busy run's stalls come and go: the best of a few is luck), and the ratio of the
default to the setting (above 1: the setting is faster). Both scripts of a pair finish before the
pair's time is taken.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "gpu"))

DEFAULT = ["xor", "mnist_cnn", "cifar_style_cnn", "conv_autoencoder", "text_sentiment_lstm"]
GNU_DEFAULT_SPIN = "300000"  # libgomp's spin count where OMP_WAIT_POLICY is unset


def _run(script: Path, copies: int, spin: str | None) -> float:
    """Seconds until ``copies`` runs of ``script`` started at once have all exited."""
    environment = dict(os.environ, TORCH_DEVICE="cpu")
    environment.pop("GOMP_SPINCOUNT", None)
    if spin is not None:
        environment["GOMP_SPINCOUNT"] = spin
    if (script.parent / "keras_home").is_dir():
        environment["KERAS_HOME"] = str(script.parent / "keras_home")
    started = time.perf_counter()
    processes = [
        subprocess.Popen([sys.executable, script.name], cwd=script.parent, env=environment,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for _ in range(copies)
    ]  # fmt: skip
    for process in processes:
        _, error = process.communicate()
        if process.returncode != 0:
            raise SystemExit(f"{script} failed:\n{error.decode(errors='replace')[-2000:]}")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("fixtures", nargs="*", default=DEFAULT)
    parser.add_argument("--runs", type=int, default=5, help="runs of each way; the median is kept (default 5)")
    args = parser.parse_args()
    from prepare import prepare

    print(f"{os.cpu_count()} CPUs; whole-script wall seconds, median of {args.runs}")
    print("| fixture | alone, default | alone, setting | two at once, default | two at once, setting | busy: default / setting |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="k2t-busy-") as folder:
        for script in prepare(Path(folder), args.fixtures):
            times: dict[tuple[int, str | None], list[float]] = {}
            for _ in range(args.runs):  # interleaved, so that a slow moment of the machine hits every way
                for copies in (1, 2):
                    for spin in (GNU_DEFAULT_SPIN, None):
                        times.setdefault((copies, spin), []).append(_run(script, copies, spin))
            ways = {way: statistics.median(seconds) for way, seconds in times.items()}
            cells = [f"{ways[copies, spin]:.2f}" for copies in (1, 2) for spin in (GNU_DEFAULT_SPIN, None)]
            ratio = ways[2, GNU_DEFAULT_SPIN] / ways[2, None]
            print(f"| {script.parent.name} | {' | '.join(cells)} | {ratio:.2f} |", flush=True)


if __name__ == "__main__":
    main()
