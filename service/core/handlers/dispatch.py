"""Which handler answers each chat/1 request (one table), and the check every logged-in
request passes first. The handlers live by domain beside this module: accounts.py (login to
logout), people.py (whoelse, broadcast), blocking.py, private.py, rooms.py, conversations.py
(the direct-message record), search.py.

A wire adapter calls two things here: answer_request for each serial request, and leave
when its session ends however it ends.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from service.core.context import Context, Fields
from service.core.handlers.accounts import (
    handle_active,
    handle_login,
    handle_logout,
    handle_ping,
    handle_register,
)
from service.core.handlers.accounts import leave as leave  # the connection's other entry
from service.core.handlers.blocking import handle_block, handle_blocklist, handle_unblock
from service.core.handlers.conversations import DM_HANDLERS
from service.core.handlers.people import handle_broadcast, handle_whoelse, handle_whoelsesince
from service.core.handlers.private import (
    handle_private_answer,
    handle_startprivate,
    handle_stopprivate,
)
from service.core.handlers.rooms import ROOM_HANDLERS
from service.core.handlers.search import handle_search
from service.core.session import CHECKS_ACCOUNT, PIPELINED_OPS, EndReason, admit
from service.wire import requests as m
from service.wire.errors import INTERNAL, ErrorCode, RequestError, RequestId, error_reply, ok_reply

log = logging.getLogger(__name__)


def answer_request(
    ctx: Context, frame: dict[str, Any], now: float
) -> tuple[dict[str, Any], list[Callable[[], object]]]:
    """One serial request from its frame to its reply, for any wire adapter: checked in
    chat/1's order (service/core/session.py `admit`), run, and answered; `internal` (and a log
    line) for our own bug, so the session goes on. Also what is to follow the reply on the
    wire (after an ok only): the adapter sends the reply if the frame has an `id`, then runs
    those."""
    request_id: RequestId = None
    try:
        request_id = ctx.request_id = m.request_id(frame)
        outcome: Fields | BaseException = run_request(ctx, admit(frame, ctx.state, now))
    except Exception as error:
        outcome = error
    if isinstance(outcome, RequestError):
        reply = error_reply(request_id, outcome)
    elif isinstance(outcome, BaseException):
        log.error("request from %s failed", ctx.link.peer, exc_info=outcome)
        reply = error_reply(request_id, INTERNAL)
    else:
        reply = ok_reply(request_id, outcome)
    return reply, (ctx.follow_ups if reply["ok"] else [])


def run_request(ctx: Context, request: m.Request) -> Fields:
    """The request's handler, once a logged-in session's account is known to exist still: a
    deleted account's session ends (`bye account_deleted`) after this request's refusal."""
    user_id, users = ctx.state.user_id, ctx.services.store.users
    if user_id is not None and request.op in CHECKS_ACCOUNT and not users.account_exists(user_id):
        ctx.link.end_after_reply(EndReason.ACCOUNT_DELETED)
        raise RequestError(ErrorCode.NOT_LOGGED_IN, "Your account has been deleted.")
    return HANDLERS[request.op](ctx, request)


Handler = Callable[[Context, Any], Fields]

HANDLERS: dict[str, Handler] = {
    "login": handle_login,
    "register": handle_register,
    "logout": handle_logout,
    "ping": handle_ping,
    "active": handle_active,
    "broadcast": handle_broadcast,
    "whoelse": handle_whoelse,
    "whoelsesince": handle_whoelsesince,
    "block": handle_block,
    "unblock": handle_unblock,
    "blocklist": handle_blocklist,
    "startprivate": handle_startprivate,
    "private_answer": handle_private_answer,
    "stopprivate": handle_stopprivate,
    **ROOM_HANDLERS,
    **DM_HANDLERS,
    "search": handle_search,
}
# `message` and `ack` (and `say`, `read`) are pipelined: the writer answers them in batches
# (service/pipeline/).
assert set(HANDLERS) | PIPELINED_OPS == set(m.REQUEST_TYPES), "every chat/1 op has a handler"
assert not set(HANDLERS) & PIPELINED_OPS
