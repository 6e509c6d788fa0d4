"""``k2t parity --exact``: same initial weights, no shuffle, no dropout; compare layer by layer and epoch by epoch.

1. Run the Keras script until its first ``model.fit`` and keep the model (with
   its initial weights), the data and the fit arguments.
2. Run the converted script until its first generated ``fit`` and keep the torch
   module, its optimizer and the arguments.
3. Copy the Keras weights into the torch module (k2t.weights, in place).
4. Forward pass in inference mode on up to ``rows`` rows of the fit data: every
   layer's output, Keras vs torch (forward hooks on each layer's submodule,
   followed by the layer's activation where the module applies it functionally),
   and the model's final (post-activation) output.
5. Dropout off on both sides, then train both for a few epochs with
   shuffle=False and the script's batch_size / validation settings; compare the
   per-epoch history.

A fit on batches (a tf.data.Dataset, a generator, a Sequence / PyDataset; Keras
2's fit_generator runs as Keras 3's fit) uses its first batch in step 4 and
each side's own data object in step 5, tf.data's .shuffle and augmentation
layers in a .map switched off on both sides (batches.py).

Use ``exact_parity(source)`` from tests; it runs both sides in this process.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import io
import math
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..translate.registry import AUGMENTATION_LAYERS
from .capture import (
    Captured,
    capture_first,
    quiet_tensorflow,
    quiet_warnings,
    run_keras,
    run_torch,
    torch_step_hooks_kept,
)
from .instrument import convert
from .tracebacks import script_traceback

LAYER_TOL = 1e-4  # max abs diff of every layer's output
LOSS_RTOL = 1e-3  # per-epoch loss / val_loss, relative
METRIC_RTOL = 1e-2  # per-epoch metrics, relative (a flipped borderline sample moves accuracy by 1/N)
ABS_FLOOR = 1e-6  # absolute slack added to the relative tolerances (losses near zero)

# Keras layers that are themselves the activation: their torch submodule applies it, nothing to add after the hook.
ACTIVATION_LAYERS = frozenset({"Activation", "ReLU", "LeakyReLU", "PReLU", "ELU", "Softmax", "ThresholdedReLU"})


class ParityUnavailable(RuntimeError):
    """TensorFlow or torch is not importable."""


@dataclass
class LayerRow:
    index: int
    name: str  # Keras layer name
    keras_class: str
    attr: str | None  # torch submodule attribute
    keras_shape: tuple[int, ...] | None
    torch_shape: tuple[int, ...] | None
    diff: float  # max abs diff (inf when the shapes differ or torch gave nothing)
    tol: float
    note: str = ""

    @property
    def ok(self) -> bool:
        return self.diff <= self.tol


@dataclass
class ParityReport:
    script: str
    ok: bool = False
    layer_diffs: list[tuple[str, float]] = field(
        default_factory=list
    )  # (Keras layer name, max abs diff), then ("output", diff)
    layers: list[LayerRow] = field(default_factory=list)
    keras_history: dict[str, list[float]] = field(default_factory=dict)
    torch_history: dict[str, list[float]] = field(default_factory=dict)
    rel_diffs: dict[str, list[float]] = field(default_factory=dict)  # history key -> per-epoch relative diff
    loss_rel_diffs: list[float] = field(default_factory=list)  # per-epoch "loss" relative diff
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str | None = None  # a traceback when a side crashed
    model: str = ""  # 'keras "name" -> torch ClassName'
    epochs: int = 0
    fit_arguments: dict[str, Any] = field(default_factory=dict)
    rows: int = 0
    diagnostics: list[str] = field(default_factory=list)
    fit_index: int = 0  # which fit call of the script was compared (0 = the first)
    layer_tol: float = LAYER_TOL
    loss_rtol: float = LOSS_RTOL
    metric_rtol: float = METRIC_RTOL
    keras_output: str = ""  # what the Keras script printed before the compared fit
    torch_output: str = ""
    seconds: float = 0.0
    # Max abs diff of the two models' outputs on the fit data after training (what callbacks such as
    # EarlyStopping(restore_best_weights=True) left in the models); None when not measured.
    trained_output_diff: float | None = None

    def format(self) -> str:
        return format_report(self)


def require_frameworks() -> None:
    """Raise ParityUnavailable with an install hint when TensorFlow or torch is missing."""
    import importlib.util

    if importlib.util.find_spec("tensorflow") is None or importlib.util.find_spec("keras") is None:
        raise ParityUnavailable("k2t parity needs TensorFlow: pip install 'k2t[parity]'")
    if importlib.util.find_spec("torch") is None:
        raise ParityUnavailable("k2t parity needs PyTorch: pip install 'k2t[parity]'")


def exact_parity(
    source: str,
    epochs: int = 3,
    path: str | Path | None = None,
    rows: int = 256,
    layer_tol: float = LAYER_TOL,
    loss_rtol: float = LOSS_RTOL,
    metric_rtol: float = METRIC_RTOL,
    converted: str | None = None,
    fit_index: int = 0,
) -> ParityReport:
    """Exact parity of the Keras script ``source`` and its k2t conversion, in this process.

    ``path``: where the script notionally lives (its folder is the working
    directory, e.g. for data files); default: a temporary folder holding
    ``source``. ``converted``: test hook, use this text instead of k2t's output
    (the plan still comes from converting ``source``). ``fit_index``: compare
    the script's n-th fit call (0-based) instead of the first; the earlier fits
    run in full on both sides first (with their own shuffling and dropout).
    ``rows``: how many rows of the fit data the layer-by-layer pass uses.
    Epochs trained: min(``epochs``, the script's fit epochs when it gives them).
    Gates: every layer and the final output within ``layer_tol`` (max abs
    diff); every epoch's loss and val_loss within
    ``loss_rtol`` relative; metrics within ``metric_rtol``; same history keys;
    the converted script hands its fit the same x and y.
    Raises ParityUnavailable when TensorFlow or torch is missing; never raises for a failing script: see ``report.ok``, ``report.failures`` and ``report.error``.
    """
    require_frameworks()
    quiet_tensorflow()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="k2t-parity-") as tmp:
        if path is None:
            path = Path(tmp) / "script.py"
            path.write_text(source, encoding="utf-8")
        path = Path(path).resolve()
        report = ParityReport(
            script=str(path), fit_index=fit_index, layer_tol=layer_tol, loss_rtol=loss_rtol, metric_rtol=metric_rtol
        )
        try:
            with quiet_warnings(), _torch_beside_keras(), torch_step_hooks_kept():
                _exact(report, source, path, epochs, rows, converted)
        except _Stop as stop:
            report.failures.append(str(stop))
        except Exception as exc:  # noqa: BLE001 - reported, not raised
            report.error = script_traceback(exc)
            report.failures.append("crashed: " + report.error.strip().splitlines()[-1])
    report.ok = not report.failures and report.error is None
    report.seconds = time.perf_counter() - started
    return report


@contextlib.contextmanager
def _torch_beside_keras():
    """torch on one thread while Keras and torch share this process.

    Seen on a 2-core machine, after hundreds of parity runs in one pytest
    process: oneDNN's 1x1 transposed-convolution weight gradient spun forever
    at its thread barrier. One torch thread has no barrier to wait at, and a
    parity run's tensors are small enough not to need a second one.
    """
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


class _Stop(Exception):
    """A precondition failed: recorded as the report's failure."""


def _exact(report: ParityReport, source, path: Path, epochs, rows, converted) -> None:
    import numpy as np

    conversion = convert(source, str(path))
    report.diagnostics = conversion.diagnostics
    if conversion.output is None:
        raise _Stop("the script could not be converted: " + "; ".join(conversion.diagnostics))
    if conversion.diagnostics:
        report.notes.append(
            f"the conversion has {len(conversion.diagnostics)} TODO(s); only the compared fit is checked"
        )
    if converted is not None:
        conversion.output = converted

    # 1-2. Capture both sides at their first fit.
    keras_out, torch_out = io.StringIO(), io.StringIO()
    shuffles: list[int] = []
    keras2_calls: list[str] = []
    try:
        with _keras2_generator_methods(keras2_calls), _no_dataset_shuffle(shuffles), _keras_augmentation_at_inference():
            kcap = capture_first(run_keras, source, path, output=keras_out, index=report.fit_index)
    finally:
        report.keras_output = keras_out.getvalue()
    for name in dict.fromkeys(keras2_calls):
        report.notes.append(
            f"the Keras script's {name}_generator ran as Keras 3's {name} (Keras 3 has no {name}_generator)"
        )
    if kcap is None:
        raise _Stop(f"the Keras script makes fewer than {report.fit_index + 1} model.fit call(s)")
    try:
        tcap = capture_first(run_torch, conversion, path, output=torch_out, index=report.fit_index)
    finally:
        report.torch_output = torch_out.getvalue()
    if tcap is None:
        raise _Stop(f"the converted script makes fewer than {report.fit_index + 1} call(s) of the generated fit")

    kfit = inspect.signature(kcap.function).bind(*kcap.args, **kcap.kwargs)
    kargs = kfit.arguments
    kmodel = kargs["self"]
    tfit = inspect.signature(tcap.function).bind(*tcap.args, **tcap.kwargs)
    targs = tfit.arguments
    tmodel, optimizer = targs.get("model"), targs.get("optimizer")
    if tmodel is None:
        first = list(targs)
        tmodel, optimizer = targs[first[0]], targs[first[1]] if len(first) > 1 else None
    module_plan = conversion.module_plan(type(tmodel).__name__)
    if module_plan is None:
        raise _Stop(f"no k2t plan for the torch class {type(tmodel).__name__}")
    report.model = f'keras "{kmodel.name}" -> torch {type(tmodel).__name__}'

    unsupported = sorted(k for k in kargs if k not in _KERAS_FIT_USED | {"self"})
    if unsupported:
        report.notes.append("fit arguments not reproduced in --exact: " + ", ".join(unsupported))
    x, y = kargs.get("x"), kargs.get("y")
    keras_data: dict[str, Any] = {"x": x, "y": y}
    torch_data: dict[str, Any] | None = None  # None: the generated fit takes x= and y= arrays
    if _is_batches(x):
        # A dataset, generator or Sequence: its first batch stands for the arrays below, and each side
        # trains on its own data object, batch for batch.
        from .batches import first_batches

        keras_data, torch_data, x, y = first_batches(report, kcap, kargs, tcap, targs, shuffles)
    elif not (_is_array(x) or isinstance(x, dict)) or not (_is_array(y) or isinstance(y, dict) or y is None):
        # (y None: fit(x) alone, which a model with its own train_step takes: keras.io's VAE)
        raise _Stop(
            f"--exact needs fit(x, y) with arrays, a tf.data.Dataset, a generator or a Sequence, not {type(x).__name__}"
        )
    # A subclassed Keras model has no graph to walk (no `outputs`): its layers, in creation order, are
    # matched as a Sequential's (k2t translates the straight-line call() it follows as a chain).
    # A subclass without call() (keras.io's Distiller, GAN): nothing to call; the models it holds are built already,
    # and its steps are compared through the training logs alone.
    without_call = getattr(module_plan, "without_forward", False)
    functional_model = module_plan.forward_lines is not None and _has_graph(kmodel) and not without_call
    if functional_model:
        from . import functional

        x = functional.as_input_list(kmodel, x)
        y = functional.as_target_list(kmodel, y) if isinstance(y, (list, tuple, dict)) else np.asarray(y)
        if len(x) == 1 and not isinstance(y, list):
            x = x[0]
            if torch_data is None:
                _compare_data(report, x, y, targs)
        else:
            x = x if len(x) > 1 else x[0]
            shapes = [tuple(a.shape) for a in (x if isinstance(x, list) else [x])]
            targets = [tuple(a.shape) for a in (y if isinstance(y, list) else [y])]
            report.notes.append(f"fit data: inputs {shapes}, targets {targets}")
    else:
        x, y = np.asarray(x), None if y is None else np.asarray(y)
        if torch_data is None:  # batches: first_batches compared the first batch of each side
            _compare_data(report, x, y, targs)

    try:
        if int(kmodel.optimizer.iterations.numpy()) > 0:
            report.notes.append(
                "the model was trained by an earlier fit: the optimizer states of both sides may differ"
            )
    except AttributeError:
        pass

    # Make sure the Keras model is built.
    # Keras 3's build((None, ...)) of a subclassed model builds none of its layers: its first call does.
    unbuilt = module_plan.forward_lines is not None and not all(layer.built for layer in kmodel.layers)
    if without_call:
        pass
    elif (not kmodel.built or unbuilt) and not functional_model:
        kmodel(x[:1])
    elif not all(getattr(layer, "built", True) for layer in _with_sublayers(_keras_layers(kmodel))):
        # A custom layer with compute_output_shape: Keras built the model from that, not from call(), so the sublayers
        # call() makes (a LayerNormalization made in __init__) get their weights at the first real call.
        kmodel([a[:1] for a in x] if isinstance(x, (list, tuple)) else x[:1], training=False)

    # 3. Weights.
    from ..weights import WeightTransferError, transfer_weights

    try:
        keras_layers = functional.keras_layers_for(kmodel, module_plan) if functional_model else None
        if keras_layers is None:
            keras_layers = _called_layers(kmodel, module_plan)
        copied = transfer_weights(kmodel, tmodel, module_plan, keras_layers)
    except WeightTransferError as exc:
        raise _Stop(f"weight transfer failed: {exc}") from None
    report.notes.append(f"weights copied into: {', '.join(copied) if copied else '(no layer has weights)'}")

    # 4. Forward pass, layer by layer. Dropout off from here on, as for the training: the layers run in inference
    # mode, but a layer that drops in any mode (Monte Carlo dropout, super().call(x, training=True)) draws numbers
    # TensorFlow's stream and torch's do not share.
    _disable_dropout(kmodel, tmodel)
    if without_call:
        report.notes.append("the model has no call(): no layer-by-layer pass, its steps compared by their logs")
    elif functional_model:
        sample = [a[:rows] for a in x] if isinstance(x, list) else [x[:rows]]
        report.rows = len(sample[0])
        functional.forward(
            report,
            kmodel,
            tmodel,
            module_plan,
            sample,
            report.layer_tol,
            LayerRow,
            _align,
            _max_diff,
            _activation_after,
            _apply_activation,
        )
    else:
        sample = x[:rows]
        if getattr(sample, "ndim", None) == 1 and len(kmodel.inputs[0].shape) == 2 and kmodel.inputs[0].shape[-1] == 1:
            sample = sample[
                :, None
            ]  # Keras's fit gives a 1-D array the feature axis of Input(shape=(1,)); layers alone do not
        report.rows = len(sample)
        _forward(report, kmodel, tmodel, module_plan, sample, report.layer_tol)

    # 5. Training.
    requested = kargs.get("epochs")
    report.epochs = min(epochs, int(requested)) if requested else epochs
    _train(
        report,
        kcap.function,
        kmodel,
        tcap.function,
        tmodel,
        optimizer,
        x,
        y,
        kargs,
        report.loss_rtol,
        report.metric_rtol,
        {key: targs[key] for key in ("loss_fn",) if key in targs},
        {key: (kargs[key], targs.get(key, _MISSING)) for key in _FIT_PASS_THROUGH if kargs.get(key) is not None},
        keras_data,
        torch_data,
        _draws_in_steps(module_plan),
    )


def _draws_in_steps(module_plan) -> bool:
    """Whether the module's train_step / test_step draw random numbers (keras.io's GAN: latent vectors, label noise)."""
    return any(
        f"torch.{name}(" in method for method in getattr(module_plan, "step_methods", ()) for name in _TORCH_DRAWS
    )


_TORCH_DRAWS = ("randn", "rand")


@contextlib.contextmanager
def _same_draws(kmodel, seed: int = 0):
    """The random numbers a train_step draws, the same on both sides: TensorFlow's stream is not torch's, so
    ``tf.random.normal`` / ``tf.random.uniform`` (and keras.random's) on the Keras side and ``torch.randn`` /
    ``torch.rand`` on the torch side read one NumPy stream each, seeded alike. A step that draws in the same order
    with the same shapes (the translation keeps the script's order) then sees the same numbers. Keras runs its
    step eagerly meanwhile: a traced step would keep its first draws as constants.

    Yields a function that restarts both streams (before each side's fit)."""
    import keras
    import numpy as np
    import tensorflow as tf
    import torch

    streams = {"keras": np.random.RandomState(seed), "torch": np.random.RandomState(seed)}

    def values(side: str, kind: str, shape) -> np.ndarray:
        shape = tuple(int(n) for n in np.asarray(shape).reshape(-1))
        stream = streams[side]
        drawn = stream.standard_normal(shape) if kind == "normal" else stream.uniform(size=shape)
        return drawn.astype(np.float32)

    def tf_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None, name=None):
        return tf.constant(values("keras", "normal", shape)) * stddev + mean

    def tf_uniform(shape, minval=0, maxval=None, dtype=None, seed=None, name=None):
        drawn = tf.constant(values("keras", "uniform", shape))
        return (
            drawn if minval == 0 and maxval is None else minval + drawn * ((1 if maxval is None else maxval) - minval)
        )

    def torch_draw(kind):
        def draw(*size, device=None, dtype=None, generator=None, **kwargs):
            shape = size[0] if len(size) == 1 and isinstance(size[0], (tuple, list, torch.Size)) else size
            return torch.as_tensor(values("torch", kind, shape), device=device)

        return draw

    patched = [
        (tf.random, "normal", tf_normal),
        (tf.random, "uniform", tf_uniform),
        (keras.random, "normal", tf_normal),
        (keras.random, "uniform", tf_uniform),
        (torch, "randn", torch_draw("normal")),
        (torch, "rand", torch_draw("uniform")),
    ]
    saved = [(owner, name, getattr(owner, name)) for owner, name, _ in patched]
    eager = kmodel.run_eagerly
    kmodel.run_eagerly, kmodel.train_function, kmodel.test_function = True, None, None
    try:
        for owner, name, function in patched:
            setattr(owner, name, function)
        yield
    finally:
        for owner, name, function in saved:
            setattr(owner, name, function)
        kmodel.run_eagerly, kmodel.train_function, kmodel.test_function = eager, None, None


