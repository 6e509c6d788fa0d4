"""Custom layers: ``class Attention(keras.layers.Layer)`` of the script, ported to an ``nn.Module``.

The class stays where the script defines it, rewritten as a PyTorch author would port it:

- its base becomes ``nn.Module``; ``super().__init__(**kwargs)`` becomes ``super().__init__()`` (name=,
  dtype= and Keras's other layer keywords are dropped where the model builds it);
- ``self.w = self.add_weight(name=, shape=, initializer=, trainable=, regularizer=, constraint=)`` in ``build`` (or
  ``__init__``) becomes an ``nn.Parameter`` of that shape, initialised as Keras initialises it (Keras 3's
  default is glorot_uniform for a float weight), holding its constraint (k2t.translate.constraints); a list of
  them made by a comprehension, an ``nn.ParameterList``; ``super().build(input_shape)`` and
  ``self.input_spec = InputSpec(...)`` go;
- ``call`` becomes ``forward``, its body (and every other method's) rewritten through the op vocabulary;
- ``get_config``, ``from_config``, ``compute_output_shape`` and ``@register_keras_serializable``
  serve Keras's saving and shape inference only: they go, as does ``@tf.function`` on a method;
- a subclass of the script's layer class stays one, its ``super().call(x)`` the parent's ``forward``; a subclass
  of one of Keras's layers is k2t.translate.layer_subclasses'.

The model's module builds the layer and calls its ``build`` with Keras's input shape (batch None,
channels last), which k2t knows where the layer is used, so that its weights exist before the
optimizer is made: ``self.attention = Attention()`` then ``self.attention.build((None, 10, 8))``.

The layers after it see its output shape from ``compute_output_shape`` when k2t can evaluate it,
else derived from ``call`` (statements of ops that keep, broadcast, reduce or multiply shapes, over
the weights ``build`` makes; sizes read off the input with ``ops.shape`` and computed from the class's
attributes, and ``keras.ops.reshape`` / ``extract_patches`` over them, as Keras's symbolic call computes
them), else a K2T103 when a later layer needs it.
"""

from __future__ import annotations

import ast
import json
import math
import re
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import libcst as cst
from libcst.metadata import PositionProvider

from ..cst_walk import Visitor
from ..diagnostics import Unsupported
from ..ir import KerasCall, KerasScript, LayerClass, Todo, Value
from ..ops import OpError, translate_op
from ..parse.syntax import is_docstring, read_name_nodes
from .added_losses import add_loss_rewrites, added_total, adds_losses, clear_line
from .constraints import plan_constraint
from .dims import Dim, Size
from .initializers import initializer_lines
from .lambda_layer import _REDUCTIONS, _SHAPE_KEEPING, _later_layer_needing_shape
from .layer_subclasses import convert_keras_subclass, is_super_method, super_call_rewrite, translated_subclass
from .model import LayerContext, stable
from .op_code import CallRewrite, KerasName, OpRewrite, apply_rewrite, import_names, rewrite_ops
from .plan import LayerPlan
from .random_shapes import RANDOM_DRAWS, read_shape, shape_argument
from .registry import layer
from .regularizers import regularizer_terms
from .script_metrics import STATE_METHODS, variable_update
from .seed_generators import unused_seed_generators
from .sublayers import Sublayers, SublayerTranslator, translated_sublayers

_OP_CODES = ("K2T100", "K2T150")
# Keras's own keywords of every layer, which go to Layer.__init__ through **kwargs: torch has no use for them.
_LAYER_KEYWORDS = frozenset(
    {"name", "dtype", "autocast", "input_shape", "input_dim", "batch_input_shape", "batch_size"}
)
# Methods that serve Keras alone (saving, shape inference): the port has no caller for them.
_KERAS_ONLY_METHODS = frozenset(
    {"get_config", "from_config", "compute_output_shape", "get_build_config", "build_from_config", "compute_mask"}
)
_ADD_WEIGHT_PARAMETERS = ("shape", "initializer", "dtype", "trainable", "name", "regularizer", "constraint")
_MATMUL = frozenset({"keras.ops.matmul", "tensorflow.matmul", "tensorflow.linalg.matmul", "keras.backend.dot"})
_SQUEEZE = frozenset({"keras.backend.squeeze", "tensorflow.squeeze", "keras.ops.squeeze"})
_EXPAND = frozenset({"keras.backend.expand_dims", "tensorflow.expand_dims", "keras.ops.expand_dims"})


# ----------------------------------------------------------------------------------------- the class
@dataclass
class Weight:
    """``self.<attr> = self.add_weight(...)``: one weight of the layer, as its statement creates it."""

    attr: str
    statement: cst.SimpleStatementLine
    call: cst.Call
    arguments: dict[str, cst.BaseExpression]
    method: str = "build"  # the method that makes it: build, or __init__
    # `self.cs = [self.add_weight(...) for i in range(2)]`: the comprehension making a list of such weights
    listed: cst.ListComp | None = None


@dataclass
class LayerClassParts:
    """What the converter and the class rewrite read of a custom layer class."""

    layer_class: LayerClass
    methods: dict[str, cst.FunctionDef]
    init_params: list[cst.Param]  # __init__'s parameters after self
    init_kwargs: bool  # __init__ takes **kwargs (Keras's layer keywords go there)
    attributes: dict[str, cst.BaseExpression]  # `self.units = units` in __init__
    weights: list[Weight] = field(default_factory=list)  # in creation order (__init__, then build)
    # `self.dense = layers.Dense(8)` in __init__; a list of them (`[layers.Dense(s) for s in sizes]`): the list
    sublayers: list[tuple[str, cst.BaseExpression]] = field(default_factory=list)
    # `self.features_dim = input_shape[-1]` in build: what the attribute holds once Keras has built the layer
    built_attributes: dict[str, cst.BaseExpression] = field(default_factory=dict)
    # `self.input_spec = InputSpec(min_ndim=2)`: Keras's check of the input's rank and sizes at each call, which the
    # model's shapes (k2t follows them statically) already satisfy; the statements go
    input_specs: list[cst.CSTNode] = field(default_factory=list)
    # `self.kernel = self.kernel + noise` after `self.kernel = self.add_weight(...)`: the statements
    rebound_weights: list[tuple[str, cst.CSTNode]] = field(default_factory=list)

    @property
    def call(self) -> cst.FunctionDef | None:
        return self.methods.get("call")

    def call_reads_training(self) -> bool:
        call = self.call
        if call is None or not any(
            p.name.value == "training" for p in [*call.params.params, *call.params.kwonly_params]
        ):
            return False
        found = False

        class Reads(Visitor):
            def visit_Name(self, node: cst.Name) -> None:
                nonlocal found
                found = found or node.value == "training"

            def visit_Arg(self, node: cst.Arg) -> bool:
                node.value.visit(self)  # `f(training=...)`: the keyword is no read
                return False

        call.body.visit(Reads())
        return found


def class_parts(layer_class: LayerClass) -> LayerClassParts:
    """The parts of the class (read at each use: a few statements, and nothing outlives the conversion); a subclass of
    another layer class of the script has the methods it does not define from that class."""
    keras_name = import_names(layer_class.script.metadata)
    methods = own_methods(layer_class)
    if layer_class.parent is not None:
        methods = {**class_parts(layer_class.parent).methods, **methods}
    init = methods.get("__init__")
    params = list(init.params.params[1:]) if init is not None else []
    kwargs = init is None or init.params.star_kwarg is not None
    parts = LayerClassParts(layer_class, methods, params, kwargs, {})
    for method in ("__init__", "build"):
        definition = methods.get(method)
        for statement in _statements(_body(definition)) if definition is not None else ():
            assigned = _self_assignment(statement)
            if assigned is None:
                for attr, value in _self_tuple_assignment(statement):  # `self.height, self.width = height, width`
                    if method == "__init__":
                        parts.attributes[attr] = value
                    elif statement in _body(definition):
                        parts.built_attributes[attr] = value
                continue
            attr, value = assigned
            made = [weight for weight in parts.weights if weight.attr == attr]
            if made and not (isinstance(value, cst.Call) and _is_self_call(value, "add_weight")):
                # After the weight on the same path (`self.kernel = self.kernel + noise`); another branch's
                # `else: self.b = None` is no rebinding of it.
                straight = statement in _body(definition) and made[-1].statement in _body(definition)
                if straight or re.search(rf"\bself\s*\.\s*{attr}\b", cst.Module([]).code_for_node(value)):
                    parts.rebound_weights.append((attr, statement))
                    continue
            if attr == "input_spec" and _is_input_spec(value, keras_name):
                parts.input_specs.append(statement)
            elif isinstance(value, cst.Call) and _is_self_call(value, "add_weight"):
                parts.weights.append(Weight(attr, statement, value, _add_weight_arguments(value), method))
            elif (
                isinstance(value, cst.ListComp)
                and isinstance(value.elt, cst.Call)
                and _is_self_call(value.elt, "add_weight")
            ):
                arguments = _add_weight_arguments(value.elt)
                parts.weights.append(Weight(attr, statement, value.elt, arguments, method, value))
            elif isinstance(value, cst.Call) and _creates_layer(value, keras_name) or _lists_layers(value, keras_name):
                parts.sublayers.append((attr, value))
            elif method == "__init__":
                parts.attributes[attr] = value
            elif statement in _body(definition):  # build's own lines (not under an `if`)
                parts.built_attributes[attr] = value
    return parts


def own_methods(layer_class: LayerClass) -> dict[str, cst.FunctionDef]:
    """The methods the class's own body defines."""
    return {s.name.value: s for s in _body(layer_class.node) if isinstance(s, cst.FunctionDef)}


def _body(node: cst.ClassDef | cst.FunctionDef) -> list[cst.CSTNode]:
    return list(node.body.body) if isinstance(node.body, cst.IndentedBlock) else []


def _statements(body: list[cst.CSTNode]) -> list[cst.CSTNode]:
    """The statements of a method's body and of the `if` / `else` blocks in it (``if self.use_bias:
    self.b = self.add_weight(...)``), in order."""
    found: list[cst.CSTNode] = []
    for statement in body:
        found.append(statement)
        branch = statement
        while isinstance(branch, cst.If):
            found.extend(_statements(list(branch.body.body)))
            branch = branch.orelse
            if isinstance(branch, cst.Else):
                found.extend(_statements(list(branch.body.body)))
    return found


# A Keras variable's assignments (in a layer's call: a moving statistic) are torch's in-place ops on the tensor's
# data (script_metrics.variable_update), which autograd does not record, as Keras does not differentiate them.
# Keras's Layer and Variable API that the translated class cannot keep: reported where they are left.
_LAYER_ONLY_CALLS = frozenset(
    {
        "add_weight",
        "add_variable",
        "assign",
        "assign_add",
        "assign_sub",
        "add_update",
        "add_metric",
        "set_weights",
        "get_weights",
    }
)


def _variable_updates(method: cst.FunctionDef, weights: set[str]) -> dict[int, str]:
    """``self.moving_mean.assign(value)`` -> ``self.moving_mean.data.copy_(value)`` (by id() of the call's func)."""
    found: dict[int, str] = {}

    class Finder(Visitor):
        def visit_Call(self, node: cst.Call) -> None:
            func = node.func
            if (
                isinstance(func, cst.Attribute)
                and func.attr.value in STATE_METHODS
                and isinstance(func.value, cst.Attribute)
                and isinstance(func.value.value, cst.Name)
                and func.value.value.value == "self"
                and func.value.attr.value in weights
                and len(node.args) == 1
                and node.args[0].keyword is None
            ):
                found[id(func)] = f"self.{func.value.attr.value}.data.{variable_update(node)}"

    method.visit(Finder())
    return found


