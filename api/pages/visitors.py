"""Who is looking at a page: signed in (a page session, `factledger.sessions`)
or not; the session cookie, the CSRF checks of forms, and the read rule.

The cookie is `HttpOnly` (no script reads it), `SameSite=Strict` (no other
site's page or link sends it), `Path=/`, and `Secure` whenever the request came
over https (behind a proxy that terminates TLS, the proxy's
`X-Forwarded-Proto`, which uvicorn trusts from `FORWARDED_ALLOW_IPS`). It is
not `Secure` on plain http: a browser would not send a `Secure` cookie back to
an `http://` address other than localhost, and sign-in would silently fail
on a ledger served on a private network without TLS; docs/pages.md says to
put TLS in front of any ledger that is not on localhost.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import Annotated, Final

from anyio import to_thread
from fastapi import Depends, Request
from starlette.responses import Response

from api.deps import LedgerDep, read_access
from api.pages.errors import PageProblem
from api.problems import ProblemError
from api.ratelimit import RateLimiter
from factledger.sessions import SignedIn
from ledger.access import Role

__all__ = [
    "SESSION_COOKIE",
    "SIGN_IN_COOKIE",
    "PageReaderDep",
    "Visitor",
    "VisitorDep",
    "check_csrf",
    "check_sign_in_token",
    "end_session_cookie",
    "keep_sign_in_token",
    "set_session_cookie",
    "sign_in_token",
]

SESSION_COOKIE: Final = "factledger_session"
SIGN_IN_COOKIE: Final = "factledger_sign_in"
"""Before a session exists, the sign-in form's CSRF token (double submit)."""
_SIGN_IN_SECONDS: Final = 3600


@dataclass(frozen=True)
class Visitor:
    signed_in: SignedIn | None
    session_token: str | None
    """The session cookie's token, while its session holds."""

    def may(self, role: Role) -> bool:
        return self.signed_in is not None and self.signed_in.actor.role.includes(role)

    @property
    def csrf_token(self) -> str:
        return self.signed_in.csrf_token if self.signed_in is not None else ""


async def _visitor(request: Request, ledger: LedgerDep) -> Visitor:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return Visitor(None, None)
    signed_in = await to_thread.run_sync(ledger.service.sessions.signed_in, token)
    if signed_in is None:
        return Visitor(None, None)
    request.state.actor = signed_in.actor  # for the access log: its key id, never the token
    return Visitor(signed_in, token)


VisitorDep = Annotated[Visitor, Depends(_visitor)]


async def _page_reader(request: Request, ledger: LedgerDep, visitor: VisitorDep) -> Visitor:
    """Pages follow the rule of the JSON reads, checked by the same code: public
    unless the settings say otherwise; then a session (or a bearer key) is needed.
    A session counts against its key's rate limit, as the key itself would."""
    try:
        if visitor.signed_in is None:
            await read_access(request, ledger)
        else:
            limiter: RateLimiter = request.app.state.rate_limiter
            limiter.check_key(visitor.signed_in.actor.id)
    except ProblemError as problem:
        raise PageProblem(problem) from None
    return visitor


PageReaderDep = Annotated[Visitor, Depends(_page_reader)]


def check_csrf(visitor: Visitor, presented: str | None) -> SignedIn:
    """The session a form was posted in: a 401 page without one, 403 without its
    CSRF token."""
    if visitor.signed_in is None:
        raise PageProblem(
            ProblemError(
                401,
                "unauthorized",
                "Your session has ended (signed out, expired or its key revoked): sign in again.",
            )
        )
    if not presented or not hmac.compare_digest(presented, visitor.signed_in.csrf_token):
        raise PageProblem(
            ProblemError(
                403,
                "csrf-token-missing",
                "The form's CSRF token is missing or wrong: reload the page and send the form "
                "again.",
            )
        )
    return visitor.signed_in


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def set_session_cookie(response: Response, request: Request, token: str, seconds: int) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=seconds,
        path="/",
        secure=_secure(request),
        httponly=True,
        samesite="strict",
    )


def end_session_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", secure=_secure(request), httponly=True, samesite="strict"
    )


def sign_in_token(request: Request) -> str:
    """The sign-in form's CSRF token: the one its cookie holds, else a new one."""
    return request.cookies.get(SIGN_IN_COOKIE) or secrets.token_urlsafe(24)


def keep_sign_in_token(response: Response, request: Request, token: str) -> None:
    response.set_cookie(
        SIGN_IN_COOKIE,
        token,
        max_age=_SIGN_IN_SECONDS,
        path="/sign-in",
        secure=_secure(request),
        httponly=True,
        samesite="strict",
    )


def check_sign_in_token(request: Request, presented: str | None) -> None:
    """403 when the sign-in form's token is not the one its cookie holds."""
    kept = request.cookies.get(SIGN_IN_COOKIE)
    if not kept or not presented or not hmac.compare_digest(kept, presented):
        raise PageProblem(
            ProblemError(
                403,
                "csrf-token-missing",
                "The sign-in form's CSRF token is missing or wrong: reload the page and sign "
                "in again.",
            )
        )
