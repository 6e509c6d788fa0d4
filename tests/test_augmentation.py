"""Image augmentation layers (k2t/translate/augmentation.py) against Keras 3 itself.

Keras's random draws (TensorFlow's stream) cannot be reproduced, so each transform is checked
with the draws fixed on both sides: Keras's `uniform` (what every augmentation layer draws with)
and the converted script's `keras_uniform` are patched to return the same points of their
ranges. Flips and crops must then be equal exactly, the resampling transforms (TF's projective
transform: every fill_mode and interpolation) within float rounding. The draws themselves are
compared as distributions: ranges and means. At inference both are the identity, exactly.
"""

import contextlib

import numpy as np
import pytest
from conftest import requires_keras, requires_torch

import k2t

pytestmark = [requires_torch, requires_keras]

SCRIPT = """\
import keras

model = keras.Sequential([keras.Input(shape={shape}), keras.layers.{layer}])
"""


def _converted(layer: str, shape: tuple):
    """The converted script's namespace (its `model` and generated definitions) for a model of one layer."""
    result = k2t.convert_source(SCRIPT.format(shape=shape, layer=layer), "case.py")
    assert result.ok and not result.diagnostics, result.diagnostics
    namespace = {"__name__": "converted"}
    exec(compile(result.output, "converted.py", "exec"), namespace)  # noqa: S102
    return namespace


def _keras_layer(layer: str):
    import keras

    return eval(f"keras.layers.{layer}", {"keras": keras})


class _Draws:
    """Unit draws u in [0, 1) handed out in order: a draw of [low, high) is low + u * (high - low) on both sides."""

    def __init__(self, *units):
        self.units = [np.asarray(u, dtype="float32") for u in units]

    def next(self, shape, low, high):
        unit = self.units.pop(0)
        return low + unit.reshape(tuple(int(n) for n in shape)) * (high - low)


@contextlib.contextmanager
def _keras_draws(*units):
    import keras.src.backend.tensorflow.random as tf_random
    import tensorflow as tf

    draws, original = _Draws(*units), tf_random.uniform

    def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
        return tf.constant(draws.next(shape, minval, maxval), dtype="float32")

    tf_random.uniform = uniform
    try:
        yield
    finally:
        tf_random.uniform = original
    assert not draws.units, "Keras drew fewer numbers than the test gave"


def _torch_output(namespace, x, *units, training=True):
    import torch

    draws = _Draws(*units)
    namespace["keras_uniform"] = lambda shape, low, high, generator, device: torch.as_tensor(draws.next(shape, low, high)).to(device)
    model = namespace["model"]
    model.train(training)
    with torch.no_grad():
        out = model(torch.as_tensor(x)).numpy()
    assert not draws.units, "the converted layer drew fewer numbers than the test gave"
    return out


def _keras_output(layer: str, x, *units):
    keras_layer = _keras_layer(layer)
    with _keras_draws(*units):
        return np.asarray(keras_layer(x, training=True))


def _images(shape, n=4, seed=0):
    return np.random.RandomState(seed).uniform(0, 255, size=(n, *shape)).astype("float32")


# --------------------------------------------------------------------------- exact with fixed draws


@pytest.mark.parametrize("mode", ["horizontal", "vertical", "horizontal_and_vertical"])
def test_flip_equals_keras_for_the_same_draw(mode):
    layer, shape = f'RandomFlip("{mode}")', (5, 7, 3)
    x = _images(shape)
    units = [0.2, 0.7, 0.5, 0.9]  # <= 0.5 flips: images 0 and 2 (0.5 itself flips, as Keras's less_equal)
    keras_out = _keras_output(layer, x, units)
    torch_out = _torch_output(_converted(layer, shape), x, units)
    assert np.array_equal(torch_out, keras_out)
    assert not np.array_equal(torch_out[0], x[0]) and np.array_equal(torch_out[1], x[1])


