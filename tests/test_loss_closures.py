"""Keras 2's VAE, as its examples wrote it: a sampling Lambda on [z_mean, z_log_var] and a loss function that reads
the encoder's tensors (k2t.parse.loss_closures, k2t.translate.loss_closures). Parity: tests/test_parity_keras2_vae.py."""

import textwrap

import pytest
from undefined import assert_no_undefined_names

import k2t

HEAD = """\
import numpy as np
from keras import backend as K
from keras import metrics
from keras.layers import Dense, Input, Lambda
from keras.models import Model

original_dim = 16
latent_dim = 2
batch_size = 8

x = Input(shape=(original_dim,))
h = Dense(8, activation="relu")(x)
z_mean = Dense(latent_dim)(h)
z_log_var = Dense(latent_dim)(h)


def sampling(args):
    z_mean, z_log_var = args
    epsilon = K.random_normal(shape={shape}, mean=0.0, stddev=1.0)
    return z_mean + K.exp(0.5 * z_log_var) * epsilon


z = Lambda(sampling)([z_mean, z_log_var])
x_decoded_mean = Dense(original_dim, activation="sigmoid")(Dense(8, activation="relu")(z))
"""

LOSS = """
def vae_loss(x, x_decoded_mean):
    xent_loss = original_dim * metrics.binary_crossentropy(x, x_decoded_mean)
    kl_loss = -0.5 * K.sum(1 + z_log_var - K.square(z_mean) - K.exp(z_log_var), axis=-1)
    return K.mean(xent_loss + kl_loss)
"""

TRAIN = """
vae = Model(x, x_decoded_mean)
vae.compile(optimizer="rmsprop", loss=vae_loss)
data = np.random.rand(32, original_dim).astype("float32")
vae.fit(data, data, epochs=1, batch_size=batch_size, validation_data=(data, data))
"""


def _script(shape: str = "(K.shape(z_mean)[0], latent_dim)", loss: str = LOSS, train: str = TRAIN) -> str:
    return HEAD.replace("{shape}", shape) + loss + train


def _convert(source: str) -> k2t.ConversionResult:
    return k2t.convert_source(source, filename="vae.py")


def _codes(result) -> list[tuple[int, str]]:
    return [(d.line, d.code) for d in result.diagnostics]


@pytest.mark.parametrize("shape", ["(K.shape(z_mean)[0], latent_dim)", "(batch_size, latent_dim)", "K.shape(z_mean)"])
def test_sampling_lambda_on_a_list_needs_no_output_shape(shape):
    """The draw's shape gives the Lambda's: the batch, then latent_dim (Keras 2 scripts leave output_shape out)."""
    result = _convert(_script(shape))
    assert result.diagnostics == ()
    # the draw goes where the list's tensors are, as TensorFlow places it
    assert "device=args[0].device)" in result.output
    assert "self.dense_3 = nn.Linear(latent_dim, 8)" in result.output


def test_loss_reading_the_encoder_tensors_takes_them_from_forward():
    result = _convert(_script())
    assert result.diagnostics == ()
    output = result.output
    assert 'self.loss_tensors = {"z_mean": z_mean, "z_log_var": z_log_var}' in output
    assert "def vae_loss(x, x_decoded_mean, z_mean, z_log_var):" in output
    assert "def vae_loss_mean(output, target, z_mean, z_log_var):" in output
    assert "values = vae_loss(y_true, y_pred, z_mean, z_log_var)" in output
    # fit and evaluate alike: Keras's validation loss is the same function
    assert output.count("loss = vae_loss_mean(output, targets, **model.loss_tensors)") == 2
    # the lines computing the tensors went into the module: the script keeps none of them
    assert "Dense(" not in output and "K." not in output
    assert_no_undefined_names(output)


def test_the_tensors_are_kept_right_after_the_last_of_them():
    output = _convert(_script()).output
    forward = output[output.index("    def forward(self, x):") :]
    lines = [line.strip() for line in forward.splitlines()[1:10]]
    kept = lines.index('self.loss_tensors = {"z_mean": z_mean, "z_log_var": z_log_var}')
    assert lines.index("z_log_var = self.dense_2(h)") < kept < lines.index("z = sampling([z_mean, z_log_var])")


def test_weighted_fit_passes_the_tensors_by_name():
    train = TRAIN.replace("batch_size=batch_size,", "batch_size=batch_size, sample_weight=np.ones(32),")
    result = _convert(_script(train=train))
    assert result.diagnostics == ()
    assert "def vae_loss_mean(output, target, sample_weight=None, *, z_mean, z_log_var):" in result.output
    assert "vae_loss_mean(output, targets, weights, **model.loss_tensors)" in result.output


# What k2t does not follow stays a K2T103 at the tensor the function reads, and the output defines every name.
NOT_FOLLOWED = {
    "the loss of a model without those tensors": (
        LOSS,
        """
generator_input = Input(shape=(latent_dim,))
generator = Model(generator_input, Dense(original_dim, activation="sigmoid")(generator_input))
generator.compile(optimizer="rmsprop", loss=vae_loss)
data = np.random.rand(32, original_dim).astype("float32")
generator.fit(np.random.rand(32, latent_dim), data, epochs=1)
""",
    ),
    "a loss with a third parameter": (
        LOSS.replace("def vae_loss(x, x_decoded_mean):", "def vae_loss(x, x_decoded_mean, beta=1.0):"),
        TRAIN,
    ),
}


