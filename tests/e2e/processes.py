"""Helpers of the end-to-end tests that run `factledger` as a user does: as a
subprocess, from a directory of its own, talked to over HTTP."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

FACTLEDGER = str(Path(sys.executable).parent / "factledger")


def run(
    *args: str, database_url: str, cwd: Path, timeout: float = 60, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """`factledger <args>` to its end; `stdin`: what it reads on standard input."""
    env = {**os.environ, "FACTLEDGER_DATABASE_URL": database_url}
    return subprocess.run(
        [FACTLEDGER, *args],
        check=False,
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        input=stdin,
    )


def create_key(role: str, database_url: str, cwd: Path) -> str:
    done = run(
        "keys",
        "create",
        "--name",
        f"cli {role}",
        "--role",
        role,
        database_url=database_url,
        cwd=cwd,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def call(
    base: str, method: str, path: str, body: Any = None, key: str | None = None
) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def fetch_text(base: str, path: str) -> tuple[int, str, str]:
    """A GET whose answer is text: its status, content type and body."""
    try:
        with urllib.request.urlopen(base + path, timeout=10) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read().decode()


class Serving:
    """A `factledger serve` subprocess on a free port."""

    def __init__(
        self, database_url: str, cwd: Path, *flags: str, env: Mapping[str, str] | None = None
    ) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = cwd / f"serve-{self.port}.log"
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [FACTLEDGER, "serve", "--port", str(self.port), *flags],
                env={**os.environ, "FACTLEDGER_DATABASE_URL": database_url, **(env or {})},
                cwd=cwd,
                stdout=log,
                stderr=log,
            )
        wait_until(self._answers, 30, "serve starts")

    def _answers(self) -> bool:
        try:
            return call(self.base, "GET", "/healthz")[0] == 200
        except OSError:
            return False

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(20)


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.05)


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"
