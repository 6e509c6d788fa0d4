"""Tensor ops in a script's own lines (k2t/translate/script_ops.py), outside any model, layer or function:
``tf.argmax(preds, axis=1)``, ``tf.cast(x, tf.float32)``, ``keras.losses.mean_squared_error(y_test, preds)``.

Each case is a line as real scripts write it (the corpus's ``tf.cast`` of a NumPy array, ``tf.one_hot`` of
mnist labels, ``tf.expand_dims`` of an image; the usual accuracy and loss lines on predictions). The
line runs as written under TensorFlow and converted under torch, on the same NumPy arrays; the value
it leaves in ``result`` must match in value, shape and dtype kind, and be a NumPy array unless the
script reads it as a tensor (``.numpy()``).
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import requires_keras, requires_torch

import k2t

pytestmark = [requires_torch, requires_keras]

IMPORTS = """\
import numpy as np
import keras
import tensorflow as tf
from tensorflow.keras import backend as K
"""


def arrays() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(12)
    logits = rng.normal(size=(16, 5)).astype(np.float32)
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    labels = rng.integers(0, 5, size=16)
    return {
        "preds": probs,
        "labels": labels,  # int64, as NumPy makes them
        "labels_column": labels.reshape(-1, 1).astype(np.int32),
        "onehot": np.eye(5)[labels],  # float64, as np.eye makes it
        "preds_reg": rng.normal(size=(16, 1)).astype(np.float32),  # model.predict of a Dense(1)
        "y_reg": rng.normal(size=16),  # float64 targets of shape (N,), as a CSV column reads
        "probs_bin": 1 / (1 + np.exp(-rng.normal(size=(16, 1)).astype(np.float32))),
        "y_bin": rng.integers(0, 2, size=(16, 1)),
        "x64": rng.random((32, 10)),  # np.random.random: float64
        "y_uint8": rng.integers(0, 10, size=20).astype(np.uint8),  # mnist labels
        "img": rng.random((24, 24, 3)).astype(np.float32),  # keras.utils.img_to_array
        "a": rng.normal(size=(4, 3)).astype(np.float32),
        "b": np.where(rng.random((4, 3)) < 0.3, 0.0, rng.normal(size=(4, 3))).astype(np.float32),
    }


LINES = [
    pytest.param("result = tf.argmax(preds, axis=1)", id="argmax"),
    pytest.param("result = tf.reduce_mean(preds)", id="reduce_mean"),
    pytest.param("result = float(tf.reduce_max(preds))", id="float-of-reduce_max"),
    pytest.param("result = tf.argmax(preds, axis=1).numpy()", id="argmax-numpy"),
    pytest.param(
        "result = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(preds, 1), labels), tf.float32))", id="accuracy"
    ),
    pytest.param("result = K.mean(K.cast(K.equal(K.argmax(preds), labels), 'float32'))", id="accuracy-backend"),
    pytest.param("result = keras.losses.mean_squared_error(y_reg, preds_reg)", id="mse-ranks"),
    pytest.param("result = np.mean(keras.metrics.mean_squared_error(y_reg, preds_reg))", id="np-mean-of-mse"),
    pytest.param("result = keras.losses.mean_absolute_error(preds_reg, preds_reg * 2)", id="mae"),
    pytest.param("result = keras.losses.binary_crossentropy(y_bin, probs_bin)", id="bce"),
    pytest.param("result = keras.losses.categorical_crossentropy(onehot, preds)", id="cce-float64-targets"),
    pytest.param("result = keras.losses.sparse_categorical_crossentropy(labels, preds)", id="sparse-cce"),
    pytest.param("result = keras.losses.sparse_categorical_crossentropy(labels_column, preds)", id="sparse-cce-column"),
    pytest.param("loss = keras.losses.mean_squared_error(y_reg, preds_reg)\nresult = np.mean(loss)", id="loss-then-numpy"),
    pytest.param("result = tf.cast(x64, tf.float32)", id="cast"),
    pytest.param("result = tf.one_hot(y_uint8, 10)", id="one_hot-uint8"),
    pytest.param("result = tf.expand_dims(img, 0)", id="expand_dims"),
    pytest.param("score = float(keras.ops.sigmoid(preds[0][0]))\nresult = score", id="sigmoid-of-scalar"),
    pytest.param("result = keras.ops.divide_no_nan(a, b)", id="divide_no_nan"),
    pytest.param("result = tf.concat([a, b], axis=0)", id="concat-list"),
    pytest.param("result = 1 - tf.reduce_sum(tf.square(a - b), axis=1)", id="inside-arithmetic"),
    pytest.param("result = tf.sort(labels)", id="sort-of-array"),
    pytest.param("parts = [a, b]\nresult = tf.stack(parts)", id="stack-of-a-list-variable"),
    pytest.param("result = tf.convert_to_tensor([0.5, 1.5])", id="convert_to_tensor"),
    pytest.param("classes = tf.argmax(preds, axis=1)\nresult = classes.numpy()", id="name-read-as-tensor"),
]


def run(code: str) -> object:
    namespace: dict[str, object] = dict(arrays())
    exec(compile(code, "<script>", "exec"), namespace)  # noqa: S102 - the test's own lines and their conversion
    return namespace["result"]


@pytest.mark.parametrize("line", LINES)
def test_script_line_matches_tensorflow(line: str) -> None:
    source = IMPORTS + line + "\n"
    converted = k2t.convert_source(source)
    assert converted.diagnostics == (), [d.format() for d in converted.diagnostics]
    imports = [line for line in converted.output.splitlines() if line.startswith(("import ", "from "))]
    assert not [line for line in imports if "tensorflow" in line or "keras" in line], "every Keras/TF name translated"
    expected, actual = run(source), run(converted.output)
    expected = expected.numpy() if hasattr(expected, "numpy") else expected
    if isinstance(expected, float):
        assert isinstance(actual, float)
    elif isinstance(expected, np.generic):  # a 0-d tensor's .numpy(), np.mean(...): a scalar or a 0-d array
        assert isinstance(actual, (np.generic, np.ndarray)) and actual.shape == () and actual.dtype.kind == expected.dtype.kind
    else:
        assert isinstance(actual, np.ndarray), f"a NumPy array, as the script then reads it; got {type(actual)}"
        assert actual.shape == expected.shape
        assert actual.dtype.kind == np.asarray(expected).dtype.kind
    np.testing.assert_allclose(np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64), rtol=1e-6, atol=1e-6)


def test_loss_of_predictions_is_kept_not_taken_for_a_compile_argument() -> None:
    """``loss = keras.losses.mean_squared_error(y, p)`` computes values: it was taken for a loss object
    bound for compile() and its line dropped, leaving ``loss`` undefined below."""
    source = IMPORTS + "loss = keras.losses.mean_squared_error(y_reg, preds_reg)\nprint(np.mean(loss))\n"
    converted = k2t.convert_source(source)
    assert converted.diagnostics == ()
    assert "loss = mean_squared_error(y_reg, preds_reg).numpy()" in converted.output


def test_a_predict_inside_an_op_read_with_numpy_is_translated() -> None:
    """``tf.reduce_mean(model.predict(x)).numpy()``: libcst names the chain ``tensorflow.reduce_mean.numpy``;
    the parser took all of it for one untranslated name and never saw the predict() inside, which the op
    rewrite then kept as ``model.predict(x)`` on a torch module (exit 0, AttributeError at run time)."""
    source = IMPORTS + """
