"""Stage 3: render the plan through Jinja templates and splice it into the user's code."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from pathlib import Path

import libcst as cst
from libcst.metadata import PositionProvider

from . import remaining
from .cst_walk import Visitor, bare_names
from .dead_locals import without_dead_configuration, without_dead_imports
from .device_placement import LATE_CUDA_WRITE, env_writes, place_generated_block
from .diagnostics import Severity
from .imports import merged_imports, with_openmp_setting
from .names import GENERATED_DEFINITIONS, GENERATED_IMPORTS
from .parse import KerasScript, Todo
from .parse.syntax import AUGMENTED_OPERATORS, is_docstring
from .translate import ScriptPlan, TrainingPlan
from .translate.activations import apply_activation
from .translate.dims import static_int
from .translate.distribute import DISTRIBUTED_DEFINITIONS, FILE_CALLBACKS
from .translate.dtypes import FLOAT, INTEGER, input_dtypes, target_dtype
from .translate.metrics import keras_evaluate_order
from .translate.on_batch import TEMPLATE as ON_BATCH_TEMPLATE
from .translate.on_batch import feature as on_batch_feature
from .translate.plan import ModulePlan
from .translate.train_step import FIT_STEPS_TEMPLATE

_IMPORTS = GENERATED_IMPORTS  # (trained.py builds a module from the same imports)
_STDLIB = {
    "atexit",
    "collections",
    "copy",
    "csv",
    "gzip",
    "hashlib",
    "inspect",
    "json",
    "math",
    "os",
    "pickle",
    "random",
    "re",
    "shutil",
    "sys",
    "tarfile",
    "tempfile",
    "time",
    "urllib",
    "warnings",
    "zipfile",
    "SimpleNamespace",
}
_THIRD_PARTY = {"np", "torch", "F", "nn", "register_optimizer_step_post_hook"}


def templates_dir() -> Path:
    here = Path(__file__).resolve().parent
    for candidate in (here / "templates", here.parent / "templates"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("k2t templates folder not found")


@functools.lru_cache(maxsize=1)
def _environment():
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        autoescape=False,
    )


def render(template: str, **context) -> str:
    return _environment().get_template(template).render(**context).strip("\n")


def _channels_first_attrs(m: ModulePlan) -> list[str]:
    """Submodules whose outputs torch holds as (N, C, spatial...): summary() shows them channels-last, as Keras."""
    attrs = []
    for layer in m.layers:
        if layer.block_start and layer.block_start[2] == "channels_first":
            attrs.append(layer.block_start[0])  # a block's output: its last layer's
        if layer.attr and not layer.in_block and layer.layout == "channels_first":
            attrs.append(layer.attr)
    return list(dict.fromkeys(attrs))


def render_module(m: ModulePlan, summary: bool) -> str:
    if m.source is not None:
        # A keras.applications model: its classes written whole, with what the script reads off the model.
        context = {
            **m.source.context(),
            "shape_attributes": m.shape_attributes,
            "summary": summary,
            "input_shape": m.input_shape,
        }
        return render(m.source.template, **context)
    args = ", ".join(m.forward_args)
    if m.forward_lines is not None:
        return _render_functional(m, summary, args)
    forward = [
        line
        for index, layer in enumerate(m.layers)
        for line in (
            m.block_forward.get(index, layer.forward)
            if not layer.todo
            else [f"raise NotImplementedError({layer.todo!r})"]
        )
    ]
    output_expression = ""
    if m.output_activation:
        last = m.layers[-1]
        if last.keras_class in ("Activation", "Softmax"):
            forward.pop()  # the activation layer itself (it forces Keras's layout: no permute follows)
            output_expression = f"self.{last.attr}(self.logits(x))"
        else:
            # The layer's call without its activation (translate checked the line has that form);
            # the activation runs on the channels-last output, where Keras applies it.
            forward[-1] = f"x = self.{last.attr}(x)"
            output_expression = apply_activation(m.output_activation, "self.logits(x)")
    forward += m.output_lines
    init_lines, note = _init_lines(m)
    return render(
        "module.py.j2",
        m=m,
        summary=summary,
        channels_first=_channels_first_attrs(m) if summary else [],
        args=args,
        return_value="x",
        forward_lines=forward,
        output_expression=output_expression,
        init_lines=init_lines,
        init_note=note,
        regularization_terms=[term for layer in m.layers for term in layer.regularizers],
        added_loss_terms=[term for layer in m.layers for term in layer.added_losses],
    )


def _render_functional(m: ModulePlan, summary: bool, args: str) -> str:
    forward, return_value, output_expression = m.forward_lines, m.return_value, ""
    if any(m.folded):
        # Training reads the pre-activation values of the folded outputs (Keras's _keras_logits).
        forward = []
        logits_vars = []
        folds = {id(fold_node): fold for fold_node, fold in zip(m.graph.outputs, m.output_folds)}
        folded_nodes = {id(node) for node, flag in zip(m.graph.outputs, m.folded) if flag}
        for node, lines in m.segments:
            forward.extend(folds[id(node)][0] if id(node) in folded_nodes else lines)
        for node, var, flag in zip(m.graph.outputs, m.output_vars, m.folded):
            logits_vars.append(folds[id(node)][1] if flag else var)
        if len(logits_vars) == 1:
            return_value = logits_vars[0]
            output_expression = apply_activation(m.output_folds[0][2], f"self.logits({args})")
        else:
            return_value = ", ".join(logits_vars)
            results = [
                apply_activation(fold[2], name) if flag else name
                for name, fold, flag in zip(m.output_vars, m.output_folds, m.folded)
            ]
            output_expression = f"{', '.join(m.output_vars)} = self.logits({args})\n        return {', '.join(results)}"
    init_lines, note = _init_lines(m)
    return render(
        "module.py.j2",
        m=m,
        summary=summary,
        channels_first=_channels_first_attrs(m) if summary else [],
        args=args,
        return_value=return_value,
        forward_lines=forward,
        output_expression=output_expression,
        output_statement=len(m.output_vars) > 1 and any(m.folded),
        init_lines=init_lines,
        init_note=note,
        regularization_terms=[term for layer in m.layers for term in layer.regularizers],
        added_loss_terms=[term for layer in m.layers for term in layer.added_losses],
    )


def _init_lines(m: ModulePlan) -> tuple[list[str], str]:
    """Initialisation lines; layers that share Keras's defaults are grouped into one loop."""
    default_layers = []
    lines: list[str] = []
    for layer in m.layers:
        if layer.init == [
            f"nn.init.xavier_uniform_(self.{layer.attr}.weight)",
            f"nn.init.zeros_(self.{layer.attr}.bias)",
        ]:
            default_layers.append(layer.attr)
            continue
        lines.extend(layer.init)
    note = ""
    if default_layers:
        note = ": glorot-uniform kernels and zero biases unless the script chose otherwise"
        if len(default_layers) == 1:
            group = [
                f"nn.init.xavier_uniform_(self.{default_layers[0]}.weight)",
                f"nn.init.zeros_(self.{default_layers[0]}.bias)",
            ]
        else:
            members = ", ".join(f"self.{attr}" for attr in default_layers)
            group = [
                f"for layer in ({members}):",
                "    nn.init.xavier_uniform_(layer.weight)",
                "    nn.init.zeros_(layer.bias)",
            ]
        lines = group + lines
    return lines, note


def render_training(t: TrainingPlan, plan: ScriptPlan) -> str:
    """The generated fit / evaluate on arrays (templates/training.py.j2)."""
    multi = len(t.model.forward_args) > 1
    dtypes = input_dtypes(t.model)
    if multi and t.model.preprocess:
        convert_x = [
            *_INPUTS_BY_NAME,
            "# Some inputs' first layers run on the host (tensors: fit's validation rows, already through them).",
            "x = x if all(torch.is_tensor(a) for a in x) else model.preprocess(x)",
        ]
    elif multi:
        convert_x = _several_inputs(dtypes)
    else:
        convert_x = [*_ids_comment(dtypes), f"x = {host_tensors(dtypes, 'x')}", *_feature_axis(t.model)]
        # torch has no string tensors: a tensor is ids already (fit's validation_split hands evaluate those).
        convert_x = _preprocessed([t.model], "x", "x if torch.is_tensor(x) else model.preprocess(x)", convert_x)
    several = bool(t.outputs)
    if several:
        names = tuple(o.name for o in t.outputs)
        y_dtypes = [target_dtype(o.loss.template) for o in t.outputs]
        convert_y = [
            "if isinstance(y, dict):",
            f"    y = [y[name] for name in {names!r}]  # Keras matches dict keys to the output names",
            *_indices_comment(y_dtypes),
            f"y = {host_tensors(y_dtypes, 'y', several=True)}",
        ]
    else:
        # A fit/evaluate shared by trainings with several losses reads integer targets only if every loss does.
        sharing = [other for other in plan.trainings if other.key_without_loss == t.key_without_loss] or [t]
        target_dtypes = {target_dtype(other.loss.template) for other in sharing}
        y_dtype = target_dtypes.pop() if len(target_dtypes) == 1 else FLOAT
        convert_y = [*_indices_comment([y_dtype]), f"y = torch.as_tensor(np.ascontiguousarray(y, dtype={y_dtype}))"]
    return render(
        "training.py.j2",
        training=t,
        convert_x=convert_x,
        convert_y=convert_y,
        take=_row_taker(multi),
        pinned=_pinner(multi),
        take_y=_row_taker(several),
        pinned_y=_pinner(several),
        len_y=lambda source: f"len({source}[0])" if several else f"len({source})",
        star="*" if multi else "",
        **_loop_features(plan),
        **_training_step(t),
        fit_batches=False,
        evaluate_batches=False,
    )


