"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import ServiceDep
from api.openapi import problem_responses
from api.schemas import Health, Readiness

__all__ = ["router"]

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=Health, summary="The process is alive")
def healthz() -> Health:
    return Health()


@router.get(
    "/readyz",
    response_model=Readiness,
    responses=problem_responses(503),
    summary="The database is reachable; where the ledger and its read models stand",
)
def readyz(service: ServiceDep) -> Readiness:
    queries = service.store.event_queries
    queries.ping()
    return Readiness(
        backend=service.settings.database.backend.value,
        position=service.store.event_log.head_position(),
    )
