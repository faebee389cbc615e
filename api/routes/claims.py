"""`/claims`: the eight writes, and each claim's state, history and timeline
at any pair of times."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, TypeVar
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from api.deps import (
    JsonBody,
    ReaderDep,
    ServiceDep,
    TimeWindowDep,
    WriteConditionsDep,
    json_body,
    require,
    write_request,
)
from api.openapi import problem_responses, request_body
from api.schemas import (
    AmendmentCreate,
    ClaimCreate,
    EvidenceCreate,
    RebuttalCreate,
    VerificationCreate,
    WithdrawalCreate,
)
from factledger.writes import Written
from ledger.access import Actor, Role
from ledger.envelope import Envelope
from ledger.payloads import (
    ClaimAmendment,
    ClaimRegistration,
    EvidenceAttachment,
    RebuttalFiling,
    VerificationRecording,
    Withdrawal,
)
from ledger.times import format_instant
from ledger.verdict import ClaimState, VerdictChange

__all__ = ["router"]

router = APIRouter(tags=["claims"])

P = TypeVar("P", bound=BaseModel)

_WRITE_PROBLEMS = problem_responses(401, 403, 404, 409, 412, 413, 415, 422, 503)
_READ_PROBLEMS = problem_responses(401, 404, 422, 503)

Contributor = Annotated[Actor, Depends(require(Role.CONTRIBUTOR))]
Checker = Annotated[Actor, Depends(require(Role.CHECKER))]
Editor = Annotated[Actor, Depends(require(Role.EDITOR))]


def _payload(body: BaseModel, payload_type: type[P]) -> P:
    """The command's payload: the body without the fields only the request has."""
    request_only = set(type(body).model_fields) - set(payload_type.model_fields)
    return payload_type.model_validate(body.model_dump(exclude=request_only, exclude_none=True))


def _created(written: Written) -> JSONResponse:
    envelope = written.envelope
    return JSONResponse(
        envelope.model_dump(mode="json"),
        status_code=201,
        headers={"Location": f"/claims/{envelope.claim_id}", "ETag": f'"{envelope.version}"'},
    )


def _window_headers(as_of: datetime, valid_at: datetime | None) -> dict[str, str]:
    headers = {"Ledger-As-Of": format_instant(as_of)}
    if valid_at is not None:
        headers["Ledger-Valid-At"] = format_instant(valid_at)
    return headers


# --- writes -------------------------------------------------------------------


@router.post(
    "/claims",
    status_code=201,
    response_model=Envelope,
    responses=_WRITE_PROBLEMS,
    openapi_extra=request_body(ClaimCreate),
    summary="Register a claim (ClaimRegistered)",
)
def register_claim(
    request: Request,
    actor: Contributor,
    body: Annotated[JsonBody[ClaimCreate], Depends(json_body(ClaimCreate))],
    conditions: WriteConditionsDep,
    service: ServiceDep,
) -> Response:
    written = service.writes.register_claim(
        _payload(body.model, ClaimRegistration),
        claim_id=body.model.claim_id,
        occurred_at=body.model.occurred_at,
        request=write_request(request, actor, conditions, body),
    )
    return _created(written)


@router.post(
    "/claims/{claim_id}/amendments",
    status_code=201,
    response_model=Envelope,
    responses=_WRITE_PROBLEMS,
    openapi_extra=request_body(AmendmentCreate),
    summary="Amend a claim's text or tags (ClaimAmended)",
)
def amend_claim(
    request: Request,
    claim_id: UUID,
    actor: Editor,
    body: Annotated[JsonBody[AmendmentCreate], Depends(json_body(AmendmentCreate))],
    conditions: WriteConditionsDep,
    service: ServiceDep,
) -> Response:
    written = service.writes.amend_claim(
        claim_id,
        _payload(body.model, ClaimAmendment),
        occurred_at=body.model.occurred_at,
        request=write_request(request, actor, conditions, body),
    )
    return _created(written)


@router.post(
    "/claims/{claim_id}/evidence",
    status_code=201,
    response_model=Envelope,
    responses=_WRITE_PROBLEMS,
    openapi_extra=request_body(EvidenceCreate),
    summary="Attach evidence (EvidenceAttached)",
)
def attach_evidence(
    request: Request,
    claim_id: UUID,
    actor: Contributor,
    body: Annotated[JsonBody[EvidenceCreate], Depends(json_body(EvidenceCreate))],
    conditions: WriteConditionsDep,
    service: ServiceDep,
) -> Response:
    written = service.writes.attach_evidence(
        claim_id,
        _payload(body.model, EvidenceAttachment),
        occurred_at=body.model.occurred_at,
        request=write_request(request, actor, conditions, body),
    )
    return _created(written)


@router.post(
    "/claims/{claim_id}/evidence/{evidence_id}/withdrawal",
    status_code=201,
    response_model=Envelope,
    responses=_WRITE_PROBLEMS,
    openapi_extra=request_body(WithdrawalCreate),
    summary="Withdraw evidence (EvidenceWithdrawn)",
)
def withdraw_evidence(
    request: Request,
    claim_id: UUID,
    evidence_id: UUID,
    actor: Editor,
    body: Annotated[JsonBody[WithdrawalCreate], Depends(json_body(WithdrawalCreate))],
    conditions: WriteConditionsDep,
    service: ServiceDep,
) -> Response:
    written = service.writes.withdraw_evidence(
        claim_id,
        evidence_id,
        _payload(body.model, Withdrawal),
        occurred_at=body.model.occurred_at,
        request=write_request(request, actor, conditions, body),
    )
    return _created(written)


