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

from ..cst_walk import Visitor
from ..diagnostics import Unsupported
from ..ir import KerasCall, KerasScript, ScriptCode, Value
from ..ops import elementwise, nn, reductions
from ..parse.syntax import is_docstring
from ..values import Env, is_constant
from .dims import Dim, Size
from .model import LayerContext
from .op_code import KerasName, apply_rewrite, import_names, rewrite_ops
from .plan import LayerPlan
from .random_shapes import RANDOM_DRAWS, read_shape, shape_argument
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
_NUMBERS = frozenset({"keras.backend.epsilon", "keras.config.epsilon"})  # calls that give a Python number


@layer("Lambda")
def convert_lambda(ctx: LayerContext) -> LayerPlan:
    given, extra, unknown = ctx.layer.bind(_PARAMETERS)
    if extra is not None:
        raise Unsupported("K2T102", f"Lambda: positional argument {extra.code} is not translated", extra.pos)
    if unknown is not None and unknown[0] != "name":
        raise Unsupported("K2T102", f"Lambda({unknown[0]}=...) is not translated", unknown[1].pos)
    mask = given.get("mask")
    if mask is not None and not (mask.is_literal and mask.literal is None):
        raise Unsupported("K2T102", "Lambda(mask=...) is not translated", mask.pos)
    function = given.get("function")
    if function is None:
        raise Unsupported("K2T102", "Lambda needs a function", ctx.layer.pos)
    source = function.source
    if source is None:
        message = f"Lambda({function.code}): k2t translates a lambda or the name of a top-level function of the script"
        raise Unsupported("K2T102", message, function.pos)
    ctx.keras_layout()  # the user's axis numbers are Keras's (channels last)
    keras_name = import_names(source.script.metadata)
    arguments = _arguments(given.get("arguments"), source)
    if isinstance(source.node, cst.Lambda):
        forward, body, parameter, env = _inline(source, function, keras_name, arguments)
    else:
        forward, body, parameter, env = _named(source, function, arguments)
    output_shape = given.get("output_shape")
    if output_shape is not None and not (output_shape.is_literal and output_shape.literal is None):
        ctx.shape = _declared_shape(ctx, output_shape, (None, *ctx.shape))
    else:
        derived = _derived_shape(body, parameter, list(ctx.shape), keras_name, env) if body is not None else None
        if derived is None:
            derived = _function_shape(source, parameter, (None, *map(_size_of, ctx.shape)), keras_name, env, arguments)
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
    mask = given.get("mask")
    if mask is not None and not (mask.is_literal and mask.literal is None):
        raise Unsupported("K2T102", "Lambda(mask=...) is not translated", mask.pos)
    if any(tensor.keyword is not None for tensor in inputs) or not node.as_list:
        raise Unsupported("K2T102", "Lambda called on tensors other than one list of them is not translated", node.pos)
    if any(tensor.layout != "keras" and len(tensor.shape) >= 2 for tensor in inputs):
        raise Unsupported("K2T102", "Lambda on a list of channels-first tensors is not translated", node.pos)
    function = given.get("function")
    if function is None or function.source is None:
        message = f"Lambda({function.code if function else ''}): k2t translates a lambda or the name of a top-level function of the script"
        raise Unsupported("K2T102", message, function.pos if function else ctx.layer.pos)
    source = function.source
    keras_name = import_names(source.script.metadata)
    arguments = _arguments(given.get("arguments"), source)
    keywords = "".join(f", {key}={code}" for key, code in arguments.items()).replace("{", "{{").replace("}", "}}")
    if isinstance(source.node, cst.Lambda):
        parameters = source.node.params.params
        _check_lambda_parameters(source.node, function, arguments)
        parameter = parameters[0].name.value
        device = f"{parameter}[0].device"  # the first tensor's
        env: Env = source.env if source.env is not None else Env()
        if len(parameters) == 1 and _reads_items_only(source.node.body, parameter, len(inputs)):
            # `lambda t: K.abs(t[0] - t[1])`: the tensors themselves where the lambda reads the list's items
            rewrite = rewrite_ops(source.node.body, keras_name, device=device)
            if rewrite.problems:
                problem = rewrite.problems[0]
                raise Unsupported(
                    problem.error.code, f"in a Lambda: {problem.error.message}", _pos(source.script, problem.node)
                )
            inlined = _closure_values(source, source.node.body, {parameter}, keras_name, env)
            body = (
                apply_rewrite(source.node.body, rewrite).visit(_Renamer(inlined)).visit(_Items(parameter, len(inputs)))
            )
            code = _code(body).replace("{", "{{").replace("}", "}}")
            for index in range(len(inputs)):
                code = code.replace(_ITEM.format(index), f"{{{index}}}")
            called = None
        else:
            rewrite = rewrite_ops(source.node, keras_name, device=device)
            if rewrite.problems:
                problem = rewrite.problems[0]
                raise Unsupported(
                    problem.error.code, f"in a Lambda: {problem.error.message}", _pos(source.script, problem.node)
                )
            called = f"({_code(apply_rewrite(source.node, rewrite)).replace('{', '{{').replace('}', '}}')})"
    else:
        _, _, parameter, env = _named(source, function, arguments)  # a top-level function of the list
        called = function.code
    output_shape = given.get("output_shape")
    input_shapes = [(None, *tensor.shape) for tensor in inputs]
    if output_shape is None or output_shape.is_literal and output_shape.literal is None:
        shapes = [(None, *map(_size_of, tensor.shape)) for tensor in inputs]
        derived = _function_shape(source, parameter, shapes, keras_name, env, arguments)
        if derived is None or derived == _SCALAR:
            raise Unsupported(
                "K2T103",
                f"k2t cannot tell the output shape of this Lambda on a list of tensors from `{function.code}`; give it "
                "as `output_shape=(...)` (sizes without the batch axis)",
                ctx.layer.pos,
            )
        shape = derived
    else:
        shape = _declared_shape(ctx, output_shape, input_shapes)
    tensors = ", ".join(f"{{{index}}}" for index in range(len(inputs)))
    plan = LayerPlan(keras_class="Lambda", attr=None, forward=[], params=0)
    line = f"{{out}} = {code}" if called is None else f"{{out}} = {called}([{tensors}]{keywords})"
    return TensorCallPlan(plan, [line], [shape])


