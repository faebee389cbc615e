"""Fills a benchmark store in-process, fast, through the product's own write
path: `Command`s handed to `LedgerService(...).writer` (the batching writer
every served write goes through), thousands at a time, so that the writer
commits them in batches of hundreds. The event index, `recorded_at` and the
stored bytes are exactly those of served writes; only HTTP is skipped.

What is in a store:

- one claim under test, of `claim_events` events in a repeating mix of ten:
  evidence attached (three stances) and withdrawn, rebuttals filed and
  withdrawn, verifications recorded and retracted. Its world times are one
  minute apart from 13 January 2023 (back-dated: the fill records them now),
  and one rebuttal in ten is back-dated 45 minutes further, before events
  recorded earlier, so that folds have to place it;
- filler claims of about ten events each (a registration, then the same mix),
  as many as make `total_events` in all.

The fill runs in waves: each wave holds the next event of the claim under
test and its share of the filler claims' events (one per claim at most), so
that the claim's rows are spread evenly over the whole table, interleaved
with other claims'. A wave is submitted before the one before it has
committed; before building wave w the fill waits only for wave w-2, and
every event needs nothing newer than that (a withdrawal ends an item begun
at least two events earlier; a filler's first event after its registration
waits a wave, since the ledger makes the claim's id).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from itertools import cycle
from uuid import UUID, uuid4

from factledger.commands import Command, Written
from factledger.service import LedgerService
from factledger.settings import Settings
from ledger.access import Actor, Role
from ledger.events import EventType, ItemKind
from ledger.fields import FrozenModel
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
from ledger.times import format_instant, utc_now

__all__ = ["Filled", "fill"]

ACTOR = Actor(id="bench-fill", name="bench fill", role=Role.EDITOR)
WORLD_START = datetime(2023, 1, 13, 9, 0, tzinfo=UTC)
FILLER_EVENTS = 10
"""Events of a filler claim: its registration and nine more."""
BACK_DATED_MINUTES = 45
HISTORY_CACHE_MIB = 64
"""The fill's own process keeps the claims it writes decoded, like a server."""

_VARIANTS = 8
"""Payloads are made once, a few of each kind, and reused (they are immutable)."""


def _evidence(i: int) -> EvidenceAttachment:
    url = f"https://example.org/bench/evidence/{i}"
    return EvidenceAttachment(
        source=Source(url=url, title="A source", outlet="Bench Outlet"),
        excerpt="An excerpt of the source that bears on the claim.",
        stance=(Stance.REFUTES, Stance.SUPPORTS, Stance.CONTEXT)[i % 3],
    )


def _rebuttal(i: int) -> RebuttalFiling:
    return RebuttalFiling(
        party=Party(name=f"Bench Party {i}"),
        statement="The night was hot, battles continued; the claim is premature.",
    )


def _verification(i: int) -> VerificationRecording:
    url = f"https://example.org/bench/verification/{i}"
    return VerificationRecording(
        rating=list(Rating)[i % len(Rating)],
        rationale="Checked against the sources attached to the claim.",
        sources=[CitedSource(url=url, title="A cited source")],
    )


@dataclass(frozen=True)
class _Payloads:
    evidence: list[EvidenceAttachment] = field(
        default_factory=lambda: [_evidence(i) for i in range(_VARIANTS)]
    )
    rebuttals: list[RebuttalFiling] = field(
        default_factory=lambda: [_rebuttal(i) for i in range(_VARIANTS)]
    )
    verifications: list[VerificationRecording] = field(
        default_factory=lambda: [_verification(i) for i in range(_VARIANTS)]
    )
    withdrawal: Withdrawal = field(
        default_factory=lambda: Withdrawal(reason="Superseded by later reporting.")
    )


# The mix, by step (the event's number after the registration, modulo ten):
# what it begins, or which item kind it ends.
_BEGINS = {
    0: EventType.EVIDENCE_ATTACHED,
    1: EventType.REBUTTAL_FILED,
    2: EventType.EVIDENCE_ATTACHED,
    3: EventType.REBUTTAL_FILED,
    4: EventType.VERIFICATION_RECORDED,
    6: EventType.EVIDENCE_ATTACHED,
    7: EventType.REBUTTAL_FILED,
}
_ENDS = {
    5: EventType.REBUTTAL_WITHDRAWN,
    8: EventType.EVIDENCE_WITHDRAWN,
    9: EventType.VERIFICATION_RETRACTED,
}


