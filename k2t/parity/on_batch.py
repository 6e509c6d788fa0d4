"""Parity of ``train_on_batch`` / ``test_on_batch`` / ``predict_on_batch`` loops, call by call.

1. Run the Keras script; at each model's first *_on_batch call keep the model and its weights then;
   record what every *_on_batch call returns.
2. Put those weights back into the Keras models; run the converted script, copying them into each
   torch module at its first generated *_on_batch call (the n-th model met gets the n-th Keras
   model's weights); record what every call returns.
3. The two records must match call for call: the same kinds in the same order, losses within
   LOSS_RTOL, metrics within METRIC_RTOL, predictions within LAYER_TOL.

Both sides run in this process (as ``exact_parity`` does); the script must not use Dropout, whose
random masks differ between the frameworks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .capture import Hooks, quiet_tensorflow, quiet_warnings, run_keras, run_torch, torch_step_hooks_kept
from .exact import ABS_FLOOR, LAYER_TOL, LOSS_RTOL, METRIC_RTOL, _has_graph
from .instrument import convert

ON_BATCH_KINDS = ("train_on_batch", "test_on_batch", "predict_on_batch")


@dataclass
class OnBatchReport:
    keras_results: list[tuple[str, Any]] = field(default_factory=list)  # (kind, returned value) per call
    torch_results: list[tuple[str, Any]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    diagnostics: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures and bool(self.keras_results)


class _Recorder(Hooks):
    """Records every *_on_batch result; ``first(model, n)`` runs at the first such call on the n-th model met."""

    def __init__(self, first):
        self.first = first
        self.models: list = []
        self.results: list[tuple[str, Any]] = []

    def before(self, kind, function, args, kwargs):
        if kind in ON_BATCH_KINDS and not any(args[0] is model for model in self.models):
            self.models.append(args[0])
            self.first(args[0], len(self.models) - 1)

    def after(self, kind, args, kwargs, result):
        if kind in ON_BATCH_KINDS:
            self.results.append((kind, result))


def on_batch_parity(source: str, path: Path, keras_source: str | None = None) -> OnBatchReport:
    """Run ``source`` with Keras and its conversion with torch from the same weights; compare every *_on_batch call.

    ``keras_source``: the Keras side runs this instead, the same calls in the spelling Keras 3 gives the
    behaviour the conversion follows (a Keras 2 GAN's discriminator made trainable around its own step)."""
    quiet_tensorflow()
    from ..weights import transfer_weights
    from . import functional

    report = OnBatchReport()
    conversion = convert(source, str(path))
    report.diagnostics = conversion.diagnostics
    if conversion.output is None:
        report.failures.append("the script could not be converted")
        return report
    initial: list[list] = []
    keras_side = _Recorder(lambda kmodel, _: initial.append(kmodel.get_weights()))
    with quiet_warnings():
        run_keras(source if keras_source is None else keras_source, path, keras_side)
    if not keras_side.models:
        report.failures.append("the Keras script makes no *_on_batch call")
        return report
    for kmodel, weights in zip(keras_side.models, initial):
        kmodel.set_weights(weights)

    def copy_weights(tmodel, index: int) -> None:
        if index >= len(keras_side.models):
            raise RuntimeError(
                f"the converted script calls *_on_batch on {index + 1} models, the Keras script on fewer"
            )
        kmodel = keras_side.models[index]
        # The Keras weights when this model first ran: models sharing layers (a GAN's combined model holds the
        # discriminator) each get theirs at their own first call, after the other's steps so far.
        kmodel.set_weights(initial[index])
        module_plan = conversion.module_plan(type(tmodel).__name__)
        graph = module_plan.forward_lines is not None and _has_graph(kmodel)
        transfer_weights(
            kmodel, tmodel, module_plan, functional.keras_layers_for(kmodel, module_plan) if graph else None
        )

    torch_side = _Recorder(copy_weights)
    with quiet_warnings(), torch_step_hooks_kept():
        run_torch(conversion, path, torch_side)
    report.keras_results, report.torch_results = keras_side.results, torch_side.results
    _compare(report)
    return report


def _compare(report: OnBatchReport) -> None:
    import numpy as np

    keras_kinds = [kind for kind, _ in report.keras_results]
    torch_kinds = [kind for kind, _ in report.torch_results]
    if keras_kinds != torch_kinds:
        report.failures.append(f"calls differ: keras {keras_kinds}, torch {torch_kinds}")
        return
    for index, ((kind, keras_value), (_, torch_value)) in enumerate(zip(report.keras_results, report.torch_results)):
        if isinstance(keras_value, dict) or isinstance(torch_value, dict):
            if not (
                isinstance(keras_value, dict)
                and isinstance(torch_value, dict)
                and list(keras_value) == list(torch_value)
            ):
                report.failures.append(f"call {index} ({kind}): keras {keras_value!r}, torch {torch_value!r}")
                continue
            keras_value, torch_value = list(keras_value.values()), list(torch_value.values())
        expected = np.asarray(keras_value, dtype=np.float64)
        got = np.asarray(torch_value, dtype=np.float64)
        if expected.shape != got.shape:
            report.failures.append(f"call {index} ({kind}): shapes keras {expected.shape}, torch {got.shape}")
            continue
        if kind == "predict_on_batch":
            tolerance = np.full(expected.shape, LAYER_TOL)
        else:  # the loss first, then the metrics
            rtol = np.full(expected.shape, METRIC_RTOL)
            rtol.reshape(-1)[0] = LOSS_RTOL
            tolerance = rtol * np.abs(expected) + ABS_FLOOR
        if not (np.abs(expected - got) <= tolerance).all():
            report.failures.append(f"call {index} ({kind}): keras {expected.tolist()}, torch {got.tolist()}")
