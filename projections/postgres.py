"""The read models on PostgreSQL: plain tables, and a `tsvector` with a GIN
index for `q`.

The tracking position lives in the library's tracking table
(`read_model_tracking`), written in the same transaction as the rows
(`PostgresTrackingRecorder._insert_tracking`, which refuses to move it
backwards or to repeat it).

The `tsvector` is built with `array_to_tsvector` from the words of
`projections.words`, and queries are `tsquery` literals of those words:
PostgreSQL's own parser, dictionaries and stemming never apply.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final
from uuid import UUID

from eventsourcing.persistence import Tracking
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composable, Composed, Identifier

from projections.columns import (
    CHANGE_COLUMNS,
    CLAIM_COLUMNS,
    change_from_row,
    change_values,
    claim_from_row,
    claim_values,
)
from projections.read_models import (
    LIVE,
    REBUILD,
    Batch,
    ChangeFilter,
    ChangeKey,
    ClaimFilter,
    TableSet,
    changes_start,
)
from projections.records import ChangeRecord, ClaimProjection, ClaimRecord

__all__ = ["TRACKING_TABLE", "PostgresReadModels"]

TRACKING_TABLE: Final = "read_model_tracking"
_BASES: Final = ("claims", "claim_tags", "verdict_changes")
# Serialises creating the tables between processes that start together.
_CREATE_LOCK_KEY: Final = 0x6661_6374_726D_6372  # "factrmcr"


def _same(value: UUID) -> UUID:
    return value


class PostgresReadModels(PostgresTrackingRecorder):
    def __init__(self, datastore: PostgresDatastore) -> None:
        super().__init__(datastore, tracking_table_name=TRACKING_TABLE)
        self.schema = datastore.schema
        self._claim_columns = SQL(", ").join(map(Identifier, CLAIM_COLUMNS))
        self._change_columns = SQL(", ").join(map(Identifier, CHANGE_COLUMNS))
        self._rebuild_indexes: list[Composed] = []

    def _table(self, tables: TableSet, base: str) -> Identifier:
        return Identifier(self.schema, tables.table(base))

    def _create_statements(self, tables: TableSet) -> tuple[list[Composed], list[Composed]]:
        """The tables, and their keys and indexes: a rebuild loads the tables
        first and indexes them once, which is much faster than row by row."""
        claims, tags, changes = (self._table(tables, base) for base in _BASES)
        # Index and constraint names are unique per schema and stay with a
        # renamed table, so each generation of tables gets its own.
        token = secrets.token_hex(4)

        def named(name: str) -> Identifier:
            return Identifier(f"{name}_{token}")

        create = [
            SQL(
                "CREATE TABLE {} ("
                " position bigint NOT NULL,"
                " claim_id uuid NOT NULL,"
                " text text NOT NULL,"
                " claimant_name text NOT NULL,"
                " claimant text NOT NULL,"
                " tags text NOT NULL,"
                " verdict text NOT NULL,"
                " verdict_since_us bigint NOT NULL,"
                " version bigint NOT NULL,"
                " last_position bigint NOT NULL,"
                " rebuttals integer NOT NULL,"
                " evidence_supports integer NOT NULL,"
                " evidence_refutes integer NOT NULL,"
                " evidence_context integer NOT NULL,"
                " verifications integer NOT NULL,"
                " search tsvector NOT NULL)"
            ).format(claims),
            SQL("CREATE TABLE {} (tag text NOT NULL, position bigint NOT NULL)").format(tags),
            SQL(
                "CREATE TABLE {} ("
                " position bigint NOT NULL,"
                " claim_id uuid NOT NULL,"
                " from_verdict text,"
                " to_verdict text NOT NULL,"
                " occurred_at_us bigint NOT NULL,"
                " recorded_at_us bigint NOT NULL,"
                " event_id uuid NOT NULL,"
                " version bigint NOT NULL,"
                " actor_id text NOT NULL,"
                " actor text NOT NULL,"
                " reason text)"
            ).format(changes),
        ]
        index = [
            SQL("ALTER TABLE {} ADD CONSTRAINT {} PRIMARY KEY (position)").format(
                claims, named("claims_pkey")
            ),
            SQL("ALTER TABLE {} ADD CONSTRAINT {} UNIQUE (claim_id)").format(
                claims, named("claims_claim_id")
            ),
            SQL("CREATE INDEX {} ON {} (verdict, position)").format(
                named("claims_verdict"), claims
            ),
            SQL("CREATE INDEX {} ON {} (claimant_name, position)").format(
                named("claims_claimant"), claims
            ),
            SQL("CREATE INDEX {} ON {} USING gin (search)").format(named("claims_search"), claims),
            SQL("ALTER TABLE {} ADD CONSTRAINT {} PRIMARY KEY (tag, position)").format(
                tags, named("claim_tags_pkey")
            ),
            SQL("CREATE INDEX {} ON {} (position)").format(named("claim_tags_position"), tags),
            SQL("ALTER TABLE {} ADD CONSTRAINT {} PRIMARY KEY (position)").format(
                changes, named("verdict_changes_pkey")
            ),
            SQL("CREATE INDEX {} ON {} (occurred_at_us, position)").format(
                named("changes_occurred"), changes
            ),
            SQL("CREATE INDEX {} ON {} (to_verdict, occurred_at_us, position)").format(
                named("changes_to"), changes
            ),
            SQL("CREATE INDEX {} ON {} (actor_id, occurred_at_us, position)").format(
                named("changes_actor"), changes
            ),
            SQL("CREATE INDEX {} ON {} (claim_id)").format(named("changes_claim"), changes),
        ]
        return create, index

    # --- schema -------------------------------------------------------------

    def create_tables(self) -> None:
        # Processes that start together would race on CREATE TABLE IF NOT EXISTS.
        with self.datastore.get_connection() as conn:
            conn.execute("SELECT pg_advisory_lock(%s)", (_CREATE_LOCK_KEY,))
            try:
                self.create_table()  # the library's tracking table
                self._create_live_tables()
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (_CREATE_LOCK_KEY,))

    def _create_live_tables(self) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute("SELECT to_regclass(%s) AS found", (f"{self.schema}.claims",))
            row = curs.fetchone()
            if row is not None and row["found"] is not None:
                return
            create, index = self._create_statements(LIVE)
            for statement in (*create, *index):
                curs.execute(statement)

    # --- tracking -------------------------------------------------------------

    def position(self, tables: TableSet = LIVE) -> int:
        return self.max_tracking_id(tables.tracking_name) or 0

    def max_tracking_id(self, application_name: str) -> int | None:
        """The library's, without its retries (ten, each as long as a pool's
        checkout: a request must be answered within SPEC §4's bound)."""
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            return self._max_tracking_id(application_name, curs)

    # --- writes ---------------------------------------------------------------

    def apply(self, batch: Batch, tables: TableSet = LIVE) -> None:
        with self.datastore.transaction(commit=True) as curs:
            self._write(curs, batch.projections, tables, replace=True)
            self._insert_tracking(curs, Tracking(tables.tracking_name, batch.end))

    def _write(
        self,
        curs: Cursor[DictRow],
        projections: Sequence[ClaimProjection],
        tables: TableSet,
        *,
        replace: bool,
    ) -> None:
        if not projections:
            return
        claims, tags, changes = (self._table(tables, base) for base in _BASES)
        if replace:
            positions = [p.claim.position for p in projections]
            curs.execute(SQL("DELETE FROM {} WHERE position = ANY(%s)").format(tags), (positions,))
            starts = [changes_start(p) for p in projections]
            curs.execute(
                SQL(
                    "DELETE FROM {} c USING unnest(%s::uuid[], %s::bigint[], %s::bigint[])"
                    " AS d(claim_id, occurred_at_us, version) WHERE c.claim_id = d.claim_id"
                    " AND (c.occurred_at_us, c.version) >= (d.occurred_at_us, d.version)"
                ).format(changes),
                (
                    [p.claim.claim_id for p in projections],
                    [start[0] for start in starts],
                    [start[1] for start in starts],
                ),
            )
        placeholders = SQL(", ").join(SQL("%s") for _ in CLAIM_COLUMNS)
        insert = SQL(
            "INSERT INTO {} ({}, search) VALUES ({}, array_to_tsvector(%s::text[]))"
        ).format(claims, self._claim_columns, placeholders)
        if replace:
            # (Tables being loaded by a rebuild have no keys yet, and need none.)
            insert += SQL(" ON CONFLICT (position) DO UPDATE SET ") + SQL(", ").join(
                SQL("{0} = excluded.{0}").format(Identifier(column))
                for column in (*CLAIM_COLUMNS[1:], "search")
            )
        curs.executemany(
            insert,
            [(*claim_values(p.claim, _same), list(p.claim.words)) for p in projections],
        )
        tag_rows = [(tag, p.claim.position) for p in projections for tag in p.claim.tags]
        if tag_rows:
            curs.executemany(
                SQL("INSERT INTO {} (tag, position) VALUES (%s, %s)").format(tags), tag_rows
            )
        change_rows = [change_values(c, _same) for p in projections for c in p.changes]
        if change_rows:
            curs.executemany(
                SQL("INSERT INTO {} ({}) VALUES ({})").format(
                    changes,
                    self._change_columns,
                    SQL(", ").join(SQL("%s") for _ in CHANGE_COLUMNS),
                ),
                change_rows,
            )

    # --- rebuild --------------------------------------------------------------

    def begin_rebuild(self) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                SQL("DELETE FROM {} WHERE application_name = %s").format(
                    Identifier(self.schema, TRACKING_TABLE)
                ),
                (REBUILD.tracking_name,),
            )
            for base in _BASES:
                curs.execute(SQL("DROP TABLE IF EXISTS {}").format(self._table(REBUILD, base)))
            create, self._rebuild_indexes = self._create_statements(REBUILD)
            for statement in create:
                curs.execute(statement)

    def load_rebuild(self, projections: Sequence[ClaimProjection]) -> None:
        # COPY: the tables have no keys or indexes yet, and COPY is the
        # fastest way in (an executemany was half of a rebuild's time).
        claims, tags, changes = (self._table(REBUILD, base) for base in _BASES)
        with self.datastore.transaction(commit=True) as curs:
            copy_claims = SQL("COPY {} ({}, search) FROM STDIN").format(claims, self._claim_columns)
            with curs.copy(copy_claims) as copy:
                for p in projections:
                    copy.write_row((*claim_values(p.claim, _same), tsvector(p.claim.words)))
            with curs.copy(SQL("COPY {} (tag, position) FROM STDIN").format(tags)) as copy:
                for p in projections:
                    for tag in p.claim.tags:
                        copy.write_row((tag, p.claim.position))
            copy_changes = SQL("COPY {} ({}) FROM STDIN").format(changes, self._change_columns)
            with curs.copy(copy_changes) as copy:
                for p in projections:
                    for change in p.changes:
                        copy.write_row(change_values(change, _same))

    def index_rebuild(self) -> None:
        with self.datastore.transaction(commit=True) as curs:
            for statement in self._rebuild_indexes:
                curs.execute(statement)
            for base in _BASES:
                curs.execute(SQL("ANALYZE {}").format(self._table(REBUILD, base)))

    def swap_rebuild(self, pending: Callable[[int], Iterable[Batch]]) -> int:
        tracking = Identifier(self.schema, TRACKING_TABLE)
        live = SQL(", ").join(self._table(LIVE, base) for base in _BASES)
        with self.datastore.transaction(commit=True) as curs:
            # Readers and the live projector wait from here until commit.
            curs.execute(SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(live))
            position = self._max_tracking_id(REBUILD.tracking_name, curs) or 0
            for batch in pending(position):
                self._write(curs, batch.projections, REBUILD, replace=True)
                position = batch.end
            curs.execute(
                SQL(
                    "INSERT INTO {} (application_name, notification_id) VALUES (%s, %s)"
                    " ON CONFLICT (application_name) DO UPDATE"
                    " SET notification_id = excluded.notification_id"
                ).format(tracking),
                (LIVE.tracking_name, position),
            )
            curs.execute(
                SQL("DELETE FROM {} WHERE application_name = %s").format(tracking),
                (REBUILD.tracking_name,),
            )
            curs.execute(SQL("DROP TABLE {}").format(live))
            for base in _BASES:
                curs.execute(
                    SQL("ALTER TABLE {} RENAME TO {}").format(
                        self._table(REBUILD, base), Identifier(LIVE.table(base))
                    )
                )
        return position

    # --- reads ----------------------------------------------------------------

    def claims(self, where: ClaimFilter, before: int | None, limit: int) -> list[ClaimRecord]:
        joins: Composable = SQL("")
        conditions: list[Composable] = []
        params: list[Any] = []
        claims = self._table(LIVE, "claims")
        if where.tag is not None:
            joins = SQL(" JOIN {} t ON t.position = c.position AND t.tag = %s").format(
                self._table(LIVE, "claim_tags")
            )
            params.append(where.tag)
        if where.verdict is not None:
            conditions.append(SQL("c.verdict = %s"))
            params.append(where.verdict.value)
        if where.verified:
            conditions.append(SQL("c.verifications > 0"))
        if where.claimant is not None:
            conditions.append(SQL("c.claimant_name = %s"))
            params.append(where.claimant)
        if before is not None:
            conditions.append(SQL("c.position < %s"))
            params.append(before)
        if where.words:
            conditions.append(SQL("c.search @@ %s::tsquery"))
            # Words are letters and digits only: quoting them needs no escaping.
            params.append(" & ".join(f"'{word}'" for word in where.words))
        columns = SQL(", ").join(Identifier("c", column) for column in CLAIM_COLUMNS)
        statement = SQL(
            "SELECT {}, tsvector_to_array(c.search) AS words FROM {} c{}{}"
            " ORDER BY c.position DESC LIMIT %s"
        ).format(columns, claims, joins, _where(conditions))
        rows = self._rows(statement, (*params, limit))
        return [claim_from_row(row, tuple(sorted(row["words"]))) for row in rows]

    def changes(
        self, where: ChangeFilter, before: ChangeKey | None, limit: int
    ) -> list[ChangeRecord]:
        conditions: list[Composable] = []
        params: list[Any] = []
        if where.since_us is not None:
            conditions.append(SQL("occurred_at_us >= %s"))
            params.append(where.since_us)
        if where.until_us is not None:
            conditions.append(SQL("occurred_at_us < %s"))
            params.append(where.until_us)
        if where.to is not None:
            conditions.append(SQL("to_verdict = %s"))
            params.append(where.to.value)
        if where.actor_id is not None:
            conditions.append(SQL("actor_id = %s"))
            params.append(where.actor_id)
        if before is not None:
            conditions.append(SQL("(occurred_at_us, position) < (%s, %s)"))
            params.extend((before.occurred_at_us, before.position))
        statement = SQL("SELECT {} FROM {}{} ORDER BY occurred_at_us DESC, position DESC LIMIT %s")
        rows = self._rows(
            statement.format(
                self._change_columns, self._table(LIVE, "verdict_changes"), _where(conditions)
            ),
            (*params, limit),
        )
        return [change_from_row(row) for row in rows]

    def _rows(self, statement: Composed, params: tuple[Any, ...]) -> list[DictRow]:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            # Never a server-side prepared statement: a generic plan, chosen
            # once for every `q` and filter, can be much slower than the plan
            # for the values at hand.
            curs.execute(statement, params, prepare=False)
            return curs.fetchall()


def tsvector(words: Iterable[str]) -> str:
    """A `tsvector` in its text form: exactly these lexemes (as `array_to_tsvector`
    makes them), quoted, so no word is parsed, stemmed or split."""
    return " ".join("'" + word.replace("\\", "\\\\").replace("'", "''") + "'" for word in words)


def _where(conditions: list[Composable]) -> Composable:
    if not conditions:
        return SQL("")
    return SQL(" WHERE ") + SQL(" AND ").join(conditions)
