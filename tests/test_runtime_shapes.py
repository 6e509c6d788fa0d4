"""Input shapes read off the data (``input_shape=x_train.shape[1:]``) and None dimensions
(``Input(shape=(None, 4))``): translated where k2t can prove what the torch module needs, a
located K2T103 naming the variable where it cannot, never a guess."""

import textwrap

import libcst as cst
import pytest
from conftest import requires_torch, run_standalone
from undefined import assert_no_undefined_names
from unwrapped import unwrapped

import k2t
from k2t.values import Env, Unknown, array_rank, bind_target, evaluate, shape_slice

HEAD = """\
import numpy as np
import keras
from keras import layers

x = np.load("x.npy")
y = np.load("y.npy")
"""
TAIL = """\
model.compile(optimizer="adam", loss="mse")
model.fit(x, y, epochs=1)
"""


def convert(body: str):
    source = HEAD + textwrap.dedent(body) + TAIL
    result = k2t.convert_source(source, "train.py")
    assert result.output is not None
    assert_no_undefined_names(result.output, source=source)
    return result


def k2t103(result) -> list[str]:
    return [d.message for d in result.diagnostics if d.code == "K2T103"]


# ---------------------------------------------------------------- what the script fixes about an array
def bound(source: str) -> Env:
    env = Env()
    for statement in cst.parse_module(textwrap.dedent(source)).body:
        small = statement.body[0]
        bind_target(env, small.targets[0].target, evaluate(small.value, env))
    return env


@pytest.mark.parametrize(
    ("source", "expression", "rank"),
    [
        ("x = load()\nx = x.reshape(-1, 28, 28, 1)", "x", 4),
        ("x = load()\nx = x.reshape((60000, 784))", "x", 2),
        ("x = load()\nx = np.reshape(x, (-1, 28, 28))", "x", 3),
        ("SHAPE = (28, 28, 1)\nx = load()\nx = x.reshape(len(x), *SHAPE)", "x", None),  # starred: not counted
        ("SHAPE = (-1, 28, 28, 1)\nx = load()\nx = x.reshape(SHAPE)", "x", 4),
        ("x = load()\nx = x.reshape(-1, 28, 28).astype('float32') / 255.0", "x", 3),
        ("x = load()\nx = np.expand_dims(x.reshape(-1, 28, 28), -1)", "x", 4),
        ("x = load()\nx = x.reshape(-1, 28, 28)[..., np.newaxis]", "x", 4),
        ("x = load()\nx = x.reshape(-1, 28, 28)[:, :, 0]", "x", 2),
        ("x = load()\nx = x.reshape(-1, 8) - x.mean()", "x", None),  # x.mean() may be an array of any rank
        ("x = load()", "x", None),
        ("x = load()\nx = x.reshape(-1, 8)\nx = load()", "x", None),  # rebound: the rank is forgotten
        # made with sizes the script writes, then sliced (crack-love's LSTMTimedistributed)
        ("data = np.random.random((2500, 100, 32, 32, 3))\nx = data[0:2000, :]", "x", 5),
        # standardized by statistics over the samples (keras.io's imbalanced_classification)
        ("x = load()\nx = x.reshape(-1, 8)\nm = np.mean(x, axis=0)\nx = x - m", "x", 2),
        ("x = load()\nx = x.reshape(-1, 4, 2)", "x.std(axis=(1, 2))", 1),
        ("x = load()\nx = x.reshape(-1, 4, 2)", "np.sum(x, axis=1, keepdims=True)", 3),
        ("x = load()\nx = x.reshape(-1, 4, 2)", "x.sum()", 0),
        ("x = load()", "np.mean(x, axis=0)", None),
        # shuffled by an index array (keras.io's timeseries examples)
        ("x = load()\nx = x.reshape(-1, 8, 1)\nidx = np.random.permutation(len(x))\nx = x[idx]", "x", 3),
        ("x = load()\nx = x.reshape(-1, 8, 1)\nidx = load()\nx = x[idx]", "x", None),  # indices of unknown rank
    ],
)
def test_the_rank_an_array_gets_where_the_script_reshapes_it(source, expression, rank):
    assert array_rank(cst.parse_expression(expression), bound(source)) == rank


