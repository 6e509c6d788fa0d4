"""tf.data pipelines: ``tf.data.Dataset.from_tensor_slices(...)`` (and ``from_tensors``, ``range``, ``zip``,
``from_generator``, whose ``tf.TensorSpec`` signatures become the class's own) becomes the generated class
``ArrayDataset`` (templates/functions/tf_data/array_dataset.py.j2), whose methods have tf.data's names and signatures, so that the chain the script writes (``.shuffle(...).batch(32).prefetch(AUTOTUNE)``), the
variables holding it, ``for x, y in ds`` and ``ds.as_numpy_iterator()`` stay as written. fit / evaluate /
predict read such a dataset as Keras reads a tf.data.Dataset (k2t.translate.generators).

A ``.map(fn)`` / ``.filter(fn)`` function (a lambda, or a top-level ``def``) is rewritten to torch through the
op vocabulary (k2t.translate.op_code); when every op of it acts on each value alone it is marked
``ArrayDataset.elementwise(fn)`` and runs on many elements at once, otherwise element by element.

What the class does not have (``.window``, ``.interleave``, ``TFRecordDataset`` ...) is reported where the
script uses it (K2T150), and the rest of the pipeline is not converted half-way: each problem stays a TODO.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import libcst as cst
from libcst.metadata import PositionProvider

from ..cst_walk import Visitor, walk_with_statements
from ..ir import Todo
from ..ops import elementwise
from ..parse.syntax import is_docstring
from .directory_data import (
    DIRECTORY_DATASET_METHODS,
    DIRECTORY_DATASET_REQUIRES,
    DIRECTORY_DATASET_TEMPLATES,
    DIRECTORY_DATASETS,
    TEXT_DATASET,
)
from .helpers import Helper
from .op_code import KerasName, apply_rewrite, import_names, rewrite_ops
from .user_functions import UserFunction

if TYPE_CHECKING:
    from ..parse import KerasScript
    from . import ScriptPlan

# tf.data.Dataset's constructors the generated class has, canonical -> its method.
CONSTRUCTORS = {
    f"tensorflow.data.Dataset.{method}": method
    for method in ("from_tensor_slices", "from_tensors", "range", "zip", "from_generator")
}
# tf.data's functions of a dataset that are a method of the generated class, canonical -> the method.
DATASET_OF = {"tensorflow.data.experimental.cardinality": "cardinality"}
# tf.data's constants, canonical -> the class attribute.
CONSTANTS = {
    "tensorflow.data.AUTOTUNE": "AUTOTUNE",
    "tensorflow.data.experimental.AUTOTUNE": "AUTOTUNE",
    "tensorflow.data.INFINITE_CARDINALITY": "INFINITE",
    "tensorflow.data.experimental.INFINITE_CARDINALITY": "INFINITE",
    "tensorflow.data.UNKNOWN_CARDINALITY": "UNKNOWN",
    "tensorflow.data.experimental.UNKNOWN_CARDINALITY": "UNKNOWN",
}
# Constructor arguments that hold dtypes and tf.TensorSpecs: rewritten to torch dtypes and the class's TensorSpec.
_SIGNATURE_ARGUMENTS = {
    "from_generator": ("output_types", "output_shapes", "output_signature"),
    "range": ("output_type",),
}
_TENSOR_SPEC = "tensorflow.TensorSpec"
# Keras's functions that return a tf.data.Dataset, canonical -> the generated function (its template under tf_data/).
DATASET_FUNCTIONS = {
    "keras.utils.timeseries_dataset_from_array": "timeseries_dataset_from_array",
    "keras.preprocessing.timeseries_dataset_from_array": "timeseries_dataset_from_array",
    "keras.utils.split_dataset": "split_dataset",
    **DIRECTORY_DATASETS,  # image_dataset_from_directory, text_dataset_from_directory (k2t.translate.directory_data)
}
# The methods each generated function calls on the class.
_FUNCTION_METHODS = {
    "timeseries_dataset_from_array": {"shuffle", "batch", "map"},
    "split_dataset": {"batch", "prefetch"},
    **DIRECTORY_DATASET_METHODS,
}
_FUNCTION_TEMPLATES = {
    "timeseries_dataset_from_array": "functions/tf_data/timeseries.py.j2",
    "split_dataset": "functions/tf_data/split_dataset.py.j2",
    **DIRECTORY_DATASET_TEMPLATES,
}
# Generated functions that read which datasets tf.data would hold as batched (its `_batch_size`, which only
# `.batch()` / `.padded_batch()` give): keras.utils.split_dataset unbatches those and batches its sides again.
_READS_BATCH_SIZE = frozenset({"split_dataset"})
# The other generated definitions a generated function calls.
_FUNCTION_REQUIRES: dict[str, tuple[Helper, ...]] = {**DIRECTORY_DATASET_REQUIRES}
# Methods that give a dataset again, and those that give something else.
DATASET_METHODS = frozenset(
    {
        "shuffle",
        "batch",
        "padded_batch",
        "unbatch",
        "prefetch",
        "cache",
        "repeat",
        "take",
        "skip",
        "map",
        "filter",
        "concatenate",
        "enumerate",
    }
)
OTHER_METHODS = frozenset({"as_numpy_iterator", "cardinality"})
# Methods whose first argument is a function of the element.
_FUNCTION_ARGUMENTS = {"map": "map_func", "filter": "predicate"}

# Ops that compute each value of their result from the values at the same place alone: a function made of
# them gives, on many elements stacked along a new first axis, the stack of its results on each one.
_ELEMENTWISE_OPS = frozenset(name for row in elementwise.ROWS for name in row.names) - {
    "tensorflow.add_n",
    "tensorflow.math.add_n",
}
_CASTS = frozenset({"tensorflow.cast", "keras.ops.cast", "keras.backend.cast"})
# Ops that add an axis at the end (one_hot) or at a counted-from-the-end place: fine on a stack of elements.
_LAST_AXIS_OPS = {"tensorflow.one_hot": ("axis", 4, -1), "tensorflow.expand_dims": ("axis", 1, None)}

# The parser's codes for the Keras/TensorFlow names the translation here answers for.
_OP_CODES = ("K2T100", "K2T150")

_TEMPLATE = "functions/tf_data/array_dataset.py.j2"
# Layers of strings (k2t.translate.text_layers) whose data a dataset may hold.
STRING_LAYERS = frozenset({"TextVectorization", "StringLookup"})
_CLASS = "ArrayDataset"


@dataclass
class DatasetUses:
    """The script's tf.data pipelines: which names and expressions hold one, what the generated class needs."""

    variables: set[str] = field(default_factory=set)  # `train_ds = tf.data.Dataset.from_tensor_slices(...)...`
    factories: set[str] = field(default_factory=set)  # `def make_dataset(...): ... return ds.batch(32)`
    # The source text of every dataset expression -> its converted text (a variable: itself).
    expressions: dict[str, str] = field(default_factory=dict)
    # The dataset methods the script calls anywhere, also on a dataset k2t does not follow (in a dict, a parameter).
    methods: set[str] = field(default_factory=set)


