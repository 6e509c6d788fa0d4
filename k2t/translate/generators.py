"""fit / evaluate / predict on batches a script makes itself: Keras 2's ``fit_generator`` family, and
Keras 3's ``fit(gen, steps_per_epoch=...)`` on a generator function or a ``keras.utils.Sequence`` /
``PyDataset`` subclass of the script.

The script's generator function and its Sequence class stay as written (the class loses its Keras
base); the calls become the generated ``fit_batches`` / ``evaluate_batches`` / ``predict_batches``,
which draw the batches as Keras's epoch iterator does (templates/batches.py.j2).
"""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field

from ..diagnostics import Unsupported
from ..ir import MethodCall, Value
from .signatures import METHOD_SIGNATURES

# Keras 2's signatures (keras/engine/training.py), in argument order.
GENERATOR_SIGNATURES: dict[str, tuple[str, ...]] = {
    "fit_generator": (
        "generator",
        "steps_per_epoch",
        "epochs",
        "verbose",
        "callbacks",
        "validation_data",
        "validation_steps",
        "validation_freq",
        "class_weight",
        "max_queue_size",
        "workers",
        "use_multiprocessing",
        "shuffle",
        "initial_epoch",
    ),
    "evaluate_generator": (
        "generator",
        "steps",
        "callbacks",
        "max_queue_size",
        "workers",
        "use_multiprocessing",
        "verbose",
    ),
    "predict_generator": (
        "generator",
        "steps",
        "callbacks",
        "max_queue_size",
        "workers",
        "use_multiprocessing",
        "verbose",
    ),
}
# Keras 3's own spellings when x is such batches.
# Keras 1 names Keras 2 still read (its legacy interface), as the Keras 2 names.
_KERAS1_NAMES = {
    "nb_epoch": "epochs",
    "max_q_size": "max_queue_size",
    "nb_worker": "workers",
    "pickle_safe": "use_multiprocessing",
}
# Keras 1 counted samples, not batches; the batch size lives inside the generator, so no step count follows.
_SAMPLE_COUNTS = {"samples_per_epoch": "steps_per_epoch", "nb_val_samples": "validation_steps", "val_samples": "steps"}
# How batches are fetched (threads, processes, queue length): the batches and results do not change.
_FETCHING = frozenset({"max_queue_size", "workers", "use_multiprocessing"})

# What each generated function takes (besides the model, optimizer and loss), by Keras name -> its parameter.
_PARAMETERS: dict[str, dict[str, str]] = {
    "fit": {
        "generator": "batches",
        "x": "batches",
        "steps_per_epoch": "steps_per_epoch",
        "epochs": "epochs",
        "verbose": "verbose",
        "validation_data": "validation_data",
        "validation_steps": "validation_steps",
        "shuffle": "shuffle",
        "initial_epoch": "initial_epoch",
        "callbacks": "callbacks",
    },
    "evaluate": {
        "generator": "batches",
        "x": "batches",
        "steps": "steps",
        "verbose": "verbose",
        "return_dict": "return_dict",
    },
    "predict": {"generator": "batches", "x": "batches", "steps": "steps", "verbose": "verbose"},
}


@dataclass(frozen=True)
class BatchSources:
    """What in the script makes batches: generator functions and Sequence classes, and variables holding their results."""

    makers: frozenset[str]  # `def gen(...): ... yield` and `class Batches(keras.utils.Sequence)`
    variables: frozenset[str]  # `train_gen = gen(...)`
    image_generators: frozenset[str] = (
        frozenset()
    )  # `datagen = ImageDataGenerator(...)`: datagen.flow(...) makes batches
    # The tf.data pipelines (k2t.translate.tf_data): source text -> converted text; a variable holding one too.
    datasets: Mapping[str, str] = field(default_factory=dict)

    def holds_batches(self, value: Value) -> bool:
        """``value`` is a generator, Sequence or dataset the script made: a variable bound to one, or the call itself."""
        if value.code.strip() in self.datasets:
            return True
        try:
            node = ast.parse(value.code.strip(), mode="eval").body
        except SyntaxError:
            return False
        if isinstance(node, ast.Name):
            return node.id in self.variables
        return isinstance(node, ast.Call) and self.makes_batches(node)

    def converted(self, value: Value) -> Value:
        """``value`` as the output writes it: a tf.data pipeline written in a call's arguments is converted there."""
        code = self.datasets.get(value.code.strip())
        return value if code is None else dataclasses.replace(value, code=code)

    def makes_batches(self, call: ast.Call) -> bool:
        """``gen(...)``, ``Batches(...)``, ``datagen.flow(...)`` / ``datagen.flow_from_directory(...)`` / ``...flow_from_dataframe(...)``."""
        if isinstance(call.func, ast.Name):
            return call.func.id in self.makers
        return (
            isinstance(call.func, ast.Attribute)
            and call.func.attr in IMAGE_BATCH_METHODS
            and isinstance(call.func.value, ast.Name)
            and call.func.value.id in self.image_generators
        )


