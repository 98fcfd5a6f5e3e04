"""The chat-server process under test: spawn it, learn its port, stop it.

`chat_server()` is the one way a workload gets a server: a fresh database with the given
accounts, `python -m service.main --port 0 --web-port 0` on 127.0.0.1 pinned to the server
CPU, and on the way out SIGTERM (then SIGKILL past a deadline) and the database removed. The
web port is always open, whichever transport the clients use, so a run over TCP and one over
WebSocket measure the same server.
"""

from __future__ import annotations

import collections
import os
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from .client import Endpoint
from .database import create_users, fresh_database
from .machine import SERVER_CPU, allowed_cpus, can_pin, children_on_server_cpu
from .settings import BenchConfig, WorkloadError

# The tree this package lives in: `python -m service.main` run from here serves this tree's
# code, whichever copy of Parley the virtualenv was installed from.
PROJECT_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 30.0  # SIGTERM first: the server says bye to every client, then exits
INACTIVITY_TIMEOUT_S = 3600  # idle benchmark clients must outlive the default 300 s
_LISTENING = re.compile(r"listening on (\S+):(\d+)")  # the chat port's line comes first
_WEB_LISTENING = re.compile(r"web port listening on (\S+):(\d+)")  # then the web port's
_LOG_LINES_KEPT = 10  # the tail of the server's stderr, kept for when it fails
_DB_PLACEHOLDER = "<fresh database>"


def server_command(config: BenchConfig, db_url: str = _DB_PLACEHOLDER) -> list[str]:
    """The command line of every server; with the placeholder, as the report shows it."""
    command = [sys.executable, "-m", "service.main", "--host", "127.0.0.1", "--port", "0"]
    command += ["--web-port", "0"]  # chat/1 over WebSocket on /chat (--transport ws)
    command += ["--db", db_url, "--log-level", "WARNING", "--timeout", str(INACTIVITY_TIMEOUT_S)]
    # The accounts' cheap hashes stay cheap: made anew at real cost at each first login, they
    # would turn every workload into one of argon2 (the storm of `login` has real ones).
    command += ["--keep-stored-hashes"]
    # Only when asked for something other than the default, so a server without the option
    # still runs every default benchmark.
    if config.sqlite_synchronous != "full" and config.db_server_url is None:
        command += ["--sqlite-synchronous", config.sqlite_synchronous]
    return command


@dataclass
class ServerProcess:
    process: subprocess.Popen[str]
    transport: str = "tcp"  # how the workload's clients reach it (BenchConfig.transport)
    host: str = ""
    port: int = 0
    web_port: int = 0
    _log: collections.deque[str] = field(
        default_factory=lambda: collections.deque(maxlen=_LOG_LINES_KEPT)
    )
    _listening: threading.Event = field(default_factory=threading.Event)

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def endpoint(self) -> Endpoint:
        """Where the workload's clients connect: the chat port, or the web port for ws."""
        return Endpoint(self.web_port if self.transport == "ws" else self.port, self.transport)

    def log_tail(self, lines: int = 3) -> str:
        """The server's last words: a traceback's or argparse's last lines say what failed."""
        return " ".join(line.strip() for line in list(self._log)[-lines:])

    def read_log(self) -> None:
        """Runs in a thread: keeps the stderr pipe empty (a full one would block the server)
        and catches the `listening on HOST:PORT` lines of both ports."""
        assert self.process.stderr is not None
        with self.process.stderr:
            for line in self.process.stderr:
                self._log.append(line)
                if self._listening.is_set():
                    continue
                if web := _WEB_LISTENING.search(line):
                    self.web_port = int(web.group(2))
                    self._listening.set()  # (printed after the chat port's line)
                elif match := _LISTENING.search(line):
                    self.host, self.port = match.group(1), int(match.group(2))
        self._listening.set()  # the server exited: stop waiting

    def wait_listening(self) -> None:
        if not self._listening.wait(START_TIMEOUT_S) or not (self.port and self.web_port):
            self.process.kill()
            self.process.wait()
            raise WorkloadError(f"chat-server did not start: {self.log_tail() or 'no output'}")

    def exit_error(self) -> WorkloadError | None:
        """Why the server is gone, when it exited on its own (None while it runs)."""
        status = self.process.poll()
        if status is None:
            return None
        return WorkloadError(f"chat-server exited with status {status}: {self.log_tail()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def spawn(config: BenchConfig, db_url: str, extra: Sequence[str] = ()) -> ServerProcess:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with children_on_server_cpu():
        process = subprocess.Popen(
            [*server_command(config, db_url), *extra],
            cwd=PROJECT_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
    server = ServerProcess(process, config.transport)
    threading.Thread(target=server.read_log, name="server-log", daemon=True).start()
    server.wait_listening()
    cpus = allowed_cpus(server.pid)
    if can_pin() and cpus != str(SERVER_CPU):  # it would share the generator's CPU
        server.stop()
        raise WorkloadError(f"chat-server was to run on CPU {SERVER_CPU} alone, not on {cpus}")
    return server


@contextmanager
def chat_server(
    config: BenchConfig,
    hashes: Mapping[str, str],
    prepare: Callable[[str], None] | None = None,
    extra: Sequence[str] = (),
) -> Iterator[ServerProcess]:
    """A running server on a fresh database holding `hashes` (name -> argon2 hash), and
    whatever `prepare(db_url)` adds before the server starts; `extra`: more of its options."""
    with fresh_database(config.db_server_url) as db_url:
        create_users(db_url, hashes)
        if prepare is not None:
            prepare(db_url)
        server = spawn(config, db_url, extra)
        try:
            yield server
        except Exception as error:
            died = server.exit_error()
            if died is not None and not isinstance(error, WorkloadError):
                raise died from error  # the server's death explains the error better
            raise
        finally:
            server.stop()