_ITEM = "__k2t_item_{}__"  # an item of the Lambda's list, before it becomes a template's {0}


def _item_index(node: cst.Subscript, parameter: str, count: int) -> int | None:
    """``t[1]`` of the lambda's list ``t`` of ``count`` tensors: 1; None for anything else."""
    if not (isinstance(node.value, cst.Name) and node.value.value == parameter and len(node.slice) == 1):
        return None
    index = node.slice[0].slice
    value = _literal(index.value) if isinstance(index, cst.Index) else None
    if isinstance(value, int) and not isinstance(value, bool) and -count <= value < count:
        return value % count
    return None


def _reads_items_only(body: cst.BaseExpression, parameter: str, count: int) -> bool:
    """Whether ``body`` reads the list ``parameter`` only through items with literal indexes (``t[0] - t[1]``)."""
    other: list[cst.CSTNode] = []

    class Reads(Visitor):
        def visit_Subscript(self, node: cst.Subscript) -> bool:
            if isinstance(node.value, cst.Name) and node.value.value == parameter:
                if _item_index(node, parameter, count) is None:
                    other.append(node)
                return False
            return True

        def visit_Attribute(self, node: cst.Attribute) -> bool:
            node.value.visit(self)
            return False

        def visit_Arg(self, node: cst.Arg) -> bool:
            node.value.visit(self)
            return False

        def visit_Lambda(self, node: cst.Lambda) -> bool:
            other.append(node)
            return False

        def visit_Name(self, node: cst.Name) -> bool:
            if node.value == parameter:
                other.append(node)
            return False

    body.visit(Reads())
    return not other


class _Items(cst.CSTTransformer):
    """``t[0]`` -> the marker of the list's first tensor."""

    def __init__(self, parameter: str, count: int):
        self.parameter, self.count = parameter, count

    def leave_Subscript(self, original_node: cst.Subscript, updated_node: cst.Subscript) -> cst.BaseExpression:
        index = _item_index(updated_node, self.parameter, self.count)
        return updated_node if index is None else cst.Name(_ITEM.format(index))


