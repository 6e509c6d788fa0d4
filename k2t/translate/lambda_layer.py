"""``keras.layers.Lambda``: the script's own function of a tensor, rewritten to torch and run in forward.

``Lambda(lambda t: K.mean(t, axis=1))`` becomes a forward line (``x = torch.mean(x, dim=1)``);
``Lambda(fn)`` with a top-level ``def fn(t)`` keeps the function where the script defines it, rewritten
through the op vocabulary (k2t.translate.user_functions), and forward calls it (``x = fn(x)``). The tensor
the function sees is in Keras's layout (channels last), so that its axis numbers mean what they meant.

The output shape the layers after it see comes from ``output_shape=`` when given, else from the body
when every op in it keeps the shape or reduces a literal axis (``_derived_shape``); where it cannot be
told, a later layer that needs it gets a K2T103 (a Lambda last, or before Activation / Dropout, is fine).
"""

from __future__ import annotations

import ast
import builtins
from collections.abc import Sequence

import libcst as cst
from libcst.metadata import PositionProvider

from ..diagnostics import Unsupported
from ..ir import KerasCall, KerasScript, ScriptCode, Value
from ..ops import elementwise, nn, reductions
from ..values import Env, is_constant
from .dims import Dim, Size
from .model import LayerContext
from .op_code import KerasName, apply_rewrite, import_names, rewrite_ops
from .plan import LayerPlan
from .registry import TensorCallPlan, TensorInput, layer, tensor_call
from .shape_function import KerasShape, NotEvaluated, output_sizes
from .user_functions import ScriptFunctions, UserFunction

_PARAMETERS = ("function", "output_shape", "mask", "arguments")

# Ops whose result has the shape of their (broadcast) tensor arguments.
_SHAPE_KEEPING = frozenset(name for row in elementwise.ROWS for name in row.names) - {
    "tensorflow.add_n",
    "tensorflow.math.add_n",
}
_ACTIVATIONS = frozenset({
    "relu", "relu6", "elu", "selu", "gelu", "silu", "swish", "mish", "celu", "softmax", "log_softmax", "leaky_relu",
    "hard_sigmoid", "hard_silu", "hard_swish", "hard_tanh", "hard_shrink", "soft_shrink", "tanh_shrink", "squareplus",
    "l2_normalize", "normalize", "exponential", "linear", "threshold", "dropout",
})  # fmt: skip
_SHAPE_KEEPING |= {name for row in nn.ROWS for name in row.names if name.rsplit(".", 1)[-1] in _ACTIVATIONS}
# Reductions over `axis` with `keepdims`: the reduced axes go (or stay as 1).
_REDUCTIONS = {
    name: row
    for row in reductions.ROWS
    for name in row.names
    if [p.name for p in row.params[1:3]] == ["axis", "keepdims"]
}

# Layers after a Lambda that need neither its output's sizes nor its number of axes.
_SIZE_FREE = frozenset(
    {"Activation", "ReLU", "LeakyReLU", "ELU", "Dropout", "GaussianNoise", "GaussianDropout", "AlphaDropout"}
)

_SCALAR = "scalar"  # the shape of a number in the body: broadcasts to any tensor


@layer("Lambda")
def convert_lambda(ctx: LayerContext) -> LayerPlan:
    given, extra, unknown = ctx.layer.bind(_PARAMETERS)
    if extra is not None:
        raise Unsupported("K2T102", f"Lambda: positional argument {extra.code} is not translated", extra.pos)
    if unknown is not None and unknown[0] != "name":
        raise Unsupported("K2T102", f"Lambda({unknown[0]}=...) is not translated", unknown[1].pos)
    for key in ("mask", "arguments"):
        value = given.get(key)
        if value is not None and not (value.is_literal and value.literal is None):
            raise Unsupported("K2T102", f"Lambda({key}=...) is not translated", value.pos)
    function = given.get("function")
    if function is None:
        raise Unsupported("K2T102", "Lambda needs a function", ctx.layer.pos)
    source = function.source
    if source is None:
        message = f"Lambda({function.code}): k2t translates a lambda or the name of a top-level function of the script"
        raise Unsupported("K2T102", message, function.pos)
    ctx.keras_layout()  # the user's axis numbers are Keras's (channels last)
    keras_name = import_names(source.script.metadata)
    if isinstance(source.node, cst.Lambda):
        forward, body, parameter, env = _inline(source, function, keras_name)
    else:
        forward, body, parameter, env = _named(source, function)
    output_shape = given.get("output_shape")
    if output_shape is not None and not (output_shape.is_literal and output_shape.literal is None):
        ctx.shape = _declared_shape(ctx, output_shape, (None, *ctx.shape))
    else:
        derived = _derived_shape(body, parameter, list(ctx.shape), keras_name, env) if body is not None else None
        if derived is None or derived == _SCALAR:
            _refuse_if_needed(ctx, function)
        else:
            ctx.shape = derived
    return LayerPlan(keras_class="Lambda", attr=None, forward=[forward], params=0)