def _layer_only_calls(method: cst.FunctionDef, handled: set[int], replaced, positions) -> list[cst.Call]:
    """Calls of Keras's Layer / Variable API (``self.add_weight`` in a loop, ``.assign`` on what is no weight)
    that nothing translated: each is a diagnostic, never a method torch's module does not have."""
    found: list[cst.Call] = []

    class Finder(Visitor):
        def visit_Call(self, node: cst.Call) -> None:
            func = node.func
            if (
                isinstance(func, cst.Attribute)
                and func.attr.value in _LAYER_ONLY_CALLS
                and id(func) not in handled
                and id(node) not in handled
                and not _inside(_pos_of(positions, node), replaced)
            ):
                found.append(node)

    method.visit(Finder())
    return found


def _self_assignment(statement: cst.CSTNode) -> tuple[str, cst.BaseExpression] | None:
    """``self.attr = value`` as a statement line of its own."""
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return None
    small = statement.body[0]
    if not isinstance(small, cst.Assign) or len(small.targets) != 1:
        return None
    target = small.targets[0].target
    if isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name) and target.value.value == "self":
        return target.attr.value, small.value
    return None


def _self_tuple_assignment(statement: cst.CSTNode) -> list[tuple[str, cst.BaseExpression]]:
    """``self.height, self.width = height, width``: each attribute with its value (none where the sides differ in
    length or a target is not ``self.<attr>``)."""
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return []
    small = statement.body[0]
    if not isinstance(small, cst.Assign) or len(small.targets) != 1:
        return []
    target, value = small.targets[0].target, small.value
    if not isinstance(target, (cst.Tuple, cst.List)) or not isinstance(value, (cst.Tuple, cst.List)):
        return []
    if len(target.elements) != len(value.elements) or any(
        not isinstance(e, cst.Element) for e in (*target.elements, *value.elements)
    ):
        return []
    pairs = []
    for element, assigned in zip(target.elements, value.elements):
        attr = element.value
        if not (isinstance(attr, cst.Attribute) and isinstance(attr.value, cst.Name) and attr.value.value == "self"):
            return []
        pairs.append((attr.attr.value, assigned.value))
    return pairs


def _is_self_call(call: cst.Call, method: str) -> bool:
    func = call.func
    return (
        isinstance(func, cst.Attribute)
        and isinstance(func.value, cst.Name)
        and func.value.value == "self"
        and func.attr.value == method
    )


def _creates_layer(call: cst.Call, keras_name: KerasName) -> bool:
    name = keras_name(call.func)
    return (
        name is not None
        and name != _INPUT_SPEC
        and (name.startswith("keras.layers.") or name in ("keras.Sequential", "keras.Model"))
    )


_INPUT_SPEC = "keras.layers.InputSpec"


def _is_input_spec(value: cst.BaseExpression, keras_name: KerasName) -> bool:
    """``InputSpec(ndim=3)``, or Keras 2's list of them (``[InputSpec(ndim=3)]``)."""
    items = [e.value for e in value.elements] if isinstance(value, (cst.List, cst.Tuple)) else [value]
    return bool(items) and all(isinstance(item, cst.Call) and keras_name(item.func) == _INPUT_SPEC for item in items)


def _lists_layers(value: cst.BaseExpression, keras_name: KerasName) -> bool:
    """``[layers.Dense(s) for s in sizes]`` or ``[layers.Dense(8), layers.Dense(4)]``: a list of sublayers."""
    if isinstance(value, cst.ListComp):
        return isinstance(value.elt, cst.Call) and _creates_layer(value.elt, keras_name)
    if isinstance(value, (cst.List, cst.Tuple)) and value.elements:
        return all(isinstance(e.value, cst.Call) and _creates_layer(e.value, keras_name) for e in value.elements)
    return False


def _add_weight_arguments(call: cst.Call) -> dict[str, cst.BaseExpression]:
    """add_weight's arguments by name (Keras 3 takes shape, initializer and dtype by position)."""
    given: dict[str, cst.BaseExpression] = {}
    positional = ("shape", "initializer", "dtype")
    for index, arg in enumerate(call.args):
        if arg.star:
            given["*"] = arg.value
        elif arg.keyword is not None:
            given[arg.keyword.value] = arg.value
        elif index < len(positional):
            given[positional[index]] = arg.value
        else:
            given["*"] = arg.value
    return given


# ----------------------------------------------------------------------------------------- the layer
@layer("Layer")
def convert_custom_layer(ctx: LayerContext) -> LayerPlan:
    layer_class = ctx.layer.layer_class
    if layer_class is None:
        raise Unsupported("K2T101", "keras.layers.Layer itself has no computation to translate", ctx.layer.pos)
    if layer_class.keras_base is not None:
        return convert_keras_subclass(ctx)
    if layer_class.parent is not None:
        _check_inheritance(layer_class)
    parts = class_parts(layer_class)
    _check_class(parts)
    for attr, statement in parts.rebound_weights:
        # Keras then computes with the tensor the attribute holds: the weight stays in the layer's weights, fixed
        # (no gradient reaches it); a torch module cannot hold a tensor under a parameter's name.
        raise Unsupported(
            "K2T103",
            f"`self.{attr}`, a weight made by add_weight, is bound to another value: Keras computes with that "
            "tensor, not with the weight (which then never trains); not translated",
            _pos(layer_class.script, statement),
        )
    ctx.keras_layout()  # the class's axis numbers are Keras's (channels last)
    arguments = _bind_arguments(parts, ctx.layer)
    sizes = _Sizes(ctx, parts, arguments)
    applied = _getter_parameters(parts)  # applied to the weights here, not passed to the class
    names = [p.name.value for p in parts.init_params]
    passed = [
        (key, value)
        for index, (key, value) in enumerate(arguments)
        if (key if key is not None else names[index] if index < len(names) else None) not in applied
    ]
    constructor = f"{layer_class.name}({', '.join(_argument_code(ctx, key, value) for key, value in passed)})"
    _record_arguments(layer_class, sizes)
    input_shape = (None, *(_size_of(dim) for dim in ctx.shape))
    sizes.input_shape = input_shape
    # Keras builds the layer at its first call with the input's shape; the module builds it at once, so
    # that its weights exist before the optimizer is made.
    dims = ", ".join(["None", *("None" if dim is None else dim.code for dim in ctx.shape)])
    build = (
        [f"{ctx.self_attr}.build(({dims}))  # Keras's input shape: batch, then channels-last sizes"]
        if "build" in parts.methods
        else []
    )
    weight_shapes = {
        weight.attr: sizes.weight_shape(weight, input_shape) for weight in parts.weights if weight.listed is None
    }
    listed = _weight_lists(parts, sizes, input_shape)
    sublayers = _translate_sublayers(ctx, parts, sizes, input_shape, weight_shapes)
    output = (
        sublayers.output
        if sublayers is not None and sublayers.output is not None
        else _output_shape(parts, sizes, input_shape, weight_shapes)
    )
    if output is None:
        _refuse_if_needed(ctx, layer_class)
    else:
        ctx.shape = [dim_of(dim) for dim in output[1:]]
    keywords = ["training=self.training"] if parts.call_reads_training() else []
    mask = _mask_flow(ctx, parts)
    if mask is not None:
        keywords.append(f"mask={mask}")
    forward = f"x = {ctx.self_attr}({', '.join(['x', *keywords])})"
    adds = adds_losses(parts.methods)
    ctx.helpers.extend(constraint_helpers(parts, sizes))
    return LayerPlan(
        keras_class=layer_class.name,
        attr=ctx.attr,
        constructor=constructor,
        setup=build,
        forward=[clear_line(ctx.self_attr), forward] if adds else [forward],
        added_losses=[added_total(ctx.self_attr)] if adds else [],
        weights="custom",
        regularizers=[
            term for weight in parts.weights for term in _regularizer_terms(parts, weight, ctx.self_attr, sizes)
        ]
        + (sublayers.regularizers if sublayers is not None else []),
        params=_count([*weight_shapes.values(), *listed.shapes], sublayers.params if sublayers is not None else 0),
        sublayers=(sublayers.transfers if sublayers is not None else []) + listed.transfers,
        inner=sublayers.plans if sublayers is not None else [],
    )


@dataclass
class _WeightLists:
    """The lists of weights the class makes (``[self.add_weight(...) for i in range(2)]``), for one use: each
    weight's shape (None: not known), and their transfers (Keras's ``cs[0]`` is torch's ``cs.0``)."""

    shapes: list[tuple | None]
    transfers: list[tuple[str, str, str]]


def _weight_lists(parts: LayerClassParts, sizes: _Sizes, input_shape: tuple) -> _WeightLists:
    lists = _WeightLists([], [])
    for weight in parts.weights:
        if weight.listed is None:
            continue
        names = sizes.build_names(input_shape) if weight.method == "build" else {}
        items = sizes.evaluate(weight.listed.for_in.iter, {"input_shape": input_shape, **names})
        if not isinstance(items, tuple):
            lists.shapes.append(None)  # the count: not known, nor the parameters'
            continue
        shape = sizes.weight_shape(weight, input_shape)
        lists.shapes.extend([shape] * len(items))
        lists.transfers.extend(
            (f"{weight.attr}.{index}", f"{weight.attr}.{index}", "variable") for index in range(len(items))
        )
    return lists


def _mask_flow(ctx: LayerContext, parts: LayerClassParts) -> str | None:
    """Keras's mask at a custom layer on a masked sequence: the mask Keras passes to a ``call(self, x, mask=None)``
    (the variable given to the module's call; None when it takes none), and the output's mask in ``ctx.mask``: none
    where ``compute_mask`` returns None, the input's where the layer says ``self.supports_masking = True`` and keeps
    Keras's compute_mask, else none (Keras drops a mask at a layer that does not support masking)."""
    flow = ctx.mask
    if flow.given is None:
        return None
    call = parts.call
    takes_mask = call is not None and any(
        p.name.value == "mask" for p in [*call.params.params, *call.params.kwonly_params]
    )
    given = flow.take()
    computed = parts.methods.get("compute_mask")
    if computed is not None:
        body = _body(computed)
        returns_none = (
            len(body) == 1
            and isinstance(body[0], cst.SimpleStatementLine)
            and isinstance(body[0].body[0], cst.Return)
            and (
                body[0].body[0].value is None
                or (isinstance(body[0].body[0].value, cst.Name) and body[0].body[0].value.value == "None")
            )
        )
        if not returns_none:
            message = f"custom layer {parts.layer_class.name}: a compute_mask() other than `return None` on a masked sequence is not translated"
            raise Unsupported("K2T102", message, _pos(parts.layer_class.script, computed))
    elif _supports_masking(parts):
        flow.output = given  # Keras's default compute_mask passes the input's mask on
    return given if takes_mask else None


def _supports_masking(parts: LayerClassParts) -> bool:
    value = parts.attributes.get("supports_masking")
    return isinstance(value, cst.Name) and value.value == "True"


# The literal values each __init__ parameter of a class receives, over its uses (keras.activations.get(name)).
_ARGUMENT_VALUES: weakref.WeakKeyDictionary[LayerClass, dict[str, list[object]]] = weakref.WeakKeyDictionary()


