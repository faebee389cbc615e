"""Who may call what: every route of the application by every role, from one
table. The routes come from the application itself, so a route added without
a row here fails the test (a page, an import or a checkpoint cannot land
unguarded). Both backends; reads public and reads behind a key.

Each call is one that passes access and then fails on its own shape (an empty
body, a bad parameter) or is a harmless read, so the ledger never changes:
the head position is checked at the end.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from api.app import create_app
from factledger.service import LedgerService
from factledger.settings import Settings
from ledger.access import Role
from tests.e2e.http_calls import CLAIM, EVIDENCE, REBUTTAL, VERIFICATION, post

ALWAYS: Final = "always"
"""Public even when reads need a key: liveness, readiness, the API's own documentation."""
READS: Final = "reads"
"""Public unless reads need a key; then a reader's key or more."""
SESSION: Final = "session"
"""The pages' forms: a signed-in session (and its CSRF token), never a bearer key, so
every caller here is refused with 401; tests/e2e/test_page_sessions.py tests them
with sessions, role by role."""
SIGN_IN: Final = "sign-in"
"""Anyone may sign in; the sign-in form's own CSRF token is checked first, so every
call here, which has none, is refused with 403."""
REFUSED_WITH: Final = {SESSION: 401, SIGN_IN: 403}
Rule = str | Role


@dataclass(frozen=True)
class Row:
    rule: Rule
    call: str
    """The path to call (ids filled in from the story), with a query that keeps
    the call harmless where one is needed."""


TABLE: Final[dict[tuple[str, str], Row]] = {
    ("GET", "/openapi.json"): Row(ALWAYS, "/openapi.json"),
    ("GET", "/docs"): Row(ALWAYS, "/docs"),
    ("MOUNT", "/docs/swagger-ui"): Row(ALWAYS, "/docs/swagger-ui/swagger-ui.css"),
    ("MOUNT", "/docs/own"): Row(ALWAYS, "/docs/own/docs.js"),
    ("GET", "/problems/{slug}"): Row(ALWAYS, "/problems/not-found"),
    ("GET", "/healthz"): Row(ALWAYS, "/healthz"),
    ("GET", "/readyz"): Row(ALWAYS, "/readyz"),
    ("GET", "/metrics"): Row(READS, "/metrics"),
    ("GET", "/claims"): Row(READS, "/claims"),
    ("GET", "/claims/{claim_id}"): Row(READS, "/claims/{claim_id}"),
    ("GET", "/claims/{claim_id}/history"): Row(READS, "/claims/{claim_id}/history"),
    ("GET", "/claims/{claim_id}/timeline"): Row(READS, "/claims/{claim_id}/timeline"),
    ("GET", "/changes"): Row(READS, "/changes"),
    ("GET", "/claims/{claim_id}/claimreview"): Row(READS, "/claims/{claim_id}/claimreview"),
    ("GET", "/claimreview"): Row(READS, "/claimreview"),
    ("GET", "/events"): Row(READS, "/events"),
    ("GET", "/events/{event_id}"): Row(READS, "/events/{event_id}"),
    # A bad `after` once access is granted: a 422 rather than a stream that never ends.
    ("GET", "/events/stream"): Row(READS, "/events/stream?after=-1"),
    ("GET", "/events/export"): Row(Role.ADMIN, "/events/export"),
    ("POST", "/claims"): Row(Role.CONTRIBUTOR, "/claims"),
    ("POST", "/claims/{claim_id}/evidence"): Row(Role.CONTRIBUTOR, "/claims/{claim_id}/evidence"),
    ("POST", "/claims/{claim_id}/rebuttals"): Row(Role.CONTRIBUTOR, "/claims/{claim_id}/rebuttals"),
    ("POST", "/claims/{claim_id}/verifications"): Row(
        Role.CHECKER, "/claims/{claim_id}/verifications"
    ),
    # An empty object is not a ClaimReview: a 422 once access is granted.
    ("POST", "/import/claimreview"): Row(Role.CHECKER, "/import/claimreview"),
    ("POST", "/claims/{claim_id}/amendments"): Row(Role.EDITOR, "/claims/{claim_id}/amendments"),
    ("POST", "/claims/{claim_id}/evidence/{evidence_id}/withdrawal"): Row(
        Role.EDITOR, "/claims/{claim_id}/evidence/{evidence_id}/withdrawal"
    ),
    ("POST", "/claims/{claim_id}/rebuttals/{rebuttal_id}/withdrawal"): Row(
        Role.EDITOR, "/claims/{claim_id}/rebuttals/{rebuttal_id}/withdrawal"
    ),
    ("POST", "/claims/{claim_id}/verifications/{verification_id}/retraction"): Row(
        Role.EDITOR, "/claims/{claim_id}/verifications/{verification_id}/retraction"
    ),
    # The integrity proofs (docs/integrity.md): sizes past the tree keep the proofs a 422.
    ("GET", "/ledger/checkpoint"): Row(READS, "/ledger/checkpoint"),
    ("GET", "/ledger/public-key"): Row(READS, "/ledger/public-key"),
    ("GET", "/ledger/proofs/inclusion"): Row(READS, "/ledger/proofs/inclusion?index=0&size=999999"),
    ("GET", "/ledger/proofs/consistency"): Row(
        READS, "/ledger/proofs/consistency?from=1&to=999999"
    ),
    # Signs a checkpoint of the events there are: the ledger's events do not change.
    ("POST", "/ledger/checkpoints"): Row(Role.ADMIN, "/ledger/checkpoints"),
    # The pages (docs/pages.md).
    ("GET", "/"): Row(READS, "/"),
    ("GET", "/changes/page"): Row(READS, "/changes/page"),
    ("GET", "/claims/{claim_id}/page"): Row(READS, "/claims/{claim_id}/page"),
    ("MOUNT", "/assets"): Row(ALWAYS, "/assets/pages.css"),
    ("GET", "/sign-in"): Row(ALWAYS, "/sign-in"),
    ("POST", "/sign-in"): Row(SIGN_IN, "/sign-in"),
    ("POST", "/sign-out"): Row(SESSION, "/sign-out"),
    ("POST", "/claims/page"): Row(SESSION, "/claims/page"),
    ("POST", "/claims/{claim_id}/page/{operation}"): Row(
        SESSION, "/claims/{claim_id}/page/file_rebuttal"
    ),
}
ROLES: Final[list[Role | None]] = [None, *Role]
"""Every caller: anonymous, then each role from the smallest."""


