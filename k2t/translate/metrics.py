"""Keras metrics -> generated metric functions or classes and their history keys.

A mean-type metric (accuracies, mae, mse, mape, top-k) is a generated function of
(output, target) giving one value per sample; the training loop sums it over the
epoch's rows. A stateful metric (AUC, Precision, Recall, RootMeanSquaredError) is a
generated class with ``update(output, target)`` and ``result()``: Keras accumulates
its state (confusion counts, a sum of squares) over the epoch and computes the
value once at the end, which is not a mean of per-sample values.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..diagnostics import Unsupported
from ..ir import Value
from .dims import Dim, static_int
from .helpers import Helper
from .script_metrics import SCRIPT_METRIC
from .user_functions import ScriptFunctions, UserFunction


@dataclass(frozen=True)
class MetricPlan:
    """One compile(metrics=[...]) entry as the generated loop uses it."""

    key: str  # history key
    helper: Helper  # generated function (per-sample values) or class (stateful)
    arguments: str = ""  # keyword arguments of the call / construction, e.g. "k=3"
    stateful: bool = False
    name: str = ""  # the Keras metric's own name (the key before an output prefix or Keras's de-duplication)
    functions: tuple[UserFunction, ...] = ()  # the script's own functions it calls

    def call(self, output: str, target: str) -> str:
        """Per-sample values of a mean-type metric."""
        return f"{self.helper.name}({output}, {target}{', ' + self.arguments if self.arguments else ''})"

    @property
    def construction(self) -> str:
        """A fresh stateful metric (the loop builds one per epoch, as Keras resets them)."""
        return f"{self.helper.name}({self.arguments})"


def _function(name: str, **args) -> Helper:
    return Helper(name, f"metrics/{name}.py.j2", tuple(args.items()))


_BINARY_ACCURACY = _function("binary_accuracy")
_CATEGORICAL_ACCURACY = _function("categorical_accuracy")
_SPARSE_CATEGORICAL_ACCURACY = _function("sparse_categorical_accuracy")
_ACCURACY = Helper(
    "accuracy",
    "metrics/accuracy.py.j2",
    requires=(_BINARY_ACCURACY, _SPARSE_CATEGORICAL_ACCURACY, _CATEGORICAL_ACCURACY),
)


# keras.metrics.<class>: the count of outputs whose prediction (above the threshold) and target
# (nonzero) are as named, summed over the epoch (keras.src.metrics.confusion_metrics).
_CONFUSION_COUNTS = {
    "TruePositives": ("true_positives", "predicted & actual"),
    "FalsePositives": ("false_positives", "predicted & ~actual"),
    "TrueNegatives": ("true_negatives", "~predicted & ~actual"),
    "FalseNegatives": ("false_negatives", "~predicted & actual"),
}


@dataclass(frozen=True)
class _Kind:
    """One Keras metric class: its default name and the constructor arguments k2t translates."""

    class_name: str
    default_name: str | None  # None: Keras numbers unnamed instances (auc, auc_1, ...)
    arguments: tuple[str, ...] = ()


# Keras 3 resolves a metric string through keras.metrics.get: a class name, its snake_case
# spelling, or one of the short aliases; the history key is the string exactly as written.
_KINDS = {
    kind.class_name: kind
    for kind in (
        _Kind("BinaryAccuracy", "binary_accuracy", ("threshold",)),
        _Kind("CategoricalAccuracy", "categorical_accuracy"),
        _Kind("SparseCategoricalAccuracy", "sparse_categorical_accuracy"),
        _Kind("TopKCategoricalAccuracy", "top_k_categorical_accuracy", ("k",)),
        _Kind("SparseTopKCategoricalAccuracy", "sparse_top_k_categorical_accuracy", ("k", "from_sorted_ids")),
        _Kind("MeanSquaredError", "mean_squared_error"),
        _Kind("MeanAbsoluteError", "mean_absolute_error"),
        _Kind("MeanAbsolutePercentageError", "mean_absolute_percentage_error"),
        _Kind("RootMeanSquaredError", "root_mean_squared_error"),
        _Kind("AUC", None, ("num_thresholds", "curve", "summation_method", "from_logits", "thresholds", "multi_label")),
        _Kind("Precision", None, ("thresholds", "top_k", "class_id")),
        _Kind("Recall", None, ("thresholds", "top_k", "class_id")),
        *(_Kind(name, None, ("thresholds",)) for name in _CONFUSION_COUNTS),
    )
}
_SNAKE = {
    "binary_accuracy": "BinaryAccuracy",
    "categorical_accuracy": "CategoricalAccuracy",
    "sparse_categorical_accuracy": "SparseCategoricalAccuracy",
    "top_k_categorical_accuracy": "TopKCategoricalAccuracy",
    "sparse_top_k_categorical_accuracy": "SparseTopKCategoricalAccuracy",
    "mean_squared_error": "MeanSquaredError",
    "mean_absolute_error": "MeanAbsoluteError",
    "mean_absolute_percentage_error": "MeanAbsolutePercentageError",
    "root_mean_squared_error": "RootMeanSquaredError",
    "auc": "AUC",
    "precision": "Precision",
    "recall": "Recall",
    **{snake: name for name, (snake, _) in _CONFUSION_COUNTS.items()},
}
_ALIASES = {
    "mse": "MeanSquaredError",
    "MSE": "MeanSquaredError",
    "mae": "MeanAbsoluteError",
    "MAE": "MeanAbsoluteError",
    "mape": "MeanAbsolutePercentageError",
    "MAPE": "MeanAbsolutePercentageError",
}
_STRINGS = {**{name: name for name in _KINDS}, **_SNAKE, **_ALIASES}
# keras.metrics.<function> references (metrics passed as functions, named after them).
_FUNCTION_REFS = frozenset(
    {
        "binary_accuracy",
        "categorical_accuracy",
        "sparse_categorical_accuracy",
        "top_k_categorical_accuracy",
        "sparse_top_k_categorical_accuracy",
        "mean_squared_error",
        "mean_absolute_error",
        "mean_absolute_percentage_error",
        "mae",
        "mse",
        "mape",
    }
)
# Keras numbers unnamed instances of these per class (keras.src.utils.naming.auto_name).
_NUMBERED = {
    "AUC": "auc",
    "Precision": "precision",
    "Recall": "recall",
    **{name: snake for name, (snake, _) in _CONFUSION_COUNTS.items()},
}
_THRESHOLD_COUNTS = Helper("ThresholdCounts", "metrics/threshold_counts.py.j2")
_LISTED_THRESHOLD_COUNTS = Helper("ListedThresholdCounts", "metrics/listed_threshold_counts.py.j2")
_DIVIDE_NO_NAN = Helper("_divide_no_nan", "metrics/divide_no_nan.py.j2")
_MEAN_METRIC_WRAPPER = Helper("MeanMetricWrapper", "metrics/mean_metric_wrapper.py.j2")


def plan_metric(
    value: Value,
    loss: str | None,
    units: Dim,
    numbered: dict[int, str] | None = None,
    functions: ScriptFunctions | None = None,
) -> MetricPlan:
    """How one compile(metrics=[...]) entry is computed, and its history key.

    ``numbered``: the names Keras gives unnamed AUC/Precision/Recall objects, by id() of their
    Value (see number_metric_objects). ``functions``: the script's own functions, which an entry may name.
    """
    function = functions.resolve(value, "metric", "K2T122") if functions is not None else None
    if function is not None and function.loss_object:
        raise Unsupported(
            "K2T122", f"metric `{value.code}`: a Loss object of the script as a metric is not translated", value.pos
        )
    if function is not None and function.metric_object:
        # Keras uses the object itself: reset per epoch, update_state per batch, result() in the logs.
        return MetricPlan(function.name, SCRIPT_METRIC, function.code, stateful=True, functions=(function,))
    if function is not None:
        # Keras wraps a function in MeanMetricWrapper, named after the function (its __name__).
        return MetricPlan(function.name, _MEAN_METRIC_WRAPPER, function.code, stateful=True, functions=(function,))
    if value.is_literal and isinstance(value.literal, str):
        key = value.literal
        if key.lower() in ("accuracy", "acc"):
            return MetricPlan(key, _accuracy(loss, units))
        if key in _STRINGS:
            return _plan(_KINDS[_STRINGS[key]], key, {}, value)
        raise Unsupported("K2T122", f"metric {key!r} is not translated", value.pos)
    call = value.keras_call
    if call is not None and call.name.startswith("keras.metrics.") and call.short_name in _KINDS:
        kind = _KINDS[call.short_name]
        if call.args:
            raise Unsupported("K2T122", f"metric `{value.code}`: positional arguments are not translated", call.pos)
        arguments: dict[str, Value] = {}
        name = None
        for key, item in call.kwargs:
            if key == "name" and item.is_literal and isinstance(item.literal, str):
                name = item.literal
            elif key in kind.arguments:
                arguments[key] = item
            else:
                raise Unsupported("K2T122", f"metric argument {key}= of `{value.code}` is not translated", item.pos)
        if name is None:
            name = kind.default_name or (numbered or {}).get(id(value)) or _NUMBERED[kind.class_name]
        return _plan(kind, name, arguments, value)
    if value.keras_ref is not None and value.keras_ref.startswith("keras.metrics."):
        short = value.keras_ref.rsplit(".", 1)[-1]
        if short in _FUNCTION_REFS:
            return _plan(_KINDS[_STRINGS[short]], short, {}, value)
    raise Unsupported("K2T122", f"metric `{value.code}` is not translated", value.pos)


def keras_metric_keys(metrics: list[MetricPlan], pos) -> list[MetricPlan]:
    """Keras's history keys: a repeated name gets _1, _2, ... (keras CompileMetrics.result)."""
    seen: dict[str, int] = {}
    keys: set[str] = set()
    result = []
    for metric in metrics:
        key = metric.key
        if key in seen:
            seen[key] += 1
            key = f"{key}_{seen[key] - 1}"
        else:
            seen[key] = 1
        if key in keys:
            raise Unsupported(
                "K2T122", f"two metrics share the history key {key!r}: Keras keeps only the last one", pos
            )
        keys.add(key)
        result.append(dataclasses.replace(metric, key=key, name=metric.name or metric.key))
    return result


