"""Exact parity of fit(callbacks=[...]) against real Keras.

Each case is a tiny Keras script training with callbacks; k2t converts it and
the parity harness trains both sides from the same initial weights, without
shuffling or dropout, with each side's own callback objects. Beyond the
per-epoch history within the harness's tolerances, every case requires:
the same number of epochs (the stopping epoch), the same history keys in the
same order, "learning_rate" values equal to Keras's exactly, and the trained
(or restored) models giving the same outputs (max abs diff <= 1e-4).

The second half drives Keras's callback objects and the generated classes
directly with the same sequences of logs: the files they write (CSVLogger,
ModelCheckpoint names) and their decisions must be identical.
"""

import json
import os
import textwrap

import pytest
from conftest import requires_keras, requires_torch

pytestmark = [requires_torch, requires_keras, pytest.mark.parity]

SCRIPT = """\
import json
import numpy as np
import keras
{imports}

rng = np.random.RandomState(0)
x = rng.normal(size=(96, 6)).astype("float32")
y = (x[:, :3].sum(axis=1) > 0).astype("float32")
keras.utils.set_random_seed(0)
{preamble}
model = keras.Sequential([
    keras.Input(shape=(6,)),
    keras.layers.Dense(8, activation="relu"),
    keras.layers.Dense(1, activation="sigmoid"),
])
model.compile(optimizer={optimizer}, loss="binary_crossentropy", metrics=["accuracy"])
history = model.fit(x, y, batch_size=16, epochs={epochs}, verbose=0, validation_split=0.25, callbacks={callbacks})
"""


def callback_script(callbacks, epochs=8, preamble="", imports="", optimizer="keras.optimizers.Adam(0.01)"):
    return SCRIPT.format(
        callbacks=callbacks, epochs=epochs, preamble=textwrap.dedent(preamble), imports=imports, optimizer=optimizer
    )


def assert_callback_parity(source, tmp_path, epochs):
    from k2t.parity import exact_parity

    path = tmp_path / "case.py"
    path.write_text(source, encoding="utf-8")
    report = exact_parity(source, epochs=epochs, path=path)
    details = "\n".join(report.failures) + f"\nkeras: {report.keras_history}\ntorch: {report.torch_history}"
    assert report.error is None, report.error
    assert not report.diagnostics, report.diagnostics
    assert report.ok, details
    kh, th = report.keras_history, report.torch_history
    assert list(th) == list(kh), details
    assert {len(v) for v in th.values()} == {len(v) for v in kh.values()}, details  # same stopping epoch
    if "learning_rate" in kh:
        assert th["learning_rate"] == kh["learning_rate"], details
    assert report.trained_output_diff is not None and report.trained_output_diff <= 1e-4, report.trained_output_diff
    return report


def epochs_run(report):
    return len(report.keras_history["loss"])


# ------------------------------------------------------------------ EarlyStopping


def test_early_stopping_min_delta_stops_at_the_same_epoch(tmp_path):
    source = callback_script('[keras.callbacks.EarlyStopping(monitor="loss", min_delta=0.02, patience=1)]', epochs=20)
    report = assert_callback_parity(source, tmp_path, epochs=20)
    assert epochs_run(report) < 20  # it did stop early


def test_early_stopping_restores_the_best_weights(tmp_path):
    # mode="max" on val_loss: the best epoch is an early one, so the restored weights differ from the last ones.
    source = callback_script(
        '[keras.callbacks.EarlyStopping(monitor="val_loss", mode="max", patience=2, restore_best_weights=True, verbose=1)]',
        epochs=10,
    )
    report = assert_callback_parity(source, tmp_path, epochs=10)
    assert epochs_run(report) < 10


def test_early_stopping_restores_without_a_stop(tmp_path):
    source = callback_script(
        '[keras.callbacks.EarlyStopping(monitor="val_loss", mode="max", patience=50, restore_best_weights=True)]',
        epochs=5,
    )
    report = assert_callback_parity(source, tmp_path, epochs=5)
    assert epochs_run(report) == 5


