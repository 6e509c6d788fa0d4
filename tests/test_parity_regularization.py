"""Noise layers (k2t/translate/regularization.py): exact parity with the noise off, and the noise's structure.

The parity harness switches dropout and Gaussian noise off on both sides (no
seed reproduces Keras's random draws), so inference and noise-free training
must match exactly; the tests below the parity cases check what the noise does
in training mode, Keras against the converted module.
"""

import numpy as np
import pytest
from conftest import requires_keras, requires_torch
from parity_cases import assert_parity, script

import k2t

pytestmark = [requires_torch, requires_keras, pytest.mark.parity]

OUT = ["keras.layers.Flatten()", 'keras.layers.Dense(1, activation="sigmoid")']

CASES = {
    "spatial_dropout1d": (['keras.layers.Conv1D(4, 3, padding="same")', "keras.layers.SpatialDropout1D(0.3)"], (12, 3)),
    "spatial_dropout2d": (['keras.layers.Conv2D(4, 3, padding="same")', "keras.layers.SpatialDropout2D(rate=0.5, seed=1)"], (12, 12, 3)),
    "spatial_dropout3d": (['keras.layers.Conv3D(3, 3, padding="same")', "keras.layers.SpatialDropout3D(0.2)"], (6, 6, 6, 2)),
    "spatial_dropout_of_input": (["keras.layers.SpatialDropout1D(0.3)", 'keras.layers.Conv1D(4, 3)'], (12, 3)),
    "gaussian_noise": (['keras.layers.Dense(8, activation="relu")', "keras.layers.GaussianNoise(0.5)"], None),
    "gaussian_noise_on_feature_maps": (['keras.layers.Conv2D(4, 3)', "keras.layers.GaussianNoise(stddev=0.1, seed=3)"], (12, 12, 3)),
    "gaussian_dropout": (['keras.layers.Dense(8, activation="relu")', "keras.layers.GaussianDropout(0.4)"], None),
    "gaussian_dropout_on_feature_maps": (['keras.layers.Conv1D(4, 3)', "keras.layers.GaussianDropout(rate=0.2)"], (12, 3)),
}


@pytest.mark.parametrize("name", CASES)
def test_noise_layer(name, tmp_path):
    layers, shape = CASES[name]
    assert_parity(script([*layers, *OUT], shape=shape), tmp_path)


# --------------------------------------------------------------------------- the noise itself


def _torch_model(layers, shape, tmp_path):
    """The converted module (the converted script is run: it trains for 3 tiny epochs)."""
    result = k2t.convert_source(script([*layers, *OUT], shape=shape), "case.py")
    assert not result.diagnostics, result.diagnostics
    namespace = {"__name__": "converted"}
    exec(compile(result.output, str(tmp_path / "converted.py"), "exec"), namespace)  # noqa: S102
    return result.output, namespace["model"]


def _keras_layer_output(layer, x, training):
    return np.asarray(layer(x, training=training))


def _whole_channels_dropped(out, x, rate, channel_axis):
    """Every (sample, channel) slice is either all zero or exactly x / (1 - rate)."""
    out, x = np.moveaxis(out, channel_axis, 1), np.moveaxis(x, channel_axis, 1)
    flat_out = out.reshape(out.shape[0], out.shape[1], -1)
    flat_x = x.reshape(x.shape[0], x.shape[1], -1)
    dropped = np.all(flat_out == 0, axis=-1)
    kept = np.all(np.isclose(flat_out, flat_x / (1 - rate), rtol=1e-6), axis=-1)
    return bool(np.all(dropped | kept)), float(dropped.mean())


@pytest.mark.parametrize("rank", [1, 2, 3])
def test_spatial_dropout_drops_whole_channels_like_keras(rank, tmp_path):
    import keras
    import torch

    shape = {1: (40, 16), 2: (8, 8, 16), 3: (4, 4, 4, 16)}[rank]
    output, model = _torch_model([f"keras.layers.SpatialDropout{rank}D(0.5)"], shape, tmp_path)
    assert f"nn.Dropout{rank}d(0.5)" in output
    x = np.random.RandomState(1).uniform(1, 2, size=(64, *shape)).astype("float32")

    keras_out = _keras_layer_output(getattr(keras.layers, f"SpatialDropout{rank}D")(0.5), x, training=True)
    ok, keras_rate = _whole_channels_dropped(keras_out, x, 0.5, channel_axis=-1)
    assert ok

    layer = getattr(model, f"spatial_dropout{rank}d")
    channels_first = torch.as_tensor(np.moveaxis(x, -1, 1))
    layer.train()
    torch_out = layer(channels_first).numpy()
    ok, torch_rate = _whole_channels_dropped(torch_out, channels_first.numpy(), 0.5, channel_axis=1)
    assert ok
    assert abs(keras_rate - 0.5) < 0.1 and abs(torch_rate - 0.5) < 0.1
    layer.eval()
    assert torch.equal(layer(channels_first), channels_first)


@pytest.mark.parametrize(
    "keras_class, amount, attr, mean, std",
    [
        ("GaussianNoise", 0.3, "gaussian_noise", 0.0, 0.3),
        ("GaussianDropout", 0.2, "gaussian_dropout", 1.0, (0.2 / 0.8) ** 0.5),
    ],
)
def test_gaussian_noise_statistics_match_keras(keras_class, amount, attr, mean, std, tmp_path):
    import keras
    import torch

    _, model = _torch_model([f"keras.layers.{keras_class}({amount})"], (50, 40), tmp_path)
    x = np.full((40, 50, 40), 2.0, dtype="float32")
    keras_layer = getattr(keras.layers, keras_class)(amount)
    keras_out = _keras_layer_output(keras_layer, x, training=True)
    module = getattr(model, attr)
    module.train()
    torch_out = module(torch.as_tensor(x)).numpy()
    for out in (keras_out, torch_out):
        noise = out - x if mean == 0.0 else out / x
        assert abs(noise.mean() - mean) < 0.01
        assert abs(noise.std() - std) < 0.01
    module.eval()
    assert np.array_equal(module(torch.as_tensor(x)).numpy(), x)
    assert np.array_equal(_keras_layer_output(keras_layer, x, training=False), x)


def test_every_noise_converter_has_a_parity_case():
    from k2t.translate import registry, regularization

    cases = " ".join(" ".join(layers) for layers, _ in CASES.values())
    names = [name for name, func in registry.LAYERS.items() if func.__module__ == regularization.__name__]
    assert names
    assert [name for name in names if f"keras.layers.{name}(" not in cases] == []
