"""What counting costs a request and a group commit, in process: too little
for `bench/appends.py` to see on a shared machine (its rounds differ by more
than 10 % from one another), so measured here alone.

    .venv/bin/python bench/metrics.py            # about 20 s
    .venv/bin/python bench/metrics.py --quick

For each way a process counts (in memory, as a test or an embedded app
does; in files, as `serve`'s workers do) it times, in rounds alternated with
a bare baseline: a request through `api.metrics.RequestMetrics` around an
ASGI app that answers at once, against the same app alone; and
`ProcessMetrics.batch_committed`, against an empty call. Printed: the
median cost of each in microseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.metrics import RequestMetrics
from factledger.metrics import MULTIPROCESS_DIRECTORY, ProcessMetrics

_ROUTE = type("Route", (), {"path_format": "/claims/{claim_id}/rebuttals"})()


async def _answer(scope: Scope, receive: Receive, send: Send) -> None:
    scope["route"] = _ROUTE
    await send({"type": "http.response.start", "status": 201, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


async def _receive() -> Message:
    return {"type": "http.request", "body": b""}


async def _send(_message: Message) -> None:
    pass


def _requests_seconds(app: ASGIApp, calls: int) -> float:
    async def run() -> float:
        started = time.perf_counter()
        for _ in range(calls):
            scope: Scope = {"type": "http", "method": "POST", "path": "/claims/x/rebuttals"}
            await app(scope, _receive, _send)
        return time.perf_counter() - started

    return asyncio.run(run())


def _calls_seconds(call: Callable[[int], None], calls: int) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        call(12)
    return time.perf_counter() - started


def _nothing(_events: int) -> None:
    pass


def measure(label: str, metrics: ProcessMetrics, calls: int, rounds: int) -> None:
    counted = RequestMetrics(_answer, metrics)
    request, batch = [], []
    for _ in range(rounds):
        request.append(_requests_seconds(counted, calls) - _requests_seconds(_answer, calls))
        batch.append(
            _calls_seconds(metrics.batch_committed, calls) - _calls_seconds(_nothing, calls)
        )
    per_request = statistics.median(request) / calls * 1e6
    per_batch = statistics.median(batch) / calls * 1e6
    print(f"| {label} | {per_request:.2f} | {per_batch:.2f} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    calls, rounds = (5_000, 3) if args.quick else (20_000, 7)
    print("| counted | µs per request | µs per batch |")
    print("|---|---:|---:|")
    measure("in memory", ProcessMetrics(), calls, rounds)
    with tempfile.TemporaryDirectory(prefix="factledger-bench-metrics-") as directory:
        os.environ[MULTIPROCESS_DIRECTORY] = directory
        measure("in files (serve's workers)", ProcessMetrics(Path(directory)), calls, rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
