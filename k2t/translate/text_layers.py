"""Preprocessing layers fed with strings or integers: TextVectorization, StringLookup, IntegerLookup,
CategoryEncoding, Discretization, Hashing.

Strings are not tensors, so these layers do not become torch modules: a layer the script keeps in a
variable (``vectorize_layer = layers.TextVectorization(...)``) becomes a generated NumPy/Python class of
the same name and signature (templates/functions/preprocessing/), built where the script builds the
layer; ``vectorize_layer.adapt(texts)``, ``vectorize_layer.get_vocabulary()`` and calls on data
(``vectorize_layer(texts)``, ``ds.map(lambda x, y: (vectorize_layer(x), y))``) stay as written. The
classes reproduce Keras 3.15's vocabulary order, OOV and mask handling; tests/test_text_layers.py
compares each with Keras's own layer.

Hashing and the OOV buckets of a StringLookup with several are FarmHash Fingerprint64, as TensorFlow's
to_hash_bucket_fast computes it (a generated pure-Python twin). Not translated, each reported where the
script writes it (K2T102): a salt (SipHash), sparse or ragged outputs, callables for ``standardize`` /
``split``, and ``Discretization`` adapted with ``num_bins`` (Keras's approximate quantile sketch). Such a layer as the first layer of a model (on
``keras.Input(dtype="string")``) is a K2T101: the model's forward takes tensors.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..diagnostics import Unsupported
from ..ir import KerasCall
from ..parse.syntax import LAYERS_CALLED_ON_DATA
from .helpers import Helper
from .layer_objects import LayerObjectPlan
from .registry import layer_object

_TEMPLATES = "functions/preprocessing/"
ENCODE_CATEGORICAL = Helper("encode_categorical", _TEMPLATES + "encode_categorical.py.j2")
FINGERPRINT = Helper("farmhash_fingerprint64", _TEMPLATES + "farmhash_fingerprint64.py.j2")


@dataclass(frozen=True)
class DataLayer:
    """One Keras layer of strings or integers and the generated class that replaces it."""

    keras_class: str
    parameters: tuple[str, ...]  # Keras 3.15's signature, which the generated class repeats
    template: str  # under templates/functions/preprocessing/
    lookup: bool  # built on the generated IndexLookup
    # Arguments whose value the generated class cannot reproduce: argument -> (values it can, why not others).
    limits: tuple[tuple[str, tuple[object, ...], str], ...] = ()


_LOOKUP_LIMITS = (
    ("sparse", (False,), "a sparse output is TensorFlow's; the generated class gives dense NumPy arrays"),
    ("encoding", ("utf-8",), "the generated class reads strings as UTF-8"),
)
_ENCODING_LIMITS = (("sparse", (False,), "a sparse output is TensorFlow's; the generated class gives dense NumPy arrays"),)
DATA_LAYERS: dict[str, DataLayer] = {
    layer.keras_class: layer
    for layer in (
        DataLayer(
            "TextVectorization",
            ("max_tokens", "standardize", "split", "ngrams", "output_mode", "output_sequence_length", "pad_to_max_tokens",
             "vocabulary", "idf_weights", "sparse", "ragged", "encoding", "name"),
            "text_vectorization.py.j2",
            True,
            (
                *_LOOKUP_LIMITS,
                ("ragged", (False,), "a ragged output is TensorFlow's; the generated class pads as Keras does without it"),
                ("standardize", (None, "lower_and_strip_punctuation", "lower", "strip_punctuation"),
                 "a callable works on TensorFlow string tensors"),
                ("split", (None, "whitespace", "character"), "a callable works on TensorFlow string tensors"),
            ),
        ),
        DataLayer(
            "StringLookup",
            ("max_tokens", "num_oov_indices", "mask_token", "oov_token", "vocabulary", "idf_weights", "invert",
             "output_mode", "pad_to_max_tokens", "sparse", "encoding", "name"),
            "string_lookup.py.j2",
            True,
            _LOOKUP_LIMITS,
        ),
        DataLayer(
            "IntegerLookup",
            ("max_tokens", "num_oov_indices", "mask_token", "oov_token", "vocabulary", "vocabulary_dtype", "idf_weights",
             "invert", "output_mode", "sparse", "pad_to_max_tokens", "name"),
            "integer_lookup.py.j2",
            True,
            _ENCODING_LIMITS,
        ),
        DataLayer(
            "CategoryEncoding",
            ("num_tokens", "output_mode", "sparse", "name"),
            "category_encoding.py.j2",
            False,
            _ENCODING_LIMITS,
        ),
        DataLayer(
            "Hashing",
            ("num_bins", "mask_value", "salt", "output_mode", "sparse", "name"),
            "hashing.py.j2",
            False,
            # A salt makes Keras hash with SipHash (to_hash_bucket_strong), which is not reproduced.
            (*_ENCODING_LIMITS, ("salt", (None,), "Keras then hashes with SipHash, which k2t does not reproduce")),
        ),
        DataLayer(
            "Discretization",
            ("bin_boundaries", "num_bins", "epsilon", "output_mode", "sparse", "dtype", "name"),
            "discretization.py.j2",
            False,
            _ENCODING_LIMITS,
        ),
    )
}
# Inside a model (`vectorize_layer(inputs)` on `keras.Input(dtype="string")`), each of them is a K2T101: why.
DATA_LAYERS_IN_A_MODEL: dict[str, str] = {
    name: (
        f"{name} inside a model is not translated: k2t translates it as a NumPy class applied to the data "
        f"(`layer(data)`, `ds.map(lambda x, y: (layer(x), y))`), outside the torch module, which takes tensors"
        + (" (strings are none)" if name in ("TextVectorization", "StringLookup") else "")
    )
    for name in DATA_LAYERS
}
# Every layer here, applied to data outside a model, stays a call of the generated object.
assert LAYERS_CALLED_ON_DATA == frozenset(DATA_LAYERS), "k2t.parse.syntax lists the layers called on data"


def data_layer_arguments(call: KerasCall, layer: DataLayer) -> str:
    """The generated constructor's arguments: the script's own, once checked against Keras's signature."""
    given, extra, unknown = call.bind(layer.parameters)
    if extra is not None:
        raise Unsupported("K2T102", f"{layer.keras_class}: positional argument {extra.code} is not translated", extra.pos)
    if unknown is not None:
        key, value = unknown
        raise Unsupported("K2T102", f"{layer.keras_class}({key}=...) is not translated", value.pos)
    for key, allowed, why in layer.limits:
        value = given.get(key)
        if value is None:
            continue
        if not value.is_literal or value.literal not in allowed:
            raise Unsupported("K2T102", f"{layer.keras_class}({key}={value.code}) is not translated: {why}", value.pos)
    if layer.keras_class == "Discretization" and "bin_boundaries" not in given:
        raise Unsupported(
            "K2T102",
            "Discretization without bin_boundaries= is not translated: adapt() with num_bins uses Keras's approximate quantile sketch",
            call.pos,
        )
    args = [value.code for value in call.args] + [f"{key}={value.code}" for key, value in call.kwargs]
    return ", ".join(args)


