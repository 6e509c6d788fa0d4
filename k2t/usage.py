"""Where a source still uses Keras or TensorFlow at all (`k2t check --no-keras`).

Three things fail the gate, each reported where it is:

- an import of Keras or TensorFlow (K2T200);
- a Keras/TensorFlow name used without being defined (K2T200): an output whose
  imports are gone but whose ``keras.layers.Dense(...)`` or ``tf.`` calls
  remain would raise NameError, so it is not a finished migration either;
- a ``# TODO(k2t)`` marker, left where k2t could not convert something (K2T201).

The interpreter's own parser and tokenizer are enough: no libcst needed.
"""

from __future__ import annotations

import ast
import builtins
import io
import tokenize

from .api import keras_imports, mentions_keras, parse_python
from .diagnostics import Diagnostic
from .names import canonical_name, is_keras, is_tensorflow

# The spellings scripts give Keras and TensorFlow (modules, their usual aliases, the classes every
# script names): one of these used and defined nowhere in the file is Keras code whose import is gone.
KERAS_SPELLINGS = frozenset(
    {
        "keras",
        "tensorflow",
        "tf",
        "tf_keras",
        "K",
        "layers",
        "models",
        "optimizers",
        "losses",
        "callbacks",
        "regularizers",
        "initializers",
        "activations",
        "Sequential",
        "Model",
        "Input",
    }
)
TODO_MARKER = "TODO(k2t)"
_ALWAYS_DEFINED = frozenset(dir(builtins)) | {
    "__file__",
    "__name__",
    "__doc__",
    "__spec__",
    "__loader__",
    "__builtins__",
}


def _is_keras_module(name: str) -> bool:
    canonical = canonical_name(name)
    return is_keras(canonical) or is_tensorflow(canonical) or name.split(".")[0] in ("tf_keras", "keras")


def keras_usage(source: str, filename: str = "<string>") -> tuple[Diagnostic, ...]:
    """K2T200 per Keras/TensorFlow import or undefined use, K2T201 per TODO(k2t) marker (K2T002 if not Python)."""
    tree = parse_python(source, filename)
    if isinstance(tree, Diagnostic):
        return (tree,)
    found = _imports(tree, filename) if mentions_keras(source) else []
    found += _undefined_uses(tree, filename)
    if TODO_MARKER in source:
        found += _todo_markers(source, filename)
    return tuple(sorted(set(found), key=lambda d: (d.line, d.column, d.code)))


def _imports(tree: ast.Module, filename: str) -> list[Diagnostic]:
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
    return found


def _undefined_uses(tree: ast.Module, filename: str) -> list[Diagnostic]:
    """Uses of a Keras spelling that nothing in the file binds.

    A name bound anywhere in the file counts as defined (no scope analysis: the
    gate never reports a name Python would find), and a star import from
    elsewhere could bind anything, so it silences this check.
    """
    spelled = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in KERAS_SPELLINGS
    ]
    if not spelled:
        return []
    bound = bound_names(tree)
    uses = [name for name in spelled if name.id not in bound and name.id not in _ALWAYS_DEFINED]
    if not uses or "*" in bound:
        return []
    parents = {id(child): node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found = []
    for name in uses:
        message = f"Keras/TensorFlow still used: `{_dotted(name, parents)}`, and `{name.id}` is not defined (its import is gone)"
        found.append(Diagnostic(filename, name.lineno, name.col_offset + 1, "K2T200", message))
    return found


def _dotted(name: ast.Name, parents: dict[int, ast.AST]) -> str:
    """``keras.layers.Dense`` for the ``keras`` of ``keras.layers.Dense(3)``."""
    text, node = name.id, name
    parent = parents.get(id(node))
    while isinstance(parent, ast.Attribute) and parent.value is node:
        text += "." + parent.attr
        node, parent = parent, parents.get(id(parent))
    return text


def bound_names(tree: ast.AST) -> set[str]:
    """Every name the code binds in any scope ("*" when it star-imports)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.alias):
            names.add(node.asname or node.name.split(".")[0])
        elif isinstance(node, (ast.ExceptHandler, ast.MatchAs, ast.MatchStar)) and node.name:
            names.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            names.add(node.rest)
    return names


def _todo_markers(source: str, filename: str) -> list[Diagnostic]:
    """One K2T201 per ``# TODO(k2t)`` comment (a marker in a string is not one)."""
    found = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.COMMENT and TODO_MARKER in token.string:
                what = token.string.split(TODO_MARKER, 1)[1].lstrip(": ").strip()
                message = f"{TODO_MARKER} marker left: {what or 'unfinished conversion'}"
                found.append(Diagnostic(filename, token.start[0], token.start[1] + 1, "K2T201", message))
    except (tokenize.TokenError, SyntaxError):  # the parser accepted it; the tokenizer should too
        pass
    return found
