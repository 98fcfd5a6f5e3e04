"""The installed chat-admin script in a real pseudo-terminal and in a pipe.

CliRunner replaces the prompt functions and stdout; only a real process on a pty shows that
the password prompt hides input and asks twice, and that a terminal gets a Rich table while a
pipe gets the plain format.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pexpect
import pytest

from tests.support.databases import migrate

pytestmark = pytest.mark.sqlite_only  # chat-admin on a SQLite file of its own, whatever the run

CHAT_ADMIN = str(Path(sys.executable).with_name("chat-admin"))
PASSWORD = "a secret nobody sees"


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'parley.db'}"
    migrate(url)
    return url


def spawn(*args: str) -> pexpect.spawn:
    return pexpect.spawn(CHAT_ADMIN, list(args), encoding="utf-8", timeout=20, dimensions=(40, 160))


def finish(child: pexpect.spawn) -> tuple[str, int]:
    child.expect(pexpect.EOF)
    child.close()
    return child.before, child.exitstatus


def test_adduser_prompts_twice_without_echo(db_url: str) -> None:
    child = spawn("adduser", "alice", "--db", db_url)
    child.expect_exact("Password: ")
    child.sendline(PASSWORD)
    child.expect_exact("Repeat password: ")
    typed_so_far = child.before
    child.sendline(PASSWORD)
    output, status = finish(child)

    assert status == 0, output
    assert "Added user alice." in output
    assert PASSWORD not in typed_so_far + output


def test_a_terminal_gets_a_table_and_a_pipe_gets_plain_text(db_url: str) -> None:
    add = subprocess.run(
        [CHAT_ADMIN, "adduser", "bob", "--password-stdin", "--db", db_url],
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert add.returncode == 0, add.stderr

    on_terminal, status = finish(spawn("users", "--db", db_url))
    piped = subprocess.run(
        [CHAT_ADMIN, "users", "--db", db_url], capture_output=True, text=True, timeout=30
    )

    assert status == 0, on_terminal
    assert "┃" in on_terminal and "bob" in on_terminal
    assert piped.returncode == 0, piped.stderr
    header, row = piped.stdout.splitlines()
    assert header == "name\tcreated\tlast login\tfailures\tlocked until\tpending"
    assert row.startswith("bob\t") and row.endswith("\t-\t0\t-\t0")


def test_the_installed_script_takes_db_first_and_errors_in_one_line(db_url: str) -> None:
    listed = subprocess.run(
        [CHAT_ADMIN, "--db", db_url, "users"], capture_output=True, text=True, timeout=30
    )
    bogus = subprocess.run(
        [CHAT_ADMIN, "--db", "bogus://x", "users"], capture_output=True, text=True, timeout=30
    )

    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.startswith("name\tcreated\t")
    assert bogus.returncode == 2, bogus.stderr
    assert bogus.stderr == (
        "Error: unknown database URL scheme 'bogus'; "
        "use sqlite:///FILE or postgresql+psycopg://USER@HOST/DATABASE\n"
    )
    assert bogus.stdout == ""
