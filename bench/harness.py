"""What every benchmark needs around it: fresh databases, a real `factledger
serve` subprocess, API keys, CPU accounting, and cleanup on any exit.

Everything made here is registered with a `Cleanup` so that a Ctrl-C, a
SIGTERM or an error still drops the temporary databases and stops the
servers that this run started (and only those).
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import psycopg
from psycopg import sql

DEFAULT_POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
DB_PREFIX = "factledger_bench_"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def log(message: str) -> None:
    """Progress goes to standard error; results go to standard output."""
    print(f"  .. {message}", file=sys.stderr, flush=True)


class Cleanup:
    """Undo actions run last-in first-out, whatever happens."""

    def __init__(self) -> None:
        self._actions: list[tuple[str, Callable[[], None]]] = []

    def push(self, what: str, action: Callable[[], None]) -> Callable[[], None]:
        """Registers an undo action; returns a callable that runs it now (once)."""
        entry = (what, action)
        self._actions.append(entry)

        def run_now() -> None:
            if entry in self._actions:
                self._actions.remove(entry)
                _run_quietly(what, action)

        return run_now

    def run_all(self) -> None:
        while self._actions:
            what, action = self._actions.pop()
            _run_quietly(what, action)


def _run_quietly(what: str, action: Callable[[], None]) -> None:
    try:
        action()
    except Exception as error:
        print(f"warning: cleanup of {what} failed: {error}", file=sys.stderr)


def install_signal_handlers() -> None:
    """SIGINT, SIGTERM and SIGHUP unwind like Ctrl-C, so every finally block runs
    (SIGINT too when a shell started this run in the background with it ignored)."""

    def interrupt(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGHUP, interrupt)


# --- databases ------------------------------------------------------------------


@dataclass
class Workspace:
    """Where this run keeps its temporary files and how it reaches PostgreSQL."""

    cleanup: Cleanup
    postgres_admin_url: str
    root: Path = field(init=False)

    def __post_init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="factledger-bench-"))
        self.cleanup.push(f"temp dir {self.root}", lambda: shutil.rmtree(self.root, True))

    def new_database(self, backend: str, label: str) -> tuple[str, Callable[[], None]]:
        """A fresh, empty database; returns its URL and a function that drops it."""
        if backend == "sqlite":
            directory = Path(tempfile.mkdtemp(prefix=f"{label}-", dir=self.root))
            drop = self.cleanup.push(
                f"sqlite dir {directory}", lambda: shutil.rmtree(directory, True)
            )
            return f"sqlite:///{directory / 'ledger.db'}", drop
        name = f"{DB_PREFIX}{label}_{secrets.token_hex(4)}"
        with self._admin() as admin:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        drop = self.cleanup.push(f"database {name}", lambda: self._drop(name))
        return f"{self.postgres_admin_url.rsplit('/', 1)[0]}/{name}", drop

    def _admin(self) -> psycopg.Connection[Any]:
        return psycopg.connect(self.postgres_admin_url, autocommit=True, connect_timeout=5)

    def _drop(self, name: str) -> None:
        assert name.startswith(DB_PREFIX)
        with self._admin() as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    def check_postgres(self) -> str:
        with self._admin() as admin:
            row = admin.execute("SHOW server_version").fetchone()
        assert row is not None
        return str(row[0])


def sqlite_path(url: str) -> str:
    return url.removeprefix("sqlite:///")


# --- the server -------------------------------------------------------------------


def factledger_command() -> str:
    """The `factledger` script of the Python running this benchmark (the venv's)."""
    beside = Path(sys.executable).parent / "factledger"
    if beside.exists():
        return str(beside)
    found = shutil.which("factledger")
    if found is None:
        raise SystemExit(
            "error: the `factledger` command is not installed; run with .venv/bin/python"
        )
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def create_key(database_url: str, role: str = "editor") -> str:
    """`factledger keys create`; the key is the last line of standard output."""
    done = subprocess.run(
        [factledger_command(), "keys", "create", "--name", "bench", "--role", role],
        env={**os.environ, "FACTLEDGER_DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"factledger keys create failed: {done.stderr.strip()}")
    return done.stdout.strip().splitlines()[-1]


class Server:
    """A server subprocess on a free port, in a process group of its own (so that
    its workers and children are stopped, and their CPU counted, with it).
    Ready once `GET /healthz` answers 200."""

    def __init__(
        self,
        workspace: Workspace,
        name: str,
        command: Sequence[str],
        env: Mapping[str, str],
        port: int,
    ) -> None:
        self.name = name
        self.port = port
        self.log_path = workspace.root / f"{name}-{port}.log"
        with self.log_path.open("wb") as log_file:
            self.process = subprocess.Popen(
                list(command),
                env={**os.environ, **env},
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=log_file,
                start_new_session=True,
            )
        self._stop_now = workspace.cleanup.push(f"{name} pid {self.process.pid}", self._stop)
        self._wait_ready()

    @property
    def pid(self) -> int:
        return self.process.pid

    def rss_mib(self) -> float:
        """The resident memory of the server's main process (the one that serves
        requests when it runs one worker)."""
        return rss_mib(self.pid) or 0.0

    def _wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.process.returncode}:\n{self.log_tail()}"
                )
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    conn.close()
                    return
                conn.close()
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not get ready in {timeout} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(text[-lines:])

    def stop(self) -> None:
        self._stop_now()

    def _stop(self) -> None:
        if self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGINT)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)


