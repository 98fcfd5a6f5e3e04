"""chat-client: the terminal edge. Arguments, the prompt, and wiring the parts together.

Everything runs on one asyncio loop, the one prompt_toolkit's prompt runs on. The link's
reader thread and the private chats' threads hand what they receive to that loop
(`call_soon_threadsafe`); lines are drawn above the input line by `Screen`, so what the user
is typing is never garbled. Commands run in a worker task, one at a time in the order typed:
outcomes print in order, and a slow reply never stops the user typing.

Exit codes: 0 after logout, idle timeout or server shutdown (all announced by the server's
`bye`) and after cancelling the login; 1 when the connection is lost or the login refused;
2 for bad arguments.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import ssl
import sys
from collections.abc import Callable, Coroutine, Iterable
from datetime import datetime
from typing import Any, TypeVar

from prompt_toolkit import PromptSession
from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document
from prompt_toolkit.formatted_text import FormattedText
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
from prompt_toolkit.patch_stdout import patch_stdout
from prompt_toolkit.styles import Style

from cli.client import commands as c
from cli.client import render as r
from cli.client.controller import EXIT_LOST, EXIT_OK, LOGOUT_TIMEOUT_S, Chat
from cli.client.link import Incoming, Link, LinkClosed
from cli.client.login import ask_username, log_in
from cli.client.p2p import PrivateChats
from cli.client.screen import Screen
from cli.client.tls import client_context
from service.config import DEFAULT_PORT
from service.rules import is_valid_username

HELLO_TIMEOUT_S = 10.0  # a chat/1 server greets at once; silence means it is something else
EXIT_INTERRUPTED = 130  # Ctrl-C outside the prompt (e.g. while connecting), as shells report it

T = TypeVar("T")
PROMPT_STYLE = Style.from_dict({"prompt": "bold", "ask": "bold ansimagenta"})


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="chat-client",
        description="Chat with the other users of a Parley (chat/1) server.",
        epilog="Once logged in, type help for the commands.",
    )
    parser.add_argument(
        "host", nargs="?", default="127.0.0.1", help="server address (default 127.0.0.1)"
    )
    parser.add_argument(
        "port",
        nargs="?",
        type=_port,
        default=DEFAULT_PORT,
        help=f"server port (default {DEFAULT_PORT})",
    )
    parser.add_argument("--user", type=_username, help="log in as USER (no username prompt)")
    parser.add_argument(
        "--tls",
        action="store_true",
        help="connect with TLS, checking that the server's certificate names HOST",
    )
    parser.add_argument(
        "--ca-file",
        metavar="FILE",
        help="with --tls: trust the CA certificates in FILE (PEM) instead of the system's",
    )
    args = parser.parse_args(argv)
    if args.ca_file is not None and not args.tls:
        parser.error("--ca-file goes with --tls")
    return args


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
    try:
        return asyncio.run(run(args.host, args.port, args.user, tls))
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


def printer(colour: bool) -> Callable[[r.Line], None]:
    """Print a line, while no prompt is running (login)."""

    def out(line: r.Line) -> None:
        print(r.to_ansi(line, colour), flush=True)

    return out


def on_loop(loop: asyncio.AbstractEventLoop, handler: Callable[[T], None]) -> Callable[[T], None]:
    """Wrap `handler` so that calling it from any thread runs it on `loop`."""

    def call(item: T) -> None:
        loop.call_soon_threadsafe(handler, item)

    return call


def local_now() -> datetime:
    return datetime.now().astimezone()


async def ask(prompt: str, *, password: bool = False) -> str:
    """A fresh session per question: a password never enters any history."""
    return await PromptSession[str]().prompt_async(prompt, is_password=password)


async def run(host: str, port: int, user: str | None, tls: ssl.SSLContext | None = None) -> int:
    loop = asyncio.get_running_loop()
    incoming: asyncio.Queue[Incoming] = asyncio.Queue()
    colour = r.colour_enabled(os.environ, sys.stdout.isatty())
    out = printer(colour)  # until the chat prompt starts; then `Screen`
    try:
        link = Link.connect(host, port, on_loop(loop, incoming.put_nowait), tls)
    except ssl.SSLCertVerificationError as exc:
        out(
            r.note(
                f"{host} port {port}: the server's certificate is not trusted "
                f"({exc.verify_message}); --ca-file FILE names a CA to trust.",
                "error",
            )
        )
        return EXIT_LOST
    except ssl.SSLError as exc:
        out(r.note(f"Could not talk TLS with {host} port {port} ({exc.reason or exc}); "
                   "is it a TLS server?", "error"))  # fmt: skip
        return EXIT_LOST
    except OSError as exc:
        out(r.note(f"Could not connect to {host} port {port}: {exc.strerror or exc}.", "error"))
        return EXIT_LOST
    try:
        hello = await _wait_hello(incoming)
        if hello is None:
            hint = "" if tls else " (if it uses TLS, add --tls)"
            out(r.note(f"{host} port {port} is not answering as a chat/1 server{hint}.", "error"))
            return EXIT_LOST
        try:
            name = user or await ask_username(ask, out)
            logged_in = await log_in(link, ask, out, name, signup=hello.get("signup") is True)
        except (EOFError, KeyboardInterrupt):
            out(r.note("Login cancelled."))
            return EXIT_OK
        except ConnectionError:
            out(r.note("Lost the connection to the server.", "error"))
            return EXIT_LOST
        if logged_in is None:
            return EXIT_LOST
        out(r.welcome(logged_in.user, logged_in.pending))
        return await chat_loop(logged_in.user, link, incoming, colour)
    finally:
        link.close()


async def _wait_hello(incoming: asyncio.Queue[Incoming]) -> dict[str, Any] | None:
    try:
        first = await asyncio.wait_for(incoming.get(), HELLO_TIMEOUT_S)
    except TimeoutError:
        return None
    if isinstance(first, LinkClosed) or first.get("ev") != "hello":
        return None
    return first


async def chat_loop(me: str, link: Link, incoming: asyncio.Queue[Incoming], colour: bool) -> int:
    """The logged-in session: prompt, run commands, print what arrives, until it ends."""
    loop = asyncio.get_running_loop()
    session: PromptSession[str] = PromptSession(
        message=lambda: _prompt_text(chat),
        style=PROMPT_STYLE,
        completer=UserCompleter(lambda: chat.known_users | set(peers.peers())),
        complete_while_typing=False,
        reserve_space_for_menu=4,
        key_bindings=_key_bindings(),
    )
    screen = Screen(session, colour)
    peers = PrivateChats(me, link.local_host, on_loop(loop, lambda ev: chat.handle_peer(ev)))
    chat = Chat(
        me, link, peers, screen.out, local_now,
        on_change=lambda: _refresh(session, chat), when_shown=screen.when_shown,
    )  # fmt: skip
    with patch_stdout(raw=True):  # for stray output only; our lines go through `screen`
        pump = asyncio.create_task(_pump(incoming, chat))
        runner = CommandRunner(screen.out)
        runner.submit(chat.run(c.WhoElse()))
        await _read_commands(session, chat, screen.out, runner)
        await _wait_ended(chat)
        runner.close()
        pump.cancel()
        await screen.wait_shown()
    return EXIT_LOST if chat.exit_code is None else chat.exit_code


async def _read_commands(
    session: PromptSession[str], chat: Chat, out: Callable[[r.Line], None], runner: CommandRunner
) -> None:
    while chat.exit_code is None:
        try:
            line = await session.prompt_async(pre_run=lambda: _refresh(session, chat))
        except EOFError:  # Ctrl-D on an empty line
            line = "logout"
        if chat.exit_code is not None:
            return
        try:
            command = c.parse(line)
        except c.UsageError as exc:
            runner.submit(_say(out, r.note(exc.hint, "usage")))
            continue
        if isinstance(command, c.Logout):
            await runner.drain(LOGOUT_TIMEOUT_S)  # what was typed before goes out first
            await chat.logout()
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


def _refresh(session: PromptSession[str], chat: Chat) -> None:
    """Redraw the prompt (its text may have changed), or end it when the session is over.
    Also the prompt's pre_run hook, which closes the gap between the loop's check and the
    prompt starting."""
    app = session.app
    if chat.exit_code is None:
        app.invalidate()
    elif app.is_running and app.future is not None and not app.future.done():
        app.exit(result="")


def _key_bindings() -> KeyBindings:
    bindings = KeyBindings()

    @bindings.add("c-c")
    def _clear_line(event: KeyPressEvent) -> None:
        """Ctrl-C clears what is typed, as in a shell; it does not quit (Ctrl-D does)."""
        event.current_buffer.reset()

    return bindings


class UserCompleter(Completer):
    """Tab completion from the command table: command words, then usernames seen so far."""

    def __init__(self, users: Callable[[], Iterable[str]]) -> None:
        self._users = users

    def get_completions(
        self, document: Document, complete_event: CompleteEvent
    ) -> Iterable[Completion]:
        prefix, options = c.suggest(document.text_before_cursor, self._users())
        for option in options:
            yield Completion(option, start_position=-len(prefix))


if __name__ == "__main__":
    sys.exit(main())
