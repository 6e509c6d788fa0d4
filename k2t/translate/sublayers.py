"""Sublayers of a custom layer: ``self.att = layers.MultiHeadAttention(...)``, ``self.ffn = keras.Sequential([...])``
made in the class's ``__init__`` and called in its ``call`` (the keras.io TransformerBlock and
TokenAndPositionEmbedding).

Keras builds a sublayer at its first call, with the shape of the tensor it is called on; torch needs the
input sizes in the constructor. For one use of the class k2t follows ``call`` (straight-line assignments,
sublayer calls, ``+ - * /`` of tensors and the ops whose shapes k2t derives), converts each sublayer with the
same converter a model's layer gets (k2t.translate.registry), and writes its torch constructor where the
script made it, in ``__init__``. Sizes are written in the class's own terms: a number, or an ``__init__``
parameter the use passes the size through (``nn.Linear(embed_dim, ff_dim)``), else the number it is where the
model's size is computed from the script's module-level constants (``nn.Linear(48, projection_dim)`` for
``patch_size * patch_size * 3``). A second use that would need other constructors is a K2T103, as is a size
the class can neither name nor know.

A list of layers (``self.hidden = [layers.Dense(s, activation="relu") for s in sizes]``, over an __init__
parameter's value or ``range()`` of one, or a literal list) is an ``nn.ModuleList`` of the layers this use
makes, each sized from the tensor it is called on: ``for layer in self.hidden: x = layer(x)`` is followed once
per layer, as Python runs it, and its call is the converter's form over the loop's name (``F.relu(layer(x))``),
which every layer of the list must share; ``self.hidden[0](x)`` calls one of them.

A sublayer call loses Keras's ``training=training`` (torch's module.training says it) and takes the
converter's forward expression (``self.token_emb(positions.long())``). ``keras.Sequential([...])`` of
one-tensor layers becomes ``nn.Sequential``, its activations modules of their own. The weights are copied
sublayer by sublayer (LayerPlan.sublayers: Keras path, torch path, transfer kind).
"""

from __future__ import annotations

import ast
import re
import weakref
from dataclasses import dataclass, field

import libcst as cst

from ..cst_walk import Visitor
from ..diagnostics import Unsupported
from ..ir import NO_LITERAL, KerasCall, LayerClass, TensorNode, Value
from ..parse.syntax import read_name_nodes
from ..values import Binding, Env, evaluate
from .activations import ACTIVATIONS
from .dims import Dim, Size
from .model import LayerContext
from .registry import LAYERS, TENSOR_CALLS, TensorInput

_ARGUMENT = re.compile(r"(?<![\w.])x(?!\w)")  # the converter's input variable in its forward line
_DIM_MARK = "__k2t_dim_{}__"  # an input size the class cannot name; refused if a constructor needs it


def _dims(sizes) -> list[Dim]:
    """Sizes in the class's terms (code, or an int) as the Dims a sublayer's converter reads."""
    return [
        None if size is None else Size.of(size) if isinstance(size, int) else Size.expression(size) for size in sizes
    ]


def _codes(dims: list[Dim]) -> tuple[str | None, ...]:
    """A converter's Dims back in the class's terms (code)."""
    return tuple(None if dim is None else dim.code for dim in dims)


@dataclass
class SublayerCall:
    """How the class's call of a sublayer is written in torch: a template over its tensor arguments
    ({0}, {1} ...), and the keyword arguments that go (``training=training``)."""

    node: cst.Call
    template: str
    dropped: tuple[str, ...] = ()

    @property
    def as_written(self) -> bool:
        """``self.ffn(x)``: the call stays as the script wrote it (ops inside it rewritten as anywhere)."""
        attr = _self_attribute(self.node.func)
        return not self.dropped and self.template == f"self.{attr}({{0}})" and len(self.node.args) == 1


@dataclass
class Constructed:
    """A sublayer's torch constructor in __init__: one converter's module, or an nn.Sequential of modules (a
    converter's LayerPlan, or an activation module's code). Written at the end, as the optimizer may still
    change a plan (an Embedding's sparse=True under Adam, k2t.translate.optimizers)."""

    target: str  # self.ffn
    modules: list  # LayerPlan | str
    sequential: bool
    known_sizes: dict[str, int] = field(default_factory=dict)  # mark of a size the class cannot name -> its number
    listed: bool = False  # a list of layers in Keras (`[layers.Dense(s) for s in sizes]`): an nn.ModuleList

    def lines(self) -> list[str]:
        return [self._sized(line) for line in self._lines()]

    def _sized(self, line: str) -> str:
        for mark, size in self.known_sizes.items():
            line = line.replace(mark, str(size))
        return line

    def _lines(self) -> list[str]:
        constructors = [item if isinstance(item, str) else item.constructor for item in self.modules]
        init = [line for item in self.modules if not isinstance(item, str) for line in item.init]
        if not self.sequential and not self.listed:
            return [f"{self.target} = {constructors[0]}", *init]
        # A converter's trailing comment (`# Keras's gradient: one row per lookup`) goes after the whole line.
        code = [constructor.split("  # ", 1) for constructor in constructors]
        comments = "; ".join(dict.fromkeys(part[1] for part in code if len(part) > 1))
        items = ", ".join(part[0] for part in code)
        made = f"nn.ModuleList([{items}])" if self.listed else f"nn.Sequential({items})"
        return [f"{self.target} = {made}" + (f"  # {comments}" if comments else ""), *init]

    @property
    def plans(self) -> list:
        return [item for item in self.modules if not isinstance(item, str)]


