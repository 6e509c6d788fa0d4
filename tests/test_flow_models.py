"""No loop or branch that touches a model is dropped silently.

A generated set of scripts builds a model under every kind of control flow real scripts use:
`for` over tuples, lists, `range`, `zip`, `enumerate`, values only known at run time; `while`;
`if` on values k2t knows and on values it cannot; `break`, `continue`, `else`, nested loops; layers
added to a model made before the loop or a model made afresh in each iteration; Functional blocks
chained by `h = layers.Dense(n)(h)`. For each script, either the conversion has a diagnostic inside
the code that builds the model, or the converted model has the same parameters, layer by layer and
in the same order, as the model Keras builds when it runs the script.
"""

from __future__ import annotations

import itertools
import re
import textwrap
from dataclasses import dataclass

import pytest
from conftest import requires_keras, requires_torch

import k2t

pytestmark = [requires_torch, requires_keras]

HEAD = """\
import os
import numpy as np
import keras
from keras import layers

rng = np.random.RandomState(0)
x = rng.normal(size=(32, 8)).astype("float32")
y = (x.sum(axis=1) > 0).astype("float32")
# Known only when the script runs (False here): k2t cannot decide a branch on it.
FLAG = os.environ.get("K2T_TEST_FLAG_NEVER_SET") is not None
"""
COMPILE = 'model.compile(optimizer="adam", loss="binary_crossentropy")\n'
FIT = "model.fit(x, y, batch_size=16, epochs=1, verbose=0)\n"

# What a loop iterates over: (code before the loop, the loop header, the units of one iteration).
ITERABLES = {
    "tuple": ("", "for n in (16, 8):", "n"),
    "list_in_a_variable": ("SIZES = [16, 8, 4]\n", "for n in SIZES:", "n"),
    "range": ("width = 16\n", "for i in range(3):", "width // 2 ** i"),
    "range_start_stop_step": ("", "for n in range(4, 13, 4):", "n"),
    "zip": ("", 'for n, activation in zip((16, 8), ("relu", "tanh")):', "n"),
    "enumerate": ("", "for i, n in enumerate((16, 8)):", "n + i"),
    "enumerate_zip": ("", "for i, (n, m) in enumerate(zip((16, 8), (1, 2))):", "n * m + i"),
    "reversed": ("", "for n in reversed((4, 8, 16)):", "n"),
    "dict_items": ('BLOCKS = {"wide": 16, "narrow": 8}\n', "for name, n in BLOCKS.items():", "n"),
    "empty": ("", "for n in ():", "n"),
    "unknown": ("SIZES = rng.choice([16, 8], size=2)\n", "for n in SIZES:", "int(n)"),
    "unknown_range": ("depth = int(rng.randint(1, 3))\n", "for i in range(depth):", "8"),
}

# What the loop's body does to the model: (before the loop, the body using UNITS, after the loop).
BODIES = {
    "add_to_a_model_made_before": (
        "model = keras.Sequential([keras.Input(shape=(8,))])\n",
        'model.add(layers.Dense(UNITS, activation="relu"))\n',
        'model.add(layers.Dense(1, activation="sigmoid"))\n' + COMPILE + FIT,
    ),
    "functional_block": (
        "inputs = keras.Input(shape=(8,))\nh = inputs\n",
        'h = layers.Dense(UNITS, activation="relu")(h)\n',
        'model = keras.Model(inputs, layers.Dense(1, activation="sigmoid")(h))\n' + COMPILE + FIT,
    ),
    "model_made_in_each_iteration": (
        "",
        'model = keras.Sequential([keras.Input(shape=(8,)), layers.Dense(UNITS, activation="relu"), layers.Dense(1, activation="sigmoid")])\n'
        + COMPILE
        + FIT,
        "",
    ),
    # Freezing the layer just added, by a flag that changes with the iteration: each layer gets its own flag.
    "freeze_the_layer_added": (
        "model = keras.Sequential([keras.Input(shape=(8,))])\n",
        'model.add(layers.Dense(UNITS, activation="relu"))\nmodel.layers[-1].trainable = UNITS > 9\n',
        'model.add(layers.Dense(1, activation="sigmoid"))\n' + COMPILE + FIT,
    ),
    "layer_list_built_in_the_loop": (
        "hidden = []\n",
        'hidden.append(layers.Dense(UNITS, activation="relu"))\n',
        'model = keras.Sequential([keras.Input(shape=(8,))] + hidden + [layers.Dense(1, activation="sigmoid")])\n' + COMPILE + FIT,
    ),
}

