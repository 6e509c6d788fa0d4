"""Attention layers of the Functional API: MultiHeadAttention (see conv.py for the conventions).

MultiHeadAttention is called on several tensors (``mha(query, value, key=k, attention_mask=m)``), so it
registers as a tensor call (registry.tensor_call): its converter writes the forward line over the
inputs' names. The generated class keeps Keras's EinsumDense weight layout, so weight transfer is a copy.
"""

from __future__ import annotations

import string

from ..diagnostics import Unsupported
from ..ir import TensorNode
from .dims import Size, static_int
from .helpers import Helper
from .initializers import initializer_lines
from .masking import ORIGIN
from .model import LayerContext
from .plan import LayerPlan
from .registry import TensorCallPlan, TensorInput, tensor_call

# MultiHeadAttention.call's parameters, in Keras's order.
MHA_CALL = (
    "query",
    "value",
    "key",
    "query_mask",
    "value_mask",
    "key_mask",
    "attention_mask",
    "return_attention_scores",
)
MHA_TENSORS = ("query", "value", "key", "query_mask", "value_mask", "key_mask", "attention_mask")
# The einsum equations of Keras's default: (batch, sequence, features) inputs, attention over the sequence.
DEFAULT_EQUATIONS = ("aecd,abcd->acbe", "acbe,aecd->abcd")


def attention_equations(rank: int, axes: tuple[int, ...]) -> tuple[str, str]:
    """Keras's dot-product and combine equations (multi_head_attention._build_attention_equation) for
    projected tensors of ``rank`` axes (batch, ..., heads, channels) attending over ``axes``."""
    letters = string.ascii_lowercase
    target = letters[:rank]
    batch = [i for i in range(rank) if i not in axes and i != rank - 1]  # the heads count as a batch axis
    source, offset = "", rank
    for i in range(rank):
        if i in batch or i == rank - 1:
            source += target[i]
        else:
            source += letters[offset]
            offset += 1
    product = "".join([target[i] for i in batch] + [target[i] for i in axes] + [source[i] for i in axes])
    return f"{source},{target}->{product}", f"{product},{source}->{target}"


def _roles(ctx: LayerContext, node: TensorNode, inputs: list[TensorInput]) -> dict[str, TensorInput]:
    """Each input by the name of MultiHeadAttention.call's parameter it was given for."""
    roles: dict[str, TensorInput] = {}
    for index, tensor in enumerate(inputs):
        role = tensor.keyword if tensor.keyword is not None else MHA_CALL[index] if index < len(MHA_CALL) else None
        if role not in MHA_TENSORS or role in roles:
            what = role or f"positional argument {index + 1}"
            raise Unsupported("K2T102", f"MultiHeadAttention called with {what} is not translated", node.pos)
        roles[role] = tensor
    if "query" not in roles or "value" not in roles:
        raise Unsupported(
            "K2T102", "MultiHeadAttention is called on a query and a value (Keras refuses it too)", node.pos
        )
    return roles


def _keras_order(tensor: TensorInput, placeholder: str) -> str:
    """The input in Keras's dim order (a convolution's output is channels-first in torch)."""
    if tensor.layout == "channels_first" and len(tensor.shape) >= 2:
        rank = len(tensor.shape) + 1
        return f"{placeholder}.permute{(0, *range(2, rank), 1)}"
    return placeholder


def _call_flags(ctx: LayerContext, node: TensorNode) -> tuple[bool, bool]:
    """(use_causal_mask, return_attention_scores) of the call, both literals."""
    flags = {"use_causal_mask": False, "return_attention_scores": False}
    for key, value in node.call_kwargs:
        if key not in flags:
            raise Unsupported("K2T102", f"MultiHeadAttention called with {key}= is not translated", value.pos)
        if not isinstance(value.literal, bool):
            raise Unsupported(
                "K2T102", f"MultiHeadAttention called with {key}={value.code}: k2t needs True or False", value.pos
            )
        flags[key] = value.literal
    return flags["use_causal_mask"], flags["return_attention_scores"]


def _sizes(ctx: LayerContext, key: str, index: int, value) -> tuple[Size, ...] | None:
    """A literal int or tuple of ints (None when not given)."""
    given = ctx.literal(key, index, value)
    if given is None:
        return None
    sizes = (given,) if isinstance(given, int) else tuple(given) if isinstance(given, (list, tuple)) else None
    if not sizes or not all(isinstance(s, int) and not isinstance(s, bool) for s in sizes):
        raise Unsupported("K2T102", f"MultiHeadAttention({key}={given!r}) is not translated", ctx.layer.pos)
    return tuple(Size.of(s) for s in sizes)


