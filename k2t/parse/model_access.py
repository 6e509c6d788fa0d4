"""Layers reached through variables and through the model API, as the parser follows them.

- Layer lists: ``hidden = [layers.Dense(64), layers.Dense(32)]`` (or a
  comprehension, or ``hidden = []`` then ``hidden.append(layers.Dense(n))``)
  then ``keras.Sequential([keras.Input(shape=(8,))] + hidden + [layers.Dense(1)])``.
  The list's layers are created where the list is built and belong to the
  model that takes them; a second model taking them would share them.
- The names Keras gives layers (``dense``, ``dense_1``: one counter per class
  for the whole session), for ``model.get_layer("dense_1")``.
- ``model.layers[i]``, ``model.get_layer(name)``, a layer variable or a model
  reached by ``.trainable = False`` (freezing), one statement or a loop
  ``for layer in base.layers[:k]: layer.trainable = False``.

The parser (k2t.parse) calls in here; everything Keras-side stays in the IR
(``KerasScript.freezes``, ``KerasCall.keras_name``) for translate.model_api.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import libcst as cst

from ..cst_walk import Visitor
from ..ir import (
    NO_LITERAL,
    FreezeSpec,
    Instance,
    KerasCall,
    LayerLoop,
    LayerRead,
    LayerSelection,
    ModelSpec,
    StateReset,
    TensorNode,
    Value,
)
from ..ir import LayerAlias as IRLayerAlias
from ..values import Unknown
from .graph import call_key, keras_layer_order
from .loads import saved_before
from .syntax import _body_of, is_docstring, read_names

if TYPE_CHECKING:
    from .parser import _Parser
    from .scope import _Scope

# Keras 3 layer aliases, as the class whose name Keras counts (keras.layers.MaxPool2D is MaxPooling2D).
_CLASS_ALIASES = {
    **{f"AvgPool{n}D": f"AveragePooling{n}D" for n in (1, 2, 3)},
    **{f"GlobalAvgPool{n}D": f"GlobalAveragePooling{n}D" for n in (1, 2, 3)},
    **{f"GlobalMaxPool{n}D": f"GlobalMaxPooling{n}D" for n in (1, 2, 3)},
    **{f"MaxPool{n}D": f"MaxPooling{n}D" for n in (1, 2, 3)},
    **{f"Convolution{n}D": f"Conv{n}D" for n in (1, 2, 3)},
    **{f"Convolution{n}DTranspose": f"Conv{n}DTranspose" for n in (1, 2, 3)},
    **{f"SeparableConvolution{n}D": f"SeparableConv{n}D" for n in (1, 2)},
}
# Layers a Functional graph may get from a function or an operator (layers.add, `a + b`): k2t does not count them.
_UNCOUNTED = frozenset({"add", "subtract", "multiply", "average", "maximum", "minimum", "concatenate", "dot"})


def keras_snake_case(name: str) -> str:
    """Keras's own ``to_snake_case`` (keras/src/utils/naming.py): ``LeakyReLU`` -> ``leaky_re_lu``."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


@dataclass
class LayerNames:
    """Keras's automatic layer names: ``Dense()`` is ``dense``, the next ``dense_1``, for the whole session.

    A counter is known while every layer of its class was created where k2t
    sees the order: not inside a function (it runs when called, maybe several
    times), a loop k2t does not unroll or a branch it cannot decide, and not
    by Keras code k2t does not follow (which may create any layer).
    """

    counts: dict[str, int] = field(default_factory=dict)
    lost: set[str] = field(default_factory=set)  # prefixes whose count k2t no longer knows
    all_lost: bool = False
    given: dict[object, str | None] = field(default_factory=dict)  # layer identity -> its name

    def name(self, key: object, class_name: str, explicit: object, certain: bool) -> str | None:
        if key in self.given:
            return self.given[key]  # the parser reads some calls twice (a Sequential's list, then each layer)
        prefix = keras_snake_case(_CLASS_ALIASES.get(class_name, class_name))
        if isinstance(explicit, str):
            name: str | None = explicit  # an explicit name= takes no number from the counter
        else:
            count = self.counts.get(prefix, 0)
            self.counts[prefix] = count + 1
            known = certain and not self.all_lost and prefix not in self.lost
            name = (prefix if count == 0 else f"{prefix}_{count}") if known else None
            if not certain:
                self.lost.add(prefix)
        self.given[key] = name
        return name

    def reset(self, certain: bool) -> None:
        """``keras.backend.clear_session()``: every counter starts again."""
        if certain:
            self.counts.clear()
            self.lost.clear()
            self.all_lost = False
        else:
            self.all_lost = True


@dataclass
class TrainableFlags:
    """Each layer's and model's ``trainable`` flag as Keras holds it, to follow the TensorFlow backend's rule.

    Keras's setter sets the flag and then each sublayer's, but on the
    TensorFlow backend the assignment is skipped when the flag already is that
    value (TensorFlow's AutoTrackable.__setattr__: ``if getattr(self, name) is
    value: return``). So ``base.trainable = True`` leaves layers frozen one by
    one frozen when ``base`` itself was never frozen. None: a flag k2t cannot
    tell (set in a branch it cannot decide, a loop or a function).
    """

    flags: dict[int, bool | None] = field(default_factory=dict)  # id(KerasCall) of a layer / id(ModelSpec) -> flag

    def of(self, item: object) -> bool | None:
        return self.flags.get(id(item), True)

    def leaves(self, spec: ModelSpec) -> list[KerasCall]:
        found = []
        for layer in _layers_in(spec):
            found.extend(self.leaves(layer.model) if layer.model is not None else [layer])
        return found

    def set_model(self, spec: ModelSpec, value: object, certain: bool, node) -> bool:
        """``spec.trainable = value``; False when Keras skips it (the flag already is ``value``)."""
        current = self.of(spec)
        if current is None and spec.application is not None:
            # Its layers, which Keras builds, may have been set one by one: k2t cannot tell what changes.
            raise parser_error(
                node,
                "k2t cannot tell whether Keras applies this `trainable` (the model's own flag was set where k2t cannot follow)",
            )
        if current is None and isinstance(value, bool):
            if all(self.of(leaf) is value for leaf in self.leaves(spec)):
                return False  # skipped or not, nothing changes
            raise parser_error(
                node,
                "k2t cannot tell whether Keras applies this `trainable` (the model's own flag was set where k2t cannot follow)",
            )
        if current is value:
            return False
        self.flags[id(spec)] = bool(value) if certain else None
        for layer in _layers_in(spec):
            if layer.model is None:
                self.flags[id(layer)] = bool(value) if certain else None
            elif not self.set_model(layer.model, value, certain, node) and any(
                self.of(leaf) is not value for leaf in self.leaves(layer.model)
            ):
                raise parser_error(
                    node,
                    f"Keras skips the nested model inside (its own trainable flag already is {value}) but not its layers: not translated",
                )
        return True

    def set_layer(self, layer: KerasCall, value: object, certain: bool, node) -> bool:
        if layer.model is not None:
            return self.set_model(layer.model, value, certain, node)
        self.flags[id(layer)] = bool(value) if certain else None
        return True


@dataclass
class State:
    """What the parser tracks of Keras's model API across the script."""

    names: LayerNames = field(default_factory=LayerNames)
    trainable: TrainableFlags = field(default_factory=TrainableFlags)
    # id() of the models that are a function applying a layer list (layer_pipeline_function) -> that model.
    pipelines: dict[int, ModelSpec] = field(default_factory=dict)
    inlined: dict[int, int] = field(default_factory=dict)  # id() of such a model -> its calls applied in a graph
    # id() of the layer variables whose reads are LayerReads (`hidden.get_weights()`): no use of the layer object.
    read_names: set[int] = field(default_factory=set)
    # id() of a Sequential model whose tensors the script reads (`model.inputs`) -> its Input and layer outputs.
    chains: dict[int, list[TensorNode]] = field(default_factory=dict)
    # id() of the keras.applications models applied by `base.output` (_application_tensors): Keras builds a model
    # on that tensor from the base's own layers, where k2t calls the base's module.
    flattened: set[int] = field(default_factory=set)