# How the loop is written around the body.
SHAPES = {
    "plain": "HEADER\n    BODY",
    "break": "HEADER\n    if UNITS < 9:\n        break\n    BODY",
    "continue": "HEADER\n    if UNITS == 16:\n        continue\n    BODY",
    "else": "HEADER\n    BODY\nelse:\n    print('done')",
    "nested": "HEADER\n    for repeat in range(2):\n        BODY",
    "if_on_the_loop_variable": "HEADER\n    if UNITS > 9:\n        BODY",
    "if_on_an_unknown_value": "HEADER\n    if FLAG:\n        BODY",
}


SHAPES_OF = {
    "model_made_in_each_iteration": ("plain", "break", "if_on_an_unknown_value"),
    "layer_list_built_in_the_loop": ("plain", "nested", "if_on_the_loop_variable"),
    "freeze_the_layer_added": ("plain", "continue", "if_on_the_loop_variable"),
}


@dataclass(frozen=True)
class Case:
    body: str  # the script between HEAD and the end

    def source(self) -> str:
        return HEAD + self.body


def loop_case(iterable: str, body: str, shape: str) -> Case:
    before_loop, header, units = ITERABLES[iterable]
    before, inside, after = BODIES[body]
    inside = inside.replace("UNITS", units).rstrip("\n")
    indent = "        " if shape == "nested" or shape.startswith("if_") else "    "
    loop = SHAPES[shape].replace("HEADER", header).replace("UNITS", units)
    loop = loop.replace("BODY", textwrap.indent(inside, indent).lstrip())
    return Case(before_loop + before + loop + "\n" + after)


LOOPS = {
    f"{iterable}-{body}-{shape}": loop_case(iterable, body, shape)
    for iterable, body, shape in itertools.product(ITERABLES, BODIES, SHAPES)
    # A model made afresh in each iteration (compiled and fitted there) and a layer list need fewer shapes.
    if shape in SHAPES_OF.get(body, SHAPES)
}

WHILE = {
    "while-add_to_a_model_made_before": Case(
        "model = keras.Sequential([keras.Input(shape=(8,))])\nn = 16\nwhile n > 4:\n"
        '    model.add(layers.Dense(n, activation="relu"))\n    n //= 2\n'
        'model.add(layers.Dense(1, activation="sigmoid"))\n' + COMPILE + FIT
    ),
    "while-functional_block": Case(
        "inputs = keras.Input(shape=(8,))\nh = inputs\nn = 16\nwhile n > 4:\n"
        '    h = layers.Dense(n, activation="relu")(h)\n    n //= 2\n'
        'model = keras.Model(inputs, layers.Dense(1, activation="sigmoid")(h))\n' + COMPILE + FIT
    ),
}


def branch(test: str, body: str, orelse: str | None) -> str:
    code = f"if {test}:\n" + textwrap.indent(body, "    ")
    return code + ("else:\n" + textwrap.indent(orelse, "    ") if orelse is not None else "")


ADD_16 = 'model.add(layers.Dense(16, activation="relu"))\n'
ADD_DROPOUT_8 = 'model.add(layers.Dropout(0.1))\nmodel.add(layers.Dense(8, activation="relu"))\n'
SEQUENTIAL_START = "model = keras.Sequential([keras.Input(shape=(8,))])\n"
SEQUENTIAL_END = 'model.add(layers.Dense(1, activation="sigmoid"))\n' + COMPILE + FIT
FUNCTIONAL_START = "inputs = keras.Input(shape=(8,))\nh = layers.Dense(8)(inputs)\n"
FUNCTIONAL_END = 'model = keras.Model(inputs, layers.Dense(1, activation="sigmoid")(h))\n' + COMPILE + FIT


def whole_model(units: int) -> str:
    return f'model = keras.Sequential([keras.Input(shape=(8,)), layers.Dense({units}, activation="relu"), layers.Dense(1, activation="sigmoid")])\n'


TESTS = {
    "known_true": ("DEEP = True\n", "DEEP"),
    "known_false": ("DEEP = False\n", "DEEP"),
    "known_comparison": ('ARCH = "wide"\n', 'ARCH == "wide"'),
    "known_arithmetic": ("LAYERS = 3\n", "LAYERS % 2 == 1 and LAYERS > 2"),
    "unknown": ("", "FLAG"),
    "unknown_negated": ("", "not FLAG"),
}

