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


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("join #general", c.Join("#general")),
        ("/JOIN #General", c.Join("#general")),  # chat/1 lets a client lower-case room names
        ("leave #general", c.Leave("#general")),
        ("/part #general", c.Leave("#general")),
        ("say #general hello  there ", c.Say("#general", "hello  there")),
        ("#general hello", c.Say("#general", "hello")),
        ("#General", c.CurrentRoom("#general")),
        ("/msg #general hi", c.Say("#general", "hi")),  # irssi's /msg #channel
        ("rooms", c.Rooms()),
        ("/list", c.Rooms()),
        ("members #general", c.Members("#general")),
        ("/names #general", c.Members("#general")),
        ("history #general", c.History("#general")),
        ("history #general 100", c.History("#general", 100)),
        ("more", c.More()),
        ("more #general 5", c.More("#general", 5)),
        ("more 5", c.More(None, 5)),
        ("room #general", c.CurrentRoom("#general")),
        ("room", c.CurrentRoom(None)),
        ("help join", c.Help("join")),
    ],
)
def test_parses_each_room_command(line: str, expected: c.Command) -> None:
    assert c.parse(line) == expected


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("hello all", c.Say("#class", "hello all")),  # not a command: said in the room
        ("me too", c.Say("#class", "me too")),
        # Issue 17 item 2: in a conversation, a plain line is said there, whatever its first
        # word; commands start with /.
        ("who is coming to the lab?", c.Say("#class", "who is coming to the lab?")),
        ("help me with the lab please", c.Say("#class", "help me with the lab please")),
        ("message to the room: lab at 3", c.Say("#class", "message to the room: lab at 3")),
        ("leave", c.Say("#class", "leave")),
        ("quit", c.Say("#class", "quit")),
        ("whoelse", c.Say("#class", "whoelse")),
        ("#other hi", c.Say("#class", "#other hi")),  # a #hashtag is text too
        ("//shrug", c.Say("#class", "/shrug")),  # `//` says a line that starts with /
        ("/say whoelse is coming?", c.Say("#class", "whoelse is coming?")),  # irssi's /say
        ("/say #other hi", c.Say("#other", "hi")),
        ("/whoelse", c.WhoElse()),
        ("/leave", c.Leave("#class")),
        ("/part", c.Leave("#class")),
        ("/members", c.Members("#class")),
        ("/history 50", c.History("#class", 50)),
        ("/room", c.CurrentRoom(None)),
        ("/close", c.Query(None)),
        ("/quit", c.Logout()),
        ("/me waves", c.Me("waves")),
        ("/msg bob psst", c.Message("bob", "psst")),  # sent; #class stays current
    ],
)
def test_with_a_current_room(line: str, expected: c.Command) -> None:
    assert c.parse(line, "#class") == expected


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("who is coming to the lab?", c.Message("bob", "who is coming to the lab?")),
        ("quit", c.Message("bob", "quit")),
        ("//etc/hosts is odd", c.Message("bob", "/etc/hosts is odd")),
        ("/query", c.Query(None)),
        ("/query carol", c.Query("carol")),
        ("/quit", c.Logout()),
    ],
)
def test_with_a_current_direct_conversation(line: str, expected: c.Command) -> None:
    assert c.parse(line, "bob") == expected


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("who is coming to the lab?", None),  # no conversation: the seed's commands
        ("query bob", c.Query("bob")),
        ("/query bob", c.Query("bob")),
        ("query", c.Query(None)),
        ("close", c.Query(None)),
        ("retry", c.Retry()),
        ("join general", c.Join("#general")),  # the # added, as chat/1 lets a client
        ("join General", c.Join("#general")),
        ("leave general", c.Leave("#general")),
        ("members general", c.Members("#general")),
        ("history #general 5", c.History("#general", 5)),
        ("history general 5", c.DmHistory("general", 5)),  # a bare word is a user here
        ("history bob", c.DmHistory("bob")),
        ("conversations", c.Conversations()),
        ("dms", c.Conversations()),
        ("history #general 200", c.History("#general", 200)),  # room_talk caps it, says so
        ("more general", c.More("#general")),
        ("more 5", c.More(None, 5)),
        ("room general", c.CurrentRoom("#general")),
    ],
)
def test_with_no_current_conversation(line: str, expected: c.Command | None) -> None:
    if expected is None:
        with pytest.raises(c.UsageError, match=r"Too many words\. Usage: whoelse"):
            c.parse(line)
    else:
        assert c.parse(line) == expected


@pytest.mark.parametrize("current", ["#class", "bob", None])
@pytest.mark.parametrize(
    ("line", "hint"),
    [
        ("/who is coming?", "Too many words. Usage: whoelse"),  # a slash is never text
        ("/shrug", "Unknown command '/shrug'. Type /help for the list of commands."),
        ("/mesage bob hi", "Unknown command '/mesage'. Did you mean /message?"),
        ("/lave", "Did you mean /leave?"),
        ("/whoo", "Did you mean /who?"),  # aliases are commands too
        ("/lst", "Did you mean /list?"),
        ("/clear", "To clear the screen, press Ctrl-L."),
        ("/invite bob", "to bring someone in, ask them to type /join #ROOM"),
    ],
)
def test_a_line_with_a_slash_that_is_no_command_is_refused(
    line: str, hint: str, current: str | None
) -> None:
    with pytest.raises(c.UsageError) as raised:
        c.parse(line, current)
    assert hint in raised.value.hint
    assert "broadcast" not in raised.value.hint  # issue 17: hints that misled
    assert "Did you mean leave?" not in raised.value.hint
    assert "Did you mean private?" not in raised.value.hint


