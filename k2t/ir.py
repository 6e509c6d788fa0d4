"""The parsed, Keras-faithful description of a script.

Nothing here knows about PyTorch: values are kept as the script wrote them
(source text plus the literal when there is one) so that each Keras->torch
meaning lives in exactly one converter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import libcst as cst
from libcst.metadata import MetadataWrapper

from .diagnostics import Diagnostic, Severity

Pos = tuple[int, int]  # (line, 1-based column)


class _NoLiteral:
    def __repr__(self) -> str:
        return "NO_LITERAL"


NO_LITERAL: Any = _NoLiteral()


@dataclass(frozen=True)
class KerasCall:
    """A call of a Keras symbol: ``keras.layers.Dense(16, activation="relu")``."""

    name: str  # canonical, e.g. "keras.layers.Dense"
    args: tuple[Value, ...]
    kwargs: tuple[tuple[str, Value], ...]
    pos: Pos
    # The variable holding this layer when the script built it before the model
    # (``norm = layers.Normalization()`` ... ``Sequential([norm, ...])``).
    bound: LayerObject | None = field(default=None, compare=False, repr=False)
    # A Sequential or Functional model of the script used as a layer of another model
    # (``Sequential([encoder, layers.Dense(1)])``, ``features = base(inputs)``); ``name`` is then "keras.Model".
    model: ModelSpec | None = field(default=None, compare=False, repr=False)
    # The variable the script holds that nested model in where it uses it (``base_network`` of
    # ``base_network = create_base_network(shape)``, whose ModelSpec has no ``var``: it is returned by a function).
    held_in: str | None = field(default=None, compare=False, repr=False)
    # That nested model's Instance.arguments: what the call of the function that made it passes, known.
    factory_arguments: tuple[tuple[str, Any], ...] = field(default=(), compare=False, repr=False)
    # The name Keras gives the layer (``name=``, or ``dense_1`` as Keras counts them), None where k2t cannot tell.
    keras_name: str | None = field(default=None, compare=False, repr=False)
    # A layer class of the script (``class Attention(keras.layers.Layer)``) that this call instantiates;
    # ``name`` is then "keras.layers.Layer" (k2t.translate.custom_layers).
    layer_class: LayerClass | None = field(default=None, compare=False, repr=False)
    # The attribute a keras.Model subclass keeps the layer in (``self.classifier = layers.Dense(3)``): the
    # torch attribute's name too, so the module reads like the script (k2t.parse.subclassed).
    attribute: str | None = field(default=None, compare=False, repr=False)
    # `a + b` of Keras tensors: Keras 3 applies an op (keras.ops.add), no layer; the node applies the merge
    # layer of the same computation (``name`` "keras.layers.Add"), which model.layers does not list.
    operator: bool = field(default=False, compare=False, repr=False)

    def kwarg(self, key: str) -> Value | None:
        for k, v in self.kwargs:
            if k == key:
                return v
        return None

    def arg(self, index: int, key: str) -> Value | None:
        """Argument given by position ``index`` or by keyword ``key``."""
        if index < len(self.args):
            return self.args[index]
        return self.kwarg(key)

    def bind(
        self, names: tuple[str, ...] | list[str]
    ) -> tuple[dict[str, Value], Value | None, tuple[str, Value] | None]:
        """The arguments by parameter name, in Keras's parameter order ``names``.

        Also returns the first positional argument beyond ``names`` and the
        first keyword not in ``names`` (None when there is none), for the
        caller's diagnostic.
        """
        given: dict[str, Value] = dict(zip(names, self.args))
        extra = self.args[len(names)] if len(self.args) > len(names) else None
        unknown = None
        for key, value in self.kwargs:
            if key in names:
                given[key] = value
            elif unknown is None:
                unknown = (key, value)
        return given, extra, unknown

    @property
    def short_name(self) -> str:
        return self.name.rsplit(".", 1)[-1]


@dataclass(eq=False)
class LayerObject:
    """A layer the script keeps in a variable: ``norm = layers.Normalization()``.

    ``uses`` are the places where the script uses it outside any model
    (``norm.adapt(x)``, ``print(norm.mean)``): such a layer must exist where
    the script creates it, and the models that contain it receive it.
    """

    var: str
    call: KerasCall
    statement: cst.CSTNode = field(repr=False, compare=False)
    uses: list[Pos] = field(default_factory=list)
    # Where an RNN takes it as its cell, read as the call written there (`cell = MinimalRNNCell(4)`, then
    # `RNN(cell)`: a cell of the script's own class); the RNN builds its own copy.
    followed: list[Pos] = field(default_factory=list)
    # Made in a function at one of its calls (`chol_encoded = encode_numerical_feature(chol, "chol", train_ds)`):
    # the name that holds it where the models are built, which the function returns (HelperLayer); else `var`.
    held_in: str | None = None
    # Built through a name holding one of several layer classes (LayerClassChoice): `lookup = lookup_class(...)`.
    class_alias: str | None = None

    @property
    def outside_name(self) -> str:
        """The name the models' constructors read this layer from."""
        return self.held_in or self.var


@dataclass(eq=False)
class LayerClassChoice:
    """``lookup_class = layers.StringLookup if is_string else layers.IntegerLookup`` in a function walked at each
    call, whose test each call decides: each branch becomes the generated class of the layers made through it."""

    statement: cst.CSTNode = field(repr=False)
    branches: tuple[tuple[cst.BaseExpression, str], ...] = field(repr=False)  # (the branch's node, canonical class)
    positions: tuple[Pos, ...] = ()  # each branch's


@dataclass(eq=False)
class HelperLayer:
    """keras.io's structured data: ``def encode_numerical_feature(feature, name, dataset): normalizer =
    layers.Normalization(); normalizer.adapt(...); return normalizer(feature)``, called as ``chol_encoded =
    encode_numerical_feature(chol, "chol", train_ds)``. Each call makes and adapts its own layer, used outside the
    model (adapt), which the model applies to the Keras tensor the call passes. The function stays, without its
    Keras-tensor parameters, and returns the layer; the call keeps its other arguments and its name holds the layer."""

    statement: cst.CSTNode = field(repr=False)  # the call's statement
    call: cst.Call = field(repr=False)
    function: cst.FunctionDef = field(repr=False)
    returned: cst.CSTNode = field(repr=False)  # the function's `return ...` statement
    layer: LayerObject
    tensor_parameters: frozenset[str]  # the parameters the call passes Keras tensors


