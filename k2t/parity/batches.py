"""``--exact`` on a fit over batches: a tf.data.Dataset, a generator or a keras.utils.Sequence / PyDataset.

Each side trains on its own data object (the Keras script's dataset, the converted script's
ArrayDataset; each script's own generator or Sequence), so the comparison holds when both give the
same batches in the same order. What makes that so: fit's shuffle off on both sides (a Sequence's
batch order); tf.data's ``.shuffle(...)`` switched off on both sides (exact.py's
``_no_dataset_shuffle`` for Keras, the converted pipeline's ``_buffer_order`` here); and the first
batch of each side compared value for value. A generator is read once: its first batch is put back in
front of the rest, so fit sees every batch.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

BATCH_TOL = 1e-6  # max abs diff of the two sides' first batches


class BatchesUnavailable(RuntimeError):
    """The batches cannot be compared exactly; the message says why."""


def first_batches(report, kcap, kargs: dict, tcap, targs: dict, shuffles: list[int]) -> tuple[dict, dict, Any, Any]:
    """(Keras fit's data arguments, torch fit's data arguments, first batch's inputs, its targets).

    ``shuffles``: the Keras script's tf.data shuffle calls that were switched off. Records notes and
    first-batch differences in ``report``; raises exact._Stop when the comparison cannot be exact.
    """
    from .exact import _Stop

    torch_name = _torch_data_name(targs)
    torch_value = targs.get(torch_name) if torch_name else None
    if torch_value is None:
        raise _Stop("the generated fit takes no batches: the Keras fit's data has no counterpart to compare")
    script_names = getattr(tcap.function, "__globals__", {})
    if shuffles:
        if "_buffer_order" not in script_names:
            raise _Stop(
                f"cannot be exact: the Keras pipeline shuffles (.shuffle, {len(shuffles)} call(s)) and the "
                "converted script has no shuffle order to switch off"
            )
        report.notes.append(
            f"tf.data .shuffle(...) switched off on both sides ({len(shuffles)} call(s)): batches in the pipeline's order"
        )
    if "_buffer_order" in script_names:
        script_names["_buffer_order"] = _unshuffled_order
    switched_off = _converted_augmentation_off(script_names)
    if switched_off:
        report.notes.append(
            f"augmentation ({', '.join(switched_off)}) runs as at inference on both sides, the pipeline's too"
        )
    try:
        keras_first, keras_data = _peek(kargs["x"])
        torch_first, torch_value = _peek(torch_value)
        keras_again, _ = _peek_again(kargs["x"]), _peek_again(torch_value)
    except BatchesUnavailable as exc:
        raise _Stop(str(exc)) from None
    random_ops = _random_ops(kargs["x"])
    if random_ops:
        raise _Stop(
            f"cannot be exact: the Keras pipeline draws random numbers ({', '.join(random_ops)} in its graph, "
            "such as tf.random or an augmentation layer in a .map): TensorFlow's random stream is not torch's"
        )
    if keras_again is not None and _difference(_numpy(keras_first), _numpy(keras_again)):
        raise _Stop(
            f"cannot be exact: the Keras {type(kargs['x']).__name__} gives another first batch on each pass "
            "(random draws in the pipeline, such as tf.random in a .map): TensorFlow's random stream is not torch's"
        )
    kx, ky = _inputs_and_targets(keras_first, "Keras")
    tx, ty = _inputs_and_targets(torch_first, "torch")
    for label, keras_part, torch_part in (("x", kx, tx), ("y", ky, ty)):
        problem = _difference(keras_part, torch_part)
        if problem:
            report.failures.append(f"first batch {label}: {problem}")
    report.notes.append(
        f"fit on {type(kargs['x']).__name__} (torch: {type(torch_value).__name__}): "
        f"layers compared on its first batch, x {_describe(kx)}, y {_describe(ky)}"
    )
    return {"x": keras_data}, {torch_name: torch_value}, kx, ky


def _random_ops(data) -> list[str]:
    """The random ops of a tf.data pipeline's graph (its map functions' too); [] for other data or no graph.

    A random op with a global seed draws the same numbers on each pass, so reading the pipeline twice
    does not show it; its graph does. The switched-off .shuffle leaves no op.
    """
    serialize = getattr(data, "_as_serialized_graph", None)
    if serialize is None:
        return []
    try:
        from tensorflow.core.framework import graph_pb2

        graph = graph_pb2.GraphDef.FromString(serialize().numpy())
    except Exception:  # noqa: BLE001 - a pipeline TensorFlow cannot serialize (a py_function): read twice instead
        return []
    ops = {node.op for node in graph.node} | {node.op for f in graph.library.function for node in f.node_def}
    return sorted(op for op in ops if "Random" in op)


def _torch_data_name(targs: dict) -> str | None:
    """The generated fit's data parameter: the first after the model and its optimizer (``batches``, ``x``)."""
    names = [name for name in targs if name not in ("model", "optimizer")]
    names = names if "model" in targs else names[2:]
    return names[0] if names else None


