"""What a serving process holds while it runs: the ledger's services, and the
parts that live in its event loop (reads, the keys it has checked, the head
watch of live streams)."""

from __future__ import annotations

from dataclasses import dataclass

from api.feed import HeadWatch
from factledger.keys import KeyCache
from factledger.ledger_reads import LedgerReads
from factledger.service import LedgerService
from factledger.settings import Settings
from factledger.writer import Writer
from projections.runner import ProjectorRunner

__all__ = ["Ledger"]


@dataclass
class Ledger:
    service: LedgerService
    writer: Writer
    """The writer of this event loop."""
    reads: LedgerReads
    """Reads for the event loop: they ask the database without blocking it."""
    keys: KeyCache
    head_watch: HeadWatch
    projector: ProjectorRunner | None
    """The projector working in this process, if any."""

    @property
    def settings(self) -> Settings:
        return self.service.settings
