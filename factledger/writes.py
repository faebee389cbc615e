"""The one way in for writes: load the claim, call the aggregate, save.

The API, the seeds and the command line all append through `LedgerWrites`.
It applies the checks of SPEC §4 in their order (after the request's own
shape, which the caller has validated): the idempotency replay, the claim or
item that must exist (404), `If-Match` (412), then the aggregate's rules (422,
409). A write that loses a race for the claim's next version is run again
against the new state, within a bounded time; a keyed write is recorded with
its key in the same transaction as its event.
"""

from __future__ import annotations

import itertools
import random
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Final
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from factledger.application import LedgerStore
from ledger.access import Actor, Role
from ledger.claim import Claim, ItemKind, resolve_occurred_at
from ledger.envelope import Envelope
from ledger.errors import (
    AccessDenied,
    ClaimAlreadyRegistered,
    ClaimNotFound,
    IdempotencyKeyReused,
    LedgerError,
    PreconditionFailed,
    Unavailable,
)
from ledger.payloads import (
    ClaimAmendment,
    ClaimRegistration,
    EvidenceAttachment,
    RebuttalFiling,
    VerificationRecording,
    Withdrawal,
)
from storage.rows import IdempotencyRow

__all__ = ["IfMatch", "LedgerWrites", "WriteRequest", "Written"]

# How long a write keeps retrying after losing races for the claim's next version.
WRITE_DEADLINE_SECONDS: Final = 5.0


@dataclass(frozen=True)
class IfMatch:
    """An `If-Match` condition: `*`, or the versions the claim may be at."""

    versions: frozenset[int] = frozenset()
    any_version: bool = False

    def allows(self, current_version: int | None) -> bool:
        if current_version is None:
            return False
        return self.any_version or current_version in self.versions


@dataclass(frozen=True)
class WriteRequest:
    """Who writes, when the request arrived, and its conditions."""

    actor: Actor
    received_at: datetime
    if_match: IfMatch | None = None
    idempotency: IdempotencyRow | None = None


@dataclass(frozen=True)
class Written:
    envelope: Envelope
    replayed: bool = False
    """True when an Idempotency-Key retry got the first answer again."""


Command = Callable[[Claim, datetime], object]


class _ClaimLocks:
    """One lock per claim, kept while anyone holds it.

    Writes to one claim in this process take turns: they would otherwise race
    for its next version and all but one start again. The lock also guards the
    library's aggregate cache, which fast-forwards a cached claim in place and
    deep-copies it outside its own lock (two threads loading one claim at once
    can copy it mid-update: "dictionary changed size during iteration").
    """

    class _Lock:
        def __init__(self) -> None:
            self.lock = threading.Lock()

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: weakref.WeakValueDictionary[UUID, _ClaimLocks._Lock] = (
            weakref.WeakValueDictionary()
        )

    def of(self, claim_id: UUID) -> _ClaimLocks._Lock:
        with self._guard:
            held = self._locks.get(claim_id)
            if held is None:
                held = self._locks[claim_id] = self._Lock()
            return held