@pytest.mark.parametrize(
    ("source", "expression", "dims"),
    [
        ("n = load()\nx = load()\nx = x.reshape(-1, n, n, 1)", "x.shape[1:]", ["x.shape[1]", "x.shape[2]", "x.shape[3]"]),
        ("x = load()\nx = x.reshape(len(x), -1)\ninput_shape = x.shape[1:]", "input_shape", ["x.shape[1]"]),
        ("x = load()", "x.shape[-2:]", ["x.shape[-2]", "x.shape[-1]"]),  # two, whatever x's rank
        ("n = load()\nx = load()\ny = x.reshape(-1, n, 2)", "(y / 2).shape[1:]", ["(y / 2).shape[1]", "(y / 2).shape[2]"]),
    ],
)
def test_a_shape_slice_knows_its_array(source, expression, dims):
    value = evaluate(cst.parse_expression(expression), bound(source))
    assert value.shape is not None
    assert value.shape.dims(value.shape.length) == dims


@pytest.mark.parametrize(
    ("source", "expression", "value"),
    [
        # A reshape that writes a row's sizes fixes them, whatever the data was.
        ("x = load()\nx = x.reshape(-1, 28, 28, 1)", "x.shape[1:]", (28, 28, 1)),
        ("x = load()\nx = x.reshape(len(x), 8)\ninput_shape = x.shape[1:]", "input_shape", (8,)),
        ("x = load()\ny = x.reshape(-1, 4, 2)", "(y / 2).shape[1:]", (4, 2)),
        ("x = load()\ny = np.reshape(x, (x.shape[0], 4, 2)).astype('float32')", "y.shape[2]", 2),
        # Then what the script does to the rows: a -1 filled from their size, a new axis, rows chosen.
        ("x = load()\nx = x.reshape(-1, 4, 2)\ny = x.reshape(x.shape[0], -1)", "y.shape[1:]", (8,)),
        ("x = load()\nx = x.reshape(-1, 4, 2)\ny = x[..., np.newaxis] * 2", "y.shape[1:]", (4, 2, 1)),
        ("x = load()\nx = x.reshape(-1, 4, 2)\ny = np.expand_dims(x, -1)[:100]", "y.shape[1:]", (4, 2, 1)),
        ("x = load()\nx = x.reshape(-1, 4, 2)\ny = np.expand_dims(x, axis=1)", "y.shape[1:]", (1, 4, 2)),
        ("x = load()\nx = x.reshape(-1, 4, 2)\ny = x[:, :, :, None]", "y.shape[-1]", 1),
    ],
)
def test_a_reshape_that_writes_a_rows_sizes_fixes_them(source, expression, value):
    assert evaluate(cst.parse_expression(expression), bound(source)) == value


@pytest.mark.parametrize(
    ("source", "expression"),
    [
        ("x = load()\nx = x.reshape(-1, 4, 2)", "x.shape[0]"),  # the number of rows: not known
        ("x = load()\nx = x.reshape(-1, 4, 2)\ny = x[0]", "y.shape[0]"),  # a row: not followed
        ("x = load()\nx = x.reshape(-1, 4, 2)\ny = x.reshape(len(x), -1, 3)", "y.shape[1]"),  # 8 is no multiple of 3
        ("n = load()\nx = load()\nx = x.reshape(-1, 4, 2)\ny = x.reshape(-1, n)", "y.shape[1]"),  # a size not known
        ("x = load()\nx = x.reshape(-1, 4, 2)\ny = x + load()", "y.shape[1]"),  # broadcast with unknown
        ("x = load()\nx = x.reshape(-1, 4, 2)\ny = np.expand_dims(x, 0)", "y.shape[1]"),  # new rows axis
    ],
)
def test_what_a_rows_sizes_do_not_fix_stays_unknown(source, expression):
    assert isinstance(evaluate(cst.parse_expression(expression), bound(source)), Unknown)


