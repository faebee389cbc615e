"""The HTTP/1.1 connections `serve` accepts: uvicorn's httptools protocol with
the bounds a public service needs, which uvicorn does not set itself.

- A request's head (request line and headers) is at most `MAX_HEAD_BYTES`
  and `MAX_HEADER_FIELDS` fields; past either the answer is 431 (414 for a
  target over `MAX_TARGET_BYTES`) and the connection is closed. (llhttp
  itself accepts headers without end.)
- A request must arrive whole (head and body) within the request-read
  timeout of the settings, counted from the connection's opening or the
  request's first byte: a client that connects and sends nothing, or sends a
  header a byte at a time (slowloris), is answered 408 and cut off. Between
  requests, uvicorn's keep-alive timeout closes idle connections.

uvicorn starts the workers afresh (spawn): the protocol reads its timeout
from the settings `serve` hands down, once per process.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from functools import cache
from typing import Any, Final

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from api.middleware import ALWAYS_HEADERS, API_CSP
from factledger.settings import Settings

__all__ = ["MAX_HEADER_FIELDS", "MAX_HEAD_BYTES", "MAX_TARGET_BYTES", "GuardedHttpToolsProtocol"]

MAX_HEAD_BYTES: Final = 16 * 1024
MAX_HEADER_FIELDS: Final = 100
MAX_TARGET_BYTES: Final = 8 * 1024

log = logging.getLogger("factledger.connections")


class _Refused(Exception):
    """Stops the parser once the request has been refused."""


@cache
def _read_timeout() -> float:
    return Settings.handed_down().request_read_timeout


def _raw_problem(status: int, reason: str, detail: str, request_id: str) -> bytes:
    """The answer of a request refused before it reached the application: the
    headers every answer carries (`api.middleware`), a fresh request id (the
    caller's may be in the part of the head that was not read)."""
    body = json.dumps(
        {"type": "about:blank", "title": reason, "status": status, "detail": detail}
    ).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\n"
        "content-type: application/problem+json\r\n"
        f"content-length: {len(body)}\r\n"
        + "".join(f"{name.decode()}: {value.decode()}\r\n" for name, value in ALWAYS_HEADERS)
        + f"content-security-policy: {API_CSP}\r\n"
        f"x-request-id: {request_id}\r\n"
        "connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_bytes = 0
        self._header_fields = 0
        self._refused = False
        self._reading: asyncio.TimerHandle | None = None

    # --- the read deadline ----------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_reading()
        super().connection_lost(exc)

    def _start_reading(self) -> None:
        if self._reading is None:
            self._reading = self.loop.call_later(_read_timeout(), self._too_slow)

    def _stop_reading(self) -> None:
        if self._reading is not None:
            self._reading.cancel()
            self._reading = None

    def _too_slow(self) -> None:
        self._reading = None
        if self.transport.is_closing():
            return
        log.info("request not received within %s s from %s: closed", _read_timeout(), self.client)
        if self.cycle is None or self.cycle.response_complete:
            self._refuse(408, "Request Timeout", "The request did not arrive in time.")
        else:  # the app is answering: it hears of the disconnect
            self.transport.close()

    # --- the head's size --------------------------------------------------------

    def _refuse(self, status: int, reason: str, detail: str) -> None:
        request_id = uuid.uuid4().hex
        log.info(
            "refused with %d (%s) from %s: %s (request id %s)",
            status,
            reason,
            self.client,
            detail,
            request_id,
        )
        self._refused = True
        self._stop_reading()
        self.transport.write(_raw_problem(status, reason, detail, request_id))
        self.transport.close()

    def data_received(self, data: bytes) -> None:
        # uvicorn's own, except that a refusal (raised from a parser callback
        # as `_Refused`, which the parser wraps) was answered already.
        if self._refused:
            return
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            if not self._refused:
                self.logger.warning("Invalid HTTP request received.")
                self.send_400_response("Invalid HTTP request received.")
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_bytes = 0
        self._header_fields = 0
        self._start_reading()

    def on_url(self, url: bytes) -> None:
        self._head_bytes += len(url)
        if self._head_bytes > MAX_TARGET_BYTES:
            self._refuse(414, "URI Too Long", f"The target is over {MAX_TARGET_BYTES} bytes.")
            raise _Refused
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_bytes += len(name) + len(value) + 4
        self._header_fields += 1
        if self._head_bytes > MAX_HEAD_BYTES or self._header_fields > MAX_HEADER_FIELDS:
            self._refuse(
                431,
                "Request Header Fields Too Large",
                f"At most {MAX_HEADER_FIELDS} header fields and {MAX_HEAD_BYTES} bytes.",
            )
            raise _Refused
        super().on_header(name, value)

    def on_message_complete(self) -> None:
        self._stop_reading()
        super().on_message_complete()
