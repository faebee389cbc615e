"""A mixed load, as a newsroom's readers and writers make it: two `factledger
serve` processes on one database, 32 clients dealt between them, for 60 s.

    .venv/bin/python bench/mixed.py --backend postgresql          # full run
    .venv/bin/python bench/mixed.py --backend both --quick        # smoke

Before the clock starts, 200 claims are registered. Then each client, in a
loop bounded in time (60 s; `--quick` 10 s) and in requests (5,000 each),
draws its next request (a seeded draw per client, so that runs repeat):

- 40 % `GET /claims/{id}` of a random claim; 10 % its `/history` as of a
  time some way back (a point-in-time read);
- 20 % `GET /claims?limit=20` (half of them filtered by verdict) and 10 %
  `GET /changes?limit=20`: the read models;
- 20 % writes: a rebuttal to a random claim; a quarter of them with
  `If-Match` (the version this client last saw of that claim: 412 when
  someone else wrote since, an answer, not an error), a quarter with an
  `Idempotency-Key`, of which one in five is sent twice (the second answer
  must be the first's event).

Reported per route: requests, p50 and p99 latency, statuses; in all:
requests/s, errors (any 5xx, any failed connection, a replay answering
another event: goal 0) and lost acknowledged writes (an event answered 201
that the ledger's `/events` does not hold after the run: goal 0). There is
no bare baseline: this is a soak of the whole service, not a ratio.
"""

from __future__ import annotations

import json
import random
import sys
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from command import Options, parse_options, run_benchmark
from harness import Workspace, create_key, factledger_serve, log
from load import Client, percentile
from report import out, table

CLIENTS = 32
CLAIMS = 200
MAX_REQUESTS_PER_CLIENT = 5_000

CLAIM = {
    "text": "The bridge at Kupiansk was destroyed on Tuesday.",
    "claimant": {"name": "Regional governor"},
    "occurred_at": "2024-03-05T12:00:00Z",
    "tags": ["bench"],
}
REBUTTAL = {
    "party": {"name": "Open-source analysts"},
    "statement": "Footage filmed on Wednesday shows the bridge standing.",
    "occurred_at": "2024-03-06T12:00:00Z",
}


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    errors: list[str] = field(default_factory=list)
    acknowledged: set[str] = field(default_factory=set)

    def add(self, other: Tally) -> None:
        for route, values in other.latencies.items():
            self.latencies[route].extend(values)
        for route, counts in other.statuses.items():
            self.statuses[route].update(counts)
        self.errors.extend(other.errors)
        self.acknowledged |= other.acknowledged


class Mix:
    """One client's requests: its own draws, its own view of claims' versions."""

    def __init__(self, index: int, client: Client, claims: list[dict[str, Any]]) -> None:
        self.index = index
        self.client = client
        self.claims = claims
        self.draw = random.Random(index)
        self.versions: dict[str, int] = {}
        self.tally = Tally()
        self.keys = 0

    def one(self) -> None:
        roll = self.draw.random()
        claim = self.draw.choice(self.claims)
        claim_id = claim["claim_id"]
        if roll < 0.40:
            self._read("GET /claims/{id}", f"/claims/{claim_id}", claim_id)
        elif roll < 0.50:
            as_of = claim["recorded_at"]
            self._read(
                "GET /claims/{id}/history?as_of", f"/claims/{claim_id}/history?as_of={as_of}"
            )
        elif roll < 0.70:
            verdict = "&verdict=disputed" if self.draw.random() < 0.5 else ""
            self._read("GET /claims", f"/claims?limit=20{verdict}")
        elif roll < 0.80:
            self._read("GET /changes", "/changes?limit=20")
        else:
            self._write(claim_id)

    def _timed(
        self,
        route: str,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes] | None:
        saved = dict(self.client.headers)
        self.client.headers.update(headers or {})
        started = time.perf_counter()
        try:
            status, data = self.client.request(method, path, body)
        except Exception as error:
            self.tally.errors.append(f"{route}: {type(error).__name__}: {error}")
            return None
        finally:
            self.client.headers = saved
        self.tally.latencies[route].append(time.perf_counter() - started)
        self.tally.statuses[route][status] += 1
        if status >= 500 or status == 404:  # every claim asked for exists
            self.tally.errors.append(f"{route}: {status} {data[:200]!r}")
        return status, data

    def _read(self, route: str, path: str, claim_id: str | None = None) -> None:
        answered = self._timed(route, "GET", path)
        if answered and answered[0] == 200 and claim_id is not None:
            self.versions[claim_id] = json.loads(answered[1])["version"]

    def _write(self, claim_id: str) -> None:
        path = f"/claims/{claim_id}/rebuttals"
        kind = self.draw.random()
        headers: dict[str, str] = {}
        route = "POST rebuttal"
        if kind < 0.25 and claim_id in self.versions:
            headers["If-Match"] = f'"{self.versions[claim_id]}"'
            route = "POST rebuttal, If-Match"
        elif kind < 0.5:
            self.keys += 1
            headers["Idempotency-Key"] = f"mixed-{self.index}-{self.keys}"
            route = "POST rebuttal, Idempotency-Key"
        answered = self._timed(route, "POST", path, REBUTTAL, headers)
        if answered is None or answered[0] != 201:
            return
        event = json.loads(answered[1])
        self.tally.acknowledged.add(event["event_id"])
        self.versions[claim_id] = event["version"]
        if "Idempotency-Key" in headers and self.draw.random() < 0.2:
            again = self._timed("POST rebuttal, replayed", "POST", path, REBUTTAL, headers)
            if (
                again is not None
                and again[0] == 201
                and json.loads(again[1])["event_id"] != event["event_id"]
            ):
                self.tally.errors.append("a replay answered another event")


