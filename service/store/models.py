"""SQLAlchemy 2.0 models: the tables chat/1 state lives in.

The schema itself comes only from Alembic (migrations/); these classes describe it for queries
and let `alembic check` prove the two agree. All datetimes are stored as UTC.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, MetaData, String, Text, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# Index.info key: the one database the index exists on (its migration makes it there only);
# `alembic check` compares it there only (migrations/env.py).
ONLY_ON = "only_on"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Case-sensitive on the wire, but unique ignoring case (chat/1 precise point 14): see the
    # index on lower(name) below; service.wire.names.username_key is the same fold in Python.
    name: Mapped[str] = mapped_column(String(32), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))  # argon2id encoded hash
    created_at: Mapped[datetime]
    failed_attempts: Mapped[int] = mapped_column(default=0)  # consecutive, reset on success
    locked_until: Mapped[datetime | None]
    # Moved by an operator's `kick` and `passwd`: a session that logged in at an older epoch
    # ends (`bye kicked`), as the server's watch finds (service/core/account_watch.py).
    session_epoch: Mapped[int] = mapped_column(default=0, server_default="0")


# `Alice` cannot be made beside `alice`, whoever makes it (register, chat-admin, a script).
Index("uq_users_lower_name", func.lower(User.name), unique=True)


class Block(Base):
    """`blocker` blocks `blocked`; rows go with either user (ON DELETE CASCADE)."""

    __tablename__ = "blocks"

    blocker_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    blocked_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime]


class Message(Base):
    """A direct message, kept after its `ack` as the record of a conversation (feature
    `dm_history`); while it waits to be shown it also has a row in `backlog`.

    Both users are kept by name as well as by id: when an account is deleted its id here
    becomes NULL (ON DELETE SET NULL) and the message stays in the other user's record under
    the name. A new account that reuses the name, or (SQLite) the id, never matches the NULL.
    """

    __tablename__ = "messages"
    __table_args__ = (
        # `dm_history` in both directions, as index range scans: (me, them) and (them, me),
        # and (me, NULL) / (NULL, me) for deleted accounts. ONE such index, not a second one
        # (recipient_id, sender_id, id): each entry of a random pair lands on its own page, so
        # every index costs about a dirty page per message and commit. Measured (SQLite
        # statements alone, batches of 20, 50 users, insert + ack per commit, synchronous=FULL,
        # /tmp/micro/v.py): 69 us CPU a message with both indexes and the upserted summary,
        # 38 us with this one and the insert-only summary (15 us before the record was kept).
        # The price: ON DELETE SET NULL of `recipient_id` scans `messages` at `chat-admin
        # deluser`, a rare operator command (service/store/operator.py).
        # PostgreSQL only since revision 0010: even this one dirtied a page per message and
        # commit on SQLite, which finds conversations in its full-text index instead, at a
        # segment per commit (service/store/conversation_index.py); there `deluser` scans
        # `messages` for `sender_id` too.
        Index(
            "ix_messages_sender_id_recipient_id_id",
            "sender_id",
            "recipient_id",
            "id",
            info={ONLY_ON: "postgresql"},
        ),
        # AUTOINCREMENT: a purged message's id is never reused, or a client that remembers
        # msg_ids to drop duplicates would drop a new message.
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)  # the wire `msg_id`
    sender_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    sender: Mapped[str] = mapped_column(String(32))
    recipient: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    sent_at: Mapped[datetime]


class BacklogEntry(Base):
    """The direct messages not shown yet: a row per message from the statement that stores it
    (a trigger, revision 0013) until its recipient's `ack` deletes it. A login delivers these.

    A table of its own, not a flag on `messages` (revision 0006 to 0012 had `acked` and a
    partial index): an `ack` then deletes a small row and never touches the message, which on
    PostgreSQL was an UPDATE that wrote a new version of the row and an entry in every index
    of `messages`, the full-text one included (migrations/versions/0013_backlog_table.py says
    what it cost). When the recipient's account is deleted its rows stay, recipient NULL:
    never delivered, and never purged, since they were never shown.
    """

    __tablename__ = "backlog"
    __table_args__ = (Index("ix_backlog_recipient_id_msg_id", "recipient_id", "msg_id"),)

    # SQLite: INTEGER PRIMARY KEY, the rowid itself (one B-tree besides the index)
    msg_id: Mapped[int] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class Conversation(Base):
    """One row per (user, partner name) that ever exchanged a message, for `conversations`.

    Kept by a trigger on `messages` (revision 0006), so a row exists from the very statement
    that stores the first message, on every path that stores one, with no Python per message:
    two INSERT OR IGNOREs per row on SQLite (in C, inside the batch's INSERT), one set-based
    insert ON CONFLICT DO NOTHING per INSERT on PostgreSQL (a statement trigger over the new
    rows). The trigger only adds rows, it never updates them: an upsert of the newest message
    per message dirtied most of this table's pages at every commit. Measured (SQLite statements
    alone, /tmp/micro/v.py: batches of 20, 50 users, random pairs, insert + ack per commit,
    synchronous=FULL): 69 us CPU a message with the upserted summary and two conversation
    indexes, 38 us with this summary and one index (15 us before the record was kept). So the
    newest message per partner is read when `conversations` runs, from the conversation index
    (newest id per direction, ORDER BY id DESC LIMIT 1: a seek each), then sorted and cut:
    that costs what the number of partners one user has costs, never the number of messages.
    WITHOUT ROWID on SQLite: one B-tree, keyed as it is read.

    `last_msg_id` / `last_at` are NULL until `chat-admin purge-dms` writes there the newest
    message of each conversation before it removes messages, so a partner stays listed with the
    newest message ever exchanged even when that message is gone (docs/PROTOCOL.md, choices);
    the op reports the newer of that and what the index finds.

    Keyed by the partner's name, so a deleted partner keeps its row under that name; the
    user's own rows go with its account (CASCADE).
    """

    __tablename__ = "conversations"
    __table_args__ = ({"sqlite_with_rowid": False},)

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    partner: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_msg_id: Mapped[int | None]  # set by a purge only: the newest message before it
    last_at: Mapped[datetime | None]


class Nonce(Base):
    """Idempotency keys of `message` (chat/1 precise point 11), kept for at least 24 h."""

    __tablename__ = "nonces"

    sender_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    nonce: Mapped[str] = mapped_column(String(128), primary_key=True)
    msg_id: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(index=True)


class ActivePeriod(Base):
    """One login session: feeds `whoelsesince` and the operator's login history."""

    __tablename__ = "active_periods"
    __table_args__ = (Index("ix_active_periods_logout_at", "logout_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    login_at: Mapped[datetime] = mapped_column(index=True)
    logout_at: Mapped[datetime | None]  # None while the session is open
    peer: Mapped[str] = mapped_column(String(64))  # "host:port" the server saw
    # Why it ended: a `bye` reason, `disconnected`, `account_deleted`, or `server_restart`
    # (closed at start after a crash). None while open, and for periods older than 0003.
    end_reason: Mapped[str | None] = mapped_column(String(32))


class FailedLogin(Base):
    """A failed login as the server logged it, for `chat-admin history --failed`.

    A name without an account is never kept whole (it may be a password typed in the wrong
    field): only its first two characters and a digest (service/store/failed_logins.py).
    Rows older than 30 days, and beyond the newest 100,000, go as new ones come.
    """

    __tablename__ = "failed_logins"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    name: Mapped[str] = mapped_column(String(32))  # an account's name, or a masked one
    known: Mapped[bool]  # the name was an account's
    peer: Mapped[str] = mapped_column(String(64))  # "host:port" the server saw
    reason: Mapped[str] = mapped_column(String(100))  # as logged: `bad_credentials, 2 ...`


class LoginToken(Base):
    """A remembered login (chat/1 "Staying signed in", feature `tokens`): a `login` with this
    token's secret logs its user in without a password until `expires_at`, which each use
    moves on. Only a SHA-256 digest of the secret is kept (service/credentials/tokens.py says
    why no salt or argon2): whoever reads the database cannot log in with what is here.

    Goes with its account (CASCADE); an operator's `passwd` and `kick` delete a user's rows
    (service/store/operator.py). Expired rows go at the user's next token use or remembered
    login, and in bulk by the server's housekeeping (the index on `expires_at`).
    """

    __tablename__ = "login_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 hex: the lookup
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    last_used_at: Mapped[datetime]  # the newest login with it (created_at until one)


class UnknownNameFailure(Base):
    """Wrong-password counts for names that have no account (chat/1 precise point 4).

    Kept like an account's count, so a reply costs the same time whether the name exists;
    keyed by a digest so a 64 KiB name costs 64 bytes; the oldest rows beyond a cap go.
    """

    __tablename__ = "unknown_name_failures"

    name_digest: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 hex
    failures: Mapped[int]
    locked_until: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(index=True)


# --- rooms (chat/1 "Rooms", feature `rooms`) ---------------------------------------------------


class Room(Base):
    """A named group conversation, kept with its history until an operator deletes it."""

    __tablename__ = "rooms"
    # Rooms a user created lately, for --room-creations-per-hour (schema revision 0005).
    __table_args__ = (Index("ix_rooms_creator_created_at", "creator", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(33), unique=True)  # `#general`: service/wire/rooms.py
    created_at: Mapped[datetime]
    creator: Mapped[str] = mapped_column(String(32))  # by name: outlives the account
    # The newest message's seq (0: none yet). Bumped in the transaction that stores messages,
    # so numbers are gap-free and never reused, whatever crashes.
    last_seq: Mapped[int] = mapped_column(default=0)


class RoomMember(Base):
    """Durable membership with the member's read marker; goes with the user or the room."""

    __tablename__ = "room_members"

    room_id: Mapped[int] = mapped_column(
        ForeignKey("rooms.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    read_seq: Mapped[int]  # the highest seq the member's client has shown
    joined_at: Mapped[datetime]


class RoomMessage(Base):
    """One `say`, numbered per room. The sender is kept by name, with no foreign key, so the
    message stays in the history when the account is deleted.

    The primary key (room_id, seq) serves `history` paging backwards from any seq; the index
    (room_id, sender, seq) counts a member's own and blocked senders' messages above its
    marker without reading the others, so unread counts stay cheap in a room of millions.
    """

    __tablename__ = "room_messages"
    __table_args__ = (Index("ix_room_messages_room_id_sender_seq", "room_id", "sender", "seq"),)

    room_id: Mapped[int] = mapped_column(
        ForeignKey("rooms.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)  # the wire `seq`
    sender: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    sent_at: Mapped[datetime]


class RoomNonce(Base):
    """Idempotency keys of `say` (chat/1 precise point 11), kept like those of `message`."""

    __tablename__ = "room_nonces"

    sender_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    nonce: Mapped[str] = mapped_column(String(128), primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(index=True)
