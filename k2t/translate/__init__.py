"""Stage 2: the parsed Keras description -> the PyTorch plan of the script."""

from __future__ import annotations

import ast
import dataclasses
import os
from dataclasses import dataclass, field

import libcst as cst
from libcst.metadata import GlobalScope, PositionProvider, ScopeProvider

from ..bindings import read_later
from ..cst_walk import Visitor, module_code, module_syntax
from ..diagnostics import Severity, Unsupported
from ..ir import CompileSpec, KerasCall, LayerClass, MethodCall, ModelSpec, Value
from ..names import generated_class_name
from ..parse import KerasScript, Todo
from ..parse.syntax import APPLICATIONS, calls_in
from .activations import apply_activation
from .applications import translate_application
from .applications.decode_predictions import DECODE_FUNCTIONS, translate_decode_predictions
from .applications.decode_predictions import GENERATED_NAMES as DECODE_NAMES
from .applications.preprocessing import GENERATED_NAMES as PREPROCESS_NAMES
from .applications.preprocessing import PREPROCESS_FUNCTIONS, translate_preprocess_input
from .callbacks import CallbackLoop, callbacks_argument, translate_callback_model_calls, translate_callbacks
from .compile_time_trainable import compile_time_trainable
from .custom_layers import rewrite_layer_classes, with_parents
from .custom_training import translate_custom_training
from .datasets import DATASET_FUNCTIONS, GET_FILE, translate_dataset_call, translate_get_file
from .dims import Dim
from .directory_data import (
    IMAGE_UTILITIES,
    IMAGE_UTILITY_NAMES,
    report_directory_dataset_arguments,
    translate_image_utility,
)
from .distribute import translate_distributed_training, translate_strategies
from .factory_calls import (
    Dispatch,
    check_unfollowed_calls,
    factory_call_groups,
    shared_module,
    translate_class_values,
)
from .functional import translate_functional
from .generators import batch_arguments, batch_sources, batches_beside_arrays, batches_call_code, kind_of, on_batches
from .helpers import Helper, imported_by_own_name
from .image_data import generator_variables, imported_generator_names, translate_image_data_generators
from .initializers import string_literals
from .lambda_layer import lambda_functions
from .layer_objects import translate_layer_objects
from .loss_closures import closure_of, pass_tensors, report_unused
from .losses import LOSS_BASE, plan_loss
from .metrics import MetricPlan, keras_metric_keys, number_metric_objects, plan_metric
from .model import camel_case, prune_params, translate_model
from .model_api import (
    count_params_call,
    keras_layer_count,
    keras_metrics_names,
    losses_sum,
    reset_states_call,
    shape_attribute,
    tensor_shape_read,
    translate_freezes,
    translate_layer_reads,
    translate_state_resets,
    variable_count,
)
from .nested import declares_input, names_in
from .on_batch import ON_BATCH_METHODS, translate_on_batch_call
from .on_batch import SUPPORTED_ARGUMENTS as ON_BATCH_ARGUMENTS
from .op_code import import_names, rebinds
from .optimizers import (
    imported_schedule_names,
    plan_named_optimizer,
    plan_optimizer,
    sparse_embedding_rows,
    translate_learning_rates,
)
from .plan import ModulePlan
from .precision import POLICY_FUNCTIONS, Precision, translate_policy, unsupported_loops
from .saving import SAVING_METHODS, restored_instances, translate_loads, translate_saving_call
from .scikit_learn import GENERATED_NAMES as WRAPPER_NAMES
from .scikit_learn import translate_scikit_learn_wrappers
from .script_metrics import METRIC_BASE
from .script_ops import translate_script_ops
from .sequences import GENERATED_NAMES as ARRAY_FUNCTION_NAMES
from .sequences import translate_array_function
from .shared_layers import share_layers
from .signatures import METHOD_SIGNATURES
from .subclassed import keep_model_classes
from .text import GENERATED_NAMES as TEXT_FUNCTION_NAMES
from .text import TEXT_FUNCTIONS, translate_text_call
from .tf_data import DATASET_FUNCTIONS as TF_DATA_FUNCTIONS
from .tf_data import translate_tf_data
from .train_step import translate_step_call, translate_step_compile, translate_steps
from .training_flag import modes_without_training
from .user_functions import ScriptFunctions
from .walked_twice import Written, report_walked_twice

# Keras argument order of the methods k2t translates, and which of them it supports.
SUPPORTED_ARGUMENTS: dict[str, frozenset[str]] = {
    "fit": frozenset(
        {
            "x",
            "y",
            "batch_size",
            "epochs",
            "verbose",
            "callbacks",
            "validation_split",
            "validation_data",
            "shuffle",
            "class_weight",
            "sample_weight",
            "initial_epoch",
            "steps_per_epoch",
            "validation_steps",
            "validation_batch_size",
            "validation_freq",
        }
    ),
    "evaluate": frozenset({"x", "y", "batch_size", "verbose", "sample_weight", "steps", "return_dict"}),
    "predict": frozenset({"x", "batch_size", "verbose"}),
    "summary": frozenset(),
    "build": frozenset({"input_shape"}),
    "count_params": frozenset(),
    "reset_states": frozenset(),
    "predict_classes": frozenset({"x", "batch_size", "verbose"}),
    "predict_proba": frozenset({"x", "batch_size", "verbose"}),
    **ON_BATCH_ARGUMENTS,
}


# Keras 1 argument names that Keras 2 still took (and Keras 3 refuses), as the names they became.
KERAS1_ARGUMENTS: dict[tuple[str, str], str] = {
    ("fit", "nb_epoch"): "epochs",
}

_ALTERNATIVES = {
    "summary": "print_summary",
    "fit": "train",
    "evaluate": "evaluate_model",
    "predict": "predict_numpy",
    "format_logs": "format_metrics",
    "device": "torch_device",
}


@dataclass
class TrainingPlan:
    """What compile() fixed for one model: optimizer, loss, metrics."""

    model: ModulePlan
    var: str  # the compiled variable
    escapes: bool
    optimizer_var: str  # variable (or `var.optimizer`) holding the optimizer
    optimizer: str
    loss: Helper
    on_logits: bool
    output_activation: str | None  # torch expression of the final activation, on `logits`
    metrics: list[MetricPlan]
    suffix: str = ""
    outputs: list | None = None  # OutputTraining per output for multi-output models

    loss_parameter: bool = False  # the generated fit/evaluate take the loss function as an argument
    spatial: bool = False  # the loss has one value per position, not per row (no per-row weights)
    masked: bool = False  # the output carries Keras's mask: the loss and metrics take `mask` (model.compute_mask)
    # Keras 2's VAE loss (k2t.translate.loss_closures): the loss takes the graph tensors forward keeps, by name
    loss_tensors: tuple[str, ...] = ()

    @property
    def key_without_loss(self) -> tuple:
        """Trainings with equal keys share one generated fit/evaluate (the loss may be a parameter)."""
        outputs = tuple((o.name, o.loss, o.on_logits, o.weight, tuple(o.metrics)) for o in self.outputs or ())
        inputs = tuple(self.model.input_names) if len(self.model.forward_args) > 1 else ()
        loss = None if self.outputs is None else self.loss
        return (
            loss,
            self.on_logits,
            self.output_activation,
            tuple(self.metrics),
            self.model.has_regularization,
            self.model.has_added_losses,
            outputs,
            inputs,
            bool(self.model.preprocess),
            self.masked,
            self.loss_tensors,
        )

    @property
    def loss_function(self) -> str:
        """How the generated code calls the loss."""
        return "loss_fn" if self.loss_parameter else self.loss.name

    @property
    def loss_extra(self) -> str:
        """What the loss call passes after the output and the targets: the graph tensors a VAE loss reads."""
        return ", **model.loss_tensors" if self.loss_tensors else ""

    def optimizer_for(self, receiver: str) -> str:
        return f"{receiver}.optimizer" if self.escapes else self.optimizer_var


@dataclass
class CallPlan:
    call: MethodCall
    code: str


