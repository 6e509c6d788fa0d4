"""keras.preprocessing.image.ImageDataGenerator: the script's generators become instances of a
generated NumPy class of the same name (templates/functions/images/), written for the options
the script uses; ``datagen.fit(x)``, ``datagen.flow(x, y)``, ``datagen.flow_from_directory(dir)`` and
``datagen.flow_from_dataframe(df, dir)`` (a pandas DataFrame, read as Keras reads it) stay as written, and fit / evaluate / predict read the batches they give as they read a
keras.utils.Sequence (generators.py).

The generated code repeats Keras 3.15's keras/src/legacy/preprocessing/image.py step for step;
tests/test_image_data.py and tests/test_parity_image_data.py compare it with Keras's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import libcst as cst
from libcst.metadata import PositionProvider

from ..cst_walk import walk, walk_with_statements
from ..diagnostics import Unsupported
from ..ir import KerasCall, Todo, Value
from ..names import canonical_name
from .applications.preprocessing import PREPROCESS_FUNCTIONS, preprocess_helper
from .helpers import Helper

if TYPE_CHECKING:
    from ..parse import KerasScript
    from . import ScriptPlan

# Every module Keras (2 and 3, through tf.keras or not) exports the class from, canonical.
IMAGE_DATA_GENERATORS = frozenset(
    {
        "keras.preprocessing.image.ImageDataGenerator",
        "keras.legacy.preprocessing.image.ImageDataGenerator",
        "keras._legacy.preprocessing.image.ImageDataGenerator",
    }
)

# Keras's constructor signature, in order, with its defaults as the generated class writes them
# (Keras's data_format=None and dtype=None read the backend's: channels_last and float32).
_PARAMETERS: tuple[tuple[str, str], ...] = (
    ("featurewise_center", "False"),
    ("samplewise_center", "False"),
    ("featurewise_std_normalization", "False"),
    ("samplewise_std_normalization", "False"),
    ("zca_whitening", "False"),
    ("zca_epsilon", "1e-6"),
    ("rotation_range", "0"),
    ("width_shift_range", "0.0"),
    ("height_shift_range", "0.0"),
    ("brightness_range", "None"),
    ("shear_range", "0.0"),
    ("zoom_range", "0.0"),
    ("channel_shift_range", "0.0"),
    ("fill_mode", '"nearest"'),
    ("cval", "0.0"),
    ("horizontal_flip", "False"),
    ("vertical_flip", "False"),
    ("rescale", "None"),
    ("preprocessing_function", "None"),
    ("data_format", '"channels_last"'),
    ("validation_split", "0.0"),
    ("interpolation_order", "1"),
    ("dtype", '"float32"'),
)
_NAMES = tuple(name for name, _ in _PARAMETERS)
_DEFAULTS = {"None": None, "False": False, "0": 0, "0.0": 0.0, "1": 1, "1e-6": 1e-6, '"nearest"': "nearest"}
# Written in every generated class: the axes and the batches' dtype.
_ALWAYS = ("data_format", "dtype")
# An option's step reads these too (Keras's overrides: ZCA centers, std normalization centers).
_READS = {
    "featurewise_std_normalization": ("featurewise_center",),
    "zca_whitening": ("featurewise_center", "zca_epsilon"),
    "samplewise_std_normalization": ("samplewise_center",),
}
_AFFINE = ("rotation_range", "width_shift_range", "height_shift_range", "shear_range", "zoom_range")
_TRANSFORMS = (*_AFFINE, "channel_shift_range", "brightness_range", "horizontal_flip", "vertical_flip")

# The methods' parameters the generated class has, in Keras's order up to the first it leaves out.
_METHOD_PARAMETERS = {
    "flow": ("x", "y", "batch_size", "shuffle", "sample_weight", "seed"),
    "flow_from_directory": (
        "directory",
        "target_size",
        "color_mode",
        "classes",
        "class_mode",
        "batch_size",
        "shuffle",
        "seed",
    ),
    # weight_col comes next in Keras: batches of (x, y, weights), which the generated fit does not read.
    "flow_from_dataframe": ("dataframe", "directory", "x_col", "y_col"),
    "fit": ("x", "augment", "rounds", "seed"),
    "standardize": ("x",),
    "random_transform": ("x", "seed"),
    "get_random_transform": ("img_shape", "seed"),
    "apply_transform": ("x", "transform_parameters"),
}
_KEYWORD_ONLY = {
    "flow": ("ignore_class_split", "subset"),
    "flow_from_directory": ("follow_links", "subset", "interpolation", "keep_aspect_ratio"),
    "flow_from_dataframe": (
        "target_size",
        "color_mode",
        "classes",
        "class_mode",
        "batch_size",
        "shuffle",
        "seed",
        "subset",
        "interpolation",
        "validate_filenames",
    ),
}
# Methods whose batches fit / evaluate / predict read.
BATCH_METHODS = ("flow", "flow_from_directory", "flow_from_dataframe")

_TEMPLATES = "functions/images/"
IMAGE_BATCHES = Helper("ImageBatches", _TEMPLATES + "image_batches.py.j2")


@dataclass
class _MethodCall:
    method: str
    node: cst.Call
    statement: cst.CSTNode
    pos: tuple[int, int]


@dataclass
class _Uses:
    """What the script does with its generators: the constructor calls and the methods it calls on them."""

    calls: list[tuple[KerasCall, cst.Call]] = field(default_factory=list)
    variables: set[str] = field(default_factory=set)  # datagen = ImageDataGenerator(...)
    methods: list[_MethodCall] = field(default_factory=list)
    statements: dict[int, cst.CSTNode] = field(default_factory=dict)  # id(constructor call) -> its statement


def generator_calls(script: KerasScript) -> list[tuple[KerasCall, cst.Call]]:
    """The script's ImageDataGenerator(...) calls, any import spelling."""
    return [(f.call, f.node) for f in script.functions if f.call.name in IMAGE_DATA_GENERATORS]


