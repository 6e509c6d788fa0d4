"""Data read from files: ``keras.utils.image_dataset_from_directory`` / ``text_dataset_from_directory`` and
the image file utilities ``load_img``, ``img_to_array``, ``array_to_img``, ``save_img``.

The two dataset functions become generated functions of the same name and signature
(templates/functions/directories/) that list the files as Keras's ``index_directory`` does (same order,
same NumPy shuffle of the paths, same validation split) and return the generated tf.data ``ArrayDataset``
(k2t.translate.tf_data registers them), so the chain the script writes on the result
(``.cache().prefetch(AUTOTUNE)``, ``.map(...)``), ``.class_names`` and fit / evaluate / predict stay as written.

Memory: the result reads the files lazily, a batch at a time, as Keras's tf.data pipeline does, rather
than loading every image into one in-memory array: a directory of images is often larger than memory,
and the ArrayDataset's chunks let a pass read one batch of files at a time at no extra cost.

The image utilities become generated Pillow + NumPy twins of Keras 3.15's keras/src/utils/image_utils.py.
tests/test_directory_data.py compares all of them with Keras's own on the same files.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import libcst as cst
from libcst.metadata import PositionProvider

from ..cst_walk import walk_with_statements
from ..ir import KerasCall, Todo, Value
from .helpers import Helper
from .op_code import import_names

if TYPE_CHECKING:
    from ..parse import KerasScript
    from . import ScriptPlan

_TEMPLATES = "functions/directories/"
INDEX_DIRECTORY = Helper("index_directory", _TEMPLATES + "index_directory.py.j2")

IMAGE_DATASET = "image_dataset_from_directory"
TEXT_DATASET = "text_dataset_from_directory"
# Keras's functions that return a tf.data.Dataset of files, canonical -> the generated function.
DIRECTORY_DATASETS = {
    f"keras.{module}.{function}": function
    for module in ("utils", "preprocessing")
    for function in (IMAGE_DATASET, TEXT_DATASET)
}
# What each generated function needs of the ArrayDataset class and of the other helpers.
DIRECTORY_DATASET_METHODS = {IMAGE_DATASET: {"shuffle", "batch", "map"}, TEXT_DATASET: {"shuffle", "batch", "map"}}
DIRECTORY_DATASET_TEMPLATES = {function: f"{_TEMPLATES}{function}.py.j2" for function in (IMAGE_DATASET, TEXT_DATASET)}
DIRECTORY_DATASET_REQUIRES = {IMAGE_DATASET: (INDEX_DIRECTORY,), TEXT_DATASET: (INDEX_DIRECTORY,)}

# Arguments the generated functions take but whose value they cannot do: argument -> (values they can do, why).
_RESIZES = ("bilinear", "nearest")
_LIMITS: dict[str, dict[str, tuple[tuple[object, ...], str]]] = {
    IMAGE_DATASET: {
        # tf.image.resize's other kernels (bicubic with a=-0.5, area, lanczos, ...) have no exact torch twin.
        "interpolation": (_RESIZES, "k2t resizes as TensorFlow does with 'bilinear' or 'nearest' only"),
        "pad_to_aspect_ratio": ((False,), "tf.image.resize_with_pad is not translated"),
        "format": (("tf",), "the converted function returns a torch-backed dataset"),
    },
    TEXT_DATASET: {"format": (("tf",), "the converted function returns a torch-backed dataset")},
}


def report_directory_dataset_arguments(script: KerasScript, plan: ScriptPlan) -> None:
    """A K2T102 where a directory dataset call passes a value the generated function cannot do (a literal one;
    any other value is checked by the generated function when it runs, with Keras's own ValueError's wording)."""
    keras_name = import_names(script.metadata)
    positions = script.metadata.resolve(PositionProvider)
    for statement, call in _calls(script.module):
        function = DIRECTORY_DATASETS.get(keras_name(call.func) or "")
        if function is None:
            continue
        for arg in call.args:
            limit = _LIMITS[function].get(arg.keyword.value if arg.keyword is not None else "")
            if limit is None or not _is_literal(arg.value):
                continue
            value = _literal(arg.value)
            allowed, why = limit
            if (value.lower() if isinstance(value, str) else value) not in allowed:
                start = positions[arg].start
                message = (
                    f"{function}({arg.keyword.value}={script.module.code_for_node(arg.value)}) is not translated: {why}"
                )
                plan.todos.append(Todo(statement, "K2T102", message, (start.line, start.column + 1)))


def _is_literal(node: cst.BaseExpression) -> bool:
    return isinstance(node, (cst.SimpleString, cst.Integer, cst.Float)) or (
        isinstance(node, cst.Name) and node.value in ("True", "False", "None")
    )


def _literal(node: cst.BaseExpression) -> object:
    if isinstance(node, cst.Name):
        return {"True": True, "False": False, "None": None}[node.value]
    if isinstance(node, cst.SimpleString):
        return node.evaluated_value
    return int(node.value) if isinstance(node, cst.Integer) else float(node.value)


def _calls(module: cst.Module):
    """Every call of the module with the innermost statement it belongs to."""
    return ((statement, node) for statement, node in walk_with_statements(module) if isinstance(node, cst.Call))


# ------------------------------------------------------------------ load_img, img_to_array, array_to_img, save_img
_IMAGE_TEMPLATES = "functions/images/"
_ARRAY_TO_IMG = Helper("array_to_img", _IMAGE_TEMPLATES + "array_to_img.py.j2")
# Keras 3.15's signatures, which the generated functions repeat.
_IMAGE_UTILITIES: dict[str, tuple[tuple[str, ...], Helper]] = {
    "load_img": (
        ("path", "color_mode", "target_size", "interpolation", "keep_aspect_ratio"),
        Helper("load_img", _IMAGE_TEMPLATES + "load_img.py.j2"),
    ),
    "img_to_array": (("img", "data_format", "dtype"), Helper("img_to_array", _IMAGE_TEMPLATES + "img_to_array.py.j2")),
    "array_to_img": (("x", "data_format", "scale", "dtype"), _ARRAY_TO_IMG),
    # save_img(path, x, ..., **kwargs): the keywords go to Pillow's Image.save, as in Keras.
    "save_img": (
        ("path", "x", "data_format", "file_format", "scale"),
        Helper("save_img", _IMAGE_TEMPLATES + "save_img.py.j2", requires=(_ARRAY_TO_IMG,)),
    ),
}
# Every module Keras 2 and 3 export them from (TF 2.9-2.15's keras.utils.image_utils too), canonical.
IMAGE_UTILITIES = {
    f"keras.{module}.{function}": function
    for module in ("utils", "preprocessing.image", "utils.image_utils")
    for function in _IMAGE_UTILITIES
}
IMAGE_UTILITY_NAMES = {name: _IMAGE_UTILITIES[function][1].name for name, function in IMAGE_UTILITIES.items()}


def translate_image_utility(call: KerasCall, plan: ScriptPlan) -> str | None:
    """``load_img(path, target_size=(150, 150))`` -> the generated ``load_img(...)``, the script's arguments as
    written (``img_to_array(load_img(path))``: the inner call converted too); None (the call stays, a K2T100)
    for an argument Keras's has not."""
    function = IMAGE_UTILITIES[call.name]
    parameters, helper = _IMAGE_UTILITIES[function]
    _, extra, unknown = call.bind(parameters)
    if extra is not None or (unknown is not None and function != "save_img"):
        return None
    codes = [_argument_code(value, plan) for value in call.args] + [
        _argument_code(value, plan) for _, value in call.kwargs
    ]
    if None in codes:
        return None
    name = plan.name(plan.add_helper(helper).name)
    keywords = [key for key, _ in call.kwargs]
    args = codes[: len(call.args)] + [f"{key}={code}" for key, code in zip(keywords, codes[len(call.args) :])]
    return f"{name}({', '.join(args)})"


def _argument_code(value: Value, plan: ScriptPlan) -> str | None:
    """An argument's code, an image utility's call in it converted; None for another Keras call, which the
    generated function could not run."""
    inner = value.keras_call
    if inner is None:
        return value.code
    return translate_image_utility(inner, plan) if inner.name in IMAGE_UTILITIES else None
