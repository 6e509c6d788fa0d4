"""Values a model's code decides on, followed as Python evaluates them (issue 11's audit).

A helper tests a Keras tensor's static size (`if downsample or shortcut.shape[-1] != filters:`), an unrolled
loop picks a layer with a conditional expression, and a function building a model decides its layers on its
parameters: a flag (`if use_bn:`), a depth (`for _ in range(depth)`, in a closure too), a settings class given
as a default (`def build_model(cfg=CFG)`), a layer class (`def make_rnn(cell=layers.GRU)`). Each call's model
is the one Keras builds with that call's arguments: one generated class per different model, the function
picking it by the arguments that decide it. Where a value k2t needs is not known statically, a located K2T103
names it.
"""

from __future__ import annotations

import re
import textwrap

import pytest
from conftest import requires_keras, requires_torch
from undefined import assert_no_undefined_names

import k2t

HEAD = """\
import numpy as np
from tensorflow import keras
from tensorflow.keras import layers

rng = np.random.default_rng(0)
"""

RESNET = HEAD + textwrap.dedent(
    """\
    def residual_block(x, filters, downsample=False, kernel_size=3):
        strides = 2 if downsample else 1
        shortcut = x
        y = layers.Conv2D(filters, kernel_size, strides=strides, padding="same")(x)
        y = layers.BatchNormalization()(y)
        y = layers.ReLU()(y)
        y = layers.Conv2D(filters, kernel_size, padding="same")(y)
        y = layers.BatchNormalization()(y)
        if downsample or shortcut.shape[-1] != filters:
            shortcut = layers.Conv2D(filters, 1, strides=strides, padding="same")(shortcut)
        out = layers.Add()([shortcut, y])
        return layers.ReLU()(out)

    def build_resnet(input_shape=(16, 16, 3), num_classes=4):
        inputs = keras.Input(shape=input_shape)
        x = layers.Conv2D(8, 3, padding="same")(inputs)
        for stage, filters in enumerate([8, 16, 32]):
            for block in range(2):
                x = residual_block(x, filters, downsample=(block == 0 and stage > 0))
        x = layers.GlobalAveragePooling2D()(x)
        outputs = layers.Dense(num_classes, activation="softmax")(x)
        return keras.Model(inputs, outputs, name="small_resnet")

    model = build_resnet()
    X = rng.random((16, 16, 16, 3)).astype("float32")
    y = rng.integers(0, 4, 16)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(X, y, epochs=2, batch_size=8, verbose=0)
    """
)

FLAG_FACTORY = HEAD + textwrap.dedent(
    """\
    def build(use_bn, n_in=6):
        inputs = keras.Input(shape=(n_in,))
        x = layers.Dense(16)(inputs)
        if use_bn:
            x = layers.BatchNormalization()(x)
        x = layers.Activation("relu")(x)
        outputs = layers.Dense(1)(x)
        model = keras.Model(inputs, outputs)
        model.compile(optimizer="adam", loss="mse")
        return model

    X = rng.random((48, 6)).astype("float32")
    y = rng.random(48).astype("float32")
    for use_bn in (True, False):
        m = build(use_bn)
        m.fit(X, y, epochs=2, batch_size=12, verbose=0)
        print(use_bn, m.evaluate(X, y, verbose=0))
    """
)

RNN_CLASS_FACTORY = HEAD + textwrap.dedent(
    """\
    def make_rnn(cell=layers.GRU, units=16, bidirectional=False):
        inputs = keras.Input(shape=(12, 4))
        rnn = cell(units)
        x = layers.Bidirectional(rnn)(inputs) if bidirectional else rnn(inputs)
        outputs = layers.Dense(1)(x)
        model = keras.Model(inputs, outputs)
        model.compile(optimizer="adam", loss="mse")
        return model

    X = rng.random((48, 12, 4)).astype("float32")
    y = rng.random(48).astype("float32")
    for cell in (layers.LSTM, layers.GRU):
        model = make_rnn(cell, units=8)
        model.fit(X, y, epochs=2, batch_size=16, verbose=0)
        print(cell.__name__, model.evaluate(X, y, verbose=0))
    """
)


