"""Exact parity of keras.Model subclasses without call() whose steps compose the models given to them (issue 12):
keras.io's knowledge distillation (``Distiller(student=student, teacher=teacher)`` with its own compile() storing the
losses, alpha and temperature, the student's weights alone updated, Keras 3's compiled_metrics shim) and
``keras.models.clone_model``."""

import pytest
from conftest import requires_keras, requires_torch

pytestmark = [requires_torch, requires_keras, pytest.mark.parity]

DISTILLER = """\
import numpy as np
import tensorflow as tf
import keras
from keras import layers

keras.utils.set_random_seed(0)
rng = np.random.RandomState(0)
x = rng.normal(size=(96, 6)).astype("float32")
y = (x[:, 0] > 0).astype("int64") + (x[:, 1] > 0.5).astype("int64")


class Distiller(keras.Model):
    def __init__(self, student, teacher):
        super(Distiller, self).__init__()
        self.teacher = teacher
        self.student = student

    def compile(self, optimizer, metrics, student_loss_fn, distillation_loss_fn, alpha=0.1, temperature=3):
        \"\"\"Configure the distiller.\"\"\"
        super(Distiller, self).compile(optimizer=optimizer, metrics=metrics)
        self.student_loss_fn = student_loss_fn
        self.distillation_loss_fn = distillation_loss_fn
        self.alpha = alpha
        self.temperature = temperature

    def train_step(self, data):
        x, y = data
        teacher_predictions = self.teacher(x, training=False)
        with tf.GradientTape() as tape:
            student_predictions = self.student(x, training=True)
            student_loss = self.student_loss_fn(y, student_predictions)
            distillation_loss = self.distillation_loss_fn(
                tf.nn.softmax(teacher_predictions / self.temperature, axis=1),
                tf.nn.softmax(student_predictions / self.temperature, axis=1),
            )
            loss = self.alpha * student_loss + (1 - self.alpha) * distillation_loss
        trainable_vars = self.student.trainable_variables
        gradients = tape.gradient(loss, trainable_vars)
        self.optimizer.apply_gradients(zip(gradients, trainable_vars))
        self.compiled_metrics.update_state(y, student_predictions)
        results = {m.name: m.result() for m in self.metrics}
        results.update({"student_loss": student_loss, "distillation_loss": distillation_loss})
        return results

    def test_step(self, data):
        x, y = data
        y_prediction = self.student(x, training=False)
        student_loss = self.student_loss_fn(y, y_prediction)
        self.compiled_metrics.update_state(y, y_prediction)
        results = {m.name: m.result() for m in self.metrics}
        results.update({"student_loss": student_loss})
        return results


teacher = keras.Sequential(
    [keras.Input(shape=(6,)), layers.Dense(16), layers.LeakyReLU(negative_slope=0.2), layers.Dense(3)], name="teacher"
)
student = keras.Sequential([keras.Input(shape=(6,)), layers.Dense(4, activation="relu"), layers.Dense(3)], name="student")
student_scratch = keras.models.clone_model(student)

teacher.compile(
    optimizer=keras.optimizers.Adam(0.01),
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    metrics=[keras.metrics.SparseCategoricalAccuracy()],
)
teacher.fit(x, y, epochs=3, batch_size=16, verbose=0)

distiller = Distiller(student=student, teacher=teacher)
distiller.compile(
    optimizer=keras.optimizers.Adam(),
    metrics=[keras.metrics.SparseCategoricalAccuracy()],
    student_loss_fn=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    distillation_loss_fn=keras.losses.KLDivergence(),
    alpha=0.1,
    temperature=10,
)
history = distiller.fit(x, y, epochs=3, batch_size=16, verbose=0)
print("distiller:", distiller.evaluate(x, y, verbose=0))

student_scratch.compile(
    optimizer=keras.optimizers.Adam(),
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    metrics=[keras.metrics.SparseCategoricalAccuracy()],
)
student_scratch.fit(x, y, epochs=3, batch_size=16, verbose=0)
print("scratch:", student_scratch.evaluate(x, y, verbose=0))
"""


def _parity(source: str, tmp_path, fit_index: int):
    from k2t.parity import exact_parity

    script = tmp_path / "input.py"
    script.write_text(source, encoding="utf-8")
    report = exact_parity(source, epochs=3, path=script, fit_index=fit_index)
    assert report.error is None, report.error
    details = "\n".join(report.failures) + f"\nkeras: {report.keras_history}\ntorch: {report.torch_history}"
    assert report.ok, details
    assert all(len(values) == 3 for values in report.torch_history.values()), details
    return report, details


def test_the_keras_io_distiller_trains_the_student_as_keras_does(tmp_path):
    # fit 0 trains the teacher; fit 1 is the distiller's, from the weights Keras's has then (the teacher's trained ones)
    report, details = _parity(DISTILLER, tmp_path, fit_index=1)
    assert sorted(report.torch_history) == sorted(report.keras_history), details
    assert sorted(report.keras_history) == ["distillation_loss", "loss", "sparse_categorical_accuracy", "student_loss"]


def test_a_clone_trains_as_keras_trains_it(tmp_path):
    report, details = _parity(DISTILLER, tmp_path, fit_index=2)
    assert sorted(report.keras_history) == ["loss", "sparse_categorical_accuracy"], details