def _converted_augmentation_off(script_names: dict) -> list[str]:
    """The converted script's augmentation modules become the identity (a .map runs them lazily, in fit).

    The Keras side's were switched off before its script built its pipeline (exact.py).
    """
    from ..translate.registry import AUGMENTATION_LAYERS
    from .exact import _identity

    names = []
    for name, value in list(script_names.items()):
        if isinstance(value, type) and name.startswith(AUGMENTATION_LAYERS) and hasattr(value, "forward"):
            value.forward = lambda self, x, *args, **kwargs: _identity(x)
            names.append(name)
    return sorted(names)


def _unshuffled_order(count, buffer_size, generator):
    """The converted ArrayDataset's shuffle order, switched off: the elements as they come."""
    import torch

    return torch.arange(count)


def _peek(data) -> tuple[Any, Any]:
    """(first batch, the data to give fit): an iterator's first batch is put back in front of the rest."""
    if _indexed(data):
        if len(data) == 0:
            raise BatchesUnavailable(f"the {type(data).__name__} given to fit has no batches")
        return data[0], data
    if iter(data) is data:  # a generator or iterator: read once
        first = next(data, _END)
        if first is _END:
            raise BatchesUnavailable(f"the {type(data).__name__} given to fit yields no batch")
        return first, _replay(first, data)
    first = next(iter(data), _END)  # a dataset: each iter() starts a new pass
    if first is _END:
        raise BatchesUnavailable(f"the {type(data).__name__} given to fit has no batches")
    return first, data


_END = object()


def _peek_again(data) -> Any:
    """The first batch of a second pass over a dataset or Sequence (None for a generator, read once).

    Both sides are read twice, so that Python-side random draws (numpy in a Sequence) stay in step.
    """
    if not _indexed(data) and iter(data) is data:
        return None
    return _peek(data)[0]


def _indexed(data) -> bool:
    return hasattr(data, "__getitem__") and hasattr(data, "__len__") and not _is_dataset(data)


def _is_dataset(data) -> bool:
    return type(data).__name__.endswith("Dataset") and hasattr(data, "__iter__") and not hasattr(data, "on_epoch_end")


def _replay(first, rest: Iterator) -> Iterator:
    yield first
    yield from rest


def _inputs_and_targets(batch, side: str) -> tuple[Any, Any]:
    from .exact import _Stop

    if not isinstance(batch, (tuple, list)) or len(batch) not in (2, 3):
        raise _Stop(f"{side}'s first batch is a {type(batch).__name__}, not an (inputs, targets[, weights]) tuple")
    return _numpy(batch[0]), _numpy(batch[1])


def _numpy(value):
    import numpy as np

    if isinstance(value, dict):
        return {key: _numpy(item) for key, item in value.items()}
    if isinstance(value, (tuple, list)):
        return [_numpy(item) for item in value]
    if hasattr(value, "detach"):
        return value.detach().cpu().numpy()
    if hasattr(value, "numpy"):
        return value.numpy()
    return np.asarray(value)


def _difference(keras_value, torch_value) -> str:
    """'' when the two sides' parts of a batch agree, else what differs."""
    import numpy as np

    if isinstance(keras_value, dict) or isinstance(torch_value, dict):
        if not (isinstance(keras_value, dict) and isinstance(torch_value, dict)) or set(keras_value) != set(
            torch_value
        ):
            return "Keras and torch batches have different structures"
        return next((p for p in (_difference(keras_value[k], torch_value[k]) for k in keras_value) if p), "")
    if isinstance(keras_value, list) or isinstance(torch_value, list):
        if not (isinstance(keras_value, list) and isinstance(torch_value, list)) or len(keras_value) != len(
            torch_value
        ):
            return "Keras and torch batches have different structures"
        return next((p for p in map(_difference, keras_value, torch_value) if p), "")
    kv, tv = np.asarray(keras_value), np.asarray(torch_value)
    if kv.shape != tv.shape:
        return f"Keras shape {kv.shape}, torch shape {tv.shape}"
    try:
        diff = float(np.max(np.abs(kv.astype(np.float64) - tv.astype(np.float64)))) if kv.size else 0.0
    except (TypeError, ValueError):
        diff = 0.0 if np.array_equal(kv, tv) else math.inf
    return "" if diff <= BATCH_TOL else f"Keras and torch batches differ (max abs diff {diff:.3g})"


def _describe(value) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_describe(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_describe(v) for v in value) + "]"
    return f"{tuple(value.shape)} {value.dtype}"
