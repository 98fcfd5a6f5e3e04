"""The pure rules of search (service/wire/search.py) and the `search` request's fields: what a
query's words are, and the FTS5 expression made of them, which carries no syntax of its own
(checked against a real FTS5 table with the server's tokenizer)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.wire import requests as m
from service.wire.errors import RequestError
from service.wire.search import (
    FTS5_TOKENIZER,
    fts5_any_of,
    fts5_match,
    fts5_prefix_range,
    fts5_string,
    words,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("lab sched", ["lab", "sched"]),
        ("  Lab,schedule!moved  ", ["Lab", "schedule", "moved"]),
        ("snake_case-word", ["snake", "case", "word"]),
        ("café cafe\u0301", ["café", "cafe\u0301"]),  # a combining mark stays in its word
        ("\u0301x", ["x"]),  # ... but starts none
        ("r2d2 42 ①", ["r2d2", "42", "①"]),
        ("日本語テキスト", ["日本語テキスト"]),
        ('AND "NEAR" col: * - ^x', ["AND", "NEAR", "col", "x"]),
        ("!!! ... ___", []),
        ("", []),
    ],
)
def test_words_are_runs_of_letters_and_digits(text: str, expected: list[str]) -> None:
    assert words(text) == expected


def test_the_match_expression_quotes_every_word_the_last_a_prefix() -> None:
    assert fts5_string('a"b') == '"a""b"'
    assert fts5_match(["lab", "sched"], "text") == '{text} : ("lab" AND "sched"*)'
    assert fts5_any_of([3, 17], "room_id") == '{room_id} : ("3" OR "17")'
    listed = fts5_match(["lab", "sched"], "text", ["sched", "schedule"])
    assert listed == '{text} : ("lab" AND ("sched" OR "schedule"))'


def test_the_last_word_s_longer_terms_are_listed_only_for_ascii_words_of_three_or_more() -> None:
    assert fts5_prefix_range("Sched") == ("sched\x01", "schee")
    assert fts5_prefix_range("r2d2") == ("r2d2\x01", "r2d3")
    assert fts5_prefix_range("ab") is None  # FTS5's prefix index of 2 answers it
    assert fts5_prefix_range("café") is None  # the tokenizer's folding, not ours


_ASCII_WORD = st.text("abcdeABCDE019", min_size=1, max_size=6)


@given(st.lists(st.lists(_ASCII_WORD, min_size=1, max_size=5), max_size=12), _ASCII_WORD)
def test_the_listed_terms_find_what_the_prefix_query_finds(
    texts: list[list[str]], last: str
) -> None:
    """The fast path (the longer terms read from the index's vocabulary, then named one by
    one) against the reference (FTS5's own prefix query): the same rows, for any index."""
    db = sqlite3.connect(":memory:")
    db.execute(
        f"CREATE VIRTUAL TABLE f USING fts5(text, room_id, prefix='1 2', detail=column, "
        f'columnsize=0, tokenize="{FTS5_TOKENIZER}")'
    )
    db.execute("CREATE VIRTUAL TABLE f_terms USING fts5vocab(f, row)")
    rows = [(n, " ".join(text), 1) for n, text in enumerate(texts, start=1)]
    db.executemany("INSERT INTO f (rowid, text, room_id) VALUES (?, ?, ?)", rows)
    reference = fts5_match([last], "text")
    listed = None
    if (bounds := fts5_prefix_range(last)) is not None:
        longer = [t for (t,) in db.execute(
            "SELECT term FROM f_terms WHERE term >= ? AND term < ?", bounds)]  # fmt: skip
        listed = fts5_match([last], "text", [last.lower(), *longer])
    for match in (reference, listed or reference):
        found = [
            r for (r,) in db.execute("SELECT rowid FROM f WHERE f MATCH ? ORDER BY rowid", [match])
        ]
        expected = [n for n, text in enumerate(texts, start=1)
                    if any(w.lower().startswith(last.lower()) for w in text)]  # fmt: skip
        assert found == expected, (match, texts)
    db.close()


@pytest.fixture(scope="module")
def fts() -> Iterator[sqlite3.Connection]:
    """An FTS5 table as migration 0007 makes it: rows 1 to 4, room 1 but row 4 in room 2."""
    db = sqlite3.connect(":memory:")
    db.execute(f'CREATE VIRTUAL TABLE f USING fts5(text, room_id, tokenize="{FTS5_TOKENIZER}")')
    rows = [
        (1, "Lab schedule moved", 1),
        (2, "AND OR NOT NEAR col text", 1),
        (3, "Café crème", 1),
        (4, "hidden secret in another room", 2),
    ]
    db.executemany("INSERT INTO f (rowid, text, room_id) VALUES (?, ?, ?)", rows)
    yield db
    db.close()


def _found(db: sqlite3.Connection, query: str, rooms: list[int]) -> list[int]:
    match = f"{fts5_match(words(query), 'text')} AND {fts5_any_of(rooms, 'room_id')}"
    return [r for (r,) in db.execute("SELECT rowid FROM f WHERE f MATCH ? ORDER BY rowid", [match])]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("lab sched", [1]),
        ("sched lab", []),
        ("CAFE creme", [3]),
        ("and near", [2]),
        ("NOT", [2]),
        ("col: text", [2]),
        ("NEAR(and or)", [2]),
        ("text: hidden", []),
        ("hidden OR lab", []),
        ("room_id: 2 secret", []),
        ('"secret" OR "lab"', []),
    ],
)
def test_a_query_is_only_words_in_the_callers_rooms(
    fts: sqlite3.Connection, query: str, expected: list[int]
) -> None:
    assert _found(fts, query, [1]) == expected


@given(st.text(min_size=1, max_size=200))
def test_any_query_with_words_is_a_valid_expression_confined_to_the_rooms(query: str) -> None:
    """Whatever the caller types, the expression parses and never reaches room 2."""
    query_words = words(query)
    if not query_words:
        return
    db = sqlite3.connect(":memory:")
    db.execute(f'CREATE VIRTUAL TABLE f USING fts5(text, room_id, tokenize="{FTS5_TOKENIZER}")')
    db.execute("INSERT INTO f (rowid, text, room_id) VALUES (1, ?, 2)", [query])
    assert _found(db, query, [1]) == []
    db.close()


def test_the_request_checks_its_fields() -> None:
    ok = m.parse_fields(m.Search, {"query": "x", "limit": 50, "with": "bob"})
    assert ok == m.Search("x", 50, None, "bob")
    for frame in (
        {},
        {"query": ""},
        {"query": "x" * 201},
        {"query": "x", "limit": 0},
        {"query": "x", "limit": 51},
        {"query": "x", "room": "#a", "with": "bob"},
        {"query": "x", "with": 3},
    ):
        with pytest.raises(RequestError):
            m.parse_fields(m.Search, frame)
    assert m.parse_fields(m.Search, {"query": "é" * 200}) == m.Search("é" * 200)