def generator_variables(script: KerasScript) -> frozenset[str]:
    """Names bound to an ImageDataGenerator(...) call: their flow(...) calls give batches."""
    return frozenset(_uses(script).variables)


def imported_generator_names(script: KerasScript) -> set[str]:
    """``from keras.preprocessing.image import ImageDataGenerator``: that import goes, and the
    generated class of the same name takes its place."""
    names: set[str] = set()
    for node in walk(script.module):
        if not isinstance(node, cst.ImportFrom) or node.module is None or isinstance(node.names, cst.ImportStar):
            continue
        module = canonical_name(script.module.code_for_node(node.module))
        names.update(
            alias.name.value
            for alias in node.names
            if alias.asname is None
            and isinstance(alias.name, cst.Name)
            and canonical_name(f"{module}.{alias.name.value}") in IMAGE_DATA_GENERATORS
        )
    return names


def translate_image_data_generators(script: KerasScript, plan: ScriptPlan) -> None:
    """Each ImageDataGenerator(...) call becomes a call of the generated class, its arguments as
    written; a use the class cannot follow is reported where it is, and then no call converts
    (the script keeps Keras's class, whose import stays)."""
    uses = _uses(script)
    if not uses.calls:
        return
    todos: list[Todo] = []
    given: set[str] = set()
    used: set[str] = set()
    for call, node in uses.calls:
        try:
            arguments = _constructor_arguments(call)
        except Unsupported as exc:
            todos.append(Todo(uses.statements[id(node)], exc.code, exc.message, exc.pos or call.pos))
            continue
        given.update(arguments)
        used.update(name for name, value in arguments.items() if not _is_default(name, value))
    methods: set[str] = set()
    augment = False
    for method_call in uses.methods:
        try:
            keywords = _method_arguments(method_call)
        except Unsupported as exc:
            todos.append(Todo(method_call.statement, exc.code, exc.message, exc.pos))
            continue
        methods.add(method_call.method)
        augment |= method_call.method == "fit" and (
            "augment" in keywords or len(method_call.node.args) > len(keywords) + 1
        )
        if "subset" in keywords:
            used.add("validation_split")  # Keras's default 0.0: an empty validation subset
    if todos:
        plan.todos.extend(todos)
        return
    helper = plan.add_helper(_generator_helper(given, used, methods, augment))
    name = plan.name(helper.name)
    for call, node in uses.calls:
        rewritten = _with_generated_preprocessing(call, node, plan)
        text = script.module.code_for_node(rewritten)
        plan.calls[id(node)] = name + text[len(script.module.code_for_node(rewritten.func)) :]


