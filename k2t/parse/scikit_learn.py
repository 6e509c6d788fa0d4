"""Keras 2's scikit-learn wrappers (``keras.wrappers.scikit_learn.KerasClassifier`` / ``KerasRegressor``) around a
function of the script that builds and compiles a model: recorded for k2t.translate.scikit_learn."""

from __future__ import annotations

from typing import TYPE_CHECKING

import libcst as cst
from libcst.metadata import QualifiedNameSource

from ..diagnostics import Severity
from ..ir import ScikitLearnWrapper, Todo
from .scope import _Scope
from .syntax import _mark_subtree

if TYPE_CHECKING:
    from .parser import _Parser

WRAPPERS = {f"keras.wrappers.scikit_learn.{kind}": kind for kind in ("KerasClassifier", "KerasRegressor")}

# Keras 2's wrapper passes `nb_epoch` (Keras 1's name, which its check_params lets through) to no method: it filters
# sk_params by the names in Sequential.fit's signature, where Keras 2 read nb_epoch from **kwargs only.
_NB_EPOCH = (
    "`nb_epoch=` is ignored by Keras 2's scikit-learn wrapper (it passes fit only the arguments named in "
    "Sequential.fit's signature), so each fit trains Keras's default of 1 epoch; the converted estimator does the same: "
    "write `epochs=` for more"
)


def scikit_learn_wrapper(parser: _Parser, statement, node: cst.Call, name: str, scope: _Scope) -> bool:
    """``KerasClassifier(build_fn=create_model, epochs=150, batch_size=10)``: recorded when ``create_model`` is a
    function of the script that returns a model it compiles; else a located K2T100. True when ``name`` is a wrapper."""
    kind = WRAPPERS.get(name)
    if kind is None:
        return False
    _mark_subtree(node.func, parser.consumed)
    positional = [arg for arg in node.args if arg.keyword is None and not arg.star]
    build = positional[0].value if positional else None
    keywords = []
    for arg in node.args:
        if arg.keyword is not None and arg.keyword.value == "build_fn":
            build = arg.value
        elif arg.keyword is not None:
            keywords.append((arg.keyword.value, parser.value(arg.value, scope)))
    if len(positional) > 1:
        parser.todo(statement, positional[1], "K2T100", f"{kind}() takes build_fn as its only positional argument")
        return True
    if any(arg.star == "*" for arg in node.args):
        parser.todo(statement, node, "K2T100", f"{kind}(*...) is not translated")
        return True
    function = build.value if isinstance(build, cst.Name) else None
    instance = scope.factory(function) if function is not None else None
    if instance is None or instance.compile is None:
        what = "no build_fn (a subclass's __call__)" if build is None else f"`{parser.code(build)}`"
        message = (
            f"{kind}(build_fn=...) is translated for a function of the script that builds, compiles and returns a "
            f"model; {what} is not one k2t follows"
        )
        if function in parser.script.function_locals:
            message += f" (see the diagnostics in {function}())"
        parser.todo(statement, build if build is not None else node, "K2T100", message)
        return True
    parser.consumed.add(id(build))
    for key, value in keywords:
        if key == "nb_epoch":
            parser.script.todos.append(Todo(statement, "K2T108", _NB_EPOCH, value.pos, Severity.WARNING))
    parser.script.scikit_learn_wrappers.append(
        ScikitLearnWrapper(kind, function, instance, tuple(keywords), parser.pos(node), node, statement)
    )
    small = statement.body[0] if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1 else None
    if isinstance(small, cst.Assign) and small.value is node and len(small.targets) == 1:
        target = small.targets[0].target
        if isinstance(target, cst.Name):
            parser.wrapper_names.add(target.value)  # `estimator.model` reads below are the converted module
    return True


def wrapped_model_read(parser: _Parser, statement, node: cst.CSTNode) -> bool:
    """``estimator.model`` of a variable holding a wrapper: Keras 2's Keras model, here the converted torch module,
    on which Keras's methods do not exist; a located K2T140. True when reported."""
    if not (
        isinstance(node, cst.Attribute)
        and node.attr.value == "model"
        and isinstance(node.value, cst.Name)
        and node.value.value in parser.wrapper_names
        and id(node) not in parser.consumed
    ):
        return False
    _mark_subtree(node, parser.consumed)
    message = (
        f"`{parser.code(node)}` is Keras 2's model in the wrapper; in the conversion it is the torch module, "
        "without Keras's methods (evaluate, metrics_names, save): use the estimator's own (score, predict)"
    )
    parser.todo(statement, node, "K2T140", message)
    return True


def scikeras_wrapper(parser: _Parser, statement, node: cst.Call) -> bool:
    """``scikeras.wrappers.KerasClassifier(model=create_model, ...)``: SciKeras, a package of its own that wraps a
    Keras model, would receive the converted torch module; a located K2T100. True when the call is one."""
    if not isinstance(node.func, (cst.Name, cst.Attribute)):
        return False
    for qualified in parser.qualified_names(node.func):
        if qualified.source is QualifiedNameSource.IMPORT and qualified.name.startswith("scikeras."):
            _mark_subtree(node.func, parser.consumed)
            message = (
                f"`{qualified.name}` (SciKeras, which wraps a Keras model) is not translated: its model would be the "
                "converted torch module; skorch's NeuralNetClassifier / NeuralNetRegressor wrap a torch module for "
                "scikit-learn (k2t translates Keras 2's keras.wrappers.scikit_learn)"
            )
            parser.todo(statement, node, "K2T100", message)
            return True
    return False
