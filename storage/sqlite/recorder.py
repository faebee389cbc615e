"""The SQLite application recorder: the library's, plus the ledger's own rows
written in the same transaction as the events.

- `ledger_event_index`: one row per event with its position, its claim and
  version, and its two times. `recorded_at` is taken here, inside the write
  transaction (SQLite has one writer at a time), and is always later than
  every `recorded_at` already committed, so it grows with the position.
- `ledger_idempotency`: the Idempotency-Key of a keyed write, so that two
  racing retries cannot both append.

The events table declares its notification id as `INTEGER PRIMARY KEY
AUTOINCREMENT`: positions then survive a VACUUM and are never reused, which
the library's implicit rowid does not promise.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import Notification, StoredEvent
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor, SQLiteDatastore

from storage.rows import IdempotencyRow, index_entries

__all__ = ["SQLiteLedgerRecorder"]

EVENTS_TABLE = "stored_events"

_CREATE_STATEMENTS = [
    """CREATE TABLE IF NOT EXISTS stored_events (
        notification_id INTEGER PRIMARY KEY AUTOINCREMENT,
        originator_id TEXT NOT NULL,
        originator_version INTEGER NOT NULL,
        topic TEXT NOT NULL,
        state BLOB NOT NULL,
        UNIQUE (originator_id, originator_version))""",
    """CREATE TABLE IF NOT EXISTS ledger_event_index (
        position INTEGER PRIMARY KEY,
        event_id TEXT NOT NULL UNIQUE,
        claim_id TEXT NOT NULL,
        version INTEGER NOT NULL,
        occurred_at_us INTEGER NOT NULL,
        recorded_at_us INTEGER NOT NULL,
        UNIQUE (claim_id, version))""",
    """CREATE TABLE IF NOT EXISTS ledger_idempotency (
        api_key_id TEXT NOT NULL,
        method TEXT NOT NULL,
        path TEXT NOT NULL,
        idempotency_key TEXT NOT NULL,
        request_hash TEXT NOT NULL,
        event_id TEXT NOT NULL,
        created_at_us INTEGER NOT NULL,
        PRIMARY KEY (api_key_id, method, path, idempotency_key))""",
    """CREATE TABLE IF NOT EXISTS api_keys (
        key_id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        role TEXT NOT NULL,
        secret_hash TEXT NOT NULL,
        created_at_us INTEGER NOT NULL,
        revoked_at_us INTEGER)""",
]


class SQLiteLedgerRecorder(SQLiteApplicationRecorder):
    def __init__(self, datastore: SQLiteDatastore, events_table_name: str = EVENTS_TABLE) -> None:
        super().__init__(datastore, events_table_name)
        self.insert_events_statement = (
            "INSERT INTO stored_events (originator_id, originator_version, topic, state) "
            "VALUES (?, ?, ?, ?)"
        )

    def construct_create_table_statements(self) -> list[str]:
        return list(_CREATE_STATEMENTS)

    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> Sequence[Notification]:
        # The library's version selects `rowid`, which an INTEGER PRIMARY KEY
        # column renames; this one selects the column by its own name.
        conditions: list[str] = []
        params: list[int | str] = []
        if start is not None:
            conditions.append(
                "notification_id >= ?" if inclusive_of_start else "notification_id > ?"
            )
            params.append(start)
        if stop is not None:
            conditions.append("notification_id <= ?")
            params.append(stop)
        if topics:
            conditions.append(f"topic IN ({', '.join('?' * len(topics))})")
            params.extend(topics)
        where = f"WHERE {' AND '.join(conditions)} " if conditions else ""
        # Fixed fragments only; every value is a parameter.
        statement = (
            "SELECT notification_id, originator_id, originator_version, topic, state "  # noqa: S608
            f"FROM stored_events {where}ORDER BY notification_id LIMIT ?"
        )
        with self.datastore.transaction(commit=False) as c:
            c.execute(statement, [*params, limit])
            return [
                Notification(
                    id=row["notification_id"],
                    originator_id=self.convert_originator_id(row["originator_id"]),
                    originator_version=row["originator_version"],
                    topic=row["topic"],
                    state=row["state"],
                )
                for row in c.fetchall()
            ]

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        positions = super()._insert_events(c, stored_events, **kwargs)
        assert positions is not None
        idempotency: IdempotencyRow | None = kwargs.get("idempotency")
        entries = index_entries(stored_events)
        if idempotency is not None:
            scope = idempotency.scope
            c.execute(
                "INSERT INTO ledger_idempotency (api_key_id, method, path, idempotency_key, "
                "request_hash, event_id, created_at_us) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    scope.api_key_id,
                    scope.method,
                    scope.path,
                    scope.key,
                    idempotency.request_hash,
                    entries[-1].event_id.hex,
                    time.time_ns() // 1000,
                ),
            )
        # The write lock is held from the first insert above until commit, so
        # no other transaction can record between this read and our rows.
        c.execute("SELECT recorded_at_us FROM ledger_event_index ORDER BY position DESC LIMIT 1")
        last = c.fetchone()
        recorded_at_us = max(time.time_ns() // 1000, (last[0] + 1) if last else 0)
        c.executemany(
            "INSERT INTO ledger_event_index (position, event_id, claim_id, version, "
            "occurred_at_us, recorded_at_us) VALUES (?, ?, ?, ?, ?, ?)",
            [
                (
                    position,
                    entry.event_id.hex,
                    entry.claim_id.hex,
                    entry.version,
                    entry.occurred_at_us,
                    recorded_at_us,
                )
                for position, entry in zip(positions, entries, strict=True)
            ],
        )
        return positions
