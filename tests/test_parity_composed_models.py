"""Exact parity of keras.Model subclasses without call() whose steps compose the models given to them (issue 12):
keras.io's knowledge distillation (``Distiller(student=student, teacher=teacher)`` with its own compile() storing the
losses, alpha and temperature, the student's weights alone updated, Keras 3's compiled_metrics shim),
``keras.models.clone_model``, and keras.io's DCGAN step (two tapes, two optimizers, each over one held model, random
latent vectors and label noise: k2t.parity.exact feeds both sides' draws from one NumPy stream)."""

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


GAN = """\
import numpy as np
import tensorflow as tf
import keras
from keras import layers

keras.utils.set_random_seed(0)
rng = np.random.RandomState(0)
images = rng.uniform(size=(64, 4)).astype("float32")

latent_dim = 3
discriminator = keras.Sequential(
    [keras.Input(shape=(4,)), layers.Dense(8), layers.LeakyReLU(negative_slope=0.2), layers.Dense(1)],
    name="discriminator",
)
generator = keras.Sequential(
    [keras.Input(shape=(latent_dim,)), layers.Dense(8), layers.LeakyReLU(negative_slope=0.2), layers.Dense(4, activation="sigmoid")],
    name="generator",
)


class GAN(keras.Model):
    def __init__(self, discriminator, generator, latent_dim):
        super(GAN, self).__init__()
        self.discriminator = discriminator
        self.generator = generator
        self.latent_dim = latent_dim

    def compile(self, d_optimizer, g_optimizer, loss_fn):
        super(GAN, self).compile()
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        self.loss_fn = loss_fn

    def train_step(self, real_images):
        batch_size = tf.shape(real_images)[0]
        random_latent_vectors = tf.random.normal(shape=(batch_size, self.latent_dim))
        generated_images = self.generator(random_latent_vectors)
        combined_images = tf.concat([generated_images, real_images], axis=0)
        labels = tf.concat([tf.ones((batch_size, 1)), tf.zeros((batch_size, 1))], axis=0)
        labels += 0.05 * tf.random.uniform(tf.shape(labels))
        with tf.GradientTape() as tape:
            predictions = self.discriminator(combined_images)
            d_loss = self.loss_fn(labels, predictions)
        grads = tape.gradient(d_loss, self.discriminator.trainable_weights)
        self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_weights))
        random_latent_vectors = tf.random.normal(shape=(batch_size, self.latent_dim))
        misleading_labels = tf.zeros((batch_size, 1))
        with tf.GradientTape() as tape:
            predictions = self.discriminator(self.generator(random_latent_vectors))
            g_loss = self.loss_fn(misleading_labels, predictions)
        grads = tape.gradient(g_loss, self.generator.trainable_weights)
        self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_weights))
        return {"d_loss": d_loss, "g_loss": g_loss}


gan = GAN(discriminator=discriminator, generator=generator, latent_dim=latent_dim)
gan.compile(
    d_optimizer=keras.optimizers.Adam(learning_rate=0.0003),
    g_optimizer=keras.optimizers.Adam(learning_rate=0.0003),
    loss_fn=keras.losses.BinaryCrossentropy(from_logits=True),
)
history = gan.fit(images, epochs=3, batch_size=16, verbose=0)
print(history.history)
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


def test_the_keras_io_gan_step_trains_both_models_as_keras_does(tmp_path):
    report, details = _parity(GAN, tmp_path, fit_index=0)
    assert list(report.torch_history) == list(report.keras_history) == ["d_loss", "g_loss"], details
    assert any("random draws" in note for note in report.notes), report.notes
