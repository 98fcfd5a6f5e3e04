"""The terminal outside the chat prompt: the questions asked there, the echo, and the keys typed
while no prompt is up.

prompt_toolkit draws what is typed at a prompt itself (the terminal is in raw mode then, and
it puts back the mode it found). Between prompts (connecting, waiting out `rate_limited`,
reconnecting) the terminal is in its usual mode, which echoes every key: a password typed
again there would show in clear. `no_echo()` turns the echo off for the program's whole run;
the prompts are unaffected, since they never used it. `drop_typed_ahead()` throws away what
was typed before a question appeared (still in the terminal, or read by the last prompt and
kept for the next one), so that keys meant for the chat never answer a question nor fill a
password prompt. Without a terminal (tests, pipes) both do nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import termios
from collections.abc import Iterator
from typing import TextIO

from prompt_toolkit import PromptSession
from prompt_toolkit.input import create_input
from prompt_toolkit.input.typeahead import clear_typeahead
from prompt_toolkit.styles import Style
from prompt_toolkit.utils import is_dumb_terminal

# The chat prompt, and a prompt that asks something (a private chat request, logged out).
PROMPT_STYLE = Style.from_dict({"prompt": "bold", "ask": "bold ansimagenta"})


@contextlib.contextmanager
def no_echo(stream: TextIO = sys.stdin) -> Iterator[None]:
    """Keys typed outside the prompts are not shown; the terminal's mode is put back after."""
    if not stream.isatty():
        yield
        return
    fd = stream.fileno()
    before = termios.tcgetattr(fd)
    quiet = termios.tcgetattr(fd)
    quiet[3] &= ~(termios.ECHO | termios.ECHONL)  # lflag
    # Ctrl-C here (while reconnecting, say) must not make the terminal throw away what was
    # typed: the client lists it as not sent (take_typed_ahead).
    quiet[3] |= termios.NOFLSH
    termios.tcsetattr(fd, termios.TCSANOW, quiet)
    try:
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSANOW, before)


def drop_typed_ahead(stream: TextIO = sys.stdin) -> None:
    """Forget the keys typed so far that no prompt has taken yet."""
    if not stream.isatty():
        return
    termios.tcflush(stream.fileno(), termios.TCIFLUSH)
    clear_typeahead(create_input(stream))


def take_typed_ahead(stream: TextIO = sys.stdin) -> str:
    """The keys typed so far that no prompt has taken (not echoed: `no_echo`), taken from
    the terminal, so that a client about to exit can say they were not sent. Canonical mode
    holds a line back until Enter; switched off for the moment, it hands the partial line
    over too."""
    if not stream.isatty():
        return ""
    fd = stream.fileno()
    before = termios.tcgetattr(fd)
    now = termios.tcgetattr(fd)
    now[3] &= ~termios.ICANON  # lflag
    now[6][termios.VMIN], now[6][termios.VTIME] = 0, 0  # read what is there, never wait
    termios.tcsetattr(fd, termios.TCSANOW, now)
    try:
        taken = b""
        while chunk := os.read(fd, 4096):
            taken += chunk
    finally:
        termios.tcsetattr(fd, termios.TCSANOW, before)
    return taken.decode("utf-8", "replace")


def after_prompt(draft: str) -> str:
    """What to write after a prompt's text when the prompt starts holding `draft`. A dumb
    terminal's prompt (TERM=dumb) is written once, and then prompt_toolkit only echoes the
    keys typed, never the line it starts with: there the draft is written out, or the keys
    typed on would look like a line of their own while they went on with it. Elsewhere
    nothing: the prompt draws the draft itself."""
    return draft if is_dumb_terminal() else ""


async def ask(prompt: str, *, password: bool = False) -> str:
    """A fresh session per question: a password never enters any history."""
    return await PromptSession[str]().prompt_async(prompt, is_password=password)


async def ask_afresh(prompt: str, *, password: bool = False) -> str:
    """A question after a session ended: what was typed before it appeared was meant for the
    chat, not for this question (nor for a password prompt), so it is dropped."""
    drop_typed_ahead()
    return await ask(prompt, password=password)


async def wait_dropping_keys(seconds: float) -> None:
    """A wait the login sits out (`rate_limited`): what is typed meanwhile (the password
    again, perhaps) is not echoed (`no_echo`) and must not reach the next prompt."""
    await asyncio.sleep(seconds)
    drop_typed_ahead()
