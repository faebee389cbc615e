"""The batching writer on both backends: commands that arrive together are
committed together, yet each is answered as if it had come alone.

Two services over one database stand for two server processes; each has its
own writer and its own histories in memory.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar
from uuid import UUID, uuid4

import psycopg
import pytest

from factledger.commands import Command, IfMatch, Written
from factledger.service import LedgerService
from factledger.writer import Writer
from ledger.errors import (
    ClaimNotFound,
    IdempotencyKeyReused,
    OutcomeUnknown,
    PreconditionFailed,
    Unavailable,
)
from ledger.events import EventType
from ledger.payloads import Withdrawal
from storage.errors import CommitInterrupted
from storage.rows import Appended, IdempotencyRow, IdempotencyScope, NewEvent
from tests.writes import FILING, REGISTRATION, command, register

T = TypeVar("T")


def _as_it_is(_: Writer) -> None:
    pass


def in_one_batch(
    service: LedgerService,
    commands: Sequence[Command],
    prepare: Callable[[Writer], None] = _as_it_is,
) -> tuple[list[Written | BaseException], Writer]:
    """Submits the commands to a fresh writer all at once (so that it takes them as one
    batch); their answers, in order, and the writer."""

    async def run() -> tuple[list[Written | BaseException], Writer]:
        writer = service.new_writer()
        prepare(writer)
        await writer.start()
        try:
            futures = [writer.submit(c) for c in commands]
            answers = await asyncio.gather(*futures, return_exceptions=True)
        finally:
            await writer.close()
        return list(answers), writer

    return asyncio.run(run())


def rebut(claim_id: UUID, **kwargs: Any) -> Command:
    return command(EventType.REBUTTAL_FILED, FILING, claim_id=claim_id, **kwargs)


def keyed(claim_id: UUID, key: str, request_hash: str = "body") -> IdempotencyRow:
    return IdempotencyRow(
        scope=IdempotencyScope(
            api_key_id="editor-key", method="POST", path=f"/claims/{claim_id}/rebuttals", key=key
        ),
        request_hash=request_hash,
    )


def versions(service: LedgerService, claim_id: UUID) -> list[int]:
    _, events = service.reads.history(claim_id)
    return [event.version for event in events]


def test_commands_submitted_together_are_committed_in_one_transaction(
    service: LedgerService,
) -> None:
    claims = [register(service).event.claim_id for _ in range(3)]
    answers, writer = in_one_batch(service, [rebut(claims[i % 3]) for i in range(12)])
    assert all(isinstance(a, Written) for a in answers)
    assert writer.batches == 1
    assert writer.events == 12


def test_commands_to_one_claim_in_a_batch_take_consecutive_versions_in_arrival_order(
    service: LedgerService,
) -> None:
    claim_id = register(service).event.claim_id
    answers, _ = in_one_batch(service, [rebut(claim_id) for _ in range(5)])
    written = [a for a in answers if isinstance(a, Written)]
    assert [w.event.version for w in written] == [2, 3, 4, 5, 6]
    positions = [w.event.position for w in written]
    recorded = [w.event.recorded_at_us for w in written]
    assert positions == sorted(set(positions))
    assert recorded == sorted(set(recorded))  # strictly increasing within the transaction
    assert versions(service, claim_id) == [1, 2, 3, 4, 5, 6]


def test_if_match_is_checked_against_the_commands_before_it_in_the_same_batch(
    service: LedgerService,
) -> None:
    claim_id = register(service).event.claim_id
    answers, _ = in_one_batch(
        service,
        [
            rebut(claim_id, if_match=IfMatch(versions=frozenset({1}))),
            rebut(claim_id, if_match=IfMatch(versions=frozenset({1}))),
            rebut(claim_id, if_match=IfMatch(versions=frozenset({2}))),
        ],
    )
    first, stale, following = answers
    assert isinstance(first, Written)
    assert first.event.version == 2
    assert isinstance(stale, PreconditionFailed)
    assert isinstance(following, Written)
    assert following.event.version == 3


def test_a_failing_command_in_a_batch_fails_alone(service: LedgerService) -> None:
    claim_id = register(service).event.claim_id
    answers, writer = in_one_batch(
        service,
        [
            rebut(claim_id),
            command(
                EventType.REBUTTAL_WITHDRAWN,
                Withdrawal(reason="No such rebuttal."),
                claim_id=claim_id,
                item_id=uuid4(),
            ),
            rebut(uuid4()),
            rebut(claim_id),
        ],
    )
    assert [type(a).__name__ for a in answers] == [
        "Written",
        "ItemNotFound",
        "ClaimNotFound",
        "Written",
    ]
    assert isinstance(answers[2], ClaimNotFound)
    assert writer.batches == 1
    assert versions(service, claim_id) == [1, 2, 3]


def test_a_registration_and_the_writes_on_its_claim_can_share_a_batch(
    service: LedgerService,
) -> None:
    claim_id = uuid4()
    answers, writer = in_one_batch(
        service,
        [
            command(EventType.CLAIM_REGISTERED, REGISTRATION, claim_id=claim_id),
            rebut(claim_id),
            command(EventType.CLAIM_REGISTERED, REGISTRATION, claim_id=claim_id),
        ],
    )
    assert [type(a).__name__ for a in answers] == ["Written", "Written", "ClaimAlreadyRegistered"]
    assert writer.batches == 1


def test_a_version_taken_by_another_process_fails_only_the_commands_on_that_claim(
    service: LedgerService, other_service: LedgerService
) -> None:
    contested = register(service).event.claim_id
    quiet = register(service).event.claim_id
    service.reads.state(contested)  # this process now holds the claim at version 1
    other_service.writer.write(rebut(contested))  # another process takes version 2

    answers, writer = in_one_batch(
        service,
        [
            rebut(quiet),
            rebut(contested),
            rebut(contested, if_match=IfMatch(versions=frozenset({1}))),
            rebut(quiet),
        ],
    )
    assert [type(a).__name__ for a in answers] == [
        "Written",
        "Written",
        "PreconditionFailed",
        "Written",
    ]
    assert writer.batches >= 2  # the refused batch, then its commands one by one
    assert versions(service, contested) == [1, 2, 3]
    assert versions(service, quiet) == [1, 2, 3]


def test_while_another_process_writes_a_claim_it_moved_is_read_afresh_before_the_batch(
    service: LedgerService, other_service: LedgerService
) -> None:
    """Not refused by the database and run one by one (a transaction per
    command): once the writer has seen another process write, it asks for the
    claims' versions before each batch."""
    claim_id = register(service).event.claim_id

    async def run() -> int:
        writer = service.new_writer()
        await writer.start()
        try:
            await writer.submit(rebut(claim_id))  # held in memory at version 2
            other_service.writer.write(rebut(claim_id))  # version 3, by another process
            await writer.submit(rebut(claim_id))  # met as stale once: another process writes
            other_service.writer.write(rebut(claim_id))  # version 5
            before = writer.batches
            await asyncio.gather(*[writer.submit(rebut(claim_id)) for _ in range(10)])
            return writer.batches - before
        finally:
            await writer.close()

    assert asyncio.run(run()) == 1
    assert versions(service, claim_id) == list(range(1, 16))