@dataclass
class Sublayers:
    """The torch side of a custom layer's sublayers, for one class (every use agrees)."""

    statements: dict[int, Constructed] = field(default_factory=dict)  # id(the __init__ statement) -> its torch form
    calls: dict[int, SublayerCall] = field(default_factory=dict)  # id(the cst.Call in call) -> its torch form
    transfers: list[tuple[str, str, str]] = field(default_factory=list)  # (Keras path, torch path, kind)
    regularizers: list[str] = field(default_factory=list)  # over `self.` of the class
    helpers: list = field(default_factory=list)
    params: int | None = 0


# The translation of each class's sublayers, kept until the class is rewritten (k2t.translate.custom_layers).
_TRANSLATED: weakref.WeakKeyDictionary[LayerClass, Sublayers] = weakref.WeakKeyDictionary()


def translated_sublayers(layer_class: LayerClass) -> Sublayers | None:
    return _TRANSLATED.get(layer_class)


class _ClassScope:
    """The builder of a sublayer's LayerContext: a size is written as the class's code (its __init__
    parameters are in scope where the constructor goes)."""

    def __init__(self) -> None:
        self.params: list = []  # the model's constructor parameters: none here
        self.resolve_nested = None

    def param(self, argument: str, role: str) -> str:
        return argument.strip()


class _SublayerContext(LayerContext):
    """A converter's context for a sublayer, ``self.ffn[0]`` for an item of a Sequential."""

    def __init__(self, layer: KerasCall, attr: str, shape: list, self_attr: str):
        super().__init__(_ClassScope(), layer, attr, shape, "keras", False)  # type: ignore[arg-type]
        self._self_attr = self_attr

    @property
    def self_attr(self) -> str:
        return self._self_attr


@dataclass
class _Made:
    """One sublayer as made in __init__: its Keras call(s) and statement."""

    attr: str
    statement: cst.CSTNode
    call: cst.Call
    items: list[KerasCall] | None  # keras.Sequential([...]): its layers; None: one layer
    layer: KerasCall | None
    # A Python list of layers (`[layers.Dense(s, activation="relu") for s in sizes]`): each layer, for this use
    listed: list[KerasCall] | None = None


