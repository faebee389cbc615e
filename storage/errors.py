"""How an append of a batch of events can fail, as the storage adapters tell it.

    AppendError
    ├── AppendRefused      a constraint refused the batch; nothing was appended
    ├── NotAppended        the database could not take the batch; nothing was appended
    └── CommitInterrupted     the connection broke after the commit may have been sent

The write path decides what each means for its callers: a refusal names
the constraint (a claim's version taken, an Idempotency-Key used), so only
the commands behind it are run again; an unknown outcome is resolved by
looking the events up, never guessed.
"""

from __future__ import annotations

import sqlite3
from enum import StrEnum
from typing import Final

import psycopg
from eventsourcing.persistence import PersistenceError

__all__ = [
    "DATABASE_ERRORS",
    "AppendError",
    "AppendRefused",
    "CommitInterrupted",
    "NotAppended",
    "Refusal",
]

DATABASE_ERRORS: Final = (psycopg.Error, PersistenceError, sqlite3.Error)
"""What a statement of either backend raises when the database fails it (the
library's wrappings, or the drivers' own where a query uses them directly)."""


class Refusal(StrEnum):
    VERSION_TAKEN = "version taken"
    """Another write appended the claim's next version first (or registered its id)."""
    KEY_USED = "idempotency key used"
    """Another write with the same Idempotency-Key was appended first."""


class AppendError(Exception):
    """Base of the ways an append fails."""


class AppendRefused(AppendError):
    """Raised when a constraint refused the batch: nothing of it was appended."""

    def __init__(self, refusal: Refusal, detail: str) -> None:
        super().__init__(f"{refusal}: {detail}")
        self.refusal = refusal


class NotAppended(AppendError):
    """Raised when the database could not take the batch (unreachable, a lock not
    granted in time): nothing of it was appended."""


class CommitInterrupted(AppendError):
    """Raised when the connection broke once the batch may have been committed."""

    def __init__(self, detail: str, session: int | None = None) -> None:
        super().__init__(detail)
        self.session = session
        """The database's id of the session that sent the batch, where it has one."""