# ImageDataGenerator's methods whose result fit reads like a Sequence (k2t.translate.image_data).
IMAGE_BATCH_METHODS = ("flow", "flow_from_directory", "flow_from_dataframe")


def batch_sources(
    source: str,
    sequence_classes: set[str],
    image_generators: frozenset[str] = frozenset(),
    datasets: Mapping[str, str] | None = None,
) -> BatchSources:
    """The script's generator functions (a ``yield`` in their own body) and the names bound to their calls."""
    tree = ast.parse(source)
    makers = set(sequence_classes)
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and _yields(node):
            makers.add(node.name)
    datasets = datasets or {}
    sources = BatchSources(frozenset(makers), frozenset(), image_generators, datasets)
    variables = set()
    for node in ast.walk(tree):
        call = node.value if isinstance(node, ast.Assign) else None
        if isinstance(call, ast.Call) and sources.makes_batches(call):
            variables.update(target.id for target in node.targets if isinstance(target, ast.Name))
    return BatchSources(frozenset(makers), frozenset(variables), image_generators, datasets)


def _yields(function: ast.AST) -> bool:
    """A ``yield`` of the function itself, not of a function or class nested in it."""
    pending = list(ast.iter_child_nodes(function))
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.Yield, ast.YieldFrom)):
            return True
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            pending.extend(ast.iter_child_nodes(node))
    return False


def on_batches(call: MethodCall, sources: BatchSources) -> bool:
    """Whether the call trains / evaluates / predicts on batches rather than arrays."""
    if call.method in GENERATOR_SIGNATURES:
        return True
    if call.method not in ("fit", "evaluate", "predict"):
        return False
    x = call.args[0] if call.args else dict(call.kwargs).get("x")
    return x is not None and sources.holds_batches(x)


def batches_beside_arrays(call: MethodCall, sources: BatchSources) -> Value | None:
    """``fit(x, y, validation_data=val_ds)``: batches (a dataset, a generator) where the fit on arrays takes arrays."""
    validation = dict(call.kwargs).get("validation_data") if call.method == "fit" else None
    return validation if validation is not None and sources.holds_batches(validation) else None


def kind_of(call: MethodCall) -> str:
    """fit / evaluate / predict, whichever spelling."""
    return call.method.removesuffix("_generator")


def batch_arguments(call: MethodCall) -> dict[str, Value]:
    """The call's arguments by Keras name, Keras 1 names read as Keras 2 did; K2T130 for what cannot be expressed."""
    signature = GENERATOR_SIGNATURES.get(call.method) or METHOD_SIGNATURES[call.method]
    given: dict[str, Value] = {}
    for index, value in enumerate(call.args):
        if index >= len(signature):
            raise Unsupported("K2T130", f"{call.method}(): too many positional arguments", value.pos)
        given[signature[index]] = value
    for key, value in call.kwargs:
        if key in _SAMPLE_COUNTS:
            raise Unsupported(
                "K2T130",
                f"{call.method}({key}=...) counts samples (Keras 1); the batch size is the generator's, so k2t cannot "
                f"tell the steps: write {_SAMPLE_COUNTS[key]}= (batches) instead",
                value.pos,
            )
        key = _KERAS1_NAMES.get(key, key)
        if key in given:
            raise Unsupported("K2T130", f"{call.method}(): {key} given twice", value.pos)
        given[key] = value
    kind = kind_of(call)
    translated: dict[str, Value] = {}
    for key, value in given.items():
        if key in _FETCHING or (key == "callbacks" and value.is_literal and value.literal in (None, [], ())):
            continue  # how batches are fetched, or no callbacks: nothing changes
        if key == "y" and value.is_literal and value.literal is None:
            continue
        if key not in _PARAMETERS[kind]:
            raise Unsupported(
                "K2T130",
                f"{call.method}({key}=...) on batches from a generator or Sequence is not translated",
                value.pos,
            )
        translated[_PARAMETERS[kind][key]] = value
    if "batches" not in translated:
        raise Unsupported("K2T130", f"{call.method}() without its data is not translated", call.pos)
    if call.method in ("evaluate_generator", "predict_generator") and "verbose" not in translated:
        translated["verbose"] = Value("0", call.pos, literal=0)  # Keras 2's default there: silent
    return translated


def batches_call_code(function: str, leading: list[str], given: dict[str, Value]) -> str:
    """``fit_batches(model, optimizer, train_gen, steps_per_epoch=500, ...)``: the data first, the rest by name."""
    parts = [*leading, _one_line(given["batches"].code)]
    parts += [f"{name}={_one_line(value.code)}" for name, value in given.items() if name != "batches"]
    return f"{function}({', '.join(parts)})"


def _one_line(code: str) -> str:
    """An argument the script wrote over several lines (``datagen.flow(x,\n batch_size=32)``) on one line, so the
    generated call around it is one statement the line-length pass can wrap; one with a comment stays as written."""
    if "\n" not in code or "#" in code:
        return code
    try:
        return ast.unparse(ast.parse(code.strip(), mode="eval"))
    except SyntaxError:
        return code
