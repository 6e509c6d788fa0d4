"""Keras's model API on a translated model: freezing layers, ``model.count_params()`` and ``model.reset_states()``.

Freezing (``layer.trainable = False``) becomes ``requires_grad_(False)`` on the
layer's submodule where the script freezes it: torch computes no gradient for
those weights, so no optimizer step (and no weight decay, which the generated
optimizers apply only to weights with a gradient) changes them, as Keras's
optimizer never sees non-trainable weights. Two more Keras rules follow a frozen
layer: a frozen BatchNormalization runs in inference mode even inside fit()
(moving statistics used, not updated), and a frozen layer's regularizers add
nothing to the loss (Keras collects them from trainable weights only).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
from typing import TYPE_CHECKING

from ..diagnostics import Severity, Unsupported
from ..ir import FreezeSpec, KerasCall, LayerLoop, LayerRead, LayerSelection, ModelSpec, StateReset
from ..parse import KerasScript, Todo
from ..values import assigned_names
from .applications import keras_layer_count as application_layer_count
from .dims import keras_shape
from .helpers import Helper
from .layer_programs import INPUT_LAYER_NAME, KerasLayer, layer_flags
from .plan import LayerPlan, ModulePlan

if TYPE_CHECKING:
    from . import ScriptPlan

BATCH_NORM_TEMPLATE = "layers/batch_norm.py.j2"
_UNDER_FROZEN_MODEL = (
    "`trainable = True` on layers of `{var}` while `{var}.trainable` is False: Keras trains none of a frozen "
    "model's weights (its trainable_weights is empty) and sets every layer's flag when the model is unfrozen, "
    "so the statement changes nothing the training sees; the translation leaves it out"
)
_IGNORED = (
    "Keras (TensorFlow backend) skips this `trainable` assignment: the flag of `{var}` already has that value, so "
    "layers frozen one by one stay frozen; the translation does the same (set each layer's flag to change them)"
)
# Keras layers whose torch module keeps a weight Keras does not have: torch's second recurrent bias
# (bias_hh), held at zero and frozen (templates/layers/recurrent.py.j2, one_bias).
_ONE_BIAS = ("LSTM", "SimpleRNN")
# GRU(reset_after=False) is one of them too (its step loop's class, k2t.translate.recurrent._wrapper).
_RESET_BEFORE_GRU = "KerasGRUResetBefore"
# The generated class of a stateful recurrent layer ends so (k2t.translate.recurrent._wrapper).
_STATEFUL_CLASS = "Stateful("
_RECURRENT_CLASSES = frozenset({"SimpleRNN", "LSTM", "GRU", "Bidirectional"})  # Bidirectional resets both directions
_LINE_LENGTH = 100  # the modules a freezing loop lists on one line at most
_ONE_BIAS_NAMES = {"LSTM": "LSTM", "SimpleRNN": "SimpleRNN", "GRU": "GRU(reset_after=False)"}


def _plans_in(layer: LayerPlan) -> list[LayerPlan]:
    """``layer`` and, for a nested model, every layer inside it."""
    found = [layer]
    if layer.nested is not None:
        for inner in _module_layers(layer.nested):
            found.extend(_plans_in(inner))
    return found


def _module_layers(module: ModulePlan) -> list[LayerPlan]:
    if module.forward_lines is not None:  # Functional: one plan per node, a shared layer once
        seen: list[LayerPlan] = []
        for _, plan in module.node_plans:
            if plan is not None and not any(plan is other for other in seen):
                seen.append(plan)
        return seen
    return list(module.layers)


def _one_bias(layer: LayerPlan) -> bool:
    return bool(_one_bias_kinds(layer))


def _layer_plan(freeze: FreezeSpec | StateReset, module: ModulePlan, layer: KerasCall) -> LayerPlan | None:
    if module.forward_lines is None:
        for held, plan in zip(freeze.model.layers, module.layers):
            if held is layer:
                return plan
    else:
        for node, plan in module.node_plans:
            if node.layer is layer:
                return plan
    raise Unsupported(
        "K2T103", f"k2t cannot find the layer this statement reaches in the module of `{freeze.var}`", freeze.pos
    )


def _targets(freeze: FreezeSpec, module: ModulePlan) -> list[tuple[str, list[LayerPlan]]]:
    """(code of the torch module to freeze, the layer plans it holds) for each layer with weights (whose
    weight-transfer kind ``LayerPlan.weights`` is set)."""
    if freeze.layers is None:
        return [(freeze.var, [plan for layer in _module_layers(module) for plan in _plans_in(layer)])]
    if isinstance(freeze.layers, LayerSelection):
        return _application_targets(freeze, freeze.layers, module)
    targets = []
    for layer in freeze.layers:
        if layer is None:
            continue  # an InputLayer: no weights
        plan = _layer_plan(freeze, module, layer)
        if plan is not None and plan.attr is not None and plan.weights is not None:  # Dropout, Flatten...: no weights
            targets.append((f"{freeze.var}.{plan.attr}", _plans_in(plan)))
    return targets


def _selected(freeze: FreezeSpec, selection: LayerSelection, module: ModulePlan) -> list[LayerPlan | None]:
    """The layers of a keras.applications model that ``selection`` picks from Keras's ``model.layers``: its
    InputLayer (None here), then the module's layers, which are Keras's in Keras's order."""
    layers: list[LayerPlan | None] = [None, *module.layers]
    key = selection.key
    if isinstance(key, str):
        if key not in module.keras_layer_names:
            raise Unsupported(
                "K2T140",
                f"`{selection.code}`: {module.class_name} has no layer named {key!r} (Keras raises ValueError)",
                freeze.pos,
            )
        return [module.layers[module.keras_layer_names.index(key)]]
    if isinstance(key, tuple):  # the layers a loop's body set one flag on (k2t.translate.layer_programs)
        return [layer for index, layer in enumerate(layers) if index in key]
    if isinstance(key, int):
        if not -len(layers) <= key < len(layers):
            raise Unsupported(
                "K2T140",
                f"`{selection.code}`: {module.class_name} has {len(layers)} layers (Keras raises IndexError)",
                freeze.pos,
            )
        return [layers[key]]
    return [layer for layer in layers[key] if layer is None or selection.picks(layer.keras_class)]


