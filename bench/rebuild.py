"""Rebuild of the read models: `factledger rebuild` against the raw database
reading the same events in the same order, measured side by side in the
same run.

    .venv/bin/python bench/rebuild.py --backend both            # full run
    .venv/bin/python bench/rebuild.py --backend sqlite --quick  # smoke

Stores: on PostgreSQL 100,000 and 1,000,000 events, on SQLite 100,000
(`--quick`: 20,000 on each), filled in-process through the product's write
path (`bench/fill.py`: a claim of 1,000 events among claims of about ten).
After one untimed raw read (the database's caches warm), rounds alternate
(rebuild, raw, rebuild, raw, ...):

- rebuild: `factledger rebuild` as a subprocess; its own report (events and
  seconds, as it prints them), its wall time, its peak resident memory and
  its CPU (the `wait4` rusage of the process and any children it waited for);
- raw, PostgreSQL: `COPY (SELECT <the event index joined to the events, up to
  the head, ORDER BY claim_id, version>) TO STDOUT (FORMAT binary)` through
  psycopg's `cursor.copy()`, every block read and discarded; rows/s;
- raw, SQLite: the same ordered SELECT through one cursor in one read
  transaction, 1,000 rows a fetch, each event's JSON parsed (`orjson.loads`);
  rows/s.

Goal: the rebuild's events/s at least 20 % of the raw rows/s (40 % the
stretch goal), the median of the rounds' ratios.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson
import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parent))

from command import parse_options, run_benchmark
from fill import fill
from harness import CpuMeter, Workspace, alternate, factledger_command, log, rss_mib, sqlite_path
from report import count, goal_met, median, out, print_table, rate, ratio

CLAIM_EVENTS = 1_000
GOAL = 0.2
STRETCH_GOAL = 0.4
MIB = 1024 * 1024


@dataclass(frozen=True)
class Plan:
    stores: dict[str, tuple[int, ...]]
    rounds: int


FULL = Plan(stores={"postgresql": (100_000, 1_000_000), "sqlite": (100_000,)}, rounds=3)
QUICK = Plan(stores={"postgresql": (20_000,), "sqlite": (20_000,)}, rounds=2)


# --- the rebuild ---------------------------------------------------------------------------

_REPORTED = re.compile(r"(\d+) claims from (\d+) events in ([\d.]+) s \(([\d,]+) events/s\)")


@dataclass
class Rebuilt:
    round: int
    wall_seconds: float
    events: int
    claims: int
    reported_seconds: float
    reported_rate: float
    """Events/s as the rebuild prints it (its own clock, from its own start)."""
    peak_rss_mib: float
    cpu_seconds: float
    machine_cores: float
    output: str

    @property
    def per_second(self) -> float:
        return self.reported_rate


def run_rebuild(workspace: Workspace, url: str, index: int) -> Rebuilt:
    """`factledger rebuild` as a subprocess, waited for with its rusage."""
    log(f"factledger rebuild, round {index + 1}")
    out_path = workspace.root / f"rebuild-{index}.out"
    err_path = workspace.root / f"rebuild-{index}.err"
    meter = CpuMeter()
    started = time.perf_counter()
    with out_path.open("wb") as stdout, err_path.open("wb") as stderr:
        process = subprocess.Popen(
            [factledger_command(), "rebuild"],
            env={**os.environ, "FACTLEDGER_DATABASE_URL": url},
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,
        )
    stop_now = workspace.cleanup.push(f"rebuild pid {process.pid}", lambda: _kill(process))
    status, usage = _wait(process)
    wall = time.perf_counter() - started
    machine = meter.stop().machine
    process.returncode = os.waitstatus_to_exitcode(status)
    stop_now()
    output = out_path.read_text(errors="replace").strip()
    if process.returncode != 0:
        tail = err_path.read_text(errors="replace")[-2000:]
        raise RuntimeError(f"factledger rebuild exited with {process.returncode}:\n{tail}")
    found = _REPORTED.search(output)
    if found is None:
        raise RuntimeError(f"factledger rebuild said something unexpected: {output!r}")
    claims, events, seconds, reported_rate = found.groups()
    return Rebuilt(
        round=index,
        wall_seconds=wall,
        events=int(events),
        claims=int(claims),
        reported_seconds=float(seconds),
        reported_rate=float(reported_rate.replace(",", "")),
        peak_rss_mib=usage.ru_maxrss / 1024,
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        machine_cores=machine,
        output=output,
    )


def _wait(process: subprocess.Popen[bytes]) -> tuple[int, Any]:
    """Waits for the process (logging its memory every minute); its exit status
    and its rusage (ru_maxrss: its peak resident set, KiB)."""
    last_log = time.perf_counter()
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid == process.pid:
            return status, usage
        if time.perf_counter() - last_log >= 60:
            last_log = time.perf_counter()
            log(f"still rebuilding; RSS {rss_mib(process.pid) or 0:.0f} MiB")
        time.sleep(0.05)


def _kill(process: subprocess.Popen[bytes]) -> None:
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(process.pid, 0)


# --- the raw database ---------------------------------------------------------------------

# The rebuild's own read (storage/*/queries.py `all_by_claim`).
_SELECT_POSTGRES = (
    "SELECT i.position, i.claim_id, i.version, e.topic, e.state, i.recorded_at_us,"
    " i.occurred_at_us FROM ledger_event_index i JOIN ledger_events e"
    " ON e.notification_id = i.position WHERE i.position <= {head}"
    " ORDER BY i.claim_id, i.version"
)
_SELECT_SQLITE = (
    "SELECT i.position, i.claim_id, i.version, e.topic, e.state, i.recorded_at_us,"
    " i.occurred_at_us FROM ledger_event_index i JOIN stored_events e"
    " ON e.notification_id = i.position WHERE i.position <= ?"
    " ORDER BY i.claim_id, i.version"
)


@dataclass
class RawRead:
    round: int
    seconds: float
    rows: int
    bytes_read: int
    machine_cores: float
    what: str = field(default="")

    @property
    def per_second(self) -> float:
        return ratio(self.rows, self.seconds)


def raw_read(url: str, head: Head, index: int) -> RawRead:
    log(f"raw read, round {index + 1}")
    meter = CpuMeter()
    began = time.perf_counter()
    if url.startswith("sqlite:"):
        rows, size = _sqlite_select(url, head.position)
        what = "ordered SELECT + orjson.loads of each state"
    else:
        rows, size = head.events, _postgres_copy(url, head.position)
        what = "ordered COPY (SELECT ...) TO STDOUT (FORMAT binary), read and discarded"
    seconds = time.perf_counter() - began
    if rows != head.events:
        raise RuntimeError(f"the raw read saw {rows} rows, not {head.events}")
    return RawRead(index, seconds, rows, size, meter.stop().machine, what)


def _postgres_copy(url: str, head: int) -> int:
    """Reads every block of the COPY; returns the bytes read."""
    statement = sql.SQL("COPY ({}) TO STDOUT (FORMAT binary)").format(
        sql.SQL(_SELECT_POSTGRES).format(head=sql.Literal(head))
    )
    size = 0
    with psycopg.connect(url) as conn, conn.cursor() as cursor, cursor.copy(statement) as copy:
        for block in copy:
            size += len(block)
    return size


def _sqlite_select(url: str, head: int) -> tuple[int, int]:
    """Reads and parses every row; returns the rows and the bytes of state."""
    rows = size = 0
    conn = sqlite3.connect(sqlite_path(url), isolation_level=None)
    try:
        conn.execute("BEGIN")
        cursor = conn.execute(_SELECT_SQLITE, (head,))
        while batch := cursor.fetchmany(1000):
            rows += len(batch)
            for row in batch:
                size += len(row[4])
                orjson.loads(row[4])
        conn.execute("COMMIT")
    finally:
        conn.close()
    return rows, size


@dataclass(frozen=True)
class Head:
    position: int
    events: int
    """Events at or before it."""


def head_of(url: str) -> Head:
    statement = "SELECT max(position), count(*) FROM ledger_event_index"
    if url.startswith("sqlite:"):
        conn = sqlite3.connect(sqlite_path(url))
        try:
            row = conn.execute(statement).fetchone()
        finally:
            conn.close()
    else:
        with psycopg.connect(url) as pg:
            row = pg.execute(statement).fetchone()
    assert row is not None
    return Head(int(row[0]), int(row[1]))


# --- one store --------------------------------------------------------------------------


def bench_store(
    workspace: Workspace, backend: str, events: int, rounds: int
) -> tuple[list[tuple[Rebuilt, RawRead]], float]:
    url, drop = workspace.new_database(backend, f"rebuild{count(events).lower()}")
    log(f"{backend}: filling a store of {events:,} events through the writer")
    filled = fill(url, CLAIM_EVENTS, events)
    log(f"{backend}: filled in {filled.seconds:.1f} s ({filled.events_per_second:,.0f} events/s)")
    head = head_of(url)
    raw_read(url, head, -1)  # untimed: the database's caches warm

    def rebuild_round(i: int) -> Rebuilt:
        return run_rebuild(workspace, url, i)

    def raw_round(i: int) -> RawRead:
        return raw_read(url, head, i)

    pairs = alternate(rounds, rebuild_round, raw_round)
    drop()
    return pairs, filled.seconds


def report_store(backend: str, events: int, pairs: list[tuple[Rebuilt, RawRead]]) -> float:
    rows: list[list[Any]] = []
    for rebuilt, raw in pairs:
        cores = rebuilt.cpu_seconds / rebuilt.wall_seconds
        rows.append(
            [
                rebuilt.round + 1,
                "rebuild",
                f"{rebuilt.reported_seconds:.1f} ({rebuilt.wall_seconds:.2f} wall)",
                f"{rate(rebuilt.per_second)} ({rate(rebuilt.events / rebuilt.wall_seconds)} wall)",
                f"{rebuilt.peak_rss_mib:.0f}",
                f"{cores:.2f} / {rebuilt.machine_cores:.2f}",
            ]
        )
        rows.append(
            [
                raw.round + 1,
                "raw",
                f"{raw.seconds:.2f}",
                rate(raw.per_second),
                "",
                f"- / {raw.machine_cores:.2f}",
            ]
        )
    print_table(
        f"#### {backend}, {count(events)} events: every round",
        ["round", "side", "seconds", "events (rows)/s", "peak RSS MiB", "CPU cores: it / machine"],
        rows,
    )
    ratios = [ratio(rebuilt.per_second, raw.per_second) for rebuilt, raw in pairs]
    result = median(ratios)
    stretch = goal_met(result, STRETCH_GOAL)
    print_table(
        f"#### {backend}, {count(events)} events: medians",
        [
            "rebuild events/s",
            "raw rows/s",
            "ratio per round",
            f"median ratio (goal >= {GOAL:.1f})",
            f"stretch goal {STRETCH_GOAL:.1f}",
            "peak RSS MiB (max)",
            "claims",
        ],
        [
            [
                rate(median([r.per_second for r, _ in pairs])),
                rate(median([raw.per_second for _, raw in pairs])),
                ", ".join(f"{x:.2f}" for x in ratios),
                f"{result:.2f} ({goal_met(result, GOAL)})",
                stretch,
                f"{max(r.peak_rss_mib for r, _ in pairs):.0f}",
                f"{pairs[0][0].claims:,}",
            ]
        ],
    )
    out(f"Raw read: {pairs[0][1].what}. The rebuild said: `{pairs[-1][0].output}`")
    out()
    return result


def bench_backend(
    workspace: Workspace, backend: str, plan: Plan, rounds: int, results: dict[str, Any]
) -> None:
    out(f"### Rebuild of the read models: {backend}")
    out()
    stores = []
    for events in plan.stores[backend]:
        pairs, fill_seconds = bench_store(workspace, backend, events, rounds)
        ratio_ = report_store(backend, events, pairs)
        stores.append(
            {
                "events": events,
                "fill_seconds": fill_seconds,
                "median_ratio": ratio_,
                "rounds": [{"rebuild": asdict(a), "raw": asdict(b)} for a, b in pairs],
            }
        )
    results["rounds"] = rounds
    results["stores"] = stores


def main(argv: list[str] | None = None) -> int:
    options = parse_options(__doc__ or "", argv)
    plan = QUICK if options.quick else FULL
    rounds = options.rounds or plan.rounds

    def body(workspace: Workspace, backend: str, results: dict[str, Any]) -> None:
        bench_backend(workspace, backend, plan, rounds, results)

    return run_benchmark("Rebuild of the read models against a raw read", options, body)


if __name__ == "__main__":
    sys.exit(main())
