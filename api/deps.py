"""The dependencies routes declare, in the order SPEC §4 checks them:
access (401/403), then the body's size (413), media type (415) and shape
(422), then the conditions (`If-Match`, `Idempotency-Key`).

FastAPI resolves a route's dependencies in the order of its parameters, so a
write route lists the caller first and the body second.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Final, Generic, TypeVar

from fastapi import Depends, Header, Query, Request
from pydantic import BaseModel

from api.problems import FieldError, ProblemError
from factledger.idempotency import request_fingerprint
from factledger.service import LedgerService
from factledger.writes import IfMatch, WriteRequest
from ledger.access import Actor, Role
from ledger.times import InvalidTime, parse_instant, utc_now
from storage.rows import IdempotencyRow, IdempotencyScope

__all__ = [
    "MAX_BODY_BYTES",
    "JsonBody",
    "ReaderDep",
    "ServiceDep",
    "TimeWindowDep",
    "WriteConditions",
    "WriteConditionsDep",
    "json_body",
    "require",
    "write_request",
]

MAX_BODY_BYTES: Final = 64 * 1024

M = TypeVar("M", bound=BaseModel)


def _service(request: Request) -> LedgerService:
    service: LedgerService = request.app.state.service
    return service


ServiceDep = Annotated[LedgerService, Depends(_service)]


# --- access -------------------------------------------------------------------


def _presented_actor(request: Request, service: LedgerService) -> Actor | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    actor = service.keys.authenticate(token.strip()) if scheme.lower() == "bearer" else None
    if actor is None:
        raise ProblemError(
            401,
            "unauthorized",
            "The API key is not valid (unknown, revoked or malformed); "
            "send Authorization: Bearer <api key>.",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    return actor


def require(role: Role) -> Callable[[Request, LedgerService], Actor]:
    """A dependency answering 401 without a valid key, 403 when its role is too small."""

    def caller(request: Request, service: ServiceDep) -> Actor:
        actor = _presented_actor(request, service)
        if actor is None:
            raise ProblemError(
                401,
                "unauthorized",
                "This needs an API key: send Authorization: Bearer <api key>.",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if not actor.role.includes(role):
            raise ProblemError(
                403,
                "forbidden",
                f"This needs the role {role.value} or above; the key's role is {actor.role}.",
            )
        return actor

    return caller


def _reader(request: Request, service: ServiceDep) -> Actor | None:
    """Reads are public unless the settings say otherwise; a presented key must be valid."""
    if service.settings.reads_require_key:
        return require(Role.READER)(request, service)
    return _presented_actor(request, service)


ReaderDep = Annotated[Actor | None, Depends(_reader)]


# --- bodies -------------------------------------------------------------------


@dataclass(frozen=True)
class JsonBody(Generic[M]):
    model: M
    document: dict[str, Any]
    """The body as parsed JSON, before validation: what an idempotent retry must repeat."""

    @property
    def fingerprint(self) -> str:
        return request_fingerprint(self.document)


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"the key {key!r} appears twice")
        result[key] = value
    return result


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


async def _read_limited(request: Request) -> bytes:
    too_large = ProblemError(
        413, "content-too-large", f"The body is larger than {MAX_BODY_BYTES} bytes."
    )
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
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


def _parse_json(raw: bytes) -> dict[str, Any]:
    try:
        document = json.loads(
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
    if not isinstance(document, dict):
        raise ProblemError(
            422,
            "invalid-request",
            "The body must be a JSON object.",
            errors=[FieldError(field="body", message="must be a JSON object")],
        )
    return document


def json_body(model: type[M]) -> Callable[[Request], Awaitable[JsonBody[M]]]:
    """A dependency reading the body: 413 when too large, 415 when not JSON, 422 when invalid."""

    async def body(request: Request) -> JsonBody[M]:
        raw = await _read_limited(request)
        _check_media_type(request)
        document = _parse_json(raw)
        return JsonBody(model=model.model_validate(document), document=document)

    return body


# --- conditions -----------------------------------------------------------------

_ENTITY_TAG = re.compile(r'\s*(W/)?"([\x21\x23-\x7e\x80-\xff]*)"\s*')
_IDEMPOTENCY_KEY = re.compile(r"[\x20-\x7e]{1,255}")


def _parse_if_match(value: str) -> IfMatch:
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


@dataclass(frozen=True)
class WriteConditions:
    if_match: IfMatch | None
    idempotency_key: str | None


def _write_conditions(
    if_match: Annotated[
        str | None,
        Header(alias="If-Match", description='Append only if the claim is at this version: "3".'),
    ] = None,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            description="1 to 255 printable ASCII characters; a retry with the same key and body "
            "gets the first answer again and appends nothing.",
        ),
    ] = None,
) -> WriteConditions:
    if idempotency_key is not None and not _IDEMPOTENCY_KEY.fullmatch(idempotency_key):
        raise ProblemError(
            422,
            "invalid-request",
            "Idempotency-Key must be 1 to 255 printable ASCII characters.",
            errors=[
                FieldError(field="Idempotency-Key", message="1 to 255 printable ASCII characters")
            ],
        )
    return WriteConditions(
        if_match=_parse_if_match(if_match) if if_match is not None else None,
        idempotency_key=idempotency_key,
    )


WriteConditionsDep = Annotated[WriteConditions, Depends(_write_conditions)]


def write_request(
    request: Request, actor: Actor, conditions: WriteConditions, body: JsonBody[Any]
) -> WriteRequest:
    idempotency = None
    if conditions.idempotency_key is not None:
        idempotency = IdempotencyRow(
            scope=IdempotencyScope(
                api_key_id=actor.id,
                method=request.method,
                path=request.url.path,
                key=conditions.idempotency_key,
            ),
            request_hash=body.fingerprint,
        )
    return WriteRequest(
        actor=actor,
        received_at=utc_now(),
        if_match=conditions.if_match,
        idempotency=idempotency,
    )


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


def _time_window(
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
