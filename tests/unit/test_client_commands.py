"""The chat-client command parser: every command word, every way to get one wrong."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cli.client import commands as c


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("message bob hello there", c.Message("bob", "hello there")),
        ("message  bob   spaced   out  ", c.Message("bob", "spaced   out")),
        ("MESSAGE bob hi", c.Message("bob", "hi")),
        ("broadcast hello all", c.Broadcast("hello all")),
        ("whoelse", c.WhoElse()),
        ("whoelsesince 300", c.WhoElseSince(300)),
        ("block bob", c.Block("bob")),
        ("unblock bob", c.Unblock("bob")),
        ("blocklist", c.BlockList()),
        ("startprivate bob", c.StartPrivate("bob")),
        ("private bob psst", c.Private("bob", "psst")),
        ("stopprivate bob", c.StopPrivate("bob")),
        ("logout", c.Logout()),
        ("help", c.Help()),
        ("help message", c.Help("message")),
        ("help yes", c.Help("y")),
        ("y", c.Answer(True)),
        ("yes", c.Answer(True)),
        ("n", c.Answer(False)),
        ("No", c.Answer(False)),
        ("message a.b-c_D9 x", c.Message("a.b-c_D9", "x")),
        ("quit", c.Logout()),
        ("exit", c.Logout()),
        ("/quit", c.Logout()),
        ("/EXIT", c.Logout()),
        ("/msg bob hi there", c.Message("bob", "hi there")),
        ("msg bob hi", c.Message("bob", "hi")),
        ("/who", c.WhoElse()),
        ("/whoelse", c.WhoElse()),
        ("/help /msg", c.Help("message")),
        ("/block bob", c.Block("bob")),
        ("message bob émoji 🎉", c.Message("bob", "émoji 🎉")),
    ],
)
def test_parses_each_command(line: str, expected: c.Command) -> None:
    assert c.parse(line) == expected


@pytest.mark.parametrize("line", ["", "   ", "\t"])
def test_blank_line_is_no_command(line: str) -> None:
    assert c.parse(line) is None


@pytest.mark.parametrize(
    ("line", "hint"),
    [
        ("message", "Usage: message USER TEXT"),
        ("message bob", "Usage: message USER TEXT"),
        ("message bob    ", "Usage: message USER TEXT"),
        ("broadcast", "Usage: broadcast TEXT"),
        ("whoelsesince", "Usage: whoelsesince SECONDS"),
        ("whoelsesince 0", "SECONDS must be a whole number"),
        ("whoelsesince -5", "SECONDS must be a whole number"),
        ("whoelsesince 1.5", "SECONDS must be a whole number"),
        ("whoelsesince ١٢", "SECONDS must be a whole number"),
        ("whoelse now", "Too many words. Usage: whoelse"),
        ("block", "Usage: block USER"),
        ("block bob carol", "Too many words. Usage: block USER"),
        ("block bob!", "'bob!' is not a username"),
        ("block " + "x" * 33, "is not a username"),
        ("private bob", "Usage: private USER TEXT"),
        ("stopprivate", "Usage: stopprivate USER"),
        ("logout now", "Too many words. Usage: logout"),
        ("mesage bob hi", "Unknown command 'mesage'. Did you mean message?"),
        ("frobnicate", "Unknown command 'frobnicate'. Type help"),
        ("help frobnicate", "Unknown command 'frobnicate'"),
        ("message bob " + "x" * 4001, "at most 4,000"),
        ("/me waves", "There is no /me here: broadcast TEXT tells everyone online."),
        ("/join #class", "There are no rooms here"),
        ("/nick bobby", "Names cannot change here"),
        ("/query bob", "startprivate USER"),
        ("/msg", "Usage: message USER TEXT"),
        ("/mesage bob hi", "Unknown command '/mesage'. Did you mean message?"),
    ],
)
def test_mistakes_give_a_one_line_hint(line: str, hint: str) -> None:
    with pytest.raises(c.UsageError) as raised:
        c.parse(line)
    assert hint in raised.value.hint
    assert "\n" not in raised.value.hint


def test_text_of_exactly_the_limit_is_accepted() -> None:
    assert c.parse("broadcast " + "é" * 4000) == c.Broadcast("é" * 4000)


@given(st.text())
def test_any_line_parses_or_gives_a_hint(line: str) -> None:
    try:
        c.parse(line)
    except c.UsageError as exc:
        assert exc.hint and "\n" not in exc.hint


def test_every_issue_command_word_is_in_the_table() -> None:
    words = {
        "message", "broadcast", "whoelse", "whoelsesince", "block", "unblock", "blocklist",
        "startprivate", "private", "stopprivate", "logout", "help",
    }  # fmt: skip
    assert words <= set(c.COMMAND_NAMES)


def test_help_lines_cover_every_command_with_its_usage() -> None:
    usages = [usage for usage, _ in c.help_lines()]
    assert "message USER TEXT" in usages
    assert "whoelsesince SECONDS" in usages
    assert c.help_lines("private") == [("private USER TEXT", c.COMMANDS["private"].help)]


@pytest.mark.parametrize(
    ("before", "users", "expected"),
    [
        ("", [], ("", [name + " " for name in c.COMMAND_NAMES])),
        ("who", [], ("who", ["whoelse ", "whoelsesince "])),
        ("Who", [], ("Who", ["whoelse ", "whoelsesince "])),
        ("mes", [], ("mes", ["message "])),  # the space: `a` next starts the next word
        ("/mes", [], ("/mes", ["/message "])),
        ("message ", ["bob", "carol"], ("", ["bob ", "carol "])),
        ("message b", ["bob", "carol", "bea"], ("b", ["bea ", "bob "])),
        ("/msg b", ["bob"], ("b", ["bob "])),
        ("message bob he", ["bob"], ("he", [])),
        ("whoelsesince ", ["bob"], ("", [])),
        ("help st", [], ("st", ["startprivate ", "stopprivate "])),
        ("nosuch b", ["bob"], ("b", [])),
        ("logout ", ["bob"], ("", [])),
    ],
)
def test_suggest(before: str, users: list[str], expected: tuple[str, list[str]]) -> None:
    assert c.suggest(before, users) == expected


@pytest.mark.parametrize(
    ("line", "echoed"),
    [
        ("message bob hi", True),
        ("/msg bob hi", True),
        ("broadcast hi", True),
        ("private bob hi", True),
        ("whoelse", False),
        ("message bob", False),  # a usage hint follows: the typed line stays to be fixed
        ("nonsense", False),
        ("", False),
    ],
)
def test_which_typed_lines_give_way_to_their_echo(line: str, echoed: bool) -> None:
    assert c.echoes(line) is echoed
