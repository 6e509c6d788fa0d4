"""What k2t reads off the CST without the parser's state: names, blocks, small syntactic facts."""

from __future__ import annotations

import ast

import libcst as cst

from ..cst_walk import Visitor, module_syntax
from ..values import target_names as _target_names

MODEL_METHODS = (
    "fit",
    "evaluate",
    "predict",
    "summary",
    "save",
    "save_weights",
    "load_weights",
    "predict_classes",
    "predict_proba",
    "count_params",
    "fit_generator",
    "evaluate_generator",
    "predict_generator",
    "train_on_batch",
    "test_on_batch",
    "predict_on_batch",
    "reset_metrics",
    "reset_states",
    "build",
)

# Bases of the classes a script writes to hand fit its batches: the class stays, the base goes.
SEQUENCE_BASES = ("keras.utils.Sequence", "keras.utils.PyDataset")


# Every spelling of Keras's model loader (tf.keras.models.load_model, from-imports) folds into these.
LOAD_MODEL = ("keras.models.load_model", "keras.saving.load_model")
CLONE_MODEL = ("keras.models.clone_model",)


# keras.applications models k2t builds as torch modules (k2t.translate.applications), by every spelling.
APPLICATIONS = {
    "keras.applications.MobileNetV2": "MobileNetV2",
    "keras.applications.mobilenet_v2.MobileNetV2": "MobileNetV2",
    "keras.applications.ResNet50": "ResNet50",
    "keras.applications.resnet50.ResNet50": "ResNet50",
    "keras.applications.resnet.ResNet50": "ResNet50",
    "keras.applications.VGG16": "VGG16",
    "keras.applications.vgg16.VGG16": "VGG16",
    **{
        f"keras.applications{module}.EfficientNetB{size}": f"EfficientNetB{size}"
        for module in ("", ".efficientnet")
        for size in range(8)
    },
}
# VGG19, ResNet101/152, ResNet V2 and DenseNet, under Keras's exports (keras.applications and the family's module).
APPLICATIONS.update(
    {
        f"keras.applications{module}.{name}": name
        for family, names in (
            ("vgg19", ("VGG19",)),
            ("resnet", ("ResNet101", "ResNet152")),
            ("resnet_v2", ("ResNet50V2", "ResNet101V2", "ResNet152V2")),
            ("densenet", ("DenseNet121", "DenseNet169", "DenseNet201")),
        )
        for name in names
        for module in ("", f".{family}")
    }
)
# MobileNet (V1), MobileNetV3, Xception and InceptionV3, under the same exports.
APPLICATIONS.update(
    {
        f"keras.applications{module}.{name}": name
        for name, family in (
            ("MobileNet", "mobilenet"),
            ("MobileNetV3Small", "mobilenet_v3"),
            ("MobileNetV3Large", "mobilenet_v3"),
            ("Xception", "xception"),
            ("InceptionV3", "inception_v3"),
        )
        for module in ("", f".{family}")
    }
)

# ConvNeXt, under keras.applications and keras.applications.convnext.
APPLICATIONS.update(
    {
        f"keras.applications{module}.ConvNeXt{size}": f"ConvNeXt{size}"
        for size in ("Tiny", "Small", "Base", "Large", "XLarge")
        for module in ("", ".convnext")
    }
)
# EfficientNetV2, under keras.applications and keras.applications.efficientnet_v2.
APPLICATIONS.update(
    {
        f"keras.applications{module}.EfficientNetV2{size}": f"EfficientNetV2{size}"
        for size in ("B0", "B1", "B2", "B3", "S", "M", "L")
        for module in ("", ".efficientnet_v2")
    }
)

# Keras symbols whose objects a script may bind to a name and pass later.
BINDABLE_PREFIXES = (
    "keras.optimizers.",
    "keras.losses.",
    "keras.metrics.",
    "keras.regularizers.",
    "keras.initializers.",
    "keras.activations.",
)


