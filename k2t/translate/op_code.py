"""User code through the op vocabulary: every Keras/TensorFlow tensor op in a function (or lambda) of the
script becomes its torch expression, and every other token stays as the user wrote it.

``rewrite_ops(node, keras_name)`` walks one CST subtree (a ``def``, a lambda) of the parsed script and
returns what the emitter needs: the torch code of each outermost rewritten expression (by ``id()`` of
the original node, as ``ScriptPlan.calls`` holds them) and the located problems. An op outside the
table, an argument a row does not translate, or a Keras/TensorFlow name used other than as an op call
or a constant (``map(K.mean, xs)``) is a problem at that name; the calls around it are then left as
written, so that the line keeps the names (and the imports) its TODO talks about.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass, field

import libcst as cst
from libcst.metadata import MetadataWrapper, QualifiedNameSource

from ..cst_walk import Visitor, qualified_names
from ..diagnostics import Unsupported
from ..names import canonical_name, is_keras, is_tensorflow
from ..ops import (
    FROM_DATA,
    OPS,
    ROW_TENSOR_PARAMETERS,
    TENSOR_LISTS,
    TENSOR_PARAMETERS,
    OpError,
    parameter_of,
    translate_constant,
    translate_op,
)
from ..ops.spec import is_postfix_safe
from ..parse.syntax import AUGMENTED_OPERATORS

# Where an expression may stand without parentheses whatever its precedence: a whole argument, a whole
# statement value, a list element, an index. Anywhere else (an operand of `-`, the value of `.attr`)
# a rewritten expression that is not an atom gets parentheses, since `x - tf.subtract(a, b)` is `x - (a - b)`.
_WHOLE_EXPRESSION_PARENTS = (
    cst.Arg,
    cst.Return,
    cst.Assign,
    cst.AnnAssign,
    cst.AugAssign,
    cst.Expr,
    cst.Element,
    cst.DictElement,
    cst.Index,
    cst.Lambda,
    cst.FormattedStringExpression,
)


@dataclass
class OpProblem:
    """A Keras/TensorFlow name in user code that the op vocabulary does not translate there."""

    node: cst.CSTNode  # the name (``K.foo`` of ``K.foo(x)``): the diagnostic's position
    error: Unsupported  # K2T100 (Keras) or K2T150 (TensorFlow), without a position


@dataclass
class OpRewrite:
    replacements: dict[int, str] = field(default_factory=dict)  # id(original Call/Attribute) -> torch code
    problems: list[OpProblem] = field(default_factory=list)
    # The Keras/TensorFlow name nodes the rewrite answers for (translated or reported): a diagnostic
    # the parser made at one of them is superseded.
    handled: list[cst.CSTNode] = field(default_factory=list)
    imports: set[str] = field(default_factory=set)  # keys of k2t.names.GENERATED_IMPORTS the code needs
    notes: list[str] = field(default_factory=list)  # the rows' semantic notes, in source order

    @property
    def ok(self) -> bool:
        return not self.problems


KerasName = Callable[[cst.CSTNode], "str | None"]


def import_names(wrapper: MetadataWrapper) -> KerasName:
    """The canonical Keras/TensorFlow name of a node of ``wrapper``'s module, resolved through its imports
    and aliases as the parser resolves them (``K.mean`` -> ``keras.backend.mean``)."""
    qualified = qualified_names(wrapper)

    def keras_name(node: cst.CSTNode) -> str | None:
        if not _dotted(node):
            return None  # `tf.argmax(p, 1).numpy`: libcst names it `tensorflow.argmax.numpy`, a method of a result
        for name in sorted(qualified(node), key=lambda q: q.name):
            if name.source is QualifiedNameSource.IMPORT:
                canonical = canonical_name(name.name)
                if is_keras(canonical) or is_tensorflow(canonical):
                    return canonical
        return None

    return keras_name


def _dotted(node: cst.CSTNode) -> bool:
    """A name or a chain of attributes on one (``K.mean``), not an attribute of a call's result."""
    while isinstance(node, cst.Attribute):
        node = node.value
    return isinstance(node, cst.Name)


# Another rewrite of a call that is no op (a custom layer's sublayer call): (original, updated) -> torch code or None.
CallRewrite = Callable[[cst.Call, cst.Call], "str | None"]
# Whether an argument, as written, holds a torch tensor whatever the script feeds it (a model's output).
KnownTensor = Callable[[cst.BaseExpression], bool]


