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

from ..ir import FreezeSpec, Instance, KerasCall, LayerSelection, ModelSpec, StateReset
from ..values import Unknown
from .syntax import _body_of, is_docstring

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
    if not (name.startswith("keras.layers.") and short[:1].isupper() or name == "keras.Sequential"):
        return None
    if isinstance(node.func, cst.Name) and node.func.value in parser.script.layer_classes:
        short = node.func.value  # a custom layer: Keras names it after its class (`Attention` -> attention)
    explicit = next((value.literal for key, value in kwargs if key == "name"), None)
    certain = not parser.frames and not in_function(scope)
    return parser.model_api.names.name(parser.layer_key(node), short, explicit, certain)


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
    """``model.layers`` in Keras's order: a Sequential's layers without its Input; a Functional chain's InputLayer first."""
    if spec.graph is None:
        if not spec.layers and spec.input_shape is None:
            raise parser_error(node, "k2t cannot tell the layers of this model (it is not built by the script)")
        return list(spec.layers)
    graph = spec.graph
    previous = graph.inputs[0] if len(graph.inputs) == 1 else None
    seen: set[object] = set()
    for tensor in graph.nodes:
        # Keras orders a graph's layers by depth; along a chain that is the order they are applied in.
        if previous is None or tensor.inputs != (previous,) or tensor.layer_id in seen:
            raise parser_error(
                node,
                "k2t follows `.layers` of a Functional model only along a chain of layers (one input, no branches)",
            )
        seen.add(tensor.layer_id)
        previous = tensor
    return [None, *(tensor.layer for tensor in graph.nodes)]


def _model_of(parser: _Parser, node: cst.BaseExpression, scope: _Scope) -> tuple[str, ModelSpec] | None:
    if isinstance(node, cst.Name):
        instance = scope.model(node.value)
        if instance is not None:
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
    layers = model_layers(parser, spec, node)
    given = {
        arg.keyword.value if arg.keyword is not None else ("name", "index")[i]: arg.value
        for i, arg in enumerate(node.args[:2])
    }
    if "index" in given and "name" not in given:
        return _pick(parser, layers, cst.Index(given["index"]), scope, node)[0]
    value = parser.evaluate(given["name"], scope)[0] if "name" in given else None
    if not isinstance(value, str):
        raise parser_error(node, f"k2t needs the name in `{parser.code(node)}` as a string it knows")
    names = [_layer_name(layer) for layer in layers]
    if value in names:
        return layers[names.index(value)]
    if None in names:
        raise parser_error(
            node, f"k2t cannot tell which layer Keras names {value!r} here: give that layer name={value!r}"
        )
    raise parser_error(
        node, f"the model has no layer named {value!r} (Keras raises ValueError); its layers: {', '.join(names)}"
    )


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
            spec, var, layers, bool(raw), parser.pos(small), line, ignored=not applied, model_frozen=frozen
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

    class Reads(cst.CSTVisitor):
        def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
            nonlocal count
            count -= node.name.value == name  # visited as a Name below

        def visit_Name(self, node: cst.Name) -> None:
            nonlocal count
            count += node.value == name

    module.visit(Reads())
    return count
