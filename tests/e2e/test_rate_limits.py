"""Rate limits (SPEC §4): off by default; per key, and per client address for
anonymous reads, when configured; 429 with Retry-After; held across the
workers of one `serve`."""

from __future__ import annotations

import http.client
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from api.app import create_app
from factledger.rates import Rate, parse_rate
from factledger.service import LedgerService
from factledger.settings import Settings
from ledger.access import Role
from tests.e2e.http_calls import CLAIM
from tests.e2e.processes import Serving

Headers = Callable[[Role], dict[str, str]]


def test_rates_read_as_a_count_per_period() -> None:
    assert parse_rate("100/minute") == Rate(100, 60)
    assert parse_rate(" 5 / second ") == Rate(5, 1)
    assert str(parse_rate("7/day")) == "7/day"
    for bad in ("", "100", "0/minute", "-1/hour", "ten/minute", "5/fortnight"):
        with pytest.raises(ValueError, match="a rate is"):
            parse_rate(bad)


def test_a_bad_rate_in_the_settings_is_refused_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FACTLEDGER_RATE_LIMIT", "lots")
    with pytest.raises(ValidationError, match="a rate is"):
        Settings()


@pytest.fixture
def limited(service: LedgerService) -> Iterator[TestClient]:
    settings = service.settings.model_copy(
        update={"rate_limit": "3/day", "anonymous_rate_limit": "2/day"}
    )
    opened = LedgerService(settings)
    try:
        with TestClient(create_app(service=opened)) as client:
            yield client
    finally:
        opened.close()


def test_without_a_configured_limit_nothing_is_limited(client: TestClient) -> None:
    assert {client.get("/claims").status_code for _ in range(30)} == {200}


def test_a_key_past_its_limit_gets_429_with_retry_after_and_other_keys_do_not(
    limited: TestClient, as_role: Headers
) -> None:
    contributor = as_role(Role.CONTRIBUTOR)
    assert limited.post("/claims", json=CLAIM, headers=contributor).status_code == 201
    assert limited.get("/claims", headers=contributor).status_code == 200
    assert limited.get("/events", headers=contributor).status_code == 200
    refused = limited.post("/claims", json=CLAIM, headers=contributor)
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["type"] == "/problems/too-many-requests"
    assert 0 < int(refused.headers["retry-after"]) <= 86400
    assert limited.get("/claims", headers=contributor).status_code == 429
    assert limited.get("/claims", headers=as_role(Role.READER)).status_code == 200


def test_anonymous_reads_are_limited_by_address_and_keyed_reads_by_key(
    limited: TestClient, as_role: Headers
) -> None:
    assert limited.get("/claims").status_code == 200
    assert limited.get("/events").status_code == 200
    refused = limited.get("/claims")
    assert refused.status_code == 429
    assert "retry-after" in refused.headers
    assert limited.get("/claims", headers=as_role(Role.READER)).status_code == 200
    assert limited.get("/healthz").status_code == 200  # not a read of the ledger


@pytest.mark.slow
def test_the_limit_holds_across_the_workers_of_one_serve(database_url: str, tmp_path: Path) -> None:
    server = Serving(
        database_url,
        tmp_path,
        "--no-projector",
        "--workers",
        "2",
        env={"FACTLEDGER_ANONYMOUS_RATE_LIMIT": "6/day"},
    )
    try:
        statuses: Counter[int] = Counter()
        for _ in range(16):  # a connection each: the workers take them in turn
            connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
            connection.request("GET", "/events")
            statuses[connection.getresponse().status] += 1
            connection.close()
        # /healthz (polled while serve started) is not limited.
        assert statuses == {200: 6, 429: 10}
    finally:
        server.stop()
