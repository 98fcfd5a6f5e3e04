"""What follows a chat session's end at the terminal: logging in again, or the exit.

`cli.client.reconnect` decides (a pure policy) and retries; this module is its terminal edge:
the prompt after an idle logout, Ctrl-C to stop the attempts, and, when the client is about to
exit, the lines about what was not sent (messages the server never confirmed, the line being
typed).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
from collections.abc import Callable, Iterator
from typing import Any

from prompt_toolkit import PromptSession
from prompt_toolkit.formatted_text import FormattedText

from cli.client import commands as c
from cli.client import render as r
from cli.client.controller import EXIT_LOST, EXIT_OK, Chat, Memory
from cli.client.dialer import Dialer
from cli.client.login import LoggedIn, LoginRefused, log_in_again
from cli.client.reconnect import After, after_end, reconnect
from cli.client.remembered import Keeper
from cli.client.terminal import (
    PROMPT_STYLE,
    after_prompt,
    ask_afresh,
    take_typed_ahead,
    wait_dropping_keys,
)

EXIT_INTERRUPTED = 130  # Ctrl-C at the login or while reconnecting, as shells report it
COME_BACK_PROMPT = "[logged out: Enter logs in again, Ctrl-C quits] "

Out = Callable[[r.Line], None]


async def next_session(
    chat: Chat, draft: str, memory: Memory, dialer: Dialer, out: Out, before: LoggedIn,
    keeper: Keeper | None = None,
) -> tuple[LoggedIn | None, str, int]:  # fmt: skip
    """After `chat` ended with `draft` half typed: the next login and the line its prompt
    starts with; or None (after saying what was not sent) and the exit code."""
    after = after_end(chat.bye_reason, _logged_out(chat))
    if after is After.ASK:
        typed = await _ask_to_come_back(draft)
        after, draft = (After.END, draft) if typed is None else (after, typed)
    code = EXIT_LOST if chat.exit_code is None else chat.exit_code
    again: LoggedIn | None = None
    if after is not After.END:
        again, code = await _log_in_again(dialer, out, before, keeper,
                                          at_once=after is After.ASK)  # fmt: skip
    if again is None:
        # Keys typed while it tried to come back went on with the line (and past it, with
        # Enter); they would have reached the prompt: now they are said to be lost with it.
        _say_unsent(memory, draft + take_typed_ahead(), out)
    return again, draft, code


def _logged_out(chat: Chat) -> bool:
    """The user ended the session: the server's `bye logout`, or a logout it never answered
    (the session is over, not resumable, and the server said nothing)."""
    return chat.bye_reason == "logout" or (chat.bye_reason is None and not chat.resumable)


async def _ask_to_come_back(draft: str) -> str | None:
    """After the idle logout, whether to log in again, asked by a prompt that holds the line
    being typed: keys typed after the logout go on into that line, which they were meant for,
    and never answer a question. Returns the line (Enter: log in again), or None (Ctrl-C, or
    Ctrl-D on an empty line: quit)."""
    session: PromptSession[str] = PromptSession(style=PROMPT_STYLE)
    try:
        return await session.prompt_async(
            FormattedText([("class:ask", COME_BACK_PROMPT), ("", after_prompt(draft))]),
            default=draft,
        )
    except (EOFError, KeyboardInterrupt):
        return None


class _Stopped(Exception):
    """The user pressed Ctrl-C at a prompt while reconnecting."""


async def _log_in_again(
    dialer: Dialer, out: Out, before: LoggedIn, keeper: Keeper | None, *, at_once: bool
) -> tuple[LoggedIn | None, int]:
    """Reconnect and log in (cli.client.reconnect) until it works, the server refuses us, or
    the user stops it (Ctrl-C, or Ctrl-D at a password prompt); the new login, or None and
    the exit code."""

    async def attempt() -> LoggedIn | None:
        try:
            return await log_in_again(dialer, ask_afresh, out, before, wait_dropping_keys,
                                      keeper)  # fmt: skip
        except KeyboardInterrupt as exc:  # Ctrl-C at a password prompt: a BaseException,
            raise _Stopped from exc  # which asyncio would let out of the whole event loop

    trying = asyncio.create_task(
        reconnect(attempt, out, asyncio.sleep, random.random, at_once=at_once)
    )
    try:
        with _ctrl_c_cancels(trying):
            return await trying, EXIT_OK
    except LoginRefused:
        return None, EXIT_LOST
    except EOFError:
        out(r.note("Login cancelled."))
        return None, EXIT_OK
    except (asyncio.CancelledError, _Stopped):  # Ctrl-C
        trying.cancel()
        out(r.note("Stopped reconnecting."))
        return None, EXIT_INTERRUPTED


@contextlib.contextmanager
def _ctrl_c_cancels(task: asyncio.Task[Any]) -> Iterator[None]:
    """While no prompt runs, Ctrl-C is a signal: here it cancels `task` (the reconnect), where
    asyncio's own handler would end the whole program without a word. A prompt inside the
    task takes Ctrl-C as a key (KeyboardInterrupt from the prompt) as usual."""
    before = signal.getsignal(signal.SIGINT)
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGINT, task.cancel)
    try:
        yield
    finally:
        loop.remove_signal_handler(signal.SIGINT)
        signal.signal(signal.SIGINT, before)


def _say_unsent(memory: Memory, draft: str, out: Out) -> None:
    """Messages held for a reconnect that will not come, and the line being typed: the user
    must know."""
    for cmd in memory.unsent.values():
        to = f"say {cmd.room}" if isinstance(cmd, c.Say) else f"message {cmd.user}"
        out(r.note(f"Not confirmed by the server, so perhaps not sent: {to} "
                   f"{r.clean(cmd.text)}", "error"))  # fmt: skip
    for line in draft.splitlines():
        if line.strip():
            out(r.note(f"You were typing, not sent: {r.clean(line)}", "error"))
