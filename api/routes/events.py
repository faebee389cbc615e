"""`/events`: the whole ledger in position order, straight from the event store,
as pages or as a live stream of Server-Sent Events."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Annotated, Final
from uuid import UUID

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import StreamingResponse
from sse_starlette import EventSourceResponse, ServerSentEvent

from api.deps import AdminDep, LedgerDep, ReaderDep
from api.encoding import envelope_json, envelopes_json
from api.feed import HeadWatch
from api.limits import CountedEventSource, StreamSlots
from api.openapi import problem_responses
from api.problems import FieldError, ProblemError
from api.schemas import EventsPage
from factledger.exporting import EXPORT_PAGE, NDJSON
from factledger.ledger_reads import LedgerReads
from ledger.envelope import Envelope

__all__ = ["router"]

router = APIRouter(tags=["events"])

MAX_POSITION: Final = 2**63 - 1
"""Positions are 64-bit in both databases."""

HEARTBEAT_SECONDS: Final = 10
"""A comment line this often keeps proxies from closing an idle stream (SPEC: at most 15 s)."""
_STREAM_PAGE: Final = 100
_POSITION: Final = re.compile(r"[0-9]{1,19}")


@router.get(
    "/events",
    response_model=EventsPage,
    responses=problem_responses(401, 422, 503),
    summary="The ledger's events in position order",
)
async def list_events(
    _: ReaderDep,
    ledger: LedgerDep,
    after: Annotated[int, Query(ge=0, le=MAX_POSITION, description="A position (exclusive).")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Response:
    events = await ledger.reads.events_after(after, limit)
    next_after = events[-1].position if events else after
    return Response(
        b'{"events":%s,"next_after":%d}' % (envelopes_json(events), next_after),
        media_type="application/json",
    )


@router.get(
    "/events/stream",
    response_class=EventSourceResponse,
    responses={
        200: {
            "description": "`text/event-stream`: one event per ledger event, `id:` its "
            "position, `data:` its envelope (JSON); a `: ping` comment every 10 s.",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        },
        **problem_responses(401, 422, 503),
    },
    summary="The ledger's events as Server-Sent Events, live",
)
async def stream_events(
    _: ReaderDep,
    ledger: LedgerDep,
    request: Request,
    after: Annotated[
        int,
        Query(ge=0, le=MAX_POSITION, description="Start after this position (default: the start)."),
    ] = 0,
    last_event_id: Annotated[
        str | None,
        Header(description="Resume after this position (sent by EventSource on reconnecting)."),
    ] = None,
) -> EventSourceResponse:
    if last_event_id is not None:
        if not _POSITION.fullmatch(last_event_id.strip()) or int(last_event_id) > MAX_POSITION:
            raise ProblemError(
                422,
                "invalid-request",
                "Last-Event-ID is not a position: send the `id:` of the last event received.",
                errors=[FieldError(field="Last-Event-ID", message="not a position")],
            )
        after = int(last_event_id)
    slots: StreamSlots = request.app.state.stream_slots
    slots.take()
    return CountedEventSource(
        slots, _stream(ledger.reads, ledger.head_watch, after), ping=HEARTBEAT_SECONDS
    )


async def _stream(
    reads: LedgerReads, watch: HeadWatch, after: int
) -> AsyncIterator[ServerSentEvent]:
    while True:
        events = await reads.events_after(after, _STREAM_PAGE)
        for event in events:
            yield ServerSentEvent(data=envelope_json(event).decode(), id=str(event.position))
        if events:
            after = events[-1].position
        else:
            await watch.wait_beyond(after, timeout=HEARTBEAT_SECONDS)


@router.get(
    "/events/export",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "`application/x-ndjson`: every event envelope up to the ledger's "
            "head when the request came, one per line, in position order (what "
            "`factledger export` writes and `factledger import` reads).",
            "content": {NDJSON: {"schema": {"type": "string"}}},
        },
        **problem_responses(401, 403, 503),
    },
    summary="Export the whole ledger as NDJSON (admin)",
)
async def export_events(_: AdminDep, ledger: LedgerDep) -> StreamingResponse:
    until = await ledger.reads.head()
    return StreamingResponse(_export(ledger.reads, until), media_type=NDJSON)


async def _export(reads: LedgerReads, until: int) -> AsyncIterator[bytes]:
    """Page by page (constant memory), each page one chunk of lines."""
    after = 0
    while after < until:
        events = [e for e in await reads.events_after(after, EXPORT_PAGE) if e.position <= until]
        if not events:
            return
        yield b"".join(envelope_json(event) + b"\n" for event in events)
        after = events[-1].position


@router.get(
    "/events/{event_id}",
    response_model=Envelope,
    responses=problem_responses(401, 404, 422, 503),
    summary="One event",
)
async def get_event(_: ReaderDep, event_id: UUID, ledger: LedgerDep) -> Response:
    event = await ledger.reads.event(event_id)
    return Response(envelope_json(event), media_type="application/json")
