"""What the store answers when it will not do something: plain outcomes, no protocol.

The store speaks the domain; handlers (and chat-admin) turn a Refusal into the chat/1 error or
the operator's sentence that fits the request at hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Refusal(Enum):
    ACCOUNT_GONE = "account_gone"  # the acting user's account was deleted meanwhile
    NO_SUCH_USER = "no_such_user"  # the other user named does not exist
    SELF = "self"  # the request names its own user
    BLOCKED = "blocked"  # the recipient blocks the sender
    TOO_LONG = "too_long"  # the text is over the limit
    NAME_TAKEN = "name_taken"  # a new account's name exists
    ALREADY_BLOCKED = "already_blocked"
    NOT_BLOCKED = "not_blocked"
    NO_SUCH_ROOM = "no_such_room"  # the room named does not exist (or the name is malformed)
    NOT_MEMBER = "not_member"  # the acting user is not a member of the room
    TOO_MANY_ROOMS = "too_many_rooms"  # joining would exceed a user's limit of rooms


@dataclass(frozen=True, slots=True)
class CreationLimited:
    """A `join` that would create a room past the user's limit of room creations."""

    limit: int  # rooms a user may create per hour (--room-creations-per-hour)
    retry_after_s: int  # until one of the user's creations leaves the hour: whole, >= 1