def convert(source: str):
    result = k2t.convert_source(source, "train.py")
    assert result.output is not None
    assert_no_undefined_names(result.output, source=source)
    return result


def converted(source: str) -> str:
    result = convert(source)
    assert result.ok, [d.format() for d in result.diagnostics]
    compile(result.output, "converted.py", "exec")
    return result.output


def run_converted(output: str) -> dict:
    """The converted script's namespace after it ran (it trains two epochs on small data)."""
    import torch

    torch.manual_seed(0)
    namespace: dict = {"__name__": "__main__"}
    exec(compile(output, "converted.py", "exec"), namespace)  # noqa: S102 - k2t's output of the test's script
    return namespace


def keras_model(source: str, name: str = "model"):
    """The Keras model ``name`` holds once the script ran, without its fits."""
    namespace: dict = {"__name__": "__main__"}
    without_fit = re.sub(r"^( *)(\w+)\.fit\(.*$", r"\1pass", source, flags=re.MULTILINE)
    exec(compile(without_fit, "keras_script.py", "exec"), namespace)  # noqa: S102 - the test's own script
    return namespace[name]


# Keras layer class -> the class of its torch module in the output, for the layers with weights here.
KINDS = {"Dense": "Linear", "Conv2D": "Conv2d", "BatchNormalization": "BatchNorm"}


def keras_weighted(model) -> list[tuple[str, int]]:
    """(torch kind, trainable parameter count) of each layer with weights, sorted."""
    return sorted(
        (KINDS[type(layer).__name__], sum(int(w.shape.num_elements()) for w in layer.trainable_weights))
        for layer in model.layers
        if layer.trainable_weights
    )


def torch_weighted(module) -> list[tuple[str, int]]:
    return sorted(
        (type(m).__name__, sum(p.numel() for p in m.parameters(recurse=False)))
        for m in module.modules()
        if any(True for _ in m.parameters(recurse=False))
    )


# ------------------------------------------------------------ a Keras tensor's static size
@requires_torch
@requires_keras
@pytest.mark.parametrize("size", ["shortcut.shape[-1]", "K.int_shape(shortcut)[-1]"])
def test_a_helper_deciding_a_projection_shortcut_on_a_tensors_size_builds_kerass_resnet(size):
    """keras.io-style ResNet: the first block of the first stage keeps the identity shortcut (8 channels in, 8
    out), every downsampling block projects; each call of the helper decides it with its own tensor."""
    source = RESNET.replace("shortcut.shape[-1]", size).replace(
        "from tensorflow.keras import layers\n",
        "from tensorflow.keras import layers\nfrom tensorflow.keras import backend as K\n",
    )
    output = converted(source)
    assert "def residual_block" not in output and "!= filters" not in output and "tensorflow" not in output
    assert torch_weighted(run_converted(output)["model"]) == keras_weighted(keras_model(source))


def test_a_tensors_size_decides_only_where_k2t_knows_it():
    """A Lambda's output has no size k2t knows: the `if` on it stays a located K2T103 on the tensor."""
    source = RESNET.replace(
        'x = layers.Conv2D(8, 3, padding="same")(inputs)', "x = layers.Lambda(lambda t: t * 2)(inputs)"
    )
    result = convert(source)
    assert not result.ok
    assert any(d.code == "K2T103" and "shortcut" in d.message for d in result.diagnostics), [
        d.format() for d in result.diagnostics
    ]


