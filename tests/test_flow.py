"""Values through variables, loops and branches: a model built in a loop or under an `if` is either
translated layer for layer (and proven against Keras) or reported, never silently different."""

import ast
import textwrap

import pytest
from conftest import requires_keras, requires_torch
from undefined import assert_no_undefined_names

import k2t

HEAD = """\
import numpy as np
import keras
from keras import layers
from keras import backend as K

rng = np.random.RandomState(0)
x = rng.normal(size=(96, 8)).astype("float32")
y = (x.sum(axis=1) > 0).astype("float32")
keras.utils.set_random_seed(0)
"""
TAIL = """\
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
history = model.fit(x, y, batch_size=16, epochs=3, verbose=0)
"""


def script(body: str) -> str:
    return HEAD + textwrap.dedent(body) + TAIL


def convert(source: str):
    result = k2t.convert_source(source, "train.py")
    assert result.output is not None
    assert_no_undefined_names(result.output, source=source)
    return result


def linears(output: str) -> list[str]:
    return built(output, "nn.Linear")


def built(output: str, torch_class: str) -> list[str]:
    """The arguments of every ``torch_class`` the output's models build, in order: a block class a model
    uses (``self.block = DenseBlock(units=64)``) counted at each use, with that use's arguments."""
    tree = ast.parse(output)
    classes = {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}
    used = set()
    for cls in classes.values():
        for call in ast.walk(cls):
            if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id in classes:
                used.add(call.func.id)
    found: list[str] = []

    def expand(cls: ast.ClassDef, values: dict[str, str]) -> None:
        init = next((f for f in cls.body if isinstance(f, ast.FunctionDef) and f.name == "__init__"), None)
        for statement in init.body if init is not None else []:
            if not (isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Call)):
                continue
            call, func = statement.value, ast.unparse(statement.value.func)
            if func == torch_class:
                args = [ast.unparse(a) for a in call.args] + [f"{k.arg}={ast.unparse(k.value)}" for k in call.keywords]
                found.append(", ".join(values.get(a, a) for a in args))
            elif func in classes:
                expand(classes[func], {k.arg: values.get(ast.unparse(k.value), ast.unparse(k.value)) for k in call.keywords})

    for name, cls in classes.items():
        if name not in used and any(ast.unparse(b) == "nn.Module" for b in cls.bases):
            expand(cls, {})
    return found


# Each builds Dense(64) -> Dense(32) -> Dense(1) on 8 features, the way real scripts spell it.
UNROLLED = {
    "add_in_a_loop": """\
        model = keras.Sequential([keras.Input(shape=(8,))])
        for n in (64, 32):
            model.add(layers.Dense(n, activation="relu"))
        model.add(layers.Dense(1, activation="sigmoid"))
        """,
    "add_in_a_loop_over_a_variable": """\
        HIDDEN = [64, 32]
        model = keras.Sequential()
        model.add(keras.Input(shape=(8,)))
        for units in HIDDEN:
            model.add(layers.Dense(units, activation="relu"))
        model.add(layers.Dense(1, activation="sigmoid"))
        """,
    "range_and_arithmetic": """\
        width = 64
        model = keras.Sequential([keras.Input(shape=(8,))])
        for i in range(2):
            model.add(layers.Dense(width // 2 ** i, activation="relu", name=f"hidden_{i}"))
        model.add(layers.Dense(1, activation="sigmoid"))
        """,
    "comprehension": """\
        model = keras.Sequential(
            [keras.Input(shape=(8,))] + [layers.Dense(n, activation="relu") for n in (64, 32)] + [layers.Dense(1, activation="sigmoid")]
        )
        """,
    "functional_loop": """\
        inputs = keras.Input(shape=(8,))
        h = inputs
        for n in (64, 32):
            h = layers.Dense(n, activation="relu")(h)
        outputs = layers.Dense(1, activation="sigmoid")(h)
        model = keras.Model(inputs, outputs)
        """,
    "zip_enumerate": """\
        model = keras.Sequential([keras.Input(shape=(8,))])
        for i, (n, act) in enumerate(zip((64, 32), ("relu", "tanh"))):
            model.add(layers.Dense(n, activation=act, name=f"block{i}"))
        model.add(layers.Dense(1, activation="sigmoid"))
        """,
}


