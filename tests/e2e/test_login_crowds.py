"""Logins as a class behind one NAT makes them (issue 17 item 8): correct logins from one
address queue and get in, in turn; typos of some leave the correct logins of the others alone;
stored hashes are made anew at the server's argon2 cost at their owner's next login.

A class connects from 127.0.0.3 (all of 127.0.0.0/8 is loopback, so the server sees one
address for the whole class, as behind a NAT).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace

import pytest
from argon2 import extract_parameters

from service.config import ServerConfig
from service.core.handlers import accounts as handlers
from service.credentials import passwords as auth
from service.credentials.hash_cost import HashCost
from service.store import Store
from service.store.users import Users
from tests.conftest import PASSWORD
from tests.support.client import TestClient
from tests.support.server import RunningServer, cheap_hash, create_users, start_server

NAT = "127.0.0.3"
CLASS_SIZE = 60


@pytest.fixture
def class_of(server: RunningServer) -> Iterator[Callable[[int], list[TestClient]]]:
    """`class_of(n)`: n connections from the NAT's address, one account each (student0...)."""
    clients: list[TestClient] = []

    def connect_class(size: int) -> list[TestClient]:
        create_users(server.db_url, {f"student{n}": PASSWORD for n in range(size)})
        clients.extend(TestClient(server.host, server.port, source=NAT) for _ in range(size))
        return clients[-size:]

    yield connect_class
    for client in clients:
        client.close()


@pytest.mark.sqlite_only  # the limits act before the database: one run is enough
def test_a_class_of_60_logging_in_within_a_second_from_one_address_all_get_in(
    class_of: Callable[[int], list[TestClient]],
) -> None:
    students = class_of(CLASS_SIZE)
    for n, client in enumerate(students):  # all sent before any is answered
        client.send({"op": "login", "id": 1, "user": f"student{n}", "password": PASSWORD})
    replies = [client.reply_to(1, timeout_s=30) for client in students]
    refused = [reply for reply in replies if not reply["ok"]]
    assert not refused, refused
    assert [reply["user"] for reply in replies] == [f"student{n}" for n in range(CLASS_SIZE)]


@pytest.mark.sqlite_only
def test_twenty_typos_from_the_address_do_not_refuse_a_correct_login_from_it(
    class_of: Callable[[int], list[TestClient]],
) -> None:
    *typing, honest = class_of(21)
    for n, client in enumerate(typing):  # 20 students mistype their passwords
        reply = client.request("login", user=f"student{n}", password="wrong password")
        assert reply["error"] == "bad_credentials", reply
    reply = honest.request("login", user="student20", password=PASSWORD)
    assert reply["ok"] is True, reply


@pytest.mark.sqlite_only
def test_failures_from_the_address_still_stop_a_guesser_there(server: RunningServer) -> None:
    """The class's allowance is not a guesser's: past --login-failure-burst failures the
    address is refused before any hashing, and honest addresses are not."""
    burst = server.config.login_failure_burst
    outcomes = []
    guesser = TestClient(server.host, server.port, source=NAT)
    for n in range(burst + 5):
        if n and n % 5 == 0:  # a connection may make only so many refused logins
            guesser.close()
            guesser = TestClient(server.host, server.port, source=NAT)
        outcomes.append(guesser.request("login", user=f"guess{n}", password="guess")["error"])
    assert outcomes == ["bad_credentials"] * burst + ["rate_limited"] * 5
    guesser.close()
    elsewhere = TestClient(server.host, server.port, source="127.0.0.2")
    elsewhere.login("alice", PASSWORD)
    elsewhere.close()


# --- rehashing --------------------------------------------------------------------------------

STORED_COST = HashCost(memory_kib=1024, time_cost=1, parallelism=1)  # the tests' cheap hashes
NEW_COST = HashCost(memory_kib=2048, time_cost=2, parallelism=1)


def stored_parameters(db_url: str, name: str) -> tuple[int, int, int]:
    store = Store.open(db_url, group_commit=False)
    try:
        credentials = store.users.credentials(name)
    finally:
        store.close()
    assert credentials is not None
    parameters = extract_parameters(credentials.password_hash)
    return parameters.memory_cost, parameters.time_cost, parameters.parallelism