@pytest.mark.parametrize("case", list(NOT_FOLLOWED), ids=list(NOT_FOLLOWED))
def test_what_is_not_followed_is_a_k2t103_at_the_tensor(case):
    loss, train = NOT_FOLLOWED[case]
    source = _script(loss=loss, train=train)
    result = _convert(source)
    kl_line = source.splitlines().index(
        "    kl_loss = -0.5 * K.sum(1 + z_log_var - K.square(z_mean) - K.exp(z_log_var), axis=-1)"
    ) + 1
    assert (kl_line, "K2T103") in _codes(result), [d.format() for d in result.diagnostics]
    message = next(d.message for d in result.diagnostics if (d.line, d.code) == (kl_line, "K2T103"))
    assert "`vae_loss` reads the Keras tensor `z_log_var`" in message
    assert_no_undefined_names(result.output)


@pytest.mark.parametrize(
    "train",
    [TRAIN.replace("loss=vae_loss", 'loss="mse"'), TRAIN.replace("loss=vae_loss", 'loss="mse", metrics=[vae_loss]')],
    ids=["unused", "a metric"],
)
def test_a_function_no_compile_takes_as_its_loss_is_not_a_closure(train):
    """Only compile()'s loss functions are read this way: another function reading Keras tensors (a metric too) is
    reported as before."""
    result = _convert(_script(train=train))
    assert any(d.code == "K2T103" and "`kl_loss`" in d.message for d in result.diagnostics), [
        d.format() for d in result.diagnostics
    ]


def test_without_a_closure_the_loss_wrapper_is_unchanged():
    loss = textwrap.dedent("""
    def vae_loss(x, x_decoded_mean):
        return original_dim * metrics.binary_crossentropy(x, x_decoded_mean)
    """)
    result = _convert(_script(loss=loss))
    assert result.diagnostics == ()
    assert "loss_tensors" not in result.output
    assert "def vae_loss_mean(output, target):" in result.output


# Chollet's book (chapter 8): the decoder is a model of its own, its Input sized by the Lambda's static shape.
DECODER_MODEL = """\
import numpy as np
from keras import backend as K
from keras import layers, metrics
from keras.models import Model
import keras

latent_dim = 2
input_img = keras.Input(shape=(16,))
x = layers.Dense(8, activation="relu")(input_img)
z_mean = layers.Dense(latent_dim)(x)
z_log_var = layers.Dense(latent_dim)(x)


def sampling(args):
    z_mean, z_log_var = args
    epsilon = K.random_normal(shape=(K.shape(z_mean)[0], latent_dim), mean=0.0, stddev=1.0)
    return z_mean + K.exp(z_log_var) * epsilon


z = layers.Lambda(sampling)([z_mean, z_log_var])
decoder_input = layers.Input(K.int_shape(z)[1:])
x = layers.Dense(16, activation="sigmoid")(decoder_input)
decoder = Model(decoder_input, x)
z_decoded = decoder(z)


def vae_loss(x, z_decoded):
    xent_loss = metrics.binary_crossentropy(x, z_decoded)
    kl_loss = -5e-4 * K.mean(1 + z_log_var - K.square(z_mean) - K.exp(z_log_var), axis=-1)
    return K.mean(xent_loss + kl_loss)


vae = Model(input_img, z_decoded)
vae.compile(optimizer="rmsprop", loss=vae_loss)
data = np.random.rand(32, 16).astype("float32")
vae.fit(data, data, epochs=1, batch_size=8)
print(decoder.predict(np.zeros((1, latent_dim))))
"""


def test_the_decoder_input_reads_the_sampling_lambda_static_shape():
    """``Input(K.int_shape(z)[1:])`` after ``z = Lambda(sampling)([z_mean, z_log_var])``: (latent_dim,), as the draw
    gives it, so the decoder model is built and applied to z inside the VAE."""
    result = _convert(DECODER_MODEL)
    assert result.diagnostics == (), [d.format() for d in result.diagnostics]
    assert "z_decoded = self.decoder(z)" in result.output
    assert "vae = Vae(latent_dim=latent_dim, decoder=decoder)" in result.output
    assert_no_undefined_names(result.output)


def test_keras1_objectives_module_is_keras_losses():
    """The first variational_autoencoder.py example: ``from keras import objectives`` (Keras 2 kept the module)."""
    source = _script().replace("from keras import metrics", "from keras import objectives").replace(
        "metrics.binary_crossentropy", "objectives.binary_crossentropy"
    )
    result = _convert(source)
    assert result.diagnostics == (), [d.format() for d in result.diagnostics]
    assert "objectives" not in result.output


def test_a_loss_reading_the_models_input_takes_forwards_argument():
    """``binary_crossentropy(x, x_decoded_mean)`` with ``x`` the script's Input, not a parameter of the loss."""
    loss = LOSS.replace("def vae_loss(x, x_decoded_mean):", "def vae_loss(y_true, y_pred):").replace(
        "metrics.binary_crossentropy(x, x_decoded_mean)", "metrics.binary_crossentropy(x, y_pred)"
    )
    result = _convert(_script(loss=loss))
    assert result.diagnostics == (), [d.format() for d in result.diagnostics]
    assert 'self.loss_tensors = {"x": x, "z_mean": z_mean, "z_log_var": z_log_var}' in result.output
    assert "def vae_loss(y_true, y_pred, x, z_mean, z_log_var):" in result.output
    assert_no_undefined_names(result.output)