def factledger_serve(
    workspace: Workspace, database_url: str, *, workers: int = 1, projector: bool = True
) -> Server:
    """`factledger serve --workers N` (with `--no-projector` when `projector` is false)."""
    port = free_port()
    command = [factledger_command(), "serve", "--port", str(port), "--workers", str(workers)]
    if not projector:
        command.append("--no-projector")
    env = {
        "FACTLEDGER_DATABASE_URL": database_url,
        # One checkpoint signing key per ledger, in the run's directory (every
        # server of a ledger shares it), never one in the working directory.
        "FACTLEDGER_CHECKPOINT_KEY_FILE": str(
            workspace.root / f"{checkpoint_key_name(database_url)}"
        ),
    }
    return Server(workspace, "serve", command, env, port)


def checkpoint_key_name(database_url: str) -> str:
    return f"{hashlib.sha256(database_url.encode()).hexdigest()[:16]}.checkpoint.key"


def rss_mib(pid: int) -> float | None:
    """A process's resident memory now (VmRSS), in MiB; None when it is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


# --- CPU accounting ----------------------------------------------------------------


def _groups_cpu_seconds(pgids: Collection[int]) -> float:
    """User + system CPU of every live process in these process groups."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # after the command name: state(0) ppid(1) pgrp(2) ... utime(11) stime(12)
        if int(fields[2]) in pgids:
            total += int(fields[11]) + int(fields[12])
    return total / CLOCK_TICKS


def _machine_busy_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + values[4]
    total = sum(values[:8])
    return (total - idle) / CLOCK_TICKS, total / CLOCK_TICKS


@dataclass
class CpuUse:
    """CPU used during a measurement, in cores (1.0 = one core busy all the time)."""

    server: float
    client: float
    machine: float

    def describe(self) -> str:
        return f"server {self.server:.2f}, bench {self.client:.2f}, machine {self.machine:.2f}"


class CpuMeter:
    """Samples the servers' process groups, this process and the whole machine."""

    def __init__(self, server_pgids: Collection[int] = ()) -> None:
        self.server_pgids = frozenset(server_pgids)
        self._start = self._sample()
        self._t0 = time.monotonic()

    def _sample(self) -> tuple[float, float, float]:
        server = _groups_cpu_seconds(self.server_pgids) if self.server_pgids else 0.0
        times = os.times()
        busy, _ = _machine_busy_seconds()
        return server, times.user + times.system, busy

    def stop(self) -> CpuUse:
        end = self._sample()
        elapsed = max(time.monotonic() - self._t0, 1e-9)
        server, client, machine = ((b - a) / elapsed for a, b in zip(self._start, end, strict=True))
        return CpuUse(server=server, client=client, machine=machine)


# --- side by side --------------------------------------------------------------------

A = TypeVar("A")
B = TypeVar("B")


def alternate(
    rounds: int, first: Callable[[int], A], second: Callable[[int], B]
) -> list[tuple[A, B]]:
    """`first(i)` then `second(i)`, for i in range(rounds): A B A B ..., so that
    whatever else the machine does over the run weighs on both sides alike."""
    pairs = []
    for i in range(rounds):
        a = first(i)
        b = second(i)
        pairs.append((a, b))
    return pairs
