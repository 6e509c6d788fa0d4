"""Tensor ops in the script's own lines: ``tf.argmax(preds, axis=1)``, ``tf.cast(x, tf.float32)``,
``keras.losses.mean_squared_error(y_test, model.predict(x_test))`` outside any model, layer or function.

There TensorFlow's ops take the NumPy arrays the script holds (``predict`` returns one, in Keras as in the
conversion) and return eager tensors; their translation takes ``torch.as_tensor`` of each array argument
(no copy) and returns a torch tensor, which the rest of the script reads as it read TensorFlow's:
``.numpy()``, ``float(...)``, ``np.mean(...)``, printing, indexing. Each line is rewritten through the op
vocabulary (k2t.translate.op_code) only when every Keras/TensorFlow name the parser reported on it is an
op; a line with anything else keeps its diagnostics, as written.

keras.losses' functions called on arrays become a generated function per loss
(templates/losses/on_arrays.py.j2) that does what Keras does before the per-sample formula: y_true cast
to y_pred's dtype, both brought to the same rank (``mse(y_test, preds)`` with shapes (N,) and (N, 1) is
(N,) values in Keras; the bare formula would broadcast to (N, N)).
"""

from __future__ import annotations

import libcst as cst
from libcst.metadata import PositionProvider

from ..cst_walk import Visitor
from ..cst_walk import parents as node_parents
from ..diagnostics import Severity
from ..ir import KerasScript, Todo
from ..ops import NOT_ONE_TENSOR, OPS, PYTHON_RESULT, OpError, UnknownOp, translate_op
from ..ops.spec import is_postfix_safe
from .custom_training import training_step_scopes
from .helpers import Helper
from .losses import SAME_RANK
from .op_code import CallReplacer, OpRewrite, import_names, rewrite_ops
from .string_data import host_string_calls

_OP_CODES = ("K2T100", "K2T150")
# The functions of keras.losses (and their keras.metrics aliases) whose rows compute per sample.
_LOSS_PREFIXES = ("keras.losses.", "keras.metrics.")
# What each Keras loss function does to its arguments before the formula (keras/src/losses/losses.py):
# mean errors cast y_true and meet ranks (squeeze_or_expand_to_same_rank), crossentropies cast only,
# the sparse one squeezes labels of shape (N, 1).
_PREPARATION = {
    "mean_squared_error": "same_rank",
    "mean_absolute_error": "same_rank",
    "sparse_categorical_crossentropy": "squeeze",
}


def translate_script_ops(script: KerasScript, plan) -> None:
    """Rewrite the ops of the script's top-level lines, and of its GradientTape training steps, into
    ``plan.calls``; ``plan.todos`` loses the parser's notes on what was translated and gains the op
    vocabulary's on what was not. Runs last: a line's other calls (``model.predict(x)``, a loss object's) are
    already in ``plan.calls``, and the rewrite composes with them."""
    keras_name = import_names(script.metadata)
    positions = script.metadata.resolve(PositionProvider)
    read_as_tensors = _tensor_reads(script.module)
    scopes = training_step_scopes(script, plan)
    in_steps = {id(line) for scope in scopes for line in _lines_of(scope)}
    lines = [line for line in _top_level_lines(script.module) if id(line) not in in_steps]
    models = frozenset(model.var for model in script.models if model.var is not None)
    strings = host_string_calls(script.module, lines, keras_name, models)  # `tf.constant(["a"])` for a text model
    for line in lines:
        if id(line) in strings and _skipped(line, script, plan) is None:
            notes = _notes(line, plan)
            if all(todo.pos == _pos(positions, strings[id(line)][0].func) for todo in notes):
                _keep_strings(script.module, strings[id(line)], plan)
                plan.todos[:] = [todo for todo in plan.todos if todo not in notes]
                continue
        if _calls_any(line, keras_name, NOT_ONE_TENSOR):
            continue  # a result that is no single tensor: not followed back to NumPy
        rewrite = _rewrite_line(line, script, plan, keras_name, positions, host_arrays=True)
        if rewrite is None:
            continue
        before = set(plan.calls)
        for node, code in _outermost_nodes(line, rewrite.replacements):
            if (
                id(node) not in before
                and not _stays_tensor(line, node, read_as_tensors)
                and not _python_result(node, keras_name)
            ):
                code = f"{code if is_postfix_safe(code) else f'({code})'}.numpy()"
            plan.calls[id(node)] = code
    device = plan.name("device")
    steps = {scope.name.value for scope in scopes if isinstance(scope, cst.FunctionDef)}
    operands = {scope.name.value: _operand_parameters(scope) for scope in scopes if isinstance(scope, cst.FunctionDef)}
    for scope in scopes:
        tensors = _step_tensors(scope, script, plan, keras_name, steps)
        for line in _lines_of(scope):
            _step_arguments(line, script, plan, operands, tensors, device)
            rewrite = _rewrite_line(
                line,
                script,
                plan,
                keras_name,
                positions,
                device=device,
                host_arrays=True,
                arrays_device=device,
                known_tensor=tensors,
            )
            if rewrite is None:
                if _skipped(line, script, plan) is None and not _notes(line, plan):
                    _step_operands(line, tensors, device, plan)  # `err = yb - pred`: no op, a batch meets a tensor
                continue
            before = set(plan.calls)
            for node, code in _outermost_nodes(line, rewrite.replacements):
                read = _numpy_read(line, node)
                if read is not None and id(node) not in before:
                    # TensorFlow's eager value: torch's may require grad and sit on the GPU.
                    plan.calls[id(read)] = f"{code if is_postfix_safe(code) else f'({code})'}.detach().cpu().numpy()"
                else:
                    plan.calls[id(node)] = code