def test_early_stopping_baseline_and_auto_mode_on_accuracy(tmp_path):
    source = callback_script(
        "[keras.callbacks.EarlyStopping(monitor='val_accuracy', baseline=0.99, patience=2)]", epochs=10
    )
    report = assert_callback_parity(source, tmp_path, epochs=10)
    # Never beyond the baseline, the wait is never reset: 1 after epoch 0, 2 after epoch 1 -> stop.
    assert epochs_run(report) == 2


def test_early_stopping_start_from_epoch(tmp_path):
    source = callback_script("[keras.callbacks.EarlyStopping('loss', 0.5, 0, start_from_epoch=3)]", epochs=10)
    report = assert_callback_parity(source, tmp_path, epochs=10)
    assert epochs_run(report) == 5


# -------------------------------------------------------------- learning rates


def test_reduce_lr_on_plateau(tmp_path):
    source = callback_script(
        '[keras.callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, min_delta=0.06, cooldown=1, min_lr=0.002)]',
        epochs=12,
    )
    report = assert_callback_parity(source, tmp_path, epochs=12)
    assert len(set(report.keras_history["learning_rate"])) > 2  # it did reduce, more than once


def test_reduce_lr_on_plateau_defaults_on_val_loss(tmp_path):
    source = callback_script("[keras.callbacks.ReduceLROnPlateau(patience=0, factor=0.2)]", epochs=6)
    assert_callback_parity(source, tmp_path, epochs=6)


def test_learning_rate_scheduler_two_argument_schedule(tmp_path):
    preamble = """
    def schedule(epoch, lr):
        return lr if epoch < 2 else lr * 0.7
    """
    source = callback_script("[keras.callbacks.LearningRateScheduler(schedule)]", epochs=6, preamble=preamble)
    report = assert_callback_parity(source, tmp_path, epochs=6)
    assert len(set(report.keras_history["learning_rate"])) == 5


def test_learning_rate_scheduler_one_argument_lambda_and_plateau(tmp_path):
    source = callback_script(
        "[LearningRateScheduler(lambda epoch: 0.02 / (epoch + 1), verbose=1), ReduceLROnPlateau('loss', patience=1)]",
        epochs=5,
        imports="from keras.callbacks import LearningRateScheduler, ReduceLROnPlateau",
    )
    assert_callback_parity(source, tmp_path, epochs=5)


def test_callback_setting_the_rate_with_keras2_backend_get_and_set_value(tmp_path):
    """Keras 2's idiom in a callback, K.get_value / K.set_value on the optimizer's learning rate, converts to
    the torch optimizer's param_groups[0]["lr"] read and assigned: the same code as Keras 3's spelling
    (an assignment to model.optimizer.learning_rate), whose training matches Keras's. Keras 3 itself no
    longer runs K.set_value on its variables (AttributeError), so the parity runs on that spelling."""
    import k2t

    keras3 = """
    class Decay(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch >= 2:
                self.model.optimizer.learning_rate = self.model.optimizer.learning_rate * 0.5
            print("rate", float(self.model.optimizer.learning_rate))
    """
    keras2 = """
    from tensorflow.keras import backend as K

    class Decay(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch >= 2:
                K.set_value(self.model.optimizer.learning_rate, K.get_value(self.model.optimizer.learning_rate) * 0.5)
            print("rate", float(K.get_value(self.model.optimizer.learning_rate)))
    """
    converted = {
        name: k2t.convert_source(callback_script("[Decay()]", epochs=5, preamble=preamble))
        for name, preamble in (("keras3", keras3), ("keras2", keras2))
    }
    assert converted["keras2"].diagnostics == ()
    assert converted["keras2"].output == converted["keras3"].output
    # Epochs 3 to 5 train at halved rates: the losses per epoch match Keras's only if each halving lands.
    assert_callback_parity(callback_script("[Decay()]", epochs=5, preamble=keras3), tmp_path, epochs=5)


# ----------------------------------------------------- checkpoints, logs, custom


