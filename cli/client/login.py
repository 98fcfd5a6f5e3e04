"""Getting logged in: the username and hidden password prompts, retries, sign-up, and logging
in again after a reconnect.

The connection is opened before the first prompt, so a server that cannot be reached (or
whose certificate does not fit) is said before anyone types a password; a connection that the
server has closed meanwhile (its inactivity timeout ends a connection that never logged in,
too) is opened again when the login goes out.

chat/1 answers an unknown user exactly like a wrong password, so the client cannot tell them
apart. A refusal asks for the password again, for the same name: most refusals are a mistyped
password, and a password retyped at any other prompt would be echoed. Enter alone there is the
second thought: it offers to create the account (where the server allows sign-up, once per
name), then asks for the username (the last one is the default). `user_exists` then says the
name is taken (perhaps in other capitals: chat/1 precise point 14), so it was the password or
the name's case. Wrong passwords re-prompt until the server locks the account; every other
refusal ends the attempt, except `rate_limited`, which is sent again after the `retry_after`
the server names, as long as the user lets it. An empty first password, and a new password
shorter than the server's default floor, are refused here, without spending an attempt.

The prompts come in as an `Ask` function and the server as a `Connection`, so tests script
both.
"""

from __future__ import annotations

import asyncio
import enum
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from cli.client import render as r
from cli.client.controller import REPLY_TIMEOUT_S, ServerLink
from cli.client.remembered import Keeper, UnsafeTokenFile
from cli.client.rooms import RoomUnread, rooms_at_login
from service.wire.codec import JsonObject
from service.wire.names import MIN_PASSWORD_CHARS, is_valid_username


class Ask(Protocol):
    """Prompt the user; raises EOFError (Ctrl-D) or KeyboardInterrupt (Ctrl-C) to give up."""

    def __call__(self, prompt: str, *, password: bool = False) -> Awaitable[str]: ...


class Connection(Protocol):
    @property
    def signup(self) -> bool:
        """Whether the server's hello allows `register`."""
        ...

    async def link(self) -> ServerLink:
        """The open connection; connects (again) if there is none. Raises ConnectionError
        whose text is a sentence for the user."""
        ...


@dataclass(frozen=True, slots=True)
class LoggedIn:
    user: str
    pending: int  # stored messages about to arrive as `message` events
    idle_timeout_s: int | None = None  # the server's inactivity timeout, if it said
    # Kept in this process only, to log in again after a reconnect; never written anywhere.
    password: str = field(default="", repr=False)
    rooms: tuple[RoomUnread, ...] = ()  # our rooms and their unread counts (chat/1 rooms)
    # The login's token (chat/1 "Staying signed in"), when it used or was given one: a
    # reconnect logs in with it. Written only by a Keeper, into a file of the user's own.
    token: str | None = field(default=None, repr=False)


Out = Callable[[r.Line], None]
Wait = Callable[[float], Awaitable[None]]  # asyncio.sleep, or a test's clock


class NoAnswer(ConnectionError):
    """The connection is up but the server did not answer in time."""


async def call(link: ServerLink, op: str, **fields: Any) -> JsonObject:
    """A request's reply. Raises ConnectionError if none comes (lost link or no answer)."""
    try:
        return await asyncio.wait_for(asyncio.wrap_future(link.request(op, **fields)),
                                      REPLY_TIMEOUT_S)  # fmt: skip
    except TimeoutError:
        raise NoAnswer("The server did not answer.") from None


async def ask_username(ask: Ask, out: Out, default: str | None = None) -> str:
    prompt = f"Username [{default}]: " if default else "Username: "
    while True:
        name = (await ask(prompt)).strip() or (default or "")
        if is_valid_username(name):
            return name
        if name:
            out(r.note("A username is 1 to 32 letters, digits, _ . or -.", "usage"))


async def ask_password(ask: Ask, out: Out, prompt: str = "Password: ") -> str:
    """A password that is not empty: an empty one would only spend a login attempt."""
    while not (password := await ask(prompt, password=True)):
        out(r.note("The password is empty: type it, or press Ctrl-D to give up.", "usage"))
    return password


