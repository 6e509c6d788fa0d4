"""The script's own loss and metric functions: which ``def`` a compile() argument names, and their bodies
rewritten to torch through the op vocabulary (k2t.translate.op_code).

compile(loss=rmse) and metrics=[rmse] name a top-level ``def rmse(y_true, y_pred)``; ``loss=weighted(2.0)``
calls a top-level factory ``def weighted(w): def loss(y_true, y_pred): ...; return loss``. The function
stays where the script defines it, rewritten; the generated training calls it the way Keras does (see
templates/losses/script_function.py.j2 and templates/metrics/mean_metric_wrapper.py.j2).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

import libcst as cst
from libcst.metadata import PositionProvider

from ..diagnostics import Unsupported
from ..ir import KerasScript, Todo, Value
from .op_code import OpRewrite, import_names, rewrite_ops

_OP_CODES = ("K2T100", "K2T150")


@dataclass(frozen=True)
class UserFunction:
    """A loss or metric function of the script, as a compile() argument names it."""

    code: str  # how the generated training calls it: "rmse", "weighted(2.0)"
    definition: str  # the top-level def it runs: "rmse", or the factory "weighted"
    name: str  # Keras's name for it (the function's __name__): "rmse", or the factory's inner def: "loss"


@dataclass
class ScriptFunctions:
    """The script's top-level functions that compile() may name, and those a translated compile uses."""

    script: KerasScript
    definitions: dict[str, cst.FunctionDef] = field(default_factory=dict)  # bound once at top level
    used: dict[str, cst.FunctionDef] = field(default_factory=dict)

    @classmethod
    def of(cls, script: KerasScript) -> ScriptFunctions:
        counts: dict[str, int] = {}
        for statement in ast.parse(script.module.code).body:
            for name in _top_level_bindings(statement):
                counts[name] = counts.get(name, 0) + 1
        definitions = {
            statement.name.value: statement
            for statement in script.module.body
            if isinstance(statement, cst.FunctionDef) and counts.get(statement.name.value) == 1
        }
        return cls(script, definitions)

    def resolve(self, value: Value, what: str, code: str) -> UserFunction | None:
        """The script's function a compile argument names, None when it names none; Unsupported (``code``)
        for a factory call the generated training could not repeat."""
        try:
            node = cst.parse_expression(value.code)
        except cst.ParserSyntaxError:
            return None
        if isinstance(node, cst.Name) and node.value in self.definitions:
            return UserFunction(node.value, node.value, node.value)
        if not (isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value in self.definitions):
            return None
        factory = node.func.value
        inner = _returned_function(self.definitions[factory])
        if inner is None:
            return None
        for arg in node.args:
            if arg.star or not self._repeatable(arg.value):
                raise Unsupported(
                    code,
                    f"{what} `{value.code}`: the converted training calls `{factory}(...)` again, so its arguments must be "
                    "literals or names of the script's top level",
                    value.pos,
                )
        return UserFunction(value.code, factory, inner)

    def _repeatable(self, node: cst.BaseExpression) -> bool:
        text = cst.Module(body=[]).code_for_node(node)
        try:
            ast.literal_eval(text)
            return True
        except (ValueError, SyntaxError):
            pass
        return isinstance(node, cst.Name) and node.value in self.script.module_names and node.value not in _locals(self.script)

    def use(self, functions: list[UserFunction]) -> None:
        for function in functions:
            self.used.setdefault(function.definition, self.definitions[function.definition])

    def rewrite(self, calls: dict[int, str], todos: list[Todo]) -> None:
        """Rewrite the used functions to torch: their expressions into ``calls`` (ScriptPlan.calls, by id()
        of the original node), and into ``todos`` what the op vocabulary does not translate there, in
        place of the parser's notes on the same names."""
        keras_name = import_names(self.script.metadata)
        positions = self.script.metadata.resolve(PositionProvider)
        found: list[Todo] = []
        superseded: set[tuple[int, int]] = set()
        for definition in self.used.values():
            rewrite = rewrite_ops(definition, keras_name)
            calls.update(rewrite.replacements)
            for problem in rewrite.problems:
                found.append(Todo(problem.node, problem.error.code, problem.error.message, _pos(positions, problem.node)))
            superseded |= _handled_positions(rewrite, positions)
        # The parser reported each Keras/TensorFlow name of these bodies as untranslated; the rewrite
        # translated those, or reported them again with the reason.
        todos[:] = [t for t in todos if not (t.code in _OP_CODES and t.pos in superseded)] + found


def _handled_positions(rewrite: OpRewrite, positions) -> set[tuple[int, int]]:
    return {_pos(positions, node) for node in rewrite.handled}


def _pos(positions, node: cst.CSTNode) -> tuple[int, int]:
    start = positions[node].start
    return (start.line, start.column + 1)


def _returned_function(factory: cst.FunctionDef) -> str | None:
    """The name of the inner ``def`` a factory returns as its last statement (``return loss``)."""
    body = list(factory.body.body)
    inner = {statement.name.value for statement in body if isinstance(statement, cst.FunctionDef)}
    last = body[-1] if body else None
    if isinstance(last, cst.SimpleStatementLine) and len(last.body) == 1 and isinstance(last.body[0], cst.Return):
        returned = last.body[0].value
        if isinstance(returned, cst.Name) and returned.value in inner:
            return returned.value
    return None


def _top_level_bindings(statement: ast.stmt) -> list[str]:
    """The names one top-level statement binds in the module's namespace (not inside functions)."""
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [statement.name]
    names = []
    for node in ast.walk(statement):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            names.append(node.id)
        elif isinstance(node, ast.alias):
            names.append(node.asname or node.name.split(".")[0])
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)  # in an `if`/`try` at top level: still the module's
    return names


def _locals(script: KerasScript) -> set[str]:
    """Names that are parameters or locals of some function: a factory argument among them may not be global."""
    return {name for names in script.function_locals.values() for name in names}
