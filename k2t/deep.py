"""Room for deeply nested code: ast.parse and libcst recurse once per level of nesting.

A valid 500-term sum (``1+1+...+1``) nests 500 levels; libcst's visitors take a
few Python frames per level and Python allows 1000 by default, so parsing and
rewriting such a file raised RecursionError. k2t converts on a thread whose
C stack is large enough for a raised recursion limit (C code such as ast.parse
and libcst's native parser recurses on that stack), and puts the limit back
afterwards. Code nested deeper than :data:`MAX_DEPTH` is refused with a
diagnostic before libcst sees it: its native parser slows down quadratically
with nesting (a 20,000-term sum would take many minutes).
"""

from __future__ import annotations

import ast
import sys
import threading
from collections.abc import Callable
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")

# Levels of syntax-tree nesting k2t converts (a sum of 1,000 terms; real scripts stay below 50).
MAX_DEPTH = 1000
# Python frames allowed while converting: libcst takes up to ~15 per level of nesting.
RECURSION_LIMIT = 50_000
# The converting thread's C stack. Only the pages a deep file touches are ever committed.
STACK_BYTES = 512 * 1024 * 1024

_state = threading.local()  # .inside: this thread already has the room
_limit_lock = threading.Lock()
_limit_users = 0
_limit_before = 0


def run_deep(function: Callable[..., T], *args: object) -> T:
    """``function(*args)`` on a thread with a large stack and a raised (then restored) recursion limit.

    Exceptions propagate to the caller. Where no such thread can be started (no
    memory for its stack), the call runs here with Python's own limit: deep code
    then raises RecursionError, which callers report.
    """
    if getattr(_state, "inside", False):
        return function(*args)
    outcome: list[tuple[bool, object]] = []

    def work() -> None:
        _state.inside = True
        try:
            with _raised_recursion_limit():
                outcome.append((True, function(*args)))
        except BaseException as exc:  # noqa: BLE001 -- handed to the calling thread as it is
            outcome.append((False, exc))

    try:
        previous = threading.stack_size(STACK_BYTES)
    except (ValueError, RuntimeError):  # a platform that does not let threads choose their stack
        return function(*args)
    try:
        thread = threading.Thread(target=work, name="k2t-deep", daemon=True)
        thread.start()
    except RuntimeError:  # "can't start new thread": no memory for the stack
        return function(*args)
    finally:
        threading.stack_size(previous)
    thread.join()
    succeeded, value = outcome[0]
    if not succeeded:
        raise value  # type: ignore[misc]
    return value  # type: ignore[return-value]


@contextmanager
def _raised_recursion_limit():
    """The recursion limit is per interpreter: raised by the first converting thread, restored by the last."""
    global _limit_users, _limit_before
    with _limit_lock:
        if _limit_users == 0:
            _limit_before = sys.getrecursionlimit()
            sys.setrecursionlimit(max(_limit_before, RECURSION_LIMIT))
        _limit_users += 1
    try:
        yield
    finally:
        with _limit_lock:
            _limit_users -= 1
            if _limit_users == 0:
                sys.setrecursionlimit(_limit_before)


def deepest_expression(tree: ast.AST) -> tuple[int, ast.AST]:
    """(nesting depth of ``tree``, the outermost expression on its deepest path), without recursing."""
    depth, anchor = 0, tree
    pending: list[tuple[ast.AST, int, ast.AST]] = [(tree, 1, tree)]
    while pending:
        node, level, outermost = pending.pop()
        if level > depth:
            depth, anchor = level, outermost
        for child in ast.iter_child_nodes(node):
            starts_expression = isinstance(child, ast.expr) and not isinstance(node, ast.expr)
            pending.append((child, level + 1, child if starts_expression else outermost))
    return depth, anchor


def largest_expression(tree: ast.AST) -> ast.AST:
    """The outermost expression with the most nodes: where libcst's deepest nesting is.

    libcst nests what the syntax tree keeps flat (``a and b and c``, adjacent strings),
    so its depth is bounded by an expression's size, not by the tree's depth.
    """
    largest, size = tree, 0
    pending: list[ast.AST] = [tree]
    while pending:
        node = pending.pop()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.expr):
                count = sum(1 for _ in ast.walk(child))
                if count > size:
                    largest, size = child, count
            else:
                pending.append(child)
    return largest
