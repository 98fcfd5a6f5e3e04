"""Search over the record of direct messages (chat/1 "Search" with `dm_history`): a message
stays found after its `ack`, goes with the operator's purge, and stays in the other user's
record under a deleted account's name. On SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest

from service.config import ServerConfig
from service.store import Store
from service.wire.timeutil import utc_now
from tests.e2e.test_search import search
from tests.support.client import TestClient
from tests.support.rooms import cheap_server, refused
from tests.support.server import RunningServer

Login = Callable[[str], TestClient]


@pytest.fixture
def server(server_config: ServerConfig) -> Iterator[RunningServer]:
    with cheap_server(server_config) as running:
        yield running


@pytest.fixture
def store(server: RunningServer) -> Iterator[Store]:
    opened = Store.open(server.db_url, group_commit=False)
    yield opened
    opened.close()


def _message(sender: TestClient, to: str, text: str) -> int:
    reply = sender.request("message", to=to, text=text)
    assert reply["ok"] is True, reply
    msg_id: int = reply["msg_id"]
    return msg_id


def test_hello_lists_both_features(connect: Callable[[], TestClient]) -> None:
    features = connect().hello["features"]
    assert "search" in features and "dm_history" in features


def test_an_acked_message_stays_found_by_both(login: Login) -> None:
    alice, bob = login("alice"), login("bob")
    msg_id = _message(alice, "bob", "the quokka photos")
    event = bob.expect(ev="message", msg_id=msg_id)
    bob.send({"op": "ack", "msg_id": event["msg_id"]})
    assert bob.request("ping")["ok"]  # the ack went before it
    assert search(bob, "quokka") == ["the quokka photos"]
    assert search(alice, "QUOKKA photo") == ["the quokka photos"]
    hit = bob.request("search", query="quokka")["results"][0]
    assert hit == {
        "with": "alice", "msg_id": msg_id, "from": "alice", "to": "bob",
        "text": "the quokka photos", "sent_at": hit["sent_at"],
    }  # fmt: skip


def test_purged_messages_are_gone_from_search(login: Login, store: Store) -> None:
    alice, bob = login("alice"), login("bob")
    acked = _message(alice, "bob", "purge me wombat")
    _message(alice, "bob", "keep me wombat")  # never acked: kept whatever its age
    bob.send({"op": "ack", "msg_id": acked})
    assert bob.request("ping")["ok"]
    assert store.dm_record.purge(utc_now() + timedelta(seconds=1)) == 1
    assert search(bob, "wombat") == ["keep me wombat"]
    assert search(alice, "wombat") == ["keep me wombat"]


def test_a_deleted_accounts_messages_stay_in_the_others_record(login: Login, store: Store) -> None:
    alice, carol = login("alice"), login("carol")
    _message(carol, "alice", "numbat facts")
    _message(alice, "carol", "more numbat facts")
    carol.request("logout")
    assert store.operator.delete_user("carol") is not None
    assert search(alice, "numbat") == ["more numbat facts", "numbat facts"]
    assert search(alice, "numbat", **{"with": "carol"}) == ["more numbat facts", "numbat facts"]
    refused(alice.request("search", query="numbat", **{"with": "dave"}), "no_such_user")
