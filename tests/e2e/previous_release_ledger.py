"""Writes a ledger with the previous release's code, and dumps what that code
answers about it, for tests/e2e/test_upgrade.py.

Run as a script, with the previous release's source tree first on PYTHONPATH
and FACTLEDGER_DATABASE_URL set:

    python -P previous_release_ledger.py OLD_TREE DUMP_FILE

It imports only that release's modules (`factledger.writes` is gone since),
so no test imports it. It runs that release's `factledger seed`, makes a few
API keys, writes a story through the old write path in two parts, runs the
old projector after the first, then dumps, as JSON: every claim's state,
history and timeline at many (as_of, valid_at) pairs, the read models as the
old projector left them, the rows the old code makes of every event, the
keys, and the keyed writes.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from projections.store import ChangeFilter, ClaimFilter
from pydantic import BaseModel

import ledger
from factledger import writes  # the previous release's write path (gone since)
from factledger.cli import cli as factledger_command
from factledger.idempotency import request_fingerprint
from factledger.seeding import seed_claim_id
from factledger.service import LedgerService
from factledger.settings import Settings
from ledger.access import Actor, Role
from ledger.envelope import Envelope
from ledger.errors import LedgerError
from ledger.payloads import (
    ClaimAmendment,
    ClaimRegistration,
    EvidenceAttachment,
    RebuttalFiling,
    VerificationRecording,
    Withdrawal,
)
from ledger.times import format_instant, parse_instant, utc_now
from ledger.verdict import Verdict
from projections.projector import project_histories
from storage.rows import IdempotencyRow, IdempotencyScope

STORY_CLAIM_ID = UUID("0b7e9a52-6c1d-4f0e-9d51-5a4f2f3c8e11")
"""The client-chosen id of the story's claim."""
SEED_CLAIM_ID = seed_claim_id("soledar-liberation-completed")

READ_MODEL_QUERIES: dict[str, tuple[str, dict[str, Any]]] = {
    "claims": ("claims", {}),
    "claims?q=soledar wagner": ("claims", {"words": ["soledar", "wagner"]}),
    "claims?verdict=disputed": ("claims", {"verdict": "disputed"}),
    "claims?tag=soledar": ("claims", {"tag": "soledar"}),
    "changes": ("changes", {}),
    "changes?to=disputed": ("changes", {"to": "disputed"}),
}


class Story:
    """Writes through the old `LedgerWrites` as the old API would, noting the keyed ones."""

    def __init__(self, service: LedgerService, actors: dict[str, Actor]) -> None:
        self.ledger_writes = service.writes
        self.actors = actors
        self.keyed: list[dict[str, Any]] = []
        """Each keyed write: its scope, request hash, body and envelope."""

    def register(self, body: dict[str, Any], *, key: str | None = None) -> UUID:
        """Registers a claim from the body `POST /claims` would take; returns its id."""
        request = self._request("editor", "/claims", body, key)
        written = self.ledger_writes.register_claim(
            ClaimRegistration.model_validate(
                {k: v for k, v in body.items() if k not in ("claim_id", "occurred_at")}
            ),
            claim_id=UUID(body["claim_id"]) if "claim_id" in body else None,
            occurred_at=_occurred_at(body),
            request=request,
        )
        return self._noted(written, request, body).claim_id

    def add(
        self,
        method: str,
        claim_id: UUID,
        body: dict[str, Any],
        *,
        item: UUID | None = None,
        actor: str = "editor",
        key: str | None = None,
    ) -> dict[str, Any]:
        """One write of `method` (`file_rebuttal`, ...) from the body its route would
        take; returns the event's data."""
        path = ("/claims/{claim}/" + _PATHS[method]).format(claim=claim_id, item=item)
        request = self._request(actor, path, body, key)
        payload = _PAYLOADS[method].model_validate(
            {k: v for k, v in body.items() if k != "occurred_at"}
        )
        ids = (claim_id, item) if item is not None else (claim_id,)
        write = getattr(self.ledger_writes, method)
        written = write(*ids, payload, occurred_at=_occurred_at(body), request=request)
        return self._noted(written, request, body).data

    def _request(
        self, actor: str, path: str, body: dict[str, Any], key: str | None
    ) -> writes.WriteRequest:
        who = self.actors[actor]
        idempotency = None
        if key is not None:
            idempotency = IdempotencyRow(
                scope=IdempotencyScope(api_key_id=who.id, method="POST", path=path, key=key),
                request_hash=request_fingerprint(body),
            )
        return writes.WriteRequest(actor=who, received_at=utc_now(), idempotency=idempotency)

    def _noted(
        self, written: writes.Written, request: writes.WriteRequest, body: dict[str, Any]
    ) -> Envelope:
        if request.idempotency is not None:
            self.keyed.append(
                {
                    "actor": request.actor.model_dump(mode="json"),
                    "scope": asdict(request.idempotency.scope),
                    "request_hash": request.idempotency.request_hash,
                    "body": body,
                    "envelope": written.envelope.model_dump(mode="json"),
                }
            )
        return written.envelope