def keras_evaluate_order(tracked: list[str], keys: list[str]) -> list[str]:
    """The keys in the order Keras's evaluate() lists their values (Trainer._flatten_metrics_in_order).

    ``tracked``: the names of Keras's own metric objects in order ("loss", output losses, compile
    metrics by their own names, unprefixed); ``keys``: every key of the result. Tracked names that
    are keys come first (a repeated name repeats its value), then the other keys sorted.
    """
    return [name for name in tracked if name in keys] + sorted(key for key in keys if key not in tracked)


def number_metric_objects(values: list[Value], counters: dict[str, int]) -> dict[int, str]:
    """Keras's names of the unnamed AUC/Precision/Recall objects of one compile: auc, auc_1, ...

    Keras numbers instances per class in the order they are built (keras.src.utils.naming.auto_name):
    the objects when the compile arguments are evaluated, in source order, then one instance per
    metric string of the class when fit first runs (its history key stays the string).
    ``counters`` carries the numbering from one compile to the next.
    """
    names = {}
    for value in sorted(values, key=lambda v: v.pos):
        call = value.keras_call
        if (
            call is not None
            and call.name.startswith("keras.metrics.")
            and call.short_name in _NUMBERED
            and not any(key == "name" for key, _ in call.kwargs)
        ):
            names[id(value)] = _numbered(_NUMBERED[call.short_name], counters)
    for value in values:
        if value.is_literal and isinstance(value.literal, str) and _STRINGS.get(value.literal) in _NUMBERED:
            _numbered(_NUMBERED[_STRINGS[value.literal]], counters)
    return names


