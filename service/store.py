"""Persistence in domain words: users, lockout state, blocks, stored messages, active periods.

Reads open a short read transaction on the calling thread. Writes are jobs handed to a Writer
(group commit in the server, direct in chat-admin), each one short transaction. Sessions and
ORM objects never leave this module: callers get frozen dataclasses. Times go in and come out
as aware UTC datetimes; the database keeps them naive UTC.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import Engine, bindparam, delete, exists, func, or_, select, update
from sqlalchemy.orm import Session, aliased, sessionmaker

from service.auth import Attempts, LockoutPolicy
from service.db import make_engine, make_sessions, writing
from service.errors import ErrorCode, RequestError
from service.message_store import MessageRecord, MessageStatements, SavedMessage
from service.models import ActivePeriod, Block, Message, Nonce, User
from service.timeutil import as_utc, utc_now
from service.writer import DirectWriter, GroupCommitWriter, Writer

T = TypeVar("T")
NONCE_KEEP = timedelta(hours=25)  # chat/1 precise point 11 asks for at least 24 h

_ME, _OTHER = aliased(User, name="me"), aliased(User, name="other")
# Block partners of one user, built once: who `name` blocks, and who blocks `name`.
_BLOCKED_BY = (
    select(_OTHER.name)
    .join(Block, Block.blocked_id == _OTHER.id)
    .join(_ME, Block.blocker_id == _ME.id)
    .where(_ME.name == bindparam("name"))
)
_BLOCKERS_OF = (
    select(_OTHER.name)
    .join(Block, Block.blocker_id == _OTHER.id)
    .join(_ME, Block.blocked_id == _ME.id)
    .where(_ME.name == bindparam("name"))
)


def naive_utc(moment: datetime) -> datetime:
    return as_utc(moment).replace(tzinfo=None)


def maybe_naive_utc(moment: datetime | None) -> datetime | None:
    return None if moment is None else naive_utc(moment)


def maybe_utc(moment: datetime | None) -> datetime | None:
    return None if moment is None else as_utc(moment)


@dataclass(frozen=True, slots=True)
class Credentials:
    name: str
    password_hash: str
    attempts: Attempts


@dataclass(frozen=True, slots=True)
class StoredMessage:
    msg_id: int
    sender: str
    recipient: str
    text: str
    sent_at: datetime


@dataclass(frozen=True, slots=True)
class Backlog:
    count: int  # stored messages waiting, as of the snapshot
    last_id: int  # the newest of them (0 if none): later ones are delivered live


class Store:
    def __init__(self, engine: Engine, writer: Writer, readers: sessionmaker[Session]) -> None:
        self.engine = engine
        self._writer = writer
        self._readers = readers

    @classmethod
    def open(
        cls, url: str, *, group_commit: bool, max_text_chars: int = 4_000,
        synchronous: str = "full",
    ) -> Store:  # fmt: skip
        engine = make_engine(url, synchronous=synchronous)
        readers, writers = make_sessions(engine)
        writer: Writer
        if group_commit:
            writer = GroupCommitWriter(writing(engine), utc_now, max_text_chars)
        else:
            writer = DirectWriter(writers)
        return cls(engine, writer, readers)

    @property
    def group_writer(self) -> GroupCommitWriter:
        """The server's writer, for the hot path (service/messaging.py)."""
        assert isinstance(self._writer, GroupCommitWriter), "open(group_commit=True)"
        return self._writer

    def close(self) -> None:
        self._writer.close()
        self.engine.dispose()

    def read(self, query: Callable[[Session], T]) -> T:
        """Run `query` in a short read transaction on this thread (for persistence modules)."""
        with self._readers() as session:
            return query(session)

    def write(self, job: Callable[[Session], T]) -> T:
        """Run `job` as (part of) one committed write transaction; returns once committed."""
        return self._writer.run(job)

    # --- users and login -------------------------------------------------------------------

    def credentials(self, name: str) -> Credentials | None:
        def query(s: Session) -> Credentials | None:
            user = s.scalars(select(User).where(User.name == name)).one_or_none()
            if user is None:
                return None
            attempts = Attempts(user.failed_attempts, maybe_utc(user.locked_until))
            return Credentials(user.name, user.password_hash, attempts)

        return self.read(query)

    def user_exists(self, name: str) -> bool:
        return self.read(lambda s: s.scalar(select(exists().where(User.name == name))) or False)

    def create_user(self, name: str, password_hash: str, now: datetime) -> None:
        """Raises RequestError(USER_EXISTS) when the name is taken."""

        def job(s: Session) -> None:
            if s.scalar(select(exists().where(User.name == name))):
                raise RequestError(ErrorCode.USER_EXISTS, f"The name {name} is taken.")
            s.add(User(name=name, password_hash=password_hash, created_at=naive_utc(now)))

        self._writer.run(job)

    def record_failed_login(self, name: str, now: datetime, policy: LockoutPolicy) -> Attempts:
        """Count one wrong password atomically; returns the new state (locked or not)."""

        def job(s: Session) -> Attempts:
            user = s.scalars(select(User).where(User.name == name)).one()
            before = Attempts(user.failed_attempts, maybe_utc(user.locked_until))
            after = before.after_failure(now, policy)
            user.failed_attempts = after.failures
            user.locked_until = maybe_naive_utc(after.locked_until)
            return after

        return self._writer.run(job)

    def start_period(self, name: str, peer: str, now: datetime) -> tuple[int, int]:
        """A successful login: reset the failure count, open an active period.
        Returns (the period's id, the user's id)."""

        def job(s: Session) -> tuple[int, int]:
            user = s.scalars(select(User).where(User.name == name)).one()
            user.failed_attempts = 0
            user.locked_until = None
            period = ActivePeriod(user_id=user.id, login_at=naive_utc(now), peer=peer[:64])
            s.add(period)
            s.flush()
            return period.id, user.id

        return self._writer.run(job)

    def end_period(self, period_id: int, now: datetime) -> None:
        def job(s: Session) -> None:
            s.execute(
                update(ActivePeriod)
                .where(ActivePeriod.id == period_id, ActivePeriod.logout_at.is_(None))
                .values(logout_at=naive_utc(now))
            )

        self._writer.run(job)

    def end_open_periods(self, now: datetime) -> int:
        """Close periods left open by a crash (at start) or by a shutdown; how many."""

        def job(s: Session) -> int:
            result = s.execute(
                update(ActivePeriod)
                .where(ActivePeriod.logout_at.is_(None))
                .values(logout_at=naive_utc(now))
            )
            return int(result.rowcount)  # type: ignore[attr-defined]

        return self._writer.run(job)

    def seen_since(self, since: datetime) -> set[str]:
        """Users with an active period that overlaps [since, now]: online now or left since."""
        cutoff = naive_utc(since)

        def query(s: Session) -> set[str]:
            rows = s.scalars(
                select(User.name)
                .join(ActivePeriod, ActivePeriod.user_id == User.id)
                .where(or_(ActivePeriod.logout_at.is_(None), ActivePeriod.logout_at >= cutoff))
                .distinct()
            )
            return set(rows)

        return self.read(query)

    # --- blocks ------------------------------------------------------------------------------

    def blocked_by(self, name: str) -> set[str]:
        """The users `name` blocks."""
        return self._block_partners(name, name_is_blocker=True)

    def blockers_of(self, name: str) -> set[str]:
        """The users who block `name`."""
        return self._block_partners(name, name_is_blocker=False)

    def _block_partners(self, name: str, *, name_is_blocker: bool) -> set[str]:
        query = _BLOCKED_BY if name_is_blocker else _BLOCKERS_OF
        return self.read(lambda s: set(s.scalars(query, {"name": name})))

    def block(self, blocker: str, blocked: str, now: datetime) -> None:
        def job(s: Session) -> None:
            blocker_id, blocked_id = _pair_ids(s, blocker, blocked)
            if s.get(Block, (blocker_id, blocked_id)) is not None:
                raise RequestError(ErrorCode.ALREADY_BLOCKED, f"You already block {blocked}.")
            s.add(Block(blocker_id=blocker_id, blocked_id=blocked_id, created_at=naive_utc(now)))

        self._writer.run(job)

    def unblock(self, blocker: str, blocked: str) -> None:
        def job(s: Session) -> None:
            blocker_id, blocked_id = _pair_ids(s, blocker, blocked)
            row = s.get(Block, (blocker_id, blocked_id))
            if row is None:
                raise RequestError(ErrorCode.NOT_BLOCKED, f"You do not block {blocked}.")
            s.delete(row)

        self._writer.run(job)

    # --- direct messages ---------------------------------------------------------------------

    def save_message(
        self,
        sender: str,
        recipient: str,
        text: str,
        nonce: str | None,
        now: datetime,
        *,
        max_chars: int,
    ) -> SavedMessage:
        """One message through the batch path (tests, tools): committed when this returns.
        Raises the RequestError chat/1 defines for a refusal."""

        def job(s: Session) -> SavedMessage:
            connection = s.connection()
            sender_id = _user_id(s, sender) or 0
            record = MessageRecord(sender_id, sender, recipient, text, nonce)
            statements = MessageStatements(connection.dialect)
            [outcome] = statements.save_all(connection, [record], now, max_chars)
            if isinstance(outcome, RequestError):
                raise outcome
            return outcome

        return self._writer.run(job)

    def backlog_snapshot(self, recipient: str) -> Backlog:
        """How many messages wait for `recipient` and the newest one's id, read at once.

        Called after the recipient is online: anything committed later is delivered live, so
        the backlog is exactly the messages up to `last_id`.
        """

        def query(s: Session) -> Backlog:
            row = s.execute(
                select(func.count(Message.id), func.max(Message.id))
                .join(User, Message.recipient_id == User.id)
                .where(User.name == recipient)
            ).one()
            return Backlog(int(row[0]), int(row[1] or 0))

        return self.read(query)

    def pending_messages(
        self, recipient: str, *, after_id: int = 0, up_to_id: int | None = None, limit: int = 500
    ) -> list[StoredMessage]:
        """Stored, unacknowledged messages for `recipient`, oldest first, one page of them."""

        def query(s: Session) -> list[StoredMessage]:
            statement = (
                select(Message.id, Message.sender, Message.text, Message.sent_at)
                .join(User, Message.recipient_id == User.id)
                .where(User.name == recipient, Message.id > after_id)
                .order_by(Message.id)
                .limit(limit)
            )
            if up_to_id is not None:
                statement = statement.where(Message.id <= up_to_id)
            return [
                StoredMessage(row.id, row.sender, recipient, row.text, as_utc(row.sent_at))
                for row in s.execute(statement)
            ]

        return self.read(query)

    def iter_backlog(self, recipient: str, backlog: Backlog) -> Iterator[StoredMessage]:
        """The messages of a snapshot, fetched a page at a time so memory stays bounded."""
        after_id = 0
        while page := self.pending_messages(recipient, after_id=after_id, up_to_id=backlog.last_id):
            yield from page
            after_id = page[-1].msg_id

    def acknowledge(self, recipient: str, msg_id: int) -> None:
        """Forget a delivered message (tests, tools); only its recipient can."""

        def job(s: Session) -> None:
            connection = s.connection()
            recipient_id = _user_id(s, recipient) or 0
            MessageStatements(connection.dialect).ack_all(connection, [(msg_id, recipient_id)])

        self._writer.run(job)

    def prune_nonces(self, now: datetime) -> int:
        def job(s: Session) -> int:
            result = s.execute(delete(Nonce).where(Nonce.created_at < naive_utc(now - NONCE_KEEP)))
            return int(result.rowcount)  # type: ignore[attr-defined]

        return self._writer.run(job)


def _user_id(s: Session, name: str) -> int | None:
    return s.scalar(select(User.id).where(User.name == name))


def _pair_ids(s: Session, actor: str, other: str) -> tuple[int, int]:
    """Ids for a block/unblock, with chat/1's errors in table order: no_such_user, self."""
    other_id = _user_id(s, other)
    actor_id = _user_id(s, actor)
    if other_id is None or actor_id is None:
        raise RequestError(ErrorCode.NO_SUCH_USER, f"There is no user {other}.")
    if other_id == actor_id:
        raise RequestError(ErrorCode.SELF, "You cannot block or unblock yourself.")
    return actor_id, other_id
