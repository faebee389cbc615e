"""The Dockerfile and compose.yaml, as far as they can be checked without a
container runtime: hadolint and the compose schema check their form (`make
check`); these check that what they run is the real command line's, and that
the health check works against a real `factledger serve`."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml

from factledger.cli import cli
from storage.database import Backend, Database
from tests.e2e.processes import FACTLEDGER, free_port

ROOT = Path(__file__).resolve().parents[2]


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the final stage, continuation lines joined."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines()]
    instructions = [tuple(line.split(None, 1)) for line in lines if line and line[0] != "#"]
    final = max(i for i, (word, _) in enumerate(instructions) if word == "FROM")
    return [(word.upper(), rest) for word, rest in instructions[final:]]


def instruction(name: str) -> str:
    found = [rest for word, rest in dockerfile_instructions() if word == name]
    assert len(found) == 1, f"{name}: {found}"
    return found[0]


def serve_params(args: list[str]) -> dict[str, Any]:
    """The options `factledger serve` would run with, parsed by the real command."""
    assert args[:2] == ["factledger", "serve"]
    return dict(cli.commands["serve"].make_context("serve", args[2:]).params)


def healthcheck_command() -> list[str]:
    _, _, command = instruction("HEALTHCHECK").partition(" CMD ")
    args: list[str] = json.loads(command)
    return args


def compose() -> dict[str, Any]:
    """compose.yaml with ${NAME:-default} replaced by its default, as compose does
    when NAME is not set."""
    text = re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", (ROOT / "compose.yaml").read_text())
    loaded: dict[str, Any] = yaml.safe_load(text)
    return loaded


def test_the_image_serves_on_every_interface_on_the_port_it_exposes() -> None:
    params = serve_params(json.loads(instruction("CMD")))
    assert params["host"] == "0.0.0.0"
    assert str(params["port"]) == instruction("EXPOSE")
    assert not params["no_projector"]


def test_the_image_runs_as_a_user_and_keeps_its_sqlite_ledger_in_its_volume() -> None:
    assert instruction("USER").split(":")[0] not in ("root", "0")
    env = dict(re.findall(r"(\w+)=(\S+)", instruction("ENV")))
    database = Database.from_url(env["FACTLEDGER_DATABASE_URL"])
    assert database.backend is Backend.SQLITE
    assert database.sqlite_path is not None
    (volume,) = json.loads(instruction("VOLUME"))
    assert PurePosixPath(database.sqlite_path).parent == PurePosixPath(volume)
    assert f"chown factledger:factledger {volume}" in instruction("RUN")


def test_the_health_check_asks_healthz_on_the_served_port() -> None:
    python, flag, snippet = healthcheck_command()
    assert (python, flag) == ("python", "-c")
    port = serve_params(json.loads(instruction("CMD")))["port"]
    assert f"'http://127.0.0.1:{port}/healthz'" in snippet


@pytest.fixture
def served_port(tmp_path: Path) -> Iterator[int]:
    port = free_port()
    env = {**os.environ, "FACTLEDGER_DATABASE_URL": f"sqlite:///{tmp_path / 'ledger.db'}"}
    server = subprocess.Popen(
        [FACTLEDGER, "serve", "--port", str(port), "--no-projector"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/openapi.json", timeout=1)
                break
            except OSError:
                assert server.poll() is None, "serve stopped"
                assert time.monotonic() < deadline, "serve did not start in 30 s"
                time.sleep(0.1)
        yield port
    finally:
        server.terminate()
        server.wait(10)


def run_healthcheck(port: int) -> int:
    _, flag, snippet = healthcheck_command()
    snippet = snippet.replace(":8000/", f":{port}/")
    done = subprocess.run(
        [sys.executable, flag, snippet], capture_output=True, timeout=30, check=False
    )
    return done.returncode


@pytest.mark.slow
def test_the_health_check_passes_against_a_running_server_and_fails_without_one(
    served_port: int,
) -> None:
    assert run_healthcheck(served_port) == 0
    assert run_healthcheck(free_port()) != 0


def test_compose_starts_the_ledger_once_postgresql_is_healthy() -> None:
    services = compose()["services"]
    ledger, postgres = services["factledger"], services["postgres"]
    assert ledger["build"] == "."
    assert ledger["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert postgres["image"] == "postgres:15"
    assert postgres["healthcheck"]["test"][:2] == ["CMD", "pg_isready"]
    assert "command" not in ledger  # the image's CMD: serve on every interface


def test_compose_gives_the_ledger_the_database_postgresql_is_made_with() -> None:
    services = compose()["services"]
    ledger, postgres = services["factledger"], services["postgres"]
    database = Database.from_url(ledger["environment"]["FACTLEDGER_DATABASE_URL"])
    made = postgres["environment"]
    assert (database.host, database.port) == ("postgres", 5432)
    assert (database.user, database.password, database.dbname) == (
        made["POSTGRES_USER"],
        made["POSTGRES_PASSWORD"],
        made["POSTGRES_DB"],
    )
    probe = postgres["healthcheck"]["test"]
    assert probe[probe.index("-U") + 1] == database.user
    assert probe[probe.index("-d") + 1] == database.dbname


def test_compose_keeps_postgresql_data_in_a_named_volume() -> None:
    loaded = compose()
    mounts = dict(m.split(":", 1)[::-1] for m in loaded["services"]["postgres"]["volumes"])
    volume = mounts["/var/lib/postgresql/data"]
    assert volume in loaded["volumes"]
