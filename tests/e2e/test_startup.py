"""chat-server that cannot start says why in one `Error:` line, exits 1, and writes nothing
to the database first; the database files it creates are its owner's alone."""

from __future__ import annotations

import os
import resource
import socket
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.admin import app as admin_app
from tests.support.attack import create_cheap_users, watched_server

pytestmark = pytest.mark.sqlite_only  # SQLite files and their modes are what is tested

ROOT = Path(__file__).resolve().parents[2]


def run_server(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "service.main", *args],
        cwd=cwd, capture_output=True, text=True, timeout=30,
    )  # fmt: skip


def snapshot(directory: Path) -> dict[str, tuple[int, bytes]]:
    """Every file in `directory`, with its mode and content."""
    return {p.name: (p.stat().st_mode, p.read_bytes()) for p in directory.iterdir() if p.is_file()}


def _read_only(db: Path) -> list[str]:
    db.chmod(0o444)
    return []


def _no_directory(db: Path) -> list[str]:
    return ["--db", f"sqlite:///{db.parent / 'missing' / 'parley.db'}"]


def _bad_certificate(db: Path) -> list[str]:
    (db.parent / "cert.pem").write_text("not a certificate\n")
    (db.parent / "key.pem").write_text("not a key\n")
    return ["--tls-cert", str(db.parent / "cert.pem"), "--tls-key", str(db.parent / "key.pem")]


def _not_a_database(db: Path) -> list[str]:
    db.write_bytes(b"this is no SQLite file" * 100)
    return []


def _bare_path(db: Path) -> list[str]:
    return ["--db", str(db)]


CASES: dict[str, tuple[Callable[[Path], list[str]], str]] = {
    "bare path": (_bare_path, "for that SQLite file write sqlite:////"),
    "read-only file": (_read_only, "the file is read-only (mode 0444)"),
    "missing directory": (_no_directory, "there is no directory"),
    "bad certificate": (_bad_certificate, "holds no PEM certificate"),
    "not a database": (_not_a_database, "file is not a database"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_an_unusable_start_is_one_error_line_and_changes_nothing(case: str, tmp_path: Path) -> None:
    db = tmp_path / "parley.db"
    create_cheap_users(f"sqlite:///{db}", ["alice"], "correct horse")
    prepare, expected = CASES[case]
    args = ["--port", "0", "--db", f"sqlite:///{db}", *prepare(db)]
    before = snapshot(tmp_path)
    result = run_server(*args, cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("Error: "), result.stderr
    assert expected in result.stderr
    assert snapshot(tmp_path) == before  # nothing written, no -wal or -shm made


def test_a_port_in_use_is_one_error_line_and_the_database_is_untouched(tmp_path: Path) -> None:
    db = tmp_path / "parley.db"
    create_cheap_users(f"sqlite:///{db}", ["alice"], "correct horse")
    before = snapshot(tmp_path)
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = run_server("--port", str(port), "--db", f"sqlite:///{db}", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr == f"Error: cannot listen on 127.0.0.1:{port}: Address already in use\n"
    assert snapshot(tmp_path) == before


def test_too_few_descriptors_is_one_error_line_and_the_database_is_untouched(
    tmp_path: Path,
) -> None:
    """`ulimit -n 64`: the server used to start and serve one connection (issue 17); it now
    says why it will not start. Soft and hard limit both: it cannot raise them itself."""
    db = tmp_path / "parley.db"
    create_cheap_users(f"sqlite:///{db}", ["alice"], "correct horse")
    before = snapshot(tmp_path)

    def at_most_64() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))

    result = subprocess.run(
        [sys.executable, "-m", "service.main", "--port", "0", "--db", f"sqlite:///{db}"],
        cwd=tmp_path, capture_output=True, text=True, timeout=30, preexec_fn=at_most_64,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert result.stderr == (
        "Error: open files are limited to 64 (ulimit -n), and the server needs at least 150; "
        "raise the limit\n"
    )
    assert snapshot(tmp_path) == before


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_server_makes_its_database_files_for_its_owner_only(tmp_path: Path) -> None:
    old = os.umask(0o022)  # the usual umask: what SQLite alone would make 0644
    try:
        with watched_server(f"sqlite:///{tmp_path / 'new.db'}", tmp_path):
            files = {name: mode(tmp_path / name) for name in ("new.db", "new.db-wal", "new.db-shm")}
    finally:
        os.umask(old)
    assert files == dict.fromkeys(files, 0o600)


def test_chat_admin_makes_its_database_for_its_owner_only(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        result = CliRunner().invoke(
            admin_app,
            ["adduser", "alice", "--password-stdin", "--db", f"sqlite:///{tmp_path / 'a.db'}"],
            input="correct horse\n",
        )
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.output
    assert mode(tmp_path / "a.db") == 0o600


def test_a_database_others_can_read_is_warned_about_once(tmp_path: Path) -> None:
    db = tmp_path / "parley.db"
    create_cheap_users(f"sqlite:///{db}", ["alice"], "correct horse")
    db.chmod(0o644)
    with watched_server(f"sqlite:///{db}", tmp_path) as server:
        log = server.log_text()
    assert log.count("open to other users of this machine (mode 0644)") == 1, log
    assert f"chmod 600 {db}" in log


def test_a_new_database_starts_without_warnings(tmp_path: Path) -> None:
    """The first start migrates a new file through every revision; none may print a warning
    that an operator would have to look up (SQLAlchemy's reflection warned at 0006)."""
    with watched_server(f"sqlite:///{tmp_path / 'new.db'}", tmp_path) as server:
        log = server.log_text()
    assert "Warning" not in log, log