def test_checkpoint_csv_and_early_stopping_from_variables(tmp_path):
    preamble = """
    from tensorflow.keras import callbacks as cbs
    stop = cbs.EarlyStopping(monitor="val_loss", patience=1, min_delta=0.01, restore_best_weights=True)
    saving = [cbs.ModelCheckpoint("ckpt/model-{epoch:02d}-{val_loss:.3f}.keras", monitor="val_accuracy", save_best_only=True)]
    saving.append(cbs.CSVLogger("history.csv"))
    """
    source = callback_script(
        "[stop] + saving + [cbs.TerminateOnNaN(), cbs.ProgbarLogger()]", epochs=10, preamble=preamble
    )
    report = assert_callback_parity(source, tmp_path, epochs=10)
    # The torch side ran last: its files are there, at the paths the script gave.
    rows = (tmp_path / "history.csv").read_text().splitlines()
    assert rows[0] == "epoch,accuracy,loss,val_accuracy,val_loss"
    assert len(rows) == 1 + epochs_run(report)
    assert [float(v) for v in rows[1].split(",")[1:]] == [
        report.torch_history[key][0] for key in ("accuracy", "loss", "val_accuracy", "val_loss")
    ]
    assert sorted(os.listdir(tmp_path / "ckpt"))


CUSTOM = """
class Recorder(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.events = [["train_begin", None, sorted(logs or {})]]

    def on_epoch_begin(self, epoch, logs=None):
        self.events.append(["epoch_begin", epoch, sorted(logs or {})])

    def on_train_batch_end(self, batch, logs=None):
        if batch == 0:
            self.events.append(["batch_end", batch, sorted(logs)])

    def on_epoch_end(self, epoch, logs=None):
        self.events.append(["epoch_end", epoch, {key: round(value, 4) for key, value in logs.items()}])
        logs["doubled_loss"] = 2 * logs["loss"]
        if epoch == 3:
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        self.events.append(["train_end", None, sorted(logs)])
        with open(f"events_{type(self.model).__name__}.json", "w") as f:
            json.dump(self.events, f)
"""


def test_lambda_callback(tmp_path):
    preamble = """
    seen = []
    log_lr = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: seen.append(logs["loss"]),
        on_train_batch_end=lambda batch, logs: logs.update(extra=1.0),
        on_train_end=lambda logs: json.dump(seen, open("seen.json", "w")),
    )
    """
    source = callback_script("[log_lr]", epochs=4, preamble=preamble)
    report = assert_callback_parity(source, tmp_path, epochs=4)
    assert json.loads((tmp_path / "seen.json").read_text()) == report.torch_history["loss"]


def test_custom_callback_hooks_run_at_the_same_points_with_the_same_logs(tmp_path):
    source = callback_script("[keras.callbacks.ReduceLROnPlateau(patience=1), Recorder()]", epochs=10, preamble=CUSTOM)
    report = assert_callback_parity(source, tmp_path, epochs=10)
    assert epochs_run(report) == 4
    assert report.keras_history["doubled_loss"] == [2 * v for v in report.keras_history["loss"]]
    keras_events = json.loads((tmp_path / "events_Sequential.json").read_text())
    torch_events = json.loads((tmp_path / "events_Net.json").read_text())
    assert torch_events == keras_events


# ------------------------------------------------ direct drive: same logs in, same effects


def _generated_namespace(tmp_path):
    """The generated callback classes, from converting a script that uses all of them."""
    import k2t

    source = callback_script(
        "[keras.callbacks.EarlyStopping(monitor='val_loss', min_delta=0.1, patience=2, baseline=0.5, mode='min',"
        " restore_best_weights=True, start_from_epoch=1, verbose=1),"
        " keras.callbacks.ReduceLROnPlateau(monitor='val_loss', factor=0.5, patience=1, verbose=1, mode='min',"
        " min_delta=0.1, cooldown=1, min_lr=0.001),"
        " keras.callbacks.ModelCheckpoint('m.keras', monitor='val_loss', verbose=1, save_best_only=True,"
        " save_weights_only=False, mode='min', initial_value_threshold=None),"
        " keras.callbacks.CSVLogger('h.csv', separator=';', append=True)]",
        epochs=1,
    )
    output = k2t.convert_source(source).output
    namespace = {"__name__": "generated"}
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        exec(compile(output, "generated.py", "exec"), namespace)  # noqa: S102
    finally:
        os.chdir(cwd)
    return namespace


