"""The corpus of the `search` workload: MESSAGES messages in rooms and between users, with
words drawn from a Zipf distribution, written in bulk before the server starts.

Words are made-up syllable words (`kasemo`, `tivu`...) from a vocabulary of VOCABULARY, the
r-th most frequent drawn with a weight 1/r (Zipf, s = 1), 4 to 16 per message: as in real
text, a few words are in a large share of the messages and most are rare. The queries are
picked by their expected document frequency: a frequent word in about 10% of the messages
(100,000 of a million), a rare one in about 20. Times rise with the rows, over a year.

Rows go straight into the tables with plain SQL (the server's store API is free to change;
only the writer's merge step is borrowed from it): on SQLite a statement per
SERVER_COMMIT_ROWS rows, each followed by that step of the full-text indexes
(service/store/index_merges.py), or COPY on PostgreSQL. The search
indexes are kept by the database's own triggers (SQLite) or index (PostgreSQL) as the rows go
in, and so have the shape a server's writer leaves.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import create_engine, make_url

from service.store.index_merges import DM_INDEX, ROOM_INDEX, IndexMerges

VOCABULARY = 20_000  # distinct words
WORDS_PER_MESSAGE = (4, 16)  # inclusive
ROOMS = 200
ROOMS_PER_USER = 10
CONTACTS_PER_USER = 20  # the users each one exchanges direct messages with
DM_SHARE = 0.2  # of the messages, direct ones; the rest are said in rooms
SPAN = timedelta(days=365)  # from the oldest message to the newest
SERVER_COMMIT_ROWS = 40  # SQLite: rows a busy server stores in one commit (`dm`: 40-50)
_SYLLABLES = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]


def user_name(n: int) -> str:
    return f"u{n}"


def room_name(n: int) -> str:
    return f"#r{n}"


def rooms_of(user: int) -> list[int]:
    """The rooms `user` is a member of: ROOMS_PER_USER distinct ones, spread over all."""
    return [(user * 7 + k * (ROOMS // ROOMS_PER_USER)) % ROOMS for k in range(ROOMS_PER_USER)]


def contacts_of(user: int, users: int) -> list[int]:
    """The users `user` writes to (never itself)."""
    return [(user + 1 + k * 37) % users for k in range(CONTACTS_PER_USER)]


@dataclass(frozen=True, slots=True)
class Corpus:
    """What the queries need to know about the corpus built."""

    frequent: str  # a word in about 10% of the messages
    rare: str  # a word in about 20 of them
    prefix: str  # the first 4 letters of a word in about 1%
    middle: str  # a word in about 1% (for a two-word query)


def vocabulary(rng: random.Random) -> list[str]:
    words: dict[str, None] = {}
    while len(words) < VOCABULARY:
        words["".join(rng.choices(_SYLLABLES, k=rng.randint(2, 4)))] = None
    return list(words)


def _expected_df(rank: int, weights_sum: float, messages: int) -> float:
    """Messages expected to hold the word of this rank (0: the most frequent)."""
    p = 1.0 / (rank + 1) / weights_sum
    mean_words = sum(WORDS_PER_MESSAGE) / 2
    return messages * (1.0 - float((1.0 - p) ** mean_words))


def _rank_near(df: float, weights_sum: float, messages: int) -> int:
    return min(range(VOCABULARY), key=lambda r: abs(_expected_df(r, weights_sum, messages) - df))


def build(url: str, users: int, messages: int, seed: int = 1) -> Corpus:
    """Rooms, memberships, MESSAGES messages; the accounts u0..u{users-1} exist already."""
    rng = random.Random(seed)
    vocab = vocabulary(rng)
    weights_sum = sum(1.0 / r for r in range(1, VOCABULARY + 1))
    cum = list(itertools.accumulate(1.0 / r for r in range(1, VOCABULARY + 1)))
    dms = int(messages * DM_SHARE)
    said = messages - dms
    start = datetime.now(UTC).replace(tzinfo=None) - SPAN

    def texts(count: int) -> Iterator[str]:
        for _ in range(count):
            yield " ".join(rng.choices(vocab, cum_weights=cum, k=rng.randint(*WORDS_PER_MESSAGE)))

    def times(count: int) -> Iterator[datetime]:
        step = SPAN / max(count, 1)
        return (start + step * n for n in range(count))

    sqlite = make_url(url).get_backend_name() == "sqlite"
    writer: _SqliteWriter | _CopyWriter = _SqliteWriter(url) if sqlite else _CopyWriter(url)
    ids = writer.user_ids()
    room_rows = (
        (room, seq, user_name(rng.randrange(users)), text, at)
        for (room, seq), text, at in zip(
            _room_seqs(rng, said), texts(said), times(said), strict=True
        )
    )
    dm_rows = (
        _dm_row(rng, ids, users, text, at) for text, at in zip(texts(dms), times(dms), strict=True)
    )
    writer.rooms(users, start, ids)
    writer.room_messages(room_rows)
    writer.messages(dm_rows)
    writer.close()
    mid = vocab[_rank_near(messages / 100, weights_sum, messages)]
    return Corpus(
        frequent=vocab[_rank_near(messages / 10, weights_sum, messages)],
        rare=vocab[_rank_near(20, weights_sum, messages)],
        prefix=mid[:4],
        middle=mid,
    )


def _room_seqs(rng: random.Random, count: int) -> Iterator[tuple[int, int]]:
    """(room id, seq) of each message in time order: rooms drawn uniformly, seqs counted."""
    seqs = [0] * ROOMS
    for _ in range(count):
        room = rng.randrange(ROOMS)
        seqs[room] += 1
        yield room + 1, seqs[room]


def _dm_row(
    rng: random.Random, ids: dict[str, int], users: int, text: str, at: datetime
) -> tuple[Any, ...]:
    """An acknowledged direct message between a user and one of its contacts, either way."""
    sender = rng.randrange(users)
    recipient = rng.choice(contacts_of(sender, users))
    if rng.random() < 0.5:
        sender, recipient = recipient, sender
    names = user_name(sender), user_name(recipient)
    return (ids[names[0]], ids[names[1]], *names, text, at)


# Each room's last seq, from its messages (by the primary key), once they are in.
_LAST_SEQS = (
    "UPDATE rooms SET last_seq = coalesce("
    "(SELECT max(seq) FROM room_messages WHERE room_id = rooms.id), 0)"
)


_ROOM_COLUMNS = "room_id, seq, sender, text, sent_at"
_DM_COLUMNS = "sender_id, recipient_id, sender, recipient, text, sent_at"
# Every direct message of the corpus was shown: out of the backlog its trigger put it in.
_ALL_SHOWN = "DELETE FROM backlog"


class _SqliteWriter:
    def __init__(self, url: str) -> None:
        import sqlite3

        self._db = sqlite3.connect(make_url(url).database or "", isolation_level=None)
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.execute("BEGIN")
        self._merges = IndexMerges("sqlite")

    def user_ids(self) -> dict[str, int]:
        return {name: uid for uid, name in self._db.execute("SELECT id, name FROM users")}

    def rooms(self, users: int, at: datetime, ids: dict[str, int]) -> None:
        self._db.executemany(
            "INSERT INTO rooms (id, name, created_at, creator, last_seq) VALUES (?, ?, ?, ?, 0)",
            [(n + 1, room_name(n), at, user_name(0)) for n in range(ROOMS)],
        )
        self._db.executemany(
            "INSERT INTO room_members (room_id, user_id, read_seq, joined_at) VALUES (?, ?, 0, ?)",
            [(room + 1, ids[user_name(u)], at) for u in range(users) for room in rooms_of(u)],
        )

    def room_messages(self, rows: Iterator[tuple[Any, ...]]) -> None:
        self._insert("room_messages", _ROOM_COLUMNS, rows, ROOM_INDEX)

    def messages(self, rows: Iterator[tuple[Any, ...]]) -> None:
        self._insert("messages", _DM_COLUMNS, rows, DM_INDEX)

    def _insert(
        self, table: str, columns: str, rows: Iterator[tuple[Any, ...]], index: str
    ) -> None:
        """As a busy server's writer stores them: SERVER_COMMIT_ROWS rows a statement (one
        full-text segment each), then its merge step, so that the index has the shape a
        live server's has."""
        cursor = self._db.cursor()
        group = "(" + ", ".join("?" * (columns.count(",") + 1)) + ")"
        while part := list(itertools.islice(rows, SERVER_COMMIT_ROWS)):
            values = ", ".join([group] * len(part))
            cursor.execute(f"INSERT INTO {table} ({columns}) VALUES {values}",
                           [value for row in part for value in row])  # fmt: skip
            self._merges.added(index, len(part))
            self._merges.step(cursor)

    def close(self) -> None:
        self._db.execute(_LAST_SEQS)
        self._db.execute(_ALL_SHOWN)
        self._db.execute("COMMIT")
        self._db.execute("PRAGMA optimize")
        self._db.close()


