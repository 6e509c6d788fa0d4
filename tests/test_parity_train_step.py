"""Exact parity of models that override train_step / test_step (k2t.parse.train_step, k2t.translate.train_step)."""

from pathlib import Path

import pytest
from conftest import requires_keras, requires_torch

pytestmark = [requires_torch, requires_keras, pytest.mark.parity]

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "train_step_override" / "input.py"


@pytest.mark.parametrize(
    "fit_index",
    [
        # The guide's first step: compute_loss and Keras's own model.metrics (its loss tracker, the compiled "mae").
        pytest.param(0, id="guide_compiled_loss_and_metrics"),
        # Keras 3 spelling: own loss object, tracker and metric, a metrics property, test_step for validation_data.
        pytest.param(1, id="keras3_trackers_and_test_step"),
        # Keras 2 spelling: compiled_loss with the layers' penalties, apply_gradients, the loop over self.metrics.
        pytest.param(2, id="keras2_compiled_loss"),
    ],
)
def test_train_step_fixture(fit_index, tmp_path):
    """Each fit of the fixture from the same weights: the per-epoch logs of the step's own trackers."""
    from k2t.parity import exact_parity

    source = FIXTURE.read_text(encoding="utf-8")
    script = tmp_path / "input.py"
    script.write_text(source, encoding="utf-8")
    report = exact_parity(source, epochs=3, path=script, fit_index=fit_index)
    assert report.error is None, report.error
    details = "\n".join(report.failures) + f"\nkeras: {report.keras_history}\ntorch: {report.torch_history}"
    assert report.ok, details
    assert list(report.torch_history) == list(report.keras_history), details
    assert all(len(values) == 3 for values in report.torch_history.values()), details
