"""Messages on their way: the ones the server has not answered yet, which the prompt shows as
`sending…` (a line typed and sent must never just vanish while the server is slow), and the
last one that failed, which `retry` sends again. Pure: the caller's timer says when a
message has waited SHOW_AFTER_S (`overdue`).

Direct messages, room lines and broadcasts alike; the lines saying how each ended are the
controller's and room_talk's.
"""

from __future__ import annotations

from dataclasses import dataclass

from cli.client.commands import Broadcast, Message, Say
from cli.client.render import clean

SHOW_AFTER_S = 0.3  # an answer quicker than this never shows `sending…`: no flicker
PROMPT_TEXT_CHARS = 60  # a long text is cut to this in the prompt (the outcome line has it all)

Sent = Message | Say | Broadcast

# Refusals after which the same message may well go through if sent again (chat/1: every
# request may fail with these; nothing was half-done).
RETRYABLE_ERRORS = frozenset({"rate_limited", "internal"})


@dataclass(frozen=True, slots=True)
class Failed:
    """A message that did not go through. `nonce` is kept when the server may have stored it
    (no answer came): sent again with it, the server stores it once (chat/1 precise point 11)."""

    cmd: Sent
    nonce: str | None


class Pending:
    def __init__(self) -> None:
        self._waiting: dict[str, Sent] = {}  # nonce -> what, in the order sent
        self._overdue: set[str] = set()  # nonces of those waiting SHOW_AFTER_S or longer
        self.last_failed: Failed | None = None

    def started(self, nonce: str, cmd: Sent) -> None:
        self._waiting[nonce] = cmd

    def overdue(self, nonce: str) -> None:
        """SHOW_AFTER_S have passed since `nonce` was sent: if still unanswered, it shows."""
        if nonce in self._waiting:
            self._overdue.add(nonce)

    def answered(self, nonce: str) -> None:
        self._waiting.pop(nonce, None)
        self._overdue.discard(nonce)

    def failed(self, cmd: Sent, nonce: str | None) -> None:
        self.last_failed = Failed(cmd, nonce)

    def take_failed(self) -> Failed | None:
        """The message `retry` sends again; it is no longer the failed one."""
        failed, self.last_failed = self.last_failed, None
        return failed

    def shown(self) -> list[Sent]:
        """What the prompt shows as `sending…`: the overdue ones, oldest first."""
        return [cmd for nonce, cmd in self._waiting.items() if nonce in self._overdue]


def retryable(reply: dict[str, object] | None) -> bool:
    """Is sending again worth offering? When no answer came, or the refusal was passing."""
    return reply is None or reply.get("error") in RETRYABLE_ERRORS


def cmd_has_nonce(cmd: Sent) -> bool:
    """Does it carry a nonce, so that sending it again cannot store it twice?"""
    return isinstance(cmd, Message | Say)


def prompt_line(cmd: Sent) -> str:
    """One `sending…` row above the prompt (plain text: the prompt has its own style)."""
    if isinstance(cmd, Broadcast):
        where = "to everyone"
    else:
        where = cmd.room if isinstance(cmd, Say) else f"→ {cmd.user}"
    text = cmd.text if len(cmd.text) <= PROMPT_TEXT_CHARS else cmd.text[:PROMPT_TEXT_CHARS] + "…"
    return f"sending… {where}: {clean(text)}".replace("\n", " ")