def test_a_retry_with_the_same_idempotency_key_in_the_same_batch_gets_the_first_answer(
    service: LedgerService,
) -> None:
    claim_id = register(service).event.claim_id
    key = keyed(claim_id, "k-1")
    answers, _ = in_one_batch(
        service,
        [
            rebut(claim_id, idempotency=key),
            rebut(claim_id, idempotency=key),
            rebut(claim_id, idempotency=keyed(claim_id, "k-1", request_hash="another body")),
        ],
    )
    first, retry, reused = answers
    assert isinstance(first, Written)
    assert not first.replayed
    assert isinstance(retry, Written)
    assert retry.replayed
    assert retry.event.event_id == first.event.event_id
    assert isinstance(reused, IdempotencyKeyReused)
    assert versions(service, claim_id) == [1, 2]


def test_a_key_used_meanwhile_by_another_process_is_answered_as_a_replay(
    service: LedgerService, other_service: LedgerService
) -> None:
    claim_id = register(service).event.claim_id
    key = keyed(claim_id, "raced")
    first = other_service.writer.write(rebut(claim_id, idempotency=key))

    def miss_the_first_look(writer: Writer) -> None:
        # As if the other process's key had been committed just after this
        # writer looked for it: the batch then meets the key's unique index.
        look = writer.queries.idempotent_writes
        looks = iter([lambda scopes: {}])

        def idempotent_writes(scopes: Sequence[IdempotencyScope]) -> Any:
            return next(looks, look)(scopes)

        writer.queries = _Replaced(writer.queries, idempotent_writes=idempotent_writes)

    answers, _ = in_one_batch(
        service, [rebut(claim_id, idempotency=key), rebut(claim_id)], miss_the_first_look
    )
    replay, plain = answers
    assert isinstance(replay, Written)
    assert replay.replayed
    assert replay.event.event_id == first.event.event_id
    assert isinstance(plain, Written)
    assert versions(service, claim_id) == [1, 2, 3]