@dataclass(frozen=True)
class ShapeOf:
    """``x_train.shape[1:]``: the sizes of an array's trailing axes, read when the script runs.

    How many there are depends on the array's number of axes (``rank``), which
    the script fixes where it reshapes the array (``x.reshape(-1, 28, 28, 1)``),
    or which the model's first layer requires (translate.model.input_dims).
    """

    array: str  # the array's code: "x_train"
    start: int  # x.shape[start:]
    rank: int | None  # the array's number of axes (batch included), where the script fixes it
    # A function's parameter that may hold a shape (`def make_model(input_shape): keras.Input(input_shape)`):
    # its sizes are `input_shape[0]`, `input_shape[1]`, ..., read where the function builds the model.
    sequence: bool = False

    @property
    def code(self) -> str:
        return self.array if self.sequence else f"{self.array}.shape[{self.start}:]"

    @property
    def length(self) -> int | None:
        """How many sizes the slice holds, where known without the model."""
        if self.rank is not None:
            return len(range(self.rank)[self.start :])
        return -self.start if self.start < 0 else None  # x.shape[-3:]: three, whatever the rank

    def dims(self, length: int) -> list[str]:
        """Code of each of the ``length`` sizes: ``x_train.shape[1]``, ``x_train.shape[2]``, ..."""
        first = self.start if self.start >= 0 else -length
        if self.sequence:
            return [f"{self.array}[{index}]" for index in range(first, first + length)]
        return [f"{self.array}.shape[{index}]" for index in range(first, first + length)]


@dataclass(frozen=True)
class ScriptCode:
    """The script's own code behind an argument (``Lambda(lambda t: t / scale)``, ``Lambda(fn)``), for a
    converter that translates it: the CST node, the script (its import names, positions, top-level names),
    the function the argument is written in (None: module level) and the values known there (a
    k2t.values.Env; for a lambda a snapshot, so that a local it reads may be inlined)."""

    node: cst.CSTNode = field(repr=False, compare=False)
    script: KerasScript = field(repr=False, compare=False)
    function: str | None = None
    env: Any = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class Value:
    """An argument as written in the script."""

    code: str
    pos: Pos
    literal: Any = NO_LITERAL
    keras_ref: str | None = None  # a bare Keras symbol, e.g. keras.activations.relu
    keras_call: KerasCall | None = None
    elements: tuple[Value, ...] | None = None  # for list/tuple displays
    items: tuple[tuple[object, Value], ...] | None = None  # for dict displays with literal keys
    shape_of: ShapeOf | None = None  # ``x_train.shape[1:]``: sizes read off an array when the script runs
    source: ScriptCode | None = field(default=None, repr=False, compare=False)  # a lambda or a name of the script
    # The bindings of the script's names the code read (k2t.values.Binding), when k2t followed it.
    bindings: tuple = field(default=(), repr=False, compare=False)
    # The keras.Model subclass's __init__ parameter the code was given to (``RecommenderNet(ids.shape[0])``): the
    # name of the constructor parameter it becomes where the code is no name of its own.
    parameter: str | None = field(default=None, compare=False)

    @property
    def is_literal(self) -> bool:
        return self.literal is not NO_LITERAL

    @property
    def rebound(self) -> bool:
        """A name the code reads is bound again later in the script (``filters *= 2`` after the layer): the code
        may mean another value where the generated module is built, so it cannot stand there as written."""
        return any(binding.superseded for binding in self.bindings)


def per_sample_shape(batch_shape: Value) -> Value | None:
    """Keras's batch shape ``(batch, *sample)`` (``batch_input_shape=``, ``Input(batch_shape=...)``) as the shape
    of one sample; None unless written as a tuple or list of at least two sizes."""
    if batch_shape.elements is None or len(batch_shape.elements) < 2:
        return None
    sample = batch_shape.elements[1:]
    code = "(" + ", ".join(size.code for size in sample) + ("," if len(sample) == 1 else "") + ")"
    literal = tuple(size.literal for size in sample) if all(size.is_literal for size in sample) else NO_LITERAL
    return Value(code, sample[0].pos, literal, elements=sample)


@dataclass(eq=False)
class ModelSpec:
    """A Keras Sequential model built in the script: one architecture, one generated class.

    ``var`` is the variable it is assigned to, or None for ``return Sequential(...)``.
    """

    var: str | None
    pos: Pos
    call: KerasCall  # the Sequential(...) call
    layers: list[KerasCall] = field(default_factory=list)
    input_shape: Value | None = None  # Input(shape=...) as written: a tuple, or x.shape[1:] (Value.shape_of)
    input_pos: Pos | None = None
    statement: cst.CSTNode | None = field(default=None, repr=False, compare=False)
    add_statements: list[cst.CSTNode] = field(default_factory=list, repr=False, compare=False)
    graph: Graph | None = None  # Functional models: the layer graph (then ``layers`` is empty)
    factory: str | None = None  # the function that builds it, if any (names the generated class)
    # Why the model as Keras builds it is not known (a `.add` k2t could not follow): never translated short.
    unfollowed: str | None = None
    # id() of a layer added inside helper calls -> those calls, outermost first (k2t.translate.blocks).
    invocations: dict[int, tuple] = field(default_factory=dict, repr=False, compare=False)
    steps: StepSpec | None = None  # a keras.Model subclass overriding train_step / test_step (k2t.parse.train_step)
    # A subclass without call() whose steps compose the models given to it (keras.io's Distiller, GAN): Keras cannot
    # call it, and the module has no forward() (k2t.parse.subclassed._composite_graph)
    without_call: bool = False
    # A keras.Model subclass: its layers' identities (TensorNode.layer_id) in the order __init__ makes them, which is
    # Keras's order of model.layers and model.weights, whatever order call() applies them in.
    creation_order: tuple[int, ...] = ()
    # The call of a function that builds this model from a layer it receives (k2t.parse.layer_factories).
    built_by: FactoryCall | None = field(default=None, repr=False, compare=False)
    # ``base = keras.applications.MobileNetV2(...)``: a model Keras builds itself (k2t.translate.applications).
    application: KerasCall | None = None
    # An application written inside another model (``model.add(ResNet50(...))``): that model, which builds it
    # under ``var`` (a name k2t chose) right before itself.
    inline_in: ModelSpec | None = field(default=None, repr=False, compare=False)
    # A factory's shape parameter (``def build(input_shape)``) -> how many sizes every call passes in it
    # (``build(X.shape[1:])`` of a 2-D X: 1); None where the calls pass different or unknown numbers.
    parameter_lengths: dict[str, int | None] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True, eq=False)