def test_a_shape_slice_of_an_array_of_unknown_rank_has_no_length():
    value = evaluate(cst.parse_expression("x.shape[1:]"), bound("x = load()"))
    assert value.shape.length is None and value.shape.array == "x"
    assert shape_slice(cst.parse_expression("x.shape[1:3]"), bound("x = load()")) is None  # an upper bound: not followed


# ---------------------------------------------------------------- shapes read off the data
@pytest.mark.parametrize(
    ("body", "construction"),
    [
        pytest.param(
            """\
            model = keras.Sequential([
                layers.Conv2D(8, 3, activation="relu", input_shape=x.shape[1:]),
                layers.Flatten(),
                layers.Dense(1),
            ])
            """,
            "model = Net(input_dim_0=x.shape[1], input_dim_1=x.shape[2], input_dim_2=x.shape[3])",
            id="conv2d_input_shape_from_the_layer",
        ),
        pytest.param(
            """\
            inputs = keras.Input(shape=x.shape[1:])
            h = layers.LSTM(8)(inputs)
            model = keras.Model(inputs, layers.Dense(1)(h))
            """,
            "model = Net(inputs_dim_1=x.shape[2])",  # the number of steps is no parameter: LSTM never needs it
            id="lstm_functional_input",
        ),
        pytest.param(
            """\
            x = x.reshape(len(x), -1) / 2.0
            input_shape = x.shape[1:]
            model = keras.Sequential()
            model.add(keras.Input(shape=input_shape))
            model.add(layers.Dense(8))
            model.add(layers.Dense(1))
            """,
            "model = Net(in_features=x.shape[1])",
            id="dense_rank_fixed_by_a_reshape",
        ),
        pytest.param(
            """\
            x_train, x_test = np.expand_dims(x, -1), x
            x_train = x_train.reshape(len(x), 10, 2)
            model = keras.Sequential([keras.Input(shape=x_train.shape[1:]), layers.Flatten(), layers.Dense(1)])
            """,
            "model = Net(input_dim_0=x_train.shape[1], input_dim_1=x_train.shape[2])",
            id="flatten_rank_fixed_by_a_reshape",
        ),
        pytest.param(
            """\
            inputs = keras.Input(shape=x.shape[1:])
            h = layers.Embedding(100, 8)(inputs)
            h = layers.Dropout(0.1)(h)
            h = layers.Conv1D(4, 3)(h)
            outputs = layers.Dense(1)(layers.GlobalMaxPooling1D()(h))
            model = keras.Model(inputs, outputs)
            """,
            "model = Net()",  # one axis (Conv1D needs two after Embedding's); no size the module needs
            id="embedding_then_conv1d",
        ),
        pytest.param(
            """\
            model = keras.Sequential([layers.Dense(8, input_dim=x.shape[1]), layers.Dense(1)])
            """,
            "model = Net(in_features=x.shape[1])",
            id="input_dim",
        ),
    ],
)
def test_input_shapes_read_off_the_data_become_constructor_parameters(body, construction):
    result = convert(body)
    assert not k2t103(result), result.diagnostics
    assert unwrapped(construction) in unwrapped(result.output)


def test_dense_on_a_shape_of_unknown_rank_is_reported_naming_the_array():
    result = convert("""\
        input_shape = x.shape[1:]
        model = keras.Sequential([layers.Dense(8, input_shape=input_shape), layers.Dense(1)])
        """)
    (message,) = k2t103(result)
    assert message.startswith("input shape `input_shape` (`x.shape[1:]`): k2t cannot tell how many axes `x` has")
    assert "class Net" not in result.output


def test_a_shape_with_other_sizes_than_the_first_layer_needs_is_reported():
    result = convert("""\
        x = x.reshape(len(x), -1)
        model = keras.Sequential([keras.Input(shape=x.shape[1:]), layers.Conv2D(4, 3), layers.Flatten(), layers.Dense(1)])
        """)
    (message,) = k2t103(result)
    assert "has 1 size where the first layer, Conv2D, needs 3" in message


