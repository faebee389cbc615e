"""The ledger's reads on PostgreSQL (see `storage.queries` for what each answers)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.postgres import PostgresDatastore
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed

from storage.postgres.recorder import Tables
from storage.rows import ApiKeyRow, EventRow, IdempotencyRow, IdempotencyScope

__all__ = ["PostgresEventQueries", "PostgresKeyQueries"]


def _event_row(row: DictRow) -> EventRow:
    return EventRow(
        position=row["position"],
        claim_id=row["claim_id"],
        version=row["version"],
        topic=row["topic"],
        state=bytes(row["state"]),
        recorded_at_us=row["recorded_at_us"],
    )


class _Reader:
    def __init__(self, datastore: PostgresDatastore, tables: Tables) -> None:
        self.datastore = datastore
        self.tables = tables

    def _all(self, statement: Composed | SQL, params: tuple[Any, ...] = ()) -> list[DictRow]:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement, params, prepare=True)
            return curs.fetchall()


class PostgresEventQueries(_Reader):
    def __init__(self, datastore: PostgresDatastore, tables: Tables) -> None:
        super().__init__(datastore, tables)
        self._select_events = SQL(
            "SELECT i.position, i.claim_id, i.version, e.topic, e.state, i.recorded_at_us"
            " FROM {index} i JOIN {events} e ON e.notification_id = i.position"
        ).format(index=tables.index, events=tables.events)

    def ping(self) -> None:
        self._all(SQL("SELECT 1"))

    def head(self) -> tuple[int, int] | None:
        rows = self._all(
            SQL("SELECT position, recorded_at_us FROM {} ORDER BY position DESC LIMIT 1").format(
                self.tables.index
            )
        )
        return (rows[0]["position"], rows[0]["recorded_at_us"]) if rows else None

    def claim_rows(self, claim_id: UUID, recorded_until_us: int) -> list[EventRow]:
        rows = self._all(
            self._select_events
            + SQL(" WHERE i.claim_id = %s AND i.recorded_at_us <= %s ORDER BY i.version"),
            (claim_id, recorded_until_us),
        )
        return [_event_row(row) for row in rows]

    def rows_after(self, after: int, limit: int) -> list[EventRow]:
        rows = self._all(
            # The bound on both sides of the join: with it on the index alone,
            # PostgreSQL may merge-join from the first event (O(after)).
            self._select_events
            + SQL(" WHERE i.position > %s AND e.notification_id > %s ORDER BY i.position LIMIT %s"),
            (after, after, limit),
        )
        return [_event_row(row) for row in rows]

    def histories(self, claim_ids: Sequence[UUID], until_position: int) -> list[EventRow]:
        rows = self._all(
            self._select_events
            + SQL(" WHERE i.claim_id = ANY(%s) AND i.position <= %s")
            + SQL(" ORDER BY i.claim_id, i.version"),
            (list(claim_ids), until_position),
        )
        return [_event_row(row) for row in rows]

    def all_by_claim(self, until_position: int) -> Iterator[EventRow]:
        # A server-side cursor in one read-only transaction: a consistent
        # snapshot, fetched a thousand rows at a time.
        statement = self._select_events + SQL(
            " WHERE i.position <= %s ORDER BY i.claim_id, i.version"
        )
        with (
            self.datastore.get_connection() as conn,
            conn.transaction(),
            conn.cursor(name="factledger_all_by_claim") as curs,
        ):
            curs.itersize = 1000
            curs.execute(statement, (until_position,))
            yield from (_event_row(row) for row in curs)

    def count_after(self, position: int) -> int:
        rows = self._all(
            SQL("SELECT count(*) AS n FROM {} WHERE position > %s").format(self.tables.index),
            (position,),
        )
        return int(rows[0]["n"])

    def row_by_event_id(self, event_id: UUID) -> EventRow | None:
        rows = self._all(self._select_events + SQL(" WHERE i.event_id = %s"), (event_id,))
        return _event_row(rows[0]) if rows else None

    def row_by_position(self, position: int) -> EventRow | None:
        rows = self._all(self._select_events + SQL(" WHERE i.position = %s"), (position,))
        return _event_row(rows[0]) if rows else None

    def idempotent_write(self, scope: IdempotencyScope) -> IdempotencyRow | None:
        rows = self._all(
            SQL(
                "SELECT request_hash, event_id FROM {} WHERE api_key_id = %s AND method = %s"
                " AND path = %s AND idempotency_key = %s"
            ).format(self.tables.idempotency),
            (scope.api_key_id, scope.method, scope.path, scope.key),
        )
        if not rows:
            return None
        return IdempotencyRow(
            scope=scope, request_hash=rows[0]["request_hash"], event_id=rows[0]["event_id"]
        )


class PostgresKeyQueries(_Reader):
    _COLUMNS = SQL("key_id, name, role, secret_hash, created_at_us, revoked_at_us")

    def insert_key(self, row: ApiKeyRow) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                SQL("INSERT INTO {} ({}) VALUES (%s, %s, %s, %s, %s, %s)").format(
                    self.tables.api_keys, self._COLUMNS
                ),
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
            SQL("SELECT {} FROM {} ORDER BY created_at_us").format(
                self._COLUMNS, self.tables.api_keys
            )
        )
        return [ApiKeyRow(**row) for row in rows]

    def find_key(self, key_id: str) -> ApiKeyRow | None:
        rows = self._all(
            SQL("SELECT {} FROM {} WHERE key_id = %s").format(self._COLUMNS, self.tables.api_keys),
            (key_id,),
        )
        return ApiKeyRow(**rows[0]) if rows else None

    def revoke_key(self, key_id: str, revoked_at_us: int) -> bool:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                SQL(
                    "UPDATE {} SET revoked_at_us = %s WHERE key_id = %s AND revoked_at_us IS NULL"
                ).format(self.tables.api_keys),
                (revoked_at_us, key_id),
            )
            return curs.rowcount == 1
