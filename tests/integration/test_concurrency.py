"""Writers racing on one claim, on both backends.

Two services over one database stand for two server processes: each has its
own connection pool and its own cache of claims.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier
from typing import TypeVar
from uuid import UUID, uuid4

from factledger.commands import IfMatch, Written
from factledger.service import LedgerService
from ledger.errors import ClaimAlreadyRegistered, LedgerError, PreconditionFailed
from ledger.events import EventType
from ledger.payloads import ClaimRegistration, Party
from storage.rows import IdempotencyRow, IdempotencyScope
from tests.writes import CONTRIBUTOR, FILING, write
from tests.writes import register as register_claim

T = TypeVar("T")


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
    return register_claim(service, actor=CONTRIBUTOR).event.claim_id


def rebut(target: LedgerService, claim_id: UUID, **kwargs: object) -> Written:
    return write(
        target, EventType.REBUTTAL_FILED, FILING, actor=CONTRIBUTOR, claim_id=claim_id, **kwargs
    )


def test_concurrent_writers_on_one_claim_are_all_appended_with_gapless_versions(
    service: LedgerService, other_service: LedgerService
) -> None:
    claim_id = register(service)
    writers, each = 8, 4

    def write_some(i: int) -> list[Written]:
        target = service if i % 2 else other_service
        return [rebut(target, claim_id) for _ in range(each)]

    results = all_at_once(writers, write_some)
    assert not [r for r in results if isinstance(r, LedgerError)]
    _, history = service.reads.history(claim_id)
    assert [e.version for e in history] == list(range(1, writers * each + 2))
    by_position = sorted(history, key=lambda e: e.position)
    recorded = [e.recorded_at_us for e in by_position]
    assert recorded == sorted(set(recorded))
    assert len(service.reads.state(claim_id).folded.rebuttals) == writers * each


def test_an_if_match_race_has_exactly_one_winner(
    service: LedgerService, other_service: LedgerService
) -> None:
    claim_id = register(service)

    def write_one(i: int) -> Written:
        target = service if i % 2 else other_service
        return rebut(target, claim_id, if_match=IfMatch(versions=frozenset({1})))

    results = all_at_once(6, write_one)
    winners = [r for r in results if isinstance(r, Written)]
    assert len(winners) == 1
    assert all(isinstance(r, PreconditionFailed) for r in results if r not in winners)
    assert service.reads.state(claim_id).folded.version == 2


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

    def write_one(i: int) -> Written:
        target = service if i % 2 else other_service
        return rebut(target, claim_id, idempotency=key)

    results = all_at_once(6, write_one)
    assert all(isinstance(r, Written) for r in results)
    assert len({r.event.event_id for r in results if isinstance(r, Written)}) == 1
    assert sum(1 for r in results if isinstance(r, Written) and not r.replayed) == 1
    assert service.reads.state(claim_id).folded.version == 2


def test_concurrent_registrations_of_one_claim_id_register_it_once(
    service: LedgerService, other_service: LedgerService
) -> None:
    claim_id = uuid4()

    def write_one(i: int) -> Written:
        target = service if i % 2 else other_service
        return write(
            target,
            EventType.CLAIM_REGISTERED,
            ClaimRegistration(text=f"Version {i}", claimant=Party(name="Someone")),
            actor=CONTRIBUTOR,
            claim_id=claim_id,
        )

    results = all_at_once(6, write_one)
    assert len([r for r in results if isinstance(r, Written)]) == 1
    assert all(isinstance(r, ClaimAlreadyRegistered) for r in results if not isinstance(r, Written))


def test_many_writers_on_one_claim_in_one_process_all_succeed(service: LedgerService) -> None:
    claim_id = register(service)
    writers, each = 16, 6

    def write_some(_: int) -> list[Written]:
        return [rebut(service, claim_id) for _ in range(each)]

    results = all_at_once(writers, write_some)
    assert not [r for r in results if isinstance(r, LedgerError)]
    assert service.reads.state(claim_id).folded.version == writers * each + 1
