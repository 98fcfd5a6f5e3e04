"""The store: everything Parley keeps, behind one Store composed of repositories
(service/store/store.py lists them; service/store/base.py says what every call promises).

Outside the store, import from here. The writer's hot path (writer.py, the *_statements and
*_checks modules) is imported by name by the pipeline alone.
"""

from service.store.failed_logins import FailedLoginEntry
from service.store.messages import Backlog, StoredMessage
from service.store.operator import BlockEntry, Footprint, Login, UserSummary
from service.store.operator_rooms import RoomSummary
from service.store.outcomes import CreationLimited, Refusal
from service.store.room_messages import RoomLine, RoomsAtLogin, RoomState
from service.store.rooms import Joined, RoomEntry
from service.store.store import Store
from service.store.users import Credentials

__all__ = [
    "Backlog",
    "BlockEntry",
    "CreationLimited",
    "Credentials",
    "FailedLoginEntry",
    "Footprint",
    "Joined",
    "Login",
    "Refusal",
    "RoomEntry",
    "RoomLine",
    "RoomState",
    "RoomSummary",
    "RoomsAtLogin",
    "Store",
    "StoredMessage",
    "UserSummary",
]
