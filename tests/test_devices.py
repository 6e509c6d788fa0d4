"""Converted scripts pick their device as PyTorch users expect, and everything in the loop follows it.

CI has no GPU: these tests prove on the CPU that the device line exists and is
read (TORCH_DEVICE, ``k2t convert --device``), that integer data reaches the
model as int64, that predict returns NumPy, and (by reading the generated code)
that every tensor the loop makes is made on the model's device or moved there.
tests/gpu/ holds the check that runs converted fixtures on a real GPU.
"""

import ast
import json
import subprocess
import sys
import textwrap

import libcst
import pytest
from conftest import ROOT, fixture_dirs, requires_torch
from undefined import assert_no_undefined_names

import k2t

FIXTURES = fixture_dirs()
IDS = [p.name for p in FIXTURES]

# Token ids into an Embedding, sparse integer labels, class weights and a validation split.
IDS_SCRIPT = textwrap.dedent(
    """\
    import numpy as np
    from tensorflow import keras
    from tensorflow.keras import layers

    rng = np.random.default_rng(0)
    x = rng.integers(0, 50, size=(64, 8))
    y = rng.integers(0, 3, size=64)
    model = keras.Sequential(
        [keras.Input(shape=(8,)), layers.Embedding(50, 4), layers.GlobalAveragePooling1D(), layers.Dense(3, activation="softmax")]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=2, batch_size=16, class_weight={0: 1.0, 1: 2.0, 2: 1.0}, validation_split=0.25, verbose=0)
    loss, accuracy = model.evaluate(x, y, verbose=0)
    probabilities = model.predict(x[:5], verbose=0)
    """
)


def _device_statement(output: str) -> ast.Assign:
    """The module-level ``device = ...`` statement of a converted script."""
    found = [
        node
        for node in ast.parse(output).body
        if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == ["device"]
    ]
    assert len(found) == 1, "one device line expected"
    return found[0]


def test_every_converted_fixture_has_one_device_line_before_its_models():
    for folder in FIXTURES:
        if (folder / "expected_diagnostics.txt").exists() and "device = " not in (folder / "expected.py").read_text():
            continue  # a script whose models all stay TODOs moves nothing
        output = (folder / "expected.py").read_text(encoding="utf-8")
        line = _device_statement(output).lineno
        first_model = min(i for i, text in enumerate(output.splitlines(), 1) if ".to(device)" in text)
        assert line < first_model, folder.name


@requires_torch
@pytest.mark.parametrize(
    "environment, expected", [("cpu", "cpu"), ("cuda:3", "cuda:3"), ("mps", "mps")], ids=["cpu", "cuda:3", "mps"]
)
def test_device_line_honours_torch_device(environment, expected, monkeypatch):
    """TORCH_DEVICE wins over what is available (torch.device needs no such device to be built)."""
    import os

    import torch

    monkeypatch.setenv("TORCH_DEVICE", environment)
    statement = _device_statement(k2t.convert_source(IDS_SCRIPT, "ids.py").output)
    namespace = {"torch": torch, "os": os}
    exec(compile(ast.Module([statement], []), "device_line", "exec"), namespace)  # noqa: S102 -- the converted line itself
    assert namespace["device"] == torch.device(expected)


@pytest.mark.parametrize("device", ["cuda", "cpu", "mps"])
def test_convert_device_option_fixes_the_device(tmp_path, device):
    source = tmp_path / "ids.py"
    source.write_text(IDS_SCRIPT, encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "k2t", "convert", str(source), "--device", device],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert ast.unparse(_device_statement(proc.stdout)) == f"device = torch.device('{device}')"
    assert "TORCH_DEVICE" not in proc.stdout


def test_convert_device_option_refuses_other_values(tmp_path):
    source = tmp_path / "ids.py"
    source.write_text(IDS_SCRIPT, encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "k2t", "convert", str(source), "--device", "tpu"],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "--device" in proc.stderr
    with pytest.raises(ValueError, match="device"):
        k2t.convert_source(IDS_SCRIPT, "ids.py", device="tpu")


def test_default_device_line_reads_torch_device_and_names_no_keras():
    output = k2t.convert_source(IDS_SCRIPT, "ids.py").output
    line = ast.unparse(_device_statement(output))
    assert "os.environ.get('TORCH_DEVICE')" in line
    assert "torch.cuda.is_available()" in line and "torch.backends.mps.is_available()" in line
    assert "k2t" not in line.lower() and "keras" not in line.lower()


