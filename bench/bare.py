"""The bare baseline: a FastAPI app with nothing of the ledger in it but the
body's model, served by uvicorn exactly as `factledger serve` serves the
product (the same `uvicorn.run` options: factory, host, port, workers,
`log_level="info"`, so the access log is on), on the same kind of database.

- `POST /claims/{claim_id}/rebuttals`: the body is declared as the product's
  own model (`api.schemas.write_body(EventType.REBUTTAL_FILED)`), so FastAPI
  parses and validates it as the product does; then one row is inserted per
  request into a table shaped like the event store (position, claim id,
  version, topic, state bytes: the validated body as JSON), its version the
  claim's next (`max(version) + 1` in the INSERT itself; each benchmark
  client appends to a claim of its own, one request at a time). 201 with the
  row's position and version.
- `GET /claims/{claim_id}/rows`: the product's own query for a claim's events
  (the event index joined to the events, as in `storage/postgres/queries.py`
  and `storage/sqlite/queries.py`), every row returned as a JSON array
  (orjson; the state as text); with `?answer=count`, only how many rows it
  read (the SELECT and nothing else: the strictest baseline).

PostgreSQL: a `psycopg_pool.AsyncConnectionPool` of 16 connections,
autocommit, prepared statements (the reads in binary: the leanest fetch
psycopg offers). SQLite: one `sqlite3` connection with the
product's settings (WAL, a 10 s busy timeout, autocommit, SQLite's default
`synchronous`): inserts run on one thread of their own, as the product's
writer runs its I/O; reads run in the event loop, as the product's reader
does (a local file answers in microseconds).

Run by the benchmarks as `python bench/bare.py --port P --workers N`, with
the database URL in `$FACTLEDGER_BENCH_BARE_DATABASE_URL`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import sys
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal, Protocol
from uuid import UUID

import orjson
import psycopg
import uvicorn
from eventsourcing.utils import get_topic
from fastapi import FastAPI, Response
from harness import Server, Workspace, free_port, sqlite_path
from psycopg_pool import AsyncConnectionPool

from ledger.claim import Claim
from ledger.events import EventType

if TYPE_CHECKING:
    from ledger.fields import FrozenModel as RebuttalBody
else:
    # The product's own model of the body, made at run time (FastAPI reads the
    # annotation below by this name).
    from api.schemas import write_body

    RebuttalBody = write_body(EventType.REBUTTAL_FILED)

URL_ENV: Final = "FACTLEDGER_BENCH_BARE_DATABASE_URL"
TOPIC: Final = get_topic(Claim.event_classes[EventType.REBUTTAL_FILED])
POOL_SIZE: Final = 16
SQLITE_TIMEOUT: Final = 10.0

_CREATE_POSTGRES = (
    "CREATE TABLE IF NOT EXISTS bench_events ("
    " claim_id uuid NOT NULL, version bigint NOT NULL, topic text NOT NULL,"
    " state bytea NOT NULL, position bigserial NOT NULL,"
    " PRIMARY KEY (claim_id, version))",
    "CREATE UNIQUE INDEX IF NOT EXISTS bench_events_position ON bench_events (position)",
)
_CREATE_SQLITE = (
    "CREATE TABLE IF NOT EXISTS bench_events ("
    " position INTEGER PRIMARY KEY AUTOINCREMENT,"
    " claim_id TEXT NOT NULL, version INTEGER NOT NULL, topic TEXT NOT NULL,"
    " state BLOB NOT NULL, UNIQUE (claim_id, version))",
)
_INSERT_POSTGRES = (
    "INSERT INTO bench_events (claim_id, version, topic, state)"
    " SELECT %s, coalesce(max(version), 0) + 1, %s, %s FROM bench_events WHERE claim_id = %s"
    " RETURNING position, version"
)
_INSERT_SQLITE = (
    "INSERT INTO bench_events (claim_id, version, topic, state)"
    " SELECT ?, coalesce(max(version), 0) + 1, ?, ? FROM bench_events WHERE claim_id = ?"
    " RETURNING position, version"
)
# The product's own query for a claim's rows (storage/*/queries.py).
_CLAIM_ROWS_POSTGRES = (
    "SELECT i.position, i.claim_id, i.version, e.topic, e.state, i.recorded_at_us,"
    " i.occurred_at_us FROM ledger_event_index i JOIN ledger_events e"
    " ON e.notification_id = i.position WHERE i.claim_id = %s AND i.version > %s"
    " ORDER BY i.version"
)
_CLAIM_ROWS_SQLITE = (
    "SELECT i.position, i.claim_id, i.version, e.topic, e.state, i.recorded_at_us,"
    " i.occurred_at_us FROM ledger_event_index i JOIN stored_events e"
    " ON e.notification_id = i.position WHERE i.claim_id = ? AND i.version > ?"
    " ORDER BY i.version"
)
ROW_COLUMNS: Final = (
    "position",
    "claim_id",
    "version",
    "topic",
    "state",
    "recorded_at_us",
    "occurred_at_us",
)
"""What each JSON array of `GET /claims/{claim_id}/rows` holds."""


class Store(Protocol):
    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def append(self, claim_id: UUID, state: bytes) -> tuple[int, int]:
        """Inserts the claim's next row; returns its position and version."""

    async def claim_rows(self, claim_id: UUID) -> list[Sequence[Any]]:
        """Every row of the claim, in version order."""


