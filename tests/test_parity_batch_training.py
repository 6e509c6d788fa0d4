"""Exact parity of what the one training template gives every kind of data (issues 13 and 15): callbacks
on fit over batches (a generator, a Sequence, a tf.data pipeline) as on arrays, and the mixed-precision
policy with batches and with several outputs.

Each side runs its own script up to the call, in this process; the torch model gets Keras's initial weights
(k2t.weights); then both run the call as their script wrote it, with fresh callbacks and generators of their
own, and give the same numbers: the same epoch to stop at, the same learning rates, the same batch logs.
"""

import json
import textwrap

import numpy as np
import pytest
from conftest import requires_keras, requires_torch, run_standalone
from test_precision import BFLOAT16_RTOL
from unwrapped import unwrapped

import k2t

RTOL = 1e-4

PRELUDE = """
import numpy as np
import tensorflow as tf
import keras
from keras import layers

keras.utils.set_random_seed(0)
x = np.random.RandomState(1).rand(45, 4).astype("float32")
y = (x.sum(axis=1, keepdims=True) > 2).astype("float32")


def batches(x, y, size):
    # A last batch of 45 % size rows in every pass: batches of different sizes.
    while True:
        for start in range(0, len(x), size):
            yield x[start : start + size], y[start : start + size]


class Rows(keras.utils.Sequence):
    def __init__(self, x, y, size):
        super().__init__()
        self.x, self.y, self.size = x, y, size

    def __len__(self):
        return int(np.ceil(len(self.x) / self.size))

    def __getitem__(self, index):
        rows = slice(index * self.size, (index + 1) * self.size)
        return self.x[rows], self.y[rows]


class BatchLog(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.seen = []

    def on_train_batch_end(self, batch, logs=None):
        self.seen.append((batch, round(logs["loss"], 5), round(logs["accuracy"], 5)))


{policy}
model = keras.Sequential([keras.Input((4,)), layers.Dense(6, activation="tanh"), layers.Dense(1), layers.Activation("sigmoid", dtype="float32")])
model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.3, momentum=0.5), loss="binary_crossentropy", metrics=["accuracy"])
"""


def _source(body: str, policy: str = "") -> str:
    return PRELUDE.format(policy=policy) + textwrap.dedent(body)


def _run_both(body: str, kind: str, tmp_path, policy: str = ""):
    """Run the script on both sides up to its first `kind` call, then that call from the same weights;
    (Keras's result, torch's result, Keras's call arguments, torch's call arguments)."""
    import keras

    from k2t.parity.capture import capture_first, run_keras, run_torch
    from k2t.parity.functional import keras_layers_for
    from k2t.parity.instrument import convert
    from k2t.weights import transfer_weights

    source = _source(body, policy)
    conversion = convert(source, "case.py")
    assert conversion.output is not None and not conversion.diagnostics, conversion.diagnostics
    path = tmp_path / "case.py"
    try:
        kcap = capture_first(run_keras, source, path, kind=kind)
        tcap = capture_first(run_torch, conversion, path, kind=kind)
        assert kcap is not None and tcap is not None
        plan = conversion.module_plan(type(tcap.args[0]).__name__)
        functional = plan.graph is not None  # a Functional model: its Keras layers in the plan's order
        transfer_weights(kcap.args[0], tcap.args[0], plan, keras_layers_for(kcap.args[0], plan) if functional else None)
        keras_result = kcap.function(*kcap.args, **kcap.kwargs)
        torch_result = tcap.function(*tcap.args, **tcap.kwargs)
    finally:
        keras.mixed_precision.set_global_policy("float32")  # the policy is global to this process
    return keras_result, torch_result, kcap, tcap


def _assert_histories(keras_history, torch_history, rtol=RTOL):
    assert list(torch_history) == list(keras_history)
    for key, values in keras_history.items():
        np.testing.assert_allclose(torch_history[key], values, rtol=rtol, atol=1e-6, err_msg=key)


