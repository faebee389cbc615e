"""The composition root: one place picks the backend, and opening a part of
the ledger creates only what that part needs."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from factledger.cli import cli
from factledger.persistence import PostgresPersistence, SQLitePersistence, open_persistence
from factledger.service import LedgerService
from factledger.settings import Settings
from storage.database import Backend, Database, InvalidDatabaseUrl


def tables(database_url: str) -> set[str]:
    database = Database.from_url(database_url)
    if database.backend is Backend.SQLITE:
        with sqlite3.connect(str(database.sqlite_path)) as conn:
            return {name for (name,) in conn.execute("SELECT name FROM sqlite_master")}
    base = database_url.split("?", maxsplit=1)[0]
    with psycopg.connect(base) as conn:
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
            (database.schema,),
        )
        return {name for (name,) in rows}


def test_the_backend_is_chosen_once_by_the_database_url(database_url: str) -> None:
    persistence = open_persistence(Database.from_url(database_url))
    try:
        expected = SQLitePersistence if "sqlite" in database_url else PostgresPersistence
        assert type(persistence) is expected
        assert persistence.event_log.head_position() == 0
    finally:
        persistence.close()


def test_the_keys_commands_create_no_read_model_tables(database_url: str) -> None:
    runner = CliRunner()
    env = {"FACTLEDGER_DATABASE_URL": database_url}
    created = runner.invoke(cli, ["keys", "create", "--name", "a", "--role", "editor"], env=env)
    assert created.exit_code == 0, created.output
    listed = runner.invoke(cli, ["keys", "list"], env=env)
    assert listed.exit_code == 0, listed.output
    assert not {name for name in tables(database_url) if "claims" in name or "read_model" in name}


def test_the_service_creates_the_read_model_tables(settings: Settings) -> None:
    LedgerService(settings).close()
    made = tables(settings.database_url)
    assert {"claims", "verdict_changes"} <= made


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        ("mysql://host/db", "unsupported"),
        ("postgresql://host", "name the database"),
        ("postgresql://host:99999/db", "port"),
        ("postgresql://host/db?schema=Bad-Name", "schema"),
        ("postgresql://host/db?sslmode=require", "unknown parameters"),
        ("postgresql://host/db?nonsense=1", "nonsense"),
        ("sqlite://relative.db", "sqlite:///"),
    ],
)
def test_a_database_url_the_ledger_cannot_use_is_refused_saying_why(
    url: str, complaint: str
) -> None:
    with pytest.raises(InvalidDatabaseUrl, match=complaint):
        Database.from_url(url)


def test_a_postgresql_url_is_parsed_by_libpq_rules() -> None:
    database = Database.from_url("postgresql://ann:s%40cret@db.example:6543/led%20ger?schema=l1")
    assert (database.user, database.password, database.host, database.port) == (
        "ann",
        "s@cret",
        "db.example",
        6543,
    )
    assert (database.dbname, database.schema) == ("led ger", "l1")
    assert "s@cret" not in database.display


def test_settings_parse_the_database_url_once(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'x.db'}")
    assert settings.database is settings.database