def _python_result(node: cst.CSTNode, keras_name) -> bool:
    """``keras.backend.epsilon()``, ``tf.compat.as_bytes("JFIF")``: a Python value, which has no ``.numpy()``."""
    row = OPS.get(keras_name(node.func)) if isinstance(node, cst.Call) else None
    return row is not None and row.name in PYTHON_RESULT


def _skipped(line: cst.CSTNode, script: KerasScript, plan) -> str | None:
    """Why the line is no line for the op rewrite (None: it is one)."""
    if id(line) in script.removed or id(line) in script.model_statements or id(line) in plan.statements:
        return "translated whole"
    return None


def _notes(line: cst.CSTNode, plan) -> list[Todo]:
    return [todo for todo in plan.todos if todo.statement is line and todo.severity is Severity.ERROR]


def _rewrite_line(line, script: KerasScript, plan, keras_name, positions, **mode) -> OpRewrite | None:
    """The op rewrite of one line, its notes replaced by the rewrite's problems; None where the line keeps the
    parser's notes (something on it is no op of the vocabulary, or another translation replaces a part of it)."""
    if _skipped(line, script, plan) is not None:
        return None
    notes = _notes(line, plan)
    if not notes or any(todo.code not in _OP_CODES or todo.follows is not None for todo in notes):
        return None
    if _replaced_inside(line, plan):
        return None  # an argument or a statement replaced by another translation: left as it is

    def other_calls(original: cst.Call, updated: cst.Call) -> str | None:
        name = keras_name(original.func)
        if name is not None and name.startswith(_LOSS_PREFIXES) and name in OPS:
            return _loss_on_arrays(name, updated, plan)
        return plan.calls.get(id(original))

    rewrite = rewrite_ops(line, keras_name, calls=other_calls, **mode)
    handled = {_pos(positions, node) for node in rewrite.handled}
    unknown = any(
        isinstance(problem.error, UnknownOp) or id(problem.node) not in _called(line) for problem in rewrite.problems
    )
    if unknown or not handled >= {todo.pos for todo in notes}:
        # No op of the vocabulary (`tf.ConfigProto()`, `tf.float32` alone), or something the parser saw that
        # the op vocabulary does not answer for: the parser's notes say it (a loss function generated for the
        # line is then used nowhere, and the emitter leaves it out).
        return None
    plan.todos[:] = [todo for todo in plan.todos if todo not in notes]
    plan.todos += [
        Todo(line, problem.error.code, problem.error.message, _pos(positions, problem.node))
        for problem in rewrite.problems
    ]
    return rewrite


def _keep_strings(module: cst.Module, found: tuple[cst.Call, str], plan) -> None:
    """``tf.constant(["a", "b"])`` -> ``np.array(["a", "b"])``: NumPy's strings, which the converted text layers
    and fit / predict take. Inside ``model.predict(...)``, which its translation (already in ``plan.calls``) writes
    with the argument's source text, that text is the one replaced: the emitter writes the outer call's code."""
    call, code = found
    plan.calls[id(call)] = code
    written = module.code_for_node(call)
    for outer in _enclosing_calls(module, call):
        translated = plan.calls.get(id(outer))
        if translated is not None and translated.count(written) == 1:
            plan.calls[id(outer)] = translated.replace(written, code)