def test_callbacks_on_batches_convert_without_diagnostics():
    result = k2t.convert_source(
        _source("model.fit_generator(batches(x, y, 8), 5, 4, 0, [keras.callbacks.EarlyStopping(monitor='loss')])\n"), "case.py"
    )
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    assert "fit_batches(model, optimizer, batches(x, y, 8), steps_per_epoch=5, epochs=4, verbose=0, callbacks=[EarlyStopping(monitor='loss')])" in unwrapped(result.output)
    assert "callback.on_epoch_end(epoch, logs)" in result.output.split("def fit_batches")[1]


@requires_torch
@requires_keras
@pytest.mark.parity
def test_early_stopping_on_a_generator_stops_at_the_epoch_keras_stops(tmp_path):
    keras_history, torch_history, _, _ = _run_both(
        """
        # The loss falls by 0.033, then 0.031 an epoch: Keras stops after the third epoch.
        stop = keras.callbacks.EarlyStopping(monitor="loss", min_delta=0.032, patience=1)
        model.fit(batches(x, y, 10), steps_per_epoch=5, epochs=12, verbose=0, callbacks=[stop])
        """,
        "fit",
        tmp_path,
    )
    assert len(keras_history.history["loss"]) == 3
    assert torch_history.epoch == keras_history.epoch
    _assert_histories(keras_history.history, torch_history.history)


@requires_torch
@requires_keras
@pytest.mark.parity
def test_reduce_lr_on_plateau_on_a_tf_data_pipeline_gives_keras_learning_rates(tmp_path):
    keras_history, torch_history, _, _ = _run_both(
        """
        train_ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(10)
        val_ds = tf.data.Dataset.from_tensor_slices((x[::-1].copy(), y[::-1].copy())).batch(16)
        plateau = keras.callbacks.ReduceLROnPlateau(monitor="loss", min_delta=0.035, patience=0, factor=0.5)
        model.fit(train_ds, epochs=6, validation_data=val_ds, verbose=0, callbacks=[plateau])
        """,
        "fit",
        tmp_path,
    )
    learning_rates = keras_history.history["learning_rate"]
    assert len(set(learning_rates)) > 1  # the plateau lowered it
    assert torch_history.history["learning_rate"] == learning_rates
    _assert_histories(keras_history.history, torch_history.history)


@requires_torch
@requires_keras
@pytest.mark.parity
def test_batch_hooks_and_a_schedule_on_a_sequence_see_keras_logs(tmp_path):
    keras_history, torch_history, kcap, tcap = _run_both(
        """
        schedule = keras.callbacks.LearningRateScheduler(lambda epoch, lr: lr * 0.5 if epoch else lr)
        model.fit(Rows(x, y, 10), epochs=3, verbose=0, shuffle=False, callbacks=[BatchLog(), schedule])
        """,
        "fit",
        tmp_path,
    )
    _assert_histories(keras_history.history, torch_history.history)
    keras_log, torch_log = kcap.kwargs["callbacks"][0].seen, tcap.kwargs["callbacks"][0].seen
    assert len(keras_log) == 15  # 5 batches an epoch
    assert [entry[0] for entry in torch_log] == [entry[0] for entry in keras_log]
    np.testing.assert_allclose([entry[1:] for entry in torch_log], [entry[1:] for entry in keras_log], rtol=RTOL, atol=2e-5)


@requires_torch
@requires_keras
@pytest.mark.parity
def test_mixed_bfloat16_on_a_generator_trains_like_keras(tmp_path):
    keras_history, torch_history, _, _ = _run_both(
        "model.fit(batches(x, y, 10), steps_per_epoch=5, epochs=3, verbose=0, validation_data=Rows(x, y, 15))\n",
        "fit",
        tmp_path,
        policy='keras.mixed_precision.set_global_policy("mixed_bfloat16")',
    )
    _assert_histories(keras_history.history, torch_history.history, rtol=BFLOAT16_RTOL)


