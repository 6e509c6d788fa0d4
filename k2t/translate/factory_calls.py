"""One generated class for a function that builds a model around the layer it receives, called several times.

``def build_and_compile_model(norm): model = keras.Sequential([norm, ...])``,
called with ``horsepower_normalizer`` (``input_shape=[1]``) and with
``normalizer`` (sized by the data of its first fit): the parser walks the body
at each call (k2t.parse.layer_factories), so each call has its own ModelSpec.
The function keeps one construction line, so the models must be one class:
when their modules are the same code up to constructor arguments, the layer
is a constructor argument (``self.norm = norm``), each argument every call
gives alike stays as the function computes it, and each that differs becomes
a keyword parameter of the function that its calls pass
(``build_and_compile_model(horsepower_normalizer, in_features=1)``). Models
that differ in more than that are a K2T103 at the construction line: one
class could not be faithful to every call.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING

import libcst as cst
from libcst.metadata import PositionProvider

from ..diagnostics import Unsupported
from ..ir import KerasScript, ModelSpec
from .plan import ModulePlan, Param

if TYPE_CHECKING:
    from . import ScriptPlan

# Translates one model: (spec, names taken, every input size a constructor parameter) -> its module.
TranslateOne = Callable[[ModelSpec, set[str], bool], ModulePlan]


def factory_call_groups(models: list[ModelSpec]) -> list[list[ModelSpec]]:
    """The models one construction line of a layer factory builds at several calls, in call order."""
    groups: dict[int, list[ModelSpec]] = {}
    for spec in models:
        if spec.built_by is not None:
            groups.setdefault(id(spec.statement), []).append(spec)
    return [group for group in groups.values() if len(group) > 1]


def shared_module(
    script: KerasScript, group: list[ModelSpec], plan: ScriptPlan, translate_one: TranslateOne
) -> ModulePlan:
    """The one module every call of the factory builds; the factory's signature and calls are rewritten in ``plan``."""
    sized_by_parameters = False
    modules = [translate_one(spec, set(plan.taken), sized_by_parameters) for spec in group]
    if not _same_code(modules):
        # `input_shape=[1]` here, the fit's data there: the input size as a constructor parameter in both.
        sized_by_parameters = True
        modules = [translate_one(spec, set(plan.taken), sized_by_parameters) for spec in group]
    difference = _first_difference(modules)
    if difference is not None:
        function = group[0].built_by.function.name.value
        lines = ", ".join(str(spec.built_by.pos[0]) for spec in group)
        message = (
            f"{function}() builds different models at its calls (lines {lines}): `{difference[0]}` against `{difference[1]}`; "
            f"its one construction line cannot build both"
        )
        raise Unsupported("K2T103", message, group[0].pos)
    module = translate_one(group[0], plan.taken, sized_by_parameters)  # the one kept: its class name is taken
    differing = [
        index for index, param in enumerate(module.params) if len({m.params[index].argument for m in modules}) > 1
    ]
    if differing:
        _pass_through_factory(script, group, module, modules, differing, plan)
    module.one_feature_at_a_call = _one_feature_at_a_call(module, modules)
    return module


def _one_feature_at_a_call(module: ModulePlan, modules: list[ModulePlan]) -> bool:
    """Whether a call builds the model on one feature per row (its one input size passed as 1): its fit may then
    be given a 1-D array, which Keras reads as a column."""
    if len(module.input_shape) != 1 or module.input_shape[0] is None or module.input_shape[0].value is not None:
        return False
    index = next((i for i, p in enumerate(module.params) if p.name == module.input_shape[0].code), None)
    return index is not None and any(m.params[index].argument.strip() == "1" for m in modules if index < len(m.params))


def _pass_through_factory(
    script: KerasScript,
    group: list[ModelSpec],
    module: ModulePlan,
    modules: list[ModulePlan],
    differing: list[int],
    plan: ScriptPlan,
) -> None:
    """Each constructor argument that differs by call: a keyword parameter of the factory, passed by each call."""
    built_by = group[0].built_by
    function = built_by.function
    followed = {id(spec.built_by.call) for spec in group}
    for call in _calls_of(script.module, function.name.value):
        if id(call) not in followed:
            pos = _pos(script, call) or group[0].pos
            raise Unsupported(
                "K2T103",
                f"{function.name.value}() is called here where k2t does not follow it, and the models it builds take "
                f"`{module.params[differing[0]].name}` differently at each call",
                pos,
            )
    taken = set(script.function_locals.get(function.name.value, set()))
    keywords = []
    for index in differing:
        keyword = _free_name(module.params[index].name, taken)
        taken.add(keyword)
        keywords.append(keyword)
        module.params[index] = Param(module.params[index].name, keyword)
    passed: dict[int, list[str]] = {}
    for spec, built in zip(group, modules):
        given = [f"{keyword}={built.params[index].argument}" for keyword, index in zip(keywords, differing)]
        if passed.setdefault(id(spec.built_by.call), given) != given:
            # One call walked several times (an unrolled loop) whose models take different sizes.
            raise Unsupported(
                "K2T103",
                f"{function.name.value}() is called here for models that take different `{keywords[0]}`",
                spec.built_by.pos,
            )
    plan.added_parameters[id(function)] = keywords
    plan.added_keywords.update(passed)


def _same_code(modules: list[ModulePlan]) -> bool:
    return _first_difference(modules) is None


def _first_difference(modules: list[ModulePlan]) -> tuple[str, str] | None:
    """The first line where two modules' classes differ (names aside), or None when they are the same code."""
    from ..emit import render_module  # emit renders the plans this package makes

    texts = [
        render_module(
            dataclasses.replace(m, class_name="Net", keras_name="model", var="model"), summary=False
        ).splitlines()
        for m in modules
    ]
    names = [[p.name for p in m.params] for m in modules]
    for text, params in zip(texts[1:], names[1:]):
        if text != texts[0] or params != names[0]:
            pairs = [(a.strip(), b.strip()) for a, b in zip(texts[0], text) if a != b]
            return pairs[0] if pairs else (", ".join(names[0]), ", ".join(params))
    return None


def _free_name(name: str, taken: set[str]) -> str:
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{name}_{n}"
    return candidate


def _calls_of(module: cst.Module, function: str) -> list[cst.Call]:
    found: list[cst.Call] = []

    class Finder(cst.CSTVisitor):
        def visit_Call(self, call: cst.Call) -> None:
            if isinstance(call.func, cst.Name) and call.func.value == function:
                found.append(call)

    module.visit(Finder())
    return found


def _pos(script: KerasScript, node: cst.CSTNode) -> tuple[int, int] | None:
    if script.metadata is None:
        return None
    positions = script.metadata.resolve(PositionProvider)
    if node not in positions:
        return None
    start = positions[node].start
    return (start.line, start.column + 1)
