"""Reads over HTTP (docs/verdict.md, docs/http-api.md), on both backends: a claim at any pair of
times, its history and timeline, the event feed, and the API's own documents."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response

from api.app import create_app
from factledger.service import LedgerService
from factledger.settings import Settings
from ledger.access import Role
from tests.e2e.http_calls import CLAIM, REASON, REBUTTAL, VERIFICATION, post, problem

Headers = Callable[[Role], dict[str, str]]


@pytest.fixture
def story(client: TestClient, as_role: Headers) -> dict[str, Any]:
    """The contract's story: a claim, its rebuttal, a verification and its retraction."""
    editor = as_role(Role.EDITOR)
    registered = post(client, "/claims", CLAIM, editor).json()
    claim = registered["claim_id"]
    rebutted = post(client, f"/claims/{claim}/rebuttals", REBUTTAL, editor).json()
    verified = post(client, f"/claims/{claim}/verifications", VERIFICATION, editor).json()
    verification = verified["data"]["verification_id"]
    retracted = post(
        client, f"/claims/{claim}/verifications/{verification}/retraction", REASON, editor
    ).json()
    return {
        "claim": claim,
        "events": [registered, rebutted, verified, retracted],
    }


def get(client: TestClient, path: str, **params: str) -> Response:
    query = "&".join(f"{k}={quote(v, safe='')}" for k, v in params.items())
    return client.get(f"{path}?{query}" if query else path)


def test_the_current_state_after_the_story(client: TestClient, story: dict[str, Any]) -> None:
    response = get(client, f"/claims/{story['claim']}")
    assert response.status_code == 200
    state = response.json()
    assert state["verdict"] == "disputed"
    assert state["version"] == 4
    assert state["verifications"] == []
    assert [r["statement"] for r in state["rebuttals"]] == [REBUTTAL["statement"]]
    assert state["evidence"] == {"supports": [], "refutes": [], "context": []}
    assert state["valid_at"] is None
    assert state["as_of"] == story["events"][-1]["recorded_at"]
    assert state["verdict_since"] == story["events"][-1]["occurred_at"]  # the retraction
    assert response.headers["etag"] == '"4"'


def test_as_of_a_recorded_at_shows_what_the_ledger_said_then(
    client: TestClient, story: dict[str, Any]
) -> None:
    rebutted = story["events"][1]
    response = get(client, f"/claims/{story['claim']}", as_of=rebutted["recorded_at"])
    state = response.json()
    assert (state["verdict"], state["version"]) == ("disputed", 2)
    assert state["as_of"] == rebutted["recorded_at"]
    assert response.headers["ledger-as-of"] == rebutted["recorded_at"]
    assert "etag" not in response.headers
    verified = story["events"][2]
    assert (
        get(client, f"/claims/{story['claim']}", as_of=verified["recorded_at"]).json()["verdict"]
        == "mostly_false"
    )


def test_valid_at_shows_what_was_known_about_the_world_then(
    client: TestClient, story: dict[str, Any]
) -> None:
    state = get(client, f"/claims/{story['claim']}", valid_at="2023-01-13T09:30:00Z").json()
    assert (state["verdict"], state["valid_at"]) == ("unverified", "2023-01-13T09:30:00.000000Z")
    before = get(client, f"/claims/{story['claim']}", valid_at="2023-01-01T00:00:00Z")
    assert "did not exist" in problem(before, 404)["detail"]


def test_a_time_with_a_plus_offset_sent_unencoded_still_means_that_offset(
    client: TestClient, story: dict[str, Any]
) -> None:
    response = client.get(f"/claims/{story['claim']}?valid_at=2023-01-13T11:30:00+02:00")
    assert response.json()["valid_at"] == "2023-01-13T09:30:00.000000Z"


@pytest.mark.parametrize("value", ["2023-01-13T09:30:00", "1673602200", "soon", ""])
def test_a_query_time_that_is_not_rfc3339_with_an_offset_is_a_422(
    client: TestClient, story: dict[str, Any], value: str
) -> None:
    body = problem(get(client, f"/claims/{story['claim']}", as_of=value), 422)
    assert body["errors"][0]["field"] == "as_of"


def test_an_as_of_in_the_future_is_answered_at_the_stable_time_and_says_so(
    client: TestClient, story: dict[str, Any]
) -> None:
    state = get(client, f"/claims/{story['claim']}", as_of="2999-01-01T00:00:00Z").json()
    assert state["as_of"] == story["events"][-1]["recorded_at"]


def test_if_none_match_with_the_current_version_is_304(
    client: TestClient, story: dict[str, Any]
) -> None:
    path = f"/claims/{story['claim']}"
    assert client.get(path, headers={"If-None-Match": '"4"'}).status_code == 304
    assert client.get(path, headers={"If-None-Match": 'W/"4"'}).status_code == 304
    assert client.get(path, headers={"If-None-Match": '"3"'}).status_code == 200


def test_an_unknown_claim_is_a_404_problem(client: TestClient, story: dict[str, Any]) -> None:
    for suffix in ("", "/history", "/timeline"):
        problem(client.get(f"/claims/0b6f1f4e-0000-4000-8000-000000000000{suffix}"), 404)