def in_function(scope: _Scope) -> bool:
    current: _Scope | None = scope
    while current is not None:
        if current.function is not None:
            return True
        current = current.parent
    return False


def keras_layer_name(parser: _Parser, node: cst.Call, name: str, kwargs, scope: _Scope) -> str | None:
    """The name Keras gives the layer ``node`` creates (None for calls that are no layer, or where unknown)."""
    short = name.rsplit(".", 1)[-1]
    application = name.startswith("keras.applications.") and short[:1].isupper()
    if application or name == "keras.Sequential" and not _starts_with_input(parser, node):
        # An InputLayer Keras makes itself: an application's, or a Sequential's when it is built (its first
        # call, maybe much later): k2t no longer knows the count of InputLayers.
        parser.model_api.names.lost.add("input_layer")
    if name == "keras.Input":
        short = "InputLayer"  # keras.Input makes an InputLayer, named as that class
    elif not (name.startswith("keras.layers.") and short[:1].isupper() or name == "keras.Sequential"):
        return None
    if isinstance(node.func, cst.Name) and node.func.value in parser.script.layer_classes:
        short = node.func.value  # a custom layer: Keras names it after its class (`Attention` -> attention)
    explicit = next((value.literal for key, value in kwargs if key == "name"), None)
    certain = not parser.frames and not in_function(scope)
    return parser.model_api.names.name(parser.layer_key(node), short, explicit, certain)


def operation_named(parser: _Parser, node: cst.CSTNode, class_name: str, scope: _Scope) -> None:
    """``a + b`` of Keras tensors: Keras 3's op (keras.ops.add) takes a name from the count of the layer class of
    that name (the next ``layers.Add()`` is ``add_1``), though model.layers does not list it."""
    certain = not parser.frames and not in_function(scope)
    parser.model_api.names.name(parser.layer_key(node), class_name, None, certain)


def _starts_with_input(parser: _Parser, node: cst.Call) -> bool:
    """``keras.Sequential([keras.Input(...), ...])``: the Sequential's InputLayer is that Input's."""
    given = next((arg.value for arg in node.args if arg.keyword is None or arg.keyword.value == "layers"), None)
    first = given.elements[0].value if isinstance(given, (cst.List, cst.Tuple)) and given.elements else None
    return isinstance(first, cst.Call) and parser.keras_name(first.func) in ("keras.Input", "keras.layers.InputLayer")


def lost_layer_names(parser: _Parser) -> None:
    """Keras code k2t does not follow ran: it may have created layers of any class."""
    parser.model_api.names.all_lost = True


# ------------------------------------------------------------------ layer lists
@dataclass(eq=False)
class LayerList:
    """A list variable holding layers the script builds before the model that takes them."""

    var: str
    held: ModelSpec  # the layers (and an Input) in order, collected as a Sequential would
    statement: cst.CSTNode
    frame: object | None  # the innermost undecided loop or branch where the list was made
    appends: list[cst.CSTNode] = field(default_factory=list)
    used_by: ModelSpec | None = None

    @property
    def empty(self) -> bool:
        return not self.held.layers and self.held.input_shape is None


def layer_list(scope: _Scope, name: str) -> LayerList | None:
    current: _Scope | None = scope
    while current is not None:
        if name in current.layer_lists:
            return current.layer_lists[name]
        current = current.parent
    return None


def is_layer_expression(parser: _Parser, node: cst.BaseExpression, scope: _Scope, models: bool = False) -> bool:
    """A layer call (``layers.Dense(8)``, ``keras.Input(...)``) or a layer variable; with ``models``, a model variable too."""
    if isinstance(node, cst.Call):
        name = parser.keras_name(node.func)
        return name == "keras.Input" or (
            name is not None and name.startswith("keras.layers.") and name.rsplit(".", 1)[-1][:1].isupper()
        )
    if isinstance(node, cst.Name):
        return scope.layer_object(node.value) is not None or (models and scope.model(node.value) is not None)
    return False


def _layer_display(parser: _Parser, elements: list, scope: _Scope) -> bool:
    """``[layers.Dense(64), base, dense]``: layers (one made right there at least), maybe models; not ``[model_a, model_b]``."""
    return any(isinstance(el, cst.Call) for el in elements) and all(
        is_layer_expression(parser, el, scope, models=True) for el in elements
    )


def _new_holder(parser: _Parser, node: cst.CSTNode) -> ModelSpec:
    pos = parser.pos(node)
    return ModelSpec(var=None, pos=pos, call=KerasCall("keras.Sequential", (), (), pos))


def layer_list_statement(parser: _Parser, line, small, scope: _Scope) -> bool:
    """``hidden = [...]`` of layers, ``hidden.append(layer)``, ``hidden += [...]``. True when handled."""
    if isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name):
        return _assigned_list(parser, line, small.targets[0].target.value, small.value, scope)
    if (
        isinstance(small, cst.AugAssign)
        and isinstance(small.operator, cst.AddAssign)
        and isinstance(small.target, cst.Name)
    ):
        held = layer_list(scope, small.target.value)
        if held is None or not isinstance(small.value, (cst.List, cst.Tuple)):
            return False
        elements = [el.value for el in small.value.elements if isinstance(el, cst.Element)]
        if len(elements) != len(small.value.elements) or not _layer_display(parser, elements, scope):
            return False
        _extend_list(parser, held, elements, small, line, scope)
        return True
    if isinstance(small, cst.Expr) and isinstance(small.value, cst.Call):
        call = small.value
        func = call.func
        if not (isinstance(func, cst.Attribute) and func.attr.value == "append" and isinstance(func.value, cst.Name)):
            return False
        held = layer_list(scope, func.value.value)
        if held is None or len(call.args) != 1 or call.args[0].keyword is not None or call.args[0].star:
            return False
        if not is_layer_expression(parser, call.args[0].value, scope):
            if held.empty:
                _forget_list(scope, held.var)  # a list of something else
                return False
            raise parser_error(
                call, f"`{held.var}` holds layers: appending `{parser.code(call.args[0].value)}` to it is not followed"
            )
        parser.consumed.add(id(func))
        _extend_list(parser, held, [call.args[0].value], call, line, scope)
        return True
    return False


def _assigned_list(parser: _Parser, line, target: str, value: cst.BaseExpression, scope: _Scope) -> bool:
    _forget_list(scope, target)  # the name holds something new
    frame = parser.frames[-1] if parser.frames else None
    if isinstance(value, cst.List) and not value.elements:
        # `hidden = []`: a layer list once a layer is appended (the statement stays while the list holds nothing).
        scope.layer_lists[target] = LayerList(target, _new_holder(parser, value), line, frame)
        return False
    if isinstance(value, cst.ListComp) and is_layer_expression(parser, value.elt, scope):
        held = LayerList(target, _new_holder(parser, value), line, frame)
        parser.comprehension_layers(held.held, value, scope)
    elif isinstance(value, (cst.List, cst.Tuple)) and value.elements:
        elements = [el.value for el in value.elements if isinstance(el, cst.Element)]
        if len(elements) != len(value.elements) or not _layer_display(parser, elements, scope):
            return False
        held = LayerList(target, _new_holder(parser, value), line, frame)
        for element in elements:
            parser.add_layer(held.held, element, scope)
    else:
        return False
    parser.consumed.add(id(value))
    scope.layer_lists[target] = held
    parser.script.removed.add(id(line))
    return True


def _extend_list(parser: _Parser, held: LayerList, elements, node, line, scope: _Scope) -> None:
    if parser.frames and parser.frames[-1] is not held.frame:
        parser.carried(f"`{held.var}` extended", node)
    for element in elements:
        parser.add_layer(held.held, element, scope)
    held.appends.append(line)
    parser.script.removed.add(id(line))
    parser.script.removed.add(id(held.statement))  # `hidden = []` goes with the layers


