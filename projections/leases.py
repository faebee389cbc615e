"""Exactly one projector at a time, across processes and hosts.

A lease is held by the process whose projector works; the others stand by and
try again every second, so one takes over within about a second of the
holder's death (its lock is released by the operating system or by the
database server when its process or connection goes).

- SQLite: an exclusive `flock` on a file beside the database.
- PostgreSQL: a session advisory lock, keyed by the schema, on a connection of
  its own, which also LISTENs to the channel the event store NOTIFYs on every
  append: the projector sleeps until an event arrives, never polls.
"""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
import threading
from pathlib import Path
from typing import Any, Final, Protocol

import psycopg
from psycopg import sql

from ledger.errors import LedgerError
from storage.database import Database

__all__ = ["FileLease", "Lease", "LeaseLost", "PostgresLease"]

log = logging.getLogger(__name__)

# The advisory lock's first key; the second is a hash of the schema's name
# and of what the lock is for.
_LOCK_CLASS: Final = 0x666C_7072  # "flpr"
# How long an idle projector sleeps before looking again anyway: a safety
# net for a notification lost with a connection, not a polling interval.
_IDLE_RECHECK_SECONDS: Final = 30.0


class LeaseLost(LedgerError):
    """The lease can no longer be trusted to be held (its connection broke)."""


class Lease(Protocol):
    def try_acquire(self) -> bool:
        """Takes the lease if nobody holds it; True when this process holds it."""

    def wait_for_events(self, stop: threading.Event, within: float = _IDLE_RECHECK_SECONDS) -> None:
        """Returns when new events may have been appended, when `stop` is set, or
        after `within` seconds.
        Raises LeaseLost when the lease may have been lost meanwhile."""

    def interrupt(self) -> None:
        """Makes a `wait_for_events` in another thread return now."""

    def release(self) -> None: ...


class FileLease:
    """SQLite: a `flock` on `<database>.projector.lock`. Appends by this process
    set `appended`; appends by others change the file's `data_version`, which
    is looked at every `poll_seconds` (a read of shared memory, no I/O)."""

    def __init__(
        self,
        path: Path,
        appended: threading.Event,
        database: Path | None = None,
        poll_seconds: float = 0.01,
    ) -> None:
        self.path = path
        self.appended = appended
        self.database = database
        self.poll_seconds = poll_seconds
        self._fd: int | None = None
        self._watch: sqlite3.Connection | None = None
        self._version: int | None = None

    def try_acquire(self) -> bool:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def wait_for_events(self, stop: threading.Event, within: float = _IDLE_RECHECK_SECONDS) -> None:
        # SQLite has no notifications between processes: a write by this
        # process wakes the projector at once, one by another within a poll.
        waited = 0.0
        while not stop.is_set() and waited < within:
            if self.appended.wait(self.poll_seconds) or self._changed():
                break
            waited += self.poll_seconds
        self.appended.clear()

    def _changed(self) -> bool:
        """True when another connection committed since the last look."""
        if self.database is None:
            return False
        if self._watch is None:
            self._watch = sqlite3.connect(self.database, check_same_thread=False)
        row = self._watch.execute("PRAGMA data_version").fetchone()
        version = int(row[0])
        changed = self._version is not None and version != self._version
        self._version = version
        return changed

    def interrupt(self) -> None:
        self.appended.set()

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor releases the lock
            self._fd = None
        if self._watch is not None:
            self._watch.close()
            self._watch = None
            self._version = None


class PostgresLease:
    """A session advisory lock on a connection of its own; with a `channel`,
    the connection also LISTENs to it."""

    def __init__(self, database: Database, purpose: str, channel: str = "") -> None:
        self.database = database
        self.purpose = purpose
        self.channel = channel
        self._conn: psycopg.Connection[Any] | None = None

    def _connect(self) -> psycopg.Connection[Any]:
        db = self.database
        return psycopg.connect(
            host=db.host,
            port=db.port,
            user=db.user,
            password=db.password,
            dbname=db.dbname,
            autocommit=True,
            connect_timeout=10,
            application_name=f"factledger {self.purpose}",
            # A host that vanishes without closing its connection is noticed
            # by the server within about 15 s, and its lock freed.
            keepalives=1,
            keepalives_idle=5,
            keepalives_interval=2,
            keepalives_count=5,
        )

    def try_acquire(self) -> bool:
        try:
            conn = self._conn = self._conn or self._connect()
            row = conn.execute(
                "SELECT pg_try_advisory_lock(%s, hashtext(%s))",
                (_LOCK_CLASS, f"{self.database.schema}/{self.purpose}"),
            ).fetchone()
            if not (row and row[0]):
                return False
            if self.channel:
                conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
        except psycopg.Error as error:
            log.warning("projector lease: %s", error)
            self.release()
            return False
        return True

    def wait_for_events(self, stop: threading.Event, within: float = _IDLE_RECHECK_SECONDS) -> None:
        conn = self._conn
        if conn is None:
            raise LeaseLost("no connection")
        waited = 0.0
        try:
            # Short waits, so that `stop` is noticed within a second.
            while not stop.is_set() and waited < within:
                wait = min(1.0, max(within - waited, 0.01))
                if any(True for _ in conn.notifies(timeout=wait, stop_after=1)):
                    return
                waited += wait
        except psycopg.Error as error:
            self.release()
            raise LeaseLost(str(error)) from error

    def interrupt(self) -> None:
        # The waiting connection wakes on any notification on its channel.
        if not self.channel:
            return
        try:
            with self._connect() as conn:
                conn.execute(sql.SQL("NOTIFY {}").format(sql.Identifier(self.channel)))
        except psycopg.Error as error:
            log.warning("projector lease: cannot interrupt the wait: %s", error)

    def release(self) -> None:
        if self._conn is not None:
            # Closing the session releases its advisory locks.
            self._conn.close()
            self._conn = None
