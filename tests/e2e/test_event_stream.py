"""`GET /events/stream` over a real HTTP connection to `factledger serve`:
Server-Sent Events, resumed after `Last-Event-ID`, live, with heartbeats."""

from __future__ import annotations

import http.client
import json
import time
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.e2e.processes import call
from tests.e2e.test_http_writes import CLAIM, REBUTTAL

pytestmark = pytest.mark.slow


class Stream:
    """An open event stream, read line by line."""

    def __init__(self, base: str, headers: dict[str, str], query: str = "") -> None:
        parts = urlsplit(base)
        self.conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=20)
        self.conn.request("GET", f"/events/stream{query}", headers=headers)
        self.response = self.conn.getresponse()

    def next_event(self) -> dict[str, Any]:
        """The next event's fields; comment lines are collected in `comments`."""
        fields: dict[str, Any] = {}
        while True:
            line = self.response.readline().decode().rstrip("\r\n")
            if not line:
                if fields:
                    return fields
                continue
            if line.startswith(":"):
                fields.setdefault("comments", []).append(line)
                continue
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")

    def close(self) -> None:
        self.conn.close()


@pytest.fixture
def story(served: tuple[str, str]) -> tuple[str, str, list[dict[str, Any]]]:
    base, key = served
    written = []
    for n in range(3):
        status, registered = call(base, "POST", "/claims", {**CLAIM, "text": f"Claim {n}"}, key)
        assert status == 201
        written.append(registered)
    return base, key, written


def test_the_stream_resumes_after_last_event_id_goes_live_and_sends_heartbeats(
    story: tuple[str, str, list[dict[str, Any]]],
) -> None:
    base, key, written = story
    stream = Stream(base, {"Last-Event-ID": str(written[0]["position"])})
    try:
        assert stream.response.status == 200
        assert stream.response.getheader("Content-Type", "").startswith("text/event-stream")

        received = [stream.next_event() for _ in written[1:]]
        assert [int(event["id"]) for event in received] == [w["position"] for w in written[1:]]
        assert [json.loads(event["data"]) for event in received] == written[1:]

        status, rebuttal = call(
            base, "POST", f"/claims/{written[0]['claim_id']}/rebuttals", REBUTTAL, key
        )
        assert status == 201
        live = stream.next_event()
        assert (int(live["id"]), json.loads(live["data"])) == (rebuttal["position"], rebuttal)

        # Nothing happens now: a heartbeat comes within 15 s.
        started = time.monotonic()
        stream.response.fp.raw._sock.settimeout(16)  # type: ignore[attr-defined]
        line = stream.response.readline().decode()
        while not line.startswith(":"):
            line = stream.response.readline().decode()
        assert time.monotonic() - started <= 15
    finally:
        stream.close()

    # The client went; the server goes on serving.
    status, page = call(base, "GET", f"/events?after={written[0]['position']}")
    assert status == 200
    assert len(page["events"]) == 3


def test_the_stream_starts_after_the_after_parameter(
    story: tuple[str, str, list[dict[str, Any]]],
) -> None:
    base, _, written = story
    stream = Stream(base, {}, f"?after={written[1]['position']}")
    try:
        event = stream.next_event()
        assert int(event["id"]) == written[2]["position"]
    finally:
        stream.close()


def test_a_last_event_id_that_is_not_a_position_is_a_422_problem(
    served: tuple[str, str],
) -> None:
    base, _ = served
    stream = Stream(base, {"Last-Event-ID": "yesterday"})
    try:
        assert stream.response.status == 422
        assert stream.response.getheader("Content-Type") == "application/problem+json"
    finally:
        stream.close()


def test_a_new_stream_is_live_after_hundreds_of_streams_left_at_once_again_and_again(
    story: tuple[str, str, list[dict[str, Any]]],
) -> None:
    base, key, written = story
    claim = written[0]["claim_id"]
    for _ in range(3):
        streams = [Stream(base, {}, f"?after={written[-1]['position']}") for _ in range(200)]
        try:
            status, _ = call(base, "POST", f"/claims/{claim}/rebuttals", REBUTTAL, key)
            assert status == 201
            streams[0].next_event()  # the write reached the streams
        finally:
            for stream in streams:
                stream.close()
    status, page = call(base, "GET", "/events?after=0&limit=1000")
    head = page["next_after"]
    stream = Stream(base, {}, f"?after={head}")
    try:
        status, rebuttal = call(base, "POST", f"/claims/{claim}/rebuttals", REBUTTAL, key)
        assert status == 201
        stream.response.fp.raw._sock.settimeout(5)  # type: ignore[attr-defined]
        live = stream.next_event()
        assert int(live["id"]) == rebuttal["position"]
    finally:
        stream.close()