# ----------------------------------------------------------------------------------------- the function
def _check_lambda_parameters(node: cst.Lambda, function: Value, arguments: dict[str, str]) -> None:
    """A lambda of the input tensor, its other parameters given by ``arguments=`` (or their defaults)."""
    parameters = node.params
    if (
        not parameters.params
        or parameters.params[0].default is not None
        or any(p.default is None and p.name.value not in arguments for p in parameters.params[1:])
        or any(key not in [p.name.value for p in parameters.params[1:]] for key in arguments)
        or parameters.posonly_params
        or parameters.kwonly_params
        or isinstance(parameters.star_arg, cst.Param)
        or parameters.star_kwarg is not None
    ):
        raise Unsupported(
            "K2T102",
            f"Lambda({function.code}): k2t translates a lambda of one argument (the input tensor), its others given "
            "by `arguments=`",
            function.pos,
        )


def _inline(
    source: ScriptCode, function: Value, keras_name: KerasName, arguments: dict[str, str] | None = None
) -> tuple[str, cst.BaseExpression, str, Env]:
    """``lambda t: body`` -> ``x = <body in torch, over x>``, the body and its parameter. A parameter ``arguments=``
    gives (``Lambda(lambda t, k: t * k, arguments={"k": 2.0})``) is written as its value."""
    node = source.node
    assert isinstance(node, cst.Lambda)
    arguments = arguments or {}
    _check_lambda_parameters(node, function, arguments)
    parameter = node.params.params[0].name.value
    bound: dict[str, str] = {}
    for param in node.params.params[1:]:
        name = param.name.value
        if name in arguments:
            bound[name] = arguments[name]
        else:
            assert param.default is not None
            default = _code(param.default)
            if _literal(param.default) is ...:
                message = f"Lambda({function.code}): k2t writes the default of `{name}` only when it is a literal"
                raise Unsupported("K2T102", message, function.pos)
            bound[name] = default
    rewrite = rewrite_ops(node.body, keras_name, device=f"{parameter}.device")  # forward's device, as TF places them
    if rewrite.problems:
        problem = rewrite.problems[0]
        raise Unsupported(
            problem.error.code, f"in a Lambda: {problem.error.message}", _pos(source.script, problem.node)
        )
    env: Env = source.env if source.env is not None else Env()
    inlined = _closure_values(source, node.body, {parameter, *bound}, keras_name, env)
    body = apply_rewrite(node.body, rewrite)
    renames: dict[str, str] = {parameter: "x", **inlined, **bound}
    if parameter != "x" and "x" in _free_names(node.body, keras_name) - set(bound):
        renames = {**inlined, **bound}  # `lambda t: t + x`: the script's `x` is not forward's; call the lambda as it is
        code = f"(lambda {parameter}: {_code(body.visit(_Renamer(renames)))})(x)"
    else:
        code = _code(body.visit(_Renamer(renames)))
    return f"x = {code}", node.body, parameter, env


def _named(
    source: ScriptCode, function: Value, arguments: dict[str, str] | None = None
) -> tuple[str, cst.BaseExpression | None, str, Env]:
    """``Lambda(fn)`` with a top-level ``def fn(t)``: forward calls it (``x = fn(x)``; ``x = fn(x, factor=0.5)``
    for ``arguments={"factor": 0.5}``, which Keras passes as keywords); its body when it is one ``return``."""
    definition = ScriptFunctions.of(source.script).definitions.get(function.code)
    if definition is None:
        message = f"Lambda({function.code}): `{function.code}` is not a function defined once at the script's top level"
        raise Unsupported("K2T102", message, function.pos)
    arguments = arguments or {}
    parameters = definition.params
    required = [p for p in parameters.params[1:] if p.default is None] + [
        p for p in parameters.kwonly_params if p.default is None
    ]
    names = {p.name.value for p in [*parameters.params[1:], *parameters.kwonly_params]}
    if (
        not parameters.params
        or any(p.name.value not in arguments for p in required)
        or any(key not in names for key in arguments)
        and parameters.star_kwarg is None
        or parameters.posonly_params
    ):
        message = (
            f"Lambda({function.code}): k2t translates a function of one argument (the input tensor), its others "
            "given by `arguments=`"
        )
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
    keywords = "".join(f", {key}={code}" for key, code in arguments.items())
    return f"x = {function.code}(x{keywords})", body, parameters.params[0].name.value, module_values


