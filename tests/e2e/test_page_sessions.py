"""Signing in to the pages with a key, the session cookie, CSRF, and the write
forms within the key's role (docs/pages.md), on both backends."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.pages.visitors import SESSION_COOKIE
from factledger.service import LedgerService
from factledger.settings import Settings
from ledger.access import Role
from tests.e2e.http_calls import CLAIM, REBUTTAL, Headers, post
from tests.e2e.page_calls import csrf_token, field_errors, post_form, sign_in


def _claim(client: TestClient, as_role: Headers) -> str:
    answer = post(client, "/claims", CLAIM, as_role(Role.EDITOR))
    assert answer.status_code == 201, answer.text
    claim_id: str = answer.json()["claim_id"]
    return claim_id


def _events(client: TestClient, claim_id: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = client.get(f"/claims/{claim_id}/history").json()
    return events


# --- signing in and out ---------------------------------------------------------------


def test_signing_in_gives_an_http_only_strict_session_cookie_and_never_the_key(
    client: TestClient, keys: dict[Role, str]
) -> None:
    form = client.get("/sign-in")
    answer = client.post(
        "/sign-in",
        data={"csrf_token": csrf_token(form.text, "sign-in"), "api_key": keys[Role.CHECKER]},
        follow_redirects=False,
    )

    assert answer.status_code == 303
    assert answer.headers["location"] == "/"
    cookie = next(
        value
        for name, value in answer.headers.multi_items()
        if name == "set-cookie" and value.startswith(f"{SESSION_COOKIE}=")
    )
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"httponly", "path", "max-age"} <= attributes
    assert "samesite=strict" in cookie.lower()
    assert "secure" not in attributes  # plain http: see api/pages/visitors.py
    assert keys[Role.CHECKER] not in cookie
    signed_in = client.get("/")
    assert "Signed in as <strong>test checker</strong>" in signed_in.text
    assert signed_in.headers["cache-control"] == "private, no-store"  # it holds the CSRF token


def test_the_cookie_is_secure_when_the_page_is_served_over_https(
    service: LedgerService, keys: dict[Role, str]
) -> None:
    with TestClient(create_app(service=service), base_url="https://ledger.example") as client:
        form = client.get("/sign-in")
        answer = client.post(
            "/sign-in",
            data={"csrf_token": csrf_token(form.text, "sign-in"), "api_key": keys[Role.READER]},
            follow_redirects=False,
        )

    assert answer.status_code == 303
    assert "; secure" in answer.headers["set-cookie"].lower()


def test_a_session_lasts_at_most_the_configured_time(
    settings: Settings, keys: dict[Role, str]
) -> None:
    shorter = settings.model_copy(update={"session_seconds": 600})
    with TestClient(create_app(shorter)) as client:
        form = client.get("/sign-in")
        answer = client.post(
            "/sign-in",
            data={"csrf_token": csrf_token(form.text, "sign-in"), "api_key": keys[Role.READER]},
            follow_redirects=False,
        )

    assert "max-age=600" in answer.headers["set-cookie"].lower()


def test_a_wrong_key_is_refused_on_the_sign_in_page_and_gives_no_session(
    client: TestClient, keys: dict[Role, str]
) -> None:
    form = client.get("/sign-in")
    answer = client.post(
        "/sign-in",
        data={"csrf_token": csrf_token(form.text, "sign-in"), "api_key": keys[Role.EDITOR] + "x"},
        follow_redirects=False,
    )

    assert answer.status_code == 401
    assert "That key is not valid" in answer.text
    assert SESSION_COOKIE not in client.cookies


def test_signing_in_without_the_sign_in_form_s_token_is_refused(
    client: TestClient, keys: dict[Role, str]
) -> None:
    answer = client.post("/sign-in", data={"api_key": keys[Role.EDITOR]}, follow_redirects=False)

    assert answer.status_code == 403
    assert SESSION_COOKIE not in client.cookies


def test_signing_out_ends_the_session_everywhere(client: TestClient, keys: dict[Role, str]) -> None:
    token = sign_in(client, keys[Role.EDITOR])
    session = client.cookies[SESSION_COOKIE]

    answer = post_form(client, "/sign-out", {"csrf_token": token})

    assert answer.status_code == 303
    assert "Sign in</a>" in client.get("/").text
    client.cookies.set(SESSION_COOKIE, session)  # the old cookie, kept by someone
    assert "Sign in</a>" in client.get("/").text


def test_neither_the_key_nor_the_session_token_is_logged(
    client: TestClient, keys: dict[Role, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    sign_in(client, keys[Role.EDITOR])

    logged = "\n".join(f"{record.getMessage()} {record.__dict__}" for record in caplog.records)
    assert keys[Role.EDITOR] not in logged
    assert client.cookies[SESSION_COOKIE] not in logged
    assert "/sign-in" in logged  # the access log did log the requests


# --- the session's end ------------------------------------------------------------------


@pytest.fixture
def other_client(other_service: LedgerService) -> Iterator[TestClient]:
    """The same ledger served by another process."""
    with TestClient(create_app(service=other_service)) as test_client:
        yield test_client


def test_a_session_made_by_one_process_works_in_another(
    client: TestClient, other_client: TestClient, keys: dict[Role, str], as_role: Headers
) -> None:
    claim_id = _claim(client, as_role)
    token = sign_in(client, keys[Role.CONTRIBUTOR])
    other_client.cookies.set(SESSION_COOKIE, client.cookies[SESSION_COOKIE])

    answer = post_form(
        other_client,
        f"/claims/{claim_id}/page/file_rebuttal",
        {"csrf_token": token, "party.name": "Hanna Malyar", "statement": "Battles continued."},
    )

    assert answer.status_code == 303
    assert _events(client, claim_id)[-1]["type"] == "RebuttalFiled"


def test_a_session_ends_at_once_in_every_process_when_its_key_is_revoked(
    client: TestClient,
    other_client: TestClient,
    other_service: LedgerService,
    service: LedgerService,
    as_role: Headers,
) -> None:
    claim_id = _claim(client, as_role)
    issued = service.keys.create("revoked soon", Role.CONTRIBUTOR)
    token = sign_in(client, issued.secret)

    other_service.keys.revoke(issued.key_id)  # by another process
    answer = post_form(
        client,
        f"/claims/{claim_id}/page/file_rebuttal",
        {"csrf_token": token, "party.name": "Hanna Malyar", "statement": "Battles continued."},
    )

    assert answer.status_code == 401
    assert "Your session has ended" in answer.text
    assert len(_events(client, claim_id)) == 1
    assert "Sign in</a>" in client.get("/").text


def test_a_session_that_expired_is_no_session(
    service: LedgerService, keys: dict[Role, str]
) -> None:
    token = service.sessions.sign_in(keys[Role.EDITOR])
    assert token is not None
    assert service.sessions.signed_in(token) is not None

    later_us = 10**18  # long after any session's end
    token_hash = hashlib.sha256(token.encode()).hexdigest()
    assert service.persistence.keys.find_session(token_hash, later_us) is None
    assert service.persistence.keys.delete_sessions_ended(later_us) == 1
    assert service.sessions.signed_in(token) is None


# --- CSRF ---------------------------------------------------------------------------------


@pytest.mark.parametrize("presented", [None, "", "0" * 64])
def test_a_form_without_its_session_s_csrf_token_is_refused_and_appends_nothing(
    client: TestClient, keys: dict[Role, str], as_role: Headers, presented: str | None
) -> None:
    claim_id = _claim(client, as_role)
    sign_in(client, keys[Role.EDITOR])
    fields = {"party.name": "Someone", "statement": "Forged."}
    if presented is not None:
        fields["csrf_token"] = presented

    answer = post_form(client, f"/claims/{claim_id}/page/file_rebuttal", fields)

    assert answer.status_code == 403
    assert "CSRF token" in answer.text
    assert len(_events(client, claim_id)) == 1


def test_another_session_s_csrf_token_is_refused(
    client: TestClient, other_client: TestClient, keys: dict[Role, str], as_role: Headers
) -> None:
    claim_id = _claim(client, as_role)
    sign_in(client, keys[Role.EDITOR])
    someone_else_s = sign_in(other_client, keys[Role.EDITOR])

    answer = post_form(
        client,
        f"/claims/{claim_id}/page/file_rebuttal",
        {"csrf_token": someone_else_s, "party.name": "Someone", "statement": "Forged."},
    )

    assert answer.status_code == 403


def test_a_form_posted_without_a_session_asks_to_sign_in(
    client: TestClient, as_role: Headers
) -> None:
    claim_id = _claim(client, as_role)

    answer = post_form(
        client, f"/claims/{claim_id}/page/file_rebuttal", {"statement": "Anonymous."}
    )

    assert answer.status_code == 401
    assert 'href="/sign-in"' in answer.text


# --- the forms, within the role ----------------------------------------------------------


def test_a_reader_sees_no_write_form(
    client: TestClient, keys: dict[Role, str], as_role: Headers
) -> None:
    claim_id = _claim(client, as_role)
    sign_in(client, keys[Role.READER])

    claim_page = client.get(f"/claims/{claim_id}/page").text
    claims_page = client.get("/").text

    assert 'class="write"' not in claim_page
    assert 'class="write"' not in claims_page


def test_the_forms_shown_are_those_of_the_key_s_role(
    client: TestClient, keys: dict[Role, str], as_role: Headers
) -> None:
    claim_id = _claim(client, as_role)
    post(client, f"/claims/{claim_id}/rebuttals", REBUTTAL, as_role(Role.EDITOR))

    sign_in(client, keys[Role.CONTRIBUTOR])
    as_contributor = client.get(f"/claims/{claim_id}/page").text
    sign_in(client, keys[Role.EDITOR])
    as_editor = client.get(f"/claims/{claim_id}/page").text

    assert 'id="file_rebuttal"' in as_contributor
    assert 'id="attach_evidence"' in as_contributor
    assert 'id="record_verification"' not in as_contributor
    assert 'id="withdraw_rebuttal-' not in as_contributor
    assert 'id="record_verification"' in as_editor
    assert 'id="withdraw_rebuttal-' in as_editor


def test_a_form_beyond_the_key_s_role_is_refused_and_appends_nothing(
    client: TestClient, keys: dict[Role, str], as_role: Headers
) -> None:
    claim_id = _claim(client, as_role)
    token = sign_in(client, keys[Role.CONTRIBUTOR])

    answer = post_form(
        client,
        f"/claims/{claim_id}/page/record_verification",
        {
            "csrf_token": token,
            "rating": "false",
            "rationale": "No.",
            "sources.0.url": "https://example.org/a",
        },
    )

    assert answer.status_code == 403
    assert "needs the role checker" in answer.text
    assert len(_events(client, claim_id)) == 1


def test_a_claim_registered_from_the_form_is_in_the_api_under_the_key_s_actor(
    client: TestClient, keys: dict[Role, str], service: LedgerService
) -> None:
    token = sign_in(client, keys[Role.CONTRIBUTOR])

    answer = post_form(
        client,
        "/claims/page",
        {
            "csrf_token": token,
            "text": "Soledar's pre-war population was about 10,000.",
            "claimant.name": "The article",
            "claimant.affiliation": "",
            "tags": "soledar, population",
            "occurred_at": "2023-01-13T12:00:00Z",
        },
    )

    assert answer.status_code == 303
    claim_page = answer.headers["location"]
    claim_id = claim_page.split("/")[2]
    state = client.get(f"/claims/{claim_id}").json()
    assert state["text"] == "Soledar's pre-war population was about 10,000."
    assert state["tags"] == ["soledar", "population"]
    assert state["verdict_since"] == "2023-01-13T12:00:00.000000Z"
    registration = _events(client, claim_id)[0]
    assert registration["actor"]["name"] == "test contributor"
    assert registration["data"]["claimant"] == {"name": "The article"}  # empty: absent
    assert client.get(claim_page).status_code == 200


def test_a_verification_recorded_from_the_form_sets_the_verdict(
    client: TestClient, keys: dict[Role, str], as_role: Headers
) -> None:
    claim_id = _claim(client, as_role)
    token = sign_in(client, keys[Role.CHECKER])

    answer = post_form(
        client,
        f"/claims/{claim_id}/page/record_verification",
        {
            "csrf_token": token,
            "rating": "mostly_false",
            "rationale": "Fighting went on after 12 January.",
            "sources.0.url": "https://example.org/report",
            "sources.0.title": "Report",
            "sources.1.url": "",
        },
    )

    assert answer.status_code == 303
    state = client.get(f"/claims/{claim_id}").json()
    assert state["verdict"] == "mostly_false"
    assert state["verifications"][0]["sources"] == [
        {"url": "https://example.org/report", "title": "Report"}
    ]
    assert 'class="badge verdict-mostly_false"' in client.get(answer.headers["location"]).text


def test_an_editor_withdraws_a_rebuttal_from_its_form(
    client: TestClient, keys: dict[Role, str], as_role: Headers
) -> None:
    claim_id = _claim(client, as_role)
    rebuttal = post(client, f"/claims/{claim_id}/rebuttals", REBUTTAL, as_role(Role.EDITOR))
    rebuttal_id = rebuttal.json()["data"]["rebuttal_id"]
    token = sign_in(client, keys[Role.EDITOR])

    answer = post_form(
        client,
        f"/claims/{claim_id}/page/withdraw_rebuttal",
        {"csrf_token": token, "item_id": rebuttal_id, "reason": "Filed in error."},
    )

    assert answer.status_code == 303
    assert client.get(f"/claims/{claim_id}").json()["verdict"] == "unverified"


def test_the_api_s_problems_are_shown_next_to_the_fields_they_concern(
    client: TestClient, keys: dict[Role, str], as_role: Headers
) -> None:
    claim_id = _claim(client, as_role)
    token = sign_in(client, keys[Role.CONTRIBUTOR])

    answer = post_form(
        client,
        f"/claims/{claim_id}/page/file_rebuttal",
        {
            "csrf_token": token,
            "party.name": "Hanna Malyar",
            "statement": "",
            "source.url": "not a url",
            "occurred_at": "2023-01-13",
        },
    )

    assert answer.status_code == 422
    assert field_errors(answer.text, "file_rebuttal-statement") == ["Field required"]
    assert field_errors(answer.text, "file_rebuttal-source-url")
    assert field_errors(answer.text, "file_rebuttal-occurred_at")
    assert field_errors(answer.text, "file_rebuttal-party-name") == []
    assert 'value="Hanna Malyar"' in answer.text  # what was typed is kept
    assert len(_events(client, claim_id)) == 1


def test_a_rule_of_the_ledger_is_shown_on_the_form_with_its_status(
    client: TestClient, keys: dict[Role, str], as_role: Headers
) -> None:
    claim_id = _claim(client, as_role)  # occurred 2023-01-13T09:00:00Z
    token = sign_in(client, keys[Role.CONTRIBUTOR])

    answer = post_form(
        client,
        f"/claims/{claim_id}/page/file_rebuttal",
        {
            "csrf_token": token,
            "party.name": "Hanna Malyar",
            "statement": "Too early.",
            "occurred_at": "2023-01-01T00:00:00Z",
        },
    )

    assert answer.status_code == 422
    assert field_errors(answer.text, "file_rebuttal-occurred_at")


def test_withdrawing_twice_shows_the_conflict_on_the_form(
    client: TestClient, keys: dict[Role, str], as_role: Headers
) -> None:
    claim_id = _claim(client, as_role)
    rebuttal = post(client, f"/claims/{claim_id}/rebuttals", REBUTTAL, as_role(Role.EDITOR))
    rebuttal_id = rebuttal.json()["data"]["rebuttal_id"]
    post(
        client,
        f"/claims/{claim_id}/rebuttals/{rebuttal_id}/withdrawal",
        {"reason": "Filed in error."},
        as_role(Role.EDITOR),
    )
    token = sign_in(client, keys[Role.EDITOR])

    answer = post_form(
        client,
        f"/claims/{claim_id}/page/withdraw_rebuttal",
        {"csrf_token": token, "item_id": rebuttal_id, "reason": "Again."},
    )

    assert answer.status_code == 409
    assert 'class="problem"' in answer.text


def test_a_form_for_an_unknown_claim_is_the_404_page(
    client: TestClient, keys: dict[Role, str]
) -> None:
    token = sign_in(client, keys[Role.CONTRIBUTOR])

    answer = post_form(
        client,
        "/claims/3f0c0a52-6f1e-4a52-9c55-000000000000/page/file_rebuttal",
        {"csrf_token": token, "party.name": "Someone", "statement": "Hello."},
    )
    no_such_form = post_form(
        client, "/claims/3f0c0a52-6f1e-4a52-9c55-000000000000/page/delete", {"csrf_token": token}
    )

    assert answer.status_code == 404
    assert no_such_form.status_code == 404


# --- reads that need a key -------------------------------------------------------------


def test_pages_need_a_session_when_reads_need_a_key(
    settings: Settings, keys: dict[Role, str]
) -> None:
    closed = settings.model_copy(update={"reads_require_key": True})
    with TestClient(create_app(closed)) as client:
        anonymous = client.get("/")
        sign_in(client, keys[Role.READER])
        signed_in = client.get("/")

    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"].startswith("text/html")
    assert 'href="/sign-in"' in anonymous.text
    assert signed_in.status_code == 200


def test_a_form_too_large_or_with_a_file_is_a_problem_page_and_appends_nothing(
    client: TestClient, keys: dict[Role, str], as_role: Headers
) -> None:
    claim_id = _claim(client, as_role)
    token = sign_in(client, keys[Role.EDITOR])
    path = f"/claims/{claim_id}/page/file_rebuttal"

    too_large = post_form(
        client,
        path,
        {"csrf_token": token, "party.name": "Someone", "statement": "x" * (65 * 1024)},
    )
    with_a_file = client.post(
        path,
        data={"csrf_token": token, "party.name": "Someone"},
        files={"statement": ("statement.txt", b"Hello.")},
        follow_redirects=False,
    )

    assert too_large.status_code == 413
    assert too_large.headers["content-type"].startswith("text/html")
    assert with_a_file.status_code == 400
    assert len(_events(client, claim_id)) == 1


def test_a_verification_without_a_chosen_rating_says_so_beside_the_rating(
    client: TestClient, keys: dict[Role, str], as_role: Headers
) -> None:
    claim_id = _claim(client, as_role)
    token = sign_in(client, keys[Role.CHECKER])

    answer = post_form(
        client,
        f"/claims/{claim_id}/page/record_verification",
        {"csrf_token": token, "rating": "", "rationale": "No.", "sources.0.url": ""},
    )

    assert answer.status_code == 422
    assert field_errors(answer.text, "record_verification-rating") == ["Field required"]
    assert field_errors(answer.text, "record_verification-sources-0-url")
    assert len(_events(client, claim_id)) == 1


def test_a_session_s_pages_count_against_its_key_s_rate_limit(
    settings: Settings, keys: dict[Role, str]
) -> None:
    limited = settings.model_copy(update={"rate_limit": "3/day"})
    with TestClient(create_app(limited)) as client:
        sign_in(client, keys[Role.READER])  # its last step reads one page
        statuses = [client.get("/").status_code for _ in range(3)]

    assert statuses == [200, 200, 429]


def test_a_verification_s_review_and_a_claimant_s_kind_go_through_the_forms(
    client: TestClient, keys: dict[Role, str]
) -> None:
    token = sign_in(client, keys[Role.CHECKER])
    registered = post_form(
        client,
        "/claims/page",
        {
            "csrf_token": token,
            "text": "Soledar has been taken.",
            "claimant.name": "Russian Defense Ministry",
            "claimant.kind": "organization",
        },
    )
    claim_page = registered.headers["location"]
    claim_id = claim_page.split("/")[2]

    verified = post_form(
        client,
        f"{claim_page}/record_verification",
        {
            "csrf_token": token,
            "rating": "mostly_false",
            "rationale": "Fighting went on.",
            "sources.0.url": "https://example.org/report",
            "review.url": "https://factcheck.example/soledar",
            "review.headline": "Soledar: not yet taken",
        },
    )

    assert verified.status_code == 303
    events = _events(client, claim_id)
    assert events[0]["data"]["claimant"] == {
        "name": "Russian Defense Ministry",
        "kind": "organization",
    }
    assert events[1]["data"]["review"] == {
        "url": "https://factcheck.example/soledar",
        "headline": "Soledar: not yet taken",
    }
    page = client.get(claim_page).text
    assert '<a href="https://factcheck.example/soledar" rel="nofollow noopener">' in page
    assert "Soledar: not yet taken" in page
