"""chat-client's TLS: a verifying context, and a TLS socket safe for one reader and one sender.

The server is verified by default: its certificate must chain to the system's trusted CAs (or
to the one `--ca-file` names) and name the host the user gave. OpenSSL forbids reading and
writing one connection from two threads at once, and Link reads in its own thread while
requests are sent from the prompt's: `TlsStream` lets each call into OpenSSL hold one lock,
and waits for the socket (select) outside it, so a reader waiting for the server never holds
up a send.
"""

from __future__ import annotations

import select
import socket
import ssl
import threading
import time

RECV_BYTES_MAX = 65_536


def client_context(ca_file: str | None) -> ssl.SSLContext:
    """Verify the server against `ca_file` if given, else the system's CAs; TLS 1.2 or newer."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca_file)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def connect_tls(
    host: str, port: int, context: ssl.SSLContext, timeout_s: float, io_timeout_s: float
) -> TlsStream:
    """Connect and complete the handshake (the certificate checked against `host`). Raises
    OSError (ssl.SSLCertVerificationError among them) with the reason on failure."""
    sock = socket.create_connection((host, port), timeout=timeout_s)
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        tls = context.wrap_socket(sock, server_hostname=host)
    except BaseException:
        sock.close()
        raise
    return TlsStream(tls, io_timeout_s)


class TlsStream:
    """The parts of a socket that Link uses, over TLS; thread-safe for one reader thread and
    any number of senders. `recv` and `sendall` time out after `timeout_s` (TimeoutError)."""

    def __init__(self, sock: ssl.SSLSocket, timeout_s: float) -> None:
        sock.setblocking(False)
        self._sock = sock
        self._fd = sock.fileno()
        self._timeout_s = timeout_s
        self._lock = threading.Lock()  # one call into OpenSSL at a time
        self._send_lock = threading.Lock()  # one sendall at a time, so frames stay whole

    def getsockname(self) -> tuple[str, int]:
        host, port = self._sock.getsockname()[:2]
        return str(host), int(port)

    def recv(self, size: int) -> bytes:
        deadline = time.monotonic() + self._timeout_s
        while True:
            with self._lock:
                try:
                    return self._sock.recv(min(size, RECV_BYTES_MAX))
                except ssl.SSLWantReadError:
                    want_write = False
                except ssl.SSLWantWriteError:
                    want_write = True
            self._wait(want_write, deadline)

    def sendall(self, data: bytes) -> None:
        deadline = time.monotonic() + self._timeout_s
        view = memoryview(data)
        with self._send_lock:
            while view:
                with self._lock:
                    try:
                        view = view[self._sock.send(view) :]
                        continue
                    except ssl.SSLWantWriteError:  # OpenSSL wants the same bytes again
                        want_write = True
                    except ssl.SSLWantReadError:
                        want_write = False
                self._wait(want_write, deadline)

    def _wait(self, want_write: bool, deadline: float) -> None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("timed out")
        wanted = ([], [self._fd]) if want_write else ([self._fd], [])
        select.select(*wanted, [], remaining)

    def shutdown(self, how: int) -> None:
        """Wakes a reader waiting in `recv` (it then reads the end of the stream)."""
        with self._lock:
            self._sock.shutdown(how)

    def close(self) -> None:
        with self._lock:
            self._sock.close()