BRANCH_FORMS = {
    "add_without_else": lambda test: SEQUENTIAL_START + branch(test, ADD_16, None) + SEQUENTIAL_END,
    "add_with_else": lambda test: SEQUENTIAL_START + branch(test, ADD_16, ADD_DROPOUT_8) + SEQUENTIAL_END,
    "add_with_elif": lambda test: SEQUENTIAL_START
    + branch(test, ADD_16, None)
    + "el" + branch("x.shape[1] > 100", ADD_DROPOUT_8, "pass\n")
    + SEQUENTIAL_END,
    "functional_with_else": lambda test: FUNCTIONAL_START
    + branch(test, "h = layers.Dense(16)(h)\n", 'h = layers.Activation("relu")(layers.Dense(4)(h))\n')
    + FUNCTIONAL_END,
    "functional_without_else": lambda test: FUNCTIONAL_START + branch(test, "h = layers.Dense(16)(h)\n", None) + FUNCTIONAL_END,
    "whole_model_in_each_branch": lambda test: branch(test, whole_model(16), whole_model(4)) + COMPILE + FIT,
    "model_fit_in_each_branch": lambda test: branch(test, whole_model(16) + COMPILE + FIT, whole_model(4) + COMPILE + FIT),
    "functional_bound_in_each_branch": lambda test: "inputs = keras.Input(shape=(8,))\n"
    + branch(test, "h = layers.Dense(16)(inputs)\n", 'h = layers.Dense(4, activation="relu")(inputs)\n')
    + FUNCTIONAL_END,
    "compile_in_each_branch": lambda test: whole_model(16)
    + branch(test, COMPILE, COMPILE.replace('"adam"', '"sgd"'))
    + FIT,
    "nested_model_made_in_each_branch": lambda test: branch(
        test, "base = keras.Sequential([layers.Dense(16)])\n", "base = keras.Sequential([layers.Dense(4)])\n"
    )
    + "inputs = keras.Input(shape=(8,))\n"
    + 'model = keras.Model(inputs, layers.Dense(1, activation="sigmoid")(base(inputs)))\n'
    + COMPILE
    + FIT,
}

BRANCHES = {
    f"if_{test}-{form}": Case(TESTS[test][0] + BRANCH_FORMS[form](TESTS[test][1]))
    for test, form in itertools.product(TESTS, BRANCH_FORMS)
}

# A size held in a name the script binds again after a layer read it (the tutorial's `filters *= 2` in the loop of
# a CNN), or binds only after the model's own statement: the module must get the value each layer read.
REBINDINGS = {
    "rebound-doubled_in_the_loop": Case(
        SEQUENTIAL_START + "n = 4\nfor i in range(3):\n"
        '    model.add(layers.Dense(n, activation="relu"))\n    n *= 2\n'
        'model.add(layers.Dense(n, activation="relu"))\n' + SEQUENTIAL_END
    ),
    "rebound-between_two_adds": Case(
        SEQUENTIAL_START + "n = 32\nmodel.add(layers.Dense(n))\nn //= 2\nmodel.add(layers.Dense(n))\n" + SEQUENTIAL_END
    ),
    "rebound-functional_name_assigned_again": Case(
        "inputs = keras.Input(shape=(8,))\nhidden = 16\nh = layers.Dense(hidden)(inputs)\nhidden = 4\n"
        "h = layers.Dense(hidden)(h)\nh = layers.Dense(hidden)(h)\n" + FUNCTIONAL_END
    ),
    "rebound-halved_in_a_functional_loop": Case(
        "inputs = keras.Input(shape=(8,))\nh = inputs\nunits = 16\nfor i in range(3):\n"
        '    h = layers.Dense(units, activation="relu")(h)\n    units //= 2\nlast = units\n'
        "h = layers.Dense(last)(h)\n" + FUNCTIONAL_END
    ),
    "rebound-known_at_run_time_only": Case(
        SEQUENTIAL_START + "width = x.shape[1] * 2\nfor i in range(3):\n"
        '    model.add(layers.Dense(width, activation="relu"))\n    width = width // 2\n' + SEQUENTIAL_END
    ),
    "bound_after_the_model-input_dim": Case(
        "model = keras.Sequential()\nn_in = x.shape[1]\nn_hidden = 16\n"
        'model.add(layers.Dense(n_hidden, input_dim=n_in, activation="relu"))\n' + SEQUENTIAL_END
    ),
    "bound_after_the_model-loop_of_adds": Case(
        "model = keras.Sequential()\nmodel.add(keras.Input(shape=(8,)))\nfilters = 4\nfor i in range(2):\n"
        '    model.add(layers.Dense(filters, activation="relu"))\n    filters *= 2\n'
        'model.add(layers.Dense(filters, activation="relu"))\n' + SEQUENTIAL_END
    ),
}

