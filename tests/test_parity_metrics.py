"""Exact parity of every translated Keras metric, as a string and as an object with its arguments.

Each case fits a tiny model with validation_split, so the per-epoch values and their
``val_`` copies (computed by the generated evaluate) are both compared with Keras.
The stateful metrics (AUC, Precision, Recall, RootMeanSquaredError) reproduce Keras's
accumulated counts exactly, so their values are held to 1e-5 relative, well inside
the harness's metric tolerance.
"""

import textwrap

import pytest
from conftest import requires_keras, requires_torch
from parity_cases import assert_parity, script
from unwrapped import unwrapped

pytestmark = [requires_torch, requires_keras, pytest.mark.parity]

HIDDEN = 'keras.layers.Dense(8, activation="relu")'
SIGMOID = 'keras.layers.Dense(1, activation="sigmoid")'
SOFTMAX = 'keras.layers.Dense(3, activation="softmax")'
VALIDATE = ", validation_split=0.25"
EXACT = 1e-5


def check(report, exact_keys=()):
    """Every metric the report compares, and the stateful ones to EXACT relative."""
    for key in exact_keys:
        for prefix in ("", "val_"):
            diffs = report.rel_diffs[prefix + key]
            assert max(diffs) <= EXACT, f"{prefix}{key}: {diffs}\nkeras {report.keras_history}\ntorch {report.torch_history}"