def test_a_script_naming_device_keeps_it_and_gets_torch_device():
    source = IDS_SCRIPT.replace("rng = ", 'device = "/GPU:0"\nrng = ')
    output = k2t.convert_source(source, "ids.py").output
    assert 'device = "/GPU:0"' in output
    assert ".to(torch_device)" in output
    assert "torch_device = torch.device(" in output
    assert "device, non_blocking=True" not in output.replace("torch_device, non_blocking=True", "")
    assert_no_undefined_names(output, "ids.py")


# A driver run in a fresh interpreter: the converted script as __main__ with TORCH_DEVICE=cpu,
# then its own fit/evaluate/predict called again with a spy on the loss, to see what reaches it.
DRIVER = textwrap.dedent(
    """\
    import json, os, sys
    import numpy as np
    import torch

    seen = {"embedding_inputs": set()}
    def record(module, args):
        if isinstance(module, torch.nn.Embedding):
            seen["embedding_inputs"].add(str(args[0].dtype))
    torch.nn.modules.module.register_module_forward_pre_hook(record)

    path = sys.argv[1]
    namespace = {"__name__": "__main__", "__file__": path}
    exec(compile(open(path).read(), path, "exec"), namespace)

    loss_name = "sparse_categorical_crossentropy"
    loss = namespace[loss_name]
    def spy(output, target, *rest):
        seen.setdefault("targets", set()).add(str(target.dtype))
        return loss(output, target, *rest)
    namespace[loss_name] = spy
    model, x, y = namespace["model"], namespace["x"], namespace["y"]
    result = namespace["evaluate"](model, x, y, verbose=0)
    namespace["fit"](model, namespace["optimizer"], x, y, epochs=1, verbose=0)
    history = namespace["history"].history
    print(json.dumps({
        "device": str(namespace["device"]),
        "parameters": sorted({str(p.device) for p in model.parameters()}),
        "embedding_inputs": sorted(seen["embedding_inputs"]),
        "targets": sorted(seen["targets"]),
        "predict": type(namespace["probabilities"]).__name__,
        "predict_dtype": str(namespace["probabilities"].dtype),
        "evaluate": [type(value).__name__ for value in result],
        "history": sorted({type(value).__name__ for values in history.values() for value in values}),
    }))
    """
)


