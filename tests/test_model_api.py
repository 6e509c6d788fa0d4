"""Layers held in variables and Keras's model API: layer lists, model.layers[i], get_layer, freezing, count_params."""

import os
import subprocess
import sys
import textwrap

import pytest
from conftest import requires_keras, requires_torch, run_standalone

import k2t

HEADER = """\
import numpy as np
import keras
from keras import layers

x = np.random.rand(32, 8).astype("float32")
y = (x.sum(1) > 4).astype("float32")
"""


def convert(body: str):
    return k2t.convert_source(HEADER + textwrap.dedent(body), filename="train.py")


def messages(result) -> list[str]:
    return [f"{d.line}: {d.code} {d.message}" for d in result.diagnostics]


def after_data(result) -> str:
    """The converted script's own statements, from the data on (the generated definitions come before)."""
    return result.output[result.output.index("x = np.random.rand") :]


# ------------------------------------------------------------------ layer lists
@pytest.mark.parametrize(
    "build",
    [
        pytest.param(
            """\
            hidden = [layers.Dense(16, activation="relu"), layers.Dense(4, activation="relu")]
            model = keras.Sequential([keras.Input(shape=(8,))] + hidden + [layers.Dense(1)])
            """,
            id="concatenated",
        ),
        pytest.param(
            """\
            hidden = [layers.Dense(units, activation="relu") for units in (16, 4)]
            model = keras.Sequential([keras.Input(shape=(8,)), *[]] + hidden + [layers.Dense(1)])
            """.replace(", *[]", ""),
            id="comprehension",
        ),
        pytest.param(
            """\
            stack = []
            stack.append(keras.Input(shape=(8,)))
            for units in (16, 4):
                stack.append(layers.Dense(units, activation="relu"))
            stack += [layers.Dense(1)]
            model = keras.Sequential(stack)
            """,
            id="appended",
        ),
        pytest.param(
            """\
            hidden = [keras.Input(shape=(8,)), layers.Dense(16, activation="relu"), layers.Dense(4, activation="relu")]
            model = keras.Sequential(layers=hidden)
            model.add(layers.Dense(1))
            """,
            id="keyword",
        ),
    ],
)
def test_a_layer_list_in_a_variable_builds_the_model_in_order(build):
    result = convert(build + "model.compile(optimizer='sgd', loss='mse')\n")
    assert result.ok, messages(result)
    assert (
        "nn.Linear(8, 16)" in result.output
        and "nn.Linear(16, 4)" in result.output
        and "nn.Linear(4, 1)" in result.output
    )
    code = after_data(result)
    assert "layers." not in code and "stack" not in code and "hidden" not in code, code


def test_a_list_of_other_things_is_left_alone():
    result = convert(
        """\
        model = keras.Sequential([keras.Input(shape=(8,)), layers.Dense(1)])
        model.compile(optimizer="sgd", loss="mse")
        losses = []
        for epochs in (1, 2):
            history = model.fit(x, y, epochs=epochs, verbose=0)
            losses.append(history.history["loss"][-1])
        pair = [model, model]
        """
    )
    # Models in a list are no layers of one: the line stays (k2t's usual report of a model object it does not follow).
    assert messages(result) == ["13: K2T140 use of the model object `model` here is not translated"] * 2
    code = after_data(result)
    assert "losses = []" in code and "losses.append(" in code and "pair = [model, model]" in code
    assert code.count("fit(model, optimizer, x, y") == 1  # the loop is walked once, not unrolled


def test_a_layer_list_used_elsewhere_stays_built_and_is_reported():
    result = convert(
        """\
        hidden = [layers.Dense(3), layers.Dense(2)]
        model = keras.Sequential([keras.Input(shape=(8,))] + hidden)
        print(len(hidden))
        """
    )
    assert messages(result) == ["9: K2T103 the layer list `hidden` is used here in a way k2t does not translate"]
    assert "hidden = [layers.Dense(3), layers.Dense(2)]" in result.output  # the line that reads it still runs


def test_layers_of_a_list_in_two_models_are_not_translated_apart():
    # Keras shares the list's layers between both models; two torch modules would not.
    result = convert(
        """\
        hidden = [layers.Dense(3)]
        a = keras.Sequential([keras.Input(shape=(8,))] + hidden)
        b = keras.Sequential([keras.Input(shape=(8,))] + hidden + [layers.Dense(1)])
        """
    )
    assert any("K2T103 the layers of `hidden` are already in another model" in m for m in messages(result)), messages(
        result
    )


def test_appending_to_a_layer_list_in_a_loop_k2t_cannot_unroll_is_reported():
    result = convert(
        """\
        stack = [keras.Input(shape=(8,)), layers.Dense(4)]
        for units in np.unique(y):
            stack.append(layers.Dense(int(units) + 1))
        model = keras.Sequential(stack)
        """
    )
    assert any(m.startswith("9: K2T103 `stack` extended inside a loop") for m in messages(result)), messages(result)


# ------------------------------------------------------------------ Keras's names
@requires_keras
def test_snake_case_is_keras_own():
    from keras.src.utils.naming import to_snake_case

    from k2t.parse.model_access import keras_snake_case

    for name in (
        "Dense",
        "BatchNormalization",
        "LeakyReLU",
        "PReLU",
        "Conv2DTranspose",
        "GlobalAveragePooling2D",
        "LSTM",
        "SimpleRNN",
    ):
        assert keras_snake_case(name) == to_snake_case(name)


FREEZE_BY_NAME = """\
encoder = keras.Sequential([keras.Input(shape=(8,)), layers.Dense(8), layers.Dense(6)])
model = keras.Sequential([encoder, layers.Dense(4, name="head"), layers.Dense(1)])
model.get_layer({name!r}).trainable = False
"""


@pytest.mark.parametrize(
    ("name", "frozen"),
    [("sequential", "model.encoder"), ("head", "model.head"), ("dense_2", "model.dense")],
)
def test_get_layer_finds_the_layer_keras_names_so(name, frozen):
    # Keras counts layers per class over the whole script: the encoder's Dense layers are dense and dense_1.
    result = convert(FREEZE_BY_NAME.format(name=name))
    assert result.ok, messages(result)
    assert f"{frozen}.requires_grad_(False)" in result.output


def test_get_layer_of_a_name_no_layer_has_is_reported():
    result = convert(FREEZE_BY_NAME.format(name="dense_1"))
    assert messages(result) == [
        "9: K2T103 the model has no layer named 'dense_1' (Keras raises ValueError); its layers: sequential, head, dense_2"
    ]


def test_automatic_names_after_layers_made_in_a_function_are_not_guessed():
    # make() may run any number of times before the model is built: Keras's count of Dense layers is unknown.
    result = convert(
        """\
        def make():
            return keras.Sequential([keras.Input(shape=(8,)), layers.Dense(4)])
        first = make()
        model = keras.Sequential([keras.Input(shape=(8,)), layers.Dense(4), layers.Dense(1, name="out")])
        model.get_layer("out").trainable = False
        model.get_layer("dense_1").trainable = False
        """
    )
    assert messages(result) == [
        "12: K2T103 k2t cannot tell which layer Keras names 'dense_1' here: give that layer name='dense_1'"
    ]
    assert "model.out.requires_grad_(False)" in result.output


