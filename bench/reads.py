"""Point-in-time reads over HTTP: `GET /claims/{id}?as_of=` of a claim of 1,000
events, from `factledger serve`, against a bare FastAPI endpoint that SELECTs
the same 1,000 rows and answers how many it read (`bench/bare.py`,
`?answer=count`: the SELECT and nothing else, the strictest baseline; an
endpoint answering with the rows themselves serialises 600 KB of JSON and is
several times slower), measured side by side in the same run; and the memory
the ledger's history cache takes.

    .venv/bin/python bench/reads.py --backend both            # full run
    .venv/bin/python bench/reads.py --backend sqlite --quick  # smoke

Two stores on each backend: the claim alone (1,000 events), and the claim
among other claims' events, 1,000,000 events in all (`--quick`: 100,000),
filled in-process through the product's write path (`bench/fill.py`). The
`as_of` is the `recorded_at` of the claim's middle event; the answer is
checked once (its version must be that event's).

Each store is served by `factledger serve --no-projector` (1 worker; reads
never touch the read models, and a projector catching up a freshly filled
store would take a core) and by the bare endpoint (1 worker), both at once.
The first read of each is timed alone (the ledger's is cold: it decodes the
claim's history), then, after a few warm-up reads, rounds alternate (ledger,
bare, ledger, bare, ...):

- latency: 1 client, a fixed number of requests back to back: p50/p99
  (goal: ledger p50 <= 2 ms end to end);
- throughput: 8 clients for a fixed time: requests/s (goal: ledger/bare
  >= 2.0, the median of the rounds' ratios).

After the rounds: the ledger's `/readyz` `history_cache` and the resident
memory (/proc) of both servers. Last, on the large store, one in-process
measurement of what the history cache costs: N events of whole claims read
through the product's blocking read path (`ClaimReads.state`, which fetches,
decodes and folds them into `Histories`), the memory `tracemalloc` saw them
take against the cache's own estimate (`Histories.report().size_bytes`),
and both extrapolated to a cache holding 1,000,000 events.
"""

from __future__ import annotations

import gc
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bare import bare_server
from command import parse_options, run_benchmark
from fill import Filled, fill
from harness import CpuMeter, CpuUse, Server, Workspace, alternate, factledger_serve, log
from load import Client, LoadResult, run_load
from report import count, goal_met, median, ms, out, print_table, rate, ratio

from factledger.service import LedgerService
from factledger.settings import Settings

CLAIM_EVENTS = 1_000
LATENCY_GOAL_MS = 2.0
THROUGHPUT_GOAL = 2.0
MIB = 1024 * 1024


@dataclass(frozen=True)
class Plan:
    stores: tuple[int, ...]
    rounds: int
    latency_requests: int
    """Per round, one client."""
    throughput_seconds: float
    """Per round, 8 clients."""
    throughput_clients: int
    warm_up_requests: int
    estimate_events: int
    """Events decoded for the in-process measurement of the cache's memory."""


FULL = Plan(
    stores=(1_000, 1_000_000),
    rounds=5,
    latency_requests=300,
    throughput_seconds=5.0,
    throughput_clients=8,
    warm_up_requests=20,
    estimate_events=100_000,
)
QUICK = Plan(
    stores=(1_000, 100_000),
    rounds=2,
    latency_requests=100,
    throughput_seconds=2.0,
    throughput_clients=8,
    warm_up_requests=10,
    estimate_events=20_000,
)


@dataclass
class ReadSide:
    name: str
    server: Server
    path: str

    def get(self, _index: int, client: Client, _prepared: Any, _i: int) -> int:
        status, _ = client.request("GET", self.path)
        return status