# (output layer, loss, targets, metrics, history keys held to EXACT)
BINARY = '"binary_crossentropy"'
CASES = {
    # Strings, with the history key exactly as written.
    "auc_strings": (SIGMOID, BINARY, "binary", '["auc", "AUC"]', ["auc", "AUC"]),
    "precision_recall_strings": (SIGMOID, BINARY, "binary", '["precision", "Precision", "recall", "Recall"]', ["precision", "Precision", "recall", "Recall"]),
    "rmse_strings": (SIGMOID, BINARY, "binary", '["RootMeanSquaredError", "root_mean_squared_error"]', ["RootMeanSquaredError", "root_mean_squared_error"]),
    "mape_strings": ("keras.layers.Dense(1)", '"mse"', "positive", '["mape", "MAPE", "mean_absolute_percentage_error", "MeanAbsolutePercentageError"]', []),
    "case_spellings": (SIGMOID, BINARY, "binary", '["ACC", "Accuracy", "BinaryAccuracy", "MSE", "MAE", "MeanSquaredError", "MeanAbsoluteError"]', []),
    "top_k_strings": (SOFTMAX, '"categorical_crossentropy"', "categorical", '["top_k_categorical_accuracy", "TopKCategoricalAccuracy", "CategoricalAccuracy"]', []),
    "sparse_top_k_strings": (SOFTMAX, '"sparse_categorical_crossentropy"', "sparse", '["sparse_top_k_categorical_accuracy", "SparseTopKCategoricalAccuracy", "SparseCategoricalAccuracy"]', []),
    # Objects and the arguments that change values.
    "auc_objects": (SIGMOID, BINARY, "binary", '[keras.metrics.AUC(), keras.metrics.AUC(num_thresholds=20, name="coarse"), keras.metrics.AUC(num_thresholds=3, name="three")]', ["auc", "coarse", "three"]),
    "auc_pr": (SIGMOID, BINARY, "binary", '[keras.metrics.AUC(curve="PR", name="pr"), keras.metrics.AUC(curve="pr", num_thresholds=50, name="pr50")]', ["pr", "pr50"]),
    "auc_summation": (SIGMOID, BINARY, "binary", '[keras.metrics.AUC(summation_method="minoring", name="lo"), keras.metrics.AUC(summation_method="majoring", name="hi"), keras.metrics.AUC(curve="PR", summation_method="minoring", name="pr_lo"), keras.metrics.AUC(curve="PR", summation_method="majoring", name="pr_hi")]', ["lo", "hi", "pr_lo", "pr_hi"]),
    "auc_thresholds": (SIGMOID, BINARY, "binary", '[keras.metrics.AUC(thresholds=[0.25, 0.5, 0.75], name="quarters")]', ["quarters"]),
    "auc_listed_thresholds": (SIGMOID, BINARY, "binary", '[keras.metrics.AUC(thresholds=[0.9, 0.1, 0.35, 0.5], name="listed"), keras.metrics.AUC(thresholds=[0.2, 0.6], curve="PR", name="listed_pr"), keras.metrics.AUC(thresholds=[], name="none")]', ["listed", "listed_pr", "none"]),
    "auc_from_logits": ("keras.layers.Dense(1)", "keras.losses.BinaryCrossentropy(from_logits=True)", "binary", '[keras.metrics.AUC(from_logits=True), keras.metrics.Precision(thresholds=0.0)]', ["auc", "precision"]),
    "auc_one_hot": (SOFTMAX, '"categorical_crossentropy"', "categorical", '[keras.metrics.AUC()]', ["auc"]),
    "precision_recall_thresholds": (SIGMOID, BINARY, "binary", '[keras.metrics.Precision(thresholds=0.3), keras.metrics.Recall(thresholds=[0.7]), keras.metrics.Precision(name="p"), keras.metrics.Recall(name="r")]', ["precision", "recall", "p", "r"]),
    "precision_recall_top_k": (SOFTMAX, '"categorical_crossentropy"', "categorical", '[keras.metrics.Precision(top_k=1), keras.metrics.Recall(top_k=2), keras.metrics.Precision(top_k=2, thresholds=0.3, name="p2")]', ["precision", "recall", "p2"]),
    "precision_recall_class_id": (SOFTMAX, '"categorical_crossentropy"', "categorical", '[keras.metrics.Precision(class_id=1), keras.metrics.Recall(class_id=2, thresholds=0.4), keras.metrics.Precision(top_k=1, class_id=0, name="p0")]', ["precision", "recall", "p0"]),
    "numbered_objects": (SIGMOID, BINARY, "binary", '[keras.metrics.AUC(), keras.metrics.AUC(curve="PR"), keras.metrics.Precision(), keras.metrics.Precision(thresholds=0.6), keras.metrics.Recall()]', ["auc", "auc_1", "precision", "precision_1", "recall"]),
    # The confusion counts: every output above the threshold is a positive prediction.
    "confusion_counts": (SIGMOID, BINARY, "binary", '[keras.metrics.TruePositives(), keras.metrics.FalsePositives(thresholds=0.3), keras.metrics.TrueNegatives(name="tn"), keras.metrics.FalseNegatives(thresholds=[0.6]), keras.metrics.TruePositives(), "true_negatives", "FalseNegatives"]', ["true_positives", "false_positives", "tn", "false_negatives", "true_positives_1", "true_negatives", "FalseNegatives"]),
    "confusion_counts_one_hot": (SOFTMAX, '"categorical_crossentropy"', "categorical", '[keras.metrics.TruePositives(name="tp"), keras.metrics.FalsePositives(name="fp"), keras.metrics.TrueNegatives(thresholds=0.2), keras.metrics.FalseNegatives(thresholds=0.2)]', ["tp", "fp", "true_negatives", "false_negatives"]),
    "binary_accuracy_threshold": (SIGMOID, BINARY, "binary", '[keras.metrics.BinaryAccuracy(threshold=0.7), keras.metrics.BinaryAccuracy(name="half")]', []),
    "top_k_objects": (SOFTMAX, '"categorical_crossentropy"', "categorical", '[keras.metrics.TopKCategoricalAccuracy(k=1, name="top1"), keras.metrics.TopKCategoricalAccuracy(k=2), keras.metrics.top_k_categorical_accuracy]', []),
    "sparse_top_k_objects": (SOFTMAX, '"sparse_categorical_crossentropy"', "sparse", '[keras.metrics.SparseTopKCategoricalAccuracy(k=1, name="top1"), keras.metrics.SparseTopKCategoricalAccuracy(k=2)]', []),
    "regression_objects": ("keras.layers.Dense(1)", '"mse"', "regression", '[keras.metrics.RootMeanSquaredError(), keras.metrics.MeanAbsolutePercentageError(name="pct"), keras.metrics.MeanSquaredError(), keras.metrics.MeanAbsoluteError()]', ["root_mean_squared_error"]),
    "regression_two_columns": ("keras.layers.Dense(3)", '"mse"', "distribution", '[keras.metrics.RootMeanSquaredError(), "mape", keras.metrics.AUC()]', ["root_mean_squared_error", "auc"]),
}


@pytest.mark.parametrize("name", CASES)
def test_metric(name, tmp_path):
    out, loss, targets, metrics, exact_keys = CASES[name]
    source = script([HIDDEN, out], loss=loss, targets=targets, metrics=metrics, fit_extra=VALIDATE)
    report = assert_parity(source, tmp_path)
    assert "val_loss" in report.torch_history
    check(report, exact_keys)


def test_metrics_with_an_uneven_last_batch_and_default_batch_size(tmp_path):
    """Stateful metrics count every row once: batches of 32 over 72 training rows."""
    source = script([HIDDEN, SIGMOID], metrics='["auc", "precision", "recall", "RootMeanSquaredError"]', fit_extra=VALIDATE)
    report = assert_parity(source.replace("batch_size=16, ", ""), tmp_path)
    check(report, ["auc", "precision", "recall", "RootMeanSquaredError"])