def _attribute_code(var: str, path: str) -> str:
    """``base`` and ``blocks.3.dwconv`` -> ``base.blocks[3].dwconv`` (an nn.Sequential's items by index)."""
    return var + re.sub(r"\.(\d+)(?=\.|$)", r"[\1]", "." + path)


def _application_targets(
    freeze: FreezeSpec, selection: LayerSelection, module: ModulePlan
) -> list[tuple[str, list[LayerPlan]]]:
    """The submodules of the layers with weights that ``selection`` picks; where it picks every such layer of a
    block (``blocks.3.*``), the block itself, and a run of whole blocks as one slice (``*base.blocks[:6]``)."""
    picked = [plan for plan in _selected(freeze, selection, module) if plan is not None and plan.attr and plan.weights]
    if freeze.loop_var is None or len(picked) < 2:
        return [(_attribute_code(freeze.var, plan.attr), [plan]) for plan in picked]
    weighted = [plan.attr for plan in module.layers if plan.attr and plan.weights]
    targets: list[tuple[str, list[LayerPlan]]] = []
    run: tuple[str, int, int, list[LayerPlan]] | None = None  # (container, first block, last block, plans)
    index = 0
    while index < len(picked):
        plan = picked[index]
        match = re.fullmatch(r"(.+?)\.(\d+)\.(.+)", plan.attr)
        block = f"{match[1]}.{match[2]}." if match else None
        members = [attr for attr in weighted if block and attr.startswith(block)]
        chosen = [p for p in picked[index : index + len(members)] if p.attr.startswith(block or "\0")]
        if match and len(chosen) == len(members):  # the whole block
            container, number = match[1], int(match[2])
            if run is not None and run[0] == container and run[2] == number - 1:
                run = (container, run[1], number, run[3] + chosen)
            else:
                if run is not None:
                    targets.append(_run_target(freeze.var, run, weighted))
                run = (container, number, number, chosen)
            index += len(chosen)
            continue
        if run is not None:
            targets.append(_run_target(freeze.var, run, weighted))
            run = None
        targets.append((_attribute_code(freeze.var, plan.attr), [plan]))
        index += 1
    if run is not None:
        targets.append(_run_target(freeze.var, run, weighted))
    return targets


def _run_target(
    var: str, run: tuple[str, int, int, list[LayerPlan]], weighted: list[str]
) -> tuple[str, list[LayerPlan]]:
    container, first, last, plans = run
    code = _attribute_code(var, container)
    if first == last:
        return f"{code}[{first}]", plans
    blocks = {int(attr[len(container) + 1 :].split(".", 1)[0]) for attr in weighted if attr.startswith(container + ".")}
    if first == 0 and last == max(blocks):
        return f"*{code}", plans  # every block
    return f"*{code}[{first or ''}:{last + 1}]", plans


def _per_flag(freeze: FreezeSpec, module: ModulePlan) -> list[FreezeSpec]:
    """A loop whose body decides each layer's flag (k2t.parse.layer_programs) as one freeze per flag, of the layers
    the body gives it; any other freeze as it is."""
    selection = freeze.layers
    if not isinstance(selection, LayerSelection) or selection.program is None:
        return [freeze]
    if freeze.model_frozen:
        raise Unsupported(
            "K2T140",
            f"a loop setting the flags of layers of `{freeze.var}` while `{freeze.var}.trainable` is False is not "
            "translated: Keras trains none of a frozen model's weights",
            freeze.pos,
        )
    keras_layers = [
        KerasLayer(INPUT_LAYER_NAME, "InputLayer"),
        *(KerasLayer(name, plan.keras_class) for name, plan in zip(module.keras_layer_names, module.layers)),
    ]
    key = selection.key
    indices = list(range(len(keras_layers)))
    picked = indices[key] if isinstance(key, slice) else [indices[key]] if isinstance(key, int) else None
    if picked is None:
        raise Unsupported("K2T140", f"`{selection.code}` in a loop over layers is not translated", freeze.pos)
    flags = layer_flags(selection.program, [keras_layers[index] for index in picked], freeze.pos)
    by_flag: dict[bool, list[int]] = {}
    for index, flag in zip(picked, flags):
        if flag is not None:
            by_flag.setdefault(flag, []).append(index)
    return [
        dataclasses.replace(freeze, layers=LayerSelection(tuple(chosen), selection.code), trainable=flag)
        for flag, chosen in by_flag.items()
    ]