def _arguments(value: Value | None, source: ScriptCode | None) -> dict[str, str]:
    """``arguments={"factor": 0.5}``: the keyword arguments Keras passes the function, as code forward can read (a
    value k2t knows written in where the name is a local of the function building the model, or bound again)."""
    if value is None or value.is_literal and value.literal is None:
        return {}
    if value.items is None or not all(isinstance(key, str) and key.isidentifier() for key, _ in value.items):
        message = f"Lambda(arguments={value.code}): k2t translates a dict display with names as keys"
        raise Unsupported("K2T102", message, value.pos)
    local = source is not None and source.function is not None
    found: dict[str, str] = {}
    for key, item in value.items:
        if _literal(cst.parse_expression(item.code.strip())) is not ...:
            found[key] = item.code.strip()
        elif item.is_literal and is_constant(item.literal) and (local or item.rebound):
            found[key] = repr(item.literal)
        elif not local and not item.rebound:
            found[key] = item.code.strip()  # a top-level name forward reads when it runs
        else:
            message = (
                f"Lambda(arguments=...): k2t does not know the value of `{item.code.strip()}`, which the generated "
                "module's forward cannot read (define it at the script's top level)"
            )
            raise Unsupported("K2T103", message, item.pos)
    return found


def output_shape_of(function: Value, given: tuple | list[tuple]) -> tuple | None:
    """The sizes after the batch axis a Lambda's function gives on inputs of the shapes ``given`` (batch first,
    numbers; a list of them for a list of tensors), each a number or None; None where k2t cannot tell. For the
    parser's static shapes (k2t.parse.tensor_shapes), as ``_function_shape`` derives them for the translation."""
    source = function.source
    if source is None or source.script.metadata is None:
        return None
    if isinstance(source.node, cst.Lambda):
        parameters = source.node.params.params
    else:
        definition = ScriptFunctions.of(source.script).definitions.get(function.code)
        parameters = definition.params.params if definition is not None else ()
    if not parameters:
        return None
    env = source.env if source.env is not None else Env()
    keras_name = import_names(source.script.metadata)
    derived = _function_shape(source, parameters[0].name.value, given, keras_name, env, {})
    if derived is None or derived == _SCALAR:
        return None
    sizes = [dim.value if isinstance(dim, Size) else dim for dim in derived]
    return tuple(sizes) if all(size is None or isinstance(size, int) for size in sizes) else None


def lambda_functions(script: KerasScript, translated: Sequence[object]) -> list[UserFunction]:
    """The top-level functions ``Lambda(fn)`` layers of the translated models call: rewritten to torch with the
    script's loss and metric functions (ScriptFunctions.use)."""
    definitions = ScriptFunctions.of(script).definitions
    found: dict[str, UserFunction] = {}
    for spec in translated:
        for call, on_list in _lambda_calls(spec):
            function = call.arg(0, "function")
            if function is not None and function.source is not None and isinstance(function.source.node, cst.Name):
                name = function.code
                definition = definitions.get(name)
                if definition is not None:
                    found.setdefault(name, UserFunction(name, name, name, device=_device(definition, on_list)))
    return list(found.values())


def _lambda_calls(spec) -> list[tuple[KerasCall, bool]]:
    """The Lambda layers of a model, each with whether it is called on a list of tensors."""
    if spec.graph is not None:
        calls = [(node.layer, node.as_list) for node in spec.graph.nodes]
    else:
        calls = [(layer, False) for layer in spec.layers]
    return [(call, on_list) for call, on_list in calls if call is not None and call.name == "keras.layers.Lambda"]


def _device(definition: cst.FunctionDef, on_list: bool) -> str | None:
    """Where the function's draws and constants go: its tensor's device (the list's first tensor's), as
    TensorFlow places them beside the tensors they meet."""
    parameters = definition.params.params
    if not parameters:
        return None
    name = parameters[0].name.value
    return f"{name}[0].device" if on_list else f"{name}.device"


