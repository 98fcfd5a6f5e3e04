"""The threads that run `login` and `register`: a bounded queue, served fairly per address.

A login hashes a password (argon2id: 19 MiB and tens of milliseconds, at most cores - 1 at a
time, see service/credentials/passwords.py), so a storm of them must neither grow without bound nor
make anyone else wait long. Two lanes, each a FairQueue (service/limits/fair_queue.py) served in
turn
per address with one job per address running at a time:

- the main lane, for addresses in good standing, with most of the threads;
- the suspects' lane, for addresses that failed lately (the caller decides,
  service/limits/guard.py):
  one thread, hashing in a slot of its own at a lower CPU priority (auth.hash_as_suspect).

An address with logins in one lane queues its next ones there too, whatever the caller says:
one address's logins are judged in the order they came (a right password sent after wrong
ones is judged after them, as it would be sent one at a time).

Bounded in total and per address: a job past either bound is refused at once, and the
caller answers `rate_limited`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable

from service.credentials import passwords as auth
from service.limits.fair_queue import FairQueue

log = logging.getLogger(__name__)

Job = Callable[[], None]
SUSPECT_THREADS = 1


class _Lane:
    def __init__(self, lock: threading.Lock, max_waiting: int, max_waiting_per_key: int) -> None:
        self.queue: FairQueue[Job] = FairQueue(max_waiting, max_waiting_per_key)
        self.ready = threading.Condition(lock)  # a job of this lane may be taken, or we stop


class AuthPool:
    def __init__(self, threads: int, max_waiting: int, max_waiting_per_key: int) -> None:
        self._lock = threading.Lock()
        self._max_waiting = max_waiting
        self._main = _Lane(self._lock, max_waiting, max_waiting_per_key)
        self._suspects = _Lane(self._lock, max_waiting, max_waiting_per_key)
        self._stopping = False
        lanes = [(self._main, False)] * threads + [(self._suspects, True)] * SUSPECT_THREADS
        self._threads = [
            threading.Thread(target=self._work, args=lane, name=f"auth_{n}", daemon=True)
            for n, lane in enumerate(lanes)
        ]
        for thread in self._threads:
            thread.start()

    def submit_nowait(self, key: Hashable, job: Job, *, suspect: bool = False) -> bool:
        """Queue `job` under `key` (its source address) in its lane; False if that would
        overfill the queue, in total or for `key`."""
        with self._lock:
            lane = self._suspects if suspect else self._main
            for busy in (self._main, self._suspects):
                if busy.queue.holds(key):
                    lane = busy
            waiting = len(self._main.queue) + len(self._suspects.queue)
            if self._stopping or waiting >= self._max_waiting or not lane.queue.push(key, job):
                return False
            lane.ready.notify()
        return True

    def shutdown(self, timeout_s: float = 10.0) -> None:
        """Drop the jobs still waiting, let the running ones finish, join the threads."""
        with self._lock:
            self._stopping = True
            for lane in (self._main, self._suspects):
                lane.queue.clear()
                lane.ready.notify_all()
        for thread in self._threads:
            thread.join(timeout_s)

    def _work(self, lane: _Lane, suspect: bool) -> None:
        if suspect:
            auth.hash_as_suspect()
        while True:
            with self._lock:
                taken = None
                while not self._stopping and (taken := lane.queue.pop()) is None:
                    lane.ready.wait()
                if taken is None:
                    return
            key, job = taken
            try:
                job()
            except Exception:  # the job is a connection's boundary; this is the last resort
                log.exception("a login job failed")
            finally:
                with self._lock:
                    lane.queue.done(key)
                    lane.ready.notify()  # that key's next job may go now
