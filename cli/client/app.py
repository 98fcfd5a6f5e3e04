"""chat-client: the terminal edge. Arguments, the prompt, and wiring the parts together.

Everything runs on one asyncio loop, the one prompt_toolkit's prompt runs on. The link's
reader thread and the private chats' threads hand what they receive to that loop
(`call_soon_threadsafe`); lines are drawn above the input line by `Screen`, so what the user
is typing is never garbled. Commands run in a worker task, one at a time in the order typed:
outcomes print in order, and a slow reply never stops the user typing.

The connection is opened before the first prompt (`Dialer`). When a session ends without the
user asking (`cli.client.reconnect` says which ends), the client logs in again: on its own,
with a growing delay between attempts, after a lost connection or a server restart; after
the server's idle logout only if the user presses Enter at a prompt that holds the line
being typed (so keys typed after the logout go on into that line). It logs in with the
password it kept in memory, the next prompt starts with the half-typed line, and direct
messages the server never confirmed are sent again with their nonces. Ctrl-C stops the
attempts. Keys typed outside the prompts are not echoed, and are dropped before a question
(`terminal`); what follows a session's end is `resume`'s. The chat prompt's history is kept
per user in the user's data directory.

Exit codes: 0 after logout, or when the user does not log in again after an idle logout
(announced by the server's `bye`), and after Ctrl-D at the login; 1 when the login is refused,
the account deleted, the session ended by an operator or by another login of the same user;
2 for bad arguments; 130 after Ctrl-C at a login prompt or while reconnecting.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import ssl
import sys
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from prompt_toolkit import PromptSession
from prompt_toolkit.application import Application
from prompt_toolkit.application.current import get_app_or_none
from prompt_toolkit.buffer import Buffer
from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document
from prompt_toolkit.formatted_text import FormattedText
from prompt_toolkit.history import History
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
from prompt_toolkit.patch_stdout import patch_stdout

from cli.client import commands as c
from cli.client import layout
from cli.client import render as r
from cli.client import render_rooms as rr
from cli.client.controller import EXIT_LOST, EXIT_OK, LOGOUT_TIMEOUT_S, Chat, Memory
from cli.client.dialer import Dialer, on_loop
from cli.client.history import open_history
from cli.client.link import Incoming, Link, LinkClosed
from cli.client.login import LoggedIn, log_in
from cli.client.p2p import PrivateChats
from cli.client.remembered import Keeper, TokenFiles
from cli.client.resume import EXIT_INTERRUPTED, next_session
from cli.client.screen import Screen
from cli.client.terminal import (
    PROMPT_STYLE,
    after_prompt,
    ask,
    drop_typed_ahead,
    no_echo,
    wait_dropping_keys,
)
from cli.client.tls import client_context
from service.config import DEFAULT_PORT
from service.wire.names import is_valid_username


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="chat-client",
        description="Chat with the other users of a Parley (chat/1) server.",
        epilog="Once logged in, type help for the commands.",
    )
    # Each of HOST and PORT also as a flag, as chat-server takes them; no defaults here, so
    # that _either can tell "not given" (None) from a value.
    parser.add_argument(
        "host_positional", nargs="?", metavar="HOST", help=f"server address (default {HOST})"
    )
    parser.add_argument(
        "port_positional",
        nargs="?",
        metavar="PORT",
        type=_port,
        help=f"server port (default {DEFAULT_PORT})",
    )
    parser.add_argument("--host", metavar="HOST", help="same as HOST")
    parser.add_argument("--port", metavar="PORT", type=_port, help="same as PORT")
    parser.add_argument(
        "--user", metavar="NAME", type=_username, help="log in as NAME (no username prompt)"
    )
    parser.add_argument(
        "--no-bell",
        dest="bell",
        action="store_false",
        help="do not ring the terminal bell when a message or private chat request arrives",
    )
    parser.add_argument(
        "--tls",
        action="store_true",
        help="connect with TLS, checking that the server's certificate names HOST",
    )
    parser.add_argument(
        "--remember",
        action="store_true",
        help="stay signed in: keep a login token from the server in a file only you can read, "
        "so the next start (and reconnects) need no password; `forget` ends it",
    )
    parser.add_argument(
        "--ca-file",
        metavar="FILE",
        help="with --tls: trust the CA certificates in FILE (PEM) instead of the system's",
    )
    args = parser.parse_args(argv)
    if args.ca_file is not None and not args.tls:
        parser.error("--ca-file goes with --tls")
    lone = args.host_positional
    if (
        args.host is not None
        and lone is not None
        and lone.isdigit()
        and args.port_positional is None
    ):
        # `chat-client --host example.org 5077`: beside --host, a lone number is the port
        args.host_positional, args.port_positional = None, _checked(parser, _port, lone)
    args.host = _either(parser, "host", args.host_positional, args.host, HOST)
    args.port = _either(parser, "port", args.port_positional, args.port, DEFAULT_PORT)
    del args.host_positional, args.port_positional
    return args


HOST = "127.0.0.1"  # the server's address when none is given

T = TypeVar("T")


def _checked(parser: argparse.ArgumentParser, check: Callable[[str], T], text: str) -> T:
    """`check(text)`, its ArgumentTypeError a usage error as argparse makes it."""
    try:
        return check(text)
    except argparse.ArgumentTypeError as exc:
        parser.error(str(exc))


def _either(
    parser: argparse.ArgumentParser, name: str, positional: T | None, flag: T | None, default: T
) -> T:
    """The value given as a positional or as its flag (or both, when they agree), else
    `default`; two different values are a usage error, as chat-server's (exit 2)."""
    if positional is not None and flag is not None and positional != flag:
        parser.error(f"{name} given twice with different values ({positional} and {flag})")
    if flag is not None:
        return flag
    return positional if positional is not None else default