@requires_torch
@requires_keras
@pytest.mark.parity
def test_two_outputs_on_a_generator_train_like_keras(tmp_path):
    keras_history, torch_history, _, _ = _run_both(
        """
        def two_targets(size):
            # The targets of each batch as a tuple in output order, as Keras reads them.
            while True:
                for start in range(0, len(x), size):
                    rows = slice(start, start + size)
                    yield x[rows], (y[rows], x[rows, :2].sum(axis=1, keepdims=True))


        features = keras.Input((4,))
        hidden = layers.Dense(6, activation="tanh")(features)
        label = layers.Dense(1, activation="sigmoid", name="label")(hidden)
        value = layers.Dense(1, name="value")(hidden)
        two = keras.Model(features, [label, value])
        two.compile(
            optimizer=keras.optimizers.SGD(learning_rate=0.1, momentum=0.5),
            loss={"label": "binary_crossentropy", "value": "mse"},
            loss_weights={"label": 1.0, "value": 0.5},
            metrics={"label": ["accuracy"], "value": ["mae"]},
        )
        validation = (x, {"label": y, "value": x[:, :2].sum(axis=1, keepdims=True)})
        two.fit(two_targets(10), steps_per_epoch=5, epochs=3, verbose=0, validation_data=validation)
        """,
        "fit",
        tmp_path,
    )
    assert "value_mae" in keras_history.history and "val_label_loss" in keras_history.history
    assert sorted(torch_history.history) == sorted(keras_history.history)
    for key, values in keras_history.history.items():
        np.testing.assert_allclose(torch_history.history[key], values, rtol=RTOL, atol=1e-6, err_msg=key)


TWO_OUTPUTS = """\
import json

import numpy as np
import keras

keras.mixed_precision.set_global_policy({policy})
rng = np.random.RandomState(0)
x = rng.normal(size=(96, 6)).astype("float32")
y_class = (x.sum(axis=1) > 0).astype("float32")
y_value = x[:, :2].sum(axis=1, keepdims=True).astype("float32")
keras.utils.set_random_seed(0)
inputs = keras.Input(shape=(6,))
hidden = keras.layers.Dense(8, activation="relu")(inputs)
# Keras's losses cast the lower-precision outputs to float32, as the conversion does after autocast.
label = keras.layers.Dense(1, activation="sigmoid", name="label")(hidden)
value = keras.layers.Dense(1, name="value")(hidden)
model = keras.Model(inputs, [label, value])
model.compile(optimizer="adam", loss=["binary_crossentropy", "mse"], loss_weights=[1.0, 0.5], metrics=[["accuracy"], ["mae"]])
history = model.fit(x, [y_class, y_value], batch_size=16, epochs=3, verbose=0, validation_split=0.25)
print(json.dumps(history.history))
"""


@requires_torch
@requires_keras
@pytest.mark.parity
def test_mixed_bfloat16_with_two_outputs_trains_like_keras(tmp_path):
    import keras

    from k2t.parity import exact_parity

    try:
        report = exact_parity(
            TWO_OUTPUTS.format(policy='"mixed_bfloat16"'),
            epochs=3,
            path=tmp_path / "mixed.py",
            layer_tol=BFLOAT16_RTOL * 4,  # activations of N(0, 1) inputs through these layers stay below 4
            loss_rtol=BFLOAT16_RTOL,
            metric_rtol=BFLOAT16_RTOL,
        )
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert report.error is None, report.error
    assert not report.diagnostics, report.diagnostics
    assert report.ok, "\n".join(report.failures) + f"\nkeras: {report.keras_history}\ntorch: {report.torch_history}"
    assert "value_mae" in report.torch_history and "val_label_loss" in report.torch_history


