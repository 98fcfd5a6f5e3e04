"""chat/1 inside TLS: `chat-server --tls-cert/--tls-key`, `chat-client --tls [--ca-file]`.

The certificates come from a throwaway CA made at test time (trustme), for 127.0.0.1 and
localhost; another CA stands for everyone the client must not trust.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import ssl
import sys
import time
import warnings
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import replace
from pathlib import Path
from typing import Any

import pexpect
import pytest
import trustme

from cli.client.link import Incoming, Link
from cli.client.tls import client_context
from service.config import ServerConfig
from tests.conftest import PASSWORD
from tests.support.attack import create_cheap_users, watched_server
from tests.support.client import TestClient
from tests.support.server import RunningServer, start_server

ROOT = Path(__file__).resolve().parents[2]


pytestmark = pytest.mark.sqlite_only  # TLS is the same whatever the database
LOGIN_TIMEOUT_S = 2.0


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def ca_file(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


@pytest.fixture(scope="module")
def server_config(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> ServerConfig:
    """One server for the module (the tests only connect to it): a certificate for
    127.0.0.1 and localhost from the test CA."""
    directory = tmp_path_factory.mktemp("tls")
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert.private_key_pem.write_to_path(str(directory / "key.pem"))
    cert.cert_chain_pems[0].write_to_path(str(directory / "cert.pem"))
    return ServerConfig(
        port=0,
        db_url=f"sqlite:///{directory / 'parley.db'}",
        tls_cert=str(directory / "cert.pem"),
        tls_key=str(directory / "key.pem"),
        login_timeout_s=LOGIN_TIMEOUT_S,
    )


@pytest.fixture(scope="module")
def server(server_config: ServerConfig) -> Iterator[RunningServer]:
    # One account per test that logs in: the tests share this server.
    create_cheap_users(server_config.db_url, ["alice", "bob", "link", "term"], PASSWORD)
    running = start_server(server_config)
    yield running
    running.stop()


@pytest.fixture
def trusting(ca_file: Path) -> ssl.SSLContext:
    return client_context(str(ca_file))


def test_a_client_that_trusts_the_ca_talks(server: RunningServer, trusting: ssl.SSLContext) -> None:
    alice = TestClient(server.host, server.port, tls=trusting)
    bob = TestClient(server.host, server.port, tls=trusting)
    assert alice.hello["proto"] == "chat/1"
    alice.login("alice", PASSWORD)
    bob.login("bob", PASSWORD)
    assert isinstance(alice.sock, ssl.SSLSocket) and alice.sock.version() in ("TLSv1.2", "TLSv1.3")
    long_texts = [f"{n} " + "é" * 3_990 for n in range(40)]  # many records, pipelined
    alice.send_raw(b"".join(
        json.dumps({"op": "message", "id": n, "to": "bob", "text": text}).encode() + b"\n"
        for n, text in enumerate(long_texts)
    ))  # fmt: skip
    assert all(alice.reply_to(n)["ok"] for n in range(len(long_texts)))
    assert [bob.expect(ev="message")["text"] for _ in long_texts] == long_texts
    alice.request("logout")
    bob.request("logout")
    alice.close()
    bob.close()


def test_a_client_with_another_ca_is_refused(server: RunningServer, tmp_path: Path) -> None:
    other = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    with pytest.raises(ssl.SSLCertVerificationError):
        TestClient(server.host, server.port, tls=client_context(str(other)))


def test_the_certificate_must_name_the_host(
    server_config: ServerConfig, ca: trustme.CA, trusting: ssl.SSLContext, tmp_path: Path
) -> None:
    """A certificate from the trusted CA, but for another name, is refused: the client checks
    the name as well as the signature."""
    cert = ca.issue_cert("chat.example")
    cert.private_key_pem.write_to_path(str(tmp_path / "other-key.pem"))
    cert.cert_chain_pems[0].write_to_path(str(tmp_path / "other-cert.pem"))
    elsewhere = start_server(replace(
        server_config, tls_cert=str(tmp_path / "other-cert.pem"),
        tls_key=str(tmp_path / "other-key.pem"),
        db_url=f"sqlite:///{tmp_path / 'elsewhere.db'}",  # one server per database
    ))  # fmt: skip
    try:
        with pytest.raises(ssl.SSLCertVerificationError, match=r"127\.0\.0\.1"):
            TestClient(elsewhere.host, elsewhere.port, tls=trusting)
    finally:
        elsewhere.stop()


def test_plaintext_to_the_tls_port_gets_no_hello(
    server: RunningServer, trusting: ssl.SSLContext
) -> None:
    plain = socket.create_connection((server.host, server.port), 5)
    plain.settimeout(0.5)
    with pytest.raises(TimeoutError):
        plain.recv(100)  # the server waits for a TLS ClientHello and says nothing
    plain.sendall(json.dumps({"op": "ping", "id": 1}).encode() + b"\n")
    plain.settimeout(5)
    received = b""
    with contextlib.suppress(ConnectionError):
        while chunk := plain.recv(4096):  # until the server closes: not TLS, not served
            received += chunk
    plain.close()
    assert b"hello" not in received and b"{" not in received
    client = TestClient(server.host, server.port, tls=trusting)  # still serving TLS
    assert client.request("ping")["ok"] is True
    client.close()


def test_a_handshake_never_finished_is_closed_at_the_login_deadline(
    server: RunningServer,
) -> None:
    silent = socket.create_connection((server.host, server.port), 5)
    silent.settimeout(5)
    started = time.monotonic()
    assert silent.recv(100) == b""  # closed without a word, no TLS session to say it in
    assert time.monotonic() - started < LOGIN_TIMEOUT_S + 2
    silent.close()


def test_tls_older_than_1_2_is_refused(server: RunningServer, ca_file: Path) -> None:
    old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    old.load_verify_locations(str(ca_file))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # TLS 1.1 is: that is the point
        try:
            old.minimum_version = ssl.TLSVersion.TLSv1
            old.maximum_version = ssl.TLSVersion.TLSv1_1
        except ValueError:
            pytest.skip("this OpenSSL cannot even offer TLS 1.1")
    with pytest.raises(ssl.SSLError):
        TestClient(server.host, server.port, tls=old)


def test_the_client_link_over_tls(server: RunningServer, trusting: ssl.SSLContext) -> None:
    """cli.client.link with TLS: its reader thread and the sender share one TLS connection."""
    got: list[Incoming] = []
    link = Link.connect(server.host, server.port, got.append, trusting)
    try:
        reply: Future[dict[str, Any]] = link.request("login", user="link", password=PASSWORD)
        assert reply.result(timeout=10)["ok"] is True
        replies = [link.request("ping") for _ in range(150)]  # sent while the reader reads
        assert all(r.result(timeout=10)["ok"] for r in replies)
        assert any(isinstance(e, dict) and e.get("ev") == "hello" for e in got)
    finally:
        link.close()
        link.join(5)


def test_chat_client_with_tls_and_ca_file(server: RunningServer, ca_file: Path) -> None:
    env = {**os.environ, "NO_COLOR": "1", "TERM": "xterm", "PROMPT_TOOLKIT_NO_CPR": "1"}
    argv = ["-m", "cli.client.app", server.host, str(server.port), "--user", "term", "--tls",
            "--ca-file", str(ca_file)]  # fmt: skip
    child = pexpect.spawn(sys.executable, argv, cwd=str(ROOT), env=env, dimensions=(40, 120),
                          encoding="utf-8", timeout=10)  # fmt: skip
    try:
        child.expect_exact("Password:")
        child.send(PASSWORD + "\r")
        child.expect_exact("Welcome, term!")
        child.expect_exact("term>")
        child.send("logout\r")
        child.expect(pexpect.EOF)
        child.wait()
        assert child.exitstatus == 0
    finally:
        child.close(force=True)


def test_chat_client_refuses_an_untrusted_server(server: RunningServer) -> None:
    """Verification is on by default: without --ca-file only the system's CAs count."""
    argv = ["-m", "cli.client.app", server.host, str(server.port), "--user", "alice", "--tls"]
    child = pexpect.spawn(sys.executable, argv, cwd=str(ROOT), encoding="utf-8", timeout=10,
                          env={**os.environ, "NO_COLOR": "1"})  # fmt: skip
    try:
        child.expect_exact("certificate is not trusted")  # said before any password is asked
        child.expect(pexpect.EOF)
        child.wait()
        assert child.exitstatus == 1
        assert "Password:" not in (child.before or "")
    finally:
        child.close(force=True)


