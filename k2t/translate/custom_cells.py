"""``keras.layers.RNN(MinimalRNNCell(32))`` over a cell class of the script's own (Keras's custom-cell example):
the cell ported as any custom layer (k2t.translate.custom_layers), built with one step's shape as Keras's RNN
builds it, and called step by step by a generated module, its states starting at zeros of the cell's
``state_size`` (Keras's default initial state)."""

from __future__ import annotations

import dataclasses

from ..diagnostics import Unsupported
from ..ir import KerasCall, Value
from .custom_layers import _bind_arguments, _Sizes, class_parts, convert_custom_layer, dim_of
from .dims import Dim
from .helpers import Helper
from .model import LayerContext
from .plan import LayerPlan

_FLAGS = ("return_sequences", "return_state", "go_backwards")


def is_custom_cell(cell: Value | None) -> bool:
    return cell is not None and cell.keras_call is not None and cell.keras_call.layer_class is not None


def custom_cell_rnn(ctx: LayerContext, cell: KerasCall, options: dict[str, Value]) -> LayerPlan:
    """The RNN's plan: a generated step loop over the ported cell, at ``self.<attr>.cell``."""
    rnn, name = ctx.layer, cell.layer_class.name
    if cell.layer_class.keras_base is not None or cell.layer_class.parent is not None:
        what = cell.layer_class.keras_base or cell.layer_class.parent.name
        message = f"RNN cell {name}: a subclass of {what.rsplit('.', 1)[-1]} as a cell is not translated"
        raise Unsupported("K2T102", message, cell.pos)
    _check_held_cell(cell)
    flags = {key: _flag(rnn, key, options) for key in (*_FLAGS, "stateful", "zero_output_for_mask")}
    if flags["stateful"]:
        raise Unsupported("K2T102", f"RNN({name}(...), stateful=True) is not translated", options["stateful"].pos)
    if ctx.mask.given is not None:
        raise Unsupported("K2T102", f"RNN({name}(...)) on a masked sequence is not translated", rnn.pos)
    parts = class_parts(cell.layer_class)
    call = parts.call
    if call is None or len(call.params.params) < 3:
        raise Unsupported(
            "K2T102", f"RNN cell {name}: k2t translates a cell whose call takes (inputs, states)", cell.pos
        )
    if "get_initial_state" in parts.methods:
        raise Unsupported(
            "K2T102", f"RNN cell {name}: its own get_initial_state is not translated", cell.layer_class.pos
        )
    state_sizes = _state_sizes(ctx, cell)
    step = LayerContext(
        ctx.builder, cell, ctx.attr, ctx.shape[1:], "keras", False
    )  # Keras builds the cell with one step's shape
    plan = convert_custom_layer(step)
    if plan.added_losses:
        raise Unsupported("K2T102", f"RNN cell {name}: add_loss in a cell is not translated", cell.pos)
    output: Dim = dim_of(_state_value(ctx, cell, "output_size") or state_sizes[0])
    ctx.shape = [ctx.shape[0], output] if flags["return_sequences"] else [output]
    initial = ""
    if ctx.state_inputs:
        if len(ctx.state_inputs) != len(state_sizes):
            raise Unsupported(
                "K2T102",
                f"RNN({name}(...)) takes {len(state_sizes)} initial state tensors, not {len(ctx.state_inputs)}",
                rnn.pos,
            )
        initial = f", initial_state=[{', '.join(ctx.state_inputs)}]"
    if flags["return_state"]:
        if ctx.unpacked != 1 + len(state_sizes):
            message = f"RNN(return_state=True) over {name} is translated where its {1 + len(state_sizes)} outputs are unpacked into names"
            raise Unsupported("K2T102", message, options["return_state"].pos)
        ctx.output_shapes = [list(ctx.shape)] + [[dim_of(size)] for size in state_sizes]
    helper = Helper(
        "KerasRNN"
        + "".join(key.title().replace("_", "") for key in _FLAGS if flags[key])
        + ("Training" if parts.call_reads_training() else ""),
        "layers/rnn_custom_cell.py.j2",
        (*((key, flags[key]) for key in _FLAGS), ("training", parts.call_reads_training())),
    )
    ctx.helpers.extend([*step.helpers, helper])
    cell_attr = f"{ctx.self_attr}.cell"
    sizes = ", ".join(str(size) for size in state_sizes)
    return dataclasses.replace(
        plan,
        keras_class="RNN",
        constructor=f"{helper.name}({plan.constructor}, state_sizes=[{sizes}])",
        setup=[line.replace(f"{ctx.self_attr}.", f"{cell_attr}.") for line in plan.setup],
        forward=[f"x = {ctx.self_attr}(x{initial})"],
        regularizers=[term.replace(f"{ctx.self_attr}.", f"{cell_attr}.") for term in plan.regularizers],
        weights="wrapper",
        # Keras's RNN holds the cell's weights, and its sublayers' under it
        sublayers=[
            ("cell", "cell", "custom"),
            *((f"cell.{keras}", f"cell.{torch}", kind) for keras, torch, kind in plan.sublayers),
        ],
    )


def _check_held_cell(cell: KerasCall) -> None:
    """A cell held in a variable (``cell = MinimalRNNCell(4)``, then ``RNN(cell)``) is translated as written in the
    RNN only where nothing else reads it: Keras's one object would share its weights and state, the RNN's copy does not."""
    held = cell.bound
    if held is None:
        return
    name = cell.layer_class.name
    if held.uses:
        # held.uses: the cell read (or its name rebound) outside any model, e.g. `print(cell.units)`.
        raise Unsupported(
            "K2T101",
            f"RNN({held.var}) over the {name} the script also uses or rebinds here is not translated",
            held.uses[0],
        )
    if len(held.followed) > 1:
        raise Unsupported(
            "K2T101",
            f"RNN({held.var}): the {name} taken by a second layer here is not translated (Keras would share its weights)",
            held.followed[1],
        )


def _flag(rnn: KerasCall, key: str, options: dict[str, Value]) -> bool:
    value = options.get(key)
    if value is None:
        return False
    if not value.is_literal or not isinstance(value.literal, bool):
        raise Unsupported("K2T102", f"RNN({key}={value.code}): k2t needs a literal True or False here", value.pos)
    return value.literal


def _state_value(ctx: LayerContext, cell: KerasCall, attribute: str) -> object:
    """``self.state_size`` / ``self.output_size`` as __init__ assigns it, for this call's arguments (None: not assigned)."""
    parts, name = class_parts(cell.layer_class), cell.layer_class.name
    node = parts.attributes.get(attribute)
    if node is None:
        return None
    sizes = _Sizes(ctx, parts, _bind_arguments(parts, cell))
    value = sizes.evaluate(node, {})
    known = value if isinstance(value, (list, tuple)) else (value,)
    if not known or not all(isinstance(size, (int, str)) and not isinstance(size, bool) for size in known):
        raise Unsupported(
            "K2T102",
            f"RNN cell {name}: k2t needs self.{attribute} as sizes it can evaluate (an int or a list of ints)",
            cell.layer_class.pos,
        )
    return value


def _state_sizes(ctx: LayerContext, cell: KerasCall) -> list[int | str]:
    value, name = _state_value(ctx, cell, "state_size"), cell.layer_class.name
    if value is None:
        raise Unsupported(
            "K2T102", f"RNN cell {name}: k2t needs the cell's state_size assigned in __init__", cell.layer_class.pos
        )
    return list(value) if isinstance(value, (list, tuple)) else [value]
