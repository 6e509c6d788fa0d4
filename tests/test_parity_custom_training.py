"""Exact parity of tf.GradientTape training loops (issue 12): the Keras script and its conversion run
statement by statement; once each has built its model, the Keras weights are copied into the torch
module, so both train from the same weights. Without the shuffle both see the same batches, so every
step's loss (and the metrics' results) must agree.

k2t's ``parity --exact`` captures a script at its first fit(), which a loop written by hand never
calls: the comparison here is the same (same weights, no shuffle, no dropout), with the loop as written.
"""

import ast
import contextlib
import io

import numpy as np
import pytest
from conftest import FIXTURES, requires_keras, requires_torch

pytestmark = [requires_torch, requires_keras, pytest.mark.parity]

LOSS_RTOL = 1e-4  # per step, relative (float32 rounding through a few Adam steps)
SHUFFLE = ".shuffle(buffer_size=1024)"


def _run(source: str, path, model_built) -> dict:
    """Run ``source`` one top-level statement at a time; ``model_built(namespace)`` once `model` is bound.
    The source is written to ``path`` first: tf.function's AutoGraph reads the step functions' source there."""
    path.write_text(source, encoding="utf-8")
    namespace: dict = {"__name__": "__main__", "__file__": str(path)}
    with contextlib.redirect_stdout(io.StringIO()):
        for statement in ast.parse(source).body:
            exec(compile(ast.Module([statement], type_ignores=[]), str(path), "exec"), namespace)  # noqa: S102
            if isinstance(statement, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "model" for t in statement.targets):
                model_built(namespace)
    return namespace


def _run_both(source: str, tmp_path, class_name: str = "Net") -> tuple[dict, dict]:
    from k2t.parity.functional import keras_layers_for
    from k2t.parity.instrument import convert
    from k2t.weights import transfer_weights

    conversion = convert(source, "case.py")
    assert conversion.output is not None and not conversion.diagnostics, conversion.diagnostics
    built: dict = {}

    def keep_initial_weights(namespace: dict) -> None:
        built["keras"] = namespace["model"]
        built["weights"] = [weight.copy() for weight in namespace["model"].get_weights()]

    keras_side = _run(source, tmp_path / "case.py", keep_initial_weights)
    module_plan = conversion.module_plan(class_name)

    def copy_weights(namespace: dict) -> None:
        keras_model = built["keras"]
        keras_model.set_weights(built["weights"])  # the Keras run is over: back to the weights it started from
        layers = keras_layers_for(keras_model, module_plan) if module_plan.graph is not None else None  # Functional: in graph order
        transfer_weights(keras_model, namespace["model"], module_plan, layers)

    torch_side = _run(conversion.output, tmp_path / "case_torch.py", copy_weights)
    return keras_side, torch_side


def test_the_keras_io_training_loop_from_scratch_trains_as_keras_does_step_by_step(tmp_path):
    source = (FIXTURES / "training_loop_from_scratch" / "input.py").read_text(encoding="utf-8")
    assert source.count(SHUFFLE) == 1
    keras_side, torch_side = _run_both(source.replace(SHUFFLE, ""), tmp_path)
    keras_losses, torch_losses = keras_side["step_losses"], torch_side["step_losses"]
    assert len(keras_losses) == len(torch_losses) == 3 * 6  # 3 epochs of 192 rows in batches of 32
    np.testing.assert_allclose(torch_losses, keras_losses, rtol=LOSS_RTOL, atol=1e-6)
    assert keras_losses[-1] < 0.8 * keras_losses[0]  # it learns: the comparison is not of a flat line
    # The metric objects used by hand: the last epoch's accuracies, and the NumPy-slices validation.
    for name in ("train_acc", "val_acc"):
        assert float(torch_side[name]) == pytest.approx(float(keras_side[name]), abs=1e-6), name
    assert float(torch_side["val_acc_metric"].result()) == pytest.approx(float(keras_side["val_acc_metric"].result()), abs=1e-6)


