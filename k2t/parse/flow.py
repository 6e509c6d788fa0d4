"""Loops and branches: which `for` is unrolled, which `if` decided, what an undecided one leaves."""

from __future__ import annotations

import libcst as cst

from ..cst_walk import Visitor
from ..diagnostics import Severity
from ..ir import Todo
from ..values import Unknown, assigned_names, bind_target, target_names
from . import model_access
from .layer_programs import freeze_program_loop
from .scope import (
    _REBOUND,
    _extends_outer_models,
    _Frame,
    _identity,
    _Made,
    _made_so_far,
    _reads_image_data_format,
    _restore,
    _Scope,
    _Unfollowable,
)
from .syntax import _body_of, _jumps, _mark_subtree


class FlowMixin:
    """Loops and branches: which `for` is unrolled, which `if` decided, what an undecided one leaves. Mixed into k2t.parse.parser._Parser."""

    # ------------------------------------------------------- branches and loops
    def in_frame(self, frame: _Frame, walk) -> None:
        self.frames.append(frame)
        try:
            walk()
        finally:
            self.frames.pop()

    def carried(self, what: str, node: cst.CSTNode) -> None:
        """Raise when ``node`` extends a model or tensor made before the innermost loop or undecided branch."""
        if self.frames:
            frame = self.frames[-1]
            raise _Unfollowable(
                node,
                f"{what} inside {frame.kind} k2t cannot unroll or decide"
                + (f" ({frame.why})" if frame.why else "")
                + ": the model would depend on it",
            )

    def outer(self, scope: _Scope, *, model: str | None = None, tensor: str | None = None) -> bool:
        """Whether ``model`` / ``tensor`` was made before the innermost loop or undecided branch."""
        if not self.frames:
            return False
        frame = self.frames[-1]
        if model is not None:
            instance = scope.model(model)
            return instance is not None and id(instance.model) in frame.models
        return tensor is not None and tensor in frame.tensors

    def if_statement(self, stmt: cst.If, scope: _Scope) -> None:
        test, transient = self.evaluate(stmt.test, scope)
        tensors = self.last_tensor_reads
        decided = not isinstance(test, Unknown) and self.decides(stmt, scope)
        if decided and tensors:
            # `if shortcut.shape[-1] != filters:` decided: the test goes with the branch left out, and the
            # Keras tensor it reads (`K.int_shape(x)` too) is no use of it in code that stays.
            _mark_subtree(stmt.test, self.consumed)
            self.script.decided_tests.add(id(stmt.test))
        self.scan_expressions(stmt, stmt.test, scope)
        if decided:
            # `if K.image_data_format() == "channels_first":` runs one branch in Keras 3: only that branch is kept.
            live = "body" if test else ("orelse" if stmt.orelse is not None else None)
            if not self.inlining:  # a helper's body is walked per call: its `if` stays as written
                previous = self.script.decided_ifs.get(id(stmt), live)
                # Decided otherwise at another walk of it (an unrolled loop's iteration, a factory's call): it stays
                # as written, as Python runs it there, less the model's lines.
                self.script.decided_ifs[id(stmt)] = live if previous == live else "undecided"
                if previous != live and tensors and not self.only_model_lines(stmt):
                    # On a Keras tensor's size, which exists only while the model is built: nothing may stay of it.
                    message = (
                        f"`if {self.code(stmt.test)}` reads a Keras tensor, is decided otherwise at another walk of it, "
                        "and holds code that stays, where the tensor does not exist"
                    )
                    self.todo(stmt, stmt.test, "K2T103", message)
                dead = stmt.orelse is not None if live == "body" else True
                # (Not on a loop variable of an unrolled loop, a tensor's size or a factory's argument at one of
                # its calls: no knob of the script that one conversion leaves out.)
                if (
                    dead
                    and scope.inline is None
                    and scope.per_call is None
                    and not transient
                    and not _reads_image_data_format(stmt.test, self)
                ):
                    # `if MODEL_TYPE == "lstm": ... elif MODEL_TYPE == "gru": ...`: a knob of the script.
                    message = (
                        f"`if {self.code(stmt.test)}` is {bool(test)} in this script: k2t translated the branch "
                        f"that runs and left out the other, which builds another model (change the value in the "
                        f"Keras script and convert it again to get that one)"
                    )
                    self.script.todos.append(Todo(stmt, "K2T107", message, self.pos(stmt.test), Severity.WARNING))
            if live == "body":
                self.block(_body_of(stmt.body), scope)
            elif live == "orelse":
                orelse = stmt.orelse
                self.block([orelse] if isinstance(orelse, cst.If) else _body_of(orelse.body), scope)
            return
        before = assigned_names(stmt)
        why = test.reason if isinstance(test, Unknown) else None
        frame = _Frame(stmt, f"an `if` on `{self.code(stmt.test)}`", scope, why)
        made_before = _made_so_far(scope)
        self.in_frame(frame, lambda: self.block(_body_of(stmt.body), scope))
        made_in_body = _made_so_far(scope)
        if stmt.orelse is not None:
            orelse = stmt.orelse
            _restore(scope, made_before)  # the `else` branch starts from what existed before the `if`
            self.in_frame(
                frame, lambda: self.block([orelse] if isinstance(orelse, cst.If) else _body_of(orelse.body), scope)
            )
        made_in_orelse = _made_so_far(scope) if stmt.orelse is not None else made_before
        if isinstance(test, Unknown):
            self.join_branches(stmt, scope, made_before, (made_in_body, made_in_orelse))
        else:  # Python runs one branch: its models and tensors are what the names hold after the `if`.
            _restore(scope, made_in_body if test else made_in_orelse)
        if not isinstance(test, Unknown) or not before:
            return
        scope.env.forget(before, f"bound under `if {self.code(stmt.test)}`, which k2t cannot decide", supersede=False)

    def decides(self, stmt: cst.If, scope: _Scope) -> bool:
        """Whether an `if` whose test k2t knows is decided (one branch walked, the other dropped): on the
        image data format, in a helper or a factory walked for one call (`if downsample:`, `if use_bn:`), or where a
        branch builds on a model or tensor made before it (`if USE_BN: model.add(...)`); other `if`s stay as
        written."""
        if _reads_image_data_format(stmt.test, self) or scope.inline is not None:
            return True
        branches = [_body_of(stmt.body)]
        orelse = stmt.orelse
        if orelse is not None:
            branches.append([orelse] if isinstance(orelse, cst.If) else _body_of(orelse.body))
        if scope.per_call is not None and any(self.touches_models(branch, scope) for branch in branches):
            return True  # `if use_bn: model.compile(...)`: each call's model and compile, never the other branch's
        return any(_extends_outer_models(branch, scope, self) for branch in branches)

    def touches_models(self, body: list, scope: _Scope) -> bool:
        """Whether statements name Keras or read a model or Keras tensor the scope holds."""
        names: set[str] = set()

        class Reader(Visitor):
            def visit_Name(self, name: cst.Name) -> None:
                names.add(name.value)

        for statement in body:
            if self.mentions_keras(statement):
                return True
            statement.visit(Reader())
        return any(scope.model(name) is not None or scope.tensor(name) is not None for name in names)

    def join_branches(self, stmt: cst.If, scope: _Scope, made_before: _Made, branches: tuple[_Made, _Made]) -> None:
        """After an `if` k2t cannot decide: a name that holds a different model (or compile()) or Keras
        tensor in each branch holds one k2t cannot know, and every later use of it is reported."""
        joined: _Made = ({}, {})
        loads = {id(load.instance.model): load for load in self.script.loads}
        for kind in (0, 1):
            before = made_before[kind]
            states = [branch[kind] for branch in branches]
            for name in set().union(before, *states):
                # What the name may hold after the `if`: one value per branch (a name a branch leaves unbound
                # is no candidate; one it rebinds to something else than a model or tensor is `_REBOUND`).
                candidates = [state.get(name, _REBOUND) for state in states if name in state or name in before]
                restored = [
                    v
                    for v in candidates
                    if kind == 0 and v is not _REBOUND and v[0] is not None and id(v[0].model) in loads
                ]
                built = [v for v in candidates if v not in restored]
                if restored and built and len({_identity(v) for v in built}) == 1 and built[0] is not _REBOUND:
                    # `if exists(path): model = load_model(path) else: model = build(); model.save(path)`: the same
                    # model when the file holds the built one, which is known only once every save is (run()).
                    self.restored_joins.append((stmt, name, [loads[id(v[0].model)] for v in restored], built[0]))
                    candidates = built
                if len({_identity(value) for value in candidates}) > 1:
                    joined[kind][name] = (None, None) if kind == 0 else None
                    scope.undecided[name] = (
                        f"`{name}` holds a different model, compile() or Keras tensor in each branch of `if {self.code(stmt.test)}`, which k2t cannot decide"
                    )
                elif candidates and candidates[0] is not _REBOUND:
                    joined[kind][name] = candidates[0]
        _restore(scope, joined)

    def check_restored_joins(self) -> None:
        """An `if` that loads a model in one branch and builds one in the other: the same model only when
        the file holds the built model (and, loaded with its compile(), was saved with the same one)."""
        for stmt, name, restored, (instance, compile_spec) in self.restored_joins:
            for load in restored:
                if load.model is None:
                    continue  # the load has its own diagnostic (K2T180)
                if load.model is not instance.model or (load.compile and load.saved_compile is not compile_spec):
                    self.todo(
                        stmt,
                        stmt.test,
                        "K2T103",
                        f"`{name}` holds, after `if {self.code(stmt.test)}`, the model loaded from `{load.path.code}` "
                        "or one built in another branch, which k2t cannot tell are the same",
                    )

    def for_statement(self, stmt: cst.For, scope: _Scope) -> None:
        if model_access.freeze_loop(self, stmt, scope):  # `for layer in base.layers[:k]: layer.trainable = False`
            return
        if freeze_program_loop(self, stmt, scope):  # `if layer.name == "block5_conv1": set_trainable = True` ...
            return
        if model_access.layer_loop(self, stmt, scope):  # `for layer in model.layers: print(layer.name)`
            return
        items, _ = self.evaluate(stmt.iter, scope)
        classes = self.last_classes
        body = _body_of(stmt.body)
        unrollable = stmt.orelse is None and not _jumps(body)  # break/continue/return: iterations differ
        by_item = (
            unrollable
            and not isinstance(items, Unknown)
            and not _extends_outer_models(body, scope, self)
            and self.builds_by_item(body, stmt.target, scope)
        )
        if by_item:
            self.class_values(classes, stmt)  # `for cell in (layers.LSTM, layers.GRU):`
        self.scan_expressions(stmt, stmt.iter, scope)
        if _extends_outer_models(body, scope, self) and not isinstance(items, Unknown) and unrollable:
            # `for units in (64, 32): model.add(layers.Dense(units))`: one layer per iteration.
            try:
                items = list(items)
            except TypeError:
                items = None
            if items is not None and len(items) <= 1000:
                self.script.unrolled.add(id(stmt))
                for index, item in enumerate(items):
                    bind_target(scope.env, stmt.target, item, transient=True)
                    self.iteration = (*self.iteration, (id(stmt), index))
                    try:
                        self.block(body, scope)
                    finally:
                        self.iteration = self.iteration[:-1]
                return
        if by_item:
            try:
                items = list(items)
            except TypeError:
                items = None
            if items is not None and len(items) <= 100:
                # `for use_bn in (True, False): m = build(use_bn); m.fit(...)`: each iteration builds the model its
                # item makes. The loop stays as written; its variable holds each item where the script runs it.
                # Each iteration reads its statements afresh (`m.fit` on this iteration's model); a line that
                # translates otherwise at another iteration is reported (k2t.translate.walked_twice).
                self.script.walked_per_item.append(stmt)
                before, consumed = set(self.consumed), set(self.consumed)
                reported = len(self.script.todos)
                for index, item in enumerate(items):
                    self.consumed = set(before)
                    bind_target(scope.env, stmt.target, item)
                    self.iteration = (*self.iteration, (id(stmt), index))
                    try:
                        self.block(body, scope)
                    finally:
                        self.iteration = self.iteration[:-1]
                        consumed |= self.consumed
                self.consumed = consumed
                seen: set = set()
                kept = []
                for todo in self.script.todos[reported:]:  # each iteration's walk says it once
                    key = (id(todo.statement), todo.code, todo.message, todo.pos)
                    if key not in seen:
                        seen.add(key)
                        kept.append(todo)
                self.script.todos[reported:] = kept
                return
        names = assigned_names(stmt)
        reason = (
            f"`{self.code(stmt.iter)}` is not a sequence k2t knows" if isinstance(items, Unknown) else "a loop variable"
        )
        scope.env.forget(names, reason)
        why = items.reason if isinstance(items, Unknown) else None
        frame = _Frame(stmt, f"a loop over `{self.code(stmt.iter)}`", scope, why)
        self.in_frame(frame, lambda: self.block(body, scope))
        if stmt.orelse is not None:
            self.block(_body_of(stmt.orelse.body), scope)
        scope.env.forget(names, "rebound in a loop", supersede=False)

    def only_model_lines(self, node: cst.CSTNode) -> bool:
        """Whether every statement line inside ``node`` builds, extends or compiles a model (goes into it)."""
        lines: list[cst.SimpleStatementLine] = []

        class Finder(Visitor):
            def visit_SimpleStatementLine(self, line: cst.SimpleStatementLine) -> bool:
                lines.append(line)
                return False

        node.visit(Finder())
        return all(id(line) in self.script.model_statements for line in lines)

    def builds_by_item(self, body: list, target: cst.BaseExpression, scope: _Scope) -> bool:
        """Whether a loop's body calls a function that decides its model's layers on a parameter
        (k2t.parse.layer_factories.structure_parameters), passing it the loop's variable."""
        names = set(target_names(target))
        found = False
        parser = self

        class Finder(Visitor):
            def visit_Call(self, call: cst.Call) -> None:
                nonlocal found
                factory = scope.layer_factory(call.func.value) if isinstance(call.func, cst.Name) else None
                if factory is None or not factory.structure_parameters:
                    return
                arguments = parser.helper_arguments_or_none(call, factory, scope) or {}
                for name, (expr, where) in arguments.items():
                    if name in factory.structure_parameters and where is scope and _reads_any(expr, names):
                        found = True

            def visit_FunctionDef(self, node) -> bool:
                return False

            def visit_ClassDef(self, node) -> bool:
                return False

        for statement in body:
            statement.visit(Finder())
        return found

    def helper_arguments_or_none(self, call: cst.Call, helper, scope: _Scope):
        try:
            return self.helper_arguments(call, helper, scope)
        except _Unfollowable:
            return None

    def layer_key(self, node: cst.CSTNode) -> object:
        """The identity of the layer object a call creates: one per iteration of an unrolled loop."""
        return (id(node), self.iteration) if self.iteration else id(node)


def _reads_any(node: cst.CSTNode, names: set[str]) -> bool:
    """Whether an expression reads one of ``names`` (not as an attribute's name)."""
    found = False

    class Reader(Visitor):
        def visit_Name(self, name: cst.Name) -> None:
            nonlocal found
            found = found or name.value in names

        def visit_Attribute(self, attribute: cst.Attribute) -> bool:
            attribute.value.visit(self)
            return False

    node.visit(Reader())
    return found
