"""After a session ends without the user asking: whether to log in again, and when.

The policy is pure: `after_end` reads how the session ended (the server's `bye` reason, or
none when the connection just dropped) and says what comes next; `delay_s` spaces the
attempts, doubling from FIRST_DELAY_S up to MAX_DELAY_S, each with jitter so that the clients
of a restarted server do not all come back in the same instant. `reconnect` is the loop that
applies them, with the waiting, the randomness and the login handed in, so tests script all
three. It runs until it is logged in, the server refuses for good (LoginRefused), or its
caller cancels it (the user's Ctrl-C). A restart should cost the user a line, not a screenful:
it says once that it reconnects, keeps quiet about failed attempts for the first QUIET_S of
waiting (a restarting server, even one that renews its certificate, is back by then), and only
then says why each attempt failed and when the next one comes, a line per attempt as the waits
grow.

What each ending leads to (chat/1 "Connection lifecycle" and precise point 17):
- the connection lost, `shutdown` (a restart, e.g. after a certificate renewal) and
  `slow_consumer` (the network was slow for a moment): back on its own;
- `timeout` (the user was idle): ask first, since nobody may be at the keyboard;
- `logout` (the user asked), `account_deleted`, `kicked`, `replaced` (an operator or another
  login of the same user decided) and `protocol_error` (we would only be cut off again): the
  end; a reason this client does not know yet: ask.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable

from cli.client import render as r
from cli.client.login import LoggedIn

FIRST_DELAY_S = 1.0  # a restarting server is usually back within a second or two
MAX_DELAY_S = 30.0  # however long the server is away, it is tried at least this often
JITTER_FRACTION = 0.5  # each delay is drawn from [ceiling * (1 - this), ceiling]
QUIET_S = 20.0  # seconds of waiting before failed attempts are reported, one line each


class After(enum.Enum):
    RECONNECT = "reconnect"  # log in again on its own, with backoff
    ASK = "ask"  # ask the user first
    END = "end"  # exit: the user or the operator decided


_AFTER_BYE: dict[str | None, After] = {
    None: After.RECONNECT,  # the connection dropped without a word
    "shutdown": After.RECONNECT,
    "slow_consumer": After.RECONNECT,
    "timeout": After.ASK,
    "logout": After.END,
    "account_deleted": After.END,
    "kicked": After.END,
    "replaced": After.END,
    "protocol_error": After.END,
}


def after_end(bye_reason: str | None, logged_out: bool) -> After:
    """What follows a session that ended with `bye_reason` (None: no bye); `logged_out`
    when the user asked for the end (a logout that the server never confirmed included)."""
    if logged_out:
        return After.END
    return _AFTER_BYE.get(bye_reason, After.ASK)


def delay_s(attempt: int, random: float) -> float:
    """Seconds to wait before attempt number `attempt` (0 first), given `random` in [0, 1):
    a ceiling that doubles from FIRST_DELAY_S up to MAX_DELAY_S, less up to JITTER_FRACTION
    of it."""
    ceiling: float = min(MAX_DELAY_S, FIRST_DELAY_S * 2.0 ** min(attempt, 32))
    return ceiling * (1 - JITTER_FRACTION * random)


Out = Callable[[r.Line], None]
LogIn = Callable[[], Awaitable[LoggedIn | None]]  # None: refused for now, try again later


async def reconnect(
    log_in: LogIn,
    out: Out,
    sleep: Callable[[float], Awaitable[None]],
    random: Callable[[], float],
    *,
    at_once: bool = False,
) -> LoggedIn:
    """Log in again, waiting before each attempt (but the first one `at_once`: the user just
    said yes), until it works. ConnectionError (the server is not back yet) and a None from
    `log_in` mean another attempt; anything else (LoginRefused, the caller's cancellation)
    ends the loop."""
    out(r.note("Reconnecting… Ctrl-C stops.", "info"))
    attempt, why, waited = 0, "", 0.0
    while True:
        if attempt or not at_once:
            wait = delay_s(attempt, random())
            if waited >= QUIET_S:  # no longer a quick restart: say why, and when
                out(r.note(f"{why} Trying again in {_seconds(wait)}… Ctrl-C stops.", "error"))
            await sleep(wait)
            waited += wait
        try:
            again = await log_in()
        except ConnectionError as exc:
            again, why = None, str(exc) or "Could not reach the server."
        else:
            why = "The server did not let us log in yet."
        if again is not None:
            return again
        attempt += 1


def _seconds(value: float) -> str:
    """`0.7 seconds`, `1.4 seconds`, `30 seconds`: short waits are worth their tenths."""
    return f"{value:.1f} seconds" if value < 10 else r.duration(value)