@tensor_call("Lambda")
def convert_lambda_on_tensors(ctx: LayerContext, node, inputs: list[TensorInput]) -> TensorCallPlan:
    """``Lambda(euclidean_distance)([a, b])``: the function receives the list of tensors, as in Keras (a siamese
    network's distance). A top-level function is called on the list; a lambda is called as it is written."""
    given, extra, unknown = ctx.layer.bind(_PARAMETERS)
    if extra is not None or unknown is not None and unknown[0] != "name":
        what = extra.code if extra is not None else f"{unknown[0]}="
        raise Unsupported("K2T102", f"Lambda({what}) is not translated", ctx.layer.pos)
    for key in ("mask", "arguments"):
        value = given.get(key)
        if value is not None and not (value.is_literal and value.literal is None):
            raise Unsupported("K2T102", f"Lambda({key}=...) is not translated", value.pos)
    if any(tensor.keyword is not None for tensor in inputs) or not node.as_list:
        raise Unsupported("K2T102", "Lambda called on tensors other than one list of them is not translated", node.pos)
    if any(tensor.layout != "keras" and len(tensor.shape) >= 2 for tensor in inputs):
        raise Unsupported("K2T102", "Lambda on a list of channels-first tensors is not translated", node.pos)
    function = given.get("function")
    if function is None or function.source is None:
        message = f"Lambda({function.code if function else ''}): k2t translates a lambda or the name of a top-level function of the script"
        raise Unsupported("K2T102", message, function.pos if function else ctx.layer.pos)
    if isinstance(function.source.node, cst.Lambda):
        keras_name = import_names(function.source.script.metadata)
        parameters = function.source.node.params.params
        device = f"{parameters[0].name.value}[0].device" if len(parameters) == 1 else None  # the first tensor's
        rewrite = rewrite_ops(function.source.node, keras_name, device=device)
        if rewrite.problems:
            problem = rewrite.problems[0]
            raise Unsupported(
                problem.error.code, f"in a Lambda: {problem.error.message}", _pos(function.source.script, problem.node)
            )
        called = f"({_code(apply_rewrite(function.source.node, rewrite)).replace('{', '{{').replace('}', '}}')})"
    else:
        _named(function.source, function)  # a top-level function of one argument (here, the list)
        called = function.code
    output_shape = given.get("output_shape")
    if output_shape is None or output_shape.is_literal and output_shape.literal is None:
        raise Unsupported(
            "K2T103",
            "a Lambda on a list of tensors needs `output_shape=(...)` (sizes without the batch axis) for k2t to follow",
            ctx.layer.pos,
        )
    shape = _declared_shape(ctx, output_shape, [(None, *tensor.shape) for tensor in inputs])
    arguments = ", ".join(f"{{{index}}}" for index in range(len(inputs)))
    plan = LayerPlan(keras_class="Lambda", attr=None, forward=[], params=0)
    return TensorCallPlan(plan, [f"{{out}} = {called}([{arguments}])"], [shape])


