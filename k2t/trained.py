"""``k2t weights``: a trained Keras model file -> the state_dict of the module ``k2t convert`` emits.

1. Convert the training script statically (it is never run) and keep the plan
   of the module that matches the Keras model (its layers, in order).
2. Define that module from the generated code alone (the generated classes and
   helpers, never the user's code) and construct it with the constructor
   arguments read off the Keras model: each parameter is the size the plan
   names symbolically (``in_features``, ``num_classes``) at a place where the
   Keras model has a concrete one (an input shape, a layer's output shape).
3. Copy the weights (k2t.weights.transfer_weights), then compare both models'
   predictions on random inputs of the model's input shape.
4. Write the state_dict atomically, only when the predictions agree.

TensorFlow and torch are imported lazily: ``import k2t.trained`` needs neither.
The library never prints; the CLI formats :class:`TrainedReport`.
"""

from __future__ import annotations

import ast
import importlib.util
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TOLERANCE = 1e-4  # max abs difference of the predictions
ROWS = 64  # random input rows compared


class TrainedWeightsError(Exception):
    """k2t weights cannot produce a verified state_dict; the message says why and what to do."""


@dataclass
class TrainedReport:
    model_path: str
    script: str
    class_name: str = ""
    constructor: dict[str, Any] = field(default_factory=dict)  # argument name -> value used
    copied: list[str] = field(default_factory=list)  # torch submodules that received weights
    input_shapes: list[tuple[int, ...]] = field(default_factory=list)  # of the random inputs
    max_diff: float = float("nan")  # max abs difference of the predictions
    tolerance: float = TOLERANCE
    output: str | None = None  # where the state_dict was written (None: not written)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.max_diff <= self.tolerance

    def _copied(self) -> str:
        if not self.copied:
            return "(no layer has weights)"
        if len(self.copied) > 8:  # a keras.applications model: hundreds of layers
            return f"{len(self.copied)} submodules ({', '.join(self.copied[:3])}, ..., {self.copied[-1]})"
        return ", ".join(self.copied)

    def format(self) -> str:
        shapes = ", ".join(str((None, *s[1:])) for s in self.input_shapes)
        arguments = ", ".join(f"{k}={v!r}" for k, v in self.constructor.items())
        lines = [
            f"module: {self.class_name}({arguments})",
            f"weights copied into: {self._copied()}",
            (
                f"predictions on {self.input_shapes[0][0] if self.input_shapes else 0} random inputs of shape {shapes}: "
                f"max abs diff {self.max_diff:.3g} (tolerance {self.tolerance:g}) -> {'OK' if self.ok else 'MISMATCH'}"
            ),
            *self.notes,
        ]
        if self.output is not None:
            lines.append(f"wrote {self.output}")
        return "\n".join(lines)


def _installed(name: str) -> bool:
    import sys

    if name in sys.modules:
        return sys.modules[name] is not None  # None: import is blocked
    return importlib.util.find_spec(name) is not None


def require_frameworks() -> None:
    if not _installed("tensorflow") or not _installed("keras"):
        raise TrainedWeightsError(
            "k2t weights needs TensorFlow to read the Keras model file: pip install 'k2t[parity]' (or tensorflow-cpu)"
        )
    if not _installed("torch"):
        raise TrainedWeightsError("k2t weights needs PyTorch: pip install 'k2t[parity]' (or torch)")


