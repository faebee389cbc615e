"""Fixtures shared by every test.

Storage fixtures are parametrised over both backends: a test that asks for
`database_url` (or anything built on it) runs once on SQLite and once on
PostgreSQL. On PostgreSQL each test gets a schema of its own in a database
made for this test run; both are dropped afterwards. When PostgreSQL cannot
be reached the PostgreSQL runs skip with the reason, except under CI=true,
where they fail.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg import sql

from api.app import create_app
from factledger.service import LedgerService
from factledger.settings import Settings
from ledger.access import Role

ADMIN_URL = os.environ.get(
    "FACTLEDGER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _admin_connect() -> psycopg.Connection[Any]:
    return psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5)


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A database of this test run's own, as a URL without a schema."""
    try:
        admin = _admin_connect()
    except psycopg.Error as error:
        reason = f"PostgreSQL is not reachable at {ADMIN_URL}: {error}"
        if IN_CI:
            pytest.fail(f"{reason} (required under CI=true)")
        pytest.skip(reason)
    name = f"factledger_test_{secrets.token_hex(4)}"
    with admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    base = ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with _admin_connect() as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty ledger database on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger.db'}"
        return
    database: str = request.getfixturevalue("postgres_database")
    schema = f"t_{secrets.token_hex(6)}"
    yield f"{database}?schema={schema}"
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


@pytest.fixture(autouse=True)
def checkpoint_key_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test's ledger signs with a key of its own, in its own directory (the
    default for PostgreSQL is the working directory), in this process and in
    every `factledger` it starts."""
    path = tmp_path / "checkpoint.key"
    monkeypatch.setenv("FACTLEDGER_CHECKPOINT_KEY_FILE", str(path))
    return path


@pytest.fixture
def second_database_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """Another empty ledger database, on the same backend as `database_url`."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'second-ledger.db'}"
        return
    database = database_url.split("?", maxsplit=1)[0]
    schema = f"t_{secrets.token_hex(6)}"
    yield f"{database}?schema={schema}"
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=database_url, checkpoint_key_file=tmp_path / "checkpoint.key")


@pytest.fixture
def service(settings: Settings) -> Iterator[LedgerService]:
    opened = LedgerService(settings)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def other_service(settings: Settings, service: LedgerService) -> Iterator[LedgerService]:
    """A second "process" on the same database (opened after the first made the
    schema): its own writer, connections and histories in memory."""
    opened = LedgerService(settings)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def client(service: LedgerService) -> Iterator[TestClient]:
    with TestClient(create_app(service=service)) as test_client:
        yield test_client


@pytest.fixture
def keys(service: LedgerService) -> dict[Role, str]:
    """A key of each role, by role."""
    return {role: service.keys.create(f"test {role}", role).secret for role in Role}


@pytest.fixture
def as_role(keys: dict[Role, str]) -> Any:
    def headers(role: Role) -> dict[str, str]:
        return {"Authorization": f"Bearer {keys[role]}"}

    return headers
