"""Every request is answered within the bound, even when what it waits for
never returns (a database that hangs): `api.deadline.AnswerDeadline`, in front
of routes that hang, on a thread and in the event loop."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterator

import pytest
from fastapi import FastAPI
from fastapi.responses import StreamingResponse
from fastapi.testclient import TestClient

from api.deadline import AnswerDeadline
from api.middleware import SecurityHeaders

BOUND = 0.5
HANG = 1.5


@pytest.fixture
def client() -> Iterator[TestClient]:
    app = FastAPI()

    @app.get("/hangs-on-a-thread")
    def hangs_on_a_thread() -> dict[str, str]:
        threading.Event().wait(HANG)
        return {"late": "answer"}

    @app.post("/hangs-in-the-loop")
    async def hangs_in_the_loop() -> dict[str, str]:
        await asyncio.sleep(HANG)
        return {"late": "answer"}

    @app.get("/quick")
    async def quick() -> dict[str, str]:
        return {"quick": "answer"}

    @app.get("/stream")
    async def stream() -> StreamingResponse:
        async def slowly() -> AsyncIterator[bytes]:
            for n in range(3):
                yield f"{n}\n".encode()
                await asyncio.sleep(BOUND)

        return StreamingResponse(slowly(), media_type="text/plain")

    with TestClient(SecurityHeaders(AnswerDeadline(app, seconds=BOUND))) as client:
        yield client


def test_a_read_that_hangs_is_answered_503_with_retry_after_at_the_bound(
    client: TestClient,
) -> None:
    answer = client.get("/hangs-on-a-thread")
    assert answer.status_code == 503
    assert answer.headers["retry-after"]
    assert answer.headers["x-content-type-options"] == "nosniff"
    problem = answer.json()
    assert problem["type"] == "/problems/timed-out"
    assert "nothing was changed" in problem["detail"]


def test_a_write_that_hangs_is_answered_that_its_outcome_is_unknown(client: TestClient) -> None:
    answer = client.post("/hangs-in-the-loop", json={})
    assert answer.status_code == 503
    assert answer.json()["type"] == "/problems/outcome-unknown"
    assert "Idempotency-Key" in answer.json()["detail"]


def test_answers_in_time_and_streams_once_started_are_left_alone(client: TestClient) -> None:
    assert client.get("/quick").json() == {"quick": "answer"}
    started = time.monotonic()
    streamed = client.get("/stream")
    assert streamed.status_code == 200
    assert streamed.text == "0\n1\n2\n"
    assert time.monotonic() - started >= 2 * BOUND