@requires_torch
@requires_keras
def test_a_size_read_from_a_tensors_shape_into_a_variable_is_its_value():
    source = HEAD + textwrap.dedent(
        """\
        inputs = keras.Input(shape=(10, 3))
        h = layers.Conv1D(6, 3, padding="same")(inputs)
        h = layers.Dense(h.shape[-1] * 2, activation="relu")(h)
        h = layers.GlobalAveragePooling1D()(h)
        model = keras.Model(inputs, layers.Dense(1)(h))
        model.compile(optimizer="adam", loss="mse")
        model.fit(rng.random((8, 10, 3)), rng.random(8), epochs=1, verbose=0)
        """
    )
    output = converted(source)
    assert "nn.Linear(6, 12)" in output


# ------------------------------------------------------------ a conditional expression in an unrolled loop
@requires_torch
@requires_keras
def test_a_conditional_layer_in_an_unrolled_loop_is_the_one_its_iteration_picks():
    source = HEAD + textwrap.dedent(
        """\
        FILTERS = [16, 32, 64]
        model = keras.Sequential()
        for i, f in enumerate(FILTERS):
            if i == 0:
                model.add(layers.Conv2D(f, 3, activation="relu", input_shape=(24, 24, 3)))
            else:
                model.add(layers.Conv2D(f, 3, activation="relu"))
            model.add(layers.MaxPooling2D(2) if i < len(FILTERS) - 1 else layers.GlobalAveragePooling2D())
        model.add(layers.Dense(4, activation="softmax"))
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        model.fit(rng.random((8, 24, 24, 3)), rng.integers(0, 4, 8), epochs=1, verbose=0)
        """
    )
    result = convert(source)
    assert result.diagnostics == (), [d.format() for d in result.diagnostics]  # no K2T107: the loop decides it
    output = result.output
    assert output.count("nn.MaxPool2d(2)") == 2 and output.count("GlobalAveragePooling()") == 1
    assert torch_weighted(run_converted(output)["model"]) == keras_weighted(keras_model(source))


def test_a_conditional_layer_on_a_value_known_only_at_run_time_is_reported():
    source = HEAD + textwrap.dedent(
        """\
        import os
        model = keras.Sequential([keras.Input(shape=(8,))])
        model.add(layers.Dropout(0.5) if os.environ.get("DROP") else layers.Dense(8))
        model.add(layers.Dense(1))
        model.compile(optimizer="adam", loss="mse")
        model.fit(rng.random((8, 8)), rng.random(8), epochs=1, verbose=0)
        """
    )
    result = convert(source)
    messages = [d.message for d in result.diagnostics if d.code == "K2T103"]
    assert any('depends on `os.environ.get("DROP")`' in m for m in messages), messages


# ------------------------------------------------------------ factories deciding on their parameters
@requires_torch
@requires_keras
def test_a_factory_flag_builds_one_class_per_model_and_the_function_picks_it():
    output = converted(FLAG_FACTORY)
    assert (
        "    if use_bn:\n        model = Build(n_in=n_in).to(device)\n    else:\n        model = Build2(n_in=n_in).to(device)\n"
        in output
    )
    namespace = run_converted(output)
    with_bn, without = namespace["build"](True), namespace["build"](False)
    assert torch_weighted(with_bn) == keras_weighted(
        keras_model(FLAG_FACTORY.split("X = ")[0] + "model = build(True)\n")
    )
    assert torch_weighted(without) == keras_weighted(
        keras_model(FLAG_FACTORY.split("X = ")[0] + "model = build(False)\n")
    )
    assert "BatchNorm" in [type(m).__name__ for m in with_bn.modules()]
    assert "BatchNorm" not in [type(m).__name__ for m in without.modules()]


def test_a_factory_called_with_one_value_keeps_one_class_and_no_dispatch():
    source = FLAG_FACTORY.replace("for use_bn in (True, False):", "for use_bn in (True,):")
    output = converted(source)
    assert "    model = Build(n_in=n_in).to(device)\n" in output and "Build2" not in output and "raise" not in output