CASES = {**LOOPS, **WHILE, **BRANCHES, **REBINDINGS}


# ------------------------------------------------------------------ the two sides
KINDS = {"Dense": "Linear"}  # Keras layer class -> torch module class, for the layers with weights here


def keras_layers(source: str) -> list[tuple[str, int, bool]]:
    """(torch kind, parameter count, trainable) of each layer with weights of the `model` the Keras script leaves."""
    namespace: dict = {"__name__": "__main__"}
    without_fit = re.sub(r"^( *)model\.fit\(.*$", r"\1pass", source, flags=re.MULTILINE)  # Keras's model as built
    exec(compile(without_fit, "keras_script.py", "exec"), namespace)  # noqa: S102 - the test's own script
    model = namespace.get("model")
    if model is None:  # a loop over nothing
        return []
    return [
        (KINDS[type(layer).__name__], layer.count_params(), layer.trainable)
        for layer in model.layers
        if layer.count_params()
    ]


def torch_layers(output: str) -> list[tuple[str, int, bool]]:
    """The same for the `model` the converted script leaves (Keras and TensorFlow are not needed to run it)."""
    import torch

    namespace: dict = {"__name__": "__main__"}
    torch.manual_seed(0)
    exec(compile(output, "converted.py", "exec"), namespace)  # noqa: S102 - k2t's output of the test's script
    model = namespace.get("model")
    if model is None:
        return []
    leaves = [m for m in model.modules() if not list(m.children())]
    return [
        (type(m).__name__, sum(p.numel() for p in m.parameters()), all(p.requires_grad for p in m.parameters()))
        for m in leaves
        if any(True for _ in m.parameters())
    ]


def diagnostics_inside(result, source: str, body: str) -> list[str]:
    """The diagnostics on the lines of ``body`` (the code that builds the model), formatted."""
    first = source.count("\n", 0, source.index(body)) + 1
    last = first + body.count("\n")
    return [d.format() for d in result.diagnostics if first <= d.line <= last]


@pytest.fixture(scope="module")
def frameworks():
    import keras  # noqa: F401 - imported once for the module, not per case
    import torch  # noqa: F401


@pytest.mark.parametrize("name", CASES)
def test_a_model_under_control_flow_is_the_same_model_or_reported(name, frameworks):
    case = CASES[name]
    source = case.source()
    result = k2t.convert_source(source, "train.py")
    assert result.output is not None, [d.format() for d in result.diagnostics]
    if not result.ok:
        inside = diagnostics_inside(result, source, case.body)
        assert inside, f"diagnostics outside the model's code only: {[d.format() for d in result.diagnostics]}"
        return
    import keras

    keras.utils.set_random_seed(0)
    expected = keras_layers(source)
    got = torch_layers(result.output)
    assert got == expected, f"converted silently into a different model:\n{result.output[result.output.find('class Net'):][:1500]}"


# ------------------------------------------------------ what an undecided `if` leaves in a name
def test_a_compile_that_differs_between_undecided_branches_is_reported():
    source = HEAD + whole_model(4) + branch("FLAG", COMPILE, COMPILE.replace('"adam"', '"sgd"')) + FIT
    result = k2t.convert_source(source, "train.py")
    message = "`model` holds a different model, compile() or Keras tensor in each branch of `if FLAG`, which k2t cannot decide"
    assert [(d.line, d.message) for d in result.diagnostics] == [(source.count("\n"), message)]