@pytest.mark.parametrize(
    "shape, target, units",
    [
        ((10, 9, 2), (4, 6), [0.8, 0.3]),  # larger both ways: a drawn corner
        ((10, 9, 2), (4, 6), [0.0, 0.999]),  # the first and the last corner
        ((10, 6, 2), (4, 6), []),  # as wide as the target: the centred box, no draw
        ((3, 9, 2), (4, 4), []),  # smaller: the centred box of the aspect ratio, resized
    ],
)
def test_crop_equals_keras_for_the_same_draw(shape, target, units):
    layer = f"RandomCrop({target[0]}, {target[1]})"
    x = _images(shape)
    draws = [np.float32(u) for u in units]
    keras_out = _keras_output(layer, x, *draws)
    torch_out = _torch_output(_converted(layer, shape), x, *draws)
    assert torch_out.shape == keras_out.shape == (4, *target, 2)
    if shape[0] >= target[0] and shape[1] >= target[1]:
        assert np.array_equal(torch_out, keras_out)
    else:  # bilinear resize: float32 rounding of the same formula
        np.testing.assert_allclose(torch_out, keras_out, rtol=0, atol=1e-4)


LAYERS = {
    "flip": ("RandomFlip()", (6, 5, 3)),
    "crop": ("RandomCrop(4, 3)", (6, 5, 3)),
    "rotation": ('RandomRotation(0.2, fill_mode="constant")', (6, 5, 3)),
    "zoom": ("RandomZoom(0.3, 0.1)", (6, 5, 3)),
    "translation": ('RandomTranslation(0.2, 0.3, fill_mode="wrap")', (6, 5, 3)),
    "contrast": ("RandomContrast((0.3, 0.6))", (6, 5, 3)),
    "brightness": ("RandomBrightness(0.2, value_range=(0, 1))", (6, 5, 3)),
}


@pytest.mark.parametrize("name", LAYERS)
def test_inference_is_the_identity_as_in_keras(name):
    """Keras 3.15 returns the input itself at inference, RandomCrop too (uncropped)."""
    layer, shape = LAYERS[name]
    x = _images(shape)
    assert np.array_equal(np.asarray(_keras_layer(layer)(x, training=False)), x)
    assert np.array_equal(_torch_output(_converted(layer, shape), x, training=False), x)


SINGLE_IMAGE_DRAWS = {
    "flip": [[0.3]],
    "crop": [0.4, 0.6],
    "rotation": [[0.8]],
    "zoom": [[0.3], [0.7]],
    "translation": [[0.2], [0.9]],
    "contrast": [[0.6]],
    "brightness": [[0.7]],
}


@pytest.mark.parametrize("name", LAYERS)
def test_one_image_matches_keras_for_the_same_draw(name):
    """Keras transforms a (height, width, channels) image as a batch of one: what a tf.data map before batch() gives it."""
    layer, shape = LAYERS[name]
    x = _images(shape, n=1)[0] / (255 if "value_range" in layer else 1)
    draws = [np.float32(u) if np.ndim(u) == 0 else u for u in SINGLE_IMAGE_DRAWS[name]]
    keras_out = _keras_output(layer, x, *draws)
    torch_out = _torch_output(_converted(layer, shape), x, *draws)
    assert torch_out.shape == keras_out.shape and keras_out.ndim == 3
    assert not np.array_equal(keras_out, x)
    np.testing.assert_allclose(torch_out, keras_out, rtol=1e-6, atol=1e-4)


# --------------------------------------------------------------------------- resampling, fixed draws

UNITS = np.array([0.03, 0.2, 0.37, 0.51, 0.77, 0.95], dtype="float32")