def _record_arguments(layer_class: LayerClass, sizes: _Sizes) -> None:
    owner = layer_class  # the class whose __init__ the arguments go to (a parent's, where the subclass has none)
    while "__init__" not in own_methods(owner) and owner.parent is not None:
        owner = owner.parent
    values = _ARGUMENT_VALUES.setdefault(owner, {})
    for param in (p.name.value for p in sizes.parts.init_params):
        given = sizes.arguments.get(param)
        if given is None and param in sizes.defaults:
            literal = _literal(sizes.defaults[param])
        else:
            literal = given.literal if given is not None and given.is_literal else ...
        values.setdefault(param, []).append(literal)


def _activation_calls(layer_class: LayerClass, keras_name: KerasName) -> CallRewrite:
    """``keras.activations.get(activation)`` with an __init__ parameter every use passes a literal name (or leaves at
    its default): that activation's torch function where they agree, else the functions of the names they pass by
    name (``{"relu": F.relu, "tanh": torch.tanh}[activation]``)."""
    values = _ARGUMENT_VALUES.get(layer_class, {})

    def rewrite(original: cst.Call, updated: cst.Call) -> str | None:
        if keras_name(original.func) != "keras.activations.get" or len(original.args) != 1:
            return None
        argument = original.args[0].value
        seen = values.get(argument.value, []) if isinstance(argument, cst.Name) else []
        names = list(dict.fromkeys(seen))
        if not names or any(not (name is None or isinstance(name, str)) for name in names):
            return None
        try:
            functions = [translate_op("keras.activations.get", [repr(name)]).code for name in names]
        except OpError:
            return None
        if len(names) == 1:
            return functions[0]
        table = ", ".join(
            f"{json.dumps(name) if name is not None else None}: {function}" for name, function in zip(names, functions)
        )
        return f"{{{table}}}[{argument.value}]"

    return rewrite


def _both(first: CallRewrite | None, second: CallRewrite) -> CallRewrite:
    if first is None:
        return second
    return lambda original, updated: first(original, updated) or second(original, updated)


@dataclass
class _SublayersOfUse:
    output: tuple | None  # the layer's output shape, batch first, in the model's terms
    regularizers: list[str]  # over the model's attribute of the layer
    params: int | None
    transfers: list[tuple[str, str, str]]
    plans: list[LayerPlan]  # the sublayers' own, which the optimizer's translation may still adjust


def _translate_sublayers(
    ctx: LayerContext,
    parts: LayerClassParts,
    sizes: _Sizes,
    input_shape: tuple,
    weight_shapes: dict[str, tuple | None] | None = None,
) -> _SublayersOfUse | None:
    """The class's sublayers converted for this use (k2t.translate.sublayers); None when it has none."""
    if not parts.sublayers:
        return None
    script = parts.layer_class.script
    bound: dict[str, Value] = dict(sizes.arguments)
    for name, default in sizes.defaults.items():
        bound.setdefault(name, _value(default, script))
    translator = SublayerTranslator(
        ctx,
        parts,
        bound,
        import_names(script.metadata),
        lambda node: _value(node, script),
        lambda node: _pos(script, node),
    )
    # `ops.matmul(inputs, self.w) + self.b` before a sublayer: the weights' shapes, in the class's terms (a size
    # an __init__ parameter gives is its name: `nn.LayerNorm(units)`, whatever each use passes).
    in_class = _Sizes(ctx, parts, list(sizes.arguments.items()))
    in_class.class_terms = True
    written_input = (translator.class_dim(size) if isinstance(size, str) else size for size in input_shape)
    in_class.input_shape = tuple(
        int(size) if isinstance(size, str) and size.isdigit() else size for size in written_input
    )
    translator.weights = {}
    for weight in parts.weights:
        shape = (weight_shapes or {}).get(weight.attr)
        written = in_class.weight_shape(weight, in_class.input_shape) if shape is not None else None
        if written is not None and len(written) == len(shape) and all(isinstance(size, (int, str)) for size in written):
            translator.weights[f"self.{weight.attr}"] = tuple(str(size) for size in written)
        elif shape is not None and all(isinstance(size, (int, str)) for size in shape):
            translator.weights[f"self.{weight.attr}"] = tuple(
                str(size) if isinstance(size, int) else translator.class_dim(size) for size in shape
            )
    output = translator.translate(input_shape)
    result = translator.result
    ctx.helpers.extend(result.helpers)
    # The class's `self.ffn[0].weight` is the model's `self.block.ffn[0].weight`.
    regularizers = [re.sub(r"\bself\.", f"{ctx.self_attr}.", term) for term in result.regularizers]
    plans = [plan for constructed in result.statements.values() for plan in constructed.plans]
    return _SublayersOfUse(output, regularizers, result.params, list(result.transfers), plans)


def _check_class(parts: LayerClassParts) -> None:
    """What the port does not cover, located in the class."""
    layer_class = parts.layer_class
    if parts.call is None and "get_output" in parts.methods:
        # keras-team/keras's examples/antirectifier.py as first written: Keras 0.x's layer API.
        message = (
            f"custom layer {layer_class.name} is written for Keras 0 (get_output(train) with self.get_input(train), "
            "an output_shape property), which Keras 1 replaced by call(x) and compute_output_shape(input_shape): "
            "not translated; port it to call()"
        )
        raise Unsupported("K2T103", message, _pos(layer_class.script, parts.methods["get_output"]))
    if parts.call is None:
        raise Unsupported(
            "K2T103", f"custom layer {layer_class.name} has no call() method to translate", layer_class.pos
        )
    keras_name = import_names(layer_class.script.metadata)
    for attr, value in parts.attributes.items():
        items = (
            [value.elt]
            if isinstance(value, (cst.ListComp, cst.GeneratorExp))
            else [e.value for e in value.elements]
            if isinstance(value, (cst.List, cst.Tuple))
            else []
        )
        if any(isinstance(item, cst.Call) and _creates_layer(item, keras_name) for item in items):
            message = (
                f"custom layer {layer_class.name}: `self.{attr}` is a list of layers, which k2t does not translate inside a"
                " custom layer (it follows a sublayer per attribute, or keras.Sequential([...]) for a stack of them)"
            )
            raise Unsupported("K2T103", message, _pos(layer_class.script, value))
    for weight in parts.weights:
        unknown = [key for key in weight.arguments if key not in _ADD_WEIGHT_PARAMETERS]
        if unknown:
            what = "more positional arguments" if unknown[0] == "*" else f"{unknown[0]}="
            message = f"custom layer {layer_class.name}: add_weight({what}) is not translated"
            raise Unsupported("K2T102", message, _pos(layer_class.script, weight.call))
        if "shape" not in weight.arguments:
            raise Unsupported(
                "K2T102",
                f"custom layer {layer_class.name}: add_weight() without a shape",
                _pos(layer_class.script, weight.call),
            )
        if weight.listed is not None:
            _check_weight_list(layer_class, weight)


def _check_weight_list(layer_class: LayerClass, weight: Weight) -> None:
    """``[self.add_weight(...) for i in range(n)]``: one ``for NAME in ...`` without conditions, its variable read by
    name= alone (every weight of the list is made alike)."""
    clause = weight.listed.for_in
    if clause.inner_for_in is not None or clause.ifs or clause.asynchronous or not isinstance(clause.target, cst.Name):
        message = f"custom layer {layer_class.name}: `self.{weight.attr}`: k2t follows a list of weights made by one `for NAME in ...` without conditions"
        raise Unsupported("K2T103", message, _pos(layer_class.script, weight.listed))
    loop = clause.target.value
    for key, node in weight.arguments.items():
        if key == "name":
            continue
        read = [name for name in read_name_nodes(node) if name.value == loop]
        if read:
            message = f"custom layer {layer_class.name}: `self.{weight.attr}`: the weights of a list made with add_weight differ by `{loop}` here; k2t makes them alike"
            raise Unsupported("K2T103", message, _pos(layer_class.script, read[0]))


def _bind_arguments(parts: LayerClassParts, call: KerasCall) -> list[tuple[str | None, Value]]:
    """The call's arguments the class's __init__ receives: Keras's layer keywords (name=, dtype=) dropped
    where they would go to Layer through **kwargs. A keyword of None: positional."""
    names = [p.name.value for p in parts.init_params]
    if len(call.args) > len(names) and parts.layer_class.node is not None:
        extra = call.args[len(names)]
        message = f"{parts.layer_class.name}: positional argument {extra.code} beyond its __init__ parameters"
        raise Unsupported("K2T102", message, extra.pos)
    bound: list[tuple[str | None, Value]] = [(None, value) for value in call.args]
    for key, value in call.kwargs:
        if key in names:
            bound.append((key, value))
        elif key == "trainable" and value.literal is True:
            continue  # Keras's default
        elif key in _LAYER_KEYWORDS and parts.init_kwargs:
            continue
        else:
            raise Unsupported("K2T102", f"{parts.layer_class.name}({key}=...) is not translated", value.pos)
    return bound


def _argument_code(ctx: LayerContext, key: str | None, value: Value) -> str:
    """An argument as the module's __init__ writes it: a literal as written, else a constructor parameter
    (the script's variable, passed where the script builds the model)."""
    value = stable(value)
    if value.is_literal and value.code.strip() == repr(value.literal) or _is_literal_code(value.code):
        code = value.code.strip()
    else:
        code = ctx.builder.param(value.code, key or "argument")
    return code if key is None else f"{key}={code}"


def _is_literal_code(code: str) -> bool:
    try:
        ast.literal_eval(code.strip())
    except (ValueError, SyntaxError):
        return False
    return True


def _refuse_if_needed(ctx: LayerContext, layer_class: LayerClass) -> None:
    later = _later_layer_needing_shape(ctx)
    if later is not None:
        message = (
            f"{later.short_name} after the custom layer {layer_class.name} needs its output shape, which k2t cannot tell "
            f"from its call(); define `compute_output_shape(self, input_shape)` returning a tuple k2t can evaluate"
        )
        raise Unsupported("K2T103", message, ctx.layer.pos)


def constraint_helpers(parts: LayerClassParts, sizes: _Sizes) -> list:
    """The helpers of the weights' constraints (add_weight(constraint=...)), which the class holds: a use that passes
    its __init__ another constraint than the class's own lines hold is located."""
    helpers: list = []
    for weight in parts.weights:
        node = weight.arguments.get("constraint")
        if node is None:
            continue
        used = plan_constraint(_use_value(parts, node, sizes))
        resolved = _resolved(parts, node)
        held = plan_constraint(_value(resolved, parts.layer_class.script)) if resolved is not None else None
        if (used.code if used else None) != (held.code if held else None):
            given = _use_value(parts, node, sizes)
            message = f"custom layer {parts.layer_class.name}: the constraint this use passes ({given.code}) is not the one the class's add_weight holds; k2t writes the class's"
            raise Unsupported("K2T102", message, given.pos)
        if used is not None:
            helpers.extend(used.helpers)
    return helpers


def _regularizer_terms(parts: LayerClassParts, weight: Weight, owner: str, sizes: _Sizes) -> list[str]:
    regularizer = _use_value(parts, weight.arguments.get("regularizer"), sizes)
    if regularizer is None or (regularizer.is_literal and regularizer.literal is None):
        return []
    if weight.listed is not None:  # each weight of the list
        return [f"sum({term} for w in {owner}.{weight.attr})" for term in regularizer_terms(regularizer, "w")]
    return regularizer_terms(regularizer, f"{owner}.{weight.attr}")


