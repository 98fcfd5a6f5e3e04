"""What the user typed -> a typed command, or a one-line usage hint. Pure: no I/O, no state.

The command table is data (`COMMANDS`): `help`, the parser, completion and the usage hints all
read it, so adding a command is one entry and one dataclass. The command words are the ones the
issue fixes (`message`, `broadcast`, ... `logout`, `help`) plus `y`/`n`, which answer a pending
private chat request without blocking anything else on screen, and the room commands (`join`,
`leave`, `say`, `rooms`, `members`, `history`; `room` and `more` are the client's own), and
those of the direct-message record (`history USER`, `conversations`).

Habits from IRC and Slack work too: any command word may start with `/`, and `quit`, `exit`,
`msg`, `who`, `part`, `list` and `names` are aliases. Habits with no counterpart here (`/nick`,
`/clear`, ...) get a hint that says what to type instead (`HABITS`).

The current conversation (irssi's and WeeChat's window, Slack's channel): a room (`join`,
`room #ROOM`) or a user (`query USER`). While there is one (the caller passes it), every line
is said there, whatever its first word, and commands start with `/` (`//` says a line that
starts with `/`). With none, the command words work bare, and `#ROOM TEXT` talks in a room. A
line that starts with `/` is a command or is refused, never sent.

This module does not know what a command *does*; `controller.py` and `room_talk.py` do.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from enum import Enum

from cli.client.room_commands import ROOM_COMMANDS as ROOM_COMMANDS
from cli.client.room_commands import CurrentRoom as CurrentRoom
from cli.client.room_commands import History as History
from cli.client.room_commands import Join as Join
from cli.client.room_commands import Leave as Leave
from cli.client.room_commands import Members as Members
from cli.client.room_commands import More as More
from cli.client.room_commands import Rooms as Rooms
from cli.client.room_commands import Say as Say
from cli.client.room_commands import history_count, not_a_room, room_name
from cli.client.rooms import HISTORY_MAX, HISTORY_PAGE, typed_room
from cli.client.search import Search as Search
from cli.client.search import search_command
from service.wire.names import MAX_TEXT_CHARS as MAX_TEXT_CHARS  # a server may lower it further
from service.wire.names import is_valid_username


class UsageError(Exception):
    """The line is not a command we can send; `hint` is one line meant for the user."""

    def __init__(self, hint: str) -> None:
        super().__init__(hint)
        self.hint = hint


# One frozen dataclass per command, named after its wire word (STYLE convention 2).


@dataclass(frozen=True, slots=True)
class Message:
    user: str
    text: str


@dataclass(frozen=True, slots=True)
class Broadcast:
    text: str


@dataclass(frozen=True, slots=True)
class WhoElse:
    pass


@dataclass(frozen=True, slots=True)
class WhoElseSince:
    seconds: int


@dataclass(frozen=True, slots=True)
class Block:
    user: str


@dataclass(frozen=True, slots=True)
class Unblock:
    user: str


@dataclass(frozen=True, slots=True)
class BlockList:
    pass


@dataclass(frozen=True, slots=True)
class StartPrivate:
    user: str


@dataclass(frozen=True, slots=True)
class Private:
    user: str
    text: str


@dataclass(frozen=True, slots=True)
class StopPrivate:
    user: str


@dataclass(frozen=True, slots=True)
class Logout:
    forget: bool = False  # also end the remembered login (chat/1 `logout` with `forget`)


@dataclass(frozen=True, slots=True)
class Help:
    topic: str | None = None


@dataclass(frozen=True, slots=True)
class Query:
    """`query USER`: plain lines go to USER as direct messages; None: no current conversation
    (`query` alone, or `close`)."""

    user: str | None


@dataclass(frozen=True, slots=True)
class Me:
    """`/me TEXT`: an action line, `* alice TEXT`, said in the current conversation."""

    text: str


@dataclass(frozen=True, slots=True)
class Retry:
    """`retry`: send again the last message that failed."""


@dataclass(frozen=True, slots=True)
class Answer:
    """`y` or `n`: the answer to the oldest private chat request still waiting."""

    accept: bool


@dataclass(frozen=True, slots=True)
class DmHistory:
    """`history USER [N]`: the newest `count` direct messages between us and USER (None: the
    client's page size), chat/1's `dm_history`; `more` then pages on."""

    user: str
    count: int | None = None


@dataclass(frozen=True, slots=True)
class Conversations:
    """`conversations`: whom we exchanged direct messages with, and what is unread."""


Command = (
    Message
    | Broadcast
    | WhoElse
    | WhoElseSince
    | Block
    | Unblock
    | BlockList
    | StartPrivate
    | Private
    | StopPrivate
    | Logout
    | Help
    | Answer
    | Query
    | Me
    | Retry
    | Join
    | Leave
    | Say
    | Rooms
    | Members
    | History
    | More
    | CurrentRoom
    | DmHistory
    | Conversations
    | Search
)


def _history(target: str, count: int | None) -> History | DmHistory:
    """`history #ROOM` is the room's; `history USER` the direct messages with USER."""
    return History(target, count) if target.startswith("#") else DmHistory(target, count)


class Arg(Enum):
    """The kinds of argument a command takes; the value is how usage lines spell it."""

    USER = "USER"  # one word that is a valid chat/1 username
    MAYBE_USER = "[USER]"  # a username, or None
    TEXT = "TEXT"  # the rest of the line, spaces kept; always last
    SECONDS = "SECONDS"  # a whole number >= 1 (chat/1 precise point 2)
    TOPIC = "[COMMAND]"  # optional command name, for `help`
    ROOM = "#ROOM"  # one room name; a missing `#` is added (`join general`)
    HERE = "[#ROOM]"  # a room name, or (when the next word is no room name) the current room
    MAYBE_ROOM = "[#ROOM]?"  # a room name, or None (usage: "[#ROOM]", as HERE's)
    COUNT = "[N]"  # optional whole number from 1 (a history page; room_talk caps it)
    # `#ROOM` (a room), a bare USER, or when left out the current conversation, room or user
    WHO = "[WHO]"

    @property
    def usage(self) -> str:
        return self.value.rstrip("?")


@dataclass(frozen=True, slots=True)
class CommandSpec:
    name: str
    args: tuple[Arg, ...]
    help: str
    build: Callable[..., Command]
    aliases: tuple[str, ...] = ()

    @property
    def usage(self) -> str:
        return " ".join([self.name, *(arg.usage for arg in self.args)])


_SPECS = (
    CommandSpec("message", (Arg.USER, Arg.TEXT), "send USER a message (kept until they log in); "
                "the current conversation stays as it is", Message, aliases=("msg",)),
    CommandSpec("query", (Arg.MAYBE_USER,), "talk with USER: plain lines go to USER as "
                "messages; alone: no current conversation", Query),
    CommandSpec("close", (), "end the current conversation (you stay in the room); plain "
                "lines are commands again", lambda: Query(None)),
    CommandSpec("me", (Arg.TEXT,), "say an action in the current conversation "
                "(* you TEXT)", Me),
    CommandSpec("retry", (), "send again the last message that was not sent", Retry),
    CommandSpec("broadcast", (Arg.TEXT,), "send TEXT to everyone online now", Broadcast),
    CommandSpec("whoelse", (), "list the other users online now", WhoElse, aliases=("who",)),
    CommandSpec("whoelsesince", (Arg.SECONDS,), "list users online in the last SECONDS seconds",
                WhoElseSince),
    CommandSpec("block", (Arg.USER,), "stop USER from messaging you or seeing you online", Block),
    CommandSpec("unblock", (Arg.USER,), "undo a block", Unblock),
    CommandSpec("blocklist", (), "list the users you block", BlockList),
    CommandSpec("startprivate", (Arg.USER,), "ask USER for a direct peer-to-peer chat",
                StartPrivate),
    CommandSpec("private", (Arg.USER, Arg.TEXT), "send TEXT straight to USER, not via the server",
                Private),
    CommandSpec("stopprivate", (Arg.USER,), "end the private chat with USER, or withdraw a request",
                StopPrivate),
    CommandSpec("y", (), "accept the private chat request shown in the prompt",
                lambda: Answer(True), aliases=("yes",)),
    CommandSpec("n", (), "decline the private chat request shown in the prompt",
                lambda: Answer(False), aliases=("no",)),
    CommandSpec("join", (Arg.ROOM,), "join ROOM (a new name creates it) and make it current",
                Join),
    CommandSpec("room", (Arg.MAYBE_ROOM,), "make ROOM current: plain lines go there; alone: "
                "no current conversation", CurrentRoom),
    CommandSpec("say", (Arg.HERE, Arg.TEXT), "say TEXT in ROOM (with no current conversation, "
                "#ROOM TEXT does the same); without ROOM, in the current room", Say),
    CommandSpec("leave", (Arg.HERE,), "leave ROOM, by default the current one", Leave,
                aliases=("part",)),
    CommandSpec("rooms", (), "list every room: members, and whether you are in it", Rooms,
                aliases=("list",)),
    CommandSpec("members", (Arg.HERE,), "who is in ROOM, and who of them is online", Members,
                aliases=("names",)),
    CommandSpec("history", (Arg.WHO, Arg.COUNT), f"the last N messages with WHO: a USER, or "
                f"a #ROOM (default {HISTORY_PAGE}; at most {HISTORY_MAX} at a time); without WHO, "
                "in the current conversation", _history),
    CommandSpec("more", (Arg.MAYBE_ROOM, Arg.COUNT), "N more messages before the oldest shown "
                "(after history, or catch-up at login)", More),
    CommandSpec("conversations", (), "list the users you exchanged direct messages with, "
                "newest first, with how many are unread", Conversations, aliases=("dms",)),
    CommandSpec("search", (Arg.TEXT,), "find messages with every word of TEXT in your rooms and "
                "direct messages, newest first; end with `in #ROOM` or `with USER` to search "
                "only there", search_command),
    CommandSpec("help", (Arg.TOPIC,), "show the commands, or how to use one", Help),
    CommandSpec("logout", (), "log out and quit (Ctrl-D does the same)", Logout,
                aliases=("quit", "exit")),
    CommandSpec("forget", (), "log out and quit, and end the login remembered here "
                "(--remember): the next start asks for the password", lambda: Logout(True)),
)  # fmt: skip

COMMANDS: dict[str, CommandSpec] = {
    word: spec for spec in _SPECS for word in (spec.name, *spec.aliases)
}  # keys: lower-case command words; the parser folds the typed word to lower case
COMMAND_NAMES: tuple[str, ...] = tuple(spec.name for spec in _SPECS)

# Words from other chat programs with no counterpart here -> what to type instead.
HABITS: dict[str, str] = {
    "nick": "Names cannot change here: log in as another user to be someone else.",
    "ignore": "To stop hearing from USER: block USER.",
    "clear": "To clear the screen, press Ctrl-L.",
    "invite": "Rooms are open to everyone: to bring someone in, ask them to type /join #ROOM.",
}


_ANSWERS = {"y": True, "yes": True, "n": False, "no": False}  # to a private chat request


def parse(line: str, current: str | None = None, *, asking: bool = False) -> Command | None:
    """A typed line -> a command; None for a blank line. Raises UsageError with a hint.

    `current` is the current conversation, if any: a room (`#name`) or a user. Then a line
    that does not start with `/` is said there, whatever its first word (`who is coming?` is
    a question, not `whoelse`), and `//` says a line that starts with `/`. Except while the
    prompt asks about a private chat request (`asking`): a plain `y` or `n` (`yes`, `no`)
    answers it, as the prompt says. Only a plain line does: `/msg carol no` or `#lab yes`
    names where it goes and goes there."""
    stripped = line.strip()
    if not stripped:
        return None
    if current is not None and not stripped.startswith("/"):
        accept = _ANSWERS.get(stripped.lower()) if asking else None
        return said(current, stripped) if accept is None else Answer(accept)
    if current is not None and stripped.startswith("//"):
        return said(current, stripped[1:])
    word, _, rest = stripped.partition(" ")
    rest = rest.strip()
    if word.startswith("#"):
        return _room_line(word, rest)
    spec = COMMANDS.get(_command_word(word))
    if spec is None:
        raise UsageError(HABITS.get(_command_word(word)) or _unknown_hint(word))
    if spec.name == "message" and rest.startswith("#"):
        spec = COMMANDS["say"]  # irssi's /msg #channel TEXT
    return spec.build(*_parse_args(spec, rest, current))


def said(current: str, text: str) -> Say | Message:
    """TEXT said in the current conversation: a room's `say`, or a direct message."""
    if current.startswith("#"):
        return Say(current, _text(COMMANDS["say"], text))
    return Message(current, _text(COMMANDS["message"], text))


def _room_line(word: str, rest: str) -> Say | CurrentRoom:
    """`#room TEXT` says TEXT there; `#room` alone makes it current (Slack's "jump to")."""
    room = _room_name(word)
    return Say(room, _text(COMMANDS["say"], rest)) if rest else CurrentRoom(room)


def _command_word(word: str) -> str:
    """The key a typed command word looks up: lower case, an IRC/Slack `/` dropped."""
    return word.lower().removeprefix("/")


def _parse_args(spec: CommandSpec, rest: str, current: str | None) -> list[object]:
    values: list[object] = []
    for index, arg in enumerate(spec.args):
        if arg is Arg.TEXT:
            values.append(_text(spec, rest))
            rest = ""
            continue
        word, _, after = rest.partition(" ")
        if arg in _OPTIONAL_ROOMS and not _names_a_room(spec, index, word):
            values.append(None if arg is Arg.MAYBE_ROOM else _current(spec, current))
            continue  # the word is the next argument's
        if arg is Arg.WHO and (not word or (word.isascii() and word.isdigit())):
            values.append(_conversation(spec, current))
            continue  # left out: the word (if any) is the count
        rest = after.strip()
        values.append(_ARG_PARSERS[arg](spec, word))
    if rest:
        raise UsageError(f"Too many words. Usage: {spec.usage}")
    return values


def _names_a_room(spec: CommandSpec, index: int, word: str) -> bool:
    """Is this word, where a room may be left out, the room? `#general` is; so is a bare
    `general` (the `#` is added) unless TEXT follows (`say hello`) or it is the count
    (`history 50`)."""
    if word.startswith("#"):
        return True
    following = spec.args[index + 1] if index + 1 < len(spec.args) else None
    if not word or following is Arg.TEXT:
        return False
    return not (following is Arg.COUNT and word.isascii() and word.isdigit())


def _usage(spec: CommandSpec) -> str:
    """`Usage: message USER TEXT: send USER a message (...)` (no brackets around the help,
    which may hold brackets of its own)."""
    return f"Usage: {spec.usage}: {spec.help}"


def _maybe_user(spec: CommandSpec, word: str) -> str | None:
    return _user(spec, word) if word else None


def _user(spec: CommandSpec, word: str) -> str:
    if not word:
        raise UsageError(_usage(spec))
    if not is_valid_username(word):
        raise UsageError(
            f"{word!r} is not a username (up to 32 letters, digits, _ . -). Usage: {spec.usage}"
        )
    return word


def _seconds(spec: CommandSpec, word: str) -> int:
    if not word:
        raise UsageError(_usage(spec))
    if not (word.isascii() and word.isdigit()) or int(word) < 1:
        raise UsageError(f"SECONDS must be a whole number, 1 or more. Usage: {spec.usage}")
    return int(word)


def _topic(spec: CommandSpec, word: str) -> str | None:
    if not word:
        return None
    if _command_word(word) not in COMMANDS:
        raise UsageError(_unknown_hint(word))
    return COMMANDS[_command_word(word)].name


def _text(spec: CommandSpec, rest: str) -> str:
    if not rest:
        raise UsageError(_usage(spec))
    if len(rest) > MAX_TEXT_CHARS:
        raise UsageError(
            f"That text has {len(rest):,} characters; chat/1 allows at most {MAX_TEXT_CHARS:,}."
        )
    return rest


def _room_name(word: str) -> str:
    """A typed room name; the `#` may be left out (`join general` joins #general)."""
    room = room_name(word if word.startswith("#") else "#" + word)
    if room is None:
        raise UsageError(not_a_room(word))
    return room


def _room(spec: CommandSpec, word: str) -> str:
    if not word:
        raise UsageError(_usage(spec))
    try:
        return _room_name(word)
    except UsageError as exc:
        raise UsageError(f"{exc.hint} Usage: {spec.usage}") from None


def _current(spec: CommandSpec, current: str | None) -> str:
    """The current room, for a command whose room was left out."""
    if current is None or not current.startswith("#"):
        raise UsageError(f"Which room? Usage: {spec.usage} (room #ROOM makes one current)")
    return current


def _conversation(spec: CommandSpec, current: str | None) -> str:
    """The current conversation, room or user, for a command whose target was left out."""
    if current is None:
        raise UsageError(f"Whose? Usage: {spec.usage} (#ROOM for a room, USER for a person)")
    return current


def _who(spec: CommandSpec, word: str) -> str:
    """`#ROOM` is a room (the # is how a room is told from a user here); else a user."""
    return _room(spec, word) if word.startswith("#") else _user(spec, word)


def _count(spec: CommandSpec, word: str) -> int | None:
    if not word:
        return None
    count = history_count(word)
    if count is None:
        raise UsageError(f"N must be a whole number, 1 or more. Usage: {spec.usage}")
    return count


_OPTIONAL_ROOMS = frozenset({Arg.HERE, Arg.MAYBE_ROOM})
_ARG_PARSERS: dict[Arg, Callable[[CommandSpec, str], object]] = {
    Arg.USER: _user,
    Arg.MAYBE_USER: _maybe_user,
    Arg.SECONDS: _seconds,
    Arg.TOPIC: _topic,
    Arg.ROOM: _room,
    Arg.HERE: _room,
    Arg.MAYBE_ROOM: _room,
    Arg.COUNT: _count,
    Arg.WHO: _who,
}


def _unknown_hint(word: str) -> str:
    """Typed with `/`, the hint spells the commands with `/` too: in a conversation, that is
    how they must be typed."""
    slash = "/" if word.startswith("/") else ""
    close = difflib.get_close_matches(_command_word(word), COMMANDS, n=1)  # aliases too
    maybe = f" Did you mean {slash}{close[0]}?" if close else ""
    return f"Unknown command {word!r}.{maybe} Type {slash}help for the list of commands."


def known_name(typed: str, known: Collection[str]) -> str:
    """The name to send for a name as typed. chat/1 names are exact on the wire but unique
    ignoring case, so when exactly one known name matches ignoring case (`Alice` for
    `alice`), it is the one meant; otherwise (an exact match, none, or several) as typed."""
    if typed in known:
        return typed
    folded = typed.casefold()
    matches = {name for name in known if name.casefold() == folded}
    return matches.pop() if len(matches) == 1 else typed


_NAMED = (Message, Block, Unblock, StartPrivate, Private, StopPrivate, Query, DmHistory)


def with_known_names(cmd: Command, known: Iterable[str]) -> Command:
    """`cmd` with its USER made a known name (`known_name`); other commands as they are."""
    if not isinstance(cmd, _NAMED) or cmd.user is None:
        return cmd
    return dataclasses.replace(cmd, user=known_name(cmd.user, set(known)))


ECHOED = (Message, Broadcast, Private)  # commands whose outcome line repeats the text sent


def echoes(line: str, current: str | None = None) -> bool:
    """Will the outcome of this typed line show its text again? Then the typed line itself
    can go from the screen, so that a long message is not on it twice."""
    try:
        return isinstance(parse(line, current), (*ECHOED, Say, Me))
    except UsageError:
        return False


def help_lines(topic: str | None = None) -> list[tuple[str, str]]:
    """(usage, what it does) for every command, or for one; `render` lays them out."""
    specs = [COMMANDS[topic]] if topic is not None else list(_SPECS)
    return [(spec.usage, spec.help + _also(spec.aliases)) for spec in specs]


def _also(aliases: tuple[str, ...]) -> str:
    return f"; also {' or '.join(aliases)}" if aliases else ""


def suggest(
    before_cursor: str, users: Iterable[str], rooms: Iterable[str] = ()
) -> tuple[str, list[str]]:
    """Completion: (the word being completed, what can replace it), from the command table.

    The first word completes to command names (keeping a leading `/`), or to `rooms` if it
    starts with `#`; a USER argument to `users`; a room argument to `rooms` (with or without
    its `#` typed); help's topic to command names. Nothing is offered inside TEXT. Each
    candidate ends in a space, as a shell's do, so the next word can follow at once.
    """
    words = before_cursor.lstrip().split(" ")
    prefix = words[-1]
    if len(words) == 1:
        if prefix.startswith("#"):
            return prefix, _rooms_starting(prefix, rooms)
        slash = "/" if prefix.startswith("/") else ""
        return prefix, [slash + name + " " for name in _names_starting(prefix)]
    spec = COMMANDS.get(_command_word(words[0]))
    position = len(words) - 2  # index into spec.args of the word being typed
    if spec is None or position >= len(spec.args):
        return prefix, []
    kind = spec.args[position]
    if kind in (Arg.ROOM, *_OPTIONAL_ROOMS) or (
        kind in (Arg.USER, Arg.WHO) and prefix.startswith("#")
    ):
        return prefix, _rooms_starting(prefix, rooms)
    if kind in (Arg.USER, Arg.WHO):
        return prefix, sorted(u + " " for u in set(users) if u.startswith(prefix))
    if kind is Arg.TOPIC:
        return prefix, [name + " " for name in _names_starting(prefix)]
    return prefix, []


def _names_starting(prefix: str) -> list[str]:
    return [name for name in COMMAND_NAMES if name.startswith(_command_word(prefix))]


def _rooms_starting(prefix: str, rooms: Iterable[str]) -> list[str]:
    """Rooms whose name starts with `prefix`, `#` typed or not (`ge` finds `#general`)."""
    wanted = typed_room(prefix if prefix.startswith("#") else "#" + prefix)
    return sorted(room + " " for room in set(rooms) if room.startswith(wanted))
