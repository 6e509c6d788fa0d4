"""A custom layer called on a list of tensors: the VAE's ``Sampling()([z_mean, z_log_var])``.

Keras passes the list to ``call(self, inputs)``, which unpacks it (``z_mean, z_log_var = inputs``); the port's
``forward`` receives the same list: ``z = self.sampling([z_mean, z_log_var])``. Keras builds the layer with
the list of input shapes, and so does the module (``self.sampling.build([(None, 2), (None, 2)])``).

The output shape comes from ``compute_output_shape(self, input_shape)`` when k2t can evaluate it, else from
``call``'s statements: the unpacked inputs, sizes read with ``ops.shape(t)[i]`` (``tf.shape``, ``K.shape``,
``K.int_shape``), and random draws of such a shape (``keras.random.normal(shape=(batch, dim))``).
"""

from __future__ import annotations

import libcst as cst

from ..diagnostics import Unsupported
from ..ir import TensorNode
from ..parse.syntax import is_docstring
from .added_losses import added_total, adds_losses, clear_line
from .custom_layers import (
    _argument_code,
    _bind_arguments,
    _body,
    _check_class,
    _check_inheritance,
    _count,
    _pos,
    _refuse_if_needed,
    _regularizer_terms,
    _returned_shape,
    _size_of,
    _Sizes,
    _TensorShapes,
    _weight_lists,
    class_parts,
    constraint_helpers,
    dim_of,
)
from .model import LayerContext
from .op_code import import_names
from .plan import LayerPlan
from .random_shapes import RANDOM_DRAWS, read_shape, shape_argument
from .registry import TensorCallPlan, TensorInput


def convert_custom_layer_on_list(ctx: LayerContext, node: TensorNode, inputs: list[TensorInput]) -> TensorCallPlan:
    layer_class = ctx.layer.layer_class
    if layer_class.keras_base is not None:
        short = layer_class.keras_base.rsplit(".", 1)[-1]
        message = (
            f"custom layer {layer_class.name}, a subclass of {short}, called on a list of tensors is not translated"
        )
        raise Unsupported("K2T103", message, ctx.layer.pos)
    if layer_class.parent is not None:
        _check_inheritance(layer_class)
    parts = class_parts(layer_class)
    _check_class(parts)
    if parts.sublayers:
        attr, made = parts.sublayers[0]
        message = f"custom layer {layer_class.name} called on a list of tensors: its sublayer `self.{attr}` is not translated there (k2t follows sublayers of a layer called on one tensor)"
        raise Unsupported("K2T103", message, _pos(layer_class.script, made))
    arguments = _bind_arguments(parts, ctx.layer)
    constructor = f"{layer_class.name}({', '.join(_argument_code(ctx, key, value) for key, value in arguments)})"
    sizes = _Sizes(ctx, parts, arguments)
    input_shapes = tuple((None, *(_size_of(dim) for dim in tensor.shape)) for tensor in inputs)
    build = []
    if "build" in parts.methods:
        dims = ", ".join(
            "(" + ", ".join(["None", *("None" if d is None else d.code for d in t.shape)]) + ")" for t in inputs
        )
        build = [f"{ctx.self_attr}.build([{dims}])  # Keras's input shapes: batch, then channels-last sizes"]
    weight_shapes = {
        weight.attr: sizes.weight_shape(weight, input_shapes) for weight in parts.weights if weight.listed is None
    }
    weight_lists = _weight_lists(parts, sizes, input_shapes)
    script_names = set(layer_class.script.module_names)

    def script_size(name: str) -> str | None:
        # A size held in a name of the script's top level (`latent_dim`): the module takes it where the model is built.
        return ctx.builder.param(name, name) if name in script_names else None

    output = _output_shape(parts, sizes, input_shapes, weight_shapes, script_size)
    outputs = [output] if output is None or isinstance(output, tuple) else output
    if (len(outputs) > 1) != (node.output_index is not None):
        message = f"{layer_class.name} returns {len(outputs)} tensor(s) here; k2t translates a list it returns only unpacked into as many names"
        raise Unsupported("K2T102", message, node.pos)
    if output is None:
        _refuse_if_needed(ctx, layer_class)
        shapes = [list(inputs[0].shape)]  # no later layer reads it
    else:
        shapes = [[dim_of(dim) for dim in shape[1:]] for shape in outputs]
    listed = ", ".join(
        f"{{{index}}}" if t.layout == "keras" else _channels_last(t, index) for index, t in enumerate(inputs)
    )
    training = ", training=self.training" if parts.call_reads_training() else ""
    lines = [f"{{out}} = {ctx.self_attr}([{listed}]{training})"]
    adds = adds_losses(parts.methods)
    ctx.helpers.extend(constraint_helpers(parts, sizes))
    plan = LayerPlan(
        keras_class=layer_class.name,
        attr=ctx.attr,
        constructor=constructor,
        setup=build,
        forward=[],
        weights="custom",
        regularizers=[
            term for weight in parts.weights for term in _regularizer_terms(parts, weight, ctx.self_attr, sizes)
        ],
        added_losses=[added_total(ctx.self_attr)] if adds else [],
        params=_count([*weight_shapes.values(), *weight_lists.shapes]),
        sublayers=weight_lists.transfers,
    )
    return TensorCallPlan(plan, [clear_line(ctx.self_attr), *lines] if adds else lines, shapes)


def _channels_last(tensor: TensorInput, index: int) -> str:
    rank = len(tensor.shape) + 1
    return f"{{{index}}}.permute{(0, *range(2, rank), 1)}" if len(tensor.shape) >= 2 else f"{{{index}}}"


