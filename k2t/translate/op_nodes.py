"""Expressions of ops in a subclassed model's call() (k2t.ir.OpExpression): ``ops.concatenate([a, b], axis=-1)``,
``ops.mean(h, axis=1)``, ``h[:, 0]``, ``ops.relu(self.dense(x))``.

Each is one node of the model's graph. Its torch line is the expression rewritten through the op vocabulary
(k2t.translate.op_code), as a custom layer's call() is, over forward's names of the tensors it reads; those
tensors are in Keras's layout (channels last), so that its axis numbers mean what they meant. Its output
shape is derived as a custom layer's is (reductions, shape-keeping ops, concatenation, basic indexing,
reshape, matmul); where k2t cannot tell it and a layer after it, or the model's loss, needs it, the node is a
located K2T103.
"""

from __future__ import annotations

import ast
import dataclasses

import libcst as cst

from ..cst_walk import Visitor
from ..diagnostics import Unsupported
from ..ir import Graph, TensorNode
from .custom_layers import _code, _size_of, _TensorShapes, dim_of
from .dims import Dim
from .lambda_layer import _size_free, permuted_shape
from .model import keras_layout_expression
from .op_code import apply_rewrite, rewrite_ops


def convert_expression(
    node: TensorNode, inputs: list[tuple[str, list[Dim], str]], graph: Graph
) -> tuple[list[str], list[Dim]]:
    """The node's forward line over {0}, {1}, ... (its inputs) and {out}, and its output's sizes (batch excluded)."""
    expression = node.expression
    assert expression is not None
    codes: dict[int, str] = {}
    shapes: dict[int, tuple] = {}
    for index, (key, (_, shape, layout)) in enumerate(zip(expression.tensors, inputs)):
        rank = len(shape) + 1
        codes[key] = (
            keras_layout_expression(_MARK.format(index), rank)
            if layout != "keras" and rank > 2
            else _MARK.format(index)
        )
        shapes[key] = (None, *(_size_of(dim) for dim in shape))
    codes.update(expression.constants)
    for key in expression.scalars:
        shapes[key] = ()  # a number the expression reads: it broadcasts
    for key, code in expression.constants.items():
        if _is_number(code):
            shapes[key] = ()
    if not expression.tensors:  # (read through a structure k2t does not follow: no Keras tensor of its own)
        raise Unsupported("K2T103", f"`{_code(expression.node).strip()}` reads no Keras tensor k2t follows", node.pos)
    device = f"{codes[expression.tensors[0]]}.device"  # where forward's tensors are, as TF places an op's result
    rewrite = rewrite_ops(expression.node, expression.keras_name, device=device, nodes=codes)
    if rewrite.problems:
        problem = rewrite.problems[0]
        raise Unsupported(problem.error.code, f"in {_code(expression.node).strip()}: {problem.error.message}", node.pos)
    _refuse_negative_steps(node)
    code = _code(apply_rewrite(expression.node, rewrite)).replace("{", "{{").replace("}", "}}")
    for index in range(len(inputs)):
        code = code.replace(_MARK.format(index), f"{{{index}}}")
    line = f"{{out}} = {code}"
    shape = _Shapes(expression.keras_name, shapes).shape(expression.node, {})
    if shape is None or not shape or shape[0] is not None:
        reader = _reader_needing_shape(node, graph)
        if reader is not None:
            raise Unsupported(
                "K2T103",
                f"k2t cannot tell the shape of `{_code(expression.node).strip()}`, which {reader} needs"
                " (k2t derives it through reductions, shape-keeping ops, concatenation, indexing with numbers, reshape and matmul)",
                node.pos,
            )
        return [line], list(inputs[0][1])  # nothing reads its sizes
    return [line], [dim_of(size) for size in shape[1:]]


class _Shapes(_TensorShapes):
    """Shapes of the expression, its inputs' known by id()."""

    def __init__(self, keras_name, inputs: dict[int, tuple]):
        super().__init__(keras_name, {})
        self.inputs = inputs

    def shape(self, node: cst.BaseExpression, names: dict) -> tuple | None:
        if id(node) in self.inputs:
            return self.inputs[id(node)]
        if isinstance(node, cst.Call):
            permuted = permuted_shape(node, self.keras_name, lambda tensor: self.shape(tensor, names))
            if permuted is not None:
                return permuted
        return super().shape(node, names)


def _reader_needing_shape(node: TensorNode, graph: Graph) -> str | None:
    """What reads the node's sizes: a layer after it (through size-free ones), or the model's loss at an output."""
    pending, seen = [node], set()
    while pending:
        current = pending.pop()
        if any(current is output for output in graph.outputs):
            return "the model's output (its loss and metrics read its shape)"
        for user in graph.nodes:
            if id(user) in seen or not any(parent is current for parent in user.inputs):
                continue
            seen.add(id(user))
            if not _size_free(user.layer):
                name = user.layer.attribute or user.layer.short_name if user.expression is None else None
                return f"`{name}`" if name is not None else "the expression after it"
            pending.append(user)
    return None


