"""The verdict fold against a deliberately naive reference, for every sequence
of valid events and every pair of times.

The reference works on sets ("which verifications were retracted?") where
the fold works step by step; they agree only if the fold is right.
"""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given, settings

from ledger.errors import ClaimNotFound
from ledger.payloads import Stance
from ledger.verdict import Verdict, fold
from tests.verdict_model import Step, build, qualifying, query_times, reference, steps

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