def _row_taker(several: bool) -> Callable[..., str]:
    def take(source: str, index: str, to_device: bool = False) -> str:
        """Rows ``index`` of the host data ``source`` (``several``: a list of arrays); with ``to_device``,
        copied to where the model is."""
        move = ".to(device, non_blocking=True)" if to_device else ""
        return f"[a[{index}]{move} for a in {source}]" if several else f"{source}[{index}]{move}"

    return take


def _pinner(several: bool) -> Callable[[str], str]:
    def pinned(source: str) -> str:
        """The host data ``source`` in page-locked memory, which copies to a GPU without blocking."""
        return f"[a.pin_memory() for a in {source}]" if several else f"{source}.pin_memory()"

    return pinned


def _training_step(t: TrainingPlan) -> dict[str, object]:
    """What one training or evaluation step computes for ``t``'s outputs, as the training template writes it:
    the forward pass, the loss lines, the totals and the metrics of the batch."""
    if t.outputs:
        return _multi_output_step(t)
    forward_value = "logits" if t.on_logits else "output"

    def loss_lines(weighted: bool, penalty: str) -> list[str]:
        regularization = f" + {penalty}" if t.model.has_regularization else ""
        added = " + model.added_loss()" if t.model.has_added_losses else ""  # the layers' add_loss terms of this batch
        if t.masked:
            return [
                "mask = model.compute_mask(inputs)  # Keras's mask of the output: the loss and metrics count the steps it keeps",
                f"loss = {t.loss_function}({forward_value}, targets, mask){regularization}{added}",
            ]
        arguments = f"{forward_value}, targets{', weights' if weighted else ''}{t.loss_extra}"
        return [f"loss = {t.loss_function}({arguments}){regularization}{added}"]

    metric_lines = [f"output = {t.output_activation}"] if t.on_logits and t.metrics else []
    metric_lines += [_metric_line(m, "output", "targets", t.masked) for m in t.metrics]
    keys = ["loss"] + [m.key for m in t.metrics if not m.stateful]
    return {
        "several": False,
        "forward_value": forward_value,
        "forward_call": "model.logits" if t.on_logits else "model",
        "forward_method": "logits" if t.on_logits else "forward",
        "to_float": f"{forward_value}.float()",
        "loss_lines": loss_lines,
        "total_lines": ['totals["loss"] += loss.item() * len(targets)'],
        "batch_rows": "len(targets)",
        "metric_lines": metric_lines,
        "totals": _totals(keys),
        "per_batch": "",
        "total_doc": "",
        **_stateful_metrics(t.metrics, keys, ["loss"] + [m.name for m in t.metrics]),
    }


def _metric_line(m, output: str, targets: str, masked: bool = False) -> str:
    """The line adding one batch to the metric ``m``: its stateful object, or its per-row total."""
    if m.stateful:
        return f"metrics[{json.dumps(m.key)}].update({output}, {targets}{', mask' if masked else ''})"
    return f"totals[{json.dumps(m.key)}] += {m.call(output, targets)}.sum().item()"


def _totals(keys: list[str]) -> str:
    return "{" + ", ".join(f'"{key}": 0.0' for key in keys) + "}"


def _multi_output_step(t: TrainingPlan) -> dict[str, object]:
    keys = ["loss"] + [f"{o.name}_loss" for o in t.outputs]
    metrics = [m for o in t.outputs for m in o.metrics]
    tracked = keys + [m.name for m in metrics]
    # Keras's evaluate() lists the outputs' metrics after the losses, sorted by key: their own names lack the prefix.
    keys += sorted(m.key for m in metrics if not m.stateful)
    weighted_losses = [
        f"losses[{i}]" if o.weight in ("1", "1.0") else f"{o.weight} * losses[{i}]" for i, o in enumerate(t.outputs)
    ]

    def loss_lines(weighted: bool, penalty: str) -> list[str]:
        weights = ", weights" if weighted else ""
        losses = [f"{o.loss.name}(outputs[{i}], targets[{i}]{weights})" for i, o in enumerate(t.outputs)]
        terms = weighted_losses + ([penalty] if t.model.has_regularization else [])
        if t.model.has_added_losses:
            terms.append("model.added_loss()")  # after the forward pass: the terms of these rows
        return [f"losses = [{', '.join(losses)}]", f"loss = {' + '.join(terms)}"]

    total_lines = ["rows = len(targets[0])", 'totals["loss"] += loss.item() * rows']
    total_lines += [f'totals["{o.name}_loss"] += losses[{i}].item()' for i, o in enumerate(t.outputs)]
    metric_lines = []
    for i, o in enumerate(t.outputs):
        value = o.output_activation.replace("logits", f"outputs[{i}]") if o.on_logits else f"outputs[{i}]"
        metric_lines += [_metric_line(m, value, f"targets[{i}]") for m in o.metrics]
    doc = " + ".join(
        f"{o.weight} * {o.name}_loss" if o.weight not in ("1", "1.0") else f"{o.name}_loss" for o in t.outputs
    )
    return {
        "several": True,
        "forward_value": "outputs",
        "forward_call": "model.logits" if t.on_logits else "model.forward",
        "forward_method": "logits" if t.on_logits else "forward",
        "to_float": "[part.float() for part in outputs]",
        "loss_lines": loss_lines,
        "total_lines": total_lines,
        "batch_rows": "rows",
        "metric_lines": metric_lines,
        "totals": _totals(keys),
        "per_batch": repr(tuple(f"{o.name}_loss" for o in t.outputs)),
        "total_doc": doc + (" (+ the regularization)" if t.model.has_regularization else ""),
        **_stateful_metrics(metrics, keys, tracked),
    }


def render_batches(plan: ScriptPlan) -> str:
    """The generated fit/evaluate/predict on batches from a generator or Sequence: EpochBatches
    (templates/batches.py.j2), then fit_batches / evaluate_batches from the training template."""
    parts = [render("batches.py.j2", stream=True, predict=False)]
    for t in plan.training_groups:
        kinds = plan.batch_kinds.get(t.suffix, set())
        if not kinds:
            continue
        dtypes = input_dtypes(t.model)
        multi = len(t.model.forward_args) > 1
        if multi:
            convert = _batch_inputs(t.model, dtypes)
        else:
            convert = [*_ids_comment(dtypes), f"inputs = {_batch_tensor('x', dtypes[0])}"]
            convert = _preprocessed([t.model], "inputs", _ON_DEVICE, convert)
        convert = [*convert, *_batch_targets(t)]
        features = {**_loop_features(plan), "fit": False, "evaluate": False, "distributed": False, "file_callbacks": ""}
        features["callbacks"] = plan.callback_loop if "callbacks" in plan.batch_fit_options else None
        parts.append(
            render(
                "training.py.j2",
                training=t,
                fit_batches="fit" in kinds,
                evaluate_batches="evaluate" in kinds,
                convert=convert,
                star="*" if multi else "",
                len_y=lambda source: f"len({source})",
                output_names=repr(tuple(o.name for o in t.outputs or ())),
                **features,
                **_training_step(t),
            )
        )
    if "predict_batches" in plan.features:
        convert_inputs, forward = _predict_batch_inputs(plan)
        context = plan.precision.template_context()
        several_outputs = any(len(m.output_names) > 1 for m in plan.modules)  # Keras returns a list of arrays
        parts.append(
            render(
                "batches.py.j2",
                stream=False,
                predict=True,
                convert_inputs=convert_inputs,
                forward=forward,
                several_outputs=several_outputs,
                **context,
            )
        )
    return "\n\n\n".join(parts)


def _predict_batch_inputs(plan: ScriptPlan) -> tuple[list[str], str]:
    """The lines turning a predict batch's ``x`` into ``inputs``, and the model's call on them. The one model
    of several inputs a plan may predict on batches (the translation refuses more) reads them as fit does:
    a list in Input order or a dict keyed by the Input names; only such a module has ``input_names``."""
    singles = [m for m in plan.modules if len(m.forward_args) == 1]
    several = [m for m in plan.modules if len(m.forward_args) > 1]
    lines: list[str] = []
    if singles:
        candidates = {tuple(input_dtypes(m)) for m in singles}
        dtypes = list(candidates.pop()) if len(candidates) == 1 else [FLOAT]
        lines = [*_ids_comment(dtypes), f"inputs = {_batch_tensor('x', dtypes[0])}"]
        lines = _preprocessed(singles, "inputs", _ON_DEVICE, lines)
    if not several:
        return lines, "model(inputs)"
    several_lines = _batch_inputs(several[0], input_dtypes(several[0]))
    if not singles:
        return several_lines, "model(*inputs)"
    branches = [
        'if hasattr(model, "input_names"):  # the model of several inputs',
        *(f"    {line}" for line in several_lines),
        "else:",
        *(f"    {line}" for line in lines),
    ]
    return branches, "(model(*inputs) if isinstance(inputs, list) else model(inputs))"


def _batch_targets(t: TrainingPlan) -> list[str]:
    """The lines turning a batch's ``y`` into ``targets`` on the model's device: one tensor, or one per output
    (a list or tuple in output order, or a dict keyed by the output names, as Keras reads a batch's targets)."""
    if not t.outputs:
        y_dtype = target_dtype(t.loss.template)
        return [*_indices_comment([y_dtype]), f"targets = {_batch_tensor('y', y_dtype)}"]
    names = tuple(o.name for o in t.outputs)
    y_dtypes = [target_dtype(o.loss.template) for o in t.outputs]
    if len(set(y_dtypes)) == 1:
        targets = f"[{_batch_tensor('a', y_dtypes[0])} for a in y]"
    else:
        targets = f"[{_batch_tensor('a', 'dtype')} for a, dtype in zip(y, ({', '.join(y_dtypes)}))]"
    return [
        "if isinstance(y, dict):",
        f"    y = [y[name] for name in {names!r}]  # Keras matches dict keys to the output names",
        *_indices_comment(y_dtypes),
        f"targets = {targets}",
    ]


