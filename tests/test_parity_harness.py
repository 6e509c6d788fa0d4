"""The parity harness itself: `k2t parity [--exact]` and `k2t.parity.exact_parity`.

The harness must pass on faithful conversions AND fail on wrong ones, so
besides fixtures that should pass, these tests feed it deliberately broken
conversions (a wrong layer, a wrong activation, a wrong learning rate) and
expect it to say so.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"


@pytest.fixture(scope="module")
def frameworks():
    pytest.importorskip("tensorflow")
    pytest.importorskip("torch")


TINY = textwrap.dedent(
    """\
    import numpy as np
    import keras

    rng = np.random.RandomState(0)
    x = rng.normal(size=(128, 6)).astype("float32")
    y = (x.sum(axis=1) > 0).astype("float32")
    keras.utils.set_random_seed(0)
    print("building the model")
    model = keras.Sequential([
        keras.Input(shape=(6,)),
        keras.layers.Dense(8),
        keras.layers.LeakyReLU(),
        keras.layers.Dense(4, activation="relu"),
        keras.layers.Dropout(0.25),
        keras.layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, batch_size=16, epochs=4, verbose=0, validation_split=0.25)
    """
)


def _converted(source: str) -> str:
    import k2t

    result = k2t.convert_source(source, "tiny.py")
    assert result.ok, result.diagnostics
    return result.output


def _mutated(source: str, old: str, new: str) -> str:
    converted = _converted(source)
    assert converted.count(old) == 1, f"{old!r} not found once in the conversion; update this test:\n{converted}"
    return converted.replace(old, new)


def _assert_passes(report):
    from k2t.parity import LAYER_TOL, LOSS_RTOL

    details = report.format()
    assert report.error is None, details
    assert report.ok, details
    assert report.layer_diffs and report.layer_diffs[-1][0] == "output"
    for name, diff in report.layer_diffs:
        assert diff <= LAYER_TOL, (name, diff, details)
    assert list(report.keras_history) == list(report.torch_history), details
    assert "loss" in report.keras_history
    for key in ("loss", "val_loss"):
        for rel in report.rel_diffs.get(key, []):
            assert rel <= LOSS_RTOL, (key, rel, details)


# ----------------------------------------------------------------------------- exact mode, in process


@pytest.mark.parity
@pytest.mark.parametrize(
    ("fixture", "fit_index"),
    [("loan_approval", 0), ("batchnorm_mlp", 0), ("sparse_multiclass", 0), ("house_regression", 1)],
    ids=["loan_approval", "batchnorm_mlp", "sparse_multiclass", "house_regression-fit2"],
)
def test_exact_parity_on_fixtures(frameworks, fixture, fit_index):
    from k2t.parity import exact_parity

    path = FIXTURES / fixture / "input.py"
    report = exact_parity(path.read_text(encoding="utf-8"), epochs=3, path=path, fit_index=fit_index)
    _assert_passes(report)
    assert all(len(values) == 3 for values in report.keras_history.values())


@pytest.mark.parity
def test_exact_parity_on_source_text(frameworks):
    from k2t.parity import exact_parity

    report = exact_parity(TINY, epochs=2)
    _assert_passes(report)
    # fit's validation_split is reproduced; epochs = min(requested 2, the script's 4).
    assert set(report.keras_history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert report.epochs == 2 and all(len(v) == 2 for v in report.torch_history.values())
    assert [name for name, _ in report.layer_diffs] == [
        "dense",
        "leaky_re_lu",
        "dense_1",
        "dropout",
        "dense_2",
        "output",
    ]
    assert "building the model" in report.keras_output  # the script's prints are captured, not shown
    assert "PASS" in report.format()


BATCHES_PRELUDE = """\
import numpy as np
import tensorflow as tf
import keras
from keras import layers

keras.utils.set_random_seed(0)
x = np.random.RandomState(1).rand(45, 4).astype("float32")
y = (x.sum(axis=1, keepdims=True) > 2).astype("float32")
model = keras.Sequential([keras.Input((4,)), layers.Dense(6, activation="tanh"), layers.Dropout(0.3), layers.Dense(1, activation="sigmoid")])
model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.3, momentum=0.5), loss="binary_crossentropy", metrics=["accuracy"])


