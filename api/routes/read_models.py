"""`GET /claims` and `GET /changes`: every claim and every verdict change,
served from the read models, newest first, a page at a time.

Pages are keyset pages (a cursor holds the last key returned): paging goes
on where it stopped however many events are appended meanwhile.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, Query

from api.cursors import decode_cursor, encode_cursor
from api.deps import LedgerDep, ReaderDep, query_time
from api.openapi import problem_responses
from api.problems import FieldError, ProblemError
from api.routes.events import MAX_POSITION
from api.schemas import ChangesPage, ClaimsPage
from ledger.times import format_instant, from_micros, to_micros
from ledger.verdict import Verdict
from projections.read_models import ChangeFilter, ChangeKey, ClaimFilter
from projections.records import ChangeRecord, ClaimRecord
from projections.words import MAX_QUERY_CHARS, words

__all__ = ["router"]

router = APIRouter(tags=["read models"])

READ_YOUR_WRITES_SECONDS: Final = 5.0

Limit = Annotated[int, Query(ge=1, le=200, description="Items per page.")]
Cursor = Annotated[
    str | None,
    Query(max_length=120, description="`next_cursor` of the previous page, as it is."),
]
MinPosition = Annotated[
    int | None,
    Query(
        ge=0,
        le=MAX_POSITION,
        description="Read your writes: wait (up to 5 s) until the read models have applied "
        "the event at this position (a write answer's `position`); else 503.",
    ),
]


def _name(description: str) -> Any:
    return Query(min_length=1, max_length=200, description=description)


@router.get(
    "/claims",
    response_model=ClaimsPage,
    responses=problem_responses(401, 422, 503),
    summary="Every claim's current verdict, newest registration first",
)
async def list_claims(
    _: ReaderDep,
    ledger: LedgerDep,
    verdict: Annotated[Verdict | None, Query(description="Only claims with this verdict.")] = None,
    claimant: Annotated[str | None, _name("Only claims by this claimant (exact name).")] = None,
    tag: Annotated[str | None, _name("Only claims with this tag.")] = None,
    q: Annotated[
        str | None,
        Query(
            max_length=MAX_QUERY_CHARS,
            description="Every word (a run of letters and digits; case-insensitive, no stemming) "
            "appears as a whole word in the claim's text or its claimant's name.",
        ),
    ] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
    min_position: MinPosition = None,
) -> ClaimsPage:
    query_words: tuple[str, ...] = ()
    if q is not None:
        query_words = tuple(words(q))
        if not query_words:
            raise ProblemError(
                422,
                "invalid-request",
                "q has no words: a word is a run of letters and digits.",
                errors=[FieldError(field="q", message="no words")],
            )
    before = decode_cursor("claims", cursor, 1)[0] if cursor is not None else None
    where = ClaimFilter(verdict=verdict, claimant=claimant, tag=tag, words=query_words)
    # One more than asked for tells whether there is a next page.
    records = await ledger.reads.claims(where, before, limit + 1, min_position)
    page, more = records[:limit], len(records) > limit
    # Validated against the declared model, so that the OpenAPI document cannot lie.
    return ClaimsPage.model_validate(
        {
            "items": [_claim_summary(record) for record in page],
            "next_cursor": encode_cursor("claims", page[-1].position) if more else None,
        }
    )


@router.get(
    "/changes",
    response_model=ChangesPage,
    responses=problem_responses(401, 422, 503),
    summary="Every claim's verdict changes, newest occurred_at first",
)
async def list_changes(
    _: ReaderDep,
    ledger: LedgerDep,
    since: Annotated[
        str | None,
        Query(
            description="Only changes that occurred at or after this time.",
            json_schema_extra={"format": "date-time"},
        ),
    ] = None,
    until: Annotated[
        str | None,
        Query(
            description="Only changes that occurred before this time.",
            json_schema_extra={"format": "date-time"},
        ),
    ] = None,
    to: Annotated[Verdict | None, Query(description="Only changes to this verdict.")] = None,
    actor: Annotated[str | None, _name("Only changes made by this actor id.")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
    min_position: MinPosition = None,
) -> ChangesPage:
    since_at, until_at = query_time("since", since), query_time("until", until)
    before = ChangeKey(*decode_cursor("changes", cursor, 2)) if cursor is not None else None
    where = ChangeFilter(
        since_us=to_micros(since_at) if since_at else None,
        until_us=to_micros(until_at) if until_at else None,
        to=to,
        actor_id=actor,
    )
    records = await ledger.reads.changes(where, before, limit + 1, min_position)
    page, more = records[:limit], len(records) > limit
    next_cursor = None
    if more:
        last = page[-1]
        next_cursor = encode_cursor("changes", last.occurred_at_us, last.position)
    return ChangesPage.model_validate(
        {"items": [_change_entry(record) for record in page], "next_cursor": next_cursor}
    )


def _claim_summary(record: ClaimRecord) -> dict[str, Any]:
    return {
        "claim_id": str(record.claim_id),
        "text": record.text,
        "claimant": record.claimant,
        "tags": list(record.tags),
        "verdict": record.verdict.value,
        "verdict_since": format_instant(from_micros(record.verdict_since_us)),
        "version": record.version,
        "counts": {
            "rebuttals": record.rebuttals,
            "evidence": {
                "supports": record.evidence_supports,
                "refutes": record.evidence_refutes,
                "context": record.evidence_context,
            },
            "verifications": record.verifications,
        },
    }


def _change_entry(record: ChangeRecord) -> dict[str, Any]:
    return {
        "claim_id": str(record.claim_id),
        "position": record.position,
        "from": record.from_verdict.value if record.from_verdict else None,
        "to": record.to_verdict.value,
        "occurred_at": format_instant(from_micros(record.occurred_at_us)),
        "recorded_at": format_instant(from_micros(record.recorded_at_us)),
        "event_id": str(record.event_id),
        "version": record.version,
        "actor": record.actor,
        "reason": record.reason,
    }