# ----------------------------------------------------------------------------------------- the function
def _inline(source: ScriptCode, function: Value, keras_name: KerasName) -> tuple[str, cst.BaseExpression, str, Env]:
    """``lambda t: body`` -> ``x = <body in torch, over x>``, the body and its parameter."""
    node = source.node
    assert isinstance(node, cst.Lambda)
    parameters = node.params
    if (
        len(parameters.params) != 1
        or parameters.params[0].default is not None
        or parameters.posonly_params
        or parameters.kwonly_params
        or isinstance(parameters.star_arg, cst.Param)
        or parameters.star_kwarg is not None
    ):
        raise Unsupported(
            "K2T102",
            f"Lambda({function.code}): k2t translates a lambda of one argument (the input tensor)",
            function.pos,
        )
    parameter = parameters.params[0].name.value
    rewrite = rewrite_ops(node.body, keras_name, device=f"{parameter}.device")  # forward's device, as TF places them
    if rewrite.problems:
        problem = rewrite.problems[0]
        raise Unsupported(
            problem.error.code, f"in a Lambda: {problem.error.message}", _pos(source.script, problem.node)
        )
    env: Env = source.env if source.env is not None else Env()
    inlined = _closure_values(source, node.body, parameter, keras_name, env)
    body = apply_rewrite(node.body, rewrite)
    renames: dict[str, str] = {parameter: "x", **inlined}
    if parameter != "x" and "x" in _free_names(node.body, keras_name):
        renames = {**inlined}  # `lambda t: t + x`: the script's `x` is not forward's; call the lambda as it is
        code = f"(lambda {parameter}: {_code(body.visit(_Renamer(renames)))})(x)"
    else:
        code = _code(body.visit(_Renamer(renames)))
    return f"x = {code}", node.body, parameter, env


def _named(source: ScriptCode, function: Value) -> tuple[str, cst.BaseExpression | None, str, Env]:
    """``Lambda(fn)`` with a top-level ``def fn(t)``: forward calls it; its body when it is one ``return``."""
    definition = ScriptFunctions.of(source.script).definitions.get(function.code)
    if definition is None:
        message = f"Lambda({function.code}): `{function.code}` is not a function defined once at the script's top level"
        raise Unsupported("K2T102", message, function.pos)
    parameters = definition.params
    required = [p for p in parameters.params if p.default is None]
    if (
        not parameters.params
        or len(required) > 1
        or parameters.posonly_params
        or parameters.kwonly_params
        and any(p.default is None for p in parameters.kwonly_params)
    ):
        message = f"Lambda({function.code}): k2t translates a function of one argument (the input tensor)"
        raise Unsupported("K2T102", message, function.pos)
    body: cst.BaseExpression | None = None
    statements = list(definition.body.body)
    if len(statements) == 1 and isinstance(statements[0], cst.SimpleStatementLine):
        small = statements[0].body
        if len(small) == 1 and isinstance(small[0], cst.Return) and small[0].value is not None:
            body = small[0].value
    module_values = source.env if source.env is not None else Env()
    while module_values.parent is not None:  # a top-level def reads the module's names, not the builder's locals
        module_values = module_values.parent
    return f"x = {function.code}(x)", body, parameters.params[0].name.value, module_values


def lambda_functions(script: KerasScript, translated: Sequence[object]) -> list[UserFunction]:
    """The top-level functions ``Lambda(fn)`` layers of the translated models call: rewritten to torch with the
    script's loss and metric functions (ScriptFunctions.use)."""
    definitions = ScriptFunctions.of(script).definitions
    found: dict[str, UserFunction] = {}
    for spec in translated:
        for call in _lambda_calls(spec):
            function = call.arg(0, "function")
            if function is not None and function.source is not None and isinstance(function.source.node, cst.Name):
                name = function.code
                if name in definitions:
                    found.setdefault(name, UserFunction(name, name, name))
    return list(found.values())


def _lambda_calls(spec) -> list[KerasCall]:
    layers = [node.layer for node in spec.graph.nodes] if spec.graph is not None else list(spec.layers)
    return [call for call in layers if call is not None and call.name == "keras.layers.Lambda"]


# ------------------------------------------------------------------------------------- names it reads
def _closure_values(
    source: ScriptCode, body: cst.BaseExpression, parameter: str, keras_name: KerasName, env: Env
) -> dict[str, str]:
    """The names the lambda reads from a function's locals, as the literals they hold.

    The generated module is a top-level class: forward sees the script's module-level names (read when
    it runs, as the lambda read them), never a local of the function that built the model.
    """
    if source.function is None:
        return {}
    local_names = source.script.function_locals.get(source.function, set())
    inlined: dict[str, str] = {}
    for name in sorted(_free_names(body, keras_name) - {parameter}):
        if name not in local_names and name not in env.names:
            continue
        binding = env.names.get(name)
        if binding is not None and is_constant(binding.value):
            inlined[name] = repr(binding.value)
            continue
        message = (
            f"the Lambda reads `{name}`, a local variable of `{source.function}` whose value k2t does not know; the generated "
            f"module's forward cannot see it (define `{name}` at the script's top level)"
        )
        raise Unsupported("K2T103", message, _pos(source.script, body))
    return inlined


