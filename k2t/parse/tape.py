"""Training loops written with tf.GradientTape (keras.io's "Writing a training loop from scratch").

What is recorded (k2t.ir.CustomTraining), each only in the form whose torch
meaning is certain; any other form of the same construct is a located TODO:

- ``with tf.GradientTape() as tape:``: autograd records every operation anyway,
  so the block's body runs as it is;
- ``grads = tape.gradient(loss, model.trainable_weights)`` (or ``trainable_variables``);
- ``optimizer.apply_gradients(zip(grads, model.trainable_weights))``;
- a Keras loss object called on ``(y_true, y_pred)``, a Keras metric object's
  ``update_state`` / ``result`` / ``reset_state`` (Keras 2: ``reset_states``);
- ``model(x, training=True)`` (or False, or no ``training``) on data;
- ``@tf.function``, which only compiles the step into a graph.
"""

from __future__ import annotations

import libcst as cst

from ..ir import AppliedGradients, DirectModelCall, GradientClip, KerasCall, ObjectCall, TapeGradient
from .scope import _Scope
from .syntax import _body_of, _mark_subtree

TAPE = "tensorflow.GradientTape"
TF_FUNCTION = "tensorflow.function"
CLIP_BY_GLOBAL_NORM = "tensorflow.clip_by_global_norm"
TRAINABLE = frozenset({"trainable_weights", "trainable_variables"})
MEAN = "keras.metrics.Mean"  # update_state(values): one argument
METRIC_METHODS = frozenset({"update_state", "result", "reset_state", "reset_states"})


