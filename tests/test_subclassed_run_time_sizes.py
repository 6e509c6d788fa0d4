"""A keras.Model subclass given sizes the script computes when it runs (keras.io's collaborative filtering:
``RecommenderNet(num_users, num_movies, ...)`` of ``num_users = len(user2user_encoded)``): a size a layer only
reads becomes a constructor parameter of the generated module, passed the script's own expression where the script
makes the model; a value that decides structure stays a located K2T103. ``outputs = model(inputs)`` on a keras.Input
only builds the model: its lines go when nothing else reads them. Parity against Keras is
tests/test_parity_subclassed.py::test_sizes_known_only_when_the_script_runs_as_in_keras_io_collaborative_filtering."""

import textwrap

import pytest
from undefined import assert_no_undefined_names

import k2t

HEAD = """\
import numpy as np
import keras
from keras import layers

ids = np.random.RandomState(0).randint(0, 9, size=(32, 2)).astype("float32")
ratings = np.zeros((32,), dtype="float32")
users = sorted(set(ids[:, 0].tolist()))
n_items = int(ids[:, 1].max()) + 1
"""

INIT = """\
class Recommender(keras.Model):
    def __init__(self, num_users, num_items, embedding_size, min_rating, **kwargs):
        super().__init__(**kwargs)
        self.num_users = num_users
        self.min_rating = min_rating
        self.user_embedding = layers.Embedding(num_users, embedding_size, embeddings_initializer="he_normal")
        self.item_embedding = layers.Embedding(num_items, embedding_size, embeddings_initializer="he_normal")
        self.item_bias = layers.Embedding(num_items, 1)
{extra_init}
    def call(self, inputs):
        user_vector = self.user_embedding(inputs[:, 0])
        item_vector = self.item_embedding(inputs[:, 1])
        dot = layers.Dot(axes=1)([user_vector, item_vector])
{extra_call}        return keras.ops.sigmoid(dot + self.item_bias(inputs[:, 1]))


"""

BUILT = """\
inputs = layers.Input(shape=(2,))
model = Recommender(len(users), n_items, 8, float(ratings.min()))
outputs = model(inputs)
model.compile(loss=keras.losses.BinaryCrossentropy(), optimizer=keras.optimizers.Adam(learning_rate=0.01))
history = model.fit(ids, ratings, batch_size=8, epochs=1, verbose=0)
"""


def convert(extra_init: str = "", extra_call: str = "", built: str = BUILT):
    source = HEAD + "\n\n" + INIT.format(extra_init=extra_init, extra_call=extra_call) + built
    return source, k2t.convert_source(source, filename="case.py")


def line_of(source: str, text: str) -> int:
    return next(number for number, line in enumerate(source.splitlines(), 1) if text in line)


def located(result) -> list[tuple[int, str]]:
    return [(d.line, d.code) for d in result.diagnostics]


def test_sizes_known_when_the_script_runs_are_constructor_parameters_given_the_scripts_expressions():
    _, result = convert()
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    assert "class Recommender(nn.Module):" in result.output
    assert "def __init__(self, num_users, n_items):" in result.output
    assert "nn.Embedding(num_users, 8, sparse=True)" in result.output
    assert (
        "nn.Embedding(n_items, 8, sparse=True)" in result.output
        and "nn.Embedding(n_items, 1, sparse=True)" in result.output
    )
    # Where the script makes the model, with the script's own expressions there.
    assert "model = Recommender(num_users=len(users), n_items=n_items).to(device)" in result.output
    # An attribute call() never reads (`self.min_rating = min_rating`) needs nothing.
    assert "min_rating" not in result.output


def test_variance_scaling_of_an_embedding_sized_at_run_time_reads_the_layer_not_the_constructor_parameter():
    # reset_parameters runs outside __init__, where `num_users` is no name: the fan is the layer's own size.
    _, result = convert()
    assert "math.sqrt(2 / self.user_embedding.num_embeddings)" in result.output
    assert "math.sqrt(2 / self.item_embedding.num_embeddings)" in result.output
    assert_no_undefined_names(result.output)


@pytest.mark.parametrize("build", ["outputs = model(inputs)", "model(inputs)"], ids=["assigned", "alone"])
def test_the_build_on_a_keras_input_goes_and_sizes_the_model(build):
    _, result = convert(built=BUILT.replace("outputs = model(inputs)", build))
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    assert "layers.Input" not in result.output and "model(inputs)" not in result.output
    assert "import keras" not in result.output
    # The model's input is the Input's (None, 2): call() slices its columns.
    assert "inputs[:, 0]" in result.output and "user_vector.long()" in result.output


@pytest.mark.parametrize(
    ("built", "at", "code"),
    [
        (BUILT + "print(outputs.shape)\n", "print(outputs.shape)", "K2T103"),
        (BUILT + "print(inputs.shape)\n", "inputs = layers.Input(", "K2T100"),
        (BUILT.replace("shape=(2,))", "shape=(2,)); seed = 3"), "inputs = layers.Input(", "K2T100"),
    ],
    ids=["outputs-read", "inputs-read", "input-line-binds-more"],
)
def test_a_build_whose_tensors_are_read_elsewhere_stays_a_located_diagnostic(built, at, code):
    # The Keras tensors are still read, or the Input's line binds more: k2t drops neither (the Input stays Keras's).
    source, result = convert(built=built)
    assert (line_of(source, at), code) in located(result), [d.format() for d in result.diagnostics]
    assert not result.ok