def test_factory_models_told_apart_by_a_number_raise_for_a_value_no_call_passes():
    source = HEAD + textwrap.dedent(
        """\
        def build_model(depth, units=8):
            model = keras.Sequential([keras.Input(shape=(4,))])
            for _ in range(depth):
                model.add(layers.Dense(units, activation="relu"))
            model.add(layers.Dense(1))
            model.compile(optimizer="adam", loss="mse")
            return model

        X, y = rng.random((16, 4)), rng.random(16)
        shallow = build_model(1)
        deep = build_model(3, units=16)
        shallow.fit(X, y, epochs=1, verbose=0)
        deep.fit(X, y, epochs=1, verbose=0)
        """
    )
    output = converted(source)
    assert "    if depth == 1:\n" in output and "    elif depth == 3:\n" in output
    assert "raise ValueError(" in output and "depth=1 or depth=3" in output
    assert "units=units" in output  # a size the calls pass stays the function's parameter


def test_a_flag_known_only_at_run_time_is_a_located_diagnostic_naming_it():
    source = HEAD + textwrap.dedent(
        """\
        import os

        def build(use_bn):
            inputs = keras.Input(shape=(6,))
            x = layers.Dense(16)(inputs)
            if use_bn:
                x = layers.BatchNormalization()(x)
            model = keras.Model(inputs, layers.Dense(1)(x))
            model.compile(optimizer="adam", loss="mse")
            return model

        m = build(os.environ.get("USE_BN") == "1")
        m.fit(rng.random((8, 6)), rng.random(8), epochs=1, verbose=0)
        """
    )
    result = convert(source)
    located = [(d.line, d.message) for d in result.diagnostics if d.code == "K2T103"]
    assert any(line == 12 and "inside an `if` on `use_bn`" in message for line, message in located), located


def test_models_of_a_loop_that_train_differently_are_reported_not_translated_for_one():
    """Each iteration's model compiles otherwise (`if use_bn:` around compile): the one `m.fit(...)` line of the
    loop cannot call both trainings, so it is a K2T103 rather than the first model's training for both."""
    source = FLAG_FACTORY.replace(
        '    model.compile(optimizer="adam", loss="mse")\n',
        '    if use_bn:\n        model.compile(optimizer="adam", loss="mse")\n'
        '    else:\n        model.compile(optimizer="sgd", loss="mae", metrics=["mse"])\n',
    )
    assert source != FLAG_FACTORY
    result = convert(source)
    located = [(d.code, d.line) for d in result.diagnostics]
    fit_line = source.splitlines().index("    m.fit(X, y, epochs=2, batch_size=12, verbose=0)") + 1
    assert ("K2T103", fit_line) in located, [d.format() for d in result.diagnostics]
    # Each compile is its call's: the function keeps its `if`, each branch the optimizer of its models.
    assert "if use_bn:\n        model.optimizer = KerasAdam(" in result.output
    assert "else:\n        model.optimizer = torch.optim.SGD(" in result.output


@requires_torch
@requires_keras
def test_a_closure_block_in_a_loop_over_a_depth_the_call_gives():
    source = HEAD + textwrap.dedent(
        """\
        def build_model(n_features, units=32, depth=2, rate=0.1):
            def block(x):
                x = layers.Dense(units, activation="relu")(x)
                return layers.Dropout(rate)(x)
            inputs = keras.Input(shape=(n_features,))
            x = inputs
            for _ in range(depth):
                x = block(x)
            outputs = layers.Dense(1)(x)
            return keras.Model(inputs, outputs)

        X = rng.random((64, 7)).astype("float32")
        y = rng.random(64).astype("float32")
        model = build_model(X.shape[1], units=16, depth=3)
        model.compile(optimizer="adam", loss="mse")
        model.fit(X, y, epochs=1, batch_size=16, verbose=0)
        """
    )
    output = converted(source)
    assert torch_weighted(run_converted(output)["model"]) == keras_weighted(keras_model(source))
    assert len([m for m in keras_model(source).layers if type(m).__name__ == "Dense"]) == 4


