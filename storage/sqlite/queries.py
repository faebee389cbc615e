"""The ledger's reads on SQLite (see `storage.queries` for what each answers)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.sqlite import SQLiteDatastore

from storage.rows import ApiKeyRow, EventRow, IdempotencyRow, IdempotencyScope

__all__ = ["SQLiteEventQueries", "SQLiteKeyQueries"]

# Every event query reads the same columns from the index joined to the events.
_CLAIM_ROWS = """
    SELECT i.position, i.claim_id, i.version, e.topic, e.state, i.recorded_at_us
    FROM ledger_event_index i JOIN stored_events e ON e.notification_id = i.position
    WHERE i.claim_id = ? AND i.recorded_at_us <= ? ORDER BY i.version"""
_ROWS_AFTER = """
    SELECT i.position, i.claim_id, i.version, e.topic, e.state, i.recorded_at_us
    FROM ledger_event_index i JOIN stored_events e ON e.notification_id = i.position
    WHERE i.position > ? ORDER BY i.position LIMIT ?"""
_ALL_BY_CLAIM = """
    SELECT i.position, i.claim_id, i.version, e.topic, e.state, i.recorded_at_us
    FROM ledger_event_index i JOIN stored_events e ON e.notification_id = i.position
    WHERE i.position <= ? ORDER BY i.claim_id, i.version"""
_ROW_BY_EVENT_ID = """
    SELECT i.position, i.claim_id, i.version, e.topic, e.state, i.recorded_at_us
    FROM ledger_event_index i JOIN stored_events e ON e.notification_id = i.position
    WHERE i.event_id = ?"""
_ROW_BY_POSITION = """
    SELECT i.position, i.claim_id, i.version, e.topic, e.state, i.recorded_at_us
    FROM ledger_event_index i JOIN stored_events e ON e.notification_id = i.position
    WHERE i.position = ?"""


def _event_row(row: sqlite3.Row) -> EventRow:
    return EventRow(
        position=row[0],
        claim_id=UUID(row[1]),
        version=row[2],
        topic=row[3],
        state=bytes(row[4]),
        recorded_at_us=row[5],
    )


class _Reader:
    def __init__(self, datastore: SQLiteDatastore) -> None:
        self.datastore = datastore

    def _all(self, statement: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(statement, params)
            rows: list[sqlite3.Row] = c.fetchall()
            return rows


class SQLiteEventQueries(_Reader):
    def ping(self) -> None:
        self._all("SELECT 1")

    def head(self) -> tuple[int, int] | None:
        rows = self._all(
            "SELECT position, recorded_at_us FROM ledger_event_index ORDER BY position DESC LIMIT 1"
        )
        return (rows[0][0], rows[0][1]) if rows else None

    def claim_rows(self, claim_id: UUID, recorded_until_us: int) -> list[EventRow]:
        rows = self._all(
            _CLAIM_ROWS,
            (claim_id.hex, recorded_until_us),
        )
        return [_event_row(row) for row in rows]

    def rows_after(self, after: int, limit: int) -> list[EventRow]:
        rows = self._all(
            _ROWS_AFTER,
            (after, limit),
        )
        return [_event_row(row) for row in rows]

    def histories(self, claim_ids: Sequence[UUID], until_position: int) -> list[EventRow]:
        placeholders = ", ".join("?" * len(claim_ids))
        # Fixed fragments only; every value is a parameter.
        statement = (
            "SELECT i.position, i.claim_id, i.version, e.topic, e.state, i.recorded_at_us"  # noqa: S608
            " FROM ledger_event_index i JOIN stored_events e ON e.notification_id = i.position"
            f" WHERE i.claim_id IN ({placeholders}) AND i.position <= ?"
            " ORDER BY i.claim_id, i.version"
        )
        rows = self._all(statement, (*(c.hex for c in claim_ids), until_position))
        return [_event_row(row) for row in rows]

    def all_by_claim(self, until_position: int) -> Iterator[EventRow]:
        # One read transaction: a consistent snapshot however long the caller takes.
        with self.datastore.transaction(commit=False) as c:
            c.execute(_ALL_BY_CLAIM, (until_position,))
            while rows := c.sqlite_cursor.fetchmany(1000):
                yield from (_event_row(row) for row in rows)

    def count_after(self, position: int) -> int:
        rows = self._all("SELECT count(*) FROM ledger_event_index WHERE position > ?", (position,))
        return int(rows[0][0])

    def row_by_event_id(self, event_id: UUID) -> EventRow | None:
        rows = self._all(_ROW_BY_EVENT_ID, (event_id.hex,))
        return _event_row(rows[0]) if rows else None

    def row_by_position(self, position: int) -> EventRow | None:
        rows = self._all(_ROW_BY_POSITION, (position,))
        return _event_row(rows[0]) if rows else None

    def idempotent_write(self, scope: IdempotencyScope) -> IdempotencyRow | None:
        rows = self._all(
            "SELECT request_hash, event_id FROM ledger_idempotency "
            "WHERE api_key_id = ? AND method = ? AND path = ? AND idempotency_key = ?",
            (scope.api_key_id, scope.method, scope.path, scope.key),
        )
        if not rows:
            return None
        return IdempotencyRow(scope=scope, request_hash=rows[0][0], event_id=UUID(rows[0][1]))


class SQLiteKeyQueries(_Reader):
    def insert_key(self, row: ApiKeyRow) -> None:
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                "INSERT INTO api_keys (key_id, name, role, secret_hash, created_at_us, "
                "revoked_at_us) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    row.key_id,
                    row.name,
                    row.role,
                    row.secret_hash,
                    row.created_at_us,
                    row.revoked_at_us,
                ),
            )

    def list_keys(self) -> list[ApiKeyRow]:
        rows = self._all(
            "SELECT key_id, name, role, secret_hash, created_at_us, revoked_at_us FROM api_keys "
            "ORDER BY created_at_us"
        )
        return [ApiKeyRow(*row) for row in rows]

    def find_key(self, key_id: str) -> ApiKeyRow | None:
        rows = self._all(
            "SELECT key_id, name, role, secret_hash, created_at_us, revoked_at_us FROM api_keys "
            "WHERE key_id = ?",
            (key_id,),
        )
        return ApiKeyRow(*rows[0]) if rows else None

    def revoke_key(self, key_id: str, revoked_at_us: int) -> bool:
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                "UPDATE api_keys SET revoked_at_us = ? WHERE key_id = ? AND revoked_at_us IS NULL",
                (revoked_at_us, key_id),
            )
            return bool(c.sqlite_cursor.rowcount == 1)
