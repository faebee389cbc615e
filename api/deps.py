"""What routes need from a request, in the order SPEC §4 checks it: access
(401/403), then the body's size (413), media type (415) and shape (422),
then the conditions (`If-Match`, `Idempotency-Key`).

Everything here is async and runs in the event loop: a route pays no thread
hop for its dependencies.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Final, TypeVar

from fastapi import Depends, Query, Request
from pydantic import BaseModel, ValidationError

from api.problems import FieldError, ProblemError, field_errors
from api.ratelimit import RateLimiter
from api.state import Ledger
from factledger.commands import IdempotencyKey, IfMatch
from factledger.idempotency import idempotency_key
from ledger.access import Actor, Role
from ledger.errors import AccessDenied
from ledger.times import InvalidTime, parse_instant

__all__ = [
    "MAX_BODY_BYTES",
    "AdminDep",
    "LedgerDep",
    "ReaderDep",
    "TimeWindowDep",
    "TimeWindowQuery",
    "caller",
    "idempotency",
    "if_match",
    "json_document",
    "parse_json",
    "query_time",
    "read_access",
    "read_limited",
    "validated",
]

MAX_BODY_BYTES: Final = 64 * 1024

M = TypeVar("M", bound=BaseModel)


def _ledger(request: Request) -> Ledger:
    ledger: Ledger = request.app.state.ledger
    return ledger


LedgerDep = Annotated[Ledger, Depends(_ledger)]


# --- access -------------------------------------------------------------------


async def _presented_actor(request: Request, ledger: Ledger) -> Actor | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    actor = await ledger.keys.actor(token.strip()) if scheme.lower() == "bearer" else None
    if actor is None:
        raise ProblemError(
            401,
            "unauthorized",
            "The API key is not valid (unknown, revoked or malformed); "
            "send Authorization: Bearer <api key>.",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    request.state.actor = actor  # for the access log: its key id, name and role
    _limiter(request).check_key(actor.id)
    return actor


def _limiter(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.app.state.rate_limiter
    return limiter


async def caller(request: Request, ledger: Ledger, role: Role) -> Actor:
    """The caller's actor: 401 without a valid key, 403 when its role is too small."""
    actor = await _presented_actor(request, ledger)
    if actor is None:
        raise ProblemError(
            401,
            "unauthorized",
            "This needs an API key: send Authorization: Bearer <api key>.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if not actor.role.includes(role):
        raise AccessDenied(
            f"This needs the role {role.value} or above; the key's role is {actor.role}."
        )
    return actor


async def read_access(request: Request, ledger: LedgerDep) -> Actor | None:
    """Reads are public unless the settings say otherwise; a presented key must be valid."""
    if ledger.settings.reads_require_key:
        return await caller(request, ledger, Role.READER)
    actor = await _presented_actor(request, ledger)
    if actor is None and request.client is not None:
        _limiter(request).check_address(request.client.host)
    return actor


ReaderDep = Annotated[Actor | None, Depends(read_access)]


async def _admin(request: Request, ledger: LedgerDep) -> Actor:
    return await caller(request, ledger, Role.ADMIN)


AdminDep = Annotated[Actor, Depends(_admin)]
"""The caller, who must hold an admin key."""


# --- bodies -------------------------------------------------------------------


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"the key {key!r} appears twice")
        result[key] = value
    return result


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


