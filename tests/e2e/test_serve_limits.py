"""`factledger serve` against hostile and careless callers, over raw sockets:
oversized heads are refused, slow and silent connections are cut off within a
bound, live streams are capped and end at shutdown, and the server keeps
serving everyone else throughout. Its logs are JSON lines, one per request.

Bounds of seconds here say that nothing hangs, not how fast anything is.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import re
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api.connections import MAX_HEAD_BYTES, MAX_HEADER_FIELDS
from tests.e2e.processes import Serving, call, create_key, wait_until

pytestmark = pytest.mark.slow

READ_TIMEOUT = 2
LIMITS = {
    "FACTLEDGER_REQUEST_READ_TIMEOUT": str(READ_TIMEOUT),
    "FACTLEDGER_MAX_STREAMS": "2",
    "FACTLEDGER_LOG_FORMAT": "json",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serving]:
    """One server for the connection tests: they need no particular backend."""
    cwd = tmp_path_factory.mktemp("limits")
    serving = Serving(f"sqlite:///{cwd / 'ledger.db'}", cwd, "--no-projector", env=LIMITS)
    yield serving
    serving.stop()


@pytest.fixture(scope="module")
def key(server: Serving) -> str:
    """A contributor's key: a write's body is read only once its key is checked."""
    cwd = server.log_path.parent
    return create_key("contributor", f"sqlite:///{cwd / 'ledger.db'}", cwd)


def _connect(server: Serving) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=15)


def _answer(connection: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (or 15 s)."""
    received = b""
    try:
        while chunk := connection.recv(65536):
            received += chunk
    except ConnectionResetError:
        pass
    return received


def _log_lines(server: Serving) -> list[dict[str, Any]]:
    """The JSON lines of the server's log (its first line is plain text)."""
    return [json.loads(line) for line in server.log().splitlines() if line.startswith("{")]


def _still_serves(server: Serving) -> None:
    assert call(server.base, "GET", "/healthz")[0] == 200


def _status(answer: bytes) -> int | None:
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else None


def test_a_head_over_the_size_limit_is_refused_and_others_are_still_served(
    server: Serving,
) -> None:
    with _connect(server) as connection:
        big = b"X-Filler: " + b"a" * (MAX_HEAD_BYTES + 1) + b"\r\n"
        # (Closed while we are still sending: refused as well.)
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + big * 4 + b"\r\n")
        answer = _answer(connection)
    assert _status(answer) in (431, None)  # 431, or the connection closed
    if answer:
        assert b"x-content-type-options: nosniff" in answer
    _still_serves(server)


def test_too_many_header_fields_are_refused_with_431(server: Serving) -> None:
    fields = b"".join(b"X-Field-%d: 1\r\n" % n for n in range(MAX_HEADER_FIELDS + 1))
    with _connect(server) as connection:
        connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + fields + b"\r\n")
        answer = _answer(connection)
    assert _status(answer) == 431
    assert b"application/problem+json" in answer
    # The headers of every answer, and a request id to find its log line by.
    assert re.search(rb"\r\nx-request-id: [0-9a-f]{32}\r\n", answer), answer
    assert b"x-frame-options: DENY" in answer
    assert b"content-security-policy: default-src 'none'" in answer
    _still_serves(server)


def test_a_head_within_the_limits_is_served(server: Serving) -> None:
    fields = b"".join(b"X-Field-%d: 1\r\n" % n for n in range(MAX_HEADER_FIELDS - 5))
    with _connect(server) as connection:
        connection.sendall(
            b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + fields + b"\r\n"
        )
        assert _status(_answer(connection)) == 200


def test_a_client_sending_its_head_a_byte_a_second_is_cut_off(server: Serving) -> None:
    started = time.monotonic()
    with _connect(server) as connection:
        connection.settimeout(1)
        head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 60
        answer = b""
        for byte in head:
            try:
                connection.sendall(bytes([byte]))
                chunk = connection.recv(65536)
            except TimeoutError:
                continue  # nothing yet: the next byte, a second later
            except (BrokenPipeError, ConnectionResetError):
                break
            if not chunk:
                break  # closed
            answer += chunk
        cut_after = time.monotonic() - started
    assert cut_after < READ_TIMEOUT + 5, cut_after
    assert _status(answer) in (408, None)
    _still_serves(server)


