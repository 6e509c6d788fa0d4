"""Attention and AdditiveAttention of the Functional API (see conv.py for the conventions).

Both are called on a list, ``[query, value]`` or ``[query, value, key]``, with the call arguments
``use_causal_mask`` and ``return_attention_scores``, so they register as tensor calls
(registry.tensor_call) as MultiHeadAttention does. Their weights are scalars (Attention's ``scale`` and
``concat_score_weight``) or one vector (AdditiveAttention's ``scale``), copied as they are.
"""

from __future__ import annotations

from ..diagnostics import Unsupported
from ..ir import TensorNode
from .attention import _keras_order
from .dims import static_int
from .helpers import Helper
from .model import LayerContext
from .plan import LayerPlan
from .registry import TensorCallPlan, TensorInput, tensor_call

ROLES = ("query", "value", "key")
CALL_FLAGS = ("use_causal_mask", "return_attention_scores")


def _roles(kind: str, node: TensorNode, inputs: list[TensorInput]) -> dict[str, TensorInput]:
    """query, value and (when given) key, from the list the layer is called on."""
    for tensor in inputs:
        if tensor.keyword is not None:
            raise Unsupported("K2T102", f"{kind} called with {tensor.keyword}= is not translated", node.pos)
    if not node.as_list or not 2 <= len(inputs) <= 3:
        raise Unsupported(
            "K2T102",
            f"{kind} is translated called on a list, [query, value] or [query, value, key] (as Keras takes it)",
            node.pos,
        )
    roles = dict(zip(ROLES, inputs))
    for role, tensor in roles.items():
        if len(tensor.shape) != 2 or tensor.shape[-1] is None:
            raise Unsupported(
                "K2T102", f"{kind} is translated on (steps, features) {role}s with a known feature size", node.pos
            )
    return roles


def _call_flags(ctx: LayerContext, node: TensorNode) -> dict[str, bool]:
    """use_causal_mask and return_attention_scores of the call, both literals."""
    kind = ctx.layer.short_name
    flags = dict.fromkeys(CALL_FLAGS, False)
    # TensorFlow 2.4-2.10's Attention(causal=True), which Keras turned into the call's use_causal_mask=True.
    causal = ctx.literal("causal", None, False)
    if not isinstance(causal, bool):
        raise Unsupported("K2T102", f"{kind}(causal={causal!r}): k2t needs True or False", ctx.layer.pos)
    flags["use_causal_mask"] = causal
    for key, value in node.call_kwargs:
        if key not in flags:
            raise Unsupported("K2T102", f"{kind} called with {key}= is not translated", value.pos)
        if not isinstance(value.literal, bool):
            raise Unsupported("K2T102", f"{kind} called with {key}={value.code}: k2t needs True or False", value.pos)
        flags[key] = value.literal
    if flags["return_attention_scores"] and node.output_index is None:
        message = f"{kind}(return_attention_scores=True) is translated unpacked: `out, scores = attention([query, value], ...)`"
        raise Unsupported("K2T102", message, node.pos)
    return flags


def _dropout(ctx: LayerContext) -> float:
    rate = ctx.literal("dropout", None, 0.0)
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate < 1:
        raise Unsupported(
            "K2T102",
            f"{ctx.layer.short_name}(dropout={rate!r}) is not translated: k2t takes a rate in [0, 1)",
            ctx.layer.pos,
        )
    return rate


def _call_plan(
    ctx: LayerContext, node: TensorNode, inputs: list[TensorInput], args: list[str], helper: Helper, params: int | None
) -> TensorCallPlan:
    """The submodule, its forward line over the inputs (in Keras's dim order) and the output shapes."""
    kind = ctx.layer.short_name
    roles = _roles(kind, node, inputs)
    flags = _call_flags(ctx, node)
    ctx.helpers.append(helper)
    call = [_keras_order(tensor, f"{{{index}}}") for index, tensor in enumerate(inputs)]
    query, value = roles["query"], roles["value"]
    # Keras's masks of the query and the value (the key's is not read): masked value steps get no attention,
    # masked query steps output zeros, and the output carries the query's mask.
    call += [
        f"{role}_mask={tensor.mask}" for role, tensor in (("query", query), ("value", value)) if tensor.mask is not None
    ]
    call += [f"{key}=True" for key, given in flags.items() if given]
    key = roles.get("key", value)
    plan = LayerPlan(
        keras_class=kind,
        attr=ctx.attr,
        constructor=f"{helper.name}({', '.join(str(a) for a in args)})",
        forward=[],
        weights="attention",
        params=params,
    )
    output_shape = [*query.shape[:-1], value.shape[-1]]
    scores_shape = [*query.shape[:-1], key.shape[0]]
    shapes = [output_shape, scores_shape] if flags["return_attention_scores"] else [output_shape]
    return TensorCallPlan(plan, [f"{{out}} = {ctx.self_attr}({', '.join(call)})"], shapes, output_mask=query.mask)


@tensor_call("Attention")
def convert_attention(ctx: LayerContext, node: TensorNode, inputs: list[TensorInput]) -> TensorCallPlan:
    ctx.check_arguments(("use_scale", "score_mode", "dropout", "seed"), {"causal"})
    use_scale = ctx.literal("use_scale", 0, False)
    score_mode = ctx.literal("score_mode", 1, "dot")
    if score_mode not in ("dot", "concat"):
        raise Unsupported(
            "K2T102",
            f"Attention(score_mode={score_mode!r}) is not translated (Keras takes dot or concat)",
            ctx.layer.pos,
        )
    dropout = _dropout(ctx)
    args = []
    if use_scale:
        args.append("use_scale=True")
    if score_mode != "dot":
        args.append(f"score_mode={score_mode!r}")
    if dropout:
        args.append(f"dropout={dropout!r}")
    helper = Helper("Attention", "layers/attention.py.j2")
    return _call_plan(ctx, node, inputs, args, helper, int(bool(use_scale)) + int(score_mode == "concat"))


@tensor_call("AdditiveAttention")
def convert_additive_attention(ctx: LayerContext, node: TensorNode, inputs: list[TensorInput]) -> TensorCallPlan:
    ctx.check_arguments(("use_scale", "dropout"), {"causal"})
    use_scale = ctx.literal("use_scale", 0, True)
    dropout = _dropout(ctx)
    features = _roles("AdditiveAttention", node, inputs)["query"].shape[-1]  # the scale's length
    args = [features]
    if not use_scale:
        args.append("use_scale=False")
    if dropout:
        args.append(f"dropout={dropout!r}")
    helper = Helper("AdditiveAttention", "layers/additive_attention.py.j2")
    return _call_plan(ctx, node, inputs, args, helper, static_int(features) if use_scale else 0)
