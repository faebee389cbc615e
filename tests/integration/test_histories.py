"""Point-in-time reads from the histories each process keeps in memory, on both
backends: always what a naive fold of the stored events says, whatever was
written and read before, by this process or another, within the memory budget."""

from __future__ import annotations

import random
from datetime import datetime
from uuid import UUID

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from factledger.service import LedgerService
from factledger.settings import Settings
from ledger.errors import ClaimNotFound
from ledger.events import EventType
from ledger.payloads import (
    EvidenceAttachment,
    Rating,
    Source,
    Stance,
    VerificationRecording,
    Withdrawal,
)
from ledger.recorded import RecordedEvent
from ledger.times import from_micros
from ledger.verdict import ClaimState, fold
from storage.mapper import decode_row
from tests.builders import at
from tests.writes import FILING, command, register, write


def stored(service: LedgerService, claim_id: UUID) -> list[RecordedEvent]:
    """The claim's events straight from the database, decoded afresh."""
    return [
        decode_row(row)
        for row in service.persistence.events.rows_after(0, 100_000)
        if row.claim_id == claim_id
    ]


def reference(
    service: LedgerService, claim_id: UUID, as_of: datetime, valid_at: datetime | None
) -> ClaimState | None:
    try:
        folded = fold(claim_id, stored(service, claim_id), as_of=as_of, valid_at=valid_at)
    except ClaimNotFound:
        return None
    return folded.state


def read(
    service: LedgerService, claim_id: UUID, as_of: datetime | None, valid_at: datetime | None
) -> ClaimState | None:
    try:
        return service.reads.state(claim_id, as_of=as_of, valid_at=valid_at).state
    except ClaimNotFound:
        return None


def verification(rating: Rating) -> VerificationRecording:
    return VerificationRecording.model_validate(
        {"rating": rating, "rationale": "Checked.", "sources": [{"url": "https://e.org/s"}]}
    )


Step = tuple[str, int, int]

steps = st.lists(
    st.tuples(
        st.sampled_from(["rebut", "withdraw", "verify", "retract", "read", "read_then", "other"]),
        st.integers(min_value=-30, max_value=600),
        st.integers(min_value=0, max_value=100),
    ),
    min_size=1,
    max_size=30,
)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=steps)
def test_reads_after_any_interleaving_of_writes_equal_a_naive_fold_of_the_stored_events(
    service: LedgerService, other_service: LedgerService, steps: list[Step]
) -> None:
    claim_id = register(service, occurred_at="2023-01-13T09:00:00Z").event.claim_id
    open_rebuttals: list[UUID] = []
    open_verifications: list[UUID] = []
    ratings = list(Rating)
    for what, minutes, which in steps:
        # Writes go through either process: the other's are news to this one.
        writer = service if which % 3 else other_service
        when = at(minutes) if minutes >= 0 else None
        if what == "rebut":
            written = write(
                writer, EventType.REBUTTAL_FILED, FILING, claim_id=claim_id, occurred_at=when
            )
            open_rebuttals.append(UUID(written.event.data["rebuttal_id"]))
        elif what == "verify":
            written = write(
                writer,
                EventType.VERIFICATION_RECORDED,
                verification(ratings[which % len(ratings)]),
                claim_id=claim_id,
                occurred_at=when,
            )
            open_verifications.append(UUID(written.event.data["verification_id"]))
        elif what in ("withdraw", "retract"):
            items = open_rebuttals if what == "withdraw" else open_verifications
            if items:
                event_type = (
                    EventType.REBUTTAL_WITHDRAWN
                    if what == "withdraw"
                    else EventType.VERIFICATION_RETRACTED
                )
                write(
                    writer,
                    event_type,
                    Withdrawal(reason="Wrong."),
                    claim_id=claim_id,
                    item_id=items.pop(which % len(items)),
                )
        elif what == "other":
            register(writer)
        else:
            events = stored(service, claim_id)
            recorded = [e.recorded_at_us for e in events]
            as_of = None if what == "read" else from_micros(recorded[which % len(recorded)])
            valid_at = at(which * 5) if which % 2 else None
            answer = read(service, claim_id, as_of, valid_at)
            # Without as_of, a read is as of the ledger's stable time (its newest
            # recorded_at, of whichever claim), which it echoes.
            stable = answer.as_of if answer is not None else from_micros(max(recorded))
            expected = reference(service, claim_id, as_of or stable, valid_at)
            assert answer == expected
    recorded = [e.recorded_at_us for e in stored(service, claim_id)]
    for as_of in [*recorded, recorded[0] - 1]:
        for valid_at in (None, at(-1), at(100), at(600)):
            when = from_micros(as_of)
            assert read(service, claim_id, when, valid_at) == reference(
                service, claim_id, when, valid_at
            )
            assert read(other_service, claim_id, when, valid_at) == reference(
                service, claim_id, when, valid_at
            )


