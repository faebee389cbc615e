"""API keys (SPEC §5): made by the command line, shown once, stored only as a hash.

A key reads `fl_<key id>_<secret>`. The key id is public (it is the `actor.id`
of every event the key writes); the secret is 32 random bytes, so a plain
SHA-256 of the whole key is enough to store it: there is nothing to guess.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass
from typing import Final

from ledger.access import Actor, Role
from storage.queries import KeyQueries
from storage.rows import ApiKeyRow

__all__ = ["ApiKeys", "IssuedKey", "KeyNotFound"]

_KEY_FORMAT: Final = re.compile(r"fl_(?P<key_id>[0-9a-f]{12})_[A-Za-z0-9_-]{43}")


class KeyNotFound(LookupError):
    """Raised when revoking a key that does not exist or is already revoked."""


@dataclass(frozen=True)
class IssuedKey:
    key_id: str
    name: str
    role: Role
    secret: str
    """The key itself: shown once, never stored."""


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiKeys:
    def __init__(self, queries: KeyQueries) -> None:
        self.queries = queries

    def create(self, name: str, role: Role) -> IssuedKey:
        key_id = secrets.token_hex(6)
        secret = f"fl_{key_id}_{secrets.token_urlsafe(32)}"
        self.queries.insert_key(
            ApiKeyRow(
                key_id=key_id,
                name=name,
                role=role.value,
                secret_hash=_hash(secret),
                created_at_us=time.time_ns() // 1000,
                revoked_at_us=None,
            )
        )
        return IssuedKey(key_id=key_id, name=name, role=role, secret=secret)

    def list(self) -> list[ApiKeyRow]:
        return self.queries.list_keys()

    def revoke(self, key_id: str) -> None:
        if not self.queries.revoke_key(key_id, time.time_ns() // 1000):
            raise KeyNotFound(f"no active key {key_id!r}")

    def authenticate(self, presented: str) -> Actor | None:
        """The actor a presented key stands for; None for an unknown or revoked key."""
        match = _KEY_FORMAT.fullmatch(presented)
        if match is None:
            return None
        row = self.queries.find_key(match["key_id"])
        if row is None or row.revoked_at_us is not None:
            return None
        if not hmac.compare_digest(row.secret_hash, _hash(presented)):
            return None
        return Actor(id=row.key_id, name=row.name, role=Role(row.role))
