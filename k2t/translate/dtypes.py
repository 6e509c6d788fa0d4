"""Which arrays a converted script hands its model as integers, and which as float32.

Keras hands a model float32 unless an array feeds a layer that reads integers:
an Embedding looks its rows up by id, and a sparse crossentropy reads class
indices. Those stay int64 in the converted script (torch's index type), so that
ids above 2**24 are not rounded on the way and no float copy of them is made.
"""

from __future__ import annotations

from .plan import LayerPlan, ModulePlan

FLOAT = "np.float32"
INTEGER = "np.int64"

# Layers whose input is a table index: Keras casts it to an integer (so does the converted forward).
_READS_IDS = frozenset({"Embedding"})
# Losses that read the targets as class indices (their templates, with and without logits).
_SPARSE_LOSS_TEMPLATES = (
    "losses/sparse_categorical_crossentropy.py.j2",
    "losses/sparse_categorical_crossentropy_from_logits.py.j2",
)


def input_dtypes(module: ModulePlan) -> list[str]:
    """The NumPy dtype of each of the model's inputs, in forward() order."""
    if module.graph is None:  # Sequential: its first layer reads the input
        first = next((layer for layer in module.layers if not layer.todo), None)
        return [INTEGER if first is not None and _reads_ids(first) else FLOAT]
    dtypes = []
    for node in module.graph.inputs:
        readers = [plan for reader, plan in module.node_plans if any(parent is node for parent in reader.inputs)]
        # A merge layer (no plan) or a plain layer among the readers needs floats.
        integer = bool(readers) and all(plan is not None and _reads_ids(plan) for plan in readers)
        dtypes.append(INTEGER if integer else FLOAT)
    return dtypes


def _reads_ids(layer: LayerPlan) -> bool:
    if layer.nested is not None:
        return input_dtypes(layer.nested) == [INTEGER]
    return layer.keras_class in _READS_IDS


def target_dtype(loss_template: str) -> str:
    """The NumPy dtype of the targets a loss (by its template) reads."""
    return INTEGER if loss_template in _SPARSE_LOSS_TEMPLATES else FLOAT
