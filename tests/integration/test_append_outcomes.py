"""What a failed append says about its outcome (issue 8, fault 3): "nothing was
appended" only when the server said so on a connection that lives on; a
session the server ends (a shutdown's FATAL, 57P01) may have committed first,
so its outcome is unknown and is looked up.

PostgreSQL only: on SQLite an append is a call in the process, with no
session that the server can end.
"""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from eventsourcing.persistence import StoredEvent
from psycopg import sql
from psycopg.pq import TransactionStatus

from factledger.service import LedgerService
from factledger.settings import Settings
from storage.database import Backend
from storage.errors import CommitInterrupted, NotAppended
from storage.postgres.recorder import PostgresLedgerRecorder
from storage.rows import NewEvent
from tests.writes import register


def _connect(settings: Settings) -> psycopg.Connection[Any]:
    db = settings.database
    return psycopg.connect(
        host=db.host, port=db.port, user=db.user, password=db.password, dbname=db.dbname
    )


def _waiting_session(admin: psycopg.Connection[Any], function: str) -> int:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        row = admin.execute(
            "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE %s",
            (f"%{function}%",),
        ).fetchone()
        if row is not None:
            return int(row[0])
        time.sleep(0.02)
    sessions = admin.execute(
        "SELECT datname, state, wait_event_type, left(query, 60) FROM pg_stat_activity"
    ).fetchall()
    raise AssertionError(f"the append never waited for the lock: {sessions}")


def _event(claim_id: UUID) -> NewEvent:
    """An event for the claim's second version (never appended: its state is no event's)."""
    return NewEvent(
        stored=StoredEvent(
            originator_id=claim_id, originator_version=2, topic="ledger.claim:Nothing", state=b"{}"
        ),
        event_id=uuid4(),
        occurred_at_us=0,
    )


def test_an_append_whose_session_the_server_ends_has_an_unknown_outcome_not_nothing_appended(
    service: LedgerService, settings: Settings
) -> None:
    if settings.database.backend is not Backend.POSTGRESQL:
        pytest.skip("PostgreSQL only: SQLite has no session that the server can end")
    claim_id = register(service).event.claim_id
    recorder = service.persistence.appender
    assert isinstance(recorder, PostgresLedgerRecorder)
    event = _event(claim_id)
    raised: list[BaseException] = []

    def append() -> None:
        try:
            recorder.append([event], [])
        except Exception as error:  # noqa: BLE001 (what it raised is the test's subject)
            raised.append(error)

    with _connect(settings) as holder, _connect(settings) as admin:
        admin.autocommit = True
        # The append waits for the events table's lock, so its session is ended mid-call.
        holder.execute(sql.SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(recorder.tables.events))
        appending = threading.Thread(target=append)
        appending.start()
        time.sleep(0.5)
        assert not raised, raised
        assert appending.is_alive(), "the append did not wait"
        pid = _waiting_session(admin, "ledger_append")
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        appending.join(10)
        holder.rollback()
    assert len(raised) == 1
    assert isinstance(raised[0], CommitInterrupted), raised[0]
    assert not isinstance(raised[0], NotAppended)
    # Looked up, it was not appended: now the ledger can say so.
    assert recorder.find_appended([event.event_id], raised[0].session) == []


class _ShutDownMidCall:
    """A connection on which the batch's call meets a shutdown's FATAL before
    psycopg has seen the socket close (so it is not marked broken yet): the
    timing in which, during `pg_ctl stop`, a committed batch was answered
    that nothing was appended."""

    broken = False
    closed = False
    info = SimpleNamespace(backend_pid=4242, transaction_status=TransactionStatus.IDLE)

    def execute(self, *args: Any, **kwargs: Any) -> Any:
        raise psycopg.errors.AdminShutdown("terminating connection due to administrator command")


def test_a_shutdown_met_on_a_connection_not_yet_marked_broken_is_an_unknown_outcome(
    service: LedgerService, settings: Settings
) -> None:
    if settings.database.backend is not Backend.POSTGRESQL:
        pytest.skip("PostgreSQL only: SQLite has no session that the server can end")
    recorder = service.persistence.appender
    assert isinstance(recorder, PostgresLedgerRecorder)
    event = _event(register(service).event.claim_id)
    with pytest.raises(CommitInterrupted) as raised:
        recorder._append(_ShutDownMidCall(), [event], [])  # type: ignore[arg-type]
    assert raised.value.session == 4242