@requires_torch
@requires_keras
def test_a_settings_class_given_as_a_default_parameter_is_read():
    source = HEAD + textwrap.dedent(
        """\
        class CFG:
            seq_len = 20
            n_feat = 3
            units = [32, 16]
            dropout = 0.2
            lr = 1e-3

        def build_model(cfg=CFG):
            inp = keras.Input(shape=(cfg.seq_len, cfg.n_feat))
            x = inp
            for i, u in enumerate(cfg.units):
                x = layers.LSTM(u, return_sequences=i < len(cfg.units) - 1)(x)
                x = layers.Dropout(cfg.dropout)(x)
            model = keras.Model(inp, layers.Dense(1)(x))
            model.compile(optimizer=keras.optimizers.Adam(cfg.lr), loss="mse")
            return model

        X = rng.random((16, CFG.seq_len, CFG.n_feat)).astype("float32")
        model = build_model()
        model.fit(X, rng.random(16), epochs=1, verbose=0)
        """
    )
    output = converted(source)
    assert "KerasLSTM(inp_dim_1, 32, return_sequences=True)" in output and "KerasLSTM(32, 16)" in output
    assert "model = Net(inp_dim_1=cfg.n_feat)" in output
    run_converted(output)


@requires_torch
@requires_keras
def test_a_layer_class_passed_to_a_factory_builds_that_layer_and_keeps_its_name(capsys):
    output = converted(RNN_CLASS_FACTORY)
    assert "def make_rnn(cell=nn.GRU, units=16, bidirectional=False):" in output
    assert "for cell in (nn.LSTM, nn.GRU):" in output
    assert "    if cell is nn.LSTM:\n" in output and "    elif cell is nn.GRU:\n" in output
    namespace = run_converted(output)
    printed = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert printed == ["LSTM", "GRU"]  # cell.__name__, as Keras's classes print it
    lstm, gru = (
        namespace["make_rnn"](namespace["nn"].LSTM, units=8),
        namespace["make_rnn"](namespace["nn"].GRU, units=8),
    )
    assert [type(m).__name__ for m in lstm.children()] == ["KerasLSTM", "Linear"]
    assert [type(m).__name__ for m in gru.children()] == ["KerasGRU", "Linear"]


def test_a_layer_class_without_a_torch_namesake_is_reported_where_it_is_passed():
    source = HEAD + textwrap.dedent(
        """\
        def make(block=layers.Dense):
            inputs = keras.Input(shape=(4,))
            model = keras.Model(inputs, block(1)(inputs))
            model.compile(optimizer="adam", loss="mse")
            return model

        for block in (layers.Dense,):
            model = make(block)
            model.fit(rng.random((8, 4)), rng.random(8), epochs=1, verbose=0)
        """
    )
    result = convert(source)
    found = [(d.code, d.line) for d in result.diagnostics]
    assert found == [("K2T100", 6), ("K2T100", 12)], [d.format() for d in result.diagnostics]


@pytest.mark.parametrize("iterable", ["hidden", "[int(n) for n in hidden]"])
def test_a_loop_over_sizes_known_only_at_run_time_stays_reported(iterable):
    source = HEAD + textwrap.dedent(
        f"""\
        X = np.load("features.npy")
        hidden = [X.shape[1] * 4, X.shape[1] * 2]
        inputs = keras.Input(shape=(10,))
        x = inputs
        for units in {iterable}:
            x = layers.Dense(units, activation="relu")(x)
        model = keras.Model(inputs, layers.Dense(1)(x))
        model.compile(optimizer="adam", loss="mse")
        """
    )
    result = convert(source)
    assert [(d.code, d.line) for d in result.diagnostics] == [("K2T103", 11)], [d.format() for d in result.diagnostics]
    assert "(`X.shape` is read when the script runs)" in result.diagnostics[0].message


