"""What the rooms' requests do (chat/1 "Rooms", feature `rooms`); their part of a login is in
service/core/handlers/login_rooms.py (enter_rooms), beside the rest of the login.

`join`, `leave`, `history`, `rooms` and `members` are handled here, in the style of
service/core/handlers/accounts.py: decide, let the store persist and the hub reach the others.
`say` and `read` take the durable path of direct messages instead, batched by the reactor and
committed by the writer (service/store/room_statements.py, service/pipeline/).
"""

from __future__ import annotations

from typing import Any

from service.core.context import Context, Fields, Services
from service.core.refusals import refusal_error
from service.store import CreationLimited, Joined, Refusal, RoomEntry
from service.wire import events, paging
from service.wire import requests as m
from service.wire.codec import encode
from service.wire.errors import ErrorCode, RequestError
from service.wire.rooms import HISTORY_DEFAULT, is_valid_room_name
from service.wire.timeutil import for_people, to_rfc3339

BAD_ROOM_NAME = RequestError(
    ErrorCode.BAD_ROOM_NAME,
    "A room name is # and then 1 to 32 lowercase letters, digits, '_' or '-' (not first), "
    "e.g. #general.",
)


def _refused(ctx: Context, refusal: Refusal, room: str) -> RequestError:
    return refusal_error(refusal, "room", room, ctx.services.config.max_text_chars)


def handle_join(ctx: Context, request: m.Join) -> Fields:
    room = request.room
    if not is_valid_room_name(room):
        raise BAD_ROOM_NAME
    services, user = ctx.services, ctx.user
    hub, now = services.hub, services.clock()

    def committed(joined: Joined) -> None:  # on the writer thread, in commit order
        ctx.link.delivery.forget_room(room)
        hub.room_joined(room, user, created=joined.created)

    limit = services.config.room_creations_per_hour
    outcome = services.store.rooms.join_room(user, room, now, committed, creations_per_hour=limit)
    if isinstance(outcome, CreationLimited):
        raise _creation_limited(outcome)
    if isinstance(outcome, Refusal):
        raise _refused(ctx, outcome, room)
    if not outcome.already:  # joining again changes nothing, so tells nobody
        _tell_room(services, room, user, events.room_join(room, user, to_rfc3339(now)))
    return {"room": room, "created": outcome.created, "members": outcome.members}


def _creation_limited(limited: CreationLimited) -> RequestError:
    """Issue 17: rooms are kept until an operator deletes them, so making them is rationed."""
    seconds = limited.retry_after_s
    return RequestError(
        ErrorCode.RATE_LIMITED,
        f"You have created {limited.limit} rooms in the last hour, as many as this server "
        f"allows. Try again in {for_people(seconds)}; joining a room that exists works now.",
        retry_after=seconds,
    )


def handle_leave(ctx: Context, request: m.Leave) -> Fields:
    services, user, room = ctx.services, ctx.user, request.room
    hub, now = services.hub, services.clock()
    refusal = services.store.rooms.leave_room(user, room, then=lambda: hub.room_left(room, user))
    if refusal is not None:
        raise _refused(ctx, refusal, room)
    _tell_room(services, room, user, events.room_leave(room, user, to_rfc3339(now)))
    return {}


def _tell_room(services: Services, room: str, user: str, event: events.Event) -> None:
    """`room_join` / `room_leave` about `user`: to the room's other online members, except
    between `user` and anyone on either side of a block with it (chat/1 "Rooms")."""
    store = services.store
    skip = store.blocks.blocked_by(user) | store.blocks.blockers_of(user) | {user}
    services.hub.send_to_room(room, event, skip)


def handle_history(ctx: Context, request: m.History) -> Fields:
    limit = HISTORY_DEFAULT if request.limit is None else request.limit
    # One more than asked for: whether older messages exist (`more`) without a count.
    found = ctx.services.store.room_messages.history(
        ctx.user, request.room, request.before, limit + 1
    )
    if isinstance(found, Refusal):
        raise _refused(ctx, found, request.room)
    lines = [
        {"seq": line.seq, "from": line.sender, "text": line.text,
         "sent_at": to_rfc3339(line.sent_at)}
        for line in reversed(found)
    ]  # fmt: skip
    # The newest that fit in one frame (50 texts of 4,000 characters would not): the client
    # pages on with `before` = the oldest `seq` it got (chat/1 precise point 18).
    budget = paging.budget(ctx.request_id, {"messages": [], "more": False})
    page = paging.fit(lines, limit, budget, _entry_bytes)
    return {"messages": page.items[::-1], "more": page.more}


def handle_rooms(ctx: Context, request: m.Rooms) -> Fields:
    entries = sorted(ctx.services.store.rooms.room_list(ctx.user), key=_room_name)  # bytewise
    listing = (
        {"room": e.room, "members": e.members, "joined": e.joined}
        for e in paging.after(entries, request.after, _room_name)
    )
    limit = request.limit or paging.ROOMS_LIMIT_MAX
    budget = paging.budget(ctx.request_id, {"rooms": [], "more": False})
    page = paging.fit(listing, limit, budget, _entry_bytes)
    return {"rooms": page.items, "more": page.more}


def _room_name(entry: RoomEntry) -> str:
    return entry.room


def _entry_bytes(entry: dict[str, Any]) -> int:
    """What one object costs in a JSON list: its encoding, whose newline stands for the comma."""
    return len(encode(entry))


def handle_members(ctx: Context, request: m.Members) -> Fields:
    """A page of the room's members (chat/1 precise point 18), with `count` (all of them) and
    `online`: those of the page online now, as in `whoelse` (hidden: who blocks the caller)."""
    services, me = ctx.services, ctx.user
    users = services.store.rooms.members_of(request.room)
    if users is None:
        raise _refused(ctx, Refusal.NO_SUCH_ROOM, request.room)
    online_now = set(services.hub.online_users())
    hidden = services.store.blocks.blockers_of(
        me
    )  # as in `whoelse`: they do not see me, nor I them
    shown = {u for u in users if u in online_now and (u == me or u not in hidden)}

    def cost(user: str) -> int:  # in `users`, and again in `online`
        return paging.name_bytes(user) * (2 if user in shown else 1)

    limit = request.limit or paging.NAMES_LIMIT_MAX
    empty = {"users": [], "online": [], "count": len(users), "more": False}
    page = paging.fit(
        paging.after(users, request.after, paging.same), limit,
        paging.budget(ctx.request_id, empty), cost,
    )  # fmt: skip
    online = [u for u in page.items if u in shown]
    return {"users": page.items, "online": online, "count": len(users), "more": page.more}


ROOM_HANDLERS: dict[str, Any] = {
    "join": handle_join,
    "leave": handle_leave,
    "history": handle_history,
    "rooms": handle_rooms,
    "members": handle_members,
}
