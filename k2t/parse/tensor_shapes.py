"""The static shape of a Keras tensor, as Keras gives it in ``x.shape`` while the script builds its model.

A helper that decides its layers on a tensor's size (``if shortcut.shape[-1] != filters:`` before a projection
shortcut) is decided where k2t knows that size: the Input's declared shape, then each layer's rule for the
common layers (convolutions, Dense, pooling, normalization, activations, merges, recurrent layers). A size
k2t does not know is :data:`k2t.values.NOT_KNOWN` (reading it leaves the expression unknown, so what depends
on it keeps its diagnostic); Keras's own unknown size (``Input(shape=(None, 3))``) is None, as in Keras.
Only layers of channels-last data are sized; anything else has no shape here.
"""

from __future__ import annotations

import math

from ..ir import TensorNode, Value
from ..values import NOT_KNOWN, RunTimeSize, TensorShape

# Layers whose output has their input's shape.
_SAME = frozenset(
    [
        "BatchNormalization",
        "LayerNormalization",
        "GroupNormalization",
        "UnitNormalization",
        "Activation",
        "ReLU",
        "LeakyReLU",
        "ELU",
        "PReLU",
        "Softmax",
        "ThresholdedReLU",
        "Dropout",
        "SpatialDropout1D",
        "SpatialDropout2D",
        "SpatialDropout3D",
        "GaussianNoise",
        "GaussianDropout",
        "AlphaDropout",
        "ActivityRegularization",
        "Identity",
    ]
)
# Merge layers of same-shaped inputs.
_MERGE = frozenset(["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"])
_CONV = frozenset(name for n in (1, 2, 3) for name in (f"Conv{n}D", f"SeparableConv{n}D"))
_CONV_TRANSPOSE = frozenset(f"Conv{n}DTranspose" for n in (1, 2, 3))
_POOL = frozenset(f"{kind}Pooling{n}D" for kind in ("Max", "Average") for n in (1, 2, 3))
_GLOBAL_POOL = frozenset(f"Global{kind}Pooling{n}D" for kind in ("Max", "Average") for n in (1, 2, 3))
# Layers that keep the channels and change the spatial sizes in ways not sized here.
_SPATIAL = frozenset(f"{kind}{n}D" for kind in ("ZeroPadding", "UpSampling", "Cropping") for n in (1, 2, 3))
_RECURRENT = frozenset(["LSTM", "GRU", "SimpleRNN"])


def keras_shape(
    node: TensorNode, image_data_format: str | None, cache: dict[int, TensorShape | None]
) -> TensorShape | None:
    """``node.shape`` as Keras has it (batch axis first), or None where k2t cannot say even its rank."""
    key = id(node)
    if key not in cache:
        cache[key] = None  # a cycle (none in a graph) or an error reads as unknown
        try:
            cache[key] = _shape(node, image_data_format, cache)
        except (TypeError, ValueError, ZeroDivisionError, OverflowError):
            cache[key] = None
    return cache[key]


