"""`factledger seed`: loads the seeds shipped with the project through the
ordinary write path, as the seeds actor, idempotently.

Every entry of a seeds file has a stable key. A claim's id is derived from
its key, and every write carries an Idempotency-Key made from it, so loading
the seeds again appends nothing; an entry edited since it was loaded is
reported, not silently loaded twice. (The kinds of claimants and parties
came to the seeds later: they are left out of what makes an entry the same,
so that a ledger seeded before them is not told its entries were edited.)
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from typing import Any, Final
from uuid import UUID, uuid5

from pydantic import BaseModel, ConfigDict, Field

from factledger.commands import Command, Written
from factledger.idempotency import request_fingerprint
from factledger.writer import BlockingWriter
from ledger.access import SEEDS_ACTOR
from ledger.events import EventType
from ledger.fields import FrozenModel
from ledger.payloads import ClaimRegistration, RebuttalFiling
from ledger.times import Instant, utc_now
from storage.rows import IdempotencyRow, IdempotencyScope

__all__ = ["SeedFile", "SeedReport", "load_seeds", "seed_claim_id", "seed_ledger"]

# Claim ids of seed entries are uuid5(SEEDS_NAMESPACE, entry key).
SEEDS_NAMESPACE: Final = UUID("6d1c1f2e-3b7a-5c41-9a55-0f2a7c1e5d10")


class SeedClaim(ClaimRegistration):
    occurred_at: Instant


class SeedRebuttal(RebuttalFiling):
    key: str = Field(min_length=1, max_length=100)
    occurred_at: Instant


class SeedEntry(FrozenModel):
    key: str = Field(min_length=1, max_length=100, pattern=r"^[a-z0-9-]+$")
    claim: SeedClaim
    rebuttals: tuple[SeedRebuttal, ...] = ()


class SeedFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = ""
    source: dict[str, Any]
    claims: list[SeedEntry]


@dataclass
class SeedReport:
    appended: int = 0
    already_there: int = 0


def seed_claim_id(key: str) -> UUID:
    return uuid5(SEEDS_NAMESPACE, key)


def load_seeds() -> list[SeedFile]:
    """The seeds files shipped inside the installed `seeds` package, in name order."""
    files = sorted(
        (item for item in resources.files("seeds").iterdir() if item.name.endswith(".json")),
        key=lambda item: item.name,
    )
    return [
        SeedFile.model_validate({**json.loads(item.read_text(encoding="utf-8")), "name": item.name})
        for item in files
    ]


def seed_ledger(
    writer: BlockingWriter,
    seeds: list[SeedFile],
    on_write: Callable[[str, Written], None] = lambda _key, _written: None,
) -> SeedReport:
    """Writes every seed not written yet, in order, as the seeds actor (all handed
    to the writer at once: it commits them together)."""
    report = SeedReport()
    submitted = [(key, writer.submit(command)) for key, command in _commands(seeds)]
    for key, future in submitted:
        written = future.result()
        if written.replayed:
            report.already_there += 1
        else:
            report.appended += 1
        on_write(key, written)
    return report


def _commands(seeds: list[SeedFile]) -> Iterator[tuple[str, Command]]:
    """Every write the seeds ask for, in order, with its Idempotency-Key."""
    for seeds_file in seeds:
        for entry in seeds_file.claims:
            claim_id = seed_claim_id(entry.key)
            key = f"seed:{entry.key}"
            yield (
                key,
                _command(
                    EventType.CLAIM_REGISTERED,
                    claim_id,
                    "/claims",
                    key,
                    _without_kind(entry.claim.model_dump(mode="json", exclude_none=True)),
                    entry.claim.occurred_at,
                    ClaimRegistration.model_validate(
                        entry.claim.model_dump(exclude={"occurred_at"}, exclude_none=True)
                    ),
                ),
            )
            for rebuttal in entry.rebuttals:
                key = f"seed:{entry.key}:{rebuttal.key}"
                yield (
                    key,
                    _command(
                        EventType.REBUTTAL_FILED,
                        claim_id,
                        f"/claims/{claim_id}/rebuttals",
                        key,
                        _without_kind(rebuttal.model_dump(mode="json", exclude_none=True)),
                        rebuttal.occurred_at,
                        RebuttalFiling.model_validate(
                            rebuttal.model_dump(exclude={"occurred_at", "key"}, exclude_none=True)
                        ),
                    ),
                )


def _without_kind(document: dict[str, Any]) -> dict[str, Any]:
    """The entry as it was before the seeds said whose words are a person's."""
    return {
        name: {k: v for k, v in value.items() if k != "kind"}
        if name in ("claimant", "party")
        else value
        for name, value in document.items()
    }


def _command(
    event_type: EventType,
    claim_id: UUID,
    path: str,
    key: str,
    document: dict[str, Any],
    occurred_at: datetime,
    payload: FrozenModel,
) -> Command:
    """The write as the API would take it, posted to `path` with that Idempotency-Key."""
    return Command(
        event_type=event_type,
        payload=payload,
        actor=SEEDS_ACTOR,
        received_at=utc_now(),
        claim_id=claim_id,
        occurred_at=occurred_at,
        idempotency=IdempotencyRow(
            scope=IdempotencyScope(api_key_id=SEEDS_ACTOR.id, method="POST", path=path, key=key),
            request_hash=request_fingerprint(document),
        ),
    )
