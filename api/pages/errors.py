"""A problem answered as a page: the same problem the API would answer with
(status, detail, field errors), shown to a person in HTML."""

from __future__ import annotations

from fastapi import FastAPI, Request
from starlette.responses import Response

from api.pages.templating import render
from api.problems import ProblemError

__all__ = ["PageProblem", "install_page_problems"]


class PageProblem(Exception):
    """Raised by a page (or its dependencies) to answer with an error page."""

    def __init__(self, problem: ProblemError, back: str | None = None) -> None:
        super().__init__(problem.detail)
        self.problem = problem
        self.back = back
        """The page the person came from, to go back to."""


def install_page_problems(app: FastAPI) -> None:
    async def on_page_problem(request: Request, error: Exception) -> Response:
        assert isinstance(error, PageProblem)
        problem = error.problem
        return render(
            request,
            "error.html",
            {"problem": problem, "back": error.back, "visitor": None},
            problem.status,
            problem.headers,
        )

    app.add_exception_handler(PageProblem, on_page_problem)
