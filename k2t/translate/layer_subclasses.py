"""A script's subclass of one of Keras's layers: ``class ClippedDense(layers.Dense)`` whose ``call`` post-processes
``super().call(inputs)``, ``class MCDropout(layers.Dropout)`` calling ``super().call(inputs, training=True)``.

The class becomes a subclass of the torch module k2t writes for its Keras base (``class ClippedDense(nn.Linear)``),
built where the model builds it with that module's arguments (``ClippedDense(6, 16)``) and initialised as the base
is, its weights copied as the base's are. ``super().call(x)`` is the base's forward as the converter writes it,
over ``super().forward``: Dense's activation is part of Dense.call, so ``super().call(x)`` of a
``ClippedDense(16, activation="relu")`` is ``F.relu(super().forward(x))`` (every use of the class must agree, as
the class is written once). ``training=True`` / ``False`` on a Dropout's ``super().call`` drops or keeps the values
whatever the module's mode, as Keras does.

k2t follows a subclass that overrides ``call`` alone (besides Keras's saving methods), on a base whose torch module
takes Keras's channels-last tensors (Dense, Dropout, normalisations ...), and whose call reads none of the base's
Keras attributes (``self.kernel``: torch's names differ).
"""

from __future__ import annotations

import re
import weakref
from dataclasses import dataclass

import libcst as cst

from ..cst_walk import Visitor
from ..diagnostics import Unsupported
from ..ir import KerasCall, LayerClass
from .model import LayerContext
from .plan import LayerPlan
from .registry import LAYERS

_CALL_TEMPLATE = re.compile(r"^(?P<callee>[A-Za-z_][\w.]*)\((?P<arguments>.*)\)(?P<comment>\s+#.*)?$")
_ARGUMENT = re.compile(r"(?<![\w.])x(?!\w)")  # the converter's input variable in its forward line


@dataclass(frozen=True)
class KerasSubclass:
    """What the class's rewrite needs of its translation: the torch base, and ``super().call(x)`` in torch."""

    base: str  # nn.Linear
    template: str  # F.relu(super().forward({0}))


# The translation of each subclass, kept until the class is rewritten (k2t.translate.custom_layers).
_TRANSLATED: weakref.WeakKeyDictionary[LayerClass, KerasSubclass] = weakref.WeakKeyDictionary()


def translated_subclass(layer_class: LayerClass) -> KerasSubclass | None:
    return _TRANSLATED.get(layer_class)


def convert_keras_subclass(ctx: LayerContext) -> LayerPlan:
    from .custom_layers import _KERAS_ONLY_METHODS, _pos, own_methods

    layer_class = ctx.layer.layer_class
    short = layer_class.keras_base.rsplit(".", 1)[-1]
    methods = {name: m for name, m in own_methods(layer_class).items() if name not in _KERAS_ONLY_METHODS}
    others = [name for name in methods if name != "call"]
    if others or "call" not in methods:
        what = f"also {', '.join(others)}" if others else "no call()"
        message = f"custom layer {layer_class.name} subclasses {short}: k2t translates a subclass of a Keras layer that overrides call() alone (here {what})"
        raise Unsupported(
            "K2T103", message, _pos(layer_class.script, methods[others[0]]) if others else layer_class.pos
        )
    call = methods["call"]
    _refuse_base_attributes(layer_class, call, short)
    converter = LAYERS.get(short)
    if converter is None or short == "Layer":
        raise Unsupported(
            "K2T103",
            f"custom layer {layer_class.name}: its base {short} is not a layer k2t translates",
            layer_class.pos,
        )
    ctx.keras_layout()  # the class's call works on Keras's channels-last tensors
    given = ctx.layer
    ctx.layer = KerasCall(layer_class.keras_base, given.args, given.kwargs, given.pos, keras_name=given.keras_name)
    input_shape = (
        None,
        *(None if dim is None else dim.value if dim.value is not None else dim.code for dim in ctx.shape),
    )
    pre = len(ctx.pre)
    try:
        plan = converter(ctx)
    except Unsupported as exc:
        raise Unsupported(exc.code, f"{layer_class.name} (a {short}): {exc.message}", exc.pos or given.pos) from None
    finally:
        ctx.layer = given
    if len(ctx.pre) != pre or ctx.layout != "keras" or plan.setup or len(plan.forward) != 1 or plan.constructor is None:
        message = f"custom layer {layer_class.name}: its base {short} is not translated as one torch module over Keras's channels-last tensors, which k2t subclasses"
        raise Unsupported("K2T103", message, given.pos)
    made = _CALL_TEMPLATE.match(plan.constructor)
    forward = plan.forward[0]
    self_call = f"{ctx.self_attr}(x)"
    if (
        made is None
        or not forward.startswith("x = ")
        or forward.count(self_call) != 1
        or len(_ARGUMENT.findall(forward)) != 2
    ):
        message = (
            f"custom layer {layer_class.name}: its base {short} is not translated as one torch module k2t can subclass"
        )
        raise Unsupported("K2T103", message, given.pos)
    template = forward[4:].replace("{", "{{").replace("}", "}}").replace(self_call, "super().forward({0})")
    translated = KerasSubclass(made["callee"], template)
    earlier = _TRANSLATED.get(layer_class)
    if earlier is not None and earlier != translated:
        message = (
            f"custom layer {layer_class.name} is used with arguments that make its base's forward other than at its first use "
            f"(`{earlier.template.format('x')}`, `{template.format('x')}`); k2t writes the class once"
        )
        raise Unsupported("K2T103", message, given.pos)
    _TRANSLATED[layer_class] = translated
    builtin_output = (
        None,
        *(None if dim is None else dim.value if dim.value is not None else dim.code for dim in ctx.shape),
    )
    _output_after_call(ctx, layer_class, call, input_shape, builtin_output)
    plan.keras_class = layer_class.name
    plan.activation = "linear"  # the base's activation is inside the module's forward (super().call applies it)
    plan.constructor = f"{layer_class.name}({made['arguments']}){made['comment'] or ''}"
    plan.forward = [f"x = {ctx.self_attr}(x{', training=self.training' if _reads_training(call) else ''})"]
    return plan


