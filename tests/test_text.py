"""Keras 2's keras.preprocessing.text (Tokenizer, tokenizer_from_json, text_to_word_sequence, one_hot,
hashing_trick) becomes generated standard-library + numpy code.

Exactness: the definitions k2t writes into a converted script (taken from its output, not from the
templates) and Keras 3.15's legacy implementation get the same texts (punctuation, case, words
beyond num_words, unseen words, ties in counts, token lists, characters): same vocabularies in the
same order, same sequences, same matrices (values and dtype), same JSON, same errors.
"""

from __future__ import annotations

import collections
import itertools
import textwrap

import numpy as np
import pytest
from conftest import requires_keras
from undefined import assert_no_undefined_names

import k2t

TEXTS = [
    "The cat sat on the mat.",
    "THE DOG ate my homework!!! Then the dog slept...",
    "A cat, a dog, and a bird: friends?",
    "tie-break: zebra yak xenon zebra yak xenon",
    "",
    "Tabs\tand\nnewlines\tare separators; so-called 'quotes' too",
]
UNSEEN = ["the zebra met an aardvark", "Cat? CAT! cat.", "", "nothing known here"]
TOKEN_LISTS = [["The", "Cat", "sat"], ["the", "cat"], ["Dog"]]

# Every method of the Tokenizer, so that the generated class holds them all.
ALL_METHODS = """
from tensorflow.keras.preprocessing.text import Tokenizer, tokenizer_from_json, text_to_word_sequence, one_hot, hashing_trick
tokenizer = Tokenizer()
tokenizer.fit_on_texts(["a"])
tokenizer.fit_on_sequences([])
tokenizer.texts_to_sequences([])
tokenizer.texts_to_sequences_generator([])
tokenizer.sequences_to_texts([])
tokenizer.texts_to_matrix(["a"])
tokenizer.sequences_to_matrix([[1]])
restored = tokenizer_from_json(tokenizer.to_json())
words = text_to_word_sequence("a b")
hashed = hashing_trick("a b", 5, "md5")
hot = one_hot("a b", 5)
"""


def convert(source: str) -> str:
    result = k2t.convert_source(source, "script.py")
    assert not result.diagnostics, [d.format() for d in result.diagnostics]
    return result.output


def run(output: str) -> dict:
    namespace: dict = {"__name__": "converted"}
    exec(compile(output, "converted.py", "exec"), namespace)  # noqa: S102 (the test runs k2t's output)
    return namespace


@pytest.fixture(scope="module")
def ours() -> dict:
    return run(convert(ALL_METHODS))


@pytest.fixture(scope="module")
def theirs():
    pytest.importorskip("tensorflow")
    from keras.src.legacy.preprocessing import text

    return vars(text)


def _state(tokenizer) -> dict:
    """What a Tokenizer learned, with the types and orders of its dictionaries."""
    return {
        "word_counts": (type(tokenizer.word_counts).__name__, list(tokenizer.word_counts.items())),
        "word_docs": sorted(tokenizer.word_docs.items()),
        "index_docs": sorted(tokenizer.index_docs.items()),
        "word_index": list(tokenizer.word_index.items()),
        "index_word": list(tokenizer.index_word.items()),
        "document_count": tokenizer.document_count,
    }