@requires_torch
def test_converted_script_keeps_integer_data_integer_and_returns_numpy(tmp_path):
    script = tmp_path / "ids_torch.py"
    script.write_text(k2t.convert_source(IDS_SCRIPT, "ids.py").output, encoding="utf-8")
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER, encoding="utf-8")
    env = {**__import__("os").environ, "TORCH_DEVICE": "cpu", "PYTHONHASHSEED": "0"}
    proc = subprocess.run([sys.executable, str(driver), str(script)], check=False, capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert seen["device"] == "cpu"
    assert seen["parameters"] == ["cpu"]
    assert seen["embedding_inputs"] == ["torch.int64"]  # not float32 ids cast back by .long()
    assert seen["targets"] == ["torch.int64"]
    assert (seen["predict"], seen["predict_dtype"]) == ("ndarray", "float32")
    assert seen["evaluate"] == ["float", "float"]
    assert seen["history"] == ["float"]


# ---------------------------------------------------------------- reading the generated code

# torch functions that make a tensor: on the CPU unless given device=.
_FACTORIES = frozenset(
    {"tensor", "as_tensor", "from_numpy", "zeros", "ones", "empty", "full", "arange", "linspace", "rand", "randn", "randint", "randperm", "eye"}
)
# Where a tensor made on the CPU is right, and why. Keys: (function or Class.method, assigned name).
_HOST_BY_DESIGN = {
    # The data stays on the host; each batch is copied to the model's device as it is used.
    **{(loop, name): "host data" for loop in ("fit", "evaluate", "predict") for name in ("x", "y", "sample_weight", "order")},
    # torch's own Adam keeps its step counts on the CPU too (unless capturable/fused).
    ("KerasAdam.update_embedding_rows", "state['step']"): "torch's convention",
    ("KerasAdamW.update_embedding_rows", "state['step']"): "torch's convention",
    # Moved to the outputs' device at the first update().
    ("ListedThresholdCounts.__init__", "self.thresholds"): "moved in update()",
    # A tf.data stand-in yields host tensors; the batch loop moves each batch as it uses it.
    ("_as_chunk", "return"): "host data",
    # Its shuffle's order, and the files a directory dataset reads (k2t.translate.directory_data): host data too.
    ("_buffer_order", "draws"): "host data",
    ("_buffer_order", "return"): "host data",
    ("_labels_tensor", "labels"): "host data",
    ("_files_dataset", "positions"): "host data",
    ("_read_images", "images"): "host data",
    ("_decode_image", "pixels"): "host data",
    # A metric object's result(), read by the script with float() or .numpy() as Keras's is.
    ("SparseCategoricalAccuracy.result", "return"): "a host scalar",
    # A train_step's loss tracker (k2t.translate.train_step): a tensor keeps its device, and is summed into a float.
    ("MeanTracker.update_state", "values"): "reduced to a host float",
    # A dataset's elements as tensors (strings stay NumPy), host data batched before fit moves it.
    ("_as_data", "return"): "host data",
    # keras.utils.timeseries_dataset_from_array's stand-in: windows indexed on the host, batches moved by the loop.
    **{("timeseries_dataset_from_array", name): "host data" for name in ("series", "offsets", "dataset", "labels")},
}


def _generated_definitions(folder):
    """Top-level functions and classes of expected.py that the Keras script did not define."""
    source_names = {
        node.name
        for node in ast.parse((folder / "input.py").read_text(encoding="utf-8")).body
        if isinstance(node, (ast.FunctionDef, ast.ClassDef))
    }
    tree = ast.parse((folder / "expected.py").read_text(encoding="utf-8"))
    return [node for node in tree.body if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name not in source_names]


def _functions(definition):
    """(qualified name, function node, class is an nn.Module) of a top-level definition."""
    if isinstance(definition, ast.FunctionDef):
        return [(definition.name, definition, False)]
    module = any(ast.unparse(base).startswith("nn.") for base in definition.bases)
    return [(f"{definition.name}.{item.name}", item, module) for item in definition.body if isinstance(item, ast.FunctionDef)]


def _loop_kind(name: str) -> str:
    """fit_model -> fit (a second training configuration gets a suffix)."""
    return next((kind for kind in ("fit", "evaluate", "predict") if name == kind or name.startswith(kind + "_")), name)


def _tensor_factories_off_device(folder) -> list[str]:
    found = []
    for definition in _generated_definitions(folder):
        for name, function, is_module in _functions(definition):
            if is_module and name.endswith(".__init__"):
                continue  # a module's tensors move with it: model = Net(...).to(device)
            for statement in ast.walk(function):
                if not isinstance(statement, (ast.Assign, ast.AugAssign, ast.Expr, ast.Return)):
                    continue
                targets = statement.targets if isinstance(statement, ast.Assign) else [getattr(statement, "target", None)]
                # `torch.as_tensor(batch).to(device, ...)`: made on the host and moved at once.
                moved = {
                    id(node.func.value)
                    for node in ast.walk(statement)
                    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "to"
                    and node.args and ast.unparse(node.args[0]) == "device"
                }
                for call in ast.walk(statement):
                    if id(call) in moved:
                        continue
                    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)):
                        continue
                    if ast.unparse(call.func.value) != "torch" or call.func.attr not in _FACTORIES:
                        continue
                    if any(keyword.arg == "device" for keyword in call.keywords):
                        continue
                    names = ["return"] if isinstance(statement, ast.Return) else [ast.unparse(t) for t in targets if t is not None]
                    reason = [_HOST_BY_DESIGN.get((_loop_kind(name), target)) for target in names]
                    if not any(reason):
                        found.append(f"{folder.name}: {name}: {ast.unparse(statement)[:120]}")
    return found


def test_tensors_made_in_the_generated_loop_are_device_aware():
    """Every torch.tensor/zeros/... in the generated helpers is made on a device (device=), or is host data by design."""
    offenders = [line for folder in FIXTURES for line in _tensor_factories_off_device(folder)]
    assert not offenders, "\n".join(offenders)


def test_every_batch_the_loops_use_is_moved_to_the_model_device():
    """inputs/targets/weights of every batch, and predict's model inputs, go through .to(device, non_blocking=True)."""
    offenders = []
    for folder in FIXTURES:
        for definition in _generated_definitions(folder):
            if not isinstance(definition, ast.FunctionDef) or _loop_kind(definition.name) not in ("fit", "evaluate", "predict"):
                continue
            for node in ast.walk(definition):
                if isinstance(node, ast.Assign) and [ast.unparse(t) for t in node.targets] in (["inputs"], ["targets"], ["weights"]):
                    moved = ast.unparse(node.value)
                elif isinstance(node, ast.Call) and ast.unparse(node.func) in ("model", "model.logits"):
                    moved = ast.unparse(node)
                else:
                    continue
                if node_is_a_batch(moved) and ".to(device, non_blocking=True)" not in moved:
                    offenders.append(f"{folder.name}: {definition.name}: {moved}")
    assert not offenders, "\n".join(offenders)


