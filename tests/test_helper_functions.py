"""Helper functions that take and return Keras tensors (or a model to extend), as real scripts write
them (`def conv_bn(x, filters): ...`, `def residual_block(x, filters, downsample=False): ...`).

Python runs a helper's body once per call: k2t walks it at each call with that call's arguments, so each
call makes its own layers, branches on its own arguments and unrolls its own loops, as in Keras. What it
cannot follow is reported at the spot, never translated into a different model.
"""

import re

import pytest
from conftest import requires_keras, requires_torch
from test_flow import built, convert, linears, script
from unwrapped import unwrapped

import k2t

# Each builds Dense(64) -> Dense(32) -> Dense(1) on 8 features through a helper.
FOLLOWED = {
    "called_in_a_loop": """\
        def dense_block(x, units, activation="relu"):
            x = layers.Dense(units)(x)
            return layers.Activation(activation)(x)

        inputs = keras.Input(shape=(8,))
        h = inputs
        for n in (64, 32):
            h = dense_block(h, n)
        model = keras.Model(inputs, layers.Dense(1, activation="sigmoid")(h))
        """,
    "keywords_defaults_and_nested_calls": """\
        def dense(x, units=64):
            return layers.Dense(units, activation="relu")(x)

        def two_dense(x, first, second):
            return dense(dense(x, units=first), second)

        inputs = keras.Input(shape=(8,))
        outputs = layers.Dense(1, activation="sigmoid")(two_dense(inputs, second=32, first=64))
        model = keras.Model(inputs, outputs)
        """,
    "branch_on_an_argument": """\
        def block(x, units, wide=False):
            if wide:
                units = units * 2
            x = layers.Dense(units, activation="relu")(x)
            return x

        inputs = keras.Input(shape=(8,))
        h = block(inputs, 32, wide=True)
        h = block(h, 32)
        model = keras.Model(inputs, layers.Dense(1, activation="sigmoid")(h))
        """,
    "extends_a_model": """\
        def add_hidden(model, units, rate=0.0):
            model.add(layers.Dense(units, activation="relu"))
            if rate:
                model.add(layers.Dropout(rate))

        model = keras.Sequential([keras.Input(shape=(8,))])
        add_hidden(model, 64, rate=0.25)
        add_hidden(model, 32)
        model.add(layers.Dense(1, activation="sigmoid"))
        """,
    "extends_a_model_in_a_loop": """\
        def add_hidden(model, units):
            model.add(layers.Dense(units, activation="relu"))

        model = keras.Sequential([keras.Input(shape=(8,))])
        for n in (64, 32):
            add_hidden(model, n)
        model.add(layers.Dense(1, activation="sigmoid"))
        """,
    "returns_two_tensors": """\
        def split_block(x, units):
            h = layers.Dense(units, activation="relu")(x)
            return h, x

        inputs = keras.Input(shape=(8,))
        h, raw = split_block(inputs, 64)
        h = layers.Dense(32, activation="relu")(h)
        model = keras.Model(inputs, layers.Dense(1, activation="sigmoid")(h))
        """,
    "shared_layer_from_outside": """\
        shared = layers.Dense(64, activation="relu")

        def tower(x):
            return layers.Dense(32, activation="relu")(shared(x))

        inputs = keras.Input(shape=(8,))
        model = keras.Model(inputs, layers.Dense(1, activation="sigmoid")(tower(inputs)))
        """,
    "loop_inside_the_helper": """\
        def mlp(x, sizes):
            for n in sizes:
                x = layers.Dense(n, activation="relu")(x)
            return x

        inputs = keras.Input(shape=(8,))
        model = keras.Model(inputs, layers.Dense(1, activation="sigmoid")(mlp(inputs, [64, 32])))
        """,
}


@pytest.mark.parametrize("name", FOLLOWED)
def test_helpers_are_walked_at_each_call(name):
    result = convert(script(FOLLOWED[name]))
    assert result.ok, [d.format() for d in result.diagnostics]
    widths = linears(result.output)
    assert widths == ["8, 64", "64, 32", "32, 1"], widths
    # Every statement of the helper went into the module: the function is gone, and so are its calls.
    assert not re.search(r"^def (dense_block|dense|two_dense|block|add_hidden|split_block|mlp|tower)\(", result.output, re.MULTILINE)
    assert "layers." not in result.output


