"""A fast read-only walk for libcst visitors.

libcst's ``node.visit(visitor)`` rebuilds every node it passes (``_visit_and_replace_children``
makes a new dataclass per node and validates it), even for a ``CSTVisitor`` that changes nothing;
k2t walks its trees a few hundred times per script, and that rebuilding was most of a conversion's
time. ``Visitor`` is a ``CSTVisitor`` that walks the children itself, in libcst's own order, without
rebuilding anything and without descending into whitespace, parentheses and operator tokens (which no
k2t visitor reads). Calling code is unchanged: ``node.visit(SomeVisitor())``, ``visit_X`` /
``leave_X``, ``return False`` to skip a subtree all behave as with libcst.

``CHILD_FIELDS`` is the order of libcst 1.x's ``_visit_and_replace_children`` (tests/test_cst_walk.py
rebuilds it from the installed libcst and fails when a release changes it); a node class it does not
name (a newer libcst's) is walked through libcst's own ``children``. A visitor class that defines a
``visit_``/``leave_`` method for a token class, or its own ``on_visit``, is walked by libcst itself.
"""

from __future__ import annotations

import ast
import threading
from collections.abc import Callable, Collection, Iterator

import libcst as cst
from libcst.metadata import MetadataWrapper, QualifiedName, ScopeProvider

# For each libcst node class with children a visitor can care about: the fields holding them, in the order
# libcst visits them (fields holding only whitespace, parentheses, commas or operators left out).
CHILD_FIELDS: dict[str, tuple[str, ...]] = {
    "AnnAssign": ("target", "annotation", "value"),
    "Annotation": ("annotation",),
    "Arg": ("keyword", "value"),
    "AsName": ("name",),
    "Assert": ("test", "msg"),
    "Assign": ("targets", "value"),
    "AssignTarget": ("target",),
    "Attribute": ("value", "attr"),
    "AugAssign": ("target", "value"),
    "Await": ("expression",),
    "BinaryOperation": ("left", "right"),
    "BooleanOperation": ("left", "right"),
    "Call": ("func", "args"),
    "ClassDef": ("decorators", "name", "type_parameters", "bases", "keywords", "body"),
    "CompFor": ("target", "iter", "ifs", "inner_for_in"),
    "CompIf": ("test",),
    "Comparison": ("left", "comparisons"),
    "ComparisonTarget": ("comparator",),
    "ConcatenatedString": ("left", "right"),
    "Decorator": ("decorator",),
    "Del": ("target",),
    "Dict": ("elements",),
    "DictComp": ("key", "value", "for_in"),
    "DictElement": ("key", "value"),
    "Element": ("value",),
    "Else": ("body",),
    "ExceptHandler": ("type", "name", "body"),
    "ExceptStarHandler": ("type", "name", "body"),
    "Expr": ("value",),
    "Finally": ("body",),
    "For": ("target", "iter", "body", "orelse"),
    "FormattedString": ("parts",),
    "FormattedStringExpression": ("expression", "format_spec"),
    "From": ("item",),
    "FunctionDef": ("decorators", "name", "type_parameters", "params", "returns", "body"),
    "GeneratorExp": ("elt", "for_in"),
    "Global": ("names",),
    "If": ("test", "body", "orelse"),
    "IfExp": ("body", "test", "orelse"),
    "Import": ("names",),
    "ImportAlias": ("name", "asname"),
    "ImportFrom": ("module", "names"),
    "IndentedBlock": ("body",),
    "Index": ("value",),
    "Lambda": ("params", "body"),
    "LazyImport": ("names",),
    "LazyImportFrom": ("module", "names"),
    "List": ("elements",),
    "ListComp": ("elt", "for_in"),
    "Match": ("subject", "cases"),
    "MatchAs": ("pattern", "name"),
    "MatchCase": ("pattern", "guard", "body"),
    "MatchClass": ("cls", "patterns", "kwds"),
    "MatchKeywordElement": ("key", "pattern"),
    "MatchList": ("patterns",),
    "MatchMapping": ("elements", "rest"),
    "MatchMappingElement": ("key", "pattern"),
    "MatchOr": ("patterns",),
    "MatchOrElement": ("pattern",),
    "MatchSequenceElement": ("value",),
    "MatchSingleton": ("value",),
    "MatchStar": ("name",),
    "MatchTuple": ("patterns",),
    "MatchValue": ("value",),
    "Module": ("body",),
    "NameItem": ("name",),
    "NamedExpr": ("target", "value"),
    "Nonlocal": ("names",),
    "Param": ("name", "annotation", "default"),
    "ParamSpec": ("name",),
    "Parameters": ("posonly_params", "posonly_ind", "params", "star_arg", "kwonly_params", "star_kwarg"),
    "Raise": ("exc", "cause"),
    "Return": ("value",),
    "Set": ("elements",),
    "SetComp": ("elt", "for_in"),
    "SimpleStatementLine": ("body",),
    "SimpleStatementSuite": ("body",),
    "Slice": ("lower", "upper", "step"),
    "StarredDictComp": ("value", "for_in"),
    "StarredDictElement": ("value",),
    "StarredElement": ("value",),
    "Subscript": ("value", "slice"),
    "SubscriptElement": ("slice",),
    "TemplatedString": ("parts",),
    "TemplatedStringExpression": ("expression", "format_spec"),
    "Try": ("body", "handlers", "orelse", "finalbody"),
    "TryStar": ("body", "handlers", "orelse", "finalbody"),
    "Tuple": ("elements",),
    "TypeAlias": ("name", "type_parameters", "value"),
    "TypeParam": ("param", "default"),
    "TypeParameters": ("params",),
    "TypeVar": ("name", "bound"),
    "TypeVarTuple": ("name",),
    "UnaryOperation": ("expression",),
    "While": ("test", "body", "orelse"),
    "With": ("items", "body"),
    "WithItem": ("item", "asname"),
    "Yield": ("value",),
}