@pytest.mark.parametrize("name", UNROLLED)
def test_loops_over_known_values_are_unrolled(name):
    result = convert(script(UNROLLED[name]))
    assert result.ok, [d.format() for d in result.diagnostics]
    assert linears(result.output) == ["8, 64", "64, 32", "32, 1"]
    assert "for " not in result.output.split("model = ")[-1]  # the loop was folded into the module


@requires_torch
@requires_keras
@pytest.mark.parity
@pytest.mark.parametrize("name", ["add_in_a_loop", "functional_loop", "zip_enumerate"])
def test_unrolled_loops_match_keras(name, tmp_path):
    from parity_cases import assert_parity

    assert_parity(script(UNROLLED[name]), tmp_path)


CHANNELS_BRANCH = """\
    img_rows, img_cols = 6, 6
    if K.image_data_format() == "channels_first":
        x = x.reshape(len(x), 1, img_rows, img_cols // 3 * 2)[:, :, :, :4]
        input_shape = (1, img_rows, 4)
    else:
        x = x.reshape(len(x), img_rows, 4, 1) if False else x[:, :8].reshape(len(x), 2, 4, 1)
        input_shape = (2, 4, 1)
    kernel_size = (2, 2)
    model = keras.Sequential([
        layers.Conv2D(4, kernel_size, activation="relu", input_shape=input_shape),
        layers.Flatten(),
        layers.Dense(1, activation="sigmoid"),
    ])
    """


def test_image_data_format_branch_keeps_the_channels_last_branch():
    result = convert(script(CHANNELS_BRANCH))
    assert result.ok, [d.format() for d in result.diagnostics]
    assert "channels_first" not in result.output
    assert "input_shape = (2, 4, 1)" in result.output
    assert "nn.Conv2d(1, 4, (2, 2))" in result.output or "nn.Conv2d(1, 4, 2)" in result.output


def test_keras_1_dim_ordering_branch_keeps_the_tf_branch():
    """Keras 1's K.image_dim_ordering() == "th" (Keras 2 kept it: "tf" is channels_last), and its setter to "tf"."""
    body = CHANNELS_BRANCH.replace('K.image_data_format() == "channels_first"', 'K.image_dim_ordering() == "th"')
    result = convert(script('    K.set_image_dim_ordering("tf")\n' + body))
    assert result.ok, [d.format() for d in result.diagnostics]
    assert "image_dim_ordering" not in result.output and "input_shape = (2, 4, 1)" in result.output
    assert [d.code for d in result.diagnostics] == ["K2T105"]  # the setter left out, as Keras's default
    reordered = convert(script('    K.set_image_dim_ordering("th")\n' + body))
    assert "K2T100" in [d.code for d in reordered.diagnostics]  # channels-first stays reported


@requires_torch
@requires_keras
@pytest.mark.parity
def test_image_data_format_branch_matches_keras(tmp_path):
    from parity_cases import assert_parity

    assert_parity(script(CHANNELS_BRANCH), tmp_path)


# Each extends a model under control flow k2t cannot resolve: a diagnostic, never a different model.
REPORTED = {
    "loop_over_data": (
        """\
        sizes = list(np.random.choice([16, 32], size=2))
        model = keras.Sequential([keras.Input(shape=(8,))])
        for n in sizes:
            model.add(layers.Dense(n, activation="relu"))
        model.add(layers.Dense(1, activation="sigmoid"))
        """,
        "`model.add(...)` inside a loop over `sizes`",
    ),
    "while_loop": (
        """\
        model = keras.Sequential([keras.Input(shape=(8,))])
        n = 64
        while n > 16:
            model.add(layers.Dense(n, activation="relu"))
            n //= 2
        model.add(layers.Dense(1, activation="sigmoid"))
        """,
        "`model.add(...)` inside a `while` loop",
    ),
    "undecided_branch": (
        """\
        import sys
        model = keras.Sequential([keras.Input(shape=(8,)), layers.Dense(16, activation="relu")])
        if "--dropout" in sys.argv:
            model.add(layers.Dropout(0.5))
        model.add(layers.Dense(1, activation="sigmoid"))
        """,
        "`model.add(...)` inside an `if` on `\"--dropout\" in sys.argv`",
    ),
    "functional_loop_over_data": (
        """\
        depth = int(np.random.randint(1, 3))
        inputs = keras.Input(shape=(8,))
        h = inputs
        for _ in range(depth):
            h = layers.Dense(16, activation="relu")(h)
        model = keras.Model(inputs, layers.Dense(1, activation="sigmoid")(h))
        """,
        "inside a loop over `range(depth)`",
    ),
}


