"""``layer(x, training=True)`` (or ``False``) in a Functional model: when Keras 3 honours the flag.

Keras 3's Functional model hands the mode of its own call to every layer of its graph, over the flag
the script wrote at the layer's call (``keras.src.models.functional.operation_fn``: a ``training``
that is not None wins; keras-team/keras#20285). ``fit`` calls the model with ``training=True``,
``evaluate`` and ``predict`` with ``training=False``, so there Monte-Carlo dropout
(``layers.Dropout(0.5)(x, training=True)``) is off in ``predict`` and the transfer-learning recipe's
``base_model(x, training=False)`` trains an unfrozen base's BatchNormalization on batch statistics:
the torch module following ``model.train()`` / ``model.eval()`` is what Keras computes. Only a call
of the model that gives no mode, ``preds = model(x)``, runs each flagged layer in its own mode, and
each other layer in its call's default: inference, but for the augmentation layers (``RandomFlip`` and
the others: ``BaseImagePreprocessingLayer.call(data, training=True)``), which transform the images, so
that ``data_augmentation(images)`` in a tf.data map augments. The generated module lists those layers
(``modes_without_training``) and ``call_model`` sets them.
"""

from __future__ import annotations

from ..diagnostics import Unsupported
from ..ir import TensorNode
from .plan import LayerPlan, ModulePlan
from .registry import AUGMENTATION_LAYERS


def explicit_training(node: TensorNode) -> bool | None:
    """The mode the layer call fixes, None when it leaves the layer to follow the model."""
    if node.training is None:
        return None
    if not isinstance(node.training.literal, bool):
        message = (
            f"`training={node.training.code}` in a layer call is not translated: k2t follows a literal True or False"
        )
        raise Unsupported("K2T102", message, node.training.pos)
    return node.training.literal


def explicit_training_modes(node_plans: list[tuple[TensorNode, LayerPlan | None]]) -> dict[str, bool]:
    """{submodule path: mode} of the layers called with a literal ``training=``, once block classes have
    placed them (a layer inside a block is ``block.dropout``). A layer with no submodule (Flatten, an
    activation) computes the same in either mode."""
    modes: dict[str, bool] = {}
    calls: dict[str, list[TensorNode]] = {}
    for node, plan in node_plans:
        if plan is not None and plan.attr:
            calls.setdefault(plan.attr, []).append(node)
    for attr, nodes in calls.items():
        flags = {explicit_training(node) for node in nodes}
        if flags == {None}:
            continue
        if len(flags) > 1:
            # One torch submodule holds one mode; Keras's calls of a shared layer each keep their own flag.
            flagged = next(node for node in nodes if node.training is not None)
            raise Unsupported(
                "K2T102",
                "a shared layer called with training= differing between its calls is not translated",
                flagged.pos,
            )
        modes[attr] = flags.pop()
    return modes


def modes_without_training(module: ModulePlan) -> dict[str, bool]:
    """{submodule path: mode} of the layers that run other than in inference mode when the model is called
    without a mode: the augmentation layers (their call's default is training=True), then the flagged ones."""
    modes = {layer.attr: True for layer in module.layers if layer.attr and layer.keras_class in AUGMENTATION_LAYERS}
    return {**modes, **module.explicit_training}
