"""Appends with the projector on against the projector off: plain
`factledger serve` (which runs its projector in a child process) against
`factledger serve --no-projector`, measured side by side in the same run.

    .venv/bin/python bench/projector.py --backend both            # full run
    .venv/bin/python bench/projector.py --backend sqlite --quick  # smoke

Both servers run at once (1 worker each), each on a fresh database of its
own; after a warm-up of each, rounds alternate (on, off, on, off, ...), 32
clients appending rebuttals to claims of their own (`bench/appending.py`
says what a round measures). During each round with the projector, `/readyz`
is sampled every 0.2 s for the read models' lag (events appended but not yet
projected); after it, the time until the lag is 0 is measured (the next
round waits for that, so the projector's leftover work never weighs on a
round without it). Goal: on/off >= 0.9 (the median of the rounds' ratios).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from appending import (
    ROUND_HEADERS,
    Round,
    Side,
    append_round,
    lag_summary,
    ledger_side,
    warm_up,
)
from command import parse_options, run_benchmark
from harness import Workspace, alternate, create_key, factledger_serve
from report import goal_met, median, out, print_table, rate, ratio

GOAL = 0.9
CLIENTS = 32


@dataclass(frozen=True)
class Plan:
    rounds: int
    seconds: float
    warm_up_seconds: float


FULL = Plan(rounds=5, seconds=10.0, warm_up_seconds=3.0)
QUICK = Plan(rounds=2, seconds=3.0, warm_up_seconds=1.0)


def start_side(workspace: Workspace, backend: str, *, projector: bool) -> Side:
    url, _drop = workspace.new_database(backend, "projector" if projector else "noprojector")
    key = create_key(url, role="contributor")
    server = factledger_serve(workspace, url, projector=projector)
    name = "projector on" if projector else "projector off"
    return ledger_side(name, [server], key, projector=projector, sample_lag=projector)


def report(backend: str, pairs: list[tuple[Round, Round]]) -> float:
    rows = []
    for on, off in pairs:
        for r in (on, off):
            lag = lag_summary(r.lag) if r is on else "-"
            catch_up = f"{r.catch_up:.2f}" if r.catch_up is not None else "-"
            rows.append([*r.row(), lag, catch_up])
    print_table(
        f"#### {backend}: every round",
        [*ROUND_HEADERS, "read-model lag (events)", "lag 0 after the load, s"],
        rows,
    )
    ratios = [ratio(on.per_second, off.per_second) for on, off in pairs]
    catch_ups = [on.catch_up for on, _ in pairs if on.catch_up is not None]
    print_table(
        f"#### {backend}: medians",
        [
            "on events/s",
            "off events/s",
            "ratio per round",
            f"median ratio (goal >= {GOAL})",
            "lag max (events)",
            "lag 0 after the load, s",
        ],
        [
            [
                rate(median([on.per_second for on, _ in pairs])),
                rate(median([off.per_second for _, off in pairs])),
                ", ".join(f"{x:.2f}" for x in ratios),
                f"{median(ratios):.2f} ({goal_met(median(ratios), GOAL)})",
                max((max(on.lag, default=0) for on, _ in pairs), default=0),
                f"{median(catch_ups):.2f}",
            ]
        ],
    )
    return median(ratios)


def bench_backend(
    workspace: Workspace, backend: str, plan: Plan, rounds: int, results: dict[str, Any]
) -> None:
    out(f"### Appends with the projector on and off: {backend}")
    out()
    on = start_side(workspace, backend, projector=True)
    off = start_side(workspace, backend, projector=False)
    try:
        for side in (on, off):
            warm_up(side, 8, plan.warm_up_seconds)

        def measure(side: Side) -> Callable[[int], Round]:
            return lambda i: append_round(side, CLIENTS, plan.seconds, i)

        pairs = alternate(rounds, measure(on), measure(off))
    finally:
        for side in (on, off):
            side.servers[0].stop()
    results["plan"] = asdict(plan) | {"rounds": rounds, "clients": CLIENTS}
    results["median_ratio"] = report(backend, pairs)
    results["rounds"] = [r.figures() | {"lag_samples": r.lag} for pair in pairs for r in pair]


def main(argv: list[str] | None = None) -> int:
    options = parse_options(__doc__ or "", argv)
    plan = QUICK if options.quick else FULL
    rounds = options.rounds or plan.rounds

    def body(workspace: Workspace, backend: str, results: dict[str, Any]) -> None:
        bench_backend(workspace, backend, plan, rounds, results)

    return run_benchmark("Appends with the projector on and off", options, body)


if __name__ == "__main__":
    sys.exit(main())
