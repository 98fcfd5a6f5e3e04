"""The store: Parley's persistence in domain words, one repository per concept.

    store.users           accounts, credentials, password hashes, lockout counts
    store.periods         active periods: login to logout, who was seen since when
    store.blocks          who blocks whom
    store.messages        direct messages at rest: the backlog a login delivers
    store.dm_record       the record of direct messages: dm_history, conversations, purge
    store.rooms           rooms' membership: join, leave, members, the `rooms` list
    store.room_messages   what is said in rooms: history, the catch-up at login
    store.search          the messages a user may see that hold a query's words
    store.nonces          the nonces of `message` and `say`, pruned after a day
    store.failed_logins   failed logins, for `chat-admin history --failed`
    store.login_tokens    remembered logins: tokens given, used, revoked (feature `tokens`)
    store.operator        chat-admin's accounts, login history and blocks
    store.operator_rooms  chat-admin's rooms

Every repository holds the one Database (service/store/base.py: what every call promises) and
nothing else; none calls another. The server's hot path (`message`, `ack`, `say`, `read`)
reaches the writer directly through `group_writer`.
"""

from __future__ import annotations

from service.store.base import Database
from service.store.blocks import Blocks
from service.store.change_marker import ChangeMarker
from service.store.dm_record import DmRecord
from service.store.failed_logins import FailedLogins
from service.store.login_tokens import LoginTokens
from service.store.messages import Messages
from service.store.nonces import Nonces
from service.store.operator import Operator
from service.store.operator_rooms import OperatorRooms
from service.store.periods import Periods
from service.store.room_messages import RoomMessages
from service.store.rooms import Rooms
from service.store.search import Search
from service.store.users import Users
from service.store.writer import GroupCommitWriter


class Store:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.users = Users(db)
        self.periods = Periods(db)
        self.blocks = Blocks(db)
        self.messages = Messages(db)
        self.dm_record = DmRecord(db)
        self.rooms = Rooms(db)
        self.room_messages = RoomMessages(db)
        self.search = Search(db)
        self.nonces = Nonces(db)
        self.failed_logins = FailedLogins(db)
        self.login_tokens = LoginTokens(db)
        self.operator = Operator(db)
        self.operator_rooms = OperatorRooms(db)

    @classmethod
    def open(
        cls, url: str, *, group_commit: bool, max_text_chars: int = 4_000,
        synchronous: str = "full",
    ) -> Store:  # fmt: skip
        """group_commit: the server's writer thread; otherwise each write commits on the
        caller's thread (chat-admin, tests)."""
        return cls(Database.open(url, group_commit=group_commit, max_text_chars=max_text_chars,
                                 synchronous=synchronous))  # fmt: skip

    @property
    def group_writer(self) -> GroupCommitWriter:
        """The server's writer: the shell gives it each round and the answerer (server.py)."""
        assert isinstance(self.db.writer, GroupCommitWriter), "open(group_commit=True)"
        return self.db.writer

    def change_marker(self) -> ChangeMarker:
        """See service/store/change_marker.py; the caller closes it before the store."""
        return ChangeMarker(self.db.engine)

    def close(self) -> None:
        self.db.close()
