"""chat-client's remembered logins (`--remember`, chat/1 "Staying signed in"): the login
flow with a scripted server and a keeper in memory, and the token files on a real disk in
tmp_path (modes, refusals, atomic writes)."""

from __future__ import annotations

import asyncio
import os
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from cli.client import render as r
from cli.client.login import LoggedIn, log_in, log_in_again
from cli.client.remembered import TokenFiles, UnsafeTokenFile, tokens_dir
from tests.unit.test_client_login import BAD, ScriptedLink, ScriptedServer, ScriptedUser

OK = {"ok": True, "user": "alice", "pending": 0, "idle_timeout": 300}
GIVEN = {**OK, "token": "T0KEN", "token_expires": "2027-01-07T10:00:00.000Z"}


class MemoryKeeper:
    def __init__(self, wanted: bool = False, tokens: dict[str, str] | None = None) -> None:
        self.wanted = wanted
        self.tokens = dict(tokens or {})
        self.unsafe: str | None = None  # load() refuses with this text

    def load(self, user: str) -> str | None:
        if self.unsafe is not None:
            raise UnsafeTokenFile(self.unsafe)
        return self.tokens.get(user)

    def save(self, user: str, token: str) -> None:
        self.tokens[user] = token

    def forget(self, user: str) -> None:
        self.tokens.pop(user, None)

    def path(self, user: str) -> Path:
        return Path("/state") / user


def run(
    replies: Sequence[dict[str, Any]], answers: list[str], keeper: MemoryKeeper
) -> tuple[LoggedIn | None, ScriptedLink, ScriptedUser, list[str]]:
    link, user, lines = ScriptedLink(replies), ScriptedUser(answers), []
    server = ScriptedServer(link, user)

    def out(line: r.Line) -> None:
        lines.append(r.to_plain(line))

    result = asyncio.run(log_in(server, user, out, "alice", keeper=keeper))
    return result, link, user, lines


def test_remember_asks_for_a_token_and_keeps_it() -> None:
    keeper = MemoryKeeper(wanted=True)
    result, link, _, lines = run([GIVEN], ["pw"], keeper)
    assert link.sent == [("login", {"user": "alice", "password": "pw", "remember": True})]
    assert result is not None and result.token == "T0KEN" and "T0KEN" not in repr(result)
    assert keeper.tokens == {"alice": "T0KEN"}
    assert any("remembered here" in line for line in lines)
    assert not any("T0KEN" in line for line in lines)


def test_remember_on_a_server_without_tokens_says_so_and_keeps_nothing() -> None:
    keeper = MemoryKeeper(wanted=True)
    result, _, _, lines = run([OK], ["pw"], keeper)
    assert result is not None and result.token is None and keeper.tokens == {}
    assert any("gives no login tokens" in line for line in lines)


def test_a_kept_token_logs_in_without_a_prompt() -> None:
    keeper = MemoryKeeper(tokens={"alice": "T0KEN"})
    result, link, user, _ = run([{**OK, "token": "T0KEN"}], [], keeper)
    assert link.sent == [("login", {"user": "alice", "token": "T0KEN"})]
    assert user.asked == [] and result is not None and result.token == "T0KEN"


def test_a_token_the_server_refuses_is_deleted_and_the_password_asked() -> None:
    keeper = MemoryKeeper(tokens={"alice": "OLD"})
    result, link, user, lines = run([BAD, OK], ["pw"], keeper)
    assert keeper.tokens == {} and result is not None and result.token is None
    assert link.sent[1] == ("login", {"user": "alice", "password": "pw"})  # no --remember
    assert user.asked == [("Password: ", True)]
    assert any("no longer works" in line for line in lines)


def test_an_unsafe_file_is_said_and_left_and_the_password_asked() -> None:
    keeper = MemoryKeeper(tokens={"alice": "T0KEN"})
    keeper.unsafe = "/state/alice can be read by other users (mode 0644)"
    result, link, _, lines = run([OK], ["pw"], keeper)
    assert result is not None and link.sent == [("login", {"user": "alice", "password": "pw"})]
    assert keeper.unsafe in lines and keeper.tokens == {"alice": "T0KEN"}