# Classes with no field in CHILD_FIELDS: leaves and tokens, whose subtrees hold only whitespace and comments.
TOKEN_CLASSES: frozenset[str] = frozenset(
    {
        "Add", "AddAssign", "And", "AssignEqual", "Asynchronous", "BitAnd", "BitAndAssign", "BitInvert", "BitOr",
        "BitOrAssign", "BitXor", "BitXorAssign", "Colon", "Comma", "Comment", "Divide", "DivideAssign", "Dot",
        "EmptyLine", "Equal", "FloorDivide", "FloorDivideAssign", "GreaterThan", "GreaterThanEqual", "ImportStar",
        "In", "Is", "IsNot", "LeftCurlyBrace", "LeftParen", "LeftShift", "LeftShiftAssign", "LeftSquareBracket",
        "LessThan", "LessThanEqual", "MatrixMultiply", "MatrixMultiplyAssign", "Minus", "Modulo", "ModuloAssign",
        "Multiply", "MultiplyAssign", "Newline", "Not", "NotEqual", "NotIn", "Or", "ParenthesizedWhitespace",
        "Plus", "Power", "PowerAssign", "RightCurlyBrace", "RightParen", "RightShift", "RightShiftAssign",
        "RightSquareBracket", "Semicolon", "SimpleWhitespace", "Subtract", "SubtractAssign", "TrailingWhitespace",
    }
)  # fmt: skip

_Method = Callable[[cst.CSTVisitor, cst.CSTNode], object] | None
_fields_of: dict[type, tuple[str, ...] | None] = {}  # node class -> CHILD_FIELDS row; None: not in the table


def children(node: cst.CSTNode) -> list[cst.CSTNode]:
    """The children of ``node`` a visitor can care about, in libcst's visiting order."""
    node_class = type(node)
    try:
        fields = _fields_of[node_class]
    except KeyError:
        name = node_class.__name__
        fields = _fields_of[node_class] = CHILD_FIELDS.get(
            name, () if name in TOKEN_CLASSES or name in _LEAVES else None
        )
    if fields is None:  # a class this table does not know: libcst's own (slower) list
        return [child for child in node.children if _kind(type(child)) is _NODE]
    found: list[cst.CSTNode] = []
    for field in fields:
        value = getattr(node, field)
        kind = _kinds.get(type(value)) or _kind(type(value))
        if kind is _NODE:
            found.append(value)
        elif kind is _SEQUENCE:
            found.extend(item for item in value if (_kinds.get(type(item)) or _kind(type(item))) is _NODE)
    return found