class LedgerWrites:
    def __init__(self, store: LedgerStore) -> None:
        self.store = store
        self._claim_locks = _ClaimLocks()

    # --- the eight events ---------------------------------------------------

    def register_claim(
        self,
        registration: ClaimRegistration,
        *,
        claim_id: UUID | None,
        occurred_at: datetime | None,
        request: WriteRequest,
    ) -> Written:
        self._check_role(request.actor, Role.CONTRIBUTOR)
        when = resolve_occurred_at(occurred_at, request.received_at)
        if replay := self._replay(request):
            return replay
        claim_id = claim_id or uuid4()
        existing_version = self._current_version(claim_id)
        if request.if_match is not None and not request.if_match.allows(existing_version):
            raise PreconditionFailed(existing_version)
        if existing_version is not None:
            raise ClaimAlreadyRegistered(claim_id)
        claim = Claim.register(
            claim_id=claim_id, registration=registration, occurred_at=when, actor=request.actor
        )
        written = self._save(claim, request)
        if written is None:
            raise ClaimAlreadyRegistered(claim_id)
        return written

    def amend_claim(
        self,
        claim_id: UUID,
        amendment: ClaimAmendment,
        *,
        occurred_at: datetime | None,
        request: WriteRequest,
    ) -> Written:
        return self._append(
            claim_id,
            request,
            Role.EDITOR,
            occurred_at,
            lambda claim, when: claim.amend(amendment, occurred_at=when, actor=request.actor),
        )

    def attach_evidence(
        self,
        claim_id: UUID,
        attachment: EvidenceAttachment,
        *,
        occurred_at: datetime | None,
        request: WriteRequest,
    ) -> Written:
        return self._append(
            claim_id,
            request,
            Role.CONTRIBUTOR,
            occurred_at,
            lambda claim, when: claim.attach_evidence(
                attachment, occurred_at=when, actor=request.actor
            ),
        )

    def withdraw_evidence(
        self,
        claim_id: UUID,
        evidence_id: UUID,
        withdrawal: Withdrawal,
        *,
        occurred_at: datetime | None,
        request: WriteRequest,
    ) -> Written:
        return self._append(
            claim_id,
            request,
            Role.EDITOR,
            occurred_at,
            lambda claim, when: claim.withdraw_evidence(
                evidence_id, withdrawal, occurred_at=when, actor=request.actor
            ),
            target=(ItemKind.EVIDENCE, evidence_id),
        )

    def file_rebuttal(
        self,
        claim_id: UUID,
        filing: RebuttalFiling,
        *,
        occurred_at: datetime | None,
        request: WriteRequest,
    ) -> Written:
        return self._append(
            claim_id,
            request,
            Role.CONTRIBUTOR,
            occurred_at,
            lambda claim, when: claim.file_rebuttal(filing, occurred_at=when, actor=request.actor),
        )

    def withdraw_rebuttal(
        self,
        claim_id: UUID,
        rebuttal_id: UUID,
        withdrawal: Withdrawal,
        *,
        occurred_at: datetime | None,
        request: WriteRequest,
    ) -> Written:
        return self._append(
            claim_id,
            request,
            Role.EDITOR,
            occurred_at,
            lambda claim, when: claim.withdraw_rebuttal(
                rebuttal_id, withdrawal, occurred_at=when, actor=request.actor
            ),
            target=(ItemKind.REBUTTAL, rebuttal_id),
        )

    def record_verification(
        self,
        claim_id: UUID,
        recording: VerificationRecording,
        *,
        occurred_at: datetime | None,
        request: WriteRequest,
    ) -> Written:
        return self._append(
            claim_id,
            request,
            Role.CHECKER,
            occurred_at,
            lambda claim, when: claim.record_verification(
                recording, occurred_at=when, actor=request.actor
            ),
        )

    def retract_verification(
        self,
        claim_id: UUID,
        verification_id: UUID,
        withdrawal: Withdrawal,
        *,
        occurred_at: datetime | None,
        request: WriteRequest,
    ) -> Written:
        return self._append(
            claim_id,
            request,
            Role.EDITOR,
            occurred_at,
            lambda claim, when: claim.retract_verification(
                verification_id, withdrawal, occurred_at=when, actor=request.actor
            ),
            target=(ItemKind.VERIFICATION, verification_id),
        )

    # --- the write path -----------------------------------------------------

    def _append(
        self,
        claim_id: UUID,
        request: WriteRequest,
        role: Role,
        occurred_at: datetime | None,
        command: Command,
        target: tuple[ItemKind, UUID] | None = None,
    ) -> Written:
        self._check_role(request.actor, role)
        when = resolve_occurred_at(occurred_at, request.received_at)
        if replay := self._replay(request):
            return replay
        deadline = time.monotonic() + WRITE_DEADLINE_SECONDS
        # Held for the whole write: the registry forgets a lock nobody holds.
        held = self._claim_locks.of(claim_id)
        for attempt in itertools.count(1):
            # Writers of one claim in this process take turns, so they never
            # race each other for its next version; other processes still may.
            if not held.lock.acquire(timeout=max(0.0, deadline - time.monotonic())):
                break
            try:
                if written := self._attempt(claim_id, request, command, when, target):
                    return written
            finally:
                held.lock.release()
            if request.if_match is not None and not request.if_match.any_version:
                raise PreconditionFailed(self._current_version(claim_id))
            if time.monotonic() > deadline:
                break
            time.sleep(random.uniform(0, 0.002 * min(attempt, 10)))  # noqa: S311 (jitter)
        raise Unavailable(
            "The claim is being written by others faster than this write could follow; "
            "nothing was appended. Retry shortly.",
        )

    def _attempt(
        self,
        claim_id: UUID,
        request: WriteRequest,
        command: Command,
        when: datetime,
        target: tuple[ItemKind, UUID] | None,
    ) -> Written | None:
        """One try: load, check, call, save. None when another write took the version."""
        claim = self._load(claim_id)
        if target is not None:
            claim.check_item_exists(*target)
        if request.if_match is not None and not request.if_match.allows(claim.version):
            raise PreconditionFailed(claim.version)
        try:
            command(claim, when)
        except LedgerError:
            # A duplicate of this keyed request may have won meanwhile.
            if replay := self._replay(request):
                return replay
            raise
        return self._save(claim, request)

    def _save(self, claim: Claim, request: WriteRequest) -> Written | None:
        """Saves the claim's new event; None when another write took its version."""
        pending = claim.pending_events[-1]
        assert isinstance(pending, Claim.Event)
        event_id = pending.event_id
        try:
            recordings = self.store.save(claim, idempotency=request.idempotency)
        except IntegrityError:
            # The library retries a commit whose connection broke; if the first
            # attempt did commit, the retry collides with our own event.
            if self.store.event_queries.row_by_event_id(event_id) is not None:
                return Written(self.store.event_log.by_event_id(event_id))
            if replay := self._replay(request):
                return replay
            return None
        return Written(self.store.event_log.by_position(recordings[-1].notification.id))

    def _replay(self, request: WriteRequest) -> Written | None:
        """The first answer to this Idempotency-Key, if it was already appended."""
        if request.idempotency is None:
            return None
        first = self.store.event_queries.idempotent_write(request.idempotency.scope)
        if first is None:
            return None
        if first.request_hash != request.idempotency.request_hash:
            raise IdempotencyKeyReused(
                "This Idempotency-Key was already used with a different body; "
                "use a new key for a new request."
            )
        assert first.event_id is not None
        return Written(self.store.event_log.by_event_id(first.event_id), replayed=True)

    def _load(self, claim_id: UUID) -> Claim:
        """The claim, current; callers hold its lock (see `_ClaimLocks`)."""
        try:
            claim: object = self.store.repository.get(claim_id)
        except AggregateNotFoundError:
            raise ClaimNotFound(claim_id) from None
        assert isinstance(claim, Claim)
        return claim

    def _current_version(self, claim_id: UUID) -> int | None:
        latest = self.store.recorder.select_events(claim_id, desc=True, limit=1)
        return latest[0].originator_version if latest else None

    @staticmethod
    def _check_role(actor: Actor, role: Role) -> None:
        if not actor.role.includes(role):
            raise AccessDenied(f"This needs the role {role.value}; the key's role is {actor.role}.")