class SublayerTranslator:
    """Follows ``call`` for one use of the class and converts every sublayer (see the module docstring)."""

    def __init__(self, ctx: LayerContext, parts, bound: dict[str, Value], keras_name, value_of, pos_of):
        self.ctx = ctx
        self.parts = parts
        self.bound = bound  # __init__ parameter -> the use's argument (or its default)
        self.keras_name = keras_name
        self.value_of = value_of  # cst expression -> Value (k2t.translate.custom_layers._value)
        self.pos_of = pos_of
        self.made = {made.attr: made for made in (self._made(attr, call) for attr, call in parts.sublayers)}
        self.result = Sublayers()
        self.converted: dict[
            str, tuple[tuple, tuple | None, str]
        ] = {}  # attr -> (input shapes, output shape, template)
        self.marks: dict[str, str | None] = {}
        self.mark_values: dict[str, int] = {}  # the marks whose size k2t knows as a number
        self.weights: dict[str, tuple] = {}  # `self.w` -> the shape add_weight gives it (the class's terms)
        self.loop_items: dict[str, tuple[str, int]] = {}  # `layer` of `for layer in self.hidden:` -> (attr, index)
        self.listed_plans: dict[str, dict[int, object]] = {}  # attr of a list of layers -> its converted items

    # ------------------------------------------------------------------ values in the class's terms
    def _made(self, attr: str, call: cst.BaseExpression) -> _Made:
        statement = next((s for s in _init_body(self.parts) if _assigns(s, attr, call)), None)
        if statement is None:
            message = f"custom layer {self.parts.layer_class.name}: the sublayer `self.{attr}` made in build() is not translated (k2t follows sublayers made in __init__)"
            raise Unsupported("K2T103", message, self.pos_of(call))
        if not isinstance(call, cst.Call):
            return _Made(attr, statement, call, None, None, self._listed_layers(call, attr))
        name = self.keras_name(call.func)
        if name in ("keras.Sequential", "keras.models.Sequential"):
            items = self._sequential_items(call, attr)
            return _Made(attr, statement, call, items, None)
        if name is None or not name.startswith("keras.layers."):
            raise Unsupported(
                "K2T103",
                f"`self.{attr}` of {self.parts.layer_class.name} is a {name} (k2t translates Keras layers and Sequential there)",
                self.pos_of(call),
            )
        return _Made(attr, statement, call, None, self._keras_call(name, call))

    def _sequential_items(self, call: cst.Call, attr: str) -> list[KerasCall]:
        given = [a for a in call.args if a.keyword is None or a.keyword.value == "layers"]
        others = [a for a in call.args if a not in given and not (a.keyword is not None and a.keyword.value == "name")]
        if len(given) != 1 or others or not isinstance(given[0].value, (cst.List, cst.Tuple)):
            raise Unsupported(
                "K2T103",
                f"`self.{attr}`: k2t follows keras.Sequential([...]) of a literal list of layers",
                self.pos_of(call),
            )
        items = []
        for element in given[0].value.elements:
            value = element.value
            name = self.keras_name(value.func) if isinstance(value, cst.Call) else None
            if name is None or not name.startswith("keras.layers.") or name == "keras.layers.InputLayer":
                raise Unsupported(
                    "K2T103",
                    f"`{_code(value)}` in `self.{attr}` is not a Keras layer call k2t follows",
                    self.pos_of(value),
                )
            items.append(self._keras_call(name, value))
        return items

    def _listed_layers(self, value: cst.BaseExpression, attr: str) -> list[KerasCall]:
        """The layers of ``[layers.Dense(8), layers.Dense(4)]``, or of ``[layers.Dense(s) for s in sizes]`` over the
        values the comprehension takes for this use (an __init__ parameter's argument or default, ``range(n)``)."""
        if isinstance(value, (cst.List, cst.Tuple)):
            return [self._keras_call(self.keras_name(e.value.func), e.value) for e in value.elements]
        assert isinstance(value, cst.ListComp)
        clause = value.for_in
        name = self.parts.layer_class.name
        if (
            clause.inner_for_in is not None
            or clause.ifs
            or clause.asynchronous
            or not isinstance(clause.target, cst.Name)
        ):
            message = f"custom layer {name}: `self.{attr}`: k2t follows a list of layers made by one `for NAME in ...` without conditions"
            raise Unsupported("K2T103", message, self.pos_of(value))
        values = self._static(clause.iter)
        if not isinstance(values, (list, tuple, range)):
            message = (
                f"custom layer {name}: k2t cannot tell what `{_code(clause.iter)}` holds for this use, so how many "
                f"layers `self.{attr}` holds (it follows an __init__ parameter given a literal, and range() of one)"
            )
            raise Unsupported("K2T103", message, self.pos_of(clause.iter))
        loop = clause.target.value
        element = value.elt
        whole = {id(a.value) for a in element.args if isinstance(a.value, cst.Name) and a.value.value == loop}
        other_uses = [n for n in read_name_nodes(element) if n.value == loop and id(n) not in whole]
        if other_uses:
            message = f"custom layer {name}: `self.{attr}`: k2t follows the loop variable `{loop}` as a whole argument of the layer"
            raise Unsupported("K2T103", message, self.pos_of(other_uses[0]))
        layer_name = self.keras_name(element.func)
        if layer_name in ("keras.Sequential", "keras.models.Sequential", "keras.Model"):
            message = f"custom layer {name}: `self.{attr}`: k2t follows a list of Keras layers, not of models"
            raise Unsupported("K2T103", message, self.pos_of(element))
        items = []
        for item in values:
            self.loop_value = (loop, item)
            try:
                items.append(self._keras_call(layer_name, element))
            finally:
                self.loop_value = None
        if not items:
            raise Unsupported("K2T103", f"custom layer {name}: `self.{attr}` holds no layer here", self.pos_of(value))
        return items

    loop_value: tuple[str, object] | None = None  # the comprehension's variable and its value, while its layer is read

    def _static(self, node: cst.BaseExpression, depth: int = 0) -> object:
        """A Python value of __init__ that k2t knows for this use (a literal, an __init__ parameter given one,
        ``self.x`` of one, ``range(...)`` and ``len(...)`` of them); None where it does not."""
        if depth > 8:
            return None
        if isinstance(node, cst.Name) and node.value in self.bound:
            given = self.bound[node.value]
            return given.literal if given.is_literal else None
        attribute = _self_attribute(node)
        if attribute is not None:
            held = self.parts.attributes.get(attribute)
            return self._static(held, depth + 1) if held is not None else None
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value in ("range", "len"):
            if any(a.keyword is not None or a.star for a in node.args):
                return None
            given = [self._static(a.value, depth + 1) for a in node.args]
            if node.func.value == "len":
                return len(given[0]) if len(given) == 1 and isinstance(given[0], (list, tuple, range)) else None
            if 1 <= len(given) <= 3 and all(isinstance(v, int) and not isinstance(v, bool) for v in given):
                return range(*given)
            return None
        if isinstance(node, (cst.List, cst.Tuple)):
            items = [self._static(e.value, depth + 1) if isinstance(e, cst.Element) else None for e in node.elements]
            return None if any(item is None for item in items) else tuple(items)
        try:
            return ast.literal_eval(_code(node).strip())
        except (ValueError, SyntaxError):
            return None

    def _keras_call(self, name: str, call: cst.Call) -> KerasCall:
        args = tuple(self._value(a.value) for a in call.args if a.keyword is None and not a.star)
        kwargs = tuple((a.keyword.value, self._value(a.value)) for a in call.args if a.keyword is not None)
        if any(a.star for a in call.args):
            raise Unsupported(
                "K2T103", f"`{_code(call)}`: *args / **kwargs of a sublayer are not followed", self.pos_of(call)
            )
        return KerasCall(name, args, kwargs, self.pos_of(call))

    def _value(self, node: cst.BaseExpression) -> Value:
        """An argument as the class writes it; a parameter of __init__ carries the use's value where it is a
        literal (``Dropout(rate)`` needs the number), its code stays the parameter's name."""
        if self.loop_value is not None and isinstance(node, cst.Name) and node.value == self.loop_value[0]:
            item = self.loop_value[1]
            return Value(repr(item), self.pos_of(node), literal=item)  # the comprehension's value for this layer
        if isinstance(node, cst.Name) and node.value in self.bound:
            given = self.bound[node.value]
            literal = given.literal if given.is_literal else NO_LITERAL
            return Value(node.value, self.pos_of(node), literal=literal)
        return self.value_of(node)

    def class_dim(self, dim: str | None) -> str | None:
        """A size of the use's input (the model's code) in the class's terms: a number, the __init__ parameter
        the use passes the same expression to, else a mark that fails where a constructor needs it."""
        if dim is None or dim.isdigit():
            return dim
        argument = next((p.argument for p in self.ctx.builder.params if p.name == dim), dim)
        for name, value in self.bound.items():
            if value.code.strip() == argument.strip():
                return name
        mark = _DIM_MARK.format(len(self.marks))
        self.marks[mark] = dim
        known = self._model_size_value(dim)
        if known is not None:
            self.mark_values[mark] = known
        return mark

    def _model_size_value(self, dim: str) -> int | None:
        """A size in the model's terms as a number, where its constructor parameters hold module-level constants of
        the script (``patch_size * patch_size * 3`` with ``patch_size = 4`` at the top level: 48)."""
        constants = Env(
            names={name: Binding(value) for name, value in self.parts.layer_class.script.module_constants.items()}
        )
        params = Env()
        for param in self.ctx.builder.params:
            try:
                params.bind(param.name, evaluate(cst.parse_expression(param.argument), constants))
            except cst.ParserSyntaxError:
                continue
        try:
            value = evaluate(cst.parse_expression(dim), params)
        except cst.ParserSyntaxError:
            return None
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def size_value(self, dim: object) -> int | None:
        """A size of the class's terms as a number, where k2t knows it: written, a mark's known value, or an
        __init__ parameter the use passes a known int."""
        if isinstance(dim, int) and not isinstance(dim, bool):
            return dim
        if not isinstance(dim, str):
            return None
        if dim.isdigit():
            return int(dim)
        if dim in self.mark_values:
            return self.mark_values[dim]
        value = self.bound.get(dim)
        literal = value.literal if value is not None and value.is_literal else None
        return literal if isinstance(literal, int) and not isinstance(literal, bool) else None

    def broadcast(self, left: tuple | None, right: tuple | None) -> tuple | None:
        """NumPy broadcasting of two shapes in the class's terms: sizes written apart agree where k2t knows both
        numbers (``num_patches`` and the patches' count, 16 each); the left one is kept."""
        if left is None or right is None:
            return None
        rank = max(len(left), len(right))
        left, right = (_PAD,) * (rank - len(left)) + left, (_PAD,) * (rank - len(right)) + right
        result = []
        for a, b in zip(left, right):
            if a is _PAD or self.size_value(a) == 1 and b is not _PAD:
                result.append(b)
            elif b is _PAD or self.size_value(b) == 1 or self._same_size(a, b):
                result.append(a)
            else:
                return None
        return tuple(result)

    def _same_size(self, a: object, b: object) -> bool:
        if a == b:
            return True
        known = self.size_value(a)
        return a is not None and known is not None and known == self.size_value(b)

    def model_dim(self, dim: str | None) -> str | None:
        """A size of the class's terms back in the model's (the custom layer's output shape)."""
        if dim is None or isinstance(dim, int):
            return None if dim is None else str(dim)
        if dim in self.marks:
            return self.marks[dim]
        if dim.isdigit():
            return dim
        value = self.bound.get(dim)
        if value is None:
            return None
        return (
            str(value.literal)
            if value.is_literal and value.code.strip() == repr(value.literal)
            else self.ctx.size(value, dim).code
        )

    # ------------------------------------------------------------------ the walk
    def translate(self, input_shape: tuple) -> tuple | None:
        """Convert every sublayer for this use; the output shape (batch first, the model's terms) or None."""
        call = self.parts.call
        params = [p.name.value for p in call.params.params[1:]]
        if not params:
            raise Unsupported(
                "K2T103", f"{self.parts.layer_class.name}.call takes no input", self.parts.layer_class.pos
            )
        self.training = (
            "training"
            if "training" in params or any(p.name.value == "training" for p in call.params.kwonly_params)
            else None
        )
        names: dict[str, tuple | None] = {
            params[0]: tuple(self.class_dim(d) if isinstance(d, str) or d is None else str(d) for d in input_shape)
        }
        returned = self._walk(_body(call), names)
        for attr, made in self.made.items():
            count = len(made.listed) if made.listed is not None else None
            done = len(self.listed_plans.get(attr, {})) == count if count is not None else attr in self.converted
            if not done:
                raise Unsupported(
                    "K2T103",
                    f"custom layer {self.parts.layer_class.name}: k2t cannot tell the input shape of `self.{attr}` from call()",
                    self.pos_of(made.call),
                )
            if count is not None:
                plans = [self.listed_plans[attr][index] for index in range(count)]
                self.result.statements[id(made.statement)] = self._constructed(
                    f"self.{attr}", plans, False, made.call, listed=True
                )
        _TRANSLATED[self.parts.layer_class] = self._agreed(_TRANSLATED.get(self.parts.layer_class))
        if returned is None:
            return None
        output = tuple(self.model_dim(d) for d in returned)
        return output if all(d is not None for d in output[1:]) else None

    def _walk(self, statements: list[cst.CSTNode], names: dict[str, tuple | None]) -> tuple | None:
        """Shapes through call()'s statements: assignments, ``for layer in self.hidden:`` over a list of layers
        (its body once per layer, as Python runs it), and the return's shape."""
        returned: tuple | None = None
        for statement in statements:
            small = (
                statement.body[0]
                if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1
                else None
            )
            over = self._listed_attr(statement.iter) if isinstance(statement, cst.For) else None
            if (
                isinstance(small, cst.Assign)
                and len(small.targets) == 1
                and isinstance(small.targets[0].target, cst.Name)
            ):
                names[small.targets[0].target.value] = self.shape(small.value, names)
            elif isinstance(small, cst.Return) and small.value is not None:
                returned = self.shape(small.value, names)
            elif isinstance(small, cst.Expr) and isinstance(small.value, (cst.SimpleString, cst.ConcatenatedString)):
                continue
            elif over is not None and isinstance(statement.target, cst.Name) and statement.orelse is None:
                body = statement.body
                inner = (
                    list(body.body)
                    if isinstance(body, cst.IndentedBlock)
                    else [cst.SimpleStatementLine(body=[small]) for small in body.body]
                )
                variable = statement.target.value
                for index in range(len(self.made[over].listed)):
                    self.loop_items[variable] = (over, index)
                    if self._walk(inner, names) is not None:
                        message = f"{self.parts.layer_class.name}.call: a return inside `for {variable} in self.{over}:` is not followed"
                        raise Unsupported("K2T103", message, self.pos_of(statement))
                del self.loop_items[variable]
            elif self._calls_sublayer(statement):
                raise Unsupported(
                    "K2T103",
                    f"{self.parts.layer_class.name}.call: a sublayer called in `{_code(statement).strip().splitlines()[0]}` is not followed (k2t follows assignments, return and a `for` over a list of layers)",
                    self.pos_of(statement),
                )
        return returned

    def _listed_attr(self, node: cst.BaseExpression) -> str | None:
        """``self.hidden``, a list of layers: its attribute."""
        attr = _self_attribute(node)
        return attr if attr in self.made and self.made[attr].listed is not None else None

    def callee(self, call: cst.Call) -> tuple[str, int | None] | None:
        """The sublayer a call calls: ``self.dense(x)`` (attr, None); an item of a list of layers, ``self.hidden[0](x)``
        or ``layer(x)`` in ``for layer in self.hidden:``, (attr, index). None: no sublayer."""
        func = call.func
        attr = _self_attribute(func)
        if attr in self.made:
            return attr, None
        if isinstance(func, cst.Name) and func.value in self.loop_items:
            return self.loop_items[func.value]
        if isinstance(func, cst.Subscript) and len(func.slice) == 1 and isinstance(func.slice[0].slice, cst.Index):
            listed = self._listed_attr(func.value)
            index = _int(func.slice[0].slice.value)
            if (
                listed is not None
                and index is not None
                and -len(self.made[listed].listed) <= index < len(self.made[listed].listed)
            ):
                return listed, index % len(self.made[listed].listed)
        return None

    def _agreed(self, earlier: Sublayers | None) -> Sublayers:
        if earlier is not None and _lines_of(earlier) != _lines_of(self.result):
            raise Unsupported(
                "K2T103",
                f"custom layer {self.parts.layer_class.name} is used with inputs that give its sublayers other sizes than at its first use; "
                "k2t writes one set of constructors in its __init__",
                self.ctx.layer.pos,
            )
        return self.result

    def _calls_sublayer(self, node: cst.CSTNode) -> bool:
        found = False
        made = self.made
        listed = {attr for attr, each in made.items() if each.listed is not None}

        class Finder(Visitor):
            def visit_Call(self, call: cst.Call) -> None:
                nonlocal found
                found = found or _self_attribute(call.func) in made
                # an item of a list of layers: `self.hidden[0](x)`, or one taken from the list
                func = call.func
                found = found or isinstance(func, cst.Subscript) and _self_attribute(func.value) in listed

            def visit_Attribute(self, node: cst.Attribute) -> None:
                nonlocal found
                found = found or _self_attribute(node) in listed  # `zip(self.hidden, ...)`: the list read

        node.visit(Finder())
        return found

    def shape(self, node: cst.BaseExpression, names: dict[str, tuple | None]) -> tuple | None:
        """A tensor's shape: batch first, or (for a tensor without a batch axis, ``tf.range(n)``) its sizes
        alone, which broadcast against batched ones from the right. A size read with ``tf.shape(x)[i]`` is a
        _Size. None: not known."""
        from .custom_layers import _TensorShapes

        if isinstance(node, cst.Call) and self.callee(node) is not None:
            return self.apply(node, names)
        if isinstance(node, cst.Name):
            return names.get(node.value)
        size = self._size(node, names)
        if size is not None:
            return size
        counted = self._range(node, names)
        if counted is not None:
            return counted
        if isinstance(node, cst.BinaryOperation) and isinstance(
            node.operator, (cst.Add, cst.Subtract, cst.Multiply, cst.Divide)
        ):
            return self.broadcast(self.shape(node.left, names), self.shape(node.right, names))
        expanded = self._expand_unbatched(node, names)
        if expanded is not None:
            return expanded
        walker = self

        class Shapes(_TensorShapes):
            """The ops' shape rules, with a sublayer call inside an op (``tf.nn.relu(self.dense(x))``) converted."""

            def shape(self, inner: cst.BaseExpression, known: dict) -> tuple | None:
                if isinstance(inner, cst.Call) and walker.callee(inner) is not None:
                    return walker.apply(inner, names)
                counted = walker._range(inner, names)  # `ops.arange(n)` inside an op
                return counted if counted is not None else super().shape(inner, known)

        tensors = {name: shape for name, shape in names.items() if not isinstance(shape, _Size)}
        shape = Shapes(self.keras_name, self.weights).shape(node, tensors)
        for inner in _sublayer_calls(node, self.callee):
            self.apply(inner, names)  # converted, though the shape around it is not followed
        return shape

    def _size(self, node: cst.BaseExpression, names: dict) -> _Size | None:
        """``tf.shape(x)[-1]``: the size of an axis of a tensor of known shape."""
        if not (
            isinstance(node, cst.Subscript) and len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Index)
        ):
            return None
        read = node.value
        if not (
            isinstance(read, cst.Call)
            and self.keras_name(read.func) in _SHAPE_OPS
            and len(read.args) == 1
            and isinstance(read.args[0].value, cst.Name)
        ):
            return None
        shape = names.get(read.args[0].value.value)
        index = _int(node.slice[0].slice.value)
        if (
            not isinstance(shape, tuple)
            or index is None
            or not -len(shape) <= index < len(shape)
            or shape[index] is None
        ):
            return None
        return _Size(shape[index])

    def _range(self, node: cst.BaseExpression, names: dict) -> tuple | None:
        """``tf.range(n)`` / ``tf.range(start=0, limit=n, delta=1)``: a tensor of n values, without a batch axis."""
        if not (isinstance(node, cst.Call) and self.keras_name(node.func) in _RANGE_OPS):
            return None
        positional = [a.value for a in node.args if a.keyword is None]
        keywords = {a.keyword.value: a.value for a in node.args if a.keyword is not None}
        start, limit = (None, positional[0]) if len(positional) == 1 else (positional + [None, None])[:2]
        start = keywords.get("start", start)
        limit = keywords.get("limit", keywords.get("stop", limit))
        step = keywords.get("delta", keywords.get("step", positional[2] if len(positional) > 2 else None))
        if limit is None or start is not None and _int(start) != 0 or step is not None and _int(step) != 1:
            return None
        if isinstance(limit, cst.Name) and isinstance(names.get(limit.value), _Size):
            return (names[limit.value].dim,)
        count = _int(limit)
        if count is not None:
            return (str(count),)
        held = self._held_size(limit)
        return (held,) if held is not None else None

    def _held_size(self, node: cst.BaseExpression) -> str | None:
        """``self.num_patches`` (``self.num_patches = num_patches`` in __init__) or ``num_patches``: the __init__
        parameter holding the size, in the class's terms."""
        if _self_attribute(node) is not None:
            node = self.parts.attributes.get(_self_attribute(node))
        return node.value if isinstance(node, cst.Name) and node.value in self.bound else None

    def _expand_unbatched(self, node: cst.BaseExpression, names: dict) -> tuple | None:
        """``ops.expand_dims(ops.arange(n), 0)``: a leading axis of 1 on a tensor without a batch axis (its first
        size is not the batch's None), which broadcasts against a batch as Keras's does."""
        if not (isinstance(node, cst.Call) and self.keras_name(node.func) in _EXPAND_OPS):
            return None
        positional = [a.value for a in node.args if a.keyword is None]
        keywords = {a.keyword.value: a.value for a in node.args if a.keyword is not None}
        tensor = positional[0] if positional else keywords.get("x", keywords.get("input"))
        axis = positional[1] if len(positional) > 1 else keywords.get("axis")
        if tensor is None or axis is None or _int(axis) != 0:
            return None
        unbatched = self.shape(tensor, names)
        return ("1", *unbatched) if isinstance(unbatched, tuple) and unbatched and unbatched[0] is not None else None

    def apply(self, node: cst.Call, names: dict[str, tuple | None]) -> tuple | None:
        attr, index = self.callee(node)
        made = self.made[attr]
        if made.listed is not None and index is None:
            message = f"`self.{attr}` is a list of layers; k2t follows its layers called in `for layer in self.{attr}:` or by index"
            raise Unsupported("K2T103", message, self.pos_of(node))
        slot = attr if index is None else f"{attr}.{index}"
        tensors: list[tuple[cst.BaseExpression, str | None]] = []
        dropped: list[str] = []
        for arg in node.args:
            if arg.star:
                raise Unsupported(
                    "K2T103", f"`{_code(node)}`: *args of a sublayer call are not followed", self.pos_of(arg)
                )
            key = arg.keyword.value if arg.keyword is not None else None
            if key == "training":
                if not (isinstance(arg.value, cst.Name) and arg.value.value == self.training):
                    raise Unsupported(
                        "K2T103",
                        f"`{_code(arg).strip()}`: k2t follows `training=training` (torch's module.training)",
                        self.pos_of(arg),
                    )
                dropped.append(key)
                continue
            tensors.append((arg.value, key))
        shapes = tuple(self.shape(value, names) for value, _ in tensors)
        shapes = tuple(None if isinstance(shape, _Size) or shape == () else shape for shape in shapes)
        if slot in self.converted:
            before, output, template = self.converted[slot]
            if before != shapes:
                raise Unsupported(
                    "K2T103",
                    f"`self.{slot}` is called on tensors of other shapes than at its first call",
                    self.pos_of(node),
                )
            self._call_template(node, index, template, tuple(dropped))
            return output
        if any(s is None for s in shapes):
            raise Unsupported(
                "K2T103",
                f"custom layer {self.parts.layer_class.name}: k2t cannot tell the shape of the input of `self.{attr}` here",
                self.pos_of(node),
            )
        given = [(s, key) for s, (_, key) in zip(shapes, tensors)]
        if index is not None:
            template, output, plan = self._convert_item(made, index, given, node)
            self.listed_plans.setdefault(attr, {})[index] = plan
        else:
            template, output, constructed = self._convert(made, given, node)
            self.result.statements[id(made.statement)] = constructed
        self._call_template(node, index, template, tuple(dropped))
        self.converted[slot] = (shapes, output, template)
        return output

    def _call_template(self, node: cst.Call, index: int | None, template: str, dropped: tuple[str, ...]) -> None:
        """The torch form of a sublayer call; an item of a list of layers is written as the call names it (``layer``
        in ``for layer in self.hidden:``), and a call in a loop over the list must take one form for every item."""
        if index is not None:
            attr = self.callee(node)[0]
            template = template.replace(f"self.{attr}[{index}]", _code(node.func).strip())
        earlier = self.result.calls.get(id(node))
        if earlier is not None and earlier.template != template:
            message = (
                f"custom layer {self.parts.layer_class.name}: the layers `{_code(node.func).strip()}` takes are called "
                f"differently in torch (`{earlier.template.format('x')}`, `{template.format('x')}`); k2t writes one call"
            )
            raise Unsupported("K2T103", message, self.pos_of(node))
        self.result.calls[id(node)] = SublayerCall(node, template, dropped)

    # ------------------------------------------------------------------ conversion by the registry
    def _convert(
        self, made: _Made, inputs: list[tuple[tuple, str | None]], node: cst.Call
    ) -> tuple[str, tuple | None, list[str]]:
        """(call template over {0}.., output shape, __init__ lines) of one sublayer."""
        attr = made.attr
        if made.items is not None:
            return self._sequential(made, inputs, node)
        layer = made.layer
        assert layer is not None
        if (
            layer.short_name in TENSOR_CALLS
            and layer.short_name not in LAYERS
            or len(inputs) > 1
            or inputs[0][1] is not None
        ):
            return self._tensor_call(made, inputs, node)
        # A tensor without a batch axis (``positions``) goes through as if its first axis were the batch.
        ctx = _SublayerContext(layer, attr, _dims(inputs[0][0][1:]), f"self.{attr}")
        plan = self._run(LAYERS, layer, ctx, node)
        template = self._template(plan, ctx, node)
        self._collect(plan, ctx, attr, attr, plan.weights)
        return template, (inputs[0][0][0], *_codes(ctx.shape)), self._constructed(f"self.{attr}", [plan], False, node)

    def _convert_item(
        self, made: _Made, index: int, inputs: list[tuple[tuple, str | None]], node: cst.Call
    ) -> tuple[str, tuple | None, object]:
        """(call template over {0}, output shape, plan) of the layer at ``index`` of a list of layers."""
        layer = made.listed[index]
        if len(inputs) > 1 or inputs[0][1] is not None or layer.short_name not in LAYERS:
            message = f"`self.{made.attr}[{index}]` ({layer.short_name}) is followed on one tensor in a list of layers"
            raise Unsupported("K2T103", message, self.pos_of(node))
        path = f"{made.attr}.{index}"
        ctx = _SublayerContext(layer, path, _dims(inputs[0][0][1:]), f"self.{made.attr}[{index}]")
        plan = self._run(LAYERS, layer, ctx, node)
        template = self._template(plan, ctx, node)
        self._collect(plan, ctx, path, path, plan.weights)
        return template, (inputs[0][0][0], *_codes(ctx.shape)), plan

    def _tensor_call(
        self, made: _Made, inputs: list[tuple[tuple, str | None]], node: cst.Call
    ) -> tuple[str, tuple | None, list[str]]:
        layer = made.layer
        converter = TENSOR_CALLS.get(layer.short_name)
        if converter is None:
            raise Unsupported(
                "K2T103",
                f"`self.{made.attr}` ({layer.short_name}) called on several tensors is not translated",
                self.pos_of(node),
            )
        ctx = _SublayerContext(layer, made.attr, _dims(inputs[0][0][1:]), f"self.{made.attr}")
        tensor_inputs = [
            TensorInput(f"input{i}", _dims(shape[1:]), "keras", key) for i, (shape, key) in enumerate(inputs)
        ]
        tensor = TensorNode(
            made.attr,
            self.pos_of(node),
            layer,
            id(made.call),
            keywords=tuple(key for _, key in inputs) if any(key for _, key in inputs) else (),
        )
        try:
            planned = converter(ctx, tensor, tensor_inputs)
        except Unsupported as exc:
            raise Unsupported(
                exc.code,
                f"`self.{made.attr}` of {self.parts.layer_class.name}: {exc.message}",
                exc.pos or self.pos_of(node),
            ) from None
        if len(planned.lines) != 1 or not planned.lines[0].startswith("{out} = ") or ctx.pre:
            raise Unsupported(
                "K2T103",
                f"`self.{made.attr}` ({layer.short_name}) is not translated inside a custom layer",
                self.pos_of(node),
            )
        plan = planned.plan
        self._collect(plan, ctx, made.attr, made.attr, plan.weights)
        output = (None, *_codes(planned.shapes[0])) if planned.shapes else None
        return (
            planned.lines[0].removeprefix("{out} = "),
            output,
            self._constructed(f"self.{made.attr}", [plan], False, node),
        )

    def _sequential(
        self, made: _Made, inputs: list[tuple[tuple, str | None]], node: cst.Call
    ) -> tuple[str, tuple | None, list[str]]:
        if len(inputs) != 1 or inputs[0][1] is not None:
            raise Unsupported("K2T103", f"`self.{made.attr}` (a Sequential) is called on one tensor", self.pos_of(node))
        shape = _dims(inputs[0][0][1:])
        modules: list = []
        for index, layer in enumerate(made.items):
            position = len(modules)
            ctx = _SublayerContext(layer, f"{made.attr}.{position}", shape, f"self.{made.attr}[{position}]")
            plan = self._run(LAYERS, layer, ctx, node)
            expected = [f"x = {ctx.self_attr}(x)"]
            activation = plan.activation
            if plan.forward != expected and activation != "linear":
                expected = [f"x = {ACTIVATIONS[activation].template.format(x=f'{ctx.self_attr}(x)')}"]
            if plan.forward != expected or ctx.pre or plan.setup or plan.constructor is None:
                raise Unsupported(
                    "K2T103",
                    f"{layer.short_name} inside `self.{made.attr}` is not translated as an nn.Sequential item",
                    layer.pos,
                )
            modules.append(plan)
            self._collect(plan, ctx, f"{made.attr}.layers.{index}", f"{made.attr}.{position}", plan.weights)
            if activation != "linear" and expected[0] != f"x = {ctx.self_attr}(x)":
                module = ACTIVATIONS[activation].module
                if module is None:
                    raise Unsupported(
                        "K2T110",
                        f"activation {activation!r} in `self.{made.attr}` is not translated as a module",
                        layer.pos,
                    )
                modules.append(module)
            shape = list(ctx.shape)
        return (
            f"self.{made.attr}({{0}})",
            (None, *_codes(shape)),
            self._constructed(f"self.{made.attr}", modules, True, node),
        )

    def _run(self, table, layer: KerasCall, ctx: LayerContext, node: cst.Call):
        converter = table.get(layer.short_name)
        if converter is None or layer.short_name == "Layer":
            raise Unsupported(
                "K2T103",
                f"{layer.short_name} as a sublayer of {self.parts.layer_class.name} is not translated",
                layer.pos,
            )
        try:
            return converter(ctx)
        except Unsupported as exc:
            raise Unsupported(
                exc.code, f"{layer.short_name} in {self.parts.layer_class.name}: {exc.message}", exc.pos or layer.pos
            ) from None

    def _template(self, plan, ctx: LayerContext, node: cst.Call) -> str:
        """``x = F.relu(self.dense(x))`` -> ``F.relu(self.dense({0}))``."""
        if len(plan.forward) != 1 or ctx.pre or plan.setup or plan.constructor is None:
            raise Unsupported(
                "K2T103",
                f"{plan.keras_class} is not translated inside a custom layer (its torch forward is not one expression)",
                self.pos_of(node),
            )
        line = plan.forward[0]
        if not line.startswith("x = ") or len(_ARGUMENT.findall(line[4:])) != 1:
            raise Unsupported(
                "K2T103",
                f"{plan.keras_class} is not translated inside a custom layer (its torch forward is not one expression)",
                self.pos_of(node),
            )
        return _ARGUMENT.sub("{0}", line[4:].replace("{", "{{").replace("}", "}}"))

    def _collect(self, plan, ctx: LayerContext, keras_path: str, torch_path: str, kind: str | None) -> None:
        if kind is not None:
            self.result.transfers.append((keras_path, torch_path, kind))
        # The sublayer's own sublayers (TimeDistributed's layer): each by its kind, under the sublayer's paths.
        self.result.transfers.extend(
            (f"{keras_path}.{inner_keras}", f"{torch_path}.{inner_torch}", inner_kind)
            for inner_keras, inner_torch, inner_kind in plan.sublayers
        )
        self.result.regularizers.extend(plan.regularizers)
        self.result.helpers.extend(ctx.helpers)
        if self.result.params is not None:
            self.result.params = None if plan.params is None else self.result.params + plan.params

    def _constructed(
        self, target: str, modules: list, sequential: bool, node: cst.CSTNode, listed: bool = False
    ) -> Constructed:
        constructed = Constructed(target, modules, sequential, dict(self.mark_values), listed)
        lines = constructed.lines()
        for mark, dim in self.marks.items():
            if any(mark in line for line in lines):
                message = (
                    f"custom layer {self.parts.layer_class.name}: `{target.removeprefix('self.')}` needs the input size {dim}, which is none of "
                    f"{self.parts.layer_class.name}'s __init__ parameters; pass it to the layer so that its __init__ can size the sublayer"
                )
                raise Unsupported("K2T103", message, self.pos_of(node))
        return constructed