@dataclass
class ScriptPlan:
    modules: list[ModulePlan] = field(default_factory=list)
    torch_compile: bool = False  # fit/evaluate run the forward pass through torch.compile (k2t convert --compile)
    trainings: list[TrainingPlan] = field(default_factory=list)
    training_groups: list[TrainingPlan] = field(default_factory=list)  # one per generated fit/evaluate
    helpers: list[Helper] = field(default_factory=list)
    helper_renames: list[tuple[Helper, Helper]] = field(default_factory=list)  # (as given, as renamed) by add_helper
    statements: dict[int, list[str]] = field(default_factory=Written)  # id(statement) -> replacement lines
    after: dict[int, list[str]] = field(default_factory=dict)  # id(statement) -> lines added after it
    before: dict[int, list[str]] = field(default_factory=dict)  # id(statement) -> lines added before it
    # id() of `a *= b` statements in code rewritten from TensorFlow to torch, written `a = a * b` (k2t.translate.op_code.rebinds)
    rebinds: set[int] = field(default_factory=set)
    # id() of a name, subscript or attribute read in a training step -> its code as a tensor (k2t.translate.script_ops)
    operands: dict[int, str] = field(default_factory=dict)
    calls: dict[int, str] = field(default_factory=Written)  # id(call node) -> replacement expression
    trailing_comments: dict[int, str] = field(default_factory=dict)  # id(statement) -> a comment ending its line
    expressions: dict[int, str] = field(default_factory=dict)  # id(cst.Arg) -> replacement of its value
    # A layer factory called several times (k2t.translate.factory_calls): id(FunctionDef) -> keyword parameters
    # it gains, id(call) -> the `keyword=argument` texts that call passes.
    added_parameters: dict[int, list[str]] = field(default_factory=dict)
    closure_losses: set[str] = field(default_factory=set)  # VAE losses passed the graph tensors they read
    added_keywords: dict[int, list[str]] = field(default_factory=dict)
    # A function that returns the layer it makes at each call (k2t.ir.HelperLayer): id(FunctionDef) -> the
    # parameters it loses, the Keras tensors its calls passed.
    removed_parameters: dict[int, frozenset[str]] = field(default_factory=dict)
    # The construction line of a factory whose calls build different models -> the classes and what picks one.
    dispatches: dict[int, Dispatch] = field(default_factory=dict)
    unwrapped: set[int] = field(default_factory=set)  # id() of `with` blocks replaced by their body (tf.GradientTape)
    todos: list[Todo] = field(default_factory=list)
    features: set[str] = field(default_factory=set)
    fit_options: set[str] = field(default_factory=set)
    evaluate_options: set[str] = field(default_factory=set)
    predict_options: set[str] = field(default_factory=set)
    weighted: bool = False  # some fit/evaluate weighs rows: loss functions take sample_weight
    callback_loop: CallbackLoop | None = None  # what the generated fit does for the script's callbacks
    # id(KerasCall) of a callback built inside fit(...) -> its code, or the Unsupported raised when that fit translates
    callback_codes: dict[int, str | Unsupported] = field(default_factory=dict)
    callback_texts: dict[str, str] = field(default_factory=dict)  # source of a callback built elsewhere -> code
    metric_counters: dict[str, int] = field(default_factory=dict)  # Keras's numbering of unnamed AUC/Precision/Recall
    # Training suffix -> "fit" / "evaluate": the generated functions on batches from a generator or Sequence.
    batch_kinds: dict[str, set[str]] = field(default_factory=dict)
    batch_fit_options: set[str] = field(default_factory=set)  # what the script's fit calls on batches pass
    functions: ScriptFunctions | None = None  # the script's own functions compile() may name as losses and metrics
    precision: Precision = field(default_factory=Precision)  # the script's mixed-precision policy (autocast)
    distributed: bool = False  # a MirroredStrategy: fit trains with DistributedDataParallel under torchrun
    # id() of train_on_batch calls training the weights of their model's compile(), as Keras 2 (compile_time_trainable)
    compile_time_calls: set[int] = field(default_factory=set)

    # Names of generated top-level functions/classes that the script already uses -> new names.
    renames: dict[str, str] = field(default_factory=dict)
    taken: set[str] = field(default_factory=set)
    optimizer_vars: dict[int, str] = field(default_factory=dict)  # id(compile statement) -> its optimizer variable
    strings: frozenset[str] = frozenset()  # the string literals the script writes (Keras names a parameter may hold)

    def name(self, generated: str) -> str:
        """The name a generated top-level definition gets: itself unless the script uses it."""
        if generated in self.renames:
            return self.renames[generated]
        if generated not in self.taken:
            return generated
        base = _ALTERNATIVES.get(generated, generated + "_")
        candidate, n = base, 1
        while candidate in self.taken:
            n += 1
            candidate = f"{base}{n}"
        self.taken.add(candidate)
        self.renames[generated] = candidate
        return candidate

    def add_helper(self, helper: Helper) -> Helper:
        """Register a generated definition; one with the same name but other content is renamed."""
        helper = self.with_uses(helper)
        if helper in self.helpers:
            return helper
        # Renamed before: the same definition again is the one already written (not a third copy).
        renamed = next((registered for given, registered in self.helper_renames if given == helper), None)
        if renamed is not None:
            return renamed
        names = {h.name for h in self.helpers}
        if helper.name in names:
            n = 2
            while f"{helper.name}_{n}" in names:
                n += 1
            self.helper_renames.append((helper, dataclasses.replace(helper, name=f"{helper.name}_{n}")))
            helper = self.helper_renames[-1][1]
        self.helpers.append(helper)
        return helper

    def with_uses(self, helper: Helper) -> Helper:
        """Register the definitions ``helper`` uses (Helper.uses); it refers to each by its registered name, which
        differs where another definition of that name came first."""
        renamed = []
        for used in helper.uses():
            registered = self.add_helper(used)
            if registered != used:
                renamed.append((used, registered))
        return helper.with_renamed(renamed) if renamed else helper