async def send(server: Connection, op: str, **fields: Any) -> JsonObject:
    """`op` on the connection, opening it first if needed. A connection that the server had
    just closed (its inactivity timeout ends a connection that never logged in, too) is
    opened again once: a request that met a closed connection was never carried out."""
    link = await server.link()
    try:
        return await call(link, op, **fields)
    except NoAnswer:
        raise
    except ConnectionError:
        return await call(await server.link(), op, **fields)


async def send_patiently(
    server: Connection, out: Out, op: str, wait: Wait = asyncio.sleep, **fields: Any
) -> JsonObject:
    """`op`, sent again after the `retry_after` the server gives with `rate_limited` (many
    logins from one address at once, e.g. a class behind one NAT), for as long as it takes:
    the user sees each wait and its length, and Ctrl-C (KeyboardInterrupt) stops it."""
    while True:
        reply = await send(server, op, **fields)
        if reply.get("error") != "rate_limited":
            return reply
        seconds = retry_after_s(reply)
        out(r.note(f"The server is busy with logins from your address; trying again in "
                   f"{r.duration(seconds)}. Ctrl-C stops."))  # fmt: skip
        await wait(seconds * (1 + RETRY_JITTER * random.random()))


# The clients a rate limit sent away at once must not all come back in the same second: each
# waits up to this fraction longer than the server's retry_after (never shorter).
RETRY_JITTER = 0.5


def retry_after_s(reply: JsonObject) -> int:
    """chat/1 precise point 2: whole seconds, at least 1; anything else counts as 1."""
    value = reply.get("retry_after")
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    return 1


AGAIN_HINT = "Type the password again, or press Enter alone to change the username"
SIGNUP_HINT = " or to create the account {name}"


async def log_in(
    server: Connection,
    ask: Ask,
    out: Out,
    user: str | None,
    wait: Wait = asyncio.sleep,
    *,
    newcomer: bool = True,
    keeper: Keeper | None = None,
) -> LoggedIn | None:
    """Prompt until logged in (LoggedIn) or refused for good (None, after a line saying why).
    Raises ConnectionError (a sentence) when the server cannot be reached. `newcomer`: the
    user may have no account yet (not so when a reconnect finds the password changed).
    With a `keeper`, a login remembered for the name is used first, without a prompt, and
    with `keeper.wanted` a password login asks for a token to keep."""
    await server.link()  # before any prompt: an unreachable server is said at once
    name = user or await ask_username(ask, out)
    if keeper is not None:
        remembered = await _with_token(server, ask, out, name, keeper, wait)
        if remembered is not _ASK_PASSWORD:
            return remembered
    wanted = keeper is not None and keeper.wanted
    logged_in = await _with_password(server, ask, out, name, wait, newcomer, wanted)
    if logged_in is not None and keeper is not None and wanted:
        _keep(keeper, out, logged_in)
    return logged_in


class _Next(enum.Enum):
    ASK_PASSWORD = "ask_password"  # no token to log in with, or it no longer works


_ASK_PASSWORD = _Next.ASK_PASSWORD


async def _with_token(
    server: Connection, ask: Ask, out: Out, name: str, keeper: Keeper, wait: Wait
) -> LoggedIn | _Next | None:
    """Log in with the token kept for `name`, if there is one that may be used; a token the
    server no longer takes (expired, revoked) is deleted, and the password is asked."""
    try:
        token = keeper.load(name)
    except UnsafeTokenFile as exc:
        out(r.note(str(exc), "error"))
        return _ASK_PASSWORD
    if token is None:
        return _ASK_PASSWORD
    reply = await send_patiently(server, out, "login", wait, user=name, token=token)
    if reply.get("ok"):
        return _logged_in(reply, name, "", token)
    if reply.get("error") == "bad_credentials":
        keeper.forget(name)
        out(r.note(FORGOTTEN, "info"))
        return _ASK_PASSWORD
    out(r.note(r.login_refusal(reply, name), "error"))
    if reply.get("error") == "online_elsewhere":
        return await _take_over(server, ask, out, name, {"token": token}, wait)
    return None


FORGOTTEN = ("The remembered login no longer works (it expired, or was ended by `forget` or by "
             "an operator), so it is forgotten here; log in with your password.")  # fmt: skip


