"""Generated lines wrapped to ``LINE_LENGTH`` the way black / ``ruff format`` wraps them.

The last pass over a converted script. A line of the output that is also a line of the input is
the user's, kept as written; every other line (templates, converters, a rewritten ``model.fit``)
is k2t's, and a long one is wrapped:

- a statement on one line is split at its last bracket pair (``head(``, the arguments, ``)``),
  the arguments one per line with a trailing comma when they do not fit on one; an expression
  after ``=``, ``return``, ``if`` ... that holds an operator is wrapped in parentheses and split
  before its operators (``and``, ``if``/``else``, ``for``, ``+`` ...), as black does;
- a comment is wrapped at a word; a trailing comment goes on its own line above the code (below
  a ``...:`` header, at the start of its block);
- a line of a triple-quoted docstring is wrapped at a word.

Each wrapped statement is checked to parse to the same syntax tree; one that would not is left as
it was. Long strings are not split: a template keeps its own strings short.
"""

from __future__ import annotations

import ast
import io
import keyword
import textwrap
import tokenize
from collections.abc import Iterable
from dataclasses import dataclass

LINE_LENGTH = 88  # black's and ruff format's default
_INDENT = "    "
_PRAGMAS = ("noqa", "type:", "TODO(k2t)", "fmt:", "pragma", "pylint:")
_OPENING = {"(": ")", "[": "]", "{": "}"}
_CLOSING = set(_OPENING.values())
# black's delimiter priorities: a line splits at its highest one.
_COMPREHENSION, _COMMA, _TERNARY, _LOGIC, _STRING, _COMPARATOR, _DOT = 20, 18, 16, 14, 12, 10, 1
_MATH = {"|": 9, "^": 8, "&": 7, "<<": 6, ">>": 6, "+": 5, "-": 5, "*": 4, "/": 4, "//": 4, "%": 4, "@": 4, "**": 1}
_COMPARATORS = {"<", ">", "==", "!=", "<=", ">=", "in", "is"}
_PARENTHESISED_AFTER = {"=", "return", "if", "elif", "while", "assert", "+=", "-=", "*=", "/=", "|="}


@dataclass(frozen=True)
class _Token:
    text: str
    kind: int
    start: int  # columns in the statement's one line
    end: int


def wrap_generated_lines(output: str, source: str, limit: int = LINE_LENGTH) -> str:
    """``output`` with its long lines that are not lines of ``source`` wrapped to ``limit``."""
    users = set(source.splitlines())
    lines = output.splitlines()
    docstring_lines = _docstring_lines(output)
    if docstring_lines is None:
        return output  # not Python: nothing to wrap safely
    # A line of a statement written over several lines is a fragment (``follow_links=follow_links,`` inside a
    # call), which may even parse alone as something else: it is wrapped only where the whole statement, the
    # line replaced by its pieces, parses to the same tree.
    statements = {
        number: span for number, span in _continued_statements(output).items() if number not in docstring_lines
    }
    original = list(lines)
    wrapped: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        number = index + 1
        index += 1
        if len(line) <= limit or line in users or any(pragma in line for pragma in _PRAGMAS):
            wrapped.append(line)
            continue
        if number in docstring_lines:
            pieces = _wrap_docstring_line(line, limit)
        else:
            pieces = _wrap_code_line(line, limit) or [line]
            if (
                number in statements
                and len(pieces) > 1
                and not _same_in_statement(original, statements[number], number, pieces)
            ):
                pieces = [line]
        prose = number in docstring_lines or line.lstrip().startswith("#")
        if prose and len(pieces) > 1 and _continues(line, lines, index, docstring_lines, users):
            # The words carried over open the paragraph's next line, wrapped in its turn.
            lines[index] = f"{pieces.pop()} {_prose_text(lines[index])}"
        wrapped.extend(pieces)
    newline = "\r\n" if "\r\n" in output else "\n"  # a CRLF script stays CRLF
    text = newline.join(wrapped)
    return text + newline if output.endswith("\n") else text