def test_an_interrupted_commit_that_happened_is_answered_with_what_was_written(
    service: LedgerService,
) -> None:
    claim_id = register(service).event.claim_id

    def commit_then_break(writer: Writer) -> None:
        append = writer.appender.append

        def interrupted(events: Sequence[NewEvent], keys: Any) -> list[Appended]:
            append(events, keys)
            raise CommitInterrupted("connection lost after the commit was sent")

        writer.appender = _Replaced(writer.appender, append=interrupted)

    answers, _ = in_one_batch(service, [rebut(claim_id), rebut(claim_id)], commit_then_break)
    assert [a.event.version for a in answers if isinstance(a, Written)] == [2, 3]
    assert versions(service, claim_id) == [1, 2, 3]


def test_an_interrupted_commit_that_did_not_happen_says_nothing_was_appended(
    service: LedgerService,
) -> None:
    claim_id = register(service).event.claim_id

    def break_before_the_commit(writer: Writer) -> None:
        def interrupted(events: Sequence[NewEvent], keys: Any) -> list[Appended]:
            raise CommitInterrupted("connection lost before the commit")

        writer.appender = _Replaced(writer.appender, append=interrupted)

    [answer], _ = in_one_batch(service, [rebut(claim_id)], break_before_the_commit)
    assert isinstance(answer, Unavailable)
    assert not isinstance(answer, OutcomeUnknown)
    assert "nothing was appended" in answer.detail
    assert versions(service, claim_id) == [1]


def test_an_interrupted_commit_that_cannot_be_looked_up_says_the_outcome_is_unknown(
    service: LedgerService, monkeypatch: pytest.MonkeyPatch
) -> None:
    claim_id = register(service).event.claim_id
    monkeypatch.setattr("factledger.writer.ANSWER_SECONDS", 4.0)

    def database_gone(writer: Writer) -> None:
        def interrupted(events: Sequence[NewEvent], keys: Any) -> list[Appended]:
            raise CommitInterrupted("connection lost")

        def unreachable(
            event_ids: Sequence[UUID], session: int | None, within: float
        ) -> list[Appended]:
            raise ConnectionError("the database does not answer")

        writer.appender = _Replaced(writer.appender, append=interrupted, find_appended=unreachable)

    [answer], _ = in_one_batch(service, [rebut(claim_id)], database_gone)
    assert isinstance(answer, OutcomeUnknown)
    assert "Idempotency-Key" in answer.detail