class _CopyWriter:
    """PostgreSQL: COPY, one per table, in one transaction."""

    def __init__(self, url: str) -> None:
        self._engine = create_engine(url)
        self._raw = self._engine.raw_connection()
        self._cursor = self._raw.cursor()

    def _copy(self, table: str, columns: str, rows: Iterator[Sequence[Any]]) -> None:
        with self._cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def user_ids(self) -> dict[str, int]:
        self._cursor.execute("SELECT id, name FROM users")
        return {name: uid for uid, name in self._cursor.fetchall()}

    def rooms(self, users: int, at: datetime, ids: dict[str, int]) -> None:
        rows = ((n + 1, room_name(n), at, user_name(0), 0) for n in range(ROOMS))
        self._copy("rooms", "id, name, created_at, creator, last_seq", rows)
        members = (
            (room + 1, ids[user_name(u)], 0, at) for u in range(users) for room in rooms_of(u)
        )
        self._copy("room_members", "room_id, user_id, read_seq, joined_at", members)

    def room_messages(self, rows: Iterator[tuple[Any, ...]]) -> None:
        self._copy("room_messages", _ROOM_COLUMNS, rows)

    def messages(self, rows: Iterator[tuple[Any, ...]]) -> None:
        self._copy("messages", _DM_COLUMNS, rows)

    def close(self) -> None:
        self._cursor.execute(_LAST_SEQS)
        self._cursor.execute(_ALL_SHOWN)
        self._cursor.execute("SELECT setval('rooms_id_seq', (SELECT max(id) FROM rooms))")
        self._raw.commit()
        self._raw.close()
        self._engine.dispose()
