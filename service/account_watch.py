"""When the server looks for deleted accounts among its online users, and which are gone.

`chat-admin deluser` deletes from another process, so the server learns of it only from the
database. Without this, a deleted user stayed online (in `whoelse`, with no `offline` for
anyone) until its own next request. The ticker asks the policy here whether to look now; a
look is one indexed query over the online names (service/store.py), off the hot paths, and
the sessions it finds end as any deleted account's session does (`bye account_deleted`).

Pure: no clock, no database. On SQLite it looks only when `PRAGMA data_version` moved (some
other connection committed); where no such marker exists (PostgreSQL), every CHECK_EVERY_S.
"""

from __future__ import annotations

from collections.abc import Iterable, Set
from dataclasses import dataclass

CHECK_EVERY_S = 2.0  # without a change marker: how long a deleted user may stay online


@dataclass(slots=True)
class DeletionWatch:
    every_s: float = CHECK_EVERY_S
    _marker: int | None = None  # the change marker at the last look
    _looked_at: float | None = None  # monotonic seconds of the last look, without a marker

    def due(self, now: float, marker: int | None) -> bool:
        """Whether to look now. `marker`: the database's change marker (None: it has none).
        A marker that moved since the last call is due, once: a deletion committed while
        the look runs moves it again, so the next call looks again."""
        if marker is not None:
            moved = marker != self._marker
            self._marker = marker
            return moved
        if self._looked_at is not None and now - self._looked_at < self.every_s:
            return False
        self._looked_at = now
        return True


def gone(online: Iterable[str], existing: Set[str]) -> frozenset[str]:
    """The online users whose account no longer exists."""
    return frozenset(name for name in online if name not in existing)
