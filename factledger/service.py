"""Everything a running ledger needs, opened once from the settings."""

from __future__ import annotations

from factledger.checkpointing import CheckpointSigner, TreeWork, load_signing_key
from factledger.histories import Histories
from factledger.keys import ApiKeys
from factledger.persistence import Persistence, open_persistence
from factledger.reads import ClaimReads
from factledger.sessions import PageSessions
from factledger.settings import Settings
from factledger.writer import BlockingWriter, Writer
from projections.projector import Projector
from projections.runner import ProjectorRunner
from projections.tree import TreeFeeder

__all__ = ["LedgerService"]


class LedgerService:
    """The ledger's storage, and the services the API, the seeds and the command
    line share. Opening it creates the schema (events and read models) where
    it is missing."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.persistence: Persistence = open_persistence(settings.database)
        self.persistence.read_models.create_tables()
        self.persistence.tree.create_tables()
        self.persistence.tree.create_tables()
        self.histories = Histories(settings.history_cache_mib * 1024 * 1024)
        self.writer = BlockingWriter(self.new_writer())
        """For callers that block; an event loop that writes makes its own (`new_writer`)."""
        self.reads = ClaimReads(self.histories, self.persistence.events)
        self.keys = ApiKeys(self.persistence.keys)
        self.sessions = PageSessions(self.keys, self.persistence.keys, settings.session_seconds)
        self.projector = Projector(
            self.persistence.event_log, self.persistence.read_models, settings.projector_batch_size
        )
        self.tree_feeder = TreeFeeder(self.persistence.event_log, self.persistence.tree)
        self._signer: CheckpointSigner | None = None

    def checkpoint_signer(self) -> CheckpointSigner:
        """The ledger's signer, its key loaded (or made, on a ledger's first start)
        once; raises `SigningKeyError` when the key is not the ledger's."""
        if self._signer is None:
            key = load_signing_key(
                self.settings.signing_key_path,
                self.persistence.tree,
                self.settings.checkpoint_origin,
            )
            self._signer = CheckpointSigner(
                self.persistence.tree, self.settings.checkpoint_origin, key
            )
        return self._signer

    def new_writer(self) -> Writer:
        """A writer over this ledger, sharing this process's histories (start it in
        the event loop that will use it)."""
        return Writer(
            self.persistence.appender,
            self.persistence.events,
            self.histories,
            on_commit=self.persistence.appended.set,
        )

    def projector_runner(self) -> ProjectorRunner:
        """A projector that works while this process holds the lease."""
        return ProjectorRunner(
            self.projector,
            self.persistence.projector_lease(),
            self.settings.projector_status_file,
            after_catch_up=TreeWork(self.tree_feeder, self.checkpoint_signer()),
        )

    def close(self) -> None:
        self.writer.close()
        self.persistence.close()
