"""The projector as operators run it: `factledger project` and `rebuild` as
subprocesses, killed and restarted, two at once; on both backends."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import psycopg
import pytest
from psycopg import sql

from factledger.service import LedgerService
from factledger.settings import Settings
from storage.database import Backend, Database
from tests.e2e.processes import FACTLEDGER, call, free_port, run
from tests.stories import append, dump, random_ledger

pytestmark = pytest.mark.slow


class Projecting:
    """A `factledger project` subprocess and what it has logged."""

    def __init__(self, database_url: str, cwd: Path, name: str, batch_size: int = 500) -> None:
        self.log_path = cwd / f"{name}.log"
        self._log: IO[bytes] = self.log_path.open("wb")
        env = {
            **os.environ,
            "FACTLEDGER_DATABASE_URL": database_url,
            "FACTLEDGER_PROJECTOR_BATCH_SIZE": str(batch_size),
        }
        self.process = subprocess.Popen(
            [FACTLEDGER, "project"], env=env, cwd=cwd, stdout=self._log, stderr=self._log
        )

    def log(self) -> str:
        return self.log_path.read_text()

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(20)
        self._log.close()


@pytest.fixture
def projecting(database_url: str, tmp_path: Path) -> Iterator[Callable[..., Projecting]]:
    started: list[Projecting] = []

    def start(name: str, batch_size: int = 500) -> Projecting:
        started.append(Projecting(database_url, tmp_path, name, batch_size))
        return started[-1]

    yield start
    for process in started:
        process.stop()


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> float:
    """Seconds it took for `condition` to hold; fails after `timeout`."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.05)
    return time.monotonic() - started


def caught_up(service: LedgerService) -> bool:
    return (
        service.persistence.read_models.position() == service.persistence.event_log.head_position()
    )


def rebuilt(service: LedgerService, database_url: str, cwd: Path) -> Any:
    done = run("rebuild", database_url=database_url, cwd=cwd, timeout=120)
    assert done.returncode == 0, done.stderr
    return dump(service)


@pytest.fixture
def quiet_service(database_url: str) -> Iterator[LedgerService]:
    opened = LedgerService(Settings(database_url=database_url, projector=False))
    try:
        yield opened
    finally:
        opened.close()


def test_rebuild_reports_and_equals_what_the_live_projector_made(
    quiet_service: LedgerService,
    database_url: str,
    tmp_path: Path,
    projecting: Callable[..., Projecting],
) -> None:
    append(quiet_service, random_ledger(seed=1, claims=30), per_transaction=3)
    projecting("p", batch_size=7)
    wait_until(lambda: caught_up(quiet_service), 30, "the projector catches up")
    live = dump(quiet_service)

    done = run("rebuild", database_url=database_url, cwd=tmp_path, timeout=120)

    assert done.returncode == 0, done.stderr
    head = quiet_service.persistence.event_log.head_position()
    assert "30 claims" in done.stdout
    assert f"live at position {head}" in done.stdout
    assert dump(quiet_service) == live
    assert len(live[0]) == 30


@contextmanager
def projector_blocked_inside_its_transaction(database_url: str) -> Iterator[None]:
    """Holds a lock the projector's next batch needs before it can commit."""
    database = Database.from_url(database_url)
    if database.backend is Backend.SQLITE:
        # SQLite's write lock: the batch has read and folded its events and
        # waits at its first write.
        conn = sqlite3.connect(str(database.sqlite_path), isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            conn.rollback()
            conn.close()
        return
    # The tracking row: the batch has written its rows and waits to advance it.
    with psycopg.connect(database_url.split("?", maxsplit=1)[0], autocommit=False) as conn:
        conn.execute(
            sql.SQL("SELECT * FROM {} WHERE application_name = 'read_models' FOR UPDATE").format(
                sql.Identifier(database.schema, "read_model_tracking")
            )
        )
        try:
            yield
        finally:
            conn.rollback()


def waiting_for_a_lock(database_url: str) -> bool:
    database = Database.from_url(database_url)
    if database.backend is Backend.SQLITE:
        time.sleep(1.5)  # SQLite cannot tell; its busy timeout is 10 s
        return True
    with psycopg.connect(database_url.split("?", maxsplit=1)[0]) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE NOT l.granted AND n.nspname = %s",
            (database.schema,),
        ).fetchone()
        if row and row[0]:
            return True
        # A row lock is waited for on the holder's transaction id.
        row = conn.execute(
            "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
            " WHERE NOT l.granted AND l.locktype = 'transactionid'"
            " AND a.datname = current_database()"
        ).fetchone()
        return bool(row and row[0])


