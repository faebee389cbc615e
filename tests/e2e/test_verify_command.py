"""`factledger verify` on both backends, on the database alone: every leaf, root,
signature and consistency holds on a ledger as written; one byte of one event
altered behind the ledger's back, or a stored checkpoint altered, and it
fails, naming what does not hold, in one line."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from factledger.service import LedgerService
from factledger.settings import Settings
from ledger.events import EventType
from projections.rebuild import rebuild
from tests.e2e.processes import run
from tests.writes import FILING, register, write

pytestmark = pytest.mark.slow


@contextmanager
def raw(settings: Settings) -> Iterator[Callable[[str, tuple[Any, ...]], list[Any]]]:
    """Statements on the ledger's database, behind the ledger's back ('?' parameters)."""
    database = settings.database
    if database.sqlite_path is not None:
        with sqlite3.connect(database.sqlite_path) as conn:
            yield lambda statement, params: conn.execute(statement, params).fetchall()
        return
    url = settings.database_url.split("?")[0]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(database.schema)))

        def execute(statement: str, params: tuple[Any, ...]) -> list[Any]:
            cursor = conn.execute(statement.replace("?", "%s"), params)  # type: ignore[call-overload]
            return cursor.fetchall() if cursor.description else []

        yield execute


def events_table(settings: Settings) -> str:
    return "stored_events" if settings.database.sqlite_path is not None else "ledger_events"


def verify(settings: Settings, cwd: Path) -> tuple[int, str, str]:
    done = run("verify", database_url=settings.database_url, cwd=cwd, timeout=120)
    return done.returncode, done.stdout, done.stderr


def written_and_signed(service: LedgerService) -> None:
    """Two checkpoints: after 4 events, and after 7."""
    for claims in (2, 1):
        for _ in range(claims):
            claim = register(service).event.claim_id
            write(service, EventType.REBUTTAL_FILED, FILING, claim_id=claim)
        service.tree_feeder.catch_up()
        service.checkpoint_signer().sign()
    write(service, EventType.REBUTTAL_FILED, FILING, claim_id=claim)  # not in the tree yet


def test_verify_passes_on_an_untouched_ledger_and_names_an_altered_event(
    service: LedgerService, settings: Settings, tmp_path: Path
) -> None:
    written_and_signed(service)
    rebuild(service.projector)  # the read models only: the tree is left as it is
    code, out, err = verify(settings, tmp_path)
    assert code == 0, err
    assert "7 events" in out
    assert "2 checkpoints" in out

    table = events_table(settings)
    with raw(settings) as execute:
        [(position, state)] = execute(
            f"SELECT notification_id, state FROM {table} ORDER BY notification_id LIMIT 1 OFFSET 2",
            (),
        )
        state = bytes(state)
        at = state.index(b'"text":"') + len(b'"text":"')
        altered = state[:at] + bytes([state[at] ^ 0x20]) + state[at + 1 :]
        execute(f"UPDATE {table} SET state = ? WHERE notification_id = ?", (altered, position))

    code, out, err = verify(settings, tmp_path)
    assert code != 0
    last = err.strip().splitlines()[-1]
    assert last.startswith(f"error: verification failed: position {position} (leaf 2): ")
    assert "Traceback" not in err


def test_verify_fails_on_an_altered_checkpoint(
    service: LedgerService, settings: Settings, tmp_path: Path
) -> None:
    written_and_signed(service)
    with raw(settings) as execute:
        [(note,)] = execute("SELECT note FROM ledger_checkpoints WHERE size = ?", (4,))
        forged = note.replace("factledger\n4\n", "factledger\n5\n", 1)
        execute("UPDATE ledger_checkpoints SET note = ? WHERE size = ?", (forged, 4))
    code, _, err = verify(settings, tmp_path)
    assert code != 0
    assert "checkpoint of size 4" in err
    assert "Traceback" not in err
