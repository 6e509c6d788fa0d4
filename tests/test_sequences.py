"""keras.utils.pad_sequences / keras.preprocessing.sequence.pad_sequences and keras.utils.normalize:
every spelling becomes a call of a generated numpy function.

Exactness: the function k2t writes into the output (taken from a converted script, not from the
template) and Keras 3's own pad_sequences get the same ragged inputs under every combination of
options; both return arrays equal in values, dtype and shape, or both raise the same error.
"""

from __future__ import annotations

import itertools
import re
import textwrap

import numpy as np
import pytest
from conftest import requires_keras
from undefined import assert_no_undefined_names
from unwrapped import unwrapped

import k2t

SPELLINGS: dict[str, str] = {
    "keras2_module": "from keras.preprocessing import sequence\npadded = sequence.pad_sequences(sequences, maxlen=3)",
    "keras2_function": "from keras.preprocessing.sequence import pad_sequences\npadded = pad_sequences(sequences, 3)",
    "tf_keras_attribute": "import tensorflow as tf\npadded = tf.keras.preprocessing.sequence.pad_sequences(sequences, maxlen=3)",
    "tf_keras_utils": "from tensorflow.keras.utils import pad_sequences\npadded = pad_sequences(sequences, maxlen=3)",
    "keras3": "import keras\npadded = keras.utils.pad_sequences(sequences, maxlen=3)",
    "tf_data_utils": "from tensorflow.keras.utils.data_utils import pad_sequences\npadded = pad_sequences(sequences, maxlen=3)",
    "keras_preprocessing": "from keras_preprocessing.sequence import pad_sequences\npadded = pad_sequences(sequences, maxlen=3)",
}


def convert(source: str) -> str:
    result = k2t.convert_source(source, "script.py")
    assert not result.diagnostics, [d.format() for d in result.diagnostics]
    return result.output


def run(output: str) -> dict:
    namespace: dict = {"__name__": "converted"}
    exec(compile(output, "converted.py", "exec"), namespace)  # noqa: S102 (the test runs k2t's output)
    return namespace


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_every_spelling_becomes_the_generated_function(spelling):
    output = convert("sequences = [[1], [2, 3], [4, 5, 6, 7]]\n" + SPELLINGS[spelling] + "\n")
    # The import of Keras's pad_sequences goes: the generated function takes its name.
    assert re.search(r"^def pad_sequences\(sequences, maxlen=None, dtype=\"int32\"", unwrapped(output), re.MULTILINE), output
    imports = [line for line in output.splitlines() if line.startswith(("import ", "from "))]
    assert not [line for line in imports if "keras" in line or "tensorflow" in line], imports
    assert_no_undefined_names(output)
    padded = run(output)["padded"]
    assert padded.dtype == np.int32
    assert padded.tolist() == [[0, 0, 1], [0, 2, 3], [5, 6, 7]]


def test_an_argument_keras_does_not_have_is_reported():
    result = k2t.convert_source(
        "from keras.preprocessing import sequence\nx = sequence.pad_sequences([[1]], nb_words=3)\n", "script.py"
    )
    assert [d.code for d in result.diagnostics] == ["K2T100"]


@pytest.fixture(scope="module")
def generated_pad_sequences():
    """The pad_sequences k2t writes into a converted script."""
    return run(convert("import keras\npadded = keras.utils.pad_sequences([[1]])\n"))["pad_sequences"]


@pytest.fixture(scope="module")
def keras_pad_sequences():
    pytest.importorskip("tensorflow")
    from keras.src.utils.sequence_utils import pad_sequences

    return pad_sequences


def _ragged(seed: int, count: int, longest: int) -> list[list[int]]:
    rng = np.random.default_rng(seed)
    return [rng.integers(1, 1000, size=int(rng.integers(0, longest + 1))).tolist() for _ in range(count)]


def _object_array(lists: list[list[int]]) -> np.ndarray:
    """What imdb.load_data returns: a 1-D object array of lists."""
    array = np.empty(len(lists), dtype=object)
    array[:] = lists
    return array


# Inputs: random ragged int lists (empty ones included), imdb's object arrays, numpy rows,
# samples with a shape of their own, and the inputs Keras refuses.
INPUTS: dict[str, object] = {
    "ragged": _ragged(0, 20, 12),
    "ragged_long": _ragged(1, 8, 60),
    "with_empty": [[], [3, 1], [], [7, 8, 9, 10, 11, 12]],
    "all_empty": [[], []],
    "no_sequences": [],
    "object_array": _object_array(_ragged(2, 10, 9)),
    "numpy_rows": [np.arange(n, dtype="int64") + 1 for n in (0, 4, 9, 2)],
    "pairs": [[[1, 2], [3, 4]], [[5, 6]], [], [[7, 8], [9, 10], [11, 12]]],
    "pairs_mismatched": [[[1, 2]], [[3, 4, 5]]],
    "not_iterable": 5,
    "non_iterable_item": [[1, 2], 3],
}
MAXLENS = (None, 0, 1, 5, 30)
DTYPES = ("int32", "int64", "float32", "float64", "int8", object, "<U4")
PADDINGS = ("pre", "post", "middle")
VALUES = (0.0, -1, 2.5, "<pad>")


