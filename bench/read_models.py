"""Factledger benchmark of the read models (`claims`, `verdict_changes`): rebuild
throughput and memory, `GET /claims` latency, and projector lag under load,
with the raw database measured in the same run.

    .venv/bin/python bench/read_models.py --backend both           # full run, ~30 min
    .venv/bin/python bench/read_models.py --backend both --quick   # smoke, ~3 min

What it measures (see docs/benchmarks.md, "Read models", for the reading):

1. Rebuild: a fresh store of N events (100,000 on each backend; `--quick`
   10,000), claims of about 4.6 events each (`corpus.RICH`), filled
   in-process through the ledger's store; then `factledger rebuild` as a
   subprocess: wall time, events/s, claims/s, its peak resident memory
   (`wait4` rusage of that child) and CPU. Beside it, in the same run, the
   raw database: the whole event table read through one cursor (a
   server-side cursor on PostgreSQL), once as rows, once parsing each
   state's JSON, and the rebuild's own ordered SELECT; the ratios
   rebuild/raw. On PostgreSQL also a store of 1,000,000 claims (about 1.2
   events each, `corpus.THIN`; `--quick` 20,000), rebuilt the same way.
2. `GET /claims` on each rebuilt store (the point of the exercise: the one of
   a million claims on PostgreSQL): no filter, `verdict=` its most and least
   common verdict, `q=` a common word, a middling one, two words and a rare
   one, and the third page (by cursor) of two of them: p50/p99 over 200
   requests each (fewer for a query slower than 20 s in all), one client,
   after 5 of warm-up; beside each, the same SELECT the read model runs,
   straight on the database over a kept-open connection, in turn with the
   HTTP requests. Twice, each time with a server of its own: on the tables as
   the rebuild left them, then after `ANALYZE` (SQLite) / `VACUUM ANALYZE`
   (PostgreSQL), which the product leaves to the database.
3. Projector lag: on the store of step 1, 4 HTTP clients appending back to
   back for 30 s (`--quick` 20 s: registrations, rebuttals, evidence,
   verifications), first on `serve --no-projector` (what writes cost without
   the projector), then on `serve` with its projector (which first catches
   up the events of the first run, timed); `/readyz` sampled every 0.2 s
   (lag in events); a probe that every 0.5 s appends one event and at once
   asks `GET /claims?min_position=<its position>&limit=1` (the time from the
   write's 201 to that answer), then the same GET without `min_position`;
   and the time the read models take to catch up once the load stops.

Figures are printed, never asserted; Markdown tables on standard output,
progress on standard error. Every database and server this run makes is
removed at the end, also on Ctrl-C or an error.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))

import raw
from corpus import RATING_WEIGHTS, RICH, THIN, Corpus, Mix, fill_claims, vocabulary
from harness import (
    DEFAULT_POSTGRES_ADMIN_URL,
    Cleanup,
    CpuMeter,
    Server,
    Workspace,
    create_key,
    factledger_command,
    install_signal_handlers,
    log,
    sqlite_path,
)
from load import Client, percentile, run_load
from run import machine_description, out, source_fingerprint, table

from projections.columns import CLAIM_COLUMNS


@dataclass(frozen=True)
class Plan:
    rebuild_events: int
    big_claims: int
    requests: int
    warmup: int
    lag_clients: int
    lag_seconds: float
    query_budget: float = 20.0
    """Seconds per query and phase, after which a slow query stops (at 10 samples or more)."""
    readyz_every: float = 0.2
    probe_every: float = 0.5
    catch_up_timeout: float = 180.0


FULL = Plan(
    rebuild_events=100_000,
    big_claims=1_000_000,
    requests=200,
    warmup=5,
    lag_clients=4,
    lag_seconds=30.0,
)
QUICK = Plan(
    rebuild_events=10_000,
    big_claims=20_000,
    requests=30,
    warmup=3,
    lag_clients=4,
    lag_seconds=20.0,
    query_budget=5.0,
)


def _n(n: int) -> str:
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 1000 and n % 1000 == 0:
        return f"{n // 1000}k"
    return f"{n:,}"


# --- filling -------------------------------------------------------------------------


@dataclass
class Store:
    backend: str
    label: str
    url: str
    mix: Mix
    events: int
    claims: int
    fill_seconds: float


def fill_store(
    workspace: Workspace,
    backend: str,
    label: str,
    *,
    events: int | None = None,
    claims: int | None = None,
    mix: Mix,
    open_claims: int,
) -> tuple[Store, Any]:
    url, drop = workspace.new_database(backend, label)
    target = f"{events:,} events" if events is not None else f"{claims:,} claims"
    log(f"{backend}: filling a store of {target} ({mix.name} mix, in-process)")
    shown = [0.0]
    started = time.monotonic()

    def progress(written: int, registered: int) -> None:
        if time.monotonic() - shown[0] >= 30:
            shown[0] = time.monotonic()
            elapsed = time.monotonic() - started
            log(
                f"{backend}: {written:,} events, {registered:,} claims in {elapsed:.0f} s "
                f"({written / max(elapsed, 1e-9):,.0f} events/s)"
            )

    shown[0] = time.monotonic()
    filled = fill_claims(
        url, events=events, claims=claims, mix=mix, open_claims=open_claims, progress=progress
    )
    log(
        f"{backend}: filled {filled.events:,} events, {filled.claims:,} claims "
        f"in {filled.seconds:.1f} s ({filled.events / filled.seconds:,.0f} events/s)"
    )
    return Store(backend, label, url, mix, filled.events, filled.claims, filled.seconds), drop


# --- the raw database: scans of the event table ----------------------------------------


def raw_scans(store: Store) -> dict[str, Any]:
    """The whole event table read three ways, straight on the database."""
    backend, url = store.backend, store.url
    events_scan = raw.SQLITE_EVENTS_SCAN if backend == "sqlite" else raw.POSTGRES_EVENTS_SCAN
    by_claim = raw.SQLITE_ALL_BY_CLAIM if backend == "sqlite" else raw.POSTGRES_ALL_BY_CLAIM
    results: dict[str, Any] = {}
    log(f"{backend}: raw scan of {store.events:,} events, untimed, to warm caches")
    raw.scan(backend, url, events_scan)
    for name, statement, params, decode in (
        ("scan", events_scan, (), False),
        ("scan_json", events_scan, (), True),
        ("rebuild_select", by_claim, (2**62,), False),
    ):
        log(f"{backend}: raw {name.replace('_', ' ')} of {store.events:,} events")
        seconds, rows, size = raw.scan(backend, url, statement, params, decode=decode)
        results[name] = {"seconds": seconds, "rows": rows, "state_bytes": size}
    return results


# --- rebuild -----------------------------------------------------------------------------

_REBUILT = re.compile(
    r"(\d+) claims from (\d+) events in ([\d.]+) s \(([\d,]+) events/s\); live at position (\d+)"
)


def _rss_mib(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def run_rebuild(workspace: Workspace, store: Store) -> dict[str, Any]:
    """`factledger rebuild` as a subprocess: wall time, its own report, peak RSS, CPU."""
    log(f"{store.backend}: factledger rebuild of {store.events:,} events")
    out_path = workspace.root / f"rebuild-{store.label}.out"
    err_path = workspace.root / f"rebuild-{store.label}.err"
    meter = CpuMeter(None)
    started = time.perf_counter()
    with out_path.open("wb") as stdout, err_path.open("wb") as stderr:
        process = subprocess.Popen(
            [factledger_command(), "rebuild"],
            env={**os.environ, "FACTLEDGER_DATABASE_URL": store.url},
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,
        )

    def kill() -> None:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(process.pid, 0)

    stop_now = workspace.cleanup.push(f"rebuild pid {process.pid}", kill)
    samples: list[tuple[float, float]] = []
    last_log = started
    while True:
        # wait4: this child's own rusage (ru_maxrss: its peak resident set, in KiB).
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid == process.pid:
            break
        now = time.perf_counter()
        rss = _rss_mib(process.pid)
        if rss is not None:
            samples.append((now - started, rss))
        if now - last_log >= 60:
            last_log = now
            log(f"{store.backend}: rebuilding for {now - started:.0f} s, RSS {rss or 0:.0f} MiB")
        time.sleep(0.2)
    wall = time.perf_counter() - started
    cpu = meter.stop()
    process.returncode = os.waitstatus_to_exitcode(status)
    stop_now()
    output = out_path.read_text(errors="replace")
    if process.returncode != 0:
        tail = err_path.read_text(errors="replace")[-2000:]
        raise RuntimeError(f"factledger rebuild exited with {process.returncode}:\n{tail}")
    found = _REBUILT.search(output)
    if found is None:
        raise RuntimeError(f"factledger rebuild said something unexpected: {output!r}")
    claims, events, seconds, _rate, position = found.groups()
    cpu_seconds = usage.ru_utime + usage.ru_stime
    result = {
        "wall_seconds": wall,
        "reported_seconds": float(seconds),
        "claims": int(claims),
        "events": int(events),
        "position": int(position),
        "peak_rss_mib": usage.ru_maxrss / 1024,
        "cpu_seconds": cpu_seconds,
        "cpu_cores": cpu_seconds / wall,
        "machine_cores": cpu.machine,
        "rss_samples": _thin_samples(samples),
        "output": output.strip(),
    }
    log(
        f"{store.backend}: rebuilt {events} events in {wall:.1f} s, "
        f"peak RSS {result['peak_rss_mib']:.0f} MiB"
    )
    return result


def _thin_samples(samples: list[tuple[float, float]], keep: int = 20) -> list[list[float]]:
    """About `keep` (seconds, MiB) samples spread over the run."""
    if len(samples) <= keep:
        return [[round(t, 1), round(m, 1)] for t, m in samples]
    step = len(samples) / keep
    picked = [samples[int(i * step)] for i in range(keep)] + [samples[-1]]
    return [[round(t, 1), round(m, 1)] for t, m in picked]


# --- GET /claims ------------------------------------------------------------------------


@dataclass
class ClaimsQuery:
    name: str
    verdict: str | None = None
    words: tuple[str, ...] = ()
    page: int = 1
    cursor: str | None = None
    before: int | None = None
    """The raw SELECT's `position <` bound for page > 1 (the last claim of the page before)."""
    matches: int = 0
    plan: str = ""

    def http_path(self) -> str:
        params: dict[str, str] = {}
        if self.verdict:
            params["verdict"] = self.verdict
        if self.words:
            params["q"] = " ".join(self.words)
        if self.cursor:
            params["cursor"] = self.cursor
        return "/claims" + ("?" + urlencode(params) if params else "")