# ------------------------------------------------------------------------------------- names it reads
def _closure_values(
    source: ScriptCode, body: cst.BaseExpression, parameters: set[str], keras_name: KerasName, env: Env
) -> dict[str, str]:
    """The names the lambda reads from a function's locals, as the literals they hold.

    The generated module is a top-level class: forward sees the script's module-level names (read when
    it runs, as the lambda read them), never a local of the function that built the model.
    """
    if source.function is None:
        return {}
    local_names = source.script.function_locals.get(source.function, set())
    inlined: dict[str, str] = {}
    for name in sorted(_free_names(body, keras_name) - parameters):
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

    class Reads(Visitor):
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


def _function_shape(
    source: ScriptCode,
    parameter: str,
    given: tuple | list[tuple],
    keras_name: KerasName,
    env: Env,
    arguments: dict[str, str],
) -> Shape:
    """The output shape of a lambda or top-level function when its parameter has the shape ``given`` (batch first;
    a list of shapes for a Lambda on a list of tensors), derived as a custom layer's call() is
    (k2t.translate.custom_layers): reductions, shape-keeping ops, concatenation, indexing with numbers (an item of
    the list, ``t[0]``), reshape and matmul, through names bound once (``x, y = vects``) to a ``return``."""
    from .custom_layers import _TensorShapes, dim_of

    node = source.node
    if isinstance(node, cst.Lambda):
        parameters = node.params.params
        statements = [cst.SimpleStatementLine([cst.Return(node.body)])]
    else:
        definition = ScriptFunctions.of(source.script).definitions.get(_code(node))
        if definition is None:
            return None
        parameters = [*definition.params.params, *definition.params.kwonly_params]
        statements = list(definition.body.body)
    numbers: dict[str, object] = {}
    for name, binding in _module_numbers(env).items():
        numbers[name] = binding
    for param in parameters[1:]:
        name = param.name.value
        code = arguments.get(name)
        if code is None and param.default is not None:
            code = _code(param.default)
        value = _literal(cst.parse_expression(code)) if code is not None else ...
        if value is ... and code is not None and code.isidentifier():
            value = numbers.get(code, ...)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            numbers[name] = value
        else:
            numbers.pop(name, None)  # a parameter hides the module's name

    class Shapes(_TensorShapes):
        def shape(self, part: cst.BaseExpression, names: dict) -> tuple | None:
            if isinstance(part, cst.Name):
                value = names.get(part.value, ...)
                if value is ...:
                    return () if part.value in numbers else None
                return None if isinstance(value, list) else value
            if isinstance(part, cst.Call) and not part.args and keras_name(part.func) in _NUMBERS:
                return ()  # K.epsilon(): a number
            if isinstance(part, cst.Call) and keras_name(part.func) in RANDOM_DRAWS:
                return self._draw(part, names)
            if isinstance(part, cst.Call) and keras_name(part.func) in _PERMUTATIONS:
                return permuted_shape(part, keras_name, lambda tensor: self.shape(tensor, names))
            if isinstance(part, cst.Subscript) and isinstance(part.value, cst.Name):
                listed = names.get(part.value.value)
                if isinstance(listed, list):
                    index = (
                        _literal(part.slice[0].slice.value)
                        if len(part.slice) == 1 and isinstance(part.slice[0].slice, cst.Index)
                        else None
                    )
                    if isinstance(index, int) and not isinstance(index, bool) and -len(listed) <= index < len(listed):
                        return listed[index]
                    return None
            return super().shape(part, names)

        def _draw(self, call: cst.Call, names: dict) -> tuple | None:
            """Keras 2's VAE noise, ``K.random_normal(shape=(K.shape(z_mean)[0], latent_dim))``: the sizes the
            tuple gives. A number first (``shape=(batch_size, latent_dim)``) is the batch's rows, as Keras 2
            requires of a draw added to the batch's tensors: the batch axis."""
            written = shape_argument(call)
            if written is None:
                return None

            def number_of(node: cst.BaseExpression) -> object:
                if isinstance(node, cst.Name) and node.value in codes:
                    return node.value  # the size the layers before were given by the same name
                value = _literal(node)
                if value is ... and isinstance(node, cst.Name):
                    value = numbers.get(node.value, ...)
                return value if isinstance(value, int) and not isinstance(value, bool) else None

            sizes = read_shape(written, keras_name, lambda tensor: self.shape(tensor, names), number_of)
            if sizes and isinstance(written, (cst.Tuple, cst.List)) and isinstance(sizes[0], int):
                sizes = (None, *sizes[1:])
            return sizes

    given_shapes = given if isinstance(given, list) else [given]
    codes = {size for shape in given_shapes for size in shape if isinstance(size, str) and size.isidentifier()}
    shapes = Shapes(keras_name, {})
    names: dict[str, object] = {parameters[0].name.value: given}
    result: tuple | None = None
    for statement in statements:
        if is_docstring(statement):
            continue
        if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
            return None
        small = statement.body[0]
        if isinstance(small, cst.Return):
            result = shapes.shape(small.value, names) if small.value is not None else None
            break
        if not isinstance(small, cst.Assign) or len(small.targets) != 1:
            return None
        target = small.targets[0].target
        if isinstance(target, cst.Name):
            names[target.value] = shapes.shape(small.value, names)
            continue
        if not isinstance(target, (cst.Tuple, cst.List)) or not all(
            isinstance(e.value, cst.Name) for e in target.elements
        ):
            return None
        if isinstance(small.value, cst.Name) and isinstance(names.get(small.value.value), list):
            items = names[small.value.value]  # `x, y = vects`: the list's shapes, one per name
        elif isinstance(small.value, (cst.Tuple, cst.List)):
            items = [shapes.shape(e.value, names) for e in small.value.elements]
        else:
            return None
        if len(items) != len(target.elements):
            return None
        for element, item in zip(target.elements, items):
            names[element.value.value] = item
    if result is None:
        return None
    if result == ():
        return _SCALAR
    if result[0] is not None:
        return None  # the batch axis reduced or moved: no shape per sample
    return [dim_of(size) for size in result[1:]]


