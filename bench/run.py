"""Factledger benchmark: appends and point-in-time reads over HTTP against a
real `factledger serve`, with the raw database measured in the same run.

    .venv/bin/python bench/run.py --backend both           # full run, ~8 min
    .venv/bin/python bench/run.py --backend sqlite --quick # smoke, ~40 s

What it measures (see docs/benchmarks.md for the reading of the figures):

1. Appends: N concurrent HTTP clients POST rebuttals, each on its own claim,
   then all on one claim (the server retries version conflicts itself);
   events/s, p50/p99 latency, answers by status; beside them, single-row
   inserts straight into the same kind of database by N threads, and the
   ratio ledger/raw.
2. Point-in-time reads of a claim with 1,000 events in a store of 1,000
   events and in one of 100,000: the state now, `as_of` a mid recorded_at,
   `valid_at` a mid world time, and the timeline; p50/p99, warm, and cold
   (the first read after a restart); beside them the claim's rows SELECTed
   straight from the database; and appends to that long claim against
   appends to a new one.

Figures are printed, never asserted. Every database and server this run
makes is removed at the end, also on Ctrl-C or an error.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))

import raw
from fill import Filled, fill
from harness import (
    DEFAULT_POSTGRES_ADMIN_URL,
    Cleanup,
    CpuMeter,
    CpuUse,
    Server,
    Workspace,
    create_key,
    install_signal_handlers,
    log,
    sqlite_path,
)
from load import Client, LoadResult, percentile, run_load

STATEMENT = (
    "The night in Soledar was hot, battles continued; the town was not taken "
    "on the evening of 12 January."
)


@dataclass(frozen=True)
class Plan:
    clients: tuple[int, ...]
    append_seconds: float
    raw_seconds: float
    claim_events: int
    small_store: int
    large_store: int
    read_requests: int
    warmup_requests: int
    events_per_own_claim: int = 100
    cold_reads: int = 10
    size_probe_appends: int = 50


FULL = Plan(
    clients=(1, 4, 16),
    append_seconds=10.0,
    raw_seconds=5.0,
    claim_events=1_000,
    small_store=1_000,
    large_store=100_000,
    read_requests=200,
    warmup_requests=100,
)
QUICK = Plan(
    clients=(1, 4, 16),
    append_seconds=1.5,
    raw_seconds=1.0,
    claim_events=200,
    small_store=200,
    large_store=10_000,
    read_requests=30,
    warmup_requests=20,
    size_probe_appends=10,
    cold_reads=2,
)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def table(headers: list[str], rows: list[list[Any]]) -> str:
    """A Markdown pipe table, aligned for the terminal too."""
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: list[str]) -> str:
        return "| " + " | ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 1) + ":" for w in widths) + "|"
    return "\n".join([line(cells[0]), rule, *(line(r) for r in cells[1:])])


def out(text: str = "") -> None:
    print(text, flush=True)


# --- appends --------------------------------------------------------------------------


def _rebuttal(index: int) -> dict[str, Any]:
    return {"party": {"name": f"Bench Party {index}"}, "statement": STATEMENT}


def _register(client: Client, label: str) -> str:
    body = {"text": f"Soledar was taken ({label}).", "claimant": {"name": "Bench Claimant"}}
    created = client.json("POST", "/claims", body, expect=201)
    return str(created["claim_id"])


def _post_rebuttal(index: int, client: Client, claim_id: Any, _i: int) -> int:
    status, _ = client.request("POST", f"/claims/{claim_id}/rebuttals", _rebuttal(index))
    return status


class OwnClaims:
    """Each client appends to a claim of its own, and moves to a new one of its own
    every `per_claim` rebuttals (untimed), so that claims stay the same size
    however long the run: the cost of an append grows with its claim's size."""

    def __init__(self, per_claim: int) -> None:
        self.per_claim = per_claim
        self.claims: list[str] = []  # list.append is atomic: the threads share it

    def _new(self, index: int, client: Client) -> str:
        claim_id = _register(client, f"client {index}")
        self.claims.append(claim_id)
        return claim_id

    def prepare(self, index: int, client: Client) -> str:
        return self._new(index, client)

    def between(self, index: int, client: Client, claim_id: str, i: int) -> str:
        if i > 0 and i % self.per_claim == 0:
            return self._new(index, client)
        return claim_id


