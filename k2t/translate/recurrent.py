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

from ..diagnostics import Unsupported
from ..ir import KerasCall, Value
from .helpers import Helper
from .initializers import initializer_lines
from .model import LayerContext, static_int
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
TAKES_INITIAL_STATE = frozenset(_STATES)
# Arguments that must keep Keras's default for the fused torch layer to compute the same.
_FIXED = {
    "recurrent_activation": ("sigmoid", "torch's LSTM and GRU gates are sigmoids"),
}


def _literal(call: KerasCall, key: str, index: int | None, default):
    value = call.arg(index, key) if index is not None else call.kwarg(key)
    if value is None:
        return default
    if not value.is_literal:
        raise Unsupported("K2T102", f"{call.short_name}({key}={value.code}): k2t needs a literal here", value.pos)
    return value.literal


@layer("Embedding")
def convert_embedding(ctx: LayerContext) -> LayerPlan:
    ctx.check_arguments(("input_dim", "output_dim"), {"embeddings_initializer", "embeddings_regularizer", "mask_zero"})
    input_dim, output_dim = ctx.layer.arg(0, "input_dim"), ctx.layer.arg(1, "output_dim")
    if input_dim is None or output_dim is None:
        raise Unsupported("K2T102", "Embedding needs input_dim and output_dim", ctx.layer.pos)
    ctx.keras_layout()
    vocabulary = ctx.size(input_dim, f"{ctx.attr}_input_dim")
    features = ctx.size(output_dim, f"{ctx.attr}_output_dim")
    weight = f"{ctx.self_attr}.weight"
    init = initializer_lines(ctx.layer.kwarg("embeddings_initializer"), "uniform", weight, vocabulary, features)
    ctx.shape = ctx.shape + [features]
    n, d = static_int(vocabulary), static_int(features)
    return LayerPlan(
        keras_class="Embedding",
        attr=ctx.attr,
        constructor=f"nn.Embedding({vocabulary}, {features})",
        forward=[_embedding_line(ctx)],
        init=init,
        weights="embedding",
        regularizers=regularizer_terms(ctx.layer.kwarg("embeddings_regularizer"), weight),
        params=n * d if n is not None and d is not None else None,
    )


def _embedding_line(ctx: LayerContext) -> str:
    # Keras casts the ids to integers (the generated fit hands the model float32 arrays).
    lookup = f"{ctx.self_attr}(x.long())"
    if not _literal(ctx.layer, "mask_zero", None, False):
        return f"x = {lookup}"
    return f"x, {ctx.mask.make()} = {lookup}, x != 0  # Keras's mask_zero: id 0 is padding, masked in the layers after"


@layer("Masking")
def convert_masking(ctx: LayerContext) -> LayerPlan:
    ctx.check_arguments(("mask_value",), set())
    mask_value = _literal(ctx.layer, "mask_value", 0, 0.0)
    if isinstance(mask_value, bool) or not isinstance(mask_value, (int, float)):
        raise Unsupported("K2T102", f"Masking(mask_value={mask_value!r}) is not translated: k2t takes a number", ctx.layer.pos)
    if len(ctx.shape) != 2:
        raise Unsupported("K2T102", "Masking is translated on (steps, features) inputs per sample", ctx.layer.pos)
    ctx.keras_layout()
    helper = Helper("KerasMasking", "layers/masking.py.j2")
    ctx.helpers.append(helper)
    return LayerPlan(
        keras_class="Masking",
        attr=ctx.attr,
        constructor=f"{helper.name}({float(mask_value)!r})",
        forward=[f"x, {ctx.mask.make()} = {ctx.self_attr}(x)"],
        params=0,
    )