class RawClaims:
    """The read model's own SELECT for `GET /claims` (projections.sqlite / .postgres),
    run straight on the database over one connection kept open.

    On SQLite the claims table has kept its words itself since commit 247d980;
    before that, the query joined the FTS table for them: the one that matches
    the schema is used."""

    def __init__(self, backend: str, url: str) -> None:
        self.backend = backend
        self.words_in_claims = False
        if backend == "sqlite":
            self._sqlite = sqlite3.connect(sqlite_path(url), isolation_level=None)
            columns = self._sqlite.execute("PRAGMA table_info(claims)").fetchall()
            self.words_in_claims = any(column[1] == "words" for column in columns)
        else:
            self._pg = psycopg.connect(url, autocommit=True)

    def statement(
        self, q: ClaimsQuery, *, count: bool = False, limit: int = 51
    ) -> tuple[str, tuple[Any, ...]]:
        sqlite = self.backend == "sqlite"
        mark = "?" if sqlite else "%s"
        conditions: list[str] = []
        params: list[Any] = []
        if q.verdict is not None:
            conditions.append(f"c.verdict = {mark}")
            params.append(q.verdict)
        if q.before is not None and not count:
            conditions.append(f"c.position < {mark}")
            params.append(q.before)
        if q.words:
            if sqlite:
                conditions.append(
                    "c.position IN (SELECT rowid FROM claims_search WHERE claims_search MATCH ?)"
                )
                params.append(" ".join(f'"{w}"' for w in q.words))
            else:
                conditions.append("c.search @@ %s::tsquery")
                params.append(" & ".join(f"'{w}'" for w in q.words))
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        if count:
            return f"SELECT count(*) FROM claims c{where}", tuple(params)
        columns = ", ".join(f"c.{column}" for column in CLAIM_COLUMNS)
        if sqlite and self.words_in_claims:
            select = f"SELECT {columns}, c.words FROM claims c{where}"
        elif sqlite:
            select = (
                f"SELECT {columns}, s.words AS words FROM claims c"
                f" JOIN claims_search s ON s.rowid = c.position{where}"
            )
        else:
            select = f"SELECT {columns}, tsvector_to_array(c.search) AS words FROM claims c{where}"
        return f"{select} ORDER BY c.position DESC LIMIT {mark}", (*params, limit)

    def execute(self, statement: str, params: tuple[Any, ...]) -> list[Any]:
        if self.backend == "sqlite":
            return self._sqlite.execute(statement, params).fetchall()
        return self._pg.execute(statement, params).fetchall()

    def select(self, q: ClaimsQuery) -> tuple[float, int]:
        statement, params = self.statement(q)
        t0 = time.perf_counter()
        rows = self.execute(statement, params)
        return time.perf_counter() - t0, len(rows)

    def count(self, q: ClaimsQuery) -> int:
        statement, params = self.statement(q, count=True)
        return int(self.execute(statement, params)[0][0])

    def plan(self, q: ClaimsQuery) -> str:
        statement, params = self.statement(q)
        if self.backend == "sqlite":
            rows = self.execute("EXPLAIN QUERY PLAN " + statement, params)
            return "; ".join(str(row[-1]) for row in rows)
        rows = self.execute("EXPLAIN (COSTS OFF) " + statement, params)
        nodes = []
        for row in rows:
            line = " ".join(str(row[0]).split()).removeprefix("-> ")
            if re.match(r"[A-Za-z ]+: ", line):
                continue  # a node's condition, not a node
            node = re.sub(r" (using|on) .*", "", line)
            nodes.append(node + _on(line))
        return " > ".join(nodes)

    def position_of(self, claim_id: str) -> int:
        mark = "?" if self.backend == "sqlite" else "%s"
        value: Any = claim_id.replace("-", "") if self.backend == "sqlite" else claim_id
        rows = self.execute(f"SELECT position FROM claims WHERE claim_id = {mark}", (value,))
        return int(rows[0][0])

    def verdict_counts(self) -> list[tuple[str, int]]:
        rows = self.execute(
            "SELECT verdict, count(*) FROM claims GROUP BY verdict ORDER BY count(*) DESC", ()
        )
        return [(str(v), int(n)) for v, n in rows]

    def table_stats(self) -> str:
        if self.backend == "sqlite":
            found = self.execute(
                "SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'", ()
            )[0][0] and self.execute("SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'claims'", ())
            return "planner statistics: " + (
                "sqlite_stat1 has rows for claims" if found and found[0][0] else "none"
            )
        row = self.execute(
            "SELECT c.reltuples::bigint, s.last_analyze, s.last_autoanalyze, s.n_mod_since_analyze,"
            " pg_relation_size(c.oid)"
            " FROM pg_class c JOIN pg_stat_user_tables s ON s.relid = c.oid"
            " WHERE c.relname = 'claims' AND s.schemaname = 'public'",
            (),
        )
        if not row:
            return "no statistics"
        tuples, analyzed, autoanalyzed, modified, size = row[0]
        when = autoanalyzed or analyzed
        return (
            f"planner statistics: reltuples {tuples:,}, last analyzed "
            f"{when.strftime('%H:%M:%S') if when else 'never'}, "
            f"{modified:,} rows changed since; table {size / 2**20:,.0f} MiB"
        )

    def close(self) -> None:
        if self.backend == "sqlite":
            self._sqlite.close()
        else:
            self._pg.close()