def _claim_version(port: int, claim_id: str) -> int:
    client = Client(port)
    try:
        return int(client.json("GET", f"/claims/{claim_id}")["version"])
    finally:
        client.close()


@dataclass
class AppendCase:
    case: str
    result: LoadResult
    cpu: CpuUse
    appended: int
    """Rebuttals the ledger holds on the case's claims afterwards (should equal the 201s)."""
    claims: int


def bench_appends(
    workspace: Workspace, backend: str, plan: Plan, workers: int
) -> tuple[list[AppendCase], int]:
    """The append cases on one server; returns them and the stored events' mean size."""
    url, drop = workspace.new_database(backend, "appends")
    key = create_key(url)
    server = Server(workspace, url, workers=workers)
    cases: list[AppendCase] = []
    try:
        log(f"{backend}: appends, warming up")
        warm = run_load(
            port=server.port,
            key=key,
            clients=1,
            duration=30,
            prepare=lambda _i, c: _register(c, "warm-up"),
            step=_post_rebuttal,
            max_requests=plan.warmup_requests,
        )
        if warm.errors or warm.statuses.get(201, 0) != warm.ok:
            raise RuntimeError(f"warm-up failed: {warm.statuses} {warm.errors}")
        for clients in plan.clients:
            for case in ("own claim", "one claim"):
                if case == "one claim" and clients == 1:
                    continue  # one client on one claim is the case above
                log(f"{backend}: appends, {clients} client(s), {case}")
                if case == "one claim":
                    setup = Client(server.port, key)
                    shared = _register(setup, "contended")
                    setup.close()
                    claims: list[str] = [shared]
                    meter = CpuMeter(server.pid)
                    result = run_load(
                        port=server.port,
                        key=key,
                        clients=clients,
                        duration=plan.append_seconds,
                        prepare=lambda _i, _c, shared=shared: shared,
                        step=_post_rebuttal,
                    )
                else:
                    own = OwnClaims(plan.events_per_own_claim)
                    claims = own.claims
                    meter = CpuMeter(server.pid)
                    result = run_load(
                        port=server.port,
                        key=key,
                        clients=clients,
                        duration=plan.append_seconds,
                        prepare=own.prepare,
                        step=_post_rebuttal,
                        between=own.between,
                    )
                cpu = meter.stop()
                appended = sum(_claim_version(server.port, c) - 1 for c in claims)
                cases.append(AppendCase(case, result, cpu, appended, len(claims)))
                for error in result.errors[:3]:
                    log(f"error: {error}")
        row_size = _mean_event_size(backend, url)
    finally:
        server.stop()
        drop()
    return cases, row_size


def _mean_event_size(backend: str, url: str) -> int:
    """The mean size of the stored state of the rebuttals just appended."""
    if backend == "sqlite":
        conn = sqlite3.connect(sqlite_path(url))
        try:
            row = conn.execute(
                "SELECT avg(length(state)) FROM stored_events WHERE topic LIKE '%RebuttalFiled'"
            ).fetchone()
        finally:
            conn.close()
    else:
        with psycopg.connect(url) as pg:
            row = pg.execute(
                "SELECT avg(octet_length(state)) FROM ledger_events "
                "WHERE topic LIKE '%RebuttalFiled'"
            ).fetchone()
    return round(float(row[0])) if row and row[0] is not None else 400


