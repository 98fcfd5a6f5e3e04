"""The real `chat-client` in a pseudo-terminal (pexpect) against a real server.

Each client is its own process, typing goes in as keystrokes, and the tests wait on what
appears on the screen, never on sleeps. NO_COLOR keeps the screen text plain;
PROMPT_TOOLKIT_NO_CPR stops prompt_toolkit asking the (fake) terminal for its cursor position.
"""

from __future__ import annotations

import contextlib
import io
import os
import queue
import signal
import socket
import stat
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pexpect
import pytest

from service.config import ServerConfig
from service.wire.codec import FrameDecoder, encode
from tests.conftest import PASSWORD
from tests.support.client import TestClient
from tests.support.rooms import crowd_room
from tests.support.server import RunningServer

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.sqlite_only  # the terminal is under test; any database will do
SCREEN = (40, 120)  # rows, columns: fixed, so line wrapping never splits what we expect
WAIT_S = 10
Spawn = Callable[..., pexpect.spawn]


@pytest.fixture
def spawn_at(tmp_path: Path) -> Iterator[Callable[..., pexpect.spawn]]:
    """`spawn_at(port, "alice")`: a chat-client for 127.0.0.1:port, logged in as alice, at
    its prompt; `args` are more switches, `term` the terminal's type (TERM). Its data
    directory (history) is tmp_path/data, its state directory (remembered logins)
    tmp_path/state."""
    children: list[pexpect.spawn] = []

    def start(
        port: int,
        user: str,
        *,
        log_in: bool = True,
        to_prompt: bool = True,
        args: tuple[str, ...] = (),
        term: str = "xterm",
    ) -> pexpect.spawn:
        # COLUMNS and LINES as the pty's own size: an inherited COLUMNS (pytest's workers may
        # have one) would make the client wrap lines at another width than the screen's.
        env = {**os.environ, "NO_COLOR": "1", "TERM": term, "PROMPT_TOOLKIT_NO_CPR": "1",
               "XDG_DATA_HOME": str(tmp_path / "data"), "LINES": str(SCREEN[0]),
               "XDG_STATE_HOME": str(tmp_path / "state"),
               "COLUMNS": str(SCREEN[1])}  # fmt: skip
        argv = ["-m", "cli.client.app", "127.0.0.1", str(port), "--user", user, *args]
        child = pexpect.spawn(
            sys.executable, argv, cwd=str(ROOT), env=env, dimensions=SCREEN,
            encoding="utf-8", timeout=WAIT_S,
        )  # fmt: skip
        children.append(child)
        if log_in:
            child.expect_exact("Password:")
            type_line(child, PASSWORD)
            child.expect_exact(f"Welcome, {user}!")
        if log_in and to_prompt:
            child.expect_exact(f"{user}>")
        return child

    yield start
    for child in children:
        child.close(force=True)


@pytest.fixture
def spawn(server: RunningServer, spawn_at: Callable[..., pexpect.spawn]) -> Spawn:
    """`spawn("alice")`: as spawn_at, for the test's server unless `port` says otherwise."""
    assert server.host == "127.0.0.1"

    def start(user: str, *, port: int | None = None, **options: Any) -> pexpect.spawn:
        return spawn_at(port or server.port, user, **options)

    return start


def type_line(child: pexpect.spawn, text: str) -> None:
    """Type a line and press Enter (a carriage return, as a real terminal sends)."""
    child.send(text + "\r")


def exit_code(child: pexpect.spawn) -> int:
    child.expect(pexpect.EOF)
    child.wait()
    assert child.exitstatus is not None, f"killed by signal {child.signalstatus}"
    return int(child.exitstatus)


def open_private_chat(alice: pexpect.spawn, bob: pexpect.spawn) -> None:
    type_line(alice, "startprivate bob")
    alice.expect_exact("Asked bob for a private chat")
    bob.expect_exact("alice wants a private chat with you. Type y to accept or n to decline.")
    bob.expect_exact("alice asks for a private chat. Accept? [y/n]")
    type_line(bob, "y")
    bob.expect_exact("Private chat with alice is open.")
    alice.expect_exact("Private chat with bob is open.")