LOGS = [
    {"loss": 0.9, "val_loss": 0.8},
    {"loss": 0.7, "val_loss": 0.75},
    {"loss": 0.6, "val_loss": 0.7500000001},  # equal to the best in float32: not an improvement
    {"loss": 0.5, "val_loss": 0.6},
    {"loss": 0.45, "val_loss": 0.61},
    {"loss": 0.4, "val_loss": 0.59},
    {"loss": 0.3, "val_loss": 0.2},
]


def _drive(callback, model, logs_sequence, optimizer_lr=None):
    callback.set_model(model)
    callback.on_train_begin({})
    decisions = []
    for epoch, logs in enumerate(logs_sequence):
        logs = dict(logs)
        callback.on_epoch_begin(epoch, {})
        callback.on_epoch_end(epoch, logs)
        decisions.append((logs.get("learning_rate"), bool(getattr(model, "stop_training", False))))
        model.stop_training = False
    callback.on_train_end(logs)
    return decisions


@pytest.fixture
def models():
    import keras
    import torch

    kmodel = keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(1)])
    kmodel.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    tmodel = torch.nn.Linear(2, 1)
    tmodel.optimizer = torch.optim.Adam(tmodel.parameters(), lr=0.01)
    return kmodel, tmodel


@pytest.mark.parametrize(
    "arguments",
    [
        "monitor='val_loss', min_delta=0.02, patience=1",
        "monitor='loss', patience=2, baseline=0.55",
        "monitor='val_loss', patience=0, start_from_epoch=2, mode='max'",
        "monitor='val_loss', min_delta=-0.05, patience=1",
    ],
)
def test_early_stopping_decisions_equal_keras(arguments, models, tmp_path):
    import keras

    kmodel, tmodel = models
    ns = _generated_namespace(tmp_path)
    keras_cb = eval(f"keras.callbacks.EarlyStopping({arguments})", {"keras": keras})
    torch_cb = eval(f"EarlyStopping({arguments})", ns)
    assert _drive(torch_cb, tmodel, LOGS) == _drive(keras_cb, kmodel, LOGS)
    assert (torch_cb.stopped_epoch, torch_cb.best, torch_cb.best_epoch, torch_cb.wait) == (
        keras_cb.stopped_epoch,
        keras_cb.best,
        keras_cb.best_epoch,
        keras_cb.wait,
    )


@pytest.mark.parametrize(
    "arguments",
    [
        "patience=1, factor=0.5",
        "monitor='loss', patience=0, factor=0.3, min_lr=0.004",
        "patience=1, min_delta=0.02, cooldown=2, factor=0.5",
    ],
)
def test_reduce_lr_on_plateau_learning_rates_equal_keras(arguments, models, tmp_path):
    import keras
    import numpy as np

    kmodel, tmodel = models
    ns = _generated_namespace(tmp_path)
    keras_cb = eval(f"keras.callbacks.ReduceLROnPlateau({arguments})", {"keras": keras})
    torch_cb = eval(f"ReduceLROnPlateau({arguments})", ns)
    keras_lrs = _drive(keras_cb, kmodel, LOGS)
    torch_lrs = _drive(torch_cb, tmodel, LOGS)
    assert torch_lrs == keras_lrs
    assert float(np.float32(tmodel.optimizer.param_groups[0]["lr"])) == float(kmodel.optimizer.learning_rate.numpy())


def test_checkpoint_file_names_equal_keras(models, tmp_path):
    import keras

    kmodel, tmodel = models
    ns = _generated_namespace(tmp_path)
    pattern = "{dir}/w-{{epoch:03d}}-{{val_loss:.4f}}.weights.h5"
    (tmp_path / "k").mkdir()
    keras_cb = keras.callbacks.ModelCheckpoint(
        pattern.format(dir=tmp_path / "k"), save_best_only=True, save_weights_only=True, initial_value_threshold=0.78
    )
    torch_cb = ns["ModelCheckpoint"](
        pattern.format(dir=tmp_path / "t"), save_best_only=True, save_weights_only=True, initial_value_threshold=0.78
    )
    _drive(keras_cb, kmodel, LOGS)
    _drive(torch_cb, tmodel, LOGS)
    names = sorted(os.listdir(tmp_path / "t"))
    assert names == sorted(os.listdir(tmp_path / "k"))
    assert names == [
        "w-002-0.7500.weights.h5",
        "w-004-0.6000.weights.h5",
        "w-006-0.5900.weights.h5",
        "w-007-0.2000.weights.h5",
    ]
    import torch

    state = torch.load(tmp_path / "t" / names[-1])
    assert set(state) == set(tmodel.state_dict())