@dataclass
class ReadRound:
    side: str
    round: int
    case: str
    result: LoadResult
    cpu: CpuUse

    def row(self) -> list[Any]:
        r = self.result
        shown = ", ".join(f"{s}: {n}" for s, n in sorted(r.statuses.items()))
        return [
            self.round + 1,
            self.case,
            self.side,
            rate(r.per_second),
            ms(r.p(0.5)),
            ms(r.p(0.99)),
            shown + (f", {len(r.errors)} errors" if r.errors else ""),
            f"{self.cpu.server:.2f} / {self.cpu.client:.2f} / {self.cpu.machine:.2f}",
        ]

    def figures(self) -> dict[str, Any]:
        r = self.result
        return {
            "side": self.side,
            "round": self.round,
            "case": self.case,
            "requests_per_s": r.per_second,
            "p50_ms": r.p(0.5) * 1000,
            "p99_ms": r.p(0.99) * 1000,
            "statuses": dict(r.statuses),
            "errors": r.errors[:10],
            "cpu_cores": {"server": self.cpu.server, "bench": self.cpu.client},
            "machine_cores": self.cpu.machine,
        }


def read_round(side: ReadSide, case: str, clients: int, plan: Plan, index: int) -> ReadRound:
    meters: list[CpuMeter] = []
    latency = clients == 1
    log(f"{side.name}: {case}, round {index + 1}")
    result = run_load(
        port=side.server.port,
        key=None,
        clients=clients,
        duration=120.0 if latency else plan.throughput_seconds,
        prepare=lambda _i, _c: None,
        step=side.get,
        max_requests=plan.latency_requests if latency else None,
        on_start=lambda: meters.append(CpuMeter([side.server.pid])),
    )
    cpu = meters[0].stop()
    for error in result.errors[:3]:
        log(f"{side.name}: error: {error}")
    return ReadRound(side.name, index, case, result, cpu)


# --- one store --------------------------------------------------------------------------


def fill_store(
    workspace: Workspace, backend: str, events: int
) -> tuple[str, Filled, Callable[[], None]]:
    url, drop = workspace.new_database(backend, f"reads{count(events).lower()}")
    log(f"{backend}: filling a store of {events:,} events through the writer")
    shown = [0]

    def progress(written: int) -> None:
        if written * 10 // events > shown[0]:
            shown[0] = written * 10 // events
            log(f"{backend}: {written:,} / {events:,} events")

    filled = fill(url, CLAIM_EVENTS, events, progress)
    log(f"{backend}: filled in {filled.seconds:.1f} s ({filled.events_per_second:,.0f} events/s)")
    return url, filled, drop


def first_reads(ledger: ReadSide, bare: ReadSide, filled: Filled) -> dict[str, Any]:
    """Each side's first read, timed alone, and its answer checked."""
    client = Client(ledger.server.port)
    try:
        began = time.perf_counter()
        status, body = client.request("GET", ledger.path)
        cold = time.perf_counter() - began
    finally:
        client.close()
    state = _checked(status, body)
    if int(state["version"]) != filled.mid_version:
        raise RuntimeError(
            f"wrong answer: as_of {filled.mid_as_of} gave version {state['version']}, "
            f"not {filled.mid_version}"
        )
    client = Client(bare.server.port)
    try:
        began = time.perf_counter()
        status, raw = client.request("GET", bare.path)
        bare_first = time.perf_counter() - began
    finally:
        client.close()
    rows = _checked(status, raw)["rows"]
    if rows != filled.claim_events:
        raise RuntimeError(f"the bare endpoint read {rows} rows")
    return {
        "ledger_first_ms": cold * 1000,
        "bare_first_ms": bare_first * 1000,
        "ledger_answer_bytes": len(body),
        "bare_answer_bytes": len(raw),
    }


def _checked(status: int, body: bytes) -> Any:
    if status != 200:
        raise RuntimeError(f"read answered {status}: {body[:300]!r}")
    return orjson.loads(body)


def warm_up(side: ReadSide, requests: int) -> None:
    client = Client(side.server.port)
    try:
        for _ in range(requests):
            status, body = client.request("GET", side.path)
            _checked(status, body)
    finally:
        client.close()


def after_reads(ledger: ReadSide, bare: ReadSide) -> dict[str, Any]:
    client = Client(ledger.server.port)
    try:
        cache = client.json("GET", "/readyz")["history_cache"]
    finally:
        client.close()
    return {
        "history_cache": cache,
        "ledger_rss_mib": ledger.server.rss_mib(),
        "bare_rss_mib": bare.server.rss_mib(),
    }


