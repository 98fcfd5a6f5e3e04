"""The account and text rules of chat/1, in one place for the server, `chat-admin` and the client.

Pure and dependency-free, so the client can import it without pulling in the server.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# chat/1 "Transport and framing": 1 to 32 letters, digits, '_', '.' or '-'.
USERNAME_PATTERN = re.compile(r"[A-Za-z0-9_.-]{1,32}")
MAX_TEXT_CHARS = 4_000  # chat/1 text limit in code points (precise point 3); a server may lower it
MIN_PASSWORD_CHARS = 8  # the default floor of `register` (weak_password) and of chat-admin


def is_valid_username(name: str) -> bool:
    return USERNAME_PATTERN.fullmatch(name) is not None


def username_key(name: str) -> str:
    """The form two names are compared in for uniqueness (precise point 14): `Alice` and
    `alice` share one key, so one cannot pose as the other. Names are ASCII, so `lower()` is
    the whole fold, and it matches SQL's `lower()` in SQLite and PostgreSQL alike."""
    return name.lower()


def login_name_key(name: str) -> str:
    """What a login's name counts under (lockout, the unknown names' counts, their decoys):
    a username's `username_key`, so `Erin` and `erin` are one, known or not (point 4: an
    unknown name is answered exactly like a known one); any other text as it is."""
    return username_key(name) if is_valid_username(name) else name


def case_clashes(names: Iterable[str]) -> list[list[str]]:
    """Groups of names equal ignoring case (two or more each, sorted), which precise point 14
    forbids; an empty list when the names may coexist."""
    groups: dict[str, list[str]] = {}
    for name in names:
        groups.setdefault(username_key(name), []).append(name)
    return sorted(sorted(group) for group in groups.values() if len(group) > 1)
