"""The raw database, measured in the same run as the ledger: what the same
machine does with no ledger, no HTTP and no Python domain code in the way.

- Writes: single-row inserts, one transaction per row, by N threads, into a
  table shaped like the event store's (originator id, version, topic, state,
  a position), rows the size of the ledger's own stored events. SQLite: a
  WAL-mode file, `BEGIN IMMEDIATE` / INSERT / COMMIT, SQLite's default
  synchronous setting (as the ledger uses it); PostgreSQL: autocommit, one
  connection per thread, the server's default durability.
- Reads: the ledger's own query for one claim's events (the event index
  joined to the stored events), run straight on the database.
- Scans (the read-model benchmark): the whole event table, or the rebuild's
  ordered SELECT, read through one cursor a thousand rows at a time.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
import uuid
from typing import Any

import psycopg
from load import LoadResult

TOPIC = "ledger.claim:Claim.RebuttalFiled"


def _state(size: int) -> bytes:
    """A JSON-ish payload of about `size` bytes, different on every row."""
    text = os.urandom(size // 2).hex()
    return ('{"data":"' + text + '"}').encode()[:size]


def _run_threads(clients: int, duration: float, body: Any) -> LoadResult:
    """Runs `body(index, stop_at, latencies)` in threads; returns their merged counts."""
    result = LoadResult(clients=clients, seconds=0.0)
    lock = threading.Lock()
    started: list[float] = [0.0]

    def start_clock() -> None:
        started[0] = time.perf_counter()

    ready = threading.Barrier(clients + 1, action=start_clock)

    def worker(index: int) -> None:
        latencies: list[float] = []
        try:
            try:
                run = body(index)
            finally:
                ready.wait()
            run(started[0] + duration, latencies)
        except threading.BrokenBarrierError:
            pass
        except Exception as error:
            with lock:
                result.errors.append(f"thread {index}: {type(error).__name__}: {error}")
        finally:
            with lock:
                result.latencies.extend(latencies)
                result.statuses[201] += len(latencies)

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    try:
        ready.wait(timeout=60)
        for thread in threads:
            while thread.is_alive():
                thread.join(timeout=0.5)
        result.seconds = time.perf_counter() - started[0]
    finally:
        ready.abort()
    return result


# --- writes ------------------------------------------------------------------------


def sqlite_inserts(path: str, clients: int, duration: float, row_size: int) -> LoadResult:
    with sqlite3.connect(path, isolation_level=None) as setup:
        setup.execute("PRAGMA journal_mode=WAL")
        setup.execute(
            "CREATE TABLE IF NOT EXISTS raw_events ("
            " position INTEGER PRIMARY KEY AUTOINCREMENT,"
            " originator_id TEXT NOT NULL, originator_version INTEGER NOT NULL,"
            " topic TEXT NOT NULL, state BLOB NOT NULL,"
            " UNIQUE (originator_id, originator_version))"
        )
    setup.close()

    def body(index: int) -> Any:
        conn = sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=False)
        originator = uuid.uuid4().hex

        def run(stop_at: float, latencies: list[float]) -> None:
            version = 0
            try:
                while time.perf_counter() < stop_at:
                    version += 1
                    state = _state(row_size)
                    t0 = time.perf_counter()
                    conn.execute("BEGIN IMMEDIATE")
                    conn.execute(
                        "INSERT INTO raw_events (originator_id, originator_version, topic, state)"
                        " VALUES (?, ?, ?, ?)",
                        (originator, version, TOPIC, state),
                    )
                    conn.execute("COMMIT")
                    latencies.append(time.perf_counter() - t0)
            finally:
                conn.close()

        return run

    return _run_threads(clients, duration, body)


def postgres_inserts(url: str, clients: int, duration: float, row_size: int) -> LoadResult:
    with psycopg.connect(url, autocommit=True) as setup:
        setup.execute(
            "CREATE TABLE IF NOT EXISTS raw_events ("
            " originator_id uuid NOT NULL, originator_version bigint NOT NULL,"
            " topic text, state bytea, position bigserial,"
            " PRIMARY KEY (originator_id, originator_version))"
        )
        setup.execute(
            "CREATE UNIQUE INDEX IF NOT EXISTS raw_events_position ON raw_events (position)"
        )

    def body(index: int) -> Any:
        conn = psycopg.connect(url, autocommit=True)
        originator = uuid.uuid4()

        def run(stop_at: float, latencies: list[float]) -> None:
            version = 0
            try:
                while time.perf_counter() < stop_at:
                    version += 1
                    state = _state(row_size)
                    t0 = time.perf_counter()
                    conn.execute(
                        "INSERT INTO raw_events (originator_id, originator_version, topic, state)"
                        " VALUES (%s, %s, %s, %s)",
                        (originator, version, TOPIC, state),
                        prepare=True,
                    )
                    latencies.append(time.perf_counter() - t0)
            finally:
                conn.close()

        return run

    return _run_threads(clients, duration, body)


# --- reads -------------------------------------------------------------------------

SQLITE_CLAIM_ROWS = """
    SELECT i.position, i.claim_id, i.version, e.topic, e.state, i.recorded_at_us
    FROM ledger_event_index i JOIN stored_events e ON e.notification_id = i.position
    WHERE i.claim_id = ? AND i.recorded_at_us <= ? ORDER BY i.version"""
POSTGRES_CLAIM_ROWS = """
    SELECT i.position, i.claim_id, i.version, e.topic, e.state, i.recorded_at_us
    FROM ledger_event_index i JOIN ledger_events e ON e.notification_id = i.position
    WHERE i.claim_id = %s AND i.recorded_at_us <= %s ORDER BY i.version"""
FOREVER_US = 2**62


class ClaimReader:
    """The ledger's query for one claim's rows, run straight on the database over
    one connection kept open (as the server keeps its own)."""

    def __init__(self, backend: str, url: str) -> None:
        self.backend = backend
        if backend == "sqlite":
            self._sqlite = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        else:
            self._pg = psycopg.connect(url, autocommit=True)

    def select(self, claim_id: uuid.UUID) -> tuple[float, int]:
        """Fetches every row of the claim; returns the time it took and the row count."""
        t0 = time.perf_counter()
        if self.backend == "sqlite":
            rows = self._sqlite.execute(SQLITE_CLAIM_ROWS, (claim_id.hex, FOREVER_US)).fetchall()
        else:
            rows = self._pg.execute(
                POSTGRES_CLAIM_ROWS, (claim_id, FOREVER_US), prepare=True
            ).fetchall()
        return time.perf_counter() - t0, len(rows)

    def close(self) -> None:
        if self.backend == "sqlite":
            self._sqlite.close()
        else:
            self._pg.close()


def sqlite_plan(path: str, claim_id: uuid.UUID) -> str:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute(
            "EXPLAIN QUERY PLAN " + SQLITE_CLAIM_ROWS, (claim_id.hex, FOREVER_US)
        ).fetchall()
        return "; ".join(str(row[-1]) for row in rows)
    finally:
        conn.close()


def postgres_plan(url: str, claim_id: uuid.UUID) -> str:
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "EXPLAIN (COSTS OFF) " + POSTGRES_CLAIM_ROWS, (claim_id, FOREVER_US)
        ).fetchall()
    # The scans alone, without their conditions: which index each table is read by.
    lines = [" ".join(str(row[0]).split()).removeprefix("-> ") for row in rows]
    return "; ".join(line for line in lines if "Scan" in line)


# --- scans of the whole event table (the read-model benchmark) -----------------------

SQLITE_EVENTS_SCAN = (
    "SELECT notification_id, originator_id, originator_version, topic, state FROM stored_events"
)
POSTGRES_EVENTS_SCAN = (
    "SELECT notification_id, originator_id, originator_version, topic, state FROM ledger_events"
)
SQLITE_ALL_BY_CLAIM = """
    SELECT i.position, i.claim_id, i.version, e.topic, e.state, i.recorded_at_us
    FROM ledger_event_index i JOIN stored_events e ON e.notification_id = i.position
    WHERE i.position <= ? ORDER BY i.claim_id, i.version"""
POSTGRES_ALL_BY_CLAIM = """
    SELECT i.position, i.claim_id, i.version, e.topic, e.state, i.recorded_at_us
    FROM ledger_event_index i JOIN ledger_events e ON e.notification_id = i.position
    WHERE i.position <= %s ORDER BY i.claim_id, i.version"""


def scan(
    backend: str, url: str, statement: str, params: tuple[Any, ...] = (), *, decode: bool = False
) -> tuple[float, int, int]:
    """Reads every row of a statement, a thousand at a time (SQLite: `fetchmany` in one
    read transaction; PostgreSQL: a server-side cursor in one transaction, as the
    rebuild reads). With `decode`, also parses each row's state (column 4) as JSON.
    Returns the seconds it took, the rows and the bytes of state read."""
    rows = size = 0
    t0 = time.perf_counter()
    if backend == "sqlite":
        conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        try:
            conn.execute("BEGIN")
            cursor = conn.execute(statement, params)
            while batch := cursor.fetchmany(1000):
                rows += len(batch)
                for row in batch:
                    size += len(row[4])
                    if decode:
                        json.loads(row[4])
            conn.execute("COMMIT")
        finally:
            conn.close()
    else:
        with (
            psycopg.connect(url) as conn,
            conn.transaction(),
            conn.cursor(name="bench_scan") as cursor,
        ):
            cursor.itersize = 1000
            cursor.execute(statement, params)
            while batch := cursor.fetchmany(1000):
                rows += len(batch)
                for row in batch:
                    size += len(row[4])
                    if decode:
                        json.loads(row[4])
    return time.perf_counter() - t0, rows, size
