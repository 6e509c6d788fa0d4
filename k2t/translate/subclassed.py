"""Subclassed models (``class MyModel(keras.Model)``, k2t.parse.subclassed): translated as Functional graphs.

The parser drops the class where the script makes an instance, as the generated module of the same
name replaces it. A model that did not translate keeps its class: its instance line stays as written
(with its TODO), and must still find the class it names.
"""

from __future__ import annotations

from ..ir import KerasScript, ModelSpec


def keep_model_classes(script: KerasScript, untranslated: list[ModelSpec]) -> None:
    """Put back the classes of the subclassed models that got no generated module."""
    for spec in untranslated:
        node = script.model_classes.get(spec.factory or "")
        if node is not None and spec.graph is not None:
            script.removed.discard(id(node))