# Keras modules a script may give another name by assignment (`mnist = tf.keras.datasets.mnist`, `keras = tf.keras`,
# `layers = tf.keras.layers`): the name is then an alias of the module, as if imported under it.
ALIASED_MODULES = frozenset(
    {
        "keras",
        *(
            f"keras.{module}"
            for module in (
                "layers",
                "models",
                "backend",
                "datasets",
                "optimizers",
                "optimizers.schedules",
                "losses",
                "metrics",
                "callbacks",
                "utils",
                "regularizers",
                "initializers",
                "activations",
                "applications",
                "preprocessing",
                "preprocessing.image",
                "preprocessing.sequence",
                "preprocessing.text",
                "ops",
                "mixed_precision",
            )
        ),
        *(
            f"keras.datasets.{name}"
            for name in (
                "mnist",
                "fashion_mnist",
                "cifar10",
                "cifar100",
                "imdb",
                "reuters",
                "boston_housing",
                "california_housing",
            )
        ),
    }
)


# Keras/TensorFlow functions the translator replaces wherever they are called.
FUNCTIONS = (
    "keras.utils.set_random_seed",
    "keras.utils.to_categorical",
    "keras.utils.pad_sequences",
    "keras.utils.clear_session",
    "tensorflow.random.set_seed",
    "keras.backend.image_data_format",
    "keras.config.image_data_format",
    "keras.backend.image_dim_ordering",
    *(
        f"keras.datasets.{name}.load_data"
        for name in ("mnist", "fashion_mnist", "cifar10", "cifar100", "imdb", "reuters")
    ),
    *(f"keras.datasets.{name}.load_data" for name in ("boston_housing", "california_housing")),
    *(
        "keras.datasets.imdb.get_word_index",
        "keras.datasets.reuters.get_word_index",
        "keras.datasets.reuters.get_label_names",
    ),
    # Keras 2's class, which Keras 3 keeps in keras.src.legacy (k2t.translate.image_data).
    *(f"keras.{module}preprocessing.image.ImageDataGenerator" for module in ("", "legacy.", "_legacy.")),
    "keras.utils.get_file",
    # keras.applications' preprocess_input on arrays: a generated numpy function (k2t.translate.applications.preprocessing).
    *(
        f"keras.applications.{family}.preprocess_input"
        for family in ("mobilenet_v2", "resnet50", "resnet", "vgg16", "vgg19", "efficientnet")
    ),
    *(f"keras.applications.{family}.preprocess_input" for family in ("resnet_v2", "densenet")),
    *(
        f"keras.applications.{family}.preprocess_input"
        for family in ("mobilenet", "mobilenet_v3", "xception", "inception_v3")
    ),
    *(f"keras.applications.{family}.preprocess_input" for family in ("convnext", "efficientnet_v2")),
    # keras.applications' decode_predictions: a generated function reading Keras's cached class index
    # (k2t.translate.applications.decode_predictions); every family exports imagenet_utils' one.
    *(
        f"keras.applications.{family}.decode_predictions"
        for family in (
            "imagenet_utils",
            "convnext",
            "densenet",
            "efficientnet",
            "efficientnet_v2",
            "inception_resnet_v2",
            "inception_v3",
            "mobilenet",
            "mobilenet_v2",
            "mobilenet_v3",
            "nasnet",
            "resnet",
            "resnet50",
            "resnet_v2",
            "vgg16",
            "vgg19",
            "xception",
        )
    ),
    "keras.utils.normalize",
    "keras.engine.training.slice_X",  # Keras 1's (k2t.translate.sequences)
    # Mixed precision: the generated loops run under torch.autocast (k2t.translate.precision).
    "keras.mixed_precision.set_global_policy",
    "keras.mixed_precision.experimental.set_policy",
    "keras.config.set_dtype_policy",
    "keras.preprocessing.sequence.skipgrams",
    "keras.preprocessing.sequence.make_sampling_table",
    # Keras 2's text preprocessing (Keras 3 keeps it as keras._legacy): generated in the output.
    *(
        f"keras.preprocessing.text.{name}"
        for name in ("Tokenizer", "tokenizer_from_json", "text_to_word_sequence", "one_hot", "hashing_trick")
    ),
    # load_img, img_to_array, array_to_img, save_img: Pillow twins generated in the output (k2t.translate.directory_data).
    *(
        f"keras.{module}.{name}"
        for module in ("utils", "preprocessing.image", "utils.image_utils")
        for name in ("load_img", "img_to_array", "array_to_img", "save_img")
    ),
)


