"""What a served process counts, in Prometheus's terms, and how the workers of
one `serve` count together.

`serve` makes one directory for all its workers (`serving_directory`: named
to them as PROMETHEUS_MULTIPROC_DIR, made afresh before the first worker
starts, removed when `serve` ends). Each worker keeps its figures in files
there (prometheus_client's multiprocess mode), and a scrape answered by any
worker adds up the files of all of them. A worker that has gone is marked
dead at the next scrape: its gauges stop counting, its counters go on
counting (what it counted happened). Without the directory (tests, an app
embedded in another program) a process counts alone.

Where each figure comes from:

- requests and their latency: `api.metrics`' middleware, once per request;
- events appended and the sizes of the writer's group commits: the writer,
  once per batch (`Writer.on_batch`);
- the history cache: `Histories.report()`, copied every second and at each
  scrape (`sample_cache`), so that a read pays nothing for it;
- the ledger's head, the read models' positions and lag, the projector's
  role: read when scraped (`api.metrics`), since they belong to the ledger
  and not to a process.

docs/metrics.md describes every metric.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Protocol

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    values,
)
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

from factledger.histories import CacheReport
from factledger.writer import MAX_BATCH

__all__ = [
    "MULTIPROCESS_DIRECTORY",
    "ProcessMetrics",
    "Source",
    "forget_dead_workers",
    "serving_directory",
]

MULTIPROCESS_DIRECTORY: Final = "PROMETHEUS_MULTIPROC_DIR"
"""The variable prometheus_client (and `Settings.metrics_dir`) read the directory from."""

LATENCY_BUCKETS: Final = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)
"""Seconds: an append takes about a millisecond alone, every answer comes within 10 s."""
BATCH_BUCKETS: Final = (1, 2, 4, 8, 16, 32, 64, 128, 256, MAX_BATCH)
"""Events per group commit: at most `MAX_BATCH`."""


class Source(Protocol):
    """Anything that gives metrics when scraped (a registry, a collector)."""

    def collect(self) -> Iterable[Metric]: ...


@dataclass
class _Counted:
    """What the history cache's counters said when last copied."""

    hits: int = 0
    misses: int = 0


