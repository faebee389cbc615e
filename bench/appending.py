"""Appending rebuttals over HTTP, as `appends.py` and `projector.py` measure it.

A side of a comparison (`Side`) is one or more servers of the same kind
(`factledger serve`, or the bare endpoint of `bare.py`) and how a client gets
a claim of its own to append to. A round (`append_round`): N clients each
get a claim of their own (untimed: registered over HTTP on the ledger, a new
id on the bare endpoint), start together and `POST /claims/{id}/rebuttals`
(`{"party": {"name": ...}, "statement": ...}`) back to back for a fixed time.
Measured: 201s per second, p50/p99 latency of every request as the client
saw it, the answers by status, and the CPU of the servers' process groups,
of the benchmark process (the client) and of the whole machine, in cores.
Afterwards every 201 is looked for: the events stored on the round's claims
must number exactly the 201s.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import uuid4

import bare
from harness import CpuMeter, CpuUse, Server, log
from load import Client, LoadResult, percentile, run_load
from report import ms, rate

STATEMENT = (
    "The night in Soledar was hot, battles continued; the town was not taken "
    "on the evening of 12 January."
)


@dataclass
class Side:
    name: str
    servers: list[Server]
    register: Callable[[Client], str]
    """Gets a claim for one client (untimed); returns its id."""
    stored: Callable[[list[str]], int]
    """How many rebuttals are stored on these claims."""
    key: str | None = None
    projector: bool = False
    """Its servers run a projector (wait for it to catch up after a round)."""
    sample_lag: bool = False
    """Sample the read models' lag through each round (`/readyz`, 5 times a second)."""

    @property
    def ports(self) -> list[int]:
        return [server.port for server in self.servers]

    @property
    def pgids(self) -> list[int]:
        return [server.pid for server in self.servers]


def ledger_side(
    name: str, servers: list[Server], key: str, *, projector: bool, sample_lag: bool = False
) -> Side:
    """`factledger serve` processes: claims registered over HTTP, versions read back."""

    def register(client: Client) -> str:
        body = {"text": "Soledar was taken.", "claimant": {"name": "Bench Claimant"}}
        return str(client.json("POST", "/claims", body, expect=201)["claim_id"])

    def stored(claims: list[str]) -> int:
        client = Client(servers[0].port)
        try:
            return sum(int(client.json("GET", f"/claims/{c}")["version"]) - 1 for c in claims)
        finally:
            client.close()

    return Side(
        name, servers, register, stored, key=key, projector=projector, sample_lag=sample_lag
    )


def bare_side(name: str, servers: list[Server], database_url: str) -> Side:
    """Bare endpoints: a claim is a new id; its rows are counted in the database."""

    def register(_client: Client) -> str:
        return str(uuid4())

    def stored(claims: list[str]) -> int:
        return bare.rows_per_claim(database_url, claims)

    return Side(name, servers, register, stored)


def post_rebuttal(index: int, client: Client, claim_id: Any, _i: int) -> int:
    body = {"party": {"name": f"Bench Party {index}"}, "statement": STATEMENT}
    status, _ = client.request("POST", f"/claims/{claim_id}/rebuttals", body)
    return status


@dataclass
class Round:
    side: str
    round: int
    clients: int
    result: LoadResult
    cpu: CpuUse
    stored: int
    lag: list[int] = field(default_factory=list)
    """Read-model lag in events, sampled through the round (projector sides)."""
    catch_up: float | None = None
    """Seconds from the round's end until the read models reached the head."""

    @property
    def per_second(self) -> float:
        return self.result.per_second

    @property
    def created(self) -> int:
        return self.result.statuses.get(201, 0)

    @property
    def kept(self) -> bool:
        return self.stored == self.created

    def figures(self) -> dict[str, Any]:
        """For --json."""
        r = self.result
        return {
            "side": self.side,
            "round": self.round,
            "clients": self.clients,
            "seconds": r.seconds,
            "events_per_s": r.per_second,
            "p50_ms": r.p(0.5) * 1000,
            "p99_ms": r.p(0.99) * 1000,
            "statuses": dict(r.statuses),
            "errors": r.errors[:10],
            "stored": self.stored,
            "all_kept": self.kept,
            "cpu_cores": {"server": self.cpu.server, "bench": self.cpu.client},
            "machine_cores": self.cpu.machine,
            "lag_max": max(self.lag, default=None),
            "catch_up_seconds": self.catch_up,
        }

    def row(self) -> list[Any]:
        """For the per-round tables."""
        r = self.result
        return [
            self.round + 1,
            self.side,
            rate(r.per_second),
            ms(r.p(0.5)),
            ms(r.p(0.99)),
            statuses(r),
            "yes" if self.kept else f"NO ({self.stored} stored)",
            f"{self.cpu.server:.2f} / {self.cpu.client:.2f} / {self.cpu.machine:.2f}",
        ]