def translate_tf_data(script: KerasScript, plan: ScriptPlan) -> DatasetUses:
    """Replace the constructors and AUTOTUNE, rewrite the map functions; the datasets found (for fit & co)."""
    keras_name = import_names(script.metadata)
    positions = script.metadata.resolve(PositionProvider)
    superseded: set[tuple[int, int]] = set()  # the parser's notes on the Keras/TensorFlow names translated here
    finder = _DatasetFinder(script.module, keras_name)
    uses = finder.uses
    if not finder.constructors and not finder.functions:
        return uses
    functions = {DATASET_FUNCTIONS[keras_name(call.func)] for call in finder.functions}
    methods = uses.methods.union(*(_FUNCTION_METHODS[function] for function in functions))
    methods |= {CONSTRUCTORS[keras_name(call.func)] for call in finder.constructors}
    methods |= {DATASET_OF[keras_name(call.func)] for call in finder.dataset_functions}
    # Strings, which torch has no dtype for, are a TextBatch of their bytes where a layer of strings reads them
    # or text files are read.
    texts = TEXT_DATASET in functions or any(bound.call.short_name in STRING_LAYERS for bound in script.layer_objects)
    batch_size_kept = bool(functions & _READS_BATCH_SIZE)
    # `from_tensor_slices((dict(dataframe), labels))`: the columns are pandas Series, read as their NumPy arrays.
    dataframes = _imports_pandas(script.module)
    arguments = (
        ("methods", tuple(sorted(methods))),
        ("texts", texts),
        ("batch_size_kept", batch_size_kept),
        ("dataframes", dataframes),
    )
    helper = plan.add_helper(Helper(_CLASS, _TEMPLATE, arguments))
    name = plan.name(helper.name)
    for call in finder.functions:
        function = DATASET_FUNCTIONS[keras_name(call.func)]
        generated = plan.add_helper(
            Helper(function, _FUNCTION_TEMPLATES[function], requires=(helper, *_FUNCTION_REQUIRES.get(function, ())))
        )
        plan.calls[id(call.func)] = plan.name(generated.name)
        superseded.add(_pos(positions, call.func))
    found: list[Todo] = []
    for statement, call in finder.method_calls:
        method = call.func.attr.value
        if method not in DATASET_METHODS and method not in OTHER_METHODS:
            message = f"tf.data.Dataset.{method}() is not translated (k2t converts {', '.join(sorted(DATASET_METHODS | OTHER_METHODS))})"
            found.append(Todo(statement, "K2T150", message, _pos(positions, call.func.attr)))
        elif method in _FUNCTION_ARGUMENTS:
            found += _translate_function_argument(
                script, plan, statement, call, method, name, keras_name, positions, superseded
            )
    for constructor in finder.constructors:
        method = CONSTRUCTORS[keras_name(constructor.func)]
        plan.calls[id(constructor.func)] = f"{name}.{method}"
        superseded.add(_pos(positions, constructor.func))
        statement = finder.statements[id(constructor)]
        for arg in constructor.args:
            if arg.keyword is not None and arg.keyword.value in _SIGNATURE_ARGUMENTS.get(method, ()):
                found += _translate_signature(arg.value, statement, name, plan, keras_name, positions, superseded)
    for spec in finder.tensor_specs if "from_generator" in methods else ():
        plan.calls[id(spec.func)] = f"{name}.TensorSpec"
        superseded.add(_pos(positions, spec.func))
        statement = finder.statements[id(spec)]
        for arg in spec.args:
            found += _translate_signature(arg.value, statement, name, plan, keras_name, positions, superseded)
    for call in finder.dataset_functions:  # tf.data.experimental.cardinality(ds) -> ArrayDataset.cardinality(ds)
        plan.calls[id(call.func)] = f"{name}.{DATASET_OF[keras_name(call.func)]}"
        superseded.add(_pos(positions, call.func))
    for constant in finder.constants:
        plan.calls[id(constant)] = f"{name}.{CONSTANTS[keras_name(constant)]}"
        superseded.add(_pos(positions, constant))
    plan.todos[:] = [t for t in plan.todos if not (t.code in _OP_CODES and t.pos in superseded)] + found
    # fit(tf.data.Dataset.from_tensor_slices(...).batch(8)): the call is replaced whole, with its arguments converted.
    for node in finder.expressions:
        uses.expressions[script.module.code_for_node(node)] = script.module.code_for_node(node.visit(_Converted(plan)))
    return uses


