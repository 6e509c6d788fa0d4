"""Sequence layers: Embedding, SimpleRNN, LSTM, GRU, Bidirectional and TimeDistributed(Dense).

Keras's recurrent layers map onto torch's fused batch-first nn.RNN / nn.LSTM /
nn.GRU with the same gate equations: LSTM gates i, f, c, o are torch's
i, f, g, o; GRU with ``reset_after=True`` (Keras's default) is torch's GRU with
the gates z, r, h reordered to r, z, n (weights are reordered on transfer, and
the distributions k2t initialises from do not depend on the order). Keras's
LSTM and SimpleRNN have one bias where torch has two: the generated wrapper
keeps torch's recurrent bias at zero and frozen, so both compute the same.

The generated wrapper (``templates/layers/recurrent.py.j2``) returns what Keras
returns: the last step unless ``return_sequences=True``.

``dropout`` / ``recurrent_dropout`` cannot be expressed by the fused kernels:
Keras draws one mask per sequence for the inputs and one for the previous
output (one per gate when ``recurrent_dropout`` > 0). A layer with either set
gets a wrapper with the same torch parameters that computes the steps in a loop
(``templates/layers/recurrent_loop.py.j2``); every other layer keeps the fused kernel.
"""

from __future__ import annotations

import dataclasses

from ..diagnostics import Unsupported
from ..ir import KerasCall, Value
from .activations import activation_name, apply_activation
from .custom_cells import custom_cell_rnn, is_custom_cell
from .dims import Size, static_int
from .helpers import Helper
from .initializers import initializer_lines
from .model import LayerContext
from .plan import LayerPlan
from .registry import layer
from .regularizers import regularizer_terms

# Keras class -> (torch base class, gates per unit).
_RECURRENT = {
    "SimpleRNN": ("RNN", 1),
    "LSTM": ("LSTM", 4),
    "GRU": ("GRU", 3),
}
_RECURRENT_KWARGS = {
    "activation",
    "recurrent_activation",
    "use_bias",
    "kernel_initializer",
    "recurrent_initializer",
    "bias_initializer",
    "unit_forget_bias",
    "kernel_regularizer",
    "recurrent_regularizer",
    "bias_regularizer",
    "dropout",
    "recurrent_dropout",
    "return_sequences",
    "return_state",
    "go_backwards",
    "stateful",
    "unroll",
    "reset_after",
    "use_cudnn",
    "seed",
    # Keras 2's computation mode (0, 1, 2; Keras 1's consume_less): the same results either way,
    # and Keras 3's LSTM and GRU accept it and ignore it.
    "implementation",
}
# Bidirectional merge modes other than concat: (class name suffix, the merge of `forward` and `backward`), as Keras computes it.
_MERGES = {
    "sum": ("Summed", "forward + backward"),
    "mul": ("Multiplied", "forward * backward"),
    "ave": ("Averaged", "(forward + backward) / 2"),
    None: ("Apart", "forward, backward"),  # Keras returns [forward, backward], unpacked into two names
}
# Keras's states of each layer, in the order return_state returns them and initial_state takes them.
_STATES = {"SimpleRNN": ("h",), "LSTM": ("h", "c"), "GRU": ("h",)}
# Layers a Functional call may give initial_state=[...] (k2t.translate.functional reads this).
TAKES_INITIAL_STATE = frozenset({*_STATES, "RNN"})  # RNN: over one built-in cell, or a cell of the script's own


def _literal(call: KerasCall, key: str, index: int | None, default):
    value = call.arg(index, key) if index is not None else call.kwarg(key)
    if value is None:
        return default
    if not value.is_literal:
        raise Unsupported("K2T102", f"{call.short_name}({key}={value.code}): k2t needs a literal here", value.pos)
    return value.literal


@layer("Embedding")
def convert_embedding(ctx: LayerContext) -> LayerPlan:
    ctx.check_arguments(
        ("input_dim", "output_dim"), {"embeddings_initializer", "embeddings_regularizer", "mask_zero", "weights"}
    )
    input_dim, output_dim = ctx.layer.arg(0, "input_dim"), ctx.layer.arg(1, "output_dim")
    if input_dim is None or output_dim is None:
        raise Unsupported("K2T102", "Embedding needs input_dim and output_dim", ctx.layer.pos)
    ctx.keras_layout()
    vocabulary = ctx.size(input_dim, f"{ctx.attr}_input_dim")
    features = ctx.size(output_dim, f"{ctx.attr}_output_dim")
    weight = f"{ctx.self_attr}.weight"
    pretrained = _pretrained_matrix(ctx)
    if pretrained is None:
        constructor = f"nn.Embedding({vocabulary}, {features})"
        # Keras's fans of the (input_dim, output_dim) matrix: input_dim in, output_dim out (torch's kaiming would
        # read the weight as (out, in)). A size given as a constructor parameter exists only in __init__:
        # reset_parameters reads it off the layer.
        fan_in = vocabulary if vocabulary.value is not None else f"{ctx.self_attr}.num_embeddings"
        fan_out = features if features.value is not None else f"{ctx.self_attr}.embedding_dim"
        init = initializer_lines(
            ctx.layer.kwarg("embeddings_initializer"), "uniform", weight, fan_in, fan_out, keras_fans=True
        )
    else:
        # Keras checks the matrix's shape against (input_dim, output_dim) and copies it into the float32 weights.
        matrix = ctx.builder.param(pretrained.code, f"{ctx.attr}_matrix")
        frozen, ctx.frozen = ctx.frozen, False
        constructor = f"nn.Embedding.from_pretrained(torch.as_tensor({matrix}, dtype=torch.float32), freeze={frozen})"
        init = []
    ctx.shape = ctx.shape + [features]
    n, d = static_int(vocabulary), static_int(features)
    return LayerPlan(
        keras_class="Embedding",
        attr=ctx.attr,
        constructor=constructor,
        forward=[_embedding_line(ctx)],
        init=init,
        weights="embedding",
        regularizers=regularizer_terms(ctx.layer.kwarg("embeddings_regularizer"), weight),
        params=n * d if n is not None and d is not None else None,
    )