@pytest.mark.parametrize("append", [False, True])
def test_csv_logger_file_equals_keras(append, models, tmp_path):
    import keras

    kmodel, tmodel = models
    ns = _generated_namespace(tmp_path)
    logs = [{"loss": 0.5, "accuracy": 1 / 3}, {"loss": 0.25, "accuracy": 0.5, "learning_rate": 0.001}]
    for side, cb_class in (("k", keras.callbacks.CSVLogger), ("t", ns["CSVLogger"])):
        path = tmp_path / f"{side}.csv"
        for _ in range(2 if append else 1):
            _drive(cb_class(str(path), separator=";", append=append), kmodel if side == "k" else tmodel, logs)
    assert (tmp_path / "t.csv").read_bytes() == (tmp_path / "k.csv").read_bytes()


# ------------------------------------------------------------------ conversion text


def test_conversion_of_callbacks_reads_like_keras(tmp_path):
    import k2t

    source = callback_script(
        "[keras.callbacks.EarlyStopping(patience=3), keras.callbacks.TensorBoard(log_dir='tb')]", epochs=2
    )
    output = k2t.convert_source(source).output
    assert "callbacks=[EarlyStopping(patience=3), TensorBoard(log_dir='tb')]" in output
    assert "def __init__(self, patience=0):" in output
    assert "restore_best_weights" not in output  # only what the script uses
    assert "from torch.utils.tensorboard import SummaryWriter" in output
    assert "import keras" not in output and "keras.callbacks.EarlyStopping(" not in output


def test_tensorboard_without_tensorboard_installed_says_so(tmp_path, monkeypatch):
    import sys

    import k2t

    # As on a machine without tensorboard, installed here or not: the import fails.
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)

    output = k2t.convert_source(callback_script("[keras.callbacks.TensorBoard(log_dir='tb')]", epochs=1)).output
    namespace = {"__name__": "generated"}
    generated = output.split("\nrng = ")[0]  # the definitions, not the script's training
    exec(compile(generated, "generated.py", "exec"), namespace)  # noqa: S102
    with pytest.raises(ImportError, match="pip install tensorboard"):
        namespace["TensorBoard"](log_dir=str(tmp_path / "tb"))


def test_tabular_callbacks_fixture_trains_like_keras_to_its_early_stop(tmp_path):
    from pathlib import Path

    fixture = Path(__file__).resolve().parent.parent / "fixtures" / "tabular_callbacks" / "input.py"
    path = tmp_path / "input.py"
    path.write_text(fixture.read_text(encoding="utf-8"), encoding="utf-8")
    report = assert_callback_parity(path.read_text(encoding="utf-8"), tmp_path, epochs=40)
    assert epochs_run(report) < 40  # EarlyStopping ended it, at the same epoch on both sides
    assert (tmp_path / "checkpoints" / "churn_best.keras").exists()


MULTI_OUTPUT = """\
import numpy as np
import keras

rng = np.random.RandomState(0)
x = rng.normal(size=(96, 6)).astype("float32")
y1 = (x[:, :3].sum(axis=1) > 0).astype("float32")
y2 = x[:, :2].sum(axis=1, keepdims=True).astype("float32")
keras.utils.set_random_seed(0)
inputs = keras.Input(shape=(6,))
h = keras.layers.Dense(8, activation="relu")(inputs)
a = keras.layers.Dense(1, activation="sigmoid", name="cls")(h)
b = keras.layers.Dense(1, name="reg")(h)
model = keras.Model(inputs, [a, b])
model.compile(optimizer=keras.optimizers.Adam(0.01), loss=["binary_crossentropy", "mse"], metrics=[["accuracy"], ["mae"]])
history = model.fit(
    x, [y1, y2], batch_size=16, epochs=12, verbose=0, validation_split=0.25,
    callbacks=[
        keras.callbacks.ReduceLROnPlateau("loss", factor=0.5, patience=1, min_delta=0.08),
        keras.callbacks.EarlyStopping(monitor="val_cls_accuracy", mode="max", patience=2, restore_best_weights=True),
    ],
)
"""


