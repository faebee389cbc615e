"""The verdict rules of docs/verdict.md, one sentence each."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from ledger.errors import ClaimNotFound
from ledger.payloads import Rating, Stance
from ledger.verdict import ClaimFold, Verdict, fold
from tests.builders import T0, ClaimBuilder, at

FAR_FUTURE = datetime(2100, 1, 1, tzinfo=T0.tzinfo)


def current(built: ClaimBuilder, valid_at: datetime | None = None) -> ClaimFold:
    return fold(built.claim_id, built.recorded, as_of=FAR_FUTURE, valid_at=valid_at)


def test_a_new_claim_is_unverified() -> None:
    state = current(ClaimBuilder()).state
    assert state.verdict is Verdict.UNVERIFIED
    assert state.version == 1


def test_a_counting_rebuttal_makes_the_claim_disputed() -> None:
    built = ClaimBuilder()
    built.rebut(at(60))
    assert current(built).state.verdict is Verdict.DISPUTED


def test_a_withdrawn_rebuttal_no_longer_disputes_the_claim() -> None:
    built = ClaimBuilder()
    rebuttal = built.rebut(at(60))
    built.withdraw_rebuttal(rebuttal, at(120))
    state = current(built).state
    assert state.verdict is Verdict.UNVERIFIED
    assert state.rebuttals == []


def test_one_withdrawn_rebuttal_leaves_the_claim_disputed_by_another() -> None:
    built = ClaimBuilder()
    first = built.rebut(at(60))
    built.rebut(at(70), statement="Still fighting.")
    built.withdraw_rebuttal(first, at(120))
    state = current(built).state
    assert state.verdict is Verdict.DISPUTED
    assert [r.statement for r in state.rebuttals] == ["Still fighting."]


def test_the_verdict_is_the_rating_of_the_standing_verification() -> None:
    built = ClaimBuilder()
    built.rebut(at(60))
    built.verify(at(120), Rating.MOSTLY_FALSE)
    assert current(built).state.verdict is Verdict.MOSTLY_FALSE


def test_the_last_standing_verification_in_world_time_decides() -> None:
    built = ClaimBuilder()
    built.verify(at(60), Rating.MIXED)
    built.verify(at(120), Rating.FALSE)
    assert current(built).state.verdict is Verdict.FALSE


def test_backfilled_verification_does_not_override_a_later_one() -> None:
    built = ClaimBuilder()
    built.verify(at(120), Rating.FALSE)
    built.verify(at(60), Rating.TRUE)  # recorded later, but occurred earlier
    state = current(built).state
    assert state.verdict is Verdict.FALSE
    assert [v.rating for v in state.verifications] == [Rating.TRUE, Rating.FALSE]


def test_retraction_restores_the_previous_verdict() -> None:
    built = ClaimBuilder()
    built.verify(at(60), Rating.MIXED)
    later = built.verify(at(120), Rating.FALSE)
    built.retract(later, at(180))
    assert current(built).state.verdict is Verdict.MIXED


def test_retracting_the_only_verification_of_a_rebutted_claim_leaves_it_disputed() -> None:
    built = ClaimBuilder()
    built.rebut(at(60))
    verification = built.verify(at(120))
    built.retract(verification, at(180))
    assert current(built).state.verdict is Verdict.DISPUTED


def test_a_retraction_counts_only_from_when_it_occurred() -> None:
    built = ClaimBuilder()
    verification = built.verify(at(60), Rating.FALSE)
    built.retract(verification, at(180))
    assert current(built, valid_at=at(120)).state.verdict is Verdict.FALSE
    assert current(built, valid_at=at(180)).state.verdict is Verdict.UNVERIFIED


def test_a_retraction_at_the_same_instant_as_its_verification_ends_it() -> None:
    built = ClaimBuilder()
    verification = built.verify(at(60))
    built.retract(verification, at(60))
    assert current(built).state.verdict is Verdict.UNVERIFIED


def test_before_the_claim_was_made_it_did_not_exist() -> None:
    built = ClaimBuilder()
    with pytest.raises(ClaimNotFound, match="did not exist"):
        current(built, valid_at=T0 - timedelta(microseconds=1))


def test_the_claim_exists_from_the_instant_it_was_made() -> None:
    assert current(ClaimBuilder(), valid_at=T0).state.verdict is Verdict.UNVERIFIED


def test_as_of_hides_events_recorded_later() -> None:
    built = ClaimBuilder()
    built.rebut(at(60))
    rebutted_at = built.last_recorded_at
    built.verify(at(120), Rating.FALSE)
    state = fold(built.claim_id, built.recorded, as_of=rebutted_at, valid_at=None).state
    assert state.verdict is Verdict.DISPUTED
    assert state.version == 2
    assert state.as_of == rebutted_at


def test_as_of_before_the_registration_was_recorded_means_the_claim_did_not_exist() -> None:
    built = ClaimBuilder()
    before = built.known[0].recorded_at - timedelta(microseconds=1)
    with pytest.raises(ClaimNotFound):
        fold(built.claim_id, built.recorded, as_of=before, valid_at=None)


def test_valid_at_hides_events_that_occurred_later() -> None:
    built = ClaimBuilder()
    built.rebut(at(60))
    state = current(built, valid_at=at(30)).state
    assert state.verdict is Verdict.UNVERIFIED
    assert state.valid_at == at(30)


def test_events_occurring_at_the_same_instant_fold_in_version_order() -> None:
    built = ClaimBuilder()
    built.verify(at(60), Rating.TRUE)
    built.verify(at(60), Rating.FALSE)
    assert current(built).state.verdict is Verdict.FALSE


def test_an_amendment_replaces_the_text_from_when_it_occurred() -> None:
    built = ClaimBuilder(text="First wording.")
    built.amend(at(60), text="Second wording.")
    assert current(built).state.text == "Second wording."
    assert current(built, valid_at=at(30)).state.text == "First wording."


def test_an_amendment_of_tags_alone_keeps_the_text() -> None:
    built = ClaimBuilder(text="Kept.")
    built.amend(at(60), tags=["soledar"])
    state = current(built).state
    assert (state.text, state.tags) == ("Kept.", ["soledar"])


def test_an_amendment_does_not_change_the_verdict_or_add_a_timeline_entry() -> None:
    built = ClaimBuilder()
    built.amend(at(60), text="Reworded.")
    assert [change.to for change in current(built).timeline] == [Verdict.UNVERIFIED]


def test_evidence_counts_by_stance_until_withdrawn() -> None:
    built = ClaimBuilder()
    kept = built.attach(at(10), Stance.SUPPORTS)
    withdrawn = built.attach(at(20), Stance.REFUTES)
    built.attach(at(30), Stance.CONTEXT)
    built.withdraw_evidence(withdrawn, at(40))
    evidence = current(built).state.evidence
    assert [e.evidence_id for e in evidence.supports] == [kept]
    assert evidence.refutes == []
    assert len(evidence.context) == 1


def test_evidence_never_changes_the_verdict() -> None:
    built = ClaimBuilder()
    built.attach(at(10), Stance.REFUTES)
    folded = current(built)
    assert folded.state.verdict is Verdict.UNVERIFIED
    assert len(folded.timeline) == 1


def test_the_timeline_starts_with_the_registration_from_null_to_unverified() -> None:
    first = current(ClaimBuilder()).timeline[0]
    assert (first.from_, first.to, first.version, first.reason) == (
        None,
        Verdict.UNVERIFIED,
        1,
        None,
    )


def test_each_timeline_entry_gives_the_reason_for_the_change() -> None:
    built = ClaimBuilder()
    rebuttal = built.rebut(at(10), statement="The night was hot.")
    verification = built.verify(at(20), rationale="Fighting went on.")
    built.retract(verification, at(30), reason="Wrong source.")
    built.withdraw_rebuttal(rebuttal, at(40), reason="Filed in error.")
    timeline = current(built).timeline
    assert [(c.from_, c.to, c.reason) for c in timeline] == [
        (None, Verdict.UNVERIFIED, None),
        (Verdict.UNVERIFIED, Verdict.DISPUTED, "The night was hot."),
        (Verdict.DISPUTED, Verdict.FALSE, "Fighting went on."),
        (Verdict.FALSE, Verdict.DISPUTED, "Wrong source."),
        (Verdict.DISPUTED, Verdict.UNVERIFIED, "Filed in error."),
    ]


def test_an_event_that_does_not_change_the_verdict_adds_no_timeline_entry() -> None:
    built = ClaimBuilder()
    built.verify(at(10), Rating.FALSE)
    built.rebut(at(20))  # the verification still decides
    assert [c.to for c in current(built).timeline] == [Verdict.UNVERIFIED, Verdict.FALSE]


def test_verdict_since_is_when_the_last_timeline_entry_occurred() -> None:
    built = ClaimBuilder()
    built.rebut(at(10))
    built.attach(at(20))
    assert current(built).state.verdict_since == at(10)


def test_version_is_the_highest_version_folded() -> None:
    built = ClaimBuilder()
    built.rebut(at(120))
    built.verify(at(60))  # version 3, occurred before version 2
    assert current(built, valid_at=at(90)).state.version == 3
    assert current(built).state.version == 3


def test_the_language_defaults_to_english() -> None:
    assert current(ClaimBuilder()).state.language == "en"
    assert current(ClaimBuilder(language="uk")).state.language == "uk"


def test_the_state_lists_who_brought_each_item_and_when() -> None:
    built = ClaimBuilder()
    built.verify(at(10))
    verification = current(built).state.verifications[0]
    assert verification.actor.role == "checker"
    assert verification.occurred_at == at(10)
    assert verification.version == 2
