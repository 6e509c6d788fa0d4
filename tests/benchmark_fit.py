"""Benchmark: converted PyTorch training vs Keras's own fit, same machine, same run.

    python tests/benchmark_fit.py [--epochs 5] [--compile] [fixture ...]

For each fixture, both scripts run in this process up to their first fit call
(k2t.parity's capture): the Keras model and data, and the converted torch
module, optimizer and data. Each side then trains one warm-up epoch (Keras
traces its train function there) and is timed over --epochs epochs with the
script's batch size, verbose=0 and no validation. Prints seconds per epoch
and the ratio torch / Keras (below 1: the conversion is faster). With --compile, the conversion made by
`k2t convert --compile` is timed too (its warm-up epoch compiles; the compile time is printed apart).

A fixture whose fit reads batches (a tf.data pipeline, a generator, a Sequence, an
ImageDataGenerator flow) is timed on them as the script made them: each side calls its own
fit on its own pipeline (rows and batch then show "-"). Loading data is part of the
timing: that is what such a fixture measures. keras.datasets are read from small
stand-ins in a temporary Keras cache (tests/fake_keras_datasets.py), and Keras 2's APIs
that Keras 3 removed run as Keras 2 defined them (tests/keras2_api.py).
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # the dataset stand-ins and Keras 2's APIs
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


# fit's arguments left out of the timing: validation and callbacks (and what only they read).
_NOT_TIMED = (
    "validation_data",
    "validation_split",
    "validation_steps",
    "validation_freq",
    "validation_batch_size",
    "callbacks",
)


def _is_arrays(x) -> bool:
    import numpy as np

    first = next(iter(x.values())) if isinstance(x, dict) else x[0] if isinstance(x, (list, tuple)) and x else x
    return isinstance(first, np.ndarray) or isinstance(x, np.ndarray)


def _timed_fit(captured, epochs: int) -> float:
    """Seconds per epoch of the captured fit call made again as the script made it (its own data
    pipeline), for one warm-up epoch and then ``epochs``, silent and without validation."""
    kwargs = {key: value for key, value in captured.kwargs.items() if key not in _NOT_TIMED}
    captured.function(*captured.args, **{**kwargs, "epochs": 1, "verbose": 0})
    started = time.perf_counter()
    captured.function(*captured.args, **{**kwargs, "epochs": epochs, "verbose": 0})
    return (time.perf_counter() - started) / epochs


@contextmanager
def _keras_cache(conversion) -> Iterator[None]:
    """Stand-ins of the keras.datasets files the script loads, in a temporary Keras cache where Keras
    (already imported) and the converted script look; the converted script expects their hashes."""
    from fake_keras_datasets import GENERATED_FUNCTIONS, stand_in_hashes, with_stand_in_hashes, write_stand_ins

    datasets = [dataset for dataset, function in GENERATED_FUNCTIONS.items() if f"def {function}(" in conversion.output]
    if not datasets:
        yield
        return
    from keras.src.backend import config
    from keras.src.utils import file_utils

    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder)
        write_stand_ins(home, datasets)
        hashes = stand_in_hashes(home)
        conversion.output = with_stand_in_hashes(conversion.output, home)
        saved = (config._KERAS_DIR, file_utils.validate_file, os.environ.get("KERAS_HOME"))
        check = file_utils.validate_file
        config._KERAS_DIR, os.environ["KERAS_HOME"] = str(home), str(home)
        file_utils.validate_file = lambda path, file_hash, **options: check(
            path, hashes.get(file_hash, file_hash), **options
        )
        try:
            yield
        finally:
            config._KERAS_DIR, file_utils.validate_file = saved[0], saved[1]
            if saved[2] is None:
                os.environ.pop("KERAS_HOME", None)
            else:
                os.environ["KERAS_HOME"] = saved[2]


def bench_one(name: str, epochs: int, torch_compile: bool = False) -> tuple:
    """(rows, batch, Keras s/epoch, torch s/epoch) and, with ``torch_compile``, (compiled s/epoch, its warm-up s)."""
    import torch
    from keras2_api import keras2_api

    from k2t.parity.instrument import convert

    path = ROOT / "fixtures" / name / "input.py"
    source = path.read_text(encoding="utf-8")
    conversion = convert(source, str(path))
    threads = torch.get_num_threads()
    try:
        with keras2_api(), _keras_cache(conversion):
            timings = _bench(source, path, conversion, epochs)
        if not torch_compile:
            return timings
        compiled = convert(source, str(path), torch_compile=True)
        torch.set_num_threads(threads)
        with keras2_api(), _keras_cache(compiled):
            return timings + _bench_torch(compiled, path, epochs)
    finally:
        torch.set_num_threads(threads)  # a converted script may choose one thread for itself (k2t.emit.one_thread)


def _bench_torch(conversion, path: Path, epochs: int) -> tuple[float, float]:
    """(s/epoch, warm-up epoch s) of the conversion's first fit made again as the script made it."""
    from k2t.parity.capture import capture_first, run_torch

    captured = capture_first(run_torch, conversion, path, output=io.StringIO())
    kwargs = {key: value for key, value in captured.kwargs.items() if key not in _NOT_TIMED}
    started = time.perf_counter()
    captured.function(*captured.args, **{**kwargs, "epochs": 1, "verbose": 0})
    warm_up = time.perf_counter() - started
    started = time.perf_counter()
    captured.function(*captured.args, **{**kwargs, "epochs": epochs, "verbose": 0})
    return (time.perf_counter() - started) / epochs, warm_up