REPORTED["break_in_a_known_loop"] = (
    """\
    model = keras.Sequential([keras.Input(shape=(8,))])
    for n in (64, 32, 16):
        if n < 20:
            break
        model.add(layers.Dense(n, activation="relu"))
    model.add(layers.Dense(1, activation="sigmoid"))
    """,
    "`model.add(...)` inside a loop over `(64, 32, 16)`",
)


# A list, dict or settings class changed in place after k2t read it: what it held is not what the loop reads.
# These built a module short of layers, with no diagnostic, before k2t forgot a value the script changes in place.
CHANGED_IN_PLACE = {
    "appended": ("sizes = [64]\nsizes.append(32)", "sizes"),
    "appended_in_a_loop": ("sizes = []\nfor i in range(2):\n    sizes.append(64 // (i + 1))", "sizes"),
    "extended_through_an_alias": ("sizes = [64]\nalias = sizes\nalias.extend([32])", "sizes"),
    "item_set": ("cfg = {'sizes': [64]}\ncfg['sizes'] = [64, 32]", "cfg['sizes']"),
    "nested_list_changed": ("cfg = {'sizes': [64]}\ncfg['sizes'].append(32)", "cfg['sizes']"),
    "class_attribute_set": ("class CFG:\n    sizes = [64]\nCFG.sizes = [64, 32]", "CFG.sizes"),
}
for _name, (_setup, _sizes) in CHANGED_IN_PLACE.items():
    REPORTED[f"changed_in_place_{_name}"] = (
        _setup
        + f"""
model = keras.Sequential([keras.Input(shape=(8,))])
for n in {_sizes}:
    model.add(layers.Dense(n, activation="relu"))
model.add(layers.Dense(1, activation="sigmoid"))
""",
        f"`model.add(...)` inside a loop over `{_sizes}`",
    )


@pytest.mark.parametrize("name", REPORTED)
def test_control_flow_k2t_cannot_resolve_is_reported(name):
    body, message = REPORTED[name]
    result = convert(script(body))
    assert not result.ok
    messages = [d.message for d in result.diagnostics if d.code == "K2T103"]
    assert any(message in m for m in messages), messages
    # Never a module short of the layers the loop or branch adds.
    assert "class Net" not in result.output


def test_a_model_built_afresh_in_each_iteration_converts_in_place():
    # k-fold style: the loop builds, compiles and trains its own model each time.
    source = HEAD + textwrap.dedent(
        """\
        for units in (4, 8):
            model = keras.Sequential([keras.Input(shape=(8,)), layers.Dense(units, activation="relu"), layers.Dense(1, activation="sigmoid")])
            model.compile(optimizer="adam", loss="binary_crossentropy")
            model.fit(x, y, epochs=1, verbose=0)
        """
    )
    result = convert(source)
    assert result.ok, [d.format() for d in result.diagnostics]
    assert "for units in (4, 8):\n    model = Net(units=units)" in result.output


def test_known_sizes_in_variables_are_followed():
    source = script(
        """\
        kernel_size = 3
        pool = (2,)
        rate = 0.25
        x = x.reshape(len(x), 8, 1)
        model = keras.Sequential([
            keras.Input(shape=(8, 1)),
            layers.Conv1D(4, kernel_size),
            layers.MaxPooling1D(pool_size=pool),
            layers.Dropout(rate),
            layers.Flatten(),
            layers.Dense(1, activation="sigmoid"),
        ])
        """
    )
    result = convert(source)
    assert result.ok, [d.format() for d in result.diagnostics]
    assert "nn.Conv1d(1, 4, 3)" in result.output


RESIDUAL = {
    "augmented": """\
        inputs = keras.Input(shape=(8,))
        h = layers.Dense(8, activation="relu")(inputs)
        residual = h
        h = layers.Dense(8, activation="relu")(h)
        h += residual
        model = keras.Model(inputs, layers.Dense(1, activation="sigmoid")(h))
        """,
    "operators": """\
        inputs = keras.Input(shape=(8,))
        a = layers.Dense(8, activation="relu")(inputs)
        b = layers.Dense(8, activation="tanh")(inputs)
        h = a * b - a + inputs
        model = keras.Model(inputs, layers.Dense(1, activation="sigmoid")(h))
        """,
}