# Keras 3's image data format unless the script sets another (keras.config.set_image_data_format).
DEFAULT_IMAGE_DATA_FORMAT = "channels_last"


# Lowercase function forms of the merge layers: layers.add([a, b]) is Add()([a, b]).
MERGE_FUNCTIONS = {
    "add": "Add",
    "subtract": "Subtract",
    "multiply": "Multiply",
    "average": "Average",
    "maximum": "Maximum",
    "minimum": "Minimum",
    "concatenate": "Concatenate",
    "dot": "Dot",
}


# `a op= b` -> the binary operator of `a = a op b` (the values the parser follows; the tensors the translation rewrites).
AUGMENTED_OPERATORS: dict[type, type] = {
    cst.AddAssign: cst.Add,
    cst.SubtractAssign: cst.Subtract,
    cst.MultiplyAssign: cst.Multiply,
    cst.DivideAssign: cst.Divide,
    cst.FloorDivideAssign: cst.FloorDivide,
    cst.ModuloAssign: cst.Modulo,
    cst.PowerAssign: cst.Power,
    cst.MatrixMultiplyAssign: cst.MatrixMultiply,
}
_AUGMENTED = AUGMENTED_OPERATORS


# Python operators Keras applies to Keras tensors, as the merge layer that computes the same.
_TENSOR_OPERATORS = {"Add": "Add", "Subtract": "Subtract", "Multiply": "Multiply"}


# Axes of the (x, y) arrays keras.datasets loaders return (Keras 3.15: keras/src/datasets/*.py).
_DATASET_RANKS = {
    "mnist": (3, 1),
    "fashion_mnist": (3, 1),
    "cifar10": (4, 2),
    "cifar100": (4, 2),
    "imdb": (1, 1),
    "reuters": (1, 1),
    "boston_housing": (2, 1),
    "california_housing": (2, 1),
}


# Modules whose names are Python's builtins under Python 3 (`from six.moves import range, zip`).
_BUILTIN_MODULES = frozenset({"six.moves", "builtins", "future.builtins", "past.builtins", "__builtin__"})


_INPUT_SHAPE_NEEDED = "k2t needs Input(shape=...) written as a tuple, or as an array's shape (`x_train.shape[1:]`)"


def is_docstring(statement: cst.CSTNode) -> bool:
    """A statement that is only a string literal: a docstring where it opens a module, class or function."""
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Expr)
        and isinstance(statement.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )


def _enclosing_quotes(statement: cst.CSTNode, target: cst.CSTNode) -> set[str]:
    """The quote characters of the f-strings around ``target`` (a replacement inside must use another)."""
    quotes: list[str] = []
    found: set[str] = set()

    class _Visitor(Visitor):
        def enter(self, node: cst.CSTNode) -> bool:
            if node is target:
                found.update(quotes)
            if isinstance(node, cst.FormattedString):
                quotes.append(node.start.lstrip("rRfFbBuU")[0])
            return True

        def leave(self, original_node: cst.CSTNode) -> None:
            if isinstance(original_node, cst.FormattedString):
                quotes.pop()

    statement.visit(_Visitor())
    return found


class _Finder(Visitor):
    """Collect Calls and the outermost Name/Attribute chains, in source order."""

    def __init__(self):
        self.found: list[cst.CSTNode] = []

    def visit_Call(self, node: cst.Call) -> bool:
        self.found.append(node)
        return True

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        self.found.append(node)
        node.value.visit(self)  # `vae.decoder`: `decoder` names an attribute, not the script's variable
        return False

    def visit_Name(self, node: cst.Name) -> bool:
        self.found.append(node)
        return False

    def visit_Arg(self, node: cst.Arg) -> bool:
        node.value.visit(self)  # `fit(x=train_dataset)`: the keyword names a parameter, not the script's `x`
        return False

    # Nested scopes are walked by the parser itself.
    def visit_FunctionDef(self, node) -> bool:
        return False

    def visit_ClassDef(self, node) -> bool:
        return False

    def visit_IndentedBlock(self, node) -> bool:
        return False