def test_two_users_exchange_messages(spawn: Spawn) -> None:
    alice, bob = spawn("alice"), spawn("bob")
    alice.expect_exact("* bob is online")
    type_line(alice, "message bob hello bob, how are you?")
    alice.expect_exact("you → bob: hello bob, how are you?")
    bob.expect_exact("alice: hello bob, how are you?")
    type_line(bob, "message alice fine, thanks")
    alice.expect_exact("bob: fine, thanks")
    type_line(bob, "whoelse")
    bob.expect_exact("Online now: alice")
    type_line(bob, "mesage alice typo")
    bob.expect_exact("Unknown command 'mesage'. Did you mean message?")
    type_line(bob, "logout")
    bob.expect_exact("Logged out. Bye!")
    assert exit_code(bob) == 0
    alice.expect_exact("* bob went offline")


def test_offline_message_arrives_at_login_once(spawn: Spawn) -> None:
    alice = spawn("alice")
    type_line(alice, "message bob see you tomorrow")
    alice.expect_exact("bob is offline; they get it at login")
    bob = spawn("bob", to_prompt=False)
    bob.expect_exact("1 message arrived while you were away:")
    bob.expect_exact("alice (while you were away): see you tomorrow")
    bob.sendcontrol("d")  # Ctrl-D on an empty line logs out
    bob.expect_exact("Logged out. Bye!")
    assert exit_code(bob) == 0
    again = spawn("bob", to_prompt=False)  # the message was acknowledged: it is not back
    again.expect_exact("Type help for the commands.")  # what the welcome says when none wait


def test_full_private_chat(spawn: Spawn) -> None:
    alice, bob = spawn("alice"), spawn("bob")
    open_private_chat(alice, bob)
    type_line(alice, "private bob first from alice")
    type_line(alice, "private bob second from alice")
    bob.expect_exact("alice (private): first from alice")
    bob.expect_exact("alice (private): second from alice")
    type_line(bob, "private alice first from bob")
    type_line(bob, "private alice second from bob")
    alice.expect_exact("bob (private): first from bob")
    alice.expect_exact("bob (private): second from bob")
    type_line(alice, "stopprivate bob")
    alice.expect_exact("You ended the private chat with bob.")
    bob.expect_exact("alice ended the private chat.")
    type_line(bob, "private alice anyone there?")
    bob.expect_exact("anyone there? — not sent: no private chat with alice is open")


def test_peer_logout_ends_the_private_chat(spawn: Spawn) -> None:
    alice, bob = spawn("alice"), spawn("bob")
    open_private_chat(alice, bob)
    type_line(bob, "logout")
    assert exit_code(bob) == 0
    alice.expect_exact("bob logged out; the private chat has ended.")
    type_line(alice, "private bob hello?")
    alice.expect_exact("hello? — not sent: no private chat with bob is open")


def expect_all_exact(child: pexpect.spawn, lines: dict[str, tuple[str, ...]]) -> None:
    """Wait until, for each key of `lines`, one of its texts has appeared, in any order:
    for what comes by two roads whose race nobody orders (each within WAIT_S of the last)."""
    choices = [(key, text) for key, texts in lines.items() for text in texts]
    waiting = set(lines)
    while waiting:
        key, _ = choices[child.expect_exact([text for _, text in choices])]
        waiting.discard(key)


def test_peer_crash_ends_the_private_chat(spawn: Spawn) -> None:
    """bob's crash closes his link to alice and his connection to the server at once: alice
    hears of the end from whichever her client reads first, the peer link ("cut off") or the
    server's private_stopped ("lost their connection"), once, and then or before that bob
    going offline. Expecting one sentence, then the other, timed out when they came the
    other way round."""
    alice, bob = spawn("alice"), spawn("bob")
    open_private_chat(alice, bob)
    bob.kill(signal.SIGKILL)
    expect_all_exact(alice, {
        "ended": ("The private chat with bob was cut off.",
                  "bob lost their connection; the private chat has ended."),
        "offline": ("* bob went offline",),
    })  # fmt: skip
    type_line(alice, "private bob hello?")
    alice.expect_exact("hello? — not sent: no private chat with bob is open")