def _pretrained_matrix(ctx: LayerContext):
    """The matrix an Embedding starts from: ``weights=[matrix]`` (Keras 2's, which Keras 3's Embedding keeps, also
    without the list) or ``embeddings_initializer=keras.initializers.Constant(matrix)`` with an array rather than a
    number; None for an Embedding initialised otherwise."""
    given = ctx.layer.kwarg("weights")
    if given is not None:
        if given.is_literal and isinstance(given.literal, (list, tuple)):
            raise Unsupported("K2T102", "Embedding(weights=...) written as numbers is not translated", given.pos)
        if given.elements is not None:
            if len(given.elements) != 1:
                raise Unsupported(
                    "K2T102", "Embedding(weights=[...]) takes one matrix (Keras raises ValueError)", given.pos
                )
            given = given.elements[0]
        return _array(given)
    initializer = ctx.layer.kwarg("embeddings_initializer")
    call = initializer.keras_call if initializer is not None else None
    if call is None or call.short_name != "Constant" or not call.name.startswith("keras.initializers."):
        return None
    value = call.arg(0, "value")
    if value is None or (value.is_literal and isinstance(value.literal, (int, float))):
        return None  # a number: nn.init.constant_ (k2t.translate.initializers)
    return _array(value)


def _array(value):
    if value.rebound:
        raise Unsupported(
            "K2T103",
            f"the Embedding's matrix `{value.code}` is bound again later in the script: k2t cannot tell which value "
            "the generated module would be built from",
            value.pos,
        )
    return value


def _embedding_line(ctx: LayerContext) -> str:
    # Keras casts the ids to integers (the generated fit hands the model float32 arrays).
    lookup = f"{ctx.self_attr}(x.long())"
    if not _literal(ctx.layer, "mask_zero", None, False):
        return f"x = {lookup}"
    return f"x, {ctx.mask.make('x != 0')} = {lookup}, x != 0  # Keras's mask_zero: id 0 is padding, masked in the layers after"


@layer("Masking")
def convert_masking(ctx: LayerContext) -> LayerPlan:
    ctx.check_arguments(("mask_value",), set())
    mask_value = _literal(ctx.layer, "mask_value", 0, 0.0)
    if isinstance(mask_value, bool) or not isinstance(mask_value, (int, float)):
        raise Unsupported(
            "K2T102", f"Masking(mask_value={mask_value!r}) is not translated: k2t takes a number", ctx.layer.pos
        )
    if len(ctx.shape) != 2:
        raise Unsupported("K2T102", "Masking is translated on (steps, features) inputs per sample", ctx.layer.pos)
    ctx.keras_layout()
    helper = Helper("KerasMasking", "layers/masking.py.j2")
    ctx.helpers.append(helper)
    return LayerPlan(
        keras_class="Masking",
        attr=ctx.attr,
        constructor=f"{helper.name}({float(mask_value)!r})",
        forward=[f"x, {ctx.mask.make(f'(x != {float(mask_value)!r}).any(dim=-1)')} = {ctx.self_attr}(x)"],
        params=0,
    )


def masked_global_average(ctx: LayerContext, mask: str) -> LayerPlan:
    """GlobalAveragePooling1D over a masked sequence: Keras averages the unmasked steps only."""
    ctx.check_arguments(("data_format", "keepdims"), set())
    if ctx.literal("keepdims", 1, False) is not False:
        raise Unsupported(
            "K2T102", "GlobalAveragePooling1D(keepdims=True) over a masked sequence is not translated", ctx.layer.pos
        )
    if ctx.literal("data_format", 0, "channels_last") != "channels_last":
        raise Unsupported(
            "K2T102", "GlobalAveragePooling1D(data_format=...) over a masked sequence is not translated", ctx.layer.pos
        )
    ctx.keras_layout()
    helper = Helper("MaskedAverage", "layers/masked_average.py.j2")
    ctx.helpers.append(helper)
    ctx.shape = [ctx.shape[-1]]
    return LayerPlan(
        keras_class="GlobalAveragePooling1D",
        attr=ctx.attr,
        constructor=f"{helper.name}()",
        forward=[f"x = {ctx.self_attr}(x, {mask})"],
        params=0,
    )


