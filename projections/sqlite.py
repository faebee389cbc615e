"""The read models on SQLite: plain tables, and an FTS5 table for `q`.

The tracking position lives in the library's tracking table, written in the
same transaction as the rows (`SQLiteTrackingRecorder._insert_tracking`).
Every write transaction starts with that tracking write, so it takes
SQLite's write lock before it reads anything and never meets a stale snapshot.

The claims table keeps the words of `projections.words` joined by spaces, and
an FTS5 table indexes them (by the claim's position) with
the `ascii` tokenizer, which splits on ASCII spaces and punctuation only: each
word computed in Python is exactly one token, so SQLite's own idea of a word
never applies.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Tracking
from eventsourcing.sqlite import SQLiteCursor, SQLiteDatastore, SQLiteTrackingRecorder

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

__all__ = ["SQLiteReadModels"]

_BASES = ("claims", "claim_tags", "verdict_changes", "claims_search")


def _hex(value: UUID) -> str:
    return value.hex


def _create_statements(tables: TableSet) -> tuple[list[str], list[str]]:
    """The tables, and their indexes: a rebuild loads the tables first and
    indexes them once, which is faster than row by row."""
    claims, tags, changes, search = (tables.table(base) for base in _BASES)
    # Index names are unique per database and stay with a renamed table, so
    # each generation of tables gets its own.
    token = secrets.token_hex(4)
    create = [
        f"""CREATE TABLE {claims} (
            position INTEGER PRIMARY KEY,
            claim_id TEXT NOT NULL,
            text TEXT NOT NULL,
            claimant_name TEXT NOT NULL,
            claimant TEXT NOT NULL,
            tags TEXT NOT NULL,
            verdict TEXT NOT NULL,
            verdict_since_us INTEGER NOT NULL,
            version INTEGER NOT NULL,
            last_position INTEGER NOT NULL,
            rebuttals INTEGER NOT NULL,
            evidence_supports INTEGER NOT NULL,
            evidence_refutes INTEGER NOT NULL,
            evidence_context INTEGER NOT NULL,
            verifications INTEGER NOT NULL,
            words TEXT NOT NULL)""",
        f"""CREATE TABLE {tags} (
            tag TEXT NOT NULL,
            position INTEGER NOT NULL,
            PRIMARY KEY (tag, position)) WITHOUT ROWID""",
        f"""CREATE TABLE {changes} (
            position INTEGER PRIMARY KEY,
            claim_id TEXT NOT NULL,
            from_verdict TEXT,
            to_verdict TEXT NOT NULL,
            occurred_at_us INTEGER NOT NULL,
            recorded_at_us INTEGER NOT NULL,
            event_id TEXT NOT NULL,
            version INTEGER NOT NULL,
            actor_id TEXT NOT NULL,
            actor TEXT NOT NULL,
            reason TEXT)""",
        f"CREATE VIRTUAL TABLE {search} USING fts5(words, tokenize='ascii', detail='none')",
    ]
    index = [
        f"CREATE UNIQUE INDEX claims_claim_id_{token} ON {claims} (claim_id)",
        f"CREATE INDEX claims_verdict_{token} ON {claims} (verdict, position)",
        f"CREATE INDEX claims_claimant_{token} ON {claims} (claimant_name, position)",
        f"CREATE INDEX claim_tags_position_{token} ON {tags} (position)",
        f"CREATE INDEX changes_occurred_{token} ON {changes} (occurred_at_us, position)",
        f"CREATE INDEX changes_to_{token} ON {changes} (to_verdict, occurred_at_us, position)",
        f"CREATE INDEX changes_actor_{token} ON {changes} (actor_id, occurred_at_us, position)",
        f"CREATE INDEX changes_claim_{token} ON {changes} (claim_id)",
    ]
    return create, index


class SQLiteReadModels(SQLiteTrackingRecorder):
    def __init__(self, datastore: SQLiteDatastore) -> None:
        super().__init__(datastore)
        self._claim_columns = ", ".join(CLAIM_COLUMNS)
        self._change_columns = ", ".join(CHANGE_COLUMNS)
        self._rebuild_indexes: list[str] = []

    # --- schema -------------------------------------------------------------

    def create_tables(self) -> None:
        self.create_table()  # the library's tracking table
        if self._exists(LIVE.table("claims")):
            return
        try:
            with self.datastore.transaction(commit=True) as c:
                create, index = _create_statements(LIVE)
                for statement in (*create, *index):
                    c.execute(statement)
        except Exception:
            # Another process created them first.
            if not self._exists(LIVE.table("claims")):
                raise

    def _exists(self, table: str) -> bool:
        with self.datastore.transaction(commit=False) as c:
            c.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,))
            return c.fetchone() is not None

    # --- tracking -------------------------------------------------------------

    def position(self, tables: TableSet = LIVE) -> int:
        return self.max_tracking_id(tables.tracking_name) or 0

    # --- writes ---------------------------------------------------------------

    def apply(self, batch: Batch, tables: TableSet = LIVE) -> None:
        with self.datastore.transaction(commit=True) as c:
            self._insert_tracking(c, Tracking(tables.tracking_name, batch.end))
            self._write(c, batch.projections, tables, replace=True)

    def _write(
        self,
        c: SQLiteCursor,
        projections: Sequence[ClaimProjection],
        tables: TableSet,
        *,
        replace: bool,
    ) -> None:
        claims, tags, changes, search = (tables.table(base) for base in _BASES)
        if replace:
            positions = [(p.claim.position,) for p in projections]
            c.executemany(f"DELETE FROM {tags} WHERE position = ?", positions)  # noqa: S608
            c.executemany(f"DELETE FROM {search} WHERE rowid = ?", positions)  # noqa: S608
            c.executemany(
                f"DELETE FROM {changes} WHERE claim_id = ?"  # noqa: S608
                " AND (occurred_at_us, version) >= (?, ?)",
                [(p.claim.claim_id.hex, *changes_start(p)) for p in projections],
            )
        placeholders = ", ".join("?" * (len(CLAIM_COLUMNS) + 1))
        c.executemany(
            f"INSERT OR REPLACE INTO {claims} ({self._claim_columns}, words)"  # noqa: S608
            f" VALUES ({placeholders})",
            [(*claim_values(p.claim, _hex), " ".join(p.claim.words)) for p in projections],
        )
        c.executemany(
            f"INSERT INTO {tags} (tag, position) VALUES (?, ?)",  # noqa: S608
            [(tag, p.claim.position) for p in projections for tag in p.claim.tags],
        )
        c.executemany(
            f"INSERT INTO {search} (rowid, words) VALUES (?, ?)",  # noqa: S608
            [(p.claim.position, " ".join(p.claim.words)) for p in projections],
        )
        placeholders = ", ".join("?" * len(CHANGE_COLUMNS))
        c.executemany(
            f"INSERT INTO {changes} ({self._change_columns}) VALUES ({placeholders})",  # noqa: S608
            [change_values(change, _hex) for p in projections for change in p.changes],
        )

    # --- rebuild --------------------------------------------------------------

    def begin_rebuild(self) -> None:
        with self.datastore.transaction(commit=True) as c:
            c.execute("DELETE FROM tracking WHERE application_name = ?", (REBUILD.tracking_name,))
            for base in _BASES:
                c.execute(f"DROP TABLE IF EXISTS {REBUILD.table(base)}")
            create, self._rebuild_indexes = _create_statements(REBUILD)
            for statement in create:
                c.execute(statement)

    def load_rebuild(self, projections: Sequence[ClaimProjection]) -> None:
        with self.datastore.transaction(commit=True) as c:
            self._write(c, projections, REBUILD, replace=False)

    def index_rebuild(self) -> None:
        with self.datastore.transaction(commit=True) as c:
            for statement in self._rebuild_indexes:
                c.execute(statement)
            for base in _BASES[:3]:  # not the FTS5 table
                c.execute(f"ANALYZE {REBUILD.table(base)}")

    def swap_rebuild(self, pending: Callable[[int], Iterable[Batch]]) -> int:
        with self.datastore.transaction(commit=True) as c:
            # A write first: it takes the write lock, so the live projector
            # waits until the swap is over.
            c.execute(
                "UPDATE tracking SET notification_id = notification_id WHERE application_name = ?",
                (REBUILD.tracking_name,),
            )
            position = self._max_tracking_id(REBUILD.tracking_name, c) or 0
            for batch in pending(position):
                self._write(c, batch.projections, REBUILD, replace=True)
                position = batch.end
            c.execute(
                "INSERT INTO tracking (application_name, notification_id) VALUES (?, ?)"
                " ON CONFLICT (application_name) DO UPDATE"
                " SET notification_id = excluded.notification_id",
                (LIVE.tracking_name, position),
            )
            c.execute("DELETE FROM tracking WHERE application_name = ?", (REBUILD.tracking_name,))
            for base in _BASES:
                c.execute(f"DROP TABLE IF EXISTS {LIVE.table(base)}")
                c.execute(f"ALTER TABLE {REBUILD.table(base)} RENAME TO {LIVE.table(base)}")
                self._rename_statistics(c, REBUILD.table(base), LIVE.table(base))
        return position

    @staticmethod
    def _rename_statistics(c: SQLiteCursor, old: str, new: str) -> None:
        """The planner's statistics are kept by table name, which a rename does not update."""
        c.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'")
        if c.fetchone() is None:
            return
        c.execute(
            "UPDATE sqlite_stat1 SET tbl = :new, idx = CASE WHEN idx = :old THEN :new"
            " ELSE replace(idx, 'sqlite_autoindex_' || :old || '_',"
            " 'sqlite_autoindex_' || :new || '_') END WHERE tbl = :old",
            {"old": old, "new": new},
        )

    # --- reads ----------------------------------------------------------------

    def claims(self, where: ClaimFilter, before: int | None, limit: int) -> list[ClaimRecord]:
        joins, conditions = "", []
        params: list[str | int] = []
        if where.tag is not None:
            joins = " JOIN claim_tags t ON t.position = c.position AND t.tag = ?"
            params.append(where.tag)
        if where.verdict is not None:
            conditions.append("c.verdict = ?")
            params.append(where.verdict.value)
        if where.verified:
            conditions.append("c.verifications > 0")
        if where.claimant is not None:
            conditions.append("c.claimant_name = ?")
            params.append(where.claimant)
        if before is not None:
            conditions.append("c.position < ?")
            params.append(before)
        if where.words:
            conditions.append(
                "c.position IN (SELECT rowid FROM claims_search WHERE claims_search MATCH ?)"
            )
            # Words are letters and digits only: quoting them needs no escaping.
            params.append(" ".join(f'"{word}"' for word in where.words))
        where_sql = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        columns = ", ".join(f"c.{column}" for column in CLAIM_COLUMNS)
        rows = self._rows(
            f"SELECT {columns}, c.words FROM claims c{joins}"  # noqa: S608
            f"{where_sql} ORDER BY c.position DESC LIMIT ?",
            (*params, limit),
        )
        return [claim_from_row(row, tuple(row["words"].split())) for row in rows]

    def changes(
        self, where: ChangeFilter, before: ChangeKey | None, limit: int
    ) -> list[ChangeRecord]:
        conditions = []
        params: list[str | int] = []
        if where.since_us is not None:
            conditions.append("occurred_at_us >= ?")
            params.append(where.since_us)
        if where.until_us is not None:
            conditions.append("occurred_at_us < ?")
            params.append(where.until_us)
        if where.to is not None:
            conditions.append("to_verdict = ?")
            params.append(where.to.value)
        if where.actor_id is not None:
            conditions.append("actor_id = ?")
            params.append(where.actor_id)
        if before is not None:
            conditions.append("(occurred_at_us, position) < (?, ?)")
            params.extend((before.occurred_at_us, before.position))
        where_sql = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        rows = self._rows(
            f"SELECT {self._change_columns} FROM verdict_changes{where_sql}"  # noqa: S608
            " ORDER BY occurred_at_us DESC, position DESC LIMIT ?",
            (*params, limit),
        )
        return [change_from_row(row) for row in rows]

    def _rows(self, statement: str, params: tuple[Any, ...]) -> list[Mapping[str, Any]]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(statement, params)
            rows: list[Mapping[str, Any]] = c.fetchall()
            return rows