def render_on_batch(plan: ScriptPlan) -> list[str]:
    """The generated train_on_batch / test_on_batch / predict_on_batch the script calls (templates/on_batch.py.j2)."""
    parts = []
    for t in plan.training_groups:
        train, test = (
            on_batch_feature(kind, t.suffix) in plan.features for kind in ("train_on_batch", "test_on_batch")
        )
        if not (train or test):
            continue
        keys = ["loss"] + [m.key for m in t.metrics if not m.stateful]
        y_dtype = target_dtype(t.loss.template)
        several_inputs = len(t.model.forward_args) > 1
        dtypes = input_dtypes(t.model)
        if several_inputs:  # `d_model.train_on_batch([X_real, labels_real], y_real)`: one array per Input
            convert_x = _several_inputs(dtypes)
        else:
            convert_x = _preprocessed(
                [t.model], "x", "model.preprocess(x)", [*_ids_comment(dtypes), f"x = {host_tensors(dtypes, 'x')}"]
            )
        parts.append(
            render(
                ON_BATCH_TEMPLATE,
                training=t,
                train=train,
                test=test,
                predict=False,
                several_inputs=several_inputs,
                compiled_weights=on_batch_feature("compiled_weights", t.suffix) in plan.features,
                convert_x=convert_x,
                convert_y=[
                    *_indices_comment([y_dtype]),
                    f"y = torch.as_tensor(np.ascontiguousarray(y, dtype={y_dtype}))",
                ],
                **_stateful_metrics(t.metrics, keys, ["loss"] + [m.name for m in t.metrics]),
            )
        )
    if on_batch_feature("predict_on_batch") in plan.features:
        parts.append(
            render(
                ON_BATCH_TEMPLATE,
                training=None,
                several_inputs=False,
                compiled_weights=False,
                train=False,
                test=False,
                predict=True,
                convert_x=_predict_inputs(plan, False),
            )
        )
    return parts


def _batch_inputs(model: ModulePlan, dtypes: list[str]) -> list[str]:
    """A batch's inputs for a model of several: a dict keyed by the Input names (a tf.data dataset of
    ``dict(dataframe)``) or a list in the Inputs' order, each on the model's device; a column of one value
    per row given to an ``Input(shape=(1,))`` gets that axis, as Keras gives it (Functional._adjust_input_rank)."""
    ranks = tuple(len(shape) + 1 for shape in model.input_shapes)
    tensors = "zip(x, dtypes)" if len(set(dtypes)) > 1 else "x"
    dtype = "dtype" if len(set(dtypes)) > 1 else dtypes[0]
    lines = list(_INPUTS_BY_NAME)
    if model.preprocess:  # some inputs' first layers run on the host
        return [*lines, "inputs = [a.to(device, non_blocking=True) for a in model.preprocess(x)]"]
    lines += _ids_comment(dtypes)
    if len(set(dtypes)) > 1:
        lines.append(f"dtypes = ({', '.join(dtypes)},)")
    loop = f"for a, dtype in {tensors}" if len(set(dtypes)) > 1 else f"for a in {tensors}"
    lines.append(f"inputs = [torch.as_tensor(np.ascontiguousarray(a, dtype={dtype})) {loop}]")
    if any(rank == 2 for rank in ranks):
        lines.append(f"inputs = [a[:, None] if a.ndim == rank - 1 else a for a, rank in zip(inputs, {ranks!r})]")
    lines.append("inputs = [a.to(device, non_blocking=True) for a in inputs]")
    return lines


def _batch_tensor(source: str, dtype: str) -> str:
    """A batch as the script's generator yields it, on the model's device (a reversed or strided view is copied)."""
    return f"torch.as_tensor(np.ascontiguousarray({source}, dtype={dtype})).to(device, non_blocking=True)"


def host_tensors(dtypes: list[str], source: str, several: bool = False) -> str:
    """The expression turning the array ``source`` (``several``: a list of arrays) into CPU tensors of
    ``dtypes`` (one per array, or one for all).

    The data stays on the host: the loops copy each batch to the model's device as they use it.
    """
    if not several:
        return f"torch.as_tensor(np.ascontiguousarray({source}, dtype={dtypes[0]}))"
    if len(set(dtypes)) == 1:
        return f"[torch.as_tensor(np.ascontiguousarray(a, dtype={dtypes[0]})) for a in {source}]"
    return (
        f"[torch.as_tensor(np.ascontiguousarray(a, dtype=dtype)) for a, dtype in zip({source}, ({', '.join(dtypes)}))]"
    )


# A model of several inputs given a dict: its values in the Inputs' order.
_INPUTS_BY_NAME = (
    "if isinstance(x, dict):",
    "    x = [x[name] for name in model.input_names]  # Keras matches dict keys to the Input names",
)


def _several_inputs(dtypes: list[str]) -> list[str]:
    """The lines turning a model's several inputs (a list of arrays, or a dict by Input name) into CPU tensors."""
    return [
        *_INPUTS_BY_NAME,
        *_ids_comment(dtypes),
        f"x = {host_tensors(dtypes, 'x', several=True)}",
    ]


def _ids_comment(dtypes: list[str]) -> list[str]:
    return ["# Token ids stay integers: an Embedding looks its rows up by id."] if INTEGER in dtypes else []


def _indices_comment(dtypes: list[str]) -> list[str]:
    return ["# Class indices stay integers: the sparse crossentropy reads them so."] if INTEGER in dtypes else []


def device_line(device: str) -> str:
    """The statement choosing where the script's models train (``device``: one of k2t.api.DEVICES)."""
    if device != "auto":
        return f'device = torch.device("{device}")'
    # The comment sits inside the statement: the block's parse would keep a leading one as the module's header.
    return (
        "device = torch.device(\n"
        "    # Where the models train: the device TORCH_DEVICE names (cpu, cuda, cuda:1, mps),\n"
        "    # else the first available.\n"
        '    os.environ.get("TORCH_DEVICE")\n'
        "    or (\n"
        '        "cuda"\n'
        "        if torch.cuda.is_available()\n"
        '        else "mps" if torch.backends.mps.is_available() else "cpu"\n'
        "    )\n"
        ")"
    )


def _stateful_metrics(metrics, totals: list[str], tracked: list[str]) -> dict[str, str]:
    """The per-epoch metric objects (AUC, Precision, ...), and the order of evaluate()'s list when it
    is not the order of `totals` (``tracked``: Keras's own names, see keras_evaluate_order)."""
    stateful = [m for m in metrics if m.stateful]
    order = keras_evaluate_order(tracked, totals + [m.key for m in stateful])
    return {
        "stateful": "{" + ", ".join(f'"{m.key}": {m.construction}' for m in stateful) + "}" if stateful else "",
        "result_keys": "" if order == totals else "(" + ", ".join(f'"{key}"' for key in order) + ")",
    }


def _loop_features(plan: ScriptPlan) -> dict[str, object]:
    """What the script's calls need from the generated fit/evaluate (and nothing more)."""
    return {
        "fit": "fit" in plan.features,
        "evaluate": "evaluate" in plan.features or _validates(plan),
        "fit_options": plan.fit_options,
        "evaluate_options": plan.evaluate_options,
        "weighted": plan.weighted,
        "validation": _validates(plan),
        "progress_fit": "progress_fit" in plan.features,
        "progress_evaluate": "progress_evaluate" in plan.features,
        "epoch_line": "epoch_line" in plan.features,
        "callbacks": plan.callback_loop if "callbacks" in plan.fit_options else None,
        "distributed": plan.distributed,  # fit trains through DistributedDataParallel under torchrun
        "may_freeze_all": _freezes(plan),  # a model with every weight frozen trains nothing, as in Keras
        "compile_forward": plan.torch_compile,  # k2t convert --compile
        # Under torchrun rank 0 alone runs the callbacks that write files (the processes share weights and logs).
        "file_callbacks": _class_tuple([h.name for h in plan.helpers if h.template in FILE_CALLBACKS])
        if plan.distributed
        else "",
        **plan.precision.template_context(),
    }


def _freezes(plan: ScriptPlan) -> bool:
    """Does the script freeze weights (``layer.trainable = False`` -> ``requires_grad_(False)``)?"""
    lines = [*plan.calls.values(), *(line for lines in plan.statements.values() for line in lines)]
    # Layers built with trainable=False (k2t.translate.frozen_layers) freeze from the module's constructor.
    lines += [line for module in plan.modules for layer in module.layers for line in [*layer.setup, layer.constructor]]
    return any("requires_grad_(False)" in line or "freeze=True" in line for line in lines if isinstance(line, str))


def _with_rewritten_arguments(
    replacement: cst.BaseExpression, original: cst.Call, updated: cst.Call
) -> cst.BaseExpression:
    """The replacement of a call (``fit(model, optimizer, x, keras.utils.to_categorical(y))``, written from the
    arguments as the script writes them) holding each argument as the rewrite left it: a Keras call the rewrite
    translates inside it (``to_categorical(y)``) is translated, and a Keras name it leaves is the script's node,
    which k2t.remaining finds (its import kept, the statement reported) instead of a name left undefined."""
    blank = cst.Module([])
    written = [blank.code_for_node(argument.value) for argument in original.args]
    arguments = {
        code: after.value
        for code, before, after in zip(written, original.args, updated.args)
        if written.count(code) == 1 and not isinstance(before.value, (cst.Name, cst.BaseNumber, cst.BaseString))
    }
    if not arguments:
        return replacement

    class Put(cst.CSTTransformer):
        def on_leave(self, original_node, updated_node):
            if isinstance(original_node, cst.BaseExpression):
                argument = arguments.pop(blank.code_for_node(original_node), None)
                if argument is not None:
                    return argument
            return updated_node

    return replacement.visit(Put())


