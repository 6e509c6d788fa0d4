"""Augmentation layers (k2t/translate/augmentation.py): exact parity with the augmentation off.

`parity --exact` runs both sides' augmentation layers in training as at inference (the identity),
as it switches dropout off: no seed reproduces Keras's random draws. Inference and training must
then match exactly; tests/test_augmentation.py checks the transforms themselves against Keras.
"""

import pytest
from conftest import requires_keras, requires_torch
from parity_cases import assert_parity, script

pytestmark = [requires_torch, requires_keras, pytest.mark.parity]

# Global pooling: RandomCrop's output at inference (uncropped) is larger than in training, as in Keras.
OUT = ["keras.layers.Conv2D(4, 3)", "keras.layers.GlobalAveragePooling2D()", 'keras.layers.Dense(1, activation="sigmoid")']

CASES = {
    "random_flip": 'keras.layers.RandomFlip("horizontal")',
    "random_crop": "keras.layers.RandomCrop(8, 10, seed=2)",
    "random_rotation": 'keras.layers.RandomRotation(0.2, fill_mode="constant", interpolation="nearest")',
    "random_zoom": "keras.layers.RandomZoom((-0.2, 0.3), width_factor=0.1)",
    "random_translation": 'keras.layers.RandomTranslation(0.1, 0.2, fill_mode="wrap")',
    "random_contrast": "keras.layers.RandomContrast(0.3, value_range=(-4, 4))",
    "random_brightness": "keras.layers.RandomBrightness((-0.2, 0.1), value_range=(-4, 4))",
}


@pytest.mark.parametrize("name", CASES)
def test_augmentation_layer(name, tmp_path):
    assert_parity(script([CASES[name], *OUT], shape=(12, 12, 3)), tmp_path)


# keras.io's image classification from scratch, small: a data_augmentation block applied first.
CNN = """\
import numpy as np
import keras
from keras import layers

rng = np.random.RandomState(0)
x = rng.uniform(0, 255, size=(96, 16, 16, 3)).astype("float32")
y = (x[:, :8].mean(axis=(1, 2, 3)) > x[:, 8:].mean(axis=(1, 2, 3))).astype("float32")

data_augmentation = keras.Sequential(
    [
        layers.RandomFlip("horizontal"),
        layers.RandomRotation(0.1),
        layers.RandomZoom(0.1),
        layers.RandomTranslation(0.1, 0.1),
        layers.RandomContrast(0.2),
        layers.RandomBrightness(0.1),
    ]
)
keras.utils.set_random_seed(0)
{model}
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
model.fit(x, y, batch_size=16, epochs=3, verbose=0)
"""

FUNCTIONAL = """\
inputs = keras.Input(shape=(16, 16, 3))
h = data_augmentation(inputs)
h = layers.Rescaling(1.0 / 255)(h)
h = layers.Conv2D(8, 3, strides=2, padding="same", activation="relu")(h)
h = layers.BatchNormalization()(h)
h = layers.SeparableConv2D(8, 3, padding="same", activation="relu")(h)
h = layers.GlobalAveragePooling2D()(h)
h = layers.Dropout(0.25)(h)
outputs = layers.Dense(1, activation="sigmoid")(h)
model = keras.Model(inputs, outputs)"""

SEQUENTIAL = """\
model = keras.Sequential([
    keras.Input(shape=(16, 16, 3)),
    data_augmentation,
    layers.Rescaling(1.0 / 255),
    layers.Conv2D(8, 3, activation="relu"),
    layers.MaxPooling2D(),
    layers.Flatten(),
    layers.Dense(1, activation="sigmoid"),
])"""


@pytest.mark.parametrize("model", [FUNCTIONAL, SEQUENTIAL], ids=["functional", "sequential"])
def test_small_cnn_with_a_data_augmentation_block(model, tmp_path):
    report = assert_parity(CNN.format(model=model), tmp_path)
    assert any(note.startswith("augmentation layers run in training as at inference") for note in report.notes)


def test_every_augmentation_converter_has_a_parity_case():
    import keras

    from k2t.translate import augmentation, registry

    cases = " ".join(CASES.values())
    names = [name for name, func in registry.LAYERS.items() if func.__module__ == augmentation.__name__]
    assert sorted(names) == sorted(registry.AUGMENTATION_LAYERS)
    # Keras 2's RandomHeight / RandomWidth have no Keras 3 class to train against: tests/test_augmentation.py checks
    # them against tf.image.resize for the same draw.
    keras2_only = [name for name in names if not hasattr(keras.layers, name)]
    assert keras2_only == ["RandomHeight", "RandomWidth"]
    assert [name for name in names if name not in keras2_only and f"keras.layers.{name}(" not in cases] == []
