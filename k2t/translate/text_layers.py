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
to_hash_bucket_fast computes it (a generated pure-Python twin); a Hashing with a salt is SipHash-2-4 keyed by
it, as to_hash_bucket_strong computes it. ``Discretization(num_bins=...)`` adapts
with Keras's own NumPy quantile sketch, step for step, so its boundaries are Keras's. Not translated, each
reported where the script writes it (K2T102): sparse or ragged outputs. A ``standardize`` / ``split`` function
of the script written with tf.strings is rewritten to work on one text (k2t.translate.text_callables).

Inside a model, as a first layer on one of its inputs (keras.io's end-to-end model, ``indices =
vectorize_layer(inputs)`` on ``keras.Input(shape=(1,), dtype="string")``, or ``Sequential([vectorize_layer,
...])``), the layer stays that host object: the torch module takes what it gives (token ids), holds the object
and applies it in a ``preprocess`` method, which the generated fit / evaluate / predict call on the script's
data before the batches reach the module (see host_input_layer). Elsewhere in a model it is a K2T101.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..diagnostics import Unsupported
from ..ir import KerasCall
from ..parse.syntax import LAYERS_CALLED_ON_DATA
from .dims import Dim, Size, static_int
from .helpers import Helper
from .layer_objects import LayerObjectPlan, ScriptLayerObjects
from .plan import LayerPlan
from .registry import layer_object
from .text_callables import CALLABLE_ARGUMENTS

if TYPE_CHECKING:
    from .model import LayerContext

