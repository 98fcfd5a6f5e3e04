"""The room commands as typed values, and how a typed room name reads. Pure.

`commands.py` parses lines into these (its table has the words and usage); `room_talk.py`
carries them out. Each dataclass is named after its chat/1 op, but for `room` (the current
room) and `more` (the next page of history), which are the client's own.
"""

from __future__ import annotations

from dataclasses import dataclass

from cli.client.rooms import is_valid_room_name, typed_room

# `room` is always a chat/1 room name, lower case.


@dataclass(frozen=True, slots=True)
class Join:
    room: str


@dataclass(frozen=True, slots=True)
class Leave:
    room: str


@dataclass(frozen=True, slots=True)
class Say:
    room: str
    text: str


@dataclass(frozen=True, slots=True)
class Rooms:
    pass


@dataclass(frozen=True, slots=True)
class Members:
    room: str


@dataclass(frozen=True, slots=True)
class History:
    """The room's newest `count` messages (None: the client's page size)."""

    room: str
    count: int | None = None


@dataclass(frozen=True, slots=True)
class More:
    """The messages before the oldest shown; room None: the one last paged, else current."""

    room: str | None = None
    count: int | None = None


@dataclass(frozen=True, slots=True)
class CurrentRoom:
    """`room #name`: lines that are not commands go to `room` from now on; None: nowhere."""

    room: str | None


ROOM_COMMANDS = (Join, Leave, Say, Rooms, Members, History, More, CurrentRoom)
RoomCommand = Join | Leave | Say | Rooms | Members | History | More | CurrentRoom


def not_a_room(word: str) -> str:
    """The hint for a word that was meant as a room name and is none."""
    return f"{word!r} is not a room name (# then 1 to 32 of a-z 0-9 _ -, e.g. #general)."


def room_name(word: str) -> str | None:
    """A typed room name as chat/1 spells it, or None if it is none."""
    room = typed_room(word)
    return room if is_valid_room_name(room) else None


def history_count(word: str) -> int | None:
    """A history page size as typed: a whole number from 1, else None. More than the server
    gives at once (HISTORY_MAX) is not refused here: `room_talk` caps it, and says so."""
    if word.isascii() and word.isdigit() and int(word) >= 1:
        return int(word)
    return None