def test_clear_session_restarts_keras_names():
    result = convert(
        """\
        first = keras.Sequential([keras.Input(shape=(8,)), layers.Dense(4)])
        keras.backend.clear_session()
        model = keras.Sequential([keras.Input(shape=(8,)), layers.Dense(4), layers.Dense(1)])
        model.get_layer("dense").trainable = False
        """
    )
    assert result.ok, messages(result)
    assert "model.dense.requires_grad_(False)" in result.output


# ------------------------------------------------------------------ freezing
def test_every_spelling_of_freezing_becomes_requires_grad():
    result = convert(
        """\
        base = keras.Sequential([keras.Input(shape=(8,)), layers.Dense(8), layers.Dropout(0.1), layers.Dense(6)])
        last = layers.Dense(1)
        model = keras.Sequential([base, layers.Dense(4, name="head")])
        model.add(last)
        for layer in base.layers[:2]:
            layer.trainable = False
        for layer in base.layers[1:]:
            layer.trainable = False
        base.trainable = False
        model.layers[0].trainable = True
        model.layers[-2].trainable = False
        last.trainable = False
        model.layers[1].trainable = 0
        base.layers[1].trainable = False
        """
    )
    assert result.ok, messages(result)
    assert after_data(result).splitlines()[2:] == [
        "base = Base().to(device)",
        "model = Net(base=base).to(device)",
        "base.dense.requires_grad_(False)",  # the Dropout holds no weights
        "base.dense_1.requires_grad_(False)",
        "base.requires_grad_(False)",
        "model.base.requires_grad_(True)",
        "model.head.requires_grad_(False)",
        "model.dense.requires_grad_(False)",
        "model.head.requires_grad_(False)",
    ]


def test_unfreezing_follows_tensorflow_keras_skipping_a_flag_already_set():
    # Keras's setter returns at once when the model's own flag already has the value (TensorFlow backend).
    result = convert(
        """\
        base = keras.Sequential([keras.Input(shape=(8,)), layers.Dense(8), layers.Dense(6)])
        base.layers[0].trainable = False
        base.trainable = True
        base.trainable = False
        base.trainable = True
        """
    )
    assert [str(d.severity.value) for d in result.diagnostics] == ["warning"]
    assert messages(result)[0].startswith("9: K2T141 Keras (TensorFlow backend) skips this `trainable` assignment")
    assert after_data(result).splitlines()[2:] == [
        "base = Base().to(device)",
        "base.dense.requires_grad_(False)",
        "base.requires_grad_(False)",
        "base.requires_grad_(True)",
    ]


def test_a_loop_over_several_layers_stays_a_loop():
    result = convert(
        """\
        base = keras.Sequential([keras.Input(shape=(8,)), layers.Dense(8), layers.Dense(6), layers.Dense(1)])
        for layer in base.layers[:-1]:
            layer.trainable = False
        """
    )
    assert "for layer in (base.dense, base.dense_1):\n    layer.requires_grad_(False)\n" in result.output


MODELS = """\
rnn = layers.LSTM(4)
seq = keras.Sequential([keras.Input(shape=(5, 2)), rnn])
model = keras.Sequential([keras.Input(shape=(8,)), layers.Dense(4, kernel_regularizer="l2"), layers.Dense(1)])
"""


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "model.layers[int(x[0, 0])].trainable = False",
            "10: K2T103 k2t needs the index of `model.layers[int(x[0, 0])]` as a number it knows",
        ),
        (
            "model.layers[5].trainable = False",
            "10: K2T103 `model.layers[5]`: the model has 2 layers (Keras raises IndexError)",
        ),
        ("model.layers[0].trainable = bool(y[0])", "10: K2T103 `trainable = bool(y[0])`: k2t needs True or False here"),
        (
            "free = layers.Dense(2)\nfree.trainable = False",
            "11: K2T103 `free.trainable` set before `free` is in a model k2t translates",
        ),
        ("model.layers[0].trainable = False", "10: K2T140 freezing a layer that has a regularizer is not translated"),
        (
            "rnn.trainable = True",
            "10: K2T140 `trainable = True` on a layer holding an LSTM or SimpleRNN is not translated",
        ),
        (
            "for layer in model.layers[:k]:\n    layer.trainable = False",
            "10: K2T103 k2t needs the bounds of `model.layers[:k]`",
        ),
    ],
)
def test_freezing_k2t_cannot_follow_is_reported_where_it_is(body, message):
    result = convert(MODELS + body + "\n")
    found = messages(result)
    assert len(found) == 1 and found[0].startswith(message), found


def test_unfreezing_a_gru_reset_before_is_reported():
    """GRU(reset_after=False) keeps torch's second bias at zero and frozen, as LSTM does: unfreezing would train it."""
    result = convert(
        """\
        gru = layers.GRU(4, reset_after=False)
        seq = keras.Sequential([keras.Input(shape=(5, 2)), gru])
        gru.trainable = True
        """
    )
    [found] = messages(result)
    assert "K2T140 `trainable = True` on a layer holding a GRU(reset_after=False) is not translated" in found


def test_a_functional_model_with_branches_freezes_the_layer_keras_lists_there():
    """Keras lists [inputs, dense (a), dense_1 (b), add] (graph.keras_layer_order, checked against Keras in
    test_keras_layer_order): layers[1] is the layer making `a`, layers[2] the one making `b`."""
    for index, attr in ((1, "dense"), (2, "dense_1")):
        result = convert(
            f"""\
            inputs = keras.Input(shape=(8,))
            a = layers.Dense(4)(inputs)
            b = layers.Dense(4)(inputs)
            model = keras.Model(inputs, layers.add([a, b]))
            model.layers[{index}].trainable = False
            """
        )
        assert messages(result) == []
        assert "a = self.dense(inputs)" in result.output
        assert [line for line in result.output.splitlines() if "requires_grad_" in line] == [
            f"model.{attr}.requires_grad_(False)"
        ]


@requires_torch
def test_frozen_weights_and_batch_norm_statistics_do_not_move_in_training(tmp_path):
    result = convert(
        """\
        base = keras.Sequential([keras.Input(shape=(8,)), layers.Dense(8), layers.BatchNormalization()])
        base.trainable = False
        model = keras.Sequential([base, layers.Dense(1)])
        model.compile(optimizer=keras.optimizers.AdamW(learning_rate=0.1, weight_decay=0.5), loss="mse")
        before = None
        model.fit(x, y, epochs=3, verbose=0)
        after = None
        """
    )
    assert result.ok, messages(result)
    script = tmp_path / "train.py"
    checks = [
        "assert all(torch.equal(a, b) for a, b in zip(before, base.state_dict().values()))",
        "assert not torch.equal(head, model.dense.weight)",  # the head did train
        "print('frozen')",
    ]
    output = result.output.replace(
        "before = None", "before = [t.clone() for t in base.state_dict().values()]; head = model.dense.weight.clone()"
    )
    script.write_text(output.replace("after = None", "\n".join(checks)), encoding="utf-8")
    run = run_standalone(script)
    assert run.returncode == 0 and run.stdout.strip().endswith("frozen"), run.stderr[-2000:]


