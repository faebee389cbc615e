"""The ledger's newest position, watched once per process for every live stream.

One task looks at the head four times a second while anyone is waiting
(and not at all otherwise) and wakes every waiting stream when it moves, so
the database sees one cheap query per process, not one per stream.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Final

__all__ = ["HeadWatch"]

_LOOK_EVERY_SECONDS: Final = 0.25


class HeadWatch:
    def __init__(self, read_head: Callable[[], int]) -> None:
        self.read_head = read_head
        self._head = 0
        self._moved = asyncio.Condition()
        self._waiting = 0
        self._task: asyncio.Task[None] | None = None

    async def wait_beyond(self, position: int, timeout: float) -> None:
        """Returns when the head is past `position`, or after `timeout` seconds."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._watch(), name="ledger head watch")
        self._waiting += 1
        try:
            async with self._moved:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        self._moved.wait_for(lambda: self._head > position), timeout
                    )
        finally:
            self._waiting -= 1

    async def _watch(self) -> None:
        while True:
            head = await asyncio.to_thread(self.read_head)
            if head != self._head:
                async with self._moved:
                    self._head = head
                    self._moved.notify_all()
            if not self._waiting:
                self._task = None
                return
            await asyncio.sleep(_LOOK_EVERY_SECONDS)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