def test_each_call_makes_its_own_layers():
    result = convert(script(FOLLOWED["called_in_a_loop"]))
    assert "self.dense_block = DenseBlock(in_features=8, units=64)" in result.output
    assert "self.dense_block_1 = DenseBlock(in_features=64, units=32)" in result.output


def test_a_helper_applied_several_times_becomes_a_module_class():
    """Two calls that build the same layers up to sizes: one class, its sizes constructor parameters named
    after the helper's parameter where one holds them; the outer forward calls each use once."""
    result = convert(script(FOLLOWED["called_in_a_loop"]))
    output = result.output
    assert "class DenseBlock(nn.Module):" in output
    assert "def __init__(self, in_features, units):" in output
    assert "self.dense = nn.Linear(in_features, units)" in output
    block = output[output.index("class DenseBlock") : output.index("class Net")]
    assert "x = self.dense(x)\n        x = self.activation(x)\n        return x" in block
    forward = output[output.index("    def logits(self, inputs):") :]
    assert "h = self.dense_block(inputs)\n        h = self.dense_block_1(h)" in forward
    assert linears(output) == ["8, 64", "64, 32", "32, 1"]


def test_a_helper_called_once_or_building_other_layers_stays_inline():
    result = convert(script(FOLLOWED["branch_on_an_argument"].replace("h = block(h, 32)", "h = layers.Dense(32, activation='relu')(h)")))
    assert "class Block(" not in result.output
    assert linears(result.output) == ["8, 64", "64, 32", "32, 1"]


def test_a_helper_with_more_than_layers_in_it_stays():
    source = script(
        """\
        def block(x, units):
            print("block of", units)
            return layers.Dense(units, activation="relu")(x)

        inputs = keras.Input(shape=(8,))
        h = block(block(inputs, 64), 32)
        model = keras.Model(inputs, layers.Dense(1, activation="sigmoid")(h))
        """
    )
    result = convert(source)
    assert linears(result.output) == ["8, 64", "64, 32", "32, 1"]
    assert "def block(x, units):" in result.output  # its print stays where the script wrote it


REPORTED = {
    "argument_known_only_at_run_time": (
        """\
        width = int(np.random.randint(16, 64))

        def block(x, units):
            return layers.Dense(units, activation="relu")(x)

        inputs = keras.Input(shape=(8,))
        model = keras.Model(inputs, layers.Dense(1, activation="sigmoid")(block(inputs, width)))
        """,
        "`units` is not known where the model is built: `width`, passed to block()",
    ),
    "called_in_a_loop_over_data": (
        """\
        def block(x, units):
            return layers.Dense(units, activation="relu")(x)

        depth = int(np.random.randint(1, 3))
        inputs = keras.Input(shape=(8,))
        h = inputs
        for _ in range(depth):
            h = block(h, 16)
        model = keras.Model(inputs, layers.Dense(1, activation="sigmoid")(h))
        """,
        "inside a loop over `range(depth)`",
    ),
    "branch_on_data_inside": (
        """\
        def block(x, units):
            if np.random.rand() > 0.5:
                x = layers.Dense(units, activation="relu")(x)
            return x

        inputs = keras.Input(shape=(8,))
        model = keras.Model(inputs, layers.Dense(1, activation="sigmoid")(block(inputs, 16)))
        """,
        "inside an `if` on `np.random.rand() > 0.5`",
    ),
    "recursive": (
        """\
        def tower(x, depth):
            if depth == 0:
                return x
            return tower(layers.Dense(16, activation="relu")(x), depth - 1)

        inputs = keras.Input(shape=(8,))
        model = keras.Model(inputs, layers.Dense(1, activation="sigmoid")(tower(inputs, 2)))
        """,
        "tower() calls itself",
    ),
    "star_arguments": (
        """\
        def block(x, *sizes):
            for n in sizes:
                x = layers.Dense(n, activation="relu")(x)
            return x

        inputs = keras.Input(shape=(8,))
        model = keras.Model(inputs, layers.Dense(1, activation="sigmoid")(block(inputs, 64, 32)))
        """,
        "block() takes *args or **kwargs",
    ),
    "returns_no_tensor": (
        """\
        def block(x, units):
            h = layers.Dense(units, activation="relu")(x)
            return units

        inputs = keras.Input(shape=(8,))
        model = keras.Model(inputs, layers.Dense(1, activation="sigmoid")(block(inputs, 16)))
        """,
        "block() returns `units`",
    ),
}


