"""Bounds on what one process gives its callers at once.

`StreamSlots`: live event streams (`GET /events/stream`) each hold a
connection and a task for as long as the client stays; past the configured
number, a new one is answered 503 with `Retry-After` instead. A slot is
taken before the stream's answer starts and given back when the answer ends,
however it ends (the client leaves, the server shuts down, an error).
"""

from __future__ import annotations

from typing import Any, Final

from sse_starlette import EventSourceResponse
from starlette.types import Receive, Scope, Send

from api.problems import ProblemError

__all__ = ["STREAMS_RETRY_AFTER_SECONDS", "CountedEventSource", "StreamSlots"]

STREAMS_RETRY_AFTER_SECONDS: Final = 5


class StreamSlots:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.taken = 0

    def take(self) -> None:
        """Takes a slot; 503 problem with Retry-After when none is free."""
        if self.taken >= self.limit:
            raise ProblemError(
                503,
                "too-many-streams",
                f"This server already serves {self.limit} live streams; retry shortly.",
                headers={"Retry-After": str(STREAMS_RETRY_AFTER_SECONDS)},
            )
        self.taken += 1

    def give_back(self) -> None:
        self.taken -= 1


class CountedEventSource(EventSourceResponse):
    """An event stream holding one of `slots` until its answer ends."""

    def __init__(self, slots: StreamSlots, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.slots = slots

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.slots.give_back()
