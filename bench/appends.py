"""Appends over HTTP: `factledger serve` against a bare FastAPI endpoint that
validates the same body with the product's model and inserts one row per
request (`bench/bare.py`), measured side by side in the same run.

    .venv/bin/python bench/appends.py --backend both            # full run
    .venv/bin/python bench/appends.py --backend sqlite --quick  # smoke

Each case runs the ledger and the bare endpoint at once, each on a fresh
database of its own, warms both up, then alternates timed rounds (ledger,
bare, ledger, bare, ...; `bench/appending.py` says what a round measures).
After each ledger round the benchmark waits, untimed, for `serve`'s projector
to catch up, so that its work does not weigh on the bare round that follows.
The cases:

1. one `serve` worker against one bare uvicorn worker, 32 clients (the
   headline; goal: ledger/bare >= 1.0);
2. the same servers, 1 client: latency;
3. `serve --workers 2` against the bare endpoint with 2 uvicorn workers,
   32 clients;
4. (PostgreSQL) two separate `serve` processes on one database against two
   bare processes on one database, 32 clients dealt between them.

Printed per case: each round's figures, then the medians and the median of
the rounds' ratios ledger/bare.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bare
from appending import (
    ROUND_HEADERS,
    Round,
    Side,
    append_round,
    bare_side,
    ledger_side,
    warm_up,
)
from command import parse_options, run_benchmark
from harness import Workspace, alternate, create_key, factledger_serve
from report import goal_met, median, ms, out, print_table, rate, ratio, table

GOAL = 1.0


@dataclass(frozen=True)
class Plan:
    rounds: int
    seconds: float
    """Of each round."""
    warm_up_seconds: float


FULL = Plan(rounds=5, seconds=10.0, warm_up_seconds=3.0)
QUICK = Plan(rounds=2, seconds=2.0, warm_up_seconds=1.0)


@dataclass(frozen=True)
class Case:
    name: str
    clients: int
    goal: float | None = None


@dataclass(frozen=True)
class Setup:
    """The servers a group of cases runs on."""

    workers: int
    processes: int
    cases: tuple[Case, ...]
    postgresql_only: bool = False

    def describe(self) -> str:
        if self.processes > 1:
            return f"{self.processes} processes of 1 worker each, on one database"
        return f"{self.workers} worker{'s' if self.workers > 1 else ''}"


SETUPS = (
    Setup(1, 1, (Case("1 worker, 32 clients", 32, GOAL), Case("1 worker, 1 client", 1))),
    Setup(2, 1, (Case("2 workers, 32 clients", 32),)),
    Setup(1, 2, (Case("2 processes, 32 clients", 32),), postgresql_only=True),
)


@dataclass
class Sides:
    ledger: Side
    bare: Side
    drops: list[Callable[[], None]]

    def stop(self) -> None:
        for server in self.ledger.servers + self.bare.servers:
            server.stop()
        for drop in self.drops:
            drop()


def start_sides(workspace: Workspace, backend: str, setup: Setup) -> Sides:
    """The ledger's servers and the bare ones, each side on a fresh database."""
    ledger_url, drop_ledger = workspace.new_database(backend, "appends")
    key = create_key(ledger_url, role="contributor")
    servers = [
        factledger_serve(workspace, ledger_url, workers=setup.workers)
        for _ in range(setup.processes)
    ]
    bare_url, drop_bare = workspace.new_database(backend, "bare")
    bare.create_table(bare_url)
    bare_servers = [
        bare.bare_server(workspace, bare_url, workers=setup.workers) for _ in range(setup.processes)
    ]
    return Sides(
        ledger_side("serve", servers, key, projector=True),
        bare_side("bare", bare_servers, bare_url),
        [drop_ledger, drop_bare],
    )


def run_case(case: Case, ledger: Side, baseline: Side, plan: Plan, rounds: int) -> dict[str, Any]:
    def measure(side: Side) -> Callable[[int], Round]:
        return lambda i: append_round(side, case.clients, plan.seconds, i)

    pairs = alternate(rounds, measure(ledger), measure(baseline))
    report_case(case, pairs)
    return {
        "case": case.name,
        "rounds": [r.figures() for pair in pairs for r in pair],
        "median_ratio": median([ratio(a.per_second, b.per_second) for a, b in pairs]),
    }


def report_case(case: Case, pairs: list[tuple[Round, Round]]) -> None:
    rows = [r.row() for pair in pairs for r in pair]
    print_table(f"#### {case.name}: every round", ROUND_HEADERS, rows)
    ratios = [ratio(a.per_second, b.per_second) for a, b in pairs]
    ledger, baseline = [a for a, _ in pairs], [b for _, b in pairs]
    summary = [
        rate(median([r.per_second for r in ledger])),
        rate(median([r.per_second for r in baseline])),
        ", ".join(f"{x:.2f}" for x in ratios),
        f"{median(ratios):.2f}",
        ms(median([r.result.p(0.5) for r in ledger])),
        ms(median([r.result.p(0.5) for r in baseline])),
        f"{case.goal:.1f} ({goal_met(median(ratios), case.goal)})" if case.goal else "-",
    ]
    headers = [
        "serve events/s (median)",
        "bare events/s (median)",
        "ratio per round",
        "median ratio",
        "serve p50 ms",
        "bare p50 ms",
        "goal",
    ]
    out(table(headers, [summary]))
    out()
    if not all(r.kept for pair in pairs for r in pair):
        out("**Some 201s are not in the database: see 'every 201 stored'.**")
        out()


def bench_backend(
    workspace: Workspace, backend: str, plan: Plan, rounds: int, results: dict[str, Any]
) -> None:
    out(f"### Appends over HTTP: {backend}")
    out()
    cases = []
    for setup in SETUPS:
        if setup.postgresql_only and backend != "postgresql":
            continue
        sides = start_sides(workspace, backend, setup)
        out(f"Servers: {setup.describe()} per side; `factledger serve` runs its projector.")
        out()
        try:
            for side in (sides.ledger, sides.bare):
                warm_up(side, 8, plan.warm_up_seconds)
            for case in setup.cases:
                cases.append(run_case(case, sides.ledger, sides.bare, plan, rounds))
        finally:
            sides.stop()
    results["plan"] = asdict(plan) | {"rounds": rounds}
    results["cases"] = cases


def main(argv: list[str] | None = None) -> int:
    options = parse_options(__doc__ or "", argv)
    plan = QUICK if options.quick else FULL
    rounds = options.rounds or plan.rounds

    def body(workspace: Workspace, backend: str, results: dict[str, Any]) -> None:
        bench_backend(workspace, backend, plan, rounds, results)

    return run_benchmark("Appends: factledger serve against a bare endpoint", options, body)


if __name__ == "__main__":
    sys.exit(main())