def _check(freeze: FreezeSpec, plans: list[LayerPlan]) -> bool:
    """Whether the frozen layers hold a BatchNormalization (which then runs in inference mode); raises where
    the translation would differ from Keras."""
    if freeze.trainable:
        if any(_one_bias(plan) for plan in plans):
            held = (
                "a GRU(reset_after=False)"
                if any("GRU" in _one_bias_kinds(plan) for plan in plans)
                else "an LSTM or SimpleRNN"
            )
            raise Unsupported(
                "K2T140",
                f"`trainable = True` on a layer holding {held} is not translated: requires_grad_(True) would also "
                "train torch's second bias, which the translation keeps at zero as Keras has none",
                freeze.pos,
            )
        return False
    if any(plan.regularizers for plan in plans):
        raise Unsupported(
            "K2T140",
            "freezing a layer that has a regularizer is not translated: Keras then drops its penalty from the loss",
            freeze.pos,
        )
    batch_norms = [plan for plan in plans if plan.keras_class == "BatchNormalization"]
    for plan in batch_norms:
        if "center=False" in (plan.constructor or "") and "scale=False" in (plan.constructor or ""):
            raise Unsupported(
                "K2T140", "freezing a BatchNormalization with neither center nor scale is not translated", freeze.pos
            )
    return bool(batch_norms)


def _lines(freeze: FreezeSpec, codes: list[tuple[str, bool]]) -> list[str]:
    """The statement's requires_grad_ lines, each module with the flag its own freeze sets: a statement in a loop
    k2t unrolls sets a flag per iteration (``model.layers[-1].trainable = i > 0``), one line each in order; a loop
    over a model's layers (one flag per layer) one loop per flag."""
    if freeze.loop_var is None:
        return [f"{code}.requires_grad_({trainable})" for code, trainable in codes]
    groups: dict[bool, list[str]] = {}
    for code, trainable in codes:
        groups.setdefault(trainable, []).append(code)
    lines = []
    for trainable, group in groups.items():
        if len(group) == 1:
            lines.append(f"{group[0]}.requires_grad_({trainable})")
            continue
        modules = ", ".join(group)
        if len(modules) > _LINE_LENGTH:  # one module a line, as black writes a long tuple
            modules = "\n" + "".join(f"    {code},\n" for code in group)
        lines.append(f"for {freeze.loop_var} in ({modules}):\n    {freeze.loop_var}.requires_grad_({trainable})\n")
    return lines


def translate_freezes(script: KerasScript, modules: dict[int, ModulePlan], plan: ScriptPlan) -> None:
    """Each freezing statement -> requires_grad_ lines on the submodules it reaches (none for layers without weights)."""
    by_statement: dict[int, list[FreezeSpec]] = {}
    for freeze in script.freezes:
        by_statement.setdefault(id(freeze.statement), []).append(freeze)
    inference_batch_norm = False
    for freezes in by_statement.values():
        statement = freezes[0].statement
        if any(id(freeze.model) not in modules for freeze in freezes):
            continue  # the model is not translated (its own diagnostic says why): the statement stays Keras's
        if all(freeze.ignored for freeze in freezes):
            plan.todos.append(
                Todo(statement, "K2T141", _IGNORED.format(var=freezes[0].var), freezes[0].pos, Severity.WARNING)
            )
            plan.statements[id(statement)] = []
            continue
        if all(freeze.model_frozen and freeze.trainable for freeze in freezes):
            _under_frozen_model(freezes, modules, plan)
            continue
        try:
            codes: list[tuple[str, bool]] = []
            reached: list[list[tuple[str, bool]]] = []  # per walk of the statement: the modules and their flags
            for freeze in freezes:
                reached.append([])
                for part in _per_flag(freeze, modules[id(freeze.model)]):
                    for code, plans in _targets(part, modules[id(part.model)]):
                        inference_batch_norm |= _check(part, plans)
                        codes.append((code, part.trainable))
                        reached[-1].append((code, part.trainable))
            programs = any(isinstance(freeze.layers, LayerSelection) and freeze.layers.program for freeze in freezes)
            if programs and any(sorted(each) != sorted(reached[0]) for each in reached):
                # A loop over a model's layers in a function called with other flags each time: the lines written
                # once in the function would run every call's flags at each call.
                raise Unsupported(
                    "K2T103",
                    "this loop sets other flags at each walk of it (a function called with other arguments): "
                    "not translated",
                    freezes[0].pos,
                )
            if any(freeze.under_branch for freeze in freezes) and any(
                [code for code, _ in each] != [code for code, _ in reached[0]] for each in reached
            ):
                # `for n in (16, 8): model.add(...); if n == 16: model.layers[-1].trainable = False`: the lines stay
                # in the loop, under the `if`, where each iteration would run every iteration's lines.
                raise Unsupported(
                    "K2T103",
                    "this `trainable` assignment under an `if` reaches a different layer at each walk of it (a loop "
                    "k2t unrolls, a helper called several times): not translated",
                    freezes[0].pos,
                )
        except Unsupported as exc:
            plan.todos.append(Todo(statement, exc.code, exc.message, exc.pos or freezes[0].pos))
            continue
        plan.statements[id(statement)] = _lines(freezes[0], codes)
    if inference_batch_norm:
        # Keras runs a frozen BatchNormalization in inference mode: the generated BatchNorm checks for it.
        plan.helpers = [
            dataclasses.replace(helper, args=(*helper.args, ("freezable", True)))
            if helper.template == BATCH_NORM_TEMPLATE
            else helper
            for helper in plan.helpers
        ]