def test_block_ends_the_private_chat_on_both_sides(spawn: Spawn) -> None:
    alice, bob = spawn("alice"), spawn("bob")
    open_private_chat(alice, bob)
    type_line(bob, "block alice")
    bob.expect_exact("The private chat with alice has ended (blocked).")
    alice.expect_exact("The private chat with bob has ended (blocked).")
    type_line(alice, "startprivate bob")
    alice.expect_exact("bob has blocked you.")  # a refusal shows the server's sentence


def test_typing_survives_an_arriving_message(spawn: Spawn) -> None:
    alice, bob = spawn("alice"), spawn("bob")
    alice.send("message bob half")  # no Enter yet
    type_line(bob, "broadcast interruption")
    alice.expect_exact("bob to everyone: interruption")
    type_line(alice, " and the rest")
    bob.expect_exact("alice: half and the rest")


def test_server_shutdown_is_said_and_reconnected_until_ctrl_c(
    server: RunningServer, spawn: Spawn
) -> None:
    """A graceful shutdown is how a restart begins: the client tries to come back on its
    own (test_client_life.py has the restart) until the user stops it."""
    alice = spawn("alice")
    server.stop()
    alice.expect_exact("The server is shutting down")
    alice.expect_exact("Reconnecting… Ctrl-C stops.")
    alice.kill(signal.SIGINT)
    alice.expect_exact("Stopped reconnecting.")
    assert exit_code(alice) == 130


def test_wrong_password_then_lockout_is_explained(spawn: Spawn) -> None:
    carol = spawn("carol", log_in=False)
    carol.expect_exact("Password:")
    for left in ("2 attempts", "1 attempt"):
        type_line(carol, "not the password")
        carol.expect_exact(f"Wrong username or password. {left} left before the account locks.")
        carol.expect_exact("press Enter alone to change the username")
        carol.expect_exact("Password:")  # asked again first: a retyped password stays hidden
    type_line(carol, "still wrong")
    carol.expect_exact("carol is locked after too many wrong passwords. Try again in 60 seconds.")
    assert exit_code(carol) == 1


def test_tab_completion_and_the_bell(spawn: Spawn) -> None:
    alice, bob = spawn("alice"), spawn("bob", args=("--no-bell",))
    alice.expect_exact("* bob is online")
    type_line(bob, "message alice ping")
    alice.expect_exact("bob: ping")
    alice.expect_exact("\a")  # a direct message rings the bell
    alice.send("mes\t")  # completes to "message " ...
    alice.send("b\t")  # ... and bob to "bob ", so the next word follows at once
    type_line(alice, "pong")
    bob.expect_exact("alice: pong")
    type_line(bob, "whoelse")
    bob.expect_exact("Online now: alice")
    assert "\a" not in bob.before  # --no-bell


def test_history_is_kept_per_user_between_sessions(spawn: Spawn, tmp_path: Path) -> None:
    alice = spawn("alice")
    type_line(alice, "whoelsesince 60")
    alice.expect_exact("Nobody else was online in the last")
    type_line(alice, "/quit")  # IRC's word works too
    assert exit_code(alice) == 0
    path = tmp_path / "data" / "parley" / "history-alice"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = spawn("alice")
    again.expect_exact("Nobody else is online.")
    again.send("\x1b[A\x1b[A")  # Up twice: past /quit to the line before it
    type_line(again, "")
    again.expect_exact("Nobody else was online in the last")


