"""keras.Model subclasses without call() whose steps compose the models given to them, with their own compile()
(keras.io's knowledge distillation and DCGAN; issue 12), and keras.models.clone_model: what converts, and what stays
a located diagnostic. Parity against Keras is in tests/test_parity_composed_models.py."""

import pytest
from conftest import run_standalone
from test_parity_composed_models import DISTILLER, GAN

import k2t


def _found(source: str) -> list[tuple[str, int, str]]:
    return [(d.code, d.line, d.message) for d in k2t.convert_source(source, "distill.py").diagnostics]


def _line(source: str, text: str) -> int:
    return next(number for number, line in enumerate(source.splitlines(), 1) if text in line)


def test_the_distiller_holds_both_models_and_updates_the_students_weights_alone():
    result = k2t.convert_source(DISTILLER, "distill.py")
    assert [d.format() for d in result.diagnostics] == []
    output = result.output
    distiller = output[output.index("class Distiller(nn.Module):") : output.index("def fit_steps(")]
    assert "    def __init__(self, teacher, student):\n" in distiller
    assert "    def forward(" not in distiller  # Keras's Distiller has no call() either
    assert "        teacher_predictions = self.teacher(x)  # training=False\n" in distiller
    assert "        loss = self.alpha * student_loss + (1 - self.alpha) * distillation_loss\n" in distiller
    assert "F.softmax(teacher_predictions / self.temperature, dim=1)" in distiller
    assert "        loss.backward(inputs=[p for p in self.student.parameters() if p.requires_grad])\n" in distiller
    # Keras 3's compiled_metrics shim: the loss tracker takes the predictions alone
    assert (
        "            if metric is self.compiled_loss_tracker:\n                metric.update_state(student_predictions)\n"
        in distiller
    )
    assert '        results.update({"student_loss": student_loss.detach()})\n' in distiller
    # compile(): Keras's optimizer builds its variables from the weights it updates, the student's
    assert "distiller_optimizer = KerasAdam(\n    distiller.student.parameters()," in output
    assert "distiller.distillation_loss_fn = kl_divergence" in output
    assert "distiller.alpha = 0.1\ndistiller.temperature = 10\n" in output
    assert "student_scratch = Student().to(device)  # clone_model: new weights\n" in output


def test_the_converted_distiller_runs(tmp_path):
    pytest.importorskip("torch")
    script = tmp_path / "distill_torch.py"
    script.write_text(k2t.convert_source(DISTILLER, "distill.py").output, encoding="utf-8")
    proc = run_standalone(script)
    assert proc.returncode == 0, proc.stderr
    assert "distiller: [" in proc.stdout and "scratch: [" in proc.stdout


@pytest.mark.parametrize(
    ("before", "after", "at", "code", "words"),
    [
        pytest.param(
            "        self.alpha = alpha\n",
            "        self.alpha = alpha\n        print(alpha)\n",
            "print(alpha)",
            "K2T103",
            "in Distiller.compile() is not translated",
            id="other-statement-in-compile",
        ),
        pytest.param(
            "        self.alpha = alpha\n",
            "        self.alpha = alpha\n        self.optimizer = optimizer\n",
            "self.optimizer = optimizer",
            "K2T103",
            "in Distiller.compile() is not translated",
            id="keras-own-attribute-stored",  # fit_steps sets model.optimizer to compile()'s
        ),
        pytest.param(
            "compile(optimizer=optimizer, metrics=metrics)",
            'compile(optimizer=optimizer, metrics=metrics, loss="mse")',
            'loss="mse"',
            "K2T103",
            "super().compile() given the method's parameters",
            id="literal-given-to-super-compile",
        ),
        pytest.param(
            "distillation_loss_fn=keras.losses.KLDivergence(),",
            'distillation_loss_fn="kl_divergence",',
            'distillation_loss_fn="kl_divergence"',
            "K2T130",
            "stores as self.distillation_loss_fn (used as loss)",
            id="loss-given-as-a-string",
        ),
        pytest.param(
            "    alpha=0.1,\n",
            "    alpha=np.float32(0.1),\n",
            "alpha=np.float32(0.1)",
            "K2T130",
            "stores as self.alpha (used as number)",
            id="number-k2t-does-not-know",
        ),
        pytest.param(
            "    def test_step(self, data):",
            "    @property\n    def metrics(self):\n        return []\n\n    def test_step(self, data):",
            "def metrics(self):",
            "K2T103",
            "Distiller.metrics",
            id="empty-metrics-property",
        ),
        pytest.param(
            "keras.models.clone_model(student)",
            "keras.models.clone_model(student, clone_function=lambda layer: layer)",
            "clone_model(student, clone_function",
            "K2T100",
            "keras.models.clone_model",
            id="clone-function",
        ),
    ],
)
def test_what_k2t_does_not_follow_stays_located(before, after, at, code, words):
    assert DISTILLER.count(before) == 1
    source = DISTILLER.replace(before, after)
    found = _found(source)
    located = [message for found_code, line, message in found if (found_code, line) == (code, _line(source, at))]
    assert located and words in located[0], found


