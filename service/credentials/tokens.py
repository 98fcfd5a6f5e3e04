"""Login tokens (chat/1 "Staying signed in", feature `tokens`): making one, and the digest
that is all the store keeps of it. Pure.

Why a plain SHA-256, where passwords get argon2id: argon2 (memory-hard, salted, slow) exists
to make guessing a secret that a person chose expensive, since such a secret comes from a
small space a dictionary covers. A token is 256 bits from `secrets`: nobody can enumerate that
space, so a slow hash would slow nobody down, only the server's every token login. SHA-256 is
one-way (the database alone logs nobody in) and, unsalted, lets the store find a token by its
digest in a unique index, instead of trying each of a user's hashes in turn.
"""

from __future__ import annotations

import hashlib
import secrets

TOKEN_BYTES = 32  # 256 random bits, base64url: 43 characters (chat/1 asks for 128 bits or more)


def new_token() -> str:
    """A new token, opaque to the client: only ever shown to it, never kept."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_digest(token: str) -> str:
    """What the store keeps and looks up: SHA-256 hex of the token as the client sent it (any
    text a `login` carries, so an unknown one is looked up the same way as a real one)."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