def batches(x, y, size):
    while True:
        for start in range(0, len(x), size):
            yield x[start : start + size], y[start : start + size]


class Rows(keras.utils.PyDataset):
    def __init__(self, x, y, size):
        super().__init__()
        self.x, self.y, self.size = x, y, size

    def __len__(self):
        return int(np.ceil(len(self.x) / self.size))

    def __getitem__(self, index):
        rows = slice(index * self.size, (index + 1) * self.size)
        return self.x[rows], self.y[rows]


"""

# fit over batches of 16, 16 and 13 rows: a dataset, a shuffled and mapped one, one augmented in a map, a generator, a PyDataset, Keras 2's
# fit_generator (run as Keras 3's fit on the Keras side).
BATCHES_FITS = {
    "dataset": "model.fit(tf.data.Dataset.from_tensor_slices((x, y)).batch(16), epochs=2, verbose=0)",
    "dataset-shuffle-map": (
        "model.fit(tf.data.Dataset.from_tensor_slices((x, y)).shuffle(45).map(lambda a, b: (a * 2.0, b)).batch(16), epochs=2, verbose=0)"
    ),
    # keras.io's augmentation in a map: traced as the script builds the pipeline, switched off on both sides.
    "dataset-augmentation-map": """\
data_augmentation = keras.Sequential([layers.RandomFlip("horizontal")])
model = keras.Sequential([keras.Input((2, 2, 1)), layers.Flatten(), layers.Dense(1, activation="sigmoid")])
model.compile(optimizer="sgd", loss="binary_crossentropy")
images = tf.data.Dataset.from_tensor_slices((x.reshape(45, 2, 2, 1), y)).batch(16)
images = images.map(lambda a, b: (data_augmentation(a, training=True), b))
model.fit(images, epochs=2, verbose=0)""",
    "generator": "model.fit(batches(x, y, 16), steps_per_epoch=3, epochs=2, verbose=0)",
    "pydataset": "model.fit(Rows(x, y, 16), epochs=2, verbose=0)",
    "fit_generator": "model.fit_generator(batches(x, y, 16), 3, 2, verbose=0)",
}


@pytest.mark.parity
@pytest.mark.parametrize("case", list(BATCHES_FITS))
def test_exact_parity_on_fits_over_batches(frameworks, case):
    """The first batch layer by layer, then each side trains on its own data object: the same batches, the same losses."""
    from k2t.parity import exact_parity

    report = exact_parity(BATCHES_PRELUDE + BATCHES_FITS[case] + "\n")
    _assert_passes(report)
    assert report.rows == 16 and all(len(values) == 2 for values in report.keras_history.values())
    notes = "\n".join(report.notes)
    assert ("shuffle(...) switched off on both sides (1 call(s))" in notes) == (case == "dataset-shuffle-map")
    assert ("fit_generator ran as Keras 3's fit" in notes) == (case == "fit_generator")
    assert ("augmentation (RandomFlip) runs as at inference on both sides" in notes) == (case == "dataset-augmentation-map")


@pytest.mark.parity
@pytest.mark.parametrize(
    ("fit", "old", "new", "failure"),
    [
        # The converted generator yields other batches: the first batch differs, never a silent pass.
        (BATCHES_FITS["generator"], "yield x[start : start + size]", "yield 2 * x[start : start + size]", "first batch x"),
        # A shuffled pipeline whose converted order cannot be switched off cannot be compared exactly.
        (BATCHES_FITS["dataset-shuffle-map"], "_buffer_order", "_draw_order", "cannot be exact: the Keras pipeline shuffles"),
        # Random draws in a map: with a global seed each pass draws the same numbers, only the graph shows them.
        (
            "model.fit(tf.data.Dataset.from_tensor_slices((x, y)).batch(16).map(lambda a, b: (a + tf.random.uniform(tf.shape(a)), b)), verbose=0)",
            "",
            "",
            "cannot be exact: the Keras pipeline draws random numbers (RandomUniform",
        ),
        # A PyDataset drawing from numpy gives another first batch on each pass.
        (
            "Rows.__getitem__ = lambda self, i: (self.x[i * 16 : i * 16 + 16] + np.random.rand(1).astype('float32'), self.y[i * 16 : i * 16 + 16])\n"
            + BATCHES_FITS["pydataset"],
            "",
            "",
            "cannot be exact: the Keras Rows gives another first batch on each pass",
        ),
    ],
    ids=["other-batches", "unswitchable-shuffle", "random-map", "random-pydataset"],
)
def test_exact_parity_over_batches_says_why_it_is_not_exact(frameworks, fit, old, new, failure):
    from k2t.parity import exact_parity

    source = BATCHES_PRELUDE + fit + "\n"
    converted = _converted(source).replace(old, new) if old else None
    report = exact_parity(source, converted=converted)
    assert report.error is None and not report.ok, report.format()
    assert any(failure in each for each in report.failures), report.failures


@pytest.mark.parity
def test_detects_a_wrong_layer(frameworks):
    """LeakyReLU's Keras slope is 0.3: a conversion with torch's 0.01 must fail at that layer."""
    from k2t.parity import exact_parity

    report = exact_parity(TINY, converted=_mutated(TINY, "nn.LeakyReLU(0.3)", "nn.LeakyReLU(0.01)"))
    assert not report.ok
    rows = {row.name: row for row in report.layers}
    assert rows["dense"].ok
    assert not rows["leaky_re_lu"].ok
    assert not rows["output"].ok
    assert any("leaky_re_lu" in failure for failure in report.failures)
    assert "FAIL" in report.format() and "MISMATCH" in report.format()


@pytest.mark.parity
def test_detects_a_wrong_activation(frameworks):
    from k2t.parity import exact_parity

    report = exact_parity(TINY, converted=_mutated(TINY, "F.relu(self.dense_1(x))", "F.elu(self.dense_1(x))"))
    assert not report.ok
    assert any("model output" in failure for failure in report.failures)
    assert any("epoch 1 loss" in failure for failure in report.failures)


@pytest.mark.parity
def test_detects_a_wrong_optimizer_setting(frameworks):
    """Forward passes agree, training does not."""
    from k2t.parity import exact_parity

    report = exact_parity(TINY, converted=_mutated(TINY, "lr=0.001,", "lr=0.003,"))
    assert not report.ok
    assert all(row.ok for row in report.layers), report.format()
    assert any("loss" in failure for failure in report.failures)


@pytest.mark.parity
def test_detects_a_shape_mismatch(frameworks):
    from k2t.parity import exact_parity

    converted = _mutated(TINY, "nn.Linear(8, 4)", "nn.Linear(8, 5)").replace("nn.Linear(4, 1)", "nn.Linear(5, 1)")
    report = exact_parity(TINY, converted=converted)
    assert not report.ok
    assert any("weight transfer failed" in failure for failure in report.failures), report.failures


@pytest.mark.parity
def test_reports_a_crashing_script(frameworks):
    from k2t.parity import exact_parity

    report = exact_parity(TINY.replace("model.compile(", "undefined_name()\nmodel.compile("))
    assert not report.ok
    assert report.error is not None and "NameError" in report.error


@pytest.mark.parity
def test_weight_transfer_copies_in_place(frameworks):
    """k2t.weights keeps the torch parameter objects, so an optimizer built before the copy still trains them."""
    import keras
    import numpy as np

    from k2t.parity.capture import capture_first, run_keras, run_torch
    from k2t.parity.instrument import convert
    from k2t.weights import transfer_weights

    source = TINY.replace(
        "keras.layers.Dense(8),",
        "keras.layers.Dense(8),\n    keras.layers.BatchNormalization(),\n    keras.layers.PReLU(),",
    )
    conversion = convert(source, str(ROOT / "tiny.py"))
    kcap = capture_first(run_keras, source, ROOT / "tiny.py", output=io.StringIO())
    tcap = capture_first(run_torch, conversion, ROOT / "tiny.py", output=io.StringIO())
    kmodel, tmodel, optimizer = kcap.args[0], tcap.args[0], tcap.args[1]
    plan = conversion.module_plan(type(tmodel).__name__)
    for layer in kmodel.layers:  # non-trivial values everywhere
        layer.set_weights(
            [np.random.default_rng(1).normal(size=w.shape).astype("float32") for w in layer.get_weights()]
        )
    before = [id(p) for p in tmodel.parameters()]
    copied = transfer_weights(kmodel, tmodel, plan)
    assert [id(p) for p in tmodel.parameters()] == before
    assert {id(p) for group in optimizer.param_groups for p in group["params"]} == set(before)
    assert [layer.weights for layer in plan.layers] == ["dense", "batchnorm", "prelu", None, "dense", None, "dense"]
    assert copied == [layer.attr for layer in plan.layers if layer.weights]
    dense, bn, prelu = (getattr(tmodel, plan.layers[i].attr) for i in range(3))
    np.testing.assert_array_equal(dense.weight.detach().numpy(), keras.ops.convert_to_numpy(kmodel.layers[0].kernel).T)
    np.testing.assert_array_equal(dense.bias.detach().numpy(), keras.ops.convert_to_numpy(kmodel.layers[0].bias))
    np.testing.assert_array_equal(bn.weight.detach().numpy(), keras.ops.convert_to_numpy(kmodel.layers[1].gamma))
    np.testing.assert_array_equal(bn.running_var.numpy(), keras.ops.convert_to_numpy(kmodel.layers[1].moving_variance))
    np.testing.assert_array_equal(prelu.weight.detach().numpy(), keras.ops.convert_to_numpy(kmodel.layers[2].alpha))


# ----------------------------------------------------------------------------- the command line


def _k2t(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run(
        [sys.executable, "-m", "k2t", *args], check=False, cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


@pytest.mark.parity
def test_cli_exact_fails_when_the_conversion_cannot_run(frameworks, tmp_path):
    script = tmp_path / "script.py"
    script.write_text(TINY.replace("history = model.fit(", "print(len(model.get_weights()))\nhistory = model.fit("))
    done = _k2t("parity", "--exact", str(script), cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "FAIL" in done.stdout and "get_weights" in done.stdout


@pytest.mark.parity
def test_cli_side_by_side_fails_when_the_conversion_crashes(frameworks, tmp_path):
    script = tmp_path / "script.py"
    script.write_text(TINY + "print(model.get_weights()[0].shape)\n")
    done = _k2t("parity", str(script), cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "FAIL: the torch run failed" in done.stdout
    assert "keras: finished" in done.stdout


def test_without_tensorflow_exit_2(monkeypatch, capsys):
    import importlib.util

    from k2t.parity import run_parity

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "tensorflow" else real(name, *a))
    assert run_parity(FIXTURES / "xor" / "input.py", exact=True, epochs=3) == 2
    assert "k2t parity needs TensorFlow: pip install 'k2t[parity]'" in capsys.readouterr().out


# ----------------------------------------------------------------------------- pure parts


def test_importing_k2t_does_not_import_frameworks():
    code = (
        "import sys, k2t, k2t.parity, k2t.parity.normal, k2t.parity.runner, k2t.weights, k2t.cli\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'tensorflow', 'keras'))\n"
        "assert not bad, bad\n"
    )
    done = subprocess.run([sys.executable, "-c", code], check=False, cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_instrument_wraps_generated_functions_only():
    pytest.importorskip("torch")  # the generated definitions import torch
    from k2t.parity.instrument import WRAP_NAME, convert, instrument

    source = TINY.replace('print("building the model")\n', "") + "def fit():\n    return 'user fit'\n"
    conversion = convert(source, "tiny.py")
    fit_name = conversion.plan.renames.get("fit", "fit")
    assert fit_name != "fit"  # the script defines its own fit, so the generated one is renamed
    assert conversion.functions[fit_name] == "fit"
    calls = []

    def wrap(kind, function):
        calls.append((kind, function.__name__))
        return function

    namespace = {"__name__": "not_main", WRAP_NAME: wrap}
    code = instrument(conversion.output.split("\nmodel = ")[0], conversion.functions, "tiny.k2t-torch.py")
    exec(code, namespace)  # noqa: S102 - only the definitions: nothing runs
    assert ("fit", fit_name) in calls
    assert all(name != "fit" for _, name in calls)