# ------------------------------------------------------------ layers unpacked into a Sequential's list
@requires_torch
@requires_keras
def test_layers_bound_together_and_a_starred_list_in_a_sequential():
    source = HEAD + textwrap.dedent(
        """\
        conv1, conv2 = layers.Conv1D(8, 3, activation="relu"), layers.Conv1D(8, 3, activation="relu")
        base_layers = [conv1, layers.MaxPooling1D(2), conv2]
        model = keras.Sequential([keras.Input(shape=(30, 2)), *base_layers, layers.GlobalMaxPooling1D(), layers.Dense(1)])
        model.compile(optimizer="adam", loss="mse")
        model.fit(rng.random((8, 30, 2)), rng.random(8), epochs=1, verbose=0)
        """
    )
    output = converted(source)
    assert "conv1, conv2" not in output and "base_layers" not in output
    model = run_converted(output)["model"]
    assert [type(m).__name__ for m in model.children()] == [
        "Conv1d",
        "MaxPool1d",
        "Conv1d",
        "GlobalMaxPooling",
        "Linear",
    ]


def test_a_layer_bound_with_another_and_used_outside_the_model_keeps_its_line():
    source = HEAD + textwrap.dedent(
        """\
        norm, dense = layers.Normalization(), layers.Dense(1)
        X = rng.random((16, 3)).astype("float32")
        norm.adapt(X)
        model = keras.Sequential([keras.Input(shape=(3,)), norm, dense])
        model.compile(optimizer="adam", loss="mse")
        model.fit(X, rng.random(16), epochs=1, verbose=0)
        """
    )
    output = converted(source)
    assert "\nnorm = Normalization()\nX = " in output and "\ndense = " not in output


def test_a_call_k2t_does_not_follow_of_a_factory_deciding_on_its_arguments_is_reported():
    """`others = [build(False)]`: k2t walks the calls it follows (`build(True)`); the function it writes builds their
    model, so a call it did not walk would silently get that one."""
    source = FLAG_FACTORY.split("X = ")[0] + textwrap.dedent(
        """\
        X, y = rng.random((16, 6)), rng.random(16)
        m = build(True)
        m.fit(X, y, epochs=1, verbose=0)
        others = [build(False)]
        """
    )
    result = convert(source)
    located = [(d.code, d.line) for d in result.diagnostics]
    assert located == [("K2T103", source.count("\n"))], [d.format() for d in result.diagnostics]
    assert "depends on its arguments (`use_bn`)" in result.diagnostics[0].message


# keras.io's timeseries_classification_transformer: a factory given its input shape from the data and its depth as a
# keyword, a loop over that depth calling a helper whose last Conv1D takes its input's size (`inputs.shape[-1]`).
TRANSFORMER = HEAD + textwrap.dedent(
    """\
    def transformer_encoder(inputs, head_size, num_heads, ff_dim, dropout=0):
        x = layers.MultiHeadAttention(key_dim=head_size, num_heads=num_heads, dropout=dropout)(inputs, inputs)
        x = layers.Dropout(dropout)(x)
        x = layers.LayerNormalization(epsilon=1e-6)(x)
        res = x + inputs
        x = layers.Conv1D(filters=ff_dim, kernel_size=1, activation="relu")(res)
        x = layers.Dropout(dropout)(x)
        x = layers.Conv1D(filters=inputs.shape[-1], kernel_size=1)(x)
        x = layers.LayerNormalization(epsilon=1e-6)(x)
        return x + res


    def build_model(
        input_shape, head_size, num_heads, ff_dim, num_transformer_blocks, mlp_units, dropout=0, mlp_dropout=0
    ):
        inputs = keras.Input(shape=input_shape)
        x = inputs
        for _ in range(num_transformer_blocks):
            x = transformer_encoder(x, head_size, num_heads, ff_dim, dropout)
        x = layers.GlobalAveragePooling1D(data_format="channels_last")(x)
        for dim in mlp_units:
            x = layers.Dense(dim, activation="relu")(x)
            x = layers.Dropout(mlp_dropout)(x)
        outputs = layers.Dense(n_classes, activation="softmax")(x)
        return keras.Model(inputs, outputs)


    x_train = rng.normal(size=(48, 12)).astype("float32")
    x_train = x_train.reshape((x_train.shape[0], x_train.shape[1], 1))
    y_train = (x_train[:, :6, 0].sum(axis=1) > 0).astype("int32")
    n_classes = len(np.unique(y_train))
    input_shape = x_train.shape[1:]
    model = build_model(
        input_shape,
        head_size=8,
        num_heads=2,
        ff_dim=4,
        num_transformer_blocks=3,
        mlp_units=[16],
        mlp_dropout=0.4,
        dropout=0.25,
    )
    model.compile(
        loss="sparse_categorical_crossentropy",
        optimizer=keras.optimizers.Adam(learning_rate=1e-3),
        metrics=["sparse_categorical_accuracy"],
    )
    model.fit(x_train, y_train, validation_split=0.25, epochs=2, batch_size=16, verbose=0)
    """
)


