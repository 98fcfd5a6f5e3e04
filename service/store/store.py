"""The store: persistence in domain words for the server (users, lockout state, blocks,
active periods, stored messages, unknown names), with the rooms', the operator's and the
failed logins' queries mixed in (service/store/room_queries.py, service/store/operator_queries.py,
service/store/failed_login_queries.py).

See service/store/base.py for what the store promises (one transaction per call, plain
results, UTC times). Refusals come back as a Refusal, never as a protocol error.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, exists, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from service.credentials.hash_cost import HashCost
from service.credentials.passwords import Attempts, LockoutPolicy, stored_cost
from service.store.base import attempts_of, maybe_naive_utc, naive_utc
from service.store.batch_reads import chunks
from service.store.change_marker import ChangeMarker
from service.store.failed_login_queries import FailedLoginQueries
from service.store.message_record import MessageRecord
from service.store.message_statements import MessageStatements, Outcome
from service.store.models import ActivePeriod, Block, Message, Nonce, UnknownNameFailure, User
from service.store.operator_queries import OperatorQueries, find_user, open_since, reset_failures
from service.store.outcomes import Refusal
from service.store.room_queries import RoomQueries
from service.wire.names import login_name_key, username_key
from service.wire.timeutil import as_utc

UNKNOWN_NAMES_KEPT = 10_000  # rows of unknown-name counts; the oldest go first
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

_ACCOUNT_BY_ID = select(User.id).where(User.id == bindparam("id"))


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


class Store(RoomQueries, OperatorQueries, FailedLoginQueries):
    # --- users and login -------------------------------------------------------------------

    def credentials(self, name: str) -> Credentials | None:
        def query(s: Session) -> Credentials | None:
            user = find_user(s, name)
            if user is None:
                return None
            attempts = attempts_of(user.failed_attempts, user.locked_until)
            return Credentials(user.name, user.password_hash, attempts)

        return self.read(query)

    def login_credentials(self, name: str) -> Credentials | None:
        """The account a `login` as `name` is for: the one whose name equals `name` ignoring
        case (at most one: precise point 14), so `Erin` logs in to `erin`, and its wrong
        passwords count toward that account's lockout. Credentials.name is the exact name."""

        def query(s: Session) -> Credentials | None:
            user = s.scalar(select(User).where(func.lower(User.name) == username_key(name)))
            if user is None:
                return None
            attempts = attempts_of(user.failed_attempts, user.locked_until)
            return Credentials(user.name, user.password_hash, attempts)

        return self.read(query)

    def rehash_password(self, name: str, old_hash: str, new_hash: str) -> bool:
        """The same password hashed at the server's current cost. False, and nothing changed,
        when the stored hash is no longer `old_hash` (an operator set a new password)."""

        def job(s: Session) -> bool:
            result = s.execute(
                update(User)
                .where(User.name == name, User.password_hash == old_hash)
                .values(password_hash=new_hash)
            )
            return int(result.rowcount) == 1  # type: ignore[attr-defined]

        return self.write(job)

    def user_exists(self, name: str) -> bool:
        return self.read(lambda s: s.scalar(select(exists().where(User.name == name))) or False)

    def account_exists(self, user_id: int) -> bool:
        """Whether the account a session logged in to is still there (an operator may delete
        it meanwhile; one made anew under the same name has another id)."""
        return self.read(lambda s: s.scalar(_ACCOUNT_BY_ID, {"id": user_id}) is not None)

    def account_ids(self, names: Sequence[str]) -> dict[str, int]:
        """name -> id of those of `names` that name an account now (the deleted-account watch
        asks about the online users: service/core/account_watch.py). One unique-index read per
        1,024 names."""

        def query(s: Session) -> dict[str, int]:
            statement = select(User.name, User.id).where(
                User.name.in_(bindparam("names", expanding=True))
            )
            rows = (row for part in chunks(names) for row in s.execute(statement, {"names": part}))
            return {name: uid for name, uid in rows}

        return self.read(query)

    def change_marker(self) -> ChangeMarker:
        """See service/store/change_marker.py; the caller closes it before the store."""
        return ChangeMarker(self.engine)

    def name_taken_by(self, name: str) -> str | None:
        """The account whose name equals `name` ignoring case, if any (chat/1 precise point
        14: a new account may not have it). Login finds its account so: login_credentials()."""
        return self.read(lambda s: _holder_of(s, name))

    def hash_costs(self) -> Counter[HashCost]:
        """How many accounts' hashes were made at each cost (service/credentials/decoy_cost.py);
        read once at start, a row at a time."""

        def query(s: Session) -> Counter[HashCost]:
            hashes = s.scalars(select(User.password_hash).execution_options(yield_per=1_000))
            return Counter(cost for h in hashes if (cost := stored_cost(h)) is not None)

        return self.read(query)

    def create_user(self, name: str, password_hash: str, now: datetime) -> Refusal | None:
        """A new account; Refusal.NAME_TAKEN when a name equal ignoring case exists."""

        def job(s: Session) -> Refusal | None:
            if _holder_of(s, name) is not None:
                return Refusal.NAME_TAKEN
            try:
                with s.begin_nested():  # the unique index decides a race with another writer
                    s.add(User(name=name, password_hash=password_hash, created_at=naive_utc(now)))
            except IntegrityError:
                return Refusal.NAME_TAKEN
            return None

        return self.write(job)

    def record_failed_login(self, name: str, now: datetime, policy: LockoutPolicy) -> Attempts:
        """Count one wrong password atomically; returns the new state (locked or not)."""

        def job(s: Session) -> Attempts:
            user = s.scalars(select(User).where(User.name == name)).one()
            before = attempts_of(user.failed_attempts, user.locked_until)
            after = before.after_failure(now, policy)
            user.failed_attempts = after.failures
            user.locked_until = maybe_naive_utc(after.locked_until)
            return after

        return self.write(job)

    def start_period(self, name: str, peer: str, now: datetime) -> tuple[int, int]:
        """A successful login: reset the failure count, open an active period.
        Returns (the period's id, the user's id)."""

        def job(s: Session) -> tuple[int, int]:
            user = s.scalars(select(User).where(User.name == name)).one()
            reset_failures(user)
            period = ActivePeriod(user_id=user.id, login_at=naive_utc(now), peer=peer[:64])
            s.add(period)
            s.flush()
            return period.id, user.id

        return self.write(job)

    def end_period(self, period_id: int, now: datetime, reason: str) -> None:
        """The session ended; `reason` says why (for `chat-admin history`)."""

        def job(s: Session) -> None:
            s.execute(
                update(ActivePeriod)
                .where(ActivePeriod.id == period_id, ActivePeriod.logout_at.is_(None))
                .values(logout_at=naive_utc(now), end_reason=reason)
            )

        self.write(job)

    def end_open_periods(self, now: datetime, reason: str) -> int:
        """Close periods left open by a crash (at start) or by a shutdown; how many."""

        def job(s: Session) -> int:
            result = s.execute(
                update(ActivePeriod)
                .where(ActivePeriod.logout_at.is_(None))
                .values(logout_at=naive_utc(now), end_reason=reason)
            )
            return int(result.rowcount)  # type: ignore[attr-defined]

        return self.write(job)

    def seen_since(self, since: datetime) -> set[str]:
        """Users with an active period that overlaps [since, now]: online now or left since."""

        def query(s: Session) -> set[str]:
            rows = s.scalars(
                select(User.name)
                .join(ActivePeriod, ActivePeriod.user_id == User.id)
                .where(open_since(since))
                .distinct()
            )
            return set(rows)

        return self.read(query)

    # --- names without an account (chat/1 precise point 4) ----------------------------------

    def unknown_name_attempts(self, name: str, now: datetime) -> Attempts:
        """A name without an account: its lockout state at `now`, counted like an account's."""
        row = self.read(lambda s: s.get(UnknownNameFailure, name_digest(name)))
        if row is None:
            return Attempts()
        return attempts_of(row.failures, row.locked_until).current(now)

    def record_unknown_failure(self, name: str, now: datetime, policy: LockoutPolicy) -> Attempts:
        """Count a failure for a name that has no account, as record_failed_login does."""
        digest = name_digest(name)

        def job(s: Session) -> Attempts:
            row = s.get(UnknownNameFailure, digest)
            if row is None:
                row = UnknownNameFailure(name_digest=digest, failures=0, locked_until=None)
                s.add(row)
            after = attempts_of(row.failures, row.locked_until).after_failure(now, policy)
            row.failures = after.failures
            row.locked_until = maybe_naive_utc(after.locked_until)
            row.updated_at = naive_utc(now)
            return after

        return self.write(job)

    def evict_unknown_names(self, keep: int = UNKNOWN_NAMES_KEPT) -> int:
        """Bound the table: keep the `keep` most recently failed names."""

        def job(s: Session) -> int:
            newest = (
                select(UnknownNameFailure.name_digest)
                .order_by(UnknownNameFailure.updated_at.desc())
                .limit(keep)
            )
            result = s.execute(
                delete(UnknownNameFailure).where(UnknownNameFailure.name_digest.not_in(newest))
            )
            return int(result.rowcount)  # type: ignore[attr-defined]

        return self.write(job)

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

    def block(self, blocker: str, blocked: str, now: datetime) -> Refusal | None:
        """Refusals in chat/1's order: NO_SUCH_USER, SELF, ALREADY_BLOCKED."""

        def job(s: Session) -> Refusal | None:
            pair = _pair_ids(s, blocker, blocked)
            if isinstance(pair, Refusal):
                return pair
            if s.get(Block, pair) is not None:
                return Refusal.ALREADY_BLOCKED
            s.add(Block(blocker_id=pair[0], blocked_id=pair[1], created_at=naive_utc(now)))
            return None

        return self.write(job)

    def unblock(self, blocker: str, blocked: str) -> Refusal | None:
        """Refusals in chat/1's order: NO_SUCH_USER, SELF, NOT_BLOCKED."""

        def job(s: Session) -> Refusal | None:
            pair = _pair_ids(s, blocker, blocked)
            if isinstance(pair, Refusal):
                return pair
            row = s.get(Block, pair)
            if row is None:
                return Refusal.NOT_BLOCKED
            s.delete(row)
            return None

        return self.write(job)

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
    ) -> Outcome:
        """One message through the server's batch path (tests, tools): committed when this
        returns, unless refused."""

        def job(s: Session) -> Outcome:
            connection = s.connection()
            sender_id = _user_id(s, sender) or 0
            record = MessageRecord(sender_id, sender, recipient, text, nonce)
            statements = MessageStatements(connection.dialect)
            [outcome] = statements.save_all(connection, [record], now, max_chars)
            return outcome

        return self.write(job)

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

        self.write(job)

    def prune_nonces(self, now: datetime) -> int:
        """Forget the nonces of `message` and of `say` older than chat/1 asks to keep."""

        def job(s: Session) -> int:
            result = s.execute(delete(Nonce).where(Nonce.created_at < naive_utc(now - NONCE_KEEP)))
            return int(result.rowcount)  # type: ignore[attr-defined]

        return self.write(job) + self.prune_room_nonces(now)


def _holder_of(s: Session, name: str) -> str | None:
    """The name of the account `name` equals ignoring case (found by the lower(name) index)."""
    return s.scalar(select(User.name).where(func.lower(User.name) == username_key(name)))


def _user_id(s: Session, name: str) -> int | None:
    return s.scalar(select(User.id).where(User.name == name))


def _pair_ids(s: Session, actor: str, other: str) -> tuple[int, int] | Refusal:
    """(actor, other) ids for a block or unblock, or chat/1's first refusal: no_such_user,
    then self."""
    other_id = _user_id(s, other)
    actor_id = _user_id(s, actor)
    if other_id is None or actor_id is None:
        return Refusal.NO_SUCH_USER
    if other_id == actor_id:
        return Refusal.SELF
    return actor_id, other_id


def name_digest(name: str) -> str:
    """Fixed-size key for any name the peer sent (it may be up to a frame long). A valid
    name is keyed by its username_key, as an account is found (precise point 14): `Gost` and
    `GOST` count on one row, or a name without an account would answer otherwise than one
    with (chat/1 precise point 4)."""
    key = login_name_key(name)
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
