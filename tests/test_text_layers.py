"""Preprocessing layers of strings and integers (TextVectorization, StringLookup, IntegerLookup,
CategoryEncoding, Discretization, Hashing) become generated NumPy classes.

Exactness: the classes k2t writes into a converted script (taken from its output, not from the
templates) and Keras 3.15's own layers get the same inputs and options: the same vocabulary in the
same order (count, then ties as Keras breaks them), the same integer arrays (values, shape, dtype),
the same encodings, the same inverted tokens, the same FarmHash bins (Hashing, OOV buckets).
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import requires_keras

import k2t

# Every feature of the classes (encodings, tf_idf, invert, hashed OOV), so that the generated classes hold them all.
SCRIPT = """
import tensorflow as tf
from tensorflow.keras import layers
vectorize = layers.TextVectorization(output_mode="tf_idf")
vectorize.adapt(["a"])
strings = layers.StringLookup(vocabulary=["a"], invert=True)
tokens = strings([1])
buckets = layers.StringLookup(num_oov_indices=2)
buckets.adapt(["a"])
hashing = layers.Hashing(num_bins=3, salt=7)
hashed = hashing(["a"])
integers = layers.IntegerLookup()
integers.adapt([1])
encoding = layers.CategoryEncoding(num_tokens=3)
encoded = encoding([0])
discretize = layers.Discretization(bin_boundaries=[0.0])
bins = discretize([1.0])
quantiles = layers.Discretization(num_bins=4)
quantiles.adapt(tf.data.Dataset.from_tensor_slices([1.0, 2.0]).batch(1))
"""

TEXTS = [
    "The cat sat on the mat.",
    "THE DOG ate my homework!!! Then the dog slept...",
    "A cat, a dog, and a bird: friends?",
    "tie-break: zebra yak xenon zebra yak xenon",
    "",
    "Tabs\tand\nnewlines\tare   separators; so-called 'quotes' [too]",
    "Café ÉCOLE naïve — ünïcode «quotes»",
]
UNSEEN = ["the zebra met an aardvark", "Cat? CAT! cat.", "", "nothing known here at all, really nothing"]


def convert(source: str) -> str:
    result = k2t.convert_source(source, "script.py")
    assert not result.diagnostics, [d.format() for d in result.diagnostics]
    return result.output


@pytest.fixture(scope="module")
def ours() -> dict:
    namespace: dict = {"__name__": "converted"}
    exec(compile(convert(SCRIPT), "converted.py", "exec"), namespace)  # noqa: S102 (the test runs k2t's output)
    return namespace


@pytest.fixture(scope="module")
def keras_layers():
    pytest.importorskip("tensorflow")
    from keras import layers

    return layers


def _same(mine, theirs, label: str = "") -> None:
    theirs = np.asarray(theirs)
    assert mine.dtype == theirs.dtype and mine.shape == theirs.shape, (label, mine.dtype, theirs.dtype, mine.shape, theirs.shape)
    np.testing.assert_array_equal(mine, theirs, err_msg=label)


VECTORIZATION = [
    {},
    {"output_sequence_length": 5},
    {"output_sequence_length": 30},
    {"max_tokens": 8},
    {"max_tokens": 8, "output_sequence_length": 4},
    {"output_mode": "multi_hot"},
    {"output_mode": "count", "max_tokens": 10},
    {"output_mode": "tf_idf"},
    {"output_mode": "multi_hot", "max_tokens": 12, "pad_to_max_tokens": True},
    {"ngrams": 2},
    {"ngrams": (2, 3), "output_mode": "count"},
    {"split": "character", "max_tokens": 15},
    {"standardize": "lower"},
    {"standardize": None},
    {"standardize": "strip_punctuation"},
]


@requires_keras
@pytest.mark.parametrize("options", VECTORIZATION, ids=[str(o) for o in VECTORIZATION])
def test_text_vectorization_adapts_and_vectorizes_as_keras(ours, keras_layers, options):
    mine, theirs = ours["TextVectorization"](**options), keras_layers.TextVectorization(**options)
    mine.adapt(TEXTS)
    theirs.adapt(TEXTS)
    assert mine.get_vocabulary() == theirs.get_vocabulary()
    assert mine.get_vocabulary(include_special_tokens=False) == theirs.get_vocabulary(include_special_tokens=False)
    assert mine.vocabulary_size() == theirs.vocabulary_size()
    for texts in (TEXTS, UNSEEN, np.array(UNSEEN)[:, None]):
        _same(mine(texts), theirs(texts), str(texts))


@requires_keras
def test_text_vectorization_adapts_on_batches_and_bytes_as_keras(ours, keras_layers):
    """A dataset's batches (here tf.data's, and the same batches as a plain iterable), bytes as tf.string holds them."""
    import tensorflow as tf

    mine, theirs = ours["TextVectorization"](max_tokens=9, output_mode="tf_idf"), keras_layers.TextVectorization(max_tokens=9, output_mode="tf_idf")
    dataset = tf.data.Dataset.from_tensor_slices(TEXTS).batch(3)
    theirs.adapt(dataset)
    mine.adapt(batch.numpy() for batch in dataset)
    assert mine.get_vocabulary() == theirs.get_vocabulary()
    _same(mine(np.array([t.encode() for t in UNSEEN], dtype=object)), theirs(UNSEEN))


@requires_keras
def test_text_vectorization_with_a_vocabulary_as_keras(ours, keras_layers):
    vocabulary = ["the", "cat", "dog", "a"]
    mine = ours["TextVectorization"](vocabulary=vocabulary, output_sequence_length=6)
    theirs = keras_layers.TextVectorization(vocabulary=vocabulary, output_sequence_length=6)
    assert mine.get_vocabulary() == theirs.get_vocabulary()
    _same(mine(TEXTS), theirs(TEXTS))
    weights = [0.5, 1.5, 2.0, 3.0]
    mine = ours["TextVectorization"](vocabulary=vocabulary, output_mode="tf_idf", idf_weights=weights)
    theirs = keras_layers.TextVectorization(vocabulary=vocabulary, output_mode="tf_idf", idf_weights=weights)
    _same(mine(UNSEEN), theirs(UNSEEN))


WORDS = np.array([["b", "a", "c", "a"], ["d", "b", "a", "e"], ["", "c", "b", "z"]])
STRING_LOOKUP = [
    {},
    {"mask_token": ""},
    {"max_tokens": 4},
    {"num_oov_indices": 0, "mask_token": "z"},
    {"num_oov_indices": 3},
    {"num_oov_indices": 2, "mask_token": "", "output_mode": "count"},
    {"oov_token": "<?>", "mask_token": "[MASK]"},
    {"output_mode": "one_hot"},
    {"output_mode": "multi_hot", "mask_token": ""},
    {"output_mode": "count"},
    {"output_mode": "tf_idf"},
    {"output_mode": "multi_hot", "max_tokens": 9, "pad_to_max_tokens": True},
]


@requires_keras
@pytest.mark.parametrize("options", STRING_LOOKUP, ids=[str(o) for o in STRING_LOOKUP])
def test_string_lookup_as_keras(ours, keras_layers, options):
    mine, theirs = ours["StringLookup"](**options), keras_layers.StringLookup(**options)
    mine.adapt(WORDS)
    theirs.adapt(WORDS)
    assert mine.get_vocabulary() == theirs.get_vocabulary()
    inputs = WORDS if options.get("output_mode", "int") == "int" else WORDS[:, 1] if options.get("output_mode") == "one_hot" else WORDS
    _same(mine(inputs), theirs(inputs))
    _same(mine(["a", "q"]), theirs(["a", "q"])) if options.get("num_oov_indices", 1) else None


@requires_keras
def test_string_lookup_vocabulary_and_invert_as_keras(ours, keras_layers):
    for vocabulary in (["x", "y", "w"], ["[UNK]", "x", "y", "w"]):
        mine, theirs = ours["StringLookup"](vocabulary=vocabulary), keras_layers.StringLookup(vocabulary=vocabulary)
        assert mine.get_vocabulary() == theirs.get_vocabulary()
        _same(mine([["w", "v"], ["x", "y"]]), theirs([["w", "v"], ["x", "y"]]))
    options = {"vocabulary": ["x", "y", "w"], "invert": True, "mask_token": ""}
    mine, theirs = ours["StringLookup"](**options), keras_layers.StringLookup(**options)
    indices = [[0, 1, 2], [3, 4, 7]]
    _same(mine(indices), theirs(indices).numpy())


INTEGERS = np.array([[7, 3, 3, 9], [3, 12, 7, 0], [5, 5, 5, -2]])
INTEGER_LOOKUP = [
    {},
    {"mask_token": 0},
    {"max_tokens": 4},
    {"num_oov_indices": 2},
    {"num_oov_indices": 3, "mask_token": 0, "oov_token": -7},
    {"output_mode": "multi_hot"},
    {"output_mode": "count", "mask_token": 0},
    {"output_mode": "tf_idf"},
]


@requires_keras
@pytest.mark.parametrize("options", INTEGER_LOOKUP, ids=[str(o) for o in INTEGER_LOOKUP])
def test_integer_lookup_as_keras(ours, keras_layers, options):
    mine, theirs = ours["IntegerLookup"](**options), keras_layers.IntegerLookup(**options)
    mine.adapt(INTEGERS)
    theirs.adapt(INTEGERS)
    assert mine.get_vocabulary() == [int(v) for v in theirs.get_vocabulary()]
    _same(mine(INTEGERS), theirs(INTEGERS))
    unseen = np.array([[100, 3, 41], [-5, 0, 6]])
    _same(mine(unseen), theirs(unseen))


@requires_keras
def test_integer_lookup_vocabulary_and_invert_as_keras(ours, keras_layers):
    mine, theirs = ours["IntegerLookup"](vocabulary=[12, 36, 1138, 42]), keras_layers.IntegerLookup(vocabulary=[12, 36, 1138, 42])
    _same(mine([[12, 1138, 42], [42, 1000, 36]]), theirs([[12, 1138, 42], [42, 1000, 36]]))
    options = {"vocabulary": [12, 36, 1138, 42], "invert": True}
    mine, theirs = ours["IntegerLookup"](**options), keras_layers.IntegerLookup(**options)
    _same(mine([[1, 3, 4], [0, 9, 2]]), theirs([[1, 3, 4], [0, 9, 2]]))


CATEGORIES = [
    ({"num_tokens": 4, "output_mode": "one_hot"}, [3, 2, 0, 1]),
    ({"num_tokens": 4, "output_mode": "one_hot"}, [[3], [2], [0]]),
    ({"num_tokens": 4, "output_mode": "one_hot"}, [[3, 1], [2, 2]]),
    ({"num_tokens": 4, "output_mode": "multi_hot"}, [[0, 1], [0, 0], [1, 2], [3, 1]]),
    ({"num_tokens": 4, "output_mode": "multi_hot"}, [1, 3]),
    ({"num_tokens": 4, "output_mode": "count"}, [[0, 1, 1], [3, 3, 3]]),
    ({"num_tokens": 5}, 2),
]


@requires_keras
@pytest.mark.parametrize(("options", "inputs"), CATEGORIES, ids=[f"{o}-{i}" for o, i in CATEGORIES])
def test_category_encoding_as_keras(ours, keras_layers, options, inputs):
    _same(ours["CategoryEncoding"](**options)(inputs), keras_layers.CategoryEncoding(**options)(inputs))


@requires_keras
def test_category_encoding_count_weights_as_keras(ours, keras_layers):
    inputs, weights = [[0, 1, 1], [3, 3, 2]], [[0.5, 2.0, 1.0], [1.0, 1.0, 4.0]]
    mine = ours["CategoryEncoding"](num_tokens=4, output_mode="count")(inputs, count_weights=weights)
    _same(mine, keras_layers.CategoryEncoding(num_tokens=4, output_mode="count")(inputs, count_weights=weights))


VALUES = np.array([[-1.5, 0.0, 0.2], [1.0, 2.5, 10.0]], dtype="float32")


@requires_keras
@pytest.mark.parametrize("output_mode", ["int", "one_hot", "multi_hot", "count"])
def test_discretization_as_keras(ours, keras_layers, output_mode):
    boundaries = [0.0, 1.0, 2.5]
    inputs = VALUES[0] if output_mode == "one_hot" else VALUES
    mine = ours["Discretization"](bin_boundaries=boundaries, output_mode=output_mode)(inputs)
    _same(mine, keras_layers.Discretization(bin_boundaries=boundaries, output_mode=output_mode)(inputs))


QUANTILE_DATA = {
    "array": lambda rng: rng.normal(size=(40, 3)).astype("float32"),
    "many values": lambda rng: rng.exponential(size=1000),
    "ties": lambda rng: rng.randint(0, 5, size=(300,)).astype("float64"),
    "fewer values than bins": lambda rng: np.array([3.0, -1.0, 2.0]),
    "list of batches": lambda rng: [rng.normal(size=(7,)), rng.normal(size=(60,)), rng.uniform(size=(5, 2))],
    "plain list": lambda rng: [0.5, -2.0, 3.25, 1.0, 1.0, 7.5],
}


@requires_keras
@pytest.mark.parametrize("data", list(QUANTILE_DATA))
@pytest.mark.parametrize(("num_bins", "epsilon"), [(4, 0.01), (3, 0.1), (10, 0.05), (150, 0.01)])
def test_discretization_adapts_num_bins_as_keras(ours, keras_layers, data, num_bins, epsilon):
    """Keras's quantile sketch (summaries merged batch by batch, compressed by interpolation): the same
    float32 boundaries, then the same bins and encodings, for arrays, lists (each item one batch) and batches."""
    values = QUANTILE_DATA[data](np.random.RandomState(num_bins))
    mine, theirs = ours["Discretization"](num_bins=num_bins, epsilon=epsilon), keras_layers.Discretization(num_bins=num_bins, epsilon=epsilon)
    mine.adapt(values)
    theirs.adapt(values)
    assert np.asarray(mine.bin_boundaries).tolist() == theirs.bin_boundaries
    probe = np.linspace(-3.0, 8.0, 45, dtype="float32").reshape(9, 5)
    _same(mine(probe), theirs(probe), data)


@requires_keras
def test_discretization_adapts_on_a_dataset_with_steps_as_keras(ours, keras_layers):
    import tensorflow as tf

    values = np.random.RandomState(0).normal(size=(200, 2)).astype("float32")
    mine = ours["Discretization"](num_bins=5, output_mode="one_hot")
    theirs = keras_layers.Discretization(num_bins=5, output_mode="one_hot")
    mine.adapt(ours["ArrayDataset"].from_tensor_slices(values).batch(16), steps=6)
    theirs.adapt(tf.data.Dataset.from_tensor_slices(values).batch(16), steps=6)
    assert np.asarray(mine.bin_boundaries).tolist() == theirs.bin_boundaries
    _same(mine(values[:, 0]), theirs(values[:, 0]))


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("layer = layers.StringLookup(encoding='latin-1')", "StringLookup(encoding='latin-1') is not translated"),
        ("layer = layers.TextVectorization(standardize=my_standardize)", "TextVectorization(standardize=my_standardize) is not translated"),
        ("layer = layers.CategoryEncoding(num_tokens=4, sparse=True)", "CategoryEncoding(sparse=True) is not translated"),
    ],
)
def test_what_is_not_reproduced_is_a_located_k2t102(line, message):
    source = f"from tensorflow.keras import layers\nmy_standardize = str.lower\n{line}\nlayer.adapt(['a'])\n"
    result = k2t.convert_source(source, "script.py")
    [diagnostic] = result.diagnostics
    assert (diagnostic.code, diagnostic.line) == ("K2T102", 3)
    assert message in diagnostic.message


def test_dataset_of_strings_is_vectorized_in_map():
    """keras.io's `text = tf.expand_dims(text, -1); return vectorize_layer(text), label` over a batched
    dataset of in-memory strings: the converted pipeline gives the generated layer the batch of texts."""
    source = (
        "import tensorflow as tf\nfrom tensorflow.keras import layers\n"
        "texts = ['a b', 'b c d', 'a']\nlabels = [0, 1, 0]\n"
        "vectorize_layer = layers.TextVectorization(output_sequence_length=3)\nvectorize_layer.adapt(texts)\n"
        "def vectorize_text(text, label):\n    text = tf.expand_dims(text, -1)\n    return vectorize_layer(text), label\n"
        "ds = tf.data.Dataset.from_tensor_slices((texts, labels)).batch(2).map(vectorize_text)\n"
        "batches = [(x.tolist(), y.tolist()) for x, y in ds]\n"
    )
    namespace: dict = {"__name__": "converted"}
    exec(compile(convert(source), "converted.py", "exec"), namespace)  # noqa: S102 (the test runs k2t's output)
    # Vocabulary: "", "[UNK]", then b (2 counts), then the ties a, d, c as Keras breaks them (larger first)... a has 2.
    assert namespace["vectorize_layer"].get_vocabulary() == ["", "[UNK]", "b", "a", "d", "c"]
    assert namespace["batches"] == [([[3, 2, 0], [2, 5, 4]], [0, 1]), ([[3, 0, 0]], [0])]


def test_generated_classes_hold_only_what_the_script_uses():
    """An "int" TextVectorization gets no encodings, no idf weights and no inversion; a tf_idf one gets them."""
    source = "from tensorflow.keras import layers\nvectorize = layers.TextVectorization(output_sequence_length=4)\nvectorize.adapt(['a b'])\n"
    output = convert(source)
    for absent in ("encode_categorical", "bincount_rows", "idf_weights = ", "def inverted", "document_counts.update"):
        assert absent not in output, absent
    output = convert(source.replace("output_sequence_length=4", "output_mode=mode").replace("vectorize =", "mode = 'tf_idf'\nvectorize ="))
    for present in ("def bincount_rows", "document_counts.update", "def weighted"):
        assert present in output, present
    assert "def inverted" not in output


@requires_keras
def test_text_directory_dataset_adapted_and_vectorized_as_keras(tmp_path):
    """keras.io's text_classification_from_scratch pipeline: text_dataset_from_directory, adapt on
    `ds.map(lambda x, y: x)`, then `tf.expand_dims` and the layer in a map: the same vocabulary and batches."""
    words = ["good", "bad", "The", "film", "was", "VERY", "plot", "fine", "poor"]
    rng = np.random.RandomState(0)
    for label in ("neg", "pos"):
        (tmp_path / "train" / label).mkdir(parents=True)
        for i in range(7):
            (tmp_path / "train" / label / f"{i}.txt").write_text(" ".join(rng.choice(words, size=rng.randint(2, 9))) + "<br />.")
    source = f"""