def translate(script: KerasScript) -> ScriptPlan:
    plan = ScriptPlan(todos=list(script.todos), functions=ScriptFunctions.of(script))
    plan.compile_time_calls = compile_time_trainable(script, plan)
    plan.weighted = any(_weights(call) is not None for call in script.calls)
    # A Keras name the script imports as it is (`from keras.utils import get_file`) is free for the generated definition.
    replaced = {
        **APPLICATIONS,
        **PREPROCESS_NAMES,
        **DECODE_NAMES,
        **ARRAY_FUNCTION_NAMES,
        **TEXT_FUNCTION_NAMES,
        **TF_DATA_FUNCTIONS,
        **IMAGE_UTILITY_NAMES,
        **WRAPPER_NAMES,
        GET_FILE: "get_file",
    }
    plan.taken = (
        set(script.module_names)
        - imported_schedule_names(script)
        - imported_generator_names(script)
        - imported_by_own_name(script.module, replaced)
        - set(script.model_classes)  # `class MyModel(keras.Model)` is replaced by the generated module of that name
    )
    plan.strings = string_literals(script.module)
    translate_strategies(script, plan)
    modules: dict[int, ModulePlan] = {}
    failed: set[int] = set()
    built: list[tuple[ModelSpec, ModulePlan]] = []

    def register(spec: ModelSpec, module: ModulePlan) -> None:
        modules[id(spec)] = module
        module.factory_locals = frozenset(script.function_locals.get(spec.factory, ()))
        if not any(known is module for known in plan.modules):  # a layer factory's calls share one module
            plan.modules.append(module)
            for helper in module.helpers:
                plan.add_helper(helper)
            if module.source is not None:  # a keras.applications model: its block classes, once per script
                module.source = plan.with_uses(module.source)
        built.append((spec, module))
        for code, message, pos in module.warnings:
            plan.todos.append(Todo(spec.statement, code, message, pos, Severity.WARNING))
        for statement in spec.add_statements:
            plan.statements[id(statement)] = []
        if spec.graph is not None:
            # The tensor statements are folded into the module's forward.
            for node in [*spec.graph.inputs, *spec.graph.nodes]:
                if node.statement is not None and node.statement is not spec.statement:
                    plan.statements.setdefault(id(node.statement), [])
            held = {id(node) for node in [*spec.graph.inputs, *spec.graph.nodes]}
            for statement, tensor in script.tensor_aliases:
                if id(tensor) in held:
                    plan.statements.setdefault(id(statement), [])

    def resolve_nested(spec: ModelSpec, given_input: list[Dim], pos, outer: ModelSpec | None = None) -> ModulePlan:
        """The module of a model used as a layer; one without its own input shape takes the outer model's
        (``outer``, whose sizes ``given_input`` are, as code where ``outer`` is built)."""
        if id(spec) not in modules and id(spec) not in failed:
            try:
                register(spec, _translate_model(script, spec, plan.taken, resolve_nested, given_input))
            except Unsupported as exc:
                failed.add(id(spec))
                plan.todos.append(Todo(spec.statement, exc.code, exc.message, exc.pos or spec.pos))
        if id(spec) in failed:
            raise Unsupported("K2T103", f"the model `{spec.var}` used as a layer here is not translated", pos)
        if outer is not None and given_input:
            _check_given_sizes(script, spec, outer, given_input, modules[id(spec)], pos)
        return modules[id(spec)]

    def translate_one(spec: ModelSpec, taken: set[str], sized_by_parameters: bool) -> ModulePlan:
        return _translate_model(script, spec, taken, resolve_nested, sized_by_parameters=sized_by_parameters)

    translate_class_values(script, plan)
    check_unfollowed_calls(script, plan)
    for group in factory_call_groups(script.models):  # one construction line, several calls: one class
        try:
            shared = shared_module(script, group, plan, translate_one)
        except Unsupported as exc:
            failed.update(id(spec) for spec in group)
            plan.todos.append(Todo(group[0].statement, exc.code, exc.message, exc.pos or group[0].pos))
            continue
        for spec in group:
            register(spec, shared[id(spec)])

    # A nested model without an input shape of its own is translated when its first user reaches it.
    deferred = {id(layer.model) for spec in script.models for layer in _layers_of(spec) if layer.model is not None}
    for spec in [*script.models, *script.models]:  # second pass: nested models no user reached
        if id(spec) in modules or id(spec) in failed:
            continue
        if id(spec) in deferred and not _declares_input(spec):
            deferred.discard(id(spec))
            continue
        try:
            module = _translate_model(script, spec, plan.taken, resolve_nested)
        except Unsupported as exc:
            failed.add(id(spec))
            plan.todos.append(Todo(spec.statement, exc.code, exc.message, exc.pos or spec.pos))
            continue
        register(spec, module)

    keep_model_classes(script, [spec for spec in script.models if id(spec) not in modules])
    for read in script.shape_reads:
        module = modules.get(id(read.model))
        if module is None:
            continue  # the model itself became a TODO
        try:
            count = shape_attribute(module, read.attr, read.pos)
            if read.node is not None:
                plan.calls[id(read.node)] = tensor_shape_read(read.var, read.attr, count, read.index, read.pos)
        except Unsupported as exc:
            plan.todos.append(Todo(read.statement, exc.code, exc.message, exc.pos or read.pos))
    translate_layer_reads(script, modules, plan)
    for counted in script.layer_counts:
        try:
            _check_built_before(counted.model, counted.layers_seen, "layers", counted.pos)
            plan.calls[id(counted.node)] = str(keras_layer_count(counted.model, counted.pos))
            plan.trailing_comments[id(counted.statement)] = "# Keras's len(model.layers)"
        except Unsupported as exc:
            plan.todos.append(Todo(counted.statement, exc.code, exc.message, exc.pos or counted.pos))
    shapes_read: dict[int, list[str]] = {}  # statement -> the tensors whose shapes it reads
    for read in script.static_shapes:
        plan.calls[id(read.node)] = read.code
        tensors = shapes_read.setdefault(id(read.statement), [])
        if read.tensor not in tensors:
            tensors.append(read.tensor)
            shapes = "shape" if len(tensors) == 1 else "shapes"
            plan.trailing_comments[id(read.statement)] = f"# Keras's static {shapes} of " + ", ".join(
                f"`{tensor}`" for tensor in tensors
            )
    for read in script.metrics_names:
        try:
            names = keras_metrics_names(read.model, read.compiled, read.pos)
            plan.calls[id(read.node)] = "[" + ", ".join(f'"{name}"' for name in names) + "]"
            plan.trailing_comments[id(read.statement)] = "# Keras 3's model.metrics_names"
        except Unsupported as exc:
            plan.todos.append(Todo(read.statement, exc.code, exc.message, exc.pos or read.pos))
    for summed in script.losses_sums:
        module = modules.get(id(summed.model))
        if module is None:
            message = f"sum({summed.var}.losses) of a model k2t does not translate"
            plan.todos.append(Todo(summed.statement, "K2T140", message, summed.pos))
            continue
        plan.calls[id(summed.node)] = losses_sum(summed.var, module)
    for counted in script.variable_counts:
        module = modules.get(id(counted.model))
        try:
            if module is None:
                raise Unsupported("K2T140", f"len({counted.var}.{counted.attr}) of a model k2t does not translate")
            _check_built_before(counted.model, counted.layers_seen, counted.attr, counted.pos)
            if counted.model.creation_order or not _declares_input(counted.model):
                message = (
                    f"len({counted.var}.{counted.attr}): Keras builds this model's weights at its first call, "
                    "which k2t does not follow; build it on a keras.Input"
                )
                raise Unsupported("K2T140", message, counted.pos)
            plan.calls[id(counted.node)] = variable_count(counted.var, counted.attr, module, counted.pos)
        except Unsupported as exc:
            plan.todos.append(Todo(counted.statement, exc.code, exc.message, exc.pos or counted.pos))

    trainings: dict[int, TrainingPlan] = {}
    step_optimizers: dict[int, str] = {}  # id(compile) of a model with its own train_step -> its optimizer variable
    lr_changes = _learning_rate_changes(script)
    for compiled in script.compiles:
        module = modules.get(id(compiled.model))
        if module is None:
            continue
        try:
            if compiled.model.steps is not None:
                step_optimizers[id(compiled)] = _optimizer_variable(compiled, plan)
                # Only the script's own learning-rate writes: fit_steps takes no callbacks (its call says so).
                written = any(
                    access.compiled is compiled and access.value is not None for access in script.learning_rates
                )
                translate_step_compile(compiled, module, step_optimizers[id(compiled)], plan, written)
                continue
            before = plan.statements.get(id(compiled.statement))
            trainings[id(compiled)] = _translate_compile(compiled, module, plan, id(compiled) in lr_changes)
            _same_for_every_model(
                before, plan.statements[id(compiled.statement)], compiled.statement, compiled.pos, plan
            )
        except Unsupported as exc:
            plan.todos.append(Todo(compiled.statement, exc.code, exc.message, exc.pos or compiled.pos))
    report_unused(script, plan.closure_losses, plan.todos)
    loss_base = plan.name(LOSS_BASE.name) if plan.functions.uses_loss_classes else ""
    datasets = translate_tf_data(script, plan)  # before the rewrite: a map function is rewritten with the losses
    report_directory_dataset_arguments(script, plan)
    plan.functions.use(lambda_functions(script, [spec for spec, _ in built]))  # Lambda(fn): fn runs on torch tensors
    plan.functions.use(plan.functions.never_read())  # a loss function the script left unused: torch all the same
    metric_base = plan.name(METRIC_BASE.name) if plan.functions.uses_metric_classes else ""
    plan.functions.rewrite(plan.calls, plan.todos, plan.expressions, loss_base, metric_base, plan.statements)
    used_classes = [
        layer_class for spec, _ in built for layer in _layers_of(spec) for layer_class in _layer_classes(layer)
    ]
    rewrite_layer_classes(script, used_classes, plan.calls, plan.statements, plan.expressions, plan.todos)
    for node in [*(layer_class.node for layer_class in with_parents(used_classes)), *plan.functions.used.values()]:
        plan.rebinds |= rebinds(node)
    _name_training_functions(plan)
    translate_callbacks(script, plan)

    loads = restored_instances(script)
    sequences = {cls.name for cls in script.sequence_classes}
    sources = batch_sources(module_code(script.module), sequences, generator_variables(script), datasets.expressions)
    for cls in script.sequence_classes:
        plan.expressions[id(cls.base)] = ""  # a plain class: the generated fit reads __len__/__getitem__/on_epoch_end
    for call in script.calls:
        module = modules.get(id(call.instance.model))
        if module is None:
            continue  # the model itself became a TODO
        training = trainings.get(id(call.compiled)) if call.compiled is not None else None
        steps = call.instance.model.steps
        if steps is not None and call.method not in ("predict", "summary", "count_params", *SAVING_METHODS):
            # A model with its own train_step: fit_steps / evaluate_steps run it (k2t.translate.train_step).
            if call.compiled is not None and id(call.compiled) not in step_optimizers:
                continue  # its compile() is already reported
            try:
                if on_batches(call, sources) or batches_beside_arrays(call, sources) is not None:
                    # fit_steps / evaluate_steps slice arrays; keras.io's DCGAN fits on a tf.data dataset
                    raise Unsupported(
                        "K2T130",
                        f"{call.model}.{call.method}() on batches (a dataset, a generator or a Sequence) of a model with "
                        "its own train_step is not translated; k2t translates it on arrays",
                        call.pos,
                    )
                optimizer = step_optimizers.get(id(call.compiled)) if call.compiled is not None else None
                plan.calls[id(call.node)] = translate_step_call(
                    call, _arguments(call), call.compiled is not None, steps, optimizer, plan
                )
            except Unsupported as exc:
                plan.todos.append(Todo(call.node, exc.code, exc.message, exc.pos or call.pos))
            continue
        if (
            call.compiled is not None
            and training is None
            and call.method in ("fit", "evaluate", "train_on_batch", "test_on_batch")
        ):
            continue  # its compile() is already reported
        restored = loads.get(id(call.instance))
        if (
            call.method == "fit"
            and restored is not None
            and call.compiled is not None
            and call.compiled is restored.saved_compile
        ):
            plan.todos.append(Todo(call.node, *_RESTORED_FIT, call.pos))
            continue
        try:
            if call.method in SAVING_METHODS:
                translate_saving_call(call, plan)
                continue
            if on_batches(call, sources):
                plan.calls[id(call.node)] = _translate_batches_call(call, module, training, plan, sources)
                continue
            mixed = batches_beside_arrays(call, sources)
            if mixed is not None:
                raise Unsupported(
                    "K2T130",
                    f"{call.method}(validation_data={mixed.code}) of batches beside arrays is not translated",
                    mixed.pos,
                )
            code = _translate_call(call, module, training, plan)
            before = plan.calls.get(id(call.node))
            if before is not None and before != code:
                # A line walked once per model it runs on (a loop walked per item, `for use_bn in (True, False):
                # m = build(use_bn); m.fit(...)`; a training helper's body walked per call): one line of code
                # cannot translate both.
                raise Unsupported(
                    "K2T103",
                    f"`{call.model}.{call.method}(...)` runs on models that k2t translates differently here (their "
                    f"outputs, losses or metrics differ; one line is written for all): `{before}` against `{code}`",
                    call.pos,
                )
            plan.calls[id(call.node)] = code
        except Unsupported as exc:
            plan.todos.append(Todo(call.node, exc.code, exc.message, exc.pos or call.pos))
    translate_callback_model_calls(script, plan, _translate_call)
    translate_scikit_learn_wrappers(script, modules, trainings, SUPPORTED_ARGUMENTS["fit"], plan)
    _translate_clones(script, built, plan)
    for spec, exc in share_layers(built):
        plan.todos.append(Todo(spec.statement, exc.code, exc.message, exc.pos or spec.pos))
    inline: dict[int, list[str]] = {}  # id(model) -> the applications written inside it, built right before it
    for spec, module in sorted(built, key=lambda pair: pair[0].inline_in is None):
        # The input sizes are read only by summary(): without it, a size no layer needs is no parameter.
        prune_params(module, keep_input_shape="summary" in plan.features)
        args = ", ".join(f"{p.name}={p.argument}" for p in module.params)
        target = "return " if spec.var is None else f"{spec.var} = "
        # Built on the host (Keras's initialisation draws there), then moved once to the script's device.
        construction = [f"{target}{module.class_name}({args}).to({plan.name('device')})"]
        dispatch = plan.dispatches.get(id(spec.statement))
        if dispatch is not None:  # a factory whose calls build different models: the one its arguments pick
            for _, variant in dispatch.branches:
                prune_params(variant, keep_input_shape="summary" in plan.features)
            construction = dispatch.lines(target, plan.name("device"))
        if spec.inline_in is not None:
            if module.pretrained is not None:
                construction.append(_pretrained_line(spec, module, plan, script))
            inline.setdefault(id(spec.inline_in), []).extend(construction)
            continue
        construction = inline.get(id(spec), []) + construction
        held = [layer.model.var for layer in _late_nested(spec)]
        read = [name for name in _params_bound_after(script, spec, module) if name not in held]
        where = _construction_statement(script, spec) if held or read else spec.statement
        if where is None:
            late = [f"`{name}`, which it holds," for name in held] + [
                f"`{name}`, which its layers read," for name in read
            ]
            message = f"the model `{spec.var}` is built where {' and '.join(late)} does not exist yet"
            if read:
                message += " (or has another value), and k2t cannot move it after its last add()"
            plan.todos.append(Todo(spec.statement, "K2T103", message, spec.pos))
            where = spec.statement
        if where is not spec.statement:
            # `model = Sequential()`: built after its last add(), after the names and nested models it reads.
            plan.statements[id(spec.statement)] = []
        if where is spec.statement or where in spec.add_statements:
            plan.statements[id(where)] = construction
        else:  # the loop (or other block) with the last add(): the module is built after it
            plan.after.setdefault(id(where), []).extend(construction)
        if module.pretrained is not None:
            _load_pretrained(spec, module, plan, script)
    translate_loads(script, modules, plan, plan.name("device"))  # with the parameters the modules kept
    translate_custom_training(script, modules, plan)
    translate_learning_rates(script.learning_rates, trainings, plan)
    translate_freezes(script, modules, plan)
    translate_state_resets(script, modules, plan)
    translate_layer_objects(script, plan, bool(datasets.variables or datasets.factories))
    _drop_unused_layer_calls(script, plan)
    translate_image_data_generators(script, plan)
    for function in script.functions:
        if id(function.node) in plan.calls:
            continue  # an ImageDataGenerator(...), translated with the script's others
        if function.call.name in POLICY_FUNCTIONS:
            try:
                plan.precision, code = translate_policy(function.call, plan.precision)
                unsupported_loops(plan, function.call.pos)
            except Unsupported as exc:
                plan.todos.append(Todo(function.node, exc.code, exc.message, exc.pos or function.call.pos))
                continue
        else:
            code = _translate_function(function.call, plan, script.module)
        if code is not None:
            plan.calls[id(function.node)] = code
    translate_distributed_training(script, plan)  # once the calls say what fit needs
    translate_script_ops(script, plan)  # last: its lines compose with every call translated above
    report_walked_twice(script, plan.calls, plan.statements, plan.todos)
    return plan


