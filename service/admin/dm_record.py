"""The operator's retention rule for the record of direct messages (feature `dm_history`).

chat-admin's `purge-dms` calls these; the server never does. The queries live in the store
(service/store/dm_record.py), each one short transaction, so they are safe while chat-server
runs. Only acknowledged messages are removed: one not yet delivered stays, whatever its age
(chat/1 "Messages are never lost"). This module renders nothing and reads no clock.
"""

from __future__ import annotations

from datetime import datetime

from service.store import Store


def purgeable_dms(store: Store, before: datetime) -> int:
    """How many acknowledged direct messages were sent before `before` (the confirmation)."""
    return store.dm_record.purgeable(before)


def purge_dms(store: Store, before: datetime) -> int:
    """Remove acknowledged direct messages sent before `before`; how many went."""
    return store.dm_record.purge(before)
