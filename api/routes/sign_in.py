"""Signing in to the pages with an API key, and out (`factledger.sessions`,
`api.pages.visitors`).

The key is posted once, in the sign-in form's body (never in a URL, never
logged), and exchanged for a session cookie. The sign-in form carries a CSRF
token too (double submit: the same random value in a cookie of its own), so
that no other site can sign a browser in with a key of its choosing.
"""

from __future__ import annotations

from typing import Final

from anyio import to_thread
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.responses import Response

from api.pages.forms import read_form
from api.pages.templating import render
from api.pages.visitors import (
    Visitor,
    VisitorDep,
    check_csrf,
    check_sign_in_token,
    end_session_cookie,
    keep_sign_in_token,
    set_session_cookie,
    sign_in_token,
)
from api.state import Ledger

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

_MAX_KEY_CHARS: Final = 200


def _sign_in_page(
    request: Request, visitor: Visitor, error: str | None = None, status_code: int = 200
) -> Response:
    token = sign_in_token(request)
    response = render(
        request,
        "sign_in.html",
        {"visitor": visitor, "error": error, "csrf_token": token},
        status_code,
        private=True,
    )
    keep_sign_in_token(response, request, token)
    return response


@router.get("/sign-in", response_class=HTMLResponse)
async def sign_in_page(request: Request, visitor: VisitorDep) -> Response:
    return _sign_in_page(request, visitor)


@router.post("/sign-in")
async def sign_in(request: Request, visitor: VisitorDep) -> Response:
    form = await read_form(request, max_fields=10)
    csrf_token, key = form.get("csrf_token"), form.get("api_key")
    check_sign_in_token(request, csrf_token if isinstance(csrf_token, str) else None)
    ledger: Ledger = request.app.state.ledger
    presented = key.strip() if isinstance(key, str) else ""
    token = None
    if 0 < len(presented) <= _MAX_KEY_CHARS:
        token = await to_thread.run_sync(ledger.service.sessions.sign_in, presented)
    if token is None:
        return _sign_in_page(
            request, visitor, "That key is not valid (unknown, revoked or mistyped).", 401
        )
    if visitor.session_token is not None:  # signed in again: the old session ends
        await to_thread.run_sync(ledger.service.sessions.sign_out, visitor.session_token)
    response = RedirectResponse("/", status_code=303)
    set_session_cookie(response, request, token, ledger.settings.session_seconds)
    return response


@router.post("/sign-out")
async def sign_out(request: Request, visitor: VisitorDep) -> Response:
    form = await read_form(request, max_fields=10)
    csrf_token = form.get("csrf_token")
    check_csrf(visitor, csrf_token if isinstance(csrf_token, str) else None)
    ledger: Ledger = request.app.state.ledger
    assert visitor.session_token is not None
    await to_thread.run_sync(ledger.service.sessions.sign_out, visitor.session_token)
    response = RedirectResponse("/", status_code=303)
    end_session_cookie(response, request)
    return response