@pytest.mark.parametrize("name", REPORTED)
def test_what_k2t_cannot_follow_in_a_helper_is_reported(name):
    body, message = REPORTED[name]
    result = convert(script(body))
    assert not result.ok
    assert any(message in d.message for d in result.diagnostics), [d.format() for d in result.diagnostics]
    assert "class Net(" not in result.output  # no model short of the helper's layers


def test_a_helper_also_called_on_data_keeps_its_body_and_says_why():
    source = script(
        """\
        def features(x):
            x = layers.Dense(16, activation="relu")(x)
            return layers.Dense(1, activation="sigmoid")(x)

        inputs = keras.Input(shape=(8,))
        model = keras.Model(inputs, features(inputs))
        other = features(np.zeros((2, 8), dtype="float32"))
        """
    )
    result = convert(source)
    assert "def features(x):" in result.output  # still called on data: the function stays ...
    assert any(d.code == "K2T103" and d.line > 9 for d in result.diagnostics)  # ... and its Keras lines are reported


def test_a_helper_never_called_is_reported_as_before():
    source = script(
        """\
        def unused(x):
            return layers.Dense(16)(x)

        model = keras.Sequential([keras.Input(shape=(8,)), layers.Dense(1, activation="sigmoid")])
        """
    )
    result = convert(source)
    assert "def unused(x):" in result.output
    line = source.splitlines().index("    return layers.Dense(16)(x)") + 1
    assert [d.code for d in result.diagnostics if d.line == line] == ["K2T100"]  # the layer call, as any unfollowed code


@requires_torch
@requires_keras
@pytest.mark.parity
@pytest.mark.parametrize("name", ["called_in_a_loop", "branch_on_an_argument", "extends_a_model", "returns_two_tensors", "shared_layer_from_outside"])
def test_helpers_match_keras(name, tmp_path):
    from parity_cases import assert_parity

    assert_parity(script(FOLLOWED[name]), tmp_path)


# A function that builds and returns a model, its shapes passed in (keras.io's timeseries classification).
SHAPE_PARAMETER = """\
import numpy as np
import keras

rng = np.random.RandomState(0)
x_train = rng.normal(size=(96, 12, 3)).astype("float32")
y_train = (x_train[:, :, 0].mean(axis=1) > 0).astype("int64")
num_classes = 2
keras.utils.set_random_seed(0)


def make_model(input_shape, filters=4):
    input_layer = keras.layers.Input(input_shape)
    conv = keras.layers.Conv1D(filters=filters, kernel_size=3, padding="same")(input_layer)
    conv = keras.layers.ReLU()(conv)
    gap = keras.layers.GlobalAveragePooling1D()(conv)
    output_layer = keras.layers.Dense(num_classes, activation="softmax")(gap)
    return keras.models.Model(inputs=input_layer, outputs=output_layer)


model = make_model(input_shape=x_train.shape[1:])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["sparse_categorical_accuracy"])
history = model.fit(x_train, y_train, batch_size=16, epochs=3, verbose=0)
"""


def test_a_shape_passed_to_a_model_building_function_is_read_in_it():
    result = convert(SHAPE_PARAMETER)
    assert result.ok, [d.format() for d in result.diagnostics]
    # The channels come from the parameter, inside the function, whatever the caller passes.
    assert unwrapped("return Net(input_layer_dim_1=input_shape[1], filters=filters, num_classes=num_classes)") in unwrapped(result.output)