def _use_value(parts: LayerClassParts, node: cst.BaseExpression | None, sizes: _Sizes) -> Value | None:
    """An add_weight argument for one use of the layer: through __init__'s attributes and Keras's getters to the
    argument the use passes for an __init__ parameter (``Attention(maxlen, W_regularizer=l2(1e-4))``) or its default."""
    node = _resolved(parts, node, follow_parameters=False)
    if node is None:
        return None
    param = _init_param(parts, node.value) if isinstance(node, cst.Name) else None
    if param is not None:
        given = sizes.arguments.get(param.name.value)
        if given is not None:
            return given
        node = param.default
        if node is None:
            return None
    script = parts.layer_class.script
    name = import_names(script.metadata)(node.func) if isinstance(node, cst.Call) else None
    if name is not None and not any(arg.star for arg in node.args):
        # keras.regularizers.l2(self.l2): its arguments followed too, to the use's value of the attribute
        pos = _pos(script, node)
        args = tuple(_use_value(parts, arg.value, sizes) for arg in node.args if arg.keyword is None)
        kwargs = tuple(
            (arg.keyword.value, _use_value(parts, arg.value, sizes)) for arg in node.args if arg.keyword is not None
        )
        if all(arg is not None for arg in args) and all(value is not None for _, value in kwargs):
            return Value(_code(node).strip(), pos, keras_call=KerasCall(name, args, kwargs, pos))
    return _value(node, script)


def _getter_parameters(parts: LayerClassParts) -> set[str]:
    """__init__ parameters read only as a getter's argument (``regularizers.get(W_regularizer)``): the translation
    applies them to the weights (their regularizer terms) and does not pass them to the module's class."""
    found: set[str] = set()
    for statement in _getter_attributes(parts).values():
        call = _self_assignment(statement)[1]
        argument = call.args[0].value if isinstance(call, cst.Call) and call.args else None
        if isinstance(argument, cst.Name) and _init_param(parts, argument.value) is not None:
            found.add(argument.value)
    return found


def _count(shapes, sublayers: int | None = 0) -> int | None:
    if sublayers is None:
        return None
    total = sublayers
    for shape in shapes:
        if shape is None or not all(isinstance(dim, int) for dim in shape):
            return None
        total += math.prod(shape)
    return total


# ----------------------------------------------------------------------------------------- sizes
_UNKNOWN = object()


def _size_of(dim: Dim) -> int | str | None:
    """A Dim as the evaluator holds it: an int when it is a number, else its code (a constructor parameter)."""
    if dim is None:
        return None
    return dim.value if dim.value is not None else dim.code


def dim_of(size: int | str | None) -> Dim:
    """A size the evaluator computed as a Dim."""
    if size is None:
        return None
    return Size.of(size) if isinstance(size, int) else Size.expression(size)


class _Sizes:
    """Evaluates the class's shape code (add_weight's shape=, compute_output_shape) for one use of the layer:
    __init__'s parameters hold the call's arguments, ``self.<attr>`` what __init__ assigns. A value is an
    int, the code of a size (a constructor parameter of the model's module), None (the batch), or a tuple."""

    def __init__(self, ctx: LayerContext, parts: LayerClassParts, arguments: list[tuple[str | None, Value]]):
        self.ctx = ctx
        self.parts = parts
        names = [p.name.value for p in parts.init_params]
        self.arguments: dict[str, Value] = dict(zip(names, [value for key, value in arguments if key is None]))
        self.arguments.update((key, value) for key, value in arguments if key is not None)
        self.defaults = {p.name.value: p.default for p in parts.init_params if p.default is not None}
        self._shape_read: Callable[[cst.BaseExpression], tuple | None] | None = None
        self._evaluating: set[str] = set()  # the built attributes being evaluated (one built from itself is unknown)
        self.input_shape: tuple | None = None  # the layer's input shape (batch None), for what build() sets
        self.class_terms = False  # sizes as the class writes them: an __init__ parameter's name, not the use's value

    def weight_shape(self, weight: Weight, input_shape: tuple) -> tuple | None:
        """add_weight's shape= for this use: in build(), over its input shape and the names build() binds before
        (``dim = input_shape[-1]``)."""
        names = self.build_names(input_shape) if weight.method == "build" else {}
        return self.shape(weight.arguments.get("shape"), input_shape, names)

    def build_names(self, input_shape: tuple) -> dict[str, object]:
        """build(self, input_shape)'s parameter and the names its top-level lines bind (``dim = input_shape[-1]``,
        ``_, steps, features = input_shape``), as far as k2t can evaluate them."""
        build = self.parts.methods.get("build")
        if build is None or len(build.params.params) < 2:
            return {}
        names: dict[str, object] = {build.params.params[1].name.value: input_shape}
        assignments = [
            statement.body[0]
            for statement in _body(build)
            if isinstance(statement, cst.SimpleStatementLine)
            and len(statement.body) == 1
            and isinstance(statement.body[0], cst.Assign)
            and len(statement.body[0].targets) == 1
        ]
        # Only the names the weights' shapes read, and what those read: evaluating a size may make it a constructor
        # parameter of the model's module (LayerContext.size), which a name nothing reads must not.
        needed = {
            name.value
            for weight in self.parts.weights
            if weight.method == "build"
            for node in (weight.arguments.get("shape"), weight.listed.for_in.iter if weight.listed else None)
            if node is not None
            for name in read_name_nodes(node)
        }
        for small in reversed(assignments):
            if {name.value for name in read_name_nodes(small.targets[0].target)} & needed:
                needed |= {name.value for name in read_name_nodes(small.value)}
        for small in assignments:
            target = small.targets[0].target
            if not {name.value for name in read_name_nodes(target)} & needed:
                continue
            value = self.evaluate(small.value, names)
            if isinstance(target, cst.Name):
                names[target.value] = value
            elif isinstance(target, (cst.Tuple, cst.List)) and all(
                isinstance(e, cst.Element) and isinstance(e.value, cst.Name) for e in target.elements
            ):
                unpacked = list(value) if isinstance(value, tuple) and len(value) == len(target.elements) else None
                for index, element in enumerate(target.elements):
                    names[element.value.value] = _UNKNOWN if unpacked is None else unpacked[index]
        return {name: value for name, value in names.items() if value is not _UNKNOWN}

    def shape(
        self, node: cst.BaseExpression | None, input_shape: tuple, names: dict[str, object] | None = None
    ) -> tuple | None:
        if node is None:
            return None
        value = self.evaluate(node, {"input_shape": input_shape, **(names or {})})
        if isinstance(value, (list, tuple)):
            return tuple(value)
        if isinstance(value, (int, str)):
            return (value,)
        return None

    def evaluate(
        self,
        node: cst.BaseExpression,
        names: dict[str, object],
        shape_read: Callable[[cst.BaseExpression], tuple | None] | None = None,
    ) -> object:
        """The value of ``node``; ``shape_read`` gives the static shape ``ops.shape(t)`` reads in call() (None: not
        a shape read, or of a tensor of unknown shape)."""
        outer, self._shape_read = self._shape_read, shape_read  # an evaluation may run inside a shape read's
        try:
            return self._evaluate(node, names)
        except (TypeError, IndexError, ValueError, ZeroDivisionError, KeyError):
            return _UNKNOWN
        finally:
            self._shape_read = outer

    def _evaluate(self, node: cst.BaseExpression, names: dict[str, object]) -> object:
        if isinstance(node, cst.Integer):
            return int(node.evaluated_value)
        if isinstance(node, cst.Name):
            if node.value == "None":
                return None
            if node.value in names:
                return names[node.value]
            return self._parameter(node.value, names)
        if isinstance(node, (cst.Tuple, cst.List)):
            items: list[object] = []
            for element in node.elements:
                if isinstance(element, cst.StarredElement):
                    items.extend(_sequence(self._evaluate(element.value, names)))
                else:
                    items.append(self._evaluate(element.value, names))
            return tuple(_known(item) for item in items)
        if isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name) and node.value.value == "self":
            built = self.parts.built_attributes.get(node.attr.value)
            build = self.parts.methods.get("build")
            if (
                built is not None
                and build is not None
                and self.input_shape is not None
                and len(build.params.params) > 1
            ):
                # set by build(self, input_shape), which Keras runs before anything reads the shapes
                if node.attr.value in self._evaluating:
                    raise ValueError(f"self.{node.attr.value} is built from itself")  # `self.k = self.k + noise`
                self._evaluating.add(node.attr.value)
                try:
                    return self._evaluate(built, {build.params.params[1].name.value: self.input_shape})
                finally:
                    self._evaluating.discard(node.attr.value)
            expression = self.parts.attributes.get(node.attr.value)
            if expression is None:
                expression = _property_value(self.parts.methods.get(node.attr.value))
            if expression is None:
                raise KeyError(node.attr.value)
            return self._evaluate(expression, {})  # __init__'s own names: its parameters
        if isinstance(node, cst.Attribute) and node.attr.value == "value":
            return self._evaluate(node.value, names)  # TensorFlow 1's Dimension(8).value
        if isinstance(node, cst.Subscript) and len(node.slice) == 1:
            return self._subscript(_sequence(self._evaluate(node.value, names)), node.slice[0].slice, names)
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value in ("range", "len"):
            given = [self._evaluate(arg.value, names) for arg in node.args if arg.keyword is None and not arg.star]
            if len(given) != len(node.args):
                raise ValueError(_code(node))
            if node.func.value == "len":
                return len(_sequence(given[0])) if len(given) == 1 else _known(_UNKNOWN)
            if not 1 <= len(given) <= 3 or not all(isinstance(v, int) and not isinstance(v, bool) for v in given):
                raise TypeError("range")
            return tuple(range(*given))
        if (
            isinstance(node, cst.Call)
            and isinstance(node.func, cst.Name)
            and node.func.value in ("int", "tuple", "list")
            and len(node.args) == 1
        ):
            inner = self._evaluate(node.args[0].value, names)
            return tuple(_sequence(inner)) if node.func.value != "int" else _known(inner)
        if isinstance(node, (cst.Call, cst.Attribute)) and self._shape_read is not None:
            read = self._shape_read(node)
            if read is not None:
                return read  # `ops.shape(images)` (or `images.shape`) in call(): batch None, then the sizes k2t knows
        if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
            operand = self._evaluate(node.expression, names)
            if isinstance(operand, int):
                return -operand
        if isinstance(node, cst.BinaryOperation):
            return _arithmetic(self._evaluate(node.left, names), node.operator, self._evaluate(node.right, names))
        raise ValueError(_code(node))

    def _parameter(self, name: str, names: dict[str, object]) -> object:
        """An __init__ parameter: the call's argument (a number, or a size of the model's constructor); in the class's
        terms (``class_terms``), a size is the parameter's name."""
        value = self.arguments.get(name)
        if self.class_terms:
            literal = (
                (value.literal if value.is_literal else None)
                if value is not None
                else _literal(self.defaults.get(name), default=None)
            )
            if value is not None and not value.is_literal or isinstance(literal, int) and not isinstance(literal, bool):
                return name
        if value is None:
            default = self.defaults.get(name)
            if default is None:
                raise KeyError(name)
            return self._evaluate(default, {})
        literal = value.literal if value.is_literal else None
        if isinstance(literal, (tuple, list)):
            return tuple(literal)
        if value.is_literal and (isinstance(literal, bool) or not isinstance(literal, int)):
            raise ValueError(value.code)
        # A size as written, or the script's variable as a constructor parameter of the module (LayerContext.size).
        return _size_of(self.ctx.size(value, name))

    def _subscript(self, sequence: tuple, index: cst.BaseSlice, names: dict[str, object]) -> object:
        if isinstance(index, cst.Index):
            position = self._evaluate(index.value, names)
            if not isinstance(position, int):
                raise TypeError("index")
            return sequence[position]
        assert isinstance(index, cst.Slice)
        bounds = [
            None if part is None else self._evaluate(part, names) for part in (index.lower, index.upper, index.step)
        ]
        if not all(bound is None or isinstance(bound, int) for bound in bounds):
            raise TypeError("slice")
        return tuple(sequence[slice(*bounds)])


