"""What every answer goes through on its way out, as pure ASGI middleware
(no `BaseHTTPMiddleware`: it costs a task and a copy per request).

`edge(app, settings)` wraps the whole application, outside Starlette's own
error middleware, so that 404s, problems, 500s and streams alike get:

- a request id: the caller's `X-Request-Id` when it is well-formed (1 to 128
  characters of `[A-Za-z0-9._:-]`), else a fresh one, sent back on the answer;
- the security headers (`nosniff`, no referrer, no framing) and a
  `Content-Security-Policy`: on HTML pages only the service's own scripts,
  styles and images; on everything else nothing at all;
- an answer within SPEC §4's bound, whatever the database does
  (`api/deadline.py`);
- one access-log line when the answer is done (`api/logging.py` writes it).

Inside it, CORS (Starlette's `CORSMiddleware`) is closed unless origins are
configured.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any, Final

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.deadline import AnswerDeadline
from factledger.settings import Settings

__all__ = [
    "ALWAYS_HEADERS",
    "API_CSP",
    "PAGE_CSP",
    "REQUEST_ID_HEADER",
    "AccessLog",
    "EdgeApp",
    "SecurityHeaders",
    "edge",
    "install_cors",
]

REQUEST_ID_HEADER: Final = "X-Request-Id"
_REQUEST_ID: Final = re.compile(rb"[A-Za-z0-9._:-]{1,128}")

PAGE_CSP: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
"""For HTML pages: only the service's own scripts, styles and images; no inline
script, no framing."""
API_CSP: Final = "default-src 'none'; frame-ancestors 'none'"
"""For JSON and everything else: a browser that renders it loads nothing."""

ALWAYS_HEADERS: Final = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
)

access_log = logging.getLogger("factledger.access")


def request_id(scope: Scope) -> str:
    """The request id the edge gave this request."""
    state: dict[str, Any] = scope.get("state", {})
    return str(state.get("request_id", ""))


class SecurityHeaders:
    """Adds the security headers to every answer; the CSP by its content type."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers: list[tuple[bytes, bytes]] = list(message.get("headers", ()))
                html = any(
                    name.lower() == b"content-type" and value.lower().startswith(b"text/html")
                    for name, value in headers
                )
                headers.extend(ALWAYS_HEADERS)
                csp = PAGE_CSP if html else API_CSP
                headers.append((b"content-security-policy", csp.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class AccessLog:
    """Gives each request its id, sends it back, and logs one line per request
    (when `enabled`): never a key, a secret or an Authorization header."""

    def __init__(self, app: ASGIApp, *, enabled: bool) -> None:
        self.app = app
        self.enabled = enabled

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = _caller_request_id(scope) or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = rid
        rid_header = (b"x-request-id", rid.encode())
        started = time.perf_counter()
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", ()), rid_header]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if self.enabled:
                _log_access(scope, rid, status, time.perf_counter() - started)


def _caller_request_id(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            return value.decode("ascii") if _REQUEST_ID.fullmatch(value) else None
    return None


def _log_access(scope: Scope, rid: str, status: int, seconds: float) -> None:
    route = scope.get("route")
    client = scope.get("client")
    fields: dict[str, Any] = {
        "request_id": rid,
        "method": scope["method"],
        "route": getattr(route, "path", None),
        "path": scope["path"],
        "status": status or None,
        "duration_ms": round(seconds * 1000, 3),
        "client": f"{client[0]}:{client[1]}" if client else None,
    }
    actor = scope.get("state", {}).get("actor")
    if actor is not None:
        fields["key_id"] = actor.id
        fields["actor"] = actor.name
        fields["role"] = str(actor.role)
    # A status of 0: the app answered nothing (the client left, or a bug
    # that the error middleware answered outside this one).
    level = logging.INFO if status and status < 500 else logging.WARNING
    if access_log.isEnabledFor(level):
        # The record made directly: `Logger.log` would walk the stack for the
        # caller's line, the dearest part of a line logged per request.
        message = f"{fields['method']} {fields['route'] or fields['path']} {status}"
        record = access_log.makeRecord(
            access_log.name, level, __file__, 0, message, (), None, extra={"fields": fields}
        )
        access_log.handle(record)


def install_cors(app: FastAPI, settings: Settings) -> None:
    """CORS: refused (no CORS headers) unless origins are configured."""
    if not settings.cors_origins:
        return
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(settings.cors_origins),
        allow_methods=["GET", "HEAD", "POST", "OPTIONS"],
        allow_headers=[
            "Authorization",
            "Content-Type",
            "If-Match",
            "If-None-Match",
            "Idempotency-Key",
            "Last-Event-ID",
            REQUEST_ID_HEADER,
        ],
        expose_headers=["ETag", "Location", "Retry-After", REQUEST_ID_HEADER],
        max_age=600,
    )


def edge(app: ASGIApp, settings: Settings) -> ASGIApp:
    """The whole application wrapped in what every answer goes through."""
    return AccessLog(SecurityHeaders(AnswerDeadline(app)), enabled=settings.access_log)


class EdgeApp(FastAPI):
    """FastAPI with `edge` around its whole middleware stack: outside Starlette's
    error middleware, so that its 500s carry the headers and are logged too."""

    def __init__(self, settings: Settings, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.edge_settings = settings
        self._edged: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Around the whole app rather than in build_middleware_stack, which
        # others wrap too (OpenTelemetry's instrumentation expects Starlette's
        # own stack there, and skips an app whose stack it does not know).
        if self._edged is None:
            self._edged = edge(super().__call__, self.edge_settings)
        await self._edged(scope, receive, send)
