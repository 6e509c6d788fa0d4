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

from ..diagnostics import Unsupported
from .plan import LayerPlan, ModulePlan


def _static_int(code: str) -> bool:
    try:
        int(code)
    except ValueError:
        return False
    return True


def convert_nested(ctx) -> LayerPlan:
    """The LayerPlan of ``ctx.layer`` (a KerasCall whose ``model`` is the inner ModelSpec)."""
    spec = ctx.layer.model
    resolve = ctx.builder.resolve_nested
    if resolve is None or spec.var is None:
        raise Unsupported("K2T103", "a model used as a layer is translated only when the script keeps it in a variable", ctx.layer.pos)
    ctx.keras_layout()  # the inner module takes and returns Keras's (channels-last) layout
    # The inner module's input sizes, as code valid where the script builds the inner model.
    arguments = []
    for dim in ctx.shape:
        if _static_int(dim):
            arguments.append(dim)
            continue
        param = next((p for p in ctx.builder.params if p.name == dim), None)
        if param is None:
            raise Unsupported("K2T103", f"the input size {dim} of the nested model `{spec.var}` is not known statically", ctx.layer.pos)
        arguments.append(param.argument)
    inner: ModulePlan = resolve(spec, arguments, ctx.layer.pos)
    functional = inner.forward_lines is not None
    if functional and (len(inner.forward_args) != 1 or len(inner.output_names) != 1):
        raise Unsupported(
            "K2T103", f"the nested model `{spec.var}` has several inputs or outputs: not translated as a layer", ctx.layer.pos
        )
    if functional:
        output = inner.output_shapes[0]
    elif inner.layers:
        output = inner.layers[-1].output_shape
    else:
        output = inner.input_shape
    shape = []
    for dim in output:
        if _static_int(dim):
            shape.append(dim)
            continue
        param = next((p for p in inner.params if p.name == dim), None)
        if param is None:
            raise Unsupported("K2T103", f"the output size {dim} of the nested model `{spec.var}` is not known statically", ctx.layer.pos)
        shape.append(ctx.builder.param(param.argument, "features"))
    ctx.shape = shape
    holder = ctx.builder.param(spec.var, spec.var)
    return LayerPlan(
        keras_class="Functional" if functional or inner.keras_layer_names else "Sequential",  # keras.applications: Functional
        attr=ctx.attr,
        constructor=holder,
        forward=[f"x = self.{ctx.attr}(x)"],
        weights="nested",
        regularizers=[f"self.{ctx.attr}.regularization_loss()"] if inner.has_regularization else [],
        added_losses=[f"self.{ctx.attr}.added_loss()"] if inner.has_added_losses else [],
        nested=inner,
    )


def first_nested_input(spec, resolve_nested) -> list[str | None] | None:
    """The input sizes of ``spec`` when it declares none and its first layer is a model that does:
    Keras builds ``Sequential([base, layers.Dense(1)])`` on ``base``'s input shape. As code valid where
    the script builds ``spec`` (a size the inner module takes as a parameter is that parameter's argument)."""
    first = spec.layers[0] if spec.graph is None and spec.layers else None
    if first is None or first.model is None or resolve_nested is None or first.model.var is None or not declares_input(first.model):
        return None
    inner: ModulePlan = resolve_nested(first.model, None, first.pos)
    if inner.forward_lines is not None:
        if len(inner.input_shapes) != 1:
            return None  # several inputs: convert_nested says why
        shape = inner.input_shapes[0]
    else:
        shape = inner.input_shape
    sizes: list[str | None] = []
    for dim in shape:
        if dim is None or _static_int(dim):
            sizes.append(dim)
            continue
        param = next((p for p in inner.params if p.name == dim), None)
        if param is None:
            raise Unsupported("K2T103", f"the input size {dim} of the nested model `{first.model.var}` is not known statically", first.pos)
        sizes.append(param.argument)
    return sizes


def declares_input(spec) -> bool:
    """Whether a model fixes its own input shape: an Input, input_shape=/input_dim= on its first layer, or a
    first layer that is a model fixing its own."""
    if spec.graph is not None or spec.input_shape is not None or spec.application is not None:
        return True
    if spec.layers and spec.layers[0].model is not None:
        return declares_input(spec.layers[0].model)
    return bool(spec.layers) and any(spec.layers[0].kwarg(key) is not None for key in ("input_shape", "input_dim"))
