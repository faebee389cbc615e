"""`/events`: the whole ledger in position order, straight from the event store."""

from __future__ import annotations

from typing import Annotated, Final
from uuid import UUID

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse

from api.deps import ReaderDep, ServiceDep
from api.openapi import problem_responses
from api.schemas import EventsPage
from ledger.envelope import Envelope

__all__ = ["router"]

router = APIRouter(tags=["events"])

MAX_POSITION: Final = 2**63 - 1
"""Positions are 64-bit in both databases."""


@router.get(
    "/events",
    response_model=EventsPage,
    responses=problem_responses(401, 422, 503),
    summary="The ledger's events in position order",
)
def list_events(
    _: ReaderDep,
    service: ServiceDep,
    after: Annotated[int, Query(ge=0, le=MAX_POSITION, description="A position (exclusive).")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Response:
    envelopes = service.store.event_log.page(after, limit)
    return JSONResponse(
        {
            "events": [envelope.model_dump(mode="json") for envelope in envelopes],
            "next_after": envelopes[-1].position if envelopes else after,
        }
    )


@router.get(
    "/events/{event_id}",
    response_model=Envelope,
    responses=problem_responses(401, 404, 422, 503),
    summary="One event",
)
def get_event(_: ReaderDep, event_id: UUID, service: ServiceDep) -> Response:
    return JSONResponse(service.store.event_log.by_event_id(event_id).model_dump(mode="json"))
