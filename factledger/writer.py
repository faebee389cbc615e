"""The one way in for writes: one writer per process, committing in batches.

Every append (the API's, the seeds', the command line's) is a `Command`
handed to `Writer.submit`. The writer lives in an event loop (a serving
process's, or a private one for callers that block: `BlockingWriter`). It
takes every command pending when it is free, applies them in arrival order
to the claims' in-memory state, and appends all their events in one
transaction (`storage`'s batch append: one lock, one round trip on
PostgreSQL) on a thread of its own, which does nothing but that I/O: the
loop goes on taking requests meanwhile, and the next batch gathers. Each
caller's future is answered only once its own event is committed, with
what was written.

The checks run in the order of SPEC §4 (after the request's own shape, which
the caller validated): the Idempotency-Key replay, the claim or item that
must exist (404), `If-Match` (412), then the aggregate's rules (422, 409).
Commands to one claim in a batch see each other's events, exactly as if they
had come one at a time.

A batch that a constraint refuses (another process took a claim's version
or used an Idempotency-Key first) is run again one command at a time against
fresh state, so only the commands behind the refusal see it: a lost version
race is retried within a bounded time, a used key is answered as a replay.
That path is slow (a transaction per command), so it must stay rare: while
other processes are seen writing (positions this writer did not take, a
claim's version taken), each batch first asks the database, in one query,
for the newest version of every claim it holds in memory, and reads afresh
those that moved.
A commit whose outcome is unknown is resolved by looking its events up.

Every command is answered within `ANSWER_SECONDS` of its submission, whatever
the database does (SPEC §4), even when it hangs without a word (a statement
that never returns holds the writer's thread): a timer answers each command
that is still waiting then. A command that was never handed to the database
is answered that nothing was appended, and is then never sent; one whose
append was sent is answered `OutcomeUnknown`, unless the lookup of an
interrupted commit found it first (the lookups end by the batch's oldest
command's deadline). A database error before the append (reading claims,
keys) appended nothing either.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Final, TypeVar
from uuid import UUID, uuid4

import orjson
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic

from factledger.commands import Command, Written
from factledger.histories import Histories
from ledger.access import Role
from ledger.claim import Claim, ClaimEvent, resolve_occurred_at
from ledger.errors import (
    AccessDenied,
    ClaimAlreadyRegistered,
    ClaimNotFound,
    IdempotencyKeyReused,
    ItemAlreadyWithdrawn,
    ItemNotFound,
    LedgerError,
    OccurredBeforeItem,
    OutcomeUnknown,
    PreconditionFailed,
    Unavailable,
)
from ledger.history import ClaimHistory, VersionGap
from ledger.recorded import RecordedEvent
from ledger.times import to_micros
from storage.errors import (
    DATABASE_ERRORS,
    AppendRefused,
    CommitInterrupted,
    NotAppended,
    Refusal,
)
from storage.mapper import decode, decode_row, stored_state
from storage.postgres.pools import CHECKOUT_SECONDS
from storage.queries import EventAppender, EventQueries
from storage.rows import Appended, IdempotencyRow, IdempotencyScope, NewEvent

__all__ = ["WRITE_DEADLINE_SECONDS", "BlockingWriter", "Writer"]

T = TypeVar("T")

log = logging.getLogger(__name__)

WRITE_DEADLINE_SECONDS: Final = 5.0
"""How long a write keeps retrying after losing races for a claim's next version."""
ANSWER_SECONDS: Final = 9.0
"""Every command is answered within this of its submission (SPEC §4's ten
seconds for a request, less what HTTP takes): a write whose commit was
interrupted looks its events up until then, before it answers that the
outcome is unknown."""
_TRY_SECONDS: Final = CHECKOUT_SECONDS + 0.5
"""A command is tried only while this much of its time is left (a connection
may take a checkout to come)."""
_ANSWER_MARGIN: Final = 0.3
MAX_BATCH: Final = 500
"""Commands per transaction at most."""
_KEYS_KEPT: Final = 10_000
_OTHERS_SECONDS: Final = 10.0
"""How long after it last saw another process write the writer checks claims'
versions before each batch."""
"""Keyed writes this process remembers, to answer their retries without a query."""