LOOP_OVER_ARRAYS = """
import numpy as np
import tensorflow as tf
from tensorflow import keras

rng = np.random.default_rng(3)
x = rng.normal(size=(60, 5)).astype("float32")
y = x @ rng.normal(size=(5, 1))  # float64 targets: Keras's loss and metrics cast them to float32

model = keras.Sequential([keras.Input(shape=(5,)), keras.layers.Dense(8, activation="tanh"), keras.layers.Dense(1)])
optimizer = keras.optimizers.SGD(learning_rate=0.05, momentum=0.9)
loss_fn = keras.losses.MeanSquaredError()
mae = keras.metrics.MeanAbsoluteError()
rmse = keras.metrics.RootMeanSquaredError()
loss_tracker = keras.metrics.Mean(name="loss")

step_losses, norms = [], []
for epoch in range(2):
    for start in range(0, len(x), 16):
        x_batch, y_batch = x[start : start + 16], y[start : start + 16]
        with tf.GradientTape() as tape:
            predictions = model(x_batch, training=True)
            loss_value = loss_fn(y_batch, predictions)
        gradients = tape.gradient(loss_value, model.trainable_variables)
        gradients, global_norm = tf.clip_by_global_norm(gradients, 1.0)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables))
        mae.update_state(y_batch, predictions)
        rmse(y_batch, predictions)
        loss_tracker.update_state(loss_value)
        step_losses.append(float(loss_value))
        norms.append(float(global_norm))
final_mae = float(mae.result())
final_rmse = float(rmse.result())
mean_loss = float(loss_tracker.result())
"""


def test_a_loop_over_numpy_slices_with_clipped_gradients_sgd_momentum_mse_and_metric_objects_trains_as_keras_does(tmp_path):
    keras_side, torch_side = _run_both(LOOP_OVER_ARRAYS, tmp_path)
    assert len(torch_side["step_losses"]) == 2 * 4  # the last batch of each epoch is short (60 rows)
    np.testing.assert_allclose(torch_side["step_losses"], keras_side["step_losses"], rtol=LOSS_RTOL, atol=1e-6)
    # The global norm before clipping, and the clip at work on some steps (else the test would not see it).
    np.testing.assert_allclose(torch_side["norms"], keras_side["norms"], rtol=LOSS_RTOL)
    assert max(keras_side["norms"]) > 1.0
    # Metric objects used by hand: a mean metric, a stateful one (called), and keras.metrics.Mean.
    for name in ("final_mae", "final_rmse", "mean_loss"):
        assert torch_side[name] == pytest.approx(keras_side[name], rel=1e-4), name
    assert keras_side["mean_loss"] == pytest.approx(np.mean(keras_side["step_losses"]), rel=1e-5)


LOOP_WITH_TF_OPS = """
import numpy as np
import keras
import tensorflow as tf

rng = np.random.default_rng(5)
x = rng.normal(size=(64, 5)).astype("float32")
labels = np.argmax(x[:, :3] + 0.5 * x[:, 3:4], axis=1)  # learnable

model = keras.Sequential([keras.Input(shape=(5,)), keras.layers.Dense(8, activation="tanh"), keras.layers.Dense(3)])
optimizer = keras.optimizers.Adam(learning_rate=0.03)


def smoothed_loss(onehot, logits):
    soft = onehot * 0.9 + 0.1 / 3
    per_example = tf.nn.softmax_cross_entropy_with_logits(labels=soft, logits=logits)
    return keras.ops.mean(per_example)


@tf.function
def train_step(xb, yb):
    with tf.GradientTape() as tape:
        logits = model(xb, training=True)
        penalty = tf.reduce_mean(tf.square(logits))
        loss = smoothed_loss(tf.one_hot(yb, 3), logits) + 0.01 * penalty
    grads = tape.gradient(loss, model.trainable_weights)
    optimizer.apply_gradients(zip(grads, model.trainable_weights))
    return loss, logits


step_losses, accuracies, log_probs = [], [], []
for epoch in range(3):
    for start in range(0, len(x), 16):
        xb, yb = x[start : start + 16], labels[start : start + 16]
        loss, logits = train_step(xb, yb)
        step_losses.append(float(loss))
        for_labels = tf.cast(yb, tf.int64)
        acc = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(logits, axis=1), for_labels), tf.float32))
        accuracies.append(float(acc))
        log_probs.append(tf.reduce_mean(tf.math.log(tf.reduce_max(tf.nn.softmax(logits), axis=1))).numpy())
"""


def test_a_step_whose_loss_is_written_with_tensorflow_ops_trains_as_keras_does(tmp_path):
    """The op vocabulary inside the step, in a function the step calls, and after it on the step's outputs:
    tf.nn.softmax_cross_entropy_with_logits, keras.ops.mean, tf.one_hot, tf.reduce_mean(tf.square(...)),
    tf.cast, tf.math.log. The batches are NumPy slices, which TensorFlow's ops take as they are."""
    keras_side, torch_side = _run_both(LOOP_WITH_TF_OPS, tmp_path)
    assert len(torch_side["step_losses"]) == 3 * 4
    np.testing.assert_allclose(torch_side["step_losses"], keras_side["step_losses"], rtol=LOSS_RTOL, atol=1e-6)
    assert keras_side["step_losses"][-1] < 0.9 * keras_side["step_losses"][0]  # it learns
    np.testing.assert_allclose(torch_side["accuracies"], keras_side["accuracies"], atol=1e-6)
    np.testing.assert_allclose(torch_side["log_probs"], keras_side["log_probs"], rtol=LOSS_RTOL)