def test_chat_client_says_what_helps_when_the_certificate_names_another_host(
    server_config: ServerConfig, ca: trustme.CA, ca_file: Path, tmp_path: Path
) -> None:
    """A trusted certificate for another name: --ca-file would not help, so it is not
    advised; the name on the certificate, or a certificate for this name, would."""
    cert = ca.issue_cert("chat.example.org")
    cert.private_key_pem.write_to_path(str(tmp_path / "key.pem"))
    cert.cert_chain_pems[0].write_to_path(str(tmp_path / "cert.pem"))
    other = start_server(replace(server_config, db_url=f"sqlite:///{tmp_path / 'other.db'}",
                                 tls_cert=str(tmp_path / "cert.pem"),
                                 tls_key=str(tmp_path / "key.pem")))  # fmt: skip
    argv = ["-m", "cli.client.app", other.host, str(other.port), "--user", "alice", "--tls",
            "--ca-file", str(ca_file)]  # fmt: skip
    child = pexpect.spawn(sys.executable, argv, cwd=str(ROOT), encoding="utf-8", timeout=10,
                          env={**os.environ, "NO_COLOR": "1"}, dimensions=(40, 200))  # fmt: skip
    try:
        child.expect(pexpect.EOF)
        child.wait()
        assert child.exitstatus == 1
        screen = " ".join((child.before or "").split())
        assert f"the server's certificate is not for {other.host}" in screen, screen
        assert "Connect with a name the certificate is for, or the server needs a " in screen
        assert "--ca-file" not in screen and "Password:" not in screen
    finally:
        child.close(force=True)
        other.stop()


def test_the_start_line_says_tls_is_on(server_config: ServerConfig, tmp_path: Path) -> None:
    """An operator (or a script) reading the start line learns how to connect (issue 17)."""
    assert server_config.tls_cert is not None and server_config.tls_key is not None
    db_url = f"sqlite:///{tmp_path / 'parley.db'}"
    with watched_server(db_url, tmp_path, "--tls-cert", server_config.tls_cert,
                        "--tls-key", server_config.tls_key) as chat:  # fmt: skip
        lines = [line for line in chat.log_text().splitlines() if "listening on" in line]
    assert len(lines) == 1, lines
    assert re.fullmatch(r"chat-server: listening on 127\.0\.0\.1:\d+ \(TLS, database .+, "
                        r"sign-up closed\)", lines[0]), lines  # fmt: skip