@router.post(
    "/claims/{claim_id}/rebuttals",
    status_code=201,
    response_model=Envelope,
    responses=_WRITE_PROBLEMS,
    openapi_extra=request_body(RebuttalCreate),
    summary="File a rebuttal (RebuttalFiled)",
)
def file_rebuttal(
    request: Request,
    claim_id: UUID,
    actor: Contributor,
    body: Annotated[JsonBody[RebuttalCreate], Depends(json_body(RebuttalCreate))],
    conditions: WriteConditionsDep,
    service: ServiceDep,
) -> Response:
    written = service.writes.file_rebuttal(
        claim_id,
        _payload(body.model, RebuttalFiling),
        occurred_at=body.model.occurred_at,
        request=write_request(request, actor, conditions, body),
    )
    return _created(written)


@router.post(
    "/claims/{claim_id}/rebuttals/{rebuttal_id}/withdrawal",
    status_code=201,
    response_model=Envelope,
    responses=_WRITE_PROBLEMS,
    openapi_extra=request_body(WithdrawalCreate),
    summary="Withdraw a rebuttal (RebuttalWithdrawn)",
)
def withdraw_rebuttal(
    request: Request,
    claim_id: UUID,
    rebuttal_id: UUID,
    actor: Editor,
    body: Annotated[JsonBody[WithdrawalCreate], Depends(json_body(WithdrawalCreate))],
    conditions: WriteConditionsDep,
    service: ServiceDep,
) -> Response:
    written = service.writes.withdraw_rebuttal(
        claim_id,
        rebuttal_id,
        _payload(body.model, Withdrawal),
        occurred_at=body.model.occurred_at,
        request=write_request(request, actor, conditions, body),
    )
    return _created(written)


@router.post(
    "/claims/{claim_id}/verifications",
    status_code=201,
    response_model=Envelope,
    responses=_WRITE_PROBLEMS,
    openapi_extra=request_body(VerificationCreate),
    summary="Record a verification (VerificationRecorded)",
)
def record_verification(
    request: Request,
    claim_id: UUID,
    actor: Checker,
    body: Annotated[JsonBody[VerificationCreate], Depends(json_body(VerificationCreate))],
    conditions: WriteConditionsDep,
    service: ServiceDep,
) -> Response:
    written = service.writes.record_verification(
        claim_id,
        _payload(body.model, VerificationRecording),
        occurred_at=body.model.occurred_at,
        request=write_request(request, actor, conditions, body),
    )
    return _created(written)


@router.post(
    "/claims/{claim_id}/verifications/{verification_id}/retraction",
    status_code=201,
    response_model=Envelope,
    responses=_WRITE_PROBLEMS,
    openapi_extra=request_body(WithdrawalCreate),
    summary="Retract a verification (VerificationRetracted)",
)
def retract_verification(
    request: Request,
    claim_id: UUID,
    verification_id: UUID,
    actor: Editor,
    body: Annotated[JsonBody[WithdrawalCreate], Depends(json_body(WithdrawalCreate))],
    conditions: WriteConditionsDep,
    service: ServiceDep,
) -> Response:
    written = service.writes.retract_verification(
        claim_id,
        verification_id,
        _payload(body.model, Withdrawal),
        occurred_at=body.model.occurred_at,
        request=write_request(request, actor, conditions, body),
    )
    return _created(written)


# --- reads --------------------------------------------------------------------


@router.get(
    "/claims/{claim_id}",
    response_model=ClaimState,
    responses={304: {"description": "Not modified"}, **_READ_PROBLEMS},
    summary="The state of a claim as of a system time, valid at a world time",
)
def get_claim(
    _: ReaderDep,
    claim_id: UUID,
    window: TimeWindowDep,
    service: ServiceDep,
    if_none_match: Annotated[str | None, Header(alias="If-None-Match")] = None,
) -> Response:
    state = service.reads.state(claim_id, as_of=window.as_of, valid_at=window.valid_at)
    headers = _window_headers(state.as_of, state.valid_at)
    if window.as_of is None and window.valid_at is None:
        etag = f'"{state.version}"'
        headers["ETag"] = etag
        if if_none_match is not None and etag in _weak_tags(if_none_match):
            return Response(status_code=304, headers=headers)
    return JSONResponse(state.model_dump(mode="json"), headers=headers)


@router.get(
    "/claims/{claim_id}/history",
    response_model=list[Envelope],
    responses=_READ_PROBLEMS,
    summary="A claim's events in version order, as of a system time, valid at a world time",
)
def get_history(
    _: ReaderDep, claim_id: UUID, window: TimeWindowDep, service: ServiceDep
) -> Response:
    history = service.reads.history(claim_id, as_of=window.as_of, valid_at=window.valid_at)
    content: list[Any] = [envelope.model_dump(mode="json") for envelope in history.envelopes]
    return JSONResponse(
        content, headers=_window_headers(history.window.as_of, history.window.valid_at)
    )


@router.get(
    "/claims/{claim_id}/timeline",
    response_model=list[VerdictChange],
    responses=_READ_PROBLEMS,
    summary="How a claim's verdict changed: who changed it, when and why",
)
def get_timeline(
    _: ReaderDep, claim_id: UUID, window: TimeWindowDep, service: ServiceDep
) -> Response:
    used, timeline = service.reads.timeline(claim_id, as_of=window.as_of, valid_at=window.valid_at)
    content: list[Any] = [change.model_dump(mode="json", by_alias=True) for change in timeline]
    return JSONResponse(content, headers=_window_headers(used.as_of, used.valid_at))


def _weak_tags(header: str) -> set[str]:
    """If-None-Match compares weakly: W/"3" and "3" both match "3"."""
    return {tag.strip().removeprefix("W/") for tag in header.split(",")}
