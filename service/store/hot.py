"""The writer's side of the pipeline: what a round of durable pipelined requests must offer
the group commit (HotWork), and what the writer lends it to write with (HotWrite).

The store sits below the pipeline (service/pipeline/), so it names only this small shape;
the pipeline's Round fills it. The writer calls `write` once per transaction with every
round queued (`joined`); when that raises for one bad row, it takes the write back to a
savepoint and tries each item alone (`singles`), so one bad request fails only itself. When
the whole transaction fails, each round is told (`failed`) and answered `internal`.

Round trips are what a commit costs on PostgreSQL, so `write` opens with `tx.ahead()`: the
writer's savepoint, and the statements that wait for no answer (acks, the checks' query), go
to the server together (psycopg's pipeline mode); their results are read after it ends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import Connection

from service.store.message_statements import MessageStatements
from service.store.room_statements import RoomStatements


@dataclass(slots=True)
class HotWrite:
    """One transaction's means: the writer's connection (inside its transaction), the
    commit's time, the text limit, and the statements the writer keeps for its dialect (a
    new pipelined kind adds its statements here)."""

    connection: Connection
    now: datetime
    max_chars: int
    messages: MessageStatements  # direct messages and acks (remembers checks on SQLite)
    rooms: RoomStatements  # `say` and `read`
    # Entered by `write` once, before its first statement. On PostgreSQL it sends the writer's
    # savepoint and holds back what is sent inside until it ends, one round trip for all:
    # only driver statements belong there (SQLAlchemy's execute reads a result's description
    # before the rows arrive). Elsewhere, and in the one-by-one savepoints, it does nothing.
    ahead: Callable[[], AbstractContextManager[object]] = nullcontext


class HotWork(Protocol):
    def write(self, tx: HotWrite) -> None:
        """Check and store everything at once, filling each item's result, first entering
        `tx.ahead()` (see HotWrite). Raises when a row is refused by the database; the writer
        then tries `singles`."""
        ...

    def singles(self) -> Iterable[HotWork]:
        """The same items, one per work: the writer writes each in a savepoint of its own."""
        ...

    def failed(self, error: BaseException) -> None:
        """Nothing of it was stored: every item's result is `error`."""
        ...

    def joined(self, others: Sequence[HotWork]) -> HotWork:
        """This work and `others` as one (several rounds queued for one commit), sharing
        their items, so results written into it are theirs."""
        ...