def application_routes(app: FastAPI) -> set[tuple[str, str]]:
    """Every (method, path) the application answers; HEAD goes with GET."""
    found: set[tuple[str, str]] = set()
    for context in iter_route_contexts(app.routes):
        methods = context.methods
        if methods is None:
            found.add(("MOUNT", context.path))
            continue
        found.update((method, context.path) for method in methods if method != "HEAD")
    return found


def test_every_route_of_the_application_has_a_row(service: LedgerService) -> None:
    routes = application_routes(create_app(service=service))
    assert routes - TABLE.keys() == set(), "routes without a row in the access table"
    assert TABLE.keys() - routes == set(), "rows for routes the application no longer has"


@pytest.fixture(params=[False, True], ids=["reads-public", "reads-need-a-key"])
def reads_need_a_key(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


@pytest.fixture
def guarded(service: LedgerService, reads_need_a_key: bool) -> Iterator[TestClient]:
    opened = LedgerService(
        Settings(database_url=service.settings.database_url, reads_require_key=reads_need_a_key)
    )
    try:
        with TestClient(create_app(service=opened)) as client:
            yield client
    finally:
        opened.close()


def _story(client: TestClient, editor: dict[str, str]) -> dict[str, str]:
    claim = post(client, "/claims", CLAIM, editor).json()
    claim_id = claim["claim_id"]
    evidence = post(client, f"/claims/{claim_id}/evidence", EVIDENCE, editor).json()
    rebuttal = post(client, f"/claims/{claim_id}/rebuttals", REBUTTAL, editor).json()
    verification = post(client, f"/claims/{claim_id}/verifications", VERIFICATION, editor).json()
    return {
        "claim_id": claim_id,
        "event_id": claim["event_id"],
        "evidence_id": evidence["data"]["evidence_id"],
        "rebuttal_id": rebuttal["data"]["rebuttal_id"],
        "verification_id": verification["data"]["verification_id"],
    }


def _allowed(rule: Rule, role: Role | None, reads_need_a_key: bool) -> bool:
    if rule == ALWAYS:
        return True
    if rule == READS:
        return role is not None or not reads_need_a_key
    assert isinstance(rule, Role)
    return role is not None and role.includes(rule)


def test_each_role_may_call_what_its_row_allows_and_nothing_more(
    guarded: TestClient, keys: dict[Role, str], reads_need_a_key: bool
) -> None:
    ids = _story(guarded, {"Authorization": f"Bearer {keys[Role.EDITOR]}"})
    head = guarded.get("/events?after=0&limit=1000", headers=_auth(keys, Role.READER)).json()
    wrong: list[str] = []
    for (method, _), row in sorted(TABLE.items(), key=lambda item: str(item[0])):
        path = row.call.format(**ids)
        for role in ROLES:
            headers = _auth(keys, role)
            answer = (
                guarded.post(path, json={}, headers=headers)
                if method == "POST"
                else guarded.get(path, headers=headers)
            )
            if isinstance(row.rule, str) and row.rule in REFUSED_WITH:
                if answer.status_code != REFUSED_WITH[row.rule]:
                    wrong.append(f"{method} {path} as {role or 'anonymous'}: {answer.status_code}")
                continue
            expected = _allowed(row.rule, role, reads_need_a_key)
            refused = answer.status_code in (401, 403)
            if expected == refused or answer.status_code >= 500:
                wrong.append(f"{method} {path} as {role or 'anonymous'}: {answer.status_code}")
            elif refused:
                wanted = 401 if role is None else 403
                if answer.status_code != wanted:
                    wrong.append(f"{method} {path} as {role}: {answer.status_code}, not {wanted}")
    assert wrong == [], "\n".join(wrong)
    after = guarded.get("/events?after=0&limit=1000", headers=_auth(keys, Role.READER)).json()
    assert after == head, "a refused or malformed call changed the ledger"


def _auth(keys: dict[Role, str], role: Role | None) -> dict[str, Any]:
    return {} if role is None else {"Authorization": f"Bearer {keys[role]}"}