def test_a_factory_loop_over_a_depth_its_call_gives_unrolls_helper_blocks_sized_by_the_data():
    """Each of the 3 calls of transformer_encoder() is a block; its last Conv1D takes `inputs.shape[-1]`, the
    data's feature count, which the module receives where build_model() builds it (`input_shape[1]`)."""
    output = converted(TRANSFORMER)
    assert output.count("TransformerEncoder(inputs_dim_1=inputs_dim_1)") == 3
    assert "nn.Conv1d(4, inputs_dim_1, 1)" in output
    assert "return Net(inputs_dim_1=input_shape[1], n_classes=n_classes).to(device)" in output
    assert_no_undefined_names(output)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        # a size computed from the data's: k2t knows only the code that reads it, not a number to compute with
        ("filters=inputs.shape[-1]", "filters=inputs.shape[-1] * 2"),
        # a decision on it: never taken on a guess
        ("x = layers.Conv1D(filters=inputs.shape[-1], kernel_size=1)(x)", "x = layers.Conv1D(filters=inputs.shape[-1] if inputs.shape[-1] > 1 else 2, kernel_size=1)(x)"),
    ],
)
def test_what_k2t_cannot_compute_with_a_size_read_at_run_time_is_reported(change, words):
    result = convert(TRANSFORMER.replace(change, words))
    line = next(number for number, text in enumerate(TRANSFORMER.splitlines(), 1) if "filters=inputs.shape[-1]" in text)
    assert ("K2T103", line) in [(d.code, d.line) for d in result.diagnostics], [d.format() for d in result.diagnostics]


