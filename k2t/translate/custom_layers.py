"""Custom layers: ``class Attention(keras.layers.Layer)`` of the script, ported to an ``nn.Module``.

The class stays where the script defines it, rewritten as a PyTorch author would port it:

- its base becomes ``nn.Module``; ``super().__init__(**kwargs)`` becomes ``super().__init__()`` (name=,
  dtype= and Keras's other layer keywords are dropped where the model builds it);
- ``self.w = self.add_weight(name=, shape=, initializer=, trainable=, regularizer=)`` in ``build`` (or
  ``__init__``) becomes an ``nn.Parameter`` of that shape, initialised as Keras initialises it (Keras 3's
  default is glorot_uniform for a float weight); ``super().build(input_shape)`` goes;
- ``call`` becomes ``forward``, its body (and every other method's) rewritten through the op vocabulary;
- ``get_config``, ``from_config``, ``compute_output_shape`` and ``@register_keras_serializable``
  serve Keras's saving and shape inference only: they go.

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
import math
import re
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import libcst as cst
from libcst.metadata import PositionProvider

from ..diagnostics import Unsupported
from ..ir import KerasCall, KerasScript, LayerClass, Todo, Value
from ..ops import OpError, translate_op
from ..parse.syntax import is_docstring
from .added_losses import add_loss_rewrites, added_total, adds_losses, clear_line
from .dims import Dim, Size
from .initializers import initializer_lines
from .lambda_layer import _REDUCTIONS, _SHAPE_KEEPING, _later_layer_needing_shape
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


@dataclass
class LayerClassParts:
    """What the converter and the class rewrite read of a custom layer class."""

    layer_class: LayerClass
    methods: dict[str, cst.FunctionDef]
    init_params: list[cst.Param]  # __init__'s parameters after self
    init_kwargs: bool  # __init__ takes **kwargs (Keras's layer keywords go there)
    attributes: dict[str, cst.BaseExpression]  # `self.units = units` in __init__
    weights: list[Weight] = field(default_factory=list)  # in creation order (__init__, then build)
    sublayers: list[tuple[str, cst.Call]] = field(default_factory=list)  # `self.dense = layers.Dense(8)` in __init__
    # `self.features_dim = input_shape[-1]` in build: what the attribute holds once Keras has built the layer
    built_attributes: dict[str, cst.BaseExpression] = field(default_factory=dict)

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

        class Reads(cst.CSTVisitor):
            def visit_Name(self, node: cst.Name) -> None:
                nonlocal found
                found = found or node.value == "training"

            def visit_Arg(self, node: cst.Arg) -> bool:
                node.value.visit(self)  # `f(training=...)`: the keyword is no read
                return False

        call.body.visit(Reads())
        return found


def class_parts(layer_class: LayerClass) -> LayerClassParts:
    """The parts of the class (read at each use: a few statements, and nothing outlives the conversion)."""
    keras_name = import_names(layer_class.script.metadata)
    methods = {s.name.value: s for s in _body(layer_class.node) if isinstance(s, cst.FunctionDef)}
    init = methods.get("__init__")
    params = list(init.params.params[1:]) if init is not None else []
    kwargs = init is None or init.params.star_kwarg is not None
    parts = LayerClassParts(layer_class, methods, params, kwargs, {})
    for method in ("__init__", "build"):
        definition = methods.get(method)
        for statement in _statements(_body(definition)) if definition is not None else ():
            assigned = _self_assignment(statement)
            if assigned is None:
                continue
            attr, value = assigned
            if isinstance(value, cst.Call) and _is_self_call(value, "add_weight"):
                parts.weights.append(Weight(attr, statement, value, _add_weight_arguments(value)))
            elif isinstance(value, cst.Call) and _creates_layer(value, keras_name):
                parts.sublayers.append((attr, value))
            elif method == "__init__":
                parts.attributes[attr] = value
            elif statement in _body(definition):  # build's own lines (not under an `if`)
                parts.built_attributes[attr] = value
    return parts


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

    class Finder(cst.CSTVisitor):
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

    class Finder(cst.CSTVisitor):
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
    return name is not None and (name.startswith("keras.layers.") or name in ("keras.Sequential", "keras.Model"))


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
    parts = class_parts(layer_class)
    _check_class(parts)
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
    weight_shapes = {weight.attr: sizes.shape(weight.arguments.get("shape"), input_shape) for weight in parts.weights}
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
        params=_count(weight_shapes.values(), sublayers.params if sublayers is not None else 0),
        sublayers=sublayers.transfers if sublayers is not None else [],
        inner=sublayers.plans if sublayers is not None else [],
    )


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
    values = _ARGUMENT_VALUES.setdefault(layer_class, {})
    for param in (p.name.value for p in sizes.parts.init_params):
        given = sizes.arguments.get(param)
        if given is None and param in sizes.defaults:
            literal = _literal(sizes.defaults[param])
        else:
            literal = given.literal if given is not None and given.is_literal else ...
        values.setdefault(param, []).append(literal)


def _activation_calls(layer_class: LayerClass, keras_name: KerasName) -> CallRewrite:
    """``keras.activations.get(activation)`` with an __init__ parameter every use passes the same literal name
    (or leaves at its default): that activation's torch function."""
    values = _ARGUMENT_VALUES.get(layer_class, {})

    def rewrite(original: cst.Call, updated: cst.Call) -> str | None:
        if keras_name(original.func) != "keras.activations.get" or len(original.args) != 1:
            return None
        argument = original.args[0].value
        seen = values.get(argument.value, []) if isinstance(argument, cst.Name) else []
        distinct = {repr(value) for value in seen}
        if len(distinct) != 1 or seen[0] is ... or not (seen[0] is None or isinstance(seen[0], str)):
            return None
        try:
            return translate_op("keras.activations.get", [repr(seen[0])]).code
        except OpError:
            return None

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
    # `ops.matmul(inputs, self.w) + self.b` before a sublayer: the weights' shapes, in the class's terms.
    translator.weights = {
        f"self.{attr}": tuple(str(size) if isinstance(size, int) else translator.class_dim(size) for size in shape)
        for attr, shape in (weight_shapes or {}).items()
        if shape is not None and all(isinstance(size, (int, str)) for size in shape)
    }
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


