"""Export and import on both backends: a ledger exported and imported into an
empty one gives the same states and timelines, for every history; importing
twice appends nothing; the first line that cannot be taken stops the import,
every line before it imported and nothing from it on."""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from factledger.exporting import plan_export
from factledger.importing import Importer, ImportReport, ImportStopped
from factledger.service import LedgerService
from factledger.settings import Settings
from ledger.events import EventType
from ledger.payloads import CitedSource, Rating, VerificationRecording, Withdrawal
from ledger.times import format_instant, from_micros, utc_now
from tests.stories import append, claim_events, interleave
from tests.verdict_model import steps
from tests.writes import FILING, register, write

LEDGER_TIMES = frozenset({"position", "recorded_at", "as_of", "leaf_index"})
"""What each ledger gives an event of its own."""


@pytest.fixture
def second_ledger(second_database_url: str) -> Iterator[LedgerService]:
    """An empty ledger to import into."""
    service = LedgerService(Settings(database_url=second_database_url, projector=False))
    try:
        yield service
    finally:
        service.close()


def exported(service: LedgerService) -> list[bytes]:
    return list(plan_export(service.persistence.event_log).lines())


def imported(service: LedgerService, lines: list[bytes], batch_size: int = 500) -> ImportReport:
    persistence = service.persistence
    return Importer(persistence.appender, persistence.events, batch_size=batch_size).run(lines)


def without_ledger_times(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_ledger_times(v) for k, v in value.items() if k not in LEDGER_TIMES}
    if isinstance(value, list):
        return [without_ledger_times(v) for v in value]
    return value


def envelopes(lines: list[bytes]) -> list[dict[str, Any]]:
    return [without_ledger_times(json.loads(line)) for line in lines]


def answers(service: LedgerService, claim_id: UUID) -> list[Any]:
    """What the ledger says of a claim: now, as of each of its events' recording
    and valid at each one's world time (states, timelines, history), without
    the times only this ledger gives."""
    reads = service.reads
    _, history = reads.history(claim_id)
    said: list[Any] = [[without_ledger_times(e.data) for e in history]]
    for event in [None, *history]:
        as_of = from_micros(event.recorded_at_us) if event else None
        valid_at = from_micros(event.occurred_at_us) if event else None
        for window in ({"as_of": as_of}, {"valid_at": valid_at}):
            state = reads.state(claim_id, **window).state.model_dump(mode="json")
            _, timeline = reads.timeline(claim_id, **window)
            said.append(without_ledger_times(state))
            said.append(
                [
                    (c.from_, c.to, c.event.event_id, c.event.occurred_at, c.event.actor, c.reason)
                    for c in timeline
                ]
            )
    return said


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(histories=st.lists(steps, min_size=1, max_size=3), order=st.randoms())
def test_a_ledger_exported_and_imported_into_an_empty_one_gives_the_same_states_and_timelines(
    service: LedgerService,
    second_ledger: LedgerService,
    histories: list[Any],
    order: random.Random,
) -> None:
    claims = [claim_events(history) for history in histories]
    append(service, interleave(claims, order))
    lines = exported(service)
    report = imported(second_ledger, lines)
    # Each example adds claims to the same two ledgers: the earlier ones are there.
    assert report.appended == sum(len(events) for events in claims)
    assert report.appended + report.already_there == len(lines)
    again = exported(second_ledger)
    assert envelopes(again) == envelopes(lines)
    for events in claims:
        claim_id = events[0].originator_id
        assert answers(second_ledger, claim_id) == answers(service, claim_id)


# --- a small ledger, and its export spoilt line by line -------------------------------


def small_ledger(service: LedgerService) -> list[bytes]:
    """Two claims, one with a rebuttal withdrawn and a verification retracted: its export."""
    first = register(service).event.claim_id
    filed = write(
        service,
        EventType.REBUTTAL_FILED,
        FILING,
        claim_id=first,
        occurred_at="2023-01-13T10:00:00Z",
    )
    second = register(service, occurred_at="2023-01-12T12:00:00Z").event.claim_id
    verified = write(
        service,
        EventType.VERIFICATION_RECORDED,
        VerificationRecording(
            rating=Rating.FALSE,
            rationale="Fighting went on.",
            sources=[CitedSource(url="https://example.org/report")],
        ),
        claim_id=first,
        occurred_at="2023-01-14T12:00:00Z",
    )
    write(
        service,
        EventType.REBUTTAL_WITHDRAWN,
        Withdrawal(reason="Filed in error."),
        claim_id=first,
        item_id=UUID(filed.event.data["rebuttal_id"]),
        occurred_at="2023-01-15T12:00:00Z",
    )
    write(
        service,
        EventType.VERIFICATION_RETRACTED,
        Withdrawal(reason="Wrong source."),
        claim_id=first,
        item_id=UUID(verified.event.data["verification_id"]),
        occurred_at="2023-01-16T12:00:00Z",
    )
    write(service, EventType.REBUTTAL_FILED, FILING, claim_id=second)
    return exported(service)


def test_importing_the_same_file_twice_appends_nothing(
    service: LedgerService, second_ledger: LedgerService
) -> None:
    lines = small_ledger(service)
    first = imported(second_ledger, lines)
    second = imported(second_ledger, lines, batch_size=3)
    assert (first.appended, first.already_there) == (len(lines), 0)
    assert (second.appended, second.already_there) == (0, len(lines))
    assert len(exported(second_ledger)) == len(lines)


def test_an_import_keeps_ids_times_actors_data_and_salts_and_records_its_own_times(
    service: LedgerService, second_ledger: LedgerService
) -> None:
    lines = small_ledger(service)
    imported(second_ledger, lines)
    theirs, ours = (
        [json.loads(line) for line in lines],
        [json.loads(line) for line in exported(second_ledger)],
    )
    assert [without_ledger_times(e) for e in ours] == [without_ledger_times(e) for e in theirs]
    assert all(o["recorded_at"] > t["recorded_at"] for o, t in zip(ours, theirs, strict=True))


