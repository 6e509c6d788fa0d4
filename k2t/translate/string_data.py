"""Strings the script makes into TensorFlow tensors at its top level, for a text model::

    texts = tf.constant(["the cat sat", "a dog ran"])   # or tf.convert_to_tensor([...]), keras.ops.convert_to_tensor
    vectorize.adapt(texts)
    model.fit(texts, labels)
    print(model.predict(tf.convert_to_tensor(["the cat ran"])))
    probabilities = end_to_end_model(keras.ops.convert_to_tensor([["the cat ran"]]))

torch has no string tensor. The converted text layers (TextVectorization, StringLookup) and the generated
fit / evaluate / predict take a NumPy array of strings, so such a call becomes ``np.array([...])``, where
every use of it is one of those: an argument of fit, evaluate, predict, adapt or a ``*_on_batch`` method,
or of a call of a model the script holds (its generated inference call takes the model's data, preprocessed
on the host), directly or through a name the script binds once. Anywhere else (``tf.strings.length(texts)``) the op
row refuses the strings (k2t.ops.creation), which the script-ops rewrite reports at the call.
"""

from __future__ import annotations

import ast
from collections.abc import Callable

import libcst as cst

from ..cst_walk import Visitor, module_syntax
from ..cst_walk import parents as node_parents
from ..ops.creation import is_string_literal
from ..parse.syntax import calls_in

# The ops that make a tensor of the strings they are given (Keras 2's K.constant casts to floatx: no strings).
STRING_TENSOR_OPS = frozenset({"tensorflow.constant", "tensorflow.convert_to_tensor", "keras.ops.convert_to_tensor"})
# Methods that take the strings as the data of a text model: Keras's and the converted ones.
_TEXT_DATA_METHODS = frozenset(
    {"fit", "evaluate", "predict", "adapt", "train_on_batch", "test_on_batch", "predict_on_batch"}
)
_STRING_DTYPES = frozenset({"tf.string", "tensorflow.string", '"string"', "'string'"})
_EMPTY = cst.Module(body=[])


def host_string_calls(
    module: cst.Module,
    lines: list[cst.SimpleStatementLine],
    keras_name: Callable[[cst.CSTNode], str | None],
    models: frozenset[str] = frozenset(),
) -> dict[int, tuple[cst.Call, str]]:
    """id() of each top-level line -> (the call, its NumPy code) for the string tensors k2t keeps as arrays
    (``models``: the names of the script's models, whose calls take their data as predict does)."""
    parents = node_parents(module)
    loads = _loads(module)
    bound_once = _bound_once(module)
    found: dict[int, tuple[cst.Call, str]] = {}
    for line in lines:
        if len(line.body) != 1:
            continue
        small = line.body[0]
        value = small.value if isinstance(small, (cst.Assign, cst.Expr)) else None
        for call in calls_in(small):
            data = _string_data(call, keras_name)
            if data is None:
                continue
            if isinstance(small, cst.Assign) and value is call:
                target = small.targets[0].target if len(small.targets) == 1 else None
                uses = (
                    loads.get(target.value, []) if isinstance(target, cst.Name) and target.value in bound_once else None
                )
                if not uses or not all(_feeds_text_data(use, parents, models) for use in uses):
                    continue
            elif not _feeds_text_data(call, parents, models):
                continue
            found[id(line)] = (call, f"np.array({data})")
    return found


def _string_data(call: cst.Call, keras_name: Callable[[cst.CSTNode], str | None]) -> str | None:
    """The strings' code of ``tf.constant([...])`` (one value, a string dtype at most); None otherwise."""
    if (
        keras_name(call.func) not in STRING_TENSOR_OPS
        or not call.args
        or call.args[0].keyword not in (None,)
        or call.args[0].star
    ):
        return None
    for arg in call.args[1:]:
        keyword = arg.keyword.value if arg.keyword is not None else None
        code = _EMPTY.code_for_node(arg.value).strip()
        if keyword == "name" or (keyword in ("dtype", None) and code in _STRING_DTYPES):
            continue
        return None
    data = _EMPTY.code_for_node(call.args[0].value).strip()
    return data if is_string_literal(data) else None


def _feeds_text_data(node: cst.CSTNode, parents: dict[int, cst.CSTNode], models: frozenset[str]) -> bool:
    """``model.predict(node)``, ``vectorize.adapt(node)``, ``model.fit(node, y)``: an argument of such a method;
    ``model(node)`` of a model named in ``models``."""
    arg = parents.get(id(node))
    call = parents.get(id(arg)) if isinstance(arg, cst.Arg) else None
    if not isinstance(call, cst.Call) or arg.star != "":
        return False
    if isinstance(call.func, cst.Name):
        return call.func.value in models and arg.keyword is None
    return isinstance(call.func, cst.Attribute) and call.func.attr.value in _TEXT_DATA_METHODS


def _loads(module: cst.Module) -> dict[str, list[cst.Name]]:
    """Every Name of the module that is not an assignment's target, by name (a read, as far as k2t cares)."""
    targets: set[int] = set()
    names: dict[str, list[cst.Name]] = {}

    class Finder(Visitor):
        def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
            targets.add(id(node.target))

        def visit_Attribute(self, node: cst.Attribute) -> None:
            targets.add(id(node.attr))  # `x.texts` reads no name `texts`

        def visit_Arg(self, node: cst.Arg) -> None:
            if node.keyword is not None:
                targets.add(id(node.keyword))

        def visit_Name(self, node: cst.Name) -> None:
            if id(node) not in targets:
                names.setdefault(node.value, []).append(node)

    module.visit(Finder())
    return names


def _bound_once(module: cst.Module) -> set[str]:
    """The names one statement of the whole script binds (no other assignment, loop, def, import or parameter)."""
    counts: dict[str, int] = {}
    for node in ast.walk(module_syntax(module)):
        bound: list[str] = []
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            bound.append(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.append(node.name)
        elif isinstance(node, ast.arg):
            bound.append(node.arg)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound += [(alias.asname or alias.name).split(".")[0] for alias in node.names]
        for name in bound:
            counts[name] = counts.get(name, 0) + 1
    return {name for name, count in counts.items() if count == 1}