class _Converted(cst.CSTTransformer):
    """A dataset expression with the replacements made so far in it, as the emitter will make them."""

    def __init__(self, plan: ScriptPlan):
        self.plan = plan

    def on_leave(self, original_node: cst.CSTNode, updated_node: cst.CSTNode) -> cst.CSTNode:
        if isinstance(original_node, cst.Arg) and self.plan.expressions.get(id(original_node)):
            return updated_node.with_changes(value=cst.parse_expression(self.plan.expressions[id(original_node)]))
        code = self.plan.calls.get(id(original_node))
        return updated_node if not code else cst.parse_expression(code)


def _translate_signature(
    value: cst.BaseExpression, statement, class_name: str, plan, keras_name: KerasName, positions, superseded
) -> list[Todo]:
    """from_generator's output_signature / output_types, range's output_type: the structure as written,
    each ``tf.TensorSpec`` the generated class's and each dtype torch's (an op-vocabulary constant)."""
    if isinstance(value, (cst.Tuple, cst.List)):
        elements = [element.value for element in value.elements]
        return [
            todo
            for element in elements
            for todo in _translate_signature(element, statement, class_name, plan, keras_name, positions, superseded)
        ]
    if isinstance(value, cst.Dict):
        elements = [element.value for element in value.elements if isinstance(element, cst.DictElement)]
        return [
            todo
            for element in elements
            for todo in _translate_signature(element, statement, class_name, plan, keras_name, positions, superseded)
        ]
    if isinstance(value, cst.Call) and keras_name(value.func) == _TENSOR_SPEC:
        return []  # every tf.TensorSpec(...) of the script is rewritten on its own (a signature may be a variable)
    rewrite = rewrite_ops(value, keras_name)
    plan.calls.update(rewrite.replacements)
    superseded.update(_pos(positions, node) for node in rewrite.handled)
    return [Todo(statement, p.error.code, p.error.message, _pos(positions, p.node)) for p in rewrite.problems]


