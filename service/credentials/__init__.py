"""Credentials: what a password costs to hash and check (argon2id, passwords.py and
hash_cost.py), the decoy an unknown name is checked against so that no reply tells whether an
account exists (decoy_cost.py), and the lockout rule as pure functions of time. Also how a
name that may be a mistyped password appears in the log (masking.py), and login tokens: a new
one and the digest the store keeps of it (tokens.py).
"""

from service.credentials.decoy_cost import DecoyCosts
from service.credentials.hash_cost import HashCost
from service.credentials.masking import masked_name
from service.credentials.passwords import Attempts, LockoutPolicy, hash_password, verify_password

__all__ = [
    "Attempts",
    "DecoyCosts",
    "HashCost",
    "LockoutPolicy",
    "hash_password",
    "masked_name",
    "verify_password",
]