def test_room_join_talk_and_catch_up_with_the_real_server(
    spawn: Spawn, connect: Callable[[], TestClient]
) -> None:
    """Two users in #general on the real server: a plain line goes to the current room; what
    is said while bob is away is his catch-up at his next login, under its unread count, once;
    and having shown it, his client moved his read marker on the server."""
    alice, bob = spawn("alice"), spawn("bob")
    type_line(alice, "join #general")
    alice.expect_exact(
        "You created #general. Plain lines now go to #general; commands start with /."
    )
    alice.expect_exact("alice #general>")  # the current room, in the prompt
    type_line(bob, "join #general")
    bob.expect_exact("You are in #general (2 members).")
    alice.expect_exact("* bob joined #general")
    type_line(alice, "hello bob")  # not a command: said in the current room
    alice.expect_exact("#general you: hello bob")
    bob.expect_exact("#general alice: hello bob")
    type_line(bob, "/logout")  # in a room, commands start with /
    # What bob has seen is read: "hello bob" is not caught up again.
    bob.expect_exact("Logged out. Bye!")
    assert exit_code(bob) == 0
    assert "not sent" not in (bob.before or ""), bob.before  # the logout line was carried out
    alice.expect_exact("* bob went offline")

    missed = ("first while you were out", "second while you were out", "third one")
    for text in missed:
        type_line(alice, text)
        alice.expect_exact(f"#general you: {text}")  # stored: the server answered ok

    again = spawn("bob", to_prompt=False)
    again.logfile_read = screen = io.StringIO()  # everything from here on, to count lines
    again.expect(r"Your rooms: #general \((\d+) unread\)\.")
    assert again.match.group(1) == "3", "the line bob saw before logging out is unread again"
    again.expect_exact("#general: 3 unread, showing the last 3:")
    for text in missed:
        again.expect_exact(f"#general alice (while you were away): {text}")
    again.expect_exact("bob>")  # no current room after a login
    type_line(again, "logout")
    again.expect_exact("Logged out. Bye!")
    assert exit_code(again) == 0
    for text in missed:
        assert screen.getvalue().count(f": {text}") == 1, screen.getvalue()
    assert "hello bob" not in screen.getvalue()

    # The server has bob's read marker at the last line shown: nothing is unread any more.
    raw = connect()
    assert raw.login("bob", PASSWORD)["rooms"] == [{"room": "#general", "unread": 0}]


def test_in_a_room_a_sentence_that_starts_with_a_command_word_is_said(spawn: Spawn) -> None:
    """Issue 17 item 2: in a conversation a plain line is said there and commands start with
    /; the prompt shows the conversation; /query makes a user's the current one."""
    alice, bob = spawn("alice"), spawn("bob")
    type_line(bob, "join lab")  # the # is added
    bob.expect_exact("You created #lab.")
    type_line(alice, "join #lab")
    alice.expect_exact("alice #lab>")
    for line in ("who is coming to the lab?", "help me with the lab please", "leave"):
        type_line(alice, line)
        alice.expect_exact(f"#lab you: {line}")
        bob.expect_exact(f"#lab alice: {line}")
    type_line(alice, "/whoelse")  # a command, with its /
    alice.expect_exact("Online now: bob")
    type_line(alice, "/shrug")  # not a command: refused, never said
    alice.expect_exact("Unknown command '/shrug'. Type /help for the list of commands.")
    type_line(alice, "/query BOB")  # the name bob is known: sent as bob
    alice.expect_exact("Plain lines now go to bob as direct messages")
    alice.expect_exact("alice → bob>")
    type_line(alice, "message to you alone")
    bob.expect_exact("alice: message to you alone")
    type_line(alice, "/close")
    alice.expect_exact("No current conversation")
    type_line(alice, "quit")  # with no conversation, the bare command words work
    assert exit_code(alice) == 0


class Cutter:
    """A TCP relay in front of the server whose connections can be cut, as a network
    failure would: the client sees its connection drop without a `bye`."""

    def __init__(self, host: str, port: int) -> None:
        self._upstream = (host, port)
        self._listener = socket.create_server((host, 0))
        self.port = int(self._listener.getsockname()[1])
        self._socks: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):  # closed by close()
            while True:
                client, _ = self._listener.accept()
                server = socket.create_connection(self._upstream)
                self._socks += [client, server]
                for a, b in ((client, server), (server, client)):
                    threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65_536):
                dst.sendall(data)
        for sock in (src, dst):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        for sock in self._socks:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self._socks.clear()

    def close(self) -> None:
        self.cut()
        self._listener.close()


def test_a_lost_connection_comes_back_on_its_own(spawn: Spawn, server: RunningServer) -> None:
    cutter = Cutter(server.host, server.port)
    try:
        alice = spawn("alice", port=cutter.port)
        alice.expect_exact("Nobody else is online.")
        alice.send("message bob half")  # typed, not sent
        alice.expect_exact("message bob half")  # in the prompt's buffer, not on its way
        cutter.cut()
        alice.expect_exact("Lost the connection to the server")
        alice.expect_exact("Reconnecting… Ctrl-C stops.")  # no question: the same user, password
        alice.expect_exact("Reconnected as alice.")
        alice.expect_exact("message bob half")  # the half-typed line is back in the prompt
        type_line(alice, " and the rest")
        alice.expect_exact("you → bob: half and the rest")
    finally:
        cutter.close()