def test_compiled_metrics_beside_trackers_of_its_own_stays_located():
    # The shim would update the script's Mean trackers with y_pred alone too.
    source = DISTILLER.replace(
        "        self.student = student\n",
        '        self.student = student\n        self.loss_tracker = keras.metrics.Mean(name="loss")\n',
    ).replace(
        "    def test_step(self, data):",
        "    @property\n    def metrics(self):\n        return [self.loss_tracker]\n\n    def test_step(self, data):",
    )
    found = _found(source)
    line = _line(source, "self.compiled_metrics.update_state(y, student_predictions)")
    located = [message for code, at, message in found if (code, at) == ("K2T103", line)]
    assert located and "compiled_metrics shim" in located[0], found


def test_a_clone_of_a_model_with_adapted_state_stays_located():
    source = DISTILLER.replace(
        'student = keras.Sequential([keras.Input(shape=(6,)), layers.Dense(4, activation="relu"), layers.Dense(3)], name="student")',
        'norm = layers.Normalization()\nnorm.adapt(x)\nstudent = keras.Sequential([keras.Input(shape=(6,)), norm, layers.Dense(3)], name="student")',
    )
    found = _found(source)
    line = _line(source, "student_scratch = keras.models.clone_model(student)")
    located = [message for code, at, message in found if (code, at) == ("K2T100", line)]
    assert located and "holds what adapt() computed" in located[0], found


def test_the_gan_step_takes_two_tapes_each_with_its_own_optimizer_over_one_model():
    result = k2t.convert_source(GAN, "gan.py")
    assert [d.format() for d in result.diagnostics] == []
    output = result.output
    gan = output[output.index("class GAN(nn.Module):") : output.index("def fit_steps(")]
    assert "        self.latent_dim = 3  # as __init__ keeps it: the steps read it\n" in gan
    assert "    def train_step(self, real_images):\n" in gan
    assert "        batch_size = real_images.shape[0]\n" in gan
    assert "        labels += 0.05 * torch.rand(labels.shape, device=real_images.device)\n" in gan
    assert "        self.d_optimizer.zero_grad()\n" in gan
    assert (
        "        d_loss.backward(\n            inputs=[p for p in self.discriminator.parameters() if p.requires_grad]\n        )\n"
        in gan
    )
    assert "        self.d_optimizer.step()\n" in gan
    assert "        predictions = self.discriminator(self.generator(random_latent_vectors))\n" in gan
    assert "        self.g_optimizer.step()\n" in gan
    assert '        return {"d_loss": d_loss.detach(), "g_loss": g_loss.detach()}\n' in gan
    assert "gan.d_optimizer = KerasAdam(\n    gan.discriminator.parameters(), lr=0.0003," in output
    assert "gan.g_optimizer = KerasAdam(\n    gan.generator.parameters(), lr=0.0003," in output
    # super().compile() without an optimizer: Keras's default, rmsprop, which the step never uses
    assert "gan_optimizer = KerasRMSprop(gan.parameters(), lr=0.001)\n" in output


