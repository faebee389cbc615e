"""A ledger written by an earlier release, opened by this one, on both backends.

The previous release's source is taken from git and run in a subprocess (its
tree first on PYTHONPATH, ahead of this checkout's editable install):
tests/e2e/previous_release_ledger.py runs its `factledger seed`, writes a
story through its write path, runs its projector part of the way, and dumps
what it answers. This release then opens the same database in the test
process, as `factledger serve` would: it must answer the same, take the old
keys and Idempotency-Keys, and go on writing and projecting from where the
old code stopped.

The last release (before leaf indexes) writes a ledger through its own
command line and code; this release opens it and gives the old events leaf
indexes 0..n-1 in position order, once, and new events the next ones.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import asdict
from datetime import datetime
from itertools import pairwise
from pathlib import Path
from typing import Any
from uuid import UUID

import orjson
import pytest

from api.encoding import envelopes_json, state_json, timeline_json
from factledger.commands import Command
from factledger.idempotency import request_fingerprint
from factledger.reads import TimeWindow
from factledger.seeding import load_seeds, seed_ledger
from factledger.service import LedgerService
from factledger.settings import Settings
from ledger.access import Actor
from ledger.envelope import envelope_of
from ledger.errors import LedgerError
from ledger.events import EventType
from ledger.recorded import RecordedEvent
from ledger.times import format_instant, parse_instant, utc_now
from ledger.verdict import Verdict
from projections.read_models import ChangeFilter, ClaimFilter
from projections.rebuild import rebuild
from storage.rows import IdempotencyRow, IdempotencyScope
from tests.conftest import IN_CI
from tests.writes import FILING, register, write

pytestmark = pytest.mark.slow

PREVIOUS_RELEASE = "9b25fa8"
LAST_RELEASE = "71ab455"
"""The last release before leaf indexes (the stored layout changed after it)."""
REPOSITORY = Path(__file__).resolve().parents[2]
OLD_LEDGER_SCRIPT = Path(__file__).with_name("previous_release_ledger.py")
Answers = dict[str, Any]


# --- the previous release's ledger ------------------------------------------------------


@pytest.fixture(scope="session")
def previous_release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The previous release's source tree, from git."""
    return release_tree(tmp_path_factory, PREVIOUS_RELEASE)


@pytest.fixture(scope="session")
def last_release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The last release's source tree, from git."""
    return release_tree(tmp_path_factory, LAST_RELEASE)


def release_tree(tmp_path_factory: pytest.TempPathFactory, commit: str) -> Path:
    try:
        archive = subprocess.run(
            ["git", "-C", str(REPOSITORY), "archive", commit],
            capture_output=True,
            check=False,
        )
    except FileNotFoundError as error:
        archive = subprocess.CompletedProcess([], 1, b"", str(error).encode())
    if archive.returncode != 0:
        reason = (
            f"the release {commit} is not in this clone (a shallow one?): "
            f"{archive.stderr.decode().strip()}"
        )
        if IN_CI:
            pytest.fail(f"{reason}; CI must fetch it (git fetch --unshallow)")
        pytest.skip(reason)
    tree = tmp_path_factory.mktemp(f"release_{commit}").resolve()
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(tree, filter="data")
    return tree