def _numbered(prefix: str, counters: dict[str, int]) -> str:
    n = counters.get(prefix, 0)
    counters[prefix] = n + 1
    return prefix if n == 0 else f"{prefix}_{n}"


def _plan(kind: _Kind, key: str, arguments: dict[str, Value], value: Value) -> MetricPlan:
    return _PLANNERS[kind.class_name](key, _Arguments(arguments, value))


class _Arguments:
    """The literal constructor arguments of one metric object."""

    def __init__(self, values: dict[str, Value], metric: Value):
        self.values = values
        self.metric = metric

    def get(self, name: str, default=None, kind: type | tuple[type, ...] = (int, float)):
        item = self.values.get(name)
        if item is None:
            return default
        if (
            not item.is_literal
            or isinstance(item.literal, bool)
            and kind is not bool
            or not isinstance(item.literal, kind)
        ):
            raise Unsupported(
                "K2T122", f"metric argument {name}={item.code} of `{self.metric.code}` must be a literal", item.pos
            )
        return item.literal

    def reject(self, name: str, why: str) -> None:
        item = self.values[name]
        raise Unsupported("K2T122", f"metric argument {name}={item.code} of `{self.metric.code}`: {why}", item.pos)


def _mean(function: str):
    def planner(key: str, args: _Arguments) -> MetricPlan:
        return MetricPlan(key, _function(function))

    return planner


