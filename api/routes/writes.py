"""The writes: one route per event type of `ledger.events`, made from its
declaration. Each checks the request in the order of SPEC §4 (access, size,
media type, shape), hands a `Command` to the process's writer and answers
201 with the event's envelope once it is committed."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Final
from uuid import UUID

from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute

from api.deps import caller, idempotency, if_match, json_document, validated
from api.encoding import envelope_json
from api.openapi import problem_responses, write_operation
from api.problems import FieldError, ProblemError
from api.schemas import write_body
from api.state import Ledger
from factledger.commands import Command, Written
from ledger.envelope import Envelope
from ledger.events import CLAIM_ID, EventType
from ledger.times import utc_now

__all__ = ["router"]

router = APIRouter(tags=["claims"])


class DirectRoute(APIRoute):
    """A route whose endpoint reads the request and answers by itself: FastAPI
    documents it, and calls it without solving dependencies or validating the
    answer: the write does both, in the order of SPEC §4, and the dependency
    solving it skips cost more than anything else on an append's path in the
    API (docs/benchmarks.md has the figure)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        endpoint: Callable[[Request], Coroutine[Any, Any, Response]] = self.endpoint
        return endpoint


_WRITE_PROBLEMS: Final = problem_responses(401, 403, 404, 409, 412, 413, 415, 422, 503)
_PATH_ID: Final = re.compile(r"\{(\w+)\}")


def created(written: Written) -> Response:
    event = written.event
    return Response(
        envelope_json(event),
        status_code=201,
        media_type="application/json",
        headers={"Location": f"/claims/{event.claim_id}", "ETag": f'"{event.version}"'},
    )


def _path_id(request: Request, name: str) -> UUID:
    try:
        return UUID(request.path_params[name])
    except ValueError:
        raise ProblemError(
            422,
            "invalid-request",
            f"{name} is not a UUID.",
            errors=[FieldError(field=name, message="not a valid UUID")],
        ) from None


def _write(event_type: EventType) -> Callable[[Request], Awaitable[Response]]:
    declared = event_type.declared
    body_model = write_body(event_type)
    ended = declared.ends

    async def write(request: Request) -> Response:
        ledger: Ledger = request.app.state.ledger
        actor = await caller(request, ledger, declared.role)
        document = await json_document(request)
        body: Any = validated(body_model, document)
        claim_id = body.claim_id if event_type.registers else _path_id(request, CLAIM_ID)
        command = Command(
            event_type=event_type,
            payload=body,
            actor=actor,
            received_at=utc_now(),
            claim_id=claim_id,
            item_id=_path_id(request, ended.id_field) if ended is not None else None,
            occurred_at=body.occurred_at,
            if_match=if_match(request),
            idempotency=idempotency(request, actor, document),
        )
        return created(await ledger.writer.submit(command))

    write.__name__ = declared.operation
    return write


for _event_type in EventType:
    _declared = _event_type.declared
    router.add_api_route(
        _declared.path,
        _write(_event_type),
        methods=["POST"],
        status_code=201,
        response_model=Envelope,
        responses=_WRITE_PROBLEMS,
        openapi_extra=write_operation(write_body(_event_type), _PATH_ID.findall(_declared.path)),
        summary=f"{_declared.summary} ({_declared.name})",
        name=_declared.operation,
        route_class_override=DirectRoute,
    )