def _translate_function_argument(
    script, plan, statement, call: cst.Call, method: str, class_name: str, keras_name: KerasName, positions, superseded
) -> list[Todo]:
    """``.map(fn)`` / ``.filter(fn)``: a lambda rewritten here, a top-level def with the script's loss functions."""
    argument = _function_argument(call, _FUNCTION_ARGUMENTS[method])
    if argument is None:
        return [
            Todo(
                statement,
                "K2T150",
                f"tf.data.Dataset.{method}() without its function is not translated",
                _pos(positions, call),
            )
        ]
    function = argument.value
    # The script's functions it calls are rewritten with it (keras.io's mixup: a lambda calling mix_up,
    # which calls sample_beta_distribution).
    plan.functions.pipeline_functions.add(id(function))
    plan.functions.use(plan.functions.called_from(function))
    if isinstance(function, cst.Lambda):
        rewrite = rewrite_ops(function, keras_name)
        plan.calls.update(rewrite.replacements)
        superseded.update(_pos(positions, node) for node in rewrite.handled)
        problems = [Todo(statement, p.error.code, p.error.message, _pos(positions, p.node)) for p in rewrite.problems]
        if not problems and _is_elementwise(function.params, function.body, keras_name):
            code = script.module.code_for_node(apply_rewrite(function, rewrite))
            plan.expressions[id(argument)] = f"{class_name}.elementwise({code})"
        return problems
    definition = plan.functions.definitions.get(function.value) if isinstance(function, cst.Name) else None
    if definition is None:
        message = f"tf.data.Dataset.{method}(): k2t rewrites a lambda or a top-level function of the script, not `{script.module.code_for_node(function)}`"
        return [Todo(statement, "K2T150", message, _pos(positions, function))]
    plan.functions.use([UserFunction(function.value, function.value, function.value)])  # rewritten with the losses
    returned = _single_return(definition)
    if returned is not None and _is_elementwise(definition.params, returned, keras_name):
        plan.expressions[id(argument)] = f"{class_name}.elementwise({function.value})"
    return []


def _function_argument(call: cst.Call, keyword: str) -> cst.Arg | None:
    for index, arg in enumerate(call.args):
        if (arg.keyword is None and index == 0) or (arg.keyword is not None and arg.keyword.value == keyword):
            return arg
    return None


