"""The PostgreSQL application recorder: the library's, appending a whole batch
of events, with the ledger's own rows, in one transaction and one round trip.

A batch is one call of the schema's `ledger_append` function (created with
the tables), which in its one transaction writes the Idempotency-Key rows,
takes the library's table lock (`LOCK TABLE … IN EXCLUSIVE MODE`, so
positions commit in order), NOTIFYs as the library does, and inserts the
events and their index rows. The index rows take `recorded_at` from the
database's clock (one clock for every host) after the lock, later than every
`recorded_at` already committed and one microsecond apart within the batch,
in position order: `recorded_at` therefore grows strictly with the
position, and once an event is visible no earlier `recorded_at` can appear.
Under the same lock each event takes the next leaf index, without a gap.

(A pipeline of the same statements took twice the wall time and three times
the client's CPU: psycopg's pipeline is Python; docs/benchmarks.md.)

The Idempotency-Key rows come before the lock: a racing duplicate in another
process waits on the key's unique index until the first commits, then is
refused, instead of waiting for the lock while holding the key.

Errors are classified, not guessed (`storage.errors`): a unique violation
names its constraint, which says whether a claim's version or a key was
taken; a lock not granted in time appended nothing; a connection that broke
once the batch was sent leaves the outcome unknown, and `find_appended`
looks the events up, after making sure the old session can no longer commit.
Only an ERROR that the server answered on a connection that lives on says
that nothing was appended: a connection lost, or a FATAL (a shutdown's),
may come after the commit.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any, Final
from uuid import UUID

import psycopg
from eventsourcing.persistence import PersistenceError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed, Identifier, Literal

from storage.errors import AppendRefused, CommitInterrupted, NotAppended, Refusal
from storage.mapper import new_events
from storage.postgres.pools import CHECKOUT_SECONDS, WritePool
from storage.rows import Appended, IdempotencyRow, NewEvent

__all__ = ["EVENTS_TABLE", "PostgresLedgerRecorder", "Tables"]

EVENTS_TABLE: Final = "ledger_events"
# Any constant works: it only has to be the same in every process of a ledger.
_SCHEMA_LOCK_KEY: Final = 0x6661_6374_6C65_6467  # "factledg"
# How long an unknown outcome waits for the old session to end.
_SESSION_END_SECONDS: Final = 5.0
_APPEND_FUNCTION: Final = "ledger_append"


class Tables:
    """The ledger's tables, qualified with the configured schema."""

    def __init__(self, schema: str, events_table: str = EVENTS_TABLE) -> None:
        self.schema_name = schema
        self.schema = Identifier(schema)
        self.events = Identifier(schema, events_table)
        self.index = Identifier(schema, "ledger_event_index")
        self.idempotency_name = "ledger_idempotency"
        self.idempotency = Identifier(schema, self.idempotency_name)
        self.api_keys = Identifier(schema, "api_keys")
        self.sessions = Identifier(schema, "ledger_sessions")
        self.meta = Identifier(schema, "ledger_meta")


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
            " leaf_index bigint NOT NULL,"
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
        SQL(
            "CREATE TABLE IF NOT EXISTS {} ("
            " token_hash text PRIMARY KEY,"
            " key_id text NOT NULL,"
            " created_at_us bigint NOT NULL,"
            " expires_at_us bigint NOT NULL)"
        ).format(tables.sessions),
        SQL("CREATE TABLE IF NOT EXISTS {} (name text PRIMARY KEY, value bigint NOT NULL)").format(
            tables.meta
        ),
    ]