def _property_value(method: cst.FunctionDef | None) -> cst.BaseExpression | None:
    """``@property def out_dim(self): return self.units``: the expression it returns."""
    if method is None or not any(
        isinstance(d.decorator, cst.Name) and d.decorator.value == "property" for d in method.decorators
    ):
        return None
    statements = [s for s in _body(method) if not is_docstring(s)]
    if len(statements) != 1 or not isinstance(statements[0], cst.SimpleStatementLine):
        return None
    returned = statements[0].body[0]
    return returned.value if isinstance(returned, cst.Return) else None


def _sequence(value: object) -> tuple:
    if not isinstance(value, (tuple, list)):
        raise TypeError("not a shape")
    return tuple(value)


def _known(value: object) -> object:
    if value is _UNKNOWN:
        raise ValueError("unknown")
    return value


def _arithmetic(left: object, operator: cst.BaseBinaryOp, right: object) -> object:
    if isinstance(operator, cst.Add) and isinstance(left, tuple) and isinstance(right, tuple):
        return left + right
    if isinstance(left, int) and isinstance(right, int):
        table: dict[type, Callable[[int, int], int]] = {
            cst.Add: lambda a, b: a + b, cst.Subtract: lambda a, b: a - b, cst.Multiply: lambda a, b: a * b,
            cst.FloorDivide: lambda a, b: a // b,
        }  # fmt: skip
        if type(operator) in table:
            return table[type(operator)](left, right)
    symbols = {cst.Add: "+", cst.Subtract: "-", cst.Multiply: "*", cst.FloorDivide: "//"}
    if type(operator) in symbols and isinstance(left, (int, str)) and isinstance(right, (int, str)):
        return f"({left} {symbols[type(operator)]} {right})"  # a size of the model's constructor parameters
    raise TypeError("arithmetic")


# ----------------------------------------------------------------------------------------- output shape
def _output_shape(
    parts: LayerClassParts, sizes: _Sizes, input_shape: tuple, weights: dict[str, tuple | None]
) -> tuple | None:
    """The output's shape (batch first): compute_output_shape when k2t can evaluate it, else derived from call."""
    declared = parts.methods.get("compute_output_shape")
    if declared is not None:
        shape = _returned_shape(declared, sizes, input_shape)
        if shape is not None:
            return shape
    call = parts.call
    if call is None or not call.params.params[1:]:
        return None
    keras_name = import_names(parts.layer_class.script.metadata)
    shapes = _TensorShapes(
        keras_name, {f"self.{attr}": shape for attr, shape in weights.items() if shape is not None}, sizes
    )
    # `self.activation = keras.activations.get(...)`: an activation keeps its input's shape.
    shapes.elementwise = {
        f"self.{attr}" for attr, value in parts.attributes.items()
        if isinstance(value, cst.Call) and keras_name(value.func) == "keras.activations.get"
    }  # fmt: skip
    shapes.super_call = _parent_call_shape(parts.layer_class.parent)
    return shapes.returned(call, call.params.params[1].name.value, input_shape)


def _parent_call_shape(parent: LayerClass | None):
    """``super().call(x)`` in a subclass of the script's layer class: the shape the parent's call() returns for x's
    (its weights and attributes are the subclass's)."""
    if parent is None:
        return None
    call = class_parts(parent).call

    def shape(shapes: _TensorShapes, node: cst.Call, names: dict) -> tuple | None:
        if call is None or not call.params.params[1:] or not node.args or node.args[0].keyword is not None:
            return None
        given = shapes.shape(node.args[0].value, names)
        if given is None:
            return None
        inner = _TensorShapes(shapes.keras_name, shapes.attributes, shapes.sizes)
        inner.elementwise = shapes.elementwise
        inner.super_call = _parent_call_shape(parent.parent)
        return inner.returned(call, call.params.params[1].name.value, given)

    return shape


def _check_inheritance(layer_class: LayerClass) -> None:
    """A subclass of the script's layer class: k2t follows methods each defined once along the chain (the subclass's
    call over ``super().call``), without sublayers (their translation belongs to the class that makes them)."""
    chain = [layer_class]
    while chain[-1].parent is not None:
        chain.append(chain[-1].parent)
    keras_based = next((each for each in chain if each.keras_base is not None), None)
    if keras_based is not None:
        message = f"custom layer {layer_class.name}: a subclass of {keras_based.name}, which subclasses Keras's {keras_based.keras_base.rsplit('.', 1)[-1]}, is not translated"
        raise Unsupported("K2T103", message, layer_class.pos)
    for method in ("__init__", "build"):
        defining = [each for each in chain if method in own_methods(each)]
        if len(defining) > 1:
            message = f"custom layer {layer_class.name}: {defining[0].name} and {defining[1].name} both define {method}(); k2t follows a subclass whose {method}() is one class's"
            raise Unsupported("K2T103", message, _pos(layer_class.script, own_methods(defining[0])[method]))
    for each in chain:
        made = class_parts(each).sublayers
        if made:
            message = f"custom layer {layer_class.name}: the sublayer `self.{made[0][0]}` of {each.name}, a class of the subclass's chain, is not translated (k2t translates sublayers of a class no other class of the script subclasses)"
            raise Unsupported("K2T103", message, _pos(layer_class.script, made[0][1]))


def _returned_shape(method: cst.FunctionDef, sizes: _Sizes, input_shape: tuple) -> tuple | None:
    """``return (input_shape[0], self.units)``: compute_output_shape's one return, evaluated."""
    statements = [s for s in _body(method) if not is_docstring(s)]
    if len(statements) != 1 or not isinstance(statements[0], cst.SimpleStatementLine) or not method.params.params[1:]:
        return None
    returned = statements[0].body[0]
    if not isinstance(returned, cst.Return) or returned.value is None:
        return None
    parameter = method.params.params[1].name.value
    value = sizes.evaluate(returned.value, {parameter: input_shape})
    if not isinstance(value, tuple) or not value or value[0] is not None:
        return None
    return value


_TF_RESHAPE_KEYWORDS = {"tensor": "x", "shape": "newshape"}
_BINARY_OF_AUGMENTED = {
    cst.AddAssign: cst.Add, cst.SubtractAssign: cst.Subtract, cst.MultiplyAssign: cst.Multiply,
    cst.DivideAssign: cst.Divide, cst.PowerAssign: cst.Power, cst.MatrixMultiplyAssign: cst.MatrixMultiply,
}  # fmt: skip