def _enclosing_calls(module: cst.Module, node: cst.CSTNode) -> list[cst.Call]:
    """The calls around ``node``, innermost first."""
    path: list[cst.CSTNode] = []
    found: list[cst.Call] = []

    class Finder(Visitor):
        def enter(self, visited: cst.CSTNode) -> bool:
            if found or visited is node:
                found.extend(reversed([item for item in path if isinstance(item, cst.Call)]))
                return False
            path.append(visited)
            return True

        def leave(self, original_node: cst.CSTNode) -> None:
            if path and path[-1] is original_node:
                path.pop()

    module.visit(Finder())
    return found


def _loss_on_arrays(name: str, call: cst.Call, plan) -> str | None:
    """``mean_squared_error(y_test, preds)``: the generated function for the loss (its keyword arguments,
    literals, fixed in it), or None where the row does not translate them (the op rewrite then reports)."""
    empty = cst.Module(body=[])
    positional = [arg for arg in call.args if arg.keyword is None]
    keywords = {arg.keyword.value: empty.code_for_node(arg.value) for arg in call.args if arg.keyword is not None}
    if len(positional) != 2 or any(arg.star for arg in call.args) or set(keywords) & {"y_true", "y_pred"}:
        return None
    try:
        expression = translate_op(name, ["y_true", "y_pred"], keywords).code
    except OpError:
        return None
    short = name.rsplit(".", 1)[-1]
    prepare = _PREPARATION.get(short, "cast")
    helper = Helper(
        short,
        "losses/on_arrays.py.j2",
        (
            ("keras_name", name),
            ("expression", expression),
            ("prepare", prepare),
            ("same_rank", plan.name(SAME_RANK.name)),
        ),
        (SAME_RANK,) if prepare == "same_rank" else (),
    )
    function = plan.name(plan.add_helper(helper).name)
    return f"{function}({', '.join(empty.code_for_node(arg.value) for arg in positional)})"


def _calls_any(line: cst.CSTNode, keras_name, names: frozenset[str]) -> bool:
    """Whether the line calls one of ``names`` (canonical, or an alias of that row): results that are no
    single tensor (``tf.unstack(a)[1]``, ``tf.shape(x)``), which the rewrite does not follow back to NumPy."""
    found = False

    class Finder(Visitor):
        def visit_Call(self, node: cst.Call) -> None:
            nonlocal found
            name = keras_name(node.func)
            found = found or (name in OPS and OPS[name].name in names)

    line.visit(Finder())
    return found


def _called(line: cst.CSTNode) -> set[int]:
    """id() of the callees of the line's calls: an op problem elsewhere is a name used as a value."""
    callees: set[int] = set()

    class Finder(Visitor):
        def visit_Call(self, node: cst.Call) -> None:
            callees.add(id(node.func))

    line.visit(Finder())
    return callees


def _holds_with(node: cst.CSTNode) -> bool:
    found = False

    class Finder(Visitor):
        def visit_With(self, inner: cst.With) -> bool:
            nonlocal found
            found = True
            return False

    node.visit(Finder())
    return found


def _outermost_nodes(line: cst.CSTNode, replacements: dict[int, str]) -> list[tuple[cst.CSTNode, str]]:
    found: list[tuple[cst.CSTNode, str]] = []

    class Finder(Visitor):
        def enter(self, node: cst.CSTNode) -> bool:
            if id(node) in replacements:
                found.append((node, replacements[id(node)]))
                return False
            return True

    line.visit(Finder())
    return found


def _stays_tensor(line: cst.SimpleStatementLine, node: cst.CSTNode, read_as_tensors: set[str]) -> bool:
    """Whether an op's result stays a torch tensor: the script calls ``.numpy()`` on it (``tf.argmax(p, 1).numpy()``,
    or ``labels.numpy()`` later on the name it is assigned to), as on TensorFlow's tensor. Anywhere else it is
    NumPy's array, which NumPy's functions take (``np.mean`` calls a torch tensor's ``mean(axis=...)``, and fails)."""
    parents = node_parents(line)
    parent = parents.get(id(node))
    if isinstance(parent, cst.Attribute) and parent.value is node and parent.attr.value == "numpy":
        return True
    small = line.body[0] if len(line.body) == 1 else None
    return (
        isinstance(small, cst.Assign)
        and small.value is node
        and len(small.targets) == 1
        and isinstance(small.targets[0].target, cst.Name)
        and small.targets[0].target.value in read_as_tensors
    )