def _on(line: str) -> str:
    """' on <table>' / ' using <index>' of a plan line, without conditions."""
    found = re.search(r" using (\S+)", line) or re.search(r" on (\S+)", line)
    if found is None:
        return ""
    name = re.sub(r"_[0-9a-f]{8}$", "", found.group(1))  # the generation's token
    return f" ({name})"


def build_queries(store: Store, client: Client, rawq: RawClaims) -> list[ClaimsQuery]:
    counts = rawq.verdict_counts()
    common, rare = counts[0][0], counts[-1][0]
    words = vocabulary()
    queries = [
        ClaimsQuery("no filter"),
        ClaimsQuery(f"verdict={common} (most common)", verdict=common),
        ClaimsQuery(f"verdict={rare} (least common)", verdict=rare),
        ClaimsQuery(f"q={words[0]} (word rank 1)", words=(words[0],)),
        ClaimsQuery(f"q={words[99]} (rank 100)", words=(words[99],)),
        ClaimsQuery(f"q={words[9]} {words[49]} (ranks 10, 50)", words=(words[9], words[49])),
        ClaimsQuery(f"q={words[-1]} (rank {len(words)})", words=(words[-1],)),
        ClaimsQuery(f"verdict={common}, page 3", verdict=common, page=3),
        ClaimsQuery(f"q={words[0]}, page 3", words=(words[0],), page=3),
    ]
    for q in queries:
        q.matches = rawq.count(q)
        if q.page > 1:
            for _ in range(q.page - 1):
                page = client.json("GET", q.http_path())
                if not page["next_cursor"]:
                    break
                q.cursor = page["next_cursor"]
                q.before = rawq.position_of(page["items"][-1]["claim_id"])
        q.plan = rawq.plan(q)
    return queries


