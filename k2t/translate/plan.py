"""What the emit stage needs: the PyTorch side of a script, as plain data."""

from __future__ import annotations

from dataclasses import dataclass, field

from .dims import Dim


@dataclass
class Param:
    """A constructor parameter of the generated module and the expression passed for it."""

    name: str
    argument: str  # source text evaluated where the Keras model was built


@dataclass
class LayerPlan:
    keras_class: str
    attr: str | None  # submodule attribute, None for stateless layers
    constructor: str | None = None
    setup: list[str] = field(default_factory=list)  # lines right after the constructor's (a custom layer's build)
    forward: list[str] = field(default_factory=list)  # lines transforming `x`
    init: list[str] = field(default_factory=list)  # lines of reset_parameters()
    weights: str | None = None  # weight-transfer kind: "dense", "batchnorm", "prelu"
    activation: str = "linear"  # applied after the submodule (per-layer parity)
    regularizers: list[str] = field(default_factory=list)  # loss terms
    # The sum of what the layer's call added with Keras's add_loss in the latest forward pass, as code.
    added_losses: list[str] = field(default_factory=list)
    todo: str | None = None
    comment: str | None = None  # why: the Keras default this reproduces
    output_shape: list[Dim] = field(default_factory=list)
    params: int | None = None  # parameter count when static
    # Dim order of this layer's torch output: "keras" (as Keras has it) or
    # "channels_first" (N, C, spatial...: what torch convolutions work in).
    layout: str = "keras"
    nested: ModulePlan | None = None  # a model used as a layer: its own module's plan
    # Built by a block class (k2t.translate.blocks) rather than by the module itself; `attr` is then dotted.
    in_block: bool = False
    block_start: tuple[str, str, str] | None = None  # (attribute, constructor, output layout) of the block built here
    # A custom layer's sublayers (k2t.translate.sublayers): (Keras path, torch path, weight-transfer kind) each.
    sublayers: list[tuple[str, str, str]] = field(default_factory=list)
    inner: list[LayerPlan] = field(default_factory=list)  # ... and their own plans


