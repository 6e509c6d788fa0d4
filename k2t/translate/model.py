"""A Keras Sequential model -> the plan of a named nn.Module."""

from __future__ import annotations

import ast
import dataclasses
import itertools
import keyword
import re

from ..diagnostics import Unsupported
from ..ir import KerasCall, ModelSpec, Value, per_sample_shape
from . import registry
from .dims import Dim, Size, check_shape, keras_shape
from .frozen_layers import freeze_from_the_start, without_trainable
from .legacy import in_keras1_terms, keras2_call
from .masking import MaskFlow, mask_after, unmasked_output
from .nested import convert_nested, first_nested_input, holder_name
from .plan import LayerPlan, ModulePlan, Param
from .precision import float32_input, has_weights, without_dtype
from .text_layers import DATA_LAYERS, host_input_layer

# Arguments every layer accepts that change nothing in the translation.
COMMON_KWARGS = frozenset({"name"})


def snake_case(name: str) -> str:
    """``BatchNormalization`` -> ``batch_normalization``; ``LeakyReLU`` -> ``leaky_relu`` (Keras says leaky_re_lu)."""
    name = name.replace("PReLU", "Prelu").replace("ReLU", "Relu")
    name = re.sub(r"(\d)D", r"\1d", name)  # Conv2D -> conv2d, as Keras names it
    name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)
    return re.sub(r"(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


def camel_case(name: str) -> str:
    parts = [p for p in re.split(r"[^0-9A-Za-z]+", name) if p]
    text = "".join(p[:1].upper() + p[1:] for p in parts)
    if not text or text[0].isdigit():
        text = "Net" + text
    return text


def keras_layout_expression(x: str, rank: int) -> str:
    order = (0, *range(2, rank), 1)
    return f"{x}.permute{order}"


def written_literal(value: Value) -> bool:
    """A known value written as a literal (``64``), or a loop variable's value spelled as one
    (the variable does not exist where the model is built), as opposed to one k2t folded."""
    if not value.is_literal:
        return False
    try:
        return ast.literal_eval(value.code.strip()) == value.literal
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return False


def stable(value: Value) -> Value:
    """``value`` as code that means the same where the generated module is built.

    A name the code reads that the script binds again later (``filters *= 2`` in a loop, ``hidden = 64`` after
    a layer read ``hidden = 128``) may hold another value there: such code is written as the value k2t knows
    it has at this line, or, unknown, gets a diagnostic naming it.
    """
    if not value.rebound or written_literal(value):
        return value
    if value.is_literal:
        return Value(code=repr(value.literal), pos=value.pos, literal=value.literal, elements=value.elements)
    raise Unsupported(
        "K2T103",
        f"`{value.code.strip()}` is assigned again later in the script, so it may hold another value where the "
        f"model is built; k2t does not know its value here (compute it into a variable of its own)",
        value.pos,
    )


class LayerContext:
    """What a layer converter may read and ask for."""

    def __init__(
        self, builder: _ModuleBuilder, layer: KerasCall, attr: str, shape: list[Dim], layout: str, is_last: bool
    ):
        self.builder = builder
        self.layer = layer
        self.attr = attr
        self.shape = shape  # Keras's shape of the tensor, batch excluded (channels last); None: open size
        self.layout = layout  # dim order of the torch tensor: "keras" or "channels_first"
        self.is_last = is_last
        self.pre: list[str] = []  # forward lines that must run before this layer's own
        self.helpers: list = []  # generated definitions this layer needs (translate.helpers.Helper)
        # Functional recurrent calls: the variables given as initial_state=, how many names the call's outputs are
        # unpacked into (`out, h, c = LSTM(8, return_state=True)(x)`), and the converter's shape of each output.
        self.state_inputs: list[str] = []
        self.unpacked = 0
        self.output_shapes: list[list[Dim]] = []
        self.mask = MaskFlow()  # the Keras mask of the input (Embedding(mask_zero=True), Masking) and of the output
        self.frozen = False  # built with trainable=False (k2t.translate.frozen_layers)

    @property
    def shape(self) -> list[Dim]:
        """Keras's shape of the tensor, batch excluded (channels last); None: an open size."""
        return self._shape

    @shape.setter
    def shape(self, shape: list[Dim]) -> None:
        self._shape = check_shape(shape)

    def channels_first(self) -> None:
        """Make the torch tensor (N, C, spatial...): what torch's convolutions and pooling expect."""
        if self.layout == "keras" and len(self.shape) >= 2:
            rank = len(self.shape) + 1
            order = (0, rank - 1, *range(1, rank - 1))
            self.pre.append(f"x = x.permute{order}  # Keras is channels-last; torch convolutions are channels-first")
            self.layout = "channels_first"

    def keras_layout(self) -> None:
        """Make the torch tensor's dims Keras's (channels last) again."""
        if self.layout == "channels_first" and len(self.shape) >= 2:
            self.pre.append(f"x = {keras_layout_expression('x', len(self.shape) + 1)}  # back to channels-last")
            self.layout = "keras"

    def features(self) -> Size:
        """The size of the last axis, which Dense, convolutions and recurrent layers act on (Keras refuses inputs without one)."""
        if not self.shape:
            message = f"{self.layer.short_name} needs inputs with a feature axis; these have shape () (Keras refuses them too)"
            raise Unsupported("K2T103", message, self.layer.pos)
        if self.shape[-1] is None:
            message = (
                f"{self.layer.short_name} needs the size of its input's last axis, which is None in {keras_shape(self.shape)}: "
                f"a None size of the input shape reaches it (Keras refuses it too)"
            )
            raise Unsupported("K2T103", message, self.layer.pos)
        return self.shape[-1]

    def open_sizes(self) -> None:
        """Refuse a None size for a converter that needs every size (registry.VARIABLE_SIZES lists those that do not)."""
        if None not in self.shape or (
            self.layer.name.startswith("keras.layers.") and self.layer.short_name in registry.VARIABLE_SIZES
        ):
            return
        if self.layer.model is not None:
            return  # a nested model: its own layers say whether they need the size (a ResNet50 base takes any image)
        axis = self.shape.index(None) + 1
        message = (
            f"{self.layer.short_name} needs the size of every axis of its input, and axis {axis} of {keras_shape(self.shape)} is None: "
            f"k2t translates None sizes only into layers that never need them (convolutions, pooling, recurrent layers)"
        )
        raise Unsupported("K2T103", message, self.layer.pos)

    @property
    def self_attr(self) -> str:
        return f"self.{self.attr}"

    def outside_module(self, role: str) -> str | None:
        """The constructor parameter receiving this layer when the script also uses it outside the model.

        ``norm = layers.Normalization(); norm.adapt(x); Sequential([norm, ...])``:
        the torch module is built where the script builds the layer (see
        translate.layer_objects) and handed to the model. None for other layers.
        """
        bound = self.layer.bound
        if bound is None or not bound.uses:
            return None
        return self.builder.param(bound.outside_name, role)

    def size(self, value: Value, role: str) -> Size:
        """Code for a size argument: the literal, or a constructor parameter.

        A size the script computes (``Dense(num_classes)``, ``Dense(len(CLASSES))``)
        stays that expression, passed to the constructor where the script builds
        the model, even when k2t knows its value: the script's knobs stay the
        user's, and a size derived from one follows it.
        """
        value = stable(value)
        if value.is_literal:
            if isinstance(value.literal, bool) or not isinstance(value.literal, int):
                raise Unsupported("K2T102", f"size {value.code} must be an integer", value.pos)
            if written_literal(value):
                return Size.of(value.literal)
            return Size(self.builder.param(value.code, role), hint=value.literal)
        return Size(self.builder.param(value.code, value.parameter or role))

    def literal(self, key: str, index: int | None, default):
        value = self.layer.arg(index, key) if index is not None else self.layer.kwarg(key)
        if value is None:
            return default
        if not value.is_literal:
            raise Unsupported(
                "K2T102", f"{self.layer.short_name}({key}={value.code}): k2t needs a literal here", value.pos
            )
        return value.literal

    def check_arguments(self, positional: tuple[str, ...], keywords: frozenset[str] | set[str]) -> None:
        if len(self.layer.args) > len(positional):
            extra = self.layer.args[len(positional)]
            raise Unsupported(
                "K2T102", f"{self.layer.short_name}: positional argument {extra.code} is not translated", extra.pos
            )
        allowed = set(positional) | set(keywords) | COMMON_KWARGS
        for key, value in self.layer.kwargs:
            if key not in allowed:
                raise Unsupported("K2T102", f"{self.layer.short_name}({key}=...) is not translated", value.pos)


class _ModuleBuilder:
    def __init__(self, spec: ModelSpec, taken_names: set[str], resolve_nested=None):
        self.spec = spec
        self.params: list[Param] = []
        self.taken_names = taken_names
        # (inner ModelSpec, input sizes as code, pos) -> the inner model's ModulePlan; see translate.nested
        self.resolve_nested = resolve_nested
        self.warnings: list[tuple[str, str, tuple[int, int]]] = []  # see ModulePlan.warnings
        self.stored: set[str] = set()  # constructor parameters the module keeps as attributes (`self.init = init`)

    def param(self, argument: str, role: str) -> str:
        for p in self.params:
            if p.argument == argument:
                return p.name
        counted = re.fullmatch(r"len\((\w+)\)", argument.strip())
        if argument.isidentifier():
            name = argument.lower()
        elif counted:
            name = "num_" + counted.group(1).lower()  # Dense(len(CLASSES)) -> num_classes
        else:
            name = role
        if keyword.iskeyword(name) or name in ("self", "x") or any(p.name == name for p in self.params):
            base, n = role, 1
            name = base
            while any(p.name == name for p in self.params):
                n += 1
                name = f"{base}_{n}"
        self.params.append(Param(name, argument))
        return name


def _attr_names(layers: list[KerasCall]) -> list[str]:
    counts: dict[str, int] = {}
    names = []
    used: set[str] = set()
    for layer in layers:
        holder = holder_name(layer) if layer.model is not None else None
        if holder is not None and holder not in used:
            names.append(holder)  # self.encoder = encoder
            used.add(holder)
            continue
        if layer.bound is not None and layer.bound.uses and layer.bound.outside_name not in used:
            names.append(layer.bound.outside_name)  # self.normalizer = normalizer
            used.add(layer.bound.outside_name)
            continue
        if layer.attribute is not None and layer.attribute.isidentifier() and layer.attribute not in used:
            names.append(layer.attribute)  # self.classifier = layers.Dense(3) in a keras.Model subclass
            used.add(layer.attribute)
            continue
        given = layer.kwarg("name")
        if given is not None and given.is_literal and isinstance(given.literal, str):
            candidate = re.sub(r"\W", "_", given.literal)
            if candidate.isidentifier() and not keyword.iskeyword(candidate) and candidate not in used:
                names.append(candidate)
                used.add(candidate)
                continue
        base = snake_case(layer.layer_class.name if layer.layer_class is not None else layer.short_name)
        while True:
            n = counts.get(base, 0)
            counts[base] = n + 1
            candidate = base if n == 0 else f"{base}_{n}"
            if candidate not in used:
                break
        names.append(candidate)
        used.add(candidate)
    return names


# Layers whose input must have a certain number of axes per sample (batch excluded): ``Conv2D`` 3.
_SPATIAL_FAMILIES = frozenset({
    "Conv", "Convolution", "SeparableConv", "SeparableConvolution", "DepthwiseConv", "MaxPooling", "MaxPool",
    "AveragePooling", "AvgPool", "GlobalMaxPooling", "GlobalMaxPool", "GlobalAveragePooling", "GlobalAvgPool",
    "ZeroPadding", "Cropping", "UpSampling", "SpatialDropout",
})  # fmt: skip
_SEQUENCE_LAYERS = frozenset({"SimpleRNN", "LSTM", "GRU", "Bidirectional"})
# Layers whose output has as many axes as their input: the rank a later layer needs is theirs too.
RANK_KEEPING = frozenset({
    "Dense", "Dropout", "Activation", "ReLU", "LeakyReLU", "ELU", "Softmax", "PReLU", "BatchNormalization",
    "LayerNormalization", "GaussianNoise", "GaussianDropout", "AlphaDropout", "Rescaling", "Normalization",
})  # fmt: skip


def axes_needed(layer: KerasCall) -> int | None:
    """The number of axes per sample ``layer`` requires of its input, where Keras fixes it (Conv2D: 3; LSTM: 2)."""
    if layer.model is not None or not layer.name.startswith("keras.layers."):
        return None
    if layer.short_name in _SEQUENCE_LAYERS:
        return 2
    match = re.fullmatch(r"(\w+?)([123])D(Transpose)?", layer.short_name)
    if match and match.group(1) in _SPATIAL_FAMILIES:
        return int(match.group(2)) + 1
    return None


def axes_added(layer: KerasCall) -> int | None:
    """How many axes ``layer`` adds to its input (Embedding: one; Dense: none); None when that depends on more."""
    if layer.model is not None or not layer.name.startswith("keras.layers."):
        return None
    if layer.short_name == "Embedding":
        return 1
    return 0 if layer.short_name in RANK_KEEPING else None


def sequential_axes_needed(layers: list[KerasCall]) -> int | None:
    """The number of axes per sample the first layers fix for the model's input (Embedding then LSTM: 1)."""
    added = 0
    for layer in layers:
        needed = axes_needed(layer)
        if needed is not None:
            return needed - added if needed > added else None
        more = axes_added(layer)
        if more is None:
            return None
        added += more
    return None


def input_dims(
    shape: Value, needed: int | None, first: str, lengths: dict[str, int | None] | None = None
) -> tuple[Value, ...]:
    """One Value per size of a declared input shape.

    A tuple gives its elements. ``x_train.shape[1:]`` (or a name holding it)
    gives ``x_train.shape[1]``, ``x_train.shape[2]``, ...: constructor
    parameters of the module, read where the script builds the model. How many
    there are comes from the layers (``needed``: a Conv2D takes 3 axes per
    sample) or from where the script fixes the array's rank
    (``x_train = x_train.reshape(-1, 28, 28, 1)``); never from a guess.
    ``first`` names the first layer, for the diagnostic. ``lengths``: how many sizes the calls of the model's
    factory pass in its shape parameters (ModelSpec.parameter_lengths).
    """
    if shape.elements is not None:
        return shape.elements
    of = shape.shape_of
    if of is None:
        raise Unsupported(
            "K2T103",
            f"input shape {shape.code} must be written as a tuple, or as an array's shape (`x_train.shape[1:]`)",
            shape.pos,
        )
    sliced = of.code
    written = (
        f"`{shape.code}`" if shape.code.replace(" ", "") == sliced.replace(" ", "") else f"`{shape.code}` (`{sliced}`)"
    )
    if needed is not None and of.length is not None and needed != of.length:
        message = f"input shape {written} has {of.length} size{'s' if of.length != 1 else ''} where {first} needs {needed} (Keras refuses it too)"
        raise Unsupported("K2T103", message, shape.pos)
    length = needed if needed is not None else of.length
    if length is None and of.sequence and lengths:
        length = lengths.get(of.array)  # `build(X.shape[1:])` of a 2-D X, at every call: one size
    if (length is None or length < 1) and of.sequence:
        message = (
            f"input shape {written}: k2t cannot tell how many sizes the parameter `{of.array}` holds ({first} takes any number); "
            f"write the shape as a tuple (`({of.array}[0],)`)"
        )
        raise Unsupported("K2T103", message, shape.pos)
    if length is None or length < 1:
        message = (
            f"input shape {written}: k2t cannot tell how many axes `{of.array}` has ({first} takes any number); "
            f"reshape `{of.array}` before (`{of.array} = {of.array}.reshape(len({of.array}), ...)`) "
            f"or write the shape as a tuple (`({of.array}.shape[1],)`)"
        )
        raise Unsupported("K2T103", message, shape.pos)
    return tuple(Value(code=dim, pos=shape.pos) for dim in of.dims(length))


def _first_layer(layers: list[KerasCall]) -> str:
    return f"the first layer, {layers[0].short_name}," if layers else "the model"


def declared_dim(value: Value, builder: _ModuleBuilder, role: str) -> Dim:
    """One size of a declared input shape: a literal, None (left open), or a constructor parameter
    (a size the script computes, ``Input(shape=(N_WORDS,))``, stays the script's expression)."""
    value = stable(value)
    if value.is_literal and value.literal is None:
        return None
    if written_literal(value) and isinstance(value.literal, int) and not isinstance(value.literal, bool):
        return Size.of(value.literal)
    return Size(builder.param(value.code, role))


def input_shape_of(spec: ModelSpec) -> tuple[tuple[Value, ...] | None, KerasCall | None]:
    """The declared input shape: Input(shape=...), or input_shape=/input_dim= on the first layer."""
    if spec.input_shape is not None:
        return (
            input_dims(
                spec.input_shape, sequential_axes_needed(spec.layers), _first_layer(spec.layers), spec.parameter_lengths
            ),
            None,
        )
    if spec.layers:
        first = spec.layers[0]
        shape = first.kwarg("input_shape")
        batch_shape = first.kwarg("batch_input_shape")
        if shape is None and batch_shape is not None:
            shape = per_sample_shape(batch_shape)  # Keras 2's (batch, *sample shape)
            if shape is None:
                raise Unsupported(
                    "K2T103",
                    f"batch_input_shape={batch_shape.code}: k2t needs a tuple (batch, *sizes)",
                    batch_shape.pos,
                )
        if shape is not None:
            return (
                input_dims(
                    shape, sequential_axes_needed(spec.layers), _first_layer(spec.layers), spec.parameter_lengths
                ),
                first,
            )
        if first.short_name == "Embedding":
            # Embedding's input_dim is its vocabulary size; Keras 2's input_length was the sequence length.
            length = first.kwarg("input_length")
            return ((length,), first) if length is not None else (None, None)
        dim = first.kwarg("input_dim")
        if dim is not None:
            return (dim,), first
    return None, None


def translate_model(
    spec: ModelSpec,
    class_name: str,
    fallback_features: str | None = None,
    resolve_nested=None,
    given_input: list[Dim] | None = None,
    no_fallback: str | None = None,
    sized_by_parameters: bool = False,
) -> ModulePlan:
    """``given_input``: the input sizes when another model uses this one as a layer and it declares none;
    ``no_fallback``: why the data of its fit cannot size it, when that is the reason ``fallback_features`` is None;
    ``sized_by_parameters``: each declared input size a constructor parameter, a literal one too."""
    if spec.unfollowed is not None:
        raise Unsupported(
            "K2T103",
            f"the model `{spec.var}` is not translated: a layer added to it is not followed ({spec.unfollowed})",
            spec.pos,
        )
    registry.load_converters()

    builder = _ModuleBuilder(spec, set(), resolve_nested)
    layers = [keras2_call(layer) for layer in spec.layers]  # Keras 1 argument names read as Keras 2 read them
    shape_values, declared_on = input_shape_of(dataclasses.replace(spec, layers=layers))
    if shape_values is None and given_input is None:
        given_input = first_nested_input(spec, resolve_nested)  # `Sequential([base, ...])`: base's input shape
    if (
        shape_values is None
        and given_input is None
        and layers
        and _is_data_layer(layers[0])
        and layers[0].short_name == "TextVectorization"
    ):
        given_input = [None]  # texts of any shape: what the model reads is its output_sequence_length ids per text
    if (
        shape_values is None
        and given_input is None
        and layers
        and all(layer.short_name in registry.AUGMENTATION_LAYERS for layer in layers)
    ):
        # `Sequential([layers.RandomFlip(), ...])` applied in a tf.data map: Keras's augmentation layers take
        # (height, width, channels) images of any size, which they read off each batch; so do their modules.
        given_input = [None, None, None]
    if shape_values is None and given_input is not None:
        roles = ["in_features"] if len(given_input) == 1 else [f"input_dim_{i}" for i in range(len(given_input))]
        shape = [
            dim if dim is None or dim.value is not None else Size(builder.param(dim.code, role))
            for dim, role in zip(given_input, roles)
        ]
    elif shape_values is None:
        if fallback_features is None:
            why = f": {no_fallback}" if no_fallback else ""
            raise Unsupported("K2T103", f"the model has no input shape (add keras.Input(shape=...)){why}", spec.pos)
        shape = [Size(builder.param(fallback_features, "in_features"))]
    else:
        roles = ["in_features"] if len(shape_values) == 1 else [f"input_dim_{i}" for i in range(len(shape_values))]
        shape = []
        for value, role in zip(shape_values, roles):
            if sized_by_parameters and not (value.is_literal and value.literal is None):
                shape.append(Size(builder.param(stable(value).code, role)))
            else:
                shape.append(declared_dim(value, builder, role))
    input_shape = list(shape)

    name_value = spec.call.kwarg("name")
    keras_name = name_value.literal if name_value is not None and isinstance(name_value.literal, str) else "sequential"
    plans: list[LayerPlan] = []
    helpers: list = []
    layout = "keras"
    attrs = _attr_names(spec.layers)
    mask: str | None = None  # the variable holding the Keras mask of the current tensor
    mask_from_input: str | None = None  # that mask as an expression of the model's input, where it can be written so
    preprocess: list[str] = []  # the module's preprocess() body, when its first layer runs on the host
    for index, (layer, attr) in enumerate(zip(layers, attrs)):
        if _is_data_layer(layer):
            # `Sequential([vectorize_layer, layers.Embedding(...), ...])`: kept on the host, forward() takes its ids.
            ctx = LayerContext(builder, layer, attr, shape, layout, False)
            host = host_input_layer(ctx, index == 0)
            preprocess = host.preprocess
            host.plan.output_shape = list(ctx.shape)
            plans.append(host.plan)
            shape = input_shape = list(ctx.shape)
            continue
        if layer.model is not None:
            converter = convert_nested
        else:
            converter = registry.LAYERS.get(layer.short_name) if layer.name.startswith("keras.layers.") else None
        if converter is None:
            missing = [other for other in layers[index:] if not _has_converter(other)]
            raise Unsupported("K2T101", _missing_message(missing), layer.pos)
        if layer is not declared_on:
            for key in (
                ("input_shape", "input_length", "batch_input_shape")
                if layer.short_name == "Embedding"
                else ("input_shape", "input_dim", "batch_input_shape")
            ):
                if layer.kwarg(key) is not None:
                    # Keras reads the input shape of a Sequential's first layer only (Keras 3 warns "Do not pass an
                    # `input_shape`/`input_dim` argument to a layer"); this one sizes nothing.
                    message = (
                        f"{layer.short_name}({key}={layer.kwarg(key).code}) on a layer after the first: "
                        f"Keras ignores it (the layer takes what the layer before it gives), so does the translation"
                    )
                    builder.warnings.append(("K2T108", message, layer.kwarg(key).pos))
        layer, float32 = without_dtype(layer)
        layer, frozen = without_trainable(layer)
        ctx = LayerContext(builder, _without_input_kwargs(layer), attr, shape, layout, index == len(spec.layers) - 1)
        ctx.mask.given = mask
        ctx.frozen = frozen
        ctx.open_sizes()
        try:
            plan = converter(ctx)
            freeze_from_the_start(plan, frozen, ctx.self_attr, layer)
        except Unsupported as exc:
            raise in_keras1_terms(exc, spec.layers[index]) from exc
        if float32:
            ctx.pre = float32_input(layer, has_weights(plan)) + ctx.pre
        mask = mask_after(layer, ctx.mask)
        if ctx.mask.output is not None and ctx.mask.output != ctx.mask.given:  # made here: from the model's input?
            computes_before = any(p.forward for p in plans if p.keras_class not in DATA_LAYERS)
            mask_from_input = ctx.mask.from_input if not computes_before and not ctx.pre else None
        plan.forward = ctx.pre + plan.forward
        plan.output_shape = list(ctx.shape)
        layout = ctx.layout if len(ctx.shape) >= 2 else "keras"
        plan.layout = layout
        plans.append(plan)
        helpers.extend(ctx.helpers)
        shape = ctx.shape
    _relu_after_max_pooling(plans)
    output_mask = None
    if layers and mask is not None:
        if mask_from_input is None:
            unmasked_output(layers[-1], mask)
        output_mask = mask_from_input  # Keras masks the loss and metrics with it (k2t.translate.masking)
    output_lines = []
    if layout == "channels_first":
        output_lines.append(f"x = {keras_layout_expression('x', len(shape) + 1)}  # Keras's output is channels-last")
    module = ModulePlan(
        var=spec.var,
        class_name=class_name,
        keras_name=keras_name,
        params=builder.params,
        kept=builder.stored,
        layers=plans,
        input_shape=input_shape,
        output_lines=output_lines,
        helpers=helpers,
        preprocess=preprocess,
        output_mask=output_mask,
        warnings=builder.warnings,
    )
    from .blocks import factor_sequential_blocks  # blocks reads this module's naming helpers

    return prune_params(factor_sequential_blocks(module, spec))


def _relu_after_max_pooling(plans: list[LayerPlan]) -> None:
    """A layer with activation="relu" followed by max pooling: the ReLU applied after the pooling instead.

    The values are the same (max(relu(a), relu(b)) = relu(max(a, b)): ReLU does not decrease), and so are the
    gradients (where they could differ, ReLU's is 0), for a quarter of the ReLU's work at 2x2 pooling, and half of
    the memory the backward pass of both reads. The pooling's plan carries the activation (parity applies it to
    the pooling's output, as Keras's pooling output has it).
    """
    for first, second in itertools.pairwise(plans):
        if (
            first.activation != "relu"
            or not second.keras_class.startswith("MaxPooling")
            or not first.forward
            or len(second.forward) != 1
        ):
            continue
        activated = re.fullmatch(r"x = F\.relu\((self\.\w+\(x\))\)", first.forward[-1])
        pooled = re.fullmatch(r"x = (self\.\w+\(x\))", second.forward[0])
        if activated is None or pooled is None or second.activation not in (None, "linear"):
            continue
        first.forward = [*first.forward[:-1], f"x = {activated.group(1)}"]
        second.forward = [f"x = F.relu({pooled.group(1)})  # ReLU after pooling: same values"]
        second.activation = "relu"


def prune_params(module: ModulePlan, keep_input_shape: bool = True) -> ModulePlan:
    """Drop constructor parameters that no generated line reads.

    A size is registered when a layer's shape mentions it; later layers may
    never need it (a nested model's output size, a dimension only a strided
    padding helper reads from ``x.shape``).
    """
    texts = [*module.output_lines, *(module.forward_lines or [])]
    if keep_input_shape:
        texts.extend(
            " ".join(dim.code for dim in shape if dim is not None)
            for shape in [module.input_shape, *module.input_shapes]
        )
    for layer in module.layers:
        texts.extend([layer.constructor or "", *layer.forward, *layer.init, *layer.regularizers])
    code = "\n".join(texts)
    module.params = [p for p in module.params if p.name in module.kept or re.search(rf"\b{re.escape(p.name)}\b", code)]
    return module


def _is_data_layer(layer: KerasCall) -> bool:
    """A layer of strings or integers (k2t.translate.text_layers), which has no torch converter."""
    return layer.model is None and layer.name.startswith("keras.layers.") and layer.short_name in DATA_LAYERS


def _has_converter(layer: KerasCall) -> bool:
    return layer.name.startswith("keras.layers.") and layer.short_name in registry.LAYERS


def _missing_message(missing: list[KerasCall]) -> str:
    if len(missing) == 1:
        return f"layer {missing[0].name} is not translated"
    names = ", ".join(dict.fromkeys(layer.name for layer in missing))
    return f"layers {names} are not translated"


def _without_input_kwargs(layer: KerasCall) -> KerasCall:
    shape_kwargs = (
        ("input_shape", "input_length", "batch_input_shape")
        if layer.short_name == "Embedding"
        else ("input_shape", "input_dim", "batch_input_shape")
    )
    kwargs = tuple((k, v) for k, v in layer.kwargs if k not in shape_kwargs)
    return dataclasses.replace(layer, kwargs=kwargs)
