"""ClaimReview out (SPEC §4): a claim's schema.org ClaimReview as it stood at
any pair of times, and the feed of every claim's current one, for
aggregators. Both are built by `ledger.claimreview.claim_review` from the
same fold as `GET /claims/{claim_id}`."""

from __future__ import annotations

from typing import Annotated, Any, Final
from uuid import UUID

import orjson
from fastapi import APIRouter, Query, Response

from api.cursors import decode_cursor, encode_cursor
from api.deps import LedgerDep, ReaderDep, TimeWindowDep
from api.openapi import problem_responses
from api.schemas import ClaimReviewPage
from ledger.claimreview import claim_review
from ledger.errors import ClaimNotFound, NoStandingVerification
from ledger.times import format_instant, from_micros
from projections.read_models import ClaimFilter

__all__ = ["JSON_LD", "router"]

router = APIRouter(tags=["claimreview"])

JSON_LD: Final = "application/ld+json"

_DOCUMENT: Final[dict[int | str, dict[str, Any]]] = {
    200: {
        "description": "A schema.org ClaimReview, as JSON-LD (docs/claimreview.md).",
        "content": {JSON_LD: {"schema": {"type": "object"}}},
    }
}


@router.get(
    "/claims/{claim_id}/claimreview",
    response_class=Response,
    responses={**_DOCUMENT, **problem_responses(401, 404, 422, 503)},
    summary="The claim's ClaimReview (JSON-LD) as of a system time, valid at a world time",
)
async def get_claim_review(
    _: ReaderDep, claim_id: UUID, window: TimeWindowDep, ledger: LedgerDep
) -> Response:
    view = await ledger.reads.claim.astate(claim_id, as_of=window.as_of, valid_at=window.valid_at)
    document = claim_review(claim_id, view.folded, ledger.settings.publisher)
    headers = {"Ledger-As-Of": format_instant(from_micros(view.window.as_of_us))}
    if view.window.valid_at_us is not None:
        headers["Ledger-Valid-At"] = format_instant(from_micros(view.window.valid_at_us))
    return Response(orjson.dumps(document), media_type=JSON_LD, headers=headers)


@router.get(
    "/claimreview",
    response_model=ClaimReviewPage,
    responses=problem_responses(401, 422, 503),
    summary="Every claim's current ClaimReview, newest registration first (for aggregators)",
)
async def list_claim_reviews(
    _: ReaderDep,
    ledger: LedgerDep,
    limit: Annotated[int, Query(ge=1, le=200, description="Items per page.")] = 50,
    cursor: Annotated[
        str | None,
        Query(max_length=120, description="`next_cursor` of the previous page, as it is."),
    ] = None,
) -> ClaimReviewPage:
    before = decode_cursor("claimreview", cursor, 1)[0] if cursor is not None else None
    records = await ledger.reads.claims(ClaimFilter(verified=True), before, limit + 1, None)
    page, more = records[:limit], len(records) > limit
    publisher = ledger.settings.publisher
    items = []
    for record in page:
        try:
            view = await ledger.reads.claim.astate(record.claim_id)
            items.append(claim_review(record.claim_id, view.folded, publisher))
        except (NoStandingVerification, ClaimNotFound):
            continue  # retracted since the read model saw it
    return ClaimReviewPage(
        items=items,
        next_cursor=encode_cursor("claimreview", page[-1].position) if more else None,
    )