_RESTORED_FIT = (
    "K2T182",
    (
        "fit() on a model restored by load_model(): the torch file holds the weights only, not Keras's optimizer state; "
        "compile() the restored model again to train it"
    ),
)


def _learning_rate_changes(script: KerasScript) -> set[int]:
    """id() of the compiles whose learning rate the script changes while it trains."""
    changed = {id(access.compiled) for access in script.learning_rates if access.value is not None}
    for call in script.calls:
        if call.method == "fit" and call.compiled is not None:
            given = dict(zip(METHOD_SIGNATURES["fit"], call.args)) | dict(call.kwargs)
            callbacks = given.get("callbacks")
            if callbacks is not None and not (callbacks.is_literal and callbacks.literal in (None, [], ())):
                changed.add(id(call.compiled))  # LearningRateScheduler, ReduceLROnPlateau
    return changed


def _name_training_functions(plan: ScriptPlan) -> None:
    """One fit/evaluate pair per training configuration; suffixes only when several.

    Configurations that differ only in the loss share one pair that takes the
    loss function as a parameter (``fit(model, optimizer, msle, x, y)``).
    """
    groups: dict[tuple, list[TrainingPlan]] = {}
    for training in plan.trainings:
        groups.setdefault(training.key_without_loss, []).append(training)
    for members in groups.values():
        if len({training.loss for training in members}) > 1:
            for training in members:
                training.loss_parameter = True
    if len(groups) > 1:
        used: set[str] = set()
        largest = max(groups.values(), key=len)
        for members in groups.values():
            if members is largest:
                continue  # the most used configuration keeps the plain names fit/evaluate
            base = "_" + members[0].var
            suffix, n = base, 1
            while suffix in used:
                n += 1
                suffix = f"{base}{n}"
            used.add(suffix)
            for training in members:
                training.suffix = suffix
    plan.training_groups = [members[0] for members in groups.values()]


def _late_nested(spec: ModelSpec) -> list:
    """The models ``spec`` holds as layers whose variable the script binds after ``spec``'s own statement
    (``model = Sequential()``, then ``base = ResNet50(...)``, then ``model.add(base)``)."""
    return [
        layer for layer in spec.layers
        if layer.model is not None and layer.model.var is not None and layer.model.pos[0] > spec.pos[0]
        and layer.model.inline_in is None  # (written inside it: built right before it)
    ]  # fmt: skip


# Layers whose state the script computes (adapt) rather than initialises: a clone would not hold it in Keras either.
_ADAPTED = frozenset({"Normalization", "Discretization", "TextVectorization", "StringLookup", "IntegerLookup"})


def _translate_clones(script: KerasScript, built, plan) -> None:
    """``copy = keras.models.clone_model(model)``: the module's class constructed again, its weights initialised
    anew as Keras initialises the clone's."""
    modules = {id(spec): module for spec, module in built}
    for clone in script.clones:
        module = modules.get(id(clone.model))
        if module is None:
            continue  # the model itself is reported
        try:
            adapted = [layer.short_name for layer in _layers_of(clone.model) if layer.short_name in _ADAPTED]
            if module.params or adapted or clone.model.steps is not None:
                why = (
                    f"its {adapted[0]} holds what adapt() computed"
                    if adapted
                    else "its module takes arguments"
                    if module.params
                    else "it overrides train_step"
                )
                raise Unsupported("K2T100", f"keras.models.clone_model() of `{clone.model.var}`: {why}", clone.pos)
            plan.statements[id(clone.statement)] = [
                f"{clone.var} = {module.class_name}().to({plan.name('device')})  # clone_model: new weights"
            ]
        except Unsupported as exc:
            plan.todos.append(Todo(clone.statement, exc.code, exc.message, exc.pos or clone.pos))


def _construction_statement(script: KerasScript, spec: ModelSpec):
    """Where a Sequential model built by add() calls is built when a model it holds or a name its layers read
    is bound after the model's statement: the statement of the script's top level with its last add() (the add
    itself, or the loop around it). None: nowhere k2t can tell."""
    body = _block_holding(script.module, spec.statement)  # the module's, or the function's that builds it
    last = spec.add_statements[-1] if spec.add_statements else None
    if last is None or body is None:
        return None
    top = next((s for s in body if s is last or _contains(s, last)), None)
    if top is last or isinstance(top, (cst.For, cst.While, cst.If, cst.With)):
        return top  # (the emitter adds lines after these blocks)
    return None


def _block_holding(module: cst.Module, statement) -> list | None:
    """The statements of the block (the module's, a function's, a loop's) that holds ``statement`` itself."""
    found: list | None = None

    class _Find(Visitor):
        def enter(self, node: cst.CSTNode) -> bool:
            nonlocal found
            body = node.body if isinstance(node, (cst.Module, cst.IndentedBlock)) else None
            if found is None and isinstance(body, (list, tuple)) and any(s is statement for s in body):
                found = list(body)
            return found is None

    module.visit(_Find())
    return found


def _contains(node: cst.CSTNode, inner: cst.CSTNode) -> bool:
    found = False

    class _Find(Visitor):
        def enter(self, candidate: cst.CSTNode) -> bool:
            nonlocal found
            found = found or candidate is inner
            return not found

    node.visit(_Find())
    return found


def _params_bound_after(script: KerasScript, spec: ModelSpec, module: ModulePlan) -> list[str]:
    """The names the module's constructor arguments read that the script assigns after the model's own
    statement and up to its last add() (``model = Sequential()``, ``input_dim = X.shape[1]``, then
    ``model.add(Dense(32, input_dim=input_dim))``): at the model's statement they do not hold that value yet."""
    if not spec.add_statements or script.metadata is None:
        return []
    scopes = script.metadata.resolve(ScopeProvider)
    positions = script.metadata.resolve(PositionProvider)
    scope = scopes.get(spec.statement)
    if scope is None or spec.statement not in positions:
        return []
    start = positions[spec.statement].start.line
    end = max(positions[statement].end.line for statement in spec.add_statements if statement in positions)
    found: list[str] = []
    for param in module.params:
        try:
            names = [node.value for node in _names_read(cst.parse_expression(param.argument))]
        except cst.ParserSyntaxError:
            continue
        for name in names:
            lines = [
                positions[assignment.node].start.line
                for assignment in scope[name]
                if getattr(assignment, "node", None) in positions
            ]
            if any(start < line <= end for line in lines) and name not in found:
                found.append(name)
    return found


