"""The statements of search, one set per dialect, over migration 0007's indexes.

SQLite: one FTS5 query per kind. The caller's rooms (or its user id, for direct messages) are
part of the MATCH expression, since they are indexed columns of the FTS table, so FTS5 itself
intersects the words with the scope, walks the hits newest rowid first (rowids follow commit
order) and stops at the limit: no sort, and a word frequent elsewhere costs nothing here
(tests/integration/test_search_plan.py holds the plan). The FTS table is the outer loop
(CROSS JOIN), each hit read from its table by rowid.

PostgreSQL: the GIN index on `parley_search_vector(text)` with a tsquery built in SQL from the
words as bound parameters (each folded by `parley_search_fold`, quoted by `quote_literal`, the
last one a prefix `:*`), so nothing in a word is tsquery syntax.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple, Protocol

from sqlalchemy import DateTime, TextualSelect, bindparam, text
from sqlalchemy.orm import Session

from service.wire.search import fts5_any_of, fts5_match, fts5_prefix_range


def _statement(sql: str) -> TextualSelect:
    """`sql` with its `sent_at` read as a datetime (SQLite keeps it as text)."""
    return text(sql).columns(sent_at=DateTime)


class RoomRow(NamedTuple):
    room_id: int
    seq: int
    sender: str
    text: str
    sent_at: datetime


class DmRow(NamedTuple):
    msg_id: int
    sender_id: int | None
    sender: str
    recipient: str
    text: str
    sent_at: datetime


class SearchStatements(Protocol):
    def rooms(
        self, s: Session, room_ids: Sequence[int], words: Sequence[str], limit: int
    ) -> list[RoomRow]: ...

    def dms(
        self, s: Session, uid: int, partner: str | None, words: Sequence[str], limit: int
    ) -> list[DmRow]: ...


# Only in the conversation with `partner` (by name, as `dm_history` names it): the other side
# of each message of the caller's record.
_PARTNER = "(CASE WHEN m.sender_id = :uid THEN m.recipient ELSE m.sender END) = :partner"

_SQLITE_ROOMS = _statement(
    "SELECT m.room_id, m.seq, m.sender, m.text, m.sent_at "
    "FROM room_messages_fts CROSS JOIN room_messages AS m ON m.rowid = room_messages_fts.rowid "
    "WHERE room_messages_fts MATCH :match "
    "ORDER BY room_messages_fts.rowid DESC LIMIT :limit"
)
_SQLITE_DMS = (
    "SELECT m.id, m.sender_id, m.sender, m.recipient, m.text, m.sent_at "
    "FROM messages_fts CROSS JOIN messages AS m ON m.id = messages_fts.rowid "
    "WHERE messages_fts MATCH :match {partner}"
    "ORDER BY messages_fts.rowid DESC LIMIT :limit"
)
_SQLITE_DMS_ALL = _statement(_SQLITE_DMS.format(partner=""))
_SQLITE_DMS_WITH = _statement(_SQLITE_DMS.format(partner=f"AND {_PARTNER} "))


# The last word's longer terms, listed from the index itself (migration 0011's fts5vocab
# tables say why): a prefix query (`"sched"*`) makes FTS5 gather every posting of every term
# that begins with the word before the LIMIT applies; the same terms named one by one are read
# newest first and stop at the limit. Listing them is not free: fts5vocab counts each listed
# term's postings, so a frequent longer word costs about what the prefix query would have
# (the word itself is never listed, and is the usual frequent one). Past _MAX_LISTED_TERMS
# terms the prefix query runs, after a listing of at most that many.
_MAX_LISTED_TERMS = 32
_LONGER_TERMS = "SELECT term FROM {fts}_terms WHERE term >= :low AND term < :high LIMIT :n"


def _last_terms(s: Session, fts: str, words: Sequence[str]) -> list[str] | None:
    """Every indexed term of FTS table `fts` that begins with the last word (the word itself
    first, whether indexed or not), or None: ask with the prefix query (fts5_prefix_range)."""
    last = words[-1]
    if (found := fts5_prefix_range(last)) is None:
        return None
    low, high = found
    query = text(_LONGER_TERMS.format(fts=fts))
    longer = s.scalars(query, {"low": low, "high": high, "n": _MAX_LISTED_TERMS}).all()
    if len(longer) >= _MAX_LISTED_TERMS:
        return None
    return [last.lower(), *longer]


# The caller's rooms, two ways. Inside the MATCH (an OR of their ids), FTS5 walks the rooms'
# postings beside the words' until the limit: about 2 ms for ten rooms of 4,000 messages,
# however rare the words. After it (the words' hits newest first, each kept if its room is
# one of the caller's), the cost is the hits looked at: few when the words are rare or the
# rooms hold a good share of all messages, all of the words' hits when neither. So the filter
# after runs where the rooms' share says about `limit / share` hits will do, within
# _HITS_LOOKED_AT; if that many were looked at without filling the page, the MATCH finishes.
_HITS_LOOKED_AT = 1_000
# Newest first without an ORDER BY outside: the outer query scans the co-routine in the order
# it yields (FTS5's rowids, descending), as tests/integration/test_search_index.py holds (the
# plan, and the hits it returns); an ORDER BY there would sort all 1,000 before the first.
_SQLITE_ROOM_HITS = text(
    "WITH hit AS (SELECT m.rowid AS id, m.room_id FROM room_messages_fts "
    "CROSS JOIN room_messages AS m ON m.rowid = room_messages_fts.rowid "
    "WHERE room_messages_fts MATCH :match "
    "ORDER BY room_messages_fts.rowid DESC LIMIT :looked_at) "
    "SELECT id FROM hit WHERE room_id IN (SELECT value FROM json_each(:rooms)) LIMIT :limit"
)
_SQLITE_HITS_COUNTED = text(
    "SELECT count(*) FROM (SELECT rowid FROM room_messages_fts "
    "WHERE room_messages_fts MATCH :match LIMIT :looked_at)"
)
_SQLITE_ROOM_ROWS = _statement(
    "SELECT room_id, seq, sender, text, sent_at FROM room_messages WHERE rowid IN :rowids "
    "ORDER BY rowid DESC"
).bindparams(bindparam("rowids", expanding=True))
_ROOMS_SHARE = text(
    "SELECT (SELECT total(last_seq) FROM rooms WHERE id IN (SELECT value FROM json_each(:rooms))), "
    "(SELECT max(rowid) FROM room_messages)"
)


def _rooms_share(s: Session, room_ids: Sequence[int]) -> float:
    """About what share of all room messages `room_ids` hold (messages of deleted rooms count
    in the whole, so it errs low: toward the MATCH, which is never slow by much)."""
    said, whole = s.execute(_ROOMS_SHARE, {"rooms": json.dumps(list(room_ids))}).one()
    return float(said) / whole if whole else 1.0


class SqliteSearch:
    def rooms(
        self, s: Session, room_ids: Sequence[int], words: Sequence[str], limit: int
    ) -> list[RoomRow]:
        said = fts5_match(words, "text", _last_terms(s, "room_messages_fts", words))
        if limit <= _rooms_share(s, room_ids) * _HITS_LOOKED_AT:
            found = self._rooms_after(s, room_ids, said, limit)
            if found is not None:
                return found
        match = f"{said} AND {fts5_any_of(room_ids, 'room_id')}"
        rows = s.execute(_SQLITE_ROOMS, {"match": match, "limit": limit})
        return [RoomRow(*row) for row in rows]

    @staticmethod
    def _rooms_after(
        s: Session, rooms: Sequence[int], said: str, limit: int
    ) -> list[RoomRow] | None:
        """The words' newest hits in `rooms`, filtered after FTS5; None when _HITS_LOOKED_AT
        hits gave fewer than `limit` and more may be older. The filter runs in SQL: each row
        a statement hands back costs a release of the GIL, and the server's reader threads
        take it from one another at each one."""
        params = {"match": said, "rooms": json.dumps(list(rooms)), "limit": limit,
                  "looked_at": _HITS_LOOKED_AT}  # fmt: skip
        kept = list(s.scalars(_SQLITE_ROOM_HITS, params))
        if len(kept) < limit and s.scalar(_SQLITE_HITS_COUNTED, params) == _HITS_LOOKED_AT:
            return None
        if not kept:
            return []
        return [RoomRow(*row) for row in s.execute(_SQLITE_ROOM_ROWS, {"rowids": kept})]

    def dms(
        self, s: Session, uid: int, partner: str | None, words: Sequence[str], limit: int
    ) -> list[DmRow]:
        mine = fts5_any_of([uid], "sender_id recipient_id")  # sent or received
        said = fts5_match(words, "text", _last_terms(s, "messages_fts", words))
        params = {"match": f"{said} AND {mine}", "limit": limit, "uid": uid}
        if partner is None:
            return [DmRow(*row) for row in s.execute(_SQLITE_DMS_ALL, params)]
        rows = s.execute(_SQLITE_DMS_WITH, {**params, "partner": partner})
        return [DmRow(*row) for row in rows]


# The words as one tsquery: every word, folded as the index folds text, the last a prefix.
_TSQUERY = (
    "(SELECT to_tsquery('simple', string_agg(quote_literal(parley_search_fold(w.word)) "
    "|| CASE WHEN w.n = cardinality(CAST(:words AS text[])) THEN ':*' ELSE '' END, ' & ')) "
    "FROM unnest(CAST(:words AS text[])) WITH ORDINALITY AS w(word, n))"
)
_POSTGRES_ROOMS = _statement(
    "SELECT m.room_id, m.seq, m.sender, m.text, m.sent_at FROM room_messages AS m "
    f"WHERE m.room_id = ANY(:rooms) AND parley_search_vector(m.text) @@ {_TSQUERY} "
    "ORDER BY m.sent_at DESC, m.room_id DESC, m.seq DESC LIMIT :limit"
)
_POSTGRES_DMS = (
    "SELECT m.id, m.sender_id, m.sender, m.recipient, m.text, m.sent_at FROM messages AS m "
    "WHERE (m.sender_id = :uid OR m.recipient_id = :uid) {partner}"
    f"AND parley_search_vector(m.text) @@ {_TSQUERY} "
    "ORDER BY m.id DESC LIMIT :limit"
)
_POSTGRES_DMS_ALL = _statement(_POSTGRES_DMS.format(partner=""))
_POSTGRES_DMS_WITH = _statement(_POSTGRES_DMS.format(partner=f"AND {_PARTNER} "))


class PostgresSearch:
    def rooms(
        self, s: Session, room_ids: Sequence[int], words: Sequence[str], limit: int
    ) -> list[RoomRow]:
        params = {"rooms": list(room_ids), "words": list(words), "limit": limit}
        return [RoomRow(*row) for row in s.execute(_POSTGRES_ROOMS, params)]

    def dms(
        self, s: Session, uid: int, partner: str | None, words: Sequence[str], limit: int
    ) -> list[DmRow]:
        params = {"uid": uid, "words": list(words), "limit": limit}
        if partner is None:
            return [DmRow(*row) for row in s.execute(_POSTGRES_DMS_ALL, params)]
        rows = s.execute(_POSTGRES_DMS_WITH, {**params, "partner": partner})
        return [DmRow(*row) for row in rows]


def statements_for(s: Session) -> SearchStatements:
    return SqliteSearch() if s.get_bind().dialect.name == "sqlite" else PostgresSearch()