def _regularizer_terms(parts: LayerClassParts, weight: Weight, owner: str, sizes: _Sizes) -> list[str]:
    regularizer = _use_value(parts, weight.arguments.get("regularizer"), sizes)
    constraint = _use_value(parts, weight.arguments.get("constraint"), sizes)
    if constraint is not None and not (constraint.is_literal and constraint.literal is None):
        raise Unsupported("K2T102", f"add_weight(constraint={constraint.code}) is not translated", constraint.pos)
    if regularizer is None or (regularizer.is_literal and regularizer.literal is None):
        return []
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
    return _value(node, parts.layer_class.script)


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
        self.input_shape: tuple | None = None  # the layer's input shape (batch None), for what build() sets

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
                return self._evaluate(built, {build.params.params[1].name.value: self.input_shape})
            expression = self.parts.attributes.get(node.attr.value)
            if expression is None:
                raise KeyError(node.attr.value)
            return self._evaluate(expression, {})  # __init__'s own names: its parameters
        if isinstance(node, cst.Attribute) and node.attr.value == "value":
            return self._evaluate(node.value, names)  # TensorFlow 1's Dimension(8).value
        if isinstance(node, cst.Subscript) and len(node.slice) == 1:
            return self._subscript(_sequence(self._evaluate(node.value, names)), node.slice[0].slice, names)
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
        """An __init__ parameter: the call's argument (a number, or a size of the model's constructor)."""
        value = self.arguments.get(name)
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
    return shapes.returned(call, call.params.params[1].name.value, input_shape)


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


