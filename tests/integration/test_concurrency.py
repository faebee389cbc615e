"""Writers racing on one claim, on both backends.

Two services over one database stand for two server processes: each has its
own connection pool and its own cache of claims.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier
from typing import TypeVar
from uuid import UUID, uuid4

import pytest

from factledger.service import LedgerService
from factledger.settings import Settings
from factledger.writes import IfMatch, WriteRequest, Written
from ledger.access import Actor, Role
from ledger.errors import ClaimAlreadyRegistered, LedgerError, PreconditionFailed
from ledger.payloads import ClaimRegistration, Party, RebuttalFiling
from ledger.times import parse_instant, utc_now
from storage.rows import IdempotencyRow, IdempotencyScope

T = TypeVar("T")
CONTRIBUTOR = Actor(id="contributor-key", name="A contributor", role=Role.CONTRIBUTOR)
FILING = RebuttalFiling(party=Party(name="Hanna Malyar"), statement="Battles continued.")


@pytest.fixture
def other_service(settings: Settings, service: LedgerService) -> Iterator[LedgerService]:
    """A second "process" on the same database (opened after the first made the schema)."""
    opened = LedgerService(settings)
    try:
        yield opened
    finally:
        opened.close()


def all_at_once(count: int, task: Callable[[int], T]) -> list[T | LedgerError]:
    """Runs `task(i)` for i in range(count) on as many threads, released together."""
    barrier = Barrier(count)

    def run(i: int) -> T | LedgerError:
        barrier.wait()
        try:
            return task(i)
        except LedgerError as error:
            return error

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def register(service: LedgerService) -> UUID:
    return service.writes.register_claim(
        ClaimRegistration(text="Soledar was taken.", claimant=Party(name="Igor Konashenkov")),
        claim_id=None,
        occurred_at=parse_instant("2023-01-13T09:00:00Z"),
        request=WriteRequest(actor=CONTRIBUTOR, received_at=utc_now()),
    ).envelope.claim_id


def test_concurrent_writers_on_one_claim_are_all_appended_with_gapless_versions(
    service: LedgerService, other_service: LedgerService
) -> None:
    claim_id = register(service)
    writers, each = 8, 4

    def write(i: int) -> list[Written]:
        target = service if i % 2 else other_service
        return [
            target.writes.file_rebuttal(
                claim_id,
                FILING,
                occurred_at=None,
                request=WriteRequest(actor=CONTRIBUTOR, received_at=utc_now()),
            )
            for _ in range(each)
        ]

    results = all_at_once(writers, write)
    assert not [r for r in results if isinstance(r, LedgerError)]
    history = service.reads.history(claim_id).envelopes
    assert [e.version for e in history] == list(range(1, writers * each + 2))
    by_position = sorted(history, key=lambda e: e.position)
    recorded = [parse_instant(e.recorded_at) for e in by_position]
    assert recorded == sorted(recorded)
    assert len(service.reads.state(claim_id).rebuttals) == writers * each


def test_an_if_match_race_has_exactly_one_winner(
    service: LedgerService, other_service: LedgerService
) -> None:
    claim_id = register(service)

    def write(i: int) -> Written:
        target = service if i % 2 else other_service
        return target.writes.file_rebuttal(
            claim_id,
            FILING,
            occurred_at=None,
            request=WriteRequest(
                actor=CONTRIBUTOR,
                received_at=utc_now(),
                if_match=IfMatch(versions=frozenset({1})),
            ),
        )

    results = all_at_once(6, write)
    winners = [r for r in results if isinstance(r, Written)]
    assert len(winners) == 1
    assert all(isinstance(r, PreconditionFailed) for r in results if r not in winners)
    assert service.reads.state(claim_id).version == 2


def test_concurrent_retries_with_one_idempotency_key_append_once(
    service: LedgerService, other_service: LedgerService
) -> None:
    claim_id = register(service)
    key = IdempotencyRow(
        scope=IdempotencyScope(
            api_key_id=CONTRIBUTOR.id,
            method="POST",
            path=f"/claims/{claim_id}/rebuttals",
            key="retry-1",
        ),
        request_hash="same body",
    )

    def write(i: int) -> Written:
        target = service if i % 2 else other_service
        return target.writes.file_rebuttal(
            claim_id,
            FILING,
            occurred_at=None,
            request=WriteRequest(actor=CONTRIBUTOR, received_at=utc_now(), idempotency=key),
        )

    results = all_at_once(6, write)
    assert all(isinstance(r, Written) for r in results)
    assert len({r.envelope.event_id for r in results if isinstance(r, Written)}) == 1
    assert sum(1 for r in results if isinstance(r, Written) and not r.replayed) == 1
    assert service.reads.state(claim_id).version == 2


def test_concurrent_registrations_of_one_claim_id_register_it_once(
    service: LedgerService, other_service: LedgerService
) -> None:
    claim_id = uuid4()

    def write(i: int) -> Written:
        target = service if i % 2 else other_service
        return target.writes.register_claim(
            ClaimRegistration(text=f"Version {i}", claimant=Party(name="Someone")),
            claim_id=claim_id,
            occurred_at=None,
            request=WriteRequest(actor=CONTRIBUTOR, received_at=utc_now()),
        )

    results = all_at_once(6, write)
    assert len([r for r in results if isinstance(r, Written)]) == 1
    assert all(isinstance(r, ClaimAlreadyRegistered) for r in results if not isinstance(r, Written))


def test_many_writers_on_one_claim_in_one_process_all_succeed(service: LedgerService) -> None:
    claim_id = register(service)
    writers, each = 16, 6

    def write(_: int) -> list[Written]:
        return [
            service.writes.file_rebuttal(
                claim_id,
                FILING,
                occurred_at=None,
                request=WriteRequest(actor=CONTRIBUTOR, received_at=utc_now()),
            )
            for _ in range(each)
        ]

    results = all_at_once(writers, write)
    assert not [r for r in results if isinstance(r, LedgerError)]
    assert service.reads.state(claim_id).version == writers * each + 1