class _TensorShapes:
    """Shapes through call()'s statements: names bound once to op results, then a return. A shape is a tuple
    (batch first) of ints, size codes or None; () is a number. None: not known."""

    def __init__(self, keras_name: KerasName, attributes: dict[str, tuple], sizes: _Sizes | None = None):
        self.keras_name = keras_name
        self.attributes = attributes
        self.elementwise: set[str] = set()  # `self.activation`: functions of one tensor that keep its shape
        # `super().call(x)` in a subclass's call(): its shape from the call and the names' shapes (None: not known)
        self.super_call: Callable[[_TensorShapes, cst.Call, dict], tuple | None] | None = None
        self.sizes = sizes  # the class's values (its __init__'s attributes), where call() computes sizes from them

    def static(self, node: cst.BaseExpression, names: dict) -> _Static | None:
        """A Python value call() computes as Keras's symbolic call does (``ops.shape(images)``, its items, an
        attribute ``self.patch_size`` and arithmetic on them): batch None, sizes as numbers or size codes."""
        if self.sizes is None:
            return None
        known = {name: value.value if isinstance(value, _Static) else _UNKNOWN for name, value in names.items()}

        def shape_read(node: cst.BaseExpression) -> tuple | None:
            if isinstance(node, cst.Attribute) and node.attr.value == "shape":
                return self.shape(node.value, names)  # a tensor's static shape, as the symbolic call has it
            return read_shape(node, self.keras_name, lambda tensor: self.shape(tensor, names))

        value = self.sizes.evaluate(node, known, shape_read)
        return None if value is _UNKNOWN else _Static(value)

    def returned(self, method: cst.FunctionDef, parameter: str, input_shape: tuple) -> tuple | None:
        names: dict[str, tuple | None] = {parameter: input_shape}
        for statement in _body(method):
            if is_docstring(statement):
                continue
            if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
                return None
            small = statement.body[0]
            if isinstance(small, cst.Return):
                return self.shape(small.value, names) if small.value is not None else None
            if isinstance(small, cst.Expr):
                continue  # self.add_loss(...): no name bound
            if (
                isinstance(small, cst.Assign)
                and len(small.targets) == 1
                and isinstance(small.targets[0].target, cst.Name)
            ):
                names[small.targets[0].target.value] = self.static(small.value, names) or self.shape(small.value, names)
                continue
            if (
                isinstance(small, cst.AugAssign)
                and isinstance(small.target, cst.Name)
                and small.target.value in names
                and type(small.operator) in _BINARY_OF_AUGMENTED
            ):
                # `x -= K.mean(x, axis=1, keepdims=True)`: the operator's broadcast of the two
                target = small.target.value
                operation = cst.BinaryOperation(small.target, _BINARY_OF_AUGMENTED[type(small.operator)](), small.value)
                names[target] = self.shape(operation, names)
                continue
            return None
        return None

    def shape(self, node: cst.BaseExpression, names: dict[str, tuple | None]) -> tuple | None:
        if isinstance(node, (cst.Integer, cst.Float)):
            return ()
        if isinstance(node, cst.Name):
            value = names.get(node.value)
            if isinstance(value, _Static):
                return () if value.is_number else None  # a number broadcasts as a scalar; a shape is no tensor
            return value
        if isinstance(node, cst.Attribute):
            held = self.attributes.get(_code(node))
            return () if held is None and self._holds_number(node) else held
        if isinstance(node, cst.UnaryOperation):
            return self.shape(node.expression, names)
        if isinstance(node, cst.Subscript):
            return _sliced(self.shape(node.value, names), node.slice)
        if isinstance(node, cst.BinaryOperation):
            left, right = self.shape(node.left, names), self.shape(node.right, names)
            if isinstance(node.operator, cst.MatrixMultiply):
                return _matmul(left, right)
            return _broadcast(left, right)
        if isinstance(node, cst.Call):
            return self._call(node, names)
        return None

    def _holds_number(self, node: cst.Attribute) -> bool:
        """``self.factor`` set in __init__ to a number, or to a parameter the use gives one (or leaves at one): a
        scalar, which broadcasts."""
        if self.sizes is None or not (isinstance(node.value, cst.Name) and node.value.value == "self"):
            return False
        held = self.sizes.parts.attributes.get(node.attr.value)
        if isinstance(held, cst.Name):
            given = self.sizes.arguments.get(held.value)
            value = (
                (given.literal if given.is_literal else ...)
                if given is not None
                else _literal(self.sizes.defaults.get(held.value), default=...)
            )
        else:
            value = _literal(held, default=...)
        return isinstance(value, (int, float)) and not isinstance(value, bool)

    def _call(self, node: cst.Call, names: dict[str, tuple | None]) -> tuple | None:
        if self.super_call is not None and is_super_method(node, "call"):
            return self.super_call(self, node, names)
        if _code(node.func) in self.elementwise and len(node.args) == 1 and node.args[0].keyword is None:
            return self.shape(node.args[0].value, names)
        name = self.keras_name(node.func)
        positional = [arg.value for arg in node.args if arg.keyword is None and not arg.star]
        keywords = {arg.keyword.value: arg.value for arg in node.args if arg.keyword is not None}
        if name in RANDOM_DRAWS:  # keras.random.normal(shape=ops.shape(x)): x's shape
            shape = shape_argument(node)
            return read_shape(shape, self.keras_name, lambda x: self.shape(x, names)) if shape is not None else None
        if name in ("keras.ops.reshape", "tensorflow.reshape"):
            keras_keywords = {
                _TF_RESHAPE_KEYWORDS.get(key, key): value for key, value in keywords.items()
            }  # tf.reshape(tensor=, shape=)
            return self._reshape(positional, keras_keywords, names)
        if name == "keras.ops.image.extract_patches":
            return self._patches(positional, keywords, names)
        if name == "tensorflow.image.extract_patches":
            return self._tf_patches(positional, keywords, names)
        if name in _CONCATENATE:
            return self._concatenated(name, positional, keywords, names)
        if name in _MATMUL and len(positional) == 2 and not keywords:
            return _matmul(self.shape(positional[0], names), self.shape(positional[1], names))
        if name in _SHAPE_KEEPING:
            tensors = [
                arg.value for arg in node.args if arg.keyword is None or arg.keyword.value in ("x", "y", "x1", "x2")
            ]
            result: tuple | None = ()
            for tensor in tensors:
                result = _broadcast(result, self.shape(tensor, names))
            return result
        if name in _REDUCTIONS or name in _SQUEEZE or name in _EXPAND:
            if not positional:
                return None
            tensor = self.shape(positional[0], names)
            axis = _literal(positional[1] if len(positional) > 1 else keywords.get("axis"))
            if tensor is None or not isinstance(axis, int) or isinstance(axis, bool):
                return None
            if name in _EXPAND:
                index = axis if axis >= 0 else len(tensor) + 1 + axis
                return (*tensor[:index], 1, *tensor[index:]) if 0 < index <= len(tensor) else None
            index = axis % len(tensor) if -len(tensor) <= axis < len(tensor) else None
            if index is None or index == 0:
                return None  # the batch axis: no shape per sample
            keepdims = _literal(positional[2] if len(positional) > 2 else keywords.get("keepdims"), default=False)
            if name in _SQUEEZE:
                return (*tensor[:index], *tensor[index + 1 :]) if tensor[index] == 1 else None
            if keepdims is True:
                return (*tensor[:index], 1, *tensor[index + 1 :])
            return (*tensor[:index], *tensor[index + 1 :]) if keepdims is False else None
        return None

    def _concatenated(self, name: str, positional: list, keywords: dict, names: dict) -> tuple | None:
        """``ops.concatenate([a, b], axis=-1)``: the sizes along the axis added, the others the same."""
        tensors_key, default_axis = _CONCATENATE[name]
        given = dict(zip((tensors_key, "axis"), positional)) | keywords
        listed = given.get(tensors_key)
        axis = _literal(given.get("axis"), default=default_axis)
        if not isinstance(listed, (cst.List, cst.Tuple)) or not listed.elements:
            return None
        shapes = [self.shape(element.value, names) for element in listed.elements]
        if any(shape is None or not shape for shape in shapes) or len({len(shape) for shape in shapes}) != 1:
            return None
        rank = len(shapes[0])
        if not isinstance(axis, int) or isinstance(axis, bool) or not -rank <= axis < rank or axis % rank == 0:
            return None  # the batch axis: no shape per sample
        index = axis % rank
        if any(shape[:index] + shape[index + 1 :] != shapes[0][:index] + shapes[0][index + 1 :] for shape in shapes):
            return None
        total: object = shapes[0][index]
        try:
            for shape in shapes[1:]:
                total = _arithmetic(total, cst.Add(), shape[index])
        except TypeError:
            return None  # an open size
        return (*shapes[0][:index], total, *shapes[0][index + 1 :])

    def _reshape(self, positional: list, keywords: dict, names: dict) -> tuple | None:
        """keras.ops.reshape as Keras's symbolic call shapes it (operation_utils.compute_reshape_output_shape): the
        new shape as given, a -1 open (None) since the input's batch is; batch first when its first size is None."""
        arguments = [*positional, *(keywords[key] for key in ("x", "newshape", "new_shape") if key in keywords)]
        if len(arguments) != 2 or self.shape(arguments[0], names) is None:
            return None
        given = self.static(arguments[1], names)
        if given is None or not isinstance(given.value, tuple) or not given.value or given.value[0] not in (None, -1):
            return None  # not batch first: the shapes k2t follows are
        if not all(
            size is None or isinstance(size, str) or isinstance(size, int) and (size > 0 or size == -1)
            for size in given.value
        ):
            return None
        return tuple(None if size == -1 else size for size in given.value)

    def _patches(self, positional: list, keywords: dict, names: dict) -> tuple | None:
        """keras.ops.image.extract_patches on a batch of channels-last images, valid padding: Keras's convolution
        shape, ``(n - size) // stride + 1`` patches along each axis of ``size * size * channels`` values."""
        order = ("images", "size", "strides", "dilation_rate", "padding", "data_format")
        given = dict(zip(order, positional)) | keywords
        images = self.shape(given["images"], names) if "images" in given else None
        if images is None or len(images) != 4 or "size" not in given:
            return None
        if (
            _literal(given.get("dilation_rate"), default=1) != 1
            or _literal(given.get("padding"), default="valid") != "valid"
        ):
            return None
        if _literal(given.get("data_format"), default=None) not in (None, "channels_last"):
            return None
        size = self._pair(given["size"], names)
        strides = size if _literal(given.get("strides"), default=None) is None else self._pair(given["strides"], names)
        if size is None or strides is None:
            return None
        try:
            counts = [
                _arithmetic(
                    _arithmetic(
                        _arithmetic(images[axis], cst.Subtract(), size[axis - 1]), cst.FloorDivide(), strides[axis - 1]
                    ),
                    cst.Add(),
                    1,
                )
                for axis in (1, 2)
            ]
            values = _arithmetic(_arithmetic(size[0], cst.Multiply(), size[1]), cst.Multiply(), images[3])
        except TypeError:
            return None  # an open size: Keras's shape has None there
        return (images[0], *counts, values)

    def _tf_patches(self, positional: list, keywords: dict, names: dict) -> tuple | None:
        """tf.image.extract_patches(images, sizes=[1, h, w, 1], strides=[1, sh, sw, 1], rates=[1, 1, 1, 1],
        padding="VALID"): Keras's op's shape, its window the middle entries (SAME: ``ceil(n / stride)`` patches)."""
        order = ("images", "sizes", "strides", "rates", "padding")
        given = dict(zip(order, positional)) | keywords
        if any(key not in given for key in order) or _literal(given["padding"]) not in ("VALID", "SAME"):
            return None
        if self._window(given["rates"], names) != (1, 1):
            return None
        images, size, strides = (
            self.shape(given["images"], names),
            self._window(given["sizes"], names),
            self._window(given["strides"], names),
        )
        if images is None or len(images) != 4 or size is None or strides is None:
            return None
        try:
            if _literal(given["padding"]) == "SAME":  # TensorFlow pads to ceil(n / stride) windows
                counts = [
                    _arithmetic(
                        _arithmetic(_arithmetic(images[axis], cst.Add(), strides[axis - 1]), cst.Subtract(), 1),
                        cst.FloorDivide(),
                        strides[axis - 1],
                    )
                    for axis in (1, 2)
                ]
            else:
                counts = [
                    _arithmetic(
                        _arithmetic(
                            _arithmetic(images[axis], cst.Subtract(), size[axis - 1]),
                            cst.FloorDivide(),
                            strides[axis - 1],
                        ),
                        cst.Add(),
                        1,
                    )
                    for axis in (1, 2)
                ]
            values = _arithmetic(_arithmetic(size[0], cst.Multiply(), size[1]), cst.Multiply(), images[3])
        except TypeError:
            return None  # an open size: Keras's shape has None there
        return (images[0], *counts, values)

    def _window(self, node: cst.BaseExpression, names: dict) -> tuple | None:
        """tf.image's ``[1, h, w, 1]`` as the pair (h, w); None where an end is not 1 or a size not known."""
        if not isinstance(node, (cst.List, cst.Tuple)) or len(node.elements) != 4:
            return None
        values = [self.static(element.value, names) for element in node.elements]
        if any(value is None or not value.is_number for value in values) or (values[0].value, values[3].value) != (
            1,
            1,
        ):
            return None
        return (values[1].value, values[2].value)

    def _pair(self, node: cst.BaseExpression, names: dict) -> tuple | None:
        """An int or an (h, w) pair of sizes, as the pair."""
        value = self.static(node, names)
        if value is None:
            return None
        if value.is_number and value.value is not None:
            return (value.value, value.value)
        pair = value.value
        return (
            pair
            if isinstance(pair, tuple) and len(pair) == 2 and all(isinstance(v, (int, str)) for v in pair)
            else None
        )


@dataclass(frozen=True)
class _Static:
    """A Python value of call() (not a tensor): a size (an int, a size code, None for the batch) or a tuple of them."""

    value: object

    @property
    def is_number(self) -> bool:
        return not isinstance(self.value, tuple)


# Concatenation ops: their list's parameter and the axis they default to.
_CONCATENATE = {
    "keras.ops.concatenate": ("xs", 0),
    "tensorflow.concat": ("values", None),
    "keras.backend.concatenate": ("tensors", -1),
}


def _sliced(shape: tuple | None, items: Sequence[cst.SubscriptElement]) -> tuple | None:
    """``t[:, 0]``, ``t[:, 1:3]``, ``t[..., -1]``, ``t[:, None]``: NumPy's basic indexing with literal numbers, which
    keeps the batch axis whole (a size cut from a size k2t knows only as code is not followed)."""
    if shape is None or not shape:
        return None
    indexes: list[object] = []
    for item in items:
        index = item.slice
        if isinstance(index, cst.Index):
            value = _literal(index.value)
            if isinstance(index.value, cst.Ellipsis):
                value = Ellipsis
            if not (value is None or value is Ellipsis or isinstance(value, int) and not isinstance(value, bool)):
                return None
            indexes.append(value)
        else:
            bounds = [_literal(part) for part in (index.lower, index.upper, index.step)]
            if not all(bound is None or isinstance(bound, int) and not isinstance(bound, bool) for bound in bounds):
                return None
            if bounds[2] is not None and bounds[2] <= 0:
                return None  # torch has no negative step
            indexes.append(slice(*bounds))
    if indexes.count(Ellipsis) > 1:
        return None
    used = sum(1 for index in indexes if index is not None and index is not Ellipsis)
    if used > len(shape):
        return None
    if Ellipsis in indexes:
        at = indexes.index(Ellipsis)
        indexes[at : at + 1] = [slice(None)] * (len(shape) - used)
    indexes += [slice(None)] * (len(shape) - sum(1 for index in indexes if index is not None))
    result: list[object] = []
    axis = 0
    for index in indexes:
        if index is None:
            result.append(1)
            continue
        size = shape[axis]
        if axis == 0 and index != slice(None):
            return None  # a cut of the batch: no shape per sample
        if isinstance(index, int):
            if isinstance(size, int) and not -size <= index < size:
                return None
        elif index == slice(None):
            result.append(size)
        elif isinstance(size, int):
            result.append(len(range(*index.indices(size))))
        else:
            return None
        axis += 1
    return tuple(result)