# ------------------------------------------------------------------ count_params
COUNTED = {
    "dense_batch_norm": "[keras.Input(shape=(8,)), layers.Dense(16), layers.BatchNormalization(), layers.Dense(1)]",
    "lstm": "[keras.Input(shape=(5, 3)), layers.LSTM(4, return_sequences=True), layers.SimpleRNN(3), layers.Dense(1)]",
    "gru_bidirectional": "[keras.Input(shape=(5, 3)), layers.Bidirectional(layers.LSTM(4)), layers.Dense(1)]",
    "gru": "[keras.Input(shape=(5, 3)), layers.GRU(4), layers.Dense(2)]",
    "gru_reset_before": "[keras.Input(shape=(5, 3)), layers.GRU(4, reset_after=False, return_sequences=True), layers.Bidirectional(layers.GRU(2, reset_after=False)), layers.Dense(2)]",
    "lstm_gru_reset_before": "[keras.Input(shape=(5, 3)), layers.LSTM(4, return_sequences=True), layers.GRU(4, reset_after=False), layers.Dense(2)]",
    "embedding": "[keras.Input(shape=(6,)), layers.Embedding(20, 4), layers.Conv1D(3, 2), layers.GlobalAveragePooling1D(), layers.Dense(1)]",
    "conv": "[keras.Input(shape=(6, 6, 2)), layers.Conv2D(4, 3), layers.BatchNormalization(), layers.SeparableConv2D(3, 2), layers.Flatten(), layers.Dense(1)]",
}


@requires_torch
@requires_keras
def test_count_params_equals_keras(tmp_path):
    source = "import keras\nfrom keras import layers\n" + "".join(
        f"{name} = keras.Sequential({layers})\nprint({name!r}, {name}.count_params())\n"
        for name, layers in COUNTED.items()
    )
    result = k2t.convert_source(source, filename="counts.py")
    assert result.ok, messages(result)
    (tmp_path / "counts.py").write_text(source, encoding="utf-8")
    (tmp_path / "counts_torch.py").write_text(result.output, encoding="utf-8")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    keras_run = subprocess.run(
        [sys.executable, "counts.py"], check=False, cwd=tmp_path, capture_output=True, text=True, env=env, timeout=300
    )
    assert keras_run.returncode == 0, keras_run.stderr[-2000:]
    torch_run = run_standalone(tmp_path / "counts_torch.py")
    assert torch_run.returncode == 0, torch_run.stderr[-2000:]
    assert torch_run.stdout.splitlines() == keras_run.stdout.splitlines()
    assert len(keras_run.stdout.splitlines()) == len(COUNTED)


@requires_torch
@requires_keras
def test_count_params_with_normalizations_equals_keras():
    """Keras counts an adapted Normalization's mean, variance and `count` (a scalar weight torch has no buffer
    for), EfficientNet's input Normalization too."""
    source = textwrap.dedent(
        """\
        import numpy as np
        import keras
        from keras import layers

        x = np.arange(24, dtype="float32").reshape(3, 8)
        norm = layers.Normalization()
        norm.adapt(x)
        model = keras.Sequential([keras.Input(shape=(8,)), norm, layers.Dense(1)])
        base = keras.applications.EfficientNetB0(include_top=False, weights=None, input_shape=(32, 32, 3))
        counts = model.count_params(), base.count_params()
        """
    )
    result = k2t.convert_source(source, filename="counts.py")
    assert result.ok, messages(result)
    converted: dict = {}
    exec(compile(result.output, "counts_torch.py", "exec"), converted)  # noqa: S102 (the test runs k2t's output)
    original: dict = {}
    exec(compile(source, "counts.py", "exec"), original)  # noqa: S102
    assert converted["counts"] == original["counts"]


# ------------------------------------------------------------------ model.input_shape / output_shape
SHAPED_MODELS = {
    "sequential_dense": """\
        model = keras.Sequential([keras.Input(shape=(8,)), layers.Dense(16, activation="relu"), layers.Dense(3)])
        """,
    "functional_conv": """\
        inputs = keras.Input(shape=(28, 28, 1))
        h = layers.Conv2D(4, 3, strides=2)(inputs)
        h = layers.MaxPooling2D()(h)
        model = keras.Model(inputs, layers.Flatten()(h))
        """,
    "open_length_sequences": """\
        model = keras.Sequential([keras.Input(shape=(None, 8)), layers.LSTM(6, return_sequences=True)])
        """,
    "two_inputs_two_outputs": """\
        a = keras.Input(shape=(8,))
        b = keras.Input(shape=(4, 2))
        merged = layers.Concatenate()([a, layers.Flatten()(b)])
        model = keras.Model([a, b], [layers.Dense(1)(merged), layers.Dense(5)(merged)])
        """,
}


@requires_keras
@pytest.mark.parametrize("name", SHAPED_MODELS)
def test_model_input_and_output_shape_are_kerass(name):
    """`model.input_shape` / `model.output_shape` read by the script: the module carries Keras's values
    under the same names, so the line stays as written; compared with the Keras model built here."""
    import ast
    import re

    body = SHAPED_MODELS[name] + "print(model.input_shape, model.output_shape[-1])\n"
    result = convert(body)
    assert result.ok, messages(result)
    assert "print(model.input_shape, model.output_shape[-1])" in result.output
    # The comment trails the statement, or stands above it when the line would pass 88 columns.
    trailing = re.findall(r"self\.(input_shape|output_shape) = (.*?)  # Keras's", result.output)
    above = re.findall(
        r"# Keras's model\.\w+, which the script reads\n +self\.(input_shape|output_shape) = (.*)", result.output
    )
    found = dict(trailing + above)
    namespace: dict = {}
    exec(compile(HEADER + textwrap.dedent(SHAPED_MODELS[name]), "keras_model", "exec"), namespace)  # the Keras model  # noqa: S102 - the test runs generated code
    keras_model = namespace["model"]
    assert ast.literal_eval(found["input_shape"]) == keras_model.input_shape
    assert ast.literal_eval(found["output_shape"]) == keras_model.output_shape


TENSOR_SHAPE_READS = {
    # (Keras 3's Sequential raises on model.input / model.output, as Keras 2's did not; a Functional has them.)
    "sequential_dense": "model.inputs[0].shape, model.outputs[-1].shape",
    "functional_conv": "model.input.shape, model.inputs[0].shape, model.output.shape, model.outputs[-1].shape",
    "open_length_sequences": "model.inputs[-1].shape, model.outputs[0].shape",
    "two_inputs_two_outputs": "model.inputs[1].shape, model.inputs[0].shape, model.outputs[-1].shape, model.outputs[0].shape",
}


