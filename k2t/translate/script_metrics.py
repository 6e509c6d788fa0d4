"""The script's ``keras.metrics.Metric`` subclasses: ``compile(metrics=[MeanError()])``.

The class stays where the script defines it, on a generated ``Metric`` base (templates/metrics/metric_base.py.j2)
that gives it Keras's ``add_weight`` / ``add_variable`` (state tensors) and Keras's default ``reset_state``
(every state tensor back to zeros); its methods are rewritten through the op vocabulary, and a state
tensor's ``assign`` / ``assign_add`` / ``assign_sub`` become torch's in-place ``copy_`` / ``add_`` / ``sub_``.
The generated training builds it through ``ScriptMetric`` (templates/metrics/script_metric.py.j2), which
does what Keras's fit does with a metric object: ``reset_state()`` before every epoch and evaluation,
``update_state(y_true, y_pred)`` after every batch, and ``float(result())`` into the logs. Keras averages
nothing for such a metric: the epoch's value is ``result()`` after all its updates.

Its history key is its ``name`` (``super().__init__(name=...)``, or the one the compile passes), which k2t
reads statically; without one Keras names it after the class in snake_case (``MeanError`` -> ``mean_error``).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

import libcst as cst

from ..cst_walk import Visitor
from ..diagnostics import Unsupported
from .helpers import Helper

METRIC_BASES = ("keras.metrics.Metric", "keras.Metric")
METRIC_BASE = Helper("Metric", "metrics/metric_base.py.j2")
# Keras's Metric.add_weight / add_variable initializers the base makes (Keras's reset_state sets zeros anyway).
_INITIALIZERS = frozenset({"zeros", "ones"})
STATE_METHODS = {"assign": "copy_", "assign_add": "add_", "assign_sub": "sub_"}  # tf.Variable -> in-place torch
_STATE_METHODS = STATE_METHODS
_EMPTY = cst.Module(body=[])


# The adapter the generated training builds around an object of the script's Metric class.
SCRIPT_METRIC = Helper("ScriptMetric", "metrics/script_metric.py.j2", requires=(METRIC_BASE,))


def keras_auto_name(class_name: str) -> str:
    """keras.src.utils.naming.to_snake_case: the name Keras gives an unnamed object of the class."""
    name = re.sub(r"\W+", "", class_name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


@dataclass(frozen=True)
class MetricClassUse:
    """An object of the script's Metric class as compile() builds it: ``MeanError(name="me")``."""

    definition: cst.ClassDef
    call: cst.Call
    instances: int  # how many times the script builds an object of the class (auto names are numbered)

    def keras_name(self) -> str:
        """The metric's name, as Keras gives it; Unsupported (without a position) where k2t cannot tell it."""
        class_name = self.definition.name.value
        init = _method(self.definition, "__init__")
        given = _keyword(self.call, "name")
        if init is None:
            return _literal_name(given) if given is not None else self._auto(class_name)
        parent = _super_init(init)
        if parent is None:
            raise Unsupported(
                "K2T122", f"metric {class_name}: k2t reads its name from `super().__init__(name=...)` in its __init__"
            )
        passed = _keyword(parent, "name")
        if passed is None:
            flows = any(arg.star == "**" for arg in parent.args) and init.params.star_kwarg is not None
            if given is not None and flows:
                return _literal_name(given)
            return self._auto(class_name)
        if isinstance(passed, cst.Name):
            bound = _bound(init, self.call, passed.value)
            if bound is not None:
                return _literal_name(bound)
        return _literal_name(passed)

    def _auto(self, class_name: str) -> str:
        if self.instances != 1:
            # Keras numbers them in the order it builds them (mean_error, mean_error_1, ...).
            raise Unsupported("K2T122", f"several unnamed {class_name} objects: give each a name= for its history key")
        return keras_auto_name(class_name)


def state_problems(definition: cst.ClassDef) -> list[tuple[cst.CSTNode, Unsupported]]:
    """add_weight / add_variable calls the generated base does not make: another initializer or dtype."""
    problems: list[tuple[cst.CSTNode, Unsupported]] = []
    class_name = definition.name.value
    for call in _self_calls(definition, ("add_weight", "add_variable")):
        method = call.func.attr.value
        positional = (
            ("shape", "initializer", "dtype") if method == "add_variable" else ("shape", "initializer", "dtype", "name")
        )
        arguments = {
            arg.keyword.value if arg.keyword else positional[i] if i < len(positional) else "*": arg.value
            for i, arg in enumerate(call.args)
        }
        initializer = arguments.get("initializer")
        chosen = _literal(initializer) if initializer is not None else "zeros"
        if chosen not in _INITIALIZERS:
            message = f"metric {class_name}: {method}(initializer={_code(initializer)}) is not translated (zeros and ones are)"
            problems.append((initializer, Unsupported("K2T122", message)))
        dtype = arguments.get("dtype")
        if dtype is not None and _literal(dtype) not in (None, "float32"):
            message = f"metric {class_name}: {method}(dtype={_code(dtype)}) is not translated (k2t keeps float32 state)"
            problems.append((dtype, Unsupported("K2T122", message)))
        unknown = [key for key in arguments if key not in (*positional, "aggregation", "name")]
        if unknown:
            problems.append(
                (call, Unsupported("K2T122", f"metric {class_name}: {method}({unknown[0]}=...) is not translated"))
            )
    return problems


