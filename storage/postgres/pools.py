"""The connection pools of a serving process, bounded so that a request is
answered within SPEC §4's ten seconds whatever PostgreSQL does, and the pools
are whole again within seconds of its return however long it was away.

- A checkout waits at most `CHECKOUT_SECONDS` (a pool's `timeout`); a new
  connection at most `CONNECT_SECONDS` (libpq's `connect_timeout`).
- psycopg_pool retries a lost connection with a back-off that doubles (1 s,
  2 s, 4 s, ... up to `reconnect_timeout`, five minutes by default): after a
  90 s outage its next try could be a minute away, and every slot of the
  pool waits for such a try. `reconnect_timeout` is `RECONNECT_SECONDS`: an
  attempt gives up within seconds, its slot is freed, and the next request
  that waits starts a new attempt at once.
- Idle connections that died with the server are found when one of them
  breaks: the pool then checks every idle one, so that the requests after
  the database's return are not each answered with the error of another
  dead connection; a read that met the dead one is tried once more.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any, Final

import psycopg
from eventsourcing.postgres import ConnectionPool, PostgresDatastore
from psycopg import AsyncConnection, Connection
from psycopg.rows import DictRow
from psycopg_pool import AsyncConnectionPool

__all__ = [
    "CHECKOUT_SECONDS",
    "CONNECT_SECONDS",
    "RECONNECT_SECONDS",
    "ReadPool",
    "WritePool",
    "connection_kwargs",
    "dead_connection",
]

log = logging.getLogger(__name__)

CHECKOUT_SECONDS: Final = 3.0
"""How long a request waits for a connection of a pool, at most."""
CONNECT_SECONDS: Final = 3
"""How long opening one connection may take (libpq's connect_timeout, whole seconds)."""
RECONNECT_SECONDS: Final = 2.0
"""How long one attempt to replace a lost connection keeps trying before it gives up."""


def connection_kwargs() -> dict[str, Any]:
    """What every pooled connection is opened with, besides where it goes."""
    return {
        "connect_timeout": CONNECT_SECONDS,
        # A peer that vanished without a word is noticed within seconds.
        "keepalives": 1,
        "keepalives_idle": 5,
        "keepalives_interval": 2,
        "keepalives_count": 2,
    }


class WritePool(ConnectionPool[Connection[DictRow]]):
    """The event store's pool (the `eventsourcing` datastore's, bounded)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs, timeout=CHECKOUT_SECONDS, reconnect_timeout=RECONNECT_SECONDS)
        self._checking = threading.Lock()

    @classmethod
    def replacing(cls, datastore: PostgresDatastore) -> WritePool:
        """A pool like the datastore's (not yet opened), bounded; the datastore
        then uses it."""
        pool = datastore.pool
        assert isinstance(pool.kwargs, dict)
        bounded = cls(
            connection_class=Connection[DictRow],
            kwargs={**pool.kwargs, **connection_kwargs()},
            min_size=pool.min_size,
            max_size=pool.max_size,
            open=False,
            configure=datastore.after_connect_func(),
            check=ConnectionPool.check_connection if datastore.pre_ping else None,
            max_waiting=pool.max_waiting,
            max_lifetime=pool.max_lifetime,
        )
        datastore.pool = bounded
        return bounded

    def putconn(self, conn: Connection[DictRow]) -> None:
        broken = conn.broken
        super().putconn(conn)
        if broken and self._checking.acquire(blocking=False):
            # Here, not in the background: the caller may try its read once more.
            try:
                self.check()
            except (psycopg.Error, RuntimeError) as error:  # a closed pool, a database gone
                log.info("checking the pool's idle connections: %s", error)
            finally:
                self._checking.release()


class ReadPool(AsyncConnectionPool[AsyncConnection[DictRow]]):
    """The async claim reader's pool."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs, timeout=CHECKOUT_SECONDS, reconnect_timeout=RECONNECT_SECONDS)
        self._checking = asyncio.Lock()

    async def putconn(self, conn: AsyncConnection[DictRow]) -> None:
        broken = conn.broken
        await super().putconn(conn)
        if broken and not self._checking.locked():
            async with self._checking:
                try:
                    await self.check()
                except (psycopg.Error, RuntimeError) as error:
                    log.info("checking the pool's idle connections: %s", error)


def dead_connection(conn: Connection[Any] | AsyncConnection[Any]) -> bool:
    """Whether a statement failed because its connection is gone (a connection
    that died idle in the pool, with the server that restarted): a read may
    then be tried once more, on another."""
    return conn.broken or conn.closed
