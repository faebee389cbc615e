"""The ledger's reads on SQLite (see `storage.queries` for what each answers)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any, Final
from uuid import UUID

from eventsourcing.sqlite import SQLiteCursor, SQLiteDatastore

from storage.queries import ClaimRows, Head
from storage.rows import ApiKeyRow, EventRow, IdempotencyRow, IdempotencyScope, SessionRow

__all__ = ["SQLiteEventQueries", "SQLiteKeyQueries"]

KEYS_GENERATION: Final = "keys_generation"

# Every event query reads the same columns from the index joined to the events.
_SELECT_EVENTS = """
    SELECT i.position, i.claim_id, i.version, e.topic, e.state, i.recorded_at_us,
        i.occurred_at_us, i.leaf_index
    FROM ledger_event_index i JOIN stored_events e ON e.notification_id = i.position"""
_HEAD = "SELECT position, recorded_at_us FROM ledger_event_index ORDER BY position DESC LIMIT 1"
_CLAIM_ROWS = f"{_SELECT_EVENTS} WHERE i.claim_id = ? AND i.version > ? ORDER BY i.version"
_ROWS_AFTER = f"{_SELECT_EVENTS} WHERE i.position > ? ORDER BY i.position LIMIT ?"
_ALL_BY_CLAIM = (
    f"{_SELECT_EVENTS} WHERE i.position <= ? AND i.claim_id >= ? AND i.claim_id < ?"
    " ORDER BY i.claim_id, i.version"
)
_ROWS_FROM_LEAF = f"{_SELECT_EVENTS} WHERE i.leaf_index >= ? ORDER BY i.leaf_index LIMIT ?"
_ROW_BY_EVENT_ID = f"{_SELECT_EVENTS} WHERE i.event_id = ?"


def event_row(row: Sequence[Any]) -> EventRow:
    return EventRow(
        position=row[0],
        claim_id=UUID(row[1]),
        version=row[2],
        topic=row[3],
        state=bytes(row[4]),
        recorded_at_us=row[5],
        occurred_at_us=row[6],
        leaf_index=row[7],
    )


class _Reader:
    def __init__(self, datastore: SQLiteDatastore) -> None:
        self.datastore = datastore

    def _all(self, statement: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(statement, params)
            rows: list[sqlite3.Row] = c.fetchall()
            return rows


def read_claim_rows(cursor: sqlite3.Cursor, claim_id: UUID, after_version: int) -> ClaimRows:
    """A claim's rows after a version, and the head, in the cursor's read transaction
    (the head first: every event at or before it is then among the rows)."""
    head_row = cursor.execute(_HEAD).fetchone()
    if head_row is None:
        return ClaimRows(head=None, rows=[])
    rows = cursor.execute(_CLAIM_ROWS, (claim_id.hex, after_version)).fetchall()
    return ClaimRows(head=Head(head_row[0], head_row[1]), rows=[event_row(row) for row in rows])


class SQLiteEventQueries(_Reader):
    def ping(self) -> None:
        self._all("SELECT 1")

    def head(self) -> Head | None:
        rows = self._all(_HEAD)
        return Head(rows[0][0], rows[0][1]) if rows else None

    def claim_rows(self, claim_id: UUID, after_version: int) -> ClaimRows:
        with self.datastore.transaction(commit=False) as c:
            return read_claim_rows(c.sqlite_cursor, claim_id, after_version)

    def claims_rows(self, claim_ids: Sequence[UUID], until_position: int) -> list[EventRow]:
        placeholders = ", ".join("?" * len(claim_ids))
        # Fixed fragments only; every value is a parameter.
        statement = (
            f"{_SELECT_EVENTS} WHERE i.claim_id IN ({placeholders}) AND i.position <= ?"
            " ORDER BY i.claim_id, i.version"
        )
        rows = self._all(statement, (*(c.hex for c in claim_ids), until_position))
        return [event_row(row) for row in rows]

    def claim_versions(self, claim_ids: Sequence[UUID]) -> dict[UUID, int]:
        placeholders = ", ".join("?" * len(claim_ids))
        # Fixed fragments only; every value is a parameter.
        statement = (
            "SELECT claim_id, max(version) FROM ledger_event_index"  # noqa: S608
            f" WHERE claim_id IN ({placeholders}) GROUP BY claim_id"
        )
        rows = self._all(statement, [c.hex for c in claim_ids])
        return {UUID(row[0]): row[1] for row in rows}

    def rows_after(self, after: int, limit: int) -> list[EventRow]:
        return [event_row(row) for row in self._all(_ROWS_AFTER, (after, limit))]

    def all_by_claim(
        self, until_position: int, lower: UUID | None = None, upper: UUID | None = None
    ) -> Iterator[EventRow]:
        # One read transaction: a consistent snapshot however long the caller
        # takes. Plain tuples, and each claim's id parsed once, not per row
        # (both were a sixth of a rebuild's time).
        with self.datastore.transaction(commit=False) as c:
            cursor = c.sqlite_cursor
            cursor.row_factory = None
            # Ids are stored as 32 lowercase hex digits: text order is id order.
            bounds = (lower.hex if lower else "", upper.hex if upper else "g")
            cursor.execute(_ALL_BY_CLAIM, (until_position, *bounds))
            claim_hex, claim_id = "", UUID(int=0)
            while rows := cursor.fetchmany(1000):
                for position, row_claim, version, topic, state, recorded, occurred, leaf in rows:
                    if row_claim != claim_hex:
                        claim_hex, claim_id = row_claim, UUID(row_claim)
                    yield EventRow(
                        position, claim_id, version, topic, state, recorded, occurred, leaf
                    )

    def rows_from_leaf(self, leaf_index: int, limit: int) -> list[EventRow]:
        return [event_row(row) for row in self._all(_ROWS_FROM_LEAF, (leaf_index, limit))]

    def count_after(self, position: int) -> int:
        rows = self._all("SELECT count(*) FROM ledger_event_index WHERE position > ?", (position,))
        return int(rows[0][0])

    def row_by_event_id(self, event_id: UUID) -> EventRow | None:
        rows = self._all(_ROW_BY_EVENT_ID, (event_id.hex,))
        return event_row(rows[0]) if rows else None

    def rows_by_event_ids(self, event_ids: Sequence[UUID]) -> list[EventRow]:
        if not event_ids:
            return []
        placeholders = ", ".join("?" * len(event_ids))
        # Fixed fragments only; every value is a parameter.
        statement = f"{_SELECT_EVENTS} WHERE i.event_id IN ({placeholders})"
        return [event_row(row) for row in self._all(statement, [e.hex for e in event_ids])]

    def idempotent_writes(
        self, scopes: Sequence[IdempotencyScope]
    ) -> dict[IdempotencyScope, IdempotencyRow]:
        found = {}
        with self.datastore.transaction(commit=False) as c:
            for scope in scopes:
                c.execute(
                    "SELECT request_hash, event_id FROM ledger_idempotency WHERE api_key_id = ?"
                    " AND method = ? AND path = ? AND idempotency_key = ?",
                    (scope.api_key_id, scope.method, scope.path, scope.key),
                )
                row = c.fetchone()
                if row is not None:
                    found[scope] = IdempotencyRow(scope, row[0], UUID(row[1]))
        return found


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
            _announce(c)

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
            revoked = bool(c.sqlite_cursor.rowcount == 1)
            if revoked:
                _announce(c)
            return revoked

    def generation(self) -> int:
        rows = self._all("SELECT value FROM ledger_meta WHERE name = ?", (KEYS_GENERATION,))
        return int(rows[0][0]) if rows else 0

    def insert_session(self, row: SessionRow) -> None:
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                "INSERT INTO ledger_sessions (token_hash, key_id, created_at_us, expires_at_us)"
                " VALUES (?, ?, ?, ?)",
                (row.token_hash, row.key_id, row.created_at_us, row.expires_at_us),
            )

    def find_session(self, token_hash: str, now_us: int) -> ApiKeyRow | None:
        rows = self._all(
            "SELECT k.key_id, k.name, k.role, k.secret_hash, k.created_at_us, k.revoked_at_us"
            " FROM ledger_sessions s JOIN api_keys k ON k.key_id = s.key_id"
            " WHERE s.token_hash = ? AND s.expires_at_us > ? AND k.revoked_at_us IS NULL",
            (token_hash, now_us),
        )
        return ApiKeyRow(*rows[0]) if rows else None

    def delete_session(self, token_hash: str) -> None:
        with self.datastore.transaction(commit=True) as c:
            c.execute("DELETE FROM ledger_sessions WHERE token_hash = ?", (token_hash,))

    def delete_sessions_ended(self, now_us: int) -> int:
        with self.datastore.transaction(commit=True) as c:
            c.execute("DELETE FROM ledger_sessions WHERE expires_at_us <= ?", (now_us,))
            return int(c.sqlite_cursor.rowcount)


def _announce(c: SQLiteCursor) -> None:
    """A new generation of keys, in the change's own transaction."""
    c.execute(
        "INSERT INTO ledger_meta (name, value) VALUES (?, 1)"
        " ON CONFLICT (name) DO UPDATE SET value = value + 1",
        (KEYS_GENERATION,),
    )
