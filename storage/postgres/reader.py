"""The read that runs per request on PostgreSQL, without blocking the event loop:
a claim's new rows and the ledger's head, in one statement on an async pool."""

from __future__ import annotations

from typing import Any, Final
from uuid import UUID

import psycopg
from psycopg import AsyncConnection
from psycopg.rows import DictRow, dict_row

from storage.database import Database
from storage.postgres.pools import ReadPool, connection_kwargs, dead_connection
from storage.postgres.queries import EventStatements
from storage.queries import ClaimRows

__all__ = ["PostgresClaimReader"]

_POOL_SIZE: Final = 8
"""Concurrent reads that reach the database (most are answered from memory)."""


class PostgresClaimReader:
    def __init__(self, database: Database, statements: EventStatements, application_name: str):
        self.statements = statements
        self._pool = ReadPool(
            kwargs={
                "host": database.host,
                "port": database.port,
                "user": database.user,
                "password": database.password,
                "dbname": database.dbname,
                "autocommit": True,
                "row_factory": dict_row,
                "application_name": application_name,
                **connection_kwargs(),
            },
            min_size=1,
            max_size=_POOL_SIZE,
            open=False,
            connection_class=AsyncConnection[DictRow],
        )

    async def open(self) -> None:
        await self._pool.open(wait=False)

    async def close(self) -> None:
        await self._pool.close()

    async def claim_rows(self, claim_id: UUID, after_version: int) -> ClaimRows:
        rows = await self._all(self.statements.claim_rows, (claim_id, after_version))
        return self.statements.claim_rows_of(rows)

    async def _all(self, statement: Any, params: tuple[Any, ...]) -> list[DictRow]:
        """The statement's rows; tried once more when its connection was dead
        (idle in the pool while the server restarted)."""
        dead = False
        for last in (False, True):
            try:
                async with self._pool.connection() as conn, conn.cursor() as curs:
                    try:
                        await curs.execute(statement, params, prepare=True)
                        return await curs.fetchall()
                    except psycopg.OperationalError:
                        dead = dead_connection(conn)
                        raise
            except psycopg.OperationalError:
                if last or not dead:
                    raise
        raise AssertionError("unreachable")