def _class_tuple(names: list[str]) -> str:
    """The tuple of classes ``isinstance`` takes: ``(A,)``, ``(A, B)``; "" for none."""
    if not names:
        return ""
    return f"({names[0]},)" if len(names) == 1 else f"({', '.join(names)})"


def _predict_inputs(plan: ScriptPlan, multi: bool) -> list[str]:
    """predict()'s conversion of x: one predict serves every model of the script, so it keeps ids as
    integers only where all models agree (otherwise float32, which the Embedding's .long() casts back)."""
    candidates = {tuple(input_dtypes(m)) for m in plan.modules}
    dtypes = list(candidates.pop()) if len(candidates) == 1 else [FLOAT]
    source = "(x if isinstance(x, (list, tuple)) else [x])"
    lines = [*_ids_comment(dtypes), f"x = {host_tensors(dtypes, source if multi else 'x', several=multi)}"]
    if not multi and plan.modules and all(_feature_axis(m) for m in plan.modules):
        lines += _feature_axis(plan.modules[0])
    if multi:  # a model of several inputs whose first layers on some run on the host takes the list through them
        return _preprocessed(
            [m for m in plan.modules if len(m.forward_args) > 1], "x", f"model.preprocess({source[1:-1]})", lines
        )
    return _preprocessed(plan.modules, "x", "model.preprocess(x)", lines)


# A batch of the script's data through a model's host layer, then to the model's device.
_ON_DEVICE = "model.preprocess(x).to(device, non_blocking=True)"


def _preprocessed(modules: list[ModulePlan], target: str, converted: str, otherwise: list[str]) -> list[str]:
    """The lines giving ``target`` from ``x``: ``converted`` (through ``model.preprocess``) for models whose first
    layer runs on the host (ModulePlan.preprocess, a TextVectorization on strings), ``otherwise`` for the others;
    a test of the model only where the generated function serves both kinds."""
    hosts = [m for m in modules if m.preprocess]
    if not hosts:
        return otherwise
    if len(hosts) == len(modules):
        return [f"{target} = {converted}"]
    return [
        'if hasattr(model, "preprocess"):  # a model whose first layer runs on the host',
        f"    {target} = {converted}",
        "else:",
        *(f"    {line}" for line in otherwise),
    ]


def _feature_axis(module: ModulePlan) -> list[str]:
    """A model of one input of one axis per row (``Input(shape=(1,))``) given a 1-D array: Keras reads each
    value as a row of one feature (Functional._adjust_input_rank), so the rows get that axis."""
    if len(module.forward_args) != 1 or len(module.input_shape) != 1:
        return []
    size = module.input_shape[0]
    if size is None or size.value not in (1, None) or (size.value is None and not module.one_feature_at_a_call):
        return []  # Input(shape=(8,)) given a 1-D array: Keras refuses it, and so will the first layer
    # A factory's size known at run time only (in_features=1 at one call, 8 at another): a 1-D array fits where it
    # is 1, and where it is not the first layer refuses the (rows, 1) array as Keras refuses it.
    return ["if x.dim() == 1:  # Keras reads a 1-D array as one feature per row", "    x = x[:, None]"]


def _validates(plan: ScriptPlan) -> bool:
    return "validation_split" in plan.fit_options or "validation_data" in plan.fit_options


def _without_unused(generated: list[cst.CSTNode], module: cst.Module) -> list[cst.CSTNode]:
    """The generated statements less the functions and classes nothing reads: a helper rendered for the
    script's features as a whole that this script does not call (the evaluate of a model it never evaluates)."""
    script_reads = set().union(*(bare_names(statement) for statement in module.body))
    reads_of = {
        id(statement): bare_names(statement)
        - ({statement.name.value} if isinstance(statement, (cst.FunctionDef, cst.ClassDef)) else set())
        for statement in generated
    }
    kept = list(generated)
    while True:
        reads = set(script_reads).union(*(reads_of[id(statement)] for statement in kept))
        unused = [s for s in kept if isinstance(s, (cst.FunctionDef, cst.ClassDef)) and s.name.value not in reads]
        if not unused:
            return kept
        kept = [s for s in kept if not any(s is u for u in unused)]


def _rewrites_use_device(plan: ScriptPlan) -> bool:
    """A rewritten line of the script reads ``device`` (a loss object called in a GradientTape step moves
    its targets there) though no module of the script was translated."""
    lines = [
        *plan.calls.values(),
        *(line for lines in plan.statements.values() for line in lines),
        *plan.expressions.values(),
    ]
    return any("device" in _names_used(line) for line in lines if isinstance(line, str) and "device" in line)


# Layers of the models that train as fast on one CPU thread as on several (k2t.emit.one_thread).
_ONE_THREAD_LAYERS = frozenset({
    "Dense", "Dropout", "Activation", "ReLU", "LeakyReLU", "ELU", "PReLU", "Softmax", "BatchNormalization",
    "LayerNormalization", "Normalization", "Flatten", "GaussianNoise", "GaussianDropout", "AlphaDropout", "Rescaling",
})  # fmt: skip
_ONE_THREAD_WIDTH = 256  # the widest layer (and the most input features) of such a model
# On a CPU, a script whose models are all small multilayer perceptrons trains on one thread: measured on the
# 2-core machine (torch 2.13), 64-256 units train as fast on one thread as on two at batch 32 and 128 (512
# units: 1.02-1.14x slower), while on a machine whose cores other processes hold, two threads took 3x the
# wall time of one (torch's thread pool waits on its busy threads; Keras's does not stall so).
ONE_THREAD_LINE = (
    'if device.type == "cpu":\n'
    "    # Models this small train as fast on one CPU thread, and do not stall on a busy machine as torch's\n"
    "    # thread pool does (it waits for threads the other processes hold).\n"
    "    torch.set_num_threads(1)"
)


def one_thread(plan: ScriptPlan) -> bool:
    """Whether every model of the script is a small multilayer perceptron (see ONE_THREAD_LINE)."""
    if not plan.modules or plan.distributed:
        return False
    for module in plan.modules:
        if module.source is not None or module.blocks or not module.layers:
            return False
        inputs = [module.input_shape, *module.input_shapes]
        sizes = [static_int(dim) if dim is not None else None for shape in inputs for dim in shape]
        if None in sizes or any(size > 4 * _ONE_THREAD_WIDTH for size in sizes):
            return False
        for layer in module.layers:
            if layer.keras_class not in _ONE_THREAD_LAYERS or layer.nested is not None:
                return False
            width = [static_int(dim) if dim is not None else None for dim in (layer.output_shape or [])]
            if None in width or any(size > _ONE_THREAD_WIDTH for size in width[-1:]):
                return False
    return True


def generated_block(plan: ScriptPlan, device: str = "auto") -> str:
    parts = [device_line(device)] if plan.modules or _rewrites_use_device(plan) else []
    if parts and one_thread(plan):
        parts.append(ONE_THREAD_LINE)
    if plan.distributed:
        parts.append(render("distributed.py.j2"))  # after the device line: a process under torchrun takes its own GPU
    parts += [render(h.template, **h.context()) for h in plan.helpers]
    summary = "summary" in plan.features
    parts += [render_module(block, False) for m in plan.modules for block in m.blocks]
    parts += [render_module(m, summary) for m in plan.modules]
    batches = bool(plan.batch_kinds) or "predict_batches" in plan.features
    if batches or {"epoch_line", "progress_fit", "progress_evaluate", "progress_predict"} & plan.features:
        parts.append(render("logging.py.j2", progress=bool({"progress_fit", "progress_predict"} & plan.features)))
    for t in plan.training_groups:
        if {"fit", "evaluate"} & plan.features:
            parts.append(render_training(t, plan))
    if batches:
        parts.append(render_batches(plan))
    parts += render_on_batch(plan)
    if {"fit_steps", "evaluate_steps"} & plan.features:
        parts.append(
            render(
                FIT_STEPS_TEMPLATE,
                fit="fit_steps" in plan.features,
                # fit(x) alone hands the step x's batch; with y, the pair (a call of each: y optional)
                x_only="fit_steps_x_only" in plan.features,
                with_y="fit_steps_with_y" in plan.features,
                evaluate="evaluate_steps" in plan.features,
                fit_options=plan.fit_options,
                validation="validation_data" in plan.fit_options,
            )
        )
    if "predict" in plan.features:
        multi = any(len(m.forward_args) > 1 for m in plan.modules)
        several = any(len(m.output_names) > 1 for m in plan.modules)
        parts.append(
            render(
                "predict.py.j2",
                progress="progress_predict" in plan.features,
                multi=multi,
                several=several,
                convert_x=_predict_inputs(plan, multi),
                **plan.precision.template_context(),
            )
        )
    if summary:
        open_sizes = any(None in shape for m in plan.modules for shape in (m.input_shapes or [m.input_shape]))
        parts.append(
            render(
                "summary.py.j2",
                channels_first=any(_channels_first_attrs(m) or m.source is not None for m in plan.modules),
                open_sizes=open_sizes,
            )
        )
    return "\n\n\n".join(p for p in parts if p.strip())


class _Renamer(cst.CSTTransformer):
    def __init__(self, renames: dict[str, str], keep: set[int] = frozenset()):
        self.renames = renames
        self.keep = keep  # id() of class definitions that keep their name

    def leave_ClassDef(self, original_node: cst.ClassDef, updated_node: cst.ClassDef) -> cst.ClassDef:
        return updated_node.with_changes(name=original_node.name) if id(original_node) in self.keep else updated_node

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.Name:
        new = self.renames.get(original_node.value)
        return updated_node.with_changes(value=new) if new else updated_node

    # Attribute names (F.mse_loss) and keyword names (f(x=...)) are not references.
    def leave_Attribute(self, original_node: cst.Attribute, updated_node: cst.Attribute) -> cst.Attribute:
        return updated_node.with_changes(attr=original_node.attr)

    def leave_Arg(self, original_node: cst.Arg, updated_node: cst.Arg) -> cst.Arg:
        return updated_node.with_changes(keyword=original_node.keyword)