def node_is_a_batch(code: str) -> bool:
    """A slice of the host data (``x[start : start + batch_size]``), not a variable already moved."""
    return "[" in code and ":" in code


def test_predict_brings_outputs_back_to_the_host():
    for folder in FIXTURES:
        text = (folder / "expected.py").read_text(encoding="utf-8")
        if "\ndef predict(" in text:  # the generated function (a class of the script may have its own predict)
            body = text.split("\ndef predict(", 1)[1].split("\ndef ", 1)[0]
            assert ".cpu()" in body and ".numpy()" in body, folder.name


def test_saved_files_load_on_the_script_device():
    for folder in FIXTURES:
        for line in (folder / "expected.py").read_text(encoding="utf-8").splitlines():
            if line.strip() == "return torch.load(path, map_location=map_location)":
                continue  # the generated load_state(path, map_location): its callers pass the device
            if ("torch.load(" in line or "load_state(" in line) and not line.lstrip().startswith(("#", '"""', "def ")) and "load it with" not in line:
                assert "map_location=device" in line, f"{folder.name}: {line}"


def test_gpu_check_files_exist_and_use_no_conversion_tools():
    """tests/gpu/run_gpu_check.py runs where only torch and numpy are installed."""
    check = (ROOT / "tests" / "gpu" / "run_gpu_check.py").read_text(encoding="utf-8")
    imported = set()
    for node in ast.walk(ast.parse(check)):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
    assert imported <= set(sys.stdlib_module_names) | {"torch", "numpy"}, imported


