"""The PostgreSQL application recorder: the library's, plus the ledger's own rows
written in the same transaction as the events.

The library serialises writers with `LOCK TABLE … IN EXCLUSIVE MODE`, taken
just before the events are inserted, so notification ids commit in order.
The event index is written after that lock, with `recorded_at` from the
database's clock (one clock for every host) and always later than every
`recorded_at` already committed: it therefore grows with the position, and
once an event is visible no earlier `recorded_at` can appear.

The idempotency row is written first, before the lock: a racing duplicate
waits on its unique key until the first commits, then fails with an
IntegrityError instead of appending.

`insert_events` is the library's sequence without its pipeline, so that a
constraint violation always surfaces as the IntegrityError it is (in a
pipeline it may surface as "pipeline aborted", which the library would then
retry as a broken connection), and with a retry for broken connections only.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, Final
from uuid import UUID

import psycopg
from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed, Identifier

from storage.rows import IdempotencyRow, index_entries

__all__ = ["EVENTS_TABLE", "PostgresLedgerRecorder", "Tables"]

_CONNECTION_ATTEMPTS: Final = 3

EVENTS_TABLE: Final = "ledger_events"
# Any constant works: it only has to be the same in every process of a ledger.
_SCHEMA_LOCK_KEY: Final = 0x6661_6374_6C65_6467  # "factledg"


class Tables:
    """The ledger's tables, qualified with the configured schema."""

    def __init__(self, schema: str, events_table: str = EVENTS_TABLE) -> None:
        self.schema = Identifier(schema)
        self.events = Identifier(schema, events_table)
        self.index = Identifier(schema, "ledger_event_index")
        self.idempotency = Identifier(schema, "ledger_idempotency")
        self.api_keys = Identifier(schema, "api_keys")


def _create_statements(tables: Tables) -> list[Composed]:
    return [
        SQL(
            "CREATE TABLE IF NOT EXISTS {} ("
            " position bigint PRIMARY KEY,"
            " event_id uuid NOT NULL UNIQUE,"
            " claim_id uuid NOT NULL,"
            " version bigint NOT NULL,"
            " occurred_at_us bigint NOT NULL,"
            " recorded_at_us bigint NOT NULL,"
            " UNIQUE (claim_id, version))"
        ).format(tables.index),
        SQL(
            "CREATE TABLE IF NOT EXISTS {} ("
            " api_key_id text NOT NULL,"
            " method text NOT NULL,"
            " path text NOT NULL,"
            " idempotency_key text NOT NULL,"
            " request_hash text NOT NULL,"
            " event_id uuid NOT NULL,"
            " created_at_us bigint NOT NULL,"
            " PRIMARY KEY (api_key_id, method, path, idempotency_key))"
        ).format(tables.idempotency),
        SQL(
            "CREATE TABLE IF NOT EXISTS {} ("
            " key_id text PRIMARY KEY,"
            " name text NOT NULL,"
            " role text NOT NULL,"
            " secret_hash text NOT NULL,"
            " created_at_us bigint NOT NULL,"
            " revoked_at_us bigint)"
        ).format(tables.api_keys),
    ]


class PostgresLedgerRecorder(PostgresApplicationRecorder):
    def __init__(
        self, datastore: PostgresDatastore, *, events_table_name: str = EVENTS_TABLE
    ) -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        self.tables = Tables(self.datastore.schema, self.events_table_name)
        self.sql_create_statements.extend(_create_statements(self.tables))
        self._insert_idempotency = SQL(
            "INSERT INTO {} (api_key_id, method, path, idempotency_key, request_hash,"
            " event_id, created_at_us) VALUES (%s, %s, %s, %s, %s, %s, %s)"
        ).format(self.tables.idempotency)
        self._insert_index = SQL(
            "INSERT INTO {index} (position, event_id, claim_id, version, occurred_at_us,"
            " recorded_at_us)"
            " SELECT p.position, p.event_id, p.claim_id, p.version, p.occurred_at_us, t.now_us"
            " FROM unnest(%s::bigint[], %s::uuid[], %s::uuid[], %s::bigint[], %s::bigint[])"
            "  AS p(position, event_id, claim_id, version, occurred_at_us)"
            " CROSS JOIN (SELECT greatest("
            "   (extract(epoch FROM clock_timestamp()) * 1000000)::bigint,"
            "   coalesce((SELECT recorded_at_us FROM {index} ORDER BY position DESC LIMIT 1), 0)"
            "   + 1) AS now_us) AS t"
        ).format(index=self.tables.index)

    def create_table(self) -> None:
        """Creates the schema and every table once, even when processes start together."""
        with self.datastore.get_connection() as conn:
            conn.execute("SELECT pg_advisory_lock(%s)", (_SCHEMA_LOCK_KEY,))
            try:
                conn.execute(SQL("CREATE SCHEMA IF NOT EXISTS {}").format(self.tables.schema))
                super().create_table()
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (_SCHEMA_LOCK_KEY,))

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        for attempt in range(1, _CONNECTION_ATTEMPTS + 1):
            try:
                return self._insert_in_one_transaction(stored_events, kwargs.get("idempotency"))
            except (InterfaceError, OperationalError) as error:
                # Only a broken connection is worth another attempt; a lock
                # timeout or a cancelled statement is an answer.
                if attempt == _CONNECTION_ATTEMPTS or isinstance(
                    error.__cause__, psycopg.errors.LockNotAvailable | psycopg.errors.QueryCanceled
                ):
                    raise
                time.sleep(0.1 * attempt)
        raise AssertionError("unreachable")

    def _insert_in_one_transaction(
        self, stored_events: Sequence[StoredEvent], idempotency: IdempotencyRow | None
    ) -> list[int]:
        entries = index_entries(stored_events)
        with (
            self.datastore.get_connection() as conn,
            conn.transaction(),
            conn.cursor() as curs,
        ):
            if idempotency is not None:
                self._record_idempotency(curs, idempotency, entries[-1].event_id)
            self._lock_table(curs)
            self._notify_channel(curs)
            curs.execute(
                self.insert_events_statement,
                (
                    [
                        self.construct_pg_stored_event(
                            e.originator_id, e.originator_version, e.topic, e.state
                        )
                        for e in stored_events
                    ],
                ),
            )
            positions = [row["notification_id"] for row in curs.fetchall()]
            curs.execute(
                self._insert_index,
                (
                    positions,
                    [entry.event_id for entry in entries],
                    [entry.claim_id for entry in entries],
                    [entry.version for entry in entries],
                    [entry.occurred_at_us for entry in entries],
                ),
            )
        return positions

    def _record_idempotency(
        self, curs: Cursor[DictRow], idempotency: IdempotencyRow, event_id: UUID
    ) -> None:
        scope = idempotency.scope
        curs.execute(
            self._insert_idempotency,
            (
                scope.api_key_id,
                scope.method,
                scope.path,
                scope.key,
                idempotency.request_hash,
                event_id,
                time.time_ns() // 1000,
            ),
        )