def _keep(keeper: Keeper, out: Out, logged_in: LoggedIn) -> None:
    """Keep the token a password login was given; if there is none (a server without the
    `tokens` feature) or it cannot be kept, say so: the login works, only the next one will
    ask for the password again."""
    if logged_in.token is None:
        out(r.note("This server gives no login tokens, so this login is not remembered.",
                   "info"))  # fmt: skip
        return
    try:
        keeper.save(logged_in.user, logged_in.token)
    except OSError as exc:
        out(r.note(f"Could not remember this login in {keeper.path(logged_in.user)} "
                   f"({exc.strerror or exc}); the next start asks for the password.",
                   "error"))  # fmt: skip
        return
    out(r.note("This login is remembered here: the next start needs no password (`forget` "
               "logs out and ends it).", "info"))  # fmt: skip


async def _with_password(
    server: Connection, ask: Ask, out: Out, name: str, wait: Wait, newcomer: bool,
    remember: bool,
) -> LoggedIn | None:  # fmt: skip
    """The password prompts, until logged in or refused for good. `remember`: ask the server
    for a token (chat/1 `remember`), at the login and at a sign-up."""
    offered_signup: set[str] = set()  # once per name: a typo'd first name must not use it up
    extra = {"remember": True} if remember else {}
    if server.signup and newcomer:  # the way in, said before a password is spent on a guess
        out(r.note(f"No account yet? Press Enter alone at the password prompt to create one "
                   f"as {name}.", "usage"))  # fmt: skip
        if not (password := await ask("Password: ", password=True)):
            created = await _offer_signup(server, ask, out, name, offered_signup, remember)
            if created is not None:
                return created
            name = await ask_username(ask, out, default=name)
            password = await ask_password(ask, out)
    else:
        password = await ask_password(ask, out)
    while True:
        fields = {"user": name, "password": password, **extra}
        reply = await send_patiently(server, out, "login", wait, **fields)
        if reply.get("ok"):
            return _logged_in(reply, name, password)
        out(r.note(r.login_refusal(reply, name), "error"))
        if reply.get("error") == "online_elsewhere":
            return await _take_over(server, ask, out, name, {"password": password, **extra},
                                    wait)  # fmt: skip
        if reply.get("error") != "bad_credentials":
            return None
        may_sign_up = server.signup and name not in offered_signup
        out(r.note(AGAIN_HINT + (SIGNUP_HINT.format(name=name) if may_sign_up else "") + ".",
                   "usage"))  # fmt: skip
        if password := await ask("Password: ", password=True):
            continue
        if may_sign_up:
            created = await _offer_signup(server, ask, out, name, offered_signup, remember)
            if created is not None:
                return created
        name = await ask_username(ask, out, default=name)  # the name may be the typo
        password = await ask_password(ask, out)


TAKE_OVER = "Take over the other session? [y/N] "


async def _take_over(
    server: Connection, ask: Ask, out: Out, name: str, credentials: dict[str, Any], wait: Wait
) -> LoggedIn | None:
    """chat/1 "Several sessions": the user is logged in elsewhere as often as the server
    allows; on yes, log in with `replace`, which ends the oldest of those sessions (it hears
    `bye replaced`). None (after a line saying why) when not. `credentials`: the login's
    `password` or `token` (and `remember`)."""
    if (await ask(TAKE_OVER)).strip().lower() not in ("y", "yes"):
        return None
    fields = {"user": name, **credentials, "replace": True}
    reply = await send_patiently(server, out, "login", wait, **fields)
    if reply.get("ok"):
        out(r.note("Took over: the other session has been logged out.", "info"))
        return _logged_in(reply, name, credentials.get("password", ""),
                          credentials.get("token"))  # fmt: skip
    out(r.note(r.login_refusal(reply, name), "error"))
    return None


async def _offer_signup(
    server: Connection, ask: Ask, out: Out, name: str, offered: set[str], remember: bool
) -> LoggedIn | None:
    """Ask whether to create the account `name` (once per name) and do it when told to."""
    offered.add(name)
    answer = await ask(f"Create a new account called {name}? [y/N] ")
    if answer.strip().lower() in ("y", "yes"):
        return await register(server, ask, out, name, remember=remember)
    return None


class LoginRefused(Exception):
    """The server refused to log us in again, for good (a line has said why)."""