def _rename_generated(generated: cst.Module | None, plan: ScriptPlan) -> cst.Module | None:
    """The generated block with its top-level definitions renamed away from the script's names."""
    for name in GENERATED_DEFINITIONS:
        plan.name(name)
    for t in plan.training_groups:
        if t.suffix:
            plan.name("fit" + t.suffix)
            plan.name("evaluate" + t.suffix)
            plan.name("fit_batches" + t.suffix)
            plan.name("evaluate_batches" + t.suffix)
            plan.name("train_on_batch" + t.suffix)
            plan.name("test_on_batch" + t.suffix)
    for helper in plan.helpers:
        plan.name(helper.name)
    if plan.distributed:
        for name in DISTRIBUTED_DEFINITIONS:
            plan.name(name)
    if not plan.renames or generated is None:
        return generated
    renamer = _Renamer(plan.renames, _model_classes(generated, plan))
    renamed = set(plan.renames)
    # Only the statements that name one are rebuilt (libcst's transformer rebuilds every node it passes).
    body = [s.visit(renamer) if not renamed.isdisjoint(bare_names(s)) else s for s in generated.body]
    return generated.with_changes(body=body)


def _model_classes(block: cst.Module, plan: ScriptPlan) -> set[int]:
    """The model classes a helper of the same name was renamed away from (a model named
    "early_stopping" and the EarlyStopping callback): generated_block writes the helpers
    first, so the last definition of such a name is the model's, and it keeps the name
    the script's statements construct."""
    clashing = {m.class_name for m in plan.modules} & set(plan.renames)
    last: dict[str, cst.ClassDef] = {}
    for statement in block.body:
        if isinstance(statement, cst.ClassDef) and statement.name.value in clashing:
            last[statement.name.value] = statement
    return {id(node) for node in last.values()}


def emit(script: KerasScript, plan: ScriptPlan, device: str = "auto") -> str:
    """The converted source text.

    A Keras object bound to a variable (``opt = keras.optimizers.RMSprop()``) is
    dropped once the translator has read it; when code kept as written still
    names it (a compile left as a TODO, ``hvd.DistributedOptimizer(opt)``), its
    statement is kept, and the import it needs with it (see remaining.py).
    """
    todos = list(plan.todos)
    text = _emit_once(script, plan, device)
    for _ in range(20):  # a restored line may read another removed one (`mu = Dense(2)(h)` reads `h`)
        restore = _removed_bindings_still_used(script, plan, text)
        if not restore:
            return text
        plan.todos[:] = todos  # the next pass adds its own notes again
        script.removed -= restore
        for ident in restore:
            # A Keras tensor's line a translated model took (`mu = Dense(2)(h)`) that code left as written (a model
            # k2t did not translate) still reads: it stays as written too.
            if plan.statements.get(ident) == []:
                del plan.statements[ident]
        text = _emit_once(script, plan, device)
    return text


def _removed_bindings_still_used(script: KerasScript, plan: ScriptPlan, text: str) -> set[int]:
    """id() of removed ``name = <Keras object or tensor>`` statements whose name the output reads before binding it."""
    targets: dict[str, set[int]] = {}
    for statement in _removed_assignments(script, plan):
        for target in statement.body[0].targets:
            # `encoder_outputs, state_h, state_c = encoder(encoder_inputs)`: each name of an unpacking too
            names = [target.target] if isinstance(target.target, cst.Name) else []
            if isinstance(target.target, (cst.Tuple, cst.List)):
                names = [element.value for element in target.target.elements if isinstance(element.value, cst.Name)]
            for name in names:
                targets.setdefault(name.value, set()).add(id(statement))
    if not targets:
        return set()
    unbound = _read_before_bound(text, set(targets))
    return {ident for name in unbound for ident in targets[name]}


def _removed_assignments(script: KerasScript, plan: ScriptPlan) -> list[cst.SimpleStatementLine]:
    found: list[cst.SimpleStatementLine] = []
    tensors = [*script.tensor_nodes, *(node for spec in script.models if spec.graph for node in spec.graph.inputs)]
    tensor_lines = {id(node.statement) for node in tensors if getattr(node, "statement", None) is not None}
    # `encoder_states = [state_h, state_c]`, `x = inputs`: statements that only name a model's tensors
    tensor_lines |= {id(statement) for statement, _ in script.tensor_aliases}

    class Finder(Visitor):
        def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> bool:
            dropped = id(node) in script.removed or (id(node) in tensor_lines and plan.statements.get(id(node)) == [])
            if dropped and len(node.body) == 1 and isinstance(node.body[0], cst.Assign):
                found.append(node)
            return False

    if script.removed or tensor_lines:
        script.module.visit(Finder())
    return found


def _read_before_bound(text: str, names: set[str]) -> set[str]:
    """Which of ``names`` the module reads where no earlier statement binds them.

    Statements run in order: a read in a module-level statement needs a binding
    in an earlier one (``opt = wrap(opt)`` reads ``opt`` before binding it); a
    read inside a function or class body needs a binding anywhere in the module.
    """
    import ast

    from .usage import bound_names as stores

    scopes = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
    comprehensions = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)

    def loads(node, local: frozenset[str] = frozenset()) -> set[str]:
        """The reads of ``names`` in ``node`` not of a name a lambda or comprehension inside binds
        (``ds.map(lambda x, y: x)`` reads no module-level ``x``)."""
        found: set[str] = set()
        if isinstance(node, ast.Lambda):
            arguments = node.args
            for default in [*arguments.defaults, *(d for d in arguments.kw_defaults if d is not None)]:
                found |= loads(default, local)  # evaluated where the lambda is made
            parameters = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
            parameters += [a for a in (arguments.vararg, arguments.kwarg) if a is not None]
            return found | loads(node.body, local | {a.arg for a in parameters})
        if isinstance(node, comprehensions):
            targets = {n.id for g in node.generators for n in ast.walk(g.target) if isinstance(n, ast.Name)}
            inner = local | targets
            # The first iterable is evaluated where the comprehension is: `[f(x) for x in x]` reads x.
            found |= loads(node.generators[0].iter, local)
            parts = [g.iter for g in node.generators[1:]] + [c for g in node.generators for c in g.ifs]
            parts += [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]
            return found.union(*(loads(part, inner) for part in parts))
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in names and node.id not in local:
            found.add(node.id)
        for child in ast.iter_child_nodes(node):
            found |= loads(child, local)
        return found

    def module_stores(statement) -> set[str]:
        """What a module-level statement binds at module level (not in the bodies it defines)."""
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            return {statement.name}
        found: set[str] = set()
        pending = [statement]
        while pending:
            node = pending.pop()
            if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
                found.add(node.id)
            elif isinstance(node, ast.alias):
                found.add(node.asname or node.name.split(".")[0])
            elif isinstance(node, ast.ExceptHandler) and node.name:
                found.add(node.name)
            if node is statement or not isinstance(node, (*scopes, *comprehensions)):
                pending.extend(ast.iter_child_nodes(node))
        return found

    def locals_read_before_bound(function) -> set[str]:
        """A function's locals (of ``names``) that a statement of its body reads before any earlier statement
        binds them: `z_log_var = Dense(2)(encoder)` above `encoder = Encoder()` (UnboundLocalError when it runs)."""
        local: set[str] = set()
        pending = list(function.body)
        while pending:  # the function's own statements (a def inside binds its name, its body is its own)
            inner = pending.pop()
            local |= module_stores(inner)
            if not isinstance(inner, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                pending.extend(child for child in ast.iter_child_nodes(inner) if isinstance(child, ast.stmt))
        arguments = function.args
        bound = {a.arg for a in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]}
        bound |= {a.arg for a in (arguments.vararg, arguments.kwarg) if a is not None}
        parameters = set(bound)
        found: set[str] = set()
        for inner in function.body:
            if isinstance(inner, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Global, ast.Nonlocal)):
                if isinstance(inner, (ast.Global, ast.Nonlocal)):
                    local -= set(inner.names)
                bound |= module_stores(inner)
                continue
            own = module_stores(inner)
            reads = loads(inner)
            later = own if isinstance(inner, (ast.For, ast.While, ast.With, ast.If, ast.Try)) else set()
            found |= (reads & local) - bound - later
            found |= reads - local - parameters - everywhere  # neither the function's nor the module's
            bound |= own
        return found

    module = ast.parse(text)
    everywhere: set[str] = set()
    for statement in module.body:
        everywhere |= module_stores(statement)
    bound: set[str] = set()
    missing: set[str] = set()
    for statement in module.body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            # A body's own names (parameters, locals, any nested scope's) are no reads of the module's.
            missing |= loads(statement) - stores(statement) - everywhere
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
                missing |= locals_read_before_bound(statement)
        else:
            missing |= loads(statement) - bound
        bound |= module_stores(statement)
    return missing


