"""The rules the Claim aggregate guards (docs/events.md), one sentence each."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID, uuid4

import pytest

from ledger.claim import MAX_CLOCK_SKEW, Claim, ClaimEvent, Copied, resolve_occurred_at
from ledger.errors import (
    Conflict,
    InvalidRequest,
    ItemAlreadyWithdrawn,
    ItemIdTaken,
    ItemNotFound,
    NotFound,
    OccurredBeforeItem,
    OccurredBeforeRegistration,
    OccurredInFuture,
)
from ledger.events import EventType
from ledger.payloads import (
    ClaimRegistration,
    EvidenceAttachment,
    Party,
    RebuttalFiling,
    Source,
    Stance,
)
from tests.builders import EDITOR, T0, ClaimBuilder, at

MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True)
class Kind:
    """One kind of withdrawable item: how a test adds one and ends one."""

    name: str
    add: Callable[[ClaimBuilder, datetime], UUID]
    end: Callable[[ClaimBuilder, UUID, datetime], None]
    data_id: str


EVIDENCE = Kind(
    "evidence",
    lambda built, when: built.attach(when),
    lambda built, item, when: built.withdraw_evidence(item, when),
    "evidence_id",
)
REBUTTAL = Kind(
    "rebuttal",
    lambda built, when: built.rebut(when),
    lambda built, item, when: built.withdraw_rebuttal(item, when),
    "rebuttal_id",
)
VERIFICATION = Kind(
    "verification",
    lambda built, when: built.verify(when),
    lambda built, item, when: built.retract(item, when),
    "verification_id",
)
KINDS = [pytest.param(kind, id=kind.name) for kind in (EVIDENCE, REBUTTAL, VERIFICATION)]

COMMANDS = [
    pytest.param(lambda built, when: built.amend(when, text="Reworded."), id="amend"),
    pytest.param(lambda built, when: built.attach(when), id="attach evidence"),
    pytest.param(lambda built, when: built.rebut(when), id="file a rebuttal"),
    pytest.param(lambda built, when: built.verify(when), id="record a verification"),
]


def assert_nothing_appended(claim: Claim, version: int) -> None:
    assert claim.pending_events == []
    assert claim.collect_events() == []
    assert claim.version == version


# --- registration ---------------------------------------------------------------


def test_registering_a_claim_makes_one_pending_event_at_version_one() -> None:
    claim = Claim.register(
        claim_id=uuid4(),
        registration=ClaimRegistration(text="Soledar was taken.", claimant=Party(name="x")),
        occurred_at=T0,
        actor=EDITOR,
    )
    assert claim.version == 1
    [registered] = claim.collect_events()
    assert isinstance(registered, ClaimEvent)
    assert registered.event_type is EventType.CLAIM_REGISTERED
    assert registered.originator_version == 1


def test_registration_records_one_claim_registered_event_at_version_one() -> None:
    built = ClaimBuilder()
    [registered] = built.events
    assert registered.event_type is EventType.CLAIM_REGISTERED
    assert registered.originator_id == built.claim_id
    assert registered.originator_version == 1
    assert registered.occurred_at == T0


# --- each command appends exactly one event -------------------------------------


@pytest.mark.parametrize("command", COMMANDS)
def test_a_command_appends_exactly_one_event_at_the_next_version(
    command: Callable[[ClaimBuilder, datetime], object],
) -> None:
    built = ClaimBuilder()
    built.rebut(at(1))
    command(built, at(10))
    assert [event.originator_version for event in built.events] == [1, 2, 3]
    assert built.claim.version == 3


@pytest.mark.parametrize("kind", KINDS)
def test_ending_an_item_appends_exactly_one_event_at_the_next_version(kind: Kind) -> None:
    built = ClaimBuilder()
    item = kind.add(built, at(10))
    kind.end(built, item, at(20))
    assert [event.originator_version for event in built.events] == [1, 2, 3]
    assert built.claim.version == 3


@pytest.mark.parametrize("kind", KINDS)
def test_the_server_makes_a_fresh_uuid_for_each_item_and_records_it_in_the_data(
    kind: Kind,
) -> None:
    built = ClaimBuilder()
    first = kind.add(built, at(10))
    second = kind.add(built, at(10))
    assert isinstance(first, UUID)
    assert first.version == 4
    assert first != second
    assert first != built.claim_id
    recorded_ids = [getattr(e.data, kind.data_id) for e in built.events[1:]]
    assert recorded_ids == [first, second]
    assert first not in {e.event_id for e in built.events}


def test_every_event_gets_an_event_id_of_its_own() -> None:
    built = ClaimBuilder()
    rebuttal = built.rebut(at(10))
    built.withdraw_rebuttal(rebuttal, at(20))
    event_ids = [event.event_id for event in built.events]
    assert len(set(event_ids)) == 3


def test_every_event_has_a_salt_of_32_hex_digits_that_no_other_event_shares() -> None:
    built = ClaimBuilder()
    evidence = built.attach(at(5))
    built.withdraw_evidence(evidence, at(6))
    rebuttal = built.rebut(at(10))
    built.withdraw_rebuttal(rebuttal, at(20))
    verification = built.verify(at(30))
    built.retract(verification, at(40))
    built.amend(at(50), tags=["soledar"])
    salts = [event.data_salt for event in built.events]
    assert len(salts) == 8
    assert all(re.fullmatch(r"[0-9a-f]{32}", salt) for salt in salts)
    assert len(set(salts)) == len(salts)


# --- nothing before the registration -------------------------------------------


@pytest.mark.parametrize("command", COMMANDS)
def test_an_event_may_not_occur_before_the_claim_was_made(
    command: Callable[[ClaimBuilder, datetime], object],
) -> None:
    built = ClaimBuilder()
    with pytest.raises(OccurredBeforeRegistration):
        command(built, T0 - MICROSECOND)
    assert_nothing_appended(built.claim, version=1)


@pytest.mark.parametrize("command", COMMANDS)
def test_an_event_may_occur_at_the_instant_the_claim_was_made(
    command: Callable[[ClaimBuilder, datetime], object],
) -> None:
    built = ClaimBuilder()
    command(built, T0)
    assert built.claim.version == 2


@pytest.mark.parametrize("kind", KINDS)
def test_an_item_may_not_be_ended_before_the_claim_was_made(kind: Kind) -> None:
    built = ClaimBuilder()
    item = kind.add(built, T0)
    with pytest.raises(OccurredBeforeRegistration):
        kind.end(built, item, T0 - timedelta(days=1))
    assert_nothing_appended(built.claim, version=2)


def test_a_back_filled_claim_takes_events_from_its_own_registration() -> None:
    built = ClaimBuilder(made_at=T0 - timedelta(days=365))
    built.rebut(T0 - timedelta(days=300))
    assert built.claim.version == 2


def test_an_event_before_the_registration_is_an_invalid_request_about_occurred_at() -> None:
    assert issubclass(OccurredBeforeRegistration, InvalidRequest)
    assert OccurredBeforeRegistration.field == "occurred_at"


# --- ending items ---------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_an_item_may_be_ended_at_the_same_instant_it_occurred(kind: Kind) -> None:
    built = ClaimBuilder()
    item = kind.add(built, at(60))
    kind.end(built, item, at(60))
    assert built.claim.version == 3


def test_a_withdrawal_may_occur_at_the_same_instant_as_its_rebuttal() -> None:
    built = ClaimBuilder()
    rebuttal = built.rebut(at(60))
    built.withdraw_rebuttal(rebuttal, at(60))
    assert built.claim.version == 3


@pytest.mark.parametrize("kind", KINDS)
def test_an_item_may_not_be_ended_before_it_occurred(kind: Kind) -> None:
    built = ClaimBuilder()
    item = kind.add(built, at(60))
    with pytest.raises(OccurredBeforeItem):
        kind.end(built, item, at(60) - MICROSECOND)
    assert_nothing_appended(built.claim, version=2)


@pytest.mark.parametrize("kind", KINDS)
def test_an_item_may_not_be_ended_twice(kind: Kind) -> None:
    built = ClaimBuilder()
    item = kind.add(built, at(60))
    kind.end(built, item, at(120))
    with pytest.raises(ItemAlreadyWithdrawn):
        kind.end(built, item, at(180))
    assert_nothing_appended(built.claim, version=3)


def test_ending_an_item_twice_is_a_conflict() -> None:
    built = ClaimBuilder()
    verification = built.verify(at(60))
    built.retract(verification, at(120))
    with pytest.raises(Conflict, match="already retracted"):
        built.retract(verification, at(120))


def test_ending_one_item_leaves_another_of_the_same_kind_open() -> None:
    built = ClaimBuilder()
    first = built.rebut(at(10))
    second = built.rebut(at(20))
    built.withdraw_rebuttal(first, at(30))
    built.withdraw_rebuttal(second, at(30))
    assert built.claim.version == 5


@pytest.mark.parametrize("kind", KINDS)
def test_ending_an_unknown_item_is_not_found(kind: Kind) -> None:
    built = ClaimBuilder()
    unknown = UUID("00000000-0000-4000-8000-000000000000")
    with pytest.raises(ItemNotFound) as raised:
        kind.end(built, unknown, at(60))
    assert raised.value.kind == kind.name
    assert raised.value.item_id == unknown
    assert isinstance(raised.value, NotFound)
    assert_nothing_appended(built.claim, version=1)


@pytest.mark.parametrize(
    ("added", "ended_as"),
    [
        pytest.param(added, ended_as, id=f"{added.name} ended as {ended_as.name}")
        for added in (EVIDENCE, REBUTTAL, VERIFICATION)
        for ended_as in (EVIDENCE, REBUTTAL, VERIFICATION)
        if added is not ended_as
    ],
)
def test_an_item_of_another_kind_is_not_found(added: Kind, ended_as: Kind) -> None:
    built = ClaimBuilder()
    item = added.add(built, at(60))
    with pytest.raises(ItemNotFound) as raised:
        ended_as.end(built, item, at(120))
    assert raised.value.kind == ended_as.name
    assert_nothing_appended(built.claim, version=2)


def test_an_item_of_another_claim_is_not_found() -> None:
    other = ClaimBuilder()
    rebuttal = other.rebut(at(60))
    built = ClaimBuilder()
    with pytest.raises(ItemNotFound):
        built.withdraw_rebuttal(rebuttal, at(120))


@pytest.mark.parametrize("kind", KINDS)
def test_not_found_comes_before_occurring_before_the_registration(kind: Kind) -> None:
    built = ClaimBuilder()
    with pytest.raises(ItemNotFound):
        kind.end(built, UUID(int=1), T0 - timedelta(days=1))


@pytest.mark.parametrize("kind", KINDS)
def test_occurring_before_its_item_comes_before_being_already_ended(kind: Kind) -> None:
    built = ClaimBuilder()
    item = kind.add(built, at(60))
    kind.end(built, item, at(90))
    with pytest.raises(OccurredBeforeItem):
        kind.end(built, item, at(30))
    assert_nothing_appended(built.claim, version=3)


def _replayed(built: ClaimBuilder) -> Claim:
    rebuilt: Claim | None = None
    for event in built.events:
        rebuilt = event.mutate(rebuilt)
    assert rebuilt is not None
    return rebuilt


@pytest.mark.parametrize(
    "rebuild",
    [
        pytest.param(_replayed, id="replayed"),
        pytest.param(
            lambda built: Claim.from_history(built.claim_id, built.recorded), id="recorded"
        ),
    ],
)
@pytest.mark.parametrize("kind", KINDS)
def test_the_rules_hold_on_a_claim_rebuilt_from_its_events(
    kind: Kind, rebuild: Callable[[ClaimBuilder], Claim]
) -> None:
    built = ClaimBuilder()
    item = kind.add(built, at(60))
    kind.end(built, item, at(90))
    rebuilt = rebuild(built)
    assert rebuilt.version == 3
    built.claim = rebuilt
    with pytest.raises(OccurredBeforeItem):
        kind.end(built, item, at(30))
    with pytest.raises(ItemAlreadyWithdrawn):
        kind.end(built, item, at(120))
    with pytest.raises(OccurredBeforeRegistration):
        kind.add(built, T0 - MICROSECOND)


# --- when an event occurred -----------------------------------------------------

NOW = at(600)


def test_an_event_without_a_world_time_occurred_when_the_server_accepted_it() -> None:
    assert resolve_occurred_at(None, NOW) == NOW


@pytest.mark.parametrize(
    "requested",
    [
        pytest.param(NOW, id="now"),
        pytest.param(NOW - timedelta(days=3650), id="years ago"),
        pytest.param(NOW + timedelta(minutes=1), id="a minute ahead"),
        pytest.param(NOW + MAX_CLOCK_SKEW - MICROSECOND, id="just under five minutes ahead"),
        pytest.param(NOW + timedelta(minutes=5), id="exactly five minutes ahead"),
    ],
)
def test_a_world_time_in_the_past_or_up_to_five_minutes_ahead_is_kept(
    requested: datetime,
) -> None:
    assert resolve_occurred_at(requested, NOW) == requested


@pytest.mark.parametrize(
    "requested",
    [
        pytest.param(NOW + timedelta(minutes=5) + MICROSECOND, id="a microsecond too far"),
        pytest.param(NOW + timedelta(minutes=6), id="six minutes ahead"),
        pytest.param(NOW + timedelta(days=365), id="a year ahead"),
    ],
)
def test_a_world_time_more_than_five_minutes_ahead_of_the_server_is_refused(
    requested: datetime,
) -> None:
    with pytest.raises(OccurredInFuture) as raised:
        resolve_occurred_at(requested, NOW)
    assert isinstance(raised.value, InvalidRequest)
    assert raised.value.field == "occurred_at"


def test_the_allowed_clock_skew_is_five_minutes() -> None:
    assert timedelta(minutes=5) == MAX_CLOCK_SKEW


# --- events copied from another ledger (factledger import) ---------------------------


def test_a_copied_registration_keeps_its_event_id_and_salt() -> None:
    copied = Copied(uuid4(), "ab" * 16)
    claim = Claim.register(
        claim_id=uuid4(),
        registration=ClaimRegistration(text="Soledar was taken.", claimant=Party(name="X")),
        occurred_at=T0,
        actor=EDITOR,
        copied=copied,
    )
    [event] = claim.collect_events()
    assert isinstance(event, ClaimEvent)
    assert (event.event_id, event.data_salt) == (copied.event_id, copied.data_salt)


def test_a_copied_event_keeps_its_event_id_salt_and_the_id_of_the_item_it_begins() -> None:
    built = ClaimBuilder()
    copied, rebuttal_id = Copied(uuid4(), "cd" * 16), uuid4()
    event = built.claim.execute(
        EventType.REBUTTAL_FILED,
        RebuttalFiling(party=Party(name="Hanna Malyar"), statement="Battles continued."),
        occurred_at=at(1),
        actor=EDITOR,
        item_id=rebuttal_id,
        copied=copied,
    )
    assert (event.event_id, event.data_salt) == (copied.event_id, copied.data_salt)
    assert getattr(event.data, "rebuttal_id") == rebuttal_id  # noqa: B009 (the typed data is generic)


def test_a_copied_item_may_not_take_an_id_its_claim_already_has() -> None:
    built = ClaimBuilder()
    rebuttal_id = built.rebut(at(1))
    with pytest.raises(ItemIdTaken, match=str(rebuttal_id)):
        built.claim.execute(
            EventType.EVIDENCE_ATTACHED,
            EvidenceAttachment(source=Source(url="https://example.org/e"), stance=Stance.REFUTES),
            occurred_at=at(2),
            actor=EDITOR,
            item_id=rebuttal_id,
            copied=Copied(uuid4(), "ef" * 16),
        )
    assert isinstance(ItemIdTaken("x"), Conflict)