@dataclass
class _Pending:
    command: Command
    future: asyncio.Future[Written]
    deadline: float
    """Until when a lost race for the claim's next version is run again."""
    answer_by: float
    """When the caller must have its answer, whatever the database does."""
    sent: bool = False
    """Its append was handed to the database (under `Writer._sending`)."""
    expired: bool = False
    """Answered by the timer before it was sent: it must never be (under `Writer._sending`)."""
    timer: asyncio.TimerHandle | None = None

    def answer(self, written: Written) -> None:
        if not self.future.done():
            self.future.set_result(written)
            self._stop_timer()

    def fail(self, error: BaseException) -> None:
        if not self.future.done():
            self.future.set_exception(error)
            self._stop_timer()

    def _stop_timer(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None


class _Expired(Exception):
    """A batch about to be sent holds a command that the timer has answered."""


@dataclass
class _Applied:
    """A command applied to its claim's state: the event it made, to be stored."""

    pending: _Pending
    event: ClaimEvent
    new: NewEvent
    state: dict[str, object]
    key: IdempotencyRow | None


@dataclass
class _Batch:
    applied: list[_Applied] = field(default_factory=list)
    claims: dict[UUID, Claim | None] = field(default_factory=dict)
    """The working state of each claim the batch touches (None: not registered)."""
    fresh: set[UUID] = field(default_factory=set)
    """The claims read from the database for this batch (known current)."""
    behind: bool = False
    """Given up: a claim held in memory was behind; its commands run one by one."""


class Writer:
    def __init__(
        self,
        appender: EventAppender,
        queries: EventQueries,
        histories: Histories,
        on_commit: Callable[[], None] = lambda: None,
    ) -> None:
        self.appender = appender
        self.queries = queries
        self.histories = histories
        self.on_commit = on_commit
        self._queue: deque[_Pending] = deque()
        self._wake = asyncio.Event()
        self._accepting = False
        self._keys: OrderedDict[IdempotencyScope, tuple[str, RecordedEvent]] = OrderedDict()
        self._database = ThreadPoolExecutor(1, thread_name_prefix="ledger writer")
        # Between the timer (in the loop) and the sending of an append (on the
        # database thread): a command is either sent or expired, never both.
        self._sending = threading.Lock()
        self._task: asyncio.Task[None] | None = None
        self._last_position = 0
        self._others_until = 0.0
        """Until when (monotonic) other processes are taken to be writing."""
        self.batches = 0
        self.events = 0
        self.on_batch: Callable[[int], None] = _ignore
        """Told the number of events of each batch committed (a served app's metrics)."""

    # --- the callers' side (in the writer's event loop) ------------------------------

    async def start(self) -> None:
        """Starts taking commands, in the running event loop."""
        self._accepting = True
        self._task = asyncio.create_task(self._run(), name="ledger writer")

    def submit(self, command: Command) -> asyncio.Future[Written]:
        """Queues a command; its future is answered once it is committed (or fails)."""
        if not self._accepting:
            raise Unavailable("The ledger is shutting down; nothing was appended.")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Written] = loop.create_future()
        now = time.monotonic()
        pending = _Pending(command, future, now + WRITE_DEADLINE_SECONDS, now + ANSWER_SECONDS)
        pending.timer = loop.call_later(ANSWER_SECONDS, self._expire, pending)
        self._queue.append(pending)
        self._wake.set()
        return future

    def _expire(self, pending: _Pending) -> None:
        """Answers a command still waiting at its time, with what is known of it."""
        pending.timer = None
        if pending.future.done():
            return
        with self._sending:
            sent = pending.sent
            pending.expired = not sent
        if sent:
            pending.fail(OutcomeUnknown("the database did not answer the commit in time"))
        else:
            pending.fail(
                Unavailable(
                    "The database did not answer in time; this write was not sent to it: "
                    "nothing was appended. Retry shortly.",
                    retry_after=2,
                )
            )

    async def write(self, command: Command) -> Written:
        return await self.submit(command)

    async def close(self) -> None:
        """Takes no more commands, commits those it holds, answers every caller."""
        self._accepting = False
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None
        self._database.shutdown(wait=True)

    # --- the batches ------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                taken = [self._queue.popleft() for _ in range(min(len(self._queue), MAX_BATCH))]
                try:
                    await self._write(self._in_time(taken))
                except DATABASE_ERRORS as error:
                    # Every command still unanswered was never appended: an append
                    # that may have reached the database answers its commands itself.
                    log.warning("writer: the database failed a batch before its append: %s", error)
                    for pending in taken:
                        pending.fail(_not_tried(error))
                except Exception as error:
                    log.exception("writer: a batch failed")
                    for pending in taken:
                        pending.fail(error)
            if not self._accepting:
                return

    @staticmethod
    def _in_time(taken: list[_Pending]) -> list[_Pending]:
        """The commands that still have time to be tried; the others are answered."""
        now = time.monotonic()
        kept = []
        for pending in taken:
            if pending.future.done():
                continue  # answered by its timer while it waited
            if pending.answer_by - now < _TRY_SECONDS:
                pending.fail(
                    Unavailable(
                        "The database did not take the writes before this one in time; "
                        "this one was not tried: nothing was appended. Retry shortly.",
                        retry_after=2,
                    )
                )
            else:
                kept.append(pending)
        return kept

    async def _in_database(self, call: Callable[..., T], *args: object) -> T:
        """Runs a blocking database call on the writer's own thread."""
        return await asyncio.get_running_loop().run_in_executor(self._database, call, *args)

    async def _write(self, taken: list[_Pending]) -> None:
        batch, later = await self._apply(taken)
        if batch.behind:
            await self._one_by_one(later)
            return
        if later:
            self._queue.extendleft(reversed(later))
        if not batch.applied:
            return
        try:
            appended = await self._append(batch)
        except _Expired:
            # Never sent: the others go again, with the next batch.
            self._queue.extendleft(
                reversed([a.pending for a in batch.applied if not a.pending.future.done()])
            )
            return
        except AppendRefused as refused:
            log.info("writer: batch of %d refused (%s); one by one", len(batch.applied), refused)
            self._others_seen()
            await self._one_by_one([applied.pending for applied in batch.applied])
            return
        except NotAppended as error:
            self._fail(batch, _not_appended(error))
            return
        except CommitInterrupted as error:
            self._fail(batch, OutcomeUnknown(str(error)))
            return
        self._committed(batch, appended)

    async def _one_by_one(self, pending: list[_Pending]) -> None:
        """Runs commands alone, each against its claim's state read afresh, until
        each is answered or its deadline passes."""
        queue = deque(pending)
        while queue:
            one = queue.popleft()
            claim_id = one.command.claim_id
            if claim_id is not None:
                self.histories.forget([claim_id])
            batch, _ = await self._apply([one])
            if batch.behind:
                queue.appendleft(one)  # its claim was read afresh meanwhile: again
                continue
            if not batch.applied:
                continue
            try:
                appended = await self._append(batch)
            except _Expired:
                continue  # answered by its timer, never sent
            except AppendRefused as refused:
                if refused.refusal is Refusal.VERSION_TAKEN and one.command.if_match is None:
                    if time.monotonic() > one.deadline:
                        one.fail(
                            Unavailable(
                                "The claim is being written by others faster than this write "
                                "could follow; nothing was appended. Retry shortly."
                            )
                        )
                        continue
                    await asyncio.sleep(random.uniform(0, 0.005))  # noqa: S311 (jitter)
                # Run again: a used key is now found and replayed, a taken version
                # met with fresh state (If-Match then answers 412).
                queue.appendleft(one)
                continue
            except NotAppended as error:
                one.fail(_not_appended(error))
                continue
            except CommitInterrupted as error:
                one.fail(OutcomeUnknown(str(error)))
                continue
            self._committed(batch, appended)

    # --- applying commands to claims -----------------------------------------------

    async def _apply(self, taken: list[_Pending]) -> tuple[_Batch, list[_Pending]]:
        """Applies the commands in order; returns the batch, and the commands that
        must wait for the next one (a second write with a key in flight here).

        A claim's state in memory may be behind what other processes appended:
        an append built on it is refused by the database, but a refusal must not
        come from it. So a command that the rules refuse on a claim held in
        memory is answered only once the claim is known to be current; if it
        was not, the batch is given up and its commands run one by one, each
        against its claim read afresh."""
        batch = _Batch()
        later: list[_Pending] = []
        keys_in_batch: set[IdempotencyScope] = set()
        replays = await self._replays(taken)
        await self._load_claims(batch, taken)
        for pending in taken:
            key = pending.command.idempotency
            if key is not None and key.scope in keys_in_batch:
                later.append(pending)
                continue
            try:
                self._check_access(pending.command)
                occurred_at = resolve_occurred_at(
                    pending.command.occurred_at, pending.command.received_at
                )
                if key is not None and key.scope in replays:
                    pending.answer(self._replay(key, replays[key.scope]))
                    continue
                applied = self._apply_one(batch, pending, occurred_at)
            except LedgerError as error:
                if await self._behind(batch, pending.command, error):
                    # Every command not answered yet, in arrival order.
                    return _Batch(behind=True), [p for p in taken if not p.future.done()]
                pending.fail(error)
                continue
            batch.applied.append(applied)
            if key is not None:
                keys_in_batch.add(key.scope)
        return batch, later

    async def _behind(self, batch: _Batch, command: Command, error: LedgerError) -> bool:
        """Whether a refusal came from a claim held in memory that other processes
        have appended to since (read now, once per claim and batch)."""
        claim_id = command.claim_id
        if (
            claim_id is None
            or claim_id in batch.fresh
            or not isinstance(error, _STATE_ERRORS)
            or batch.claims.get(claim_id) is None
        ):
            return False
        batch.fresh.add(claim_id)
        held = self.histories.synced(claim_id)
        version = held[0] if held else 0
        rows = await self._in_database(self.queries.claim_rows, claim_id, version)
        try:
            self.histories.read(claim_id, rows, lambda _: None, version)
        except VersionGap:
            return True  # dropped meanwhile: read afresh one by one
        return bool(rows.rows)

    @staticmethod
    def _check_access(command: Command) -> None:
        role: Role = command.event_type.declared.role
        if not command.actor.role.includes(role):
            raise AccessDenied(
                f"This needs the role {role.value}; the key's role is {command.actor.role}."
            )

    def _apply_one(self, batch: _Batch, pending: _Pending, occurred_at: datetime) -> _Applied:
        command = pending.command
        event_type = command.event_type
        if event_type.registers:
            claim_id = command.claim_id or uuid4()
            claim = self._claim(batch, claim_id, known_new=command.claim_id is None)
            version = claim.version if claim is not None else None
            if command.if_match is not None and not command.if_match.allows(version):
                raise PreconditionFailed(version)
            if claim is not None:
                raise ClaimAlreadyRegistered(claim_id)
            claim = Claim.register(
                claim_id=claim_id,
                registration=command.payload,
                occurred_at=occurred_at,
                actor=command.actor,
            )
            batch.claims[claim_id] = claim
            event = claim.pending_events[-1]
            assert isinstance(event, ClaimEvent)
        else:
            assert command.claim_id is not None
            claim = self._claim(batch, command.claim_id, known_new=False)
            if claim is None:
                raise ClaimNotFound(command.claim_id)
            ends = event_type.declared.ends
            if ends is not None:
                assert command.item_id is not None
                claim.check_item_exists(ends, command.item_id)
            if command.if_match is not None and not command.if_match.allows(claim.version):
                raise PreconditionFailed(claim.version)
            event = claim.execute(
                event_type,
                command.payload,
                occurred_at=occurred_at,
                actor=command.actor,
                item_id=command.item_id,
            )
        state = stored_state(event)
        new = NewEvent(
            stored=_stored(event, state),
            event_id=event.event_id,
            occurred_at_us=to_micros(event.occurred_at),
        )
        key = command.idempotency
        return _Applied(
            pending, event, new, state, replace(key, event_id=event.event_id) if key else None
        )

    async def _load_claims(self, batch: _Batch, taken: list[_Pending]) -> None:
        """The working state of every claim these commands name (registrations
        with a new id name none): from the history this process holds, else
        read from the database."""
        claim_ids = {p.command.claim_id for p in taken if p.command.claim_id is not None}
        if claim_ids and time.monotonic() < self._others_until:
            await self._forget_moved(claim_ids)
        for claim_id in claim_ids:
            held = self.histories.use(claim_id, _claim_of)
            if held is None:
                rows = await self._in_database(self.queries.claim_rows, claim_id, 0)
                held = self.histories.read(claim_id, rows, _claim_of)
                batch.fresh.add(claim_id)
            batch.claims[claim_id] = held.claim if held is not None else None

    async def _forget_moved(self, claim_ids: set[UUID]) -> None:
        """Drops the claims held in memory that other processes have appended to."""
        held = {
            claim_id: version
            for claim_id in claim_ids
            if (version := self.histories.use(claim_id, _version_of)) is not None
        }
        if not held:
            return
        stored = await self._in_database(self.queries.claim_versions, list(held))
        moved = [claim for claim, version in held.items() if stored.get(claim, 0) > version]
        if moved:
            self.histories.forget(moved)

    def _others_seen(self) -> None:
        self._others_until = time.monotonic() + _OTHERS_SECONDS

    @staticmethod
    def _claim(batch: _Batch, claim_id: UUID, *, known_new: bool) -> Claim | None:
        """The working state of a claim in this batch; None when it is not registered."""
        if known_new:
            batch.claims[claim_id] = None
        return batch.claims[claim_id]

    # --- idempotency ------------------------------------------------------------------

    async def _replays(
        self, taken: list[_Pending]
    ) -> dict[IdempotencyScope, tuple[str, RecordedEvent]]:
        """The keyed writes among these that were appended already: the fingerprint
        of their body, and their event."""
        found: dict[IdempotencyScope, tuple[str, RecordedEvent]] = {}
        unknown = []
        for pending in taken:
            key = pending.command.idempotency
            if key is None:
                continue
            kept = self._keys.get(key.scope)
            if kept is None:
                unknown.append(key.scope)
            else:
                found[key.scope] = kept
        if unknown:
            rows = await self._in_database(self.queries.idempotent_writes, unknown)
            for scope, row in rows.items():
                assert row.event_id is not None
                event_row = await self._in_database(self.queries.row_by_event_id, row.event_id)
                assert event_row is not None, f"the keyed write {scope} lost its event"
                found[scope] = (row.request_hash, decode_row(event_row))
                self._remember(scope, *found[scope])
        return found

    @staticmethod
    def _replay(key: IdempotencyRow, first: tuple[str, RecordedEvent]) -> Written:
        request_hash, event = first
        if request_hash != key.request_hash:
            raise IdempotencyKeyReused(
                "This Idempotency-Key was already used with a different body; "
                "use a new key for a new request."
            )
        return Written(event, replayed=True)

    def _remember(self, scope: IdempotencyScope, request_hash: str, event: RecordedEvent) -> None:
        self._keys[scope] = (request_hash, event)
        self._keys.move_to_end(scope)
        while len(self._keys) > _KEYS_KEPT:
            self._keys.popitem(last=False)

    # --- appending --------------------------------------------------------------------

    async def _append(self, batch: _Batch) -> list[Appended]:
        events = [applied.new for applied in batch.applied]
        keys = [applied.key for applied in batch.applied if applied.key is not None]
        pending = [applied.pending for applied in batch.applied]

        def send() -> list[Appended]:
            with self._sending:
                if any(p.expired for p in pending):
                    raise _Expired
                for p in pending:
                    p.sent = True
            return self.appender.append(events, keys)

        try:
            return await self._in_database(send)
        except CommitInterrupted as unknown:
            answer_by = min(applied.pending.answer_by for applied in batch.applied)
            found = await self._resolve([e.event_id for e in events], unknown, answer_by)
            if not found:
                raise NotAppended(
                    f"the commit was interrupted and did not happen ({unknown})"
                ) from unknown
            by_id = {appended.event_id: appended for appended in found}
            # One transaction: either all of it is there, or none.
            return [by_id[event.event_id] for event in events]

    async def _resolve(
        self, event_ids: list[UUID], unknown: CommitInterrupted, answer_by: float
    ) -> list[Appended]:
        """Which of these events an interrupted commit appended: looked up as soon
        as the database answers again; CommitInterrupted if it does not before
        `answer_by` (each lookup waits for a connection no longer than that)."""
        deadline = answer_by - _ANSWER_MARGIN
        pause = 0.05
        while True:
            within = min(CHECKOUT_SECONDS, deadline - time.monotonic())
            try:
                if within <= 0:
                    raise TimeoutError("no time was left to look the events up")
                return await self._in_database(
                    self.appender.find_appended, event_ids, unknown.session, within
                )
            except Exception as error:
                if time.monotonic() + pause > deadline:
                    raise CommitInterrupted(
                        f"{unknown}; the events could not be looked up: {error}",
                        unknown.session,
                    ) from error
                log.warning("writer: looking up an interrupted commit: %s", error)
            await asyncio.sleep(pause)
            pause = min(pause * 2, 1.0)

    def _committed(self, batch: _Batch, appended: list[Appended]) -> None:
        """Answers the batch's callers with what was written; then keeps it."""
        written = [
            self._recorded(applied, where)
            for applied, where in zip(batch.applied, appended, strict=True)
        ]
        first, last = min(a.position for a in appended), max(a.position for a in appended)
        if self._last_position and first != self._last_position + 1:
            self._others_seen()  # positions between this batch and the last: not ours
        self._last_position = max(self._last_position, last)
        for applied, event in zip(batch.applied, written, strict=True):
            applied.pending.answer(Written(event))
            if applied.key is not None:
                self._remember(applied.key.scope, applied.key.request_hash, event)
        self.batches += 1
        self.events += len(written)
        self.on_batch(len(written))
        claims = {claim_id: claim for claim_id, claim in batch.claims.items() if claim}
        try:
            self.histories.written(written, claims)
        except Exception:
            # Committed and answered whatever happens here: the claims are
            # read again when next needed.
            log.exception("writer: keeping what was written failed")
            self.histories.forget(claims)
        self.on_commit()

    @staticmethod
    def _recorded(applied: _Applied, where: Appended) -> RecordedEvent:
        event = decode(
            topic=applied.new.stored.topic,
            claim_id=applied.new.claim_id,
            version=applied.new.version,
            position=where.position,
            occurred_at_us=applied.new.occurred_at_us,
            recorded_at_us=where.recorded_at_us,
            leaf_index=where.leaf_index,
            state=applied.state,
        )
        event.stored_size = len(applied.new.stored.state)
        return event

    @staticmethod
    def _fail(batch: _Batch, error: LedgerError) -> None:
        for applied in batch.applied:
            applied.pending.fail(error)