def _binary_accuracy(key: str, args: _Arguments) -> MetricPlan:
    threshold = args.get("threshold", 0.5)
    if threshold == 0.5:
        return MetricPlan(key, _BINARY_ACCURACY)
    return MetricPlan(key, _function("binary_accuracy", threshold_parameter=True), f"threshold={threshold!r}")


def _top_k(function: str):
    def planner(key: str, args: _Arguments) -> MetricPlan:
        if args.get("from_sorted_ids", False, bool):
            args.reject("from_sorted_ids", "outputs that are sorted class ids are not translated")
        k = args.get("k", 5, int)
        return MetricPlan(key, _function(function), "" if k == 5 else f"k={k}")

    return planner


def _root_mean_squared_error(key: str, args: _Arguments) -> MetricPlan:
    return MetricPlan(key, Helper("RootMeanSquaredError", "metrics/root_mean_squared_error.py.j2"), stateful=True)


def _auc(key: str, args: _Arguments) -> MetricPlan:
    if args.get("multi_label", False, bool):
        args.reject("multi_label", "one AUC per label is not translated")
    curve = args.get("curve", "ROC", str)
    summation = args.get("summation_method", "interpolation", str)
    # Keras upper-cases the curve and lower-cases the summation method (AUCCurve/AUCSummationMethod.from_str).
    if curve.upper() not in ("ROC", "PR"):
        args.reject("curve", 'only "ROC" and "PR" are translated')
    if summation.lower() not in ("interpolation", "minoring", "majoring"):
        args.reject("summation_method", "Keras knows only interpolation, minoring and majoring")
    num_thresholds = args.get("num_thresholds", 200, int)
    counts, arguments = _THRESHOLD_COUNTS, "" if num_thresholds == 200 else f"num_thresholds={num_thresholds}"
    if "thresholds" in args.values:
        thresholds = args.get("thresholds", None, (list, tuple))
        if not all(isinstance(t, (int, float)) and not isinstance(t, bool) for t in thresholds):
            args.reject("thresholds", "must be a list of literal numbers")
        num_thresholds = _evenly_spaced(thresholds)
        if num_thresholds is None:
            # Keras compares every prediction with every threshold (no bucketing) when they are not evenly spaced.
            counts, arguments = _LISTED_THRESHOLD_COUNTS, f"thresholds={list(thresholds)!r}"
        else:
            arguments = f"num_thresholds={num_thresholds}"
    elif num_thresholds <= 1:
        args.reject("num_thresholds", "Keras needs more than one threshold")
    helper = Helper(
        "AUC" if curve.upper() == "ROC" else "PrecisionRecallAUC",
        "metrics/auc.py.j2",
        (
            ("curve", curve.upper()),
            ("summation", summation.lower()),
            ("from_logits", bool(args.get("from_logits", False, bool))),
            ("counts", counts.name),
        ),
        requires=(counts, _DIVIDE_NO_NAN),
    )
    return MetricPlan(key, helper, arguments, stateful=True)