def _continues(line: str, lines: list[str], index: int, docstring_lines: set[int], users: set[str]) -> bool:
    """Whether ``lines[index]`` goes on the paragraph of ``line`` (a comment or a docstring's prose)."""
    if index >= len(lines) or lines[index] in users or any(pragma in lines[index] for pragma in _PRAGMAS):
        return False
    following = lines[index]
    indent = line[: len(line) - len(line.lstrip())]
    if following[: len(following) - len(following.lstrip())] != indent:
        return False
    text = _prose_text(following)
    if not text or text[0] in "-*>|`" or text[:2].rstrip(".").isdigit() or text.startswith(('"""', "'''")):
        return False  # a list, a quote or an example: its own line
    if line.lstrip().startswith("#"):
        return following.lstrip().startswith("# ")
    # The docstring's opening quotes start a paragraph like any other line; its closing ones end it.
    after_opening = line.lstrip()[3:]
    return index + 1 in docstring_lines and '"""' not in after_opening and "'''" not in after_opening


def _prose_text(line: str) -> str:
    text = line.strip()
    return text[1:].strip() if text.startswith("#") else text


def _docstring_lines(output: str) -> set[int] | None:
    """Line numbers inside triple-quoted docstrings (their first and last lines included)."""
    try:
        tree = ast.parse(output)
    except SyntaxError:
        return None
    lines = output.splitlines()
    numbers: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if _is_triple_quoted(first, lines):
                numbers.update(range(first.lineno, (first.end_lineno or first.lineno) + 1))
    return numbers


def _continued_statements(output: str) -> dict[int, tuple[int, int]]:
    """Each line of a statement (or header) that spans several physical lines -> the statement's first and last."""
    spans: dict[int, tuple[int, int]] = {}
    first: int | None = None
    for token in tokenize.generate_tokens(io.StringIO(output).readline):
        if token.type in (tokenize.NL, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT) and first is None:
            continue  # between statements
        if first is None:
            first = token.start[0]
        if token.type in (tokenize.NEWLINE, tokenize.ENDMARKER):
            last = token.start[0]
            if last > first:
                spans.update(dict.fromkeys(range(first, last + 1), (first, last)))
            first = None
    return spans


def _same_in_statement(lines: list[str], span: tuple[int, int], number: int, pieces: list[str]) -> bool:
    """Whether the statement ``lines[first..last]`` (1-based) parses alike with line ``number`` as ``pieces``."""
    first, last = span
    before = lines[first - 1 : last]
    after = lines[first - 1 : number - 1] + pieces + lines[number:last]
    return _same_tree("\n".join(before), "\n".join(after))


def _is_triple_quoted(statement: ast.stmt, lines: list[str]) -> bool:
    """A string statement written with triple quotes (a one-line ``"..."`` cannot be cut)."""
    if not (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant)):
        return False
    opening = lines[statement.lineno - 1][statement.col_offset :].lstrip("rRuUbB")
    return isinstance(statement.value.value, str) and opening[:3] in ('"""', "'''")


def _wrap_docstring_line(line: str, limit: int) -> list[str]:
    """A prose line of a docstring cut at words; the pieces keep its indentation."""
    indent = line[: len(line) - len(line.lstrip())]
    return _prose(indent, line.strip(), "", limit)


def _prose(indent: str, text: str, marker: str, limit: int) -> list[str]:
    width = max(limit - len(indent) - len(marker), 20)
    pieces = textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False)
    return [f"{indent}{marker}{piece}".rstrip() for piece in pieces] or [indent + marker.rstrip()]


def _wrap_code_line(line: str, limit: int) -> list[str] | None:
    """A long line of code (or comment) as several lines within ``limit``, or None to keep it."""
    indent = line[: len(line) - len(line.lstrip())]
    tokens = _tokens(line.strip())
    if tokens is None:
        return None
    if not tokens:
        return None
    code, comment = line.strip(), None
    if tokens[-1].kind == tokenize.COMMENT:
        comment = tokens[-1].text
        code = code[: tokens[-1].start].rstrip()
        tokens = tokens[:-1]
    statement = [indent + code] if len(indent) + len(code) <= limit else _split(tokens, code, indent, limit)
    if statement is None or not _same_tree(code, "\n".join(statement)):
        return None
    if comment is None:
        return statement
    if not code:
        return _prose(indent, comment.lstrip("#").strip(), "# ", limit)
    notes = _prose(indent + (_INDENT if code.endswith(":") else ""), comment.lstrip("#").strip(), "# ", limit)
    return statement + notes if code.endswith(":") else notes + statement


