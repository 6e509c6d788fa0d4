"""Helper functions that take Keras tensors or a model, walked at each call."""

from __future__ import annotations

import libcst as cst

from ..cst_walk import Visitor
from ..ir import HelperLayer, Instance, Invocation, LayerClassChoice, TensorNode
from ..names import dotted_name
from ..values import Unknown, is_constant
from .scope import _NOT_RETURNED, _Helper, _Inline, _Scope, _Unfollowable
from .syntax import (
    BINDABLE_PREFIXES,
    MERGE_FUNCTIONS,
    _body_of,
    _mark_subtree,
    _parameter_names,
    _plain_names,
    body_locals,
)


class HelperMixin:
    """Helper functions that take Keras tensors or a model, walked at each call. Mixed into k2t.parse.parser._Parser."""

    # ------------------------------------------------------- helper functions
    def graph_parameters(self, node: cst.FunctionDef, scope: _Scope) -> frozenset[str]:
        """The parameters a function's body uses as Keras tensors or models: what a layer is called on
        (``layers.Conv2D(f, 3)(x)``, ``layers.add([x, shortcut])``), a model it extends (``m.add(...)``),
        or what it passes on to another such function."""
        params = set(_parameter_names(node.params))
        held: set[str] = set()  # names the body binds to layer objects (`conv = layers.Conv2D(8, 3)`)
        classes: set[str] = set()  # names the body binds to one of several layer classes
        found: set[str] = set()
        parser = self

        def layer_name(func: cst.BaseExpression) -> bool:
            name = parser.keras_name(func) or ""
            return name.startswith("keras.layers.")

        callees = _callees(node.body)
        made: set[int] = set()  # `rnn = cell(units)` of a layer class parameter, then `rnn(inputs)`: no layer call

        class Finder(Visitor):
            def visit_Assign(self, assign: cst.Assign) -> None:
                value = assign.value
                targets = {t.target.value for t in assign.targets if isinstance(t.target, cst.Name)}
                if (
                    isinstance(value, cst.Call)
                    and isinstance(value.func, cst.Name)
                    and value.func.value in params
                    and targets & callees
                ):
                    made.add(id(value))
                makes_layer = isinstance(value, cst.Call) and (
                    layer_name(value.func)
                    or (isinstance(value.func, cst.Name) and value.func.value in classes)
                    or id(value) in made
                )
                if makes_layer:
                    held.update(targets)
                elif parser.layer_classes_of(value) is not None:
                    classes.update(
                        targets
                    )  # `lookup_class = layers.StringLookup if is_string else layers.IntegerLookup`

            def visit_Call(self, call: cst.Call) -> None:
                func = call.func
                if id(call) in made:
                    return
                calls_layer = (
                    (isinstance(func, cst.Call) and layer_name(func.func))
                    or (layer_name(func) and (parser.keras_name(func) or "").rsplit(".", 1)[-1] in MERGE_FUNCTIONS)
                    or (
                        isinstance(func, cst.Name)
                        and (
                            func.value in held
                            or func.value in params
                            or scope.helper(func.value) is not None
                            or scope.layer_object(func.value) is not None
                        )
                    )
                )
                if calls_layer:
                    helper = scope.helper(func.value) if isinstance(func, cst.Name) else None
                    for arg in _graph_arguments(call, helper):
                        found.update(_plain_names(arg.value) & params)
                extended = _parameter_receiving(call, "add", params)
                if extended is not None:
                    found.add(extended)

            def visit_FunctionDef(self, inner) -> bool:
                return False

            def visit_ClassDef(self, inner) -> bool:
                return False

        node.body.visit(Finder())
        return frozenset(found)

    def trained_parameters(self, node: cst.FunctionDef) -> frozenset[str]:
        """The parameters a function compiles (``def compile_and_fit(model, name): model.compile(...)``):
        a training helper, whose body k2t walks at each call with the model it receives."""
        params = set(_parameter_names(node.params))
        compiled = (_parameter_receiving(call, "compile", params) for call in _own_calls(node))
        taped = _taped_calls(node)
        predicting = (_parameter_predicting(call, params, taped) for call in _own_calls(node))
        return frozenset(name for name in (*compiled, *predicting) if name is not None)

    def training_helper_call(self, statement, node: cst.Call, scope: _Scope) -> bool:
        """``compile_and_fit(tiny, "tiny")``: the helper's compile, fit, evaluate and predict, walked for the model
        passed; its definition stays, with those lines translated for every model it receives."""
        helper = self.helper_call(node, scope)
        if helper is None or not helper.trains:
            return False
        arguments = self.helper_arguments(node, helper, scope)
        for param in helper.graph_parameters:
            expr, where = arguments[param]
            if not (isinstance(expr, cst.Name) and where is scope and scope.model(expr.value) is not None):
                return False
        returned = self.inline_helper(statement, node, helper, scope)
        target = _assigned_name(statement, node)
        if target is not None:
            # `trained = compile_fit(model, ...)` returning its model: the name is that model; else a value.
            if isinstance(returned, Instance):
                scope.models[target] = returned
            else:
                scope.models.pop(target, None)
        return True

    def helper_call(self, node: cst.Call, scope: _Scope) -> _Helper | None:
        """The helper function ``node`` calls, when it calls one by name."""
        if isinstance(node.func, cst.Name):
            return scope.helper(node.func.value)
        return None

    def inline_helper(self, line, call: cst.Call, helper: _Helper, scope: _Scope, target: str | None = None):
        """Walk ``helper``'s body for this call, its parameters bound to the call's arguments; what it returns."""
        if helper in self.inlining:
            raise _Unfollowable(call, f"{helper.name}() calls itself; k2t does not follow recursive model code")
        if len(self.inlining) > 50:
            raise _Unfollowable(call, f"helper functions nested more than 50 deep at {helper.name}()")
        inner = _Scope(helper.scope, helper.name)
        inner.inline = _Inline(helper.name, target or helper.name)
        arguments = self.helper_arguments(call, helper, scope)
        for name in body_locals(self.code(helper.node)) - set(arguments):
            # A name the body binds is its local throughout: it reads no module-level Keras tensor of that name.
            inner.tensors[name] = None
            inner.tensor_lists[name] = None
        for name, (expr, where) in arguments.items():
            self.bind_parameter(inner, name, expr, where, helper, scope, line)
        invocation = self.invocation(call, helper, inner, list(arguments))
        self.consumed.add(id(call))
        self.consumed.add(id(call.func))
        frames, self.frames = self.frames, []  # the body's own loops and branches, not the caller's
        self.iteration = (*self.iteration, ("call", id(call)))  # new layer objects per call
        self.inlining.append(helper)
        self.invocations.append(invocation)
        try:
            self.block(_body_of(helper.node.body), inner)
        finally:
            self.inlining.pop()
            self.invocations.pop()
            self.iteration = self.iteration[:-1]
            self.frames = frames
        helper.inlined += 1
        self.adapted_in_helper(line, call, helper, inner, target)
        returned = inner.inline.returned
        if isinstance(returned, tuple):
            invocation.returned, invocation.returns_tuple = returned, True
        elif isinstance(returned, TensorNode):
            invocation.returned = (returned,)
        return None if returned is _NOT_RETURNED else returned

    def layer_classes_of(self, node: cst.BaseExpression) -> tuple[tuple[cst.BaseExpression, str], ...] | None:
        """``layers.StringLookup if is_string else layers.IntegerLookup``: each branch with its Keras layer class."""
        if not isinstance(node, cst.IfExp):
            return None
        branches = tuple((branch, self.keras_name(branch) or "") for branch in (node.body, node.orelse))
        if all(name.startswith("keras.layers.") and name.rsplit(".", 1)[-1][:1].isupper() for _, name in branches):
            return branches
        return None

    def layer_class_choice(self, line, small: cst.BaseSmallStatement, scope: _Scope) -> bool:
        """``lookup_class = layers.StringLookup if is_string else layers.IntegerLookup`` in a helper walked for one
        call, whose test the call decides: the name holds that class here (k2t.ir.LayerClassChoice)."""
        if scope.inline is None or not (
            isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name)
        ):
            return False
        branches = self.layer_classes_of(small.value)
        if branches is None:
            return False
        test, _ = self.evaluate(small.value.test, scope)
        if isinstance(test, Unknown):
            return False
        target = small.targets[0].target.value
        scope.layer_classes[target] = branches[0][1] if test else branches[1][1]
        scope.env.forget([target], "a Keras layer class")
        for branch, _ in branches:
            _mark_subtree(branch, self.consumed)
        if not any(choice.statement is line for choice in self.script.layer_class_choices):
            self.script.layer_class_choices.append(
                LayerClassChoice(line, branches, tuple(self.pos(branch) for branch, _ in branches))
            )
        return True

    def adapted_in_helper(self, line, call: cst.Call, helper: _Helper, inner: _Scope, target: str | None) -> None:
        """A layer the helper makes at this call and also uses outside the model (``normalizer.adapt(...)``): the
        function will return it to the call's name (HelperLayer), from which the model receives it."""
        params = _parameter_names(helper.node.params)  # a layer the call passes is the caller's
        made = [
            held
            for name, held in inner.layer_objects.items()
            if name not in params and held[0].bound is not None and held[0].bound.uses
        ]
        if not made:
            return
        layer = made[0][0].bound
        body = _body_of(helper.node.body)
        returned = body[-1] if body else None
        small = line.body[0] if isinstance(line, cst.SimpleStatementLine) and len(line.body) == 1 else None
        where = f"{helper.name}() makes the layer `{layer.var}` at each call and uses it outside the model"
        if len(made) > 1:
            raise _Unfollowable(
                made[1][2],
                f"{where}, and another one: k2t follows one such layer per function, which it returns to the call",
            )
        if target is None or not (isinstance(small, cst.Assign) and small.value is call):
            raise _Unfollowable(
                call,
                f"{where}: k2t follows it where the call's result is assigned to one name (`encoded = {helper.name}(...)`)",
            )
        if not (isinstance(returned, cst.SimpleStatementLine) and isinstance(returned.body[0], cst.Return)):
            raise _Unfollowable(
                helper.node.name, f"{where}: k2t follows such a function when it ends with its one `return`"
            )
        layer.held_in = target
        tensors = frozenset(name for name in inner.tensors if name in params)
        self.script.helper_layers.append(HelperLayer(line, call, helper.node, returned, layer, tensors))

    def invocation(self, call: cst.Call, helper: _Helper, inner: _Scope, params: list[str]) -> Invocation:
        """The record of this call that the tensors it makes carry: which parameters are tensors, what the others hold."""
        tensors = tuple((name, inner.tensors[name]) for name in params if name in inner.tensors)
        known = []
        for name in params:
            binding = inner.env.names.get(name)
            if name not in inner.tensors and binding is not None and is_constant(binding.value):
                known.append((name, binding.value))
        return Invocation(helper.name, self.pos(call), tensors, tuple(known))

    def helper_arguments(
        self, call: cst.Call, helper: _Helper, scope: _Scope
    ) -> dict[str, tuple[cst.BaseExpression, _Scope]]:
        """Parameter -> (the expression it receives, the scope that expression is evaluated in)."""
        params = helper.node.params
        if isinstance(params.star_arg, cst.Param) or params.star_kwarg is not None:
            raise _Unfollowable(
                call, f"{helper.name}() takes *args or **kwargs; k2t follows helpers with named parameters"
            )
        positional = [*params.posonly_params, *params.params]
        by_keyword = {p.name.value: p for p in [*params.params, *params.kwonly_params]}
        given: dict[str, tuple[cst.BaseExpression, _Scope]] = {}
        index = 0
        for arg in call.args:
            if arg.star:
                raise _Unfollowable(arg, f"{helper.name}() called with {arg.star}-arguments is not followed")
            if arg.keyword is None:
                if index >= len(positional):
                    raise _Unfollowable(
                        call, f"{helper.name}() takes {len(positional)} positional arguments (Python refuses it too)"
                    )
                given[positional[index].name.value] = (arg.value, scope)
                index += 1
            elif arg.keyword.value in by_keyword and arg.keyword.value not in given:
                given[arg.keyword.value] = (arg.value, scope)
            else:
                raise _Unfollowable(
                    arg, f"{helper.name}() has no parameter {arg.keyword.value}= (Python refuses it too)"
                )
        for param in [*positional, *params.kwonly_params]:
            if param.name.value in given:
                continue
            if param.default is None:
                raise _Unfollowable(
                    call, f"{helper.name}() is missing its argument `{param.name.value}` (Python refuses it too)"
                )
            given[param.name.value] = (param.default, helper.scope)
        return given

    def bind_parameter(
        self, inner: _Scope, name: str, expr, where: _Scope, helper: _Helper, scope: _Scope, line
    ) -> None:
        """What one parameter holds in the helper's body: a Keras tensor, model, layer, Keras object or value."""
        if where is scope and self._symbolic(expr, scope):
            if isinstance(expr, (cst.List, cst.Tuple)):
                raise _Unfollowable(expr, f"a list of Keras tensors passed to {helper.name}() is not followed")
            inner.tensors[name] = self.tensor_argument(line, name, expr, scope)
            inner.env.forget([name], "a Keras tensor")
            return
        if isinstance(expr, cst.Name) and scope.model(expr.value) is not None and where is scope:
            if self.outer(scope, model=expr.value):
                self.carried(f"`{helper.name}({expr.value}, ...)`", expr)
            self.consumed.add(id(expr))
            inner.models[name] = scope.model(expr.value)
            inner.env.forget([name], "a Keras model")
            return
        if isinstance(expr, cst.Name) and where.layer_object(expr.value) is not None:
            self.consumed.add(id(expr))
            inner.layer_objects[name] = where.layer_object(expr.value)
            inner.env.forget([name], "a Keras layer")
            return
        keras = self.keras_name(expr.func) if isinstance(expr, cst.Call) else self.keras_name(expr)
        if keras is not None and keras.startswith(BINDABLE_PREFIXES):
            # `conv_bn(x, 64, reg=regularizers.l2(1e-4))`: the object the helper's layers receive.
            bound = self.call(expr, keras, where) if isinstance(expr, cst.Call) else keras
            if not isinstance(expr, cst.Call):
                _mark_subtree(expr, self.consumed)
            inner.bindings[name] = (bound, line)
            inner.env.forget([name], "a Keras object")
            return
        if isinstance(expr, cst.Name) and where.binding(expr.value) is not None:
            self.consumed.add(id(expr))
            self.used_bindings.add(expr.value)
            inner.bindings[name] = where.binding(expr.value)
            inner.env.forget([name], "a Keras object")
            return
        self.scan_expressions(line, expr, where) if where is scope else None
        value, _ = self.evaluate(expr, where)
        if isinstance(value, Unknown):
            value = Unknown(
                f"`{self.code(expr)}`, passed to {helper.name}(), is not a value k2t knows ({value.reason})"
            )
        # The parameter does not exist where the generated module is built: code uses its value. A training
        # helper's body stays a function, run at each call: there its parameters are the code.
        inner.env.bind(name, value, transient=not helper.trains)

    def helper_return(self, line, small: cst.Return, scope: _Scope) -> None:
        """``return x`` / ``return layers.add([x, shortcut])`` / ``return x, skip`` in a helper being walked."""
        inline = scope.inline
        assert inline is not None
        if self.inlining and self.inlining[-1].trains:
            # A training helper returns what the script computes (its history, a score, the model it trained):
            # ordinary code.
            inline.returned = None
            if isinstance(small.value, cst.Name) and scope.model(small.value.value) is not None:
                self.consumed.add(id(small.value))  # `return model`: the caller's own module
                inline.returned = scope.model(small.value.value)
            elif small.value is not None:
                self.scan_expressions(line, small.value, scope)
            return
        if self.frames:
            self.carried("`return`", small)
        value = small.value
        if value is None:
            inline.returned = None
            return
        items = [el.value for el in value.elements] if isinstance(value, cst.Tuple) else [value]
        if not all(self._symbolic(item, scope) for item in items):
            raise _Unfollowable(
                value, f"{inline.name}() returns `{self.code(value)}`; k2t follows helpers that return Keras tensors"
            )
        tensors = []
        for item in items:
            tensor = self.tensor_argument(line, inline.target, item, scope)
            if isinstance(item, cst.Name):
                self.script.tensor_aliases.append((line, tensor))
            tensors.append(tensor)
        inline.returned = tuple(tensors) if isinstance(value, cst.Tuple) else tensors[0]

    def helper_statement(self, line, call: cst.Call, scope: _Scope) -> None:
        """``add_block(model, 64)`` as a statement: the layers it adds, or the tensors it builds."""
        helper = self.helper_call(call, scope)
        assert helper is not None
        if helper.trains:
            # `train_model(model, ...)`: the line stays, a call of the function it still is.
            if not self.training_helper_call(line, call, scope):
                helper.other_uses = True
                self.scan_expressions(line, call, scope)
            return
        models = [
            scope.model(a.value.value)
            for a in call.args
            if isinstance(a.value, cst.Name) and scope.model(a.value.value) is not None
        ]
        if not models and not any(self._symbolic(a.value, scope) for a in call.args):
            helper.other_uses = True  # called on data: ordinary code
            self.scan_expressions(line, call, scope)
            return
        self.inline_helper(line, call, helper, scope)
        for instance in models:
            instance.model.add_statements.append(line)

    def helper_tuple(self, line, small, scope: _Scope) -> bool:
        """``x, skip = encoder_block(x, 64)``: each name a tensor the helper returns."""
        if not (isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.value, cst.Call)):
            return False
        target = small.targets[0].target
        if not isinstance(target, (cst.Tuple, cst.List)) or not self.is_tensor_expression(small.value, scope):
            return False
        helper = self.helper_call(small.value, scope)
        if helper is None:
            return False
        names = [el.value for el in target.elements]
        if not all(isinstance(n, cst.Name) for n in names):
            raise _Unfollowable(target, "k2t follows a helper's tensors unpacked into plain names")
        for name in names:
            if self.outer(scope, tensor=name.value):
                self.carried(f"`{name.value}` updated", small.value)
        returned = self.inline_helper(line, small.value, helper, scope)
        if not isinstance(returned, tuple) or len(returned) != len(names):
            raise _Unfollowable(small.value, f"{helper.name}() does not return {len(names)} Keras tensors here")
        for name, tensor in zip(names, returned):
            scope.tensors[name.value] = tensor
            self.script.tensor_aliases.append((line, tensor))
        return True