# What a field's value is, by its class (a cache: isinstance on libcst's abstract classes is slow).
_NODE, _SEQUENCE, _OTHER = "node", "sequence", "other"
_kinds: dict[type, str] = {}


def _kind(value_class: type) -> str:
    if issubclass(value_class, cst.CSTNode):
        kind = _OTHER if value_class.__name__ in TOKEN_CLASSES else _NODE
    else:
        kind = _SEQUENCE if issubclass(value_class, (tuple, list)) else _OTHER
    _kinds[value_class] = kind
    return kind


# Node classes with no child a visitor reads (names, literals, simple statements without operands).
_LEAVES = frozenset(
    {"Break", "Continue", "Ellipsis", "Float", "FormattedStringText", "Imaginary", "Integer", "Name", "ParamSlash",
     "ParamStar", "Pass", "SimpleString", "TemplatedStringText"}
)  # fmt: skip


class Visitor(cst.CSTVisitor):
    """A ``CSTVisitor`` for reading: same callbacks, walked without libcst's rebuilding of each node.

    A visitor that looks at every node overrides ``enter`` (return False to skip the node's children) and
    ``leave`` instead of libcst's ``on_visit`` / ``on_leave``, which this class owns.
    """

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if "on_visit" in vars(cls) or "on_leave" in vars(cls):
            raise TypeError(f"{cls.__qualname__}: override enter/leave, not on_visit/on_leave (k2t.cst_walk)")

    def on_visit(self, node: cst.CSTNode) -> bool:
        methods = _Methods.of(type(self))
        self._visits, self._leaves = methods.visits, methods.leaves
        if not methods.fast:  # a callback for a token: libcst's walk, which passes them
            return self.enter(node)
        enter, leave = self.enter, self.leave

        def walk(current: cst.CSTNode) -> None:
            if enter(current) is not False:
                for child in children(current):
                    walk(child)
                    leave(child)

        walk(node)
        return False  # the children are walked: libcst goes on to on_leave(node)

    def on_leave(self, original_node: cst.CSTNode) -> None:
        self.leave(original_node)

    def enter(self, node: cst.CSTNode) -> bool:
        """Before the node's children: its ``visit_<Class>``; False skips the children."""
        visit = self._visits.get(type(node).__name__)
        return visit is None or visit(self, node) is not False

    def leave(self, node: cst.CSTNode) -> None:
        """After the node's children (also when they were skipped): its ``leave_<Class>``."""
        leave = self._leaves.get(type(node).__name__)
        if leave is not None:
            leave(self, node)


class _Methods:
    """A visitor class's own callbacks by node class name, kept on the class itself (visitors defined inside
    functions are made per call: a table beside them would grow with every call)."""

    def __init__(self, visitor_class: type):
        own = {
            name
            for klass in visitor_class.__mro__
            if klass not in _LIBCST_BASES
            for name in vars(klass)
            if name.startswith(("visit_", "leave_"))
        }
        self.visits = {name[6:]: getattr(visitor_class, name) for name in own if name.startswith("visit_")}
        self.leaves = {name[6:]: getattr(visitor_class, name) for name in own if name.startswith("leave_")}
        self.fast = TOKEN_CLASSES.isdisjoint(self.visits) and TOKEN_CLASSES.isdisjoint(self.leaves)

    @staticmethod
    def of(visitor_class: type) -> _Methods:
        methods = visitor_class.__dict__.get("_k2t_methods")
        if methods is None:
            methods = _Methods(visitor_class)
            visitor_class._k2t_methods = methods
        return methods


_LIBCST_BASES = frozenset(cst.CSTVisitor.__mro__) | {Visitor}