def register_claims(port: int, key: str, count: int) -> list[dict[str, Any]]:
    client = Client(port, key)
    try:
        return [
            client.json("POST", "/claims", {**CLAIM, "text": f"{CLAIM['text']} ({n})"}, expect=201)
            for n in range(count)
        ]
    finally:
        client.close()


def ledger_event_ids(port: int) -> set[str]:
    client = Client(port)
    found: set[str] = set()
    after = 0
    try:
        while True:
            page = client.json("GET", f"/events?after={after}&limit=1000")
            found.update(event["event_id"] for event in page["events"])
            if page["next_after"] == after:
                return found
            after = page["next_after"]
    finally:
        client.close()


def run_mix(
    ports: list[int], key: str, claims: list[dict[str, Any]], seconds: float
) -> tuple[Tally, float]:
    tally = Tally()
    lock = threading.Lock()
    ready = threading.Barrier(CLIENTS + 1)
    deadline = [0.0]

    def worker(index: int) -> None:
        mix = Mix(index, Client(ports[index % len(ports)], key), claims)
        try:
            ready.wait()
            done = 0
            while time.perf_counter() < deadline[0] and done < MAX_REQUESTS_PER_CLIENT:
                mix.one()
                done += 1
        finally:
            mix.client.close()
            with lock:
                tally.add(mix.tally)

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    started = time.perf_counter()
    deadline[0] = started + seconds
    ready.wait(timeout=60)
    for thread in threads:
        thread.join(timeout=seconds + 120)
    return tally, time.perf_counter() - started


def report(backend: str, tally: Tally, seconds: float, lost: int) -> dict[str, Any]:
    rows = []
    total = 0
    for route in sorted(tally.latencies):
        latencies = sorted(tally.latencies[route])
        total += len(latencies)
        statuses = ", ".join(f"{s}: {n}" for s, n in sorted(tally.statuses[route].items()))
        rows.append(
            [
                route,
                f"{len(latencies):,}",
                f"{percentile(latencies, 0.5) * 1000:.1f}",
                f"{percentile(latencies, 0.99) * 1000:.1f}",
                statuses,
            ]
        )
    out(f"### {backend}: two serve processes, {CLIENTS} clients, {seconds:.0f} s")
    out()
    out(table(["route", "requests", "p50 ms", "p99 ms", "statuses"], rows))
    out()
    out(
        f"{total:,} requests in {seconds:.1f} s ({total / seconds:,.0f}/s); "
        f"errors: {len(tally.errors)} (goal 0); acknowledged writes: "
        f"{len(tally.acknowledged):,}, lost: {lost} (goal 0)"
    )
    for error in tally.errors[:10]:
        out(f"- {error}")
    out()
    return {
        "requests": total,
        "seconds": seconds,
        "errors": tally.errors,
        "acknowledged": len(tally.acknowledged),
        "lost": lost,
        "routes": {
            route: {
                "requests": len(values),
                "p50_ms": percentile(sorted(values), 0.5) * 1000,
                "p99_ms": percentile(sorted(values), 0.99) * 1000,
                "statuses": dict(tally.statuses[route]),
            }
            for route, values in tally.latencies.items()
        },
    }


def bench_backend(
    options: Options, workspace: Workspace, backend: str, results: dict[str, Any]
) -> None:
    seconds = 10.0 if options.quick else 60.0
    url, _drop = workspace.new_database(backend, "mixed")
    log(f"{backend}: starting two serve processes")
    first = factledger_serve(workspace, url)
    second = factledger_serve(workspace, url)
    key = create_key(url)
    log(f"{backend}: registering {CLAIMS} claims")
    claims = register_claims(first.port, key, CLAIMS)
    log(f"{backend}: mixed load for {seconds:.0f} s")
    tally, elapsed = run_mix([first.port, second.port], key, claims, seconds)
    stored = ledger_event_ids(second.port)
    lost = len(tally.acknowledged - stored)
    results.update(report(backend, tally, elapsed, lost))
    first.stop()
    second.stop()


def main(argv: list[str] | None = None) -> int:
    options = parse_options(__doc__ or "", argv)
    return run_benchmark(
        "A mixed load on two serve processes",
        options,
        lambda workspace, backend, results: bench_backend(options, workspace, backend, results),
    )


if __name__ == "__main__":
    sys.exit(main())
