"""Where the ledger lives: `FACTLEDGER_DATABASE_URL` read into a typed value,
and the settings the `eventsourcing` library takes for it."""

from __future__ import annotations

import getpass
import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

__all__ = ["Backend", "Database", "InvalidDatabaseUrl"]

_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class InvalidDatabaseUrl(ValueError):
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
        parts = urlsplit(url)
        try:
            port = parts.port or 5432
        except ValueError:
            raise InvalidDatabaseUrl(f"{url!r}: the port is not a number") from None
        dbname = unquote(parts.path.lstrip("/"))
        if not dbname:
            raise InvalidDatabaseUrl(f"{url!r}: name the database, as in postgresql://host/dbname")
        query = parse_qs(parts.query)
        schema = query.pop("schema", ["public"])[-1]
        if query:
            raise InvalidDatabaseUrl(f"{url!r}: unknown parameters {sorted(query)}")
        if not _IDENTIFIER.fullmatch(schema):
            raise InvalidDatabaseUrl(f"{url!r}: the schema must be a plain lowercase identifier")
        return cls(
            backend=Backend.POSTGRESQL,
            host=parts.hostname or "localhost",
            port=port,
            user=unquote(parts.username) if parts.username else getpass.getuser(),
            password=unquote(parts.password) if parts.password else "",
            dbname=dbname,
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