def _emit_once(script: KerasScript, plan: ScriptPlan, device: str) -> str:
    block = generated_block(plan, device)
    # Parsed once, renamed on the tree (libcst's parse is the larger part of emitting). `block`, the
    # text before renaming, still shows which imports it needs: renaming changes only the names it defines.
    parsed = cst.parse_module(_in_newline_of(script.module, block + "\n")) if block else None
    renamed = _rename_generated(parsed, plan)
    generated = renamed.body if renamed is not None else []
    todo_map = _todo_statements(script, plan)
    removed = remaining.removed_imports(script.module, script.import_rewrites)
    rewriter = _Rewriter(script, plan, todo_map, set(removed.targets), removed.stars)
    module = script.module.visit(rewriter)
    module = _keep_used_imports(script, plan, module, rewriter, removed, _top_level_names(generated))
    # After the imports are settled: they are found by their nodes, which this rebuilds.
    module = without_dead_imports(script.module, without_dead_configuration(script.module, module))
    generated = _without_unused(generated, module)
    body = list(module.body)
    imports_end = _after_imports(body)
    # After the script's own environment settings (CUDA_VISIBLE_DEVICES), which CUDA reads when the device
    # line initialises it (k2t/device_placement.py).
    insert_at = imports_end
    if generated:
        placement = place_generated_block(body, imports_end, _top_level_names(generated))
        insert_at = placement.index
        _report_late_cuda_writes(script, plan, body, placement.late_cuda_writes)
    # The generated code runs where it is inserted: an import of the script's further down (`import os`
    # in the middle of a keras.io example) comes too late for it, and the output imports the name itself.
    existing = _imported_names(module.with_changes(body=body[:insert_at]))
    imported_later = _imported_names(module)
    chunks = [*plan.calls.values(), *(line for lines in plan.statements.values() for line in lines)]
    used = set().union(*(bare_names(statement) for statement in generated), *(_names_used(chunk) for chunk in chunks))
    needed = [(name, stmt) for name, stmt in GENERATED_IMPORTS if name in used and name not in existing]
    for name, _ in needed:
        if name in script.module_names and name not in imported_later:
            plan.todos.append(
                Todo(
                    body[0] if body else script.module,
                    "K2T160",
                    f"the script defines `{name}`, which the generated code imports",
                    (1, 1),
                )
            )
    # The imports the generated code needs join the script's leading import block, sorted as ruff sorts it.
    added = [cst.parse_statement(stmt) for name, stmt in needed if name in _STDLIB | _THIRD_PARTY]
    head = merged_imports(body[:imports_end], added) if added else body[:imports_end]
    if "torch" in used:
        head = with_openmp_setting(head)  # before the import of torch, which loads OpenMP
    head += body[imports_end:insert_at]  # the script's environment settings the generated code follows
    rest = body[insert_at:]
    new_statements: list[cst.CSTNode] = []
    if generated:
        # After imports, ruff's isort wants one blank line, two before a def or class.
        gap = 2 if isinstance(generated[0], (cst.FunctionDef, cst.ClassDef)) else 1
        first = generated[0].with_changes(leading_lines=[cst.EmptyLine()] * gap if head else [])
        new_statements += [first, *generated[1:]]
        if rest:
            rest[0] = rest[0].with_changes(
                leading_lines=[cst.EmptyLine(), cst.EmptyLine(), *_strip_blank(rest[0].leading_lines)]
            )
    return module.with_changes(body=[*head, *new_statements, *rest]).code


def _report_late_cuda_writes(
    script: KerasScript, plan: ScriptPlan, body: list[cst.BaseStatement], late_writes: list[cst.CSTNode]
) -> None:
    """K2T106 at each write of a CUDA variable that runs after the generated block has picked the device. The
    output keeps such lines as written and in their order, so the n-th of a text is the script's n-th of it."""
    late = {id(node) for node in late_writes}
    if not late:
        return
    code_of = cst.Module([]).code_for_node
    originals: dict[str, list[cst.CSTNode]] = {}
    for write in env_writes(script.module):
        originals.setdefault(code_of(write.node), []).append(write.node)
    positions = script.metadata.resolve(PositionProvider) if script.metadata is not None else {}
    for write in env_writes(cst.Module(body=body)):
        candidates = originals.get(code_of(write.node), [])
        original = candidates.pop(0) if candidates else None
        if id(write.node) not in late or original is None or original not in positions:
            continue
        start = positions[original].start
        message = f"`{code_of(original).strip()}` {LATE_CUDA_WRITE}"
        plan.todos.append(Todo(original, "K2T106", message, (start.line, start.column + 1), Severity.WARNING))


def _keep_used_imports(script, plan, module, rewriter, removed, defined: set[str]) -> cst.Module:
    """Remove the Keras/TensorFlow imports, except the bindings the output still uses (see remaining.py);
    a use on a statement without a TODO gets one."""
    # A model statement still in the output belongs to a model k2t did not translate: the diagnostic
    # where it stopped covers its Keras names.
    covered = (
        frozenset(rewriter.kept_model_statements)
        if any(t.severity is Severity.ERROR for t in plan.todos)
        else frozenset()
    )
    leftovers = remaining.find_leftovers(module, rewriter.tracked, covered)
    kept = remaining.confirm(script.module, removed, script.import_rewrites, leftovers, defined, script.metadata)
    for _, code, message, pos in kept.todos:
        plan.todos.append(Todo(script.module, code, message, pos))
    return module.visit(
        remaining.Finisher(script.module, script.import_rewrites, rewriter.imports, kept, removed.stars)
    )


def _top_level_names(statements) -> set[str]:
    """Names the generated block defines (a removed `from keras.callbacks import EarlyStopping` is one)."""
    names = set()
    for statement in statements:
        if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
            names.add(statement.name.value)
        elif isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if isinstance(small, cst.Assign):
                    names.update(t.target.value for t in small.targets if isinstance(t.target, cst.Name))
    return names


def _in_newline_of(module: cst.Module, code: str) -> str:
    """Generated ``code`` with the script's line ending (its first one, as black keeps it).

    libcst writes the line ends between statements in the module's own newline; this
    covers the ones it copies verbatim, inside multi-line strings (the templates' docstrings).
    """
    return re.sub(r"\r\n|\r|\n", module.default_newline, code) if module.default_newline != "\n" else code


def _strip_blank(lines):
    lines = list(lines)
    while lines and lines[0].comment is None:
        lines.pop(0)
    return lines


def _names_used(code: str) -> set[str]:
    """The names a piece of generated code reads, not attributes (``x.time``) and not words in its comments
    or docstrings ("a slice at a time" needs no ``import time``)."""
    import io
    import re
    import textwrap
    import tokenize

    names: set[str] = set()
    previous = ""
    try:
        for token in tokenize.generate_tokens(io.StringIO(textwrap.dedent(code)).readline):
            if token.type == tokenize.NAME and previous != ".":
                names.add(token.string)
            if token.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT):
                previous = token.string
    except (tokenize.TokenError, IndentationError, SyntaxError):
        # A fragment tokenize cannot read: every identifier-like word, as a superset.
        names |= set(re.findall(r"(?<![\w.])([A-Za-z_]\w*)", code))
    return names


def _imported_names(module: cst.Module) -> set[str]:
    names: set[str] = set()
    for stmt in module.body:
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            if isinstance(small, cst.Import):
                for alias in small.names:
                    if alias.asname is not None:
                        names.add(alias.asname.name.value)
                    else:
                        names.add(module.code_for_node(alias.name).split(".")[0])
            elif isinstance(small, cst.ImportFrom) and not isinstance(small.names, cst.ImportStar):
                for alias in small.names:
                    target = alias.asname.name if alias.asname is not None else alias.name
                    names.add(module.code_for_node(target))
    return names


def _after_imports(body: list[cst.CSTNode]) -> int:
    """Index after the docstring, __future__ and leading import block. keras.io's examples put a section string
    between the docstring and the imports (a bare string, ``## Setup``): the block runs through such strings to the
    imports after them, so that the generated imports join the script's rather than repeat them above."""
    index = 0
    for i, stmt in enumerate(body):
        if not isinstance(stmt, cst.SimpleStatementLine):
            break
        if all(isinstance(s, (cst.Import, cst.ImportFrom)) for s in stmt.body):
            index = i + 1
            continue
        if (
            len(stmt.body) == 1
            and isinstance(stmt.body[0], cst.Expr)
            and isinstance(stmt.body[0].value, cst.SimpleString)
        ):
            index = max(index, 1) if i == 0 else index  # a string: the block goes on if imports follow it
            continue
        break
    return index