def convert_trained(
    model_path: str | Path,
    script: str | Path,
    output: str | Path | None = None,
    *,
    class_name: str | None = None,
    arguments: dict[str, Any] | None = None,
    rows: int = ROWS,
    tolerance: float = TOLERANCE,
    seed: int = 0,
) -> TrainedReport:
    """Turn the trained Keras model at ``model_path`` into a state_dict for ``script``'s converted module.

    ``output``: where to write it (``torch.save``, atomically), only if the
    predictions agree within ``tolerance``. ``class_name`` picks the module
    when the script builds several that could match; ``arguments`` gives
    constructor arguments k2t cannot read off the Keras model. Raises
    TrainedWeightsError with a message for the user when it cannot build or
    fill the module; a prediction mismatch is ``report.ok == False`` instead.
    """
    require_frameworks()
    from .parity.capture import quiet_tensorflow, quiet_warnings

    quiet_tensorflow()
    model_path, script = Path(model_path), Path(script)
    report = TrainedReport(str(model_path), str(script), tolerance=tolerance)
    with quiet_warnings():
        kmodel = _load_keras_model(model_path)
        conversion = _convert(script)
        module_plan = _choose_module(conversion, kmodel, class_name)
        report.class_name = module_plan.class_name
        functional = module_plan.forward_lines is not None
        keras_layers = _keras_layers(kmodel, module_plan, functional)
        report.constructor = constructor_arguments(kmodel, module_plan, keras_layers, arguments or {})
        tmodel = build_module(conversion, module_plan, report.constructor)
        report.copied = _transfer(kmodel, tmodel, module_plan, keras_layers)
        inputs = random_inputs(kmodel, rows, seed)
        report.input_shapes = [tuple(x.shape) for x in inputs]
        report.max_diff = compare_predictions(kmodel, tmodel, inputs)
    if report.ok and output is not None:
        write_state_dict(tmodel.state_dict(), Path(output))
        report.output = str(output)
    return report


