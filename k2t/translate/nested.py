"""A model of the script used as a layer of another model -> a submodule holding its own module.

``encoder = keras.Sequential([...]); model = keras.Sequential([encoder, layers.Dense(1)])``
and ``features = base(inputs)`` in the Functional API both nest a model: Keras
shares the inner model's weights between every use (training the outer model
trains ``encoder``, and ``encoder.predict`` afterwards sees the result). The
torch translation keeps that sharing: the inner module is built where the
script builds the inner model and handed to the outer module's constructor
(``model = Net(encoder=encoder)``), which stores it as ``self.encoder``.
"""

from __future__ import annotations

import ast

import libcst as cst

from ..diagnostics import Unsupported
from ..values import Env, Unknown, evaluate
from .dims import Dim, Size
from .plan import LayerPlan, ModulePlan


def _argument_size(dim: Dim, params: list, what: str, var: str, pos) -> Dim:
    """A size of a model's shape as code valid where the script builds the model: a number or an open size
    as it is, a constructor parameter's size as the argument the script passes for it."""
    if dim is None or dim.value is not None:
        return dim
    param = next((p for p in params if p.name == dim.code), None)
    if param is not None:
        return Size.expression(param.argument)
    # `reshape_dim_0 * 2 * 2` (a Reshape's size through two strided Conv2DTransposes): the same expression on
    # the arguments the script passes for the parameters it reads.
    arguments = {p.name: p.argument for p in params if p.argument is not None}
    read = names_in(dim.code)
    if read and read <= set(arguments):
        tree = _Substitute(arguments).visit(ast.parse(dim.code.strip(), mode="eval"))
        return Size.expression(ast.unparse(tree))
    raise Unsupported("K2T103", f"the {what} size {dim} of the nested model `{var}` is not known statically", pos)


def _visible(
    size: Dim, inner: ModulePlan, inner_factory: str | None, outer_factory: str | None, layer, var: str
) -> Dim:
    """An output size of the nested model, as code where the script builds it, as code valid where the outer model
    is built. Inside the function that builds the nested model (``def make_base(units)``), the size may read the
    function's locals: its parameters are replaced by the values the call that made the model passes
    (``base = make_base(12)``: ``units // 2`` -> 6); any other local is reported."""
    if size is None or size.value is not None or inner_factory is None or inner_factory == outer_factory:
        return size
    local = names_in(size.code) & inner.factory_locals
    if not local:
        return size
    known = dict(layer.factory_arguments)
    if local <= set(known):
        constants = {name: repr(value) for name, value in known.items()}
        code = ast.unparse(_Substitute(constants).visit(ast.parse(size.code.strip(), mode="eval")))
        value = evaluate(cst.parse_expression(code), Env())
        if isinstance(value, int) and not isinstance(value, bool):
            return Size.of(value)
        if not isinstance(value, Unknown):
            raise Unsupported(
                "K2T103",
                f"the output size `{size.code}` of the nested model `{var}` is {value!r}, not a size",
                layer.pos,
            )
        return Size.expression(code)
    names = ", ".join(f"`{name}`" for name in sorted(local - set(known)))
    raise Unsupported(
        "K2T103",
        f"the output size `{size.code}` of the nested model `{var}` reads {names}, local to {inner_factory}(), "
        "which is not bound where the model using it is built",
        layer.pos,
    )


class _Substitute(ast.NodeTransformer):
    """Names -> the expressions (code) given for them: a constant's repr, or the argument a script passes."""

    def __init__(self, codes: dict[str, str]):
        self.codes = codes

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if node.id in self.codes:
            return ast.parse(self.codes[node.id].strip(), mode="eval").body
        return node


def names_in(code: str) -> set[str]:
    """The names ``code`` reads (none where it is not an expression)."""
    try:
        tree = ast.parse(code.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return set()
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}


def holder_name(layer) -> str | None:
    """The variable that holds the nested model of ``layer`` where the script uses it: the model's own, or, for a
    model a function built and returned (``base_network = create_base_network(input_shape)``; two factories that
    both name theirs ``model``, nested by ``define_gan(generator, discriminator)``), the name the outer model's
    code holds it by. A subclass's ``self.first = block`` keeps the model's own: ``block`` is __init__'s."""
    if layer.model.var is not None and (layer.model.factory is None or layer.held_in is None):
        return layer.model.var
    return layer.held_in