class _Script:
    """One claim's events, one command at a time."""

    def __init__(
        self, payloads: _Payloads, world_start: datetime, text: str, claim_id: UUID | None
    ) -> None:
        self.payloads = payloads
        self.world_start = world_start
        self.text = text
        self.claim_id = claim_id
        self.registration: Future[Written] | None = None
        self.n = 0
        """How many commands it has made."""
        self.ready_at = 0
        """The first wave it may make its next command in."""
        self.items: dict[ItemKind, deque[Future[Written]]] = {kind: deque() for kind in ItemKind}

    def next(self, wave: int) -> Command | None:
        """Its next command, or None when it must wait a wave."""
        if wave < self.ready_at:
            return None
        command = self._registration() if self.n == 0 else self._event(self.n)
        self.ready_at = wave + (2 if self.n == 0 and self.claim_id is None else 1)
        self.n += 1
        return command

    def took(self, command: Command, future: Future[Written]) -> None:
        """Remembers the future of a command made by `next` (for what it begins)."""
        if self.n == 1:
            self.registration = future
        begins = command.event_type.declared.begins
        if begins is not None:
            self.items[begins].append(future)

    def _registration(self) -> Command:
        payload = ClaimRegistration(
            text=self.text,
            claimant=Party(name="Bench Claimant", affiliation="Benchmark Ministry"),
            tags=["bench", "fill"],
        )
        return _command(EventType.CLAIM_REGISTERED, payload, self.claim_id, self.world_start)

    def _event(self, n: int) -> Command:
        if self.claim_id is None:
            assert self.registration is not None
            self.claim_id = self.registration.result().event.claim_id
        step = n % 10
        when = self.world_start + timedelta(minutes=n)
        ending = _ENDS.get(step)
        if ending is not None:
            kind = ending.declared.ends
            assert kind is not None
            if self.items[kind]:
                begun = self.items[kind].popleft().result().event
                item_id = begun.item_id()
                assert item_id is not None
                command = _command(ending, self.payloads.withdrawal, self.claim_id, when)
                return replace(command, item_id=UUID(item_id))
            step = 1  # nothing of that kind is open: file a rebuttal instead
        if step == 7 and n > BACK_DATED_MINUTES:
            when -= timedelta(minutes=BACK_DATED_MINUTES)
        event_type = _BEGINS[step]
        return _command(event_type, self._payload(event_type, n), self.claim_id, when)

    def _payload(self, event_type: EventType, n: int) -> FrozenModel:
        variant = n % _VARIANTS
        if event_type is EventType.EVIDENCE_ATTACHED:
            return self.payloads.evidence[variant]
        if event_type is EventType.REBUTTAL_FILED:
            return self.payloads.rebuttals[variant]
        return self.payloads.verifications[variant]


def _command(
    event_type: EventType, payload: FrozenModel, claim_id: UUID | None, when: datetime
) -> Command:
    return Command(
        event_type=event_type,
        payload=payload,
        actor=ACTOR,
        received_at=utc_now(),
        claim_id=claim_id,
        occurred_at=when,
    )


@dataclass
class Filled:
    claim_id: UUID
    """The claim under test."""
    claim_events: int
    total_events: int
    filler_claims: list[UUID]
    seconds: float
    mid_version: int
    """The version of the claim's middle event."""
    mid_as_of: str
    """The `recorded_at` of the claim's middle event."""
    mid_valid_at: str
    """A world time in the middle of the claim's events."""

    @property
    def events_per_second(self) -> float:
        return self.total_events / self.seconds if self.seconds else 0.0


class _Fillers:
    """The filler claims: each wave takes at most one event of each open one,
    and opens new ones when those are not enough."""

    def __init__(self, payloads: _Payloads) -> None:
        self.payloads = payloads
        self.open: list[_Script] = []
        self.done: list[UUID] = []
        """The claims of the scripts that ended (whose futures are let go)."""
        self.started = 0
        self._days = cycle(range(700))

    def commands(self, wave: int, quota: int) -> list[tuple[_Script, Command]]:
        made: list[tuple[_Script, Command]] = []
        for script in self.open:
            if len(made) == quota:
                break
            command = script.next(wave)
            if command is not None:
                made.append((script, command))
        while len(made) < quota:
            script = self._new()
            command = script.next(wave)
            assert command is not None
            made.append((script, command))
        self.done += [s.claim_id for s in self.open if s.n == FILLER_EVENTS and s.claim_id]
        self.open = [script for script in self.open if script.n < FILLER_EVENTS]
        return made

    def claim_ids(self) -> list[UUID]:
        return [*self.done, *(_claim_id(script) for script in self.open)]

    def _new(self) -> _Script:
        self.started += 1
        world = WORLD_START + timedelta(days=next(self._days))
        text = f"Bench filler claim number {self.started}."
        script = _Script(self.payloads, world, text, None)
        self.open.append(script)
        return script


def fill(
    database_url: str,
    claim_events: int,
    total_events: int,
    progress: Callable[[int], None] | None = None,
) -> Filled:
    """One claim of `claim_events` events in a store of `total_events` events in all."""
    assert total_events >= claim_events >= 2
    settings = Settings(
        database_url=database_url, projector=False, history_cache_mib=HISTORY_CACHE_MIB
    )
    service = LedgerService(settings)
    try:
        started = time.perf_counter()
        payloads = _Payloads()
        target = _Script(
            payloads, WORLD_START, "Soledar was liberated in the evening of 12 January.", uuid4()
        )
        fillers = _Fillers(payloads)
        others = total_events - claim_events
        waves: deque[list[Future[Written]]] = deque()
        claim_futures: list[Future[Written]] = []
        for wave in range(claim_events):
            if len(waves) == 2:
                _wait(waves.popleft())
            quota = (wave + 1) * others // claim_events - wave * others // claim_events
            made = [(target, target.next(wave)), *fillers.commands(wave, quota)]
            submitted = []
            for script, command in made:
                assert command is not None
                future = service.writer.submit(command)
                script.took(command, future)
                submitted.append(future)
            claim_futures.append(submitted[0])
            waves.append(submitted)
            if progress is not None and wave % 50 == 49:
                progress((wave + 1) * total_events // claim_events)
        for submitted in waves:
            _wait(submitted)
        seconds = time.perf_counter() - started
        middle = claim_futures[claim_events // 2].result().event
        assert target.claim_id is not None
        return Filled(
            claim_id=target.claim_id,
            claim_events=claim_events,
            total_events=service.persistence.event_log.head_position(),
            filler_claims=fillers.claim_ids(),
            seconds=seconds,
            mid_version=middle.version,
            mid_as_of=middle.recorded_at(),
            mid_valid_at=format_instant(WORLD_START + timedelta(minutes=claim_events // 2)),
        )
    finally:
        service.close()


def _claim_id(script: _Script) -> UUID:
    assert script.registration is not None
    return script.registration.result().event.claim_id


def _wait(futures: list[Future[Written]]) -> None:
    for future in futures:
        future.result()