@tensor_call("MultiHeadAttention")
def convert_multi_head_attention(ctx: LayerContext, node: TensorNode, inputs: list[TensorInput]) -> TensorCallPlan:
    ctx.check_arguments(
        ("num_heads", "key_dim", "value_dim", "dropout", "use_bias", "output_shape", "attention_axes"),
        {"kernel_initializer", "bias_initializer", "seed"},
    )
    roles = _roles(ctx, node, inputs)
    masks = _input_masks(roles)
    if masks and (len(roles["query"].shape) != 2 or ctx.literal("attention_axes", 6, None) is not None):
        raise Unsupported(
            "K2T102",
            f"MultiHeadAttention with masks on other than (steps, features) inputs ({ORIGIN} or *_mask=) is not translated",
            node.pos,
        )
    causal, with_scores = _call_flags(ctx, node)
    if with_scores and node.output_index is None:
        raise Unsupported(
            "K2T102",
            "MultiHeadAttention(return_attention_scores=True) is translated unpacked: `out, scores = mha(...)`",
            node.pos,
        )
    num_heads_value, key_dim_value = ctx.layer.arg(0, "num_heads"), ctx.layer.arg(1, "key_dim")
    if num_heads_value is None or key_dim_value is None:
        raise Unsupported("K2T102", "MultiHeadAttention needs num_heads and key_dim", ctx.layer.pos)
    num_heads = ctx.size(num_heads_value, f"{ctx.attr}_heads")
    key_dim = ctx.size(key_dim_value, f"{ctx.attr}_key_dim")
    value_dim_value = ctx.layer.arg(2, "value_dim")
    value_dim = (
        key_dim
        if value_dim_value is None or value_dim_value.literal is None
        else ctx.size(value_dim_value, f"{ctx.attr}_value_dim")
    )
    dropout = ctx.literal("dropout", 3, 0.0)
    use_bias = ctx.literal("use_bias", 4, True)
    output_shape = _sizes(ctx, "output_shape", 5, None)
    query, value = roles["query"], roles["value"]
    key = roles.get("key", value)
    rank = len(query.shape) + 1  # with the batch axis
    if len(value.shape) + 1 != rank or len(key.shape) != len(value.shape):
        raise Unsupported(
            "K2T102", "MultiHeadAttention on a query, key and value of different ranks is not translated", node.pos
        )
    features = []
    for role, tensor in (("query", query), ("value", value), ("key", key)):
        if not tensor.shape or tensor.shape[-1] is None:
            raise Unsupported("K2T103", f"MultiHeadAttention needs the size of its {role}'s last axis", node.pos)
        features.append(tensor.shape[-1])
    axes_given = ctx.literal("attention_axes", 6, None)
    projected = rank + 1  # (batch, ..., heads, channels)
    if axes_given is None:
        axes = tuple(range(1, projected - 2))
    else:
        listed = (axes_given,) if isinstance(axes_given, int) else tuple(axes_given)
        axes = tuple(a if a >= 0 else projected - 1 + a for a in listed)
        if not axes or not all(1 <= a <= rank - 2 for a in axes):
            raise Unsupported(
                "K2T102", f"MultiHeadAttention(attention_axes={axes_given!r}) is not translated", ctx.layer.pos
            )
    equations = attention_equations(projected, axes)

    args = [features[0], num_heads, key_dim]
    if value_dim != key_dim:
        args.append(f"value_dim={value_dim}")
    if features[1] != features[0]:
        args.append(f"value_features={features[1]}")
    if features[2] != features[1]:
        args.append(f"key_features={features[2]}")
    if output_shape is not None:
        args.append(f"output_shape=({', '.join(size.code for size in output_shape)},)")
    if dropout:
        args.append(f"dropout={dropout!r}")
    if not use_bias:
        args.append("use_bias=False")
    if equations != DEFAULT_EQUATIONS:
        args += [f"dot_equation={equations[0]!r}", f"combine_equation={equations[1]!r}", f"attention_rank={len(axes)}"]
    ctx.helpers.append(Helper("MultiHeadAttention", "layers/multi_head_attention.py.j2"))

    placeholders = {id(tensor): f"{{{index}}}" for index, tensor in enumerate(inputs)}
    call = [_keras_order(query, placeholders[id(query)]), _keras_order(value, placeholders[id(value)])]
    if "key" in roles:
        call.append(f"key={_keras_order(key, placeholders[id(key)])}")
    for role, mask in masks.items():
        call.append(f"{role}={placeholders[id(mask)] if isinstance(mask, TensorInput) else mask}")
    if "attention_mask" in roles:
        call.append(f"attention_mask={placeholders[id(roles['attention_mask'])]}")
    if causal:
        call.append("use_causal_mask=True")
    if with_scores:
        call.append("return_attention_scores=True")
    out_shape = list(query.shape[:-1]) + list(output_shape or (features[0],))
    batch_like = [query.shape[i - 1] for i in range(1, rank - 1) if i not in axes]
    scores_shape = batch_like + [num_heads] + [query.shape[a - 1] for a in axes] + [value.shape[a - 1] for a in axes]
    plan = LayerPlan(
        keras_class="MultiHeadAttention",
        attr=ctx.attr,
        constructor=f"MultiHeadAttention({', '.join(str(a) for a in args)})",
        forward=[],
        init=_initializers(ctx, use_bias, len(output_shape or (features[0],))),
        weights="multi_head_attention",
        params=_params(features, num_heads, key_dim, value_dim, output_shape, use_bias),
    )
    shapes = [out_shape, scores_shape] if with_scores else [out_shape]
    # Keras sets the query's own mask on the output (not a query_mask= given to the call).
    return TensorCallPlan(plan, [f"{{out}} = {ctx.self_attr}({', '.join(call)})"], shapes, output_mask=query.mask)