import keras
import tensorflow as tf
from keras import layers
raw_train_ds = keras.utils.text_dataset_from_directory({str(tmp_path / "train")!r}, batch_size=4, shuffle=False)
vectorize_layer = layers.TextVectorization(max_tokens=12, output_sequence_length=5)
vectorize_layer.adapt(raw_train_ds.map(lambda x, y: x))
def vectorize_text(text, label):
    text = tf.expand_dims(text, -1)
    return vectorize_layer(text), label
batches = [(x.numpy().tolist(), y.numpy().tolist()) for x, y in raw_train_ds.map(vectorize_text)]
vocabulary = vectorize_layer.get_vocabulary()
"""
    theirs: dict = {"__name__": "keras_side"}
    exec(compile(source, "keras_side.py", "exec"), theirs)  # noqa: S102 (the Keras script itself)
    ours: dict = {"__name__": "converted"}
    exec(compile(convert(source), "converted.py", "exec"), ours)  # noqa: S102 (the test runs k2t's output)
    assert ours["vocabulary"] == theirs["vocabulary"]
    assert ours["batches"] == theirs["batches"]


HASHED = [
    ["good", "bad", "", "a much longer string of text than sixty-four bytes, to reach FarmHash's long loop"],
    [[3, -14, 0], [1234567890123, 7, 7]],
    np.array([[0.5, -2.7], [3.0, 100.9]], dtype="float32"),
    np.array([b"caf\xc3\xa9", b"x" * 17, b"y" * 40, b"z" * 130], dtype=object),
]
HASHING = [
    {"num_bins": 3},
    {"num_bins": 1000},
    {"num_bins": 5, "mask_value": ""},
    {"num_bins": 4, "output_mode": "multi_hot"},
    {"num_bins": 4, "output_mode": "count"},
    {"num_bins": 3, "salt": 133},
    {"num_bins": 1000, "salt": [133, 137]},
    {"num_bins": 5, "mask_value": "", "salt": (2**62 + 11, 0)},
]


@requires_keras
@pytest.mark.parametrize("options", HASHING, ids=[str(o) for o in HASHING])
def test_hashing_as_keras(ours, keras_layers, options):
    mine, theirs = ours["Hashing"](**options), keras_layers.Hashing(**options)
    for inputs in HASHED:
        if options.get("mask_value") == "" and not isinstance(inputs[0], str):
            continue
        if options.get("output_mode", "int") != "int" and np.asarray(inputs).ndim != 2:
            continue
        _same(mine(inputs), theirs(inputs), str(inputs))


@requires_keras
def test_hashing_integers_with_a_mask_and_one_hot_as_keras(ours, keras_layers):
    inputs = [[3], [0], [12], [99]]
    _same(ours["Hashing"](num_bins=6, mask_value=0)(inputs), keras_layers.Hashing(num_bins=6, mask_value=0)(inputs))
    _same(ours["Hashing"](num_bins=6, output_mode="one_hot")(inputs), keras_layers.Hashing(num_bins=6, output_mode="one_hot")(inputs))


@requires_keras
def test_siphash_is_tensorflows_strong_hash_for_every_length(ours):
    """SipHash-2-4 as to_hash_bucket_strong keys it: every tail length, several blocks, keys with high bits."""
    import tensorflow as tf

    rng = np.random.RandomState(2)
    texts = [bytes(rng.randint(0, 256, size=length).astype("uint8")) for length in [*range(70), 255, 1000]]
    buckets = 2**63 - 1  # the largest int64: the bucket is nearly the hash itself
    for key in ([0, 0], [133, 137], [2**63 - 2, 2**62 + 5]):
        theirs = tf.strings.to_hash_bucket_strong(tf.constant(texts), buckets, key=key).numpy().tolist()
        assert [ours["siphash"](key, text) % buckets for text in texts] == theirs, key


@requires_keras
def test_farmhash_fingerprint64_is_tensorflows_for_every_length(ours):
    """Every branch of farmhashna::Hash64 (0-3, 4-7, 8-16, 17-32, 33-64 bytes, the 64-byte loop and its tail)."""
    import tensorflow as tf

    rng = np.random.RandomState(1)
    texts = [bytes(rng.randint(0, 256, size=length).astype("uint8")) for length in [*range(200), 255, 256, 257, 1000, 4097]]
    theirs = [int.from_bytes(bytes(row), "little") for row in tf.fingerprint(tf.constant(texts)).numpy()]
    assert [ours["farmhash_fingerprint64"](text) for text in texts] == theirs
