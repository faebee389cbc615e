"""`factledger seed`: loads the seeds shipped with the project through the
ordinary write path, as the seeds actor, idempotently.

Every entry of a seeds file has a stable key. A claim's id is derived from
its key, and every write carries an Idempotency-Key made from it, so loading
the seeds again appends nothing; an entry edited since it was loaded is
reported, not silently loaded twice.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import resources
from typing import Any, Final
from uuid import UUID, uuid5

from pydantic import BaseModel, ConfigDict, Field

from factledger.idempotency import request_fingerprint
from factledger.writes import LedgerWrites, WriteRequest, Written
from ledger.access import SEEDS_ACTOR
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
    writes: LedgerWrites,
    seeds: list[SeedFile],
    on_write: Callable[[str, Written], None] = lambda _key, _written: None,
) -> SeedReport:
    report = SeedReport()
    for seed_write in _writes(writes, seeds):
        written = seed_write.write(_request(seed_write.path, seed_write.key, seed_write.document))
        if written.replayed:
            report.already_there += 1
        else:
            report.appended += 1
        on_write(seed_write.key, written)
    return report


Write = Callable[[WriteRequest], Written]


@dataclass(frozen=True)
class _SeedWrite:
    key: str
    """The Idempotency-Key of the write."""
    path: str
    """The API path the same write would be posted to: the key's scope."""
    document: dict[str, Any]
    write: Write


def _writes(writes: LedgerWrites, seeds: list[SeedFile]) -> Iterator[_SeedWrite]:
    """Every write the seeds ask for, in order."""
    for seeds_file in seeds:
        for entry in seeds_file.claims:
            claim_id = seed_claim_id(entry.key)
            yield _SeedWrite(
                key=f"seed:{entry.key}",
                path="/claims",
                document=entry.claim.model_dump(mode="json", exclude_none=True),
                write=_registration(writes, claim_id, entry.claim),
            )
            for rebuttal in entry.rebuttals:
                yield _SeedWrite(
                    key=f"seed:{entry.key}:{rebuttal.key}",
                    path=f"/claims/{claim_id}/rebuttals",
                    document=rebuttal.model_dump(mode="json", exclude_none=True),
                    write=_rebuttal(writes, claim_id, rebuttal),
                )


def _registration(writes: LedgerWrites, claim_id: UUID, claim: SeedClaim) -> Write:
    registration = ClaimRegistration.model_validate(
        claim.model_dump(exclude={"occurred_at"}, exclude_none=True)
    )

    def write(request: WriteRequest) -> Written:
        return writes.register_claim(
            registration, claim_id=claim_id, occurred_at=claim.occurred_at, request=request
        )

    return write


def _rebuttal(writes: LedgerWrites, claim_id: UUID, rebuttal: SeedRebuttal) -> Write:
    filing = RebuttalFiling.model_validate(
        rebuttal.model_dump(exclude={"occurred_at", "key"}, exclude_none=True)
    )

    def write(request: WriteRequest) -> Written:
        return writes.file_rebuttal(
            claim_id, filing, occurred_at=rebuttal.occurred_at, request=request
        )

    return write


def _request(path: str, key: str, document: dict[str, Any]) -> WriteRequest:
    return WriteRequest(
        actor=SEEDS_ACTOR,
        received_at=utc_now(),
        idempotency=IdempotencyRow(
            scope=IdempotencyScope(api_key_id=SEEDS_ACTOR.id, method="POST", path=path, key=key),
            request_hash=request_fingerprint(document),
        ),
    )
