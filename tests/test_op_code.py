"""The rewriter of user code through the op vocabulary (k2t/translate/op_code.py): before and after.

Each case is a script's function as written and as the rewriter leaves it: every Keras/TensorFlow op
call or constant becomes its torch expression, every other token stays. The last cases go through
``k2t.convert_source``: a custom loss with ops outside the vocabulary is reported at each of them, in
one run, with a TODO on its line.
"""

import textwrap

import libcst as cst
import pytest

import k2t
from k2t.parse import parse
from k2t.translate.op_code import apply_rewrite, import_names, rewrite_ops
from k2t.usage import keras_usage

IMPORTS = """\
import tensorflow as tf
from tensorflow import keras
from tensorflow.keras import backend as K
from keras import ops
import keras.backend as KB
"""


def rewritten(function: str):
    """The first def of ``function`` (after IMPORTS) rewritten, and the rewrite's problems."""
    script = parse(IMPORTS + textwrap.dedent(function))
    definition = next(s for s in script.module.body if isinstance(s, cst.FunctionDef))
    rewrite = rewrite_ops(definition, import_names(script.metadata))
    return script.module.code_for_node(apply_rewrite(definition, rewrite)).strip(), rewrite


CASES = [
    pytest.param(
        """
        def rmse(y_true, y_pred):
            return K.sqrt(K.mean(K.square(y_pred - y_true), axis=-1))
        """,
        """
        def rmse(y_true, y_pred):
            return torch.sqrt(torch.clamp(torch.mean(torch.square(y_pred - y_true), dim=-1), min=0.0))
        """,
        id="keras-backend",
    ),
    pytest.param(
        """
        def weighted_bce(y_true, y_pred):
            # clip as Keras does
            y_pred = tf.clip_by_value(y_pred, K.epsilon(), 1 - K.epsilon())
            loss = -(2.0 * y_true * tf.math.log(y_pred) + (1 - y_true) * tf.math.log(1 - y_pred))
            return tf.reduce_mean(tf.cast(loss, tf.float32), axis=-1)
        """,
        """
        def weighted_bce(y_true, y_pred):
            # clip as Keras does
            y_pred = torch.clamp(y_pred, 1e-07, 1 - 1e-07)
            loss = -(2.0 * y_true * torch.log(y_pred) + (1 - y_true) * torch.log(1 - y_pred))
            return torch.mean(loss.to(torch.float32), dim=-1)
        """,
        id="tensorflow-and-constants",
    ),
    pytest.param(
        """
        def soft_l1(y_true, y_pred):
            diff = ops.abs(y_pred - y_true)
            scale = KB.epsilon() * 2
            return ops.mean(ops.sqrt(1.0 + ops.square(diff)) - 1.0, axis=-1) + scale
        """,
        """
        def soft_l1(y_true, y_pred):
            diff = torch.abs(y_pred - y_true)
            scale = 1e-07 * 2
            return torch.mean(torch.sqrt(1.0 + torch.square(diff)) - 1.0, dim=-1) + scale
        """,
        id="keras-ops-and-module-alias",
    ),
    pytest.param(
        """
        def f(a, b):
            return 3 * tf.identity(a - b), tf.identity(a - b), tf.identity(a + b)[0]
        """,
        """
        def f(a, b):
            return 3 * (a - b), a - b, (a + b)[0]
        """,
        id="parentheses-only-where-precedence-needs-them",
    ),
    pytest.param(
        """
        def plain(a, b):
            total = sum(x * 2 for x in a)
            return {"mean": total / len(b)}
        """,
        """
        def plain(a, b):
            total = sum(x * 2 for x in a)
            return {"mean": total / len(b)}
        """,
        id="no-keras-nothing-changes",
    ),
]


@pytest.mark.parametrize(("before", "after"), CASES)
def test_rewrite(before, after):
    text, rewrite = rewritten(before)
    assert text == textwrap.dedent(after).strip()
    assert rewrite.ok, [p.error.message for p in rewrite.problems]