def _recurrent(
    ctx: LayerContext,
    call: KerasCall,
    attr: str,
    bidirectional: bool,
    states: bool = False,
    masked: bool = False,
    merge: str = "concat",
    module: str | None = None,
) -> tuple[str, list[str], list[str], Size, int | None, Helper]:
    """(constructor, init lines, regularizer terms, units, parameter count, wrapper helper) of a recurrent layer call;
    ``module``: the torch module's path when it is not ``self.{attr}`` (one of an RNN's stacked cells)."""
    kind = call.short_name
    gates = _RECURRENT[kind][1]
    given, extra, _ = call.bind(("units",))
    if extra is not None:
        raise Unsupported("K2T102", f"{kind}: positional argument {extra.code} is not translated", extra.pos)
    for key, _ in call.kwargs:
        if key not in _RECURRENT_KWARGS | {"name", "units"}:  # units: also by keyword, as Keras allows
            raise Unsupported("K2T102", f"{kind}({key}=...) is not translated", call.kwarg(key).pos)
    if "units" not in given:
        raise Unsupported("K2T102", f"{kind} needs units", call.pos)
    if kind != "LSTM" and call.kwarg("unit_forget_bias") is not None:
        raise Unsupported(
            "K2T102", f"{kind}(unit_forget_bias=...) is not translated", call.kwarg("unit_forget_bias").pos
        )
    if kind != "GRU" and call.kwarg("reset_after") is not None:
        raise Unsupported(
            "K2T102", f"{kind}(reset_after=...) is not translated: a GRU argument", call.kwarg("reset_after").pos
        )
    # Keras's GRU(reset_after=False), GRU v1: the reset gate before the recurrent product, one bias.
    reset_before = kind == "GRU" and not _literal(call, "reset_after", None, True)
    activation, recurrent_activation, nonlinearity = _activations(call)
    if bidirectional and _literal(call, "go_backwards", None, False):
        message = f"{kind}(go_backwards=True) inside Bidirectional is not translated (Keras 3 raises ValueError: both of its layers would read backwards)"
        raise Unsupported("K2T102", message, call.kwarg("go_backwards").pos)
    stateful = _stateful(call)
    return_state = _literal(call, "return_state", None, False)

    features = ctx.features()  # the steps may be None: torch's recurrent layers take any length
    units = ctx.size(given["units"], f"{attr}_units")
    use_bias = _literal(call, "use_bias", None, True)
    return_sequences = _literal(call, "return_sequences", None, False)
    rates = _dropout_rates(call)
    arguments = [features.code, units.code]
    if return_sequences:
        arguments.append("return_sequences=True")
    if return_state and not bidirectional:  # a Bidirectional class with states always returns them
        arguments.append("return_state=True")
    arguments += [f"{key}={rate!r}" for key, rate in rates.items() if rate]
    if not use_bias:
        arguments.append("bias=False")
    if bidirectional:
        arguments.append("bidirectional=True")
    # torch's fused kernels compute tanh (or SimpleRNN's relu) and sigmoid gates: other activations take the step loop.
    fused_activations = (activation == "tanh" or bool(nonlinearity)) and recurrent_activation == "sigmoid"
    looped = any(rates.values()) or not fused_activations
    helper = _wrapper(
        kind,
        looped=looped,
        states=states or return_state,
        masked=masked,
        merge=merge,
        reset_before=reset_before,
        stateful=stateful,
        bidirectional=bidirectional,
        activations=(activation, recurrent_activation),
    )
    if masked and return_sequences:
        ctx.mask.output = ctx.mask.given  # Keras's RNN passes the mask on with the sequences
    constructor = f"{helper.name}({', '.join(arguments)}{nonlinearity})"

    init: list[str] = []
    regularizers: list[str] = []
    module = module or f"self.{attr}"
    # reset_parameters() runs outside __init__: sizes that are constructor parameters are read off the module.
    units_code = units.code if units.value is not None else f"{module}.hidden_size"
    features_code = features.code if features.value is not None else f"{module}.input_size"
    for suffix in ("_l0", "_l0_reverse") if bidirectional else ("_l0",):
        gate_units = f"{gates} * {units_code}" if gates > 1 else units_code
        init += initializer_lines(
            call.kwarg("kernel_initializer"), "glorot_uniform", f"{module}.weight_ih{suffix}", features_code, gate_units
        )
        init += initializer_lines(
            call.kwarg("recurrent_initializer"), "orthogonal", f"{module}.weight_hh{suffix}", units_code, gate_units
        )
        regularizers += regularizer_terms(call.kwarg("kernel_regularizer"), f"{module}.weight_ih{suffix}")
        regularizers += regularizer_terms(call.kwarg("recurrent_regularizer"), f"{module}.weight_hh{suffix}")
        if use_bias:
            init += initializer_lines(
                call.kwarg("bias_initializer"), "zeros", f"{module}.bias_ih{suffix}", gate_units, gate_units
            )
            if kind == "GRU" and not reset_before:  # Keras's GRU has an input and a recurrent bias, as torch's
                init += initializer_lines(
                    call.kwarg("bias_initializer"), "zeros", f"{module}.bias_hh{suffix}", gate_units, gate_units
                )
            if kind == "LSTM" and _literal(call, "unit_forget_bias", None, True):
                init.append(
                    f"nn.init.ones_({module}.bias_ih{suffix}[{units_code} : 2 * {units_code}])  # Keras's unit_forget_bias: the forget gate starts open"
                )
            regularizers += regularizer_terms(call.kwarg("bias_regularizer"), f"{module}.bias_ih{suffix}")
            if kind == "GRU" and not reset_before:
                regularizers += regularizer_terms(call.kwarg("bias_regularizer"), f"{module}.bias_hh{suffix}")

    n, u = static_int(features), static_int(units)
    params = None
    if n is not None and u is not None:
        biases = {"SimpleRNN": 1, "LSTM": 1, "GRU": 1 if reset_before else 2}[kind] if use_bias else 0
        params = gates * (n * u + u * u + biases * u) * (2 if bidirectional else 1)
    concatenated = bidirectional and merge == "concat"  # both directions side by side; merged otherwise
    output_units = Size.of(2) * units if concatenated else units
    ctx.shape = ctx.shape[:-1] + [output_units] if return_sequences else [output_units]
    return constructor, init, regularizers, units, params, helper