@requires_torch
@requires_keras
@pytest.mark.parametrize("name", TENSOR_SHAPE_READS)
def test_shapes_of_model_tensors_are_kerass(name):
    """`model.inputs[i].shape`, `model.output.shape`: Keras 3's tensors give the tuple model.input_shape holds;
    the converted script reads the module's shape attribute. Both scripts run, their values compared."""
    source = HEADER + textwrap.dedent(SHAPED_MODELS[name]) + f"shapes = ({TENSOR_SHAPE_READS[name]},)\n"
    result = k2t.convert_source(source, filename="shapes.py")
    assert result.ok, messages(result)
    assert ".inputs" not in result.output and ".outputs" not in result.output
    converted: dict = {}
    exec(compile(result.output, "shapes_torch.py", "exec"), converted)  # noqa: S102 (the test runs k2t's output)
    original: dict = {}
    exec(compile(source, "shapes.py", "exec"), original)  # noqa: S102
    assert converted["shapes"] == tuple(tuple(shape) for shape in original["shapes"])


@pytest.mark.parametrize(
    ("read", "message"),
    [
        ("model.input.shape", "model.input of a model with 2 inputs is a list"),
        ("model.outputs[2].shape", "model.outputs[2]: the model has 2 outputs"),
    ],
)
def test_shapes_of_model_tensors_keras_would_refuse_are_diagnosed(read, message):
    result = convert(SHAPED_MODELS["two_inputs_two_outputs"] + f"print({read})\n")
    assert [d.code for d in result.diagnostics] == ["K2T140"]
    assert message in result.diagnostics[0].message


# ------------------------------------------------------------------ len(model.layers)
COUNTED_MODELS = {
    **SHAPED_MODELS,
    "sequential_input_shape_keyword": """\
        model = keras.Sequential([layers.Dense(16, input_shape=(8,)), layers.Dropout(0.2), layers.Dense(3)])
        """,
    "nested_and_shared": """\
        block = keras.Sequential([keras.Input(shape=(8,)), layers.Dense(8), layers.Dense(8)])
        inputs = keras.Input(shape=(8,))
        shared = layers.Dense(8, activation="relu")
        h = shared(block(inputs))
        h = shared(h)
        model = keras.Model(inputs, layers.Dense(1)(h))
        """,
}


@requires_keras
@pytest.mark.parametrize("name", COUNTED_MODELS)
def test_len_of_model_layers_is_kerass_count(name):
    """`len(model.layers)`: Keras's count, known from the architecture (a Sequential's InputLayer left out,
    a Functional's in, a shared layer and a nested model once), compared with the Keras model built here."""
    import re

    result = convert(COUNTED_MODELS[name] + 'print("Number of layers:", len(model.layers))\n')
    assert result.ok, messages(result)
    found = re.findall(r'print\("Number of layers:", (\d+)\)  # Keras\'s len\(model.layers\)', result.output)
    namespace: dict = {}
    exec(compile(HEADER + textwrap.dedent(COUNTED_MODELS[name]), "keras_model", "exec"), namespace)  # noqa: S102
    assert found == [str(len(namespace["model"].layers))]


APPLICATION_CALLS = [
    "MobileNetV2(input_shape=(96, 96, 3), include_top=False, weights=None)",
    "MobileNetV2(input_shape=(96, 96, 3), include_top=False, weights=None, pooling='avg')",
    "MobileNetV2(input_shape=(96, 96, 3), weights=None, classes=10)",
    "VGG16(input_shape=(32, 32, 3), include_top=False, weights=None, pooling='max')",
    "VGG16(input_shape=(32, 32, 3), weights=None, classes=10)",
    "ResNet50(input_shape=(32, 32, 3), include_top=False, weights=None)",
    "ResNet50(input_shape=(32, 32, 3), weights=None, classes=10)",
]


@requires_keras
@pytest.mark.parametrize("call", APPLICATION_CALLS)
def test_len_of_an_application_models_layers_is_kerass_count(call):
    """TensorFlow's transfer-learning tutorial prints len(base_model.layers) of its MobileNetV2 base."""
    import re

    body = f"base_model = keras.applications.{call}\nprint(len(base_model.layers))\n"
    result = convert(body)
    assert result.ok, messages(result)
    found = re.findall(r"print\((\d+)\)  # Keras's len\(model.layers\)", result.output)
    namespace: dict = {}
    exec(compile(HEADER + body.splitlines()[0], "keras_model", "exec"), namespace)  # noqa: S102
    assert found == [str(len(namespace["base_model"].layers))]


def test_len_of_layers_k2t_cannot_count_is_diagnosed():
    body = """\
        base = keras.applications.EfficientNetB0(input_shape=(32, 32, 3), include_top=False, weights=None)
        print(len(base.layers))
        """
    result = convert(body)
    assert [d.code for d in result.diagnostics] == ["K2T140"]
    assert "len(model.layers) of EfficientNetB0() is not translated" in result.diagnostics[0].message


# ------------------------------------------------------------------ len(model.trainable_variables)
FROZEN_COUNTS = {
    "cnn_with_batch_norm": """\
import keras
from keras import layers

model = keras.Sequential(
    [
        keras.Input(shape=(8, 8, 3)),
        layers.Conv2D(4, 3),
        layers.BatchNormalization(),
        layers.DepthwiseConv2D(3),
        layers.Dropout(0.5),
        layers.Flatten(),
        layers.Dense(2),
    ]
)
counts = [(len(model.weights), len(model.trainable_variables), len(model.trainable_weights), len(model.non_trainable_weights))]
model.layers[1].trainable = False
counts.append((len(model.weights), len(model.trainable_variables), len(model.trainable_weights), len(model.non_trainable_weights)))
model.trainable = False
counts.append((len(model.weights), len(model.trainable_variables), len(model.trainable_weights), len(model.non_trainable_weights)))
""",
    # TensorFlow's transfer-learning tutorial: a frozen MobileNetV2 base, unfrozen, then its first 100 layers frozen.
    "fine_tuned_mobilenet_v2": """\
import keras
from keras import layers

base_model = keras.applications.MobileNetV2(input_shape=(96, 96, 3), include_top=False, weights=None)
base_model.trainable = False
inputs = keras.Input(shape=(96, 96, 3))
h = base_model(inputs, training=False)
h = layers.GlobalAveragePooling2D()(h)
h = layers.Dropout(0.2)(h)
model = keras.Model(inputs, layers.Dense(1)(h))
counts = [(len(model.trainable_variables), len(model.weights), len(model.non_trainable_weights), len(base_model.weights))]
base_model.trainable = True
counts.append((len(model.trainable_variables), len(model.non_trainable_weights)))
fine_tune_at = 100
for layer in base_model.layers[:fine_tune_at]:
    layer.trainable = False
counts.append((len(model.trainable_variables), len(model.trainable_weights), len(model.non_trainable_weights)))
""",
}


