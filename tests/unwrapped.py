"""Generated text with black's line wrapping undone, so a test can look for a statement in it.

k2t wraps its long generated lines as black does (k2t/line_length.py). A test that looks for a
generated statement compares ``unwrapped(expected) in unwrapped(output)``, where ``unwrapped``
undoes exactly what that wrapping adds:

- inside brackets, a line break and the indentation after it become one space (none after an
  opening bracket, before a closing one, or before the ``.`` of a method chain);
- the trailing comma black adds before a closing bracket on its own line goes;
- the parentheses black adds around a split expression after ``=``, ``return``, ``if`` ... go
  (an opening one at the end of its line whose closing one is alone on its line, holding no
  comma).

Nothing else changes: every name, argument and its order, every comment, and every line break
outside brackets still has to match. A comment black's pass moved above its statement is not
moved back: a test expects it where it now stands.
"""

from __future__ import annotations

from dataclasses import dataclass

_OPENING = "([{"
_CLOSING = ")]}"
# What black puts parentheses after when it splits the expression that follows.
_PARENTHESISED_AFTER = ("=", "return", "if", "elif", "while", "assert", "in")


@dataclass
class _Bracket:
    chunk: int  # where the opening bracket stands in the output chunks
    added_by_black: bool  # a parenthesis black may have added (see the module docstring)
    holds_comma: bool = False


def unwrapped(text: str) -> str:
    """``text`` with its line breaks inside brackets joined as black would have them on one line."""
    out: list[str] = []  # chunks: single characters, string literals, comments
    brackets: list[_Bracket] = []
    index = 0
    closing_starts_line = False
    while index < len(text):
        char = text[index]
        if char in "\"'":
            end = _string_end(text, index)
            out.append(text[index:end])
            index = end
        elif char == "#":
            end = text.find("\n", index)
            end = len(text) if end < 0 else end + 1  # a comment keeps its own line break
            out.append(text[index:end])
            index = end
        elif char in "\r\n" and brackets:
            index, closing_starts_line = _join(text, index, out)
            continue
        elif char in _OPENING:
            ends_line = text[index + 1 : index + 2] in ("\n", "\r")
            brackets.append(_Bracket(len(out), char == "(" and ends_line and _after_keyword(out)))
            out.append(char)
            index += 1
        elif char in _CLOSING and brackets:
            bracket = brackets.pop()
            around_a_split = bracket.added_by_black and closing_starts_line and not bracket.holds_comma
            if around_a_split and _ends_line(text, index + 1):
                out[bracket.chunk] = ""
            else:
                out.append(char)
            index += 1
        else:
            if char == "," and brackets:
                brackets[-1].holds_comma = True
            out.append(char)
            index += 1
        closing_starts_line = False
    return "".join(out)


def _join(text: str, index: int, out: list[str]) -> tuple[int, bool]:
    """Joins the line break at ``index`` (inside brackets) to the next line.

    Returns the index after it, and whether the next line starts with a closing bracket.
    """
    following = index
    while following < len(text) and text[following] in " \t\r\n":
        following += 1
    next_char = text[following : following + 1]
    closing = next_char != "" and next_char in _CLOSING
    while out and out[-1] in (" ", "\t"):
        out.pop()
    if closing and out and out[-1] == ",":
        out.pop()  # black's magic trailing comma
    after_opening = bool(out) and out[-1] != "" and out[-1][-1] in _OPENING
    if not (closing or after_opening or next_char in ("", ".")):
        out.append(" ")
    return following, closing


def _ends_line(text: str, index: int) -> bool:
    """Whether only blanks or a comment follow ``index`` on its line: ``(a).b`` keeps its parentheses."""
    rest = text[index:].split("\n", 1)[0].strip()
    return rest == "" or rest.startswith("#")


def _after_keyword(out: list[str]) -> bool:
    """Whether the text so far ends with `` = ``, ``return `` ... where black adds parentheses."""
    tail = "".join(out[-8:])
    if not tail.endswith(" "):
        return False
    words = tail.split()
    if not words:
        return False
    last = words[-1]
    if last.endswith("=") and last[:-1] in ("", "+", "-", "*", "/", "|", "&", "//", "%", "**"):
        return True
    return last in _PARENTHESISED_AFTER


def _string_end(text: str, start: int) -> int:
    """The index just past the string literal opening at ``start`` (its end of text if unclosed)."""
    quote = text[start] * 3 if text.startswith(text[start] * 3, start) else text[start]
    index = start + len(quote)
    while index < len(text):
        if text[index] == "\\":
            index += 2
            continue
        if text.startswith(quote, index):
            return index + len(quote)
        if len(quote) == 1 and text[index] == "\n":
            return index  # not a string after all (an apostrophe in prose): stop at its line
        index += 1
    return len(text)


def prose(text: str) -> str:
    """``text``'s words one space apart: a docstring's sentence found however the pass wrapped it."""
    return " ".join(text.split())