def _activations(call: KerasCall) -> tuple[str, str, str]:
    """Keras's activation and recurrent_activation (the gates'; SimpleRNN has none), by name, and torch's
    ``nonlinearity=`` argument of the fused SimpleRNN (empty where tanh, its default, or another activation)."""
    kind = call.short_name
    activation = activation_name(call.kwarg("activation")) if call.kwarg("activation") is not None else "tanh"
    given = call.kwarg("recurrent_activation")
    if kind == "SimpleRNN" and given is not None:
        raise Unsupported(
            "K2T102", "SimpleRNN(recurrent_activation=...) is not translated: an LSTM and GRU argument", given.pos
        )
    recurrent_activation = activation_name(given) if given is not None else "sigmoid"
    nonlinearity = ', nonlinearity="relu"' if kind == "SimpleRNN" and activation == "relu" else ""
    return activation, recurrent_activation, nonlinearity


def _stateful(call: KerasCall) -> bool:
    """Keras's ``stateful``: the final states of a batch are the initial states of the next, until reset_states().
    Inside Bidirectional, Keras keeps the states of both directions (each its own layer's)."""
    stateful = _literal(call, "stateful", None, False)
    if not isinstance(stateful, bool):
        raise Unsupported(
            "K2T102",
            f"{call.short_name}(stateful={stateful!r}) is not translated: k2t takes True or False",
            call.kwarg("stateful").pos,
        )
    return stateful


def _dropout_rates(call: KerasCall) -> dict[str, float]:
    """Keras's ``dropout`` and ``recurrent_dropout`` rates, each in [0, 1)."""
    rates = {}
    for key in ("dropout", "recurrent_dropout"):
        rate = _literal(call, key, None, 0.0)
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate < 1:
            # Keras clips a rate to [0, 1] and skips a rate of 1 in LSTM and GRU but not in SimpleRNN.
            raise Unsupported(
                "K2T102",
                f"{call.short_name}({key}={rate!r}) is not translated: k2t takes a rate in [0, 1)",
                call.kwarg(key).pos,
            )
        rates[key] = rate
    return rates


def _wrapper(
    kind: str,
    looped: bool,
    states: bool,
    masked: bool,
    merge: str = "concat",
    reset_before: bool = False,
    stateful: bool = False,
    bidirectional: bool = False,
    activations: tuple[str, str] = ("tanh", "sigmoid"),
) -> Helper:
    """The generated class: torch's fused layer, or (with dropout, a Keras mask, GRU's reset_after=False or an
    activation the fused kernels lack) the same parameters computed step by step; with ``states``, one that also
    takes Keras's initial_state and returns its states (return_state; bidirectional: both directions' states);
    bidirectional with a ``merge`` mode other than concat, one that merges the two directions so; ``stateful``, one that starts each batch from the last one's final states (its name ends with
    Stateful, which k2t.translate.model_api reads)."""
    torch_class, gates = _RECURRENT[kind]
    merged_name, merge_expression = _MERGES.get(merge, ("", None))
    # A stateful layer of one direction is the class with states: it starts from its own when given no initial_state.
    # Inside Bidirectional (no initial_state there) it keeps torch's states of both directions; `states` there
    # is return_state: the class returns the output and both directions' final states.
    bidirectional_states = bidirectional and states
    states = not bidirectional and (states or stateful)
    common = (
        ("keras_class", kind),
        ("torch_class", torch_class),
        ("one_bias", kind != "GRU" or reset_before),
        ("states", states),
        ("merge", merge_expression),
        ("merge_mode", "None" if merge is None else f'"{merge}"'),
        ("stateful", stateful),
        ("bidirectional_states", bidirectional_states),
    )
    suffix = merged_name + ("Bidirectional" if bidirectional and (stateful or bidirectional_states) else "")
    suffix += ("WithState" if bidirectional_states or states and not stateful else "") + (
        "Stateful" if stateful else ""
    )
    if looped or masked or reset_before:
        loop = "Masked" if masked else "Loop"
        activation, recurrent_activation = activations
        fused = ("tanh", "relu") if kind == "SimpleRNN" else ("tanh",)  # SimpleRNN's relu: its nonlinearity="relu"
        named = _camel(activation) if activation not in fused else ""
        named += _camel(recurrent_activation) + "Gates" if recurrent_activation != "sigmoid" else ""
        name = f"Keras{kind}{named}{'ResetBefore' if reset_before else ''}{loop}{suffix}"
        loop_args = (
            ("gates", gates),
            ("masked", masked),
            ("reset_before", reset_before),
            ("activation", activation),
            ("activation_of", apply_activation(activation, "{x}")),
            ("gate_of", apply_activation(recurrent_activation, "{x}")),
            ("own_activations", bool(named)),
            ("recurrent_activation", recurrent_activation),
        )
        return Helper(name, "layers/recurrent_loop.py.j2", (*common, *loop_args))
    return Helper(f"Keras{kind}{suffix}", "layers/recurrent.py.j2", common)


def _camel(activation: str) -> str:
    """``hard_sigmoid`` -> ``HardSigmoid``, for a generated class name."""
    return "".join(part.capitalize() for part in activation.split("_"))


def _mask_argument(ctx: LayerContext, go_backwards: bool) -> str:
    """`, mask=...` of the layer call when its input carries a Keras mask (reversed with the sequence)."""
    mask = ctx.mask.take()
    if mask is None:
        return ""
    return f", mask={mask}.flip(1)" if go_backwards else f", mask={mask}"


