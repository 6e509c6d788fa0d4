"""Classes of the script that k2t translates as a whole: ``class Attention(keras.layers.Layer)``.

A top-level class whose one base is Keras's ``Layer`` is recorded (KerasScript.layer_classes); from
there on its name resolves like a Keras layer (``Attention()(h)``, ``Sequential([MyDense(16)])``) to
``keras.layers.Layer``, and the call carries the class (KerasCall.layer_class) for its converter
(k2t.translate.custom_layers). So is a class whose one base is such a class of the script, defined
before it (``class Shifted(Base)``: LayerClass.parent), or one of Keras's own layers (``class
ClippedDense(layers.Dense)``: LayerClass.keras_base). A class defined inside a function, or with
other bases, is not recorded.
"""

from __future__ import annotations

from collections.abc import Callable

import libcst as cst

from ..ir import KerasScript, LayerClass, Pos

LAYER_BASE = "keras.layers.Layer"
# Keras's Layer under each path it had: Keras 1 exported it from keras.layers.core and keras.engine.topology too.
_LAYER_BASES = frozenset(
    {
        LAYER_BASE,
        "keras.Layer",
        "keras.engine.base_layer.Layer",
        "keras.engine.Layer",
        "keras.engine.topology.Layer",
        "keras.layers.core.Layer",
    }
)
# Keras's classes under keras.layers that are no layer of their own to subclass as one (a cell, a wrapper, a spec).
_NOT_LAYERS = frozenset({"InputSpec", "InputLayer", "Wrapper", "AbstractRNNCell", "RNN", "StackedRNNCells"})


def layer_class(
    node: cst.ClassDef, script: KerasScript, keras_name: Callable[[cst.CSTNode], str | None], pos: Pos
) -> LayerClass | None:
    """The class as a custom layer when its only base is Keras's Layer (any import spelling), one of Keras's layers
    or a layer class of the script, else None."""
    if len(node.bases) != 1 or node.keywords:
        return None
    base = node.bases[0]
    if base.keyword is not None or base.star:
        return None
    if isinstance(base.value, cst.Name) and base.value.value in script.layer_classes:
        parent = script.layer_classes[base.value.value]
        return LayerClass(node, base, node.name.value, pos, script, parent=parent)
    name = keras_name(base.value)
    if name in _LAYER_BASES:
        return LayerClass(node, base, node.name.value, pos, script)
    short = name.rsplit(".", 1)[-1] if name is not None else ""
    if name is not None and name.startswith("keras.layers.") and short[:1].isupper() and short not in _NOT_LAYERS:
        return LayerClass(node, base, node.name.value, pos, script, keras_base=name)
    return None