x = np.ones((8, 4), dtype="float32")
model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
result = tf.reduce_mean(model.predict(x, verbose=0)).numpy()
"""
    converted = k2t.convert_source(source)
    assert converted.diagnostics == (), [d.format() for d in converted.diagnostics]
    assert "result = torch.mean(torch.as_tensor(predict(model, x, verbose=0))).numpy()" in converted.output
    namespace: dict = {}
    exec(compile(converted.output, "converted.py", "exec"), namespace)  # noqa: S102 - the test runs generated code
    assert isinstance(namespace["result"], np.ndarray) and namespace["result"].shape == ()


def test_lines_of_a_training_loop_are_left_to_the_training_loop() -> None:
    """In a loop with a GradientTape, the ops run on the model's outputs (with gradients, on its device),
    where `.numpy()` fails: those lines are no script-level lines on arrays."""
    source = IMPORTS + """
model = keras.Sequential([keras.Input(shape=(8,)), keras.layers.Dense(3)])
for x, y in batches:
    with tf.GradientTape() as tape:
        logits = model(x, training=True)
        extra = tf.reduce_mean(logits)
    acc = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(logits, 1), y), tf.float32))
"""
    converted = k2t.convert_source(source)
    assert ".numpy()" not in converted.output
    assert "acc = tf.reduce_mean(" in converted.output


def test_line_with_an_op_of_several_results_stays_as_written() -> None:
    """``tf.unstack(a)[1]`` gives a tuple of tensors: no NumPy array to give back, so the line keeps its note."""
    converted = k2t.convert_source(IMPORTS + "result = tf.unstack(a)[1]\n")
    assert [d.code for d in converted.diagnostics] == ["K2T150"]
    assert "result = tf.unstack(a)[1]" in converted.output


def test_line_with_an_op_outside_the_vocabulary_keeps_its_diagnostic() -> None:
    source = IMPORTS + "result = tf.argmax(tf.math.bincount(labels))\n"
    converted = k2t.convert_source(source)
    assert {d.code for d in converted.diagnostics} == {"K2T150"}
    assert any("tensorflow.math.bincount" in d.message for d in converted.diagnostics)
    assert "# TODO(k2t): K2T150" in converted.output
    assert "result = tf.argmax(tf.math.bincount(labels))" in converted.output  # as written, not half translated


TEXT_MODEL = IMPORTS + """
texts = tf.constant(["the cat sat", "a dog ran", "the dog sat", "a cat ran"])
vectorize = keras.layers.TextVectorization(max_tokens=12, output_sequence_length=3)
vectorize.adapt(texts)
model = keras.Sequential([keras.Input(shape=(1,), dtype="string"), vectorize, keras.layers.Embedding(12, 2),
                          keras.layers.GlobalAveragePooling1D(), keras.layers.Dense(1, activation="sigmoid")])