def _state_lines(ctx: LayerContext, kind: str) -> str:
    """The layer call's arguments after `x`: Keras's initial_state, given by the Functional call; its outputs checked
    against the names the script unpacks them into (return_state=True)."""
    states = _STATES[kind]
    if _literal(ctx.layer, "return_state", None, False):
        if ctx.unpacked != 1 + len(states):
            example = ", ".join(("output", *(f"state_{name}" for name in states)))
            message = f"{kind}(return_state=True) is translated where its {1 + len(states)} outputs are unpacked into names: `{example} = {kind}(...)(x)`"
            raise Unsupported("K2T102", message, ctx.layer.kwarg("return_state").pos)
        ctx.output_shapes = [list(ctx.shape)] + [ctx.shape[-1:] for _ in states]
    if not ctx.state_inputs:
        return ""
    if len(ctx.state_inputs) != len(states):
        raise Unsupported(
            "K2T102",
            f"{kind} takes {len(states)} initial state tensors ({', '.join(states)}), not {len(ctx.state_inputs)}",
            ctx.layer.pos,
        )
    return f", initial_state=[{', '.join(ctx.state_inputs)}]"


def _check_sequence_input(ctx: LayerContext) -> None:
    if len(ctx.shape) != 2:
        raise Unsupported(
            "K2T102", f"{ctx.layer.short_name} expects (steps, features) inputs per sample", ctx.layer.pos
        )
    ctx.keras_layout()


def _recurrent_layer(ctx: LayerContext) -> LayerPlan:
    _check_sequence_input(ctx)
    kind = ctx.layer.short_name
    forward = []
    go_backwards = _literal(ctx.layer, "go_backwards", None, False)
    if go_backwards:
        forward.append("x = x.flip(1)  # Keras's go_backwards reads the sequence from its end")
    mask = _mask_argument(ctx, go_backwards)
    constructor, init, regularizers, _, params, helper = _recurrent(
        ctx, ctx.layer, ctx.attr, False, bool(ctx.state_inputs), bool(mask)
    )
    ctx.helpers.append(helper)
    return LayerPlan(
        keras_class=kind,
        attr=ctx.attr,
        constructor=constructor,
        forward=[*forward, f"x = {ctx.self_attr}(x{mask}{_state_lines(ctx, kind)})"],
        init=init,
        weights=kind.lower(),
        regularizers=regularizers,
        params=params,
    )


@layer("SimpleRNN")
def convert_simple_rnn(ctx: LayerContext) -> LayerPlan:
    return _recurrent_layer(ctx)


@layer("LSTM")
def convert_lstm(ctx: LayerContext) -> LayerPlan:
    return _recurrent_layer(ctx)


@layer("GRU")
def convert_gru(ctx: LayerContext) -> LayerPlan:
    return _recurrent_layer(ctx)


# keras.layers.RNN's built-in cells -> the layer that runs that cell (Keras 3's LSTM is RNN(LSTMCell(...))).
_CELLS = {"SimpleRNNCell": "SimpleRNN", "LSTMCell": "LSTM", "GRUCell": "GRU"}
_RNN_ARGUMENTS = (
    "cell",
    "return_sequences",
    "return_state",
    "go_backwards",
    "stateful",
    "unroll",
    "zero_output_for_mask",
)
_CELL_ONLY = (
    "k2t translates RNN over LSTMCell, GRUCell and SimpleRNNCell, one or a list / StackedRNNCells of them, "
    "or over one cell class of the script's own, each written in the RNN's call (`RNN(MinimalRNNCell(4))`; "
    "a cell of the script's class may also be held in a variable)"
)


@layer("RNN")
def convert_rnn(ctx: LayerContext) -> LayerPlan:
    """``RNN(LSTMCell(8, dropout=0.1), return_sequences=True)``: the LSTM layer of that cell and those arguments
    (Keras's LSTM is that RNN). Stacked cells (``RNN([LSTMCell(8), GRUCell(4)])``, ``StackedRNNCells``) feed each
    cell the one before's output at every step: the same as one layer per cell, each returning its sequence to
    the next, the last as the RNN returns; go_backwards reverses the input once, before the first."""
    ctx.check_arguments(_RNN_ARGUMENTS, set())
    _check_sequence_input(ctx)
    rnn = ctx.layer
    cell = rnn.arg(0, "cell")
    if is_custom_cell(cell):
        options = {
            key: value for index, key in enumerate(_RNN_ARGUMENTS[1:], 1) if (value := rnn.arg(index, key)) is not None
        }
        return custom_cell_rnn(ctx, cell.keras_call, options)
    cells = _rnn_cells(rnn)
    if _literal(rnn, "zero_output_for_mask", 6, False):
        message = "RNN(zero_output_for_mask=True) is not translated: k2t's recurrent layers keep the last output on masked steps, as LSTM does"
        raise Unsupported("K2T102", message, rnn.arg(6, "zero_output_for_mask").pos)
    rnn_options = tuple(
        (key, value) for index, key in enumerate(_RNN_ARGUMENTS[1:], 1) if (value := rnn.arg(index, key)) is not None
    )
    if len(cells) == 1:
        ctx.layer = _layer_of_cell(cells[0], rnn_options)
        try:
            plan = _recurrent_layer(ctx)
        finally:
            ctx.layer = rnn
        plan.keras_class = "RNN"
        return plan
    return _stacked_rnn(ctx, cells, dict(rnn_options))


