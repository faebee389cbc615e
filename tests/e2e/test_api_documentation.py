"""`/docs` works offline: Swagger UI's page names only assets the service
serves itself, runs no inline script, and loads the OpenAPI document."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from api.openapi import BEARER
from ledger.events import EventType


def test_the_documentation_page_needs_nothing_from_outside_the_service(
    client: TestClient,
) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    html = page.text
    assert "http://" not in html
    assert "https://" not in html
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "an inline script"
    assets = re.findall(r'(?:src|href)="(/[^"]+)"', html)
    assert len(assets) >= 4
    for asset in assets:
        answer = client.get(asset)
        assert answer.status_code == 200, asset
        assert len(answer.content) > 100, asset
    assert "SwaggerUIBundle" in client.get("/docs/own/docs.js").text
    assert client.get("/openapi.json").status_code == 200


def test_redoc_is_gone_rather_than_broken(client: TestClient) -> None:
    assert client.get("/redoc").status_code == 404


def test_every_write_asks_for_a_bearer_key_so_that_authorize_sends_it(
    client: TestClient,
) -> None:
    document = client.get("/openapi.json").json()
    scheme = document["components"]["securitySchemes"][BEARER]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    operations = {
        operation["operationId"]: operation
        for path in document["paths"].values()
        for operation in path.values()
    }
    for event_type in EventType:
        write = operations[event_type.declared.operation]
        assert write["security"] == [{BEARER: []}], event_type
    for needs_a_role in ("import_claim_reviews", "export_events"):
        assert operations[needs_a_role]["security"] == [{BEARER: []}]
    for read in ("get_claim", "list_claims", "metrics", "get_claim_review"):
        assert operations[read]["security"] == [{}, {BEARER: []}]  # a key is optional
