"""Keras 1 argument spellings, read as Keras 2 read them, before any converter sees a layer call.

Keras 2 (2.0 to 2.3) still ran Keras 1 scripts: each layer's constructor was
wrapped in a ``legacy_*_support`` decorator (keras/legacy/interfaces.py) that
renamed Keras 1 arguments (``output_dim`` -> ``units``, ``border_mode`` ->
``padding``, ``W_regularizer`` -> ``kernel_regularizer``), converted a few
values (``dim_ordering="th"`` -> ``data_format="channels_first"``) and, for
convolutions, turned Keras 1's per-axis kernel sizes into ``kernel_size``
(``Convolution2D(32, 3, 3)`` -> ``Conv2D(32, (3, 3))``). Keras 3 dropped those
decorators. ``keras2_call`` applies the same table to a parsed layer call, so
every converter reads Keras 2 names; a Keras 1 argument whose Keras 2 meaning
k2t cannot express is a K2T102 that names it.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass

from ..diagnostics import Unsupported
from ..ir import NO_LITERAL, KerasCall, Value


@dataclass(frozen=True)
class Rename:
    """One Keras 1 keyword and its Keras 2 name; ``values`` maps Keras 1 values Keras 2 converted (others pass as written)."""

    keras1: str
    keras2: str
    values: tuple[tuple[object, object], ...] = ()


# A decorator's preprocessor: the call with its Keras 1 arguments rewritten (or a K2T102), before the renames.
Preprocessor = Callable[[KerasCall], KerasCall]


@dataclass(frozen=True)
class LegacyInterface:
    """One ``legacy_*_support`` decorator of Keras 2: the layers it wrapped and what it converted."""

    decorator: str
    layers: frozenset[str]
    renames: tuple[Rename, ...]
    preprocess: Preprocessor | None = None


def _int_value(value: Value | None) -> bool:
    """A known int (Keras 2's ``isinstance(arg, int)``), bool excluded as Keras 1 scripts never meant one."""
    return (
        value is not None
        and value.is_literal
        and isinstance(value.literal, int)
        and not isinstance(value.literal, bool)
    )


def _tuple_value(items: tuple[Value, ...], pos: tuple[int, int]) -> Value:
    """A tuple display built from argument values: ``(nb_row, nb_col)``."""
    known = all(item.is_literal for item in items)
    return Value(
        code=f"({', '.join(item.code for item in items)})",
        pos=pos,
        literal=tuple(item.literal for item in items) if known else NO_LITERAL,
        elements=items,
    )


def _constant(literal: object, pos: tuple[int, int]) -> Value:
    return Value(code=repr(literal), pos=pos, literal=literal)


def _without(call: KerasCall, *keys: str) -> tuple[tuple[str, Value], ...]:
    return tuple((key, value) for key, value in call.kwargs if key not in keys)


def _unsupported(call: KerasCall, key: str, value: Value, why: str) -> Unsupported:
    return Unsupported("K2T102", f"{call.short_name}({key}={value.code}) is Keras 1's: {why}", value.pos)


# ----------------------------------------------------------------------------- preprocessors


def _embedding(call: KerasCall) -> KerasCall:
    dropout = call.kwarg("dropout")
    if dropout is not None:
        # Keras 2 dropped it with a warning; converting it to nothing would silently remove the script's dropout.
        why = "Keras 2 ignored it (with a warning), so the model trains without that dropout; remove it, or add SpatialDropout1D after the Embedding"
        raise _unsupported(call, "dropout", dropout, why)
    return call


def _input_shape_from_dim(call: KerasCall) -> KerasCall:
    """``input_dim=8, input_length=10`` -> ``input_shape=(10, 8)`` (``(None, 8)`` without a length)."""
    dim = call.kwarg("input_dim")
    if dim is None:
        return call
    length = call.kwarg("input_length") or _constant(None, dim.pos)
    return dataclasses.replace(
        call,
        kwargs=(*_without(call, "input_dim", "input_length"), ("input_shape", _tuple_value((length, dim), dim.pos))),
    )


def _recurrent(call: KerasCall) -> KerasCall:
    forget = call.kwarg("forget_bias_init")
    if forget is not None:
        if not (forget.is_literal and forget.literal == "one"):
            why = "Keras 2 ignored any value but 'one' (the forget bias then starts at 1, unit_forget_bias=True); remove it"
            raise _unsupported(call, "forget_bias_init", forget, why)
        kwargs = tuple(
            ("unit_forget_bias", _constant(True, value.pos)) if key == "forget_bias_init" else (key, value)
            for key, value in call.kwargs
        )
        call = dataclasses.replace(call, kwargs=kwargs)
    return _input_shape_from_dim(call)


def _kernel_from_axes(call: KerasCall, axes: tuple[str, ...]) -> KerasCall:
    """Keras 1's per-axis kernel sizes (``nb_row``, ``nb_col``; ``kernel_dim1..3``) -> ``kernel_size``.

    Keras 2's conv2d/conv3d preprocessors: with every size positional after
    the filters (``Convolution2D(32, 3, 3)``, ints only, Keras 1's names) or the missing ones as
    keywords (``Convolution2D(32, 3, nb_col=3)``, ``Conv2D(32, nb_row=3, nb_col=3)``).
    """
    rank, args = len(axes), call.args
    if "Convolution" not in call.short_name and len(args) > 2:
        # Keras 2's own names (Conv2D(16, 3, 2)): Keras 3 and tf.keras read the third as strides (standalone
        # Keras 2.0-2.3's preprocessor read kernel rows and columns here, a habit from Keras 1's names).
        return call
    if len(args) > rank + 1:
        raise Unsupported(
            "K2T102",
            f"{call.short_name} takes at most {rank + 1} positional arguments (Keras 2 raises TypeError)",
            args[rank + 1].pos,
        )
    given = max(len(args) - 1, 0)  # kernel sizes given by position, after the filters
    if given < 1 and not all(call.kwarg(axis) is not None for axis in axes):
        return call
    if given >= 1 and not all(_int_value(value) for value in args[1:]):
        return call  # Keras 2 reads a non-int second argument as kernel_size: a Keras 2 call
    if given == 2:  # both preprocessors check exactly three positional ints (filters and two sizes)
        clash = next((key for key in ("padding", "strides", "data_format") if call.kwarg(key) is not None), None)
        if clash is not None:
            message = f"{call.short_name} with {rank} positional kernel sizes and {clash}= (Keras 2 raises ValueError); pass kernel_size=(...)"
            raise Unsupported("K2T102", message, call.kwarg(clash).pos)
    missing = axes[given:]
    if given >= 1 and not all(call.kwarg(axis) is not None for axis in missing):
        return call  # Keras 2 leaves it alone; the converter reports the extra positional argument
    sizes = (*args[1:], *(call.kwarg(axis) for axis in missing))
    kernel = _tuple_value(sizes, sizes[0].pos)  # type: ignore[arg-type]
    kwargs = _without(call, *missing)
    if not args:
        return dataclasses.replace(call, kwargs=(*kwargs, ("kernel_size", kernel)))
    return dataclasses.replace(call, args=(args[0], kernel), kwargs=kwargs)


def _conv2d(call: KerasCall) -> KerasCall:
    return _kernel_from_axes(call, ("nb_row", "nb_col"))


def _conv3d(call: KerasCall) -> KerasCall:
    return _kernel_from_axes(call, ("kernel_dim1", "kernel_dim2", "kernel_dim3"))


def _separable_conv2d(call: KerasCall) -> KerasCall:
    init = call.kwarg("init")
    if init is not None:  # one Keras 1 initializer for both kernels
        kwargs = (*_without(call, "init"), ("depthwise_initializer", init), ("pointwise_initializer", init))
        call = dataclasses.replace(call, kwargs=kwargs)
    return _conv2d(call)


def _deconv2d(call: KerasCall) -> KerasCall:
    """Keras 1's Deconvolution2D needed output_shape; Keras 2 computes it and dropped the argument."""
    args = call.args
    if len(args) == 4 and args[3].elements is not None:
        args = args[:3]
    return _conv2d(dataclasses.replace(call, args=args, kwargs=_without(call, "output_shape")))


def _batch_normalization(call: KerasCall) -> KerasCall:
    mode = call.kwarg("mode")
    if mode is None:
        return call
    if not (mode.is_literal and mode.literal == 0):
        raise _unsupported(
            call, "mode", mode, "Keras 2 raises TypeError for modes 1 and 2 (feature-wise normalization is mode 0)"
        )
    return dataclasses.replace(call, kwargs=_without(call, "mode"))


# ----------------------------------------------------------------------------- the table

# Value conversions Keras 2 applied to the old spellings.
_DIM_ORDERING = Rename(
    "dim_ordering", "data_format", (("tf", "channels_last"), ("th", "channels_first"), ("default", None))
)
_CONSUME_LESS = Rename("consume_less", "implementation", (("cpu", 0), ("mem", 1), ("gpu", 2)))
_P = Rename("p", "rate")
_KERNEL_PARTS = (
    Rename("init", "kernel_initializer"),
    Rename("W_regularizer", "kernel_regularizer"),
    Rename("b_regularizer", "bias_regularizer"),
    Rename("W_constraint", "kernel_constraint"),
    Rename("b_constraint", "bias_constraint"),
    Rename("bias", "use_bias"),
)
_CONV = (
    Rename("nb_filter", "filters"),
    Rename("subsample", "strides"),
    Rename("border_mode", "padding"),
    _DIM_ORDERING,
)
_POOLING = (Rename("border_mode", "padding"), _DIM_ORDERING)


def _sized(names: str, *ranks: int) -> frozenset[str]:
    """``"MaxPooling{}D MaxPool{}D"`` for ``ranks`` -> every spelling Keras 2 gave the class."""
    return frozenset(name.format(rank) for name in names.split() for rank in ranks)


# keras/legacy/interfaces.py of Keras 2.2.4, with the layers each decorator wrapped (keras/layers/*.py).
INTERFACES = (
    LegacyInterface("legacy_dense_support", frozenset({"Dense"}), (Rename("output_dim", "units"), *_KERNEL_PARTS)),
    LegacyInterface("legacy_dropout_support", frozenset({"Dropout"}), (_P,)),
    LegacyInterface("legacy_spatialdropout1d_support", frozenset({"SpatialDropout1D"}), (_P,)),
    LegacyInterface("legacy_spatialdropoutNd_support", _sized("SpatialDropout{}D", 2, 3), (_P, _DIM_ORDERING)),
    LegacyInterface("legacy_gaussiandropout_support", frozenset({"GaussianDropout"}), (_P,)),
    LegacyInterface("legacy_gaussiannoise_support", frozenset({"GaussianNoise"}), (Rename("sigma", "stddev"),)),
    LegacyInterface("legacy_prelu_support", frozenset({"PReLU"}), (Rename("init", "alpha_initializer"),)),
    LegacyInterface(
        "legacy_embedding_support",
        frozenset({"Embedding"}),
        (
            Rename("init", "embeddings_initializer"),
            Rename("W_regularizer", "embeddings_regularizer"),
            Rename("W_constraint", "embeddings_constraint"),
        ),
        _embedding,
    ),
    LegacyInterface(
        "legacy_recurrent_support",
        frozenset({"SimpleRNN", "GRU", "LSTM"}),
        (
            Rename("output_dim", "units"),
            Rename("init", "kernel_initializer"),
            Rename("inner_init", "recurrent_initializer"),
            Rename("inner_activation", "recurrent_activation"),
            Rename("W_regularizer", "kernel_regularizer"),
            Rename("b_regularizer", "bias_regularizer"),
            Rename("U_regularizer", "recurrent_regularizer"),
            Rename("dropout_W", "dropout"),
            Rename("dropout_U", "recurrent_dropout"),
            _CONSUME_LESS,
        ),
        _recurrent,
    ),
    LegacyInterface(
        "legacy_pooling1d_support",
        _sized("MaxPooling{}D MaxPool{}D AveragePooling{}D AvgPool{}D", 1),
        (Rename("pool_length", "pool_size"), Rename("stride", "strides"), Rename("border_mode", "padding")),
    ),
    LegacyInterface(
        "legacy_pooling2d_support", _sized("MaxPooling{}D MaxPool{}D AveragePooling{}D AvgPool{}D", 2), _POOLING
    ),
    LegacyInterface(
        "legacy_pooling3d_support", _sized("MaxPooling{}D MaxPool{}D AveragePooling{}D AvgPool{}D", 3), _POOLING
    ),
    LegacyInterface(
        "legacy_global_pooling_support",
        _sized("GlobalMaxPooling{}D GlobalMaxPool{}D GlobalAveragePooling{}D GlobalAvgPool{}D", 2, 3),
        (_DIM_ORDERING,),
    ),
    LegacyInterface("legacy_upsampling1d_support", frozenset({"UpSampling1D"}), (Rename("length", "size"),)),
    LegacyInterface("legacy_upsampling2d_support", frozenset({"UpSampling2D"}), (_DIM_ORDERING,)),
    LegacyInterface("legacy_upsampling3d_support", frozenset({"UpSampling3D"}), (_DIM_ORDERING,)),
    # Not reproduced: legacy_zeropadding2d_support's dict padding ({"top_pad": 1, ...}); the converter reports it.
    LegacyInterface("legacy_zeropadding2d_support", frozenset({"ZeroPadding2D"}), (_DIM_ORDERING,)),
    LegacyInterface("legacy_zeropadding3d_support", frozenset({"ZeroPadding3D"}), (_DIM_ORDERING,)),
    LegacyInterface("legacy_cropping2d_support", frozenset({"Cropping2D"}), (_DIM_ORDERING,)),
    LegacyInterface("legacy_cropping3d_support", frozenset({"Cropping3D"}), (_DIM_ORDERING,)),
    LegacyInterface(
        "legacy_conv1d_support",
        _sized("Conv{}D Convolution{}D", 1),
        (
            Rename("nb_filter", "filters"),
            Rename("filter_length", "kernel_size"),
            Rename("subsample_length", "strides"),
            Rename("border_mode", "padding"),
            *_KERNEL_PARTS,
        ),
        _input_shape_from_dim,
    ),
    LegacyInterface("legacy_conv2d_support", _sized("Conv{}D Convolution{}D", 2), (*_CONV, *_KERNEL_PARTS), _conv2d),
    LegacyInterface("legacy_conv3d_support", _sized("Conv{}D Convolution{}D", 3), (*_CONV, *_KERNEL_PARTS), _conv3d),
    LegacyInterface(
        "legacy_separable_conv2d_support",
        _sized("SeparableConv{}D SeparableConvolution{}D", 2),
        (
            *_CONV,
            Rename("b_regularizer", "bias_regularizer"),
            Rename("b_constraint", "bias_constraint"),
            Rename("bias", "use_bias"),
        ),
        _separable_conv2d,
    ),
    LegacyInterface(
        "legacy_deconv2d_support",
        _sized("Conv{}DTranspose Convolution{}DTranspose", 2),
        (*_CONV, *_KERNEL_PARTS),
        _deconv2d,
    ),
    LegacyInterface(
        "legacy_batchnorm_support",
        frozenset({"BatchNormalization"}),
        (Rename("beta_init", "beta_initializer"), Rename("gamma_init", "gamma_initializer")),
        _batch_normalization,
    ),
)

_BY_LAYER: dict[str, LegacyInterface] = {}
for _interface in INTERFACES:
    for _name in _interface.layers:
        if _name in _BY_LAYER:
            raise RuntimeError(f"{_name} has two legacy interfaces")
        _BY_LAYER[_name] = _interface


@dataclass(frozen=True)
class Keras2Layer:
    """A Keras 2 layer class that Keras 3 dropped, and the Keras 3 layer computing the same, with the arguments
    the Keras 2 class fixed (its own signature had no such parameter)."""

    keras2: str
    keras3: str
    parameters: tuple[str, ...]  # Keras 2's signature (after ``units``: how its positional arguments read)
    fixed: tuple[tuple[str, object], ...]
    why: str  # the comment on the equivalence, for a reader of this table


_CUDNN_COMMON = (
    "kernel_initializer",
    "recurrent_initializer",
    "bias_initializer",
    "kernel_regularizer",
    "recurrent_regularizer",
    "bias_regularizer",
    "activity_regularizer",
    "kernel_constraint",
    "recurrent_constraint",
    "bias_constraint",
)
_CUDNN_TAIL = ("return_sequences", "return_state", "go_backwards", "stateful")
KERAS2_LAYERS: dict[str, Keras2Layer] = {
    row.keras2: row
    for row in (
        Keras2Layer(
            "CuDNNLSTM",
            "LSTM",
            ("units", *_CUDNN_COMMON[:3], "unit_forget_bias", *_CUDNN_COMMON[3:], *_CUDNN_TAIL),
            (("activation", "tanh"), ("recurrent_activation", "sigmoid")),
            # cuDNN's LSTM: tanh and sigmoid gates; its two biases (input and recurrent) always add up, one bias
            # of LSTM. With unit_forget_bias, Keras 2 put the 1 in the recurrent half and bias_initializer in the
            # rest, so a bias_initializer other than zeros starts the sum at twice its value (initial values only).
            "cuDNN's LSTM",
        ),
        Keras2Layer(
            "CuDNNGRU",
            "GRU",
            ("units", *_CUDNN_COMMON, *_CUDNN_TAIL),
            (("activation", "tanh"), ("recurrent_activation", "sigmoid"), ("reset_after", True)),
            # cuDNN's GRU applies the reset gate after the recurrent matmul, with an input and a recurrent bias:
            # GRU(reset_after=True), Keras 3's default.
            "cuDNN's GRU",
        ),
    )
}


def _keras3_layer(call: KerasCall, row: Keras2Layer) -> KerasCall:
    """``CuDNNLSTM(64, return_sequences=True)`` -> ``LSTM(64, return_sequences=True, activation="tanh",
    recurrent_activation="sigmoid")``: positional arguments after ``units`` as keywords, since the signatures differ."""
    if len(call.args) > len(row.parameters):
        extra = call.args[len(row.parameters)]
        raise Unsupported("K2T102", f"{call.short_name}: positional argument {extra.code} is not translated", extra.pos)
    named = tuple(zip(row.parameters[1:], call.args[1:]))
    for key, value in call.kwargs:
        if key in dict(row.fixed) or key in ("use_bias", "dropout", "recurrent_dropout", "implementation", "unroll"):
            raise Unsupported(
                "K2T102",
                f"{call.short_name}({key}={value.code}) is not translated: {row.keras2} has no {key}= (Keras 2 raised TypeError)",
                value.pos,
            )
    fixed = tuple((key, _constant(literal, call.pos)) for key, literal in row.fixed)
    keras3 = dataclasses.replace(
        call,
        name=f"{call.name.rsplit('.', 1)[0]}.{row.keras3}",
        args=call.args[:1],
        kwargs=(*named, *call.kwargs, *fixed),
    )
    return _input_shape_from_dim(keras3)  # Keras 2's RNN base took input_dim= / input_length=


# Wrappers whose wrapped layer was built, and converted, by its own legacy interface.
_WRAPPERS = frozenset({"Bidirectional", "TimeDistributed"})


def interface_of(call: KerasCall) -> LegacyInterface | None:
    if call.model is not None or not call.name.startswith("keras.layers."):
        return None
    return _BY_LAYER.get(call.short_name)


# Keras 3's leading parameters of the convolutions, which scripts pass by position (Conv2D(64, 3, 2, "same")).
_CONV_POSITIONS = ("filters", "kernel_size", "strides", "padding")
POSITIONAL_PARAMETERS: dict[str, tuple[str, ...]] = {
    **{name: _CONV_POSITIONS for name in _sized("Conv{}D Conv{}DTranspose SeparableConv{}D", 1, 2, 3)},
    **{name: ("kernel_size", "strides", "padding", "depth_multiplier") for name in _sized("DepthwiseConv{}D", 1, 2)},
}


def _keywords_from_positions(call: KerasCall) -> KerasCall:
    """Positional arguments after the ones the converters read by position, as the keywords Keras 3 binds them to."""
    names = POSITIONAL_PARAMETERS.get(call.short_name, ())
    keep = 1 if call.short_name.startswith("Depthwise") else 2
    if len(call.args) <= keep or len(call.args) > len(names):
        return call
    moved = tuple(zip(names[keep:], call.args[keep:]))
    for key, value in moved:
        if call.kwarg(key) is not None:
            raise Unsupported(
                "K2T102", f"{call.short_name} got {key} by position and by keyword (Keras raises TypeError)", value.pos
            )
    return dataclasses.replace(call, args=call.args[:keep], kwargs=(*moved, *call.kwargs))


def keras2_call(call: KerasCall) -> KerasCall:
    """``call`` with Keras 2's argument names and values, as Keras 2's legacy interface passed them on,
    and the convolutions' strides and padding given by position as keywords.

    A call without either comes back as it is (the same object).
    """
    updated = _keras2_names(call)
    if (
        updated.model is None
        and updated.name.startswith("keras.layers.")
        and updated.short_name in POSITIONAL_PARAMETERS
    ):
        return _keywords_from_positions(updated)
    return updated


def _keras2_names(call: KerasCall) -> KerasCall:
    if call.model is None and call.name.startswith("keras.layers.") and call.short_name in _WRAPPERS:
        return _wrapped(call)
    if call.model is None and call.name.startswith("keras.layers.") and call.short_name in KERAS2_LAYERS:
        return _keras3_layer(call, KERAS2_LAYERS[call.short_name])
    interface = interface_of(call)
    if interface is None:
        return call
    updated = interface.preprocess(call) if interface.preprocess is not None else call
    kwargs = list(updated.kwargs)
    for rename in interface.renames:
        for index, (key, value) in enumerate(kwargs):
            if key != rename.keras1:
                continue
            if updated.kwarg(rename.keras2) is not None:
                # keras/legacy/interfaces.py raise_duplicate_arg_error
                message = f"{call.short_name} got both Keras 1's {rename.keras1}= and Keras 2's {rename.keras2}= (Keras 2 raises TypeError)"
                raise Unsupported("K2T102", message, value.pos)
            kwargs[index] = (rename.keras2, _converted_value(call, rename, value))
    if updated is call and kwargs == list(call.kwargs):
        return call
    return dataclasses.replace(updated, kwargs=tuple(kwargs))


def _converted_value(call: KerasCall, rename: Rename, value: Value) -> Value:
    if not rename.values:
        return value
    if not value.is_literal:
        raise Unsupported(
            "K2T102",
            f"{call.short_name}({rename.keras1}={value.code}): k2t needs a literal to read Keras 1's value",
            value.pos,
        )
    for old, new in rename.values:
        if value.literal == old:
            return _constant(new, value.pos)
    return value


def _wrapped(call: KerasCall) -> KerasCall:
    """Bidirectional(LSTM(output_dim=...)): the wrapped layer read as Keras 2 read it."""

    def modern(value: Value) -> Value:
        if value.keras_call is None:
            return value
        inner = keras2_call(value.keras_call)
        return value if inner is value.keras_call else dataclasses.replace(value, keras_call=inner)

    args = tuple(modern(value) if index == 0 else value for index, value in enumerate(call.args))
    kwargs = tuple((key, modern(value) if key == "layer" else value) for key, value in call.kwargs)
    if args == call.args and kwargs == call.kwargs:
        return call
    return dataclasses.replace(call, args=args, kwargs=kwargs)


def keras1_renames(call: KerasCall) -> list[tuple[str, str]]:
    """(Keras 1 name, Keras 2 name) of each renamed keyword ``call`` uses."""
    interface = interface_of(call)
    if interface is None:
        return []
    written = {key for key, _ in call.kwargs}
    renames = [(rename.keras1, rename.keras2) for rename in interface.renames if rename.keras1 in written]
    kernel_axes = [
        axis for axis in ("nb_row", "nb_col", "kernel_dim1", "kernel_dim2", "kernel_dim3") if axis in written
    ]
    if kernel_axes:
        renames.append(("/".join(kernel_axes), "kernel_size"))
    return renames


def in_keras1_terms(exc: Unsupported, call: KerasCall) -> Unsupported:
    """A converter's diagnostic about a renamed argument, also naming the Keras 1 spelling the script wrote."""
    named = [keras1 for keras1, keras2 in keras1_renames(call) if re.search(rf"\b{re.escape(keras2)}\b", exc.message)]
    if not named:
        return exc
    spelled = ", ".join(f"{name}=" for name in named)
    return Unsupported(exc.code, f"{exc.message} (the script writes Keras 1's {spelled})", exc.pos)


# ----------------------------------------------------------------------------- optimizers

# Keras 2's optimizer aliases (keras/optimizers.py: ``sgd = SGD``, ``rmsprop = RMSprop``, ...), gone in Keras 3.
OPTIMIZER_ALIASES = {
    "sgd": "SGD",
    "rmsprop": "RMSprop",
    "adagrad": "Adagrad",
    "adadelta": "Adadelta",
    "adam": "Adam",
    "adamax": "Adamax",
    "nadam": "Nadam",
}

# The Keras 2 optimizers that took ``decay=`` (keras/optimizers.py 2.2/2.3): each computed
# ``lr = lr * 1 / (1 + decay * iterations)`` in get_updates, with ``iterations`` the updates done
# before this one. Keras 2's Nadam took ``schedule_decay=`` instead, and raised TypeError for decay=.
DECAYING_OPTIMIZERS = frozenset({"SGD", "RMSprop", "Adagrad", "Adadelta", "Adam", "Adamax"})


def decay_schedule_arguments(learning_rate: str, decay: str) -> str:
    """Keras 2's ``decay=`` as the arguments of Keras 3's InverseTimeDecay, evaluated at every update.

    InverseTimeDecay(lr, decay_steps=1, decay_rate=decay)(step) = lr / (1 + decay * step / 1),
    and Keras 3 evaluates a schedule at the count of updates done before each one: Keras 2's rate.
    """
    return f"{learning_rate}, decay_steps=1, decay_rate={decay}"


def decay_note(decay: str) -> str:
    """The trailing comment of the converted optimizer line: Keras 3 has no decay=, so say what it was."""
    return f"  # Keras 2's decay={decay}: lr / (1 + decay * updates done)"
