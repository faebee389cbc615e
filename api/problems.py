"""Every error answer is an RFC 9457 problem, mapped here and nowhere else.

Routes never catch broad exceptions: the ledger's error tree, request
validation, unknown routes and database outages all arrive here.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any, Final

import psycopg
from eventsourcing.persistence import ConnectionUnavailableError, InterfaceError, OperationalError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.routing import Match

from ledger.errors import (
    AccessDenied,
    Conflict,
    InvalidRequest,
    LedgerError,
    NotFound,
    PreconditionFailed,
    Unavailable,
)

__all__ = [
    "DATABASE_ERRORS",
    "PROBLEM_CONTENT_TYPE",
    "PROBLEM_KINDS",
    "FieldError",
    "Problem",
    "ProblemError",
    "install_problem_handlers",
    "ledger_problem",
    "problem_body",
    "problem_of",
    "problem_response",
]

PROBLEM_CONTENT_TYPE: Final = "application/problem+json"
# Relative to the API: `GET /problems/{slug}` describes each kind of problem.
PROBLEM_BASE: Final = "/problems/"

log = logging.getLogger("factledger.api")

DATABASE_ERRORS: Final = (
    OperationalError,
    InterfaceError,
    ConnectionUnavailableError,
    psycopg.OperationalError,
)
"""What the database raises when it cannot be reached: answered 503."""


class FieldError(BaseModel):
    field: str = Field(description="Where the error is: a dotted path in the body, or a parameter.")
    message: str


class Problem(BaseModel):
    """An RFC 9457 problem detail."""

    type: str = Field(description="A URI naming the kind of problem.")
    title: str
    status: int
    detail: str
    errors: list[FieldError] | None = Field(
        default=None, description="For validation problems: each field that is wrong, and why."
    )


class ProblemError(Exception):
    """Raised by the API layer itself (access, body limits) to answer with a problem."""

    def __init__(
        self,
        status: int,
        slug: str,
        detail: str,
        *,
        errors: Sequence[FieldError] = (),
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.slug = slug
        self.detail = detail
        self.errors = list(errors)
        self.headers = headers or {}


def problem_body(
    status: int, slug: str, detail: str, errors: Sequence[FieldError] = ()
) -> dict[str, Any]:
    """A problem as its JSON object."""
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + slug,
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = [error.model_dump() for error in errors]
    return body


def problem_response(
    status: int,
    slug: str,
    detail: str,
    *,
    errors: Sequence[FieldError] = (),
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(
        problem_body(status, slug, detail, errors),
        status_code=status,
        headers=headers,
        media_type=PROBLEM_CONTENT_TYPE,
    )


def _slug_of(error_class: type[LedgerError]) -> str:
    name = error_class.__name__
    return "".join(f"-{ch.lower()}" if ch.isupper() else ch for ch in name).lstrip("-")


def _slug(error: LedgerError) -> str:
    return _slug_of(type(error))


def _ledger_error_classes(root: type[LedgerError]) -> list[type[LedgerError]]:
    found = [root]
    for subclass in root.__subclasses__():
        found.extend(_ledger_error_classes(subclass))
    return found


_ANSWERED: Final = (
    AccessDenied,
    InvalidRequest,
    NotFound,
    PreconditionFailed,
    Conflict,
    Unavailable,
)
"""The ledger's errors that answer a request (`_ledger_error` maps each)."""

PROBLEM_KINDS: Final[dict[str, str]] = {
    **{
        _slug_of(error_class): " ".join((error_class.__doc__ or "").split())
        for base in _ANSWERED
        for error_class in _ledger_error_classes(base)
    },
    # Written for callers, where a base class's docstring is written for developers:
    "access-denied": "The API key's role is too small for this request.",
    "invalid-request": "The request is not valid: its fields, limits, ids, times, or a rule "
    "of the ledger; see detail and errors.",
    "not-found": "No such claim, item, event or path.",
    "unauthorized": "The request has no valid API key (missing, unknown, revoked or malformed).",
    "content-too-large": "The body is over 64 KiB.",
    "unsupported-media-type": "The body is not application/json in UTF-8.",
    "invalid-json": "The body does not parse as JSON.",
    "database-unavailable": "The database cannot be reached; nothing was changed.",
    "timed-out": "The server could not answer within its time bound (the database did not "
    "answer in time); nothing was changed; retry after Retry-After seconds.",
    "internal-error": "The server failed. This is a bug; please report it.",
    "method-not-allowed": "The path does not take this method.",
    "csrf-token-missing": "A page's form came without its CSRF token, or with another "
    "session's: reload the page and send it again.",
    "invalid-form": "A page's form could not be read.",
    "too-many-requests": "Over the rate limit of the key, or of the address for reads "
    "without a key; retry after Retry-After seconds.",
    "too-many-streams": "This server serves as many live event streams as it may; retry "
    "after Retry-After seconds.",
}
"""Every kind of problem the API answers with, by the slug of its `type`."""