def _free_names(body: cst.BaseExpression, keras_name: KerasName) -> set[str]:
    """Names ``body`` reads that are neither Keras/TensorFlow names nor builtins (attributes and keywords excluded)."""
    found: set[str] = set()

    class Reads(cst.CSTVisitor):
        def visit_Attribute(self, node: cst.Attribute) -> bool:
            if keras_name(node) is None:
                node.value.visit(self)
            return False

        def visit_Arg(self, node: cst.Arg) -> bool:
            node.value.visit(self)
            return False

        def visit_Name(self, node: cst.Name) -> bool:
            if keras_name(node) is None and not hasattr(builtins, node.value):
                found.add(node.value)
            return False

    body.visit(Reads())
    return found


class _Renamer(cst.CSTTransformer):
    """Names replaced by code (the parameter by ``x``, a local by its value); attributes and keywords kept."""

    def __init__(self, renames: dict[str, str]):
        self.renames = renames

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        return True

    def leave_Attribute(self, original_node: cst.Attribute, updated_node: cst.Attribute) -> cst.Attribute:
        return updated_node.with_changes(attr=original_node.attr)

    def leave_Arg(self, original_node: cst.Arg, updated_node: cst.Arg) -> cst.Arg:
        return updated_node.with_changes(keyword=original_node.keyword)

    def leave_Param(self, original_node: cst.Param, updated_node: cst.Param) -> cst.Param:
        return original_node

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.BaseExpression:
        code = self.renames.get(original_node.value)
        return updated_node if code is None else cst.parse_expression(code)


# ----------------------------------------------------------------------------------------- the shape
def _declared_shape(ctx: LayerContext, value: Value, input_shapes: KerasShape | list[KerasShape]) -> list[Dim]:
    """``output_shape=(8,)``: the sizes without the batch axis; ``output_shape=shape_fn``: what the script's
    function returns for the input's shape (batch first, a list of them for a list of tensors), as Keras calls it."""
    if value.source is not None:
        sizes = output_sizes(value.source, value.code, input_shapes)
        if isinstance(sizes, NotEvaluated):
            shown = (
                f"[{', '.join(map(_shape_code, input_shapes))}]"
                if isinstance(input_shapes, list)
                else _shape_code(input_shapes)
            )
            message = (
                f"Lambda(output_shape={value.code}): k2t cannot evaluate `{value.code}` on the input shape {shown} "
                f"({sizes.reason}); give the sizes as `output_shape=(...)` (without the batch axis)"
            )
            raise Unsupported("K2T102", message, value.pos)
        return sizes
    if value.elements is None:
        message = f"Lambda(output_shape={value.code}): k2t reads a tuple of sizes (without the batch axis) or a function of the script"
        raise Unsupported("K2T102", message, value.pos)
    sizes: list[Dim] = []
    for element in value.elements:
        if element.is_literal and element.literal is None:
            sizes.append(None)
        else:
            sizes.append(ctx.size(element, "lambda_dim"))
    return sizes


def _shape_code(shape: KerasShape) -> str:
    sizes = ", ".join("None" if size is None else str(size) for size in shape)
    return f"({sizes},)" if len(shape) == 1 else f"({sizes})"


Shape = list[Dim] | str | None  # sizes, _SCALAR, or None: not known


def _derived_shape(
    body: cst.BaseExpression, parameter: str, shape: list[Dim], keras_name: KerasName, env: Env
) -> Shape:
    """The shape of ``body`` when ``parameter`` has ``shape``: where every op keeps the shape or reduces literal axes."""
    if isinstance(body, cst.Name) and body.value == parameter:
        return shape
    if isinstance(body, (cst.Integer, cst.Float)):
        return _SCALAR
    if isinstance(body, cst.Name):
        binding = env.lookup(body.value)
        known = binding is not None and isinstance(binding.value, (int, float)) and not isinstance(binding.value, bool)
        return _SCALAR if known else None
    if isinstance(body, cst.UnaryOperation):
        return _derived_shape(body.expression, parameter, shape, keras_name, env)
    if isinstance(body, cst.BinaryOperation) and not isinstance(body.operator, cst.MatrixMultiply):
        return _broadcast([_derived_shape(side, parameter, shape, keras_name, env) for side in (body.left, body.right)])
    if isinstance(body, cst.Call):
        name = keras_name(body.func)
        if name in _SHAPE_KEEPING:
            tensors = [
                arg.value for arg in body.args if arg.keyword is None or arg.keyword.value in ("x", "y", "x1", "x2")
            ]
            return _broadcast([_derived_shape(arg, parameter, shape, keras_name, env) for arg in tensors])
        if name in _REDUCTIONS:
            return _reduced(body, name, parameter, shape, keras_name, env)
    return None