def _is_learning_rate(node) -> bool:
    """``self.model.optimizer.learning_rate`` (or Keras 2's ``.lr``), exactly."""
    return (
        isinstance(node, cst.Attribute)
        and node.attr.value in ("learning_rate", "lr")
        and _self_model_attribute(node.value) == "optimizer"
        and isinstance(node.value, cst.Attribute)
        and node.value.attr.value == "optimizer"
    )


def _self_model_attribute(node) -> str | None:
    """``attr`` when ``node`` is ``self.model.attr`` or a longer chain on it (``self.model.optimizer.learning_rate``)."""
    while isinstance(node, cst.Attribute):
        inner = node.value
        if (
            isinstance(inner, cst.Attribute)
            and isinstance(inner.value, cst.Name)
            and inner.value.value == "self"
            and inner.attr.value == "model"
        ):
            return node.attr.value
        node = inner
    return None


def _mark_subtree(node: cst.CSTNode, consumed: set[int]) -> None:
    class _Mark(Visitor):
        def enter(self, n: cst.CSTNode) -> bool:
            consumed.add(id(n))
            return True

    node.visit(_Mark())


def _body_of(block) -> list:
    if isinstance(block, cst.IndentedBlock):
        return list(block.body)
    return [cst.SimpleStatementLine(body=list(block.body))] if isinstance(block, cst.SimpleStatementSuite) else []


def _child_blocks(stmt: cst.CSTNode):
    for attr in ("body", "orelse", "finalbody"):
        child = getattr(stmt, attr, None)
        if child is None:
            continue
        if isinstance(child, (cst.IndentedBlock, cst.SimpleStatementSuite)):
            yield _body_of(child)
        elif isinstance(child, (cst.Else, cst.If, cst.Finally)):
            if isinstance(child, cst.If):
                yield [child]
            else:
                yield _body_of(child.body)
    for handler in getattr(stmt, "handlers", ()) or ():
        yield _body_of(handler.body)


def _local_names(function_source: str) -> set[str]:
    """The names a function binds itself (parameters, assignments, loops...), not the globals it reads."""
    import textwrap

    try:
        tree = ast.parse(textwrap.dedent(function_source))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return set()
    function = tree.body[0]
    names = {a.arg for a in ast.walk(function.args) if isinstance(a, ast.arg)}
    for node in ast.walk(function):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
    return names


def body_locals(function_source: str) -> set[str]:
    """The names a function's own body binds, as Python's compiler decides them: assignment targets, loop and
    ``with`` / ``except`` names, imports, nested ``def`` / ``class`` names, not those of nested functions,
    classes, lambdas or comprehensions (scopes of their own), less those declared ``global`` / ``nonlocal``.
    Such a name is a local everywhere in the body, so it never reads the module's variable of that name."""
    import textwrap

    try:
        tree = ast.parse(textwrap.dedent(function_source))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return set()
    function = tree.body[0]
    if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return set()
    bound: set[str] = set()
    declared: set[str] = set()
    scopes = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda, ast.ListComp, ast.SetComp,
              ast.DictComp, ast.GeneratorExp)  # fmt: skip
    pending: list[ast.AST] = list(function.body)
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.Global, ast.Nonlocal)):
            declared.update(node.names)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            bound.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((alias.asname or alias.name).split(".")[0] for alias in node.names if alias.name != "*")
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
        if isinstance(node, scopes):
            if not isinstance(node, (ast.Lambda, *scopes[4:])):
                bound.add(node.name)  # def / class: the name, in this scope
                pending.extend(node.decorator_list)
            continue  # its body is a scope of its own (a walrus inside a comprehension is rare enough to leave)
        pending.extend(ast.iter_child_nodes(node))
    return bound - declared


