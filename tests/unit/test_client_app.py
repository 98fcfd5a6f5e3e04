"""chat-client's terminal edge, the parts that need no server: arguments, the history file,
completion and what Enter leaves on the screen."""

from __future__ import annotations

import asyncio
import io
import stat
from pathlib import Path
from typing import cast

import pytest
from prompt_toolkit import PromptSession
from prompt_toolkit.buffer import Buffer
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document
from prompt_toolkit.history import FileHistory
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output.plain_text import PlainTextOutput

from cli.client import app, history
from cli.client.controller import Chat


def test_no_bell_switch() -> None:
    assert app.parse_args([]).bell is True
    assert app.parse_args(["--no-bell"]).bell is False


@pytest.mark.parametrize(
    ("argv", "host", "port"),
    [
        ([], "127.0.0.1", 5000),
        (["--user", "bob", "--port", "5077"], "127.0.0.1", 5077),
        (["example.org", "5077"], "example.org", 5077),
        (["example.org", "--port", "5077"], "example.org", 5077),
        (["--host", "example.org", "--port", "5077"], "example.org", 5077),
        (["--host", "example.org", "5077"], "example.org", 5077),  # a lone number: the port
        (["example.org", "5077", "--host", "example.org", "--port", "5077"], "example.org", 5077),
    ],
)
def test_host_and_port_as_positionals_or_flags(argv: list[str], host: str, port: int) -> None:
    args = app.parse_args(argv)
    assert (args.host, args.port) == (host, port)


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (["a.org", "--host", "b.org"], "host given twice with different values (a.org and b.org)"),
        (["h", "5077", "--port", "5078"], "port given twice with different values (5077 and 5078)"),
        (["--host", "h", "70000"], "'70000' is not a port number (1-65535)"),
        (["--port", "http"], "argument --port: 'http' is not a port number (1-65535)"),
    ],
)
def test_a_bad_port_or_two_different_values_is_a_usage_error(
    argv: list[str], error: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        app.parse_args(argv)
    assert exited.value.code == 2
    assert f"chat-client: error: {error}" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "/home/ann/.local/share/parley/history-alice"),
        ({"XDG_DATA_HOME": "/data"}, "/data/parley/history-alice"),
        ({"XDG_DATA_HOME": ""}, "/home/ann/.local/share/parley/history-alice"),
        ({"XDG_DATA_HOME": "relative"}, "/home/ann/.local/share/parley/history-alice"),
    ],
)
def test_history_path_follows_xdg(env: dict[str, str], expected: str) -> None:
    assert history.history_path(env, Path("/home/ann"), "alice") == Path(expected)


def test_history_file_is_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    kept = history.open_history("alice")
    assert isinstance(kept, FileHistory)
    path = tmp_path / "parley" / "history-alice"
    kept.store_string("message bob hi")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert list(history.open_history("alice").load_history_strings()) == ["message bob hi"]


def test_completion_inserts_a_space_the_menu_shows_none() -> None:
    completer = app.UserCompleter(lambda: ["bob"])
    got = list(completer.get_completions(Document("message b"), CompleteEvent()))
    assert [(item.text, item.display_text, item.start_position) for item in got] == [
        ("bob ", "bob", -1)
    ]


def test_room_names_complete_too() -> None:
    completer = app.UserCompleter(lambda: ["bob"], lambda: ["#general", "#games"])
    got = list(completer.get_completions(Document("#ge"), CompleteEvent()))
    assert [(item.text, item.start_position) for item in got] == [("#general ", -3)]


@pytest.mark.parametrize(
    ("line", "room", "erased"),
    [
        ("message bob hi", None, True),
        ("whoelse", None, False),
        ("mesage bob", None, False),
        ("hello room", "#general", True),  # said in the current room: the echo stands for it
        ("hello room", None, False),
    ],
)
def test_enter_takes_an_echoed_line_off_the_screen(
    line: str, room: str | None, erased: bool
) -> None:
    """A message's outcome line repeats it; the typed copy goes, so it is not there twice."""

    async def scenario() -> bool:
        with create_pipe_input() as pipe:
            session: PromptSession[str] = PromptSession(
                input=pipe, output=PlainTextOutput(io.StringIO()),
                key_bindings=app._key_bindings(lambda: room),
            )  # fmt: skip
            pipe.send_text(line + "\r")
            assert await session.prompt_async("alice> ") == line
            return session.app.erase_when_done

    assert asyncio.run(scenario()) is erased


def test_a_prompt_the_session_end_closes_is_erased_not_left_stray() -> None:
    """The line being typed comes back in the next prompt after a reconnect, or is printed
    as not sent before the exit: the ended prompt must not stay on screen above that."""

    class Ended:
        exit_code = 0

    async def scenario() -> tuple[str, bool]:
        with create_pipe_input() as pipe:
            session: PromptSession[str] = PromptSession(
                input=pipe, output=PlainTextOutput(io.StringIO())
            )
            chat = cast(Chat, Ended())
            line = await session.prompt_async(
                "alice> ", default="message bob half", pre_run=lambda: app._refresh(session, chat)
            )
            return line, session.app.erase_when_done

    assert asyncio.run(scenario()) == ("", True)


def test_a_line_set_aside_for_a_question_comes_back_with_what_was_typed_since() -> None:
    """The y/n question takes the prompt; the half-typed line waits and comes back whole,
    also when the question goes unanswered and something was typed into its prompt."""
    buffer, aside = Buffer(), app.SetAside()
    buffer.insert_text("members #lab")
    aside.follow(buffer, asking=True)
    assert buffer.text == ""
    buffer.insert_text(" and more")  # typed at the question, then it was withdrawn
    aside.follow(buffer, asking=False)
    assert buffer.text == "members #lab and more"
    buffer.reset()
    buffer.insert_text("half")
    aside.follow(buffer, asking=True)
    assert aside.back("") == "half"  # the session ended while asked: the line is not lost