class FactoryCall:
    """``build_and_compile_model(horsepower_normalizer)``: a call of a function whose model holds a layer
    parameter. Its body is walked at each call, so each call has its model (``ModelSpec.built_by``)."""

    call: cst.Call = field(repr=False)
    function: cst.FunctionDef = field(repr=False)
    pos: Pos
    # The parameters whose values this call gives k2t knows (``use_bn=True``), which the body may decide the
    # model's layers on: the calls whose models differ are told apart by them (k2t.translate.factory_calls).
    arguments: tuple[tuple[str, Any], ...] = field(default=(), repr=False)
    decisive: frozenset[str] = frozenset()  # the parameters the body decides on (an `if`, a loop, a call)


@dataclass(frozen=True)
class StepLine:
    """One statement of a ``train_step`` / ``test_step`` override, as Keras reads it (k2t.parse.train_step).

    ``kind``: "unpack" (``x, y = data``), "forward" (``y_pred = self(x, training=...)``), "loss",
    "trainables" (``variables = self.trainable_variables``), "gradients" (``tape.gradient(loss, variables)``:
    the gradients, the loss, the variables), "apply" (the optimizer's update: gradients, variables), "update"
    (``self.tracker.update_state(...)``), "update_all" (the guide's loop over ``self.metrics``),
    "return_all" (``{m.name: m.result() for m in self.metrics}``), "return" (a dict of results),
    "submodel" (``z_mean, z_log_var, z = self.encoder(data)``: a model the subclass holds, called on step
    variables), "op" (``kl_loss = tf.reduce_mean(...)``: an expression of ops over step variables).
    ``names``: the variables it binds or reads, in the statement's order; ``attr``: the ``self``
    attribute it uses (a tracker, a loss object, a submodel, or "compute_loss" for the compiled loss).
    """

    kind: str
    pos: Pos
    names: tuple[str, ...] = ()
    attr: str | None = None
    training: bool | None = None  # "forward": the training flag as written
    items: tuple[tuple[str, str], ...] = ()  # "return": (key, tracker attribute) pairs
    arguments: tuple[str, ...] = ()  # "submodel": the variables it is called on; "op": the step's data variable
    expression: cst.BaseExpression | None = field(default=None, repr=False, compare=False)  # "op": as written
    # "loss": (y_true, y_pred) as written where they are expressions of ops (``tf.nn.softmax(t / self.temperature)``)
    operands: tuple[cst.BaseExpression, ...] = field(default=(), repr=False, compare=False)
    # "loss": Keras 2's compiled_loss(y, y_pred) without regularization_losses=self.losses (no layer penalties)
    without_penalties: bool = False


@dataclass(eq=False)
class StepSpec:
    """A ``keras.Model`` subclass whose ``train_step`` / ``test_step`` replace Keras's, as the script wrote them."""

    class_name: str
    pos: Pos
    objects: tuple[tuple[str, Value], ...] = ()  # self.attr = keras.metrics.X(...) / keras.losses.X(...) in __init__
    metrics: tuple[str, ...] = ()  # the attributes the overridden `metrics` property lists, in order
    train: tuple[StepLine, ...] = ()
    test: tuple[StepLine, ...] | None = None  # None: Keras's own test_step
    compile_override: CompileOverride | None = None  # the class's own compile(), which stores its arguments on self
    numbers: tuple[tuple[str, Any], ...] = ()  # `self.latent_dim = latent_dim` of __init__, read by a step: its value
    data: tuple[str, str | None] = ("data", None)  # the parameter of train_step and test_step (`real_images`)


@dataclass(frozen=True)
class CompileOverride:
    """``def compile(self, optimizer, metrics, student_loss_fn, alpha=0.1): super().compile(optimizer=optimizer,
    metrics=metrics); self.alpha = alpha`` (keras.io's Distiller and GAN): which parameter goes where."""

    params: tuple[tuple[str, cst.BaseExpression | None], ...] = field(compare=False)  # name, default as written
    base: tuple[tuple[str, str], ...] = ()  # keras.Model.compile's keyword -> the parameter passed there
    stored: tuple[tuple[str, str], ...] = ()  # self attribute -> the parameter stored there


@dataclass(eq=False)
class ShapeRead:
    """``model.input_shape`` / ``model.output_shape`` (or a model tensor's ``.shape``) read by the script: Keras's static shapes."""

    model: ModelSpec
    attr: str  # "input_shape" or "output_shape"
    pos: Pos
    statement: cst.CSTNode = field(repr=False, compare=False)
    var: str = ""  # the model's variable
    # `model.inputs[0].shape` / `model.output.shape`: the expression read, rewritten to the module's shape attribute
    node: cst.CSTNode | None = field(default=None, repr=False, compare=False)
    index: int | None = None  # inputs[index] / outputs[index]; None for model.input / model.output


@dataclass(eq=False)
class LayerCountRead:
    """``len(model.layers)`` read by the script: a number Keras knows from the model's architecture."""

    model: ModelSpec
    pos: Pos
    statement: cst.CSTNode = field(repr=False, compare=False)
    node: cst.Call = field(repr=False, compare=False)  # the len(...) call, rewritten to the number
    layers_seen: int = 0  # a Sequential's layers where the script reads it (more may be added after)


@dataclass(eq=False)
class StaticShapeRead:
    """``K.int_shape(x)`` / ``x.shape`` of a Keras tensor in a top-level line k2t keeps (Chollet's
    ``shape_before_flattening = K.int_shape(x)``): the tuple Keras gives while it builds the model, every size known."""

    code: str  # the tuple, batch first: "(None, 14, 14, 64)"
    tensor: str  # the Keras tensor's variable
    pos: Pos
    statement: cst.CSTNode = field(repr=False, compare=False)
    node: cst.BaseExpression = field(repr=False, compare=False)  # the read, rewritten to the tuple


