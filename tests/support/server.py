"""Real servers for tests: in-process on an ephemeral port, or as a `chat-server` process."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher

from service.config import ServerConfig
from service.credentials.hash_cost import HashCost
from service.server import ChatServer
from service.store import Store
from service.wire.timeutil import utc_now
from tests.support.client import TestClient
from tests.support.databases import migrate

_LISTENING = re.compile(rb"chat-server: listening on (\S+):(\d+)")
_WEB_LISTENING = re.compile(rb"chat-server: web port listening on (\S+):(\d+)")


@dataclass
class RunningServer:
    server: ChatServer
    config: ServerConfig

    @property
    def host(self) -> str:
        return self.server.address[0]

    @property
    def port(self) -> int:
        return self.server.address[1]

    @property
    def web_port(self) -> int:
        """The web port (the server must have one: `web_port=0` in its config)."""
        address = self.server.web_address
        assert address is not None, "this server has no web port"
        return address[1]

    @property
    def db_url(self) -> str:
        return self.config.db_url

    def stop(self) -> None:
        self.server.stop()


def start_server(config: ServerConfig) -> RunningServer:
    """A server on `config`, on a port of the system's choosing."""
    return start_on(config, 0)


def start_on(config: ServerConfig, port: int, web_port: int | None = None) -> RunningServer:
    """A server on `config`'s database and on `port` (and `web_port`), as after a restart:
    clients that knew the address find it there again."""
    server = ChatServer(replace(config, port=port, web_port=web_port or config.web_port))
    server.start()
    return RunningServer(server, config)


def start_web_server(folder: Path, options: dict[str, Any]) -> RunningServer:
    """A server with a web port on a fresh SQLite file in `folder`. A module whose tests stop
    their server gives each test one of its own (tests/browser/test_reconnect.py)."""
    config = ServerConfig(
        port=0, db_url=f"sqlite:///{folder / 'parley.db'}", block_duration_s=60, timeout_s=300,
        argon2=TEST_COST, allow_weak_hashing=True, web_port=0,
    )  # fmt: skip
    return start_server(replace(config, **options))


# Real argon2id at its lowest cost: the server verifies with the parameters stored in the hash,
# so a test login costs microseconds instead of megabytes and tens of milliseconds, and the
# suite measures Parley rather than argon2. The `server_config` fixture hashes at this cost too
# (unknown names' decoys, register, and no rehash at the first login); servers made otherwise
# hash at the real cost, and make these hashes anew at their first login.
# `chat-admin adduser` (tested on its own) hashes at the real cost.
TEST_COST = HashCost(memory_kib=1024, time_cost=1, parallelism=1)
_test_hasher = PasswordHasher(
    time_cost=TEST_COST.time_cost, memory_cost=TEST_COST.memory_kib, parallelism=1
)


def cheap_hash(password: str) -> str:
    """An argon2id hash of `password` at the tests' minimal cost."""
    return _test_hasher.hash(password)


def create_users(db_url: str, users: dict[str, str]) -> None:
    """Accounts as an operator makes them, straight into the database (with cheap hashes)."""
    migrate(db_url)
    store = Store.open(db_url, group_commit=False)
    try:
        for name, password in users.items():
            store.users.create_user(name, _test_hasher.hash(password), utc_now())
    finally:
        store.close()


@dataclass
class ServerProcess:
    process: subprocess.Popen[bytes]
    host: str
    port: int
    web_port: int | None = None  # learned like the port, from the log line

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)

    def terminate(self) -> int:
        self.process.terminate()
        return self.process.wait(timeout=15)


def spawn_server(db_url: str, cwd: Path, *args: str, timeout_s: float = 20) -> ServerProcess:
    """`chat-server` as its own process (for kill -9 and signal tests); waits until it listens."""
    command = [sys.executable, "-m", "service.main", "--port", "0", "--db", db_url, *args]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(command, cwd=cwd, stderr=subprocess.PIPE, env=env)
    assert process.stderr is not None
    deadline = time.monotonic() + timeout_s
    seen = b""
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            break
        seen += line
        match = _LISTENING.search(line)
        if match and "--web-port" in args:  # its line follows at once
            web = _WEB_LISTENING.search(process.stderr.readline())
            assert web is not None, "no web port line after the listening line"
            _drain_in_background(process)
            return ServerProcess(
                process, match.group(1).decode(), int(match.group(2)), int(web.group(2))
            )
        if match:
            _drain_in_background(process)
            return ServerProcess(process, match.group(1).decode(), int(match.group(2)))
    process.kill()
    raise RuntimeError(f"chat-server did not start:\n{seen.decode(errors='replace')}")


def _drain_in_background(process: subprocess.Popen[Any]) -> None:
    """Keep reading the server's log so a full pipe never blocks it."""
    import threading

    def drain() -> None:
        assert process.stderr is not None
        with process.stderr:
            for _line in process.stderr:
                pass

    threading.Thread(target=drain, daemon=True).start()


@contextmanager
def restarted(server: RunningServer) -> Iterator[Callable[[], TestClient]]:
    """Stop the test's server, start a new one on the same database; yields a connect()."""
    server.stop()
    again = start_server(server.config)
    clients: list[TestClient] = []

    def connect_again() -> TestClient:
        client = TestClient(again.host, again.port)
        clients.append(client)
        return client

    try:
        yield connect_again
    finally:
        for client in clients:
            client.close()
        again.stop()