def bench_store(
    workspace: Workspace, backend: str, plan: Plan, rounds: int, events: int
) -> dict[str, Any]:
    url, filled, drop = fill_store(workspace, backend, events)
    as_of = quote(filled.mid_as_of)
    ledger = ReadSide(
        "serve",
        factledger_serve(workspace, url, projector=False),
        f"/claims/{filled.claim_id}?as_of={as_of}",
    )
    bare = ReadSide(
        "bare", bare_server(workspace, url), f"/claims/{filled.claim_id}/rows?answer=count"
    )
    try:
        first = first_reads(ledger, bare, filled)
        for side in (ledger, bare):
            warm_up(side, plan.warm_up_requests)

        def measure(side: ReadSide, case: str, clients: int) -> Callable[[int], ReadRound]:
            return lambda i: read_round(side, case, clients, plan, i)

        latency = alternate(rounds, measure(ledger, "1 client", 1), measure(bare, "1 client", 1))
        many = f"{plan.throughput_clients} clients"
        throughput = alternate(
            rounds,
            measure(ledger, many, plan.throughput_clients),
            measure(bare, many, plan.throughput_clients),
        )
        memory = after_reads(ledger, bare)
    finally:
        ledger.server.stop()
        bare.server.stop()
    estimate = estimate_cache(url, filled, plan.estimate_events) if events > CLAIM_EVENTS else None
    drop()
    return {
        "store_events": filled.total_events,
        "fill_seconds": filled.seconds,
        "as_of": filled.mid_as_of,
        "first": first,
        "latency": latency,
        "throughput": throughput,
        "memory": memory,
        "estimate": estimate,
    }


# --- the history cache's memory, in-process -------------------------------------------------


def estimate_cache(url: str, filled: Filled, events: int) -> dict[str, Any]:
    """Reads whole claims until `events` events are cached; tracemalloc against the
    cache's own estimate."""
    log(f"in-process: reading claims until {events:,} events are cached, under tracemalloc")
    settings = Settings(database_url=url, projector=False, history_cache_mib=1024 * 1024)
    service = LedgerService(settings)
    try:
        claims = [filled.claim_id, *filled.filler_claims]
        service.reads.state(claims[-1])  # connections, statements, code paths
        service.histories.forget([claims[-1]])
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            for claim_id in claims:
                service.reads.state(claim_id)
                if service.histories.report().events >= events:
                    break
            gc.collect()
            traced = tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()
        report = service.histories.report()
    finally:
        service.close()
    return {
        "claims": report.claims,
        "events": report.events,
        "traced_bytes": traced,
        "estimated_bytes": report.size_bytes,
    }


# --- the report ----------------------------------------------------------------------------


def report_store(backend: str, measured: dict[str, Any]) -> None:
    store = count(measured["store_events"])
    rounds = [r for pair in measured["latency"] + measured["throughput"] for r in pair]
    print_table(
        f"#### {backend}, store of {store} events: every round",
        [
            "round",
            "case",
            "side",
            "requests/s",
            "p50 ms",
            "p99 ms",
            "answers",
            "CPU server / bench / machine",
        ],
        [r.row() for r in rounds],
    )


def summary_row(measured: dict[str, Any]) -> list[Any]:
    latency: list[tuple[ReadRound, ReadRound]] = measured["latency"]
    throughput: list[tuple[ReadRound, ReadRound]] = measured["throughput"]
    ledger_p50 = median([a.result.p(0.5) for a, _ in latency]) * 1000
    bare_p50 = median([b.result.p(0.5) for _, b in latency]) * 1000
    ratios = [ratio(a.result.per_second, b.result.per_second) for a, b in throughput]
    first = measured["first"]
    return [
        count(measured["store_events"]),
        f"{ledger_p50:.2f} ({goal_met(ledger_p50, LATENCY_GOAL_MS, at_least=False)})",
        f"{bare_p50:.2f}",
        rate(median([a.result.per_second for a, _ in throughput])),
        rate(median([b.result.per_second for _, b in throughput])),
        ", ".join(f"{x:.2f}" for x in ratios),
        f"{median(ratios):.2f} ({goal_met(median(ratios), THROUGHPUT_GOAL)})",
        f"{first['ledger_first_ms']:.1f} / {first['bare_first_ms']:.1f}",
        f"{first['ledger_answer_bytes']:,} / {first['bare_answer_bytes']:,}",
    ]


