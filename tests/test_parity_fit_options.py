"""Exact parity against real Keras for fit's weighting, step and validation options.

class_weight and sample_weight scale each row's loss (Keras's
"sum_over_batch_size": sum(weight * loss) / rows) but not the compiled
metrics; steps_per_epoch runs on through the rows across epochs; validation
honours validation_steps, validation_batch_size, validation_freq and a
(x, y, sample_weight) validation_data; initial_epoch shortens the history.
"""

import pytest
from conftest import requires_keras, requires_torch

pytestmark = [requires_torch, requires_keras, pytest.mark.parity]

from parity_cases import assert_parity, script

HIDDEN = 'keras.layers.Dense(8, activation="relu")'
BINARY = [HIDDEN, 'keras.layers.Dense(1, activation="sigmoid")']
CLASSES = [HIDDEN, 'keras.layers.Dense(3, activation="softmax")']
REGRESSION = [HIDDEN, "keras.layers.Dense(1)"]
WEIGHTS = 'np.linspace(0.2, 3.0, 96).astype("float32")'


@pytest.mark.parametrize(
    "layers, loss, targets, class_weight",
    [
        (BINARY, '"binary_crossentropy"', "binary", "{0: 1.0, 1: 3.0}"),
        (CLASSES, '"sparse_categorical_crossentropy"', "sparse", "{0: 1.0, 1: 2.5, 2: 0.5}"),
        (CLASSES, '"categorical_crossentropy"', "categorical", "{0: 0.5, 2: 4.0}"),  # class 1 unlisted: weight 1
        ([HIDDEN, "keras.layers.Dense(3)"], "keras.losses.SparseCategoricalCrossentropy(from_logits=True)", "sparse", "{1: 2.0}"),
    ],
    ids=["binary", "sparse", "one_hot", "sparse_from_logits"],
)
def test_class_weight(layers, loss, targets, class_weight, tmp_path):
    metrics = '["accuracy"]'
    assert_parity(script(layers, loss=loss, targets=targets, metrics=metrics, fit_extra=f", class_weight={class_weight}"), tmp_path)


def test_class_weight_with_validation_split(tmp_path):
    # Keras turns class_weight into weights after the split: the validation rows stay unweighted.
    extra = ", class_weight={0: 1.0, 1: 3.0}, validation_split=0.25"
    assert_parity(script(BINARY, fit_extra=extra), tmp_path)


SAMPLE_WEIGHT_LOSSES = {
    "binary_crossentropy": (BINARY, '"binary_crossentropy"', "binary"),
    "categorical_crossentropy": (CLASSES, '"categorical_crossentropy"', "categorical"),
    "categorical_probabilities": ([HIDDEN, 'keras.layers.Dense(3, activation="softplus")'], '"categorical_crossentropy"', "categorical"),
    "binary_probabilities": ([HIDDEN, 'keras.layers.Dense(1, activation="hard_sigmoid")'], '"binary_crossentropy"', "binary"),
    "mse": (REGRESSION, '"mse"', "regression"),
    "mae": (REGRESSION, '"mae"', "regression"),
    "huber": (REGRESSION, "keras.losses.Huber(delta=0.5)", "regression"),
    "log_cosh": (REGRESSION, '"log_cosh"', "regression"),
    "msle": ([HIDDEN, 'keras.layers.Dense(1, activation="softplus")'], '"msle"', "positive"),
    "mape": ([HIDDEN, 'keras.layers.Dense(1, activation="softplus")'], '"mape"', "positive"),
    "poisson": ([HIDDEN, 'keras.layers.Dense(1, activation="softplus")'], '"poisson"', "positive"),
    "kl_divergence": (CLASSES, '"kl_divergence"', "distribution"),
    "hinge": ([HIDDEN, 'keras.layers.Dense(1, activation="tanh")'], '"hinge"', "signs"),
    "squared_hinge": ([HIDDEN, 'keras.layers.Dense(1, activation="tanh")'], '"squared_hinge"', "signs"),
    "cosine_similarity": ([HIDDEN, "keras.layers.Dense(3)"], '"cosine_similarity"', "distribution"),
    "sparse_probabilities": ([HIDDEN, 'keras.layers.Dense(3, activation="softplus")'], '"sparse_categorical_crossentropy"', "sparse"),
    "binary_from_logits": ([HIDDEN, "keras.layers.Dense(1)"], "keras.losses.BinaryCrossentropy(from_logits=True)", "binary"),
    "categorical_from_logits": ([HIDDEN, "keras.layers.Dense(3)"], "keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1)", "categorical"),
}