@pytest.mark.parametrize("fill_mode", ["reflect", "wrap", "constant", "nearest"])
@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
@pytest.mark.parametrize(
    "layer, draws",
    [
        ('RandomRotation(0.5, fill_mode="{f}", interpolation="{i}", fill_value=0.5)', 1),  # angles up to 180 degrees
        ('RandomZoom((-0.6, 0.8), fill_mode="{f}", interpolation="{i}", fill_value=0.5)', 1),  # one factor for both sizes
        ('RandomZoom(0.5, (-0.3, 0.9), fill_mode="{f}", interpolation="{i}", fill_value=0.5)', 2),
        ('RandomTranslation(0.6, (-0.9, 0.4), fill_mode="{f}", interpolation="{i}", fill_value=0.5)', 2),
    ],
)
def test_resampling_matches_keras_for_the_same_draw(layer, draws, fill_mode, interpolation):
    layer, shape = layer.format(f=fill_mode, i=interpolation), (9, 11, 2)
    x = np.random.RandomState(0).uniform(size=(6, *shape)).astype("float32")
    units = [UNITS, UNITS[::-1].copy()][:draws]
    keras_out = _keras_output(layer, x, *units)
    torch_out = _torch_output(_converted(layer, shape), x, *units)
    assert not np.allclose(keras_out, x)  # the draws did transform the images
    np.testing.assert_allclose(torch_out, keras_out, rtol=0, atol=1e-5)


@pytest.mark.parametrize(
    "layer",
    ["RandomContrast(0.5)", "RandomContrast((0.2, 0.9), value_range=(0, 1))", "RandomBrightness(0.3)", "RandomBrightness((-0.5, 0.1), value_range=(0, 1))"],
)
def test_color_matches_keras_for_the_same_draw(layer):
    shape = (5, 4, 3)
    x = _images(shape, n=6) / (1 if "value_range" not in layer else 255)
    units = UNITS.reshape(6, 1, 1, 1)
    keras_out = _keras_output(layer, x, units)
    torch_out = _torch_output(_converted(layer, shape), x, units)
    np.testing.assert_allclose(torch_out, keras_out, rtol=1e-6, atol=1e-4)


# --------------------------------------------------------------------------- the draws as distributions


def _recorded_torch_draws(layer, shape, x, calls=1):
    """Every number the converted layer draws in ``calls`` training passes, per draw site, through the real keras_uniform."""
    import torch

    namespace = _converted(layer, shape)
    real = namespace["keras_uniform"]
    site_draws: list[np.ndarray] = []

    def per_site(shape, low, high, generator, device):
        value = real(shape, low, high, generator, device)
        site_draws.append(value.reshape(-1).numpy())
        return value

    namespace["keras_uniform"] = per_site
    model = namespace["model"].train()
    per_call = None
    for _ in range(calls):
        before = len(site_draws)
        with torch.no_grad():
            model(torch.as_tensor(x))
        per_call = len(site_draws) - before
    return [np.concatenate(site_draws[k::per_call]) for k in range(per_call)]


@pytest.fixture(autouse=True)
def _seeded():
    """The statistical tests below hold for any draws with overwhelming probability; seeded, they are also repeatable."""
    import keras
    import torch

    keras.utils.set_random_seed(0)
    torch.manual_seed(0)


def _assert_same_distribution(keras_values, torch_values, low, high):
    width = high - low
    for values in (keras_values, torch_values):
        assert values.min() >= low - 1e-6 * width and values.max() <= high + 1e-6 * width
        assert values.min() < low + 0.02 * width and values.max() > high - 0.02 * width
        assert abs(values.mean() - (low + high) / 2) < 0.03 * width
    assert abs(keras_values.mean() - torch_values.mean()) < 0.04 * width


@pytest.mark.parametrize(
    "layer, key, low, high",
    [
        ("RandomRotation(0.1)", "angle", -36.0, 36.0),
        ("RandomRotation((-0.2, 0.05))", "angle", -72.0, 18.0),
        ("RandomZoom((-0.3, 0.2))", "height_zoom", 0.7, 1.2),
        ("RandomContrast(0.4)", "contrast_factor", 1.0, 1.4),  # Keras 3.15: a number only raises contrast
        ("RandomContrast((0.1, 0.4))", "contrast_factor", 0.9, 1.4),
        ("RandomBrightness(0.2)", "rgb_delta", -51.0, 51.0),
        ("RandomBrightness((-0.1, 0.3), value_range=(0, 1))", "rgb_delta", -0.1, 0.3),
    ],
)
def test_draws_have_keras_ranges_and_means(layer, key, low, high):
    shape = (4, 4, 1)
    x = _images(shape, n=4000)
    keras_values = np.asarray(_keras_layer(layer).get_random_transformation(x, training=True)[key]).reshape(-1)
    (torch_values,) = _recorded_torch_draws(layer, shape, x)
    if key == "rgb_delta":
        value_range = (0, 1) if "value_range" in layer else (0, 255)
        torch_values = torch_values * (value_range[1] - value_range[0])
    _assert_same_distribution(keras_values, torch_values, low, high)