def test_a_model_loaded_in_one_branch_and_built_in_the_other_must_be_the_one_saved():
    # The file holds `big`; the other branch builds a smaller model: which one `model` is depends on the file.
    source = HEAD + textwrap.dedent(
        """\
        big = keras.Sequential([keras.Input(shape=(8,)), layers.Dense(16), layers.Dense(1)])
        big.compile(optimizer="adam", loss="mse")
        big.save("model.keras")
        if os.path.exists("model.keras"):
            model = keras.models.load_model("model.keras")
        else:
            model = keras.Sequential([keras.Input(shape=(8,)), layers.Dense(4), layers.Dense(1)])
            model.compile(optimizer="adam", loss="mse")
        model.evaluate(x, y)
        """
    )
    result = k2t.convert_source(source, "train.py")
    assert [d.code for d in result.diagnostics] == ["K2T103"]
    assert "the model loaded from `\"model.keras\"` or one built in another branch" in result.diagnostics[0].message
    # Built by the factory that built the file's model (fixtures/saved_model_cache): the same model, no diagnostic.
    same = HEAD + textwrap.dedent(
        """\
        def build():
            model = keras.Sequential([keras.Input(shape=(8,)), layers.Dense(16), layers.Dense(1)])
            model.compile(optimizer="adam", loss="mse")
            return model
        big = build()
        big.save("model.keras")
        if os.path.exists("model.keras"):
            model = keras.models.load_model("model.keras")
        else:
            model = build()
        model.evaluate(x, y)
        """
    )
    assert k2t.convert_source(same, "train.py").ok


def test_a_kfold_loop_over_sklearn_folds_keeps_the_users_import():
    # KFold is the script's own tool, not Keras's: its import and the loop stay as written, one model per fold.
    source = HEAD.replace("import numpy as np\n", "import numpy as np\nfrom sklearn.model_selection import KFold\n") + textwrap.dedent(
        """\
        def build_model():
            model = keras.Sequential([keras.Input(shape=(8,)), layers.Dense(4, activation="relu"), layers.Dense(1, activation="sigmoid")])
            model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
            return model

        scores = []
        for fold, (train_idx, val_idx) in enumerate(KFold(n_splits=4, shuffle=True, random_state=0).split(x)):
            model = build_model()
            model.fit(x[train_idx], y[train_idx], epochs=1, verbose=0)
            scores.append(model.evaluate(x[val_idx], y[val_idx], verbose=0))
        """
    )
    result = k2t.convert_source(source, "train.py")
    assert result.ok, [d.format() for d in result.diagnostics]
    assert "from sklearn.model_selection import KFold\n" in result.output
    assert "for fold, (train_idx, val_idx) in enumerate(KFold(n_splits=4, shuffle=True, random_state=0).split(x)):\n    model = build_model()" in result.output


def test_a_factory_sized_by_a_fit_in_the_loop_but_called_before_it_is_reported():
    """The k-fold tutorial with `model = build_model(); model.summary()` before the loop: Keras builds that model
    from the data of its first fit; the module needs the size where it is built, before the loop binds the array."""
    source = HEAD + textwrap.dedent(
        """\
        def build_model():
            model = keras.Sequential([layers.Dense(4, activation="relu"), layers.Dense(1)])
            model.compile(optimizer="rmsprop", loss="mse")
            return model

        model = build_model()
        model.summary()
        for i in range(2):
            partial_x = x[i * 16:(i + 1) * 16]
            model = build_model()
            model.fit(partial_x, y[i * 16:(i + 1) * 16], epochs=1, verbose=0)
        """
    )
    result = k2t.convert_source(source, "train.py")
    assert [d.code for d in result.diagnostics] == ["K2T103"]
    assert "`partial_x` is not bound where the model is built" in result.diagnostics[0].message


@pytest.mark.parametrize(
    "use",
    [
        "models = {n: build(n) for n in (4, 16)}\nfor n, m in models.items():\n    m.fit(x, y, epochs=1, verbose=0)\n",
        "models = [build(4), build(16)]\nmodels[0].fit(x, y, epochs=1, verbose=0)\n",
        "build(4).fit(x, y, epochs=1, verbose=0)\n",
    ],
    ids=["dict_comprehension", "list", "chained_call"],
)
def test_a_factorys_model_kept_where_k2t_cannot_follow_it_is_reported(use):
    # Its fit would otherwise stay Keras's fit, called on a torch module, with no diagnostic.
    source = HEAD + textwrap.dedent(
        """\
        def build(width):
            model = keras.Sequential([keras.Input(shape=(8,)), layers.Dense(width, activation="relu"), layers.Dense(1)])
            model.compile(optimizer="adam", loss="mse")
            return model

        """
    ) + use
    result = k2t.convert_source(source, "train.py")
    assert "K2T103" in [d.code for d in result.diagnostics]
    assert any("the model `build(...)` returns is kept where k2t cannot follow it" in d.message for d in result.diagnostics)