def _forget_list(scope: _Scope, name: str) -> None:
    current: _Scope | None = scope
    while current is not None:
        if name in current.layer_lists:
            current.layer_lists[name] = None
        current = current.parent
    scope.layer_lists[name] = None


def take_list(parser: _Parser, model: ModelSpec, node: cst.Name, scope: _Scope) -> bool:
    """``Sequential([keras.Input(...)] + hidden + [...])``: the list's layers join ``model``. True when ``node`` is one."""
    held = layer_list(scope, node.value)
    if held is None or held.empty:
        return False
    if held.used_by is not None and held.used_by is not model:
        raise parser_error(
            node,
            f"the layers of `{held.var}` are already in another model: Keras shares them between both, which k2t does not translate",
        )
    if held.held.input_shape is not None:
        if model.layers or model.input_shape is not None:
            raise parser_error(node, "an Input must come first in a Sequential model")
        model.input_shape, model.input_pos = held.held.input_shape, held.held.input_pos
    model.layers.extend(held.held.layers)
    held.used_by = model
    parser.consumed.add(id(node))
    return True


def list_used(parser: _Parser, statement, node: cst.Name, scope: _Scope) -> bool:
    """A layer list used in code k2t leaves as written: the list is built there again, with a diagnostic."""
    held = layer_list(scope, node.value)
    if held is None or held.empty:
        return False
    parser.consumed.add(id(node))
    parser.todo(
        statement, node, "K2T103", f"the layer list `{node.value}` is used here in a way k2t does not translate"
    )
    for kept in [held.statement, *held.appends]:
        parser.script.removed.discard(id(kept))
    return True


# ------------------------------------------------------------ the model API
def model_layers(parser: _Parser, spec: ModelSpec, node: cst.CSTNode) -> list[KerasCall | None]:
    """``model.layers`` in Keras's order: a Sequential's layers without its Input; a Functional model's layers
    with its InputLayers (None) as Keras orders them (graph.keras_layer_order)."""
    if spec.graph is None:
        if not spec.layers and spec.input_shape is None:
            raise parser_error(node, "k2t cannot tell the layers of this model (it is not built by the script)")
        return list(spec.layers)
    order = keras_layer_order(spec.graph.inputs, spec.graph.outputs)
    for tensor in order:
        if tensor.layer is not None and id(tensor.layer) in parser.model_api.flattened:
            raise parser_error(
                node,
                f"`.layers` of a model built on `{tensor.layer.held_in}.output`: Keras lists the base's own layers "
                "there one by one, k2t's module holds the base as one submodule; pick them from "
                f"`{tensor.layer.held_in}.layers` instead",
            )
    return [tensor.layer for tensor in order]


def _model_of(
    parser: _Parser, node: cst.BaseExpression, scope: _Scope, reading: bool = False
) -> tuple[str, ModelSpec] | None:
    """The model variable ``node`` names and its architecture. ``reading``: for reading its layers and tensors
    (``model.layers[2].output``, ``model.input[0]``), a model restored by ``load_model`` has the architecture
    of the model the script saved at that path before (loads.saved_before)."""
    if isinstance(node, cst.Name):
        instance = scope.model(node.value)
        if instance is not None:
            if reading:
                restored = saved_before(parser.script, instance.model)
                if restored is not None and restored.var != node.value:
                    # The new modules would take the layers from `restored.var`'s module, not from this one.
                    raise parser_error(
                        node,
                        f"k2t follows the layers and tensors of a restored model bound to the name of the model "
                        f"saved there (`{restored.var} = load_model(...)`), not `{node.value}`",
                    )
                if restored is not None:
                    return node.value, restored
            return node.value, instance.model
    return None


def layer_targets(
    parser: _Parser, node: cst.BaseExpression, scope: _Scope
) -> list[tuple[str, ModelSpec, tuple[KerasCall | None, ...] | None]] | None:
    """What ``node`` names: (model variable, model, its layers or None for the whole model) for each model
    it reaches; None when ``node`` is no model, layer variable or model API expression."""
    model = _model_of(parser, node, scope)
    if model is not None:
        return [(model[0], model[1], None)]
    if isinstance(node, cst.Subscript) and isinstance(node.value, cst.Attribute) and node.value.attr.value == "layers":
        model = _model_of(parser, node.value.value, scope)
        if model is None or len(node.slice) != 1:
            return None
        index = node.slice[0].slice
        if model[1].application is not None:  # Keras's own layers, picked where the model is translated
            return [(model[0], model[1], LayerSelection(_key(parser, index, scope, node), parser.code(node)))]
        layers = model_layers(parser, model[1], node)
        return [(model[0], model[1], tuple(_pick(parser, layers, index, scope, node)))]
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value == "get_layer":
        model = _model_of(parser, node.func.value, scope)
        if model is None:
            return None
        if model[1].application is not None:
            return [(model[0], model[1], LayerSelection(_get_layer_key(parser, node, scope), parser.code(node)))]
        return [(model[0], model[1], (_get_layer(parser, model[1], node, scope),))]
    if isinstance(node, cst.Name) and scope.layer_object(node.value) is not None:
        layer = scope.layer_object(node.value)[0]
        found = [(var, spec) for var, spec in _visible_models(scope) if any(held is layer for held in _layers_in(spec))]
        if not found:
            raise parser_error(
                node,
                f"`{node.value}.trainable` set before `{node.value}` is in a model k2t translates: set it after building the model",
            )
        return [(var, spec, (layer,)) for var, spec in found]
    return None


def _key(parser: _Parser, index, scope: _Scope, node) -> slice | int:
    """The slice or index of ``model.layers[...]``, as numbers k2t knows."""
    if isinstance(index, cst.Slice):
        bounds = []
        for part in (index.lower, index.upper, index.step):
            value = None if part is None else parser.evaluate(part, scope)[0]
            if isinstance(value, Unknown) or not (
                value is None or isinstance(value, int) and not isinstance(value, bool)
            ):
                raise parser_error(node, f"k2t needs the bounds of `{parser.code(node)}` as numbers it knows")
            bounds.append(value)
        return slice(*bounds)
    value = parser.evaluate(index.value, scope)[0]
    if isinstance(value, bool) or not isinstance(value, int):
        raise parser_error(node, f"k2t needs the index of `{parser.code(node)}` as a number it knows")
    return value


def _pick(parser: _Parser, layers: list, index, scope: _Scope, node) -> list:
    value = _key(parser, index, scope, node)
    if isinstance(value, slice):
        return layers[value]
    if not -len(layers) <= value < len(layers):
        raise parser_error(node, f"`{parser.code(node)}`: the model has {len(layers)} layers (Keras raises IndexError)")
    return [layers[value]]


def _get_layer_key(parser: _Parser, node: cst.Call, scope: _Scope) -> str | int:
    """``get_layer(name)`` or ``get_layer(index=i)``: the name or the index, as k2t knows it."""
    given = {
        arg.keyword.value if arg.keyword is not None else ("name", "index")[i]: arg.value
        for i, arg in enumerate(node.args[:2])
    }
    if "index" in given and "name" not in given:
        return _key(parser, cst.Index(given["index"]), scope, node)
    value = parser.evaluate(given["name"], scope)[0] if "name" in given else None
    if not isinstance(value, str):
        raise parser_error(node, f"k2t needs the name in `{parser.code(node)}` as a string it knows")
    return value


def _get_layer(parser: _Parser, spec: ModelSpec, node: cst.Call, scope: _Scope) -> KerasCall | None:
    given = {
        arg.keyword.value if arg.keyword is not None else ("name", "index")[i]: arg.value
        for i, arg in enumerate(node.args[:2])
    }
    if "index" in given and "name" not in given:
        return _pick(parser, model_layers(parser, spec, node), cst.Index(given["index"]), scope, node)[0]
    value = parser.evaluate(given["name"], scope)[0] if "name" in given else None
    if not isinstance(value, str):
        raise parser_error(node, f"k2t needs the name in `{parser.code(node)}` as a string it knows")
    named = _named_layers(parser, spec, node)
    names = [name for name, _ in named]
    if value in names:
        layer = named[names.index(value)][1]
        if layer is None and spec.graph is not None and len(spec.graph.inputs) > 1:
            raise parser_error(
                node, f"`{parser.code(node)}`: an InputLayer of a model with several inputs is not translated"
            )
        return layer
    if None in names:
        raise parser_error(
            node, f"k2t cannot tell which layer Keras names {value!r} here: give that layer name={value!r}"
        )
    raise parser_error(
        node, f"the model has no layer named {value!r} (Keras raises ValueError); its layers: {', '.join(names)}"
    )