def bench_raw_inserts(
    workspace: Workspace, backend: str, plan: Plan, row_size: int
) -> dict[int, LoadResult]:
    url, drop = workspace.new_database(backend, "raw")
    results = {}
    try:
        for clients in plan.clients:
            log(f"{backend}: raw inserts, {clients} thread(s)")
            if backend == "sqlite":
                result = raw.sqlite_inserts(sqlite_path(url), clients, plan.raw_seconds, row_size)
            else:
                result = raw.postgres_inserts(url, clients, plan.raw_seconds, row_size)
            for error in result.errors[:3]:
                log(f"error: {error}")
            results[clients] = result
    finally:
        drop()
    return results


def report_appends(
    backend: str, cases: list[AppendCase], raws: dict[int, LoadResult], row_size: int
) -> list[dict[str, Any]]:
    rows, records = [], []
    for c in cases:
        r = c.result
        baseline = raws[r.clients]
        other = (
            " ".join(
                f"{status}: {n}"
                for status, n in sorted(r.statuses.items())
                if status not in (201, 503)
            )
            or "0"
        )
        ratio = r.per_second / baseline.per_second if baseline.per_second else float("nan")
        rows.append(
            [
                c.case,
                r.clients,
                f"{r.per_second:.0f}",
                ms(r.p(0.5)),
                ms(r.p(0.99)),
                r.statuses.get(201, 0),
                r.statuses.get(503, 0),
                other,
                "yes" if c.appended == r.statuses.get(201, 0) else f"NO ({c.appended})",
                c.appended // c.claims + 1,
                f"{baseline.per_second:.0f}",
                f"{ratio:.3f}",
                f"{c.cpu.server:.2f} / {c.cpu.client:.2f} / {c.cpu.machine:.2f}",
            ]
        )
        records.append(
            {
                "backend": backend,
                "case": c.case,
                "clients": r.clients,
                "seconds": r.seconds,
                "events_per_s": r.per_second,
                "p50_ms": r.p(0.5) * 1000,
                "p99_ms": r.p(0.99) * 1000,
                "statuses": dict(r.statuses),
                "appended": c.appended,
                "claims": c.claims,
                "errors": r.errors,
                "raw_rows_per_s": baseline.per_second,
                "ratio_ledger_raw": ratio,
                "cpu_cores": {
                    "server": c.cpu.server,
                    "bench": c.cpu.client,
                    "machine": c.cpu.machine,
                },
            }
        )
    out(f"### Appends over HTTP: {backend}")
    out()
    out(
        table(
            [
                "case",
                "clients",
                "events/s",
                "p50 ms",
                "p99 ms",
                "201",
                "503",
                "other",
                "all kept",
                "events/claim",
                "raw rows/s",
                "ledger/raw",
                "CPU server/bench/machine",
            ],
            rows,
        )
    )
    out()
    raw_rows = [
        [n, f"{r.per_second:.0f}", ms(r.p(0.5)), ms(r.p(0.99)), r.statuses.get(201, 0)]
        for n, r in sorted(raws.items())
    ]
    out(f"Raw {backend} baseline: single-row inserts, one transaction each, {row_size}-byte rows")
    out()
    out(table(["threads", "rows/s", "p50 ms", "p99 ms", "rows"], raw_rows))
    out()
    return records


# --- reads ---------------------------------------------------------------------------


@dataclass
class ReadStore:
    """A filled store, its server, and what to ask it."""

    url: str
    filled: Filled
    server: Server
    client: Client
    raw: raw.ClaimReader
    key: str
    primer: str = ""
    """A small claim of its own, read after a restart to warm everything but the big claim."""

    def paths(self) -> dict[str, str]:
        claim = f"/claims/{self.filled.claim_id}"
        return {
            "current": claim,
            "as_of (mid recorded_at)": f"{claim}?as_of={quote(self.filled.mid_as_of)}",
            "valid_at (mid world time)": f"{claim}?valid_at={quote(self.filled.mid_valid_at)}",
            "timeline": f"{claim}/timeline",
        }