def rewrite_ops(
    node: cst.CSTNode,
    keras_name: KerasName,
    device: str | None = None,
    calls: CallRewrite | None = None,
    host_arrays: bool = False,
    nodes: dict[int, str] | None = None,
    arrays_device: str | None = None,
    known_tensor: KnownTensor | None = None,
) -> OpRewrite:
    """Rewrite every op call and op constant under ``node``; ``keras_name`` gives the canonical name of a
    Name/Attribute of the script that names a Keras/TensorFlow symbol (None otherwise). ``device``: where
    tensors made from nothing (``tf.range``, ``K.zeros``) go, as code (``x.device``) valid under ``node``.
    ``calls``: the torch code of other calls, rewritten in the same pass so that ops around them and inside
    them compose. ``host_arrays``: code outside any model or function (the script's own lines), where
    TensorFlow's ops take NumPy arrays: each argument a row takes as a tensor is ``torch.as_tensor``-ed,
    unless it is the result of another op. ``nodes``: code for other nodes by id() (a tensor's name as forward
    calls it), in place before the ops around them are rewritten. ``arrays_device``: with ``host_arrays``, where
    those arguments go (a training step's, whose batches meet the model's outputs: ``device``); ``known_tensor``:
    which written arguments are torch tensors already (a model's output in a training step), left as they are."""
    transformer = _OpTransformer(keras_name, device, calls, host_arrays, nodes, arrays_device, known_tensor)
    node.visit(transformer)
    rewrite = transformer.rewrite
    rewrite.replacements = _outermost(node, rewrite.replacements)
    return rewrite


def apply_rewrite(node: cst.CSTNode, rewrite: OpRewrite) -> cst.CSTNode:
    """``node`` with the rewrite applied, as the emitter applies it (for tests and for code built from it)."""
    return node.visit(CallReplacer(rewrite.replacements))


