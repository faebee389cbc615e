"""The README, followed as a new user follows it on a fresh clone, on SQLite
(its first lines) and on PostgreSQL (its section: `createdb`, `export`, `make
run`): every command it shows is run, and then every example of docs/, in a
second shell as a reader would (tests/doctests.py says how each block is
tagged and checked).

`make run` and `python3 scripts/dev.py run` are started in a copy of the
project's own files (with this `.venv`), so that they make `./factledger.db`
and `.factledger-dev-key` there as on a fresh clone, and stopped as a user
stops them: Ctrl-C, SIGINT to the whole process group. `make test` is not
run: it is the run this test is part of.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import secrets
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
from psycopg import sql

from tests.conftest import ADMIN_URL, IN_CI
from tests.doctests import (
    API_LINE,
    ROOT,
    Block,
    blocks,
    commands,
    factledger,
    get_json,
    run_pages,
    wait_until_ready,
)
from tests.e2e.processes import free_port

pytestmark = pytest.mark.slow

README = ROOT / "README.md"
PAGES = [
    README,
    ROOT / "docs" / "events.md",
    ROOT / "docs" / "verdict.md",
    ROOT / "docs" / "http-api.md",
    ROOT / "docs" / "command-line.md",
    ROOT / "docs" / "operations.md",
    ROOT / "docs" / "claimreview.md",
]
"""The pages whose examples run, in the order a reader meets them.
(docs/benchmarks.md is bench/'s own record.)"""

SOLEDAR_TAKEN = "3f418f50-fa3f-517e-b313-4e3c43862b48"
"""The seeded claim the README's tour starts from."""
STARTS = ("make run", "python3 scripts/dev.py run")
THIS_RUN = ("make test", "python3 scripts/dev.py test")
DEV_KEY = ".factledger-dev-key"
SQLITE_URL = "sqlite:///factledger.db"
"""`make run`'s ledger, relative to the project's folder."""


def tagged(tag: str) -> list[Block]:
    return [block for block in blocks(README) if block.tag == tag]


def lines_of(tag: str) -> list[str]:
    return [command.text for block in tagged(tag) for command in commands(block.text)]


def required(program: str) -> None:
    """Skips when `program` is not installed, except under CI=true, where it must be."""
    if shutil.which(program) is None:
        if IN_CI:
            pytest.fail(f"{program} is not installed (required under CI=true)")
        pytest.skip(f"{program} is not installed")


def project_copy(folder: Path) -> Path:
    """What `make run` needs of a clone (Makefile, scripts, pyproject.toml), with
    this project's `.venv`, whose installed code is this clone's."""
    if not (ROOT / ".venv").is_dir():
        pytest.skip("no .venv in the project (run the tests through scripts/dev.py)")
    # make run installs the project again, from the copy, into a .venv not
    # set up by scripts/dev.py for this pyproject.toml: that would break it.
    project = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    stamp = ROOT / ".venv" / ".factledger-install"
    if project not in (stamp.read_text() if stamp.exists() else ""):
        pytest.fail(
            ".venv was not set up by scripts/dev.py for this pyproject.toml: "
            "run the tests with `make test` (or `python3 scripts/dev.py test`)"
        )
    (folder / "scripts").mkdir(parents=True)
    for name in ("Makefile", "pyproject.toml", "scripts/dev.py"):
        shutil.copy(ROOT / name, folder / name)
    (folder / ".venv").symlink_to(ROOT / ".venv")
    return folder


class Started:
    """A shell script started in its own process group, its output collected."""

    def __init__(self, script: str, cwd: Path, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            ["bash", "-c", script],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def printed_key(self, seconds: float = 90) -> str:
        """The key it printed, alone on an indented line."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if re.fullmatch(r"\s+fl_\S+\s*", line):
                    return line.strip()
            if self.process.poll() is not None and not self._reader.is_alive():
                break
            time.sleep(0.05)
        raise AssertionError(f"no key printed; it said:\n{self.output}")

    def interrupt(self) -> None:
        """Ctrl-C: SIGINT to the whole process group, as a terminal sends it."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)
            raise AssertionError(f"Ctrl-C did not stop it:\n{self.output}") from None
        finally:
            self._reader.join(5)
            if self.process.stdout is not None:
                self.process.stdout.close()


@contextmanager
def started(script: str, cwd: Path, env: dict[str, str]) -> Iterator[Started]:
    running = Started(script, cwd, env)
    try:
        yield running
    finally:
        running.interrupt()


def user_env(**settings: str) -> dict[str, str]:
    """This environment without the ledger's settings, as on a new machine, plus `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FACTLEDGER_", "VIRTUAL_"))}
    return {**env, **settings}


def serving_as_promised(base: str, running: Started) -> str:
    """Waits until `make run` serves the seeded ledger; the key it printed."""
    key = running.printed_key()
    wait_until_ready(base, running.process)
    assert get_json(f"{base}/claims/{SOLEDAR_TAKEN}")["verdict"] == "disputed"
    return key


def refused_while_serving(start: str, folder: Path, env: dict[str, str], port: int) -> None:
    """A second `make run` on the same port stops before it makes or prints anything."""
    again = subprocess.run(
        ["bash", "-c", start], cwd=folder, env=env,
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert again.returncode != 0
    assert f"127.0.0.1:{port}" in again.stderr
    assert "in use" in again.stderr
    assert "fl_" not in again.stdout + again.stderr


def the_pages_run_as_shown(base: str, folder: Path, env: dict[str, str]) -> None:
    problems = run_pages(PAGES, cwd=folder, env=env, replacements={API_LINE: f"API={base}"})
    assert not problems, "\n\n".join(problems)


def load_dev_script(folder: Path) -> Any:
    spec = importlib.util.spec_from_file_location("dev", folder / "scripts" / "dev.py")
    assert spec is not None
    assert spec.loader is not None
    dev = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(dev)
    return dev


# --- following it -----------------------------------------------------------------------


def test_the_readme_starts_the_service_and_runs_the_tests_with_make_or_without() -> None:
    shown = [line.split("#")[0].strip() for line in lines_of("serve")]
    assert shown == [STARTS[0], THIS_RUN[0], STARTS[1], THIS_RUN[1]]


def test_the_tour_points_at_the_service_and_the_key_that_make_run_gives() -> None:
    tour = "\n".join(block.text for block in tagged("run"))
    assert API_LINE in tour
    assert f"KEY=$(cat {DEV_KEY})" in tour
    assert re.search(rf"^CLAIM={SOLEDAR_TAKEN}$", tour, re.MULTILINE)


def test_following_the_readme_on_sqlite(tmp_path: Path) -> None:
    """make run; the tour and the docs in a second shell; Ctrl-C; the same
    without make, with the same key; a new key once that one is revoked.
    (Without make, outside CI, only the line without make.)"""
    for program in ("bash", "curl", "timeout"):
        required(program)
    starts = STARTS if shutil.which("make") or IN_CI else STARTS[1:]
    folder = project_copy(tmp_path / "clone")
    port = free_port()
    base, env = f"http://127.0.0.1:{port}", user_env(FACTLEDGER_PORT=str(port))
    printed = []
    for start in starts:
        with started(start, folder, env) as running:
            printed.append(serving_as_promised(base, running))
            if len(printed) == 1:
                refused_while_serving(start, folder, env, port)
                the_pages_run_as_shown(base, folder, user_env())
    assert len(set(printed)) == 1
    key_file = folder / DEV_KEY
    assert key_file.read_text().strip() == printed[0]
    assert key_file.stat().st_mode & 0o077 == 0

    # Revoked, the kept key is replaced by a new one (as the next run would make it).
    factledger("keys", "revoke", printed[0].split("_")[1], database_url=SQLITE_URL, cwd=folder)
    renewed, made = load_dev_script(folder).dev_key(user_env(FACTLEDGER_DATABASE_URL=SQLITE_URL))
    assert made
    assert renewed != printed[0]
    assert key_file.read_text().strip() == renewed


def test_following_the_readme_on_postgresql(postgres_database: str, tmp_path: Path) -> None:
    """Its PostgreSQL section (createdb, export, make run) on a database of its
    own name; then the tour and the docs in a second shell."""
    for program in ("make", "createdb", "bash", "curl", "timeout"):
        required(program)
    (block,) = tagged("postgresql")
    assert [c.text.split()[0] for c in commands(block.text)] == ["createdb", "export", "make"]
    admin = urlsplit(ADMIN_URL)
    name = f"factledger_readme_{secrets.token_hex(4)}"
    url = f"postgresql://{admin.username}@{admin.hostname}:{admin.port or 5432}/{name}"
    script = block.text.replace("createdb factledger", f"createdb {name}").replace(
        "postgresql://localhost/factledger", url
    )
    assert name in script
    assert url in script
    folder = project_copy(tmp_path / "clone")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = user_env(
        FACTLEDGER_PORT=str(port),
        PGHOST=admin.hostname or "localhost",
        PGPORT=str(admin.port or 5432),
        PGUSER=admin.username or "postgres",
    )
    try:
        with started("set -e\n" + script, folder, env) as running:
            serving_as_promised(base, running)
            assert f"seeding {url}" in running.output
            the_pages_run_as_shown(base, folder, user_env(FACTLEDGER_DATABASE_URL=url))
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


# --- the developers' targets ------------------------------------------------------------


def test_every_make_target_the_readme_names_is_a_dev_py_command() -> None:
    required("make")
    for line in lines_of("make"):
        target = line.split("#")[0].split()
        assert target[0] == "make", line
        dry = subprocess.run(
            ["make", "-n", *target[1:]], cwd=ROOT, capture_output=True, text=True, check=False
        )
        assert dry.returncode == 0, dry.stderr
        assert f"scripts/dev.py {target[1]}" in dry.stdout