_PATHS = {
    "amend_claim": "amendments",
    "attach_evidence": "evidence",
    "withdraw_evidence": "evidence/{item}/withdrawal",
    "file_rebuttal": "rebuttals",
    "withdraw_rebuttal": "rebuttals/{item}/withdrawal",
    "record_verification": "verifications",
    "retract_verification": "verifications/{item}/retraction",
}
_PAYLOADS: dict[str, type[BaseModel]] = {
    "amend_claim": ClaimAmendment,
    "attach_evidence": EvidenceAttachment,
    "withdraw_evidence": Withdrawal,
    "file_rebuttal": RebuttalFiling,
    "withdraw_rebuttal": Withdrawal,
    "record_verification": VerificationRecording,
    "retract_verification": Withdrawal,
}


def _occurred_at(body: dict[str, Any]) -> datetime | None:
    return parse_instant(body["occurred_at"]) if "occurred_at" in body else None


def write_first_part(story: Story) -> dict[str, Any]:
    """A claim with a client-chosen id, registered with an Idempotency-Key; evidence,
    a keyed rebuttal and a verification, all back-dated."""
    claim = story.register(
        {
            "claim_id": str(STORY_CLAIM_ID),
            "text": "Wagner fighters alone took Soledar.",
            "claimant": {"name": "Yevgeny Prigozhin", "affiliation": "Wagner Group"},
            "appearance": {"url": "https://t.me/concordgroup_official/123", "outlet": "Telegram"},
            "language": "en",
            "tags": ["soledar", "wagner"],
            "occurred_at": "2023-01-10T08:00:00Z",
        },
        key="story-register",
    )
    evidence = story.add(
        "attach_evidence",
        claim,
        {
            "source": {"url": "https://www.understandingwar.org/", "title": "ISW assessment"},
            "excerpt": "Russian regular forces took part in the fighting.",
            "stance": "refutes",
            "occurred_at": "2023-01-11T10:00:00Z",
        },
    )
    rebuttal = story.add(
        "file_rebuttal",
        claim,
        {
            "party": {"name": "Russian Defense Ministry"},
            "statement": "Airborne troops took part in the assault.",
            "occurred_at": "2023-01-12T09:00:00Z",
        },
        key="story-rebuttal",
    )
    verification = story.add(
        "record_verification",
        claim,
        {
            "rating": "false",
            "rationale": "Regular Russian units fought alongside Wagner.",
            "sources": [{"url": "https://www.understandingwar.org/"}],
            "occurred_at": "2023-01-14T12:00:00Z",
        },
        actor="checker",
    )
    return {
        "claim": claim,
        "evidence": UUID(evidence["evidence_id"]),
        "rebuttal": UUID(rebuttal["rebuttal_id"]),
        "verification": UUID(verification["verification_id"]),
    }


