"""Requests are counted by the path template of the route that took them,
never by their raw path, whatever way the route is called."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI, Request, Response
from fastapi.testclient import TestClient

from api.metrics import RequestMetrics
from api.routes.writes import DirectRoute
from factledger.metrics import ProcessMetrics


@pytest.fixture
def metrics() -> ProcessMetrics:
    return ProcessMetrics()


@pytest.fixture
def client(metrics: ProcessMetrics) -> Iterator[TestClient]:
    app = FastAPI()

    @app.get("/claims/{claim_id}")
    async def get_claim(claim_id: str) -> dict[str, str]:
        return {"claim_id": claim_id}

    async def file_rebuttal(request: Request) -> Response:
        return Response(status_code=201)

    app.router.add_api_route(
        "/claims/{claim_id}/rebuttals",
        file_rebuttal,
        methods=["POST"],
        route_class_override=DirectRoute,
    )

    @app.get("/fails")
    async def fails() -> None:
        raise RuntimeError("a bug")

    app.add_middleware(RequestMetrics, metrics=metrics)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def counted(metrics: ProcessMetrics, method: str, route: str, status: int) -> float | None:
    labels = {"method": method, "route": route, "status": str(status)}
    return metrics.registry.get_sample_value("factledger_http_requests_total", labels)


def test_requests_to_one_route_count_under_its_path_template(
    client: TestClient, metrics: ProcessMetrics
) -> None:
    for claim_id in ("a", "b", "c"):
        client.get(f"/claims/{claim_id}")
    assert counted(metrics, "GET", "/claims/{claim_id}", 200) == 3
    latencies = metrics.registry.get_sample_value(
        "factledger_http_request_duration_seconds_count",
        {"method": "GET", "route": "/claims/{claim_id}"},
    )
    assert latencies == 3


def test_a_route_called_without_dependency_solving_counts_like_any_other(
    client: TestClient, metrics: ProcessMetrics
) -> None:
    assert client.post("/claims/a/rebuttals").status_code == 201
    assert counted(metrics, "POST", "/claims/{claim_id}/rebuttals", 201) == 1


def test_a_path_no_route_takes_counts_as_unmatched_whatever_it_is(
    client: TestClient, metrics: ProcessMetrics
) -> None:
    client.get("/nowhere")
    client.get("/claims/a/nowhere/else")
    assert counted(metrics, "GET", "unmatched", 404) == 2


def test_a_method_the_route_does_not_take_counts_under_the_route(
    client: TestClient, metrics: ProcessMetrics
) -> None:
    assert client.delete("/claims/a").status_code == 405
    assert counted(metrics, "DELETE", "/claims/{claim_id}", 405) == 1


def test_an_unusual_method_counts_as_other(client: TestClient, metrics: ProcessMetrics) -> None:
    client.request("BREW", "/claims/a")
    assert counted(metrics, "other", "/claims/{claim_id}", 405) == 1


def test_a_request_that_fails_without_an_answer_counts_as_the_500_it_gets(
    client: TestClient, metrics: ProcessMetrics
) -> None:
    assert client.get("/fails").status_code == 500
    assert counted(metrics, "GET", "/fails", 500) == 1