def _fill_store(
    workspace: Workspace, backend: str, plan: Plan, events: int
) -> tuple[str, Callable[[], None], Filled]:
    url, drop = workspace.new_database(backend, f"reads{events}")
    log(f"{backend}: filling a store of {events:,} events")
    shown = [0]

    def progress(written: int) -> None:
        if written * 10 // events > shown[0]:
            shown[0] = written * 10 // events
            log(f"{backend}: {written:,} / {events:,} events")

    filled = fill(url, plan.claim_events, events, progress=progress)
    log(f"{backend}: filled {filled.total_events:,} events in {filled.seconds:.1f} s")
    return url, drop, filled


def bench_reads(
    workspace: Workspace, backend: str, plan: Plan, workers: int
) -> dict[str, dict[str, Any]]:
    """Both stores served at once, and every request sent to each in turn, so that
    whatever else the machine does over the run weighs on both stores alike."""
    stores: dict[str, ReadStore] = {}
    drops: list[Callable[[], None]] = []
    try:
        for label, events in (("small", plan.small_store), ("large", plan.large_store)):
            url, drop, filled = _fill_store(workspace, backend, plan, events)
            drops.append(drop)
            key = create_key(url)
            server = Server(workspace, url, workers=workers)
            reader = raw.ClaimReader(backend, url)
            store = ReadStore(url, filled, server, Client(server.port, key), reader, key)
            store.primer = _register(store.client, "primer")
            stores[label] = store
        measured: dict[str, dict[str, Any]] = {label: {} for label in stores}
        names = list(stores["small"].paths())
        for name in names:
            log(f"{backend}: GET {name}, {plan.read_requests} times on each store, in turn")
            latencies: dict[str, list[float]] = {label: [] for label in stores}
            sizes = {}
            for i in range(5 + plan.read_requests):  # the first five warm up
                for label, store in stores.items():
                    path = store.paths()[name]
                    t0 = time.perf_counter()
                    status, body = store.client.request("GET", path)
                    elapsed = time.perf_counter() - t0
                    if status != 200:
                        raise RuntimeError(f"GET {path}: {status} {body[:200]!r}")
                    if i >= 5:
                        latencies[label].append(elapsed)
                    sizes[label] = len(body)
            for label in stores:
                ordered = sorted(latencies[label])
                measured[label][name] = {
                    "p50_ms": percentile(ordered, 0.5) * 1000,
                    "p99_ms": percentile(ordered, 0.99) * 1000,
                    "bytes": sizes[label],
                }
        log(f"{backend}: raw SELECT of the claim's rows, on each store in turn")
        raw_latencies: dict[str, list[float]] = {label: [] for label in stores}
        raw_rows: dict[str, int] = {}
        for i in range(5 + plan.read_requests):
            for label, store in stores.items():
                elapsed, raw_rows[label] = store.raw.select(store.filled.claim_id)
                if i >= 5:
                    raw_latencies[label].append(elapsed)
        # Cold reads: the server restarted, then warmed on another claim, so that
        # nothing of the big claim is in its memory (it keeps decoded events).
        cold: dict[str, list[float]] = {label: [] for label in stores}
        for _ in range(plan.cold_reads):
            for label, store in stores.items():
                log(f"{backend}: {label} store, restart, first GET current")
                store.client.close()
                store.server.stop()
                store.server = Server(workspace, store.url, workers=workers)
                store.client = Client(store.server.port, store.key)
                for _ in range(3):
                    store.client.json("GET", f"/claims/{store.primer}")
                t0 = time.perf_counter()
                store.client.json("GET", store.paths()["current"])
                cold[label].append(time.perf_counter() - t0)
        # Appends to the big claim, and to a new one: one client, one at a time.
        appends: dict[str, dict[str, float]] = {label: {} for label in stores}
        for label, store in stores.items():
            fresh = _register(store.client, "small")
            targets = (("new claim", fresh), ("this claim", str(store.filled.claim_id)))
            for what, claim_id in targets:
                log(f"{backend}: {label} store, POST rebuttals to {what}")
                timings = []
                for i in range(plan.size_probe_appends):
                    t0 = time.perf_counter()
                    status = _post_rebuttal(0, store.client, claim_id, i)
                    timings.append(time.perf_counter() - t0)
                    if status != 201:
                        raise RuntimeError(f"POST a rebuttal to {what}: {status}")
                appends[label][what] = percentile(sorted(timings), 0.5) * 1000
        results = {}
        for label, store in stores.items():
            ordered = sorted(raw_latencies[label])
            if backend == "sqlite":
                query_plan = raw.sqlite_plan(sqlite_path(store.url), store.filled.claim_id)
            else:
                query_plan = raw.postgres_plan(store.url, store.filled.claim_id)
            results[label] = {
                "store_events": store.filled.total_events,
                "claim_events": store.filled.claim_events,
                "fill_seconds": store.filled.seconds,
                "as_of": store.filled.mid_as_of,
                "valid_at": store.filled.mid_valid_at,
                "requests": plan.read_requests,
                "http": measured[label],
                "raw": {
                    "rows": raw_rows[label],
                    "p50_ms": percentile(ordered, 0.5) * 1000,
                    "p99_ms": percentile(ordered, 0.99) * 1000,
                },
                "plan": query_plan,
                "append_p50_ms": appends[label],
                "cold_current": {
                    "reads": len(cold[label]),
                    "p50_ms": percentile(sorted(cold[label]), 0.5) * 1000,
                    "max_ms": max(cold[label], default=float("nan")) * 1000,
                },
            }
        return results
    finally:
        for store in stores.values():
            store.client.close()
            store.raw.close()
            store.server.stop()
        for drop in drops:
            drop()