@pytest.mark.slow
@requires_torch
def test_gpu_check_harness_passes_cpu_against_cpu(tmp_path):
    """prepare.py's folder runs without k2t, and run_gpu_check.py compares two runs (cpu twice here)."""
    folder = tmp_path / "gpu_check"
    prepare = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "gpu" / "prepare.py"), str(folder), "--fixtures", "fraud_class_weight", "--extras"],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert prepare.returncode == 0, prepare.stderr[-3000:]
    code = "import runpy, sys\nfor name in ('keras', 'tensorflow', 'k2t'):\n    sys.modules[name] = None\n"
    code += "sys.argv = sys.argv[1:]\nrunpy.run_path(sys.argv[0], run_name='__main__')\n"
    check = subprocess.run(
        [sys.executable, "-c", code, str(folder / "run_gpu_check.py"), str(folder), "--against", "cpu", "--jobs", "2"],
        check=False,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert check.returncode == 0, check.stdout[-3000:] + check.stderr[-3000:]
    assert "ok   fraud_class_weight: 1 histories" in check.stdout
    assert "ok   mixed_float16_cnn: 1 histories" in check.stdout  # autocast float16 and GradScaler
    assert "3/3 scripts pass" in check.stdout


# keras.io and Kaggle scripts choose their GPUs at the top; TensorFlow reads the variable when it first lists them.
ENVIRONMENT_FIRST = """\
import os

os.environ["CUDA_VISIBLE_DEVICES"] = "-1"
import numpy as np
from tensorflow import keras

x = np.zeros((4, 2), dtype="float32")
model = keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(1)])
model.compile(optimizer="sgd", loss="mse")
model.fit(x, x[:, :1], epochs=1, verbose=0)
"""


def _top_level_lines(output: str) -> list[str]:
    """Each top-level statement, up to its first parenthesis (`device = torch.device`)."""
    return [ast.unparse(node).split("(")[0] for node in ast.parse(output).body]


@requires_torch
def test_the_device_line_follows_the_scripts_own_cuda_visible_devices(monkeypatch):
    # torch.cuda.is_available() initialises CUDA, which reads CUDA_VISIBLE_DEVICES only then.
    result = k2t.convert_source(ENVIRONMENT_FIRST)
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    lines = _top_level_lines(result.output)
    setting = lines.index("os.environ['CUDA_VISIBLE_DEVICES'] = '-1'")
    assert setting < lines.index("import numpy as np") < lines.index("device = torch.device")
    assert lines.count("import numpy as np") == 1  # the generated code reads the script's own import
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")  # the script sets it in this process: restored after
    namespace: dict = {"__name__": "__main__"}
    exec(compile(result.output, "converted.py", "exec"), namespace)  # noqa: S102 (the test runs k2t's output)
    assert namespace["model"].training is True  # fit ran


def test_a_cuda_variable_set_after_the_models_are_built_is_a_warning_where_it_is_set():
    source = ENVIRONMENT_FIRST.replace('os.environ["CUDA_VISIBLE_DEVICES"] = "-1"\n', "") + (
        'os.environ.setdefault("CUDA_VISIBLE_DEVICES", "0")\n'
        "\n\ndef choose_gpu():\n"
        '    os.environ["CUDA_VISIBLE_DEVICES"] = "1"\n'
        "\n\nchoose_gpu()\n"
    )
    result = k2t.convert_source(source)
    assert result.ok
    warnings = [(d.line, d.column, d.code) for d in result.diagnostics]
    assert warnings == [(10, 1, "K2T106"), (14, 5, "K2T106")]
    assert "no longer chooses the GPUs" in result.diagnostics[0].message


def test_a_function_setting_the_environment_called_before_the_models_puts_the_device_line_after_its_call():
    source = ENVIRONMENT_FIRST.replace(
        'os.environ["CUDA_VISIBLE_DEVICES"] = "-1"\n',
        'def choose_gpu():\n    os.environ.update({"CUDA_VISIBLE_DEVICES": "-1"})\n\n\nchoose_gpu()\n',
    )
    result = k2t.convert_source(source)
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    lines = _top_level_lines(result.output)
    assert lines.index("choose_gpu") < lines.index("device = torch.device")


def test_environment_writes_in_each_spelling_name_their_variables():
    from k2t.device_placement import env_writes

    source = 'os.environ["A"] = "1"\nos.environ.setdefault("B", "1")\nos.environ.update({"C": "1"}, D="1")\nos.putenv("E", "1")\nos.environ[key] = "1"\n'
    names = [write.names for write in env_writes(libcst.parse_module(source))]
    assert names == [frozenset("A"), frozenset("B"), frozenset("CD"), frozenset("E"), None]


REVERSED_VIEWS = """\
import numpy as np
import keras

x = np.random.RandomState(0).normal(size=(32, 4)).astype("float32")
y = (x[:, 0] > 0).astype("float32")
model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(1, activation="sigmoid")])
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
model.fit([x[::-1]], [y[::-1]], epochs=1, batch_size=16, verbose=0, validation_data=([x[:, ::-1]], y))
loss = model.evaluate(x[::-2], y[::-2], verbose=0)
probabilities = model.predict(x[:, ::-1], verbose=0)
"""


@requires_torch
def test_reversed_views_and_one_element_lists_reach_the_loops():
    """NumPy views such as ``x[::-1]`` are what Keras takes anywhere (torch.as_tensor refuses negative strides),
    and ``fit([x], [y])`` of a one-input, one-output model is ``fit(x, y)`` to Keras."""
    result = k2t.convert_source(REVERSED_VIEWS, "reversed.py")
    assert result.ok, [d.format() for d in result.diagnostics]
    namespace: dict = {"__name__": "__main__"}
    exec(compile(result.output, "converted.py", "exec"), namespace)  # noqa: S102 (the test runs k2t's output)
    assert namespace["probabilities"].shape == (32, 1)


def test_rows_written_out_in_a_list_are_not_taken_for_a_one_array_structure():
    source = REVERSED_VIEWS + "row = model.predict([[0.5, 1.0, -1.0, 2.0]], verbose=0)\n"
    result = k2t.convert_source(source, "rows.py")
    assert "predict(model, [[0.5, 1.0, -1.0, 2.0]], verbose=0)" in result.output


ONE_THREAD = """\
import numpy as np
import keras
from keras import layers

x = np.random.default_rng(0).normal(size=(64, 8)).astype("float32")
model = keras.Sequential([keras.Input(shape=(8,)), layers.Dense({width}, activation="relu"), layers.Dropout(0.1), layers.Dense(1)])
model.compile(optimizer="adam", loss="mse")
model.fit(x, x[:, :1], epochs=1, verbose=0)
"""


def test_small_perceptrons_train_on_one_cpu_thread_and_larger_models_keep_torchs_threads():
    """One thread: as fast for these sizes, and no stall on a busy machine (k2t.emit.ONE_THREAD_LINE)."""
    small = k2t.convert_source(ONE_THREAD.format(width=64), "train.py").output
    assert 'if device.type == "cpu":' in small and "    torch.set_num_threads(1)" in small
    assert small.index("torch.set_num_threads(1)") > small.index("device = torch.device(")
    wide = k2t.convert_source(ONE_THREAD.format(width=512), "train.py").output
    assert "set_num_threads" not in wide
    conv = ONE_THREAD.replace("keras.Input(shape=(8,)), ", "keras.Input(shape=(8, 1)), layers.Conv1D(4, 3), layers.Flatten(), ")
    assert "set_num_threads" not in k2t.convert_source(conv.format(width=16), "train.py").output