@pytest.mark.parametrize("name", RESIDUAL)
def test_python_operators_on_keras_tensors_are_merges(name):
    result = convert(script(RESIDUAL[name]))
    assert result.ok, [d.format() for d in result.diagnostics]
    assert "residual" not in result.output.split("class Net")[0]


@requires_torch
@requires_keras
@pytest.mark.parity
@pytest.mark.parametrize("name", RESIDUAL)
def test_python_operators_on_keras_tensors_match_keras(name, tmp_path):
    from parity_cases import assert_parity

    assert_parity(script(RESIDUAL[name]), tmp_path)


def test_a_keras_tensor_used_in_code_k2t_leaves_alone_is_reported():
    # Keras 3 applies `h << 2` to a Keras tensor; k2t does not translate it: never a model without it.
    result = convert(
        script(
            """\
            inputs = keras.Input(shape=(8,))
            h = layers.Dense(8)(inputs)
            h = h << 2
            model = keras.Model(inputs, layers.Dense(1, activation="sigmoid")(h))
            """
        )
    )
    assert not result.ok
    assert any(d.code == "K2T103" and "h << 2" in d.message for d in result.diagnostics)
    assert "class Net" not in result.output


def test_arithmetic_with_a_number_on_a_keras_tensor_is_an_op_of_forward():
    # Keras 3 applies `h / 2` to a Keras tensor as an op of the graph: a line of forward.
    result = convert(
        script(
            """\
            inputs = keras.Input(shape=(8,))
            h = layers.Dense(8)(inputs)
            h = h / 2
            model = keras.Model(inputs, layers.Dense(1, activation="sigmoid")(h))
            """
        )
    )
    assert result.ok, [d.format() for d in result.diagnostics]
    assert "h = h / 2" in result.output


def test_a_layer_class_held_in_a_variable_and_six_moves_range():
    # The classic addition_rnn.py: `RNN = recurrent.LSTM`, `from six.moves import range`, a loop of RNN layers.
    source = HEAD.replace("import keras\n", "import keras\nfrom six.moves import range\n") + textwrap.dedent(
        """\
        x = x.reshape(96, 4, 2)
        RNN = layers.LSTM
        LAYERS = 2
        model = keras.Sequential()
        model.add(RNN(6, input_shape=(4, 2), return_sequences=True))
        for _ in range(LAYERS):
            model.add(RNN(6, return_sequences=True))
        model.add(layers.GlobalAveragePooling1D())
        model.add(layers.Dense(1, activation="sigmoid"))
        """
    ) + TAIL
    result = convert(source)
    assert result.ok, [d.format() for d in result.diagnostics]
    assert result.output.count("KerasLSTM(") == 3 + result.output.count("class KerasLSTM(")
    assert "RNN = " not in result.output