def test_translation_draws_have_keras_ranges_and_means():
    layer, shape = "RandomTranslation((-0.2, 0.1), 0.3)", (10, 20, 1)
    x = _images(shape, n=4000)
    translations = np.asarray(_keras_layer(layer).get_random_transformation(x, training=True)["translations"])
    down, right = _recorded_torch_draws(layer, shape, x)
    # Keras keeps (width shift, height shift) in pixels; the converted layer draws the height's first, as Keras.
    _assert_same_distribution(translations[:, 1], down * 10, -2.0, 1.0)
    _assert_same_distribution(translations[:, 0], right * 20, -6.0, 6.0)


def test_flip_draws_flip_half_the_images_as_keras():
    shape = (4, 4, 1)
    x = _images(shape, n=4000)
    flips = np.asarray(_keras_layer("RandomFlip()").get_random_transformation(x, training=True)["flips"]).reshape(-1)
    (units,) = _recorded_torch_draws("RandomFlip()", shape, x)
    for fraction in (flips.mean(), (units <= 0.5).mean()):
        assert abs(fraction - 0.5) < 0.05  # 6 standard deviations of 4000 draws


def test_crop_corners_are_uniform_over_the_positions_as_in_keras():
    layer, shape = "RandomCrop(3, 2)", (7, 6, 1)  # rows 0..4, columns 0..4
    x = _images(shape, n=2)
    keras_layer = _keras_layer(layer)
    keras_corners = np.array([keras_layer.get_random_transformation(x, training=True) for _ in range(600)], dtype=float)
    tops, lefts = _recorded_torch_draws(layer, shape, x, calls=600)
    torch_corners = np.stack([tops.astype(int), lefts.astype(int)], axis=1)
    for corners in (keras_corners, torch_corners):
        for axis in (0, 1):
            counts = np.bincount(corners[:, axis].astype(int), minlength=5)
            assert len(counts) == 5 and counts.min() > 60  # each of the 5 positions about 120 times (sd 10)


# --------------------------------------------------------------------------- conversion


def test_augmentation_block_converts_with_keras_ranges_in_the_constructors():
    source = """\
import keras
from keras import layers

data_augmentation = keras.Sequential([
    layers.RandomFlip("horizontal"),
    layers.RandomRotation(0.1),
    layers.RandomZoom(height_factor=(-0.2, 0.1), fill_mode="nearest"),
    layers.RandomContrast(0.2, seed=7),
])
inputs = keras.Input(shape=(32, 32, 3))
x = data_augmentation(inputs)
x = layers.Conv2D(4, 3)(x)
outputs = layers.Dense(1)(layers.Flatten()(x))
model = keras.Model(inputs, outputs)
"""
    result = k2t.convert_source(source, "augment.py")
    assert result.ok, result.diagnostics
    for line in (
        'self.random_flip = RandomFlip("horizontal")',
        (
            "# Keras factor=0.1: a fraction of a full turn, here in degrees\n"
            "        self.random_rotation = RandomRotation((-36.0, 36.0))"
        ),
        'self.random_zoom = RandomZoom((-0.2, 0.1), fill_mode="nearest")',
        "self.random_contrast = RandomContrast((1.0, 1.2), seed=7)",
    ):
        assert line in result.output, result.output
    # Emitted only when used: no crop, translation or brightness class.
    for absent in ("class RandomCrop", "class RandomTranslation", "class RandomBrightness"):
        assert absent not in result.output