def report_reads(backend: str, small: dict[str, Any], large: dict[str, Any]) -> None:
    out(f"### Point-in-time reads: {backend}")
    out()
    for store in (small, large):
        out(
            f"- store of {store['store_events']:,} events: filled in {store['fill_seconds']:.1f} s"
            f" ({store['store_events'] / store['fill_seconds']:,.0f} events/s, in-process);"
            f" plan: {store['plan']}"
        )
    out()
    rows = []
    s, big = small, large
    for name in s["http"]:
        a, b = s["http"][name], big["http"][name]
        rows.append(
            [
                name,
                ms(a["p50_ms"] / 1000),
                ms(a["p99_ms"] / 1000),
                ms(b["p50_ms"] / 1000),
                ms(b["p99_ms"] / 1000),
                f"{b['p50_ms'] / a['p50_ms']:.2f}",
                f"{a['bytes']:,}",
                f"{b['p50_ms'] / big['raw']['p50_ms']:.0f}",
            ]
        )
    a, b = s["cold_current"], big["cold_current"]
    rows.append(
        [
            f"current, cold: after a restart (n={a['reads']}, max)",
            ms(a["p50_ms"] / 1000),
            ms(a["max_ms"] / 1000),
            ms(b["p50_ms"] / 1000),
            ms(b["max_ms"] / 1000),
            f"{b['p50_ms'] / a['p50_ms']:.2f}",
            "",
            f"{b['p50_ms'] / big['raw']['p50_ms']:.0f}",
        ]
    )
    rows.append(
        [
            f"raw SELECT ({s['raw']['rows']} rows)",
            ms(s["raw"]["p50_ms"] / 1000),
            ms(s["raw"]["p99_ms"] / 1000),
            ms(big["raw"]["p50_ms"] / 1000),
            ms(big["raw"]["p99_ms"] / 1000),
            f"{big['raw']['p50_ms'] / s['raw']['p50_ms']:.2f}",
            "",
            "1",
        ]
    )
    small_k, large_k = _k(s["store_events"]), _k(big["store_events"])
    probe = [
        f"{store['append_p50_ms']['this claim']:.1f} ms @{_k(store['store_events'])}"
        for store in (s, big)
    ]
    fresh = [f"{store['append_p50_ms']['new claim']:.1f} ms" for store in (s, big)]

    out(
        table(
            [
                f"GET, claim of {s['claim_events']} events",
                f"p50 ms @{small_k}",
                f"p99 ms @{small_k}",
                f"p50 ms @{large_k}",
                f"p99 ms @{large_k}",
                f"p50 {large_k}/{small_k}",
                "answer bytes",
                f"ledger/raw p50 @{large_k}",
            ],
            rows,
        )
    )
    out()
    out(
        f"POST a rebuttal, one client, p50: to this claim of {s['claim_events']} events "
        f"{', '.join(probe)}; to a new claim {', '.join(fresh)}."
    )
    out()


