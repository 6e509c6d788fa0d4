"""Lambda layers (k2t/translate/lambda_layer.py): the forward line each one becomes, and the diagnostics for
what cannot be translated. Parity against Keras is in tests/test_parity_lambda.py."""

import textwrap

import pytest

import k2t

HEAD = """\
import numpy as np
from tensorflow import keras
from tensorflow.keras import layers
from tensorflow.keras import backend as K
import tensorflow as tf
from keras import ops

SCALE = 3.0
x = np.zeros((8, 6, 4), dtype="float32")
y = np.zeros((8, 1), dtype="float32")
"""


def convert(body: str):
    return k2t.convert_source(HEAD + textwrap.dedent(body), filename="case.py")


def codes(result) -> list[tuple[int, str]]:
    return [(d.line, d.code) for d in result.diagnostics]


def sequential(*layer_codes: str) -> str:
    listed = "".join(f"    {code},\n" for code in layer_codes)
    return f"model = keras.Sequential([\n    keras.Input(shape=(6, 4)),\n{listed}])\nmodel.compile(optimizer='sgd', loss='mse')\n"


@pytest.mark.parametrize(
    ("layer", "forward"),
    [
        pytest.param("layers.Lambda(lambda x: x * 2.0)", "x = x * 2.0", id="scalar"),
        pytest.param("layers.Lambda(lambda t: K.square(t) + 1.0)", "x = torch.square(x) + 1.0", id="keras2-backend"),
        pytest.param("layers.Lambda(lambda t: tf.nn.relu(t) / SCALE)", "x = F.relu(x) / SCALE", id="tf-module-name"),
        pytest.param("layers.Lambda(lambda t: ops.abs(t), name='absolute')", "x = torch.abs(x)", id="keras-ops"),
        pytest.param("layers.Lambda(lambda t: t + x, output_shape=(6, 4))", "x = (lambda t: t + x)(x)", id="reads-the-scripts-x"),
    ],
)
def test_lambda_becomes_a_forward_line(layer, forward):
    result = convert(sequential(layer, "layers.Flatten()", "layers.Dense(1)"))
    assert result.ok, [d.format() for d in result.diagnostics]
    assert f"        {forward}\n" in result.output


def test_reduction_shape_is_derived_for_the_dense_after_it():
    result = convert(sequential("layers.Lambda(lambda t: K.mean(t, axis=1))", "layers.Dense(1)"))
    assert result.ok, [d.format() for d in result.diagnostics]
    assert "x = torch.mean(x, dim=1)" in result.output and "nn.Linear(4, 1)" in result.output


def test_reduction_with_keepdims_keeps_the_axis_as_one():
    result = convert(sequential("layers.Lambda(lambda t: tf.reduce_sum(t, axis=-1, keepdims=True))", "layers.Flatten()", "layers.Dense(1)"))
    assert result.ok, [d.format() for d in result.diagnostics]
    assert "nn.Linear(6, 1)" in result.output  # (6, 1) flattened


def test_output_shape_given_as_a_tuple():
    result = convert(sequential("layers.Lambda(lambda t: t[:, 0, :], output_shape=(4,))", "layers.Dense(1)"))
    assert result.ok, [d.format() for d in result.diagnostics]
    assert "x = x[:, 0, :]" in result.output and "nn.Linear(4, 1)" in result.output


def test_named_top_level_function_is_kept_rewritten_and_called():
    result = convert(
        "def double(t):\n    return K.square(t) * 2.0\n\n\n"
        + sequential("layers.Lambda(double)", "layers.Flatten()", "layers.Dense(1)")
    )
    assert result.ok, [d.format() for d in result.diagnostics]
    assert "x = double(x)" in result.output
    assert "def double(t):\n    return torch.square(t) * 2.0" in result.output


def test_conv_feature_map_is_back_in_keras_layout_before_the_lambda():
    result = k2t.convert_source(
        HEAD
        + "model = keras.Sequential([keras.Input(shape=(6, 4, 1)), layers.Conv2D(3, 2), "
        "layers.Lambda(lambda t: K.max(t, axis=-1)), layers.Flatten(), layers.Dense(1)])\n",
        filename="case.py",
    )
    assert result.ok, [d.format() for d in result.diagnostics]
    forward = result.output.split("def forward", 1)[1]
    assert forward.index("back to channels-last") < forward.index("torch.amax(x, dim=-1)")
    assert "nn.Linear(15, 1)" in result.output  # (5, 3) after the 2x2 conv, channels reduced


def test_unknown_shape_before_a_dense_is_a_k2t103():
    result = convert(sequential("layers.Lambda(lambda t: ops.repeat(t, 2, axis=1))", "layers.Dense(1)"))
    assert codes(result) == [(13, "K2T103")]
    assert "Dense after this Lambda needs the Lambda's output shape" in result.diagnostics[0].message
    assert "output_shape=" in result.diagnostics[0].message


@pytest.mark.parametrize("after", [[], ["layers.Activation('relu')", "layers.Dropout(0.5)"]], ids=["last", "before-size-free-layers"])
def test_unknown_shape_is_fine_where_no_later_layer_needs_it(after):
    result = convert(sequential("layers.Flatten()", "layers.Dense(3)", "layers.Lambda(lambda t: t[:, :1])", *after))
    assert result.ok, [d.format() for d in result.diagnostics]


