"""search: full-text indexes over room and direct messages, kept by the database (feature `search`)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 22:45:00.000000

chat/1 "Search": every word of a query, as a word of the text, ignoring case and diacritics,
the last one also as a prefix. The index is the database's, kept by the database on the very
statement that stores, deletes or changes a message, so the writer does no Python work per
message for it and a message `ok`'d is found at once.

SQLite: an FTS5 external-content table over `room_messages` (the text is not stored twice),
with the room id as a second indexed column: a search of the caller's rooms is one FTS5 query,
`{text} : (...) AND {room_id} : ("3" OR "17")`, walked newest rowid first and cut at the limit,
so a word found in 100,000 messages of other rooms is never read row by row. The tokenizer
(service/wire/search.py FTS5_TOKENIZER) makes words of letters and digits only, folds case and
diacritics. Prefix indexes of 1 and 2 characters: FTS5 reads a prefix query by merging the
postings of every word that starts so, all of them before the first hit; for `g*` that was a
third of the index (290 ms over a million messages), with the index it is one list read lazily
(0.4 ms). Longer prefixes match fewer words (over a million messages, on a machine busy with
other work: `gam*` 18 ms, a word in 10% of them as a prefix 12 ms). The price, in CPU per
message of 3 to 12 words (SQLite file, 50 per commit): 11-14 µs for the index without prefixes,
16-22 µs with these two, 25-29 µs with three. Triggers: insert, delete (a room's deletion
cascades to its messages, and so to the index), update of the text. The index follows
`room_messages`' rowid: a later migration that rebuilds that table (batch mode) drops these
triggers and renumbers rowids, so it must recreate them and run `INSERT INTO
room_messages_fts(room_messages_fts) VALUES ('rebuild')`. Direct messages (kept after `ack`
since 0006) get the same over `messages` (rowid = `id`, the msg_id), with `sender_id` and
`recipient_id` as indexed columns, so the caller's record is `{sender_id recipient_id} : "42"`;
their update trigger fires when an account's deletion sets its id to NULL (ON DELETE SET NULL
runs update triggers) and when the text changes, never on an `ack` (it sets only `acked`), so
the hot path's ack pays nothing.

PostgreSQL: an expression GIN index on `parley_search_vector(text)` of each table:
`to_tsvector('simple')` (lower case, no stemming, no stop words) of the text with diacritics
removed by `unaccent` (a contrib extension shipped with Debian's postgresql-15, trusted, so the
database's owner may create it) and the punctuation that joins words into one token of the
parser (`.@/:\\_-~<>&`: e-mails, hosts, paths, URLs, `snake_case`, tags) turned into spaces, so
that words are runs of letters and digits as on SQLite. Words over 2,047 characters are not
indexed (PostgreSQL's limit). `unaccent()` is only STABLE (it looks its dictionary up by name),
hence the IMMUTABLE wrapper naming the dictionary with its schema. No column, no trigger: the
index is kept by PostgreSQL itself; it costs about 40-70 µs per short message written (measured in
SQL, 6,000 rows), 1.7 ms for 4,000 characters of prose (to_tsvector's own parsing).
Existing rows are indexed here (backfill) on both databases.

What the direct messages' index costs the `dm` hot path, and what was cut (issue 19), measured
with a throwaway script (/tmp/micro/lean.py, issue 19 task E): the 0006 schema
as kept (one conversation index, insert-only summary) plus `messages_fts` in variants, SQLite
3.40 file, WAL, synchronous=FULL, batches of 20 messages of 4 words (a 5,000-word vocabulary),
50 users, random pairs, insert + ack per commit; median of 3 runs of 50,000 messages, CPU
(process_time) per message, on a machine with a load of about 3 from other work (runs varied
by +-10 us, so differences under ~10 us are noise):
    no FTS table                                    48 us
    detail=full (the default), prefix='1 2'        118 us   (as first written)
    + columnsize=0                                 124 us
    detail=column, columnsize=0, prefix='1 2'      115 us   (kept)
    detail=column, columnsize=0, prefix='1'        100 us
    detail=column, columnsize=0, no prefix         107 us
    (one run each) the id columns left out          -10 us, automerge 8 or 16: no gain
So the FTS5 write is mostly per token and per commit's new segment; positions and `_docsize`
are a few µs. `detail=column` keeps column filters (`{text} :`, `{sender_id recipient_id} :`)
and prefix queries; it refuses phrases, which a search never makes (service/wire/search.py cuts
a query's words as the tokenizer does, so a quoted word is one token; every search test runs on
it). `columnsize=0`: nothing ranks by length (hits come newest rowid first). The id columns stay
the scope: about 10 us a message, and the alternative (a filter on `messages` after the MATCH)
reads every hit of a frequent word row by row. The prefix indexes stay too: under 10 us here,
against 290 ms -> 0.4 ms for `g*` over a million messages (above). The same options are used
for `room_messages_fts`, for the same reasons.

Later (issue 19, migration 0010): the writer then stored a batch with `executemany`, and FTS5
writes what a statement indexed as a new segment when the statement ends, so the server wrote a
segment per message; most of what the index cost the `dm` workload was that. The writer now
stores a batch in one statement (RowsInsert in service/store/driver_statement.py): a segment per
batch. Migration 0010's docstring says what is left.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Same as service/wire/search.py FTS5_TOKENIZER (a migration does not import the code it
# outlives): letters, digits and combining marks make words; case and diacritics folded.
_TOKENIZER = "unicode61 remove_diacritics 2 categories 'L* N* Mn'"
# No positions (a search asks words and columns, never phrases nor NEAR: each query word is
# cut as the tokenizer cuts, so it is one token) and no `_docsize` row per message (nothing
# ranks by length: hits come newest rowid first). Measured in the docstring above.
_LEAN = "detail=column, columnsize=0"

_SQLITE_UP = [
    f"""CREATE VIRTUAL TABLE room_messages_fts USING fts5(
        text, room_id, content='room_messages', prefix='1 2', {_LEAN},
        tokenize="{_TOKENIZER}")""",
    """CREATE TRIGGER room_messages_fts_insert AFTER INSERT ON room_messages BEGIN
        INSERT INTO room_messages_fts (rowid, text, room_id)
        VALUES (NEW.rowid, NEW.text, NEW.room_id);
    END""",
    """CREATE TRIGGER room_messages_fts_delete AFTER DELETE ON room_messages BEGIN
        INSERT INTO room_messages_fts (room_messages_fts, rowid, text, room_id)
        VALUES ('delete', OLD.rowid, OLD.text, OLD.room_id);
    END""",
    """CREATE TRIGGER room_messages_fts_update AFTER UPDATE OF text, room_id ON room_messages
    BEGIN
        INSERT INTO room_messages_fts (room_messages_fts, rowid, text, room_id)
        VALUES ('delete', OLD.rowid, OLD.text, OLD.room_id);
        INSERT INTO room_messages_fts (rowid, text, room_id)
        VALUES (NEW.rowid, NEW.text, NEW.room_id);
    END""",
    "INSERT INTO room_messages_fts (room_messages_fts) VALUES ('rebuild')",
    f"""CREATE VIRTUAL TABLE messages_fts USING fts5(
        text, sender_id, recipient_id, content='messages', content_rowid='id', prefix='1 2',
        {_LEAN}, tokenize="{_TOKENIZER}")""",
    """CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
        INSERT INTO messages_fts (rowid, text, sender_id, recipient_id)
        VALUES (NEW.id, NEW.text, NEW.sender_id, NEW.recipient_id);
    END""",
    """CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
        INSERT INTO messages_fts (messages_fts, rowid, text, sender_id, recipient_id)
        VALUES ('delete', OLD.id, OLD.text, OLD.sender_id, OLD.recipient_id);
    END""",
    """CREATE TRIGGER messages_fts_update AFTER UPDATE OF text, sender_id, recipient_id
    ON messages BEGIN
        INSERT INTO messages_fts (messages_fts, rowid, text, sender_id, recipient_id)
        VALUES ('delete', OLD.id, OLD.text, OLD.sender_id, OLD.recipient_id);
        INSERT INTO messages_fts (rowid, text, sender_id, recipient_id)
        VALUES (NEW.id, NEW.text, NEW.sender_id, NEW.recipient_id);
    END""",
    "INSERT INTO messages_fts (messages_fts) VALUES ('rebuild')",
]
_SQLITE_DOWN = [
    "DROP TRIGGER messages_fts_update",
    "DROP TRIGGER messages_fts_delete",
    "DROP TRIGGER messages_fts_insert",
    "DROP TABLE messages_fts",
    "DROP TRIGGER room_messages_fts_update",
    "DROP TRIGGER room_messages_fts_delete",
    "DROP TRIGGER room_messages_fts_insert",
    "DROP TABLE room_messages_fts",
]

# The ASCII punctuation that makes the parser keep a run of words as one token (e-mails, hosts,
# paths, URLs, numbers with a point, hyphenated words, tags, entities), each turned into a
# space by one replace() (memchr-fast: translate() took 4 ms on a 4,000-character text).
_JOINERS = ".@/:\\_-~<>&"
_FOLD = "public.unaccent('public.unaccent'::regdictionary, $1)"
for _char in _JOINERS:
    _FOLD = f"replace({_FOLD}, '{_char}', ' ')"
_POSTGRES_UP = [
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    f"""CREATE FUNCTION parley_search_vector(text) RETURNS tsvector
        LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
        AS $$ SELECT to_tsvector('simple'::regconfig, {_FOLD}) $$""",
    f"""CREATE FUNCTION parley_search_fold(text) RETURNS text
        LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
        AS $$ SELECT lower({_FOLD}) $$""",
    "CREATE INDEX ix_room_messages_search ON room_messages USING gin (parley_search_vector(text))",
    "CREATE INDEX ix_messages_search ON messages USING gin (parley_search_vector(text))",
]
_POSTGRES_DOWN = [
    "DROP INDEX ix_messages_search",
    "DROP INDEX ix_room_messages_search",
    "DROP FUNCTION parley_search_fold(text)",
    "DROP FUNCTION parley_search_vector(text)",
]


def _statements(sqlite: list[str], postgres: list[str]) -> list[str]:
    return sqlite if op.get_bind().dialect.name == "sqlite" else postgres


def _run(statements: list[str]) -> None:
    for statement in statements:
        op.execute(statement)  # as text(): `%` escaped for the driver, `::` is no parameter


def upgrade() -> None:
    _run(_statements(_SQLITE_UP, _POSTGRES_UP))


def downgrade() -> None:
    _run(_statements(_SQLITE_DOWN, _POSTGRES_DOWN))
