"""An Embedding the script builds and fills before a model uses it (keras.io's pretrained word embeddings)::

    embedding_layer = Embedding(num_tokens, embedding_dim, trainable=False)
    embedding_layer.build((1,))
    embedding_layer.set_weights([embedding_matrix])
    ...
    embedded_sequences = embedding_layer(int_sequences_input)

Keras builds the layer's matrix and copies ``embedding_matrix`` into it; the
model then holds that layer. That is ``Embedding(num_tokens, embedding_dim,
trainable=False, weights=[embedding_matrix])``, which k2t translates (the
module starts from the matrix, k2t.translate.recurrent): the two statements
fold into the layer, which its models take as any layer.

Only at the top level, each a statement of its own, and before anything else
reads the layer: a ``set_weights`` after a model took the layer would change
that model's weights, which this fold would not.
"""

from __future__ import annotations

import dataclasses

import libcst as cst

from ..cst_walk import bare_names
from .scope import _Scope
from .syntax import _mark_subtree, lone_call

# Calls on an Embedding layer object that the fold takes, as statements of their own.
SETUP_METHODS = ("build", "set_weights")


def embedding_setup(parser, statement: cst.CSTNode, small: cst.BaseSmallStatement, scope: _Scope) -> bool:
    """``embedding_layer.build(shape)`` / ``embedding_layer.set_weights([matrix])`` folded into the layer's call;
    False where the statement is no such call (the caller reports it as any other use of the layer)."""
    node = small.value if isinstance(small, cst.Expr) else None
    func = node.func if isinstance(node, cst.Call) else None
    if not (
        isinstance(func, cst.Attribute)
        and isinstance(func.value, cst.Name)
        and func.attr.value in SETUP_METHODS
        and scope.parent is None
        and _is_setup(statement, func.value.value)
    ):
        return False
    var = func.value.value
    held = scope.layer_object(var)
    if held is None or held[0].name != "keras.layers.Embedding" or held[0].bound is None:
        return False
    layer, key, binding = held
    if not _only_setup_since(parser.module, binding, statement, var):
        return False
    if func.attr.value == "set_weights":
        matrix = _one_matrix(node)
        if matrix is None or layer.kwarg("weights") is not None:
            return False  # set_weights(weights) of a name, or a second matrix: reported as a use of the layer
        weights = parser.value(matrix, scope)
        layer = dataclasses.replace(layer, kwargs=(*layer.kwargs, ("weights", weights)))
        layer.bound.call = dataclasses.replace(layer, bound=None)
        scope.layer_objects[var] = (layer, key, binding)
    _mark_subtree(node, parser.consumed)
    parser.script.removed.add(id(statement))
    return True


def _one_matrix(call: cst.Call) -> cst.BaseExpression | None:
    """``[matrix]`` of ``set_weights([matrix])``: an Embedding has one weight."""
    if len(call.args) != 1 or call.args[0].keyword is not None or call.args[0].star:
        return None
    given = call.args[0].value
    if not isinstance(given, (cst.List, cst.Tuple)) or len(given.elements) != 1:
        return None
    element = given.elements[0]
    return None if isinstance(element, cst.StarredElement) else element.value


def _only_setup_since(module: cst.Module, binding: cst.CSTNode, statement: cst.CSTNode, var: str) -> bool:
    """Whether the top-level statements between the layer's binding and ``statement`` read ``var`` only in setup
    calls of their own (a model built in between would hold the layer before its weights are set)."""
    body = list(module.body)
    try:
        start, end = body.index(binding), body.index(statement)
    except ValueError:
        return False
    for between in body[start + 1 : end]:
        if var in bare_names(between) and not _is_setup(between, var):
            return False
    return True


def _is_setup(statement: cst.CSTNode, var: str) -> bool:
    call = lone_call(statement)
    return (
        call is not None
        and isinstance(call.func, cst.Attribute)
        and isinstance(call.func.value, cst.Name)
        and call.func.value.value == var
        and call.func.attr.value in SETUP_METHODS
    )
