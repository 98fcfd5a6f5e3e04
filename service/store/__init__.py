"""The store: everything Parley keeps, behind one Store composed of repositories
(service/store/store.py lists them; service/store/base.py says what every call promises).

Handlers, chat-admin and tests import the Store and its records from here. What is not a
query is named by its module: the writer and its hot statements (writer.py, *_statements.py,
*_checks.py) by the pipeline and the shell; db.py, instance_lock.py, change_marker.py by the
shell (service/server.py) and the migrations.
"""

from service.store.dm_record import ConversationEntry
from service.store.failed_logins import FailedLoginEntry
from service.store.login_tokens import TokenLogin
from service.store.messages import Backlog, StoredMessage
from service.store.operator import BlockEntry, Footprint, Login, UserSummary
from service.store.operator_rooms import RoomSummary
from service.store.outcomes import CreationLimited, Refusal
from service.store.room_messages import RoomLine, RoomsAtLogin, RoomState
from service.store.rooms import Joined, RoomEntry
from service.store.search import DmHit, RoomHit
from service.store.store import Store
from service.store.users import Credentials

__all__ = [
    "Backlog",
    "BlockEntry",
    "ConversationEntry",
    "CreationLimited",
    "Credentials",
    "DmHit",
    "FailedLoginEntry",
    "Footprint",
    "Joined",
    "Login",
    "Refusal",
    "RoomEntry",
    "RoomHit",
    "RoomLine",
    "RoomState",
    "RoomSummary",
    "RoomsAtLogin",
    "Store",
    "StoredMessage",
    "TokenLogin",
    "UserSummary",
]
