"""The SQLite application recorder: the library's, appending a whole batch of
events, with the ledger's own rows, in one transaction.

- `ledger_event_index`: one row per event with its position, its claim and
  version, its two times and its leaf index. `recorded_at` is taken here,
  inside the write transaction (SQLite has one writer at a time), later than
  every `recorded_at` already committed and one microsecond apart within the
  batch, so it grows strictly with the position; the leaf index, under the
  same lock, follows the last one without a gap (SPEC §6).
- `ledger_idempotency`: the Idempotency-Key of each keyed write, so that two
  racing retries cannot both append.

The events table declares its notification id as `INTEGER PRIMARY KEY
AUTOINCREMENT`: positions then survive a VACUUM and are never reused, which
the library's implicit rowid does not promise.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import (
    IntegrityError,
    Notification,
    OperationalError,
    PersistenceError,
    StoredEvent,
)
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor, SQLiteDatastore

from storage.errors import AppendRefused, CommitInterrupted, NotAppended, Refusal
from storage.mapper import new_events
from storage.rows import Appended, IdempotencyRow, NewEvent

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
        leaf_index INTEGER NOT NULL,
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
    """CREATE TABLE IF NOT EXISTS ledger_sessions (
        token_hash TEXT PRIMARY KEY,
        key_id TEXT NOT NULL,
        created_at_us INTEGER NOT NULL,
        expires_at_us INTEGER NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS ledger_meta (
        name TEXT PRIMARY KEY,
        value INTEGER NOT NULL)""",
]

# A ledger written before leaf indexes existed gets them once, by position
# (the column is added first, then filled, then indexed).
_HAS_LEAF_INDEX = "SELECT 1 FROM pragma_table_info('ledger_event_index') WHERE name = 'leaf_index'"
_ADD_LEAF_INDEX = [
    "ALTER TABLE ledger_event_index ADD COLUMN leaf_index INTEGER",
    """UPDATE ledger_event_index SET leaf_index = dense.leaf
    FROM (SELECT position, row_number() OVER (ORDER BY position) - 1 AS leaf
        FROM ledger_event_index) AS dense
    WHERE dense.position = ledger_event_index.position""",
]
_LEAF_INDEX_RULES = [
    "CREATE UNIQUE INDEX IF NOT EXISTS ledger_event_leaf ON ledger_event_index (leaf_index)",
    # An upgraded table's added column may be null (SQLite cannot add it NOT
    # NULL): a process of an older release left running is refused, not let
    # write an event without a leaf.
    "CREATE TRIGGER IF NOT EXISTS ledger_event_leaf_required"
    " BEFORE INSERT ON ledger_event_index WHEN NEW.leaf_index IS NULL"
    " BEGIN SELECT RAISE(ABORT, 'no leaf index: a process of an older release writes'); END",
]

_INSERT_EVENT = (
    "INSERT INTO stored_events (originator_id, originator_version, topic, state)"
    " VALUES (?, ?, ?, ?)"
)
_INSERT_INDEX = (
    "INSERT INTO ledger_event_index (position, event_id, claim_id, version, occurred_at_us,"
    " recorded_at_us, leaf_index) VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_KEY = (
    "INSERT INTO ledger_idempotency (api_key_id, method, path, idempotency_key, request_hash,"
    " event_id, created_at_us) VALUES (?, ?, ?, ?, ?, ?, ?)"
)


class SQLiteLedgerRecorder(SQLiteApplicationRecorder):
    def __init__(self, datastore: SQLiteDatastore, events_table_name: str = EVENTS_TABLE) -> None:
        super().__init__(datastore, events_table_name)
        self.insert_events_statement = _INSERT_EVENT

    def construct_create_table_statements(self) -> list[str]:
        return list(_CREATE_STATEMENTS)

    def create_table(self) -> None:
        """Creates the tables, and upgrades a ledger of an earlier release, in one
        transaction that holds the write lock from its start (two processes
        starting together: the second finds the work done)."""
        with self.datastore.transaction(commit=True) as c:
            # The library began a deferred transaction; an upgrade must not read
            # the layout before it holds the lock.
            c.execute("ROLLBACK")
            c.execute("BEGIN IMMEDIATE")
            self._create_table(c)
            c.execute(_HAS_LEAF_INDEX)
            if c.fetchone() is None:
                for statement in _ADD_LEAF_INDEX:
                    c.execute(statement)
            for statement in _LEAF_INDEX_RULES:
                c.execute(statement)

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

    # --- appending --------------------------------------------------------------

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """The library's way in (`Application.save`): one transaction, like `append`."""
        key: IdempotencyRow | None = kwargs.get("idempotency")
        events = new_events(stored_events)
        keys = [key] if key is not None else []
        return [appended.position for appended in self.append(events, keys)]

    def append(self, events: Sequence[NewEvent], keys: Sequence[IdempotencyRow]) -> list[Appended]:
        """Appends the events, and the keyed writes among them, in one transaction;
        returns where each event went, in the order given."""
        if not events:
            return []
        inserted: list[Appended] = []
        try:
            with self.datastore.transaction(commit=True) as c:
                inserted = self._append(c, events, keys)
        except IntegrityError as error:
            refusal = (
                Refusal.KEY_USED if "ledger_idempotency" in str(error) else Refusal.VERSION_TAKEN
            )
            raise AppendRefused(refusal, str(error)) from error
        except PersistenceError as error:
            if inserted and isinstance(error, OperationalError):
                # Every statement ran: the commit itself failed.
                raise CommitInterrupted(str(error)) from error
            raise NotAppended(str(error)) from error
        return inserted

    def _append(
        self, c: SQLiteCursor, events: Sequence[NewEvent], keys: Sequence[IdempotencyRow]
    ) -> list[Appended]:
        cursor: sqlite3.Cursor = c.sqlite_cursor
        positions = []
        for event in events:
            stored = event.stored
            cursor.execute(
                _INSERT_EVENT,
                (event.claim_id.hex, stored.originator_version, stored.topic, stored.state),
            )
            position = cursor.lastrowid
            assert position is not None
            positions.append(position)
        # The write lock is held from the first insert above until commit, so
        # no other transaction can record between this read and our rows.
        cursor.execute(
            "SELECT recorded_at_us, leaf_index FROM ledger_event_index"
            " ORDER BY position DESC LIMIT 1"
        )
        last = cursor.fetchone()
        now_us = max(time.time_ns() // 1000, (last[0] + 1) if last else 0)
        next_leaf = last[1] + 1 if last else 0
        appended = [
            Appended(event.event_id, position, now_us + i, next_leaf + i)
            for i, (event, position) in enumerate(zip(events, positions, strict=True))
        ]
        cursor.executemany(
            _INSERT_INDEX,
            [
                (
                    a.position,
                    e.event_id.hex,
                    e.claim_id.hex,
                    e.version,
                    e.occurred_at_us,
                    a.recorded_at_us,
                    a.leaf_index,
                )
                for e, a in zip(events, appended, strict=True)
            ],
        )
        if keys:
            created_us = time.time_ns() // 1000
            cursor.executemany(
                _INSERT_KEY,
                [
                    (
                        key.scope.api_key_id,
                        key.scope.method,
                        key.scope.path,
                        key.scope.key,
                        key.request_hash,
                        key.event_id.hex if key.event_id else "",
                        created_us,
                    )
                    for key in keys
                ],
            )
        return appended

    def find_appended(
        self, event_ids: Sequence[UUID], session: int | None, within: float = 0
    ) -> list[Appended]:
        """The events among these that were appended (after an unknown outcome)."""
        del session, within  # one file, one writer at a time: nothing can still be committing
        placeholders = ", ".join("?" * len(event_ids))
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                "SELECT event_id, position, recorded_at_us, leaf_index FROM ledger_event_index"  # noqa: S608
                f" WHERE event_id IN ({placeholders})",
                [event_id.hex for event_id in event_ids],
            )
            rows = c.fetchall()
        return [Appended(UUID(row[0]), row[1], row[2], row[3]) for row in rows]