def convert_nested(ctx) -> LayerPlan:
    """The LayerPlan of ``ctx.layer`` (a KerasCall whose ``model`` is the inner ModelSpec)."""
    spec = ctx.layer.model
    resolve = ctx.builder.resolve_nested
    var = holder_name(ctx.layer)
    if resolve is None or var is None:
        raise Unsupported(
            "K2T103", "a model used as a layer is translated only when the script keeps it in a variable", ctx.layer.pos
        )
    ctx.keras_layout()  # the inner module takes and returns Keras's (channels-last) layout
    # The inner module's input sizes, as code valid where the script builds the inner model.
    arguments = [_argument_size(dim, ctx.builder.params, "input", var, ctx.layer.pos) for dim in ctx.shape]
    inner: ModulePlan = resolve(spec, arguments, ctx.layer.pos, outer=ctx.builder.spec)
    functional = inner.forward_lines is not None
    # `z_mean, z_log_var, z = self.encoder(x)`: a model of several outputs, unpacked into as many names (its
    # module returns them as a tuple, in Keras's order).
    unpacked = functional and len(inner.output_names) > 1 and ctx.unpacked == len(inner.output_names)
    if functional and (len(inner.forward_args) != 1 or (len(inner.output_names) != 1 and not unpacked)):
        raise Unsupported(
            "K2T103",
            f"the nested model `{var}` has several inputs or outputs: not translated as a layer",
            ctx.layer.pos,
        )
    if functional:
        outputs = inner.output_shapes
    elif inner.layers:
        outputs = [inner.layers[-1].output_shape]
    else:
        outputs = [inner.input_shape]
    shapes: list[list[Dim]] = []
    for output in outputs:
        shape: list[Dim] = []
        for dim in output:
            size = _argument_size(dim, inner.params, "output", var, ctx.layer.pos)
            size = _visible(size, inner, spec.factory, ctx.builder.spec.factory, ctx.layer, var)
            shape.append(
                size if size is None or size.value is not None else Size(ctx.builder.param(size.code, "features"))
            )
        shapes.append(shape)
    ctx.shape = shapes[0]
    if unpacked:
        ctx.output_shapes = shapes
    holder = ctx.builder.param(var, var)
    return LayerPlan(
        keras_class="Functional"
        if functional or inner.keras_layer_names
        else "Sequential",  # keras.applications: Functional
        attr=ctx.attr,
        constructor=holder,
        forward=[f"x = self.{ctx.attr}(x)"],
        weights="nested",
        regularizers=[f"self.{ctx.attr}.regularization_loss()"] if inner.has_regularization else [],
        added_losses=[f"self.{ctx.attr}.added_loss()"] if inner.has_added_losses else [],
        nested=inner,
    )


def first_nested_input(spec, resolve_nested) -> list[Dim] | None:
    """The input sizes of ``spec`` when it declares none and its first layer is a model that does:
    Keras builds ``Sequential([base, layers.Dense(1)])`` on ``base``'s input shape. As code valid where
    the script builds ``spec`` (a size the inner module takes as a parameter is that parameter's argument)."""
    first = spec.layers[0] if spec.graph is None and spec.layers else None
    if (
        first is None
        or first.model is None
        or resolve_nested is None
        or first.model.var is None
        or not declares_input(first.model)
    ):
        return None
    inner: ModulePlan = resolve_nested(first.model, None, first.pos)
    if inner.forward_lines is not None:
        if len(inner.input_shapes) != 1:
            return None  # several inputs: convert_nested says why
        shape = inner.input_shapes[0]
    else:
        shape = inner.input_shape
    return [_argument_size(dim, inner.params, "input", first.model.var, first.pos) for dim in shape]


def declares_input(spec) -> bool:
    """Whether a model fixes its own input shape: an Input, input_shape=/input_dim= on its first layer, or a
    first layer that is a model fixing its own."""
    if spec.graph is not None or spec.input_shape is not None or spec.application is not None:
        return True
    if spec.layers and spec.layers[0].model is not None:
        return declares_input(spec.layers[0].model)
    return bool(spec.layers) and any(spec.layers[0].kwarg(key) is not None for key in ("input_shape", "input_dim"))