# yukitaka's ai_book3 ResNet: a function making a layer (`conv(filters, 3)`, a Conv2D with an l2 regularizer) and
# closures making blocks (`residual_unit(filters)(x)`), applied in loops over known sizes.
MAKERS_RESNET = """\
import numpy as np
from tensorflow.keras.layers import Activation, Add, BatchNormalization, Conv2D, Dense, GlobalAveragePooling2D, Input
from tensorflow.keras.models import Model
from tensorflow.keras.optimizers import SGD
from tensorflow.keras.regularizers import l2

rng = np.random.RandomState(0)
x_train = rng.normal(size=(32, 8, 8, 3)).astype("float32")
y_train = np.eye(10)[rng.randint(0, 10, size=32)].astype("float32")


def conv(filters, kernel_size, strides=1):
    return Conv2D(filters, kernel_size, strides=strides, padding='same', use_bias=False, kernel_initializer='he_normal', kernel_regularizer=l2(0.0001))


def first_residual_unit(filters, strides):
    def f(x):
        x = BatchNormalization()(x)
        b = Activation('relu')(x)
        x = conv(filters // 4, 1, strides)(b)
        x = BatchNormalization()(x)
        x = Activation('relu')(x)
        x = conv(filters // 4, 3)(x)
        x = BatchNormalization()(x)
        x = Activation('relu')(x)
        x = conv(filters, 1)(x)
        sc = conv(filters, 1, strides)(b)
        return Add()([x, sc])
    return f


def residual_unit(filters):
    def f(x):
        sc = x
        x = BatchNormalization()(x)
        x = Activation('relu')(x)
        x = conv(filters // 4, 1)(x)
        x = BatchNormalization()(x)
        x = Activation('relu')(x)
        x = conv(filters // 4, 3)(x)
        x = BatchNormalization()(x)
        x = Activation('relu')(x)
        x = conv(filters, 1)(x)
        return Add()([x, sc])
    return f


def residual_block(filters, strides, unit_size):
    def f(x):
        x = first_residual_unit(filters, strides)(x)
        for i in range(unit_size-1):
            x = residual_unit(filters)(x)
        return x
    return f


input = Input(shape=(8, 8, 3))
x = conv(16, 3)(input)
x = residual_block(16, 1, 2)(x)
x = residual_block(32, 2, 2)(x)
x = BatchNormalization()(x)
x = Activation('relu')(x)
x = GlobalAveragePooling2D()(x)
output = Dense(10, activation='softmax', kernel_regularizer=l2(0.0001))(x)
model = Model(inputs=input, outputs=output)
model.compile(loss='categorical_crossentropy', optimizer=SGD(momentum=0.9), metrics=['acc'])
model.fit(x_train, y_train, batch_size=16, epochs=2, verbose=0)
"""


def test_functions_making_layers_and_closures_making_blocks_build_kerass_resnet():
    output = converted(MAKERS_RESNET)
    assert "def conv(" not in output and "def residual_unit(" not in output  # applied where called, then gone
    assert output.count("ResidualUnit(") == 3  # the class and its two uses (one unit after each first unit)
    assert output.count("+ 0.0001 * self.") == 15  # every conv's l2 and the Dense's: 16 terms
    assert_no_undefined_names(output)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        # a size k2t does not know: the layer conv() makes is sized by it where the model is built
        ("x = conv(16, 3)(input)", "x = conv(int(np.load('n.npy')), 3)(input)"),
        # a layer it makes held in a variable (not followed yet): the function stays, its body reported as written
        ("input = Input(shape=(8, 8, 3))", "stem = conv(16, 3)\nprint(stem.filters)\ninput = Input(shape=(8, 8, 3))"),
        # used otherwise than called: the function stays, its body reported as written
        ("input = Input(shape=(8, 8, 3))", "make = conv\ninput = Input(shape=(8, 8, 3))"),
    ],
)
def test_a_maker_k2t_cannot_follow_is_reported(change, message):
    result = convert(MAKERS_RESNET.replace(change, message))
    assert not result.ok and any(d.code in ("K2T100", "K2T103") for d in result.diagnostics)


def test_a_maker_call_k2t_reports_keeps_the_maker_as_written_under_that_one_report():
    """The model built with conv() converts; another model's conv(n, 3) of a size read at run time is reported once,
    and conv() stays for that line (its Conv2D is no separate "not translated")."""
    source = MAKERS_RESNET + textwrap.dedent(
        """\
        n = int(np.load("n.npy"))
        head = Input(shape=(8, 8, 3))
        other = Model(head, GlobalAveragePooling2D()(conv(n, 3)(head)))
        """
    )
    result = convert(source)
    line = source.splitlines().index("other = Model(head, GlobalAveragePooling2D()(conv(n, 3)(head)))") + 1
    assert [(d.code, d.line) for d in result.diagnostics] == [("K2T103", line)], [d.format() for d in result.diagnostics]
    assert "passed to conv(), is not a value k2t knows" in result.diagnostics[0].message
    assert "def conv(" in result.output and "class Net(nn.Module)" in result.output