class _StatementIndex(Visitor):
    """Map every node to the innermost statement containing it."""

    def __init__(self):
        self.stack: list[cst.CSTNode] = []
        self.owner: dict[int, cst.CSTNode] = {}

    def enter(self, node: cst.CSTNode) -> bool:
        if isinstance(node, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
            self.stack.append(node)
        if self.stack:
            self.owner[id(node)] = self.stack[-1]
        return True

    def leave(self, original_node: cst.CSTNode) -> None:
        if self.stack and self.stack[-1] is original_node:
            self.stack.pop()


def _todo_statements(script: KerasScript, plan: ScriptPlan) -> dict[int, list[str]]:
    index = _StatementIndex()
    script.module.visit(index)
    todos: dict[int, list[str]] = {}
    for todo in plan.todos:
        statement = index.owner.get(id(todo.statement), todo.statement)
        kind = "TODO" if todo.severity is Severity.ERROR else "NOTE"
        todos.setdefault(id(statement), []).append(f"{kind}(k2t): {todo.code} {todo.message}")
    return todos


class _Rewriter(cst.CSTTransformer):
    def __init__(
        self, script: KerasScript, plan: ScriptPlan, todos: dict[int, list[str]], watched: set[str], stars: set[int]
    ):
        self.script = script
        self.plan = plan
        self.todos = todos
        self.drop: set[int] = set()
        # Output node -> input node, for names a removed import binds (and removed star imports): whether
        # each is still in the output is read once the whole module is rewritten (remaining.find_leftovers).
        self.watched = watched
        self.stars = stars
        self.tracked: dict[int, tuple[cst.CSTNode, cst.CSTNode]] = {}
        # Imports to rewrite, left in place until that is known: id(output node) -> (output node, input node).
        self.imports: dict[int, tuple[cst.CSTNode, cst.CSTNode]] = {}
        # id() of output statements of models left as written (and of their classes, whose whole body is covered)
        self.kept_model_statements: set[int] = set()
        self.decided_elifs: set[int] = set()  # id() of the `elif`s of decided `if`s

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        code = self.plan.calls.get(id(original_node))
        if code is None:
            return _with_keywords(updated_node, self.plan.added_keywords.get(id(original_node), []))
        if code == "":
            self.drop.add(id(original_node))
            return updated_node
        replacement = cst.parse_expression(_in_newline_of(self.script.module, code))
        return _with_rewritten_arguments(replacement, original_node, updated_node)

    def leave_AugAssign(self, original_node: cst.AugAssign, updated_node: cst.AugAssign) -> cst.BaseSmallStatement:
        if id(original_node) not in self.plan.rebinds:
            return updated_node
        # `a *= b` on a tensor: a new tensor, as TensorFlow makes one (k2t.translate.op_code.rebinds)
        right = updated_node.value
        if isinstance(right, (cst.BinaryOperation, cst.BooleanOperation, cst.Comparison, cst.IfExp, cst.Lambda)):
            right = right.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
        operator = AUGMENTED_OPERATORS[type(updated_node.operator)]()
        value = cst.BinaryOperation(left=updated_node.target, operator=operator, right=right)
        return cst.Assign(targets=[cst.AssignTarget(target=updated_node.target)], value=value)

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.BaseExpression:
        code = self.plan.operands.get(id(original_node))  # a batch read as a tensor in a training step
        return updated_node if code is None else cst.parse_expression(code)

    def leave_Subscript(self, original_node: cst.Subscript, updated_node: cst.Subscript) -> cst.BaseExpression:
        # `model.layers[:2]` a loop reads (plan.calls); a batch read as a tensor in a training step (plan.operands)
        code = self.plan.calls.get(id(original_node)) or self.plan.operands.get(id(original_node))
        return updated_node if code is None else cst.parse_expression(_in_newline_of(self.script.module, code))

    def leave_Attribute(self, original_node: cst.Attribute, updated_node: cst.Attribute) -> cst.BaseExpression:
        # model.optimizer.learning_rate (plan.calls); self.model.optimizer.learning_rate in a callback class (plan.expressions)
        code = (
            self.plan.calls.get(id(original_node))
            or self.plan.expressions.get(id(original_node))
            or self.plan.operands.get(id(original_node))
        )
        return updated_node if code is None else cst.parse_expression(_in_newline_of(self.script.module, code))

    def leave_ClassDef(
        self, original_node: cst.ClassDef, updated_node: cst.ClassDef
    ) -> cst.ClassDef | cst.RemovalSentinel:
        if id(original_node) in self.script.removed:
            return cst.RemoveFromParent()  # `class MyModel(keras.Model)`: the generated module of that name replaces it
        # A decorator the translator drops (keras.saving.register_keras_serializable()): "" is its replacement.
        decorators = [
            new
            for old, new in zip(original_node.decorators, updated_node.decorators)
            if self.plan.expressions.get(id(old)) != ""
        ]
        if len(decorators) != len(updated_node.decorators):
            updated_node = updated_node.with_changes(decorators=decorators)
        # A base the translator drops (keras.utils.Sequence): "" is its replacement.
        kept = [
            new for old, new in zip(original_node.bases, updated_node.bases) if self.plan.expressions.get(id(old)) != ""
        ]
        if len(kept) == len(updated_node.bases):
            return updated_node
        if not kept:
            return updated_node.with_changes(bases=[], lpar=cst.MaybeSentinel.DEFAULT, rpar=cst.MaybeSentinel.DEFAULT)
        return updated_node.with_changes(bases=[*kept[:-1], kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)])

    def leave_Arg(self, original_node: cst.Arg, updated_node: cst.Arg) -> cst.Arg:
        # A class base the translator replaces (keras.callbacks.Callback -> the generated Callback).
        code = self.plan.expressions.get(id(original_node))
        value = None if not code else cst.parse_expression(_in_newline_of(self.script.module, code))
        return updated_node if value is None else updated_node.with_changes(value=value)

    def leave_Import(self, original_node, updated_node):
        return self._import(original_node, updated_node)

    def leave_ImportFrom(self, original_node, updated_node):
        return self._import(original_node, updated_node)

    def _import(self, original_node, updated_node):
        if id(original_node) in self.script.import_rewrites:
            self.imports[id(updated_node)] = (updated_node, original_node)
            if id(original_node) in self.stars:
                self.tracked[id(updated_node)] = (updated_node, original_node)
        return updated_node

    def leave_SimpleStatementLine(self, original_node, updated_node):
        result = self._statement(original_node, updated_node)
        if id(original_node) in self.script.model_statements and isinstance(result, cst.SimpleStatementLine):
            self.kept_model_statements.add(id(result))
        return result

    def _statement(self, original_node, updated_node):
        todos = self.todos.get(id(original_node), [])
        comments = _new_comments(updated_node.leading_lines, todos)
        if any(message.startswith("TODO") for message in todos):  # not translated: kept as written
            return updated_node.with_changes(leading_lines=[*updated_node.leading_lines, *comments])
        updated_node = updated_node.with_changes(leading_lines=[*updated_node.leading_lines, *comments])  # notes
        if id(original_node) in self.script.removed:
            return cst.RemoveFromParent()
        lines = self.plan.statements.get(id(original_node))
        if lines is None:
            if (
                len(original_node.body) == 1
                and isinstance(original_node.body[0], cst.Expr)
                and id(original_node.body[0].value) in self.drop
            ):
                return cst.RemoveFromParent()
            if not updated_node.body:
                return cst.RemoveFromParent()
            updated_node = _with_trailing_comment(updated_node, self.plan.trailing_comments.get(id(original_node)))
            before = self.plan.before.get(id(original_node))
            if not before:
                return updated_node
            # Lines the translation puts before the statement (`model.train()` before an op on `model(x)`).
            statements = [cst.parse_statement(_in_newline_of(self.script.module, line)) for line in before]
            statements[0] = statements[0].with_changes(leading_lines=updated_node.leading_lines)
            return cst.FlattenSentinel([*statements, updated_node.with_changes(leading_lines=[])])
        if not lines:
            return cst.RemoveFromParent()
        statements = [cst.parse_statement(_in_newline_of(self.script.module, line)) for line in lines]
        statements[0] = statements[0].with_changes(leading_lines=updated_node.leading_lines)
        return cst.FlattenSentinel(statements)

    def leave_If(self, original_node: cst.If, updated_node: cst.If):
        return self._with_lines_after(original_node, self._leave_if(original_node, updated_node))

    def visit_If(self, node: cst.If) -> bool:
        if id(node) in self.script.decided_ifs and isinstance(node.orelse, cst.If):
            self.decided_elifs.add(id(node.orelse))  # its parent keeps or drops it (see _live_statements)
        return True

    def _leave_if(self, original_node: cst.If, updated_node: cst.If):
        if id(original_node.test) in self.script.decided_tests and _only_placeholders(updated_node, any_test=True):
            # `if K.int_shape(shortcut)[-1] != filters:` in a helper, decided at each call: its branches went into
            # the models, and the Keras tensor it reads exists only there.
            return cst.RemoveFromParent()
        if id(original_node) not in self.script.decided_ifs or id(original_node) in self.decided_elifs:
            return updated_node
        if self.script.decided_ifs[id(original_node)] == "undecided" and _only_placeholders(updated_node):
            # Decided otherwise at each call of its factory (`if use_bn:`), every branch went into the models.
            return cst.RemoveFromParent()
        # `if K.image_data_format() == "channels_first": ... else: ...`: Keras 3 runs one branch; keep that one.
        statements = [s for s in self._live_statements(original_node, updated_node) if not _is_placeholder_pass(s)]
        if not statements:
            return cst.RemoveFromParent()
        first = statements[0]
        statements[0] = first.with_changes(leading_lines=[*updated_node.leading_lines, *first.leading_lines])
        return cst.FlattenSentinel(statements)

    def _live_statements(self, original_node: cst.If, updated_node: cst.If) -> list:
        """The statements of the branch of a decided `if` that runs; along an `elif` chain, the one that runs."""
        live = self.script.decided_ifs.get(id(original_node), "undecided")
        if live == "undecided":
            return [updated_node]  # an `elif` k2t does not decide: it stays, as an `if`
        if live is None:
            return []
        if live == "body":
            return list(updated_node.body.body)
        if isinstance(original_node.orelse, cst.If):
            return self._live_statements(original_node.orelse, updated_node.orelse)
        return list(updated_node.orelse.body.body)

    def leave_FunctionDef(self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef):
        # A helper whose every statement went into the models it builds (`def conv_bn(x, filters): ...`).
        if id(original_node) in self.script.helper_functions and all(_inert(s) for s in updated_node.body.body):
            return cst.RemoveFromParent()
        # A method the translator drops (a custom layer's get_config) or renames (its call -> forward).
        if self.plan.statements.get(id(original_node)) == [] or id(original_node) in self.script.removed:
            return cst.RemoveFromParent()
        if self.plan.statements.get(id(original_node)):
            # A function that is a model (k2t.parse.model_access.layer_pipeline_function): its module's construction.
            lines = self.plan.statements[id(original_node)]
            statements = [cst.parse_statement(_in_newline_of(self.script.module, line)) for line in lines]
            statements[0] = statements[0].with_changes(leading_lines=updated_node.leading_lines)
            return cst.FlattenSentinel(statements)
        # A decorator the translator drops (@tf.function): "" is its replacement.
        decorators = [
            new
            for old, new in zip(original_node.decorators, updated_node.decorators)
            if self.plan.expressions.get(id(old)) != ""
        ]
        if len(decorators) != len(updated_node.decorators):
            updated_node = updated_node.with_changes(decorators=decorators)
        updated_node = _with_parameters(updated_node, self.plan.added_parameters.get(id(original_node), []))
        updated_node = _without_parameters(
            updated_node, self.plan.removed_parameters.get(id(original_node), frozenset())
        )
        name = self.plan.expressions.get(id(original_node.name))
        return updated_node.with_changes(name=cst.Name(name)) if name else updated_node

    def leave_With(self, original_node: cst.With, updated_node: cst.With):
        return self._with_lines_after(original_node, self._leave_with(original_node, updated_node))

    def _leave_with(self, original_node: cst.With, updated_node: cst.With):
        # `with tf.GradientTape() as tape:`: torch's autograd records without it, so the body runs as it is.
        if id(original_node) not in self.plan.unwrapped or not isinstance(updated_node.body, cst.IndentedBlock):
            return updated_node
        statements = [s for s in updated_node.body.body if not _is_placeholder_pass(s)]
        if not statements:
            return cst.RemoveFromParent()
        first = statements[0]
        statements[0] = first.with_changes(leading_lines=[*updated_node.leading_lines, *first.leading_lines])
        return cst.FlattenSentinel(statements)

    def leave_For(self, original_node: cst.For, updated_node: cst.For):
        return self._with_lines_after(original_node, self._leave_for(original_node, updated_node))

    def leave_While(self, original_node: cst.While, updated_node: cst.While):
        return self._with_lines_after(original_node, updated_node)

    def _with_lines_after(self, original_node, result):
        """A block statement, then the lines the plan adds after it (a model built after the loop of its add()s)."""
        lines = self.plan.after.get(id(original_node))
        if not lines:
            return result
        statements = [cst.parse_statement(_in_newline_of(self.script.module, line)) for line in lines]
        if isinstance(result, cst.RemovalSentinel):
            return cst.FlattenSentinel(statements)
        if isinstance(result, cst.FlattenSentinel):
            return cst.FlattenSentinel([*result.nodes, *statements])
        return cst.FlattenSentinel([result, *statements])

    def _leave_for(self, original_node: cst.For, updated_node: cst.For):
        lines = self.plan.statements.get(id(original_node))
        if lines is not None:  # a loop translated as a whole (`for layer in base.layers: layer.trainable = False`)
            if not lines:
                return cst.RemoveFromParent()
            statements = [cst.parse_statement(_in_newline_of(self.script.module, line)) for line in lines]
            statements[0] = statements[0].with_changes(leading_lines=updated_node.leading_lines)
            return cst.FlattenSentinel(statements)
        # A loop k2t unrolled into a model: nothing of it is left to run.
        if id(original_node) in self.script.unrolled and all(_is_placeholder_pass(s) for s in updated_node.body.body):
            return cst.RemoveFromParent()
        return updated_node

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        """Two blank lines after a top-level def or class (PEP 8), which the statements folded into a model
        may have taken with them (`def rmse(...): ...`, then the model's lines, then `model.fit`)."""
        body = list(updated_node.body)
        for index in range(1, len(body)):
            statement = body[index]
            if not isinstance(body[index - 1], (cst.FunctionDef, cst.ClassDef)) or _is_import(statement):
                continue
            blank = 0
            for line in statement.leading_lines:
                if line.comment is not None:
                    break
                blank += 1
            if blank < 2:
                body[index] = statement.with_changes(
                    leading_lines=[*([cst.EmptyLine()] * (2 - blank)), *statement.leading_lines]
                )
        return updated_node.with_changes(body=body)

    def leave_IndentedBlock(self, original_node: cst.IndentedBlock, updated_node: cst.IndentedBlock):
        # Every statement of the block was folded into a model: keep the block valid Python.
        if not updated_node.body and original_node.body:
            return updated_node.with_changes(body=[_PLACEHOLDER_PASS])
        return updated_node

    def on_leave(self, original_node, updated_node):
        if isinstance(original_node, cst.BaseCompoundStatement) and id(original_node) in self.script.removed:
            return cst.RemoveFromParent()  # `for gpu in gpus: tf.config.experimental.set_memory_growth(gpu, True)`
        result = super().on_leave(original_node, updated_node)
        if (isinstance(original_node, cst.Name) and original_node.value in self.watched) or (
            isinstance(original_node, cst.SimpleString) and remaining.mentions(original_node.value, self.watched)
        ):
            self.tracked[id(result)] = (result, original_node)  # a string may be an annotation naming Keras
        if (
            isinstance(original_node, cst.BaseCompoundStatement)
            and id(original_node) in self.todos
            and isinstance(result, cst.BaseCompoundStatement)
        ):
            comments = _new_comments(result.leading_lines, self.todos[id(original_node)])
            result = result.with_changes(leading_lines=[*result.leading_lines, *comments])
        if id(original_node) in self.script.classes_left and isinstance(result, (cst.ClassDef, cst.FunctionDef)):
            self.kept_model_statements.add(id(result))  # the definition of a model k2t reported: its Keras names too
        return result


