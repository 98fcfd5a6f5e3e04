"""At which argon2 cost a name without an account is checked (chat/1 precise point 4), pure.

A wrong password costs what its account's stored hash costs, and a hash made before the
operator changed the cost keeps the old one until its owner's next login. A decoy at the
server's cost alone would mark every slower answer as an account that exists (the dormant
ones); a decoy at the slowest stored cost would mark the faster ones (the active ones). So
each unknown name gets one of the stored costs, in their proportions among the accounts, the
same for that name all run long (keyed with a secret that is new each run, so nobody can
work out offline which names answer slowly): an unknown name answers like some account.

The counts are read once at start (Store.hash_costs) and follow the server's own changes:
a rehash moves an account to the server's cost, a registration adds one there.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping

from service.credentials.hash_cost import HashCost
from service.wire.names import login_name_key

_KEY = secrets.token_bytes(16)  # new each run, never written anywhere


class DecoyCosts:
    def __init__(self, server_cost: HashCost, stored: Mapping[HashCost, int]) -> None:
        self._server_cost = server_cost
        # Replaced whole, never changed in place: logins on several threads read it while one
        # rehashes (two moves at once may lose one: a share off by an account, no more).
        self._counts: Mapping[HashCost, int] = {c: n for c, n in stored.items() if n > 0}

    def cost_for(self, name: str) -> HashCost:
        """The cost to check `name`'s decoy at: the server's when no account is stored."""
        key = login_name_key(name)
        digest = hmac.new(_KEY, key.encode("utf-8", "surrogatepass"), hashlib.sha256).digest()
        costs = sorted(self._counts.items(), key=lambda item: _order(item[0]))
        total = sum(n for _, n in costs)
        if total == 0:
            return self._server_cost
        point = int.from_bytes(digest[:8], "big") % total  # where the name falls among them
        for cost, n in costs:
            if point < n:
                return cost
            point -= n
        raise AssertionError("unreachable: point < total")

    def moved(self, old: HashCost | None, new: HashCost) -> None:
        """An account's hash now has cost `new` (a rehash from `old`; None: a new account)."""
        counts = dict(self._counts)
        if old is not None and counts.get(old, 0) > 0:
            counts[old] -= 1
        counts[new] = counts.get(new, 0) + 1
        self._counts = counts


def _order(cost: HashCost) -> tuple[int, int, int]:
    return cost.memory_kib, cost.time_cost, cost.parallelism