def _measure_queries(
    store: Store, plan: Plan, client: Client, rawq: RawClaims
) -> list[dict[str, Any]]:
    queries = build_queries(store, client, rawq)
    rows = []
    for q in queries:
        log(f"{store.backend} {_n(store.claims)} claims: GET {q.http_path()}")
        http_times: list[float] = []
        raw_times: list[float] = []
        items = raw_rows = size = 0
        began = time.perf_counter()
        for i in range(plan.warmup + plan.requests):
            t0 = time.perf_counter()
            status, body = client.request("GET", q.http_path())
            elapsed = time.perf_counter() - t0
            if status != 200:
                raise RuntimeError(f"GET {q.http_path()}: {status} {body[:300]!r}")
            raw_elapsed, raw_rows = rawq.select(q)
            if i >= plan.warmup:
                http_times.append(elapsed)
                raw_times.append(raw_elapsed)
            if i == 0:
                items = len(json.loads(body)["items"])
                size = len(body)
            if time.perf_counter() - began > plan.query_budget and len(http_times) >= 10:
                break  # a slow query: fewer samples rather than a run of hours
        http_times.sort()
        raw_times.sort()
        rows.append(
            {
                "query": q.name,
                "path": q.http_path(),
                "matches": q.matches,
                "items": items,
                "raw_rows": raw_rows,
                "answer_bytes": size,
                "n": len(http_times),
                "http_p50_ms": percentile(http_times, 0.5) * 1000,
                "http_p99_ms": percentile(http_times, 0.99) * 1000,
                "http_max_ms": http_times[-1] * 1000,
                "raw_p50_ms": percentile(raw_times, 0.5) * 1000,
                "raw_p99_ms": percentile(raw_times, 0.99) * 1000,
                "plan": q.plan,
            }
        )
    return rows


def bench_queries(workspace: Workspace, store: Store, plan: Plan) -> dict[str, Any]:
    """Each query over HTTP and raw, in turn, one client and one connection each: first
    on the tables as the rebuild left them, then after the maintenance the product
    leaves to the database (SQLite: `ANALYZE`; PostgreSQL: `VACUUM ANALYZE`, what
    autovacuum would do in its own time: planner statistics, and the GIN index's
    pending list merged). The rebuild itself does neither."""
    maintenance = "ANALYZE" if store.backend == "sqlite" else "VACUUM ANALYZE"
    phases = []
    for phase in ("as rebuilt", f"after {maintenance}"):
        if phase != "as rebuilt":
            log(f"{store.backend}: {maintenance} of the read-model tables")
            began = time.perf_counter()
            _maintain(store, maintenance)
            log(f"{store.backend}: {maintenance} took {time.perf_counter() - began:.1f} s")
        # A server of its own for each phase: a server's pooled connections keep
        # their prepared statements, and PostgreSQL its choice of plan for them.
        server = Server(workspace, store.url)
        client = Client(server.port)
        rawq = RawClaims(store.backend, store.url)
        try:
            stats = rawq.table_stats()
            rows = _measure_queries(store, plan, client, rawq)
        finally:
            rawq.close()
            client.close()
            server.stop()
        phases.append({"phase": phase, "statistics": stats, "queries": rows})
    return {"requests": plan.requests, "phases": phases}


def _maintain(store: Store, maintenance: str) -> None:
    tables = ("claims", "claim_tags", "verdict_changes")
    if store.backend == "sqlite":
        conn = sqlite3.connect(sqlite_path(store.url), isolation_level=None, timeout=30)
        try:
            for name in tables:
                conn.execute(f"{maintenance} {name}")
        finally:
            conn.close()
    else:
        with psycopg.connect(store.url, autocommit=True) as conn:
            for name in tables:
                conn.execute(f"{maintenance} {name}")


