"""chat-server's TLS and abuse-limit options: each sets its ServerConfig field; nonsense is a
usage error (exit 2), not a server that starts with it."""

from __future__ import annotations

import pytest

from service.config import ServerConfig
from service.credentials.hash_cost import HashCost
from service.main import config_from_args


def test_every_limit_has_an_option() -> None:
    config, _ = config_from_args(
        ["--max-connections", "100", "--max-connections-per-address", "7",
         "--login-timeout", "12", "--login-failures-per-minute", "4",
         "--login-failure-burst", "9", "--login-queue", "33", "--request-rate", "0",
         "--request-burst", "5", "--refusal-log-interval", "30",
         "--tls-cert", "c.pem", "--tls-key", "k.pem", "--login-queue-per-address", "44",
         "--max-refused-logins", "6", "--room-creations-per-hour", "0"]
    )  # fmt: skip
    assert (config.max_connections, config.max_connections_per_address) == (100, 7)
    assert (config.login_timeout_s, config.login_failures_per_minute) == (12, 4)
    assert (config.login_failure_burst, config.login_queue) == (9, 33)
    assert (config.request_rate, config.request_burst, config.refusal_log_interval_s) == (0, 5, 30)
    assert (config.tls_cert, config.tls_key) == ("c.pem", "k.pem")
    assert (config.login_queue_per_address, config.max_refused_logins) == (44, 6)
    assert config.room_creations_per_hour == 0


def test_the_defaults_are_the_documented_ones() -> None:
    config, _ = config_from_args([])
    assert config == ServerConfig()
    assert (config.max_connections, config.max_connections_per_address) == (15_000, 256)
    assert (config.login_timeout_s, config.login_failures_per_minute) == (30, 10)
    assert (config.login_failure_burst, config.login_queue) == (60, 1024)
    assert (config.login_queue_per_address, config.max_refused_logins) == (256, 10)
    assert config.argon2 == HashCost(memory_kib=19_456, time_cost=2, parallelism=1)
    assert (config.request_rate, config.request_burst) == (50, 200)
    assert config.refusal_log_interval_s == 60 and config.tls_cert is None
    assert config.room_creations_per_hour == 10


@pytest.mark.parametrize(
    "argv",
    [["--tls-cert", "c.pem"], ["--tls-key", "k.pem"], ["--max-connections", "0"],
     ["--login-timeout", "0"], ["--request-rate", "-1"], ["--login-failure-burst", "0"],
     ["--login-failures-per-minute", "0"], ["--login-queue-per-address", "0"],
     ["--max-refused-logins", "0"], ["--room-creations-per-hour", "-1"]],
)  # fmt: skip
def test_nonsense_is_a_usage_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        config_from_args(argv)
    assert exited.value.code == 2
    assert "chat-server: error:" in capsys.readouterr().err