def test_a_locked_account_ends_the_token_login() -> None:
    locked = {"ok": False, "error": "locked", "retry_after": 60, "text": "Locked."}
    keeper = MemoryKeeper(tokens={"alice": "T0KEN"})
    result, _, user, _ = run([locked], [], keeper)
    assert result is None and user.asked == [] and keeper.tokens == {"alice": "T0KEN"}


def test_a_token_login_elsewhere_may_take_over_with_the_token() -> None:
    elsewhere = {"ok": False, "error": "online_elsewhere", "text": "Elsewhere."}
    keeper = MemoryKeeper(tokens={"alice": "T0KEN"})
    result, link, _, _ = run([elsewhere, OK], ["y"], keeper)
    assert link.sent[1] == ("login", {"user": "alice", "token": "T0KEN", "replace": True})
    assert result is not None and result.token == "T0KEN"


def test_a_reconnect_logs_in_with_the_token_and_a_revoked_one_asks_the_password() -> None:
    keeper = MemoryKeeper(tokens={"alice": "T0KEN"})
    before = LoggedIn("alice", 0, token="T0KEN")
    link = ScriptedLink([{**OK, "token": "T0KEN"}, BAD, OK])
    user = ScriptedUser(["pw"])
    server = ScriptedServer(link, user)
    lines: list[str] = []

    def out(line: r.Line) -> None:
        lines.append(r.to_plain(line))

    again = asyncio.run(log_in_again(server, user, out, before, keeper=keeper))
    assert again.token == "T0KEN" and link.sent[0] == ("login", {"user": "alice",
                                                                  "token": "T0KEN"})  # fmt: skip
    after = asyncio.run(log_in_again(server, user, out, before, keeper=keeper))
    assert after.password == "pw" and after.token is None and keeper.tokens == {}
    assert link.sent[2] == ("login", {"user": "alice", "password": "pw"})
    assert any("no longer works" in line for line in lines)


# --- the files -----------------------------------------------------------------------------


@pytest.fixture
def files(tmp_path: Path) -> TokenFiles:
    return TokenFiles("::1", 5000, wanted=True, env={"XDG_STATE_HOME": str(tmp_path / "st")})


def test_the_file_is_private_in_private_directories_and_keyed_by_server_and_user(
    files: TokenFiles, tmp_path: Path
) -> None:
    (tmp_path / "st" / "parley").mkdir(parents=True, mode=0o755)  # made open by another tool
    files.save("alice", "T0KEN")
    path = files.path("alice")
    assert path == tmp_path / "st" / "parley" / "tokens" / "__1_5000_alice"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and path.read_text() == "T0KEN\n"
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.parent.parent.stat().st_mode) == 0o700
    assert files.load("alice") == "T0KEN" and files.load("bob") is None
    files.save("alice", "NEWER")  # replaced whole, no temporary left behind
    assert files.load("alice") == "NEWER" and os.listdir(path.parent) == [path.name]
    files.forget("alice")
    files.forget("alice")  # nothing to delete: no error
    assert files.load("alice") is None


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_a_file_others_can_read_is_refused_saying_why(files: TokenFiles, mode: int) -> None:
    files.save("alice", "T0KEN")
    files.path("alice").chmod(mode)
    with pytest.raises(UnsafeTokenFile) as refused:
        files.load("alice")
    assert f"mode {mode:04o}" in str(refused.value) and "T0KEN" not in str(refused.value)


def test_a_link_or_junk_is_refused(files: TokenFiles, tmp_path: Path) -> None:
    files.save("alice", "T0KEN")
    files.path("bob").symlink_to(files.path("alice"))
    with pytest.raises(UnsafeTokenFile):
        files.load("bob")
    files.path("carol").write_bytes(b"\x00\x01")
    files.path("carol").chmod(0o600)
    with pytest.raises(UnsafeTokenFile, match="does not hold a token"):
        files.load("carol")


def test_the_state_directory_follows_xdg(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert tokens_dir({}, home) == home / ".local" / "state" / "parley" / "tokens"
    assert tokens_dir({"XDG_STATE_HOME": "relative"}, home) == tokens_dir({}, home)