class _OpTransformer(cst.CSTTransformer):
    def __init__(
        self,
        keras_name: KerasName,
        device: str | None = None,
        calls: CallRewrite | None = None,
        host_arrays: bool = False,
        nodes: dict[int, str] | None = None,
        arrays_device: str | None = None,
        known_tensor: KnownTensor | None = None,
    ):
        self.keras_name = keras_name
        self.nodes = nodes or {}
        self.device = device
        self.calls = calls
        self.host_arrays = host_arrays
        self.arrays_device = arrays_device
        self.known_tensor = known_tensor
        self.op_results: set[int] = set()  # id() of original calls an op row translated: torch tensors already
        self.rewrite = OpRewrite()
        self.names: dict[int, str] = {}  # id(name node) -> canonical Keras/TensorFlow name
        self.stack: list[cst.CSTNode] = []  # original nodes from the root to the one being visited
        self.tainted: set[int] = set()  # id() of nodes holding a problem: left as written

    def on_visit(self, node: cst.CSTNode) -> bool:
        self.stack.append(node)
        if id(node) in self.nodes:
            return False  # replaced whole
        if isinstance(node, (cst.Name, cst.Attribute)):
            name = self.keras_name(node)
            if name is not None:
                self.names[id(node)] = name
                return False  # `K` inside `K.mean` is part of this one name
        return True

    def on_leave(self, original_node: cst.CSTNode, updated_node: cst.CSTNode) -> cst.CSTNode:
        self.stack.pop()
        parent = self.stack[-1] if self.stack else None
        if id(original_node) in self.nodes:
            self.op_results.add(id(original_node))  # a tensor of forward, not a host array
            return self._replace(original_node, self.nodes[id(original_node)], (), "", parent)
        if id(original_node) in self.names and not _is_callee(original_node, parent):
            return self._constant(original_node, updated_node, parent)
        if self.calls is not None and isinstance(original_node, cst.Call) and id(original_node) not in self.tainted:
            code = self.calls(original_node, updated_node)
            if code is not None:
                if id(original_node.func) in self.names:
                    self.rewrite.handled.append(original_node.func)
                return self._replace(original_node, code, (), "", parent)
        if isinstance(original_node, cst.Call) and id(original_node.func) in self.names:
            return self._call(original_node, updated_node, parent)
        if isinstance(original_node, cst.BinaryOperation) and self.arrays_device is not None:
            return self._operands(original_node, updated_node)
        return updated_node

    def _operands(self, original: cst.BinaryOperation, updated: cst.BinaryOperation) -> cst.BaseExpression:
        """``yb - pred`` in a training step's op: NumPy's array minus torch's tensor is a TypeError (TensorFlow's
        tensor takes the array), so the operand that is not known to be a tensor goes to the device."""
        if self.known_tensor is None or isinstance(original.operator, cst.MatrixMultiply):
            return updated
        sides = (original.left, original.right)
        known = [self.known_tensor(side) or id(side) in self.op_results for side in sides]
        if known.count(True) != 1:
            return updated
        other = sides[known.index(False)]
        text = _code(other)
        if not isinstance(other, (cst.Name, cst.Subscript, cst.Attribute)) or _is_number(text):
            return updated
        wrapped = cst.parse_expression(f"torch.as_tensor({text}, device={self.arrays_device})")
        return updated.with_changes(**{"left" if other is original.left else "right": wrapped})

    def _constant(self, original: cst.CSTNode, updated: cst.CSTNode, parent: cst.CSTNode | None) -> cst.CSTNode:
        name = self.names[id(original)]
        self.rewrite.handled.append(original)
        try:
            translation = translate_constant(name)
        except OpError:
            what = "TensorFlow" if name.startswith("tensorflow.") else "Keras"
            code = "K2T150" if what == "TensorFlow" else "K2T100"
            self._fail(
                original, Unsupported(code, f"{what} name `{name}` used as a value (not called) is not translated")
            )
            return updated
        return self._replace(original, translation.code, translation.imports, translation.note, parent)

    def _call(self, original: cst.Call, updated: cst.Call, parent: cst.CSTNode | None) -> cst.CSTNode:
        name = self.names[id(original.func)]
        if id(original) in self.tainted:
            return updated  # an argument is not translated: the call stays as written, with its own parse note
        self.rewrite.handled.append(original.func)
        args: list[str] = []
        kwargs: dict[str, str] = {}
        for arg, written in zip(updated.args, original.args):
            text = _code(arg.value)
            if arg.star:
                self._fail(
                    original.func, Unsupported(_code_for(name), f"`{name}`: `{arg.star}` arguments are not translated")
                )
                return updated
            if self.host_arrays:
                keyword = arg.keyword.value if arg.keyword is not None else None
                text = self._as_tensor(name, len(args), keyword, written.value, arg.value)
            if arg.keyword is not None:
                kwargs[arg.keyword.value] = text
            else:
                args.append(text)
        try:
            translation = translate_op(name, args, kwargs, device=self.device)
        except OpError as error:
            self._fail(original.func, error)
            return updated
        self.op_results.add(id(original))
        return self._replace(original, translation.code, translation.imports, translation.note, parent)

    def _as_tensor(
        self, name: str, index: int, keyword: str | None, written: cst.BaseExpression, value: cst.BaseExpression
    ) -> str:
        """An argument's code where the op takes a tensor and the script may hand it a NumPy array."""
        param = parameter_of(OPS[name], index, keyword) if name in OPS and name not in FROM_DATA else None
        if param is None:
            return _code(value)
        if TENSOR_LISTS.get(OPS[name].name) == param.name:
            if isinstance(value, (cst.List, cst.Tuple)) and isinstance(written, (cst.List, cst.Tuple)):
                elements = [
                    self._tensor(old.value, new.value, first=True) for old, new in zip(written.elements, value.elements)
                ]
                return f"[{', '.join(elements)}]"
            if self.arrays_device is not None:
                return f"[torch.as_tensor(item, device={self.arrays_device}) for item in {_code(value)}]"
            return f"list(map(torch.as_tensor, {_code(value)}))"  # a list held in a variable
        if param.name in TENSOR_PARAMETERS or param.name in ROW_TENSOR_PARAMETERS.get(OPS[name].name, ()):
            return self._tensor(written, value, first=param is OPS[name].params[0])
        return _code(value)

    def _tensor(self, written: cst.BaseExpression, value: cst.BaseExpression, first: bool) -> str:
        text = _code(value)
        if id(written) in self.op_results or (self.known_tensor is not None and self.known_tensor(written)):
            return text
        if not first and (_is_number(text) or text.strip() == "None"):
            return text  # `tf.maximum(preds, 0.5)`: torch takes a number beside a tensor; `K.clip(x, None, 1)`
        if self.arrays_device is not None:
            return f"torch.as_tensor({text}, device={self.arrays_device})"
        return f"torch.as_tensor({text})"

    def _replace(self, original: cst.CSTNode, code: str, imports, note: str, parent) -> cst.CSTNode:
        if _needs_parentheses(code, original, parent):
            code = f"({code})"
        self.rewrite.replacements[id(original)] = code
        self.rewrite.imports.update(imports)
        if note and note not in self.rewrite.notes:
            self.rewrite.notes.append(note)
        return cst.parse_expression(code)

    def _fail(self, node: cst.CSTNode, error: Unsupported) -> None:
        self.rewrite.handled.append(node)
        self.rewrite.problems.append(OpProblem(node, error))
        self.tainted.update(id(ancestor) for ancestor in self.stack)