def _ignore(_events: int) -> None:
    pass


@dataclass(frozen=True)
class _Held:
    claim: Claim


def _claim_of(history: ClaimHistory) -> _Held:
    return _Held(history.claim())


def _version_of(history: ClaimHistory) -> int:
    return history.version


def _stored(event: ClaimEvent, state: dict[str, object]) -> StoredEvent:
    return StoredEvent(
        originator_id=event.originator_id,
        originator_version=event.originator_version,
        topic=get_topic(type(event)),
        state=orjson.dumps(state),
    )


_STATE_ERRORS: Final = (ItemNotFound, ItemAlreadyWithdrawn, OccurredBeforeItem, PreconditionFailed)
"""Refusals that depend on a claim's state past its registration (which never changes)."""


def _not_tried(error: BaseException) -> Unavailable:
    return Unavailable(
        f"The database failed before this write was sent ({_one_line(error)}); "
        "nothing was appended. Retry shortly.",
        retry_after=2,
    )


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


def _not_appended(error: NotAppended) -> Unavailable:
    return Unavailable(
        f"The database did not take the write ({error}); nothing was appended. Retry shortly."
    )


class BlockingWriter:
    """A `Writer` in an event loop of its own, for callers that block (the
    command line, the seeds, tests): `write` waits for the answer."""

    def __init__(self, writer: Writer) -> None:
        self.writer = writer
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="ledger writer loop", daemon=True
        )
        self._thread.start()
        asyncio.run_coroutine_threadsafe(writer.start(), self._loop).result()

    def submit(self, command: Command) -> Future[Written]:
        return asyncio.run_coroutine_threadsafe(self.writer.write(command), self._loop)

    def write(self, command: Command) -> Written:
        return self.submit(command).result()

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.writer.close(), self._loop).result()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()
