"""Keras initializers: the generated torch init draws from the same distribution.

Weights are random on both sides, so this compares distributions on large
layers: the standard deviation within 3%, the mean near 0 and the support
(bounds of uniform and truncated-normal draws) as Keras's.
"""

import textwrap

import pytest
from conftest import requires_keras, requires_torch

pytestmark = [requires_torch, requires_keras, pytest.mark.parity]

INITIALIZERS = [
    "glorot_uniform",
    "glorot_normal",
    "he_uniform",
    "he_normal",
    "lecun_uniform",
    "lecun_normal",
    "random_normal",
    "random_uniform",
    "truncated_normal",
    "keras.initializers.VarianceScaling(scale=2.0, mode='fan_out', distribution='uniform')",
    "keras.initializers.RandomNormal(mean=0.0, stddev=0.2)",
    "keras.initializers.TruncatedNormal(stddev=0.3)",
    "keras.initializers.HeNormal(seed=3)",
    "keras.initializers.Orthogonal()",
]


def _torch_weight(initializer: str, fan_in: int, fan_out: int):
    import k2t

    source = textwrap.dedent(
        f"""\
        import keras
        model = keras.Sequential([keras.Input(shape=({fan_in},)), keras.layers.Dense({fan_out}, kernel_initializer={initializer if "(" in initializer else repr(initializer)})])
        """
    )
    result = k2t.convert_source(source)
    assert result.ok, result.diagnostics
    namespace: dict = {}
    exec(compile(result.output, "<converted>", "exec"), namespace)  # noqa: S102 - the test runs generated code
    return namespace["model"].dense.weight.detach().numpy().T  # Keras kernel layout (in, out)


def _keras_weight(initializer: str, fan_in: int, fan_out: int):
    import keras

    init = eval(initializer, {"keras": keras}) if "(" in initializer else keras.initializers.get(initializer)
    return keras.ops.convert_to_numpy(init((fan_in, fan_out)))


@pytest.mark.parametrize("initializer", INITIALIZERS)
def test_initializer_distribution_matches_keras(initializer):
    import numpy as np

    fan_in, fan_out = 300, 500
    torch_w = _torch_weight(initializer, fan_in, fan_out)
    keras_w = _keras_weight(initializer, fan_in, fan_out)
    assert torch_w.shape == keras_w.shape
    assert np.std(torch_w) == pytest.approx(np.std(keras_w), rel=0.03)
    assert abs(np.mean(torch_w) - np.mean(keras_w)) < 0.05 * np.std(keras_w) + 1e-3
    if "Orthogonal" not in initializer and "andom_normal" not in initializer and "RandomNormal" not in initializer:
        # Same support: uniform bounds and the two-sigma truncation (plain normals have none).
        assert np.abs(torch_w).max() == pytest.approx(np.abs(keras_w).max(), rel=0.05)


@pytest.mark.parametrize("initializer, value", [("zeros", 0.0), ("ones", 1.0), ("keras.initializers.Constant(0.25)", 0.25)])
def test_constant_initializers(initializer, value):
    import numpy as np

    assert np.all(_torch_weight(initializer, 4, 3) == value)