def _under_frozen_model(freezes: list[FreezeSpec], modules: dict[int, ModulePlan], plan: ScriptPlan) -> None:
    """Layers of a frozen keras.applications model made trainable: nothing trains (a warning), but a
    BatchNormalization among them would normalise with its batch's statistics in training, which the
    translation, where a frozen BatchNorm is one without trainable weights, does not reproduce."""
    statement, freeze = freezes[0].statement, freezes[0]
    selection = freeze.layers
    assert isinstance(selection, LayerSelection)
    try:
        picked = _selected(freeze, selection, modules[id(freeze.model)])
    except Unsupported as exc:
        plan.todos.append(Todo(statement, exc.code, exc.message, exc.pos or freeze.pos))
        return
    if any(layer is not None and layer.keras_class == "BatchNormalization" for layer in picked):
        message = (
            f"`trainable = True` on a BatchNormalization of `{freeze.var}` while `{freeze.var}.trainable` is False is not "
            "translated: Keras trains none of its weights but normalises with the batch's statistics in training"
        )
        plan.todos.append(Todo(statement, "K2T140", message, freeze.pos))
        return
    plan.todos.append(
        Todo(statement, "K2T142", _UNDER_FROZEN_MODEL.format(var=freeze.var), freeze.pos, Severity.WARNING)
    )
    plan.statements[id(statement)] = []


def translate_state_resets(script: KerasScript, modules: dict[int, ModulePlan], plan: ScriptPlan) -> None:
    """Each ``layer.reset_states()`` -> the stateful layer's ``reset_states()``; nothing for a recurrent layer
    that keeps no states (Keras's resets nothing there either)."""
    for reset in script.state_resets:
        module = modules.get(id(reset.model))
        if module is None:
            continue  # the model is not translated (its own diagnostic says why): the statement stays Keras's
        try:
            plan.statements[id(reset.statement)] = [
                _reset_line(reset, module, layer) for layer in reset.layers if _resets(reset, module, layer)
            ]
        except Unsupported as exc:
            plan.todos.append(Todo(reset.statement, exc.code, exc.message, exc.pos or reset.pos))


def _resets(reset: StateReset, module: ModulePlan, layer: KerasCall | None) -> bool:
    """Whether ``layer`` keeps states to reset; raises where Keras's layer has no reset_states()."""
    if layer is None or layer.short_name not in _RECURRENT_CLASSES:
        name = "an InputLayer" if layer is None else f"a {layer.short_name} layer"
        raise Unsupported(
            "K2T140",
            f"reset_states() on {name}: Keras's recurrent layers have it, other layers do not (AttributeError)",
            reset.pos,
        )
    held = _layer_plan(reset, module, layer)
    return held is not None and _STATEFUL_CLASS in (held.constructor or "")


def _reset_line(reset: StateReset, module: ModulePlan, layer: KerasCall) -> str:
    return f"{reset.var}.{_layer_plan(reset, module, layer).attr}.reset_states()"


def count_params_call(var: str, module: ModulePlan, plan: ScriptPlan, pos) -> str:
    """``model.count_params()``: Keras counts every weight, trainable or not (BatchNormalization's moving statistics too)."""
    layers = [inner for layer in _module_layers(module) for inner in _plans_in(layer)]
    # Keras keeps an adapted Normalization's (EfficientNet's) mean, variance and count as weights; torch's module its
    # mean and variance as buffers. One given its mean and variance (ConvNeXt's PreStem) has no weights to count.
    normalizations = sum(1 for layer in layers if layer.keras_class == "Normalization" and layer.weights is not None)
    # torch's classes of the Keras layers with one bias: their second (bias_hh) is no Keras weight.
    kinds = [kind for kind in (*_ONE_BIAS, "GRU") if any(kind in _one_bias_kinds(layer) for layer in layers)]
    if "GRU" in kinds and any(_is_gru(layer) and "GRU" not in _one_bias_kinds(layer) for layer in layers):
        message = "model.count_params() of a model with GRUs both with and without reset_after=False is not translated"
        raise Unsupported("K2T140", message, pos)
    one_bias = tuple(sorted({_TORCH_RECURRENT[kind] for kind in kinds}))
    names = [_ONE_BIAS_NAMES[kind] for kind in kinds]
    one_bias_names = " and ".join(names) if len(names) < 3 else f"{', '.join(names[:-1])} and {names[-1]}"
    buffers = normalizations > 0 or any(layer.keras_class == "BatchNormalization" for layer in layers)
    arguments = (
        ("one_bias", one_bias),
        ("one_bias_names", one_bias_names),
        ("buffers", buffers),
        ("counts", normalizations),
    )
    helper = plan.add_helper(Helper("count_params", "functions/count_params.py.j2", arguments))
    return f"{plan.name(helper.name)}({var})"