@pytest.mark.parametrize("name", SAMPLE_WEIGHT_LOSSES)
def test_sample_weight(name, tmp_path):
    layers, loss, targets = SAMPLE_WEIGHT_LOSSES[name]
    assert_parity(script(layers, loss=loss, targets=targets, metrics="[]", fit_extra=f", sample_weight={WEIGHTS}"), tmp_path)


def test_sparse_crossentropy_renormalises_probabilities(tmp_path):
    # Keras takes a softmax crossentropy of log(clip(p)): outputs that do not sum to 1 are renormalised.
    layers = [HIDDEN, 'keras.layers.Dense(3, activation="softplus")']
    assert_parity(script(layers, loss='"sparse_categorical_crossentropy"', targets="sparse", metrics="[]"), tmp_path)


def test_sample_weight_leaves_metrics_unweighted(tmp_path):
    assert_parity(script(BINARY, metrics='["accuracy", "mse"]', fit_extra=f", sample_weight={WEIGHTS}"), tmp_path)


def test_sample_weight_with_validation_split(tmp_path):
    # The validation rows keep their own (last) weights: val_loss is weighted too.
    assert_parity(script(BINARY, fit_extra=f", sample_weight={WEIGHTS}, validation_split=0.25"), tmp_path)


def test_validation_data_with_weights(tmp_path):
    extra = ", validation_data=(x[:40] * 0.5, y[:40], np.linspace(2.0, 0.1, 40))"
    assert_parity(script(BINARY, fit_extra=extra), tmp_path)


@pytest.mark.parametrize("steps", [4, 5, 6, 10], ids=lambda n: f"steps{n}")
def test_steps_per_epoch(steps, tmp_path):
    # 96 rows in batches of 16 are 6 batches: 4 steps run 4, 2, 4 batches in three epochs; 10 runs 6 each.
    assert_parity(script(BINARY, fit_extra=f", steps_per_epoch={steps}"), tmp_path)


def test_steps_per_epoch_chooses_batch_size(tmp_path):
    # Without a batch_size Keras cuts the 72 training rows into 5 batches of ceil(72 / 5) = 15.
    source = script(BINARY, fit_extra=", steps_per_epoch=5, validation_split=0.25").replace("batch_size=16, ", "")
    assert "batch_size" not in source
    assert_parity(source, tmp_path)


def test_steps_per_epoch_with_weights(tmp_path):
    assert_parity(script(BINARY, fit_extra=", steps_per_epoch=4, class_weight={0: 2.0, 1: 0.5}"), tmp_path)


@pytest.mark.parametrize(
    "extra",
    [
        ", validation_split=0.25, validation_steps=1",
        ", validation_split=0.25, validation_batch_size=5, validation_steps=2",
        ", validation_data=(x[:40], y[:40]), validation_steps=2",
    ],
    ids=["steps", "batch_size_steps", "data_steps"],
)
def test_validation_steps_and_batch_size(extra, tmp_path):
    # The loss is a mean over rows, so a validation batch size shows only through the rows that validation_steps keeps.
    assert_parity(script(BINARY, metrics='["accuracy"]', fit_extra=extra), tmp_path)


def _history_parity(source, tmp_path, lengths):
    """Like assert_parity for histories whose keys have the given numbers of epochs."""
    from k2t.parity import exact_parity

    report = exact_parity(source, epochs=3, path=tmp_path / "case.py")
    assert report.error is None, report.error
    details = "\n".join(report.failures) + f"\nkeras: {report.keras_history}\ntorch: {report.torch_history}"
    assert report.ok, details
    assert list(report.torch_history) == list(report.keras_history), details
    assert {key: len(values) for key, values in report.keras_history.items()} == lengths, details
    assert {key: len(values) for key, values in report.torch_history.items()} == lengths, details


