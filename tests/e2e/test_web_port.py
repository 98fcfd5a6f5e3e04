"""The web port's HTTP side: the files, the headers, what is refused, bounded heads, TLS.

A real server on port 0 with `web_port=0`; raw HTTP over real sockets (tests/support/http.py),
so a test sends exactly the bytes an attacker would. About the transport only: SQLite.
"""

from __future__ import annotations

import logging
import random
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import trustme

from service.config import ServerConfig, StartupError
from service.server import ChatServer
from tests.conftest import PASSWORD
from tests.support.http import closed_within, get, read_response, request_raw
from tests.support.server import RunningServer, create_users, spawn_server, start_server
from tests.support.ws import WsTestClient

pytestmark = pytest.mark.sqlite_only  # HTTP is the same whatever the database
HEAD_TIMEOUT_S = 1.0  # --login-timeout, which bounds a request head's time too


@pytest.fixture
def server_config(server_config: ServerConfig) -> ServerConfig:
    return replace(server_config, web_port=0, login_timeout_s=HEAD_TIMEOUT_S)


def _raw(server: RunningServer, data: bytes) -> int:
    return request_raw(server.host, server.web_port, data).status


def test_the_page_is_served_with_its_security_headers(server: RunningServer) -> None:
    page = get(server.host, server.web_port, "/")
    assert page.status == 200
    assert b"<title>Parley</title>" in page.body and b'src="js/main.js"' in page.body
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "default-src 'none'" in csp
    assert f"connect-src ws://{server.host}:{server.web_port}/chat;" in csp
    assert "frame-ancestors 'none'" in csp and "'unsafe-inline'" not in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    script = get(server.host, server.web_port, "/js/view/dom.js")
    assert script.headers["content-type"] == "text/javascript; charset=utf-8"
    assert b"createTextNode" in script.body and b"innerHTML" not in script.body


@pytest.mark.parametrize(
    "request_line",
    [b"GET /../../etc/passwd HTTP/1.1", b"GET /%2e%2e/%2e%2e/etc/passwd HTTP/1.1",
     b"GET /%2e%2e/ HTTP/1.1", b"GET /nope HTTP/1.1", b"GET /static/index.html HTTP/1.1",
     b"GET /..%2fservice%2fconfig.py HTTP/1.1"],
)  # fmt: skip
def test_unknown_paths_and_traversal_tries_are_404(
    server: RunningServer, request_line: bytes
) -> None:
    response = request_raw(server.host, server.web_port,
                           request_line + b"\r\nHost: x\r\nConnection: close\r\n\r\n")  # fmt: skip
    assert response.status == 404 and b"root:" not in response.body
    assert response.headers["cache-control"] == "no-store"
    assert "content-security-policy" in response.headers


def test_post_is_405_with_allow(server: RunningServer) -> None:
    response = request_raw(server.host, server.web_port, b"POST / HTTP/1.1\r\nHost: x\r\n"
                           b"Content-Length: 5\r\n\r\nhello")  # fmt: skip
    assert response.status == 405 and response.headers["allow"] == "GET, HEAD"


def test_a_plain_get_of_the_endpoint_asks_for_an_upgrade(server: RunningServer) -> None:
    response = get(server.host, server.web_port, "/chat")
    assert response.status == 426 and response.headers["upgrade"] == "websocket"