@dataclass(eq=False)
class MetricsNamesRead:
    """``model.metrics_names`` (Brownlee's ``print(model.metrics_names[1], scores[1])``): Keras 3's names of the
    model's metrics where the script reads them, known from its compile()."""

    model: ModelSpec
    compiled: CompileSpec | None  # the compile() in force there; None before any
    pos: Pos
    statement: cst.CSTNode = field(repr=False, compare=False)
    node: cst.Attribute = field(repr=False, compare=False)


@dataclass(eq=False)
class LayerRead:
    """What the script reads of one layer of a model: ``model.layers[0].name``, ``first.units``,
    ``model.get_layer("s1_c1").output.shape``, ``model.get_layer("out").get_weights()``, ``hidden.count_params()``.

    The parser knows a layer's name, its trainable flag where the script reads it and its constructor's
    arguments (``known``); the translation knows its shapes and the submodule holding its weights
    (k2t.translate.model_api.translate_layer_reads). ``node`` is the expression rewritten."""

    model: ModelSpec
    var: str  # the model's variable
    layer: KerasCall | None  # None: a Functional model's InputLayer
    attr: (
        str  # "name", "trainable", a constructor argument, "output_shape", "input_shape", "get_weights", "count_params"
    )
    pos: Pos
    statement: cst.CSTNode = field(repr=False, compare=False)
    node: cst.CSTNode = field(repr=False, compare=False)
    code: str = ""  # the layer's expression as written: `model.get_layer("out")`
    known: Any = None  # what the parser knows of it (the name, the flag, the argument's value); None: unknown
    why: str = ""  # why ``known`` is None, where it should be known


@dataclass(eq=False)
class LayerAlias:
    """``first = model.layers[0]`` / ``out = model.get_layer("out")``: a name for a layer of a model; the
    statement names the layer's submodule (``first = model.hidden1``), or goes where the layer has none."""

    target: str
    model: ModelSpec
    var: str
    layer: KerasCall | None
    pos: Pos
    statement: cst.CSTNode = field(repr=False, compare=False)


@dataclass(eq=False)
class LayerLoop:
    """``for layer in model.layers: print(layer.name, layer.trainable)``: a loop that only reads the layers.
    The loop runs over one record per layer (k2t.translate.model_api.translate_layer_loops) holding what the
    body reads as Keras has it where the loop starts; ``layer.get_weights()`` in the body reads the record's
    submodule (LayerRead with ``loop_var``)."""

    model: ModelSpec
    var: str
    layers: tuple[KerasCall | None, ...]
    loop_var: str
    attrs: tuple[str, ...]  # the static attributes the body reads, in first-read order
    known: tuple[dict[str, Any], ...]  # per layer: attribute -> value (absent: unknown, with ``why``)
    why: dict[str, str]  # attribute -> why it is not known for some layer
    # What the body reads that the records hold otherwise: ``layer.get_weights()`` (from the record's submodule,
    # ``layer.module``) and ``layer.output.shape`` (``layer.output_shape``).
    calls: tuple[tuple[cst.CSTNode, str], ...] = field(repr=False, compare=False)
    pos: Pos
    statement: cst.CSTNode = field(repr=False, compare=False)
    iterable: cst.CSTNode = field(repr=False, compare=False)
    code: str = "model.layers"  # the iterable as written


@dataclass(eq=False)
class LossesSum:
    """``sum(model.losses)``: the penalties of the model's regularizers and the terms its layers added
    (add_loss, activity regularizers) in the last call, which the module computes as ``regularization_loss()``
    and ``added_loss()``."""

    model: ModelSpec
    var: str
    pos: Pos
    statement: cst.CSTNode = field(repr=False, compare=False)
    node: cst.Call = field(repr=False, compare=False)  # the sum(...) call, rewritten to the module's terms


@dataclass(eq=False)
class VariableCount:
    """``len(model.trainable_variables)`` (or ``.weights``, ``.trainable_weights``, ``.non_trainable_weights``):
    Keras's count of the model's variables, which depends on what is frozen where the script reads it."""

    model: ModelSpec
    var: str
    attr: str
    pos: Pos
    statement: cst.CSTNode = field(repr=False, compare=False)
    node: cst.Call = field(repr=False, compare=False)  # the len(...) call, rewritten to a count over the module
    layers_seen: int = 0  # a Sequential's layers where the script reads it (more may be added after)


@dataclass(eq=False)
class Invocation:
    """One call of a helper function that builds Keras tensors (``x = residual_block(x, 64)``)."""

    helper: str  # the function's name
    pos: Pos  # the call
    tensor_params: tuple[tuple[str, TensorNode], ...] = ()  # (parameter, the tensor it receives), in order
    arguments: tuple[tuple[str, Any], ...] = ()  # (parameter, its value) for parameters k2t knows
    returned: tuple[TensorNode, ...] = ()  # what the call returns, in order
    returns_tuple: bool = False  # `return x, skip` rather than `return x`


@dataclass(eq=False)
class TensorNode:
    """A symbolic Keras tensor of the Functional API: an Input, or a layer applied to tensors."""

    var: str  # the variable the script assigned it to
    pos: Pos
    layer: KerasCall | None  # None for keras.Input
    layer_id: int  # the layer object's identity: a shared layer appears in several nodes
    inputs: tuple[TensorNode, ...] = ()
    as_list: bool = False  # the layer was called on a list of tensors (merge layers)
    # A layer called on several tensors by position and keyword (``mha(query, value, key=k)``): the
    # keyword each input was given by, None for a positional one; empty when every input is positional.
    keywords: tuple[str | None, ...] = ()
    call_kwargs: tuple[tuple[str, Value], ...] = ()  # the call's other keyword arguments (``use_causal_mask=True``)
    # ``out, scores = mha(q, v, return_attention_scores=True)``: which item of the call's tuple this tensor is.
    output_index: int | None = None
    input_shape: Value | None = None  # for keras.Input: the shape as written (a tuple, or x.shape[1:])
    input_name: str | None = None  # keras.Input(name=...)
    statement: cst.CSTNode | None = field(default=None, repr=False, compare=False)
    # The helper calls being walked when the layer was applied, outermost first.
    invocations: tuple[Invocation, ...] = field(default=(), repr=False, compare=False)
    # `out, state_h, state_c = LSTM(8, return_state=True)(x)`: the names the call's outputs are unpacked into,
    # and which of them this node is (one node per name, all of the same call and statement).
    unpacked: tuple[str, ...] = ()
    # `LSTM(8)(x, initial_state=[h, c])`: how many of `inputs` (after the first) are the initial state.
    initial_states: int = 0
    # `Dropout(0.5)(x, training=True)`: the mode Keras runs the layer in for this call, whatever fit or predict
    # run it in; None when the call does not say (or says training=None: the same).
    training: Value | None = None
    # An expression of ops in a subclassed model's call() (``ops.mean(h, axis=1)``); ``layer`` is then OP_EXPRESSION.
    expression: OpExpression | None = field(default=None, repr=False, compare=False)
    # keras.Input: the name Keras gives its InputLayer (name=, or `input_layer_1` where k2t knows Keras's count).
    keras_name: str | None = None