def _bound_names(module: cst.Module) -> set[str]:
    """Every name the script uses or binds anywhere (generated names must not clash)."""
    names: set[str] = set()
    try:
        tree = module_syntax(module)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return names
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.alias):
            names.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            names.update(node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
    return names


def _plain_names(node: cst.BaseExpression) -> set[str]:
    """``x`` -> {x}; ``[x, shortcut]`` -> {x, shortcut}."""
    if isinstance(node, cst.Name):
        return {node.value}
    if isinstance(node, (cst.List, cst.Tuple)):
        return {name for el in node.elements for name in _plain_names(el.value)}
    return set()


def _parameter_names(params: cst.Parameters) -> list[str]:
    every = [*params.posonly_params, *params.params, *params.kwonly_params]
    for star in (params.star_arg, params.star_kwarg):
        if isinstance(star, cst.Param):
            every.append(star)
    return [p.name.value for p in every]


def _parallel(target: cst.BaseExpression, value: cst.BaseExpression) -> bool:
    """``a, b = c, d``: as many plain targets as values, none starred."""
    if not (isinstance(target, (cst.Tuple, cst.List)) and isinstance(value, (cst.Tuple, cst.List))):
        return False
    elements = [*target.elements, *value.elements]
    return len(target.elements) == len(value.elements) and not any(
        isinstance(el, cst.StarredElement) for el in elements
    )


def _concatenated(node: cst.BaseExpression) -> list[cst.BaseExpression]:
    """``[a] + [b for ...] + [c]`` -> its parts, in order."""
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
        return [*_concatenated(node.left), *_concatenated(node.right)]
    return [node]


def _assigned_by(small: cst.BaseSmallStatement) -> list[str]:
    if isinstance(small, cst.Assign):
        return [name for target in small.targets for name in _target_names(target.target)]
    if isinstance(small, (cst.AnnAssign, cst.AugAssign)):
        return _target_names(small.target)
    return []


def _jumps(body: list) -> bool:
    """Whether a loop body may leave an iteration early (break, continue, return, raise): k2t then cannot
    unroll it as the same statements once per item."""
    found = False

    class Finder(Visitor):
        def visit_Break(self, node) -> None:
            nonlocal found
            found = True

        visit_Continue = visit_Return = visit_Raise = visit_Break

        def visit_FunctionDef(self, node) -> bool:
            return False

    for statement in body:
        statement.visit(Finder())
    return found


# Layers of strings or integers whose generated class is called on data as the Keras layer is
# (k2t.translate.text_layers): `vectorize_layer(texts)` outside a model stays as written.
LAYERS_CALLED_ON_DATA = frozenset(
    {"TextVectorization", "StringLookup", "IntegerLookup", "CategoryEncoding", "Discretization", "Hashing"}
)


def calls_in(node: cst.CSTNode) -> list[cst.Call]:
    """Every Call node under ``node``, in source order."""
    found: list[cst.Call] = []

    class Finder(Visitor):
        def visit_Call(self, call: cst.Call) -> None:
            found.append(call)

    node.visit(Finder())
    return found


def names_in(node: cst.CSTNode) -> list[cst.Name]:
    """Every Name node under ``node``, in source order."""
    found: list[cst.Name] = []

    class Finder(Visitor):
        def visit_Name(self, name: cst.Name) -> None:
            found.append(name)

    node.visit(Finder())
    return found


MADE_ARRAYS = frozenset(
    {
        "tensorflow.zeros",
        "tensorflow.ones",
        "tensorflow.random.normal",
        "tensorflow.random.uniform",
        "keras.ops.zeros",
        "keras.ops.ones",
    }
)  # `model(tf.zeros((1, 28, 28, 1)))`, a call that builds the model: the shape is the call's first argument


def read_name_nodes(node: cst.CSTNode) -> list[cst.Name]:
    """The Name nodes an expression reads, in source order (``inputs.shape[-1]``: ``inputs``), not attribute names."""
    found: list[cst.Name] = []

    class Reader(Visitor):
        def visit_Name(self, name: cst.Name) -> None:
            found.append(name)

        def visit_Attribute(self, attribute: cst.Attribute) -> bool:
            attribute.value.visit(self)
            return False

    node.visit(Reader())
    return found


def read_names(node: cst.CSTNode) -> set[str]:
    """The variables an expression reads (``range(depth)`` -> {range, depth}), not attribute names."""
    return {name.value for name in read_name_nodes(node)}


def lone_call(statement: cst.CSTNode) -> cst.Call | None:
    """The call a statement line consists of (``layer.build((1,))``, ``super().__init__()``), else None."""
    if (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Expr)
        and isinstance(statement.body[0].value, cst.Call)
    ):
        return statement.body[0].value
    return None
