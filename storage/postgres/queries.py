"""The ledger's reads on PostgreSQL (see `storage.queries` for what each answers)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Final
from uuid import UUID

import psycopg
from eventsourcing.persistence import OperationalError
from eventsourcing.postgres import PostgresDatastore
from psycopg import capabilities
from psycopg.rows import DictRow, tuple_row
from psycopg.sql import SQL, Composed, Identifier

from storage.postgres.pools import dead_connection
from storage.postgres.recorder import Tables
from storage.queries import ClaimRows, Head
from storage.rows import ApiKeyRow, EventRow, IdempotencyRow, IdempotencyScope, SessionRow

__all__ = ["KEYS_GENERATION", "PostgresEventQueries", "PostgresKeyQueries", "keys_channel"]

KEYS_GENERATION: Final = "keys_generation"
PING_SECONDS: Final = 1.0
"""How long readiness waits for a connection: an outage is told at once, not after a checkout."""

_STREAM_CHUNK: Final = 1_000 if capabilities.has_stream_chunked() else 1
"""Rows a stream takes from libpq at a time (chunks need libpq 17 or later)."""


def keys_channel(schema: str) -> str:
    """The channel a change of keys is announced on, for the processes that cache them."""
    return f"factledger_keys_{schema}"


def event_row(row: DictRow) -> EventRow:
    return EventRow(
        position=row["position"],
        claim_id=row["claim_id"],
        version=row["version"],
        topic=row["topic"],
        state=bytes(row["state"]),
        recorded_at_us=row["recorded_at_us"],
        occurred_at_us=row["occurred_at_us"],
        leaf_index=row["leaf_index"],
    )


class EventStatements:
    """The statements of the event reads, shared by the blocking and the async readers."""

    def __init__(self, tables: Tables) -> None:
        self.tables = tables
        self.select_events = SQL(
            "SELECT i.position, i.claim_id, i.version, e.topic, e.state, i.recorded_at_us,"
            " i.occurred_at_us, i.leaf_index"
            " FROM {index} i JOIN {events} e ON e.notification_id = i.position"
        ).format(index=tables.index, events=tables.events)
        self.head = SQL(
            "SELECT position, recorded_at_us FROM {} ORDER BY position DESC LIMIT 1"
        ).format(tables.index)
        self.claim_rows = SQL(
            "WITH head AS ({head})"
            " SELECT head.position AS head_position, head.recorded_at_us AS head_recorded_at_us,"
            " r.* FROM head LEFT JOIN LATERAL ("
            "  {select} WHERE i.claim_id = %s AND i.version > %s ORDER BY i.version"
            " ) r ON true"
        ).format(head=self.head, select=self.select_events)

    @staticmethod
    def claim_rows_of(rows: list[DictRow]) -> ClaimRows:
        if not rows:
            return ClaimRows(head=None, rows=[])
        head = Head(rows[0]["head_position"], rows[0]["head_recorded_at_us"])
        return ClaimRows(
            head=head, rows=[event_row(row) for row in rows if row["position"] is not None]
        )


class _DeadConnection(Exception):
    """A read's connection was gone: it is tried once more."""


class _Reader:
    def __init__(self, datastore: PostgresDatastore, tables: Tables) -> None:
        self.datastore = datastore
        self.tables = tables

    def _all(self, statement: Composed | SQL, params: Sequence[Any] = ()) -> list[DictRow]:
        """The statement's rows; tried once more when its connection was dead
        (idle in the pool while the server restarted)."""
        try:
            return self._once(statement, params)
        except _DeadConnection:
            return self._once(statement, params, last=True)

    def _once(
        self, statement: Composed | SQL, params: Sequence[Any], *, last: bool = False
    ) -> list[DictRow]:
        dead = False
        try:
            with self.datastore.get_connection() as conn, conn.cursor() as curs:
                try:
                    curs.execute(statement, params, prepare=True)
                    return curs.fetchall()
                except psycopg.OperationalError:
                    dead = dead_connection(conn)
                    raise
        except OperationalError as error:  # the library's wrapping of psycopg's
            if dead and not last:
                raise _DeadConnection from error
            raise


