"""The pure parts of service.admin.accounts: account rules and the credentials.txt parser."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.admin.accounts import (
    MIN_PASSWORD_CHARS,
    CredentialLine,
    RejectedLine,
    parse_credentials,
    password_problem,
    username_problem,
)
from service.config import ServerConfig
from service.credentials.passwords import is_valid_username


def test_the_password_floor_is_the_servers() -> None:
    assert MIN_PASSWORD_CHARS == ServerConfig().min_password_chars == 8


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("", "the password is empty"),
        ("1234567", "the password is shorter than 8 characters"),
        ("12345678", None),
        ("ünïcødé!", None),  # code points, not bytes
    ],
)
def test_password_problem(password: str, problem: str | None) -> None:
    assert password_problem(password) == problem


@pytest.mark.parametrize("name", ["alice", "A.b-c_9", "x" * 32])
def test_valid_usernames_have_no_problem(name: str) -> None:
    assert username_problem(name) is None


@pytest.mark.parametrize("name", ["", "al ice", "x" * 33, "bob!", "ünï"])
def test_invalid_usernames_say_the_rule(name: str) -> None:
    assert "1 to 32 letters, digits, '_', '.' or '-'" in (username_problem(name) or "")


def test_parse_credentials_table() -> None:
    text = (
        "alice password1\n"  # 1 ok
        "\n"  # 2 blank: skipped
        "# a comment\n"  # 3 skipped
        "  bob\tpassword2  \r\n"  # 4 ok, any whitespace
        "carol\n"  # 5 one field
        "dave pass word extra\n"  # 6 four fields
        "bad!name password3\n"  # 7 bad username
        "erin short\n"  # 8 weak password
    )
    assert parse_credentials(text) == [
        CredentialLine(1, "alice", "password1"),
        CredentialLine(4, "bob", "password2"),
        RejectedLine(5, None, "expected 2 fields (a username and a password), found 1"),
        RejectedLine(6, "dave", "expected 2 fields (a username and a password), found 4"),
        RejectedLine(7, None, "not a valid username (1 to 32 letters, digits, '_', '.' or '-')"),
        RejectedLine(8, "erin", "the password is shorter than 8 characters"),
    ]


def test_a_credential_line_never_shows_its_password() -> None:
    (line,) = parse_credentials("alice topsecret99\n")
    assert "topsecret99" not in repr(line)
    assert "topsecret99" not in str(line)


def test_a_rejected_line_never_carries_the_password() -> None:
    lines = parse_credentials("hunter2hunter2\nalice tiny\nalice a b\n")
    assert all(isinstance(line, RejectedLine) for line in lines)
    for line in lines:
        assert "hunter2" not in repr(line) and "tiny" not in repr(line)


@given(st.text())
def test_any_text_parses_to_lines_that_keep_the_rules(text: str) -> None:
    parsed = parse_credentials(text)
    numbers = [line.line_no for line in parsed]
    assert numbers == sorted(set(numbers))
    assert all(1 <= n <= len(text.splitlines()) for n in numbers)
    for line in parsed:
        if isinstance(line, CredentialLine):
            assert is_valid_username(line.name)
            assert password_problem(line.password) is None
        elif line.name is not None:
            assert is_valid_username(line.name)


@given(
    st.lists(
        st.tuples(
            st.from_regex(r"[A-Za-z0-9_.-]{1,32}", fullmatch=True),
            st.text(st.characters(blacklist_categories=("Z", "C")), min_size=8, max_size=40),
        ),
        max_size=10,
    )
)
def test_well_formed_files_parse_whole(pairs: list[tuple[str, str]]) -> None:
    text = "".join(f"{name} {password}\n" for name, password in pairs)
    parsed = parse_credentials(text)
    expected = [CredentialLine(i, n, p) for i, (n, p) in enumerate(pairs, start=1)]
    assert parsed == expected
