"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool

from api.deps import LedgerDep
from api.openapi import problem_responses
from api.schemas import Health, HistoryCacheStatus, Readiness, ReadModelStatus
from api.state import Ledger
from projections.runner import read_role
from projections.store import READ_MODELS

__all__ = ["readiness", "router"]

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=Health, summary="The process is alive")
async def healthz() -> Health:
    return Health()


@router.get(
    "/readyz",
    response_model=Readiness,
    responses=problem_responses(503),
    summary="The database is reachable; where the ledger and its read models stand",
)
async def readyz(ledger: LedgerDep) -> Readiness:
    return await run_in_threadpool(readiness, ledger)


def _projector_role(ledger: Ledger) -> str:
    if ledger.projector is not None:
        return ledger.projector.role.value
    status_file = ledger.settings.projector_status_file
    if ledger.settings.projector_child and status_file is not None:
        return read_role(status_file).value
    return "off"


def readiness(ledger: Ledger) -> Readiness:
    """Where the ledger and its read models stand (blocking: it asks the database)."""
    service = ledger.service
    queries = service.store.event_queries
    queries.ping()
    position = service.read_models.position()
    status = ReadModelStatus(position=position, lag=queries.count_after(position))
    cache = service.histories.report()
    return Readiness(
        backend=service.settings.database.backend.value,
        position=service.store.event_log.head_position(),
        read_models=dict.fromkeys(READ_MODELS, status),
        projector=_projector_role(ledger),
        history_cache=HistoryCacheStatus(
            claims=cache.claims,
            events=cache.events,
            size_bytes=cache.size_bytes,
            budget_bytes=cache.budget_bytes,
            hits=cache.hits,
            misses=cache.misses,
        ),
    )
