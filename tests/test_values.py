"""k2t.values: what an expression evaluates to when the script runs, or why k2t cannot tell."""

import itertools

import libcst as cst
import pytest

from k2t.values import Env, Unknown, assigned_names, bind_target, evaluate, is_constant


def run(source: str) -> Env:
    """Bind the assignments of ``source`` in order, as the parser does."""
    env = Env()
    for statement in cst.parse_module(source).body:
        small = statement.body[0]
        bind_target(env, small.targets[0].target, evaluate(small.value, env))
    return env


def value_of(source: str, expression: str):
    return evaluate(cst.parse_expression(expression), run(source))


@pytest.mark.parametrize(
    ("source", "expression", "expected"),
    [
        ("img_rows, img_cols = 28, 28", "(img_rows, img_cols, 1)", (28, 28, 1)),
        ("filters = 32", "filters * 2", 64),
        ("CLASSES = ['cat', 'dog', 'bird']", "len(CLASSES)", 3),
        ("vocab = 100", "vocab // 3 + 1", 34),
        ("i = 2", "f'conv_{i}'", "conv_2"),
        ("width = 4", "f'{width:03d}'", "004"),
        ("sizes = [2 ** i for i in range(3)]", "sizes", [1, 2, 4]),
        ("shape = (28, 28, 1)", "shape[:2]", (28, 28)),
        ("shape = (28, 28, 1)", "shape[-1]", 1),
        ("a = 3", "max(a, 5) if a > 1 else 0", 5),
        ("units = (64, 32)", "tuple(zip(units, ('relu', 'tanh')))", ((64, "relu"), (32, "tanh"))),
        ("x = 1", "x == 1 and 'yes' or 'no'", "yes"),
        ("d = {'units': 8}", "d['units']", 8),
        ("n = 5", "-n", -5),
        ("xs = (1, 2)", "(*xs, 3)", (1, 2, 3)),
        ("config = dict(hidden=[24, 12], n_out=2)", "config['hidden']", [24, 12]),
        ("blocks = {'wide': 16, 'narrow': 8}", "blocks.items()", (("wide", 16), ("narrow", 8))),
        ("blocks = {'wide': 16}", "blocks.get('deep', 4)", 4),
    ],
)
def test_known_values(source, expression, expected):
    assert value_of(source, expression) == expected


@pytest.mark.parametrize(
    ("source", "expression", "reason"),
    [
        ("x = 1", "X.shape[1]", "`X.shape` is read when the script runs"),
        ("x = 1", "undefined_name", "`undefined_name` is not a value k2t can follow"),
        ("n = 1", "n / 0", "evaluating it raises ZeroDivisionError"),
        ("x = 1", "np.zeros(3)", "`np.zeros(...)` is computed when the script runs"),
        ("n = 10", "n ** 1000", "power too large to fold"),
    ],
)
def test_unknown_values_say_why(source, expression, reason):
    value = value_of(source, expression)
    assert isinstance(value, Unknown)
    assert value.reason == reason


def test_an_unknown_value_poisons_what_is_computed_from_it():
    env = run("n = X.shape[1]\nm = n * 2")
    assert isinstance(env.lookup("m").value, Unknown)


def test_unpacking_a_value_of_another_length_binds_unknowns():
    env = run("a, b = (1, 2, 3)")
    assert isinstance(env.lookup("a").value, Unknown) and isinstance(env.lookup("b").value, Unknown)


def test_a_shadowed_builtin_is_not_folded():
    env = run("len = 3")
    assert isinstance(evaluate(cst.parse_expression("len([1])"), env), Unknown)


def test_comprehension_variables_are_transient_and_do_not_leak():
    env = Env()
    value = evaluate(cst.parse_expression("[n * 2 for n in (1, 2)]"), env)
    assert value == [2, 4]
    assert env.lookup("n") is None


def test_is_constant():
    assert is_constant((1, 2.5, "a", None, True))
    assert not is_constant({"a": 1})
    assert not is_constant(float("nan"))


def test_assigned_names_of_compound_statements():
    statement = cst.parse_statement(
        "for i, n in enumerate(x):\n    y = n\n    with open(f) as h:\n        z += 1\n    def f(): w = 1\n"
    )
    assert assigned_names(statement) == {"i", "n", "y", "h", "z", "f"}