@dataclass(frozen=True)
class Features:
    """What the script's data layers use, over all of them, so that the generated classes hold only that
    (one IndexLookup serves every lookup of the script). A value k2t cannot read counts as used."""

    encodings: bool  # an output_mode other than "int" (CategoryEncoding's are always encodings)
    tf_idf: bool
    invert: bool
    hashed_oov: bool  # a StringLookup with several OOV indices, which Keras fills by FarmHash

    @classmethod
    def of(cls, calls: tuple[KerasCall, ...]) -> Features:
        modes = [_argument(call, "output_mode", "int") for call in calls if call.short_name in DATA_LAYERS.keys() - {"CategoryEncoding"}]
        lookups = [call for call in calls if call.short_name in DATA_LAYERS and DATA_LAYERS[call.short_name].lookup]
        return cls(
            encodings=any(mode != "int" for mode in modes),
            tf_idf=any(_argument(call, "output_mode", "int") not in ("int", "one_hot", "multi_hot", "count") for call in lookups),
            invert=any(_argument(call, "invert", False) is not False for call in lookups),
            hashed_oov=any(
                _argument(call, "num_oov_indices", 1) not in (0, 1) for call in lookups if call.short_name == "StringLookup"
            ),
        )

    def helper(self, layer: DataLayer) -> Helper:
        encoding = (ENCODE_CATEGORICAL,) if self.encodings or layer.keras_class == "CategoryEncoding" else ()
        flags = (("encodings", self.encodings), ("tf_idf", self.tf_idf))
        requires = (*encoding, FINGERPRINT) if layer.keras_class == "Hashing" else encoding
        if layer.lookup:
            hashing = (FINGERPRINT,) if self.hashed_oov else ()
            lookup_flags = (*flags, ("invert", self.invert), ("hashed_oov", self.hashed_oov))
            requires = (Helper("IndexLookup", _TEMPLATES + "index_lookup.py.j2", lookup_flags, (*encoding, *hashing)),)
        return Helper(layer.keras_class, _TEMPLATES + layer.template, flags, requires)


def _argument(call: KerasCall, key: str, default: object) -> object:
    """The literal value of an argument (its default when absent); a value k2t cannot read is None."""
    layer = DATA_LAYERS[call.short_name]
    value = call.arg(layer.parameters.index(key), key) if key in layer.parameters else None
    if value is None:
        return default
    return value.literal if value.is_literal else None


@layer_object(*DATA_LAYERS)
def data_layer_object(call: KerasCall, layer_objects: tuple[KerasCall, ...]) -> LayerObjectPlan:
    """``vectorize_layer = layers.TextVectorization(max_tokens=20000)`` -> the generated class, same arguments."""
    layer = DATA_LAYERS[call.short_name]
    return LayerObjectPlan(Features.of(layer_objects).helper(layer), data_layer_arguments(call, layer))