def _layers_of(spec: ModelSpec) -> list:
    if spec.graph is not None:
        return [node.layer for node in spec.graph.nodes if node.layer is not None]
    return list(spec.layers)


def _layer_classes(layer: KerasCall) -> list[LayerClass]:
    """The script's layer classes a translated layer uses: its own, or the cell of ``RNN(MinimalRNNCell(4))``."""
    cell = layer.arg(0, "cell") if layer.name == "keras.layers.RNN" else None
    return [
        call.layer_class
        for call in (layer, cell.keras_call if cell is not None else None)
        if call is not None and call.layer_class is not None
    ]


def _check_built_before(spec: ModelSpec, layers_seen: int, attr: str, pos) -> None:
    """A count read before the script adds the model's last layers (``model.add``) is not the whole model's."""
    if len(spec.layers) != layers_seen:
        message = f"len(model.{attr}) read before the model's last layers are added is not translated"
        raise Unsupported("K2T140", message, pos)


def _declares_input(spec: ModelSpec) -> bool:
    return declares_input(spec)


def _check_given_sizes(
    script: KerasScript, spec: ModelSpec, outer: ModelSpec, given: list[Dim], module: ModulePlan, pos
) -> None:
    """The input sizes a model gives the model it nests, as code where it is built, size the nested module where the
    script builds that one (``def make_base(): ...`` called in ``def build(n)``, whose ``Input(shape=(n,))`` sizes
    it): a local of the outer model's function is not bound there."""
    if outer.factory is None or outer.factory == spec.factory:
        return
    local = script.function_locals.get(outer.factory, set()) - script.function_locals.get(spec.factory, set())
    used = {param.argument.strip() for param in module.params}
    for dim in given:
        if dim is None or dim.value is not None or dim.code not in used:
            continue
        names = names_in(dim.code) & local
        if names:
            listed = ", ".join(f"`{name}`" for name in sorted(names))
            raise Unsupported(
                "K2T103",
                f"the nested model's input size `{dim.code}` reads {listed}, local to {outer.factory}(), which is not "
                "bound where the nested model is built",
                pos,
            )


def _translate_model(
    script: KerasScript,
    spec: ModelSpec,
    taken: set[str],
    resolve_nested=None,
    given_input: list[Dim] | None = None,
    sized_by_parameters: bool = False,
) -> ModulePlan:
    """``sized_by_parameters``: every declared input size a constructor parameter, even a literal one
    (one class for the calls of a layer factory, k2t.translate.factory_calls)."""
    name_value = spec.call.kwarg("name")
    if spec.factory is not None and spec.factory in script.model_classes:
        base = spec.factory  # `class MyModel(keras.Model)`: the generated module replaces it under its name
    elif name_value is not None and isinstance(name_value.literal, str):
        base = camel_case(name_value.literal)
    elif spec.factory is not None and _factory_class(spec.factory):
        base = _factory_class(spec.factory)  # def positive_regressor(): ... -> PositiveRegressor
    elif spec.var in (None, "model"):
        base = "Net"
    else:
        base = camel_case(spec.var)
    if spec.application is not None:
        return translate_application(spec.application, generated_class_name(spec.application.short_name, taken))
    class_name = generated_class_name(base, taken)
    if spec.graph is not None:
        module = translate_functional(spec, class_name, resolve_nested)
        if spec.steps is not None:
            # the class's own train_step / test_step, as methods of the module
            translate_steps(spec, module, import_names(script.metadata))
            module.without_forward = spec.without_call
        return module
    fallback, no_fallback = _fit_sized_input(script, spec)
    module = translate_model(spec, class_name, fallback, resolve_nested, given_input, no_fallback, sized_by_parameters)
    for key, value in spec.call.kwargs:
        if key not in ("name", "layers"):
            raise Unsupported("K2T103", f"Sequential({key}=...) is not translated", value.pos)
    return module


def _fit_sized_input(script: KerasScript, spec: ModelSpec) -> tuple[str | None, str | None]:
    """A model with no input shape: Keras builds it from the data of its first fit, so the module's input
    size is read off that array where the module is built (``Net(in_features=x.shape[-1])``). Returns that
    code, or None with the reason it cannot stand in the construction (said only if the model needs it)."""
    fits = [call for call in script.calls if call.instance.model is spec and call.method == "fit" and call.args]
    if not fits:
        return None, None
    arrays = sorted({call.args[0].code for call in fits})
    if len(arrays) > 1:
        # `m1 = build(); m1.fit(x, ...); m2 = build(); m2.fit(x[:, :3], ...)`: one construction, several sizes.
        listed = ", ".join(f"`{code}`" for code in arrays)
        return None, f"Keras sizes it from the data of its first fit, and its fits use different arrays ({listed})"
    unseen = _names_unseen_at_build(script, spec, fits[0])
    if unseen:
        return (
            None,
            f"Keras sizes it from the data of its first fit, and `{unseen}` is not bound where the model is built",
        )
    return f"{arrays[0]}.shape[-1]", None


def _names_unseen_at_build(script: KerasScript, spec: ModelSpec, fit: MethodCall) -> str | None:
    """A name the fit's data reads that the model's construction cannot see: a local of the function
    that fits it, or a module-level name bound only after a module-level construction."""
    if script.metadata is None or not fit.node.args:
        return None
    scopes = script.metadata.resolve(ScopeProvider)
    positions = script.metadata.resolve(PositionProvider)
    built_at = positions[spec.statement].start.line if spec.factory is None and spec.statement in positions else None
    # A factory called at module level builds the model there; its calls share one class, so the earliest counts.
    calls = [spec.built_by.call] if spec.built_by is not None else []
    if spec.factory is not None:
        calls += [
            call
            for call in calls_in(script.module)
            if isinstance(call.func, cst.Name) and call.func.value == spec.factory
        ]
    lines = [
        positions[call].start.line
        for call in calls
        if call in positions and isinstance(scopes.get(call.func), GlobalScope)
    ]
    if lines:
        built_at = min(lines)
    for node in _names_read(fit.node.args[0].value):
        scope = scopes.get(node)
        if scope is None:
            continue
        assignments = scope[node.value]
        if not assignments:
            continue  # a builtin, or a name k2t cannot place: as before
        for assignment in assignments:
            if not isinstance(assignment.scope, GlobalScope):
                return node.value
            target = getattr(assignment, "node", None)
            if built_at is not None and target in positions and positions[target].start.line >= built_at:
                return node.value
    return None


def _names_read(node: cst.CSTNode) -> list[cst.Name]:
    """The variables an expression reads (``x[:, idx]`` -> x, idx), not attribute names."""
    found: list[cst.Name] = []

    class _Reads(Visitor):
        def visit_Name(self, name: cst.Name) -> None:
            found.append(name)

        def visit_Attribute(self, attribute: cst.Attribute) -> bool:
            attribute.value.visit(self)
            return False

    node.visit(_Reads())
    return found


def _factory_class(function: str) -> str | None:
    """Class name from the function that builds the model: build_model and friends say nothing."""
    for prefix in ("build_", "make_", "create_", "get_", "define_", "and_compile_"):
        function = function.removeprefix(prefix)  # build_and_compile_model -> model
    return None if function in ("model", "net", "network", "") else camel_case(function)


def _same_for_every_model(before, after, node, pos, plan: ScriptPlan) -> None:
    """A training helper's line, translated once per model the helper receives (``compile_and_fit(tiny)``,
    ``compile_and_fit(small)``): the function has one body, so every model must give it the same code."""
    if before is not None and before != after:
        message = (
            "this line of a training helper translates differently for the models it receives "
            "(their outputs, losses or metrics differ); k2t writes one body per function"
        )
        if not any(todo.statement is node and todo.message == message for todo in plan.todos):
            plan.todos.append(Todo(node, "K2T103", message, pos))


def _optimizer_variable(compile_spec: CompileSpec, plan: ScriptPlan) -> str:
    """Where compile()'s optimizer lives: a variable, or the model itself when it leaves a factory."""
    var = compile_spec.var
    if compile_spec.escapes:
        # Compiled inside a function that returns the model: the optimizer travels with it.
        return f"{var}.optimizer"
    if id(compile_spec.statement) not in plan.optimizer_vars:  # one name per compile() line (a training helper's)
        plan.optimizer_vars[id(compile_spec.statement)] = _unique(
            "optimizer" if var == "model" else f"{var}_optimizer", plan.taken
        )
    return plan.optimizer_vars[id(compile_spec.statement)]


def _foldable(layer) -> bool:
    """Can training read this final layer's pre-activation values? (see emit.render_module)"""
    if layer.attr is None or not layer.forward:
        return False
    if layer.keras_class in _ACTIVATION_LAYERS:
        return True
    return layer.forward[-1] == f"x = {apply_activation(layer.activation, f'self.{layer.attr}(x)')}"


_ACTIVATION_LAYERS = frozenset({"Activation", "Softmax", "ReLU", "LeakyReLU", "ELU"})


def _unique(base: str, taken: set[str]) -> str:
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}{n}"
    taken.add(name)
    return name


