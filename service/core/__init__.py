"""The core: what a session is and what each request does, with no socket in sight.

The session engine (engine.py) orders one session's work, sans-IO, for every wire adapter;
session.py holds its state and the end reasons; handlers/ do the serial requests by domain
(accounts, people, blocking, rooms, private); the hub (hub.py) is who is online and how to
reach them, the seam a cluster will replace; refusals.py is the one table from the store's
refusals to chat/1 errors.
"""

from service.core.context import Context, Link, Services
from service.core.engine import Do, SessionEngine
from service.core.hub import Hub, Recipient
from service.core.refusals import refusal_error
from service.core.session import EndReason, SessionState

__all__ = [
    "Context",
    "Do",
    "EndReason",
    "Hub",
    "Link",
    "Recipient",
    "Services",
    "SessionEngine",
    "SessionState",
    "refusal_error",
]
