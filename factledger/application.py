"""The `eventsourcing` application the ledger is stored through, and the
backend-specific queries that sit beside it on the same connections."""

from __future__ import annotations

import threading
from typing import Final
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import JSONTranscoder, Mapper, Recording
from eventsourcing.utils import Environment, EnvType

from projections.postgres import PostgresReadModels
from projections.sqlite import SQLiteReadModels
from projections.store import ReadModelStore
from storage.database import Backend, Database
from storage.event_log import EventLog
from storage.mapper import EventMapper
from storage.postgres.queries import PostgresEventQueries, PostgresKeyQueries
from storage.postgres.recorder import PostgresLedgerRecorder
from storage.queries import EventQueries, KeyQueries
from storage.sqlite.queries import SQLiteEventQueries, SQLiteKeyQueries
from storage.sqlite.recorder import SQLiteLedgerRecorder

__all__ = ["LedgerStore"]

# Claims are reloaded for every write; keep the recently written ones in
# memory and fast-forward them from the store instead of replaying them.
_AGGREGATE_CACHE_SIZE: Final = "1000"


class LedgerStore(Application[UUID]):
    """The event store of one ledger, on SQLite or PostgreSQL."""

    name = "Ledger"

    def __init__(self, database: Database) -> None:
        self.database = database
        self.appended = threading.Event()
        """Set after every append by this process: wakes its projector at once."""
        super().__init__(
            env={**database.eventsourcing_env(), "AGGREGATE_CACHE_MAXSIZE": _AGGREGATE_CACHE_SIZE}
        )
        self.event_queries, self.key_queries = self._queries()
        self.event_log = EventLog(self.event_queries, self.event_mapper)
        self.read_models = self._read_models()
        self.read_models.create_tables()

    @property
    def notify_channel(self) -> str:
        """The channel PostgreSQL NOTIFYs on every append."""
        recorder = self.recorder
        assert isinstance(recorder, PostgresLedgerRecorder)
        return recorder.channel_name

    @property
    def event_mapper(self) -> EventMapper:
        assert isinstance(self.mapper, EventMapper)
        return self.mapper

    def construct_env(self, name: str, env: EnvType | None = None) -> Environment:
        # Settings come from the ledger's own settings object, never from
        # whatever else happens to be in os.environ.
        return Environment(name, dict(env or {}))

    def construct_mapper(self) -> Mapper[UUID]:
        return EventMapper(transcoder=JSONTranscoder())

    def _notify(self, recordings: list[Recording[UUID]]) -> None:
        super()._notify(recordings)
        self.appended.set()

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
            return (
                SQLiteEventQueries(recorder.datastore),
                SQLiteKeyQueries(recorder.datastore),
            )
        assert isinstance(recorder, PostgresLedgerRecorder)
        return (
            PostgresEventQueries(recorder.datastore, recorder.tables),
            PostgresKeyQueries(recorder.datastore, recorder.tables),
        )
