"""`factledger rebuild` on every core: a large PostgreSQL ledger's claims are
folded and loaded by several processes at once, each taking a range of claim
ids (a rebuild is bound by one interpreter otherwise: about 60 % of its time
is decoding and folding in Python, see docs/benchmarks.md).

SQLite takes one writer at a time, so a SQLite ledger is rebuilt by one
process; so is a small ledger, where starting processes would cost more than
it saves.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from multiprocessing import get_context
from multiprocessing.sharedctypes import Synchronized
from typing import Final

from factledger.persistence import Persistence, open_persistence
from projections.rebuild import ClaimRange, ParallelLoad, load_range
from storage.database import Database

__all__ = ["parallel_load"]

_EVENTS_PER_PROCESS: Final = 50_000
"""Below this many events for each process, one process does it all."""
_MAX_PROCESSES: Final = 4
_LOOK_SECONDS: Final = 0.2

# In each loading process: the count of events folded, shared with the parent.
_folded: Synchronized[int] | None = None


def parallel_load(persistence: Persistence, events: int) -> tuple[ParallelLoad, int] | None:
    """How to load a ledger of `events` events in parallel, and in how many parts;
    None when one process is the better way."""
    parts = min(os.cpu_count() or 1, _MAX_PROCESSES, events // _EVENTS_PER_PROCESS)
    if not persistence.parallel_rebuild or parts < 2:
        return None
    database = persistence.database

    def load(
        head: int, ranges: list[ClaimRange], on_progress: Callable[[int], None]
    ) -> tuple[int, int]:
        context = get_context("spawn")  # a fresh interpreter: no threads or sockets inherited
        folded: Synchronized[int] = context.Value("q", 0)
        with ProcessPoolExecutor(
            len(ranges), mp_context=context, initializer=_share, initargs=(folded,)
        ) as pool:
            parts = [pool.submit(_load_part, database, head, claims) for claims in ranges]
            reported = 0
            while not all(part.done() for part in parts):
                wait(parts, timeout=_LOOK_SECONDS, return_when=FIRST_EXCEPTION)
                if any(part.done() and part.exception() for part in parts):
                    break
                now = folded.value
                on_progress(now - reported)
                reported = now
            totals = [part.result() for part in parts]  # raises the first failure
        on_progress(folded.value - reported)
        return sum(t[0] for t in totals), sum(t[1] for t in totals)

    return load, parts


def _share(folded: Synchronized[int]) -> None:
    global _folded  # noqa: PLW0603 (set once, in each loading process)
    _folded = folded


def _count(events: int) -> None:
    assert _folded is not None
    with _folded.get_lock():
        _folded.value += events


def _load_part(database: Database, head: int, claims: ClaimRange) -> tuple[int, int]:
    persistence = open_persistence(database)
    try:
        return load_range(persistence.events, persistence.read_models, head, claims, _count)
    finally:
        persistence.close()
