"""A function's own names (issue 12): a local or an attribute of the same name as a module-level Keras
tensor or model is not that tensor or model, and reports nothing; a real read of one still does."""

import textwrap

import k2t

PRELUDE = """\
import numpy as np
from tensorflow import keras
from tensorflow.keras import layers

inputs = keras.Input(shape=(4,))
z_mean = layers.Dense(2, name="z_mean")(inputs)
encoder = keras.Model(inputs, z_mean)
encoder.compile(optimizer="adam", loss="mse")
encoder.fit(np.zeros((8, 4)), np.zeros((8, 2)), epochs=1, verbose=0)
"""


def _diagnostics(body: str) -> list[tuple[str, int, str]]:
    result = k2t.convert_source(PRELUDE + textwrap.dedent(body), "locals.py")
    return [(d.code, d.line, d.message) for d in result.diagnostics]


def test_a_name_the_function_binds_is_its_local_not_the_module_tensor():
    # keras.io's VAE: `z_mean, _, _ = vae.encoder.predict(data)` in plot_label_clusters().
    assert _diagnostics(
        """
        def show(model, data):
            print(data)
            z_mean, _ = model.predict(data), None
            for z_mean in range(2):
                pass
            print(z_mean)
        """
    ) == []


def test_an_attribute_named_like_a_module_model_is_no_use_of_that_model():
    # `vae.decoder.predict(z)` names the attribute `decoder`, not the script's `decoder` model.
    assert _diagnostics(
        """
        def show(vae, data):
            return vae.encoder.predict(data), vae.z_mean
        """
    ) == []


def test_a_module_tensor_read_in_a_function_is_still_reported():
    found = _diagnostics(
        """
        def leak(data):
            print(z_mean, data)
        """
    )
    assert [(code, line) for code, line, _ in found] == [("K2T103", 12)]
    assert "`z_mean`" in found[0][2]


def test_a_name_declared_global_is_the_module_tensor():
    found = _diagnostics(
        """
        def declared(data):
            global z_mean
            z_mean = data
        """
    )
    assert [(code, line) for code, line, _ in found] == [("K2T103", 12)]


def test_a_nested_function_binds_its_names_for_itself_only():
    found = _diagnostics(
        """
        def outer(data):
            def inner():
                z_mean = data
                return z_mean
            return inner(), z_mean
        """
    )
    assert [(code, line) for code, line, _ in found] == [("K2T103", 15)]


SHAPES = """\
import numpy as np
import keras
from keras import layers
from keras import backend as K

input_img = keras.Input(shape=(28, 28, 1))
x = layers.Conv2D(8, 3, padding="same", activation="relu", strides=(2, 2))(input_img)
shape_before_flattening = K.int_shape(x)
x = layers.Flatten()(x)
z = layers.Dense(2)(x)
encoder = keras.Model(input_img, z)
decoder_input = layers.Input(K.int_shape(z)[1:])
x = layers.Dense(np.prod(shape_before_flattening[1:]), activation="relu")(decoder_input)
x = layers.Reshape(shape_before_flattening[1:])(x)
decoder = keras.Model(decoder_input, x)
print(z.shape, K.int_shape(input_img)[1])
"""


def test_a_keras_tensors_static_shape_read_in_a_kept_line_is_the_tuple_keras_gives():
    # Chollet's VAE (Deep Learning with Python, 8.4): `shape_before_flattening = K.int_shape(x)`.
    result = k2t.convert_source(SHAPES, "shapes.py")
    assert result.diagnostics == ()
    assert "shape_before_flattening = (None, 14, 14, 8)  # Keras's static shape of `x`\n" in result.output
    assert "print((None, 2), (None, 28, 28, 1)[1])  # Keras's static shapes of `z`, `input_img`\n" in result.output
    assert "nn.Unflatten(1, (14, 14, 8))" in result.output


def test_a_static_shape_k2t_does_not_know_whole_stays_reported():
    # After a Lambda whose sizes parsing does not derive (K.tile): the shape is no literal, and the read stays a K2T103.
    source = SHAPES.replace(
        "shape_before_flattening = K.int_shape(x)",
        "x = layers.Lambda(lambda t: K.tile(t, (1, 1, 1, 2)))(x); shape_before_flattening = K.int_shape(x)",
    )
    found = [(d.code, d.line) for d in k2t.convert_source(source, "shapes.py").diagnostics]
    assert ("K2T103", 8) in found