# Permutations of axes and the parameter giving them: the result's axes in that order.
_PERMUTATIONS = {
    "keras.ops.transpose": ("x", "axes"),
    "tensorflow.transpose": ("a", "perm"),
    "keras.backend.permute_dimensions": ("x", "pattern"),
}


def permuted_shape(call: cst.Call, keras_name: KerasName, shape_of) -> tuple | None:
    """``ops.transpose(h, (0, 2, 1))``, ``tf.transpose(h, perm=[0, 2, 1])``, ``K.permute_dimensions(h, (0, 2, 1))``:
    the input's sizes in the literal order given, the batch axis first; None for anything else."""
    name = keras_name(call.func)
    if name not in _PERMUTATIONS or any(arg.star for arg in call.args):
        return None
    tensor_key, order_key = _PERMUTATIONS[name]
    given = {}
    for index, arg in enumerate(call.args):
        key = arg.keyword.value if arg.keyword is not None else (tensor_key, order_key)[index] if index < 2 else None
        if key is None:
            return None
        given[key] = arg.value
    if tensor_key not in given or order_key not in given:
        return None
    shape = shape_of(given[tensor_key])
    order = _literal(given[order_key])
    if shape is None or not isinstance(order, (tuple, list)) or sorted(order) != list(range(len(shape))):
        return None
    if order[0] != 0:
        return None  # the batch axis moved: no shape per sample
    return tuple(shape[axis] for axis in order)


def _module_numbers(env: Env) -> dict[str, object]:
    """The script's names bound to numbers where the function is defined (its module's)."""
    found: dict[str, object] = {}
    scope: Env | None = env
    while scope is not None:
        for name, binding in scope.names.items():
            value = getattr(binding, "value", None)
            if name not in found and isinstance(value, (int, float)) and not isinstance(value, bool):
                found[name] = value
        scope = scope.parent
    return found


def _size_of(dim: Dim) -> object:
    from .custom_layers import _size_of as size_of

    return size_of(dim)


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
