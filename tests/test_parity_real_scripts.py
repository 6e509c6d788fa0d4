"""Exact parity of the fixtures written as real scripts: the classic mnist_cnn.py, a variable-length
sequence classifier and a k-fold loop, each run as written by Keras and, converted, by torch.

Scripts that load keras.datasets read small stand-ins (tests/fake_keras_datasets.py) from a Keras
cache made here: Keras is pointed at it in this process, the converted script through KERAS_HOME.
"""

from pathlib import Path

import pytest
from conftest import FIXTURES, requires_keras, requires_torch
from fake_keras_datasets import stand_in_hashes, with_stand_in_hashes, write_stand_ins

import k2t

pytestmark = [requires_torch, requires_keras, pytest.mark.parity]


@pytest.fixture
def keras_cache(tmp_path, monkeypatch):
    """Stage stand-ins of ``datasets`` where Keras (already imported) and the converted script look."""

    def stage(datasets: list[str]) -> Path:
        from keras.src.backend import config
        from keras.src.utils import file_utils

        home = tmp_path / "keras_home"
        write_stand_ins(home, datasets)
        hashes = stand_in_hashes(home)
        check = file_utils.validate_file
        # Keras read KERAS_HOME when it was imported: point its cache here instead.
        monkeypatch.setattr(config, "_KERAS_DIR", str(home))
        monkeypatch.setattr(
            file_utils, "validate_file", lambda path, file_hash, **options: check(path, hashes.get(file_hash, file_hash), **options)
        )
        monkeypatch.setenv("KERAS_HOME", str(home))
        return home

    return stage


def fixture_parity(name: str, fit_index: int = 0, home: Path | None = None):
    from k2t.parity import exact_parity

    path = FIXTURES / name / "input.py"
    source = path.read_text(encoding="utf-8")
    converted = None
    if home is not None:
        # The converted script checks the published hash of the file it loads: expect the stand-in's.
        converted = with_stand_in_hashes(k2t.convert_file(path).output, home)
    report = exact_parity(source, epochs=3, path=path, fit_index=fit_index, converted=converted)
    assert report.error is None, report.error
    assert report.ok, report.format()
    assert list(report.torch_history) == list(report.keras_history), report.format()
    assert report.layer_diffs and report.layer_diffs[-1][0] == "output", report.format()
    return report


def test_classic_mnist_cnn_matches_keras(keras_cache):
    report = fixture_parity("mnist_cnn_classic", home=keras_cache(["mnist"]))
    # The channels_last branch, as Keras 3 takes it: two convolutions, pooling, two dense layers.
    assert [name for name, _ in report.layer_diffs][:3] == ["conv2d", "conv2d_1", "max_pooling2d"]
    assert set(report.keras_history) == {"loss", "accuracy", "val_loss", "val_accuracy"}


def test_variable_length_sequence_classifier_matches_keras():
    report = fixture_parity("variable_length_sequences")
    names = [name for name, _ in report.layer_diffs]
    assert {"lstm", "gru", "conv1d", "global_max_pooling1d"} <= set(names), names


@pytest.mark.parametrize("fit_index", [0, 4], ids=["first_fold", "final_model"])
def test_kfold_models_match_keras(keras_cache, fit_index):
    # Fit 0 is the first fold's fresh model; fit 4 the final model, after four folds ran in full on both sides.
    fixture_parity("kfold_models", fit_index=fit_index, home=keras_cache(["boston_housing"]))


def test_denoising_autoencoder_sized_from_the_data_and_k_int_shape_matches_keras(keras_cache, monkeypatch):
    """mnist's rows are 28 x 28 and K.int_shape(x) is (None, 7, 7, 16): the modules are built on those sizes."""
    import keras2_api

    keras2_api.install(monkeypatch.setattr, monkeypatch.setitem)  # K.int_shape, which Keras 3 removed
    report = fixture_parity("denoising_autoencoder", home=keras_cache(["mnist"]))
    assert set(report.keras_history) == {"loss", "val_loss"}
    output = (FIXTURES / "denoising_autoencoder" / "expected.py").read_text(encoding="utf-8")
    assert "self.latent_vector = nn.Linear(784, latent_dim)" in output
    assert "shape = (None, 7, 7, 16)  # Keras's static shape of `x`" in output