class TapeMixin:
    """tf.GradientTape loops. Mixed into k2t.parse.parser._Parser, whose ``tape_blocks`` maps the names bound by
    ``with tf.GradientTape() as <name>:`` to that block."""

    tape_blocks: dict[str, cst.With]

    def tape_block(self, stmt: cst.With, scope: _Scope) -> bool:
        """``with tf.GradientTape() as tape:``: recorded and its body walked; True when handled."""
        tapes = [
            item for item in stmt.items if isinstance(item.item, cst.Call) and self.keras_name(item.item.func) == TAPE
        ]
        if not tapes:
            return False
        if len(stmt.items) > 1:
            # `with tf.GradientTape() as gen_tape, tf.GradientTape() as disc_tape:` (the GAN step): two backward()
            # through one graph would add each loss's gradients into the other model's.
            for item in stmt.items:
                _mark_subtree(item.item, self.consumed)
            message = "several tapes (or other contexts) in one `with` are not translated: k2t translates `with tf.GradientTape() as tape:` alone"
            self.todo(stmt, tapes[0].item, "K2T150", message)
            self.block(_body_of(stmt.body), scope)
            return True
        item = stmt.items[0]
        call = item.item
        _mark_subtree(item, self.consumed)
        if call.args or item.asname is None or not isinstance(item.asname.name, cst.Name):
            # persistent=True (several gradients of one recording), watch_accessed_variables=False, or no
            # `as tape`: torch's autograd has no recording object to stand for it.
            what = self.code(call) if call.args else "a tape not bound by `as <name>`"
            self.todo(
                stmt,
                call,
                "K2T150",
                f"tf.GradientTape: {what} is not translated (k2t translates `with tf.GradientTape() as tape:`)",
            )
            self.block(_body_of(stmt.body), scope)
            return True
        self.tape_blocks[item.asname.name.value] = stmt
        self.script.custom_training.tapes.append(stmt)
        self.block(_body_of(stmt.body), scope)
        return True

    def tf_function_decorators(self, stmt: cst.FunctionDef) -> None:
        """``@tf.function`` (or ``@tf.function(...)``): compiles the step into a graph; it goes."""
        for decorator in stmt.decorators:
            target = decorator.decorator
            func = target.func if isinstance(target, cst.Call) else target
            if self.keras_name(func) == TF_FUNCTION:
                _mark_subtree(decorator, self.consumed)
                self.script.custom_training.decorators.append(decorator)

    def custom_training_call(self, statement, node: cst.Call, scope: _Scope) -> bool:
        """A call of the tape loop's vocabulary; True when recorded or reported."""
        func = node.func
        if self.keras_name(func) == CLIP_BY_GLOBAL_NORM:
            self.gradient_clip(statement, node)
            return True
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
            receiver, method = func.value.value, func.attr.value
            if method == "gradient" and receiver in self.tape_blocks:
                self.tape_gradient(statement, node, scope)
                return True
            built = _built(scope, receiver)
            if built is not None and built[0].name.startswith("keras.optimizers.") and method == "apply_gradients":
                self.applied_gradients(statement, node, receiver, built, scope)
                return True
            if built is not None and built[0].name.startswith("keras.metrics.") and method in METRIC_METHODS:
                return self.object_call(statement, node, receiver, built, method)
            return False
        if isinstance(func, cst.Name):
            built = _built(scope, func.value)
            if built is not None and built[0].name.startswith(("keras.losses.", "keras.metrics.")):
                return self.object_call(statement, node, func.value, built, None)
            if scope.model(func.value) is not None and scope.tensor(func.value) is None:
                return self.model_call(statement, node, func.value, scope)
        return False

    def tape_gradient(self, statement, node: cst.Call, scope: _Scope) -> None:
        _mark_subtree(node, self.consumed)
        small = _only_statement(statement)
        positional = [arg.value for arg in node.args if arg.keyword is None]
        model = _trainable_of(positional[1], scope) if len(positional) == 2 else None
        if not (
            isinstance(small, cst.Assign)
            and small.value is node
            and len(small.targets) == 1
            and isinstance(small.targets[0].target, cst.Name)
            and len(positional) == len(node.args) == 2
            and isinstance(positional[0], cst.Name)
            and model is not None
        ):
            message = (
                f"`{self.code(node)}` is not translated (k2t translates `grads = tape.gradient(loss, model.trainable_weights)`: "
                "the gradients of a loss variable w.r.t. a model's trainable weights)"
            )
            self.todo(statement, node, "K2T150", _unknown_model(positional[1:], scope) or message)
            return
        tape = self.tape_blocks[node.func.value.value]
        gradient = TapeGradient(
            statement, tape, small.targets[0].target.value, positional[0].value, model, self.pos(node)
        )
        self.script.custom_training.gradients.append(gradient)

    def gradient_clip(self, statement, node: cst.Call) -> None:
        """``grads, _ = tf.clip_by_global_norm(grads, 1.0)``: both names plain, the gradients a variable."""
        _mark_subtree(node, self.consumed)
        small = _only_statement(statement)
        positional = [arg.value for arg in node.args if arg.keyword is None]
        target = small.targets[0].target if isinstance(small, cst.Assign) and len(small.targets) == 1 else None
        names = [el.value for el in target.elements] if isinstance(target, (cst.Tuple, cst.List)) else []
        if not (
            target is not None
            and small.value is node
            and len(names) == 2
            and all(isinstance(name, cst.Name) for name in names)
            and len(positional) == len(node.args) == 2
            and isinstance(positional[0], cst.Name)
        ):
            message = f"`{self.code(node)}` is not translated (k2t translates `grads, norm = tf.clip_by_global_norm(grads, clip_norm)`)"
            self.todo(statement, node, "K2T150", message)
            return
        result, norm = (name.value for name in names)
        clip = GradientClip(
            statement,
            positional[0].value,
            result,
            None if norm == "_" else norm,
            self.code(positional[1]),
            self.pos(node),
        )
        self.script.custom_training.clips.append(clip)

    def applied_gradients(self, statement, node: cst.Call, optimizer: str, built, scope: _Scope) -> None:
        _mark_subtree(node, self.consumed)
        small = _only_statement(statement)
        pair = node.args[0].value if len(node.args) == 1 and node.args[0].keyword is None else None
        grads = model = None
        if (
            isinstance(pair, cst.Call)
            and isinstance(pair.func, cst.Name)
            and pair.func.value == "zip"
            and len(pair.args) == 2
        ):
            first, second = (arg.value for arg in pair.args)
            grads = first.value if isinstance(first, cst.Name) else None
            model = _trainable_of(second, scope)
        if not (
            isinstance(small, cst.Expr)
            and small.value is node
            and grads is not None
            and model is not None
            and isinstance(built[0], KerasCall)
        ):
            message = (
                f"`{self.code(node)}` is not translated (k2t translates "
                "`optimizer.apply_gradients(zip(grads, model.trainable_weights))` as a statement of its own)"
            )
            weights = [arg.value for arg in pair.args][1:] if isinstance(pair, cst.Call) else []
            self.todo(statement, node, "K2T100", _unknown_model(weights, scope) or message)
            return
        applied = AppliedGradients(
            statement, optimizer, built[0], built[1], grads, model, scope.model(model), self.pos(node)
        )
        self.script.custom_training.applied.append(applied)

    def object_call(self, statement, node: cst.Call, variable: str, built, method: str | None) -> bool:
        """``loss_fn(y, logits)``, ``metric.update_state(y, logits)`` (or ``metric(y, logits)``, which also returns the
        result; ``keras.metrics.Mean`` takes one value), ``metric.result()``, ``metric.reset_state()``."""
        if not isinstance(built[0], KerasCall):
            return False  # `loss_fn = keras.losses.mse`: a function, not an object
        _mark_subtree(node.func, self.consumed)
        arity = 0 if method in ("result", "reset_state", "reset_states") else 1 if built[0].name == MEAN else 2
        positional = [arg for arg in node.args if arg.keyword is None and not arg.star]
        if len(positional) != len(node.args) or len(positional) != arity:
            what = "called" if method is None else f".{method}()"
            message = f"`{self.code(node)}`: the Keras object `{variable}` {what} with these arguments is not translated (sample_weight=, *args)"
            self.todo(statement, node, "K2T100", message)
            return True
        args = tuple(self.code(arg.value) for arg in positional)
        self.script.custom_training.objects.append(
            ObjectCall(node, variable, built[0], built[1], method, args, self.pos(node))
        )
        return True

    def model_call(self, statement, node: cst.Call, model: str, scope: _Scope) -> bool:
        """``logits = model(x, training=True)`` on data (not on Keras tensors, which the Functional API follows), in a
        line holding one statement."""
        small = _only_statement(statement)
        training = False  # Keras's model(x) without `training` runs in inference mode
        positional = [arg for arg in node.args if arg.keyword is None]
        keywords = [arg for arg in node.args if arg.keyword is not None]
        for arg in keywords:
            if (
                arg.keyword.value == "training"
                and isinstance(arg.value, cst.Name)
                and arg.value.value in ("True", "False")
            ):
                training = arg.value.value == "True"
            else:
                return False  # other keywords, or a training flag k2t cannot read: K2T140 as before
        if len(positional) != 1 or positional[0].star or small is None:
            return False  # several statements on the line: the mode switch goes before a line of its own
        self.consumed.add(id(node.func))
        for arg in keywords:
            _mark_subtree(arg, self.consumed)
        call = DirectModelCall(
            node, statement, model, scope.model(model), training, self.code(positional[0].value), self.pos(node)
        )
        self.script.custom_training.model_calls.append(call)
        return True