_TEMPLATES = "functions/preprocessing/"
ENCODE_CATEGORICAL = Helper("encode_categorical", _TEMPLATES + "encode_categorical.py.j2")
FINGERPRINT = Helper("farmhash_fingerprint64", _TEMPLATES + "farmhash_fingerprint64.py.j2")
SIPHASH = Helper("siphash", _TEMPLATES + "siphash.py.j2")


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
_ENCODING_LIMITS = (
    ("sparse", (False,), "a sparse output is TensorFlow's; the generated class gives dense NumPy arrays"),
)
DATA_LAYERS: dict[str, DataLayer] = {
    layer.keras_class: layer
    for layer in (
        DataLayer(
            "TextVectorization",
            (
                "max_tokens",
                "standardize",
                "split",
                "ngrams",
                "output_mode",
                "output_sequence_length",
                "pad_to_max_tokens",
                "vocabulary",
                "idf_weights",
                "sparse",
                "ragged",
                "encoding",
                "name",
            ),
            "text_vectorization.py.j2",
            True,
            (
                *_LOOKUP_LIMITS,
                (
                    "ragged",
                    (False,),
                    "a ragged output is TensorFlow's; the generated class pads as Keras does without it",
                ),
                (
                    "standardize",
                    (None, "lower_and_strip_punctuation", "lower", "strip_punctuation"),
                    "Keras has no other",
                ),
                ("split", (None, "whitespace", "character"), "Keras has no other"),
            ),
        ),
        DataLayer(
            "StringLookup",
            (
                "max_tokens",
                "num_oov_indices",
                "mask_token",
                "oov_token",
                "vocabulary",
                "idf_weights",
                "invert",
                "output_mode",
                "pad_to_max_tokens",
                "sparse",
                "encoding",
                "name",
            ),
            "string_lookup.py.j2",
            True,
            _LOOKUP_LIMITS,
        ),
        DataLayer(
            "IntegerLookup",
            (
                "max_tokens",
                "num_oov_indices",
                "mask_token",
                "oov_token",
                "vocabulary",
                "vocabulary_dtype",
                "idf_weights",
                "invert",
                "output_mode",
                "sparse",
                "pad_to_max_tokens",
                "name",
            ),
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
            _ENCODING_LIMITS,
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
# Inside a model other than as its first layer on its input, each of them is a K2T101: why.
DATA_LAYERS_IN_A_MODEL: dict[str, str] = {
    name: (
        f"{name} inside a model is translated only as a first layer on one of the model's inputs that no other layer "
        f"reads: k2t translates it "
        f"as a NumPy class applied to the data before the torch module, which takes tensors"
        + (" (strings are none)" if name in ("TextVectorization", "StringLookup") else "")
    )
    for name in DATA_LAYERS
}
# The layers a model may start with: they give one index per value (a lookup), one row of ids per text
# (TextVectorization), or an encoding of a fixed size, whatever the batch holds. Discretization and
# CategoryEncoding take numbers, which a torch module could read itself; they stay K2T101 here.
HOST_INPUT_LAYERS = ("TextVectorization", "StringLookup", "IntegerLookup", "Hashing")
# Every layer here, applied to data outside a model, stays a call of the generated object.
assert LAYERS_CALLED_ON_DATA == frozenset(DATA_LAYERS), "k2t.parse.syntax lists the layers called on data"


def data_layer_arguments(call: KerasCall, layer: DataLayer) -> str:
    """The generated constructor's arguments: the script's own, once checked against Keras's signature."""
    given, extra, unknown = call.bind(layer.parameters)
    if extra is not None:
        raise Unsupported(
            "K2T102", f"{layer.keras_class}: positional argument {extra.code} is not translated", extra.pos
        )
    if unknown is not None:
        key, value = unknown
        raise Unsupported("K2T102", f"{layer.keras_class}({key}=...) is not translated", value.pos)
    for key, allowed, why in layer.limits:
        value = given.get(key)
        if value is None or (
            key in CALLABLE_ARGUMENTS and layer.keras_class == "TextVectorization" and not value.is_literal
        ):
            continue  # the script's function: k2t.translate.text_callables rewrites it, or says why not
        if not value.is_literal or value.literal not in allowed:
            raise Unsupported("K2T102", f"{layer.keras_class}({key}={value.code}) is not translated: {why}", value.pos)
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
    quantiles: bool  # a Discretization adapted with num_bins (no bin_boundaries=)
    salted: bool  # a Hashing with a salt, which Keras hashes with SipHash
    callables: bool  # a TextVectorization given the script's standardize or split function

    @classmethod
    def of(cls, calls: tuple[KerasCall, ...]) -> Features:
        modes = [
            _argument(call, "output_mode", "int")
            for call in calls
            if call.short_name in DATA_LAYERS.keys() - {"CategoryEncoding"}
        ]
        lookups = [call for call in calls if call.short_name in DATA_LAYERS and DATA_LAYERS[call.short_name].lookup]
        return cls(
            encodings=any(mode != "int" for mode in modes),
            # "binary": Keras's older name of multi_hot, which it still accepts
            tf_idf=any(
                _argument(call, "output_mode", "int") not in ("int", "one_hot", "multi_hot", "binary", "count")
                for call in lookups
            ),
            invert=any(_argument(call, "invert", False) is not False for call in lookups),
            hashed_oov=any(
                _argument(call, "num_oov_indices", 1) not in (0, 1)
                for call in lookups
                if call.short_name == "StringLookup"
            ),
            salted=any(_argument(call, "salt", 0) != 0 for call in calls if call.short_name == "Hashing"),  # 0: absent
            quantiles=any(
                _argument(call, "bin_boundaries", None) is None for call in calls if call.short_name == "Discretization"
            ),
            callables=any(
                _is_function(call, key)
                for call in calls
                if call.short_name == "TextVectorization"
                for key in CALLABLE_ARGUMENTS
            ),
        )

    def helper(self, layer: DataLayer) -> Helper:
        encoding = (ENCODE_CATEGORICAL,) if self.encodings or layer.keras_class == "CategoryEncoding" else ()
        flags = (("encodings", self.encodings), ("tf_idf", self.tf_idf))
        if layer.keras_class == "Discretization":
            flags = (*flags, ("quantiles", self.quantiles))
        if layer.keras_class == "TextVectorization":
            flags = (*flags, ("callables", self.callables))
        requires = encoding
        if layer.keras_class == "Hashing":
            flags = (*flags, ("salted", self.salted))
            requires = (*encoding, FINGERPRINT, *((SIPHASH,) if self.salted else ()))
        if layer.lookup:
            hashing = (FINGERPRINT,) if self.hashed_oov else ()
            lookup_flags = (*flags, ("invert", self.invert), ("hashed_oov", self.hashed_oov))
            requires = (Helper("IndexLookup", _TEMPLATES + "index_lookup.py.j2", lookup_flags, (*encoding, *hashing)),)
        return Helper(layer.keras_class, _TEMPLATES + layer.template, flags, requires)


def _is_function(call: KerasCall, key: str) -> bool:
    """Whether the argument is given and no literal: the script's function (or what k2t cannot read)."""
    value = call.arg(DATA_LAYERS[call.short_name].parameters.index(key), key)
    return value is not None and not value.is_literal


def _argument(call: KerasCall, key: str, default: object) -> object:
    """The literal value of an argument (its default when absent); a value k2t cannot read is None."""
    layer = DATA_LAYERS[call.short_name]
    value = call.arg(layer.parameters.index(key), key) if key in layer.parameters else None
    if value is None:
        return default
    return value.literal if value.is_literal else None


@layer_object(*DATA_LAYERS)
def data_layer_object(call: KerasCall, script: ScriptLayerObjects) -> LayerObjectPlan:
    """``vectorize_layer = layers.TextVectorization(max_tokens=20000)`` -> the generated class, same arguments."""
    layer = DATA_LAYERS[call.short_name]
    return LayerObjectPlan(Features.of(script.calls).helper(layer), data_layer_arguments(call, layer))


@dataclass(frozen=True)
class HostInput:
    """A model's first layer kept on the host: its LayerPlan (the object, held by the module) and the body of
    the module's ``preprocess(self, x)``, which turns the script's data into what forward() takes."""

    plan: LayerPlan
    preprocess: list[str]
    tensor: str  # the tensor forward() takes, from the data `{x}` (a model of several inputs: one of its inputs)
    one_per_row: bool  # Keras reads a 1-D array as one value per row before the layer


def host_input_layer(ctx: LayerContext, on_model_input: bool, call_pos: tuple[int, int] | None = None) -> HostInput:
    """``indices = vectorize_layer(inputs)`` as the model's first layer: the module takes the token ids (or
    the encoding, as float32).

    The script's own object (built and adapted where the script builds it, a generated NumPy class) is
    handed to the module's constructor, as a layer used outside the model is (LayerContext.outside_module),
    and the module's preprocess() applies it; ``ctx.shape`` becomes the shape of what it gives. ``call_pos``: where the model applies the layer, when
    that is not where it is built (``indices = vectorize_layer(x)``).
    """
    layer = ctx.layer
    name = layer.short_name
    if not on_model_input or name not in HOST_INPUT_LAYERS:
        raise Unsupported("K2T101", DATA_LAYERS_IN_A_MODEL[name], call_pos or layer.pos)
    data_layer_arguments(layer, DATA_LAYERS[name])  # what the generated class cannot reproduce
    mode = _argument(layer, "output_mode", "int")
    if mode is None:
        raise Unsupported("K2T102", f"{name}(output_mode=...) inside a model: k2t needs a literal here", layer.pos)
    if _argument(layer, "invert", False) is not False:
        raise Unsupported(
            "K2T102",
            f"{name}(invert=True) inside a model is not translated: it gives strings, which torch has no tensors of",
            layer.pos,
        )
    if layer.bound is None:
        raise Unsupported(
            "K2T101",
            f"{name} built inside the model is not translated: k2t translates it when the script keeps it in a variable "
            f"(`lookup = layers.{name}(...)`, then the model calls `lookup`)",
            layer.pos,
        )
    # The script's object, built where the script builds it (k2t.translate.layer_objects keeps it), held by the module.
    held = ctx.builder.param(layer.bound.outside_name, layer.bound.var)
    one_per_row = name != "TextVectorization" and len(ctx.shape) == 1 and static_int(ctx.shape[0]) == 1
    ctx.shape = _host_output_shape(ctx, str(mode), layer.bound.outside_name)
    what = ("token ids" if name == "TextVectorization" else "indices") if mode == "int" else f"{mode} encoding"
    if mode == "int":
        tensor = f"torch.as_tensor({ctx.self_attr}({{x}}))"
    else:  # the lookups count in int64, as Keras's do; Keras's next layer reads them as its float32
        tensor = f"torch.as_tensor({ctx.self_attr}({{x}}), dtype=torch.float32)"
    lines = [f"return {tensor.format(x='x')}"]
    if one_per_row:
        # Keras reads a 1-D array as one value per row (Functional._adjust_input_rank) before the lookup.
        lines = [
            "x = np.asarray(x)",
            "if x.ndim == 1:  # Keras reads a 1-D array as one value per row",
            "    x = x[:, None]",
            *lines,
        ]
    doc = (
        f'"""The script\'s data as forward() takes it: Keras\'s first layer, {name}, runs here on the host as a NumPy '
        f'class (torch has no string tensors), and forward() reads its {what}."""'
    )
    plan = LayerPlan(keras_class=name, attr=ctx.attr, constructor=held, params=0)
    if name == "TextVectorization" and mode == "int" and ctx.shape == [None]:
        plan.forward = [_BATCH_LONGEST]
    return HostInput(plan, [doc, *lines], tensor, one_per_row)


def several_inputs_preprocess(
    inputs: list[str], hosts: dict[int, HostInput], dtypes: list[str], ranks: list[int]
) -> list[str]:
    """preprocess() of a model of several inputs whose first layers on some run on the host (keras.io's structured
    data: one lookup per column): the list of forward()'s tensors from the list of the script's arrays, each
    column of one value per row of an ``Input(shape=(1,))`` given that axis first, as Keras gives it."""
    names = ", ".join(f"{name}_data" for name in inputs)
    doc = (
        '"""The script\'s data as forward() takes it: the lookups of some inputs run here on the host as NumPy '
        'classes (torch has no string tensors), and forward() reads what they give."""'
    )
    one_per_row = [ranks[index] == 2 or (index in hosts and hosts[index].one_per_row) for index in range(len(inputs))]
    if all(one_per_row):
        comment = "  # Keras reads a 1-D array as one value per row"
        return_lines = [f"{names} = (a[:, None] if a.ndim == 1 else a for a in map(np.asarray, x)){comment}"]
    else:
        return_lines = [f"{names} = map(np.asarray, x)"]
        for name, adjusted in zip(inputs, one_per_row):
            if adjusted:
                return_lines.append(f"if {name}_data.ndim == 1:  # Keras reads a 1-D array as one value per row")
                return_lines.append(f"    {name}_data = {name}_data[:, None]")
    lines = [doc, *return_lines]
    tensors = [
        hosts[index].tensor.format(x=f"{name}_data")
        if index in hosts
        else f"torch.as_tensor(np.asarray({name}_data, dtype={dtypes[index]}))"
        for index, name in enumerate(inputs)
    ]
    return [*lines, "return [", *(f"    {tensor}," for tensor in tensors), "]"]


def _host_output_shape(ctx: LayerContext, mode: str, var: str) -> list[Dim]:
    """What the layer gives per row: a lookup one index per value; TextVectorization one row of
    output_sequence_length ids per text; an encoding one row of its depth per row (one_hot: per value)."""
    name = ctx.layer.short_name
    if mode != "int":
        depth = _encoding_depth(ctx, var)
        if name == "TextVectorization":
            return [depth]
        if mode == "one_hot":  # Keras replaces a last axis of 1 by the encoding, else adds it
            return [*ctx.shape[:-1], depth] if ctx.shape and static_int(ctx.shape[-1]) == 1 else [*ctx.shape, depth]
        return [*ctx.shape[:-1], depth]  # the values of a row's last axis counted together
    if name != "TextVectorization":
        return list(ctx.shape)
    length = ctx.layer.arg(
        DATA_LAYERS["TextVectorization"].parameters.index("output_sequence_length"), "output_sequence_length"
    )
    if length is None or (length.is_literal and length.literal is None):
        _check_batch_padding(ctx.layer)
        return [None]  # each batch as long as its longest text (_BATCH_LONGEST)
    return [ctx.size(length, "output_sequence_length")]


# TextVectorization(output_mode="int") without output_sequence_length pads each batch to its longest text
# (RaggedTensor.to_tensor). preprocess() pads the script's data to its longest text at once; forward() cuts each
# batch back to its own longest. A text's ids are all >= 1 (0 is the mask token "", which no split of Keras's gives),
# so the ids a row holds are the length of its text.
_BATCH_LONGEST = "x = x[:, : int((x != 0).sum(dim=1).max())]  # Keras pads each batch to its longest text"


def _check_batch_padding(layer: KerasCall) -> None:
    """Refuse what _BATCH_LONGEST cannot cut exactly: a split that keeps each text whole, or the script's own."""
    split = layer.arg(DATA_LAYERS["TextVectorization"].parameters.index("split"), "split")
    if split is None or (split.is_literal and split.literal in ("whitespace", "character")):
        return
    why = (
        "each text is one token, which Keras does not pad"
        if split.is_literal and split.literal is None
        else "a split function of the script's may give empty tokens, id 0, which k2t cannot tell from the padding"
    )
    raise Unsupported(
        "K2T102",
        f"TextVectorization(split={split.code}) inside a model without output_sequence_length= is not translated: {why}",
        split.pos,
    )


def _encoding_depth(ctx: LayerContext, var: str) -> Size:
    """The encoding's size: Hashing's num_bins; a lookup's max_tokens with pad_to_max_tokens, else its
    vocabulary_size(), read where the script builds the model (after adapt, as Keras sizes the next layer then)."""
    layer = ctx.layer
    parameters = DATA_LAYERS[layer.short_name].parameters
    if layer.short_name == "Hashing":
        return ctx.size(layer.arg(parameters.index("num_bins"), "num_bins"), "num_bins")
    max_tokens = layer.arg(parameters.index("max_tokens"), "max_tokens")
    if (
        _argument(layer, "pad_to_max_tokens", False) is True
        and max_tokens is not None
        and not (max_tokens.is_literal and max_tokens.literal is None)
    ):
        return ctx.size(max_tokens, "max_tokens")
    return Size(ctx.builder.param(f"{var}.vocabulary_size()", "vocabulary_size"))
