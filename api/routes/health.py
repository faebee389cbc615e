"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter, Request

from api.deps import ServiceDep
from api.openapi import problem_responses
from api.schemas import Health, Readiness, ReadModelStatus
from projections.runner import ProjectorRunner
from projections.store import READ_MODELS

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
def readyz(service: ServiceDep, request: Request) -> Readiness:
    queries = service.store.event_queries
    queries.ping()
    position = service.read_models.position()
    status = ReadModelStatus(position=position, lag=queries.count_after(position))
    runner: ProjectorRunner | None = request.app.state.projector
    return Readiness(
        backend=service.settings.database.backend.value,
        position=service.store.event_log.head_position(),
        read_models=dict.fromkeys(READ_MODELS, status),
        projector=runner.role.value if runner else "off",
    )