def _broadcast(shapes: list[Shape]) -> Shape:
    """Numbers broadcast to any shape; tensors must have the same one (broadcasting between them is not followed)."""
    tensors = [shape for shape in shapes if shape != _SCALAR]
    if any(shape is None for shape in tensors):
        return None
    if not tensors:
        return _SCALAR
    return tensors[0] if all(shape == tensors[0] for shape in tensors) else None


def _reduced(call: cst.Call, name: str, parameter: str, shape: list[Dim], keras_name: KerasName, env: Env) -> Shape:
    params = [p.name for p in _REDUCTIONS[name].params]
    given: dict[str, cst.BaseExpression] = {}
    for index, arg in enumerate(call.args):
        key = arg.keyword.value if arg.keyword is not None else (params[index] if index < len(params) else None)
        if key is None or arg.star:
            return None
        given[key] = arg.value
    tensor = _derived_shape(given.get(params[0], cst.Name("None")), parameter, shape, keras_name, env)
    axis = _literal(given.get("axis"))
    keepdims = _literal(given.get("keepdims"), default=False)
    if not isinstance(tensor, list) or not isinstance(keepdims, bool):
        return None
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    rank = len(tensor) + 1  # Keras's axes count the batch axis
    if not all(isinstance(a, int) and not isinstance(a, bool) and -rank <= a < rank for a in axes):
        return None  # axis=None reduces the batch axis too: no shape per sample
    reduced = {a % rank for a in axes}
    if 0 in reduced:
        return None
    return [
        (Size.of(1) if keepdims else None) if index + 1 in reduced else dim
        for index, dim in enumerate(tensor)
        if keepdims or index + 1 not in reduced
    ]


def _literal(node: cst.BaseExpression | None, default: object = None) -> object:
    if node is None:
        return default
    try:
        return ast.literal_eval(_code(node))
    except (ValueError, SyntaxError):
        return ...


def _refuse_if_needed(ctx: LayerContext, function: Value) -> None:
    """A K2T103 when a layer after this Lambda needs its output's shape, which k2t cannot tell."""
    later = _later_layer_needing_shape(ctx)
    if later is not None:
        message = (
            f"{later.short_name} after this Lambda needs the Lambda's output shape, which k2t cannot tell from "
            f"`{function.code}`; give it as `output_shape=(...)` (sizes without the batch axis)"
        )
        raise Unsupported("K2T103", message, ctx.layer.pos)


def _later_layer_needing_shape(ctx: LayerContext) -> KerasCall | None:
    spec = ctx.builder.spec
    if spec.graph is None:
        index = next((i for i, call in enumerate(spec.layers) if call.pos == ctx.layer.pos), None)
        later = spec.layers[index + 1 :] if index is not None else []
        return next((call for call in later if not _size_free(call)), None)
    pending = [node for node in spec.graph.nodes if node.layer is not None and node.layer.pos == ctx.layer.pos]
    seen: set[int] = set()
    while pending:
        node = pending.pop()
        for user in spec.graph.nodes:
            if id(user) in seen or not any(parent is node for parent in user.inputs):
                continue
            seen.add(id(user))
            if not _size_free(user.layer):
                return user.layer
            pending.append(user)
    return None


def _size_free(call: KerasCall | None) -> bool:
    if call is None or call.model is not None or not call.name.startswith("keras.layers."):
        return False
    if call.short_name == "Activation":
        activation = call.arg(0, "activation")
        return activation is not None and activation.literal not in ("softmax", "log_softmax")
    return call.short_name in _SIZE_FREE


# ----------------------------------------------------------------------------------------- helpers
def _pos(script: KerasScript, node: cst.CSTNode) -> tuple[int, int]:
    start = script.metadata.resolve(PositionProvider)[node].start
    return (start.line, start.column + 1)


_EMPTY = cst.Module(body=[])


def _code(node: cst.CSTNode) -> str:
    return _EMPTY.code_for_node(node)
