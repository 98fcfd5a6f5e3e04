"""cli.client.reconnect: which ends are reconnected, the delays between attempts, the loop."""

from __future__ import annotations

import asyncio

import pytest

from cli.client import render as r
from cli.client.login import LoggedIn, LoginRefused
from cli.client.reconnect import MAX_DELAY_S, After, after_end, delay_s, reconnect


@pytest.mark.parametrize(
    ("bye", "after"),
    [
        (None, After.RECONNECT),  # the connection dropped without a word
        ("shutdown", After.RECONNECT),  # a restart, e.g. after a certificate renewal
        ("slow_consumer", After.RECONNECT),
        ("timeout", After.ASK),  # nobody may be at the keyboard
        ("logout", After.END),
        ("account_deleted", After.END),  # chat/1 precise point 17
        ("kicked", After.END),
        ("replaced", After.END),
        ("protocol_error", After.END),
        ("some_future_reason", After.ASK),
    ],
)
def test_what_follows_each_end(bye: str | None, after: After) -> None:
    assert after_end(bye, logged_out=False) is after


@pytest.mark.parametrize("bye", [None, "logout", "shutdown"])
def test_a_logout_the_user_asked_for_is_the_end(bye: str | None) -> None:
    """Also when the server's answer never came (no bye): the user said quit."""
    assert after_end(bye, logged_out=True) is After.END


def test_delays_double_up_to_the_cap() -> None:
    assert [delay_s(n, 0.0) for n in range(7)] == [1, 2, 4, 8, 16, 30, 30]
    assert delay_s(10_000, 0.0) == MAX_DELAY_S  # no overflow however long it goes on


@pytest.mark.parametrize("attempt", [0, 3, 50])
def test_jitter_spreads_each_delay_over_its_upper_half(attempt: int) -> None:
    """Clients of a restarted server do not all come back in the same instant."""
    ceiling = delay_s(attempt, 0.0)
    assert delay_s(attempt, 0.999999) == pytest.approx(ceiling / 2, rel=1e-5)
    assert ceiling / 2 < delay_s(attempt, 0.5) < ceiling


def run_reconnect(
    outcomes: list[LoggedIn | Exception | None], *, at_once: bool = False
) -> tuple[LoggedIn, list[float], list[str], int]:
    waits: list[float] = []
    lines: list[str] = []
    tries = 0

    async def log_in() -> LoggedIn | None:
        nonlocal tries
        tries += 1
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    result = asyncio.run(
        reconnect(log_in, lambda line: lines.append(r.to_plain(line)), sleep, lambda: 0.0,
                  at_once=at_once)
    )  # fmt: skip
    return result, waits, lines, tries


ALICE = LoggedIn("alice", 0)


def test_reconnect_tries_until_the_server_is_back_saying_so_once() -> None:
    """A restart costs one line: failures in the first QUIET_S (20 s) of waiting are not
    reported (waits of 1, 2, 4, 8 s: 15 s)."""
    down = ConnectionError("Could not connect to h port 1: Connection refused.")
    result, waits, lines, tries = run_reconnect([down, down, None, down, ALICE])
    assert result is ALICE and tries == 5
    assert waits == [1, 2, 4, 8, 16]
    assert lines == ["Reconnecting… Ctrl-C stops."]


def test_a_server_away_for_longer_is_reported_at_each_attempt_with_the_reason() -> None:
    down = ConnectionError("Could not connect to h port 1: Connection refused.")
    result, waits, lines, tries = run_reconnect([down, down, down, down, down, None, ALICE])
    assert result is ALICE and tries == 7
    assert waits == [1, 2, 4, 8, 16, 30, 30]
    assert lines == [
        "Reconnecting… Ctrl-C stops.",
        "Could not connect to h port 1: Connection refused. Trying again in 30 seconds… "
        "Ctrl-C stops.",
        "The server did not let us log in yet. Trying again in 30 seconds… Ctrl-C stops.",
    ]


def test_after_the_user_said_yes_the_first_attempt_is_at_once() -> None:
    result, waits, _, _ = run_reconnect([ConnectionError("down"), ALICE], at_once=True)
    assert result is ALICE and waits == [2]


def test_a_refusal_for_good_ends_the_attempts() -> None:
    with pytest.raises(LoginRefused):
        run_reconnect([ConnectionError("down"), LoginRefused()])
