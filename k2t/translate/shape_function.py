"""A shape function of the script, evaluated on the shapes k2t knows: ``Lambda(fn, output_shape=shape_fn)``.

Keras calls ``output_shape`` with the input's shape, batch first and None (``(None, 6, 4)``), or a list of
shapes for a list of inputs, and reads the full output shape it returns. Classic keras's mnist_siamese::

    def eucl_dist_output_shape(shapes):
        shape1, shape2 = shapes
        return (shape1[0], 1)

k2t runs such a function statically (k2t.values folds its expressions, never the script's calls): a
``lambda s: ...`` or a top-level ``def`` of one argument whose body is assignments then one ``return``.
Sizes k2t knows only as code (``Size``, a constructor parameter) pass through unchanged or through
``+ - * //``, as the sizes of a layer do.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from ..ir import ScriptCode
from ..parse.syntax import is_docstring
from ..values import Env, Unknown, bind_target, evaluate
from .dims import Dim, Size
from .user_functions import ScriptFunctions

KerasShape = tuple[Dim, ...]  # batch first: (None, Size, ...)


@dataclass(frozen=True)
class NotEvaluated:
    """Why k2t could not evaluate the function."""

    reason: str


def output_sizes(source: ScriptCode, name: str, shapes: KerasShape | list[KerasShape]) -> list[Dim] | NotEvaluated:
    """The sizes after the batch axis that the shape function ``source`` (written ``name``) returns for ``shapes``."""
    env = Env(parent=_module_values(source))
    if isinstance(source.node, cst.Lambda):
        parameters, body = source.node.params, [cst.SimpleStatementLine([cst.Return(source.node.body)])]
    else:
        definition = ScriptFunctions.of(source.script).definitions.get(name)
        if definition is None:
            return NotEvaluated(f"`{name}` is not a function defined once at the script's top level")
        parameters, body = definition.params, list(definition.body.body)
    if (
        len(parameters.params) != 1
        or parameters.posonly_params
        or parameters.kwonly_params
        or isinstance(parameters.star_arg, cst.Param)
        or parameters.star_kwarg is not None
    ):
        return NotEvaluated(f"`{name}` is not a function of one argument (the input shape)")
    env.bind(parameters.params[0].name.value, shapes)
    returned = _run(body, env)
    if isinstance(returned, NotEvaluated):
        return returned
    return _sizes(returned, name)


def _module_values(source: ScriptCode) -> Env:
    """The script's module-level values (a top-level def reads those, not a builder's locals)."""
    env = source.env if source.env is not None else Env()
    if isinstance(source.node, cst.Lambda):
        return env  # a lambda sees where it is written
    while env.parent is not None:
        env = env.parent
    return env


def _run(body: list[cst.BaseStatement], env: Env) -> object:
    """The value the body's ``return`` gives, running its assignments before it."""
    for statement in body:
        if is_docstring(statement):
            continue
        if not isinstance(statement, cst.SimpleStatementLine):
            return NotEvaluated("its body has a statement other than assignments and a return")
        for small in statement.body:
            if isinstance(small, cst.Return) and small.value is not None:
                return _known(evaluate(small.value, env))
            if not isinstance(small, cst.Assign):
                return NotEvaluated("its body has a statement other than assignments and a return")
            value = _known(evaluate(small.value, env))
            if isinstance(value, NotEvaluated):
                return value
            for target in small.targets:
                bind_target(env, target.target, value)
    return NotEvaluated("it returns nothing")


def _known(value: object) -> object:
    return NotEvaluated(value.reason) if isinstance(value, Unknown) else value


def _sizes(returned: object, name: str) -> list[Dim] | NotEvaluated:
    if isinstance(returned, NotEvaluated):
        return returned
    if not isinstance(returned, (tuple, list)) or not returned or returned[0] is not None:
        return NotEvaluated(f"`{name}` returns {returned!r}, not one shape with the batch (None) first")
    sizes: list[Dim] = []
    for size in returned[1:]:
        if size is None or isinstance(size, Size):
            sizes.append(size)
        elif isinstance(size, int) and not isinstance(size, bool) and size >= 0:
            sizes.append(Size.of(size))
        else:
            return NotEvaluated(f"`{name}` returns {returned!r}, whose sizes are not all numbers")
    return sizes
