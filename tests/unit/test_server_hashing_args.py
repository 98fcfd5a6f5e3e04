"""chat-server's argon2id options (issue 17 item 8): each sets the cost; below OWASP's
minimum for argon2id the server refuses to start, with the reason, as a usage error."""

from __future__ import annotations

import pytest

from service.config import ServerConfig
from service.credentials.hash_cost import HashCost
from service.main import config_from_args


def test_the_options_set_the_cost_and_any_owasp_row_will_do() -> None:
    config, _ = config_from_args(
        ["--argon2-memory-kib", "12288", "--argon2-time-cost", "3", "--argon2-parallelism", "2"]
    )
    assert config.argon2 == HashCost(memory_kib=12_288, time_cost=3, parallelism=2)
    config, _ = config_from_args(["--argon2-memory-kib", "47104", "--argon2-time-cost", "1"])
    assert config.argon2 == HashCost(memory_kib=47_104, time_cost=1, parallelism=1)


def test_the_default_is_owasps_minimum_not_argon2_cffis_64_mib() -> None:
    config, _ = config_from_args([])
    assert config.argon2 == HashCost(memory_kib=19_456, time_cost=2, parallelism=1)
    assert config.rehash is True
    assert config_from_args(["--keep-stored-hashes"])[0].rehash is False


@pytest.mark.parametrize(
    "argv",
    [["--argon2-memory-kib", "19455"], ["--argon2-time-cost", "1"],
     ["--argon2-memory-kib", "12288"], ["--argon2-parallelism", "0"],
     ["--argon2-memory-kib", "99999999"]],
)  # fmt: skip
def test_below_owasps_minimum_or_nonsense_the_server_does_not_start(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        config_from_args(argv)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "chat-server: error: argon2" in err, err


def test_below_the_floor_names_owasps_rows() -> None:
    with pytest.raises(ValueError, match=r"below OWASP's minimum .* 19456 KiB x 2"):
        ServerConfig(argon2=HashCost(memory_kib=8192, time_cost=2))