class TestIdleLogout:
    """With a server that logs idle users out after IDLE_S."""

    IDLE_S = 2

    @pytest.fixture
    def server_config(self, db_url: str) -> ServerConfig:
        return ServerConfig(port=0, db_url=db_url, block_duration_s=60, timeout_s=self.IDLE_S)

    def test_the_half_typed_line_stays_and_keys_do_not_go_to_the_shell(self, spawn: Spawn) -> None:
        """Nor into a question: keys typed after the idle logout go on into the line being
        typed, at a prompt where Enter logs in again."""
        alice = spawn("alice", to_prompt=False)
        alice.expect_exact("Nobody else is online.")
        alice.send("message bob half")
        alice.expect_exact("message bob half")
        alice.expect_exact("You were logged out for being idle too long.")
        alice.expect_exact("[logged out: Enter logs in again, Ctrl-C quits] ")
        alice.expect_exact("message bob half")  # the program waits; keys stay with it
        type_line(alice, " done")  # typed on, then Enter: log in again with the line
        alice.expect_exact("Reconnected as alice.")
        alice.expect_exact("message bob half done")  # back in the chat prompt, not sent yet
        type_line(alice, "")
        alice.expect_exact("you → bob: half done")
        alice.expect_exact("[logged out: Enter logs in again, Ctrl-C quits] ")  # idle again
        alice.sendcontrol("c")
        assert exit_code(alice) == 0
        assert "Please answer y or n" not in alice.before


class ScriptedServer:
    """A chat/1 server played by the test, one frame at a time: for moments that are hard to
    bring about with the real server (a request withdrawn while its question is on screen),
    for a server without rooms, and to see the client's frames exactly (the one `read` a
    catch-up costs)."""

    def __init__(self, features: list[str] | None = None) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._conn: socket.socket | None = None
        self._greeted: queue.Queue[socket.socket] = queue.Queue()
        self._decoder = FrameDecoder()
        self._frames: list[dict[str, object]] = []
        self._skipped: list[dict[str, object]] = []  # frames `take` passed over
        self._hello: dict[str, object] = {"ev": "hello", "proto": "chat/1", "server": "scripted",
                                          "signup": False}  # fmt: skip
        if features is not None:
            self._hello["features"] = features
        threading.Thread(target=self._greet, daemon=True).start()

    def _greet(self) -> None:
        """Greet each connection as it comes, as a server does: the client connects before
        its first prompt (and again after a drop) and waits for `hello` before going on."""
        with contextlib.suppress(OSError):  # the listener was closed
            while True:
                conn, _ = self._listener.accept()
                conn.settimeout(WAIT_S)
                conn.sendall(encode(self._hello))
                self._greeted.put(conn)

    def accept(self) -> None:
        """Talk on the next connection (greeted already), waiting for it up to WAIT_S."""
        self._conn = self._greeted.get(timeout=WAIT_S)

    def send(self, frame: dict[str, object]) -> None:
        assert self._conn is not None
        self._conn.sendall(encode(frame))

    def recv(self) -> dict[str, object]:
        assert self._conn is not None
        while not self._frames:
            data = self._conn.recv(65_536)
            assert data, "the client closed"
            self._frames += [f for f in self._decoder.feed(data) if isinstance(f, dict)]
        return self._frames.pop(0)

    def take(self, op: str) -> dict[str, object]:
        """The first frame with `op` that the client sent (waiting for it up to the socket's
        timeout); frames before it are kept for later, so that requests and the `read`s the
        client sends in between may come in any order."""
        for index, frame in enumerate(self._skipped):
            if frame.get("op") == op:
                return self._skipped.pop(index)
        while (frame := self.recv()).get("op") != op:
            self._skipped.append(frame)
        return frame

    def answer(self, op: str, **fields: object) -> dict[str, object]:
        """Reply ok to the client's `op` request; returns the request."""
        request = self.take(op)
        self.send({"re": request["id"], "ok": True, **fields})
        return request

    def drop(self) -> None:
        """Cut the client's connection without a word, as a network failure would; a new
        one can be accepted."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self._listener.close()
        while not self._greeted.empty():
            self._greeted.get_nowait().close()


def typed_password(
    scripted: ScriptedServer, spawn_at: Callable[..., pexpect.spawn]
) -> pexpect.spawn:
    """alice's chat-client for the scripted server, connected, her password typed."""
    alice = spawn_at(scripted.port, "alice", log_in=False)
    scripted.accept()
    alice.expect_exact("Password:")
    type_line(alice, PASSWORD)
    return alice