class _TensorShapes:
    """Shapes through call()'s statements: names bound once to op results, then a return. A shape is a tuple
    (batch first) of ints, size codes or None; () is a number. None: not known."""

    def __init__(self, keras_name: KerasName, attributes: dict[str, tuple], sizes: _Sizes | None = None):
        self.keras_name = keras_name
        self.attributes = attributes
        self.elementwise: set[str] = set()  # `self.activation`: functions of one tensor that keep its shape
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
            return self.attributes.get(_code(node))
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

    def _call(self, node: cst.Call, names: dict[str, tuple | None]) -> tuple | None:
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
    found: list[Todo] = []
    for layer_class in dict.fromkeys(classes):
        parts = class_parts(layer_class)
        sublayers = translated_sublayers(layer_class)
        if sublayers is not None:
            statements.update((key, constructed.lines()) for key, constructed in sublayers.statements.items())
        expressions[id(layer_class.base)] = "nn.Module"
        added, problems = add_loss_rewrites(parts.methods)  # self.add_loss(t) -> self.losses.append(t)
        seeds = unused_seed_generators(parts.methods, keras_name)  # read only as seed=, which torch's draws drop
        statements.update((id(statement), []) for statement in seeds)
        calls.update(added)
        found.extend(Todo(node, error.code, error.message, _pos_of(positions, node)) for node, error in problems)
        for decorator in layer_class.node.decorators:
            if keras_name(
                decorator.decorator.func if isinstance(decorator.decorator, cst.Call) else decorator.decorator
            ):
                expressions[id(decorator)] = ""  # @keras.saving.register_keras_serializable(): Keras's saving
                superseded.append(_range(positions, decorator))
        getters = [_range(positions, statement) for statement in _getter_attributes(parts).values()]
        for statement in _getter_attributes(parts).values():
            statements[id(statement)] = []  # read only by add_weight, whose lines use the value
        superseded.extend(getters)
        for name, method in parts.methods.items():
            if name in _KERAS_ONLY_METHODS:
                statements[id(method)] = []
                superseded.append(_range(positions, method))
                continue
            if name == "call":
                expressions[id(method.name)] = "forward"
            sublayer_calls = _sublayer_calls(sublayers) if sublayers is not None and name == "call" else None
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
                + getters
            )
            if sublayers is not None:
                replaced += [_range(positions, statement) for statement in _sublayer_statements(parts, sublayers)]
                superseded += replaced
            problems = [p for p in rewrite.problems if not _inside(_pos_of(positions, p.node), replaced)]
            found.extend(Todo(p.node, p.error.code, p.error.message, _pos_of(positions, p.node)) for p in problems)
            _rewrite_super_calls(method, calls, statements)
            updates = _variable_updates(method, {weight.attr for weight in parts.weights})
            expressions.update(updates)
            handled = set(updates) | set(rewrite.replacements) | set(added)
            for node in _layer_only_calls(method, handled, replaced, positions):
                message = f"custom layer {layer_class.name}: `{_code(node.func)}(...)` is Keras's layer API here; k2t does not translate it"
                found.append(Todo(node, "K2T100", message, _pos_of(positions, node)))
        for weight in parts.weights:
            try:
                statements[id(weight.statement)] = _weight_lines(parts, weight, keras_name)
            except Unsupported as exc:
                found.append(Todo(weight.statement, exc.code, exc.message, exc.pos or _pos_of(positions, weight.call)))
    todos[:] = [t for t in todos if not (t.code in _OP_CODES and _inside(t.pos, superseded))] + found


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

    class Reads(cst.CSTVisitor):
        def visit_Attribute(self, node: cst.Attribute) -> bool:
            if isinstance(node.value, cst.Name) and node.value.value == "self" and id(node) not in weight_arguments:
                reads.add(node.attr.value)
            return True

        def visit_AssignTarget(self, node: cst.AssignTarget) -> bool:
            return False  # `self.init = ...` writes it

    for method in parts.methods.values():
        method.visit(Reads())
    return {attr: statement for attr, statement in found.items() if attr not in reads}


def _weight_lines(parts: LayerClassParts, weight: Weight, keras_name: KerasName) -> list[str]:
    """``self.w = self.add_weight(...)`` as an nn.Parameter of that shape, initialised as Keras does."""
    script = parts.layer_class.script
    arguments = {key: _resolved(parts, node) for key, node in weight.arguments.items()}
    constraint = arguments.pop("constraint", None)
    if constraint is not None and _literal(constraint, default=...) is not None:
        raise Unsupported("K2T102", "add_weight(constraint=...) is not translated", _pos(script, constraint))
    shape_node = arguments["shape"]
    rewrite = rewrite_ops(shape_node, keras_name)
    if rewrite.problems:
        problem = rewrite.problems[0]
        raise Unsupported(problem.error.code, problem.error.message, _pos(script, problem.node))
    shape = _code(apply_rewrite(shape_node, rewrite)).strip()
    dims = _shape_elements(shape_node, rewrite)
    tensor = f"self.{weight.attr}"
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
    lines.extend(initializer_lines(value, default, tensor, fan_in, fan_out, torch_fans=torch_fans))
    return _comments_trailing(lines)


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

    class Finder(cst.CSTVisitor):
        def visit_Assign(self, node: cst.Assign) -> None:
            nonlocal found
            unpacked = any(isinstance(t.target, (cst.Tuple, cst.List)) for t in node.targets)
            found = found or unpacked and isinstance(node.value, cst.Name) and node.value.value == parameter

        def visit_Subscript(self, node: cst.Subscript) -> None:
            nonlocal found
            found = found or isinstance(node.value, cst.Name) and node.value.value == parameter

    method.body.visit(Finder())
    return found
