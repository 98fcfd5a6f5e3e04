"""What the server counts as activity, from the client's side: when to send `active`, and
when to warn that the idle logout is near. Pure: every method takes `now` (monotonic seconds).

chat/1 ends a session that sends no request but `ping` and `ack` for the server's timeout
(`bye` reason `timeout`). The login reply's `idle_timeout` (an extra field; other servers may
not send it) tells us that timeout; without it there is no warning. Private messages never
reach the server, so while the user sends them the client says `active` (precise point 15),
at most once every ACTIVE_EVERY_S.
"""

from __future__ import annotations

ACTIVE_EVERY_S = 10.0  # chat/1 precise point 15: `active` at most once every 10 seconds
WARN_BEFORE_S = 60.0  # warn a minute before the idle logout...
WARN_FRACTION = 0.25  # ...or, for timeouts under 4 minutes, a quarter of the timeout before

# Requests that do not count as activity for the server (chat/1 "Inactivity timeout").
NOT_ACTIVITY = frozenset({"ping", "ack"})


def warning_lead_s(timeout_s: float) -> float:
    """How long before the idle logout the warning comes: 60 s, or a quarter of a short
    timeout (15 s of a 60 s one), so that it never comes almost at once after activity."""
    return min(WARN_BEFORE_S, timeout_s * WARN_FRACTION)


class Activity:
    def __init__(self, idle_timeout_s: float | None, now: float) -> None:
        self.idle_timeout_s = idle_timeout_s if idle_timeout_s and idle_timeout_s > 0 else None
        self._last = now  # the login counts as activity (chat/1 precise point 5)

    def note(self, now: float) -> None:
        """A request that counts went out."""
        self._last = now

    def active_due(self, now: float) -> bool:
        """Should private chatting now be reported with `active`? Not if the server heard
        from us less than ACTIVE_EVERY_S ago."""
        return now - self._last >= ACTIVE_EVERY_S

    def warning_in_s(self, now: float) -> float | None:
        """Seconds from `now` until the idle warning is due (0 if overdue); None without a
        known timeout."""
        if self.idle_timeout_s is None:
            return None
        due = self._last + self.idle_timeout_s - warning_lead_s(self.idle_timeout_s)
        return max(0.0, due - now)

    def logout_in_s(self, now: float) -> float:
        """Seconds from `now` until the server's idle logout (with a known timeout)."""
        return max(0.0, self._last + (self.idle_timeout_s or 0.0) - now)