def test_an_oversized_head_is_431_and_closed(
    server: RunningServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    head = b"GET / HTTP/1.1\r\nHost: x\r\nX-Junk: " + b"a" * 10_000 + b"\r\n\r\n"
    assert _raw(server, head) == 431
    assert "closed a web connection" in caplog.text


def test_a_slow_head_is_dropped_and_logged(
    server: RunningServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    with socket.create_connection((server.host, server.web_port), timeout=5) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # and never the end of the head
        started = time.monotonic()
        assert closed_within(sock, HEAD_TIMEOUT_S + 4)
        assert time.monotonic() - started >= HEAD_TIMEOUT_S - 0.3
    assert "did not send a whole request head in time" in caplog.text


def test_keep_alive_serves_the_files_then_upgrades_on_the_same_connection(
    server: RunningServer,
) -> None:
    authority = f"{server.host}:{server.web_port}".encode()
    with socket.create_connection((server.host, server.web_port), timeout=5) as sock:
        for path in (b"/", b"/js/main.js", b"/style.css"):
            sock.sendall(b"GET " + path + b" HTTP/1.1\r\nHost: " + authority + b"\r\n\r\n")
            assert read_response(sock).status == 200
        sock.sendall(b"HEAD / HTTP/1.1\r\nHost: " + authority + b"\r\n\r\n")
        head = read_response(sock, head=True)
        assert head.status == 200 and head.body == b""
        sock.sendall(b"GET /chat HTTP/1.1\r\nHost: " + authority + b"\r\nUpgrade: websocket\r\n"
                     b"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                     b"Origin: http://" + authority + b"\r\n"
                     b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")  # fmt: skip
        switched = read_response(sock)
        assert switched.status == 101
        assert switched.headers["sec-websocket-accept"] == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        first = switched.body or sock.recv(4096)  # it may come with the 101
        assert first.startswith(b"\x81") and b'"ev":"hello"' in first  # unmasked text


def test_web_connections_count_toward_the_per_address_cap(db_url: str) -> None:
    config = ServerConfig(port=0, web_port=0, db_url=db_url, max_connections_per_address=2)
    server = start_server(config)
    try:
        held = [socket.create_connection((server.host, server.web_port)) for _ in range(2)]
        with pytest.raises(ConnectionError):
            get(server.host, server.web_port, "/")
        for sock in held:
            sock.close()
    finally:
        server.stop()


def test_chat_server_prints_the_page_s_address(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'parley.db'}"
    process = spawn_server(url, tmp_path, "--web-port", "0")
    try:
        assert process.web_port is not None
        assert get(process.host, process.web_port, "/").status == 200
    finally:
        assert process.terminate() == 0


def test_a_busy_web_port_stops_the_start_before_the_database(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        config = ServerConfig(port=0, web_port=port, db_url=f"sqlite:///{tmp_path / 'p.db'}")
        with pytest.raises(StartupError, match=f"cannot listen on 127.0.0.1:{port}"):
            ChatServer(config).start()
    assert not (tmp_path / "p.db").exists()


def test_bad_web_options_are_usage_errors(tmp_path: Path) -> None:
    for args in (["--web-port", "70000"], ["--web-origin", "evil.example"]):
        result = subprocess.run([sys.executable, "-m", "service.main", *args],
                                capture_output=True, text=True, cwd=tmp_path)  # fmt: skip
        assert result.returncode == 2, result.stderr
        assert "web" in result.stderr


# --- TLS: HTTPS and WSS with the same certificate ----------------------------------------------


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[RunningServer, ssl.SSLContext]]:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert.private_key_pem.write_to_path(str(tmp_path / "key.pem"))
    cert.cert_chain_pems[0].write_to_path(str(tmp_path / "cert.pem"))
    db_url = f"sqlite:///{tmp_path / 'parley.db'}"
    create_users(db_url, {"alice": PASSWORD})
    config = ServerConfig(port=0, web_port=0, db_url=db_url, allow_weak_hashing=True,
                          tls_cert=str(tmp_path / "cert.pem"),
                          tls_key=str(tmp_path / "key.pem"))  # fmt: skip
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    server = start_server(config)
    yield server, client_context
    server.stop()


def test_over_tls_the_page_is_https_and_the_socket_wss(
    tls_server: tuple[RunningServer, ssl.SSLContext],
) -> None:
    server, context = tls_server
    page = request_raw(server.host, server.web_port,
                       b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
                       tls=context)  # fmt: skip
    assert page.status == 200
    assert "connect-src wss://localhost/chat;" in page.headers["content-security-policy"]
    web = WsTestClient(server.host, server.web_port, tls=context)  # Origin https://127.0.0.1:…
    assert web.request("login", user="alice", password=PASSWORD)["ok"] is True
    assert web.request("logout")["ok"] is True
    assert [f["reason"] for f in web.wait_closed()] == ["logout"]
    web.close()
    with pytest.raises(ssl.SSLError):  # plain HTTP on the TLS port: no handshake, no answer
        request_raw(server.host, server.web_port, b"GET / HTTP/1.1\r\n\r\n",
                    tls=ssl.create_default_context())  # fmt: skip


def test_junk_heads_are_refused_or_closed_and_the_port_serves_on(server: RunningServer) -> None:
    rng = random.Random(11)
    for _ in range(30):
        headers = b"GET / HTTP/1.1\r\n" + rng.randbytes(rng.randrange(1, 500)) + b"\r\n\r\n"
        junk = rng.choice([rng.randbytes(rng.randrange(1, 3000)), headers])
        with socket.create_connection((server.host, server.web_port), timeout=5) as sock:
            sock.sendall(junk)
            sock.shutdown(socket.SHUT_WR)
            assert closed_within(sock, 5)  # an error response, or nothing: then the close
    assert get(server.host, server.web_port, "/").status == 200