def _outcome(function, sequences, kwargs: dict):
    try:
        return function(sequences, **kwargs)
    except Exception as exc:  # noqa: BLE001 (the error itself is compared)
        return exc


def _assert_same(ours, theirs, label: str) -> None:
    if isinstance(theirs, Exception):
        assert isinstance(ours, Exception), f"{label}: Keras raised {theirs!r}, k2t returned {ours!r}"
        assert (type(ours), str(ours)) == (type(theirs), str(theirs)), label
        return
    assert not isinstance(ours, Exception), f"{label}: k2t raised {ours!r}"
    assert ours.dtype == theirs.dtype and ours.shape == theirs.shape, label
    assert np.array_equal(ours, theirs), label


@requires_keras
@pytest.mark.parametrize(
    ("maxlen", "dtype", "padding", "truncating"), list(itertools.product(MAXLENS, DTYPES, PADDINGS, PADDINGS))
)
def test_same_arrays_as_keras(generated_pad_sequences, keras_pad_sequences, maxlen, dtype, padding, truncating):
    for (name, sequences), value in itertools.product(INPUTS.items(), VALUES):
        kwargs = {"maxlen": maxlen, "dtype": dtype, "padding": padding, "truncating": truncating, "value": value}
        theirs = _outcome(keras_pad_sequences, sequences, kwargs)
        _assert_same(_outcome(generated_pad_sequences, sequences, kwargs), theirs, f"{name} {kwargs}")


@requires_keras
@pytest.mark.parametrize("padding", ("pre", "post"))
@pytest.mark.parametrize("dtype", (object, "<U6", "S6", "int32"))
@pytest.mark.parametrize("value", ("<pad>", 0.0))
def test_same_string_arrays_as_keras(generated_pad_sequences, keras_pad_sequences, padding, dtype, value):
    tokens = [["the", "cat"], [], ["a", "very", "long", "sentence", "indeed"], ["x"]]
    for maxlen in (None, 3):
        kwargs = {"maxlen": maxlen, "dtype": dtype, "padding": padding, "truncating": "post", "value": value}
        theirs = _outcome(keras_pad_sequences, tokens, kwargs)
        _assert_same(_outcome(generated_pad_sequences, tokens, kwargs), theirs, str(kwargs))


@requires_keras
def test_defaults_are_keras_defaults(generated_pad_sequences, keras_pad_sequences):
    sequences = _ragged(3, 15, 20)
    _assert_same(generated_pad_sequences(sequences), keras_pad_sequences(sequences), "defaults")
    assert generated_pad_sequences(sequences).dtype == np.int32


def test_imdb_lstm_script_converts_with_no_undefined_names():
    source = textwrap.dedent(
        """\
        from keras.preprocessing import sequence
        from keras.models import Sequential
        from keras.layers import Dense, Embedding, LSTM
        from keras.datasets import imdb

        max_features = 20000
        maxlen = 80
        batch_size = 32

        (x_train, y_train), (x_test, y_test) = imdb.load_data(num_words=max_features)
        x_train = sequence.pad_sequences(x_train, maxlen=maxlen)
        x_test = sequence.pad_sequences(x_test, maxlen=maxlen)

        model = Sequential()
        model.add(Embedding(max_features, 128))
        model.add(LSTM(128))
        model.add(Dense(1, activation="sigmoid"))
        model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
        model.fit(x_train, y_train, batch_size=batch_size, epochs=15, validation_data=(x_test, y_test))
        """
    )
    output = convert(source)
    assert "x_train = pad_sequences(x_train, maxlen=maxlen)" in output
    assert "x_test = pad_sequences(x_test, maxlen=maxlen)" in output
    assert "load_imdb(num_words=max_features)" in output
    assert_no_undefined_names(output)


NORMALIZE_SPELLINGS = {
    "keras3": "import keras\nnormalized = keras.utils.normalize(x)",
    "tf_keras": "import tensorflow as tf\nnormalized = tf.keras.utils.normalize(x, axis=1, order=2)",
    "keras2_np_utils": "from keras.utils.np_utils import normalize\nnormalized = normalize(x, -1, 2)",
    "keras2_utils": "from keras.utils import normalize\nnormalized = normalize(x)",
}


@pytest.mark.parametrize("spelling", NORMALIZE_SPELLINGS)
def test_every_normalize_spelling_becomes_the_generated_function(spelling):
    output = convert(
        "import numpy as np\nx = np.array([[3.0, 4.0], [0.0, 0.0]])\n" + NORMALIZE_SPELLINGS[spelling] + "\n"
    )
    assert re.search(r"^def normalize\(x, axis=-1, order=2\):", output, re.MULTILINE), output
    imports = [line for line in output.splitlines() if line.startswith(("import ", "from "))]
    assert not [line for line in imports if "keras" in line or "tensorflow" in line], imports
    assert_no_undefined_names(output)
    assert run(output)["normalized"].tolist() == [[0.6, 0.8], [0.0, 0.0]]