@pytest.mark.parametrize(
    "layer, message",
    [
        ('RandomFlip("diagonal")', "RandomFlip(mode='diagonal')"),
        ("RandomRotation(1.5)", "RandomRotation(factor=1.5): Keras refuses it"),
        ("RandomZoom(-1.0)", "RandomZoom(height_factor=-1.0): Keras refuses it"),
        ('RandomTranslation(0.1, 0.1, fill_mode="mirror")', "RandomTranslation(fill_mode='mirror')"),
        ('RandomRotation(0.1, interpolation="bicubic")', "RandomRotation(interpolation='bicubic')"),
        ("RandomTranslation(0.1)", "RandomTranslation needs width_factor="),
        ('RandomFlip(data_format="channels_first")', "RandomFlip(data_format='channels_first') is not translated"),
    ],
)
def test_what_keras_refuses_or_k2t_does_not_translate_is_a_located_k2t102(layer, message):
    result = k2t.convert_source(SCRIPT.format(shape=(8, 8, 3), layer=layer), "case.py")
    assert [d.code for d in result.diagnostics] == ["K2T102"], result.diagnostics
    assert message in result.diagnostics[0].message
    assert result.diagnostics[0].line == 3


# --------------------------------------------------------------------------- in a tf.data map

MAP_SCRIPT = """\
import numpy as np
import tensorflow as tf
import keras
from keras import layers

x = np.random.RandomState(0).uniform(0, 255, size=(64, 6, 5, 3)).astype("float32")
y = np.random.RandomState(1).randint(0, 2, size=(64,))

data_augmentation = keras.Sequential([{input}layers.RandomFlip("horizontal")])

train_ds = tf.data.Dataset.from_tensor_slices((x, y)){before}
train_ds = train_ds.map(lambda img, label: (data_augmentation(img, training=True), label), num_parallel_calls=tf.data.AUTOTUNE){after}

inputs = keras.Input(shape=(6, 5, 3))
h = layers.Conv2D(2, 3)(inputs)
outputs = layers.Dense(1, activation="sigmoid")(layers.GlobalAveragePooling2D()(h))
model = keras.Model(inputs, outputs)
model.compile(optimizer="adam", loss="binary_crossentropy")
model.fit(train_ds, epochs=1, verbose=0)
"""


@pytest.mark.parametrize("batched", [True, False], ids=["map_after_batch", "map_before_batch"])
def test_data_augmentation_in_a_tf_data_map_draws_anew_each_epoch(batched):
    """keras.io's `ds.map(lambda x, y: (data_augmentation(x, training=True), y))`, on batches or on single images."""
    batch = ".batch(16)"
    source = MAP_SCRIPT.format(input="keras.Input(shape=(6, 5, 3)), ", before=batch if batched else "", after="" if batched else batch)
    result = k2t.convert_source(source, "augment.py")
    assert result.ok and not result.diagnostics, result.diagnostics
    assert "num_parallel_calls=ArrayDataset.AUTOTUNE" in result.output  # the map's other arguments are translated too
    namespace = {"__name__": "converted"}
    exec(compile(result.output, "converted.py", "exec"), namespace)  # noqa: S102
    x = namespace["x"]
    epochs = [np.concatenate([np.asarray(images) for images, _ in namespace["train_ds"]]) for _ in range(2)]
    flipped = []
    for images in epochs:
        assert images.shape == x.shape
        same, mirrored = np.all(images == x, axis=(1, 2, 3)), np.all(images == x[:, :, ::-1], axis=(1, 2, 3))
        assert np.all(same | mirrored)  # each image as it is or flipped left to right
        assert 10 < mirrored.sum() < 54  # about half of them (binomial(64, 0.5): outside this, p < 1e-7)
        flipped.append(mirrored)
    assert not np.array_equal(*flipped)  # drawn again in each pass over the data, as tf.data's map does


def test_data_augmentation_without_an_input_shape_in_a_map_takes_images_of_any_size():
    """Keras builds a Sequential of augmentation layers on the first images it is called on, of any size."""
    source = MAP_SCRIPT.format(input="", before=".batch(16)", after="")
    result = k2t.convert_source(source, "augment.py")
    assert result.ok and not result.diagnostics, result.diagnostics
    namespace = {"__name__": "converted"}
    exec(compile(result.output, "converted.py", "exec"), namespace)  # noqa: S102
    x = namespace["x"]
    images = np.concatenate([np.asarray(batch) for batch, _ in namespace["train_ds"]])
    mirrored = np.all(images == x[:, :, ::-1], axis=(1, 2, 3))
    assert np.all(np.all(images == x, axis=(1, 2, 3)) | mirrored) and 10 < mirrored.sum() < 54