def masked_global_average(ctx: LayerContext, mask: str) -> LayerPlan:
    """GlobalAveragePooling1D over a masked sequence: Keras averages the unmasked steps only."""
    ctx.check_arguments(("data_format", "keepdims"), set())
    if ctx.literal("keepdims", 1, False) is not False:
        raise Unsupported("K2T102", "GlobalAveragePooling1D(keepdims=True) over a masked sequence is not translated", ctx.layer.pos)
    if ctx.literal("data_format", 0, "channels_last") != "channels_last":
        raise Unsupported("K2T102", "GlobalAveragePooling1D(data_format=...) over a masked sequence is not translated", ctx.layer.pos)
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
    ctx: LayerContext, call: KerasCall, attr: str, bidirectional: bool, states: bool = False, masked: bool = False, merge: str = "concat"
) -> tuple[str, list[str], list[str], str, int | None, Helper]:
    """(constructor, init lines, regularizer terms, units, parameter count, wrapper helper) of a recurrent layer call."""
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
        raise Unsupported("K2T102", f"{kind}(unit_forget_bias=...) is not translated", call.kwarg("unit_forget_bias").pos)
    if kind != "GRU" and call.kwarg("reset_after") is not None:
        raise Unsupported("K2T102", f"{kind}(reset_after=...) is not translated: a GRU argument", call.kwarg("reset_after").pos)
    # Keras's GRU(reset_after=False), GRU v1: the reset gate before the recurrent product, one bias.
    reset_before = kind == "GRU" and not _literal(call, "reset_after", None, True)
    for key, (default, why) in _FIXED.items():
        if kind == "SimpleRNN" and key == "recurrent_activation":
            continue
        value = _literal(call, key, None, default)
        if value != default:
            raise Unsupported("K2T102", f"{kind}({key}={value!r}) is not translated: {why}", call.kwarg(key).pos)
    activation = _literal(call, "activation", None, "tanh")
    nonlinearity = ""
    if activation is None or activation not in ("tanh", "relu") or (activation == "relu" and kind != "SimpleRNN"):
        raise Unsupported("K2T102", f"{kind}(activation={activation!r}) is not translated: torch's fused layer computes tanh", call.kwarg("activation").pos)
    if activation == "relu":
        nonlinearity = ', nonlinearity="relu"'
    if bidirectional and _literal(call, "go_backwards", None, False):
        raise Unsupported("K2T102", f"{kind}(go_backwards=True) inside Bidirectional is not translated", call.kwarg("go_backwards").pos)
    stateful = _stateful(call, bidirectional)
    return_state = _literal(call, "return_state", None, False)
    if bidirectional and return_state:
        raise Unsupported("K2T102", f"{kind}(return_state=True) inside Bidirectional is not translated", call.kwarg("return_state").pos)

    features = ctx.features()  # the steps may be None: torch's recurrent layers take any length
    units = ctx.size(given["units"], f"{attr}_units")
    use_bias = _literal(call, "use_bias", None, True)
    return_sequences = _literal(call, "return_sequences", None, False)
    rates = _dropout_rates(call)
    arguments = [features, units]
    if return_sequences:
        arguments.append("return_sequences=True")
    if return_state:
        arguments.append("return_state=True")
    arguments += [f"{key}={rate!r}" for key, rate in rates.items() if rate]
    if not use_bias:
        arguments.append("bias=False")
    if bidirectional:
        arguments.append("bidirectional=True")
    looped = any(rates.values())
    if stateful and (looped or masked or reset_before):
        why = "dropout / recurrent_dropout" if looped else "a Keras mask" if masked else "reset_after=False"
        raise Unsupported("K2T102", f"{kind}(stateful=True) with {why} is not translated: k2t keeps states in torch's fused layer only", call.kwarg("stateful").pos)
    helper = _wrapper(kind, looped=looped, states=states or return_state, masked=masked, merge=merge, reset_before=reset_before, stateful=stateful)
    if masked and return_sequences:
        ctx.mask.output = ctx.mask.given  # Keras's RNN passes the mask on with the sequences
    constructor = f"{helper.name}({', '.join(arguments)}{nonlinearity})"

    init: list[str] = []
    regularizers: list[str] = []
    module = f"self.{attr}"
    # reset_parameters() runs outside __init__: sizes that are constructor parameters are read off the module.
    units_code = units if static_int(units) is not None else f"{module}.hidden_size"
    features_code = features if static_int(features) is not None else f"{module}.input_size"
    for suffix in ("_l0", "_l0_reverse") if bidirectional else ("_l0",):
        gate_units = f"{gates} * {units_code}" if gates > 1 else units_code
        init += initializer_lines(call.kwarg("kernel_initializer"), "glorot_uniform", f"{module}.weight_ih{suffix}", features_code, gate_units)
        init += initializer_lines(call.kwarg("recurrent_initializer"), "orthogonal", f"{module}.weight_hh{suffix}", units_code, gate_units)
        regularizers += regularizer_terms(call.kwarg("kernel_regularizer"), f"{module}.weight_ih{suffix}")
        regularizers += regularizer_terms(call.kwarg("recurrent_regularizer"), f"{module}.weight_hh{suffix}")
        if use_bias:
            init += initializer_lines(call.kwarg("bias_initializer"), "zeros", f"{module}.bias_ih{suffix}", gate_units, gate_units)
            if kind == "GRU" and not reset_before:  # Keras's GRU has an input and a recurrent bias, as torch's
                init += initializer_lines(call.kwarg("bias_initializer"), "zeros", f"{module}.bias_hh{suffix}", gate_units, gate_units)
            if kind == "LSTM" and _literal(call, "unit_forget_bias", None, True):
                init.append(f"nn.init.ones_({module}.bias_ih{suffix}[{units_code} : 2 * {units_code}])  # Keras's unit_forget_bias: the forget gate starts open")
            regularizers += regularizer_terms(call.kwarg("bias_regularizer"), f"{module}.bias_ih{suffix}")
            if kind == "GRU" and not reset_before:
                regularizers += regularizer_terms(call.kwarg("bias_regularizer"), f"{module}.bias_hh{suffix}")

    n, u = static_int(features), static_int(units)
    params = None
    if n is not None and u is not None:
        biases = {"SimpleRNN": 1, "LSTM": 1, "GRU": 1 if reset_before else 2}[kind] if use_bias else 0
        params = gates * (n * u + u * u + biases * u) * (2 if bidirectional else 1)
    concatenated = bidirectional and merge == "concat"  # both directions side by side; merged otherwise
    output_units = f"2 * {units}" if concatenated and u is None else str(2 * u) if concatenated else units
    ctx.shape = ctx.shape[:-1] + [output_units] if return_sequences else [output_units]
    return constructor, init, regularizers, units, params, helper