def _named_layers(parser: _Parser, spec: ModelSpec, node) -> list[tuple[str | None, KerasCall | None]]:
    """(Keras's name, layer) of each of model.layers, for get_layer(name): in any order (a Functional model's
    with branches too); an InputLayer's layer is None."""
    if spec.graph is None:
        return [(_layer_name(layer), layer) for layer in model_layers(parser, spec, node)]
    found: list[tuple[str | None, KerasCall | None]] = [
        (tensor.input_name or tensor.keras_name, None) for tensor in spec.graph.inputs
    ]
    seen: set[int] = set()
    for tensor in spec.graph.nodes:
        if tensor.layer is None or tensor.layer.operator or tensor.layer_id in seen:
            continue  # `a + b`: Keras's op, no layer; a shared layer or nested model: once
        seen.add(tensor.layer_id)
        found.append((_layer_name(tensor.layer), tensor.layer))
    return found


def _layer_name(layer: KerasCall | None) -> str | None:
    if layer is None:
        return None  # a Functional model's InputLayer
    if layer.model is not None:  # a nested model: a Sequential's name as Keras counts it, or a name= given
        given = layer.model.call.kwarg("name")
        return given.literal if given is not None and isinstance(given.literal, str) else layer.model.call.keras_name
    if layer.short_name.lower() in _UNCOUNTED and layer.keras_name is None:
        return None
    return layer.keras_name


def _layers_in(spec: ModelSpec) -> list[KerasCall]:
    if spec.graph is not None:
        return [node.layer for node in spec.graph.nodes if node.layer is not None]
    return list(spec.layers)


def _visible_models(scope: _Scope) -> list[tuple[str, ModelSpec]]:
    found: dict[str, ModelSpec] = {}
    current: _Scope | None = scope
    while current is not None:
        for var, instance in current.models.items():
            if var not in found and instance is not None:
                found[var] = instance.model
        current = current.parent
    return list(found.items())


def freeze_statement(parser: _Parser, line, small, scope: _Scope) -> bool:
    """``<layer or model>.trainable = False``. True when handled (recorded, or raised as not followed)."""
    if not (isinstance(small, cst.Assign) and len(small.targets) == 1):
        return False
    target = small.targets[0].target
    if not (isinstance(target, cst.Attribute) and target.attr.value == "trainable"):
        return False
    reached = layer_targets(parser, target.value, scope)
    if reached is None:
        return False
    raw = _flag(parser, small.value, scope)
    certain = not parser.frames and not in_function(scope)
    for var, spec, layers in reached:
        if layers is None:
            applied = parser.model_api.trainable.set_model(spec, raw, certain, small)
        elif isinstance(layers, LayerSelection):
            applied = True  # Keras's own layers: none is a model whose flag Keras may skip
        else:
            applied = [
                parser.model_api.trainable.set_layer(layer, raw, certain, small)
                for layer in layers
                if layer is not None
            ]
            if not all(applied) and len(layers) == 1:
                applied = False
            elif not all(applied):
                raise parser_error(
                    small,
                    "Keras skips this `trainable` for a nested model whose own flag already has the value: not translated",
                )
        frozen = _model_frozen(parser, spec, layers, small)
        freeze = FreezeSpec(
            spec,
            var,
            layers,
            bool(raw),
            parser.pos(small),
            line,
            ignored=not applied,
            model_frozen=frozen,
            under_branch=any(isinstance(frame.node, cst.If) for frame in parser.frames),
        )
        parser.script.freezes.append(freeze)
    _mark(parser, target)
    return True


def freeze_loop(parser: _Parser, stmt: cst.For, scope: _Scope) -> bool:
    """``for layer in base.layers[:k]: layer.trainable = False``: one freeze of each layer, maybe of each layer
    but one class (``if not isinstance(layer, layers.BatchNormalization):`` around it). True when handled."""
    body = stmt.body.body if isinstance(stmt.body, cst.IndentedBlock) else ()
    if stmt.orelse is not None or len(body) != 1 or not isinstance(stmt.target, cst.Name):
        return False
    of_class, negated, inner = _class_filter(parser, body[0], stmt.target.value)
    if not isinstance(inner, cst.SimpleStatementLine) or len(inner.body) != 1:
        return False
    small = inner.body[0]
    if not (isinstance(small, cst.Assign) and len(small.targets) == 1):
        return False
    target = small.targets[0].target
    if not (
        isinstance(target, cst.Attribute) and target.attr.value == "trainable" and isinstance(target.value, cst.Name)
    ):
        return False
    if target.value.value != stmt.target.value:
        return False
    if stmt.target.value in read_names(small.value):
        return False  # `layer.trainable = layer.name.startswith("block5")`: a flag per layer (k2t.parse.layer_programs)
    iterable = stmt.iter
    listed = layer_list(scope, iterable.value) if isinstance(iterable, cst.Name) else None
    if listed is not None and listed.used_by is not None and listed.used_by.var is not None:
        # `for l in feature_layers: l.trainable = False` (keras/examples/mnist_transfer_cnn.py): the model's
        # layers that came from the list.
        return _freeze_listed(parser, stmt, small, listed, of_class, negated, scope)
    over_layers = isinstance(iterable, cst.Attribute) and iterable.attr.value == "layers"
    over_slice = (
        isinstance(iterable, cst.Subscript)
        and isinstance(iterable.value, cst.Attribute)
        and iterable.value.attr.value == "layers"
    )
    if (
        not (over_layers or over_slice)
        or _model_of(parser, (iterable if over_layers else iterable.value).value, scope) is None
    ):
        return False
    from .scope import _Unfollowable

    try:
        if over_layers:
            var, spec = _model_of(parser, iterable.value, scope)
            if spec.application is not None:
                reached = (var, spec, LayerSelection(slice(None), parser.code(iterable)))
            else:
                reached = (var, spec, tuple(model_layers(parser, spec, iterable)))
        else:
            (reached,) = layer_targets(parser, iterable, scope)
        raw = _flag(parser, small.value, scope)
        certain = not parser.frames and not in_function(scope)
        var, spec, layers = reached
        if isinstance(layers, LayerSelection):
            layers = dataclasses.replace(layers, of_class=of_class, negated=negated)
        else:
            layers = tuple(
                layer
                for layer in layers
                if layer is None or LayerSelection(0, "", of_class, negated).picks(layer.short_name)
            )
            applied = [
                parser.model_api.trainable.set_layer(layer, raw, certain, stmt) for layer in layers if layer is not None
            ]
            if not all(applied):
                raise parser_error(
                    stmt,
                    "Keras skips this `trainable` for a nested model whose own flag already has the value: not translated",
                )
        frozen = _model_frozen(parser, spec, layers, stmt)
    except _Unfollowable as exc:
        parser.todo(stmt, exc.node, "K2T103", exc.message)
        _mark(parser, stmt)
    else:
        parser.script.freezes.append(
            FreezeSpec(
                spec, var, layers, bool(raw), parser.pos(stmt), stmt, loop_var=stmt.target.value, model_frozen=frozen
            )
        )
        _mark(parser, stmt)
    scope.env.forget([stmt.target.value], "a loop variable")
    return True


