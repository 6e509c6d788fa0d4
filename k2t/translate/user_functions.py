"""The script's own loss and metric functions: which ``def`` a compile() argument names, and their bodies
rewritten to torch through the op vocabulary (k2t.translate.op_code).

compile(loss=rmse) and metrics=[rmse] name a top-level ``def rmse(y_true, y_pred)``; ``loss=weighted(2.0)``
calls a top-level factory ``def weighted(w): def loss(y_true, y_pred): ...; return loss``;
``loss=WeightedBCE(3.0)`` builds a top-level ``class WeightedBCE(keras.losses.Loss)`` with a
``call(self, y_true, y_pred)``. The function or class stays where the script defines it, rewritten (a
class on a generated ``Loss`` base); the generated training calls it the way Keras does (see
templates/losses/script_function.py.j2, templates/losses/loss_base.py.j2 and
templates/metrics/mean_metric_wrapper.py.j2).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

import libcst as cst
from libcst.metadata import PositionProvider

from ..cst_walk import Visitor, module_syntax
from ..diagnostics import Severity, Unsupported
from ..ir import KerasScript, Todo, Value
from .batch_set_value import batch_set_value_statements
from .op_code import OpRewrite, import_names, rewrite_ops
from .script_metrics import (
    ALIASED_RESULT,
    METRIC_BASES,
    MetricClassUse,
    aliased_results,
    state_method_rewrites,
    state_problems,
)

_OP_CODES = ("K2T100", "K2T150")
LOSS_BASES = ("keras.losses.Loss", "keras.Loss")


@dataclass(frozen=True)
class UserFunction:
    """A loss or metric function of the script, as a compile() argument names it."""

    code: str  # how the generated training calls it: "rmse", "weighted(2.0)", "WeightedBCE(3.0)"
    definition: str  # the top-level def it runs: "rmse", the factory "weighted", the class "WeightedBCE"
    name: str  # Keras's name for it (the function's __name__): "rmse", or the factory's inner def: "loss"
    loss_object: bool = False  # an instance of a keras.losses.Loss subclass of the script
    metric_object: bool = (
        False  # an instance of a keras.metrics.Metric subclass of the script (name: Keras's metric name)
    )
    # Where tensors the function makes from nothing go (``K.random_normal`` in a Lambda's function), as code valid
    # in its body: its tensor parameter's device (``args[0].device`` for a list of tensors); None: not known.
    device: str | None = None


@dataclass
class ScriptFunctions:
    """The script's top-level functions that compile() may name, and those a translated compile uses."""

    script: KerasScript
    definitions: dict[str, cst.FunctionDef] = field(default_factory=dict)  # bound once at top level
    # keras.losses.Loss subclasses bound once at top level: the class and its Loss base.
    loss_classes: dict[str, tuple[cst.ClassDef, cst.Arg]] = field(default_factory=dict)
    metric_classes: dict[str, tuple[cst.ClassDef, cst.Arg]] = field(
        default_factory=dict
    )  # keras.metrics.Metric subclasses
    used: dict[str, cst.FunctionDef | cst.ClassDef] = field(default_factory=dict)
    # id() of the tf.data map/filter functions (a lambda, a function's name) whose calls of rewritten functions
    # run on the pipeline's tensors, not on the script's arrays (k2t.translate.tf_data).
    pipeline_functions: set[int] = field(default_factory=set)
    devices: dict[str, str] = field(default_factory=dict)  # UserFunction.device of the used functions

    @classmethod
    def of(cls, script: KerasScript) -> ScriptFunctions:
        counts: dict[str, int] = {}
        for statement in module_syntax(script.module).body:
            for name in _top_level_bindings(statement):
                counts[name] = counts.get(name, 0) + 1
        once = [
            s
            for s in script.module.body
            if isinstance(s, (cst.FunctionDef, cst.ClassDef)) and counts.get(s.name.value) == 1
        ]
        definitions = {statement.name.value: statement for statement in once if isinstance(statement, cst.FunctionDef)}
        keras_name = import_names(script.metadata)
        loss_classes = _classes_on(once, LOSS_BASES, keras_name)
        return cls(script, definitions, loss_classes, _classes_on(once, METRIC_BASES, keras_name))

    def resolve(self, value: Value, what: str, code: str) -> UserFunction | None:
        """The script's function a compile argument names, None when it names none; Unsupported (``code``)
        for a factory call the generated training could not repeat."""
        try:
            node = cst.parse_expression(value.code)
        except cst.ParserSyntaxError:
            return None
        if isinstance(node, cst.Name) and node.value in self.definitions:
            return UserFunction(node.value, node.value, node.value)
        if not isinstance(node, cst.Call) or not isinstance(node.func, cst.Name):
            return None
        maker = node.func.value
        if maker in self.metric_classes:
            self._check_repeatable(node, value, what, code)
            use = MetricClassUse(self.metric_classes[maker][0], node, _instances(self.script.module, maker))
            try:
                name = use.keras_name()
            except Unsupported as exc:
                raise Unsupported(exc.code, exc.message, value.pos) from exc
            return UserFunction(value.code, maker, name, metric_object=True)
        if maker in self.loss_classes:
            self._check_repeatable(node, value, what, code)
            return UserFunction(value.code, maker, maker, loss_object=True)
        inner = _returned_function(self.definitions[maker]) if maker in self.definitions else None
        if inner is None:
            return None
        self._check_repeatable(node, value, what, code)
        return UserFunction(value.code, maker, inner)

    def _check_repeatable(self, call: cst.Call, value: Value, what: str, code: str) -> None:
        for arg in call.args:
            if arg.star or not self._repeatable(arg.value, self._at_top_level(value)):
                raise Unsupported(
                    code,
                    f"{what} `{value.code}`: the converted training calls `{self.code(call.func)}(...)` again, so its "
                    "arguments must be literals or names of the script's top level",
                    value.pos,
                )

    @staticmethod
    def code(node: cst.CSTNode) -> str:
        return cst.Module(body=[]).code_for_node(node)

    def _repeatable(self, node: cst.BaseExpression, top_level: bool) -> bool:
        text = self.code(node)
        try:
            ast.literal_eval(text)
            return True
        except (ValueError, SyntaxError):
            pass
        # A name of some function's locals is the module's only where the call stands at the top level
        # (`loss(margin=margin)` beside `def loss(margin=1)`, as keras.io writes it).
        return (
            isinstance(node, cst.Name)
            and node.value in self.script.module_names
            and (top_level or node.value not in _locals(self.script))
        )

    def _at_top_level(self, value: Value) -> bool:
        """Whether the compile argument ``value`` stands outside every function of the script."""
        if value.pos is None:
            return False
        positions = self.script.metadata.resolve(PositionProvider)
        for statement in self.script.module.body:
            if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
                where = positions[statement]
                if (
                    (where.start.line, where.start.column + 1)
                    <= tuple(value.pos)
                    <= (where.end.line, where.end.column + 1)
                ):
                    return False
        return True

    def use(self, functions: list[UserFunction]) -> None:
        for function in functions:
            if function.device is not None:
                self.devices.setdefault(function.definition, function.device)
            if function.loss_object:
                self.used.setdefault(function.definition, self.loss_classes[function.definition][0])
            elif function.metric_object:
                self.used.setdefault(function.definition, self.metric_classes[function.definition][0])
            else:
                self.used.setdefault(function.definition, self.definitions[function.definition])

    def never_read(self) -> list[UserFunction]:
        """The top-level functions nothing in the script reads (a loss it wrote and left unused) whose Keras and
        TensorFlow names are all ops or constants of the vocabulary: rewritten as the used ones are, as a hand
        port would, so that no TensorFlow call stays in the output. Any other stays as written, with its notes."""
        read = {
            node.id
            for node in ast.walk(module_syntax(self.script.module))
            if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Store)
        }
        keras_name = import_names(self.script.metadata)
        return [
            UserFunction(name, name, name)
            for name, definition in self.definitions.items()
            if name not in read and name not in self.used and _only_vocabulary(definition, keras_name)
        ]

    def called_from(self, node: cst.CSTNode) -> list[UserFunction]:
        """The top-level functions ``node`` calls by name, and those they call in turn (``mix_up`` of
        ``ds.map(lambda a, b: mix_up(a, b))`` and its ``sample_beta_distribution``), in the order first called."""
        found: list[str] = []
        pending = [node]
        while pending:
            for call in _name_calls(pending.pop()):
                name = call.func.value
                if name in self.definitions and name not in found:
                    found.append(name)
                    pending.append(self.definitions[name])
        return [UserFunction(name, name, name) for name in found]

    @property
    def uses_loss_classes(self) -> bool:
        return any(name in self.loss_classes for name in self.used)

    @property
    def uses_metric_classes(self) -> bool:
        return any(name in self.metric_classes for name in self.used)

    def rewrite(
        self,
        calls: dict[int, str],
        todos: list[Todo],
        bases: dict[int, str],
        loss_base: str,
        metric_base: str = "",
        statements: dict[int, list[str]] | None = None,
    ) -> None:
        """Rewrite the used functions to torch: their expressions into ``calls`` (ScriptPlan.calls, by id()
        of the original node), and into ``todos`` what the op vocabulary does not translate there, in
        place of the parser's notes on the same names. A Loss subclass's base becomes ``loss_base``
        (``bases``: ScriptPlan.expressions), a Metric subclass's ``metric_base``. Whole statements
        (``K.batch_set_value(pairs)``) go into ``statements`` (ScriptPlan.statements)."""
        keras_name = import_names(self.script.metadata)
        positions = self.script.metadata.resolve(PositionProvider)
        found: list[Todo] = []
        superseded: set[tuple[int, int]] = set()
        for name, definition in self.used.items():
            dropped = _dropped_decorators(definition, keras_name)
            for decorator in dropped:
                bases[id(decorator)] = ""  # ScriptPlan.expressions: "" removes a decorator
                superseded.add(_pos(positions, decorator.decorator))
            if name in self.loss_classes:
                base = self.loss_classes[name][1]
                bases[id(base)] = loss_base
                superseded.add(_pos(positions, base.value))
                definition = definition.body  # the Keras base is replaced, not rewritten
            elif name in self.metric_classes:
                base = self.metric_classes[name][1]
                bases[id(base)] = metric_base
                superseded.add(_pos(positions, base.value))
                calls.update(state_method_rewrites(definition))
                found += [
                    Todo(node, error.code, error.message, _pos(positions, node))
                    for node, error in state_problems(definition)
                ]
                found += [
                    Todo(node, "K2T125", ALIASED_RESULT.format(state=state), _pos(positions, node), Severity.WARNING)
                    for node, state in aliased_results(definition)
                ]
                definition = definition.body
            rewrite = rewrite_ops(definition, keras_name, device=self.devices.get(name))
            inside = {id(node) for decorator in dropped for node in _subtree(decorator)}
            rewrite.problems = [problem for problem in rewrite.problems if id(problem.node) not in inside]
            calls.update(rewrite.replacements)
            set_values = batch_set_value_statements(definition, keras_name) if statements is not None else None
            if set_values is not None:
                statements.update(set_values.statements)
                answered = {id(node) for node in set_values.handled}
                rewrite.problems = [problem for problem in rewrite.problems if id(problem.node) not in answered]
            for problem in rewrite.problems:
                found.append(
                    Todo(problem.node, problem.error.code, problem.error.message, _pos(positions, problem.node))
                )
            superseded |= _handled_positions(rewrite, positions)
        found += self._other_calls(positions)
        # The parser reported each Keras/TensorFlow name of these bodies as untranslated; the rewrite
        # translated those, or reported them again with the reason.
        todos[:] = [t for t in todos if not (t.code in _OP_CODES and t.pos in superseded)] + found

    def _other_calls(self, positions) -> list[Todo]:
        """Calls of a rewritten function outside the training (``print(rmse(y_test, preds))``): Keras's ops took
        NumPy arrays there, torch's do not, so each is reported rather than left to fail when it runs."""
        rewritten = {name for name in self.used if name not in self.loss_classes and name not in self.metric_classes}
        pipeline = self.pipeline_functions
        found: list[Todo] = []

        class Finder(Visitor):
            def __init__(self) -> None:
                self.compiles = 0  # inside compile(...), which the translation replaces

            def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
                return node.name.value not in rewritten  # its own body (and a factory's) is rewritten

            def visit_Lambda(self, node: cst.Lambda) -> bool:
                return id(node) not in pipeline  # a tf.data map function: it runs on the pipeline's tensors

            def visit_Call(self, node: cst.Call) -> bool:
                if isinstance(node.func, cst.Attribute) and node.func.attr.value == "compile":
                    self.compiles += 1
                elif self.compiles == 0 and isinstance(node.func, cst.Name) and node.func.value in rewritten:
                    message = (
                        f"`{node.func.value}` is rewritten to torch for the converted training; this call may pass it NumPy "
                        "arrays, which torch's ops do not take (torch.as_tensor them)"
                    )
                    found.append(Todo(node, "K2T100", message, _pos(positions, node)))
                return True

            def leave_Call(self, node: cst.Call) -> None:
                if isinstance(node.func, cst.Attribute) and node.func.attr.value == "compile":
                    self.compiles -= 1

        if rewritten:
            self.script.module.visit(Finder())
        return found


