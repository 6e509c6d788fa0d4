"""A train_step written in keras.io's VAE form (issue 12): models given to __init__ called in the step, the loss as
an expression of ops, fit(x) without targets. What converts, and what stays a located diagnostic."""

from test_parity_custom_train_step_ops import VAE_LIKE

import k2t


def _diagnostics(source: str) -> list[tuple[str, int, str]]:
    return [(d.code, d.line, d.message) for d in k2t.convert_source(source, "vae.py").diagnostics]


def _line(source: str, text: str) -> int:
    return next(number for number, line in enumerate(source.splitlines(), 1) if text in line)


def test_the_vae_step_converts_to_torch_ops_in_the_step():
    result = k2t.convert_source(VAE_LIKE, "vae.py")
    assert result.diagnostics == ()
    output = result.output
    assert "        z_mean, z_log_var = self.encoder(data)\n" in output
    assert "        reconstruction = self.decoder(z_mean)\n" in output
    assert "kl_loss = -0.5 * (1 + z_log_var - torch.square(z_mean) - torch.exp(z_log_var))\n" in output
    assert "        total_loss.backward()" in output
    assert "history = fit_steps(vae, vae_optimizer, images, epochs=3, batch_size=16, verbose=0)\n" in output
    assert "            logs = model.train_step(x[rows].to(device))\n" in output


def test_a_model_with_dropout_called_in_the_step_stays_reported():
    # Keras runs `self.encoder(data)` in inference mode inside train_step (no training= given); the module would
    # follow the loop's training mode.
    source = VAE_LIKE.replace(
        'x = layers.Dense(8, activation="relu")(x)', 'x = layers.Dense(8, activation="relu")(x)\nx = layers.Dropout(0.5)(x)'
    )
    found = _diagnostics(source)
    line = _line(source, "z_mean, z_log_var = self.encoder(data)")
    located = [message for code, at, message in found if (code, at) == ("K2T103", line)]
    assert located and "runs its Dropout in Keras's inference mode" in located[0], found


def test_an_expression_reading_a_name_outside_the_step_stays_reported():
    source = VAE_LIKE.replace("total_loss = reconstruction_loss + kl_loss", "total_loss = reconstruction_loss + beta * kl_loss")
    found = _diagnostics(source)
    line = _line(source, "total_loss = reconstruction_loss + beta")
    located = [message for code, at, message in found if (code, at) == ("K2T103", line)]
    assert located and "it reads `beta`" in located[0], found


def test_an_op_outside_the_vocabulary_is_named():
    source = VAE_LIKE.replace("tf.square(z_mean)", "tf.math.bessel_i0(z_mean)")
    found = _diagnostics(source)
    line = _line(source, "kl_loss = -0.5 *")
    assert ("K2T150", line) in [(code, at) for code, at, _ in found], found
    assert any("tensorflow.math.bessel_i0" in message for _, _, message in found)


def test_fit_without_targets_of_a_step_that_unpacks_them_stays_reported():
    source = VAE_LIKE.replace(
        "    def train_step(self, data):\n", "    def train_step(self, data):\n        data, _ = data\n"
    )
    found = _diagnostics(source)
    assert ("K2T130", _line(source, "history = vae.fit(")) in [(code, at) for code, at, _ in found], found


def test_predict_of_a_model_the_subclass_holds_in_a_function_given_the_subclass():
    # keras.io's VAE: `def plot_label_clusters(vae, data, labels): z_mean, _, _ = vae.encoder.predict(data)`.
    source = VAE_LIKE + (
        "\n\ndef show(vae, data):\n"
        "    z_mean, _ = vae.encoder.predict(data)\n"
        "    return vae.decoder.predict(z_mean)\n"
        "\n\nreconstructed = show(vae, images)\n"
    )
    result = k2t.convert_source(source, "vae.py")
    assert result.diagnostics == ()
    assert "    z_mean, _ = predict(vae.encoder, data)\n    return predict(vae.decoder, z_mean)\n" in result.output
    assert "reconstructed = show(vae, images)\n" in result.output


def test_a_function_that_predicts_with_the_model_it_receives_is_walked_with_it():
    source = (
        "import numpy as np\nimport keras\nfrom keras import layers\n\n"
        "x = np.zeros((8, 4), 'float32')\ninputs = keras.Input(shape=(4,))\n"
        "net = keras.Model(inputs, layers.Dense(2)(inputs))\n"
        "net.compile(optimizer='adam', loss='mse')\nnet.fit(x, np.zeros((8, 2)), epochs=1, verbose=0)\n\n\n"
        "def show(model, data):\n    print(model.predict(data))\n\n\nshow(net, x)\n"
    )
    result = k2t.convert_source(source, "show.py")
    assert result.diagnostics == ()
    assert "def show(model, data):\n    print(predict(model, data))\n" in result.output