def _translate_compile(
    compile_spec: CompileSpec, module: ModulePlan, plan: ScriptPlan, lr_changes: bool = False
) -> TrainingPlan:
    var = compile_spec.var
    for key, value in compile_spec.extra:
        if key in ("run_eagerly", "jit_compile", "steps_per_execution", "auto_scale_loss", "loss_weights") or (
            key == "weighted_metrics" and value.is_literal and value.literal is None
        ):
            continue
        raise Unsupported("K2T130", f"compile({key}=...) is not translated", value.pos)
    if compile_spec.loss is None:
        raise Unsupported("K2T120", "compile() without a loss cannot be trained", compile_spec.pos)
    weights_value = dict(compile_spec.extra).get("loss_weights")
    if module.forward_lines is not None and len(module.output_names) > 1:
        return _translate_multi_output_compile(compile_spec, module, plan, weights_value, lr_changes)
    if module.forward_lines is not None:  # Functional, one output
        fold = module.output_folds[0]
        final_activation = fold[2] if fold is not None else "linear"
        units = module.output_shapes[0][-1] if module.output_shapes and module.output_shapes[0] else None
        spatial = len(module.output_shapes[0]) > 1 if module.output_shapes else False
    else:
        last = module.layers[-1] if module.layers else None
        final_activation = last.activation if last is not None and _foldable(last) else "linear"
        units = last.output_shape[-1] if last is not None and last.output_shape else None
        spatial = last is not None and len(last.output_shape) > 1
    masked = module.output_mask is not None
    if masked:
        _check_masked_training(compile_spec, plan)
    loss = plan_loss(compile_spec.loss, final_activation, spatial, plan.weighted, plan.functions, masked)
    closed = next((found for f in loss.functions if (found := closure_of(plan.functions.script, f))), ())
    loss_tensors: tuple[str, ...] = ()
    if closed:
        # Keras 2's VAE loss: forward keeps the graph tensors it reads, which the loss takes after y_pred.
        function = loss.functions[0]
        pairs = pass_tensors(plan.functions.script, function, closed, module)
        loss_tensors = tuple(name for name, _ in pairs)
        loss = dataclasses.replace(
            loss, helper=dataclasses.replace(loss.helper, args=(*loss.helper.args, ("tensors", loss_tensors)))
        )
        definition = plan.functions.definitions[function.definition]
        plan.added_parameters[id(definition)] = list(loss_tensors)
        plan.closure_losses.add(function.definition)
    if module.softmax_elsewhere and "crossentropy" in loss.canonical:
        raise Unsupported(
            "K2T103",
            "the model's output is keras softmax over another axis than the last: Keras's crossentropy reads its"
            " logits over the last axis, which is not translated",
            module.softmax_elsewhere[0],
        )
    numbered = number_metric_objects(list(compile_spec.metrics), plan.metric_counters)
    metrics = keras_metric_keys(
        [plan_metric(value, loss.canonical, units, numbered, plan.functions) for value in compile_spec.metrics],
        compile_spec.pos,
    )
    if module.forward_lines is not None:
        module.folded = [loss.on_logits]
    named = plan_named_optimizer(compile_spec.optimizer, plan.strings) if compile_spec.optimizer is not None else None
    if named is not None:  # `optimizer=optimizer`, a parameter a grid search sets: a table of Keras's names
        checked = [sparse_embedding_rows(choice, module) for _, choice in named.choices]
        optimizer = dataclasses.replace(
            named, choices=tuple(zip([key for key, _ in named.choices], [c for c, _ in checked]))
        )
        warning = next((w for _, w in checked if w is not None), None)
    else:
        optimizer, warning = sparse_embedding_rows(plan_optimizer(compile_spec.optimizer, lr_changes), module)
    if warning is not None:
        pos = compile_spec.optimizer.pos if compile_spec.optimizer is not None else compile_spec.pos
        plan.todos.append(Todo(compile_spec.statement, "K2T124", warning, pos, Severity.WARNING))
    output_activation = None
    if loss.on_logits:
        module.output_activation = final_activation
        output_activation = apply_activation(final_activation, "logits")
    optimizer_var = _optimizer_variable(compile_spec, plan)
    training = TrainingPlan(
        model=module,
        var=var,
        escapes=compile_spec.escapes,
        optimizer_var=optimizer_var,
        optimizer=optimizer.expression(f"{var}.parameters()", plan),
        loss=loss.helper,
        on_logits=loss.on_logits,
        output_activation=output_activation,
        metrics=metrics,
        spatial=spatial,
        masked=masked,
        loss_tensors=loss_tensors,
    )
    training.loss = plan.add_helper(loss.helper)
    training.metrics = [dataclasses.replace(m, helper=plan.add_helper(m.helper)) for m in metrics]
    if masked:
        training.metrics = [_masked_metric(m, compile_spec, plan) for m in training.metrics]
    plan.trainings.append(training)
    plan.statements[id(compile_spec.statement)] = [f"{optimizer_var} = {training.optimizer}{optimizer.comment}"]
    plan.functions.use([*loss.functions, *(f for metric in metrics for f in metric.functions)])
    return training


def _load_pretrained(spec, module: ModulePlan, plan: ScriptPlan, script: KerasScript) -> None:
    """weights="imagenet": after the construction, the ImageNet weights `k2t weights --imagenet` ported."""
    if spec.var is None:
        plan.statements.pop(id(spec.statement))
        plan.todos.append(
            Todo(
                spec.statement,
                "K2T102",
                f'{module.pretrained.keras_class}(weights="imagenet") returned at once is not translated: assign it to a name first',
                spec.pos,
            )
        )
        return
    plan.statements[id(spec.statement)].append(_pretrained_line(spec, module, plan, script))


def _pretrained_line(spec, module: ModulePlan, plan: ScriptPlan, script: KerasScript) -> str:
    script_name = os.path.basename(script.path) if script.path else "<the Keras script>"
    loader = plan.add_helper(Helper("imagenet_weights", "functions/imagenet_weights.py.j2", (("script", script_name),)))
    source = (
        f'"{module.pretrained.file}"' if module.pretrained.path_code is None else f"path={module.pretrained.path_code}"
    )
    return f"{spec.var}.load_state_dict({loader.name}({source}))  # Keras's ImageNet weights"


# Keras's mean metrics on a masked output (k2t.translate.masking): a stateful object over the metric's function.
_MASKED_METRIC = Helper("MaskedMean", "metrics/masked_mean.py.j2")


def _check_masked_training(compile_spec: CompileSpec, plan: ScriptPlan) -> None:
    """What k2t translates of Keras's masked loss: one output, no per-row weights, one process."""
    if plan.weighted:
        raise Unsupported(
            "K2T102",
            "sample or class weights on a model whose output carries Keras's mask are not translated",
            compile_spec.pos,
        )
    if plan.distributed:
        raise Unsupported(
            "K2T102",
            "a model whose output carries Keras's mask under a tf.distribute strategy is not translated",
            compile_spec.pos,
        )


def _masked_metric(metric: MetricPlan, compile_spec: CompileSpec, plan: ScriptPlan) -> MetricPlan:
    """``metric`` weighted by the output's mask, as Keras weights its compiled metrics."""
    if metric.stateful or metric.arguments or metric.functions:
        raise Unsupported(
            "K2T102",
            f"metric {metric.name or metric.key} on a model whose output carries Keras's mask is not translated",
            compile_spec.pos,
        )
    wrapper = plan.add_helper(_MASKED_METRIC)
    return dataclasses.replace(metric, helper=wrapper, arguments=metric.helper.name, stateful=True)


@dataclass
class OutputTraining:
    """One output of a multi-output model: its loss, weight and metrics (history keys prefixed by its name)."""

    name: str
    loss: Helper
    on_logits: bool
    output_activation: str | None  # torch expression of the activation on `logits`, for metrics
    weight: str
    metrics: list[MetricPlan]  # keys prefixed by the output's name


def _per_output(value: Value | None, names: list[str], what: str) -> list[Value | None]:
    """A compile argument given once, as a list in output order, or as a dict by output name."""
    if value is None:
        return [None] * len(names)
    if value.items is not None:
        by_name = dict(value.items)
        unknown = [key for key in by_name if key not in names]
        if unknown:
            raise Unsupported(
                "K2T130", f"compile({what}=...) names unknown outputs {unknown} (outputs: {names})", value.pos
            )
        return [by_name.get(name) for name in names]
    if value.elements is not None and what != "metrics" or (what == "metrics" and value.elements is not None):
        if len(value.elements) != len(names):
            raise Unsupported(
                "K2T130", f"compile({what}=...) has {len(value.elements)} entries for {len(names)} outputs", value.pos
            )
        return list(value.elements)
    return [value] * len(names)


