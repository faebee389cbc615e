"""The `eventsourcing` application the ledger's events are stored through."""

from __future__ import annotations

import os
import secrets
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import JSONTranscoder, Mapper
from eventsourcing.utils import Environment, EnvType

from storage.database import Database
from storage.mapper import EventMapper

__all__ = ["EventStore"]


class EventStore(Application[UUID]):
    """The event store of one ledger, on SQLite or PostgreSQL: the library's
    recorder for the database, with the ledger's mapper. Opening it creates
    the event store's tables where they are missing, and nothing else."""

    name = "Ledger"

    def __init__(self, database: Database) -> None:
        self.database = database
        self.process_name = f"factledger {os.getpid()}-{secrets.token_hex(3)}"
        """This process's name on its database connections (PostgreSQL's
        application_name): its own sessions can be told from any other."""
        super().__init__(env={**database.eventsourcing_env(), "CREATE_TABLE": "n"})

    def construct_env(self, name: str, env: EnvType | None = None) -> Environment:
        # Settings come from the ledger's own settings object, never from
        # whatever else happens to be in os.environ.
        return Environment(name, dict(env or {}))

    def construct_mapper(self) -> Mapper[UUID]:
        return EventMapper(transcoder=JSONTranscoder())