def _freeze_listed(parser: _Parser, stmt: cst.For, small, listed: LayerList, of_class, negated, scope: _Scope) -> bool:
    """``for layer in <a layer list a model took>: layer.trainable = <flag>``: one freeze of each of its layers."""
    from .scope import _Unfollowable

    spec = listed.used_by
    layers = tuple(
        layer for layer in listed.held.layers if LayerSelection(0, "", of_class, negated).picks(layer.short_name)
    )
    try:
        raw = _flag(parser, small.value, scope)
        certain = not parser.frames and not in_function(scope)
        if not all(parser.model_api.trainable.set_layer(layer, raw, certain, stmt) for layer in layers):
            raise parser_error(
                stmt,
                "Keras skips this `trainable` for a nested model whose own flag already has the value: not translated",
            )
        frozen = _model_frozen(parser, spec, layers, stmt)
    except _Unfollowable as exc:
        parser.todo(stmt, exc.node, "K2T103", exc.message)
    else:
        parser.script.freezes.append(
            FreezeSpec(
                spec,
                spec.var,
                layers,
                bool(raw),
                parser.pos(stmt),
                stmt,
                loop_var=stmt.target.value,
                model_frozen=frozen,
            )
        )
    _mark(parser, stmt)
    scope.env.forget([stmt.target.value], "a loop variable")
    return True


def _class_filter(parser: _Parser, statement: cst.CSTNode, var: str) -> tuple[str | None, bool, cst.CSTNode | None]:
    """``if [not] isinstance(layer, layers.BatchNormalization): <statement>``: (the Keras layer class tested,
    whether ``not``, the statement); (None, False, ``statement``) without that ``if``; (None, False, None)
    for another ``if``."""
    if not isinstance(statement, cst.If):
        return None, False, statement
    test = statement.test
    negated = isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not)
    call = test.expression if negated else test
    if statement.orelse is not None or not (
        isinstance(call, cst.Call)
        and isinstance(call.func, cst.Name)
        and call.func.value == "isinstance"
        and len(call.args) == 2
    ):
        return None, False, None
    subject, kind = call.args[0].value, call.args[1].value
    name = parser.keras_name(kind)
    if not (
        isinstance(subject, cst.Name) and subject.value == var and name is not None and name.startswith("keras.layers.")
    ):
        return None, False, None
    body = statement.body.body if isinstance(statement.body, cst.IndentedBlock) else ()
    return (name.rsplit(".", 1)[-1], negated, body[0]) if len(body) == 1 else (None, False, None)


def _model_frozen(parser: _Parser, spec: ModelSpec, layers, node) -> bool:
    """Whether the layers are a keras.applications model's own, while its flag is False (none of them trains)."""
    if not isinstance(layers, LayerSelection):
        return False
    flag = parser.model_api.trainable.of(spec)
    if flag is None:
        raise parser_error(
            node, "k2t cannot tell whether the model is frozen here (its `trainable` was set where k2t cannot follow)"
        )
    return not flag


# Keras 3's RNN layers have both spellings; Keras 2's had reset_states() only.
_RESET_METHODS = ("reset_states", "reset_state")


def reset_states_statement(parser: _Parser, line, small, scope: _Scope) -> bool:
    """``<layer>.reset_states()`` on layers of a model (``model.reset_states()`` is a model method). True when handled."""
    if not (isinstance(small, cst.Expr) and isinstance(small.value, cst.Call) and not small.value.args):
        return False
    func = small.value.func
    if not (isinstance(func, cst.Attribute) and func.attr.value in _RESET_METHODS):
        return False
    if isinstance(func.value, cst.Name) and scope.layer_object(func.value.value) is not None:
        layer = scope.layer_object(func.value.value)[0]
        if not any(any(held is layer for held in _layers_in(spec)) for _, spec in _visible_models(scope)):
            return False  # a layer in no model: its call stays a TODO as any use of a Keras object
    from .scope import _Unfollowable

    try:
        reached = layer_targets(parser, func.value, scope)
    except _Unfollowable as exc:
        parser.todo(line, exc.node, "K2T103", exc.message)
        _mark(parser, small)
        return True
    if reached is None or any(layers is None or isinstance(layers, LayerSelection) for _, _, layers in reached):
        return False  # no layer, the model itself, or a keras.applications model's own layers (none keeps states)
    for var, spec, layers in reached:
        parser.script.state_resets.append(StateReset(spec, var, layers, parser.pos(small), line))
    _mark(parser, small)
    return True


def _flag(parser: _Parser, node: cst.BaseExpression, scope: _Scope) -> object:
    """The value assigned, as the script gives it (TensorFlow's skip compares it with `is`)."""
    value = parser.evaluate(node, scope)[0]
    if isinstance(value, Unknown):
        raise parser_error(node, f"`trainable = {parser.code(node)}`: k2t needs True or False here ({value.reason})")
    return value


def _mark(parser: _Parser, node: cst.CSTNode) -> None:
    from .syntax import _mark_subtree

    _mark_subtree(node, parser.consumed)


def parser_error(node: cst.CSTNode, message: str) -> Exception:
    """The parser's exception for a construct k2t cannot follow (a K2T103 diagnostic at ``node``)."""
    from .scope import _Unfollowable

    return _Unfollowable(node, message)


# ------------------------------------------------------------ a function applying a layer list
def layer_pipeline_function(parser: _Parser, stmt: cst.FunctionDef, scope: _Scope) -> bool:
    """keras.io's augmentation function over a list of layers, a Sequential model written by hand::

        data_augmentation_layers = [layers.RandomFlip("horizontal"), layers.RandomRotation(0.1)]

        def data_augmentation(images):
            for layer in data_augmentation_layers:
                images = layer(images)
            return images

    Calling it applies the layers in turn, as ``keras.Sequential(data_augmentation_layers)`` would: it
    becomes that model (one generated module, in place of the def), and a call ``data_augmentation(img)``
    in a tf.data map or on a model's tensors is that model's call. True when ``stmt`` is one."""
    listed = _pipeline_list(stmt)
    if listed is None or stmt.decorators or scope.in_class:
        return False
    held = layer_list(scope, listed.value)
    if held is None or held.empty or held.used_by is not None or held.held.input_shape is not None:
        return False
    name = stmt.name.value
    model = ModelSpec(
        var=name,
        pos=parser.pos(stmt.name),
        call=KerasCall("keras.Sequential", (), (), parser.pos(stmt.name)),
        statement=stmt,
    )
    take_list(parser, model, listed, scope)
    model.factory = scope.function
    parser.script.uses_keras = True
    parser.script.models.append(model)
    scope.models[name] = Instance(model)
    parser.model_api.pipelines[id(model)] = model
    return True


def _pipeline_list(stmt: cst.FunctionDef) -> cst.Name | None:
    """The list in ``def f(x): [docstring] for layer in LIST: x = layer(x); return x``, else None."""
    params = stmt.params
    others = (
        isinstance(params.star_arg, cst.Param) or params.kwonly_params or params.star_kwarg or params.posonly_params
    )
    if len(params.params) != 1 or params.params[0].default is not None or others:
        return None
    arg = params.params[0].name.value
    body = [s for s in _body_of(stmt.body) if not is_docstring(s)]
    if len(body) != 2 or not isinstance(body[0], cst.For) or not isinstance(body[1], cst.SimpleStatementLine):
        return None
    loop, end = body
    if (
        loop.orelse is not None
        or loop.asynchronous is not None
        or not isinstance(loop.target, cst.Name)
        or not isinstance(loop.iter, cst.Name)
    ):
        return None
    inner = _body_of(loop.body)
    if len(inner) != 1 or not isinstance(inner[0], cst.SimpleStatementLine) or len(inner[0].body) != 1:
        return None
    step = inner[0].body[0]
    applied = (
        isinstance(step, cst.Assign)
        and len(step.targets) == 1
        and _is_name(step.targets[0].target, arg)
        and isinstance(step.value, cst.Call)
        and _is_name(step.value.func, loop.target.value)
        and len(step.value.args) == 1
        and step.value.args[0].keyword is None
        and not step.value.args[0].star
        and _is_name(step.value.args[0].value, arg)
    )
    returned = len(end.body) == 1 and isinstance(end.body[0], cst.Return) and _is_name(end.body[0].value, arg)
    return loop.iter if applied and returned else None


