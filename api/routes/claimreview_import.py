"""`POST /import/claimreview` (checker): fact-checks published as ClaimReview,
imported as claims and verifications (SPEC §4, docs/claimreview.md).

The whole import is answered within the writer's bound (SPEC §4's ten
seconds for a request); past it, 503: importing again is safe. One
ClaimReview answers 201 with its two events (200 with the first
import's on a replay), or its problem; a list or a page answers 200 with one
result per review, in order.
"""

from __future__ import annotations

import asyncio
from typing import Any, Final

import orjson
from fastapi import APIRouter, Request, Response

from api.claimreview_bodies import MAX_IMPORT_BYTES, MAX_REVIEWS, ReviewBody, review_body
from api.deps import caller
from api.encoding import envelope_json
from api.openapi import problem_responses
from api.problems import ledger_problem, problem_body
from api.schemas import ReviewImportResult
from api.state import Ledger
from factledger.claimreview_import import ClaimReviewImport, Imported
from factledger.writer import ANSWER_SECONDS
from ledger.access import Actor, Role
from ledger.claimreview_reading import read_claim_review, types_of
from ledger.errors import LedgerError, Unavailable
from ledger.times import utc_now

__all__ = ["router"]

router = APIRouter(tags=["claimreview"])

_BODY: Final = {
    "requestBody": {
        "required": True,
        "description": "One schema.org ClaimReview, a list of them, or an HTML page whose "
        '`<script type="application/ld+json">` blocks hold them (objects, lists or '
        f"`@graph`s); at most {MAX_IMPORT_BYTES // 1024} KiB and {MAX_REVIEWS} reviews.",
        "content": {
            "application/ld+json": {"schema": {"type": ["object", "array"]}},
            "application/json": {"schema": {"type": ["object", "array"]}},
            "text/html": {"schema": {"type": "string"}},
        },
    }
}


@router.post(
    "/import/claimreview",
    status_code=201,
    response_model=ReviewImportResult,
    responses={
        200: {
            "description": "A replay of one review (its first import's events), or one "
            "result per review of a list or a page, in order.",
            "model": ReviewImportResult | list[ReviewImportResult],
        },
        **problem_responses(401, 403, 413, 415, 422, 503),
    },
    openapi_extra=_BODY,
    summary="Import fact-checks published as ClaimReview (JSON-LD, or an HTML page)",
)
async def import_claim_reviews(request: Request) -> Response:
    ledger: Ledger = request.app.state.ledger
    actor = await caller(request, ledger, Role.CHECKER)
    body = await review_body(request)
    importer = ClaimReviewImport(ledger.writer, ledger.reads.claim)
    try:
        async with asyncio.timeout(ANSWER_SECONDS):
            return await _answer(ledger, importer, body, actor)
    except TimeoutError:
        raise Unavailable(
            f"The import did not finish within {ANSWER_SECONDS:g} seconds; some reviews may "
            "have been imported. Importing the same body again is safe: each review is "
            "appended once.",
            retry_after=1,
        ) from None


async def _answer(
    ledger: Ledger, importer: ClaimReviewImport, body: ReviewBody, actor: Actor
) -> Response:
    if body.single:
        imported = await _imported(ledger, importer, body.reviews[0], actor)
        status = 201 if imported.appended else 200
        return Response(
            orjson.dumps(_result(status, imported)),
            status_code=status,
            media_type="application/json",
            headers={"Location": f"/claims/{imported.events[0].claim_id}"},
        )
    results = await asyncio.gather(
        *(_one_of_many(ledger, importer, node, actor) for node in body.reviews)
    )
    return Response(orjson.dumps(results), media_type="application/json")


async def _imported(
    ledger: Ledger, importer: ClaimReviewImport, node: Any, actor: Actor
) -> Imported:
    review = read_claim_review(node, ledger.settings.rating_labels, utc_now())
    return await importer.add(review, actor)


async def _one_of_many(
    ledger: Ledger, importer: ClaimReviewImport, node: Any, actor: Actor
) -> dict[str, Any]:
    if not isinstance(node, dict) or "ClaimReview" not in types_of(node):
        detail = "This item is not a ClaimReview."
        problem = problem_body(422, "claim-review-refused", detail)
        problem["errors"] = [{"field": "@type", "message": detail}]
        return {"status": 422, "problem": problem}
    try:
        imported = await _imported(ledger, importer, node, actor)
    except LedgerError as error:
        status, problem, _ = ledger_problem(error)
        return {"status": status, "problem": problem}
    return _result(201 if imported.appended else 200, imported)


def _result(status: int, imported: Imported) -> dict[str, Any]:
    return {
        "status": status,
        "events": [orjson.Fragment(envelope_json(event)) for event in imported.events],
    }
