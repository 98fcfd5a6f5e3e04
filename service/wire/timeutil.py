"""Clock and time formats: RFC 3339 "Z" strings on the wire, `parse_since` for operators.

Everything that decides by time takes `now` as a parameter; only `utc_now()` reads the clock.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


def utc_now() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """Databases hand back naive datetimes (SQLite keeps no zone): we store UTC, so say so."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def to_rfc3339(moment: datetime) -> str:
    """chat/1 times: UTC, millisecond precision, `Z` suffix, e.g. 2026-11-24T23:12:25.123Z."""
    utc = as_utc(moment).replace(tzinfo=None)
    return utc.isoformat(timespec="milliseconds") + "Z"


def parse_duration(text: str) -> timedelta | None:
    """`90s`, `15m`, `2h`, `7d`, `1w` -> timedelta; anything else -> None."""
    match = _DURATION.match(text)
    if match is None:
        return None
    return timedelta(seconds=int(match.group(1)) * _UNIT_SECONDS[match.group(2).lower()])


def parse_since(text: str, now: datetime) -> datetime:
    """An operator's WHEN: a duration back from `now`, or an ISO date/time (local if no zone),
    never after `now`: "since" a future moment would match only what is open now, which is not
    what anyone asking about the past means.

    Raises ValueError with a sentence fit to show the operator.
    """
    duration = parse_duration(text)
    if duration is not None:
        return now - duration
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"{text!r} is neither a duration (a whole number and s, m, h, d or w: 90s, 15m, "
            "2h, 7d, 1w) nor an ISO date/time (2026-11-24 or 2026-11-24T09:30)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.astimezone()  # a bare time is the operator's local time
    if moment > now:
        raise ValueError(
            f"{text!r} is in the future; WHEN is a moment in the past (or a duration back "
            "from now, such as 2h)"
        )
    return moment.astimezone(UTC)


def for_people(seconds: int) -> str:
    """A wait in words for a refusal's text: `45 seconds`, `60 minutes` (rounded up)."""
    if seconds < 90:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = -(-seconds // 60)
    return f"{minutes} minutes"
