"""When the server looks for deleted (or kicked) accounts among its online users, and which
sessions end.

`chat-admin deluser` deletes from another process, so the server learns of it only from the
database. Without this, a deleted user stayed online (in `whoelse`, with no `offline` for
anyone) until its own next request. The ticker asks the policy here whether to look now; a
look is one indexed query over the online names (service/store/users.py), off the hot paths, and
the sessions it finds end as any deleted account's session does (`bye account_deleted`).

Pure: no clock, no database. On SQLite it looks only when `PRAGMA data_version` moved (some
other connection committed); where no such marker exists (PostgreSQL), every CHECK_EVERY_S.
A look that failed (the database is down) is not recorded, so it is due again at once.
A session is its account's by name and id: an account deleted and made anew under the same
name is another account, and the old session ends (as the per-request check decides).

The same look ends kicked sessions: `chat-admin kick` and `passwd` move the account's session
epoch (users.session_epoch), and a session that logged in at an older epoch ends with `bye
kicked` (chat/1 precise point 17). One mechanism, one query, for both.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from service.core.session import EndReason

CHECK_EVERY_S = 2.0  # without a change marker: how long a deleted user may stay online


@dataclass(slots=True)
class DeletionWatch:
    every_s: float = CHECK_EVERY_S
    _marker: int | None = None  # the change marker at the last look
    _looked_at: float | None = None  # monotonic seconds of the last look, without a marker

    def due(self, now: float, marker: int | None) -> bool:
        """Whether to look now. `marker`: the database's change marker (None: it has none),
        read before the look. A marker that moved since the last successful look is due; a
        deletion committed while the look runs moves it again, so the next call looks again."""
        if marker is not None:
            return marker != self._marker
        return self._looked_at is None or now - self._looked_at >= self.every_s

    def looked(self, now: float, marker: int | None) -> None:
        """The look that `due(now, marker)` called for succeeded. Not called when it failed,
        so a failed look is due again (the marker will not move again by itself)."""
        self._marker = marker
        self._looked_at = now


Session = tuple[str, int, int]  # an online user's name, its account's id and epoch at login


def ending(
    sessions: Iterable[Session], existing: Mapping[str, tuple[int, int]]
) -> dict[Session, EndReason]:
    """The sessions to end, and why: the account is gone (none by that name, or one made anew
    under it: another id), or an operator moved its epoch past the session's (`kicked`).
    `existing`: name -> (id, epoch) of the accounts found by those names."""
    verdicts: dict[Session, EndReason] = {}
    for session in sessions:
        name, uid, epoch = session
        found = existing.get(name)
        if found is None or found[0] != uid:
            verdicts[session] = EndReason.ACCOUNT_DELETED
        elif found[1] != epoch:
            verdicts[session] = EndReason.KICKED
    return verdicts