@dataclass(frozen=True, eq=False)
class ClosureTensor:
    """A module-level Keras tensor a loss function of the script reads (Keras 2's VAE loss: ``z_mean``)."""

    name: str  # the script's name for it, which the function reads
    tensor: TensorNode
    pos: Pos  # where the function first reads it
    statement: cst.CSTNode | None = field(default=None, repr=False)  # the function's statement reading it first


@dataclass(eq=False)
class OpExpression:
    """An expression of a subclassed model's call() over its tensors that is no layer call: ``ops.concatenate([a,
    b], axis=-1)``, ``h[:, 0]``, ``ops.relu(self.dense(x))``. One graph node, its inputs the tensors it reads (a
    tensor's name, or a layer call inside it, which is a node of its own), rewritten through the op vocabulary."""

    node: cst.BaseExpression = field(repr=False)  # as the script wrote it
    tensors: tuple[int, ...]  # id() of the sub-expression each of the node's inputs stands for, in their order
    constants: dict[int, str] = field(default_factory=dict)  # id() of a `self.attr` k2t knows -> its value's code
    keras_name: Any = field(default=None, repr=False)  # the script's canonical names (k2t.translate.op_code)
    # id() of a name the expression reads that holds a number (``SCALE``): a scalar to its shape (Functional models)
    scalars: frozenset[int] = frozenset()


OP_EXPRESSION = "keras.ops"  # the KerasCall name of an OpExpression's node


@dataclass(eq=False)
class Graph:
    inputs: list[TensorNode]
    outputs: list[TensorNode]
    nodes: list[TensorNode]  # every layer node the outputs depend on, in computation order
    outputs_as_list: bool = False  # Model(outputs=[...]) returns a list even for one output


@dataclass(eq=False)
class CompileSpec:
    """``var.compile(...)`` on an instance of ``model``."""

    model: ModelSpec
    var: str
    pos: Pos
    optimizer: Value | None
    loss: Value | None
    metrics: tuple[Value, ...]
    extra: tuple[tuple[str, Value], ...] = ()
    statement: cst.CSTNode | None = field(default=None, repr=False, compare=False)
    # True when compiled inside a function that returns the model: the optimizer
    # must travel with the model (``model.optimizer``) instead of a local variable.
    escapes: bool = False
    metrics_given: bool = False  # compile(metrics=...) written, even as an empty list (model.metrics_names)
    # A compile() the subclass overrides (ir.CompileOverride): the values it stores on self, by attribute
    stored: tuple[tuple[str, Value], ...] = ()


@dataclass(eq=False)
class CloneSpec:
    """``var = keras.models.clone_model(model)``: a model of the same architecture with freshly initialised weights."""

    var: str
    model: ModelSpec
    pos: Pos
    node: cst.Call = field(repr=False, compare=False)
    statement: cst.CSTNode = field(repr=False, compare=False)


@dataclass(eq=False)
class Instance:
    """What a variable holds: a model of some architecture, maybe compiled."""

    model: ModelSpec
    compile: CompileSpec | None = None
    # A model a function returned (``base = make_base(12)``): its parameters whose values that call gives k2t
    # knows, defaults included (``(("units", 12),)``).
    arguments: tuple[tuple[str, Any], ...] = ()
    # `model = make_model(input_shape=x_train.shape[1:])` at the module's level: the call of the function that built
    # it, and that statement (a load_model() of its file rebuilds the module with this call's arguments).
    made_by: cst.Call | None = field(default=None, repr=False, compare=False)
    made_at: cst.CSTNode | None = field(default=None, repr=False, compare=False)


@dataclass
class MethodCall:
    """``model.fit(...)`` / evaluate / predict / summary anywhere in an expression."""

    model: str  # the receiver variable
    instance: Instance = field(repr=False)
    compiled: CompileSpec | None = field(repr=False)  # the compile in force at this call
    method: str
    pos: Pos
    args: tuple[Value, ...]
    kwargs: tuple[tuple[str, Value], ...]
    node: cst.Call = field(repr=False, compare=False)
    statement: cst.CSTNode | None = field(default=None, repr=False, compare=False)  # the statement holding the call


@dataclass(eq=False)
class LoadSpec:
    """``var = keras.models.load_model(path)``: a model read back from a file.

    ``model`` is the architecture the file holds, resolved after the whole
    script is read (the save may come later in the source, e.g. in an else
    branch); None when k2t cannot tell, with ``reason`` saying why.
    """

    var: str
    path: Value
    pos: Pos
    instance: Instance
    compile: bool  # load_model(compile=...): the restored model keeps the saved model's compile()
    function: str | None  # the function the load happens in (None: module level)
    statement: cst.CSTNode = field(repr=False, compare=False)
    model: ModelSpec | None = None
    saved_compile: CompileSpec | None = None  # the compile in force where the file was written
    saver: str = ""  # what wrote the file, for the output's comment: "model.save()"
    reason: str | None = None
    # The model was built by a function called at the module's level (`make_model(input_shape=x_train.shape[1:])`):
    # its parameters -> the code of the arguments that call passes, which still hold at the load.
    factory_arguments: dict[str, str] | None = None