def _needs_parentheses(code: str, original: cst.CSTNode, parent: cst.CSTNode | None) -> bool:
    """Whether ``code``, standing where ``original`` stood, needs parentheses to keep its meaning."""
    if isinstance(parent, _WHOLE_EXPRESSION_PARENTS) or parent is None:
        return False
    if isinstance(parent, (cst.Attribute, cst.Subscript)) and parent.value is original or _is_callee(original, parent):
        return not is_postfix_safe(code)  # `(1e-07).x`, `(a - b)[0]`
    return not _is_atom(code)  # an operand: `1 - 1e-07` is fine, `x - a - b` is not `x - (a - b)`


def _is_atom(code: str) -> bool:
    try:
        node = ast.parse(code.strip(), mode="eval").body
    except SyntaxError:
        return False
    if isinstance(node, ast.Constant):
        return not isinstance(node.value, (int, float, complex)) or node.value >= 0
    return isinstance(node, (ast.Name, ast.Attribute, ast.Call, ast.Subscript, ast.List, ast.Tuple, ast.Dict, ast.Set))


def _is_callee(node: cst.CSTNode, parent: cst.CSTNode | None) -> bool:
    return isinstance(parent, cst.Call) and parent.func is node


def _is_number(code: str) -> bool:
    try:
        value = ast.literal_eval(code.strip())
    except (ValueError, SyntaxError):
        return False
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _code_for(name: str) -> str:
    return "K2T150" if name.startswith("tensorflow.") else "K2T100"


_EMPTY = cst.Module(body=[])


def _code(node: cst.CSTNode) -> str:
    return _EMPTY.code_for_node(node)


def _outermost(root: cst.CSTNode, replacements: dict[int, str]) -> dict[int, str]:
    """Only the replacements no other one contains: the outer code already holds the inner ones."""
    kept: dict[int, str] = {}

    class Collector(Visitor):
        def enter(self, node: cst.CSTNode) -> bool:
            if id(node) in replacements:
                kept[id(node)] = replacements[id(node)]
                return False
            return True

    root.visit(Collector())
    return kept


class CallReplacer(cst.CSTTransformer):
    """The nodes of ``replacements`` (id() of the original node -> code) replaced by their code."""

    def __init__(self, replacements: dict[int, str]):
        self.replacements = replacements

    def on_leave(self, original_node: cst.CSTNode, updated_node: cst.CSTNode) -> cst.CSTNode:
        code = self.replacements.get(id(original_node))
        return updated_node if code is None else cst.parse_expression(code)


def rebinds(node: cst.CSTNode) -> set[int]:
    """id() of the augmented assignments to a name under ``node`` (``a *= mask``), which the emitter writes
    ``a = a * mask``: a TensorFlow tensor is immutable, so ``*=`` makes a new one and leaves the old one to
    whatever else holds it (autograd's saved output of ``exp``, a name bound to it before); torch's ``*=`` would
    change the tensor in place (autograd refuses, or an alias changes). For numbers both are the same."""
    found: set[int] = set()

    class Finder(Visitor):
        def visit_AugAssign(self, node: cst.AugAssign) -> None:
            if isinstance(node.target, cst.Name) and type(node.operator) in AUGMENTED_OPERATORS:
                found.add(id(node))

    node.visit(Finder())
    return found
