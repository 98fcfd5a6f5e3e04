"""What the client knows about rooms (chat/1 feature `rooms`), pure: names, the rooms seen and
joined, the current room, what has been shown (for `read`, paging and catch-up after a
reconnect). No I/O and no clock; `room_talk.py` does the talking, `render_rooms.py` the lines.

A `RoomBook` outlives a connection (it lives in the session's `Memory`); `ReadMarks` is one
connection's: what this connection has told the server it has shown.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from service.wire.rooms import CATCH_UP_PER_ROOM as CATCH_UP_PER_ROOM  # the server's own rules
from service.wire.rooms import FEATURE as FEATURE
from service.wire.rooms import HISTORY_MAX as HISTORY_MAX
from service.wire.rooms import is_valid_room_name as is_valid_room_name

HISTORY_PAGE = 20  # messages `history #room` shows without N: about a screenful


def typed_room(word: str) -> str:
    """A room name as typed -> as chat/1 spells it: chat/1 names are lower case, and the
    protocol lets a client fold what its user types (`#General` is `#general`)."""
    return word.lower()


@dataclass(frozen=True, slots=True)
class RoomUnread:
    room: str
    unread: int


def rooms_at_login(value: object) -> tuple[RoomUnread, ...]:
    """The `rooms` of a login (or register) ok reply: `[{"room", "unread"}]`, sorted by name.
    Entries that are not that shape are skipped; absent (a server without rooms): empty."""
    if not isinstance(value, list):
        return ()
    found = []
    for entry in value:
        if not isinstance(entry, dict):
            continue
        room, unread = entry.get("room"), entry.get("unread")
        if isinstance(room, str) and is_valid_room_name(room):
            count = unread if isinstance(unread, int) and not isinstance(unread, bool) else 0
            found.append(RoomUnread(room, max(count, 0)))
    return tuple(found)


def wire_seq(value: object) -> int | None:
    """A chat/1 `seq` (an integer from 1), or None for anything else."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    return None


@dataclass
class RoomBook:
    """Rooms across reconnects. Keys are room names as chat/1 spells them (lower case)."""

    known: set[str] = field(default_factory=set)  # for completion: every room name seen
    joined: set[str] = field(default_factory=set)  # our rooms, as the server last said
    # The current conversation, where plain lines go: a room, or a user (no `#`: a direct
    # conversation, `query USER`). Kept here, beside the rooms, so that one value says it.
    current: str | None = None
    newest_shown: dict[str, int] = field(default_factory=dict)  # highest seq shown per room
    oldest_shown: dict[str, int] = field(default_factory=dict)  # where `more` goes on from
    page: dict[str, int] = field(default_factory=dict)  # the last history page size per room
    # Where `more` without a room goes on: the last history page's room, or the last room
    # whose catch-up was cut short.
    last_paged: str | None = None

    def logged_in(self, rooms: Iterable[RoomUnread]) -> None:
        """The login reply lists every room of ours; a current room we are no longer in
        (an operator deleted it meanwhile) stops being current."""
        self.joined = {entry.room for entry in rooms}
        self.known |= self.joined
        if self.current_room is not None and self.current_room not in self.joined:
            self.current = None

    @property
    def current_room(self) -> str | None:
        """The current conversation if it is a room."""
        return self.current if self.current is not None and self.current.startswith("#") else None

    def seen(self, room: object, *, member: bool = False) -> None:
        """A room name from the server; `member`: an event chat/1 sends to members only."""
        if isinstance(room, str) and is_valid_room_name(room):
            self.known.add(room)
            if member:
                self.joined.add(room)

    def join(self, room: str) -> None:
        self.known.add(room)
        self.joined.add(room)
        self.current = room  # irssi's /join and Slack's "join channel" both open it

    def leave(self, room: str) -> None:
        self.joined.discard(room)
        if self.current == room:
            self.current = None

    def listed(self, rooms: Iterable[tuple[str, bool]]) -> None:
        """The `rooms` reply: every room, and whether we are in it."""
        for room, joined in rooms:
            if not is_valid_room_name(room):
                continue
            self.known.add(room)
            if joined:
                self.joined.add(room)
            else:
                self.leave(room)

    def shown(self, room: str, seq: int) -> None:
        """Another member's message of `room` is on screen (live or catch-up)."""
        self.newest_shown[room] = max(seq, self.newest_shown.get(room, 0))
        self.oldest_shown[room] = min(seq, self.oldest_shown.get(room, seq))

    def said(self, room: str, seq: int) -> None:
        """Our own message is on screen: `more` goes on from it, but it says nothing about
        which of the others' messages we have seen (one numbered just before ours may still
        be on its way to us)."""
        self.oldest_shown[room] = min(seq, self.oldest_shown.get(room, seq))

    def was_shown(self, room: str, seq: int) -> bool:
        """A catch-up message at or below the newest shown: a reconnect's catch-up repeating
        what the last connection showed before its `read` reached the server. (Room messages
        reach us in seq order, live or in catch-up, so everything up to the newest shown was
        shown, or was never ours to see.)"""
        return seq <= self.newest_shown.get(room, 0)

    def paged(self, room: str, seqs: list[int], size: int) -> None:
        """A `history` or `more` page is on screen: `more` goes on before its oldest."""
        self.last_paged = room
        self.page[room] = size
        if seqs:
            self.oldest_shown[room] = min(seqs)
            self.newest_shown[room] = max(max(seqs), self.newest_shown.get(room, 0))


class ReadMarks:
    """The `read` markers one connection owes the server. A message counts once its line is
    on screen (`shown`); `due()` then gives, per room, the highest seq not yet reported, so
    fifty catch-up lines cost one `read`, and a marker never runs ahead of the screen."""

    def __init__(self) -> None:
        self._shown: dict[str, int] = {}
        self._sent: dict[str, int] = {}

    def shown(self, room: str, seq: int) -> None:
        self._shown[room] = max(seq, self._shown.get(room, 0))

    def read_elsewhere(self, room: str, seq: int) -> None:
        """The user's marker moved to `seq` from another session: nothing up to it is owed."""
        self._sent[room] = max(seq, self._sent.get(room, 0))

    def due(self) -> list[tuple[str, int]]:
        """(room, seq) to send now, sorted by room; each counts as sent."""
        due = sorted(
            (room, seq) for room, seq in self._shown.items() if seq > self._sent.get(room, 0)
        )
        self._sent.update(due)
        return due


def mentions(text: str, user: str) -> bool:
    """Does `text` name `user` as a word (`alice`, `@alice,`, `Alice?`), as IRC clients
    highlight a nick? Case is ignored; `alice2` or `malice` do not count."""
    # Not inside a longer name; a full stop after it ends a sentence unless a name goes on.
    pattern = rf"(?<![A-Za-z0-9_.-]){re.escape(user)}(?![A-Za-z0-9_-]|\.[A-Za-z0-9_-])"
    return re.search(pattern, text, re.IGNORECASE) is not None
