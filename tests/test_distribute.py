"""tf.distribute strategies become DistributedDataParallel launched by torchrun (k2t.translate.distribute).

The converted script runs as one process (one replica: the single-device translation) or under
``torchrun --nproc_per_node=N``; two processes on the same global batches must train the same weights
and log the same history as one, and one process must match Keras under MirroredStrategy.
"""

import ast
import contextlib
import csv
import io
import json
import os
import socket
import subprocess
import sys
import textwrap

import pytest
from conftest import requires_keras, requires_torch, run_standalone
from undefined import assert_no_undefined_names

import k2t

MIRRORED = textwrap.dedent(
    """\
    import json

    import numpy as np
    import tensorflow as tf
    from tensorflow import keras
    from tensorflow.keras import layers

    keras.utils.set_random_seed(0)
    strategy = tf.distribute.MirroredStrategy()
    print("replicas:", strategy.num_replicas_in_sync)
    GLOBAL_BATCH_SIZE = 12 * 2

    rng = np.random.default_rng(0)
    x = rng.normal(size=(96, 6)).astype("float32")
    y = (x[:, 0] - x[:, 1] > 0).astype("float32")

    with strategy.scope():
        model = keras.Sequential([keras.Input(shape=(6,)), layers.Dense(8, activation="tanh"), layers.Dense(1, activation="sigmoid")])
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.05), loss="binary_crossentropy", metrics=["accuracy"])

    callbacks = [
        keras.callbacks.ModelCheckpoint("best.weights.h5", save_best_only=True, save_weights_only=True),
        keras.callbacks.CSVLogger("log.csv"),
    ]
    history = model.fit(x, y, epochs=3, batch_size=GLOBAL_BATCH_SIZE, validation_split=0.25, verbose=2, callbacks=callbacks)
    print("HISTORY " + json.dumps(history.history))
    model.save_weights("trained.weights.h5")
    """
)


def _convert(source: str):
    return k2t.convert_source(source, "train.py")


def _names(code: str) -> set[str]:
    return {node.id for node in ast.walk(ast.parse(code)) if isinstance(node, ast.Name)}


def _codes(result) -> list[str]:
    return [d.format() for d in result.diagnostics]


# ------------------------------------------------------------------ conversion


def test_scope_is_unwrapped_and_replicas_are_the_world_size():
    result = _convert(MIRRORED)
    assert result.ok and not result.diagnostics, _codes(result)
    out = result.output
    module = ast.parse(out)
    assert "strategy" not in _names(out) and "tf" not in _names(out) and "tensorflow" not in out
    assert not any(isinstance(statement, ast.With) for statement in module.body)
    assert 'print("replicas:", world_size)' in out
    assert "\nmodel = Net().to(device)\noptimizer = KerasAdam(" in out  # the scope's body, at the top level
    assert 'world_size = int(os.environ.get("WORLD_SIZE", "1"))' in out
    # Torn down at exit, after a barrier (no abort at the interpreter's teardown, none while another process works).
    assert "atexit.register(leave_process_group)" in out and "torch.distributed.barrier(" in out
    assert 'torch.distributed.init_process_group("nccl" if device.type == "cuda" else "gloo")' in out
    assert 'forward = replicated(model, "logits")' in out and "logits = forward(inputs)" in out
    assert "if rank != 0:" in out and "not isinstance(callback, (ModelCheckpoint, CSVLogger))" in out  # rank 0 writes the files
    assert "if rank == 0:" in out and "    torch.save(model.state_dict(), \"trained.weights.h5\")" in out
    assert_no_undefined_names(out)
    compile(out, "train.py", "exec")


@pytest.mark.parametrize(
    "constructor",
    ["tf.distribute.OneDeviceStrategy(\"/cpu:0\")", "tf.distribute.get_strategy()"],
    ids=["one_device", "default"],
)
def test_one_replica_strategies_need_no_processes(constructor):
    result = _convert(MIRRORED.replace("tf.distribute.MirroredStrategy()", constructor))
    assert result.ok and not result.diagnostics, _codes(result)
    assert 'print("replicas:", 1)' in result.output
    assert "world_size" not in result.output and "DistributedDataParallel" not in result.output
    assert "strategy" not in _names(result.output)


def test_multi_worker_strategy_is_distributed_too():
    source = MIRRORED.replace("tf.distribute.MirroredStrategy()", "tf.distribute.MultiWorkerMirroredStrategy()")
    result = _convert(source)
    assert result.ok and not result.diagnostics, _codes(result)
    assert "DistributedDataParallel" in result.output


