"""Keras 2's VAE loss: a loss function of the script that reads the model's inner tensors (k2t.parse.loss_closures).

Keras 2 built ``vae_loss(x, x_decoded_mean)`` on the graph at compile(), so the ``z_mean`` and ``z_log_var``
it reads are what each batch's forward pass computes. The conversion says so in PyTorch terms:

- forward keeps those tensors for the training (``self.loss_tensors = {"z_mean": z_mean, ...}``, after the
  line computing the last of them, in the order it computes them; predict ignores them);
- the function takes them as parameters after ``y_true, y_pred`` (``def vae_loss(x, x_decoded_mean, z_mean,
  z_log_var)``), so its body reads them as it read the script's tensors;
- the generated loss wrapper receives them from the model (``vae_loss_mean(output, targets,
  **model.loss_tensors)``), in fit and evaluate alike, as Keras computed the loss in both.

What k2t does not follow stays a K2T103 at the tensor the function reads: a function that no compile() of the
model computing those tensors takes as its loss (a metric, another model's loss), a model of several outputs or
with a mask, a tensor forward does not hold under one name in Keras's layout.
"""

from __future__ import annotations

import libcst as cst

from ..diagnostics import Unsupported
from ..ir import ClosureTensor, KerasScript, Todo
from .plan import ModulePlan
from .user_functions import UserFunction


def closure_of(script: KerasScript, function: UserFunction) -> tuple[ClosureTensor, ...]:
    """The graph tensors the loss function ``function`` reads; () for a loss that reads none."""
    if function.loss_object or function.metric_object or function.code != function.definition:
        return ()
    return script.loss_closures.get(function.definition, ())


def pass_tensors(
    script: KerasScript, function: UserFunction, closed: tuple[ClosureTensor, ...], module: ModulePlan
) -> list[tuple[str, str]]:
    """Make ``module``'s forward keep the tensors ``closed`` for ``function``: (name, forward variable) each.
    Unsupported (K2T103, at the first tensor it cannot pass) where k2t does not follow it."""
    first = closed[0]
    what = f"the loss `{function.definition}` reads the Keras tensor `{first.name}`"
    if module.forward_lines is None or len(module.output_names) != 1:
        raise Unsupported(
            "K2T103", f"{what}: k2t passes it only to the loss of a Functional model of one output", first.pos
        )
    if module.output_mask is not None:
        raise Unsupported("K2T103", f"{what}: a model whose output carries a mask is not translated", first.pos)
    definition = _definition(script, function.definition)
    params = definition.params if definition is not None else None
    if (
        params is None
        or len(params.params) != 2
        or any(p.default is not None for p in params.params)
        or (
            params.star_arg is not cst.MaybeSentinel.DEFAULT
            or params.kwonly_params
            or params.posonly_params
            or params.star_kwarg is not None
        )
    ):
        raise Unsupported("K2T103", f"{what}: k2t passes it to a function of (y_true, y_pred) only", first.pos)
    taken = {p.name.value for p in params.params}
    pairs: list[tuple[str, str]] = []
    for tensor in closed:
        var = module.node_vars.get(id(tensor.tensor))
        message = f"the loss `{function.definition}` reads the Keras tensor `{tensor.name}`"
        if var is None:
            raise Unsupported(
                "K2T103", f"{message}, which the model `{module.var}` does not compute (in Keras's layout)", tensor.pos
            )
        assigned = _assignments(module.forward_lines, var)
        if assigned != (0 if var in module.forward_args else 1) or tensor.name in taken:
            raise Unsupported("K2T103", f"{message}: forward does not keep it under one name", tensor.pos)
        pairs.append((tensor.name, var))
    # in the order forward computes them: `vae_loss(x, x_decoded_mean, z_mean, z_log_var)`
    pairs.sort(key=lambda pair: _assigned_at(module.forward_lines, pair[1]))
    if module.loss_tensors and module.loss_tensors != pairs:
        raise Unsupported("K2T103", f"{what}: the model is compiled with another loss reading others", first.pos)
    if not module.loss_tensors:
        module.loss_tensors = pairs
        _keep_in_forward(module, function.definition)
    return pairs


def _keep_in_forward(module: ModulePlan, function: str) -> None:
    """``self.loss_tensors = {...}`` after the line computing the last of the tensors."""
    assert module.forward_lines is not None
    variables = {var for _, var in module.loss_tensors}
    last = max((index for index, line in enumerate(module.forward_lines) if _targets(line) & variables), default=-1)
    kept = ", ".join(f'"{name}": {var}' for name, var in module.loss_tensors)
    lines = [
        f"# what the loss `{function}` reads besides y_true and y_pred (Keras 2 built it on these tensors)",
        f"self.loss_tensors = {{{kept}}}",
    ]
    module.forward_lines[last + 1 : last + 1] = lines


def report_unused(script: KerasScript, used: set[str], todos: list[Todo]) -> None:
    """A loss function reading the graph's tensors that no translated compile() took: its reads are K2T103s (the
    tensors exist only inside the module)."""
    for name, closed in script.loss_closures.items():
        if name in used:
            continue
        for tensor in closed:
            message = (
                f"the loss `{name}` reads the Keras tensor `{tensor.name}`; k2t passes it to the loss only where a "
                "translated compile() of the model computing it takes the function as its loss"
            )
            todos.append(Todo(tensor.statement, "K2T103", message, tensor.pos))


def _definition(script: KerasScript, name: str) -> cst.FunctionDef | None:
    for statement in script.module.body:
        if isinstance(statement, cst.FunctionDef) and statement.name.value == name:
            return statement
    return None


def _targets(line: str) -> set[str]:
    head, sep, _ = line.partition(" = ")
    if not sep or head.lstrip().startswith("#"):
        return set()
    return {part.strip() for part in head.split(",")}


def _assigned_at(lines: list[str], var: str) -> int:
    """The index of the line computing ``var``; -1 for an input of forward (``x``, the VAE's Input)."""
    return next((index for index, line in enumerate(lines) if var in _targets(line)), -1)


def _assignments(lines: list[str], var: str) -> int:
    return sum(var in _targets(line) for line in lines)