def write_second_part(story: Story, first: dict[str, Any]) -> None:
    """After the projector ran: amendments, ends of items, back-dated events that
    land between earlier ones, a claim with a server-made id, and writes to a
    seeded claim."""
    claim = first["claim"]
    story.add(
        "amend_claim",
        claim,
        {"text": "Wagner fighters took Soledar.", "tags": ["soledar"], "reason": "Quote fixed."},
    )
    story.add(
        "retract_verification",
        claim,
        {"reason": "Published too early.", "occurred_at": "2023-01-15T08:00:00Z"},
        item=first["verification"],
    )
    second = story.add(
        "file_rebuttal",
        claim,
        {
            "party": {"name": "Hanna Malyar"},
            "statement": "Battles continue in Soledar.",
            "occurred_at": "2023-01-11T12:00:00Z",
        },
    )
    story.add(
        "record_verification",
        claim,
        {
            "rating": "mostly_false",
            "rationale": "Wagner led the assault, with regular units.",
            "sources": [{"url": "https://www.bbc.com/news/world-europe-64266460", "title": "BBC"}],
            "occurred_at": "2023-01-13T18:00:00Z",
        },
        actor="checker",
    )
    story.add(
        "withdraw_rebuttal",
        claim,
        {"reason": "Filed twice.", "occurred_at": "2023-01-16T08:00:00Z"},
        item=first["rebuttal"],
    )
    story.add(
        "withdraw_evidence",
        claim,
        {"reason": "The source moved.", "occurred_at": "2023-01-16T09:00:00Z"},
        item=first["evidence"],
    )
    story.add(
        "withdraw_rebuttal",
        claim,
        {"reason": "Superseded.", "occurred_at": "2023-01-17T08:00:00Z"},
        item=UUID(second["rebuttal_id"]),
    )
    other = story.register(
        {"text": "Soledar is encircled.", "claimant": {"name": "Denis Pushilin"}, "tags": []}
    )
    story.add("file_rebuttal", other, {"party": {"name": "Serhiy Cherevatyi"}, "statement": "No."})
    story.add(
        "record_verification",
        SEED_CLAIM_ID,
        {
            "rating": "mostly_true",
            "rationale": "Ukraine confirmed the withdrawal on 25 January.",
            "sources": [{"url": "https://www.reuters.com/world/europe/"}],
            "occurred_at": "2023-01-13T20:00:00Z",
        },
        actor="checker",
    )


# --- what the old code answers ----------------------------------------------------------


def answers(
    service: LedgerService, claim_id: UUID, as_of: str | None, valid_at: str | None
) -> dict[str, Any]:
    """State, history and timeline at one pair of times, or the error each raised."""
    times = {
        "as_of": parse_instant(as_of) if as_of else None,
        "valid_at": parse_instant(valid_at) if valid_at else None,
    }
    reads = service.reads
    return {
        "state": _or_error(lambda: reads.state(claim_id, **times).model_dump(mode="json")),
        "history": _or_error(lambda: _history(reads.history(claim_id, **times))),
        "timeline": _or_error(lambda: _timeline(*reads.timeline(claim_id, **times))),
    }


def _history(history: Any) -> dict[str, Any]:
    return {
        "window": _window(history.window),
        "envelopes": [e.model_dump(mode="json") for e in history.envelopes],
    }


def _timeline(window: Any, changes: list[Any]) -> dict[str, Any]:
    return {
        "window": _window(window),
        "changes": [c.model_dump(mode="json", by_alias=True) for c in changes],
    }


def _window(window: Any) -> list[str | None]:
    valid_at = window.valid_at
    return [format_instant(window.as_of), format_instant(valid_at) if valid_at else None]


def _or_error(answer: Any) -> Any:
    try:
        return answer()
    except LedgerError as error:
        return {"error": type(error).__name__, "detail": error.detail}


def time_pairs(envelopes: list[dict[str, Any]]) -> list[list[str | None]]:
    """(as_of, valid_at) pairs: now; as of each recorded_at, and just before the
    first; valid at each occurred_at, and a day before the claim was made; and
    both at once, as each event was recorded."""
    recorded = [e["recorded_at"] for e in envelopes]
    occurred = sorted({e["occurred_at"] for e in envelopes})
    made = parse_instant(envelopes[0]["occurred_at"])
    first_recorded = parse_instant(recorded[0])
    return [
        [None, None],
        [_shift(first_recorded, -1), None],
        *([r, None] for r in recorded),
        [None, _shift(made, -86_400_000_000)],
        *([None, o] for o in occurred),
        *([e["recorded_at"], e["occurred_at"]] for e in envelopes),
    ]


def _shift(instant: datetime, micros: int) -> str:
    return format_instant(instant + timedelta(microseconds=micros))


