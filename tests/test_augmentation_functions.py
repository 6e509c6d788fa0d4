"""Augmentation applied outside the model, as keras.io's recent examples write it: a list of layers applied
in turn by a function (``data_augmentation(images)``), or a Sequential of augmentation layers, called in a
tf.data map without ``training=``. Keras 3 runs its augmentation layers in training there (their call's
default is ``training=True``), on images of any size."""

import numpy as np
import pytest
from conftest import requires_keras, requires_torch
from unwrapped import unwrapped

import k2t

pytestmark = [requires_torch, requires_keras]

HEAD = """\
import numpy as np
import tensorflow as tf
import keras
from keras import layers

x = np.random.RandomState(0).uniform(0, 255, size=(64, 6, 5, 3)).astype("float32")
y = np.random.RandomState(1).randint(0, 2, size=(64,))

"""
FUNCTION = """\
data_augmentation_layers = [layers.RandomFlip("horizontal")]


def data_augmentation(images):
    for layer in data_augmentation_layers:
        images = layer(images)
    return images
"""
SEQUENTIAL = """\
data_augmentation = keras.Sequential([layers.RandomFlip("horizontal")])
"""
TAIL = """
train_ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
train_ds = train_ds.map(lambda img, label: (data_augmentation(img), label), num_parallel_calls=tf.data.AUTOTUNE)

inputs = keras.Input(shape=(6, 5, 3))
h = layers.Conv2D(2, 3)(inputs)
outputs = layers.Dense(1, activation="sigmoid")(layers.GlobalAveragePooling2D()(h))
model = keras.Model(inputs, outputs)
model.compile(optimizer="adam", loss="binary_crossentropy")
model.fit(train_ds, epochs=1, verbose=0)
"""


def _flipped_per_epoch(source: str) -> list[np.ndarray]:
    result = k2t.convert_source(source, "augment.py")
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    namespace = {"__name__": "converted"}
    exec(compile(result.output, "converted.py", "exec"), namespace)  # noqa: S102
    flipped = []
    for _ in range(2):
        images = np.concatenate([np.asarray(batch) for batch, _ in namespace["train_ds"]])
        x = namespace["x"]
        same, mirrored = np.all(images == x, axis=(1, 2, 3)), np.all(images == x[:, :, ::-1], axis=(1, 2, 3))
        assert np.all(same | mirrored)  # each image as it is or flipped left to right
        assert 10 < mirrored.sum() < 54  # about half of them (binomial(64, 0.5): outside this, p < 1e-7)
        flipped.append(mirrored)
    return flipped


def _keras_flipped(source: str) -> int:
    namespace: dict = {"__name__": "keras_side"}
    exec(compile(source, "keras_side.py", "exec"), namespace)  # noqa: S102
    images = np.concatenate([np.asarray(batch) for batch, _ in namespace["train_ds"]])
    return int(np.all(images == namespace["x"][:, :, ::-1], axis=(1, 2, 3)).sum())


@pytest.mark.parametrize("augmentation", [FUNCTION, SEQUENTIAL], ids=["layer_list_function", "sequential_without_input"])
def test_augmentation_called_without_training_in_a_map_augments_as_keras_does(augmentation):
    source = HEAD + augmentation + TAIL
    assert 10 < _keras_flipped(source) < 54  # Keras 3 flips about half of them there too
    first, second = _flipped_per_epoch(source)
    assert not np.array_equal(first, second)  # drawn again in each pass over the data, as tf.data's map does


def test_the_layer_list_function_becomes_one_module_in_place_of_the_def():
    result = k2t.convert_source(HEAD + FUNCTION + TAIL, "augment.py")
    assert "data_augmentation = DataAugmentation().to(device)" in result.output
    assert "def data_augmentation" not in result.output and "data_augmentation_layers" not in result.output
    assert unwrapped("train_ds.map(lambda img, label: (call_model(data_augmentation, img), label)") in unwrapped(result.output)


def test_a_function_that_does_more_than_apply_the_layers_is_left_as_before():
    other = FUNCTION.replace("    return images", "    return images / 255.0")
    result = k2t.convert_source(HEAD + other + TAIL, "augment.py")
    assert [d.code for d in result.diagnostics] == ["K2T103"]
    assert "the layer list `data_augmentation_layers` is used here" in result.diagnostics[0].message


IN_MODEL = """\
import numpy as np
import keras
from keras import layers

rng = np.random.default_rng(0)
images = rng.uniform(0, 1, size=(64, 16, 16, 3)).astype("float32")
labels = rng.integers(0, 3, size=64)
keras.utils.set_random_seed(0)

data_augmentation_layers = [layers.RandomFlip("horizontal"), layers.RandomRotation(0.1)]


def data_augmentation(images):
    for layer in data_augmentation_layers:
        images = layer(images)
    return images


inputs = keras.Input(shape=(16, 16, 3))
x = data_augmentation(inputs)
x = layers.Conv2D(4, 3, activation="relu")(x)
x = layers.GlobalAveragePooling2D()(x)
outputs = layers.Dense(3)(x)
model = keras.Model(inputs, outputs)
model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
model.fit(images, labels, batch_size=16, epochs=3, verbose=0)
"""


def test_the_layer_list_function_in_a_model_puts_its_layers_in_the_model():
    # Keras's loop applies each layer to the model's tensor: they are layers of the model itself.
    result = k2t.convert_source(IN_MODEL, "augment.py")
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    assert "x = self.random_flip(inputs)" in result.output and "x = self.random_rotation(x)" in result.output
    assert "DataAugmentation" not in result.output and "def data_augmentation" not in result.output


@pytest.mark.parity
def test_the_layer_list_function_in_a_model_has_exact_parity(tmp_path):
    from parity_cases import assert_parity

    report = assert_parity(IN_MODEL, tmp_path)
    assert [name for name, _ in report.layer_diffs][:2] == ["random_flip", "random_rotation"]  # compared layer by layer