def test_a_shape_parameter_whose_length_no_layer_fixes_is_reported():
    source = SHAPE_PARAMETER.replace('keras.layers.Conv1D(filters=filters, kernel_size=3, padding="same")', "keras.layers.Dense(filters)")
    source = source.replace("keras.layers.GlobalAveragePooling1D()(conv)", "keras.layers.Flatten()(conv)")
    # An array whose number of axes the script does not fix (rng.normal(size=...) fixes it: the call passes 2 sizes).
    source = source.replace('x_train = rng.normal(size=(96, 12, 3)).astype("float32")', 'x_train = np.load("x_train.npy")')
    result = convert(source)
    assert any("how many sizes the parameter `input_shape` holds" in d.message for d in result.diagnostics), [d.format() for d in result.diagnostics]


@requires_torch
@requires_keras
@pytest.mark.parity
def test_a_shape_passed_to_a_model_building_function_matches_keras(tmp_path):
    from parity_cases import assert_parity

    assert_parity(SHAPE_PARAMETER, tmp_path)


def _small_resnet_on_random_images() -> str:
    """fixtures/small_resnet with CIFAR-10 replaced by random images (the tests never download)."""
    from pathlib import Path

    source = (Path(__file__).resolve().parent.parent / "fixtures" / "small_resnet" / "input.py").read_text(encoding="utf-8")
    loaded = "(x_train, y_train), (x_test, y_test) = keras.datasets.cifar10.load_data()"
    assert loaded in source
    random_data = (
        "rng = np.random.RandomState(0)\n"
        "(x_train, y_train), (x_test, y_test) = ((rng.randint(0, 256, (128, 32, 32, 3)).astype('uint8'), rng.randint(0, 10, (128, 1))),"
        " (rng.randint(0, 256, (32, 32, 32, 3)).astype('uint8'), rng.randint(0, 10, (32, 1))))\n"
        "keras.utils.set_random_seed(0)"
    )
    return source.replace(loaded, random_data).replace("model.summary()\n", "").replace("epochs = 2", "epochs = 3")


def test_the_small_resnet_fixture_unrolls_every_block():
    result = convert(_small_resnet_on_random_images())
    assert result.ok, [d.format() for d in result.diagnostics]
    convs = built(result.output, "nn.Conv2d")
    # stem + 3 blocks of two convolutions + 2 projected shortcuts
    assert len(convs) == 1 + 3 * 2 + 2, convs


@requires_torch
@requires_keras
@pytest.mark.parity
def test_the_small_resnet_fixture_matches_keras(tmp_path):
    from parity_cases import assert_parity

    assert_parity(_small_resnet_on_random_images(), tmp_path)


# --------------------------------------------------------------- helpers applied several times: classes
CONV_BLOCKS = """\
import numpy as np
import keras
from keras import layers

rng = np.random.RandomState(0)
x = rng.normal(size=(64, 12, 12, 3)).astype("float32")
y = rng.randint(0, 4, size=(64,))
keras.utils.set_random_seed(0)


def conv_block(model, filters):
    model.add(layers.Conv2D(filters, 3, padding="same", activation="relu"))
    model.add(layers.BatchNormalization())
    model.add(layers.MaxPooling2D())


model = keras.Sequential([keras.Input(shape=(12, 12, 3))])
for f in (8, 16):
    conv_block(model, f)
model.add(layers.Flatten())
model.add(layers.Dense(4, activation="softmax"))
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
history = model.fit(x, y, batch_size=16, epochs=3, verbose=0)
"""


def test_a_helper_extending_a_sequential_several_times_becomes_a_class():
    """`conv_block(model, 64)` called per stage: one ConvBlock class; the first call's turn to channels-first
    stays in the outer forward, so that every call starts alike."""
    result = convert(CONV_BLOCKS)
    assert result.ok, [d.format() for d in result.diagnostics]
    output = result.output
    assert "class ConvBlock(nn.Module):" in output
    assert "self.conv_block = ConvBlock(in_channels=3, filters=8)" in output
    assert "self.conv_block_1 = ConvBlock(in_channels=8, filters=16)" in output
    forward = output[output.index("    def logits(self, x):") :]
    assert "x = x.permute(0, 3, 1, 2)" in forward.split("self.conv_block(x)")[0]
    assert built(output, "nn.Conv2d") == ["3, 8, 3, padding='same'", "8, 16, 3, padding='same'"]