def _translate_multi_output_compile(
    compile_spec: CompileSpec, module: ModulePlan, plan: ScriptPlan, weights_value, lr_changes: bool = False
) -> TrainingPlan:
    names = module.output_names
    losses = _per_output(compile_spec.loss, names, "loss")
    weights = _per_output(weights_value, names, "loss_weights")
    if len(compile_spec.metrics) == 1 and compile_spec.metrics[0].items is not None:
        metric_lists = _per_output(compile_spec.metrics[0], names, "metrics")
    elif compile_spec.metrics:
        # Keras 3 matches a metrics list to the outputs: one entry (a metric or a list) per output.
        metric_lists = _per_output(Value("", compile_spec.pos, elements=compile_spec.metrics), names, "metrics")
    else:
        metric_lists = [None] * len(names)
    entries_per_output = [
        () if values is None else (values.elements if values.elements is not None else (values,))
        for values in metric_lists
    ]
    numbered = number_metric_objects(
        [value for entries in entries_per_output for value in entries], plan.metric_counters
    )
    outputs = []
    folded = []
    used_functions: tuple = ()
    for index, name in enumerate(names):
        if losses[index] is None:
            raise Unsupported("K2T120", f"output {name!r} has no loss", compile_spec.pos)
        fold = module.output_folds[index]
        final_activation = fold[2] if fold is not None else "linear"
        loss = plan_loss(
            losses[index], final_activation, len(module.output_shapes[index]) > 1, plan.weighted, plan.functions
        )
        used_functions += loss.functions
        folded.append(loss.on_logits)
        units = module.output_shapes[index][-1] if module.output_shapes[index] else None
        metrics = []
        for value in entries_per_output[index]:
            metric = plan_metric(value, loss.canonical, units, numbered, plan.functions)
            used_functions += metric.functions
            metrics.append(
                dataclasses.replace(
                    metric, key=f"{name}_{metric.key}", name=metric.key, helper=plan.add_helper(metric.helper)
                )
            )
        metrics = keras_metric_keys(metrics, compile_spec.pos)
        weight = weights[index]
        if weight is not None and not weight.is_literal:
            raise Unsupported("K2T130", f"loss weight {weight.code} must be a literal", weight.pos)
        outputs.append(
            OutputTraining(
                name=name,
                loss=plan.add_helper(loss.helper),
                on_logits=loss.on_logits,
                output_activation=apply_activation(final_activation, "logits") if loss.on_logits else None,
                weight="1" if weight is None else repr(weight.literal),
                metrics=metrics,
            )
        )
    module.folded = folded
    if any(folded):
        module.output_activation = "/".join(sorted({a for a, flag in zip(module.output_activations, folded) if flag}))
    optimizer, warning = sparse_embedding_rows(plan_optimizer(compile_spec.optimizer, lr_changes), module)
    if warning is not None:
        pos = compile_spec.optimizer.pos if compile_spec.optimizer is not None else compile_spec.pos
        plan.todos.append(Todo(compile_spec.statement, "K2T124", warning, pos, Severity.WARNING))
    var = compile_spec.var
    optimizer_var = _optimizer_variable(compile_spec, plan)
    training = TrainingPlan(
        model=module,
        var=var,
        escapes=compile_spec.escapes,
        optimizer_var=optimizer_var,
        optimizer=optimizer.expression(f"{var}.parameters()", plan),
        loss=outputs[0].loss,
        on_logits=any(folded),
        output_activation=None,
        metrics=[],
    )
    training.outputs = outputs
    training.spatial = any(len(shape) > 1 for shape in module.output_shapes)
    plan.trainings.append(training)
    plan.statements[id(compile_spec.statement)] = [f"{optimizer_var} = {training.optimizer}{optimizer.comment}"]
    plan.functions.use(list(used_functions))
    return training


# Keyword arguments that weigh rows: with any of them the loss functions take per-row weights.
_WEIGHT_ARGUMENTS = {"fit": ("sample_weight", "class_weight"), "evaluate": ("sample_weight",)}


def _given(call: MethodCall) -> dict[str, Value]:
    """The call's arguments by Keras name, positional ones included."""
    names = METHOD_SIGNATURES.get(call.method, ())
    given = {names[index]: value for index, value in enumerate(call.args) if index < len(names)}
    given.update(call.kwargs)
    return given


def _weights(call: MethodCall) -> Value | None:
    """The argument by which a fit/evaluate call weighs rows: sample/class weights or a 3-tuple validation_data."""
    given = _given(call)
    for key in _WEIGHT_ARGUMENTS.get(call.method, ()):
        if key in given:
            return given[key]
    validation = given.get("validation_data") if call.method == "fit" else None
    if validation is not None and validation.elements is not None and len(validation.elements) == 3:
        return validation.elements[2]
    return None


def _arguments(call: MethodCall) -> dict[str, Value]:
    names = METHOD_SIGNATURES[call.method]
    given: dict[str, Value] = {}
    for index, value in enumerate(call.args):
        if index >= len(names):
            raise Unsupported("K2T130", f"{call.method}(): too many positional arguments", value.pos)
        given[names[index]] = value
    for key, value in call.kwargs:
        key = KERAS1_ARGUMENTS.get((call.method, key), key)
        if key in given:
            raise Unsupported("K2T130", f"{call.method}(): {key} given twice (once by its Keras 1 name)", value.pos)
        given[key] = value
    for key, value in list(given.items()):
        if key == "callbacks" and value.is_literal and value.literal in (None, [], ()):
            given.pop(key)
            continue
        if key not in SUPPORTED_ARGUMENTS[call.method]:
            raise Unsupported("K2T130", f"{call.method}({key}=...) is not translated", value.pos)
    return given


def _one_element_display(value: Value) -> Value | None:
    """The array of ``[x]`` or ``(x,)`` written in the call; None for anything else (``[[1.0, 2.0]]`` is rows of
    numbers written out, not a one-array structure)."""
    if value.elements is None or len(value.elements) != 1 or not value.code.lstrip().startswith(("[", "(")):
        return None
    element = value.elements[0]
    return None if element.elements is not None or element.is_literal else element


def _single_arrays_unwrapped(given: dict[str, Value], module: ModulePlan) -> dict[str, Value]:
    """``fit([x], [y])`` of a model with one input and one output: Keras takes the one-element list for the array
    itself (with a warning); the generated loops take the array."""
    counts = {"x": len(module.forward_args), "y": max(len(module.output_names), 1)}
    for key, count in counts.items():
        element = _one_element_display(given[key]) if key in given and count == 1 else None
        if element is not None:
            given[key] = element
    validation = given.get("validation_data")
    if validation is not None and validation.elements is not None and len(validation.elements) in (2, 3):
        parts = list(validation.elements)
        for index, count in enumerate(counts.values()):
            element = _one_element_display(parts[index]) if count == 1 else None
            if element is not None:
                parts[index] = element
        if parts != list(validation.elements):
            opening, closing = ("[", "]") if validation.code.lstrip().startswith("[") else ("(", ")")
            code = opening + ", ".join(part.code for part in parts) + closing
            given["validation_data"] = dataclasses.replace(validation, code=code, elements=tuple(parts))
    return given


def _modes_read(module: ModulePlan) -> bool:
    """Whether a layer of the module, or of a model nested in it, runs other than in inference mode when the
    model is called without a mode; the modules are given the list of their own such layers for call_model."""
    nested = [_modes_read(layer.nested) for layer in module.layers if layer.nested is not None]
    module.modes_without_training = modes_without_training(module)
    return bool(module.modes_without_training) or any(nested)


def _translate_build(call: MethodCall, plan: ScriptPlan) -> str:
    """``model.build((None, 28, 28, 1))`` of a subclassed model: k2t.parse.subclassed sized the module from it (or
    from the first data the model sees, which Keras checks against it), and the module is built at construction,
    so the statement goes. Another model's build() is not translated."""
    statement = call.statement
    alone = (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Expr)
        and statement.body[0].value is call.node
    )
    if not call.instance.model.creation_order or not alone:
        raise Unsupported("K2T140", f"{call.model}.build() is not translated", call.pos)
    plan.statements[id(statement)] = []
    return ""


def _translate_call(call: MethodCall, module: ModulePlan, training: TrainingPlan | None, plan: ScriptPlan) -> str:
    var = call.model
    if call.method == "__call__":  # `model(x)` on data (k2t.parse.scan: one array, training=False at most)
        if len(module.forward_args) > 1:
            raise Unsupported("K2T140", f"`{var}(...)` of a model with several inputs is not translated", call.pos)
        # `model(x)` gives no mode: flagged and augmentation layers keep their own (k2t.translate.training_flag).
        modes = not call.kwargs and _modes_read(module)
        helper = plan.add_helper(
            Helper("call_model", "functions/call_model.py.j2", (("modes_without_training", modes),))
        )
        data = (
            f"{var}.preprocess({call.args[0].code})" if module.preprocess else call.args[0].code
        )  # its host layer first
        return f"{plan.name(helper.name)}({var}, {data})"
    if call.method == "build":
        return _translate_build(call, plan)
    given = _single_arrays_unwrapped(_arguments(call), module)
    if call.method == "summary":
        plan.features.add("summary")
        return f"{plan.name('summary')}({var})"
    if call.method == "count_params":
        return count_params_call(var, module, plan, call.pos)
    if call.method == "reset_states":
        return reset_states_call(var, module, plan)
    if call.method in ("predict_classes", "predict_proba"):
        return _translate_keras2_predict(call, given, plan)
    if call.method in ON_BATCH_METHODS:
        return translate_on_batch_call(call, given, module, training, plan)
    verbose = given.get("verbose")
    if verbose is None or not verbose.is_literal or verbose.literal in (1, "auto"):
        plan.features.add(f"progress_{call.method}")
    if verbose is not None and (not verbose.is_literal or verbose.literal == 2):
        plan.features.add("epoch_line")
    if call.method == "predict":
        plan.features.add("predict")
        plan.predict_options.update(given)
        return _call_code(plan.name("predict"), [var], call, given, ("x", "batch_size", "verbose"))
    if training is None:
        raise Unsupported("K2T130", f"{var}.{call.method}() on a model k2t did not see compiled", call.pos)
    weights = _weights(call)
    if weights is not None and training.spatial:
        raise Unsupported(
            "K2T130",
            f"{call.method}(): per-row weights on a loss with one value per position are not translated",
            weights.pos,
        )
    if call.method == "fit" and all(
        key in given and given[key].literal is not None for key in ("class_weight", "sample_weight")
    ):
        # Keras refuses both at once ("You cannot `class_weight` and `sample_weight` at the same time").
        raise Unsupported(
            "K2T130",
            "fit() with both class_weight and sample_weight: Keras takes one or the other",
            given["class_weight"].pos,
        )
    if call.method == "fit" and training.outputs and "class_weight" in given:
        # Keras itself refuses: "`class_weight` is only supported for Models with a single output."
        raise Unsupported(
            "K2T130",
            "fit(class_weight=...) of a multi-output model: Keras supports it for one output only",
            given["class_weight"].pos,
        )
    plan.features.add(call.method)
    if call.method == "fit":
        if "callbacks" in given:
            given["callbacks"] = dataclasses.replace(
                given["callbacks"], code=callbacks_argument(given["callbacks"], plan)
            )
        plan.fit_options.update(given)
        loss = [plan.name(training.loss.name)] if training.loss_parameter else []
        return _call_code(
            plan.name("fit" + training.suffix),
            [var, training.optimizer_for(var), *loss],
            call,
            given,
            ("x", "y", "batch_size", "epochs", "verbose"),
        )
    plan.evaluate_options.update(given)
    loss = [plan.name(training.loss.name)] if training.loss_parameter else []
    return _call_code(
        plan.name("evaluate" + training.suffix), [var, *loss], call, given, ("x", "y", "batch_size", "verbose")
    )