def test_a_hash_made_with_other_parameters_is_made_anew_at_the_next_login(
    server_config: ServerConfig,
) -> None:
    create_users(server_config.db_url, {"alice": PASSWORD})
    assert stored_parameters(server_config.db_url, "alice") == (1024, 1, 1)
    running = start_server(replace(server_config, argon2=NEW_COST))
    try:
        client = TestClient(running.host, running.port)
        wrong = client.request("login", user="alice", password="not her password")
        assert wrong["error"] == "bad_credentials"
        assert stored_parameters(server_config.db_url, "alice") == (1024, 1, 1)  # not on failure
        client.login("alice", PASSWORD)
        client.request("logout")
        client.wait_closed()
        assert stored_parameters(server_config.db_url, "alice") == (2048, 2, 1)
        again = TestClient(running.host, running.port)
        again.login("alice", PASSWORD)  # the new hash holds the same password
        again.close()
    finally:
        running.stop()


def test_a_password_changed_between_check_and_rehash_refuses_the_old_one(
    server_config: ServerConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`chat-admin passwd` (another process) lands after the old password was checked and
    before its rehash: the rehash changes nothing, and the old password is refused as a wrong
    one is, counted, instead of letting in who no longer knows the password."""
    create_users(server_config.db_url, {"alice": PASSWORD})
    real_rehash, changed = Users.rehash_password, list[bool]()

    def passwd_meanwhile(users: Users, name: str, old_hash: str, new_hash: str) -> bool:
        if not changed:  # the operator's store, not the server's: as chat-admin passwd
            operator = Store.open(server_config.db_url, group_commit=False)
            try:
                changed.append(operator.operator.set_password_hash(name, cheap_hash("the new one")))
            finally:
                operator.close()
        return real_rehash(users, name, old_hash, new_hash)

    monkeypatch.setattr(Users, "rehash_password", passwd_meanwhile)
    running = start_server(replace(server_config, argon2=NEW_COST))
    try:
        client = TestClient(running.host, running.port)
        old = client.request("login", user="alice", password=PASSWORD)
        assert changed == [True]
        assert (old["ok"], old["error"], old["attempts_left"]) == (False, "bad_credentials", 2)
        assert client.request("login", user="alice", password=PASSWORD)["attempts_left"] == 1
        assert client.login("alice", "the new one")["user"] == "alice"
        client.close()
    finally:
        running.stop()
    assert stored_parameters(server_config.db_url, "alice") == (2048, 2, 1)  # the new one's


def test_an_unknown_name_costs_what_the_stored_accounts_cost_not_only_the_servers(
    server_config: ServerConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Accounts not yet rehashed answer a wrong password at their old cost: unknown names are
    checked at the stored costs in their shares (here all old), or a slower answer would tell
    that a dormant account exists (point 4). Once every account is rehashed, the server's."""
    create_users(server_config.db_url, {"alice": PASSWORD})
    decoy_costs: list[HashCost] = []
    verify = auth.verify_password  # what service.core.handlers.accounts calls

    def spied(password_hash: str | None, password: str, cost: HashCost) -> bool:
        if password_hash is None:
            decoy_costs.append(cost)
        return verify(password_hash, password, cost)

    monkeypatch.setattr(handlers, "verify_password", spied)
    running = start_server(replace(server_config, argon2=NEW_COST))
    try:
        client = TestClient(running.host, running.port)
        assert client.request("login", user="ghost", password="x")["error"] == "bad_credentials"
        client.login("alice", PASSWORD)  # rehashed at NEW_COST: the only account now is
        other = TestClient(running.host, running.port)
        assert other.request("login", user="ghost", password="x")["error"] == "bad_credentials"
        client.close()
        other.close()
    finally:
        running.stop()
    assert decoy_costs == [STORED_COST, NEW_COST]


def test_keep_stored_hashes_leaves_them_as_they_are(server_config: ServerConfig) -> None:
    create_users(server_config.db_url, {"alice": PASSWORD})
    running = start_server(replace(server_config, argon2=NEW_COST, rehash=False))
    try:
        client = TestClient(running.host, running.port)
        client.login("alice", PASSWORD)
        client.close()
    finally:
        running.stop()
    assert stored_parameters(server_config.db_url, "alice") == (1024, 1, 1)