def _rnn_cells(rnn: KerasCall) -> list[KerasCall]:
    """The built-in cells of ``RNN(cell)``: one, a list of them or StackedRNNCells([...]); else K2T101 at the cell."""
    cell = rnn.arg(0, "cell")
    if cell is None:
        raise Unsupported("K2T102", "RNN needs a cell", rnn.pos)
    if cell.keras_call is not None and cell.keras_call.name == "keras.layers.StackedRNNCells":
        stacked = cell.keras_call
        cell = stacked.arg(0, "cells")
        if cell is None or len(stacked.args) + len(stacked.kwargs) > 1:
            raise Unsupported("K2T102", f"{stacked.name}: k2t translates StackedRNNCells([cells]) alone", stacked.pos)
    items = cell.elements if cell.elements is not None else (cell,)
    for item in items:
        if item.keras_call is None or item.keras_call.name not in {f"keras.layers.{name}" for name in _CELLS}:
            raise Unsupported("K2T101", f"RNN({item.code}) is not translated: {_CELL_ONLY}", item.pos)
    if not items:
        raise Unsupported("K2T102", "RNN over no cell is not translated", cell.pos)
    return [item.keras_call for item in items]


def _layer_of_cell(cell: KerasCall, rnn_options: tuple[tuple[str, Value], ...]) -> KerasCall:
    """``LSTMCell(8, dropout=0.1)`` run by ``RNN(..., return_sequences=True)`` as the call ``LSTM(8, dropout=0.1,
    return_sequences=True)``, at the cell's place."""
    for key, value in cell.kwargs:
        if key in _RNN_ARGUMENTS:
            raise Unsupported(
                "K2T102",
                f"{cell.short_name}({key}=...) is not translated: an argument of the RNN, not of its cell",
                value.pos,
            )
    kwargs = tuple((key, value) for key, value in cell.kwargs if key != "name")  # the RNN's name names the layer
    return dataclasses.replace(cell, name=f"keras.layers.{_CELLS[cell.short_name]}", kwargs=(*kwargs, *rnn_options))


def _stacked_rnn(ctx: LayerContext, cells: list[KerasCall], options: dict[str, Value]) -> LayerPlan:
    """Stacked cells as an nn.Sequential of one recurrent module per cell: each takes the sequence the one before
    returns."""
    rnn = ctx.layer
    for key in ("return_state", "stateful"):
        if key in options and not (options[key].is_literal and options[key].literal is False):
            raise Unsupported("K2T102", f"RNN({key}=...) over stacked cells is not translated", options[key].pos)
    if ctx.state_inputs:
        raise Unsupported("K2T102", "RNN over stacked cells with initial_state is not translated", rnn.pos)
    for cell in cells:
        for key in ("dropout", "recurrent_dropout"):
            value = cell.kwarg(key)
            if value is not None and not (value.is_literal and value.literal == 0):
                # Keras 3 draws every stacked cell's input mask in the shape of the RNN's input (RNN._maybe_config_dropout_masks).
                raise Unsupported(
                    "K2T102", f"{cell.short_name}({key}=...) in stacked cells is not translated", value.pos
                )
    if ctx.mask.given is not None:
        raise Unsupported("K2T102", "RNN over stacked cells on a masked sequence is not translated", rnn.pos)
    options.pop("go_backwards", None)  # the input reversed once, below
    returns_sequences = options.pop("return_sequences", None)
    forward = (
        ["x = x.flip(1)  # Keras's go_backwards reads the sequence from its end"]
        if _literal(rnn, "go_backwards", 3, False)
        else []
    )
    constructors, init, regularizers, params = [], [], [], 0
    for index, cell in enumerate(cells):
        last = index == len(cells) - 1
        sequences = returns_sequences if last and returns_sequences is not None else Value("True", cell.pos, True)
        layer_call = _layer_of_cell(
            cell, (*options.items(), *((("return_sequences", sequences),) if not last or returns_sequences else ()))
        )
        module = f"{ctx.self_attr}[{index}]"
        constructor, cell_init, cell_regularizers, _, cell_params, helper = _recurrent(
            ctx, layer_call, f"{ctx.attr}_{index}", False, module=module
        )
        ctx.helpers.append(helper)
        constructors.append(constructor)
        init += cell_init
        regularizers += cell_regularizers
        params = None if params is None or cell_params is None else params + cell_params
    return LayerPlan(
        keras_class="RNN",
        attr=ctx.attr,
        constructor=f"nn.Sequential({', '.join(constructors)})",
        forward=[*forward, f"x = {ctx.self_attr}(x)  # the stacked cells, each on the sequence of the one before"],
        init=init,
        weights="stacked_rnn",
        regularizers=regularizers,
        params=params,
    )


