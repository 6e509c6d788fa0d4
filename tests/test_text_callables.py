"""TextVectorization's standardize= / split= functions written with tf.strings become plain Python functions
over one text (k2t.translate.text_callables).

Exactness: the script's functions run twice on the same texts, as written (TensorFlow's tf.strings inside
Keras's own TextVectorization) and as converted (the generated twins inside the generated class): the same
vocabulary in the same order, the same token ids. Each twin is also compared op by op with TensorFlow on
texts that reach where TensorFlow's rules (ASCII case and whitespace, RE2) differ from Python's.
"""

from __future__ import annotations

import numpy as np
import pytest

import k2t

FUNCTIONS = r'''
import re
import string

import tensorflow as tf
from tensorflow.keras import layers


def custom_standardization(input_data):
    lowercase = tf.strings.lower(input_data)
    stripped_html = tf.strings.regex_replace(lowercase, "<br />", " ")
    return tf.strings.regex_replace(stripped_html, f"[{re.escape(string.punctuation)}]", "")


def shout(text):
    text = tf.strings.strip(tf.strings.upper(text))
    text = tf.strings.regex_replace(text, r"(\w+)@(\w+)", r"\2 at \1")
    text = tf.strings.regex_replace(text, r"\s+$", "")
    return tf.strings.join(["<s>", tf.strings.substr(text, 0, 24), "</s>"], separator=" ")


def comma_split(text):
    return tf.strings.split(text, sep=",")


def spaces_split(text):
    return tf.strings.split(tf.strings.lower(text))


vectorize = layers.TextVectorization(standardize=custom_standardization, max_tokens=40, output_sequence_length=9)
shouting = layers.TextVectorization(standardize=shout, split=spaces_split)
commas = layers.TextVectorization(standardize="lower", split=comma_split, output_mode="count")
'''

TEXTS = [
    "The movie was great.<br /><br />I LOVED it!!! 10/10",
    "Awful<br />plot, awful acting; the end?",
    "Café ÉCOLE naïve — ünïcode «quotes» \u00a0nbsp\u2003em-space",
    "mail bob@example and alice@home,  then , twice,,",
    "tabs\tand\x0bvertical\x0ctabs\nlines  \n",
    "",
    "İstanbul ǅemal ß straße ﬁ",
    "digits ٣٤٥ 123 under_score",
]
OPTIONS = ["vectorize", "shouting", "commas"]


@pytest.fixture(scope="module")
def namespaces() -> tuple[dict, dict]:
    pytest.importorskip("tensorflow")
    result = k2t.convert_source(FUNCTIONS, "script.py")
    assert not result.diagnostics, [d.format() for d in result.diagnostics]
    ours: dict = {"__name__": "converted"}
    exec(compile(result.output, "converted.py", "exec"), ours)  # noqa: S102 (the test runs k2t's output)
    theirs: dict = {"__name__": "keras_script"}
    exec(compile(FUNCTIONS, "script.py", "exec"), theirs)  # noqa: S102 (and the Keras script it came from)
    return ours, theirs


def test_the_functions_are_rewritten_to_the_generated_twins():
    output = k2t.convert_source(FUNCTIONS, "script.py").output
    assert "lowercase = strings_lower(input_data)" in output
    assert 'return strings_split(text, sep=",")' in output
    assert "tf.strings.lower(" not in output and "import tensorflow" not in output


@pytest.mark.parametrize("layer", OPTIONS)
def test_adapted_layer_gives_keras_vocabulary_and_tokens(namespaces, layer):
    ours, theirs = namespaces
    mine, keras_layer = ours[layer], theirs[layer]
    mine.adapt(TEXTS)
    keras_layer.adapt(TEXTS)
    assert mine.get_vocabulary() == keras_layer.get_vocabulary()
    expected = np.asarray(keras_layer(np.array(TEXTS)[:, None]))
    got = mine(np.array(TEXTS, dtype=object)[:, None])
    assert got.dtype == expected.dtype and got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)


def _tf_text(tensor) -> list:
    import tensorflow as tf

    if isinstance(tensor, tf.RaggedTensor):
        return [[token.decode("utf-8", "surrogateescape") for token in row] for row in tensor.to_list()]
    values = tensor.numpy().tolist()
    return [v.decode("utf-8", "surrogateescape") if isinstance(v, bytes) else v for v in values]


