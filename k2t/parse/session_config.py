"""TensorFlow 1's session configuration, as Keras 2 scripts set it up before building a model:

    config = tf.ConfigProto()
    config.gpu_options.allow_growth = True
    sess = tf.Session(config=config)
    K.set_session(sess)

It tells TensorFlow how to take GPU memory (grow it, cap it) and where to log device placement. PyTorch
takes device memory as tensors need it, so these lines change nothing a converted script computes: they
are left out, each with a K2T105 warning. Only where every statement of the group is one of these forms
and the names it binds are read by nothing else; otherwise each stays a K2T150 / K2T100 as written.
"""

from __future__ import annotations

import libcst as cst

from ..diagnostics import Severity
from ..ir import Todo
from .distribute import _module_level_statements
from .memory_growth import WHY as MEMORY_GROWTH_WHY
from .memory_growth import memory_growth_statements
from .syntax import _mark_subtree
from .syntax import names_in as _names_in

_CONFIGS = frozenset({"tensorflow.ConfigProto", "tensorflow.compat.v1.ConfigProto"})
_SESSIONS = frozenset({
    "tensorflow.Session", "tensorflow.compat.v1.Session", "tensorflow.InteractiveSession", "tensorflow.compat.v1.InteractiveSession",
})  # fmt: skip
_SET_SESSION = frozenset({
    "keras.backend.set_session", "tensorflow.compat.v1.keras.backend.set_session", "tensorflow.keras.backend.set_session",
})  # fmt: skip
_WHY = "PyTorch takes device memory as tensors need it, so the line is left out"


class SessionConfigMixin:
    """Finds the session configuration before the walk. Mixed into k2t.parse.parser._Parser."""

    def find_session_configuration(self) -> None:
        statements = _module_level_statements(self.module.body)
        configs = {name for name, value in _bindings(statements) if self._calls_only(value, _CONFIGS, set())}
        sessions = {name for name, value in _bindings(statements) if self._calls_only(value, _SESSIONS, configs)}
        names = configs | sessions
        group: list[cst.SimpleStatementLine] = []
        for statement in statements:
            if len(statement.body) != 1:
                continue
            small = statement.body[0]
            if isinstance(small, cst.Assign) and len(small.targets) == 1:
                target, value = small.targets[0].target, small.value
                if (
                    isinstance(target, cst.Name)
                    and target.value in configs
                    and self._calls_only(value, _CONFIGS, set())
                    or isinstance(target, cst.Name)
                    and target.value in sessions
                    and self._calls_only(value, _SESSIONS, configs)
                ):
                    group.append(statement)
                elif _root_name(target) in configs and isinstance(target, cst.Attribute) and not _reads(value, names):
                    group.append(statement)  # config.gpu_options.allow_growth = True
            elif (
                isinstance(small, cst.Expr)
                and isinstance(small.value, cst.Call)
                and self.keras_name(small.value.func) in _SET_SESSION
            ):
                arguments = small.value.args
                if len(arguments) == 1 and (
                    (isinstance(arguments[0].value, cst.Name) and arguments[0].value.value in sessions)
                    or self._calls_only(arguments[0].value, _SESSIONS, configs)
                ):
                    group.append(statement)
        if not group or _read_elsewhere(self.module, names, group):
            return
        for statement in group:
            _mark_subtree(statement, self.consumed)
            self.script.removed.add(id(statement))
            code = self.module.code_for_node(statement).strip()
            message = f"`{code}` configures TensorFlow 1's session (GPU memory, device logging); {_WHY}"
            self.script.todos.append(Todo(statement, "K2T105", message, self.pos(statement), Severity.WARNING))

    def find_memory_growth(self) -> None:
        """TensorFlow 2's ``tf.config.experimental.set_memory_growth(gpu, True)`` over its GPU list (k2t.parse.memory_growth)."""
        for statement in memory_growth_statements(list(self.module.body), self.keras_name):
            _mark_subtree(statement, self.consumed)
            self.script.removed.add(id(statement))
            first = self.module.code_for_node(statement).strip().splitlines()[0]
            message = (
                f"`{first}`{' ...' if isinstance(statement, cst.BaseCompoundStatement) else ''} {MEMORY_GROWTH_WHY}"
            )
            self.script.todos.append(Todo(statement, "K2T105", message, self.pos(statement), Severity.WARNING))

    def _calls_only(self, node: cst.BaseExpression, constructors: frozenset[str], names: set[str]) -> bool:
        """``tf.Session(config=config)``: a call of one of ``constructors`` whose arguments are literals, the
        ``names`` given, or (nested) configuration calls."""
        if not isinstance(node, cst.Call) or self.keras_name(node.func) not in constructors:
            return False
        for argument in node.args:
            value = argument.value
            if isinstance(value, cst.Name) and (value.value in names or value.value in ("True", "False", "None")):
                continue
            if isinstance(value, (cst.Integer, cst.Float, cst.SimpleString)):
                continue
            if self._calls_only(value, _CONFIGS, set()):
                continue
            return False
        return True


def _bindings(statements: list[cst.SimpleStatementLine]) -> list[tuple[str, cst.BaseExpression]]:
    found = []
    for statement in statements:
        for small in statement.body:
            if (
                isinstance(small, cst.Assign)
                and len(small.targets) == 1
                and isinstance(small.targets[0].target, cst.Name)
            ):
                found.append((small.targets[0].target.value, small.value))
    return found


def _root_name(node: cst.BaseExpression) -> str | None:
    while isinstance(node, cst.Attribute):
        node = node.value
    return node.value if isinstance(node, cst.Name) else None


def _reads(node: cst.CSTNode, names: set[str]) -> bool:
    return any(isinstance(found, cst.Name) and found.value in names for found in _names_in(node))


def _read_elsewhere(module: cst.Module, names: set[str], group: list[cst.SimpleStatementLine]) -> bool:
    """Whether a statement outside ``group`` mentions one of the names the group binds (its session read on)."""
    inside = {id(name) for statement in group for name in _names_in(statement)}
    return any(name.value in names and id(name) not in inside for name in _names_in(module))