def test_unknown_shape_in_a_functional_model_before_a_dense():
    result = convert(
        """\
        inputs = keras.Input(shape=(6, 4))
        h = layers.Lambda(lambda t: ops.repeat(t, 2, axis=1))(inputs)
        h = layers.Dropout(0.2)(h)
        outputs = layers.Dense(1)(h)
        model = keras.Model(inputs, outputs)
        """
    )
    assert codes(result) == [(12, "K2T103")]
    assert "Dense after this Lambda" in result.diagnostics[0].message


def test_output_shape_function_is_evaluated_on_the_input_shape():
    # Keras calls it with the batch first, as None: (None, 6, 4) -> (None, 4), so the Dense takes 4 features.
    result = convert(sequential("layers.Lambda(lambda t: t[:, 0, :], output_shape=lambda s: (s[0], s[2]))", "layers.Dense(1)"))
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    assert "nn.Linear(4, 1)" in result.output


# classic keras's mnist_siamese: the distance of two towers, and its output-shape function of the list of shapes.
SIAMESE = """def euclidean_distance(vects):
    x, y = vects
    sum_square = K.sum(K.square(x - y), axis=1, keepdims=True)
    return K.sqrt(K.maximum(sum_square, K.epsilon()))


def eucl_dist_output_shape(shapes):
    shape1, shape2 = shapes
    return (shape1[0], 1)


a = keras.Input(shape=(6, 4))
b = keras.Input(shape=(6, 4))
base = layers.Dense(3)
distance = layers.Lambda(euclidean_distance, output_shape=eucl_dist_output_shape)([base(layers.Flatten()(a)), base(layers.Flatten()(b))])
model = keras.Model([a, b], layers.Dense(2)(distance))
model.compile(optimizer="sgd", loss="mse")
"""


def test_output_shape_function_of_a_list_of_shapes_is_evaluated():
    result = convert(SIAMESE)
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    assert "nn.Linear(1, 2)" in result.output  # the Dense after the distance: (None, 1)


def test_output_shape_function_k2t_cannot_evaluate_is_a_k2t102_naming_it():
    result = convert(SIAMESE.replace("    return (shape1[0], 1)", "    if shape1:\n        return (shape1[0], 1)"))
    [refused] = [d for d in result.diagnostics if d.code == "K2T102"]  # (the distance's K.* ops, kept, are K2T100s)
    assert refused.line == 26
    message = refused.message
    assert "cannot evaluate `eucl_dist_output_shape` on the input shape [(None, 3), (None, 3)]" in message
    assert "other than assignments and a return" in message


def test_op_outside_the_vocabulary_is_reported_at_it():
    result = convert(sequential("layers.Lambda(lambda t: K.not_an_op(t))"))
    assert [(d.line, d.column, d.code) for d in result.diagnostics] == [(13, 29, "K2T100")]
    assert "not_an_op" in result.diagnostics[0].message


def test_local_of_the_building_function_is_inlined_when_known():
    result = convert(
        """\
        def build():
            factor = 0.5
            return keras.Sequential([keras.Input(shape=(4,)), layers.Lambda(lambda t: t * factor), layers.Dense(1)])

        model = build()
        """
    )
    assert result.ok, [d.format() for d in result.diagnostics]
    assert "x = x * 0.5" in result.output


def test_local_of_the_building_function_with_unknown_value_is_a_k2t103():
    result = convert(
        """\
        def build(factor):
            return keras.Sequential([keras.Input(shape=(4,)), layers.Lambda(lambda t: t * factor), layers.Dense(1)])

        model = build(float(input()))
        """
    )
    assert [d.code for d in result.diagnostics] == ["K2T103"]
    assert "`factor`, a local variable of `build`" in result.diagnostics[0].message


@pytest.mark.parametrize(
    "layer",
    [
        "layers.Lambda(lambda t, k: t * k)",
        "layers.Lambda(lambda t: t * 2.0, arguments={'k': 2})",
        "layers.Lambda(np.square)",
        "layers.Lambda(undefined_function)",
    ],
)
def test_what_is_not_translated_is_a_k2t102(layer):
    result = convert(sequential(layer))
    assert [d.code for d in result.diagnostics] == ["K2T102"], [d.format() for d in result.diagnostics]


def test_a_tensor_made_from_nothing_goes_where_the_input_is():
    """`tf.range(n)` in a Lambda: on the input's device (a CUDA forward would otherwise mix devices)."""
    source = textwrap.dedent(
        """\
        import numpy as np
        import tensorflow as tf
        import keras
        from keras import layers

        x = np.random.rand(32, 8).astype("float32")
        y = np.random.rand(32, 8).astype("float32")
        inputs = keras.Input(shape=(8,))
        outputs = layers.Lambda(lambda t: t + tf.range(8, dtype="float32"))(inputs)
        model = keras.Model(inputs, outputs)
        model.compile(optimizer="adam", loss="mse")
        model.fit(x, y, epochs=1, verbose=0)
        """
    )
    result = k2t.convert_source(source, "train.py")
    assert result.ok, [d.format() for d in result.diagnostics]
    assert "torch.arange(8, dtype=torch.float32, device=inputs.device)" in result.output


