"""`kill -9`, as a crashing host or an impatient operator delivers it: of
`serve` while it takes writes, then of `rebuild` part of the way through.
Nothing acknowledged is lost, and the read models the projector brings back
up to date equal a fresh rebuild. On both backends."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from factledger.service import LedgerService
from factledger.settings import Settings
from tests.e2e.processes import FACTLEDGER, Serving, call, create_key, run, wait_until
from tests.stories import append, dump, random_ledger

pytestmark = pytest.mark.slow

REBUILD_KILLED_AFTER = (0.5, 1.0, 1.5, 2.5)
"""Seconds after its start: in its start-up, in its reading, in its loading."""


class Writers:
    """Threads writing rebuttals until the server goes; the ids of the acknowledged ones."""

    def __init__(self, server: Serving, key: str, claim_ids: list[str], threads: int = 8) -> None:
        self.server = server
        self.key = key
        self.claim_ids = claim_ids
        self.acknowledged: list[str] = []
        self.answers: list[str] = []
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._write, args=(n,)) for n in range(threads)]

    def __enter__(self) -> Writers:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        for thread in self._threads:
            thread.join(30)

    def _write(self, n: int) -> None:
        body = json.dumps({"party": {"name": "Hanna Malyar"}, "statement": f"Battles {n}."})
        headers = {"Authorization": f"Bearer {self.key}", "Content-Type": "application/json"}
        sequence = 0
        while True:
            sequence += 1
            claim_id = self.claim_ids[(n + sequence) % len(self.claim_ids)]
            conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=30)
            try:
                conn.request("POST", f"/claims/{claim_id}/rebuttals", body, headers)
                response = conn.getresponse()
                answer = json.loads(response.read())
            except ConnectionRefusedError:
                return  # the server is gone
            except (OSError, http.client.HTTPException, ValueError) as error:
                with self._lock:
                    self.answers.append(f"broken: {type(error).__name__}")
                continue
            finally:
                conn.close()
            with self._lock:
                self.answers.append(str(response.status))
                if response.status == 201:
                    self.acknowledged.append(answer["event_id"])


def _caught_up(server: Serving) -> bool:
    status, ready = call(server.base, "GET", "/readyz")
    return status == 200 and all(m["lag"] == 0 for m in ready["read_models"].values())


def test_serve_killed_under_load_and_rebuilds_killed_midway_lose_nothing_acknowledged(
    serving: Callable[..., Serving], database_url: str, tmp_path: Path
) -> None:
    # Enough events for a rebuild to take a moment.
    service = LedgerService(Settings(database_url=database_url, projector=False))
    try:
        append(service, random_ledger(seed=8, claims=300), per_transaction=100)
    finally:
        service.close()
    key = create_key("editor", database_url, tmp_path)
    server = serving()
    claim_ids = []
    for n in range(4):
        status, claim = call(
            server.base,
            "POST",
            "/claims",
            {"text": f"Claim {n} of a crash.", "claimant": {"name": "Igor Konashenkov"}},
            key=key,
        )
        assert status == 201, claim
        claim_ids.append(claim["claim_id"])

    with Writers(server, key, claim_ids) as writers:
        time.sleep(2.0)
        server.process.send_signal(signal.SIGKILL)
        server.process.wait(10)
    assert len(writers.acknowledged) > 20, writers.answers[-5:]

    for seconds in REBUILD_KILLED_AFTER:
        rebuilding = subprocess.Popen(
            [FACTLEDGER, "rebuild"],
            env={**os.environ, "FACTLEDGER_DATABASE_URL": database_url},
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(seconds)
        rebuilding.send_signal(signal.SIGKILL)
        rebuilding.wait(10)

    after = serving()
    for event_id in writers.acknowledged:
        status, event = call(after.base, "GET", f"/events/{event_id}")
        assert status == 200, f"acknowledged event {event_id} is lost: {event}"
    wait_until(lambda: _caught_up(after), 60, "the read models catch up")
    service = LedgerService(Settings(database_url=database_url, projector=False))
    try:
        live = dump(service)
        done = run("rebuild", database_url=database_url, cwd=tmp_path, timeout=120)
        assert done.returncode == 0, done.stderr
        assert dump(service) == live
        assert len(live[0]) == 300 + 4
    finally:
        service.close()