GENERATOR_FLOAT16 = """\
import json

import numpy as np
import keras

keras.mixed_precision.set_global_policy("mixed_float16")
x = np.random.RandomState(0).normal(size=(96, 6)).astype("float32")
y = (x.sum(axis=1) > 0).astype("float32")


def batches(x, y):
    while True:
        for start in range(0, len(x), 16):
            yield x[start : start + 16], y[start : start + 16]


model = keras.Sequential([keras.Input(shape=(6,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1, activation="sigmoid")])
model.compile(optimizer="adam", loss="binary_crossentropy")
history = model.fit(batches(x, y), steps_per_epoch=6, epochs=3, verbose=0)
print(json.dumps(history.history))
"""


@requires_torch
@pytest.mark.parametrize(
    ("source", "function"),
    [
        pytest.param(TWO_OUTPUTS.format(policy='"mixed_float16"'), "def fit(", id="two-outputs"),
        pytest.param(GENERATOR_FLOAT16, "def fit_batches(", id="generator"),
    ],
)
def test_float16_policy_scales_the_loss_in_every_loop(source, function, tmp_path):
    result = k2t.convert_source(source, "mixed.py")
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    training = result.output.split(function)[1]
    assert "torch.autocast(device_type=device.type, dtype=torch.float16)" in training
    assert "scaler = torch.amp.GradScaler(device.type, init_scale=2.0**15, growth_interval=2000)" in training
    assert "scaler.scale(loss).backward()" in training and "scaler.step(optimizer)" in training
    # torch 2.13's CPU autocast computes in float16 too: the script runs.
    path = tmp_path / "mixed.py"
    path.write_text(result.output, encoding="utf-8")
    run = run_standalone(path)
    assert run.returncode == 0, run.stderr
    history = json.loads(run.stdout.strip().splitlines()[-1])
    assert history["loss"][-1] < history["loss"][0]


@requires_torch
@requires_keras
@pytest.mark.parity
def test_mixed_bfloat16_predict_on_a_sequence_gives_keras_outputs(tmp_path):
    policy = 'keras.mixed_precision.set_global_policy("mixed_bfloat16")'
    body = "p = model.predict(Rows(x, y, 10), verbose=0)\n"
    predict = k2t.convert_source(_source(body, policy), "case.py").output.split("def predict_batches(")[1]
    assert "torch.autocast(device_type=device.type, dtype=torch.bfloat16)" in predict
    keras_result, torch_result, _, _ = _run_both(body, "predict", tmp_path, policy=policy)
    assert torch_result.dtype == keras_result.dtype == np.float32  # the float32 last layer, as Keras
    np.testing.assert_allclose(torch_result, keras_result, rtol=BFLOAT16_RTOL)


TWO_INPUTS = """
a = keras.Input((4,), name="a")
b = keras.Input((2,), name="b")
joined = layers.Concatenate()([layers.Dense(3, activation="tanh")(a), b])
two = keras.Model([a, b], layers.Dense(1, activation="sigmoid")(joined))
two.compile(optimizer="sgd", loss="binary_crossentropy", metrics=["accuracy"])
pairs = tf.data.Dataset.from_tensor_slices(((x, x[:, :2]), y)).batch(10)
named = tf.data.Dataset.from_tensor_slices(({"a": x, "b": x[:, :2]}, y)).batch(10)
p = two.predict(pairs, verbose=0)
q = two.predict(named, verbose=0)
scores = two.evaluate(named, verbose=0)
"""


@requires_torch
@requires_keras
@pytest.mark.parity
@pytest.mark.parametrize("kind", ["predict", "evaluate"])
def test_two_inputs_predict_and_evaluate_on_batches_like_keras(kind, tmp_path):
    """((a, b), y) and ({"a": a, "b": b}, y) batches of a model of two Inputs, beside the prelude's model of one."""
    keras_result, torch_result, _, _ = _run_both(TWO_INPUTS, kind, tmp_path)
    np.testing.assert_allclose(torch_result, keras_result, rtol=1e-5, atol=1e-5)