@dataclass(eq=False)
class LearningRateAccess:
    """``model.optimizer.learning_rate`` read, or set (``= x``, ``.assign(x)``, ``keras.backend.set_value``)."""

    model: str  # the receiver variable
    compiled: CompileSpec | None  # the compile in force here
    pos: Pos
    node: cst.CSTNode = field(repr=False, compare=False)  # a read: the expression; a write: the statement
    statement: cst.CSTNode = field(repr=False, compare=False)
    code: str = ""  # a read's source text
    value: Value | None = None  # a write's new learning rate
    operator: str = "="  # a write's assignment operator (``*=`` ...)
    quote: str = '"'  # the quote a read's replacement may use (inside an f-string, the other one)


@dataclass(frozen=True)
class LayerProgram:
    """The body of ``for [i, ]layer in [enumerate(]base.layers[...][)]:`` made of ``if``s, flags assigned to names
    and ``layer.trainable = ...``: ``known`` holds the values the names it reads have where the loop starts,
    ``classes`` the Keras layer class each ``isinstance(layer, ...)`` names (by the class's code)."""

    body: tuple[cst.CSTNode, ...] = field(repr=False, compare=False)
    layer_var: str
    index_var: str | None
    start: int  # enumerate's start
    known: tuple[tuple[str, object], ...]
    classes: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class LayerSelection:
    """``base.layers[:100]``, ``base.layers[-20]`` or ``base.get_layer("top_conv")`` of a keras.applications
    model: Keras builds its layers itself, so the translation, which builds them too, picks them
    (k2t.translate.model_api). ``key`` is a slice, an index or a layer name; ``code`` the expression as written.
    ``of_class`` is a layer class the loop tests (``if isinstance(layer, layers.BatchNormalization):``, or
    ``if not isinstance(...)`` where ``negated``): only the layers that pass are changed."""

    key: slice | int | str
    code: str
    of_class: str | None = None
    negated: bool = False
    # A loop body deciding each layer's flag (Chollet's `if layer.name == 'block5_conv1': set_trainable = True`),
    # run for each picked layer where the model is translated (k2t.translate.layer_programs).
    program: LayerProgram | None = None

    def picks(self, keras_class: str) -> bool:
        return self.of_class is None or (keras_class == self.of_class) != self.negated


@dataclass(eq=False)
class FreezeSpec:
    """``layer.trainable = False`` (or True) on layers of a model, or on a whole model (``base.trainable = False``).

    ``layers`` are the model's layers the statement reaches, in Keras's order
    (a None entry is a Functional model's InputLayer, which holds no weights);
    None means the whole model. ``loop_var`` is the variable of ``for layer in
    base.layers[:k]: layer.trainable = False``, whose ``statement`` is the loop.
    """

    model: ModelSpec
    var: str  # the variable holding the model where the statement runs
    layers: tuple[KerasCall | None, ...] | LayerSelection | None
    trainable: bool
    pos: Pos
    statement: cst.CSTNode = field(repr=False, compare=False)
    loop_var: str | None = None
    # Keras (TensorFlow backend) skips `model.trainable = True` when the model's own flag is already True,
    # leaving its layers as they are: the statement changes nothing.
    ignored: bool = False
    # Layers of a keras.applications model whose own flag is False: Keras trains none of its weights
    # (a frozen model's trainable_weights is empty) whatever their flags (k2t.translate.model_api).
    model_frozen: bool = False
    # Recorded under an `if` k2t leaves as written: the statement's lines run where the output's test holds.
    under_branch: bool = False


@dataclass(eq=False)
class StateReset:
    """``layer.reset_states()`` (Keras 3 also spells it ``reset_state()``) on layers of a model: ``model.layers[0]``,
    ``model.get_layer(name)`` or a layer variable. ``model.reset_states()`` itself is a MethodCall."""

    model: ModelSpec
    var: str  # the variable holding the model where the statement runs
    layers: tuple[KerasCall | None, ...]
    pos: Pos
    statement: cst.CSTNode = field(repr=False, compare=False)


# ------------------------------------------------------------- the whole script
@dataclass
class FunctionCallSpec:
    call: KerasCall
    node: cst.Call = field(repr=False, compare=False)


@dataclass
class ScikitLearnWrapper:
    """``KerasClassifier(build_fn=create_model, epochs=10)``: Keras 2's scikit-learn wrapper (keras.wrappers.scikit_learn)
    around a function of the script that builds and compiles a model; a generated estimator class builds that model
    afresh at every fit (k2t.translate.scikit_learn)."""

    kind: str  # "KerasClassifier" or "KerasRegressor"
    function: str  # the build function's name
    instance: Instance = field(repr=False)  # the compiled model it returns
    keywords: tuple[tuple[str, Value], ...]  # the sk_params written in the call
    pos: Pos
    node: cst.Call = field(repr=False, compare=False)
    statement: cst.CSTNode = field(repr=False, compare=False)


@dataclass(eq=False)
class LayerClass:
    """A top-level script class subclassing keras.layers.Layer: translated to an nn.Module where a model uses it."""

    node: cst.ClassDef = field(repr=False, compare=False)
    base: cst.Arg = field(repr=False, compare=False)  # the Keras base, in any spelling
    name: str
    pos: Pos
    script: KerasScript = field(repr=False, compare=False)
    # `class Shifted(Base)`: the script's layer class it subclasses (Base subclasses keras.layers.Layer, or another)
    parent: LayerClass | None = field(default=None, repr=False, compare=False)
    # `class ClippedDense(layers.Dense)`: the Keras layer it subclasses ("keras.layers.Dense"); None: Layer itself
    keras_base: str | None = None


@dataclass
class SequenceClass:
    """A script class subclassing keras.utils.Sequence / PyDataset: kept as written, without that base."""

    node: cst.ClassDef = field(repr=False, compare=False)
    base: cst.Arg = field(repr=False, compare=False)  # the Keras base, in any spelling
    name: str
    pos: Pos


@dataclass
class CallbackClass:
    """A script class subclassing keras.callbacks.Callback: kept as written, its base replaced."""

    node: cst.ClassDef = field(repr=False, compare=False)
    base: cst.Arg = field(repr=False, compare=False)  # the keras.callbacks.Callback base, in any spelling
    name: str
    hooks: tuple[str, ...]  # the on_* methods it defines
    pos: Pos