# fit arguments given to each side as its own script passed them (Keras objects to Keras, their translations to torch).
_FIT_PASS_THROUGH = (
    "callbacks",
    "class_weight",
    "sample_weight",
    "validation_batch_size",
    "initial_epoch",
    "steps_per_epoch",
    "validation_steps",
    "validation_freq",
)
_KERAS_FIT_USED = frozenset(
    {"x", "y", "batch_size", "epochs", "verbose", "shuffle", "validation_split", "validation_data", *_FIT_PASS_THROUGH}
)
_MISSING = object()


def _is_batches(value) -> bool:
    """A tf.data.Dataset, a generator / iterator or a keras.utils.Sequence / PyDataset: data that comes in batches."""
    if value is None or _is_array(value) or isinstance(value, (dict, str)):
        return False
    indexed = hasattr(value, "__len__") and hasattr(value, "__getitem__")
    return indexed or hasattr(value, "__iter__") or hasattr(value, "__next__")


def _is_array(value) -> bool:
    return value is not None and (hasattr(value, "shape") or isinstance(value, (list, tuple)))


def _compare_data(report: ParityReport, x, y, targs: dict) -> None:
    """The converted script must hand its fit the same data as the Keras script."""
    import numpy as np

    names = list(targs)
    tx = targs.get("x", targs[names[2]] if len(names) > 2 else None)
    ty = targs.get("y", targs[names[3]] if len(names) > 3 else None)
    for label, kv, tv in (("x", x, tx), ("y", y, ty)):
        if label == "y" and kv is None:
            if targs.get("y") is not None:
                report.failures.append("fit data y: Keras fits on x alone, the torch side passes targets")
            continue
        try:
            tv = np.asarray(tv.detach().cpu().numpy() if hasattr(tv, "detach") else tv)
        except Exception:  # noqa: BLE001
            report.failures.append(f"fit data {label}: the torch side passed {type(tv).__name__}")
            continue
        if tv.shape != kv.shape:
            report.failures.append(f"fit data {label}: Keras shape {kv.shape}, torch shape {tv.shape}")
            continue
        try:
            diff = float(np.max(np.abs(kv.astype(np.float64) - tv.astype(np.float64)))) if kv.size else 0.0
        except (TypeError, ValueError):
            diff = 0.0 if np.array_equal(kv, tv) else math.inf
        if diff > 1e-6:
            report.failures.append(f"fit data {label}: Keras and torch data differ (max abs diff {diff:.3g})")
    targets = "none (fit(x) alone)" if y is None else f"{tuple(y.shape)} {y.dtype}"
    report.notes.append(f"fit data: x {tuple(x.shape)} {x.dtype}, y {targets}")