def _bench(source: str, path: Path, conversion, epochs: int) -> tuple[int | str, int | str, float, float]:
    from k2t.parity.capture import capture_first, run_keras, run_torch

    sink = io.StringIO()
    keras_call = capture_first(run_keras, source, path, output=sink)
    model = keras_call.args[0]
    x, y = _argument(keras_call, 1, "x"), _argument(keras_call, 2, "y")
    if not _is_arrays(x):  # batches from a dataset or a generator: each side's own pipeline
        keras_time = _timed_fit(keras_call, epochs)
        torch_time = _timed_fit(capture_first(run_torch, conversion, path, output=sink), epochs)
        return "-", "-", keras_time, torch_time
    batch_size = _argument(keras_call, 3, "batch_size") or 32
    model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0)
    started = time.perf_counter()
    model.fit(x, y, batch_size=batch_size, epochs=epochs, verbose=0)
    keras_time = (time.perf_counter() - started) / epochs

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
    parser.add_argument(
        "--compile", action="store_true", help="also time the conversion made with k2t convert --compile"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="threads for torch and for TensorFlow's ops (on a busy machine, 1: threads that wait for a core stall tiny ops)",
    )
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf
    import torch

    if args.threads is not None:
        torch.set_num_threads(args.threads)
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)

    print(
        f"torch {torch.__version__} ({torch.get_num_threads()} threads), tensorflow {tf.__version__}, {os.cpu_count()} CPUs"
    )
    compiled_header = f"{'compiled s/epoch':>18}{'compiled/keras':>16}{'compile s':>11}" if args.compile else ""
    print(
        f"{'fixture':<28}{'rows':>6}{'batch':>7}{'keras s/epoch':>15}{'torch s/epoch':>15}{'torch/keras':>13}{compiled_header}"
    )
    ratios, compiled_ratios = [], []
    for name in args.fixtures:
        rows, batch, keras_time, torch_time, *compiled = bench_one(name, args.epochs, args.compile)
        ratios.append(torch_time / keras_time)
        line = f"{name:<28}{rows:>6}{batch:>7}{keras_time:>15.4f}{torch_time:>15.4f}{ratios[-1]:>13.2f}"
        if compiled:
            compiled_ratios.append(compiled[0] / keras_time)
            line += f"{compiled[0]:>18.4f}{compiled_ratios[-1]:>16.2f}{compiled[1]:>11.1f}"
        print(line)
    print(f"geometric mean torch/keras: {_geometric_mean(ratios):.2f}, median {sorted(ratios)[len(ratios) // 2]:.2f}")
    if compiled_ratios:
        print(f"geometric mean compiled/keras: {_geometric_mean(compiled_ratios):.2f}")
    return 0


def _geometric_mean(values: list[float]) -> float:
    product = 1.0
    for value in values:
        product *= value
    return product ** (1 / len(values))


if __name__ == "__main__":
    sys.exit(main())
