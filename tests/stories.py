"""Random ledgers for tests that need many claims in storage: claims built
through the aggregate's own commands (tests.unit.test_verdict_properties.build),
their events interleaved, then appended to a store as a served write would."""

from __future__ import annotations

import random
from collections.abc import Sequence

from factledger.service import LedgerService
from ledger.claim import ClaimEvent
from projections.read_models import ChangeFilter, ClaimFilter
from projections.records import ChangeRecord, ClaimRecord
from tests.unit.test_verdict_properties import Step, build

WHAT = ["rebut", "withdraw_rebuttal", "verify", "retract", "attach", "withdraw_evidence", "amend"]

Dump = tuple[list[ClaimRecord], list[ChangeRecord]]


def random_steps(rng: random.Random, size: int) -> list[Step]:
    return [
        (rng.choice(WHAT), rng.randint(0, 12), rng.randint(0, 50), rng.randint(0, 50))
        for _ in range(size)
    ]


def claim_events(steps: list[Step]) -> list[ClaimEvent]:
    """A claim made at T0 with the valid events among `steps` (each occurring within
    minutes of it, so later events are often back-dated before earlier ones)."""
    return build(steps).events


def interleave(histories: Sequence[list[ClaimEvent]], rng: random.Random) -> list[ClaimEvent]:
    """One sequence holding every history, each in its own order."""
    queues = [list(history) for history in histories if history]
    merged = []
    while queues:
        queue = rng.choice(queues)
        merged.append(queue.pop(0))
        if not queue:
            queues.remove(queue)
    return merged


def random_ledger(seed: int, claims: int, events_per_claim: int = 6) -> list[ClaimEvent]:
    rng = random.Random(seed)
    histories = [
        claim_events(random_steps(rng, rng.randint(0, 2 * events_per_claim))) for _ in range(claims)
    ]
    return interleave(histories, rng)


def append(service: LedgerService, events: Sequence[ClaimEvent], per_transaction: int = 1) -> None:
    for start in range(0, len(events), per_transaction):
        service.persistence.event_store.events.put(list(events[start : start + per_transaction]))
    service.persistence.appended.set()


def dump(service: LedgerService) -> Dump:
    """Everything the read models hold, in a comparable form."""
    everything = 10**9
    read_models = service.persistence.read_models
    return (
        read_models.claims(ClaimFilter(), None, everything),
        read_models.changes(ChangeFilter(), None, everything),
    )


__all__ = ["Dump", "append", "claim_events", "dump", "interleave", "random_ledger"]