def claims_dump(service: LedgerService) -> dict[str, Any]:
    queries = service.store.event_queries
    claim_ids = list(dict.fromkeys(row.claim_id for row in queries.rows_after(0, 10**9)))
    dumped = {}
    for claim_id in claim_ids:
        envelopes = [e.model_dump(mode="json") for e in service.reads.history(claim_id).envelopes]
        dumped[str(claim_id)] = [
            {"as_of": as_of, "valid_at": valid_at, **answers(service, claim_id, as_of, valid_at)}
            for as_of, valid_at in time_pairs(envelopes)
        ]
    return dumped


def read_models_dump(service: LedgerService) -> dict[str, Any]:
    store = service.read_models
    dumped: dict[str, Any] = {"position": store.position()}
    for name, (kind, query) in READ_MODEL_QUERIES.items():
        if kind == "claims":
            rows: list[Any] = store.claims(claim_filter(query), None, 10**9)
        else:
            rows = store.changes(change_filter(query), None, 10**9)
        dumped[name] = {"kind": kind, "query": query, "rows": [jsonable(r) for r in rows]}
    return dumped


def claim_filter(query: dict[str, Any]) -> ClaimFilter:
    verdict = query.get("verdict")
    return ClaimFilter(
        verdict=Verdict(verdict) if verdict else None,
        tag=query.get("tag"),
        words=tuple(query.get("words", ())),
    )


def change_filter(query: dict[str, Any]) -> ChangeFilter:
    to = query.get("to")
    return ChangeFilter(to=Verdict(to) if to else None)


def read_models_at_head(service: LedgerService) -> dict[str, Any]:
    """The rows the old projector would hold at the head (made by the old code from
    every event, not written), in the order the read models list them."""
    log = service.store.event_log
    queries = log.queries
    rows = queries.rows_after(0, 10**9)
    claim_ids = list(dict.fromkeys(row.claim_id for row in rows))
    projections = list(project_histories(log, queries.histories(claim_ids, rows[-1].position)))
    claims = sorted((p.claim for p in projections), key=lambda c: -c.position)
    changes = sorted(
        (c for p in projections for c in p.changes),
        key=lambda c: (-c.occurred_at_us, -c.position),
    )
    return {
        "position": rows[-1].position,
        "claims": [jsonable(c) for c in claims],
        "changes": [jsonable(c) for c in changes],
    }


def jsonable(record: Any) -> Any:
    """A read-model row as JSON values; its claimant and actor as the row stores
    them (and `GET /claims` serves them): without the fields that are None."""
    return json.loads(json.dumps(asdict(record), default=_json_default))


def _json_default(value: object) -> object:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_none=True)
    return str(value)


def check_old_code_only(old_tree: Path) -> None:
    """Every module of the project loaded here comes from the previous release."""
    packages = {"api", "factledger", "ledger", "projections", "seeds", "storage"}
    assert Path(ledger.__file__).is_relative_to(old_tree), ledger.__file__
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if name.split(".")[0] in packages and file is not None:
            assert Path(file).is_relative_to(old_tree), f"{name} from {file}"


def main(old_tree: Path, dump_file: Path) -> None:
    check_old_code_only(old_tree)
    factledger_command.main(["seed"], prog_name="factledger", standalone_mode=False)
    service = LedgerService(Settings())
    try:
        issued = {
            "editor": service.keys.create("Story editor", Role.EDITOR),
            "checker": service.keys.create("Story checker", Role.CHECKER),
            "revoked": service.keys.create("Revoked reader", Role.READER),
        }
        service.keys.revoke(issued["revoked"].key_id)
        actors = {name: service.keys.authenticate(key.secret) for name, key in issued.items()}
        assert actors.pop("revoked") is None
        story = Story(service, actors)  # type: ignore[arg-type]
        first = write_first_part(story)
        service.projector.catch_up()
        write_second_part(story, first)
        dump = {
            "keys": {name: asdict(key) for name, key in issued.items()},
            "key_list": [asdict(row) for row in service.keys.list()],
            "keyed_writes": story.keyed,
            "story_claim_id": str(first["claim"]),
            "claims": claims_dump(service),
            "read_models": read_models_dump(service),
            "read_models_at_head": read_models_at_head(service),
        }
        check_old_code_only(old_tree)
    finally:
        service.close()
    dump_file.write_text(json.dumps(dump, indent=1, default=str))


if __name__ == "__main__":
    main(Path(sys.argv[1]).resolve(), Path(sys.argv[2]))
