"""``self.add_loss(...)`` in a custom layer's ``call``: the VAE's KL term, added to the training objective.

Keras 3 keeps the tensors a layer's call adds (``Layer.add_loss``) until the model's next call, and
``Trainer.compute_loss`` adds each of them, summed over its elements (``_aggregate_additional_loss``), to
the compiled loss, in training and in evaluation alike; the logged ``loss`` is that total.

The port does the same in torch's terms: in the class, ``self.add_loss(kl)`` becomes
``self.losses.append(kl)``; the model's forward empties the layer's list before calling it
(``self.sampling.losses = []``); the module's ``added_loss()`` sums every term of the last forward pass,
and the generated fit and evaluate add it to the loss of each batch (templates/module.py.j2).

``model.add_loss(tensor)`` on a Functional model is not Keras 3 (it raises NotImplementedError there): the
parser reports it (K2T140, k2t.parse.scan) with the layer form to write instead.
"""

from __future__ import annotations

import libcst as cst

from ..cst_walk import Visitor
from ..diagnostics import Unsupported

LOSSES = "losses"  # the port's list of a layer's added terms (Keras's Layer.losses)


def add_loss_calls(method: cst.FunctionDef) -> list[cst.Call]:
    """The ``self.add_loss(...)`` calls of a method."""
    found: list[cst.Call] = []

    class Finder(Visitor):
        def visit_Call(self, node: cst.Call) -> None:
            func = node.func
            if (
                isinstance(func, cst.Attribute)
                and isinstance(func.value, cst.Name)
                and func.value.value == "self"
                and func.attr.value == "add_loss"
            ):
                found.append(node)

    method.body.visit(Finder())
    return found


def add_loss_rewrites(
    methods: dict[str, cst.FunctionDef],
) -> tuple[dict[int, str], list[tuple[cst.CSTNode, Unsupported]]]:
    """``self.add_loss(t)`` -> ``self.losses.append(t)`` in call() (by id() of the ``self.add_loss`` attribute),
    and the uses the port does not cover: add_loss elsewhere than in call(), of a callable, or with more arguments."""
    rewrites: dict[int, str] = {}
    problems: list[tuple[cst.CSTNode, Unsupported]] = []
    for name, method in methods.items():
        for call in add_loss_calls(method):
            if name != "call":
                message = f"add_loss in {name}() is not translated (k2t adds the terms a layer's call() adds)"
                problems.append((call, Unsupported("K2T100", message)))
            elif len(call.args) != 1 or call.args[0].keyword is not None or isinstance(call.args[0].value, cst.Lambda):
                problems.append(
                    (call, Unsupported("K2T100", "add_loss(...) of anything but one tensor is not translated"))
                )
            else:
                rewrites[id(call.func)] = f"self.{LOSSES}.append"
    return rewrites, problems


def adds_losses(methods: dict[str, cst.FunctionDef]) -> bool:
    """Whether the layer's call() adds loss terms."""
    call = methods.get("call")
    return call is not None and bool(add_loss_calls(call))


def added_total(owner: str) -> str:
    """The layer's terms of the last forward pass, each summed over its elements (a scalar stays itself)."""
    return f"sum(term.sum() for term in {owner}.{LOSSES})"


def clear_line(owner: str) -> str:
    """The forward line before the layer's call: Keras keeps only the terms of the model's latest call."""
    return f"{owner}.{LOSSES} = []  # the terms its add_loss adds in this forward pass"
