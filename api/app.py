"""The FastAPI application: routes, problem handlers and the OpenAPI document."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from importlib.metadata import version
from typing import Final

from fastapi import FastAPI

from api.feed import HeadWatch
from api.openapi import install_openapi
from api.problems import install_problem_handlers
from api.routes import claims, events, health, problems, read_models, writes
from api.state import Ledger
from factledger.keys import KeyCache
from factledger.reads import ClaimReads
from factledger.service import LedgerService
from factledger.settings import Settings
from storage.postgres.listener import ListenedGeneration

__all__ = ["create_app", "create_served_app"]

_GC_THRESHOLDS: Final = (10_000, 20, 10)

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

    With `freeze_heap`, everything alive once the app has started (modules,
    models, schemas: most of the heap) is moved out of the garbage
    collector's sight, so that a full collection walks only what requests
    make: 65 ms -> 3 ms per full collection with a claim of 1,000 events
    cached (measured in-process); and the youngest generation is collected
    every 10,000 allocations rather than 700: a request makes about twenty
    containers, nearly all gone before the next collection, so collecting
    that often only walked the requests in flight again and again (GC took
    about 40 ms of every second of appends at 32 clients, now about 6 ms:
    docs/benchmarks.md). For a serving process, not for tests that make many
    apps.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        opened = service or LedgerService(settings or Settings())
        async with AsyncExitStack() as stack:
            if service is None:
                stack.callback(opened.close)  # last: the writer answers every caller first
            reader = opened.store.claim_reader()
            await reader.open()
            stack.push_async_callback(reader.close)
            generation = opened.store.keys_generation()
            if isinstance(generation, ListenedGeneration):
                await generation.start()
                stack.push_async_callback(generation.stop)
            runs_projector = opened.settings.projector and not opened.settings.projector_child
            runner = opened.projector_runner() if runs_projector else None
            ledger = app.state.ledger = Ledger(
                service=opened,
                reads=ClaimReads(opened.histories, opened.store.event_queries, reader),
                keys=KeyCache(opened.keys, generation),
                head_watch=HeadWatch(opened.store.event_log.head_position),
                projector=runner,
                projector_mode="child" if opened.settings.projector_child else "off",
            )
            stack.push_async_callback(ledger.head_watch.close)
            if runner is not None:
                runner.start()
                stack.callback(runner.stop)
            if freeze_heap:
                app.openapi()
                gc.collect()
                gc.freeze()
                gc.set_threshold(*_GC_THRESHOLDS)
            yield

    app = FastAPI(
        title="Factledger",
        version=version("factledger"),
        description=DESCRIPTION,
        lifespan=lifespan,
        # Operation ids are the route functions' names: register_claim, get_claim, ...
        generate_unique_id_function=lambda route: route.name,
    )
    install_problem_handlers(app)
    for module in (writes, claims, read_models, events, health, problems):
        app.include_router(module.router)
    install_openapi(app)
    return app


def create_served_app() -> FastAPI:
    """The app `factledger serve` runs in each worker."""
    return create_app(freeze_heap=True)
