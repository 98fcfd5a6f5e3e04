"""The cost of an unknown name's decoy (service/credentials/decoy_cost.py): the stored costs'
shares."""

from __future__ import annotations

from collections import Counter

from service.credentials.decoy_cost import DecoyCosts
from service.credentials.hash_cost import HashCost

OLD = HashCost(memory_kib=65_536, time_cost=3, parallelism=4)  # argon2-cffi's default
NEW = HashCost()  # chat-server's
NAMES = [f"name{n}" for n in range(4_000)]


def test_unknown_names_get_the_stored_costs_in_their_shares() -> None:
    decoys = DecoyCosts(NEW, {OLD: 300, NEW: 100})
    shares = Counter(decoys.cost_for(name) for name in NAMES)
    assert 0.70 < shares[OLD] / len(NAMES) < 0.80  # 3 of 4 accounts wait to be rehashed


def test_a_name_keeps_its_cost_whatever_its_case() -> None:
    decoys = DecoyCosts(NEW, {OLD: 1, NEW: 1})
    for name in NAMES[:200]:
        assert decoys.cost_for(name) == decoys.cost_for(name.upper()) == decoys.cost_for(name)


def test_without_accounts_or_once_all_are_rehashed_it_is_the_servers_cost() -> None:
    assert DecoyCosts(NEW, {}).cost_for("ghost") == NEW
    assert {DecoyCosts(NEW, {OLD: 0, NEW: 5}).cost_for(name) for name in NAMES} == {NEW}
    decoys = DecoyCosts(NEW, {OLD: 2})
    decoys.moved(OLD, NEW)
    decoys.moved(OLD, NEW)
    decoys.moved(None, NEW)  # a registration
    assert {decoys.cost_for(name) for name in NAMES} == {NEW}