def final_activation_fold(
    node: TensorNode, inputs: list[tuple[str, list[Dim], str]], graph: Graph, out: str
) -> tuple[list[str], str, str] | None:
    """A model output ``ops.softmax(t)`` / ``tf.sigmoid(t * 4.0)``: (the lines computing the logits, their variable,
    the activation).

    Keras's crossentropy losses read such an output's logits: the TensorFlow backend's softmax and sigmoid keep
    them on their result (``_keras_logits``), and a graph's Softmax / Sigmoid op gives its input
    (keras.src.backend.tensorflow.nn._get_logits). Training on the logits, as for a final
    Dense(activation="softmax"), is what reproduces Keras's loss, not a loss on clipped probabilities."""
    expression = node.expression
    call = expression.node if expression is not None else None
    if not isinstance(call, cst.Call) or not call.args:
        return None
    activation = _FINAL_ACTIVATIONS.get(expression.keras_name(call.func) or "")
    if activation is None or any(layout != "keras" and len(shape) > 1 for _, shape, layout in inputs):
        return None
    first = call.args[0]
    if first.keyword is not None or first.star:
        return None
    if not _over_last_axis(call, activation, len(inputs[0][1]) + 1):
        return None
    if len(inputs) == 1 and id(first.value) == expression.tensors[0]:
        return [], inputs[0][0], activation  # the logits are a tensor forward already holds
    logits = dataclasses.replace(node, expression=dataclasses.replace(expression, node=first.value))
    template, _ = convert_expression(logits, inputs, graph)
    return [line.format(*(var for var, _, _ in inputs), out=out) for line in template], out, activation


def _over_last_axis(call: cst.Call, activation: str, rank: int) -> bool:
    """Whether the call's arguments after the tensor leave a softmax over the last axis, where the loss reads the
    logits along it."""
    for arg in call.args[1:]:
        value = _code(arg.value).strip()
        last = ("-1", str(rank - 1)) if activation == "softmax" else ()
        if arg.star or (arg.keyword is not None and arg.keyword.value != "axis") or value not in last:
            return False
    return True


def keras_softmax_elsewhere(node: TensorNode, inputs: list[tuple[str, list[Dim], str]]) -> bool:
    """``keras.ops.softmax(t, axis=0)``: Keras keeps its logits whatever the axis and its crossentropy reads them
    over the last axis, which the translation's folding does not reproduce (tf.nn.softmax over another axis ends
    in a Transpose op, and Keras reads its probabilities, as the translation does)."""
    call = node.expression.node if node.expression is not None else None
    if not isinstance(call, cst.Call) or not call.args:
        return False
    name = node.expression.keras_name(call.func) or ""
    return (
        name.startswith("keras.")
        and _FINAL_ACTIVATIONS.get(name) == "softmax"
        and not _over_last_axis(call, "softmax", len(inputs[0][1]) + 1 if inputs else 2)
    )


_FINAL_ACTIVATIONS = {
    **dict.fromkeys(
        (
            "keras.activations.softmax",
            "keras.ops.softmax",
            "keras.backend.softmax",
            "tensorflow.nn.softmax",
            "tensorflow.math.softmax",
        ),
        "softmax",
    ),
    **dict.fromkeys(
        (
            "keras.activations.sigmoid",
            "keras.ops.sigmoid",
            "keras.backend.sigmoid",
            "tensorflow.sigmoid",
            "tensorflow.math.sigmoid",
            "tensorflow.nn.sigmoid",
        ),
        "sigmoid",
    ),
}


def _refuse_negative_steps(node: TensorNode) -> None:
    """``t[::-1]``: torch refuses a negative step (torch.flip reverses an axis)."""
    found: list[cst.Slice] = []

    class Steps(Visitor):
        def visit_Slice(self, part: cst.Slice) -> None:
            step = part.step
            if isinstance(step, cst.UnaryOperation) and isinstance(step.operator, cst.Minus):
                found.append(part)

    node.expression.node.visit(Steps())
    if found:
        raise Unsupported("K2T103", "a slice with a negative step is not translated (torch has none)", node.pos)


def _is_number(code: str) -> bool:
    try:
        value = ast.literal_eval(code)
    except (ValueError, SyntaxError):
        return False
    return isinstance(value, (int, float)) and not isinstance(value, bool)


_MARK = "__k2t_input_{}__"  # an input's place in the line, before it becomes a template's {0}
