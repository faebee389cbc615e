"""Whether the database a URL names can be opened at all, asked once before a
command touches it, so that a wrong URL is told in one line saying which part
is wrong and what to do, not as a pool's timeout ten seconds later.

On PostgreSQL one connection is tried, with a short timeout, and its failure
read: libpq gives no SQLSTATE for a connection that fails (`sqlstate` is
None), so the cause is read from its message. The causes it names are those
of an English-speaking server (`lc_messages`); any other failure is still
one line, with the server's own words.
"""

from __future__ import annotations

import re
import shlex
from typing import Final

import psycopg

from storage.database import Backend, Database

__all__ = ["DatabaseUnreachable", "check_reachable"]

PROBE_TIMEOUT_SECONDS: Final = 5


class DatabaseUnreachable(Exception):
    """Raised when the database cannot be opened; the message says why and what to do."""


# (what the failure says, what to tell), tried in order. The second is
# formatted with the URL's parts: host, port, where (host:port), user,
# dbname, timeout, and their shell-quoted forms (q_user, q_dbname).
_DIAGNOSES: Final[tuple[tuple[re.Pattern[str], str], ...]] = (
    (
        re.compile(r'database "[^"]*" does not exist'),
        'database "{dbname}" does not exist on {where}: create it with '
        "`createdb -h {host} -p {port} -U {q_user} {q_dbname}`",
    ),
    (
        re.compile(r'role "[^"]*" does not exist'),
        'role "{user}" does not exist on {where}: fix the user in FACTLEDGER_DATABASE_URL, '
        "or have a superuser create it (`createuser -h {host} -p {port} {q_user}`)",
    ),
    (
        re.compile(r"password authentication failed"),
        'PostgreSQL on {where} refused the password of "{user}": '
        "fix the password in FACTLEDGER_DATABASE_URL",
    ),
    (
        re.compile(r"no password supplied"),
        'PostgreSQL on {where} asks "{user}" for a password: put it in '
        "FACTLEDGER_DATABASE_URL (postgresql://{user}:PASSWORD@{where}/{dbname})",
    ),
    (
        re.compile(r"no pg_hba\.conf entry"),
        'PostgreSQL on {where} does not let "{user}" connect to "{dbname}" from here: '
        "allow it in the server's pg_hba.conf, or fix the user in FACTLEDGER_DATABASE_URL",
    ),
    (
        re.compile(r"permission denied for database|CONNECT privilege"),
        '"{user}" may not connect to database "{dbname}" on {where}: '
        'have its owner `GRANT CONNECT ON DATABASE "{dbname}" TO "{user}"`',
    ),
    (
        re.compile(r"Connection refused"),
        "nothing is listening on {where} (connection refused): start PostgreSQL there, "
        "or fix the host and port in FACTLEDGER_DATABASE_URL",
    ),
    (
        re.compile(r"timeout expired|timed out"),
        "PostgreSQL on {where} did not answer within {timeout} s: "
        "check the host and port in FACTLEDGER_DATABASE_URL",
    ),
    (
        re.compile(r"failed to resolve host|could not translate host name"),
        'the host "{host}" of FACTLEDGER_DATABASE_URL is not known here: fix it',
    ),
    (
        re.compile(r"the database system is (starting up|shutting down|in recovery mode)"),
        "PostgreSQL on {where} is not accepting connections yet ({reason}): try again shortly",
    ),
    (
        re.compile(r"too many clients|remaining connection slots"),
        'PostgreSQL on {where} has no connection left for "{user}" ({reason}): '
        "stop some clients or raise its max_connections",
    ),
)


def check_reachable(database: Database, timeout_seconds: int = PROBE_TIMEOUT_SECONDS) -> None:
    """Raise `DatabaseUnreachable` unless the database can be opened."""
    if database.backend is Backend.SQLITE:
        _check_sqlite_folder(database)
        return
    try:
        probe = psycopg.connect(
            host=database.host,
            port=database.port,
            user=database.user,
            dbname=database.dbname,
            password=database.password or None,  # None: libpq's own (PGPASSWORD, .pgpass)
            connect_timeout=timeout_seconds,
        )
    except psycopg.Error as error:
        raise DatabaseUnreachable(diagnose(str(error), database, timeout_seconds)) from None
    probe.close()


def diagnose(failure: str, database: Database, timeout_seconds: int) -> str:
    """One line for a failed connection to `database`: which cause, and what to do."""
    host, port = database.host, database.port
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    reason = _server_words(failure)
    values = {
        "host": host,
        "port": port,
        "where": where,
        "user": database.user,
        "dbname": database.dbname,
        "q_user": shlex.quote(database.user),
        "q_dbname": shlex.quote(database.dbname),
        "timeout": timeout_seconds,
        "reason": reason,
    }
    for pattern, advice in _DIAGNOSES:
        if pattern.search(failure):
            return advice.format(**values)
    return f"cannot connect to PostgreSQL on {where}: {reason}"


def _server_words(failure: str) -> str:
    """The cause in a libpq message, without its preamble, on one line."""
    cause = failure.rsplit(" failed: ", 1)[-1].split("\n", 1)[0]
    return " ".join(cause.removeprefix("FATAL:").split()) or "no reason given"


def _check_sqlite_folder(database: Database) -> None:
    assert database.sqlite_path is not None
    folder = database.sqlite_path.absolute().parent
    if not folder.is_dir():
        raise DatabaseUnreachable(
            f"the folder {folder} of the SQLite ledger does not exist: create it "
            f"(`mkdir -p {shlex.quote(str(folder))}`) or fix FACTLEDGER_DATABASE_URL"
        )