class PostgresStore:
    def __init__(self, url: str) -> None:
        self.pool: AsyncConnectionPool[psycopg.AsyncConnection[tuple[Any, ...]]] = (
            AsyncConnectionPool(
                url,
                min_size=POOL_SIZE,
                max_size=POOL_SIZE,
                kwargs={"autocommit": True},
                open=False,
            )
        )

    async def open(self) -> None:
        await self.pool.open(wait=True)

    async def close(self) -> None:
        await self.pool.close()

    async def append(self, claim_id: UUID, state: bytes) -> tuple[int, int]:
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                _INSERT_POSTGRES, (claim_id, TOPIC, state, claim_id), prepare=True
            )
            row = await cursor.fetchone()
        assert row is not None
        return int(row[0]), int(row[1])

    async def claim_rows(self, claim_id: UUID) -> list[Sequence[Any]]:
        async with self.pool.connection() as conn:
            cursor = conn.cursor(binary=True)  # bytea and numbers without text parsing
            await cursor.execute(_CLAIM_ROWS_POSTGRES, (claim_id, 0), prepare=True)
            return list(await cursor.fetchall())


class SQLiteStore:
    def __init__(self, path: str) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None
        self._writes = ThreadPoolExecutor(1, thread_name_prefix="bare writer")

    async def open(self) -> None:
        pass

    async def close(self) -> None:
        self._writes.shutdown(wait=True)
        if self._conn is not None:
            self._conn.close()

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = connect_sqlite(self.path)
        return self._conn

    async def append(self, claim_id: UUID, state: bytes) -> tuple[int, int]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._writes, self._insert, claim_id.hex, state)

    def _insert(self, claim_hex: str, state: bytes) -> tuple[int, int]:
        row = self._connection().execute(_INSERT_SQLITE, (claim_hex, TOPIC, state, claim_hex))
        position, version = row.fetchone()
        return int(position), int(version)

    async def claim_rows(self, claim_id: UUID) -> list[Sequence[Any]]:
        return self._connection().execute(_CLAIM_ROWS_SQLITE, (claim_id.hex, 0)).fetchall()


def connect_sqlite(path: str) -> sqlite3.Connection:
    """A connection as the product makes them (eventsourcing's SQLite datastore)."""
    conn = sqlite3.connect(
        path, isolation_level=None, check_same_thread=False, timeout=SQLITE_TIMEOUT
    )
    conn.execute("PRAGMA journal_mode=WAL")
    return conn


def store_for(url: str) -> Store:
    if url.startswith("sqlite:"):
        return SQLiteStore(sqlite_path(url))
    return PostgresStore(url)


def _rows_json(rows: list[Sequence[Any]]) -> bytes:
    """The rows as JSON arrays (`ROW_COLUMNS`), the state as text."""
    return orjson.dumps(
        [[r[0], str(r[1]), r[2], r[3], bytes(r[4]).decode(), r[5], r[6]] for r in rows]
    )


def create_app() -> FastAPI:
    store = store_for(os.environ[URL_ENV])

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await store.open()
        try:
            yield
        finally:
            await store.close()

    app = FastAPI(title="bare", lifespan=lifespan)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/claims/{claim_id}/rebuttals", status_code=201)
    async def file_rebuttal(claim_id: UUID, body: RebuttalBody) -> Response:
        state = body.model_dump_json(exclude_none=True).encode()
        position, version = await store.append(claim_id, state)
        answer = {"claim_id": str(claim_id), "version": version, "position": position}
        return Response(orjson.dumps(answer), status_code=201, media_type="application/json")

    @app.get("/claims/{claim_id}/rows")
    async def claim_rows(claim_id: UUID, answer: Literal["rows", "count"] = "rows") -> Response:
        rows = await store.claim_rows(claim_id)
        if answer == "count":
            # The SELECT and nothing else: no JSON of the rows to make.
            return Response(orjson.dumps({"rows": len(rows)}), media_type="application/json")
        return Response(_rows_json(rows), media_type="application/json")

    return app


# --- for the benchmarks ----------------------------------------------------------------


def create_table(url: str) -> None:
    """The bare append's table, made before the bare servers start."""
    if url.startswith("sqlite:"):
        conn = connect_sqlite(sqlite_path(url))
        try:
            for statement in _CREATE_SQLITE:
                conn.execute(statement)
        finally:
            conn.close()
        return
    with psycopg.connect(url, autocommit=True) as pg:
        for statement in _CREATE_POSTGRES:
            pg.execute(statement)


def rows_per_claim(url: str, claim_ids: Sequence[str]) -> int:
    """How many rows the bare table holds for these claims."""
    if url.startswith("sqlite:"):
        conn = connect_sqlite(sqlite_path(url))
        try:
            marks = ", ".join("?" * len(claim_ids))
            statement = f"SELECT count(*) FROM bench_events WHERE claim_id IN ({marks})"
            row = conn.execute(statement, [UUID(c).hex for c in claim_ids]).fetchone()
        finally:
            conn.close()
        return int(row[0])
    with psycopg.connect(url, autocommit=True) as pg:
        found = pg.execute(
            "SELECT count(*) FROM bench_events WHERE claim_id = ANY(%s)",
            ([UUID(c) for c in claim_ids],),
        ).fetchone()
    assert found is not None
    return int(found[0])


def bare_server(workspace: Workspace, database_url: str, *, workers: int = 1) -> Server:
    """This app as a server subprocess, as `factledger serve --workers N` would run."""
    port = free_port()
    command = [sys.executable, str(Path(__file__).resolve()), "--port", str(port)]
    command += ["--workers", str(workers)]
    return Server(workspace, "bare", command, {URL_ENV: database_url}, port)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="The bare baseline server.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    # As factledger.cli.serve runs the product.
    uvicorn.run(
        "bare:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level="info",
        app_dir=str(Path(__file__).resolve().parent),
    )


if __name__ == "__main__":
    main()
