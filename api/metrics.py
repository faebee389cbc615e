"""How a served app counts: every request, every group commit, and its
history cache (`factledger.metrics` keeps the figures).

Requests are counted by a plain ASGI middleware: it sees every request,
the writes included (FastAPI calls their routes without solving
dependencies: `api.routes.writes.DirectRoute`), for the price of a counter
and a histogram (BaseHTTPMiddleware would cost a task and a queue per
request). Each is labelled by the path template of the route that took it
(`/claims/{claim_id}`), never by its raw path, so that the series stay as
few as the routes; a path that no route takes is `unmatched`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from time import perf_counter
from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.state import Ledger
from factledger.histories import Histories
from factledger.metrics import ProcessMetrics

__all__ = ["UNMATCHED", "RequestMetrics", "counting", "method_label", "route_label"]

UNMATCHED: Final = "unmatched"
"""The route of a request that no route took (answered 404)."""
OTHER_METHOD: Final = "other"
"""The method of a request whose method is not one of HTTP's usual ones."""
_METHODS: Final = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_SAMPLE_SECONDS: Final = 1.0
"""How often a worker copies its history cache's figures for the others to read."""


def route_label(scope: Scope) -> str:
    """The path template of the route that took the request, or `unmatched`.

    Starlette's router puts the route it chose (fully, or by path only: a 405)
    in the request's scope."""
    path = getattr(scope.get("route"), "path_format", None)
    return path if isinstance(path, str) else UNMATCHED


def method_label(scope: Scope) -> str:
    """The request's method; `other` for any unusual one (clients choose it)."""
    method: str = scope["method"]
    return method if method in _METHODS else OTHER_METHOD


class RequestMetrics:
    """Counts each HTTP request by method, route template and status, with its
    latency: the time until its answer's status line is sent (for a stream,
    until the stream starts). A request that fails without an answer counts
    as the 500 that the server then sends."""

    def __init__(self, app: ASGIApp, metrics: ProcessMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = perf_counter()
        status = 500
        seconds: float | None = None

        async def send_noting_status(message: Message) -> None:
            nonlocal status, seconds
            if message["type"] == "http.response.start":
                status, seconds = message["status"], perf_counter() - started
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            if seconds is None:
                seconds = perf_counter() - started
            self.metrics.request_answered(method_label(scope), route_label(scope), status, seconds)


@asynccontextmanager
async def counting(metrics: ProcessMetrics, ledger: Ledger) -> AsyncIterator[None]:
    """While a served app runs: it counts as a worker, its writer's batches are
    counted and its history cache copied every second."""
    metrics.start()
    ledger.writer.on_batch = metrics.batch_committed
    sampling = asyncio.create_task(
        _sample_cache(metrics, ledger.service.histories), name="metrics: history cache"
    )
    try:
        yield
    finally:
        sampling.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sampling
        metrics.close()


async def _sample_cache(metrics: ProcessMetrics, histories: Histories) -> None:
    while True:
        metrics.sample_cache(histories.report())
        await asyncio.sleep(_SAMPLE_SECONDS)