# A tape loop inside a function that receives the model (a course's chapter 12: `def train_model(model, ...)`),
# with its own loss object, optimizer and tf.data pipeline; the compiled model is evaluated after it.
LOOP_IN_A_FUNCTION = """
import numpy as np
import tensorflow as tf

rng = np.random.default_rng(5)
train_images = rng.normal(size=(96, 6)).astype("float32")
train_labels = rng.integers(0, 3, size=96)

model = tf.keras.Sequential([tf.keras.Input(shape=(6,)), tf.keras.layers.Dense(8, activation="relu"), tf.keras.layers.Dense(3, activation="softmax")])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
step_losses = []


def train_model(model, train_images, train_labels, epochs):
    train_dataset = tf.data.Dataset.from_tensor_slices((train_images, train_labels)).batch(16)
    loss_fn = tf.keras.losses.SparseCategoricalCrossentropy()
    optimizer = tf.keras.optimizers.Adam()
    for epoch in range(epochs):
        for step, (x_batch_train, y_batch_train) in enumerate(train_dataset):
            with tf.GradientTape() as tape:
                logits = model(x_batch_train, training=True)
                loss_value = loss_fn(y_batch_train, logits)
            grads = tape.gradient(loss_value, model.trainable_weights)
            optimizer.apply_gradients(zip(grads, model.trainable_weights))
            step_losses.append(float(loss_value))


train_model(model, train_images, train_labels, epochs=2)
test_loss, test_accuracy = model.evaluate(train_images, train_labels, verbose=0)
"""


def test_a_tape_loop_in_a_function_given_the_model_trains_as_keras_does(tmp_path):
    keras_side, torch_side = _run_both(LOOP_IN_A_FUNCTION, tmp_path)
    assert len(torch_side["step_losses"]) == 2 * 6
    np.testing.assert_allclose(torch_side["step_losses"], keras_side["step_losses"], rtol=LOSS_RTOL, atol=1e-6)
    assert np.mean(keras_side["step_losses"][6:]) < np.mean(keras_side["step_losses"][:6])  # the second epoch learned
    assert torch_side["test_loss"] == pytest.approx(keras_side["test_loss"], rel=1e-4)
    assert torch_side["test_accuracy"] == pytest.approx(keras_side["test_accuracy"], abs=1e-6)


# The model called inside the loss's ops (`tf.reduce_mean(tf.square(model(x) - y))`), in the loop and in a
# tf.function step; after training, inside ops on the script's own line.
MODEL_CALL_IN_OPS = """
import numpy as np
import tensorflow as tf
from tensorflow import keras

rng = np.random.default_rng(3)
x = rng.normal(size=(64, 4)).astype("float32")
y = x.sum(axis=1, keepdims=True)
model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)])
optimizer = keras.optimizers.Adam(1e-2)
dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
step_losses = []


@tf.function
def train_step(xb, yb):
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.abs(model(xb, training=True) - yb))
    grads = tape.gradient(loss, model.trainable_variables)  # another `grads` than the loop's
    optimizer.apply_gradients(zip(grads, model.trainable_variables))
    return loss


for epoch in range(2):
    for xb, yb in dataset:
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(model(xb, training=True) - yb))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        step_losses.append(float(loss))
    for xb, yb in dataset:
        step_losses.append(float(train_step(xb, yb)))
final_mse = float(tf.reduce_mean(tf.square(model(x) - y)))
"""


def test_a_model_called_inside_the_losss_ops_trains_as_keras_does(tmp_path):
    keras_side, torch_side = _run_both(MODEL_CALL_IN_OPS, tmp_path)
    assert len(torch_side["step_losses"]) == 2 * 2 * 4
    np.testing.assert_allclose(torch_side["step_losses"], keras_side["step_losses"], rtol=LOSS_RTOL, atol=1e-6)
    assert keras_side["step_losses"][3] < 0.9 * keras_side["step_losses"][0]  # it learns
    assert torch_side["final_mse"] == pytest.approx(keras_side["final_mse"], rel=LOSS_RTOL)