def _is_name(node: cst.CSTNode | None, name: str) -> bool:
    return isinstance(node, cst.Name) and node.value == name


def drop_inlined_pipelines(parser: _Parser) -> None:
    """A layer-list function that the script only applies to Keras tensors has its layers in those models
    (KerasParser.pipeline_call): no model of its own, and the def goes."""
    for key, model in parser.model_api.pipelines.items():
        inlined = parser.model_api.inlined.get(key, 0)
        if inlined and inlined == _references(parser.script.module, model.var):
            parser.script.models.remove(model)
            parser.script.removed.add(id(model.statement))


def _references(module: cst.Module, name: str) -> int:
    """How many times the script reads ``name`` (a def's own name is no read)."""
    count = 0

    class Reads(Visitor):
        def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
            nonlocal count
            count -= node.name.value == name  # visited as a Name below

        def visit_Name(self, node: cst.Name) -> None:
            nonlocal count
            count += node.value == name

    module.visit(Reads())
    return count


# ------------------------------------------------------------ reading a layer
# Constructor arguments Keras keeps as an attribute of the same name, as given (class -> attribute -> position).
_CONV_CLASSES = (
    *(f"Conv{n}D" for n in (1, 2, 3)),
    *(f"Conv{n}DTranspose" for n in (1, 2, 3)),
    *(f"SeparableConv{n}D" for n in (1, 2)),
)
_CONFIG_ATTRS: dict[str, dict[str, int]] = {
    "Dense": {"units": 0},
    **{name: {"units": 0} for name in ("LSTM", "GRU", "SimpleRNN")},
    **{name: {"filters": 0} for name in _CONV_CLASSES},
    "Dropout": {"rate": 0},
    "Embedding": {"input_dim": 0, "output_dim": 1},
}
_CONFIG_NAMES = frozenset(attr for attrs in _CONFIG_ATTRS.values() for attr in attrs)
_STATIC_ATTRS = frozenset({"name", "trainable", *_CONFIG_NAMES})
_TENSOR_SHAPES = {"output": "output_shape", "input": "input_shape"}
_WEIGHT_METHODS = ("get_weights", "count_params")


@dataclass(eq=False)
class LayerAlias:
    """``first = model.layers[0]``: the name holds that layer of the model (k2t.ir.LayerAlias)."""

    var: str
    model: ModelSpec
    layer: KerasCall | None
    code: str


def _layer_expression(node: cst.BaseExpression) -> bool:
    """``model.layers[i]`` (one layer, not a slice) or ``model.get_layer(...)``, written so."""
    if isinstance(node, cst.Subscript):
        return (
            isinstance(node.value, cst.Attribute)
            and node.value.attr.value == "layers"
            and isinstance(node.value.value, cst.Name)
            and len(node.slice) == 1
            and isinstance(node.slice[0].slice, cst.Index)
        )
    return (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Attribute)
        and node.func.attr.value == "get_layer"
        and isinstance(node.func.value, cst.Name)
    )


def layer_reference(
    parser: _Parser, node: cst.BaseExpression, scope: _Scope
) -> tuple[str, ModelSpec, KerasCall | None] | None:
    """The layer ``node`` names, with the model holding it and that model's variable: ``model.layers[0]``,
    ``model.get_layer("out")``, a name bound to one of those, or a layer variable in a model (``hidden``).
    None for anything else, and for a keras.applications model's own layers (k2t builds them elsewhere)."""
    if isinstance(node, cst.Name):
        alias = scope.layer_alias(node.value)
        if alias is not None:
            return alias.var, alias.model, alias.layer
        held = scope.layer_object(node.value)
        if held is None:
            return None
        found = sorted(
            ((var, spec) for var, spec in _visible_models(scope) if any(h is held[0] for h in _layers_in(spec))),
            key=lambda item: item[1].pos,
        )
        return (found[0][0], found[0][1], held[0]) if found else None  # in no model: the layer object's own use
    if not _layer_expression(node):
        return None
    model_node = node.value.value if isinstance(node, cst.Subscript) else node.func.value
    model = _model_of(parser, model_node, scope, reading=True)
    if model is None or model[1].application is not None:
        return None
    if isinstance(node, cst.Subscript):
        _keras_order(model[1], node)
        layer = _pick(parser, model_layers(parser, model[1], node), node.slice[0].slice, scope, node)[0]
    else:
        layer = _get_layer(parser, model[1], node, scope)
    return model[0], model[1], layer


def _keras_order(spec: ModelSpec, node) -> None:
    """Raise where k2t does not know the order of Keras's model.layers: a subclassed model's (the order its
    __init__ made them in)."""
    if spec.creation_order or spec.steps is not None:
        raise parser_error(node, "k2t does not follow `.layers` of a subclassed model by position: use get_layer(name)")


def _input_layer_name(spec: ModelSpec) -> str | None:
    """The name of a Functional chain's InputLayer: the Input's name=, or Keras's (`input_layer_1`) where known."""
    if spec.graph is None or len(spec.graph.inputs) != 1:
        return None
    return spec.graph.inputs[0].input_name or spec.graph.inputs[0].keras_name


def known_attribute(
    parser: _Parser, spec: ModelSpec, layer: KerasCall | None, attr: str, scope: _Scope
) -> tuple[object, str]:
    """What Keras's ``layer.<attr>`` is here, for the attributes the parser knows; (None, why) where it does not."""
    if attr == "name":
        name = _layer_name(layer) if layer is not None else _input_layer_name(spec)
        if name is None:
            what = "InputLayer" if layer is None else "layer"
            return None, f"k2t cannot tell the name Keras gives this {what}: give it name=..."
        return name, ""
    if attr == "trainable":
        if parser.frames or in_function(scope):
            return None, (
                "k2t reads a layer's trainable flag where the script's order is known: not inside a function or a "
                "loop or branch k2t does not unroll or decide"
            )
        flag = True if layer is None else parser.model_api.trainable.of(layer.model or layer)
        if flag is None:
            return None, "k2t cannot tell this layer's trainable flag here (it was set where k2t cannot follow)"
        return flag, ""
    position = _CONFIG_ATTRS.get(layer.short_name if layer is not None else "", {}).get(attr)
    if layer is None or position is None or layer.model is not None:
        kind = "an InputLayer" if layer is None else f"a {layer.short_name} layer"
        return None, f"`.{attr}` of {kind} is not translated"
    given = layer.arg(position, attr)
    if given is None or given.literal is NO_LITERAL or isinstance(given.literal, bool):
        return None, f"k2t needs the {attr} of this {layer.short_name} as a value it knows"
    return given.literal, ""


def _read_parts(node: cst.CSTNode) -> tuple[cst.BaseExpression, str] | None:
    """``X.name`` -> (X, "name"); ``X.output.shape`` -> (X, "output_shape"); ``X.get_weights()`` -> (X, "get_weights")."""
    if isinstance(node, cst.Call):
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value in _WEIGHT_METHODS and not node.args:
            return func.value, func.attr.value
        return None
    if not isinstance(node, cst.Attribute):
        return None
    if node.attr.value == "shape" and isinstance(node.value, cst.Attribute) and node.value.attr.value in _TENSOR_SHAPES:
        return node.value.value, _TENSOR_SHAPES[node.value.attr.value]
    if node.attr.value in _STATIC_ATTRS:
        return node.value, node.attr.value
    return None


def layer_read(parser: _Parser, statement, node: cst.CSTNode, scope: _Scope) -> bool:
    """``model.layers[0].name``, ``first.units``, ``model.get_layer("s1_c1").output.shape``,
    ``hidden.get_weights()`` in ordinary code: recorded to be rewritten (k2t.ir.LayerRead). True when handled."""
    if id(node) in parser.consumed:
        return False
    parts = _read_parts(node)
    if parts is None:
        return False
    reached, attr = parts
    from .scope import _Unfollowable

    try:
        reference = layer_reference(parser, reached, scope)
    except _Unfollowable as exc:
        _mark(parser, node)
        parser.todo(statement, exc.node, "K2T103", exc.message)
        return True
    if reference is None:
        return False
    var, spec, layer = reference
    _mark(parser, node)
    if isinstance(reached, cst.Name):
        parser.model_api.read_names.add(id(reached))
    known, why = None, ""
    if attr in _STATIC_ATTRS:
        known, why = known_attribute(parser, spec, layer, attr, scope)
    parser.script.layer_reads.append(
        LayerRead(spec, var, layer, attr, parser.pos(node), statement, node, parser.code(reached).strip(), known, why)
    )
    return True


