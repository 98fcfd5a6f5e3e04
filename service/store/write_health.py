"""Whether the database takes writes, and what the writer says about it: pure policy.

When a commit fails (a disk that refuses writes, a full disk, a database server gone), the
writer answers that batch `internal`, drops its connection and opens a new one for the next
attempt; this decides when that attempt may come (backoff, so a dead database is not hammered)
and which lines the log gets: one when writes start failing, at most one per interval while
they go on failing, and one when they work again. Not a traceback per failed write.

Every method takes `now` (monotonic seconds); nothing here reads a clock, logs or sleeps.
"""

from __future__ import annotations

from dataclasses import dataclass

FIRST_BACKOFF_S = 0.05  # the first retry after a failure comes this soon...
MAX_BACKOFF_S = 2.0  # ...and the wait doubles up to this: an outage answers within 2 s
LOG_INTERVAL_S = 60.0  # at most one "still failing" line per this many seconds


def describe(error: BaseException) -> str:
    """An error as one line: its type and its first line (SQLAlchemy appends the statement
    and a link on later lines; parameters are never in it: service/store/db.py hides them)."""
    first = (str(error).strip().splitlines() or [""])[0]
    kind = type(error).__name__
    return first if kind in first else f"{kind}: {first}"


@dataclass(slots=True)
class WriteHealth:
    log_interval_s: float = LOG_INTERVAL_S
    failing_since: float | None = None  # None: the last commit worked
    failures: int = 0  # failed commits since failing_since
    unlogged: int = 0  # failed commits since the last line
    next_line_at: float = 0.0
    backoff_s: float = 0.0
    retry_at: float = 0.0  # no attempt before this

    def wait_s(self, now: float) -> float:
        """How long to wait before the next attempt (0 when writes work)."""
        return max(0.0, self.retry_at - now) if self.failing_since is not None else 0.0

    def failed(self, now: float, error: BaseException) -> str | None:
        """A commit failed: schedule the next attempt; the line to log now, if any."""
        self.failures += 1
        self.unlogged += 1
        self.backoff_s = min(MAX_BACKOFF_S, max(FIRST_BACKOFF_S, self.backoff_s * 2))
        self.retry_at = now + self.backoff_s
        if self.failing_since is None:
            self.failing_since = now
            self.next_line_at = now + self.log_interval_s
            self.unlogged = 0
            return (
                f"writes to the database fail ({describe(error)}); answering them `internal` "
                "and retrying on a new connection (one line per "
                f"{self.log_interval_s:g} s until they work again)"
            )
        if now < self.next_line_at:
            return None
        self.next_line_at = now + self.log_interval_s
        line = (
            f"writes to the database still fail after {now - self.failing_since:.0f} s "
            f"({self.unlogged} failed commits since the last line): {describe(error)}"
        )
        self.unlogged = 0
        return line

    def succeeded(self, now: float) -> str | None:
        """A commit worked: the line to log if writes had been failing."""
        if self.failing_since is None:
            return None
        line = (
            f"writes to the database work again, after {now - self.failing_since:.1f} s "
            f"and {self.failures} failed commits"
        )
        self.failing_since = None
        self.failures = self.unlogged = 0
        self.backoff_s = self.retry_at = 0.0
        return line
