"""Answers encoded straight to JSON bytes, for the paths that run per request.

The pydantic models (`ClaimState`, `VerdictChange`, `Envelope`) declare the
answers and make the OpenAPI document; validating the answer into them is
the reference (`Fold.state`, `Fold.changes`, `envelope_of`). These encoders
produce the same JSON without validating again what was validated when it
was written: each is derived from its model (the fields, their order, the
optional ones that answer `null`), and a test checks, for random histories,
that both give the same bytes.

An event never changes, so its envelope and the item it begins are encoded
once and kept on the event.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Final, Union, get_args, get_origin
from uuid import UUID

import orjson
from pydantic import BaseModel

from ledger.envelope import envelope_fields
from ledger.payloads import DEFAULT_LANGUAGE, Stance
from ledger.recorded import RecordedEvent
from ledger.times import format_instant, from_micros
from ledger.verdict import (
    Change,
    ClaimState,
    CountingEvidence,
    CountingRebuttal,
    Fold,
    Provenance,
    StandingVerification,
)

__all__ = ["envelope_json", "envelopes_json", "shape_of", "state_json", "timeline_json"]

Shape = Callable[[Any], Any]


def _nested(annotation: Any) -> Shape | None:
    """How to shape a JSON value of this annotation, if it holds models."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _nested(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        shapes = [s for s in (_nested(arg) for arg in get_args(annotation)) if s is not None]
        if not shapes:
            return None
        inner = shapes[0]
        return lambda value: None if value is None else inner(value)
    if origin is list:
        item = _nested(get_args(annotation)[0])
        if item is None:
            return None
        return lambda value: [item(v) for v in value]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return shape_of(annotation)
    return None


def shape_of(model: type[BaseModel], skip: frozenset[str] = frozenset()) -> Shape:
    """A stored JSON object (optional fields absent) shaped as `model` dumps it
    in JSON mode: every field in the model's order, absent ones `null`."""
    fields: list[tuple[str, Shape | None]] = [
        (name, _nested(info.annotation))
        for name, info in model.model_fields.items()
        if name not in skip
    ]

    def shape(value: dict[str, Any]) -> dict[str, Any]:
        shaped = {}
        for name, nested in fields:
            field_value = value.get(name)
            shaped[name] = (
                nested(field_value)
                if nested is not None and field_value is not None
                else field_value
            )
        return shaped

    return shape


# --- envelopes --------------------------------------------------------------------


def envelope_json(event: RecordedEvent) -> bytes:
    if event.envelope_json is None:
        event.envelope_json = orjson.dumps(envelope_fields(event))
    return event.envelope_json


def envelopes_json(events: Sequence[RecordedEvent]) -> bytes:
    return orjson.dumps([orjson.Fragment(envelope_json(event)) for event in events])


# --- a claim's state ------------------------------------------------------------------

_PROVENANCE: Final = frozenset(Provenance.model_fields)


def _item_encoder(model: type[BaseModel]) -> Callable[[RecordedEvent], bytes]:
    data_shape = shape_of(model, skip=_PROVENANCE)
    order = list(model.model_fields)

    def encode(event: RecordedEvent) -> bytes:
        fields = data_shape(event.data)
        fields.update(
            event_id=event.event_id,
            version=event.version,
            occurred_at=event.occurred_at,
            recorded_at=_recorded_at(event),
            actor=event.actor,
        )
        return orjson.dumps({name: fields[name] for name in order})

    return encode


_ITEM_ENCODERS: Final = {
    "verifications": _item_encoder(StandingVerification),
    "rebuttals": _item_encoder(CountingRebuttal),
    "evidence": _item_encoder(CountingEvidence),
}
_STANCES: Final = tuple(stance.value for stance in Stance)
_CLAIMANT: Final = _nested(ClaimState.model_fields["claimant"].annotation)
_APPEARANCE: Final = _nested(ClaimState.model_fields["appearance"].annotation)


def _items(kind: str, events: Sequence[RecordedEvent]) -> list[orjson.Fragment]:
    encode = _ITEM_ENCODERS[kind]
    items = []
    for event in events:
        if event.item_json is None:
            event.item_json = encode(event)
        items.append(orjson.Fragment(event.item_json))
    return items


def state_json(claim_id: UUID, folded: Fold, as_of_us: int, valid_at_us: int | None) -> bytes:
    """`ClaimState` as JSON: the same as `folded.state(...).model_dump(mode="json")`."""
    registration = folded.registration
    assert registration is not None
    assert _CLAIMANT is not None
    assert _APPEARANCE is not None
    by_stance: dict[str, list[RecordedEvent]] = {stance: [] for stance in _STANCES}
    for event in folded.evidence.values():
        by_stance[event.data["stance"]].append(event)
    return orjson.dumps(
        {
            "claim_id": str(claim_id),
            "verdict": folded.verdict.value,
            "verdict_since": _instant(folded.verdict_since_us),
            "version": folded.version,
            "text": folded.text,
            "tags": folded.tags,
            "claimant": _CLAIMANT(registration["claimant"]),
            "appearance": _APPEARANCE(registration.get("appearance")),
            "language": registration.get("language", DEFAULT_LANGUAGE),
            "verifications": _items("verifications", list(folded.verifications.values())),
            "rebuttals": _items("rebuttals", list(folded.rebuttals.values())),
            "evidence": {
                stance: _items("evidence", events) for stance, events in by_stance.items()
            },
            "as_of": _instant(as_of_us),
            "valid_at": _instant(valid_at_us) if valid_at_us is not None else None,
        }
    )


# --- timelines --------------------------------------------------------------------------


def timeline_json(timeline: Sequence[Change]) -> bytes:
    """A list of `VerdictChange` as JSON (by alias: `from`)."""
    return orjson.dumps(
        [
            {
                "from": change.from_.value if change.from_ is not None else None,
                "to": change.to.value,
                "occurred_at": change.event.occurred_at,
                "recorded_at": _recorded_at(change.event),
                "event_id": change.event.event_id,
                "version": change.event.version,
                "actor": change.event.actor,
                "reason": change.reason,
            }
            for change in timeline
        ]
    )


def _instant(micros: int) -> str:
    return format_instant(from_micros(micros))


def _recorded_at(event: RecordedEvent) -> str:
    return event.recorded_at()
