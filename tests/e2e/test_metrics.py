"""`GET /metrics` of `factledger serve --workers N`, scraped as Prometheus
scrapes it: whichever worker answers, the figures are those of every worker
added up. On both backends."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from uuid import uuid4

import pytest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.processes import (
    Serving,
    alive,
    call,
    children_of,
    create_key,
    fetch_text,
    wait_until,
)

pytestmark = pytest.mark.slow

CLAIMS = 24
"""Registered, then each read once; as many bad ids and unknown paths."""


Figures = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(server: Serving) -> Figures:
    status, content_type, text = fetch_text(server.base, "/metrics")
    assert status == 200, text
    assert content_type.startswith("text/plain; version=0.0.4")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def figure(figures: Figures, name: str, **labels: str) -> float | None:
    return figures.get((name, frozenset(labels.items())))


def requests(figures: Figures, method: str, route: str, status: int) -> float | None:
    return figure(
        figures, "factledger_http_requests_total", method=method, route=route, status=str(status)
    )


def start(serving: Callable[..., Serving], tmp_path: Path, workers: int) -> tuple[Serving, Path]:
    """`serve --workers N` with its temporary files under the test's own
    directory, so that its metrics directory can be looked at."""
    temporary = tmp_path / "tmp"
    temporary.mkdir(exist_ok=True)
    server = serving("--workers", str(workers), env={"TMPDIR": str(temporary)})
    wait_until(
        lambda: figure(scrape(server), "factledger_workers") == workers, 30, "every worker counts"
    )
    return server, temporary


def send_requests(server: Serving, key: str) -> None:
    """A round of requests, from several threads, each on a connection of its
    own, so that the workers share them."""

    def register(n: int) -> str:
        status, event = call(
            server.base, "POST", "/claims", {"text": f"Claim {n}", "claimant": {"name": "K"}}, key
        )
        assert status == 201, event
        return str(event["claim_id"])

    def read(path: str, expected: int) -> None:
        assert call(server.base, "GET", path)[0] == expected

    with ThreadPoolExecutor(8) as pool:
        claim_ids = list(pool.map(register, range(CLAIMS)))
        reads = [(f"/claims/{claim_id}", 200) for claim_id in claim_ids]
        reads += [("/claims/not-a-uuid", 422), (f"/nowhere/{uuid4()}", 404)] * CLAIMS
        list(pool.map(lambda read_: read(*read_), reads))


def assert_every_request_counted_once(figures: Figures, rounds: int = 1) -> None:
    sent = rounds * CLAIMS
    assert requests(figures, "POST", "/claims", 201) == sent
    assert requests(figures, "GET", "/claims/{claim_id}", 200) == sent
    assert requests(figures, "GET", "/claims/{claim_id}", 422) == sent
    assert requests(figures, "GET", "unmatched", 404) == sent
    latencies = figure(
        figures,
        "factledger_http_request_duration_seconds_count",
        method="GET",
        route="/claims/{claim_id}",
    )
    assert latencies == 2 * sent
    assert figure(figures, "factledger_appended_events_total") == sent
    assert figure(figures, "factledger_append_batch_events_sum") == sent
    batches = figure(figures, "factledger_append_batch_events_count")
    assert batches is not None
    assert rounds <= batches <= sent


def worker_pids(server: Serving) -> list[int]:
    """uvicorn's workers (not the projector child, nor multiprocessing's helper)."""

    def worker(pid: int) -> bool:
        try:
            command = Path(f"/proc/{pid}/cmdline").read_text()
        except OSError:
            return False
        return "spawn_main" in command

    return [pid for pid in children_of(server.process.pid) if worker(pid) and alive(pid)]


def requests_counted_by_each_worker(temporary: Path) -> list[float]:
    """The requests each worker's own file holds (as a scrape reads them)."""
    [directory] = temporary.glob("factledger-metrics-*")
    return [
        sum(
            sample.value
            for family in MultiProcessCollector.merge([str(path)])
            if family.name == "factledger_http_requests"
            for sample in family.samples
        )
        for path in directory.glob("counter_*.db")
    ]


@pytest.mark.parametrize("workers", [2, 1])
def test_every_scrape_counts_the_requests_of_every_worker_exactly_once(
    serving: Callable[..., Serving], database_url: str, tmp_path: Path, workers: int
) -> None:
    key = create_key("contributor", database_url, tmp_path)
    server, temporary = start(serving, tmp_path, workers)
    rounds = 0
    while True:  # until every worker has served some (the kernel deals them out)
        send_requests(server, key)
        rounds += 1
        by_worker = requests_counted_by_each_worker(temporary)
        if len([n for n in by_worker if n > 0]) == workers or rounds == 5:
            break
    assert len([n for n in by_worker if n > 0]) == workers, by_worker

    for _ in range(6):  # whichever worker answers
        assert_every_request_counted_once(scrape(server), rounds)

    def read_models_caught_up() -> bool:
        figures = scrape(server)
        head = figure(figures, "factledger_ledger_position")
        return (
            head is not None
            and head >= rounds * CLAIMS
            and all(
                figure(figures, "factledger_read_model_position", read_model=name) == head
                and figure(figures, "factledger_read_model_lag_events", read_model=name) == 0
                for name in ("claims", "verdict_changes")
            )
        )

    wait_until(read_models_caught_up, 30, "the read models' positions reach the head")
    figures = scrape(server)
    assert figure(figures, "factledger_database_up") == 1
    assert figure(figures, "factledger_projector_role", role="leading") == 1
    assert figure(figures, "factledger_projector_role", role="off") == 0
    assert (figure(figures, "factledger_history_cache_histories") or 0) >= 1
    assert (figure(figures, "factledger_history_cache_bytes") or 0) > 0
    assert figure(figures, "factledger_history_cache_budget_bytes") == workers * 256 * 2**20

    server.stop()
    assert not list(temporary.glob("factledger-metrics-*")), "removed when serve ends"


def test_a_worker_killed_outright_stops_counting_as_alive_but_its_requests_still_count(
    serving: Callable[..., Serving], database_url: str, tmp_path: Path
) -> None:
    key = create_key("contributor", database_url, tmp_path)
    server, _ = start(serving, tmp_path, 2)
    send_requests(server, key)
    workers = worker_pids(server)
    assert len(workers) == 2

    os.kill(workers[0], signal.SIGKILL)
    wait_until(lambda: not alive(workers[0]), 10, "the worker dies")
    wait_until(lambda: bool(set(worker_pids(server)) - set(workers)), 30, "uvicorn starts another")
    wait_until(
        lambda: figure(scrape(server), "factledger_workers") == 2, 30, "the new worker counts"
    )
    for _ in range(4):
        figures = scrape(server)
        assert figure(figures, "factledger_workers") == 2  # not 3: the dead one is forgotten
        assert_every_request_counted_once(figures)
