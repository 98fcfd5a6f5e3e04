"""Raw HTTP/1.1 for tests of the web port: any bytes out, the response parsed back.

Raw, so a test can send what no HTTP library would (`GET /../../etc/passwd`, a head of
10 KiB) and check the exact status and headers the server answers with.
"""

from __future__ import annotations

import socket
import ssl
import time
from dataclasses import dataclass


@dataclass
class Response:
    status: int
    headers: dict[str, str]  # lower-case names; a repeated header's last value
    body: bytes


def request_raw(
    host: str, port: int, data: bytes, *, tls: ssl.SSLContext | None = None,
    timeout_s: float = 5.0,
) -> Response:  # fmt: skip
    """Send `data` as it is, read one response (its head, then Content-Length bytes)."""
    sock = socket.create_connection((host, port), timeout=timeout_s)
    if tls is not None:
        sock = tls.wrap_socket(sock, server_hostname=host)
    with sock:
        sock.sendall(data)
        return read_response(sock, timeout_s)


def get(host: str, port: int, path: str, method: str = "GET", **headers: str) -> Response:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: close"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return request_raw(host, port, ("\r\n".join(lines) + "\r\n\r\n").encode())


def read_response(sock: socket.socket, timeout_s: float = 5.0, *, head: bool = False) -> Response:
    """One response; `head`: to a HEAD request (no body, whatever Content-Length says)."""
    deadline = time.monotonic() + timeout_s
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = _recv(sock, deadline)
        if not chunk:
            raise ConnectionError(f"closed before a whole response head: {data!r}")
        data += chunk
    head_bytes, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head_bytes.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    status = int(status_line.split(" ")[1])
    length = 0 if head else int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = _recv(sock, deadline)
        if not chunk:
            break
        body += chunk
    return Response(status, headers, body)


def closed_within(sock: socket.socket, timeout_s: float) -> bool:
    """Whether the server closes `sock` within `timeout_s` (reading and dropping the rest)."""
    deadline = time.monotonic() + timeout_s
    try:
        while _recv(sock, deadline):
            pass
    except TimeoutError:
        return False
    return True


def _recv(sock: socket.socket, deadline: float) -> bytes:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TimeoutError("no answer in time")
    sock.settimeout(remaining)
    try:
        return sock.recv(65_536)
    except ConnectionResetError:
        return b""