def test_module_constants_are_names_bound_once_at_the_top_level_to_known_values():
    from k2t.values import module_constants

    source = (
        "patch_size = 4\n"
        "num_patches = (16 // patch_size) ** 2\n"
        "rebound = 1\n"
        "rebound = 2\n"
        "looped = 3\n"
        "for looped in range(2):\n    pass\n"
        "declared = 5\n"
        "def f():\n    global declared\n    declared = 6\n"
        "names = ['a']\n"
    )
    module = cst.parse_module(source)
    env = Env()
    for statement in module.body:
        if isinstance(statement, cst.SimpleStatementLine):
            small = statement.body[0]
            bind_target(env, small.targets[0].target, evaluate(small.value, env))
    assert module_constants(module, env) == {"patch_size": 4, "num_patches": 16, "names": ["a"]}


def test_a_dropout_rate_known_only_at_run_time_is_a_constructor_parameter():
    """Hyperparameter searches (Ray Tune's `Dropout(self.config["dropout"])`, Optuna's suggestions): the rate is
    read where the script builds the model, as run-time sizes are."""
    import k2t

    source = (
        "import keras\nfrom keras import layers\n\n\n"
        "def build(rate):\n"
        "    model = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(8), layers.Dropout(rate), layers.Dropout(rate=0.5 * rate), layers.Dense(1)])\n"
        '    model.compile(optimizer="sgd", loss="mse")\n'
        "    return model\n\n\n"
        "model = build(float(open('rate.txt').read()))\n"
    )
    result = k2t.convert_source(source, "train.py")
    assert not result.diagnostics, [d.format() for d in result.diagnostics]
    assert "self.dropout = nn.Dropout(rate)" in result.output and "self.dropout_1 = nn.Dropout(dropout_rate)" in result.output
    assert "model = Build(rate=rate, dropout_rate=0.5 * rate).to(device)" in result.output


SETTINGS_MODEL = """\
import numpy as np
import keras
from keras import layers

{script}
model = keras.Sequential([keras.Input(shape=(4,))])
for units in {read}:
    model.add(layers.Dense(units, activation="relu"))
model.add(layers.Dense(1))
model.compile(optimizer="adam", loss="mse")
model.fit(np.zeros((8, 4), "float32"), np.zeros((8, 1), "float32"), epochs=1)
"""


@pytest.mark.parametrize(
    ("script", "read", "sizes"),
    [
        ("class CFG:\n    units = [32, 16]\n    lr = 1e-3", "CFG.units", [32, 16]),
        ('class CFG:\n    """Settings."""\n    units: list = [8] * 3', "CFG.units", [8, 8, 8]),
        ("class CFG:\n    units = (8, 4)\ncfg = CFG()", "cfg.units", [8, 4]),
        ("config = dict(hidden=[24, 12])", 'config["hidden"]', [24, 12]),
        # Assigned somewhere in the script, or more than a record of values: k2t cannot read it.
        ("class CFG:\n    units = [8]\nCFG.units = [16]", "CFG.units", None),
        ("class CFG:\n    units = [8]\ncfg = CFG()\ncfg.units = [16]", "cfg.units", None),
        ("class CFG(dict):\n    units = [8]", "CFG.units", None),
        ("class CFG:\n    units = [8]\n    def more(self):\n        return [16]", "CFG.units", None),
    ],
)
def test_a_settings_class_or_dict_is_read_as_its_values(script, read, sizes):
    """Kaggle's `class CFG:` of settings (a class with no base whose body only binds names, none of them assigned
    elsewhere) and `dict(...)`: a loop over their sizes unrolls into the model; otherwise it is reported."""
    import k2t

    result = k2t.convert_source(SETTINGS_MODEL.format(script=script, read=read), "cfg.py")
    if sizes is None:
        assert "K2T103" in [d.code for d in result.diagnostics]
        return
    assert result.ok, [d.format() for d in result.diagnostics]
    widths = [4, *sizes, 1]
    for fan_in, fan_out in itertools.pairwise(widths):
        assert f"nn.Linear({fan_in}, {fan_out})" in result.output