# ---------------------------------------------------------------- None sizes
@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(
            """\
            inputs = keras.Input(shape=(None,))
            h = layers.Embedding(50, 8)(inputs)
            outputs = layers.Dense(1)(layers.LSTM(6)(h))
            model = keras.Model(inputs, outputs)
            """,
            ["self.embedding = nn.Embedding(50, 8, sparse=True)", "self.lstm = KerasLSTM(8, 6)", "model = Net()"],
            id="embedding_lstm_any_length",
        ),
        pytest.param(
            """\
            model = keras.Sequential([
                keras.Input(shape=(None, 4)),
                layers.Conv1D(6, 3, strides=2, padding="same", activation="relu"),
                layers.MaxPooling1D(padding="same"),
                layers.GlobalMaxPooling1D(),
                layers.Dense(1),
            ])
            """,
            # The strided "same" padding reads the length off the tensor.
            ["self.conv1d = nn.Conv1d(4, 6, 3, stride=2)", "*same_padding(x.shape[2], 3, 2)", "self.dense = nn.Linear(6, 1)"],
            id="conv1d_any_length",
        ),
        pytest.param(
            """\
            model = keras.Sequential([
                layers.Bidirectional(layers.GRU(3, return_sequences=True), input_shape=(None, 4)),
                layers.TimeDistributed(layers.Dense(2)),
                layers.LayerNormalization(),
                layers.GlobalAveragePooling1D(),
                layers.Dense(1),
            ])
            """,
            ["KerasGRU(4, 3, return_sequences=True, bidirectional=True)", "nn.LayerNorm(2, eps=0.001)", "nn.Linear(2, 1)"],
            id="bidirectional_any_length",
        ),
        pytest.param(
            """\
            model = keras.Sequential([
                keras.Input(shape=(None, None, 3)),
                layers.Conv2D(8, 3, activation="relu"),
                layers.MaxPooling2D(),
                layers.Conv2D(8, 3, strides=2, padding="same"),
                layers.GlobalAveragePooling2D(),
                layers.Dense(1),
            ])
            """,
            ["self.conv2d = nn.Conv2d(3, 8, 3)", "*same_padding(x.shape[3], 3, 2), *same_padding(x.shape[2], 3, 2)", "nn.Linear(8, 1)"],
            id="fully_convolutional",
        ),
    ],
)
def test_none_sizes_reach_layers_that_never_need_them(body, expected):
    result = convert(body)
    assert not k2t103(result), result.diagnostics
    for line in expected:
        assert line in result.output


@pytest.mark.parametrize(
    ("layers_code", "message"),
    [
        pytest.param(
            "layers.Flatten(), layers.Dense(1)",
            "Dense needs the size of its input's last axis, which is None in (None, None): a None size of the input shape reaches it",
            id="flatten_then_dense",
        ),
        pytest.param(
            "layers.Reshape((-1,)), layers.Dense(1)",
            "Reshape needs the size of every axis of its input, and axis 1 of (None, None, 4) is None",
            id="reshape",
        ),
        pytest.param(
            "layers.LayerNormalization(axis=[1, 2]), layers.Dense(1)",
            "LayerNormalization needs the size of the axes it normalises, [1, 2], and the input shape leaves one None",
            id="layer_normalization_over_steps",
        ),
        pytest.param(
            "layers.Conv1D(4, 3, input_shape=(None, None))",
            "Conv1D needs the size of its input's last axis, which is None in (None, None, None)",
            id="conv_channels",
        ),
    ],
)
def test_a_layer_that_needs_a_none_size_is_reported(layers_code, message):
    shape = "" if "input_shape" in layers_code else "keras.Input(shape=(None, 4)), "
    result = convert(f"model = keras.Sequential([{shape}{layers_code}])\n")
    messages = k2t103(result)
    assert len(messages) == 1 and messages[0].startswith(message), result.diagnostics
    assert "class Net" not in result.output


