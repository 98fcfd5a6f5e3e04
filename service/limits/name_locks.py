"""Login attempts, serialised per name (the store counts them durably, known name or not).

Two rules meet here. Lockout: the check, the (slow) password verification and the count of a
failure must be one step per name, or parallel guesses would each see the count from before
the others failed (a user is locked after max_attempts guesses, however they are sent).
Secrecy: a name without an account is counted the same way, in a table of its own
(Store.record_unknown_failure), so both answers cost one read, one hash and one committed
write (chat/1 precise point 4).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

from service.store.users import name_digest


class NameLocks:
    """First come, first served per name: attempts on one name run one at a time, in the order
    they arrived; entries exist only while someone waits or holds."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._queues: dict[str, tuple[threading.Condition, deque[object]]] = {}  # by digest

    @contextmanager
    def hold(self, name: str) -> Iterator[None]:
        key, ticket = name_digest(name), object()
        with self._guard:
            turn, queue = self._queues.setdefault(key, (threading.Condition(self._guard), deque()))
            queue.append(ticket)
            turn.wait_for(lambda: queue[0] is ticket)
        try:
            yield
        finally:
            with self._guard:
                queue.popleft()
                if queue:
                    turn.notify_all()
                else:
                    del self._queues[key]
