"""Everything a running ledger needs, opened once from the settings."""

from __future__ import annotations

from factledger.application import LedgerStore
from factledger.histories import Histories
from factledger.keys import ApiKeys
from factledger.reads import ClaimReads
from factledger.settings import Settings
from factledger.writer import BlockingWriter, Writer
from projections.leases import lease_for
from projections.projector import Projector
from projections.runner import ProjectorRunner
from storage.database import Backend

__all__ = ["LedgerService"]


class LedgerService:
    """The store, and the services the API, the seeds and the command line share."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = LedgerStore(settings.database)
        self.histories = Histories(settings.history_cache_mib * 1024 * 1024)
        self.writer = BlockingWriter(self.new_writer())
        """For callers that block; an event loop that writes makes its own (`new_writer`)."""
        self.reads = ClaimReads(self.histories, self.store.event_queries)
        self.keys = ApiKeys(self.store.key_queries)
        self.read_models = self.store.read_models
        self.projector = Projector(
            self.store.event_log, self.read_models, settings.projector_batch_size
        )

    def new_writer(self) -> Writer:
        """A writer over this ledger, sharing this process's histories (start it in
        the event loop that will use it)."""
        return Writer(
            self.store.appender,
            self.store.event_queries,
            self.histories,
            on_commit=self.store.appended.set,
        )

    def projector_runner(self) -> ProjectorRunner:
        """A projector that works while this process holds the lease."""
        database = self.settings.database
        channel = self.store.notify_channel if database.backend is Backend.POSTGRESQL else ""
        return ProjectorRunner(
            self.projector,
            lease_for(database, self.store.appended, channel),
            self.settings.projector_status_file,
        )

    def close(self) -> None:
        self.writer.close()
        self.store.close()