# --- projector lag under load -------------------------------------------------------------


@dataclass
class _Writer:
    corpus: Corpus
    claim: str = ""
    positions: list[int] = field(default_factory=list)


def _register_body(corpus: Corpus) -> dict[str, Any]:
    return {
        "text": corpus.sentence(8, 24),
        "claimant": {"name": corpus.rng.choice(corpus.claimants)},
        "tags": ["bench", "load"],
    }


def _write(client: Client, w: _Writer, i: int) -> int:
    """The i-th write of a client: a registration every fifth, else an event on its claim."""
    corpus = w.corpus
    step = i % 5
    if step == 4 or not w.claim:
        path, body = "/claims", _register_body(corpus)
    elif step in (0, 3):
        path = f"/claims/{w.claim}/rebuttals"
        body = {
            "party": {"name": corpus.rng.choice(corpus.claimants)},
            "statement": corpus.sentence(6, 20),
        }
    elif step == 1:
        path = f"/claims/{w.claim}/evidence"
        body = {
            "source": {"url": f"https://example.org/load/{corpus.rng.getrandbits(48):x}"},
            "excerpt": corpus.sentence(6, 20),
            "stance": corpus.rng.choice(("supports", "refutes", "context")),
        }
    else:
        rating = corpus.rng.choices(list(RATING_WEIGHTS), weights=list(RATING_WEIGHTS.values()))[0]
        path = f"/claims/{w.claim}/verifications"
        body = {
            "rating": rating.value,
            "rationale": corpus.sentence(8, 24),
            "sources": [{"url": f"https://example.org/load/{corpus.rng.getrandbits(48):x}"}],
        }
    status, answer = client.request("POST", path, body)
    if status == 201:
        envelope = json.loads(answer)
        w.positions.append(int(envelope["position"]))
        if path == "/claims":
            w.claim = str(envelope["claim_id"])
    return status


def _readyz(client: Client) -> tuple[int, int, int]:
    """(ledger head, read model position, lag in events) as /readyz says."""
    ready = client.json("GET", "/readyz")
    claims = ready["read_models"]["claims"]
    return int(ready["position"]), int(claims["position"]), int(claims["lag"])


def _wait_caught_up(
    port: int, since: float, timeout: float
) -> tuple[float | None, tuple[int, int, int]]:
    """Polls /readyz until the read models reach the ledger's head; returns the time
    from `since` (a perf_counter) until then (None after `timeout`) and the last answer."""
    checker = Client(port)
    final = (0, 0, 0)
    try:
        while time.perf_counter() - since < timeout:
            final = _readyz(checker)
            if final[1] >= final[0]:
                return time.perf_counter() - since, final
            time.sleep(0.05)
        return None, final
    finally:
        checker.close()