def _shape(node: TensorNode, data_format: str | None, cache) -> TensorShape | None:
    if node.layer is None:  # keras.Input
        return _declared(node.input_shape)
    layer = node.layer
    if not layer.name.startswith("keras.layers.") or layer.model is not None or layer.layer_class is not None:
        return None
    if node.output_index is not None or node.initial_states or node.expression is not None:
        return None
    inputs = [keras_shape(parent, data_format, cache) for parent in node.inputs]
    if not inputs or any(shape is None for shape in inputs):
        return None
    from ..translate.legacy import keras2_call  # Keras 1's argument names, as the translation reads them

    try:
        layer = keras2_call(layer)
    except Exception:  # noqa: BLE001 -- a call Keras refuses: its translation says so
        return None
    name = layer.short_name
    first = inputs[0]
    if name in _MERGE:
        return first if all(shape == first for shape in inputs[1:]) else None
    by_position = not node.keywords or node.keywords[0] in (None, "query")
    if name == "MultiHeadAttention" and 2 <= len(inputs) <= 3 and by_position:
        # Keras: the query's shape, its last axis output_shape= where given (an int; a tuple reshapes it)
        output_shape = layer.kwarg("output_shape")
        if output_shape is None or output_shape.literal is None:
            return first
        size = _literal(output_shape)
        return first.with_last(size) if _is_size(size) else None
    if name == "Concatenate":
        return _concatenated(inputs, _literal(layer.arg(0, "axis"), -1))
    if name == "Lambda":
        return _lambda(layer, inputs, node.as_list)
    if len(inputs) != 1 or node.as_list:
        return None
    if name in _SAME:
        return first
    if name == "Dense":
        units = _size_or_code(layer.arg(0, "units"))
        return first.with_last(units) if units is not NOT_KNOWN else None
    if name == "Embedding":
        size = _literal(layer.arg(1, "output_dim"))
        return TensorShape((*first.dims, size)) if _is_size(size) and first.dims is not None else None
    if name == "Flatten":
        if first.dims is None:
            return None
        sizes = first.dims[1:]
        known = all(isinstance(size, int) for size in sizes)
        return TensorShape((None, math.prod(sizes) if known else NOT_KNOWN))
    if name in _RECURRENT:
        return _recurrent(layer, first)
    channels_last = _channels_last(layer, data_format)
    if name in _GLOBAL_POOL:
        if not channels_last or _literal(layer.kwarg("keepdims"), False) is not False:
            return None
        return TensorShape((None, first[-1])) if first.last is not NOT_KNOWN else None
    if not channels_last:
        return None
    if name in _SPATIAL:
        return first.with_spatial(None)
    if name in _POOL:
        rank = int(name[-2])
        pool = _sizes(_literal(layer.arg(0, "pool_size"), 2), rank)
        strides = _literal(layer.arg(1, "strides"), None)
        strides = pool if strides is None else _sizes(strides, rank)
        padding = _literal(layer.arg(2, "padding"), "valid")
        return first.with_spatial(_spatial(first, pool, strides, padding, (1,) * rank if pool else None))
    if name in _CONV or name in _CONV_TRANSPOSE or name.startswith("DepthwiseConv"):
        rank = int(name.split("Conv", 1)[1][0])
        if name.startswith("DepthwiseConv"):
            multiplier = _literal(layer.kwarg("depth_multiplier"), 1)
            channels = first.last * multiplier if isinstance(first.last, int) and _is_size(multiplier) else NOT_KNOWN
            kernel = _sizes(_literal(layer.arg(0, "kernel_size")), rank)
        else:
            channels = _size_or_code(layer.arg(0, "filters"))
            if channels is NOT_KNOWN:
                return None
            kernel = _sizes(_literal(layer.arg(1, "kernel_size")), rank)
        if name in _CONV_TRANSPOSE:
            return first.with_spatial(None, last=channels)
        strides = _sizes(_literal(layer.kwarg("strides"), 1), rank)
        dilation = _sizes(_literal(layer.kwarg("dilation_rate"), 1), rank)
        padding = _literal(layer.kwarg("padding"), "valid")
        return first.with_spatial(_spatial(first, kernel, strides, padding, dilation), last=channels)
    return None


def _lambda(layer, inputs: list[TensorShape], as_list: bool) -> TensorShape | None:
    """A Lambda's output shape: ``output_shape=`` of numbers, else the one its function gives on numbers (Keras 2's
    VAE: ``z = Lambda(sampling)([z_mean, z_log_var])``, then ``Input(K.int_shape(z)[1:])``), as the translation
    derives it (k2t.translate.lambda_layer)."""
    declared = _literal(layer.arg(1, "output_shape"), None)
    if isinstance(declared, int):
        declared = (declared,)
    if isinstance(declared, (tuple, list)) and all(_is_size(size) or size is None for size in declared):
        return TensorShape((None, *declared))
    function = layer.arg(0, "function")
    if function is None or function.source is None or declared is not None or layer.kwarg("arguments") is not None:
        return None
    if any(shape.dims is None or not all(_is_size(s) or s is None for s in shape.dims) for shape in inputs):
        return None
    from ..translate.lambda_layer import output_shape_of

    given = [shape.dims for shape in inputs] if as_list else inputs[0].dims
    sizes = output_shape_of(function, given)
    return TensorShape((None, *sizes)) if sizes is not None else None