def _translate_batches_call(
    call: MethodCall, module: ModulePlan, training: TrainingPlan | None, plan: ScriptPlan, sources
) -> str:
    """fit/evaluate/predict (or Keras 2's *_generator) on batches from a generator, Sequence or dataset of the script."""
    given = {key: sources.converted(value) for key, value in batch_arguments(call).items()}
    kind = kind_of(call)
    if kind == "predict":
        # One predict_batches serves every model: it reads the batches of the one model of several inputs
        # (emit._predict_batch_inputs) and returns one array.
        if sum(len(m.forward_args) > 1 for m in plan.modules) > 1:
            raise Unsupported(
                "K2T130",
                f"{call.method}() on a generator beside two models of several inputs is not translated",
                call.pos,
            )
        plan.features.add("predict_batches")
        return batches_call_code(plan.name("predict_batches"), [call.model], given)
    if training is None:
        raise Unsupported("K2T130", f"{call.model}.{call.method}() on a model k2t did not see compiled", call.pos)
    plan.batch_kinds.setdefault(training.suffix, set()).add(kind)
    if kind == "fit" and "validation_data" in given:
        plan.batch_kinds[training.suffix].add("evaluate")
    if kind == "fit":
        if "callbacks" in given:
            given["callbacks"] = dataclasses.replace(
                given["callbacks"], code=callbacks_argument(given["callbacks"], plan)
            )
        plan.batch_fit_options.update(given)
    loss = [plan.name(training.loss.name)] if training.loss_parameter else []
    leading = [call.model, training.optimizer_for(call.model), *loss] if kind == "fit" else [call.model, *loss]
    return batches_call_code(plan.name(f"{kind}_batches" + training.suffix), leading, given)


def _translate_keras2_predict(call: MethodCall, given: dict[str, Value], plan: ScriptPlan) -> str:
    """Keras 2's predict_proba (predict, silent by default) and predict_classes (argmax, or > 0.5 for one unit)."""
    verbose = given.get("verbose")
    if verbose is not None and (not verbose.is_literal or verbose.literal == 1):
        plan.features.add("progress_predict")
    plan.features.add("predict")
    plan.predict_options.update(given)
    plan.predict_options.update({"batch_size", "verbose"})
    if call.method == "predict_proba":
        if verbose is None:
            given = {**given, "verbose": Value("0", call.pos, literal=0)}  # Keras 2's default: no progress bar
        return _call_code(plan.name("predict"), [call.model], call, given, ("x", "batch_size", "verbose"))
    plan.add_helper(Helper("predict_classes", "functions/predict_classes.py.j2"))
    return _call_code(plan.name("predict_classes"), [call.model], call, given, ("x", "batch_size", "verbose"))


def _call_code(
    function: str, leading: list[str], call: MethodCall, given: dict[str, Value], positional: tuple[str, ...]
) -> str:
    """Keep the user's arguments as written: positional ones stay positional where our signature allows."""
    in_order = []
    for name in positional[: len(call.args)]:
        if name not in given:
            break
        in_order.append(name)
    parts = leading + [given[name].code for name in in_order]
    parts += [f"{name}={value.code}" for name, value in given.items() if name not in in_order]
    return f"{function}({', '.join(parts)})"


def _translate_function(call, plan: ScriptPlan, module: cst.Module) -> str | None:
    if call.name == "keras.utils.set_random_seed":
        seed = call.arg(0, "seed")
        if seed is None:
            return None
        plan.add_helper(Helper("set_random_seed", "functions/set_random_seed.py.j2"))
        return f"{plan.name('set_random_seed')}({seed.code})"
    if call.name == "tensorflow.random.set_seed":
        # tf.random.set_seed seeds only TensorFlow's generator: its torch twin is torch.manual_seed.
        seed = call.arg(0, "seed")
        if seed is None:
            return None
        return f"torch.manual_seed({seed.code})"
    if call.name == "keras.utils.to_categorical":
        plan.add_helper(Helper("to_categorical", "functions/to_categorical.py.j2"))
        args = [v.code for v in call.args] + [f"{k}={v.code}" for k, v in call.kwargs]
        return f"{plan.name('to_categorical')}({', '.join(args)})"
    if call.name in ("keras.backend.image_data_format", "keras.config.image_data_format") and not call.args:
        return '"channels_last"'  # Keras 3's default; the converted modules take channels-last data as Keras does
    if call.name == "keras.backend.image_dim_ordering" and not call.args:
        return '"tf"'  # Keras 1's name of channels_last (Keras 3 removed the function)
    if call.name == "keras.utils.clear_session":
        return ""  # nothing to clear in torch: the statement goes
    if call.name in DATASET_FUNCTIONS:
        return translate_dataset_call(call, plan)
    if call.name == GET_FILE:
        return translate_get_file(call, plan)
    if call.name in ARRAY_FUNCTION_NAMES:
        return translate_array_function(call, plan)
    if call.name in PREPROCESS_FUNCTIONS:
        translated = translate_preprocess_input(call)
        if translated is None:
            return None
        helper = plan.add_helper(translated[0])
        return f"{plan.name(helper.name)}({translated[1]})"
    if call.name in DECODE_FUNCTIONS:
        translated = translate_decode_predictions(call)
        if translated is None:
            return None
        helper = plan.add_helper(translated[0])
        return f"{plan.name(helper.name)}({translated[1]})"
    if call.name in TEXT_FUNCTIONS:
        return translate_text_call(call, plan, module)
    if call.name in IMAGE_UTILITIES:
        return translate_image_utility(call, plan)
    return None


def _drop_unused_layer_calls(script: KerasScript, plan: ScriptPlan) -> None:
    """``d2 = Dense(50)(d1)`` that no model holds and nothing reads: Keras makes a layer and computes nothing
    with it; the line goes (with a warning), since the tensors it reads exist only inside the module."""
    in_models = {
        id(node) for spec in script.models if spec.graph is not None for node in [*spec.graph.inputs, *spec.graph.nodes]
    }
    used_as_input = {id(parent) for node in script.tensor_nodes for parent in node.inputs}
    read = {
        n.id for n in ast.walk(module_syntax(script.module)) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
    }
    by_statement: dict[int, list] = {}
    for node in script.tensor_nodes:
        if node.statement is not None:
            by_statement.setdefault(id(node.statement), []).append(node)
    for nodes in by_statement.values():
        statement = nodes[0].statement
        if id(statement) in plan.statements or any(id(n) in in_models or id(n) in used_as_input for n in nodes):
            continue
        if not _assigns_only(statement, nodes[-1].var):
            continue
        # `decoded = Dense(64)(encoded)` bound again as `decoded = Dense(784)(encoded)` before any read: dead.
        if nodes[-1].var in read and read_later(script.module, statement, nodes[-1].var) is not False:
            continue
        if any(n.var in read for n in nodes[:-1] if n.var != nodes[-1].var):
            continue
        if any(todo.statement is statement for todo in plan.todos):
            continue  # reported as it is (a model k2t could not follow made there)
        plan.statements[id(statement)] = []
        what = "an op on Keras tensors" if nodes[-1].expression is not None else "a layer call on Keras tensors"
        message = (
            f"`{nodes[-1].var}` is {what} that no model uses and nothing reads; Keras computes nothing with it: dropped"
        )
        if nodes[-1].var in read:
            message = (
                f"`{nodes[-1].var}` is {what} that no model uses, bound again before anything reads it; Keras "
                "computes nothing with it: dropped"
            )
        if nodes[-1].layer is None and nodes[-1].expression is None:
            message = f"`{nodes[-1].var}` is a keras.Input that no model uses and nothing reads: dropped"
        plan.todos.append(Todo(statement, "K2T104", message, nodes[-1].pos, Severity.WARNING))


def _assigns_only(statement, name: str) -> bool:
    """``name = <layer call>`` as a statement line of its own."""
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return False
    small = statement.body[0]
    return (
        isinstance(small, cst.Assign)
        and len(small.targets) == 1
        and isinstance(small.targets[0].target, cst.Name)
        and small.targets[0].target.value == name
    )