def logged_in(scripted: ScriptedServer, spawn_at: Callable[..., pexpect.spawn]) -> pexpect.spawn:
    """alice's chat-client logged in to the scripted server, at her prompt."""
    alice = typed_password(scripted, spawn_at)
    scripted.answer("login", user="alice", pending=0)
    scripted.answer("whoelse", users=[])
    alice.expect_exact("alice>")
    return alice


def test_a_cancelled_request_leaves_the_prompt_and_idleness_is_warned(
    spawn_at: Callable[..., pexpect.spawn],
) -> None:
    scripted = ScriptedServer()
    try:
        alice = spawn_at(scripted.port, "alice", log_in=False)
        scripted.accept()  # the client connects before it asks for the password
        alice.expect_exact("Password:")
        type_line(alice, PASSWORD)
        scripted.answer("login", user="alice", pending=0, idle_timeout=2)
        scripted.answer("whoelse", users=[])
        scripted.send({"ev": "private_request", "request": "r1", "from": "bob"})
        alice.expect_exact("bob asks for a private chat. Accept? [y/n]")
        scripted.send(
            {"ev": "private_cancelled", "request": "r1", "user": "bob", "reason": "withdrawn"}
        )
        alice.expect_exact("bob withdrew the private chat request.")
        alice.expect_exact("alice>")  # the question is gone
        type_line(alice, "y")
        alice.expect_exact("No private chat request is waiting for an answer.")
        # idle_timeout 2 s: warned a quarter of it before the server would log us out
        alice.expect_exact("the server logs you out in 1 second unless you send a command.")
        type_line(alice, "join #class")  # this server's hello lists no features
        alice.expect_exact("This server has no rooms (its hello does not list the rooms feature).")
    finally:
        scripted.close()


def test_a_half_typed_line_is_set_aside_while_a_private_request_is_asked(
    spawn_at: Callable[..., pexpect.spawn],
) -> None:
    """The answer is a line of its own: `members #lab` + `n` would be no answer."""
    scripted = ScriptedServer()
    try:
        alice = logged_in(scripted, spawn_at)
        alice.send("whoelsesince 60")  # half typed
        alice.expect_exact("whoelsesince 60")
        scripted.send({"ev": "private_request", "request": "r1", "from": "bob"})
        alice.expect_exact("bob asks for a private chat. Accept? [y/n]")
        type_line(alice, "n")
        answer = scripted.take("private_answer")
        assert (answer["request"], answer["accept"]) == ("r1", False)
        scripted.send({"re": answer["id"], "ok": True})
        alice.expect_exact("You declined bob's private chat request.")
        alice.expect_exact("whoelsesince 60")  # back in the prompt, still not sent
        type_line(alice, "")
        scripted.answer("whoelsesince", users=[])
        alice.expect_exact("Nobody else was online in the last")
    finally:
        scripted.close()


def test_a_message_the_server_is_slow_to_answer_shows_as_sending(
    spawn_at: Callable[..., pexpect.spawn],
) -> None:
    """Issue 17 item 7: the typed line gives way to its outcome; while the server stalls the
    message must not vanish: it shows above the prompt as sending… until its ok."""
    scripted = ScriptedServer()
    try:
        alice = spawn_at(scripted.port, "alice", log_in=False)
        alice.expect_exact("Password:")
        type_line(alice, PASSWORD)
        scripted.accept()
        scripted.answer("login", user="alice", pending=0)
        scripted.answer("whoelse", users=["bob"])
        alice.expect_exact("Online now: bob")
        type_line(alice, "message bob are you there?")
        request = scripted.take("message")  # and no answer yet: the server stalls
        alice.expect_exact("sending… → bob: are you there?")
        alice.expect_exact("alice>")
        scripted.send({"re": request["id"], "ok": True, "msg_id": 1, "delivered": True})
        alice.expect_exact("you → bob: are you there?")
    finally:
        scripted.close()


