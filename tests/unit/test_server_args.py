"""chat-server's command line: the assignment-style positionals and their option twins."""

from __future__ import annotations

import dataclasses

import pytest

from service.config import ServerConfig
from service.main import OPTIONS, config_from_args


def test_positionals_are_port_block_duration_and_timeout() -> None:
    config, _ = config_from_args(["5001", "30", "10"])
    assert (config.port, config.block_duration_s, config.timeout_s) == (5001, 30, 10)


def test_defaults_are_an_embedded_database_and_closed_signup(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PARLEY_DB", raising=False)
    config, level = config_from_args([])
    assert (config.port, config.db_url, config.allow_signup) == (5000, "sqlite:///parley.db", False)
    assert (config.block_duration_s, config.timeout_s, config.max_attempts) == (60, 300, 3)
    assert (config.host, level) == ("127.0.0.1", "INFO")


def test_options_set_the_same_things() -> None:
    config, level = config_from_args(
        ["--port", "0", "--block-duration", "5", "--timeout", "7", "--max-attempts", "5",
         "--db", "sqlite:///x.db", "--allow-signup", "--log-level", "DEBUG"]
    )  # fmt: skip
    assert (config.port, config.block_duration_s, config.timeout_s) == (0, 5, 7)
    assert (config.max_attempts, config.db_url, config.allow_signup, level) == (
        5, "sqlite:///x.db", True, "DEBUG",
    )  # fmt: skip


def test_parley_db_names_the_database_when_db_is_not_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The variable chat-admin reads: a server and its operator's tool agree without --db."""
    monkeypatch.setenv("PARLEY_DB", "sqlite:////srv/parley/chat.db")
    assert config_from_args([])[0].db_url == "sqlite:////srv/parley/chat.db"
    assert config_from_args(["--db", "sqlite:///x.db"])[0].db_url == "sqlite:///x.db"


def test_no_signup_turns_signup_off() -> None:
    assert config_from_args(["--allow-signup", "--no-signup"])[0].allow_signup is False


@pytest.mark.parametrize(
    "argv", [["5000", "--port", "5001"], ["70000"], ["5000", "0"], ["5000", "60", "-1"]]
)
def test_contradictions_and_bad_values_are_usage_errors(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        config_from_args(argv)
    assert exited.value.code == 2
    assert "chat-server: error:" in capsys.readouterr().err


@pytest.mark.parametrize(("timeout_s", "stated"), [(300.0, 300), (90.9, 90), (1.0, 1), (0.5, 1)])
def test_the_idle_timeout_is_stated_in_whole_seconds_never_late(
    timeout_s: float, stated: int
) -> None:
    assert ServerConfig(timeout_s=timeout_s).idle_timeout_whole_s == stated


# Fields no option sets: chat/1's own limits, and what only tests change.
NOT_OPTIONS = {
    "max_text_chars", "min_password_chars", "private_request_ttl_s", "outbox_limit_bytes",
    "max_bad_frames", "shutdown_grace_s", "allow_weak_hashing",
}  # fmt: skip


def test_no_arguments_give_the_config_defaults() -> None:
    assert config_from_args([]) == (ServerConfig(), "INFO")


def test_every_option_sets_a_field_and_every_operator_field_has_an_option() -> None:
    set_by_options = {option.field.split(".")[0] for option in OPTIONS if option.field}
    assert set_by_options <= {field.name for field in dataclasses.fields(ServerConfig)}
    assert {field.name for field in dataclasses.fields(ServerConfig)} - set_by_options == (
        NOT_OPTIONS
    )


def test_the_help_shows_each_default_from_the_config(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        config_from_args(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    defaults = ServerConfig()
    for shown in (f"--max-connections N connections open at once, in total (default "
                  f"{defaults.max_connections};", f"(default {defaults.argon2.memory_kib})",
                  f"--login-timeout SECONDS a connection that has not logged in by then is "
                  f"closed (default {defaults.login_timeout_s:g})",
                  "same as BLOCK_DURATION (default 60)"):  # fmt: skip
        assert shown in text