def test_slice_shape_is_derived_for_the_layers_after_it():
    result = convert(sequential("layers.Lambda(lambda t: t[:, 1:, :2])", "layers.Flatten()", "layers.Dense(1)"))
    assert result.ok, [d.format() for d in result.diagnostics]
    assert "x = x[:, 1:, :2]" in result.output and "nn.Linear(10, 1)" in result.output  # (5, 2)


NAMED = """\
def scale(t, factor=1.0, shift=SHIFT):
    return t * factor + shift


SHIFT = 0.5
"""
MEAN = """\
def channel_mean(t):
    return ops.mean(t, axis=1)


"""


def test_named_function_with_arguments_gets_them_as_keywords():
    # Keras calls the function as scale(x, **arguments).
    result = convert(
        NAMED + MEAN + sequential("layers.Lambda(scale, arguments={'factor': 0.5})", "layers.Lambda(channel_mean)", "layers.Dense(1)")
    )
    assert result.ok, [d.format() for d in result.diagnostics]
    assert "x = scale(x, factor=0.5)\n" in result.output
    assert "x = channel_mean(x)\n" in result.output
    assert "nn.Linear(4, 1)" in result.output  # the mean over axis 1 of (6, 4), through scale's shape-keeping body


def test_named_function_shape_reads_its_defaults():
    # `t * factor` with factor's default a number keeps the shape: the Lambda after it knows its input's.
    result = convert(NAMED + MEAN + sequential("layers.Lambda(scale)", "layers.Lambda(channel_mean)", "layers.Dense(1)"))
    assert result.ok, [d.format() for d in result.diagnostics]
    assert "nn.Linear(4, 1)" in result.output


def test_lambda_with_arguments_writes_their_values_in():
    result = convert(sequential("layers.Lambda(lambda t, k, b=1.0: t * k + b, arguments={'k': SCALE})", "layers.Flatten()", "layers.Dense(1)"))
    assert result.ok, [d.format() for d in result.diagnostics]
    assert "x = x * SCALE + 1.0\n" in result.output


def test_arguments_known_only_in_the_building_function_are_written_as_values():
    result = convert(
        NAMED
        + """\
def build():
    factor = 0.25
    return keras.Sequential([keras.Input(shape=(4,)), layers.Lambda(scale, arguments={"factor": factor}), layers.Dense(1)])


model = build()
"""
    )
    assert result.ok, [d.format() for d in result.diagnostics]
    assert "x = scale(x, factor=0.25)\n" in result.output


@pytest.mark.parametrize(
    "layer",
    [
        "layers.Lambda(scale, arguments={'factr': 0.5})",  # scale has no such parameter (Keras's TypeError)
        "layers.Lambda(scale, arguments=dict(factor=0.5))",
    ],
)
def test_arguments_k2t_cannot_pass_are_a_k2t102(layer):
    result = convert(NAMED + sequential(layer))
    assert [d.code for d in result.diagnostics] == ["K2T102"], [d.format() for d in result.diagnostics]


def test_lambda_on_a_list_derives_its_shape_from_the_items_it_reads():
    result = convert(
        """\
        a = keras.Input(shape=(6,))
        b = keras.Input(shape=(6,))
        l1 = layers.Lambda(lambda t: K.abs(t[0] - t[1]))([a, b])
        model = keras.Model([a, b], layers.Dense(2)(l1))
        model.compile(optimizer="sgd", loss="mse")
        """
    )
    assert result.ok, [d.format() for d in result.diagnostics]
    assert "l1 = torch.abs(a - b)\n" in result.output
    assert "nn.Linear(6, 2)" in result.output


def test_named_function_on_a_list_derives_its_shape_through_unpacking():
    result = convert(SIAMESE.replace(", output_shape=eucl_dist_output_shape", ""))
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    assert "nn.Linear(1, 2)" in result.output  # K.sum(..., axis=1, keepdims=True) of (None, 3): (None, 1)


def test_lambda_on_a_list_whose_shape_k2t_cannot_tell_is_a_k2t103():
    result = convert(
        """\
        a = keras.Input(shape=(6,))
        b = keras.Input(shape=(6,))
        l1 = layers.Lambda(lambda t: K.dot(t[0], K.transpose(t[1])))([a, b])
        model = keras.Model([a, b], layers.Dense(2)(l1))
        """
    )
    assert [d.code for d in result.diagnostics] == ["K2T103"], [d.format() for d in result.diagnostics]
    assert "output_shape=" in result.diagnostics[0].message


def test_transposed_shape_is_derived():
    result = convert(sequential("layers.Lambda(lambda t: K.permute_dimensions(t, (0, 2, 1)))", "layers.Dense(1)"))
    assert result.ok, [d.format() for d in result.diagnostics]
    assert "x = torch.permute(x, (0, 2, 1))" in result.output and "nn.Linear(6, 1)" in result.output