def _with_generated_preprocessing(call: KerasCall, node: cst.Call, plan: ScriptPlan) -> cst.Call:
    """``preprocessing_function=preprocess_input`` of keras.applications: the generated function's name instead
    (Keras calls it on each image in standardize(), as the generated class does)."""
    value = dict(call.bind(_NAMES)[0]).get("preprocessing_function")
    if value is None or value.keras_ref not in PREPROCESS_FUNCTIONS:
        return node
    function = plan.name(plan.add_helper(preprocess_helper(value.keras_ref)).name)
    position = _NAMES.index("preprocessing_function")
    args = [
        arg.with_changes(value=cst.Name(function))
        if (arg.keyword is not None and arg.keyword.value == "preprocessing_function")
        or (arg.keyword is None and index == position)
        else arg
        for index, arg in enumerate(node.args)
    ]
    return node.with_changes(args=args)


def _generator_helper(given: set[str], used: set[str], methods: set[str], augment: bool) -> Helper:
    features = set(used)
    for option in used:
        features.update(_READS.get(option, ()))
    if features & set(_AFFINE):
        features.update(("fill_mode", "cval"))  # how the affine transform fills the edges
    parameters = [(name, default) for name, default in _PARAMETERS if name in given | features | set(_ALWAYS)]
    stored = [name for name in _NAMES if name in features and name not in ("interpolation_order",)]
    transforms = bool(features & set(_TRANSFORMS))
    requires = [IMAGE_BATCHES]
    batch_args = (("transforms", transforms), ("subsets", "validation_split" in features))
    if "flow" in methods:
        requires.append(
            Helper("ArrayImageBatches", _TEMPLATES + "array_image_batches.py.j2", batch_args, (IMAGE_BATCHES,))
        )
    # The directory and the data frame iterators read image files alike (Keras's BatchFromFilesMixin).
    file_batches = Helper("FileImageBatches", _TEMPLATES + "file_image_batches.py.j2", batch_args, (IMAGE_BATCHES,))
    if "flow_from_directory" in methods:
        requires.append(
            Helper("DirectoryImageBatches", _TEMPLATES + "directory_image_batches.py.j2", batch_args, (file_batches,))
        )
    if "flow_from_dataframe" in methods:
        requires.append(
            Helper("DataFrameImageBatches", _TEMPLATES + "dataframe_image_batches.py.j2", batch_args, (file_batches,))
        )
    args = (
        ("parameters", tuple(parameters)),
        ("stored", tuple(stored)),
        ("features", tuple(sorted(features))),
        ("accepted_defaults", tuple(name for name, _ in parameters if name not in features and name not in _ALWAYS)),
        ("transforms", transforms),
        ("affine", bool(features & set(_AFFINE))),
        ("flow", "flow" in methods),
        ("flow_from_directory", "flow_from_directory" in methods),
        ("flow_from_dataframe", "flow_from_dataframe" in methods),
        ("fit", "fit" in methods),
        ("augment", augment),
        ("random_transform", "random_transform" in methods or augment),
    )
    return Helper("ImageDataGenerator", _TEMPLATES + "image_data_generator.py.j2", args, tuple(requires))


