"""Tracing with OpenTelemetry (the `factledger[otel]` extra): off and not even
loaded unless configured; when on, a span for every request and, on
PostgreSQL, for every statement. On both backends."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.processes import Serving, call, create_key, wait_until

TRACING_PACKAGES = ("opentelemetry.sdk", "opentelemetry.instrumentation", "opentelemetry.exporter")
"""The extra's packages. (FastAPI itself always imports OpenTelemetry's API,
`opentelemetry.trace` and the like: its own telemetry stays off unless a
program sets a global tracer provider.)"""

_LOADED = """
import json, sys
from api.app import create_app
create_app()
print(json.dumps(sorted(name for name in sys.modules if name.startswith({packages!r}))))
"""


def loaded_after_creating_the_app(tmp_path: Path, **settings: str) -> list[str]:
    """In a fresh interpreter: the tracing modules loaded once the app is made."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("OTEL_", "FACTLEDGER_OTEL_"))
    }
    done = subprocess.run(
        [sys.executable, "-c", _LOADED.format(packages=TRACING_PACKAGES)],
        env={**env, "FACTLEDGER_DATABASE_URL": f"sqlite:///{tmp_path / 'ledger.db'}", **settings},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    loaded: list[str] = json.loads(done.stdout)
    return loaded


def test_with_the_default_settings_no_tracing_package_is_even_imported(tmp_path: Path) -> None:
    assert loaded_after_creating_the_app(tmp_path) == []
    assert loaded_after_creating_the_app(
        tmp_path, FACTLEDGER_OTEL_ENABLED="true", OTEL_TRACES_EXPORTER="console"
    )


@pytest.mark.slow
def test_with_tracing_on_each_request_and_each_statement_is_a_span(
    serving: Callable[..., Serving], database_url: str, tmp_path: Path
) -> None:
    key = create_key("contributor", database_url, tmp_path)
    server = serving(env={"FACTLEDGER_OTEL_ENABLED": "true", "OTEL_TRACES_EXPORTER": "console"})
    status, event = call(
        server.base, "POST", "/claims", {"text": "Soledar", "claimant": {"name": "K"}}, key
    )
    assert status == 201
    assert call(server.base, "GET", f"/claims/{event['claim_id']}")[0] == 200

    # The console exporter prints each span as JSON on serve's standard output.
    wait_until(lambda: '"name": "GET /claims/{claim_id}"' in server.log(), 10, "a span")
    spans = server.log()
    assert '"http.route": "/claims/{claim_id}"' in spans
    assert '"name": "POST /claims"' in spans
    assert '"service.name": "factledger"' in spans
    assert ('"db.system": "postgresql"' in spans) == database_url.startswith("postgresql")
    assert '"name": "GET /healthz"' not in spans  # probes are not traced