def test_a_read_sees_what_another_process_wrote_before_it(
    service: LedgerService, other_service: LedgerService
) -> None:
    claim_id = register(service).event.claim_id
    assert service.reads.state(claim_id).folded.version == 1  # this process now holds it
    write(other_service, EventType.REBUTTAL_FILED, FILING, claim_id=claim_id)
    write(
        other_service,
        EventType.VERIFICATION_RECORDED,
        verification(Rating.FALSE),
        claim_id=claim_id,
    )
    state = service.reads.state(claim_id).state
    assert state.version == 3
    assert state.verdict.value == "false"


def test_a_read_as_of_a_time_already_known_asks_the_database_nothing(
    service: LedgerService, monkeypatch: pytest.MonkeyPatch
) -> None:
    claim_id = register(service).event.claim_id
    first = write(service, EventType.REBUTTAL_FILED, FILING, claim_id=claim_id)
    write(service, EventType.REBUTTAL_FILED, FILING, claim_id=claim_id)
    service.reads.state(claim_id)  # read with the head: the history is known up to it

    def no_query(*args: object) -> None:
        raise AssertionError("the database was asked")

    monkeypatch.setattr(service.reads.queries, "claim_rows", no_query)
    as_of = from_micros(first.event.recorded_at_us)
    state = service.reads.state(claim_id, as_of=as_of).state
    assert state.version == 2
    assert state.as_of == as_of


def test_the_histories_stay_within_their_budget_and_reads_stay_right(
    database_url: str,
) -> None:
    service = LedgerService(Settings(database_url=database_url, history_cache_mib=1))
    try:
        claims = [register(service).event.claim_id for _ in range(40)]
        rng = random.Random(4)
        pending = [
            service.writer.submit(
                command(EventType.REBUTTAL_FILED, FILING, claim_id=rng.choice(claims))
            )
            for _ in range(1500)
        ]
        for future in pending:
            future.result()
        for claim_id in claims:
            state = service.reads.state(claim_id).state
            expected = reference(service, claim_id, state.as_of, None)
            assert state == expected
        report = service.histories.report()
        assert report.size_bytes <= report.budget_bytes
        assert report.claims < len(claims)  # the least recently used were dropped
        assert report.misses > 0
    finally:
        service.close()


def test_evidence_by_stance_and_back_dated_events_read_the_same_from_memory(
    service: LedgerService,
) -> None:
    claim_id = register(service, occurred_at="2023-01-13T09:00:00Z").event.claim_id
    for minutes, stance in [(300, Stance.REFUTES), (30, Stance.SUPPORTS), (200, Stance.CONTEXT)]:
        write(
            service,
            EventType.EVIDENCE_ATTACHED,
            EvidenceAttachment(source=Source(url="https://e.org/e"), stance=stance),
            claim_id=claim_id,
            occurred_at=at(minutes),
        )
    for valid_at in (None, at(60), at(250)):
        as_of = datetime(2100, 1, 1, tzinfo=at(0).tzinfo)
        answer = read(service, claim_id, as_of, valid_at)
        assert answer is not None
        expected = reference(service, claim_id, answer.as_of, valid_at)
        assert answer == expected


def test_a_claim_dropped_from_memory_while_it_is_being_read_is_read_whole_not_lost(
    service: LedgerService,
) -> None:
    claim_id = register(service).event.claim_id
    service.reads.state(claim_id)  # kept in memory, synced with the head
    queries = service.reads.queries
    asked = queries.claim_rows

    def rows_then_dropped(claim: UUID, after_version: int) -> object:
        rows = asked(claim, after_version)  # nothing new after the kept version ...
        service.histories.forget([claim])  # ... and meanwhile the history is dropped
        return rows

    queries.claim_rows = rows_then_dropped  # type: ignore[method-assign,assignment]
    try:
        assert service.reads.state(claim_id).state.claim_id == claim_id
    finally:
        del queries.claim_rows  # type: ignore[attr-defined]
