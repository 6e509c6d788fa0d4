"""A model whose output carries Keras's mask (Embedding(mask_zero=True) or Masking on its input, passed on to
the output: taggers, sequence regressors): Keras masks the loss and the compiled metrics with it
(keras.losses.loss.apply_mask, MeanMetricWrapper). The module gets `compute_mask(x)`, the generated fit and
evaluate hand the mask to the loss and metrics (k2t.translate.masking), and training matches Keras."""

import textwrap

import pytest
from conftest import requires_keras, requires_torch
from parity_cases import assert_parity

import k2t

TAGGER = textwrap.dedent(
    """\
    import numpy as np
    import keras
    from keras import layers

    rng = np.random.default_rng(0)
    x = np.zeros((64, 12), dtype="int32")
    for i, n in enumerate(rng.integers(3, 12, size=64)):
        x[i, :n] = rng.integers(1, 50, size=n)
    y = x % 5  # a tag per word; the padding's tags are masked

    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input(shape=(12,)),
        layers.Embedding(50, 16, mask_zero=True),
        layers.LSTM(16, return_sequences=True),
        layers.TimeDistributed(layers.Dense(5, activation="softmax")),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=3, batch_size=16, validation_split=0.25, verbose=0)
    print(model.evaluate(x, y, verbose=0))
    """
)

FUNCTIONAL = textwrap.dedent(
    """\
    import numpy as np
    import keras
    from keras import layers

    rng = np.random.default_rng(1)
    x = np.zeros((64, 10), dtype="int32")
    for i, n in enumerate(rng.integers(2, 10, size=64)):
        x[i, :n] = rng.integers(1, 40, size=n)
    y = keras.utils.to_categorical(x % 4, 4)

    keras.utils.set_random_seed(0)
    ids = keras.Input(shape=(10,), dtype="int32")
    h = layers.Embedding(40, 8, mask_zero=True)(ids)
    h = layers.Bidirectional(layers.GRU(6, return_sequences=True))(h)
    h = layers.Dropout(0.1)(h)
    out = layers.Dense(4, activation="softmax")(h)
    model = keras.Model(ids, out)
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="categorical_crossentropy", metrics=["accuracy", "mse"])
    history = model.fit(x, y, epochs=3, batch_size=16, validation_data=(x[:16], y[:16]), verbose=0)
    """
)

# The same tagger fitted on a tf.data dataset: fit_batches / evaluate_batches mask alike.
TAGGER_ON_BATCHES = TAGGER.replace(
    "history = model.fit(x, y, epochs=3, batch_size=16, validation_split=0.25, verbose=0)",
    "import tensorflow as tf\nds = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)\nhistory = model.fit(ds, epochs=3, validation_data=ds, verbose=0)",
)

REGRESSION = textwrap.dedent(
    """\
    import numpy as np
    import keras
    from keras import layers

    rng = np.random.default_rng(2)
    x = rng.normal(size=(48, 8, 3)).astype("float32")
    for i, n in enumerate(rng.integers(2, 8, size=48)):
        x[i, n:] = -1.0
    y = x.sum(axis=-1, keepdims=True) * 0.5

    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input(shape=(8, 3)),
        layers.Masking(mask_value=-1.0),
        layers.SimpleRNN(5, return_sequences=True),
        layers.Dense(1),
    ])
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    history = model.fit(x, y, epochs=3, batch_size=16, validation_split=0.25, verbose=0)
    """
)


def _convert(source: str):
    result = k2t.convert_source(source, "case.py")
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    return result.output


def test_the_module_computes_its_output_mask_and_fit_hands_it_to_the_loss_and_metrics():
    assert TAGGER_ON_BATCHES != TAGGER
    output = _convert(TAGGER)
    assert "    def compute_mask(self, x):" in output
    assert "        return x != 0\n" in output
    assert "mask = model.compute_mask(inputs)" in output
    assert "loss = sparse_categorical_crossentropy(logits, targets, mask)" in output
    assert '"accuracy": MaskedMean(sparse_categorical_accuracy)' in output
    assert 'metrics["accuracy"].update(output, targets, mask)' in output
    masking = _convert(REGRESSION)
    assert "return (x != -1.0).any(dim=-1)" in masking


@requires_keras
@requires_torch
@pytest.mark.parity
@pytest.mark.parametrize(
    "source",
    [TAGGER, TAGGER_ON_BATCHES, FUNCTIONAL, REGRESSION],
    ids=["sequential_tagger", "tagger_on_a_dataset", "functional_bidirectional", "masking_regression"],
)
def test_masked_losses_and_metrics_train_as_keras(source, tmp_path):
    report = assert_parity(source, tmp_path)
    # Masked steps left in the mean would move the loss by far more than rounding: this holds it to float32's.
    for key, values in report.keras_history.items():
        assert report.torch_history[key] == pytest.approx(values, rel=1e-5), key


UNTRANSLATED = {
    "fit(x, y, epochs=3, batch_size=16, validation_split=0.25, verbose=0)": (
        "fit(x, y, epochs=3, batch_size=16, sample_weight=np.ones(64), verbose=0)",
        "sample or class weights on a model whose output carries Keras's mask",
    ),
    'loss="sparse_categorical_crossentropy", metrics=["accuracy"]': (
        'loss="sparse_categorical_crossentropy", metrics=[keras.metrics.SparseTopKCategoricalAccuracy(k=2)]',
        "on a model whose output carries Keras's mask is not translated",
    ),
    'loss="sparse_categorical_crossentropy"': ('loss="poisson"', "loss poisson on a masked output"),
}


@pytest.mark.parametrize("old", UNTRANSLATED)
def test_what_k2t_does_not_mask_is_a_located_diagnostic(old):
    new, message = UNTRANSLATED[old]
    result = k2t.convert_source(TAGGER.replace(old, new), "case.py")
    assert [d.code for d in result.diagnostics] == ["K2T102"], [d.format() for d in result.diagnostics]
    assert message in result.diagnostics[0].message


def test_a_script_loss_on_a_masked_output_is_a_located_diagnostic():
    source = TAGGER.replace("model.compile(", "def my_loss(y_true, y_pred):\n    return (y_true - y_pred) ** 2\n\n\nmodel.compile(")
    result = k2t.convert_source(source.replace('loss="sparse_categorical_crossentropy"', "loss=my_loss"), "case.py")
    assert [d.code for d in result.diagnostics] == ["K2T102"], [d.format() for d in result.diagnostics]
    assert "the script's loss `my_loss` on a masked output" in result.diagnostics[0].message