@dataclass(frozen=True)
class _Size:
    dim: str  # in the class's terms


_SHAPE_OPS = frozenset({"tensorflow.shape", "keras.ops.shape", "keras.backend.shape"})
_RANGE_OPS = frozenset({"tensorflow.range", "keras.ops.arange", "keras.backend.arange"})
_EXPAND_OPS = frozenset({"keras.backend.expand_dims", "tensorflow.expand_dims", "keras.ops.expand_dims"})
_PAD: object = object()  # a missing leading axis in broadcasting


def _int(node: cst.BaseExpression | None) -> int | None:
    if isinstance(node, cst.Integer):
        return int(node.evaluated_value)
    if (
        isinstance(node, cst.UnaryOperation)
        and isinstance(node.operator, cst.Minus)
        and isinstance(node.expression, cst.Integer)
    ):
        return -int(node.expression.evaluated_value)
    return None


def _lines_of(sublayers: Sublayers) -> dict[int, list[str]]:
    return {key: constructed.lines() for key, constructed in sublayers.statements.items()}


def _body(method: cst.FunctionDef) -> list[cst.CSTNode]:
    return list(method.body.body) if isinstance(method.body, cst.IndentedBlock) else []


def _init_body(parts) -> list[cst.CSTNode]:
    init = parts.methods.get("__init__")
    return _body(init) if init is not None else []


def _assigns(statement: cst.CSTNode, attr: str, call: cst.Call) -> bool:
    return isinstance(statement, cst.SimpleStatementLine) and any(
        isinstance(small, cst.Assign) and small.value is call for small in statement.body
    )


def _self_attribute(node: cst.BaseExpression) -> str | None:
    if isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name) and node.value.value == "self":
        return node.attr.value
    return None


def _sublayer_calls(node: cst.CSTNode, callee) -> list[cst.Call]:
    found: list[cst.Call] = []

    class Finder(Visitor):
        def visit_Call(self, call: cst.Call) -> bool:
            if callee(call) is not None:
                found.append(call)
                return False
            return True

    node.visit(Finder())
    return found


_EMPTY = cst.Module(body=[])


def _code(node: cst.CSTNode) -> str:
    return _EMPTY.code_for_node(node)