def _assigned_name(statement, call: cst.Call) -> str | None:
    """``name = call(...)`` as the whole statement: the name."""
    if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1:
        small = statement.body[0]
        if (
            isinstance(small, cst.Assign)
            and small.value is call
            and len(small.targets) == 1
            and isinstance(small.targets[0].target, cst.Name)
        ):
            return small.targets[0].target.value
    return None


def _callees(body: cst.CSTNode) -> set[str]:
    """The names a body calls (``rnn(inputs)``), and those it passes to a call whose result it calls
    (``layers.Bidirectional(rnn)(inputs)``)."""
    found: set[str] = set()

    class Finder(Visitor):
        def visit_Call(self, call: cst.Call) -> None:
            if isinstance(call.func, cst.Name):
                found.add(call.func.value)
            if isinstance(call.func, cst.Call):
                found.update(arg.value.value for arg in call.func.args if isinstance(arg.value, cst.Name))

    body.visit(Finder())
    return found


def _parameter_receiving(call: cst.Call, method: str, params: set[str]) -> str | None:
    """``p.<method>(...)`` on one of ``params``: that parameter."""
    func = call.func
    if (
        isinstance(func, cst.Attribute)
        and func.attr.value == method
        and isinstance(func.value, cst.Name)
        and func.value.value in params
    ):
        return func.value.value
    return None


