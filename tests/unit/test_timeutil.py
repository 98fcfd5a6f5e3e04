from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from service.wire.timeutil import for_people, parse_since, to_rfc3339

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def test_rfc3339_is_utc_with_milliseconds_and_z() -> None:
    moment = datetime(2026, 11, 24, 23, 12, 25, 123456, tzinfo=UTC)
    assert to_rfc3339(moment) == "2026-11-24T23:12:25.123Z"
    plus_one = moment.astimezone(timezone(timedelta(hours=1)))
    assert to_rfc3339(plus_one) == "2026-11-24T23:12:25.123Z"


@pytest.mark.parametrize(
    ("text", "back"),
    [("90s", 90), ("15m", 900), ("2h", 7200), ("7d", 604_800), (" 1H ", 3600)],
)
def test_durations_count_back_from_now(text: str, back: int) -> None:
    assert parse_since(text, NOW) == NOW - timedelta(seconds=back)


def test_iso_times_with_a_zone_are_taken_as_given() -> None:
    assert parse_since("2026-11-24T10:00:00+02:00", NOW) == datetime(2026, 11, 24, 8, tzinfo=UTC)


def test_iso_dates_without_a_zone_are_local_time() -> None:
    local = datetime(2026, 11, 24).astimezone()
    assert parse_since("2026-11-24", NOW) == local.astimezone(UTC)


@pytest.mark.parametrize("text", ["", "2x", "yesterday", "-5m", "2026-13-01"])
def test_bad_values_say_what_is_accepted(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_since(text, NOW)


@pytest.mark.parametrize("text", ["2026-11-27", "2026-11-25T12:00:01Z"])
def test_a_moment_after_now_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="in the future"):
        parse_since(text, NOW)


def test_the_refusal_lists_every_unit() -> None:
    with pytest.raises(ValueError, match="s, m, h, d or w: 90s, 15m, 2h, 7d, 1w"):
        parse_since("yesterday", NOW)


def test_a_wait_in_words_rounds_up_to_minutes_past_a_minute_and_a_half() -> None:
    assert [for_people(s) for s in (1, 45, 89, 90, 3590)] == [
        "1 second", "45 seconds", "89 seconds", "2 minutes", "60 minutes"]  # fmt: skip
