"""Keras 2's VAE loss: a loss function of the script that reads the model's inner tensors.

Chollet's VAE (and keras/examples/variational_autoencoder.py of Keras 2.0) compiles the model with a function
that closes over two of its tensors::

    def vae_loss(x, x_decoded_mean):
        xent_loss = original_dim * metrics.binary_crossentropy(x, x_decoded_mean)
        kl_loss = -0.5 * K.sum(1 + z_log_var - K.square(z_mean) - K.exp(z_log_var), axis=-1)
        return K.mean(xent_loss + kl_loss)

    vae.compile(optimizer="rmsprop", loss=vae_loss)

Keras 2 built the loss on the graph once, at compile(), so ``z_mean`` and ``z_log_var`` are the values the
forward pass of each batch computes. The parser records, for each top-level function a compile() names as
its loss, the module-level Keras tensors it reads (``ClosureTensor``) and walks its body as plain code;
k2t.translate.loss_closures passes those tensors to the rewritten function from the module's forward pass,
or reports them where the function is no such loss (K2T103).
"""

from __future__ import annotations

import libcst as cst

from ..cst_walk import Visitor
from ..ir import ClosureTensor
from .syntax import body_locals


def compiled_loss_names(module: cst.Module) -> set[str]:
    """The names given as a loss to some ``.compile(...)`` of the script: ``loss=vae_loss``, or the second
    positional argument (``compile("rmsprop", vae_loss)``)."""
    found: set[str] = set()

    class Compiles(Visitor):
        def visit_Call(self, node: cst.Call) -> None:
            if not (isinstance(node.func, cst.Attribute) and node.func.attr.value == "compile"):
                return
            positional = [arg for arg in node.args if arg.keyword is None and not arg.star]
            given = [arg.value for arg in node.args if arg.keyword is not None and arg.keyword.value == "loss"]
            given += [positional[1].value] if len(positional) > 1 else []
            found.update(value.value for value in given if isinstance(value, cst.Name))

    module.visit(Compiles())
    return found


def closure_tensors(parser, stmt: cst.FunctionDef, scope) -> tuple[ClosureTensor, ...]:
    """The module-level Keras tensors the body of ``stmt`` reads, each once, in the order it first reads them."""
    hidden = body_locals(parser.code(stmt)) | {
        param.name.value for param in [*stmt.params.posonly_params, *stmt.params.params, *stmt.params.kwonly_params]
    }
    found: dict[str, ClosureTensor] = {}

    class Reads(Visitor):
        statement: cst.CSTNode | None = None

        def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
            self.statement = node

        def visit_Name(self, node: cst.Name) -> None:
            if node.value in hidden or node.value in found:
                return
            tensor = scope.tensor(node.value)
            if tensor is not None:
                found[node.value] = ClosureTensor(node.value, tensor, parser.pos(node), self.statement)

        def visit_Attribute(self, node: cst.Attribute) -> bool:
            node.value.visit(self)  # `K.sum`: `sum` is an attribute, not a name of the module
            return False

        def visit_Arg(self, node: cst.Arg) -> bool:
            node.value.visit(self)  # `axis=-1`: the keyword is no name read
            return False

        def visit_Lambda(self, node: cst.Lambda) -> bool:
            return False  # a scope of its own

        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return False

    stmt.body.visit(Reads())
    return tuple(found.values())