async def read_limited(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The body, read no further than `limit` bytes: 413 past it."""
    too_large = ProblemError(413, "content-too-large", f"The body is larger than {limit} bytes.")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def _check_media_type(request: Request) -> None:
    media_type, _, parameters = request.headers.get("content-type", "").partition(";")
    charset = re.search(r"charset\s*=\s*\"?([\w-]+)", parameters, re.IGNORECASE)
    if media_type.strip().lower() != "application/json" or (
        charset and charset[1].lower() not in ("utf-8", "utf8")
    ):
        raise ProblemError(
            415, "unsupported-media-type", "Send the body as application/json (UTF-8)."
        )


def parse_json(raw: bytes) -> Any:
    """A body of JSON in UTF-8, no key repeated; 422 `invalid-json` when it is not."""
    try:
        return json.loads(
            raw.decode("utf-8"),
            object_pairs_hook=_reject_duplicate_keys,
            parse_constant=_reject_constant,
        )
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise ProblemError(
            422,
            "invalid-json",
            "The body is not valid JSON.",
            errors=[FieldError(field="body", message=str(error))],
        ) from None


def _parse_json(raw: bytes) -> dict[str, Any]:
    document = parse_json(raw)
    if not isinstance(document, dict):
        raise ProblemError(
            422,
            "invalid-request",
            "The body must be a JSON object.",
            errors=[FieldError(field="body", message="must be a JSON object")],
        )
    return document


async def json_document(request: Request) -> dict[str, Any]:
    """The body as a JSON object: 413 when too large, 415 when not JSON, 422 when not
    an object of JSON."""
    raw = await read_limited(request)
    _check_media_type(request)
    return _parse_json(raw)


def validated(model: type[M], document: dict[str, Any]) -> M:
    """The body as its model; 422 naming every field that is wrong."""
    try:
        return model.model_validate(document)
    except ValidationError as error:
        raise ProblemError(
            422,
            "invalid-request",
            "The request body is not valid; see errors.",
            errors=field_errors(error.errors()),
        ) from None


# --- conditions -----------------------------------------------------------------

_ENTITY_TAG = re.compile(r'\s*(W/)?"([\x21\x23-\x7e\x80-\xff]*)"\s*')
_IDEMPOTENCY_KEY = re.compile(r"[\x20-\x7e]{1,255}")


def if_match(request: Request) -> IfMatch | None:
    """The `If-Match` condition: `*` or a list of entity tags; else 422."""
    value = request.headers.get("if-match")
    if value is None:
        return None
    if value.strip() == "*":
        return IfMatch(any_version=True)
    versions, position = set(), 0
    while position < len(value):
        match = _ENTITY_TAG.match(value, position)
        if match is None:
            raise ProblemError(
                422,
                "invalid-request",
                'If-Match must be "*" or a list of entity tags such as "3".',
                errors=[FieldError(field="If-Match", message="not a list of entity tags")],
            )
        weak, tag = match.groups()
        if not weak and tag.isdigit():  # If-Match compares strongly: weak tags never match
            versions.add(int(tag))
        position = match.end()
        if position < len(value):
            if value[position] != ",":
                raise ProblemError(
                    422,
                    "invalid-request",
                    "If-Match entity tags are separated by commas.",
                    errors=[FieldError(field="If-Match", message="not a list of entity tags")],
                )
            position += 1
    return IfMatch(versions=frozenset(versions))


def idempotency(request: Request, actor: Actor, document: dict[str, Any]) -> IdempotencyKey | None:
    """The `Idempotency-Key` in its scope (API key, method, path), with the body's
    fingerprint; 422 when the key is not 1 to 255 printable ASCII characters."""
    key = request.headers.get("idempotency-key")
    if key is None:
        return None
    if not _IDEMPOTENCY_KEY.fullmatch(key):
        raise ProblemError(
            422,
            "invalid-request",
            "Idempotency-Key must be 1 to 255 printable ASCII characters.",
            errors=[
                FieldError(field="Idempotency-Key", message="1 to 255 printable ASCII characters")
            ],
        )
    return idempotency_key(actor.id, request.method, request.url.path, key, document)


# --- times ----------------------------------------------------------------------


@dataclass(frozen=True)
class TimeWindowQuery:
    as_of: datetime | None
    valid_at: datetime | None


def query_time(name: str, value: str | None) -> datetime | None:
    if value is None:
        return None
    # A '+' in a query string reads as a space; an offset is the only place
    # where a time can hold one after its seconds, so take it back.
    text = re.sub(r" (\d{2}:\d{2})$", r"+\1", value)
    try:
        return parse_instant(text)
    except InvalidTime as error:
        raise ProblemError(
            422,
            "invalid-request",
            f"{name} is not a time: {error}",
            errors=[FieldError(field=name, message=str(error))],
        ) from None


async def _time_window(
    as_of: Annotated[
        str | None,
        Query(
            description="System time: what the ledger said then. Default: now (stable time).",
            json_schema_extra={"format": "date-time"},
        ),
    ] = None,
    valid_at: Annotated[
        str | None,
        Query(
            description="World time: only what had occurred by then. Default: unbounded.",
            json_schema_extra={"format": "date-time"},
        ),
    ] = None,
) -> TimeWindowQuery:
    return TimeWindowQuery(
        as_of=query_time("as_of", as_of), valid_at=query_time("valid_at", valid_at)
    )


TimeWindowDep = Annotated[TimeWindowQuery, Depends(_time_window)]
