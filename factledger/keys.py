"""API keys (SPEC §5): made by the command line, shown once, stored only as a hash.

A key reads `fl_<key id>_<secret>`. The key id is public (it is the `actor.id`
of every event the key writes); the secret is 32 random bytes, so a plain
SHA-256 of the whole key is enough to store it: there is nothing to guess.

A serving process keeps the keys it has checked (`KeyCache`), so a request
costs no query. Making or revoking a key moves the ledger's keys generation
in the same transaction; a process that sees the generation move forgets
every key it kept. PostgreSQL announces it (NOTIFY), and each process listens;
on SQLite each process looks at the generation at most every quarter second.
Either way a revocation takes effect everywhere within a second.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Protocol

from ledger.access import Actor, Role
from ledger.errors import LedgerError
from storage.queries import KeyQueries
from storage.rows import ApiKeyRow

__all__ = ["ApiKeys", "IssuedKey", "KeyCache", "KeyGeneration", "KeyNotFound", "PolledGeneration"]

log = logging.getLogger(__name__)

_KEY_FORMAT: Final = re.compile(r"fl_(?P<key_id>[0-9a-f]{12})_[A-Za-z0-9_-]{43}")
_POLL_SECONDS: Final = 0.25
_KEPT: Final = 10_000


class KeyNotFound(LedgerError):
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


class KeyGeneration(Protocol):
    """The ledger's keys generation as this process knows it."""

    def current(self) -> int | None:
        """The generation, or None when it cannot be known now (then no key may be
        answered from memory)."""

    async def start(self) -> None:
        """Starts following the generation (in the event loop that will ask)."""

    async def stop(self) -> None: ...


class PolledGeneration:
    """Reads the generation from the database at most every `poll_seconds`."""

    def __init__(self, read: Callable[[], int], poll_seconds: float = _POLL_SECONDS) -> None:
        self.read = read
        self.poll_seconds = poll_seconds
        self._generation: int | None = None
        self._read_at = 0.0

    async def start(self) -> None:
        pass  # read when asked

    async def stop(self) -> None:
        pass

    def current(self) -> int | None:
        now = time.monotonic()
        if self._generation is None or now - self._read_at >= self.poll_seconds:
            try:
                self._generation = self.read()
            except Exception:  # noqa: BLE001 (unknown: answer no key from memory)
                self._generation = None
                return None
            self._read_at = now
        return self._generation


class KeyCache:
    """The keys this process has checked, by the hash of the presented key."""

    def __init__(self, keys: ApiKeys, generation: KeyGeneration) -> None:
        self.keys = keys
        self.generation = generation
        self._kept: dict[str, Actor | None] = {}
        self._kept_generation: int | None = None

    async def actor(self, presented: str) -> Actor | None:
        """The actor a presented key stands for; None for an unknown or revoked key."""
        generation = self.generation.current()
        if generation is None or generation != self._kept_generation:
            self._kept.clear()
            self._kept_generation = generation
        digest = _hash(presented)
        if digest in self._kept:
            return self._kept[digest]
        actor = await asyncio.to_thread(self.keys.authenticate, presented)
        if generation is not None and generation == self._kept_generation:
            if len(self._kept) >= _KEPT:
                self._kept.clear()
            self._kept[digest] = actor
        return actor