def test_an_interrupted_commit_whose_lookups_hang_is_answered_within_the_bound(
    service: LedgerService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each lookup waits as long as it is allowed to (a pool's checkout while the
    database is down): the answer still comes by the command's deadline."""
    claim_id = register(service).event.claim_id
    monkeypatch.setattr("factledger.writer.ANSWER_SECONDS", 4.0)

    def database_hangs(writer: Writer) -> None:
        def interrupted(events: Sequence[NewEvent], keys: Any) -> list[Appended]:
            raise CommitInterrupted("connection lost")

        def slow(event_ids: Sequence[UUID], session: int | None, within: float) -> list[Appended]:
            time.sleep(within)
            raise ConnectionError("couldn't get a connection")

        writer.appender = _Replaced(writer.appender, append=interrupted, find_appended=slow)

    started = time.monotonic()
    [answer], _ = in_one_batch(service, [rebut(claim_id)], database_hangs)
    assert isinstance(answer, OutcomeUnknown)
    assert time.monotonic() - started < 4.0


def test_a_database_error_before_the_append_says_nothing_was_appended(
    service: LedgerService,
) -> None:
    claim_id = register(service).event.claim_id

    def cannot_read(writer: Writer) -> None:
        def idempotent_writes(scopes: Sequence[IdempotencyScope]) -> Any:
            raise psycopg.OperationalError("couldn't get a connection after 3.00 sec")

        writer.queries = _Replaced(writer.queries, idempotent_writes=idempotent_writes)

    write = rebut(claim_id, idempotency=keyed(claim_id, "k"))
    [answer], _ = in_one_batch(service, [write], cannot_read)
    assert isinstance(answer, Unavailable)
    assert not isinstance(answer, OutcomeUnknown)
    assert "nothing was appended" in answer.detail
    assert versions(service, claim_id) == [1]


def test_a_write_that_waited_past_its_time_is_answered_untried(
    service: LedgerService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Batches before it took the time (the database away): it is not tried."""
    claim_id = register(service).event.claim_id
    monkeypatch.setattr("factledger.writer.ANSWER_SECONDS", 1.0)
    [answer], _ = in_one_batch(service, [rebut(claim_id)])
    assert isinstance(answer, Unavailable)
    assert "not tried: nothing was appended" in answer.detail
    assert versions(service, claim_id) == [1]


def test_a_database_that_hangs_gets_every_write_answered_in_time_and_an_unsent_one_never_sent(
    service: LedgerService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A statement that never returns (a database that hangs without closing the
    connection) holds the writer's thread: the write it carries is answered that
    its outcome is unknown, the one queued behind it that nothing was appended;
    and that one is not sent when the database comes back."""
    claim_id = register(service).event.claim_id
    monkeypatch.setattr("factledger.writer.ANSWER_SECONDS", 3.0)
    monkeypatch.setattr("factledger.writer._TRY_SECONDS", 0.5)
    database_back = threading.Event()

    async def run() -> tuple[list[Written | BaseException], float]:
        writer = service.new_writer()
        appender = writer.appender

        def hangs(events: Sequence[NewEvent], keys: Sequence[IdempotencyRow]) -> list[Appended]:
            database_back.wait(30)
            return appender.append(events, keys)

        writer.appender = _Replaced(appender, append=hangs)
        await writer.start()
        try:
            started = time.monotonic()
            sent = writer.submit(rebut(claim_id))
            await asyncio.sleep(0.3)
            queued = writer.submit(rebut(claim_id))
            answers = await asyncio.gather(sent, queued, return_exceptions=True)
            took = time.monotonic() - started
        finally:
            database_back.set()
            await writer.close()
        return list(answers), took

    [sent, queued], took = asyncio.run(run())
    assert took < 3.3 + 0.5  # each within its own 3 s, and a little for this machine
    assert isinstance(sent, OutcomeUnknown)
    assert isinstance(queued, Unavailable)
    assert not isinstance(queued, OutcomeUnknown)
    assert "nothing was appended" in queued.detail
    # The hung statement went through once the database was back; the queued one never went.
    assert versions(service, claim_id) == [1, 2]


def test_a_writer_that_is_closing_answers_every_command_it_took(service: LedgerService) -> None:
    claim_id = register(service).event.claim_id

    async def run() -> tuple[list[Written | BaseException], BaseException | None]:
        writer = service.new_writer()
        await writer.start()
        futures = [writer.submit(rebut(claim_id)) for _ in range(20)]
        closing = asyncio.create_task(writer.close())
        await asyncio.sleep(0)
        refused: BaseException | None = None
        try:
            writer.submit(rebut(claim_id))
        except Unavailable as error:
            refused = error
        answers = await asyncio.gather(*futures, return_exceptions=True)
        await closing
        return list(answers), refused

    answers, refused = asyncio.run(run())
    assert all(isinstance(a, Written) for a in answers)
    assert isinstance(refused, Unavailable)
    assert versions(service, claim_id) == list(range(1, 22))


class _Replaced:
    """An object like `base` with some of its methods replaced."""

    def __init__(self, base: Any, **replaced: Callable[..., Any] | Awaitable[Any]) -> None:
        self._base = base
        self.__dict__.update(replaced)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._base, name)
