"""Random claims and a deliberately naive reference of SPEC §3's verdict, for
the property tests of the fold, the read models and the histories.

The reference works on sets ("which verifications were retracted?") where
the fold works step by step; they agree only if the fold is right.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from hypothesis import strategies as st

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
from ledger.verdict import Verdict
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
    """What SPEC §3 says, computed from the set of events without folding."""
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