def _only_vocabulary(definition: cst.FunctionDef, keras_name) -> bool:
    """Whether the function names Keras or TensorFlow, and only as the vocabulary's ops (called) and constants."""
    from ..ops import CONSTANT_NAMES, OPS

    calls: set[str] = set()
    names: set[str] = set()

    class Finder(Visitor):
        def visit_Call(self, node: cst.Call) -> None:
            name = keras_name(node.func)
            if name is not None:
                calls.add(name)

        def visit_Attribute(self, node: cst.Attribute) -> bool:
            name = keras_name(node)
            if name is not None:
                names.add(name)
                return False
            return True

        def visit_Name(self, node: cst.Name) -> None:
            name = keras_name(node)
            if name is not None:
                names.add(name)

    definition.visit(Finder())
    return bool(calls) and calls <= set(OPS) and names <= calls | set(CONSTANT_NAMES)


def _name_calls(node: cst.CSTNode) -> list[cst.Call]:
    """The calls of a bare name in ``node``, in the order written."""
    calls: list[cst.Call] = []

    class Finder(Visitor):
        def visit_Call(self, call: cst.Call) -> None:
            if isinstance(call.func, cst.Name):
                calls.append(call)

    node.visit(Finder())
    return calls


def _classes_on(statements: list, bases: tuple[str, ...], keras_name) -> dict[str, tuple[cst.ClassDef, cst.Arg]]:
    """The top-level classes whose only base is one of ``bases`` (a Keras class), with that base."""
    found = {}
    for statement in statements:
        if isinstance(statement, cst.ClassDef) and len(statement.bases) == 1:
            base = statement.bases[0]
            if base.keyword is None and keras_name(base.value) in bases:
                found[statement.name.value] = (statement, base)
    return found


