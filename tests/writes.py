"""Writes for tests that talk to the write path directly (not through HTTP)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from factledger.commands import Command, IfMatch, Written
from factledger.service import LedgerService
from ledger.access import Actor, Role
from ledger.events import EventType
from ledger.fields import FrozenModel
from ledger.payloads import ClaimRegistration, Party, RebuttalFiling
from ledger.times import parse_instant, utc_now
from storage.rows import IdempotencyRow

__all__ = ["CONTRIBUTOR", "EDITOR", "FILING", "REGISTRATION", "command", "register", "write"]

EDITOR = Actor(id="editor-key", name="An editor", role=Role.EDITOR)
CONTRIBUTOR = Actor(id="contributor-key", name="A contributor", role=Role.CONTRIBUTOR)
FILING = RebuttalFiling(party=Party(name="Hanna Malyar"), statement="Battles continued.")
REGISTRATION = ClaimRegistration(text="Soledar was taken.", claimant=Party(name="Igor Konashenkov"))


def command(
    event_type: EventType,
    payload: FrozenModel,
    *,
    actor: Actor = EDITOR,
    claim_id: UUID | None = None,
    item_id: UUID | None = None,
    occurred_at: datetime | str | None = None,
    if_match: IfMatch | None = None,
    idempotency: IdempotencyRow | None = None,
) -> Command:
    return Command(
        event_type=event_type,
        payload=payload,
        actor=actor,
        received_at=utc_now(),
        claim_id=claim_id,
        item_id=item_id,
        occurred_at=parse_instant(occurred_at) if isinstance(occurred_at, str) else occurred_at,
        if_match=if_match,
        idempotency=idempotency,
    )


def write(
    service: LedgerService, event_type: EventType, payload: FrozenModel, **kwargs: object
) -> Written:
    return service.writer.write(command(event_type, payload, **kwargs))  # type: ignore[arg-type]


def register(
    service: LedgerService,
    occurred_at: str = "2023-01-13T09:00:00Z",
    actor: Actor = EDITOR,
    claim_id: UUID | None = None,
) -> Written:
    return write(
        service,
        EventType.CLAIM_REGISTERED,
        REGISTRATION,
        occurred_at=occurred_at,
        actor=actor,
        claim_id=claim_id,
    )