def _k(n: int) -> str:
    return f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else str(n)


# --- main -----------------------------------------------------------------------------


def machine_description(workspace: Workspace, backends: list[str]) -> dict[str, str]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    described = {
        "factledger": f"{_commit()}, source {source_fingerprint()}",
        "cpus (nproc)": str(len(os.sched_getaffinity(0))),
        "cpu model": model,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
        "load average before the run": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }
    if "postgresql" in backends:
        described["postgresql"] = workspace.check_postgres()
    return described


PRODUCT_PACKAGES = ("api", "factledger", "ledger", "projections", "seeds", "storage")


def source_fingerprint() -> str:
    """A hash of the product's source as it is on disk now: the servers import it
    afresh, so a change during a run would mix versions in one table."""
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for package in PRODUCT_PACKAGES:
        for path in sorted((root / package).rglob("*")):
            if path.is_file() and path.suffix in (".py", ".json"):
                digest.update(str(path.relative_to(root)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _commit() -> str:
    """The commit of the code measured, and whether the work tree differs from it."""
    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return f"commit {head}{' with local changes' if dirty else ''}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--quick", action="store_true", help="small numbers: about a minute")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("FACTLEDGER_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_ADMIN_URL),
        help="an existing database to connect to for CREATE/DROP DATABASE "
        "(default: $FACTLEDGER_BENCH_POSTGRES_URL or %(default)s)",
    )
    parser.add_argument("--workers", type=int, default=1, help="factledger serve --workers")
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    parser.add_argument("--skip-appends", action="store_true", help="measure reads only")
    parser.add_argument("--skip-reads", action="store_true", help="measure appends only")
    args = parser.parse_args(argv)

    plan = QUICK if args.quick else FULL
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    install_signal_handlers()
    cleanup = Cleanup()
    started = time.monotonic()
    results: dict[str, Any] = {"plan": plan.__dict__, "appends": [], "reads": {}}
    try:
        workspace = Workspace(cleanup, args.postgres_url)
        try:
            results["machine"] = machine_description(workspace, backends)
        except psycopg.Error as error:
            print(
                f"error: PostgreSQL is not reachable at {args.postgres_url}: {error}",
                file=sys.stderr,
            )
            return 2
        out(f"## Factledger benchmark ({'quick' if args.quick else 'full'} run)")
        out()
        for name, value in results["machine"].items():
            out(f"- {name}: {value}")
        out(f"- server: factledger serve --workers {args.workers}; client: this process")
        out()
        for backend in backends:
            if not args.skip_appends:
                cases, row_size = bench_appends(workspace, backend, plan, args.workers)
                raws = bench_raw_inserts(workspace, backend, plan, row_size)
                results["appends"] += report_appends(backend, cases, raws, row_size)
                results.setdefault("raw_inserts", {})[backend] = {
                    str(n): {
                        "rows_per_s": r.per_second,
                        "p50_ms": r.p(0.5) * 1000,
                        "p99_ms": r.p(0.99) * 1000,
                        "row_bytes": row_size,
                    }
                    for n, r in raws.items()
                }
            if not args.skip_reads:
                reads = bench_reads(workspace, backend, plan, args.workers)
                small, large = reads["small"], reads["large"]
                results["reads"][backend] = {"small": small, "large": large}
                report_reads(backend, small, large)
        results["seconds"] = time.monotonic() - started
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
    except KeyboardInterrupt:
        print("interrupted; cleaning up", file=sys.stderr)
        return 130
    finally:
        cleanup.run_all()


if __name__ == "__main__":
    sys.exit(main())