@requires_torch
def test_summary_shows_none_where_the_input_leaves_sizes_open(tmp_path):
    source = textwrap.dedent("""\
        import keras
        from keras import layers

        inputs = keras.Input(shape=(None,))
        h = layers.Embedding(50, 8)(inputs)
        h = layers.Conv1D(4, 3)(h)
        outputs = layers.Dense(1)(layers.GlobalMaxPooling1D()(h))
        model = keras.Model(inputs, outputs)
        model.summary()
        """)
    result = k2t.convert_source(source, "train.py")
    assert "self.input_shapes = [(None,)]  # for summary()" in result.output
    script = tmp_path / "train.py"
    script.write_text(result.output)
    ran = run_standalone(script)
    assert ran.returncode == 0, ran.stderr
    rows = {line.split()[0]: line for line in ran.stdout.splitlines() if line.startswith(("embedding", "conv1d", "global", "dense"))}
    assert "(None, None, 8)" in rows["embedding"]
    assert "(None, None, 4)" in rows["conv1d"]
    assert "(None, 4)" in rows["global_max_pooling1d"]
    assert "(None, 1)" in rows["dense"]


def test_k2t_weights_reads_constructor_arguments_past_none_sizes():
    """The plan's shapes hold None where the input leaves a size open: no constructor argument is read there,
    and the random inputs `k2t weights` predicts on get a length along it."""
    from types import SimpleNamespace

    from k2t.parity.instrument import convert as plan_of
    from k2t.trained import OPEN_SIZE, constructor_arguments, random_inputs
    from k2t.translate.dims import Size

    source = HEAD + textwrap.dedent("""\
        inputs = keras.Input(shape=(None, N_FEATURES))
        model = keras.Model(inputs, layers.Dense(1)(layers.LSTM(3)(inputs)))
        """) + TAIL
    module = plan_of(source.replace("y = np.load", "N_FEATURES = x.shape[-1]\ny = np.load"), "train.py").plan.modules[0]
    assert module.input_shapes == [[None, Size("n_features")]]
    tensor = SimpleNamespace(shape=(None, None, 5), name="inputs")
    kmodel = SimpleNamespace(inputs=[tensor], input_shape=tensor.shape, layers=[])
    assert constructor_arguments(kmodel, module, [], {}) == {"n_features": 5}
    (array,) = random_inputs(kmodel, rows=2, seed=0)
    assert array.shape == (2, OPEN_SIZE, 5)


@pytest.mark.parametrize(
    ("dataset", "dims"),
    [("mnist", 2), ("fashion_mnist", 2), ("cifar10", 3), ("cifar100", 3), ("boston_housing", 1)],
)
def test_keras_datasets_fix_the_sizes_of_their_rows(dataset, dims):
    # The classic examples: `Flatten(input_shape=x_train.shape[1:])` right after load_data().
    source = textwrap.dedent(
        f"""\
        import keras
        from keras import layers

        (x_train, y_train), (x_test, y_test) = keras.datasets.{dataset}.load_data()
        x_train = x_train.astype("float32") / 255
        model = keras.Sequential([layers.Flatten(input_shape=x_train.shape[1:]), layers.Dense(1)])
        model.compile(optimizer="adam", loss="mse")
        model.fit(x_train, y_train, epochs=1)
        """
    )
    result = k2t.convert_source(source, "train.py")
    assert result.ok, [d.format() for d in result.diagnostics]
    # The files fix a row's sizes too: the module is built on them, with no sizes read when the script runs.
    assert unwrapped("model = Net()") in unwrapped(result.output)
    assert f"self.dense = nn.Linear({ROW_SIZES[dataset]}, 1)" in result.output


ROW_SIZES = {"mnist": 784, "fashion_mnist": 784, "cifar10": 3072, "cifar100": 3072, "boston_housing": 13}


FIT_SIZED = """\
import numpy as np
import keras
from keras import layers

x = np.load("x.npy")
y = np.load("y.npy")


def build_model():
    model = keras.Sequential([layers.Dense(16, activation="relu"), layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    return model


"""


def test_a_model_sized_by_its_fit_reads_that_array_where_it_is_built():
    source = FIT_SIZED + "m = build_model()\nm.fit(x, y, epochs=1)\n"
    result = k2t.convert_source(source, "train.py")
    assert not k2t103(result)
    assert "(in_features=x.shape[-1])" in result.output


