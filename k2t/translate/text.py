"""Keras 2's text preprocessing (keras.preprocessing.text: Tokenizer, tokenizer_from_json,
text_to_word_sequence, one_hot, hashing_trick): each call becomes a call of a generated
standard-library + numpy twin of Keras 3.15's legacy code (keras/src/legacy/preprocessing/text.py),
with the script's arguments as written; tests/test_text.py compares them with Keras's own.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

import libcst as cst

from ..cst_walk import Visitor
from ..ir import KerasCall
from .helpers import Helper

if TYPE_CHECKING:
    from . import ScriptPlan

_TEMPLATES = "functions/text/"
_FILTERS = ("filters", "lower", "split")

TEXT_TO_WORD_SEQUENCE = Helper("text_to_word_sequence", _TEMPLATES + "text_to_word_sequence.py.j2")
HASHING_TRICK = Helper("hashing_trick", _TEMPLATES + "hashing_trick.py.j2", requires=(TEXT_TO_WORD_SEQUENCE,))

# Tokenizer methods -> the method group of the generated class that holds them.
TOKENIZER_METHODS: dict[str, str] = {
    "fit_on_texts": "fit_on_texts",
    "fit_on_sequences": "fit_on_sequences",
    "texts_to_sequences": "texts_to_sequences",
    "texts_to_sequences_generator": "texts_to_sequences",
    "sequences_to_texts": "sequences_to_texts",
    "sequences_to_texts_generator": "sequences_to_texts",
    "texts_to_matrix": "texts_to_matrix",
    "sequences_to_matrix": "sequences_to_matrix",
    "to_json": "to_json",
    "get_config": "to_json",
}
# Groups that call another group's methods.
_GROUPS_NEEDED = {"texts_to_matrix": ("texts_to_sequences", "sequences_to_matrix")}


@dataclass(frozen=True)
class TextFunction:
    """One Keras function (or class) and the generated definition that replaces it."""

    keras_name: str  # canonical
    parameters: tuple[str, ...]  # Keras's signature, which the generated one repeats
    helper: Helper | None  # None: the Tokenizer's, whose methods depend on the script
    # Keras 1's keyword -> Keras 2's: the Tokenizer took `nb_words=` (with a warning) for `num_words=`.
    renamed: tuple[tuple[str, str], ...] = ()


_TOKENIZER = "keras.preprocessing.text.Tokenizer"
_FROM_JSON = "keras.preprocessing.text.tokenizer_from_json"
TEXT_FUNCTIONS: dict[str, TextFunction] = {
    f.keras_name: f
    for f in (
        TextFunction(
            _TOKENIZER,
            ("num_words", *_FILTERS, "char_level", "oov_token", "analyzer", "document_count"),
            None,
            (("nb_words", "num_words"),),
        ),
        TextFunction(
            _FROM_JSON, ("json_string",), Helper("tokenizer_from_json", _TEMPLATES + "tokenizer_from_json.py.j2")
        ),
        TextFunction(
            "keras.preprocessing.text.text_to_word_sequence", ("input_text", *_FILTERS), TEXT_TO_WORD_SEQUENCE
        ),
        TextFunction(
            "keras.preprocessing.text.hashing_trick",
            ("text", "n", "hash_function", *_FILTERS, "analyzer"),
            HASHING_TRICK,
        ),
        TextFunction(
            "keras.preprocessing.text.one_hot",
            ("input_text", "n", *_FILTERS, "analyzer"),
            Helper("one_hot", _TEMPLATES + "one_hot.py.j2", requires=(HASHING_TRICK,)),
        ),
    )
}
# The name each generated definition has: `from keras.preprocessing.text import Tokenizer` then names it.
GENERATED_NAMES: dict[str, str] = {
    name: "Tokenizer" if function.helper is None else function.helper.name for name, function in TEXT_FUNCTIONS.items()
}


def translate_text_call(call: KerasCall, plan: ScriptPlan, module: cst.Module) -> str | None:
    """``Tokenizer(num_words=1000)`` -> the generated ``Tokenizer(num_words=1000)``; None (the call
    stays, a K2T100) for an argument Keras's has not."""
    function = TEXT_FUNCTIONS[call.name]
    renamed = dict(function.renamed)
    kwargs = tuple((renamed.get(key, key), value) for key, value in call.kwargs)
    _, extra, unknown = dataclasses.replace(call, kwargs=kwargs).bind(function.parameters)
    if extra is not None or unknown is not None or len({key for key, _ in kwargs}) < len(kwargs):
        return None  # also `nb_words=` next to `num_words=`
    if call.name in (_TOKENIZER, _FROM_JSON):
        tokenizer = _add_tokenizer(plan, module)  # tokenizer_from_json builds one
    helper = tokenizer if function.helper is None else plan.add_helper(function.helper)
    name = plan.name(helper.name)
    args = [value.code for value in call.args] + [f"{key}={value.code}" for key, value in kwargs]
    return f"{name}({', '.join(args)})"


def _add_tokenizer(plan: ScriptPlan, module: cst.Module) -> Helper:
    """The generated Tokenizer with the methods the script may call: those whose names it uses as
    attributes anywhere (an object passed around keeps its methods), once for every call."""
    groups = {TOKENIZER_METHODS[name] for name in _attribute_names(module) if name in TOKENIZER_METHODS}
    for group in list(groups):
        groups.update(_GROUPS_NEEDED.get(group, ()))
    requires = (TEXT_TO_WORD_SEQUENCE,) if {"fit_on_texts", "texts_to_sequences"} & groups else ()
    return plan.add_helper(
        Helper("Tokenizer", _TEMPLATES + "tokenizer.py.j2", (("methods", tuple(sorted(groups))),), requires)
    )


def _attribute_names(module: cst.Module) -> set[str]:
    names: set[str] = set()

    class _Attributes(Visitor):
        def visit_Attribute(self, node: cst.Attribute) -> None:
            names.add(node.attr.value)

    module.visit(_Attributes())
    return names
