"""A bounded queue served fairly across keys, pure: the order in which logins get hashed.

Password hashing is the expensive step of a login (argon2id, 19 MiB, tens of milliseconds).
Served first come, first served, one address spraying guesses would put every honest login
behind all of its guesses. Here each key (a source address) has a queue of its own, keys are
served in turn, and a key has at most one item out at a time: an honest login waits for at
most one item per other busy address, however many that address has queued.

Bounded twice: in total and per key. `push` refuses past either bound and the caller answers
`rate_limited`. No lock and no threads here: service/limits/auth_pool.py wraps it in both.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class FairQueue(Generic[T]):
    def __init__(self, max_items: int, max_per_key: int) -> None:
        assert max_items >= 1 and max_per_key >= 1
        self.max_items = max_items
        self.max_per_key = max_per_key
        self._waiting: OrderedDict[Hashable, deque[T]] = OrderedDict()  # keys in turn order
        self._out: set[Hashable] = set()  # keys with an item taken and not yet done
        self._count = 0  # items waiting, over all keys

    def __len__(self) -> int:
        return self._count

    def waiting(self, key: Hashable) -> int:
        queue = self._waiting.get(key)
        return len(queue) if queue is not None else 0

    def holds(self, key: Hashable) -> bool:
        """Whether `key` has an item waiting or out."""
        return key in self._waiting or key in self._out

    def push(self, key: Hashable, item: T) -> bool:
        """Queue `item` under `key`; False (nothing queued) past either bound."""
        if self._count >= self.max_items:
            return False
        queue = self._waiting.get(key)
        if queue is None:
            queue = self._waiting[key] = deque()
        elif len(queue) >= self.max_per_key:
            return False
        queue.append(item)
        self._count += 1
        return True

    def pop(self) -> tuple[Hashable, T] | None:
        """The next item of the first key in turn with nothing out; that key goes to the back
        of the turn. None when every waiting item's key has one out (or nothing waits)."""
        for key, queue in self._waiting.items():
            if key in self._out:
                continue
            item = queue.popleft()
            self._count -= 1
            if queue:
                self._waiting.move_to_end(key)
            else:
                del self._waiting[key]
            self._out.add(key)
            return key, item
        return None

    def done(self, key: Hashable) -> None:
        """The item taken for `key` is finished: its next one may go."""
        self._out.discard(key)

    def clear(self) -> list[T]:
        """Drop everything waiting; returns it."""
        items = [item for queue in self._waiting.values() for item in queue]
        self._waiting.clear()
        self._count = 0
        return items