def test_the_converted_gan_runs(tmp_path):
    pytest.importorskip("torch")
    script = tmp_path / "gan_torch.py"
    script.write_text(k2t.convert_source(GAN, "gan.py").output, encoding="utf-8")
    proc = run_standalone(script)
    assert proc.returncode == 0, proc.stderr
    assert "'d_loss': [" in proc.stdout


@pytest.mark.parametrize(
    ("before", "after", "at", "words"),
    [
        pytest.param(
            "        grads = tape.gradient(d_loss, self.discriminator.trainable_weights)\n"
            "        self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_weights))\n",
            "",
            "        with tf.GradientTape() as tape:\n            predictions = self.discriminator(self.generator(",
            "k2t follows one `with tf.GradientTape() as tape:`",
            id="second-tape-before-the-first-gradient",
        ),
        pytest.param(
            "layers.Dense(8), layers.LeakyReLU(negative_slope=0.2), layers.Dense(4, activation=",
            "layers.Dense(8), layers.Dropout(0.3), layers.Dense(4, activation=",
            "generated_images = self.generator(random_latent_vectors)",
            "runs its Dropout in Keras's inference mode",
            id="held-model-with-dropout-in-inference-mode",
        ),
        pytest.param(
            '        return {"d_loss": d_loss, "g_loss": g_loss}',
            '        return {"d_loss": d_loss, "g_loss": g_loss + 1}',
            'return {"d_loss": d_loss, "g_loss": g_loss + 1}',
            "k2t follows a dict",
            id="returned-expression",
        ),
        pytest.param(
            "self.latent_dim = latent_dim",
            "self.latent_dim = latent_dim\n        self.noise = keras.layers.GaussianNoise(0.1)",
            "class GAN(keras.Model):",
            "not layers of its own (`noise`)",
            id="layer-made-in-init-without-call",
        ),
    ],
)
def test_what_the_gan_step_does_beyond_the_vocabulary_stays_located(before, after, at, words):
    assert GAN.count(before) == 1
    source = GAN.replace(before, after)
    found = [(d.code, d.line, d.message) for d in k2t.convert_source(source, "gan.py").diagnostics]
    first = at.splitlines()[-1] if at.startswith("        with") else at
    line = _line(source, first)
    if at.startswith("        with"):
        line -= 1  # the `with` line
    located = [message for code, at_line, message in found if (code, at_line) == ("K2T103", line)]
    assert located and words in located[0], found


def test_fit_of_a_step_model_on_a_dataset_stays_located():
    # keras.io's DCGAN fits on a tf.data dataset; the generated fit_steps slices arrays.
    source = GAN.replace(
        "history = gan.fit(images, epochs=3, batch_size=16, verbose=0)",
        "dataset = tf.data.Dataset.from_tensor_slices(images).batch(16)\nhistory = gan.fit(dataset, epochs=3, verbose=0)",
    )
    found = [(d.code, d.line, d.message) for d in k2t.convert_source(source, "gan.py").diagnostics]
    located = [
        message for code, line, message in found if (code, line) == ("K2T130", _line(source, "history = gan.fit("))
    ]
    assert located and "on batches" in located[0], found


def test_compile_given_metrics_none_makes_no_compiled_metrics():
    source = DISTILLER.replace(
        "    metrics=[keras.metrics.SparseCategoricalAccuracy()],\n    student_loss_fn",
        "    metrics=None,\n    student_loss_fn",
    )
    result = k2t.convert_source(source, "distill.py")
    assert [d.format() for d in result.diagnostics] == []
    assert "distiller.compile_metrics = None  # compile() without metrics\n" in result.output
