"""SQLite: the conversation index moves into the full-text index of direct messages (issue 19)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 02:30:00.000000

Why. `dm_history` and `conversations` read a conversation newest first. 0006 gave them a
B-tree index (sender_id, recipient_id, id): each message's entry lands on the page of its pair,
a page of its own among thousands, so every message of a commit dirtied one more page, which
the commit writes to the WAL and the checkpoint writes again. Measured with the writer's
statements replayed on a SQLite file (WAL, synchronous=FULL, 50 users, random pairs, commits
of 30 messages and 30 acks, the batch as one INSERT; CPU per message, KiB written per commit,
medians of 3 on a machine busy with other work): 0005 (ack = delete) 15 us, 28 KiB; 0008 50 us,
321 KiB; without that index 32 us, 83 KiB. The WAL of one commit: 30 of its 44 pages were the
index's.

How. FTS5 already indexes every direct message as it is stored (0007), and its index grows by
one segment per statement, merged later in bulk: writing it costs what the batch holds, not
one page per conversation. So the FTS table gets a fourth column, `pair`, one token per
message naming its two users, `p<lower id>x<higher id>` (a deleted account's id, NULL, is 0),
and the B-tree index goes. `{pair} : "p17x42"` walks a conversation newest rowid first and
stops at the limit as the index range did (service/store/conversation_index.py); `p0x42` is
every message of user 42 with deleted accounts, filtered by the name kept beside the NULL, as
the range (42, NULL) was. The same replay: 32 us, 93 KiB per commit. The token sits in no
table: the FTS table's content is a view computing it (`messages_fts_source`), so 'rebuild'
and 'integrity-check' read the same values as the triggers write.

The price. A lookup seeks the token in every segment of the index instead of one B-tree:
FTS5 writes a segment per commit and merges them four at a time, so there are tens of
segments, not thousands. A `chat-admin deluser` sets the user's ids to NULL by scanning
`messages` (no index on sender_id any more), and re-indexes those messages through the update
trigger, as before.

What is left of the full-text index's cost on the hot path, measured the same way: about
170 us per commit (FTS5's own statements at its commit and five or so pages of its B-trees,
written twice: WAL, then checkpoint) and 7 us per message (the words, the ids and the pair,
with their prefixes of 1 and 2 characters). At 30 messages a commit that is most of what
separates this record from 0005's 15 us.

PostgreSQL keeps its B-tree index: it writes a dirty page to the WAL once per checkpoint,
not at every commit, and has no FTS5. Nothing changes there.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As 0007 (a migration does not import the code it outlives): the tokenizer of
# service/wire/search.py FTS5_TOKENIZER, no positions, no sizes, prefix indexes of 1 and 2.
_TOKENIZER = "unicode61 remove_diacritics 2 categories 'L* N* Mn'"
_OPTIONS = f"""prefix='1 2', detail=column, columnsize=0, tokenize="{_TOKENIZER}\""""


def _pair(row: str) -> str:
    """SQL for the `pair` token of `row` (NEW, OLD, or a table): service/store/conversation_index.py
    pair_token is the same in Python."""
    sender, recipient = f"coalesce({row}.sender_id, 0)", f"coalesce({row}.recipient_id, 0)"
    return f"'p' || min({sender}, {recipient}) || 'x' || max({sender}, {recipient})"


def _fts_insert(row: str) -> str:
    return (
        "INSERT INTO messages_fts (rowid, text, sender_id, recipient_id, pair) "
        f"VALUES ({row}.id, {row}.text, {row}.sender_id, {row}.recipient_id, {_pair(row)});"
    )


def _fts_delete(row: str) -> str:
    return (
        "INSERT INTO messages_fts (messages_fts, rowid, text, sender_id, recipient_id, pair) "
        f"VALUES ('delete', {row}.id, {row}.text, {row}.sender_id, {row}.recipient_id, "
        f"{_pair(row)});"
    )


_DROP_0007 = [
    "DROP TRIGGER messages_fts_update",
    "DROP TRIGGER messages_fts_delete",
    "DROP TRIGGER messages_fts_insert",
    "DROP TABLE messages_fts",
]
_UP = [
    *_DROP_0007,
    "DROP INDEX ix_messages_sender_id_recipient_id_id",
    "CREATE VIEW messages_fts_source AS SELECT id, text, sender_id, recipient_id, "
    f"{_pair('messages')} AS pair FROM messages",
    "CREATE VIRTUAL TABLE messages_fts USING fts5(text, sender_id, recipient_id, pair, "
    f"content='messages_fts_source', content_rowid='id', {_OPTIONS})",
    f"CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN {_fts_insert('NEW')} END",
    f"CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN {_fts_delete('OLD')} END",
    # an account's deletion sets its ids to NULL (ON DELETE SET NULL runs update triggers): the
    # message moves to the `p0x...` token; an `ack` sets only `acked` and fires nothing
    "CREATE TRIGGER messages_fts_update AFTER UPDATE OF text, sender_id, recipient_id "
    f"ON messages BEGIN {_fts_delete('OLD')} {_fts_insert('NEW')} END",
    "INSERT INTO messages_fts (messages_fts) VALUES ('rebuild')",
]

# Back to 0008: 0007's table and triggers, the B-tree index.
_DOWN = [
    *_DROP_0007,
    "DROP VIEW messages_fts_source",
    f"""CREATE VIRTUAL TABLE messages_fts USING fts5(
        text, sender_id, recipient_id, content='messages', content_rowid='id', {_OPTIONS})""",
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
    "CREATE INDEX ix_messages_sender_id_recipient_id_id ON messages (sender_id, recipient_id, id)",
]


def _run(statements: list[str]) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return  # PostgreSQL keeps its B-tree index (see the docstring)
    for statement in statements:
        op.execute(statement)


def upgrade() -> None:
    _run(_UP)


def downgrade() -> None:
    _run(_DOWN)
