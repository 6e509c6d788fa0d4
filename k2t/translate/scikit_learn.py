"""Keras 2's scikit-learn wrappers as a generated estimator class (templates/functions/scikit_learn_wrapper.py.j2).

``KerasClassifier(build_fn=create_model, epochs=150, batch_size=10, verbose=0)``
keeps its call; the class of that name is Keras 2's wrapper
(keras/wrappers/scikit_learn.py) written over the converted functions:
``create_model`` builds and compiles a fresh module at every fit (its
optimizer travels as ``model.optimizer``), which the script's generated
``fit`` trains; ``predict`` / ``predict_proba`` / ``score`` go through the
generated ``predict`` and ``evaluate``. The compile() that ``create_model``
makes decides, at conversion, what Keras 2 decided from the model at run
time: whether y is one-hot encoded (categorical_crossentropy) and which
entry of evaluate() is the accuracy the classifier's score returns.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import libcst as cst

from ..diagnostics import Unsupported
from ..ir import CompileSpec, KerasScript, ScikitLearnWrapper, Todo, Value
from .helpers import Helper

if TYPE_CHECKING:
    from . import ScriptPlan, TrainingPlan
    from .plan import ModulePlan

# The arguments of Keras 2's Sequential.fit / evaluate / predict / predict_classes (tf.keras 2.x), which the
# wrapper takes as sk_params and passes on by name.
KERAS2_FIT = (
    "x", "y", "batch_size", "epochs", "verbose", "callbacks", "validation_split", "validation_data", "shuffle",
    "class_weight", "sample_weight", "initial_epoch", "steps_per_epoch", "validation_steps",
    "validation_batch_size", "validation_freq", "max_queue_size", "workers", "use_multiprocessing",
)  # fmt: skip
KERAS2_EVALUATE = (
    "x", "y", "batch_size", "verbose", "sample_weight", "steps", "callbacks", "max_queue_size", "workers",
    "use_multiprocessing", "return_dict",
)  # fmt: skip
KERAS2_PREDICT = (
    "x",
    "batch_size",
    "verbose",
    "steps",
    "callbacks",
    "max_queue_size",
    "workers",
    "use_multiprocessing",
)

GENERATED_NAMES = {f"keras.wrappers.scikit_learn.{kind}": kind for kind in ("KerasClassifier", "KerasRegressor")}
_ACCURACY = ("accuracy", "acc")  # the names Keras 2's KerasClassifier.score looks for in metrics_names


def translate_scikit_learn_wrappers(
    script: KerasScript,
    modules: dict[int, ModulePlan],
    trainings: dict[int, TrainingPlan],
    fit_arguments: frozenset[str],
    plan: ScriptPlan,
) -> None:
    """Each wrapper call: its estimator class, and the generated fit / evaluate / predict it drives."""
    for wrapper in script.scikit_learn_wrappers:
        try:
            _translate_wrapper(wrapper, modules, trainings, fit_arguments, plan, script.module)
        except Unsupported as exc:
            plan.todos.append(Todo(wrapper.statement, exc.code, exc.message, exc.pos or wrapper.pos))


def _translate_wrapper(
    wrapper: ScikitLearnWrapper,
    modules: dict[int, ModulePlan],
    trainings: dict[int, TrainingPlan],
    fit_arguments: frozenset[str],
    plan: ScriptPlan,
    module_code: cst.Module,
) -> None:
    spec, compiled = wrapper.instance.model, wrapper.instance.compile
    module = modules.get(id(spec))
    training = trainings.get(id(compiled)) if compiled is not None else None
    if module is None or training is None:
        what = "model" if module is None else "compile()"
        raise Unsupported(
            "K2T103",
            f"{wrapper.kind}(build_fn={wrapper.function}): the {what} {wrapper.function}() makes is not translated "
            "(see its diagnostic)",
            wrapper.pos,
        )
    if training.outputs is not None or len(module.forward_args) > 1:
        raise Unsupported(
            "K2T103", f"{wrapper.kind}() of a model of several inputs or outputs is not translated", wrapper.pos
        )
    given = dict(wrapper.keywords)
    for key, value in given.items():
        untranslated = key in KERAS2_FIT and (key not in fit_arguments or key == "callbacks")
        if untranslated or (key in {*KERAS2_EVALUATE, *KERAS2_PREDICT} - {*KERAS2_FIT, "batch_size", "verbose"}):
            raise Unsupported("K2T130", f"{wrapper.kind}({key}=...) is not translated", value.pos)
        if key in KERAS2_FIT and key not in ("batch_size", "epochs", "verbose"):
            plan.fit_options.add(key)
    _progress_features(given.get("verbose"), plan)
    plan.features.update({"fit", "evaluate", "predict"})
    fit_names = ("batch_size", "epochs", "verbose", *sorted(set(plan.fit_options) & set(KERAS2_FIT) - {"callbacks"}))
    evaluate_names = ("batch_size", "verbose", *(("sample_weight",) if plan.weighted else ()))
    predict_names = ("batch_size", "verbose")
    untranslated = sorted({*KERAS2_FIT, *KERAS2_EVALUATE, *KERAS2_PREDICT} - {*fit_names, *evaluate_names})
    categorical = _categorical(compiled)
    requires = (Helper("to_categorical", "functions/to_categorical.py.j2"),) if categorical else ()
    name = plan.name(GENERATED_NAMES[f"keras.wrappers.scikit_learn.{wrapper.kind}"])
    helper = Helper(
        name,
        "functions/scikit_learn_wrapper.py.j2",
        (
            ("kind", wrapper.kind),
            ("fit_function", plan.name("fit" + training.suffix)),
            ("evaluate_function", plan.name("evaluate" + training.suffix)),
            ("predict_function", plan.name("predict")),
            ("loss_function", plan.name(training.loss.name) if training.loss_parameter else ""),
            ("categorical", categorical),
            ("accuracy_index", _accuracy_index(compiled) if wrapper.kind == "KerasClassifier" else None),
            ("fit_arguments", fit_names),
            ("evaluate_arguments", evaluate_names),
            ("predict_arguments", predict_names),
            ("untranslated_arguments", tuple(untranslated)),
        ),
        requires,
    )
    registered = plan.add_helper(helper)
    written = wrapper.node.func
    if not (isinstance(written, cst.Name) and written.value == registered.name):
        # `KC(...)` of `import KerasClassifier as KC`, `tf.keras.wrappers.scikit_learn.KerasClassifier(...)`, a second
        # estimator class of the script: the call of the generated class, its arguments as written.
        plan.calls[id(wrapper.node)] = module_code.code_for_node(
            wrapper.node.with_changes(func=cst.Name(registered.name))
        )


def _progress_features(verbose: Value | None, plan: ScriptPlan) -> None:
    """fit and evaluate print as Keras does at the wrapper's verbose (1 by default; set_params may change it)."""
    if verbose is None or not verbose.is_literal or verbose.literal == 1:
        plan.features.update({"progress_fit", "progress_evaluate"})
    if verbose is not None and (not verbose.is_literal or verbose.literal == 2):
        plan.features.add("epoch_line")


