"""Every request answered within SPEC §4's ten seconds, whatever the database does.

A database that hangs without closing its connections (a stopped or frozen
server, a saturated disk) leaves a statement waiting for ever, on a thread the
event loop cannot cancel. `AnswerDeadline` does not wait for it: when a
request has not started its answer `ANSWER_SECONDS` after it came, a timer
answers it with a 503 problem and `Retry-After`, and whatever the route sends
later is dropped. A write is answered that its outcome is unknown (its
append may be on its way: the writer itself answers first, more precisely,
when it can); a read that the server could not answer in time.

Only the start of an answer is bounded: a stream, once started, runs on.
"""

from __future__ import annotations

import asyncio
from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import problem_response
from ledger.errors import OutcomeUnknown

__all__ = ["ANSWER_SECONDS", "AnswerDeadline"]

ANSWER_SECONDS: Final = 9.5
"""SPEC §4's ten seconds, less the time the answer takes to reach the caller."""
RETRY_AFTER_SECONDS: Final = 2
_READS: Final = frozenset({"GET", "HEAD", "OPTIONS"})


class AnswerDeadline:
    def __init__(self, app: ASGIApp, seconds: float = ANSWER_SECONDS) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False
        overdue: asyncio.Task[None] | None = None

        async def send_in_time(message: Message) -> None:
            nonlocal started
            if overdue is not None:
                return  # answered by the deadline already
            if message["type"] == "http.response.start":
                started = True
                timer.cancel()
            await send(message)

        def answer_overdue() -> None:
            nonlocal overdue
            if not started:
                overdue = asyncio.ensure_future(self._overdue(scope, receive, send))

        timer = asyncio.get_running_loop().call_later(self.seconds, answer_overdue)
        try:
            await self.app(scope, receive, send_in_time)
        finally:
            timer.cancel()
            if overdue is not None:
                await overdue

    async def _overdue(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
        if scope["method"] in _READS:
            response = problem_response(
                503,
                "timed-out",
                f"The server could not answer within {self.seconds:g} seconds (the database "
                "did not answer in time); nothing was changed. Retry shortly.",
                headers=headers,
            )
        else:
            unknown = OutcomeUnknown("the server could not answer in time")
            response = problem_response(503, "outcome-unknown", unknown.detail, headers=headers)
        await response(scope, receive, send)