def _evenly_spaced(thresholds) -> int | None:
    """n when [0] + thresholds + [1] are i/(n-1): Keras then uses its num_thresholds=n computation."""
    values = [0.0, *sorted(thresholds), 1.0]
    if not all(isinstance(v, (int, float)) for v in values) or len(values) < 3:
        return None
    n = len(values)
    if all(abs(v - i / (n - 1)) <= 1e-7 + 1e-5 * i / (n - 1) for i, v in enumerate(values)):  # np.allclose(atol=1e-7)
        return n
    return None


def _one_threshold(args: _Arguments) -> float | None:
    """``thresholds=0.3`` or ``thresholds=[0.3]``; None where not given. Several give one value each in Keras (a list
    in the history): not translated."""
    threshold = args.get("thresholds", None, (int, float, list, tuple))
    if isinstance(threshold, (list, tuple)):
        if len(threshold) != 1:
            args.reject("thresholds", "several thresholds give one value each (a list in the history): not translated")
        threshold = threshold[0]
        if not isinstance(threshold, (int, float)) or isinstance(threshold, bool):
            args.reject("thresholds", "must be a literal number")
    return threshold


def _confusion_ratio(class_name: str, template: str):
    """Precision or Recall: one threshold, optionally only the top_k outputs, optionally one class."""

    def planner(key: str, args: _Arguments) -> MetricPlan:
        threshold = _one_threshold(args)
        top_k = args.get("top_k", None, int)
        class_id = args.get("class_id", None, int)
        arguments = []
        if threshold is not None and not (threshold == 0.5 and top_k is None):
            arguments.append(f"threshold={threshold!r}")
        if top_k is not None:
            arguments.append(f"top_k={top_k}")
        if class_id is not None:
            arguments.append(f"class_id={class_id}")
        helper = Helper(class_name, template, (("top_k", top_k is not None), ("class_id", class_id is not None)))
        return MetricPlan(key, helper, ", ".join(arguments), stateful=True)

    return planner


def _confusion_count(class_name: str):
    """TruePositives and its kin: one threshold (Keras's default 0.5), a count over every output."""
    snake, condition = _CONFUSION_COUNTS[class_name]

    def planner(key: str, args: _Arguments) -> MetricPlan:
        threshold = _one_threshold(args)
        helper = Helper(
            class_name,
            "metrics/confusion_count.py.j2",
            (("description", snake.replace("_", " ")), ("condition", condition)),
        )
        arguments = "" if threshold is None or threshold == 0.5 else f"threshold={threshold!r}"
        return MetricPlan(key, helper, arguments, stateful=True)

    return planner


_PLANNERS = {
    "BinaryAccuracy": _binary_accuracy,
    "CategoricalAccuracy": _mean("categorical_accuracy"),
    "SparseCategoricalAccuracy": _mean("sparse_categorical_accuracy"),
    "TopKCategoricalAccuracy": _top_k("top_k_categorical_accuracy"),
    "SparseTopKCategoricalAccuracy": _top_k("sparse_top_k_categorical_accuracy"),
    "MeanSquaredError": _mean("mean_squared_error"),
    "MeanAbsoluteError": _mean("mean_absolute_error"),
    "MeanAbsolutePercentageError": _mean("mean_absolute_percentage_error"),
    "RootMeanSquaredError": _root_mean_squared_error,
    "AUC": _auc,
    "Precision": _confusion_ratio("Precision", "metrics/precision.py.j2"),
    "Recall": _confusion_ratio("Recall", "metrics/recall.py.j2"),
    **{name: _confusion_count(name) for name in _CONFUSION_COUNTS},
}
assert set(_PLANNERS) == set(_KINDS), "every Keras metric kind needs a planner"


def _accuracy(loss: str | None, units: Dim) -> Helper:
    """Keras picks the accuracy from shapes; decide statically when the script makes it certain."""
    known = static_int(units) if static_int(units) is not None else (units.hint if units is not None else None)
    if known == 1:
        return _BINARY_ACCURACY
    if loss == "sparse_categorical_crossentropy":
        return _SPARSE_CATEGORICAL_ACCURACY
    if loss == "categorical_crossentropy" and known is not None:
        return _CATEGORICAL_ACCURACY  # (Dense(num_classes): the script's knob, known here as more than one)
    return _ACCURACY