def run_previous_release(tree: Path, database_url: str, cwd: Path, dump: Path) -> None:
    pythonpath = [str(tree), *filter(None, [os.environ.get("PYTHONPATH")])]
    env = {
        **os.environ,
        "FACTLEDGER_DATABASE_URL": database_url,
        "PYTHONPATH": os.pathsep.join(pythonpath),
    }
    # -P: no script directory or working directory ahead of PYTHONPATH.
    done = subprocess.run(
        [sys.executable, "-P", str(OLD_LEDGER_SCRIPT), str(tree), str(dump)],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"the previous release failed:\n{done.stderr}"


@pytest.fixture
def old(previous_release: Path, database_url: str, tmp_path: Path) -> dict[str, Any]:
    """What the previous release answered about the ledger it wrote."""
    dump = tmp_path / "previous_release.json"
    run_previous_release(previous_release, database_url, tmp_path, dump)
    answers: dict[str, Any] = json.loads(dump.read_text())
    check_worth_upgrading(answers)
    return answers


def check_worth_upgrading(old: dict[str, Any]) -> None:
    """The story has every type of event, back-dated ones, and events the old
    projector did not get to."""
    events = old_events(old)
    assert {e["type"] for e in events} == {t.declared.name for t in EventType}
    assert any(
        later["occurred_at"] < earlier["occurred_at"]
        for earlier, later in pairwise(events)
        if earlier["claim_id"] == later["claim_id"]
    )
    assert 0 < old["read_models"]["position"] < old["read_models_at_head"]["position"]


@pytest.fixture
def upgraded(old: dict[str, Any], database_url: str) -> Iterator[LedgerService]:
    """This release, started on the previous release's ledger."""
    service = LedgerService(Settings(database_url=database_url))
    try:
        yield service
    finally:
        service.close()


# --- what this release answers, shaped as the dump -----------------------------------------


def declared_answers(
    service: LedgerService, claim_id: UUID, as_of: str | None, valid_at: str | None
) -> Answers:
    """State, history and timeline as the declared models give them (the timeline
    from the state's own fold: `Fold.changes`)."""
    times = {"as_of": instant(as_of), "valid_at": instant(valid_at)}

    def timeline() -> Answers:
        view = service.reads.state(claim_id, **times)
        changes = view.folded.changes()
        return {
            "window": window(view.window),
            "changes": [c.model_dump(mode="json", by_alias=True) for c in changes],
        }

    def history() -> Answers:
        used, events = service.reads.history(claim_id, **times)
        return {
            "window": window(used),
            "envelopes": [envelope_of(e).model_dump(mode="json") for e in events],
        }

    return {
        "state": or_error(
            lambda: service.reads.state(claim_id, **times).state.model_dump(mode="json")
        ),
        "history": or_error(history),
        "timeline": or_error(timeline),
    }


def served_answers(
    service: LedgerService, claim_id: UUID, as_of: str | None, valid_at: str | None
) -> Answers:
    """State, history and timeline as the API encodes them."""
    times = {"as_of": instant(as_of), "valid_at": instant(valid_at)}

    def state() -> Answers:
        view = service.reads.state(claim_id, **times)
        used = view.window
        encoded: Answers = orjson.loads(
            state_json(claim_id, view.folded, used.as_of_us, used.valid_at_us)
        )
        return encoded

    def history() -> Answers:
        used, events = service.reads.history(claim_id, **times)
        return {"window": window(used), "envelopes": orjson.loads(envelopes_json(events))}

    def timeline() -> Answers:
        used, changes = service.reads.timeline(claim_id, **times)
        return {"window": window(used), "changes": orjson.loads(timeline_json(changes))}

    return {"state": or_error(state), "history": or_error(history), "timeline": or_error(timeline)}


def instant(text: str | None) -> datetime | None:
    return parse_instant(text) if text is not None else None


def window(used: TimeWindow) -> list[str | None]:
    valid_at = used.valid_at
    return [format_instant(used.as_of), format_instant(valid_at) if valid_at else None]


def or_error(answer: Callable[[], Any]) -> Any:
    try:
        return answer()
    except LedgerError as error:
        return {"error": type(error).__name__, "detail": error.detail}


def differences(
    old: dict[str, Any],
    answers: Callable[[LedgerService, UUID, str | None, str | None], Answers],
    service: LedgerService,
    asked: Callable[[dict[str, Any]], bool] = lambda pair: True,
) -> list[str]:
    """Where this release's answers differ from the old ones, each with its first difference."""
    found = []
    for claim_id, pairs in old["claims"].items():
        for pair in filter(asked, pairs):
            new = without_null_additions(
                answers(service, UUID(claim_id), pair["as_of"], pair["valid_at"])
            )
            new["history"] = without_leaf_indexes(new["history"])
            for read in ("state", "history", "timeline"):
                if new[read] != pair[read]:
                    where = (
                        f"{read} of {claim_id} as_of={pair['as_of']} valid_at={pair['valid_at']}"
                    )
                    found.append(f"{where}: {first_difference(pair[read], new[read])}")
    return found


def without_leaf_indexes(history: Any) -> Any:
    """A history as a release before leaf indexes answered it (SPEC §2: a key
    added by a later capability)."""
    if not isinstance(history, dict) or "envelopes" not in history:
        return history
    return {
        **history,
        "envelopes": [
            {k: v for k, v in envelope.items() if k != "leaf_index"}
            for envelope in history["envelopes"]
        ],
    }


ADDED_SINCE_THE_PREVIOUS_RELEASE = frozenset({"kind", "review"})
"""Optional fields a claim's state shows since that release (a claimant's or
party's `kind`, a verification's `review`): `null` for every old event."""


def without_null_additions(answer: Any) -> Any:
    """The answer without the fields added since the previous release, where they are null."""
    if isinstance(answer, dict):
        return {
            key: without_null_additions(value)
            for key, value in answer.items()
            if not (key in ADDED_SINCE_THE_PREVIOUS_RELEASE and value is None)
        }
    if isinstance(answer, list):
        return [without_null_additions(value) for value in answer]
    return answer


def first_difference(old: Any, new: Any, path: str = "") -> str:
    if isinstance(old, dict) and isinstance(new, dict) and old.keys() == new.keys():
        for key in old:
            if old[key] != new[key]:
                return first_difference(old[key], new[key], f"{path}.{key}")
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for i, (o, n) in enumerate(zip(old, new, strict=True)):
            if o != n:
                return first_difference(o, n, f"{path}[{i}]")
    return f"{path or 'the answer'}: previous release {old!r}, this release {new!r}"


def read_models(service: LedgerService, queries: dict[str, Any]) -> dict[str, Any]:
    """The rows of each query of the dump, as JSON values."""
    store = service.persistence.read_models
    answered: dict[str, Any] = {"position": store.position()}
    for name, asked in queries.items():
        if name == "position":
            continue
        query = asked["query"]
        if asked["kind"] == "claims":
            verdict = query.get("verdict")
            where = ClaimFilter(
                verdict=Verdict(verdict) if verdict else None,
                tag=query.get("tag"),
                words=tuple(query.get("words", ())),
            )
            rows: list[Any] = store.claims(where, None, 10**9)
        else:
            to = query.get("to")
            rows = store.changes(ChangeFilter(to=Verdict(to) if to else None), None, 10**9)
        answered[name] = {**asked, "rows": [jsonable(row) for row in rows]}
    return answered


def all_rows(service: LedgerService) -> dict[str, Any]:
    store = service.persistence.read_models
    return {
        "position": store.position(),
        "claims": [jsonable(row) for row in store.claims(ClaimFilter(), None, 10**9)],
        "changes": [jsonable(row) for row in store.changes(ChangeFilter(), None, 10**9)],
    }


def jsonable(record: Any) -> Any:
    """A read-model row as JSON values, as previous_release_ledger.py dumps it."""
    return json.loads(json.dumps(asdict(record), default=_json_default))


def _json_default(value: object) -> object:
    return str(value)  # UUIDs: the claimant and the actor are JSON objects already


def old_events(old: dict[str, Any]) -> list[dict[str, Any]]:
    """Every event the previous release wrote, as its current histories list them."""
    return [
        envelope
        for pairs in old["claims"].values()
        for envelope in pairs[0]["history"]["envelopes"]
    ]


def replayed_command(keyed: dict[str, Any]) -> Command:
    """The same request again, as this release's API would make it."""
    body = keyed["body"]
    envelope = keyed["envelope"]
    event_type = EventType.named(envelope["type"])
    payload = event_type.declared.payload.model_validate(
        {k: v for k, v in body.items() if k not in ("claim_id", "occurred_at")}
    )
    return Command(
        event_type=event_type,
        payload=payload,
        actor=Actor.model_validate(keyed["actor"]),
        received_at=utc_now(),
        claim_id=UUID(envelope["claim_id"]),
        occurred_at=instant(body.get("occurred_at")),
        idempotency=IdempotencyRow(
            scope=IdempotencyScope(**keyed["scope"]), request_hash=request_fingerprint(body)
        ),
    )


# --- the test ---------------------------------------------------------------------------------


def test_a_ledger_of_the_previous_release_is_upgraded_in_place_and_nothing_is_lost(
    old: dict[str, Any], upgraded: LedgerService
) -> None:
    assert differences(old, declared_answers, upgraded) == []
    assert differences(old, served_answers, upgraded) == []
    assert_the_old_keys_still_work(old, upgraded)
    assert read_models(upgraded, old["read_models"]) == old["read_models"]

    head = max(e["position"] for e in old_events(old))
    assert_retries_of_the_old_keyed_writes_are_replayed(old, upgraded)
    assert upgraded.persistence.event_log.head_position() == head
    assert_leaf_indexes_follow_positions(upgraded)

    assert upgraded.projector.catch_up() == head - old["read_models"]["position"]
    assert all_rows(upgraded) == old["read_models_at_head"]

    assert_new_writes_follow_the_old_events(old, upgraded)
    as_of_old_times = differences(
        old, declared_answers, upgraded, asked=lambda pair: pair["as_of"] is not None
    )
    assert as_of_old_times == []

    assert upgraded.projector.catch_up() == 2
    assert_leaf_indexes_follow_positions(upgraded)
    caught_up = all_rows(upgraded)
    rebuild(upgraded.projector)
    assert all_rows(upgraded) == caught_up


def assert_the_old_keys_still_work(old: dict[str, Any], service: LedgerService) -> None:
    assert [asdict(row) for row in service.keys.list()] == old["key_list"]
    for name in ("editor", "checker"):
        issued = old["keys"][name]
        actor = service.keys.authenticate(issued["secret"])
        assert actor == Actor(id=issued["key_id"], name=issued["name"], role=issued["role"])
    assert service.keys.authenticate(old["keys"]["revoked"]["secret"]) is None


def assert_retries_of_the_old_keyed_writes_are_replayed(
    old: dict[str, Any], service: LedgerService
) -> None:
    """Each keyed write of the old story, and every seed, sent again with its
    Idempotency-Key and body, gets its first answer."""
    for keyed in old["keyed_writes"]:
        assert request_fingerprint(keyed["body"]) == keyed["request_hash"]
        written = service.writer.write(replayed_command(keyed))
        assert written.replayed
        envelope = written.envelope.model_dump(mode="json")
        assert envelope.pop("leaf_index") >= 0
        assert envelope == keyed["envelope"]
    report = seed_ledger(service.writer, load_seeds())
    assert (report.appended, report.already_there) == (0, 14)


def assert_new_writes_follow_the_old_events(old: dict[str, Any], service: LedgerService) -> None:
    """A back-dated rebuttal to the old story's claim, and a new claim: their versions
    and positions follow the old ones, and they are recorded after every old event."""
    events = old_events(old)
    head = max(e["position"] for e in events)
    story = UUID(old["story_claim_id"])
    story_version = max(e["version"] for e in events if e["claim_id"] == str(story))
    last_recorded = max(parse_instant(e["recorded_at"]) for e in events)

    back_dated = "2023-01-12T06:00:00Z"
    rebuttal = write(
        service, EventType.REBUTTAL_FILED, FILING, claim_id=story, occurred_at=back_dated
    )
    registration = register(service)

    assert (rebuttal.event.version, registration.event.version) == (story_version + 1, 1)
    assert (rebuttal.event.position, registration.event.position) == (head + 1, head + 2)
    assert parse_instant(rebuttal.envelope.recorded_at) > last_recorded
    assert service.reads.state(story).state.version == story_version + 1


def assert_leaf_indexes_follow_positions(service: LedgerService) -> list[RecordedEvent]:
    """Every event's leaf index is its place in position order, from 0."""
    events = service.persistence.event_log.page(0, 10**6)
    assert [e.leaf_index for e in events] == list(range(len(events)))
    assert [e.position for e in events] == sorted(e.position for e in events)
    return events


# --- from the last release, before leaf indexes ------------------------------------------

LAST_RELEASE_WRITES = """
import sys
from pathlib import Path
from api.encoding import envelopes_json
from factledger.service import LedgerService
from factledger.settings import Settings
from ledger.events import EventType
from tests.writes import FILING, register, write

service = LedgerService(Settings())
try:
    for _ in range(3):
        claim = register(service).event.claim_id
        write(service, EventType.REBUTTAL_FILED, FILING, claim_id=claim)
    service.projector.catch_up()
    Path(sys.argv[1]).write_bytes(envelopes_json(service.persistence.event_log.page(0, 10**6)))
finally:
    service.close()
"""


def run_release(tree: Path, database_url: str, cwd: Path, *args: str) -> str:
    """A command of that release's own code (`-m factledger ...` or `-c ...`)."""
    pythonpath = [str(tree), *filter(None, [os.environ.get("PYTHONPATH")])]
    env = {
        **os.environ,
        "FACTLEDGER_DATABASE_URL": database_url,
        "PYTHONPATH": os.pathsep.join(pythonpath),
    }
    done = subprocess.run(
        [sys.executable, "-P", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"release {tree.name} failed: {args[:3]}\n{done.stderr}"
    return done.stdout


def test_a_ledger_of_the_last_release_gets_leaf_indexes_in_position_order_once(
    last_release: Path, database_url: str, tmp_path: Path
) -> None:
    run_release(last_release, database_url, tmp_path, "-m", "factledger", "seed")
    key = (
        run_release(
            last_release,
            database_url,
            tmp_path,
            "-m",
            "factledger",
            "keys",
            "create",
            "--name",
            "old editor",
            "--role",
            "editor",
        )
        .strip()
        .splitlines()[-1]
    )
    dump = tmp_path / "last_release_events.json"
    run_release(last_release, database_url, tmp_path, "-c", LAST_RELEASE_WRITES, str(dump))
    old_envelopes = orjson.loads(dump.read_bytes())
    assert len(old_envelopes) == 14 + 6
    assert all("leaf_index" not in envelope for envelope in old_envelopes)

    for _ in range(2):  # the upgrade runs once; opening again changes nothing
        service = LedgerService(Settings(database_url=database_url))
        try:
            events = assert_leaf_indexes_follow_positions(service)
            envelopes = orjson.loads(envelopes_json(events))
            assert without_leaf_indexes({"envelopes": envelopes})["envelopes"] == old_envelopes
            assert service.keys.authenticate(key) is not None
        finally:
            service.close()

    service = LedgerService(Settings(database_url=database_url))
    try:
        registration = register(service)
        rebuttal = write(
            service, EventType.REBUTTAL_FILED, FILING, claim_id=registration.event.claim_id
        )
        assert (registration.envelope.leaf_index, rebuttal.envelope.leaf_index) == (20, 21)
        assert assert_leaf_indexes_follow_positions(service)[-1].event_id == str(
            rebuttal.event.event_id
        )
        assert service.projector.catch_up() == 2
    finally:
        service.close()