def test_callbacks_with_a_two_output_functional_model(tmp_path):
    report = assert_callback_parity(MULTI_OUTPUT, tmp_path, epochs=12)
    assert len(set(report.keras_history["learning_rate"])) == 2


WARMUP = """
class Warmup(keras.callbacks.Callback):
    def __init__(self, target, epochs):
        super().__init__()
        self.target, self.epochs = target, epochs

    def on_epoch_begin(self, epoch, logs=None):
        if epoch < self.epochs:
            self.model.optimizer.learning_rate = self.target * (epoch + 1) / self.epochs

    def on_epoch_end(self, epoch, logs=None):
        logs["lr"] = float(self.model.optimizer.learning_rate)
"""


def test_custom_callback_reading_and_setting_the_learning_rate(tmp_path):
    source = callback_script("[Warmup(0.02, 3)]", epochs=5, preamble=WARMUP)
    report = assert_callback_parity(source, tmp_path, epochs=5)
    assert report.keras_history["lr"][:3] == pytest.approx([0.02 / 3, 0.04 / 3, 0.02])


HOLDOUT = """
class HoldOut(keras.callbacks.Callback):
    def __init__(self, x, y):
        super().__init__()
        self.x, self.y = x, y

    def on_epoch_end(self, epoch, logs=None):
        probs = self.model.predict(self.x, verbose=0)
        loss, accuracy = self.model.evaluate(self.x, self.y, batch_size=8, verbose=0)
        logs["holdout_loss"] = loss
        logs["holdout_mean_probability"] = float(probs.mean())
"""


def test_custom_callback_calling_predict_and_evaluate(tmp_path):
    source = callback_script("[HoldOut(x[:20], y[:20])]", epochs=4, preamble=HOLDOUT)
    report = assert_callback_parity(source, tmp_path, epochs=4)
    assert len(report.keras_history["holdout_loss"]) == 4


def _scalars(event_file):
    """{tag: [(step, value)]} of one event file, read with tensorboard's own reader (v1 scalars or v2 tensors)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.util import tensor_util

    events = EventAccumulator(str(event_file), size_guidance={"scalars": 0, "tensors": 0})
    events.Reload()
    found = {tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]}
    for tag in [t for t in events.Tags()["tensors"] if t.startswith("epoch_")]:  # not Keras's model-config text
        found[tag] = [(e.step, float(tensor_util.make_ndarray(e.tensor_proto))) for e in events.Tensors(tag)]
    return found


def test_tensorboard_writes_the_scalars_keras_writes(tmp_path):
    """Same run folders (train/, validation/), tags, epochs and values as Keras's TensorBoard callback."""
    pytest.importorskip("tensorboard")
    report = assert_callback_parity(callback_script("[keras.callbacks.TensorBoard(log_dir='tb')]", epochs=3), tmp_path, 3)
    assert epochs_run(report) == 3
    for run in ("train", "validation"):
        files = sorted((tmp_path / "tb" / run).glob("events.out.tfevents.*"))
        # Both sides log into the script's folder: Keras's (TF summary v2) files end in .v2, torch's do not.
        keras_files = [f for f in files if f.name.endswith(".v2")]
        torch_files = [f for f in files if not f.name.endswith(".v2")]
        assert len(keras_files) == 1 and len(torch_files) == 1, files
        keras_scalars = {tag: v for tag, v in _scalars(keras_files[0]).items() if tag.startswith("epoch_")}
        torch_scalars = _scalars(torch_files[0])
        assert sorted(torch_scalars) == sorted(keras_scalars), (torch_scalars, keras_scalars)
        assert len(keras_scalars) >= 2 and all(len(v) == 3 for v in keras_scalars.values()), keras_scalars
        for tag, values in keras_scalars.items():
            assert [step for step, _ in torch_scalars[tag]] == [step for step, _ in values], tag
            for (_, kv), (_, tv) in zip(values, torch_scalars[tag]):
                assert tv == pytest.approx(kv, rel=1e-3, abs=1e-6), (tag, kv, tv)