class ProcessMetrics:
    """The figures one process keeps. With a `directory` (the process's
    PROMETHEUS_MULTIPROC_DIR) they are kept in files there, so make one per
    process; without, in memory, one per app if need be."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory
        if directory is not None:
            _keep_values_in_files()
        # Files keep no creation times: in memory, none either.
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.registry = CollectorRegistry(auto_describe=True)
        """Where this process's metrics are registered (read when it counts alone)."""
        registry = self.registry
        self.requests = Counter(
            "factledger_http_requests",
            "HTTP requests answered, by method, route template and status.",
            ("method", "route", "status"),
            registry=registry,
        )
        self.request_seconds = Histogram(
            "factledger_http_request_duration_seconds",
            "Seconds from a request's arrival to its answer's status line, by method "
            "and route template.",
            ("method", "route"),
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.appended = Counter(
            "factledger_appended_events",
            "Events appended (committed) by the writers.",
            registry=registry,
        )
        self.batch_events = Histogram(
            "factledger_append_batch_events",
            "Events per group commit of a writer (one transaction each).",
            buckets=BATCH_BUCKETS,
            registry=registry,
        )
        self.workers = Gauge(
            "factledger_workers",
            "Worker processes alive.",
            multiprocess_mode="livesum",
            registry=registry,
        )
        self.cache_bytes = Gauge(
            "factledger_history_cache_bytes",
            "Estimated memory taken by the decoded claim histories of the live workers.",
            multiprocess_mode="livesum",
            registry=registry,
        )
        self.cache_budget = Gauge(
            "factledger_history_cache_budget_bytes",
            "The most the live workers' histories may take (FACTLEDGER_HISTORY_CACHE_MIB each).",
            multiprocess_mode="livesum",
            registry=registry,
        )
        self.cache_histories = Gauge(
            "factledger_history_cache_histories",
            "Claim histories the live workers keep decoded (a claim kept by two counts twice).",
            multiprocess_mode="livesum",
            registry=registry,
        )
        self.cache_events = Gauge(
            "factledger_history_cache_events",
            "Events in the histories the live workers keep.",
            multiprocess_mode="livesum",
            registry=registry,
        )
        self.cache_hits = Counter(
            "factledger_history_cache_hits",
            "Looks for a claim's history that found it kept.",
            registry=registry,
        )
        self.cache_misses = Counter(
            "factledger_history_cache_misses",
            "Looks for a claim's history that had to read it from the database.",
            registry=registry,
        )
        self._requests_by_label: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}
        self._counted = _Counted()
        self._sampling = threading.Lock()

    # --- counting ------------------------------------------------------------------

    def start(self) -> None:
        """This process serves: it counts as a worker."""
        self.workers.set(1)

    def request_answered(self, method: str, route: str, status: int, seconds: float) -> None:
        """One request (from the event loop: not thread-safe)."""
        key = (method, route, status)
        labelled = self._requests_by_label.get(key)
        if labelled is None:
            labelled = (
                self.requests.labels(method, route, str(status)),
                self.request_seconds.labels(method, route),
            )
            self._requests_by_label[key] = labelled
        count, latency = labelled
        count.inc()
        latency.observe(seconds)

    def batch_committed(self, events: int) -> None:
        """One group commit of the writer, of `events` events."""
        self.appended.inc(events)
        self.batch_events.observe(events)

    def sample_cache(self, report: CacheReport) -> None:
        """Copies what the history cache says of itself."""
        with self._sampling:
            self.cache_bytes.set(report.size_bytes)
            self.cache_budget.set(report.budget_bytes)
            self.cache_histories.set(report.claims)
            self.cache_events.set(report.events)
            self.cache_hits.inc(max(0, report.hits - self._counted.hits))
            self.cache_misses.inc(max(0, report.misses - self._counted.misses))
            self._counted = _Counted(report.hits, report.misses)

    def close(self) -> None:
        """This process no longer serves: its gauges no longer count."""
        self.workers.set(0)
        if self.directory is not None:
            mark_process_dead(os.getpid(), str(self.directory))  # type: ignore[no-untyped-call]

    # --- scraping ------------------------------------------------------------------

    def exposition(self, *scraped: Source) -> bytes:
        """Prometheus's text format of every worker's figures together, then of
        `scraped` (read now)."""
        if self.directory is None:
            kept: Source = self.registry
        else:
            forget_dead_workers(self.directory)
            kept = MultiProcessCollector(None, path=str(self.directory))  # type: ignore[no-untyped-call]
        return generate_latest(_Together((kept, *scraped)))


class _Together:
    def __init__(self, sources: Sequence[Source]) -> None:
        self.sources = sources

    def collect(self) -> Iterator[Metric]:
        for source in self.sources:
            yield from source.collect()


def _keep_values_in_files() -> None:
    """prometheus_client decides where values live when it is first imported,
    from PROMETHEUS_MULTIPROC_DIR: a `serve` that runs its one worker in its
    own process imported it before it made the directory, so it is told again
    (as its documentation shows for other process identifiers)."""
    if values.ValueClass is values.MutexValue:
        values.ValueClass = values.MultiProcessValue()  # type: ignore[no-untyped-call]


def forget_dead_workers(directory: Path) -> None:
    """Marks dead the workers that left gauges in `directory` and are gone
    without saying so (killed, crashed): uvicorn starts others in their place."""
    for pid in {int(path.stem.rpartition("_")[2]) for path in directory.glob("gauge_live*_*.db")}:
        if not _alive(pid):
            mark_process_dead(pid, str(directory))  # type: ignore[no-untyped-call]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's: not ours to forget
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    """Dead, and not yet reaped by its parent (Linux; elsewhere: not known)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] == "Z"


@contextmanager
def serving_directory() -> Iterator[Path]:
    """A metrics directory for one `serve` and the workers it starts, named to
    them in the environment they inherit; made empty, removed at the end.

    Made under the system's temporary directory (TMPDIR): memory, where it
    is a tmpfs. A `serve` killed outright leaves it behind."""
    directory = Path(tempfile.mkdtemp(prefix="factledger-metrics-"))
    os.environ[MULTIPROCESS_DIRECTORY] = str(directory)
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)