def test_scripts_without_a_strategy_have_no_distributed_code():
    plain = MIRRORED.replace("strategy = tf.distribute.MirroredStrategy()\n", "").replace("strategy.num_replicas_in_sync", "1")
    plain = plain.replace("with strategy.scope():\n    ", "").replace("\n    model.compile", "\nmodel.compile")
    result = _convert(plain)
    assert result.ok and not result.diagnostics, _codes(result)
    assert not {"world_size", "rank", "replicated", "replica_rows", "same_order", "summed_over_processes"} & _names(result.output)
    assert "torch.distributed" not in result.output


def test_generated_names_give_way_to_the_script_s():
    result = _convert(MIRRORED.replace("GLOBAL_BATCH_SIZE = 12 * 2", "rank = 3\nGLOBAL_BATCH_SIZE = 12 * 2"))
    assert result.ok, _codes(result)
    assert "rank = 3" in result.output and "rank_ = int(os.environ.get(\"RANK\", \"0\"))" in result.output
    assert "if rank_ == 0:" in result.output
    assert_no_undefined_names(result.output)


def _generated_function(code: str, name: str, **module_globals):
    """The converted script's top-level function ``name``, defined over ``module_globals``."""
    definition = next(node for node in ast.parse(code).body if isinstance(node, ast.FunctionDef) and node.name == name)
    namespace = dict(module_globals)
    exec(compile(ast.Module([definition], []), name, "exec"), namespace)  # noqa: S102 -- the converted function itself
    return namespace[name]


def test_a_global_batch_is_split_as_tf_distribute_splits_it():
    """Contiguous shares, the first ones a row larger; a batch with fewer rows than processes is refused."""
    output = _convert(MIRRORED).output
    shares = [_generated_function(output, "replica_rows", world_size=2, rank=rank)(24, 29) for rank in (0, 1)]
    assert shares == [slice(24, 27), slice(27, 29)]
    shares = [_generated_function(output, "replica_rows", world_size=3, rank=rank)(0, 24) for rank in (0, 1, 2)]
    assert shares == [slice(0, 8), slice(8, 16), slice(16, 24)]
    with pytest.raises(ValueError, match="1 rows for 2 processes"):
        _generated_function(output, "replica_rows", world_size=2, rank=0)(96, 97)


IN_FIT = MIRRORED.replace("batch_size=GLOBAL_BATCH_SIZE", "batch_size=12 * strategy.num_replicas_in_sync")


@pytest.mark.parametrize(
    ("constructor", "count"), [("tf.distribute.MirroredStrategy()", "world_size"), ("tf.distribute.get_strategy()", "1")]
)
def test_replica_count_read_inside_fit_s_arguments(constructor, count):
    """``model.fit(x, y, batch_size=12 * strategy.num_replicas_in_sync)``: the global batch of Keras's strategy."""
    result = _convert(IN_FIT.replace("tf.distribute.MirroredStrategy()", constructor))
    assert result.ok and not result.diagnostics, _codes(result)
    assert f"batch_size=12 * {count}," in result.output
    assert "strategy" not in _names(result.output) and "tensorflow" not in result.output
    assert_no_undefined_names(result.output)


@requires_torch
def test_a_replica_count_inside_fit_runs_as_one_process(tmp_path):
    """Without torchrun the script is one replica (world_size 1), and it needs no TensorFlow."""
    script = tmp_path / "train.py"
    script.write_text(_convert(IN_FIT).output, encoding="utf-8")
    proc = run_standalone(script)  # importing keras or tensorflow fails there
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "replicas: 1" in proc.stdout.splitlines()
    history = json.loads(next(line for line in proc.stdout.splitlines() if line.startswith("HISTORY "))[len("HISTORY ") :])
    assert len(history["loss"]) == 3


def test_replica_count_in_an_f_string():
    result = _convert(MIRRORED.replace('print("replicas:", strategy.num_replicas_in_sync)', 'print(f"replicas: {strategy.num_replicas_in_sync}")'))
    assert result.ok and not result.diagnostics, _codes(result)
    assert 'print(f"replicas: {world_size}")' in result.output


# ---------------------------------------------------------------- diagnostics