@pytest.mark.parametrize(
    "tail, named",
    [
        # One construction, two sizes: the first fit's array would size both models.
        ("m1 = build_model()\nm1.fit(x, y)\nm2 = build_model()\nm2.fit(x[:, :3], y)\n", "`x`, `x[:, :3]`"),
        # The array is a local of another function: the factory cannot read it.
        ("def run(xs, ys):\n    m = build_model()\n    m.fit(xs, ys)\n\n\nrun(x, y)\n", "`xs`"),
    ],
    ids=["different arrays", "local array"],
)
def test_a_model_sized_by_fits_it_cannot_read_at_its_construction_is_a_k2t103(tail, named):
    result = k2t.convert_source(FIT_SIZED + tail, "train.py")
    [message] = k2t103(result)
    assert "Keras sizes it from the data of its first fit" in message and named in message


def test_a_module_level_model_fitted_on_data_bound_after_it_is_a_k2t103():
    source = HEAD.replace('x = np.load("x.npy")\n', "") + (
        "model = keras.Sequential([layers.Dense(4), layers.Dense(1)])\n"
        'x = np.load("x.npy")\n'
    ) + TAIL
    result = k2t.convert_source(source, "train.py")
    [message] = k2t103(result)
    assert "`x` is not bound where the model is built" in message


def test_one_rows_shape_is_the_arrays_shape_after_its_first_axis():
    """A time-series tutorial's `LSTM(128, input_shape=x_train[0].shape)` after reshaping x_train to 3 axes."""
    source = (
        "import numpy as np\nimport keras\nfrom keras.layers import LSTM, Dense\n"
        "x_train = np.random.rand(40, 5)\ny_train = np.random.rand(40)\n"
        "x_train = x_train.reshape(x_train.shape[0], 1, x_train.shape[1])\n"
        "model = keras.Sequential()\nmodel.add(LSTM(8, activation='relu', input_shape=x_train[0].shape))\n"
        "model.add(Dense(1))\nmodel.compile(loss='mse', optimizer='adam')\nmodel.fit(x_train, y_train, epochs=1)\n"
    )
    result = k2t.convert_source(source, "series.py")
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    assert "model = Net(input_dim_1=x_train.shape[2]).to(device)" in result.output


ROWS = """\
all_features = []
all_targets = []
with open("creditcard.csv") as f:
    for i, line in enumerate(f):
        if i == 0:
            continue
        fields = line.strip().split(",")
        all_features.append({row})
        all_targets.append([int(fields[-1])])
features = np.array(all_features, dtype="float32")
targets = np.array(all_targets, dtype="uint8")
features -= np.mean(features, axis=0)
model = keras.Sequential([keras.Input(shape=features.shape[1:]), layers.Dense(4), layers.Dense(1)])
model.compile(optimizer="adam", loss="mse")
model.fit(features, targets, epochs=1)
"""


@pytest.mark.parametrize(
    ("row", "translated"),
    [
        # keras.io's imbalanced_classification: rows of numbers
        ("[float(v) for v in fields[:-1]]", "Net(in_features=features.shape[1])"),
        ("[float(fields[0]), float(fields[1])]", "Net(in_features=features.shape[1])"),
        ("fields[:-1]", None),  # a list of what k2t cannot tell: its array's axes are not known
        # rows of one-element lists: a 3-D array, whose last axis Dense takes
        ("[[float(v)] for v in fields[:-1]]", "Net(input_dim_1=features.shape[2])"),
    ],
)
def test_an_array_of_rows_appended_in_a_loop_has_one_axis_more_than_a_row(row, translated):
    source = HEAD + ROWS.format(row=row)
    result = k2t.convert_source(source, "train.py")
    assert_no_undefined_names(result.output, source=source)
    if translated:
        assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
        assert f"model = {translated}.to(device)" in result.output
    else:
        assert "cannot tell how many axes `features` has" in " ".join(k2t103(result))


def test_rows_of_different_ranks_leave_the_array_unknown():
    source = HEAD + ROWS.format(row="[float(v) for v in fields]").replace(
        "        all_targets.append", "        all_features.append(1.0)\n        all_targets.append"
    )
    result = k2t.convert_source(source, "train.py")
    assert "cannot tell how many axes `features` has" in " ".join(k2t103(result))
