"""The pages people read (SPEC §4 "Pages"): the claims, the feed of verdict
changes, and one claim with its timeline drawn. HTML made on the server; the
same reads, filters and cursors as `GET /claims`, `GET /changes` and
`GET /claims/{claim_id}`, so that a page's URL is a permalink of what it shows.

A filter or time that does not parse gives the page again with the API's
problem next to its field (422); an unknown claim, or one that did not exist
at the times asked, the 404 page.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from api.pages.claim_page import TimeControls, render_claim_page
from api.pages.errors import PageProblem
from api.pages.forms import FormState
from api.pages.templating import render
from api.pages.visitors import PageReaderDep, Visitor
from api.pages.write_forms import FORMS
from api.problems import FieldError, ProblemError, problem_of
from api.routes.read_models import list_changes, list_claims
from api.state import Ledger
from ledger.errors import LedgerError
from ledger.events import EventType
from ledger.verdict import Verdict
from projections.words import MAX_QUERY_CHARS

__all__ = ["PAGE_SIZE", "claim_id_of", "render_claims_page", "router"]

router = APIRouter(include_in_schema=False)

PAGE_SIZE: Final = 25
_CLAIM_FILTERS: Final = ("verdict", "claimant", "tag", "q", "cursor")
_CHANGE_FILTERS: Final = ("since", "until", "to", "actor", "cursor")


def _ledger(request: Request) -> Ledger:
    ledger: Ledger = request.app.state.ledger
    return ledger


def _asked(request: Request, names: tuple[str, ...]) -> dict[str, str]:
    """The filters given, as typed; an empty field is no filter (as a form sends it)."""
    return {name: value for name in names if (value := request.query_params.get(name, "").strip())}


def _verdict(name: str, value: str | None) -> Verdict | None:
    if value is None:
        return None
    try:
        return Verdict(value)
    except ValueError:
        allowed = ", ".join(verdict.value for verdict in Verdict)
        raise ProblemError(
            422,
            "invalid-request",
            f"{name} is not a verdict.",
            errors=[FieldError(field=name, message=f"one of {allowed}")],
        ) from None


def _check_length(name: str, value: str | None, most: int = 200) -> str | None:
    """The length limit FastAPI checks on the JSON route's query parameter."""
    if value is not None and len(value) > most:
        raise ProblemError(
            422,
            "invalid-request",
            f"{name} is longer than {most} characters.",
            errors=[FieldError(field=name, message=f"at most {most} characters")],
        )
    return value


def _errors_by_field(problem: ProblemError) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for error in problem.errors:
        errors.setdefault(error.field, []).append(error.message)
    return errors


async def _listing(
    request: Request,
    template: str,
    asked: Mapping[str, str],
    read: Callable[[], Awaitable[Any]],
    context: dict[str, Any],
    status_code: int = 200,
) -> Response:
    page, problem = None, None
    try:
        page = await read()
    except ProblemError as error:
        problem = error
    except LedgerError as error:
        raise PageProblem(problem_of(error)) from None
    return render(
        request,
        template,
        {
            **context,
            "asked": asked,
            "page": page,
            "problem": problem,
            "filter_errors": _errors_by_field(problem) if problem else {},
            "next_query": _next_query(asked, page.next_cursor)
            if page and page.next_cursor
            else None,
        },
        problem.status if problem else status_code,
    )


def _next_query(asked: Mapping[str, str], cursor: str) -> str:
    return urlencode({**{k: v for k, v in asked.items() if k != "cursor"}, "cursor": cursor})


async def render_claims_page(
    request: Request,
    visitor: Visitor,
    failed: FormState | None = None,
    status_code: int = 200,
) -> Response:
    """The list of claims, with the registration form for a session that may register."""
    asked = _asked(request, _CLAIM_FILTERS)
    ledger = _ledger(request)

    async def read() -> Any:
        return await list_claims(
            None,
            ledger,
            verdict=_verdict("verdict", asked.get("verdict")),
            claimant=_check_length("claimant", asked.get("claimant")),
            tag=_check_length("tag", asked.get("tag")),
            q=_check_length("q", asked.get("q"), MAX_QUERY_CHARS),
            limit=PAGE_SIZE,
            cursor=asked.get("cursor"),
        )

    registration = FORMS[EventType.CLAIM_REGISTERED.declared.operation]
    context = {
        "visitor": visitor,
        "registration": registration
        if visitor.may(registration.event_type.declared.role)
        else None,
        "failed": failed,
    }
    return await _listing(request, "claims.html", asked, read, context, status_code)


@router.get("/", response_class=HTMLResponse)
async def claims_page(request: Request, visitor: PageReaderDep) -> Response:
    return await render_claims_page(request, visitor)


@router.get("/changes/page", response_class=HTMLResponse)
async def changes_page(request: Request, visitor: PageReaderDep) -> Response:
    asked = _asked(request, _CHANGE_FILTERS)
    ledger = _ledger(request)

    async def read() -> Any:
        return await list_changes(
            None,
            ledger,
            since=asked.get("since"),
            until=asked.get("until"),
            to=_verdict("to", asked.get("to")),
            actor=_check_length("actor", asked.get("actor")),
            limit=PAGE_SIZE,
            cursor=asked.get("cursor"),
        )

    return await _listing(request, "changes.html", asked, read, {"visitor": visitor})


def claim_id_of(text: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        raise PageProblem(
            ProblemError(
                422,
                "invalid-request",
                "claim_id is not a UUID.",
                errors=[FieldError(field="claim_id", message="not a valid UUID")],
            )
        ) from None


@router.get("/claims/{claim_id}/page", response_class=HTMLResponse)
async def claim_page(request: Request, claim_id: str, visitor: PageReaderDep) -> Response:
    controls = TimeControls(
        as_of=request.query_params.get("as_of", "").strip(),
        valid_at=request.query_params.get("valid_at", "").strip(),
    )
    return await render_claim_page(
        request, _ledger(request), visitor, claim_id_of(claim_id), controls
    )
