"""One generated class for a function that builds a model around the layer it receives, called several times.

``def build_and_compile_model(norm): model = keras.Sequential([norm, ...])``,
called with ``horsepower_normalizer`` (``input_shape=[1]``) and with
``normalizer`` (sized by the data of its first fit): the parser walks the body
at each call (k2t.parse.layer_factories), so each call has its own ModelSpec.
The function keeps one construction line, so the models are one class where they can be:
when their modules are the same code up to constructor arguments, the layer
is a constructor argument (``self.norm = norm``), each argument every call
gives alike stays as the function computes it, and each that differs becomes
a keyword parameter of the function that its calls pass
(``build_and_compile_model(horsepower_normalizer, in_features=1)``).

Models that differ in more than that (``if use_bn:`` in the body, called
with True and with False) get a class each, when the arguments k2t knows at
the calls tell them apart: the construction line becomes an ``if`` on those
parameters (``if use_bn: model = Build(...)`` / ``else: model = Build2(...)``),
with a ValueError for values no call of the script passes. Otherwise they are
a K2T103 at the construction line: one class could not be faithful to every
call.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import libcst as cst
from libcst.metadata import PositionProvider

from ..cst_walk import Visitor
from ..diagnostics import Unsupported
from ..ir import KerasScript, ModelSpec, Todo
from ..values import KerasClass, is_constant
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
) -> dict[int, ModulePlan]:
    """The module each call of the factory builds (by id() of its ModelSpec): one for every call where their
    models are the same code up to constructor arguments (the factory's signature and calls are then rewritten
    in ``plan``), else one per model the calls build, told apart by the arguments that decide them
    (``plan.dispatches``)."""
    tries = []
    for sized_by_parameters in (False, True):
        # `input_shape=[1]` here, the fit's data there: the input size as a constructor parameter in both.
        modules = [translate_one(spec, set(plan.taken), sized_by_parameters) for spec in group]
        if _same_code(modules):
            module = _one_module(script, group, plan, translate_one, modules, sized_by_parameters)
            return {id(spec): module for spec in group}
        tries.append((sized_by_parameters, modules))
    for sized_by_parameters, modules in tries:
        variants = _told_apart(group, modules)
        if variants is not None:
            return _variant_modules(script, group, plan, translate_one, variants, sized_by_parameters)
    difference = _first_difference(tries[-1][1])
    assert difference is not None
    function = group[0].built_by.function.name.value
    lines = ", ".join(str(spec.built_by.pos[0]) for spec in group)
    message = (
        f"{function}() builds different models at its calls (lines {lines}): `{difference[0]}` against `{difference[1]}`; "
        "its one construction line cannot build both, and no argument k2t knows at each call tells them apart"
    )
    raise Unsupported("K2T103", message, group[0].pos)


def _one_module(
    script: KerasScript,
    group: list[ModelSpec],
    plan: ScriptPlan,
    translate_one: TranslateOne,
    modules: list[ModulePlan],
    sized_by_parameters: bool,
) -> ModulePlan:
    module = translate_one(group[0], plan.taken, sized_by_parameters)  # the one kept: its class name is taken
    differing = [
        index for index, param in enumerate(module.params) if len({m.params[index].argument for m in modules}) > 1
    ]
    if differing:
        _pass_through_factory(script, group, module, modules, differing, plan)
    module.one_feature_at_a_call = _one_feature_at_a_call(module, modules)
    return module


@dataclass
class Dispatch:
    """The construction line of a factory whose calls build different models (``if use_bn:`` in its body, called
    with True and with False): one class per model, the one built chosen by the arguments that tell them apart."""

    branches: list[tuple[str, ModulePlan]]  # (the condition on the factory's parameters, the class it builds)
    exhaustive: bool  # the conditions cover every value (`if use_bn:` / `else:`)
    function: str
    described: str  # the values k2t translated, for the error of another

    def lines(self, target: str, device: str) -> list[str]:
        """The construction, one statement (the emitter parses it whole)."""
        text = []
        for index, (condition, module) in enumerate(self.branches):
            args = ", ".join(f"{p.name}={p.argument}" for p in module.params)
            construction = f"    {target}{module.class_name}({args}).to({device})"
            if index == len(self.branches) - 1 and self.exhaustive:
                text.append("else:")
            else:
                text.append(f"{'if' if index == 0 else 'elif'} {condition}:")
            text.append(construction)
        if not self.exhaustive:
            message = f"k2t translated {self.function}() for the models of the Keras script's calls: {self.described}"
            text += ["else:", f"    raise ValueError({message!r})"]
        return ["\n".join(text)]


def _told_apart(group: list[ModelSpec], modules: list[ModulePlan]) -> list[tuple[list[int], dict[str, object]]] | None:
    """The calls grouped by the model they build, each group with the values of the parameters that tell the groups
    apart (``{"use_bn": True}``); None when no parameter k2t knows at every call does."""
    variants: dict[str, list[int]] = {}
    for index, module in enumerate(modules):
        variants.setdefault(_code(module) + repr([p.name for p in module.params]), []).append(index)
    members = list(variants.values())
    arguments = [dict(spec.built_by.arguments) for spec in group]
    candidates = []
    for name in arguments[0]:
        if not all(name in given and _spelled(given[name]) is not None for given in arguments):
            continue
        per_variant = [{repr(arguments[i][name]) for i in indices} for indices in members]
        if all(len(values) == 1 for values in per_variant) and len({v for values in per_variant for v in values}) > 1:
            candidates.append(name)
    decisive = group[0].built_by.decisive  # prefer the parameters the body decides on
    for chosen in ([name for name in candidates if name in decisive], candidates):
        keys = [tuple(repr(arguments[indices[0]][name]) for name in chosen) for indices in members]
        if chosen and len(set(keys)) == len(keys):
            return [(indices, {name: arguments[indices[0]][name] for name in chosen}) for indices in members]
    return None


def _variant_modules(
    script: KerasScript,
    group: list[ModelSpec],
    plan: ScriptPlan,
    translate_one: TranslateOne,
    variants: list[tuple[list[int], dict[str, object]]],
    sized_by_parameters: bool,
) -> dict[int, ModulePlan]:
    """One class per model the factory's calls build, and the construction that picks it (``plan.dispatches``)."""
    built_by = group[0].built_by
    function = built_by.function.name.value
    followed = {id(spec.built_by.call) for spec in group}
    for call in _calls_of(script.module, function) if not built_by.decisive else ():  # else check_unfollowed_calls
        if id(call) not in followed:
            raise Unsupported(
                "K2T103",
                f"{function}() is called here where k2t does not follow it, and it builds different models by its arguments",
                _pos(script, call) or group[0].pos,
            )
    chosen: dict[int, ModulePlan] = {}
    branches = []
    for indices, values in variants:
        specs = [group[i] for i in indices]
        modules = [translate_one(spec, set(plan.taken), sized_by_parameters) for spec in specs]
        module = translate_one(specs[0], plan.taken, sized_by_parameters)  # its class name is taken
        plan.taken.add(module.class_name)
        if any(len({m.params[i].argument for m in modules}) > 1 for i in range(len(module.params))):
            raise Unsupported(
                "K2T103",
                f"{function}() builds models that differ by its arguments and take different sizes at its calls",
                specs[0].pos,
            )
        module.one_feature_at_a_call = _one_feature_at_a_call(module, modules)
        branches.append((_condition(values), module))
        for spec in specs:
            chosen[id(spec)] = module
    values = [v for _, v in variants]
    names = list(values[0])
    exhaustive = (
        len(names) == 1
        and len(values) == 2
        and {type(v[names[0]]) for v in values} == {bool}
        and {v[names[0]] for v in values} == {True, False}
    )
    if exhaustive and values[0][names[0]] is False:
        branches.reverse()  # `if use_bn:` first
    described = " or ".join(", ".join(f"{name}={_spelled(value)}" for name, value in v.items()) for v in values)
    plan.dispatches[id(group[0].statement)] = Dispatch(branches, exhaustive, function, described)
    return chosen


