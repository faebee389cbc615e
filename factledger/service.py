"""Everything a running ledger needs, opened once from the settings."""

from __future__ import annotations

from factledger.application import LedgerStore
from factledger.keys import ApiKeys
from factledger.reads import ClaimReads
from factledger.settings import Settings
from factledger.writes import LedgerWrites

__all__ = ["LedgerService"]


class LedgerService:
    """The store, and the services the API, the seeds and the command line share."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = LedgerStore(settings.database)
        self.writes = LedgerWrites(self.store)
        self.reads = ClaimReads(self.store.event_log)
        self.keys = ApiKeys(self.store.key_queries)

    def close(self) -> None:
        self.store.close()
