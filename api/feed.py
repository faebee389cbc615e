"""The ledger's newest position, watched once per process for every live stream.

One task looks at the head four times a second while anyone is waiting
(and not at all otherwise) and wakes every waiting stream when it moves, so
the database sees one cheap query per process, not one per stream.

Streams wait on an `asyncio.Event` that is set, and replaced by a fresh one,
each time the head moves: no lock is shared between the streams, so any
number of them can be cancelled at once, however often (a server cancels a
task again at each of its awaits until it ends), and the next stream is
still woken. (An `asyncio.Condition` here once left its lock unreleased when
two hundred clients hung up together, and no stream of that process was
woken again.)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Final

__all__ = ["HeadWatch"]

log = logging.getLogger(__name__)

_LOOK_EVERY_SECONDS: Final = 0.25


class HeadWatch:
    def __init__(self, read_head: Callable[[], int]) -> None:
        self.read_head = read_head
        self._head = 0
        self._moved = asyncio.Event()
        self._waiting = 0
        self._task: asyncio.Task[None] | None = None

    async def wait_beyond(self, position: int, timeout: float) -> None:
        """Returns when the head is past `position`, or after `timeout` seconds."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._watch(), name="ledger head watch")
        self._waiting += 1
        try:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    while self._head <= position:
                        await self._moved.wait()
        finally:
            self._waiting -= 1

    async def _watch(self) -> None:
        while self._waiting:
            try:
                head = await asyncio.to_thread(self.read_head)
            except Exception as error:  # noqa: BLE001 (the database is away: look again)
                log.warning("the ledger's head cannot be read: %s", error)
            else:
                if head != self._head:
                    self._head = head
                    moved, self._moved = self._moved, asyncio.Event()
                    moved.set()
            await asyncio.sleep(_LOOK_EVERY_SECONDS)
        self._task = None

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