def test_a_projector_killed_mid_batch_then_restarted_applies_every_event_once(
    quiet_service: LedgerService,
    database_url: str,
    tmp_path: Path,
    projecting: Callable[..., Projecting],
) -> None:
    append(quiet_service, random_ledger(seed=2, claims=20), per_transaction=2)
    first = projecting("first", batch_size=5)
    wait_until(lambda: caught_up(quiet_service), 30, "the projector catches up")
    first.stop()
    position = quiet_service.persistence.read_models.position()
    append(quiet_service, random_ledger(seed=3, claims=20), per_transaction=2)

    with projector_blocked_inside_its_transaction(database_url):
        doomed = projecting("doomed", batch_size=5)
        wait_until(lambda: waiting_for_a_lock(database_url), 15, "the batch waits for the lock")
        doomed.kill()
    assert quiet_service.persistence.read_models.position() == position  # the batch left nothing

    projecting("restarted", batch_size=5)
    wait_until(lambda: caught_up(quiet_service), 30, "the restarted projector catches up")

    live = dump(quiet_service)
    assert live == rebuilt(quiet_service, database_url, tmp_path)
    assert len(live[0]) == 40


def test_one_projector_works_at_a_time_and_another_takes_over_when_it_dies(
    quiet_service: LedgerService,
    projecting: Callable[..., Projecting],
) -> None:
    one, two = projecting("one"), projecting("two")

    def roles() -> tuple[bool, bool]:
        return ("projector: leading" in one.log(), "projector: leading" in two.log())

    wait_until(lambda: any(roles()) and "standing by" in one.log() + two.log(), 30, "roles")
    leader, standby = (one, two) if roles()[0] else (two, one)
    assert "leading" not in standby.log()

    append(quiet_service, random_ledger(seed=4, claims=10))
    wait_until(lambda: caught_up(quiet_service), 30, "the leader catches up")

    leader.kill()
    append(quiet_service, random_ledger(seed=5, claims=10))
    took = wait_until(lambda: caught_up(quiet_service), 10, "the standby takes over")

    assert "projector: leading" in standby.log()
    assert took < 5, took


def test_serve_runs_a_projector_unless_told_not_to(database_url: str, tmp_path: Path) -> None:
    def readiness(*flags: str) -> dict[str, Any]:
        port = free_port()
        env = {**os.environ, "FACTLEDGER_DATABASE_URL": database_url}
        server = subprocess.Popen(
            [FACTLEDGER, "serve", "--port", str(port), *flags],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_until(lambda: _answers(base + "/healthz"), 30, "serve starts")
            status, ready = call(base, "GET", "/readyz")
            assert status == 200
            return ready  # type: ignore[no-any-return]
        finally:
            server.terminate()
            server.wait(10)

    assert readiness()["projector"] in ("leading", "standing_by")
    assert readiness("--no-projector")["projector"] == "off"


def _answers(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=1)
    except OSError:
        return False
    return True


def test_a_second_rebuild_at_once_is_refused_with_one_line(
    quiet_service: LedgerService, database_url: str, tmp_path: Path
) -> None:
    held = quiet_service.persistence.rebuild_lock()
    assert held.try_acquire()
    try:
        done = run("rebuild", database_url=database_url, cwd=tmp_path)
    finally:
        held.release()
    assert done.returncode != 0
    assert done.stderr.strip() == (
        "error: another rebuild is running on this database; wait for it to end"
    )
    assert run("rebuild", database_url=database_url, cwd=tmp_path).returncode == 0