class PostgresLedgerRecorder(PostgresApplicationRecorder):
    def __init__(
        self, datastore: PostgresDatastore, *, events_table_name: str = EVENTS_TABLE
    ) -> None:
        if not isinstance(datastore.pool, WritePool):
            WritePool.replacing(datastore)
        super().__init__(datastore, events_table_name=events_table_name)
        self.tables = Tables(self.datastore.schema, self.events_table_name)
        self.sql_create_statements.extend(_create_statements(self.tables))
        self._append_batch = SQL(
            "SELECT event_id, position, recorded_at_us, leaf_index FROM {}("
            "%s::uuid[], %s::bigint[], %s::text[], %s::bytea[], %s::uuid[], %s::bigint[],"
            " %s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::uuid[])"
        ).format(Identifier(self.tables.schema_name, _APPEND_FUNCTION))
        self._find_appended = SQL(
            "SELECT event_id, position, recorded_at_us, leaf_index FROM {} WHERE event_id = ANY(%s)"
        ).format(self.tables.index)

    def create_table(self) -> None:
        """Creates the schema and every table once, even when processes start together."""
        with self.datastore.get_connection() as conn:
            conn.execute("SELECT pg_advisory_lock(%s)", (_SCHEMA_LOCK_KEY,))
            try:
                conn.execute(SQL("CREATE SCHEMA IF NOT EXISTS {}").format(self.tables.schema))
                super().create_table()
                with conn.transaction():
                    self._upgrade(conn)
                    conn.execute(self._append_function())
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (_SCHEMA_LOCK_KEY,))

    def _upgrade(self, conn: psycopg.Connection[DictRow]) -> None:
        """Upgrades a ledger written by an earlier release, in the caller's
        transaction: the leaf indexes, dense by position, once; and
        `ledger_append` with its new result."""
        tables = self.tables
        found = conn.execute(
            "SELECT 1 FROM information_schema.columns WHERE table_schema = %s"
            " AND table_name = 'ledger_event_index' AND column_name = 'leaf_index'",
            (tables.schema_name,),
        ).fetchone()
        if found is None:
            # No append of an older process can slip in between (it would have no leaf).
            conn.execute(SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(tables.events))
            conn.execute(SQL("ALTER TABLE {} ADD COLUMN leaf_index bigint").format(tables.index))
            conn.execute(
                SQL(
                    "UPDATE {index} x SET leaf_index = dense.leaf FROM ("
                    " SELECT position, row_number() OVER (ORDER BY position) - 1 AS leaf"
                    " FROM {index}) dense WHERE dense.position = x.position"
                ).format(index=tables.index)
            )
            conn.execute(
                SQL("ALTER TABLE {} ALTER COLUMN leaf_index SET NOT NULL").format(tables.index)
            )
        conn.execute(
            SQL("CREATE UNIQUE INDEX IF NOT EXISTS ledger_event_leaf ON {} (leaf_index)").format(
                tables.index
            )
        )
        result = conn.execute(
            "SELECT pg_get_function_result(p.oid) AS result FROM pg_proc p"
            " JOIN pg_namespace n ON n.oid = p.pronamespace"
            " WHERE n.nspname = %s AND p.proname = %s",
            (tables.schema_name, _APPEND_FUNCTION),
        ).fetchone()
        if result is not None and "leaf_index" not in result["result"]:
            # Its result changes, which CREATE OR REPLACE cannot do.
            conn.execute(
                SQL(
                    "DROP FUNCTION {}(uuid[], bigint[], text[], bytea[], uuid[], bigint[],"
                    " text[], text[], text[], text[], text[], uuid[])"
                ).format(Identifier(tables.schema_name, _APPEND_FUNCTION))
            )

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
        try:
            with self.datastore.get_connection() as conn:
                return self._append(conn, events, keys)
        except PersistenceError as error:
            # The library's wrapping of a failure to get a connection: nothing was sent.
            raise NotAppended(str(error)) from error

    def _append(
        self,
        conn: psycopg.Connection[DictRow],
        events: Sequence[NewEvent],
        keys: Sequence[IdempotencyRow],
    ) -> list[Appended]:
        session = conn.info.backend_pid
        try:
            rows = conn.execute(self._append_batch, _batch_params(events, keys)).fetchall()
        except psycopg.errors.UniqueViolation as error:
            refusal = (
                Refusal.KEY_USED
                if error.diag.table_name == self.tables.idempotency_name
                else Refusal.VERSION_TAKEN
            )
            raise AppendRefused(refusal, str(error.diag.message_detail)) from error
        except psycopg.Error as error:
            if _rolled_back(conn, error):
                raise NotAppended(str(error)) from error
            raise CommitInterrupted(str(error), session) from error
        by_id = {row["event_id"]: row for row in rows}
        return [
            Appended(
                event.event_id,
                by_id[event.event_id]["position"],
                by_id[event.event_id]["recorded_at_us"],
                by_id[event.event_id]["leaf_index"],
            )
            for event in events
        ]

    def _append_function(self) -> Composed:
        """`ledger_append`: one batch in one call, so in one round trip."""
        return SQL(
            "CREATE OR REPLACE FUNCTION {function}("
            " claims uuid[], versions bigint[], topics text[], states bytea[],"
            " event_ids uuid[], occurred bigint[],"
            " key_api_keys text[], key_methods text[], key_paths text[], key_keys text[],"
            " key_hashes text[], key_event_ids uuid[])"
            ' RETURNS TABLE (event_id uuid, "position" bigint, recorded_at_us bigint,'
            " leaf_index bigint)"
            " LANGUAGE plpgsql SET lock_timeout = {lock_timeout} AS $function$"
            " DECLARE now_us bigint; last_us bigint; last_leaf bigint;"
            " BEGIN"
            # Keys first, before the lock: a racing duplicate then waits on the
            # key's unique index, never holding the lock while it waits.
            "  INSERT INTO {keys} (api_key_id, method, path, idempotency_key, request_hash,"
            "   event_id, created_at_us)"
            "  SELECT k.*, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint"
            "  FROM unnest(key_api_keys, key_methods, key_paths, key_keys, key_hashes,"
            "   key_event_ids) AS k;"
            "  LOCK TABLE {events} IN EXCLUSIVE MODE;"
            "  PERFORM pg_notify({channel}, '');"
            "  SELECT i.recorded_at_us, i.leaf_index INTO last_us, last_leaf"
            "   FROM {index} i ORDER BY i.position DESC LIMIT 1;"
            "  now_us := greatest((extract(epoch FROM clock_timestamp()) * 1000000)::bigint,"
            "   coalesce(last_us, 0) + 1);"
            "  RETURN QUERY"
            "  WITH inserted AS ("
            "   INSERT INTO {events} (originator_id, originator_version, topic, state)"
            "   SELECT * FROM unnest(claims, versions, topics, states)"
            "   RETURNING notification_id, originator_id, originator_version"
            "  ), indexed AS ("
            "   INSERT INTO {index} AS x (position, event_id, claim_id, version,"
            "    occurred_at_us, recorded_at_us, leaf_index)"
            "   SELECT i.notification_id, n.event_id, i.originator_id, i.originator_version,"
            "    n.occurred_at_us, now_us + row_number() OVER (ORDER BY i.notification_id) - 1,"
            "    coalesce(last_leaf, -1) + row_number() OVER (ORDER BY i.notification_id)"
            "   FROM inserted i JOIN unnest(claims, versions, event_ids, occurred)"
            "    AS n(claim_id, version, event_id, occurred_at_us)"
            "    ON n.claim_id = i.originator_id AND n.version = i.originator_version"
            "   RETURNING x.event_id, x.position, x.recorded_at_us, x.leaf_index"
            "  ) SELECT * FROM indexed;"
            " END $function$"
        ).format(
            function=Identifier(self.tables.schema_name, _APPEND_FUNCTION),
            lock_timeout=Literal(f"{self.datastore.lock_timeout}s"),
            keys=self.tables.idempotency,
            events=self.tables.events,
            channel=Literal(self.channel_name),
            index=self.tables.index,
        )

    def find_appended(
        self, event_ids: Sequence[UUID], session: int | None, within: float = CHECKOUT_SECONDS
    ) -> list[Appended]:
        """The events among these that were appended. Called after an unknown
        outcome: the session that sent them (a server process id) is ended first
        if it is still there, so that an event not found now is never found later.

        Answers, or raises the database's error, within about `within` seconds
        (a connection is waited for no longer)."""
        deadline = time.monotonic() + within
        with self.datastore.pool.connection(timeout=max(within, 0.01)) as conn:
            if session is not None:
                self._end_session(conn, session, deadline)
            rows = conn.execute(self._find_appended, (list(event_ids),)).fetchall()
        return [
            Appended(row["event_id"], row["position"], row["recorded_at_us"], row["leaf_index"])
            for row in rows
        ]

    def _end_session(self, conn: psycopg.Connection[DictRow], pid: int, deadline: float) -> None:
        # The application name is this process's own, so that a server process
        # id reused meanwhile by someone else's session is never ended.
        session = SQL("FROM pg_stat_activity WHERE pid = %s AND application_name = %s")
        params = (pid, self.application_name)
        conn.execute(SQL("SELECT pg_terminate_backend(pid) ") + session, params)
        deadline = min(deadline, time.monotonic() + _SESSION_END_SECONDS)
        while conn.execute(SQL("SELECT 1 ") + session, params).fetchone() is not None:
            if time.monotonic() > deadline:
                raise CommitInterrupted("the session that sent the batch has not ended", pid)
            time.sleep(0.02)

    @property
    def application_name(self) -> str:
        """This process's name on its connections (`name_connections`)."""
        kwargs = self.datastore.pool.kwargs
        assert isinstance(kwargs, dict)
        return str(kwargs.get("application_name", ""))

    def name_connections(self, application_name: str) -> None:
        """Names every connection this recorder opens from now on."""
        kwargs = self.datastore.pool.kwargs
        assert isinstance(kwargs, dict)
        kwargs["application_name"] = application_name
        # Those opened before (creating the tables) are replaced: an unknown
        # outcome's session is found by this name, to be ended before the lookup.
        self.datastore.pool.drain()