@requires_torch
@requires_keras
@pytest.mark.parity
def test_sequential_blocks_match_keras(tmp_path):
    from parity_cases import assert_parity

    assert_parity(CONV_BLOCKS, tmp_path)


@requires_torch
@requires_keras
@pytest.mark.parity
def test_functional_blocks_match_keras(tmp_path):
    from parity_cases import assert_parity

    assert "class DenseBlock" in convert(script(FOLLOWED["called_in_a_loop"])).output
    assert_parity(script(FOLLOWED["called_in_a_loop"]), tmp_path)


def test_a_keras_tensors_shape_read_as_a_size_is_its_value_or_reported_not_left_undefined():
    """keras.io's timeseries transformer sizes a layer from its input tensor (`filters=inputs.shape[-1]`). Kept as
    written, the code would read `inputs`, which no longer exists in the output (a NameError when run): the size is
    Keras's static one where k2t knows it (the Input's; a Lambda's its function gives), and a K2T103 at the read
    where it does not (a Lambda's output whose shape k2t does not derive)."""
    known = k2t.convert_source(
        script(
            """\
            def block(inputs, units):
                x = layers.Dense(units, activation="relu")(inputs)
                return layers.Dense(inputs.shape[-1])(x)

            inputs = keras.Input(shape=(8,))
            h = block(inputs, 16)
            model = keras.Model(inputs, layers.Dense(1, activation="sigmoid")(h))
            """
        ),
        "train.py",
    )
    assert known.ok, [d.format() for d in known.diagnostics]
    assert "nn.Linear(16, 8)" in known.output and "inputs.shape" not in known.output
    result = k2t.convert_source(
        script(
            """\
            def block(inputs, units):
                x = layers.Dense(units, activation="relu")(inputs)
                return layers.Dense(inputs.shape[-1])(x)

            inputs = keras.Input(shape=(8,))
            h = block(layers.Lambda(lambda t: keras.ops.tile(t, (1, 2)))(inputs), 16)
            model = keras.Model(inputs, layers.Dense(1, activation="sigmoid")(h))
            """
        ),
        "train.py",
    )
    found = [(d.code, d.message) for d in result.diagnostics]
    assert ("K2T103", "`inputs.shape[-1]` reads the Keras tensor `inputs`, which k2t does not translate here; write the size as a number or a variable") in found


def test_a_layer_a_helper_adapts_is_followed_where_the_call_is_assigned_and_reported_elsewhere():
    """keras.io's structured data: the function returns the layer it made and adapted to the name the call's
    result is assigned to; a call inside an expression has no such name, and is reported where it is."""
    source = """\
import numpy as np
import keras
from keras import layers

x = np.random.rand(16, 1).astype("float32")


def encode(feature, data):
    normalizer = layers.Normalization()
    normalizer.adapt(data)
    return normalizer(feature)


inputs = keras.Input(shape=(1,))
encoded = encode(inputs, x)
model = keras.Model(inputs, layers.Dense(1)(encoded))
other = keras.Model(inputs, layers.Dense(1)(encode(inputs, x)))
"""
    messages = [(d.code, d.line, d.message) for d in k2t.convert_source(source, "case.py").diagnostics]
    assert [(code, line) for code, line, _ in messages] == [("K2T103", 17)], messages
    assert "k2t follows it where the call's result is assigned to one name" in messages[0][2]
    followed = k2t.convert_source(source[: source.index("other = ")], "case.py")
    assert not followed.diagnostics, [d.format() for d in followed.diagnostics]
    assert "def encode(data):" in followed.output and "encoded = encode(x)" in followed.output
    assert "return normalizer\n" in followed.output and "Net(encoded=encoded)" in followed.output
    # A layer the call passes (adapted by the caller) stays the caller's: the helper is a block as before.
    passed = source[: source.index("def encode")] + "norm = layers.Normalization()\nnorm.adapt(x)\n\n\ndef block(t, layer):\n    return layers.Dense(2)(layer(t))\n\n\ninputs = keras.Input(shape=(1,))\nmodel = keras.Model(inputs, layers.Dense(1)(block(inputs, norm)))\n"
    assert not k2t.convert_source(passed, "case.py").diagnostics
