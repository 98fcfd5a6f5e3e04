"""Events have one vocabulary: service/wire/events.py builds every one, with the fields
docs/PROTOCOL.md lists for it, so a newcomer grepping a wire name finds the one place."""

from __future__ import annotations

import ast
import re
from datetime import UTC, datetime
from pathlib import Path

from service.wire.events import private_expect, private_ready
from service.wire.private import PrivateRequest

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "service" / "wire" / "events.py"


def _documented_fields(event: str) -> set[str]:
    """The fields of `event` in docs/PROTOCOL.md's events table: | `name` | `a`, `b` | ..."""
    doc = (ROOT / "docs" / "PROTOCOL.md").read_text(encoding="utf-8")
    row = re.search(rf"^\| `{event}` \| ([^|]*) \|", doc, re.MULTILINE)
    assert row, f"{event} is not in docs/PROTOCOL.md"
    return set(re.findall(r"`(\w+)`", row.group(1)))


def _hand_built_events(path: Path) -> list[int]:
    """Lines where `path` writes a dict with an "ev" key, or a literal '"ev":' in a string."""
    lines = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Dict) and any(
            isinstance(key, ast.Constant) and key.value == "ev" for key in node.keys
        ):
            lines.append(node.lineno)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str | bytes):
            value = node.value
            if '"ev":' in (value if isinstance(value, str) else value.decode(errors="replace")):
                lines.append(node.lineno)
    return lines


def test_no_module_of_the_server_builds_an_event_by_hand() -> None:
    found = {
        str(path.relative_to(ROOT)): lines
        for path in sorted((ROOT / "service").rglob("*.py"))
        if path != EVENTS and (lines := _hand_built_events(path))
    }
    assert found == {}, "build events in service/wire/events.py"


def test_the_check_sees_a_hand_built_event(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text('a = {"ev": "x"}\nb = \'{"ev":"y"}\'\nc = {"re": 1}\n')
    assert _hand_built_events(module) == [1, 2]


REQUEST = PrivateRequest("r1", "alice", "bob", datetime(2026, 1, 1, tzinfo=UTC))


def test_private_ready_tells_the_requester_where_the_addressee_listens() -> None:
    event = private_ready(REQUEST, "127.0.0.1", 6000, "t0k")
    assert event == {"ev": "private_ready", "request": "r1", "user": "bob",
                     "host": "127.0.0.1", "port": 6000, "token": "t0k"}  # fmt: skip
    assert set(event) - {"ev"} == _documented_fields("private_ready")


def test_private_expect_tells_the_addressee_who_will_dial() -> None:
    event = private_expect(REQUEST, "t0k")
    assert event == {"ev": "private_expect", "request": "r1", "user": "alice", "token": "t0k"}
    assert set(event) - {"ev"} == _documented_fields("private_expect")
