"""Limits: what keeps one client, one address or a crowd from taking the server from the
others. Token buckets (throttle.py), the per-address guard over connections, requests and
logins (guard.py), the fair per-address login queue and its threads (fair_queue.py,
auth_pool.py), and one-at-a-time judging of logins per name (name_locks.py).
"""

from service.limits.auth_pool import AuthPool
from service.limits.guard import Guard
from service.limits.name_locks import NameLocks
from service.limits.throttle import TokenBucket

__all__ = [
    "AuthPool",
    "Guard",
    "NameLocks",
    "TokenBucket",
]
