"""`factledger serve` starting and stopping under load, as operators run it: a
SIGTERM answers every write it took, and its projector child never outlives
it, even when it is killed outright. On both backends."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.processes import (
    FACTLEDGER,
    Serving,
    alive,
    call,
    children_of,
    create_key,
    wait_until,
)

pytestmark = pytest.mark.slow


def test_sigterm_answers_every_write_it_took_and_keeps_every_one_it_acknowledged(
    serving: Callable[..., Serving], database_url: str, tmp_path: Path
) -> None:
    key = create_key("editor", database_url, tmp_path)
    server = serving("--no-projector")
    status, claim = call(
        server.base,
        "POST",
        "/claims",
        {"text": "Soledar was taken.", "claimant": {"name": "Igor Konashenkov"}},
        key=key,
    )
    assert status == 201
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()
    stop = threading.Event()

    def write() -> None:
        body = json.dumps({"party": {"name": "Hanna Malyar"}, "statement": "Battles."})
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        while not stop.is_set():
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
            try:
                conn.request("POST", f"/claims/{claim['claim_id']}/rebuttals", body, headers)
                outcome = str(conn.getresponse().status)
            except ConnectionRefusedError:
                outcome = "refused"  # nothing was sent: the server no longer listens
                stop.set()
            except (OSError, http.client.HTTPException) as error:
                outcome = f"broken: {type(error).__name__}"
            finally:
                conn.close()
            with lock:
                outcomes[outcome] += 1

    writers = [threading.Thread(target=write) for _ in range(12)]
    for thread in writers:
        thread.start()
    time.sleep(1.5)
    server.process.send_signal(signal.SIGTERM)
    # (uvicorn ends by raising the signal it caught again, once shut down.)
    assert server.process.wait(30) in (0, -signal.SIGTERM)
    assert "Application shutdown complete" in server.log()
    stop.set()
    for thread in writers:
        thread.join(30)

    # Connections still in the listening socket's backlog when it closes are
    # reset by the kernel: the server never read those requests. Every request
    # it did read was answered (and none was appended unanswered: below).
    assert set(outcomes) <= {"201", "503", "refused", "broken: ConnectionResetError"}, outcomes
    assert outcomes["201"] > 10
    after = serving("--no-projector")
    status, state = call(after.base, "GET", f"/claims/{claim['claim_id']}")
    assert status == 200
    assert state["version"] == 1 + outcomes["201"]  # each 201 kept, nothing else appended


def test_the_projector_child_leads_and_ends_with_serve_even_when_serve_is_killed(
    serving: Callable[..., Serving], database_url: str, tmp_path: Path
) -> None:
    server = serving()
    wait_until(
        lambda: call(server.base, "GET", "/readyz")[1]["projector"] == "leading",
        15,
        "the child projector leads",
    )
    [child] = children_of(server.process.pid)
    assert "project" in Path(f"/proc/{child}/cmdline").read_text()

    server.process.send_signal(signal.SIGKILL)
    server.process.wait(10)
    wait_until(lambda: not alive(child), 10, "the orphaned projector ends")

    log_path = tmp_path / "project.log"
    with log_path.open("wb") as log:
        taking_over = subprocess.Popen(
            [FACTLEDGER, "project"],
            env={**os.environ, "FACTLEDGER_DATABASE_URL": database_url},
            cwd=tmp_path,
            stdout=log,
            stderr=log,
        )
    try:
        # The lease was freed with the child: another projector leads at once.
        wait_until(lambda: "projector: leading" in log_path.read_text(), 10, "a new leader")
    finally:
        taking_over.terminate()
        taking_over.wait(10)


def test_serve_stopped_by_sigterm_leaves_no_projector_behind(
    serving: Callable[..., Serving],
) -> None:
    server = serving()
    wait_until(
        lambda: call(server.base, "GET", "/readyz")[1]["projector"] == "leading",
        15,
        "the child projector leads",
    )
    [child] = children_of(server.process.pid)
    server.stop()
    # The child hears it twice: from `serve` stopping it, and from the
    # operating system when `serve` is gone.
    wait_until(lambda: not alive(child), 10, "the projector child ends")


def test_a_projector_told_to_stop_many_times_at_once_stops(
    database_url: str, tmp_path: Path
) -> None:
    log_path = tmp_path / "project.log"
    with log_path.open("wb") as log:
        projecting = subprocess.Popen(
            [FACTLEDGER, "project"],
            env={**os.environ, "FACTLEDGER_DATABASE_URL": database_url},
            cwd=tmp_path,
            stdout=log,
            stderr=log,
        )
    try:
        wait_until(lambda: "projector: leading" in log_path.read_text(), 15, "it leads")
        # A burst, so that some arrive while it handles others (a handler that
        # took a lock there once deadlocked the process).
        for _ in range(200):
            projecting.send_signal(signal.SIGTERM)
        projecting.wait(10)
    finally:
        if projecting.poll() is None:
            projecting.kill()
            projecting.wait(10)
    assert "Stopped at position" in log_path.read_text()