class PostgresEventQueries(_Reader):
    def __init__(self, datastore: PostgresDatastore, tables: Tables) -> None:
        super().__init__(datastore, tables)
        self.statements = EventStatements(tables)

    def ping(self) -> None:
        """Raises the database's error, within a second or two, when it cannot
        be reached (a connection is waited for no longer than `PING_SECONDS`)."""
        with self.datastore.pool.connection(timeout=PING_SECONDS) as conn:
            conn.execute("SELECT 1")

    def head(self) -> Head | None:
        rows = self._all(self.statements.head)
        return Head(rows[0]["position"], rows[0]["recorded_at_us"]) if rows else None

    def claim_rows(self, claim_id: UUID, after_version: int) -> ClaimRows:
        return self.statements.claim_rows_of(
            self._all(self.statements.claim_rows, (claim_id, after_version))
        )

    def claims_rows(self, claim_ids: Sequence[UUID], until_position: int) -> list[EventRow]:
        rows = self._all(
            self.statements.select_events
            + SQL(" WHERE i.claim_id = ANY(%s) AND i.position <= %s")
            + SQL(" ORDER BY i.claim_id, i.version"),
            (list(claim_ids), until_position),
        )
        return [event_row(row) for row in rows]

    def rows_from_leaf(self, leaf_index: int, limit: int) -> list[EventRow]:
        rows = self._all(
            self.statements.select_events
            + SQL(" WHERE i.leaf_index >= %s ORDER BY i.leaf_index LIMIT %s"),
            (leaf_index, limit),
        )
        return [event_row(row) for row in rows]

    def claim_versions(self, claim_ids: Sequence[UUID]) -> dict[UUID, int]:
        rows = self._all(
            SQL(
                "SELECT claim_id, max(version) AS version FROM {}"
                " WHERE claim_id = ANY(%s) GROUP BY claim_id"
            ).format(self.tables.index),
            (list(claim_ids),),
        )
        return {row["claim_id"]: row["version"] for row in rows}

    def rows_after(self, after: int, limit: int) -> list[EventRow]:
        rows = self._all(
            # The bound on both sides of the join: with it on the index alone,
            # PostgreSQL may merge-join from the first event (O(after)).
            self.statements.select_events
            + SQL(" WHERE i.position > %s AND e.notification_id > %s ORDER BY i.position LIMIT %s"),
            (after, after, limit),
        )
        return [event_row(row) for row in rows]

    def all_by_claim(
        self, until_position: int, lower: UUID | None = None, upper: UUID | None = None
    ) -> Iterator[EventRow]:
        # One query streamed (libpq's chunked mode where it has one, else row by
        # row): one snapshot, constant memory, and rows parsed in C; a
        # server-side cursor fetching pages, or COPY read row by row, parsed
        # about half as fast.
        conditions = [SQL("i.position <= %s")]
        params: list[Any] = [until_position]
        if lower is not None:
            conditions.append(SQL("i.claim_id >= %s"))
            params.append(lower)
        if upper is not None:
            conditions.append(SQL("i.claim_id < %s"))
            params.append(upper)
        statement = (
            self.statements.select_events
            + SQL(" WHERE ")
            + SQL(" AND ").join(conditions)
            + SQL(" ORDER BY i.claim_id, i.version")
        )
        with self.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as curs:
            for position, claim_id, version, topic, state, recorded, occurred, leaf in curs.stream(
                statement, params, binary=True, size=_STREAM_CHUNK
            ):
                yield EventRow(position, claim_id, version, topic, state, recorded, occurred, leaf)

    def count_after(self, position: int) -> int:
        rows = self._all(
            SQL("SELECT count(*) AS n FROM {} WHERE position > %s").format(self.tables.index),
            (position,),
        )
        return int(rows[0]["n"])

    def row_by_event_id(self, event_id: UUID) -> EventRow | None:
        rows = self._all(self.statements.select_events + SQL(" WHERE i.event_id = %s"), (event_id,))
        return event_row(rows[0]) if rows else None

    def rows_by_event_ids(self, event_ids: Sequence[UUID]) -> list[EventRow]:
        if not event_ids:
            return []
        rows = self._all(
            self.statements.select_events + SQL(" WHERE i.event_id = ANY(%s)"), (list(event_ids),)
        )
        return [event_row(row) for row in rows]

    def idempotent_writes(
        self, scopes: Sequence[IdempotencyScope]
    ) -> dict[IdempotencyScope, IdempotencyRow]:
        if not scopes:
            return {}
        rows = self._all(
            SQL(
                "SELECT k.api_key_id, k.method, k.path, k.idempotency_key, k.request_hash,"
                " k.event_id FROM {} k JOIN unnest(%s::text[], %s::text[], %s::text[],"
                " %s::text[]) AS s(api_key_id, method, path, idempotency_key)"
                " USING (api_key_id, method, path, idempotency_key)"
            ).format(self.tables.idempotency),
            (
                [scope.api_key_id for scope in scopes],
                [scope.method for scope in scopes],
                [scope.path for scope in scopes],
                [scope.key for scope in scopes],
            ),
        )
        found = {}
        for row in rows:
            scope = IdempotencyScope(
                row["api_key_id"], row["method"], row["path"], row["idempotency_key"]
            )
            found[scope] = IdempotencyRow(scope, row["request_hash"], row["event_id"])
        return found


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
            self._announce(curs)

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
            revoked = curs.rowcount == 1
            if revoked:
                self._announce(curs)
            return revoked

    def generation(self) -> int:
        rows = self._all(
            SQL("SELECT value FROM {} WHERE name = %s").format(self.tables.meta),
            (KEYS_GENERATION,),
        )
        return int(rows[0]["value"]) if rows else 0

    def insert_session(self, row: SessionRow) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                SQL(
                    "INSERT INTO {} (token_hash, key_id, created_at_us, expires_at_us)"
                    " VALUES (%s, %s, %s, %s)"
                ).format(self.tables.sessions),
                (row.token_hash, row.key_id, row.created_at_us, row.expires_at_us),
            )

    def find_session(self, token_hash: str, now_us: int) -> ApiKeyRow | None:
        rows = self._all(
            SQL(
                "SELECT k.key_id, k.name, k.role, k.secret_hash, k.created_at_us, k.revoked_at_us"
                " FROM {} s JOIN {} k ON k.key_id = s.key_id"
                " WHERE s.token_hash = %s AND s.expires_at_us > %s AND k.revoked_at_us IS NULL"
            ).format(self.tables.sessions, self.tables.api_keys),
            (token_hash, now_us),
        )
        return ApiKeyRow(**rows[0]) if rows else None

    def delete_session(self, token_hash: str) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                SQL("DELETE FROM {} WHERE token_hash = %s").format(self.tables.sessions),
                (token_hash,),
            )

    def delete_sessions_ended(self, now_us: int) -> int:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                SQL("DELETE FROM {} WHERE expires_at_us <= %s").format(self.tables.sessions),
                (now_us,),
            )
            return int(curs.rowcount)

    def _announce(self, curs: Any) -> None:
        """A new generation of keys, in the change's own transaction; the
        notification is delivered when it commits."""
        curs.execute(
            SQL(
                "INSERT INTO {} AS m (name, value) VALUES (%s, 1)"
                " ON CONFLICT (name) DO UPDATE SET value = m.value + 1"
            ).format(self.tables.meta),
            (KEYS_GENERATION,),
        )
        curs.execute(SQL("NOTIFY {}").format(Identifier(keys_channel(self.tables.schema_name))))
