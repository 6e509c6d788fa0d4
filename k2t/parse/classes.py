"""Classes of the script that k2t translates as a whole: ``class Attention(keras.layers.Layer)``.

A top-level class whose one base is Keras's ``Layer`` is recorded (KerasScript.layer_classes); from
there on its name resolves like a Keras layer (``Attention()(h)``, ``Sequential([MyDense(16)])``) to
``keras.layers.Layer``, and the call carries the class (KerasCall.layer_class) for its converter
(k2t.translate.custom_layers). A class defined inside a function, or with other bases, is not recorded.
"""

from __future__ import annotations

from collections.abc import Callable

import libcst as cst

from ..ir import KerasScript, LayerClass, Pos

LAYER_BASE = "keras.layers.Layer"
_LAYER_BASES = frozenset({LAYER_BASE, "keras.Layer", "keras.engine.base_layer.Layer", "keras.engine.Layer"})


def layer_class(
    node: cst.ClassDef, script: KerasScript, keras_name: Callable[[cst.CSTNode], str | None], pos: Pos
) -> LayerClass | None:
    """The class as a custom layer when its only base is Keras's Layer (any import spelling), else None."""
    if len(node.bases) != 1 or node.keywords:
        return None
    base = node.bases[0]
    if base.keyword is not None or base.star or keras_name(base.value) not in _LAYER_BASES:
        return None
    return LayerClass(node, base, node.name.value, pos, script)