def _broadcast(left: tuple | None, right: tuple | None) -> tuple | None:
    """NumPy broadcasting of two shapes, where k2t can tell the sizes agree."""
    if left is None or right is None:
        return None
    rank = max(len(left), len(right))
    left, right = (_NONE_PAD,) * (rank - len(left)) + left, (_NONE_PAD,) * (rank - len(right)) + right
    result = []
    for a, b in zip(left, right):
        if a is _NONE_PAD or a == 1 and b is not _NONE_PAD:
            result.append(b)
        elif b is _NONE_PAD or b == 1 or a == b:
            result.append(a)
        else:
            return None
    return tuple(result)


_NONE_PAD: object = object()  # a missing leading axis in broadcasting


def _matmul(left: tuple | None, right: tuple | None) -> tuple | None:
    """x @ w with a 2-D w (K.dot's and matmul's common case): the last axis of x becomes w's last."""
    if left is None or right is None or len(right) != 2 or len(left) < 2:
        return None
    if left[-1] != right[0]:
        return None
    return (*left[:-1], right[1])


def _literal(node: cst.BaseExpression | None, default: object = None) -> object:
    if node is None:
        return default
    try:
        return ast.literal_eval(_code(node).strip())
    except (ValueError, SyntaxError):
        return ...


# ----------------------------------------------------------------------------------------- the class, rewritten
def rewrite_layer_classes(
    script: KerasScript,
    classes: list[LayerClass],
    calls: dict[int, str],
    statements: dict[int, list[str]],
    expressions: dict[int, str],
    todos: list[Todo],
) -> None:
    """Rewrite each custom layer class the translated models use (once), into the plan's tables: calls and
    expressions (ScriptPlan.calls / .expressions, by id() of the original node), statements (ScriptPlan.statements),
    and ``todos``, in place of the parser's notes on the Keras names of the class."""
    keras_name = import_names(script.metadata)
    positions = script.metadata.resolve(PositionProvider)
    superseded: list[tuple[tuple[int, int], tuple[int, int]]] = []  # (start, end) ranges whose parser notes go
    found: list[Todo] = _unused_classes(script, with_parents(classes))
    for layer_class in with_parents(classes):
        parts = class_parts(layer_class)
        methods = own_methods(layer_class)  # a parent's methods are rewritten in the parent
        sublayers = translated_sublayers(layer_class)
        if sublayers is not None:
            statements.update((key, constructed.lines()) for key, constructed in sublayers.statements.items())
        subclassed = translated_subclass(layer_class) if layer_class.keras_base is not None else None
        if subclassed is not None:
            expressions[id(layer_class.base)] = subclassed.base  # class ClippedDense(nn.Linear)
            superseded.append(_range(positions, layer_class.base))
        elif layer_class.parent is None:
            expressions[id(layer_class.base)] = "nn.Module"
        added, problems = add_loss_rewrites(methods)  # self.add_loss(t) -> self.losses.append(t)
        seeds = unused_seed_generators(methods, keras_name)  # read only as seed=, which torch's draws drop
        statements.update((id(statement), []) for statement in seeds)
        calls.update(added)
        found.extend(Todo(node, error.code, error.message, _pos_of(positions, node)) for node, error in problems)
        for decorator in layer_class.node.decorators:
            if keras_name(
                decorator.decorator.func if isinstance(decorator.decorator, cst.Call) else decorator.decorator
            ):
                expressions[id(decorator)] = ""  # @keras.saving.register_keras_serializable(): Keras's saving
                superseded.append(_range(positions, decorator))
        for statement in parts.input_specs:
            statements[id(statement)] = []  # Keras's check of the input's shape: the model's shapes satisfy it
            superseded.append(_range(positions, statement))
        getters = [_range(positions, statement) for statement in _getter_attributes(parts).values()]
        for statement in _getter_attributes(parts).values():
            statements[id(statement)] = []  # read only by add_weight, whose lines use the value
        superseded.extend(getters)
        for name, method in methods.items():
            if name in _KERAS_ONLY_METHODS:
                statements[id(method)] = []
                superseded.append(_range(positions, method))
                continue
            if name == "call":
                expressions[id(method.name)] = "forward"
            compiled = []
            for decorator in method.decorators:
                target = decorator.decorator.func if isinstance(decorator.decorator, cst.Call) else decorator.decorator
                if keras_name(target) == "tensorflow.function":
                    expressions[id(decorator)] = ""  # @tf.function: TensorFlow's graph compilation; torch runs eagerly
                    compiled.append(_range(positions, decorator))
            superseded.extend(compiled)
            sublayer_calls = _sublayer_calls(sublayers) if sublayers is not None and name == "call" else None
            if name == "call" and subclassed is not None:
                refused: list = []
                sublayer_calls = super_call_rewrite(layer_class, method, refused)
            elif layer_class.parent is not None:
                _forward_of_parent(method, expressions)  # super().call(x) -> super().forward(x)
            other_calls = (
                _both(sublayer_calls, _activation_calls(layer_class, keras_name))
                if name == "__init__"
                else sublayer_calls
            )
            rewrite = rewrite_ops(
                method, keras_name, device=_input_device(method) if name == "call" else None, calls=other_calls
            )
            calls.update(rewrite.replacements)
            superseded.extend(_range(positions, node) for node in rewrite.handled)
            # An add_weight statement is replaced as a whole (its initializer and regularizer are no ops), and so
            # is a sublayer's (its torch constructor, k2t.translate.sublayers).
            replaced = (
                [_range(positions, weight.statement) for weight in parts.weights]
                + [_range(positions, s) for s in seeds]
                + [_range(positions, s) for s in parts.input_specs]
                + getters
                + compiled
            )
            if sublayers is not None:
                replaced += [_range(positions, statement) for statement in _sublayer_statements(parts, sublayers)]
                superseded += replaced
            problems = [p for p in rewrite.problems if not _inside(_pos_of(positions, p.node), replaced)]
            found.extend(Todo(p.node, p.error.code, p.error.message, _pos_of(positions, p.node)) for p in problems)
            if name == "call" and subclassed is not None:
                found.extend(Todo(node, error.code, error.message, _pos_of(positions, node)) for node, error in refused)
            _rewrite_super_calls(method, calls, statements)
            updates = _variable_updates(method, {weight.attr for weight in parts.weights})
            expressions.update(updates)
            handled = set(updates) | set(rewrite.replacements) | set(added)
            for node in _layer_only_calls(method, handled, replaced, positions):
                message = f"custom layer {layer_class.name}: `{_code(node.func)}(...)` is Keras's layer API here; k2t does not translate it"
                found.append(Todo(node, "K2T100", message, _pos_of(positions, node)))
        for weight in parts.weights:
            if weight.method not in methods:
                continue  # made by the parent's method, rewritten there
            try:
                statements[id(weight.statement)] = _weight_lines(parts, weight, keras_name)
            except Unsupported as exc:
                found.append(Todo(weight.statement, exc.code, exc.message, exc.pos or _pos_of(positions, weight.call)))
    todos[:] = [t for t in todos if not (t.code in _OP_CODES and _inside(t.pos, superseded))] + found


def _unused_classes(script: KerasScript, used: list[LayerClass]) -> list[Todo]:
    """A layer class of the script that nothing reads (no model builds it, no code names it): kept as written, which
    the notes on its Keras names say; one more says why (k2t sizes a class's torch port from the uses it has)."""
    rewritten = {id(layer_class) for layer_class in used}
    candidates = {  # a class with a call() to port (a bare `class Base(Layer): pass` is noted where its base is)
        layer_class.name: layer_class
        for layer_class in script.layer_classes.values()
        if id(layer_class) not in rewritten and "call" in class_parts(layer_class).methods
    }
    if not candidates:
        return []
    read: set[str] = set()

    class Reads(Visitor):
        def visit_ClassDef(self, node: cst.ClassDef) -> bool:
            for base in node.bases:
                base.visit(self)
            if node.name.value in candidates:
                return False  # its own body (super(Cls, self)) is no use of it
            node.body.visit(self)
            return False

        def visit_Name(self, node: cst.Name) -> None:
            read.add(node.value)

    script.module.visit(Reads())
    message = "custom layer {}: no model of the script builds it, and k2t ports a layer class where a model does (its sizes come from there): it stays as written"
    return [
        Todo(layer_class.node, "K2T100", message.format(name), layer_class.pos)
        for name, layer_class in candidates.items()
        if name not in read
    ]


def with_parents(classes: list[LayerClass]) -> list[LayerClass]:
    """The classes, each once, and the script's layer classes they subclass (rewritten even where no model uses them
    but through their subclasses)."""
    found: dict[int, LayerClass] = {}
    for layer_class in classes:
        while layer_class is not None:
            found.setdefault(id(layer_class), layer_class)
            layer_class = layer_class.parent
    return list(found.values())


def _forward_of_parent(method: cst.FunctionDef, expressions: dict[int, str]) -> None:
    """``super().call(x)`` in a subclass of the script's layer class: the parent's torch module calls it forward."""

    class Finder(Visitor):
        def visit_Call(self, node: cst.Call) -> None:
            if is_super_method(node, "call"):
                expressions[id(node.func)] = f"{_code(node.func.value)}.forward"

    method.visit(Finder())


def _sublayer_statements(parts: LayerClassParts, sublayers: Sublayers) -> list[cst.CSTNode]:
    init = parts.methods.get("__init__")
    return [
        statement for statement in (_body(init) if init is not None else []) if id(statement) in sublayers.statements
    ]


def _sublayer_calls(sublayers: Sublayers) -> CallRewrite:
    """The class's calls of its sublayers in torch: the converter's form over the arguments as rewritten."""

    def rewrite(original: cst.Call, updated: cst.Call) -> str | None:
        call = sublayers.calls.get(id(original))
        if call is None or call.as_written:
            return None
        tensors = [arg.value for arg in updated.args if arg.keyword is None or arg.keyword.value not in call.dropped]
        return call.template.format(*(_code(tensor).strip() for tensor in tensors))

    return rewrite


def _rewrite_super_calls(method: cst.FunctionDef, calls: dict[int, str], statements: dict[int, list[str]]) -> None:
    """``super().__init__(**kwargs)`` -> ``super().__init__()``; ``super().build(input_shape)`` goes."""
    for statement in _body(method):
        if (
            not isinstance(statement, cst.SimpleStatementLine)
            or len(statement.body) != 1
            or not isinstance(statement.body[0], cst.Expr)
        ):
            continue
        call = statement.body[0].value
        if not (
            isinstance(call, cst.Call)
            and isinstance(call.func, cst.Attribute)
            and isinstance(call.func.value, cst.Call)
        ):
            continue
        if not (isinstance(call.func.value.func, cst.Name) and call.func.value.func.value == "super"):
            continue
        if call.func.attr.value == "__init__":
            calls[id(call)] = f"{_code(call.func)}()"  # nn.Module takes none of Keras's layer keywords
        elif call.func.attr.value == "build":
            statements[id(statement)] = []  # Keras's Layer.build only marks the layer built


# Keras 2's way of holding a layer's initializer, regularizer and constraint in __init__ (the Kaggle attention layer:
# `self.init = initializers.get("glorot_uniform")`, `self.W_regularizer = regularizers.get(W_regularizer)`).
_GETTERS = frozenset({"keras.initializers.get", "keras.regularizers.get", "keras.constraints.get"})


