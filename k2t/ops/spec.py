"""The shape of one row of the op vocabulary, and the small template language its torch side is written in.

A row names a Keras/TensorFlow op by its canonical name (``k2t.names.canonical_name``), lists the
parameters of its Keras/TensorFlow signature in order with their defaults (as source text), and gives
the torch expression as a template:

- ``{x}``        the argument bound to parameter ``x`` (its default when the call omits it);
- ``{(x)}``      the same, parenthesised unless it is a name, a call, a subscript or a literal
                 (for a method call or an index after it: ``{(x)}.to(torch.float32)``);
- ``{, dim=axis}`` ``, dim=<axis>``, left out while ``axis`` is at its Keras default, so that the
                 output reads as a person would write it (``torch.mean(x)``, not ``dim=None``);
- ``{, x}``      ``, <x>`` under the same rule, for an optional positional argument.

A parameter used twice in a template must be bound to a name, an attribute, a literal or a subscript
of those (so that the expression is not evaluated twice); anything else is an `OpArgumentError`.
Hard cases (a variant chosen by a literal argument) give a function from the bound arguments to a
template instead of a template.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from ..diagnostics import Unsupported

REQUIRED = object()  # default of a parameter the call must give


@dataclass(frozen=True)
class Param:
    name: str
    default: str | None | object = REQUIRED  # source text of the Keras default; REQUIRED when there is none
    dtype: bool = False  # a dtype argument: "float32", tf.float32, np.float32 ... -> torch.float32
    only: tuple[str, ...] = ()  # the values (source text) that are translated; others raise OpArgumentError
    ignored: bool = False  # accepted and dropped (``name=``, a ``seed`` torch's generator replaces)
    variadic: bool = False  # ``*operands``: every remaining positional argument, joined with ", "

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


def p(name: str, default: str | None | object = REQUIRED, **options: object) -> Param:
    """A parameter; a short name because the tables hold hundreds of them."""
    return Param(name, default, **options)  # type: ignore[arg-type]


class OpError(Unsupported):
    """An op call k2t cannot translate; the caller gives it the call's position."""


class UnknownOp(OpError):
    def __init__(self, name: str):
        code = "K2T150" if name.startswith("tensorflow.") else "K2T100"
        super().__init__(code, f"`{name}` is not in k2t's op vocabulary")
        self.name = name


class OpArgumentError(OpError):
    def __init__(self, name: str, message: str):
        code = "K2T150" if name.startswith("tensorflow.") else "K2T100"
        super().__init__(code, f"`{name}`: {message}")
        self.name = name


@dataclass(frozen=True)
class Bound:
    """The arguments of one call, bound to the row's parameters (source text; defaults filled in)."""

    op: str
    values: Mapping[str, str | None]  # None: an optional parameter without default text (never happens in rows)
    given: frozenset[str]  # parameters the call wrote explicitly
    defaults: Mapping[str, str | None]
    imports: frozenset[str] = frozenset()  # what rewritten arguments need: "torch" for a dtype mapped to torch.X

    def __getitem__(self, name: str) -> str:
        value = self.values[name]
        assert value is not None
        return value

    def is_default(self, name: str) -> bool:
        default = self.defaults[name]
        return isinstance(default, str) and same_code(self[name], default)

    def literal(self, name: str) -> object:
        """The Python value of a literal argument, or OpArgumentError naming it."""
        try:
            return ast.literal_eval(self[name])
        except (ValueError, SyntaxError):
            raise OpArgumentError(self.op, f"argument `{name}={self[name]}` must be a literal") from None

    def is_none(self, name: str) -> bool:
        return same_code(self[name], "None")

    def fail(self, message: str) -> OpArgumentError:
        return OpArgumentError(self.op, message)


Template = str | Callable[[Bound], str]


@dataclass(frozen=True)
class Op:
    name: str  # canonical name: keras.backend.mean, keras.ops.mean, tensorflow.reduce_mean ...
    params: tuple[Param, ...]
    torch: Template
    note: str = ""  # the semantic difference between Keras/TF and the torch expression, where there is one
    aliases: tuple[str, ...] = field(default=())  # other canonical names of the same function (tf.math.X)

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


# --- source-text helpers -------------------------------------------------------------------------