@requires_keras
def test_normalize_is_keras_normalize():
    ours = run(convert("import keras\ny = keras.utils.normalize([[1.0]])\n"))["normalize"]
    from keras.src.utils.numerical_utils import normalize as theirs

    rng = np.random.default_rng(4)
    arrays = [
        rng.normal(size=(5, 3)),
        rng.normal(size=(4, 4)).astype("float32"),
        np.zeros((2, 3)),
        rng.normal(size=(2, 3, 4)),
        rng.integers(-3, 4, size=(3, 6)),
        rng.normal(size=(7,)),
    ]
    for x, axis, order in itertools.product(arrays, (-1, 0, 1, 2), (1, 2, np.inf)):
        label = f"{x.shape} {x.dtype} axis={axis} order={order}"
        mine, keras_result = (
            _outcome(ours, x, {"axis": axis, "order": order}),
            _outcome(theirs, x, {"axis": axis, "order": order}),
        )
        if isinstance(keras_result, Exception):
            assert (type(mine), str(mine)) == (type(keras_result), str(keras_result)), label
        else:
            assert mine.dtype == keras_result.dtype and mine.shape == keras_result.shape, label
            assert np.array_equal(mine, keras_result), label


def test_skipgrams_spellings_become_generated_functions():
    output = convert(
        textwrap.dedent(
            """\
            from keras.preprocessing.sequence import skipgrams
            from tensorflow.keras.preprocessing import sequence
            table = sequence.make_sampling_table(20)
            couples, labels = skipgrams([1, 2, 3, 0, 4], 20, window_size=1, sampling_table=None, seed=3)
            """
        )
    )
    assert "table = make_sampling_table(20)\n" in output
    assert "couples, labels = skipgrams([1, 2, 3, 0, 4], 20, window_size=1, sampling_table=None, seed=3)" in output
    imports = [line for line in output.splitlines() if line.startswith(("import ", "from "))]
    assert imports == ["import random", "import numpy as np"]
    assert_no_undefined_names(output)


@requires_keras
def test_skipgrams_and_sampling_table_are_keras_functions():
    """Both draw from Python's global `random`: seeded alike before each call, they return Keras's couples."""
    import random

    from keras.src.legacy.preprocessing import sequence as theirs

    ours = run(
        convert(
            "import tensorflow as tf\nt = tf.keras.preprocessing.sequence.make_sampling_table(3)\n"
            "s = tf.keras.preprocessing.sequence.skipgrams([1], 3)\n"
        )
    )
    for size, factor in itertools.product((1, 5, 50), (1e-5, 1e-2, 0.5)):
        mine, keras_table = ours["make_sampling_table"](size, factor), theirs.make_sampling_table(size, factor)
        assert mine.dtype == keras_table.dtype and np.array_equal(mine, keras_table)
    rng = np.random.default_rng(5)
    sentence = rng.integers(0, 30, size=40).tolist()
    table = theirs.make_sampling_table(30, sampling_factor=0.05)
    options = [
        {},
        {"window_size": 2, "negative_samples": 0.0},
        {"negative_samples": 2.5, "categorical": True},
        {"shuffle": False, "sampling_table": table},
        {"seed": 11, "sampling_table": table, "window_size": 3},
    ]
    for kwargs, seed in itertools.product(options, (0, 1)):
        random.seed(seed)
        keras_result = theirs.skipgrams(sentence, 30, **kwargs)
        keras_state = random.getstate()
        random.seed(seed)
        assert ours["skipgrams"](sentence, 30, **kwargs) == keras_result, kwargs
        assert random.getstate() == keras_state  # the same draws, no more


def test_keras1_slice_x_becomes_a_function_slicing_an_array_or_each_array_of_a_list():
    """keras/examples/addition_rnn.py (Keras 1): `from keras.engine.training import slice_X`."""
    source = (
        "import numpy as np\nfrom keras.engine.training import slice_X\n"
        "X = np.arange(20).reshape(10, 2)\ny = np.arange(10)\n"
        "head, tail = slice_X(X, 0, 7), slice_X(X, 7)\n"
        "pair = slice_X([X, y], 2, 4)\n"
        "picked = slice_X(X, np.array([3, 1]))\n"
        "picked_pair = slice_X([X, y], [0, 9])\n"
    )
    output = convert(source)
    assert "keras" not in output and "slice_rows(X, 0, 7)" in output
    assert_no_undefined_names(output)
    names = run(output)
    X, y = np.arange(20).reshape(10, 2), np.arange(10)
    assert names["head"].tolist() == X[:7].tolist() and names["tail"].tolist() == X[7:].tolist()
    assert [a.tolist() for a in names["pair"]] == [X[2:4].tolist(), y[2:4].tolist()]
    assert names["picked"].tolist() == X[[3, 1]].tolist()
    assert [a.tolist() for a in names["picked_pair"]] == [X[[0, 9]].tolist(), y[[0, 9]].tolist()]
