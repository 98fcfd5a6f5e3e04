"""Laying lines out at the terminal's width: breaks between words, rows under the text."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from cli.client import commands as c
from cli.client import layout
from cli.client import render as r

NOW = datetime(2026, 11, 24, 23, 30, tzinfo=UTC)


def rows(line: r.Line, width: int) -> list[str]:
    return [r.to_plain(row) for row in layout.wrap(line, width)]


def test_wrap_breaks_at_spaces_under_the_text() -> None:
    line = r.message_event({"from": "bob", "text": "one two three four five six"}, NOW)
    assert rows(line, 20) == ["23:30 bob: one two", "      three four", "      five six"]
    assert rows(line, 200) == ["23:30 bob: one two three four five six"]


def test_wrap_breaks_a_word_longer_than_a_row_and_keeps_newlines() -> None:
    assert rows([("", "x" * 25)], 10) == ["x" * 10, "  " + "x" * 8, "  " + "x" * 7]
    line = r.message_event({"from": "bob", "text": "first line\nsecond"}, NOW)
    assert rows(line, 80) == ["23:30 bob: first line", "    second"]


def test_wrap_counts_wide_characters_as_two_columns() -> None:
    # Chinese and Japanese break between any two characters, as their typesetting does.
    assert rows([("", "日本語 日本語")], 12) == ["日本語 日本", "  語"]


def test_a_word_that_must_be_broken_starts_on_the_first_row() -> None:
    """Issue 17: a long word or CJK text after the name left the first row empty of text."""
    long_word = r.message_event({"from": "bob", "text": "x" * 30}, NOW)
    assert rows(long_word, 20) == ["23:30 bob: " + "x" * 9, "      " + "x" * 14, "      xxxxxxx"]
    cjk = r.message_event({"from": "bob", "text": "日本語の文章はスペースがない"}, NOW)
    assert rows(cjk, 24) == ["23:30 bob: 日本語の文章", "      はスペースがない"]
    fits_next_row = r.message_event({"from": "bob", "text": "x" * 12}, NOW)
    assert rows(fits_next_row, 20) == ["23:30 bob:", "      " + "x" * 12]


def test_help_wraps_under_its_column() -> None:
    width = max(len(usage) for usage, _ in c.help_lines()) + 2
    for line in r.help_text()[:-1]:
        for row in rows(line, 50)[1:]:
            assert row[:width] == " " * width and row[width] != " "


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=300), st.integers(10, 120))
def test_wrap_never_exceeds_the_width_nor_loses_a_word(text: str, width: int) -> None:
    line = r.message_event({"from": "bob", "text": text}, NOW)
    wrapped = rows(line, width)
    assert all(layout.cell_width(row) <= width for row in wrapped)
    assert "".join("".join(wrapped).split()) == "".join(r.to_plain(line).split())
