"""Exact parity of the fixtures written as real scripts that load their data as the classic Keras
examples do: keras.datasets with pad_sequences, Keras 2's Tokenizer, timeseries_dataset_from_array,
ImageDataGenerator with fit_generator.

Scripts that load keras.datasets read small stand-ins (tests/fake_keras_datasets.py) from a Keras
cache made here (the keras_cache fixture of test_parity_real_scripts).
"""

from pathlib import Path

import numpy as np
import pytest
from conftest import FIXTURES, requires_keras, requires_torch
from fake_keras_datasets import with_stand_in_hashes
from test_parity_real_scripts import fixture_parity, keras_cache  # noqa: F401 (keras_cache is a pytest fixture)

pytestmark = [requires_torch, requires_keras, pytest.mark.parity]

RTOL = 1e-4


def fit_from_the_same_weights(name: str, tmp_path, kind: str = "fit", edits: dict[str, str] | None = None, home: Path | None = None):
    """For a fixture whose fit reads a dataset or a generator (which ``parity --exact`` does not take):
    both scripts run up to their first ``kind`` call, the torch module gets Keras's weights, dropout
    is switched off on both sides (as --exact does), and each side makes that call as the script wrote
    it. ``edits`` (old text -> new) are made to the script for both sides; ``home``: the Keras cache of
    stand-in datasets (keras_cache). Returns Keras's result and torch's."""
    from k2t.parity import functional
    from k2t.parity.capture import capture_first, run_keras, run_torch
    from k2t.parity.exact import _disable_dropout
    from k2t.parity.instrument import convert
    from k2t.weights import transfer_weights

    source = (FIXTURES / name / "input.py").read_text(encoding="utf-8")
    for old, new in (edits or {}).items():
        assert old in source, old
        source = source.replace(old, new)
    conversion = convert(source, f"{name}.py")
    assert conversion.output is not None and not conversion.diagnostics, conversion.diagnostics
    if home is not None:
        conversion.output = with_stand_in_hashes(conversion.output, home)  # the stand-ins' hashes, not the published ones
    path = tmp_path / f"{name}.py"
    keras_call = capture_first(run_keras, source, path, kind=kind)
    torch_call = capture_first(run_torch, conversion, path, kind=kind)
    assert keras_call is not None and torch_call is not None
    keras_model, torch_model = keras_call.args[0], torch_call.args[0]
    module_plan = conversion.module_plan(type(torch_model).__name__)
    # A Functional model's layers (its InputLayer left out) in the order of the module's plan.
    graph = module_plan.forward_lines is not None and not isinstance(keras_model, keras_sequential())
    transfer_weights(keras_model, torch_model, module_plan, functional.keras_layers_for(keras_model, module_plan) if graph else None)
    _disable_dropout(keras_model, torch_model)
    return keras_call.function(*keras_call.args, **keras_call.kwargs), torch_call.function(*torch_call.args, **torch_call.kwargs)


def keras_sequential() -> type:
    import keras

    return keras.Sequential


def assert_same_histories(keras_history: dict, torch_history: dict, rtol: float = RTOL) -> None:
    assert list(torch_history) == list(keras_history)
    for key, values in keras_history.items():
        np.testing.assert_allclose(torch_history[key], values, rtol=rtol, atol=1e-6, err_msg=key)


def test_imdb_lstm_matches_keras(keras_cache):  # noqa: F811
    report = fixture_parity("imdb_lstm", home=keras_cache(["imdb"]))
    assert [name for name, _ in report.layer_diffs][:2] == ["embedding", "lstm"]
    assert set(report.keras_history) == {"loss", "accuracy", "val_loss", "val_accuracy"}


@pytest.fixture
def keras2_api(monkeypatch):
    """Keras 2's APIs that Keras 3 removed, as Keras 2 defined them (tests/keras2_api.py)."""
    import keras2_api as shims

    shims.install(monkeypatch.setattr, monkeypatch.setitem)


def test_reuters_mlp_matches_keras(keras_cache, keras2_api):  # noqa: F811
    report = fixture_parity("reuters_mlp", home=keras_cache(["reuters", "reuters_word_index"]))
    assert report.layer_diffs[0][0] == "dense"
    assert set(report.keras_history) == {"loss", "accuracy", "val_loss", "val_accuracy"}


def test_timeseries_weather_forecast_fits_as_keras_on_the_windowed_datasets(tmp_path):
    keras_history, torch_history = fit_from_the_same_weights("timeseries_weather_forecast", tmp_path)
    assert set(keras_history.history) == {"loss", "val_loss"} and len(keras_history.history["loss"]) == 3
    assert_same_histories(keras_history.history, torch_history.history)


def test_cifar10_cnn_fit_generator_on_augmented_batches_fits_as_keras(keras_cache, keras2_api, tmp_path):  # noqa: F811
    home = keras_cache(["cifar10"])
    # The random parts off on both sides (as --exact switches shuffling and dropout off): the augmentation's
    # draws are NumPy's on both sides, but Keras's fit reads batches ahead, so its draws come in another order;
    # the images' and the batches' orders are drawn by each side's own generator.
    no_random = {
        "width_shift_range=0.1": "width_shift_range=0.0",
        "height_shift_range=0.1": "height_shift_range=0.0",
        "horizontal_flip=True": "horizontal_flip=False",
        "batch_size=batch_size)": "batch_size=batch_size, shuffle=False)",
        "workers=4)": "workers=4, shuffle=False)",  # fit_generator's own shuffle: of the batches' order
        "batch_size = 32\n": "keras.utils.set_random_seed(1)\nbatch_size = 32\n",  # the same initial weights every run
    }
    keras_history, torch_history = fit_from_the_same_weights("cifar10_cnn_augmentation", tmp_path, edits=no_random, home=home)
    assert set(keras_history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"} and len(keras_history.history["loss"]) == 2
    # --exact's loss tolerance (1e-3 relative): RMSprop divides each gradient by its own running size, so
    # rounding-level gradients (random labels on random pixels) become full steps and the runs drift apart
    # slowly, as the same script trained on arrays does (7e-5 after two epochs).
    assert_same_histories(keras_history.history, torch_history.history, rtol=1e-3)