# What a function does with a model it receives that makes it a training helper (besides compiling it): the GAN
# loop of Brownlee's tutorials, `def train(g_model, d_model, gan_model, ...)`, steps its models one batch at a time.
_DATA_CALLS = frozenset({"predict", "predict_on_batch", "train_on_batch", "test_on_batch"})


def _parameter_predicting(call: cst.Call, params: set[str], taped: frozenset[int] = frozenset()) -> str | None:
    """``p.predict(...)`` or ``p.decoder.predict(...)`` (a model the model holds: keras.io's VAE plots) on one of
    ``params``, or ``p.train_on_batch(...)`` and the other one-batch calls, or ``p(x)`` among the calls ``taped``
    (those under a ``tf.GradientTape()``): that parameter, a model the function uses on data, walked at each call
    as a training helper."""
    func = call.func
    if isinstance(func, cst.Name) and func.value in params and id(call) in taped:
        return func.value  # `logits = model(x_batch, training=True)` under a GradientTape: a training loop
    if not (isinstance(func, cst.Attribute) and func.attr.value in _DATA_CALLS):
        return None
    held = func.value
    if isinstance(held, cst.Attribute):
        held = held.value
    return held.value if isinstance(held, cst.Name) and held.value in params else None


class _OwnBody(Visitor):
    """Visits a function's own body: not the functions and classes it defines."""

    def visit_FunctionDef(self, inner) -> bool:
        return False

    def visit_ClassDef(self, inner) -> bool:
        return False