def _tensor_reads(module: cst.Module) -> set[str]:
    """The names the script calls ``.numpy()`` on."""
    names: set[str] = set()

    class Finder(Visitor):
        def visit_Call(self, node: cst.Call) -> None:
            func = node.func
            if (
                isinstance(func, cst.Attribute)
                and func.attr.value == "numpy"
                and isinstance(func.value, cst.Name)
                and not node.args
            ):
                names.add(func.value.value)

    module.visit(Finder())
    return names


def _top_level_lines(module: cst.Module) -> list[cst.SimpleStatementLine]:
    """The simple statements outside every def and class (inside top-level if/for/while/try blocks too), but
    not in a ``with`` block nor in a loop holding one: a training loop's ``with tf.GradientTape()`` makes its
    tensors on the model's device with their gradients, where ``.numpy()`` fails (k2t.translate.custom_training
    rewrites those lines)."""
    lines: list[cst.SimpleStatementLine] = []

    class Finder(Visitor):
        def visit_With(self, node: cst.With) -> bool:
            return False

        def visit_For(self, node: cst.For) -> bool:
            return not _holds_with(node)

        def visit_While(self, node: cst.While) -> bool:
            return not _holds_with(node)

        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return False

        def visit_ClassDef(self, node: cst.ClassDef) -> bool:
            return False

        def visit_Lambda(self, node: cst.Lambda) -> bool:
            return False

        def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> bool:
            lines.append(node)
            return False

    module.visit(Finder())
    return lines


def _replaced_inside(line: cst.CSTNode, plan) -> bool:
    """Whether another translation replaces a part of ``line`` other than a whole call (a learning-rate
    read, an argument): the op rewrite composes with replaced calls only."""
    found = False

    class Finder(Visitor):
        def enter(self, node: cst.CSTNode) -> bool:
            nonlocal found
            found = found or id(node) in plan.expressions or id(node) in plan.statements
            found = found or (id(node) in plan.calls and not isinstance(node, cst.Call))
            return not found

    line.visit(Finder())
    return found


def _pos(positions, node: cst.CSTNode) -> tuple[int, int]:
    start = positions[node].start
    return (start.line, start.column + 1)


def _lines_of(scope: cst.CSTNode) -> list[cst.SimpleStatementLine]:
    """The simple statements of a training step's function or loop, outside the functions and classes it defines."""
    lines: list[cst.SimpleStatementLine] = []

    class Finder(Visitor):
        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return node is scope

        def visit_ClassDef(self, node: cst.ClassDef) -> bool:
            return False

        def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> bool:
            lines.append(node)
            return False

    scope.visit(Finder())
    return lines


def _step_tensors(scope: cst.CSTNode, script: KerasScript, plan, keras_name, steps: set[str]):
    """Which arguments of a training step's ops are torch tensors whatever the script feeds the step: an expression
    reading a model's output, an op's, a loss object's or a step function's result, directly or through the names
    the step binds to them (``logits = model(x)``, then ``yb - logits``). Any other argument (a batch: NumPy's, or the generated
    dataset's tensor on the host) is ``torch.as_tensor(..., device=device)``-ed, as TensorFlow converts it."""
    training = script.custom_training
    made = {id(call.node) for call in training.model_calls}
    made |= {
        id(call.node)
        for call in training.objects
        if call.method is None and call.built.name.startswith("keras.losses.")
    }
    names: set[str] = set()

    def makes_tensor(node: cst.CSTNode) -> bool:
        found = False

        class Finder(Visitor):
            def enter(self, inner: cst.CSTNode) -> bool:
                nonlocal found
                if isinstance(inner, (cst.Lambda, cst.FunctionDef)):
                    return False
                found = found or id(inner) in made or (isinstance(inner, cst.Name) and inner.value in names)
                if isinstance(inner, cst.Call):
                    step = isinstance(inner.func, cst.Name) and inner.func.value in steps
                    found = found or step or keras_name(inner.func) in OPS
                return not found

        node.visit(Finder())
        return found

    for _ in range(2):  # a loop's later lines bind names its earlier lines read on the next pass
        for line in _lines_of(scope):
            for small in line.body:
                assigns = isinstance(small, (cst.Assign, cst.AugAssign, cst.AnnAssign)) and small.value is not None
                if assigns and makes_tensor(small.value):
                    targets = [t.target for t in small.targets] if isinstance(small, cst.Assign) else [small.target]
                    names.update(name.value for target in targets for name in _bound_names(target))
    return makes_tensor


