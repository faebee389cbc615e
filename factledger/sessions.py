"""Page sessions: an API key exchanged for a session token (SPEC §4, "Pages").

A person signs in on the pages with an API key; the ledger gives back a
session token of 32 random bytes for a cookie, and keeps only its SHA-256
(like the keys: there is nothing to guess) in the `ledger_sessions` table, with
the key it stands for and when it ends. Every process of the ledger reads the
same table, so a session works on any worker and any host.

Every request with a session looks it up (one indexed query joined to the
key): a signed-out session, an expired one, or one whose key was revoked is
refused at the next request, in every process, with no cache to go stale.

The CSRF token of a session is an HMAC of a fixed label under the session
token: tied to the session, never stored, and unknowable without the cookie
(which scripts cannot read).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Final

from factledger.keys import ApiKeys
from ledger.access import Actor, Role
from storage.queries import KeyQueries
from storage.rows import SessionRow

__all__ = ["PageSessions", "SignedIn", "csrf_token_of"]

_CSRF_LABEL: Final = b"factledger page form"


@dataclass(frozen=True)
class SignedIn:
    """A session that holds: who it is, and the CSRF token its forms carry."""

    actor: Actor
    csrf_token: str


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_token_of(session_token: str) -> str:
    """The synchroniser token of a session's forms."""
    return hmac.new(session_token.encode(), _CSRF_LABEL, hashlib.sha256).hexdigest()


def _now_us() -> int:
    return time.time_ns() // 1000


class PageSessions:
    def __init__(self, keys: ApiKeys, queries: KeyQueries, lifetime_seconds: int) -> None:
        self.keys = keys
        self.queries = queries
        self.lifetime_seconds = lifetime_seconds

    def sign_in(self, presented_key: str) -> str | None:
        """A new session's token for a valid key; None for an unknown or revoked key.
        Ended sessions are cleared on the way (sign-ins are rare; the table stays small)."""
        actor = self.keys.authenticate(presented_key)
        if actor is None:
            return None
        token = secrets.token_urlsafe(32)
        now_us = _now_us()
        self.queries.delete_sessions_ended(now_us)
        self.queries.insert_session(
            SessionRow(
                token_hash=_hash(token),
                key_id=actor.id,
                created_at_us=now_us,
                expires_at_us=now_us + self.lifetime_seconds * 1_000_000,
            )
        )
        return token

    def signed_in(self, token: str) -> SignedIn | None:
        """The session a token stands for, while it holds; None once it ended."""
        if not token or len(token) > 100:
            return None
        row = self.queries.find_session(_hash(token), _now_us())
        if row is None:
            return None
        actor = Actor(id=row.key_id, name=row.name, role=Role(row.role))
        return SignedIn(actor=actor, csrf_token=csrf_token_of(token))

    def sign_out(self, token: str) -> None:
        self.queries.delete_session(_hash(token))