TPU = textwrap.dedent(
    """\
    import tensorflow as tf
    from tensorflow import keras

    try:
        tpu = tf.distribute.cluster_resolver.TPUClusterResolver()
        strategy = tf.distribute.TPUStrategy(tpu)
    except ValueError:
        strategy = tf.distribute.get_strategy()
    BATCH_SIZE = 16 * strategy.num_replicas_in_sync
    """
)


def test_tpu_strategy_is_reported_where_it_is_made():
    result = _convert(TPU)
    messages = _codes(result)
    assert any(m.startswith("train.py:6:16: K2T150 tf.distribute.TPUStrategy is not translated: ") and "torch_xla" in m for m in messages), messages


def test_parameter_server_strategy_is_reported():
    source = MIRRORED.replace(
        "tf.distribute.MirroredStrategy()", "tf.distribute.experimental.ParameterServerStrategy(resolver)"
    ).replace("keras.utils.set_random_seed(0)\n", "keras.utils.set_random_seed(0)\nresolver = None\n")
    messages = _codes(_convert(source))
    assert any(m.startswith("train.py:10:12: K2T150 tf.distribute.ParameterServerStrategy is not translated") for m in messages), messages


CUSTOM_LOOP = textwrap.dedent(
    """\
    import tensorflow as tf

    strategy = tf.distribute.MirroredStrategy()
    dataset = tf.data.Dataset.from_tensor_slices([1.0, 2.0]).batch(2)
    distributed = strategy.experimental_distribute_dataset(dataset)
    for batch in distributed:
        per_replica = strategy.run(tf.reduce_sum, args=(batch,))
        total = strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)
    """
)


def test_custom_distributed_loops_are_reported_at_each_use():
    result = _convert(CUSTOM_LOOP)
    messages = _codes(result)
    for line, col, what in [(5, 15, "strategy.experimental_distribute_dataset"), (7, 19, "strategy.run"), (8, 13, "strategy.reduce")]:
        assert any(m.startswith(f"train.py:{line}:{col}: K2T150 `{what}` is not translated") for m in messages), (what, messages)
    # The strategy stays as written for the code that still uses it.
    assert "strategy = tf.distribute.MirroredStrategy()" in result.output
    assert_no_undefined_names(result.output)


def test_training_on_batches_under_a_strategy_trains_as_one_process():
    source = MIRRORED.replace(
        "history = model.fit(x, y, epochs=3, batch_size=GLOBAL_BATCH_SIZE, validation_split=0.25, verbose=2, callbacks=callbacks)",
        "dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(GLOBAL_BATCH_SIZE)\nhistory = model.fit(dataset, epochs=3, verbose=2)",
    )
    result = _convert(source)
    messages = _codes(result)
    assert any(m.startswith("train.py:9:12: K2T150 tf.distribute.MirroredStrategy: training on batches") for m in messages), messages
    assert 'print("replicas:", 1)' in result.output and "DistributedDataParallel" not in result.output
    assert_no_undefined_names(result.output)


# ------------------------------------------------------------------- running


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


_TEARDOWN_ABORT = "terminate called without an active exception"