@pytest.mark.parametrize(
    ("extra_init", "extra_call", "at", "words"),
    [
        (
            "        self.hidden = layers.Dense(num_users * 2)\n",
            "",
            "layers.Dense(num_users * 2)",
            "known only when the script runs",
        ),
        (
            "        self.towers = [layers.Dense(4) for _ in range(num_users)]\n",
            "",
            "self.towers = ",
            "`num_users` is given `len(users)`",
        ),
        (
            "        self.reshape = layers.Reshape((num_users, 1))\n",
            "",
            "layers.Reshape((num_users, 1))",
            "`len(users)`",
        ),
        ("", "        if self.num_users > 4:\n            dot = dot * 2\n", "if self.num_users > 4", "decides an if"),
        ("", "        dot = dot / self.num_users\n", "dot = dot / self.num_users", "known only when the script runs"),
    ],
    ids=["arithmetic", "range", "shape", "if", "read-in-call"],
)
def test_a_size_known_at_run_time_that_decides_structure_is_a_located_K2T103(extra_init, extra_call, at, words):
    source, result = convert(extra_init, extra_call)
    assert (line_of(source, at), "K2T103") in located(result), [d.format() for d in result.diagnostics]
    message = next(d.message for d in result.diagnostics if d.line == line_of(source, at))
    assert words in message, message
    assert not result.ok


def test_a_keras_object_passed_to_the_constructor_stays_a_located_K2T103():
    built = BUILT.replace("Recommender(len(users),", "Recommender(keras.layers.Dense(3),")
    source, result = convert(built=built)
    assert (line_of(source, "keras.layers.Dense(3)"), "K2T103") in located(result), [
        d.format() for d in result.diagnostics
    ]


def test_the_keras_io_collaborative_filtering_script_converts_without_a_diagnostic():
    from pathlib import Path

    path = (
        Path(__file__).parent
        / "corpus"
        / "scripts"
        / ("keras-team__keras-io__examples__structured_data__collaborative_filtering_movielens.py")
    )
    if not path.is_file():
        pytest.skip("the corpus scripts are not committed (tests/corpus/README.md)")
    source = path.read_text(encoding="utf-8")
    result = k2t.convert_source(source, filename=path.name)
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    assert "model = RecommenderNet(num_users=num_users, num_movies=num_movies).to(device)" in result.output
    assert "outputs = model(inputs)" not in result.output and "layers.Input" not in result.output
    assert "lr=0.001" in result.output
    assert_no_undefined_names(result.output, source=source)


def test_dot_made_in_call_is_the_merge_layer():
    _, result = convert()
    forward = result.output.split("def logits(", 1)[1] if "def logits(" in result.output else result.output
    assert textwrap.dedent("(user_vector * item_vector).sum(dim=-1, keepdim=True)") in forward


def test_variance_scaling_of_a_functional_embedding_sized_at_run_time_reads_the_layer_too():
    # The same reset_parameters for a Functional model whose vocabulary is a constructor parameter (`vocab`): the
    # script's global of that name made the output run, but reset_parameters never received the parameter.
    source = textwrap.dedent(
        """\
        import numpy as np
        import keras
        from keras import layers

        ids = np.random.RandomState(0).randint(0, 20, size=(64, 1)).astype("float32")
        inputs = keras.Input(shape=(1,))
        h = layers.Embedding(int(ids.max()) + 1, 8, embeddings_initializer="he_uniform")(inputs)
        outputs = layers.Dense(1)(layers.Flatten()(h))
        model = keras.Model(inputs, outputs)
        model.compile(loss="mse", optimizer="adam")
        model.fit(ids, np.zeros((64, 1), "float32"), epochs=1, verbose=0)
        """
    )
    result = k2t.convert_source(source, filename="case.py")
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    assert "limit = math.sqrt(3 * 2 / self.embedding.num_embeddings)" in result.output
    assert_no_undefined_names(result.output)


@pytest.mark.parametrize(
    "call", ["layers.Dot(axes=1)(user_vector, item_vector)", "layers.Dot(axes=1)()"], ids=["two-arguments", "none"]
)
def test_a_merge_layer_made_in_call_on_anything_but_a_list_is_a_located_K2T103(call):
    source = HEAD + "\n\n" + INIT.format(extra_init="", extra_call="")
    source = source.replace("layers.Dot(axes=1)([user_vector, item_vector])", call) + BUILT
    result = k2t.convert_source(source, filename="case.py")
    assert (line_of(source, call), "K2T103") in located(result), [d.format() for d in result.diagnostics]


def test_dense_units_known_at_run_time_size_the_next_layer_too():
    extra_init = (
        '        self.hidden = layers.Dense(num_users, activation="relu")\n        self.score = layers.Dense(1)\n'
    )
    _, result = convert(extra_init, "        dot = self.score(self.hidden(user_vector)) + dot\n")
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    assert "self.hidden = nn.Linear(8, num_users)" in result.output
    assert "self.score = nn.Linear(num_users, 1)" in result.output
    assert_no_undefined_names(result.output)


@pytest.mark.parametrize(
    ("given", "passed"),
    [
        ("ids.shape[0]", "num_users=ids.shape[0]"),
        ("int(ids[:, 0].max()) + 1", "num_users=int(ids[:, 0].max()) + 1"),
        ("len(users)", "num_users=len(users)"),
    ],
)
def test_the_constructor_parameter_takes_init_s_name_where_the_script_writes_an_expression(given, passed):
    _, result = convert(built=BUILT.replace("Recommender(len(users),", f"Recommender({given},"))
    assert result.ok and not result.diagnostics, [d.format() for d in result.diagnostics]
    assert f"model = Recommender({passed}, n_items=n_items).to(device)" in result.output
    assert "nn.Embedding(num_users, 8, sparse=True)" in result.output