def _constructor_arguments(call: KerasCall) -> dict[str, Value]:
    """The arguments by Keras's parameter names; K2T102 for what the generated class cannot do."""
    arguments, extra, unknown = call.bind(_NAMES)
    if extra is not None:
        raise Unsupported("K2T102", "ImageDataGenerator(): too many positional arguments", extra.pos)
    if unknown is not None:
        raise Unsupported(
            "K2T102", f"ImageDataGenerator({unknown[0]}=...) is not an argument Keras 3 takes", unknown[1].pos
        )
    for name, value in arguments.items():
        keras_name = value.keras_ref or (value.keras_call.name if value.keras_call is not None else None)
        if name == "preprocessing_function" and value.keras_call is None and keras_name in PREPROCESS_FUNCTIONS:
            continue  # keras.applications' preprocess_input: its generated numpy function (the call is rewritten)
        if keras_name is not None:
            # keras.applications.*.preprocess_input and friends: Keras code the class would call.
            raise Unsupported(
                "K2T100", f"ImageDataGenerator({name}=...): Keras API `{keras_name}` is not translated", value.pos
            )
    order = arguments.get("interpolation_order")
    if order is not None and not (order.is_literal and order.literal == 1):
        # Keras's spline order for scipy.ndimage; the generated transform is the order-1 (bilinear) one.
        raise Unsupported(
            "K2T102", "ImageDataGenerator(interpolation_order=...) other than 1 is not translated", order.pos
        )
    return arguments


def _is_default(name: str, value: Value) -> bool:
    default = _DEFAULTS.get(dict(_PARAMETERS)[name], _MISSING)
    if name == "data_format":
        return value.is_literal and value.literal in (None, "channels_last")
    if name == "dtype":
        return value.is_literal and value.literal in (None, "float32")
    return (
        value.is_literal
        and default is not _MISSING
        and type(value.literal) is type(default)
        and value.literal == default
    )


_MISSING = object()


def _method_arguments(method_call: _MethodCall) -> set[str]:
    """The keywords of a method call on a generator; K2T100 / K2T102 for what the generated class lacks."""
    node, method = method_call.node, method_call.method
    pos = method_call.pos
    if method not in _METHOD_PARAMETERS:
        raise Unsupported("K2T100", f"ImageDataGenerator.{method}() is not translated", pos)
    keywords = {arg.keyword.value for arg in node.args if arg.keyword is not None}
    positional = [arg for arg in node.args if arg.keyword is None]
    if any(arg.star for arg in node.args):
        raise Unsupported("K2T102", f"ImageDataGenerator.{method}(*args / **kwargs) is not translated", pos)
    allowed = _METHOD_PARAMETERS[method]
    if len(positional) > len(allowed):
        raise Unsupported(
            "K2T102", f"ImageDataGenerator.{method}(): k2t takes its first {len(allowed)} arguments by position", pos
        )
    if method == "flow" and ("sample_weight" in keywords or len(positional) > allowed.index("sample_weight")):
        # The batches would be (x, y, weights) triples: the generated fit/evaluate read (x, y) pairs.
        raise Unsupported("K2T102", "ImageDataGenerator.flow(sample_weight=...) is not translated", pos)
    if method == "flow_from_dataframe" and "weight_col" in keywords:
        raise Unsupported("K2T102", "ImageDataGenerator.flow_from_dataframe(weight_col=...) is not translated", pos)
    for keyword in keywords - set(allowed) - set(_KEYWORD_ONLY.get(method, ())):
        # save_to_dir / save_prefix / save_format write each augmented image to disk.
        raise Unsupported("K2T102", f"ImageDataGenerator.{method}({keyword}=...) is not translated", pos)
    return keywords


def _uses(script: KerasScript) -> _Uses:
    uses = _Uses(calls=generator_calls(script))
    constructors = {id(node) for _, node in uses.calls}
    if not constructors:
        return uses
    for statement, node in walk_with_statements(script.module):
        if id(node) in constructors:
            uses.statements[id(node)] = statement
        if isinstance(node, cst.Assign) and id(node.value) in constructors:
            uses.variables.update(t.target.value for t in node.targets if isinstance(t.target, cst.Name))
    positions = script.metadata.resolve(PositionProvider) if script.metadata is not None else {}
    for statement, node in walk_with_statements(script.module):
        if not (isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute)):
            continue
        receiver = node.func.value
        if (isinstance(receiver, cst.Name) and receiver.value in uses.variables) or id(receiver) in constructors:
            position = positions.get(node.func.attr)
            pos = (position.start.line, position.start.column + 1) if position is not None else (1, 1)
            uses.methods.append(_MethodCall(node.func.attr.value, node, statement, pos))
    return uses
