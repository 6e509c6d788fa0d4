"""Functions that make what a model is built of, applied where the script calls them.

Real scripts wrap a layer's long constructor in a function (``def conv(filters, kernel_size, strides=1): return
Conv2D(filters, kernel_size, strides=strides, padding="same", kernel_regularizer=l2(1e-4))``) and write blocks as
closures (``def residual_unit(filters): def f(x): ...; return f``), then apply them to tensors:
``conv(16, 3)(inputs)``, ``residual_unit(64)(x)``. Python runs the function at each call, so each call makes new
layers: k2t evaluates the call's arguments (values it must know, as they become the layers' sizes) and follows
the returned layer, or walks the returned function's body as a helper of tensors with the closure's parameters
bound. A maker every use of which k2t followed goes from the output with the model that holds its layers; one used
otherwise stays, its body reported as written.
"""

from __future__ import annotations

import libcst as cst

from ..cst_walk import Visitor
from ..ir import KerasCall, Todo
from ..values import Unknown, is_constant
from .scope import _Helper, _Scope, _Unfollowable
from .syntax import _body_of, is_docstring


def _statements(node: cst.FunctionDef) -> list:
    return [s for s in _body_of(node.body) if not is_docstring(s)]


def _returned(statement) -> cst.BaseExpression | None:
    if (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Return)
    ):
        return statement.body[0].value
    return None


def returned_layer(node: cst.FunctionDef) -> cst.Call | None:
    """``return Conv2D(...)``, the whole body of a layer maker."""
    body = _statements(node)
    value = _returned(body[0]) if len(body) == 1 else None
    return value if isinstance(value, cst.Call) else None


def returned_function(node: cst.FunctionDef) -> cst.FunctionDef | None:
    """``def f(x): ...`` then ``return f``, the whole body of a closure maker."""
    body = _statements(node)
    if len(body) != 2 or not isinstance(body[0], cst.FunctionDef) or body[0].decorators:
        return None
    value = _returned(body[1])
    return body[0] if isinstance(value, cst.Name) and value.value == body[0].name.value else None


class MakersMixin:
    """Mixed into k2t.parse.parser._Parser."""

    def define_maker(self, stmt: cst.FunctionDef, scope: _Scope) -> bool:
        """Register a layer maker or a closure maker, walked where the script applies what it makes."""
        params = stmt.params
        if isinstance(params.star_arg, cst.Param) or params.star_kwarg is not None:
            return False
        layer = returned_layer(stmt)
        if layer is not None:
            name = self.layer_class_name(layer.func, scope)
            if name is None or not name.startswith("keras.layers.") or not name.rsplit(".", 1)[-1][:1].isupper():
                return False
        elif returned_function(stmt) is None:
            return False
        maker = _Helper(stmt, scope, frozenset())
        scope.makers[stmt.name.value] = maker
        self.makers.append(maker)
        self.maker_calls[id(maker)] = set()
        scope.env.forget([stmt.name.value], f"`{stmt.name.value}` is a function")
        return True

    def applied_maker(self, call: cst.Call, scope: _Scope) -> _Helper | None:
        """The maker ``call`` (``conv(16, 3)`` in ``conv(16, 3)(x)``) calls, if it calls one by name."""
        return scope.maker(call.func.value) if isinstance(call.func, cst.Name) else None

    def _maker_scope(self, call: cst.Call, maker: _Helper, scope: _Scope) -> _Scope:
        """The maker's body for this call: its parameters bound to the values the call gives, which k2t must know
        (the layers it makes are sized by them where the model is built, and its names do not exist there)."""
        inner = _Scope(maker.scope, maker.name)
        try:
            for name, (expr, where) in self.helper_arguments(call, maker, scope).items():
                value, _ = self.evaluate(expr, where)
                if isinstance(value, Unknown) or not is_constant(value):
                    why = value.reason if isinstance(value, Unknown) else "not a number, string or tuple of them"
                    raise _Unfollowable(
                        expr,
                        f"`{self.code(expr).strip()}`, passed to {maker.name}(), is not a value k2t knows ({why})",
                    )
                inner.env.bind(name, value, transient=True)
        except _Unfollowable as exc:
            self.maker_failures.setdefault(id(maker), {})[id(call)] = self.pos(exc.node)[0]
            raise
        self.consumed.add(id(call))
        self.consumed.add(id(call.func))
        self.maker_calls[id(maker)].add(id(call))
        maker.inlined += 1
        return inner

    def made_layer(self, call: cst.Call, maker: _Helper, scope: _Scope) -> KerasCall:
        """``conv(16, 3)``: the layer ``return Conv2D(filters, kernel_size, ...)`` makes for this call."""
        inner = self._maker_scope(call, maker, scope)
        returned = returned_layer(maker.node)
        return self.call(returned, self.layer_class_name(returned.func, inner), inner)

    def made_function(self, call: cst.Call, maker: _Helper, scope: _Scope) -> _Helper:
        """``residual_unit(64)``: the returned function, a helper of tensors seeing the closure's parameters."""
        inner = self._maker_scope(call, maker, scope)
        function = returned_function(maker.node)
        graph = self.graph_parameters(function, inner) or frozenset(
            p.name.value for p in [*function.params.posonly_params, *function.params.params][:1]
        )
        return _Helper(function, inner, graph, label=maker.name)

    def finish_makers(self) -> None:
        """A maker whose every use k2t followed goes from the output. One whose other uses are calls k2t reported
        (an argument it does not know) stays as written, following from that report; one used otherwise is walked
        as written, its body reported."""
        for maker in self.makers:
            uses = _references(self.module, maker.name) - {id(maker.node.name)}
            callers = {id(node) for node in _callers(self.module, maker.name)}
            followed = self.maker_calls[id(maker)]
            failed = self.maker_failures.get(id(maker), {})
            if len(uses) != len(callers) or not callers <= followed | set(failed):
                self.walk_definition(maker.node, maker.scope)
            elif not failed:
                self.script.removed.add(id(maker.node))
            else:
                at = min(failed.values())
                message = f"follows from line {at}, which k2t did not translate: {maker.name}() stays as written"
                self.script.todos.append(Todo(maker.node, "K2T103", message, self.pos(maker.node), follows=at))
                self.script.classes_left.add(id(maker.node))


def _references(module: cst.Module, name: str) -> set[int]:
    found: set[int] = set()

    class Finder(Visitor):
        def visit_Name(self, node: cst.Name) -> None:
            if node.value == name:
                found.add(id(node))

        def visit_Attribute(self, node: cst.Attribute) -> bool:
            node.value.visit(self)
            return False

    module.visit(Finder())
    return found


def _callers(module: cst.Module, name: str) -> list[cst.Call]:
    """The calls ``name(...)`` in the module."""
    found: list[cst.Call] = []

    class Finder(Visitor):
        def visit_Call(self, node: cst.Call) -> None:
            if isinstance(node.func, cst.Name) and node.func.value == name:
                found.append(node)

    module.visit(Finder())
    return found
