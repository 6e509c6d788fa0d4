"""TextVectorization's ``standardize=`` and ``split=`` given as the script's own function written with
tf.strings (keras.io's text classification: ``def custom_standardization(input_data): lowercase =
tf.strings.lower(input_data); ...``).

The generated TextVectorization (k2t.translate.text_layers) works on the host, one text at a time, so the
function stays where the script defines it and becomes a plain Python function over one text (a str): each
tf.strings op it calls becomes a generated twin of the same signature (templates/functions/strings/),
which does to one text what the op does to each element of a tensor, with TensorFlow's ASCII rules
(lower/upper, strip and split without arguments touch ASCII only) and RE2's regex syntax read into Python's
``re`` (see re2_compile.py.j2 for the differences it bridges and those it refuses). Keras calls standardize
element by element on the batch and split on the standardized texts, so per text is the same computation,
as long as the function only combines these ops (ops after a split, on its list of tokens, are not).

Anything else that Keras or TensorFlow would run in the function is a K2T150 at that op; a name that is no
function of the script's top level is a K2T102 at the argument; another use of the function (a call on a
tensor or an array, ``ds.map(f)``: the rewritten function takes one str) is a K2T150 there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import libcst as cst
from libcst.metadata import PositionProvider

from ..cst_walk import Visitor
from ..diagnostics import Unsupported
from ..ir import KerasCall, Todo
from .helpers import Helper
from .op_code import import_names

if TYPE_CHECKING:
    from ..parse import KerasScript
    from . import ScriptPlan

_TEMPLATES = "functions/strings/"
CALLABLE_ARGUMENTS = ("standardize", "split")  # TextVectorization's arguments that may be a function
_RE2_COMPILE = Helper("re2_compile", _TEMPLATES + "re2_compile.py.j2")
# TensorFlow's op -> its generated per-text twin (same signature).
STRING_OPS: dict[str, Helper] = {
    f"tensorflow.strings.{op}": Helper(f"strings_{op}", f"{_TEMPLATES}{op}.py.j2", requires=requires)
    for op, requires in (
        ("lower", ()),
        ("upper", ()),
        ("strip", ()),
        ("split", ()),
        ("join", ()),
        ("length", ()),
        ("substr", ()),
        ("regex_replace", (_RE2_COMPILE,)),
    )
}
_OP_LIST = ", ".join(f"tf.strings.{name.rsplit('.', 1)[1]}" for name in STRING_OPS)


def translate_text_callables(
    call: KerasCall, parameters: tuple[str, ...], script: KerasScript, plan: ScriptPlan
) -> None:
    """Rewrite the functions ``call`` (a TextVectorization) takes as standardize / split; Unsupported (K2T102,
    at the argument) for one that is not a function of the script's top level."""
    for key in CALLABLE_ARGUMENTS:
        value = call.arg(parameters.index(key), key)
        if value is None or value.is_literal:
            continue  # a literal option: text_layers checks it
        definitions = plan.functions.definitions if plan.functions is not None else {}
        definition = definitions.get(value.code)
        if definition is None:
            raise Unsupported(
                "K2T102",
                f"TextVectorization({key}={value.code}) is not translated: k2t translates a function the script defines "
                f"once at its top level, written with {_OP_LIST}",
                value.pos,
            )
        _rewrite_function(definition, key, script, plan)


def _rewrite_function(definition: cst.FunctionDef, key: str, script: KerasScript, plan: ScriptPlan) -> None:
    """Each tf.strings op of ``definition`` becomes its twin (plan.expressions, by id of the op's name); any
    other Keras / TensorFlow op is reported there, in place of the parser's generic note."""
    keras_name = import_names(script.metadata)
    positions = script.metadata.resolve(PositionProvider)
    function = definition.name.value
    twins: dict[int, str] = {}
    found: list[Todo] = []

    class Ops(Visitor):
        def visit_Call(self, node: cst.Call) -> None:
            name = keras_name(node.func)
            if name is None:
                return
            if name in STRING_OPS:
                twins[id(node.func)] = plan.name(plan.add_helper(STRING_OPS[name]).name)
                return
            short = "tf." + name.removeprefix("tensorflow.") if name.startswith("tensorflow.") else name
            message = (
                f"`{short}` in `{function}`, TextVectorization's {key} function, is not translated: k2t rewrites it to "
                f"work on one text at a time, with {_OP_LIST}"
            )
            found.append(Todo(node, "K2T150", message, _pos(positions, node.func)))

    if any(id(node) in plan.expressions for node in _attributes(definition)):
        return  # rewritten already, for another TextVectorization
    definition.visit(Ops())
    plan.expressions.update(twins)
    handled = {_pos(positions, node) for node in _attributes(definition)}
    # The parser noted each TensorFlow name of the body as untranslated: translated now, or noted again with why.
    kept = [t for t in plan.todos if not (t.code in ("K2T100", "K2T150") and t.pos in handled)]
    noted = {(t.code, t.pos) for t in kept}
    plan.todos[:] = kept + [
        t for t in found + _other_uses(definition, script, positions) if (t.code, t.pos) not in noted
    ]


def _attributes(definition: cst.FunctionDef) -> list[cst.CSTNode]:
    """The callee of every call in ``definition``."""
    callees: list[cst.CSTNode] = []

    class Calls(Visitor):
        def visit_Call(self, node: cst.Call) -> None:
            callees.append(node.func)

    definition.visit(Calls())
    return callees


def _other_uses(definition: cst.FunctionDef, script: KerasScript, positions) -> list[Todo]:
    """Uses of the rewritten function other than as TextVectorization's ``standardize=`` / ``split=`` (a call on
    data, ``ds.map(f)``): it took a string tensor there, and takes one str now."""
    function = definition.name.value
    found: list[Todo] = []

    class Uses(Visitor):
        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return node is not definition

        def visit_Arg(self, node: cst.Arg) -> bool:
            keyword = node.keyword.value if node.keyword is not None else None
            return not (
                keyword in CALLABLE_ARGUMENTS and isinstance(node.value, cst.Name) and node.value.value == function
            )

        def visit_Name(self, node: cst.Name) -> None:
            if node.value == function:
                message = (
                    f"`{function}` is rewritten to standardize or split one text (a str) for TextVectorization; this "
                    "use gives it what tf.strings took (a tensor), which the rewritten function does not take"
                )
                found.append(Todo(node, "K2T150", message, _pos(positions, node)))

    script.module.visit(Uses())
    return found


def _pos(positions, node: cst.CSTNode) -> tuple[int, int]:
    start = positions[node].start
    return (start.line, start.column + 1)