def _single_return(definition: cst.FunctionDef) -> cst.BaseExpression | None:
    """The expression of a function whose body is one ``return`` (a docstring aside)."""
    body = [s for s in definition.body.body if not is_docstring(s)]
    if len(body) == 1 and isinstance(body[0], cst.SimpleStatementLine) and len(body[0].body) == 1:
        small = body[0].body[0]
        if isinstance(small, cst.Return) and small.value is not None:
            return small.value
    return None


def _is_elementwise(params: cst.Parameters, body: cst.BaseExpression, keras_name: KerasName) -> bool:
    """Whether ``body``, on elements stacked along a new first axis, gives the stack of its results: it reads
    only the function's parameters and numbers, through arithmetic and ops that act on each value alone.
    A name of the script (an array of means) could broadcast against the stack differently: not elementwise."""
    if params.star_arg is not cst.MaybeSentinel.DEFAULT or params.star_kwarg is not None or params.kwonly_params:
        return False
    names = {param.name.value for param in params.params}
    return _elementwise(body, names, keras_name)


def _elementwise(node: cst.CSTNode, names: set[str], keras_name: KerasName) -> bool:
    if isinstance(node, cst.Name):
        return node.value in names
    if isinstance(node, (cst.Integer, cst.Float)):
        return True
    if isinstance(node, cst.BinaryOperation):
        return not isinstance(node.operator, cst.MatrixMultiply) and all(
            _elementwise(part, names, keras_name) for part in (node.left, node.right)
        )
    if isinstance(node, cst.UnaryOperation):
        return not isinstance(node.operator, cst.Not) and _elementwise(node.expression, names, keras_name)
    if isinstance(node, cst.Comparison):
        orders = (cst.LessThan, cst.LessThanEqual, cst.GreaterThan, cst.GreaterThanEqual, cst.Equal, cst.NotEqual)
        return all(isinstance(target.operator, orders) for target in node.comparisons) and all(
            _elementwise(part, names, keras_name)
            for part in (node.left, *(target.comparator for target in node.comparisons))
        )
    if isinstance(node, cst.Tuple):
        return all(isinstance(e, cst.Element) and _elementwise(e.value, names, keras_name) for e in node.elements)
    if isinstance(node, cst.Dict):
        return all(
            isinstance(e, cst.DictElement)
            and isinstance(e.key, cst.SimpleString)
            and _elementwise(e.value, names, keras_name)
            for e in node.elements
        )
    if isinstance(node, cst.Call):
        return _elementwise_call(node, names, keras_name)
    return False


def _elementwise_call(call: cst.Call, names: set[str], keras_name: KerasName) -> bool:
    op = keras_name(call.func)
    if op is None or any(arg.star for arg in call.args):
        return False
    tensors = [
        arg.value
        for arg in call.args
        if arg.keyword is None or arg.keyword.value not in ("dtype", "depth", "axis", "name")
    ]
    if op in _CASTS:
        tensors = tensors[:1]  # tf.cast(x, tf.float32): the dtype is no tensor
    elif op in _LAST_AXIS_OPS:
        keyword, index, default = _LAST_AXIS_OPS[op]
        axis = _argument(call, index, keyword)
        axis_value = default if axis is None else _integer(axis)
        if axis_value is None or axis_value >= 0:
            return False
        tensors = tensors[:1]
    elif op not in _ELEMENTWISE_OPS:
        return False
    return all(_elementwise(tensor, names, keras_name) for tensor in tensors)


def _argument(call: cst.Call, index: int, keyword: str) -> cst.BaseExpression | None:
    for position, arg in enumerate(call.args):
        if (arg.keyword is None and position == index) or (arg.keyword is not None and arg.keyword.value == keyword):
            return arg.value
    return None


def _integer(node: cst.BaseExpression) -> int | None:
    if isinstance(node, cst.Integer):
        return int(node.value)
    if (
        isinstance(node, cst.UnaryOperation)
        and isinstance(node.operator, cst.Minus)
        and isinstance(node.expression, cst.Integer)
    ):
        return -int(node.expression.value)
    return None


