"""`/problems/{slug}`: what each problem `type` of the API means."""

from __future__ import annotations

from http import HTTPStatus

from fastapi import APIRouter
from pydantic import BaseModel

from api.openapi import problem_responses
from api.problems import PROBLEM_BASE, PROBLEM_KINDS, ProblemError

__all__ = ["router"]

router = APIRouter(tags=["operations"])


class ProblemKind(BaseModel):
    type: str
    description: str


@router.get(
    "/problems/{slug}",
    response_model=ProblemKind,
    responses=problem_responses(404),
    summary="What a problem type means",
)
def describe_problem(slug: str) -> ProblemKind:
    try:
        return ProblemKind(type=PROBLEM_BASE + slug, description=PROBLEM_KINDS[slug])
    except KeyError:
        raise ProblemError(
            404, "not-found", f"No problem type {slug!r}; {HTTPStatus.NOT_FOUND.description}"
        ) from None
