"""Fills a read-benchmark store in-process, fast, through the ledger's own
store (`LedgerService(...).store`, the `eventsourcing` application with the
ledger's recorders, which write the event index and `recorded_at` exactly as
a served write does) and the `Claim` aggregate's own commands.

It skips only what an HTTP write adds around that (parsing, access checks,
reloading the claim, one transaction per event): many claims' events are
saved in one transaction. The claim under test gets one event per
transaction, interleaved with the other claims' events, so that its 1,000
rows are spread over the whole table rather than stored side by side.

The claim under test has a mix of events (evidence attached and withdrawn,
rebuttals filed and withdrawn, verifications recorded and retracted), so
that its state and timeline are not trivial; its world times are one
minute apart, back-dated to 2023, while its system times are the fill's.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from factledger.service import LedgerService
from factledger.settings import Settings
from ledger.access import Actor, Role
from ledger.claim import Claim
from ledger.payloads import (
    CitedSource,
    ClaimRegistration,
    EvidenceAttachment,
    Party,
    Rating,
    RebuttalFiling,
    Source,
    Stance,
    VerificationRecording,
    Withdrawal,
)
from ledger.times import format_instant, from_micros

ACTOR = Actor(id="bench-fill", name="bench fill", role=Role.EDITOR)
WORLD_START = datetime(2023, 1, 13, 9, 0, tzinfo=UTC)
RATINGS = list(Rating)
FILLER_EVENTS_PER_CLAIM = 11  # a registration and ten more


@dataclass
class _Items:
    """A claim's open items, so that withdrawals and retractions name real ones."""

    evidence: list[UUID] = field(default_factory=list)
    rebuttals: list[UUID] = field(default_factory=list)
    verifications: list[UUID] = field(default_factory=list)


def _register(claim_id: UUID, when: datetime, text: str) -> Claim:
    return Claim.register(
        claim_id=claim_id,
        registration=ClaimRegistration(
            text=text,
            claimant=Party(name="Bench Claimant", affiliation="Benchmark Ministry"),
            tags=["bench", "fill"],
        ),
        occurred_at=when,
        actor=ACTOR,
    )


def _next_event(claim: Claim, items: _Items, n: int, when: datetime) -> None:
    """The claim's n-th event after its registration, in a repeating mix of ten."""
    step = n % 10
    url = f"https://example.org/bench/{claim.id}/{n}"
    if step in (0, 2, 6) or (step == 8 and not items.evidence):
        stance = (Stance.REFUTES, Stance.SUPPORTS, Stance.CONTEXT)[(step // 3) % 3]
        items.evidence.append(
            claim.attach_evidence(
                EvidenceAttachment(
                    source=Source(url=url, title="A source", outlet="Bench Outlet"),
                    excerpt="An excerpt of the source that bears on the claim.",
                    stance=stance,
                ),
                occurred_at=when,
                actor=ACTOR,
            )
        )
    elif step in (1, 3, 7) or (step == 5 and not items.rebuttals):
        items.rebuttals.append(
            claim.file_rebuttal(
                RebuttalFiling(
                    party=Party(name=f"Bench Party {n}"),
                    statement="The night was hot, battles continued; the claim is premature.",
                ),
                occurred_at=when,
                actor=ACTOR,
            )
        )
    elif step == 4 or (step == 9 and not items.verifications):
        items.verifications.append(
            claim.record_verification(
                VerificationRecording(
                    rating=RATINGS[(n // 10) % len(RATINGS)],
                    rationale="Checked against the sources attached to the claim.",
                    sources=[CitedSource(url=url, title="A cited source")],
                ),
                occurred_at=when,
                actor=ACTOR,
            )
        )
    elif step == 5:
        claim.withdraw_rebuttal(
            items.rebuttals.pop(0),
            Withdrawal(reason="Filed in error."),
            occurred_at=when,
            actor=ACTOR,
        )
    elif step == 8:
        claim.withdraw_evidence(
            items.evidence.pop(0),
            Withdrawal(reason="The source was withdrawn."),
            occurred_at=when,
            actor=ACTOR,
        )
    else:
        claim.retract_verification(
            items.verifications.pop(),
            Withdrawal(reason="Superseded by later reporting."),
            occurred_at=when,
            actor=ACTOR,
        )


def _filler_claims() -> Iterator[Claim]:
    """An endless stream of other claims' events: yields the claim after each new event."""
    n_claim = 0
    while True:
        n_claim += 1
        when = WORLD_START + timedelta(days=n_claim % 700)
        claim = _register(uuid4(), when, f"Bench filler claim number {n_claim}.")
        yield claim
        items = _Items()
        for n in range(1, FILLER_EVENTS_PER_CLAIM):
            _next_event(claim, items, n, when + timedelta(minutes=n))
            yield claim


@dataclass
class Filled:
    claim_id: UUID
    claim_events: int
    total_events: int
    seconds: float
    mid_as_of: str
    """The `recorded_at` of the claim's middle event."""
    mid_valid_at: str
    """A world time in the middle of the claim's events."""


def fill(
    database_url: str,
    claim_events: int,
    total_events: int,
    progress: Callable[[int], None] | None = None,
) -> Filled:
    """One claim of `claim_events` events in a store of `total_events` events in all."""
    assert total_events >= claim_events >= 2
    service = LedgerService(Settings(database_url=database_url))
    try:
        started = time.perf_counter()
        store = service.store
        claim_id = uuid4()
        target = _register(
            claim_id, WORLD_START, "Soledar was liberated in the evening of 12 January."
        )
        items = _Items()
        fillers = _filler_claims()
        others = total_events - claim_events
        written = 0
        for n in range(claim_events):
            if n > 0:
                _next_event(target, items, n, WORLD_START + timedelta(minutes=n))
            # This round's share of the other claims' events, spread evenly.
            quota = (n + 1) * others // claim_events - n * others // claim_events
            touched: dict[UUID, Claim] = {}
            for _ in range(quota):
                claim = next(fillers)
                touched[claim.id] = claim
            store.save(target, *touched.values())
            written += 1 + quota
            if progress is not None and n % 50 == 49:
                progress(written)
        seconds = time.perf_counter() - started
        rows = store.event_queries.claim_rows(claim_id, 2**62)
        assert len(rows) == claim_events, (len(rows), claim_events)
        middle = rows[len(rows) // 2]
        return Filled(
            claim_id=claim_id,
            claim_events=claim_events,
            total_events=service.store.event_log.head_position(),
            seconds=seconds,
            mid_as_of=format_instant(from_micros(middle.recorded_at_us)),
            mid_valid_at=format_instant(WORLD_START + timedelta(minutes=claim_events // 2)),
        )
    finally:
        service.close()
