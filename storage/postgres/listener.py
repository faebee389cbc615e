"""A generation that PostgreSQL announces: a connection of its own LISTENs to a
channel, and every notification on it is a new generation.

While the connection is down the generation is unknown (`current()` is None),
so whoever relies on it cannot miss a change; it is known again, as a new
generation, once the connection is back and listening.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Final

import psycopg
from psycopg import sql

from storage.database import Database

__all__ = ["ListenedGeneration"]

log = logging.getLogger(__name__)

_RETRY_SECONDS: Final = 1.0
_CHECK_SECONDS: Final = 1.0


class ListenedGeneration:
    def __init__(self, database: Database, channel: str, application_name: str) -> None:
        self.database = database
        self.channel = channel
        self.application_name = application_name
        self._generation = 0
        self._listening = False
        self._task: asyncio.Task[None] | None = None

    def current(self) -> int | None:
        return self._generation if self._listening else None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name=f"listen {self.channel}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._listening = False

    async def _listen(self) -> None:
        while True:
            try:
                await self._listen_once()
            except (psycopg.Error, OSError) as error:  # TimeoutError is an OSError
                log.warning("listening on %s: %s; again in a second", self.channel, error)
            self._listening = False
            await asyncio.sleep(_RETRY_SECONDS)

    async def _listen_once(self) -> None:
        db = self.database
        async with await psycopg.AsyncConnection.connect(
            host=db.host,
            port=db.port,
            user=db.user,
            password=db.password,
            dbname=db.dbname,
            autocommit=True,
            connect_timeout=10,
            application_name=self.application_name,
            keepalives=1,
            keepalives_idle=5,
            keepalives_interval=2,
            keepalives_count=3,
        ) as conn:
            await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
            # Whatever changed while nobody listened: a new generation.
            self._generation += 1
            self._listening = True
            while True:
                async for _ in conn.notifies(timeout=_CHECK_SECONDS):
                    self._generation += 1
                # A connection can die without a word: make sure it still answers,
                # so that a change is never missed for longer than a second or two.
                await asyncio.wait_for(conn.execute("SELECT 1"), _CHECK_SECONDS)