def _outcome(function, *args, **kwargs):
    try:
        return function(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 (the error itself is compared)
        return (type(exc).__name__, str(exc))


def _same_matrix(a, b, label: str) -> None:
    if isinstance(b, tuple):
        assert a == b, label
        return
    assert a.dtype == b.dtype and a.shape == b.shape, label
    assert np.array_equal(a, b), label


OPTIONS = [
    {},
    {"num_words": 5},
    {"num_words": 5, "oov_token": "<unk>"},
    {"oov_token": "OOV"},
    {"lower": False},
    {"filters": "", "split": " "},
    {"split": ",", "filters": "."},
    {"char_level": True, "num_words": 8},
    {"char_level": True, "lower": False, "oov_token": "?"},
]


@requires_keras
@pytest.mark.parametrize("options", OPTIONS, ids=[str(o) for o in OPTIONS])
def test_tokenizer_learns_and_encodes_as_keras(ours, theirs, options):
    mine, keras_tokenizer = ours["Tokenizer"](**options), theirs["Tokenizer"](**options)
    for tokenizer in (mine, keras_tokenizer):
        tokenizer.fit_on_texts(TEXTS)
        tokenizer.fit_on_texts(TOKEN_LISTS)  # lists are taken as tokens
        tokenizer.fit_on_sequences([[1, 2, 2], [3]])
    assert _state(mine) == _state(keras_tokenizer)
    assert isinstance(mine.word_counts, collections.OrderedDict)
    for texts in (TEXTS, UNSEEN, TOKEN_LISTS):
        sequences = keras_tokenizer.texts_to_sequences(texts)
        assert mine.texts_to_sequences(texts) == sequences
        assert list(mine.texts_to_sequences_generator(texts)) == sequences
        assert mine.sequences_to_texts(sequences + [[0, 99, 1]]) == keras_tokenizer.sequences_to_texts(
            sequences + [[0, 99, 1]]
        )
        for mode in ("binary", "count", "tfidf", "freq", "one-hot"):
            label = f"{options} {mode}"
            _same_matrix(
                _outcome(mine.texts_to_matrix, texts, mode=mode),
                _outcome(keras_tokenizer.texts_to_matrix, texts, mode=mode),
                label,
            )
            _same_matrix(
                _outcome(mine.sequences_to_matrix, sequences, mode=mode),
                _outcome(keras_tokenizer.sequences_to_matrix, sequences, mode=mode),
                label,
            )
    assert mine.to_json() == keras_tokenizer.to_json()
    assert mine.to_json(indent=2, sort_keys=True) == keras_tokenizer.to_json(indent=2, sort_keys=True)


@requires_keras
def test_ties_keep_the_order_words_were_first_seen(ours, theirs):
    texts = ["b a c", "c b a", "d"]  # a, b, c twice each; d once
    mine, keras_tokenizer = ours["Tokenizer"](), theirs["Tokenizer"]()
    mine.fit_on_texts(texts)
    keras_tokenizer.fit_on_texts(texts)
    assert mine.word_index == keras_tokenizer.word_index == {"b": 1, "a": 2, "c": 3, "d": 4}
    assert list(mine.word_index) == list(keras_tokenizer.word_index)


@requires_keras
def test_unfitted_tokenizer_errors_are_keras_errors(ours, theirs):
    for options, mode in (({}, "binary"), ({"num_words": 4}, "tfidf")):
        mine, keras_tokenizer = ours["Tokenizer"](**options), theirs["Tokenizer"](**options)
        assert _outcome(mine.sequences_to_matrix, [[1]], mode=mode) == _outcome(
            keras_tokenizer.sequences_to_matrix, [[1]], mode=mode
        )


@requires_keras
def test_tokenizer_from_json_restores_what_keras_restores(ours, theirs):
    keras_tokenizer = theirs["Tokenizer"](num_words=6, oov_token="<unk>")
    keras_tokenizer.fit_on_texts(TEXTS)
    saved = keras_tokenizer.to_json()
    mine, restored = ours["tokenizer_from_json"](saved), theirs["tokenizer_from_json"](saved)
    assert _state(mine) == _state(restored)
    assert (mine.num_words, mine.oov_token, mine.filters) == (restored.num_words, restored.oov_token, restored.filters)
    assert mine.texts_to_sequences(UNSEEN) == restored.texts_to_sequences(UNSEEN)
    assert mine.to_json() == restored.to_json()


@requires_keras
@pytest.mark.parametrize(
    ("lower", "split", "filters"), list(itertools.product((True, False), (" ", "-"), (None, "aeiou")))
)
def test_word_functions_are_keras_functions(ours, theirs, lower, split, filters):
    options = {"lower": lower, "split": split, **({} if filters is None else {"filters": filters})}
    for text in TEXTS + UNSEEN:
        assert ours["text_to_word_sequence"](text, **options) == theirs["text_to_word_sequence"](text, **options)
        for hash_function in (None, "md5", len):
            mine = ours["hashing_trick"](text, 7, hash_function=hash_function, **options)
            assert mine == theirs["hashing_trick"](text, 7, hash_function=hash_function, **options)
        # Python's hash(), seeded once per process: the same here for both.
        assert ours["one_hot"](text, 11, **options) == theirs["one_hot"](text, 11, **options)


SPELLINGS = {
    "keras2": "from keras.preprocessing.text import Tokenizer\ntokenizer = Tokenizer(num_words=3)",
    "keras2_module": "from keras.preprocessing import text\ntokenizer = text.Tokenizer(num_words=3)",
    "tf_keras": "import tensorflow as tf\ntokenizer = tf.keras.preprocessing.text.Tokenizer(num_words=3)",
    "tensorflow_keras": "from tensorflow.keras.preprocessing.text import Tokenizer\ntokenizer = Tokenizer(num_words=3)",
    "keras_preprocessing": "from keras_preprocessing.text import Tokenizer\ntokenizer = Tokenizer(num_words=3)",
    "keras1_nb_words": "from keras.preprocessing.text import Tokenizer\ntokenizer = Tokenizer(nb_words=3)",
}


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_every_spelling_becomes_the_generated_class(spelling):
    source = (
        SPELLINGS[spelling]
        + "\ntokenizer.fit_on_texts(['a b b c c c'])\nsequences = tokenizer.texts_to_sequences(['c b a'])\n"
    )
    output = convert(source)
    assert "\nclass Tokenizer:\n" in output
    assert "tokenizer = Tokenizer(num_words=3)\n" in output
    imports = [line for line in output.splitlines() if line.startswith(("import ", "from "))]
    assert not [line for line in imports if "keras" in line or "tensorflow" in line], imports
    assert_no_undefined_names(output)
    assert run(output)["sequences"] == [[1, 2]]  # c, b; a is beyond num_words


def test_the_class_holds_only_the_methods_the_script_uses():
    """mlflow's Keras example: a Tokenizer that only turns index sequences into a matrix."""
    output = convert(
        textwrap.dedent(
            """\
            from keras.preprocessing.text import Tokenizer
            tokenizer = Tokenizer(num_words=1000)
            x_train = tokenizer.sequences_to_matrix([[1, 2], [3]], mode="binary")
            """
        )
    )
    defined = [
        line.strip().split("(")[0] for line in output.splitlines() if line.lstrip().startswith(("def ", "class "))
    ]
    assert defined == ["class Tokenizer:", "def __init__", "def sequences_to_matrix"]
    assert run(output)["x_train"].tolist()[1][:4] == [0.0, 0.0, 0.0, 1.0]


def test_a_fitting_script_gets_no_matrix_and_no_json_code():
    output = convert(
        textwrap.dedent(
            """\
            from keras.preprocessing.text import Tokenizer
            tokenizer = Tokenizer()
            tokenizer.fit_on_texts(["a b"])
            total_words = len(tokenizer.word_index) + 1
            """
        )
    )
    assert "def fit_on_texts(" in output and "def text_to_word_sequence(" in output
    assert "sequences_to_matrix" not in output and "to_json" not in output and "texts_to_sequences" not in output
    assert "import json" not in output
    assert run(output)["total_words"] == 3


def test_an_argument_keras_does_not_have_is_reported():
    result = k2t.convert_source(
        "from keras.preprocessing.text import Tokenizer\nt = Tokenizer(max_words=3)\n", "script.py"
    )
    assert [d.code for d in result.diagnostics] == ["K2T100"]


def test_nb_words_next_to_num_words_is_reported():
    result = k2t.convert_source(
        "from keras.preprocessing.text import Tokenizer\nt = Tokenizer(nb_words=3, num_words=4)\n", "script.py"
    )
    assert [d.code for d in result.diagnostics] == ["K2T100"]


def test_a_script_class_named_tokenizer_is_not_shadowed():
    source = "from keras.preprocessing import text\n\nclass Tokenizer:\n    pass\n\nt = text.Tokenizer()\n"
    output = convert(source)
    assert "t = Tokenizer_()" in output and "class Tokenizer:\n    pass" in output
