"""The Merkle tree, its checkpoints and its published keys on SQLite (see
`storage.tree`)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Final

from eventsourcing.sqlite import SQLiteCursor, SQLiteDatastore

from ledger.merkle import Node, appended_nodes, frontier
from storage.tree import CheckpointRow, PublishedKeyRow, SignedSizes, TreeOutOfStep

__all__ = ["SQLiteTreeStore"]

TREE_SIZE: Final = "tree_size"

_CREATE = [
    """CREATE TABLE IF NOT EXISTS ledger_tree_nodes (
        level INTEGER NOT NULL,
        idx INTEGER NOT NULL,
        hash BLOB NOT NULL,
        PRIMARY KEY (level, idx)) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS ledger_checkpoints (
        size INTEGER PRIMARY KEY,
        root BLOB NOT NULL,
        note TEXT NOT NULL,
        signed_at_us INTEGER NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS ledger_checkpoint_keys (
        verifier_key TEXT PRIMARY KEY,
        published_at_us INTEGER NOT NULL)""",
]
_CHECKPOINT = "SELECT size, root, note, signed_at_us FROM ledger_checkpoints"


class SQLiteTreeStore:
    def __init__(self, datastore: SQLiteDatastore) -> None:
        self.datastore = datastore
        self._signed = SignedSizes()

    def create_tables(self) -> None:
        with self.datastore.transaction(commit=True) as c:
            for statement in _CREATE:
                c.execute(statement)

    def size(self) -> int:
        with self.datastore.transaction(commit=False) as c:
            return _size(c)

    def append(self, first: int, leaves: Sequence[bytes]) -> int:
        with self.datastore.transaction(commit=True) as c:
            # The size's row is written first: the write lock is then held
            # before the size is read, so two feeders cannot both add a leaf.
            c.execute(
                "INSERT INTO ledger_meta (name, value) VALUES (?, 0)"
                " ON CONFLICT (name) DO UPDATE SET value = value",
                (TREE_SIZE,),
            )
            size = _size(c)
            if size != first:
                raise TreeOutOfStep(f"the tree holds {size} leaves, not {first}")
            edge = _nodes(c, frontier(size))
            made = appended_nodes(size, edge, leaves)
            c.sqlite_cursor.executemany(
                "INSERT INTO ledger_tree_nodes (level, idx, hash) VALUES (?, ?, ?)", made
            )
            c.execute(
                "UPDATE ledger_meta SET value = ? WHERE name = ?", (size + len(leaves), TREE_SIZE)
            )
            return size + len(leaves)

    def nodes(self, wanted: Iterable[Node]) -> dict[Node, bytes]:
        with self.datastore.transaction(commit=False) as c:
            return _nodes(c, wanted)

    def add_checkpoint(self, row: CheckpointRow) -> bool:
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                "INSERT INTO ledger_checkpoints (size, root, note, signed_at_us)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (size) DO NOTHING",
                (row.size, row.root, row.note, row.signed_at_us),
            )
            return bool(c.sqlite_cursor.rowcount == 1)

    def checkpoint(self, size: int | None = None) -> CheckpointRow | None:
        if size is None:
            return self._one(f"{_CHECKPOINT} ORDER BY size DESC LIMIT 1", ())
        return self._one(f"{_CHECKPOINT} WHERE size = ?", (size,))

    def is_signed(self, size: int) -> bool:
        return self._signed.check(size, lambda size: self.checkpoint(size) is not None)

    def checkpoint_before(self, size: int) -> CheckpointRow | None:
        return self._one(f"{_CHECKPOINT} WHERE size < ? ORDER BY size DESC LIMIT 1", (size,))

    def checkpoints(self) -> Iterator[CheckpointRow]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"{_CHECKPOINT} ORDER BY size")
            while rows := c.sqlite_cursor.fetchmany(500):
                for row in rows:
                    yield CheckpointRow(row[0], bytes(row[1]), row[2], row[3])

    def publish_key(self, row: PublishedKeyRow) -> None:
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                "INSERT INTO ledger_checkpoint_keys (verifier_key, published_at_us)"
                " VALUES (?, ?) ON CONFLICT (verifier_key) DO NOTHING",
                (row.verifier_key, row.published_at_us),
            )

    def published_keys(self) -> list[PublishedKeyRow]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                "SELECT verifier_key, published_at_us FROM ledger_checkpoint_keys"
                " ORDER BY published_at_us DESC, verifier_key"
            )
            return [PublishedKeyRow(row[0], row[1]) for row in c.fetchall()]

    def _one(self, statement: str, params: tuple[int, ...]) -> CheckpointRow | None:
        with self.datastore.transaction(commit=False) as c:
            c.execute(statement, params)
            row = c.fetchone()
        return CheckpointRow(row[0], bytes(row[1]), row[2], row[3]) if row else None


def _size(c: SQLiteCursor) -> int:
    c.execute("SELECT value FROM ledger_meta WHERE name = ?", (TREE_SIZE,))
    row = c.fetchone()
    return int(row[0]) if row else 0


def _nodes(c: SQLiteCursor, wanted: Iterable[Node]) -> dict[Node, bytes]:
    keys = sorted(set(wanted))
    found: dict[Node, bytes] = {}
    for start in range(0, len(keys), 400):
        chunk = keys[start : start + 400]
        where = " OR ".join(["(level = ? AND idx = ?)"] * len(chunk))
        # Fixed fragments only; every value is a parameter.
        c.execute(
            f"SELECT level, idx, hash FROM ledger_tree_nodes WHERE {where}",  # noqa: S608
            [value for key in chunk for value in key],
        )
        found.update({(row[0], row[1]): bytes(row[2]) for row in c.fetchall()})
    return found
