"""tf.distribute strategies (``with strategy.scope():`` around the model) as PyTorch runs data parallelism.

What is recorded (k2t.ir.Distribution), each only in the form whose torch
meaning is certain; any other use of a strategy is a located K2T150:

- ``strategy = tf.distribute.MirroredStrategy(...)`` (or MultiWorkerMirroredStrategy) at the top
  level: the converted script trains with DistributedDataParallel when torchrun starts it, and as
  one replica when ``python script.py`` does (k2t.translate.distribute);
- ``strategy = tf.distribute.OneDeviceStrategy(...)`` / ``tf.distribute.get_strategy()``: one
  replica, which is what any converted script trains;
- ``with strategy.scope():`` alone in its ``with``: Keras makes the variables mirrored inside it;
  torch's DistributedDataParallel needs no such context, so the body runs as it is;
- ``strategy.num_replicas_in_sync``: the number of processes (1 for the one-replica strategies).

The custom-loop API (``strategy.run``, ``experimental_distribute_dataset``, ``reduce``, ...) and
the strategies torch has no counterpart for here (TPUStrategy, ParameterServerStrategy,
CentralStorageStrategy) are reported where they are.
"""

from __future__ import annotations

import libcst as cst

from ..cst_walk import Visitor
from .syntax import _mark_subtree, calls_in

# Canonical constructor -> whether it replicates over several devices (else it is one replica).
STRATEGIES: dict[str, bool] = {
    "tensorflow.distribute.MirroredStrategy": True,
    "tensorflow.distribute.MultiWorkerMirroredStrategy": True,
    "tensorflow.distribute.experimental.MultiWorkerMirroredStrategy": True,
    "tensorflow.distribute.OneDeviceStrategy": False,
    "tensorflow.distribute.get_strategy": False,
}
# Strategies k2t does not translate, and why.
_UNTRANSLATED_STRATEGIES: dict[str, str] = {
    "tensorflow.distribute.TPUStrategy": "PyTorch trains on TPUs through torch_xla, which k2t does not target",
    "tensorflow.distribute.experimental.TPUStrategy": "PyTorch trains on TPUs through torch_xla, which k2t does not target",
    "tensorflow.distribute.experimental.ParameterServerStrategy": (
        "asynchronous parameter-server training has no counterpart in torch.distributed's DistributedDataParallel"
    ),
    "tensorflow.distribute.ParameterServerStrategy": (
        "asynchronous parameter-server training has no counterpart in torch.distributed's DistributedDataParallel"
    ),
    "tensorflow.distribute.experimental.CentralStorageStrategy": (
        "variables kept on one device while the replicas compute has no counterpart in DistributedDataParallel"
    ),
}
_CUSTOM_LOOP = (
    "k2t translates a strategy used as `with strategy.scope():` around the model and `strategy.num_replicas_in_sync`; "
    "a custom distributed loop is not translated (in PyTorch: DistributedDataParallel and a DistributedSampler)"
)


class DistributeMixin:
    """Finds the strategies before the walk. Mixed into k2t.parse.parser._Parser."""

    def find_strategies(self) -> None:
        bindings = self._strategy_bindings()
        finder = _Uses(set(bindings))
        self.module.visit(finder)
        for statement, node, message in finder.others:
            self.todo(statement, node, "K2T150", message)
        untranslated = {name for name, _ in finder.other_names}
        distribution = self.script.distribution
        for name, statements in bindings.items():
            if name in untranslated:
                continue  # kept as written: its constructor is reported by the walk as any TensorFlow API is
            mirrored = False
            for statement, call, replicates in statements:
                _mark_subtree(call, self.consumed)
                distribution.strategies.append(statement)
                self.script.removed.add(id(statement))
                if replicates:
                    mirrored = True
                    distribution.mirrored = distribution.mirrored or self.pos(call)
            distribution.scopes += finder.scopes.get(name, [])
            for read in finder.replica_counts.get(name, []):
                self.consumed.add(id(read))
                distribution.replica_counts[id(read)] = mirrored
                if finder.enclosing_calls.get(id(read)):
                    distribution.replica_calls[id(read)] = (
                        finder.enclosing_calls[id(read)],
                        self.module.code_for_node(read),
                    )

    def _strategy_bindings(self) -> dict[str, list[tuple[cst.SimpleStatementLine, cst.Call, bool]]]:
        """``name = tf.distribute.<Strategy>(...)`` statements outside functions and classes, by name; the
        strategies k2t does not translate are reported."""
        found: dict[str, list[tuple[cst.SimpleStatementLine, cst.Call, bool]]] = {}
        for statement in _module_level_statements(self.module.body):
            small = statement.body[0] if len(statement.body) == 1 else None
            for call in calls_in(statement):
                name = self.keras_name(call.func)
                if name in _UNTRANSLATED_STRATEGIES:
                    _mark_subtree(call.func, self.consumed)
                    self.todo(
                        statement,
                        call,
                        "K2T150",
                        f"tf.distribute.{name.rsplit('.', 1)[-1]} is not translated: {_UNTRANSLATED_STRATEGIES[name]}",
                    )
            if not (
                isinstance(small, cst.Assign)
                and len(small.targets) == 1
                and isinstance(small.targets[0].target, cst.Name)
            ):
                continue
            if isinstance(small.value, cst.Call) and self.keras_name(small.value.func) in STRATEGIES:
                replicates = STRATEGIES[self.keras_name(small.value.func)]
                found.setdefault(small.targets[0].target.value, []).append((statement, small.value, replicates))
        return found


