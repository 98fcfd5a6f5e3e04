"""Lines to rows at the terminal's width, broken between words. Pure.

A `render.Line` is laid out when it is printed, at the width the terminal has then: a long
message or help line breaks at spaces, and its continuation rows start under its text (past
the timestamp, or past a help line's usage column), never mid-word at the terminal's edge.
"""

from __future__ import annotations

import re
import unicodedata

Line = list[tuple[str, str]]  # as in render: (style class, text) fragments

_TOKENS = re.compile(r"\n|[ ]+|[^ \n]+")  # a newline, a run of spaces, or a word
_LEAD_STYLES = frozenset({"time", "usage"})  # a first fragment that continuation rows align to


def cell_width(text: str) -> int:
    """Columns `text` takes in a terminal: wide (East Asian, most emoji) characters take two,
    combining marks none."""
    return sum(
        0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in "WF" else 1
        for ch in text
    )


def _hanging_indent(line: Line, width: int) -> int:
    """Continuation rows start under the text, past a timestamp or a help line's usage."""
    if len(line) < 2 or line[0][0] not in _LEAD_STYLES:
        return 2
    second = line[1][1]
    indent = cell_width(line[0][1]) + len(second) - len(second.lstrip(" "))
    return indent if indent <= width // 2 else 2


def wrap(line: Line, width: int) -> list[Line]:
    """One line as rows of at most `width` columns, broken at spaces (a word longer than a
    row is broken where it must be). A newline in the text starts a new row as it is."""
    if width < 10:  # no room to lay out anything: let the terminal wrap it
        return [line]
    indent = _hanging_indent(line, width)
    rows: list[Line] = [[]]
    col = 0
    for style, text in line:
        for token in _TOKENS.findall(text):
            if token == "\n":
                rows.append([])
                col = 0
                continue
            size = cell_width(token)
            if col + size <= width:
                rows[-1].append((style, token))
                col += size
            elif token.startswith(" "):
                rows.append([("", " " * indent)])  # the break replaces the spaces
                col = indent
            else:
                col = _place_word(rows, style, token, col, width, indent)
    return [_rstrip(row) for row in rows]


def _place_word(rows: list[Line], style: str, word: str, col: int, width: int, indent: int) -> int:
    """Put a word that does not fit on the current row; returns the new column. It starts
    the next row if it fits there whole; one that must be broken anyway (longer than a row,
    or in a script such as Chinese or Japanese, written without spaces and broken between
    any two characters) goes on from where the row has got to, so no row is left empty."""
    must_break = cell_width(word) > width - indent or _has_wide(word)
    if col > indent and (not must_break or cell_width(word[0]) > width - col):  # next row
        _strip_trailing_space(rows[-1])
        rows.append([("", " " * indent)])
        col = indent
    while cell_width(word) > width - col:  # still too long: break it where the row ends
        cut = _fit(word, width - col)
        rows[-1].append((style, word[:cut]))
        rows.append([("", " " * indent)])
        word, col = word[cut:], indent
    rows[-1].append((style, word))
    return col + cell_width(word)


def _has_wide(word: str) -> bool:
    return any(unicodedata.east_asian_width(ch) in "WF" for ch in word)


def _fit(word: str, columns: int) -> int:
    """How many characters of `word` fit in `columns` (at least one, so wrapping ends)."""
    used = 0
    for index, ch in enumerate(word):
        used += cell_width(ch)
        if used > columns:
            return max(index, 1)
    return len(word)


def _strip_trailing_space(row: Line) -> None:
    while row and not row[-1][1].strip(" "):
        row.pop()


def _rstrip(row: Line) -> Line:
    _strip_trailing_space(row)
    return row