def _instances(module: cst.Module, class_name: str) -> int:
    """How many times the script calls ``class_name(...)``."""
    count = 0

    class Counter(Visitor):
        def visit_Call(self, node: cst.Call) -> None:
            nonlocal count
            count += isinstance(node.func, cst.Name) and node.func.value == class_name

    module.visit(Counter())
    return count


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


# Decorators of a loss, metric or function the translation leaves out: Keras's saving registry
# (torch saves state dicts, not objects by name) and tf.function (torch runs the code as written).
_DROPPED_DECORATORS = frozenset(
    {"keras.saving.register_keras_serializable", "keras.utils.register_keras_serializable", "tensorflow.function"}
)


def _dropped_decorators(definition: cst.CSTNode, keras_name) -> list[cst.Decorator]:
    decorators = getattr(definition, "decorators", ())
    return [
        d
        for d in decorators
        if keras_name(d.decorator.func if isinstance(d.decorator, cst.Call) else d.decorator) in _DROPPED_DECORATORS
    ]


def _subtree(node: cst.CSTNode) -> list[cst.CSTNode]:
    found: list[cst.CSTNode] = []

    class Collect(Visitor):
        def enter(self, child: cst.CSTNode) -> bool:
            found.append(child)
            return True

    node.visit(Collect())
    return found
