"""A ledger of many claims for the read-model benchmark, filled fast in-process
through the ledger's own store, as `fill.py` fills the point-in-time stores
(`LedgerService(...).store.save(...)`, many claims' events per transaction,
so the event index and `recorded_at` are written exactly as a served write
writes them).

What is in it, all drawn from one seeded random generator (the same seed
gives the same words, claimants, event types, ratings and world times; the
ids, salts and `recorded_at` differ from run to run):

- claim texts of 8-24 words drawn from a fixed vocabulary of 4,000 made-up
  words with Zipf-like frequencies (the n-th word is drawn about 1/n as
  often as the first), so that `q` has common, middling and rare words to
  look for; claimants from a pool of 2,000 names, made of vocabulary words
  too;
- after its registration, each claim gets a number of further events drawn
  from `Mix.extra_events` (rebuttals filed, evidence attached, verifications
  recorded with skewed ratings, and, for items that exist, rebuttals and
  evidence withdrawn and verifications retracted; a few amendments of the
  text); about one event in ten is back-dated (its world time falls between
  the registration and the claim's previous event);
- claims are open for a while: each save takes events from a pool of open
  claims, so that a claim's events are spread over the table, interleaved
  with other claims', as they would be in a real ledger.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from uuid import UUID

from factledger.service import LedgerService
from factledger.settings import Settings
from ledger.access import Actor, Role
from ledger.claim import Claim
from ledger.payloads import (
    CitedSource,
    ClaimAmendment,
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

ACTOR = Actor(id="bench-corpus", name="bench corpus", role=Role.EDITOR)
WORLD_START = datetime(2022, 1, 1, tzinfo=UTC)
WORLD_DAYS = 3 * 365
VOCABULARY_SIZE = 4_000
CLAIMANTS = 2_000
# Ratings, most common first: the verdicts of `?verdict=` go from common to rare.
RATING_WEIGHTS = {
    Rating.FALSE: 30,
    Rating.MOSTLY_FALSE: 22,
    Rating.MISLEADING: 18,
    Rating.MIXED: 12,
    Rating.MOSTLY_TRUE: 9,
    Rating.TRUE: 7,
    Rating.UNPROVEN: 2,
}
_ONSETS = [
    "b",
    "c",
    "d",
    "f",
    "g",
    "h",
    "j",
    "k",
    "l",
    "m",
    "n",
    "p",
    "r",
    "s",
    "t",
    "v",
    "w",
    "z",
    "br",
    "cr",
    "dr",
    "fr",
    "gr",
    "kr",
    "pr",
    "st",
    "tr",
]
_VOWELS = ["a", "e", "i", "o", "u", "ai", "ea", "ie", "ou"]
_CODAS = ["", "", "", "n", "r", "s", "l", "m", "nd", "st", "rk"]


def vocabulary(size: int = VOCABULARY_SIZE, seed: int = 7) -> list[str]:
    """`size` distinct made-up words (2-3 syllables, lowercase ASCII), the same every run."""
    rng = random.Random(seed)
    found: dict[str, None] = {}
    while len(found) < size:
        syllables = rng.choice((2, 2, 3))
        word = "".join(
            rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_CODAS) for _ in range(syllables)
        )
        found[word] = None
    return list(found)


@dataclass(frozen=True)
class Mix:
    """How many further events a claim gets after its registration: value -> weight."""

    extra_events: dict[int, int]
    name: str

    def mean_events(self) -> float:
        total = sum(self.extra_events.values())
        return 1 + sum(n * w for n, w in self.extra_events.items()) / total


# About 4.6 events per claim: the rebuild and lag stores.
RICH = Mix({0: 16, 1: 10, 2: 12, 3: 14, 4: 14, 5: 11, 6: 8, 7: 6, 8: 5, 10: 4}, "rich")
# About 1.2 events per claim: the store of a million claims.
THIN = Mix({0: 90, 1: 6, 2: 2, 3: 1, 5: 1}, "thin")


@dataclass
class _Open:
    """A claim still getting events, and what its next events may name."""

    claim: Claim
    remaining: int
    last_world: datetime
    evidence: list[UUID] = field(default_factory=list)
    rebuttals: list[UUID] = field(default_factory=list)
    verifications: list[UUID] = field(default_factory=list)


class Corpus:
    """Draws claims and their events; the texts and choices come from one seeded RNG."""

    def __init__(self, mix: Mix, seed: int = 1) -> None:
        self.mix = mix
        self.rng = random.Random(seed)
        self.words = vocabulary()
        self._word_cum = list(accumulate(1.0 / (rank + 1) for rank in range(len(self.words))))
        self.claimants = [
            " ".join(w.capitalize() for w in self._draw(2 + (i % 2))) for i in range(CLAIMANTS)
        ]
        self._extra = list(mix.extra_events)
        self._extra_cum = list(accumulate(mix.extra_events.values()))
        self._ratings = list(RATING_WEIGHTS)
        self._rating_cum = list(accumulate(RATING_WEIGHTS.values()))
        self.registered = 0

    def _draw(self, n: int) -> list[str]:
        return self.rng.choices(self.words, cum_weights=self._word_cum, k=n)

    def sentence(self, low: int, high: int) -> str:
        text = " ".join(self._draw(self.rng.randint(low, high)))
        return text[0].upper() + text[1:] + "."

    def new_claim(self) -> _Open:
        rng = self.rng
        self.registered += 1
        when = WORLD_START + timedelta(seconds=rng.randrange(WORLD_DAYS * 86_400))
        tags = ["bench", rng.choice(("politics", "war", "health", "economy", "climate"))]
        claim = Claim.register(
            claim_id=UUID(int=rng.getrandbits(128), version=4),
            registration=ClaimRegistration(
                text=self.sentence(8, 24),
                claimant=Party(name=rng.choice(self.claimants)),
                tags=tags,
            ),
            occurred_at=when,
            actor=ACTOR,
        )
        extra = rng.choices(self._extra, cum_weights=self._extra_cum)[0]
        return _Open(claim=claim, remaining=extra, last_world=when)

    def next_event(self, c: _Open) -> None:
        """One more event on an open claim (a random kind that its items allow)."""
        rng = self.rng
        made = c.claim.made_at
        if rng.random() < 0.1:  # back-dated: between the registration and the last event
            span = max(int((c.last_world - made).total_seconds()), 0)
            when = made + timedelta(seconds=rng.randint(0, span))
        else:
            when = c.last_world + timedelta(minutes=rng.randint(1, 60 * 24 * 7))
            c.last_world = when
        url = f"https://example.org/bench/{rng.getrandbits(48):x}"
        roll = rng.random()
        kind = (
            "rebuttal"
            if roll < 0.28
            else "evidence"
            if roll < 0.55
            else "verification"
            if roll < 0.75
            else "withdraw_rebuttal"
            if roll < 0.83
            else "withdraw_evidence"
            if roll < 0.90
            else "retract"
            if roll < 0.97
            else "amend"
        )
        kind = self._possible(c, kind, when)
        claim = c.claim
        if kind == "rebuttal":
            c.rebuttals.append(
                claim.file_rebuttal(
                    RebuttalFiling(
                        party=Party(name=rng.choice(self.claimants)),
                        statement=self.sentence(6, 20),
                    ),
                    occurred_at=when,
                    actor=ACTOR,
                )
            )
        elif kind == "evidence":
            stance = rng.choice((Stance.SUPPORTS, Stance.REFUTES, Stance.REFUTES, Stance.CONTEXT))
            c.evidence.append(
                claim.attach_evidence(
                    EvidenceAttachment(
                        source=Source(url=url, title=self.sentence(3, 8), outlet="Bench Outlet"),
                        excerpt=self.sentence(6, 20),
                        stance=stance,
                    ),
                    occurred_at=when,
                    actor=ACTOR,
                )
            )
        elif kind == "verification":
            rating = rng.choices(self._ratings, cum_weights=self._rating_cum)[0]
            c.verifications.append(
                claim.record_verification(
                    VerificationRecording(
                        rating=rating,
                        rationale=self.sentence(8, 24),
                        sources=[CitedSource(url=url, title=self.sentence(3, 8))],
                    ),
                    occurred_at=when,
                    actor=ACTOR,
                )
            )
        elif kind == "withdraw_rebuttal":
            claim.withdraw_rebuttal(
                c.rebuttals.pop(rng.randrange(len(c.rebuttals))),
                Withdrawal(reason="Filed in error."),
                occurred_at=when,
                actor=ACTOR,
            )
        elif kind == "withdraw_evidence":
            claim.withdraw_evidence(
                c.evidence.pop(rng.randrange(len(c.evidence))),
                Withdrawal(reason="The source was withdrawn."),
                occurred_at=when,
                actor=ACTOR,
            )
        elif kind == "retract":
            claim.retract_verification(
                c.verifications.pop(),
                Withdrawal(reason="Superseded by later reporting."),
                occurred_at=when,
                actor=ACTOR,
            )
        else:
            claim.amend(
                ClaimAmendment(text=self.sentence(8, 24), reason="Reworded from the source."),
                occurred_at=when,
                actor=ACTOR,
            )
        c.remaining -= 1

    def _possible(self, c: _Open, kind: str, when: datetime) -> str:
        """The kind itself, or a rebuttal when the item to end is missing or newer than `when`
        (an end may not occur before its item: SPEC §2)."""
        items = {
            "withdraw_rebuttal": c.rebuttals,
            "withdraw_evidence": c.evidence,
            "retract": c.verifications,
        }.get(kind)
        if items is None:
            return kind
        if not items or when < c.last_world:
            return "rebuttal"  # back-dated ends could precede their item: keep it simple
        return kind


@dataclass
class Filled:
    events: int
    claims: int
    seconds: float
    head: int


def fill_claims(
    database_url: str,
    *,
    events: int | None = None,
    claims: int | None = None,
    mix: Mix = RICH,
    seed: int = 1,
    events_per_save: int = 400,
    open_claims: int = 2_000,
    progress: Callable[[int, int], None] | None = None,
) -> Filled:
    """Fills an empty store until it holds `events` events (the last claims are cut
    short) or `claims` claims (each with its whole drawn history)."""
    assert (events is None) != (claims is None)
    corpus = Corpus(mix, seed)
    service = LedgerService(Settings(database_url=database_url))
    written = 0
    started = time.perf_counter()
    try:
        store = service.store
        pool: list[_Open] = []
        rng = corpus.rng

        def done() -> bool:
            if events is not None:
                return written >= events
            return corpus.registered >= claims and not pool  # type: ignore[operator]

        while not done():
            touched: dict[UUID, Claim] = {}
            batch = events_per_save if events is None else min(events_per_save, events - written)
            for _ in range(batch):
                can_register = claims is None or corpus.registered < claims
                if can_register and (len(pool) < open_claims or not pool):
                    c = corpus.new_claim()
                    if c.remaining:
                        pool.append(c)
                elif pool:
                    i = rng.randrange(len(pool))
                    c = pool[i]
                    corpus.next_event(c)
                    if not c.remaining:
                        pool[i] = pool[-1]
                        pool.pop()
                else:
                    break
                touched[c.claim.id] = c.claim
            if not touched:
                break
            recordings = store.save(*touched.values())
            written += len(recordings)
            if progress is not None:
                progress(written, corpus.registered)
        return Filled(
            events=written,
            claims=corpus.registered,
            seconds=time.perf_counter() - started,
            head=service.store.event_log.head_position(),
        )
    finally:
        service.close()
