"""`GET /metrics` of one app over HTTP, on both backends: who may read it,
what the writes add to it, and what it says when the database is gone."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from eventsourcing.persistence import OperationalError
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from api.app import create_app
from factledger.service import LedgerService
from factledger.settings import Settings
from ledger.access import Role

Headers = Callable[[Role], dict[str, str]]

CLAIM = {"text": "Soledar was taken.", "claimant": {"name": "Igor Konashenkov"}}
REBUTTAL = {"party": {"name": "Hanna Malyar"}, "statement": "Battles continued."}


def figures(client: TestClient, headers: dict[str, str] | None = None) -> dict[str, float]:
    """Every sample of a scrape, by its name and labels as Prometheus writes them."""
    response = client.get("/metrics", headers=headers or {})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    return {
        sample.name + _labels(sample.labels): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def _labels(labels: dict[str, str]) -> str:
    return "{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}" if labels else ""


def test_metrics_are_readable_like_the_other_reads(
    client: TestClient, service: LedgerService, as_role: Headers
) -> None:
    assert client.get("/metrics").status_code == 200
    closed = LedgerService(
        Settings(database_url=service.settings.database_url, reads_require_key=True)
    )
    try:
        with TestClient(create_app(service=closed)) as closed_client:
            assert closed_client.get("/metrics").status_code == 401
            wrong = closed_client.get("/metrics", headers={"Authorization": "Bearer nope"})
            assert wrong.status_code == 401
            figures(closed_client, as_role(Role.READER))
    finally:
        closed.close()


def test_writes_are_counted_by_their_route_though_fastapi_calls_them_directly(
    client: TestClient, as_role: Headers
) -> None:
    contributor = as_role(Role.CONTRIBUTOR)
    claim = client.post("/claims", json=CLAIM, headers=contributor).json()
    path = f"/claims/{claim['claim_id']}/rebuttals"
    rebuttal = client.post(path, json=REBUTTAL, headers=contributor)
    assert rebuttal.status_code == 201
    assert client.post(path, json={}, headers=contributor).status_code == 422
    assert client.post(path, json=REBUTTAL).status_code == 401

    counted = figures(client)
    requests = 'factledger_http_requests_total{method="POST",route="%s",status="%d"}'
    assert counted[requests % ("/claims", 201)] == 1
    assert counted[requests % ("/claims/{claim_id}/rebuttals", 201)] == 1
    assert counted[requests % ("/claims/{claim_id}/rebuttals", 422)] == 1
    assert counted[requests % ("/claims/{claim_id}/rebuttals", 401)] == 1
    assert counted["factledger_appended_events_total"] == 2
    assert counted["factledger_append_batch_events_sum"] == 2
    assert counted["factledger_ledger_position"] == rebuttal.json()["position"]


def test_without_the_database_its_figures_are_missing_and_the_rest_still_answered(
    client: TestClient, service: LedgerService, monkeypatch: pytest.MonkeyPatch
) -> None:
    client.get("/claims")

    def gone() -> None:
        raise OperationalError("the database went away")

    monkeypatch.setattr(service.persistence.events, "ping", gone)
    counted = figures(client)
    assert counted["factledger_database_up"] == 0
    assert counted['factledger_http_requests_total{method="GET",route="/claims",status="200"}'] == 1
    assert not [name for name in counted if "read_model" in name or "ledger_position" in name]


def test_the_tree_and_the_latest_checkpoint_are_measured(
    client: TestClient, as_role: Headers
) -> None:
    before = figures(client)
    assert before["factledger_checkpoint_size"] == 0
    contributor = as_role(Role.CONTRIBUTOR)
    client.post("/claims", json=CLAIM, headers=contributor)
    client.post("/claims", json=CLAIM, headers=contributor)
    signed = client.post("/ledger/checkpoints", headers=as_role(Role.ADMIN))
    assert signed.status_code in (200, 201)
    counted = figures(client)
    assert counted["factledger_tree_size"] == 2
    assert counted["factledger_checkpoint_size"] == 2