@requires_torch
@requires_keras
@pytest.mark.parametrize("name", FROZEN_COUNTS)
def test_len_of_model_variables_is_kerass_count_before_and_after_freezing(name):
    """`len(model.trainable_variables)` and the like: counted over the module's parameters (requires_grad
    where Keras's trainable), BatchNormalization's moving statistics added to Keras's non-trainable weights.
    Both scripts run; their counts compared at each point."""
    source = FROZEN_COUNTS[name]
    result = k2t.convert_source(source, filename="counts.py")
    assert result.ok, messages(result)
    assert ".trainable_variables" not in result.output and ".weights)" not in result.output
    converted: dict = {}
    exec(compile(result.output, "counts_torch.py", "exec"), converted)  # noqa: S102 (the test runs k2t's output)
    original: dict = {}
    exec(compile(source, "counts.py", "exec"), original)  # noqa: S102
    assert converted["counts"] == original["counts"]


@pytest.mark.parametrize(
    ("read", "message"),
    [
        ("len(model.trainable_variables)", "len(model.trainable_variables): the LSTM layer's weights"),
        ("len(model.non_trainable_variables)", "model attribute `.non_trainable_variables` is not translated"),
    ],
)
def test_variable_counts_k2t_cannot_make_exact_are_reported(read, message):
    body = f"""\
        model = keras.Sequential([keras.Input(shape=(4, 2)), layers.LSTM(3), layers.Dense(1)])
        print({read})
        """
    result = convert(body)
    assert [d.code for d in result.diagnostics] == ["K2T140"]
    assert message in result.diagnostics[0].message


def test_counts_read_before_the_model_is_complete_are_reported():
    """Keras counts what the model holds where the script reads it: before a later model.add, or the weights of
    a Sequential without an input (built at its first call), the torch module's would be another number."""
    body = """\
        model = keras.Sequential()
        model.add(keras.Input(shape=(8,)))
        model.add(layers.Dense(4))
        print(len(model.layers), len(model.weights))
        model.add(layers.Dense(1))
        unbuilt = keras.Sequential([layers.Dense(4), layers.Dense(1)])
        print(len(unbuilt.trainable_weights))
        unbuilt.compile(optimizer="adam", loss="mse")
        unbuilt.fit(x, y)
        """
    result = convert(body)
    assert messages(result) == [
        "10: K2T140 len(model.layers) read before the model's last layers are added is not translated",
        "10: K2T140 len(model.weights) read before the model's last layers are added is not translated",
        (
            "13: K2T140 len(unbuilt.trainable_weights): Keras builds this model's weights at its first call, "
            "which k2t does not follow; build it on a keras.Input"
        ),
    ]


# ------------------------------------------------------------------ sum(model.losses)
PENALIZED_MODEL = """\
import numpy as np
import keras
from keras import layers, ops


class ActivityPenalty(layers.Layer):
    def call(self, inputs):
        self.add_loss(0.5 * ops.mean(ops.square(inputs)))
        return inputs


x = np.random.default_rng(0).random((32, 8)).astype("float32")
init = keras.initializers.Constant(0.1)
model = keras.Sequential(
    [
        keras.Input(shape=(8,)),
        layers.Dense(16, activation="relu", kernel_initializer=init, kernel_regularizer=keras.regularizers.l2(0.01)),
        ActivityPenalty(),
        layers.Dense(1, kernel_initializer=init, bias_initializer=init, bias_regularizer=keras.regularizers.l1(0.1)),
    ]
)
pred = model(x)
total = float(sum(model.losses))
"""


@requires_torch
@requires_keras
def test_sum_of_model_losses_is_kerass_value():
    """`sum(model.losses)`: the regularizers' penalties and the terms added in the last call, as the module's
    regularization_loss() + added_loss(); both scripts run on the same weights and data, their values compared."""
    result = k2t.convert_source(PENALIZED_MODEL, filename="losses.py")
    assert result.ok, messages(result)
    assert "total = float(model.regularization_loss() + model.added_loss())" in result.output
    converted: dict = {}
    exec(compile(result.output, "losses_torch.py", "exec"), converted)  # noqa: S102 (the test runs k2t's output)
    original: dict = {}
    exec(compile(PENALIZED_MODEL, "losses.py", "exec"), original)  # noqa: S102
    assert converted["total"] == pytest.approx(original["total"], rel=1e-5)


def test_sum_of_model_losses_in_a_training_step_and_without_penalties():
    body = """\
        import tensorflow as tf

        model = keras.Sequential([keras.Input(shape=(8,)), layers.Dense(1, kernel_regularizer="l2")])
        plain = keras.Sequential([keras.Input(shape=(8,)), layers.Dense(1)])
        optimizer = keras.optimizers.SGD(0.01)
        loss_fn = keras.losses.MeanSquaredError()
        for step in range(2):
            with tf.GradientTape() as tape:
                loss = loss_fn(y[:, None], model(x, training=True)) + sum(model.losses)
            grads = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(grads, model.trainable_variables))
        plain(x)
        print(sum(plain.losses))
        """
    result = convert(body)
    assert result.ok, messages(result)
    assert "+ model.regularization_loss()" in result.output
    assert "print(0)" in result.output  # Python's sum of Keras's empty list


def test_model_losses_read_otherwise_is_reported():
    result = convert("model = keras.Sequential([keras.Input(shape=(8,)), layers.Dense(1)])\nprint(model.losses)\n")
    assert messages(result) == ["8: K2T140 model attribute `.losses` is not translated"]


@requires_torch
def test_a_model_with_every_weight_frozen_fits_and_updates_nothing(tmp_path):
    # Keras computes the loss and leaves the weights; a bare loss.backward() would raise in torch.
    source = textwrap.dedent(
        """\
        import numpy as np
        import keras
        from keras import layers

        x = np.random.rand(16, 3).astype("float32")
        y = np.random.rand(16, 1).astype("float32")
        model = keras.Sequential([keras.Input(shape=(3,)), layers.Dense(2), layers.Dense(1)])
        for layer in model.layers:
            layer.trainable = False
        model.compile(optimizer="sgd", loss="mse")
        history = model.fit(x, y, epochs=2, verbose=0)
        first, second = history.history["loss"]
        print("losses", len(history.history["loss"]), abs(first - second) < 1e-6 * abs(first))
        """
    )
    result = k2t.convert_source(source, "frozen.py")
    assert result.ok, [d.format() for d in result.diagnostics]
    script = tmp_path / "frozen.py"
    script.write_text(result.output)
    ran = run_standalone(script)
    assert ran.returncode == 0, ran.stderr
    assert "losses 2 True" in ran.stdout  # nothing trained: the same loss both epochs


METRICS_NAMES = """\
import numpy as np
import keras

model = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(1, activation="sigmoid")])
before = model.metrics_names
model.compile(optimizer="adam", loss="binary_crossentropy", {metrics})
model.fit(np.zeros((4, 3)), np.zeros(4), verbose=0)
scores = model.evaluate(np.zeros((4, 3)), np.zeros(4), verbose=0)
after = model.metrics_names
"""


