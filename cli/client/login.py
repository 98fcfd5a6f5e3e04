"""Getting logged in: the username and hidden password prompts, retries and sign-up.

chat/1 answers an unknown user exactly like a wrong password, so the client cannot tell them
apart. Where the server allows sign-up, the first refusal therefore offers to create the
account; `user_exists` then tells the user it was the password after all. Wrong passwords
re-prompt until the server locks the account; every other refusal ends the attempt.

The prompts come in as an `Ask` function, so tests script them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from cli.client import render as r
from cli.client.controller import REPLY_TIMEOUT_S, ServerLink
from service.protocol import JsonObject
from service.rules import is_valid_username


class Ask(Protocol):
    """Prompt the user; raises EOFError (Ctrl-D) or KeyboardInterrupt (Ctrl-C) to give up."""

    def __call__(self, prompt: str, *, password: bool = False) -> Awaitable[str]: ...


@dataclass(frozen=True, slots=True)
class LoggedIn:
    user: str
    pending: int  # stored messages about to arrive as `message` events


Out = Callable[[r.Line], None]


async def call(link: ServerLink, op: str, **fields: Any) -> JsonObject:
    """A request's reply. Raises ConnectionError if none comes (lost link or no answer)."""
    try:
        return await asyncio.wait_for(asyncio.wrap_future(link.request(op, **fields)),
                                      REPLY_TIMEOUT_S)  # fmt: skip
    except TimeoutError:
        raise ConnectionError("the server did not answer") from None


async def ask_username(ask: Ask, out: Out) -> str:
    while True:
        name = (await ask("Username: ")).strip()
        if is_valid_username(name):
            return name
        if name:
            out(r.note("A username is 1 to 32 letters, digits, _ . or -.", "usage"))


async def log_in(link: ServerLink, ask: Ask, out: Out, user: str, signup: bool) -> LoggedIn | None:
    """Prompt for passwords until logged in (LoggedIn) or refused for good (None, after a
    line saying why)."""
    offered_signup = False
    while True:
        password = await ask("Password: ", password=True)
        reply = await call(link, "login", user=user, password=password)
        if reply.get("ok"):
            return LoggedIn(_user(reply, user), _count(reply.get("pending")))
        out(r.note(r.login_refusal(reply, user), "error"))
        if reply.get("error") != "bad_credentials":
            return None
        if signup and not offered_signup:
            offered_signup = True
            # Masked: someone who expected the password prompt again must not see it echoed.
            answer = await ask(f"Or create a new account called {user}? [y/N] ", password=True)
            if answer.strip().lower() in ("y", "yes"):
                created = await register(link, ask, out, user)
                if created is not None:
                    return created


async def register(link: ServerLink, ask: Ask, out: Out, user: str) -> LoggedIn | None:
    """Sign up as `user`; None (after a line saying why) sends the caller back to login."""
    while True:
        password = await ask("Choose a password: ", password=True)
        if password != await ask("Type it again: ", password=True):
            out(r.note("The two passwords differ; try again.", "usage"))
            continue
        reply = await call(link, "register", user=user, password=password)
        if reply.get("ok"):
            out(r.note(f"Account {user} created.", "info"))
            return LoggedIn(_user(reply, user), 0)
        error = reply.get("error")
        if error == "user_exists":
            out(r.note(f"{user} already exists, so it was the password that was wrong.", "error"))
            return None
        out(r.note(r.clean(reply.get("text") or error), "error"))
        if error != "weak_password":
            return None


def _user(reply: JsonObject, typed: str) -> str:
    """The name the server confirms; it goes into the prompt and the welcome line, so
    anything that is not a chat/1 username (escape codes included) falls back to ours."""
    name = reply.get("user")
    return name if isinstance(name, str) and is_valid_username(name) else typed


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