# (TensorFlow's op, its arguments after the text): each reaches a rule where TensorFlow and Python's str differ.
OPS = [
    ("lower", ()),
    ("lower", ("utf-8",)),
    ("upper", ()),
    ("strip", ()),
    ("split", ()),
    ("split", (",",)),
    ("split", (",", 1)),
    ("length", ()),
    ("length", ("UTF8_CHAR",)),
    ("substr", (1, 5)),
    ("substr", (-4, 3)),
    ("substr", (2, 6, "UTF8_CHAR")),
    ("regex_replace", (r"\s+", "_")),  # RE2's \s: no vertical tab, no Unicode spaces
    ("regex_replace", (r"\w+", "<\\0>")),  # ASCII words; \0 the whole match
    ("regex_replace", (r"\d", "#")),  # ASCII digits only
    ("regex_replace", (r"\bt", "T")),  # ASCII word boundaries
    ("regex_replace", (r"x*", "-")),  # empty matches after a match: RE2 skips them
    ("regex_replace", (r"[,;]*", "|")),
    ("regex_replace", ("\n$", "<end>")),  # $ only at the end of the text
    ("regex_replace", ("(?m)s$", "S")),
    ("regex_replace", (r"(a)|(e)", r"[\1\2]")),  # a group that did not take part is empty
    ("regex_replace", (r"[\]\w-]", "")),
    ("regex_replace", ("a", "A", False)),  # the first match only
    ("regex_replace", (r"\\", r"\\\\")),
]


@pytest.mark.parametrize(("op", "arguments"), OPS, ids=[f"{op}{arguments}" for op, arguments in OPS])
def test_each_twin_is_tensorflows_op_on_one_text(namespaces, op, arguments):
    import tensorflow as tf

    ours, _ = namespaces
    texts = [*TEXTS, "sixes, ", "x\\y", "The end is near\n", "bad\n\n"]
    twin = ours.get(f"strings_{op}") or _twin(op)
    if op == "substr":
        texts = [text for text in texts if len(text.encode()) >= 4]  # TensorFlow refuses a pos beyond the text
    expected = _tf_text(getattr(tf.strings, op)(tf.constant(texts), *arguments))
    assert [twin(text, *arguments) for text in texts] == expected


def _twin(op: str):
    """A twin the script above does not use: from a script that does."""
    source = f"import tensorflow as tf\nfrom tensorflow.keras import layers\ndef f(t):\n    return tf.strings.{op}(t)\nv = layers.TextVectorization(split=f)\n"
    result = k2t.convert_source(source, "script.py")
    namespace: dict = {}
    exec(compile(result.output, "converted.py", "exec"), namespace)  # noqa: S102
    return namespace[f"strings_{op}"]


def test_join_is_tensorflows_on_one_text(namespaces):
    import tensorflow as tf

    ours, _ = namespaces
    expected = _tf_text(tf.strings.join([tf.constant(TEXTS), "!", tf.constant(TEXTS[::-1])], separator="+"))
    assert [ours["strings_join"]([a, "!", b], separator="+") for a, b in zip(TEXTS, TEXTS[::-1], strict=True)] == expected


@pytest.mark.parametrize("pattern", [r"\p{L}", "[[:alpha:]]", r"\Qa.b\E", r"[\W]"])
def test_re2_syntax_python_has_not_raises(namespaces, pattern):
    with pytest.raises(ValueError, match="no Python re equivalent"):
        namespaces[0]["re2_compile"](pattern)


@pytest.mark.parametrize(
    ("source", "line", "column", "message"),
    [
        (
            "def f(t):\n    return tf.expand_dims(tf.strings.lower(t), -1)\nv = layers.TextVectorization(standardize=f)\n",
            4, 12, "`tf.expand_dims` in `f`, TextVectorization's standardize function, is not translated",
        ),
        (
            "f = str.lower\nv = layers.TextVectorization(split=f)\n",
            4, 36, "TextVectorization(split=f) is not translated: k2t translates a function the script defines",
        ),
        (
            "def f(t):\n    return tf.strings.lower(t)\nv = layers.TextVectorization(standardize=f)\nprint(f(tf.constant(['A'])))\n",
            6, 7, "`f` is rewritten to standardize or split one text",
        ),
        (
            (
                "def f(t):\n    return tf.strings.lower(t)\nv = layers.TextVectorization(standardize=f)\n"
                "ds = tf.data.Dataset.from_tensor_slices(['A']).map(f)\n"
            ),
            6, 52, "this use gives it what tf.strings took",
        ),
    ],
)
def test_what_is_not_translated_is_located(source, line, column, message):
    header = "import tensorflow as tf\nfrom tensorflow.keras import layers\n"
    result = k2t.convert_source(header + source + "v.adapt(['a'])\n", "script.py")
    # The diagnostic at the use; the string constant of the third case gets its own, at the constant.
    [diagnostic] = [d for d in result.diagnostics if (d.line, d.column) == (line, column)]
    assert message in diagnostic.message
    assert all(d.code != "K2T999" for d in result.diagnostics)
