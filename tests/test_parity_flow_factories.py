"""Exact parity against real Keras for models whose layers the script decides on values k2t follows (issue 11):
a ResNet helper choosing a projection shortcut on its input tensor's size, and factories called with different
arguments in a loop (a batch-normalization flag; a recurrent layer class). Each fit is compared with Keras's,
weights transferred, every layer and epoch.
"""

import pytest
from conftest import requires_keras, requires_torch
from test_flow_factories import FLAG_FACTORY, MAKERS_RESNET, RESNET, RNN_CLASS_FACTORY, TRANSFORMER

import k2t

pytestmark = [requires_torch, requires_keras, pytest.mark.parity]


def assert_exact(source: str, tmp_path, fit_index: int = 0, layers: int = 1) -> None:
    from k2t.parity import exact_parity

    result = k2t.convert_source(source, filename="case.py")
    assert result.diagnostics == (), [d.format() for d in result.diagnostics]
    report = exact_parity(source, epochs=2, path=tmp_path / "case.py", fit_index=fit_index)
    assert report.error is None, report.error
    details = (
        "\n".join(report.failures)
        + f"\nlayers: {report.layer_diffs}\nkeras: {report.keras_history}\ntorch: {report.torch_history}"
    )
    assert report.ok, details
    assert len(report.layer_diffs) >= layers, details


def test_a_resnet_whose_blocks_decide_their_shortcut_on_the_tensors_size_trains_as_keras(tmp_path):
    assert_exact(RESNET, tmp_path, layers=30)


@pytest.mark.parametrize("fit_index", [0, 1], ids=["with_batch_norm", "without"])
def test_each_model_of_a_factory_flag_trains_as_keras(tmp_path, fit_index):
    assert_exact(FLAG_FACTORY, tmp_path, fit_index, layers=3)


@pytest.mark.parametrize("fit_index", [0, 1], ids=["lstm", "gru"])
def test_each_recurrent_class_passed_to_a_factory_trains_as_keras(tmp_path, fit_index):
    assert_exact(RNN_CLASS_FACTORY, tmp_path, fit_index, layers=2)


def test_keras_io_timeseries_transformer_with_blocks_unrolled_from_the_calls_depth_trains_as_keras(tmp_path):
    assert_exact(TRANSFORMER, tmp_path, layers=20)


def test_a_resnet_of_layer_making_functions_and_block_closures_trains_as_keras(tmp_path):
    assert_exact(MAKERS_RESNET, tmp_path, layers=40)
