"""Remembered logins on the wire (chat/1 "Staying signed in"), pure: `login` takes a password
or a token, never both or neither, `remember` and `forget` are booleans; `--token-days` is a
positive decimal number of days with a ceiling; a token has 256 random bits and is stored as
its SHA-256."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import pytest

from service.config import MAX_TOKEN_DAYS, ServerConfig
from service.credentials.tokens import new_token, token_digest
from service.main import config_from_args
from service.wire import requests as m
from service.wire.errors import ErrorCode, RequestError


def parse(op: str, **fields: Any) -> m.Request:
    return m.parse_fields(m.REQUEST_TYPES[op], {"op": op, **fields})


def test_a_login_takes_a_password_or_a_token() -> None:
    assert parse("login", user="a", password="p") == m.Login("a", password="p")
    assert parse("login", user="a", token="t", password=None) == m.Login("a", token="t")
    assert parse("login", user="a", password="p", remember=True) == m.Login(
        "a", password="p", remember=True
    )


@pytest.mark.parametrize(
    ("op", "fields", "says"),
    [
        ("login", {"user": "a", "password": "p", "token": "t"}, "not both"),
        ("login", {"user": "a"}, "needs password"),
        ("login", {"user": "a", "token": 7}, "token must be a string"),
        ("login", {"user": "a", "token": "t\x00"}, "token is not valid"),
        ("login", {"user": "a", "token": "t", "remember": "true"}, "remember must be"),
        ("register", {"user": "a", "password": "p", "remember": 1}, "remember must be"),
        ("logout", {"forget": "yes"}, "forget must be"),
    ],
)
def test_bad_fields_are_bad_request(op: str, fields: dict[str, Any], says: str) -> None:
    with pytest.raises(RequestError) as refused:
        parse(op, **fields)
    assert refused.value.code is ErrorCode.BAD_REQUEST and says in refused.value.text


def test_token_days_is_a_decimal_number_of_days() -> None:
    config, _ = config_from_args(["--token-days", "0.5"])
    assert config.token_lifetime == timedelta(hours=12)
    assert ServerConfig().token_lifetime == timedelta(days=30)


@pytest.mark.parametrize("days", ["0", "-1", "nan", "inf", str(MAX_TOKEN_DAYS + 1), "ten"])
def test_token_days_outside_its_range_is_a_usage_error(
    days: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        config_from_args(["--token-days", days])
    assert stopped.value.code == 2 and "token" in capsys.readouterr().err


def test_a_token_is_256_random_bits_kept_as_its_sha256() -> None:
    tokens = {new_token() for _ in range(100)}
    assert len(tokens) == 100 and all(len(t) == 43 for t in tokens)  # base64url, no padding
    token = tokens.pop()
    assert token_digest(token) == hashlib.sha256(token.encode()).hexdigest()