def stateful_attrs(module: ModulePlan) -> tuple[list[str], bool]:
    """The attributes of the module's stateful recurrent layers (k2t.translate.recurrent: class Keras<kind>Stateful),
    and whether a nested model holds one too."""
    top = [
        layer.attr for layer in _module_layers(module) if _STATEFUL_CLASS in (layer.constructor or "") and layer.attr
    ]
    nested = any(
        _STATEFUL_CLASS in (inner.constructor or "")
        for layer in _module_layers(module)
        if layer.nested is not None
        for inner in _plans_in(layer)[1:]
    )
    return top, nested


def reset_states_call(var: str, module: ModulePlan, plan: ScriptPlan) -> str:
    """Keras 2's ``model.reset_states()``: each stateful layer's ``reset_states()``; nothing where none is stateful
    (Keras resets only the layers that keep states)."""
    attrs, nested = stateful_attrs(module)
    if nested or len(attrs) > 1:
        helper = plan.add_helper(Helper("reset_states", "functions/reset_states.py.j2"))
        return f"{plan.name(helper.name)}({var})"
    return f"{var}.{attrs[0]}.reset_states()" if attrs else ""


def shape_attribute(module: ModulePlan, attr: str, pos) -> int:
    """``model.input_shape`` / ``model.output_shape``: the module carries Keras's static shape under the same
    name (batch None, channels-last), so that the script's line reads as written. Returns how many shapes
    (inputs or outputs) there are."""
    if module.forward_lines is not None:
        shapes = module.input_shapes if attr == "input_shape" else module.output_shapes
    elif attr == "input_shape":
        shapes = [module.input_shape]
    else:
        shapes = [module.layers[-1].output_shape if module.layers else module.input_shape]
    params = {p.name for p in module.params}
    texts = []
    for shape in shapes:
        for dim in shape:
            if dim is not None and dim.value is None and dim.code not in params:
                raise Unsupported("K2T140", f"model.{attr}: the size {dim} is not known where the module is built", pos)
        texts.append(keras_shape(shape))
    # Keras gives a list of shapes for several inputs or outputs, one tuple for one.
    module.shape_attributes[attr] = texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"
    return len(texts)


def keras_metrics_names(spec: ModelSpec, compiled, pos) -> list[str]:
    """``model.metrics_names``: Keras 3 names its loss tracker and, where compile() has a metrics argument (even an
    empty list), the one object holding them all ("compile_metrics", where Keras 2 listed each metric); nothing
    before compile()."""
    if compiled is None:
        return []
    if spec.graph is not None and len(spec.graph.outputs) > 1 or spec.steps is not None:
        raise Unsupported("K2T140", "model.metrics_names of a model with several outputs or its own train_step", pos)
    return ["loss", "compile_metrics"] if compiled.metrics_given else ["loss"]


def keras_layer_count(spec: ModelSpec, pos) -> int:
    """``len(model.layers)``: Keras 3's count, from the architecture. A Sequential's ``layers`` leaves out its
    InputLayer, a Functional model's holds one per input; a shared layer and a nested model count once."""
    if spec.unfollowed is not None:
        raise Unsupported("K2T140", f"len(model.layers): {spec.unfollowed}", pos)
    if spec.application is not None:
        return application_layer_count(spec.application)
    if spec.creation_order or spec.steps is not None:
        raise Unsupported("K2T140", "len(model.layers) of this kind of model is not translated", pos)
    if spec.graph is None:
        layers = [layer for layer in spec.layers if layer.name not in _INPUT_LAYERS]
        if not all(_counted_as_one(layer) for layer in layers):
            raise Unsupported(
                "K2T140", "len(model.layers) of a model with layers k2t cannot count is not translated", pos
            )
        return len(layers)
    applied = {}
    for node in spec.graph.nodes:
        if node.layer is None or node.layer.operator:
            continue  # `a + b`: Keras 3's op, which model.layers does not list
        if not _counted_as_one(node.layer):
            message = "len(model.layers) of a model with operations that are not layers is not translated"
            raise Unsupported("K2T140", message, pos)
        applied[node.layer_id] = node.layer
    return len(spec.graph.inputs) + len(applied)


_INPUT_LAYERS = ("keras.Input", "keras.layers.Input", "keras.layers.InputLayer")


def _counted_as_one(layer: KerasCall) -> bool:
    """A Keras layer or a nested model: one item of ``model.layers``."""
    return layer.model is not None or layer.name.startswith("keras.layers.")


def losses_sum(var: str, module: ModulePlan) -> str:
    """``sum(model.losses)``: Keras's list holds each regularizer's penalty on the weights as they are now and
    each term the layers added in the last call; the module sums the first in ``regularization_loss()`` and
    the second in ``added_loss()``. Python's sum of Keras's empty list is 0."""
    terms = [f"{var}.regularization_loss()"] if module.has_regularization else []
    terms += [f"{var}.added_loss()"] if module.has_added_losses else []
    return " + ".join(terms) or "0"


