"""tf.distribute strategies -> DistributedDataParallel launched by torchrun (k2t.parse.distribute finds them).

Keras's MirroredStrategy (and MultiWorkerMirroredStrategy, its multi-machine form) splits every global batch
over its replicas, has each compute its loss on its share scaled by 1 / replicas, and sums the gradients:
for a loss that is a mean over the rows (Keras's default SUM_OVER_BATCH_SIZE reduction) that is the mean of
the replicas' mean gradients. DistributedDataParallel averages the processes' gradients of each one's mean
loss: the same update, also where the last batch does not divide evenly. The converted script runs as one
process (``python script.py``, one replica: the single-device translation) or under
``torchrun --nproc_per_node=N script.py``; templates/distributed.py.j2 holds what it runs for that, and the
generated fit trains each process on its share of every global batch, logs the loss and metrics summed over
the processes, and prints on rank 0 only. The one-replica strategies (OneDeviceStrategy, get_strategy())
need none of it: their scope goes and ``num_replicas_in_sync`` is 1.
"""

from __future__ import annotations

import libcst as cst

from ..ir import KerasScript
from ..parse import Todo

# Top-level names templates/distributed.py.j2 defines (emit renames them away from the script's names).
DISTRIBUTED_DEFINITIONS = (
    "world_size",
    "rank",
    "ReplicaForward",
    "replicated",
    "same_order",
    "replica_rows",
    "summed_over_processes",
)

# The generated callbacks that write files (templates/callbacks/): rank 0's alone run (k2t.emit.file_callbacks).
FILE_CALLBACKS = frozenset(
    {"callbacks/model_checkpoint.py.j2", "callbacks/csv_logger.py.j2", "callbacks/tensorboard.py.j2"}
)
_SAVING = frozenset({"save", "save_weights"})


def translate_strategies(script: KerasScript, plan) -> None:
    """Unwrap the strategies' scopes and replace ``num_replicas_in_sync``; decide whether fit is distributed."""
    distribution = script.distribution
    plan.unwrapped.update(id(scope) for scope in distribution.scopes)
    plan.distributed = distribution.mirrored is not None


def translate_distributed_training(script: KerasScript, plan) -> None:
    """Once every call is translated: the processes' share of the work, or, where the generated loops
    cannot share it yet, a TODO at the strategy and one process (``num_replicas_in_sync`` = 1)."""
    distribution = script.distribution
    if plan.distributed:
        reason = _not_shared(script, plan)
        if reason:
            first = distribution.strategies[0]
            plan.todos.append(
                Todo(
                    first,
                    "K2T150",
                    f"tf.distribute.MirroredStrategy: {reason}; the script trains as one process",
                    distribution.mirrored,
                )
            )
            plan.distributed = False
        else:
            _save_on_rank_zero(script, plan)
    for ident, mirrored in distribution.replica_counts.items():
        plan.calls[ident] = plan.name("world_size") if mirrored and plan.distributed else "1"
        _replace_in_translated_call(ident, distribution.replica_calls, plan)


def _replace_in_translated_call(ident: int, replica_calls: dict[int, tuple[tuple[int, ...], str]], plan) -> None:
    """A replica count read inside a call k2t rewrote (``fit(model, optimizer, x, y, batch_size=64 *
    strategy.num_replicas_in_sync)``): the rewrite copied the argument's text, so the count is replaced
    there; the tree's own replacement of the node would never be reached."""
    calls, text = replica_calls.get(ident, ((), ""))
    for call in calls:  # innermost first: the call whose text holds the argument as written
        if call in plan.calls and text in plan.calls[call]:
            count = plan.calls[ident]
            plan.calls[call] = plan.calls[call].replace(
                text, count if count.isidentifier() or count.isdigit() else f"({count})"
            )
            return


def _not_shared(script: KerasScript, plan) -> str:
    """Why the generated loops cannot share the script's training over processes ("" when they can)."""
    if plan.batch_kinds or "predict_batches" in plan.features:
        return "training on batches (a generator, a Sequence or a dataset) over several processes is not translated"
    if any("_on_batch" in feature or feature.endswith("_steps") for feature in plan.features):
        return "train_on_batch / a train_step override over several processes is not translated"
    if script.custom_training.tapes:
        return "a tf.GradientTape loop over several processes is not translated"
    if "steps_per_epoch" in plan.fit_options:
        return "fit(steps_per_epoch=...) over several processes is not translated"
    if any(m.stateful for t in plan.trainings for m in [*t.metrics, *(m for o in t.outputs or () for m in o.metrics)]):
        return "a stateful metric (AUC, Precision, ...) summed over several processes is not translated"
    if plan.callback_loop is not None and plan.callback_loop.batch:
        return "callbacks with per-batch hooks over several processes are not translated"
    return ""


def _save_on_rank_zero(script: KerasScript, plan) -> None:
    """``model.save(path)`` on a line of its own: one process writes the file (they hold the same weights)."""
    rank = plan.name("rank")
    for call in script.calls:
        if call.method not in _SAVING or id(call.node) not in plan.calls:
            continue
        lines = plan.statements.get(id(call.statement))
        if lines and len(lines) == 1 and isinstance(call.statement, cst.SimpleStatementLine):
            plan.statements[id(call.statement)] = [
                f"if {rank} == 0:  # the processes hold the same weights: one writes them\n    {lines[0]}\n"
            ]
        else:
            plan.calls[id(call.node)] = f"({plan.calls[id(call.node)]} if {rank} == 0 else None)"