def _resolved(
    parts: LayerClassParts, node: cst.BaseExpression | None, follow_parameters: bool = True
) -> cst.BaseExpression | None:
    """An add_weight argument as the value it holds: ``self.init`` -> what __init__ assigns it, a getter's
    argument (``initializers.get("glorot_uniform")`` -> ``"glorot_uniform"``), an __init__ parameter -> its default."""
    keras_name = import_names(parts.layer_class.script.metadata)
    for _ in range(4):
        if (
            isinstance(node, cst.Attribute)
            and isinstance(node.value, cst.Name)
            and node.value.value == "self"
            and node.attr.value in parts.attributes
        ):
            node = parts.attributes[node.attr.value]
        elif (
            isinstance(node, cst.Call)
            and keras_name(node.func) in _GETTERS
            and len(node.args) == 1
            and node.args[0].keyword is None
        ):
            node = node.args[0].value
        elif (
            follow_parameters
            and isinstance(node, cst.Name)
            and (param := _init_param(parts, node.value)) is not None
            and param.default is not None
        ):
            node = param.default
        else:
            break
    return node


def _init_param(parts: LayerClassParts, name: str) -> cst.Param | None:
    return next((param for param in parts.init_params if param.name.value == name), None)


def _getter_attributes(parts: LayerClassParts) -> dict[str, cst.CSTNode]:
    """``self.W_regularizer = regularizers.get(W_regularizer)`` in __init__: attribute -> its statement, for the
    attributes only add_weight's arguments read (their statements go: the weights' lines use the values)."""
    keras_name = import_names(parts.layer_class.script.metadata)
    init = parts.methods.get("__init__")
    found: dict[str, cst.CSTNode] = {}
    for statement in _body(init) if init is not None else ():
        assigned = _self_assignment(statement)
        if assigned is not None and isinstance(assigned[1], cst.Call) and keras_name(assigned[1].func) in _GETTERS:
            found[assigned[0]] = statement
    if not found:
        return found
    weight_arguments = {id(node) for weight in parts.weights for node in weight.arguments.values()}
    reads: set[str] = set()

    class Reads(Visitor):
        def visit_Attribute(self, node: cst.Attribute) -> bool:
            if isinstance(node.value, cst.Name) and node.value.value == "self" and id(node) not in weight_arguments:
                reads.add(node.attr.value)
            return True

        def visit_AssignTarget(self, node: cst.AssignTarget) -> bool:
            return False  # `self.init = ...` writes it

    for method in parts.methods.values():
        method.visit(Reads())
    return {attr: statement for attr, statement in found.items() if attr not in reads}


def _weight_lines(
    parts: LayerClassParts, weight: Weight, keras_name: KerasName, tensor: str | None = None
) -> list[str]:
    """``self.w = self.add_weight(...)`` as an nn.Parameter of that shape, initialised as Keras does; a list of them
    (``[self.add_weight(...) for i in range(2)]``) as an nn.ParameterList, each initialised in turn."""
    if weight.listed is not None and tensor is None:
        lines = _weight_lines(parts, weight, keras_name, "weight")
        made, _, comment = lines[0].partition("  # ")
        clause = weight.listed.for_in
        listed = (
            f"self.{weight.attr} = nn.ParameterList([{made.removeprefix('weight = ')} "
            f"for {_code(clause.target)} in {_code(clause.iter).strip()}])" + (f"  # {comment}" if comment else "")
        )
        if len(lines) == 1:
            return [listed]
        body = "\n".join(f"    {line}" for line in lines[1:])
        return [listed, f"for weight in self.{weight.attr}:\n{body}"]
    script = parts.layer_class.script
    arguments = {key: _resolved(parts, node) for key, node in weight.arguments.items()}
    constraint_node = arguments.pop("constraint", None)
    constraint = plan_constraint(_value(constraint_node, script)) if constraint_node is not None else None
    shape_node = arguments["shape"]
    rewrite = rewrite_ops(shape_node, keras_name)
    if rewrite.problems:
        problem = rewrite.problems[0]
        raise Unsupported(problem.error.code, problem.error.message, _pos(script, problem.node))
    shape = _code(apply_rewrite(shape_node, rewrite)).strip()
    dims = _shape_elements(shape_node, rewrite)
    tensor = tensor or f"self.{weight.attr}"
    trainable = _literal(arguments.get("trainable"), default=True)
    if not isinstance(trainable, bool):
        raise Unsupported(
            "K2T102", "add_weight(trainable=...) must be True or False", _pos(script, arguments["trainable"])
        )
    dtype = _literal(arguments.get("dtype"), default=None)
    if dtype not in (None, "float32"):
        raise Unsupported(
            "K2T102",
            f"add_weight(dtype={dtype!r}) is not translated (k2t makes float32 weights)",
            _pos(script, arguments["dtype"]),
        )
    name = _literal(arguments.get("name"), default=None)
    initializer = arguments.get("initializer")
    what = f"Keras add_weight {name!r}" if isinstance(name, str) else "Keras add_weight"
    default = "glorot_uniform"  # Keras 3's add_weight default for a float weight (keras/src/layers/layer.py)
    chosen = _literal(initializer, default=default) if initializer is not None else default
    comment = f"# {what}, {chosen if isinstance(chosen, str) else _code(initializer).strip()}{'' if trainable else ', not trained'}"
    lines = [f"{tensor} = nn.Parameter(torch.empty({shape}){'' if trainable else ', requires_grad=False'})  {comment}"]
    fan_in, fan_out = _keras_fans(dims)
    torch_fans = dims is not None and len(dims) == 2 and chosen == "glorot_uniform"  # xavier's fans are symmetric
    value = _value(initializer, script) if initializer is not None else None
    if dims is None and _needs_fans(value):
        raise Unsupported(
            "K2T111", f"{what}: k2t computes Keras's fans from a shape written as a tuple", _pos(script, shape_node)
        )
    constant = _constant_of_attribute(value)
    if constant is not None:
        # Constant(self.init_value): the attribute __init__ sets (from its argument) holds the value in torch too
        lines.append(f"nn.init.constant_({tensor}, {constant})")
    else:
        lines.extend(initializer_lines(value, default, tensor, fan_in, fan_out, torch_fans=torch_fans))
    if constraint is not None:
        lines.append(f"{tensor}.constraint = {constraint.code}  # Keras applies it after each optimizer step")
    return _comments_trailing(lines)


def _constant_of_attribute(value: Value | None) -> str | None:
    """``keras.initializers.Constant(self.init_value)`` (or ``constant``): the attribute's code, which build() reads
    as Keras's does; None for any other initializer (a literal value included: initializer_lines writes it)."""
    call = value.keras_call if value is not None else None
    if call is None or call.name not in ("keras.initializers.Constant", "keras.initializers.constant"):
        return None
    given = call.arg(0, "value")
    if given is None or given.is_literal or len(call.args) + len(call.kwargs) != 1:
        return None
    code = given.code.strip()
    return code if re.fullmatch(r"self\.\w+", code) else None


def _comments_trailing(lines: list[str]) -> list[str]:
    """A comment line goes to the end of the line after it: the emitter replaces a statement by statements."""
    result: list[str] = []
    pending = ""
    for line in lines:
        if line.startswith("#"):
            pending = line
            continue
        result.append(f"{line}  {pending}" if pending else line)
        pending = ""
    return result


def _shape_elements(node: cst.BaseExpression, rewrite: OpRewrite) -> list[str] | None:
    if not isinstance(node, (cst.Tuple, cst.List)) or not all(isinstance(e, cst.Element) for e in node.elements):
        return None
    return [_code(apply_rewrite(e.value, rewrite)).strip() for e in node.elements]


def _keras_fans(dims: list[str] | None) -> tuple[str, str]:
    """Keras's fans of a weight (keras/src/initializers/random_initializers.py compute_fans): its last two axes,
    times the product of the others (a conv kernel's receptive field)."""
    if dims is None:
        return "1", "1"
    if not dims:
        return "1", "1"
    if len(dims) == 1:
        return dims[0], dims[0]
    if len(dims) == 2:
        return dims[0], dims[1]
    receptive = " * ".join(dims[:-2])
    return f"{dims[-2]} * {receptive}", f"{dims[-1]} * {receptive}"


def _needs_fans(value: Value | None) -> bool:
    if value is None:
        return True
    text = value.code.lower()
    return any(word in text for word in ("glorot", "he_", "lecun", "variance", "henormal", "heuniform"))


def _value(node: cst.BaseExpression, script: KerasScript) -> Value:
    """A Value for an argument in the class's body, as the parser would make it (literal, Keras name or call)."""
    keras_name = import_names(script.metadata)
    code = _code(node).strip()
    pos = _pos(script, node)
    literal = _literal(node, default=None)
    if literal is not ...:
        return Value(code, pos, literal=literal)
    if isinstance(node, cst.Call):
        name = keras_name(node.func)
        if name is not None:
            args = tuple(_value(arg.value, script) for arg in node.args if arg.keyword is None)
            kwargs = tuple(
                (arg.keyword.value, _value(arg.value, script)) for arg in node.args if arg.keyword is not None
            )
            return Value(code, pos, keras_call=KerasCall(name, args, kwargs, pos))
    name = keras_name(node)
    return Value(code, pos, keras_ref=name) if name is not None else Value(code, pos)


# ----------------------------------------------------------------------------------------- positions
def _pos(script: KerasScript, node: cst.CSTNode) -> tuple[int, int]:
    return _pos_of(script.metadata.resolve(PositionProvider), node)


def _pos_of(positions, node: cst.CSTNode) -> tuple[int, int]:
    start = positions[node].start
    return (start.line, start.column + 1)


def _range(positions, node: cst.CSTNode) -> tuple[tuple[int, int], tuple[int, int]]:
    where = positions[node]
    return (where.start.line, where.start.column + 1), (where.end.line, where.end.column + 1)


def _inside(pos: tuple[int, int] | None, ranges: list[tuple[tuple[int, int], tuple[int, int]]]) -> bool:
    return pos is not None and any(start <= pos <= end for start, end in ranges)


_EMPTY = cst.Module(body=[])


def _code(node: cst.CSTNode) -> str:
    return _EMPTY.code_for_node(node)


def _input_device(method: cst.FunctionDef) -> str | None:
    """``inputs.device`` for ``def call(self, inputs, ...)``: where forward's tensors made from nothing go
    (``inputs[0].device`` where call() unpacks or indexes a list of tensors)."""
    params = [p.name.value for p in method.params.params]
    if len(params) < 2:
        return None
    return f"{params[1]}[0].device" if takes_list(method, params[1]) else f"{params[1]}.device"


def takes_list(method: cst.FunctionDef, parameter: str) -> bool:
    """Whether the method unpacks (``a, b = inputs``) or indexes (``inputs[0]``) its parameter: a list of tensors.
    A tensor indexed (``inputs[:, 0]``) counts too, harmlessly: its ``[0]`` is on its device."""
    found = False

    class Finder(Visitor):
        def visit_Assign(self, node: cst.Assign) -> None:
            nonlocal found
            unpacked = any(isinstance(t.target, (cst.Tuple, cst.List)) for t in node.targets)
            found = found or unpacked and isinstance(node.value, cst.Name) and node.value.value == parameter

        def visit_Subscript(self, node: cst.Subscript) -> None:
            nonlocal found
            found = found or isinstance(node.value, cst.Name) and node.value.value == parameter

    method.body.visit(Finder())
    return found