def test_an_envelope_leaf_index_is_accepted_and_ignored(
    service: LedgerService, second_ledger: LedgerService
) -> None:
    lines = [
        json.dumps({**json.loads(line), "leaf_index": 1000 + n}).encode()
        for n, line in enumerate(small_ledger(service))
    ]
    assert imported(second_ledger, lines).appended == len(lines)


def test_blank_lines_are_skipped_and_counted(
    service: LedgerService, second_ledger: LedgerService
) -> None:
    lines = small_ledger(service)
    report = imported(second_ledger, [b"\n", *lines, b"  \n"])
    assert (report.lines, report.appended) == (len(lines) + 2, len(lines))


Spoil = Callable[[dict[str, Any], list[dict[str, Any]]], Any]


def _set(**fields: Any) -> Spoil:
    return lambda envelope, _: {**envelope, **fields}


def _set_data(**fields: Any) -> Spoil:
    return lambda envelope, _: {**envelope, "data": {**envelope["data"], **fields}}


def _without(name: str) -> Spoil:
    return lambda envelope, _: {k: v for k, v in envelope.items() if k != name}


def _as_another_event(envelope: dict[str, Any], before: list[dict[str, Any]]) -> dict[str, Any]:
    """Another event under the id of an event of a line before it."""
    return {**envelope, "event_id": before[0]["event_id"]}


def _same_claim_as_line_1(envelope: dict[str, Any], before: list[dict[str, Any]]) -> Any:
    return {**envelope, "claim_id": before[0]["claim_id"]}


def _the_rebuttal_id_of_line_2(envelope: dict[str, Any], before: list[dict[str, Any]]) -> Any:
    taken = before[1]["data"]["rebuttal_id"]
    return {**envelope, "data": {**envelope["data"], "verification_id": taken}}


def _far_future(envelope: dict[str, Any], _: list[dict[str, Any]]) -> dict[str, Any]:
    return {**envelope, "occurred_at": format_instant(utc_now() + timedelta(hours=1))}


SPOILT: dict[str, tuple[int, Spoil, str]] = {
    # name: (the line spoilt, how, what the error says)
    "bad JSON": (3, lambda _e, _b: '{"event_id": ', "not JSON"),
    "not an object": (3, lambda _e, _b: [1, 2], "object"),
    "a key missing": (3, _without("data_salt"), "data_salt"),
    "an unknown key": (3, _set(weight=3), "weight"),
    "an unknown type": (3, _set(type="ClaimDeleted"), "unknown event type 'ClaimDeleted'"),
    "data against its model": (4, _set_data(rating="great"), "data.rating"),
    "data with an unknown field": (4, _set_data(score=1), "data.score"),
    "null for an absent field": (3, _set_data(language=None), "data.language"),
    "a salt that is not hex": (3, _set(data_salt="z" * 32), "data_salt"),
    "a version gap": (4, _set(version=4), "versions must follow on"),
    "a version taken": (4, _set(version=1), "versions must follow on"),
    "a role too small": (4, _set(actor={"id": "k", "name": "R", "role": "contributor"}), "role"),
    "an unknown claim": (4, _set(claim_id=str(uuid4())), "not registered"),
    "an unknown item": (5, _set_data(rebuttal_id=str(uuid4())), "has no rebuttal"),
    "before its item": (6, _set(occurred_at="2023-01-14T11:00:00.000000Z"), "before the"),
    "a claim registered again": (3, _same_claim_as_line_1, "already registered"),
    "an item id its claim has": (4, _the_rebuttal_id_of_line_2, "already has an item"),
    "in the future": (7, _far_future, "5 minutes"),
    "another event under a known id": (5, _as_another_event, "different event"),
}


@pytest.mark.parametrize("batch_size", [500, 2])
@pytest.mark.parametrize("spoilt", list(SPOILT), ids=list(SPOILT))
def test_a_line_that_cannot_be_taken_stops_the_import_with_its_number_and_nothing_from_it_on(
    service: LedgerService, second_ledger: LedgerService, spoilt: str, batch_size: int
) -> None:
    lines = small_ledger(service)
    number, spoil, said = SPOILT[spoilt]
    parsed = [json.loads(line) for line in lines]
    bad = spoil(parsed[number - 1], parsed[: number - 1])
    lines[number - 1] = (bad if isinstance(bad, str) else json.dumps(bad)).encode()
    with pytest.raises(ImportStopped) as stopped:
        imported(second_ledger, lines, batch_size=batch_size)
    assert stopped.value.line == number
    assert said in stopped.value.detail
    assert str(stopped.value).startswith(f"line {number}: ")
    assert stopped.value.report.appended == number - 1
    assert envelopes(exported(second_ledger)) == envelopes(lines[: number - 1])


def test_a_claim_written_by_another_writer_during_the_import_stops_it_and_nothing_is_half_applied(
    service: LedgerService, second_ledger: LedgerService
) -> None:
    lines = small_ledger(service)
    persistence = second_ledger.persistence
    importer = Importer(persistence.appender, persistence.events)
    importer.run(lines[:3])  # the first claim, held by the importer at version 2
    claim_id = UUID(json.loads(lines[0])["claim_id"])
    write(second_ledger, EventType.REBUTTAL_FILED, FILING, claim_id=claim_id)  # takes version 3
    with pytest.raises(ImportStopped, match="another writer") as stopped:
        importer.run(lines[3:])
    assert stopped.value.line == 1  # of the lines given this time
    assert stopped.value.report.appended == 0
    assert len(exported(second_ledger)) == 4