def _tokens(code: str) -> list[_Token] | None:
    """The tokens of one physical line that is a whole statement (or a ``...:`` header); None otherwise."""
    try:
        raw = list(tokenize.generate_tokens(io.StringIO(code + "\n").readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return None
    skipped = (tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER, tokenize.INDENT, tokenize.DEDENT)
    if any(t.start[0] != 1 for t in raw if t.type not in skipped):
        return None
    tokens: list[_Token] = []
    fstring_start, nested = 0, 0
    for t in raw:
        kind = tokenize.tok_name[t.type]
        if kind == "FSTRING_START":  # Python 3.12+ splits an f-string; it stays one string here
            fstring_start = t.start[1] if nested == 0 else fstring_start
            nested += 1
        elif kind == "FSTRING_END":
            nested -= 1
            if nested == 0:
                tokens.append(_Token(code[fstring_start : t.end[1]], tokenize.STRING, fstring_start, t.end[1]))
        elif nested == 0 and t.type not in skipped:
            tokens.append(_Token(t.string, t.type, t.start[1], t.end[1]))
    return tokens


def _same_tree(before: str, after: str) -> bool:
    """The wrapped text parses to the statement the line was (a header gets a ``pass`` body to parse)."""

    def tree(text: str) -> str | None:
        text = textwrap.dedent(text)
        body = text + ("\n    pass" if text.rstrip().endswith(":") else "")
        for prefix in ("", "if True:\n    pass\n", "try:\n    pass\n"):  # elif / else / except headers
            try:
                return ast.dump(ast.parse(prefix + textwrap.indent(body, "") if not prefix else prefix + body))
            except SyntaxError:
                continue
        return None

    original = tree(before)
    return original is not None and original == tree(after)


def _split(tokens: list[_Token], code: str, indent: str, limit: int) -> list[str] | None:
    """black's right-hand split: ``head(`` / body / ``)tail``, the body exploded when it does not fit."""
    parenthesised = _parenthesised_tail(tokens)
    if parenthesised is not None:
        split = _split_at(tokens, code, indent, limit, parenthesised, invisible=True)
        if split is not None:
            return split
    pairs = list(_bracket_pairs(tokens))
    # Arguments that are several items first: ``Net(\n    a=1, b=2\n).to(device)``, not ``.to(\n    device\n)``.
    several = [(o, c) for o, c in pairs if _delimited(tokens[o + 1 : c])[1] is not None]
    for opening, closing in several + [pair for pair in pairs if pair not in several]:
        split = _split_at(tokens, code, indent, limit, (opening, closing), invisible=False)
        if split is not None:
            return split
    return None


def _split_at(tokens, code, indent, limit, pair, invisible: bool) -> list[str] | None:
    opening, closing = pair
    if invisible:
        head = code[: tokens[opening].end].rstrip() + " ("
        body_tokens = tokens[opening + 1 : closing]
        tail = ")" + (code[tokens[closing].start :] if closing < len(tokens) else "")
    else:
        head = code[: tokens[opening].end]
        body_tokens = tokens[opening + 1 : closing]
        tail = code[tokens[closing].start :]
    if not body_tokens or len(indent) + len(head) > limit or len(indent) + len(tail) > limit:
        return None
    if _trailers(tokens[closing:]) and not invisible and _delimited(body_tokens)[1] is None:
        return None  # not ``f(\n    0\n).g(1)``: a trailer follows only arguments worth a block
    body = _explode(body_tokens, code, indent + _INDENT, limit, trailing_comma=True)
    return [indent + head, *body, indent + tail]


def _explode(tokens: list[_Token], code: str, indent: str, limit: int, trailing_comma: bool) -> list[str]:
    """Lines of a bracket's content: one when it fits, else one per delimited piece, each split again."""
    text = _text(tokens, code)
    if len(indent) + len(text) <= limit:
        return [indent + text]
    pieces, priority = _delimited(tokens)
    if len(tokens) == 1 and tokens[0].kind == tokenize.STRING:
        return [indent + part for part in _split_string(text, len(indent), limit)]
    if len(pieces) == 1:
        return _split_piece(tokens, code, indent, limit)
    lines: list[str] = []
    for index, piece in enumerate(pieces):
        piece_text = _text(piece, code)
        last = index == len(pieces) - 1
        if priority == _COMMA and last and trailing_comma and piece[-1].text != ",":
            piece_text += ","
        if len(indent) + len(piece_text) <= limit:
            lines.append(indent + piece_text)
        elif len(piece) == 1 and piece[0].kind == tokenize.STRING:
            lines.extend(indent + part for part in _split_string(piece_text, len(indent), limit))
        else:
            lines.extend(_split_piece(piece, code, indent, limit, piece_text[len(_text(piece, code)) :]))
    return lines


def _split_piece(tokens: list[_Token], code: str, indent: str, limit: int, suffix: str = "") -> list[str]:
    """A piece too long for its line: split at its own last bracket pair whose head fits, or kept whole."""
    for opening, closing in _bracket_pairs(tokens):
        head = code[tokens[0].start : tokens[opening].end]
        tail = code[tokens[closing].start : tokens[-1].end] + suffix
        worth = not _trailers(tokens[closing:]) or _delimited(tokens[opening + 1 : closing])[1] is not None
        if opening + 1 < closing and len(indent) + len(head) <= limit and worth:
            body = _explode(tokens[opening + 1 : closing], code, indent + _INDENT, limit, trailing_comma=True)
            return [indent + head, *body, indent + tail]
    return [indent + _text(tokens, code) + suffix]


def _split_string(literal: str, width: int, limit: int) -> list[str]:
    """A one-line string literal as adjacent literals (Python joins them) cut after a space, as black's
    string processing does; a space inside an f-string's braces or after a backslash is not a cut."""
    prefix = literal[: len(literal) - len(literal.lstrip("rRbBuUfF"))]
    quote = literal[len(prefix)]
    body = literal[len(prefix) + 1 : -1]
    if literal[len(prefix) : len(prefix) + 3] in ('"""', "'''") or not body:
        return [literal]
    room = limit - width - len(prefix) - 2
    parts: list[str] = []
    while len(body) > room:
        cut = _last_cut(body, room, "f" in prefix.lower())
        if cut is None:
            break
        parts.append(body[:cut])
        body = body[cut:]
    parts.append(body)
    return [f"{_own_prefix(prefix, part)}{quote}{part}{quote}" for part in parts]


def _own_prefix(prefix: str, part: str) -> str:
    """The literal's prefix, less ``f`` for a part without a placeholder (ruff's F541)."""
    return prefix if "{" in part or "}" in part else prefix.replace("f", "").replace("F", "")


def _last_cut(body: str, room: int, formatted: bool) -> int | None:
    """The index after the last space within ``room`` characters where the literal can be cut."""
    depth, cut = 0, None
    for index, char in enumerate(body[:room]):
        if formatted and char in "{}":
            depth += 1 if char == "{" else -1
        elif char == " " and depth == 0 and (index == 0 or body[index - 1] != "\\") and index > 0:
            cut = index + 1
    return cut


def _trailers(tokens: list[_Token]) -> bool:
    return any(t.text in _OPENING for t in tokens)


def _text(tokens: list[_Token], code: str) -> str:
    return code[tokens[0].start : tokens[-1].end]


def _bracket_pairs(tokens: list[_Token]) -> Iterable[tuple[int, int]]:
    """(opening, closing) indices of the top-level bracket pairs, the last one first."""
    pairs, stack = [], []
    for index, token in enumerate(tokens):
        if token.kind != tokenize.OP:
            continue
        if token.text in _OPENING:
            stack.append(index)
        elif token.text in _CLOSING and stack:
            opening = stack.pop()
            if not stack:
                pairs.append((opening, index))
    return reversed(pairs)


def _parenthesised_tail(tokens: list[_Token]) -> tuple[int, int] | None:
    """(the ``=`` / ``return`` / ``if`` ..., the end) when the expression after it holds an operator at its top level."""
    depth = 0
    for index, token in enumerate(tokens):
        if token.text in _OPENING:
            depth += 1
        elif token.text in _CLOSING:
            depth -= 1
        elif depth == 0 and token.text in _PARENTHESISED_AFTER and (index == 0 or token.kind == tokenize.OP):
            if token.text == "=" and any(
                t.text == "=" for t in tokens[index + 1 :] if t.kind == tokenize.OP and _depth_at(tokens, t) == 0
            ):
                continue  # a chained assignment: the last ``=`` starts the value
            end = (
                len(tokens) - 1 if tokens[-1].text == ":" and tokens[0].text in ("if", "elif", "while") else len(tokens)
            )
            value = tokens[index + 1 : end]
            lone_string = len(value) == 1 and value[0].kind == tokenize.STRING
            if value and (_delimited(value)[1] is not None or lone_string) and tokens[0].text != "assert":
                return index, end
            return None
    return None


def _depth_at(tokens: list[_Token], target: _Token) -> int:
    depth = 0
    for token in tokens:
        if token is target:
            return depth
        if token.text in _OPENING:
            depth += 1
        elif token.text in _CLOSING:
            depth -= 1
    return depth


def _delimited(tokens: list[_Token]) -> tuple[list[list[_Token]], int | None]:
    """The tokens split at their highest-priority top-level delimiter, and that priority."""
    priorities = _priorities(tokens)
    if not priorities:
        return [tokens], None
    best = max(priorities.values())
    if best == _DOT and sum(1 for priority in priorities.values() if priority == _DOT) < 2:
        return [tokens], None  # black: one attribute split from its object looks wrong
    pieces: list[list[_Token]] = [[]]
    for index, token in enumerate(tokens):
        if priorities.get(index) == best and best != _COMMA and pieces[-1]:
            pieces.append([])  # split before the operator: it starts the next line
        pieces[-1].append(token)
        if priorities.get(index) == best and best == _COMMA:
            pieces.append([])  # split after the comma
    return [piece for piece in pieces if piece], best


def _priorities(tokens: list[_Token]) -> dict[int, int]:
    """Top-level delimiters: index -> black's priority. Lambda parameters and ``for`` targets are not top level."""
    priorities: dict[int, int] = {}
    depth = 0
    in_lambda = in_for_target = seen_for = False
    previous: _Token | None = None
    for index, token in enumerate(tokens):
        text, kind = token.text, token.kind
        if text in _OPENING and kind == tokenize.OP:
            depth += 1
        elif text in _CLOSING and kind == tokenize.OP:
            depth -= 1
        elif depth == 0:
            priority = _priority(token, previous, tokens[index + 1] if index + 1 < len(tokens) else None, seen_for)
            if text == "lambda":
                in_lambda = True
            elif in_lambda and text == ":":
                in_lambda = False
            elif text == "for" and kind == tokenize.NAME:
                in_for_target, seen_for = True, True
            elif in_for_target and text == "in":
                in_for_target = False
                priority = None
            if priority is not None and not in_lambda and not (in_for_target and text != "for"):
                priorities[index] = priority
        previous = token
    return priorities


def _priority(token: _Token, previous: _Token | None, following: _Token | None, seen_for: bool) -> int | None:
    text, kind = token.text, token.kind
    if kind == tokenize.NAME:
        if text in ("for", "async"):
            return _COMPREHENSION
        if text == "if":
            return _COMPREHENSION if seen_for else _TERNARY
        if text == "else":
            return _TERNARY
        if text in ("and", "or"):
            return _LOGIC
        if text == "not" and following is not None and following.text == "in":
            return _COMPARATOR
        if text == "in" and previous is not None and previous.text == "not":
            return None
        if text == "is":
            return _COMPARATOR
        if text == "in":
            return _COMPARATOR
        return None
    if kind == tokenize.STRING and previous is not None and previous.kind == tokenize.STRING:
        return _STRING
    if kind != tokenize.OP:
        return None
    if text == ",":
        return _COMMA
    if text == "." and previous is not None and previous.text in _CLOSING:
        return _DOT  # a method chain: ``.map(...)`` / ``.batch(...)`` each on a line
    if text in _COMPARATORS:
        return _COMPARATOR
    unary = (
        previous is None
        or previous.text in _OPENING
        or previous.text in (",", "=", ":", "return", "lambda")
        or (previous.kind == tokenize.OP and previous.text not in _CLOSING)
        or (
            previous.kind == tokenize.NAME
            and keyword.iskeyword(previous.text)
            and previous.text not in ("None", "True", "False")
        )
    )
    if text in _MATH and not unary:
        return _MATH[text]
    return None