# Layers whose Keras weights are the torch module's parameters one for one (kernel/weight, bias, gamma/weight,
# beta/bias, embeddings/weight); BatchNormalization adds its moving mean and variance, torch's running
# statistics buffers, which Keras counts among its non-trainable weights.
_SAME_WEIGHTS = {"dense", "conv", "depthwise_conv", "embedding", "layernorm", "batchnorm"}
# Layers with no weights in either framework.
_WEIGHTLESS = {
    "Add",
    "Concatenate",
    "Multiply",
    "Dropout",
    "Flatten",
    "Activation",
    "ReLU",
    "LeakyReLU",
    "Softmax",
    "Reshape",
    "ZeroPadding2D",
    "SpatialDropout1D",
    "SpatialDropout2D",
    "GaussianNoise",
    "GaussianDropout",
    "Permute",
    "RepeatVector",
    *(f"UpSampling{rank}D" for rank in (1, 2, 3)),
    *(f"Cropping{rank}D" for rank in (1, 2, 3)),
    *(f"{kind}Pooling{rank}D" for kind in ("Max", "Average", "GlobalMax", "GlobalAverage") for rank in (1, 2, 3)),
}


def variable_count(var: str, attr: str, module: ModulePlan, pos) -> str:
    """``len(model.trainable_variables)`` and the like: an expression over the module's parameters, which
    gives Keras's count at that point of the script (freezing turns requires_grad off where Keras's
    trainable=False moves the weights to the non-trainable list). Only where every layer's weights are
    its parameters one for one."""
    layers = [inner for layer in _module_layers(module) for inner in _plans_in(layer)]
    for layer in layers:
        if layer.nested is not None or layer.keras_class in _WEIGHTLESS:
            continue
        if layer.weights not in _SAME_WEIGHTS:
            message = f"len({var}.{attr}): the {layer.keras_class} layer's weights are not counted one for one in torch"
            raise Unsupported("K2T140", message, pos)
    statistics = 2 * sum(layer.weights == "batchnorm" for layer in layers)
    buffers = f" + {statistics}" if statistics else ""
    if attr in ("trainable_variables", "trainable_weights"):
        return f"sum(p.requires_grad for p in {var}.parameters())"
    if attr == "non_trainable_weights":
        return f"sum(not p.requires_grad for p in {var}.parameters()){buffers}"
    return f"len(list({var}.parameters())){buffers}"


def tensor_shape_read(var: str, attr: str, count: int, index: int | None, pos) -> str:
    """``model.inputs[i].shape`` / ``model.input.shape`` as the module's shape attribute: Keras 3's tensors
    give their shape as the same tuple (batch None) that ``model.input_shape`` holds."""
    tensors = "inputs" if attr == "input_shape" else "outputs"
    if index is None:
        if count != 1:  # Keras: model.input of several inputs is a list, which has no .shape
            raise Unsupported(
                "K2T140",
                f"model.{tensors[:-1]} of a model with {count} {tensors} is a list; .shape of it is not translated",
                pos,
            )
        return f"{var}.{attr}"
    if not -count <= index < count:
        raise Unsupported("K2T140", f"model.{tensors}[{index}]: the model has {count} {tensors}", pos)
    return f"{var}.{attr}" if count == 1 else f"{var}.{attr}[{index}]"


_TORCH_RECURRENT = {"LSTM": "nn.LSTM", "SimpleRNN": "nn.RNN", "GRU": "nn.GRU"}


def _is_gru(layer: LayerPlan) -> bool:
    return (
        layer.keras_class == "GRU" or layer.keras_class == "Bidirectional" and "KerasGRU" in (layer.constructor or "")
    )


def _one_bias_kinds(layer: LayerPlan) -> list[str]:
    """The one-bias recurrent layers ``layer`` is or wraps (Bidirectional(LSTM(...)))."""
    if layer.keras_class in _ONE_BIAS:
        return [layer.keras_class]
    reset_before = ["GRU"] if _RESET_BEFORE_GRU in (layer.constructor or "") else []
    if layer.keras_class == "GRU":
        return reset_before
    if layer.keras_class == "Bidirectional":
        return [kind for kind in _ONE_BIAS if f"Keras{kind}" in (layer.constructor or "")] + reset_before
    return []


# ------------------------------------------------------------ reading a layer
# Layers whose Keras weights get_weights() gives from the torch module's parameters (and BatchNormalization's
# buffers), in the same order: (LayerPlan.weights, the constructor's start) -> what the generated helper needs.
_GET_WEIGHTS = {
    ("dense", "nn.Linear("): "kernels",
    ("conv", "nn.Conv"): "kernels",
    ("embedding", "nn.Embedding("): "embedding",
    ("layernorm", "nn.LayerNorm("): "",
    ("batchnorm", "BatchNorm("): "buffers",
}


def _literal(value: object) -> str:
    """A value as the generated code spells it (strings in double quotes)."""
    return json.dumps(value) if isinstance(value, str) else repr(value)


def _read_code(read: LayerRead) -> str:
    return (
        f"{read.code}.{read.attr}"
        if read.attr not in ("output_shape", "input_shape")
        else (f"{read.code}.{read.attr.removesuffix('_shape')}.shape")
    )


def _plan_of(model: ModelSpec, var: str, module: ModulePlan, layer: KerasCall, pos) -> LayerPlan:
    holder = dataclasses.make_dataclass("Holder", ["model", "var", "pos"])(model, var, pos)
    plan = _layer_plan(holder, module, layer)
    assert plan is not None
    return plan