def _module_level_statements(body) -> list[cst.SimpleStatementLine]:
    """The simple statements that run at the top level: also inside if / try / with / loops, not in definitions."""
    found: list[cst.SimpleStatementLine] = []
    for statement in body:
        if isinstance(statement, cst.SimpleStatementLine):
            found.append(statement)
        elif isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
            continue
        elif isinstance(statement, cst.BaseCompoundStatement):
            for block in _blocks_of(statement):
                found += _module_level_statements(block)
    return found


def _blocks_of(statement: cst.BaseCompoundStatement) -> list:
    blocks = [statement.body.body] if isinstance(statement.body, cst.IndentedBlock) else []
    for attr in ("orelse", "finalbody"):
        other = getattr(statement, attr, None)
        if isinstance(other, cst.If):
            blocks += _blocks_of(other)
        elif other is not None and isinstance(getattr(other, "body", None), cst.IndentedBlock):
            blocks.append(other.body.body)
    for handler in getattr(statement, "handlers", ()):
        blocks.append(handler.body.body)
    return blocks


class _Uses(Visitor):
    """Every use of the strategy names: the scopes, the replica counts, and the other uses (reported)."""

    def __init__(self, names: set[str]):
        self.names = names
        self.statements: list[cst.CSTNode] = []
        self.scopes: dict[str, list[cst.With]] = {}
        self.replica_counts: dict[str, list[cst.Attribute]] = {}
        self.others: list[tuple[cst.CSTNode, cst.CSTNode, str]] = []  # (statement, node, message)
        self.other_names: list[tuple[str, int]] = []  # (strategy name, id() of the node) of those uses
        self.handled: set[int] = set()  # id() of the Name nodes of the uses above
        self.calls: list[cst.Call] = []  # the calls the walk is in, outermost first
        self.enclosing_calls: dict[
            int, tuple[int, ...]
        ] = {}  # id() of a replica count -> id() of its calls, innermost first

    def enter(self, node: cst.CSTNode) -> bool:
        if isinstance(node, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
            self.statements.append(node)
        if isinstance(node, cst.Call):
            self.calls.append(node)
        if isinstance(node, cst.AssignTarget) and isinstance(node.target, cst.Name) and node.target.value in self.names:
            self.handled.add(id(node.target))  # a binding: which of them are strategies the caller knows
        elif isinstance(node, cst.With):
            self._scope(node)
        elif isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name) and node.value.value in self.names:
            self._attribute(node)
        elif isinstance(node, cst.Name) and node.value in self.names and id(node) not in self.handled:
            self._other(node, f"the strategy `{node.value}` used here is not translated: {_CUSTOM_LOOP}")
        return True

    def leave(self, original_node: cst.CSTNode) -> None:
        if isinstance(original_node, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
            self.statements.pop()
        if isinstance(original_node, cst.Call):
            self.calls.pop()

    def _scope(self, node: cst.With) -> None:
        if len(node.items) != 1 or node.items[0].asname is not None:
            return
        call = node.items[0].item
        if not (isinstance(call, cst.Call) and not call.args and isinstance(call.func, cst.Attribute)):
            return
        receiver = call.func.value
        if isinstance(receiver, cst.Name) and receiver.value in self.names and call.func.attr.value == "scope":
            self.scopes.setdefault(receiver.value, []).append(node)
            self.handled.add(id(receiver))
            self.handled.add(id(call.func))

    def _attribute(self, node: cst.Attribute) -> None:
        name = node.value.value
        if id(node) in self.handled:
            return
        self.handled.add(id(node.value))
        if node.attr.value == "num_replicas_in_sync":
            self.replica_counts.setdefault(name, []).append(node)
            self.enclosing_calls[id(node)] = tuple(id(call) for call in reversed(self.calls))
            return
        what = f"`{name}.{node.attr.value}`"
        self._other(node, f"{what} is not translated: {_CUSTOM_LOOP}")

    def _other(self, node: cst.CSTNode, message: str) -> None:
        name = node.value.value if isinstance(node, cst.Attribute) else node.value
        self.handled.add(id(node))
        self.others.append((self.statements[-1], node, message))
        self.other_names.append((name, id(node)))
