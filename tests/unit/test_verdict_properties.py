"""The verdict fold against a deliberately naive reference, for every sequence
of valid events and every pair of times.

The reference works on sets ("which verifications were retracted?") where
the fold works step by step; they agree only if the fold is right.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.errors import ClaimNotFound
from ledger.payloads import (
    ClaimAmendedData,
    ClaimRegisteredData,
    EvidenceAttachedData,
    EvidenceWithdrawnData,
    Rating,
    RebuttalFiledData,
    RebuttalWithdrawnData,
    Stance,
    VerificationRecordedData,
    VerificationRetractedData,
)
from ledger.verdict import Verdict, fold
from tests.builders import ClaimBuilder, Known, at

# --- random claims ------------------------------------------------------------

Step = tuple[str, int, int, int]
"""(what, minutes after the claim was made, which item, which value)."""

steps = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "rebut",
                "withdraw_rebuttal",
                "verify",
                "retract",
                "attach",
                "withdraw_evidence",
                "amend",
            ]
        ),
        st.integers(min_value=0, max_value=12),
        st.integers(min_value=0, max_value=50),
        st.integers(min_value=0, max_value=50),
    ),
    max_size=14,
)


def build(claim_steps: list[Step]) -> ClaimBuilder:
    """A claim with the valid events among `claim_steps` (invalid ones are skipped)."""
    built = ClaimBuilder()
    open_items: dict[str, list[tuple[UUID, datetime]]] = {
        "rebuttal": [],
        "verification": [],
        "evidence": [],
    }
    ratings, stances = list(Rating), list(Stance)
    for what, minutes, which, value in claim_steps:
        when = at(minutes)
        if what == "rebut":
            open_items["rebuttal"].append((built.rebut(when, statement=f"s{value}"), when))
        elif what == "verify":
            rating = ratings[value % len(ratings)]
            open_items["verification"].append((built.verify(when, rating), when))
        elif what == "attach":
            stance = stances[value % len(stances)]
            open_items["evidence"].append((built.attach(when, stance), when))
        elif what == "amend":
            if value % 3 == 0:
                built.amend(when, tags=[f"t{value}"])
            else:
                built.amend(when, text=f"text {value}", tags=[f"t{which}"] if value % 2 else None)
        else:
            kind = {
                "withdraw_rebuttal": "rebuttal",
                "retract": "verification",
                "withdraw_evidence": "evidence",
            }[what]
            if not open_items[kind]:
                continue
            item_id, item_when = open_items[kind].pop(which % len(open_items[kind]))
            end_when = item_when + timedelta(minutes=minutes)  # never before the item
            if what == "withdraw_rebuttal":
                built.withdraw_rebuttal(item_id, end_when)
            elif what == "retract":
                built.retract(item_id, end_when)
            else:
                built.withdraw_evidence(item_id, end_when)
    return built


# --- the naive reference ------------------------------------------------------


@dataclass(frozen=True)
class Expected:
    verdict: Verdict
    version: int
    text: str
    tags: list[str]
    standing: set[UUID]
    rebuttals: set[UUID]
    evidence: dict[Stance, set[UUID]]


def qualifying(events: list[Known], as_of: datetime, valid_at: datetime | None) -> list[Known]:
    return [
        e
        for e in events
        if e.recorded_at <= as_of and (valid_at is None or e.occurred_at <= valid_at)
    ]


def reference(events: list[Known]) -> Expected | None:
    """What docs/verdict.md says, computed from the set of events without folding."""
    data = [(e, e.event.data) for e in events]
    registrations = [d for _, d in data if isinstance(d, ClaimRegisteredData)]
    if not registrations:
        return None

    def order(e: Known) -> tuple[datetime, int]:
        return (e.occurred_at, e.version)

    retracted = {d.verification_id for _, d in data if isinstance(d, VerificationRetractedData)}
    standing = {
        d.verification_id: (order(e), d.rating)
        for e, d in data
        if isinstance(d, VerificationRecordedData) and d.verification_id not in retracted
    }
    withdrawn_rebuttals = {d.rebuttal_id for _, d in data if isinstance(d, RebuttalWithdrawnData)}
    rebuttals = {
        d.rebuttal_id
        for _, d in data
        if isinstance(d, RebuttalFiledData) and d.rebuttal_id not in withdrawn_rebuttals
    }
    withdrawn_evidence = {d.evidence_id for _, d in data if isinstance(d, EvidenceWithdrawnData)}
    evidence: dict[Stance, set[UUID]] = {stance: set() for stance in Stance}
    for _, d in data:
        if isinstance(d, EvidenceAttachedData) and d.evidence_id not in withdrawn_evidence:
            evidence[d.stance].add(d.evidence_id)

    if standing:
        verdict = Verdict(max(standing.values(), key=lambda item: item[0])[1].value)
    elif rebuttals:
        verdict = Verdict.DISPUTED
    else:
        verdict = Verdict.UNVERIFIED

    amendments = sorted(
        ((order(e), d) for e, d in data if isinstance(d, ClaimAmendedData)), key=lambda a: a[0]
    )
    texts = [d.text for _, d in amendments if d.text is not None]
    tag_lists = [d.tags for _, d in amendments if d.tags is not None]
    registration = registrations[0]
    return Expected(
        verdict=verdict,
        version=max(e.version for e in events),
        text=texts[-1] if texts else registration.text,
        tags=list(tag_lists[-1]) if tag_lists else list(registration.tags or []),
        standing=set(standing),
        rebuttals=rebuttals,
        evidence=evidence,
    )


def query_times(built: ClaimBuilder) -> list[tuple[datetime, datetime | None]]:
    recorded = [e.recorded_at for e in built.known]
    as_ofs = [*recorded, recorded[0] - timedelta(microseconds=1)]
    valid_ats: list[datetime | None] = [None, at(-1), *(at(m) for m in range(0, 26, 3))]
    return [(a, v) for a in as_ofs for v in valid_ats]


# --- properties ---------------------------------------------------------------

PROPERTY_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@PROPERTY_SETTINGS
@given(steps)
def test_the_state_at_any_pair_of_times_is_what_the_reference_computes(
    claim_steps: list[Step],
) -> None:
    built = build(claim_steps)
    for as_of, valid_at in query_times(built):
        expected = reference(qualifying(built.known, as_of, valid_at))
        if expected is None:
            try:
                fold(built.claim_id, built.recorded, as_of=as_of, valid_at=valid_at)
            except ClaimNotFound:
                continue
            raise AssertionError("a claim whose registration is not folded must not exist")
        state = fold(built.claim_id, built.recorded, as_of=as_of, valid_at=valid_at).state
        assert state.verdict is expected.verdict
        assert state.version == expected.version
        assert (state.text, state.tags) == (expected.text, expected.tags)
        assert {v.verification_id for v in state.verifications} == expected.standing
        assert {r.rebuttal_id for r in state.rebuttals} == expected.rebuttals
        assert {e.evidence_id for e in state.evidence.supports} == expected.evidence[
            Stance.SUPPORTS
        ]
        assert {e.evidence_id for e in state.evidence.refutes} == expected.evidence[Stance.REFUTES]
        assert {e.evidence_id for e in state.evidence.context} == expected.evidence[Stance.CONTEXT]
        assert (state.as_of, state.valid_at) == (as_of, valid_at)


@PROPERTY_SETTINGS
@given(steps)
def test_the_current_state_is_the_state_at_the_stable_time_with_no_world_bound(
    claim_steps: list[Step],
) -> None:
    built = build(claim_steps)
    stable = built.last_recorded_at
    later = stable + timedelta(days=365)
    at_stable = fold(built.claim_id, built.recorded, as_of=stable, valid_at=None).state
    at_later = fold(built.claim_id, built.recorded, as_of=later, valid_at=None).state
    assert at_stable.model_dump(exclude={"as_of"}) == at_later.model_dump(exclude={"as_of"})
    assert at_stable.version == len(built.recorded)


@PROPERTY_SETTINGS
@given(steps)
def test_the_timeline_lists_exactly_the_changes_between_consecutive_states(
    claim_steps: list[Step],
) -> None:
    built = build(claim_steps)
    as_of = built.last_recorded_at
    timeline = fold(built.claim_id, built.recorded, as_of=as_of, valid_at=None).timeline
    fold_order = sorted(built.known, key=lambda e: (e.occurred_at, e.version))

    changes: list[tuple[Verdict | None, Verdict, int]] = []
    previous: Verdict | None = None
    for count in range(1, len(fold_order) + 1):
        expected = reference(fold_order[:count])
        assert expected is not None
        if expected.verdict is not previous:
            changes.append((previous, expected.verdict, fold_order[count - 1].version))
            previous = expected.verdict
    assert [(c.from_, c.to, c.version) for c in timeline] == changes

    for entry in timeline:
        at_entry = fold(built.claim_id, built.recorded, as_of=as_of, valid_at=entry.occurred_at)
        last_then = [c for c in timeline if c.occurred_at <= entry.occurred_at][-1]
        assert at_entry.state.verdict is last_then.to
        assert at_entry.state.verdict_since == last_then.occurred_at