def _port(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65_535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (1-65535)")
    return int(text)


def _username(text: str) -> str:
    if not is_valid_username(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a username (1-32 of A-Z a-z 0-9 _ . -)")
    return text


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        tls = client_context(args.ca_file) if args.tls else None
    except OSError as exc:  # the CA file is missing or not PEM
        print(f"chat-client: cannot use {args.ca_file}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    with no_echo():
        try:
            keeper = TokenFiles(args.host, args.port, wanted=args.remember)
            return asyncio.run(
                run(args.host, args.port, args.user, bell=args.bell, tls=tls, keeper=keeper)
            )
        except KeyboardInterrupt:  # outside a prompt: connecting, or waiting out a rate limit
            return EXIT_INTERRUPTED


def printer(colour: bool) -> Callable[[r.Line], None]:
    """Print a line, while no prompt is running (login), wrapped to the terminal's width."""

    def out(line: r.Line) -> None:
        width = shutil.get_terminal_size().columns
        for row in layout.wrap(line, width):
            print(r.to_ansi(row, colour), flush=True)

    return out


def local_now() -> datetime:
    return datetime.now().astimezone()


@dataclass(frozen=True, slots=True)
class Options:
    colour: bool
    bell: bool


async def run(
    host: str, port: int, user: str | None, *, bell: bool = True,
    tls: ssl.SSLContext | None = None, keeper: Keeper | None = None,
) -> int:  # fmt: skip
    options = Options(r.colour_enabled(os.environ, sys.stdout.isatty()), bell)
    out = printer(options.colour)  # while no chat prompt runs; then `Screen`
    dialer = Dialer(host, port, tls)
    try:
        try:
            logged_in = await log_in(dialer, ask, out, user, wait_dropping_keys, keeper=keeper)
        except EOFError:
            out(r.note("Login cancelled."))
            return EXIT_OK
        except KeyboardInterrupt:  # as any interrupted program: 130
            out(r.note("Login cancelled."))
            return EXIT_INTERRUPTED
        except ConnectionError as exc:
            out(r.note(str(exc) or "Lost the connection to the server.", "error"))
            return EXIT_LOST
        if logged_in is None:
            return EXIT_LOST
        drop_typed_ahead()  # typed while the login was judged: meant for a login prompt
        return await _chat_until_done(logged_in, dialer, options, out, keeper)
    finally:
        dialer.close()


async def _chat_until_done(
    logged_in: LoggedIn, dialer: Dialer, options: Options, out: Callable[[r.Line], None],
    keeper: Keeper | None = None,
) -> int:  # fmt: skip
    """Chat sessions, one after another as long as the client logs in again after one ends
    by itself; the exit code of the last. After `forget`, the kept token's file goes too."""
    memory, draft = Memory(), ""
    history = open_history(logged_in.user)
    greet, reconnected = rr.welcome, False
    while True:
        for line in greet(logged_in.user, logged_in.pending, logged_in.rooms):
            out(line)
        chat, draft = await chat_loop(logged_in, dialer.current, dialer.incoming, options,
                                      memory, history, draft, dialer.features,
                                      reconnected=reconnected)  # fmt: skip
        greet, reconnected = rr.welcome_back, True
        if chat.forgot_login and keeper is not None:
            keeper.forget(logged_in.user)
            out(r.note(FORGOT if logged_in.token else NOTHING_TO_FORGET, "info"))
        again, draft, code = await next_session(chat, draft, memory, dialer, out, logged_in, keeper)
        if again is None:
            return code
        logged_in = again


FORGOT = "This login is no longer remembered: the next start asks for the password."
NOTHING_TO_FORGET = "No login was remembered here (chat-client --remember keeps one)."


async def chat_loop(  # the session's parts, each made here
    logged_in: LoggedIn,
    link: Link,
    incoming: asyncio.Queue[Incoming],
    options: Options,
    memory: Memory,
    history: History,
    draft: str,
    features: frozenset[str] = frozenset(),
    *,
    reconnected: bool = False,
) -> tuple[Chat, str]:
    """One logged-in session: prompt, run commands, print what arrives, until it ends.
    Returns the session and what was typed but not sent when it ended. After a reconnect
    (`reconnected`) it starts quietly: who is online was said before the break."""
    loop = asyncio.get_running_loop()
    me = logged_in.user
    session: PromptSession[str] = PromptSession(
        message=lambda: _prompt_text(chat),
        style=PROMPT_STYLE,
        completer=UserCompleter(
            lambda: chat.known_users | set(peers.peers()), lambda: chat.known_rooms
        ),
        complete_while_typing=False,
        reserve_space_for_menu=4,
        key_bindings=_key_bindings(lambda: chat.current),
        history=history,
    )
    # Typing is activity the server cannot see (chat/1 precise point 15): a user in the
    # middle of a long line must not be logged out for being idle.
    session.default_buffer.on_text_changed += lambda _: chat.user_active()
    screen = Screen(session, options.colour, bell=options.bell)
    peers = PrivateChats(me, link.local_host, on_loop(loop, lambda ev: chat.handle_peer(ev)))
    aside = SetAside()
    chat = Chat(
        me, link, peers, screen.out, local_now,
        on_change=lambda: _refresh(session, chat, aside), when_shown=screen.when_shown,
        memory=memory, bell=screen.bell, idle_timeout_s=logged_in.idle_timeout_s,
        features=features, rooms=logged_in.rooms,
    )  # fmt: skip
    if reconnected:
        chat.note_reconnected()  # before the pump hands it the first event
    with patch_stdout(raw=True):  # for stray output only; our lines go through `screen`
        pump = asyncio.create_task(_pump(incoming, chat))
        runner = CommandRunner(screen.out)
        runner.submit(chat.resend_unsent())
        runner.submit(chat.refresh_online() if reconnected else chat.run(c.WhoElse()))
        await _read_commands(session, chat, screen.out, runner, draft, aside)
        await _wait_ended(chat)
        await runner.drain(LOGOUT_TIMEOUT_S)  # what was typed before the end still reports
        runner.close()
        pump.cancel()
        await screen.wait_shown()
    return chat, aside.back(session.default_buffer.text)


async def _read_commands(
    session: PromptSession[str],
    chat: Chat,
    out: Callable[[r.Line], None],
    runner: CommandRunner,
    draft: str,
    aside: SetAside,
) -> None:
    while chat.exit_code is None:
        try:
            line = await session.prompt_async(
                _prompt_message(chat, draft),
                default=draft,
                pre_run=lambda: _refresh(session, chat, aside),
            )
        except EOFError:  # Ctrl-D on an empty line
            line = "logout"
        draft = ""
        if chat.exit_code is not None:
            return
        try:
            command = c.parse(line, chat.current, asking=chat.asking)
        except c.UsageError as exc:
            runner.submit(_say(out, r.note(exc.hint, "usage")))
            continue
        if isinstance(command, c.Logout):
            session.default_buffer.reset()  # the logout line was carried out, not left typed
            await runner.drain(LOGOUT_TIMEOUT_S)  # what was typed before goes out first
            await chat.logout(forget=command.forget)
            return
        if command is not None:
            runner.submit(chat.run(command))


async def _say(out: Callable[[r.Line], None], line: r.Line) -> None:
    out(line)


class CommandRunner:
    """Runs commands one at a time in the order typed, so each outcome prints in order, while
    the prompt takes the next line at once. The exception boundary for a command: a bug in one
    is reported in a line and the next still runs."""

    def __init__(self, out: Callable[[r.Line], None]) -> None:
        self._out = out
        self._jobs: asyncio.Queue[Coroutine[Any, Any, None]] = asyncio.Queue()
        self._worker = asyncio.create_task(self._work())

    def submit(self, job: Coroutine[Any, Any, None]) -> None:
        self._jobs.put_nowait(job)

    async def drain(self, timeout_s: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._jobs.join(), timeout_s)

    def close(self) -> None:
        self._worker.cancel()
        while not self._jobs.empty():
            self._jobs.get_nowait().close()  # never started: nothing to undo

    async def _work(self) -> None:
        while True:
            job = await self._jobs.get()
            try:
                await job
            except Exception as exc:  # the boundary: report it, the session goes on
                self._out(r.note(f"Sorry, that command failed ({exc!r}).", "error"))
            finally:
                self._jobs.task_done()


async def _pump(incoming: asyncio.Queue[Incoming], chat: Chat) -> None:
    """Server frames to the controller, in order, until the link closes."""
    while True:
        item = await incoming.get()
        chat.handle_incoming(item)
        if isinstance(item, LinkClosed):
            return


async def _wait_ended(chat: Chat) -> None:
    with contextlib.suppress(TimeoutError):  # exit_code stays None: a lost connection
        await asyncio.wait_for(chat.ended.wait(), LOGOUT_TIMEOUT_S * 2)


def _prompt_text(chat: Chat) -> FormattedText:
    return FormattedText([("class:ask" if chat.asking else "class:prompt", chat.prompt())])


def _prompt_message(chat: Chat, draft: str) -> Callable[[], FormattedText]:
    """The prompt's text, for a prompt that starts holding `draft` (`after_prompt`)."""
    shown = after_prompt(draft)
    return lambda: FormattedText([*_prompt_text(chat), ("", shown)])


class SetAside:
    """The line being typed when the prompt starts to ask y/n about a private chat request
    is set aside, so that the answer is a line of its own (`members #lab` + `y` is no
    answer), and comes back once the question is gone."""

    def __init__(self) -> None:
        self.text: str | None = None

    def follow(self, buffer: Buffer, asking: bool) -> None:
        if asking and self.text is None:
            self.text = buffer.text
            buffer.reset()
        elif not asking and self.text is not None:
            buffer.set_document(Document(self.back(buffer.text)), bypass_readonly=True)
            self.text = None

    def back(self, typed: str) -> str:
        """The line set aside, with what was typed since after it: nothing typed is lost
        when the question goes unanswered (withdrawn, the asker gone, the session over)."""
        return (self.text or "") + typed


def _refresh(session: PromptSession[str], chat: Chat, aside: SetAside | None = None) -> None:
    """Redraw the prompt (its text may have changed), or end it when the session is over,
    leaving what was typed on the screen. Also the prompt's pre_run hook, which closes the
    gap between the loop's check and the prompt starting."""
    app = _prompt_app(session)
    if chat.exit_code is None:
        if aside is not None:
            aside.follow(session.default_buffer, chat.asking)
        if app is not None:
            app.erase_when_done = False  # until Enter decides otherwise
            app.invalidate()
    elif app is not None and app.future is not None and not app.future.done():
        app.erase_when_done = True  # no stray prompt: the line comes back after a reconnect,
        app.exit(result="")  # or is printed as not sent before the exit


def _prompt_app(session: PromptSession[str]) -> Application[Any] | None:
    """The application running `session`'s prompt now, if any. Usually the session's own; on
    a dumb terminal (TERM=dumb) prompt_toolkit runs each line in an application of its own
    making instead, which is then the current one, and shows the session's layout. Missing
    that one left the prompt waiting for Enter after the session had ended, and the reconnect
    behind it."""
    for app in (session.app, get_app_or_none()):
        if app is not None and app.is_running and app.layout is session.layout:
            return app
    return None


def _key_bindings(current: Callable[[], str | None] = lambda: None) -> KeyBindings:
    bindings = KeyBindings()

    @bindings.add("enter")
    def _accept(event: KeyPressEvent) -> None:
        """As usual, except that a line whose outcome repeats its text (message, broadcast,
        private, a room line) is taken off the screen: the outcome line stands for it."""
        event.app.erase_when_done = c.echoes(event.current_buffer.text, current())
        event.current_buffer.validate_and_handle()

    @bindings.add("c-c")
    def _clear_line(event: KeyPressEvent) -> None:
        """Ctrl-C clears what is typed, as in a shell; it does not quit (Ctrl-D does)."""
        event.current_buffer.reset()

    return bindings


class UserCompleter(Completer):
    """Tab completion from the command table: command words, then usernames and room names
    seen so far."""

    def __init__(
        self, users: Callable[[], Iterable[str]], rooms: Callable[[], Iterable[str]] = tuple
    ) -> None:
        self._users = users
        self._rooms = rooms

    def get_completions(
        self, document: Document, complete_event: CompleteEvent
    ) -> Iterable[Completion]:
        prefix, options = c.suggest(document.text_before_cursor, self._users(), self._rooms())
        for option in options:  # each ends in a space; the menu shows it without
            yield Completion(option, start_position=-len(prefix), display=option.rstrip())


if __name__ == "__main__":
    sys.exit(main())