def _stateful(call: KerasCall, bidirectional: bool) -> bool:
    """Keras's ``stateful``: the final states of a batch are the initial states of the next, until reset_states()."""
    stateful = _literal(call, "stateful", None, False)
    if not isinstance(stateful, bool):
        raise Unsupported("K2T102", f"{call.short_name}(stateful={stateful!r}) is not translated: k2t takes True or False", call.kwarg("stateful").pos)
    if stateful and bidirectional:
        raise Unsupported("K2T102", f"{call.short_name}(stateful=True) inside Bidirectional is not translated", call.kwarg("stateful").pos)
    return stateful


def _dropout_rates(call: KerasCall) -> dict[str, float]:
    """Keras's ``dropout`` and ``recurrent_dropout`` rates, each in [0, 1)."""
    rates = {}
    for key in ("dropout", "recurrent_dropout"):
        rate = _literal(call, key, None, 0.0)
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate < 1:
            # Keras clips a rate to [0, 1] and skips a rate of 1 in LSTM and GRU but not in SimpleRNN.
            raise Unsupported("K2T102", f"{call.short_name}({key}={rate!r}) is not translated: k2t takes a rate in [0, 1)", call.kwarg(key).pos)
        rates[key] = rate
    return rates


def _wrapper(
    kind: str, looped: bool, states: bool, masked: bool, merge: str = "concat", reset_before: bool = False, stateful: bool = False
) -> Helper:
    """The generated class: torch's fused layer, or (with dropout, a Keras mask, or GRU's reset_after=False) the
    same parameters computed step by step; with ``states``, one that also takes Keras's initial_state and returns
    its states (return_state); bidirectional with a ``merge`` mode other than concat, one that merges the two
    directions so; ``stateful``, one that starts each batch from the last one's final states (fused only)."""
    torch_class, gates = _RECURRENT[kind]
    merged_name, merge_expression = _MERGES.get(merge, ("", None))
    common = (
        ("keras_class", kind), ("torch_class", torch_class), ("one_bias", kind != "GRU" or reset_before), ("states", states),
        ("merge", merge_expression), ("merge_mode", "None" if merge is None else f'"{merge}"'),
    )
    suffix = merged_name + ("WithState" if states else "")
    if looped or masked or reset_before:
        loop = "Masked" if masked else "Loop"
        name = f"Keras{kind}{'ResetBefore' if reset_before else ''}{loop}{suffix}"
        return Helper(name, "layers/recurrent_loop.py.j2", (*common, ("gates", gates), ("masked", masked), ("reset_before", reset_before)))
    if stateful:  # the class with states: it starts from its own when given no initial_state
        common = (*(item for item in common if item[0] != "states"), ("states", True))
        return Helper(f"Keras{kind}Stateful", "layers/recurrent.py.j2", (*common, ("stateful", True)))
    return Helper(f"Keras{kind}{suffix}", "layers/recurrent.py.j2", (*common, ("stateful", False)))


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
        raise Unsupported("K2T102", f"{kind} takes {len(states)} initial state tensors ({', '.join(states)}), not {len(ctx.state_inputs)}", ctx.layer.pos)
    return f", initial_state=[{', '.join(ctx.state_inputs)}]"


