"""Every event the server sends, built in one place (chat/1 "Events").

A newcomer finds an event by its wire name here; handlers and the connection only call these.
Builders return plain dicts, except `message_event` and `room_message_event`, which the hot
paths encode directly.
"""

from __future__ import annotations

from typing import Any

from service.wire.codec import json_string
from service.wire.dm_history import FEATURE as DM_HISTORY
from service.wire.private import CancelReason, DeclineReason, PrivateRequest, StopReason
from service.wire.rooms import FEATURE as ROOMS
from service.wire.search import FEATURE as SEARCH

SESSIONS = "sessions"  # chat/1 "Several sessions": one user on several connections
TOKENS = "tokens"  # chat/1 "Staying signed in": `remember`, a `login` with a token
# the optional parts of chat/1 this server implements, as `hello` lists them
FEATURES = (ROOMS, DM_HISTORY, SESSIONS, SEARCH, TOKENS)

Event = dict[str, Any]


def hello(server: str, signup: bool) -> Event:
    return {
        "ev": "hello",
        "proto": "chat/1",
        "server": server,
        "signup": signup,
        "features": list(FEATURES),
    }


def message_event(msg_id: int, sender: str, text: str, sent_at: str, stored: bool) -> bytes:
    """`message`, encoded as `encode()` would (a test holds them equal), but without building
    a dict and walking it: this runs once per direct message. `sent_at` is in wire form."""
    return (
        f'{{"ev":"message","msg_id":{msg_id:d},"from":{json_string(sender)},'
        f'"text":{json_string(text)},"sent_at":{json_string(sent_at)},'
        f'"stored":{"true" if stored else "false"}}}\n'
    ).encode()


def message_sent(msg_id: int, to: str, text: str, sent_at: str) -> bytes:
    """`message_sent`, to the sender's other sessions (chat/1 "Several sessions"): what it
    sent from this one. Encoded as `encode()` would (a test holds them equal), as
    `message_event` is, on the same hot path. `sent_at` is in wire form."""
    return (
        f'{{"ev":"message_sent","msg_id":{msg_id:d},"to":{json_string(to)},'
        f'"text":{json_string(text)},"sent_at":{json_string(sent_at)}}}\n'
    ).encode()


def broadcast(sender: str, text: str, sent_at: str) -> Event:
    return {"ev": "broadcast", "from": sender, "text": text, "sent_at": sent_at}


def presence(user: str, state: str, at: str) -> Event:
    return {"ev": "presence", "user": user, "state": state, "at": at}


def private_request(request_id: str, requester: str) -> Event:
    return {"ev": "private_request", "request": request_id, "from": requester}


def private_ready(request: PrivateRequest, host: str, port: int, token: str) -> Event:
    """To the requester: the addressee accepted and listens at host:port for this token."""
    return {"ev": "private_ready", "request": request.request_id, "user": request.target,
            "host": host, "port": port, "token": token}  # fmt: skip


def private_expect(request: PrivateRequest, token: str) -> Event:
    """To the addressee that accepted: the requester will dial with this token."""
    return {"ev": "private_expect", "request": request.request_id, "user": request.requester,
            "token": token}  # fmt: skip


def private_stopped(user: str, reason: StopReason) -> Event:
    return {"ev": "private_stopped", "user": user, "reason": reason.value}


def private_declined(request: PrivateRequest, reason: DeclineReason) -> Event:
    """To the requester: its request ended without a session."""
    return {"ev": "private_declined", "request": request.request_id, "user": request.target,
            "reason": reason.value}  # fmt: skip


def private_cancelled(request: PrivateRequest, reason: CancelReason) -> Event:
    """To the addressee: the question it was asked is gone (chat/1 precise point 16)."""
    return {"ev": "private_cancelled", "request": request.request_id, "user": request.requester,
            "reason": reason.value}  # fmt: skip


def bye(reason: str, text: str) -> Event:
    return {"ev": "bye", "reason": reason, "text": text}


def frame_error(code: str, text: str) -> Event:
    return {"ev": "error", "error": code, "text": text}


# --- rooms (chat/1 "Rooms", feature `rooms`) ---------------------------------------------------


def room_message_event(
    room: str, seq: int, sender: str, text: str, sent_at: str, stored: bool
) -> bytes:
    """`room_message`, encoded as `encode()` would (a test holds them equal): encoded once per
    message, whatever the number of members. `sent_at` is in wire form."""
    return (
        f'{{"ev":"room_message","room":{json_string(room)},"seq":{seq:d},'
        f'"from":{json_string(sender)},"text":{json_string(text)},'
        f'"sent_at":{json_string(sent_at)},"stored":{"true" if stored else "false"}}}\n'
    ).encode()


def room_read(room: str, seq: int) -> Event:
    """To a user's other sessions: its read marker in `room` moved to `seq` (several sessions)."""
    return {"ev": "room_read", "room": room, "seq": seq}


def room_join(room: str, user: str, at: str) -> Event:
    return {"ev": "room_join", "room": room, "user": user, "at": at}


def room_leave(room: str, user: str, at: str) -> Event:
    return {"ev": "room_leave", "room": room, "user": user, "at": at}