@pytest.mark.parametrize(
    "freq, validated",
    [("2", 1), ("[1, 3]", 2), ("1", 3), ("4", 0)],
    ids=["every_2", "list", "every_1", "never"],
)
def test_validation_freq(freq, validated, tmp_path):
    # History has val_ entries only for the validated epochs (none at all when no epoch is validated).
    source = script(BINARY, fit_extra=f", validation_split=0.25, validation_freq={freq}")
    lengths = {"accuracy": 3, "loss": 3}
    if validated:
        lengths.update(val_accuracy=validated, val_loss=validated)
    _history_parity(source, tmp_path, lengths)


def test_initial_epoch(tmp_path):
    # epochs=3 with initial_epoch=1 trains epochs 2 and 3: two history entries.
    source = script(BINARY, fit_extra=", initial_epoch=1, validation_split=0.25, validation_freq=2")
    _history_parity(source, tmp_path, {"accuracy": 2, "loss": 2, "val_accuracy": 1, "val_loss": 1})


SEVERAL_OUTPUTS = """\
import numpy as np
import keras
from keras import layers

rng = np.random.RandomState(0)
x = rng.normal(size=(96, 8)).astype("float32")
y = (x.sum(1) > 0).astype("float32")
y_reg = x[:, :2].sum(1, keepdims=True).astype("float32")
keras.utils.set_random_seed(0)
inp = keras.Input(shape=(8,))
h = layers.Dense(8, activation="relu")(inp)
o1 = layers.Dense(1, activation="sigmoid", name="cls")(h)
o2 = layers.Dense(1, name="reg")(h)
model = keras.Model(inp, [o1, o2])
model.compile(optimizer="adam", loss=["binary_crossentropy", "mse"], metrics=[["accuracy"], ["mae"]], loss_weights=[1.0, 0.5])
model.fit(x, [y, y_reg], batch_size=16, epochs=3, verbose=0{fit_extra})
"""


@pytest.mark.parametrize(
    "extra",
    [
        f", sample_weight={WEIGHTS}, validation_split=0.25",
        ", validation_data=(x[:40], [y[:40], y_reg[:40]], np.linspace(2.0, 0.1, 40)), validation_steps=2, validation_batch_size=8",
        ", steps_per_epoch=4, validation_split=0.25",
    ],
    ids=["sample_weight", "weighted_validation_steps", "steps_per_epoch"],
)
def test_several_outputs(extra, tmp_path):
    # One sample_weight array weighs every output's loss; each output's logged loss is weighted, not loss-weighted.
    assert_parity(SEVERAL_OUTPUTS.format(fit_extra=extra), tmp_path)


def test_several_outputs_validation_freq_and_initial_epoch(tmp_path):
    source = SEVERAL_OUTPUTS.format(fit_extra=", validation_split=0.25, validation_freq=[2, 3], initial_epoch=1")
    lengths = {key: 2 for key in ("cls_accuracy", "cls_loss", "loss", "reg_loss", "reg_mae")}
    lengths.update({f"val_{key}": 2 for key in lengths})
    _history_parity(source, tmp_path, lengths)


def test_weights_through_a_shared_fit_that_takes_the_loss(tmp_path):
    """Two compiles that differ only in the loss share fit(model, optimizer, loss_fn, ...): both loss functions take weights."""
    from k2t.parity import exact_parity

    source = script([HIDDEN, "keras.layers.Dense(1)"], loss='"mse"', metrics="[]", targets="regression", fit_extra=f", sample_weight={WEIGHTS}")
    source += """
other = keras.Sequential([keras.Input(shape=(6,)), keras.layers.Dense(1)])
other.compile(optimizer="adam", loss="mae")
other.fit(x, y, batch_size=16, epochs=3, verbose=0, validation_data=(x[:30], y[:30], np.full(30, 2.0)))
"""
    import k2t

    assert "loss_fn(output, targets, weights)" in k2t.convert_source(source).output
    for index in (0, 1):
        report = exact_parity(source, epochs=3, path=tmp_path / "case.py", fit_index=index)
        assert report.ok, report.failures