def _check_sequence_input(ctx: LayerContext) -> None:
    if len(ctx.shape) != 2:
        raise Unsupported("K2T102", f"{ctx.layer.short_name} expects (steps, features) inputs per sample", ctx.layer.pos)
    ctx.keras_layout()


def _recurrent_layer(ctx: LayerContext) -> LayerPlan:
    _check_sequence_input(ctx)
    kind = ctx.layer.short_name
    forward = []
    go_backwards = _literal(ctx.layer, "go_backwards", None, False)
    if go_backwards:
        forward.append("x = x.flip(1)  # Keras's go_backwards reads the sequence from its end")
    mask = _mask_argument(ctx, go_backwards)
    constructor, init, regularizers, _, params, helper = _recurrent(ctx, ctx.layer, ctx.attr, False, bool(ctx.state_inputs), bool(mask))
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


@layer("Bidirectional")
def convert_bidirectional(ctx: LayerContext) -> LayerPlan:
    ctx.check_arguments(("layer", "merge_mode"), set())
    _check_sequence_input(ctx)
    merge_mode = _literal(ctx.layer, "merge_mode", 1, "concat")
    if merge_mode != "concat" and merge_mode not in _MERGES:
        raise Unsupported("K2T102", f"Bidirectional(merge_mode={merge_mode!r}) is not translated", ctx.layer.arg(1, "merge_mode").pos)
    if merge_mode is None and ctx.unpacked != 2:
        # Keras returns the two directions as a list of two tensors: k2t follows them as two names.
        message = "Bidirectional(merge_mode=None) is translated where its 2 outputs are unpacked into names: `forward, backward = Bidirectional(...)(x)`"
        raise Unsupported("K2T102", message, ctx.layer.arg(1, "merge_mode").pos)
    inner: Value | None = ctx.layer.arg(0, "layer")
    call = inner.keras_call if inner is not None else None
    if call is None or call.name not in {f"keras.layers.{kind}" for kind in _RECURRENT}:
        code = inner.code if inner is not None else "nothing"
        raise Unsupported("K2T102", f"Bidirectional({code}) is not translated: k2t translates SimpleRNN, LSTM and GRU inside it", ctx.layer.pos)
    mask = _mask_argument(ctx, go_backwards=False)
    if mask and merge_mode is None:
        raise Unsupported("K2T102", "Bidirectional(merge_mode=None) over a masked sequence is not translated", ctx.layer.arg(1, "merge_mode").pos)
    constructor, init, regularizers, _, params, helper = _recurrent(ctx, call, ctx.attr, bidirectional=True, masked=bool(mask), merge=merge_mode)
    ctx.helpers.append(helper)
    if merge_mode is None:
        ctx.output_shapes = [list(ctx.shape), list(ctx.shape)]
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


@layer("TimeDistributed")
def convert_time_distributed(ctx: LayerContext) -> LayerPlan:
    """TimeDistributed(Dense(...)): a torch Linear already acts on the last axis of every step."""
    from .layers import convert_dense

    ctx.check_arguments(("layer",), set())
    inner: Value | None = ctx.layer.arg(0, "layer")
    call = inner.keras_call if inner is not None else None
    if call is None or call.name != "keras.layers.Dense":
        code = inner.code if inner is not None else "nothing"
        raise Unsupported("K2T102", f"TimeDistributed({code}) is not translated: k2t translates TimeDistributed(Dense(...))", ctx.layer.pos)
    if len(ctx.shape) < 2:
        raise Unsupported("K2T102", "TimeDistributed expects (steps, ...) inputs per sample", ctx.layer.pos)
    outer = ctx.layer
    ctx.layer = call
    try:
        plan = convert_dense(ctx)
    finally:
        ctx.layer = outer
    plan.keras_class = "TimeDistributed"
    plan.weights = "time_distributed_dense"
    return plan
