"""The pages' Jinja2 templates (`api/templates/`, shipped as package data),
with the filters they share."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from ledger.payloads import Rating
from ledger.times import format_instant, parse_instant
from ledger.verdict import Verdict

__all__ = ["VERDICT_LABELS", "render", "templates"]

VERDICT_LABELS: Final = {
    **{rating.value: rating.label for rating in Rating},
    Verdict.DISPUTED.value: "Disputed",
    Verdict.UNVERIFIED.value: "Unverified",
}


def _when(value: datetime | str | None) -> str:
    """A time as people read it, to the minute (the exact instant is in `datetime=`)."""
    if value is None:
        return ""
    instant = parse_instant(value) if isinstance(value, str) else value
    return instant.strftime("%Y-%m-%d %H:%M UTC")


def _instant(value: datetime | str | None) -> str:
    """A time exactly as the API writes it (for `datetime=` and permalinks)."""
    if value is None:
        return ""
    return format_instant(parse_instant(value) if isinstance(value, str) else value)


def _verdict_label(value: Any) -> str:
    return VERDICT_LABELS.get(str(value), str(value))


templates = Jinja2Templates(directory=str(Path(__file__).parent.parent / "templates"))
templates.env.filters["when"] = _when
templates.env.filters["instant"] = _instant
templates.env.filters["verdict_label"] = _verdict_label
templates.env.globals["verdicts"] = list(VERDICT_LABELS.items())


def render(
    request: Request,
    name: str,
    context: dict[str, Any],
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    *,
    private: bool = False,
) -> Response:
    """A page. One that carries a session's forms (or the sign-in form) is
    `private` and kept by no cache: its CSRF token is the session's."""
    visitor = context.get("visitor")
    kept = dict(headers or {})
    if private or (visitor is not None and visitor.signed_in is not None):
        kept["Cache-Control"] = "private, no-store"
    return templates.TemplateResponse(request, name, context, status_code, kept)