def test_a_connection_that_sends_nothing_is_closed(server: Serving) -> None:
    started = time.monotonic()
    with _connect(server) as connection:
        answer = _answer(connection)
    assert time.monotonic() - started < READ_TIMEOUT + 5
    assert _status(answer) == 408


def _write_head(key: str) -> bytes:
    return (
        b"POST /claims HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Authorization: Bearer " + key.encode() + b"\r\nContent-Length: 1000\r\n\r\n"
    )


def test_a_body_that_stops_arriving_is_cut_off_and_logged_without_a_traceback(
    server: Serving, key: str
) -> None:
    started = time.monotonic()
    with _connect(server) as connection:
        connection.sendall(_write_head(key) + b'{"text": "never finished')
        answer = _answer(connection)
    assert time.monotonic() - started < READ_TIMEOUT + 5
    assert _status(answer) is None  # the app was reading it: cut off, no answer
    _still_serves(server)
    time.sleep(0.5)
    assert "Traceback" not in server.log()
    assert "Exception in ASGI" not in server.log()


def test_a_client_that_hangs_up_mid_body_is_logged_as_an_event(server: Serving, key: str) -> None:
    with _connect(server) as connection:
        connection.sendall(_write_head(key) + b'{"text": "half')
        time.sleep(0.3)
    _still_serves(server)
    wait_until(
        lambda: any(line.get("status") == 499 for line in _log_lines(server)),
        10,
        "the hang-up is logged",
    )
    assert "Traceback" not in server.log()


def test_serve_logs_one_json_line_per_request_and_not_uvicorns_access_line(
    server: Serving,
) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    connection.request("GET", "/healthz", headers={"X-Request-Id": "logged-once-1"})
    assert connection.getresponse().status == 200
    connection.close()
    wait_until(lambda: "logged-once-1" in server.log(), 10, "the access line")
    [fields] = [line for line in _log_lines(server) if line.get("request_id") == "logged-once-1"]
    assert fields["logger"] == "factledger.access"
    assert fields["route"] == "/healthz"
    assert fields["status"] == 200
    assert fields["method"] == "GET"
    assert fields["client"].startswith("127.0.0.1:")
    assert fields["duration_ms"] >= 0
    assert fields["time"].endswith("+00:00")
    assert not [line for line in _log_lines(server) if line["logger"] == "uvicorn.access"]


# --- live streams: on both backends ---------------------------------------------


class _Stream:
    def __init__(self, port: int) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
        self.connection.request("GET", "/events/stream")
        self.response = self.connection.getresponse()

    def close(self) -> None:
        self.connection.close()


def test_live_streams_past_the_cap_are_503_with_retry_after_until_one_ends(
    database_url: str, tmp_path: Path
) -> None:
    server = Serving(database_url, tmp_path, "--no-projector", env=LIMITS)
    try:
        first, second = _Stream(server.port), _Stream(server.port)
        assert first.response.status == second.response.status == 200
        third = _Stream(server.port)
        assert third.response.status == 503
        assert third.response.getheader("Retry-After") == "5"
        problem = json.loads(third.response.read())
        assert problem["type"] == "/problems/too-many-streams"
        third.close()
        _still_serves(server)

        first.close()

        def another_is_taken() -> bool:
            stream = _Stream(server.port)
            status = stream.response.status
            stream.close()
            return status == 200

        wait_until(another_is_taken, 10, "a freed slot is taken again")
        second.close()
    finally:
        server.stop()


def test_sigterm_with_open_streams_exits_promptly(database_url: str, tmp_path: Path) -> None:
    server = Serving(database_url, tmp_path, "--no-projector")
    streams = [_Stream(server.port) for _ in range(3)]
    assert all(stream.response.status == 200 for stream in streams)
    started = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(15) in (0, -signal.SIGTERM)
    assert time.monotonic() - started < 10
    assert "Application shutdown complete" in server.log()
    for stream in streams:
        stream.close()