@layer("Bidirectional")
def convert_bidirectional(ctx: LayerContext) -> LayerPlan:
    ctx.check_arguments(("layer", "merge_mode"), set())
    _check_sequence_input(ctx)
    merge_mode = _literal(ctx.layer, "merge_mode", 1, "concat")
    if merge_mode != "concat" and merge_mode not in _MERGES:
        raise Unsupported(
            "K2T102", f"Bidirectional(merge_mode={merge_mode!r}) is not translated", ctx.layer.arg(1, "merge_mode").pos
        )
    inner: Value | None = ctx.layer.arg(0, "layer")
    call = inner.keras_call if inner is not None else None
    if call is None or call.name not in {f"keras.layers.{kind}" for kind in _RECURRENT}:
        code = inner.code if inner is not None else "nothing"
        raise Unsupported(
            "K2T102",
            f"Bidirectional({code}) is not translated: k2t translates SimpleRNN, LSTM and GRU inside it",
            ctx.layer.pos,
        )
    if merge_mode is None and _literal(call, "return_state", None, False):
        message = f"{call.short_name}(return_state=True) inside Bidirectional(merge_mode=None) is not translated"
        raise Unsupported("K2T102", message, call.kwarg("return_state").pos)
    if merge_mode is None and ctx.unpacked != 2:
        # Keras returns the two directions as a list of two tensors: k2t follows them as two names.
        message = "Bidirectional(merge_mode=None) is translated where its 2 outputs are unpacked into names: `forward, backward = Bidirectional(...)(x)`"
        raise Unsupported("K2T102", message, ctx.layer.arg(1, "merge_mode").pos)
    mask = _mask_argument(ctx, go_backwards=False)
    if mask and merge_mode is None:
        raise Unsupported(
            "K2T102",
            "Bidirectional(merge_mode=None) over a masked sequence is not translated",
            ctx.layer.arg(1, "merge_mode").pos,
        )
    constructor, init, regularizers, _, params, helper = _recurrent(
        ctx, call, ctx.attr, bidirectional=True, masked=bool(mask), merge=merge_mode
    )
    ctx.helpers.append(helper)
    if merge_mode is None:
        ctx.output_shapes = [list(ctx.shape), list(ctx.shape)]
    if _literal(call, "return_state", None, False):
        ctx.output_shapes = _bidirectional_state_shapes(ctx, call)
    return LayerPlan(
        keras_class="Bidirectional",
        attr=ctx.attr,
        constructor=constructor,
        forward=[f"x = {ctx.self_attr}(x{mask})"],
        init=init,
        weights=f"bidirectional_{call.short_name.lower()}",
        regularizers=regularizers,
        params=params,
    )


def _bidirectional_state_shapes(ctx: LayerContext, call: KerasCall) -> list[list[str]]:
    """The shapes of Bidirectional's outputs with return_state=True: Keras's [output, *forward states, *backward
    states] (an encoder's `output, forward_h, forward_c, backward_h, backward_c`), checked against the names."""
    kind = call.short_name
    states = [f"{direction}_{name}" for direction in ("forward", "backward") for name in _STATES[kind]]
    if ctx.unpacked != 1 + len(states):
        message = f"Bidirectional({kind}(return_state=True)) is translated where its {1 + len(states)} outputs are unpacked into names: `{', '.join(('output', *states))} = Bidirectional(...)(x)`"
        raise Unsupported("K2T102", message, call.kwarg("return_state").pos)
    units = ctx.size(call.bind(("units",))[0]["units"], f"{ctx.attr}_units")
    return [list(ctx.shape)] + [[units] for _ in states]


@layer("TimeDistributed")
def convert_time_distributed(ctx: LayerContext) -> LayerPlan:
    """TimeDistributed(layer): Dense as a torch Linear, which already acts on the last axis of every step; any
    other layer k2t translates (Conv2D, MaxPooling2D, Flatten, ...) in a generated ``TimeDistributed`` module that
    folds the steps into the batch, calls the layer and unfolds (one call per step, as Keras's, for
    BatchNormalization)."""
    from . import registry
    from .layers import convert_dense

    ctx.check_arguments(("layer",), set())
    inner: Value | None = ctx.layer.arg(0, "layer")
    call = inner.keras_call if inner is not None else None
    if call is None:
        code = inner.code if inner is not None else "nothing"
        raise Unsupported(
            "K2T102",
            f"TimeDistributed({code}) is not translated: k2t translates TimeDistributed over a Keras layer written in the call",
            ctx.layer.pos,
        )
    if len(ctx.shape) < 2:
        raise Unsupported("K2T102", "TimeDistributed expects (steps, ...) inputs per sample", ctx.layer.pos)
    if call.name == "keras.layers.Dense":
        outer = ctx.layer
        ctx.layer = call
        try:
            plan = convert_dense(ctx)
        finally:
            ctx.layer = outer
        plan.keras_class = "TimeDistributed"
        plan.weights = "time_distributed_dense"
        return plan
    if call.model is not None:
        return _time_distributed_model(ctx, call)
    if call.short_name in ("Sequential", "Model"):
        raise Unsupported(
            "K2T102",
            f"TimeDistributed over a model built in the call ({call.short_name}) is not translated: hold it in a variable",
            call.pos,
        )
    converter = registry.LAYERS.get(call.short_name) if call.name.startswith("keras.layers.") else None
    if converter is None:
        raise Unsupported("K2T101", f"layer {call.name} inside TimeDistributed is not translated", call.pos)
    return _folded_steps(ctx, call, converter)


# Layers whose output for a sample depends on the rest of the batch (in training).
_BATCH_READING = frozenset({"BatchNormalization"})


def _reads_batch(module) -> bool:
    """A model with a layer of _BATCH_READING, nested models included."""
    return any(
        plan.keras_class in _BATCH_READING or (plan.nested is not None and _reads_batch(plan.nested))
        for plan in module.layers
    )