@requires_keras
@pytest.mark.parametrize(
    "metrics", ['metrics=["accuracy"]', 'metrics=["accuracy", "mae"]', "metrics=[]", "loss_weights=None"]
)
def test_metrics_names_are_keras_3s(metrics):
    """Brownlee's `print("%s: %.2f%%" % (model.metrics_names[1], scores[1] * 100))`: Keras 3 names one object
    for all compile metrics ("compile_metrics"), where Keras 2 named each."""
    source = METRICS_NAMES.format(metrics=metrics)
    keras_names: dict = {}
    exec(compile(source, "keras_side.py", "exec"), keras_names)  # noqa: S102 (real Keras is the reference)
    result = k2t.convert_source(source, filename="case.py")
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    written = {
        line.split(" = ", 1)[0]: line.split(" = ", 1)[1].split("  #")[0]
        for line in result.output.splitlines()
        if line.startswith(("before = ", "after = "))
    }
    assert written == {
        "before": repr(keras_names["before"]).replace("'", '"'),
        "after": repr(keras_names["after"]).replace("'", '"'),
    }


# ------------------------------------------------------------------ reading a layer: name, flag, shapes, weights
def test_a_layer_of_the_model_in_a_variable_is_its_submodule_and_its_reads_are_kerass():
    result = convert(
        """\
        model = keras.Sequential([
            keras.Input(shape=(8,)),
            layers.Dense(32, activation="relu", name="hidden1"),
            layers.Dense(16, activation="relu", name="hidden2"),
            layers.Dense(1, activation="sigmoid", name="out"),
        ])
        first = model.layers[0]
        print(first.name, first.units)
        model.get_layer("hidden2").trainable = False
        print(model.get_layer("hidden2").trainable, first.trainable)
        model.compile(optimizer="adam", loss="binary_crossentropy")
        model.fit(x, y, epochs=1, verbose=0)
        w = model.get_layer("out").get_weights()
        kernel, bias = first.get_weights()
        """
    )
    assert result.ok, messages(result)
    out = after_data(result)
    assert "first = model.hidden1\n" in out
    assert 'print("hidden1", 32)  # Keras\'s first.name, first.units\n' in out
    assert 'print(False, True)  # Keras\'s model.get_layer("hidden2").trainable, first.trainable\n' in out
    assert "w = get_weights(model.out)\n" in out
    assert "kernel, bias = get_weights(model.hidden1)\n" in out
    assert "def get_weights(layer):" in result.output


def test_a_loop_over_the_layers_reads_kerass_names_and_flags_where_it_starts():
    # Keras's automatic names: one count per class over the script (`dense`, `dense_1`), a name= taking none.
    result = convert(
        """\
        model = keras.Sequential([
            keras.Input(shape=(8,)),
            layers.Dense(16, activation="relu"),
            layers.Dropout(0.5),
            layers.Dense(8, activation="relu", name="features"),
            layers.Dense(1),
        ])
        model.layers[0].trainable = False
        for layer in model.layers:
            print(layer.name, layer.trainable)
        for i, layer in enumerate(model.layers[2:]):
            print(i, layer.name, layer.output.shape, len(layer.get_weights()))
        """
    )
    assert result.ok, messages(result)
    out = after_data(result)
    assert (
        'SimpleNamespace(name="dense", trainable=False),\n'
        '    SimpleNamespace(name="dropout", trainable=True),\n'
        '    SimpleNamespace(name="features", trainable=True),\n'
        '    SimpleNamespace(name="dense_1", trainable=True),\n'
    ) in out
    assert "    print(layer.name, layer.trainable)\n" in out  # the body as written
    assert 'SimpleNamespace(name="features", output_shape=(None, 8), module=model.features)' in out
    assert "print(i, layer.name, layer.output_shape, len(get_weights(layer.module)))" in out


def test_the_output_shape_of_a_layer_named_in_unrolled_loops_is_kerass():
    result = convert(
        """\
        inputs = keras.Input(shape=(16, 16, 3))
        h = inputs
        for stage, (filters, convs) in enumerate([(16, 2), (32, 2)]):
            for j in range(convs):
                h = layers.Conv2D(filters, 3, padding="same", activation="relu", name=f"s{stage}_c{j}")(h)
            h = layers.MaxPooling2D(name=f"s{stage}_pool")(h)
        model = keras.Model(inputs, layers.Dense(2)(layers.Flatten()(h)))
        print(model.get_layer("s1_c1").output.shape, model.get_layer("s1_pool").input.shape)
        """
    )
    assert result.ok, messages(result)
    assert "print((None, 8, 8, 32), (None, 8, 8, 32))" in after_data(result)


@pytest.mark.parametrize(
    ("between", "printed"),
    [
        ("", "print((None, frames.shape[1], frames.shape[2], 4), (None, frames.shape[2] * 4))"),
        # `frames` holds another array where the script reads the shape: the module's sizes are not its sizes there
        ("frames = frames[:, :3]", None),
    ],
)
def test_a_layers_shape_of_sizes_read_off_the_data_is_read_again_where_the_script_reads_it(between, printed):
    """crack-love's LSTMTimedistributed: `model.layers[0].output.shape` of a model sized by `X_train.shape[1:]`."""
    result = convert(
        f"""\
        frames = np.random.rand(16, 5, 6, 3)
        model = keras.Sequential()
        model.add(layers.TimeDistributed(layers.Dense(4), input_shape=frames.shape[1:]))
        model.add(layers.TimeDistributed(layers.Flatten()))
        model.add(layers.GlobalAveragePooling1D())
        {between}
        print(model.layers[0].output.shape, model.layers[-1].output.shape)
        """
    )
    if printed is None:
        assert "K2T140" in [d.code for d in result.diagnostics], messages(result)
        return
    assert result.ok, messages(result)
    assert printed in after_data(result)


def test_a_layer_object_read_after_training_reads_the_models_submodule():
    result = convert(
        """\
        hidden = layers.Dense(24, activation="relu")
        model = keras.Sequential()
        model.add(keras.Input(shape=(8,)))
        model.add(hidden)
        model.add(layers.Dense(1))
        model.compile(optimizer="sgd", loss="mse")
        model.fit(x, y, epochs=1, verbose=0)
        print(hidden.get_weights()[0].shape, hidden.count_params(), hidden.name)
        """
    )
    assert result.ok, messages(result)
    assert 'print(get_weights(model.dense)[0].shape, 216, "dense")' in after_data(result)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param(
            "def show():\n    print(model.layers[0].trainable)\n",
            "`model.layers[0].trainable`: k2t reads a layer's trainable flag where the script's order is known",
            id="flag_in_a_function",
        ),
        pytest.param(
            "first = model.layers[0]\nfirst.set_weights(w)\n",
            "`first` (the layer `model.layers[0]`) is used here in a way k2t does not translate",
            id="alias_used_otherwise",
        ),
        pytest.param(
            "print(model.layers[1].get_weights())\n",
            "model.layers[1].get_weights() of a LSTM layer is not translated",
            id="recurrent_weights",
        ),
        pytest.param(
            "print(model.layers[5].name)\n",
            "`model.layers[5]`: the model has 3 layers (Keras raises IndexError)",
            id="no_such_layer",
        ),
    ],
)
def test_layer_reads_k2t_cannot_make_exact_are_reported(body, message):
    result = convert(
        "model = keras.Sequential([keras.Input(shape=(4, 8)), layers.Dense(4), layers.LSTM(3), layers.Dense(1)])\n"
        + body
    )
    assert not result.ok
    assert any(message in m for m in messages(result)), messages(result)


