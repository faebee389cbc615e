"""The write forms of the pages: each posts to the same write path as the API
(the body validated by the write's own model, a `Command` to the process's
writer), within the session's role, with the session's CSRF token.

On success, POST-redirect-GET: 303 to the claim's page. On a problem with the
request's fields (422), the page again with the form as typed and the API's
problem next to the fields it concerns; on any other (403 beyond the role, 404,
409 an item already withdrawn, 503), the problem's page, with its status.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from starlette.datastructures import FormData
from starlette.responses import Response

from api.deps import validated
from api.pages.claim_page import TimeControls, render_claim_page
from api.pages.errors import PageProblem
from api.pages.forms import FormState, document_of, read_form
from api.pages.visitors import VisitorDep, check_csrf
from api.pages.write_forms import FORMS, WriteForm
from api.problems import FieldError, ProblemError, problem_of
from api.routes.pages import claim_id_of, render_claims_page
from api.schemas import write_body
from api.state import Ledger
from factledger.commands import Command
from ledger.access import Actor
from ledger.errors import AccessDenied, LedgerError
from ledger.events import EventType
from ledger.times import utc_now

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


def _item_id(form: FormData, write: WriteForm) -> UUID | None:
    if write.ends is None:
        return None
    try:
        return UUID(str(form.get("item_id", "")))
    except ValueError:
        raise ProblemError(
            422,
            "invalid-request",
            f"{write.ends.id_field} is not a UUID.",
            errors=[FieldError(field=write.ends.id_field, message="not a valid UUID")],
        ) from None


async def _submit(
    ledger: Ledger, actor: Actor, write: WriteForm, form: FormData, claim_id: UUID | None
) -> UUID:
    """Appends the form's event through the writer; the claim it went to."""
    declared = write.event_type.declared
    if not actor.role.includes(declared.role):
        raise AccessDenied(
            f"This needs the role {declared.role.value} or above; the key's role is {actor.role}."
        )
    item_id = _item_id(form, write)
    fields = [(name, value) for name, value in form.multi_items() if isinstance(value, str)]
    body: Any = validated(write_body(write.event_type), document_of(fields))
    written = await ledger.writer.submit(
        Command(
            event_type=write.event_type,
            payload=body,
            actor=actor,
            received_at=utc_now(),
            claim_id=body.claim_id if write.event_type.registers else claim_id,
            item_id=item_id,
            occurred_at=body.occurred_at,
        )
    )
    return written.event.claim_id


def _failed(write: WriteForm, form: FormData, problem: ProblemError) -> FormState:
    values = {name: value for name, value in form.multi_items() if isinstance(value, str)}
    values.pop("csrf_token", None)
    inputs = [item.name for item in write.inputs]
    return FormState.failed(write.name, values, problem, inputs)


@router.post("/claims/page")
async def register_claim_form(request: Request, visitor: VisitorDep) -> Response:
    form = await read_form(request)
    signed_in = check_csrf(visitor, _text(form, "csrf_token"))
    write = FORMS[EventType.CLAIM_REGISTERED.declared.operation]
    ledger: Ledger = request.app.state.ledger
    try:
        claim_id = await _submit(ledger, signed_in.actor, write, form, None)
    except (ProblemError, LedgerError) as error:
        problem = problem_of(error)
        if problem.status != 422:
            raise PageProblem(problem, back="/") from None
        return await render_claims_page(
            request, visitor, _failed(write, form, problem), problem.status
        )
    return RedirectResponse(f"/claims/{claim_id}/page", status_code=303)


@router.post("/claims/{claim_id}/page/{operation}")
async def claim_form(
    request: Request, claim_id: str, operation: str, visitor: VisitorDep
) -> Response:
    form = await read_form(request)
    signed_in = check_csrf(visitor, _text(form, "csrf_token"))
    write = FORMS.get(operation)
    if write is None or write.event_type.registers:
        raise PageProblem(ProblemError(404, "not-found", f"There is no form {operation!r}."))
    claim = claim_id_of(claim_id)
    ledger: Ledger = request.app.state.ledger
    try:
        await _submit(ledger, signed_in.actor, write, form, claim)
    except (ProblemError, LedgerError) as error:
        problem = problem_of(error)
        if problem.status != 422:
            raise PageProblem(problem, back=f"/claims/{claim}/page") from None
        failed = _failed(write, form, problem)
        return await render_claim_page(
            request, ledger, visitor, claim, TimeControls(), failed, problem.status
        )
    return RedirectResponse(f"/claims/{claim}/page", status_code=303)


def _text(form: FormData, name: str) -> str | None:
    value = form.get(name)
    return value if isinstance(value, str) else None