def _script_shape(shape: list, what: str, pos, at_read=None) -> str:
    """A static shape as Keras gives it (batch None), with the numbers k2t knows at conversion; ``at_read`` gives
    the code of a size read off the data (a constructor parameter) where the script reads the shape, or None."""
    sizes = []
    for dim in shape:
        value = None if dim is None else dim.value if dim.value is not None else dim.hint
        if dim is not None and value is None:
            code = at_read(dim.code) if at_read is not None else None
            if code is None:
                raise Unsupported("K2T140", f"{what}: the size {dim.code} is known only where the module is built", pos)
            value = code  # `X_train.shape[1]`: what the module's constructor received, read again here
        sizes.append("None" if dim is None else str(value))
    return "(" + ", ".join(["None", *sizes]) + ("," if not sizes else "") + ")"


def _graph_node(model: ModelSpec, layer: KerasCall, what: str, pos):
    nodes = [node for node in model.graph.nodes if node.layer is layer]
    if len(nodes) != 1:
        # Keras's layer.output / layer.input: "The layer has multiple inbound nodes" (a shared layer).
        raise Unsupported("K2T140", f"{what}: the layer is applied {len(nodes)} times in the model (Keras raises)", pos)
    return nodes[0]


def layer_shape(
    model: ModelSpec, module: ModulePlan, layer: KerasCall | None, attr: str, what: str, pos, at_read=None
) -> str:
    """``layer.output.shape`` / ``layer.input.shape`` of a layer of ``model``: Keras's static shape."""
    if module.forward_lines is None:  # Sequential: each layer's input is the previous one's output
        if layer is None:
            raise Unsupported("K2T140", f"{what}: k2t cannot find this layer", pos)
        index = next(i for i, held in enumerate(model.layers) if held is layer)
        if attr == "output_shape":
            return _script_shape(module.layers[index].output_shape, what, pos, at_read)
        previous = module.layers[index - 1].output_shape if index else module.input_shape
        return _script_shape(previous, what, pos, at_read)
    graph = model.graph
    if layer is None:  # the InputLayer of a one-input chain: its input and output are the Input's
        return _script_shape(module.input_shapes[0], what, pos, at_read)
    node = _graph_node(model, layer, what, pos)
    if attr == "input_shape":
        if len(node.inputs) != 1:
            raise Unsupported("K2T140", f"{what}: the layer takes {len(node.inputs)} tensors (a list of shapes)", pos)
        node = node.inputs[0]
        if node.layer is None:
            return _script_shape(module.input_shapes[[id(n) for n in graph.inputs].index(id(node))], what, pos, at_read)
    if id(node) not in module.node_shapes:
        raise Unsupported("K2T140", f"{what}: k2t does not know this tensor's shape", pos)
    return _script_shape(module.node_shapes[id(node)], what, pos, at_read)


def _size_at_read(script: KerasScript, read, module: ModulePlan, code: str) -> str | None:
    """A size of the module known only where it is built (``input_dim_0``), as the code that gave it
    (``X_train.shape[1]``), where the script reads a layer's shape: when the model is made and read at the module's
    level and nothing in between binds again a name that code reads. None otherwise."""
    from .saving import _names_in, _with_arguments

    arguments = {p.name: p.argument for p in module.params}
    if not _names_in(code) <= set(arguments):
        return None
    body = list(script.module.body)
    start = next((i for i, s in enumerate(body) if s is read.model.statement), None)
    end = next((i for i, s in enumerate(body) if s is read.statement), None)
    if start is None or end is None or start >= end:
        return None
    value = _with_arguments(code, arguments)
    read_names = _names_in(value)
    if any(read_names & assigned_names(statement) for statement in body[start + 1 : end]):
        return None
    return value


def _weightless(plan: LayerPlan | None) -> bool:
    """A layer without weights in Keras and torch: an InputLayer, one without a submodule, or one of _WEIGHTLESS."""
    return plan is None or (
        plan.nested is None and plan.weights is None and (not plan.attr or plan.keras_class in _WEIGHTLESS)
    )


def _weights_kind(plan: LayerPlan | None, what: str, pos) -> str | None:
    """What the get_weights helper needs for this layer ("kernels", "buffers", ...); None: no weights (Keras
    gives [])."""
    if _weightless(plan):
        return None
    if plan.nested is None and not plan.in_block:
        for (kind, constructor), need in _GET_WEIGHTS.items():
            if plan.weights == kind and (plan.constructor or "").startswith(constructor):
                return need
    held = "a nested model" if plan.nested is not None else f"a {plan.keras_class} layer"
    raise Unsupported("K2T140", f"{what} of {held} is not translated", pos)


def _submodule(var: str, plan: LayerPlan | None) -> str:
    return _attribute_code(var, plan.attr) if plan is not None and plan.attr else "None"


def _count_params(plan: LayerPlan | None, what: str, pos) -> str:
    if _weightless(plan):
        return "0"
    if plan.params is None or plan.nested is not None:
        raise Unsupported("K2T140", f"{what}: k2t does not know this layer's number of weights", pos)
    return str(plan.params)


