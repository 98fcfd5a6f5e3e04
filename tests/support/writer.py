"""Driving the server's database writer directly, for the integration tests of its hot path."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event, select

from service.core.session import EndReason
from service.pipeline.items import DirectMessage, Round
from service.store import Store
from service.store.hot import HotWork
from service.store.message_record import MessageRecord
from service.store.message_statements import Outcome
from service.store.models import User
from service.store.writer import GroupCommitWriter

Result = Outcome | Exception | None  # one message's: stored, refused, or failed alone


class Nobody:
    """A reply target for rounds the tests hand the writer themselves: nothing is sent."""

    def send_bytes(self, data: bytes) -> bool:
        return True

    def pipelined_done(self, count: int) -> None:
        pass

    def end(self, reason: EndReason) -> None:
        pass


def user_id(store: Store, name: str) -> int:
    """The account's row id, which the hot path's records carry (it comes from the login)."""
    found = store.db.read(lambda s: s.scalar(select(User.id).where(User.name == name)))
    assert found is not None, name
    return found


def messages_round(records: Sequence[MessageRecord]) -> Round:
    """A round of direct messages, as the reactor builds one."""
    return Round([DirectMessage(Nobody(), None, False, record) for record in records])


def results(work: HotWork) -> Sequence[Result] | BaseException:
    """A committed round's result per message, or the error that failed its transaction."""
    assert isinstance(work, Round)
    if work.failure is not None:
        return work.failure
    return [item.result for item in work.items if isinstance(item, DirectMessage)]


def commit_round(writer: GroupCommitWriter, round_: Round) -> Round:
    """One round, as the reactor hands it over, once committed (its results filled in)."""
    committed: list[HotWork] = []
    done = threading.Event()

    def on_committed(work: HotWork) -> None:
        committed.append(work)
        done.set()

    writer.on_hot_committed(on_committed)
    writer.submit_hot(round_)
    assert done.wait(10), "the writer never answered the round"
    [work] = committed
    assert isinstance(work, Round) and work.failure is None, work
    return work


def send_hot(
    writer: GroupCommitWriter, records: Sequence[MessageRecord]
) -> Sequence[Result] | BaseException:
    """One round, as the reactor hands it over; its outcomes once committed (or the error
    that failed its whole transaction)."""
    answered: list[Sequence[Result] | BaseException] = []
    done = threading.Event()

    def on_committed(work: HotWork) -> None:
        answered.append(results(work))
        done.set()

    writer.on_hot_committed(on_committed)
    writer.submit_hot(messages_round(records))
    assert done.wait(10), "the writer never answered the round"
    [outcomes] = answered
    return outcomes


def fail_next_commit(engine: Engine, error: Exception) -> None:
    """The engine's next COMMIT raises `error` (a full disk, say); later ones succeed."""
    failures = iter([error])

    def fail_once(_connection: object) -> None:
        failure = next(failures, None)
        if failure is not None:
            raise failure

    event.listen(engine, "commit", fail_once)


@contextmanager
def connections_open_read_only(engine: Engine) -> Iterator[None]:
    """While it lasts, the SQLite connections `engine` opens are read-only, as SQLite opens
    them when the file refuses writes (a file system remounted read-only after an I/O error):
    they begin transactions and read, and every write fails "attempt to write a readonly
    database". Connections opened before or after are unchanged."""

    def read_only(_dialect: Any, _record: Any, cargs: list[Any], cparams: dict[str, Any]) -> None:
        cargs[0] = f"file:{cargs[0]}?mode=ro"
        cparams["uri"] = True

    event.listen(engine, "do_connect", read_only)
    try:
        yield
    finally:
        event.remove(engine, "do_connect", read_only)