def imagenet_path(file: str) -> Path:
    """Where the converted script looks for ported ImageNet weights: Keras's cache, $KERAS_HOME/models."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(home) / "models" / file


def port_imagenet(
    script: str | Path, *, rows: int = ROWS, tolerance: float = TOLERANCE, seed: int = 0
) -> list[TrainedReport]:
    """For each keras.applications model ``script`` builds with weights="imagenet": Keras's model with its ImageNet
    weights (Keras downloads and caches the file as it always does), its weights moved into the converted module,
    checked by comparing predictions, and written where the converted script loads them (imagenet_path)."""
    require_frameworks()
    from .parity.capture import quiet_tensorflow, quiet_warnings

    quiet_tensorflow()
    script = Path(script)
    reports = []
    with quiet_warnings():
        conversion = _convert(script)
        modules = [m for m in conversion.plan.modules if m.pretrained is not None]
        if not modules:
            raise TrainedWeightsError(
                f'{script}: builds no keras.applications model with weights="imagenet" that k2t translates'
            )
        keras = _import_keras()
        for module_plan in modules:
            pretrained = module_plan.pretrained
            output = Path(pretrained.output) if pretrained.path_code is not None else imagenet_path(pretrained.file)
            report = TrainedReport(
                f"keras.applications.{pretrained.keras_class} (ImageNet)", str(script), tolerance=tolerance
            )
            try:
                kmodel = getattr(keras.applications, pretrained.keras_class)(**dict(pretrained.keyword_arguments))
            except Exception as exc:  # noqa: BLE001 - a download or a file Keras refuses: the user needs the message
                raise TrainedWeightsError(
                    f"keras.applications.{pretrained.keras_class}: Keras cannot load its ImageNet weights: {type(exc).__name__}: {exc}"
                ) from None
            report.class_name = module_plan.class_name
            tmodel = build_module(conversion, module_plan, {})
            report.copied = _transfer(kmodel, tmodel, module_plan, list(kmodel.layers))
            inputs = random_inputs(kmodel, rows, seed)
            report.input_shapes = [tuple(x.shape) for x in inputs]
            report.max_diff = compare_predictions(kmodel, tmodel, inputs)
            if report.ok:
                write_state_dict(tmodel.state_dict(), output)
                report.output = str(output)
            reports.append(report)
    return reports


# ------------------------------------------------------------------ the steps
def _import_keras():
    """Import Keras with stderr closed at the file-descriptor level: TensorFlow's C++ start-up
    lines (absl, oneDNN) ignore TF_CPP_MIN_LOG_LEVEL. Python errors still raise."""
    import sys

    if "keras" in sys.modules:
        return sys.modules["keras"]
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import keras
        import tensorflow  # noqa: F401 - its C++ runtime logs on first use
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
    return keras


def _load_keras_model(path: Path):
    keras = _import_keras()

    if not path.is_file():
        raise TrainedWeightsError(f"{path}: no such file")
    try:
        return keras.models.load_model(path, compile=False)
    except Exception as exc:  # noqa: BLE001 - Keras raises many kinds; the user needs the message
        raise TrainedWeightsError(f"{path}: Keras cannot load this model file: {type(exc).__name__}: {exc}") from None


def _convert(script: Path):
    from .api import decode_source
    from .parity.instrument import convert

    try:
        decoded = decode_source(script.read_bytes(), str(script))
    except OSError as exc:
        raise TrainedWeightsError(f"{script}: cannot read the script: {exc}") from None
    if not isinstance(decoded, tuple):
        raise TrainedWeightsError(decoded.format())
    source = decoded[0]
    conversion = convert(source, str(script))
    if conversion.output is None:
        raise TrainedWeightsError(f"{script}: not valid Python: " + "; ".join(conversion.diagnostics))
    if not conversion.plan.modules:
        reasons = "; ".join(conversion.diagnostics) or "it builds no Keras model k2t can follow"
        raise TrainedWeightsError(f"{script}: k2t translates no model of this script ({reasons})")
    return conversion


def _keras_classes(kmodel) -> list[str]:
    return [type(layer).__name__ for layer in kmodel.layers if type(layer).__name__ != "InputLayer"]


def _choose_module(conversion, kmodel, class_name: str | None):
    modules = list(conversion.plan.modules)
    if class_name is not None:
        chosen = [m for m in modules if m.class_name == class_name]
        if not chosen:
            raise TrainedWeightsError(
                f"the script has no generated module {class_name} (it has {', '.join(m.class_name for m in modules)})"
            )
        return chosen[0]
    keras_classes = _keras_classes(kmodel)

    def same_layers(module) -> bool:
        planned = [layer.keras_class for layer in module.layers]
        if module.forward_lines is None:
            return planned == keras_classes
        # Functional: pair the graphs (Keras may order model.layers differently; merges may be plain torch ops).
        from .parity.functional import keras_layers_for

        try:
            paired = keras_layers_for(kmodel, module)
        except (KeyError, AttributeError, IndexError, TypeError, ValueError):
            return False
        return [type(layer).__name__ for layer in paired] == planned

    matching = [m for m in modules if same_layers(m)]
    if len(matching) > 1:
        named = [m for m in matching if m.keras_name == kmodel.name]
        matching = named if len(named) == 1 else matching
    if len(matching) == 1:
        return matching[0]
    listing = ", ".join(f"{m.class_name} ({', '.join(layer.keras_class for layer in m.layers)})" for m in modules)
    if not matching:
        raise TrainedWeightsError(
            f"no module of the script has the layers of the Keras model {kmodel.name!r} ({', '.join(keras_classes)}); the script's modules: {listing}"
        )
    raise TrainedWeightsError(
        f"several modules of the script match the Keras model: {listing}; pick one with --class NAME"
    )


def _keras_layers(kmodel, module_plan, functional: bool) -> list:
    if not functional:
        return list(kmodel.layers)
    from .parity.functional import keras_layers_for

    try:
        return keras_layers_for(kmodel, module_plan)
    except (KeyError, AttributeError, IndexError) as exc:
        raise TrainedWeightsError(
            f"the Keras model's graph does not match {module_plan.class_name}'s ({exc})"
        ) from None


def _shape(tensor_or_shape) -> tuple | None:
    shape = getattr(tensor_or_shape, "shape", tensor_or_shape)
    try:
        return tuple(shape)[1:]
    except TypeError:
        return None


def constructor_arguments(kmodel, module_plan, keras_layers: list, given: dict[str, Any]) -> dict[str, Any]:
    """The generated module's constructor arguments, read off the Keras model.

    The plan writes every size it cannot know statically as its parameter's
    name (``["in_features"]``, ``["num_classes"]``); the Keras model has the
    concrete size at the same place. ``given`` wins over what is read.
    """
    names = {p.name for p in module_plan.params}
    found: dict[str, Any] = {}
    conflicts: list[str] = []

    def unify(symbolic, concrete) -> None:
        if concrete is None or len(symbolic) != len(concrete):
            return
        for symbol, size in zip(symbolic, concrete):
            if symbol is None:
                continue  # a size the input shape leaves open (None): no constructor argument
            symbol = symbol.code
            if symbol in names and isinstance(size, int):
                if symbol in found and found[symbol] != size:
                    conflicts.append(f"{symbol} is {found[symbol]} and {size}")
                found.setdefault(symbol, size)

    if module_plan.forward_lines is not None:
        for symbolic, tensor in zip(module_plan.input_shapes, kmodel.inputs):
            unify(symbolic, _shape(tensor))
    else:
        unify(module_plan.input_shape, _shape(kmodel.input_shape))
    for layer, plan in zip(keras_layers, module_plan.layers):
        try:
            concrete = _shape(layer.output)
        except (AttributeError, ValueError):
            concrete = None
        unify(plan.output_shape, concrete)

    arguments: dict[str, Any] = {}
    missing = []
    for param in module_plan.params:
        if param.name in given:
            arguments[param.name] = given[param.name]
        elif param.name in found:
            arguments[param.name] = found[param.name]
        else:
            try:
                arguments[param.name] = ast.literal_eval(param.argument.strip())
            except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
                missing.append(param)
    if conflicts:
        raise TrainedWeightsError(
            f"the Keras model gives {module_plan.class_name}'s constructor two values: {'; '.join(conflicts)}"
        )
    layer_objects = {layer.attr for layer in module_plan.layers if layer.attr}
    for param in [p for p in missing if p.name in layer_objects]:
        # A layer the script builds outside the model (`norm = layers.Normalization()`): built by build_module.
        arguments[param.name] = LayerObject(param.name)
        missing.remove(param)
    if missing:
        unread = missing
        described = ", ".join(f"{p.name} (the script passes {p.argument})" for p in unread)
        raise TrainedWeightsError(
            f"k2t cannot read {module_plan.class_name}'s constructor argument(s) {described} off the Keras model: "
            f"give them with --param NAME=VALUE"
        )
    return arguments


@dataclass(frozen=True)
class LayerObject:
    """A constructor argument that is a layer the script builds itself: ``Net(normalizer=normalizer)``."""

    var: str

    def __repr__(self) -> str:
        return self.var


def build_module(conversion, module_plan, arguments: dict[str, Any]):
    """Define the generated classes and helpers (nothing of the user's script) and construct the module."""
    from .emit import _IMPORTS, _rename_generated, generated_block

    block = _rename_generated(generated_block(conversion.plan), conversion.plan)
    source = "\n".join(statement for _, statement in _IMPORTS) + "\n\n" + block + "\n"
    namespace: dict[str, Any] = {"__name__": "k2t_generated"}
    exec(compile(source, f"<k2t module of {conversion.path}>", "exec"), namespace)  # noqa: S102 - k2t's own generated code
    arguments = {
        key: _layer_object(conversion, value, namespace) if isinstance(value, LayerObject) else value
        for key, value in arguments.items()
    }
    try:
        return namespace[module_plan.class_name](**arguments)
    except Exception as exc:  # noqa: BLE001
        raise TrainedWeightsError(
            f"{module_plan.class_name}({', '.join(f'{k}={v!r}' for k, v in arguments.items())}) failed: {type(exc).__name__}: {exc}"
        ) from None


def _layer_object(conversion, value: LayerObject, namespace: dict[str, Any]):
    """Build a layer object with the generated statement that builds it in the converted script."""
    lines = [
        line for lines in conversion.plan.statements.values() for line in lines if line.startswith(f"{value.var} = ")
    ]
    if len(lines) != 1:
        raise TrainedWeightsError(
            f"k2t cannot find the one statement that builds the layer `{value.var}` the module takes"
        )
    try:
        exec(lines[0], namespace)  # noqa: S102 - k2t's own generated statement, e.g. `norm = Normalization(axis=-1)`
    except Exception as exc:  # noqa: BLE001
        raise TrainedWeightsError(
            f"`{lines[0]}` (the layer the module takes) needs the script's values: {type(exc).__name__}: {exc}"
        ) from None
    return namespace[value.var]


def _transfer(kmodel, tmodel, module_plan, keras_layers) -> list[str]:
    from .weights import WeightTransferError, transfer_weights

    try:
        return transfer_weights(kmodel, tmodel, module_plan, keras_layers)
    except WeightTransferError as exc:
        raise TrainedWeightsError(f"the Keras model's weights do not fit {module_plan.class_name}: {exc}") from None


OPEN_SIZE = 32  # the length random inputs get along an axis the model leaves open (None): a sequence, an image side


def random_inputs(kmodel, rows: int, seed: int) -> list:
    """Standard-normal float32 inputs of each model input's shape; integer ids below input_dim for an Embedding."""
    import numpy as np

    rng = np.random.default_rng(seed)
    inputs = []
    for tensor in kmodel.inputs:
        shape = _shape(tensor)
        if shape is None:
            raise TrainedWeightsError(
                f"the Keras model's input {tensor.name!r} has no fixed rank; k2t weights needs one"
            )
        shape = tuple(OPEN_SIZE if size is None else size for size in shape)  # Input(shape=(None, 8)): any length does
        vocabulary = _embedding_vocabulary(kmodel, tensor)
        if vocabulary is not None:
            inputs.append(rng.integers(0, vocabulary, size=(rows, *shape)).astype("float32"))
        else:
            inputs.append(rng.standard_normal((rows, *shape)).astype("float32"))
    return inputs


def _embedding_vocabulary(kmodel, tensor) -> int | None:
    for layer in kmodel.layers:
        if type(layer).__name__ != "Embedding":
            continue
        try:
            feeds = layer.input is tensor or (len(kmodel.inputs) == 1 and kmodel.layers[0] is layer)
        except (AttributeError, ValueError):
            feeds = False
        if feeds:
            return int(layer.input_dim)
    return None


def _as_list(outputs, names) -> list:
    if isinstance(outputs, dict):
        return [outputs[name] for name in names]
    if isinstance(outputs, (list, tuple)):
        return list(outputs)
    return [outputs]


def compare_predictions(kmodel, tmodel, inputs: list) -> float:
    """Max abs difference of the Keras model's and the module's outputs (inference mode) on ``inputs``."""
    import numpy as np
    import torch

    keras_out = kmodel(inputs if len(inputs) > 1 else inputs[0], training=False)
    keras_out = [np.asarray(o) for o in _as_list(keras_out, list(getattr(kmodel, "output_names", [])))]
    tmodel.eval()
    with torch.no_grad():
        torch_out = tmodel(*[torch.as_tensor(x) for x in inputs])
    torch_out = [o.detach().cpu().numpy() for o in _as_list(torch_out, [])]
    if len(keras_out) != len(torch_out):
        raise TrainedWeightsError(f"the Keras model has {len(keras_out)} output(s), the module {len(torch_out)}")
    diff = 0.0
    for index, (k, t) in enumerate(zip(keras_out, torch_out)):
        if k.shape != t.shape:
            raise TrainedWeightsError(f"output {index}: Keras shape {k.shape}, torch shape {t.shape}")
        if k.size:
            diff = max(diff, float(np.max(np.abs(k.astype(np.float64) - t.astype(np.float64)))))
    return diff


def write_state_dict(state_dict, output: Path) -> None:
    """torch.save to a temporary file beside ``output``, renamed over it: never half-written."""
    import io

    import torch

    from .files import write_atomic

    buffer = io.BytesIO()
    torch.save(state_dict, buffer)
    write_atomic(Path(output), buffer.getvalue())