def test_the_history_is_every_envelope_in_version_order_as_written(
    client: TestClient, story: dict[str, Any]
) -> None:
    history = client.get(f"/claims/{story['claim']}/history").json()
    assert history == story["events"]
    rebutted = story["events"][1]
    as_of = get(client, f"/claims/{story['claim']}/history", as_of=rebutted["recorded_at"])
    assert as_of.json() == story["events"][:2]


def test_the_timeline_tells_how_the_verdict_changed_who_changed_it_when_and_why(
    client: TestClient, story: dict[str, Any]
) -> None:
    timeline = client.get(f"/claims/{story['claim']}/timeline").json()
    assert [(t["from"], t["to"]) for t in timeline] == [
        (None, "unverified"),
        ("unverified", "disputed"),
        ("disputed", "mostly_false"),
        ("mostly_false", "disputed"),
    ]
    assert [t["reason"] for t in timeline] == [
        None,
        REBUTTAL["statement"],
        VERIFICATION["rationale"],
        REASON["reason"],
    ]
    assert [t["event_id"] for t in timeline] == [e["event_id"] for e in story["events"]]
    assert timeline[3]["actor"]["role"] == "editor"
    assert set(timeline[0]) == {
        "from", "to", "occurred_at", "recorded_at", "event_id", "version", "actor", "reason"
    }  # fmt: skip


def test_the_event_feed_pages_through_the_whole_ledger(
    client: TestClient, story: dict[str, Any]
) -> None:
    first = get(client, "/events", after="0", limit="3").json()
    rest = get(client, "/events", after=str(first["next_after"]), limit="3").json()
    assert first["events"] + rest["events"] == story["events"]
    assert first["next_after"] == story["events"][2]["position"]
    empty = get(client, "/events", after=str(rest["next_after"])).json()
    assert empty == {"events": [], "next_after": rest["next_after"]}


@pytest.mark.parametrize(
    "params", [{"limit": "0"}, {"limit": "1001"}, {"after": "-1"}, {"after": "x"}]
)
def test_event_feed_bounds_are_422(client: TestClient, params: dict[str, str]) -> None:
    problem(get(client, "/events", **params), 422)


def test_one_event_by_its_id(client: TestClient, story: dict[str, Any]) -> None:
    event = story["events"][2]
    assert client.get(f"/events/{event['event_id']}").json() == event
    problem(client.get("/events/0b6f1f4e-0000-4000-8000-000000000000"), 404)
    problem(client.get("/events/not-a-uuid"), 422)


def test_reads_are_public_unless_configured_otherwise(
    client: TestClient, story: dict[str, Any], service: LedgerService, as_role: Headers
) -> None:
    assert client.get(f"/claims/{story['claim']}").status_code == 200
    closed = LedgerService(
        Settings(database_url=service.settings.database_url, reads_require_key=True)
    )
    try:
        with TestClient(create_app(service=closed)) as closed_client:
            problem(closed_client.get(f"/claims/{story['claim']}"), 401)
            problem(closed_client.get("/events"), 401)
            reader = closed_client.get(f"/claims/{story['claim']}", headers=as_role(Role.READER))
            assert reader.status_code == 200
    finally:
        closed.close()


def test_a_read_with_a_wrong_key_is_refused_rather_than_served_anonymously(
    client: TestClient, story: dict[str, Any]
) -> None:
    problem(client.get(f"/claims/{story['claim']}", headers={"Authorization": "Bearer nope"}), 401)


def test_health_and_readiness(client: TestClient, story: dict[str, Any]) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready"
    assert ready["position"] == story["events"][-1]["position"]


def test_an_unknown_path_or_method_is_a_problem(client: TestClient) -> None:
    problem(client.get("/nowhere"), 404)
    problem(client.delete("/claims"), 405)


def test_every_problem_type_is_described(client: TestClient, as_role: Headers) -> None:
    answers = [
        client.post("/claims", json=CLAIM),
        client.post("/claims", json={}, headers=as_role(Role.EDITOR)),
        client.get("/claims/0b6f1f4e-0000-4000-8000-000000000000"),
    ]
    for answer in answers:
        kind = client.get(answer.json()["type"])
        assert kind.status_code == 200
        assert kind.json()["description"]


def test_the_openapi_document_describes_every_route_body_and_problem(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    paths = document["paths"]
    assert {
        "/claims",
        "/claims/{claim_id}",
        "/claims/{claim_id}/history",
        "/claims/{claim_id}/timeline",
        "/claims/{claim_id}/rebuttals/{rebuttal_id}/withdrawal",
        "/events",
        "/events/{event_id}",
        "/healthz",
        "/readyz",
    } <= set(paths)
    register = paths["/claims"]["post"]
    assert register["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ClaimRegistrationBody"
    }
    assert "application/problem+json" in register["responses"]["422"]["content"]
    assert {"401", "403", "409", "412", "413", "415", "503"} <= set(register["responses"])
    schemas = document["components"]["schemas"]
    assert {
        "ClaimRegistrationBody",
        "RebuttalFilingBody",
        "Problem",
        "Envelope",
        "ClaimState",
    } <= set(schemas)
    assert schemas["ClaimRegistrationBody"]["additionalProperties"] is False
    assert client.get("/docs").status_code == 200
