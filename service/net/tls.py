"""TLS for chat-server: the context made from the operator's files, and the handshake.

Why a non-blocking SSLSocket rather than ssl.MemoryBIO: after the handshake an SSLSocket
reads and writes like the plain socket it wraps (`recv`, `send`), so the connection and its
outbox stay one code path for both, and a plaintext server runs exactly the code it ran
before. The differences are confined to two `except` clauses: a TLS read or write that
would block raises SSLWantRead/WriteError instead of BlockingIOError (`WOULD_BLOCK`). All
TLS calls of one connection happen on the reactor thread (OpenSSL forbids concurrent reads
and writes on one connection). OpenSSL may hold decrypted bytes that `select` cannot see
(a read returns at most one TLS record): the connection asks `pending()` after each read.

The handshake is stepped by the reactor like any other socket event (`Handshake`), so a
client that never finishes it holds a descriptor until the login deadline, never a thread.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
from collections.abc import Callable
from typing import TYPE_CHECKING

from service.config import ServerConfig, StartupError

if TYPE_CHECKING:
    from service.net.reactor import Reactor

# A read or write that would block, plain or inside TLS: try again when the socket is ready.
WOULD_BLOCK = (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError)


def server_context(config: ServerConfig) -> ssl.SSLContext | None:
    """The server's TLS context (TLS 1.2 or newer), or None without --tls-cert.
    StartupError names the file and the problem when it cannot be used."""
    cert, key = config.tls_cert, config.tls_key
    if cert is None or key is None:
        return None
    _check_pem(cert, b"-----BEGIN CERTIFICATE-----", "PEM certificate")
    _check_pem(key, b"PRIVATE KEY-----", "PEM private key")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2

    def no_password() -> bytes:
        raise StartupError(f"the TLS key {key} is encrypted: give chat-server an unencrypted "
                           "key, readable by its user only")  # fmt: skip

    try:
        context.load_cert_chain(cert, key, password=no_password)
    except ssl.SSLError as error:
        if error.reason == "KEY_VALUES_MISMATCH":
            raise StartupError(
                f"the TLS key {key} is not the key of the certificate {cert}"
            ) from None
        raise StartupError(f"cannot use the TLS certificate {cert} with the key {key}: "
                           f"{error.reason or error.strerror or error}") from None  # fmt: skip
    return context


def _check_pem(path: str, marker: bytes, what: str) -> None:
    try:
        with open(path, "rb") as file:
            text = file.read(1 << 20)
    except OSError as error:
        raise StartupError(f"cannot read {path}: {error.strerror or error}") from None
    if marker not in text:
        raise StartupError(f"{path} holds no {what}")


class Handshake:
    """One TLS connection before chat/1 starts: the reactor steps its handshake whenever the
    socket is ready; then `on_done(sock)` takes it over, or `on_failed(reason)` is told."""

    def __init__(
        self,
        sock: ssl.SSLSocket,
        reactor: Reactor,
        deadline: float,
        on_done: Callable[[Handshake], None],
        on_failed: Callable[[Handshake, str], None],
    ) -> None:
        self.sock = sock
        self._fd = sock.fileno()
        self._reactor = reactor
        self.deadline = deadline  # monotonic: the connection's login deadline
        self._on_done = on_done
        self._on_failed = on_failed
        self._over = False

    def fileno(self) -> int:
        return self._fd

    def start(self) -> None:
        self._step()

    def on_readable(self) -> None:
        self._step()

    def on_writable(self) -> None:
        self._step()

    def on_failure(self) -> None:
        self.fail("an error in the server")

    def close_if_overdue(self, now: float) -> None:
        if now >= self.deadline:
            self.fail("no handshake before the login deadline")

    def close(self) -> None:
        """Without a word (there is no TLS session to say it in)."""
        if self._over:
            return
        self._over = True
        self._reactor.watch(self, read=False, write=False)
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()

    def _step(self) -> None:
        if self._over:
            return
        try:
            self.sock.do_handshake()
        except ssl.SSLWantReadError:
            self._reactor.watch(self, read=True, write=False)
        except ssl.SSLWantWriteError:
            self._reactor.watch(self, read=False, write=True)
        except ssl.SSLError as error:  # not TLS (plaintext chat/1, say), or no common ground
            self.fail(error.reason or str(error))
        except OSError as error:
            self.fail(error.strerror or type(error).__name__)
        else:
            self._over = True
            self._on_done(self)

    def fail(self, reason: str) -> None:
        if not self._over:
            self.close()
            self._on_failed(self, reason)