@pytest.mark.parametrize(
    ("typed", "known", "sent"),
    [
        ("Alice", {"alice", "bob"}, "alice"),  # one match ignoring case: that account
        ("ALICE", {"alice"}, "alice"),
        ("alice", {"alice", "Alice"}, "alice"),  # an exact match wins
        ("aLice", {"alice", "Alice"}, "aLice"),  # two: as typed, the server decides
        ("carol", {"alice"}, "carol"),  # unknown: as typed
    ],
)
def test_a_name_in_another_case_is_the_known_one(typed: str, known: set[str], sent: str) -> None:
    assert c.known_name(typed, known) == sent


def test_every_command_with_a_user_gets_the_known_name() -> None:
    known = {"Alice", "bob"}
    for line, expected in [
        ("message alice hi", c.Message("Alice", "hi")),
        ("block ALICE", c.Block("Alice")),
        ("unblock alice", c.Unblock("Alice")),
        ("startprivate alice", c.StartPrivate("Alice")),
        ("private alice psst", c.Private("Alice", "psst")),
        ("stopprivate alice", c.StopPrivate("Alice")),
        ("query alice", c.Query("Alice")),
        ("whoelse", c.WhoElse()),
    ]:
        cmd = c.parse(line)
        assert cmd is not None
        assert c.with_known_names(cmd, known) == expected


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
        ("/join cl!ss", "'cl!ss' is not a room name (# then 1 to 32 of a-z 0-9 _ -"),
        ("join", "Usage: join #ROOM"),
        ("join #_x", "'#_x' is not a room name"),
        ("join #" + "x" * 33, "is not a room name"),
        ("join #a #b", "Too many words. Usage: join #ROOM"),
        ("leave", "Which room? Usage: leave [#ROOM] (room #ROOM makes one current)"),
        ("leave gen!", "'gen!' is not a room name"),
        ("say hi", "Which room? Usage: say [#ROOM] TEXT"),
        ("say #general", "Usage: say [#ROOM] TEXT"),
        ("history #general 0", "N must be a whole number, 1 or more."),
        ("history #general -5", "N must be a whole number, 1 or more."),
        ("more #general ten", "N must be a whole number"),
        ("#!! hi", "'#!!' is not a room name"),
        ("hello", "Unknown command 'hello'"),  # no current room: lines must be commands
        ("/nick bobby", "Names cannot change here"),
        ("/msg", "Usage: message USER TEXT"),
        ("/mesage bob hi", "Unknown command '/mesage'. Did you mean /message?"),
    ],
)
def test_mistakes_give_a_one_line_hint(line: str, hint: str) -> None:
    with pytest.raises(c.UsageError) as raised:
        c.parse(line)
    assert hint in raised.value.hint
    assert "\n" not in raised.value.hint


def test_text_of_exactly_the_limit_is_accepted() -> None:
    assert c.parse("broadcast " + "é" * 4000) == c.Broadcast("é" * 4000)


@given(st.text(), st.sampled_from([None, "#general"]))
def test_any_line_parses_or_gives_a_hint(line: str, room: str | None) -> None:
    try:
        c.parse(line, room)
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


ROOMS = ["#general", "#games", "#random"]


@pytest.mark.parametrize(
    ("before", "expected"),
    [
        ("#g", ("#g", ["#games ", "#general "])),  # at the start of a line
        ("#ge", ("#ge", ["#general "])),
        ("join ", ("", ["#games ", "#general ", "#random "])),
        ("join #r", ("#r", ["#random "])),
        ("join ra", ("ra", ["#random "])),  # the # is added
        ("/leave #g", ("#g", ["#games ", "#general "])),
        ("members #ge", ("#ge", ["#general "])),
        ("history #ge", ("#ge", ["#general "])),
        ("say #ge", ("#ge", ["#general "])),
        ("room #ge", ("#ge", ["#general "])),
        ("more #ge", ("#ge", ["#general "])),
        ("msg #ge", ("#ge", ["#general "])),
        ("msg b", ("b", ["bob "])),
        ("say #general hel", ("hel", [])),  # TEXT: nothing offered
        ("#general hel", ("hel", [])),
        ("history #general ", ("", [])),  # N
    ],
)
def test_suggest_rooms(before: str, expected: tuple[str, list[str]]) -> None:
    assert c.suggest(before, ["bob"], ROOMS) == expected


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


@pytest.mark.parametrize(
    ("line", "room", "echoed"),
    [
        ("#general hi", None, True),
        ("say #general hi", None, True),
        ("hi all", "#general", True),
        ("hi all", None, False),
        ("join #general", None, False),
        ("#general", None, False),
    ],
)
def test_room_lines_give_way_to_their_echo(line: str, room: str | None, echoed: bool) -> None:
    assert c.echoes(line, room) is echoed