def test_an_op_outside_the_vocabulary_is_a_problem_and_the_calls_around_it_stay_as_written():
    text, rewrite = rewritten(
        """
        def loss(y_true, y_pred):
            return K.mean(K.frobnicate(ops.square(y_pred)), axis=-1) + sum(map(K.abs, [y_true]))
        """
    )
    # K.mean holds the untranslated K.frobnicate: it keeps its Keras name (and import) beside the TODO.
    assert text == textwrap.dedent(
        """
        def loss(y_true, y_pred):
            return K.mean(K.frobnicate(torch.square(y_pred)), axis=-1) + sum(map(K.abs, [y_true]))
        """
    ).strip()
    assert [(p.error.code, p.error.message) for p in rewrite.problems] == [
        ("K2T100", "`keras.backend.frobnicate` is not in k2t's op vocabulary"),
        ("K2T100", "Keras name `keras.backend.abs` used as a value (not called) is not translated"),
    ]


def test_an_argument_a_row_does_not_translate_is_a_tensorflow_problem():
    _, rewrite = rewritten(
        """
        def f(x):
            return tf.reduce_sum(*x)
        """
    )
    assert [(p.error.code, p.error.message) for p in rewrite.problems] == [
        ("K2T150", "`tensorflow.reduce_sum`: `*` arguments are not translated")
    ]


SCRIPT = """\
import numpy as np
import tensorflow as tf
from tensorflow import keras
from tensorflow.keras import backend as K


def my_loss(y_true, y_pred):
    scaled = K.frobnicate(y_pred)
    return K.mean(K.square(scaled - y_true), axis=-1) + tf.math.mystery(y_true)


x = np.zeros((8, 3), "float32")
y = np.zeros((8, 1), "float32")
model = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(1)])
model.compile(optimizer="sgd", loss=my_loss)
model.fit(x, y)
"""


def test_every_untranslated_op_of_a_custom_loss_is_located_with_a_todo_in_one_run():
    result = k2t.convert_source(SCRIPT, filename="train.py")
    assert sorted(d.format() for d in result.diagnostics) == [
        "train.py:8:14: K2T100 `keras.backend.frobnicate` is not in k2t's op vocabulary",
        "train.py:9:57: K2T150 `tensorflow.math.mystery` is not in k2t's op vocabulary",
    ]
    assert "    # TODO(k2t): K2T100 `keras.backend.frobnicate` is not in k2t's op vocabulary\n    scaled = K.frobnicate(y_pred)\n" in result.output
    # What the vocabulary has is translated on the same line; the names the TODOs keep stay imported.
    assert "return torch.mean(torch.square(scaled - y_true), dim=-1) + tf.math.mystery(y_true)" in result.output
    assert "from tensorflow.keras import backend as K" in result.output
    assert "import tensorflow as tf" in result.output


def test_a_clean_custom_loss_leaves_no_keras_in_the_output():
    clean = SCRIPT.replace("K.frobnicate(y_pred)", "K.abs(y_pred)").replace(" + tf.math.mystery(y_true)", "")
    result = k2t.convert_source(clean, filename="train.py")
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    assert "def my_loss(y_true, y_pred):\n    scaled = torch.abs(y_pred)\n" in result.output
    assert keras_usage(result.output, "train.py") == ()  # what `k2t check --no-keras` finds


def test_a_call_of_a_rewritten_loss_outside_the_training_is_reported():
    script = SCRIPT.replace("K.frobnicate(y_pred)", "K.abs(y_pred)").replace(" + tf.math.mystery(y_true)", "")
    script += "print(my_loss(y, model.predict(x)))\n"
    result = k2t.convert_source(script, filename="train.py")
    assert [d.format() for d in result.diagnostics] == [
        (
            "train.py:17:7: K2T100 `my_loss` is rewritten to torch for the converted training; this call may pass it "
            "NumPy arrays, which torch's ops do not take (torch.as_tensor them)"
        )
    ]