def _built(scope: _Scope, name: str):
    """The construction of the Keras object a variable holds (``loss_fn = keras.losses.X(...)``), with its statement;
    None for a name bound to a bare Keras symbol (``reduction = tf.losses.Reduction.NONE``)."""
    bound = scope.binding(name)
    return bound if bound is not None and isinstance(bound[0], KerasCall) else None


def _only_statement(statement) -> cst.BaseSmallStatement | None:
    if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1:
        return statement.body[0]
    return None


def _trainable_of(node: cst.BaseExpression, scope: _Scope) -> str | None:
    """``model.trainable_weights`` / ``model.trainable_variables``: the model variable."""
    if (
        isinstance(node, cst.Attribute)
        and node.attr.value in TRAINABLE
        and isinstance(node.value, cst.Name)
        and scope.model(node.value.value) is not None
    ):
        return node.value.value
    return None


def _unknown_model(nodes: list[cst.BaseExpression], scope: _Scope) -> str | None:
    """Why ``model.trainable_weights`` names no model k2t translates (a model it could not follow), if so."""
    for node in nodes:
        if (
            isinstance(node, cst.Attribute)
            and node.attr.value in TRAINABLE
            and isinstance(node.value, cst.Name)
            and scope.model(node.value.value) is None
        ):
            return (
                f"`{node.value.value}` is not a model k2t translates, so neither is the update of its trainable weights"
            )
    return None
