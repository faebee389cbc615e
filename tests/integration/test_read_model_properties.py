"""The read models, for every sequence of events on both backends: what the
live projector makes (in batches of any size, caught up at any moments) is
what a rebuild makes, and both are what a naive reference computes from the
events themselves."""

from __future__ import annotations

import itertools
import random
import re
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg import sql

from factledger.rebuilding import parallel_load
from factledger.service import LedgerService
from factledger.settings import Settings
from ledger.claim import ClaimEvent
from ledger.payloads import Stance
from ledger.times import from_micros, to_micros
from ledger.verdict import Verdict
from projections.projector import Projector
from projections.rebuild import ClaimRange, load_range, rebuild
from storage.database import Backend, Database
from tests.builders import Known
from tests.stories import Dump, append, claim_events, dump, interleave, random_ledger
from tests.verdict_model import reference, steps

Fresh = Callable[[], AbstractContextManager[LedgerService]]


@pytest.fixture
def fresh_services(database_url: str, tmp_path: Path) -> Fresh:
    """A new, empty ledger for each hypothesis example, on the fixture's backend."""
    counter = itertools.count()

    @contextmanager
    def fresh() -> Iterator[LedgerService]:
        n = next(counter)
        database = Database.from_url(database_url)
        if database.backend is Backend.SQLITE:
            url = f"sqlite:///{tmp_path / f'ledger-{n}.db'}"
        else:
            url = f"{database_url}_{n}"
        service = LedgerService(Settings(database_url=url, projector=False))
        try:
            yield service
        finally:
            service.close()
            if database.backend is Backend.POSTGRESQL:
                with psycopg.connect(database_url.split("?", maxsplit=1)[0], autocommit=True) as c:
                    c.execute(
                        sql.SQL("DROP SCHEMA {} CASCADE").format(
                            sql.Identifier(f"{database.schema}_{n}")
                        )
                    )

    return fresh


# --- the naive reference ------------------------------------------------------------


@dataclass(frozen=True)
class Stored(Known):
    """An event read back from the store as the reference sees it: validated."""

    position: int


def stored_histories(service: LedgerService) -> dict[UUID, list[Stored]]:
    histories: dict[UUID, list[Stored]] = {}
    mapper = service.persistence.event_store.mapper
    for row in service.persistence.events.rows_after(0, 100_000):
        event = mapper.to_domain_event(row.stored_event())
        assert isinstance(event, ClaimEvent)
        histories.setdefault(row.claim_id, []).append(
            Stored(event, from_micros(row.recorded_at_us), row.position)
        )
    return histories


def expected_claim_rows(history: list[Stored]) -> dict[str, object]:
    """A claim's row by the rules of docs/verdict.md, computed from the set of its events."""
    claim = reference(history)
    assert claim is not None
    registration = min(history, key=lambda e: e.version)
    claimant = registration.event.data.claimant  # type: ignore[union-attr]
    changes = expected_changes(history)
    return {
        "claim_id": registration.event.originator_id,
        "position": registration.position,
        "text": claim.text,
        "tags": tuple(claim.tags),
        "verdict": claim.verdict,
        "verdict_since_us": changes[-1][3],
        "version": claim.version,
        "last_position": max(e.position for e in history),
        "rebuttals": len(claim.rebuttals),
        "evidence_supports": len(claim.evidence[Stance.SUPPORTS]),
        "evidence_refutes": len(claim.evidence[Stance.REFUTES]),
        "evidence_context": len(claim.evidence[Stance.CONTEXT]),
        "verifications": len(claim.standing),
        "words": tuple(
            sorted({w.casefold() for w in re.findall(r"[^\W_]+", f"{claim.text} {claimant.name}")})
        ),
    }


Change = tuple[Verdict | None, Verdict, int, int]


def expected_changes(history: list[Stored]) -> list[Change]:
    """(from, to, position, occurred_at) of each change between consecutive states."""
    fold_order = sorted(history, key=lambda e: (e.occurred_at, e.version))
    changes: list[Change] = []
    previous: Verdict | None = None
    for count in range(1, len(fold_order) + 1):
        state = reference(fold_order[:count])
        assert state is not None
        if state.verdict is not previous:
            event = fold_order[count - 1]
            changes.append((previous, state.verdict, event.position, to_micros(event.occurred_at)))
            previous = state.verdict
    return changes


