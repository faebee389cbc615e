"""The pages over HTTP (docs/pages.md), on both backends: what they show, their
filters, cursors and permalinks, their 404 and 422 pages, and that they read
exactly what the JSON API answers."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient

from api.middleware import PAGE_CSP
from api.routes.pages import PAGE_SIZE
from ledger.access import Role
from tests.e2e.http_calls import CLAIM, EVIDENCE, REBUTTAL, VERIFICATION, Headers, post
from tests.e2e.page_calls import field_errors, listed_claims, timeline_marks


def register(client: TestClient, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
    answer = post(client, "/claims", {**CLAIM, **fields}, headers)
    assert answer.status_code == 201, answer.text
    written: dict[str, Any] = answer.json()
    return written


def projected(client: TestClient, position: int) -> None:
    """Waits until the read models hold the event at `position` (read your writes)."""
    answer = client.get(f"/claims?min_position={position}&limit=1")
    assert answer.status_code == 200, answer.text


def api_ids(client: TestClient, path: str, **params: Any) -> list[str]:
    page = client.get(f"{path}?{urlencode({**params, 'limit': 200})}").json()
    return [item["claim_id"] for item in page["items"]]


# --- the list of claims ----------------------------------------------------------


def test_the_claims_page_lists_every_claim_newest_first_with_its_verdict_badge(
    client: TestClient, as_role: Headers
) -> None:
    editor = as_role(Role.EDITOR)
    first = register(client, editor)
    second = register(client, editor, text="Bakhmut is surrounded.")
    rebuttal = post(client, f"/claims/{first['claim_id']}/rebuttals", REBUTTAL, editor).json()
    projected(client, rebuttal["position"])

    page = client.get("/")

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["content-security-policy"] == PAGE_CSP
    assert listed_claims(page.text) == [second["claim_id"], first["claim_id"]]
    assert page.text.count('class="badge verdict-disputed"') == 1
    assert page.text.count('class="badge verdict-unverified"') == 1
    assert "Bakhmut is surrounded." in page.text


@pytest.mark.parametrize(
    "query",
    [
        {"verdict": "disputed"},
        {"verdict": "unverified"},
        {"tag": "bakhmut"},
        {"claimant": "Hanna Malyar"},
        {"q": "SOLEDAR liberation"},
        {"q": "bakhmut", "verdict": "disputed"},
    ],
)
def test_the_claims_page_filters_and_searches_as_get_claims_does(
    client: TestClient, as_role: Headers, query: dict[str, str]
) -> None:
    editor = as_role(Role.EDITOR)
    soledar = register(client, editor)
    register(client, editor, text="Bakhmut is surrounded.", tags=["bakhmut"])
    register(
        client,
        editor,
        text="Battles continue in Bakhmut.",
        claimant={"name": "Hanna Malyar"},
        tags=["bakhmut"],
    )
    rebuttal = post(client, f"/claims/{soledar['claim_id']}/rebuttals", REBUTTAL, editor).json()
    projected(client, rebuttal["position"])

    page = client.get(f"/?{urlencode(query)}")

    assert page.status_code == 200
    assert listed_claims(page.text) == api_ids(client, "/claims", **query)


def test_empty_filter_fields_are_no_filter_as_a_form_sends_them(
    client: TestClient, as_role: Headers
) -> None:
    written = register(client, as_role(Role.EDITOR))
    projected(client, written["position"])

    page = client.get("/?verdict=&claimant=&tag=&q=")

    assert page.status_code == 200
    assert listed_claims(page.text) == [written["claim_id"]]


def test_the_claims_page_pages_with_the_cursor_through_every_claim_once(
    client: TestClient, as_role: Headers
) -> None:
    editor = as_role(Role.EDITOR)
    written = [register(client, editor, text=f"Claim number {n}.") for n in range(PAGE_SIZE + 3)]
    projected(client, written[-1]["position"])

    first = client.get("/")
    older = re.search(r'href="/\?(cursor=[^"]+)" rel="next"', first.text)
    assert older is not None
    second = client.get(f"/?{older[1]}")

    assert len(listed_claims(first.text)) == PAGE_SIZE
    assert 'rel="next"' not in second.text
    seen = listed_claims(first.text) + listed_claims(second.text)
    assert seen == [claim["claim_id"] for claim in reversed(written)]


@pytest.mark.parametrize(
    ("query", "field"),
    [("verdict=maybe", "verdict"), ("q=%21%21%21", "q"), ("tag=" + "t" * 201, "tag")],
)
def test_a_filter_that_does_not_parse_gives_the_page_with_its_problem_beside_it(
    client: TestClient, query: str, field: str
) -> None:
    page = client.get(f"/?{query}")

    assert page.status_code == 422
    assert page.headers["content-type"].startswith("text/html")
    assert field_errors(page.text, field)
    assert 'aria-invalid="true"' in page.text


def test_a_cursor_that_is_not_one_gives_the_page_with_the_problem(client: TestClient) -> None:
    page = client.get("/?cursor=not-a-cursor")

    assert page.status_code == 422
    assert 'class="problem"' in page.text


# --- the feed of changes -------------------------------------------------------------


def test_the_changes_page_shows_the_feed_of_verdict_changes_with_its_filters(
    client: TestClient, as_role: Headers
) -> None:
    editor = as_role(Role.EDITOR)
    claim = register(client, editor)
    post(client, f"/claims/{claim['claim_id']}/rebuttals", REBUTTAL, editor)
    verified = post(
        client, f"/claims/{claim['claim_id']}/verifications", VERIFICATION, editor
    ).json()
    projected(client, verified["position"])

    everything = client.get("/changes/page")
    to_disputed = client.get("/changes/page?to=disputed")
    since = client.get("/changes/page?since=2023-01-14T00:00:00Z")

    assert everything.status_code == 200
    assert everything.text.count('<li class="change">') == 3
    assert to_disputed.text.count('<li class="change">') == 1
    assert "The night in Soledar was hot" in to_disputed.text
    assert since.text.count('<li class="change">') == 1
    assert "Fighting continued in the town" in since.text


def test_a_bad_time_on_the_changes_page_is_shown_beside_its_field(client: TestClient) -> None:
    page = client.get("/changes/page?since=yesterday")

    assert page.status_code == 422
    assert field_errors(page.text, "since")


# --- one claim ----------------------------------------------------------------------


def _a_claim_with_a_history(client: TestClient, editor: dict[str, str]) -> dict[str, Any]:
    claim = register(client, editor)
    claim_id = claim["claim_id"]
    rebuttal = post(client, f"/claims/{claim_id}/rebuttals", REBUTTAL, editor).json()
    evidence = post(client, f"/claims/{claim_id}/evidence", EVIDENCE, editor).json()
    verification = post(client, f"/claims/{claim_id}/verifications", VERIFICATION, editor).json()
    return {
        "claim": claim,
        "rebuttal": rebuttal,
        "evidence": evidence,
        "verification": verification,
    }


def test_the_claim_page_shows_the_verdict_its_timeline_drawn_its_items_and_every_event(
    client: TestClient, as_role: Headers
) -> None:
    written = _a_claim_with_a_history(client, as_role(Role.EDITOR))
    claim_id = written["claim"]["claim_id"]
    timeline = client.get(f"/claims/{claim_id}/timeline").json()

    page = client.get(f"/claims/{claim_id}/page")

    assert page.status_code == 200
    assert page.headers["content-security-policy"] == PAGE_CSP
    assert '<svg class="timeline"' in page.text
    assert [mark.split()[1] for mark in timeline_marks(page.text)] == [
        f"verdict-{entry['to']}" for entry in timeline
    ]
    assert 'class="badge verdict-mostly_false"' in page.text
    assert "Fighting continued in the town after 12 January." in page.text
    assert "https://example.org/report" in page.text
    assert "The night in Soledar was hot, battles continued." in page.text
    assert "https://example.org/video" in page.text
    assert page.text.count('<li id="event-') == 4
    for event_type in ("ClaimRegistered", "RebuttalFiled", "EvidenceAttached"):
        assert f"<strong>{event_type}</strong>" in page.text


def _json_ld_blocks(page: str) -> list[Any]:
    return [
        json.loads(block)
        for block in re.findall(r'<script type="application/ld\+json">(.*?)</script>', page, re.S)
    ]


def test_the_claim_page_embeds_its_claimreview_as_the_api_answers_it_at_the_same_times(
    client: TestClient, as_role: Headers
) -> None:
    editor = as_role(Role.EDITOR)
    written = _a_claim_with_a_history(client, editor)
    claim_id = written["claim"]["claim_id"]
    # A claim text that tries to end the block it is embedded in.
    amended = {"text": "Soledar </script><script>alert(1)</script> was taken.", "reason": "Test."}
    post(client, f"/claims/{claim_id}/amendments", amended, editor)

    page = client.get(f"/claims/{claim_id}/page").text

    head = page.split("</head>")[0]
    assert _json_ld_blocks(head) == [client.get(f"/claims/{claim_id}/claimreview").json()]
    assert _json_ld_blocks(head)[0]["claimReviewed"] == amended["text"]
    assert "<script>alert" not in page
    # Before the verification, no ClaimReview stands: none is embedded.
    rebutted_at = written["rebuttal"]["recorded_at"]
    earlier = client.get(f"/claims/{claim_id}/page", params={"as_of": rebutted_at}).text
    assert _json_ld_blocks(earlier) == []


def test_the_claim_page_runs_no_script_but_the_service_s_own(
    client: TestClient, as_role: Headers
) -> None:
    claim_id = register(client, as_role(Role.EDITOR))["claim_id"]

    page = client.get(f"/claims/{claim_id}/page").text

    head = page.split("</head>")[0]
    assert '<link rel="stylesheet" href="/assets/pages.css">' in head
    assert "<script" not in page.replace('<script src="/assets/pages.js" defer></script>', "")
    assert " style=" not in page


def test_the_time_travel_controls_are_the_api_s_query_parameters_and_the_url_a_permalink(
    client: TestClient, as_role: Headers
) -> None:
    written = _a_claim_with_a_history(client, as_role(Role.EDITOR))
    claim_id = written["claim"]["claim_id"]
    registered_at = written["claim"]["recorded_at"]

    as_recorded = client.get(f"/claims/{claim_id}/page?{urlencode({'as_of': registered_at})}")
    before_the_verification = client.get(
        f"/claims/{claim_id}/page?{urlencode({'valid_at': '2023-01-13T12:00:00Z'})}"
    )

    assert as_recorded.status_code == 200
    assert len(timeline_marks(as_recorded.text)) == 1
    assert as_recorded.text.count('<li id="event-') == 1
    assert f'value="{registered_at}"' in as_recorded.text
    assert len(timeline_marks(before_the_verification.text)) == 2
    state = client.get(f"/claims/{claim_id}?valid_at=2023-01-13T12:00:00Z").json()
    assert state["verdict"] == "disputed"
    assert (
        '<span class="badge verdict-disputed">'
        in before_the_verification.text.split('class="time-travel"')[0]
    )
    history = client.get(f"/claims/{claim_id}/history?valid_at=2023-01-13T12:00:00Z").json()
    assert before_the_verification.text.count('<li id="event-') == len(history) == 2


def test_a_change_recorded_long_after_it_occurred_is_drawn_as_back_filled(
    client: TestClient, as_role: Headers
) -> None:
    editor = as_role(Role.EDITOR)
    claim_id = register(client, editor)["claim_id"]  # occurred in 2023, recorded now
    post(client, f"/claims/{claim_id}/rebuttals", {**REBUTTAL, "occurred_at": None}, editor)

    marks = timeline_marks(client.get(f"/claims/{claim_id}/page").text)

    assert marks == ["mark verdict-unverified backfilled", "mark verdict-disputed"]


@pytest.mark.parametrize(
    ("query", "field"),
    [("as_of=yesterday", "as_of"), ("valid_at=2023-01-13T12:00:00", "valid_at")],
)
def test_a_time_that_does_not_parse_gives_the_claim_page_with_its_problem_and_422(
    client: TestClient, as_role: Headers, query: str, field: str
) -> None:
    claim_id = register(client, as_role(Role.EDITOR))["claim_id"]

    page = client.get(f"/claims/{claim_id}/page?{query}")

    assert page.status_code == 422
    assert field_errors(page.text, field)
    assert '<svg class="timeline"' in page.text


def test_a_claim_that_did_not_exist_then_or_at_all_is_the_404_page(
    client: TestClient, as_role: Headers
) -> None:
    claim_id = register(client, as_role(Role.EDITOR))["claim_id"]

    before = client.get(f"/claims/{claim_id}/page?valid_at=2020-01-01T00:00:00Z")
    unknown = client.get("/claims/3f0c0a52-6f1e-4a52-9c55-000000000000/page")
    not_an_id = client.get("/claims/soledar/page")

    assert before.status_code == 404
    assert before.headers["content-type"].startswith("text/html")
    assert "did not exist" in before.text
    assert unknown.status_code == 404
    assert not_an_id.status_code == 422
    assert "not a UUID" in not_an_id.text


def test_the_page_assets_are_the_service_s_own(client: TestClient) -> None:
    stylesheet = client.get("/assets/pages.css")
    script = client.get("/assets/pages.js")

    assert stylesheet.status_code == 200
    assert stylesheet.headers["content-type"].startswith("text/css")
    assert script.status_code == 200
    assert "http" not in stylesheet.text


def test_what_people_wrote_is_shown_as_text_never_as_markup(
    client: TestClient, as_role: Headers
) -> None:
    editor = as_role(Role.EDITOR)
    written = register(
        client,
        editor,
        text='<script>alert("claim")</script> & <b>bold</b>',
        claimant={"name": "<img src=x onerror=alert(1)>"},
        tags=["<i>tag</i>"],
    )
    rebuttal = {**REBUTTAL, "statement": "</blockquote><script>alert(2)</script>"}
    post(client, f"/claims/{written['claim_id']}/rebuttals", rebuttal, editor)
    projected(client, written["position"])

    for path in ("/", f"/claims/{written['claim_id']}/page", "/changes/page"):
        page = client.get(path).text
        assert "<script>alert" not in page, path
        assert "<img src=x" not in page, path
        assert "<i>tag</i>" not in page, path
    claim_page = client.get(f"/claims/{written['claim_id']}/page").text
    assert "&lt;script&gt;alert(&#34;claim&#34;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in (
        claim_page
    )


def test_a_public_page_may_be_cached_but_a_signed_in_one_is_kept_by_no_cache(
    client: TestClient,
) -> None:
    public = client.get("/")
    sign_in_form = client.get("/sign-in")

    assert "cache-control" not in public.headers
    assert sign_in_form.headers["cache-control"] == "private, no-store"
