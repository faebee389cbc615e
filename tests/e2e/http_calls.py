"""Bodies and calls the HTTP tests share."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from httpx2 import Response

from ledger.access import Role

Headers = Callable[[Role], dict[str, str]]

CLAIM = {
    "text": "The liberation of the town of Soledar was completed in the evening of Jan. 12.",
    "claimant": {"name": "Igor Konashenkov", "affiliation": "Russian Defense Ministry"},
    "occurred_at": "2023-01-13T09:00:00Z",
    "tags": ["soledar"],
}
REBUTTAL = {
    "party": {"name": "Hanna Malyar"},
    "statement": "The night in Soledar was hot, battles continued.",
    "occurred_at": "2023-01-13T10:00:00Z",
}
VERIFICATION = {
    "rating": "mostly_false",
    "rationale": "Fighting continued in the town after 12 January.",
    "sources": [{"url": "https://example.org/report", "title": "Report"}],
    "occurred_at": "2023-01-14T12:00:00Z",
}
EVIDENCE = {"source": {"url": "https://example.org/video"}, "stance": "refutes"}
REASON = {"reason": "Filed in error."}


def post(
    client: TestClient, path: str, body: Any, headers: dict[str, str] | None = None
) -> Response:
    return client.post(path, json=body, headers=headers or {})


def problem(response: Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert {"type", "title", "status", "detail"} <= set(body)
    return body