def test_an_automatic_name_k2t_cannot_count_is_reported():
    # make() may run any number of times before the model is built: Keras's count of Dense layers is unknown.
    result = convert(
        """\
        def make():
            return keras.Sequential([keras.Input(shape=(8,)), layers.Dense(4)])
        first = make()
        model = keras.Sequential([keras.Input(shape=(8,)), layers.Dense(4), layers.Dense(1, name="out")])
        for layer in model.layers:
            print(layer.name)
        print(model.layers[1].name)
        """
    )
    assert messages(result) == [
        "11: K2T140 `layer.name` in this loop: k2t cannot tell the name Keras gives this layer: give it name=...",
    ]
    assert 'print("out")' in result.output


def test_a_sequential_models_input_and_output_are_what_keras_3_refuses():
    result = convert(
        """\
        model = keras.Sequential([keras.Input(shape=(8,)), layers.Dense(4, name="d"), layers.Dense(1)])
        features = keras.Model(model.input, model.get_layer("d").output)
        """
    )
    assert any("Keras 3's Sequential model has no `.input`" in m for m in messages(result)), messages(result)


# ------------------------------------------------------------------ a model of the trained layers
def test_a_feature_extractor_of_a_sequential_shares_its_trained_layers():
    result = convert(
        """\
        model = keras.Sequential([
            keras.Input(shape=(8,)),
            layers.Dense(16, activation="relu", name="d1"),
            layers.Dense(8, activation="relu", name="d2"),
            layers.Dense(1, name="out"),
        ])
        model.compile(optimizer="adam", loss="mse")
        model.fit(x, y, epochs=1, verbose=0)
        extractor = keras.Model(inputs=model.inputs, outputs=model.get_layer("d2").output)
        features = extractor.predict(x)
        head_input = keras.Input(shape=model.input_shape[1:])
        head = keras.Model(head_input, layers.Dense(2)(head_input))
        tail = keras.Model(model.inputs, layers.Dense(3)(model.layers[-2].output))
        """
    )
    assert result.ok, messages(result)
    out = after_data(result)
    assert "extractor = Extractor(d1=model.d1, d2=model.d2).to(device)" in out
    assert "features = predict(extractor, x)" in out
    assert "tail = Tail(d1=model.d1, d2=model.d2).to(device)" in out
    assert "self.dense = nn.Linear(8, 2)" in result.output  # head: Input(shape=model.input_shape[1:]) is (8,)
    assert "self.d1 = d1  # the layer of `model`, with its weights (Keras shares them)" in result.output


def test_a_feature_extractor_of_a_functional_model_takes_its_layers_up_to_the_output():
    result = convert(
        """\
        inputs = keras.Input(shape=(8,))
        h = layers.Dense(16, activation="relu", name="d1")(inputs)
        h = layers.Dense(8, activation="relu")(h)
        model = keras.Model(inputs, layers.Dense(1)(h))
        features = model.layers[2].output
        extractor = keras.Model(model.input, features)
        """
    )
    assert result.ok, messages(result)
    assert "extractor = Extractor(d1=model.d1, dense=model.dense).to(device)" in after_data(result)


# ------------------------------------------------------------------ a dict of Inputs
def test_a_dict_of_inputs_is_fed_by_key_in_kerass_sorted_order():
    result = convert(
        """\
        FEATURES = {"age": 1, "income": 1, "hist": 4}
        inputs = {name: keras.Input(shape=(dim,), name=name) for name, dim in FEATURES.items()}
        h = layers.concatenate(list(inputs.values()))
        h = layers.Dense(8, activation="relu")(h)
        h = layers.concatenate([h, inputs["age"]])
        model = keras.Model(inputs=inputs, outputs=layers.Dense(1, activation="sigmoid")(h))
        data = {name: np.random.rand(50, dim).astype("float32") for name, dim in FEATURES.items()}
        model.compile(optimizer="adam", loss="binary_crossentropy")
        model.fit(data, y[:1].repeat(50), epochs=1, verbose=0)
        """
    )
    assert result.ok, messages(result)
    assert 'input_names = ("age", "hist", "income")' in result.output  # Keras's model.inputs: sorted keys
    assert "def forward(self, age, hist, income):" in result.output
    assert "torch.cat([age, income, hist], dim=-1)" in result.output  # list(inputs.values()): the dict's order
    assert "fit(model, optimizer, data, " in result.output


def test_a_dict_key_that_is_not_its_inputs_name_is_reported():
    result = convert(
        """\
        inputs = {"age": keras.Input(shape=(1,), name="years"), "hist": keras.Input(shape=(4,), name="hist")}
        model = keras.Model(inputs, layers.Dense(1)(layers.concatenate(list(inputs.values()))))
        """
    )
    assert any("the Input under 'age' is named 'years': give it name='age'" in m for m in messages(result))


# ------------------------------------------------------------------ the same values as Keras, run
INTROSPECTION = """\
import numpy as np
import keras
from keras import layers

rng = np.random.RandomState(0)
x = rng.normal(size=(40, 6, 6, 2)).astype("float32")
y = rng.normal(size=(40,)).astype("float32")
inputs = keras.Input(shape=(6, 6, 2))
h = layers.Conv2D(4, 3, name="conv")(inputs)
h = layers.BatchNormalization()(h)
h = layers.Flatten()(h)
h = layers.Dropout(0.25)(h)
outputs = layers.Dense(1)(h)
model = keras.Model(inputs, outputs)
model.get_layer("conv").trainable = False
for layer in model.layers:
    print(layer.name, layer.trainable, layer.output.shape, [w.shape for w in layer.get_weights()])
print(model.layers[-1].units, model.layers[4].rate, model.layers[1].filters, model.layers[2].count_params())
bn = model.get_layer("batch_normalization")
print(bn.name, bn.input.shape, [w.shape for w in bn.get_weights()], model.layers[-1].input.shape)
"""