def _condition(values: dict[str, object]) -> str:
    """``use_bn``, ``not use_bn``, ``depth == 3``, ``norm is None``, ``cell is nn.LSTM``: the parameters holding
    these values."""
    parts = []
    for name, value in values.items():
        if value is True:
            parts.append(name)
        elif value is False:
            parts.append(f"not {name}")
        elif value is None or isinstance(value, KerasClass):
            parts.append(f"{name} is {_spelled(value)}")
        else:
            parts.append(f"{name} == {value!r}")
    return " and ".join(parts)


# Keras layer classes passed around as values (`for cell in (layers.LSTM, layers.GRU)`): torch's class of the same
# name (`cell.__name__` reads alike) stands in for each, as a marker of which model a factory builds.
_NAMESAKES = (
    "LSTM",
    "GRU",
    "Dropout",
    "Flatten",
    "ReLU",
    "ELU",
    "Softmax",
    "Embedding",
    "LeakyReLU",
    "PReLU",
    "Identity",
)
TORCH_NAMESAKES = {name: f"nn.{name}" for name in _NAMESAKES}


def _spelled(value: object) -> str | None:
    """How generated code writes a factory's argument, or None where it cannot."""
    if isinstance(value, KerasClass):
        return TORCH_NAMESAKES.get(value.short_name) if value.name == f"keras.layers.{value.short_name}" else None
    return repr(value) if is_constant(value) else None


