"""chat-server's web port options: off unless asked, its own host, repeatable origins."""

from __future__ import annotations

import pytest

from service.main import config_from_args, page_url


def test_the_web_port_is_off_unless_asked_for() -> None:
    config, _ = config_from_args([])
    assert (config.web_port, config.web_origins) == (None, ())
    assert config.web_listen_host == "127.0.0.1"


def test_web_options_set_port_host_and_origins() -> None:
    config, _ = config_from_args(
        ["--host", "0.0.0.0", "--web-port", "8080", "--web-origin", "https://chat.example.org",
         "--web-origin", "http://localhost:3000/"]
    )  # fmt: skip
    assert config.web_port == 8080 and config.web_listen_host == "0.0.0.0"
    assert config.web_origins == ("https://chat.example.org", "http://localhost:3000/")
    assert config_from_args(["--web-port", "0", "--web-host", "::1"])[0].web_listen_host == "::1"


@pytest.mark.parametrize(
    "args", [["--web-port", "x"], ["--web-port", "-1"], ["--web-origin", "chat.example.org"],
             ["--web-origin", "https://chat.example.org/page"], ["--web-origin", "null"]],
)  # fmt: skip
def test_bad_web_options_are_usage_errors(args: list[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        config_from_args(args)
    assert exit_.value.code == 2


def test_the_printed_address_is_one_a_browser_can_open() -> None:
    assert page_url("127.0.0.1", 8080, tls=False) == "http://127.0.0.1:8080/"
    assert page_url("0.0.0.0", 8080, tls=True) == "https://localhost:8080/"
    assert page_url("::1", 8080, tls=False) == "http://[::1]:8080/"