class _DatasetFinder:
    """Dataset expressions of the script: a constructor call, a dataset method on one, a variable bound to one."""

    def __init__(self, module: cst.Module, keras_name: KerasName):
        self.module = module
        self.keras_name = keras_name
        self.uses = DatasetUses()
        self.constructors: list[cst.Call] = []
        self.functions: list[cst.Call] = []  # keras.utils.timeseries_dataset_from_array(...)
        self.method_calls: list[tuple[cst.CSTNode, cst.Call]] = []  # (statement, `<dataset>.method(...)`)
        self.constants: list[cst.Attribute] = []  # tf.data.AUTOTUNE, tf.data.INFINITE_CARDINALITY ...
        self.dataset_functions: list[cst.Call] = []  # tf.data.experimental.cardinality(ds)
        self.tensor_specs: list[cst.Call] = []  # tf.TensorSpec(...), for from_generator's signatures
        self.statements: dict[int, cst.CSTNode] = {}  # id(constructor call) -> its statement
        self.expressions: list[cst.Call] = []  # every dataset expression that is a call
        # id() of each name, in a function's body, of a parameter that every call of the function passes a dataset
        self.parameter_reads: set[int] = set()
        nodes = list(walk_with_statements(module))
        self._bind_variables(nodes)
        for statement, node in nodes:
            if isinstance(node, cst.Attribute) and keras_name(node) in CONSTANTS:
                self.constants.append(node)
            if not isinstance(node, cst.Call):
                continue
            if isinstance(node.func, cst.Attribute) and node.func.attr.value in DATASET_METHODS | OTHER_METHODS:
                self.uses.methods.add(node.func.attr.value)
            if keras_name(node.func) in CONSTRUCTORS:
                self.constructors.append(node)
                self.statements[id(node)] = statement
            elif keras_name(node.func) in DATASET_OF:
                self.dataset_functions.append(node)
            elif keras_name(node.func) == _TENSOR_SPEC:
                self.tensor_specs.append(node)
                self.statements[id(node)] = statement
            elif keras_name(node.func) in DATASET_FUNCTIONS:
                self.functions.append(node)
            elif isinstance(node.func, cst.Attribute) and self.is_dataset(node.func.value):
                self.method_calls.append((statement, node))
            if self.is_dataset(node):
                self.expressions.append(node)
        self.uses.expressions.update((name, name) for name in self.uses.variables)

    def _bind_variables(self, nodes) -> None:
        assignments = [node for _, node in nodes if isinstance(node, cst.Assign) and len(node.targets) == 1]
        bound = [(a.targets[0].target.value, a.value) for a in assignments if isinstance(a.targets[0].target, cst.Name)]
        # `train_ds, val_ds = image_dataset_from_directory(..., subset="both")`: a function giving a pair of datasets.
        bound += [
            (element.value.value, a.value)
            for a in assignments
            if isinstance(a.targets[0].target, (cst.Tuple, cst.List))
            and isinstance(a.value, cst.Call)
            and self.keras_name(a.value.func) in DATASET_FUNCTIONS
            for element in a.targets[0].target.elements
            if isinstance(element.value, cst.Name)
        ]
        returns = [(function.name.value, node.value) for function, node in _returns(nodes)]
        calls = _calls_by_function(nodes)
        dataset_parameters: set[tuple[int, str]] = set()  # (id() of the function, the parameter's name)
        changed = True
        while changed:  # `train_ds = train_ds.map(...)` is a dataset once `train_ds` is one
            changed = False
            for function, parameter, given in calls:
                key = (id(function), parameter)
                if key not in dataset_parameters and all(self.is_dataset(value) for value in given):
                    # `def encode(feature, name, dataset): dataset.map(...)` called as `encode(age, "age", train_ds)`
                    dataset_parameters.add(key)
                    self.parameter_reads.update(_reads_of(function, parameter))
                    changed = True
            for names, pairs in ((self.uses.variables, bound), (self.uses.factories, returns)):
                for name, value in pairs:
                    if name not in names and self.is_dataset(value):
                        names.add(name)
                        changed = True

    def is_dataset(self, node: cst.CSTNode) -> bool:
        if isinstance(node, cst.Name):
            return node.value in self.uses.variables or id(node) in self.parameter_reads
        if not isinstance(node, cst.Call):
            return False
        if self.keras_name(node.func) in CONSTRUCTORS or self.keras_name(node.func) in DATASET_FUNCTIONS:
            return True
        func = node.func
        if isinstance(func, cst.Name) and func.value in self.uses.factories:
            return True
        return isinstance(func, cst.Attribute) and func.attr.value in DATASET_METHODS and self.is_dataset(func.value)