@dataclass
class ModulePlan:
    var: str
    class_name: str
    keras_name: str  # the model's name as Keras shows it
    params: list[Param]
    layers: list[LayerPlan]
    input_shape: list[Dim]
    output_activation: str | None = None  # set when training uses the logits
    todos: list[str] = field(default_factory=list)
    # (code, message, pos) of what the translation leaves out because Keras ignores it too: warnings
    warnings: list[tuple[str, str, tuple[int, int]]] = field(default_factory=list)
    output_lines: list[str] = field(default_factory=list)  # after the last layer (back to channels-last)
    helpers: list = field(default_factory=list)  # generated definitions the layers need
    # Functional models: forward's parameters, its body (over the script's tensor names) and result.
    forward_args: list[str] = field(default_factory=lambda: ["x"])
    forward_lines: list[str] | None = None
    return_value: str = "x"
    input_shapes: list[list[Dim]] = field(default_factory=list)
    input_names: list[str] = field(default_factory=list)
    output_names: list[str] = field(default_factory=list)
    output_shapes: list[list[Dim]] = field(default_factory=list)
    node_plans: list = field(default_factory=list)  # (TensorNode, LayerPlan | None) in forward order
    node_shapes: dict = field(default_factory=dict)  # id(TensorNode) -> its Keras shape (batch excluded)
    node_vars: dict = field(default_factory=dict)  # id(TensorNode) -> forward's variable for it (Keras's layout)
    # Keras 2's VAE loss (k2t.translate.loss_closures): the graph's tensors a loss function of the script reads,
    # as (the script's name, forward's variable); forward keeps them in `self.loss_tensors` for the training.
    loss_tensors: list[tuple[str, str]] = field(default_factory=list)
    graph: object | None = None  # the parsed Functional graph (k2t.ir.Graph), for parity's layer matching
    segments: list = field(default_factory=list)  # (TensorNode, forward lines) per node
    output_folds: list = field(
        default_factory=list
    )  # per output: (lines without activation, logits var, activation) or None
    output_vars: list[str] = field(default_factory=list)
    output_activations: list[str] = field(default_factory=list)
    # Where an output is keras.ops.softmax(t, axis=k) over another axis than the last: Keras's crossentropy reads
    # its logits `t` over the last axis (_keras_logits), which k2t does not fold (k2t.translate.op_nodes).
    softmax_elsewhere: list = field(default_factory=list)
    # A factory's model whose input size is a constructor parameter that one of its calls passes as 1.
    one_feature_at_a_call: bool = False
    blocks: list[ModulePlan] = field(default_factory=list)  # classes of helper calls applied several times
    block_calls: dict = field(default_factory=dict)
    block_forward: dict[int, list[str]] = field(
        default_factory=dict
    )  # Sequential: layer index -> its lines in forward  # id(returned node) -> (attribute, tensor args, id() of its nodes)
    doc: str | None = None  # the class's docstring when it is not a Keras model's
    shape_attributes: dict[str, str] = field(
        default_factory=dict
    )  # "input_shape" -> "(None, 28, 28, 1)": read by the script
    folded: list[bool] = field(
        default_factory=list
    )  # per output: training uses its logits  # (lines, logits variable, activation) without the final activation
    # A keras.Model subclass with its own train_step/test_step (k2t.translate.train_step): __init__ lines
    # after the layers (its trackers, loss objects), and methods after forward, each as indented text.
    step_init: list[str] = field(default_factory=list)
    step_methods: list[str] = field(default_factory=list)
    # A subclass without call() (keras.io's Distiller, GAN): no forward(), so calling it raises as Keras's does
    without_forward: bool = False
    # Functional: {submodule path: mode} of the layers the script calls with training=True/False
    # (k2t.translate.training_flag), which a call of the model without a mode of its own runs them in.
    explicit_training: dict[str, bool] = field(default_factory=dict)
    # What a call of the model without a mode (call_model) runs other than in inference mode: the flagged
    # layers and the augmentation layers; filled where the script makes such a call.
    modes_without_training: dict[str, bool] = field(default_factory=dict)
    # A keras.applications model (k2t.translate.applications): the template writing its classes whole, and the
    # Keras name of each of ``layers`` (weights are transferred by name: Keras's layer order is its graph's).
    source: object | None = None  # a k2t.translate.helpers.Helper
    keras_layer_names: list[str] = field(default_factory=list)
    # A model whose first layer runs on the host (TextVectorization on strings, k2t.translate.text_layers): the
    # body of its `preprocess(self, x)`, which the generated fit / evaluate / predict call on the script's data.
    preprocess: list[str] = field(default_factory=list)
    # A model whose output carries Keras's mask (Embedding(mask_zero=True) or Masking, passed on to the output):
    # the mask as an expression of the model's input `x`, the body of its `compute_mask(self, x)`, with which
    # the generated fit and evaluate mask the loss and metrics as Keras does.
    output_mask: str | None = None
    # A keras.applications model with Keras's ImageNet weights (k2t.translate.applications.Pretrained): the
    # converted script loads them, ported once by `k2t weights --imagenet`.
    pretrained: object | None = None
    # Constructor parameters the module keeps as Keras names (`self.init_name = init`: an initializer or activation a
    # grid search names, k2t.translate.layers), read by no line prune_params reads.
    kept: set[str] = field(default_factory=set)
    # The names local to the function that builds the model (its factory), which the arguments of its
    # constructor (``params``) may read: valid there, not where another model nesting this one is built.
    factory_locals: frozenset[str] = frozenset()

    @property
    def has_regularization(self) -> bool:
        return any(layer.regularizers for layer in self.layers)

    @property
    def has_added_losses(self) -> bool:
        return any(layer.added_losses for layer in self.layers)


@dataclass
class CompilePlan:
    var: str
    optimizer: str  # expression building the optimizer from `{model}.parameters()`
    optimizer_setup: list[str]  # per-step lines, e.g. Keras's epsilon-hat for Adam
    loss: str  # name of the generated loss function
    loss_on_logits: bool
    metrics: list[tuple[str, str]]  # (history key, generated function name)