def test_an_elif_chain_on_a_known_knob_keeps_the_branch_that_runs_and_warns():
    """`MODEL_TYPE = "gru"`, then `if MODEL_TYPE == "lstm": ... elif MODEL_TYPE == "gru": ... else: ...`: Keras runs
    one branch; the module is that branch's model, the others are left out with a warning at each decided test.
    (The chain of two decided `if`s was an internal error.)"""
    source = HEAD + textwrap.dedent(
        """\
        MODEL_TYPE = "gru"
        x = x.reshape(32, 4, 2)
        inputs = keras.Input(shape=(4, 2))
        if MODEL_TYPE == "lstm":
            h = layers.LSTM(6)(inputs)
        elif MODEL_TYPE == "gru":
            h = layers.GRU(6)(inputs)
        else:
            h = layers.SimpleRNN(6)(inputs)
        model = keras.Model(inputs, layers.Dense(1, activation="sigmoid")(h))
        """
    ) + COMPILE + FIT
    result = k2t.convert_source(source, "train.py")
    assert result.ok, [d.format() for d in result.diagnostics]
    assert [(d.code, d.line) for d in result.diagnostics] == [("K2T107", 14), ("K2T107", 16)]
    assert "MODEL_TYPE == " not in result.output and "keras" not in result.output.split("class ")[0]
    assert "KerasGRU(" in result.output and "LSTM" not in result.output and "SimpleRNN" not in result.output


def test_a_factory_given_the_datas_shape_in_a_loop_over_learning_rates_converts_to_kerass_model(frameworks):
    """`def build(input_shape): Sequential([Input(shape=input_shape), Dense(...)])`, called as `build(x.shape[1:])`
    in a loop over learning rates: every call passes one size (x is 2-D), and the rate stays the loop's variable."""
    case = Case(
        "def build(input_shape):\n"
        '    return keras.Sequential([keras.Input(shape=input_shape), layers.Dense(16, activation="relu"), '
        'layers.Dense(1, activation="sigmoid")])\n\n'
        "for lr in [1e-3, 1e-2]:\n"
        "    model = build(x.shape[1:])\n"
        '    model.compile(optimizer=keras.optimizers.Adam(learning_rate=lr), loss="binary_crossentropy")\n'
        "    model.fit(x, y, batch_size=16, epochs=1, verbose=0)\n"
    )
    result = k2t.convert_source(case.source(), "train.py")
    assert result.ok, [d.format() for d in result.diagnostics]
    assert "KerasAdam(model.parameters(), lr=lr," in result.output
    import keras

    keras.utils.set_random_seed(0)
    assert torch_layers(result.output) == keras_layers(case.source())


def test_a_keyword_named_like_a_keras_tensor_is_no_use_of_it():
    """keras.io's autoencoder builds its model with `x = layers.Conv2D(...)(x)`, then calls
    `autoencoder.fit(x=train_dataset, y=train_dataset)`: the keyword `x=` is fit's parameter, not the tensor."""
    source = HEAD + textwrap.dedent(
        """\
        inputs = keras.Input(shape=(8,))
        x = layers.Dense(4, activation="relu")(inputs)
        x = layers.Dense(1, activation="sigmoid")(x)
        model = keras.Model(inputs, x)
        model.compile(optimizer="adam", loss="binary_crossentropy")
        model.fit(x=x_data, y=y, epochs=1, verbose=0)
        """
    ).replace("x_data", "rng.normal(size=(32, 8)).astype('float32')")
    result = k2t.convert_source(source, "train.py")
    assert result.ok, [d.format() for d in result.diagnostics]


def test_freezing_under_an_if_in_an_unrolled_loop_is_reported():
    # The `if` stays as written in the loop, so each iteration would run every iteration's requires_grad_ line:
    # Keras freezes the layers added when n != 8, the loop written back would freeze all three.
    source = HEAD + SEQUENTIAL_START + textwrap.dedent(
        """\
        for n in (16, 8, 4):
            model.add(layers.Dense(n, activation="relu"))
            if n != 8:
                model.layers[-1].trainable = False
        """
    ) + SEQUENTIAL_END
    result = k2t.convert_source(source, "train.py")
    line = source.splitlines().index("        model.layers[-1].trainable = False") + 1
    assert [(d.code, d.line) for d in result.diagnostics] == [("K2T103", line)], [d.format() for d in result.diagnostics]
    assert "reaches a different layer at each walk" in result.diagnostics[0].message
    assert "requires_grad_" not in result.output