model.compile(optimizer="adam", loss="binary_crossentropy")
model.fit(texts, np.array([0, 1, 0, 1]), epochs=1, verbose=0)
result = model.predict(tf.convert_to_tensor(["the cat ran", "a dog sat"]), verbose=0)
"""


def test_strings_fed_to_a_text_model_stay_numpy_arrays() -> None:
    """torch has no string tensor; the converted TextVectorization, fit and predict take NumPy's strings."""
    converted = k2t.convert_source(TEXT_MODEL)
    assert converted.diagnostics == (), [d.format() for d in converted.diagnostics]
    assert 'texts = np.array(["the cat sat", "a dog ran", "the dog sat", "a cat ran"])' in converted.output
    assert 'predict(model, np.array(["the cat ran", "a dog sat"]), verbose=0)' in converted.output
    namespace: dict = {}
    exec(compile(converted.output, "converted.py", "exec"), namespace)  # noqa: S102 - the test runs generated code
    assert namespace["result"].shape == (2, 1)


def test_strings_used_otherwise_are_reported_at_the_call() -> None:
    source = IMPORTS + 'words = tf.constant(["a", "b"])\nprint(tf.strings.length(words))\n'
    converted = k2t.convert_source(source)
    [refused] = [d for d in converted.diagnostics if "strings make no torch tensor" in d.message]
    assert (refused.line, refused.column, refused.code) == (5, 9, "K2T150")
    assert 'words = tf.constant(["a", "b"])' in converted.output


