"""A top-level function the script never reads, written with the op vocabulary (a loss left unused beside the
one compile() takes, as a real script does), is rewritten to torch as the used ones are: no TensorFlow call
stays in the output to fail when someone calls it (k2t.translate.user_functions.ScriptFunctions.never_read)."""

from __future__ import annotations

import numpy as np
from conftest import requires_keras, requires_torch

import k2t

SCRIPT = """\
import numpy as np
import tensorflow as tf
import tensorflow.keras.backend as K
from tensorflow.keras.layers import Dense
from tensorflow.keras.models import Sequential

x = np.arange(8, dtype="float32").reshape(8, 1)
y = x * 2

UNUSED

def quantile_loss(y_true, y_pred):
    e = y_true - y_pred
    return K.mean(tf.maximum(0.5 * e, (0.5 - 1) * e))

model = Sequential([Dense(4, input_shape=(1,)), Dense(1)])
model.compile(loss=quantile_loss, optimizer="adam")
model.fit(x, y, batch_size=4, epochs=1, verbose=0)
"""
CUSTOM_MSE = """\
def custom_mse(y_true, y_pred):
    return tf.math.reduce_mean(tf.square(y_true - y_pred))
"""


def test_an_unused_loss_of_vocabulary_ops_is_rewritten_to_torch() -> None:
    result = k2t.convert_source(SCRIPT.replace("UNUSED", CUSTOM_MSE), "train.py")
    assert result.diagnostics == (), [d.format() for d in result.diagnostics]
    assert "return torch.mean(torch.square(y_true - y_pred))" in result.output
    assert "tensorflow" not in result.output and "tf." not in result.output


@requires_torch
@requires_keras
def test_the_rewritten_function_computes_what_tensorflow_does() -> None:
    import tensorflow as tf
    import torch

    result = k2t.convert_source(SCRIPT.replace("UNUSED", CUSTOM_MSE), "train.py")
    start = result.output.index("def custom_mse")
    namespace: dict = {"torch": torch}
    exec(result.output[start : result.output.index("\n\n\n", start)], namespace)  # noqa: S102 - the rewritten def
    a, b = np.random.default_rng(0).normal(size=(2, 5, 3)).astype("float32")
    expected = tf.math.reduce_mean(tf.square(a - b)).numpy()
    np.testing.assert_allclose(
        namespace["custom_mse"](torch.as_tensor(a), torch.as_tensor(b)).numpy(), expected, rtol=1e-6
    )


def test_an_unused_function_beyond_the_vocabulary_stays_as_written_and_reported() -> None:
    unused = "def describe(t):\n    return tf.math.reduce_mean(tf.strings.as_string(t))\n"
    result = k2t.convert_source(SCRIPT.replace("UNUSED", unused), "train.py")
    assert "return tf.math.reduce_mean(tf.strings.as_string(t))" in result.output
    assert "K2T150" in {d.code for d in result.diagnostics}
