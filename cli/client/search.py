"""`search WORDS [in #ROOM | with USER]`: the command as a typed value and its request. Pure:
the controller sends it, render_search.py says how its results read.

The words go to the server as typed: it finds messages holding every word, in any case and
with or without accents, the last word also as the start of a word (chat/1 "Search"). A
trailing `in #ROOM` searches only that room, `with USER` only the direct messages with USER;
to find those words themselves, put them earlier (the order of the words does not matter).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cli.client.rooms import is_valid_room_name
from service.wire.names import is_valid_username
from service.wire.search import LIMIT_MAX as SEARCH_MAX  # as many as chat/1 gives at once

JsonObject = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Search:
    """Named after its chat/1 op. `room` or `with_` (never both) narrows it."""

    query: str
    room: str | None = None
    with_: str | None = None

    @property
    def fields(self) -> JsonObject:
        """The request's fields: as many results as chat/1 gives at once."""
        fields: JsonObject = {"query": self.query, "limit": SEARCH_MAX}
        if self.room is not None:
            fields["room"] = self.room
        if self.with_ is not None:
            fields["with"] = self.with_
        return fields


def search_command(text: str) -> Search:
    """`lab sched in #cs101` -> Search("lab sched", room="#cs101"); `pizza with bob` ->
    Search("pizza", with_="bob"); anything else searches the whole line."""
    head, _, last = text.rpartition(" ")
    words, _, scope = head.rpartition(" ")
    words = words.strip()
    if words and scope.lower() == "in" and is_valid_room_name(last.lower()):
        return Search(words, room=last.lower())
    if words and scope.lower() == "with" and is_valid_username(last):
        return Search(words, with_=last)
    return Search(text)