def _output_after_call(
    ctx: LayerContext, layer_class: LayerClass, call: cst.FunctionDef, input_shape: tuple, builtin_output: tuple
) -> None:
    """ctx.shape: the output of the class's call, ``super().call(x)`` giving the base's output."""
    from .custom_layers import _refuse_if_needed, _TensorShapes, dim_of
    from .op_code import import_names

    params = call.params.params[1:]
    shapes = _TensorShapes(import_names(layer_class.script.metadata), {})
    shapes.super_call = lambda shapes, node, names: builtin_output if node.args else None
    output = shapes.returned(call, params[0].name.value, input_shape) if params else None
    if output is None:
        _refuse_if_needed(ctx, layer_class)
        return
    ctx.shape = [dim_of(dim) for dim in output[1:]]


def _reads_training(call: cst.FunctionDef) -> bool:
    return any(p.name.value == "training" for p in [*call.params.params, *call.params.kwonly_params])


def _refuse_base_attributes(layer_class: LayerClass, call: cst.FunctionDef, short: str) -> None:
    from .custom_layers import _pos

    class Reads(Visitor):
        def visit_Attribute(self, node: cst.Attribute) -> None:
            if isinstance(node.value, cst.Name) and node.value.value == "self":
                message = f"custom layer {layer_class.name}: `self.{node.attr.value}` is {short}'s in Keras, which torch's module names otherwise; k2t translates a call() over super().call()"
                raise Unsupported("K2T103", message, _pos(layer_class.script, node))

    call.body.visit(Reads())


def super_call_rewrite(layer_class: LayerClass, call: cst.FunctionDef, found: list):
    """The CallRewrite for ``super().call(x, ...)`` in the class's call(): the base's forward in torch. A call k2t
    cannot write goes to ``found`` as (node, Unsupported)."""
    translated = _TRANSLATED.get(layer_class)
    training = "training" if _reads_training(call) else None

    def rewrite(original: cst.Call, updated: cst.Call) -> str | None:
        if translated is None or not is_super_method(original, "call"):
            return None
        tensors = [arg for arg in updated.args if arg.keyword is None]
        keywords = {arg.keyword.value: arg.value for arg in updated.args if arg.keyword is not None}
        flag = keywords.pop("training", None)
        if len(tensors) != 1 or tensors[0].star or keywords:
            found.append(
                (original, Unsupported("K2T103", "k2t translates super().call() on one tensor (and training=)"))
            )
            return None
        tensor = _code(tensors[0].value).strip()
        if flag is None or isinstance(flag, cst.Name) and flag.value == training:
            return translated.template.format(tensor)  # the module's own mode
        if isinstance(flag, cst.Name) and flag.value in ("True", "False") and translated.base == "nn.Dropout":
            # Keras's Dropout with training=True drops whatever the mode (Monte Carlo dropout); False keeps all
            return f"F.dropout({tensor}, self.p, training={flag.value})" if flag.value == "True" else tensor
        message = f"`training={_code(flag).strip()}` on super().call() of a {translated.base} is not translated (k2t follows the call's own training flag, and True/False on Dropout)"
        found.append((original, Unsupported("K2T103", message)))
        return None

    return rewrite


def is_super_method(node: cst.Call, method: str) -> bool:
    """``super().<method>(...)`` or ``super(Cls, self).<method>(...)``."""
    func = node.func
    return (
        isinstance(func, cst.Attribute)
        and func.attr.value == method
        and isinstance(func.value, cst.Call)
        and isinstance(func.value.func, cst.Name)
        and func.value.func.value == "super"
    )


_EMPTY = cst.Module(body=[])


def _code(node: cst.CSTNode) -> str:
    return _EMPTY.code_for_node(node)
