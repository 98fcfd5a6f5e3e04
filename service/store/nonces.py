"""The nonces of `message` and of `say`: kept so that a retried request is answered as the
first was (chat/1 precise point 11), and forgotten after a day.

A repository of the store: see service/store/base.py for what every call promises. The nonces
are written and looked up by the writer's statements (service/store/message_statements.py,
service/store/room_statements.py); here they are only pruned.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from service.store.base import Database, naive_utc
from service.store.models import Nonce, RoomNonce

NONCE_KEEP = timedelta(hours=25)  # chat/1 precise point 11 asks for at least 24 h


class Nonces:
    def __init__(self, db: Database) -> None:
        self._db = db

    def prune(self, now: datetime) -> int:
        """Forget the nonces of `message` and of `say` older than chat/1 asks to keep; how
        many."""
        old = naive_utc(now - NONCE_KEEP)

        def job(s: Session) -> int:
            direct = s.execute(delete(Nonce).where(Nonce.created_at < old))
            rooms = s.execute(delete(RoomNonce).where(RoomNonce.created_at < old))
            return int(direct.rowcount) + int(rooms.rowcount)  # type: ignore[attr-defined]

        return self._db.write(job)