@dataclass
class Todo:
    """An unsupported construct: where it is and what to say about it."""

    statement: cst.CSTNode = field(repr=False, compare=False)
    code: str
    message: str
    pos: Pos
    # A warning converts (no TODO comment, exit code 0) but says where the result may differ from Keras.
    severity: Severity = Severity.ERROR
    # The line of the root cause this statement follows from: a TODO comment in the output, and no
    # diagnostic of its own (the root cause's diagnostic is the one to act on).
    follows: int | None = None

    def __post_init__(self) -> None:
        # The message becomes a `# TODO(k2t): ...` comment and a `path:line:col:` record: both are one line.
        self.message = one_line_message(self.message)


# A quoted piece of the script longer than this is cut in a message (a whole multi-line call says nothing more).
_QUOTE_LIMIT = 80


_QUOTED = re.compile(r"`([^`]*)`")


def one_line_message(message: str) -> str:
    """``message`` on one line: quoted multi-line code joined as it reads, long quotes cut with `...`."""
    message = re.sub(r"([(\[{])\s*(?:\r\n|\r|\n)\s*", r"\1", message)  # `Dense(\n    3` -> `Dense(3`
    message = re.sub(r"\s*(?:\r\n|\r|\n)\s*([)\]}])", r"\1", message)  # `3,\n)` -> `3,)`
    message = re.sub(r"\s*(?:\r\n|\r|\n)\s*", " ", message)

    def shorten(match: re.Match[str]) -> str:
        quoted = match.group(1)
        return match.group(0) if len(quoted) <= _QUOTE_LIMIT else f"`{quoted[: _QUOTE_LIMIT - 4].rstrip()} ...`"

    return _QUOTED.sub(shorten, message)


@dataclass(frozen=True)
class TapeGradient:
    """``grads = tape.gradient(loss, model.trainable_weights)`` inside ``with tf.GradientTape() as tape:``
    (k2t.parse.tape): the gradients of ``loss`` w.r.t. the model's trainable variables."""

    statement: cst.SimpleStatementLine = field(repr=False)
    tape: cst.With = field(repr=False)  # the `with` block that records the loss
    grads: str  # the variable the gradients are bound to
    loss: str  # the loss expression, as written
    model: str
    pos: Pos


@dataclass(frozen=True)
class AppliedGradients:
    """``optimizer.apply_gradients(zip(grads, model.trainable_weights))`` as a statement of its own."""

    statement: cst.SimpleStatementLine = field(repr=False)
    optimizer: str  # the variable holding the Keras optimizer
    built: KerasCall  # the optimizer's construction (``keras.optimizers.SGD(...)``)
    built_statement: cst.SimpleStatementLine = field(repr=False)  # ``optimizer = keras.optimizers.SGD(...)``
    grads: str
    model: str
    instance: Instance = field(repr=False)
    pos: Pos


@dataclass(frozen=True)
class GradientClip:
    """``grads, norm = tf.clip_by_global_norm(grads, clip_norm)`` between taking and applying gradients."""

    statement: cst.SimpleStatementLine = field(repr=False)
    source: str  # the gradients clipped
    result: str  # the variable the clipped gradients are bound to
    norm: str | None  # the variable the global norm (before clipping) is bound to; None for `_`
    clip_norm: str  # as written
    pos: Pos


@dataclass(frozen=True)
class ObjectCall:
    """A Keras loss or metric object used by hand: ``loss_fn(y, logits)``, ``acc.update_state(y, logits)``,
    ``acc.result()``, ``acc.reset_state()``. ``method`` is None for a call of the object itself."""

    node: cst.Call = field(repr=False)
    variable: str
    built: KerasCall  # the object's construction
    built_statement: cst.SimpleStatementLine = field(repr=False)
    method: str | None
    args: tuple[str, ...]  # positional arguments, as written
    pos: Pos


@dataclass(frozen=True)
class DirectModelCall:
    """``model(x, training=True)`` (or without ``training``: Keras's inference mode) on data, not on Keras tensors."""

    node: cst.Call = field(repr=False)
    statement: cst.SimpleStatementLine = field(repr=False)
    model: str
    instance: Instance = field(repr=False)
    training: bool
    inputs: str  # the input expression, as written
    pos: Pos


@dataclass
class Distribution:
    """The script's tf.distribute strategies (k2t.parse.distribute), each bound at the top level and used only
    in the forms whose torch meaning is certain; the strategy statements go, the scopes are unwrapped."""

    strategies: list[cst.SimpleStatementLine] = field(
        default_factory=list, repr=False
    )  # `strategy = tf.distribute.X()`
    scopes: list[cst.With] = field(default_factory=list, repr=False)  # `with strategy.scope():`
    # `strategy.num_replicas_in_sync`, by id(), and whether the strategy is a mirrored one (else one replica).
    replica_counts: dict[int, bool] = field(default_factory=dict)
    # Each such read inside calls (``model.fit(x, y, batch_size=64 * strategy.num_replicas_in_sync)``):
    # id() of its enclosing calls, innermost first, and its text; a translated call replaces it in its own text.
    replica_calls: dict[int, tuple[tuple[int, ...], str]] = field(default_factory=dict)
    mirrored: Pos | None = None  # where the first Mirrored/MultiWorkerMirrored strategy is made: torchrun trains it


@dataclass
class CustomTraining:
    """A training loop written with tf.GradientTape (the keras.io "training loop from scratch" pattern)."""

    tapes: list[cst.With] = field(default_factory=list, repr=False)  # `with tf.GradientTape() as tape:` blocks
    gradients: list[TapeGradient] = field(default_factory=list)
    applied: list[AppliedGradients] = field(default_factory=list)
    clips: list[GradientClip] = field(default_factory=list)
    objects: list[ObjectCall] = field(default_factory=list)
    model_calls: list[DirectModelCall] = field(default_factory=list)
    decorators: list[cst.Decorator] = field(default_factory=list, repr=False)  # `@tf.function`, dropped