FUNCTIONAL = """\
import numpy as np
import keras
from keras import layers

rng = np.random.RandomState(0)
xa = rng.normal(size=(96, 8)).astype("float32")
y = (xa.sum(1) > 0).astype("float32")
y_reg = xa[:, :2].sum(1, keepdims=True).astype("float32")
keras.utils.set_random_seed(0)
inp = keras.Input(shape=(8,))
h = layers.Dense(8, activation="relu")(inp)
o1 = layers.Dense(1, activation="sigmoid", name="cls")(h)
o2 = layers.Dense(1, name="reg")(h)
model = keras.Model(inp, [o1, o2])
model.compile(optimizer="adam", loss=["binary_crossentropy", "mse"], metrics={metrics})
model.fit(xa, [y, y_reg], batch_size=16, epochs=3, verbose=0, validation_split=0.25)
"""


@pytest.mark.parametrize(
    "metrics, exact_keys",
    [
        ('[["auc", keras.metrics.Precision(), "accuracy"], [keras.metrics.RootMeanSquaredError(), "mape"]]', ["cls_auc", "cls_precision", "reg_root_mean_squared_error"]),
        ('{"reg": ["RootMeanSquaredError", "mae"], "cls": [keras.metrics.AUC(curve="PR"), keras.metrics.Recall(thresholds=0.4)]}', ["cls_auc", "cls_recall", "reg_RootMeanSquaredError"]),
        # A flat list with one entry per output is matched to the outputs (Keras 3 rejects any other length).
        ('[keras.metrics.AUC(), "RootMeanSquaredError"]', ["cls_auc", "reg_RootMeanSquaredError"]),
        # Unnamed objects are numbered as they are built: the dict's "reg" entry comes first in the source.
        ('{"reg": [keras.metrics.Precision(), "precision"], "cls": [keras.metrics.AUC(), keras.metrics.Precision(), "auc"]}',
         ["cls_auc", "cls_precision_1", "reg_precision"]),
    ],
    ids=["lists", "dicts", "one_per_output", "numbered_in_source_order"],
)
def test_multi_output(metrics, exact_keys, tmp_path):
    report = assert_parity(FUNCTIONAL.format(metrics=metrics), tmp_path)
    check(report, exact_keys)


EVALUATE = """\
import numpy as np
import keras

rng = np.random.RandomState(0)
x = rng.normal(size=(96, 6)).astype("float32")
y = (x.sum(axis=1) > 0).astype("float32")
keras.utils.set_random_seed(0)
model = keras.Sequential([keras.Input(shape=(6,)), keras.layers.Dense(4, activation="relu"), keras.layers.Dense(1, activation="sigmoid")])
model.compile(optimizer="adam", loss="binary_crossentropy", metrics={metrics})
model.fit(x, y, batch_size=16, epochs=2, verbose=0)
results = model.evaluate(x, y, verbose=0)
logs = model.evaluate(x, y, verbose=0, return_dict=True)
"""


def _run(source: str) -> dict:
    import keras

    keras.backend.clear_session()  # fresh name counters (auc, auc_1, ...), as in a new process
    namespace: dict = {}
    exec(compile(source, "<script>", "exec"), namespace)  # noqa: S102 - the test runs generated code
    return namespace


def _assert_same_evaluate(source: str, order: list[str]) -> None:
    """Keras and the converted script both list evaluate()'s values in ``order``, return_dict has the same values."""
    import k2t

    result = k2t.convert_source(source)
    assert result.ok, result.diagnostics
    for side in (_run(source), _run(result.output)):  # Keras, then the converted script
        results, logs = side["results"], side["logs"]
        assert sorted(logs) == sorted(set(order))
        assert results == pytest.approx([logs[key] for key in order], rel=1e-6)


@pytest.mark.parametrize(
    "metrics, order",
    [
        ('["mae", keras.metrics.AUC(name="roc"), "accuracy", "precision", "RootMeanSquaredError"]',
         ["loss", "mae", "roc", "accuracy", "precision", "RootMeanSquaredError"]),
        # A repeated name: history keys auc, auc_1; evaluate repeats the first and lists auc_1 last (Keras's flattening).
        ('["auc", keras.metrics.AUC(), "mse"]', ["loss", "auc", "auc", "mse", "auc_1"]),
    ],
    ids=["compile_order", "repeated_name"],
)
def test_evaluate_lists_values_like_keras(metrics, order):
    _assert_same_evaluate(EVALUATE.format(metrics=metrics), order)


@pytest.mark.parametrize("names", [("cls", "reg"), ("zz", "aa")], ids=["sorted_names", "unsorted_names"])
def test_multi_output_evaluate_order_like_keras(names):
    """Multi-output evaluate: loss, the output losses in output order, then every output metric sorted by key."""
    first, second = names
    source = FUNCTIONAL.format(metrics='[[keras.metrics.AUC(), "accuracy"], ["RootMeanSquaredError", "mae"]]')
    source = source.replace('name="cls"', f'name="{first}"').replace('name="reg"', f'name="{second}"')
    source += "results = model.evaluate(xa, [y, y_reg], verbose=0)\nlogs = model.evaluate(xa, [y, y_reg], verbose=0, return_dict=True)\n"
    metrics = sorted([f"{first}_auc", f"{first}_accuracy", f"{second}_RootMeanSquaredError", f"{second}_mae"])
    _assert_same_evaluate(source, ["loss", f"{first}_loss", f"{second}_loss", *metrics])


