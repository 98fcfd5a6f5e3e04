"""Rate policy, pure: token buckets, a bounded table of them per key, and a log limiter.

Everything here takes `now` (monotonic seconds) as a parameter and keeps no clock, lock or
socket: the server's guard (service/limits/guard.py) owns the instances and calls them from the
reactor thread alone. What a refusal looks like on the wire is not this module's business.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Hashable


class TokenBucket:
    """At most `burst` tokens, refilled at `rate_per_s`. A request takes one when there is
    one (`try_take`); a cost known only afterwards (a failed login) is `charge`d, which may
    run the bucket into debt, repaid by the refill before the next token is there."""

    __slots__ = ("_at", "_tokens", "burst", "rate_per_s")

    def __init__(self, rate_per_s: float, burst: float, now: float) -> None:
        assert rate_per_s > 0 and burst >= 1, (rate_per_s, burst)
        self.rate_per_s = rate_per_s
        self.burst = burst
        self._tokens = burst
        self._at = now

    def tokens(self, now: float) -> float:
        """How many tokens there are now (negative while in debt)."""
        elapsed = now - self._at
        if elapsed > 0:  # a clock that stands still (or a caller's older `now`) adds nothing
            self._tokens = min(self.burst, self._tokens + elapsed * self.rate_per_s)
            self._at = now
        return self._tokens

    def try_take(self, now: float) -> bool:
        """Take a token if there is one; False (and nothing taken) if there is none."""
        if self.tokens(now) >= 1:
            self._tokens -= 1
            return True
        return False

    def has_token(self, now: float) -> bool:
        return self.tokens(now) >= 1

    def charge(self, now: float, cost: float = 1.0) -> None:
        """Take `cost` tokens whether or not they are there."""
        self._tokens = self.tokens(now) - cost

    def refund(self, now: float, amount: float = 1.0) -> None:
        self._tokens = min(self.burst, self.tokens(now) + amount)

    def seconds_until_token(self, now: float) -> float:
        """0 when a token is there now; else how long until one is."""
        missing = 1 - self.tokens(now)
        return max(missing / self.rate_per_s, 0.0)

    def is_full(self, now: float) -> bool:
        return self.tokens(now) >= self.burst


class BucketTable:
    """One TokenBucket per key (a source address, say), in bounded memory: past `max_keys`
    the bucket used least recently goes. Forgetting one costs little: a bucket left alone
    refills, and an evicted one comes back full, as it would have become anyway unless it
    was used within the time `max_keys` other keys took to push it out."""

    def __init__(self, rate_per_s: float, burst: float, max_keys: int) -> None:
        assert max_keys >= 1
        self.rate_per_s = rate_per_s
        self.burst = burst
        self.max_keys = max_keys
        self._buckets: OrderedDict[Hashable, TokenBucket] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    def get(self, key: Hashable, now: float) -> TokenBucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket(self.rate_per_s, self.burst, now)
            if len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
        return bucket

    def forget_full(self, now: float) -> int:
        """Drop the buckets that are full again (they hold nothing); returns how many."""
        full = [key for key, bucket in self._buckets.items() if bucket.is_full(now)]
        for key in full:
            del self._buckets[key]
        return len(full)


class LogLimiter:
    """At most one log line per `interval_s` per key: `note()` counts an event and says when
    a line is due, with how many events it stands for. Bounded like BucketTable."""

    def __init__(self, interval_s: float, max_keys: int = 10_000) -> None:
        self.interval_s = interval_s
        self.max_keys = max_keys
        self._keys: OrderedDict[Hashable, list[float]] = OrderedDict()  # [last line at, count]

    def note(self, key: Hashable, now: float) -> int | None:
        """Count one event under `key`. Returns None to stay quiet, or, when a line is due,
        the number of events it reports: this one and those not reported since the last."""
        entry = self._keys.get(key)
        if entry is None:
            self._keys[key] = [now, 0.0]
            if len(self._keys) > self.max_keys:
                self._keys.popitem(last=False)
            return 1
        self._keys.move_to_end(key)
        entry[1] += 1
        if now - entry[0] < self.interval_s:
            return None
        count = int(entry[1])
        entry[0], entry[1] = now, 0.0
        return count


def whole_seconds(seconds: float) -> int:
    """A `retry_after`: whole seconds, rounded up, at least 1 (chat/1 precise point 2)."""
    return max(1, math.ceil(seconds))
