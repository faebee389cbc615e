"""A claimant's and a rebuttal party's `kind`, and a verification's `review`,
over HTTP on both backends: stored as given, absent when not given, shown in
the claim's state, and checked like every other field."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from ledger.access import Role
from tests.e2e.http_calls import CLAIM, REBUTTAL, VERIFICATION, Headers, post, problem

REVIEW = {"url": "https://factcheck.example/soledar#jan-13", "headline": "Soledar had not fallen"}


def registered(client: TestClient, as_role: Headers, body: dict[str, Any]) -> str:
    response = post(client, "/claims", body, as_role(Role.CONTRIBUTOR))
    assert response.status_code == 201, response.text
    return str(response.json()["claim_id"])


def test_kinds_and_a_review_are_stored_as_given_and_shown_in_the_state(
    client: TestClient, as_role: Headers
) -> None:
    ministry = {"name": "Russian Defense Ministry", "kind": "organization"}
    claim_id = registered(client, as_role, {**CLAIM, "claimant": ministry})
    party = {"name": "Hanna Malyar", "affiliation": "Deputy Defense Minister", "kind": "person"}
    filed = post(
        client, f"/claims/{claim_id}/rebuttals", {**REBUTTAL, "party": party}, as_role(Role.CHECKER)
    )
    recorded = post(
        client,
        f"/claims/{claim_id}/verifications",
        {**VERIFICATION, "review": REVIEW},
        as_role(Role.CHECKER),
    )
    assert filed.json()["data"]["party"] == party
    assert recorded.json()["data"]["review"] == REVIEW

    state = client.get(f"/claims/{claim_id}").json()
    assert state["claimant"] == {**ministry, "affiliation": None}
    assert state["rebuttals"][0]["party"] == party
    assert state["verifications"][0]["review"] == REVIEW
    history = client.get(f"/claims/{claim_id}/history").json()
    assert history[0]["data"]["claimant"] == ministry


def test_without_them_the_data_holds_no_kind_and_no_review_and_the_state_shows_null(
    client: TestClient, as_role: Headers
) -> None:
    claim_id = registered(client, as_role, CLAIM)
    post(client, f"/claims/{claim_id}/rebuttals", REBUTTAL, as_role(Role.CHECKER))
    post(client, f"/claims/{claim_id}/verifications", VERIFICATION, as_role(Role.CHECKER))
    history = client.get(f"/claims/{claim_id}/history").json()
    assert "kind" not in history[0]["data"]["claimant"]
    assert "kind" not in history[1]["data"]["party"]
    assert "review" not in history[2]["data"]
    state = client.get(f"/claims/{claim_id}").json()
    assert state["claimant"]["kind"] is None
    assert state["rebuttals"][0]["party"]["kind"] is None
    assert state["verifications"][0]["review"] is None


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/claims", {**CLAIM, "claimant": {"name": "x", "kind": "robot"}}, "claimant.kind"),
        ("rebuttals", {**REBUTTAL, "party": {"name": "x", "kind": "Person"}}, "party.kind"),
        ("verifications", {**VERIFICATION, "review": {"headline": "x"}}, "review.url"),
        ("verifications", {**VERIFICATION, "review": {"url": "/soledar"}}, "review.url"),
        (
            "verifications",
            {**VERIFICATION, "review": {"url": REVIEW["url"], "headline": "x" * 201}},
            "review.headline",
        ),
        (
            "verifications",
            {**VERIFICATION, "review": {**REVIEW, "rating": "false"}},
            "review.rating",
        ),
    ],
)
def test_a_bad_kind_or_review_is_a_422_naming_the_field_and_appends_nothing(
    client: TestClient, as_role: Headers, path: str, body: dict[str, Any], field: str
) -> None:
    claim_id = registered(client, as_role, CLAIM)
    target = path if path.startswith("/") else f"/claims/{claim_id}/{path}"
    before = client.get("/events").json()["next_after"]
    refused = problem(post(client, target, body, as_role(Role.CHECKER)), 422)
    assert field in [error["field"] for error in refused["errors"]]
    assert client.get("/events").json()["next_after"] == before