class LoginNotYet(ConnectionError):
    """The server refused to log us in again for now (RETRY_LATER): like a server not back
    yet, another attempt follows; the text says why, for when the reconnect says it."""


# Refusals of a login again that may pass by themselves: the server may not have noticed yet
# that our last connection ended (chat/1 precise point 9 holds for ends it sees), and a server
# whose disk refused writes for a moment answers `internal` until its writes work again.
# The reconnect says so if they last (cli.client.reconnect), not at every attempt.
RETRY_LATER = frozenset({"online_elsewhere", "internal"})


async def log_in_again(
    server: Connection, ask: Ask, out: Out, before: LoggedIn, wait: Wait = asyncio.sleep,
    keeper: Keeper | None = None,
) -> LoggedIn:  # fmt: skip
    """After a reconnect: the same user and password (or token), no prompts, unless it no
    longer works (the password changed, the token was revoked): then the password is asked
    for, as at the first login (a dead token deleted first). LoginNotYet (saying why) when
    worth trying again later; LoginRefused when not."""
    credentials = {"password": before.password} if before.token is None else {
        "token": before.token}  # fmt: skip
    reply = await send_patiently(server, out, "login", wait, user=before.user, **credentials)
    if reply.get("ok"):
        return _logged_in(reply, before.user, before.password, before.token)
    if reply.get("error") in RETRY_LATER:
        raise LoginNotYet(r.login_refusal(reply, before.user))
    if reply.get("error") == "bad_credentials" and before.token is not None:
        if keeper is not None:
            keeper.forget(before.user)
        out(r.note(FORGOTTEN, "info"))
    else:
        out(r.note(r.login_refusal(reply, before.user), "error"))
    if reply.get("error") == "bad_credentials":
        again = await log_in(server, ask, out, before.user, wait, newcomer=False, keeper=keeper)
        if again is not None:
            return again
    raise LoginRefused


async def register(
    server: Connection, ask: Ask, out: Out, user: str, *, remember: bool = False
) -> LoggedIn | None:
    """Sign up as `user`; None (after a line saying why) sends the caller back to login.
    `remember`: ask for a token too (chat/1 "Staying signed in")."""
    while True:
        password = await ask_password(ask, out, "Choose a password: ")
        if len(password) < MIN_PASSWORD_CHARS:  # said now, not after typing it twice
            out(r.note(f"A password needs at least {MIN_PASSWORD_CHARS} characters; choose "
                       "a longer one.", "usage"))  # fmt: skip
            continue
        if password != await ask("Type it again: ", password=True):
            out(r.note("The two passwords differ; try again.", "usage"))
            continue
        extra = {"remember": True} if remember else {}
        reply = await send(server, "register", user=user, password=password, **extra)
        if reply.get("ok"):
            out(r.note(f"Account {user} created.", "info"))
            return _logged_in({**reply, "pending": 0}, user, password)
        error = reply.get("error")
        if error == "user_exists":  # `user` itself, or the same name in other capitals
            taken = r.clean(reply.get("text") or f"The name {user} is taken.")
            out(r.note(f"{taken} If it is your account, check the password and the name's "
                       "capitals.", "error"))  # fmt: skip
            return None
        out(r.note(r.clean(reply.get("text") or error), "error"))
        if error != "weak_password":
            return None


def _logged_in(reply: JsonObject, typed: str, password: str, token: str | None = None) -> LoggedIn:
    """`token`: the one the login used; a token in the reply (`remember`) takes its place."""
    given = reply.get("token")
    return LoggedIn(
        _user(reply, typed), _count(reply.get("pending")), _timeout(reply.get("idle_timeout")),
        password, rooms_at_login(reply.get("rooms")),
        given if isinstance(given, str) and given else token,
    )  # fmt: skip


def _user(reply: JsonObject, typed: str) -> str:
    """The name the server confirms; it goes into the prompt and the welcome line, so
    anything that is not a chat/1 username (escape codes included) falls back to ours."""
    name = reply.get("user")
    return name if isinstance(name, str) and is_valid_username(name) else typed


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _timeout(value: object) -> int | None:
    """`idle_timeout`: whole seconds; anything else (or absent: other servers) is unknown."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None