def _rolled_back(conn: psycopg.Connection[DictRow], error: psycopg.Error) -> bool:
    """Whether the server refused the batch's call and the connection lives on:
    an ERROR (a lock not granted in time, a statement cancelled, ...) rolls the
    call's one transaction back, and the server said so. Anything else (the
    connection broken or closed, a FATAL such as a shutdown's, an error without
    a SQLSTATE) may have come after the commit: its outcome is unknown."""
    return (
        not (conn.broken or conn.closed)
        and error.sqlstate is not None
        and error.diag.severity_nonlocalized == "ERROR"
        and conn.info.transaction_status is psycopg.pq.TransactionStatus.IDLE
    )


def _batch_params(events: Sequence[NewEvent], keys: Sequence[IdempotencyRow]) -> tuple[Any, ...]:
    """The events as array literals (psycopg adapts a list item by item, in
    Python, which cost more than the whole insert), the keys as lists."""
    return (
        array_literal(str(event.claim_id) for event in events),
        array_literal(str(event.version) for event in events),
        array_literal(quoted(event.stored.topic) for event in events),
        array_literal(f'"\\\\x{event.stored.state.hex()}"' for event in events),
        array_literal(str(event.event_id) for event in events),
        array_literal(str(event.occurred_at_us) for event in events),
        [key.scope.api_key_id for key in keys],
        [key.scope.method for key in keys],
        [key.scope.path for key in keys],
        [key.scope.key for key in keys],
        [key.request_hash for key in keys],
        [key.event_id for key in keys],
    )


def array_literal(elements: Iterable[str]) -> str:
    """A PostgreSQL array's text form, of elements already in their own text form."""
    return "{" + ",".join(elements) + "}"


def quoted(text: str) -> str:
    """A text array element, quoted (any character is then safe)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
