"""The event store on both backends: envelopes, positions, times, as-of reads."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID, uuid4

import pytest

from factledger.commands import Written
from factledger.service import LedgerService
from ledger.claim import Claim
from ledger.envelope import Envelope, envelope_of
from ledger.errors import ClaimAlreadyRegistered, ClaimNotFound, EventNotFound
from ledger.events import EventType
from ledger.payloads import ClaimRegistration, Party, Rating, VerificationRecording, Withdrawal
from ledger.times import parse_instant, utc_now
from ledger.verdict import Verdict
from tests.writes import FILING, register, write


def rebut(service: LedgerService, claim_id: UUID, occurred_at: str | None = None) -> Written:
    return write(
        service, EventType.REBUTTAL_FILED, FILING, claim_id=claim_id, occurred_at=occurred_at
    )


def history(service: LedgerService, claim_id: UUID, **times: object) -> list[Envelope]:
    _, events = service.reads.history(claim_id, **times)  # type: ignore[arg-type]
    return [envelope_of(event) for event in events]


def page(service: LedgerService, after: int, limit: int) -> list[Envelope]:
    return [envelope_of(event) for event in service.persistence.event_log.page(after, limit)]


def test_an_envelope_read_back_is_identical_to_the_one_returned_at_write_time(
    service: LedgerService,
) -> None:
    registered = register(service).envelope
    rebutted = rebut(service, registered.claim_id).envelope
    log = service.persistence.event_log
    assert envelope_of(log.by_event_id(rebutted.event_id)) == rebutted
    assert page(service, 0, 10) == [registered, rebutted]
    assert history(service, registered.claim_id) == [registered, rebutted]


def test_an_envelope_keeps_the_data_as_written_without_absent_optional_fields(
    service: LedgerService,
) -> None:
    envelope = register(service).envelope
    assert envelope.data == {"text": "Soledar was taken.", "claimant": {"name": "Igor Konashenkov"}}
    assert envelope.type == "ClaimRegistered"
    assert envelope.actor == {"id": "editor-key", "name": "An editor", "role": "editor"}
    assert len(bytes.fromhex(envelope.data_salt)) == 16


def test_versions_count_from_one_and_positions_only_grow(service: LedgerService) -> None:
    first = register(service).envelope
    second = register(service).envelope
    written = [rebut(service, first.claim_id).envelope, rebut(service, second.claim_id).envelope]
    assert [first.version, second.version] == [1, 1]
    assert [e.version for e in written] == [2, 2]
    positions = [e.position for e in (first, second, *written)]
    assert positions == sorted(set(positions))


def test_recorded_at_never_goes_back_as_positions_grow(service: LedgerService) -> None:
    claim_id = register(service).envelope.claim_id
    for _ in range(20):
        rebut(service, claim_id)
    events = page(service, 0, 100)
    recorded = [parse_instant(e.recorded_at) for e in events]
    assert recorded == sorted(recorded)
    assert len(set(recorded)) == len(recorded)


def test_times_are_written_with_six_fractional_digits_in_utc(service: LedgerService) -> None:
    envelope = register(service, "2023-01-13T11:00:00.1234567+02:00").envelope
    assert envelope.occurred_at == "2023-01-13T09:00:00.123456Z"
    assert envelope.recorded_at.endswith("Z")
    assert len(envelope.recorded_at) == len("2026-11-25T10:00:00.123456Z")


def test_an_answer_for_an_echoed_as_of_never_changes(service: LedgerService) -> None:
    claim_id = register(service).envelope.claim_id
    rebut(service, claim_id)
    before = service.reads.state(claim_id)
    write(
        service,
        EventType.VERIFICATION_RECORDED,
        VerificationRecording(
            rating=Rating.FALSE,
            rationale="Checked.",
            sources=[{"url": "https://e.org"}],  # type: ignore[list-item]
        ),
        claim_id=claim_id,
    )
    rebut(service, claim_id, "2023-01-13T09:30:00Z")  # back-filled in world time
    again = service.reads.state(claim_id, as_of=before.window.as_of)
    assert again.state == before.state
    assert service.reads.state(claim_id).folded.verdict is Verdict.FALSE


def test_as_of_later_than_the_stable_time_is_answered_as_of_the_stable_time(
    service: LedgerService,
) -> None:
    written = register(service).envelope
    state = service.reads.state(written.claim_id, as_of=utc_now() + timedelta(days=1))
    assert state.window.as_of == parse_instant(written.recorded_at)


def test_a_claim_not_yet_recorded_as_of_a_time_is_not_found(service: LedgerService) -> None:
    written = register(service).envelope
    before = parse_instant(written.recorded_at) - timedelta(microseconds=1)
    with pytest.raises(ClaimNotFound, match="did not exist"):
        service.reads.state(written.claim_id, as_of=before)


def test_an_unknown_claim_or_event_is_not_found(service: LedgerService) -> None:
    with pytest.raises(ClaimNotFound):
        service.reads.state(uuid4())
    register(service)
    with pytest.raises(ClaimNotFound):
        service.reads.timeline(uuid4())
    with pytest.raises(EventNotFound):
        service.persistence.event_log.by_event_id(uuid4())


def test_the_history_as_of_a_time_holds_only_what_was_recorded_by_then(
    service: LedgerService,
) -> None:
    registered = register(service).envelope
    rebutted = rebut(service, registered.claim_id).envelope
    withdrawal = write(
        service,
        EventType.REBUTTAL_WITHDRAWN,
        Withdrawal(reason="Filed in error."),
        claim_id=registered.claim_id,
        item_id=UUID(rebutted.data["rebuttal_id"]),
    ).envelope
    as_of = parse_instant(rebutted.recorded_at)
    assert history(service, registered.claim_id, as_of=as_of) == [registered, rebutted]
    assert history(service, registered.claim_id)[-1] == withdrawal


def test_the_event_feed_pages_in_position_order(service: LedgerService) -> None:
    claim_id = register(service).envelope.claim_id
    for _ in range(4):
        rebut(service, claim_id)
    first, second = page(service, 0, 3), page(service, 3, 3)
    assert [e.version for e in first + second] == [1, 2, 3, 4, 5]
    assert page(service, second[-1].position, 3) == []


def test_a_client_chosen_claim_id_is_kept_and_taken_only_once(service: LedgerService) -> None:
    claim_id = uuid4()
    registration = ClaimRegistration(text="x", claimant=Party(name="y"))
    written = write(service, EventType.CLAIM_REGISTERED, registration, claim_id=claim_id)
    assert written.envelope.claim_id == claim_id
    with pytest.raises(ClaimAlreadyRegistered):
        write(service, EventType.CLAIM_REGISTERED, registration, claim_id=claim_id)


def test_the_librarys_notification_log_reads_the_ledger_in_position_order(
    service: LedgerService,
) -> None:
    claim_id = register(service).envelope.claim_id
    rebut(service, claim_id)
    recorder = service.persistence.event_store.recorder
    notifications = recorder.select_notifications(start=None, limit=10)
    envelopes = page(service, 0, 10)
    assert [n.id for n in notifications] == [e.position for e in envelopes]
    assert recorder.max_notification_id() == envelopes[-1].position
    after_first = recorder.select_notifications(
        start=envelopes[0].position, limit=10, inclusive_of_start=False
    )
    assert [n.originator_version for n in after_first] == [2]


def test_an_upcaster_reads_an_old_payload_into_the_new_shape_while_the_envelope_stays_as_written(
    service: LedgerService, monkeypatch: pytest.MonkeyPatch
) -> None:
    claim_id = register(service).envelope.claim_id
    written = rebut(service, claim_id).envelope

    def upcast_v1_v2(state: dict[str, object]) -> None:
        data = state["data"]
        assert isinstance(data, dict)
        data["statement"] = f"[v1] {data['statement']}"

    monkeypatch.setattr(Claim.RebuttalFiled, "class_version", 2, raising=False)
    monkeypatch.setattr(
        Claim.RebuttalFiled, "upcast_v1_v2", staticmethod(upcast_v1_v2), raising=False
    )

    service.histories.forget([claim_id])  # as a process that had not read it yet
    [rebuttal] = service.reads.state(claim_id).folded.rebuttals.values()
    assert rebuttal.data["statement"] == "[v1] Battles continued."
    assert envelope_of(service.persistence.event_log.by_event_id(written.event_id)) == written
    assert history(service, claim_id)[-1].data["statement"] == "Battles continued."