def _input_masks(roles: dict[str, TensorInput]) -> dict[str, TensorInput | str]:
    """The masks MultiHeadAttention reads, by its call's parameter: a `query_mask=` (...) tensor given to the
    call, else the Keras mask its query, value and key (when given) carry, as Keras's Layer.__call__ fills
    each `<argument>_mask` the call leaves None."""
    masks: dict[str, TensorInput | str] = {}
    for role in ("query", "value", "key"):
        given = roles.get(f"{role}_mask")
        tensor = roles.get(role)
        if given is not None:
            masks[f"{role}_mask"] = given
        elif tensor is not None and tensor.mask is not None:
            masks[f"{role}_mask"] = tensor.mask
    return masks


def _initializers(ctx: LayerContext, use_bias: bool, output_rank: int) -> list[str]:
    """Lines for initializers other than the class's own (Keras's glorot_uniform kernels, zero biases)."""
    lines: list[str] = []
    for key, default, parts in (
        ("kernel_initializer", "glorot_uniform", "kernel"),
        ("bias_initializer", "zeros", "bias"),
    ):
        given = ctx.layer.kwarg(key)
        if given is None or (parts == "bias" and not use_bias):
            continue
        for projection in ("query", "key", "value", "output"):
            tensor = f"{ctx.self_attr}.{projection}_{parts}"
            # Keras's fans of an einsum weight: the last two axes, times the others as a receptive field.
            receptive = f"math.prod({tensor}.shape[:-2])"
            fan_in, fan_out = f"{tensor}.shape[-2] * {receptive}", f"{tensor}.shape[-1] * {receptive}"
            if parts == "bias" and projection == "output" and output_rank == 1:
                fan_in = fan_out = f"{tensor}.numel()"  # Keras's fans of a 1-D weight: its length on both sides
            lines += initializer_lines(given, default, tensor, fan_in, fan_out, keras_fans=True)
    return lines


def _params(
    features: list[Size], num_heads: Size, key_dim: Size, value_dim: Size, output_shape, use_bias: bool
) -> int | None:
    sizes = [static_int(s) for s in (*features, num_heads, key_dim, value_dim, *(output_shape or ()))]
    if any(s is None for s in sizes):
        return None
    query, value, key, heads, kd, vd, *out = sizes  # type: ignore[misc]
    outputs = 1
    for s in out or [query]:
        outputs *= s
    weights = heads * (query * kd + key * kd + value * vd) + heads * vd * outputs
    biases = heads * (2 * kd + vd) + outputs if use_bias else 0
    return weights + biases