def test_a_seed_gives_the_layer_its_own_repeatable_draws():
    """`seed=` as in Keras: the same seed, the same sequence of transforms (torch's, not TensorFlow's), whatever else draws."""
    import torch

    layer, shape = "RandomRotation(0.3, seed=5)", (6, 5, 3)
    x = torch.as_tensor(_images(shape, n=8))
    outputs = []
    for _ in range(2):
        model = _converted(layer, shape)["model"].train()
        torch.rand(10)  # the global generator moves on; the layer's own does not
        with torch.no_grad():
            outputs.append([model(x), model(x)])
    assert torch.equal(outputs[0][0], outputs[1][0]) and torch.equal(outputs[0][1], outputs[1][1])
    assert not torch.equal(outputs[0][0], outputs[0][1])  # two calls, two draws


def test_images_of_any_size_as_in_keras():
    """`keras.Input(shape=(None, None, 3))`: the layers read the sizes off each batch, as Keras's do."""
    import torch

    layers = "RandomRotation(0.1), keras.layers.RandomCrop(4, 4), keras.layers.RandomZoom(0.2)"
    source = SCRIPT.format(shape=(None, None, 3), layer=layers)
    result = k2t.convert_source(source, "case.py")
    assert result.ok and not result.diagnostics, result.diagnostics
    namespace = {"__name__": "converted"}
    exec(compile(result.output, "converted.py", "exec"), namespace)  # noqa: S102
    model = namespace["model"].train()
    for height, width in ((7, 9), (12, 5)):
        with torch.no_grad():
            assert model(torch.rand(2, height, width, 3)).shape == (2, 4, 4, 3)


# --------------------------------------------------------------------------- Keras 2's RandomHeight / RandomWidth
# Keras 3 has neither layer: the reference is Keras 2's rule (one factor per batch, uniform in [1 + lower, 1 + upper),
# the size int(factor * size) in float32, then tf.image.resize), computed here with TensorFlow's own resize.


@pytest.mark.parametrize(
    "layer, axis, unit",
    [
        ("RandomHeight(0.3)", 0, 0.9),  # taller: factor 1.24
        ("RandomHeight((-0.5, -0.1))", 0, 0.25),  # shorter: factor 0.6
        ('RandomWidth(0.4, interpolation="nearest")', 1, 0.05),  # narrower, nearest neighbour
        ("RandomWidth((0.0, 1.0), seed=4)", 1, 0.77),
    ],
)
def test_height_and_width_resize_as_keras_2_for_the_same_draw(layer, axis, unit):
    import tensorflow as tf

    namespace = _converted(layer, (10, 9, 3))
    x = _images((10, 9, 3))
    out = _torch_output(namespace, x, unit)
    module = next(iter(namespace["model"].children()))
    factor = np.float32(1.0 + module.lower) + np.float32(unit) * np.float32(module.upper - module.lower)
    size = [10, 9]
    size[axis] = int(np.float32(factor * np.float32(size[axis])))
    method = "nearest" if "nearest" in layer else "bilinear"
    expected = tf.image.resize(x, size, method=method).numpy()
    assert out.shape == expected.shape
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-3)
    np.testing.assert_array_equal(_torch_output(namespace, x, training=False), x)  # the identity at inference


@pytest.mark.parametrize("layer", ["RandomHeight(-1.5)", "RandomWidth((0.2, 0.1))", 'RandomHeight(0.1, interpolation="bicubic")'])
def test_height_and_width_refused_as_keras_2_refuses_them(layer):
    result = k2t.convert_source(SCRIPT.format(shape=(8, 8, 3), layer=layer), "case.py")
    assert [d.code for d in result.diagnostics] == ["K2T102"], result.diagnostics