def walk(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """``node`` and every node under it a visitor can care about, in libcst's visiting order (preorder)."""
    pending = [node]
    while pending:
        current = pending.pop()
        yield current
        pending.extend(reversed(children(current)))


def walk_with_statements(module: cst.CSTNode) -> Iterator[tuple[cst.CSTNode, cst.CSTNode]]:
    """Every node of ``module`` with the innermost statement it belongs to (a compound statement for its
    header; the module for itself), in preorder."""
    pending: list[tuple[cst.CSTNode, cst.CSTNode]] = [(module, module)]
    while pending:
        statement, node = pending.pop()
        if isinstance(node, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
            statement = node
        yield statement, node
        pending.extend((statement, child) for child in reversed(children(node)))


def parents(node: cst.CSTNode) -> dict[int, cst.CSTNode]:
    """id() of each node under ``node`` (tokens left out) -> the node it is a child of."""
    found: dict[int, cst.CSTNode] = {}
    for current in walk(node):
        for child in children(current):
            found[id(child)] = current
    return found


def qualified_names(wrapper: MetadataWrapper) -> Callable[[cst.CSTNode], Collection[QualifiedName]]:
    """``node -> its qualified names``, as libcst's QualifiedNameProvider gives them, computed for the nodes
    asked about only (the provider walks the whole tree with libcst's rebuilding walk to set a lazy value on
    every node)."""
    scopes = wrapper.resolve(ScopeProvider)

    known: dict[int, Collection[QualifiedName]] = {}  # id(node) -> its names (the nodes are the wrapper's)

    def of(node: cst.CSTNode) -> Collection[QualifiedName]:
        names = known.get(id(node))
        if names is None:
            scope = scopes.get(node)
            names = known[id(node)] = scope.get_qualified_names_for(node) if scope is not None else set()
        return names

    return of


_CODE_CACHE: dict[int, tuple[cst.Module, str, ast.Module | None]] = {}  # id(module) -> (module, code, its ast)
_CODE_CACHE_LOCK = threading.Lock()
_CODE_CACHE_SIZE = 4  # the modules of the conversions running now (a script's, its output's)


def module_code(module: cst.Module) -> str:
    """``module.code``, generated once per module (libcst Modules do not change; the script's own is read by
    several stages)."""
    return _cached(module)[1]


def module_syntax(module: cst.Module) -> ast.Module:
    """``ast.parse(module.code)``, parsed once per module. Read it, do not change it."""
    entry = _cached(module)
    if entry[2] is None:
        entry = (module, entry[1], ast.parse(entry[1]))
        with _CODE_CACHE_LOCK:
            _CODE_CACHE[id(module)] = entry
    return entry[2]


def _cached(module: cst.Module) -> tuple[cst.Module, str, ast.Module | None]:
    with _CODE_CACHE_LOCK:  # library users may convert on several threads
        entry = _CODE_CACHE.get(id(module))
        if entry is None or entry[0] is not module:
            while len(_CODE_CACHE) >= _CODE_CACHE_SIZE:
                del _CODE_CACHE[next(iter(_CODE_CACHE))]
            entry = _CODE_CACHE[id(module)] = (module, module.code, None)
        return entry


_NAMES_CACHE: dict[int, tuple[cst.CSTNode, frozenset[str]]] = {}  # id(node) -> (node, its names)
_NAMES_CACHE_SIZE = 8192  # statements: emit reads those of the output several times


def bare_names(node: cst.CSTNode) -> frozenset[str]:
    """The names ``node`` reads or binds, not attributes (``x.device`` names no ``device``); remembered for the
    nodes asked about last (libcst nodes do not change)."""
    with _CODE_CACHE_LOCK:
        entry = _NAMES_CACHE.get(id(node))
    if entry is not None and entry[0] is node:
        return entry[1]
    names: set[str] = set()

    class Names(Visitor):
        def visit_Attribute(self, attribute: cst.Attribute) -> bool:
            attribute.value.visit(self)
            return False

        def visit_Name(self, name: cst.Name) -> None:
            names.add(name.value)

    node.visit(Names())
    found = frozenset(names)
    with _CODE_CACHE_LOCK:
        if len(_NAMES_CACHE) >= _NAMES_CACHE_SIZE:
            _NAMES_CACHE.clear()
        _NAMES_CACHE[id(node)] = (node, found)
    return found