@dataclass
class KerasScript:
    path: str
    module: cst.Module = field(repr=False)
    models: list[ModelSpec] = field(default_factory=list)
    compiles: list[CompileSpec] = field(default_factory=list)
    clones: list[CloneSpec] = field(default_factory=list)  # `copy = keras.models.clone_model(model)`
    calls: list[MethodCall] = field(default_factory=list)
    functions: list[FunctionCallSpec] = field(default_factory=list)
    callbacks: list[FunctionCallSpec] = field(default_factory=list)  # keras.callbacks.X(...) outside fit(...)
    scikit_learn_wrappers: list[ScikitLearnWrapper] = field(default_factory=list)  # KerasClassifier(build_fn=...)
    callback_classes: list[CallbackClass] = field(default_factory=list)
    sequence_classes: list[SequenceClass] = field(default_factory=list)  # batches for fit, made by the script
    layer_classes: dict[str, LayerClass] = field(default_factory=dict)  # custom layers, by class name
    # Subclassed models (`class MyModel(keras.Model)`), by class name: the generated module takes the name.
    model_classes: dict[str, cst.ClassDef] = field(default_factory=dict, repr=False)
    callback_imports: set[str] = field(default_factory=set)  # names bound by `from keras.callbacks import ...`
    # `self.model.optimizer.learning_rate` inside callback classes (read or assigned).
    callback_learning_rates: list[cst.Attribute] = field(default_factory=list, repr=False)
    # Keras 2's `K.get_value(self.model.optimizer.lr)` (statement None) and `K.set_value(self.model.optimizer.lr, v)`
    # as a statement of its own (that statement) inside callback classes.
    callback_learning_rate_calls: list[tuple[cst.Call, cst.CSTNode | None]] = field(default_factory=list, repr=False)
    callback_model_calls: list[FunctionCallSpec] = field(default_factory=list)  # self.model.predict/evaluate(...)
    removed: set[int] = field(default_factory=set)  # id() of statements to drop
    # id() of `if` statements decided statically (on keras.backend.image_data_format()) -> the branch
    # that runs: "body", "orelse", or None when neither does; emit keeps only that branch.
    decided_ifs: dict[int, str | None] = field(default_factory=dict)
    unrolled: set[int] = field(default_factory=set)  # id() of `for` loops unrolled into a model
    tensor_nodes: list[TensorNode] = field(default_factory=list, repr=False)  # every layer call on Keras tensors
    helper_functions: set[int] = field(default_factory=set)  # id() of functions walked at each call into models
    helper_layers: list[HelperLayer] = field(default_factory=list)  # layers a function makes and adapts at each call
    layer_class_choices: list[LayerClassChoice] = field(default_factory=list)
    # Keras layer classes as values followed into a factory (``for cell in (layers.LSTM, layers.GRU)``): (node,
    # k2t.values.KerasClass, statement, pos), each written as torch's class of the same name.
    class_values: list[tuple] = field(default_factory=list, repr=False)
    # Loops walked once per item, kept as written (`for use_bn in (True, False): m = build(use_bn)`): a line of them
    # that translates otherwise at another iteration cannot stand for both (k2t.translate.walked_twice).
    walked_per_item: list[cst.For] = field(default_factory=list, repr=False)
    # id() of `if` tests k2t decided on a Keras tensor's size (`K.int_shape(x)[-1] != filters`): gone with the `if`.
    decided_tests: set[int] = field(default_factory=set)
    model_statements: set[int] = field(default_factory=set)  # id() of statements that build, extend or compile models
    # id() of `class M(keras.Model)` statements (and functions making layers, k2t.parse.makers) kept as written
    # because k2t reported the model made of them: the Keras names inside follow from that report.
    classes_left: set[int] = field(default_factory=set)
    # `h = inputs`: statements naming a Keras tensor again; they go when a translated model holds the tensor.
    tensor_aliases: list[tuple[cst.CSTNode, TensorNode]] = field(default_factory=list, repr=False)
    import_rewrites: dict[int, cst.BaseSmallStatement | None] = field(default_factory=dict)
    todos: list[Todo] = field(default_factory=list)
    layer_objects: list[LayerObject] = field(default_factory=list)  # layers the script keeps in variables
    loads: list[LoadSpec] = field(default_factory=list)  # `var = keras.models.load_model(path)`
    learning_rates: list[LearningRateAccess] = field(default_factory=list)  # model.optimizer.learning_rate
    freezes: list[FreezeSpec] = field(default_factory=list)  # `layer.trainable = False` (k2t.model_access)
    state_resets: list[StateReset] = field(default_factory=list)  # `layer.reset_states()` (k2t.model_access)
    shape_reads: list[ShapeRead] = field(default_factory=list)  # model.input_shape / model.output_shape
    layer_counts: list[LayerCountRead] = field(default_factory=list)  # len(model.layers)
    static_shapes: list[StaticShapeRead] = field(default_factory=list)  # K.int_shape(x) of a Keras tensor
    metrics_names: list[MetricsNamesRead] = field(default_factory=list)  # model.metrics_names

    layer_reads: list[LayerRead] = field(default_factory=list)  # model.layers[0].name, layer.get_weights()
    layer_aliases: list[LayerAlias] = field(default_factory=list)  # first = model.layers[0]
    layer_loops: list[LayerLoop] = field(default_factory=list)  # for layer in model.layers: print(layer.name)
    losses_sums: list[LossesSum] = field(default_factory=list)  # sum(model.losses)
    variable_counts: list[VariableCount] = field(default_factory=list)  # len(model.trainable_variables)
    custom_training: CustomTraining = field(default_factory=CustomTraining)  # tf.GradientTape loops (k2t.parse.tape)
    distribution: Distribution = field(default_factory=Distribution)  # tf.distribute strategies (k2t.parse.distribute)
    uses_keras: bool = False
    module_names: set[str] = field(default_factory=set)
    # Names one top-level assignment binds to a value k2t knows, never rebound (k2t.values.module_constants).
    module_constants: dict[str, Any] = field(default_factory=dict)
    function_locals: dict[str, set[str]] = field(
        default_factory=dict
    )  # function name -> its parameters and local names
    # Loss functions compile() names that read the model's inner Keras tensors (k2t.parse.loss_closures):
    # function name -> the tensors, in the order it first reads them.
    loss_closures: dict[str, tuple[ClosureTensor, ...]] = field(default_factory=dict)
    # The metadata of ``module`` (scopes, positions) as the parser resolved it: emit reads it again.
    metadata: MetadataWrapper | None = field(default=None, repr=False)

    def diagnostics(self) -> list[Diagnostic]:
        return [Diagnostic(self.path, t.pos[0], t.pos[1], t.code, t.message) for t in self.todos if t.follows is None]