def test_multi_output_metrics_list_of_another_length_is_a_diagnostic():
    """Keras 3 raises on a metrics list whose length is not the number of outputs ("tuple arity mismatch")."""
    import k2t

    result = k2t.convert_source(FUNCTIONAL.format(metrics='["mae", "mse", "accuracy"]'))
    assert [d.code for d in result.diagnostics] == ["K2T130"]
    assert "3 entries for 2 outputs" in result.diagnostics[0].message


def test_script_without_stateful_metrics_has_no_metric_objects():
    import k2t

    result = k2t.convert_source(script([HIDDEN, SIGMOID], metrics='["accuracy", "mae"]'))
    assert result.ok
    assert "metrics = {" not in result.output and "class AUC" not in result.output


UNSUPPORTED = {
    "multi_label": ("keras.metrics.AUC(multi_label=True)", "multi_label"),
    "prgain": ('keras.metrics.AUC(curve="PRGAIN")', "curve"),
    "num_labels": ("keras.metrics.AUC(num_labels=3)", "num_labels"),
    "several_thresholds": ("keras.metrics.Precision(thresholds=[0.3, 0.6])", "thresholds"),
    "non_literal": ("keras.metrics.Recall(thresholds=cut)", "thresholds"),
    "sorted_ids": ("keras.metrics.SparseTopKCategoricalAccuracy(from_sorted_ids=True)", "from_sorted_ids"),
    "label_weights": ("keras.metrics.AUC(label_weights=[1.0])", "label_weights"),
    "unknown_string": ('"f1_score"', "f1_score"),
}


@pytest.mark.parametrize("name", UNSUPPORTED)
def test_untranslated_metric_arguments_are_located_diagnostics(name):
    import k2t

    metric, mentioned = UNSUPPORTED[name]
    source = "import random\ncut = random.random()\n" + script([HIDDEN, SIGMOID], metrics=f"[{metric}]")  # cut: not known statically
    result = k2t.convert_source(source)
    diagnostics = [d for d in result.diagnostics if d.code == "K2T122"]
    assert len(diagnostics) == 1, result.diagnostics
    line = next(i for i, text in enumerate(source.splitlines(), 1) if "model.compile" in text)
    assert diagnostics[0].line == line and mentioned in diagnostics[0].message
    assert "TODO(k2t)" in result.output


def test_generated_metrics_read_like_the_keras_call():
    """Constructor arguments appear in the generated construction, defaults do not."""
    import k2t

    metrics = '[keras.metrics.AUC(num_thresholds=50, curve="PR"), keras.metrics.Precision(thresholds=0.3), keras.metrics.Recall(top_k=2, class_id=1)]'
    result = k2t.convert_source(script([HIDDEN, SOFTMAX], loss='"categorical_crossentropy"', targets="categorical", metrics=metrics))
    assert result.ok, result.diagnostics
    assert textwrap.dedent(
        '''\
        metrics = {"auc": PrecisionRecallAUC(num_thresholds=50), "precision": Precision(threshold=0.3), "recall": Recall(top_k=2, class_id=1)}'''
    ) in unwrapped(result.output)


HELD_IN_A_VARIABLE = """\
import numpy as np
import keras

rng = np.random.RandomState(0)
features = rng.normal(size=(96, 6)).astype("float32")
targets = (features[:, :2].sum(1, keepdims=True) > 0.8).astype("uint8")
keras.utils.set_random_seed(0)
model = keras.Sequential([keras.Input(shape=(6,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1, activation="sigmoid")])
metrics = [
    keras.metrics.FalseNegatives(name="fn"),
    keras.metrics.FalsePositives(name="fp"),
    keras.metrics.TrueNegatives(name="tn"),
    keras.metrics.TruePositives(name="tp"),
    keras.metrics.Precision(name="precision"),
    keras.metrics.Recall(name="recall"),
    "accuracy",
]
model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="binary_crossentropy", metrics=metrics)
model.fit(features, targets, batch_size=16, epochs=3, verbose=0, validation_split=0.25)
"""


def test_metrics_held_in_a_variable_as_keras_io_imbalanced_classification_writes_them(tmp_path):
    """keras.io's imbalanced_classification: the metric objects listed in a variable compile() receives."""
    report = assert_parity(HELD_IN_A_VARIABLE, tmp_path)
    check(report, ["fn", "fp", "tn", "tp", "precision", "recall"])
