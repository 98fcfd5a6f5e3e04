"""The threads that run `login` and `register`: a bounded queue, served fairly per address.

A login hashes a password (argon2id: 64 MiB and tens of milliseconds, at most cores - 1 at a
time, see service/auth.py), so a storm of them must neither grow without bound nor make
anyone else wait long. The queue is a FairQueue (service/fair_queue.py): bounded in total and
per address, so a request past either bound is refused at once (the caller answers
`rate_limited`), and served in turn per address with one job per address running at a time,
so one address spraying guesses keeps at most one hash in front of an honest login.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable

from service.fair_queue import FairQueue

log = logging.getLogger(__name__)

Job = Callable[[], None]


class AuthPool:
    def __init__(self, threads: int, max_waiting: int, max_waiting_per_key: int) -> None:
        self._queue: FairQueue[Job] = FairQueue(max_waiting, max_waiting_per_key)
        self._lock = threading.Lock()
        self._ready = threading.Condition(self._lock)  # a job may be taken, or we stop
        self._stopping = False
        self._threads = [
            threading.Thread(target=self._work, name=f"auth_{n}", daemon=True)
            for n in range(threads)
        ]
        for thread in self._threads:
            thread.start()

    def submit_nowait(self, key: Hashable, job: Job) -> bool:
        """Queue `job` under `key` (its source address); False if the queue is full there."""
        with self._lock:
            if self._stopping or not self._queue.push(key, job):
                return False
            self._ready.notify()
        return True

    def shutdown(self, timeout_s: float = 10.0) -> None:
        """Drop the jobs still waiting, let the running ones finish, join the threads."""
        with self._lock:
            self._stopping = True
            self._queue.clear()
            self._ready.notify_all()
        for thread in self._threads:
            thread.join(timeout_s)

    def _work(self) -> None:
        while True:
            with self._lock:
                taken = None
                while not self._stopping and (taken := self._queue.pop()) is None:
                    self._ready.wait()
                if taken is None:
                    return
            key, job = taken
            try:
                job()
            except Exception:  # the job is a connection's boundary; this is the last resort
                log.exception("a login job failed")
            finally:
                with self._lock:
                    self._queue.done(key)
                    self._ready.notify()  # that key's next job may go now
