"""SQLite's full-text indexes merged a few pages at a time by the writer, where FTS5 would
merge in bursts that stall every message behind them.

Each transaction adds a segment to an FTS5 index; segments are merged four at a time, level by
level, so that a search reads a few. FTS5's own `automerge` does that work 64 leaf pages times
the index's levels at once, every 64 leaf pages written: on `dm`, several times a second one
commit took 10-50 ms, and those commits were the p99 latency of the whole benchmark.
Migration 0012 turns it off. The writer notes the rows it adds to each indexed table and calls
`step` in each transaction: once STEP_ROWS rows have been added to a table, FTS5's `merge`
command with a budget of a page per ROWS_PER_PAGE rows (a merge under way goes on; a new one
starts only on a level of `usermerge`, 4, segments, as automerge would). About the same work
(5 % more of the writer's CPU, measured), spread evenly: docs/BENCHMARKS.md has the figures.

Rows removed (an account deleted by chat-admin) add segments too, merged by later steps; and
FTS5's crisis merge still merges any level that reaches 16 segments, which is also what keeps
level 0 small while commits of a row or two wait for STEP_ROWS.
"""

from __future__ import annotations

from typing import Any

DM_INDEX = "messages_fts"  # direct messages (migration 0010)
ROOM_INDEX = "room_messages_fts"  # rooms' messages (migration 0007)

# Rows added per page merged. Over its life a row of `dm` (64 characters, three ids) is merged
# into a new segment on each of the index's levels, a small part of a page each time: a budget
# of a page a row (tried first) finished each merge quickly and then had nothing to do, so
# merging still came in spells of 10 ms commits. A page per 4 rows keeps about as many segments
# (1,000,000 messages: 12 and 16 in the two indexes, where automerge left 12 and 10; a page a
# row, 8 and 8) with merging spread thin: `dm`'s p99 9 ms against 12 (docs/BENCHMARKS.md).
ROWS_PER_PAGE = 4
# A step's statement and its seek into each segment are paid per step: a busy writer's
# commit (`dm`: 40-50 rows) steps every time, a quiet one's (a row or two) every few commits.
STEP_ROWS = 16


class IndexMerges:
    """The writer's (SQLite; elsewhere nothing is merged): `added` as rows go in, `step` once
    per transaction, on its DB-API cursor."""

    def __init__(self, dialect_name: str) -> None:
        self._enabled = dialect_name == "sqlite"
        self._unmerged = {DM_INDEX: 0, ROOM_INDEX: 0}  # rows added since the index's last step

    def added(self, index: str, rows: int) -> None:
        """`rows` were stored into the table `index` covers (before or in this transaction)."""
        if self._enabled:
            self._unmerged[index] += rows

    def step(self, cursor: Any) -> None:
        """Merge what the rows added call for, where STEP_ROWS have come; nothing elsewhere."""
        if not self._enabled:
            return
        for index, rows in self._unmerged.items():
            if rows >= STEP_ROWS:
                self._unmerged[index] = 0
                cursor.execute(
                    f"INSERT INTO {index} ({index}, rank) VALUES ('merge', ?)",
                    (rows // ROWS_PER_PAGE,),
                )

    def stop(self) -> None:
        """A step failed: no more (the writer logs why once; FTS5's crisis merges remain)."""
        self._enabled = False