def layer_alias_statement(parser: _Parser, line, small, scope: _Scope) -> bool:
    """``first = model.layers[0]`` / ``out = model.get_layer("out")``: the name holds that layer (its reads are
    LayerReads); any other assignment to the name ends that. True when handled."""
    if not (
        isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name)
    ):
        return False
    target = small.targets[0].target.value
    if scope.layer_alias(target) is not None:
        scope.layer_aliases[target] = None  # the name holds something else from here on
    if not _layer_expression(small.value) or parser.frames:
        return False
    reference = layer_reference(parser, small.value, scope)
    if reference is None:
        return False
    var, spec, layer = reference
    scope.layer_aliases[target] = LayerAlias(var, spec, layer, parser.code(small.value).strip())
    parser.script.layer_aliases.append(IRLayerAlias(target, spec, var, layer, parser.pos(small), line))
    _mark(parser, small.value)
    return True


def alias_used(parser: _Parser, statement, node: cst.Name, scope: _Scope) -> bool:
    """A name bound to a layer of a model, used other than by the reads k2t translates. True when reported."""
    alias = scope.layer_alias(node.value)
    if alias is None:
        return False
    parser.consumed.add(id(node))
    parser.todo(
        statement,
        node,
        "K2T140",
        f"`{node.value}` (the layer `{alias.code}`) is used here in a way k2t does not translate; k2t translates "
        f"its {', '.join(f'.{attr}' for attr in ('name', 'trainable'))}, .output.shape, .get_weights() and "
        f".count_params()",
    )
    return True


# ------------------------------------------------------------ a loop over model.layers that reads them
class _LoopReads(Visitor):
    """The reads of the loop variable ``var`` in a loop's body; ``ok`` False when it is used otherwise."""

    def __init__(self, var: str):
        self.var = var
        self.ok = True
        self.attrs: list[str] = []
        self.calls: list[tuple[cst.Call, str]] = []

    def _is_var(self, node: cst.CSTNode) -> bool:
        return isinstance(node, cst.Name) and node.value == self.var

    def visit_AssignTarget(self, node: cst.AssignTarget) -> bool:
        if isinstance(node.target, cst.Attribute) and self._is_var(node.target.value):
            self.ok = False  # `layer.trainable = False` along other statements: not only reads
        return True

    def visit_AugAssign(self, node: cst.AugAssign) -> bool:
        return self.visit_AssignTarget(cst.AssignTarget(node.target))

    def visit_Call(self, node: cst.Call) -> bool:
        func = node.func
        if isinstance(func, cst.Attribute) and self._is_var(func.value) and func.attr.value == "get_weights":
            if node.args:
                self.ok = False
            self.calls.append((node, func.attr.value))
            return False
        return True

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        if self._is_var(node.value):
            if node.attr.value in _STATIC_ATTRS:
                self._read(node.attr.value)
            else:
                self.ok = False
            return False
        parts = _read_parts(node)
        if parts is not None and self._is_var(parts[0]) and parts[1] in _TENSOR_SHAPES.values():
            self._read(parts[1])
            self.calls.append((node, parts[1]))  # the record holds it as `layer.output_shape`
            return False
        node.value.visit(self)  # not the attribute's name, which is no variable
        return False

    def _read(self, attr: str) -> None:
        if attr not in self.attrs:
            self.attrs.append(attr)

    def visit_Name(self, node: cst.Name) -> None:
        if node.value == self.var:
            self.ok = False  # the layer itself passed on, rebound, ...


def layer_loop(parser: _Parser, stmt: cst.For, scope: _Scope) -> bool:
    """``for layer in model.layers: print(layer.name, layer.trainable)`` (or ``for i, layer in
    enumerate(model.layers[:3])``): a loop whose body only reads the layers' names, flags, arguments, shapes
    and weights runs over one record per layer (k2t.ir.LayerLoop). True when handled."""
    iterable, target = stmt.iter, stmt.target
    if (
        isinstance(iterable, cst.Call)
        and isinstance(iterable.func, cst.Name)
        and iterable.func.value == "enumerate"
        and iterable.args
        and iterable.args[0].keyword is None
        and not iterable.args[0].star
        and isinstance(target, cst.Tuple)
        and len(target.elements) == 2
    ):
        iterable, target = iterable.args[0].value, target.elements[1].value  # the layers, their variable
    sliced = isinstance(iterable, cst.Subscript)
    layers_node = iterable.value if sliced else iterable
    if (
        stmt.orelse is not None
        or not isinstance(target, cst.Name)
        or not (isinstance(layers_node, cst.Attribute) and layers_node.attr.value == "layers")
        or (sliced and (len(iterable.slice) != 1 or not isinstance(iterable.slice[0].slice, cst.Slice)))
    ):
        return False
    model = _model_of(parser, layers_node.value, scope)
    if model is None or model[1].application is not None:
        return False
    var, spec = model
    loop_var = target.value
    reads = _LoopReads(loop_var)
    stmt.body.visit(reads)
    if not reads.ok:
        return False
    from .flow import _Frame
    from .scope import _Unfollowable

    _mark(parser, iterable)
    for call, _ in reads.calls:
        _mark(parser, call)
    try:
        _keras_order(spec, iterable)
        layers = model_layers(parser, spec, iterable)
        if sliced:
            layers = layers[_key(parser, iterable.slice[0].slice, scope, iterable)]
    except _Unfollowable as exc:
        parser.todo(stmt, exc.node, "K2T103", exc.message)
        layers = None
    scope.layer_aliases[loop_var] = None
    scope.layer_objects[loop_var] = None
    scope.env.forget([loop_var], "a loop variable")
    parser.in_frame(
        _Frame(stmt, f"a loop over `{parser.code(iterable)}`", scope), lambda: parser.block(_body_of(stmt.body), scope)
    )
    from ..values import assigned_names

    scope.env.forget(assigned_names(stmt), "rebound in a loop", supersede=False)
    if layers is None:
        return True
    known: list[dict[str, object]] = []
    why: dict[str, str] = {}
    for layer in layers:
        values = {}
        for attr in reads.attrs:
            if attr in _TENSOR_SHAPES.values():
                continue  # the translation's
            value, reason = known_attribute(parser, spec, layer, attr, scope)
            if value is None:
                why.setdefault(attr, reason)
            else:
                values[attr] = value
        known.append(values)
    parser.script.layer_loops.append(
        LayerLoop(
            spec,
            var,
            tuple(layers),
            loop_var,
            tuple(reads.attrs),
            tuple(known),
            why,
            tuple(reads.calls),
            parser.pos(stmt),
            stmt,
            iterable,
            parser.code(iterable).strip(),
        )
    )
    return True


# ------------------------------------------------------------ a model's Keras tensors
_MODEL_TENSORS = ("inputs", "outputs", "input", "output")


def _chain(parser: _Parser, spec: ModelSpec, node: cst.CSTNode, scope: _Scope) -> list[TensorNode]:
    """A Sequential model's tensors as Keras's graph of it holds them: its Input, then each layer's output
    (made once per model, and for the layers added since)."""
    if spec.input_shape is None or spec.steps is not None or spec.creation_order or spec.unfollowed is not None:
        raise parser_error(
            node,
            "k2t follows the tensors of a Sequential model that starts with a keras.Input (Keras builds this one "
            "at its first call)",
        )
    chain = parser.model_api.chains.setdefault(id(spec), [])
    if not chain:
        chain.append(TensorNode("inputs", spec.input_pos or spec.pos, None, id(spec), input_shape=spec.input_shape))
    keys = {id(held[0]): held[1] for held in _layer_objects(scope)}
    for layer in spec.layers[len(chain) - 1 :]:
        key = id(layer.model) if layer.model is not None else keys.get(id(layer), id(layer))
        chain.append(parser.made(TensorNode("x", spec.pos, layer, key, (chain[-1],))))
    return chain


