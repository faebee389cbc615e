"""Where the ledger lives: `FACTLEDGER_DATABASE_URL` read into a typed value,
and the settings the `eventsourcing` library takes for it."""

from __future__ import annotations

import getpass
import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Final
from urllib.parse import parse_qs, unquote, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg.conninfo import conninfo_to_dict

from ledger.errors import LedgerError

__all__ = ["Backend", "Database", "InvalidDatabaseUrl"]

_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_CONNECTION_PARAMS: Final = frozenset({"host", "port", "user", "password", "dbname"})
"""What the event store's connections can be given (the `eventsourcing` datastore's settings)."""


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())


class InvalidDatabaseUrl(LedgerError):
    """A database URL the ledger cannot use; the message says why."""


class Backend(StrEnum):
    SQLITE = "sqlite"
    POSTGRESQL = "postgresql"


@dataclass(frozen=True)
class Database:
    """A parsed database URL.

    `sqlite:///relative/path.db`, `sqlite:////absolute/path.db`, or
    `postgresql://user:password@host:port/dbname?schema=name` (the schema is
    optional and defaults to `public`).
    """

    backend: Backend
    sqlite_path: Path | None = None
    host: str = ""
    port: int = 5432
    user: str = ""
    password: str = ""
    dbname: str = ""
    schema: str = "public"

    @classmethod
    def from_url(cls, url: str) -> Database:
        try:
            parts = urlsplit(url)
        except ValueError as error:
            raise InvalidDatabaseUrl(f"not a URL: {url!r} ({error})") from None
        scheme = parts.scheme.lower()
        if scheme == "sqlite":
            return cls._sqlite(url, parts.netloc, parts.path)
        if scheme in ("postgresql", "postgres"):
            return cls._postgresql(url)
        raise InvalidDatabaseUrl(
            f"unsupported database URL {url!r}: use sqlite:///path/to/file.db "
            "or postgresql://user@host:port/dbname"
        )

    @classmethod
    def _sqlite(cls, url: str, netloc: str, path: str) -> Database:
        if netloc or not path.startswith("/") or len(path) < 2:
            raise InvalidDatabaseUrl(
                f"{url!r}: a SQLite URL is sqlite:///relative/path.db or sqlite:////absolute/path.db"
            )
        return cls(backend=Backend.SQLITE, sqlite_path=Path(unquote(path[1:])))

    @classmethod
    def _postgresql(cls, url: str) -> Database:
        # `schema` is the ledger's own parameter; the rest is libpq's URI, parsed by libpq.
        parts = urlsplit(url)
        query = parse_qs(parts.query, keep_blank_values=True)
        schema = query.pop("schema", ["public"])[-1]
        if not _IDENTIFIER.fullmatch(schema):
            raise InvalidDatabaseUrl(f"{url!r}: the schema must be a plain lowercase identifier")
        try:
            params = conninfo_to_dict(urlunsplit(parts._replace(query=urlencode(query, True))))
        except psycopg.ProgrammingError as error:
            raise InvalidDatabaseUrl(f"{url!r}: {_one_line(error)}") from None
        unknown = sorted(set(params) - _CONNECTION_PARAMS)
        if unknown:
            raise InvalidDatabaseUrl(f"{url!r}: unknown parameters {unknown}")
        if not params.get("dbname"):
            raise InvalidDatabaseUrl(f"{url!r}: name the database, as in postgresql://host/dbname")
        port = str(params.get("port") or 5432)
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise InvalidDatabaseUrl(f"{url!r}: the port is not a number")
        return cls(
            backend=Backend.POSTGRESQL,
            host=str(params.get("host") or "localhost"),
            port=int(port),
            user=str(params.get("user") or getpass.getuser()),
            password=str(params.get("password") or ""),
            dbname=str(params["dbname"]),
            schema=schema,
        )

    @property
    def display(self) -> str:
        """The URL without its password, for messages and logs."""
        if self.backend is Backend.SQLITE:
            return f"sqlite:///{self.sqlite_path}"
        suffix = "" if self.schema == "public" else f"?schema={self.schema}"
        return f"postgresql://{self.user}@{self.host}:{self.port}/{self.dbname}{suffix}"

    def eventsourcing_env(self) -> dict[str, str]:
        """The `eventsourcing` settings for this database (persistence module and connection)."""
        if self.backend is Backend.SQLITE:
            assert self.sqlite_path is not None
            return {
                "PERSISTENCE_MODULE": "eventsourcing.sqlite",
                "SQLITE_DBNAME": str(self.sqlite_path),
                "SQLITE_LOCK_TIMEOUT": "10",
                "APPLICATION_RECORDER_TOPIC": "storage.sqlite.recorder:SQLiteLedgerRecorder",
            }
        return {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": self.dbname,
            "POSTGRES_HOST": self.host,
            "POSTGRES_PORT": str(self.port),
            "POSTGRES_USER": self.user,
            "POSTGRES_PASSWORD": self.password,
            "POSTGRES_SCHEMA": self.schema,
            "POSTGRES_CONNECT_TIMEOUT": "10",
            "POSTGRES_POOL_SIZE": "5",
            "POSTGRES_MAX_OVERFLOW": "15",
            # No ping per checkout: a broken connection fails its statement
            # and leaves the pool, and the write path tells that apart.
            "POSTGRES_PRE_PING": "n",
            "POSTGRES_LOCK_TIMEOUT": "5",
            "APPLICATION_RECORDER_TOPIC": "storage.postgres.recorder:PostgresLedgerRecorder",
        }
