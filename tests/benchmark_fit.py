"""Benchmark: converted PyTorch training vs Keras's own fit, same machine, same run.

    python tests/benchmark_fit.py [--epochs 5] [fixture ...]

For each fixture, both scripts run in this process up to their first fit call
(k2t.parity's capture): the Keras model and data, and the converted torch
module, optimizer and data. Each side then trains one warm-up epoch (Keras
traces its train function there) and is timed over --epochs epochs with the
script's batch size, verbose=0 and no validation. Prints seconds per epoch
and the ratio torch / Keras (below 1: the conversion is faster).
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT = [
    "xor",
    "loan_approval",
    "iris_like_multiclass",
    "sparse_multiclass",
    "house_regression",
    "sequential_add",
    "batchnorm_mlp",
    "aliases",
    "rings_activations",
    "label_smoothing",
    "linear_regression_1d",
]


def _argument(captured, index, name, default=None):
    if len(captured.args) > index:
        return captured.args[index]
    return captured.kwargs.get(name, default)


def bench_one(name: str, epochs: int) -> tuple[int, int, float, float]:
    from k2t.parity.capture import capture_first, run_keras, run_torch
    from k2t.parity.instrument import convert

    path = ROOT / "fixtures" / name / "input.py"
    source = path.read_text(encoding="utf-8")
    sink = io.StringIO()

    keras_call = capture_first(run_keras, source, path, output=sink)
    model = keras_call.args[0]
    x, y = _argument(keras_call, 1, "x"), _argument(keras_call, 2, "y")
    batch_size = _argument(keras_call, 3, "batch_size") or 32
    model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0)
    started = time.perf_counter()
    model.fit(x, y, batch_size=batch_size, epochs=epochs, verbose=0)
    keras_time = (time.perf_counter() - started) / epochs

    conversion = convert(source, str(path))
    torch_call = capture_first(run_torch, conversion, path, output=sink)
    fit = torch_call.function
    module, optimizer = torch_call.args[0], torch_call.args[1]
    tx, ty = _argument(torch_call, 2, "x"), _argument(torch_call, 3, "y")
    fit(module, optimizer, tx, ty, batch_size=batch_size, epochs=1, verbose=0)
    started = time.perf_counter()
    fit(module, optimizer, tx, ty, batch_size=batch_size, epochs=epochs, verbose=0)
    torch_time = (time.perf_counter() - started) / epochs
    first = next(iter(x.values())) if isinstance(x, dict) else x[0] if isinstance(x, (list, tuple)) else x
    return len(first), batch_size, keras_time, torch_time


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("fixtures", nargs="*", default=DEFAULT)
    parser.add_argument("--epochs", type=int, default=5)
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf
    import torch

    print(f"torch {torch.__version__} ({torch.get_num_threads()} threads), tensorflow {tf.__version__}, {os.cpu_count()} CPUs")
    print(f"{'fixture':<22}{'rows':>6}{'batch':>7}{'keras s/epoch':>15}{'torch s/epoch':>15}{'torch/keras':>13}")
    ratios = []
    for name in args.fixtures:
        rows, batch, keras_time, torch_time = bench_one(name, args.epochs)
        ratios.append(torch_time / keras_time)
        print(f"{name:<22}{rows:>6}{batch:>7}{keras_time:>15.4f}{torch_time:>15.4f}{ratios[-1]:>13.2f}")
    geo = 1.0
    for r in ratios:
        geo *= r
    print(f"geometric mean torch/keras: {geo ** (1 / len(ratios)):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
