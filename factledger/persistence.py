"""The composition root of storage: the one place that picks a backend.

`open_persistence` looks at the database once and builds the bundle of
everything the ledger keeps there (the event store, its queries, the read
models, the leases and the ways a process follows changes), each the
backend's own kind; everything else takes the bundle and never asks which
backend it is on.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from pathlib import Path
from typing import assert_never

from factledger.event_store import EventStore
from factledger.keys import KeyGeneration, PolledGeneration
from projections.leases import FileLease, Lease, PostgresLease
from projections.postgres import PostgresReadModels
from projections.read_models import ReadModels
from projections.sqlite import SQLiteReadModels
from storage.database import Backend, Database
from storage.event_log import EventLog
from storage.postgres.listener import ListenedGeneration
from storage.postgres.queries import (
    EventStatements,
    PostgresEventQueries,
    PostgresKeyQueries,
    keys_channel,
)
from storage.postgres.reader import PostgresClaimReader
from storage.postgres.recorder import PostgresLedgerRecorder
from storage.postgres.tree import PostgresTreeStore
from storage.queries import ClaimReader, EventAppender, EventQueries, KeyQueries
from storage.sqlite.queries import SQLiteEventQueries, SQLiteKeyQueries
from storage.sqlite.reader import SQLiteClaimReader
from storage.sqlite.recorder import SQLiteLedgerRecorder
from storage.sqlite.tree import SQLiteTreeStore
from storage.tree import TreeStore

__all__ = ["Persistence", "open_persistence"]


class Persistence(ABC):
    """Everything the ledger keeps in one database, opened once."""

    parallel_rebuild: bool
    """Whether a large rebuild is faster folded by several processes at once."""

    def __init__(
        self,
        event_store: EventStore,
        appender: EventAppender,
        events: EventQueries,
        keys: KeyQueries,
        read_models: ReadModels,
        tree: TreeStore,
    ) -> None:
        self.event_store = event_store
        self.database = event_store.database
        self.appender = appender
        self.events = events
        self.event_log = EventLog(events)
        self.keys = keys
        self.read_models = read_models
        self.tree = tree
        """The Merkle tree, its checkpoints and its published keys."""
        self.appended = threading.Event()
        """Set after every append by this process: wakes a projector in it at once."""

    @abstractmethod
    def claim_reader(self) -> ClaimReader:
        """A reader of claims' rows for an event loop (open it in that loop)."""

    @abstractmethod
    def keys_generation(self) -> KeyGeneration:
        """The keys generation as a serving process follows it."""

    @abstractmethod
    def projector_lease(self) -> Lease:
        """Held by the one projector that works: any other waits to take over."""

    @abstractmethod
    def rebuild_lock(self) -> Lease:
        """Held by a running rebuild: two at once would build into the same tables."""

    def close(self) -> None:
        self.event_store.close()


class SQLitePersistence(Persistence):
    parallel_rebuild = False  # one writer at a time: more processes would only wait

    def __init__(self, event_store: EventStore, recorder: SQLiteLedgerRecorder) -> None:
        datastore = recorder.datastore
        super().__init__(
            event_store,
            recorder,
            SQLiteEventQueries(datastore),
            SQLiteKeyQueries(datastore),
            SQLiteReadModels(datastore),
            SQLiteTreeStore(datastore),
        )
        assert self.database.sqlite_path is not None
        self.path: Path = self.database.sqlite_path

    def claim_reader(self) -> ClaimReader:
        return SQLiteClaimReader(self.path)

    def keys_generation(self) -> KeyGeneration:
        return PolledGeneration(self.keys.generation)

    def projector_lease(self) -> Lease:
        return FileLease(self._beside("projector"), self.appended, self.path)

    def rebuild_lock(self) -> Lease:
        return FileLease(self._beside("rebuild"), threading.Event())

    def _beside(self, purpose: str) -> Path:
        return self.path.with_name(f"{self.path.name}.{purpose}.lock")


class PostgresPersistence(Persistence):
    parallel_rebuild = True

    def __init__(self, event_store: EventStore, recorder: PostgresLedgerRecorder) -> None:
        recorder.name_connections(event_store.process_name)
        self.recorder = recorder
        super().__init__(
            event_store,
            recorder,
            PostgresEventQueries(recorder.datastore, recorder.tables),
            PostgresKeyQueries(recorder.datastore, recorder.tables),
            PostgresReadModels(recorder.datastore),
            PostgresTreeStore(recorder.datastore, recorder.tables),
        )

    def claim_reader(self) -> ClaimReader:
        return PostgresClaimReader(
            self.database, EventStatements(self.recorder.tables), self.event_store.process_name
        )

    def keys_generation(self) -> ListenedGeneration:
        return ListenedGeneration(
            self.database,
            keys_channel(self.recorder.tables.schema_name),
            self.event_store.process_name,
        )

    def projector_lease(self) -> Lease:
        return PostgresLease(self.database, "projector", self.recorder.channel_name)

    def rebuild_lock(self) -> Lease:
        return PostgresLease(self.database, "rebuild")


def open_persistence(database: Database) -> Persistence:
    """The ledger's storage on `database`, its event store's tables created
    where missing (the read models' tables are created by those that use them)."""
    event_store = EventStore(database)
    recorder = event_store.recorder
    persistence: Persistence
    match database.backend:
        case Backend.SQLITE:
            assert isinstance(recorder, SQLiteLedgerRecorder)
            persistence = SQLitePersistence(event_store, recorder)
        case Backend.POSTGRESQL:
            assert isinstance(recorder, PostgresLedgerRecorder)
            persistence = PostgresPersistence(event_store, recorder)
        case unreachable:
            assert_never(unreachable)
    recorder.create_table()
    return persistence
