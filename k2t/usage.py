"""Where a source still uses Keras or TensorFlow at all (`k2t check --no-keras`).

Every use of Keras starts with an import, so the imports are what is reported.
The interpreter's own parser is enough: no libcst needed.
"""

from __future__ import annotations

import ast

from .api import keras_imports, mentions_keras, parse_python
from .diagnostics import Diagnostic
from .names import canonical_name, is_keras, is_tensorflow


def _is_keras_module(name: str) -> bool:
    canonical = canonical_name(name)
    return is_keras(canonical) or is_tensorflow(canonical) or name.split(".")[0] in ("tf_keras", "keras")


def keras_usage(source: str, filename: str = "<string>") -> tuple[Diagnostic, ...]:
    """One K2T200 diagnostic per import of Keras or TensorFlow (K2T002 if not Python)."""
    tree = parse_python(source, filename)
    if isinstance(tree, Diagnostic):
        return (tree,)
    if not mentions_keras(source):
        return ()
    found = []
    for node in keras_imports(tree):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        else:
            modules = [node.module] if node.level == 0 and node.module else []
        for module in modules:
            if _is_keras_module(module):
                message = f"Keras/TensorFlow still used: import of {module}"
                found.append(Diagnostic(filename, node.lineno, node.col_offset + 1, "K2T200", message))
    return tuple(sorted(found, key=lambda d: (d.line, d.column)))
