"""A command that cannot start says why in one line, with what to do, and
exits non-zero: never a traceback, never a pool's timeout. `serve` checks its
port before it writes anything.

The shared test server trusts every local connection, so a refused password
cannot be shown against it; a role that does not exist is refused at the same
point of the connection (SQLSTATE 28000 where a wrong password is 28P01) and
stands in for it here. tests/unit/test_connection_diagnoses.py reads a
refused password's own message.
"""

from __future__ import annotations

import secrets
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest

from tests.e2e.processes import free_port, run

COMMANDS = [("keys", "list"), ("seed",), ("serve", "--port", "0")]


def one_error_line(stderr: str) -> str:
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def with_free_port(args: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(str(free_port()) if arg == "0" else arg for arg in args)


@pytest.mark.parametrize("args", COMMANDS)
def test_a_database_that_does_not_exist_is_named_with_the_command_that_creates_it(
    postgres_database: str, tmp_path: Path, args: tuple[str, ...]
) -> None:
    name = f"factledger_absent_{secrets.token_hex(4)}"
    url = f"{postgres_database.rsplit('/', 1)[0]}/{name}"
    done = run(*with_free_port(args), database_url=url, cwd=tmp_path)
    assert done.returncode != 0
    line = one_error_line(done.stderr)
    where = urlsplit(url).netloc.split("@")[-1]
    assert f'database "{name}" does not exist on {where}' in line
    assert f"createdb -h {where.replace(':', ' -p ')}" in line


@pytest.mark.parametrize("args", COMMANDS)
def test_a_port_where_nothing_listens_is_told_as_such(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    port = free_port()
    url = f"postgresql://postgres@127.0.0.1:{port}/test"
    done = run(*with_free_port(args), database_url=url, cwd=tmp_path)
    assert done.returncode != 0
    line = one_error_line(done.stderr)
    assert f"nothing is listening on 127.0.0.1:{port} (connection refused)" in line


@pytest.mark.parametrize("args", COMMANDS)
def test_a_refused_role_is_told_with_the_user_to_fix(
    postgres_database: str, tmp_path: Path, args: tuple[str, ...]
) -> None:
    parts = urlsplit(postgres_database)
    url = parts._replace(netloc=f"factledger_nobody:wrong@{parts.hostname}:{parts.port}").geturl()
    done = run(*with_free_port(args), database_url=url, cwd=tmp_path)
    assert done.returncode != 0
    line = one_error_line(done.stderr)
    assert 'role "factledger_nobody" does not exist' in line
    assert "fix the user in FACTLEDGER_DATABASE_URL" in line
    assert "wrong" not in line


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield int(listener.getsockname()[1])


def test_serve_on_a_port_in_use_says_so_before_it_writes_anything(
    database_url: str, tmp_path: Path, taken_port: int
) -> None:
    done = run("serve", "--port", str(taken_port), database_url=database_url, cwd=tmp_path)
    assert done.returncode != 0
    line = one_error_line(done.stderr)
    assert f"port {taken_port} is already in use on 127.0.0.1" in line
    assert "--port" in line
    assert done.stdout == ""
    assert not ledger_exists(database_url)


def ledger_exists(database_url: str) -> bool:
    if database_url.startswith("sqlite:///"):
        return Path(database_url.removeprefix("sqlite:///")).exists()
    database, _, schema = database_url.partition("?schema=")
    with psycopg.connect(database) as conn:
        found = conn.execute(
            "SELECT 1 FROM information_schema.schemata WHERE schema_name = %s", (schema,)
        ).fetchone()
    return found is not None
