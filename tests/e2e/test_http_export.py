"""`GET /events/export` on both backends: every envelope as NDJSON, for admins only,
the same bytes as `factledger export` writes."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from factledger.exporting import plan_export
from factledger.service import LedgerService
from ledger.access import Role
from tests.e2e.http_calls import CLAIM, REBUTTAL, VERIFICATION, post, problem

Headers = Callable[[Role], dict[str, str]]


@pytest.fixture
def written(client: TestClient, as_role: Headers) -> list[dict[str, Any]]:
    """Two claims, one rebutted and verified: the envelopes the writes answered."""
    editor = as_role(Role.EDITOR)
    first = post(client, "/claims", CLAIM, editor).json()
    second = post(client, "/claims", {**CLAIM, "text": "Bakhmut will fall."}, editor).json()
    rebutted = post(client, f"/claims/{first['claim_id']}/rebuttals", REBUTTAL, editor).json()
    verified = post(
        client, f"/claims/{first['claim_id']}/verifications", VERIFICATION, editor
    ).json()
    return [first, second, rebutted, verified]


def test_an_admin_gets_every_envelope_as_the_api_returns_it_one_per_line_in_position_order(
    client: TestClient, as_role: Headers, written: list[dict[str, Any]]
) -> None:
    response = client.get("/events/export", headers=as_role(Role.ADMIN))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/x-ndjson"
    assert response.text.endswith("\n")
    lines = response.text.splitlines()
    assert [json.loads(line) for line in lines] == written
    assert [json.loads(line)["position"] for line in lines] == sorted(
        envelope["position"] for envelope in written
    )


def test_the_export_over_http_is_byte_for_byte_what_the_command_line_writes(
    client: TestClient, as_role: Headers, service: LedgerService, written: list[dict[str, Any]]
) -> None:
    response = client.get("/events/export", headers=as_role(Role.ADMIN))
    assert response.content == b"".join(plan_export(service.persistence.event_log).lines())
    assert len(response.content.splitlines()) == len(written)


def test_an_empty_ledger_exports_nothing(client: TestClient, as_role: Headers) -> None:
    response = client.get("/events/export", headers=as_role(Role.ADMIN))
    assert (response.status_code, response.content) == (200, b"")


@pytest.mark.parametrize("role", [Role.READER, Role.CONTRIBUTOR, Role.CHECKER, Role.EDITOR])
def test_a_role_below_admin_is_refused_with_403(
    client: TestClient, as_role: Headers, role: Role
) -> None:
    body = problem(client.get("/events/export", headers=as_role(role)), 403)
    assert "admin" in body["detail"]


def test_without_a_key_the_export_is_refused_with_401(client: TestClient) -> None:
    response = client.get("/events/export")
    problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_the_export_is_documented_as_ndjson_for_admins(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"]["/events/export"]["get"]
    assert "application/x-ndjson" in operation["responses"]["200"]["content"]
    assert {"401", "403"} <= set(operation["responses"])
