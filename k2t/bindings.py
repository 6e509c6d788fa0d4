"""Whether the value one statement binds to a name is read before the name is bound again.

``decoded = layers.Dense(64)(encoded)`` followed by ``decoded = layers.Dense(784)(encoded)``: the first
value is never read (Keras builds the model from the last one and computes nothing with the first). The
name alone is read further on, so a check by name keeps both. This follows the statements after the
binding in its own block, as Python runs them, where that is straight-line code: the module's body or a
function's. Anywhere it cannot tell (the binding or a later one inside a loop or a branch, a function or
lambda that reads the name as a global), it says so.
"""

from __future__ import annotations

import ast
import textwrap

import libcst as cst

from .cst_walk import module_syntax, parents


def read_later(module: cst.Module, statement: cst.CSTNode, name: str) -> bool | None:
    """True where code after ``statement`` reads the value it binds to ``name``, False where the name is bound
    again first (or the block ends) without a read, None where k2t cannot tell."""
    above = parents(module)
    block = above.get(id(statement))
    if isinstance(block, cst.Module):
        body = block.body
        if _read_by_a_function(module, name):
            return None  # a function of the script may read the global whenever it is called
    elif isinstance(block, cst.IndentedBlock) and isinstance(above.get(id(block)), cst.FunctionDef):
        body = block.body
    else:
        return None
    index = next((i for i, s in enumerate(body) if s is statement), None)
    if index is None:
        return None
    for later in body[index + 1 :]:
        loads, stores = _names(module.code_for_node(later))
        if loads is None:
            return None
        if name in loads:
            return True
        if name in stores:
            return False if isinstance(later, cst.SimpleStatementLine) else None
    return False


def _names(code: str) -> tuple[set[str] | None, set[str]]:
    """The names a statement reads and binds (an augmented assignment's target reads it too)."""
    try:
        tree = ast.parse(textwrap.dedent(code))
    except SyntaxError:
        return None, set()
    loads: set[str] = set()
    stores: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (loads if isinstance(node.ctx, ast.Load) else stores).add(node.id)
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            loads.add(node.target.id)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            loads.update(node.names)
    return loads, stores


def _read_by_a_function(module: cst.Module, name: str) -> bool:
    for node in ast.walk(module_syntax(module)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            inner = node.body if isinstance(node.body, list) else [node.body]
            for part in inner:
                if any(
                    isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Load) for n in ast.walk(part)
                ):
                    return True
    return False
