"""Exact parity against real Keras for the activations of keras.activations beyond the classic ones.

Each is checked as a Dense activation string and as an Activation layer (the torch module, or the
expression written inline where torch has no module for it); the activations k2t still reports are
located K2T110 diagnostics that say why.
"""

import pytest
from conftest import requires_keras, requires_torch
from parity_cases import assert_parity, script

import k2t

OUT = 'keras.layers.Dense(1, activation="sigmoid")'
ACTIVATIONS = ["celu", "hard_tanh", "hard_shrink", "soft_shrink", "tanh_shrink", "log_sigmoid", "sparse_sigmoid", "hard_silu"]


@requires_torch
@requires_keras
@pytest.mark.parity
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_dense_activation(activation, tmp_path):
    assert_parity(script([f"keras.layers.Dense(5, activation={activation!r})", OUT]), tmp_path)


@requires_torch
@requires_keras
@pytest.mark.parity
@pytest.mark.parametrize("activation", [*ACTIVATIONS, "exponential"])
def test_activation_layer(activation, tmp_path):
    layers = ["keras.layers.Dense(5)", f"keras.layers.Activation({activation!r})", OUT]
    assert_parity(script(layers), tmp_path)


@pytest.mark.parametrize("activation, why", [("sparse_plus", "reads the input twice"), ("glu", "halves the last axis"), ("sparsemax", "sorts")])
def test_untranslated_activations_are_located(activation, why):
    source = script([f"keras.layers.Dense(5, activation={activation!r})", OUT])
    result = k2t.convert_source(source, "case.py")
    [diagnostic] = result.diagnostics
    assert diagnostic.code == "K2T110" and why in diagnostic.message and activation in diagnostic.message
    assert diagnostic.line == source.splitlines().index(next(line for line in source.splitlines() if activation in line)) + 1


TENSORFLOW = ["tf.nn.relu", "tf.nn.gelu", "tf.nn.leaky_relu", "tf.nn.softmax", "tf.nn.swish", "tf.math.tanh", "tf.sigmoid", "tf.exp"]


@requires_torch
@requires_keras
@pytest.mark.parity
@pytest.mark.parametrize("function", TENSORFLOW)
def test_tensorflow_functions_as_activations(function, tmp_path):
    """`activation=tf.nn.relu`: TensorFlow's function with its defaults, as the Keras activation of its name."""
    source = script([f"keras.layers.Dense(5, activation={function})", OUT]).replace("import keras\n", "import keras\nimport tensorflow as tf\n", 1)
    assert_parity(source, tmp_path)


LAYER_OBJECTS = [
    "keras.layers.LeakyReLU(0.2)",  # a GAN's `Dense(256, activation=LeakyReLU(0.2))`
    "keras.layers.LeakyReLU()",  # Keras 3's default slope, 0.3
    "keras.layers.LeakyReLU(alpha=0.1)",  # Keras 2's name of the slope
    "keras.layers.ReLU(max_value=6)",
    "keras.layers.ELU()",
]


@requires_torch
@requires_keras
@pytest.mark.parity
@pytest.mark.parametrize("layer", LAYER_OBJECTS)
def test_activation_layer_objects_as_activations(layer, tmp_path):
    """Keras calls the layer object on the output: the activation it computes."""
    assert_parity(script([f"keras.layers.Dense(5, activation={layer})", OUT]), tmp_path)


@pytest.mark.parametrize("layer", ["keras.layers.LeakyReLU(name='lr')", "keras.layers.ReLU(threshold=0.5)", "keras.layers.LeakyReLU(slope)"])
def test_activation_layer_objects_k2t_cannot_write_are_located(layer):
    source = "slope = float(input())\n" + script([f"keras.layers.Dense(5, activation={layer})", OUT])
    result = k2t.convert_source(source, "case.py")
    assert [d.code for d in result.diagnostics] == ["K2T110"], [d.format() for d in result.diagnostics]
