"""TensorFlow 2's GPU memory-growth idiom, as scripts write it before building a model::

    gpus = tf.config.experimental.list_physical_devices("GPU")   # or tf.config.list_physical_devices
    if gpus:
        try:
            for gpu in gpus:
                tf.config.experimental.set_memory_growth(gpu, True)
            logical_gpus = tf.config.list_logical_devices("GPU")
            print(len(gpus), "Physical GPUs,", len(logical_gpus), "Logical GPUs")
        except RuntimeError as e:
            print(e)

It stops TensorFlow from taking every GPU's memory at start. PyTorch has nothing to switch: its caching
allocator takes device memory as tensors need it. So the statements go (the ``if``, ``for`` and ``try``
around them too), each top-level one with a K2T105 warning, where every statement of them is one of
these forms and the device lists they bind are read by nothing else; otherwise each call stays a K2T150.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import libcst as cst

from ..cst_walk import Visitor
from .syntax import names_in as _names_in

# tf.config's device lists; a logical one only feeds the idiom's print.
_DEVICE_LISTS = frozenset({
    "tensorflow.config.list_physical_devices", "tensorflow.config.experimental.list_physical_devices",
    "tensorflow.config.list_logical_devices", "tensorflow.config.experimental.list_logical_devices",
})  # fmt: skip
_SET_MEMORY_GROWTH = "tensorflow.config.experimental.set_memory_growth"
_HANDLED_ERRORS = frozenset({"RuntimeError", "ValueError", "Exception"})
WHY = (
    "is TensorFlow's GPU memory-growth setup; PyTorch's caching allocator takes GPU memory as tensors need it, "
    "so it has no equivalent and is left out"
)

KerasName = Callable[[cst.CSTNode], "str | None"]


@dataclass
class _Growth:
    """What a walk of the candidate statements found: the device lists bound, and the names they bind."""

    keras_name: KerasName
    lists: set[str] = field(default_factory=set)  # names bound to a device list
    devices: set[str] = field(default_factory=set)  # loop variables over one


def memory_growth_statements(body: list[cst.BaseStatement], keras_name: KerasName) -> list[cst.BaseStatement]:
    """The top-level statements of ``body`` that make up the idiom (empty when the script has none, or reads
    a device list it binds elsewhere)."""
    growth = _Growth(keras_name)
    group = [statement for statement in body if _is_growth(statement, growth)]
    # A top-level line of ordinary code (`print("start")`) passes the test too: only the idiom's own go.
    group = [
        statement
        for statement in group
        if _sets_growth(statement, keras_name) or _reads_or_binds(statement, growth.lists)
    ]
    if not any(_sets_growth(statement, keras_name) for statement in group):
        return []  # a device list alone (`print(tf.config.list_physical_devices("GPU"))`) is another matter
    inside = {id(name) for statement in group for name in _names_in(statement)}
    outside = [name for name in _names_in(cst.Module(body=body)) if id(name) not in inside]
    if any(name.value in growth.lists | growth.devices for name in outside):
        return []
    return group


def _is_growth(statement: cst.BaseStatement, growth: _Growth) -> bool:
    if isinstance(statement, cst.SimpleStatementLine):
        return all(_is_growth_small(small, growth) for small in statement.body)
    if isinstance(statement, cst.For):
        if (
            statement.orelse is not None
            or not isinstance(statement.target, cst.Name)
            or not _is_device_list(statement.iter, growth)
        ):
            return False
        growth.devices.add(statement.target.value)
        return _block(statement.body, growth)
    if isinstance(statement, cst.If):
        tested = {name.value for name in _names_in(statement.test)}
        if not tested & growth.lists or not tested <= growth.lists | {"len"}:
            return False  # `if gpus:`, `if len(gpus) > 0:`
        return _block(statement.body, growth) and (
            statement.orelse is None or isinstance(statement.orelse, cst.Else) and _prints_only(statement.orelse.body)
        )
    if isinstance(statement, cst.Try):
        if statement.orelse is not None or statement.finalbody is not None or not statement.handlers:
            return False
        return _block(statement.body, growth) and all(_handled(handler) for handler in statement.handlers)
    return False


def _block(block: cst.BaseSuite, growth: _Growth) -> bool:
    statements = (
        block.body if isinstance(block, cst.IndentedBlock) else [cst.SimpleStatementLine(body=list(block.body))]
    )
    return bool(statements) and all(_is_growth(statement, growth) for statement in statements)


def _is_growth_small(small: cst.BaseSmallStatement, growth: _Growth) -> bool:
    if isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name):
        if _is_device_list_call(small.value, growth.keras_name):
            growth.lists.add(small.targets[0].target.value)
            return True
        return False
    if isinstance(small, cst.Expr) and isinstance(small.value, cst.Call):
        call = small.value
        if growth.keras_name(call.func) == _SET_MEMORY_GROWTH:
            return len(call.args) == 2 and _is_device(call.args[0].value, growth)
        return _is_print(call, growth.lists)
    return False


def _is_device(node: cst.BaseExpression, growth: _Growth) -> bool:
    """``gpu`` of ``for gpu in gpus``, or ``gpus[0]``."""
    if isinstance(node, cst.Name):
        return node.value in growth.devices
    return isinstance(node, cst.Subscript) and isinstance(node.value, cst.Name) and node.value.value in growth.lists


def _is_device_list(node: cst.BaseExpression, growth: _Growth) -> bool:
    return (isinstance(node, cst.Name) and node.value in growth.lists) or _is_device_list_call(node, growth.keras_name)


def _is_device_list_call(node: cst.BaseExpression, keras_name: KerasName) -> bool:
    """``tf.config.list_physical_devices("GPU")`` (or ``device_type="GPU"``)."""
    if not isinstance(node, cst.Call) or keras_name(node.func) not in _DEVICE_LISTS or len(node.args) != 1:
        return False
    arg = node.args[0]
    return (
        (arg.keyword is None or arg.keyword.value == "device_type")
        and isinstance(arg.value, cst.SimpleString)
        and arg.value.evaluated_value == "GPU"
    )


def _is_print(call: cst.Call, lists: set[str]) -> bool:
    """``print(len(gpus), "Physical GPUs")``: reads only the device lists, literals and ``len``."""
    if not (isinstance(call.func, cst.Name) and call.func.value == "print"):
        return False
    return all(name.value in lists or name.value in ("len", "print") for name in _names_in(call))


def _prints_only(block: cst.BaseSuite) -> bool:
    statements = (
        block.body if isinstance(block, cst.IndentedBlock) else [cst.SimpleStatementLine(body=list(block.body))]
    )
    for statement in statements:
        if not isinstance(statement, cst.SimpleStatementLine):
            return False
        for small in statement.body:
            if isinstance(small, cst.Pass):
                continue
            if not (
                isinstance(small, cst.Expr)
                and isinstance(small.value, cst.Call)
                and isinstance(small.value.func, cst.Name)
                and small.value.func.value == "print"
            ):
                return False
    return True


def _handled(handler: cst.ExceptHandler) -> bool:
    """``except RuntimeError as e: print(e)``: TensorFlow's error when devices are already initialised."""
    caught = handler.type
    return isinstance(caught, cst.Name) and caught.value in _HANDLED_ERRORS and _prints_only(handler.body)


def _sets_growth(statement: cst.CSTNode, keras_name: KerasName) -> bool:
    found = False

    class Finder(Visitor):
        def visit_Call(self, node: cst.Call) -> None:
            nonlocal found
            found = found or keras_name(node.func) == _SET_MEMORY_GROWTH

    statement.visit(Finder())
    return found


def _reads_or_binds(statement: cst.CSTNode, lists: set[str]) -> bool:
    return any(name.value in lists for name in _names_in(statement))
