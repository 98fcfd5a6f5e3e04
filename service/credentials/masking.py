"""What may be written down of a login name that has no account: the server's log line and
`chat-admin history --failed` both show it through `masked_name`, in one form, so an operator
can match one against the other.

Such a name may be a password typed into the wrong field, so it is never written whole: its
first 2 characters and a digest keyed with a secret that is new each run (no table made
beforehand looks a digest up, and nothing outside this process can test guesses against it),
stable within the run, so repeated attempts with one name can be told apart.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from service.wire.names import is_valid_username

_KEY = secrets.token_bytes(16)  # new each run, never written anywhere


def masked_name(name: str) -> str:
    """`gh...#3fa2b9c1` for `ghost`; a text that is no username at all (control characters, a
    line break, 64 KiB) is only described, so a log line stays one honest line. Every form
    fits a username's 32 characters, the column `failed_logins.name` (PostgreSQL refuses a
    longer value): `<not a username: 65536 chars>` is 29 for the longest a frame can hold."""
    if not is_valid_username(name):
        return f"<not a username: {len(name)} chars>"
    digest = hmac.new(_KEY, name.encode(), hashlib.sha256).hexdigest()[:8]
    return f"{name[:2]}...#{digest}"