def test_a_keras_tensors_shape_reads_the_sizes_k2t_knows_and_no_other():
    """``x.shape`` of a Keras tensor (k2t.parse.tensor_shapes): a known size is its value (Keras's None too), one
    k2t does not know leaves what reads it unknown, never a guess."""
    from k2t.values import NOT_KNOWN, Evaluator, TensorShape

    shapes = {
        "x": TensorShape((None, NOT_KNOWN, 16)),
        "seq": TensorShape((None, None, 8)),
        "flat": TensorShape(None, 32),
    }

    def value(expression: str):
        return Evaluator(Env(), tensor_shape=shapes.get)(cst.parse_expression(expression))

    assert value("x.shape[-1] != 16") is False
    assert value("seq.shape[1] is None") is True
    assert value("len(seq.shape)") == 3
    assert value("flat.shape[-1] * 2") == 64
    for unknown in ("x.shape[1]", "x.shape[1:]", "x.shape == (None, 5, 16)", "len(flat.shape)", "flat.shape[1]"):
        assert isinstance(value(unknown), Unknown), unknown


def test_a_keras_layer_class_is_one_value_as_in_python():
    from k2t.values import Evaluator, KerasClass

    classes = {"layers.LSTM": "keras.layers.LSTM", "layers.GRU": "keras.layers.GRU"}

    def keras_class(node):
        name = classes.get(cst.Module(body=[]).code_for_node(node))
        return KerasClass.of(name) if name else None

    env = Env()
    env.bind("cell", KerasClass.of("keras.layers.LSTM"))
    evaluator = Evaluator(env, keras_class=keras_class)
    assert evaluator(cst.parse_expression("cell is layers.LSTM")) is True
    assert evaluator(cst.parse_expression("cell in (layers.GRU,)")) is False
    assert evaluator(cst.parse_expression("(layers.LSTM, layers.GRU)"))[1].short_name == "GRU"


@pytest.mark.parametrize(
    ("expression", "shape"),
    [
        ("np.random.random((50000, 128))", (50000, 128)),
        ("np.random.random(size=(4, 2))", (4, 2)),
        ("np.zeros((n, 8), dtype='float32')", (10, 8)),
        ("np.ones(n)", (10,)),
        ("np.random.rand(64, 5, 7)", (64, 5, 7)),
        ("np.random.normal(0.0, 1.0, (64, 3))", (64, 3)),
        ("np.random.randint(0, 3, size=(64,))", (64,)),
        ("np.random.choice(5, (6, 2))", (6, 2)),
        ("rng.integers(0, 3, (n, 2))", (10, 2)),
        ("np.random.RandomState(0).normal(size=(8, 4)).astype('float32')", (8, 4)),
        ("tf.random.normal((1, 28, 28))", (1, 28, 28)),
        ("tf.zeros(shape=(2, 3))", (2, 3)),
        # Not known: a size k2t does not know, a choice's third argument (replace=), an array read at run time.
        ("np.zeros((m, 8))", None),
        ("np.random.choice(5, 6, (2, 2))", (6,)),
        ("np.random.normal(0.0, 1.0)", None),
        ("np.load('x.npy')", None),
        ("np.random.rand(n=3)", None),
    ],
)
def test_the_shape_of_an_array_made_with_sizes_the_script_writes(expression, shape):
    from k2t.values import made_shape

    assert made_shape(cst.parse_expression(expression), run("n = 10")) == shape


PRODUCT_GAN = """\
import numpy as np
from keras.layers import Dense, Input
from keras.models import Model, Sequential


def build_generator(latent_dim):
    model = Sequential([Dense({units}, activation="tanh")])
    z = Input(shape=(latent_dim,))
    return Model(z, model(z))


generator = build_generator(8)
for step in range(3):
    loss = 0.5 * np.add(1.0, 2.0)
"""


@pytest.mark.parametrize(
    ("units", "expected"), [("np.prod((28, 28, 1))", "dense_units=np.prod((28, 28, 1))"), ("np.prod([3, 5])", "dense_units=np.prod([3, 5])")]
)
def test_a_product_of_known_sizes_is_the_size(units, expected):
    """Python Deep Learning's GAN: `Dense(np.prod((28, 28, 1)))` in a generator factory, in a script that reads
    `np` again later, was a K2T103 (the size's code might mean another value where the model is built); NumPy's
    product of sizes k2t knows is that number, so the code stays as written."""
    import k2t

    result = k2t.convert_source(PRODUCT_GAN.format(units=units), "train.py")
    assert not result.diagnostics, [d.format() for d in result.diagnostics]
    assert expected in result.output
