"""What every answer carries (security headers, a request id), CORS closed
unless configured, and the access log: through the app in-process, on both
backends. (The connection limits of `serve` itself: test_serve_limits.py.)"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.middleware import API_CSP, PAGE_CSP
from factledger.service import LedgerService
from ledger.access import Role
from tests.e2e.http_calls import CLAIM

Headers = Callable[[Role], dict[str, str]]


def _assert_secured(headers: Any, csp: str = API_CSP) -> None:
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["x-frame-options"] == "DENY"
    assert headers["content-security-policy"] == csp


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/healthz", 200),
        ("GET", "/no/such/path", 404),
        ("GET", "/claims/not-a-uuid", 422),
        ("POST", "/claims", 401),
        ("DELETE", "/claims", 405),
        ("GET", "/openapi.json", 200),
    ],
)
def test_every_answer_carries_the_security_headers_and_a_request_id(
    client: TestClient, method: str, path: str, status: int
) -> None:
    response = client.request(method, path)
    assert response.status_code == status
    _assert_secured(response.headers)
    assert 0 < len(response.headers["x-request-id"]) <= 128


def test_html_pages_carry_a_policy_that_allows_only_the_services_own_scripts(
    client: TestClient,
) -> None:
    for path in ("/docs",):
        response = client.get(path)
        assert response.headers["content-type"].startswith("text/html")
        _assert_secured(response.headers, PAGE_CSP)
        assert "'unsafe-inline'" not in PAGE_CSP
        assert "frame-ancestors 'none'" in PAGE_CSP


def test_a_bug_is_a_500_problem_with_the_headers_and_the_request_id(
    service: LedgerService, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(service=service)

    async def broken() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/broken", broken)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/broken", headers={"X-Request-Id": "bug-1"})
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    _assert_secured(response.headers)
    assert response.headers["x-request-id"] == "bug-1"


def test_a_well_formed_request_id_is_kept_and_any_other_replaced(client: TestClient) -> None:
    kept = "req:2026-12-02.abc_DEF-1"
    assert client.get("/healthz", headers={"X-Request-Id": kept}).headers["x-request-id"] == kept
    for bad in (b"", b"has space", b"x" * 129, b"semi;colon", "\u00e9".encode()):
        answered = client.get("/healthz", headers=[(b"x-request-id", bad)]).headers["x-request-id"]
        assert answered.encode() != bad
        assert len(answered) == 32
    first = client.get("/healthz").headers["x-request-id"]
    assert client.get("/healthz").headers["x-request-id"] != first


def test_cross_origin_requests_are_refused_unless_origins_are_configured(
    client: TestClient,
) -> None:
    preflight = client.options(
        "/claims",
        headers={"Origin": "https://elsewhere.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in preflight.headers
    simple = client.get("/healthz", headers={"Origin": "https://elsewhere.example"})
    assert "access-control-allow-origin" not in simple.headers


@pytest.fixture
def cors_client(service: LedgerService) -> Iterator[TestClient]:
    settings = service.settings.model_copy(
        update={"cors_origins": ("https://app.example", "https://other.example")}
    )
    opened = LedgerService(settings)
    try:
        with TestClient(create_app(service=opened)) as client:
            yield client
    finally:
        opened.close()


def test_configured_origins_may_call_with_the_headers_clients_need(
    cors_client: TestClient,
) -> None:
    preflight = cors_client.options(
        "/claims",
        headers={
            "Origin": "https://app.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, idempotency-key, "
            "if-match",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "https://app.example"
    allowed = preflight.headers["access-control-allow-headers"].lower()
    for header in ("authorization", "content-type", "if-match", "if-none-match"):
        assert header in allowed
    for header in ("idempotency-key", "last-event-id"):
        assert header in allowed
    answer = cors_client.get("/healthz", headers={"Origin": "https://app.example"})
    assert answer.headers["access-control-allow-origin"] == "https://app.example"
    exposed = answer.headers["access-control-expose-headers"].lower()
    for header in ("etag", "location", "retry-after", "x-request-id"):
        assert header in exposed
    other = cors_client.get("/healthz", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers


def test_the_setting_takes_origins_separated_by_commas(monkeypatch: pytest.MonkeyPatch) -> None:
    from factledger.settings import Settings  # noqa: PLC0415

    monkeypatch.setenv("FACTLEDGER_CORS_ORIGINS", "https://a.example, https://b.example")
    assert Settings().cors_origins == ("https://a.example", "https://b.example")
    monkeypatch.delenv("FACTLEDGER_CORS_ORIGINS")
    assert Settings().cors_origins == ()


def _access_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [
        record.__dict__["fields"] for record in caplog.records if record.name == "factledger.access"
    ]


def test_each_request_is_logged_once_with_its_route_and_the_writers_key_never_its_secret(
    client: TestClient, as_role: Headers, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="factledger.access")
    headers = {**as_role(Role.CONTRIBUTOR), "X-Request-Id": "write-1"}
    written = client.post("/claims", json=CLAIM, headers=headers)
    assert written.status_code == 201
    claim_id = written.json()["claim_id"]
    client.get(f"/claims/{claim_id}", headers={"X-Request-Id": "read-1"})

    write, read = _access_lines(caplog)
    assert write["request_id"] == "write-1"
    assert write["method"] == "POST"
    assert write["route"] == "/claims"
    assert write["status"] == 201
    assert write["duration_ms"] > 0
    assert write["client"]
    assert write["actor"] == "test contributor"
    assert write["role"] == "contributor"
    assert write["key_id"]
    assert read["route"] == "/claims/{claim_id}"
    assert read["path"] == f"/claims/{claim_id}"
    assert "key_id" not in read
    secret = headers["Authorization"].removeprefix("Bearer ")
    logged = " ".join(
        json.dumps(fields) + record.getMessage()
        for fields, record in zip(_access_lines(caplog), caplog.records, strict=False)
    )
    assert secret not in logged
    assert secret not in caplog.text


def test_a_client_that_hangs_up_mid_body_is_logged_as_an_event_not_a_bug(
    service: LedgerService, as_role: Headers, caplog: pytest.LogCaptureFixture
) -> None:
    import asyncio  # noqa: PLC0415

    app = create_app(service=service)
    messages: list[dict[str, Any]] = [
        {"type": "http.request", "body": b'{"text": "half', "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    headers = [
        (name.lower().encode(), value.encode())
        for name, value in {**as_role(Role.CONTRIBUTOR), "Content-Type": "application/json"}.items()
    ]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/claims",
        "raw_path": b"/claims",
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
    }
    caplog.set_level(logging.INFO)
    with TestClient(app):  # runs the lifespan
        asyncio.run(app(scope, receive, send))  # type: ignore[arg-type]
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert not [record for record in caplog.records if record.exc_info]
    assert any("left before sending its whole request" in r.getMessage() for r in caplog.records)
    [line] = _access_lines(caplog)
    assert line["status"] == 499
