"""The `eventsourcing` application the ledger is stored through, and the
backend-specific pieces that sit beside it on the same database."""

from __future__ import annotations

import os
import secrets
import threading
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import JSONTranscoder, Mapper
from eventsourcing.utils import Environment, EnvType

from factledger.keys import KeyGeneration, PolledGeneration
from projections.postgres import PostgresReadModels
from projections.sqlite import SQLiteReadModels
from projections.store import ReadModelStore
from storage.database import Backend, Database
from storage.event_log import EventLog
from storage.mapper import EventMapper
from storage.postgres.listener import ListenedGeneration
from storage.postgres.queries import (
    EventStatements,
    PostgresEventQueries,
    PostgresKeyQueries,
    keys_channel,
)
from storage.postgres.reader import PostgresClaimReader
from storage.postgres.recorder import PostgresLedgerRecorder
from storage.queries import ClaimReader, EventAppender, EventQueries, KeyQueries
from storage.sqlite.queries import SQLiteEventQueries, SQLiteKeyQueries
from storage.sqlite.reader import SQLiteClaimReader
from storage.sqlite.recorder import SQLiteLedgerRecorder

__all__ = ["LedgerStore"]


class LedgerStore(Application[UUID]):
    """The event store of one ledger, on SQLite or PostgreSQL."""

    name = "Ledger"

    def __init__(self, database: Database) -> None:
        self.database = database
        self.appended = threading.Event()
        """Set after every append by this process: wakes a projector in it at once."""
        self.process_name = f"factledger {os.getpid()}-{secrets.token_hex(3)}"
        """This process's name on its database connections (PostgreSQL's
        application_name): its own sessions can be told from any other."""
        super().__init__(env={**database.eventsourcing_env(), "CREATE_TABLE": "n"})
        recorder = self.recorder
        assert isinstance(recorder, PostgresLedgerRecorder | SQLiteLedgerRecorder)
        if isinstance(recorder, PostgresLedgerRecorder):
            recorder.name_connections(self.process_name)
        recorder.create_table()
        self.event_queries, self.key_queries = self._queries()
        self.event_log = EventLog(self.event_queries)
        self.read_models = self._read_models()
        self.read_models.create_tables()

    @property
    def appender(self) -> EventAppender:
        recorder = self.recorder
        assert isinstance(recorder, PostgresLedgerRecorder | SQLiteLedgerRecorder)
        return recorder

    @property
    def notify_channel(self) -> str:
        """The channel PostgreSQL NOTIFYs on every append."""
        recorder = self.recorder
        assert isinstance(recorder, PostgresLedgerRecorder)
        return recorder.channel_name

    def claim_reader(self) -> ClaimReader:
        """A reader of claims' rows for an event loop (open it in that loop)."""
        recorder = self.recorder
        if isinstance(recorder, PostgresLedgerRecorder):
            return PostgresClaimReader(
                self.database, EventStatements(recorder.tables), self.process_name
            )
        assert self.database.sqlite_path is not None
        return SQLiteClaimReader(self.database.sqlite_path)

    def keys_generation(self) -> KeyGeneration | ListenedGeneration:
        """The keys generation as a serving process follows it."""
        recorder = self.recorder
        if isinstance(recorder, PostgresLedgerRecorder):
            return ListenedGeneration(
                self.database, keys_channel(recorder.tables.schema_name), self.process_name
            )
        return PolledGeneration(self.key_queries.generation)

    def construct_env(self, name: str, env: EnvType | None = None) -> Environment:
        # Settings come from the ledger's own settings object, never from
        # whatever else happens to be in os.environ.
        return Environment(name, dict(env or {}))

    def construct_mapper(self) -> Mapper[UUID]:
        return EventMapper(transcoder=JSONTranscoder())

    def _read_models(self) -> ReadModelStore:
        recorder = self.recorder
        if isinstance(recorder, SQLiteLedgerRecorder):
            return SQLiteReadModels(recorder.datastore)
        assert isinstance(recorder, PostgresLedgerRecorder)
        return PostgresReadModels(recorder.datastore)

    def _queries(self) -> tuple[EventQueries, KeyQueries]:
        recorder = self.recorder
        if self.database.backend is Backend.SQLITE:
            assert isinstance(recorder, SQLiteLedgerRecorder)
            return SQLiteEventQueries(recorder.datastore), SQLiteKeyQueries(recorder.datastore)
        assert isinstance(recorder, PostgresLedgerRecorder)
        return (
            PostgresEventQueries(recorder.datastore, recorder.tables),
            PostgresKeyQueries(recorder.datastore, recorder.tables),
        )
