"""The read that runs per request on SQLite: a claim's new rows and the ledger's
head, on a connection of the reading thread's own (a local file answers in
microseconds, so the read runs in place rather than on another thread)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from uuid import UUID

from storage.queries import ClaimRows
from storage.sqlite.queries import read_claim_rows

__all__ = ["SQLiteClaimReader"]


class SQLiteClaimReader:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None

    async def open(self) -> None:
        self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)

    async def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def claim_rows(self, claim_id: UUID, after_version: int) -> ClaimRows:
        conn = self._conn
        assert conn is not None, "open() the reader first"
        cursor = conn.cursor()
        # One read transaction: the head and the rows from one snapshot.
        cursor.execute("BEGIN")
        try:
            return read_claim_rows(cursor, claim_id, after_version)
        finally:
            cursor.execute("COMMIT")
