"""Fixtures of the end-to-end tests: `factledger serve` as a subprocess."""

from __future__ import annotations

import os
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.e2e.processes import FACTLEDGER, Serving, create_key, free_port


@pytest.fixture
def served(database_url: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A `factledger serve` subprocess, and a contributor's key."""
    key = create_key("contributor", database_url, tmp_path)
    port = free_port()
    env = {**os.environ, "FACTLEDGER_DATABASE_URL": database_url}
    server = subprocess.Popen(
        [FACTLEDGER, "serve", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(base + "/healthz", timeout=1)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"serve did not start: {server.stderr}") from None
                time.sleep(0.1)
        yield base, key
    finally:
        server.terminate()
        server.wait(10)
        if server.stderr:
            server.stderr.close()


@pytest.fixture
def serving(database_url: str, tmp_path: Path) -> Iterator[Callable[..., Serving]]:
    """Starts `factledger serve` subprocesses (flags, and `env=` for more of the
    environment); each is stopped at the end."""
    started: list[Serving] = []

    def start(*flags: str, env: dict[str, str] | None = None) -> Serving:
        started.append(Serving(database_url, tmp_path, *flags, env=env))
        return started[-1]

    yield start
    for server in started:
        server.stop()
