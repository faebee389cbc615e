"""A small, cheap HTTP load generator: N threads, each with one keep-alive
connection (the standard library's `http.client`, so that the client takes
as little of the machine's two cores as it can), each timing every request.

All clients prepare first (connect, register their claim), then start
together; a run lasts a fixed time, and a request that is in flight when
the time is up still completes and counts.
"""

from __future__ import annotations

import http.client
import json
import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any


class Client:
    """One keep-alive HTTP/1.1 connection to the server."""

    def __init__(self, port: int, key: str | None = None, timeout: float = 60.0) -> None:
        self.port = port
        self.timeout = timeout
        self.headers = {"Accept": "application/json"}
        if key is not None:
            self.headers["Authorization"] = f"Bearer {key}"
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, bytes]:
        headers = dict(self.headers)
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=payload, headers=headers)
                response = self.conn.getresponse()
                return response.status, response.read()
            except (ConnectionError, http.client.HTTPException):
                # The server closed an idle keep-alive connection: reconnect once.
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def json(self, method: str, path: str, body: Any = None, expect: int = 200) -> Any:
        status, data = self.request(method, path, body)
        if status != expect:
            raise RuntimeError(f"{method} {path}: {status} {data[:300]!r}")
        return json.loads(data)

    def close(self) -> None:
        self.conn.close()


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


@dataclass
class LoadResult:
    clients: int
    seconds: float
    statuses: Counter[int] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> int:
        return self.statuses.get(201, 0) + self.statuses.get(200, 0)

    @property
    def per_second(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def p(self, fraction: float) -> float:
        return percentile(sorted(self.latencies), fraction)


Prepare = Callable[[int, Client], Any]
Step = Callable[[int, Client, Any, int], int]
Between = Callable[[int, Client, Any, int], Any]


def run_load(
    *,
    port: int | Sequence[int],
    key: str | None,
    clients: int,
    duration: float,
    prepare: Prepare,
    step: Step,
    max_requests: int | None = None,
    between: Between | None = None,
    on_start: Callable[[], None] | None = None,
) -> LoadResult:
    """Runs `step(client_index, client, prepared, i)` in `clients` threads for `duration` seconds.

    `prepare(client_index, client)` runs before the clock starts; `step`
    makes one request and returns its status. With `max_requests`, each
    client stops after that many requests even if time remains. `between`,
    when given, runs before each step, untimed, and its result replaces
    what `prepare` returned (the run's clock still runs meanwhile). With
    several ports, the clients are dealt among them in turn. `on_start`,
    when given, runs once every client has prepared, as the clock starts.
    """
    ports = [port] if isinstance(port, int) else list(port)
    result = LoadResult(clients=clients, seconds=0.0)
    lock = threading.Lock()
    started: list[float] = [0.0]

    def start_clock() -> None:  # run by one thread, before any is released
        if on_start is not None:
            on_start()
        started[0] = time.perf_counter()

    ready = threading.Barrier(clients + 1, action=start_clock)
    stop = threading.Event()

    def worker(index: int) -> None:
        client = Client(ports[index % len(ports)], key)
        statuses: Counter[int] = Counter()
        latencies: list[float] = []
        try:
            try:
                prepared = prepare(index, client)
            finally:
                ready.wait()
            deadline = started[0] + duration
            i = 0
            while not stop.is_set() and time.perf_counter() < deadline:
                if max_requests is not None and i >= max_requests:
                    break
                if between is not None:
                    prepared = between(index, client, prepared, i)
                t0 = time.perf_counter()
                status = step(index, client, prepared, i)
                latencies.append(time.perf_counter() - t0)
                statuses[status] += 1
                i += 1
        except threading.BrokenBarrierError:
            pass
        except Exception as error:
            with lock:
                result.errors.append(f"client {index}: {type(error).__name__}: {error}")
        finally:
            client.close()
            with lock:
                result.statuses.update(statuses)
                result.latencies.extend(latencies)

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    try:
        ready.wait(timeout=120)
        for thread in threads:
            while thread.is_alive():
                thread.join(timeout=0.5)
        result.seconds = time.perf_counter() - started[0]
    finally:
        stop.set()
        ready.abort()
    return result