def test_a_module_number_read_in_the_step_stays_that_name():
    source = VAE_LIKE.replace("total_loss = reconstruction_loss + kl_loss", "total_loss = reconstruction_loss + beta * kl_loss")
    source = source.replace("keras.utils.set_random_seed(0)\n", "keras.utils.set_random_seed(0)\nbeta = 0.5\n")
    result = k2t.convert_source(source, "vae.py")
    assert result.diagnostics == ()
    assert "        total_loss = reconstruction_loss + beta * kl_loss\n" in result.output


def test_a_model_called_in_the_steps_mode_may_hold_dropout():
    # `self.encoder(data, training=True)` in train_step: Keras's mode is the loop's, whatever its layers.
    source = VAE_LIKE.replace(
        'x = layers.Dense(8, activation="relu")(x)', 'x = layers.Dense(8, activation="relu")(x)\nx = layers.Dropout(0.5)(x)'
    ).replace("z_mean, z_log_var = self.encoder(data)", "z_mean, z_log_var = self.encoder(data, training=True)")
    result = k2t.convert_source(source, "vae.py")
    assert result.diagnostics == ()
    assert "        z_mean, z_log_var = self.encoder(data)  # training=True\n" in result.output


def test_a_subclass_given_models_without_call_has_no_forward():
    # keras.io's DCGAN and Distiller: `GAN(discriminator, generator, latent_dim)` with train_step and no call(). Keras
    # cannot call such a model; the module holds the models and has no forward() either.
    source = VAE_LIKE.replace("    def call(self, x):\n        z_mean, z_log_var = self.encoder(x)\n        return self.decoder(z_mean)\n", "")
    result = k2t.convert_source(source, "vae.py")
    assert result.diagnostics == ()
    assert "    def forward(" not in result.output[result.output.index("class VAE(nn.Module):") :]
    assert "        z_mean, z_log_var = self.encoder(data)\n" in result.output


def test_a_subclass_without_call_that_makes_layers_says_what_it_needs():
    source = VAE_LIKE.replace("    def call(self, x):\n        z_mean, z_log_var = self.encoder(x)\n        return self.decoder(z_mean)\n", "")
    source = source.replace("        self.decoder = decoder\n", "        self.decoder = decoder\n        self.head = layers.Dense(2)\n")
    found = [(d.code, d.line, d.message) for d in k2t.convert_source(source, "vae.py").diagnostics]
    line = next(n for n, text in enumerate(source.splitlines(), 1) if text.startswith("class VAE("))
    located = [message for code, at, message in found if (code, at) == ("K2T103", line)]
    assert located and "VAE has no call()" in located[0] and "(`head`)" in located[0], found


def test_a_starred_unpacking_of_a_models_outputs_stays_reported():
    for written, where in (
        ("z_mean, z_log_var = self.encoder(data)", "VAE.train_step"),
        ("z_mean, z_log_var = self.encoder(x)", "VAE.call"),
    ):
        source = VAE_LIKE.replace(written, written.replace("z_log_var", "*rest"))
        found = [(d.code, d.message) for d in k2t.convert_source(source, "vae.py").diagnostics]
        assert any(code == "K2T103" and "*rest" in message and where in message for code, message in found), found


GUIDE = '''

class Guide(keras.Model):
    def train_step(self, data):
        x, y = data
        with tf.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(y=y, y_pred=y_pred)
        gradients = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply(gradients, self.trainable_variables)
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
            else:
                metric.update_state(y, y_pred)
        return {m.name: m.result() for m in self.metrics}


guide_inputs = keras.Input(shape=(4,))
guide = Guide(guide_inputs, layers.Dense(1)(guide_inputs))
guide.compile(optimizer="sgd", loss="mse")
guide.fit(np.ones((32, 4), "float32"), np.ones((32, 1), "float32"), epochs=2, verbose=0)
'''


def test_one_fit_steps_serves_a_fit_with_targets_and_one_without():
    result = k2t.convert_source(VAE_LIKE + GUIDE, "both.py")
    assert result.diagnostics == ()
    output = result.output
    assert "def fit_steps(model, optimizer, x, y=None, batch_size=None, epochs=1, verbose=1):" in output
    assert "logs = model.train_step(batch if y is None else (batch, y[rows].to(device)))" in output
    namespace: dict = {}
    exec(compile(output, "both.py", "exec"), namespace)  # noqa: S102 - torch only: both models train a few steps
    assert set(namespace["history"].history) == {"kl_loss", "loss", "reconstruction_loss"}
