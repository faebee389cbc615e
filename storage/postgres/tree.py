"""The Merkle tree, its checkpoints and its published keys on PostgreSQL (see
`storage.tree`)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Final

from eventsourcing.postgres import PostgresDatastore
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

from ledger.merkle import Node, appended_nodes, frontier
from storage.postgres.recorder import Tables
from storage.tree import CheckpointRow, PublishedKeyRow, SignedSizes, TreeOutOfStep

__all__ = ["PostgresTreeStore"]

TREE_SIZE: Final = "tree_size"


class PostgresTreeStore:
    def __init__(self, datastore: PostgresDatastore, tables: Tables) -> None:
        self.datastore = datastore
        self._signed = SignedSizes()
        self.meta = tables.meta
        self.nodes_table = Identifier(tables.schema_name, "ledger_tree_nodes")
        self.checkpoints_table = Identifier(tables.schema_name, "ledger_checkpoints")
        self.keys_table = Identifier(tables.schema_name, "ledger_checkpoint_keys")
        self.select_checkpoint = SQL("SELECT size, root, note, signed_at_us FROM {}").format(
            self.checkpoints_table
        )

    def create_tables(self) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                SQL(
                    "CREATE TABLE IF NOT EXISTS {} (level int NOT NULL, idx bigint NOT NULL,"
                    " hash bytea NOT NULL, PRIMARY KEY (level, idx))"
                ).format(self.nodes_table)
            )
            curs.execute(
                SQL(
                    "CREATE TABLE IF NOT EXISTS {} (size bigint PRIMARY KEY, root bytea NOT NULL,"
                    " note text NOT NULL, signed_at_us bigint NOT NULL)"
                ).format(self.checkpoints_table)
            )
            curs.execute(
                SQL(
                    "CREATE TABLE IF NOT EXISTS {} (verifier_key text PRIMARY KEY,"
                    " published_at_us bigint NOT NULL)"
                ).format(self.keys_table)
            )

    def size(self) -> int:
        with self.datastore.transaction(commit=False) as curs:
            return self._size(curs, lock=False)

    def append(self, first: int, leaves: Sequence[bytes]) -> int:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                SQL("INSERT INTO {} (name, value) VALUES (%s, 0) ON CONFLICT DO NOTHING").format(
                    self.meta
                ),
                (TREE_SIZE,),
            )
            size = self._size(curs, lock=True)
            if size != first:
                raise TreeOutOfStep(f"the tree holds {size} leaves, not {first}")
            made = appended_nodes(size, self._nodes(curs, frontier(size)), leaves)
            curs.execute(
                SQL(
                    "INSERT INTO {} (level, idx, hash)"
                    " SELECT * FROM unnest(%s::int[], %s::bigint[], %s::bytea[])"
                ).format(self.nodes_table),
                ([m[0] for m in made], [m[1] for m in made], [m[2] for m in made]),
            )
            curs.execute(
                SQL("UPDATE {} SET value = %s WHERE name = %s").format(self.meta),
                (size + len(leaves), TREE_SIZE),
            )
            return size + len(leaves)

    def nodes(self, wanted: Iterable[Node]) -> dict[Node, bytes]:
        # One statement, outside a transaction: one round trip.
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            return self._nodes(curs, wanted)

    def add_checkpoint(self, row: CheckpointRow) -> bool:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                SQL(
                    "INSERT INTO {} (size, root, note, signed_at_us) VALUES (%s, %s, %s, %s)"
                    " ON CONFLICT (size) DO NOTHING"
                ).format(self.checkpoints_table),
                (row.size, row.root, row.note, row.signed_at_us),
            )
            return curs.rowcount == 1

    def checkpoint(self, size: int | None = None) -> CheckpointRow | None:
        if size is None:
            return self._one(self.select_checkpoint + SQL(" ORDER BY size DESC LIMIT 1"), ())
        return self._one(self.select_checkpoint + SQL(" WHERE size = %s"), (size,))

    def is_signed(self, size: int) -> bool:
        return self._signed.check(size, lambda size: self.checkpoint(size) is not None)

    def checkpoint_before(self, size: int) -> CheckpointRow | None:
        return self._one(
            self.select_checkpoint + SQL(" WHERE size < %s ORDER BY size DESC LIMIT 1"), (size,)
        )

    def checkpoints(self) -> Iterator[CheckpointRow]:
        with self.datastore.get_connection() as conn:
            for row in conn.cursor().stream(self.select_checkpoint + SQL(" ORDER BY size")):
                yield _checkpoint(row)

    def publish_key(self, row: PublishedKeyRow) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                SQL(
                    "INSERT INTO {} (verifier_key, published_at_us) VALUES (%s, %s)"
                    " ON CONFLICT DO NOTHING"
                ).format(self.keys_table),
                (row.verifier_key, row.published_at_us),
            )

    def published_keys(self) -> list[PublishedKeyRow]:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                SQL(
                    "SELECT verifier_key, published_at_us FROM {}"
                    " ORDER BY published_at_us DESC, verifier_key"
                ).format(self.keys_table)
            )
            return [PublishedKeyRow(r["verifier_key"], r["published_at_us"]) for r in curs]

    def _one(self, statement: Any, params: tuple[int, ...]) -> CheckpointRow | None:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement, params, prepare=True)
            row = curs.fetchone()
        return _checkpoint(row) if row else None

    def _size(self, curs: Cursor[DictRow], *, lock: bool) -> int:
        statement = SQL("SELECT value FROM {} WHERE name = %s").format(self.meta)
        curs.execute(statement + SQL(" FOR UPDATE") if lock else statement, (TREE_SIZE,))
        row = curs.fetchone()
        return int(row["value"]) if row else 0

    def _nodes(self, curs: Cursor[DictRow], wanted: Iterable[Node]) -> dict[Node, bytes]:
        keys = sorted(set(wanted))
        if not keys:
            return {}
        curs.execute(
            SQL(
                "SELECT n.level, n.idx, n.hash FROM {} n"
                " JOIN unnest(%s::int[], %s::bigint[]) AS w(level, idx)"
                " ON n.level = w.level AND n.idx = w.idx"
            ).format(self.nodes_table),
            ([k[0] for k in keys], [k[1] for k in keys]),
            prepare=True,
        )
        return {(r["level"], r["idx"]): bytes(r["hash"]) for r in curs}


def _checkpoint(row: DictRow) -> CheckpointRow:
    return CheckpointRow(row["size"], bytes(row["root"]), row["note"], row["signed_at_us"])
