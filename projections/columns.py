"""Records to column values and back, the same on both backends.

Structured values (the claimant, the tags, the actor) are stored as JSON text.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final
from uuid import UUID

import orjson

from ledger.verdict import Verdict
from projections.records import ChangeRecord, ClaimRecord

__all__ = [
    "CHANGE_COLUMNS",
    "CLAIM_COLUMNS",
    "change_from_row",
    "change_values",
    "claim_from_row",
    "claim_values",
]

CLAIM_COLUMNS: Final = (
    "position",
    "claim_id",
    "text",
    "claimant_name",
    "claimant",
    "tags",
    "verdict",
    "verdict_since_us",
    "version",
    "last_position",
    "rebuttals",
    "evidence_supports",
    "evidence_refutes",
    "evidence_context",
    "verifications",
)

CHANGE_COLUMNS: Final = (
    "position",
    "claim_id",
    "from_verdict",
    "to_verdict",
    "occurred_at_us",
    "recorded_at_us",
    "event_id",
    "version",
    "actor_id",
    "actor",
    "reason",
)


def claim_values(record: ClaimRecord, uuid: Callable[[UUID], object]) -> tuple[object, ...]:
    return (
        record.position,
        uuid(record.claim_id),
        record.text,
        record.claimant["name"],
        orjson.dumps(record.claimant).decode(),
        orjson.dumps(record.tags).decode(),
        record.verdict.value,
        record.verdict_since_us,
        record.version,
        record.last_position,
        record.rebuttals,
        record.evidence_supports,
        record.evidence_refutes,
        record.evidence_context,
        record.verifications,
    )


def claim_from_row(row: Mapping[str, Any], words: tuple[str, ...]) -> ClaimRecord:
    return ClaimRecord(
        claim_id=_uuid(row["claim_id"]),
        position=row["position"],
        text=row["text"],
        claimant=orjson.loads(row["claimant"]),
        tags=tuple(orjson.loads(row["tags"])),
        verdict=Verdict(row["verdict"]),
        verdict_since_us=row["verdict_since_us"],
        version=row["version"],
        last_position=row["last_position"],
        rebuttals=row["rebuttals"],
        evidence_supports=row["evidence_supports"],
        evidence_refutes=row["evidence_refutes"],
        evidence_context=row["evidence_context"],
        verifications=row["verifications"],
        words=words,
    )


def change_values(change: ChangeRecord, uuid: Callable[[UUID], object]) -> tuple[object, ...]:
    return (
        change.position,
        uuid(change.claim_id),
        change.from_verdict.value if change.from_verdict else None,
        change.to_verdict.value,
        change.occurred_at_us,
        change.recorded_at_us,
        uuid(change.event_id),
        change.version,
        change.actor["id"],
        orjson.dumps(change.actor).decode(),
        change.reason,
    )


def change_from_row(row: Mapping[str, Any]) -> ChangeRecord:
    return ChangeRecord(
        position=row["position"],
        claim_id=_uuid(row["claim_id"]),
        from_verdict=Verdict(row["from_verdict"]) if row["from_verdict"] else None,
        to_verdict=Verdict(row["to_verdict"]),
        occurred_at_us=row["occurred_at_us"],
        recorded_at_us=row["recorded_at_us"],
        event_id=_uuid(row["event_id"]),
        version=row["version"],
        actor=orjson.loads(row["actor"]),
        reason=row["reason"],
    )


def _uuid(value: UUID | str) -> UUID:
    return value if isinstance(value, UUID) else UUID(value)