def _bound_names(target: cst.BaseExpression) -> list[cst.Name]:
    if isinstance(target, cst.Name):
        return [target]
    if isinstance(target, (cst.Tuple, cst.List)):
        return [name for element in target.elements for name in _bound_names(element.value)]
    return []


def _numpy_read(line: cst.CSTNode, node: cst.CSTNode) -> cst.Call | None:
    """``<node>.numpy()`` on the line: the call of ``.numpy``, else None."""
    found: list[cst.Call] = []

    class Finder(Visitor):
        def visit_Call(self, call: cst.Call) -> None:
            func = call.func
            if isinstance(func, cst.Attribute) and func.value is node and func.attr.value == "numpy" and not call.args:
                found.append(call)

    line.visit(Finder())
    return found[0] if found else None


def _operand_parameters(function: cst.FunctionDef) -> list[tuple[int, str]]:
    """The (position, name) of the parameters the function uses as an operand of arithmetic (``y_true - y_pred``)."""
    names: set[str] = set()

    class Finder(Visitor):
        def visit_BinaryOperation(self, node: cst.BinaryOperation) -> None:
            names.update(side.value for side in (node.left, node.right) if isinstance(side, cst.Name))

    function.body.visit(Finder())
    return [
        (index, param.name.value) for index, param in enumerate(function.params.params) if param.name.value in names
    ]


def _step_arguments(line, script: KerasScript, plan, operands: dict, tensors, device: str) -> None:
    """``huber(yb, pred)`` where ``huber`` computes ``y_true - y_pred``: a step (or a function it calls) computes
    with its arguments as TensorFlow's tensors, and NumPy's array minus torch's tensor is a TypeError; each such
    argument not known to be a tensor (nor a literal) goes to the device, as ``tf.function`` converts it."""
    if _skipped(line, script, plan) is not None:
        return
    empty = cst.Module(body=[])

    class Finder(Visitor):
        def visit_Call(self, call: cst.Call) -> None:
            if not isinstance(call.func, cst.Name) or call.func.value not in operands or id(call) in plan.calls:
                return
            if any(arg.star for arg in call.args):
                return
            computed = operands[call.func.value]
            arguments, changed = [], False
            for index, arg in enumerate(call.args):
                text = empty.code_for_node(arg.value.visit(CallReplacer(plan.calls)))  # `predict(...)` inside
                used = any(
                    (arg.keyword is None and index == position)
                    or (arg.keyword is not None and arg.keyword.value == name)
                    for position, name in computed
                )
                if used and isinstance(arg.value, (cst.Name, cst.Subscript, cst.Attribute)) and not tensors(arg.value):
                    text, changed = f"torch.as_tensor({text}, device={device})", True
                arguments.append(f"{arg.keyword.value}={text}" if arg.keyword is not None else text)
            if changed:
                plan.calls[id(call)] = f"{call.func.value}({', '.join(arguments)})"

    line.visit(Finder())


def _step_operands(line: cst.CSTNode, tensors, device: str, plan) -> None:
    """In a training step's line without ops: the operand of an arithmetic operation whose other side is a torch
    tensor (a model's output), when it is not known to be one (a NumPy batch), goes to the device as a tensor, as
    TensorFlow's tensor takes the array (``err = yb - pred``); NumPy's array minus torch's tensor is a TypeError."""

    class Finder(Visitor):
        def visit_BinaryOperation(self, node: cst.BinaryOperation) -> None:
            if isinstance(node.operator, cst.MatrixMultiply):
                return
            sides = (node.left, node.right)
            known = [bool(tensors(side)) for side in sides]
            if known.count(True) != 1:
                return
            other = sides[known.index(False)]
            if isinstance(other, (cst.Name, cst.Subscript, cst.Attribute)) and id(other) not in plan.operands:
                code = cst.Module([]).code_for_node(other)
                plan.operands[id(other)] = f"torch.as_tensor({code}, device={device})"

    line.visit(Finder())