def _parse(code: str) -> ast.expr | None:
    try:
        return ast.parse(code.strip(), mode="eval").body
    except SyntaxError:
        return None


def same_code(a: str, b: str) -> bool:
    tree_a, tree_b = _parse(a), _parse(b)
    if tree_a is None or tree_b is None:
        return a.strip() == b.strip()
    return ast.dump(tree_a) == ast.dump(tree_b)


def _is_pure_atom(node: ast.expr) -> bool:
    if isinstance(node, (ast.Name, ast.Constant)):
        return True
    if isinstance(node, ast.Attribute):
        return _is_pure_atom(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return isinstance(node.operand, ast.Constant)
    if isinstance(node, ast.Subscript):
        return _is_pure_atom(node.value) and _is_pure_index(node.slice)
    # torch.as_tensor(a) of an array a (script-level code, k2t.translate.script_ops) makes no copy and
    # computes nothing: written twice, it is the same tensor twice.
    return _is_as_tensor(node)


def _is_as_tensor(node: ast.expr) -> bool:
    return (
        isinstance(node, ast.Call)
        and ast.unparse(node.func) == "torch.as_tensor"
        and len(node.args) == 1
        and not node.keywords
        and isinstance(node.args[0], (ast.Name, ast.Attribute, ast.Subscript))
        and _is_pure_atom(node.args[0])
    )


def _is_pure_index(node: ast.expr) -> bool:
    if isinstance(node, ast.Slice):
        return all(part is None or _is_pure_atom(part) for part in (node.lower, node.upper, node.step))
    if isinstance(node, ast.Tuple):
        return all(_is_pure_index(element) for element in node.elts)
    return _is_pure_atom(node)


def is_atomic(code: str) -> bool:
    """A name, attribute, literal or subscript of those: safe to write twice (no call, no work)."""
    node = _parse(code)
    return node is not None and _is_pure_atom(node)


def is_postfix_safe(code: str) -> bool:
    """Code that `.attr`, `(...)` or `[...]` can follow without parentheses."""
    node = _parse(code)
    if node is None:
        return False
    if isinstance(node, ast.Constant):
        return not isinstance(node.value, (int, float, complex)) or isinstance(node.value, bool)
    return isinstance(node, (ast.Name, ast.Attribute, ast.Call, ast.Subscript, ast.List, ast.Tuple))


# --- dtypes ---------------------------------------------------------------------------------------

# TensorFlow / NumPy dtype names -> torch. Keras's floatx() is "float32".
DTYPE_NAMES: dict[str, str] = {
    "float16": "torch.float16",
    "half": "torch.float16",
    "bfloat16": "torch.bfloat16",
    "float32": "torch.float32",
    "float64": "torch.float64",
    "double": "torch.float64",
    "int8": "torch.int8",
    "int16": "torch.int16",
    "int32": "torch.int32",
    "int64": "torch.int64",
    "uint8": "torch.uint8",
    "bool": "torch.bool",
    "complex64": "torch.complex64",
    "complex128": "torch.complex128",
}
# Python builtins as TensorFlow reads them (tf.as_dtype(int) is int32, float is float32).
_BUILTIN_DTYPES = {"float": "torch.float32", "int": "torch.int32", "bool": "torch.bool"}
# keras.backend.floatx() written as the argument itself (canonical names), rather than translated first.
_FLOATX_CALLS = ("keras.backend.floatx()", "keras.config.floatx()")
_DTYPE_MODULES = ("tensorflow.", "tf.", "tensorflow.dtypes.", "tf.dtypes.", "np.", "numpy.", "torch.")


def torch_dtype(op: str, code: str) -> str:
    """The torch dtype for a dtype argument written as a string, tf.X, np.X, torch.X or x.dtype."""
    node = _parse(code)
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in DTYPE_NAMES:
        return DTYPE_NAMES[node.value]
    text = code.strip()
    if text in _FLOATX_CALLS:
        return "torch.float32"
    if text in _BUILTIN_DTYPES:
        return _BUILTIN_DTYPES[text]
    for module in _DTYPE_MODULES:
        if text.startswith(module) and text[len(module) :] in DTYPE_NAMES:
            return DTYPE_NAMES[text[len(module) :]]
    if isinstance(node, ast.Attribute) and node.attr == "dtype":
        return text  # another tensor's dtype: a torch dtype once that tensor is a torch tensor
    raise OpArgumentError(op, f"dtype `{code}` is not one k2t can map to torch")


# --- binding and rendering ------------------------------------------------------------------------


def bind(op: Op, name: str, args: Sequence[str], kwargs: Mapping[str, str]) -> Bound:
    """Bind a call's positional and keyword source texts to the row's parameters, as Python would."""
    values: dict[str, str | None] = {}
    given: set[str] = set()
    params = list(op.params)
    positional = list(args)
    for param in params:
        if param.variadic:
            values[param.name] = ", ".join(positional)
            if positional:
                given.add(param.name)
            positional = []
            continue
        if positional:
            values[param.name] = positional.pop(0)
            given.add(param.name)
    if positional:
        raise OpArgumentError(name, f"takes at most {len(params)} positional arguments, got {len(args)}")
    by_name = {param.name: param for param in params}
    for key, value in kwargs.items():
        if key not in by_name or by_name[key].variadic:
            raise OpArgumentError(name, f"argument `{key}` is not translated")
        if key in given:
            raise OpArgumentError(name, f"argument `{key}` given twice")
        values[key] = value
        given.add(key)
    for param in params:
        if param.name in values:
            continue
        if param.required:
            raise OpArgumentError(name, f"missing argument `{param.name}`")
        values[param.name] = param.default if param.default is not None else "None"  # type: ignore[assignment]
    for param in params:
        value = values[param.name]
        if param.only and param.name in given and not any(same_code(value or "", ok) for ok in param.only):
            raise OpArgumentError(name, f"argument `{param.name}={value}` is not translated")
        if param.dtype and value is not None and not same_code(value, "None"):
            values[param.name] = torch_dtype(name, value)
    imports = frozenset("torch" for param in params if param.dtype and (values[param.name] or "").startswith("torch."))
    defaults = {param.name: _default_text(name, param) for param in params}
    return Bound(name, values, frozenset(given), defaults, imports)


def _default_text(op: str, param: Param) -> str | None:
    """The default as the bound value would read: a dtype default in torch spelling, REQUIRED as None."""
    if param.default is REQUIRED:
        return None
    if param.default is None:
        return "None"
    assert isinstance(param.default, str)
    return torch_dtype(op, param.default) if param.dtype and param.default != "None" else param.default


_FIELD = re.compile(r"\{(\((\w+)\)|(\w+)|, (?:(\w+)=)?(\w+))\}")


def render(template: str, bound: Bound, params: Sequence[Param]) -> str:
    ignored = {param.name for param in params if param.ignored}
    uses: dict[str, int] = {}
    for match in _FIELD.finditer(template):
        used = match.group(2) or match.group(3) or match.group(5)
        uses[used] = uses.get(used, 0) + 1
    for used, count in uses.items():
        if used in ignored:
            raise AssertionError(f"{bound.op}: template uses ignored parameter {used}")
        if count > 1 and not is_atomic(bound[used]):
            raise bound.fail(
                f"argument `{used}` is used twice in the translation; k2t needs it to be a name, not `{bound[used]}`"
            )

    def field_text(match: re.Match[str]) -> str:
        if match.group(2):
            value = bound[match.group(2)]
            return value if is_postfix_safe(value) else f"({value})"
        if match.group(3):
            return bound[match.group(3)]
        keyword, used = match.group(4), match.group(5)
        if bound.is_default(used):
            return ""
        return f", {keyword}={bound[used]}" if keyword else f", {bound[used]}"

    return _FIELD.sub(field_text, template)


_IMPORT_NAMES = re.compile(r"(?<![\w.])(torch|F|math|np)\.")


def template_imports(template: str) -> frozenset[str]:
    """The names of ``k2t.names.GENERATED_IMPORTS`` a template's own text uses."""
    return frozenset(_IMPORT_NAMES.findall(_FIELD.sub("", template)))


# --- parameters that take tensors -----------------------------------------------------------------

# The parameter names of the table's rows that take a tensor (TensorFlow and Keras convert a NumPy array
# given there; torch's functions do not). Named here rather than flagged per row because one name means
# a tensor across the table; the names that do not (``a`` is K.pow's exponent, ``shape``, ``axis``)
# are left out: an array there is rare, and a scalar must stay a number.
TENSOR_PARAMETERS = frozenset(
    {
        "x",
        "y",
        "x1",
        "x2",
        "input",
        "input_tensor",
        "tensor",
        "t",
        "value",
        "features",
        "logits",
        "labels",
        "target",
        "output",
        "y_true",
        "y_pred",
        "indices",
        "lengths",
        "params",
        "reference",
        "ids",
        "condition",
        "then_expression",
        "else_expression",
        "mask",
        "matrix",
        "rhs",
        "diagonal",
        "b",
        "variable",
        "variables",
        "values",
        "inputs",  # tf.sort's tensor, tf.einsum's operands (TENSOR_LISTS says where they are lists)
        "operands",  # keras.ops.einsum's
        "a",  # tf.linalg.matmul / matvec / tensordot / transpose's tensor; K.pow's exponent (a number stays one)
        "images",  # tf.image.resize, tf.image.extract_patches, keras.ops.image.extract_patches
    }
)
# Parameters that take a tensor in one row only, where the same name elsewhere is a number (``mean`` of
# tf.random.normal, ``scale``): by row, as TENSOR_LISTS.
ROW_TENSOR_PARAMETERS: dict[str, frozenset[str]] = {
    "tensorflow.clip_by_value": frozenset({"clip_value_min", "clip_value_max"}),
    "keras.backend.clip": frozenset({"min_value", "max_value"}),
    "keras.ops.clip": frozenset({"x_min", "x_max"}),
    "tensorflow.nn.batch_normalization": frozenset({"mean", "variance", "offset", "scale"}),
    "tensorflow.nn.bias_add": frozenset({"bias"}),
    "keras.ops.average": frozenset({"weights"}),
}
# The rows that take a list of tensors, and that parameter (``tf.concat([a, b], 0)``): by row, as
# ``values`` is a list for tf.concat and one tensor for tf.sort, ``x`` a list for keras.ops.stack.
TENSOR_LISTS: dict[str, str] = {
    "tensorflow.concat": "values",
    "tensorflow.stack": "values",
    "tensorflow.math.add_n": "inputs",
    "keras.backend.concatenate": "tensors",
    "keras.backend.stack": "x",
    "keras.ops.concatenate": "xs",
    "keras.ops.stack": "x",
}
# Rows whose result is no single tensor: a tuple or list of tensors, a shape (script_ops gives their
# results no `.numpy()`, and leaves the lines they stand on as written).
NOT_ONE_TENSOR = frozenset(
    {
        "tensorflow.unstack",
        "keras.ops.unstack",
        "tensorflow.split",
        "keras.ops.split",
        "tensorflow.shape",
        "keras.backend.shape",
        "keras.backend.int_shape",
        "keras.ops.shape",
        "keras.ops.where",
        "tensorflow.math.top_k",
        "keras.ops.top_k",
        "tensorflow.nn.moments",
        "keras.ops.moments",
    }
)
# Rows whose result is a Python value in torch as in Keras (a number, a dtype or format name, bytes, text,
# a count of axes): script_ops gives their results no `.numpy()`.
PYTHON_RESULT = frozenset(
    {
        "keras.backend.epsilon",
        "keras.backend.floatx",
        "keras.backend.image_data_format",
        "keras.backend.ndim",
        "keras.ops.ndim",
        "tensorflow.rank",
        "tensorflow.size",
        "keras.ops.size",
        "tensorflow.compat.as_bytes",
        "tensorflow.compat.as_text",
    }
)
# Rows that make a tensor of their data argument themselves (torch.tensor / torch.as_tensor of it).
FROM_DATA = frozenset(
    {"tensorflow.constant", "keras.backend.constant", "tensorflow.convert_to_tensor", "keras.ops.convert_to_tensor"}
)


def parameter_of(op: Op, index: int | None, keyword: str | None) -> Param | None:
    """The row's parameter an argument binds to: the ``index``-th positional one, or ``keyword``."""
    if keyword is not None:
        return next((param for param in op.params if param.name == keyword), None)
    for position, param in enumerate(op.params):
        if param.variadic or position == index:
            return param
    return None