def check_against_reference(service: LedgerService, made: Dump) -> None:
    histories = stored_histories(service)
    claims, changes = made
    assert [c.claim_id for c in claims] == sorted(
        histories, key=lambda claim_id: -min(e.position for e in histories[claim_id])
    )
    for claim in claims:
        expected = expected_claim_rows(histories[claim.claim_id])
        actual = {name: getattr(claim, name) for name in expected}
        assert actual == expected
    expected_all = sorted(
        (
            (claim_id, *change)
            for claim_id, history in histories.items()
            for change in expected_changes(history)
        ),
        key=lambda c: (c[4], c[3]),
        reverse=True,
    )
    assert [
        (c.claim_id, c.from_verdict, c.to_verdict, c.position, c.occurred_at_us) for c in changes
    ] == expected_all


# --- the property ----------------------------------------------------------------------


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    claims=st.lists(steps, min_size=1, max_size=4),
    order_seed=st.integers(0, 2**32),
    batch_size=st.integers(1, 5),
    catch_up_after=st.sets(st.integers(1, 60)),
)
def test_live_projection_equals_rebuild_equals_reference(
    fresh_services: Fresh,
    claims: list[list[tuple[str, int, int, int]]],
    order_seed: int,
    batch_size: int,
    catch_up_after: set[int],
) -> None:
    events = interleave([claim_events(c) for c in claims], random.Random(order_seed))
    with fresh_services() as service:
        projector = Projector(
            service.persistence.event_log, service.persistence.read_models, batch_size
        )
        for n, event in enumerate(events, start=1):
            append(service, [event])
            if n in catch_up_after:
                projector.catch_up()
        projector.catch_up()
        live = dump(service)

        report = rebuild(projector)

        assert report.position == service.persistence.event_log.head_position()
        assert dump(service) == live
        check_against_reference(service, live)


def test_a_rebuild_of_an_empty_ledger_is_empty_and_live(service: LedgerService) -> None:
    report = rebuild(service.projector)
    assert (report.events, report.claims, report.position) == (0, 0, 0)
    assert dump(service) == ([], [])
    assert service.persistence.read_models.position() == 0


def test_the_live_projector_goes_on_after_a_rebuild(service: LedgerService) -> None:
    histories = [claim_events([("rebut", 1, 0, 0)]) for _ in range(3)]
    append(service, histories[0])
    service.projector.catch_up()
    append(service, histories[1])
    rebuild(service.projector)  # also applies what the live projector had not
    append(service, histories[2])
    assert service.projector.catch_up() == 2
    claims, changes = dump(service)
    assert len(claims) == 3
    assert len(changes) == 6
    assert (
        service.persistence.read_models.position() == service.persistence.event_log.head_position()
    )


def test_a_rebuild_loaded_in_ranges_of_claims_equals_a_rebuild_in_one_go(
    service: LedgerService,
) -> None:
    append(service, random_ledger(seed=11, claims=40))
    rebuild(service.projector)
    whole = dump(service)
    queries, store = service.persistence.events, service.persistence.read_models

    def in_ranges(
        head: int, ranges: list[ClaimRange], on_progress: Callable[[int], None]
    ) -> tuple[int, int]:
        totals = [load_range(queries, store, head, claims, on_progress) for claims in ranges]
        return sum(t[0] for t in totals), sum(t[1] for t in totals)

    report = rebuild(service.projector, parallel=(in_ranges, 3))
    assert report.claims == 40
    assert dump(service) == whole


def test_a_large_postgresql_rebuild_runs_in_several_processes_and_equals_one_in_one(
    service: LedgerService, database_url: str
) -> None:
    if Database.from_url(database_url).backend is not Backend.POSTGRESQL:
        assert parallel_load(service.persistence, 10**6) is None  # SQLite: one writer at a time
        return
    append(service, random_ledger(seed=12, claims=30), per_transaction=20)
    rebuild(service.projector)
    whole = dump(service)
    parallel = parallel_load(service.persistence, 10**6)
    assert parallel is not None
    assert parallel_load(service.persistence, 1_000) is None  # too small to be worth processes
    report = rebuild(service.projector, parallel=parallel)
    assert report.events == service.persistence.event_log.head_position()
    assert dump(service) == whole
