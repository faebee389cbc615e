"""`factledger seed` through the ordinary write path, on both backends."""

from __future__ import annotations

import orjson
import pytest

from factledger.seeding import load_seeds, seed_claim_id, seed_ledger
from factledger.service import LedgerService
from ledger.access import SEEDS_ACTOR
from ledger.errors import ClaimNotFound
from ledger.times import parse_instant
from ledger.verdict import Verdict

SOLEDAR = seed_claim_id("soledar-liberation-completed")


def test_seeding_leaves_the_soledar_claim_disputed_by_the_deputy_minister(
    service: LedgerService,
) -> None:
    seed_ledger(service.writer, load_seeds())
    state = service.reads.state(SOLEDAR).state
    assert state.verdict is Verdict.DISPUTED
    assert state.claimant.name == "Igor Konashenkov"
    _, timeline = service.reads.timeline(SOLEDAR)
    assert timeline[-1].reason == "The night in Soledar was hot, battles continued."
    assert timeline[-1].event.occurred_at_us >= timeline[0].event.occurred_at_us


def test_the_soledar_claim_did_not_exist_at_new_year_2023(service: LedgerService) -> None:
    seed_ledger(service.writer, load_seeds())
    with pytest.raises(ClaimNotFound):
        service.reads.state(SOLEDAR, valid_at=parse_instant("2023-01-01T00:00:00Z"))


def test_seeding_twice_appends_nothing(service: LedgerService) -> None:
    first = seed_ledger(service.writer, load_seeds())
    position = service.persistence.event_log.head_position()
    second = seed_ledger(service.writer, load_seeds())
    assert first.appended > 0
    assert first.already_there == 0
    assert (second.appended, second.already_there) == (0, first.appended)
    assert service.persistence.event_log.head_position() == position


def test_seeded_events_carry_the_seeds_actor(service: LedgerService) -> None:
    seed_ledger(service.writer, load_seeds())
    events = service.persistence.event_log.page(0, 1000)
    assert events
    assert {tuple(sorted(e.actor.items())) for e in events} == {
        tuple(sorted(SEEDS_ACTOR.model_dump(mode="json").items()))
    }


def test_the_seeds_hold_the_claims_the_spec_asks_for() -> None:
    claimants = {entry.claim.claimant.name for seeds in load_seeds() for entry in seeds.claims}
    assert {"Igor Konashenkov", "John Kirby", "Dmitry Peskov", "Vladimir Putin"} <= claimants
    entries = {entry.key: entry for seeds in load_seeds() for entry in seeds.claims}
    peskov = entries["peskov-demilitarization-progress"].claim
    assert peskov.occurred_at == parse_instant("2022-12-01T12:00:00Z")
    assert "date-approximate" in (peskov.tags or [])
    kirby = entries["kirby-no-strategic-impact"].claim
    assert kirby.occurred_at == parse_instant("2023-01-12T12:00:00Z")
    assert all(entry.claim.appearance is None for entry in entries.values())


def test_seed_claim_ids_are_stable_so_links_to_them_keep_working() -> None:
    assert str(SOLEDAR) == "3f418f50-fa3f-517e-b313-4e3c43862b48"  # as the README's tour uses


def test_the_seeds_say_which_claimants_and_parties_are_organizations(
    service: LedgerService,
) -> None:
    seed_ledger(service.writer, load_seeds())
    state = service.reads.state(SOLEDAR).state
    assert state.claimant.kind == "person"
    assert [rebuttal.party.kind for rebuttal in state.rebuttals] == ["person"]
    ministry = service.reads.state(seed_claim_id("soledar-capture-made-possible-by-bombardment"))
    assert ministry.state.claimant.kind == "organization"
    entries = [entry for seeds in load_seeds() for entry in seeds.claims]
    assert all(entry.claim.claimant.kind is not None for entry in entries)
    assert all(rebuttal.party.kind is not None for e in entries for rebuttal in e.rebuttals)


def test_a_ledger_seeded_before_the_seeds_gave_kinds_is_seeded_again_without_a_change(
    service: LedgerService,
) -> None:
    before_kinds = [
        seeds.model_validate(
            orjson.loads(
                orjson.dumps(seeds.model_dump(mode="json", exclude_none=True))
                .replace(b',"kind":"person"', b"")
                .replace(b',"kind":"organization"', b"")
            )
        )
        for seeds in load_seeds()
    ]
    assert b'"kind"' not in orjson.dumps([s.model_dump(exclude_none=True) for s in before_kinds])
    first = seed_ledger(service.writer, before_kinds)
    again = seed_ledger(service.writer, load_seeds())
    assert (again.appended, again.already_there) == (0, first.appended)
    assert service.reads.state(SOLEDAR).state.claimant.kind is None
