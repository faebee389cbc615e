"""ClaimReview out over HTTP (docs/claimreview.md), on both backends: a
claim's ClaimReview as it stood at any pair of times, and the feed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from factledger.seeding import load_seeds, seed_claim_id, seed_ledger
from factledger.service import LedgerService
from factledger.settings import Settings
from ledger.access import Role
from ledger.times import format_instant, parse_instant
from tests.e2e.http_calls import CLAIM, VERIFICATION, Headers, post, problem
from tests.jsonld import SCHEMA, expanded

SOLEDAR = seed_claim_id("soledar-liberation-completed")
REVIEW = {"url": "https://desk.example/soledar#jan-14", "headline": "Soledar had not fallen"}


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        public_base_url="https://ledger.example/",
        publisher_name="Example Fact Desk",
        publisher_url="https://desk.example",
    )


def verify(client: TestClient, as_role: Headers, claim_id: Any, **fields: Any) -> dict[str, Any]:
    response = post(
        client,
        f"/claims/{claim_id}/verifications",
        {**VERIFICATION, **fields},
        as_role(Role.CHECKER),
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_the_seeded_soledar_claim_has_a_claimreview_once_a_verification_is_recorded(
    service: LedgerService, client: TestClient, as_role: Headers
) -> None:
    seed_ledger(service.writer, load_seeds())
    path = f"/claims/{SOLEDAR}/claimreview"
    before = problem(client.get(path), 404)
    assert before["type"] == "/problems/no-standing-verification"

    recorded = verify(client, as_role, SOLEDAR, review=REVIEW)
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/ld+json"
    document = response.json()
    assert document["@context"] == "https://schema.org"
    assert document["@type"] == "ClaimReview"
    assert document["url"] == REVIEW["url"]
    assert document["headline"] == REVIEW["headline"]
    assert document["claimReviewed"].startswith("The liberation of the town of Soledar")
    assert document["datePublished"] == "2023-01-14"
    assert document["dateModified"] == "2023-01-14"
    assert document["author"] == {
        "@type": "Organization",
        "name": "Example Fact Desk",
        "url": "https://desk.example",
    }
    item = document["itemReviewed"]
    assert item["@id"] == f"https://ledger.example/claims/{SOLEDAR}/page#claim"
    assert item["author"] == {
        "@type": "Person",
        "name": "Igor Konashenkov",
        "affiliation": {"@type": "Organization", "name": "Russian Defense Ministry"},
    }
    assert item["datePublished"] == "2023-01-13"
    assert document["reviewRating"]["alternateName"] == "Mostly false"
    assert document["reviewRating"]["ratingExplanation"] == VERIFICATION["rationale"]
    node = expanded(document)
    assert node["@type"] == [f"{SCHEMA}ClaimReview"]
    assert node[f"{SCHEMA}itemReviewed"][0]["@id"] == item["@id"]

    just_before = format_instant(parse_instant(recorded["recorded_at"]) - timedelta(microseconds=1))
    as_of_before = problem(client.get(path, params={"as_of": just_before}), 404)
    assert as_of_before["type"] == "/problems/no-standing-verification"
    as_of_then = client.get(path, params={"as_of": recorded["recorded_at"]})
    assert as_of_then.json() == document
    assert as_of_then.headers["Ledger-As-Of"] == recorded["recorded_at"]


def test_a_claimreview_valid_at_a_time_shows_the_verdict_then(
    client: TestClient, as_role: Headers
) -> None:
    claim_id = post(client, "/claims", CLAIM, as_role(Role.CONTRIBUTOR)).json()["claim_id"]
    verify(client, as_role, claim_id, rating="false", occurred_at="2023-01-14T12:00:00Z")
    verify(client, as_role, claim_id, rating="mixed", occurred_at="2023-01-20T12:00:00Z")
    path = f"/claims/{claim_id}/claimreview"
    assert client.get(path).json()["reviewRating"]["alternateName"] == "Mixed"
    then = client.get(path, params={"valid_at": "2023-01-15T00:00:00Z"})
    assert then.json()["reviewRating"]["alternateName"] == "False"
    assert then.json()["url"] == f"https://ledger.example/claims/{claim_id}/page"
    assert then.headers["Ledger-Valid-At"] == "2023-01-15T00:00:00.000000Z"
    not_yet = problem(client.get(path, params={"valid_at": "2023-01-01T00:00:00Z"}), 404)
    assert not_yet["type"] == "/problems/claim-not-found"
    assert "did not exist" in not_yet["detail"]


def test_a_claimreview_of_an_unknown_claim_or_with_a_bad_time_is_a_problem(
    client: TestClient,
) -> None:
    unknown = problem(client.get(f"/claims/{SOLEDAR}/claimreview"), 404)
    assert unknown["type"] == "/problems/claim-not-found"
    problem(client.get("/claims/not-a-uuid/claimreview"), 422)
    problem(client.get(f"/claims/{SOLEDAR}/claimreview", params={"as_of": "yesterday"}), 422)


def test_the_feed_pages_through_every_claim_on_which_a_verification_stands(
    client: TestClient, as_role: Headers
) -> None:
    contributor = as_role(Role.CONTRIBUTOR)
    claims = [
        post(client, "/claims", {**CLAIM, "text": f"Claim {i}."}, contributor).json()
        for i in range(5)
    ]
    for claim in claims[:4]:
        verify(client, as_role, claim["claim_id"])
    retracted = verify(client, as_role, claims[3]["claim_id"])
    last = post(
        client,
        f"/claims/{claims[3]['claim_id']}/verifications/{retracted['data']['verification_id']}"
        "/retraction",
        {"reason": "Wrong source."},
        as_role(Role.EDITOR),
    ).json()
    client.get("/claims", params={"min_position": last["position"]})  # the read model caught up

    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get("/claimreview", params=params)
        assert page.status_code == 200, page.text
        body = page.json()
        assert set(body) == {"items", "next_cursor"}
        for item in body["items"]:
            assert item["@type"] == "ClaimReview"
            seen.append(item["claimReviewed"])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == ["Claim 3.", "Claim 2.", "Claim 1.", "Claim 0."]
    problem(client.get("/claimreview", params={"cursor": "nonsense!"}), 422)
    problem(client.get("/claimreview", params={"limit": 0}), 422)


def test_reads_of_claimreviews_need_a_key_when_reads_do(database_url: str, tmp_path: Any) -> None:
    closed = LedgerService(Settings(database_url=database_url, reads_require_key=True))
    try:
        with TestClient(create_app(service=closed)) as client:
            problem(client.get("/claimreview"), 401)
            problem(client.get(f"/claims/{SOLEDAR}/claimreview"), 401)
    finally:
        closed.close()