SUMMARY_HEADERS = (
    "store events",
    f"serve p50 ms, 1 client (goal <= {LATENCY_GOAL_MS:.0f})",
    "bare p50 ms",
    "serve requests/s, 8 clients",
    "bare requests/s",
    "ratio per round",
    f"median ratio (goal >= {THROUGHPUT_GOAL:.1f})",
    "first read ms, serve / bare",
    "answer bytes, serve / bare",
)


def memory_row(measured: dict[str, Any]) -> list[Any]:
    memory = measured["memory"]
    cache = memory["history_cache"]
    return [
        count(measured["store_events"]),
        cache["claims"],
        f"{cache['events']:,}",
        f"{cache['size_bytes'] / MIB:.1f}",
        f"{memory['ledger_rss_mib']:.0f}",
        f"{memory['bare_rss_mib']:.0f}",
    ]


def report_estimate(estimate: dict[str, Any]) -> None:
    events = estimate["events"]
    traced, estimated = estimate["traced_bytes"], estimate["estimated_bytes"]
    million = 1_000_000 / events
    print_table(
        "History cache memory, in-process: whole claims read through `ClaimReads.state`",
        [
            "claims",
            "events",
            "tracemalloc MiB",
            "size_bytes MiB (the cache's estimate)",
            "estimate / traced",
            "traced bytes/event",
            "1M events: traced, extrapolated MiB",
            "1M events: estimate MiB",
        ],
        [
            [
                f"{estimate['claims']:,}",
                f"{events:,}",
                f"{traced / MIB:.1f}",
                f"{estimated / MIB:.1f}",
                f"{ratio(estimated, traced):.2f}",
                f"{traced / events:,.0f}",
                f"{traced * million / MIB:,.0f}",
                f"{estimated * million / MIB:,.0f}",
            ]
        ],
    )


def report_backend(backend: str, stores: list[dict[str, Any]]) -> None:
    print_table(
        f"#### {backend}: `GET /claims/{{id}}?as_of=`, claim of {CLAIM_EVENTS:,} events, medians",
        SUMMARY_HEADERS,
        [summary_row(m) for m in stores],
    )
    print_table(
        f"#### {backend}: the server's memory after the reads",
        [
            "store events",
            "cached claims",
            "cached events",
            "size_bytes MiB",
            "serve RSS MiB",
            "bare RSS MiB",
        ],
        [memory_row(m) for m in stores],
    )
    for measured in stores:
        if measured["estimate"] is not None:
            report_estimate(measured["estimate"])


def as_json(measured: dict[str, Any]) -> dict[str, Any]:
    def rounds(pairs: list[tuple[ReadRound, ReadRound]]) -> list[dict[str, Any]]:
        return [r.figures() for pair in pairs for r in pair]

    return {
        **measured,
        "latency": rounds(measured["latency"]),
        "throughput": rounds(measured["throughput"]),
    }


def bench_backend(
    workspace: Workspace, backend: str, plan: Plan, rounds: int, results: dict[str, Any]
) -> None:
    out(f"### Point-in-time reads: {backend}")
    out()
    stores = []
    for events in plan.stores:
        measured = bench_store(workspace, backend, plan, rounds, events)
        out(
            f"Store of {measured['store_events']:,} events, filled in "
            f"{measured['fill_seconds']:.1f} s; as_of {measured['as_of']}."
        )
        out()
        report_store(backend, measured)
        stores.append(measured)
    report_backend(backend, stores)
    results["plan"] = asdict(plan) | {"rounds": rounds}
    results["stores"] = [as_json(m) for m in stores]


def main(argv: list[str] | None = None) -> int:
    options = parse_options(__doc__ or "", argv)
    plan = QUICK if options.quick else FULL
    rounds = options.rounds or plan.rounds

    def body(workspace: Workspace, backend: str, results: dict[str, Any]) -> None:
        bench_backend(workspace, backend, plan, rounds, results)

    return run_benchmark(
        "Point-in-time reads: factledger serve against a bare endpoint", options, body
    )


if __name__ == "__main__":
    sys.exit(main())
