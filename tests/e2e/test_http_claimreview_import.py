"""ClaimReview import over HTTP (docs/claimreview.md), on both backends: one
review, a list, a page of JSON-LD; replays, refusals, access; an import cut
between its two events; imports racing in two processes."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any, Final

import pytest
from fastapi.testclient import TestClient

from factledger.commands import Command
from factledger.service import LedgerService
from ledger.access import Actor, Role
from ledger.claimreview_reading import imported_claim_id
from ledger.events import EventType
from ledger.payloads import ClaimRegistration, Party, RebuttalFiling
from ledger.times import parse_instant, utc_now
from tests.e2e.http_calls import Headers, problem
from tests.e2e.processes import Serving, call, create_key

CLAIMREVIEWS: Final = Path(__file__).parents[1] / "claimreviews"
PUBLISHERS: Final = json.loads((CLAIMREVIEWS / "publishers.json").read_text())
ROUNDUP: Final = (CLAIMREVIEWS / "roundup.html").read_text()
POLITIFACT: Final = PUBLISHERS["reviews"][0]["review"]
IMPORT: Final = "/import/claimreview"


def imported(client: TestClient, body: Any, headers: dict[str, str]) -> Any:
    return client.post(IMPORT, json=body, headers=headers)


def head(client: TestClient) -> int:
    return int(client.get("/events", params={"after": 0, "limit": 1000}).json()["next_after"])


def test_one_review_is_imported_as_a_claim_and_its_verification(
    client: TestClient, as_role: Headers, keys: dict[Role, str]
) -> None:
    response = imported(client, POLITIFACT, as_role(Role.CHECKER))
    assert response.status_code == 201, response.text
    answer = response.json()
    assert answer["status"] == 201
    registration, verification = answer["events"]
    claim_id = str(imported_claim_id(POLITIFACT["url"]))
    assert response.headers["Location"] == f"/claims/{claim_id}"
    assert (registration["type"], registration["version"]) == ("ClaimRegistered", 1)
    assert (verification["type"], verification["version"]) == ("VerificationRecorded", 2)
    assert registration["claim_id"] == verification["claim_id"] == claim_id
    assert registration["actor"]["role"] == "checker"
    assert registration["occurred_at"] == "2023-01-13T00:00:00.000000Z"
    assert verification["occurred_at"] == "2023-01-14T20:02:11.000000Z"
    assert verification["data"]["review"] == {
        "url": POLITIFACT["url"],
        "headline": POLITIFACT["headline"],
    }
    assert verification["data"]["rationale"].splitlines()[-1] == (
        'Imported from PolitiFact\'s ClaimReview: label "Pants on Fire!" → false, '
        "PolitiFact's label."
    )

    state = client.get(f"/claims/{claim_id}").json()
    assert state["verdict"] == "false"
    assert state["claimant"] == {
        "name": "Igor Konashenkov",
        "affiliation": "Russian Defense Ministry",
        "kind": "person",
    }
    review = client.get(f"/claims/{claim_id}/claimreview").json()
    assert review["url"] == POLITIFACT["url"]
    assert review["reviewRating"]["alternateName"] == "False"
    assert client.get(f"/events/{verification['event_id']}").json() == verification


def test_importing_a_review_again_appends_nothing_and_answers_the_first_events(
    client: TestClient, as_role: Headers
) -> None:
    first = imported(client, POLITIFACT, as_role(Role.CHECKER)).json()
    position = head(client)
    again = imported(client, POLITIFACT, as_role(Role.EDITOR))
    assert again.status_code == 200
    assert again.json() == {"status": 200, "events": first["events"]}
    assert head(client) == position


def test_a_list_answers_one_result_per_review_in_order(
    client: TestClient, as_role: Headers
) -> None:
    reviews = [case["review"] for case in PUBLISHERS["reviews"]]
    refused = PUBLISHERS["refused"][0]["review"]
    body = [reviews[0], refused, *reviews[1:], "not a review", reviews[0]]
    response = imported(client, body, as_role(Role.CHECKER))
    assert response.status_code == 200, response.text
    results = response.json()
    assert [r["status"] for r in results] == [201, 422, 201, 201, 201, 201, 422, 200]
    ratings = [r["events"][1]["data"]["rating"] for r in results if "events" in r]
    expected = [case["expect"]["rating"] for case in PUBLISHERS["reviews"]]
    assert ratings == [expected[0], *expected[1:], expected[0]]
    assert results[-1]["events"] == results[0]["events"]
    unmappable = results[1]["problem"]
    assert unmappable["type"] == "/problems/unmappable-rating"
    assert unmappable["errors"][0]["field"] == "reviewRating.alternateName"
    assert refused["reviewRating"]["alternateName"] in unmappable["detail"]
    assert results[6]["problem"]["errors"][0]["field"] == "@type"


def test_a_page_of_json_ld_is_imported_review_by_review(
    client: TestClient, as_role: Headers
) -> None:
    headers = {**as_role(Role.CHECKER), "Content-Type": "text/html; charset=utf-8"}
    response = client.post(IMPORT, content=ROUNDUP.encode(), headers=headers)
    assert response.status_code == 200, response.text
    first, second, third = response.json()
    assert (first["status"], second["status"], third["status"]) == (201, 201, 422)
    # From a @graph, its references followed:
    registration, verification = first["events"]
    assert registration["data"]["claimant"] == {
        "name": "Igor Konashenkov",
        "affiliation": "Russian Defense Ministry",
        "kind": "person",
    }
    assert registration["data"]["appearance"] == {
        "url": "https://mil.example/news/soledar",
        "outlet": "Russian Defense Ministry",
    }
    assert verification["data"]["rating"] == "misleading"
    assert verification["data"]["review"]["url"] == "https://factcheck.afp.example/soledar#claim-1"
    assert "AFP Fact Check's ClaimReview" in verification["data"]["rationale"]
    # An unknown label with a value: the value decides.
    assert second["events"][1]["data"]["rating"] == "mostly_true"
    assert "ratingValue 4" in second["events"][1]["data"]["rationale"]
    assert "It depends whom you ask" in third["problem"]["detail"]

    again = client.post(IMPORT, content=ROUNDUP.encode(), headers=headers).json()
    assert [r["status"] for r in again] == [200, 200, 422]
    assert again[0]["events"] == first["events"]


def test_one_review_that_cannot_be_imported_is_a_422_naming_the_field_and_appends_nothing(
    client: TestClient, as_role: Headers
) -> None:
    for case in PUBLISHERS["refused"]:
        before = head(client)
        answer = problem(imported(client, case["review"], as_role(Role.CHECKER)), 422)
        assert answer["errors"][0]["field"] == case["field"], case["style"]
        assert case["says"] in answer["detail"], case["style"]
        assert head(client) == before


@pytest.mark.parametrize(
    ("content", "content_type", "status", "field"),
    [
        (b'{"@type": "NewsArticle"}', "application/json", 422, "@type"),
        (b"[]", "application/ld+json", 422, "body"),
        (b"{not json", "application/json", 422, "body"),
        (b"<html><body>No linked data here.</body></html>", "text/html", 422, "body"),
        (b"claimReviewed: x", "text/plain", 415, None),
        (b"{}", "", 415, None),
    ],
)
def test_a_body_that_holds_no_claimreview_is_refused(
    client: TestClient,
    as_role: Headers,
    content: bytes,
    content_type: str,
    status: int,
    field: str | None,
) -> None:
    headers = {**as_role(Role.CHECKER), "Content-Type": content_type}
    answer = problem(client.post(IMPORT, content=content, headers=headers), status)
    if field is not None:
        assert answer["errors"][0]["field"] == field


def test_more_reviews_than_one_request_takes_are_refused(
    client: TestClient, as_role: Headers
) -> None:
    many = [{**POLITIFACT, "url": f"{POLITIFACT['url']}#{i}"} for i in range(101)]
    answer = problem(imported(client, many, as_role(Role.CHECKER)), 422)
    assert "at most 100" in answer["detail"]
    assert head(client) == 0


def test_a_body_over_two_mebibytes_is_refused(client: TestClient, as_role: Headers) -> None:
    page = "<html>" + " " * (2 * 1024 * 1024) + "</html>"
    headers = {**as_role(Role.CHECKER), "Content-Type": "text/html"}
    problem(client.post(IMPORT, content=page.encode(), headers=headers), 413)


def test_importing_needs_a_checker_key_checked_before_the_body(
    client: TestClient, as_role: Headers
) -> None:
    problem(client.post(IMPORT, content=b"x", headers={"Content-Type": "text/plain"}), 401)
    contributor = {**as_role(Role.CONTRIBUTOR), "Content-Type": "text/plain"}
    problem(client.post(IMPORT, content=b"x", headers=contributor), 403)
    assert imported(client, POLITIFACT, as_role(Role.CHECKER)).status_code == 201


def test_an_import_cut_between_its_two_events_is_completed_by_the_next(
    service: LedgerService, client: TestClient, as_role: Headers
) -> None:
    """As if the first import's process died after registering the claim, and
    a rebuttal was filed meanwhile."""
    claim_id = imported_claim_id(POLITIFACT["url"])
    someone = Actor(id="someone", name="someone", role=Role.CHECKER)
    for event_type, payload in [
        (
            EventType.CLAIM_REGISTERED,
            ClaimRegistration(text=POLITIFACT["claimReviewed"], claimant=Party(name="I. K.")),
        ),
        (EventType.REBUTTAL_FILED, RebuttalFiling(party=Party(name="x"), statement="No.")),
    ]:
        service.writer.write(
            Command(
                event_type,
                payload,
                someone,
                received_at=utc_now(),
                claim_id=claim_id,
                occurred_at=parse_instant("2023-01-13T00:00:00Z"),
            )
        )
    response = imported(client, POLITIFACT, as_role(Role.CHECKER))
    assert response.status_code == 201, response.text
    registration, verification = response.json()["events"]
    assert registration["actor"]["id"] == "someone"
    assert (verification["type"], verification["version"]) == ("VerificationRecorded", 3)
    again = imported(client, POLITIFACT, as_role(Role.CHECKER))
    assert again.status_code == 200
    assert again.json()["events"] == [registration, verification]
    assert len(client.get(f"/claims/{claim_id}/history").json()) == 3


@pytest.mark.slow
def test_imports_of_the_same_reviews_racing_in_two_processes_append_each_once(
    serving: Any, database_url: str, tmp_path: Path
) -> None:
    reviews = [
        {**POLITIFACT, "url": f"{POLITIFACT['url']}#race-{i}", "headline": f"Review {i}"}
        for i in range(12)
    ]
    first: Serving = serving()
    second: Serving = serving("--no-projector")
    key = create_key("checker", database_url, tmp_path)
    answers: dict[str, list[Any]] = {}

    def post(server: Serving, name: str) -> None:
        answers[name] = [call(server.base, "POST", IMPORT, reviews, key) for _ in range(2)]

    racers = [
        threading.Thread(target=post, args=(first, "first")),
        threading.Thread(target=post, args=(second, "second")),
    ]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join(60)
    results = [
        result
        for name in ("first", "second")
        for status, body in answers[name]
        if status == 200
        for result in body
    ]
    assert len(results) == 4 * len(reviews), answers
    assert {r["status"] for r in results} <= {200, 201}
    by_url: dict[str, set[tuple[str, ...]]] = {}
    for result in results:
        events = result["events"]
        url = events[1]["data"]["review"]["url"]
        by_url.setdefault(url, set()).add(tuple(e["event_id"] for e in events))
    assert len(by_url) == len(reviews)
    assert all(len(ids) == 1 for ids in by_url.values()), by_url
    status, page = call(first.base, "GET", "/events?after=0&limit=1000")
    assert status == 200
    assert len(page["events"]) == 2 * len(reviews)