def _with_trailing_comment(statement: cst.SimpleStatementLine, comment: str | None) -> cst.SimpleStatementLine:
    """``comment`` at the end of the statement's line, unless the line ends in a comment already."""
    if comment is None or statement.trailing_whitespace.comment is not None:
        return statement
    whitespace = statement.trailing_whitespace.with_changes(
        whitespace=cst.SimpleWhitespace("  "), comment=cst.Comment(comment)
    )
    return statement.with_changes(trailing_whitespace=whitespace)


def _new_comments(leading_lines, messages: list[str]) -> list[cst.EmptyLine]:
    """Comment lines for ``messages``, less what is there: converting an output again (it keeps the
    imports its TODO lines need) finds those lines again, maybe for another reason; a statement
    already marked `# TODO(k2t)` is not marked twice."""
    present = {line.comment.value for line in leading_lines if line.comment is not None}
    marked = any(comment.startswith("# TODO(k2t)") for comment in present)
    return [
        cst.EmptyLine(comment=cst.Comment(f"# {m}"))
        for m in messages
        if f"# {m}" not in present and not (marked and m.startswith("TODO"))
    ]


# The `pass` of a block whose statements were all folded into a model (identity marks it as k2t's).
_PLACEHOLDER_PASS = cst.SimpleStatementLine(body=[cst.Pass()])


def _is_import(statement: cst.CSTNode) -> bool:
    return isinstance(statement, cst.SimpleStatementLine) and any(
        isinstance(small, (cst.Import, cst.ImportFrom)) for small in statement.body
    )


def _is_placeholder_pass(statement: cst.CSTNode) -> bool:
    return statement is _PLACEHOLDER_PASS


def _only_placeholders(node: cst.If, any_test: bool = False) -> bool:
    """An `if` (with its `elif`s and `else`) whose every statement went into a model, on a test without calls
    (``any_test``: whatever its test)."""

    def empty(block) -> bool:
        return isinstance(block, cst.IndentedBlock) and all(_is_placeholder_pass(s) for s in block.body)

    branch: cst.CSTNode | None = node
    while isinstance(branch, cst.If):
        if (_calls(branch.test) and not any_test) or not empty(branch.body):
            return False
        branch = branch.orelse
    return branch is None or empty(branch.body)


def _inert(statement: cst.CSTNode) -> bool:
    """What is left of a helper once its layers went into a model, if it does nothing but compute values
    for them (`strides = 2 if downsample else 1`, an `if` whose branches are gone): the helper can go."""
    if _is_placeholder_pass(statement) or is_docstring(statement):
        return True
    if isinstance(statement, cst.SimpleStatementLine):
        return all(
            isinstance(small, (cst.Assign, cst.AugAssign, cst.AnnAssign, cst.Pass)) and not _calls(small)
            for small in statement.body
        )
    if isinstance(statement, (cst.If, cst.For)):
        header = statement.test if isinstance(statement, cst.If) else statement.iter
        branches = [statement.body, *([statement.orelse] if statement.orelse is not None else [])]
        return not _calls(header) and all(
            _inert(s)
            for branch in branches
            for s in (branch.body.body if isinstance(branch, cst.If | cst.Else) else branch.body)
        )
    return False


def _calls(node: cst.CSTNode) -> bool:
    found = False

    class Finder(Visitor):
        def visit_Call(self, call: cst.Call) -> bool:
            nonlocal found
            found = True
            return False

    node.visit(Finder())
    return found


def _with_keywords(call: cst.Call, keywords: list[str]) -> cst.Call:
    """``build(norm)`` -> ``build(norm, in_features=1)``: the arguments a layer factory's call gains."""
    if not keywords:
        return call
    added = [cst.Arg(keyword=cst.Name(text.split("=", 1)[0]), value=cst.parse_expression(text.split("=", 1)[1]),
                     equal=cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")))
             for text in keywords]  # fmt: skip
    args = list(call.args)
    if args:
        args[-1] = args[-1].with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
    for arg in added[:-1]:
        args.append(arg.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))))
    args.append(added[-1])
    return call.with_changes(args=args)


def _without_parameters(function: cst.FunctionDef, names: frozenset[str]) -> cst.FunctionDef:
    """``def encode(feature, name, dataset)`` -> ``def encode(name, dataset)``: the Keras tensors went into the model."""
    if not names:
        return function
    params = function.params
    kept = [p for p in params.params if p.name.value not in names]
    if kept:
        kept[-1] = kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
    return function.with_changes(params=params.with_changes(params=kept))


def _with_parameters(function: cst.FunctionDef, names: list[str]) -> cst.FunctionDef:
    """``def build(norm)`` -> ``def build(norm, in_features)``: keyword-only after a default or a star, as Python requires."""
    if not names:
        return function
    params = function.params
    new = [cst.Param(cst.Name(name)) for name in names]
    if (
        any(p.default is not None for p in params.params)
        or params.star_arg is not cst.MaybeSentinel.DEFAULT
        or params.kwonly_params
    ):
        star = params.star_arg if params.star_arg is not cst.MaybeSentinel.DEFAULT else cst.ParamStar()
        return function.with_changes(
            params=params.with_changes(star_arg=star, kwonly_params=[*params.kwonly_params, *new])
        )
    return function.with_changes(params=params.with_changes(params=[*params.params, *new]))