def _declared(shape: Value | None) -> TensorShape | None:
    """An Input's shape as the script declares it: each size a number, None, or one k2t does not know."""
    if shape is None:
        return None
    if shape.elements is not None:
        return TensorShape((None, *(_size(element) for element in shape.elements)))
    if isinstance(shape.literal, (tuple, list)):
        return TensorShape((None, *(_size(Value("", (0, 0), size)) for size in shape.literal)))
    if shape.shape_of is not None and shape.shape_of.length is not None:
        # `Input(shape=x_train.shape[1:])`, `Input(shape=input_shape)` of a function given a shape: each size is
        # the code that reads it (`x_train.shape[2]`, `input_shape[1]`), where the model is built.
        codes = shape.shape_of.dims(shape.shape_of.length)
        return TensorShape((None, *(RunTimeSize(code, shape.bindings) for code in codes)))
    return None


def _size(value: Value):
    literal = value.literal
    if literal is None or _is_size(literal):
        return literal
    if not value.is_literal and value.code.strip() and value.shape_of is None and value.keras_call is None:
        return RunTimeSize(value.code.strip(), value.bindings)  # `Input(shape=(timesteps, n_features))`
    return NOT_KNOWN


def _size_or_code(value: Value | None):
    """A layer's size argument: its number, the code that reads it where the model is built (a RunTimeSize), or
    NOT_KNOWN."""
    if value is None:
        return NOT_KNOWN
    size = _size(value)
    return NOT_KNOWN if size is None else size


def _literal(value: Value | None, default=NOT_KNOWN):
    if value is None:
        return default
    return value.literal if value.is_literal else NOT_KNOWN


def _is_size(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _sizes(value, rank: int) -> tuple | None:
    """A size per spatial axis from ``3`` or ``(3, 3)``; None when not known."""
    if _is_size(value):
        return (value,) * rank
    if isinstance(value, (tuple, list)) and len(value) == rank and all(_is_size(v) for v in value):
        return tuple(value)
    return None


def _channels_last(layer, data_format: str | None) -> bool:
    given = layer.kwarg("data_format")
    if given is not None:
        return given.literal in ("channels_last", None) if given.is_literal else False
    return data_format == "channels_last"


def _spatial(shape: TensorShape, window, strides, padding, dilation) -> tuple | None:
    """The spatial sizes after a window (a kernel or a pool) slides over them, as Keras computes them."""
    if shape.dims is None or window is None or strides is None or dilation is None or padding not in ("valid", "same"):
        return None
    spatial = shape.dims[1:-1]
    if len(spatial) != len(window):
        return None
    sizes = []
    for size, k, s, d in zip(spatial, window, strides, dilation):
        if s == 1 and (padding == "same" or (k - 1) * d == 0):
            sizes.append(size)  # a window of one, or "same" without stride: every size as it was
            continue
        if not isinstance(size, int) or s == 0:  # None (Keras's unknown), or not known before the script runs
            sizes.append(size if size is None else NOT_KNOWN)
            continue
        if padding == "same":
            sizes.append(-(-size // s))
        else:
            extent = (k - 1) * d + 1
            sizes.append(max(0, (size - extent) // s + 1))
    return tuple(sizes)


def _concatenated(shapes: list[TensorShape], axis) -> TensorShape | None:
    if not isinstance(axis, int) or any(shape.dims is None for shape in shapes):
        return None
    rank = len(shapes[0].dims)
    if any(len(shape.dims) != rank for shape in shapes) or not -rank < axis < rank or axis % rank == 0:
        return None
    axis %= rank
    sizes = [shape.dims[axis] for shape in shapes]
    total = sum(sizes) if all(isinstance(size, int) for size in sizes) else NOT_KNOWN
    dims = list(shapes[0].dims)
    dims[axis] = total
    return TensorShape(tuple(dims))


def _recurrent(layer, first: TensorShape) -> TensorShape | None:
    units = _literal(layer.arg(0, "units"))
    sequences = _literal(layer.kwarg("return_sequences"), False)
    if (
        not _is_size(units)
        or first.dims is None
        or len(first.dims) != 3
        or _literal(layer.kwarg("return_state"), False)
    ):
        return None
    if sequences is True:
        return TensorShape((None, first.dims[1], units))
    return TensorShape((None, units)) if sequences is False else None