def _application_tensors(parser: _Parser, var: str, spec: ModelSpec, node: cst.Attribute) -> list[TensorNode]:
    """``base_model.input`` and ``base_model.output`` of a keras.applications model (Keras's fine-tuning recipe:
    ``x = base_model.output``, then ``keras.Model(inputs=base_model.input, outputs=predictions)``): its Input, of
    the ``input_shape=`` the script gives, and the model applied to it, made once per model."""
    chain = parser.model_api.chains.setdefault(id(spec), [])
    if not chain:
        shape = spec.application.kwarg("input_shape")
        if shape is None or shape.elements is None:
            raise parser_error(
                node,
                f"`{var}.{node.attr.value}` of a keras.applications model built without input_shape=(...): k2t needs "
                "the input's sizes (give input_shape=, or call the model on a keras.Input)",
            )
        inputs = TensorNode("inputs", parser.pos(node), None, id(chain), input_shape=shape)
        layer = KerasCall("keras.Model", (), (), parser.pos(node), model=spec, held_in=var)
        parser.model_api.flattened.add(id(layer))
        chain.extend([inputs, parser.made(TensorNode("x", parser.pos(node), layer, id(spec), (inputs,)))])
    _mark(parser, node)
    parser.model_api.read_names.add(id(node.value))
    return chain


def _layer_objects(scope: _Scope) -> list:
    found = []
    current: _Scope | None = scope
    while current is not None:
        found.extend(held for held in current.layer_objects.values() if held is not None)
        current = current.parent
    return found


def _layer_output(parser: _Parser, spec: ModelSpec, layer: KerasCall | None, node, scope: _Scope) -> list[TensorNode]:
    """``layer.output`` of a layer of ``spec``: the tensor it makes there, or the tensors of a call with several
    outputs (``out, h, c = lstm(x)``) in the call's order (Keras refuses it for a layer applied several times)."""
    if spec.graph is None:
        chain = _chain(parser, spec, node, scope)
        return [next(tensor for tensor in chain[1:] if tensor.layer is layer)]
    if layer is None:
        if len(spec.graph.inputs) > 1:
            raise parser_error(node, "`.output` of an InputLayer of a model with several inputs is not translated")
        return [spec.graph.inputs[0]]
    made = [tensor for tensor in spec.graph.nodes if tensor.layer is layer]
    if len({call_key(tensor) for tensor in made}) != 1:
        raise parser_error(node, "`.output` of a layer applied several times is not translated")
    if made[0].output_index is None:
        return made
    # The graph holds the outputs the model reads; the call made them all (`encoder_outputs` discarded too).
    call = call_key(made[0])
    outputs = {
        tensor.output_index: tensor
        for tensor in parser.script.tensor_nodes
        if tensor.layer is layer and call_key(tensor) == call
    }
    if sorted(outputs) != list(range(len(made[0].unpacked))):
        raise parser_error(node, "`.output` of a layer with several outputs k2t did not follow is not translated")
    return [outputs[index] for index in sorted(outputs)]


def model_tensors(parser: _Parser, node: cst.BaseExpression, scope: _Scope) -> tuple[list[TensorNode], bool] | None:
    """The Keras tensors of a model's graph that ``node`` reads, and whether as a list: ``model.inputs``,
    ``model.input``, ``model.outputs``, ``model.output``, and ``layer.output`` of a layer of a model
    (``model.get_layer("d2").output``, ``model.layers[-2].output``). None for anything else."""
    if not isinstance(node, cst.Attribute) or node.attr.value not in _MODEL_TENSORS:
        return None
    model = _model_of(parser, node.value, scope, reading=True)
    if model is not None:
        var, spec = model
        if spec.application is not None:
            tensors = _application_tensors(parser, var, spec, node)
            return [tensors[0] if node.attr.value.startswith("input") else tensors[1]], node.attr.value.endswith("s")
        if spec.graph is not None:
            tensors = list(spec.graph.inputs if node.attr.value.startswith("input") else spec.graph.outputs)
        elif not spec.layers and spec.input_shape is None:
            raise parser_error(node, "k2t cannot tell the tensors of this model (it is not built by the script)")
        elif node.attr.value in ("input", "output"):
            raise parser_error(
                node,
                f"Keras 3's Sequential model has no `.{node.attr.value}` until it is called on a Keras tensor "
                f"(AttributeError): `{var}.{node.attr.value}s` is the list of its {node.attr.value}s",
            )
        else:
            chain = _chain(parser, spec, node, scope)
            tensors = [chain[0] if node.attr.value.startswith("input") else chain[-1]]
        as_list = node.attr.value.endswith("s") or len(tensors) > 1  # Keras: `input` of several is a list
        _mark(parser, node)
        return tensors, as_list
    if node.attr.value != "output":
        return None
    reference = layer_reference(parser, node.value, scope)
    if reference is None:
        return None
    _, spec, layer = reference
    tensors = _layer_output(parser, spec, layer, node, scope)
    _mark(parser, node)
    if isinstance(node.value, cst.Name):
        parser.model_api.read_names.add(id(node.value))
    return tensors, len(tensors) > 1


def model_tensor_items(parser: _Parser, node: cst.BaseExpression, scope: _Scope) -> tuple[list[TensorNode], bool] | None:
    """``model.input[0]``, ``model.outputs[1:]``: an index or slice, as numbers k2t knows, of the tensors
    model_tensors reads as a list. None for anything else."""
    if not (isinstance(node, cst.Subscript) and len(node.slice) == 1):
        return None
    if not names_model_tensor(parser, node.value, scope):
        return None
    read = model_tensors(parser, node.value, scope)
    if read is None:
        return None
    tensors, as_list = read
    if not as_list:
        raise parser_error(node, f"`{parser.code(node.value)}` is one Keras tensor: k2t does not follow an item of it")
    key = _key(parser, node.slice[0].slice, scope, node)
    if isinstance(key, slice):
        return tensors[key], True
    if not -len(tensors) <= key < len(tensors):
        raise parser_error(node, f"`{parser.code(node)}`: the list holds {len(tensors)} Keras tensors (IndexError)")
    return [tensors[key]], False


def names_model_tensor(parser: _Parser, node: cst.BaseExpression, scope: _Scope) -> bool:
    """Whether ``node`` is written as one of model_tensors' expressions (not resolved: nothing is recorded)."""
    if not isinstance(node, cst.Attribute) or node.attr.value not in _MODEL_TENSORS:
        return False
    model = _model_of(parser, node.value, scope)
    if model is not None:
        return model[1].application is None
    if node.attr.value != "output":
        return False
    if isinstance(node.value, cst.Name):
        return scope.layer_alias(node.value.value) is not None or scope.layer_object(node.value.value) is not None
    return _layer_expression(node.value)


def input_shape_value(parser: _Parser, node: cst.BaseExpression, scope: _Scope) -> Value | None:
    """``model.input_shape[1:]`` of a model with one input: the shape its Input was given (``keras.Input(shape=
    model.input_shape[1:])``). None for anything else."""
    if not (
        isinstance(node, cst.Subscript)
        and isinstance(node.value, cst.Attribute)
        and node.value.attr.value == "input_shape"
        and len(node.slice) == 1
        and isinstance(node.slice[0].slice, cst.Slice)
    ):
        return None
    part = node.slice[0].slice
    lower = parser.evaluate(part.lower, scope)[0] if part.lower is not None else None
    if lower != 1 or part.upper is not None or part.step is not None:
        return None
    model = _model_of(parser, node.value.value, scope)
    if model is None:
        return None
    spec = model[1]
    if spec.graph is not None:
        return spec.graph.inputs[0].input_shape if len(spec.graph.inputs) == 1 else None
    return spec.input_shape