def _activation_after(layer_plan) -> str | None:
    """The activation the torch module applies outside the layer's submodule (None if none)."""
    if layer_plan.activation in (None, "linear") or layer_plan.keras_class in ACTIVATION_LAYERS:
        return None
    return layer_plan.activation


def _apply_activation(name: str, value, layout: str = "keras"):
    """Keras's activation on a submodule's output; on channels-first maps it acts over the channels as Keras's does."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    from ..translate.activations import apply_activation

    channels_first = layout == "channels_first" and value.dim() >= 3
    if channels_first:
        value = value.movedim(1, -1)
    value = eval(apply_activation(name, "x"), {"torch": torch, "F": F, "nn": nn, "math": math}, {"x": value})
    return value.movedim(-1, 1) if channels_first else value


def _to_torch_input(x):
    import numpy as np
    import torch

    x = np.asarray(x)
    if np.issubdtype(x.dtype, np.integer):
        return torch.as_tensor(x.astype(np.int64))
    return torch.as_tensor(x.astype(np.float32))


def _tensor_numpy(value):
    import numpy as np

    if isinstance(value, (tuple, list)):
        value = value[0]
    if hasattr(value, "detach"):
        return value.detach().cpu().numpy()
    return np.asarray(value)


def _align(keras_value, torch_value, layout: str = "keras"):
    """Feature maps the torch module keeps channels-first are compared channels-last."""
    import numpy as np

    if layout == "channels_first" and torch_value.ndim >= 3:
        return np.moveaxis(torch_value, 1, -1)
    return torch_value


def _max_diff(keras_value, torch_value, layer_tol) -> tuple[float, float]:
    import numpy as np

    k = np.asarray(keras_value, dtype=np.float64)
    t = np.asarray(torch_value, dtype=np.float64)
    if k.shape != t.shape:
        return math.inf, layer_tol
    if k.size == 0:
        return 0.0, layer_tol
    diff = float(np.max(np.abs(k - t)))
    if math.isnan(diff):
        diff = 0.0 if np.array_equal(np.isnan(k), np.isnan(t)) and np.allclose(k, t, equal_nan=True) else math.inf
    return diff, layer_tol


def _forward(report: ParityReport, kmodel, tmodel, module_plan, sample, layer_tol) -> None:
    import numpy as np
    import torch
    import torch.nn.functional as F
    from torch import nn

    from ..weights import submodule

    xk = sample.astype(np.float32) if np.issubdtype(sample.dtype, np.floating) else sample
    keras_outputs = []
    h = xk
    # A keras.applications model is a graph of its own (residual adds), not a chain: only its output is compared.
    layers = [] if module_plan.keras_layer_names or not _is_chain(module_plan) else _called_layers(kmodel, module_plan)
    if not layers:
        what = (
            "a keras.applications model"
            if module_plan.keras_layer_names
            else "a subclassed model whose call() is no chain of layers"
        )
        report.notes.append(f"{module_plan.class_name}: {what}, compared on its output")
    for layer in layers:
        h = layer(h, training=False)
        keras_outputs.append(np.asarray(h))
    keras_final = np.asarray(kmodel(xk, training=False))

    # A first layer run on the host (TextVectorization on strings) is the module's preprocess(), not a submodule.
    host = bool(module_plan.preprocess)
    xt = tmodel.preprocess(sample) if host else _to_torch_input(sample)
    seen: dict[int, Any] = {}
    hooks = []
    for index, layer_plan in enumerate(module_plan.layers):
        if layer_plan.attr is None or (host and index == 0):
            continue

        def hook(module, args, output, index=index):
            seen.setdefault(index, output)

        hooks.append(submodule(tmodel, layer_plan.attr).register_forward_hook(hook))
    was_training = tmodel.training
    tmodel.eval()
    try:
        with torch.no_grad():
            torch_final = _tensor_numpy(tmodel(xt))
            previous = xt
            for index, (layer, layer_plan) in enumerate(zip(layers, module_plan.layers)):
                note = ""
                if layer_plan.attr is None:
                    # A stateless layer written inline: run its forward lines on the previous layer's output.
                    # In the converted script's namespace: a Lambda's lines call its functions and read its names.
                    script_names = getattr(type(tmodel).forward, "__globals__", {})
                    scope = {
                        **script_names,
                        "self": tmodel,
                        "x": previous,
                        "torch": torch,
                        "F": F,
                        "nn": nn,
                        "math": math,
                        "np": np,
                    }
                    exec("\n".join(layer_plan.forward), scope)  # noqa: S102
                    value = scope["x"]
                    note = "inline"
                elif host and index == 0:
                    value, note = xt, "preprocess()"
                elif index in seen:
                    value = seen[index]
                    if isinstance(value, (tuple, list)):
                        value = value[0]
                    activation = _activation_after(layer_plan)
                    if activation is not None:
                        value = _apply_activation(activation, value, layer_plan.layout)
                        note = f"+{activation}"
                else:
                    value = None
                    note = "torch never called this submodule"
                keras_value = keras_outputs[index]
                if value is None:
                    diff, tol, tshape = math.inf, layer_tol, None
                else:
                    previous = value
                    tv = _align(keras_value, _tensor_numpy(value), layer_plan.layout)
                    tshape = tuple(tv.shape)
                    diff, tol = _max_diff(keras_value, tv, layer_tol)
                row = LayerRow(
                    index,
                    layer.name,
                    type(layer).__name__,
                    layer_plan.attr,
                    tuple(keras_value.shape),
                    tshape,
                    diff,
                    tol,
                    note,
                )
                report.layers.append(row)
                report.layer_diffs.append((layer.name, diff))
                if not row.ok:
                    report.failures.append(
                        f"layer {index} {layer.name} ({row.keras_class}): max abs diff {diff:.3g} > {tol:.3g}"
                    )
    finally:
        for handle in hooks:
            handle.remove()
        tmodel.train(was_training)
    tv = _align(keras_final, torch_final)
    diff, tol = _max_diff(keras_final, tv, layer_tol)
    report.layers.append(
        LayerRow(
            len(module_plan.layers),
            "output",
            "(model)",
            None,
            tuple(keras_final.shape),
            tuple(tv.shape),
            diff,
            tol,
            "post-activation",
        )
    )
    report.layer_diffs.append(("output", diff))
    if not diff <= tol:
        report.failures.append(f"model output: max abs diff {diff:.3g} > {tol:.3g}")


def _disable_dropout(kmodel, tmodel) -> int:
    from torch import nn

    count = 0
    for layer in _with_sublayers(_keras_layers(kmodel)):
        if "Dropout" in type(layer).__name__ and hasattr(layer, "rate"):
            layer.rate = 0.0
            count += 1
        elif type(layer).__name__ == "GaussianNoise":
            layer.stddev = 0.0
            count += 1
        elif type(layer).__name__ == "MultiHeadAttention" and layer.dropout > 0:
            layer._dropout_layer.rate = 0.0  # the dropout on its attention probabilities, a sublayer of its own
            count += 1
        elif _keras_attention(layer) and layer.dropout > 0:
            layer.dropout = 0.0  # the rate its call reads for the dropout on the attention weights
            count += 1
        for cell in _recurrent_cells(layer):
            if cell.dropout or cell.recurrent_dropout:
                cell.dropout = cell.recurrent_dropout = 0.0
                count += 1
    for module in tmodel.modules():
        if isinstance(module, nn.modules.dropout._DropoutNd):
            module.p = 0.0
        # k2t's generated noise modules (templates/layers/gaussian_*.py.j2), possibly renamed GaussianNoise_ etc.
        elif type(module).__name__.startswith("GaussianDropout"):
            module.rate = 0.0
        elif type(module).__name__.startswith("GaussianNoise"):
            module.stddev = 0.0
        # k2t's step-by-step recurrent layers (templates/layers/recurrent_loop.py.j2): KerasLSTMLoop etc.
        elif type(module).__name__.startswith("Keras") and hasattr(module, "recurrent_dropout"):
            module.input_dropout = module.recurrent_dropout = 0.0
    return count


def _disable_augmentation(kmodel, tmodel) -> int:
    """Run the augmentation layers in training as at inference (the identity; RandomCrop's input uncropped), both sides.

    Like dropout, their random draws cannot be matched (TensorFlow's stream is not torch's), and there is
    no rate to set to 0: Keras's layers are called with training=False, k2t's generated modules
    (templates/layers/random_*.py.j2, possibly renamed RandomFlip_ etc.) become the identity.
    """
    count = 0
    for layer in _with_sublayers(_keras_layers(kmodel)):
        if type(layer).__name__ in AUGMENTATION_LAYERS:
            _keras_inference_call(layer)
            count += 1
    for module in tmodel.modules():
        if type(module).__name__.startswith(AUGMENTATION_LAYERS):
            module.forward = _identity
    return count


def _keras_inference_call(layer) -> None:
    original = layer.call

    def call(*args, training=None, **kwargs):
        return original(*args, training=False, **kwargs)

    layer.call = call


def _identity(x):
    return x


def _with_sublayers(layers) -> list:
    """Each layer, then the layers a custom layer made in its __init__ (a TransformerBlock's Dropout), once each."""
    found: dict[int, object] = {}
    for layer in layers:
        found.setdefault(id(layer), layer)
        if type(layer).__name__ == "TimeDistributed":  # its Dropout is a layer of its own
            found.setdefault(id(layer.layer), layer.layer)
        if type(layer).__module__.startswith("keras.") or not hasattr(layer, "_flatten_layers"):
            continue  # Keras's own layers: handled as a whole above (MultiHeadAttention, recurrent cells)
        for inner in layer._flatten_layers(include_self=False, recursive=True):
            found.setdefault(id(inner), inner)
    return list(found.values())


def _recurrent_cells(layer) -> list:
    """The dropout-holding cells of a Keras SimpleRNN / LSTM / GRU, or of both directions of a Bidirectional."""
    layers = [layer, getattr(layer, "forward_layer", None), getattr(layer, "backward_layer", None)]
    cells = [getattr(each, "cell", None) for each in layers if each is not None]
    return [cell for cell in cells if hasattr(cell, "recurrent_dropout")]


def _keras_attention(layer) -> bool:
    """keras.layers.Attention / AdditiveAttention, not a script's own layer class of that name (Kaggle's Attention)."""
    import keras

    return isinstance(layer, (keras.layers.Attention, keras.layers.AdditiveAttention))


def _keras_layers(model):
    for layer in getattr(model, "layers", ()):
        yield layer
        yield from _keras_layers(layer)


@contextlib.contextmanager
def _no_dataset_shuffle(calls: list[int]):
    """tf.data.Dataset.shuffle returns its dataset unchanged while the Keras script runs; ``calls`` counts them.

    A shuffled pipeline's order comes from TensorFlow's random stream, which torch does not reproduce:
    --exact switches it off, as fit's own shuffle. The converted pipeline's is switched off in batches.py.
    """
    import tensorflow as tf

    original = tf.data.Dataset.shuffle

    def unshuffled(self, *args, **kwargs):
        calls.append(1)
        return self

    tf.data.Dataset.shuffle = unshuffled
    try:
        yield
    finally:
        tf.data.Dataset.shuffle = original


# Keras 2.x's *_generator parameters after the generator, in their order.
_KERAS2_GENERATOR_PARAMETERS = {
    "fit": (
        "steps_per_epoch",
        "epochs",
        "verbose",
        "callbacks",
        "validation_data",
        "validation_steps",
        "validation_freq",
        "class_weight",
        "max_queue_size",
        "workers",
        "use_multiprocessing",
        "shuffle",
        "initial_epoch",
    ),
    "evaluate": ("steps", "callbacks", "max_queue_size", "workers", "use_multiprocessing", "verbose"),
    "predict": ("steps", "callbacks", "max_queue_size", "workers", "use_multiprocessing", "verbose"),
}


@contextlib.contextmanager
def _keras_augmentation_at_inference():
    """Keras's augmentation layers run as at inference while the Keras script runs up to its fit.

    A tf.data ``.map`` traces its function when the script builds the pipeline: an augmentation layer
    applied there (keras.io's ``ds.map(lambda x, y: (data_augmentation(x, training=True), y))``)
    must be switched off by then, as _disable_augmentation switches off the model's own later. The
    converted pipeline's modules are switched off in batches.py.
    """
    import keras

    classes = [getattr(keras.layers, name) for name in AUGMENTATION_LAYERS if hasattr(keras.layers, name)]
    originals = [cls.__dict__.get("call") for cls in classes]

    def at_inference(original):
        @functools.wraps(original)  # Keras reads call()'s signature (its training argument)
        def call(self, *args, training=None, **kwargs):
            return original(self, *args, training=False, **kwargs)

        return call

    for cls in classes:
        cls.call = at_inference(cls.call)
    try:
        yield
    finally:
        for cls, original in zip(classes, originals):
            if original is None:
                del cls.call
            else:
                cls.call = original


@contextlib.contextmanager
def _keras2_generator_methods(calls: list[str]):
    """Keras 2's fit_generator / evaluate_generator / predict_generator as Keras 3's fit / evaluate / predict.

    Keras 3 removed them; k2t converts them. The Keras side runs the Keras 3 spelling so that its fit
    is captured as any other; Keras 2's queue arguments only chose how batches were fetched. ``calls``
    records which ran.
    """
    import keras

    added = [name for name in _KERAS2_GENERATOR_PARAMETERS if not hasattr(keras.Model, name + "_generator")]

    def keras3(name):
        def method(self, generator, *args, **kwargs):
            calls.append(name)
            # Keras 2's positional order is not Keras 3's (fit_generator's second is steps_per_epoch, fit's y).
            kwargs.update(zip(_KERAS2_GENERATOR_PARAMETERS[name], args))
            for queue_argument in ("max_queue_size", "workers", "use_multiprocessing"):
                kwargs.pop(queue_argument, None)
            if "nb_epoch" in kwargs:  # Keras 2 still took Keras 1's name, as k2t's conversion does
                kwargs["epochs"] = kwargs.pop("nb_epoch")
            return getattr(self, name)(generator, **kwargs)

        return method

    for name in added:
        setattr(keras.Model, name + "_generator", keras3(name))
    try:
        yield
    finally:
        for name in added:
            delattr(keras.Model, name + "_generator")


@contextlib.contextmanager
def _no_shuffle_randperm():
    """For a generated fit without a `shuffle` parameter: torch.randperm returns the identity order."""
    import torch

    original = torch.randperm

    def identity(n, *args, **kwargs):
        return torch.arange(n, dtype=kwargs.get("dtype") or torch.int64, device=kwargs.get("device"))

    torch.randperm = identity
    try:
        yield
    finally:
        torch.randperm = original


@contextlib.contextmanager
def _working_directory(folder: Path):
    import os

    previous = os.getcwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(previous)


def _floats(history: dict) -> dict[str, list[float]]:
    return {str(k): [float(v) for v in values] for k, values in history.items()}


def _train(
    report: ParityReport,
    keras_fit,
    kmodel,
    torch_fit,
    tmodel,
    optimizer,
    x,
    y,
    kargs,
    loss_rtol,
    metric_rtol,
    extra=None,
    passed=None,
    keras_data=None,
    torch_data=None,
    draws_in_steps: bool = False,
) -> None:
    """``extra``: arguments the generated fit takes besides Keras's (loss_fn when losses are a parameter).

    ``passed``: {fit argument: (Keras value, torch value)} given to each side as its script passed them.
    ``keras_data`` / ``torch_data``: the data arguments of each fit (default x= and y=, the arrays ``x``
    and ``y``); a dataset, generator or Sequence is each side's own. ``x`` is then the first batch.
    """
    keras_data = {"x": x, "y": y} if keras_data is None else keras_data
    if torch_data is None:
        torch_data = {"x": x, "y": y} if y is not None else {"x": x}  # fit_steps(x) of a step that takes x alone
    _disable_dropout(kmodel, tmodel)
    if _disable_augmentation(kmodel, tmodel):
        report.notes.append(
            "augmentation layers run in training as at inference (the identity) on both sides, as dropout is off"
        )
    common: dict[str, Any] = {"epochs": report.epochs, "verbose": 0}
    if kargs.get("batch_size") is not None:
        common["batch_size"] = kargs["batch_size"]
    if kargs.get("validation_data") is not None:
        common["validation_data"] = kargs["validation_data"]
    elif kargs.get("validation_split"):
        common["validation_split"] = kargs["validation_split"]
    report.fit_arguments = {k: v for k, v in common.items() if k != "validation_data"}
    if "validation_data" in common:
        report.fit_arguments["validation_data"] = "(as in the script)"

    torch_parameters = inspect.signature(torch_fit).parameters
    missing = [k for k in {**common, **(passed or {})} if k not in torch_parameters]
    if missing:
        raise _Stop(f"the generated {torch_fit.__name__}() has no parameter {', '.join(missing)}")
    keras_kwargs, torch_kwargs = dict(common), dict(common)
    for key, (keras_value, torch_value) in (passed or {}).items():
        if torch_value is _MISSING:
            raise _Stop(f"the script passes {key}= to fit but the converted call does not")
        keras_kwargs[key], torch_kwargs[key] = keras_value, torch_value
        report.fit_arguments[key] = "(as in the script)"
    shuffle_patch = contextlib.nullcontext()
    if "shuffle" in torch_parameters:
        torch_kwargs["shuffle"] = False
    else:
        shuffle_patch = _no_shuffle_randperm()
        report.notes.append(f"{torch_fit.__name__}() has no shuffle parameter: torch.randperm patched to the identity")

    sink = io.StringIO()
    draws = _same_draws(kmodel) if draws_in_steps else contextlib.nullcontext()
    if draws_in_steps:
        report.notes.append(
            "the steps' random draws (tf.random / torch.randn, rand) read one NumPy stream on each side, seeded alike; "
            "Keras runs its step eagerly"
        )
    # In the script's folder, as the script runs: callbacks write their files (CSVLogger, ModelCheckpoint) there.
    with draws, contextlib.redirect_stdout(sink), _working_directory(Path(report.script).parent):
        keras_history = keras_fit(kmodel, **keras_data, shuffle=False, **keras_kwargs)
        report.keras_history = _floats(keras_history.history)
        with shuffle_patch:
            torch_history = torch_fit(tmodel, optimizer, **torch_data, **(extra or {}), **torch_kwargs)
    report.torch_history = _floats(getattr(torch_history, "history", torch_history))
    try:
        report.trained_output_diff = _trained_output_diff(kmodel, tmodel, x)
    except NotImplementedError:  # keras.io's Distiller: a model without call(), which neither side can call
        report.notes.append("trained outputs not compared: the model has no call()")
    except Exception as exc:  # noqa: BLE001 - a measurement beside the gates, not a gate
        report.notes.append(f"trained outputs not compared: {type(exc).__name__}: {exc}")

    kh, th = report.keras_history, report.torch_history
    if set(kh) != set(th):
        only_k, only_t = sorted(set(kh) - set(th)), sorted(set(th) - set(kh))
        report.failures.append(f"history keys differ: only Keras {only_k}, only torch {only_t}")
    for key in kh:
        if key not in th:
            continue
        is_loss = key in ("loss", "val_loss")
        rtol = loss_rtol if is_loss else metric_rtol
        diffs = []
        for epoch, (kv, tv) in enumerate(zip(kh[key], th[key]), 1):
            rel = _rel(kv, tv)
            diffs.append(rel)
            if not abs(kv - tv) <= rtol * abs(kv) + ABS_FLOOR:
                report.failures.append(
                    f"epoch {epoch} {key}: Keras {kv:.6g}, torch {tv:.6g} (relative diff {rel:.3g} > {rtol:g})"
                )
        if len(kh[key]) != len(th[key]):
            report.failures.append(f"{key}: Keras has {len(kh[key])} epochs, torch {len(th[key])}")
        report.rel_diffs[key] = diffs
    report.loss_rel_diffs = report.rel_diffs.get("loss", [])


def _trained_output_diff(kmodel, tmodel, x) -> float | None:
    """Both trained models' outputs on up to 256 rows of array x, in inference mode (None for other inputs)."""
    import numpy as np
    import torch

    if not hasattr(x, "shape"):
        return None
    sample = np.asarray(x[:256])
    keras_values = kmodel(sample, training=False)
    was_training = tmodel.training
    tmodel.eval()
    with torch.no_grad():
        # A model whose first layer runs on the host (TextVectorization on strings) takes what its preprocess() gives.
        torch_values = tmodel(tmodel.preprocess(sample) if hasattr(tmodel, "preprocess") else _to_torch_input(sample))
    tmodel.train(was_training)
    if not isinstance(keras_values, (list, tuple)):  # one output
        keras_values, torch_values = [keras_values], [torch_values]
    if not isinstance(torch_values, (list, tuple)) or len(torch_values) != len(keras_values):
        return math.inf
    return max(_max_diff(np.asarray(k), _tensor_numpy(t), LAYER_TOL)[0] for k, t in zip(keras_values, torch_values))


def _rel(a: float, b: float) -> float:
    if a == b:
        return 0.0
    if math.isnan(a) or math.isnan(b):
        return math.inf
    return abs(a - b) / max(abs(a), 1e-12)


# ----------------------------------------------------------------------------- formatting


def _shape(shape) -> str:
    return "-" if shape is None else "(" + ", ".join(str(s) for s in shape) + ")"


def _num(value: float) -> str:
    return f"{value:.3e}" if math.isfinite(value) else str(value)


def format_report(report: ParityReport) -> str:
    lines = [
        f"k2t parity --exact: {report.script}" + (f" (fit call #{report.fit_index + 1})" if report.fit_index else "")
    ]
    if report.model:
        lines.append(f"model: {report.model}")
    for diag in report.diagnostics:
        lines.append(f"conversion: {diag}")
    for note in report.notes:
        lines.append(f"note: {note}")
    if report.layers:
        lines.append("")
        lines.append(
            f"forward pass, inference mode, {report.rows} rows (tolerance: max abs diff <= {report.layer_tol:g}):"
        )
        header = (
            f"  {'#':>3}  {'layer':<24}{'keras class':<20}{'torch attr':<22}{'keras shape':<18}{'max abs diff':>13}"
        )
        lines.append(header)
        for row in report.layers:
            status = "ok" if row.ok else "MISMATCH"
            if row.torch_shape is not None and row.keras_shape != row.torch_shape:
                status += f" (torch shape {_shape(row.torch_shape)})"
            extra = f" [{row.note}]" if row.note else ""
            index = str(row.index) if row.keras_class != "(model)" else ""
            lines.append(
                f"  {index:>3}  {row.name:<24}{row.keras_class:<20}{(row.attr or '-'):<22}{_shape(row.keras_shape):<18}{_num(row.diff):>13}  {status}{extra}"
            )
    if report.keras_history or report.torch_history:
        lines.append("")
        args = ", ".join(f"{k}={v}" for k, v in report.fit_arguments.items())
        lines.append(f"training, shuffle off, dropout off ({args}):")
        keys = list(report.keras_history) + [k for k in report.torch_history if k not in report.keras_history]
        for key in keys:
            kv, tv = report.keras_history.get(key, []), report.torch_history.get(key, [])
            lines.append(f"  {key}:")
            lines.append(f"    {'epoch':>5}  {'keras':>14}  {'torch':>14}  {'rel diff':>10}")
            for epoch in range(max(len(kv), len(tv))):
                a = kv[epoch] if epoch < len(kv) else math.nan
                b = tv[epoch] if epoch < len(tv) else math.nan
                lines.append(f"    {epoch + 1:>5}  {a:>14.8g}  {b:>14.8g}  {_num(_rel(a, b)):>10}")
    if report.error:
        lines.append("")
        lines.append("error:")
        lines.extend("  " + line for line in report.error.rstrip().splitlines())
        for label, text in (("keras", report.keras_output), ("torch", report.torch_output)):
            tail = text.rstrip().splitlines()[-10:]
            if tail:
                lines.append(f"last output of the {label} script:")
                lines.extend(f"  [{label}] {line}" for line in tail)
    lines.append("")
    if report.ok:
        lines.append(
            f"PASS: every layer within tolerance, every epoch's loss within {report.loss_rtol:g} relative ({report.seconds:.1f}s)"
        )
    else:
        lines.append("FAIL:")
        lines.extend(f"  - {failure}" for failure in report.failures)
    return "\n".join(lines)


__all__ = [
    "Captured",
    "LayerRow",
    "ParityReport",
    "ParityUnavailable",
    "exact_parity",
    "format_report",
    "require_frameworks",
]


def _called_layers(kmodel, module_plan) -> list:
    """``kmodel.layers`` without the layers a subclassed model's __init__ made and its call() never runs: Keras
    lists them, never built and without weights, and the translated module has no counterpart for them."""
    if getattr(module_plan, "graph", None) is None:
        return list(kmodel.layers)
    return [layer for layer in kmodel.layers if layer.built or layer.weights]


def _is_chain(module_plan) -> bool:
    """Whether the module's layers run one after the other (a subclassed model's call() k2t followed as a graph:
    its Keras layers can then be run in creation order, each on the previous one's output)."""
    graph = getattr(module_plan, "graph", None)
    if graph is None:
        return True
    previous = graph.inputs[0] if len(graph.inputs) == 1 else None
    plans = {id(node): plan for node, plan in module_plan.node_plans}
    for node in graph.nodes:
        if plans.get(id(node)) is None or len(node.inputs) != 1 or node.inputs[0] is not previous:
            return False
        if node.output_index is not None:
            return False  # one output of several (`z_mean, z_log_var = self.encoder(x)`): Keras's layer gives all
        previous = node
    # Keras lists the layers in creation order: a call() running them in another order is no chain of that list.
    return [id(plans[id(node)]) for node in graph.nodes] == [id(plan) for plan in module_plan.layers]


def _has_graph(kmodel) -> bool:
    """Whether Keras built ``kmodel`` as a graph of layers (Sequential, Functional), not a subclass's call()."""
    try:
        return kmodel.outputs is not None
    except AttributeError:
        return False
