"""The FastAPI application: routes, problem handlers and the OpenAPI document."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from importlib.metadata import version
from typing import TYPE_CHECKING

from fastapi import FastAPI

from api.feed import HeadWatch
from api.limits import StreamSlots
from api.metrics import RequestMetrics, counting
from api.middleware import EdgeApp, install_cors
from api.openapi import install_openapi
from api.pages import install_pages
from api.problems import install_problem_handlers
from api.ratelimit import RateLimiter
from api.routes import (
    claimreview,
    claimreview_import,
    claims,
    events,
    health,
    metrics,
    problems,
    read_models,
    writes,
)
from api.routes import (
    ledger as ledger_routes,
)
from api.routes.docs import install_docs
from api.state import Ledger
from factledger.keys import KeyCache
from factledger.ledger_reads import LedgerReads
from factledger.metrics import ProcessMetrics
from factledger.reads import ClaimReads
from factledger.runtime import settle_heap
from factledger.service import LedgerService
from factledger.settings import Settings
from projections.runner import ProjectorRole, ProjectorRunner, read_role

if TYPE_CHECKING:
    from api.tracing import Tracing

__all__ = ["create_app", "create_served_app", "projector_role"]

DESCRIPTION = """
An event-sourced, bitemporal fact-checking ledger.

Claims, rebuttals, evidence and verifications are appended as immutable
events. A claim's verdict is always derived from its events, so any past
state can be asked for: `as_of` (what the ledger said at a system time) and
`valid_at` (what was known about the world at a world time).

Writes need `Authorization: Bearer <api key>`; errors are
`application/problem+json` (RFC 9457).
"""


def create_app(
    settings: Settings | None = None,
    service: LedgerService | None = None,
    *,
    freeze_heap: bool = False,
) -> FastAPI:
    """The API over `service`, or over a service opened from `settings` at start-up.

    With `freeze_heap`, the heap is settled once the app has started
    (`factledger.runtime.settle_heap`): for a serving process, not for tests
    that make many apps.
    """
    configured = settings or (service.settings if service is not None else Settings())
    counted = ProcessMetrics(configured.metrics_dir)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        opened = service or LedgerService(configured)
        async with AsyncExitStack() as stack:
            if tracing is not None:
                stack.callback(tracing.close)  # last of all: every span sent
            if service is None:
                stack.callback(opened.close)  # last: the writer answers every caller first
            persistence = opened.persistence
            reader = persistence.claim_reader()
            await reader.open()
            stack.push_async_callback(reader.close)
            generation = persistence.keys_generation()
            await generation.start()
            stack.push_async_callback(generation.stop)
            # Loaded at start: a process whose key is not the ledger's refuses to serve.
            opened.checkpoint_signer()
            writer = opened.new_writer()
            await writer.start()
            stack.push_async_callback(writer.close)
            runs_projector = opened.settings.projector and not opened.settings.projector_child
            runner = opened.projector_runner() if runs_projector else None
            ledger = app.state.ledger = Ledger(
                service=opened,
                writer=writer,
                reads=LedgerReads(
                    ClaimReads(opened.histories, persistence.events, reader),
                    persistence,
                    opened.histories,
                    projector_role=lambda: projector_role(opened.settings, runner),
                ),
                keys=KeyCache(opened.keys, generation),
                head_watch=HeadWatch(persistence.event_log.head_position),
                projector=runner,
            )
            stack.push_async_callback(ledger.head_watch.close)
            await stack.enter_async_context(counting(counted, ledger))
            if runner is not None:
                runner.start()
                stack.callback(runner.stop)
            if freeze_heap:
                app.openapi()
                settle_heap()
            yield

    app = EdgeApp(
        configured,
        title="Factledger",
        version=version("factledger"),
        description=DESCRIPTION,
        lifespan=lifespan,
        # Operation ids are the route functions' names: register_claim, get_claim, ...
        generate_unique_id_function=lambda route: route.name,
        # Served by api.routes.docs from the service's own assets; no ReDoc.
        docs_url=None,
        redoc_url=None,
    )
    install_problem_handlers(app)
    install_cors(app, configured)
    app.state.stream_slots = StreamSlots(configured.max_streams)
    app.state.rate_limiter = RateLimiter.from_settings(configured)
    for module in (
        writes,
        claimreview_import,
        claims,
        claimreview,
        read_models,
        events,
        ledger_routes,
        health,
        metrics,
        problems,
    ):
        app.include_router(module.router)
    install_openapi(app)
    install_docs(app)
    install_pages(app)
    app.state.metrics = counted
    app.add_middleware(RequestMetrics, metrics=counted)
    tracing = _traced(app, configured) if configured.tracing else None
    return app


def _traced(app: FastAPI, settings: Settings) -> Tracing:
    # Imported only when tracing is on: OpenTelemetry's SDK is an optional extra.
    from api.tracing import trace_app  # noqa: PLC0415

    return trace_app(app, settings)


def projector_role(settings: Settings, runner: ProjectorRunner | None) -> ProjectorRole | None:
    """The role of this `serve`'s projector (in this process, or in its child);
    None when it runs none."""
    if runner is not None:
        return runner.role
    if settings.projector_child and settings.projector_status_file is not None:
        return read_role(settings.projector_status_file)
    return None


def create_served_app() -> FastAPI:
    """The app `factledger serve` runs in each worker."""
    return create_app(Settings.handed_down(), freeze_heap=True)