def _taped_calls(node: cst.FunctionDef) -> frozenset[int]:
    """id() of the calls inside ``with tf.GradientTape() as tape:`` blocks of a function's own body."""
    found: set[int] = set()

    class Calls(Visitor):
        def visit_Call(self, call: cst.Call) -> None:
            found.add(id(call))

    class Tapes(_OwnBody):
        def visit_With(self, block: cst.With) -> None:
            if any(
                isinstance(item.item, cst.Call) and dotted_name(item.item.func).endswith("GradientTape")
                for item in block.items
            ):
                block.body.visit(Calls())

    node.body.visit(Tapes())
    return frozenset(found)


def _own_calls(node: cst.FunctionDef) -> list[cst.Call]:
    """The calls in a function's own body, not in the functions and classes it defines."""
    found: list[cst.Call] = []

    class Finder(_OwnBody):
        def visit_Call(self, call: cst.Call) -> None:
            found.append(call)

    node.body.visit(Finder())
    return found


def _graph_arguments(call: cst.Call, helper: _Helper | None) -> list[cst.Arg]:
    """The arguments of a call on Keras tensors that are tensors or models: for a helper, those its graph parameters
    receive (``transformer_encoder(x, head_size, num_heads)`` passes ``x`` as its tensor, ``head_size`` as a size),
    else all of them."""
    if helper is None:
        return list(call.args)
    params = helper.node.params
    positional = [p.name.value for p in (*params.posonly_params, *params.params)]
    chosen = []
    for index, arg in enumerate(call.args):
        if arg.star:
            return list(call.args)  # which parameter each receives is not written
        name = arg.keyword.value if arg.keyword is not None else positional[index] if index < len(positional) else None
        if name is None or name in helper.graph_parameters:
            chosen.append(arg)
    return chosen
