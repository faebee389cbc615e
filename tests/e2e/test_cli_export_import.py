"""`factledger export` and `factledger import`, run as a user runs them (no server
running), on both backends: a ledger exported and imported into an empty one
answers the same; a second import appends nothing; a malformed line stops the
import with its number, nothing from it on imported."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from factledger.service import LedgerService
from factledger.settings import Settings
from ledger.events import EventType
from ledger.payloads import (
    CitedSource,
    EvidenceAttachment,
    Rating,
    Source,
    Stance,
    VerificationRecording,
    Withdrawal,
)
from tests.e2e.processes import run
from tests.writes import write

pytestmark = pytest.mark.slow

LEDGER_TIMES = frozenset({"position", "recorded_at", "as_of", "leaf_index"})


def without_ledger_times(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_ledger_times(v) for k, v in value.items() if k not in LEDGER_TIMES}
    if isinstance(value, list):
        return [without_ledger_times(v) for v in value]
    return value


@pytest.fixture
def exported(database_url: str, tmp_path: Path) -> Path:
    """The seeded ledger, its Soledar claim verified, evidence attached and withdrawn,
    the verification retracted; exported by `factledger export FILE`."""
    assert run("seed", database_url=database_url, cwd=tmp_path).returncode == 0
    service = LedgerService(Settings(database_url=database_url, projector=False))
    try:
        first = service.persistence.event_log.page(0, 1)[0].claim_id
        verified = write(
            service,
            EventType.VERIFICATION_RECORDED,
            VerificationRecording(
                rating=Rating.MOSTLY_FALSE,
                rationale="Fighting continued after 12 January.",
                sources=[CitedSource(url="https://example.org/report")],
            ),
            claim_id=first,
            occurred_at="2023-01-14T12:00:00Z",
        )
        attached = write(
            service,
            EventType.EVIDENCE_ATTACHED,
            EvidenceAttachment(source=Source(url="https://example.org/v"), stance=Stance.REFUTES),
            claim_id=first,
        )
        write(
            service,
            EventType.EVIDENCE_WITHDRAWN,
            Withdrawal(reason="Not relevant."),
            claim_id=first,
            item_id=UUID(attached.event.data["evidence_id"]),
        )
        write(
            service,
            EventType.VERIFICATION_RETRACTED,
            Withdrawal(reason="Wrong source."),
            claim_id=first,
            item_id=UUID(verified.event.data["verification_id"]),
            occurred_at="2023-01-20T12:00:00Z",
        )
    finally:
        service.close()
    done = run("export", "ledger.ndjson", database_url=database_url, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    return tmp_path / "ledger.ndjson"


Answering = Callable[[], tuple[TestClient, TestClient]]


@pytest.fixture
def answering(database_url: str, second_database_url: str) -> Iterator[Answering]:
    """The API over the exported ledger and over the one imported into, opened
    when asked (once the command line has written)."""
    with ExitStack() as stack:

        def open_both() -> tuple[TestClient, TestClient]:
            clients = []
            for url in (database_url, second_database_url):
                service = LedgerService(Settings(database_url=url, projector=False))
                stack.callback(service.close)
                clients.append(stack.enter_context(TestClient(create_app(service=service))))
            return clients[0], clients[1]

        yield open_both


def lines_of(path: Path) -> list[str]:
    return path.read_text().splitlines()


def test_export_writes_every_envelope_in_position_order_and_the_same_to_standard_output(
    exported: Path, database_url: str, tmp_path: Path
) -> None:
    envelopes = [json.loads(line) for line in lines_of(exported)]
    assert len(envelopes) > 10
    positions = [envelope["position"] for envelope in envelopes]
    assert positions == sorted(set(positions))
    assert {e["type"] for e in envelopes} >= {"ClaimRegistered", "VerificationRetracted"}
    to_stdout = run("export", database_url=database_url, cwd=tmp_path)
    assert to_stdout.returncode == 0, to_stdout.stderr
    assert to_stdout.stdout == exported.read_text()


def test_export_then_import_into_an_empty_ledger_gives_the_same_answers(
    exported: Path, second_database_url: str, tmp_path: Path, answering: Answering
) -> None:
    done = run("import", str(exported), database_url=second_database_url, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    count = len(lines_of(exported))
    assert f"{count} events appended, 0 already there" in done.stdout
    again = run("export", database_url=second_database_url, cwd=tmp_path)
    assert [without_ledger_times(json.loads(line)) for line in again.stdout.splitlines()] == [
        without_ledger_times(json.loads(line)) for line in lines_of(exported)
    ]
    theirs, ours = answering()
    claims = {json.loads(line)["claim_id"] for line in lines_of(exported)}
    for claim in claims:
        for path in ("", "/history", "/timeline", "?valid_at=2023-01-15T00:00:00Z"):
            expected, got = theirs.get(f"/claims/{claim}{path}"), ours.get(f"/claims/{claim}{path}")
            assert got.status_code == expected.status_code == 200
            assert without_ledger_times(got.json()) == without_ledger_times(expected.json())


def test_importing_the_same_file_twice_appends_nothing_from_a_file_or_standard_input(
    exported: Path, second_database_url: str, tmp_path: Path
) -> None:
    count = len(lines_of(exported))
    assert (
        run("import", str(exported), database_url=second_database_url, cwd=tmp_path).returncode == 0
    )
    again = run(
        "import", "-", database_url=second_database_url, cwd=tmp_path, stdin=exported.read_text()
    )
    assert again.returncode == 0, again.stderr
    assert f"0 events appended, {count} already there" in again.stdout
    after = run("export", database_url=second_database_url, cwd=tmp_path)
    assert len(after.stdout.splitlines()) == count


@pytest.mark.parametrize(
    ("spoilt", "said"),
    [
        ('{"event_id": "not a uuid", ', "not JSON"),
        ('{"type": "ClaimRegistered"}', "Field required"),
    ],
)
def test_a_malformed_line_stops_the_import_with_one_line_naming_it_and_nothing_from_it_on(
    exported: Path, second_database_url: str, tmp_path: Path, spoilt: str, said: str
) -> None:
    lines = lines_of(exported)
    lines[4] = spoilt
    bad = tmp_path / "bad.ndjson"
    bad.write_text("\n".join(lines) + "\n")
    done = run("import", str(bad), database_url=second_database_url, cwd=tmp_path)
    assert done.returncode != 0
    assert done.stderr.startswith("error: ")
    assert done.stderr.strip().count("\n") == 0, done.stderr
    assert "line 5:" in done.stderr
    assert said in done.stderr
    assert "Traceback" not in done.stderr
    imported = run("export", database_url=second_database_url, cwd=tmp_path).stdout.splitlines()
    assert [without_ledger_times(json.loads(line)) for line in imported] == [
        without_ledger_times(json.loads(line)) for line in lines[:4]
    ]


def test_importing_a_file_that_is_not_there_is_one_line_and_a_non_zero_exit(
    second_database_url: str, tmp_path: Path
) -> None:
    done = run("import", "missing.ndjson", database_url=second_database_url, cwd=tmp_path)
    assert done.returncode != 0
    assert done.stderr.strip() == "error: cannot read missing.ndjson: No such file or directory"


def test_an_export_into_a_directory_that_is_not_there_is_one_line_and_leaves_nothing(
    database_url: str, tmp_path: Path
) -> None:
    done = run("export", "no/such/dir/ledger.ndjson", database_url=database_url, cwd=tmp_path)
    assert done.returncode != 0
    assert done.stderr.strip().startswith("error: cannot write no/such/dir/ledger.ndjson")
    assert done.stderr.strip().count("\n") == 0
