"""One direct message as the store needs it: the row the checks read and the insert writes.

Its own module so that the checks (service/store/message_checks.py) and the statements
(service/store/message_statements.py) both use it without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class MessageRecord:
    """One `message` request (the sender's id comes from its login)."""

    sender_id: int
    sender: str
    recipient: str
    text: str
    nonce: str | None
