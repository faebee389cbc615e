"""Tracing is on when configured, by our setting or by OpenTelemetry's own."""

from __future__ import annotations

import pytest

from factledger.settings import Settings


@pytest.mark.parametrize(
    ("environment", "traced"),
    [
        ({}, False),
        ({"FACTLEDGER_OTEL_ENABLED": "true"}, True),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, True),
        ({"FACTLEDGER_OTEL_ENABLED": "true", "OTEL_TRACES_EXPORTER": "none"}, False),
        ({"FACTLEDGER_OTEL_ENABLED": "true", "OTEL_TRACES_EXPORTER": "console"}, True),
    ],
)
def test_tracing_is_on_only_when_configured(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], traced: bool
) -> None:
    for name in ("FACTLEDGER_OTEL_ENABLED", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_TRACES_EXPORTER"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert Settings().tracing is traced