ROUND_HEADERS = (
    "round",
    "side",
    "events/s",
    "p50 ms",
    "p99 ms",
    "answers",
    "every 201 stored",
    "CPU server / bench / machine",
)


def statuses(result: LoadResult) -> str:
    shown = ", ".join(f"{status}: {n}" for status, n in sorted(result.statuses.items()))
    return (shown or "none") + (f", {len(result.errors)} errors" if result.errors else "")


def append_round(side: Side, clients: int, seconds: float, index: int) -> Round:
    """One timed round on one side (see the module's docstring)."""
    claims: list[str] = []  # list.append is atomic: the client threads share it
    meters: list[CpuMeter] = []
    sampler = LagSampler(side.ports[0]) if side.sample_lag else None

    def prepare(_index: int, client: Client) -> str:
        claim = side.register(client)
        claims.append(claim)
        return claim

    def started() -> None:
        meters.append(CpuMeter(side.pgids))
        if sampler is not None:
            sampler.start()

    log(f"{side.name}: round {index + 1}, {clients} client(s), {seconds:.0f} s")
    result = run_load(
        port=side.ports,
        key=side.key,
        clients=clients,
        duration=seconds,
        prepare=prepare,
        step=post_rebuttal,
        on_start=started,
    )
    ended = time.perf_counter()
    cpu = meters[0].stop()
    lag = sampler.stop() if sampler is not None else []
    for error in result.errors[:3]:
        log(f"{side.name}: error: {error}")
    catch_up = wait_caught_up(side.ports[0], ended) if side.projector else None
    return Round(side.name, index, clients, result, cpu, side.stored(claims), lag, catch_up)


def warm_up(side: Side, clients: int, seconds: float) -> None:
    """Appends for a while, unmeasured: connections, code paths and caches warm."""
    log(f"{side.name}: warming up")
    result = run_load(
        port=side.ports,
        key=side.key,
        clients=clients,
        duration=seconds,
        prepare=lambda _i, client: side.register(client),
        step=post_rebuttal,
    )
    if result.errors or result.ok != sum(result.statuses.values()):
        raise RuntimeError(f"{side.name}: warm-up failed: {statuses(result)} {result.errors[:3]}")
    if side.projector:
        wait_caught_up(side.ports[0], time.perf_counter())


# --- the read models' lag ----------------------------------------------------------------


def readyz(client: Client) -> tuple[int, int]:
    """(the ledger's head, the read models' lag in events) as `/readyz` says."""
    ready = client.json("GET", "/readyz")
    lags = [int(status["lag"]) for status in ready["read_models"].values()]
    return int(ready["position"]), max(lags)


CATCH_UP_TIMEOUT = 300.0


def wait_caught_up(port: int, since: float, timeout: float = CATCH_UP_TIMEOUT) -> float:
    """Polls `/readyz` until the read models' lag is 0; returns the seconds from
    `since` (a perf_counter) until then."""
    client = Client(port)
    try:
        while time.perf_counter() - since < timeout:
            if readyz(client)[1] == 0:
                return time.perf_counter() - since
            time.sleep(0.02)
    finally:
        client.close()
    raise RuntimeError(f"the read models did not catch up within {timeout:.0f} s")


class LagSampler:
    """Samples `/readyz` every `every` seconds, in a thread, until stopped."""

    def __init__(self, port: int, every: float = 0.2) -> None:
        self.port = port
        self.every = every
        self.samples: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lag sampler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> list[int]:
        self._stop.set()
        self._thread.join(timeout=10)
        return self.samples

    def _run(self) -> None:
        client = Client(self.port)
        try:
            while not self._stop.is_set():
                began = time.perf_counter()
                self.samples.append(readyz(client)[1])
                self._stop.wait(max(0.0, self.every - (time.perf_counter() - began)))
        except Exception as error:
            log(f"/readyz sampler stopped: {type(error).__name__}: {error}")
        finally:
            client.close()


def lag_summary(samples: Sequence[int]) -> str:
    ordered = sorted(float(s) for s in samples)
    if not ordered:
        return "no samples"
    return f"p50 {percentile(ordered, 0.5):.0f}, max {ordered[-1]:.0f} ({len(ordered)} samples)"