def _output_shape(
    parts, sizes: _Sizes, input_shapes: tuple, weights: dict[str, tuple | None], script_size
) -> tuple | list | None:
    """The output's shape (batch first), or a list of them where call() returns a list (``return inputs``)."""
    declared = parts.methods.get("compute_output_shape")
    if declared is not None:
        shape = _returned_shape(declared, sizes, input_shapes)
        if shape is not None:
            return shape
    call = parts.call
    if call is None or not call.params.params[1:]:
        return None
    keras_name = import_names(parts.layer_class.script.metadata)
    attributes = {f"self.{attr}": shape for attr, shape in weights.items() if shape is not None}
    shapes = _ListShapes(keras_name, attributes, call.params.params[1].name.value, input_shapes, script_size)
    return shapes.returned_from(call)


class _NotASize(Exception):
    pass


class _ListShapes(_TensorShapes):
    """Shapes through a call() that receives a list: ``a, b = inputs`` and ``inputs[0]`` read its tensors'
    shapes, ``n = ops.shape(a)[1]`` a size, and a random draw's shape is made of such sizes."""

    def __init__(self, keras_name, attributes: dict[str, tuple], parameter: str, input_shapes: tuple, script_size):
        super().__init__(keras_name, attributes)
        self.parameter = parameter
        self.input_shapes = input_shapes
        self.script_size = script_size  # a name of the script's top level -> the module's size for it, or None
        self.sizes: dict[str, object] = {}  # names bound to one size (None: the batch)

    def returned_from(self, method: cst.FunctionDef) -> tuple | None:
        names: dict[str, tuple | None] = {}
        for statement in _body(method):
            if is_docstring(statement):
                continue
            if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
                return None
            small = statement.body[0]
            if isinstance(small, cst.Return):
                return self._returned(small.value, names) if small.value is not None else None
            if isinstance(small, cst.Expr):
                continue  # self.add_loss(...): no name bound
            if not isinstance(small, cst.Assign) or len(small.targets) != 1:
                return None
            target, value = small.targets[0].target, small.value
            if (
                isinstance(target, (cst.Tuple, cst.List))
                and isinstance(value, cst.Name)
                and value.value == self.parameter
            ):
                targets = [element.value for element in target.elements]
                if len(targets) != len(self.input_shapes) or not all(isinstance(t, cst.Name) for t in targets):
                    return None
                names.update((t.value, shape) for t, shape in zip(targets, self.input_shapes))
            elif isinstance(target, cst.Name):
                try:
                    self.sizes[target.value] = self._size(value, names)
                    names[target.value] = ()
                except _NotASize:
                    names[target.value] = self.shape(value, names)
            else:
                return None
        return None

    def _returned(self, node: cst.BaseExpression, names: dict[str, tuple | None]) -> tuple | list | None:
        """One shape, or a list of them for ``return inputs`` (the list itself) or ``return [a, b]``."""
        if isinstance(node, cst.Name) and node.value == self.parameter:
            return list(self.input_shapes)
        if isinstance(node, (cst.Tuple, cst.List)) and all(isinstance(e, cst.Element) for e in node.elements):
            shapes = [self.shape(element.value, names) for element in node.elements]
            return None if any(shape is None for shape in shapes) else shapes
        return self.shape(node, names)

    def shape(self, node: cst.BaseExpression, names: dict[str, tuple | None]) -> tuple | None:
        if isinstance(node, cst.Subscript) and isinstance(node.value, cst.Name) and node.value.value == self.parameter:
            index = _index(node)
            return (
                self.input_shapes[index]
                if index is not None and -len(self.input_shapes) <= index < len(self.input_shapes)
                else None
            )
        return super().shape(node, names)

    def _call(self, node: cst.Call, names: dict[str, tuple | None]) -> tuple | None:
        if self.keras_name(node.func) in RANDOM_DRAWS:
            shape = shape_argument(node)
            return self._sizes(shape, names) if shape is not None else None
        return super()._call(node, names)

    def _sizes(self, node: cst.BaseExpression, names: dict[str, tuple | None]) -> tuple | None:
        """A shape written as ``(batch, dim)`` of sizes, or ``ops.shape(t)``."""
        read = read_shape(node, self.keras_name, lambda x: self.shape(x, names))
        if read is not None:
            return read
        if not isinstance(node, (cst.Tuple, cst.List)):
            return None
        try:
            return tuple(self._size(element.value, names) for element in node.elements)
        except _NotASize:
            return None

    def _size(self, node: cst.BaseExpression, names: dict[str, tuple | None]) -> object:
        """One size: a number, a name bound to a size, or ``ops.shape(t)[i]``."""
        if isinstance(node, cst.Integer):
            return int(node.evaluated_value)
        if isinstance(node, cst.Name) and node.value in self.sizes:
            return self.sizes[node.value]
        if isinstance(node, cst.Name) and node.value != self.parameter and self.script_size(node.value) is not None:
            return self.script_size(node.value)
        if isinstance(node, cst.Subscript):
            shape = read_shape(node.value, self.keras_name, lambda x: self.shape(x, names))
            index = _index(node)
            if shape is not None and index is not None and -len(shape) <= index < len(shape):
                return shape[index]
        raise _NotASize


def _index(node: cst.Subscript) -> int | None:
    if len(node.slice) != 1 or not isinstance(node.slice[0].slice, cst.Index):
        return None
    value = node.slice[0].slice.value
    if isinstance(value, cst.Integer):
        return int(value.evaluated_value)
    if (
        isinstance(value, cst.UnaryOperation)
        and isinstance(value.operator, cst.Minus)
        and isinstance(value.expression, cst.Integer)
    ):
        return -int(value.expression.evaluated_value)
    return None
