"""`/claims/{claim_id}`: each claim's state, history and timeline at any pair
of times, from the histories this process keeps in memory."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Header, Response

from api.deps import LedgerDep, ReaderDep, TimeWindowDep
from api.encoding import envelopes_json, state_json, timeline_json
from api.openapi import problem_responses
from factledger.reads import TimeWindow
from ledger.envelope import Envelope
from ledger.times import format_instant, from_micros
from ledger.verdict import ClaimState, VerdictChange

__all__ = ["router"]

router = APIRouter(tags=["claims"])

_READ_PROBLEMS = problem_responses(401, 404, 422, 503)


def _window_headers(window: TimeWindow) -> dict[str, str]:
    headers = {"Ledger-As-Of": format_instant(from_micros(window.as_of_us))}
    if window.valid_at_us is not None:
        headers["Ledger-Valid-At"] = format_instant(from_micros(window.valid_at_us))
    return headers


def _json(content: bytes, headers: dict[str, str]) -> Response:
    return Response(content, media_type="application/json", headers=headers)


@router.get(
    "/claims/{claim_id}",
    response_model=ClaimState,
    responses={304: {"description": "Not modified"}, **_READ_PROBLEMS},
    summary="The state of a claim as of a system time, valid at a world time",
)
async def get_claim(
    _: ReaderDep,
    claim_id: UUID,
    window: TimeWindowDep,
    ledger: LedgerDep,
    if_none_match: Annotated[str | None, Header(alias="If-None-Match")] = None,
) -> Response:
    view = await ledger.reads.claim.astate(claim_id, as_of=window.as_of, valid_at=window.valid_at)
    headers = _window_headers(view.window)
    if window.as_of is None and window.valid_at is None:
        etag = f'"{view.folded.version}"'
        headers["ETag"] = etag
        if if_none_match is not None and etag in _weak_tags(if_none_match):
            return Response(status_code=304, headers=headers)
    return _json(
        state_json(claim_id, view.folded, view.window.as_of_us, view.window.valid_at_us), headers
    )


@router.get(
    "/claims/{claim_id}/history",
    response_model=list[Envelope],
    responses=_READ_PROBLEMS,
    summary="A claim's events in version order, as of a system time, valid at a world time",
)
async def get_history(
    _: ReaderDep, claim_id: UUID, window: TimeWindowDep, ledger: LedgerDep
) -> Response:
    used, events = await ledger.reads.claim.ahistory(
        claim_id, as_of=window.as_of, valid_at=window.valid_at
    )
    return _json(envelopes_json(events), _window_headers(used))


@router.get(
    "/claims/{claim_id}/timeline",
    response_model=list[VerdictChange],
    responses=_READ_PROBLEMS,
    summary="How a claim's verdict changed: who changed it, when and why",
)
async def get_timeline(
    _: ReaderDep, claim_id: UUID, window: TimeWindowDep, ledger: LedgerDep
) -> Response:
    used, timeline = await ledger.reads.claim.atimeline(
        claim_id, as_of=window.as_of, valid_at=window.valid_at
    )
    return _json(timeline_json(timeline), _window_headers(used))


def _weak_tags(header: str) -> set[str]:
    """If-None-Match compares weakly: W/"3" and "3" both match "3"."""
    return {tag.strip().removeprefix("W/") for tag in header.split(",")}
