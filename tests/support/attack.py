"""What the abuse tests need besides a client: cheap accounts, a server process whose log and
resources can be watched (and whose descriptor limit can be set), and raw sockets by the
hundred from chosen loopback addresses."""

from __future__ import annotations

import os
import re
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from service.credentials import passwords as auth
from service.credentials.hash_cost import HashCost
from tests.support.server import create_users

_LISTENING = re.compile(r"listening on (\S+):(\d+)")


def count_hashes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every password verification an in-process server makes from now on, in order
    (`known` for an account's hash, `?` for an unknown name's decoy)."""
    made: list[str] = []
    verify = auth.verify_password  # what service.core.handlers.accounts calls

    def counted(password_hash: str | None, password: str, cost: HashCost) -> bool:
        made.append("?" if password_hash is None else "known")
        return verify(password_hash, password, cost)

    monkeypatch.setattr("service.core.handlers.accounts.verify_password", counted)
    return made


def create_cheap_users(db_url: str, names: list[str], password: str) -> None:
    create_users(db_url, dict.fromkeys(names, password))  # cheap hashes, as every test's


@dataclass
class WatchedServer:
    """`chat-server` as a process: its log goes to a file, its CPU and memory are readable."""

    process: subprocess.Popen[bytes]
    log_path: Path
    host: str
    port: int

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def log_lines(self) -> int:
        return self.log_text().count("\n")

    def cpu_s(self) -> float:
        """User plus system CPU time the server has used so far."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise AssertionError("no VmRSS")

    def alive(self) -> bool:
        return self.process.poll() is None

    def terminate(self) -> int:
        self.process.terminate()
        return self.process.wait(timeout=20)


@contextmanager
def watched_server(
    db_url: str, tmp_path: Path, *args: str, max_descriptors: int | None = None
) -> Iterator[WatchedServer]:
    """A `chat-server` process on port 0, its log in tmp_path; `max_descriptors` sets both
    its soft and hard limit on open files (so it cannot raise them)."""
    log_path = tmp_path / "server.log"
    command = [sys.executable, "-m", "service.main", "--port", "0", "--db", db_url, *args]

    def limit() -> None:
        if max_descriptors is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (max_descriptors, max_descriptors))

    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=log,
            cwd=tmp_path,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            preexec_fn=limit,  # setrlimit alone: safe between fork and exec
        )
    try:
        host, port = _wait_listening(process, log_path)
        yield WatchedServer(process, log_path, host, port)
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_listening(process: subprocess.Popen[bytes], log_path: Path) -> tuple[str, int]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        match = _LISTENING.search(log_path.read_text(errors="replace"))
        if match:
            return match.group(1), int(match.group(2))
        if process.poll() is not None:
            break
        time.sleep(0.05)  # polling a file: there is no event to wait on
    raise RuntimeError(f"chat-server did not start:\n{log_path.read_text(errors='replace')}")


def open_sockets(host: str, port: int, count: int, sources: list[str]) -> list[socket.socket]:
    """`count` raw connections, spread over the loopback `sources` in turn."""
    sockets = []
    try:
        for n in range(count):
            sockets.append(
                socket.create_connection((host, port), 5, (sources[n % len(sources)], 0))
            )
    except BaseException:
        close_all(sockets)
        raise
    return sockets


def close_all(sockets: list[socket.socket]) -> None:
    for sock in sockets:
        sock.close()