@requires_torch
def test_keras2_predict_classes_and_predict_proba(tmp_path):
    # Keras 2's Sequential.predict_classes: argmax for several units, (p > 0.5) as int32 for one;
    # predict_proba is predict without a progress bar.
    from conftest import run_standalone

    source = HEAD + textwrap.dedent(
        """\
        model = keras.Sequential([keras.Input(shape=(8,)), layers.Dense(3, activation="softmax")])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        model.fit(x, (x[:, 0] > 0).astype("int64"), epochs=1, verbose=0)
        binary = keras.Sequential([keras.Input(shape=(8,)), layers.Dense(1, activation="sigmoid")])
        binary.compile(optimizer="adam", loss="binary_crossentropy")
        binary.fit(x, y, epochs=1, verbose=0)
        proba = model.predict_proba(x, batch_size=7)
        classes = model.predict_classes(x)
        assert (classes == proba.argmax(axis=-1)).all() and proba.shape == (96, 3)
        one = binary.predict_classes(x, verbose=0)
        assert one.dtype == np.int32 and one.shape == (96, 1)
        assert (one == (binary.predict_proba(x) > 0.5)).all()
        print("checked")
        """
    )
    result = convert(source)
    assert result.ok, [d.format() for d in result.diagnostics]
    script_path = tmp_path / "converted.py"
    script_path.write_text(result.output)
    proc = run_standalone(script_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().endswith("checked")


def test_keras1_nb_epoch_is_epochs():
    result = convert(HEAD + textwrap.dedent(
        """\
        model = keras.Sequential([keras.Input(shape=(8,)), layers.Dense(1, activation="sigmoid")])
        model.compile(optimizer="adam", loss="binary_crossentropy")
        model.fit(x, y, nb_epoch=3, batch_size=16, verbose=0)
        """
    ))
    assert result.ok, [d.format() for d in result.diagnostics]
    assert "fit(model, optimizer, x, y, epochs=3, batch_size=16, verbose=0)" in result.output


@requires_torch
@requires_keras
@pytest.mark.parity
def test_recurrent_units_held_in_a_variable_match_keras(tmp_path):
    # LSTM(HIDDEN): a constructor parameter, which reset_parameters() (not __init__) must not name.
    from parity_cases import assert_parity

    source = script(
        """\
        HIDDEN = 6
        x = x.reshape(96, 4, 2)
        model = keras.Sequential([keras.Input(shape=(4, 2)), layers.LSTM(HIDDEN), layers.Dense(1, activation="sigmoid")])
        """
    )
    result = convert(source)
    assert "Net(hidden=HIDDEN)" in result.output
    assert_parity(source, tmp_path)


def test_a_layer_call_no_model_uses_is_dropped_with_a_warning():
    """A real script (two outputs) applies a Dense to the model's tensors and never uses the result: the
    line would read tensors that exist only inside the module, so it goes, with a warning (exit 0)."""
    source = script(
        """\
        inputs = keras.Input(shape=(8,))
        h = layers.Dense(16, activation="relu")(inputs)
        unused = layers.Dense(50)(h)
        model = keras.Model(inputs, layers.Dense(1, activation="sigmoid")(h))
        """
    )
    result = convert(source)  # no undefined name in the output
    assert result.ok
    assert [d.code for d in result.diagnostics] == ["K2T104"]
    assert "unused" not in result.output and linears(result.output) == ["8, 16", "16, 1"]


def test_a_layer_call_bound_again_before_any_read_is_dropped_with_a_warning():
    """A real autoencoder script writes `decoded = Dense(64)(encoded)` three times, each on `encoded`: Keras
    builds the model from the last and computes nothing with the first two. Checked by name, `decoded` is read
    (by keras.Model), and the whole model stopped at K2T100s blaming keras.Input."""
    source = script(
        """\
        inputs = keras.Input(shape=(8,))
        encoded = layers.Dense(4, activation="relu")(inputs)
        decoded = layers.Dense(6, activation="relu")(encoded)
        decoded = layers.Dense(7, activation="relu")(encoded)
        decoded = layers.Dense(1, activation="sigmoid")(encoded)
        model = keras.Model(inputs, decoded)
        """
    )
    result = convert(source)
    assert result.ok
    assert [(d.code, d.line) for d in result.diagnostics] == [("K2T104", 12), ("K2T104", 13)]
    assert "bound again before anything reads it" in result.diagnostics[0].message
    assert linears(result.output) == ["8, 4", "4, 1"]


@pytest.mark.parametrize(
    ("between", "why"),
    [
        pytest.param("print(decoded)\n", "read before it is bound again", id="read-in-between"),
        pytest.param("if len(x) > 10:\n    decoded = layers.Dense(7)(encoded)\n", "bound again only in a branch", id="branch"),
        pytest.param("def show():\n    return decoded\n", "a function may read the global", id="function"),
    ],
)
def test_a_binding_k2t_cannot_tell_is_dead_stays_reported(between: str, why: str):
    source = script(
        "inputs = keras.Input(shape=(8,))\n"
        "encoded = layers.Dense(4, activation='relu')(inputs)\n"
        "decoded = layers.Dense(6, activation='relu')(encoded)\n"
        + between
        + "decoded = layers.Dense(1, activation='sigmoid')(encoded)\n"
        "model = keras.Model(inputs, decoded)\n"
    )
    result = k2t.convert_source(source, "train.py")
    assert "K2T104" not in {d.code for d in result.diagnostics}, why


def test_a_layer_call_whose_result_is_read_stays_reported():
    source = script(
        """\
        inputs = keras.Input(shape=(8,))
        h = layers.Dense(16, activation="relu")(inputs)
        side = layers.Dense(50)(h)
        print(side)
        model = keras.Model(inputs, layers.Dense(1, activation="sigmoid")(h))
        """
    )
    result = k2t.convert_source(source, "train.py")
    assert not result.ok and "K2T104" not in {d.code for d in result.diagnostics}