def _categorical(compiled: CompileSpec) -> bool:
    """Keras 2's losses.is_categorical_crossentropy(model.loss): the wrapper one-hot encodes 1-D targets then."""
    loss = compiled.loss
    if loss is None:
        return False
    if loss.is_literal:
        return loss.literal == "categorical_crossentropy"
    if loss.keras_ref is not None:
        return loss.keras_ref == "keras.losses.categorical_crossentropy"
    return loss.keras_call is not None and loss.keras_call.name == "keras.losses.CategoricalCrossentropy"


def _accuracy_index(compiled: CompileSpec) -> int | None:
    """The entry of evaluate()'s [loss, *metrics] that Keras 2 names "accuracy" or "acc"; None: no such metric."""
    for index, metric in enumerate(compiled.metrics, start=1):
        if metric.is_literal and metric.literal in _ACCURACY:
            return index
        call = metric.keras_call
        if call is None:
            if not metric.is_literal and metric.keras_ref is None:
                raise Unsupported(
                    "K2T122",
                    f"KerasClassifier.score() looks for the metric Keras 2 names accuracy; k2t cannot tell "
                    f"the name of `{metric.code}`",
                    metric.pos,
                )
            continue
        named = dict(call.kwargs).get("name")
        if named is not None and named.is_literal:
            if named.literal in _ACCURACY:
                return index
        elif named is None and call.name == "keras.metrics.Accuracy":
            return index  # Keras's Accuracy() is named "accuracy"
    return None
