"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import LedgerDep
from api.openapi import problem_responses
from api.schemas import Health, HistoryCacheStatus, Readiness, ReadModelStatus

__all__ = ["router"]

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
    ready = await ledger.reads.readiness()
    cache = ready.history_cache
    return Readiness(
        backend=ledger.settings.database.backend.value,
        position=ready.position,
        read_models={
            name: ReadModelStatus(position=position, lag=lag)
            for name, (position, lag) in ready.read_models.items()
        },
        projector=ready.projector or "off",
        history_cache=HistoryCacheStatus(
            claims=cache.claims,
            events=cache.events,
            size_bytes=cache.size_bytes,
            budget_bytes=cache.budget_bytes,
            hits=cache.hits,
            misses=cache.misses,
        ),
    )
