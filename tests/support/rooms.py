"""Shared by the rooms' end-to-end tests: accounts that log in fast, and request helpers.

The accounts get one argon2id hash made with minimal cost (as scripts/bench does): the server
verifies with the parameters stored in the hash, so a login costs microseconds, not 64 MiB and
tens of milliseconds. These tests are about rooms; tests/e2e/test_login.py covers real hashes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import create_engine, insert, select
from sqlalchemy.pool import NullPool

from service.config import ServerConfig
from service.store.models import Room, RoomMember, User
from service.wire.timeutil import utc_now
from tests.conftest import PASSWORD, USERS
from tests.support.client import TestClient
from tests.support.databases import migrate
from tests.support.server import RunningServer, cheap_hash, create_users, start_server

Frame = dict[str, Any]


def cheap_users(db_url: str, names: Iterable[str]) -> None:
    """Accounts with PASSWORD, straight into the database (cheap hashes, as every test's)."""
    create_users(db_url, dict.fromkeys(names, PASSWORD))


def crowd_room(db_url: str, room: str, names: Iterable[str]) -> None:
    """`room` with `names` as members, all new accounts with PASSWORD, in one transaction and
    one hash: thousands of members in well under a second."""
    migrate(db_url)
    now, password_hash = utc_now().replace(tzinfo=None), cheap_hash(PASSWORD)
    engine = create_engine(db_url, poolclass=NullPool)
    try:
        with engine.begin() as db:
            rows = [{"name": n, "password_hash": password_hash, "created_at": now} for n in names]
            db.execute(insert(User), rows)
            ids = db.scalars(select(User.id).where(User.name.in_([r["name"] for r in rows])))
            room_id = db.scalar(
                insert(Room)
                .values(name=room, created_at=now, creator=rows[0]["name"], last_seq=0)
                .returning(Room.id)
            )
            db.execute(
                insert(RoomMember),
                [{"room_id": room_id, "user_id": i, "read_seq": 0, "joined_at": now} for i in ids],
            )
    finally:
        engine.dispose()


def many_rooms(db_url: str, rooms: Iterable[str], member: str) -> None:
    """`rooms`, each with one member, the new account `member` (PASSWORD), in one transaction."""
    migrate(db_url)
    now = utc_now().replace(tzinfo=None)
    engine = create_engine(db_url, poolclass=NullPool)
    try:
        with engine.begin() as db:
            account = {"name": member, "password_hash": cheap_hash(PASSWORD), "created_at": now}
            user_id = db.scalar(insert(User).values(account).returning(User.id))
            for room in rooms:
                room_id = db.scalar(
                    insert(Room)
                    .values(name=room, created_at=now, creator=member, last_seq=0)
                    .returning(Room.id)
                )
                membership = {"room_id": room_id, "user_id": user_id, "joined_at": now}
                db.execute(insert(RoomMember).values(read_seq=0, **membership))
    finally:
        engine.dispose()


@contextmanager
def cheap_server(config: ServerConfig, names: Iterable[str] = USERS) -> Iterator[RunningServer]:
    """The `server` fixture's server, with accounts that log in fast."""
    cheap_users(config.db_url, names)
    running = start_server(config)
    try:
        yield running
    finally:
        running.stop()


def join(client: TestClient, room: str) -> Frame:
    reply = client.request("join", room=room)
    assert reply["ok"] is True, reply
    return reply


def say(client: TestClient, room: str, text: str, **fields: Any) -> Frame:
    reply = client.request("say", room=room, text=text, **fields)
    assert reply["ok"] is True, reply
    return reply


def say_all(client: TestClient, room: str, texts: dict[int, str]) -> None:
    """Say every text in `room` in one write (ids `s1`, `s2`... by key), each answered ok."""
    client.send_raw(b"".join(
        json.dumps({"op": "say", "id": f"s{n}", "room": room, "text": t}).encode() + b"\n"
        for n, t in texts.items()
    ))  # fmt: skip
    assert all(client.reply_to(f"s{n}")["ok"] for n in texts)


def refused(reply: Frame, code: str) -> None:
    assert reply["ok"] is False and reply["error"] == code, reply
    assert isinstance(reply["text"], str) and reply["text"], reply


def room_events(client: TestClient, **match: Any) -> list[Frame]:
    """The room events `client` got so far: a ping is answered after anything queued for
    `client` before it, so once its reply is in, those events have been read."""
    assert client.request("ping")["ok"]
    return [e for e in client.events(**match) if str(e.get("ev", "")).startswith("room_")]