# Branches: get_layer finds a layer by name anywhere in the graph; `a + b` is Keras 3's op (keras.ops.add),
# which model.layers does not list but which takes a name of the Add layers' count, as `layers.add` takes one.
BRANCHES = """\
import keras
from keras import layers

inputs = keras.Input(shape=(8,), name="features")
h = layers.Dense(8, name="first")(inputs)
skip = h
h = layers.Dense(8)(h)
h = h + skip
h = layers.add([h, skip])
outputs = layers.Add()([h, inputs])
model = keras.Model(inputs, outputs)
print(len(model.layers), model.get_layer("add_2").name, model.get_layer("add_1").output.shape)
print(model.get_layer("dense").output.shape, model.get_layer("features").name, model.get_layer("first").units)
"""


@requires_torch
@requires_keras
@pytest.mark.parametrize("source", [INTROSPECTION, BRANCHES], ids=["chain", "branches"])
def test_layer_reads_print_what_keras_prints(source, tmp_path):
    result = k2t.convert_source(source, filename="introspect.py")
    assert result.ok, messages(result)
    (tmp_path / "introspect.py").write_text(source, encoding="utf-8")
    (tmp_path / "introspect_torch.py").write_text(result.output, encoding="utf-8")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    keras_run = subprocess.run(
        [sys.executable, "introspect.py"],
        check=False,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert keras_run.returncode == 0, keras_run.stderr[-2000:]
    torch_run = run_standalone(tmp_path / "introspect_torch.py")
    assert torch_run.returncode == 0, torch_run.stderr[-2000:]
    assert torch_run.stdout.splitlines() == keras_run.stdout.splitlines()
    assert len(keras_run.stdout.splitlines()) == source.count("print(") + 5 * (source is INTROSPECTION)  # the loop


# ------------------------------------------------------------ layers built frozen (trainable=False)
BUILT_FROZEN = """\
import numpy as np
import keras
from keras import layers

rng = np.random.RandomState(0)
ids = rng.randint(1, 40, size=(96, 6))
y = (ids.sum(1) > 120).astype("float32")
matrix = rng.normal(size=(40, 5))
model = keras.Sequential([keras.Input(shape=(6,)), EMBEDDING, layers.Flatten(), LAST])
model.compile(optimizer="adam", loss="binary_crossentropy")
model.fit(ids, y, epochs=1, verbose=0)
"""


def _built_frozen(embedding: str, last: str = 'layers.Dense(1, activation="sigmoid")'):
    return k2t.convert_source(BUILT_FROZEN.replace("EMBEDDING", embedding).replace("LAST", last), "train.py")


def test_a_pretrained_frozen_embedding_is_from_pretrained_and_keeps_no_sparse_rows():
    result = _built_frozen("layers.Embedding(40, 5, weights=[matrix], trainable=False)")
    assert result.ok, [d.format() for d in result.diagnostics]
    compact = "".join(result.output.split())  # black may wrap the constructor's arguments
    assert "nn.Embedding.from_pretrained(torch.as_tensor(matrix,dtype=torch.float32),freeze=True)" in compact
    assert "Net(matrix=matrix)" in result.output
    assert "sparse=True" not in result.output  # a frozen Embedding has no gradient for Adam's sparse rows


def test_a_layer_built_frozen_gets_requires_grad_false_in_the_constructor():
    result = _built_frozen("layers.Embedding(40, 5)", 'layers.Dense(1, activation="sigmoid", trainable=False)')
    assert result.ok, [d.format() for d in result.diagnostics]
    assert "self.dense.requires_grad_(False)  # Keras's trainable=False" in result.output
    assert "if loss.requires_grad:" in result.output  # every weight may be frozen: fit steps only when one trains


@pytest.mark.parametrize(
    ("embedding", "last", "message"),
    [
        ("layers.Embedding(40, 5, trainable=FLAG)", "layers.Dense(1)", "k2t needs True or False here"),
        ("layers.Embedding(40, 5, weights=[matrix, matrix])", "layers.Dense(1)", "takes one matrix"),
        (
            "layers.Embedding(40, 5)",
            "layers.BatchNormalization(trainable=False)",
            "BatchNormalization(trainable=False)",
        ),
    ],
    ids=["unknown_flag", "two_matrices", "batch_norm"],
)
def test_what_a_frozen_build_does_not_translate_is_reported(embedding, last, message):
    result = _built_frozen(embedding, last)
    assert not result.ok
    assert any(message in d.message for d in result.diagnostics), [d.format() for d in result.diagnostics]


def test_a_pretrained_matrix_bound_again_later_is_reported():
    source = (
        BUILT_FROZEN.replace("EMBEDDING", "layers.Embedding(40, 5, weights=[matrix])").replace(
            "LAST", "layers.Dense(1)"
        )
        + "matrix = None\n"
    )
    result = k2t.convert_source(source, "train.py")
    assert any("is bound again later" in d.message for d in result.diagnostics), [
        d.format() for d in result.diagnostics
    ]


@pytest.mark.parametrize(
    ("first", "expected"),
    [
        ("model.add(layers.Embedding(50, 6, input_length=12))", "nn.AvgPool1d(12)"),  # Keras 2's imdb_fasttext
        ("model.add(keras.Input(shape=(12,)))\nmodel.add(layers.Embedding(50, 6))", "nn.AvgPool1d(12)"),
        # a Lambda's shape is the one its function gives: every other step
        ("model.add(keras.Input(shape=(12, 6)))\nmodel.add(layers.Lambda(lambda t: t[:, ::2]))", "nn.AvgPool1d(6)"),
        # a layer whose output shape k2t does not compute: the pool size stays a located diagnostic
        ("model.add(keras.Input(shape=(12, 6)))\nmodel.add(layers.Lambda(lambda t: keras.ops.tile(t, (1, 2, 1))))", None),
    ],
)
def test_the_output_shape_of_the_layers_added_so_far_sizes_the_next_layer(first, expected):
    result = convert(
        f"""\
        model = keras.Sequential()
        {textwrap.indent(first, "        ").strip()}
        model.add(layers.AveragePooling1D(pool_size=model.output_shape[1]))
        model.add(layers.Flatten())
        model.add(layers.Dense(1))
        """
    )
    if expected is None:
        assert not result.ok and any("output_shape" in d.message for d in result.diagnostics), messages(result)
        return
    assert result.ok, messages(result)
    assert expected in result.output


def test_printing_a_model_is_a_warning_and_prints_the_torch_module():
    result = convert(
        """\
        model = keras.Sequential([keras.Input(shape=(8,)), layers.Dense(1, activation="sigmoid")])
        model.compile(optimizer="adam", loss="binary_crossentropy")
        model.fit(x, y, epochs=1, verbose=0)
        print(model)
        print("model:", model)
        print(str(model))
        """
    )
    warnings = [d.line for d in result.diagnostics if d.code == "K2T143" and d.severity.value == "warning"]
    first = HEADER.count("\n") + 4
    assert warnings == [first, first + 1], messages(result)
    kept = [line for line in after_data(result).splitlines() if not line.startswith("#")]
    assert kept[-3:] == ["print(model)", 'print("model:", model)', "print(str(model))"]
    # Anywhere else the model object is not translated: the located K2T140.
    assert any(d.code == "K2T140" and d.line == first + 2 for d in result.diagnostics), messages(result)