def ledger_problem(error: LedgerError) -> tuple[int, dict[str, Any], dict[str, str]]:
    """The status, problem body and headers a ledger error answers with."""
    slug = _slug(error)
    match error:
        case AccessDenied():
            return 403, problem_body(403, slug, error.detail), {}
        case InvalidRequest():
            errors = [FieldError(field=error.field, message=error.detail)] if error.field else []
            return 422, problem_body(422, slug, error.detail, errors), {}
        case NotFound():
            return 404, problem_body(404, slug, error.detail), {}
        case PreconditionFailed():
            return 412, problem_body(412, slug, error.detail), {}
        case Conflict():
            return 409, problem_body(409, slug, error.detail), {}
        case Unavailable():
            headers = {"Retry-After": str(error.retry_after)}
            return 503, problem_body(503, slug, error.detail), headers
    log.error("unmapped ledger error %r", error)
    return 500, problem_body(500, "internal-error", "The server failed; this is a bug."), {}


def problem_of(error: LedgerError | ProblemError) -> ProblemError:
    """The problem an error answers with, as the API maps it (the pages show the
    same problems as the API)."""
    if isinstance(error, ProblemError):
        return error
    status, body, headers = ledger_problem(error)
    return ProblemError(
        status,
        body["type"].removeprefix(PROBLEM_BASE),
        body["detail"],
        errors=[FieldError.model_validate(item) for item in body.get("errors", [])],
        headers=headers,
    )


def _ledger_error(error: LedgerError) -> JSONResponse:
    status, body, headers = ledger_problem(error)
    return JSONResponse(
        body, status_code=status, headers=headers or None, media_type=PROBLEM_CONTENT_TYPE
    )


def field_errors(errors: Sequence[Any], *, drop_prefix: int = 0) -> list[FieldError]:
    """Pydantic's error list as (field, message) pairs."""
    result = []
    for error in errors:
        location = [str(part) for part in error["loc"][drop_prefix:]]
        message = error["msg"].removeprefix("Value error, ")
        result.append(FieldError(field=".".join(location) or "body", message=message))
    return result


def _request_validation(error: RequestValidationError) -> JSONResponse:
    # FastAPI locations start with where the value came from: path, query, header, body.
    errors = field_errors(error.errors(), drop_prefix=1)
    return problem_response(
        422, "invalid-request", "The request is not valid; see errors.", errors=errors
    )


_METHODS: Final = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def _allowed_methods(request: Request) -> str:
    """Every method of every route on the request's path: Starlette names only
    those of the first route it finds, and a path may have several (GET and
    POST /claims live in different routers)."""
    routes = request.app.router.routes
    return ", ".join(
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes
        )
    )


def install_problem_handlers(app: FastAPI) -> None:
    async def on_problem(_: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, ProblemError)
        return problem_response(
            error.status, error.slug, error.detail, errors=error.errors, headers=error.headers
        )

    async def on_ledger_error(_: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, LedgerError)
        return _ledger_error(error)

    async def on_request_validation(_: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestValidationError)
        return _request_validation(error)

    async def on_body_validation(_: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, ValidationError)
        return problem_response(
            422,
            "invalid-request",
            "The request body is not valid; see errors.",
            errors=field_errors(error.errors()),
        )

    async def on_http_error(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, StarletteHTTPException)
        slug = HTTPStatus(error.status_code).phrase.lower().replace(" ", "-")
        detail = (
            error.detail
            if isinstance(error.detail, str)
            else HTTPStatus(error.status_code).description
        )
        headers = dict(error.headers or {})
        if error.status_code == 405:
            headers["Allow"] = _allowed_methods(request)
        return problem_response(error.status_code, slug, detail, headers=headers)

    async def on_database_down(_: Request, error: Exception) -> JSONResponse:
        # "Nothing was changed" holds for whatever reaches here: the writer
        # answers every database error of a write itself (nothing appended,
        # or the outcome unknown), so a write's error here came before it
        # (its key's lookup).
        log.warning("database unavailable: %s", error)
        return problem_response(
            503,
            "database-unavailable",
            "The database cannot be reached right now; nothing was changed. Retry shortly.",
            headers={"Retry-After": "2"},
        )

    async def on_client_gone(request: Request, _: Exception) -> Response:
        # Not a bug: the caller hung up before sending its whole body. Nothing
        # was done; the answer (499, as nginx logs it) reaches no one.
        log.info("the client left before sending its whole request: %s", request.url.path)
        return Response(status_code=499)

    async def on_bug(_: Request, error: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=error)
        return problem_response(500, "internal-error", "The server failed; this is a bug.")

    app.add_exception_handler(ProblemError, on_problem)
    app.add_exception_handler(LedgerError, on_ledger_error)
    app.add_exception_handler(RequestValidationError, on_request_validation)
    app.add_exception_handler(ValidationError, on_body_validation)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    for database_error in DATABASE_ERRORS:
        app.add_exception_handler(database_error, on_database_down)
    app.add_exception_handler(ClientDisconnect, on_client_gone)
    app.add_exception_handler(Exception, on_bug)
