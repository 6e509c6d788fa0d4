"""Layers the script keeps in a variable and uses outside a model.

``norm = layers.Normalization(); norm.adapt(x); model = Sequential([norm, ...])``:
the layer becomes a torch module built where the script builds the Keras
layer, ``norm.adapt(x)`` stays a method call on it, and the models that
contain it receive it as a constructor argument (``Net(normalizer=normalizer)``),
so the variable and the model share one module, as they share one Keras layer.

A layer object used only inside models is folded into them like any layer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import libcst as cst

from ..diagnostics import Unsupported
from ..ir import KerasCall
from ..parse import KerasScript, Todo
from . import registry
from .helpers import Helper

if TYPE_CHECKING:
    from . import ScriptPlan


@dataclass(frozen=True)
class LayerObjectPlan:
    """How to build the torch module of a layer object: ``{helper}({arguments})``."""

    helper: Helper  # the generated class
    arguments: str  # its constructor arguments, as code


@dataclass(frozen=True)
class ScriptLayerObjects:
    """What a layer-object converter knows of the whole script, so that one generated class serves all its objects."""

    calls: tuple[KerasCall, ...]  # every layer object the script uses outside a model
    datasets: bool  # the script builds tf.data pipelines, which an adapt() may read


def translate_layer_objects(script: KerasScript, plan: ScriptPlan, datasets: bool) -> None:
    """Rewrite the statements that build layer objects the script uses outside its models (``datasets``:
    the script builds tf.data pipelines)."""
    from . import normalization, preprocessing, text_layers  # noqa: F401  (each family registers its converters)
    from .text_callables import translate_text_callables

    def kept_object(bound) -> bool:
        # A layer of strings or integers stays the script's object even where only a model uses it: the module
        # holds it and applies it in preprocess() (k2t.translate.text_layers.host_input_layer).
        on_data = bound.call.name.startswith("keras.layers.") and bound.call.short_name in text_layers.DATA_LAYERS
        return bool(bound.uses) or on_data

    # Every layer object the script uses outside a model: a converter may write its generated class for all of them.
    kept = tuple(bound.call for bound in script.layer_objects if kept_object(bound))
    generated: dict[str, str] = {}  # canonical Keras class -> its generated class
    written: dict[int, list[str]] = {}  # id(statement) -> the lines of the layers it keeps
    for bound in script.layer_objects:
        if not kept_object(bound):
            continue
        script.removed.discard(id(bound.statement))  # built where the script builds it (a model's only use: as well)
        converter = (
            registry.LAYER_OBJECTS.get(bound.call.short_name) if bound.call.name.startswith("keras.layers.") else None
        )
        if converter is None:
            line = bound.uses[0][0]
            plan.todos.append(
                Todo(
                    bound.statement,
                    "K2T100",
                    f"the layer `{bound.var}` is used outside a model (line {line}), which k2t does not translate for {bound.call.short_name}",
                    bound.call.pos,
                )
            )
            continue
        try:
            if bound.call.short_name == "TextVectorization":
                translate_text_callables(
                    bound.call, text_layers.DATA_LAYERS["TextVectorization"].parameters, script, plan
                )
            made: LayerObjectPlan = converter(bound.call, ScriptLayerObjects(kept, datasets))
        except Unsupported as exc:
            plan.todos.append(Todo(bound.statement, exc.code, exc.message, exc.pos or bound.call.pos))
            continue
        helper = plan.add_helper(made.helper)
        generated[bound.call.name] = plan.name(helper.name)
        # `lookup = lookup_class(...)`: the class stays the name's, which each branch of its choice sets.
        line = f"{bound.var} = {bound.class_alias or generated[bound.call.name]}({made.arguments})"
        # `conv1, conv2 = layers.Conv1D(...), layers.Conv1D(...)`: one statement, a line per layer it keeps.
        lines = written.setdefault(id(bound.statement), [])
        if line not in lines:
            lines.append(line)
        plan.statements[id(bound.statement)] = list(lines)
    _translate_class_choices(script, plan, generated)
    translate_helper_layers(script, plan)


def _translate_class_choices(script: KerasScript, plan: ScriptPlan, generated: dict[str, str]) -> None:
    """``lookup_class = layers.StringLookup if is_string else layers.IntegerLookup`` -> the generated classes."""
    for choice in script.layer_class_choices:
        missing = [
            (branch, pos) for (branch, name), pos in zip(choice.branches, choice.positions) if name not in generated
        ]
        if missing:
            node, pos = missing[0]
            message = f"`{script.module.code_for_node(node)}` is chosen here, and no call k2t followed built a layer of it: k2t writes the classes the calls build"
            plan.todos.append(Todo(choice.statement, "K2T100", message, pos))
            continue
        for branch, name in choice.branches:
            plan.calls[id(branch)] = generated[name]


def translate_helper_layers(script: KerasScript, plan: ScriptPlan) -> None:
    """``chol_encoded = encode_numerical_feature(chol, "chol", train_ds)`` -> ``chol_encoded =
    encode_numerical_feature("chol", train_ds)``: the function returns the layer it made and adapted, which the
    model receives from the call's name, and no longer takes the Keras tensors (built into the model)."""
    for made in script.helper_layers:
        kept = [arg for arg in made.call.args if not _passes_tensor(arg, made)]
        if kept:
            kept[-1] = kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        call = script.module.code_for_node(made.call.with_changes(args=kept))
        script.removed.discard(id(made.statement))
        plan.statements[id(made.statement)] = [f"{made.layer.outside_name} = {call}"]
        plan.statements[id(made.returned)] = [f"return {made.layer.var}"]
        plan.removed_parameters[id(made.function)] = made.tensor_parameters


def _passes_tensor(arg: cst.Arg, made) -> bool:
    """Whether the call passes a Keras tensor with ``arg`` (by keyword, or at a tensor parameter's position)."""
    if arg.keyword is not None:
        return arg.keyword.value in made.tensor_parameters
    params = made.function.params
    positional = [p.name.value for p in (*params.posonly_params, *params.params)]
    index = [a for a in made.call.args if a.keyword is None].index(arg)
    return index < len(positional) and positional[index] in made.tensor_parameters