def _load_phase(
    workspace: Workspace, store: Store, plan: Plan, key: str, *, projector: bool
) -> dict[str, Any]:
    """One `serve` (with or without its projector) under the write load, with /readyz
    sampled throughout and, with the projector, the read-your-writes probe."""
    server = Server(workspace, store.url, extra_args=() if projector else ("--no-projector",))
    stop = threading.Event()
    samples: list[tuple[float, int, int, int]] = []
    probes: list[tuple[float, int, float]] = []
    errors: list[str] = []
    t_start = [time.perf_counter()]

    def sampler() -> None:
        client = Client(server.port)
        try:
            while not stop.is_set():
                t0 = time.perf_counter()
                head, position, lag = _readyz(client)
                samples.append((t0 - t_start[0], head, position, lag))
                stop.wait(max(0.0, plan.readyz_every - (time.perf_counter() - t0)))
        except Exception as error:
            errors.append(f"readyz sampler: {type(error).__name__}: {error}")
        finally:
            client.close()

    def prober() -> None:
        client = Client(server.port, key)
        w = _Writer(Corpus(RICH, seed=999))
        try:
            _write(client, w, 4)  # its claim
            while not stop.is_set():
                t0 = time.perf_counter()
                status = _write(client, w, 3)  # a rebuttal
                if status != 201:
                    probes.append((float("nan"), status, float("nan")))
                else:
                    waited, status = float("nan"), 0
                    if projector:
                        written = time.perf_counter()
                        path = f"/claims?min_position={w.positions[-1]}&limit=1"
                        status, _ = client.request("GET", path)
                        waited = time.perf_counter() - written
                    # The same read without waiting: what any read costs under this load.
                    t1 = time.perf_counter()
                    plain, _ = client.request("GET", "/claims?limit=1")
                    probes.append((waited, status or plain, time.perf_counter() - t1))
                stop.wait(max(0.0, plan.probe_every - (time.perf_counter() - t0)))
        except Exception as error:
            errors.append(f"probe: {type(error).__name__}: {error}")
        finally:
            client.close()

    try:
        initial = None
        if projector:
            # The store may be behind (the run without a projector): the projector
            # catches up first, unloaded, and that is timed too.
            begin = time.perf_counter()
            first = Client(server.port)
            head0, position0, _ = _readyz(first)
            first.close()
            took, _ = _wait_caught_up(server.port, begin, plan.catch_up_timeout)
            initial = {"events": head0 - position0, "seconds": took}
            if head0 > position0:
                log(
                    f"{store.backend}: projector caught up {head0 - position0:,} events in {took} s"
                )
        log(
            f"{store.backend}: {plan.lag_clients} clients appending for {plan.lag_seconds:.0f} s, "
            f"{'projector in the server' if projector else 'serve --no-projector'}"
        )
        writers: list[_Writer] = []

        def prepare(index: int, client: Client) -> _Writer:
            w = _Writer(Corpus(RICH, seed=1000 + index + (100 if projector else 0)))
            writers.append(w)
            _write(client, w, 4)
            return w

        def step(_index: int, client: Client, w: _Writer, i: int) -> int:
            return _write(client, w, i)

        threads = [threading.Thread(target=f, daemon=True) for f in (sampler, prober)]
        meter = CpuMeter(server.pid)
        t_start[0] = time.perf_counter()
        for thread in threads:
            thread.start()
        result = run_load(
            port=server.port,
            key=key,
            clients=plan.lag_clients,
            duration=plan.lag_seconds,
            prepare=prepare,
            step=step,
        )
        load_end = time.perf_counter()
        stop.set()
        cpu = meter.stop()
        caught_up, final = None, (0, 0, 0)
        if projector:
            # Catch-up: from the last write's answer until the read models reach the head.
            caught_up, final = _wait_caught_up(server.port, load_end, plan.catch_up_timeout)
        for thread in threads:
            thread.join(timeout=10)
        errors.extend(result.errors)
        lags = sorted(s[3] for s in samples)
        probe_ok = sorted(t for t, status, _ in probes if status == 200 and t == t)
        plain = sorted(t for _, _, t in probes if t == t)
        probe_statuses = Counter(status for _, status, _ in probes)
        return {
            "projector": projector,
            "clients": plan.lag_clients,
            "seconds": result.seconds,
            "writes": result.statuses.get(201, 0),
            "writes_per_s": result.statuses.get(201, 0) / result.seconds,
            "write_p50_ms": result.p(0.5) * 1000,
            "write_p99_ms": result.p(0.99) * 1000,
            "write_statuses": dict(result.statuses),
            "samples": len(samples),
            "lag_max": lags[-1] if lags else None,
            "lag_p50": percentile(lags, 0.5),
            "lag_p99": percentile(lags, 0.99),
            "lag_at_end": samples[-1][3] if samples else None,
            "lag_series": [
                [round(t, 1), lag] for t, _, _, lag in samples[:: max(1, len(samples) // 40)]
            ],
            "initial_catch_up": initial,
            "probes": len(probes),
            "probe_statuses": dict(probe_statuses),
            "read_your_write_p50_ms": percentile(probe_ok, 0.5) * 1000,
            "read_your_write_p99_ms": percentile(probe_ok, 0.99) * 1000,
            "read_your_write_max_ms": (probe_ok[-1] * 1000) if probe_ok else float("nan"),
            "plain_read_p50_ms": percentile(plain, 0.5) * 1000,
            "plain_read_p99_ms": percentile(plain, 0.99) * 1000,
            "catch_up_seconds": caught_up,
            "final": {"head": final[0], "read_models": final[1], "lag": final[2]},
            "cpu": {"server": cpu.server, "bench": cpu.client, "machine": cpu.machine},
            "errors": errors[:10],
            "server_log_tail": server.log_tail(10) if errors else "",
        }
    finally:
        stop.set()
        server.stop()


def bench_lag(workspace: Workspace, store: Store, plan: Plan) -> dict[str, Any]:
    """The same load twice: on `serve --no-projector` (what writes cost without a
    projector in the process), then on `serve` with its projector, which first
    catches up the events of the first run."""
    key = create_key(store.url)
    baseline = _load_phase(workspace, store, plan, key, projector=False)
    measured = _load_phase(workspace, store, plan, key, projector=True)
    return {**measured, "baseline": baseline}


# --- reports -------------------------------------------------------------------------------


def report_rebuilds(results: list[dict[str, Any]]) -> None:
    out("### Rebuild (`factledger rebuild`, a subprocess)")
    out()
    rows = []
    for r in results:
        store, rb, scans = r["store"], r["rebuild"], r["raw"]
        rows.append(
            [
                store["backend"],
                f"{store['events']:,}",
                f"{store['claims']:,}",
                f"{store['events'] / store['claims']:.2f}",
                f"{rb['wall_seconds']:.1f}",
                f"{rb['events'] / rb['wall_seconds']:,.0f}",
                f"{rb['claims'] / rb['wall_seconds']:,.0f}",
                f"{rb['peak_rss_mib']:.0f}",
                f"{rb['cpu_cores']:.2f} / {rb['machine_cores']:.2f}",
                f"{rb['wall_seconds'] / scans['scan']['seconds']:.0f}",
                f"{rb['wall_seconds'] / scans['scan_json']['seconds']:.0f}",
                f"{rb['wall_seconds'] / scans['rebuild_select']['seconds']:.0f}",
            ]
        )
    out(
        table(
            [
                "backend",
                "events",
                "claims",
                "events/claim",
                "rebuild s",
                "events/s",
                "claims/s",
                "peak RSS MiB",
                "CPU cores rebuild / machine",
                "÷ raw scan",
                "÷ scan+JSON",
                "÷ rebuild's SELECT",
            ],
            rows,
        )
    )
    out()
    out("Raw database, same run, same stores (read through one cursor, 1,000 rows a fetch):")
    out()
    rows = []
    for r in results:
        store, scans = r["store"], r["raw"]
        s, j, b = scans["scan"], scans["scan_json"], scans["rebuild_select"]
        rows.append(
            [
                store["backend"],
                f"{store['events']:,}",
                f"{s['state_bytes'] / 2**20:,.0f}",
                f"{s['seconds']:.2f}",
                f"{s['rows'] / s['seconds']:,.0f}",
                f"{j['seconds']:.2f}",
                f"{j['rows'] / j['seconds']:,.0f}",
                f"{b['seconds']:.2f}",
                f"{b['rows'] / b['seconds']:,.0f}",
                f"{store['fill_seconds']:.0f} ({store['events'] / store['fill_seconds']:,.0f}/s)",
            ]
        )
    out(
        table(
            [
                "backend",
                "events",
                "state MiB",
                "scan s",
                "rows/s",
                "scan+JSON s",
                "rows/s",
                "rebuild's SELECT s",
                "rows/s",
                "fill s (events/s)",
            ],
            rows,
        )
    )
    out()
    for r in results:
        rb = r["rebuild"]
        series = ", ".join(
            f"{t:.0f} s: {m:.0f}"
            for t, m in rb["rss_samples"][:: max(1, len(rb["rss_samples"]) // 6)]
        )
        out(
            f"- {r['store']['backend']}, {r['store']['events']:,} events: `{rb['output']}` "
            f"RSS (MiB) over the run: {series}."
        )
    out()


def report_queries(store: dict[str, Any], measured: dict[str, Any]) -> None:
    for phase in measured["phases"]:
        out(
            f"### GET /claims: {store['backend']}, {store['claims']:,} claims "
            f"({store['events']:,} events), {phase['phase']}"
        )
        out()
        out(f"- {phase['statistics']}")
        out()
        rows = [
            [
                q["query"],
                f"{q['matches']:,}",
                q["items"],
                q["n"],
                f"{q['http_p50_ms']:.1f}",
                f"{q['http_p99_ms']:.1f}",
                f"{q['raw_p50_ms']:.2f}",
                f"{q['raw_p99_ms']:.2f}",
                f"{q['http_p50_ms'] / q['raw_p50_ms']:.1f}",
                q["plan"],
            ]
            for q in phase["queries"]
        ]
        out(
            table(
                [
                    "GET /claims?",
                    "matches",
                    "items",
                    "n",
                    "p50 ms",
                    "p99 ms",
                    "raw p50 ms",
                    "raw p99 ms",
                    "HTTP/raw p50",
                    "plan of the raw SELECT",
                ],
                rows,
            )
        )
        out()


def report_lag(results: list[dict[str, Any]]) -> None:
    out("### Projector lag under sustained writes (`factledger serve`, projector inside)")
    out()
    rows = []
    for r in results:
        store, lag = r["store"], r["lag"]
        base = lag["baseline"]
        others = {
            k: v
            for phase in (base, lag)
            for k, v in phase["write_statuses"].items()
            if int(k) != 201
        }

        def cpu(phase: dict[str, Any]) -> str:
            return " / ".join(f"{phase['cpu'][k]:.2f}" for k in ("server", "bench", "machine"))

        rows.append(
            [
                store["backend"],
                f"{store['events']:,}",
                lag["clients"],
                f"{lag['seconds']:.0f}",
                f"{base['writes_per_s']:.0f} → {lag['writes_per_s']:.0f}",
                f"{lag['writes_per_s'] / base['writes_per_s']:.2f}",
                f"{base['write_p50_ms']:.1f} → {lag['write_p50_ms']:.1f}",
                f"{base['write_p99_ms']:.1f} → {lag['write_p99_ms']:.1f}",
                " ".join(f"{k}: {v}" for k, v in sorted(others.items())) or "none",
                f"{cpu(base)} → {cpu(lag)}",
            ]
        )
    out(
        table(
            [
                "backend",
                "store events",
                "clients",
                "s",
                "writes/s, no projector → projector",
                "ratio",
                "write p50 ms",
                "write p99 ms",
                "non-201",
                "CPU server / bench / machine",
            ],
            rows,
        )
    )
    out()
    rows = []
    for r in results:
        lag = r["lag"]
        probes = lag["probe_statuses"]
        caught = lag["catch_up_seconds"]
        initial = lag["initial_catch_up"] or {}
        start = "n/a"
        if initial.get("seconds"):
            start = (
                f"{initial['events']:,} in {initial['seconds']:.1f} s "
                f"({initial['events'] / initial['seconds']:,.0f}/s)"
            )
        rows.append(
            [
                r["store"]["backend"],
                start,
                lag["samples"],
                lag["lag_p50"],
                lag["lag_p99"],
                lag["lag_max"],
                f"{caught:.2f}" if caught is not None else "not in time",
                lag["probes"],
                f"{lag['read_your_write_p50_ms']:.0f} / {lag['read_your_write_p99_ms']:.0f}"
                f" / {lag['read_your_write_max_ms']:.0f}",
                f"{lag['plain_read_p50_ms']:.0f} / {lag['plain_read_p99_ms']:.0f}",
                " ".join(f"{k}: {v}" for k, v in sorted(probes.items())),
            ]
        )
    out(
        table(
            [
                "backend",
                "catch-up before the load",
                "/readyz samples",
                "lag p50",
                "lag p99",
                "lag max",
                "catch-up after the load, s",
                "probes",
                "201 → min_position read, p50 / p99 / max ms",
                "same GET without min_position, p50 / p99 ms",
                "probe reads",
            ],
            rows,
        )
    )
    out()
    for r in results:
        for phase in (r["lag"]["baseline"], r["lag"]):
            series = " ".join(str(v) for _, v in phase["lag_series"])
            what = "with its projector" if phase["projector"] else "--no-projector"
            out(f"- {r['store']['backend']}, {what}: lag (events) over the run: {series}")
            for error in phase["errors"]:
                out(f"  - error: {error}")
            if phase["server_log_tail"]:
                out(f"  - server log: {phase['server_log_tail']!r}")
    out()


def postgres_settings(url: str) -> str:
    names = ("shared_buffers", "work_mem", "autovacuum", "fsync", "synchronous_commit", "jit")
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT name, current_setting(name) FROM pg_settings WHERE name = ANY(%s)",
            (list(names),),
        ).fetchall()
    found = dict(rows)
    return ", ".join(f"{name} {found.get(name, '?')}" for name in names)


def report(results: dict[str, Any], *, quick: bool) -> None:
    out(f"## Factledger read-model benchmark ({'quick' if quick else 'full'} run)")
    out()
    for name, value in results.get("machine", {}).items():
        out(f"- {name}: {value}")
    out("- server: factledger serve --workers 1 (projector inside); client: this process")
    out()
    report_rebuilds(results["rebuilds"])
    for entry in results["queries"]:
        report_queries(entry["store"], entry)
    if results["lag"]:
        report_lag(results["lag"])


# --- main -----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--quick", action="store_true", help="small numbers: about 2 minutes")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("FACTLEDGER_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_ADMIN_URL),
        help="an existing database to connect to for CREATE/DROP DATABASE "
        "(default: $FACTLEDGER_BENCH_POSTGRES_URL or %(default)s)",
    )
    parser.add_argument(
        "--big-claims", type=int, help="claims in the big PostgreSQL store (default 1,000,000)"
    )
    parser.add_argument("--skip-big", action="store_true", help="no big PostgreSQL store")
    parser.add_argument("--skip-lag", action="store_true", help="no projector lag test")
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    args = parser.parse_args(argv)

    plan = QUICK if args.quick else FULL
    if args.big_claims:
        plan = Plan(**{**asdict(plan), "big_claims": args.big_claims})
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    install_signal_handlers()
    cleanup = Cleanup()
    started = time.monotonic()
    results: dict[str, Any] = {"plan": asdict(plan), "rebuilds": [], "queries": [], "lag": []}
    try:
        workspace = Workspace(cleanup, args.postgres_url)
        try:
            results["machine"] = machine_description(workspace, backends)
            if "postgresql" in backends:
                results["machine"]["postgresql settings"] = postgres_settings(args.postgres_url)
        except psycopg.Error as error:
            print(
                f"error: PostgreSQL is not reachable at {args.postgres_url}: {error}",
                file=sys.stderr,
            )
            return 2
        stores: list[tuple[str, dict[str, Any]]] = []
        for backend in backends:
            targets: list[tuple[str, dict[str, Any]]] = [
                ("rebuild", {"events": plan.rebuild_events, "mix": RICH, "open_claims": 500})
            ]
            if backend == "postgresql" and not args.skip_big:
                targets.append(
                    ("big", {"claims": plan.big_claims, "mix": THIN, "open_claims": 2000})
                )
            for label, size in targets:
                store, drop = fill_store(workspace, backend, label, **size)
                try:
                    scans = raw_scans(store)
                    rebuilt = run_rebuild(workspace, store)
                    record = {"store": {**asdict(store), "mix": store.mix.name}}
                    results["rebuilds"].append({**record, "raw": scans, "rebuild": rebuilt})
                    queries = bench_queries(workspace, store, plan)
                    results["queries"].append({**record, **queries})
                    if label == "rebuild" and not args.skip_lag:
                        lag = bench_lag(workspace, store, plan)
                        results["lag"].append({**record, "lag": lag})
                        log(
                            f"{backend}: lag max {lag['lag_max']}, catch-up "
                            f"{lag['catch_up_seconds']} s"
                        )
                    stores.append((backend, record))
                finally:
                    drop()

        results["seconds"] = time.monotonic() - started
        report(results, quick=args.quick)
        fingerprint = source_fingerprint()
        results["source_at_end"] = fingerprint
        if not results["machine"]["factledger"].endswith(fingerprint):
            out(
                f"WARNING: the product's source changed during the run (now {fingerprint}): "
                "the figures above mix versions; run again."
            )
            out()
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
        out(f"Total time: {results['seconds']:.0f} s; load average after the run: {load}")
        if args.json:
            args.json.write_text(json.dumps(results, indent=2, default=str))
        return 0
    except BaseException as error:
        # Whatever was measured before the failure is still worth printing.
        if results.get("rebuilds"):
            out("INCOMPLETE RUN: the figures below are those measured before it stopped.")
            out()
            results["seconds"] = time.monotonic() - started
            with contextlib.suppress(Exception):
                report(results, quick=args.quick)
        if isinstance(error, KeyboardInterrupt):
            print("interrupted; cleaning up", file=sys.stderr)
            return 130
        raise
    finally:
        cleanup.run_all()


if __name__ == "__main__":
    sys.exit(main())
