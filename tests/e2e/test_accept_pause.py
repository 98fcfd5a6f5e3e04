"""The reactor out of descriptors (EMFILE) or at the connection cap: it stops accepting for a
moment, says so once per interval instead of once per attempt, and recovers by itself.

(The same with a real server and a real descriptor limit: tests/e2e/test_abuse.py.)"""

from __future__ import annotations

import errno
import logging
import socket
import threading
import time
from typing import Any

import pytest

from service.net.reactor import Reactor

pytestmark = pytest.mark.sqlite_only  # no database involved


class FlakyListener(socket.socket):
    """A listening socket whose accept() fails with EMFILE while `exhausted` is set."""

    exhausted = threading.Event()

    def accept(self) -> tuple[socket.socket, Any]:
        if self.exhausted.is_set():
            raise OSError(errno.EMFILE, "Too many open files")
        return super().accept()


def test_out_of_descriptors_pauses_logs_once_and_resumes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="service.net.reactor")
    listener = FlakyListener(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    accepted: list[socket.socket] = []
    reactor = Reactor(listener, lambda sock, _address: accepted.append(sock), lambda: None)
    FlakyListener.exhausted.set()
    reactor.start()
    client = socket.create_connection(listener.getsockname()[:2])
    try:
        time.sleep(1.6)  # what is measured here is the lack of activity: about 3 pauses
        pauses = [r for r in caplog.records if "not accepting" in r.getMessage()]
        assert len(pauses) == 1, [r.getMessage() for r in caplog.records]
        assert "Too many open files" in pauses[0].getMessage()
        assert not accepted

        FlakyListener.exhausted.clear()
        deadline = time.monotonic() + 3
        while not accepted and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(accepted) == 1, "accepting did not resume"
        assert any("accepting connections again" in r.getMessage() for r in caplog.records)
        assert len(caplog.records) == 2
    finally:
        client.close()
        reactor.stop()
        reactor.close()
        listener.close()
        for sock in accepted:
            sock.close()


def test_the_connection_cap_pauses_without_taking_the_connection() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    full = threading.Event()
    full.set()
    reactor = Reactor(
        listener,
        lambda sock, _address: accepted.append(sock),
        lambda: None,
        accept_refusal=lambda: "at the cap" if full.is_set() else None,
    )
    reactor.start()
    client = socket.create_connection(listener.getsockname()[:2])
    try:
        time.sleep(0.7)
        assert not accepted  # it waits in the kernel's backlog
        full.clear()
        deadline = time.monotonic() + 3
        while not accepted and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(accepted) == 1
    finally:
        client.close()
        reactor.stop()
        reactor.close()
        listener.close()
        for sock in accepted:
            sock.close()
