"""Bad input gets a problem answer and changes nothing; a 500 is a bug.

Random bodies, near-valid bodies with one field broken, and random query
times are thrown at every write and read, on both backends.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.access import Role
from tests.e2e.test_http_writes import CLAIM, EVIDENCE, REASON, REBUTTAL, VERIFICATION, post

Headers = Callable[[Role], dict[str, str]]

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)

VALID_BODIES = {
    "/claims": CLAIM,
    "/claims/{claim}/rebuttals": REBUTTAL,
    "/claims/{claim}/verifications": VERIFICATION,
    "/claims/{claim}/evidence": EVIDENCE,
    "/claims/{claim}/amendments": {"text": "Amended.", "reason": "Typo."},
    "/claims/{claim}/rebuttals/{claim}/withdrawal": REASON,
}

nasty_strings = st.sampled_from(
    ["", " ", "\x00", "\ud800", "x" * 6000, "javascript:alert(1)", "9999-12-31T23:59:59-23:59"]
)


@st.composite
def near_valid(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """A valid body of some route with one field replaced, removed or added."""
    template, body = draw(st.sampled_from(sorted(VALID_BODIES.items())))
    body = dict(body)
    field = draw(st.sampled_from([*body, "unknown_field"]))
    action = draw(st.sampled_from(["replace", "remove", "nasty"]))
    if action == "remove":
        body.pop(field, None)
    elif action == "nasty":
        body[field] = draw(nasty_strings)
    else:
        body[field] = draw(json_values)
    return template, body


SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def registered_claim(client: TestClient, as_role: Headers) -> str:
    return str(post(client, "/claims", CLAIM, as_role(Role.EDITOR)).json()["claim_id"])


def send(client: TestClient, path: str, body: Any, headers: dict[str, str]) -> Any:
    """POSTs the body as JSON text, escapes and all (lone surrogates, Infinity)."""
    content = json.dumps(body).encode()
    return client.post(
        path, content=content, headers={**headers, "content-type": "application/json"}
    )


def assert_answered_properly(status: int, content_type: str) -> None:
    assert status != 500
    if status >= 400:
        assert content_type == "application/problem+json"


def head(client: TestClient) -> int:
    position: int = client.get("/readyz").json()["position"]
    return position


def assert_changed_only_if_accepted(client: TestClient, before: int, status: int) -> None:
    """A 201 appended one event; any other answer appended nothing."""
    assert head(client) == (before + 1 if status == 201 else before)


@SETTINGS
@given(body=json_values, template=st.sampled_from(sorted(VALID_BODIES)))
def test_any_json_body_gets_an_answer_that_is_not_a_500_and_appends_only_if_accepted(
    client: TestClient, as_role: Headers, body: Any, template: str
) -> None:
    path = template.format(claim=registered_claim(client, as_role))
    before = head(client)
    response = send(client, path, body, as_role(Role.EDITOR))
    assert_answered_properly(response.status_code, response.headers["content-type"])
    assert_changed_only_if_accepted(client, before, response.status_code)


@SETTINGS
@given(case=near_valid())
def test_a_body_with_one_field_broken_gets_an_answer_that_is_not_a_500_and_appends_only_if_accepted(
    client: TestClient, as_role: Headers, case: tuple[str, dict[str, Any]]
) -> None:
    template, body = case
    path = template.format(claim=registered_claim(client, as_role))
    before = head(client)
    response = send(client, path, body, as_role(Role.EDITOR))
    assert_answered_properly(response.status_code, response.headers["content-type"])
    assert_changed_only_if_accepted(client, before, response.status_code)


@SETTINGS
@given(as_of=st.text(max_size=40), valid_at=st.text(max_size=40))
def test_any_query_time_gets_an_answer_that_is_not_a_500(
    client: TestClient, as_role: Headers, as_of: str, valid_at: str
) -> None:
    claim = registered_claim(client, as_role)
    before = head(client)
    response = client.get(f"/claims/{claim}", params={"as_of": as_of, "valid_at": valid_at})
    assert_answered_properly(response.status_code, response.headers["content-type"])
    assert head(client) == before