def check_unfollowed_calls(script: KerasScript, plan: ScriptPlan) -> None:
    """A call of a function whose model depends on its arguments (``if use_bn:``) that k2t did not walk
    (``others = [build(False)]``): its model is not the one the function now builds for the calls it walked."""
    walked: dict[int, tuple[cst.FunctionDef, set[int]]] = {}
    for spec in script.models:
        if spec.built_by is not None and spec.built_by.decisive:
            function = spec.built_by.function
            walked.setdefault(id(function), (function, set()))[1].add(id(spec.built_by.call))
    for function, followed in walked.values():
        name = function.name.value
        decisive = sorted(
            next(s.built_by.decisive for s in script.models if s.built_by and s.built_by.function is function)
        )
        for call in _calls_of(script.module, name):
            if id(call) in followed:
                continue
            message = (
                f"{name}() is called here where k2t does not follow it, and the model it builds depends on its "
                f"arguments ({', '.join(f'`{p}`' for p in decisive)}): k2t translated the models of the calls it follows"
            )
            pos = _pos(script, call) or (0, 0)
            plan.todos.append(Todo(_statement_of(script.module, call) or function, "K2T103", message, pos))


def _statement_of(module: cst.Module, node: cst.CSTNode) -> cst.CSTNode | None:
    """The statement line (or compound statement) holding ``node``."""
    found: list[cst.CSTNode] = []
    stack: list[cst.CSTNode] = []

    class Finder(Visitor):
        def enter(self, candidate: cst.CSTNode) -> bool:
            if found:
                return False
            if isinstance(candidate, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
                stack.append(candidate)
            if candidate is node:
                found.append(stack[-1] if stack else candidate)
                return False
            return True

        def leave(self, original_node: cst.CSTNode) -> None:
            if stack and stack[-1] is original_node:
                stack.pop()

    module.visit(Finder())
    return found[0] if found else None


def translate_class_values(script: KerasScript, plan: ScriptPlan) -> None:
    """Each Keras layer class the script passes to a factory, as torch's class of its name (TORCH_NAMESAKES)."""
    for node, value, statement, pos in script.class_values:
        spelled = _spelled(value)
        if spelled is None:
            message = (
                f"`{value.name}` is passed as a value here: k2t writes torch's class of the same name in its place, "
                f"and torch has none named {value.short_name}"
            )
            plan.todos.append(Todo(statement, "K2T100", message, pos))
            continue
        plan.calls[id(node)] = spelled


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


def _code(module: ModulePlan) -> str:
    """The module's class as generated code, its names aside."""
    from ..emit import render_module  # emit renders the plans this package makes

    return render_module(dataclasses.replace(module, class_name="Net", keras_name="model", var="model"), summary=False)


def _first_difference(modules: list[ModulePlan]) -> tuple[str, str] | None:
    """The first line where two modules' classes differ (names aside), or None when they are the same code."""
    texts = [_code(m).splitlines() for m in modules]
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

    class Finder(Visitor):
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