def translate_layer_reads(script: KerasScript, modules: dict[int, ModulePlan], plan: ScriptPlan) -> None:
    """``model.layers[0].name`` and the like (k2t.ir.LayerRead), ``first = model.layers[0]`` (LayerAlias) and
    loops reading ``model.layers`` (LayerLoop): what Keras gives, where the script reads it."""
    weights: list[tuple[str, object, str]] = []  # (kind of the helper's need, node, submodule code)
    comments: dict[int, list[str]] = {}
    for read in script.layer_reads:
        module = modules.get(id(read.model))
        if module is None:
            continue  # the model is not translated (its own diagnostic says why)
        what = _read_code(read)
        try:
            if read.attr in ("output_shape", "input_shape"):
                at_read = functools.partial(_size_at_read, script, read, module)
                code = layer_shape(read.model, module, read.layer, read.attr, what, read.pos, at_read)
            elif read.attr in ("get_weights", "count_params"):
                held = None if read.layer is None else _plan_of(read.model, read.var, module, read.layer, read.pos)
                if read.attr == "count_params":
                    code = _count_params(held, what + "()", read.pos)
                else:
                    kind = _weights_kind(held, what + "()", read.pos)
                    code = None if kind is not None else "[]"
                    if kind is not None:
                        weights.append((kind, read.node, _submodule(read.var, held)))
            elif read.known is None:
                raise Unsupported("K2T140", f"`{what}`: {read.why}", read.pos)
            else:
                code = _literal(read.known)
        except Unsupported as exc:
            plan.todos.append(Todo(read.statement, exc.code, exc.message, exc.pos or read.pos))
            continue
        if code is not None:
            plan.calls[id(read.node)] = code
            if read.attr != "get_weights":
                comments.setdefault(id(read.statement), []).append(what + ("()" if read.attr == "count_params" else ""))
    for statement in script.layer_reads:
        reads = comments.pop(id(statement.statement), None)
        if reads and id(statement.statement) not in plan.trailing_comments:
            plan.trailing_comments[id(statement.statement)] = "# Keras's " + ", ".join(reads)
    for alias in script.layer_aliases:
        module = modules.get(id(alias.model))
        if module is None:
            continue
        held = None if alias.layer is None else _plan_of(alias.model, alias.var, module, alias.layer, alias.pos)
        if held is not None and held.attr:
            plan.statements[id(alias.statement)] = [f"{alias.target} = {_submodule(alias.var, held)}"]
        else:
            plan.statements[id(alias.statement)] = []  # a layer without weights: its reads are what Keras gives
    for loop in script.layer_loops:
        module = modules.get(id(loop.model))
        if module is None:
            continue
        try:
            records, needs = _loop_records(loop, module)
        except Unsupported as exc:
            plan.todos.append(Todo(loop.statement, exc.code, exc.message, exc.pos or loop.pos))
            continue
        plan.calls[id(loop.iterable)] = records
        for node, attr in loop.calls:
            if attr == "get_weights":
                weights.extend((need, node, f"{loop.loop_var}.module") for need in needs)
            else:
                plan.calls[id(node)] = f"{loop.loop_var}.{attr}"
    if weights:
        needs = {need for need, _, _ in weights}
        arguments = tuple((key, key in needs) for key in ("kernels", "embedding", "buffers", "missing"))
        helper = plan.add_helper(Helper("get_weights", "functions/get_weights.py.j2", arguments))
        for _, node, submodule in weights:
            plan.calls[id(node)] = f"{plan.name(helper.name)}({submodule})"


def _loop_records(loop: LayerLoop, module: ModulePlan) -> tuple[str, list[str]]:
    """The records ``for layer in model.layers`` runs over, as code, and what the get_weights helper needs."""
    unknown = next((attr for attr in loop.attrs if attr in loop.why), None)
    if unknown is not None:
        raise Unsupported("K2T140", f"`{loop.loop_var}.{unknown}` in this loop: {loop.why[unknown]}", loop.pos)
    weights = any(attr == "get_weights" for _, attr in loop.calls)
    needs: list[str] = []
    records = []
    for layer, known in zip(loop.layers, loop.known):
        held = None if layer is None else _plan_of(loop.model, loop.var, module, layer, loop.pos)
        fields = []
        for attr in loop.attrs:
            if attr in ("output_shape", "input_shape"):
                what = f"{loop.loop_var}.{attr.removesuffix('_shape')}.shape"
                fields.append(f"{attr}={layer_shape(loop.model, module, layer, attr, what, loop.pos)}")
            else:
                fields.append(f"{attr}={_literal(known[attr])}")
        if weights:
            kind = _weights_kind(held, f"{loop.loop_var}.get_weights()", loop.pos)
            needs.append("missing" if kind is None and not (held is not None and held.attr) else kind or "")
            fields.append(f"module={_submodule(loop.var, held)}")
        records.append(f"    SimpleNamespace({', '.join(fields)}),\n")
    read = [_LOOP_FIELDS.get(attr, attr) for attr in loop.attrs] + (["submodule"] if weights else [])
    what = ", ".join(read[:-1]) + " and " + read[-1] if len(read) > 1 else read[0]
    comment = f"    # Keras's {loop.code} as the loop starts: each layer's {what}\n"
    return "(\n" + comment + "".join(records) + ")", [need for need in needs if need]


_LOOP_FIELDS = {"trainable": "trainable flag", "output_shape": "output shape", "input_shape": "input shape"}