PYTHON_VALUES = """\
eps = K.epsilon() * 2
floatx = keras.config.floatx()
layout = keras.backend.image_data_format()
rank = K.ndim(tf.constant(preds))
header = tf.compat.as_bytes("JFIF")
raw = b"caf\\xc3\\xa9"
text = tf.compat.as_text(raw)
name = "x"
encoded = tf.compat.as_bytes(name, encoding="latin-1")
result = (eps, floatx, layout, rank, header, text, encoded)
"""


def test_ops_that_give_python_values_stay_python_values() -> None:
    """Keras's epsilon(), floatx(), ndim and TensorFlow's text helpers give Python values: no ``.numpy()``
    (``(1e-07).numpy()`` raised AttributeError), and the same values as under TensorFlow."""
    source = IMPORTS + PYTHON_VALUES
    converted = k2t.convert_source(source)
    assert converted.diagnostics == (), [d.format() for d in converted.diagnostics]
    assert ".numpy()" not in converted.output
    expected, actual = run(source), run(converted.output)
    assert actual == expected
    assert [type(value) for value in actual] == [type(value) for value in expected]


def _vocabulary_lines() -> list[tuple[str, float]]:
    """Every exact parity case of the op table (tests/test_parity_ops.py) as a line of the script's own code on
    NumPy arrays; the rows that give no single tensor stay as written (NOT_ONE_TENSOR) and are left out."""
    from test_parity_ops import CASES, ROWS

    from k2t.ops import NOT_ONE_TENSOR

    lines = []
    for row in ROWS:
        if row.name in NOT_ONE_TENSOR:
            continue
        for case in CASES.get(row.name, ()):
            if case.kind != "exact":
                continue
            arguments = ", ".join([*case.args, *(f"{key}={value}" for key, value in case.kwargs.items())])
            parts = row.name.split(".")
            if parts[:2] == ["keras", "backend"] and parts[2] not in ("epsilon", "floatx", "image_data_format"):
                function = f"K.{parts[2]}"  # Keras 2's backend functions, which scripts import as K
            else:
                function = row.name.replace("tensorflow.", "tf.", 1)
            lines.append((f"{function}({arguments})", case.tol))
    return lines


def test_every_op_of_the_vocabulary_runs_on_the_scripts_arrays() -> None:
    """Each exact case of the op table's parity tests, as ``result_N = tf.op(array, ...)`` in a script's own
    lines: converted without a diagnostic, run, and equal to TensorFlow's result. An argument the converted op
    needs as a tensor (``tf.linalg.matmul(a, b)``'s a, ``tf.clip_by_value``'s bounds) is made one from the
    array; a Python value (``tf.rank(x)``) gets no ``.numpy()``."""
    from test_parity_ops import as_numpy, assert_same, make_inputs

    lines = _vocabulary_lines()
    inputs = make_inputs()
    expected: dict[str, object] = {}
    kept = []
    tolerances = {}
    for index, (line, tolerance) in enumerate(lines):
        namespace = {"np": np, "tf": __import__("tensorflow"), "keras": __import__("keras"), **inputs}
        namespace["K"] = namespace["keras"].backend
        try:
            expected[f"result_{index}"] = eval(line, namespace)
        except Exception:  # noqa: BLE001, S112 - a case TensorFlow refuses on NumPy arrays (it took tensors there)
            continue
        kept.append(f"result_{index} = {line}")
        tolerances[f"result_{index}"] = tolerance
    assert len(kept) > 400, len(kept)
    source = IMPORTS + "\n".join(kept) + "\n"
    converted = k2t.convert_source(source)
    assert converted.diagnostics == (), [d.format() for d in converted.diagnostics][:10]
    namespace = {**make_inputs()}
    exec(compile(converted.output, "<converted>", "exec"), namespace)  # noqa: S102 - the conversion of the test's lines
    failures = []
    for line in kept:
        name = line.split(" = ", 1)[0]
        try:
            assert_same(as_numpy(expected[name]), as_numpy(namespace[name]), tolerances[name], line)
        except AssertionError as error:
            failures.append(str(error)[:300])
    assert not failures, failures[:10]