def _calls_by_function(nodes) -> list[tuple[cst.FunctionDef, str, list[cst.BaseExpression]]]:
    """(function, parameter, what each call of it by name passes there) for the script's functions defined once
    with plain parameters and called only with plain arguments, each call giving the parameter."""
    functions: dict[str, list[cst.FunctionDef]] = {}
    for _, node in nodes:
        if isinstance(node, cst.FunctionDef):
            functions.setdefault(node.name.value, []).append(node)
    calls: dict[str, list[cst.Call]] = {}
    for _, node in nodes:
        if (
            isinstance(node, cst.Call)
            and isinstance(node.func, cst.Name)
            and len(functions.get(node.func.value, ())) == 1
        ):
            calls.setdefault(node.func.value, []).append(node)
    found = []
    for name, made in calls.items():
        function = functions[name][0]
        params = function.params
        if (
            isinstance(params.star_arg, cst.Param)
            or params.star_kwarg is not None
            or any(a.star for c in made for a in c.args)
        ):
            continue  # what reaches each parameter is not told by the call alone
        positional = [p.name.value for p in (*params.posonly_params, *params.params)]
        for parameter in positional + [p.name.value for p in params.kwonly_params]:
            given = [_given(call, positional, parameter) for call in made]
            if all(value is not None for value in given):
                found.append((function, parameter, given))
    return found


def _given(call: cst.Call, positional: list[str], parameter: str) -> cst.BaseExpression | None:
    """What ``call`` passes for ``parameter``, by position or keyword; None when it passes nothing there."""
    for index, arg in enumerate(call.args):
        if (arg.keyword is not None and arg.keyword.value == parameter) or (
            arg.keyword is None and index < len(positional) and positional[index] == parameter
        ):
            return arg.value
    return None


def _reads_of(function: cst.FunctionDef, parameter: str) -> set[int]:
    """id() of each read of ``parameter`` in ``function``'s body, outside the functions and lambdas defined there
    (whose own parameter may have the same name)."""
    found: set[int] = set()

    class Reads(Visitor):
        def visit_Name(self, node: cst.Name) -> None:
            if node.value == parameter:
                found.add(id(node))

        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return False

        def visit_Lambda(self, node: cst.Lambda) -> bool:
            return False

    function.body.visit(Reads())
    return found


def _returns(nodes) -> Iterator[tuple[cst.FunctionDef, cst.Return]]:
    """``return <value>`` statements of the script's functions, with the function."""
    for function in (node for _, node in nodes if isinstance(node, cst.FunctionDef)):
        for _, node in walk_with_statements(function.body):
            if isinstance(node, cst.Return) and node.value is not None:
                yield function, node


def _pos(positions, node: cst.CSTNode) -> tuple[int, int]:
    start = positions[node].start
    return (start.line, start.column + 1)


def _imports_pandas(module: cst.Module) -> bool:
    """Whether the script imports pandas at its top level (``import pandas as pd``, ``from pandas import ...``)."""
    for statement in module.body:
        for small in statement.body if isinstance(statement, cst.SimpleStatementLine) else ():
            if isinstance(small, cst.Import) and any(
                module.code_for_node(alias.name).split(".")[0] == "pandas" for alias in small.names
            ):
                return True
            if (
                isinstance(small, cst.ImportFrom)
                and small.module is not None
                and module.code_for_node(small.module).split(".")[0] == "pandas"
            ):
                return True
    return False