def _run(command: list[str], folder) -> dict:
    environment = {**os.environ, "TORCH_DEVICE": "cpu", "OMP_NUM_THREADS": "1"}
    environment.pop("WORLD_SIZE", None)
    proc = subprocess.run(command, cwd=folder, env=environment, capture_output=True, text=True, timeout=120, check=False)
    if proc.returncode != 0 and _TEARDOWN_ABORT in proc.stdout + proc.stderr:
        # Seen about once in twenty CI runs, never alone: a gloo process aborting at its teardown after a complete,
        # correct run (gloo's threads at interpreter exit). Once more: a second abort, or any other failure, fails.
        proc = subprocess.run(command, cwd=folder, env=environment, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = [line for line in proc.stdout.splitlines() if line.startswith("HISTORY ")]
    assert len(lines) == 1, proc.stdout  # rank 0 alone prints
    replicas = [line for line in proc.stdout.splitlines() if line.startswith("replicas:")]
    return {"history": json.loads(lines[0][len("HISTORY ") :]), "replicas": replicas}


@requires_torch
def test_two_processes_train_as_one_on_the_same_global_batches(tmp_path):
    """torchrun with 2 gloo processes on the CPU: each trains on half of every global batch of 24 rows,
    DistributedDataParallel averages the gradients; weights and history equal one process's."""
    import torch

    result = _convert(MIRRORED)
    assert result.ok, _codes(result)
    one, two = tmp_path / "one", tmp_path / "two"
    for folder in (one, two):
        folder.mkdir()
        (folder / "train.py").write_text(result.output, encoding="utf-8")
    single = _run([sys.executable, "train.py"], one)
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", f"--master_port={_free_port()}"]
    double = _run([*torchrun, "train.py"], two)
    assert single["replicas"] == ["replicas: 1"] and double["replicas"] == ["replicas: 2"]
    assert list(single["history"]) == list(double["history"]) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    for key, values in single["history"].items():
        assert double["history"][key] == pytest.approx(values, rel=1e-5, abs=1e-6), key
    weights_one = torch.load(one / "trained.weights.h5")
    weights_two = torch.load(two / "trained.weights.h5")
    assert list(weights_one) == list(weights_two)
    for name, tensor in weights_one.items():
        torch.testing.assert_close(weights_two[name], tensor, rtol=1e-5, atol=1e-6)
    assert single["history"]["loss"][-1] < single["history"]["loss"][0]  # it trained
    # The callbacks' files, written by rank 0 alone: the same epochs' logs and the same best weights.
    rows_one, rows_two = (list(csv.reader((folder / "log.csv").open())) for folder in (one, two))
    assert rows_two[0] == rows_one[0] and len(rows_two) == len(rows_one) == 4
    for row_one, row_two in zip(rows_one[1:], rows_two[1:]):
        assert [float(v) for v in row_two] == pytest.approx([float(v) for v in row_one], rel=1e-5, abs=1e-6)
    best_one, best_two = torch.load(one / "best.weights.h5"), torch.load(two / "best.weights.h5")
    for name, tensor in best_one.items():
        torch.testing.assert_close(best_two[name], tensor, rtol=1e-5, atol=1e-6)


PARITY = textwrap.dedent(
    """\
    import numpy as np
    import keras
    import tensorflow as tf

    rng = np.random.RandomState(0)
    x = rng.normal(size=(96, 6)).astype("float32")
    y = (x.reshape(len(x), -1).sum(axis=1) > 0).astype("float32")
    keras.utils.set_random_seed(0)
    strategy = tf.distribute.MirroredStrategy()
    with strategy.scope():
        model = keras.Sequential([
            keras.Input(shape=(6,)),
            keras.layers.Dense(8, activation="relu"),
            keras.layers.Dense(1, activation="sigmoid"),
        ])
        model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, batch_size=8 * strategy.num_replicas_in_sync, epochs=3, verbose=0, validation_split=0.25)
    """
)


@requires_torch
@requires_keras
@pytest.mark.parity
def test_one_process_matches_keras_under_mirrored_strategy(tmp_path):
    """`k2t parity --exact` in a process of its own: TensorFlow's MirroredStrategy runtime, started in a pytest
    worker that has already run hundreds of Keras models, crashed it once (a segmentation fault in Keras's
    evaluate, seen in a CI rehearsal)."""
    from k2t.parity.normal import run_exact_subprocess

    converted = _convert(PARITY)
    assert converted.ok and not converted.diagnostics and "strategy" not in _names(converted.output), _codes(converted)
    script, document = tmp_path / "mirrored.py", tmp_path / "mirrored.json"
    script.write_text(PARITY, encoding="utf-8")
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        code = run_exact_subprocess(script, 3, document_path=document)
    assert code == 0, output.getvalue()
    [fit] = json.loads(document.read_text(encoding="utf-8"))["fits"]
    assert list(fit["history"]) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert all(len(series["keras"]) == 3 for series in fit["history"].values())


@requires_torch
def test_a_process_that_fails_does_not_leave_the_others_waiting(tmp_path):
    """The exit barrier is skipped after an uncaught error: torchrun ends the run (non-zero) instead of every
    process waiting at the barrier for the one that failed."""
    import time

    result = _convert(MIRRORED)
    (tmp_path / "train.py").write_text(
        result.output + 'if rank == 1:\n    raise RuntimeError("rank 1 fails after training")\n', encoding="utf-8"
    )
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", f"--master_port={_free_port()}"]
    environment = {**os.environ, "TORCH_DEVICE": "cpu", "OMP_NUM_THREADS": "1"}
    environment.pop("WORLD_SIZE", None)
    started = time.monotonic()
    proc = subprocess.run(
        [*torchrun, "train.py"], cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=240, check=False
    )
    assert proc.returncode != 0
    assert "rank 1 fails after training" in proc.stdout + proc.stderr
    assert time.monotonic() - started < 120  # no wait for a gloo timeout (30 minutes by default)