ALIASED_RESULT = (
    "result() returns the state `{state}` itself: Keras logs that variable, not its value, so with validation the "
    "history's training value is the one after the validation pass; the conversion logs the epoch's own value"
)


def aliased_results(definition: cst.ClassDef) -> list[tuple[cst.Return, str]]:
    """``return self.total`` in result(), where ``self.total`` is a state variable (add_weight / add_variable)."""
    result = _method(definition, "result")
    if result is None:
        return []
    states = {id(call) for call in _self_calls(definition, ("add_weight", "add_variable"))}
    assigned: set[str] = set()

    class States(Visitor):
        def visit_Assign(self, node: cst.Assign) -> None:
            if id(node.value) in states:
                assigned.update(_code(t.target) for t in node.targets if _is_self_attribute(t.target))

    definition.body.visit(States())
    found: list[tuple[cst.Return, str]] = []

    class Returns(Visitor):
        def visit_Return(self, node: cst.Return) -> None:
            if node.value is not None and _code(node.value) in assigned:
                found.append((node, _code(node.value)))

    result.body.visit(Returns())
    return found


def variable_update(call: cst.Call) -> str:
    """The torch in-place method of a Keras variable's ``.assign`` / ``.assign_add`` / ``.assign_sub`` call."""
    method = _STATE_METHODS[call.func.attr.value]
    if method == "copy_" and len(call.args) == 1 and isinstance(_literal(call.args[0].value), (int, float)):
        method = "fill_"  # copy_ takes a tensor, Keras's assign also a number
    return method


def state_method_rewrites(definition: cst.ClassDef) -> dict[int, str]:
    """``self.total.assign_add(x)`` -> ``self.total.add_(x)``: by id() of the ``.assign_add`` attribute. The base's
    ``variables`` lists the state, as Keras's does."""
    rewrites: dict[int, str] = {}

    class Finder(Visitor):
        def visit_Call(self, node: cst.Call) -> None:
            func = node.func
            # In a metric class, `.assign_add` is a state variable's: `self.total`, or `v` of `for v in self.variables`.
            if (
                isinstance(func, cst.Attribute)
                and func.attr.value in _STATE_METHODS
                and isinstance(func.value, (cst.Name, cst.Attribute))
            ):
                rewrites[id(func)] = f"{_code(func.value)}.{variable_update(node)}"

    definition.body.visit(Finder())
    return rewrites


def _is_self_attribute(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name) and node.value.value == "self"


def _self_calls(definition: cst.ClassDef, methods: tuple[str, ...]) -> list[cst.Call]:
    found: list[cst.Call] = []

    class Finder(Visitor):
        def visit_Call(self, node: cst.Call) -> None:
            func = node.func
            if (
                isinstance(func, cst.Attribute)
                and isinstance(func.value, cst.Name)
                and func.value.value == "self"
                and func.attr.value in methods
            ):
                found.append(node)

    definition.body.visit(Finder())
    return found


def _method(definition: cst.ClassDef, name: str) -> cst.FunctionDef | None:
    body = definition.body.body if isinstance(definition.body, cst.IndentedBlock) else ()
    return next((s for s in body if isinstance(s, cst.FunctionDef) and s.name.value == name), None)


def _super_init(init: cst.FunctionDef) -> cst.Call | None:
    """``super().__init__(...)`` among __init__'s statements."""
    for statement in init.body.body if isinstance(init.body, cst.IndentedBlock) else ():
        if (
            isinstance(statement, cst.SimpleStatementLine)
            and len(statement.body) == 1
            and isinstance(statement.body[0], cst.Expr)
        ):
            call = statement.body[0].value
            func = call.func if isinstance(call, cst.Call) else None
            if (
                isinstance(func, cst.Attribute)
                and func.attr.value == "__init__"
                and isinstance(func.value, cst.Call)
                and isinstance(func.value.func, cst.Name)
                and func.value.func.value == "super"
            ):
                return call
    return None


def _bound(init: cst.FunctionDef, call: cst.Call, parameter: str) -> cst.BaseExpression | None:
    """What ``parameter`` of __init__ holds for this call: its argument, or the parameter's default."""
    params = list(init.params.params[1:])
    names = [p.name.value for p in params]
    given = _keyword(call, parameter)
    if given is not None:
        return given
    positional = [arg.value for arg in call.args if arg.keyword is None and not arg.star]
    if parameter in names and names.index(parameter) < len(positional):
        return positional[names.index(parameter)]
    default = next((p.default for p in [*params, *init.params.kwonly_params] if p.name.value == parameter), None)
    return default


def _keyword(call: cst.Call, key: str) -> cst.BaseExpression | None:
    return next((arg.value for arg in call.args if arg.keyword is not None and arg.keyword.value == key), None)


def _literal_name(node: cst.BaseExpression) -> str:
    value = _literal(node)
    if not isinstance(value, str):
        raise Unsupported("K2T122", f"metric name {_code(node)}: k2t needs a string literal for its history key")
    return value


def _literal(node: cst.BaseExpression | None) -> object:
    try:
        return ast.literal_eval(_code(node).strip()) if node is not None else None
    except (ValueError, SyntaxError):
        return ...


def _code(node: cst.CSTNode | None) -> str:
    return _EMPTY.code_for_node(node) if node is not None else ""
