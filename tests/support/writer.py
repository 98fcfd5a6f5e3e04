"""Driving the server's database writer directly, for the integration tests of its hot path."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event

from service.store.message_record import MessageRecord
from service.store.writer import GroupCommitWriter, HotBatch, Result


def send_hot(
    writer: GroupCommitWriter, records: Sequence[MessageRecord]
) -> Sequence[Result] | BaseException:
    """One hot batch, as a reactor round hands it over; its outcomes once committed (or the
    error that failed its whole transaction)."""
    results: list[Sequence[Result] | BaseException] = []
    answered = threading.Event()

    def on_committed(_batch: HotBatch, outcomes: Sequence[Result] | BaseException) -> None:
        results.append(outcomes)
        answered.set()

    writer.on_hot_committed(on_committed)
    writer.submit_hot(HotBatch(list(records), []))
    assert answered.wait(10), "the writer never answered the batch"
    [outcomes] = results
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