def room_message(seq: int, text: str, *, room: str = "#general", stored: bool = False,
                 sender: str = "bob") -> dict[str, object]:  # fmt: skip
    return {"ev": "room_message", "room": room, "seq": seq, "from": sender, "text": text,
            "sent_at": "2026-11-24T09:12:00Z", "stored": stored}  # fmt: skip


def test_rooms_catch_up_join_talk_and_read(spawn_at: Callable[..., pexpect.spawn]) -> None:
    """The frames behind the rooms (the real-server test above shows them as a user does):
    one `read` without id for a whole catch-up, only once it is shown; a room name typed in
    capitals; a room line and a join arriving while a line is half typed; Tab on a room name."""
    scripted = ScriptedServer(features=["rooms"])
    try:
        alice = typed_password(scripted, spawn_at)
        rooms = [{"room": "#general", "unread": 2}, {"room": "#quiet", "unread": 0}]
        scripted.answer("login", user="alice", pending=0, rooms=rooms)
        for seq, text in ((7, "missed one"), (8, "missed two")):
            scripted.send(room_message(seq, text, stored=True))
        alice.expect_exact("Welcome, alice! Your rooms: #general (2 unread), #quiet.")
        alice.expect_exact("#general: 2 unread, showing the last 2:")
        alice.expect_exact("#general bob (while you were away): missed one")
        alice.expect_exact("#general bob (while you were away): missed two")
        # Shown, then one read for both, without an id (no reply wanted).
        assert scripted.take("read") == {"op": "read", "room": "#general", "seq": 8}
        scripted.answer("whoelse", users=["bob"])

        type_line(alice, "join #Class")
        assert scripted.answer("join", room="#class", created=True, members=1)["room"] == "#class"
        alice.expect_exact(
            "You created #class. Plain lines now go to #class; commands start with /."
        )
        alice.expect_exact("alice #class>")
        type_line(alice, "hello class")
        say = scripted.answer("say", seq=1, delivered_to=0)
        assert (say["room"], say["text"]) == ("#class", "hello class")
        alice.expect_exact("#class you: hello class")

        alice.send("half typed")  # no Enter yet
        alice.expect_exact("half typed")
        scripted.send(room_message(2, "interruption", room="#class"))
        scripted.send({"ev": "room_join", "room": "#class", "user": "carol", "at": None})
        alice.expect_exact("#class bob: interruption")
        alice.expect_exact("* carol joined #class")
        # The prompt is drawn again (bold: an SGR code follows it) with the typing intact.
        alice.expect(r"alice #class> (\x1b\[[0-9;]*m)*half typed")
        type_line(alice, " and the rest")
        assert scripted.answer("say", seq=3, delivered_to=2)["text"] == "half typed and the rest"
        alice.expect_exact("#class you: half typed and the rest")
        assert scripted.take("read") == {"op": "read", "room": "#class", "seq": 2}

        alice.send("/say #ge\t")  # Tab completes the room's name
        type_line(alice, "over here")
        say = scripted.answer("say", seq=9, delivered_to=1)
        assert (say["room"], say["text"]) == ("#general", "over here")
        alice.expect_exact("#general you: over here")
    finally:
        scripted.close()


def test_members_of_a_room_larger_than_a_page_are_all_listed(
    server: RunningServer, spawn: Spawn
) -> None:
    """Issue 17 item 9: 2,100 names of 32 characters do not fit one 64 KiB frame (the client
    used to lose its connection over such a reply); the server pages `members` (chat/1 point
    18), and the client asks for every page and lists the whole room once."""
    names = [f"m{n:04d}".ljust(32, "x") for n in range(2_100)]
    crowd_room(server.db_url, "#big", names)
    alice = spawn("alice")
    type_line(alice, "join #big")
    alice.expect_exact("You are in #big (2101 members).")
    alice.logfile_read = screen = io.StringIO()
    type_line(alice, "/members")
    alice.expect_exact(f"#big has 2101 members: you, {names[0]},")
    alice.expect_exact(names[-1])  # the last name of the last page
    alice.expect_exact("alice #big>")
    listed = " ".join(screen.getvalue().split())  # the line wraps at the terminal's width
    assert all(f"{name}," in listed or f"{name} " in listed for name in names[::97]), listed