def _time_distributed_model(ctx: LayerContext, call: KerasCall) -> LayerPlan:
    """TimeDistributed over a model the script holds in a variable (a CNN over each video frame): the model's
    module, built for one step's shape, in the generated ``TimeDistributed`` wrapper."""
    from .nested import convert_nested

    if ctx.mask.given is not None:
        raise Unsupported(
            "K2T102",
            f"TimeDistributed over a model ({call.short_name}) on a masked sequence is not translated",
            ctx.layer.pos,
        )
    ctx.keras_layout()
    steps = ctx.shape[0]
    step = LayerContext(ctx.builder, call, ctx.attr, list(ctx.shape[1:]), "keras", False)
    plan = convert_nested(step)
    per_step = _reads_batch(plan.nested)
    wrapper = Helper(
        f"TimeDistributed{'PerStep' if per_step else ''}",
        "layers/time_distributed.py.j2",
        (("channels_first", False), ("per_step", per_step)),
    )
    ctx.helpers.extend([*step.helpers, wrapper])
    ctx.shape = [steps, *step.shape]
    inner = f"self.{ctx.attr}.layer"
    return dataclasses.replace(
        plan,
        keras_class="TimeDistributed",
        constructor=f"{wrapper.name}({plan.constructor})",
        regularizers=[f"{inner}.regularization_loss()"] if plan.regularizers else [],
        added_losses=[f"{inner}.added_loss()"] if plan.added_losses else [],
    )


def _folded_steps(ctx: LayerContext, call: KerasCall, converter) -> LayerPlan:
    """TimeDistributed over a layer other than Dense: the layer converted for one step's shape, then called on
    the steps folded into the batch, or step by step where that differs (Keras 3's TimeDistributed.call stacks
    the layer's output of each step)."""
    if ctx.mask.given is not None:
        raise Unsupported(
            "K2T102", f"TimeDistributed({call.short_name}) over a masked sequence is not translated", ctx.layer.pos
        )
    ctx.keras_layout()  # the steps fold from Keras's (batch, steps, ...) order
    steps = ctx.shape[0]
    step = LayerContext(ctx.builder, call, ctx.attr, list(ctx.shape[1:]), "keras", False)
    step.open_sizes()
    plan = converter(step)
    channels_first = step.layout == "channels_first"
    # What the wrapper can run: the layer's submodule called on the step (channels-first where torch wants it),
    # then an activation, or lines without a submodule.
    permuted = step.pre == [line for line in step.pre if line.startswith("x = x.permute")] and len(step.pre) == (
        1 if channels_first else 0
    )
    self_attr = f"self.{ctx.attr}"
    if not permuted or plan.sublayers or plan.nested is not None or plan.weights == "nested":
        raise Unsupported(
            "K2T102",
            f"TimeDistributed({call.short_name}(...)) is not translated: k2t folds the steps of a layer that runs as one torch module",
            call.pos,
        )
    ctx.helpers.extend(step.helpers)
    ctx.shape = [steps, *step.shape]
    if plan.attr is None:
        return _inline_folded_steps(ctx, call, plan, step, steps)
    submodule_call = f"{self_attr}(x)"
    # An activation the layer applies outside its submodule (Conv2D(activation="relu")), not one it is (Activation).
    activation_line = (
        f"x = {apply_activation(plan.activation, submodule_call)}" if plan.activation not in (None, "linear") else None
    )
    if plan.forward == [f"x = {submodule_call}"]:
        activation_line = None
    elif activation_line is None or plan.forward != [activation_line]:
        raise Unsupported(
            "K2T102",
            f"TimeDistributed({call.short_name}(...)) is not translated: k2t folds the steps of a layer that runs as one torch module",
            call.pos,
        )
    # Keras 3 calls the layer step by step; folding the steps into the batch computes the same for a layer that
    # treats each sample alone, not for one that reads the batch (BatchNormalization's statistics in training).
    per_step = plan.keras_class in _BATCH_READING
    wrapper = Helper(
        f"TimeDistributed{'PerStep' if per_step else ''}{'ChannelsFirst' if channels_first else ''}",
        "layers/time_distributed.py.j2",
        (("channels_first", channels_first), ("per_step", per_step)),
    )
    ctx.helpers.append(wrapper)
    inner_attr = f"{self_attr}.layer"
    return dataclasses.replace(
        plan,
        keras_class="TimeDistributed",
        constructor=f"{wrapper.name}({plan.constructor})",
        # The activation, if any, on the unfolded output: Keras's channels-last layout, as the wrapper returns it.
        forward=[activation_line or f"x = {submodule_call}"],
        activation=plan.activation if activation_line else "linear",
        init=[line.replace(f"{self_attr}.", f"{inner_attr}.") for line in plan.init],
        regularizers=[term.replace(f"{self_attr}.", f"{inner_attr}.") for term in plan.regularizers],
        weights="wrapper" if plan.weights else None,
        sublayers=[("layer", "layer", plan.weights)] if plan.weights else [],
        layout="keras",
    )


def _inline_folded_steps(ctx: LayerContext, call: KerasCall, plan: LayerPlan, step: LayerContext, steps) -> LayerPlan:
    """A layer without a submodule (pooling or flattening written as a torch function): its lines between the
    fold and the unfold."""
    count = static_int(steps)
    if count is None:
        raise Unsupported(
            "K2T102",
            f"TimeDistributed({call.short_name}(...)) over a None number of steps is not translated",
            ctx.layer.pos,
        )
    back = (
        [f"x = x.permute{(0, *range(2, len(step.shape) + 1), 1)}  # back to channels-last"]
        if step.layout == "channels_first"
        else []
    )
    return dataclasses.replace(
        plan,
        keras_class="TimeDistributed",
        forward=[
            "x = x.flatten(0, 1)  # Keras's TimeDistributed: every step a sample of its own",
            *step.pre,
            *plan.forward,
            *back,
            f"x = x.unflatten(0, (-1, {count}))  # the steps back on their own axis",
        ],
        layout="keras",
    )
